/* Numerical robustness across modules: very large logits, K = 2, N = 1,
 * eps = 0 and eps = 1. Every result is either a finite number checked
 * against a closed form or a clean error; never a NaN, never a crash. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_clusters.h"
#include "analysis/lsp_logitgeom.h"
#include "attacks/lsp_attack.h"
#include "core/base/lsp_error.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/lsp_model.h"
#include "core/train/lsp_train.h"
#include "testutil.h"

/* Calibration of saturated logits: confidence exactly 1 lands in the last
 * bin; NLL from the log-softmax is the exact margin, not -log(0) = inf. */
static void test_calib_large_logits_k2_n1(void **state) {
  (void)state;
  const float z[4] = {1e4f, -1e4f, -1e4f, 1e4f};
  const int32_t y[2] = {0, 0}; /* right, then confidently wrong */
  lsp_calib_rows *r = NULL;
  assert_int_equal(lsp_calib_rows_from_logits(z, y, 2, 2, 1.0, "z", &r), 0);
  lsp_calib_opts o = lsp_calib_opts_default();
  lsp_calib_result res = {0};
  assert_int_equal(lsp_calib_rows_score(r, &o, &res), 0);
  td_close(res.value[LSP_CALIB_ACCURACY], 0.5, 0, 0, "accuracy", 0);
  /* NLL: row 0 is log(1 + e^-2e4) ~ 0, row 1 is 2e4 */
  td_close(res.value[LSP_CALIB_NLL], 1e4, 1e-12, 0, "nll", 0);
  /* both rows in the last bin with confidence 1, one correct: ECE 0.5 */
  td_close(res.value[LSP_CALIB_ECE], 0.5, 0, 1e-12, "ece", 0);
  assert_int_equal(res.bin_count[o.bins - 1], 2);
  td_close(res.value[LSP_CALIB_BRIER], 1.0, 0, 1e-12, "brier", 0); /* (0 + 2)/2 */
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);
  /* N = 1 */
  assert_int_equal(lsp_calib_rows_from_logits(z, y, 1, 2, 1.0, "z", &r), 0);
  assert_int_equal(lsp_calib_rows_score(r, &o, &res), 0);
  td_close(res.value[LSP_CALIB_ECE], 0.0, 0, 1e-12, "ece N=1", 0);
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);
  /* temperature scaling cannot fit a single correct example: a clean error */
  double t = 0;
  assert_int_equal(lsp_calib_temperature_fit(z, y, 1, 2, &t), LSP_EDATA);
  assert_true(strlen(lsp_errmsg()) > 0);
}

/* The logit gap of K = 2 logits is z_y - z_other; eps = 0 has no finite
 * optimum, t2t at eps = 1 an optimum of -inf; nothing is NaN. */
static void test_logitgap_edges(void **state) {
  (void)state;
  const float z[2] = {5e3f, -5e3f};
  const int32_t y[1] = {0};
  lsp_logitgap g;
  lsp_ls e0 = {0.0, LSP_LS_UNIFORM, 0}, e1u = {1.0, LSP_LS_UNIFORM, 0},
         e1t = {1.0, LSP_LS_T2T, 0};
  assert_int_equal(lsp_logitgap_compute(z, y, 1, 2, &e0, &g, NULL, NULL), 0);
  td_close(g.gap.mean, 1e4, 0, 0, "gap", 0);
  assert_true(isinf(g.optimal_gap) && g.optimal_gap > 0);
  td_close(g.share_above_optimal, 0.0, 0, 0, "share above +inf", 0);
  td_close(g.entropy.mean, 0.0, 0, 1e-12, "entropy of a saturated softmax", 0);
  assert_int_equal(lsp_logitgap_compute(z, y, 1, 2, &e1u, &g, NULL, NULL), 0);
  td_close(g.optimal_gap, 0.0, 0, 0, "uniform eps=1 optimum", 0);
  assert_int_equal(lsp_logitgap_compute(z, y, 1, 2, &e1t, &g, NULL, NULL), 0);
  assert_true(isinf(g.optimal_gap) && g.optimal_gap < 0);
  td_close(g.share_above_optimal, 1.0, 0, 0, "share above -inf", 0);
}

/* Clusters: K = 2 with one point per class gives R² = 1 exactly up to
 * rounding and NC1 = 0; huge feature values do not overflow; N = 1 is a
 * clean error (fewer than 2 classes). */
static void test_clusters_edges(void **state) {
  (void)state;
  const float f[4] = {3e18f, 1e18f, -2e18f, 4e18f};
  const int32_t y[2] = {0, 1};
  lsp_clusters *c = lsp_clusters_alloc(2);
  assert_int_equal(lsp_clusters_compute(f, y, 2, 2, c), 0);
  td_close(c->r2_separation, 1.0, 0, 1e-12, "R2, one point per class", 0);
  td_close(c->nc1, 0.0, 0, 1e-12, "NC1, one point per class", 0);
  assert_true(isfinite(c->trace_between) && c->trace_between > 0);
  assert_int_equal(lsp_clusters_compute(f, y, 1, 2, c), LSP_EDATA);
  lsp_clusters_free(c);
}

/* A K = 2 linear model on N = 1 input: attacks at eps 0 give the clean
 * result, a huge eps clips to the data bounds, and FGSM at eps = 1 with the
 * smoothed loss at eps = 1 runs without a NaN. */
static void test_attack_edges(void **state) {
  (void)state;
  lsp_model *m = lsp_model_alloc_mlp(3, NULL, 0, 2);
  const float w[6] = {1, -1, 0.5f, -1, 1, -0.5f}, b[2] = {0, 0};
  memcpy(m->params, w, sizeof w); /* the weight, then the bias */
  memcpy(m->params + 6, b, sizeof b);
  m->meta.trained = 1;
  m->meta.smoothing = (lsp_ls){1.0, LSP_LS_UNIFORM, 0};
  const float x[3] = {0.75f, 0.25f, 0.5f};
  const int32_t y[1] = {0};
  const double eps[3] = {0, 0.1, 100};
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  uint8_t correct[3];
  o.correct = correct;
  float adv[3];
  o.adv = adv;
  o.adv_point = 2;
  lsp_attack_result r = {0};
  assert_int_equal(lsp_attack_run(m, NULL, x, y, 1, 3, eps, 3, &o, &r), 0);
  td_close(r.points[0].accuracy, 1.0, 0, 0, "eps 0 = clean", 0);
  td_close(r.clean_accuracy, 1.0, 0, 0, "clean", 0);
  /* eps 100: every pixel at the bound its gradient sign points to */
  for (int i = 0; i < 3; i++) assert_true(adv[i] == 0.0f || adv[i] == 1.0f);
  assert_int_equal(correct[0], 1);
  lsp_attack_result_free(&r);
  o.loss = LSP_ALOSS_SMOOTHED; /* the model's own eps = 1: a uniform target */
  /* The input gradient of the smoothed loss at eps = 1 (q = 1/2, 1/2) is
   * finite and equals the closed form W^T (p - q): z = (0.75, -0.75), so
   * p_0 - 1/2 = sigmoid(1.5) - 1/2 and dx = (p_0 - 1/2)(w_0 - w_1). */
  float dx[3];
  lsp_ls uni = {1.0, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_attack_input_grad(m, x, y, 1, LSP_ALOSS_SMOOTHED, &uni, 0, dx), 0);
  double d0 = 1.0 / (1.0 + exp(-1.5)) - 0.5;
  const double dw[3] = {2.0, -2.0, 1.0};
  for (int i = 0; i < 3; i++) {
    assert_true(isfinite(dx[i]));
    td_close(dx[i], d0 * dw[i], 1e-6, 0, "input gradient at eps = 1", (size_t)i);
  }
  /* ascending that loss moves p away from uniform, towards the true class:
   * the example stays correct at every eps */
  assert_int_equal(lsp_attack_run(m, NULL, x, y, 1, 3, eps, 3, &o, &r), 0);
  for (size_t p = 0; p < r.npoints; p++)
    td_close(r.points[p].accuracy, 1.0, 0, 0, "smoothed-loss FGSM accuracy", p);
  lsp_attack_result_free(&r);
  lsp_model_free(m);
}

/* Training at eps = 1 (uniform targets): the optimum is constant logits,
 * the loss stays finite and converges to log K; N = 1 training works. */
static void test_train_eps1_and_n1(void **state) {
  (void)state;
  lsp_splits d;
  memset(&d, 0, sizeof d);
  float x[8] = {0.1f, 0.9f, 0.8f, 0.2f, 0.3f, 0.7f, 0.6f, 0.4f};
  int32_t y[4] = {0, 1, 0, 1};
  d.train = (lsp_dataset){4, 2, 2, x, y};
  d.val = (lsp_dataset){1, 2, 2, x, y};
  d.test = d.val;
  d.lo = 0;
  d.hi = 1;
  size_t h[1] = {4};
  lsp_model *m = lsp_model_alloc_mlp(2, h, 1, 2);
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.smoothing.eps = 1.0;
  o.epochs = 200;
  o.batch = 4;
  lsp_train_log tl = {0};
  assert_int_equal(lsp_train(m, &d, &o, NULL, NULL, &tl), 0);
  td_close(tl.train_loss[tl.epochs - 1], log(2.0), 0, 1e-3, "loss at eps=1 -> log K", 0);
  lsp_train_log_free(&tl);
  /* N = 1 training set */
  d.train.n = 1;
  o.smoothing.eps = 0.0;
  o.epochs = 3;
  assert_int_equal(lsp_train(m, &d, &o, NULL, NULL, &tl), 0);
  for (size_t e = 0; e < tl.epochs; e++) assert_true(isfinite(tl.train_loss[e]));
  lsp_train_log_free(&tl);
  lsp_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_calib_large_logits_k2_n1),
      cmocka_unit_test(test_logitgap_edges),
      cmocka_unit_test(test_clusters_edges),
      cmocka_unit_test(test_attack_edges),
      cmocka_unit_test(test_train_eps1_and_n1),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
