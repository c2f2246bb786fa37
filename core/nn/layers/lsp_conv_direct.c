/* lsp_conv_direct.c — Conv2d by direct loops (no patch matrix).
 *
 * Each sample is first copied into a zero-padded buffer split by column
 * phase: padded column pc of row pr goes to phase pc mod sw, slot pc div sw.
 * Output column s under kernel tap v then reads slot s + v div sw of phase
 * v mod sw, so 16 neighbouring output columns read 16 consecutive floats
 * whatever the stride. The core keeps a block of up to 8 output channels ×
 * 32 output columns in vector registers and runs over (c, u, v), one vector
 * load of input and one broadcast weight per multiply-add vector.
 *
 * The input gradient is the same core run on dy, spread onto a zero grid
 * (stride) and offset (padding), with the kernel flipped and its channels
 * swapped: dx[c,h,w] = Σ_{o,u,v} w[o,c,u,v]·dy[o,(h+ph−u)/sh,(w+pw−v)/sw]
 * over the exact divisions. dw is in lsp_conv_dw.c. */
#include <string.h>

#include "core/base/lsp_clones.h"
#include "core/nn/layers/lsp_conv_int.h"

#include "core/nn/layers/lsp_conv_direct.h"

#define OB 8 /* output channels per register block */

/* ---- the core ---------------------------------------------------------------- */

/* One block: output channels o0 … o0+ob−1, row r, columns j0 … j0+nb·16−1.
 * ob and nb are constants at every call, so acc lives in registers. */
static inline __attribute__((always_inline)) void
block(const dgeom *d, const float *xq, const float *w, const float *b,
      float *y, size_t o0, size_t r, size_t j0, const int ob, const int nb) {
  vf acc[OB][2];
  for (int k = 0; k < ob; k++)
    for (int t = 0; t < nb; t++) acc[k][t] = (vf){0} + (b ? b[o0 + (size_t)k] : 0.0f);
  const size_t K = d->ci * d->kh * d->kw, plane = d->rows * d->sw * d->wq;
  for (size_t c = 0; c < d->ci; c++)
    for (size_t u = 0; u < d->kh; u++) {
      const float *xr = xq + c * plane + (r * d->sh + u) * d->sw * d->wq + j0;
      const float *wr = w + o0 * K + (c * d->kh + u) * d->kw;
      size_t phase = 0, slot = 0;
      for (size_t v = 0; v < d->kw; v++) {
        const float *xs = xr + phase * d->wq + slot;
        vf x0 = vload(xs), x1 = {0};
        if (nb > 1) x1 = vload(xs + VL);
        for (int k = 0; k < ob; k++) {
          const float wk = wr[(size_t)k * K + v];
          acc[k][0] += x0 * wk;
          if (nb > 1) acc[k][1] += x1 * wk;
        }
        if (++phase == d->sw) phase = 0, slot++;
      }
    }
  for (int k = 0; k < ob; k++) {
    float *yr = y + ((o0 + (size_t)k) * d->ho + r) * d->wo;
    for (int t = 0; t < nb; t++) {
      size_t j = j0 + (size_t)t * VL;
      if (j >= d->wo) break;
      if (d->wo - j >= VL) { /* a whole vector: one store */
        memcpy(yr + j, &acc[k][t], sizeof(vf));
      } else { /* the row's tail (a variable-size memcpy would be a call) */
        float tail[VL];
        memcpy(tail, &acc[k][t], sizeof tail);
        for (size_t q = 0; q < d->wo - j; q++) yr[j + q] = tail[q];
      }
    }
  }
}

#define BLOCK_CASE(OBN, NBN) \
  case OBN: block(d, xq, w, b, y, o0, r, j0, OBN, NBN); break;
#define BLOCK_SWITCH(NBN)                                             \
  switch (ob) {                                                       \
    BLOCK_CASE(1, NBN) BLOCK_CASE(2, NBN) BLOCK_CASE(3, NBN)          \
    BLOCK_CASE(4, NBN) BLOCK_CASE(5, NBN) BLOCK_CASE(6, NBN)          \
    BLOCK_CASE(7, NBN) default: block(d, xq, w, b, y, o0, r, j0, OB, NBN); \
  }

LSP_CLONES
static void core(const dgeom *d, const float *xq, const float *w,
                 const float *b, float *y) {
  for (size_t o0 = 0; o0 < d->co; o0 += OB) {
    const size_t ob = d->co - o0 < OB ? d->co - o0 : OB;
    for (size_t r = 0; r < d->ho; r++) {
      size_t j0 = 0;
      for (; j0 + VL < d->wo; j0 += 2 * VL) BLOCK_SWITCH(2)
      if (j0 < d->wo) BLOCK_SWITCH(1)
    }
  }
}

/* ---- forward ----------------------------------------------------------------- */

dgeom lsp_conv_fwd_dgeom(const lsp_conv2d_geom *g) {
  dgeom d = {.ci = g->c_in, .co = g->c_out, .kh = g->kh, .kw = g->kw,
             .sh = g->sh, .sw = g->sw, .ho = g->h_out, .wo = g->w_out};
  set_layout(&d, (g->h_out - 1) * g->sh + g->kh);
  return d;
}

void lsp_conv_prep(const dgeom *d, const float *x, size_t h, size_t w,
                 size_t oy, size_t ox, size_t ystep, size_t xstep, float *xq) {
  memset(xq, 0, prep_size(d) * sizeof(float));
  const size_t plane = d->rows * d->sw * d->wq;
  for (size_t c = 0; c < d->ci; c++)
    for (size_t i = 0; i < h; i++) {
      const size_t pr = oy + i * ystep;
      if (pr >= d->rows) break;
      const float *src = x + (c * h + i) * w;
      float *row = xq + c * plane + pr * d->sw * d->wq;
      if (d->sw == 1) { /* no phases: slot = padded column */
        if (xstep == 1) {
          size_t cnt = ox < d->wq ? d->wq - ox : 0;
          if (cnt > w) cnt = w;
          memcpy(row + ox, src, cnt * sizeof(float));
        } else {
          for (size_t j = 0; j < w && ox + j * xstep < d->wq; j++)
            row[ox + j * xstep] = src[j];
        }
        continue;
      }
      /* phase p takes the columns j with (ox + j·xstep) mod sw = p, in
       * consecutive slots: walk them without a division per pixel */
      for (size_t j0 = 0; j0 < w && j0 < d->sw; j0++) {
        size_t pc = ox + j0 * xstep;
        float *ph = row + (pc % d->sw) * d->wq;
        size_t slot = pc / d->sw;
        const size_t step = xstep; /* slots advance by xstep per sw columns */
        for (size_t j = j0; j < w && slot < d->wq; j += d->sw, slot += step)
          ph[slot] = src[j];
      }
    }
}

size_t lsp_conv2d_ws_size_direct(const lsp_conv2d_geom *g, size_t n) {
  dgeom f = lsp_conv_fwd_dgeom(g);
  size_t need = prep_size(&f);
  /* dx: dy spread out (c_out channels) + the flipped kernel */
  dgeom t = {.ci = g->c_out, .kw = g->kw, .sw = 1, .wo = g->w_in};
  set_layout(&t, g->h_in + g->kh - 1);
  size_t back = prep_size(&t) + g->c_out * g->c_in * g->kh * g->kw;
  if (back > need) need = back;
  size_t dw = lsp_conv_dw_ws_size(g, n);
  return dw > need ? dw : need;
}

void lsp_conv2d_forward_direct(const lsp_conv2d_geom *g, const float *x,
                               size_t n, const float *w, const float *b,
                               float *y, float *ws) {
  const dgeom d = lsp_conv_fwd_dgeom(g);
  const size_t xs = g->c_in * g->h_in * g->w_in, ys = g->c_out * g->h_out * g->w_out;
  for (size_t i = 0; i < n; i++) {
    lsp_conv_prep(&d, x + i * xs, g->h_in, g->w_in, g->ph, g->pw, 1, 1, ws);
    core(&d, ws, w, b, y + i * ys);
  }
}

/* ---- backward ---------------------------------------------------------------- */

void lsp_conv2d_backward_direct(const lsp_conv2d_geom *g, const float *x,
                                const float *dy, size_t n, const float *w,
                                float *dx, float *dw, float *db, float *ws) {
  const size_t P = g->h_out * g->w_out;
  if (db)
    for (size_t m = 0; m < g->c_out; m++) {
      double s = 0.0;
      for (size_t i = 0; i < n; i++) {
        const float *d = dy + (i * g->c_out + m) * P;
        for (size_t p = 0; p < P; p++) s += d[p];
      }
      db[m] = (float)s;
    }
  if (dw) lsp_conv_dw_direct(g, x, dy, n, dw, ws);
  if (!dx) return;
  /* dx = stride-1 correlation of the spread dy with w'[c,o,u,v] =
   * w[o,c,kh−1−u,kw−1−v]; dy[o,r,s] sits at (r·sh + kh−1−ph, s·sw + kw−1−pw),
   * entries at a negative position (padding beyond kh−1) are dropped. */
  dgeom d = {.ci = g->c_out, .co = g->c_in, .kh = g->kh, .kw = g->kw,
             .sh = 1, .sw = 1, .ho = g->h_in, .wo = g->w_in};
  set_layout(&d, g->h_in + g->kh - 1);
  float *dq = ws, *wt = ws + prep_size(&d);
  const size_t K = g->kh * g->kw;
  for (size_t o = 0; o < g->c_out; o++)
    for (size_t c = 0; c < g->c_in; c++)
      for (size_t t = 0; t < K; t++)
        wt[(c * g->c_out + o) * K + (K - 1 - t)] = w[(o * g->c_in + c) * K + t];
  const size_t xs = g->c_in * g->h_in * g->w_in, ys = g->c_out * g->h_out * g->w_out;
  /* rows (and columns) of dy before the first that lands at index >= 0 */
  const size_t r0 = g->ph > g->kh - 1 ? (g->ph - (g->kh - 1) + g->sh - 1) / g->sh : 0;
  const size_t s0 = g->pw > g->kw - 1 ? (g->pw - (g->kw - 1) + g->sw - 1) / g->sw : 0;
  const size_t oy = r0 * g->sh + g->kh - 1 - g->ph, ox = s0 * g->sw + g->kw - 1 - g->pw;
  for (size_t i = 0; i < n; i++) {
    const float *dyi = dy + i * ys;
    if (r0 == 0 && s0 == 0) {
      lsp_conv_prep(&d, dyi, g->h_out, g->w_out, oy, ox, g->sh, g->sw, dq);
    } else { /* rare: padding wider than the kernel; place what lands inside */
      memset(dq, 0, prep_size(&d) * sizeof(float));
      const size_t plane = d.rows * d.wq;
      for (size_t o = 0; o < g->c_out; o++)
        for (size_t r = r0; r < g->h_out; r++)
          for (size_t s = s0; s < g->w_out; s++) {
            size_t pr = oy + (r - r0) * g->sh, pc = ox + (s - s0) * g->sw;
            if (pr < d.rows && pc < d.wq)
              dq[o * plane + pr * d.wq + pc] = dyi[(o * g->h_out + r) * g->w_out + s];
          }
    }
    core(&d, dq, wt, NULL, dx + i * xs);
  }
}
