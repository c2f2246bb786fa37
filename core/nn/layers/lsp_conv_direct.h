/* lsp_conv_direct.h — pieces shared by the direct Conv2d kernels
 * (lsp_conv_direct.c: forward and dx; lsp_conv_dw.c: dw). Internal. */
#ifndef LSP_CONV_DIRECT_H
#define LSP_CONV_DIRECT_H

#include <stddef.h>
#include <string.h>

#include "core/nn/layers/lsp_conv.h"

/* The vector helpers are static inline: no vector crosses a real call. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

typedef float vf __attribute__((vector_size(64)));
#define VL 16 /* floats per vector */

static inline vf vload(const float *p) {
  vf v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* What the core runs: a stride-(sh, sw) correlation of a prepared input
 * (ci channels of `rows` rows × sw phases × wq slots) with a co × ci × kh ×
 * kw kernel, giving co × ho × wo. */
typedef struct {
  size_t ci, co, kh, kw, sh, sw, ho, wo;
  size_t rows, wq;
} dgeom;

static inline size_t nvec(size_t w) { return (w + VL - 1) / VL; }

/* Layout for an output of width wo: slots for every vector read. */
static inline void set_layout(dgeom *d, size_t rows) {
  d->rows = rows;
  d->wq = nvec(d->wo) * VL + (d->kw - 1) / d->sw;
}

/* Floats of one prepared sample. */
static inline size_t prep_size(const dgeom *d) {
  return d->ci * d->rows * d->sw * d->wq;
}

/* The forward's layout for a convolution. */
dgeom lsp_conv_fwd_dgeom(const lsp_conv2d_geom *g);
/* The layout of dx's correlation: the spread dy in, c_in channels out. */
dgeom lsp_conv_dx_dgeom(const lsp_conv2d_geom *g);

/* dy (d->ci planes of h_out × w_out) spread onto dx's layout d (prep_size
 * floats at dq): dy[o,r,s] at (r·sh + kh−1−ph, s·sw + kw−1−pw); entries
 * at a negative position (padding beyond kh−1) meet no input. */
void lsp_conv_spread_dy(const lsp_conv2d_geom *g, const dgeom *d,
                        const float *dy, float *dq);

/* Place one sample x (ci × h × w) into xq (prep_size floats, zeroed first)
 * with its pixel (i, j) at padded position (oy + i·ystep, ox + j·xstep);
 * pixels falling outside the layout are dropped (they meet no kernel tap). */
void lsp_conv_prep(const dgeom *d, const float *x, size_t h, size_t w,
                   size_t oy, size_t ox, size_t ystep, size_t xstep,
                   float *xq);

/* dw (c_out × c_in × kh × kw) = Σ over n samples of dy ⋆ x (lsp_conv_dw.c),
 * overwritten; ws: lsp_conv_dw_ws_size(g, n) floats. */
size_t lsp_conv_dw_ws_size(const lsp_conv2d_geom *g, size_t n);
void lsp_conv_dw_direct(const lsp_conv2d_geom *g, const float *x,
                        const float *dy, size_t n, float *dw, float *ws);

#endif
