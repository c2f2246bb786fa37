/* test_autoattack — APGD, Square and the AutoAttack protocol from their
 * papers' definitions (Croce & Hein 2020; Andriushchenko et al. 2020).
 *
 * Independent references: the DLR loss's closed form on hand-made logits
 * and central differences of its value (exact dyadic logits, so the
 * differences carry no rounding), the input gradient through the PyTorch
 * MLP against central differences, APGD's checkpoints and halving rule as
 * the paper states them, Square's schedule of square sizes, the fast
 * Square path against the model's own forward pass; then properties on a
 * model trained here: every output inside the ε-ball and the bounds and
 * classified as counted, accuracy non-increasing in ε, AutoAttack equal to
 * the worst case of its components, identical results for another thread
 * count, and the errors. The comparison with the authors' implementation is
 * test_aa_reference.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack.h"
#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
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

/* ---- a model trained here -------------------------------------------------
 */

#define SN 400
#define SD 25 /* 5×5 "images" */
#define SK 4

typedef struct {
  lsp_model *m;
  lsp_model *cnn; /* starts with a convolution: no fast Square path */
  float x[SN * SD];
  int32_t y[SN];
} trained;

/* Plain mini-batch SGD on the summed CE. */
static int sgd(lsp_model *m, const float *x, const int32_t *y, int epochs,
               float lr) {
  lsp_model_ws *ws = lsp_model_ws_alloc(m, 50);
  float dz[50 * SK];
  lsp_ls ce = {0, LSP_LS_UNIFORM, 0};
  if (!ws) return -1;
  for (int epoch = 0; epoch < epochs; epoch++)
    for (int b = 0; b < SN; b += 50) {
      const float *z;
      if (lsp_model_forward(m, ws, x + b * SD, 50, &z, NULL) ||
          lsp_loss_xent(z, y + b, 50, SK, &ce, dz, 1.0 / 50, NULL, NULL) ||
          lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS, NULL)) {
        lsp_model_ws_free(ws);
        return -1;
      }
      for (size_t p = 0; p < m->nparams; p++) m->params[p] -= lr * m->grads[p];
    }
  lsp_model_ws_free(ws);
  return 0;
}

/* Gaussian blobs clipped to [0, 1]; an MLP 25-32-4 trained with plain
 * mini-batch SGD on the summed CE. */
static int train_setup(void **state) {
  trained *t = calloc(1, sizeof *t);
  if (!t) return -1;
  unsigned s = 777;
#define URAND() \
  ((s = s * 1664525u + 1013904223u), (double)(s >> 8) / 16777216.0)
  double mu[SK][SD];
  for (int k = 0; k < SK; k++)
    for (int d = 0; d < SD; d++) mu[k][d] = 0.3 + 0.4 * URAND();
  for (int i = 0; i < SN; i++) {
    int k = i % SK;
    t->y[i] = k;
    for (int d = 0; d < SD; d++) {
      double g = URAND(); /* one statement each: s changes in every URAND */
      g += URAND();
      g += URAND();
      g -= 1.5;
      double v = mu[k][d] + 0.3 * g;
      t->x[i * SD + d] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
  }
  size_t hidden[1] = {32};
  t->m = lsp_model_alloc_mlp(SD, hidden, 1, SK);
  if (!t->m || lsp_model_init(t->m, 11) || sgd(t->m, t->x, t->y, 40, 0.3f))
    return -1;
  lsp_shape in = {SD, 1, 1};
  if (lsp_model_from_spec("conv(8,1) relu dense(16) relu", in, SK, NULL, 0,
                          &t->cnn) ||
      lsp_model_init(t->cnn, 12) || sgd(t->cnn, t->x, t->y, 60, 0.3f))
    return -1;
  *state = t;
  return 0;
}

static int train_teardown(void **state) {
  trained *t = *state;
  lsp_model_free(t->m);
  lsp_model_free(t->cnn);
  free(t);
  return 0;
}

static const lsp_attack_kind k_kinds[5] = {
    LSP_ATTACK_APGD_CE, LSP_ATTACK_APGD_DLR, LSP_ATTACK_APGD_T,
    LSP_ATTACK_SQUARE, LSP_ATTACK_AUTOATTACK};

/* Quick settings: the tests check definitions, not strength. */
static void quick_opts(lsp_attack_opts *o) {
  lsp_attack_opts_default(o);
  o->apgd_steps = 20;
  o->targets = 3;
  o->queries = 300;
}

static void run_on(lsp_model *m, trained *t, lsp_attack_kind kind,
                   const lsp_attack_opts *base, const double *eps, size_t neps,
                   lsp_attack_result *r) {
  lsp_attack_opts o = *base;
  o.kind = kind;
  int st = lsp_attack_run(m, NULL, t->x, t->y, SN, SD, eps, neps, &o, r);
  if (st)
    print_error("%s failed: %s\n", lsp_attack_kind_name(kind), lsp_errmsg());
  assert_int_equal(st, 0);
}

static void run(trained *t, lsp_attack_kind kind, const lsp_attack_opts *base,
                const double *eps, size_t neps, lsp_attack_result *r) {
  run_on(t->m, t, kind, base, eps, neps, r);
}

static void predict(const lsp_model *m, const float *x, size_t n,
                    int32_t *pred) {
  float *z = malloc(n * m->out_dim * sizeof *z);
  assert_non_null(z);
  assert_int_equal(lsp_model_predict(m, x, n, 0, z, NULL), 0);
  for (size_t i = 0; i < n; i++) {
    size_t b = 0;
    for (size_t k = 1; k < m->out_dim; k++)
      if (z[i * m->out_dim + k] > z[i * m->out_dim + b]) b = k;
    pred[i] = (int32_t)b;
  }
  free(z);
}

/* Every kept input is inside the ε-ball and the bounds, and is classified
 * exactly as the attack counted it: broken examples are misclassified on
 * it, robust ones are correct. On the MLP (fast Square path) and on a
 * network that starts with a convolution (Square through the model). */
static void outputs_valid(trained *t, lsp_model *m) {
  float *adv = malloc(sizeof t->x);
  uint8_t correct[SN];
  int32_t pred[SN];
  lsp_attack_opts o;
  quick_opts(&o);
  o.adv = adv;
  o.correct = correct;
  const double eps[2] = {0.1, 0.25};
  for (int k = 0; k < 5; k++)
    for (size_t e = 0; e < 2; e++) {
      lsp_attack_result r;
      run_on(m, t, k_kinds[k], &o, &eps[e], 1, &r);
      predict(m, adv, SN, pred);
      size_t broken = 0;
      for (size_t i = 0; i < SN; i++) {
        for (size_t j = 0; j < SD; j++) {
          float v = adv[i * SD + j], x = t->x[i * SD + j];
          double d = fabs((double)v - (double)x);
          assert_true(d <= eps[e] * (1.0 + 1e-6) + 6e-8);
          assert_true(v >= 0.0f && v <= 1.0f);
        }
        assert_int_equal(correct[i], pred[i] == t->y[i]);
        broken += !correct[i];
      }
      assert_int_equal(SN - broken, r.points[0].correct);
      assert_true(broken > SN / 10); /* the attack does break something */
      print_message("%-10s eps %.2f accuracy %.4f\n",
                    lsp_attack_kind_name(k_kinds[k]), eps[e],
                    r.points[0].accuracy);
      lsp_attack_result_free(&r);
    }
  free(adv);
}

static void test_outputs_valid(void **state) {
  trained *t = *state;
  outputs_valid(t, t->m);
}

static void test_outputs_valid_cnn(void **state) {
  trained *t = *state;
  lsp_sqfast *f = NULL;
  assert_int_equal(lsp_sqfast_alloc(t->cnn, SD, 8, &f), 0);
  assert_null(f); /* the convolution rules the fast path out */
  outputs_valid(t, t->cnn);
}

/* Accuracy is non-increasing in ε (the envelope by construction, the raw
 * numbers as a property of the attacks); at ε = 0 it is the clean one. */
static void test_monotone_in_eps(void **state) {
  trained *t = *state;
  const double eps[5] = {0.0, 0.05, 0.1, 0.2, 0.4};
  lsp_attack_opts o;
  quick_opts(&o);
  for (int k = 0; k < 5; k++) {
    lsp_attack_result r;
    run(t, k_kinds[k], &o, eps, 5, &r);
    td_close(r.points[0].accuracy, r.clean_accuracy, 0, 0, "eps 0", 0);
    for (size_t e = 1; e < 5; e++) {
      assert_true(r.points[e].accuracy <= r.points[e - 1].accuracy);
      assert_true(r.points[e].accuracy <= r.points[e].accuracy_raw);
      assert_true(r.points[e].accuracy_raw <=
                  r.points[e - 1].accuracy_raw + 0.01);
    }
    assert_true(r.points[4].accuracy < 0.5 * r.clean_accuracy);
    lsp_attack_result_free(&r);
  }
}

/* The protocol is the worst case of its components: its stages draw from
 * the same streams as the components alone and every example's trajectory
 * is its own, so an example survives AutoAttack iff it survives APGD-CE,
 * APGD-T and Square run alone. (Stated to within two examples: a row's
 * GEMM rounding may depend on which rows share its batch.) */
static void test_protocol_is_worst_case(void **state) {
  trained *t = *state;
  const double eps[1] = {0.12};
  lsp_attack_opts o;
  quick_opts(&o);
  uint8_t ok[4][SN];
  lsp_attack_result r[4];
  const lsp_attack_kind kinds[4] = {LSP_ATTACK_APGD_CE, LSP_ATTACK_APGD_T,
                                    LSP_ATTACK_SQUARE, LSP_ATTACK_AUTOATTACK};
  for (int k = 0; k < 4; k++) {
    o.correct = ok[k];
    run(t, kinds[k], &o, eps, 1, &r[k]);
  }
  size_t all = 0, differ = 0;
  for (size_t i = 0; i < SN; i++) {
    int both = ok[0][i] && ok[1][i] && ok[2][i];
    all += both;
    differ += both != ok[3][i];
  }
  const lsp_attack_point *p = &r[3].points[0];
  print_message(
      "apgd-ce %.4f apgd-t %.4f square %.4f autoattack %.4f "
      "(stages %.4f %.4f %.4f), all three %.4f\n",
      r[0].points[0].accuracy, r[1].points[0].accuracy, r[2].points[0].accuracy,
      p->accuracy, p->stage_accuracy[0], p->stage_accuracy[1],
      p->stage_accuracy[2], (double)all / SN);
  assert_true(differ <= 2);
  td_close(p->stage_accuracy[0], r[0].points[0].accuracy_raw, 0, 2.0 / SN,
           "stage apgd-ce", 0);
  td_close(p->stage_accuracy[2], p->accuracy_raw, 0, 0, "last stage", 0);
  assert_true(p->stage_accuracy[1] <= p->stage_accuracy[0]);
  assert_true(p->stage_accuracy[2] <= p->stage_accuracy[1]);
  for (int k = 0; k < 3; k++)
    assert_true(p->accuracy <= r[k].points[0].accuracy + 2.0 / SN);
  for (int k = 0; k < 4; k++) lsp_attack_result_free(&r[k]);
}

/* Same seed, same numbers; another thread count, the same numbers. */
static void test_deterministic(void **state) {
  trained *t = *state;
  const double eps[2] = {0.05, 0.15};
  lsp_attack_opts o;
  quick_opts(&o);
  o.seed = 5;
  int threads = lsp_threads_get();
  for (int k = 0; k < 5; k++) {
    lsp_attack_result a, b, c;
    lsp_threads_set(1);
    run(t, k_kinds[k], &o, eps, 2, &a);
    run(t, k_kinds[k], &o, eps, 2, &b);
    lsp_threads_set(2);
    run(t, k_kinds[k], &o, eps, 2, &c);
    for (size_t e = 0; e < 2; e++) {
      assert_int_equal(a.points[e].correct, b.points[e].correct);
      assert_int_equal(a.points[e].correct, c.points[e].correct);
      td_close(a.points[e].mean_confidence, c.points[e].mean_confidence, 0, 0,
               "confidence, 1 vs 2 threads", e);
      if (k_kinds[k] == LSP_ATTACK_SQUARE)
        td_close(a.points[e].queries_total, c.points[e].queries_total, 0, 0,
                 "queries, 1 vs 2 threads", e);
    }
    lsp_attack_result_free(&a);
    lsp_attack_result_free(&b);
    lsp_attack_result_free(&c);
  }
  lsp_threads_set(threads);
}

/* skip_broken (each ε attacks only the examples no smaller ε broke) gives
 * the full protocol's envelope example by example: the same `correct`
 * rows and accuracies, on the MLP and the CNN, for a grid given out of
 * order; the per-ε-alone numbers count the skipped examples as broken, so
 * they can only be lower; it does less work; and it refuses adv. */
static void skip_same_envelope(trained *t, lsp_model *m) {
  const double eps[5] = {0.2, 0.0, 0.05, 0.3, 0.1};
  lsp_attack_opts o;
  quick_opts(&o);
  uint8_t full[5 * SN], skip[5 * SN];
  for (int k = 0; k < 5; k++) {
    lsp_attack_result a, b;
    o.skip_broken = 0;
    o.correct = full;
    run_on(m, t, k_kinds[k], &o, eps, 5, &a);
    o.skip_broken = 1;
    o.correct = skip;
    run_on(m, t, k_kinds[k], &o, eps, 5, &b);
    assert_memory_equal(full, skip, sizeof full);
    for (size_t e = 0; e < 5; e++) {
      assert_int_equal(a.points[e].correct, b.points[e].correct);
      td_close(a.points[e].accuracy, b.points[e].accuracy, 0, 0, "envelope", e);
      assert_true(b.points[e].accuracy_raw <= a.points[e].accuracy_raw);
      td_close(b.points[e].accuracy_raw, b.points[e].accuracy, 0, 0,
               "skipping: raw = envelope", e);
    }
    assert_true(b.flops < a.flops);
    print_message("%-10s full %.3g flops, skipping %.3g; envelope %.4f %.4f %.4f "
                  "%.4f %.4f\n",
                  lsp_attack_kind_name(k_kinds[k]), a.flops, b.flops,
                  a.points[0].accuracy, a.points[1].accuracy,
                  a.points[2].accuracy, a.points[3].accuracy,
                  a.points[4].accuracy);
    lsp_attack_result_free(&a);
    lsp_attack_result_free(&b);
  }
  float adv[SD];
  o.adv = adv;
  o.correct = NULL;
  lsp_attack_result r;
  assert_int_equal(lsp_attack_run(m, NULL, t->x, t->y, 1, SD, eps, 5, &o, &r),
                   LSP_EINVAL);
}

static void test_skip_broken(void **state) {
  trained *t = *state;
  skip_same_envelope(t, t->m);
  skip_same_envelope(t, t->cnn);
}

/* Square's bookkeeping: the stripes are one query; queries never pass the
 * budget; the settings are reported. */
static void test_square_queries(void **state) {
  trained *t = *state;
  const double eps[1] = {0.2};
  lsp_attack_opts o;
  quick_opts(&o);
  o.queries = 1;
  lsp_attack_result r;
  run(t, LSP_ATTACK_SQUARE, &o, eps, 1, &r);
  td_close(r.points[0].queries_total, (double)r.clean_correct, 0, 0,
           "one query each", 0);
  assert_true(r.points[0].queries_mean == 1.0 ||
              isnan(r.points[0].queries_mean));
  lsp_attack_result_free(&r);
  o.queries = 200;
  run(t, LSP_ATTACK_SQUARE, &o, eps, 1, &r);
  const lsp_attack_point *p = &r.points[0];
  assert_true(p->queries_mean >= 1.0 && p->queries_mean <= 200.0);
  assert_true(p->queries_median >= 1.0 && p->queries_median <= 200.0);
  assert_true(p->queries_total <= 200.0 * (double)r.clean_correct);
  assert_int_equal(r.shape[0], 1);
  assert_int_equal(r.shape[1], 5);
  assert_int_equal(r.shape[2], 5);
  /* a square that would change nothing takes the opposite signs: no query
   * is wasted, so the attack is not weaker (two examples of slack) */
  float *adv = malloc(sizeof t->x);
  o.square_resample = 1;
  o.adv = adv;
  lsp_attack_result rr;
  run(t, LSP_ATTACK_SQUARE, &o, eps, 1, &rr);
  print_message("square %.4f, resampling %.4f\n", r.points[0].accuracy,
                rr.points[0].accuracy);
  assert_true(rr.points[0].accuracy <= r.points[0].accuracy + 2.0 / SN);
  for (size_t i = 0; i < SN * SD; i++)
    assert_true(fabs((double)adv[i] - (double)t->x[i]) <= 0.2 * (1 + 1e-6) + 6e-8);
  free(adv);
  lsp_attack_result_free(&rr);
  lsp_attack_result_free(&r);
}

/* The fast Square path computes the model's logits: after many accepted
 * and rejected pixel changes, its logits equal lsp_model_predict's on the
 * changed inputs to float precision. */
static void test_square_fast_path(void **state) {
  trained *t = *state;
  const size_t nb = 7;
  lsp_sqfast *f = NULL;
  assert_int_equal(lsp_sqfast_alloc(t->m, SD, nb, &f), 0);
  assert_non_null(f);
  float x[7 * SD], cand[7 * SD], want[7 * SK];
  memcpy(x, t->x, sizeof x);
  assert_int_equal(lsp_sqfast_init(f, x, nb), 0);
  unsigned s = 31;
  for (int round = 0; round < 200; round++) {
    memcpy(cand, x, sizeof cand);
    for (size_t a = 0; a < nb; a++) {
      lsp_sqfast_begin(f, a);
      for (int c = 0; c < 3; c++) {
        s = s * 1664525u + 1013904223u;
        size_t j = (s >> 8) % SD;
        float v = (float)((s >> 16) & 255) / 255.0f;
        double d = (double)v - (double)cand[a * SD + j];
        cand[a * SD + j] = v;
        lsp_sqfast_add(f, a, j, d);
      }
    }
    const float *z = NULL;
    assert_int_equal(lsp_sqfast_logits(f, nb, &z), 0);
    assert_int_equal(lsp_model_predict(t->m, cand, nb, 0, want, NULL), 0);
    for (size_t i = 0; i < nb * SK; i++)
      td_close(z[i], want[i], 1e-5, 1e-5, "fast logits", i);
    for (size_t a = 0; a < nb; a++)
      if ((round + (int)a) % 2) { /* accept every other candidate */
        lsp_sqfast_accept(f, a);
        memcpy(x + a * SD, cand + a * SD, SD * sizeof *x);
      }
  }
  lsp_sqfast_free(f);
}

static void test_errors(void **state) {
  trained *t = *state;
  const double eps[1] = {0.1};
  lsp_attack_opts o;
  quick_opts(&o);
  lsp_attack_result r;
  o.kind = LSP_ATTACK_AUTOATTACK;
#define EXPECT(code, text)                                                     \
  do {                                                                         \
    assert_int_equal(                                                          \
        lsp_attack_run(t->m, NULL, t->x, t->y, SN, SD, eps, 1, &o, &r), code); \
    assert_non_null(strstr(lsp_errmsg(), text));                               \
    assert_null(r.points);                                                     \
  } while (0)
  o.target = 1;
  EXPECT(LSP_EINVAL, "picks its own targets");
  o.target = LSP_TARGET_NONE;
  o.queries = 0;
  EXPECT(LSP_EINVAL, "queries");
  o.queries = 10;
  o.p_init = 1.5;
  EXPECT(LSP_EINVAL, "p_init");
  o.p_init = 0.0;
  EXPECT(LSP_EINVAL, "p_init");
  o.p_init = 0.8;
  o.apgd_steps = 0;
  EXPECT(LSP_EINVAL, "APGD steps");
  o.apgd_steps = 5;
  o.targets = 0;
  EXPECT(LSP_EINVAL, "target");
  o.targets = 3;
  o.shape[0] = 1;
  o.shape[1] = 4;
  o.shape[2] = 4;
  EXPECT(LSP_EINVAL, "does not hold 25 features");
  memset(o.shape, 0, sizeof o.shape);
  o.restarts = 0;
  EXPECT(LSP_EINVAL, "restarts");
  o.restarts = 1;
  /* white-box only: the model itself as the scorer is fine */
  assert_int_equal(
      lsp_attack_run(t->m, t->m, t->x, t->y, SN, SD, eps, 1, &o, &r), 0);
  lsp_attack_result_free(&r);
  lsp_model *copy = NULL;
  size_t hidden[1] = {32};
  copy = lsp_model_alloc_mlp(SD, hidden, 1, SK);
  assert_non_null(copy);
  assert_int_equal(
      lsp_attack_run(t->m, copy, t->x, t->y, SN, SD, eps, 1, &o, &r),
      LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "white-box only"));
  lsp_model_free(copy);
  /* too few classes for the targeted DLR loss */
  lsp_model *k3 = lsp_model_alloc_mlp(SD, hidden, 1, 3);
  assert_non_null(k3);
  int32_t y3[SN];
  for (size_t i = 0; i < SN; i++) y3[i] = t->y[i] % 3;
  assert_int_equal(lsp_attack_run(k3, NULL, t->x, y3, SN, SD, eps, 1, &o, &r),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "at least 4 classes"));
  o.kind = LSP_ATTACK_APGD_DLR; /* 3 classes are enough for DLR */
  assert_int_equal(lsp_attack_run(k3, NULL, t->x, y3, SN, SD, eps, 1, &o, &r),
                   0);
  lsp_attack_result_free(&r);
  lsp_model_free(k3);
  lsp_attack_kind kind;
  assert_int_equal(lsp_attack_kind_parse("autoattack", &kind), 0);
  assert_int_equal(kind, LSP_ATTACK_AUTOATTACK);
  assert_int_equal(lsp_attack_kind_parse("apgd", &kind), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "apgd-t"));
#undef EXPECT
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
                          .points = fp};
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
  const struct CMUnitTest trained_tests[] = {
      cmocka_unit_test(test_outputs_valid),
      cmocka_unit_test(test_outputs_valid_cnn),
      cmocka_unit_test(test_monotone_in_eps),
      cmocka_unit_test(test_protocol_is_worst_case),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_skip_broken),
      cmocka_unit_test(test_square_queries),
      cmocka_unit_test(test_square_fast_path),
      cmocka_unit_test(test_errors),
  };
  (void)cmocka_run_group_tests_name("definitions", unit, NULL, NULL);
  /* the last group's status covers both (testutil.h) */
  return cmocka_run_group_tests_name("trained", trained_tests, train_setup,
                                     train_teardown);
}
