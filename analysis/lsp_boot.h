/* lsp_boot.h — paired percentile bootstrap for per-example 0/1 outcomes
 * (accuracy, accuracy under attack) of two models scored on the same
 * examples, and the seed-spread interval used when several seeds are run. */
#ifndef LSP_BOOT_H
#define LSP_BOOT_H

#include <stddef.h>
#include <stdint.h>

/* mean(a) - mean(b) over n paired examples (a[i], b[i] in {0, 1}), with the
 * 95% percentile interval from `resamples` resamples of the example indices
 * (GSL mt19937 seeded with `seed`; the same indices for both models).
 * LSP_EINVAL for n = 0 or resamples < 1. */
int lsp_boot_paired_diff(const uint8_t *a, const uint8_t *b, size_t n,
                         int resamples, uint64_t seed, double *diff,
                         double *lo, double *hi);

/* The same for one model: mean(a) and its interval. */
int lsp_boot_mean(const uint8_t *a, size_t n, int resamples, uint64_t seed,
                  double *mean, double *lo, double *hi);

/* Mean of m values (one per seed) and the two-sided 95% Student-t interval
 * mean ± t(0.975, m-1)·sd/sqrt(m); for m = 1 the interval is [NaN, NaN]. */
void lsp_seed_interval(const double *v, size_t m, double *mean, double *lo,
                       double *hi);

#endif
