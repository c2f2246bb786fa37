/* Tests of the logit gap and predictive entropy: logits built at the loss
 * optimum against the closed forms of DESIGN §2, quantiles against NumPy's
 * "linear" method worked by hand, and the error paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_logitgeom.h"
#include "core/base/lsp_error.h"
#include "testutil.h"

/* At the optimum p = q: z_y − z_j = log(q_on/q_off) for every j ≠ y. Build
 * such logits with an arbitrary per-row offset, labels cycling. */
static void optimum_case(lsp_ls_convention conv, double want_gap) {
  enum { N = 20, K = 10 };
  lsp_ls ls = {0.1, conv, 0};
  float z[N * K];
  int32_t y[N];
  for (int i = 0; i < N; i++) {
    y[i] = (i * 3) % K;
    float off = 0.37f * (float)i - 2.0f;
    for (int j = 0; j < K; j++)
      z[i * K + j] = off + (j == y[i] ? (float)want_gap : 0.0f);
  }
  lsp_logitgap g;
  double per[N];
  assert_int_equal(lsp_logitgap_compute(z, y, N, K, &ls, &g, per, NULL), 0);
  /* float32 logits: the gap is exact to float rounding of off + gap */
  td_close(g.optimal_gap, want_gap, 1e-4, 0, "optimal gap vs DESIGN", 0);
  td_close(g.gap.mean, want_gap, 2e-6, 0, "mean gap", 0);
  td_close(g.gap.median, want_gap, 2e-6, 0, "median gap", 0);
  td_close(g.gap.q05, want_gap, 2e-6, 0, "q05 gap", 0);
  td_close(g.gap.q95, want_gap, 2e-6, 0, "q95 gap", 0);
  for (int i = 0; i < N; i++) td_close(per[i], want_gap, 2e-6, 0, "row gap", i);
  /* entropy of p = q is H(q) */
  td_close(g.entropy.mean, lsp_ls_entropy(&ls, K), 1e-6, 0, "entropy = H(q)",
           0);
  td_close(g.entropy_max, log(10.0), 1e-15, 0, "log K", 0);
}

static void test_optimum_uniform(void **state) {
  (void)state;
  /* DESIGN §2: K = 10, eps = 0.1 -> 4.5109 (uniform), H(q) = 0.5003 */
  optimum_case(LSP_LS_UNIFORM, log(1.0 + 10.0 * 0.9 / 0.1));
  td_close(log(1.0 + 90.0), 4.5109, 0, 5e-5, "closed form", 0);
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  td_close(lsp_ls_entropy(&ls, 10), 0.5003, 0, 5e-5, "H(q)", 0);
}

static void test_optimum_t2t(void **state) {
  (void)state;
  optimum_case(LSP_LS_T2T, log(9.0 * 0.9 / 0.1)); /* 4.3944 */
  td_close(log(81.0), 4.3944, 0, 5e-5, "closed form", 0);
}

/* Gaps 1..5 in a shuffled order: NumPy quantile (linear) gives
 * q05 1.2, q25 2, median 3, q75 4, q95 4.8. */
static void test_quantiles_and_entropy(void **state) {
  (void)state;
  const float z[5 * 2] = {3, 0, 0, 1, 5, 0, 2, 0, 0, 4};
  const int32_t y[5] = {0, 1, 0, 0, 1};
  lsp_logitgap g;
  double ent[5];
  lsp_ls ls = {0.0, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_logitgap_compute(z, y, 5, 2, &ls, &g, NULL, ent), 0);
  td_close(g.gap.mean, 3, 0, 1e-15, "mean", 0);
  td_close(g.gap.q05, 1.2, 0, 1e-14, "q05", 0);
  td_close(g.gap.q25, 2, 0, 1e-14, "q25", 0);
  td_close(g.gap.median, 3, 0, 1e-14, "median", 0);
  td_close(g.gap.q75, 4, 0, 1e-14, "q75", 0);
  td_close(g.gap.q95, 4.8, 0, 1e-14, "q95", 0);
  assert_true(g.gap.min == 1 && g.gap.max == 5);
  assert_true(isinf(g.optimal_gap) && g.optimal_gap > 0);
  td_close(g.share_above_optimal, 0, 0, 0, "none above +inf", 0);
  /* binary entropy of sigmoid(3) for row 0, in order */
  double p = 1 / (1 + exp(-3.0));
  td_close(ent[0], -(p * log(p) + (1 - p) * log(1 - p)), 1e-12, 0, "H row 0",
           0);
  /* JSON: eps = 0 gives "optimal_gap": null */
  const char *path = td_tmp("gap.json");
  FILE *f = fopen(path, "w+");
  assert_non_null(f);
  lsp_json j;
  lsp_json_init(&j, f, 0);
  lsp_json_obj_begin(&j);
  lsp_logitgap_json(&g, &j);
  lsp_json_obj_end(&j);
  assert_int_equal(lsp_json_finish(&j), 0);
  rewind(f);
  char buf[2048] = {0};
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  remove(path);
  assert_true(got > 0);
  assert_non_null(strstr(buf, "\"optimal_gap\":null"));
  assert_non_null(strstr(buf, "\"q95\":4.8"));
  /* no smoothing given: optimal gap and share are null */
  assert_int_equal(lsp_logitgap_compute(z, y, 5, 2, NULL, &g, NULL, NULL), 0);
  assert_int_equal(g.has_optimal, 0);
  /* share above the optimum for eps = 0.5 (uniform, K = 2): log 3 = 1.0986;
   * gaps 1..5 -> 4 of 5 above */
  ls.eps = 0.5;
  assert_int_equal(lsp_logitgap_compute(z, y, 5, 2, &ls, &g, NULL, NULL), 0);
  td_close(g.optimal_gap, log(3.0), 1e-15, 0, "optimal K=2", 0);
  td_close(g.share_above_optimal, 0.8, 0, 1e-15, "share above", 0);
}

static void test_errors(void **state) {
  (void)state;
  float z[6] = {1, 2, 3, 4, 5, 6};
  int32_t y[2] = {0, 2};
  lsp_logitgap g;
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_logitgap_compute(z, y, 2, 3, &ls, &g, NULL, NULL), 0);
  y[1] = 3;
  assert_int_equal(lsp_logitgap_compute(z, y, 2, 3, &ls, &g, NULL, NULL),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "row 1"));
  y[1] = 2;
  z[4] = NAN;
  assert_int_equal(lsp_logitgap_compute(z, y, 2, 3, &ls, &g, NULL, NULL),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "logit 1 of row 1"));
  z[4] = 5;
  ls.eps = 1.5;
  assert_int_equal(lsp_logitgap_compute(z, y, 2, 3, &ls, &g, NULL, NULL),
                   LSP_EINVAL);
  assert_int_equal(lsp_logitgap_compute(z, y, 0, 3, NULL, &g, NULL, NULL),
                   LSP_EINVAL);
  assert_int_equal(lsp_logitgap_compute(z, y, 2, 1, NULL, &g, NULL, NULL),
                   LSP_EINVAL);
}

/* float64 logits far from 0: the gap is the mean of z_y - z_j, so the units
 * of the differences survive logits of 1e15 (z_y - (sum z - z_y)/(K-1)
 * gives 2.875 on this row); the summary's mean of finite gaps whose sum
 * overflows is still their mean. */
static void test_f64_precision_and_range(void **state) {
  (void)state;
  double z[10];
  for (int j = 0; j < 10; j++) z[j] = 1e15;
  z[0] = 1e15 + 3;
  int32_t y[2] = {0, 0};
  lsp_logitgap g;
  double gap[1];
  assert_int_equal(lsp_logitgap_compute_f64(z, y, 1, 10, NULL, &g, gap, NULL), 0);
  td_close(gap[0], 3.0, 0, 0, "gap at 1e15", 0);
  td_close(g.gap.mean, 3.0, 0, 0, "mean gap at 1e15", 0);
  /* two rows of gap 1.5e308: their sum is past the double range */
  const double zb[6] = {1.5e308, 0, 0, 1.5e308, 0, 0};
  assert_int_equal(lsp_logitgap_compute_f64(zb, y, 2, 3, NULL, &g, NULL, NULL), 0);
  td_close(g.gap.mean, 1.5e308, 0, 0, "mean of huge gaps", 0);
  td_close(g.gap.median, 1.5e308, 0, 0, "median of huge gaps", 0);
  double v[3] = {1.7e308, 1.7e308, -0.4e308};
  lsp_dist_summary sm;
  lsp_dist_summarize(v, 3, &sm);
  td_close(sm.mean, 1e308, 1e-15, 0, "mean past the sum's range", 0);
  /* an ordinary mean is the plain sum over n */
  double w[3] = {0.1, 0.2, 0.4};
  lsp_dist_summarize(w, 3, &sm);
  assert_true(sm.mean == (0.1 + 0.2 + 0.4) / 3.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_optimum_uniform),
      cmocka_unit_test(test_optimum_t2t),
      cmocka_unit_test(test_quantiles_and_entropy),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_f64_precision_and_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
