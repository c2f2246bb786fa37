/* lsp_mi.c — the Gaussian estimate of I(X; d) and the most confused class
 * pair (lsp_mi.h). */
#include "analysis/lsp_mi.h"

#include <math.h>
#include <stdlib.h>

#include "analysis/lsp_boot.h"
#include "analysis/lsp_projection.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

/* Within-example variance at most this fraction of the total counts as
 * none (doubles agree to about 1e-16, so rounding leaves ~1e-32 of it). */
#define WITHIN_RTOL 1e-12

int lsp_mi_gaussian(const double *d, size_t m, size_t r, lsp_mi_result *out) {
  if (!d || !out)
    return lsp_fail(LSP_EINVAL, "mutual information: missing argument");
  if (m < 2 || r < 2)
    return lsp_fail(LSP_EINVAL,
                    "mutual information needs at least 2 examples and 2 copies "
                    "of each (got %zu and %zu)",
                    m, r);
  for (size_t i = 0; i < m * r; i++)
    if (!isfinite(d[i]))
      return lsp_fail(
          LSP_EDATA,
          "mutual information: non-finite value (%g) at example %zu, copy %zu",
          d[i], i / r, i % r);
  /* pass 1: the grand mean (the mean of the example means: every example
   * has r values) */
  double grand = 0.0;
  for (size_t x = 0; x < m; x++) {
    double s = 0.0;
    for (size_t j = 0; j < r; j++) s += d[x * r + j];
    grand += s / (double)r;
  }
  grand /= (double)m;
  /* pass 2: squared deviations from the example means and the grand mean */
  double within = 0.0, total = 0.0, between = 0.0;
  for (size_t x = 0; x < m; x++) {
    const double *v = d + x * r;
    double s = 0.0;
    for (size_t j = 0; j < r; j++) s += v[j];
    const double mx = s / (double)r;
    double w = 0.0, t = 0.0;
    for (size_t j = 0; j < r; j++) {
      w += (v[j] - mx) * (v[j] - mx);
      t += (v[j] - grand) * (v[j] - grand);
    }
    within += w / (double)r;
    total += t / (double)r;
    between += (mx - grand) * (mx - grand);
  }
  within /= (double)m;
  total /= (double)m;
  between /= (double)m;
  /* relative: copies equal up to rounding leave a within variance of the
   * order of ε²·total, which is no variance at all */
  if (!(within > WITHIN_RTOL * total))
    return lsp_fail(
        LSP_EDATA,
        "mutual information: the copies of every example give the same value "
        "up to rounding (no within-example variance above %g of the total), "
        "so the Gaussian estimate is infinite",
        WITHIN_RTOL);
  out->mi = 0.5 * log(total / within);
  out->var_total = total;
  out->var_within = within;
  out->var_between = between;
  out->bound = log((double)m);
  out->m = m;
  out->r = r;
  return LSP_OK;
}

/* Per-example means and (population) variances of the copies. */
typedef struct {
  size_t m;
  const double *mean, *var;   /* model 1 */
  const double *mean2, *var2; /* model 2, or NULL */
} mi_boot;

/* Î of the examples weighted by w: the same variance decomposition as
 * lsp_mi_gaussian, with example x counted w[x] times. */
static double weighted_mi(const double *mean, const double *var,
                          const uint32_t *w, size_t m) {
  double W = 0, g = 0, within = 0;
  for (size_t x = 0; x < m; x++) {
    W += w[x];
    g += w[x] * mean[x];
    within += w[x] * var[x];
  }
  g /= W;
  within /= W;
  double between = 0;
  for (size_t x = 0; x < m; x++)
    between += w[x] * (mean[x] - g) * (mean[x] - g);
  between /= W;
  if (within > WITHIN_RTOL * (within + between))
    return 0.5 * log((within + between) / within);
  /* No within-example variance: d keeps the drawn examples apart perfectly
   * (+inf), unless every drawn example has the same mean, when d is one
   * constant that says nothing about X (0). */
  size_t first = 0;
  while (!w[first]) first++;
  for (size_t x = first + 1; x < m; x++)
    if (w[x] && mean[x] != mean[first]) return INFINITY;
  return 0.0;
}

static void mi_stat(const void *ctx, void *ws, const uint32_t *w, double *out) {
  (void)ws;
  const mi_boot *c = ctx;
  out[0] = weighted_mi(c->mean, c->var, w, c->m);
  if (!c->mean2) return;
  const double b = weighted_mi(c->mean2, c->var2, w, c->m);
  /* Both +inf: both models keep this resample's examples fully apart, so
   * both reach the ceiling H(X) of the true information; their difference
   * is 0 (inf - inf would be NaN and spoil the percentiles). */
  out[0] = isinf(out[0]) && isinf(b) ? 0.0 : out[0] - b;
}

static void moments(const double *d, size_t m, size_t r, double *mean,
                    double *var) {
  for (size_t x = 0; x < m; x++) {
    const double *v = d + x * r;
    double s = 0, q = 0;
    for (size_t j = 0; j < r; j++) s += v[j];
    s /= (double)r;
    for (size_t j = 0; j < r; j++) q += (v[j] - s) * (v[j] - s);
    mean[x] = s;
    var[x] = q / (double)r;
  }
}

int lsp_mi_bootstrap(const double *d, const double *d2, size_t m, size_t r,
                     int resamples, uint64_t seed, double *lo, double *hi) {
  lsp_mi_result chk;
  int st = lsp_mi_gaussian(d, m, r, &chk);
  if (!st && d2) st = lsp_mi_gaussian(d2, m, r, &chk);
  if (st) return st;
  if (resamples < 1)
    return lsp_fail(LSP_EINVAL, "mutual information: resamples must be >= 1");
  double *buf = malloc((d2 ? 4 : 2) * m * sizeof *buf);
  if (!buf) return lsp_fail(LSP_ENOMEM, "out of memory");
  mi_boot c = {m, buf, buf + m, d2 ? buf + 2 * m : NULL,
               d2 ? buf + 3 * m : NULL};
  moments(d, m, r, buf, buf + m);
  if (d2) moments(d2, m, r, buf + 2 * m, buf + 3 * m);
  lsp_boot_opts o = {resamples, seed, 1};
  lsp_boot_stat stat = {1, &c, NULL, NULL, mi_stat};
  st = lsp_boot_run(m, &o, &stat, lo, hi);
  free(buf);
  return st;
}

int lsp_mi_confused_pair(const float *logits, const int32_t *labels, size_t n,
                         size_t k, int *a, int *b, size_t *count) {
  if (!logits || !labels || n == 0 || k < 2)
    return lsp_fail(LSP_EINVAL,
                    "confused pair: need logits, labels, N >= 1 and K >= 2");
  lsp_confusion c;
  lsp_conf_pair *e = NULL;
  size_t ne = 0;
  int st = lsp_proj_confusion_logits(logits, labels, n, k, &c);
  if (!st) st = lsp_confusion_pairs(&c, &e, &ne);
  lsp_confusion_free(&c);
  if (st) return st;
  /* the pairs come in (a, b) order: the first of the largest count is the
   * lowest pair among them */
  size_t best = 0;
  *a = 0;
  *b = 1;
  for (size_t q = 0; q < ne; q++)
    if (e[q].s > best) {
      best = e[q].s;
      *a = (int)e[q].a;
      *b = (int)e[q].b;
    }
  free(e);
  *count = best;
  return LSP_OK;
}
