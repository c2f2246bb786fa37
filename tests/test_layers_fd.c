/* Every layer kernel against central differences of an independent, naive
 * double-precision forward written here (loops straight from the formulas in
 * DESIGN.md "Layers"), on many small random shapes: strides 1–2, padding
 * 0–2, non-square kernels, odd sizes, ceil_mode and both average divisors.
 *
 * For a layer f with inputs v (x and parameters, packed in one vector) and a
 * fixed random upstream gradient r, L(v) = Σ r·f(v). The kernel's float
 * forward must match f(v) and its backward must match the central
 * differences (L(v + h e_i) − L(v − h e_i))/2h of every entry, in double. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/nn/layers/lsp_bn.h"
#include "core/nn/layers/lsp_conv.h"
#include "core/nn/layers/lsp_conv_int.h"
#include "core/nn/layers/lsp_dense.h"
#include "core/nn/layers/lsp_eltwise.h"
#include "core/nn/layers/lsp_pool.h"
#include "conv_impls.h"
#include "testutil.h"

#define CASES 40 /* random shapes per layer kind */

/* ---- random numbers (xorshift64*, seeded per case) ------------------------- */

static uint64_t rng_state;
static double urand(void) { /* [0, 1) */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
}
static size_t irand(size_t lo, size_t hi) { /* [lo, hi] */
  return lo + (size_t)(urand() * (double)(hi - lo + 1));
}
/* A float-representable value in [lo, hi), so float and double see the same. */
static double frand(double lo, double hi) {
  return (double)(float)(lo + (hi - lo) * urand());
}

/* ---- the harness -------------------------------------------------------------- */

typedef void (*ref_fn)(const void *ctx, const double *v, double *out);

/* L(v) = Σ r·f(v) */
static double loss_at(ref_fn f, const void *ctx, const double *v,
                      const double *r, double *out, size_t nout) {
  f(ctx, v, out);
  double s = 0.0;
  for (size_t i = 0; i < nout; i++) s += r[i] * out[i];
  return s;
}

/* Compare the kernel's forward (yk, nout floats) with f(v) and its gradient
 * (gk, nv floats: d L / d v) with central differences. */
static void fd_check(const char *what, ref_fn f, const void *ctx, double *v,
                     size_t nv, const double *r, size_t nout, const float *yk,
                     const float *gk) {
  double *out = malloc(nout * sizeof(double));
  assert_non_null(out);
  f(ctx, v, out);
  for (size_t i = 0; i < nout; i++) td_close(yk[i], out[i], 1e-5, 1e-5, what, i);
  char name[200];
  snprintf(name, sizeof name, "%s gradient", what);
  for (size_t i = 0; i < nv; i++) {
    const double v0 = v[i], h = 1e-6 * fmax(1.0, fabs(v0));
    v[i] = v0 + h;
    double lp = loss_at(f, ctx, v, r, out, nout);
    v[i] = v0 - h;
    double lm = loss_at(f, ctx, v, r, out, nout);
    v[i] = v0;
    td_close(gk[i], (lp - lm) / (2 * h), 1e-4, 1e-5, name, i);
  }
  free(out);
}

static double *rand_vec(size_t n, double lo, double hi) {
  double *v = malloc((n ? n : 1) * sizeof(double));
  assert_non_null(v);
  for (size_t i = 0; i < n; i++) v[i] = frand(lo, hi);
  return v;
}

static float *to_f32(const double *v, size_t n) {
  float *f = malloc((n ? n : 1) * sizeof(float));
  assert_non_null(f);
  for (size_t i = 0; i < n; i++) f[i] = (float)v[i];
  return f;
}

static float *falloc(size_t n) {
  float *f = calloc(n ? n : 1, sizeof(float));
  assert_non_null(f);
  return f;
}

/* ---- Conv2d -------------------------------------------------------------------- */

typedef struct {
  lsp_conv2d_geom g;
  size_t n;
  int bias;
} conv_ctx;

/* y[i,o,r,s] = b[o] + Σ_{c,u,v} w[o,c,u,v]·x[i,c,r·sh−ph+u,s·sw−pw+v] */
static void conv_ref(const void *ctxp, const double *v, double *y) {
  const conv_ctx *c = ctxp;
  const lsp_conv2d_geom *g = &c->g;
  const double *x = v, *w = x + c->n * g->c_in * g->h_in * g->w_in;
  const double *b = w + g->c_out * g->c_in * g->kh * g->kw;
  for (size_t i = 0; i < c->n; i++)
    for (size_t o = 0; o < g->c_out; o++)
      for (size_t r = 0; r < g->h_out; r++)
        for (size_t s = 0; s < g->w_out; s++) {
          double acc = c->bias ? b[o] : 0.0;
          for (size_t ch = 0; ch < g->c_in; ch++)
            for (size_t u = 0; u < g->kh; u++)
              for (size_t q = 0; q < g->kw; q++) {
                long hh = (long)(r * g->sh + u) - (long)g->ph;
                long ww = (long)(s * g->sw + q) - (long)g->pw;
                if (hh < 0 || ww < 0 || hh >= (long)g->h_in || ww >= (long)g->w_in)
                  continue;
                acc += w[((o * g->c_in + ch) * g->kh + u) * g->kw + q] *
                       x[((i * g->c_in + ch) * g->h_in + (size_t)hh) * g->w_in + (size_t)ww];
              }
          y[((i * g->c_out + o) * g->h_out + r) * g->w_out + s] = acc;
        }
}

static void test_conv_fd(void **state) {
  (void)state;
  for (int k = 0; k < 2 * CASES; k++) {
    rng_state = 0x9E3779B97F4A7C15ULL + (uint64_t)k;
    conv_ctx c = {.n = irand(1, 3), .bias = (int)irand(0, 1)};
    lsp_conv2d_geom *g = &c.g;
    /* over 8 output channels: two register blocks; over 16: two vectors */
    g->c_in = irand(1, 3), g->c_out = irand(1, k % 5 == 4 ? 20 : 10);
    g->kh = irand(1, 4), g->kw = irand(1, 4);
    g->sh = irand(1, 3), g->sw = irand(1, 3);
    g->ph = irand(0, 2), g->pw = irand(0, 2);
    g->h_in = irand(g->kh > 2 ? g->kh - 2 : 1, 9);
    /* wide enough now and then for outputs over 16 and 32 columns */
    g->w_in = irand(g->kw > 2 ? g->kw - 2 : 1, k % 4 == 3 ? 40 : 9);
    if (g->h_in + 2 * g->ph < g->kh) g->ph = (g->kh - g->h_in + 1) / 2;
    if (g->w_in + 2 * g->pw < g->kw) g->pw = (g->kw - g->w_in + 1) / 2;
    assert_int_equal(lsp_conv2d_geom_check(g), 0);
    const size_t nx = c.n * g->c_in * g->h_in * g->w_in;
    const size_t nw = g->c_out * g->c_in * g->kh * g->kw, nb = c.bias ? g->c_out : 0;
    const size_t ny = c.n * g->c_out * g->h_out * g->w_out, nv = nx + nw + nb;
    double *v = rand_vec(nv, -1, 1), *r = rand_vec(ny, -1, 1);
    float *vf = to_f32(v, nv), *rf = to_f32(r, ny);
    for (size_t m = 0; m < sizeof CONV_IMPL / sizeof *CONV_IMPL; m++) {
      float *y = falloc(ny), *gk = falloc(nv), *ws = falloc(CONV_IMPL[m].ws(g, c.n));
      CONV_IMPL[m].fwd(g, vf, c.n, vf + nx, c.bias ? vf + nx + nw : NULL, y, ws);
      CONV_IMPL[m].bwd(g, vf, rf, c.n, vf + nx, gk, gk + nx,
                       c.bias ? gk + nx + nw : NULL, ws);
      char what[160];
      snprintf(what, sizeof what,
               "conv %s n%zu %zux%zux%zu->%zu k%zux%zu s%zu,%zu p%zu,%zu b%d",
               CONV_IMPL[m].name, c.n, g->c_in, g->h_in, g->w_in, g->c_out, g->kh,
               g->kw, g->sh, g->sw, g->ph, g->pw, c.bias);
      fd_check(what, conv_ref, &c, v, nv, r, ny, y, gk);
      /* dx only and dw only give the same numbers */
      float *gx = falloc(nx), *gw = falloc(nw);
      CONV_IMPL[m].bwd(g, NULL, rf, c.n, vf + nx, gx, NULL, NULL, ws);
      CONV_IMPL[m].bwd(g, vf, rf, c.n, vf + nx, NULL, gw, NULL, ws);
      assert_memory_equal(gx, gk, nx * sizeof(float));
      assert_memory_equal(gw, gk + nx, nw * sizeof(float));
      free(y), free(gk), free(ws), free(gx), free(gw);
    }
    free(v), free(r), free(vf), free(rf);
  }
}

/* ---- pooling ---------------------------------------------------------------------- */

typedef struct {
  lsp_pool2d_geom g;
  size_t n;
  int is_max;
} pool_ctx;

/* Window of output (r, s) on one axis, clipped: PyTorch's definitions
 * written out again — start = r·s − p, end = min(start + k, in + p); the
 * divisor with padding is end − start, without it the clipped extent. */
static void pool_ref(const void *ctxp, const double *x, double *y) {
  const pool_ctx *c = ctxp;
  const lsp_pool2d_geom *g = &c->g;
  for (size_t i = 0; i < c->n * g->c; i++)
    for (size_t r = 0; r < g->h_out; r++)
      for (size_t s = 0; s < g->w_out; s++) {
        long hs = (long)(r * g->sh) - (long)g->ph, ws = (long)(s * g->sw) - (long)g->pw;
        long he = hs + (long)g->kh, we = ws + (long)g->kw;
        if (he > (long)(g->h_in + g->ph)) he = (long)(g->h_in + g->ph);
        if (we > (long)(g->w_in + g->pw)) we = (long)(g->w_in + g->pw);
        double padded = (double)((he - hs) * (we - ws));
        double acc = c->is_max ? -INFINITY : 0.0, inside = 0.0;
        for (long h = hs; h < he; h++)
          for (long q = ws; q < we; q++) {
            if (h < 0 || q < 0 || h >= (long)g->h_in || q >= (long)g->w_in) continue;
            double v = x[(i * g->h_in + (size_t)h) * g->w_in + (size_t)q];
            acc = c->is_max ? fmax(acc, v) : acc + v;
            inside += 1.0;
          }
        if (!c->is_max) acc /= g->count_include_pad ? padded : inside;
        y[(i * g->h_out + r) * g->w_out + s] = acc;
      }
}

static void pool_fd(int is_max) {
  for (int k = 0; k < CASES; k++) {
    rng_state = 0xD1B54A32D192ED03ULL + (uint64_t)k;
    pool_ctx c = {.n = irand(1, 3), .is_max = is_max};
    lsp_pool2d_geom *g = &c.g;
    g->c = irand(1, 3);
    g->kh = irand(1, 4), g->kw = irand(1, 4);
    g->sh = irand(1, 3), g->sw = irand(1, 3);
    g->ph = irand(0, g->kh / 2), g->pw = irand(0, g->kw / 2);
    g->h_in = irand(g->kh, 9), g->w_in = irand(g->kw, 9);
    g->ceil_mode = (int)irand(0, 1);
    g->count_include_pad = (int)irand(0, 1);
    assert_int_equal(lsp_pool2d_geom_check(g), 0);
    const size_t nx = c.n * g->c * g->h_in * g->w_in;
    const size_t ny = c.n * g->c * g->h_out * g->w_out;
    /* distinct values (no ties), far enough apart that ±h moves no maximum */
    double *x = rand_vec(nx, -1, 1), *r = rand_vec(ny, -1, 1);
    for (size_t i = 0; i < nx; i++) x[i] = (double)(float)((double)i * 0.01 - x[i] * 3.0);
    float *xf = to_f32(x, nx), *rf = to_f32(r, ny), *y = falloc(ny), *gk = falloc(nx);
    if (is_max) {
      lsp_maxpool2d_forward(g, xf, c.n, y);
      lsp_maxpool2d_backward(g, xf, rf, c.n, gk);
    } else {
      lsp_avgpool2d_forward(g, xf, c.n, y);
      lsp_avgpool2d_backward(g, rf, c.n, gk);
    }
    char what[160];
    snprintf(what, sizeof what, "%s n%zu c%zu %zux%zu k%zux%zu s%zu,%zu p%zu,%zu ceil%d cip%d",
             is_max ? "maxpool" : "avgpool", c.n, g->c, g->h_in, g->w_in, g->kh,
             g->kw, g->sh, g->sw, g->ph, g->pw, g->ceil_mode, g->count_include_pad);
    fd_check(what, pool_ref, &c, x, nx, r, ny, y, gk);
    free(x), free(r), free(xf), free(rf), free(y), free(gk);
  }
}

static void test_maxpool_fd(void **state) {
  (void)state;
  pool_fd(1);
}

static void test_avgpool_fd(void **state) {
  (void)state;
  pool_fd(0);
}

/* ---- BatchNorm2d ------------------------------------------------------------------ */

typedef struct {
  lsp_bn2d_geom g;
  size_t n;
  int train;
  const double *rm, *rv; /* running statistics (eval) */
} bn_ctx;

/* v = x (n·c·hw), gamma (c), beta (c) */
static void bn_ref(const void *ctxp, const double *v, double *y) {
  const bn_ctx *b = ctxp;
  const size_t c = b->g.c, hw = b->g.hw, n = b->n;
  const double *x = v, *gam = x + n * c * hw, *bet = gam + c;
  for (size_t ch = 0; ch < c; ch++) {
    double mu = b->rm[ch], var = b->rv[ch];
    if (b->train) {
      double s = 0.0, s2 = 0.0;
      for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < hw; p++) s += x[(i * c + ch) * hw + p];
      mu = s / (double)(n * hw);
      for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < hw; p++) {
          double d = x[(i * c + ch) * hw + p] - mu;
          s2 += d * d;
        }
      var = s2 / (double)(n * hw);
    }
    for (size_t i = 0; i < n; i++)
      for (size_t p = 0; p < hw; p++) {
        size_t at = (i * c + ch) * hw + p;
        y[at] = gam[ch] * (x[at] - mu) / sqrt(var + b->g.eps) + bet[ch];
      }
  }
}

static void test_bn_fd(void **state) {
  (void)state;
  for (int k = 0; k < 2 * CASES; k++) {
    rng_state = 0xA0761D6478BD642FULL + (uint64_t)k;
    bn_ctx b = {.n = irand(1, 4), .train = k % 2};
    b.g = (lsp_bn2d_geom){.c = irand(1, 3), .hw = irand(1, 7), .eps = 1e-5, .momentum = 0.1};
    if (b.n * b.g.hw < 2) b.g.hw = 2;
    assert_int_equal(lsp_bn2d_geom_check(&b.g), 0);
    const size_t c = b.g.c, nx = b.n * c * b.g.hw, nv = nx + 2 * c;
    double *v = rand_vec(nv, -2, 2), *r = rand_vec(nx, -1, 1);
    double *rm = rand_vec(c, -1, 1), *rv = rand_vec(c, 0.3, 2);
    b.rm = rm, b.rv = rv;
    float *vf = to_f32(v, nv), *rf = to_f32(r, nx), *y = falloc(nx), *gk = falloc(nv);
    float *rmf = to_f32(rm, c), *rvf = to_f32(rv, c);
    double stat[6], sums[6];
    if (b.train) {
      assert_int_equal(lsp_bn2d_forward_train(&b.g, vf, b.n, vf + nx, vf + nx + c,
                                              rmf, rvf, y, stat), 0);
      lsp_bn2d_backward_train(&b.g, vf, rf, b.n, stat, vf + nx, gk, gk + nx,
                              gk + nx + c, sums);
      /* running statistics: momentum 0.1, unbiased batch variance */
      for (size_t ch = 0; ch < c; ch++) {
        const size_t M = b.n * b.g.hw;
        double s = 0.0, s2 = 0.0;
        for (size_t i = 0; i < b.n; i++)
          for (size_t p = 0; p < b.g.hw; p++) s += v[(i * c + ch) * b.g.hw + p];
        double mu = s / (double)M;
        for (size_t i = 0; i < b.n; i++)
          for (size_t p = 0; p < b.g.hw; p++) {
            double d = v[(i * c + ch) * b.g.hw + p] - mu;
            s2 += d * d;
          }
        td_close(rmf[ch], 0.9 * rm[ch] + 0.1 * mu, 1e-6, 1e-7, "running mean", ch);
        td_close(rvf[ch], 0.9 * rv[ch] + 0.1 * s2 / (double)(M - 1), 1e-6, 1e-7,
                 "running var", ch);
      }
    } else {
      lsp_bn2d_forward_eval(&b.g, vf, b.n, vf + nx, vf + nx + c, rmf, rvf, y);
      lsp_bn2d_backward_eval(&b.g, vf, rf, b.n, vf + nx, rmf, rvf, gk, gk + nx,
                             gk + nx + c);
    }
    char what[96];
    snprintf(what, sizeof what, "bn %s n%zu c%zu hw%zu", b.train ? "train" : "eval",
             b.n, c, b.g.hw);
    fd_check(what, bn_ref, &b, v, nv, r, nx, y, gk);
    free(v), free(r), free(rm), free(rv), free(vf), free(rf), free(y), free(gk);
    free(rmf), free(rvf);
  }
}

/* ---- dense, global average pooling, element-wise ------------------------------- */

typedef struct {
  size_t n, a, b; /* dense: in, out; gap: c, hw; chnorm: c, hw */
  const double *aux; /* chnorm: mean then std */
} dims_ctx;

/* v = x (n·in), w (out·in), b (out): y = x·wᵀ + b */
static void dense_ref(const void *ctxp, const double *v, double *y) {
  const dims_ctx *d = ctxp;
  const double *x = v, *w = x + d->n * d->a, *b = w + d->a * d->b;
  for (size_t i = 0; i < d->n; i++)
    for (size_t o = 0; o < d->b; o++) {
      double acc = b[o];
      for (size_t j = 0; j < d->a; j++) acc += x[i * d->a + j] * w[o * d->a + j];
      y[i * d->b + o] = acc;
    }
}

static void gap_ref(const void *ctxp, const double *x, double *y) {
  const dims_ctx *d = ctxp;
  for (size_t i = 0; i < d->n * d->a; i++) {
    double s = 0.0;
    for (size_t p = 0; p < d->b; p++) s += x[i * d->b + p];
    y[i] = s / (double)d->b;
  }
}

static void relu_ref(const void *ctxp, const double *x, double *y) {
  const dims_ctx *d = ctxp;
  for (size_t i = 0; i < d->n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

/* v = a then b (n each): y = a + b */
static void add_ref(const void *ctxp, const double *v, double *y) {
  const dims_ctx *d = ctxp;
  for (size_t i = 0; i < d->n; i++) y[i] = v[i] + v[d->n + i];
}

static void chnorm_ref(const void *ctxp, const double *x, double *y) {
  const dims_ctx *d = ctxp;
  const double *mean = d->aux, *std = d->aux + d->a;
  for (size_t i = 0; i < d->n; i++)
    for (size_t ch = 0; ch < d->a; ch++)
      for (size_t p = 0; p < d->b; p++) {
        size_t at = (i * d->a + ch) * d->b + p;
        y[at] = (x[at] - mean[ch]) / std[ch];
      }
}

static void test_dense_fd(void **state) {
  (void)state;
  for (int k = 0; k < CASES; k++) {
    rng_state = 0xE7037ED1A0B428DBULL + (uint64_t)k;
    dims_ctx d = {.n = irand(1, 5), .a = irand(1, 9), .b = irand(1, 7)};
    const size_t nx = d.n * d.a, nw = d.a * d.b, nv = nx + nw + d.b, ny = d.n * d.b;
    double *v = rand_vec(nv, -1, 1), *r = rand_vec(ny, -1, 1);
    float *vf = to_f32(v, nv), *rf = to_f32(r, ny), *y = falloc(ny), *gk = falloc(nv);
    lsp_dense_forward(vf, d.n, d.a, d.b, vf + nx, vf + nx + nw, y);
    lsp_dense_backward(vf, rf, d.n, d.a, d.b, vf + nx, gk, gk + nx, gk + nx + nw);
    fd_check("dense", dense_ref, &d, v, nv, r, ny, y, gk);
    /* the adding variant: onto zeros, the same values; onto offsets o, the
     * gradient plus o (checked against the finite differences again) */
    float *ga = falloc(nv), *go = falloc(nv);
    memset(ga, 0, nv * sizeof *ga);
    lsp_dense_backward_add(vf, rf, d.n, d.a, d.b, vf + nx, ga, ga + nx, ga + nx + nw);
    for (size_t i = 0; i < nv; i++) assert_true(ga[i] == gk[i]);
    double *o = rand_vec(nv, -1, 1);
    for (size_t i = 0; i < nv; i++) go[i] = i < nx ? 0.0f : (float)o[i];
    lsp_dense_backward_add(vf, rf, d.n, d.a, d.b, vf + nx, go, go + nx, go + nx + nw);
    for (size_t i = nx; i < nv; i++) go[i] = (float)((double)go[i] - (double)(float)o[i]);
    fd_check("dense add", dense_ref, &d, v, nv, r, ny, y, go);
    free(ga), free(go), free(o);
    free(v), free(r), free(vf), free(rf), free(y), free(gk);
  }
}

static void test_gap_fd(void **state) {
  (void)state;
  for (int k = 0; k < CASES; k++) {
    rng_state = 0x8EBC6AF09C88C6E3ULL + (uint64_t)k;
    dims_ctx d = {.n = irand(1, 3), .a = irand(1, 4), .b = irand(1, 30)};
    const size_t nx = d.n * d.a * d.b, ny = d.n * d.a;
    double *x = rand_vec(nx, -1, 1), *r = rand_vec(ny, -1, 1);
    float *xf = to_f32(x, nx), *rf = to_f32(r, ny), *y = falloc(ny), *gk = falloc(nx);
    lsp_gap_forward(xf, d.n, d.a, d.b, y);
    lsp_gap_backward(rf, d.n, d.a, d.b, gk);
    fd_check("gap", gap_ref, &d, x, nx, r, ny, y, gk);
    free(x), free(r), free(xf), free(rf), free(y), free(gk);
  }
}

static void test_eltwise_fd(void **state) {
  (void)state;
  for (int k = 0; k < CASES; k++) {
    rng_state = 0x589965CC75374CC3ULL + (uint64_t)k;
    /* ReLU (values kept away from the kink at 0) */
    dims_ctx d = {.n = irand(1, 50)};
    double *x = rand_vec(d.n, -1, 1), *r = rand_vec(2 * d.n, -1, 1);
    for (size_t i = 0; i < d.n; i++)
      if (fabs(x[i]) < 1e-3) x[i] = 0.5;
    float *xf = to_f32(x, d.n), *rf = to_f32(r, 2 * d.n), *y = falloc(d.n);
    float *gk = falloc(2 * d.n);
    lsp_relu_forward(xf, y, d.n);
    lsp_relu_backward(y, rf, gk, d.n);
    fd_check("relu", relu_ref, &d, x, d.n, r, d.n, y, gk);
    /* in place gives the same */
    memcpy(gk + d.n, rf, d.n * sizeof(float));
    lsp_relu_backward(xf, gk + d.n, gk + d.n, d.n);
    assert_memory_equal(gk, gk + d.n, d.n * sizeof(float));
    free(x), free(xf), free(y), free(gk);
    /* Add: the gradient reaches both inputs unchanged */
    double *ab = rand_vec(2 * d.n, -1, 1);
    float *abf = to_f32(ab, 2 * d.n), *s = falloc(d.n), *gab = falloc(2 * d.n);
    lsp_add_forward(abf, abf + d.n, s, d.n);
    memcpy(gab, rf, d.n * sizeof(float));
    memcpy(gab + d.n, rf, d.n * sizeof(float));
    fd_check("add", add_ref, &d, ab, 2 * d.n, r, d.n, s, gab);
    /* lsp_acc sums the two paths of a skip edge */
    lsp_acc(gab, gab + d.n, d.n);
    for (size_t i = 0; i < d.n; i++) assert_true(gab[i] == rf[i] + rf[i]);
    free(ab), free(abf), free(s), free(gab), free(r), free(rf);
    /* input normalization */
    dims_ctx e = {.n = irand(1, 3), .a = irand(1, 3), .b = irand(1, 9)};
    const size_t nx = e.n * e.a * e.b;
    double *aux = rand_vec(2 * e.a, -0.5, 0.5);
    for (size_t ch = 0; ch < e.a; ch++) aux[e.a + ch] = frand(0.2, 2.0);
    e.aux = aux;
    double *xn = rand_vec(nx, 0, 1), *rn = rand_vec(nx, -1, 1);
    float *xnf = to_f32(xn, nx), *rnf = to_f32(rn, nx), *yn = falloc(nx), *gn = falloc(nx);
    float *auxf = to_f32(aux, 2 * e.a);
    lsp_chnorm_forward(xnf, e.n, e.a, e.b, auxf, auxf + e.a, yn);
    lsp_chnorm_backward(rnf, e.n, e.a, e.b, auxf + e.a, gn);
    fd_check("chnorm", chnorm_ref, &e, xn, nx, rn, nx, yn, gn);
    free(aux), free(xn), free(rn), free(xnf), free(rnf), free(yn), free(gn), free(auxf);
  }
}

/* ReLU on every kind of float, in place and not, over lengths that take
 * the vector body and its tail: a positive value is kept, zero of either
 * sign and every negative give +0, a NaN stays NaN (PyTorch's ReLU). */
static void test_relu_values(void **state) {
  (void)state;
  const float v[] = {1.5f, -2.0f, 0.0f, -0.0f, NAN, -NAN, INFINITY, -INFINITY,
                     1e-40f, -1e-40f, FLT_MIN, 3e38f};
  enum { NV = sizeof v / sizeof v[0], N = 131 };
  float x[N], y[N], ip[N];
  for (size_t i = 0; i < N; i++) x[i] = v[(i * 7) % NV];
  memcpy(ip, x, sizeof x);
  lsp_relu_forward(x, y, N);
  lsp_relu_forward(ip, ip, N);
  const float zero = 0.0f;
  for (size_t i = 0; i < N; i++) {
    if (isnan(x[i])) {
      assert_true(isnan(y[i]) && isnan(ip[i]));
    } else if (x[i] > 0.0f) {
      assert_memory_equal(&y[i], &x[i], sizeof(float));
      assert_memory_equal(&ip[i], &x[i], sizeof(float));
    } else {
      assert_memory_equal(&y[i], &zero, sizeof(float));
      assert_memory_equal(&ip[i], &zero, sizeof(float));
    }
  }
}

/* ---- geometry errors ----------------------------------------------------------- */

static void test_geometry_errors(void **state) {
  (void)state;
  lsp_conv2d_geom ok = {.c_in = 1, .h_in = 5, .w_in = 5, .c_out = 2, .kh = 3,
                        .kw = 3, .sh = 1, .sw = 1};
  lsp_conv2d_geom g = ok;
  assert_int_equal(lsp_conv2d_geom_check(&g), 0);
  assert_int_equal(g.h_out, 3);
  g = ok, g.c_in = 0;
  assert_int_equal(lsp_conv2d_geom_check(&g), LSP_EINVAL);
  g = ok, g.sw = 0;
  assert_int_equal(lsp_conv2d_geom_check(&g), LSP_EINVAL);
  g = ok, g.kh = 6;
  assert_int_equal(lsp_conv2d_geom_check(&g), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "height kernel 6"));
  g = ok, g.kh = 6, g.ph = 1; /* padding makes it fit */
  assert_int_equal(lsp_conv2d_geom_check(&g), 0);
  assert_int_equal(g.h_out, 2);
  g = ok, g.c_in = 1 << 20, g.h_in = 1 << 10, g.w_in = 1 << 10;
  assert_int_equal(lsp_conv2d_geom_check(&g), LSP_EINVAL);

  lsp_pool2d_geom pk = {.c = 1, .h_in = 5, .w_in = 5, .kh = 2, .kw = 2, .sh = 2, .sw = 2};
  lsp_pool2d_geom p = pk;
  assert_int_equal(lsp_pool2d_geom_check(&p), 0);
  assert_int_equal(p.h_out, 2);
  p = pk, p.ceil_mode = 1;
  assert_int_equal(lsp_pool2d_geom_check(&p), 0);
  assert_int_equal(p.h_out, 3);
  p = pk, p.ph = 2; /* more than half the window */
  assert_int_equal(lsp_pool2d_geom_check(&p), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "half"));
  p = pk, p.kw = 0;
  assert_int_equal(lsp_pool2d_geom_check(&p), LSP_EINVAL);
  p = pk, p.h_in = 1;
  assert_int_equal(lsp_pool2d_geom_check(&p), LSP_EINVAL);
  /* ceil_mode drops a last window that would start in the bottom padding:
   * in 4, window 2, stride 2, pad 1 -> ⌈(4+2−2)/2⌉+1 = 3, (3−1)·2 = 4 < 5 keeps it */
  p = pk, p.h_in = p.w_in = 4, p.ph = p.pw = 1, p.ceil_mode = 1;
  assert_int_equal(lsp_pool2d_geom_check(&p), 0);
  assert_int_equal(p.h_out, 3);
  /* in 5, window 2, stride 3, pad 1 -> ⌈5/3⌉+1 = 3, (3−1)·3 = 6 >= 6 drops it */
  p = pk, p.h_in = p.w_in = 5, p.sh = p.sw = 3, p.ph = p.pw = 1, p.ceil_mode = 1;
  assert_int_equal(lsp_pool2d_geom_check(&p), 0);
  assert_int_equal(p.h_out, 2);

  lsp_bn2d_geom b = {.c = 2, .hw = 1, .eps = 1e-5, .momentum = 0.1};
  assert_int_equal(lsp_bn2d_geom_check(&b), 0);
  b.eps = 0;
  assert_int_equal(lsp_bn2d_geom_check(&b), LSP_EINVAL);
  b.eps = 1e-5, b.momentum = 1.5;
  assert_int_equal(lsp_bn2d_geom_check(&b), LSP_EINVAL);
  b.momentum = NAN;
  assert_int_equal(lsp_bn2d_geom_check(&b), LSP_EINVAL);
  /* one value per channel cannot be normalized in training mode */
  b.momentum = 0.1;
  float x[2] = {1.5f, -0.25f}, y[2], one[2] = {1, 1}, zero[2] = {0, 0};
  double stat[4];
  assert_int_equal(lsp_bn2d_forward_train(&b, x, 1, one, zero, NULL, NULL, y, stat),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "more than one value"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_fd),     cmocka_unit_test(test_maxpool_fd),
      cmocka_unit_test(test_avgpool_fd),  cmocka_unit_test(test_bn_fd),
      cmocka_unit_test(test_dense_fd),    cmocka_unit_test(test_gap_fd),
      cmocka_unit_test(test_eltwise_fd),  cmocka_unit_test(test_geometry_errors),
      cmocka_unit_test(test_relu_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
