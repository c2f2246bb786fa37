/* The bootstrap engine, paired bootstrap and seed-spread intervals against
 * closed forms; the calibration intervals run on the same engine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_boot.h"
#include "analysis/lsp_calib.h"
#include "analysis/lsp_calib_impl.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "testutil.h"

static void test_identical_models(void **state) {
  (void)state;
  uint8_t a[100];
  for (int i = 0; i < 100; i++) a[i] = (uint8_t)(i % 3 == 0);
  double d, lo, hi;
  assert_int_equal(lsp_boot_paired_diff(a, a, 100, 200, 1, &d, &lo, &hi), 0);
  assert_true(d == 0 && lo == 0 && hi == 0);
}

/* The percentile interval of a mean of n Bernoulli(p) outcomes is close to
 * the normal interval p ± 1.96 sqrt(p(1-p)/n); the paired difference of two
 * models that disagree on a share s of examples (half each way) has
 * standard error sqrt(s/n). */
static void test_normal_approximation(void **state) {
  (void)state;
  const size_t n = 4000;
  uint8_t *a = malloc(n), *b = malloc(n);
  for (size_t i = 0; i < n; i++) {
    a[i] = (uint8_t)(i % 10 < 7); /* p = 0.7 */
    b[i] = a[i];
  }
  double m, lo, hi;
  assert_int_equal(lsp_boot_mean(a, n, 2000, 7, &m, &lo, &hi), 0);
  td_close(m, 0.7, 0, 1e-15, "mean", 0);
  double half = 1.959964 * sqrt(0.7 * 0.3 / (double)n);
  td_close(hi - lo, 2 * half, 0.1, 0, "interval width", 0);
  td_close(0.5 * (lo + hi), 0.7, 0, 0.2 * half, "interval centre", 0);
  /* b differs from a on 10% of examples: 5% gained, 5% lost */
  for (size_t i = 0; i < n; i += 10) b[i] = (uint8_t)!b[i];
  for (size_t i = 7; i < n; i += 20) b[i] = (uint8_t)!b[i];
  double d;
  assert_int_equal(lsp_boot_paired_diff(a, b, n, 2000, 7, &d, &lo, &hi), 0);
  long long s = 0, dis = 0;
  for (size_t i = 0; i < n; i++) {
    s += a[i] - b[i];
    dis += a[i] != b[i];
  }
  td_close(d, (double)s / (double)n, 0, 1e-15, "paired difference", 0);
  double se = sqrt(((double)dis / (double)n - d * d) / (double)n);
  td_close(hi - lo, 2 * 1.959964 * se, 0.1, 0, "paired interval width", 0);
  /* the same seed gives the same interval */
  double lo2, hi2;
  assert_int_equal(lsp_boot_paired_diff(a, b, n, 2000, 7, &d, &lo2, &hi2), 0);
  assert_true(lo == lo2 && hi == hi2);
  free(a);
  free(b);
}

static void test_seed_interval(void **state) {
  (void)state;
  const double v[3] = {0.88, 0.89, 0.87};
  double m, lo, hi;
  lsp_seed_interval(v, 3, &m, &lo, &hi);
  td_close(m, 0.88, 1e-12, 0, "mean", 0);
  /* sd = 0.01, t(0.975, 2) = 4.302653 */
  td_close(hi - m, 4.302653 * 0.01 / sqrt(3.0), 1e-5, 0, "half width", 0);
  td_close(m - lo, 4.302653 * 0.01 / sqrt(3.0), 1e-5, 0, "half width", 1);
  lsp_seed_interval(v, 1, &m, &lo, &hi);
  assert_true(m == 0.88 && isnan(lo) && isnan(hi));
}

/* The statistic sees counts summing to n; every resample depends on (seed,
 * b) only, so one thread and three give the same interval. */
typedef struct {
  size_t n;
  const double *x;
} wmean_ctx;

static void wmean(const void *ctx, void *ws, const uint32_t *w, double *out) {
  (void)ws;
  const wmean_ctx *c = ctx;
  double s = 0, tot = 0;
  for (size_t i = 0; i < c->n; i++) s += w[i] * c->x[i], tot += w[i];
  out[0] = s / (double)c->n;
  out[1] = tot; /* always n */
}

static void test_engine_threads_and_counts(void **state) {
  (void)state;
  double x[257];
  for (int i = 0; i < 257; i++) x[i] = sin(2.385 * i) + 0.25;
  wmean_ctx c = {257, x};
  lsp_boot_stat st = {2, &c, NULL, NULL, wmean};
  double lo1[2], hi1[2], lo3[2], hi3[2];
  lsp_boot_opts o = {501, 99, 1};
  assert_int_equal(lsp_boot_run(257, &o, &st, lo1, hi1), 0);
  o.threads = 3;
  assert_int_equal(lsp_boot_run(257, &o, &st, lo3, hi3), 0);
  assert_true(lo1[0] == lo3[0] && hi1[0] == hi3[0]);
  assert_true(lo1[1] == 257 && hi1[1] == 257);
  assert_true(lo1[0] < hi1[0]);
  o.resamples = 0;
  assert_int_equal(lsp_boot_run(257, &o, &st, lo1, hi1), LSP_EINVAL);
  o.resamples = 10;
  assert_int_equal(lsp_boot_run(0, &o, &st, lo1, hi1), LSP_EINVAL);
}

/* One engine: the calibration bootstrap's accuracy interval is the 0/1
 * bootstrap of the same correct/incorrect outcomes, to the bit. */
static void test_calibration_uses_the_engine(void **state) {
  (void)state;
  enum { N = 300, K = 3 };
  float z[N * K];
  int32_t y[N];
  uint8_t correct[N];
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < K; j++) z[i * K + j] = (float)sin(1.7 * i + 0.9 * j);
    y[i] = (int32_t)(i % K);
    int am = 0;
    for (int j = 1; j < K; j++)
      if (z[i * K + j] > z[i * K + am]) am = j;
    correct[i] = (uint8_t)(am == y[i]);
  }
  lsp_calib_rows *r = NULL;
  assert_int_equal(lsp_calib_rows_from_logits(z, y, N, K, 1.0, "z", &r), 0);
  lsp_calib_opts co = lsp_calib_opts_default();
  lsp_calib_result res;
  assert_int_equal(lsp_calib_rows_score(r, &co, &res), 0);
  lsp_calib_boot b = {400, 12345, 2, LSP_CALIB_CI_PERCENTILE};
  assert_int_equal(lsp_calib_bootstrap(r, &co, &b, &res), 0);
  double m, lo, hi;
  assert_int_equal(lsp_boot_mean(correct, N, 400, 12345, &m, &lo, &hi), 0);
  assert_true(m == res.value[LSP_CALIB_ACCURACY]);
  assert_true(lo == res.ci_lo[LSP_CALIB_ACCURACY]);
  assert_true(hi == res.ci_hi[LSP_CALIB_ACCURACY]);
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);
}

static void test_errors(void **state) {
  (void)state;
  uint8_t a[1] = {1};
  double m, lo, hi;
  assert_int_equal(lsp_boot_mean(a, 0, 10, 1, &m, &lo, &hi), LSP_EINVAL);
  assert_int_equal(lsp_boot_mean(a, 1, 0, 1, &m, &lo, &hi), LSP_EINVAL);
}

/* The host's interruption stops every bootstrap (the engine and the
 * test-inversion worlds) with LSP_EINTR, for one thread or several; once
 * cleared, the same calls run to the same intervals as before. */
static void test_interrupted(void **state) {
  (void)state;
  enum { N = 300, K = 3 };
  float z[N * K];
  int32_t y[N];
  uint8_t a[N];
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < K; j++) z[i * K + j] = (float)(2.0 * sin(1.3 * i + 0.7 * j));
    y[i] = (int32_t)(i % K);
    a[i] = (uint8_t)(i % 4 != 0);
  }
  lsp_calib_rows *r = NULL;
  assert_int_equal(lsp_calib_rows_from_logits(z, y, N, K, 1.0, "z", &r), 0);
  lsp_calib_opts co = lsp_calib_opts_default();
  lsp_calib_result res, ref;
  assert_int_equal(lsp_calib_rows_score(r, &co, &ref), 0);
  lsp_calib_boot b = {200, 5, 1, LSP_CALIB_CI_INVERSION};
  assert_int_equal(lsp_calib_bootstrap(r, &co, &b, &ref), 0);
  double m, lo, hi, lo2, hi2;
  assert_int_equal(lsp_boot_mean(a, N, 200, 3, &m, &lo, &hi), 0);

  lsp_interrupt_request();
  assert_int_equal(lsp_boot_mean(a, N, 200, 3, &m, &lo2, &hi2), LSP_EINTR);
  assert_non_null(strstr(lsp_errmsg(), "interrupted"));
  for (int threads = 1; threads <= 2; threads++) {
    b.threads = threads;
    assert_int_equal(lsp_calib_rows_score(r, &co, &res), 0);
    assert_int_equal(lsp_calib_bootstrap(r, &co, &b, &res), LSP_EINTR);
    lsp_calib_result_release(&res);
    /* the test-inversion worlds on their own (after a finished percentile run) */
    assert_int_equal(lsp_calib_rows_score(r, &co, &res), 0);
    assert_int_equal(lsp_calib_ti_intervals(r, &co, &b, &res), LSP_EINTR);
    assert_non_null(strstr(lsp_errmsg(), "interrupted"));
    lsp_calib_result_release(&res);
  }
  lsp_interrupt_clear();

  assert_int_equal(lsp_boot_mean(a, N, 200, 3, &m, &lo2, &hi2), 0);
  assert_true(lo == lo2 && hi == hi2);
  b.threads = 2;
  assert_int_equal(lsp_calib_rows_score(r, &co, &res), 0);
  assert_int_equal(lsp_calib_bootstrap(r, &co, &b, &res), 0);
  for (int k = 0; k < LSP_CALIB_NMETRIC; k++)
    if (ref.has[k])
      assert_true(memcmp(&res.ci_lo[k], &ref.ci_lo[k], sizeof(double)) == 0 &&
                  memcmp(&res.ci_hi[k], &ref.ci_hi[k], sizeof(double)) == 0);
  lsp_calib_result_release(&res);
  lsp_calib_result_release(&ref);
  lsp_calib_rows_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_identical_models),
      cmocka_unit_test(test_normal_approximation),
      cmocka_unit_test(test_seed_interval),
      cmocka_unit_test(test_engine_threads_and_counts),
      cmocka_unit_test(test_calibration_uses_the_engine),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_interrupted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
