/* The named data sets: the synthetic mixture against its construction
 * (noise sd sigma = 1/(6 + sep/sqrt 2), means sep*sigma apart, balanced
 * classes, values in [0, 1]) and the installed Fashion-MNIST against
 * published facts: 60000 training and 10000 test images of 28x28 pixels,
 * 6000 training and 1000 test images in each of the 10 classes. The
 * Fashion-MNIST tests skip when the data set is not installed. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/data/lsp_data.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "testutil.h"

static void load_ok(lsp_data_opts *o, lsp_splits *s) {
  int st = lsp_data_load(o, s);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, LSP_OK);
}

static void counts_of(const lsp_dataset *d, size_t *c) {
  lsp_dataset_class_counts(d, c);
}

/* ---- synthetic ----------------------------------------------------------- */

static void test_synthetic_defaults(void **state) {
  (void)state;
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = "synthetic";
  lsp_splits s;
  load_ok(&o, &s);
  assert_int_equal(s.train.n, 5500); /* 6000 - 6000/12 */
  assert_int_equal(s.val.n, 500);
  assert_int_equal(s.test.n, 2000);
  assert_int_equal(s.train.dim, 64);
  assert_int_equal(s.train.k, 10);
  assert_int_equal(s.synthetic, 1);
  assert_string_equal(s.name, "synthetic");
  assert_int_equal(s.img_h, 0);
  assert_true(s.lo == 0.0f && s.hi == 1.0f);
  /* balanced: 600 of each class before the split, 200 in the test set */
  size_t a[10], b[10], c[10];
  counts_of(&s.train, a);
  counts_of(&s.val, b);
  counts_of(&s.test, c);
  for (int k = 0; k < 10; k++) {
    assert_int_equal(a[k] + b[k], 600);
    assert_int_equal(c[k], 200);
  }
  const lsp_dataset *ds[3] = {&s.train, &s.val, &s.test};
  for (int p = 0; p < 3; p++)
    for (size_t i = 0; i < ds[p]->n * ds[p]->dim; i++)
      assert_true(ds[p]->x[i] >= 0.0f && ds[p]->x[i] <= 1.0f);
  lsp_splits_free(&s);
}

static void test_synthetic_seeds(void **state) {
  (void)state;
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = "synthetic:train=300,test=90,dim=7,classes=3,sep=2.385";
  o.seed = 11;
  lsp_splits s, t;
  load_ok(&o, &s);
  load_ok(&o, &t);
  assert_int_equal(s.train.n, 275);
  assert_int_equal(s.val.n, 25);
  assert_int_equal(s.test.n, 90);
  assert_memory_equal(s.train.x, t.train.x, s.train.n * 7 * sizeof(float));
  assert_memory_equal(s.val.y, t.val.y, s.val.n * sizeof(int32_t));
  assert_memory_equal(s.test.x, t.test.x, s.test.n * 7 * sizeof(float));
  assert_true(s.hash == t.hash);
  lsp_splits_free(&t);
  o.seed = 12;
  load_ok(&o, &t);
  assert_true(s.hash != t.hash);
  size_t same = 0;
  for (size_t i = 0; i < s.test.n * 7; i++) same += s.test.x[i] == t.test.x[i];
  assert_true(same < s.test.n * 7 / 10); /* only clipped 0s and 1s agree */
  lsp_splits_free(&t);
  lsp_splits_free(&s);
}

/* One thread or two: the same arrays and the same hash. */
static void test_threads_identical(void **state) {
  (void)state;
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = "synthetic:train=2000,test=500,dim=16,classes=4";
  lsp_splits s, t;
  lsp_threads_set(1);
  load_ok(&o, &s);
  lsp_threads_set(2);
  load_ok(&o, &t);
  assert_true(s.hash == t.hash);
  assert_memory_equal(s.train.x, t.train.x, s.train.n * 16 * sizeof(float));
  assert_memory_equal(s.train.y, t.train.y, s.train.n * sizeof(int32_t));
  assert_memory_equal(s.val.x, t.val.x, s.val.n * 16 * sizeof(float));
  assert_memory_equal(s.test.x, t.test.x, s.test.n * 16 * sizeof(float));
  lsp_splits_free(&s);
  lsp_splits_free(&t);
}

/* Empirical class means and within-class sd against the construction. */
static void test_synthetic_geometry(void **state) {
  (void)state;
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = "synthetic:train=40000,test=10,dim=4,classes=2,sep=3";
  o.n_val = 1;
  lsp_splits s;
  load_ok(&o, &s);
  const lsp_dataset *d = &s.train;
  double mean[2][4] = {{0}}, sq[2][4] = {{0}};
  size_t n[2] = {0, 0};
  for (size_t i = 0; i < d->n; i++) {
    int y = d->y[i];
    n[y]++;
    for (size_t j = 0; j < 4; j++) mean[y][j] += d->x[i * 4 + j];
  }
  for (int y = 0; y < 2; y++)
    for (size_t j = 0; j < 4; j++) mean[y][j] /= (double)n[y];
  for (size_t i = 0; i < d->n; i++)
    for (size_t j = 0; j < 4; j++) {
      double e = d->x[i * 4 + j] - mean[d->y[i]][j];
      sq[d->y[i]][j] += e * e;
    }
  double sigma = 1.0 / (6.0 + 3.0 / sqrt(2.0)), dist2 = 0.0;
  for (size_t j = 0; j < 4; j++) {
    dist2 += (mean[0][j] - mean[1][j]) * (mean[0][j] - mean[1][j]);
    for (int y = 0; y < 2; y++)
      /* clipping beyond 3 sd shrinks the sd by about 1%; 10000s of draws */
      td_close(sqrt(sq[y][j] / (double)n[y]), sigma, 0.03, 0.0, "sd", j);
  }
  td_close(sqrt(dist2), 3.0 * sigma, 0.03, 0.0, "mean distance", 0);
  /* the two informative axes carry a = sep*sigma/sqrt(2) on top of 3 sigma */
  double a = 3.0 * sigma / sqrt(2.0);
  int informative = 0;
  for (size_t j = 0; j < 4; j++) {
    double hi = fmax(mean[0][j], mean[1][j]), lo = fmin(mean[0][j], mean[1][j]);
    td_close(lo, 3.0 * sigma, 0.02, 0.0, "base mean", j);
    if (hi - lo > a / 2) {
      informative++;
      td_close(hi, 3.0 * sigma + a, 0.02, 0.0, "class mean", j);
    }
  }
  assert_int_equal(informative, 2);
  lsp_splits_free(&s);
}

static void test_synthetic_errors(void **state) {
  (void)state;
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  lsp_splits s;
  static const char *bad[][2] = {
      {"synthetic:dim=3,classes=4", "classes"},
      {"synthetic:classes=1", "classes"},
      {"synthetic:sep=0", "sep"},
      {"synthetic:sep=-1", "sep"},
      {"synthetic:train=1", "train >= 2"},
      {"synthetic:test=0", "test >= 1"},
      {"synthetic:dim=2.5", "whole number"},
      {"synthetic:dim=abc", "not a number"},
      {"synthetic:colour=3", "unknown setting 'colour'"},
      {"synthetic:colour=abc", "unknown setting 'colour'"},
      {"synthetic:train=600,train=700", "train given twice"},
      {"synthetic:sep=2,dim=8,sep=3", "sep given twice"},
      {"synthetic:dim", "key=value"},
      {"synthetic:dim=", "bad setting"},
      {"synthetic:train=1000000000,dim=1000", "too large"},
      {"synthetics", "No such file"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    o.spec = bad[i][0];
    int st = lsp_data_load(&o, &s);
    if (!strstr(lsp_errmsg(), bad[i][1]))
      print_error("%s: '%s' lacks '%s'\n", bad[i][0], lsp_errmsg(), bad[i][1]);
    assert_int_not_equal(st, LSP_OK);
    assert_non_null(strstr(lsp_errmsg(), bad[i][1]));
    assert_null(s.train.x);
  }
  o.spec = "synthetic:train=100";
  o.n_val = 100;
  assert_int_equal(lsp_data_load(&o, &s), LSP_EINVAL);
}

/* ---- Fashion-MNIST
 * ------------------------------------------------------------ */

static int have_fashion(void) {
  struct stat sb;
  return stat(lsp_data_fashion_dir(), &sb) == 0 && S_ISDIR(sb.st_mode);
}

static uint64_t row_hash(const uint8_t *p, size_t n) {
  return lsp_fnv1a(LSP_FNV_INIT, p, n);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static void test_fashion(void **state) {
  (void)state;
  if (!have_fashion()) skip();
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  lsp_splits s;
  load_ok(&o, &s);
  assert_string_equal(s.name, "fashion-mnist");
  assert_int_equal(s.train.n, 55000);
  assert_int_equal(s.val.n, 5000);
  assert_int_equal(s.test.n, 10000);
  assert_int_equal(s.train.dim, 784);
  assert_int_equal(s.img_h, 28);
  assert_int_equal(s.img_w, 28);
  assert_int_equal(s.train.k, 10);
  size_t a[10], b[10], c[10];
  counts_of(&s.train, a);
  counts_of(&s.val, b);
  counts_of(&s.test, c);
  for (int k = 0; k < 10; k++) {
    assert_int_equal(a[k] + b[k], 6000);
    assert_int_equal(c[k], 1000);
  }
  float lo, hi;
  const lsp_dataset *ds[3] = {&s.train, &s.val, &s.test};
  for (int p = 0; p < 3; p++) {
    lsp_dataset_range(ds[p], &lo, &hi);
    assert_true(lo == 0.0f && hi == 1.0f); /* black background, white pixels */
  }

  /* train + val is the training file as a multiset of images: compare the
   * sorted hashes of the 60000 raw rows with those of the split's rows
   * turned back into bytes. */
  char path[1200];
  assert_int_equal(lsp_idx_find(lsp_data_fashion_dir(),
                                "train-images-idx3-ubyte", path, sizeof path),
                   LSP_OK);
  uint8_t *raw = NULL;
  size_t dims[LSP_IDX_MAXDIM];
  int nd;
  assert_int_equal(lsp_idx_read(path, &raw, dims, &nd), LSP_OK);
  assert_int_equal(nd, 3);
  assert_int_equal(dims[0], 60000);
  uint64_t *h1 = malloc(60000 * sizeof *h1), *h2 = malloc(60000 * sizeof *h2);
  uint8_t row[784];
  for (size_t i = 0; i < 60000; i++) h1[i] = row_hash(raw + i * 784, 784);
  size_t m = 0;
  for (int p = 0; p < 2; p++)
    for (size_t i = 0; i < ds[p]->n; i++) {
      for (size_t j = 0; j < 784; j++) {
        float v = ds[p]->x[i * 784 + j] * 255.0f;
        row[j] = (uint8_t)lrintf(v);
        assert_true(fabsf(v - (float)row[j]) < 1e-3f);
      }
      h2[m++] = row_hash(row, 784);
    }
  qsort(h1, 60000, sizeof *h1, cmp_u64);
  qsort(h2, 60000, sizeof *h2, cmp_u64);
  assert_memory_equal(h1, h2, 60000 * sizeof *h1);
  free(h1);
  free(h2);
  free(raw);

  /* the same seed twice: the same split; another seed: another */
  lsp_splits t;
  load_ok(&o, &t);
  assert_true(t.hash == s.hash);
  assert_memory_equal(t.val.x, s.val.x, 5000 * 784 * sizeof(float));
  lsp_splits_free(&t);
  o.seed = 2;
  o.n_val = 10000;
  o.max_test = 100;
  load_ok(&o, &t);
  assert_int_equal(t.train.n, 50000);
  assert_int_equal(t.val.n, 10000);
  assert_int_equal(t.test.n, 100);
  assert_memory_equal(t.test.x, s.test.x, 100 * 784 * sizeof(float));
  assert_true(t.hash != s.hash);
  lsp_splits_free(&t);
  lsp_splits_free(&s);
}

/* The raw test labels: 1000 of each class, independent of the split code. */
static void test_fashion_idx(void **state) {
  (void)state;
  if (!have_fashion()) skip();
  char path[1200];
  assert_int_equal(lsp_idx_find(lsp_data_fashion_dir(),
                                "t10k-labels-idx1-ubyte", path, sizeof path),
                   LSP_OK);
  uint8_t *y = NULL;
  size_t dims[LSP_IDX_MAXDIM];
  int nd;
  assert_int_equal(lsp_idx_read(path, &y, dims, &nd), LSP_OK);
  assert_int_equal(nd, 1);
  assert_int_equal(dims[0], 10000);
  size_t c[256] = {0};
  for (size_t i = 0; i < 10000; i++) c[y[i]]++;
  for (int k = 0; k < 10; k++) assert_int_equal(c[k], 1000);
  free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_synthetic_defaults),
      cmocka_unit_test(test_synthetic_seeds),
      cmocka_unit_test(test_threads_identical),
      cmocka_unit_test(test_synthetic_geometry),
      cmocka_unit_test(test_synthetic_errors),
      cmocka_unit_test(test_fashion),
      cmocka_unit_test(test_fashion_idx),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
