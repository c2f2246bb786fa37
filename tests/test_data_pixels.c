/* Float dataset folders holding 8-bit pixels (DESIGN §3): CSV and float .npy
 * folders whose values are whole numbers 0-255 are read exactly as the same
 * pixels stored as uint8 (the same floats pixel/255 -- checked against the
 * closed form --, bounds [0, 1], the same hash), with a note; float images
 * outside [0, 1] that are not such pixels are refused naming the files;
 * other float features keep their values and observed bounds. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/data/lsp_data.h"
#include "core/formats/lsp_npy.h"
#include "testutil.h"

#define NTR 12
#define NTE 4
#define D 6 /* 2 x 3 images */

static const char *const k_names[4] = {"x_train.npy", "y_train.npy", "x_test.npy",
                                       "y_test.npy"};

/* Pixel j of example i: spans 0..255 over the set, with 255 itself. */
static uint8_t pixel(size_t i, size_t j) { return (uint8_t)((i * 37 + j * 91) % 256); }

static void write_npy_folder(const char *dir, lsp_dtype dt, double scale, double shift) {
  mkdir(dir, 0755);
  char p[1200];
  size_t n[2] = {NTR, NTE};
  for (int f = 0; f < 2; f++) {
    size_t cnt = n[f] * D;
    uint8_t *u = malloc(cnt);
    float *x = malloc(cnt * sizeof *x);
    double *xd = malloc(cnt * sizeof *xd);
    int64_t y[NTR];
    for (size_t i = 0; i < n[f]; i++) {
      y[i] = (int64_t)(i % 3);
      for (size_t j = 0; j < D; j++) {
        u[i * D + j] = pixel(i + (size_t)f * 100, j);
        xd[i * D + j] = u[i * D + j] * scale + shift;
        x[i * D + j] = (float)xd[i * D + j];
      }
    }
    size_t shape[3] = {n[f], 2, 3};
    snprintf(p, sizeof p, "%s/%s", dir, k_names[2 * f]);
    const void *data = dt == LSP_DT_U8 ? (const void *)u
                       : dt == LSP_DT_F32 ? (const void *)x
                                          : (const void *)xd;
    assert_int_equal(lsp_npy_write(p, dt, 3, shape, data), 0);
    snprintf(p, sizeof p, "%s/%s", dir, k_names[2 * f + 1]);
    assert_int_equal(lsp_npy_write(p, LSP_DT_I64, 1, shape, y), 0);
    free(u);
    free(x);
    free(xd);
  }
}

static void write_csv_folder(const char *dir, double scale) {
  mkdir(dir, 0755);
  char p[1200];
  size_t n[2] = {NTR, NTE};
  const char *names[2] = {"train.csv", "test.csv"};
  for (int f = 0; f < 2; f++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[f]);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fprintf(fp, "label,a,b,c,d,e,f\n");
    for (size_t i = 0; i < n[f]; i++) {
      fprintf(fp, "%zu", i % 3);
      for (size_t j = 0; j < D; j++) fprintf(fp, ",%g", pixel(i + (size_t)f * 100, j) * scale);
      fprintf(fp, "\n");
    }
    fclose(fp);
  }
}

static void remove_folder(const char *dir) {
  const char *all[6] = {"x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy", "train.csv",
                        "test.csv"};
  char p[1200];
  for (int f = 0; f < 6; f++) {
    snprintf(p, sizeof p, "%s/%s", dir, all[f]);
    unlink(p);
  }
  rmdir(dir);
}

static int load(const char *dir, lsp_splits *s) {
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = dir;
  o.n_val = 3;
  return lsp_data_load(&o, s);
}

/* Every stored value of split d is its pixel over 255, as float32 computes
 * it; the test split is in file order. */
static void assert_scaled(const lsp_splits *s) {
  assert_true(s->lo == 0.0f && s->hi == 1.0f);
  for (size_t i = 0; i < NTE; i++)
    for (size_t j = 0; j < D; j++)
      assert_true(s->test.x[i * D + j] == (float)pixel(i + 100, j) / 255.0f);
  float lo, hi;
  lsp_dataset_range(&s->train, &lo, &hi);
  assert_true(lo >= 0.0f && hi <= 1.0f);
}

static void test_float_npy_pixels(void **state) {
  (void)state;
  char du8[1024], df[1024], dd[1024];
  snprintf(du8, sizeof du8, "%s", td_tmp("px_u8"));
  snprintf(df, sizeof df, "%s", td_tmp("px_f32"));
  snprintf(dd, sizeof dd, "%s", td_tmp("px_f64"));
  write_npy_folder(du8, LSP_DT_U8, 1, 0);
  write_npy_folder(df, LSP_DT_F32, 1, 0);
  write_npy_folder(dd, LSP_DT_F64, 1, 0);
  lsp_splits a, b, c;
  assert_int_equal(load(du8, &a), 0);
  assert_string_equal(a.note, "");
  assert_int_equal(load(df, &b), 0);
  assert_scaled(&b);
  assert_non_null(strstr(b.note, "whole numbers in [0, 255]"));
  assert_non_null(strstr(b.note, "1/255"));
  assert_non_null(strstr(b.source, "1/255")); /* the report shows the source */
  assert_true(a.hash == b.hash);              /* the same data, the same cache key */
  assert_memory_equal(a.train.x, b.train.x, a.train.n * D * sizeof(float));
  assert_int_equal(b.img_h, 2);
  assert_int_equal(load(dd, &c), 0); /* float64 pixels alike */
  assert_scaled(&c);
  assert_true(c.hash == a.hash);
  lsp_splits_free(&a);
  lsp_splits_free(&b);
  lsp_splits_free(&c);
  remove_folder(du8);
  remove_folder(df);
  remove_folder(dd);
}

static void test_csv_pixels(void **state) {
  (void)state;
  char dc[1024];
  snprintf(dc, sizeof dc, "%s", td_tmp("px_csv"));
  write_csv_folder(dc, 1.0);
  lsp_splits s;
  assert_int_equal(load(dc, &s), 0);
  assert_scaled(&s);
  assert_non_null(strstr(s.note, "train.csv and test.csv"));
  lsp_splits_free(&s);
  /* the same pixels already in [0, 1] (x/255 written out): kept as they are */
  remove_folder(dc);
  write_csv_folder(dc, 1.0 / 255.0);
  assert_int_equal(load(dc, &s), 0);
  assert_string_equal(s.note, "");
  assert_true(fabs(s.test.x[1] - pixel(100, 1) / 255.0) < 1e-6);
  lsp_splits_free(&s);
  remove_folder(dc);
}

/* Float images that are neither in [0, 1] nor whole 0-255 pixels are refused;
 * float N×D features outside [0, 1] that are not whole pixels keep their
 * values (the observed bounds). */
static void test_refused_and_kept(void **state) {
  (void)state;
  char d1[1024];
  snprintf(d1, sizeof d1, "%s", td_tmp("px_frac"));
  write_npy_folder(d1, LSP_DT_F32, 0.99, 0.5); /* resampled pixels: fractions up to 252.95 */
  lsp_splits s;
  assert_int_equal(load(d1, &s), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "x_train.npy"));
  assert_non_null(strstr(lsp_errmsg(), "image values span [0.5, "));
  assert_non_null(strstr(lsp_errmsg(), "x/255"));
  remove_folder(d1);
  write_npy_folder(d1, LSP_DT_F32, 1, -128); /* centred pixels: negative */
  assert_int_equal(load(d1, &s), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "image values span [-128, "));
  remove_folder(d1);
  /* a value of 256: not 8-bit; CSV features are kept with observed bounds */
  char dc[1024];
  snprintf(dc, sizeof dc, "%s", td_tmp("px_csv2"));
  write_csv_folder(dc, 256.0 / 255.0);
  assert_int_equal(load(dc, &s), 0);
  assert_string_equal(s.note, "");
  float lo, hi;
  lsp_dataset_range(&s.test, &lo, &hi);
  assert_true(s.lo <= lo && s.hi >= hi && s.hi > 1.0f);
  lsp_splits_free(&s);
  remove_folder(dc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_float_npy_pixels),
      cmocka_unit_test(test_csv_pixels),
      cmocka_unit_test(test_refused_and_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
