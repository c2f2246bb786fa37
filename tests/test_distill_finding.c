/* The distillation verdict: decided by the interval of the student
 * difference (below 0 supported, above 0 contradicted, else inconclusive),
 * with several seeds the Student-t interval computed here by hand. */
#include <math.h>
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

static void test_one_seed(void **state) {
  (void)state;
  lsp_distill_verdict v;
  lsp_distill_evidence e = one_seed(-0.01, -0.015, -0.005);
  lsp_distill_finding(&e, &v);
  assert_int_equal(v.verdict, LSP_FINDING_SUPPORTED);
  assert_non_null(strstr(v.evidence, "Δ = -0.0100 [-0.0150, -0.0050]"));
  assert_non_null(strstr(v.evidence, "T = 2 for the smoothed teacher, T = 4"));
  assert_non_null(strstr(v.evidence, "is more accurate by +0.0040"));
  assert_non_null(
      strstr(v.evidence,
             "0.300 nats with smoothing vs 0.900 without, Δ = -0.600 [-0.700, "
             "-0.500]: the smoothed teacher's logits keep less"));
  e = one_seed(0.01, 0.002, 0.018);
  lsp_distill_finding(&e, &v);
  assert_int_equal(v.verdict, LSP_FINDING_CONTRADICTED);
  e = one_seed(-0.002, -0.008, 0.004);
  lsp_distill_finding(&e, &v);
  assert_int_equal(v.verdict, LSP_FINDING_INCONCLUSIVE);
  assert_non_null(strstr(v.evidence, "cannot tell"));
  /* an interval touching 0 is not decisive */
  e = one_seed(-0.004, -0.008, 0.0);
  lsp_distill_finding(&e, &v);
  assert_int_equal(v.verdict, LSP_FINDING_INCONCLUSIVE);
  e = one_seed(-0.004, NAN, NAN);
  lsp_distill_finding(&e, &v);
  assert_int_equal(v.verdict, LSP_FINDING_INCONCLUSIVE);
}

/* Three seeds with differences -0.010, -0.012, -0.014: mean -0.012, sd
 * 0.002, t(0.975, 2) = 4.302653 -> half width 0.0049684; all below 0. With
 * -0.010, +0.004, -0.012 the interval straddles 0. */
static void test_seeds(void **state) {
  (void)state;
  lsp_distill_evidence e = one_seed(-0.01, -0.02, 0.0);
  e.nseeds = 3;
  const double d1[3] = {-0.010, -0.012, -0.014},
               d2[3] = {-0.010, 0.004, -0.012};
  for (int i = 0; i < 3; i++) {
    e.diff[i] = d1[i];
    e.acc_s[i] = 0.85 + d1[i];
    e.acc_p[i] = 0.85;
    e.teacher_diff[i] = 0.004;
    e.t_s[i] = e.t_p[i] = (double)(1 << i);
  }
  lsp_distill_verdict v;
  lsp_distill_finding(&e, &v);
  double hw = 4.302653 * 0.002 / sqrt(3.0);
  td_close(v.diff, -0.012, 1e-12, 0, "mean", 0);
  td_close(v.lo, -0.012 - hw, 1e-6, 0, "t lo", 0);
  td_close(v.hi, -0.012 + hw, 1e-6, 0, "t hi", 0);
  assert_int_equal(v.verdict, LSP_FINDING_SUPPORTED);
  assert_non_null(strstr(v.evidence, "T = 1/2/4"));
  assert_non_null(strstr(v.evidence, "mean over seeds"));
  for (int i = 0; i < 3; i++) e.diff[i] = d2[i];
  lsp_distill_finding(&e, &v);
  assert_int_equal(v.verdict, LSP_FINDING_INCONCLUSIVE);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_one_seed),
                                     cmocka_unit_test(test_seeds)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
