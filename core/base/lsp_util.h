/* lsp_util.h — small numeric helpers used across the layers: one copy each.
 *
 * argmax with the lowest index on ties (DESIGN §2), the SplitMix64 mixer
 * behind every derived seed, a NaN-aware comparator for qsort, the
 * linear-interpolation percentile of a sorted array, a monotonic clock and
 * the length of a UTF-8 sequence, the shortest exact decimal of a double,
 * a POSIX shell word.
 * No state, no allocation, no error codes: every function is total. */
#ifndef LSP_UTIL_H
#define LSP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Index of the largest of v[0..n-1]; ties go to the lowest index (the
 * argmax convention of DESIGN §2: calibration, accuracy, predictions).
 * NaN entries never win: an index holding NaN is passed over, and when
 * every entry is NaN the result is 0. n == 0 gives 0. */
size_t lsp_argmax_f32(const float *v, size_t n);
/* The same for double (float64 inputs keep their precision). */
size_t lsp_argmax_f64(const double *v, size_t n);

/* The same over every index except `skip` (for example the largest logit
 * other than the true class's, as in the margin loss). Returns n when no
 * other index exists (n == 0, or n == 1 and skip == 0); when every other
 * entry is NaN, the first index other than skip. */
size_t lsp_argmax_f32_except(const float *v, size_t n, size_t skip);

/* The SplitMix64 output function (Steele, Lea & Flood 2014): a bijection
 * of 64-bit words that scatters nearby inputs, used to derive independent
 * seeds from (seed, index) pairs. */
uint64_t lsp_mix64(uint64_t z);

/* One SplitMix64 draw from state x: lsp_mix64(x + 0x9e3779b97f4a7c15).
 * From x = 0 the reference generator's first output, 0xe220a8397b1dcdaf. */
uint64_t lsp_splitmix64(uint64_t x);

/* qsort comparator for doubles, ascending, with every NaN after every
 * number (a total order, so the sort is well defined with NaN present). */
int lsp_cmp_double(const void *a, const void *b);

/* The q-quantile (0 <= q <= 1, clamped) of v[0..n-1] sorted ascending
 * (lsp_cmp_double): linear interpolation between the order statistics
 * around position q·(n−1), NumPy's default "linear" method. An exact
 * position or two equal neighbours return the order statistic itself (so
 * ±Inf pass through); NaNs, sorted last, reach only the top quantiles.
 * NaN when n == 0 or q is NaN. */
double lsp_percentile_sorted(const double *v, size_t n, double q);

/* Seconds on the monotonic clock (CLOCK_MONOTONIC): for durations only. */
double lsp_now_s(void);

/* A block for an array of `bytes` that is filled once and read in full:
 * from 1 MB on, 2 MB-aligned, whole 2 MB pages, and advised onto
 * transparent huge pages (madvise(MADV_HUGEPAGE); the kernel may refuse,
 * which changes only the speed); smaller, plain malloc. On a virtual
 * machine the first touch of each 4 KB page is costly (DESIGN §2: reading
 * files, sorting confidences); on 2 MB pages a 16 MB array takes 8 faults
 * instead of 4096. NULL when out of memory; free() releases it. */
void *lsp_alloc_huge(size_t bytes);

/* lsp_alloc_huge for n elements of `size` bytes, zeroed; NULL when out of
 * memory or when n·size overflows. For arrays that are read and written
 * whole again and again (a model's parameters, gradients and optimizer
 * state): the GEMMs and steps of training then walk one TLB entry per
 * 2 MB (DESIGN §2: one-thread MLP training 3-4% faster). */
void *lsp_calloc_huge(size_t n, size_t size);

/* The length of the well-formed UTF-8 sequence of 2 to 4 bytes at p (no
 * overlong form, no surrogate, nothing above U+10FFFF), or 0 (an ASCII byte
 * included). p is NUL-terminated: nothing past a NUL is read. */
size_t lsp_utf8_len(const unsigned char *p);

/* x as text in the fewest of 15, 16 or 17 significant digits ("%.*g")
 * that read back as x (cap: 32 bytes hold any). */
void lsp_shortest_g(double x, char *buf, size_t cap);

/* s written to f as one POSIX shell single-quoted word ('it'\''s'), so a
 * shell reads it back as s whatever it holds. */
void lsp_shell_quote(FILE *f, const char *s);

#endif
