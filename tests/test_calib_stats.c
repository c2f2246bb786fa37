/* test_calib_stats — bootstrap intervals and temperature scaling:
 * properties with known answers (a calibrated sample, a miscalibrated one,
 * logits scaled by a known factor), determinism for a seed across thread
 * counts, and the paired bootstrap. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "testutil.h"
#include "calib_synth.h"

/* A perfectly calibrated sample: ECE's true value is 0, but the estimator is
 * biased upward (|acc - conf| of a finite bin is positive even when their
 * expectations agree), by about sqrt(2/pi)·sqrt(var/n_m) per bin, here
 * ~0.01. So "within its bootstrap interval of 0" is asserted as: the point
 * estimate and the whole 95% interval stay within a small bound of 0
 * (0.03), while a sample miscalibrated by 0.1 (correct with probability
 * c - 0.1) gets an interval entirely above the calibrated one's. A bug in
 * the binning or the bootstrap breaks one of the two. */
static void test_calibrated_bootstrap(void **state) {
  (void)state;
  const size_t n = 20000;
  float *p = malloc(2 * n * sizeof *p);
  int32_t *y = malloc(n * sizeof *y), *y2 = malloc(n * sizeof *y2);
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, 2385);
  for (size_t i = 0; i < n; i++) {
    double c = 0.5 + 0.5 * gsl_rng_uniform(g), u = gsl_rng_uniform(g);
    p[2 * i] = (float)c;
    p[2 * i + 1] = (float)(1.0 - c);
    y[i] = u < (double)p[2 * i] ? 0 : 1;
    y2[i] = u < (double)p[2 * i] - 0.1 ? 0 : 1;
  }
  gsl_rng_free(g);
  lsp_calib_opts o = lsp_calib_opts_default();
  lsp_calib_boot b = {200, 42, 2, LSP_CALIB_CI_PERCENTILE};
  lsp_calib_rows *r = NULL, *r2 = NULL;
  lsp_calib_result res, res2;
  assert_int_equal(lsp_calib_rows_from_probs(p, y, n, 2, NULL, &r), 0);
  assert_int_equal(lsp_calib_rows_from_probs(p, y2, n, 2, NULL, &r2), 0);
  assert_int_equal(lsp_calib_rows_score(r, &o, &res), 0);
  assert_int_equal(lsp_calib_bootstrap(r, &o, &b, &res), 0);
  assert_int_equal(lsp_calib_rows_score(r2, &o, &res2), 0);
  assert_int_equal(lsp_calib_bootstrap(r2, &o, &b, &res2), 0);
  double ece = res.value[LSP_CALIB_ECE];
  assert_true(ece < 0.03 && res.ci_hi[LSP_CALIB_ECE] < 0.03 && res.ci_lo[LSP_CALIB_ECE] >= 0.0);
  assert_true(res.ci_lo[LSP_CALIB_ECE] <= res.ci_hi[LSP_CALIB_ECE]);
  td_close(res2.value[LSP_CALIB_ECE], 0.1, 0, 0.02, "miscalibrated ece", 0);
  assert_true(res2.ci_lo[LSP_CALIB_ECE] > res.ci_hi[LSP_CALIB_ECE]);
  td_close(res2.value[LSP_CALIB_OVER_CONFIDENCE], res2.value[LSP_CALIB_ECE], 0, 0.005, "over", 0);
  /* accuracy's interval contains the point estimate and is about ±2 s.e. */
  double acc = res.value[LSP_CALIB_ACCURACY], se = sqrt(acc * (1 - acc) / (double)n);
  assert_true(res.ci_lo[LSP_CALIB_ACCURACY] < acc && acc < res.ci_hi[LSP_CALIB_ACCURACY]);
  td_close(res.ci_hi[LSP_CALIB_ACCURACY] - res.ci_lo[LSP_CALIB_ACCURACY], 2 * 1.96 * se, 0.2, 0,
           "accuracy ci width", 0);
  lsp_calib_result_release(&res);
  lsp_calib_result_release(&res2);
  lsp_calib_rows_free(r);
  lsp_calib_rows_free(r2);
  free(p);
  free(y);
  free(y2);
}

/* Same seed -> identical intervals, for 1 and 2 threads; another seed
 * differs. Paired bootstrap: a model against itself gives exactly 0. */
static void test_bootstrap_deterministic(void **state) {
  (void)state;
  const size_t n = 3001, k = 5;
  float *p = malloc(n * k * sizeof *p), *q = malloc(n * k * sizeof *q);
  int32_t *y = malloc(n * sizeof *y), *yq = malloc(n * sizeof *yq);
  random_probs(n, k, 11, p, y);
  random_probs(n, k, 12, q, yq);
  lsp_calib_opts o = lsp_calib_opts_default();
  lsp_calib_rows *r = NULL, *rq = NULL;
  assert_int_equal(lsp_calib_rows_from_probs(p, y, n, k, NULL, &r), 0);
  assert_int_equal(lsp_calib_rows_from_probs(q, y, n, k, NULL, &rq), 0);
  lsp_calib_result a, b, c;
  lsp_calib_boot b1 = {101, 7, 1, LSP_CALIB_CI_INVERSION}, b2 = {101, 7, 2, LSP_CALIB_CI_INVERSION},
                 b3 = {101, 8, 2, LSP_CALIB_CI_INVERSION};
  assert_int_equal(lsp_calib_rows_score(r, &o, &a), 0);
  assert_int_equal(lsp_calib_rows_score(r, &o, &b), 0);
  assert_int_equal(lsp_calib_rows_score(r, &o, &c), 0);
  assert_int_equal(lsp_calib_bootstrap(r, &o, &b1, &a), 0);
  assert_int_equal(lsp_calib_bootstrap(r, &o, &b2, &b), 0);
  assert_int_equal(lsp_calib_bootstrap(r, &o, &b3, &c), 0);
  assert_memory_equal(a.ci_lo, b.ci_lo, sizeof a.ci_lo);
  assert_memory_equal(a.ci_hi, b.ci_hi, sizeof a.ci_hi);
  assert_true(memcmp(a.ci_lo, c.ci_lo, sizeof a.ci_lo) != 0);
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) assert_true(a.ci_lo[m] <= a.ci_hi[m]);
  double d[LSP_CALIB_NMETRIC], lo[LSP_CALIB_NMETRIC], hi[LSP_CALIB_NMETRIC];
  assert_int_equal(lsp_calib_paired_bootstrap(r, r, &o, &b2, d, lo, hi), 0);
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) assert_true(d[m] == 0 && lo[m] == 0 && hi[m] == 0);
  double d1[LSP_CALIB_NMETRIC], lo1[LSP_CALIB_NMETRIC], hi1[LSP_CALIB_NMETRIC];
  lsp_calib_result aq;
  assert_int_equal(lsp_calib_rows_score(rq, &o, &aq), 0);
  assert_int_equal(lsp_calib_paired_bootstrap(r, rq, &o, &b1, d, lo, hi), 0);
  assert_int_equal(lsp_calib_paired_bootstrap(r, rq, &o, &b2, d1, lo1, hi1), 0);
  assert_memory_equal(lo, lo1, sizeof lo);
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
    td_close(d[m], a.value[m] - aq.value[m], 0, 1e-15, "paired diff", (size_t)m);
    assert_true(lo[m] <= hi[m]);
  }
  /* different labels: not the same examples */
  lsp_calib_rows *ry = NULL;
  assert_int_equal(lsp_calib_rows_from_probs(q, yq, n, k, NULL, &ry), 0);
  assert_int_equal(lsp_calib_paired_bootstrap(r, ry, &o, &b1, d, lo, hi), LSP_EDATA);
  lsp_calib_boot bad = {0, 1, 1, LSP_CALIB_CI_PERCENTILE};
  assert_int_equal(lsp_calib_bootstrap(r, &o, &bad, &a), LSP_EINVAL);
  lsp_calib_rows_free(ry);
  lsp_calib_result_release(&a);
  lsp_calib_result_release(&b);
  lsp_calib_result_release(&c);
  lsp_calib_result_release(&aq);
  lsp_calib_rows_free(r);
  lsp_calib_rows_free(rq);
  free(p);
  free(q);
  free(y);
  free(yq);
}

/* Logits of a calibrated sample multiplied by s are fixed by T = s. */
static void test_temperature(void **state) {
  (void)state;
  const size_t n = 20000, k = 10;
  float *z = malloc(n * k * sizeof *z), *zs = malloc(n * k * sizeof *zs);
  int32_t *y = malloc(n * sizeof *y);
  calibrated_logits(n, k, 2.0, 99, z, y);
  const double scales[] = {2.5, 0.6};
  for (int s = 0; s < 2; s++) {
    for (size_t i = 0; i < n * k; i++) zs[i] = (float)(z[i] * scales[s]);
    double t = 0.0;
    lsp_threads_set(1);
    assert_int_equal(lsp_calib_temperature_fit(zs, y, n, k, &t), 0);
    td_close(t, scales[s], 0.01, 0, "temperature", (size_t)s);
    double t2 = 0.0; /* the rows on two threads: the same T to the bit */
    lsp_threads_set(2);
    assert_int_equal(lsp_calib_temperature_fit(zs, y, n, k, &t2), 0);
    lsp_threads_set(1);
    assert_true(t2 == t);
    lsp_calib_result before, after;
    lsp_calib_opts o = lsp_calib_opts_default();
    assert_int_equal(lsp_calib_evaluate(zs, y, n, k, zs, y, n, &o, NULL, &before, &after), 0);
    assert_true(after.temperature == t && before.temperature == 1.0);
    assert_true(after.value[LSP_CALIB_NLL] < before.value[LSP_CALIB_NLL]);
    assert_true(after.value[LSP_CALIB_ECE] < 0.02 && before.value[LSP_CALIB_ECE] > 0.05);
    /* T only rescales: the top label and hence accuracy do not change */
    assert_true(after.value[LSP_CALIB_ACCURACY] == before.value[LSP_CALIB_ACCURACY]);
    lsp_calib_result_release(&before);
    lsp_calib_result_release(&after);
  }
  /* logits of another scale (c·z at c·T are z at T): past [1e-3, 1e3] the
   * fit is the same, T = c times the calibrated sample's T = 1 */
  double t1 = 0.0;
  assert_int_equal(lsp_calib_temperature_fit(z, y, n, k, &t1), 0);
  const double far[] = {5000.0, 2e5, 2e-5};
  for (int s = 0; s < 3; s++) {
    for (size_t i = 0; i < n * k; i++) zs[i] = (float)(z[i] * far[s]);
    double t = 0.0;
    assert_int_equal(lsp_calib_temperature_fit(zs, y, n, k, &t), 0);
    td_close(t, t1 * far[s], 1e-6, 0, "temperature of scaled logits", (size_t)s);
    /* the range searched (and the one run's resampled fits keep to) holds it */
    double t_lo, t_hi;
    lsp_calib_temperature_range(zs, n, k, &t_lo, &t_hi);
    assert_true(t_lo < t && t < t_hi);
  }
  /* the range in closed form: spreads 3 and 0.5 (and 0, left out) */
  {
    const float r3[] = {1.0f, -2.0f, 0.5f, 1.0f, 7.0f, 7.0f}, r2[] = {0.0f, 3.0f, 0.5f};
    double t_lo, t_hi;
    lsp_calib_temperature_range(r3, 3, 2, &t_lo, &t_hi);
    assert_true(t_lo == 1e-3 * 0.5 && t_hi == 1e3 * 3.0);
    lsp_calib_temperature_range(r2, 1, 3, &t_lo, &t_hi);
    assert_true(t_lo == 1e-3 && t_hi == 1e3 * 3.0);
  }
  /* all validation predictions correct and confident: NLL falls as T -> 0 */
  float sep[] = {9.0f, 0.0f, 0.0f, 9.0f};
  int32_t ys[] = {0, 1};
  double t = 0.0;
  assert_int_equal(lsp_calib_temperature_fit(sep, ys, 2, 2, &t), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "no minimum"));
  /* every row's logits equal: the NLL is log K at every T, no direction */
  float flat[] = {0.0f, 0.0f, 0.0f, 0.0f, 2.5f, 2.5f, 2.5f, 2.5f, -1.0f, -1.0f, -1.0f, -1.0f};
  int32_t yf[] = {0, 3, 1};
  assert_int_equal(lsp_calib_temperature_fit(flat, yf, 3, 4, &t), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "does not depend on T"));
  assert_non_null(strstr(lsp_errmsg(), "1.38629")); /* log 4 */
  assert_null(strstr(lsp_errmsg(), "all correct"));
  /* right by ±1e30: the NLL is 0 at every T of the grid, which is no
   * sign of equal logits: the message says the predictions are right */
  float wide[] = {1e30f, -1e30f, 0.0f, -1e30f, 1e30f, 0.0f, 0.0f, 0.0f, 1e30f};
  int32_t yw[] = {0, 1, 2};
  assert_int_equal(lsp_calib_temperature_fit(wide, yw, 3, 3, &t), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "every validation prediction is correct"));
  assert_null(strstr(lsp_errmsg(), "all equal"));
  free(z);
  free(zs);
  free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_calibrated_bootstrap),
      cmocka_unit_test(test_bootstrap_deterministic),
      cmocka_unit_test(test_temperature),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
