/* lsp_conv_direct.c — Conv2d by direct loops (no patch matrix).
 *
 * Each sample is first copied into a zero-padded buffer split by column
 * phase: padded column pc of row pr goes to phase pc mod sw, slot pc div sw.
 * Output column s under kernel tap v then reads slot s + v div sw of phase
 * v mod sw, so 16 neighbouring output columns read 16 consecutive floats
 * whatever the stride. Two cores, whichever needs fewer vector multiply-
 * adds (use_cv): `core` keeps a block of up to 8 output channels × 32 output
 * columns in vector registers and runs over (c, u, v), one vector load of
 * input and one broadcast weight per multiply-add vector; `core_cv` puts 16
 * output channels in a vector and keeps 8 output pixels in registers, one
 * vector of weights and one broadcast input pixel per multiply-add (narrow
 * outputs, many channels).
 *
 * The input gradient is the same core run on dy, spread onto a zero grid
 * (stride) and offset (padding), with the kernel flipped and its channels
 * swapped: dx[c,h,w] = Σ_{o,u,v} w[o,c,u,v]·dy[o,(h+ph−u)/sh,(w+pw−v)/sw]
 * over the exact divisions. dw is in lsp_conv_dw.c. */
#include <string.h>

#include "core/base/lsp_clones.h"
#include "core/nn/layers/lsp_conv_direct.h"
#include "core/nn/layers/lsp_conv_int.h"

#define OB 8 /* output channels per register block */

/* ---- the core
 * ---------------------------------------------------------------- */

/* One block: output channels o0 … o0+ob−1, row r, columns j0 … j0+nb·16−1.
 * ob and nb are constants at every call, so acc lives in registers. */
static inline __attribute__((always_inline)) void block(
    const dgeom *d, const float *xq, const float *w, const float *b, float *y,
    size_t o0, size_t r, size_t j0, const int ob, const int nb) {
  vf acc[OB][2];
  for (int k = 0; k < ob; k++)
    for (int t = 0; t < nb; t++)
      acc[k][t] = (vf){0} + (b ? b[o0 + (size_t)k] : 0.0f);
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

#define BLOCK_CASE(OBN, NBN)                    \
  case OBN:                                     \
    block(d, xq, w, b, y, o0, r, j0, OBN, NBN); \
    break;
/* clang-format off */
#define BLOCK_SWITCH(NBN)                                             \
  switch (ob) {                                                       \
    BLOCK_CASE(1, NBN) BLOCK_CASE(2, NBN) BLOCK_CASE(3, NBN)          \
    BLOCK_CASE(4, NBN) BLOCK_CASE(5, NBN) BLOCK_CASE(6, NBN)          \
    BLOCK_CASE(7, NBN)                                                \
    default: block(d, xq, w, b, y, o0, r, j0, OB, NBN);               \
  }
/* clang-format on */

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

/* ---- the core, channel-vectorized
 * ---------------------------------------------- */

/* One block: output channels ov·16 … ov·16+15 for output pixels p0 …
 * p0+pb−1 (row-major over ho × wo, across row ends): per kernel tap one
 * vector of 16 weights (wt is taps × co16, channels padded with zeros) and
 * one broadcast input pixel per multiply-add vector. pb is a constant at
 * every call, so acc lives in registers. */
#define PB 8
static inline __attribute__((always_inline)) void cv_block(
    const dgeom *d, const float *xq, const float *wt, const float *b16,
    float *y, size_t ov, size_t p0, const int pb) {
  const size_t co16 = nvec(d->co) * VL, rowlen = d->sw * d->wq;
  const size_t plane = d->rows * rowlen, P = d->ho * d->wo;
  size_t base[PB];
  for (int p = 0; p < pb; p++) {
    const size_t q = p0 + (size_t)p;
    base[p] = q / d->wo * d->sh * rowlen + q % d->wo;
  }
  vf acc[PB];
  const vf init = b16 ? vload(b16 + ov * VL) : (vf){0};
  for (int p = 0; p < pb; p++) acc[p] = init;
  const float *wp = wt + ov * VL;
  for (size_t c = 0; c < d->ci; c++)
    for (size_t u = 0; u < d->kh; u++) {
      const float *xcu = xq + c * plane + u * rowlen;
      size_t phase = 0, slot = 0;
      for (size_t v = 0; v < d->kw; v++, wp += co16) {
        const float *xt = xcu + phase * d->wq + slot;
        const vf wv = vload(wp);
        for (int p = 0; p < pb; p++) acc[p] += wv * xt[base[p]];
        if (++phase == d->sw) phase = 0, slot++;
      }
    }
  const size_t lanes = d->co - ov * VL < VL ? d->co - ov * VL : VL;
  float *yo = y + ov * VL * P + p0;
  for (int p = 0; p < pb; p++) {
    float t[VL];
    memcpy(t, &acc[p], sizeof t);
    for (size_t l = 0; l < lanes; l++) yo[l * P + (size_t)p] = t[l];
  }
}

#define CV_CASE(PBN)                          \
  case PBN:                                   \
    cv_block(d, xq, wt, b16, y, ov, p0, PBN); \
    break;

LSP_CLONES
static void core_cv(const dgeom *d, const float *xq, const float *wt,
                    const float *b16, float *y) {
  const size_t P = d->ho * d->wo;
  for (size_t ov = 0; ov < nvec(d->co); ov++) {
    size_t p0 = 0;
    for (; p0 + PB <= P; p0 += PB) cv_block(d, xq, wt, b16, y, ov, p0, PB);
    /* clang-format off */
    switch (P - p0) {
      CV_CASE(1) CV_CASE(2) CV_CASE(3) CV_CASE(4) CV_CASE(5) CV_CASE(6)
      CV_CASE(7)
      default: break;
    }
    /* clang-format on */
  }
}

/* Vectors of multiply-adds per kernel tap: 16 output columns per vector
 * (core) or 16 output channels per vector (core_cv); the fewer wins. */
static int use_cv(const dgeom *d) {
  return d->ho * d->wo * nvec(d->co) < d->co * d->ho * nvec(d->wo);
}

/* The weights as core_cv wants them: wt[tap][o'] for the taps (c', u, v)
 * of output channel o', channels padded to whole vectors with zeros. For
 * the forward o' = o, c' = c; for dx (flip) o' = c, c' = o and the kernel
 * is turned by 180°. */
static void cv_weights(const lsp_conv2d_geom *g, const float *w, int flip,
                       float *wt) {
  const size_t K = g->kh * g->kw;
  const size_t co = flip ? g->c_in : g->c_out, ci = flip ? g->c_out : g->c_in;
  const size_t co16 = nvec(co) * VL;
  memset(wt, 0, ci * K * co16 * sizeof(float));
  for (size_t o = 0; o < g->c_out; o++)
    for (size_t c = 0; c < g->c_in; c++)
      for (size_t t = 0; t < K; t++) {
        const float v = w[(o * g->c_in + c) * K + t];
        if (flip)
          wt[(o * K + (K - 1 - t)) * co16 + c] = v;
        else
          wt[(c * K + t) * co16 + o] = v;
      }
}

/* Floats of the weight (and bias) copy either core needs for d. */
static size_t wcopy_size(const dgeom *d) {
  const size_t co16 = nvec(d->co) * VL;
  return d->ci * d->kh * d->kw * co16 + co16;
}

/* ---- forward
 * ----------------------------------------------------------------- */

dgeom lsp_conv_fwd_dgeom(const lsp_conv2d_geom *g) {
  dgeom d = {.ci = g->c_in,
             .co = g->c_out,
             .kh = g->kh,
             .kw = g->kw,
             .sh = g->sh,
             .sw = g->sw,
             .ho = g->h_out,
             .wo = g->w_out};
  set_layout(&d, (g->h_out - 1) * g->sh + g->kh);
  return d;
}

void lsp_conv_prep(const dgeom *d, const float *x, size_t h, size_t w,
                   size_t oy, size_t ox, size_t ystep, size_t xstep,
                   float *xq) {
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

void lsp_conv_spread_dy(const lsp_conv2d_geom *g, const dgeom *d,
                        const float *dy, float *dq) {
  /* rows (and columns) of dy before the first that lands at index >= 0 */
  const size_t r0 =
      g->ph > g->kh - 1 ? (g->ph - (g->kh - 1) + g->sh - 1) / g->sh : 0;
  const size_t s0 =
      g->pw > g->kw - 1 ? (g->pw - (g->kw - 1) + g->sw - 1) / g->sw : 0;
  const size_t oy = r0 * g->sh + g->kh - 1 - g->ph,
               ox = s0 * g->sw + g->kw - 1 - g->pw;
  if (r0 == 0 && s0 == 0) {
    lsp_conv_prep(d, dy, g->h_out, g->w_out, oy, ox, g->sh, g->sw, dq);
    return;
  }
  /* rare: padding wider than the kernel; place what lands inside */
  memset(dq, 0, prep_size(d) * sizeof(float));
  const size_t plane = d->rows * d->wq;
  for (size_t o = 0; o < d->ci; o++)
    for (size_t r = r0; r < g->h_out; r++)
      for (size_t s = s0; s < g->w_out; s++) {
        size_t pr = oy + (r - r0) * g->sh, pc = ox + (s - s0) * g->sw;
        if (pr < d->rows && pc < d->wq)
          dq[o * plane + pr * d->wq + pc] = dy[(o * g->h_out + r) * g->w_out + s];
      }
}

dgeom lsp_conv_dx_dgeom(const lsp_conv2d_geom *g) {
  dgeom d = {.ci = g->c_out,
             .co = g->c_in,
             .kh = g->kh,
             .kw = g->kw,
             .sh = 1,
             .sw = 1,
             .ho = g->h_in,
             .wo = g->w_in};
  set_layout(&d, g->h_in + g->kh - 1);
  return d;
}

size_t lsp_conv2d_ws_size_direct(const lsp_conv2d_geom *g, size_t n) {
  const dgeom f = lsp_conv_fwd_dgeom(g), t = lsp_conv_dx_dgeom(g);
  size_t need = prep_size(&f) + wcopy_size(&f);
  size_t back = prep_size(&t) + wcopy_size(&t);
  if (back > need) need = back;
  size_t dw = lsp_conv_dw_ws_size(g, n);
  return dw > need ? dw : need;
}

void lsp_conv2d_forward_direct(const lsp_conv2d_geom *g, const float *x,
                               size_t n, const float *w, const float *b,
                               float *y, float *ws) {
  const dgeom d = lsp_conv_fwd_dgeom(g);
  const size_t xs = g->c_in * g->h_in * g->w_in,
               ys = g->c_out * g->h_out * g->w_out;
  const int cv = use_cv(&d);
  float *xq = ws, *wt = ws + prep_size(&d), *b16 = NULL;
  if (cv) {
    cv_weights(g, w, 0, wt);
    if (b) {
      b16 = wt + d.ci * d.kh * d.kw * nvec(d.co) * VL;
      memset(b16, 0, nvec(d.co) * VL * sizeof(float));
      memcpy(b16, b, d.co * sizeof(float));
    }
  }
  for (size_t i = 0; i < n; i++) {
    lsp_conv_prep(&d, x + i * xs, g->h_in, g->w_in, g->ph, g->pw, 1, 1, xq);
    if (cv)
      core_cv(&d, xq, wt, b16, y + i * ys);
    else
      core(&d, xq, w, b, y + i * ys);
  }
}

/* ---- backward
 * ---------------------------------------------------------------- */

void lsp_conv2d_backward_direct(const lsp_conv2d_geom *g, const float *x,
                                const float *dy, size_t n, const float *w,
                                float *dx, float *dw, float *db, float *ws) {
  if (db) lsp_conv2d_bias_grad(g, dy, n, db);
  if (dw) lsp_conv_dw_direct(g, x, dy, n, dw, ws);
  if (!dx) return;
  /* dx = stride-1 correlation of the spread dy with w'[c,o,u,v] =
   * w[o,c,kh−1−u,kw−1−v]; dy[o,r,s] sits at (r·sh + kh−1−ph, s·sw + kw−1−pw),
   * entries at a negative position (padding beyond kh−1) are dropped. */
  const dgeom d = lsp_conv_dx_dgeom(g);
  const int cv = use_cv(&d);
  float *dq = ws, *wt = ws + prep_size(&d);
  const size_t K = g->kh * g->kw;
  if (cv)
    cv_weights(g, w, 1, wt);
  else
    for (size_t o = 0; o < g->c_out; o++)
      for (size_t c = 0; c < g->c_in; c++)
        for (size_t t = 0; t < K; t++)
          wt[(c * g->c_out + o) * K + (K - 1 - t)] =
              w[(o * g->c_in + c) * K + t];
  const size_t xs = g->c_in * g->h_in * g->w_in,
               ys = g->c_out * g->h_out * g->w_out;
  for (size_t i = 0; i < n; i++) {
    lsp_conv_spread_dy(g, &d, dy + i * ys, dq);
    if (cv)
      core_cv(&d, dq, wt, NULL, dx + i * xs);
    else
      core(&d, dq, wt, NULL, dx + i * xs);
  }
}
