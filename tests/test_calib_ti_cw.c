/* test_calib_ti_cw — the test-inversion interval of classwise_ece
 * (analysis/lsp_calib_ti_cw.c, DESIGN §2 "Intervals"): at 0 for a model
 * calibrated by construction, covering the true classwise error of a
 * temperature-miscalibrated one (computed here from the logits, where the
 * percentile interval lies above it), bit-identical for any thread count,
 * and exactly the percentile one under --ci percentile; the inversion of
 * a scan shared with the top-label intervals, edge cases included. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_calib_impl.h"
#include "calib_synth.h"
#include "testutil.h"

#define CW LSP_CALIB_CLASSWISE_ECE

static void softmax(const float *z, size_t k, double inv_t, double *p) {
  double mx = -INFINITY, s = 0.0;
  for (size_t j = 0; j < k; j++) mx = fmax(mx, z[j] * inv_t);
  for (size_t j = 0; j < k; j++) s += (p[j] = exp(z[j] * inv_t - mx));
  for (size_t j = 0; j < k; j++) p[j] /= s;
}

/* n×k logits ~ N(0, 2²) whose labels are drawn from softmax(z/T); the true
 * classwise ℓ1 error of the reported softmax(z), conditional on the rows:
 * (1/K)·mean_i Σ_k |π_ik − p_ik| into *truth. */
static void tempered(size_t n, size_t k, double T, uint64_t seed, float *z, int32_t *y,
                     double *truth) {
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, (unsigned long)seed);
  double pi[16], p[16], acc = 0.0;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < k; j++) z[i * k + j] = (float)gsl_ran_gaussian(g, 2.0);
    softmax(z + i * k, k, 1.0 / T, pi);
    softmax(z + i * k, k, 1.0, p);
    for (size_t j = 0; j < k; j++) acc += fabs(pi[j] - p[j]);
    double u = gsl_rng_uniform(g), c = 0.0;
    size_t j = 0;
    while (j + 1 < k && (c += pi[j]) <= u) j++;
    y[i] = (int32_t)j;
  }
  *truth = acc / ((double)n * (double)k);
  gsl_rng_free(g);
}

static lsp_calib_rows *rows_of(const float *z, const int32_t *y, size_t n, size_t k) {
  lsp_calib_rows *r = NULL;
  assert_int_equal(lsp_calib_rows_from_logits(z, y, n, k, 1.0, NULL, &r), 0);
  return r;
}

static void boot(const lsp_calib_rows *r, int threads, lsp_calib_ci ci, lsp_calib_result *res) {
  lsp_calib_opts o = lsp_calib_opts_default();
  lsp_calib_boot b = {200, 7, threads, ci};
  assert_int_equal(lsp_calib_rows_score(r, &o, res), 0);
  assert_int_equal(lsp_calib_bootstrap(r, &o, &b, res), 0);
}

/* Labels drawn from the reported p: the truth is 0, which the interval
 * holds as its lower end; the percentile interval sits above 0 and above
 * the inverted one. */
static void test_calibrated(void **state) {
  (void)state;
  const size_t n = 4000, k = 10;
  float *z = malloc(n * k * sizeof *z);
  int32_t *y = malloc(n * sizeof *y);
  calibrated_logits(n, k, 2.0, 11, z, y);
  lsp_calib_rows *r = rows_of(z, y, n, k);
  lsp_calib_result a;
  boot(r, 2, LSP_CALIB_CI_INVERSION, &a);
  assert_true(lsp_calib_ci_inverted(CW));
  assert_true(a.value[CW] > 0.005); /* the plug-in's bias */
  assert_true(a.pct_lo[CW] > 0.005);
  assert_true(a.ci_lo[CW] == 0.0);
  assert_true(a.ci_hi[CW] > 0.0 && a.ci_hi[CW] < a.pct_lo[CW]);
  lsp_calib_result_release(&a);
  lsp_calib_rows_free(r);
  free(z);
  free(y);
}

/* T = 1.6 (overconfident): the interval holds the row-conditional truth
 * computed above, and the one-vs-rest truth 1.4% below it (Monte Carlo,
 * docs/CALIBRATION_SIM.md); the percentile interval lies above both. */
static void test_miscalibrated(void **state) {
  (void)state;
  const size_t n = 3000, k = 10;
  float *z = malloc(n * k * sizeof *z);
  int32_t *y = malloc(n * sizeof *y);
  double truth;
  tempered(n, k, 1.6, 5, z, y, &truth);
  assert_true(truth > 0.03 && truth < 0.04);
  lsp_calib_rows *r = rows_of(z, y, n, k);
  lsp_calib_result a;
  boot(r, 2, LSP_CALIB_CI_INVERSION, &a);
  assert_true(a.pct_lo[CW] > truth);
  assert_true(a.ci_lo[CW] <= 0.986 * truth && truth <= a.ci_hi[CW]);
  assert_true(a.ci_lo[CW] < a.value[CW] && a.ci_hi[CW] < a.pct_hi[CW]);
  /* a finite, bracketed upper end, not the last world of the grid */
  assert_true(isfinite(a.ci_hi[CW]) && a.ci_hi[CW] < 2.0 * a.value[CW]);
  lsp_calib_result_release(&a);
  lsp_calib_rows_free(r);
  free(z);
  free(y);
}

/* The same seed gives the same interval for any thread count; the
 * percentile kind leaves classwise_ece's percentile interval. */
static void test_threads(void **state) {
  (void)state;
  const size_t n = 1500, k = 7;
  float *z = malloc(n * k * sizeof *z);
  int32_t *y = malloc(n * sizeof *y);
  double truth;
  tempered(n, k, 0.8, 9, z, y, &truth);
  lsp_calib_rows *r = rows_of(z, y, n, k);
  lsp_calib_result a, b, c, p;
  boot(r, 1, LSP_CALIB_CI_INVERSION, &a);
  boot(r, 2, LSP_CALIB_CI_INVERSION, &b);
  boot(r, 5, LSP_CALIB_CI_INVERSION, &c);
  boot(r, 3, LSP_CALIB_CI_PERCENTILE, &p);
  assert_memory_equal(&a.ci_lo[CW], &b.ci_lo[CW], sizeof(double));
  assert_memory_equal(&a.ci_hi[CW], &b.ci_hi[CW], sizeof(double));
  assert_memory_equal(&a.ci_lo[CW], &c.ci_lo[CW], sizeof(double));
  assert_memory_equal(&a.ci_hi[CW], &c.ci_hi[CW], sizeof(double));
  assert_true(a.ci_lo[CW] != a.pct_lo[CW]);
  assert_true(p.ci_lo[CW] == p.pct_lo[CW] && p.ci_hi[CW] == p.pct_hi[CW]);
  assert_true(a.ci_lo[CW] <= truth && truth <= a.ci_hi[CW]);
  lsp_calib_result_release(&a);
  lsp_calib_result_release(&b);
  lsp_calib_result_release(&c);
  lsp_calib_result_release(&p);
  lsp_calib_rows_free(r);
  free(z);
  free(y);
}

/* The inversion of a scan (shared with the top-label intervals): linear
 * interpolation on the λ grid and the edge cases of DESIGN §2. */
/* The label draw's inverse CDF against a linear scan for the first k with
 * u < c[k]: random cumulative sums with zero-probability classes (equal
 * neighbours, a zero first class), u at every step's ends and inside. */
static void test_cdf_pick(void **state) {
  (void)state;
  unsigned s = 7;
  double c[40];
  for (int round = 0; round < 500; round++) {
    const size_t K = 1 + (size_t)round % 40;
    double acc = 0.0;
    for (size_t k = 0; k < K; k++) {
      s = s * 1664525u + 1013904223u;
      acc += (s >> 28) % 3 == 0 ? 0.0 : (double)((s >> 8) % 1000) / 1000.0;
      c[k] = acc;
    }
    for (size_t q = 0; q < 3 * K + 3; q++) {
      s = s * 1664525u + 1013904223u;
      double u = q < K ? c[q] : q < 2 * K ? (q > K ? c[q - K - 1] : 0.0)
                                          : c[K - 1] * (double)(s >> 8) / 16777216.0;
      size_t want = 0;
      while (want + 1 < K && !(u < c[want])) want++;
      assert_int_equal(lsp_calib_cdf_pick(c, K, u), want);
    }
  }
}

/* Truths of λ for lsp_calib_ti_hull: 2λ, and λ e^(−λ/4). */
static double truth_linear(void *ctx, double lam) {
  (void)ctx;
  return 2.0 * lam;
}

static double truth_peak(void *ctx, double lam) {
  (void)ctx;
  return lam * exp(-lam / 4.0);
}

static void test_lambdas(void **state) {
  (void)state;
  const double *g = lsp_calib_ti_grid;
  /* quantiles rising with λ: 97.5% = λ + 1, 2.5% = λ − 1 (stride 2) */
  double q[2 * LSP_CALIB_TI_NGRID];
  for (int i = 0; i < LSP_CALIB_TI_NGRID; i++) q[2 * i] = g[i] - 1.0, q[2 * i + 1] = g[i] + 1.0;
  double lo, hi;
  assert_int_equal(lsp_calib_ti_lambdas(q, q + 1, 2, LSP_CALIB_TI_NGRID, 2.1, &lo, &hi),
                   LSP_CALIB_TI_BRACKETED);
  assert_true(fabs(lo - 1.1) < 1e-12 && fabs(hi - 3.1) < 1e-12);
  /* at λ = 0 already: λ_lo = 0 */
  assert_int_equal(lsp_calib_ti_lambdas(q, q + 1, 2, LSP_CALIB_TI_NGRID, 0.5, &lo, &hi),
                   LSP_CALIB_TI_BRACKETED);
  assert_true(lo == 0.0 && fabs(hi - 1.5) < 1e-12);
  /* below even the calibrated world's 2.5% quantile: [0, 0] */
  assert_int_equal(lsp_calib_ti_lambdas(q, q + 1, 2, LSP_CALIB_TI_NGRID, -2.0, &lo, &hi),
                   LSP_CALIB_TI_BRACKETED);
  assert_true(lo == 0.0 && hi == 0.0);
  /* scanned to λ = 2 only, no world rejecting from below: λ_hi = 2 */
  assert_int_equal(lsp_calib_ti_lambdas(q, q + 1, 2, 8, 2.5, &lo, &hi), LSP_CALIB_TI_OPEN);
  assert_true(fabs(lo - 1.5) < 1e-12 && hi == 2.0);
  /* even the last world's 97.5% quantile below: [its error, ∞) */
  assert_int_equal(lsp_calib_ti_lambdas(q, q + 1, 2, 8, 9.0, &lo, &hi), LSP_CALIB_TI_ABOVE);
  assert_true(lo == 2.0);
  /* the interval over the worlds not rejected: a truth rising with λ gives
   * its values at the two ends exactly; T(λ) = λ e^(−λ/4), which peaks at
   * λ = 4 and falls after, gives [T(16), T(4)] = [16/e^4, 4/e] over
   * [3, 16] (its values at the ends were [T(3), T(16)], lo > hi); ends out
   * of order give the same interval as in order; ABOVE: [T(end), ∞) */
  lsp_calib_ti_hull(truth_linear, NULL, 1.5, 2.75, LSP_CALIB_TI_BRACKETED, &lo, &hi);
  assert_true(lo == 3.0 && hi == 5.5);
  lsp_calib_ti_hull(truth_peak, NULL, 3.0, 16.0, LSP_CALIB_TI_OPEN, &lo, &hi);
  assert_true(fabs(lo - 16.0 * exp(-4.0)) < 1e-15 && fabs(hi - 4.0 * exp(-1.0)) < 1e-15);
  lsp_calib_ti_hull(truth_linear, NULL, 2.2, 2.1, LSP_CALIB_TI_BRACKETED, &lo, &hi);
  assert_true(fabs(lo - 4.2) < 1e-15 && fabs(hi - 4.4) < 1e-15);
  lsp_calib_ti_hull(truth_peak, NULL, 16.0, 16.0, LSP_CALIB_TI_ABOVE, &lo, &hi);
  assert_true(fabs(lo - 16.0 * exp(-4.0)) < 1e-15 && hi == INFINITY);
  /* type-6 quantile: rank (n + 1)q */
  const double v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  assert_true(fabs(lsp_calib_ti_quantile(v, 9, 0.25) - 2.5) < 1e-12);
  assert_true(lsp_calib_ti_quantile(v, 9, 0.05) == 1.0 && lsp_calib_ti_quantile(v, 9, 0.99) == 9.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_calibrated),
      cmocka_unit_test(test_miscalibrated),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_lambdas),
      cmocka_unit_test(test_cdf_pick),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
