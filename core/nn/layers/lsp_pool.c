/* lsp_pool.c — max, average and global average pooling (PyTorch rules for
 * the output size, the window clipping, the divisor and max ties). */
#include "core/nn/layers/lsp_pool.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/base/lsp_clones.h"
#include "core/base/lsp_error.h"

/* One spatial axis: PyTorch's pooling_output_shape (p0 = p1, d = 1), or
 * ONNX's general form (`asym`: pads p0 before, p1 after, dilation d). */
static int axis_out(const char *axis, size_t in, size_t k, size_t s, size_t p0,
                    size_t p1, size_t d, int asym, int ceil_mode,
                    size_t *out) {
  if (in == 0 || k == 0 || s == 0)
    return lsp_fail(LSP_EINVAL,
                    "pooling: zero %s size, window or stride "
                    "(input %zu, window %zu, stride %zu)",
                    axis, in, k, s);
  if (in > INT_MAX / 4 || k > INT_MAX / 4 || s > INT_MAX / 4 || d > 1024 ||
      p0 > INT_MAX / 4 || p1 > INT_MAX / 4)
    return lsp_fail(LSP_EINVAL, "pooling: %s size too large", axis);
  size_t keff = (k - 1) * (d ? d : 1) + 1;
  if (!asym && p0 > k / 2)
    return lsp_fail(LSP_EINVAL,
                    "pooling: %s padding %zu is more than half "
                    "the window %zu",
                    axis, p0, k);
  if (asym && (p0 >= keff || p1 >= keff))
    return lsp_fail(LSP_EINVAL,
                    "pooling: %s padding %zu, %zu is not smaller than the "
                    "window %zu",
                    axis, p0, p1, keff);
  if (in + p0 + p1 < keff)
    return lsp_fail(LSP_EINVAL,
                    "pooling: %s window %zu larger than the padded "
                    "input %zu",
                    axis, keff, in + p0 + p1);
  size_t span = in + p0 + p1 - keff;
  size_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  /* the last window must start inside the image or the leading padding */
  if (ceil_mode && (o - 1) * s >= in + p0) o--;
  *out = o;
  return LSP_OK;
}

int lsp_pool2d_geom_check(lsp_pool2d_geom *g) {
  if (g->c == 0 || g->c > INT_MAX)
    return lsp_fail(LSP_EINVAL, "pooling: %zu channels", g->c);
  size_t pb = g->asym ? g->pb : g->ph, pr = g->asym ? g->pr : g->pw;
  size_t dh = g->asym ? g->dh : 1, dw = g->asym ? g->dw : 1;
  int st = axis_out("height", g->h_in, g->kh, g->sh, g->ph, pb, dh, g->asym,
                    g->ceil_mode, &g->h_out);
  if (!st)
    st = axis_out("width", g->w_in, g->kw, g->sw, g->pw, pr, dw, g->asym,
                  g->ceil_mode, &g->w_out);
  if (!st && (double)g->c * (double)g->h_in * (double)g->w_in > INT_MAX)
    return lsp_fail(LSP_EINVAL, "pooling: a sample of %zu×%zu×%zu is too large",
                    g->c, g->h_in, g->w_in);
  return st;
}

/* The window of output (r, s): its taps inside the image are rows h0, h0 +
 * hs, ... below h1 and columns w0, w0 + ws, ... below w1 (hs = ws = 1
 * without dilation), and `padded` the count PyTorch divides by when padding
 * counts (the window clipped to the padded input). */
typedef struct {
  long h0, h1, w0, w1, hs, ws;
  long padded;
} window;

/* One axis of a window: first tap at t0 = start, k taps d apart; the taps
 * inside [0, n) as [*a, *b) with step d; the taps inside [−p0, n + p1) in
 * *cnt. */
static void taps(long t0, long k, long d, long n, long p0, long p1, long *a,
                 long *b, long *cnt) {
  long u0 = t0 >= 0 ? 0 : (-t0 + d - 1) / d;       /* first tap >= 0  */
  long u1 = n - 1 - t0 < 0 ? -1 : (n - 1 - t0) / d; /* last tap < n    */
  if (u1 > k - 1) u1 = k - 1;
  *a = t0 + u0 * d;
  *b = u1 >= u0 ? t0 + u1 * d + 1 : *a; /* empty when no tap is inside */
  long v0 = t0 >= -p0 ? 0 : (-p0 - t0 + d - 1) / d;
  long v1 = n + p1 - 1 - t0 < 0 ? -1 : (n + p1 - 1 - t0) / d;
  if (v1 > k - 1) v1 = k - 1;
  *cnt = v1 >= v0 ? v1 - v0 + 1 : 0;
}

static window win_at(const lsp_pool2d_geom *g, size_t r, size_t s) {
  window w;
  long pb = (long)(g->asym ? g->pb : g->ph), pr = (long)(g->asym ? g->pr : g->pw);
  w.hs = g->asym && g->dh > 1 ? (long)g->dh : 1;
  w.ws = g->asym && g->dw > 1 ? (long)g->dw : 1;
  long ch, cw;
  taps((long)(r * g->sh) - (long)g->ph, (long)g->kh, w.hs, (long)g->h_in,
       (long)g->ph, pb, &w.h0, &w.h1, &ch);
  taps((long)(s * g->sw) - (long)g->pw, (long)g->kw, w.ws, (long)g->w_in,
       (long)g->pw, pr, &w.w0, &w.w1, &cw);
  w.padded = ch * cw;
  return w;
}

/* Index (within the plane) of the window's first maximum in scan order; a
 * NaN replaces the running maximum (PyTorch's CPU kernel). */
static long argmax_at(const float *plane, long W, window w) {
  if (w.h0 >= w.h1 || w.w0 >= w.w1) return -1; /* no tap in the image */
  long best = w.h0 * W + w.w0;
  float m = -INFINITY;
  for (long h = w.h0; h < w.h1; h += w.hs)
    for (long c = w.w0; c < w.w1; c += w.ws) {
      float v = plane[h * W + c];
      if (v > m || isnan(v)) {
        m = v;
        best = h * W + c;
      }
    }
  return best;
}

/* Windows that tile the image without padding or overlap (stride = window,
 * no padding, every window inside): the common MaxPool2d(k). Then output
 * (r, s) reads rows r·kh … and columns s·kw … directly, with no clipping,
 * and the backward writes each input pixel exactly once. */
static int tiles(const lsp_pool2d_geom *g) {
  return g->ph == 0 && g->pw == 0 && g->sh == g->kh && g->sw == g->kw &&
         (!g->asym || (g->pb == 0 && g->pr == 0 && g->dh <= 1 && g->dw <= 1)) &&
         g->h_out * g->kh <= g->h_in && g->w_out * g->kw <= g->w_in;
}

/* Offset (within the plane) of the first maximum of the tile at (r, s),
 * the same rule as argmax_at. */
static size_t tile_argmax(const lsp_pool2d_geom *g, const float *plane,
                          size_t r, size_t s) {
  const size_t W = g->w_in, top = r * g->kh * W + s * g->kw;
  size_t best = top;
  float m = -INFINITY;
  for (size_t u = 0; u < g->kh; u++)
    for (size_t v = 0; v < g->kw; v++) {
      /* branch-free: on real data the comparison is a coin toss */
      const float x = plane[top + u * W + v];
      const int take = (x > m) | (x != x);
      m = take ? x : m;
      best = take ? top + u * W + v : best;
    }
  return best;
}

/* The 2×2 tile of one output row, branch-free so that the loops vectorize:
 * which of a = (0,0), b = (0,1), c = (1,0), d = (1,1) is the first maximum
 * in scan order (a NaN replaces the running maximum, as in argmax_at). */
static inline int pick4(float a, float b, float c, float d, float *m) {
  float v = a;
  int k = 0, t;
  t = (b > v) | (b != b), v = t ? b : v, k = t ? 1 : k;
  t = (c > v) | (c != c), v = t ? c : v, k = t ? 2 : k;
  t = (d > v) | (d != d), v = t ? d : v, k = t ? 3 : k;
  *m = v;
  return k;
}

LSP_CLONES
static void max2x2_row(const float *restrict x0, const float *restrict x1,
                       float *restrict y, size_t wo) {
  for (size_t s = 0; s < wo; s++) {
    float m;
    (void)pick4(x0[2 * s], x0[2 * s + 1], x1[2 * s], x1[2 * s + 1], &m);
    y[s] = m;
  }
}

LSP_CLONES
static void max2x2_back_row(const float *restrict x0, const float *restrict x1,
                            const float *restrict dy, float *restrict d0,
                            float *restrict d1, size_t wo) {
  for (size_t s = 0; s < wo; s++) {
    float m;
    const int k = pick4(x0[2 * s], x0[2 * s + 1], x1[2 * s], x1[2 * s + 1], &m);
    const float g = dy[s];
    d0[2 * s] = k == 0 ? g : 0.0f;
    d0[2 * s + 1] = k == 1 ? g : 0.0f;
    d1[2 * s] = k == 2 ? g : 0.0f;
    d1[2 * s + 1] = k == 3 ? g : 0.0f;
  }
}

static int is_2x2(const lsp_pool2d_geom *g) {
  return tiles(g) && g->kh == 2 && g->kw == 2;
}

void lsp_maxpool2d_forward(const lsp_pool2d_geom *g, const float *x, size_t n,
                           float *y) {
  const size_t in_plane = g->h_in * g->w_in, out_plane = g->h_out * g->w_out;
  const int tiled = tiles(g);
  for (size_t p = 0; p < n * g->c; p++) {
    const float *xp = x + p * in_plane;
    float *yp = y + p * out_plane;
    if (is_2x2(g)) {
      for (size_t r = 0; r < g->h_out; r++)
        max2x2_row(xp + 2 * r * g->w_in, xp + (2 * r + 1) * g->w_in,
                   yp + r * g->w_out, g->w_out);
      continue;
    }
    for (size_t r = 0; r < g->h_out; r++)
      for (size_t s = 0; s < g->w_out; s++) {
        /* a dilated window may miss the image: the maximum of the padding,
         * −∞ (PyTorch's) */
        long at = tiled ? (long)tile_argmax(g, xp, r, s)
                        : argmax_at(xp, (long)g->w_in, win_at(g, r, s));
        yp[r * g->w_out + s] = at < 0 ? -INFINITY : xp[at];
      }
  }
}

void lsp_maxpool2d_backward(const lsp_pool2d_geom *g, const float *x,
                            const float *dy, size_t n, float *dx) {
  const size_t in_plane = g->h_in * g->w_in, out_plane = g->h_out * g->w_out;
  const int tiled = tiles(g);
  /* 2×2 tiles covering the image write every pixel themselves */
  if (n && (!is_2x2(g) || 2 * g->h_out != g->h_in || 2 * g->w_out != g->w_in))
    memset(dx, 0, n * g->c * in_plane * sizeof(float));
  for (size_t p = 0; p < n * g->c; p++) {
    const float *xp = x + p * in_plane;
    const float *dyp = dy + p * out_plane;
    float *dxp = dx + p * in_plane;
    if (is_2x2(g)) {
      for (size_t r = 0; r < g->h_out; r++) {
        const size_t o0 = 2 * r * g->w_in, o1 = o0 + g->w_in;
        max2x2_back_row(xp + o0, xp + o1, dyp + r * g->w_out, dxp + o0,
                        dxp + o1, g->w_out);
      }
      continue;
    }
    for (size_t r = 0; r < g->h_out; r++)
      for (size_t s = 0; s < g->w_out; s++) {
        const float d = dyp[r * g->w_out + s];
        long at;
        if (tiled) /* tiles do not overlap: one write per pixel */
          dxp[tile_argmax(g, xp, r, s)] = d;
        else if ((at = argmax_at(xp, (long)g->w_in, win_at(g, r, s))) >= 0)
          dxp[at] += d;
      }
  }
}

/* The divisor of a window: PyTorch's avg_pool2d (no divisor_override). */
static long divisor(const lsp_pool2d_geom *g, window w) {
  return g->count_include_pad
             ? w.padded
             : ((w.h1 - w.h0 + w.hs - 1) / w.hs) * ((w.w1 - w.w0 + w.ws - 1) / w.ws);
}

void lsp_avgpool2d_forward(const lsp_pool2d_geom *g, const float *x, size_t n,
                           float *y) {
  const size_t in_plane = g->h_in * g->w_in, out_plane = g->h_out * g->w_out;
  const long W = (long)g->w_in;
  for (size_t p = 0; p < n * g->c; p++) {
    const float *xp = x + p * in_plane;
    float *yp = y + p * out_plane;
    for (size_t r = 0; r < g->h_out; r++)
      for (size_t s = 0; s < g->w_out; s++) {
        window w = win_at(g, r, s);
        long d = divisor(g, w);
        float sum = 0.0f;
        for (long h = w.h0; h < w.h1; h += w.hs)
          for (long c = w.w0; c < w.w1; c += w.ws) sum += xp[h * W + c];
        /* an empty window (only possible without count_include_pad) is 0 */
        yp[r * g->w_out + s] = d > 0 ? sum / (float)d : 0.0f;
      }
  }
}

void lsp_avgpool2d_backward(const lsp_pool2d_geom *g, const float *dy, size_t n,
                            float *dx) {
  const size_t in_plane = g->h_in * g->w_in, out_plane = g->h_out * g->w_out;
  const long W = (long)g->w_in;
  if (n) memset(dx, 0, n * g->c * in_plane * sizeof(float));
  for (size_t p = 0; p < n * g->c; p++) {
    const float *dyp = dy + p * out_plane;
    float *dxp = dx + p * in_plane;
    for (size_t r = 0; r < g->h_out; r++)
      for (size_t s = 0; s < g->w_out; s++) {
        window w = win_at(g, r, s);
        long d = divisor(g, w);
        if (d <= 0) continue;
        float v = dyp[r * g->w_out + s] / (float)d;
        for (long h = w.h0; h < w.h1; h += w.hs)
          for (long c = w.w0; c < w.w1; c += w.ws) dxp[h * W + c] += v;
      }
  }
}

void lsp_gap_forward(const float *x, size_t n, size_t c, size_t hw, float *y) {
  for (size_t p = 0; p < n * c; p++) {
    const float *xp = x + p * hw;
    double sum = 0.0;
    for (size_t q = 0; q < hw; q++) sum += xp[q];
    y[p] = (float)(sum / (double)hw);
  }
}

void lsp_gap_backward(const float *dy, size_t n, size_t c, size_t hw,
                      float *dx) {
  for (size_t p = 0; p < n * c; p++) {
    const float v = (float)((double)dy[p] / (double)hw);
    float *dxp = dx + p * hw;
    for (size_t q = 0; q < hw; q++) dxp[q] = v;
  }
}
