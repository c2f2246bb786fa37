/* test_calib_sim — the simulation study in small (docs/CALIBRATION_SIM.md):
 * its exact targets against closed forms (Beta moments), and a fixed-seed
 * run with few replicates showing what the full study shows: the plug-in
 * ECE is biased upward and its percentile interval misses the truth, the
 * test-inversion intervals hold it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_calib_sim.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_init.h"
#include "testutil.h"

/* E[c^s] for c ~ Beta(a, b): B(a + s, b) / B(a, b). */
static double beta_moment(double a, double b, double s) {
  return exp(lgamma(a + s) + lgamma(a + b) - lgamma(a + b + s) - lgamma(a));
}

static const lsp_sim_scenario *scenario(const char *name) {
  size_t n = 0;
  const lsp_sim_scenario *s = lsp_sim_scenarios(&n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(s[i].name, name) == 0) return &s[i];
  fail_msg("no scenario %s", name);
  return NULL;
}

/* μ(c) = c^γ lies below the diagonal for γ > 1: E|μ − c| = E[c] − E[c^γ],
 * E(μ − c)² = E[c^2γ] − 2E[c^(γ+1)] + E[c²]; one sign, so the binned ℓ1
 * error and the population SmoothECE equal the ℓ1 error. */
static void test_targets_closed_form(void **state) {
  (void)state;
  const double gam[] = {1.3, 2.385};
  for (int i = 0; i < 2; i++) {
    lsp_sim_scenario s = {"power", 3.5, 1.25, LSP_SIM_POWER, gam[i]};
    lsp_sim_truth t;
    assert_int_equal(lsp_sim_truth_compute(&s, 15, &t), 0);
    double a = s.a, b = s.b, g = gam[i];
    double l1 = beta_moment(a, b, 1) - beta_moment(a, b, g);
    double l2 =
        sqrt(beta_moment(a, b, 2 * g) - 2 * beta_moment(a, b, g + 1) + beta_moment(a, b, 2));
    td_close(t.l1, l1, 1e-9, 0, "l1", (size_t)i);
    td_close(t.l2, l2, 1e-9, 0, "l2", (size_t)i);
    td_close(t.l1_binned, l1, 1e-9, 0, "binned l1 (one sign)", (size_t)i);
    assert_true(t.l2_binned <= t.l2 && t.l2_binned > 0.95 * t.l2); /* Jensen */
    td_close(t.smece, l1, 1e-7, 0, "population smECE (one sign)", (size_t)i);
    td_close(t.smece_sigma, t.smece, 1e-6, 0, "sigma* = smECE", (size_t)i);
  }
  /* calibrated: every target 0 */
  lsp_sim_truth t;
  assert_int_equal(lsp_sim_truth_compute(scenario("calibrated"), 15, &t), 0);
  assert_true(t.l1 == 0.0 && t.l2 == 0.0 && t.l1_binned == 0.0 && t.smece == 0.0);
  /* a curve crossing the diagonal: binned <= ℓ1 (cancellation in the bin
   * of the crossing), ℓ1 <= ℓ2, smoothing shrinks: smECE <= ℓ1 */
  assert_int_equal(lsp_sim_truth_compute(scenario("under"), 15, &t), 0);
  assert_true(t.l1_binned < t.l1 && t.l1 < t.l2 && t.smece < t.l1 && t.smece > 0.9 * t.l1);
  lsp_sim_scenario bad = {"bad", 0.5, 1.0, LSP_SIM_POWER, 1.0};
  assert_int_equal(lsp_sim_truth_compute(&bad, 15, &t), LSP_EINVAL);
}

/* A small fixed-seed study: 30 replicates of 400 pairs, 100 resamples. */
static void test_small_study(void **state) {
  (void)state;
  lsp_sim_opts o = {30, 100, 15, 2, 20261201};
  const char *names[] = {"calibrated", "over"};
  for (int k = 0; k < 2; k++) {
    const lsp_sim_scenario *s = scenario(names[k]);
    lsp_sim_truth t;
    lsp_sim_row row[LSP_SIM_NEST];
    assert_int_equal(lsp_sim_truth_compute(s, 15, &t), 0);
    assert_int_equal(lsp_sim_run(s, &t, 400, &o, row), 0);
    for (int e = 0; e < LSP_SIM_NEST; e++) {
      char what[64];
      snprintf(what, sizeof what, "%s/%s", s->name, lsp_calib_metric_name(lsp_sim_metric(e)));
      if (row[e].cover_inv < 0.85) fail_msg("%s: inversion coverage %.3f", what, row[e].cover_inv);
      assert_true(row[e].reps == 30 && row[e].width_inv > 0.0);
    }
    if (k == 0) { /* calibrated: the plug-in ECE's bias and its percentile interval */
      assert_true(row[LSP_SIM_ECE].bias > 3 * row[LSP_SIM_ECE].sd / sqrt(30.0));
      assert_true(row[LSP_SIM_ECE].cover_pct == 0.0 && row[LSP_SIM_ECE].above_pct == 1.0);
      assert_true(fabs(row[LSP_SIM_ECE_DEBIASED].bias) < row[LSP_SIM_ECE].bias);
    }
  }
  /* the same numbers for any thread count */
  lsp_sim_opts o1 = o, o2 = o;
  o1.reps = o2.reps = 4;
  o1.threads = 1;
  lsp_sim_row r1[LSP_SIM_NEST], r2[LSP_SIM_NEST];
  lsp_sim_truth t;
  assert_int_equal(lsp_sim_truth_compute(scenario("near"), 15, &t), 0);
  assert_int_equal(lsp_sim_run(scenario("near"), &t, 300, &o1, r1), 0);
  assert_int_equal(lsp_sim_run(scenario("near"), &t, 300, &o2, r2), 0);
  for (int e = 0; e < LSP_SIM_NEST; e++) /* field by field: the struct has padding */
    assert_true(r1[e].mean == r2[e].mean && r1[e].sd == r2[e].sd &&
                r1[e].cover_inv == r2[e].cover_inv && r1[e].width_inv == r2[e].width_inv &&
                r1[e].width_pct == r2[e].width_pct && r1[e].above_inv == r2[e].above_inv);
  o1.resamples = 1;
  assert_int_equal(lsp_sim_run(scenario("near"), &t, 300, &o1, r1), LSP_EINVAL);
}

int main(void) {
  if (lsp_init() != LSP_OK) return 1; /* GSL errors as statuses, as in the CLI */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_targets_closed_form),
      cmocka_unit_test(test_small_study),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
