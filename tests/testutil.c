#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>

#include "core/base/lsp_error.h"
#include "core/nn/lsp_model.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *td_path(const char *rel) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", LSP_TEST_DATA, rel);
  return buf;
}

void td_load(const char *rel, lsp_array *out) {
  int st = lsp_npy_read(td_path(rel), out);
  if (st != 0) {
    print_error("cannot load %s: %s\n", rel, lsp_errmsg());
    fail();
  }
}

void td_close(double got, double want, double tol_rel, double tol_abs,
              const char *what, size_t index) {
  int ok;
  if (isnan(want) || isinf(want))
    ok = (isnan(want) && isnan(got)) || got == want;
  else
    ok = isfinite(got) && fabs(got - want) <= tol_abs + tol_rel * fabs(want);
  if (!ok) {
    print_error("%s[%zu]: got %.10g, want %.10g (diff %.3g, rel tol %.1g, abs tol %.1g)\n",
                what, index, got, want, got - want, tol_rel, tol_abs);
    fail();
  }
}

void td_close_array(const float *got, const char *rel, size_t count,
                    double rtol, double abs_floor) {
  lsp_array a;
  td_load(rel, &a);
  assert_int_equal(a.count, count);
  const float *want = a.data;
  double scale = 0.0;
  for (size_t i = 0; i < count; i++)
    if (fabs(want[i]) > scale) scale = fabs(want[i]);
  for (size_t i = 0; i < count; i++)
    td_close(got[i], want[i], rtol, abs_floor + rtol * scale * 0.1, rel, i);
  lsp_array_release(&a);
}

void td_load_into(const char *rel, float *dst, size_t count) {
  lsp_array a;
  td_load(rel, &a);
  assert_int_equal(a.dtype, LSP_DT_F32);
  assert_int_equal(a.count, count);
  memcpy(dst, a.data, count * sizeof(float));
  lsp_array_release(&a);
}

float *td_load_f32(const char *rel, size_t count) {
  float *v = malloc(count * sizeof(float));
  assert_non_null(v);
  td_load_into(rel, v, count);
  return v;
}

void td_close_f64(const float *got, const char *rel, size_t count,
                  double rtol, double atol, const char *what) {
  lsp_array a;
  td_load(rel, &a);
  assert_int_equal(a.dtype, LSP_DT_F64);
  assert_int_equal(a.count, count);
  const double *want = a.data;
  for (size_t i = 0; i < count; i++)
    td_close(got[i], want[i], rtol, atol, what ? what : rel, i);
  lsp_array_release(&a);
}

void td_load_xy(const char *x_rel, const char *y_rel, int k,
                lsp_array *xa, int32_t **y, size_t *n) {
  lsp_array ya;
  td_load(x_rel, xa);
  td_load(y_rel, &ya);
  assert_int_equal(lsp_array_labels(&ya, y_rel, k, y), LSP_OK);
  *n = ya.count;
  lsp_array_release(&ya);
}

/* Remove `name` in folder `dirfd`, a folder with everything in it. */
static void remove_tree(int dirfd, const char *name) {
  if (unlinkat(dirfd, name, 0) == 0) return;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (fd < 0) return;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return;
  }
  for (struct dirent *e; (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) remove_tree(fd, e->d_name);
  closedir(d);
  (void)unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* At exit, remove this process's td_tmp names (a forked child that exits
 * removes its own only: the names carry the pid). */
static void tmp_cleanup(void) {
  const char *dir = getenv("TMPDIR");
  char prefix[64];
  snprintf(prefix, sizeof prefix, "lsp_test_%ld_", (long)getpid());
  DIR *d = opendir(dir ? dir : "/tmp");
  if (!d) return;
  for (struct dirent *e; (e = readdir(d));)
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) remove_tree(dirfd(d), e->d_name);
  closedir(d);
}

const char *td_tmp(const char *name) {
  static char buf[4096];
  static int registered;
  if (!registered) registered = atexit(tmp_cleanup) == 0;
  const char *dir = getenv("TMPDIR");
  snprintf(buf, sizeof buf, "%s/lsp_test_%ld_%s", dir ? dir : "/tmp",
           (long)getpid(), name);
  return buf;
}

static int g_skipped, g_failed;

void td_note_skip(void) { g_skipped++; }

int td_exit_code(int failed) {
  g_failed |= failed != 0;
  if (g_failed) return 1;
  if (g_skipped) {
    fprintf(stderr, "%d test(s) skipped: the program exits %d (ctest: skipped, not passed)\n",
            g_skipped, TD_SKIP_CODE);
    return TD_SKIP_CODE;
  }
  return 0;
}

static double lcg_uniform(unsigned *s) {
  *s = *s * 1664525u + 1013904223u;
  return (double)(*s >> 8) / 16777216.0;
}

int td_blobs(float *x, int32_t *y, int n, int k, int d, unsigned seed, double mlo,
             double mspan, double spread) {
  double *mu = malloc((size_t)k * (size_t)d * sizeof *mu);
  if (!mu) return -1;
  unsigned s = seed;
  for (int c = 0; c < k; c++)
    for (int j = 0; j < d; j++) mu[c * d + j] = mlo + mspan * lcg_uniform(&s);
  for (int i = 0; i < n; i++) {
    int c = i % k;
    y[i] = c;
    for (int j = 0; j < d; j++) {
      double g = lcg_uniform(&s);
      g += lcg_uniform(&s);
      g += lcg_uniform(&s);
      g -= 1.5; /* sd 0.5 */
      double v = mu[c * d + j] + spread * g;
      x[i * d + j] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
  }
  free(mu);
  return 0;
}

void td_write_raw(const char *path, const char *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  fclose(f);
}

void td_expect_load_error(const char *path, const char *needle) {
  lsp_model *g = NULL;
  int st = lsp_model_load(path, &g);
  assert_int_not_equal(st, LSP_OK);
  assert_null(g);
  const char *msg = lsp_errmsg();
  if (!strstr(msg, needle) || !strstr(msg, path)) {
    print_error("message '%s' lacks '%s' or the path\n", msg, needle);
    fail();
  }
}
