/* The distillation verdict, by the study's rules: the mean student
 * difference ± √(h_seeds² + h_examples²) (computed here by hand), below 0
 * with every seed negative supported, above 0 with every seed positive
 * contradicted, else inconclusive; one seed never decides. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reports/lsp_distill_finding.h"
#include "reports/lsp_html.h"
#include "testutil.h"

static lsp_distill_evidence one_seed(double d, double lo, double hi) {
  lsp_distill_evidence e;
  memset(&e, 0, sizeof e);
  e.eps = 0.1;
  e.student = "784-64-10";
  e.nseeds = 1;
  e.resamples = 1000;
  e.acc_s[0] = 0.85 + d;
  e.acc_p[0] = 0.85;
  e.t_s[0] = 2;
  e.t_p[0] = 4;
  e.diff[0] = d;
  e.lo[0] = lo;
  e.hi[0] = hi;
  e.teacher_diff[0] = 0.004;
  e.teacher_lo[0] = 0.001;
  e.teacher_hi[0] = 0.007;
  e.mi_s[0] = 0.3;
  e.mi_p[0] = 0.9;
  e.mi_diff[0] = -0.6;
  e.mi_lo[0] = -0.7;
  e.mi_hi[0] = -0.5;
  e.base_0[0] = 0.84;
  e.base_s[0] = 0.845;
  return e;
}

/* One seed: no verdict, however far its paired bootstrap interval lies
 * from 0 — the seed-to-seed spread is unknown; the evidence says so and
 * quotes the example-level interval as such. */
static void test_one_seed(void **state) {
  (void)state;
  lsp_distill_verdict v;
  lsp_distill_evidence e = one_seed(-0.01, -0.015, -0.005);
  lsp_distill_finding(&e, &v);
  assert_int_equal(v.verdict, LSP_FINDING_INCONCLUSIVE);
  assert_true(isnan(v.lo) && isnan(v.hi));
  assert_non_null(strstr(v.evidence, "Δ = -0.0100 (no interval, one seed: the seed-to-seed "
                                     "spread is unknown; the paired bootstrap over the test "
                                     "examples alone gives [-0.0150, -0.0050]"));
  assert_non_null(strstr(v.evidence, "T = 2 for the smoothed teacher, T = 4"));
  assert_non_null(strstr(v.evidence, "is more accurate by +0.0040"));
  assert_non_null(
      strstr(v.evidence,
             "0.300 nats with smoothing vs 0.900 without, Δ = -0.600 [-0.700, "
             "-0.500]: the smoothed teacher's logits keep less"));
  assert_non_null(strstr(v.evidence, "One seed: this run cannot tell."));
  e = one_seed(0.01, 0.002, 0.018);
  lsp_distill_finding(&e, &v);
  assert_int_equal(v.verdict, LSP_FINDING_INCONCLUSIVE);
}

/* Three seeds with differences -0.010, -0.012, -0.014: mean -0.012, sd
 * 0.002, t(0.975, 2) = 4.302653 -> h_seeds 0.0049684; each seed's paired
 * interval ±0.01 -> h_examples 0.01; the interval −0.012 ± 0.011166, below
 * 0. With -0.010, +0.004, -0.012 the interval straddles 0. Six seeds, five
 * losing 0.02 and one tied: the interval lies below 0, but the seeds do not
 * agree: inconclusive. */
static void test_seeds(void **state) {
  (void)state;
  lsp_distill_evidence e = one_seed(-0.01, -0.02, 0.0);
  e.nseeds = 3;
  const double d1[3] = {-0.010, -0.012, -0.014},
               d2[3] = {-0.010, 0.004, -0.012};
  for (int i = 0; i < 3; i++) {
    e.diff[i] = d1[i];
    e.lo[i] = d1[i] - 0.01;
    e.hi[i] = d1[i] + 0.01;
    e.acc_s[i] = 0.85 + d1[i];
    e.acc_p[i] = 0.85;
    e.teacher_diff[i] = 0.004;
    e.t_s[i] = e.t_p[i] = (double)(1 << i);
  }
  lsp_distill_verdict v;
  lsp_distill_finding(&e, &v);
  double hs = 4.302653 * 0.002 / sqrt(3.0), hw = sqrt(hs * hs + 0.01 * 0.01);
  td_close(v.diff, -0.012, 1e-12, 0, "mean", 0);
  td_close(v.half_seed, hs, 1e-6, 0, "h_seeds", 0);
  td_close(v.half_ex, 0.01, 1e-12, 0, "h_examples", 0);
  td_close(v.lo, -0.012 - hw, 1e-6, 0, "lo", 0);
  td_close(v.hi, -0.012 + hw, 1e-6, 0, "hi", 0);
  assert_int_equal(v.verdict, LSP_FINDING_SUPPORTED);
  assert_non_null(strstr(v.evidence, "T = 1/2/4"));
  assert_non_null(strstr(v.evidence, "mean over seeds"));
  assert_non_null(strstr(v.evidence, "only 3 seeds"));
  for (int i = 0; i < 3; i++) e.diff[i] = d2[i];
  lsp_distill_finding(&e, &v);
  assert_int_equal(v.verdict, LSP_FINDING_INCONCLUSIVE);
  e.nseeds = 6;
  for (int i = 0; i < 6; i++) {
    e.diff[i] = i < 5 ? -0.02 + 0.001 * (i % 2) : 0.0;
    e.lo[i] = e.diff[i] - 0.0001;
    e.hi[i] = e.diff[i] + 0.0001;
    e.acc_s[i] = 0.85 + e.diff[i];
    e.acc_p[i] = 0.85;
  }
  lsp_distill_finding(&e, &v);
  assert_true(v.hi < 0 && !v.agree);
  assert_int_equal(v.verdict, LSP_FINDING_INCONCLUSIVE);
  assert_non_null(strstr(v.evidence, "The seeds do not agree in sign: this run cannot tell."));
}

/* Several seeds: the teachers' difference and the Î difference the
 * evidence quotes take the verdict's interval, mean ± √(h_seeds² +
 * h_examples²), never the seed spread alone. Teachers +0.010, +0.011,
 * +0.012, each seed's paired interval ±0.02: h_seeds = 4.302653 · 0.001 /
 * √3 = 0.0024841, the interval 0.011 ± 0.0201537 = [−0.0092, +0.0312]
 * (the seed spread alone, [+0.0085, +0.0135], would call the smoothed
 * teacher more accurate); Î −0.60, −0.61, −0.62 each ±0.7: −0.610 ±
 * 0.7000441 = [−1.310, +0.090], no clear difference. */
static void test_seeds_evidence(void **state) {
  (void)state;
  lsp_distill_evidence e = one_seed(-0.01, -0.02, 0.0);
  e.nseeds = 3;
  for (int i = 0; i < 3; i++) {
    e.diff[i] = -0.01;
    e.lo[i] = -0.02;
    e.hi[i] = 0.0;
    e.teacher_diff[i] = 0.010 + 0.001 * i;
    e.teacher_lo[i] = e.teacher_diff[i] - 0.02;
    e.teacher_hi[i] = e.teacher_diff[i] + 0.02;
    e.mi_s[i] = 0.3;
    e.mi_p[i] = 0.9 + 0.01 * i;
    e.mi_diff[i] = -0.60 - 0.01 * i;
    e.mi_lo[i] = e.mi_diff[i] - 0.7;
    e.mi_hi[i] = e.mi_diff[i] + 0.7;
    e.acc_s[i] = 0.84;
    e.acc_p[i] = 0.85;
    e.t_s[i] = e.t_p[i] = 1;
  }
  lsp_distill_verdict v;
  lsp_distill_finding(&e, &v);
  const double hs = 4.302653 * 0.001 / sqrt(3.0), ht = sqrt(hs * hs + 0.02 * 0.02),
               hm = sqrt(100 * hs * hs + 0.7 * 0.7);
  char want[160];
  snprintf(want, sizeof want,
           "The smoothed teacher itself is about as accurate, Δ +0.0110 [%+.4f, %+.4f]",
           0.011 - ht, 0.011 + ht);
  if (!strstr(v.evidence, want)) print_error("want \"%s\" in: %s\n", want, v.evidence);
  assert_non_null(strstr(v.evidence, want));
  snprintf(want, sizeof want, "Δ = -0.610 [%+.3f, %+.3f]: no clear difference", -0.61 - hm,
           -0.61 + hm);
  if (!strstr(v.evidence, want)) print_error("want \"%s\" in: %s\n", want, v.evidence);
  assert_non_null(strstr(v.evidence, want));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_one_seed),
                                     cmocka_unit_test(test_seeds),
                                     cmocka_unit_test(test_seeds_evidence)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
