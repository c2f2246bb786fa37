/* The graph operations of common classifiers' ONNX exports: the mul and
 * concat kinds and the ONNX ops that lower to them (Mul of two values,
 * Concat), ReduceMean over the spatial axes, BatchNormalization on N × C:
 * - PyTorch 1.13's exports of a CNN (a gating h·relu(conv(h)), a
 *   squeeze-and-excitation gate [N, C, 1, 1]·h, a square t·t, a
 *   three-branch Concat, x.mean((2, 3)) with and without keepdim;
 *   opsets 13 and 17, and 17's file in opset 18's form: ReduceMean's axes
 *   an input) and of an MLP (Linear → BatchNorm1d → ReLU beside a
 *   second branch, Concat of N × D values, c·relu(c)) compute PyTorch's
 *   float64 logits and input gradients, and the FGSM direction
 *   (tests/data/onnx_graphops, gen_onnx_graphops.py);
 * - mul (also by a per-channel gate) and concat differentiate as their
 *   forward: input and parameter gradients against central differences,
 *   with a node that feeds both inputs of one consumer (x·x, concat(x, x));
 * - the read mask maps each input element of a concat to its slice;
 * - `.lspm` files and `lsprobe export` keep them (bit-identical logits);
 * - other axes, computed operands of Sub and Concat of constants are
 *   refused, naming the file, node and op. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"
#include "core/import/onnx/lsp_onnx.h"
#include "core/import/onnx/lsp_onnx_int.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/lsp_ops.h"
#include "testutil.h"
#include "model_fixture.h"
#include "onnx_cmp.h"

#define DIR "onnx_graphops/"
enum { N = 8, K = 4 };

/* Logits within `tol` of PyTorch's float64 ones (relative to the largest),
 * the input gradient of the summed cross-entropy within 1e-4 of the largest
 * and its sign (the FGSM step) equal wherever PyTorch's is not within
 * 1e-4 of the largest of zero. */
static void torch_case(const char *rel, const char *ref, const char *xrel,
                       double tol) {
  lsp_model *m = fx_load(rel);
  lsp_array x, ya, zw, gw;
  char p[128];
  td_load(DIR "labels.npy", &ya);
  td_load(xrel, &x);
  snprintf(p, sizeof p, DIR "%s_logits.npy", ref);
  td_load(p, &zw);
  snprintf(p, sizeof p, DIR "%s_grad.npy", ref);
  td_load(p, &gw);
  int32_t *y;
  assert_int_equal(lsp_array_labels(&ya, "labels.npy", K, &y), LSP_OK);
  const size_t d = m->in_dim;
  assert_int_equal(x.count, N * d);
  assert_int_equal(zw.count, N * K);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, N);
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, x.data, N, &z, NULL), 0);
  const double *zr = zw.data, *gr = gw.data;
  double zs = fx_max_abs(zr, N * K);
  for (size_t i = 0; i < N * K; i++)
    td_close(z[i], zr[i], tol, tol * zs, rel, i);
  float dz[N * K], *dx = malloc(N * d * sizeof *dx);
  lsp_ls ce = {0.0, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_loss_xent(z, y, N, K, &ce, dz, 1.0, NULL, NULL), 0);
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, dx), 0);
  double gs = fx_max_abs(gr, N * d);
  size_t signs = 0;
  for (size_t i = 0; i < N * d; i++) {
    td_close(dx[i], gr[i], 1e-4, 1e-4 * gs, "dL/dx", i);
    if (fabs(gr[i]) > 1e-4 * gs) {
      assert_true((dx[i] > 0) == (gr[i] > 0));
      signs++;
    }
  }
  assert_true(signs > N * d / 2); /* most of the step is checked */
  free(dx);
  free(y);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  lsp_array_release(&x);
  lsp_array_release(&ya);
  lsp_array_release(&zw);
  lsp_array_release(&gw);
}

static void test_torch_cnn(void **state) {
  (void)state;
  const char *files[] = {DIR "cnn_op13.onnx", DIR "cnn_op17.onnx",
                         DIR "cnn_op18.onnx", DIR "cnn_keep_op13.onnx"};
  for (size_t f = 0; f < 4; f++) {
    lsp_model *m = fx_load(files[f]);
    assert_int_equal(fx_count_op(m, LSP_OP_MUL), 3);
    assert_int_equal(fx_count_op(m, LSP_OP_CONCAT), 2); /* three inputs */
    assert_int_equal(fx_count_op(m, LSP_OP_GAP), 2);
    int gate = -1; /* s·h: the image first, the gate second */
    for (size_t i = 0; i < m->nnodes; i++)
      if (m->nodes[i].op == LSP_OP_MUL && m->nodes[i].ishape1.h == 1)
        gate = (int)i;
    assert_true(gate >= 0);
    assert_int_equal(m->nodes[gate].ishape.h * m->nodes[gate].ishape.w, 64);
    assert_int_equal(m->nodes[gate].ishape1.c, 6);
    assert_int_equal(lsp_model_feature_dim(m), 10);
    lsp_model_free(m);
    torch_case(files[f], "cnn", DIR "x.npy", 1e-5);
  }
}

/* BatchNormalization on N × C: the bn kind on C × 1 × 1, within 1e-6 of
 * PyTorch's float64 logits. */
static void test_torch_mlp_bn(void **state) {
  (void)state;
  const char *files[] = {DIR "mlp_op13.onnx", DIR "mlp_op17.onnx"};
  for (size_t f = 0; f < 2; f++) {
    lsp_model *m = fx_load(files[f]);
    assert_int_equal(fx_count_op(m, LSP_OP_BN), 1);
    assert_int_equal(fx_count_op(m, LSP_OP_MUL), 1);
    assert_int_equal(fx_count_op(m, LSP_OP_CONCAT), 1);
    assert_int_equal(lsp_model_feature_dim(m), 22);
    lsp_model_free(m);
    torch_case(files[f], "mlp", DIR "v.npy", 1e-6);
  }
}

/* ---- the kinds on their own ---------------------------------------------- */

/* x (2×4×4) → a = conv(3, 3×3, p 1), b = conv(3, 1×1) → p = a·b → q = p·p
 * → g = gap(b) → r = q·g (a gate per channel) → c = concat(r, a) → e =
 * concat(c, c) → flatten → dense(3): every input and parameter gradient of
 * L = Σ c_k z_k against central differences. */
static lsp_model *small_graph(void) {
  lsp_model *m = lsp_model_new((lsp_shape){2, 4, 4});
  assert_non_null(m);
  lsp_attrs a;
  int ia, ib, ip, iq, ic, ie, ifl;
  lsp_attrs_default(LSP_OP_CONV, &a);
  a.units = 3, a.kh = a.kw = 3, a.ph = a.pw = 1;
  assert_int_equal(lsp_model_add(m, LSP_OP_CONV, &a, LSP_INPUT, 0, "a", &ia),
                   0);
  a.kh = a.kw = 1, a.ph = a.pw = 0;
  assert_int_equal(lsp_model_add(m, LSP_OP_CONV, &a, LSP_INPUT, 0, "b", &ib),
                   0);
  lsp_attrs_default(LSP_OP_MUL, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_MUL, &a, ia, ib, "p", &ip), 0);
  assert_int_equal(lsp_model_add(m, LSP_OP_MUL, &a, ip, ip, "q", &iq), 0);
  int ig, ir;
  lsp_attrs_default(LSP_OP_GAP, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_GAP, &a, ib, 0, "g", &ig), 0);
  lsp_attrs_default(LSP_OP_MUL, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_MUL, &a, iq, ig, "r", &ir), 0);
  assert_int_equal(m->nodes[ir].shape.h, 4);
  lsp_attrs_default(LSP_OP_CONCAT, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_CONCAT, &a, ir, ia, "c", &ic), 0);
  assert_int_equal(m->nodes[ic].shape.c, 6);
  assert_int_equal(lsp_model_add(m, LSP_OP_CONCAT, &a, ic, ic, "e", &ie), 0);
  lsp_attrs_default(LSP_OP_FLATTEN, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_FLATTEN, &a, ie, 0, "f", &ifl), 0);
  lsp_attrs_default(LSP_OP_DENSE, &a);
  a.units = 3;
  assert_int_equal(lsp_model_add(m, LSP_OP_DENSE, &a, ifl, 0, "fc", NULL), 0);
  assert_int_equal(lsp_model_finish(m), 0);
  assert_int_equal(lsp_model_init(m, 9), 0);
  return m;
}

static void test_kinds_fd(void **state) {
  (void)state;
  lsp_model *m = small_graph();
  const size_t d = m->in_dim;
  float x[32], dx[32], c[3] = {0.7f, -1.3f, 0.4f};
  for (size_t i = 0; i < d; i++) x[i] = 0.9f * sinf(1.1f * (float)i + 0.3f);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, 1);
  fx_objective(m, ws, x, c);
  assert_int_equal(
      lsp_model_backward(m, ws, c, LSP_BACK_INPUT | LSP_BACK_PARAMS, dx), 0);
  float *g = malloc(m->nparams * sizeof *g);
  memcpy(g, m->grads, m->nparams * sizeof *g);
  fx_fd_check(m, ws, x, dx, d, x, c, 0.01f, "dL/dx");
  fx_fd_check(m, ws, m->params, g, m->nparams, x, c, 0.01f, "dL/dparams");
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, x, 1, &z, NULL), 0);
  float z0[3]; /* z lives in ws */
  memcpy(z0, z, sizeof z0);
  free(g);
  lsp_model_ws_free(ws);
  /* saved and loaded (.lspm format 3): the same logits, bit for bit */
  const char *path = td_tmp("graphops.lspm");
  assert_int_equal(lsp_model_save(m, path), 0);
  lsp_model *r = NULL;
  assert_int_equal(lsp_model_load_lspm(path, &r), 0);
  char sa[2048], sb[2048];
  lsp_model_arch_string(m, sa, sizeof sa);
  lsp_model_arch_string(r, sb, sizeof sb);
  assert_string_equal(sa, sb);
  assert_non_null(strstr(sa, "concat"));
  lsp_model_ws *wr = lsp_model_ws_alloc(r, 1);
  assert_int_equal(lsp_model_forward(r, wr, x, 1, &z, NULL), 0);
  assert_memory_equal(z0, z, sizeof z0);
  lsp_model_ws_free(wr);
  lsp_model_free(r);
  lsp_model_free(m);
}

/* Shapes that do not fit are refused at lsp_model_add, naming the node. */
static void test_kinds_refuse(void **state) {
  (void)state;
  lsp_model *m = lsp_model_new((lsp_shape){2, 4, 4});
  lsp_attrs a;
  int ia;
  lsp_attrs_default(LSP_OP_CONV, &a);
  a.units = 3, a.kh = a.kw = 3;
  assert_int_equal(lsp_model_add(m, LSP_OP_CONV, &a, LSP_INPUT, 0, "a", &ia),
                   0);
  lsp_attrs_default(LSP_OP_MUL, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_MUL, &a, ia, LSP_INPUT, "m", NULL),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "m (mul on 3x2x2)"));
  int ig;
  lsp_attrs_default(LSP_OP_GAP, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_GAP, &a, ia, 0, "g", &ig), 0);
  lsp_attrs_default(LSP_OP_MUL, &a); /* the gate must come second */
  assert_int_equal(lsp_model_add(m, LSP_OP_MUL, &a, ig, ia, "m", NULL),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "a second factor of 3x1x1"));
  lsp_attrs_default(LSP_OP_CONCAT, &a);
  assert_int_equal(
      lsp_model_add(m, LSP_OP_CONCAT, &a, ia, LSP_INPUT, "c", NULL),
      LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "height and width must agree"));
  lsp_model_free(m);
  /* not in the spec grammar: one input there */
  m = NULL;
  assert_int_equal(lsp_model_from_spec("conv(2,3) mul", (lsp_shape){1, 6, 6}, 3,
                                       NULL, 0, &m),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "imported ONNX graphs only"));
}

/* The concat rule: input 0 reads the output's first C₀·H·W flags, input 1
 * the rest; in a graph, the read mask of x → concat(x, relu(x)) → conv(1×1,
 * stride 2) → dense is the 9 even pixels of 5 × 5. */
static void test_reads(void **state) {
  (void)state;
  lsp_model *m = lsp_model_new((lsp_shape){1, 5, 5});
  lsp_attrs a;
  int ir, ic, iv, ifl;
  lsp_attrs_default(LSP_OP_RELU, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_RELU, &a, LSP_INPUT, 0, "r", &ir),
                   0);
  lsp_attrs_default(LSP_OP_CONCAT, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_CONCAT, &a, LSP_INPUT, ir, "c", &ic),
                   0);
  lsp_attrs_default(LSP_OP_CONV, &a);
  a.units = 1, a.kh = a.kw = 1, a.sh = a.sw = 2;
  assert_int_equal(lsp_model_add(m, LSP_OP_CONV, &a, ic, 0, "v", &iv), 0);
  lsp_attrs_default(LSP_OP_FLATTEN, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_FLATTEN, &a, iv, 0, "f", &ifl), 0);
  lsp_attrs_default(LSP_OP_DENSE, &a);
  a.units = 2;
  assert_int_equal(lsp_model_add(m, LSP_OP_DENSE, &a, ifl, 0, "fc", NULL), 0);
  assert_int_equal(lsp_model_finish(m), 0);
  uint8_t mask[25];
  size_t nread = 0;
  assert_int_equal(lsp_model_read_mask(m, mask, &nread), 0);
  assert_int_equal(nread, 9);
  for (size_t r = 0; r < 5; r++)
    for (size_t q = 0; q < 5; q++)
      assert_int_equal(mask[r * 5 + q], r % 2 == 0 && q % 2 == 0);
  /* the rule itself on distinct flags */
  float out[50], in0[25], in1[25];
  for (size_t i = 0; i < 50; i++) out[i] = (float)(i % 3 == 0);
  lsp_reads_concat(&m->nodes[ic], out, in0, in1);
  for (size_t i = 0; i < 25; i++) {
    assert_true(in0[i] == out[i]);
    assert_true(in1[i] == out[25 + i]);
  }
  lsp_model_free(m);
  /* a gate's factor is read when some pixel of its channel is:
   * x (2×3×3) · gap(x) with only channel 1's pixel 4 flagged */
  m = lsp_model_new((lsp_shape){2, 3, 3});
  int ig, im;
  lsp_attrs_default(LSP_OP_GAP, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_GAP, &a, LSP_INPUT, 0, "g", &ig), 0);
  lsp_attrs_default(LSP_OP_MUL, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_MUL, &a, LSP_INPUT, ig, "m", &im),
                   0);
  float o2[18] = {0}, g0[18], g1[2];
  o2[9 + 4] = 1.0f;
  lsp_reads_mul(&m->nodes[im], o2, g0, g1);
  assert_memory_equal(g0, o2, sizeof o2);
  assert_true(g1[0] == 0.0f && g1[1] == 1.0f);
  lsp_model_free(m);
}

/* lsprobe → ONNX → lsprobe: mul and concat come back as themselves, the
 * logits bit for bit (images, and flat vectors whose concat is axis 1 of
 * N × D). */
static void roundtrip(lsp_model *m) {
  lsp_onnx_model *om = NULL;
  int st = lsp_onnx_from_model(m, &om);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, 0);
  const char *path = td_tmp("graphops.onnx");
  assert_int_equal(lsp_onnx_write(om, path), 0);
  lsp_onnx_model_free(om);
  lsp_model *r = NULL;
  st = lsp_model_load(path, &r);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, 0);
  assert_int_equal(fx_count_op(r, LSP_OP_MUL), fx_count_op(m, LSP_OP_MUL));
  assert_int_equal(fx_count_op(r, LSP_OP_CONCAT), fx_count_op(m, LSP_OP_CONCAT));
  enum { NB = 5 };
  float *x = malloc(NB * m->in_dim * sizeof *x);
  for (size_t i = 0; i < NB * m->in_dim; i++) x[i] = sinf(0.37f * (float)i);
  float za[NB * 3];
  const float *z;
  lsp_model_ws *wa = lsp_model_ws_alloc(m, NB), *wb = lsp_model_ws_alloc(r, NB);
  assert_int_equal(lsp_model_forward(m, wa, x, NB, &z, NULL), 0);
  memcpy(za, z, NB * m->out_dim * sizeof *za);
  assert_int_equal(lsp_model_forward(r, wb, x, NB, &z, NULL), 0);
  assert_memory_equal(za, z, NB * m->out_dim * sizeof *za);
  lsp_model_ws_free(wa);
  lsp_model_ws_free(wb);
  lsp_model_free(r);
  free(x);
}

static void test_export(void **state) {
  (void)state;
  lsp_model *m = small_graph();
  roundtrip(m);
  lsp_model_free(m);
  /* flat: x (6) → a = dense(4), b = relu(a) → concat(a, x) · ... */
  m = lsp_model_new((lsp_shape){6, 1, 1});
  lsp_attrs a;
  int ia, ib, ic, im;
  lsp_attrs_default(LSP_OP_DENSE, &a);
  a.units = 4;
  assert_int_equal(lsp_model_add(m, LSP_OP_DENSE, &a, LSP_INPUT, 0, "a", &ia),
                   0);
  lsp_attrs_default(LSP_OP_RELU, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_RELU, &a, ia, 0, "b", &ib), 0);
  lsp_attrs_default(LSP_OP_CONCAT, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_CONCAT, &a, ib, LSP_INPUT, "c", &ic),
                   0);
  lsp_attrs_default(LSP_OP_MUL, &a);
  assert_int_equal(lsp_model_add(m, LSP_OP_MUL, &a, ic, ic, "m", &im), 0);
  lsp_attrs_default(LSP_OP_DENSE, &a);
  a.units = 3;
  assert_int_equal(lsp_model_add(m, LSP_OP_DENSE, &a, im, 0, "fc", NULL), 0);
  assert_int_equal(lsp_model_finish(m), 0);
  assert_int_equal(lsp_model_init(m, 4), 0);
  roundtrip(m);
  lsp_model_free(m);
}

/* ---- refusals ------------------------------------------------------------ */

/* x [2, 3, 4, 4] → Relu → h; op(x, second) → y (one input when second is
 * NULL); an initializer k [1, 3, 4, 4]. */
static lsp_onnx_model *two_nodes(lsp_onnx_op op, const char *second) {
  const lsp_onnx_shape in = {4, {2, 3, 4, 4}};
  lsp_onnx_model *om = lsp_onnx_model_alloc("x", &in, "y");
  const int64_t kd[4] = {1, 3, 4, 4};
  float kv[48] = {0};
  const char *rin[1] = {"x"}, *sin[2] = {"h", second};
  assert_int_equal(lsp_onnx_add_init(om, "k", 4, kd, kv), 0);
  assert_non_null(lsp_onnx_add_node(om, LSP_ONNX_RELU, "r", 1, rin, "h"));
  assert_non_null(lsp_onnx_add_node(om, op, "s", second ? 2 : 1, sin, "y"));
  return om;
}

static void test_refused(void **state) {
  (void)state;
  fx_refused(DIR "bad_cat_batch.onnx", "node '/Concat' (Concat)",
          "axis 0: lsprobe concatenates along the channels only");
  fx_refused(DIR "bad_cat_h.onnx", "node '/Concat' (Concat)",
          "axis 2: lsprobe concatenates along the channels only");
  fx_refused(DIR "bad_mean_c.onnx", "node '/ReduceMean' (ReduceMean)",
          "axes [1] of a rank-2 input");
  fx_refused(DIR "bad_mean_attr18.onnx", "node '/ReduceMean' (ReduceMean)",
          "attribute 'axes' exists only up to opset 17");
  fx_refused(DIR "bad_mean_input17.onnx", "node '/ReduceMean' (ReduceMean)",
          "opset 17: ReduceMean takes its axes as an attribute");
  fx_refused(DIR "bad_mean_noop.onnx", "node '/ReduceMean' (ReduceMean)",
          "noop_with_empty_axes = 1 and no axes");
  /* by hand: Sub of two values, Concat of a constant, ReduceMean over
   * the channels, one spatial axis alone, or one axis twice */
  lsp_onnx_model *om = two_nodes(LSP_ONNX_SUB, "h");
  assert_int_equal(lsp_onnx_check(om, "sub.onnx"), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "node 's' (Sub)"));
  assert_non_null(strstr(lsp_errmsg(), "both operands are computed"));
  lsp_onnx_model_free(om);
  om = two_nodes(LSP_ONNX_CONCAT, "k");
  assert_int_equal(lsp_onnx_check(om, "cat.onnx"), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "node 's' (Concat)"));
  assert_non_null(strstr(lsp_errmsg(), "input 'k' is a constant"));
  lsp_onnx_model_free(om);
  om = two_nodes(LSP_ONNX_REDUCEMEAN, NULL);
  lsp_onnx_node *rm = &om->nodes[1];
  rm->naxes = 1, rm->axes[0] = 1; /* the channels */
  assert_int_equal(lsp_onnx_check(om, "mean.onnx"), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "node 's' (ReduceMean)"));
  assert_non_null(strstr(lsp_errmsg(), "axes [1] of a rank-4 input"));
  rm->axes[0] = 3; /* the width alone: a 4 × 1 map, not a pooling */
  assert_int_equal(lsp_onnx_check(om, "mean.onnx"), LSP_OK);
  assert_int_equal(rm->out.dims[2] * 10 + rm->out.dims[3], 41);
  lsp_model *lm = NULL;
  assert_int_equal(lsp_onnx_lower(om, "mean.onnx", NULL, &lm), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "node 's' (ReduceMean)"));
  assert_non_null(
      strstr(lsp_errmsg(), "axes [3] leave a feature map (3 × 4 × 1 per"));
  rm->naxes = 2, rm->axes[1] = -2; /* [3, -2]: both spatial axes */
  assert_int_equal(lsp_onnx_check(om, "mean.onnx"), LSP_OK);
  assert_int_equal(rm->out.rank, 4);
  assert_int_equal(rm->out.dims[1], 3);
  assert_int_equal(rm->out.dims[2] * rm->out.dims[3], 1);
  rm->axes[1] = -1; /* [3, -1]: the same axis twice */
  assert_int_equal(lsp_onnx_check(om, "mean.onnx"), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "axes [3, -1]"));
  lsp_onnx_model_free(om);
}

/* A description with ReduceMean that needs opset 18 or later (here a Gelu,
 * opset 20) is written with ReduceMean's axes as an input, as those opsets
 * want, and reads back as the same description. */
static void test_write_mean_opset20(void **state) {
  (void)state;
  lsp_onnx_model *a = NULL, *b = NULL;
  assert_int_equal(lsp_onnx_read(td_path("onnx_graphops/cnn_op17.onnx"), &a), 0);
  int means = 0, gelu = 0;
  for (size_t k = 0; k < a->nnodes; k++) {
    means += a->nodes[k].op == LSP_ONNX_REDUCEMEAN;
    if (!gelu && a->nodes[k].op == LSP_ONNX_RELU) {
      a->nodes[k].op = LSP_ONNX_GELU;
      gelu = 1;
    }
  }
  assert_true(means > 0 && gelu);
  const char *path = td_tmp("mean_op20.onnx");
  assert_int_equal(lsp_onnx_write(a, path), 0);
  int st = lsp_onnx_read(path, &b);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, 0);
  assert_int_equal(b->opset, 20);
  onnx_assert_same(a, b);
  lsp_onnx_model_free(a);
  lsp_onnx_model_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_torch_cnn), cmocka_unit_test(test_torch_mlp_bn),
      cmocka_unit_test(test_kinds_fd),  cmocka_unit_test(test_kinds_refuse),
      cmocka_unit_test(test_reads),     cmocka_unit_test(test_export),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_write_mean_opset20),
  };
  return td_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
