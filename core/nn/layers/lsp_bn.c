/* lsp_bn.c — BatchNorm2d: eval mode, and training mode in phases (partial
 * statistics per share, combine, apply; the same for the backward). Sums in
 * double, as PyTorch's CPU kernels do. */
#include "core/nn/layers/lsp_bn.h"

#include <math.h>
#include <string.h>

#include "core/base/lsp_clones.h"
#include "core/base/lsp_error.h"

/* ---- double sums over a run of floats --------------------------------------
 * Eight independent lanes (the loop vectorizes, and no add waits for the
 * previous one), combined in a fixed order: the same inputs always give the
 * same bits. */

#define LANES 8

static double combine(const double *a) {
  return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

/* Σ x */
LSP_CLONES
static double sum_run(const float *x, size_t n) {
  double a[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) a[j] += (double)x[i + j];
  for (; i < n; i++) a[i % LANES] += (double)x[i];
  return combine(a);
}

/* Σ (x − mu)² */
LSP_CLONES
static double m2_run(const float *x, size_t n, double mu) {
  double a[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) {
      const double d = (double)x[i + j] - mu;
      a[j] += d * d;
    }
  for (; i < n; i++) {
    const double d = (double)x[i] - mu;
    a[i % LANES] += d * d;
  }
  return combine(a);
}

/* *sdy += Σ dy and *sdyx += Σ dy·(x − mu) (x may be NULL: no second sum) */
LSP_CLONES
static void dy_run(const float *dy, const float *x, size_t n, double mu,
                   double *sdy, double *sdyx) {
  double a[LANES] = {0}, b[LANES] = {0};
  size_t i = 0;
  if (x) {
    for (; i + LANES <= n; i += LANES)
      for (int j = 0; j < LANES; j++) {
        a[j] += (double)dy[i + j];
        b[j] += (double)dy[i + j] * ((double)x[i + j] - mu);
      }
    for (; i < n; i++) {
      a[i % LANES] += (double)dy[i];
      b[i % LANES] += (double)dy[i] * ((double)x[i] - mu);
    }
    *sdyx += combine(b);
  } else {
    for (; i + LANES <= n; i += LANES)
      for (int j = 0; j < LANES; j++) a[j] += (double)dy[i + j];
    for (; i < n; i++) a[i % LANES] += (double)dy[i];
  }
  *sdy += combine(a);
}

int lsp_bn2d_geom_check(const lsp_bn2d_geom *g) {
  if (g->c == 0 || g->hw == 0)
    return lsp_fail(LSP_EINVAL, "batch norm: %zu channels of %zu pixels", g->c,
                    g->hw);
  if (!(g->eps > 0.0) || !isfinite(g->eps))
    return lsp_fail(LSP_EINVAL, "batch norm: eps %g must be positive", g->eps);
  if (!(g->momentum >= 0.0 && g->momentum <= 1.0))
    return lsp_fail(LSP_EINVAL, "batch norm: momentum %g not in [0, 1]",
                    g->momentum);
  return LSP_OK;
}

/* y = a·x + b (y may alias x) */
LSP_CLONES
static void affine_run(const float *x, float *y, size_t n, float a, float b) {
  for (size_t i = 0; i < n; i++) y[i] = a * x[i] + b;
}

/* out = k·dy + u·x + v (out may alias dy) */
LSP_CLONES
static void grad_run(const float *dy, const float *x, float *out, size_t n,
                     float k, float u, float v) {
  for (size_t i = 0; i < n; i++) out[i] = k * dy[i] + u * x[i] + v;
}

/* ---- eval mode ------------------------------------------------------------
 */

void lsp_bn2d_forward_eval(const lsp_bn2d_geom *g, const float *x, size_t n,
                           const float *gamma, const float *beta,
                           const float *rmean, const float *rvar, float *y) {
  const size_t c = g->c, hw = g->hw;
  for (size_t ch = 0; ch < c; ch++) {
    /* y = a·x + b with a = gamma/√(rvar+eps), b = beta − rmean·a */
    double a = (double)gamma[ch] / sqrt((double)rvar[ch] + g->eps);
    const float af = (float)a;
    const float bf = (float)((double)beta[ch] - (double)rmean[ch] * a);
    for (size_t i = 0; i < n; i++)
      affine_run(x + (i * c + ch) * hw, y + (i * c + ch) * hw, hw, af, bf);
  }
}

void lsp_bn2d_backward_eval(const lsp_bn2d_geom *g, const float *x,
                            const float *dy, size_t n, const float *gamma,
                            const float *rmean, const float *rvar, float *dx,
                            float *dgamma, float *dbeta) {
  const size_t c = g->c, hw = g->hw;
  for (size_t ch = 0; ch < c; ch++) {
    const double istd = 1.0 / sqrt((double)rvar[ch] + g->eps);
    const double m = rmean[ch];
    double sdy = 0.0, sdyx = 0.0;
    for (size_t i = 0; i < n; i++)
      dy_run(dy + (i * c + ch) * hw, dgamma ? x + (i * c + ch) * hw : NULL, hw,
             m, &sdy, &sdyx);
    if (dgamma) dgamma[ch] = (float)(sdyx * istd);
    if (dbeta) dbeta[ch] = (float)sdy;
    if (dx) {
      const float a = (float)((double)gamma[ch] * istd);
      for (size_t i = 0; i < n; i++)
        affine_run(dy + (i * c + ch) * hw, dx + (i * c + ch) * hw, hw, a, 0.0f);
    }
  }
}

/* ---- training mode: forward ------------------------------------------------
 */

void lsp_bn2d_train_stats(const lsp_bn2d_geom *g, const float *x, size_t n,
                          double *part) {
  const size_t c = g->c, hw = g->hw;
  const double cnt = (double)n * (double)hw;
  for (size_t ch = 0; ch < c; ch++) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += sum_run(x + (i * c + ch) * hw, hw);
    /* second pass around the share's own mean: no cancellation */
    const double mu = cnt > 0 ? s / cnt : 0.0;
    double m2 = 0.0;
    for (size_t i = 0; i < n; i++) m2 += m2_run(x + (i * c + ch) * hw, hw, mu);
    part[ch] = s;
    part[c + ch] = m2;
  }
}

int lsp_bn2d_train_combine(const lsp_bn2d_geom *g, const double *parts,
                           const size_t *counts, size_t nshares, double *stat,
                           float *rmean, float *rvar) {
  const size_t c = g->c;
  double total = 0.0;
  for (size_t s = 0; s < nshares; s++) total += (double)counts[s];
  total *= (double)g->hw;
  if (total < 2.0)
    return lsp_fail(LSP_EINVAL,
                    "batch norm: training needs more than one "
                    "value per channel (got %.0f)",
                    total);
  for (size_t ch = 0; ch < c; ch++) {
    /* Chan et al.: merge (count, mean, M2) of the shares in order */
    double na = 0.0, mean = 0.0, m2 = 0.0;
    for (size_t s = 0; s < nshares; s++) {
      const double nb = (double)counts[s] * (double)g->hw;
      if (nb == 0.0) continue;
      const double *p = parts + 2 * c * s;
      const double mb = p[ch] / nb, m2b = p[c + ch];
      const double nab = na + nb, delta = mb - mean;
      mean += delta * (nb / nab);
      m2 += m2b + delta * delta * (na * nb / nab);
      na = nab;
    }
    const double var = m2 / total; /* biased: normalizes the batch */
    stat[ch] = mean;
    stat[c + ch] = 1.0 / sqrt(var + g->eps);
    const double m = g->momentum;
    if (rmean) rmean[ch] = (float)((1.0 - m) * (double)rmean[ch] + m * mean);
    if (rvar) /* unbiased: the running estimate */
      rvar[ch] =
          (float)((1.0 - m) * (double)rvar[ch] + m * (m2 / (total - 1.0)));
  }
  return LSP_OK;
}

void lsp_bn2d_train_apply(const lsp_bn2d_geom *g, const float *x, size_t n,
                          const double *stat, const float *gamma,
                          const float *beta, float *y) {
  const size_t c = g->c, hw = g->hw;
  for (size_t ch = 0; ch < c; ch++) {
    /* y = a·x + b, a = gamma·istd, b = beta − μ·a (per channel, in double) */
    const double a = (double)gamma[ch] * stat[c + ch];
    const float af = (float)a;
    const float bf = (float)((double)beta[ch] - stat[ch] * a);
    for (size_t i = 0; i < n; i++)
      affine_run(x + (i * c + ch) * hw, y + (i * c + ch) * hw, hw, af, bf);
  }
}

/* ---- training mode: backward ------------------------------------------------
 */

void lsp_bn2d_bwd_sums(const lsp_bn2d_geom *g, const float *x, const float *dy,
                       size_t n, const double *stat, double *part) {
  const size_t c = g->c, hw = g->hw;
  for (size_t ch = 0; ch < c; ch++) {
    const double mu = stat[ch];
    double sdy = 0.0, sdyx = 0.0;
    for (size_t i = 0; i < n; i++)
      dy_run(dy + (i * c + ch) * hw, x + (i * c + ch) * hw, hw, mu, &sdy,
             &sdyx);
    part[ch] = sdy;
    part[c + ch] = sdyx * stat[c + ch]; /* Σdy·x̂ = istd·Σdy·(x − μ) */
  }
}

void lsp_bn2d_bwd_combine(const lsp_bn2d_geom *g, const double *parts,
                          size_t nshares, double *sums) {
  const size_t c2 = 2 * g->c;
  for (size_t k = 0; k < c2; k++) {
    double s = 0.0;
    for (size_t sh = 0; sh < nshares; sh++) s += parts[c2 * sh + k];
    sums[k] = s;
  }
}

void lsp_bn2d_bwd_apply(const lsp_bn2d_geom *g, const float *x, const float *dy,
                        size_t n, const double *stat, const float *gamma,
                        const double *sums, size_t n_total, float *dx) {
  const size_t c = g->c, hw = g->hw;
  const double M = (double)n_total * (double)hw;
  for (size_t ch = 0; ch < c; ch++) {
    /* dx = k·(dy − Σdy/M − x̂·Σdy·x̂/M), k = gamma·istd, x̂ = (x − μ)·istd.
     * Written as dx = k·dy + u·x + v with per-channel u, v (double). */
    const double istd = stat[c + ch], mu = stat[ch];
    const double k = (double)gamma[ch] * istd;
    const double mdy = sums[ch] / M, mdyx = sums[c + ch] / M;
    const double u = -k * mdyx * istd;
    const double v = -k * mdy - u * mu;
    const float kf = (float)k, uf = (float)u, vf = (float)v;
    for (size_t i = 0; i < n; i++) {
      const size_t at = (i * c + ch) * hw;
      grad_run(dy + at, x + at, dx + at, hw, kf, uf, vf);
    }
  }
}

/* ---- training mode, whole batch ----------------------------------------- */

int lsp_bn2d_forward_train(const lsp_bn2d_geom *g, const float *x, size_t n,
                           const float *gamma, const float *beta, float *rmean,
                           float *rvar, float *y, double *stat) {
  lsp_bn2d_train_stats(g, x, n, stat);
  int st = lsp_bn2d_train_combine(g, stat, &n, 1, stat, rmean, rvar);
  if (st) return st;
  lsp_bn2d_train_apply(g, x, n, stat, gamma, beta, y);
  return LSP_OK;
}

void lsp_bn2d_backward_train(const lsp_bn2d_geom *g, const float *x,
                             const float *dy, size_t n, const double *stat,
                             const float *gamma, float *dx, float *dgamma,
                             float *dbeta, double *sums) {
  lsp_bn2d_bwd_sums(g, x, dy, n, stat, sums);
  for (size_t ch = 0; ch < g->c; ch++) {
    if (dbeta) dbeta[ch] = (float)sums[ch];
    if (dgamma) dgamma[ch] = (float)sums[g->c + ch];
  }
  if (dx) lsp_bn2d_bwd_apply(g, x, dy, n, stat, gamma, sums, n, dx);
}
