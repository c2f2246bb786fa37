/* Global pooling as PyTorch classifiers write it, and 1×1-convolution
 * classifier heads (tests/data/onnx_pool, gen_onnx_pool.py):
 * - h.mean(3).mean(2), h.mean(-1).mean(-1) and the keepdim form (two
 *   ReduceMean over one spatial axis each; opsets 13, 17 and 18's axes
 *   input) are one gap; F.adaptive_max_pool2d, nn.AdaptiveMaxPool2d
 *   (MaxPool over the whole image), h.amax((2, 3)) and h.amax(3).amax(2)
 *   (ReduceMax), torch.max(h.view(n, 6, -1), 2)[0] and GlobalMaxPool are
 *   one gmp; a Conv 1×1 → global average pooling head (GlobalAveragePool,
 *   ReduceMean, an AveragePool over the whole image) is gap then a dense
 *   classifier. Each computes PyTorch's float64 logits (1e-5 relative to
 *   the largest), input gradient, and predictions after an FGSM step;
 * - gmp alone matches F.adaptive_max_pool2d in float64 on tied maxima (the
 *   gradient to the first maximum in row-major order, where amax splits
 *   it), and differentiates as its forward in a graph (central
 *   differences); `--arch`, `.lspm` and `lsprobe export` keep it;
 * - a mean over one axis kept as a feature map, a maximum over the
 *   channels and heads no dense layer computes are refused, named. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"
#include "core/import/onnx/lsp_onnx.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/lsp_ops.h"
#include "testutil.h"
#include "model_fixture.h"

#define DIR "onnx_pool/"
enum { N = 8, K = 4 };

/* PyTorch's float64 numbers (model_fixture.h): logits within `tol` (1e-5
 * unless set), the input gradient within 1e-4, the FGSM predictions. */
static double tol = 1e-5;
static void torch_case(lsp_model *m, const char *file, const char *ref) {
  fx_torch_case(m, DIR, file, ref, N, K, tol, 1e-4);
}

/* conv relu conv relu, the pooling, the classifier: 6 nodes (7 with the
 * Reshape of the view), one of them `pool`, the features its 6 channels. */
static void pooled_cnn(const char *file, lsp_op pool, const char *ref) {
  lsp_model *m = fx_load(file);
  assert_int_equal(fx_count_op(m, pool), 1);
  assert_int_equal(fx_count_op(m, LSP_OP_GAP) + fx_count_op(m, LSP_OP_GMP), 1);
  assert_int_equal(fx_count_op(m, LSP_OP_POOL) + fx_count_op(m, LSP_OP_MAXPOOL), 0);
  assert_int_equal(lsp_model_feature_dim(m), 6);
  torch_case(m, file, ref);
  lsp_model_free(m);
}

static void test_torch_mean(void **state) {
  (void)state;
  const char *files[] = {DIR "mean_op13.onnx", DIR "mean_op17.onnx",
                         DIR "mean_op18.onnx", DIR "meanneg_op13.onnx",
                         DIR "meankeep_op17.onnx"};
  for (size_t f = 0; f < sizeof files / sizeof *files; f++)
    pooled_cnn(files[f], LSP_OP_GAP, "mean");
}

static void test_torch_max(void **state) {
  (void)state;
  const char *files[] = {DIR "max_op13.onnx",   DIR "maxmod_op17.onnx",
                         DIR "amax_op13.onnx",  DIR "amax_op17.onnx",
                         DIR "amax_op18.onnx",  DIR "maxview_op13.onnx",
                         DIR "amax2_op13.onnx", DIR "global_op13.onnx"};
  for (size_t f = 0; f < sizeof files / sizeof *files; f++)
    pooled_cnn(files[f], LSP_OP_GMP, "max");
}

/* Conv 1×1 (6 → 4) then global average pooling as the logits: gap of the
 * trunk then a dense classifier of the 1×1 kernel, whose features are the
 * pooled trunk (PyTorch's mean of h over the pixels). */
static void test_torch_head(void **state) {
  (void)state;
  const char *files[] = {DIR "head_op13.onnx", DIR "head_mean_op17.onnx",
                         DIR "head_avgpool_op17.onnx"};
  lsp_array x, fw;
  td_load(DIR "x.npy", &x);
  td_load(DIR "head_feat.npy", &fw);
  for (size_t f = 0; f < 3; f++) {
    lsp_model *m = fx_load(files[f]);
    const lsp_node *cls = &m->nodes[m->nnodes - 1];
    assert_int_equal(cls->op, LSP_OP_DENSE);
    assert_int_equal(cls->a.units, K);
    assert_int_equal(m->nodes[cls->in[0]].op, LSP_OP_GAP);
    assert_int_equal(fx_count_op(m, LSP_OP_CONV), 2);
    assert_int_equal(lsp_model_feature_dim(m), 6);
    lsp_model_ws *ws = lsp_model_ws_alloc(m, N);
    const float *z, *h;
    assert_int_equal(lsp_model_forward(m, ws, x.data, N, &z, &h), 0);
    const double *hr = fw.data;
    double hs = fx_max_abs(hr, N * 6);
    for (size_t i = 0; i < N * 6; i++)
      td_close(h[i], hr[i], 1e-5, 1e-5 * hs, "features", i);
    lsp_model_ws_free(ws);
    torch_case(m, files[f], "head");
    lsp_model_free(m);
  }
  lsp_array_release(&x);
  lsp_array_release(&fw);
  /* --features: the head's Conv is the classifier, not a layer before it */
  lsp_model *m = (lsp_model *)1;
  lsp_load_opts o = {"/cls/Conv"};
  char note[256];
  assert_int_equal(
      lsp_model_load_opts(td_path(files[0]), &o, &m, note, sizeof note),
      LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(),
                         "--features '/cls/Conv': this 1×1 "
                         "convolution is the classifier"));
}

/* conv1x1 (6 → 4), ReLU, global average pooling (SqueezeNet's and NiN's
 * head; F.adaptive_avg_pool2d then Flatten, or .mean((2, 3))): the Conv
 * and the ReLU kept, gap, then an identity 4 → 4 classifier (weights I,
 * bias 0); the features are the pooled class maps, the logits bit for bit.
 * PyTorch's float64 logits, gradient and FGSM predictions; `lsprobe
 * export`'s description reads back with the same logits, bit for bit. */
static void test_torch_head_relu(void **state) {
  (void)state;
  const char *files[] = {DIR "head_relu_op13.onnx",
                         DIR "head_relumean_op17.onnx"};
  lsp_array x;
  td_load(DIR "x.npy", &x);
  for (size_t f = 0; f < 2; f++) {
    lsp_model *m = fx_load(files[f]);
    const size_t last = m->nnodes - 1;
    const lsp_node *cls = &m->nodes[last], *gap = &m->nodes[cls->in[0]];
    assert_int_equal(cls->op, LSP_OP_DENSE);
    assert_int_equal(cls->a.units, K);
    assert_int_equal(gap->op, LSP_OP_GAP);
    const lsp_node *act = &m->nodes[gap->in[0]];
    assert_int_equal(act->op, LSP_OP_RELU);
    assert_int_equal(m->nodes[act->in[0]].op, LSP_OP_CONV);
    assert_int_equal(m->nodes[act->in[0]].a.units, K);
    assert_int_equal(fx_count_op(m, LSP_OP_CONV), 3);
    assert_int_equal(lsp_model_feature_dim(m), K);
    float *w, *b;
    assert_int_equal(lsp_model_tensor(m, last, "weight", &w, NULL, NULL), 0);
    assert_int_equal(lsp_model_tensor(m, last, "bias", &b, NULL, NULL), 0);
    for (size_t i = 0; i < K * K; i++)
      assert_true(w[i] == (i % (K + 1) == 0 ? 1.0f : 0.0f));
    for (size_t i = 0; i < K; i++) assert_true(b[i] == 0.0f);
    lsp_model_ws *ws = lsp_model_ws_alloc(m, N);
    const float *z, *h;
    float z0[N * K];
    assert_int_equal(lsp_model_forward(m, ws, x.data, N, &z, &h), 0);
    assert_memory_equal(z, h, sizeof z0); /* the class maps, pooled */
    memcpy(z0, z, sizeof z0);
    lsp_model_ws_free(ws);
    tol = 1e-6;
    torch_case(m, files[f], "head_relu");
    tol = 1e-5;
    lsp_onnx_model *om = NULL;
    const char *op = td_tmp("head_relu.onnx");
    assert_int_equal(lsp_onnx_from_model(m, &om), 0);
    assert_int_equal(lsp_onnx_write(om, op), 0);
    lsp_onnx_model_free(om);
    lsp_model *r = NULL;
    assert_int_equal(lsp_model_load(op, &r), 0);
    assert_int_equal(r->nnodes, m->nnodes);
    lsp_model_ws *wr = lsp_model_ws_alloc(r, N);
    assert_int_equal(lsp_model_forward(r, wr, x.data, N, &z, NULL), 0);
    assert_memory_equal(z0, z, sizeof z0);
    lsp_model_ws_free(wr);
    lsp_model_free(r);
    lsp_model_free(m);
  }
  lsp_array_release(&x);
}

/* ---- gmp on its own ------------------------------------------------------ */

/* F.adaptive_max_pool2d on integer-valued [3, 4, 5, 6] images with tied
 * maxima: the same maxima, and the gradient of sum(y·dy) at the first
 * maximum in row-major order, exactly (amax's split differs there). */
static void test_gmp_ties(void **state) {
  (void)state;
  lsp_array xa, dya, ya, dxa, dxm;
  td_load(DIR "gmp_x.npy", &xa);
  td_load(DIR "gmp_dy.npy", &dya);
  td_load(DIR "gmp_y.npy", &ya);
  td_load(DIR "gmp_dx.npy", &dxa);
  td_load(DIR "gmp_dx_amax.npy", &dxm);
  enum { B = 3, C = 4, HW = 30 };
  lsp_node nd;
  memset(&nd, 0, sizeof nd);
  nd.op = LSP_OP_GMP;
  nd.ishape = nd.ishape1 = (lsp_shape){C, 5, 6};
  nd.shape = (lsp_shape){C, 1, 1};
  float y[B * C], dx[B * C * HW];
  lsp_op_call c;
  memset(&c, 0, sizeof c);
  c.nd = &nd, c.n = B, c.x0 = xa.data, c.y = y;
  lsp_op_get(LSP_OP_GMP)->forward(&c);
  c.yv = y, c.dy = dya.data, c.dx0 = dx;
  for (size_t i = 0; i < B * C * HW; i++) dx[i] = NAN; /* all overwritten */
  lsp_op_get(LSP_OP_GMP)->backward(&c);
  const double *yr = ya.data, *gr = dxa.data, *gm = dxm.data;
  for (size_t i = 0; i < B * C; i++) assert_true(y[i] == yr[i]);
  size_t split = 0;
  for (size_t i = 0; i < B * C * HW; i++) {
    assert_true(dx[i] == (float)gr[i]);
    split += gr[i] != gm[i];
  }
  assert_true(split > 0); /* the data has ties, where amax splits */
  lsp_array_release(&xa);
  lsp_array_release(&dya);
  lsp_array_release(&ya);
  lsp_array_release(&dxa);
  lsp_array_release(&dxm);
}

/* `--arch "conv(3,3) gmp"` + the classifier: input and parameter gradients
 * against central differences (distinct values: no tie within the step);
 * saved (.lspm) and exported (GlobalMaxPool) with the same logits, bit for
 * bit. */
static void test_gmp_graph(void **state) {
  (void)state;
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("conv(3,3) gmp", (lsp_shape){2, 5, 5}, 3,
                                       NULL, 0, &m),
                   0);
  assert_int_equal(lsp_model_init(m, 5), 0);
  assert_int_equal(lsp_model_feature_dim(m), 3);
  const size_t d = m->in_dim;
  float x[50], dx[50], c[3] = {0.7f, -1.3f, 0.4f};
  for (size_t i = 0; i < d; i++) x[i] = 0.9f * sinf(1.7f * (float)i + 0.3f);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, 1);
  fx_objective(m, ws, x, c);
  assert_int_equal(
      lsp_model_backward(m, ws, c, LSP_BACK_INPUT | LSP_BACK_PARAMS, dx), 0);
  float *g = malloc(m->nparams * sizeof *g);
  memcpy(g, m->grads, m->nparams * sizeof *g);
  fx_fd_check(m, ws, x, dx, d, x, c, 1e-3f, "dL/dx");
  fx_fd_check(m, ws, m->params, g, m->nparams, x, c, 1e-3f, "dL/dparams");
  size_t nz = 0; /* each channel's gradient reaches one 3×3 window */
  for (size_t i = 0; i < d; i++) nz += dx[i] != 0.0f;
  assert_true(nz > 0 && nz <= 3 * 2 * 9);
  free(g);
  const float *z;
  float z0[3];
  assert_int_equal(lsp_model_forward(m, ws, x, 1, &z, NULL), 0);
  memcpy(z0, z, sizeof z0);
  lsp_model_ws_free(ws);
  char sa[1024], sb[1024];
  lsp_model_arch_string(m, sa, sizeof sa);
  assert_non_null(strstr(sa, "gmp"));
  const char *lp = td_tmp("gmp.lspm"), *op = td_tmp("gmp.onnx");
  assert_int_equal(lsp_model_save(m, lp), 0);
  lsp_onnx_model *om = NULL;
  assert_int_equal(lsp_onnx_from_model(m, &om), 0);
  int gmps = 0;
  for (size_t k = 0; k < om->nnodes; k++)
    gmps += om->nodes[k].op == LSP_ONNX_GLOBALMAXPOOL;
  assert_int_equal(gmps, 1);
  assert_int_equal(lsp_onnx_write(om, op), 0);
  lsp_onnx_model_free(om);
  const char *paths[2] = {lp, op};
  for (int f = 0; f < 2; f++) {
    lsp_model *r = NULL;
    int st = lsp_model_load(paths[f], &r);
    if (st) print_error("%s\n", lsp_errmsg());
    assert_int_equal(st, 0);
    assert_int_equal(fx_count_op(r, LSP_OP_GMP), 1);
    if (f == 0) {
      lsp_model_arch_string(r, sb, sizeof sb);
      assert_string_equal(sa, sb);
    }
    lsp_model_ws *wr = lsp_model_ws_alloc(r, 1);
    assert_int_equal(lsp_model_forward(r, wr, x, 1, &z, NULL), 0);
    assert_memory_equal(z0, z, sizeof z0);
    lsp_model_ws_free(wr);
    lsp_model_free(r);
  }
  lsp_model_free(m);
}

/* ---- by hand: closed forms ------------------------------------------------
 */

/* x [2, 3, 5, 6] (x[i] = sin(0.7 i)) → Conv 1×1 (W [4, 3], no bias) → [Add
 * of b [1, 4, 1, 1]] → GlobalAveragePool → Flatten: gap then a dense
 * classifier; z[n, o] = Σ_c W[o, c]·mean(x[n, c]) + b[o] (b = 0 without the
 * Add), the features mean(x[n, c]), against the sums in double here.
 * sig: a Sigmoid after the Add, before the pooling: conv, sigmoid, gap and
 * an identity classifier; z[n, o] = mean_p σ(Σ_c W[o, c]·x[n, c, p] +
 * b[o]), the features z. */
static void head_by_hand(int with_add, int sig) {
  enum { B = 2, C = 3, O = 4, HW = 30 };
  const lsp_onnx_shape in = {4, {-1, C, 5, 6}};
  lsp_onnx_model *om = lsp_onnx_model_alloc("x", &in, "y");
  float w[O * C], b[O], x[B * C * HW];
  for (size_t i = 0; i < O * C; i++) w[i] = cosf(1.3f * (float)i);
  for (size_t i = 0; i < O; i++) b[i] = 0.25f * (float)i - 0.4f;
  for (size_t i = 0; i < B * C * HW; i++) x[i] = sinf(0.7f * (float)i);
  const int64_t wd[4] = {O, C, 1, 1}, bd[4] = {1, O, 1, 1};
  assert_int_equal(lsp_onnx_add_init(om, "w", 4, wd, w), 0);
  assert_int_equal(lsp_onnx_add_init(om, "b", 4, bd, b), 0);
  const char *cin[2] = {"x", "w"}, *ain[2] = {"z0", "b"}, *gin[1] = {"z"},
             *fin[1] = {"q"}, *sin_[1] = {"z1"};
  assert_non_null(lsp_onnx_add_node(om, LSP_ONNX_CONV, "cls", 2, cin,
                                    with_add ? "z0" : "z"));
  if (with_add)
    assert_non_null(lsp_onnx_add_node(om, LSP_ONNX_ADD, "bias", 2, ain,
                                      sig ? "z1" : "z"));
  if (sig)
    assert_non_null(
        lsp_onnx_add_node(om, LSP_ONNX_SIGMOID, "sig", 1, sin_, "z"));
  assert_non_null(
      lsp_onnx_add_node(om, LSP_ONNX_GLOBALAVGPOOL, "pool", 1, gin, "q"));
  assert_non_null(lsp_onnx_add_node(om, LSP_ONNX_FLATTEN, "flat", 1, fin, "y"));
  assert_int_equal(lsp_onnx_check(om, "head.onnx"), 0);
  lsp_model *m = NULL;
  int st = lsp_onnx_lower(om, "head.onnx", NULL, &m);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, 0);
  if (sig) { /* conv, sigmoid, gap, identity */
    assert_int_equal(m->nnodes, 4);
    assert_int_equal(m->nodes[0].op, LSP_OP_CONV);
    assert_int_equal(m->nodes[1].op, LSP_OP_SIGMOID);
    assert_int_equal(m->nodes[2].op, LSP_OP_GAP);
    assert_string_equal(m->nodes[3].name, "identity");
  } else {
    assert_int_equal(m->nnodes, 2); /* gap, dense */
    assert_int_equal(m->nodes[0].op, LSP_OP_GAP);
    assert_string_equal(m->nodes[1].name, "cls");
  }
  lsp_model_ws *ws = lsp_model_ws_alloc(m, B);
  const float *z, *h;
  assert_int_equal(lsp_model_forward(m, ws, x, B, &z, &h), 0);
  for (size_t n = 0; n < B; n++) {
    double mean[C];
    for (size_t c = 0; c < C; c++) {
      mean[c] = 0;
      for (size_t p = 0; p < HW; p++) mean[c] += x[(n * C + c) * HW + p];
      mean[c] /= HW;
      if (!sig) td_close(h[n * C + c], mean[c], 1e-6, 1e-7, "features", c);
    }
    for (size_t o = 0; o < O; o++) {
      double want = with_add ? b[o] : 0.0;
      for (size_t c = 0; c < C; c++) want += (double)w[o * C + c] * mean[c];
      if (sig) {
        want = 0.0;
        for (size_t p = 0; p < HW; p++) {
          double a = b[o];
          for (size_t c = 0; c < C; c++)
            a += (double)w[o * C + c] * x[(n * C + c) * HW + p];
          want += 1.0 / (1.0 + exp(-a)) / HW;
        }
        assert_true(h[n * O + o] == z[n * O + o]);
      }
      td_close(z[n * O + o], want, 1e-6, 1e-6, "logits", o);
    }
  }
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  lsp_onnx_model_free(om);
}

/* x [2, 3, 7] (N × C × L) → ReduceMax over [-1] (keepdims 0), or MaxPool
 * with the kernel [7] then Flatten → Gemm (W [4, 3], transB, b [4]): one
 * gmp, z = W·max_l x + b. */
static void max1d_by_hand(int maxpool) {
  enum { B = 2, C = 3, L = 7, O = 4 };
  const lsp_onnx_shape in = {3, {-1, C, L}};
  lsp_onnx_model *om = lsp_onnx_model_alloc("x", &in, "y");
  float w[O * C], b[O], x[B * C * L];
  for (size_t i = 0; i < O * C; i++) w[i] = cosf(0.9f * (float)i);
  for (size_t i = 0; i < O; i++) b[i] = 0.5f - 0.2f * (float)i;
  for (size_t i = 0; i < B * C * L; i++) x[i] = sinf(2.3f * (float)i);
  const int64_t wd[2] = {O, C}, bd[1] = {O};
  assert_int_equal(lsp_onnx_add_init(om, "w", 2, wd, w), 0);
  assert_int_equal(lsp_onnx_add_init(om, "b", 1, bd, b), 0);
  const char *rin[1] = {"x"}, *fin[1] = {"q"}, *gin[3] = {"p", "w", "b"};
  if (maxpool) {
    lsp_onnx_node *mp =
        lsp_onnx_add_node(om, LSP_ONNX_MAXPOOL, "mp", 1, rin, "q");
    mp->kernel[0] = L, mp->kernel[1] = 1, mp->nspatial = 1;
    assert_non_null(lsp_onnx_add_node(om, LSP_ONNX_FLATTEN, "f", 1, fin, "p"));
  } else {
    lsp_onnx_node *rm =
        lsp_onnx_add_node(om, LSP_ONNX_REDUCEMAX, "rm", 1, rin, "p");
    rm->naxes = 1, rm->axes[0] = -1, rm->keepdims = 0;
  }
  lsp_onnx_node *fc = lsp_onnx_add_node(om, LSP_ONNX_GEMM, "fc", 3, gin, "y");
  assert_non_null(fc);
  fc->trans_b = 1;
  assert_int_equal(lsp_onnx_check(om, "max1d.onnx"), 0);
  lsp_model *m = NULL;
  int st = lsp_onnx_lower(om, "max1d.onnx", NULL, &m);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, 0);
  assert_int_equal(fx_count_op(m, LSP_OP_GMP), 1);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, B);
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, x, B, &z, NULL), 0);
  for (size_t n = 0; n < B; n++)
    for (size_t o = 0; o < O; o++) {
      double want = b[o];
      for (size_t c = 0; c < C; c++) {
        double mx = -INFINITY;
        for (size_t l = 0; l < L; l++) mx = fmax(mx, x[(n * C + c) * L + l]);
        want += (double)w[o * C + c] * mx;
      }
      td_close(z[n * O + o], want, 1e-6, 1e-6, "logits", o);
    }
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  lsp_onnx_model_free(om);
}

static void test_by_hand(void **state) {
  (void)state;
  head_by_hand(0, 0);
  head_by_hand(1, 0);
  head_by_hand(1, 1);
  max1d_by_hand(0);
  max1d_by_hand(1);
}

/* ---- heads read through an identity classifier -------------------------- */

/* x [B, 4, 3, 3] → Conv 1×1 to 2 maps (W [2, 4 / group, 1, 1]) with one
 * departure from a dense classifier (0: stride 2; 1: pads top and bottom;
 * 2: two groups; 3: stride 2 and a Relu after it; 4: a global maximum
 * instead of the average) → global pooling → Flatten: the Conv (and Relu)
 * kept, the pooling, an identity classifier; the logits against the
 * closed form in double. */
static void head_maps_by_hand(int what) {
  enum { B = 2, CI = 4, H = 3, O = 2 };
  const lsp_onnx_shape in = {4, {-1, CI, H, H}};
  lsp_onnx_model *om = lsp_onnx_model_alloc("x", &in, "y");
  const int64_t group = what == 2 ? 2 : 1, cg = CI / group;
  const int64_t st = what == 0 || what == 3 ? 2 : 1, pt = what == 1 ? 1 : 0;
  float w[8] = {0.5f, -1, 0.25f, 2, 1, -0.5f, 0.75f, -2};
  const int64_t wd[4] = {O, cg, 1, 1};
  assert_int_equal(lsp_onnx_add_init(om, "w", 4, wd, w), 0);
  const char *cin[2] = {"x", "w"}, *gin[1] = {"z"}, *fin[1] = {"q"},
             *rin[1] = {"z0"};
  lsp_onnx_node *cv = lsp_onnx_add_node(om, LSP_ONNX_CONV, "cls", 2, cin,
                                        what == 3 ? "z0" : "z");
  assert_non_null(cv);
  cv->strides[0] = cv->strides[1] = st;
  cv->pads[0] = cv->pads[2] = pt;
  cv->group = group;
  if (what == 3)
    assert_non_null(lsp_onnx_add_node(om, LSP_ONNX_RELU, "act", 1, rin, "z"));
  assert_non_null(lsp_onnx_add_node(
      om, what == 4 ? LSP_ONNX_GLOBALMAXPOOL : LSP_ONNX_GLOBALAVGPOOL, "pool",
      1, gin, "q"));
  assert_non_null(lsp_onnx_add_node(om, LSP_ONNX_FLATTEN, "flat", 1, fin, "y"));
  lsp_model *m = NULL;
  int r = lsp_onnx_check(om, "head.onnx");
  if (!r) r = lsp_onnx_lower(om, "head.onnx", NULL, &m);
  if (r) print_error("%s\n", lsp_errmsg());
  assert_int_equal(r, 0);
  const lsp_node *cls = &m->nodes[m->nnodes - 1];
  assert_int_equal(cls->op, LSP_OP_DENSE);
  assert_string_equal(cls->name, "identity");
  assert_int_equal(m->nodes[cls->in[0]].op, what == 4 ? LSP_OP_GMP : LSP_OP_GAP);
  assert_int_equal(fx_count_op(m, LSP_OP_CONV), 1);
  assert_int_equal(lsp_model_feature_dim(m), O);
  float x[B * CI * H * H];
  for (size_t i = 0; i < sizeof x / sizeof *x; i++)
    x[i] = (float)((int)(i * 7 % 11) - 5) / 4.0f;
  lsp_model_ws *ws = lsp_model_ws_alloc(m, B);
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, x, B, &z, NULL), 0);
  const int64_t ho = (H + 2 * pt - 1) / st + 1, wo = (H - 1) / st + 1;
  for (size_t n = 0; n < B; n++)
    for (int64_t o = 0; o < O; o++) {
      double acc = what == 4 ? -INFINITY : 0.0;
      for (int64_t i = 0; i < ho; i++)
        for (int64_t j = 0; j < wo; j++) {
          const int64_t ii = i * st - pt, jj = j * st;
          double v = 0.0; /* a padded pixel: no bias, 0 */
          for (int64_t c = 0; ii >= 0 && ii < H && c < cg; c++)
            v += (double)w[o * cg + c] *
                 x[((n * CI + (size_t)(o / (O / group) * cg + c)) * H + (size_t)ii) * H +
                   (size_t)jj];
          if (what == 3) v = fmax(v, 0.0);
          acc = what == 4 ? fmax(acc, v) : acc + v / (double)(ho * wo);
        }
      td_close(z[n * O + (size_t)o], acc, 1e-6, 1e-6, "logits", (size_t)o);
    }
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  lsp_onnx_model_free(om);
}

/* PyTorch heads no dense layer computes: the 1×1 head pooled by a global
 * maximum, and a 3×3 convolution of stride 2 and padding 1 to the classes
 * pooled by a global average; their float64 logits, gradient and FGSM
 * predictions, the features the pooled class maps. */
static void test_torch_head_maps(void **state) {
  (void)state;
  const char *files[] = {DIR "head_max_op13.onnx", DIR "head_s2_op13.onnx"};
  const char *refs[] = {"head_max", "head_s2"};
  const lsp_op pools[] = {LSP_OP_GMP, LSP_OP_GAP};
  for (size_t f = 0; f < 2; f++) {
    lsp_model *m = fx_load(files[f]);
    const lsp_node *cls = &m->nodes[m->nnodes - 1];
    assert_int_equal(cls->op, LSP_OP_DENSE);
    assert_string_equal(cls->name, "identity");
    assert_int_equal(m->nodes[cls->in[0]].op, pools[f]);
    assert_int_equal(fx_count_op(m, LSP_OP_CONV), 3);
    assert_int_equal(lsp_model_feature_dim(m), K);
    torch_case(m, files[f], refs[f]);
    lsp_model_free(m);
  }
  for (int what = 0; what <= 4; what++) head_maps_by_hand(what);
}

/* ---- refusals ------------------------------------------------------------ */

static void test_refused(void **state) {
  (void)state;
  fx_refused(DIR "bad_meanw_op13.onnx", "node '/ReduceMean' (ReduceMean)",
          "axes [3] leave a feature map (6 × 8 × 1 per example)");
  fx_refused(DIR "bad_maxc_op13.onnx", "node '/ReduceMax' (ReduceMax)",
          "axes [1] of a rank-4 input: lsprobe takes the maximum over the "
          "spatial axes only");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_torch_mean), cmocka_unit_test(test_torch_max),
      cmocka_unit_test(test_torch_head), cmocka_unit_test(test_torch_head_relu),
      cmocka_unit_test(test_torch_head_maps),
      cmocka_unit_test(test_gmp_ties),
      cmocka_unit_test(test_gmp_graph),  cmocka_unit_test(test_by_hand),
      cmocka_unit_test(test_refused),
  };
  return td_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
