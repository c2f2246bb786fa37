/* test_attacks — FGSM/BIM/PGD, transfer and the gradient-masking checklist.
 *
 * Independent references: PyTorch dumps of torch_mlp_tiny (input gradients,
 * the FGSM input at ε = 0.1, clean and FGSM accuracies), central finite
 * differences for the margin loss, a closed form for a saturated softmax,
 * and hand-made sweep results for the checklist. Properties on a trained
 * model are in test_attack_props.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "testutil.h"

#define TINY "torch_mlp_tiny/"

/* ---- the PyTorch model, built from its state_dict dump ------------------- */

static void load_into(const char *name, float *dst, size_t count) {
  char rel[128];
  snprintf(rel, sizeof rel, TINY "%s", name);
  td_load_into(rel, dst, count);
}

static lsp_model *tiny_model(void) {
  size_t hidden[2] = {16, 16};
  lsp_model *m = lsp_model_alloc_mlp(8, hidden, 2, 3);
  assert_non_null(m);
  const char *names[3] = {"0", "2", "4"};
  for (int l = 0; l < 3; l++) {
    float *W, *B;
    size_t nw, nb;
    assert_int_equal(lsp_model_tensor(m, 2 * (size_t)l, "weight", &W, NULL, &nw), 0);
    assert_int_equal(lsp_model_tensor(m, 2 * (size_t)l, "bias", &B, NULL, &nb), 0);
    char w[32], b[32];
    snprintf(w, sizeof w, "%s.weight.npy", names[l]);
    snprintf(b, sizeof b, "%s.bias.npy", names[l]);
    load_into(w, W, nw);
    load_into(b, B, nb);
  }
  return m;
}

typedef struct {
  lsp_model *m;
  float *x;   /* 32×8 */
  int32_t *y; /* 32 */
  size_t n, dim;
} tiny_case;

static tiny_case tiny_load(void) {
  tiny_case t = {tiny_model(), NULL, NULL, 32, 8};
  lsp_array xa, ya;
  td_load(TINY "x.npy", &xa);
  td_load(TINY "labels.npy", &ya);
  assert_int_equal(xa.count, t.n * t.dim);
  t.x = malloc(xa.count * sizeof *t.x);
  assert_non_null(t.x);
  memcpy(t.x, xa.data, xa.count * sizeof *t.x);
  assert_int_equal(lsp_array_labels(&ya, "labels.npy", 3, &t.y), 0);
  lsp_array_release(&xa);
  lsp_array_release(&ya);
  return t;
}

static void tiny_free(tiny_case *t) {
  lsp_model_free(t->m);
  free(t->x);
  free(t->y);
}

/* ---- against PyTorch --------------------------------------------------------
 */

static void test_input_grad_ce_matches_torch(void **state) {
  (void)state;
  tiny_case t = tiny_load();
  float dx[32 * 8];
  /* batch 5: uneven batches must not matter */
  assert_int_equal(
      lsp_attack_input_grad(t.m, t.x, t.y, t.n, LSP_ALOSS_CE, NULL, 5, dx), 0);
  lsp_array g;
  td_load(TINY "grad_ce_x.npy", &g);
  const float *want = g.data;
  for (size_t i = 0; i < t.n * t.dim; i++)
    td_close(dx[i], want[i], 1e-5, 0.0, "grad_ce_x", i);
  lsp_array_release(&g);
  tiny_free(&t);
}

static void test_input_grad_smoothed_matches_torch(void **state) {
  (void)state;
  tiny_case t = tiny_load();
  float dx[32 * 8];
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  assert_int_equal(
      lsp_attack_input_grad(t.m, t.x, t.y, t.n, LSP_ALOSS_SMOOTHED, &ls, 0, dx),
      0);
  lsp_array g;
  td_load(TINY "grad_ls0.1_x.npy", &g); /* gradient of the MEAN: ours / N */
  const float *want = g.data;
  for (size_t i = 0; i < t.n * t.dim; i++)
    td_close(dx[i] / 32.0, want[i], 1e-5, 1e-9, "grad_ls0.1_x", i);
  lsp_array_release(&g);
  tiny_free(&t);
}

static void test_fgsm_input_bitwise_torch(void **state) {
  (void)state;
  tiny_case t = tiny_load();
  float dx[32 * 8], adv[32 * 8];
  assert_int_equal(
      lsp_attack_input_grad(t.m, t.x, t.y, t.n, LSP_ALOSS_CE, NULL, 0, dx), 0);
  lsp_fgsm_apply(t.x, dx, t.n * t.dim, 0.1, 1, 0.0f, 1.0f, adv);
  lsp_array f;
  td_load(TINY "fgsm_eps0.1_x.npy", &f);
  assert_memory_equal(adv, f.data, sizeof adv);
  /* and the inputs the sweep itself builds */
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  o.adv = adv;
  o.adv_point = 1;
  memset(adv, 0, sizeof adv);
  double eps[2] = {0.0, 0.1};
  lsp_attack_result r;
  assert_int_equal(
      lsp_attack_run(t.m, NULL, t.x, t.y, t.n, t.dim, eps, 2, &o, &r), 0);
  assert_memory_equal(adv, f.data, sizeof adv);
  lsp_attack_result_free(&r);
  lsp_array_release(&f);
  tiny_free(&t);
}

static void test_fgsm_sweep_accuracies_torch(void **state) {
  (void)state;
  tiny_case t = tiny_load();
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  double eps[3] = {0.1, 0.0, 0.1};
  for (size_t batch = 3; batch <= 64; batch *= 4) {
    o.batch = batch;
    lsp_attack_result r;
    assert_int_equal(
        lsp_attack_run(t.m, NULL, t.x, t.y, t.n, t.dim, eps, 3, &o, &r), 0);
    assert_int_equal(r.npoints, 3);
    td_close(r.clean_accuracy, 0.53125, 0, 0, "acc_clean", batch);
    td_close(r.points[1].accuracy, 0.53125, 0, 0, "acc eps 0", batch);
    td_close(r.points[0].accuracy, 0.28125, 0, 0, "acc_fgsm_eps0.1", batch);
    td_close(r.points[2].accuracy, 0.28125, 0, 0, "acc_fgsm_eps0.1 again",
             batch);
    /* min |grad| in the dump is 2e-4: no exactly-zero component */
    td_close(r.points[0].zero_grad_share, 0.0, 0, 0, "zero share", batch);
    assert_true(r.points[0].success_rate > 0.0 &&
                r.points[0].success_rate <= 1.0);
    assert_true(r.points[1].success_rate == 0.0);
    lsp_attack_result_free(&r);
  }
  tiny_free(&t);
}

/* A saturated example (p_y = 1 in float): the gradient must keep the
 * 1e-11-sized terms, against the closed form dx = Σ_{j≠y} p_j (W_j − W_y). */
static void test_ce_grad_saturated(void **state) {
  (void)state;
  lsp_model *m = lsp_model_alloc_mlp(2, NULL, 0, 3);
  assert_non_null(m);
  const float w[6] = {20, 10, 0, 0, 2, 3};
  memcpy(m->params, w, sizeof w); /* the weight, then the bias (zero) */
  const float x[2] = {1, 1}; /* z = (30, 0, 5) */
  const int32_t y[1] = {0};
  float dx[2];
  assert_int_equal(lsp_attack_input_grad(m, x, y, 1, LSP_ALOSS_CE, NULL, 0, dx),
                   0);
  double s = 1.0 + exp(-30.0) + exp(-25.0), p1 = exp(-30.0) / s,
         p2 = exp(-25.0) / s;
  td_close(dx[0], p1 * -20.0 + p2 * -18.0, 1e-6, 0, "saturated dx", 0);
  td_close(dx[1], p1 * -10.0 + p2 * -7.0, 1e-6, 0, "saturated dx", 1);
  lsp_model_free(m);
}

/* Deeper saturation: the p_j (e^-110 and e^-250) underflow float32, yet in
 * double dx = Σ_{j≠y} p_j (W_j − W_y) ≈ p_2·(−300, 80) has the signs
 * (−, +). FGSM and a one-step BIM must take that direction, not stand
 * still on a gradient flushed to zero. */
static void test_sign_step_deeply_saturated(void **state) {
  (void)state;
  lsp_model *m = lsp_model_alloc_mlp(2, NULL, 0, 3);
  assert_non_null(m);
  const float w[6] = {300, 200, 0, 0, 0, 280};
  memcpy(m->params, w, sizeof w);
  const float x[2] = {0.5f, 0.5f}; /* z = (250, 0, 140) */
  const int32_t y[1] = {0};
  double p1 = exp(-250.0), p2 = exp(-110.0);
  double g0 = p1 * -300.0 + p2 * -300.0, g1 = p1 * -200.0 + p2 * 80.0;
  assert_true(g0 < 0.0 && g1 > 0.0 && (float)p2 == 0.0f);
  const float want[2] = {x[0] - 0.1f, x[1] + 0.1f};
  const lsp_attack_kind kinds[2] = {LSP_ATTACK_FGSM, LSP_ATTACK_BIM};
  for (int k = 0; k < 2; k++) {
    lsp_attack_opts o;
    lsp_attack_opts_default(&o);
    o.kind = kinds[k];
    o.steps = 1;
    o.step_size = 0.1;
    float adv[2];
    o.adv = adv;
    double eps[1] = {0.1};
    lsp_attack_result r;
    assert_int_equal(lsp_attack_run(m, NULL, x, y, 1, 2, eps, 1, &o, &r), 0);
    td_close(adv[0], want[0], 0, 0, "saturated sign step", 2 * k);
    td_close(adv[1], want[1], 0, 0, "saturated sign step", 2 * k + 1);
    td_close(r.points[0].zero_grad_share, 0.0, 0, 0, "no zero component", k);
    lsp_attack_result_free(&r);
  }
  lsp_model_free(m);
}

/* --loss smoothed without a given smoothing takes the model's own. */
static void test_smoothed_uses_model_meta(void **state) {
  (void)state;
  tiny_case t = tiny_load();
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  o.loss = LSP_ALOSS_SMOOTHED;
  o.smoothing_given = 1;
  o.smoothing.eps = 0.9; /* far from the meta's, to make a mix-up visible */
  float a1[32 * 8], a2[32 * 8], want[32 * 8];
  double eps[1] = {0.3};
  lsp_attack_result r;
  o.adv = a1;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, eps, 1, &o, &r),
                   0);
  lsp_attack_result_free(&r);
  t.m->meta.trained = 1;
  t.m->meta.smoothing = (lsp_ls){0.1, LSP_LS_UNIFORM, 0};
  o.smoothing_given = 0;
  o.adv = a2;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, eps, 1, &o, &r),
                   0);
  td_close(r.smoothing.eps, 0.1, 0, 0, "smoothing taken from meta", 0);
  lsp_attack_result_free(&r);
  /* PyTorch's smoothed-loss gradient gives the same FGSM inputs */
  lsp_array g;
  td_load(TINY "grad_ls0.1_x.npy", &g);
  lsp_fgsm_apply(t.x, g.data, 32 * 8, 0.3, 1, 0.0f, 1.0f, want);
  lsp_array_release(&g);
  assert_memory_equal(a2, want, sizeof want);
  assert_memory_not_equal(a1, a2, sizeof a1);
  tiny_free(&t);
}

/* The margin loss gradient against central differences of the logits. */
static void test_margin_grad_finite_diff(void **state) {
  (void)state;
  tiny_case t = tiny_load();
  float dx[32 * 8], xp[8], xm[8], zp[3], zm[3];
  assert_int_equal(
      lsp_attack_input_grad(t.m, t.x, t.y, t.n, LSP_ALOSS_MARGIN, NULL, 0, dx),
      0);
  const float h = 1e-3f;
  for (size_t i = 0; i < t.n; i += 3) {
    for (size_t j = 0; j < t.dim; j++) {
      memcpy(xp, t.x + i * 8, sizeof xp);
      memcpy(xm, t.x + i * 8, sizeof xm);
      xp[j] += h;
      xm[j] -= h;
      assert_int_equal(lsp_model_predict(t.m, xp, 1, 1, zp, NULL), 0);
      assert_int_equal(lsp_model_predict(t.m, xm, 1, 1, zm, NULL), 0);
      double lp = -INFINITY, lm = -INFINITY;
      int y = t.y[i];
      for (int k = 0; k < 3; k++)
        if (k != y) {
          lp = fmax(lp, zp[k]);
          lm = fmax(lm, zm[k]);
        }
      lp -= zp[y];
      lm -= zm[y];
      double fd = (lp - lm) / (2.0 * (double)(xp[j] - t.x[i * 8 + j]));
      td_close(dx[i * 8 + j], fd, 2e-2, 2e-3, "margin grad vs FD", i * 8 + j);
    }
  }
  tiny_free(&t);
}

/* ---- the checklist on hand-made results -----------------------------------
 */

static lsp_attack_point pts[3][4];
static void mk(lsp_attack_result *r, lsp_attack_kind kind, int which,
               const double *acc, double zshare) {
  memset(r, 0, sizeof *r);
  r->kind = kind;
  r->n = 100;
  r->lo = 0.0f;
  r->hi = 1.0f;
  r->npoints = 4;
  r->points = pts[which];
  r->clean_accuracy = acc[0];
  const double eps[4] = {0.0, 0.1, 0.2, 0.3};
  for (int i = 0; i < 4; i++) {
    pts[which][i].eps = eps[i];
    pts[which][i].accuracy = pts[which][i].accuracy_raw = acc[i];
    pts[which][i].zero_grad_share = zshare;
  }
}

static void test_checklist(void **state) {
  (void)state;
  lsp_attack_result f, p, tr;
  lsp_mask_report rep;
  /* a healthy model: everything passes */
  mk(&f, LSP_ATTACK_FGSM, 0, (double[]){0.9, 0.5, 0.3, 0.2}, 0.0);
  mk(&p, LSP_ATTACK_PGD, 1, (double[]){0.9, 0.3, 0.05, 0.0}, 0.0);
  mk(&tr, LSP_ATTACK_FGSM, 2, (double[]){0.9, 0.7, 0.5, 0.4}, 0.0);
  tr.transfer = 1;
  assert_int_equal(lsp_attack_checklist(&f, &p, &tr, NULL, &rep), 0);
  assert_int_equal(rep.flags, 0);
  for (int i = 0; i < LSP_MASK_NCHECKS; i++)
    assert_int_equal(rep.checks[i].status, LSP_CHECK_PASS);
  /* masked: PGD worse than FGSM at 0.2, FGSM rises at 0.3, PGD stuck at
   * 0.4, transfer stronger, half the gradient exactly zero */
  mk(&f, LSP_ATTACK_FGSM, 0, (double[]){0.9, 0.5, 0.3, 0.45}, 0.5);
  mk(&p, LSP_ATTACK_PGD, 1, (double[]){0.9, 0.45, 0.4, 0.4}, 0.0);
  mk(&tr, LSP_ATTACK_FGSM, 2, (double[]){0.9, 0.2, 0.1, 0.1}, 0.0);
  tr.transfer = 1;
  assert_int_equal(lsp_attack_checklist(&f, &p, &tr, NULL, &rep), 0);
  assert_int_equal(rep.flags, 5);
  assert_string_equal(rep.checks[0].name, "pgd_le_fgsm");
  td_close(rep.checks[0].eps, 0.2, 0, 0, "pgd>fgsm eps", 0);
  td_close(rep.checks[0].value, 0.4, 0, 0, "pgd>fgsm value", 0);
  td_close(rep.checks[1].value, 0.15, 1e-12, 0, "rise", 0);
  td_close(rep.checks[2].value, 0.4, 0, 0, "acc at large eps", 0);
  td_close(rep.checks[3].value, 0.1, 0, 0, "transfer acc", 0);
  td_close(rep.checks[4].value, 0.5, 0, 0, "zero share", 0);
  /* without PGD, transfer, or a large eps: skipped, not passed */
  mk(&f, LSP_ATTACK_FGSM, 0, (double[]){0.9, 0.5, 0.3, 0.2}, 0.0);
  pts[0][3].eps = 0.25;
  assert_int_equal(lsp_attack_checklist(&f, NULL, NULL, NULL, &rep), 0);
  assert_int_equal(rep.checks[0].status, LSP_CHECK_SKIP);
  assert_int_equal(rep.checks[2].status, LSP_CHECK_SKIP);
  assert_int_equal(rep.checks[3].status, LSP_CHECK_SKIP);
  /* misuse */
  assert_int_equal(lsp_attack_checklist(NULL, NULL, NULL, NULL, &rep),
                   LSP_EINVAL);
  assert_int_equal(lsp_attack_checklist(&p, NULL, NULL, NULL, &rep),
                   LSP_EINVAL);
  p.n = 7;
  assert_int_equal(lsp_attack_checklist(&f, &p, NULL, NULL, &rep), LSP_EINVAL);
  /* JSON is balanced */
  FILE *fp = tmpfile();
  lsp_json j;
  lsp_json_init(&j, fp, 0);
  lsp_attack_checklist_json(&j, &rep);
  assert_int_equal(lsp_json_finish(&j), 0);
  fclose(fp);
}

/* ---- errors -------------------------------------------------------------- */

static void test_errors(void **state) {
  (void)state;
  tiny_case t = tiny_load();
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  lsp_attack_result r;
  double ok[1] = {0.1}, neg[1] = {-0.1}, nan_[1] = {NAN};
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, neg, 1, &o, &r),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "eps"));
  assert_null(r.points);
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, nan_, 1, &o, &r),
                   LSP_EINVAL);
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 0, &o, &r),
                   LSP_EINVAL);
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, 0, 8, ok, 1, &o, &r),
                   LSP_EDATA);
  /* model does not fit the data */
  assert_int_equal(
      lsp_attack_run(t.m, NULL, t.x, t.y, t.n / 2, 16, ok, 1, &o, &r),
      LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "8 inputs"));
  t.y[3] = 3;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "example 3"));
  t.y[3] = 0;
  float keep = t.x[17];
  t.x[17] = 1.5f;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "input 2, feature 1"));
  t.x[17] = keep;
  /* DLR taken on a target's label is identically 1 whenever the target
   * ranks third, −(z_t − z_π1)/(z_π1 − z_t): refused with a target */
  o.loss = LSP_ALOSS_DLR;
  o.target = 1;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "apgd-t"));
  o.target = LSP_TARGET_NONE;
  o.loss = LSP_ALOSS_CE;
  o.kind = LSP_ATTACK_PGD;
  o.steps = 0;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EINVAL);
  o.steps = 10;
  o.restarts = 0;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EINVAL);
  o.restarts = 1;
  o.step_size = -1;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EINVAL);
  lsp_attack_opts_default(&o);
  o.target = 3;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EINVAL);
  lsp_attack_opts_default(&o);
  o.lo = 1.0f;
  o.hi = 0.0f;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EINVAL);
  lsp_attack_opts_default(&o);
  o.loss = LSP_ALOSS_SMOOTHED; /* an imported model records no smoothing */
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "smoothing"));
  o.smoothing_given = 1;
  o.smoothing.eps = 1.5;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EINVAL);
  o.smoothing.eps = 0.1;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   0);
  lsp_attack_result_free(&r);
  lsp_attack_result_free(&r); /* idempotent */
  lsp_attack_result_free(NULL);
  lsp_attack_opts_default(&o);
  o.adv = t.x;
  o.adv_point = 1;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EINVAL);
  /* transfer between models of different shapes */
  size_t hidden[1] = {4};
  lsp_model *other = lsp_model_alloc_mlp(8, hidden, 1, 5);
  lsp_attack_opts_default(&o);
  assert_int_equal(lsp_attack_run(other, t.m, t.x, t.y, t.n, 8, ok, 1, &o, &r),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "transfer"));
  lsp_model_free(other);
  /* names */
  lsp_attack_kind k;
  lsp_attack_loss l;
  assert_int_equal(lsp_attack_kind_parse("pgd", &k), 0);
  assert_int_equal(k, LSP_ATTACK_PGD);
  assert_int_equal(lsp_attack_kind_parse("cw", &k), LSP_EINVAL);
  assert_int_equal(lsp_attack_loss_parse("margin", &l), 0);
  assert_int_equal(l, LSP_ALOSS_MARGIN);
  assert_int_equal(lsp_attack_loss_parse("hinge", &l), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "hinge"));
  assert_int_equal(lsp_attack_input_grad(t.m, t.x, t.y, t.n, LSP_ALOSS_SMOOTHED,
                                         NULL, 0, t.x),
                   LSP_EINVAL);
  tiny_free(&t);
}

/* ---- progress and interruption (last: the SIGINT flag stays set) -------- */

typedef struct {
  size_t calls, last_done, total;
  int monotone;
} prog;

static void on_progress(const lsp_attack_progress *p, void *user) {
  prog *g = user;
  if (p->done < g->last_done) g->monotone = 0;
  g->calls++;
  g->last_done = p->done;
  g->total = p->total;
}

static void test_progress_and_interrupt(void **state) {
  (void)state;
  tiny_case t = tiny_load();
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  prog g = {0, 0, 0, 1};
  o.progress = on_progress;
  o.user = &g;
  o.batch = 8;
  o.kind = LSP_ATTACK_PGD;
  o.steps = 3;
  o.restarts = 2;
  double eps[3] = {0.0, 0.05, 0.1};
  lsp_attack_result r;
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, eps, 3, &o, &r),
                   0);
  assert_true(g.monotone);
  /* clean pass + 2 eps × 2 restarts × 32 rows × (3 steps + 1 scoring) */
  assert_int_equal(g.total, 32 + 2 * 2 * 32 * 4);
  assert_int_equal(g.last_done, g.total);
  assert_int_equal(g.calls, 4 + 2 * 2 * 4);
  lsp_attack_result_free(&r);
  lsp_interrupt_request();
  assert_int_equal(lsp_attack_run(t.m, NULL, t.x, t.y, t.n, 8, eps, 3, &o, &r),
                   LSP_EINTR);
  assert_null(r.points);
  lsp_interrupt_clear();
  tiny_free(&t);
}

int main(void) {
  const struct CMUnitTest torch[] = {
      cmocka_unit_test(test_input_grad_ce_matches_torch),
      cmocka_unit_test(test_input_grad_smoothed_matches_torch),
      cmocka_unit_test(test_fgsm_input_bitwise_torch),
      cmocka_unit_test(test_fgsm_sweep_accuracies_torch),
      cmocka_unit_test(test_ce_grad_saturated),
      cmocka_unit_test(test_sign_step_deeply_saturated),
      cmocka_unit_test(test_smoothed_uses_model_meta),
      cmocka_unit_test(test_margin_grad_finite_diff),
      cmocka_unit_test(test_checklist),
      cmocka_unit_test(test_errors),
  };
  const struct CMUnitTest last[] = {
      cmocka_unit_test(test_progress_and_interrupt),
  };
  /* each group's status covers every group run so far (testutil.h) */
  cmocka_run_group_tests_name("attacks_torch", torch, NULL, NULL);
  return cmocka_run_group_tests_name("attacks_interrupt", last, NULL, NULL);
}
