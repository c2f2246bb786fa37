/* lsp_ops_graph.c — the table entries of the two-input kinds ONNX graphs of
 * common classifiers need beyond the residual add (lsp_ops.h):
 *
 *   mul     y = a·b element by element (SiLU's x·sigmoid(x), gating), two
 *           inputs of one shape; da = dy·b, db = dy·a (x·x: the graph adds
 *           the two gradients, as for add). Or a (C×H×W) times b (C×1×1),
 *           one factor per channel (squeeze-and-excitation):
 *           y[c,p] = a[c,p]·b[c], da = dy·b[c], db[c] = Σ_p dy[c,p]·a[c,p].
 *   concat  the channels of a (C₀×H×W) then those of b (C₁×H×W): C₀+C₁
 *           channels of the same H×W (a flat D×1×1 input concatenates its
 *           features); the backward splits dy by channel. */
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/nn/lsp_ops.h"

#define MAX_DIM ((size_t)1 << 24)

static size_t rows_of(const lsp_op_call *c) {
  return c->n * lsp_shape_size(c->nd->shape);
}

/* ---- mul --------------------------------------------------------------- */

int lsp_mul_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                  char *w, size_t len) {
  (void)a;
  int same = in[0].c == in[1].c && in[0].h == in[1].h && in[0].w == in[1].w;
  int gate = in[0].c == in[1].c && in[1].h == 1 && in[1].w == 1;
  if (!same && !gate) {
    snprintf(w, len,
             "multiplies %zux%zux%zu by %zux%zux%zu (one shape, or a second "
             "factor of %zux1x1)",
             in[0].c, in[0].h, in[0].w, in[1].c, in[1].h, in[1].w, in[0].c);
    return LSP_EINVAL;
  }
  *out = in[0];
  return LSP_OK;
}

/* Values per channel of the first input that share one factor of the
 * second: 1 for two inputs of one shape, H·W for a gate. */
static size_t per_factor(const lsp_node *nd) {
  return lsp_shape_size(nd->ishape) / lsp_shape_size(nd->ishape1);
}

void lsp_mul_fwd(const lsp_op_call *c) {
  size_t n = rows_of(c), hw = per_factor(c->nd);
  if (hw == 1) {
    for (size_t i = 0; i < n; i++) c->y[i] = c->x0[i] * c->x1[i];
    return;
  }
  for (size_t f = 0; f < n / hw; f++)
    for (size_t p = 0; p < hw; p++)
      c->y[f * hw + p] = c->x0[f * hw + p] * c->x1[f];
}

void lsp_mul_bwd(const lsp_op_call *c) {
  size_t n = rows_of(c), hw = per_factor(c->nd);
  if (hw == 1) {
    if (c->dx0)
      for (size_t i = 0; i < n; i++) c->dx0[i] = c->dy[i] * c->x1[i];
    if (c->dx1)
      for (size_t i = 0; i < n; i++) c->dx1[i] = c->dy[i] * c->x0[i];
    return;
  }
  for (size_t f = 0; f < n / hw; f++) {
    const float *dy = c->dy + f * hw, *a = c->x0 + f * hw;
    if (c->dx0)
      for (size_t p = 0; p < hw; p++) c->dx0[f * hw + p] = dy[p] * c->x1[f];
    if (c->dx1) { /* the sum over the channel's pixels, in double */
      double s = 0.0;
      for (size_t p = 0; p < hw; p++) s += (double)dy[p] * (double)a[p];
      c->dx1[f] = (float)s;
    }
  }
}

/* Both inputs read the element they multiply: a gate's factor is read when
 * any pixel of its channel is. */
void lsp_reads_mul(const lsp_node *nd, const float *out, float *in0,
                   float *in1) {
  size_t n = lsp_shape_size(nd->shape), hw = per_factor(nd);
  memcpy(in0, out, n * sizeof *in0);
  if (!in1) return;
  for (size_t f = 0; f < n / hw; f++) {
    in1[f] = 0.0f;
    for (size_t p = 0; p < hw && in1[f] == 0.0f; p++)
      if (out[f * hw + p] > 0.0f) in1[f] = 1.0f;
  }
}

/* ---- concat ------------------------------------------------------------ */

int lsp_concat_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                     char *w, size_t len) {
  (void)a;
  if (in[0].h != in[1].h || in[0].w != in[1].w) {
    snprintf(w, len,
             "concatenates channels of %zux%zux%zu and %zux%zux%zu (the "
             "height and width must agree)",
             in[0].c, in[0].h, in[0].w, in[1].c, in[1].h, in[1].w);
    return LSP_EINVAL;
  }
  if (in[0].c + in[1].c > MAX_DIM) {
    snprintf(w, len, "%zu + %zu channels is too many", in[0].c, in[1].c);
    return LSP_EINVAL;
  }
  *out = (lsp_shape){in[0].c + in[1].c, in[0].h, in[0].w};
  return LSP_OK;
}

/* Per example: the first input's C₀·H·W floats, then the second's. */
static void concat_sizes(const lsp_node *nd, size_t *s0, size_t *s1) {
  *s0 = lsp_shape_size(nd->ishape);
  *s1 = lsp_shape_size(nd->shape) - *s0;
}

void lsp_concat_fwd(const lsp_op_call *c) {
  size_t s0, s1;
  concat_sizes(c->nd, &s0, &s1);
  for (size_t i = 0; i < c->n; i++) {
    float *y = c->y + i * (s0 + s1);
    memcpy(y, c->x0 + i * s0, s0 * sizeof *y);
    memcpy(y + s0, c->x1 + i * s1, s1 * sizeof *y);
  }
}

void lsp_concat_bwd(const lsp_op_call *c) {
  size_t s0, s1;
  concat_sizes(c->nd, &s0, &s1);
  for (size_t i = 0; i < c->n; i++) {
    const float *dy = c->dy + i * (s0 + s1);
    if (c->dx0) memcpy(c->dx0 + i * s0, dy, s0 * sizeof *dy);
    if (c->dx1) memcpy(c->dx1 + i * s1, dy + s0, s1 * sizeof *dy);
  }
}

/* Each input element is read where its copy lands in the output. */
void lsp_reads_concat(const lsp_node *nd, const float *out, float *in0,
                      float *in1) {
  size_t s0, s1;
  concat_sizes(nd, &s0, &s1);
  memcpy(in0, out, s0 * sizeof *in0);
  if (in1) memcpy(in1, out + s0, s1 * sizeof *in1);
}
