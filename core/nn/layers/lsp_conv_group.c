/* lsp_conv_group.c — Conv2d with groups > 1.
 *
 * Group q (of G) convolves input channels q·C/G … (q+1)·C/G − 1 with the
 * output channels q·M/G … (q+1)·M/G − 1, whose weights are the M/G rows
 * of w (M × C/G × kh × kw, PyTorch's layout):
 *   y[i,o,r,s] = b[o] + Σ_{j<C/G, u, v} w[o,j,u,v] ·
 *                xpad[i, q(o)·C/G + j, r·sh + u, s·sw + v],  q(o) = o / (M/G)
 *
 * General groups run the groups-1 kernels (lsp_conv.h) on each group's
 * channel slice: the forward and dx per sample (a group's channels are
 * contiguous within a sample), dw and db on the group's slices of x and dy
 * gathered for the whole call. Depthwise layers (G = C: one input channel
 * per group, M/G outputs from each) have their own loops here: each input
 * channel is padded and split by column phase as for the direct kernels
 * (lsp_conv_direct.h), and each output plane is computed 16 output columns
 * per vector, 4 output rows at a time; dx is the same loop on dy spread onto
 * the input's grid with the kernel turned by 180°; dw sums dy · x per tap
 * over 16 columns per vector. */
#include <string.h>

#include "core/base/lsp_clones.h"
#include "core/nn/layers/lsp_conv_direct.h"
#include "core/nn/layers/lsp_conv_int.h"

#define RB 4 /* output rows per block */

static size_t ngroups(const lsp_conv2d_geom *g) {
  return g->groups > 1 ? g->groups : 1;
}

/* The geometry of one group as a groups-1 convolution. */
static lsp_conv2d_geom sub_geom(const lsp_conv2d_geom *g) {
  lsp_conv2d_geom s = *g;
  s.c_in = g->c_in / ngroups(g);
  s.c_out = g->c_out / ngroups(g);
  s.groups = 1;
  return s;
}

int lsp_conv2d_depthwise(const lsp_conv2d_geom *g) {
  return ngroups(g) > 1 && ngroups(g) == g->c_in;
}

/* ---- depthwise: one output plane
 * ------------------------------------------------- */

/* Rows r0 … r0+rb−1 of one output plane (ho × wo at y) from one prepared
 * channel xq (layout d, ci = 1) and one kernel k (kh × kw). add: add to y
 * instead of starting from bias. rb is a constant at every call. */
static inline __attribute__((always_inline)) void plane_block(
    const dgeom *d, const float *xq, const float *k, float bias, int add,
    float *y, size_t r0, size_t j, const int rb) {
  const size_t rowlen = d->sw * d->wq;
  const size_t cnt = d->wo - j < VL ? d->wo - j : VL;
  vf acc[RB];
  for (int t = 0; t < rb; t++) {
    if (add) {
      float tmp[VL] = {0};
      memcpy(tmp, y + (r0 + (size_t)t) * d->wo + j, cnt * sizeof(float));
      acc[t] = vload(tmp);
    } else {
      acc[t] = (vf){0} + bias;
    }
  }
  for (size_t u = 0; u < d->kh; u++) {
    size_t phase = 0, slot = 0;
    for (size_t v = 0; v < d->kw; v++) {
      const float kv = k[u * d->kw + v];
      const float *xs = xq + u * rowlen + phase * d->wq + slot + j;
      for (int t = 0; t < rb; t++)
        acc[t] += vload(xs + (r0 + (size_t)t) * d->sh * rowlen) * kv;
      if (++phase == d->sw) phase = 0, slot++;
    }
  }
  for (int t = 0; t < rb; t++) {
    float tmp[VL];
    memcpy(tmp, &acc[t], sizeof tmp);
    memcpy(y + (r0 + (size_t)t) * d->wo + j, tmp, cnt * sizeof(float));
  }
}

LSP_CLONES
static void plane(const dgeom *d, const float *xq, const float *k, float bias,
                  int add, float *y) {
  for (size_t j = 0; j < d->wo; j += VL) {
    size_t r = 0;
    for (; r + RB <= d->ho; r += RB)
      plane_block(d, xq, k, bias, add, y, r, j, RB);
    switch (d->ho - r) {
      case 1:
        plane_block(d, xq, k, bias, add, y, r, j, 1);
        break;
      case 2:
        plane_block(d, xq, k, bias, add, y, r, j, 2);
        break;
      case 3:
        plane_block(d, xq, k, bias, add, y, r, j, 3);
        break;
      default:
        break;
    }
  }
}

/* Σ_{r,s} dy[r,s] · xs[r·sh·rowlen + s] for one tap: dq holds dy in rows of
 * drow floats (whole vectors, zeros past wo); lanes added in a fixed order. */
static inline __attribute__((always_inline)) float tap_dot(
    const dgeom *d, const float *xs, const float *dq, size_t rowlen,
    size_t drow) {
  vf a0 = {0}, a1 = {0};
  for (size_t r = 0; r < d->ho; r++) {
    const float *xr = xs + r * d->sh * rowlen, *dr = dq + r * drow;
    size_t j = 0;
    for (; j + VL < drow; j += 2 * VL) {
      a0 += vload(dr + j) * vload(xr + j);
      a1 += vload(dr + j + VL) * vload(xr + j + VL);
    }
    if (j < drow) a0 += vload(dr + j) * vload(xr + j);
  }
  a0 += a1;
  float t[VL];
  memcpy(t, &a0, sizeof t);
  for (int s = VL / 2; s > 0; s /= 2)
    for (int q = 0; q < s; q++) t[q] += t[q + s];
  return t[0];
}

/* Σ_{r,s} dy[r,s] · xpad[r·sh + u, s·sw + v] for every tap (u, v) of one
 * output plane, added to dw (kh × kw); dq holds dy in rows of whole vectors
 * (zeros past wo). */
LSP_CLONES
static void plane_dw(const dgeom *d, const float *xq, const float *dq,
                     float *dw) {
  const size_t rowlen = d->sw * d->wq, drow = nvec(d->wo) * VL;
  for (size_t u = 0; u < d->kh; u++) {
    size_t phase = 0, slot = 0;
    for (size_t v = 0; v < d->kw; v++) {
      dw[u * d->kw + v] += tap_dot(
          d, xq + u * rowlen + phase * d->wq + slot, dq, rowlen, drow);
      if (++phase == d->sw) phase = 0, slot++;
    }
  }
}

/* Layouts of one channel: the forward's (x in) and dx's (spread dy in). */
static dgeom dw_fwd(const lsp_conv2d_geom *g) {
  lsp_conv2d_geom s = *g;
  s.c_in = s.c_out = 1;
  return lsp_conv_fwd_dgeom(&s);
}

static dgeom dw_dx(const lsp_conv2d_geom *g) {
  lsp_conv2d_geom s = *g;
  s.c_in = s.c_out = 1;
  return lsp_conv_dx_dgeom(&s);
}

static size_t dw_ws_size(const lsp_conv2d_geom *g) {
  const dgeom f = dw_fwd(g), t = dw_dx(g);
  return prep_size(&f) + prep_size(&t) + g->h_out * nvec(g->w_out) * VL +
         g->kh * g->kw;
}

static void dw_forward(const lsp_conv2d_geom *g, const float *x, size_t n,
                       const float *w, const float *b, float *y, float *ws) {
  const dgeom d = dw_fwd(g);
  const size_t HW = g->h_in * g->w_in, P = g->h_out * g->w_out;
  const size_t mult = g->c_out / g->c_in, K = g->kh * g->kw;
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < g->c_in; c++) {
      lsp_conv_prep(&d, x + (i * g->c_in + c) * HW, g->h_in, g->w_in, g->ph,
                    g->pw, 1, 1, ws);
      for (size_t k = 0; k < mult; k++) {
        const size_t o = c * mult + k;
        plane(&d, ws, w + o * K, b ? b[o] : 0.0f, 0,
              y + (i * g->c_out + o) * P);
      }
    }
}

/* dx[c] = Σ_k (spread dy[c·mult + k]) ⋆ (w[c·mult + k] turned by 180°):
 * dy[o,r,s] sits at (r·sh + kh−1−ph, s·sw + kw−1−pw) of the dx layout;
 * entries at a negative position (padding beyond kh−1) meet no input. */
static void dw_dx_run(const lsp_conv2d_geom *g, const float *dy, size_t n,
                      const float *w, float *dx, float *ws) {
  const dgeom d = dw_dx(g);
  const size_t HW = g->h_in * g->w_in, P = g->h_out * g->w_out;
  const size_t mult = g->c_out / g->c_in, K = g->kh * g->kw;
  float *dq = ws, *wf = ws + prep_size(&d);
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < g->c_in; c++)
      for (size_t k = 0; k < mult; k++) {
        const size_t o = c * mult + k;
        lsp_conv_spread_dy(g, &d, dy + (i * g->c_out + o) * P, dq);
        for (size_t t = 0; t < K; t++) wf[t] = w[o * K + K - 1 - t];
        plane(&d, dq, wf, 0.0f, k > 0, dx + (i * g->c_in + c) * HW);
      }
}

static void dw_backward(const lsp_conv2d_geom *g, const float *x,
                        const float *dy, size_t n, const float *w, float *dx,
                        float *dw, float *db, float *ws) {
  const size_t P = g->h_out * g->w_out;
  if (db) lsp_conv2d_bias_grad(g, dy, n, db);
  if (dw) {
    const dgeom d = dw_fwd(g);
    const size_t HW = g->h_in * g->w_in, mult = g->c_out / g->c_in;
    const size_t K = g->kh * g->kw, drow = nvec(g->w_out) * VL;
    float *xq = ws, *dq = ws + prep_size(&d);
    memset(dw, 0, g->c_out * K * sizeof(float));
    memset(dq, 0, g->h_out * drow * sizeof(float));
    for (size_t i = 0; i < n; i++)
      for (size_t c = 0; c < g->c_in; c++) {
        lsp_conv_prep(&d, x + (i * g->c_in + c) * HW, g->h_in, g->w_in, g->ph,
                      g->pw, 1, 1, xq);
        for (size_t k = 0; k < mult; k++) {
          const size_t o = c * mult + k;
          const float *dyo = dy + (i * g->c_out + o) * P;
          for (size_t r = 0; r < g->h_out; r++)
            memcpy(dq + r * drow, dyo + r * g->w_out,
                   g->w_out * sizeof(float));
          plane_dw(&d, xq, dq, dw + o * K);
        }
      }
  }
  if (dx) dw_dx_run(g, dy, n, w, dx, ws);
}

/* ---- general groups: the groups-1 kernels on channel slices
 * ------------------ */

size_t lsp_conv2d_ws_size_grouped(const lsp_conv2d_geom *g, size_t n) {
  if (lsp_conv2d_depthwise(g)) return dw_ws_size(g);
  const lsp_conv2d_geom s = sub_geom(g);
  const size_t m = n ? n : 1;
  return lsp_conv2d_ws_size(&s, m) +
         m * (s.c_in * g->h_in * g->w_in + s.c_out * g->h_out * g->w_out);
}

void lsp_conv2d_forward_grouped(const lsp_conv2d_geom *g, const float *x,
                                size_t n, const float *w, const float *b,
                                float *y, float *ws) {
  if (lsp_conv2d_depthwise(g)) {
    dw_forward(g, x, n, w, b, y, ws);
    return;
  }
  const lsp_conv2d_geom s = sub_geom(g);
  const size_t G = ngroups(g), xg = s.c_in * g->h_in * g->w_in,
               yg = s.c_out * g->h_out * g->w_out,
               wg = s.c_out * s.c_in * g->kh * g->kw;
  for (size_t i = 0; i < n; i++)
    for (size_t q = 0; q < G; q++)
      lsp_conv2d_forward(&s, x + (i * G + q) * xg, 1, w + q * wg,
                         b ? b + q * s.c_out : NULL, y + (i * G + q) * yg, ws);
}

void lsp_conv2d_backward_grouped(const lsp_conv2d_geom *g, const float *x,
                                 const float *dy, size_t n, const float *w,
                                 float *dx, float *dw, float *db, float *ws) {
  if (lsp_conv2d_depthwise(g)) {
    dw_backward(g, x, dy, n, w, dx, dw, db, ws);
    return;
  }
  const lsp_conv2d_geom s = sub_geom(g);
  const size_t G = ngroups(g), xg = s.c_in * g->h_in * g->w_in,
               yg = s.c_out * g->h_out * g->w_out,
               wg = s.c_out * s.c_in * g->kh * g->kw;
  if (dw || db) { /* each group's slices of the call's samples, gathered */
    float *xs = ws + lsp_conv2d_ws_size(&s, n), *ys = xs + n * xg;
    for (size_t q = 0; q < G; q++) {
      for (size_t i = 0; i < n; i++) {
        if (dw) memcpy(xs + i * xg, x + (i * G + q) * xg, xg * sizeof(float));
        memcpy(ys + i * yg, dy + (i * G + q) * yg, yg * sizeof(float));
      }
      lsp_conv2d_backward(&s, dw ? xs : NULL, ys, n, w + q * wg, NULL,
                          dw ? dw + q * wg : NULL,
                          db ? db + q * s.c_out : NULL, ws);
    }
  }
  if (dx)
    for (size_t i = 0; i < n; i++)
      for (size_t q = 0; q < G; q++)
        lsp_conv2d_backward(&s, NULL, dy + (i * G + q) * yg, 1, w + q * wg,
                            dx + (i * G + q) * xg, NULL, NULL, ws);
}
