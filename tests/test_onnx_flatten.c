/* The flattening idioms of PyTorch classifiers as torch.onnx.export 1.13
 * writes them at opsets 11, 13 and 17, with and without dynamic_axes
 * (tests/data/onnx_flatten, gen_onnx_flatten.py):
 * - h.view(h.size(0), -1), h.reshape(h.shape[0], -1) and
 *   torch.flatten(h, 1) (Flatten, a constant shape, or Shape, Gather of
 *   entry 0, Unsqueeze and Concat) are one flatten;
 * - global max and average pooling written by hand,
 *   torch.max(h.flatten(2), 2)[0], h.flatten(2).max(2)[0],
 *   h.view(h.size(0), h.size(1), -1).max(2)[0] and h.flatten(2).mean(2)
 *   (Shape, a Slice of its first two entries or Gathers of entries 0 and
 *   1, Concat with [-1], Reshape to N × C × HW, ReduceMax/ReduceMean over
 *   axis 2): a reshape then one gmp or gap;
 * each computes PyTorch's float64 logits (1e-6 relative to the largest),
 * input gradient and predictions after an FGSM step;
 * - sizes lsprobe cannot place (a product of sizes, the height as entry
 *   1, the last entry, the first three entries, the channels of another
 *   value) are refused naming the node, the op and what to export
 *   (tests/test_onnx_squeeze.c has the Squeeze, Gather and Slice of a
 *   computed value);
 * - a Transpose of a computed value (h.transpose(2, 3)) is one transpose
 *   layer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/lsp_ops.h"
#include "testutil.h"
#include "model_fixture.h"

#define DIR "onnx_flatten/"
enum { N = 8, K = 4 };

/* PyTorch's float64 numbers (model_fixture.h): logits within 1e-6, the
 * input gradient within 1e-5, the FGSM predictions. */
static void torch_case(lsp_model *m, const char *file, const char *ref) {
  fx_torch_case(m, DIR, file, ref, N, K, 1e-6, 1e-5);
}

/* tests/data/onnx_flatten/<kind>_op<op>[_dyn].onnx for every opset and
 * form listed: `count` nodes of kind `op`, and PyTorch's numbers `ref`. */
static void each(const char *kind, const int *ops, size_t nops, int dyn_only,
                 lsp_op op, size_t count, const char *ref) {
  for (size_t o = 0; o < nops; o++)
    for (int dyn = dyn_only; dyn < 2; dyn++) {
      char f[96];
      snprintf(f, sizeof f, DIR "%s_op%d%s.onnx", kind, ops[o],
               dyn ? "_dyn" : "");
      lsp_model *m = fx_load(f);
      assert_int_equal(fx_count_op(m, op), count);
      torch_case(m, f, ref);
      lsp_model_free(m);
    }
}

static void test_flatten(void **state) {
  (void)state;
  static const int ops[] = {11, 13, 17};
  /* conv, relu, the flatten, the classifier on its 108 features */
  each("view", ops, 3, 0, LSP_OP_FLATTEN, 1, "flat");
  each("reshape", ops, 3, 0, LSP_OP_FLATTEN, 1, "flat");
  each("flatten", ops, 3, 0, LSP_OP_FLATTEN, 1, "flat");
  lsp_model *m = fx_load(DIR "view_op13_dyn.onnx");
  assert_int_equal(m->nnodes, 4);
  assert_int_equal(lsp_model_feature_dim(m), 108);
  lsp_model_free(m);
}

/* The reshape to N × 3 × 36 then one gmp (or gap) of its 36 values per
 * channel: the features are the 3 channel maxima (means). */
static void test_pool_by_hand(void **state) {
  (void)state;
  static const int ops[] = {11, 13, 17}, op13[] = {13}, ops1317[] = {13, 17};
  each("tmax", ops, 3, 0, LSP_OP_GMP, 1, "gmax");
  each("fmax", op13, 1, 1, LSP_OP_GMP, 1, "gmax");
  each("vmax", ops1317, 2, 1, LSP_OP_GMP, 1, "gmax");
  each("fmean", ops1317, 2, 1, LSP_OP_GAP, 1, "gmean");
  lsp_model *m = fx_load(DIR "tmax_op13_dyn.onnx");
  assert_int_equal(fx_count_op(m, LSP_OP_RESHAPE), 1);
  assert_int_equal(lsp_model_feature_dim(m), 3);
  for (size_t i = 0; i < m->nnodes; i++)
    if (m->nodes[i].op == LSP_OP_RESHAPE) {
      assert_int_equal(m->nodes[i].shape.c, 3);
      assert_int_equal(m->nodes[i].shape.h * m->nodes[i].shape.w, 36);
    }
  lsp_model_free(m);
}

static void test_refused(void **state) {
  (void)state;
  const char *what = "Export the model with torch.flatten(x, 1) or "
                     "x.view(x.size(0), -1), or the sizes as numbers";
  fx_refused(DIR "bad_viewsize_op13_dyn.onnx", "node '/Mul' (Mul)",
             "computes with the size of a computed value (from Shape, as "
             "x.size(1) * x.size(2) writes it)");
  fx_refused(DIR "bad_viewsize_op13_dyn.onnx", "node '/Mul' (Mul)", what);
  fx_refused(DIR "bad_viewhw_op13_dyn.onnx", "node '/Reshape' (Reshape)",
             "shape [N, dim 2, -1]: entry 1 is dimension 2 of "
             "'/Relu_output_0' (from Shape); lsprobe takes a computed "
             "dimension only as the same entry of a Reshape of that value");
  fx_refused(DIR "bad_viewhw_op13_dyn.onnx", "node '/Reshape' (Reshape)",
             "export the model with torch.flatten(x, 1) or the sizes as "
             "numbers");
  fx_refused(DIR "bad_othersrc_op13_dyn.onnx", "node '/Reshape' (Reshape)",
             "entry 1 is dimension 1 of '/c1/Conv_output_0'");
  const char *slice = "of a computed value's Shape, whose rank is not "
                      "known while reading, an entry by a non-negative "
                      "index or a Slice within the first two";
  fx_refused(DIR "bad_viewlast_op13_dyn.onnx", "node '/Slice' (Slice)", slice);
  fx_refused(DIR "bad_viewlast_op13_dyn.onnx", "node '/Slice' (Slice)", what);
  fx_refused(DIR "bad_slice3_op13_dyn.onnx", "node '/Slice' (Slice)", slice);
  /* h.transpose(2, 3) of the 6 × 6 maps (perm [0, 1, 3, 2]) is read:
   * one transpose layer, the example's h and w swapped (tests/
   * test_onnx_nhwc.c checks the numbers of such layers against PyTorch) */
  lsp_model *m = fx_load(DIR "transpose_op13_dyn.onnx");
  assert_int_equal(fx_count_op(m, LSP_OP_TRANSPOSE), 1);
  for (size_t i = 0; i < m->nnodes; i++)
    if (m->nodes[i].op == LSP_OP_TRANSPOSE) assert_int_equal(m->nodes[i].a.perm, 21);
  lsp_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flatten),
      cmocka_unit_test(test_pool_by_hand),
      cmocka_unit_test(test_refused),
  };
  return td_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
