/* The model graph against PyTorch: torch_cnn_tiny built from a spec string
 * and run through lsp_model_* in every mode (eval, training on the whole
 * batch, training in shares with batch statistics combined across them,
 * the FGSM input), the built-in LeNet-5 and ResNet-8 against the PyTorch
 * modules of tests/data/gen_torch_archs.py (parameter counts, eval and
 * training logits, running statistics), and the spec grammar (good and bad
 * specs, the canonical architecture string). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/lsp_model.h"
#include "testutil.h"

#define TINY "torch_cnn_tiny/"
#define N 16
#define K 4

/* The same network as tests/data/torch_cnn_tiny (see test_layers_torch.c). */
static const char *tiny_spec =
    "conv(6,3,p=1) relu maxpool(2) "
    "res(conv(6,3,p=1,bias=0) bn relu conv(6,3,p=1,bias=0) bn) relu "
    "conv(8,3,s=2,p=1) bn relu avgpool(1) gap flatten dense(16) relu";
/* PyTorch's module of each node with tensors, in node order. */
static const char *tiny_torch[] = {"stem",        "block.conv1", "block.bn1",
                                   "block.conv2", "block.bn2",   "down",
                                   "bn",          "fc1",         "fc2"};
static const char *tensor_names[] = {"weight", "bias", "running_mean",
                                     "running_var"};

/* Every node with tensors, in order, is the next PyTorch module. Calls
 * fn(node, tensor name, torch name) for each tensor of each. */
static void each_tensor(lsp_model *m, const char *const *mods, size_t nmods,
                        void (*fn)(lsp_model *, size_t, const char *,
                                   const char *, void *),
                        void *arg) {
  size_t k = 0;
  for (size_t i = 0; i < m->nnodes; i++) {
    if (m->nodes[i].p_len == 0 && m->nodes[i].s_len == 0) continue;
    assert_true(k < nmods);
    for (int t = 0; t < 4; t++) {
      float *v;
      if (lsp_model_tensor(m, i, tensor_names[t], &v, NULL, NULL)) continue;
      char tn[96];
      snprintf(tn, sizeof tn, "%s.%s", mods[k], tensor_names[t]);
      fn(m, i, tensor_names[t], tn, arg);
    }
    k++;
  }
  assert_int_equal(k, nmods);
}

static void load_one(lsp_model *m, size_t i, const char *t, const char *tn,
                     void *arg) {
  (void)arg;
  float *v;
  size_t c;
  assert_int_equal(lsp_model_tensor(m, i, t, &v, NULL, &c), 0);
  char p[128];
  snprintf(p, sizeof p, TINY "%s.npy", tn);
  td_load_into(p, v, c);
}

/* prefix: "grad_ls0.1_eval_", "after_train_step_" */
static void check_one(lsp_model *m, size_t i, const char *t, const char *tn,
                      void *arg) {
  const char *prefix = arg;
  int grad = strncmp(prefix, "grad", 4) == 0;
  float *v, *g;
  size_t c;
  assert_int_equal(lsp_model_tensor(m, i, t, &v, &g, &c), 0);
  if (grad != (g != NULL))
    return; /* gradients of trainables, statistics of state */
  char p[128];
  snprintf(p, sizeof p, TINY "%s%s.npy", prefix, tn);
  td_close_array(grad ? g : v, p, c, 1e-5, 1e-7);
}

static lsp_model *tiny_model(void) {
  lsp_model *m = NULL;
  int st =
      lsp_model_from_spec(tiny_spec, (lsp_shape){1, 12, 12}, K, NULL, 0, &m);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, 0);
  each_tensor(m, tiny_torch, 9, load_one, NULL);
  return m;
}

typedef struct {
  lsp_array x;
  int32_t *y;
} batch;

static void load_batch(batch *b) {
  lsp_array ya;
  td_load(TINY "x.npy", &b->x);
  td_load(TINY "labels.npy", &ya);
  assert_int_equal(lsp_array_labels(&ya, "labels.npy", K, &b->y), LSP_OK);
  lsp_array_release(&ya);
  assert_int_equal(b->x.count, N * 144);
}

static void free_batch(batch *b) {
  free(b->y);
  lsp_array_release(&b->x);
}

static void test_tiny_eval(void **state) {
  (void)state;
  lsp_model *m = tiny_model();
  batch b;
  load_batch(&b);
  assert_int_equal(lsp_model_feature_dim(m), 16);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, N);
  const float *z, *f;
  assert_int_equal(lsp_model_forward(m, ws, b.x.data, N, &z, &f), 0);
  td_close_array(z, TINY "logits_eval.npy", N * K, 1e-5, 1e-7);
  td_close_array(f, TINY "features.npy", N * 16, 1e-5, 1e-7);
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  float dz[N * K], dx[N * 144];
  double loss;
  assert_int_equal(lsp_loss_xent(z, b.y, N, K, &ls, dz, 1.0 / N, NULL, &loss),
                   0);
  td_close(loss, 1.3970167636871338, 1e-6, 0, "loss_ls0.1_eval", 0);
  assert_int_equal(
      lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS | LSP_BACK_INPUT, dx), 0);
  each_tensor(m, tiny_torch, 9, check_one, "grad_ls0.1_eval_");
  td_close_array(dx, TINY "grad_ls0.1_x_eval.npy", N * 144, 1e-5, 1e-7);
  /* predict in uneven batches equals the forward */
  float zp[N * K], fp[N * 16];
  assert_int_equal(lsp_model_predict(m, b.x.data, N, 5, zp, fp), 0);
  td_close_array(zp, TINY "logits_eval.npy", N * K, 1e-5, 1e-7);
  td_close_array(fp, TINY "features.npy", N * 16, 1e-5, 1e-7);
  /* the FGSM input: summed plain CE, eval mode, eps 0.1, clipped to [0,1] */
  lsp_ls ce = {0.0, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_model_forward(m, ws, b.x.data, N, &z, NULL), 0);
  assert_int_equal(lsp_loss_xent(z, b.y, N, K, &ce, dz, 1.0, NULL, NULL), 0);
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, dx), 0);
  const float *x = b.x.data;
  for (size_t i = 0; i < N * 144; i++) {
    float s = dx[i] > 0 ? 1.0f : dx[i] < 0 ? -1.0f : 0.0f;
    float v = x[i] + 0.1f * s;
    dx[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
  }
  td_close_array(dx, TINY "fgsm_eps0.1_x.npy", N * 144, 1e-6, 1e-7);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  free_batch(&b);
}

/* Training mode on the whole batch: batch statistics, their gradient, the
 * running statistics after the one forward. */
static void test_tiny_train(void **state) {
  (void)state;
  lsp_model *m = tiny_model();
  batch b;
  load_batch(&b);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, N);
  const float *z;
  assert_int_equal(lsp_model_forward_train(m, ws, b.x.data, N, &z, NULL), 0);
  td_close_array(z, TINY "logits_train.npy", N * K, 1e-5, 1e-7);
  each_tensor(m, tiny_torch, 9, check_one, "after_train_step_");
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  float dz[N * K], dx[N * 144];
  double loss;
  assert_int_equal(lsp_loss_xent(z, b.y, N, K, &ls, dz, 1.0 / N, NULL, &loss),
                   0);
  td_close(loss, 1.4261529445648193, 1e-6, 0, "loss_ls0.1_train", 0);
  assert_int_equal(
      lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS | LSP_BACK_INPUT, dx), 0);
  each_tensor(m, tiny_torch, 9, check_one, "grad_ls0.1_train_");
  td_close_array(dx, TINY "grad_ls0.1_x_train.npy", N * 144, 1e-5, 1e-7);
  /* an eval forward after it uses the updated running statistics: the
   * backward follows that forward's mode */
  const float *ze;
  assert_int_equal(lsp_model_forward(m, ws, b.x.data, N, &ze, NULL), 0);
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, dx), 0);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  free_batch(&b);
}

/* Training mode with the batch cut into shares (5, 6, 0, 5 rows), each with
 * its own workspace and gradients, synchronized at every batch norm: the
 * sums of the shares' gradients and the running statistics are PyTorch's
 * whole-batch numbers. */
static void test_tiny_shares(void **state) {
  (void)state;
  lsp_model *m = tiny_model();
  batch b;
  load_batch(&b);
  enum { S = 4 };
  const size_t rows[S] = {5, 6, 0, 5};
  lsp_model view[S];
  lsp_model_ws *ws[S];
  float *grads[S];
  const float *z[S];
  size_t r0[S];
  for (size_t s = 0, r = 0; s < S; r += rows[s], s++) {
    view[s] = *m;
    grads[s] = malloc(m->nparams * sizeof(float));
    for (size_t i = 0; i < m->nparams; i++)
      grads[s][i] = NAN; /* must be overwritten */
    view[s].grads = grads[s];
    ws[s] = lsp_model_ws_alloc(m, 6);
    r0[s] = r;
  }
  const float *x = b.x.data;
  size_t K_sync = lsp_model_nsync(m);
  assert_int_equal(K_sync, 3);
  for (size_t st = 0; st <= K_sync; st++) {
    for (size_t s = 0; s < S; s++)
      assert_int_equal(lsp_model_stage_forward(&view[s], ws[s], x + r0[s] * 144,
                                               rows[s], st, &z[s], NULL),
                       0);
    if (st < K_sync) assert_int_equal(lsp_model_sync_forward(m, ws, S, st), 0);
  }
  lsp_array want;
  td_load(TINY "logits_train.npy", &want);
  float dz[N * K], dx[N * 144];
  float zall[N * K];
  for (size_t s = 0; s < S; s++)
    if (rows[s]) memcpy(zall + r0[s] * K, z[s], rows[s] * K * sizeof(float));
  td_close_array(zall, TINY "logits_train.npy", N * K, 1e-5, 1e-7);
  lsp_array_release(&want);
  each_tensor(m, tiny_torch, 9, check_one, "after_train_step_");
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_loss_xent(zall, b.y, N, K, &ls, dz, 1.0 / N, NULL, NULL),
                   0);
  for (size_t st = 0; st <= K_sync; st++) {
    for (size_t s = 0; s < S; s++)
      assert_int_equal(
          lsp_model_stage_backward(&view[s], ws[s], dz + r0[s] * K,
                                   LSP_BACK_PARAMS | LSP_BACK_INPUT,
                                   dx + r0[s] * 144, st),
          0);
    if (st < K_sync) assert_int_equal(lsp_model_sync_backward(m, ws, S, st), 0);
  }
  for (size_t i = 0; i < m->nparams; i++) {
    m->grads[i] = 0;
    for (size_t s = 0; s < S; s++) m->grads[i] += grads[s][i];
  }
  each_tensor(m, tiny_torch, 9, check_one, "grad_ls0.1_train_");
  td_close_array(dx, TINY "grad_ls0.1_x_train.npy", N * 144, 1e-5, 1e-7);
  /* out of order: a sync before every share's stage, a stage skipped */
  assert_int_equal(
      lsp_model_stage_forward(&view[0], ws[0], x, 5, 0, &z[0], NULL), 0);
  assert_int_equal(lsp_model_sync_forward(m, ws, S, 0), LSP_EINVAL);
  assert_int_equal(
      lsp_model_stage_forward(&view[0], ws[0], x, 5, 2, &z[0], NULL),
      LSP_EINVAL);
  assert_int_equal(lsp_model_backward(m, ws[0], dz, LSP_BACK_PARAMS, NULL),
                   LSP_EINVAL);
  /* a batch of one value per channel cannot give a variance (as PyTorch) */
  lsp_model *one = NULL;
  assert_int_equal(lsp_model_from_spec("dense(3) bn", (lsp_shape){2, 1, 1}, 2,
                                       NULL, 0, &one),
                   0);
  lsp_model_ws *w1 = lsp_model_ws_alloc(one, 1);
  const float *z1;
  assert_int_equal(lsp_model_forward_train(one, w1, x, 1, &z1, NULL),
                   LSP_EINVAL);
  lsp_model_ws_free(w1);
  lsp_model_free(one);
  for (size_t s = 0; s < S; s++) lsp_model_ws_free(ws[s]), free(grads[s]);
  lsp_model_free(m);
  free_batch(&b);
}

/* ---- built-in architectures against their PyTorch modules ---------------- */

static void builtin(const char *arch, size_t nparams_torch) {
  char p[128];
  lsp_model *m = NULL;
  assert_int_equal(
      lsp_model_from_spec(arch, (lsp_shape){1, 28, 28}, 10, NULL, 0, &m), 0);
  assert_int_equal(m->nparams, nparams_torch);
  snprintf(p, sizeof p, "torch_archs/%s_params.npy", arch);
  td_load_into(p, m->params, m->nparams);
  snprintf(p, sizeof p, "torch_archs/%s_buffers.npy", arch);
  lsp_array a;
  td_load(p, &a);
  assert_int_equal(a.count, m->nstate);
  if (a.count) memcpy(m->state, a.data, a.count * sizeof(float));
  lsp_array_release(&a);
  lsp_array xa;
  snprintf(p, sizeof p, "torch_archs/%s_x.npy", arch);
  td_load(p, &xa);
  assert_int_equal(xa.count, 4 * 784);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, 4);
  const float *z, *f;
  assert_int_equal(lsp_model_forward(m, ws, xa.data, 4, &z, &f), 0);
  snprintf(p, sizeof p, "torch_archs/%s_logits_eval.npy", arch);
  td_close_array(z, p, 40, 1e-5, 1e-7);
  snprintf(p, sizeof p, "torch_archs/%s_features_eval.npy", arch);
  td_close_array(f, p, 4 * lsp_model_feature_dim(m), 1e-5, 1e-7);
  assert_int_equal(lsp_model_forward_train(m, ws, xa.data, 4, &z, NULL), 0);
  snprintf(p, sizeof p, "torch_archs/%s_logits_train.npy", arch);
  td_close_array(z, p, 40, 1e-5, 1e-7);
  snprintf(p, sizeof p, "torch_archs/%s_buffers_after.npy", arch);
  if (m->nstate) td_close_array(m->state, p, m->nstate, 1e-5, 1e-7);
  lsp_model_ws_free(ws);
  lsp_array_release(&xa);
  lsp_model_free(m);
}

static void test_builtins(void **state) {
  (void)state;
  /* parameter counts from torch_archs/case.json (PyTorch's numel sums) */
  builtin("lenet", 61706);
  builtin("resnet8", 77754);
  lsp_model *m = NULL;
  assert_int_equal(
      lsp_model_from_spec("lenet", (lsp_shape){1, 28, 28}, 10, NULL, 0, &m), 0);
  assert_int_equal(lsp_model_feature_dim(m), 84);
  lsp_dense_view h;
  lsp_model_head(m, &h);
  assert_int_equal(h.in, 84);
  assert_int_equal(h.out, 10);
  char d[128];
  lsp_model_describe(m, d, sizeof d);
  assert_string_equal(d, "lenet 1x28x28->10");
  /* conv 2·(25·6·784 + 150·16·100) + dense 2·(400·120 + 120·84 + 84·10), plus
   * one per element of relu (4704 + 1600 + 120 + 84) and window of pools
   * (4·1176 + 4·400) */
  double want = 2.0 * (25 * 6 * 784 + 150 * 16 * 100) +
                2.0 * (400 * 120 + 120 * 84 + 840) + (4704 + 1600 + 120 + 84) +
                4.0 * (1176 + 400);
  td_close(lsp_model_flops(m), want, 1e-12, 0, "lenet flops", 0);
  lsp_model_free(m);
  assert_int_equal(
      lsp_model_from_spec("resnet8", (lsp_shape){1, 28, 28}, 10, NULL, 0, &m),
      0);
  assert_int_equal(lsp_model_feature_dim(m), 64);
  assert_int_equal(lsp_model_nsync(m), 9);
  lsp_model_free(m);
}

/* ---- the spec grammar ------------------------------------------------------
 */

static void arch_of(const char *spec, lsp_shape in, size_t k, const float *norm,
                    char *buf, size_t len) {
  lsp_model *m = NULL;
  int st = lsp_model_from_spec(spec, in, k, norm, norm ? 2 * in.c : 0, &m);
  if (st) print_error("%s: %s\n", spec, lsp_errmsg());
  assert_int_equal(st, 0);
  assert_true(lsp_model_arch_string(m, buf, len) < len);
  lsp_model_free(m);
}

static void expect_bad(const char *spec, lsp_shape in, const char *needle) {
  lsp_model *m = (lsp_model *)1;
  int st = lsp_model_from_spec(spec, in, 10, NULL, 0, &m);
  if (st != LSP_EINVAL || m != NULL || !strstr(lsp_errmsg(), needle)) {
    print_error("spec '%s': status %d, message '%s', expected '%s'\n", spec, st,
                lsp_errmsg(), needle);
    fail();
  }
}

static void test_grammar(void **state) {
  (void)state;
  const lsp_shape img = {1, 28, 28}, flat = {16, 1, 1};
  char a[4096], b[4096];
  /* the canonical text of a small net: every attribute, inputs of skips */
  arch_of("conv(4,3,p=1) bn relu res(conv(4,3,p=1) | conv(4,1)) gap",
          (lsp_shape){2, 5, 5}, 3, NULL, a, sizeof a);
  assert_string_equal(
      a,
      "2x5x5 conv(units=4,kh=3,kw=3,sh=1,sw=1,ph=1,pw=1,bias=1) "
      "bn(eps=1.0000000000000001e-05,"
      "momentum=0.10000000000000001) relu "
      "conv(units=4,kh=3,kw=3,sh=1,sw=1,ph=1,pw=1,bias=1) "
      "conv(units=4,kh=1,kw=1,sh=1,sw=1,ph=0,pw=0,bias=1)@2 add@3,4 gap "
      "dense(units=3,bias=1)");
  /* spellings of the same architecture give the same text */
  arch_of("conv(6,5,p=2),relu,maxpool(2)", img, 10, NULL, a, sizeof a);
  arch_of(
      "conv( units = 6 , k=5x5, s=1, ph=2, pw=2 )  relu maxpool(k=2,s=2x2,p=0)",
      img, 10, NULL, b, sizeof b);
  assert_string_equal(a, b);
  arch_of("mlp:256,256", img, 10, NULL, a, sizeof a);
  arch_of("dense(256) relu dense(256) relu", img, 10, NULL, b, sizeof b);
  assert_string_equal(a, b);
  arch_of("mlp", img, 10, NULL, b, sizeof b);
  assert_string_equal(a, b);
  /* the MLP from the grammar is lsp_model_alloc_mlp's network, drawn alike */
  {
    size_t hid[2] = {7, 5};
    lsp_model *m1 = lsp_model_alloc_mlp(16, hid, 2, 3), *m2 = NULL;
    assert_int_equal(lsp_model_from_spec("mlp:7,5", flat, 3, NULL, 0, &m2), 0);
    lsp_model_arch_string(m1, a, sizeof a);
    lsp_model_arch_string(m2, b, sizeof b);
    assert_string_equal(a, b);
    lsp_model_init(m1, 5);
    lsp_model_init(m2, 5);
    assert_int_equal(m1->nparams, m2->nparams);
    assert_memory_equal(m1->params, m2->params, m1->nparams * sizeof(float));
    lsp_model_describe(m2, a, sizeof a);
    assert_string_equal(a, "16-7-5-3");
    lsp_model_free(m1);
    lsp_model_free(m2);
  }
  /* a linear model; normalization constants are part of the architecture */
  arch_of("mlp:", flat, 4, NULL, a, sizeof a);
  assert_string_equal(a, "16x1x1 dense(units=4,bias=1)");
  const float n1[2] = {0.5f, 0.25f}, n2[2] = {0.5f, 0.125f};
  arch_of("gap", (lsp_shape){1, 2, 2}, 3, n1, a, sizeof a);
  assert_string_equal(a, "1x2x2 normalize(0.5,0.25) gap dense(units=3,bias=1)");
  arch_of("gap", (lsp_shape){1, 2, 2}, 3, n2, b, sizeof b);
  assert_string_not_equal(a, b);
  /* pools stride by their window unless told */
  arch_of("avgpool(3)", (lsp_shape){1, 9, 9}, 2, NULL, a, sizeof a);
  assert_non_null(strstr(
      a, "avgpool(kh=3,kw=3,sh=3,sw=3,ph=0,pw=0,ceil_mode=0,count_pad=1)"));
  arch_of("maxpool(3,s=1,ceil_mode=1)", (lsp_shape){1, 9, 9}, 2, NULL, a,
          sizeof a);
  assert_non_null(
      strstr(a, "maxpool(kh=3,kw=3,sh=1,sw=1,ph=0,pw=0,ceil_mode=1)"));

  /* bad specs: each names what is wrong */
  expect_bad("conv(6)", img, "kernel size");
  expect_bad("conv(k=3)", img, "units");
  expect_bad("dense", img, "units");
  expect_bad("dense(0)", img, "units");
  expect_bad("dense(2.5)", img, "whole number");
  expect_bad("dense(-3)", img, "whole number");
  expect_bad("dense(3", img, "expected ',' or ')'");
  expect_bad("dense(3,4)", img, "too many arguments");
  expect_bad("dense(units=3,3)", img, "positional argument after");
  expect_bad("dense(size=3)", img, "unknown argument");
  expect_bad("dense(units=4,units=5)", img, "given twice at 'units=5)'");
  expect_bad("conv(4,3,units=6)", img, "given twice at 'units=6)'");
  expect_bad("conv(4,k=3,p=1,k=5)", img, "given twice at 'k=5)'");
  expect_bad("dense(3,bias=2)", img, "0 or 1");
  expect_bad("dense(3,bias=1x1)", img, "expected one number");
  expect_bad("dense(3) relu(", img, "at the end");
  expect_bad("convolution(3,3)", img, "unknown layer");
  expect_bad("LeNet", img, "or a whole network: lenet, resnet8, mlp:W,...");
  /* an empty list (an unset shell variable) is no network: the linear
   * classifier alone is asked for as "mlp:" */
  expect_bad("", img, "no layers");
  expect_bad(" \t", img, "no layers");
  expect_bad("add", img, "res(");
  expect_bad("normalize", img, "--normalize");
  expect_bad("conv(6,29)", img, "conv1");    /* kernel larger than the image */
  expect_bad("conv(6,3,s=0)", img, "conv1"); /* stride 0 */
  expect_bad("maxpool(2,p=2)", img,
             "maxpool1"); /* padding over half the window */
  expect_bad("res()", img, "without layers");
  expect_bad("res(conv(4,3))", img, "adds"); /* 4x26x26 + 1x28x28 */
  expect_bad("res(conv(1,3,p=1)", img, "closing res(");
  expect_bad(
      "res(bn res(bn res(bn res(bn res(bn res(bn res(bn res(bn res(bn)))))))))",
      img, "nested too deeply");
  expect_bad("relu) dense(3)", img, "unexpected text");
  expect_bad("bn(eps=0)", img, "eps");
  expect_bad("bn(momentum=2)", img, "momentum");
  expect_bad("mlp:256,,3", img, "positive whole numbers");
  expect_bad("mlp:256;3", img, "expected ','");
  expect_bad("mlp:0", img, "positive whole numbers");
  expect_bad("mlp:100000000", img, "a width of 100000000 is above the largest, 16777216");
  expect_bad("mlp:99999999999999999999999", img, "is above the largest");
  expect_bad("dense(100000000)", img, "units");
  expect_bad("lenet", (lsp_shape){1, 8, 8}, "conv"); /* too small for LeNet */
  /* numbers are decimal: 0xN is 0 by N (strtod would read hexadecimal) */
  arch_of("conv(8,1x3,p=0x1)", img, 10, NULL, a, sizeof a);
  arch_of("conv(8,1x3,ph=0,pw=1)", img, 10, NULL, b, sizeof b);
  assert_string_equal(a, b);
  expect_bad("conv(8,0x3)", img, "kernel size");
  expect_bad("maxpool(2,s=0x1)", img, "stride");
  expect_bad("conv(8,3x0x5)", img, "expected ',' or ')' at 'x5)'");
  expect_bad("dense(0x10)", img, "expected one number");
  expect_bad("dense(0X10)", img, "expected ',' or ')' at 'X10)'");
  expect_bad("dense(16,bias=0x1p0)", img, "expected one number");
  /* names are lower case; newlines separate; a blank before '(' */
  expect_bad("Conv(6,5)", img, "layer names are lower case at 'Conv(6,5)'");
  expect_bad("dense(8) RELU", img, "layer names are lower case");
  expect_bad("Res(bn)", img, "layer names are lower case");
  arch_of("conv(6,5)\nrelu,\r\nmaxpool (2)", img, 10, NULL, a, sizeof a);
  arch_of("conv(6,5) relu maxpool(2)", img, 10, NULL, b, sizeof b);
  assert_string_equal(a, b);
  expect_bad("shuffle(2)", img, "pad reshape transpose flatten res");
  expect_bad("dense(8) relu (", img, "'(' not closed at the end");
  expect_bad("dense(", img, "'(' not closed at the end");
  /* a −∞ padding feeds max poolings only, each window holding an image
   * pixel (else −∞ flows on: NaN in training) */
  arch_of("pad(pt=1,mode=3) maxpool(2)", img, 10, NULL, a, sizeof a);
  arch_of("pad(pt=1,pl=1,mode=3) maxpool(3,s=1)", img, 10, NULL, a, sizeof a);
  arch_of("pad(pt=2,mode=3) gmp", img, 10, NULL, a, sizeof a);
  arch_of("pad(pt=1,pl=1,mode=3) pool(kh=2,kw=2,sh=2,sw=2,dh=2,dw=3,pt=1,pl=2,pr=3)",
          (lsp_shape){2, 7, 8}, 3, NULL, a, sizeof a);
  expect_bad("pad(pt=1,mode=3)", img, "'pad1' pads with −∞ (mode 3), the padding of a max "
                                      "pooling, but 'fc' (dense) reads it");
  expect_bad("pad(pt=1,mode=3) conv(2,3)", img, "but 'conv2' (conv) reads it");
  expect_bad("pad(pt=1,mode=3) avgpool(2)", img, "but 'avgpool2' (avgpool) reads it");
  expect_bad("pad(pt=1,mode=3) pool(kh=2,kw=2,sh=2,sw=2,avg=1)", img, "'pool2' (pool)");
  expect_bad("pad(pt=1,mode=3) res(maxpool(3,s=1,p=1) | conv(1,1))", img,
             "but 'res1.down.conv1' (conv) reads it");
  expect_bad("pad(pt=2,mode=3) maxpool(2)", img,
             "a window of 'maxpool2' lies wholly in the −∞ padding of 'pad1'");
  expect_bad("pad(pr=2,mode=3) maxpool(2,ceil_mode=1)", (lsp_shape){1, 4, 4},
             "a window of 'maxpool2'");
  expect_bad("pad(pt=3,mode=3) pool(kh=2,kw=2,sh=2,sw=2,dh=2,dw=1)", img,
             "a window of 'pool2'");
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("lenet", img, 1, NULL, 0, &m),
                   LSP_EINVAL);
  const float bad_norm[2] = {0.5f, 0.0f};
  assert_int_equal(lsp_model_from_spec("lenet", img, 10, bad_norm, 2, &m),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "--normalize"));
  assert_int_equal(lsp_model_from_spec("lenet", img, 10, bad_norm, 1, &m),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "1 values for 1 input channel"));
  /* a subnormal std (1/std is infinite in float) is refused as the loader
   * refuses it; the smallest normal one builds */
  const float sub_norm[2] = {0.5f, 1e-39f}, min_norm[2] = {0.5f, FLT_MIN};
  assert_int_equal(lsp_model_from_spec("lenet", img, 10, sub_norm, 2, &m), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "--normalize: channel 0 needs a finite mean and a "
                                       "positive std (a normal float, at least 1.17549e-38; "
                                       "got 1e-39)"));
  assert_null(m);
  assert_int_equal(lsp_model_from_spec("lenet", img, 10, min_norm, 2, &m), LSP_OK);
  lsp_model_free(m);
}

/* A NaN weight before a ReLU reaches the logits (PyTorch's ReLU keeps a
 * NaN), where the loss refuses it, instead of turning into zeros. */
static void test_relu_keeps_nan(void **state) {
  (void)state;
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("conv(2,3) relu", (lsp_shape){1, 4, 4}, 3, NULL, 0, &m),
                   LSP_OK);
  assert_int_equal(lsp_model_init(m, 1), LSP_OK);
  float x[2 * 16];
  for (size_t i = 0; i < 32; i++) x[i] = (float)(i % 7) / 7.0f;
  lsp_model_ws *ws = lsp_model_ws_alloc(m, 2);
  assert_non_null(ws);
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, x, 2, &z, NULL), LSP_OK);
  for (size_t i = 0; i < 6; i++) assert_true(isfinite(z[i]));
  m->params[m->nodes[0].p_off] = NAN; /* conv1's first weight */
  assert_int_equal(lsp_model_forward(m, ws, x, 2, &z, NULL), LSP_OK);
  for (size_t i = 0; i < 6; i++) assert_true(isnan(z[i]));
  const int32_t y[2] = {0, 1};
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  double loss;
  assert_int_equal(lsp_loss_xent(z, y, 2, 3, &ls, NULL, 1.0, NULL, &loss), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "non-finite logit"));
  lsp_model_ws_free(ws);
  lsp_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tiny_eval),   cmocka_unit_test(test_tiny_train),
      cmocka_unit_test(test_tiny_shares), cmocka_unit_test(test_builtins),
      cmocka_unit_test(test_grammar),     cmocka_unit_test(test_relu_keeps_nan),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
