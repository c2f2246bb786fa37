/* lsp_onnx_transpose.c — Transpose of a computed value: the channels-last
 * (N × H × W × C) networks that tf2onnx exports from Keras. Such a file
 * takes N × H × W × C images, transposes them to N × C × H × W for its
 * convolutions, and back to N × H × W × C before a Flatten (the order of
 * Keras's Dense weights). On int64 constants Transpose is shape
 * arithmetic, folded by lsp_onnx_fold.c; on a value the reader keeps it as
 * a node with its perm, the checker infers its shape (the batch must stay
 * the first axis), and the lowering makes it lsprobe's `transpose` layer,
 * or nothing when it only moves axes of size 1 (a reshape).
 *
 * The graph input is taken as channels-last when every way from it leads,
 * through element-wise ops only (activations; Add, Sub, Mul, Div by a
 * constant of one value or one per channel along the last axis, as Keras's
 * Rescaling and Normalization), to a Transpose of perm [0, 3, 1, 2]:
 * lsprobe's images are channels first, so the model's input is C × H × W,
 * the element-wise ops are computed on that layout (their per-channel
 * constants along its channels) and the Transposes are where the file's
 * images become lsprobe's: no node (lsp_onnx_lower.c). The rule reads the
 * graph only, never the data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_read_int.h"
#include "core/nn/lsp_ops.h"

/* ---- reading (pass 4) ---------------------------------------------------- */

int lsp_onnx_rd_transpose(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                          size_t idx, const char *where) {
  size_t nin = pn->n_input;
  while (nin && !lsp_onnx_str(pn->input[nin - 1])[0]) nin--;
  if (nin != 1)
    return lsp_onnx_fail_at(where, "%zu inputs; Transpose takes one", nin);
  const LspOnnx__AttributeProto *perm = NULL;
  for (size_t k = 0; k < pn->n_attribute; k++) {
    const LspOnnx__AttributeProto *a = pn->attribute[k];
    const char *n = lsp_onnx_str(a->name);
    if (strcmp(n, "perm") != 0 || !a->has_type || a->type != 7)
      return lsp_onnx_fail_at(
          where, "attribute '%s' is not supported (perm, a list of ints)", n);
    if (perm) return lsp_onnx_fail_at(where, "attribute 'perm' given twice");
    perm = a;
  }
  if (perm && (perm->n_ints < 2 || perm->n_ints > 4))
    return lsp_onnx_fail_at(where,
                            "perm has %zu entries; lsprobe reads values of "
                            "rank 2 to 4",
                            perm->n_ints);
  lsp_onnx_node *nd =
      lsp_onnx_add_node(c->m, LSP_ONNX_TRANSPOSE, pn->name, 1,
                        (const char *const *)pn->input, pn->output[0]);
  if (!nd) return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
  nd->index = idx;
  nd->nperm = perm ? (int)perm->n_ints : 0;
  for (int k = 0; k < nd->nperm; k++) nd->perm[k] = perm->ints[k];
  return LSP_OK;
}

/* A global pooling of the channels-last maps: ReduceMean or ReduceMax over
 * axes {1, 2} (or {-3, -2}), keepdims 0, of a Transpose [0, 2, 3, 1]
 * (Keras's GlobalAveragePooling2D as tf2onnx writes it when it does not
 * move the Transpose) is the same N × C as the reduction over axes
 * {2, 3} of the Transpose's input: the node reads that input instead, and
 * the Transpose, if nothing else reads it, is dropped by the checker. */
int lsp_onnx_rd_reduce_nhwc(lsp_onnx_model *m) {
  for (size_t k = 0; k < m->nnodes; k++) {
    lsp_onnx_node *nd = &m->nodes[k];
    if ((nd->op != LSP_ONNX_REDUCEMEAN && nd->op != LSP_ONNX_REDUCEMAX) ||
        nd->keepdims || nd->naxes != 2)
      continue;
    int64_t a = nd->axes[0] < 0 ? nd->axes[0] + 4 : nd->axes[0];
    int64_t b = nd->axes[1] < 0 ? nd->axes[1] + 4 : nd->axes[1];
    if (!((a == 1 && b == 2) || (a == 2 && b == 1))) continue;
    for (size_t j = 0; j < m->nnodes; j++) {
      const lsp_onnx_node *t = &m->nodes[j];
      if (t->op != LSP_ONNX_TRANSPOSE || strcmp(t->output, nd->inputs[0]) ||
          t->nperm != 4 || t->perm[0] != 0 || t->perm[1] != 2 ||
          t->perm[2] != 3 || t->perm[3] != 1)
        continue;
      char *in = lsp_onnx_strdup(t->inputs[0]);
      if (!in) return lsp_fail(LSP_ENOMEM, "out of memory");
      free(nd->inputs[0]);
      nd->inputs[0] = in;
      nd->axes[0] = 2, nd->axes[1] = 3;
      break;
    }
  }
  return LSP_OK;
}

/* ---- shapes (the checker) ------------------------------------------------ */

int lsp_onnx_transpose_infer(const char *path, const lsp_onnx_node *nd,
                             const lsp_onnx_shape *x, lsp_onnx_shape *y) {
  char pb[96];
  if (nd->nperm == 0)
    return lsp_onnx_node_fail(
        path, nd,
        "no perm: ONNX then reverses every axis, the batch's too; lsprobe "
        "transposes the axes of each example only (perm[0] = 0)");
  lsp_onnx_ints_str(nd->perm, (size_t)nd->nperm, pb, sizeof pb);
  if (nd->nperm != x->rank)
    return lsp_onnx_node_fail(path, nd,
                              "perm %s has %d entries for an input of rank %d",
                              pb, nd->nperm, x->rank);
  int seen = 0;
  for (int k = 0; k < nd->nperm; k++) {
    int64_t p = nd->perm[k];
    if (p < 0 || p >= x->rank || (seen >> p) & 1)
      return lsp_onnx_node_fail(
          path, nd, "perm %s is not a permutation of the axes 0 to %d", pb,
          x->rank - 1);
    seen |= 1 << p;
  }
  if (nd->perm[0] != 0)
    return lsp_onnx_node_fail(
        path, nd,
        "perm %s moves the batch axis; lsprobe transposes the axes of each "
        "example only (perm[0] = 0)",
        pb);
  y->rank = x->rank;
  for (int k = 0; k < x->rank; k++) y->dims[k] = x->dims[nd->perm[k]];
  return LSP_OK;
}

/* ---- lowering ------------------------------------------------------------ */

size_t lsp_onnx_transpose_code(const lsp_onnx_node *nd) {
  size_t d[3] = {0, 1, 2};
  for (int k = 1; k < nd->nperm && k < 4; k++) d[k - 1] = (size_t)nd->perm[k] - 1;
  return d[0] * 100 + d[1] * 10 + d[2];
}

size_t lsp_onnx_perm_compose(size_t first, size_t then) {
  size_t q[3], p[3];
  lsp_transpose_axes(first, q);
  lsp_transpose_axes(then, p);
  return q[p[0]] * 100 + q[p[1]] * 10 + q[p[2]];
}

/* 1 when a Transpose of the channels-last input to channels first. */
static int to_nchw(const lsp_onnx_node *nd) {
  return nd->op == LSP_ONNX_TRANSPOSE && nd->nperm == 4 && nd->perm[0] == 0 &&
         nd->perm[1] == 3 && nd->perm[2] == 1 && nd->perm[3] == 2;
}

int lsp_onnx_last_axis(const lsp_onnx_tensor *t, int64_t c) {
  if (t->count == 1) return 1;
  if (t->ndim < 1 || t->ndim > 4 || t->dims[t->ndim - 1] != c) return 0;
  for (int k = 0; k + 1 < t->ndim; k++)
    if (t->dims[k] != 1) return 0;
  return 1;
}

/* 1 when node nd changes each element alone, channel by channel: an
 * activation, or Add, Sub, Mul or Div of the value by a constant of one
 * value or one per channel (the last axis, of size c). */
static int elementwise(const lsp_onnx_model *m, const lsp_onnx_node *nd,
                       int64_t c) {
  if (nd->op == LSP_ONNX_RELU ||
      (nd->op >= LSP_ONNX_SIGMOID && nd->op <= LSP_ONNX_GELU))
    return 1;
  if (nd->op != LSP_ONNX_ADD && nd->op != LSP_ONNX_SUB &&
      nd->op != LSP_ONNX_MUL && nd->op != LSP_ONNX_DIV)
    return 0;
  const lsp_onnx_tensor *t = lsp_onnx_arith_const(m, nd, NULL, NULL);
  return t && lsp_onnx_last_axis(t, c);
}

/* Whether every reader of `value` (and, through element-wise nodes, of
 * theirs) ends at a Transpose to channels first (an element-wise node
 * that leads to none does not); *found counts those, and the element-wise
 * nodes on the way are marked. depth bounds the walk (a chain longer than
 * 64 element-wise ops is no channels-last input). */
static int all_to_nchw(lsp_onnx_model *m, const char *value, int depth,
                       size_t *found) {
  if (depth > 64) return 0;
  for (size_t k = 0; k < m->nnodes; k++) {
    lsp_onnx_node *nd = &m->nodes[k];
    int reads = 0;
    for (int j = 0; j < nd->ninputs; j++) reads |= !strcmp(nd->inputs[j], value);
    if (!reads) continue;
    if (to_nchw(nd)) {
      ++*found;
      continue;
    }
    const size_t before = *found; /* each way ends at such a Transpose */
    if (!elementwise(m, nd, m->in_shape.dims[3]) ||
        !all_to_nchw(m, nd->output, depth + 1, found) || *found == before)
      return 0;
    nd->nhwc = 1;
  }
  return 1;
}

int lsp_onnx_mark_nhwc(lsp_onnx_model *m) {
  size_t found = 0;
  for (size_t k = 0; k < m->nnodes; k++) m->nodes[k].nhwc = 0;
  m->nhwc_input = m->in_shape.rank == 4 && all_to_nchw(m, m->input, 0, &found) &&
                  found > 0;
  for (size_t k = 0; !m->nhwc_input && k < m->nnodes; k++) m->nodes[k].nhwc = 0;
  return m->nhwc_input;
}
