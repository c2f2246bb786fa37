/* lsp_conv_dw.c — the weight gradient of Conv2d by direct loops.
 *
 *   dw[o,c,u,v] = Σ_i Σ_{r,s} dy[i,o,r,s] · xpad[i,c, r·sh + u, s·sw + v]
 *
 * Samples are taken in chunks: each one's input prepared as for the direct
 * forward (padded, split by column phase, lsp_conv_direct.h) and its dy
 * rows copied into whole vectors with zeros past w_out. For a kernel row
 * (c, u), a block of 4 output channels × up to 5 kernel columns keeps its
 * 20 sums in vector registers over every (sample, output row, 16 columns)
 * of the chunk: 4 dy loads and 5 input loads feed 20 multiply-adds. The
 * lanes are added up once per chunk in a fixed order.
 *
 * Where outputs are narrow and channels many (16 channels per vector fill
 * the lanes better than 16 columns, the rule of the forward), the chunk's dy
 * is transposed instead (pixel × channel, channels padded to whole vectors)
 * and up to 12 kernel taps of one input channel keep 16 output channels of
 * sums each in registers over every output pixel: one dy vector load and a
 * broadcast input pixel per multiply-add vector, no lanes to add up. */
#include "core/base/lsp_clones.h"
#include "core/nn/layers/lsp_conv_direct.h"

#define OW 4 /* output channels per block */
#define VW 5 /* kernel columns per block  */

/* Bytes of prepared inputs and padded dy a chunk may use (L2-resident). */
#define DW_CHUNK_BYTES ((size_t)256 * 1024)

/* Channel-vectorized (the forward's rule: fewer vectors per tap)? */
static int dw_cv(const lsp_conv2d_geom *g) {
  return g->h_out * g->w_out * nvec(g->c_out) <
         g->c_out * g->h_out * nvec(g->w_out);
}

/* Floats of one sample's dy as the kernel reads it. */
static size_t dy_size(const lsp_conv2d_geom *g) {
  return dw_cv(g) ? g->h_out * g->w_out * nvec(g->c_out) * VL
                  : g->c_out * g->h_out * nvec(g->w_out) * VL;
}

static size_t dw_chunk(const lsp_conv2d_geom *g, size_t n) {
  const dgeom d = lsp_conv_fwd_dgeom(g);
  const size_t per = prep_size(&d) + dy_size(g);
  size_t nb = DW_CHUNK_BYTES / sizeof(float) / per;
  if (nb == 0) nb = 1;
  return nb < n ? nb : (n ? n : 1);
}

size_t lsp_conv_dw_ws_size(const lsp_conv2d_geom *g, size_t n) {
  const dgeom d = lsp_conv_fwd_dgeom(g);
  return dw_chunk(g, n) * (prep_size(&d) + dy_size(g));
}

/* The 16 lanes added pairwise in a fixed order. */
static inline float hsum(vf v) {
  float a[VL];
  memcpy(a, &v, sizeof a);
  for (int s = VL / 2; s > 0; s /= 2)
    for (int i = 0; i < s; i++) a[i] += a[i + s];
  return a[0];
}

/* Kernel row (c, u), output channels o0 … o0+ob−1, kernel columns v0 …
 * v0+vb−1, over the nb samples of a chunk. ob and vb are constants at every
 * call, so acc lives in registers. */
static inline __attribute__((always_inline)) void dw_block(
    const dgeom *d, const float *xq, const float *dyq, size_t nb, size_t c,
    size_t u, size_t o0, size_t v0, float *dw, int add, const int ob,
    const int vb) {
  vf acc[OW][VW];
  for (int k = 0; k < ob; k++)
    for (int t = 0; t < vb; t++) acc[k][t] = (vf){0};
  const size_t nv = nvec(d->wo), drow = nv * VL, dplane = d->ho * drow;
  const size_t xstride = prep_size(d), dstride = d->co * dplane;
  const size_t rowlen = d->sw * d->wq;
  size_t off[VW];
  for (int t = 0; t < vb; t++) {
    const size_t v = v0 + (size_t)t;
    off[t] = (v % d->sw) * d->wq + v / d->sw;
  }
  for (size_t i = 0; i < nb; i++) {
    const float *xi = xq + i * xstride + (c * d->rows + u) * rowlen;
    const float *di = dyq + i * dstride + o0 * dplane;
    for (size_t r = 0; r < d->ho; r++) {
      const float *xr = xi + r * d->sh * rowlen, *dr = di + r * drow;
      for (size_t jb = 0; jb < drow; jb += VL) {
        vf xv[VW];
        for (int t = 0; t < vb; t++) xv[t] = vload(xr + off[t] + jb);
        for (int k = 0; k < ob; k++) {
          const vf dv = vload(dr + (size_t)k * dplane + jb);
          for (int t = 0; t < vb; t++) acc[k][t] += dv * xv[t];
        }
      }
    }
  }
  const size_t K = d->ci * d->kh * d->kw;
  for (int k = 0; k < ob; k++)
    for (int t = 0; t < vb; t++) {
      float *p =
          dw + (o0 + (size_t)k) * K + (c * d->kh + u) * d->kw + v0 + (size_t)t;
      const float s = hsum(acc[k][t]);
      *p = add ? *p + s : s;
    }
}

#define DW_CASE(OBN, VBN)                                      \
  case OBN * 8 + VBN:                                          \
    dw_block(d, xq, dyq, nb, c, u, o0, v0, dw, add, OBN, VBN); \
    break;
/* clang-format off */
#define DW_ROW(OBN) \
  DW_CASE(OBN, 1) DW_CASE(OBN, 2) DW_CASE(OBN, 3) DW_CASE(OBN, 4) DW_CASE(OBN, 5)
/* clang-format on */

LSP_CLONES
static void dw_core(const dgeom *d, const float *xq, const float *dyq,
                    size_t nb, float *dw, int add) {
  for (size_t c = 0; c < d->ci; c++)
    for (size_t u = 0; u < d->kh; u++)
      for (size_t o0 = 0; o0 < d->co; o0 += OW)
        for (size_t v0 = 0; v0 < d->kw; v0 += VW) {
          const size_t ob = d->co - o0 < OW ? d->co - o0 : OW;
          const size_t vb = d->kw - v0 < VW ? d->kw - v0 : VW;
          /* clang-format off */
          switch (ob * 8 + vb) {
            DW_ROW(1) DW_ROW(2) DW_ROW(3) DW_ROW(4)
            default: break; /* unreachable: ob <= 4, vb <= 5 */
          }
          /* clang-format on */
        }
}

/* ---- channel-vectorized -------------------------------------------------- */

#define TW 12 /* kernel taps per block */

/* Input channel c, kernel taps t0 … t0+tb−1 (row-major over kh × kw),
 * output channels ov·16 …, over the nb samples of a chunk; dyT is each
 * sample's dy as P × co16. tb is a constant at every call. */
static inline __attribute__((always_inline)) void dwcv_block(
    const dgeom *d, const float *xq, const float *dyT, size_t nb, size_t c,
    size_t t0, size_t ov, float *dw, int add, const int tb) {
  const size_t co16 = nvec(d->co) * VL, P = d->ho * d->wo, K = d->kh * d->kw;
  const size_t rowlen = d->sw * d->wq, plane = d->rows * rowlen;
  size_t off[TW];
  for (int t = 0; t < tb; t++) {
    const size_t tap = t0 + (size_t)t, u = tap / d->kw, v = tap % d->kw;
    off[t] = c * plane + u * rowlen + (v % d->sw) * d->wq + v / d->sw;
  }
  vf acc[TW];
  for (int t = 0; t < tb; t++) acc[t] = (vf){0};
  for (size_t i = 0; i < nb; i++) {
    const float *xi = xq + i * prep_size(d);
    const float *di = dyT + i * P * co16 + ov * VL;
    for (size_t r = 0; r < d->ho; r++) {
      const float *xr = xi + r * d->sh * rowlen;
      const float *dr = di + r * d->wo * co16;
      for (size_t s = 0; s < d->wo; s++) {
        const vf dv = vload(dr + s * co16);
        const float *xs = xr + s;
        for (int t = 0; t < tb; t++) acc[t] += dv * xs[off[t]];
      }
    }
  }
  const size_t lanes = d->co - ov * VL < VL ? d->co - ov * VL : VL;
  for (int t = 0; t < tb; t++) {
    float a[VL];
    memcpy(a, &acc[t], sizeof a);
    float *p = dw + (ov * VL * d->ci + c) * K + t0 + (size_t)t;
    for (size_t l = 0; l < lanes; l++, p += d->ci * K)
      *p = add ? *p + a[l] : a[l];
  }
}

#define DWCV_CASE(TBN)                                   \
  case TBN:                                              \
    dwcv_block(d, xq, dyT, nb, c, t0, ov, dw, add, TBN); \
    break;

LSP_CLONES
static void dwcv_core(const dgeom *d, const float *xq, const float *dyT,
                      size_t nb, float *dw, int add) {
  const size_t K = d->kh * d->kw;
  for (size_t c = 0; c < d->ci; c++)
    for (size_t ov = 0; ov < nvec(d->co); ov++)
      for (size_t t0 = 0; t0 < K; t0 += TW) {
        /* clang-format off */
        switch (K - t0 < TW ? K - t0 : TW) {
          DWCV_CASE(1) DWCV_CASE(2) DWCV_CASE(3) DWCV_CASE(4) DWCV_CASE(5)
          DWCV_CASE(6) DWCV_CASE(7) DWCV_CASE(8) DWCV_CASE(9) DWCV_CASE(10)
          DWCV_CASE(11) DWCV_CASE(12)
          default: break;
        }
        /* clang-format on */
      }
}

void lsp_conv_dw_direct(const lsp_conv2d_geom *g, const float *x,
                        const float *dy, size_t n, float *dw, float *ws) {
  const dgeom d = lsp_conv_fwd_dgeom(g);
  if (n == 0) {
    memset(dw, 0, g->c_out * g->c_in * g->kh * g->kw * sizeof(float));
    return;
  }
  const size_t nb = dw_chunk(g, n), xs = g->c_in * g->h_in * g->w_in;
  const size_t P = g->h_out * g->w_out, ys = g->c_out * P, dys = dy_size(g);
  const size_t drow = nvec(g->w_out) * VL;
  const int cv = dw_cv(g);
  float *xq = ws, *dyq = ws + nb * prep_size(&d);
  for (size_t i0 = 0; i0 < n; i0 += nb) {
    const size_t bn = n - i0 < nb ? n - i0 : nb;
    for (size_t i = 0; i < bn; i++) {
      lsp_conv_prep(&d, x + (i0 + i) * xs, g->h_in, g->w_in, g->ph, g->pw, 1, 1,
                    xq + i * prep_size(&d));
      const float *src = dy + (i0 + i) * ys;
      float *dst = dyq + i * dys;
      if (cv) { /* transposed: pixel × channel, padded channels 0 */
        const size_t co16 = nvec(g->c_out) * VL;
        for (size_t p = 0; p < P; p++) {
          float *dr = dst + p * co16;
          for (size_t o = 0; o < g->c_out; o++) dr[o] = src[o * P + p];
          for (size_t o = g->c_out; o < co16; o++) dr[o] = 0.0f;
        }
        continue;
      }
      for (size_t row = 0; row < g->c_out * g->h_out; row++) {
        float *dr = dst + row * drow;
        const float *sr = src + row * g->w_out;
        for (size_t s = 0; s < g->w_out; s++) dr[s] = sr[s];
        for (size_t s = g->w_out; s < drow; s++) dr[s] = 0.0f;
      }
    }
    if (cv)
      dwcv_core(&d, xq, dyq, bn, dw, i0 > 0);
    else
      dw_core(&d, xq, dyq, bn, dw, i0 > 0);
  }
}
