/* lsp_ops_gmp.c — the table entry of global max pooling (lsp_ops.h):
 *
 *   gmp   y[c] = max over the H·W pixels of channel c (C×H×W -> C×1×1);
 *         dx[c, p] = dy[c] at p = the first position of the maximum in
 *         row-major order, 0 elsewhere (PyTorch's adaptive_max_pool2d and
 *         max_pool2d with the whole image as the window; amax instead
 *         splits dy evenly among tied maxima). A NaN replaces the running
 *         maximum, as in maxpool and PyTorch's CPU kernel, so a channel with
 *         a NaN gives NaN. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/nn/lsp_ops.h"

int lsp_gmp_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                  char *w, size_t len) {
  (void)a, (void)w, (void)len;
  *out = (lsp_shape){in[0].c, 1, 1};
  return LSP_OK;
}

double lsp_gmp_flops(const lsp_node *nd) {
  return (double)lsp_shape_size(nd->ishape);
}

/* The position of the first maximum of x[0..hw) (the last NaN, if any). */
static size_t first_max(const float *x, size_t hw) {
  size_t best = 0;
  float m = -INFINITY;
  for (size_t q = 0; q < hw; q++) {
    const float v = x[q];
    if (v > m || v != v) {
      m = v;
      best = q;
    }
  }
  return best;
}

void lsp_gmp_fwd(const lsp_op_call *c) {
  const lsp_shape *s = &c->nd->ishape;
  const size_t hw = s->h * s->w;
  for (size_t p = 0; p < c->n * s->c; p++) {
    const float *x = c->x0 + p * hw;
    c->y[p] = x[first_max(x, hw)];
  }
}

void lsp_gmp_bwd(const lsp_op_call *c) {
  if (!c->dx0) return;
  const lsp_shape *s = &c->nd->ishape;
  const size_t hw = s->h * s->w;
  for (size_t p = 0; p < c->n * s->c; p++) {
    float *dx = c->dx0 + p * hw;
    memset(dx, 0, hw * sizeof *dx);
    dx[first_max(c->x0 + p * hw, hw)] = c->dy[p];
  }
}
