/* The CNN layer kernels against PyTorch (tests/data/torch_cnn_tiny): the
 * small network below composed by hand from the kernels, in eval and
 * training mode, on the whole batch and cut into shares (BatchNorm through
 * its phases), matching logits, features, every gradient, the running
 * statistics after one training forward and the FGSM input to 1e-5.
 *
 *   x 16×1×12×12 → stem Conv(1→6, 3×3, pad 1) → ReLU → MaxPool 2
 *   → BasicBlock [Conv(6→6, 3×3, pad 1, no bias) BN ReLU Conv BN, + skip] ReLU
 *   → down Conv(6→8, 3×3, stride 2, pad 1) → BN → ReLU → AvgPool(1)
 *   → global average pool → Flatten → fc1 Linear(8,16) → ReLU (features)
 *   → fc2 Linear(16,4) → logits */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/formats/lsp_jsonr.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/layers/lsp_bn.h"
#include "core/nn/layers/lsp_conv.h"
#include "core/nn/layers/lsp_dense.h"
#include "core/nn/layers/lsp_eltwise.h"
#include "core/nn/layers/lsp_pool.h"
#include "testutil.h"

#define TINY "torch_cnn_tiny/"
#define N 16
#define K 4

/* ---- parameters (PyTorch state_dict names) ------------------------------- */

enum {
  STEM_W, STEM_B, C1_W, BN1_W, BN1_B, BN1_RM, BN1_RV, C2_W, BN2_W, BN2_B,
  BN2_RM, BN2_RV, DOWN_W, DOWN_B, BN_W, BN_B, BN_RM, BN_RV, FC1_W, FC1_B,
  FC2_W, FC2_B, NPARAM
};
static const struct {
  const char *name;
  size_t count;
  int trained; /* has a gradient (running statistics do not) */
} PARAM[NPARAM] = {
    {"stem.weight", 6 * 1 * 9, 1},        {"stem.bias", 6, 1},
    {"block.conv1.weight", 6 * 6 * 9, 1}, {"block.bn1.weight", 6, 1},
    {"block.bn1.bias", 6, 1},             {"block.bn1.running_mean", 6, 0},
    {"block.bn1.running_var", 6, 0},      {"block.conv2.weight", 6 * 6 * 9, 1},
    {"block.bn2.weight", 6, 1},           {"block.bn2.bias", 6, 1},
    {"block.bn2.running_mean", 6, 0},     {"block.bn2.running_var", 6, 0},
    {"down.weight", 8 * 6 * 9, 1},        {"down.bias", 8, 1},
    {"bn.weight", 8, 1},                  {"bn.bias", 8, 1},
    {"bn.running_mean", 8, 0},            {"bn.running_var", 8, 0},
    {"fc1.weight", 16 * 8, 1},            {"fc1.bias", 16, 1},
    {"fc2.weight", 4 * 16, 1},            {"fc2.bias", 4, 1},
};

/* ---- the network's geometry and buffers ---------------------------------- */

static lsp_conv2d_geom g_stem = {.c_in = 1, .h_in = 12, .w_in = 12, .c_out = 6,
                                 .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1};
static lsp_conv2d_geom g_blk = {.c_in = 6, .h_in = 6, .w_in = 6, .c_out = 6,
                                .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1};
static lsp_conv2d_geom g_down = {.c_in = 6, .h_in = 6, .w_in = 6, .c_out = 8,
                                 .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ph = 1, .pw = 1};
static lsp_pool2d_geom g_max = {.c = 6, .h_in = 12, .w_in = 12, .kh = 2, .kw = 2,
                                .sh = 2, .sw = 2};
static lsp_pool2d_geom g_avg = {.c = 8, .h_in = 3, .w_in = 3, .kh = 1, .kw = 1,
                                .sh = 1, .sw = 1, .count_include_pad = 1};
static lsp_bn2d_geom g_bn6 = {.c = 6, .hw = 36, .eps = 1e-5, .momentum = 0.1};
static lsp_bn2d_geom g_bn8 = {.c = 8, .hw = 9, .eps = 1e-5, .momentum = 0.1};

/* per-sample sizes of every activation */
enum { SX = 144, SA1 = 6 * 144, SP1 = 6 * 36, SD = 8 * 9, SG = 8, SF = 16 };

typedef struct {
  float *p[NPARAM], *g[NPARAM]; /* parameters and their gradients */
  /* activations (forward) */
  float a1[N * SA1], r1[N * SA1], p1[N * SP1], c1[N * SP1], b1[N * SP1],
      r2[N * SP1], c2[N * SP1], b2[N * SP1], r3[N * SP1], d[N * SD],
      b3[N * SD], r4[N * SD], ap[N * SD], gp[N * SG], f1[N * SF], feat[N * SF],
      z[N * K];
  /* gradients of the activations (backward) */
  float dz[N * K], dfeat[N * SF], df1[N * SF], dgp[N * SG], dap[N * SD],
      dr4[N * SD], db3[N * SD], dd[N * SD], dr3[N * SP1], ds[N * SP1],
      dc2[N * SP1], dr2[N * SP1], db1[N * SP1], dc1[N * SP1], dp1[N * SP1],
      dr1[N * SA1], da1[N * SA1], dx[N * SX];
  double stat1[12], stat2[12], stat3[16]; /* BN training statistics */
  const float *x_in;                      /* input of the last forward */
  float *ws;                              /* conv workspace          */
  float tmp[6 * 6 * 9 * 8];               /* a share's parameter grad */
} net;

/* shares of the batch: [cut[s], cut[s+1]) */
typedef struct {
  size_t n;
  size_t cut[N + 1];
} shares;

static void load_params(net *t) {
  for (int i = 0; i < NPARAM; i++) {
    char rel[128];
    snprintf(rel, sizeof rel, TINY "%s.npy", PARAM[i].name);
    lsp_array a;
    td_load(rel, &a);
    assert_int_equal(a.dtype, LSP_DT_F32);
    assert_int_equal(a.count, PARAM[i].count);
    t->p[i] = malloc(a.count * sizeof(float));
    t->g[i] = calloc(a.count, sizeof(float));
    assert_non_null(t->p[i]);
    assert_non_null(t->g[i]);
    memcpy(t->p[i], a.data, a.count * sizeof(float));
    lsp_array_release(&a);
  }
}

static net *net_new(void) {
  net *t = calloc(1, sizeof *t);
  assert_non_null(t);
  load_params(t);
  assert_int_equal(lsp_conv2d_geom_check(&g_stem), 0);
  assert_int_equal(lsp_conv2d_geom_check(&g_blk), 0);
  assert_int_equal(lsp_conv2d_geom_check(&g_down), 0);
  assert_int_equal(lsp_pool2d_geom_check(&g_max), 0);
  assert_int_equal(lsp_pool2d_geom_check(&g_avg), 0);
  assert_int_equal(lsp_bn2d_geom_check(&g_bn6), 0);
  assert_int_equal(lsp_bn2d_geom_check(&g_bn8), 0);
  assert_int_equal(g_max.h_out, 6);
  assert_int_equal(g_down.h_out, 3);
  size_t ws = lsp_conv2d_ws_size(&g_stem, N);
  if (lsp_conv2d_ws_size(&g_blk, N) > ws) ws = lsp_conv2d_ws_size(&g_blk, N);
  if (lsp_conv2d_ws_size(&g_down, N) > ws) ws = lsp_conv2d_ws_size(&g_down, N);
  t->ws = malloc(ws * sizeof(float));
  assert_non_null(t->ws);
  return t;
}

static void net_free(net *t) {
  for (int i = 0; i < NPARAM; i++) {
    free(t->p[i]);
    free(t->g[i]);
  }
  free(t->ws);
  free(t);
}

/* BN forward over all shares: eval, or training through the three phases. */
static void bn_forward(const lsp_bn2d_geom *g, const float *x, size_t stride,
                       const shares *sh, int train, float *const *p, int pw,
                       double *stat, float *y) {
  const float *gam = p[pw], *bet = p[pw + 1];
  float *rm = p[pw + 2], *rv = p[pw + 3];
  if (!train) {
    lsp_bn2d_forward_eval(g, x, sh->cut[sh->n], gam, bet, rm, rv, y);
    return;
  }
  if (sh->n == 1) { /* the single-call version */
    assert_int_equal(lsp_bn2d_forward_train(g, x, N, gam, bet, rm, rv, y, stat), 0);
    return;
  }
  double parts[N * 16];
  size_t counts[N];
  for (size_t s = 0; s < sh->n; s++) {
    counts[s] = sh->cut[s + 1] - sh->cut[s];
    lsp_bn2d_train_stats(g, x + sh->cut[s] * stride, counts[s], parts + 2 * g->c * s);
  }
  assert_int_equal(lsp_bn2d_train_combine(g, parts, counts, sh->n, stat, rm, rv), 0);
  for (size_t s = 0; s < sh->n; s++)
    lsp_bn2d_train_apply(g, x + sh->cut[s] * stride, counts[s], stat, gam, bet,
                         y + sh->cut[s] * stride);
}

static void bn_backward(const lsp_bn2d_geom *g, const float *x, const float *dy,
                        size_t stride, const shares *sh, int train,
                        float *const *p, float *const *grad, int pw,
                        const double *stat, float *dx) {
  const float *gam = p[pw];
  if (!train) {
    lsp_bn2d_backward_eval(g, x, dy, N, gam, p[pw + 2], p[pw + 3], dx,
                           grad[pw], grad[pw + 1]);
    return;
  }
  double sums[16];
  if (sh->n == 1) {
    lsp_bn2d_backward_train(g, x, dy, N, stat, gam, dx, grad[pw], grad[pw + 1], sums);
    return;
  }
  double parts[N * 16];
  for (size_t s = 0; s < sh->n; s++)
    lsp_bn2d_bwd_sums(g, x + sh->cut[s] * stride, dy + sh->cut[s] * stride,
                      sh->cut[s + 1] - sh->cut[s], stat, parts + 2 * g->c * s);
  lsp_bn2d_bwd_combine(g, parts, sh->n, sums);
  for (size_t c = 0; c < g->c; c++) {
    grad[pw + 1][c] = (float)sums[c];
    grad[pw][c] = (float)sums[g->c + c];
  }
  for (size_t s = 0; s < sh->n; s++)
    lsp_bn2d_bwd_apply(g, x + sh->cut[s] * stride, dy + sh->cut[s] * stride,
                       sh->cut[s + 1] - sh->cut[s], stat, gam, sums, N,
                       dx + sh->cut[s] * stride);
}

/* Run `stmt` once per share with i0 (first sample) and ns (samples) set. */
#define PER_SHARE(sh, stmt)                                  \
  for (size_t s_ = 0; s_ < (sh)->n; s_++) {                  \
    const size_t i0 = (sh)->cut[s_];                         \
    const size_t ns = (sh)->cut[s_ + 1] - (sh)->cut[s_];     \
    stmt;                                                    \
  }

static void forward(net *t, const float *x, const shares *sh, int train) {
  float **p = t->p;
  t->x_in = x;
  PER_SHARE(sh, {
    lsp_conv2d_forward(&g_stem, x + i0 * SX, ns, p[STEM_W], p[STEM_B], t->a1 + i0 * SA1, t->ws);
    lsp_relu_forward(t->a1 + i0 * SA1, t->r1 + i0 * SA1, ns * SA1);
    lsp_maxpool2d_forward(&g_max, t->r1 + i0 * SA1, ns, t->p1 + i0 * SP1);
    lsp_conv2d_forward(&g_blk, t->p1 + i0 * SP1, ns, p[C1_W], NULL, t->c1 + i0 * SP1, t->ws);
  });
  bn_forward(&g_bn6, t->c1, SP1, sh, train, p, BN1_W, t->stat1, t->b1);
  PER_SHARE(sh, {
    lsp_relu_forward(t->b1 + i0 * SP1, t->r2 + i0 * SP1, ns * SP1);
    lsp_conv2d_forward(&g_blk, t->r2 + i0 * SP1, ns, p[C2_W], NULL, t->c2 + i0 * SP1, t->ws);
  });
  bn_forward(&g_bn6, t->c2, SP1, sh, train, p, BN2_W, t->stat2, t->b2);
  PER_SHARE(sh, {
    lsp_add_forward(t->p1 + i0 * SP1, t->b2 + i0 * SP1, t->r3 + i0 * SP1, ns * SP1);
    lsp_relu_forward(t->r3 + i0 * SP1, t->r3 + i0 * SP1, ns * SP1); /* in place */
    lsp_conv2d_forward(&g_down, t->r3 + i0 * SP1, ns, p[DOWN_W], p[DOWN_B], t->d + i0 * SD, t->ws);
  });
  bn_forward(&g_bn8, t->d, SD, sh, train, p, BN_W, t->stat3, t->b3);
  PER_SHARE(sh, {
    lsp_relu_forward(t->b3 + i0 * SD, t->r4 + i0 * SD, ns * SD);
    lsp_avgpool2d_forward(&g_avg, t->r4 + i0 * SD, ns, t->ap + i0 * SD);
    lsp_gap_forward(t->ap + i0 * SD, ns, 8, 9, t->gp + i0 * SG);
    /* Flatten: n×8×1×1 is n×8 already */
    lsp_dense_forward(t->gp + i0 * SG, ns, 8, 16, p[FC1_W], p[FC1_B], t->f1 + i0 * SF);
    lsp_relu_forward(t->f1 + i0 * SF, t->feat + i0 * SF, ns * SF);
    lsp_dense_forward(t->feat + i0 * SF, ns, 16, K, p[FC2_W], p[FC2_B], t->z + i0 * K);
  });
}

/* A share's parameter gradient lands in t->tmp; the batch's is their sum. */
static void add_grad(net *t, int which, size_t s) {
  if (s == 0)
    memcpy(t->g[which], t->tmp, PARAM[which].count * sizeof(float));
  else
    lsp_acc(t->g[which], t->tmp, PARAM[which].count);
}

static void backward(net *t, const shares *sh, int train) {
  float **p = t->p, **g = t->g;
  float tmpb[16];
  PER_SHARE(sh, {
    lsp_dense_backward(t->feat + i0 * SF, t->dz + i0 * K, ns, 16, K, p[FC2_W],
                       t->dfeat + i0 * SF, t->tmp, tmpb);
    add_grad(t, FC2_W, s_);
    memcpy(t->tmp, tmpb, sizeof tmpb);
    add_grad(t, FC2_B, s_);
    lsp_relu_backward(t->feat + i0 * SF, t->dfeat + i0 * SF, t->df1 + i0 * SF, ns * SF);
    lsp_dense_backward(t->gp + i0 * SG, t->df1 + i0 * SF, ns, 8, 16, p[FC1_W],
                       t->dgp + i0 * SG, t->tmp, tmpb);
    add_grad(t, FC1_W, s_);
    memcpy(t->tmp, tmpb, sizeof tmpb);
    add_grad(t, FC1_B, s_);
    lsp_gap_backward(t->dgp + i0 * SG, ns, 8, 9, t->dap + i0 * SD);
    lsp_avgpool2d_backward(&g_avg, t->dap + i0 * SD, ns, t->dr4 + i0 * SD);
    lsp_relu_backward(t->r4 + i0 * SD, t->dr4 + i0 * SD, t->db3 + i0 * SD, ns * SD);
  });
  bn_backward(&g_bn8, t->d, t->db3, SD, sh, train, p, g, BN_W, t->stat3, t->dd);
  PER_SHARE(sh, {
    lsp_conv2d_backward(&g_down, t->r3 + i0 * SP1, t->dd + i0 * SD, ns, p[DOWN_W],
                        t->dr3 + i0 * SP1, t->tmp, tmpb, t->ws);
    add_grad(t, DOWN_W, s_);
    memcpy(t->tmp, tmpb, 8 * sizeof(float));
    add_grad(t, DOWN_B, s_);
    lsp_relu_backward(t->r3 + i0 * SP1, t->dr3 + i0 * SP1, t->ds + i0 * SP1, ns * SP1);
  });
  /* Add: ds goes unchanged to the skip (p1) and to bn2's output */
  bn_backward(&g_bn6, t->c2, t->ds, SP1, sh, train, p, g, BN2_W, t->stat2, t->dc2);
  PER_SHARE(sh, {
    lsp_conv2d_backward(&g_blk, t->r2 + i0 * SP1, t->dc2 + i0 * SP1, ns, p[C2_W],
                        t->dr2 + i0 * SP1, t->tmp, NULL, t->ws);
    add_grad(t, C2_W, s_);
    lsp_relu_backward(t->r2 + i0 * SP1, t->dr2 + i0 * SP1, t->db1 + i0 * SP1, ns * SP1);
  });
  bn_backward(&g_bn6, t->c1, t->db1, SP1, sh, train, p, g, BN1_W, t->stat1, t->dc1);
  PER_SHARE(sh, {
    lsp_conv2d_backward(&g_blk, t->p1 + i0 * SP1, t->dc1 + i0 * SP1, ns, p[C1_W],
                        t->dp1 + i0 * SP1, t->tmp, NULL, t->ws);
    add_grad(t, C1_W, s_);
    lsp_acc(t->dp1 + i0 * SP1, t->ds + i0 * SP1, ns * SP1); /* the skip edge */
    lsp_maxpool2d_backward(&g_max, t->r1 + i0 * SA1, t->dp1 + i0 * SP1, ns, t->dr1 + i0 * SA1);
    lsp_relu_backward(t->r1 + i0 * SA1, t->dr1 + i0 * SA1, t->da1 + i0 * SA1, ns * SA1);
    lsp_conv2d_backward(&g_stem, NULL, t->da1 + i0 * SA1, ns, p[STEM_W],
                        t->dx + i0 * SX, NULL, NULL, t->ws);
    lsp_conv2d_backward(&g_stem, t->x_in + i0 * SX, t->da1 + i0 * SA1, ns, p[STEM_W],
                        NULL, t->tmp, tmpb, t->ws);
    add_grad(t, STEM_W, s_);
    memcpy(t->tmp, tmpb, 6 * sizeof(float));
    add_grad(t, STEM_B, s_);
  });
}

/* ---- checks ---------------------------------------------------------------- */

/* Every element within 1e-5 of PyTorch's: |got − want| <= 1e-5·max(1, |want|). */
static void check_array(const float *got, const char *name, size_t count) {
  char rel[256];
  snprintf(rel, sizeof rel, TINY "%s.npy", name);
  lsp_array a;
  td_load(rel, &a);
  assert_int_equal(a.dtype, LSP_DT_F32);
  assert_int_equal(a.count, count);
  const float *want = a.data;
  for (size_t i = 0; i < count; i++)
    td_close(got[i], want[i], 1e-5, 1e-5, name, i);
  lsp_array_release(&a);
}

static double case_num(const char *key) {
  lsp_jsonr_doc *d = NULL;
  assert_int_equal(lsp_jsonr_read_file(td_path(TINY "case.json"), &d), 0);
  double v = NAN;
  assert_int_equal(lsp_jsonr_need_num(d, lsp_jsonr_root(d), "", key, 0, &v), 0);
  lsp_jsonr_free(d);
  return v;
}

typedef struct {
  net *t;
  lsp_array x, y;
  int32_t *labels;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->t = net_new();
  td_load(TINY "x.npy", &f->x);
  td_load(TINY "labels.npy", &f->y);
  assert_int_equal(f->x.count, N * SX);
  assert_int_equal(lsp_array_labels(&f->y, "labels", K, &f->labels), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  net_free(f->t);
  lsp_array_release(&f->x);
  lsp_array_release(&f->y);
  free(f->labels);
  free(f);
  return 0;
}

static const shares WHOLE = {1, {0, N}};
static const shares THREE = {3, {0, 6, 11, N}}; /* uneven on purpose */
static const shares SINGLE = {16, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};

/* Forward, loss and backward in one mode; compare with the dumps. */
static void run_mode(fixture *f, const shares *sh, int train) {
  net *t = f->t;
  /* fresh running statistics: every run starts from the state_dict */
  for (int i = 0; i < NPARAM; i++) {
    char rel[128];
    snprintf(rel, sizeof rel, TINY "%s.npy", PARAM[i].name);
    lsp_array a;
    td_load(rel, &a);
    memcpy(t->p[i], a.data, a.count * sizeof(float));
    lsp_array_release(&a);
  }
  forward(t, f->x.data, sh, train);
  const char *mode = train ? "train" : "eval";
  char name[160];
  snprintf(name, sizeof name, "logits_%s", mode);
  check_array(t->z, name, N * K);
  if (!train) check_array(t->feat, "features", N * SF);
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  double loss;
  assert_int_equal(lsp_loss_xent(t->z, f->labels, N, K, &ls, t->dz, 1.0 / N, NULL, &loss), 0);
  snprintf(name, sizeof name, "loss_ls0.1_%s", mode);
  td_close(loss, case_num(name), 1e-5, 0, name, 0);
  backward(t, sh, train);
  snprintf(name, sizeof name, "grad_ls0.1_x_%s", mode);
  check_array(t->dx, name, N * SX);
  for (int i = 0; i < NPARAM; i++) {
    if (!PARAM[i].trained) continue;
    snprintf(name, sizeof name, "grad_ls0.1_%s_%s", mode, PARAM[i].name);
    check_array(t->g[i], name, PARAM[i].count);
  }
  if (train) {
    const int rs[6] = {BN1_RM, BN1_RV, BN2_RM, BN2_RV, BN_RM, BN_RV};
    for (int i = 0; i < 6; i++) {
      snprintf(name, sizeof name, "after_train_step_%s", PARAM[rs[i]].name);
      check_array(t->p[rs[i]], name, PARAM[rs[i]].count);
    }
  }
}

static void test_eval_whole(void **state) { run_mode(*state, &WHOLE, 0); }
static void test_eval_shares(void **state) { run_mode(*state, &THREE, 0); }
static void test_train_whole(void **state) { run_mode(*state, &WHOLE, 1); }
static void test_train_shares(void **state) { run_mode(*state, &THREE, 1); }
static void test_train_single_samples(void **state) {
  run_mode(*state, &SINGLE, 1);
}

/* FGSM at eps 0.1 on the summed plain CE in eval mode, clipped to [0, 1]. */
static void test_fgsm(void **state) {
  fixture *f = *state;
  net *t = f->t;
  run_mode(f, &WHOLE, 0); /* restores the parameters */
  forward(t, f->x.data, &THREE, 0);
  lsp_ls ce = {0.0, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_loss_xent(t->z, f->labels, N, K, &ce, t->dz, 1.0, NULL, NULL), 0);
  backward(t, &THREE, 0);
  const double eps = case_num("fgsm_eps");
  const float *x = f->x.data;
  float adv[N * SX];
  for (size_t i = 0; i < N * SX; i++) {
    double sg = t->dx[i] > 0 ? 1.0 : t->dx[i] < 0 ? -1.0 : 0.0;
    double v = x[i] + eps * sg;
    adv[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
  }
  check_array(adv, "fgsm_eps0.1_x", N * SX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_eval_whole),
      cmocka_unit_test(test_eval_shares),
      cmocka_unit_test(test_train_whole),
      cmocka_unit_test(test_train_shares),
      cmocka_unit_test(test_train_single_samples),
      cmocka_unit_test(test_fgsm),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
