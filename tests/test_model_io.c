/* PyTorch export folders: the import against PyTorch's own numbers
 * (tests/data/torch_mlp_tiny), a random-direction finite-difference check in
 * double of the imported network, and every way an export can be wrong.
 * (.lspm files: test_lspm.c.) */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/loss/lsp_loss.h"
#include "core/import/lsp_import.h"
#include "core/nn/lsp_model.h"
#include "testutil.h"

#define TINY "torch_mlp_tiny"

static lsp_model *import_tiny(void) {
  lsp_model *m = NULL;
  char note[512];
  int st = lsp_model_import_torch(td_path(TINY), &m, note, sizeof note);
  if (st) print_error("import: %s\n", lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  assert_non_null(m);
  /* an export records no activations: the importer says what it assumed */
  assert_non_null(strstr(note, "ReLU is assumed between its 3 Linear layers"));
  assert_non_null(strstr(note, TINY));
  return m;
}

static void test_import_matches_torch(void **state) {
  (void)state;
  lsp_model *m = import_tiny();
  char desc[64];
  lsp_model_describe(m, desc, sizeof desc);
  assert_string_equal(desc, "8-16-16-3");
  assert_int_equal(m->meta.trained, 0);
  lsp_array xa;
  int32_t *y;
  size_t n;
  td_load_xy(TINY "/x.npy", TINY "/labels.npy", 3, &xa, &y, &n);
  assert_int_equal(n, 32);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, n);
  const float *z, *f;
  assert_int_equal(lsp_model_forward(m, ws, xa.data, n, &z, &f), LSP_OK);
  td_close_array(z, TINY "/logits.npy", n * 3, 1e-5, 0);
  td_close_array(f, TINY "/features.npy", n * 16, 1e-5, 0);

  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  float dz[32 * 3], dx[32 * 8];
  double loss;
  assert_int_equal(
      lsp_loss_xent(z, y, n, 3, &ls, dz, 1.0 / (double)n, NULL, &loss), LSP_OK);
  td_close(loss, 1.0727486610412598, 1e-6, 0, "loss_ls0.1_mean", 0);
  assert_int_equal(
      lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS | LSP_BACK_INPUT, dx),
      LSP_OK);
  const char *names[3] = {"0", "2", "4"};
  assert_int_equal(m->nnodes, 5);
  for (size_t d = 0; d < 3; d++) {
    float *dw, *db;
    size_t nw, nb;
    assert_int_equal(lsp_model_tensor(m, 2 * d, "weight", NULL, &dw, &nw), 0);
    assert_int_equal(lsp_model_tensor(m, 2 * d, "bias", NULL, &db, &nb), 0);
    char p[96];
    snprintf(p, sizeof p, TINY "/grad_ls0.1_%s.weight.npy", names[d]);
    td_close_array(dw, p, nw, 1e-5, 0);
    snprintf(p, sizeof p, TINY "/grad_ls0.1_%s.bias.npy", names[d]);
    td_close_array(db, p, nb, 1e-5, 0);
  }
  td_close_array(dx, TINY "/grad_ls0.1_x.npy", n * 8, 1e-5, 0);

  /* lsp_model_load takes the folder too */
  lsp_model *m2 = NULL;
  assert_int_equal(lsp_model_load(td_path(TINY), &m2), LSP_OK);
  assert_int_equal(m2->nparams, m->nparams);
  assert_memory_equal(m2->params, m->params, m->nparams * sizeof(float));
  lsp_model_free(m2);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  free(y);
  lsp_array_release(&xa);
}

/* Mean smoothed loss of the network in double, written independently of the
 * model core: dense layers as explicit loops, ReLU between them. */
static double ref_loss(const lsp_model *m, const double *p, const double *x,
                       const int32_t *y, size_t n, double eps) {
  double total = 0.0, a[64], b[64];
  for (size_t i = 0; i < n; i++) {
    size_t w = m->in_dim, off = 0;
    for (size_t j = 0; j < w; j++) a[j] = x[i * w + j];
    for (size_t l = 0; l < m->nnodes; l++) {
      const lsp_node *L = &m->nodes[l];
      if (L->op == LSP_OP_RELU) {
        for (size_t j = 0; j < w; j++) a[j] = a[j] > 0 ? a[j] : 0;
        continue;
      }
      size_t in = w, out = L->a.units;
      const double *W = p + off, *B = p + off + out * in;
      for (size_t o = 0; o < out; o++) {
        double s = B[o];
        for (size_t j = 0; j < in; j++) s += W[o * in + j] * a[j];
        b[o] = s;
      }
      off += out * in + out;
      w = out;
      memcpy(a, b, w * sizeof *a);
    }
    double mx = a[0], se = 0.0, sz = 0.0;
    for (size_t k = 1; k < w; k++) mx = a[k] > mx ? a[k] : mx;
    for (size_t k = 0; k < w; k++) se += exp(a[k] - mx), sz += a[k];
    double lse = mx + log(se);
    total += lse - (1.0 - eps) * a[y[i]] - eps / (double)w * sz;
  }
  return total / (double)n;
}

static double unit_rand(unsigned *s) {
  *s = *s * 1664525u + 1013904223u;
  return (double)(*s >> 8) / 16777216.0 - 0.5;
}

static void test_finite_differences(void **state) {
  (void)state;
  lsp_model *m = import_tiny();
  lsp_array xa;
  int32_t *y;
  size_t n;
  td_load_xy(TINY "/x.npy", TINY "/labels.npy", 3, &xa, &y, &n);
  const float *xf = xa.data;
  size_t np = m->nparams, nx = n * m->in_dim;
  double *p = malloc(np * sizeof *p), *x = malloc(nx * sizeof *x);
  double *pd = malloc(np * sizeof *pd), *xd = malloc(nx * sizeof *xd);
  float *dz = malloc(n * 3 * sizeof *dz), *dx = malloc(nx * sizeof *dx);
  for (size_t i = 0; i < np; i++) p[i] = m->params[i];
  for (size_t i = 0; i < nx; i++) x[i] = xf[i];
  lsp_model_ws *ws = lsp_model_ws_alloc(m, n);
  const float *z;
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_model_forward(m, ws, xf, n, &z, NULL), LSP_OK);
  assert_int_equal(
      lsp_loss_xent(z, y, n, 3, &ls, dz, 1.0 / (double)n, NULL, NULL), 0);
  assert_int_equal(
      lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS | LSP_BACK_INPUT, dx), 0);
  unsigned s = 2385;
  const double h = 1e-5;
  for (int trial = 0; trial < 8; trial++) {
    /* parameters: the directional derivative along a random direction */
    double dir = 0.0;
    for (size_t i = 0; i < np; i++) {
      double d = unit_rand(&s);
      dir += d * m->grads[i];
      pd[i] = p[i] + h * d;
    }
    double up = ref_loss(m, pd, x, y, n, 0.1);
    for (size_t i = 0; i < np; i++) pd[i] = 2.0 * p[i] - pd[i];
    double fd = (up - ref_loss(m, pd, x, y, n, 0.1)) / (2.0 * h);
    td_close(dir, fd, 2e-4, 1e-6, "parameter directional derivative",
             (size_t)trial);
    /* input */
    dir = 0.0;
    for (size_t i = 0; i < nx; i++) {
      double d = unit_rand(&s);
      dir += d * dx[i];
      xd[i] = x[i] + h * d;
    }
    up = ref_loss(m, p, xd, y, n, 0.1);
    for (size_t i = 0; i < nx; i++) xd[i] = 2.0 * x[i] - xd[i];
    fd = (up - ref_loss(m, p, xd, y, n, 0.1)) / (2.0 * h);
    td_close(dir, fd, 2e-4, 1e-6, "input directional derivative",
             (size_t)trial);
  }
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  free(p), free(x), free(pd), free(xd), free(dz), free(dx), free(y);
  lsp_array_release(&xa);
}

/* ---- PyTorch export errors -------------------------------------------------
 */

static void copy_file(const char *from, const char *to) {
  char *b;
  size_t n;
  assert_int_equal(lsp_read_file(from, &b, &n), LSP_OK);
  td_write_raw(to, b, n);
  free(b);
}

/* A scratch export folder holding the tiny model's six tensors. */
static void make_export(char *dir, size_t cap) {
  snprintf(dir, cap, "%s", td_tmp("export"));
  assert_int_equal(lsp_mkdir_p(dir), LSP_OK);
  const char *names[6] = {"0.weight", "0.bias",   "2.weight",
                          "2.bias",   "4.weight", "4.bias"};
  for (int i = 0; i < 6; i++) {
    char from[1024], to[1024];
    snprintf(from, sizeof from, "%s/%s.npy", td_path(TINY), names[i]);
    snprintf(to, sizeof to, "%s/%s.npy", dir, names[i]);
    copy_file(from, to);
  }
}

static void remove_export(const char *dir) {
  const char *names[6] = {"0.weight", "0.bias",   "2.weight",
                          "2.bias",   "4.weight", "4.bias"};
  for (int i = 0; i < 6; i++) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s.npy", dir, names[i]);
    unlink(p);
  }
  rmdir(dir);
}

static void test_torch_errors(void **state) {
  (void)state;
  char dir[512], p[600];
  make_export(dir, sizeof dir);
  lsp_model *g = NULL;
  assert_int_equal(lsp_model_load(dir, &g), LSP_OK); /* the copy is good */
  lsp_model_free(g);

  snprintf(p, sizeof p, "%s/2.bias.npy", dir);
  unlink(p);
  td_expect_load_error(dir, "2.bias.npy: missing");
  size_t s7[1] = {7};
  float v[16 * 8] = {0};
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s7, v), LSP_OK);
  td_expect_load_error(dir, "2.bias.npy: shape [7], expected [16]");

  size_t s16[1] = {16};
  v[3] = NAN;
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  td_expect_load_error(dir, "non-finite");

  v[3] = 0;
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  snprintf(p, sizeof p, "%s/2.weight.npy", dir);
  size_t s2[2] = {16, 5};
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 2, s2, v), LSP_OK);
  td_expect_load_error(dir, "2.weight.npy: shape [16, 5] takes 5 inputs");
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  td_expect_load_error(dir, "2.weight.npy: a 1-D weight, the scale of a normalization layer");
  unlink(p);
  td_expect_load_error(dir, "2.weight.npy: missing");
  remove_export(dir);
  assert_int_equal(lsp_mkdir_p(dir), LSP_OK);
  td_expect_load_error(dir, "no <i>.weight.npy");
  rmdir(dir);
}

/* What the importer cannot represent is refused, naming the file and what
 * was found, instead of guessed at. */
static void rename_in(const char *dir, const char *from, const char *to) {
  char a[1024], b[1024];
  snprintf(a, sizeof a, "%s/%s", dir, from);
  snprintf(b, sizeof b, "%s/%s", dir, to);
  assert_int_equal(rename(a, b), 0);
}

static void test_torch_refusals(void **state) {
  (void)state;
  char dir[512], p[600];
  const char *names[6] = {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"};
  /* BatchNorm between the Linear layers: its running statistics */
  make_export(dir, sizeof dir);
  snprintf(p, sizeof p, "%s/1.running_mean.npy", dir);
  size_t s16[1] = {16};
  float v[16] = {0};
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  td_expect_load_error(dir, "1.running_mean.npy: module 1 is a BatchNorm layer");
  unlink(p);
  /* another per-module tensor */
  snprintf(p, sizeof p, "%s/0.weight_orig.npy", dir);
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  td_expect_load_error(dir, "0.weight_orig.npy: module 0 has a tensor 'weight_orig'");
  unlink(p);
  /* a wrapped module: model.net = nn.Sequential(...), model.state_dict() */
  for (int i = 0; i < 6; i++) {
    char to[64];
    snprintf(to, sizeof to, "net.%s.npy", names[i]);
    char from[64];
    snprintf(from, sizeof from, "%s.npy", names[i]);
    rename_in(dir, from, to);
  }
  td_expect_load_error(dir, "the tensors are under the prefix 'net.'");
  for (int i = 0; i < 6; i++) {
    char from[64], to[64];
    snprintf(from, sizeof from, "net.%s.npy", names[i]);
    snprintf(to, sizeof to, "model.net.%s.npy", names[i]);
    rename_in(dir, from, to);
  }
  td_expect_load_error(dir, "prefix 'model.net.'");
  /* named modules: no layer order */
  rename_in(dir, "model.net.0.weight.npy", "fc1.weight.npy");
  td_expect_load_error(dir, "fc1.weight.npy: a named module ('fc1')");
  rename_in(dir, "fc1.weight.npy", "model.net.0.weight.npy");
  for (int i = 0; i < 6; i++) {
    char from[64], to[64];
    snprintf(from, sizeof from, "model.net.%s.npy", names[i]);
    snprintf(to, sizeof to, "%s.npy", names[i]);
    rename_in(dir, from, to);
  }
  /* files that are not state_dict keys stay ignored */
  snprintf(p, sizeof p, "%s/grad_ls0.1_0.weight.npy", dir);
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  lsp_model *g = NULL;
  assert_int_equal(lsp_model_load(dir, &g), LSP_OK);
  lsp_model_free(g);
  unlink(p);
  remove_export(dir);
}

/* Each tensor is read once: a file could otherwise change between the read
 * that checks its shape and the read that copies its values (the import
 * read every tensor twice). inotify counts the opens in the folder. */
static void test_torch_reads_each_tensor_once(void **state) {
  (void)state;
  char dir[512];
  make_export(dir, sizeof dir);
  int fd = inotify_init1(IN_NONBLOCK);
  assert_true(fd >= 0);
  assert_true(inotify_add_watch(fd, dir, IN_OPEN) >= 0);
  lsp_model *g = NULL;
  assert_int_equal(lsp_model_import_torch(dir, &g, NULL, 0), LSP_OK);
  lsp_model_free(g);
  char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
  int opens[6] = {0}, total = 0;
  const char *names[6] = {"0.weight.npy", "0.bias.npy", "2.weight.npy",
                          "2.bias.npy",   "4.weight.npy", "4.bias.npy"};
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (char *q = buf; q < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *)q;
      if (ev->len)
        for (int i = 0; i < 6; i++) opens[i] += strcmp(ev->name, names[i]) == 0;
      total += ev->len > 0;
      q += sizeof *ev + ev->len;
    }
  }
  close(fd);
  for (int i = 0; i < 6; i++)
    if (opens[i] != 1) {
      print_error("%s opened %d times (want once)\n", names[i], opens[i]);
      fail();
    }
  assert_int_equal(total, 6);
  remove_export(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_import_matches_torch),
      cmocka_unit_test(test_finite_differences),
      cmocka_unit_test(test_torch_errors),
      cmocka_unit_test(test_torch_refusals),
      cmocka_unit_test(test_torch_reads_each_tensor_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
