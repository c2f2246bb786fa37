/* test_calib_estim — the debiased estimators, ECE-sweep and SmoothECE
 * against independent numbers: relplot's SmoothECE (the authors' package,
 * tests/data/smece_relplot), a NumPy re-implementation written from the
 * papers' formulas (tests/data/gen_calib_estimators.py), closed forms and
 * hand computations; and the intervals' determinism and shape. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_calib_impl.h"
#include "analysis/lsp_smece.h"
#include "core/base/lsp_error.h"
#include "core/formats/lsp_jsonr.h"
#include "testutil.h"

static const lsp_jsonr *expected(lsp_jsonr_doc **doc, const char *caseName) {
  assert_int_equal(lsp_jsonr_read_file(td_path("calib_estimators/expected.json"), doc), 0);
  const lsp_jsonr *c = lsp_jsonr_get(lsp_jsonr_root(*doc), caseName);
  assert_non_null(c);
  return c;
}

static double num(const lsp_jsonr *v, const char *key) {
  double x = lsp_jsonr_num_or(v, key, NAN);
  if (!isfinite(x)) fail_msg("expected.json: no number '%s'", key);
  return x;
}

/* The relplot case: top-label pairs of float32 logits. */
static double elem(const lsp_jsonr *arr, size_t i) {
  const lsp_jsonr *x = lsp_jsonr_at(arr, i);
  return x && x->type == LSP_JSONR_NUMBER ? x->num : NAN;
}

static lsp_calib_rows *relplot_rows(void) {
  lsp_array z = {0}, y = {0};
  td_load("smece_relplot/logits.npy", &z);
  td_load("smece_relplot/labels.npy", &y);
  int32_t *lab = NULL;
  assert_int_equal(lsp_array_labels(&y, "labels", (int)z.shape[1], &lab), 0);
  lsp_calib_rows *r = NULL;
  assert_int_equal(lsp_calib_rows_from_logits(z.data, lab, z.shape[0], z.shape[1], 1.0, NULL, &r),
                   0);
  free(lab);
  lsp_array_release(&z);
  lsp_array_release(&y);
  return r;
}

static lsp_calib_rows *near_rows(void) {
  lsp_array c = {0}, y = {0};
  td_load("calib_estimators/near_conf.npy", &c);
  td_load("calib_estimators/near_correct.npy", &y);
  assert_int_equal(c.count, y.count);
  lsp_calib_rows *r = NULL;
  assert_int_equal(lsp_calib_rows_from_conf(c.data, y.data, c.count, NULL, &r), 0);
  lsp_array_release(&c);
  lsp_array_release(&y);
  return r;
}

static void score(const lsp_calib_rows *r, double sigma, lsp_calib_result *res) {
  lsp_calib_opts o = lsp_calib_opts_default();
  o.smece_sigma = sigma;
  assert_int_equal(lsp_calib_rows_score(r, &o, res), 0);
}

/* relplot's metrics.smECE / smECE_sigma: about 1e-3 apart from the exact
 * value by their 200-point mesh and 10-step bisection; NumPy's exact
 * integral to 1e-6. */
static void test_smece_relplot(void **state) {
  (void)state;
  lsp_jsonr_doc *rel = NULL, *doc = NULL;
  assert_int_equal(lsp_jsonr_read_file(td_path("smece_relplot/case.json"), &rel), 0);
  const lsp_jsonr *lc = lsp_jsonr_get(lsp_jsonr_root(rel), "logits_case");
  const lsp_jsonr *bc = lsp_jsonr_get(lsp_jsonr_root(rel), "binary_case");
  const lsp_jsonr *np = expected(&doc, "relplot");
  lsp_calib_rows *r = relplot_rows();
  lsp_calib_result res;
  score(r, 0.0, &res);
  td_close(res.value[LSP_CALIB_SMECE], num(lc, "smece"), 0, 1e-3, "relplot smece", 0);
  td_close(res.value[LSP_CALIB_SMECE_SIGMA], num(lc, "sigma_star"), 0, 1e-3, "relplot sigma*", 0);
  td_close(res.value[LSP_CALIB_SMECE], num(np, "smece"), 0, 1e-6, "numpy smece", 0);
  td_close(res.value[LSP_CALIB_SMECE_SIGMA], num(np, "smece_sigma"), 1e-4, 0, "numpy sigma*", 0);
  lsp_calib_result_release(&res);
  score(r, 0.05, &res);
  td_close(res.value[LSP_CALIB_SMECE], num(lc, "smece_at_sigma_0.05"), 0, 1e-3, "relplot 0.05", 0);
  td_close(res.value[LSP_CALIB_SMECE],
           lsp_jsonr_num_or(lsp_jsonr_get(np, "smece_at"), "0.05", NAN), 0, 1e-6, "numpy 0.05", 0);
  assert_true(res.value[LSP_CALIB_SMECE_SIGMA] == 0.05);
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);

  /* the binary case: (f, y) pairs as given */
  lsp_array f = {0}, y = {0};
  td_load("smece_relplot/binary_f.npy", &f);
  td_load("smece_relplot/binary_y.npy", &y);
  uint8_t *yy = malloc(y.count);
  for (size_t i = 0; i < y.count; i++) yy[i] = (uint8_t)((const int64_t *)y.data)[i];
  assert_int_equal(lsp_calib_rows_from_conf(f.data, yy, f.count, NULL, &r), 0);
  score(r, 0.0, &res);
  td_close(res.value[LSP_CALIB_SMECE], num(bc, "smece"), 0, 1e-3, "binary smece", 0);
  td_close(res.value[LSP_CALIB_SMECE_SIGMA], num(bc, "sigma_star"), 0, 1e-3, "binary sigma*", 0);
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);
  free(yy);
  lsp_array_release(&f);
  lsp_array_release(&y);
  lsp_jsonr_free(rel);
  lsp_jsonr_free(doc);
}

/* Every estimator on the `near` case against the NumPy re-implementation. */
static void test_near_numpy(void **state) {
  (void)state;
  lsp_jsonr_doc *doc = NULL;
  const lsp_jsonr *e = expected(&doc, "near");
  lsp_calib_rows *r = near_rows();
  lsp_calib_result res;
  score(r, 0.0, &res);
  const double *v = res.value;
  td_close(v[LSP_CALIB_ECE], num(e, "ece"), 1e-12, 0, "ece", 0);
  td_close(v[LSP_CALIB_ECE_DEBIASED], num(e, "ece_debiased"), 1e-11, 0, "ece_debiased", 0);
  /* the Monte Carlo mean over 10^6 redraws, within 4 standard errors */
  td_close(v[LSP_CALIB_ECE_DEBIASED], num(e, "ece_debiased_mc"), 0,
           4 * num(e, "ece_debiased_mc_se"), "ece_debiased (Monte Carlo)", 0);
  td_close(v[LSP_CALIB_ECE_L2_DEBIASED], num(e, "ece_l2_debiased"), 1e-11, 0, "ece_l2", 0);
  td_close(v[LSP_CALIB_ECE_SWEEP], num(e, "ece_sweep"), 1e-11, 0, "ece_sweep", 0);
  assert_int_equal(res.sweep_bins, (int)num(e, "ece_sweep_bins"));
  td_close(v[LSP_CALIB_SMECE_SIGMA], num(e, "smece_sigma"), 1e-4, 0, "sigma*", 0);
  td_close(v[LSP_CALIB_SMECE], num(e, "smece"), 1e-5, 0, "smece", 0);
  /* the smoothed reliability curve at σ* (NumPy: exact kernel sums) */
  const lsp_jsonr *ca = lsp_jsonr_get(e, "curve_acc"), *cd = lsp_jsonr_get(e, "curve_dens");
  assert_int_equal(lsp_jsonr_len(ca), LSP_SMECE_CURVE_PTS);
  for (size_t q = 0; q < LSP_SMECE_CURVE_PTS; q++) {
    double want_d = elem(cd, q);
    td_close(res.smooth_dens[q], want_d, 1e-3, 1e-5, "curve density", q);
    if (want_d > 0.01) /* where the data are; far out it is a ratio of kernel tails */
      td_close(res.smooth_acc[q], elem(ca, q), 0, 5e-4, "curve accuracy", q);
  }
  lsp_calib_result_release(&res);
  const double sig[] = {0.01, 0.02, 0.05};
  const char *key[] = {"0.01", "0.02", "0.05"};
  for (int i = 0; i < 3; i++) { /* the mesh: 2e-4 relative at σ = 0.01, less above */
    score(r, sig[i], &res);
    double want = lsp_jsonr_num_or(lsp_jsonr_get(e, "smece_at"), key[i], NAN);
    td_close(res.value[LSP_CALIB_SMECE], want, 3e-4, 0, "smece at sigma", (size_t)i);
    lsp_calib_result_release(&res);
  }
  lsp_calib_rows_free(r);
  lsp_jsonr_free(doc);
}

/* Closed forms. */
static void test_closed_forms(void **state) {
  (void)state;
  enum { N = 997 };
  double c[N], y[N], resid[LSP_SMECE_NODES], mean = 0.0;
  for (int i = 0; i < N; i++) {
    c[i] = fmod(0.2385 + 0.6180339887 * i, 1.0);
    y[i] = 0.0;
    mean += c[i] / N;
  }
  /* all wrong: r(t) < 0 everywhere, and the reflected kernel integrates to
   * 1, so smECE_σ = mean(c) for every σ, and σ* = mean(c) */
  lsp_smece_ws *ws = lsp_smece_ws_alloc();
  assert_non_null(ws);
  lsp_smece_mesh(c, y, N, resid);
  const double sig[] = {0.001, 0.013, 0.1, 0.5, 1.0};
  for (int i = 0; i < 5; i++)
    td_close(lsp_smece_at(ws, resid, sig[i]), mean, 1e-11, 0, "one sign", (size_t)i);
  double s, v;
  lsp_smece_fit(ws, resid, 0.0, &s, &v);
  td_close(s, mean, 1e-11, 0, "sigma* = mean", 0); /* to the precision of smECE_σ */
  td_close(v, mean, 1e-11, 0, "smece = mean", 0);
  lsp_smece_fit(ws, resid, 0.07, &s, &v); /* a hint changes the cost only */
  td_close(s, mean, 1e-11, 0, "sigma* (hint)", 0);
  /* r changing sign (labels drawn at a miscalibrated rate): the sample
   * refitted from its own σ*, or from a hint elsewhere, finds the same σ*
   * to near double precision, and the same smECE */
  for (int k = 0; k < 4; k++) {
    uint64_t u = 0x9e3779b97f4a7c15ULL * (uint64_t)(k + 1);
    for (int i = 0; i < N; i++) {
      u = u * 6364136223846793005ULL + 1442695040888963407ULL;
      double p = c[i] + (0.15 + 0.05 * k) * (0.5 - c[i]); /* under-confident toward 0.5 */
      y[i] = (double)(u >> 11) * 0x1.0p-53 < p ? 1.0 : 0.0;
    }
    lsp_smece_mesh(c, y, N, resid);
    double s0, v0, s1, v1, s2, v2;
    lsp_smece_fit(ws, resid, 0.0, &s0, &v0);
    lsp_smece_fit(ws, resid, s0, &s1, &v1);
    lsp_smece_fit(ws, resid, 1.7 * s0, &s2, &v2);
    assert_true(s0 > LSP_SMECE_SIGMA_MIN && s0 < 1.0);
    td_close(s1, s0, 1e-12, 0, "sigma* hinted with itself", (size_t)k);
    td_close(v1, v0, 1e-12, 0, "smece hinted with its sigma*", (size_t)k);
    td_close(s2, s0, 1e-12, 0, "sigma* hinted elsewhere", (size_t)k);
    td_close(v0, s0, 1e-12, 0, "smece = sigma* at the root", (size_t)k);
  }
  /* labels equal to the confidences: calibrated exactly, smECE 0 at the floor */
  lsp_smece_mesh(c, c, N, resid);
  lsp_smece_fit(ws, resid, 0.0, &s, &v);
  assert_true(v == 0.0 && s == LSP_SMECE_SIGMA_MIN);
  lsp_smece_ws_free(ws);

  /* one bin, 10 rows at 0.5, 5 correct: g = 0, s² = 0.25/10, so
   * ece_debiased = −s·sqrt(2/π) and the ℓ2 sum 0 − 0.25/9 clips to 0 */
  double conf[10];
  uint8_t ok[10];
  for (int i = 0; i < 10; i++) conf[i] = 0.5, ok[i] = i % 2;
  lsp_calib_rows *r = NULL;
  assert_int_equal(lsp_calib_rows_from_conf(conf, ok, 10, NULL, &r), 0);
  lsp_calib_result res;
  score(r, 0.0, &res);
  const double sqrt_2_over_pi = 0.79788456080286535588;
  td_close(res.value[LSP_CALIB_ECE_DEBIASED], -sqrt(0.025) * sqrt_2_over_pi, 1e-14, 0,
           "debiased, g = 0", 0);
  assert_true(res.value[LSP_CALIB_ECE_L2_DEBIASED] == 0.0);
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);

  /* ECE-sweep by hand: c = 0.1..0.8, y = 0 1 0 1 1 0 1 1. Two bins of 4
   * (2/4, 3/4), three (1/3, 2/3, 2/2), four (1/2 1/2 1/2 1), five (1/2
   * 1/2 1/2 1 1) are monotone; six (1/2 1/2 1 0 ...) is not: b = 5, ECE =
   * (0.7 + 0.3 + 0.1 + 0.3 + 0.2)/8 = 0.2 */
  const double hc[8] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
  const uint8_t hy[8] = {0, 1, 0, 1, 1, 0, 1, 1};
  assert_int_equal(lsp_calib_rows_from_conf(hc, hy, 8, NULL, &r), 0);
  score(r, 0.0, &res);
  assert_int_equal(res.sweep_bins, 5);
  td_close(res.value[LSP_CALIB_ECE_SWEEP], 0.2, 1e-14, 0, "sweep by hand", 0);
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);
  /* labels sorted like the confidences: every binning is monotone, b = N
   * and ECE-sweep = mean |y − c| */
  double sc[200], want = 0.0;
  uint8_t sy[200];
  for (int i = 0; i < 200; i++) {
    sc[i] = (i + 0.5) / 200.0;
    sy[i] = i >= 120;
    want += fabs(sy[i] - sc[i]) / 200.0;
  }
  assert_int_equal(lsp_calib_rows_from_conf(sc, sy, 200, NULL, &r), 0);
  score(r, 0.0, &res);
  assert_int_equal(res.sweep_bins, 200);
  td_close(res.value[LSP_CALIB_ECE_SWEEP], want, 1e-13, 0, "sweep, sorted labels", 0);
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);
}

/* ECE-sweep of rows standing for w copies, k of them correct, against a
 * plain count over the copies written out one by one: every b from 2
 * compares every pair of neighbouring bins. Weights 1, 2 or 4 keep every
 * share of a split row exact, so both sides decide ties alike. Random
 * rows, and rows whose correctness follows the confidence but for a few
 * flips (the sweep then reaches many bins, where comparing only the bins
 * around a wrong copy after a correct one must give the same answer). */
static double sweep_plain(size_t n, const double *conf, const uint32_t *w, const uint32_t *k,
                          int *bins) {
  size_t W = 0;
  for (size_t i = 0; i < n; i++) W += w[i];
  double *kc = malloc(W * sizeof *kc), *cc = malloc(W * sizeof *cc);
  assert_true(kc && cc);
  for (size_t i = 0, x = 0; i < n; i++)
    for (uint32_t c = 0; c < w[i]; c++, x++) kc[x] = (double)k[i] / w[i], cc[x] = conf[i];
  size_t best = 1;
  for (size_t b = 2; b <= W; b++) {
    size_t base = W / b, extra = W % b, x = 0;
    double pk = 0.0, ps = 0.0;
    int ok = 1;
    for (size_t m = 0; m < b && ok; m++) {
      size_t sz = base + (m < extra);
      double km = 0.0;
      for (size_t q = 0; q < sz; q++) km += kc[x++];
      if (m > 0 && pk * (double)sz > km * ps) ok = 0;
      pk = km, ps = (double)sz;
    }
    if (!ok) break;
    best = b;
  }
  size_t base = W / best, extra = W % best, x = 0;
  double ece = 0.0;
  for (size_t m = 0; m < best; m++) {
    size_t sz = base + (m < extra);
    double km = 0.0, cm = 0.0;
    for (size_t q = 0; q < sz; q++, x++) km += kc[x], cm += cc[x];
    ece += fabs(km - cm) / (double)W;
  }
  free(kc);
  free(cc);
  *bins = (int)best;
  return ece;
}

static void test_sweep_weighted(void **state) {
  (void)state;
  enum { N = 120 };
  double conf[N], work[3 * (N + 1)];
  uint32_t w[N], k[N];
  size_t order[N];
  unsigned s = 99;
  int far = 0;
  for (int round = 0; round < 300; round++) {
    const int kind = round % 3; /* 0 random, 1 and 2 nearly sorted */
    for (size_t i = 0; i < N; i++) {
      s = s * 1664525u + 1013904223u;
      conf[i] = (i + 0.5) / N;
      order[i] = i;
      w[i] = (s >> 28) % 4 == 0 ? 0 : 1u << ((s >> 20) % 3);
      int right = kind ? i >= (size_t)(N / 4 * kind) : (s >> 12) % 2;
      if (kind && (s >> 8) % 200 == 0) right = !right; /* now and then a flip */
      k[i] = right ? w[i] : 0;
      if (!kind && w[i] > 1 && (s >> 4) % 3 == 0) k[i] = w[i] / 2; /* split rows */
    }
    if (round % 10 == 9) { /* a heavy row: more copies than the sweep's
                              position table takes (its bisection then) */
      const int right = k[N / 2] > 0;
      w[N / 2] = 5000;
      k[N / 2] = right ? 5000 : 0;
    }
    int b1, b2;
    const double got = lsp_calib_sweep(N, order, conf, w, NULL, k, work, &b1);
    const double want = sweep_plain(N, conf, w, k, &b2);
    if (b1 != b2 || fabs(got - want) > 1e-12) {
      print_error("round %d: %d bins, ECE %.17g; plain count %d bins, %.17g\n", round, b1, got,
                  b2, want);
      fail();
    }
    far += b1 > 20;
  }
  assert_true(far > 50); /* the nearly sorted rows reach many bins */
}

/* Intervals: bit-identical for any thread count; the percentile interval
 * always kept in pct_lo/hi; the inverted ones only for the calibration
 * errors; `percentile` makes ci = pct. */
static void test_intervals(void **state) {
  (void)state;
  lsp_calib_rows *r = near_rows();
  lsp_calib_opts o = lsp_calib_opts_default();
  lsp_calib_result a, b, p;
  score(r, 0.0, &a);
  score(r, 0.0, &b);
  score(r, 0.0, &p);
  lsp_calib_boot b1 = {60, 5, 1, LSP_CALIB_CI_INVERSION}, b2 = {60, 5, 2, LSP_CALIB_CI_INVERSION};
  lsp_calib_boot bp = {60, 5, 2, LSP_CALIB_CI_PERCENTILE};
  assert_int_equal(lsp_calib_bootstrap(r, &o, &b1, &a), 0);
  assert_int_equal(lsp_calib_bootstrap(r, &o, &b2, &b), 0);
  assert_int_equal(lsp_calib_bootstrap(r, &o, &bp, &p), 0);
  assert_memory_equal(a.ci_lo, b.ci_lo, sizeof a.ci_lo);
  assert_memory_equal(a.ci_hi, b.ci_hi, sizeof a.ci_hi);
  assert_memory_equal(a.smooth_lo, b.smooth_lo, LSP_SMECE_CURVE_PTS * sizeof *a.smooth_lo);
  assert_memory_equal(a.pct_lo, p.pct_lo, sizeof a.pct_lo);
  assert_memory_equal(p.ci_lo, p.pct_lo, sizeof p.ci_lo);
  assert_memory_equal(p.ci_hi, p.pct_hi, sizeof p.ci_hi);
  int inverted = 0;
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
    if (!a.has[m]) continue;
    if (!lsp_calib_ci_inverted(m)) { /* σ* aside: smece's interval, below */
      if (m != LSP_CALIB_SMECE_SIGMA)
        assert_true(a.ci_lo[m] == a.pct_lo[m] && a.ci_hi[m] == a.pct_hi[m]);
      continue;
    }
    inverted++;
    assert_true(a.ci_lo[m] >= 0.0 && a.ci_lo[m] <= a.ci_hi[m]);
    /* the plug-in estimators' intervals move down from the percentile ones */
    if (m == LSP_CALIB_ECE || m == LSP_CALIB_RMSCE || m == LSP_CALIB_SMECE)
      assert_true(a.ci_lo[m] < a.pct_lo[m] && a.ci_hi[m] < a.pct_hi[m] + 1e-3);
  }
  assert_int_equal(inverted, 7);
  /* σ* is smece's number, with smece's interval */
  assert_true(a.value[LSP_CALIB_SMECE_SIGMA] == a.value[LSP_CALIB_SMECE] ||
              fabs(a.value[LSP_CALIB_SMECE_SIGMA] / a.value[LSP_CALIB_SMECE] - 1) < 1e-9);
  assert_true(a.ci_lo[LSP_CALIB_SMECE_SIGMA] == a.ci_lo[LSP_CALIB_SMECE] &&
              a.ci_hi[LSP_CALIB_SMECE_SIGMA] == a.ci_hi[LSP_CALIB_SMECE]);
  assert_true(lsp_calib_result_inverted(&a, LSP_CALIB_SMECE_SIGMA) &&
              !lsp_calib_result_inverted(&p, LSP_CALIB_SMECE_SIGMA));
  for (size_t q = 0; q < LSP_SMECE_CURVE_PTS; q++)
    if (a.smooth_dens[q] > 0.05) /* a band around the curve where there are data */
      assert_true(a.smooth_lo[q] <= a.smooth_acc[q] + 1e-12 &&
                  a.smooth_acc[q] <= a.smooth_hi[q] + 1e-12);
  lsp_calib_result_release(&a);
  lsp_calib_result_release(&b);
  lsp_calib_result_release(&p);
  lsp_calib_rows_free(r);
}

/* A sample whose smoothed residual is 0 (eight rows at c = 0.75, six of
 * them correct: y − c sums to 0 at the one confidence) has smECE_σ = 0 for
 * every σ, so σ* is the floor of its search, LSP_SMECE_SIGMA_MIN, while
 * smece is 0; σ* never lies below that floor, so its interval is smece's
 * raised to it and holds σ* itself. */
static void test_sigma_floor_interval(void **state) {
  (void)state;
  double c[8];
  uint8_t y[8];
  for (int i = 0; i < 8; i++) c[i] = 0.75, y[i] = i < 6;
  lsp_calib_rows *r = NULL;
  assert_int_equal(lsp_calib_rows_from_conf(c, y, 8, NULL, &r), 0);
  lsp_calib_result a;
  score(r, 0.0, &a);
  assert_true(a.value[LSP_CALIB_SMECE] == 0.0);
  assert_true(a.value[LSP_CALIB_SMECE_SIGMA] == LSP_SMECE_SIGMA_MIN);
  lsp_calib_opts o = lsp_calib_opts_default();
  lsp_calib_boot b = {40, 3, 1, LSP_CALIB_CI_INVERSION};
  assert_int_equal(lsp_calib_bootstrap(r, &o, &b, &a), 0);
  const double lo = a.ci_lo[LSP_CALIB_SMECE_SIGMA], hi = a.ci_hi[LSP_CALIB_SMECE_SIGMA];
  assert_true(lo == fmax(a.ci_lo[LSP_CALIB_SMECE], LSP_SMECE_SIGMA_MIN));
  assert_true(hi == fmax(a.ci_hi[LSP_CALIB_SMECE], LSP_SMECE_SIGMA_MIN));
  assert_true(lo <= a.value[LSP_CALIB_SMECE_SIGMA] && a.value[LSP_CALIB_SMECE_SIGMA] <= hi);
  lsp_calib_result_release(&a);
  lsp_calib_rows_free(r);
}

/* The logistic recalibration fit (SmoothECE's second family of interval
 * worlds): with two distinct confidences the maximum-likelihood curve
 * passes through both groups' accuracies, a closed form; on the `near`
 * case the score equations Σ (y − p) = Σ (y − p)·logit c = 0 hold at the
 * fit; separable and one-confidence rows have no fit. */
static double logit(double p) { return log(p / (1.0 - p)); }

static void test_logistic_fit(void **state) {
  (void)state;
  enum { N = 100 };
  double c[N], a, b;
  uint8_t y[N];
  for (int i = 0; i < N; i++) { /* 40 rows at 0.6 (30 correct), 60 at 0.9 (50) */
    c[i] = i < 40 ? 0.6 : 0.9;
    y[i] = i < 40 ? i < 30 : i < 90;
  }
  assert_int_equal(lsp_calib_logistic_fit(c, y, N, &a, &b), 1);
  double bw = (logit(0.75) - logit(5.0 / 6.0)) / (logit(0.6) - logit(0.9));
  td_close(b, bw, 1e-9, 1e-12, "slope", 0);
  td_close(a, logit(0.75) - bw * logit(0.6), 1e-9, 1e-12, "intercept", 0);
  lsp_array cn = {0}, yn = {0};
  td_load("calib_estimators/near_conf.npy", &cn);
  td_load("calib_estimators/near_correct.npy", &yn);
  const double *cc = cn.data;
  const uint8_t *yy = yn.data;
  assert_int_equal(lsp_calib_logistic_fit(cc, yy, cn.count, &a, &b), 1);
  double s0 = 0.0, s1 = 0.0;
  for (size_t i = 0; i < cn.count; i++) {
    double z = logit(cc[i]), p = 1.0 / (1.0 + exp(-(a + b * z)));
    s0 += yy[i] - p, s1 += (yy[i] - p) * z;
  }
  assert_true(fabs(s0) < 1e-8 && fabs(s1) < 1e-8);
  /* NumPy's Newton fit of the same rows (numpy.linalg.solve on the 2×2
   * score system, 50 steps): a = −0.245625, b = 1.055849 */
  td_close(a, -0.24562471422456114, 1e-8, 1e-12, "near intercept", 0);
  td_close(b, 1.0558492639103754, 1e-8, 1e-12, "near slope", 0);
  lsp_array_release(&cn);
  lsp_array_release(&yn);
  for (int i = 0; i < N; i++) y[i] = c[i] > 0.7; /* separable */
  assert_int_equal(lsp_calib_logistic_fit(c, y, N, &a, &b), 0);
  for (int i = 0; i < N; i++) c[i] = 0.8, y[i] = i % 3 != 0; /* one confidence */
  assert_int_equal(lsp_calib_logistic_fit(c, y, N, &a, &b), 0);
}

/* Bad input: confidences outside [0, 1] or correct not 0/1 name the row. */
static void test_bad_conf(void **state) {
  (void)state;
  double c[3] = {0.5, 1.5, 0.2};
  uint8_t y[3] = {1, 0, 1};
  lsp_calib_rows *r = NULL;
  assert_int_equal(lsp_calib_rows_from_conf(c, y, 3, "x.npy", &r), LSP_EDATA);
  assert_null(r);
  assert_non_null(strstr(lsp_errmsg(), "x.npy"));
  assert_non_null(strstr(lsp_errmsg(), "row 1"));
  c[1] = NAN;
  assert_int_equal(lsp_calib_rows_from_conf(c, y, 3, NULL, &r), LSP_EDATA);
  c[1] = 0.5;
  y[2] = 2;
  assert_int_equal(lsp_calib_rows_from_conf(c, y, 3, NULL, &r), LSP_EDATA);
  assert_int_equal(lsp_calib_rows_from_conf(c, y, 0, NULL, &r), LSP_EDATA);
  lsp_calib_ci ci;
  assert_int_equal(lsp_calib_ci_parse("bca", &ci), LSP_EINVAL);
  assert_int_equal(lsp_calib_ci_parse("percentile", &ci), 0);
  assert_int_equal(ci, LSP_CALIB_CI_PERCENTILE);
}

/* smECE_σ on the finest mesh (σ < 2·RESOLUTION/(NODES − 1): no coarser
 * level) the plain way: node a's smoothed residual sums m[b]·φ over each
 * mirror image c of a (a + 2kL, 2kL − a) whose window [c − W, c + W]
 * reaches [0, L], b over the window clipped to [0, L], in the order
 * lsp_smece.c states (four chains by b's offset from the window's start,
 * the tail onto the first, added as (s0 + s1) + (s2 + s3)); then the
 * trapezoid rule over |r| (the sum of all, less half of the two ends). */
static double smece_fine_ref(const double *m, double sigma) {
  const long L = LSP_SMECE_NODES - 1;
  const double h = 1.0 / (double)L, sg = sqrt(sigma * sigma - h * h / 6.0);
  const long W = (long)ceil(7.0 * sg / h);
  double g[512];
  assert_true(W < 256);
  for (long d = -W; d <= W; d++) {
    const double x = (double)labs(d) * h / sg;
    g[256 + d] = 0.39894228040143267794 / sg * exp(-0.5 * x * x);
  }
  double total = 0.0, ends = 0.0;
  for (long a = 0; a <= L; a++) {
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    for (long k = -1; k <= 1; k++)
      for (int refl = 0; refl < 2; refl++) {
        const long c = refl ? 2 * k * L - a : a + 2 * k * L;
        if (c + W < 0 || c - W > L) continue;
        const long b0 = c - W < 0 ? 0 : c - W, b1 = c + W > L ? L : c + W;
        const long full = (b1 - b0 + 1) / 4 * 4;
        for (long b = b0; b <= b1; b++)
          s[b - b0 < full ? (b - b0) % 4 : 0] += m[b] * g[256 + b - c];
      }
    const double r = (s[0] + s[1]) + (s[2] + s[3]);
    total += fabs(r);
    if (a == 0 || a == L) ends += fabs(r);
  }
  return (total - 0.5 * ends) / (double)L;
}

/* lsp_smece_at on the finest mesh gives smece_fine_ref's bits: the nodes
 * whose window sees no mirror image are summed four at a time in vector
 * lanes, and must keep every node's order of additions. */
static void test_smece_mesh_bits(void **state) {
  (void)state;
  lsp_smece_ws *ws = lsp_smece_ws_alloc();
  assert_non_null(ws);
  double *m = malloc(LSP_SMECE_NODES * sizeof *m);
  assert_non_null(m);
  unsigned long x = 7;
  for (int t = 0; t < 3; t++) {
    for (size_t j = 0; j < LSP_SMECE_NODES; j++) {
      x = x * 6364136223846793005UL + 1442695040888963407UL;
      const double u = (double)(x >> 11) / 9007199254740992.0;
      m[j] = t == 0 ? (u - 0.45) * 1e-3 : t == 1 ? (j % 7 == 0 ? u - 0.3 : 0.0) : u * u - 0.33;
    }
    for (double sigma = 1e-3; sigma < 1.95e-3; sigma += 1.3e-4) {
      const double got = lsp_smece_at(ws, m, sigma), want = smece_fine_ref(m, sigma);
      if (memcmp(&got, &want, sizeof got) != 0)
        fail_msg("case %d, sigma %g: %.17g, the plain sums %.17g", t, sigma, got, want);
    }
  }
  free(m);
  lsp_smece_ws_free(ws);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_smece_mesh_bits),
      cmocka_unit_test(test_smece_relplot), cmocka_unit_test(test_near_numpy),
      cmocka_unit_test(test_closed_forms),  cmocka_unit_test(test_sweep_weighted),
      cmocka_unit_test(test_intervals), cmocka_unit_test(test_sigma_floor_interval),
      cmocka_unit_test(test_logistic_fit), cmocka_unit_test(test_bad_conf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
