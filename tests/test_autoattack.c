/* test_autoattack — APGD, Square and the AutoAttack protocol on models
 * trained here (Croce & Hein 2020; Andriushchenko et al. 2020): every
 * output inside the ε-ball and the bounds and classified as counted,
 * accuracy non-increasing in ε, AutoAttack equal to the worst case of its
 * components, skipping the examples a smaller ε broke leaves the envelope
 * unchanged, Square's query counts and its fast path against the model's
 * own forward pass, identical results for another thread count, and the
 * errors. The pieces from their definitions (DLR, APGD's and Square's
 * schedules, the checklist's AutoAttack checks) are
 * test_autoattack_defs.c; the comparison with the authors' implementation
 * is test_aa_reference.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack.h"
#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/import/lsp_import.h"
#include "testutil.h"

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
  if (td_blobs(t->x, t->y, SN, SK, SD, 777, 0.3, 0.4, 0.3)) return -1;
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

/* Same seed, same numbers; with the batches shared among 2 and 3 threads
 * (OpenBLAS at one; 40-row batches, so each pass has several), the same
 * bits: every point's numbers, the kept inputs and the per-example
 * outcomes; the team ran (passes on several threads) only above one
 * thread. */
static void test_deterministic(void **state) {
  trained *t = *state;
  const double eps[2] = {0.05, 0.15};
  const int threads = lsp_threads_get(), blas0 = lsp_threads_get_blas();
  lsp_threads_set_blas(1);
  float *adv[4];
  uint8_t *cor[4];
  for (int i = 0; i < 4; i++) {
    adv[i] = malloc(SN * SD * sizeof *adv[i]);
    cor[i] = malloc(2 * SN);
    assert_true(adv[i] && cor[i]);
  }
  for (int k = 0; k < 5; k++) {
    lsp_attack_result r[4];
    for (int i = 0; i < 4; i++) { /* 1, 1 again, 2 and 3 threads */
      lsp_attack_opts o;
      quick_opts(&o);
      o.seed = 5;
      o.batch = 40;
      o.adv = adv[i];
      o.adv_point = 1;
      o.correct = cor[i];
      lsp_threads_set(i < 2 ? 1 : i);
      const size_t runs0 = lsp_attack_team_parallel_runs();
      run(t, k_kinds[k], &o, eps, 2, &r[i]);
      const size_t runs = lsp_attack_team_parallel_runs() - runs0;
      if (i < 2)
        assert_int_equal(runs, 0);
      else
        assert_true(runs > 0);
      for (size_t e = 0; e < 2; e++) {
        const lsp_attack_point *p = &r[i].points[e], *q = &r[0].points[e];
        assert_int_equal(p->correct, q->correct);
        assert_memory_equal(&p->accuracy_raw, &q->accuracy_raw, sizeof(double));
        assert_memory_equal(&p->mean_confidence, &q->mean_confidence,
                            sizeof(double));
        assert_memory_equal(&p->zero_grad_share, &q->zero_grad_share,
                            sizeof(double));
        assert_memory_equal(p->stage_accuracy, q->stage_accuracy,
                            sizeof p->stage_accuracy);
        assert_memory_equal(&p->queries_total, &q->queries_total,
                            sizeof(double));
        assert_memory_equal(&p->queries_mean, &q->queries_mean, sizeof(double));
      }
      assert_memory_equal(adv[i], adv[0], SN * SD * sizeof *adv[i]);
      assert_memory_equal(cor[i], cor[0], 2 * SN);
    }
    assert_true(r[0].points[1].accuracy < r[0].clean_accuracy);
    for (int i = 0; i < 4; i++) lsp_attack_result_free(&r[i]);
  }
  for (int i = 0; i < 4; i++) {
    free(adv[i]);
    free(cor[i]);
  }
  lsp_threads_set(threads);
  lsp_threads_set_blas(blas0);
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

int main(void) {
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
  return cmocka_run_group_tests_name("trained", trained_tests, train_setup,
                                     train_teardown);
}
