/* lsp_boot.c — the percentile bootstrap engine and the 0/1-outcome and
 * seed-spread intervals (see lsp_boot.h). */
#include "analysis/lsp_boot.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"

/* Resample b's counts: n draws with replacement from its own stream. */
static void draw_counts(gsl_rng *g, uint64_t seed, int b, size_t n, uint32_t *w) {
  gsl_rng_set(g, (unsigned long)(lsp_splitmix64(seed ^ lsp_splitmix64((uint64_t)b)) &
                                 0xffffffffUL));
  memset(w, 0, n * sizeof *w);
  for (size_t i = 0; i < n; i++) w[gsl_rng_uniform_int(g, (unsigned long)n)]++;
}

int lsp_boot_values(size_t n, const lsp_boot_opts *o, const lsp_boot_stat *s, double *vals) {
  if (!o || !s || !s->stat || !vals || s->nstat == 0)
    return lsp_fail(LSP_EINVAL, "bootstrap: NULL argument");
  if (n == 0) return lsp_fail(LSP_EINVAL, "bootstrap of zero examples");
  if (o->resamples < 1)
    return lsp_fail(LSP_EINVAL, "bootstrap: resamples must be >= 1 (got %d)", o->resamples);
  if (n > 0xffffffffUL)
    return lsp_fail(LSP_EINVAL, "bootstrap: at most 2^32 - 1 rows (got %zu)", n);
  const int B = o->resamples;
  const size_t M = s->nstat;
  int nt = o->threads > 1 ? o->threads : 1;
  if (nt > B) nt = B;
  int fail = 0, stop = 0;
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(| : fail, stop)
  {
    /* per-thread workspace: counts, one generator, the statistic's scratch */
    uint32_t *w = malloc(n * sizeof *w);
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    void *ws = s->ws_alloc ? s->ws_alloc(s->ctx) : NULL;
    int ready = w && g && (!s->ws_alloc || ws);
    /* every thread reaches the worksharing loop, ready or not */
#pragma omp for schedule(static)
    for (int b = 0; b < B; b++) {
      if (!ready) {
        fail = 1;
        continue;
      }
      if (stop || lsp_interrupted()) { /* the host's interruption: skip the rest */
        stop = 1;
        continue;
      }
      draw_counts(g, o->seed, b, n, w);
      s->stat(s->ctx, ws, w, vals + (size_t)b * M);
    }
    free(w);
    gsl_rng_free(g);
    if (ws) s->ws_free(ws);
  }
  if (fail) return lsp_fail(LSP_ENOMEM, "out of memory for the bootstrap (%zu rows)", n);
  if (stop) return lsp_fail(LSP_EINTR, "bootstrap: interrupted");
  return LSP_OK;
}

int lsp_boot_run(size_t n, const lsp_boot_opts *o, const lsp_boot_stat *s,
                 double *lo, double *hi) {
  if (!o || !s || !s->stat || !lo || !hi || s->nstat == 0)
    return lsp_fail(LSP_EINVAL, "bootstrap: NULL argument");
  if (o->resamples < 1)
    return lsp_fail(LSP_EINVAL, "bootstrap: resamples must be >= 1 (got %d)", o->resamples);
  const int B = o->resamples;
  const size_t M = s->nstat;
  double *vals = malloc((size_t)B * M * sizeof *vals);
  double *col = malloc((size_t)B * sizeof *col);
  int st = !vals || !col ? lsp_fail(LSP_ENOMEM, "out of memory for the bootstrap")
                         : lsp_boot_values(n, o, s, vals);
  if (st == LSP_OK) {
    for (size_t m = 0; m < M; m++) {
      for (int b = 0; b < B; b++) col[b] = vals[(size_t)b * M + m];
      qsort(col, (size_t)B, sizeof *col, lsp_cmp_double);
      lo[m] = lsp_percentile_sorted(col, (size_t)B, 0.025);
      hi[m] = lsp_percentile_sorted(col, (size_t)B, 0.975);
    }
  }
  free(vals);
  free(col);
  return st;
}

/* ---- 0/1 outcomes ----------------------------------------------------------- */

typedef struct {
  const uint8_t *a, *b; /* b == NULL: a alone */
  size_t n;
} outcomes;

/* mean of a - b under the counts, from an exact integer sum */
static void outcome_stat(const void *ctx, void *ws, const uint32_t *w, double *out) {
  (void)ws;
  const outcomes *c = ctx;
  long long t = 0;
  for (size_t i = 0; i < c->n; i++)
    t += (long long)w[i] * ((long long)c->a[i] - (c->b ? (long long)c->b[i] : 0));
  out[0] = (double)t / (double)c->n;
}

static int boot_outcomes(const uint8_t *a, const uint8_t *b, size_t n, int resamples,
                         uint64_t seed, double *est, double *lo, double *hi) {
  if (!a || !est) return lsp_fail(LSP_EINVAL, "bootstrap: NULL argument");
  if (n == 0) return lsp_fail(LSP_EINVAL, "bootstrap of zero examples");
  long long s = 0;
  for (size_t i = 0; i < n; i++) s += (long long)a[i] - (b ? (long long)b[i] : 0);
  *est = (double)s / (double)n;
  outcomes c = {a, b, n};
  lsp_boot_opts o = {resamples, seed, 1};
  lsp_boot_stat stat = {1, &c, NULL, NULL, outcome_stat};
  return lsp_boot_run(n, &o, &stat, lo, hi);
}

int lsp_boot_paired_diff(const uint8_t *a, const uint8_t *b, size_t n,
                         int resamples, uint64_t seed, double *diff,
                         double *lo, double *hi) {
  if (!b) return lsp_fail(LSP_EINVAL, "bootstrap: NULL argument");
  return boot_outcomes(a, b, n, resamples, seed, diff, lo, hi);
}

int lsp_boot_mean(const uint8_t *a, size_t n, int resamples, uint64_t seed,
                  double *mean, double *lo, double *hi) {
  return boot_outcomes(a, NULL, n, resamples, seed, mean, lo, hi);
}

void lsp_seed_interval(const double *v, size_t m, double *mean, double *lo,
                       double *hi) {
  double s = 0;
  for (size_t i = 0; i < m; i++) s += v[i];
  *mean = m ? s / (double)m : NAN;
  if (m < 2) {
    *lo = *hi = NAN;
    return;
  }
  double ss = 0;
  for (size_t i = 0; i < m; i++) ss += (v[i] - *mean) * (v[i] - *mean);
  double sd = sqrt(ss / (double)(m - 1));
  double t = gsl_cdf_tdist_Pinv(0.975, (double)(m - 1));
  *lo = *mean - t * sd / sqrt((double)m);
  *hi = *mean + t * sd / sqrt((double)m);
}
