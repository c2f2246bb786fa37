/* lsp_calib_impl.h — internals shared by the calibration files (not public).
 *
 * Fixed-point sums: a non-negative double v < 2^40 becomes the integer
 * floor(v·2^64) (the fraction keeps 63 bits, far below double's own
 * resolution for the values summed here), added in 128-bit integers. Integer
 * addition is associative, so sums do not depend on the order, the chunking
 * or the thread split of the rows. */
#ifndef LSP_CALIB_IMPL_H
#define LSP_CALIB_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/lsp_calib.h"

__extension__ typedef unsigned __int128 lsp_u128;

/* Values at or above this are not representable (the integer part keeps
 * 64 - 40 = 24 bits of headroom: 1.6e7 rows at the limit). */
#define LSP_CALIB_FIX_MAX 0x1p40

static inline lsp_u128 lsp_calib_fix_bits(double v, int *overflow) {
  if (!(v >= 0.0 && v < LSP_CALIB_FIX_MAX)) {
    *overflow = 1;
    return 0;
  }
  uint64_t ip = (uint64_t)v;
  double fr = v - (double)ip; /* exact */
  uint64_t fb = ((uint64_t)(int64_t)(fr * 0x1p63)) << 1;
  return ((lsp_u128)ip << 64) | fb;
}

static inline lsp_u128 lsp_calib_fix_get(lsp_calib_fix f) {
  return ((lsp_u128)f.hi << 64) | f.lo;
}

static inline void lsp_calib_fix_add(lsp_calib_fix *f, lsp_u128 x, int *overflow) {
  lsp_u128 s = lsp_calib_fix_get(*f) + x;
  if (s < x) *overflow = 1;
  f->lo = (uint64_t)s;
  f->hi = (uint64_t)(s >> 64);
}

static inline double lsp_calib_fix_double(lsp_calib_fix f) {
  return (double)f.hi + (double)f.lo * 0x1p-64;
}

/* The fast top-label kernel (lsp_calib_kernel.c) handles at most this many
 * bins; it adds rows [0, n) to `a` and returns n, or returns the index of
 * the first row (or 8-row block) it rejects (a bad label, value or row sum),
 * so the caller can rerun the exact validator for the message. On a
 * rejection `a` may hold part of the rows: pass a private accumulator and
 * discard it (as lsp_calib_acc_add_probs does). */
#define LSP_CALIB_KERNEL_MAXBINS 64
size_t lsp_calib_top_probs_kernel(lsp_calib_acc *a, const float *p, const int32_t *y,
                                  size_t n);

/* lsp_calib_acc_add_probs / _logits (float32 f, or float64 d when not NULL)
 * that also writes each row's top-label confidence and correctness to
 * conf[i], correct[i] (i < n; both NULL: none), the input of ACE without the
 * per-row table (lsp_calib_score.c). */
int lsp_calib_acc_add_rows(lsp_calib_acc *acc, const float *f, const double *d,
                           const int32_t *y, size_t n, size_t row0, int logits, double inv_t,
                           int threads, double *conf, uint8_t *correct);

/* Metrics from binned sums (shared by the accumulator and the bootstrap). */
void lsp_calib_metrics_from_acc(const lsp_calib_acc *a, double value[LSP_CALIB_NMETRIC],
                                int has[LSP_CALIB_NMETRIC]);

#endif
