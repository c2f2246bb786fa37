/* onnx_build.h — two ONNX descriptions built by hand for the writer's tests:
 * an MLP with a fixed batch and a small CNN that uses every op the writer
 * knows. Include after testutil.h. */
#ifndef LSP_ONNX_BUILD_H
#define LSP_ONNX_BUILD_H

#include <math.h>
#include <stdlib.h>

#include "core/import/onnx/lsp_onnx.h"

/* Deterministic "high-entropy" values: 0.137·sin(1.7 i + seed). */
static void onnx_fill(float *v, size_t n, int seed) {
  for (size_t i = 0; i < n; i++)
    v[i] = 0.137f * sinf(1.7f * (float)i + (float)seed);
}

static void onnx_init(lsp_onnx_model *m, const char *name, int ndim, int64_t d0,
                      int64_t d1, int64_t d2, int64_t d3, int seed) {
  const int64_t dims[4] = {d0, d1, d2, d3};
  size_t n = 1;
  for (int k = 0; k < ndim; k++) n *= (size_t)dims[k];
  float *v = malloc(n * sizeof *v);
  assert_non_null(v);
  onnx_fill(v, n, seed);
  assert_int_equal(lsp_onnx_add_init(m, name, ndim, dims, v), 0);
  free(v);
}

static lsp_onnx_node *onnx_node(lsp_onnx_model *m, lsp_onnx_op op,
                                const char *name, const char *out, int nin,
                                const char *i0, const char *i1, const char *i2,
                                const char *i3, const char *i4) {
  const char *in[5] = {i0, i1, i2, i3, i4};
  lsp_onnx_node *n = lsp_onnx_add_node(m, op, name, nin, in, out);
  assert_non_null(n);
  return n;
}

/* x [5, 8] -> Gemm(16, transB) -> Relu -> Gemm(3, transB) -> y. */
static lsp_onnx_model *onnx_build_mlp(void) {
  const lsp_onnx_shape in = {2, {5, 8, 0, 0}};
  lsp_onnx_model *m = lsp_onnx_model_alloc("x", &in, "y");
  assert_non_null(m);
  onnx_init(m, "0.weight", 2, 16, 8, 0, 0, 1);
  onnx_init(m, "0.bias", 1, 16, 0, 0, 0, 2);
  onnx_init(m, "2.weight", 2, 3, 16, 0, 0, 3);
  onnx_init(m, "2.bias", 1, 3, 0, 0, 0, 4);
  onnx_node(m, LSP_ONNX_GEMM, "fc0", "h", 3, "x", "0.weight", "0.bias", NULL,
            NULL)
      ->trans_b = 1;
  onnx_node(m, LSP_ONNX_RELU, "relu", "r", 1, "h", NULL, NULL, NULL, NULL);
  onnx_node(m, LSP_ONNX_GEMM, "fc2", "y", 3, "r", "2.weight", "2.bias", NULL,
            NULL)
      ->trans_b = 1;
  return m;
}

/* x [N, 2, 8, 8] -> Pad 1 -> Conv(4, 3×3) -> BN -> Relu -> MaxPool 2 ->
 * Conv(4, 3×3, pad 1, no bias) + skip -> AveragePool(2, pad 1, counting
 * pads) -> + channel bias -> GlobalAveragePool -> Flatten -> Gemm(6,
 * alpha 0.5, beta 2) -> Relu -> MatMul(3) + bias -> Reshape [0, -1] -> y. */
static lsp_onnx_model *onnx_build_cnn(void) {
  const lsp_onnx_shape in = {4, {-1, 2, 8, 8}};
  lsp_onnx_model *m = lsp_onnx_model_alloc("x", &in, "y");
  assert_non_null(m);
  onnx_init(m, "conv1.w", 4, 4, 2, 3, 3, 5);
  onnx_init(m, "conv1.b", 1, 4, 0, 0, 0, 6);
  onnx_init(m, "padded_pads", 1, 4, 0, 0, 0, 7); /* the name the writer
                                                    would give Pad's pads */
  onnx_init(m, "bn.b", 1, 4, 0, 0, 0, 8);
  onnx_init(m, "bn.mean", 1, 4, 0, 0, 0, 9);
  float var[4] = {0.5f, 1.25f, 2.0f, 0.75f};
  const int64_t d4 = 4;
  assert_int_equal(lsp_onnx_add_init(m, "bn.var", 1, &d4, var), 0);
  onnx_init(m, "conv2.w", 4, 4, 4, 3, 3, 10);
  onnx_init(m, "chan.b", 4, 1, 4, 1, 1, 11);
  onnx_init(m, "fc.w", 2, 6, 4, 0, 0, 12);
  onnx_init(m, "fc.b", 1, 6, 0, 0, 0, 13);
  onnx_init(m, "out.w", 2, 6, 3, 0, 0, 14);
  onnx_init(m, "out.b", 1, 3, 0, 0, 0, 15);
  lsp_onnx_node *n;
  n = onnx_node(m, LSP_ONNX_PAD, "pad", "padded", 1, "x", 0, 0, 0, 0);
  n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
  onnx_node(m, LSP_ONNX_CONV, "conv1", "c1", 3, "padded", "conv1.w", "conv1.b",
            0, 0);
  onnx_node(m, LSP_ONNX_BATCHNORM, "bn", "b1", 5, "c1", "padded_pads", "bn.b",
            "bn.mean", "bn.var")
      ->epsilon = 1e-3f;
  onnx_node(m, LSP_ONNX_RELU, "relu1", "r1", 1, "b1", 0, 0, 0, 0);
  n = onnx_node(m, LSP_ONNX_MAXPOOL, "pool", "p1", 1, "r1", 0, 0, 0, 0);
  n->kernel[0] = n->kernel[1] = n->strides[0] = n->strides[1] = 2;
  n = onnx_node(m, LSP_ONNX_CONV, "conv2", "c2", 2, "p1", "conv2.w", 0, 0, 0);
  n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
  onnx_node(m, LSP_ONNX_ADD, "skip", "s", 2, "p1", "c2", 0, 0, 0);
  n = onnx_node(m, LSP_ONNX_AVGPOOL, "avg", "a", 1, "s", 0, 0, 0, 0);
  n->kernel[0] = n->kernel[1] = n->strides[0] = n->strides[1] = 2;
  n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
  n->count_include_pad = 1;
  onnx_node(m, LSP_ONNX_ADD, "bias", "ab", 2, "chan.b", "a", 0, 0, 0);
  onnx_node(m, LSP_ONNX_GLOBALAVGPOOL, "gap", "g", 1, "ab", 0, 0, 0, 0);
  onnx_node(m, LSP_ONNX_FLATTEN, "flat", "f", 1, "g", 0, 0, 0, 0);
  n = onnx_node(m, LSP_ONNX_GEMM, "fc", "h", 3, "f", "fc.w", "fc.b", 0, 0);
  n->trans_b = 1;
  n->alpha = 0.5f;
  n->beta = 2.0f;
  onnx_node(m, LSP_ONNX_RELU, "relu2", "r2", 1, "h", 0, 0, 0, 0);
  onnx_node(m, LSP_ONNX_MATMUL, "out", "o", 2, "r2", "out.w", 0, 0, 0);
  onnx_node(m, LSP_ONNX_ADD, "out_bias", "ob", 2, "o", "out.b", 0, 0, 0);
  n = onnx_node(m, LSP_ONNX_RESHAPE, "reshape", "y", 1, "ob", 0, 0, 0, 0);
  n->shape[0] = 0;
  n->shape[1] = -1;
  return m;
}

#endif
