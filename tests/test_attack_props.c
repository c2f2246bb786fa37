/* test_attack_props — properties of FGSM/BIM/PGD on a model trained here
 * (a separable synthetic problem): ε = 0 gives the clean accuracy (computed
 * independently with lsp_model_predict), PGD/BIM ≤ FGSM, the envelope is
 * non-increasing in ε, inputs stay in the ε-ball and the bounds, restarts
 * and early exit never weaken the attack, targeted attacks beat chance,
 * same seed = same result, transfer from an identical copy equals the
 * white-box attack, zero_grad_share counts only inputs still classified
 * correctly, and FGSM's, BIM's and PGD's batches shared among
 * threads give the same bits as one thread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack.h"
#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "testutil.h"

/* ---- a model trained here ---------------------------------------------------
 */

#define SN 600
#define SD 20
#define SK 4

typedef struct {
  lsp_model *m;
  float x[SN * SD];
  int32_t y[SN];
} trained;

/* Gaussian blobs clipped to [0, 1], class means drawn in [0.25, 0.75]; an
 * MLP 20-32-4 trained with plain mini-batch SGD on the summed CE. */
static int train_setup(void **state) {
  trained *t = calloc(1, sizeof *t);
  if (!t) return -1;
  if (td_blobs(t->x, t->y, SN, SK, SD, 12345, 0.25, 0.5, 0.25)) return -1;
  size_t hidden[1] = {32};
  t->m = lsp_model_alloc_mlp(SD, hidden, 1, SK);
  if (!t->m) return -1;
  assert_int_equal(lsp_model_init(t->m, 7), LSP_OK);
  lsp_model_ws *ws = lsp_model_ws_alloc(t->m, 50);
  float dz[50 * SK];
  lsp_ls ce = {0, LSP_LS_UNIFORM, 0};
  for (int epoch = 0; epoch < 60; epoch++)
    for (int b = 0; b < SN; b += 50) {
      const float *z;
      if (lsp_model_forward(t->m, ws, t->x + b * SD, 50, &z, NULL)) return -1;
      if (lsp_loss_xent(z, t->y + b, 50, SK, &ce, dz, 1.0 / 50, NULL, NULL))
        return -1;
      if (lsp_model_backward(t->m, ws, dz, LSP_BACK_PARAMS, NULL)) return -1;
      for (size_t p = 0; p < t->m->nparams; p++)
        t->m->params[p] -= 0.5f * t->m->grads[p];
    }
  lsp_model_ws_free(ws);
  *state = t;
  return 0;
}

static int train_teardown(void **state) {
  trained *t = *state;
  lsp_model_free(t->m);
  free(t);
  return 0;
}

static double clean_accuracy(const lsp_model *m, const float *x,
                             const int32_t *y, size_t n) {
  float *z = malloc(n * m->out_dim * sizeof *z);
  assert_int_equal(lsp_model_predict(m, x, n, 0, z, NULL), 0);
  size_t ok = 0;
  for (size_t i = 0; i < n; i++) {
    size_t b = 0;
    for (size_t k = 1; k < m->out_dim; k++)
      if (z[i * m->out_dim + k] > z[i * m->out_dim + b]) b = k;
    ok += (int32_t)b == y[i];
  }
  free(z);
  return (double)ok / (double)n;
}

static const double k_eps[5] = {0.0, 0.02, 0.05, 0.1, 0.2};

static void run(trained *t, lsp_attack_kind kind, const lsp_attack_opts *base,
                lsp_attack_result *r) {
  lsp_attack_opts o = *base;
  o.kind = kind;
  int st = lsp_attack_run(t->m, NULL, t->x, t->y, SN, SD, k_eps, 5, &o, r);
  if (st) print_error("attack failed: %s\n", lsp_errmsg());
  assert_int_equal(st, 0);
}

static void test_trained_eps0_and_pgd_le_fgsm(void **state) {
  trained *t = *state;
  double acc = clean_accuracy(t->m, t->x, t->y, SN);
  assert_true(acc > 0.9); /* the problem is learnable: the setup worked */
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  lsp_attack_result f, p, b;
  run(t, LSP_ATTACK_FGSM, &o, &f);
  run(t, LSP_ATTACK_PGD, &o, &p);
  run(t, LSP_ATTACK_BIM, &o, &b);
  td_close(f.points[0].accuracy, acc, 0, 0, "fgsm eps 0", 0);
  td_close(p.points[0].accuracy, acc, 0, 0, "pgd eps 0", 0);
  td_close(f.clean_accuracy, acc, 0, 0, "clean", 0);
  for (size_t e = 0; e < 5; e++) {
    assert_true(p.points[e].accuracy_raw <= f.points[e].accuracy);
    assert_true(b.points[e].accuracy_raw <= f.points[e].accuracy);
    /* the envelope can only lower the raw number */
    assert_true(p.points[e].accuracy <= p.points[e].accuracy_raw);
    if (e > 0) {
      assert_true(p.points[e].accuracy <= p.points[e - 1].accuracy);
      assert_true(b.points[e].accuracy <= b.points[e - 1].accuracy);
    }
  }
  for (size_t e = 0; e < 5; e++)
    print_message("eps %g fgsm %.4f bim %.4f pgd %.4f raw %.4f z %.4f\n",
                  k_eps[e], f.points[e].accuracy, b.points[e].accuracy,
                  p.points[e].accuracy, p.points[e].accuracy_raw,
                  f.points[e].zero_grad_share);
  /* the attack does something at the largest eps */
  assert_true(p.points[4].accuracy < acc - 0.2);
  lsp_attack_result_free(&f);
  lsp_attack_result_free(&p);
  lsp_attack_result_free(&b);
}

static void test_trained_ball_and_bounds(void **state) {
  trained *t = *state;
  float *adv = malloc(sizeof t->x);
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  o.adv = adv;
  o.restarts = 2;
  lsp_attack_kind kinds[3] = {LSP_ATTACK_FGSM, LSP_ATTACK_BIM, LSP_ATTACK_PGD};
  for (int k = 0; k < 3; k++)
    for (size_t e = 1; e < 5; e++) {
      o.adv_point = e;
      lsp_attack_result r;
      run(t, kinds[k], &o, &r);
      size_t moved = 0;
      for (size_t i = 0; i < SN * SD; i++) {
        /* |x' − x| ≤ ε up to the rounding of x ± ε in float */
        double d = fabs((double)adv[i] - (double)t->x[i]);
        assert_true(d <= k_eps[e] * (1.0 + 1e-6) + 6e-8);
        assert_true(adv[i] >= 0.0f && adv[i] <= 1.0f);
        moved += d > 0.0;
      }
      assert_true(moved > SN * SD / 2); /* the attack did perturb the inputs */
      lsp_attack_result_free(&r);
    }
  free(adv);
}

static void test_trained_restarts_and_determinism(void **state) {
  trained *t = *state;
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  o.seed = 99;
  float *a1 = malloc(sizeof t->x), *a2 = malloc(sizeof t->x);
  lsp_attack_result r1, r3, r3b, rs;
  run(t, LSP_ATTACK_PGD, &o, &r1);
  o.restarts = 3;
  o.adv = a1;
  o.adv_point = 2;
  run(t, LSP_ATTACK_PGD, &o, &r3);
  o.adv = a2;
  run(t, LSP_ATTACK_PGD, &o, &r3b);
  /* restart 0 of R = 3 is the R = 1 run: more restarts never help the model */
  for (size_t e = 0; e < 5; e++) {
    assert_true(r3.points[e].accuracy_raw <= r1.points[e].accuracy_raw);
    assert_true(r3.points[e].accuracy == r3b.points[e].accuracy);
    assert_true(r3.points[e].mean_confidence == r3b.points[e].mean_confidence);
  }
  assert_memory_equal(a1, a2, sizeof t->x);
  /* the batch size does not change the random starts */
  o.batch = 37;
  run(t, LSP_ATTACK_PGD, &o, &rs);
  for (size_t i = 0; i < SN * SD; i++)
    assert_true(fabsf(a1[i] - a2[i]) == 0.0f);
  /* another seed gives other starts */
  o.seed = 100;
  o.batch = 0;
  lsp_attack_result_free(&rs);
  run(t, LSP_ATTACK_PGD, &o, &rs);
  assert_memory_not_equal(a1, a2, sizeof t->x);
  lsp_attack_result_free(&r1);
  lsp_attack_result_free(&r3);
  lsp_attack_result_free(&r3b);
  lsp_attack_result_free(&rs);
  free(a1);
  free(a2);
}

/* Early exit judges every iterate, the full loop the last one: the same
 * trajectories, so early exit is never weaker, and it does less work. */
static void test_trained_early_exit(void **state) {
  trained *t = *state;
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  o.restarts = 2;
  lsp_attack_result early, full;
  run(t, LSP_ATTACK_PGD, &o, &early);
  o.full_steps = 1;
  run(t, LSP_ATTACK_PGD, &o, &full);
  for (size_t e = 0; e < 5; e++)
    assert_true(early.points[e].accuracy_raw <= full.points[e].accuracy_raw);
  assert_true(early.flops < 0.8 * full.flops);
  lsp_attack_result_free(&early);
  lsp_attack_result_free(&full);
}

static void test_trained_targeted(void **state) {
  trained *t = *state;
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  lsp_attack_result ll, cls;
  o.target = LSP_TARGET_LEAST_LIKELY;
  run(t, LSP_ATTACK_FGSM, &o, &ll);
  o.target = 2;
  run(t, LSP_ATTACK_PGD, &o, &cls);
  /* at eps 0.2 the target is reached far more often than chance (1/K) and
   * than on clean inputs */
  assert_true(ll.points[4].target_rate > 1.0 / SK);
  assert_true(ll.points[4].target_rate > ll.clean_target_rate + 0.1);
  assert_true(cls.points[4].target_rate > 1.0 / SK);
  assert_true(cls.points[4].target_rate > cls.clean_target_rate + 0.1);
  assert_true(isnan(ll.points[0].target_rate) == 0);
  lsp_attack_result_free(&ll);
  lsp_attack_result_free(&cls);
}

static void test_trained_transfer_identity(void **state) {
  trained *t = *state;
  /* a transfer attack from an identical copy equals the white-box attack */
  size_t hidden[1] = {32};
  lsp_model *copy = lsp_model_alloc_mlp(SD, hidden, 1, SK);
  memcpy(copy->params, t->m->params, t->m->nparams * sizeof(float));
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  lsp_attack_kind kinds[2] = {LSP_ATTACK_FGSM, LSP_ATTACK_PGD};
  for (int k = 0; k < 2; k++) {
    o.kind = kinds[k];
    lsp_attack_result wb, tr;
    assert_int_equal(
        lsp_attack_run(t->m, NULL, t->x, t->y, SN, SD, k_eps, 5, &o, &wb), 0);
    assert_int_equal(
        lsp_attack_run(copy, t->m, t->x, t->y, SN, SD, k_eps, 5, &o, &tr), 0);
    assert_int_equal(tr.transfer, 1);
    for (size_t e = 0; e < 5; e++)
      assert_true(wb.points[e].accuracy == tr.points[e].accuracy);
    lsp_attack_result_free(&wb);
    lsp_attack_result_free(&tr);
  }
  /* from a differently initialized, untrained model it is much weaker */
  assert_int_equal(lsp_model_init(copy, 3), LSP_OK);
  o.kind = LSP_ATTACK_FGSM;
  lsp_attack_result wb, tr;
  assert_int_equal(
      lsp_attack_run(t->m, NULL, t->x, t->y, SN, SD, k_eps, 5, &o, &wb), 0);
  assert_int_equal(
      lsp_attack_run(copy, t->m, t->x, t->y, SN, SD, k_eps, 5, &o, &tr), 0);
  assert_true(tr.points[4].accuracy > wb.points[4].accuracy);
  lsp_attack_result_free(&wb);
  lsp_attack_result_free(&tr);
  lsp_model_free(copy);
}

/* Progress as a caller sees it: passes finished never go back, and the
 * last report says the whole run is done. */
typedef struct {
  size_t last, total, calls, backwards;
} progress_log;

static void log_progress(const lsp_attack_progress *p, void *user) {
  progress_log *l = user;
  if (p->done < l->last) l->backwards++;
  l->last = p->done, l->total = p->total, l->calls++;
}

/* FGSM, BIM and PGD (two restarts; targeted too) with their batches on a
 * team of threads (OpenBLAS at one) against the serial sweep: the same
 * accuracies, zero-gradient shares, adversarial inputs and per-example
 * outcomes, bit for bit, white-box and transfer; the team ran (a pass on
 * several threads) only when threads > 1; progress ends at the total. */
static void threads_case(trained *t, lsp_model *other, lsp_attack_kind kind,
                         int target, int transfer) {
  float *adv[3];
  uint8_t *cor[3];
  lsp_attack_result r[3];
  const size_t R = kind == LSP_ATTACK_FGSM ? 1 : 2;
  for (int i = 0; i < 3; i++) {
    lsp_attack_opts o;
    lsp_attack_opts_default(&o);
    o.kind = kind;
    o.target = target;
    o.restarts = R;
    o.batch = 45; /* 14 batches, the last short */
    o.adv = adv[i] = malloc(sizeof t->x);
    o.adv_point = 3;
    o.correct = cor[i] = malloc(SN * 5);
    progress_log pl = {0, 0, 0, 0};
    o.progress = log_progress, o.user = &pl;
    lsp_threads_set(i + 1); /* 1, 2 and 3 threads */
    const size_t runs0 = lsp_attack_team_parallel_runs();
    int st = lsp_attack_run(transfer ? other : t->m, transfer ? t->m : NULL,
                            t->x, t->y, SN, SD, k_eps, 5, &o, &r[i]);
    if (st) print_error("attack failed: %s\n", lsp_errmsg());
    assert_int_equal(st, 0);
    assert_int_equal(pl.backwards, 0);
    /* one report a batch when serial; a team's thread 0 reports what has
     * finished when it ends a batch, and a pass in which it ended none
     * (the other threads took every batch, as a busy machine allows)
     * still reports once: at least one report for each team pass — FGSM's
     * gradients' and one a positive ε (ε = 0 reuses the clean outcomes),
     * BIM's and PGD's one a positive ε and restart */
    unsigned passes = kind == LSP_ATTACK_FGSM;
    for (size_t e = 0; e < 5; e++) passes += (unsigned)R * (k_eps[e] > 0.0);
    const size_t runs = lsp_attack_team_parallel_runs() - runs0;
    if (i == 0) {
      assert_true(pl.calls >= 14u);
      assert_int_equal(runs, 0);
    } else {
      assert_true(pl.calls >= passes);
      assert_int_equal(runs, passes);
    }
    assert_int_equal(pl.last, pl.total);
    for (size_t e = 0; e < 5; e++) {
      assert_true(r[i].points[e].accuracy == r[0].points[e].accuracy);
      assert_true(r[i].points[e].accuracy_raw == r[0].points[e].accuracy_raw);
      assert_true(r[i].points[e].mean_confidence ==
                  r[0].points[e].mean_confidence);
      assert_memory_equal(&r[i].points[e].zero_grad_share,
                          &r[0].points[e].zero_grad_share, sizeof(double));
    }
    assert_memory_equal(adv[i], adv[0], sizeof t->x);
    assert_memory_equal(cor[i], cor[0], SN * 5);
  }
  if (target == LSP_TARGET_NONE)
    assert_true(r[0].points[4].accuracy < r[0].points[0].accuracy);
  for (int i = 0; i < 3; i++) {
    lsp_attack_result_free(&r[i]);
    free(adv[i]);
    free(cor[i]);
  }
}

/* zero_grad_share counts only gradients at inputs still classified
 * correctly. Every tenth row is relabelled with the class the model ranks
 * third, where the DLR loss is flat (its numerator equals its denominator)
 * and the input gradient exactly 0: those rows are misclassified from the
 * start, so FGSM and BIM on all rows must give the share they give on the
 * clean-correct rows alone, and a trained MLP's DLR gradients at correct
 * inputs have no zero components. (Counting every row gave at least 60/600
 * zero rows: a share above 0.09.) */
static void test_trained_zero_grad_correct_only(void **state) {
  trained *t = *state;
  static float z[SN * SK], xs[SN * SD];
  static int32_t y[SN], ys[SN];
  assert_int_equal(lsp_model_predict(t->m, t->x, SN, 0, z, NULL), 0);
  size_t ns = 0, relabelled = 0;
  for (size_t i = 0; i < SN; i++) {
    const float *r = z + i * SK;
    int rank[SK] = {0, 1, 2, 3};
    for (int a = 0; a < SK; a++) /* classes by decreasing logit */
      for (int b = a + 1; b < SK; b++)
        if (r[rank[b]] > r[rank[a]]) {
          int tmp = rank[a];
          rank[a] = rank[b], rank[b] = tmp;
        }
    y[i] = i % 10 == 0 ? rank[2] : t->y[i];
    relabelled += i % 10 == 0;
    if (rank[0] == y[i]) {
      memcpy(xs + ns * SD, t->x + i * SD, SD * sizeof *xs);
      ys[ns++] = y[i];
    }
  }
  assert_true(relabelled == 60 && ns <= SN - 60 && ns > SN / 2);
  const lsp_attack_kind kinds[2] = {LSP_ATTACK_FGSM, LSP_ATTACK_BIM};
  for (int k = 0; k < 2; k++) {
    lsp_attack_opts o;
    lsp_attack_opts_default(&o);
    o.kind = kinds[k];
    o.loss = LSP_ALOSS_DLR;
    lsp_attack_result all, ok;
    assert_int_equal(lsp_attack_run(t->m, NULL, t->x, y, SN, SD, k_eps, 5, &o, &all), 0);
    assert_int_equal(lsp_attack_run(t->m, NULL, xs, ys, ns, SD, k_eps, 5, &o, &ok), 0);
    for (size_t e = 1; e < 5; e++) {
      print_message("%s eps %g zero_grad_share all %.6f correct %.6f\n",
                    k ? "bim" : "fgsm", k_eps[e], all.points[e].zero_grad_share,
                    ok.points[e].zero_grad_share);
      assert_true(all.points[e].zero_grad_share == ok.points[e].zero_grad_share);
      assert_true(all.points[e].zero_grad_share < 0.01);
    }
    lsp_attack_result_free(&all);
    lsp_attack_result_free(&ok);
  }
}

static void test_trained_threads(void **state) {
  trained *t = *state;
  size_t hidden[1] = {32};
  lsp_model *other = lsp_model_alloc_mlp(SD, hidden, 1, SK);
  assert_non_null(other);
  assert_int_equal(lsp_model_init(other, 5), LSP_OK);
  const int blas0 = lsp_threads_get_blas(), thr0 = lsp_threads_get();
  lsp_threads_set_blas(1);
  const lsp_attack_kind kinds[3] = {LSP_ATTACK_FGSM, LSP_ATTACK_BIM,
                                    LSP_ATTACK_PGD};
  for (int transfer = 0; transfer < 2; transfer++)
    for (int k = 0; k < 3; k++)
      threads_case(t, other, kinds[k], LSP_TARGET_NONE, transfer);
  threads_case(t, other, LSP_ATTACK_PGD, LSP_TARGET_LEAST_LIKELY, 0);
  lsp_threads_set(thr0);
  lsp_threads_set_blas(blas0);
  lsp_model_free(other);
}

int main(void) {
  const struct CMUnitTest props[] = {
      cmocka_unit_test(test_trained_eps0_and_pgd_le_fgsm),
      cmocka_unit_test(test_trained_ball_and_bounds),
      cmocka_unit_test(test_trained_restarts_and_determinism),
      cmocka_unit_test(test_trained_early_exit),
      cmocka_unit_test(test_trained_targeted),
      cmocka_unit_test(test_trained_transfer_identity),
      cmocka_unit_test(test_trained_threads),
      cmocka_unit_test(test_trained_zero_grad_correct_only),
  };
  return cmocka_run_group_tests_name("attacks_trained", props, train_setup,
                                     train_teardown);
}
