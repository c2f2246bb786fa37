/* lsp_pool.c — max, average and global average pooling (PyTorch rules for
 * the output size, the window clipping, the divisor and max ties). */
#include "core/nn/layers/lsp_pool.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/base/lsp_error.h"

/* One spatial axis: PyTorch's pooling_output_shape for dilation 1. */
static int axis_out(const char *axis, size_t in, size_t k, size_t s, size_t p,
                    int ceil_mode, size_t *out) {
  if (in == 0 || k == 0 || s == 0)
    return lsp_fail(LSP_EINVAL, "pooling: zero %s size, window or stride "
                    "(input %zu, window %zu, stride %zu)", axis, in, k, s);
  if (p > k / 2)
    return lsp_fail(LSP_EINVAL, "pooling: %s padding %zu is more than half "
                    "the window %zu", axis, p, k);
  if (in > INT_MAX / 4 || k > INT_MAX / 4 || s > INT_MAX / 4)
    return lsp_fail(LSP_EINVAL, "pooling: %s size too large", axis);
  if (in + 2 * p < k)
    return lsp_fail(LSP_EINVAL, "pooling: %s window %zu larger than the padded "
                    "input %zu", axis, k, in + 2 * p);
  size_t span = in + 2 * p - k;
  size_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  /* the last window must start inside the image or the leading padding */
  if (ceil_mode && (o - 1) * s >= in + p) o--;
  *out = o;
  return LSP_OK;
}

int lsp_pool2d_geom_check(lsp_pool2d_geom *g) {
  if (g->c == 0 || g->c > INT_MAX)
    return lsp_fail(LSP_EINVAL, "pooling: %zu channels", g->c);
  int st = axis_out("height", g->h_in, g->kh, g->sh, g->ph, g->ceil_mode,
                    &g->h_out);
  if (!st)
    st = axis_out("width", g->w_in, g->kw, g->sw, g->pw, g->ceil_mode,
                  &g->w_out);
  if (!st && (double)g->c * (double)g->h_in * (double)g->w_in > INT_MAX)
    return lsp_fail(LSP_EINVAL, "pooling: a sample of %zu×%zu×%zu is too large",
                    g->c, g->h_in, g->w_in);
  return st;
}

/* The window of output (r, s): rows [*h0, *h1), columns [*w0, *w1) inside
 * the image, and the count PyTorch divides by when padding counts. */
typedef struct {
  long h0, h1, w0, w1;
  long padded; /* window clipped to the padded input */
} window;

static window win_at(const lsp_pool2d_geom *g, size_t r, size_t s) {
  window w;
  long H = (long)g->h_in, W = (long)g->w_in;
  long hs = (long)(r * g->sh) - (long)g->ph;
  long ws = (long)(s * g->sw) - (long)g->pw;
  long he = hs + (long)g->kh, we = ws + (long)g->kw;
  if (he > H + (long)g->ph) he = H + (long)g->ph;
  if (we > W + (long)g->pw) we = W + (long)g->pw;
  w.padded = (he - hs) * (we - ws);
  w.h0 = hs < 0 ? 0 : hs;
  w.w0 = ws < 0 ? 0 : ws;
  w.h1 = he > H ? H : he;
  w.w1 = we > W ? W : we;
  return w;
}

/* Index (within the plane) of the window's first maximum in scan order; a
 * NaN replaces the running maximum (PyTorch's CPU kernel). */
static long argmax_at(const float *plane, long W, window w) {
  long best = w.h0 * W + w.w0;
  float m = -INFINITY;
  for (long h = w.h0; h < w.h1; h++)
    for (long c = w.w0; c < w.w1; c++) {
      float v = plane[h * W + c];
      if (v > m || isnan(v)) {
        m = v;
        best = h * W + c;
      }
    }
  return best;
}

void lsp_maxpool2d_forward(const lsp_pool2d_geom *g, const float *x, size_t n,
                           float *y) {
  const size_t in_plane = g->h_in * g->w_in, out_plane = g->h_out * g->w_out;
  for (size_t p = 0; p < n * g->c; p++) {
    const float *xp = x + p * in_plane;
    float *yp = y + p * out_plane;
    for (size_t r = 0; r < g->h_out; r++)
      for (size_t s = 0; s < g->w_out; s++)
        yp[r * g->w_out + s] = xp[argmax_at(xp, (long)g->w_in, win_at(g, r, s))];
  }
}

void lsp_maxpool2d_backward(const lsp_pool2d_geom *g, const float *x,
                            const float *dy, size_t n, float *dx) {
  const size_t in_plane = g->h_in * g->w_in, out_plane = g->h_out * g->w_out;
  memset(dx, 0, n * g->c * in_plane * sizeof(float));
  for (size_t p = 0; p < n * g->c; p++) {
    const float *xp = x + p * in_plane;
    const float *dyp = dy + p * out_plane;
    float *dxp = dx + p * in_plane;
    for (size_t r = 0; r < g->h_out; r++)
      for (size_t s = 0; s < g->w_out; s++)
        dxp[argmax_at(xp, (long)g->w_in, win_at(g, r, s))] +=
            dyp[r * g->w_out + s];
  }
}

/* The divisor of a window: PyTorch's avg_pool2d (no divisor_override). */
static long divisor(const lsp_pool2d_geom *g, window w) {
  return g->count_include_pad ? w.padded : (w.h1 - w.h0) * (w.w1 - w.w0);
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
        for (long h = w.h0; h < w.h1; h++)
          for (long c = w.w0; c < w.w1; c++) sum += xp[h * W + c];
        /* an empty window (only possible without count_include_pad) is 0 */
        yp[r * g->w_out + s] = d > 0 ? sum / (float)d : 0.0f;
      }
  }
}

void lsp_avgpool2d_backward(const lsp_pool2d_geom *g, const float *dy,
                            size_t n, float *dx) {
  const size_t in_plane = g->h_in * g->w_in, out_plane = g->h_out * g->w_out;
  const long W = (long)g->w_in;
  memset(dx, 0, n * g->c * in_plane * sizeof(float));
  for (size_t p = 0; p < n * g->c; p++) {
    const float *dyp = dy + p * out_plane;
    float *dxp = dx + p * in_plane;
    for (size_t r = 0; r < g->h_out; r++)
      for (size_t s = 0; s < g->w_out; s++) {
        window w = win_at(g, r, s);
        long d = divisor(g, w);
        if (d <= 0) continue;
        float v = dyp[r * g->w_out + s] / (float)d;
        for (long h = w.h0; h < w.h1; h++)
          for (long c = w.w0; c < w.w1; c++) dxp[h * W + c] += v;
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
