/* Lowering ONNX descriptions to lsprobe models, and lsprobe models back to
 * ONNX (lsp_onnx_lower, lsp_onnx_from_model):
 * - PyTorch 1.13's two exports of torch_cnn_tiny (batch norm folded into the
 *   convolutions, and kept) compute PyTorch's logits, penultimate features,
 *   input gradient of the mean label-smoothed loss and FGSM input
 *   (tests/data/torch_cnn_tiny) through lsp_model_load;
 * - `features` picks another layer by ONNX value, ONNX node or lsprobe name,
 *   and refuses what is not one;
 * - an lsprobe model exported and read back computes bit-identical logits
 *   and has the same canonical architecture (MLP, LeNet-5 with input
 *   normalization, ResNet-8, and a spec with every other layer kind);
 * - the layer kinds the lowering adds (pad, the general pool, reshape)
 *   differentiate as their forward: input gradient against central
 *   differences;
 * - constant affine maps of the logits after the classifier, as
 *   torch.onnx.export writes them (temperature scaling `/ T`, `* s - c`
 *   per class, a chain with the constant first), fold into the classifier
 *   and compute PyTorch's float64 logits (tests/data/onnx_tail);
 * - what lsprobe cannot run is refused with the file, node and op named. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"
#include "core/import/onnx/lsp_onnx.h"
#include "core/loss/lsp_loss.h"
#include "testutil.h"
/* after testutil.h: they use cmocka */
#include "onnx_build.h"

#define TINY "torch_cnn_tiny/"
enum { N = 16, K = 4, D = 144 };

static lsp_model *load(const char *rel, const char *features) {
  lsp_model *m = NULL;
  lsp_load_opts o = {features};
  char note[512];
  int st = lsp_model_load_opts(td_path(rel), &o, &m, note, sizeof note);
  if (st) print_error("%s: %s\n", rel, lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  assert_string_equal(note, ""); /* a symbolic batch: no note */
  return m;
}

/* PyTorch's numbers through both exports. */
static void tiny(const char *file, size_t want_bn) {
  lsp_model *m = load(file, NULL);
  size_t nbn = 0;
  for (size_t i = 0; i < m->nnodes; i++) nbn += m->nodes[i].op == LSP_OP_BN;
  assert_int_equal(nbn, want_bn);
  assert_int_equal(m->in_dim, D);
  assert_int_equal(m->out_dim, K);
  assert_int_equal(lsp_model_feature_dim(m), 16);
  lsp_array x, ya;
  int32_t *y;
  td_load(TINY "x.npy", &x);
  td_load(TINY "labels.npy", &ya);
  assert_int_equal(lsp_array_labels(&ya, "labels.npy", K, &y), LSP_OK);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, N);
  const float *z, *f;
  assert_int_equal(lsp_model_forward(m, ws, x.data, N, &z, &f), 0);
  td_close_array(z, TINY "logits_eval.npy", N * K, 1e-5, 1e-7);
  td_close_array(f, TINY "features.npy", N * 16, 1e-5, 1e-7);
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  float dz[N * K], dx[N * D];
  double loss;
  assert_int_equal(lsp_loss_xent(z, y, N, K, &ls, dz, 1.0 / N, NULL, &loss), 0);
  td_close(loss, 1.3970167636871338, 1e-6, 0, "loss_ls0.1_eval", 0);
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, dx), 0);
  td_close_array(dx, TINY "grad_ls0.1_x_eval.npy", N * D, 1e-5, 1e-7);
  /* the FGSM input: summed plain CE, eps 0.1, clipped to [0, 1] */
  lsp_ls ce = {0.0, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_model_forward(m, ws, x.data, N, &z, NULL), 0);
  assert_int_equal(lsp_loss_xent(z, y, N, K, &ce, dz, 1.0, NULL, NULL), 0);
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, dx), 0);
  const float *xv = x.data;
  for (size_t i = 0; i < N * D; i++) {
    float s = dx[i] > 0 ? 1.0f : dx[i] < 0 ? -1.0f : 0.0f;
    float v = xv[i] + 0.1f * s;
    dx[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
  }
  td_close_array(dx, TINY "fgsm_eps0.1_x.npy", N * D, 1e-6, 1e-7);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  lsp_array_release(&x);
  lsp_array_release(&ya);
  free(y);
}

static void test_torch_exports(void **state) {
  (void)state;
  tiny(TINY "model.onnx", 0);    /* BN folded into the convolutions */
  tiny(TINY "model_bn.onnx", 3); /* the BatchNormalization nodes kept */
}

/* MaxPool with end padding past every window (PyTorch's opset-9 form of
 * ceil_mode) reads as the same pooling as its ceil_mode form: the same
 * windows, the same logits bit for bit; the unused padding is dropped. */
static void test_maxpool_endpad(void **state) {
  (void)state;
  lsp_model *a = load("onnx_cases/maxpool_endpad.onnx", NULL);
  lsp_model *b = load("onnx_cases/maxpool_ceilpad.onnx", NULL);
  assert_int_equal(a->in_dim, 128);
  assert_int_equal(lsp_model_feature_dim(a), 50); /* 2 × 5 × 5 windows */
  assert_int_equal(lsp_model_feature_dim(b), 50);
  enum { NB = 3 };
  float x[NB * 128], za[NB * 3];
  for (size_t i = 0; i < NB * 128; i++) x[i] = sinf(1.3f * (float)i);
  lsp_model_ws *wa = lsp_model_ws_alloc(a, NB), *wb = lsp_model_ws_alloc(b, NB);
  const float *z;
  assert_int_equal(lsp_model_forward(a, wa, x, NB, &z, NULL), 0);
  memcpy(za, z, sizeof za);
  assert_int_equal(lsp_model_forward(b, wb, x, NB, &z, NULL), 0);
  assert_memory_equal(za, z, sizeof za);
  /* the last window holds real pixels: the logits use them */
  float f = 0.0f;
  for (size_t i = 0; i < NB * 3; i++) f += fabsf(za[i]);
  assert_true(f > 0.0f);
  lsp_model_ws_free(wa);
  lsp_model_ws_free(wb);
  lsp_model_free(a);
  lsp_model_free(b);
  lsp_onnx_model *om = NULL;
  assert_int_equal(
      lsp_onnx_read(td_path("onnx_cases/maxpool_endpad.onnx"), &om), LSP_OK);
  assert_int_equal(om->nodes[0].pads[2], 2); /* 3 given, 2 reached */
  assert_int_equal(om->nodes[0].pads[3], 2);
  lsp_onnx_model_free(om);
}

static float *inputs(size_t n, size_t d);

/* Logits of two files on the same inputs are the same bit for bit. */
static void same_logits(const char *rel_a, const char *rel_b, size_t in_dim,
                        size_t k) {
  lsp_model *a = load(rel_a, NULL), *b = load(rel_b, NULL);
  assert_int_equal(a->in_dim, in_dim);
  assert_int_equal(b->in_dim, in_dim);
  size_t n = 3;
  float *x = inputs(n, in_dim), *za = malloc(n * k * sizeof *za),
        *zb = malloc(n * k * sizeof *zb);
  assert_int_equal(lsp_model_predict(a, x, n, 1, za, NULL), 0);
  assert_int_equal(lsp_model_predict(b, x, n, 1, zb, NULL), 0);
  assert_memory_equal(za, zb, n * k * sizeof *za);
  free(x);
  free(za);
  free(zb);
  lsp_model_free(a);
  lsp_model_free(b);
}

/* PyTorch's int64 arithmetic for the pads of F.pad (opsets 11 and later):
 * folded into the Pad, the same model as with the pads given directly. */
static void test_pad_chain(void **state) {
  (void)state;
  lsp_onnx_model *om = NULL;
  assert_int_equal(
      lsp_onnx_read(td_path("onnx_cases/pad_chain_constant.onnx"), &om),
      LSP_OK);
  assert_int_equal(om->nnodes, 5); /* Pad, Conv, Relu, Flatten, Gemm */
  assert_int_equal(om->nodes[0].op, LSP_ONNX_PAD);
  static const int64_t want[4] = {2, 1, 0, 0}; /* top, left, bottom, right */
  assert_memory_equal(om->nodes[0].pads, want, sizeof want);
  lsp_onnx_model_free(om);
  same_logits("onnx_cases/pad_chain_constant.onnx",
              "onnx_cases/pad_plain_constant.onnx", 72, 4);
  same_logits("onnx_cases/pad_chain_reversed.onnx",
              "onnx_cases/pad_plain_constant.onnx", 72, 4);
  same_logits("onnx_cases/pad_chain_reflect.onnx",
              "onnx_cases/pad_plain_reflect.onnx", 72, 4);
  lsp_model *m = NULL;
  assert_int_equal(
      lsp_model_load(td_path("onnx_cases/pad_chain_input.onnx"), &m),
      LSP_EDATA);
  assert_null(m);
  assert_non_null(strstr(lsp_errmsg(), "node 'zeros' (ConstantOfShape)"));
  assert_non_null(strstr(lsp_errmsg(), "on a computed value (only on int64 "
                                       "constants"));
  /* x.view(x.size(0), -1): Shape(x)[0] is the batch size, the Reshape's
   * first entry; the same model as with Flatten */
  same_logits("onnx_cases/view_chain.onnx", "onnx_cases/view_flat.onnx", 72,
              4);
  assert_int_equal(
      lsp_model_load(td_path("onnx_cases/view_chain_c.onnx"), &m), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "node 'view' (Reshape)"));
  assert_non_null(strstr(lsp_errmsg(),
                         "shape [dim 1, -1]: entry 0 is dimension 1 of 'r' "
                         "(from Shape)"));
  /* a constant holding the reader's marker for the batch size */
  assert_int_equal(
      lsp_model_load(td_path("onnx_cases/view_marker.onnx"), &m), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "'sh'"));
  assert_non_null(strstr(lsp_errmsg(), "int64 value -4611686018432389968 at "
                                       "index 0 is one lsprobe reserves"));
}

/* The name of the node that computes value `v`, for --features. */
static void features_case(const char *name, size_t want_dim,
                          const char *want_node) {
  lsp_model *m = load(TINY "model_bn.onnx", name);
  assert_int_equal(lsp_model_feature_dim(m), want_dim);
  assert_string_equal(m->nodes[m->features].name, want_node);
  lsp_model_free(m);
}

static void bad_features(const char *name, const char *needle) {
  lsp_model *m = NULL;
  lsp_load_opts o = {name};
  assert_int_equal(
      lsp_model_load_opts(td_path(TINY "model_bn.onnx"), &o, &m, NULL, 0),
      LSP_EINVAL);
  assert_null(m);
  if (!strstr(lsp_errmsg(), needle) || !strstr(lsp_errmsg(), name)) {
    print_error("--features %s: '%s' lacks '%s'\n", name, lsp_errmsg(), needle);
    fail();
  }
}

static void test_features(void **state) {
  (void)state;
  /* model_bn.onnx: fc1 is /fc1/Gemm, its ReLU /act/Relu (PyTorch's names);
   * the global pool's output (8 channels) is /gap/GlobalAveragePool_output_0
   */
  lsp_model *m = load(TINY "model_bn.onnx", NULL);
  int fc1 = -1, gap = -1;
  for (size_t i = 0; i < m->nnodes; i++) {
    if (m->nodes[i].op == LSP_OP_DENSE && fc1 < 0) fc1 = (int)i;
    if (m->nodes[i].op == LSP_OP_GAP) gap = (int)i;
  }
  assert_true(fc1 >= 0 && gap >= 0);
  char fc1_name[LSP_NODE_NAME], gap_name[LSP_NODE_NAME];
  snprintf(fc1_name, sizeof fc1_name, "%s", m->nodes[fc1].name);
  snprintf(gap_name, sizeof gap_name, "%s", m->nodes[gap].name);
  lsp_model_free(m);
  features_case(fc1_name, 16, fc1_name); /* an ONNX node (= lsprobe name) */
  features_case(gap_name, 8, gap_name);
  lsp_onnx_model *om = NULL;
  assert_int_equal(lsp_onnx_read(td_path(TINY "model_bn.onnx"), &om), 0);
  m = load(TINY "model_bn.onnx", om->input); /* the graph input */
  assert_int_equal(m->features, LSP_INPUT);
  assert_int_equal(lsp_model_feature_dim(m), 144);
  lsp_model_free(m);
  lsp_onnx_model_free(om);
  /* PyTorch's all-zero Pad (/avg/Pad) is no node after reading: by node
   * or output name it stands for its input, /Relu_1's output */
  m = load(TINY "model_bn.onnx", "/Relu_1");
  char relu_name[LSP_NODE_NAME];
  snprintf(relu_name, sizeof relu_name, "%s", m->nodes[m->features].name);
  size_t relu_dim = lsp_model_feature_dim(m);
  assert_true(relu_dim > 16);
  lsp_model_free(m);
  features_case("/avg/Pad", relu_dim, relu_name);
  features_case("/avg/Pad_output_0", relu_dim, relu_name);
  bad_features("no_such_layer", "no value, node or layer");
  bad_features("logits", "the logits are not features");
}

/* ---- lsprobe -> ONNX -> lsprobe ------------------------------------------ */

static float *inputs(size_t n, size_t d) {
  float *x = malloc(n * d * sizeof *x);
  for (size_t i = 0; i < n * d; i++)
    x[i] = 0.5f + 0.5f * sinf(0.37f * (float)i + 0.11f);
  return x;
}

/* `same_arch` 0: the file may spell a layer otherwise (ceil_mode 0 for the
 * same windows), the numbers stay. */
static void roundtrip_as(const char *spec, lsp_shape in, const float *norm,
                         size_t nnorm, int same_arch) {
  lsp_model *m = NULL;
  int st = lsp_model_from_spec(spec, in, 7, norm, nnorm, &m);
  if (st) print_error("%s: %s\n", spec, lsp_errmsg());
  assert_int_equal(st, 0);
  assert_int_equal(lsp_model_init(m, 3), 0);
  for (size_t i = 0; i < m->nstate; i++) /* non-trivial BN statistics */
    if (m->nodes[0].op != LSP_OP_NORMALIZE || i >= m->nodes[0].s_len)
      m->state[i] = 0.5f + 0.25f * sinf((float)i);
  lsp_onnx_model *om = NULL;
  st = lsp_onnx_from_model(m, &om);
  if (st) print_error("%s: %s\n", spec, lsp_errmsg());
  assert_int_equal(st, 0);
  const char *path = td_tmp("roundtrip.onnx");
  assert_int_equal(lsp_onnx_write(om, path), 0);
  lsp_onnx_model_free(om);
  lsp_model *r = NULL;
  st = lsp_model_load(path, &r);
  if (st) print_error("%s: %s\n", spec, lsp_errmsg());
  assert_int_equal(st, 0);
  char a[4096], b[4096];
  lsp_model_arch_string(m, a, sizeof a);
  lsp_model_arch_string(r, b, sizeof b);
  if (same_arch) assert_string_equal(a, b);
  assert_int_equal(lsp_model_feature_dim(r), lsp_model_feature_dim(m));
  size_t n = 9;
  float *x = inputs(n, m->in_dim);
  float *z1 = malloc(n * m->out_dim * sizeof *z1);
  float *z2 = malloc(n * m->out_dim * sizeof *z2);
  assert_int_equal(lsp_model_predict(m, x, n, 4, z1, NULL), 0);
  assert_int_equal(lsp_model_predict(r, x, n, 4, z2, NULL), 0);
  assert_memory_equal(z1, z2, n * m->out_dim * sizeof *z1);
  free(x);
  free(z1);
  free(z2);
  lsp_model_free(m);
  lsp_model_free(r);
  remove(path);
}

static void roundtrip(const char *spec, lsp_shape in, const float *norm,
                      size_t nnorm) {
  roundtrip_as(spec, in, norm, nnorm, 1);
}

static void test_roundtrip(void **state) {
  (void)state;
  const float norm1[2] = {0.286f, 0.353f};
  const float norm3[6] = {0.5f, 0.4f, 0.3f, 0.2f, 0.25f, 0.3f};
  roundtrip("mlp:16,8", (lsp_shape){20, 1, 1}, NULL, 0);
  roundtrip("dense(12) bn relu", (lsp_shape){20, 1, 1}, NULL, 0);
  roundtrip("lenet", (lsp_shape){1, 28, 28}, norm1, 2);
  roundtrip("resnet8", (lsp_shape){1, 12, 12}, NULL, 0);
  roundtrip("conv(6,3,p=1) relu conv(12,3,s=2,p=1,g=6) relu conv(8,1,g=4) bn "
            "relu conv(8,5,p=2,g=8,bias=0) gap",
            (lsp_shape){2, 9, 10}, NULL, 0);
  roundtrip(
      "pad(pt=1,pl=2,pb=0,pr=1,value=0.25) conv(4,3,s=2) relu "
      "pad(pt=1,pb=1,pl=1,pr=1,mode=1) maxpool(3,s=2,p=1,ceil_mode=1) "
      "pad(pt=2,pr=1,mode=2) avgpool(2,p=1,count_pad=0) "
      "pad(pt=1,mode=3) maxpool(2,s=1) bn gap reshape(c=2,h=2,w=1) "
      "conv(3,1) flatten",
      (lsp_shape){3, 11, 10}, norm3, 6);
  /* ceil_mode whose last window starts in the end padding (27 pixels,
   * window 2, padding 1): lsprobe drops it as PyTorch does, ONNX's size
   * rule would keep it; written with ceil_mode 0, the same 14 windows */
  roundtrip_as("conv(4,2) relu maxpool(2,p=1,ceil_mode=1) dense(8) relu",
               (lsp_shape){1, 28, 28}, NULL, 0, 0);
  roundtrip_as("conv(4,2) relu avgpool(2,p=1,ceil_mode=1,count_pad=0)",
               (lsp_shape){2, 28, 28}, NULL, 0, 0);
}

/* ---- the layers the lowering adds: backward against differences --------- */

/* The input gradient of L = Σ_k c_k·z_k through pad (reflect, edge, a
 * constant, −∞ before a max pool), the general pool (asymmetric padding
 * deeper than half the window, average without the padding, dilated max)
 * and reshape, against central differences of L. Inputs are distinct
 * multiples of 0.1, so no maximum changes within the step. */
static void test_new_layers_fd(void **state) {
  (void)state;
  const char *spec =
      "pad(pt=1,pl=2,pr=1,mode=1) pad(pb=2,pr=1,mode=2) "
      "pool(kh=3,kw=2,sh=2,sw=1,pt=2,pb=1,pr=1,avg=1,count_pad=0) "
      "pad(pt=1,pl=1,mode=3) pool(kh=2,kw=2,sh=2,sw=2,dh=2,dw=3,pt=1,pl=2,"
      "pr=3) pad(pt=1,pb=1,value=0.75) reshape(c=5,h=4,w=4) relu";
  const lsp_shape in = {2, 7, 8};
  lsp_model *m = NULL;
  int st = lsp_model_from_spec(spec, in, 3, NULL, 0, &m);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, 0);
  assert_int_equal(lsp_model_init(m, 5), 0);
  const size_t d = m->in_dim, k = m->out_dim;
  float *x = malloc(d * sizeof *x), *dx = malloc(d * sizeof *dx);
  float c[3] = {0.7f, -1.3f, 0.4f};
  for (size_t i = 0; i < d; i++) /* a permutation of 0.1·i */
    x[i] = 0.1f * (float)((i * 37 + 11) % d) - 5.0f;
  lsp_model_ws *ws = lsp_model_ws_alloc(m, 1);
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, x, 1, &z, NULL), 0);
  assert_int_equal(lsp_model_backward(m, ws, c, LSP_BACK_INPUT, dx), 0);
  double nonzero = 0;
  for (size_t i = 0; i < d; i++) {
    double l[2];
    for (int sgn = 0; sgn < 2; sgn++) {
      float keep = x[i];
      x[i] = keep + (sgn ? -0.01f : 0.01f);
      assert_int_equal(lsp_model_forward(m, ws, x, 1, &z, NULL), 0);
      l[sgn] = 0;
      for (size_t j = 0; j < k; j++) l[sgn] += (double)c[j] * z[j];
      x[i] = keep;
    }
    td_close(dx[i], (l[0] - l[1]) / 0.02, 2e-3, 2e-4, "dL/dx", i);
    nonzero += fabs(dx[i]);
  }
  assert_true(nonzero > 0.1); /* the gradient reaches the input */
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  free(x);
  free(dx);
}

/* ---- the logits' affine tail --------------------------------------------- */

/* The logits of tests/data/onnx_tail/<name>.onnx against PyTorch's float64
 * ones, within 1e-6 of the largest (float32 arithmetic on 16-term sums). */
static void tail_case(const char *name) {
  char rel[128], ref[128];
  snprintf(rel, sizeof rel, "onnx_tail/%s.onnx", name);
  snprintf(ref, sizeof ref, "onnx_tail/%s_logits.npy", name);
  lsp_model *m = load(rel, NULL);
  /* folded: the classifier is the last layer, no normalization after it */
  assert_int_equal(m->nodes[m->nnodes - 1].op, LSP_OP_DENSE);
  for (size_t i = 0; i < m->nnodes; i++)
    assert_int_not_equal(m->nodes[i].op, LSP_OP_NORMALIZE);
  assert_int_equal(lsp_model_feature_dim(m), 16);
  lsp_array x, want;
  td_load("onnx_tail/x.npy", &x);
  td_load(ref, &want);
  size_t n = x.count / 8;
  assert_int_equal(want.count, n * 4);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, n);
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, x.data, n, &z, NULL), 0);
  assert_int_equal(want.dtype, LSP_DT_F64);
  const double *w = want.data;
  double scale = 0.0;
  for (size_t i = 0; i < want.count; i++)
    if (fabs(w[i]) > scale) scale = fabs(w[i]);
  for (size_t i = 0; i < want.count; i++)
    td_close(z[i], w[i], 1e-6, 1e-6 * scale, rel, i);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  lsp_array_release(&x);
  lsp_array_release(&want);
}

/* x [5, 8] -> MatMul [8, 3] -> Add b [3] (the bias) -> Div by a scalar T ->
 * Mul by s [1, 3]: the bias Add joins the folded chain; the logits against
 * ((x·W + b) / T)·s in double from the same constants. */
static void matmul_tail(void) {
  const lsp_onnx_shape in = {2, {5, 8, 0, 0}};
  lsp_onnx_model *om = lsp_onnx_model_alloc("x", &in, "y");
  assert_non_null(om);
  onnx_init(om, "w", 2, 8, 3, 0, 0, 1);
  onnx_init(om, "b", 1, 3, 0, 0, 0, 2);
  onnx_init(om, "T", 0, 0, 0, 0, 0, 3);
  onnx_init(om, "s", 2, 1, 3, 0, 0, 4);
  onnx_node(om, LSP_ONNX_MATMUL, "mm", "z", 2, "x", "w", NULL, NULL, NULL);
  onnx_node(om, LSP_ONNX_ADD, "bias", "zb", 2, "z", "b", NULL, NULL, NULL);
  onnx_node(om, LSP_ONNX_DIV, "temp", "zt", 2, "zb", "T", NULL, NULL, NULL);
  onnx_node(om, LSP_ONNX_MUL, "scale", "y", 2, "s", "zt", NULL, NULL, NULL);
  assert_int_equal(lsp_onnx_check(om, "mm.onnx"), 0);
  lsp_model *m = NULL;
  assert_int_equal(lsp_onnx_lower(om, "mm.onnx", NULL, &m), LSP_OK);
  assert_int_equal(m->nnodes, 1);
  const float *w = lsp_onnx_find_init(om, "w")->f;
  const float *b = lsp_onnx_find_init(om, "b")->f;
  double t = lsp_onnx_find_init(om, "T")->f[0];
  const float *sc = lsp_onnx_find_init(om, "s")->f;
  float *x = inputs(5, 8);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, 5);
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, x, 5, &z, NULL), 0);
  for (size_t i = 0; i < 5; i++)
    for (size_t o = 0; o < 3; o++) {
      double v = b[o];
      for (size_t k = 0; k < 8; k++) v += (double)x[i * 8 + k] * w[k * 3 + o];
      double want = v / t * sc[o];
      td_close(z[i * 3 + o], want, 1e-6, 1e-6, "matmul tail", i * 3 + o);
    }
  free(x);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  lsp_onnx_model_free(om);
}

static void test_logits_tail(void **state) {
  (void)state;
  tail_case("temp");   /* Gemm, Div by a scalar Parameter (1.7) */
  tail_case("affine"); /* Gemm, Mul and Sub by per-class Parameters */
  tail_case("chain");  /* (2 − z / T + b) · 0.5 */
  matmul_tail();
  /* a zero divisor: refused, naming the Div */
  lsp_onnx_model *om = NULL;
  assert_int_equal(lsp_onnx_read(td_path("onnx_tail/temp.onnx"), &om), 0);
  const lsp_onnx_tensor *t = lsp_onnx_find_init(om, "temperature");
  assert_non_null(t);
  t->f[0] = 0.0f;
  lsp_model *m = (lsp_model *)1;
  assert_int_equal(lsp_onnx_lower(om, "temp.onnx", NULL, &m), LSP_EDATA);
  assert_null(m);
  assert_non_null(strstr(lsp_errmsg(), "temp.onnx: node '/Div' (Div)"));
  assert_non_null(strstr(lsp_errmsg(), "non-zero divisor"));
  /* a divisor so small the weights leave float32 */
  t->f[0] = 1e-42f; /* subnormal */
  assert_int_equal(lsp_onnx_lower(om, "temp.onnx", NULL, &m), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "node '/Div' (Div)"));
  assert_non_null(strstr(lsp_errmsg(), "float32's finite range"));
  /* the probe (conformance runner) keeps the Div as it is */
  t->f[0] = 2.0f;
  lsp_onnx_lower_opts probe = {NULL, 1};
  assert_int_equal(lsp_onnx_lower(om, "temp.onnx", &probe, &m), LSP_OK);
  assert_int_equal(lsp_model_feature_dim(m), 4);
  lsp_model_free(m);
  lsp_onnx_model_free(om);
  /* the logits divided by their norm: the divisor is computed, refused */
  assert_int_equal(lsp_model_load(td_path("onnx_tail/norm.onnx"), &m),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "node '/ReduceL2' (ReduceL2)"));
}

/* ---- refusals ------------------------------------------------------------ */

static void test_refused(void **state) {
  (void)state;
  /* the MLP without its last layer: the output is a Relu */
  lsp_onnx_model *om = onnx_build_mlp();
  free(om->output);
  om->output = malloc(2);
  strcpy(om->output, "r");
  assert_int_equal(lsp_onnx_check(om, "cut.onnx"), 0);
  lsp_model *m = (lsp_model *)1;
  assert_int_equal(lsp_onnx_lower(om, "cut.onnx", NULL, &m), LSP_EDATA);
  assert_null(m);
  assert_non_null(strstr(lsp_errmsg(), "cut.onnx: node 'relu' (Relu)"));
  assert_non_null(strstr(lsp_errmsg(), "logits of a Gemm or MatMul"));
  /* ... which a probe (the conformance runner) runs anyway */
  lsp_onnx_lower_opts probe = {NULL, 1};
  assert_int_equal(lsp_onnx_lower(om, "cut.onnx", &probe, &m), LSP_OK);
  assert_int_equal(lsp_model_feature_dim(m), 16);
  lsp_model_free(m);
  lsp_onnx_model_free(om);
  /* an asymmetric padding: the general pool for an average pool, a zero
   * Pad node in front of a convolution */
  om = onnx_build_cnn();
  om->nodes[7].pads[2] = 0; /* avg: pads 1, 1, 0, 1 */
  om->nodes[1].pads[3] = 2; /* conv1: pads 0, 0, 0, 2 */
  assert_int_equal(lsp_onnx_check(om, "asym.onnx"), 0);
  assert_int_equal(lsp_onnx_lower(om, "asym.onnx", NULL, &m), LSP_OK);
  int avg = lsp_model_find(m, "avg"), pad = lsp_model_find(m, "conv1.pad");
  assert_true(avg >= 0 && pad >= 0);
  assert_int_equal(m->nodes[avg].op, LSP_OP_POOL);
  assert_int_equal(m->nodes[pad].op, LSP_OP_PAD);
  assert_int_equal(m->nodes[pad].a.pr, 2);
  lsp_model_free(m);
  /* a weight lsprobe's layers cannot hold: a bias of -inf */
  const lsp_onnx_tensor *cb = lsp_onnx_find_init(om, "conv1.b");
  cb->f[2] = -INFINITY;
  assert_int_equal(lsp_onnx_lower(om, "asym.onnx", NULL, &m), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "node 'conv1' (Conv)"));
  assert_non_null(strstr(lsp_errmsg(), "not finite"));
  lsp_onnx_model_free(om);
  /* a file that is neither format */
  const char *path = td_tmp("neither.bin");
  FILE *fp = fopen(path, "wb");
  fputs("hello", fp);
  fclose(fp);
  assert_int_equal(lsp_model_load(path, &m), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "not an lsprobe model (bad magic)"));
  assert_non_null(strstr(lsp_errmsg(), "read as ONNX"));
  remove(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_torch_exports),
      cmocka_unit_test(test_maxpool_endpad),
      cmocka_unit_test(test_pad_chain),
      cmocka_unit_test(test_features),
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_new_layers_fd),
      cmocka_unit_test(test_logits_tail),
      cmocka_unit_test(test_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
