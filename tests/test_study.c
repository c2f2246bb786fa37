/* The study (reports/lsp_study.h) and the findings' rules on hand-made
 * cells:
 * - the aggregates and the interval against closed forms (means, per-seed
 *   differences, sign agreement, Δ ± √(h_seeds² + h_examples²), the
 *   too-few-seeds flag, one seed without an interval, ties);
 * - under no true effect the verdicts' error rate is at most about the
 *   nominal 5% for 2 to 10 seeds;
 * - the result depends only on the set of cells: not on the order of the
 *   cells, of the ε grid or of the seeds; the judged ε is the smoothed ε
 *   nearest 0.1 whatever the order;
 * - "the FGSM gain does not survive stronger attacks": a gain that wholly
 *   survives contradicts it, a gain mostly lost supports it;
 * - the ratio of two gains by test inversion;
 * - an interruption before the call gives no result. */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "reports/lsp_cell.h"
#include "reports/lsp_findings.h"
#include "reports/lsp_html.h"
#include "reports/lsp_study.h"
#include "testutil.h"

/* hand-made cells: value v everywhere (point and every resample) */
static void make_cell(lsp_cell_result *r, double eps, unsigned long seed, double v, size_t B) {
  memset(r, 0, sizeof *r);
  snprintf(r->key.arch, sizeof r->key.arch, "x");
  r->key.eps = eps;
  r->key.seed = seed;
  r->B = B;
  r->resample = malloc(B * LSP_CELL_NSTAT * sizeof(double));
  for (int m = 0; m < LSP_CELL_NSTAT; m++) r->value[m] = v;
  for (size_t i = 0; i < B * LSP_CELL_NSTAT; i++) r->resample[i] = v;
}

static void set_cell(lsp_cell_result *r, double v) {
  for (int m = 0; m < LSP_CELL_NSTAT; m++) r->value[m] = v;
  for (size_t i = 0; i < r->B * LSP_CELL_NSTAT; i++) r->resample[i] = v;
}

static void release(lsp_cell_result *c, size_t n) {
  for (size_t i = 0; i < n; i++) lsp_cell_result_release(&c[i]);
}

static void test_study_closed_forms(void **state) {
  (void)state;
  /* three seeds; base values 0.5, 0.6, 0.7; smoothed +0.019, +0.02, +0.021;
   * constant example resamples: h_examples = 0, the interval is the t
   * interval of the three gains */
  lsp_cell_result c[6];
  const double base[3] = {0.5, 0.6, 0.7}, gain[3] = {0.019, 0.02, 0.021};
  for (int s = 0; s < 3; s++) {
    make_cell(&c[2 * s], 0.0, (unsigned long)s + 1, base[s], 20);
    make_cell(&c[2 * s + 1], 0.1, (unsigned long)s + 1, base[s] + gain[s], 20);
  }
  lsp_study st;
  assert_int_equal(lsp_study_compute(c, 6, &st), 0);
  assert_int_equal(st.n_eps, 2);
  assert_int_equal(st.base, 0);
  assert_int_equal(st.judged, 1);
  const lsp_study_cmp *k = &st.cmp[1][LSP_CELL_ACCURACY];
  assert_int_equal(k->seeds, 3);
  td_close(k->mean_base, 0.6, 0, 1e-15, "mean base", 0);
  td_close(k->mean_eps, 0.62, 0, 1e-15, "mean eps", 0);
  td_close(k->diff, 0.02, 0, 1e-15, "diff", 0);
  for (int s = 0; s < 3; s++) td_close(k->per_seed[s], gain[s], 0, 1e-15, "per seed", s);
  assert_true(k->agree && k->few_seeds); /* 3 < LSP_STUDY_MIN_SEEDS */
  const double h = gsl_cdf_tdist_Pinv(0.975, 2) * 0.001 / sqrt(3.0);
  td_close(k->sd_seed, 0.001, 0, 1e-12, "sd", 0);
  td_close(k->half_ex, 0, 0, 1e-15, "h_examples", 0);
  td_close(k->lo, 0.02 - h, 0, 1e-12, "lo", 0);
  td_close(k->hi, 0.02 + h, 0, 1e-12, "hi", 0);
  assert_int_equal(lsp_study_verdict(k, 1), LSP_FINDING_SUPPORTED);
  assert_int_equal(lsp_study_verdict(k, -1), LSP_FINDING_CONTRADICTED);
  const lsp_study_trend *t = &st.trend[0][LSP_CELL_NC1];
  td_close(t->mean, 0.6, 0, 1e-15, "trend mean", 0);
  td_close(t->sd, 0.1, 0, 1e-12, "trend sd", 0);
  assert_true(t->min == 0.5 && t->max == 0.7 && t->n == 3);
  /* a ratio of a summary to itself is 1, its interval [1, 1] */
  double rr, rlo, rhi;
  lsp_study_ratio(k, k, st.B, &rr, &rlo, &rhi);
  assert_true(lsp_study_ratio_defined(k) && rr == 1);
  td_close(rlo, 1, 0, 1e-8, "self-ratio lo", 0);
  td_close(rhi, 1, 0, 1e-8, "self-ratio hi", 0);
  lsp_study_free(&st);

  /* the example level: seed 2's resamples alternate ±0.003 around its
   * smoothed value, so D_b = 0.02 ± 0.001 and h_examples = 0.001 */
  for (size_t b = 0; b < 20; b++)
    for (int m = 0; m < LSP_CELL_NSTAT; m++)
      c[3].resample[b * LSP_CELL_NSTAT + (size_t)m] = c[3].value[m] + (b % 2 ? 0.003 : -0.003);
  assert_int_equal(lsp_study_compute(c, 6, &st), 0);
  k = &st.cmp[1][LSP_CELL_ACCURACY];
  td_close(k->half_ex, 0.001, 0, 1e-12, "h_examples", 0);
  td_close(k->hi - k->diff, sqrt(h * h + 1e-6), 0, 1e-12, "combined half-width", 0);
  lsp_study_free(&st);

  /* gains +0.01, +0.02, +0.03: the seeds agree, but three seeds this
   * spread leave 0 inside the t interval [−0.0048, +0.0448] */
  for (int s = 0; s < 3; s++) set_cell(&c[2 * s + 1], base[s] + 0.01 * (s + 1));
  assert_int_equal(lsp_study_compute(c, 6, &st), 0);
  k = &st.cmp[1][LSP_CELL_ACCURACY];
  assert_true(k->agree && k->lo < 0 && k->hi > 0.044);
  assert_int_equal(lsp_study_verdict(k, 1), LSP_FINDING_INCONCLUSIVE);
  lsp_study_free(&st);

  /* one seed against the others: the seeds disagree -> inconclusive */
  for (int s = 0; s < 3; s++) set_cell(&c[2 * s + 1], base[s] + gain[s]);
  set_cell(&c[1], 0.45);
  assert_int_equal(lsp_study_compute(c, 6, &st), 0);
  k = &st.cmp[1][LSP_CELL_ACCURACY];
  assert_false(k->agree);
  assert_string_equal(lsp_study_agreement(k), "disagree");
  assert_int_equal(lsp_study_verdict(k, 1), LSP_FINDING_INCONCLUSIVE);
  lsp_study_free(&st);
  /* seed 1 ties (0.5 against 0.5): not agreeing because of the tie alone */
  set_cell(&c[1], 0.5);
  assert_int_equal(lsp_study_compute(c, 6, &st), 0);
  k = &st.cmp[1][LSP_CELL_ACCURACY];
  assert_true(k->per_seed[0] == 0 && !k->agree);
  assert_string_equal(lsp_study_agreement(k), "tied");
  assert_int_equal(lsp_study_verdict(k, 1), LSP_FINDING_INCONCLUSIVE);
  lsp_study_free(&st);

  /* one seed: a gain of 0.05 with no example noise, yet no interval and no
   * verdict (the seed-to-seed spread is unknown); two seeds: flagged */
  set_cell(&c[1], 0.55);
  assert_int_equal(lsp_study_compute(c, 2, &st), 0);
  k = &st.cmp[1][LSP_CELL_ACCURACY];
  assert_true(k->seeds == 1 && k->agree && k->diff > 0.04);
  assert_true(isnan(k->lo) && isnan(k->hi) && !lsp_study_ratio_defined(k));
  assert_int_equal(lsp_study_verdict(k, 1), LSP_FINDING_INCONCLUSIVE);
  lsp_study_free(&st);
  assert_int_equal(lsp_study_compute(c + 2, 4, &st), 0);
  assert_true(st.cmp[1][0].few_seeds && st.cmp[1][0].seeds == 2);
  lsp_study_free(&st);

  /* ties by rounding: 0.1 + 0.2 against 0.3 is a tie with no sign */
  lsp_cell_result t3[6];
  const double tb[3] = {0.3, 0.6, 0.7}, tg[3] = {0.0, 0.02, 0.021};
  volatile double one = 0.1, two = 0.2;
  for (int s = 0; s < 3; s++) {
    make_cell(&t3[2 * s], 0.0, (unsigned long)s + 1, tb[s], 20);
    make_cell(&t3[2 * s + 1], 0.1, (unsigned long)s + 1, s ? tb[s] + tg[s] : one + two, 20);
  }
  assert_true(one + two != 0.3 && one + two - 0.3 > 0);
  assert_int_equal(lsp_study_compute(t3, 6, &st), 0);
  k = &st.cmp[1][LSP_CELL_AUC_PGD];
  assert_true(k->per_seed[0] == 0.0 && k->per_seed[1] > 0 && k->per_seed[2] > 0);
  assert_false(k->agree);
  assert_int_equal(lsp_study_verdict(k, 1), LSP_FINDING_INCONCLUSIVE);
  lsp_study_free(&st);
  assert_true(lsp_study_tied_diff(0.088 / 0.3, (0.044 + 0.044) / 0.3) == 0.0);
  assert_true(lsp_study_tied_diff(0.5, 0.25) == 0.25 && isnan(lsp_study_tied_diff(NAN, 0)));
  release(t3, 6);

  /* different B: refused */
  lsp_cell_result odd;
  make_cell(&odd, 0.2, 1, 0.5, 7);
  lsp_cell_result mix[2] = {c[0], odd};
  assert_int_equal(lsp_study_compute(mix, 2, &st), LSP_EINVAL);
  lsp_cell_result_release(&odd);
  release(c, 6);
}

/* S seeds of cells with no true effect: each seed's observed difference
 * N(0, sd_seed) + N(0, sd_ex), its example resamples that difference plus
 * N(0, sd_ex) (the base arm's noise shared by both arms); the fraction of
 * replicates whose accuracy verdict is not inconclusive */
static double false_rate(gsl_rng *g, size_t S, double sd_seed, double sd_ex, int reps) {
  const size_t B = 100;
  lsp_cell_result c[32];
  int wrong = 0;
  for (int rep = 0; rep < reps; rep++) {
    for (size_t k = 0; k < S; k++) {
      make_cell(&c[2 * k], 0.0, k + 1, 0.5, B);
      make_cell(&c[2 * k + 1], 0.1, k + 1, 0.5, B);
      const double obs = gsl_ran_gaussian(g, sd_seed) + gsl_ran_gaussian(g, sd_ex);
      c[2 * k + 1].value[LSP_CELL_ACCURACY] = 0.5 + obs;
      for (size_t b = 0; b < B; b++) {
        const double e = gsl_ran_gaussian(g, 0.01);
        c[2 * k].resample[b * LSP_CELL_NSTAT + LSP_CELL_ACCURACY] = 0.5 + e;
        c[2 * k + 1].resample[b * LSP_CELL_NSTAT + LSP_CELL_ACCURACY] =
            0.5 + e + obs + gsl_ran_gaussian(g, sd_ex);
      }
    }
    lsp_study st;
    assert_int_equal(lsp_study_compute(c, 2 * S, &st), 0);
    wrong += lsp_study_verdict(&st.cmp[st.judged][LSP_CELL_ACCURACY], 1) !=
             LSP_FINDING_INCONCLUSIVE;
    lsp_study_free(&st);
    release(c, 2 * S);
  }
  return (double)wrong / reps;
}

/* The error rate under no effect, nominal 5% (two-sided): at most 0.075
 * over 600 replicates (the binomial sd at 5% is 0.009). The percentile
 * interval of a two-level bootstrap over the seeds gave 0.19 at 3 seeds. */
static void test_study_null_rate(void **state) {
  (void)state;
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, 20261205);
  const size_t seeds[] = {2, 3, 5, 10};
  for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
    double r = false_rate(g, seeds[i], 0.02, 0.007, 600);
    fprintf(stderr, "# %zu seeds, no effect: %.3f of verdicts not inconclusive\n", seeds[i], r);
    assert_true(r <= 0.075);
  }
  double r = false_rate(g, 3, 0.003, 0.02, 600); /* the example level dominating */
  fprintf(stderr, "# 3 seeds, example noise dominating: %.3f\n", r);
  assert_true(r <= 0.075);
  gsl_rng_free(g);
}

/* cells of a 3-ε, 3-seed study with seed- and example-level noise */
static void noisy_cells(lsp_cell_result *c) {
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, 7);
  const double eps[3] = {0, 0.05, 0.1};
  for (int e = 0; e < 3; e++)
    for (int s = 0; s < 3; s++) {
      lsp_cell_result *r = &c[e * 3 + s];
      make_cell(r, eps[e], (unsigned long)(s + 1), 0.5 + 0.01 * e + gsl_ran_gaussian(g, 0.01), 30);
      for (size_t i = 0; i < 30 * LSP_CELL_NSTAT; i++)
        r->resample[i] = r->value[i % LSP_CELL_NSTAT] + gsl_ran_gaussian(g, 0.005);
    }
  gsl_rng_free(g);
}

/* The same cells in any order give bit-identical comparisons and trends:
 * the ε grid 0, 0.05, 0.1 against 0.1, 0, 0.05, seeds 1, 2, 3 against 3, 1,
 * 2; the per-seed differences in ascending seed order either way. The
 * accuracies 0.2, 0.3, 0.1 of ε = 0.1 sum to 0.6 in seed order and to
 * 0.6000000000000001 in the order 3, 1, 2: the trend's mean must not follow
 * the order of the cells. */
static void test_study_order(void **state) {
  (void)state;
  lsp_cell_result c[9], p[9];
  noisy_cells(c);
  c[6].value[LSP_CELL_ACCURACY] = 0.2;
  c[7].value[LSP_CELL_ACCURACY] = 0.3;
  c[8].value[LSP_CELL_ACCURACY] = 0.1;
  const int perm[9] = {8, 6, 7, 2, 0, 1, 5, 3, 4}; /* ε 0.1 first, seeds 3, 1, 2 */
  for (int i = 0; i < 9; i++) p[i] = c[perm[i]];
  lsp_study a, b;
  assert_int_equal(lsp_study_compute(c, 9, &a), 0);
  assert_int_equal(lsp_study_compute(p, 9, &b), 0);
  assert_true(a.eps[a.judged] == 0.1 && b.eps[b.judged] == 0.1);
  for (size_t ea = 0; ea < a.n_eps; ea++) {
    if (ea == a.base) continue;
    size_t eb = 0;
    while (b.eps[eb] != a.eps[ea]) eb++;
    for (int m = 0; m < LSP_CELL_NSTAT; m++) {
      const lsp_study_cmp *x = &a.cmp[ea][m], *y = &b.cmp[eb][m];
      assert_true(x->diff == y->diff && x->lo == y->lo && x->hi == y->hi);
      for (size_t k = 0; k < 3; k++) assert_true(x->per_seed[k] == y->per_seed[k]);
    }
  }
  for (size_t ea = 0; ea < a.n_eps; ea++) {
    size_t eb = 0;
    while (b.eps[eb] != a.eps[ea]) eb++;
    for (int m = 0; m < LSP_CELL_NSTAT; m++) {
      const lsp_study_trend *x = &a.trend[ea][m], *y = &b.trend[eb][m];
      assert_int_equal(x->n, y->n);
      assert_true(x->mean == y->mean && x->min == y->min && x->max == y->max);
      assert_true(x->sd == y->sd || (isnan(x->sd) && isnan(y->sd)));
    }
  }
  assert_true(b.trend[0][LSP_CELL_ACCURACY].mean == 0.6 / 3); /* (0.2 + 0.3) + 0.1 */
  /* per seed in ascending seed order */
  const lsp_study_cmp *x = &b.cmp[0][LSP_CELL_ACCURACY];
  for (size_t k = 0; k < 3; k++) {
    assert_true(x->per_seed[k] == c[6 + k].value[LSP_CELL_ACCURACY] - c[k].value[LSP_CELL_ACCURACY]);
    assert_true(x->seed[k] == c[k].key.seed); /* each difference names its seed */
  }
  assert_true(x->seed[0] < x->seed[1] && x->seed[1] < x->seed[2]);
  lsp_study_free(&a);
  lsp_study_free(&b);
  /* the judged ε without 0.1: the one nearest it, whatever the order */
  const double g1[4] = {0, 0.05, 0.2, 0.3}, g2[4] = {0.3, 0.2, 0, 0.05},
               g3[3] = {0.15, 0, 0.05}, g4[2] = {0, 0};
  assert_true(lsp_study_judged_eps(g1, 4) == 0.05 && lsp_study_judged_eps(g2, 4) == 0.05);
  assert_true(lsp_study_judged_eps(g3, 3) == 0.15); /* |0.15 − 0.1| < |0.05 − 0.1| in double */
  assert_true(isnan(lsp_study_judged_eps(g4, 2)));
  release(c, 9);
}

/* FGSM and stronger-attack gains over S seeds: fgsm[k], strong[k] per seed,
 * example resamples ±noise around them (alternating) */
static void gains(lsp_cell_result *c, size_t S, const double *fgsm, const double *strong,
                  double noise) {
  for (size_t k = 0; k < S; k++) {
    make_cell(&c[2 * k], 0.0, k + 1, 0.3, 40);
    make_cell(&c[2 * k + 1], 0.1, k + 1, 0.3, 40);
    c[2 * k + 1].value[LSP_CELL_AUC_FGSM] = 0.3 + fgsm[k];
    c[2 * k + 1].value[LSP_CELL_AUC_AA] = 0.3 + strong[k];
    for (size_t b = 0; b < 40; b++) {
      double e = b % 2 ? noise : -noise;
      c[2 * k + 1].resample[b * LSP_CELL_NSTAT + LSP_CELL_AUC_FGSM] = 0.3 + fgsm[k] + e;
      c[2 * k + 1].resample[b * LSP_CELL_NSTAT + LSP_CELL_AUC_AA] = 0.3 + strong[k] - e;
    }
  }
}

static int no_gain(const double *fgsm, const double *strong, size_t S, double *ratio_hi) {
  lsp_cell_result c[16];
  gains(c, S, fgsm, strong, 0.0005);
  lsp_study st;
  assert_int_equal(lsp_study_compute(c, 2 * S, &st), 0);
  const lsp_study_cmp *f = &st.cmp[1][LSP_CELL_AUC_FGSM], *a = &st.cmp[1][LSP_CELL_AUC_AA];
  const char *how;
  int v = lsp_findings_no_gain(a, f, st.B, lsp_study_verdict(f, 1), &how);
  double r, lo;
  lsp_study_ratio(a, f, st.B, &r, &lo, ratio_hi);
  fprintf(stderr, "# FGSM %+.4f [%+.4f, %+.4f], strong %+.4f [%+.4f, %+.4f], ratio %.2f [%.2f, "
                  "%.2f]: %s (%s)\n",
          f->diff, f->lo, f->hi, a->diff, a->lo, a->hi, r, lo, *ratio_hi, lsp_finding_word(v),
          how);
  assert_true(isnan(r) || (lo <= r && r <= *ratio_hi));
  lsp_study_free(&st);
  release(c, 2 * S);
  return v;
}

/* DESIGN §9.3: inside the margin is not enough, the gain must be lost. */
static void test_no_gain_rule(void **state) {
  (void)state;
  double rhi;
  const double f5[5] = {0.0125, 0.013, 0.0135, 0.0128, 0.0132};
  /* the whole FGSM gain survives, inside ±0.02: contradicted */
  assert_int_equal(no_gain(f5, f5, 5, &rhi), LSP_FINDING_CONTRADICTED);
  /* a tenth of it survives: supported, the ratio's interval below ½ */
  const double s5[5] = {0.0012, 0.0014, 0.0011, 0.0013, 0.0015};
  assert_int_equal(no_gain(f5, s5, 5, &rhi), LSP_FINDING_SUPPORTED);
  assert_true(rhi < 0.5);
  /* a gain beyond the margin survives: contradicted */
  const double big[5] = {0.05, 0.052, 0.049, 0.051, 0.05}, sb[5] = {0.03, 0.031, 0.029, 0.03, 0.03};
  assert_int_equal(no_gain(big, sb, 5, &rhi), LSP_FINDING_CONTRADICTED);
  /* about half survives, the seeds spread: neither shown */
  const double h5[5] = {0.004, 0.009, 0.006, 0.008, 0.005};
  assert_int_equal(no_gain(f5, h5, 5, &rhi), LSP_FINDING_INCONCLUSIVE);
  /* no FGSM gain: nothing to lose */
  const double z5[5] = {0.001, -0.002, 0.0005, -0.001, 0.0};
  assert_int_equal(no_gain(z5, z5, 5, &rhi), LSP_FINDING_INCONCLUSIVE);
}

/* An interruption requested before the call stops the study: LSP_EINTR and
 * no result; cleared, the same cells give the full study. */
static void test_study_interrupt(void **state) {
  (void)state;
  lsp_cell_result c[6];
  for (int s = 0; s < 3; s++) {
    make_cell(&c[2 * s], 0.0, (unsigned long)s + 1, 0.5 + 0.1 * s, 20);
    make_cell(&c[2 * s + 1], 0.1, (unsigned long)s + 1, 0.51 + 0.1 * s, 20);
  }
  lsp_study st;
  lsp_interrupt_request();
  int rc = lsp_study_compute(c, 6, &st);
  lsp_interrupt_clear();
  assert_int_equal(rc, LSP_EINTR);
  assert_int_equal(st.n_eps, 0);
  for (size_t e = 0; e < LSP_STUDY_MAX_EPS; e++)
    for (size_t m = 0; m < LSP_CELL_NSTAT; m++) assert_null(st.cmp[e][m].ex);
  lsp_study_free(&st); /* harmless on the emptied result */
  assert_int_equal(lsp_study_compute(c, 6, &st), 0);
  assert_non_null(st.cmp[1][LSP_CELL_ACCURACY].ex);
  assert_true(st.cmp[1][LSP_CELL_ACCURACY].lo > 0);
  lsp_study_free(&st);
  release(c, 6);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_study_closed_forms), cmocka_unit_test(test_study_null_rate),
      cmocka_unit_test(test_study_order),        cmocka_unit_test(test_no_gain_rule),
      cmocka_unit_test(test_study_interrupt),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
