/* onnx_cmp.h — comparing two ONNX descriptions in tests (field by field,
 * initializer values bit for bit). Include after testutil.h. */
#ifndef LSP_ONNX_CMP_H
#define LSP_ONNX_CMP_H

#include <string.h>

#include "core/import/onnx/lsp_onnx.h"

static int onnx_shape_eq(const lsp_onnx_shape *a, const lsp_onnx_shape *b) {
  if (a->rank != b->rank) return 0;
  for (int k = 0; k < a->rank; k++)
    if (a->dims[k] != b->dims[k]) return 0;
  return 1;
}

/* Fails the test naming the first difference. ir_version and opset are not
 * compared (the writer always writes IR 8, opset 13). */
static void onnx_assert_same(const lsp_onnx_model *a, const lsp_onnx_model *b) {
  assert_string_equal(a->input, b->input);
  assert_string_equal(a->output, b->output);
  assert_true(onnx_shape_eq(&a->in_shape, &b->in_shape));
  assert_int_equal(a->nnodes, b->nnodes);
  for (size_t k = 0; k < a->nnodes; k++) {
    const lsp_onnx_node *x = &a->nodes[k], *y = &b->nodes[k];
    assert_int_equal(x->op, y->op);
    assert_string_equal(x->name, y->name);
    assert_string_equal(x->output, y->output);
    assert_int_equal(x->ninputs, y->ninputs);
    for (int j = 0; j < x->ninputs; j++)
      assert_string_equal(x->inputs[j], y->inputs[j]);
    for (int j = 0; j < 2; j++) {
      assert_int_equal(x->kernel[j], y->kernel[j]);
      assert_int_equal(x->strides[j], y->strides[j]);
      assert_int_equal(x->dilations[j], y->dilations[j]);
    }
    assert_int_equal(x->shape_rank, y->shape_rank);
    for (int j = 0; j < x->shape_rank; j++)
      assert_int_equal(x->shape[j], y->shape[j]);
    assert_int_equal(x->group, y->group);
    assert_int_equal(x->ceil_mode, y->ceil_mode);
    assert_int_equal(x->pad_mode, y->pad_mode);
    assert_true(x->pad_value == y->pad_value);
    for (int j = 0; j < 4; j++) assert_int_equal(x->pads[j], y->pads[j]);
    assert_int_equal(x->count_include_pad, y->count_include_pad);
    assert_true(x->alpha == y->alpha && x->beta == y->beta);
    assert_true(x->gamma == y->gamma && x->clip_lo == y->clip_lo &&
                x->clip_hi == y->clip_hi);
    assert_int_equal(x->approximate, y->approximate);
    assert_int_equal(x->trans_b, y->trans_b);
    assert_true(x->epsilon == y->epsilon);
    assert_int_equal(x->axis, y->axis);
    assert_int_equal(x->naxes, y->naxes);
    for (int j = 0; j < x->naxes; j++) assert_int_equal(x->axes[j], y->axes[j]);
    assert_int_equal(x->keepdims, y->keepdims);
    assert_int_equal(x->nperm, y->nperm);
    for (int j = 0; j < x->nperm; j++) assert_int_equal(x->perm[j], y->perm[j]);
    assert_true(onnx_shape_eq(&x->out, &y->out));
  }
  assert_int_equal(a->ninits, b->ninits);
  for (size_t k = 0; k < a->ninits; k++) {
    const lsp_onnx_tensor *x = &a->inits[k], *y = &b->inits[k];
    assert_string_equal(x->name, y->name);
    assert_int_equal(x->dtype, y->dtype);
    assert_int_equal(x->ndim, y->ndim);
    for (int j = 0; j < x->ndim; j++) assert_int_equal(x->dims[j], y->dims[j]);
    assert_int_equal(x->count, y->count);
    assert_memory_equal(x->f, y->f, x->count * sizeof(float));
  }
}

#endif
