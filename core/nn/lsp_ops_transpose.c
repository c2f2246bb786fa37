/* lsp_ops_transpose.c — the table entry of `transpose` (lsp_ops.h): a
 * permutation of one example's three axes (c, h, w), as ONNX's Transpose
 * with the batch axis kept (channels-last networks exported from Keras by
 * tf2onnx: N×C×H×W to N×H×W×C before a Flatten, and back).
 *
 *   perm  the input axes (0 c, 1 h, 2 w) in the order of the output's, as
 *         a three-digit number: 120 makes H×W×C of C×H×W, 201 C×H×W of
 *         H×W×C; 12 (012) is the identity.
 *   y[i0, i1, i2] = x[j] with j's axis p_k at i_k.
 *
 * Every input element goes to exactly one output element, so the backward
 * pass is the inverse permutation of dy, and the read rule moves the flags
 * the same way. */
#include <stddef.h>
#include <stdio.h>

#include "core/base/lsp_error.h"
#include "core/nn/lsp_ops.h"

const lsp_attr_def lsp_transpose_attrs[] = {
    {"perm", LSP_ATTR_SIZE, offsetof(lsp_attrs, perm), 0}, {NULL, 0, 0, 0}};

int lsp_transpose_axes(size_t perm, size_t p[3]) {
  p[0] = perm / 100 % 10, p[1] = perm / 10 % 10, p[2] = perm % 10;
  if (perm <= 210 && p[0] < 3 && p[1] < 3 && p[2] < 3 && p[0] != p[1] &&
      p[0] != p[2] && p[1] != p[2])
    return 1;
  p[0] = 0, p[1] = 1, p[2] = 2;
  return 0;
}

int lsp_transpose_infer(const lsp_attrs *a, const lsp_shape *in,
                        lsp_shape *out, char *w, size_t len) {
  size_t p[3];
  if (!lsp_transpose_axes(a->perm, p)) {
    snprintf(w, len,
             "perm %zu is not a permutation of the axes 0, 1, 2 (c, h, w) "
             "written as three digits (120: C×H×W to H×W×C)",
             a->perm);
    return LSP_EINVAL;
  }
  const size_t d[3] = {in[0].c, in[0].h, in[0].w};
  *out = (lsp_shape){d[p[0]], d[p[1]], d[p[2]]};
  return LSP_OK;
}

double lsp_transpose_flops(const lsp_node *nd) {
  (void)nd;
  return 0.0;
}

/* The input strides of the output's three axes (an example's input is
 * C×H×W in row-major order). */
static void steps(const lsp_node *nd, size_t st[3]) {
  size_t p[3];
  lsp_transpose_axes(nd->a.perm, p);
  const size_t in[3] = {nd->ishape.h * nd->ishape.w, nd->ishape.w, 1};
  for (int k = 0; k < 3; k++) st[k] = in[p[k]];
}

/* y[oi] = x[ii] over one example (back: x[ii] = y[oi]), oi in output
 * order and ii the input element it holds. */
static void permute(const lsp_node *nd, const float *x, float *y, int back) {
  size_t st[3], oi = 0;
  steps(nd, st);
  const lsp_shape *o = &nd->shape;
  for (size_t i0 = 0; i0 < o->c; i0++)
    for (size_t i1 = 0; i1 < o->h; i1++)
      for (size_t i2 = 0; i2 < o->w; i2++, oi++) {
        const size_t ii = i0 * st[0] + i1 * st[1] + i2 * st[2];
        if (back)
          y[ii] = x[oi];
        else
          y[oi] = x[ii];
      }
}

void lsp_transpose_fwd(const lsp_op_call *c) {
  const size_t d = lsp_shape_size(c->nd->shape);
  for (size_t r = 0; r < c->n; r++) permute(c->nd, c->x0 + r * d, c->y + r * d, 0);
}

void lsp_transpose_bwd(const lsp_op_call *c) {
  if (!c->dx0) return;
  const size_t d = lsp_shape_size(c->nd->shape);
  for (size_t r = 0; r < c->n; r++)
    permute(c->nd, c->dy + r * d, c->dx0 + r * d, 1);
}

void lsp_reads_transpose(const lsp_node *nd, const float *out, float *in0,
                         float *in1) {
  (void)in1;
  permute(nd, out, in0, 1);
}
