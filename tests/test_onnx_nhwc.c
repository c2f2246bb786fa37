/* Channels-last networks as tf2onnx writes Keras models (tests/data/
 * onnx_nhwc, gen_onnx_nhwc.py: graphs in tf2onnx's form, PyTorch's float64
 * numbers on lsprobe's channels-first images):
 * - an N×H×W×1 input transposed to N×C×H×W for the convolutions and back
 *   to N×H×W×C before a Flatten and Keras's Dense (MatMul and Add), with a
 *   final Softmax (opsets 11 and 13), LogSoftmax, or none: PyTorch's
 *   logits (1e-5 relative to the largest), input gradient and FGSM
 *   predictions; the four files the same logits bit for bit; the model's
 *   input is 1×H×W and one transpose layer is left (before the Flatten);
 *   the description names the Softmax it read through;
 * - a Rescaling (Mul and Add by scalars) before the first Transpose;
 * - three channels (N×8×8×3): a real permutation of the input, a batch
 *   norm; Keras's Normalization in front (Sub, then Mul or Div, by
 *   constants per channel along the last axis), no transpose left before
 *   the convolution;
 * - a global average pooling as ReduceMean over axes [2, 3] after the
 *   Transpose was moved, and over axes [1, 2] of the channels-last maps:
 *   the same network (no transpose layer), the same logits bit for bit;
 * - `lsprobe export` of each writes a file that reads back to the same
 *   logits bit for bit;
 * - which inputs are channels-last, on descriptions built by hand: read
 *   only by Transposes [0, 3, 1, 2], directly or through activations and
 *   arithmetic with constants of one value or one per channel (the last
 *   axis), those nodes marked; not when another node reads it, through a
 *   constant of another size, by another perm, or of rank 2;
 * - a Transpose that moves the batch, and a Softmax over the batch, are
 *   refused naming the node and the reason; an input also read channels
 *   first is the file's N×C×H×W (its mismatched Add refused). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"
#include "core/import/onnx/lsp_onnx_int.h"
#include "testutil.h"
/* after testutil.h: they use cmocka */
#include "model_fixture.h"

#define DIR "onnx_nhwc/"
#define RGB "onnx_nhwc/rgb/"
enum { N = 8, K = 4 };

/* The logits of m on <dir>x.npy (N × K, malloc'ed). */
static float *logits(const lsp_model *m, const char *dir) {
  char p[128];
  snprintf(p, sizeof p, "%sx.npy", dir);
  return fx_logits(m, p, N, K);
}

/* The model written by `lsprobe export`, read back: the same logits. */
static void export_same(const lsp_model *m, const char *dir) {
  lsp_onnx_model *om = NULL, *back = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  assert_int_equal(lsp_onnx_from_model(m, &om), LSP_OK);
  assert_int_equal(lsp_onnx_encode(om, "export", &buf, &len), LSP_OK);
  assert_int_equal(lsp_onnx_read_mem(buf, len, "export", NULL, 0, &back), LSP_OK);
  lsp_model *r = NULL;
  assert_int_equal(lsp_onnx_lower(back, "export", NULL, &r), LSP_OK);
  float *z = logits(m, dir), *zr = logits(r, dir);
  assert_memory_equal(z, zr, N * K * sizeof *z);
  free(z);
  free(zr);
  free(buf);
  lsp_model_free(r);
  lsp_onnx_model_free(back);
  lsp_onnx_model_free(om);
}

/* <dir><file>: PyTorch's numbers `ref`, its input shape c×h×w, `ntr`
 * transpose layers; the logits into *z (malloc'ed) when z is not NULL. */
static void torch_case(const char *dir, const char *file, const char *ref,
                       size_t c, size_t hw, size_t ntr, float **z) {
  char p[128];
  snprintf(p, sizeof p, "%s%s", dir, file);
  lsp_model *m = fx_load(p);
  assert_int_equal(m->in_shape.c, c);
  assert_int_equal(m->in_shape.h, hw);
  assert_int_equal(m->in_shape.w, hw);
  assert_int_equal(fx_count_op(m, LSP_OP_TRANSPOSE), ntr);
  fx_torch_case(m, dir, file, ref, N, K, 1e-5, 1e-5);
  export_same(m, dir);
  if (z) *z = logits(m, dir);
  lsp_model_free(m);
}

static void test_cnn(void **state) {
  (void)state;
  const char *files[] = {"cnn_logits_op13.onnx", "cnn_op13.onnx",
                         "cnn_logsm_op13.onnx", "cnn_op11.onnx"};
  const char *sm[] = {NULL, "Softmax", "LogSoftmax", "Softmax"};
  float *z0 = NULL;
  for (size_t f = 0; f < 4; f++) {
    float *z;
    torch_case(DIR, files[f], "cnn", 1, 10, 1, &z);
    if (!z0)
      z0 = z;
    else {
      assert_memory_equal(z, z0, N * K * sizeof *z);
      free(z);
    }
    char p[128];
    snprintf(p, sizeof p, DIR "%s", files[f]);
    lsp_onnx_model *om = NULL;
    assert_int_equal(lsp_onnx_read(td_path(p), &om), LSP_OK);
    if (sm[f]) {
      assert_string_equal(om->softmax_op, sm[f]);
      assert_string_equal(om->softmax_out, "dense_1");
    } else {
      assert_null(om->softmax_op);
    }
    lsp_onnx_model_free(om);
  }
  free(z0);
  /* a Rescaling in front: the Mul and Add read the file's H×W×1 layout */
  torch_case(DIR, "rescale_op13.onnx", "rescale", 1, 10, 1, NULL);
  /* three channels: the input's transpose is a real permutation */
  torch_case(RGB, "rgb_op13.onnx", "rgb", 3, 8, 1, NULL);
  /* Keras's Normalization in front: Sub and Mul (Div) by one constant per
   * channel along the last axis, [1, 1, 1, 3] or [3], computed on
   * lsprobe's C×H×W images as one normalize layer each */
  torch_case(RGB, "rgbnorm_op13.onnx", "rgbnorm", 3, 8, 1, NULL);
  torch_case(RGB, "rgbnorm3_op13.onnx", "rgbnorm3", 3, 8, 1, NULL);
  lsp_model *nm = fx_load(RGB "rgbnorm3_op13.onnx");
  assert_int_equal(nm->nodes[0].op, LSP_OP_NORMALIZE);
  assert_int_equal(nm->nodes[1].op, LSP_OP_CONV); /* no transpose between */
  lsp_model_free(nm);
}

static void test_gap(void **state) {
  (void)state;
  float *z, *zt;
  torch_case(DIR, "gap_op13.onnx", "gap", 1, 10, 0, &z);
  torch_case(DIR, "gapt_op13.onnx", "gap", 1, 10, 0, &zt);
  assert_memory_equal(z, zt, N * K * sizeof *z);
  free(z);
  free(zt);
  lsp_model *a = fx_load(DIR "gap_op13.onnx"), *b = fx_load(DIR "gapt_op13.onnx");
  assert_int_equal(a->nnodes, b->nnodes);
  for (size_t i = 0; i < a->nnodes; i++) assert_int_equal(a->nodes[i].op, b->nodes[i].op);
  lsp_model_free(a);
  lsp_model_free(b);
}

/* A description of input x [N, 6, 6, 3]: `chain` nodes from x (op, and a
 * constant of `cn` values for arithmetic), then a Transpose of perm p. */
static lsp_onnx_model *chain(const lsp_onnx_op *ops, size_t n, size_t cn,
                             const int64_t p[4], int rank) {
  lsp_onnx_shape s = {rank, {-1, 6, 6, 3}};
  lsp_onnx_model *m = lsp_onnx_model_alloc("x", &s, "t");
  assert_non_null(m);
  const float c[6] = {2.0f, 2.0f, 2.0f, 2.0f, 2.0f, 2.0f};
  const int64_t d[1] = {(int64_t)cn};
  assert_int_equal(lsp_onnx_add_init(m, "c", 1, d, c), LSP_OK);
  char prev[32] = "x", out[32];
  for (size_t k = 0; k < n; k++) {
    snprintf(out, sizeof out, "v%zu", k);
    const char *in[2] = {prev, "c"};
    assert_non_null(lsp_onnx_add_node(m, ops[k], out, ops[k] == LSP_ONNX_RELU ? 1 : 2,
                                      in, out));
    snprintf(prev, sizeof prev, "%s", out);
  }
  const char *in[1] = {prev};
  lsp_onnx_node *t = lsp_onnx_add_node(m, LSP_ONNX_TRANSPOSE, "t", 1, in, "t");
  assert_non_null(t);
  t->nperm = rank;
  for (int k = 0; k < rank; k++) t->perm[k] = p[k];
  return m;
}

static void test_which_inputs(void **state) {
  (void)state;
  const int64_t to_nchw[4] = {0, 3, 1, 2}, other[4] = {0, 2, 3, 1}, two[2] = {0, 1};
  const lsp_onnx_op none[1] = {LSP_ONNX_RELU},
                    scale[3] = {LSP_ONNX_MUL, LSP_ONNX_ADD, LSP_ONNX_SIGMOID};
  struct {
    const lsp_onnx_op *ops;
    size_t n, cn;
    const int64_t *p;
    int rank, extra, want;
  } cases[] = {
      {none, 0, 1, to_nchw, 4, 0, 1},  /* x -> Transpose */
      {scale, 3, 1, to_nchw, 4, 0, 1}, /* Rescaling, an activation, Transpose */
      {scale, 2, 3, to_nchw, 4, 0, 1}, /* per channel (Normalization) */
      {scale, 2, 6, to_nchw, 4, 0, 0}, /* 6 values along the last axis of 3 */
      {none, 0, 1, other, 4, 0, 0},    /* another perm */
      {none, 0, 1, two, 2, 0, 0},      /* rank 2 */
      {none, 0, 1, to_nchw, 4, 1, 0},  /* a Relu reads x too, leading nowhere */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    lsp_onnx_model *m = chain(cases[i].ops, cases[i].n, cases[i].cn, cases[i].p,
                              cases[i].rank);
    if (cases[i].extra) {
      const char *in[1] = {"x"};
      assert_non_null(lsp_onnx_add_node(m, LSP_ONNX_RELU, "r", 1, in, "r"));
    }
    if (lsp_onnx_mark_nhwc(m) != cases[i].want || m->nhwc_input != cases[i].want) {
      print_error("case %zu: channels-last %d, wanted %d\n", i, !cases[i].want,
                  cases[i].want);
      fail();
    }
    /* the element-wise nodes on the way are marked, the Transpose not */
    for (size_t k = 0; k < m->nnodes; k++)
      assert_int_equal(m->nodes[k].nhwc,
                       cases[i].want && m->nodes[k].op != LSP_ONNX_TRANSPOSE);
    lsp_onnx_model_free(m);
  }
}

static void test_refused(void **state) {
  (void)state;
  fx_refused(DIR "bad_batch_op13.onnx", "(Transpose)", "moves the batch axis");
  /* read channels first by a Conv too: not channels-last, the file's
   * N×C×H×W taken as it is, and its Add of [N, 4, 8, 8] and [N, 4, 8, 1]
   * refused */
  fx_refused(DIR "bad_mixed_op13.onnx", "(Add)", "no broadcasting between values");
  fx_refused(DIR "bad_smaxis_op13.onnx", "(Softmax)", "over axis 0");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cnn),
      cmocka_unit_test(test_gap),
      cmocka_unit_test(test_which_inputs),
      cmocka_unit_test(test_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
