/* lsp_conv.c — Conv2d geometry, workspace size and the choice between the
 * two implementations (lsp_conv_int.h): im2col + sgemm and direct. */
#include "core/nn/layers/lsp_conv.h"

#include <limits.h>

#include "core/base/lsp_error.h"
#include "core/nn/layers/lsp_conv_int.h"

static int axis_out(const char *axis, size_t in, size_t k, size_t s, size_t p,
                    size_t *out) {
  if (in == 0 || k == 0 || s == 0)
    return lsp_fail(LSP_EINVAL,
                    "conv2d: zero %s size, kernel or stride "
                    "(input %zu, kernel %zu, stride %zu)",
                    axis, in, k, s);
  if (in > INT_MAX / 4 || k > INT_MAX / 4 || s > INT_MAX / 4 || p > INT_MAX / 4)
    return lsp_fail(LSP_EINVAL, "conv2d: %s size too large", axis);
  if (in + 2 * p < k)
    return lsp_fail(LSP_EINVAL,
                    "conv2d: %s kernel %zu larger than the padded "
                    "input %zu",
                    axis, k, in + 2 * p);
  *out = (in + 2 * p - k) / s + 1;
  return LSP_OK;
}

int lsp_conv2d_geom_check(lsp_conv2d_geom *g) {
  if (g->c_in == 0 || g->c_out == 0 || g->c_in > INT_MAX || g->c_out > INT_MAX)
    return lsp_fail(LSP_EINVAL, "conv2d: %zu input and %zu output channels",
                    g->c_in, g->c_out);
  const size_t G = g->groups > 1 ? g->groups : 1;
  if (g->c_in % G && g->c_out % G)
    return lsp_fail(LSP_EINVAL,
                    "conv2d: %zu groups divide neither the %zu input nor the "
                    "%zu output channels",
                    G, g->c_in, g->c_out);
  if (g->c_in % G || g->c_out % G)
    return lsp_fail(
        LSP_EINVAL,
        "conv2d: %zu groups do not divide the %zu %s channels "
        "(they divide the %zu %s channels)",
        G, g->c_in % G ? g->c_in : g->c_out, g->c_in % G ? "input" : "output",
        g->c_in % G ? g->c_out : g->c_in, g->c_in % G ? "output" : "input");
  int st = axis_out("height", g->h_in, g->kh, g->sh, g->ph, &g->h_out);
  if (!st) st = axis_out("width", g->w_in, g->kw, g->sw, g->pw, &g->w_out);
  if (st) return st;
  /* every GEMM dimension and leading dimension of a one-sample chunk */
  const double K = (double)g->c_in * (double)g->kh * (double)g->kw;
  const double P = (double)g->h_out * (double)g->w_out;
  const double X = (double)g->c_in * (double)g->h_in * (double)g->w_in;
  if ((K + (double)g->c_out) * P > INT_MAX || X > INT_MAX ||
      K * (double)g->c_out > INT_MAX)
    return lsp_fail(LSP_EINVAL,
                    "conv2d: a sample of %zu×%zu×%zu with a "
                    "%zu×%zu×%zu×%zu kernel, padding %zu×%zu and stride "
                    "%zu×%zu (%zu×%zu outputs) is too large",
                    g->c_in, g->h_in, g->w_in, g->c_out, g->c_in, g->kh, g->kw,
                    g->ph, g->pw, g->sh, g->sw, g->h_out, g->w_out);
  return LSP_OK;
}

/* Which implementation runs which part, measured with bench/bench_conv
 * (one thread, shares of 64 samples) on the LeNet-5 and ResNet-8 shapes
 * (DESIGN.md "Layers"): the direct kernels win wherever each output sums
 * enough taps (c_in·kh·kw >= 16) to amortize a register block's set-up,
 * except on 1×1 kernels (a plain GEMM already) and for the input gradient
 * of strided layers, which the direct kernel computes on a grid spread with
 * zeros (sh·sw times the work): there im2col + sgemm computes dx. */
static int direct_fwd(const lsp_conv2d_geom *g) {
  return g->kh * g->kw > 1 && g->c_in * g->kh * g->kw >= 16;
}

static int direct_dx(const lsp_conv2d_geom *g) {
  return direct_fwd(g) && g->sh == 1 && g->sw == 1;
}

size_t lsp_conv2d_ws_size(const lsp_conv2d_geom *g, size_t n) {
  if (g->groups > 1) return lsp_conv2d_ws_size_grouped(g, n);
  if (!direct_fwd(g)) return lsp_conv2d_ws_size_gemm(g, n);
  size_t d = lsp_conv2d_ws_size_direct(g, n);
  if (direct_dx(g)) return d;
  size_t m = lsp_conv2d_ws_size_gemm(g, n);
  return m > d ? m : d;
}

void lsp_conv2d_forward(const lsp_conv2d_geom *g, const float *x, size_t n,
                        const float *w, const float *b, float *y, float *ws) {
  if (g->groups > 1)
    lsp_conv2d_forward_grouped(g, x, n, w, b, y, ws);
  else if (direct_fwd(g))
    lsp_conv2d_forward_direct(g, x, n, w, b, y, ws);
  else
    lsp_conv2d_forward_gemm(g, x, n, w, b, y, ws);
}

void lsp_conv2d_backward(const lsp_conv2d_geom *g, const float *x,
                         const float *dy, size_t n, const float *w, float *dx,
                         float *dw, float *db, float *ws) {
  if (g->groups > 1) {
    lsp_conv2d_backward_grouped(g, x, dy, n, w, dx, dw, db, ws);
  } else if (!direct_fwd(g)) {
    lsp_conv2d_backward_gemm(g, x, dy, n, w, dx, dw, db, ws);
  } else if (direct_dx(g)) {
    lsp_conv2d_backward_direct(g, x, dy, n, w, dx, dw, db, ws);
  } else { /* strided: dw, db direct, dx through the patch matrix */
    if (dw || db) lsp_conv2d_backward_direct(g, x, dy, n, w, NULL, dw, db, ws);
    if (dx) lsp_conv2d_backward_gemm(g, NULL, dy, n, w, dx, NULL, NULL, ws);
  }
}

void lsp_conv2d_bias_grad(const lsp_conv2d_geom *g, const float *dy, size_t n,
                          float *db) {
  const size_t P = g->h_out * g->w_out;
  for (size_t m = 0; m < g->c_out; m++) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
      const float *d = dy + (i * g->c_out + m) * P;
      for (size_t p = 0; p < P; p++) s += d[p];
    }
    db[m] = (float)s;
  }
}
