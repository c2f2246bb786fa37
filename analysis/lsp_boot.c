#include "analysis/lsp_boot.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>

#include "core/base/lsp_error.h"

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* Linear-interpolation percentile of sorted v (as NumPy's default). */
static double percentile(const double *v, size_t n, double q) {
  double pos = q * (double)(n - 1);
  size_t i = (size_t)pos;
  if (i + 1 >= n) return v[n - 1];
  double f = pos - (double)i;
  return v[i] + f * (v[i + 1] - v[i]);
}

/* Shared by both entry points: b == NULL scores a alone. */
static int boot(const uint8_t *a, const uint8_t *b, size_t n, int resamples,
                uint64_t seed, double *est, double *lo, double *hi) {
  if (n == 0) return lsp_fail(LSP_EINVAL, "bootstrap of zero examples");
  if (resamples < 1) return lsp_fail(LSP_EINVAL, "bootstrap needs at least one resample");
  long long s = 0;
  for (size_t i = 0; i < n; i++) s += (long long)a[i] - (b ? (long long)b[i] : 0);
  *est = (double)s / (double)n;
  double *stat = malloc((size_t)resamples * sizeof *stat);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!stat || !r) {
    free(stat);
    if (r) gsl_rng_free(r);
    return lsp_fail(LSP_ENOMEM, "out of memory for the bootstrap");
  }
  gsl_rng_set(r, (unsigned long)seed);
  for (int rep = 0; rep < resamples; rep++) {
    long long t = 0;
    for (size_t i = 0; i < n; i++) {
      size_t j = (size_t)gsl_rng_uniform_int(r, (unsigned long)n);
      t += (long long)a[j] - (b ? (long long)b[j] : 0);
    }
    stat[rep] = (double)t / (double)n;
  }
  gsl_rng_free(r);
  qsort(stat, (size_t)resamples, sizeof *stat, cmp_double);
  *lo = percentile(stat, (size_t)resamples, 0.025);
  *hi = percentile(stat, (size_t)resamples, 0.975);
  free(stat);
  return LSP_OK;
}

int lsp_boot_paired_diff(const uint8_t *a, const uint8_t *b, size_t n,
                         int resamples, uint64_t seed, double *diff,
                         double *lo, double *hi) {
  return boot(a, b, n, resamples, seed, diff, lo, hi);
}

int lsp_boot_mean(const uint8_t *a, size_t n, int resamples, uint64_t seed,
                  double *mean, double *lo, double *hi) {
  return boot(a, NULL, n, resamples, seed, mean, lo, hi);
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
