/* lsp_pad.c — 2-D padding (constant, reflect, edge; lsp_pad.h). */
#include "core/nn/layers/lsp_pad.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/base/lsp_error.h"

#define MAX_SIDE ((size_t)1 << 24)

int lsp_pad2d_geom_check(lsp_pad2d_geom *g) {
  if (g->c == 0 || g->h_in == 0 || g->w_in == 0)
    return lsp_fail(LSP_EINVAL, "padding: an empty input (%zux%zux%zu)", g->c,
                    g->h_in, g->w_in);
  if (g->mode < LSP_PAD_CONSTANT || g->mode > LSP_PAD_MIN)
    return lsp_fail(LSP_EINVAL, "padding: unknown mode %d", g->mode);
  if (g->mode == LSP_PAD_CONSTANT && !isfinite(g->value))
    return lsp_fail(LSP_EINVAL, "padding: the constant %g is not finite",
                    (double)g->value);
  const size_t p[4] = {g->pt, g->pl, g->pb, g->pr};
  for (int k = 0; k < 4; k++) {
    if (p[k] > MAX_SIDE)
      return lsp_fail(LSP_EINVAL, "padding: %zu is too large", p[k]);
    size_t side = k % 2 == 0 ? g->h_in : g->w_in;
    if (g->mode == LSP_PAD_REFLECT && p[k] >= side)
      return lsp_fail(LSP_EINVAL,
                      "padding: reflecting %zu %s at a border of an image "
                      "%zu %s needs a pad smaller than the image",
                      p[k], k % 2 == 0 ? "rows" : "columns", side,
                      k % 2 == 0 ? "high" : "wide");
  }
  if (g->h_in > MAX_SIDE || g->w_in > MAX_SIDE || g->c > INT_MAX)
    return lsp_fail(LSP_EINVAL, "padding: input %zux%zux%zu is too large", g->c,
                    g->h_in, g->w_in);
  g->h_out = g->pt + g->h_in + g->pb;
  g->w_out = g->pl + g->w_in + g->pr;
  if ((double)g->c * (double)g->h_out * (double)g->w_out > INT_MAX)
    return lsp_fail(LSP_EINVAL, "padding: output %zux%zux%zu is too large",
                    g->c, g->h_out, g->w_out);
  return LSP_OK;
}

/* The input index output index i (already shifted by the leading pad)
 * reads along an axis of n pixels, or -1 for the constant. */
static long src(long i, long n, int mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case LSP_PAD_REFLECT:
      return i < 0 ? -i : 2 * (n - 1) - i;
    case LSP_PAD_EDGE:
      return i < 0 ? 0 : n - 1;
    default:
      return -1;
  }
}

void lsp_pad2d_forward(const lsp_pad2d_geom *g, const float *x, size_t n,
                       float *y) {
  const long H = (long)g->h_in, W = (long)g->w_in;
  const long pt = (long)g->pt, pl = (long)g->pl;
  const size_t wo = g->w_out, in_plane = g->h_in * g->w_in;
  const float fill = g->mode == LSP_PAD_MIN ? -INFINITY : g->value;
  for (size_t p = 0; p < n * g->c; p++) {
    const float *xp = x + p * in_plane;
    float *yp = y + p * g->h_out * wo;
    for (size_t r = 0; r < g->h_out; r++) {
      float *row = yp + r * wo;
      long sr = src((long)r - pt, H, g->mode);
      if (sr < 0) {
        for (size_t s = 0; s < wo; s++) row[s] = fill;
        continue;
      }
      const float *xr = xp + sr * W;
      for (long s = 0; s < pl; s++) {
        long sc = src(s - pl, W, g->mode);
        row[s] = sc < 0 ? fill : xr[sc];
      }
      memcpy(row + pl, xr, (size_t)W * sizeof(float));
      for (long s = pl + W; s < (long)wo; s++) {
        long sc = src(s - pl, W, g->mode);
        row[s] = sc < 0 ? fill : xr[sc];
      }
    }
  }
}

void lsp_pad2d_backward(const lsp_pad2d_geom *g, const float *dy, size_t n,
                        float *dx) {
  const long H = (long)g->h_in, W = (long)g->w_in;
  const long pt = (long)g->pt, pl = (long)g->pl;
  const size_t wo = g->w_out, in_plane = g->h_in * g->w_in;
  if (n) memset(dx, 0, n * g->c * in_plane * sizeof(float));
  for (size_t p = 0; p < n * g->c; p++) {
    const float *dyp = dy + p * g->h_out * wo;
    float *dxp = dx + p * in_plane;
    for (size_t r = 0; r < g->h_out; r++) {
      long sr = src((long)r - pt, H, g->mode);
      if (sr < 0) continue;
      const float *row = dyp + r * wo;
      float *dr = dxp + sr * W;
      for (long s = 0; s < (long)wo; s++) {
        long sc = src(s - pl, W, g->mode);
        if (sc >= 0) dr[sc] += row[s];
      }
    }
  }
}
