/* lsp_boot.h — the percentile bootstrap engine, and the intervals built on
 * it: per-example 0/1 outcomes (accuracy, accuracy under attack) of one
 * model or of two models scored on the same examples, and the seed-spread
 * interval used when several seeds are run. The calibration intervals
 * (lsp_calib_bootstrap) run on the same engine.
 *
 * Resampling: resample b (0 <= b < B) draws n example indices with
 * replacement from its own GSL mt19937 stream, seeded with the low 32 bits
 * of splitmix64(seed ^ splitmix64(b)); the statistic sees the draw as
 * counts w[0..n-1] (how often each example was drawn, summing to n). Each
 * resample depends only on (seed, b), so the result is the same for every
 * thread count. The interval is the 2.5% and 97.5% percentile (linear
 * interpolation, lsp_percentile_sorted) of the B values. */
#ifndef LSP_BOOT_H
#define LSP_BOOT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int resamples;  /* B >= 1                                      */
  uint64_t seed;
  int threads;    /* <= 1: one thread; any count gives the same result */
} lsp_boot_opts;

/* A statistic of a resample: `nstat` values of the weighted sample. stat()
 * writes them into out[0..nstat-1] from the counts w (n entries, summing
 * to n); it must not fail. ws_alloc/ws_free (both NULL, or both set) make a
 * scratch object per thread, passed to stat() as `ws`; ws_alloc returns
 * NULL when memory runs out. */
typedef struct {
  size_t nstat;
  const void *ctx;
  void *(*ws_alloc)(const void *ctx);
  void (*ws_free)(void *ws);
  void (*stat)(const void *ctx, void *ws, const uint32_t *w, double *out);
} lsp_boot_stat;

/* Run B resamples of n examples and fill lo[0..nstat-1], hi[0..nstat-1]
 * with the 95% percentile interval of each statistic. LSP_EINVAL for n = 0,
 * n >= 2^32, resamples < 1 or NULL arguments; LSP_ENOMEM. */
int lsp_boot_run(size_t n, const lsp_boot_opts *o, const lsp_boot_stat *s,
                 double *lo, double *hi);

/* The B = o->resamples values of the statistic themselves, row b (the
 * resample) by column (the statistic): vals[b·nstat + m]. Resample b's
 * counts depend only on (o->seed, b, n), so two callers with the same seed
 * and n see the same example indices (a paired resample). Errors as
 * lsp_boot_run. */
int lsp_boot_values(size_t n, const lsp_boot_opts *o, const lsp_boot_stat *s, double *vals);

/* mean(a) - mean(b) over n paired examples (a[i], b[i] in {0, 1}), with the
 * 95% percentile interval from `resamples` resamples of the example indices
 * (the same indices for both models, seeded with `seed`, one thread).
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
