/* test_autoattack_defs — the pieces of APGD, Square and AutoAttack's
 * checklist from their papers' definitions (Croce & Hein 2020;
 * Andriushchenko et al. 2020), without a trained model.
 *
 * Independent references: the DLR loss's closed form on hand-made logits
 * and central differences of its value (exact dyadic logits, so the
 * differences carry no rounding), the input gradient through the PyTorch
 * MLP against central differences, APGD's checkpoints and halving rule as
 * the paper states them, Square's schedule of square sizes, and the
 * AutoAttack checks of the masking checklist on hand-made sweeps. The
 * attacks on a model trained here are test_autoattack.c; the comparison
 * with the authors' implementation is test_aa_reference.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack.h"
#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"
#include "testutil.h"

/* ---- DLR ---------------------------------------------------------------- */

static void test_dlr_closed_form(void **state) {
  (void)state;
  /* π = (0, 2, 1, 3): z_π1 = 3, z_π2 = 2, z_π3 = 1, z_π4 = 0.5 */
  const float z[4] = {3.0f, 1.0f, 2.0f, 0.5f};
  double l, dz[4];
  assert_int_equal(lsp_attack_dlr(z, 4, 0, -1, &l, dz), 0);
  td_close(l, -(3.0 - 2.0) / (3.0 - 1.0), 0, 1e-15, "dlr y=0", 0);
  /* misclassified: y = 1, best other 0: −(1 − 3)/(3 − 1) = 1 */
  assert_int_equal(lsp_attack_dlr(z, 4, 1, -1, &l, NULL), 0);
  td_close(l, 1.0, 0, 1e-15, "dlr y=1", 0);
  /* targeted y = 0, t = 3: −(3 − 0.5)/(3 − (1 + 0.5)/2) */
  assert_int_equal(lsp_attack_dlr(z, 4, 0, 3, &l, dz), 0);
  td_close(l, -2.5 / 2.25, 0, 1e-15, "dlr-t", 0);
  /* three-way tie at the top: the denominator is taken as 1 (margin) */
  const float tie[4] = {2.0f, 2.0f, 2.0f, -1.0f};
  assert_int_equal(lsp_attack_dlr(tie, 4, 0, -1, &l, dz), 0);
  td_close(l, 0.0, 0, 0, "dlr tie", 0);
  td_close(dz[0], -1.0, 0, 0, "dlr tie grad y", 0);
  td_close(dz[1], 1.0, 0, 0, "dlr tie grad other", 0);
  /* invariant to adding a constant and to positive scaling */
  const float zs[4] = {3.0f * 4.0f + 7.0f, 1.0f * 4.0f + 7.0f,
                       2.0f * 4.0f + 7.0f, 0.5f * 4.0f + 7.0f};
  double l2;
  assert_int_equal(lsp_attack_dlr(z, 4, 2, 1, &l, NULL), 0);
  assert_int_equal(lsp_attack_dlr(zs, 4, 2, 1, &l2, NULL), 0);
  td_close(l2, l, 1e-15, 0, "dlr scale invariance", 0);
}

/* Central differences of the value on dyadic logits: z ± h is exact in
 * float, so the only error is the O(h²) curvature term. */
static void test_dlr_grad_finite_diff(void **state) {
  (void)state;
  const size_t K = 10;
  unsigned s = 2024;
  for (int rep = 0; rep < 40; rep++) {
    float z[10];
    for (size_t j = 0; j < K; j++) {
      s = s * 1664525u + 1013904223u;
      z[j] = (float)((int)(s >> 20) - 2048) / 256.0f; /* k/256 in [-8, 8) */
    }
    int32_t y = (int32_t)(rep % (int)K),
            t = rep % 3 == 0 ? -1 : (y + 1 + rep % 7) % (int32_t)K;
    if (t == y) t = -1;
    double l, dz[10];
    assert_int_equal(lsp_attack_dlr(z, K, y, t, &l, dz), 0);
    const float h = 1.0f / 1024.0f;
    for (size_t j = 0; j < K; j++) {
      float zp[10], zm[10];
      memcpy(zp, z, sizeof zp);
      memcpy(zm, z, sizeof zm);
      zp[j] += h;
      zm[j] -= h;
      double lp, lm;
      assert_int_equal(lsp_attack_dlr(zp, K, y, t, &lp, NULL), 0);
      assert_int_equal(lsp_attack_dlr(zm, K, y, t, &lm, NULL), 0);
      /* a kink (ties within h) would make the difference one-sided */
      float sorted[10];
      memcpy(sorted, z, sizeof sorted);
      int near_tie = 0;
      for (size_t a = 0; a < K; a++)
        for (size_t b = a + 1; b < K; b++)
          near_tie |= fabsf(sorted[a] - sorted[b]) <= 2.0f * h;
      if (near_tie) continue;
      td_close(dz[j], (lp - lm) / (2.0 * h), 1e-4, 1e-6, "dlr grad vs FD",
               (size_t)rep * K + j);
    }
  }
}

static void test_dlr_errors(void **state) {
  (void)state;
  const float z[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  double l;
  assert_int_equal(lsp_attack_dlr(z, 2, 0, -1, &l, NULL), LSP_EINVAL);
  assert_int_equal(lsp_attack_dlr(z, 3, 0, 1, &l, NULL), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "at least 4 classes"));
  assert_int_equal(lsp_attack_dlr(z, 4, 2, 2, &l, NULL), LSP_EINVAL);
  assert_int_equal(lsp_attack_dlr(z, 4, 4, -1, &l, NULL), LSP_EINVAL);
  assert_int_equal(lsp_attack_dlr(z, 4, 0, 9, &l, NULL), LSP_EINVAL);
  const float bad[4] = {1.0f, NAN, 0.0f, 0.0f};
  assert_int_equal(lsp_attack_dlr(bad, 4, 0, -1, &l, NULL), LSP_EDATA);
  lsp_attack_loss parsed;
  assert_int_equal(lsp_attack_loss_parse("dlr", &parsed), 0);
  assert_int_equal(parsed, LSP_ALOSS_DLR);
  assert_int_equal(lsp_attack_loss_parse("dlr-targeted", &parsed), LSP_EINVAL);
}

/* The DLR input gradient through the PyTorch MLP (K = 3) against central
 * differences of the model's logits. */
static void test_dlr_input_grad_finite_diff(void **state) {
  (void)state;
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_load(td_path("torch_mlp_tiny"), &m), 0);
  lsp_array xa, ya;
  td_load("torch_mlp_tiny/x.npy", &xa);
  td_load("torch_mlp_tiny/labels.npy", &ya);
  int32_t *y = NULL;
  assert_int_equal(lsp_array_labels(&ya, "labels.npy", 3, &y), 0);
  const float *x = xa.data;
  const size_t n = 32, dim = 8;
  float dx[32 * 8], xp[8], xm[8], zp[3], zm[3];
  assert_int_equal(
      lsp_attack_input_grad(m, x, y, n, LSP_ALOSS_DLR, NULL, 0, dx), 0);
  for (size_t i = 0; i < n; i += 3)
    for (size_t j = 0; j < dim; j++) {
      memcpy(xp, x + i * dim, sizeof xp);
      memcpy(xm, x + i * dim, sizeof xm);
      xp[j] += 1e-3f;
      xm[j] -= 1e-3f;
      double lp, lm;
      assert_int_equal(lsp_model_predict(m, xp, 1, 1, zp, NULL), 0);
      assert_int_equal(lsp_model_predict(m, xm, 1, 1, zm, NULL), 0);
      assert_int_equal(lsp_attack_dlr(zp, 3, y[i], -1, &lp, NULL), 0);
      assert_int_equal(lsp_attack_dlr(zm, 3, y[i], -1, &lm, NULL), 0);
      double fd = (lp - lm) / ((double)xp[j] - (double)xm[j]);
      td_close(dx[i * dim + j], fd, 2e-2, 2e-3, "dlr input grad vs FD",
               i * dim + j);
    }
  free(y);
  lsp_array_release(&xa);
  lsp_array_release(&ya);
  lsp_model_free(m);
}

/* ---- APGD's schedule ------------------------------------------------------
 */

static void test_apgd_checkpoints(void **state) {
  (void)state;
  size_t w[16];
  /* p: 0.22 0.41 0.57 0.70 0.80 0.87 0.93 0.99 (the paper's, ×100 steps) */
  const size_t want100[8] = {22, 41, 57, 70, 80, 87, 93, 99};
  assert_int_equal(lsp_apgd_checkpoints(100, w, 16), 8);
  assert_memory_equal(w, want100, sizeof want100);
  /* ⌈p·10⌉: 3 5 6 7 8 9 10 10 -> the repeated 10 is one checkpoint */
  const size_t want10[7] = {3, 5, 6, 7, 8, 9, 10};
  assert_int_equal(lsp_apgd_checkpoints(10, w, 16), 7);
  assert_memory_equal(w, want10, sizeof want10);
  const size_t want1000[8] = {220, 410, 570, 700, 800, 870, 930, 990};
  assert_int_equal(lsp_apgd_checkpoints(1000, w, 16), 8);
  assert_memory_equal(w, want1000, sizeof want1000);
  assert_int_equal(lsp_apgd_checkpoints(1, w, 16), 1);
  assert_int_equal(w[0], 1);
  /* max bounds the writes, not the count */
  assert_int_equal(lsp_apgd_checkpoints(100, w, 2), 8);
}

static void test_apgd_halving_rule(void **state) {
  (void)state;
  /* condition 1: rises < 0.75·span (22 steps: 16 rises halve, 17 do not) */
  assert_int_equal(lsp_apgd_halve(16, 22, 1, 2.0, 1.0), 1);
  assert_int_equal(lsp_apgd_halve(17, 22, 1, 2.0, 1.0), 0);
  /* 16 steps: 0.75·16 = 12 rises is not fewer than 12 */
  assert_int_equal(lsp_apgd_halve(12, 16, 1, 2.0, 1.0), 0);
  assert_int_equal(lsp_apgd_halve(11, 16, 1, 2.0, 1.0), 1);
  /* condition 2: not halved last time and f_max did not rise */
  assert_int_equal(lsp_apgd_halve(20, 22, 0, 1.0, 1.0), 1);
  assert_int_equal(lsp_apgd_halve(20, 22, 0, 1.5, 1.0), 0);
  assert_int_equal(lsp_apgd_halve(20, 22, 1, 1.0, 1.0), 0);
}

/* ---- Square's schedule ----------------------------------------------------
 */

static void test_square_schedule(void **state) {
  (void)state;
  const size_t it[] = {0,    10,   11,   50,   51,   200,  201,
                       500,  501,  1000, 1001, 2000, 2001, 4000,
                       4001, 6000, 6001, 8000, 8001, 9999};
  const double div[] = {1,  1,  2,  2,  4,   4,   8,   8,   16,  16,
                        32, 32, 64, 64, 128, 128, 256, 256, 512, 512};
  for (size_t i = 0; i < sizeof it / sizeof it[0]; i++)
    td_close(lsp_square_p(it[i], 0.8), 0.8 / div[i], 0, 0, "p schedule", i);
  /* sides on 28×28: round(sqrt(p·784)) */
  assert_int_equal(lsp_square_side(0.8, 28, 28), 25);
  assert_int_equal(lsp_square_side(0.4, 28, 28), 18);
  assert_int_equal(lsp_square_side(0.2, 28, 28), 13);
  assert_int_equal(lsp_square_side(0.8 / 128, 28, 28), 2);
  assert_int_equal(lsp_square_side(0.8 / 512, 28, 28), 1);
  assert_int_equal(lsp_square_side(1e-9, 28, 28), 1); /* at least one pixel */
  assert_int_equal(lsp_square_side(1.0, 3, 5), 3);    /* at most min(H, W) */
}

/* ---- the AutoAttack checks of the masking checklist -----------------------
 */

static void test_checklist_aa(void **state) {
  (void)state;
  lsp_attack_point fp[2] = {{.eps = 0.0, .accuracy = 0.9, .accuracy_raw = 0.9},
                            {.eps = 0.3, .accuracy = 0.3, .accuracy_raw = 0.3}};
  lsp_attack_result fg = {.kind = LSP_ATTACK_FGSM,
                          .n = 100,
                          .hi = 1.0f,
                          .npoints = 2,
                          .points = fp,
                          .clean_accuracy = 0.9};
  lsp_mask_report rep;
  assert_int_equal(lsp_attack_checklist(&fg, NULL, NULL, NULL, &rep), 0);
  assert_int_equal(rep.nchecks, LSP_MASK_NCHECKS);
  assert_string_equal(rep.checks[2].name, "near_zero_at_large_eps");
  assert_int_equal(rep.checks[2].status, LSP_CHECK_FLAG); /* FGSM 0.3 at 0.3 */
  int flags0 = rep.flags;
  /* AutoAttack: Square breaks 0.04 more than APGD; APGD-T 0.02 more than
   * APGD-CE; 0 left at eps 0.3 */
  lsp_attack_point ap[2] = {
      {.eps = 0.0, .accuracy_raw = 0.9, .stage_accuracy = {0.9, 0.9, 0.9}},
      {.eps = 0.3, .accuracy_raw = 0.0, .stage_accuracy = {0.1, 0.08, 0.0}}};
  lsp_attack_result aa = {.kind = LSP_ATTACK_AUTOATTACK,
                          .n = 100,
                          .hi = 1.0f,
                          .npoints = 2,
                          .points = ap};
  lsp_mask_report r2 = rep;
  assert_int_equal(lsp_attack_checklist_aa(&aa, &fg, NULL, &r2), 0);
  assert_int_equal(r2.nchecks, LSP_MASK_NCHECKS + 2);
  assert_string_equal(r2.checks[5].name, "black_box_not_stronger");
  assert_int_equal(r2.checks[5].status, LSP_CHECK_FLAG);
  td_close(r2.checks[5].value, 0.0, 0, 0, "square stage", 0);
  td_close(r2.checks[5].reference, 0.08, 0, 0, "apgd-t stage", 0);
  assert_string_equal(r2.checks[6].name, "apgd_ce_not_weaker");
  assert_int_equal(r2.checks[6].status, LSP_CHECK_PASS); /* 0.02 <= 0.05 */
  /* paired: Square breaks 8 of the 100 that APGD left, APGD-T 2 that
   * APGD-CE left; the later stage never sees the others (c = 0) */
  assert_int_equal(r2.checks[5].paired, 1);
  assert_int_equal(r2.checks[5].b, 8);
  assert_int_equal(r2.checks[5].c, 0);
  td_close(r2.checks[5].p, 1.0 / 256.0, 1e-15, 0, "p of 8 of 8", 0);
  assert_int_equal(r2.checks[6].b, 2);
  assert_int_equal(r2.checks[6].c, 0);
  td_close(r2.checks[6].p, 0.25, 1e-15, 0, "p of 2 of 2", 0);
  /* re-judged with AutoAttack: 0 at eps 0.3 passes */
  assert_int_equal(r2.checks[2].status, LSP_CHECK_PASS);
  assert_non_null(strstr(r2.checks[2].detail, "autoattack"));
  assert_int_equal(r2.flags, flags0 - 1 + 1);
  /* a wide CE/DLR gap flags; no large eps leaves check 3 alone */
  ap[1].eps = 0.1;
  ap[1].stage_accuracy[0] = 0.3;
  ap[1].stage_accuracy[1] = ap[1].stage_accuracy[2] = 0.2;
  r2 = rep;
  assert_int_equal(lsp_attack_checklist_aa(&aa, NULL, NULL, &r2), 0);
  assert_int_equal(r2.checks[5].status, LSP_CHECK_PASS);
  assert_int_equal(r2.checks[6].status, LSP_CHECK_FLAG);
  assert_int_equal(r2.checks[2].status, LSP_CHECK_FLAG);
  /* no room, wrong kind, other data */
  r2.nchecks = LSP_MASK_MAXCHECKS - 1;
  assert_int_equal(lsp_attack_checklist_aa(&aa, NULL, NULL, &r2), LSP_EINVAL);
  r2 = rep;
  assert_int_equal(lsp_attack_checklist_aa(&fg, NULL, NULL, &r2), LSP_EINVAL);
  fg.n = 99;
  assert_int_equal(lsp_attack_checklist_aa(&aa, &fg, NULL, &r2), LSP_EINVAL);
}

int main(void) {
  const struct CMUnitTest unit[] = {
      cmocka_unit_test(test_dlr_closed_form),
      cmocka_unit_test(test_dlr_grad_finite_diff),
      cmocka_unit_test(test_dlr_errors),
      cmocka_unit_test(test_dlr_input_grad_finite_diff),
      cmocka_unit_test(test_apgd_checkpoints),
      cmocka_unit_test(test_apgd_halving_rule),
      cmocka_unit_test(test_square_schedule),
      cmocka_unit_test(test_checklist_aa),
  };
  return cmocka_run_group_tests_name("definitions", unit, NULL, NULL);
}
