/* lsp_calib_impl.h — internals shared by the calibration files (not public).
 *
 * Fixed-point sums: a non-negative double v < 2^40 becomes the integer
 * floor(v·2^64) (the fraction keeps 63 bits, far below double's own
 * resolution for the values summed here), added in 128-bit integers. Integer
 * addition is associative, so sums do not depend on the order, the chunking
 * or the thread split of the rows. */
#ifndef LSP_CALIB_IMPL_H
#define LSP_CALIB_IMPL_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_smece.h"

__extension__ typedef unsigned __int128 lsp_u128;

/* Values at or above this are not representable (the integer part keeps
 * 64 - 40 = 24 bits of headroom: 1.6e7 rows at the limit). */
#define LSP_CALIB_FIX_MAX 0x1p40

static inline lsp_u128 lsp_calib_fix_bits(double v, int *overflow) {
  if (!(v >= 0.0 && v < LSP_CALIB_FIX_MAX)) {
    *overflow = 1;
    return 0;
  }
  /* through int64_t (v < 2^40): one instruction each way, where the
   * unsigned conversions take a branch and several on x86-64 */
  const int64_t ip = (int64_t)v;
  double fr = v - (double)ip; /* exact */
  uint64_t fb = ((uint64_t)(int64_t)(fr * 0x1p63)) << 1;
  return ((lsp_u128)(uint64_t)ip << 64) | fb;
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

/* Adds w·v, an NLL term v in [2^40, DBL_MAX] (finite logits far apart),
 * to a's nll_big: b = (E − 40)/32 for v's binary exponent E, and
 * v·2^-(40+32b), in [1, 2^32) with at most 52 fraction bits, in fixed point
 * (exact). Integer sums again: the result does not depend on the order or
 * the split of the rows. Anything else (below 2^40, infinite, NaN) sets
 * *overflow, as do the sums wrapping. */
static inline void lsp_calib_nll_big_add(lsp_calib_acc *a, double v, uint64_t w,
                                         int *overflow) {
  if (!(v >= LSP_CALIB_FIX_MAX && v <= DBL_MAX) || w > ((uint64_t)1 << 32)) {
    *overflow = 1;
    return;
  }
  const int b = (ilogb(v) - 40) / 32;
  const double s = ldexp(v, -(40 + 32 * b));
  const uint64_t ip = (uint64_t)s;
  const uint64_t fb = ((uint64_t)(int64_t)((s - (double)ip) * 0x1p63)) << 1;
  const lsp_u128 x = ((lsp_u128)ip << 64) | fb; /* below 2^96 */
  lsp_calib_fix_add(&a->nll_big[b], x * w, overflow);
}

/* The NLL's sum over the rows, divided by n: the fixed-point sum and the
 * wide sums (lsp_calib_nll_big_add), each scaled back, added in a fixed
 * order. */
static inline double lsp_calib_nll_mean(const lsp_calib_acc *a, double n) {
  double s = lsp_calib_fix_double(a->nll) / n;
  for (int b = 0; b < LSP_CALIB_NLL_BIG; b++)
    if (a->nll_big[b].lo | a->nll_big[b].hi)
      s += ldexp(lsp_calib_fix_double(a->nll_big[b]) / n, 40 + 32 * b);
  return s;
}

/* lsp_calib_fix_add(f, lsp_calib_fix_bits(v, ovf), ovf) in two 64-bit
 * words, for the per-row sums: the same integers and the same overflow
 * flag (set when v is out of range, or when the 128-bit sum wraps), without
 * the 128-bit temporaries that the compiler keeps on the stack. */
static inline void lsp_calib_fix_add_v(lsp_calib_fix *f, double v, int *overflow) {
  if (!(v >= 0.0 && v < LSP_CALIB_FIX_MAX)) {
    *overflow = 1;
    return;
  }
  const int64_t ip = (int64_t)v;
  const double fr = v - (double)ip; /* exact */
  const uint64_t fb = ((uint64_t)(int64_t)(fr * 0x1p63)) << 1;
  uint64_t lo, hi;
  const int c0 = __builtin_add_overflow(f->lo, fb, &lo);
  const int c1 = __builtin_add_overflow(f->hi, (uint64_t)ip, &hi);
  const int c2 = __builtin_add_overflow(hi, (uint64_t)c0, &hi);
  if (c1 | c2) *overflow = 1;
  f->lo = lo;
  f->hi = hi;
}

/* lsp_calib_fix_add_v of a value already in fixed point, (integer part,
 * fraction bits): the same integers and the same overflow flag when the
 * 128-bit sum wraps. */
static inline void lsp_calib_fix_add_pair(lsp_calib_fix *f, uint64_t ip,
                                          uint64_t fb, int *overflow) {
  uint64_t lo, hi;
  const int c0 = __builtin_add_overflow(f->lo, fb, &lo);
  const int c1 = __builtin_add_overflow(f->hi, ip, &hi);
  const int c2 = __builtin_add_overflow(hi, (uint64_t)c0, &hi);
  if (c1 | c2) *overflow = 1;
  f->lo = lo;
  f->hi = hi;
}

/* lsp_calib_fix_add_pair of a value in [0, 1] as one word (fraction bits |
 * integer part in bit 0; lsp_calib_row.h's lsp_calib_rowrec). */
static inline void lsp_calib_fix_add_word(lsp_calib_fix *f, uint64_t x,
                                          int *overflow) {
  lsp_calib_fix_add_pair(f, x & 1, x & ~(uint64_t)1, overflow);
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

/* ---- the passes (lsp_calib.c) and their workspace (lsp_calib_add.c) ---- */

/* The first bad row of a range (global index), why, and the offending
 * value or row sum. */
enum {
  LSP_CALIB_BAD_NONE = 0,
  LSP_CALIB_BAD_LABEL,
  LSP_CALIB_BAD_VALUE,
  LSP_CALIB_BAD_SUM,
  LSP_CALIB_BAD_NONFINITE
};
typedef struct {
  size_t row;
  int kind;
  double what;
} lsp_calib_bad;

/* One thread's workspace of the passes, kept by the accumulator between
 * calls (lsp_calib_acc's ws) so that a stream of chunks allocates and
 * clears it once: the range's private sums, merged into the accumulator
 * only when every range of the call was valid and cleared after, and the
 * pass's packed words, which the pass leaves all zero (its last flush
 * clears what it moved). */
typedef struct {
  lsp_calib_acc *part; /* the range's sums                                */
  lsp_calib_fix *cwcp; /* [k·bins] packed classwise sums (FULL), or NULL  */
  uint64_t *pw;        /* the logits pass's per-bin words, z0, lanes      */
  uint64_t *mesh;      /* [LSP_CALIB_MESH_WORDS] its SmoothECE mesh (FULL;
                          64-byte aligned), or NULL                       */
  double *w;           /* its row buffers: 4·G·k doubles (G =
                          lsp_calib_row_group(k))                        */
} lsp_calib_slot;

/* Allocate what slot s lacks for passes into accumulator acc (logits: the
 * logits pass's words too). LSP_ENOMEM leaves s released. */
int lsp_calib_slot_fill(lsp_calib_slot *s, const lsp_calib_acc *acc, int logits);
void lsp_calib_slot_release(lsp_calib_slot *s);
/* Rows [i0, i1) of probabilities or logits (float32 f, or float64 d when
 * not NULL; scaled by inv_t) into s->part; the first bad row into *bad;
 * with conf, each row's confidence and correctness into conf[i − i0],
 * ok[i − i0]. */
void lsp_calib_probs_range(lsp_calib_slot *s, const float *f, const double *d,
                           const int32_t *y, size_t i0, size_t i1, size_t row0,
                           lsp_calib_bad *bad, double *conf, uint8_t *ok);
void lsp_calib_logits_range(lsp_calib_slot *s, const float *f, const double *d,
                            const int32_t *y, size_t i0, size_t i1, size_t row0,
                            double inv_t, lsp_calib_bad *bad, double *conf,
                            uint8_t *ok);
/* An accumulator's workspace: slots for its passes' threads. */
struct lsp_calib_ws;
void lsp_calib_ws_free(struct lsp_calib_ws *ws); /* NULL-safe */

/* Scratch for the metrics of an accumulator: SmoothECE's workspace and
 * three mesh-sized double buffers. One per thread. */
typedef struct {
  lsp_smece_ws *ws;
  double *m0, *m1, *m2; /* [LSP_SMECE_NODES] each */
  double hint;          /* σ* search hint (lsp_smece_fit); 0: none */
} lsp_calib_scratch;
lsp_calib_scratch *lsp_calib_scratch_alloc(void);
void lsp_calib_scratch_free(lsp_calib_scratch *s); /* NULL-safe */

/* Metrics from binned sums (shared by the accumulator and the bootstrap).
 * SmoothECE needs the mesh (LSP_CALIB_FULL) and scratch (else has = 0). */
void lsp_calib_metrics_from_acc(const lsp_calib_acc *a, double value[LSP_CALIB_NMETRIC],
                                int has[LSP_CALIB_NMETRIC], lsp_calib_scratch *sc);

/* lsp_calib_fix_bits of v in [0, 1] as one word: the fraction bits (whose
 * lowest bit is always 0) | the integer part in bit 0 (for v in [1, 2):
 * the fraction of v − 1); the calibration row kernels' scalar form of
 * their fixed-point words. */
static inline uint64_t lsp_calib_fix_word(double v) {
  /* the integer part chosen as a double, not converted from an integer
   * (a conversion writes part of its register and waits on the last) */
  const int ge = v >= 1.0;
  return ((uint64_t)(int64_t)((v - (ge ? 1.0 : 0.0)) * 0x1p63)) << 1 | (uint64_t)ge;
}

/* The 128-bit fixed-point value of a one-word x. */
static inline lsp_u128 lsp_calib_word_bits(uint64_t x) {
  return ((lsp_u128)(x & 1) << 64) | (x & ~(uint64_t)1);
}

/* A row's split on SmoothECE's mesh, the one record every path adds (the
 * accumulators, the per-row table, the intervals' draws; lsp_calib_row_
 * body.h's vector lanes compute the same numbers): the node j left of c
 * (lsp_smece_node: c·(NODES − 1) = j + f) and the one-word fixed-point
 * shares 1 − f, f, (1 − f)·c and f·c; the correct shares are the first two
 * again. */
typedef struct {
  uint32_t j;
  uint64_t share[4];
} lsp_calib_meshrow;

static inline lsp_calib_meshrow lsp_calib_mesh_row(double c) {
  size_t j;
  double f;
  lsp_smece_node(c, &j, &f);
  const double g = 1.0 - f, gc = g * c, fc = f * c;
  const lsp_calib_meshrow m = {
      (uint32_t)j,
      {lsp_calib_fix_word(g), lsp_calib_fix_word(f), lsp_calib_fix_word(gc),
       lsp_calib_fix_word(fc)}};
  return m;
}

/* Add `w` copies of a row with confidence c in [0, 1], `k` of them
 * correct, to the SmoothECE mesh of a (which must have one). */
static inline void lsp_calib_mesh_add(lsp_calib_acc *a, double c, uint64_t w,
                                      uint64_t k, int *ovf) {
  const lsp_calib_meshrow m = lsp_calib_mesh_row(c);
  const lsp_u128 s0 = lsp_calib_word_bits(m.share[0]),
                 s1 = lsp_calib_word_bits(m.share[1]);
  lsp_calib_fix_add(&a->mesh_w[m.j], s0 * w, ovf);
  lsp_calib_fix_add(&a->mesh_w[m.j + 1], s1 * w, ovf);
  lsp_calib_fix_add(&a->mesh_c[m.j], lsp_calib_word_bits(m.share[2]) * w, ovf);
  lsp_calib_fix_add(&a->mesh_c[m.j + 1], lsp_calib_word_bits(m.share[3]) * w,
                    ovf);
  if (k) {
    lsp_calib_fix_add(&a->mesh_y[m.j], s0 * k, ovf);
    lsp_calib_fix_add(&a->mesh_y[m.j + 1], s1 * k, ovf);
  }
}

/* Everything lsp_calib_metrics_from_acc adds beyond the plug-in metrics:
 * ece_debiased and ece_l2_debiased from the bins, and (with a mesh and
 * scratch) smece and smece_sigma (lsp_calib_estim.c). */
void lsp_calib_estimators_from_acc(const lsp_calib_acc *a, double v[LSP_CALIB_NMETRIC],
                                   int has[LSP_CALIB_NMETRIC], lsp_calib_scratch *sc);

/* Allocate and fill res->smooth_* from a's mesh at σ = res->value[SMECE_
 * SIGMA] (the band NaN). LSP_ENOMEM. */
int lsp_calib_curve_fill(const lsp_calib_acc *a, lsp_calib_result *res, lsp_calib_scratch *sc);

/* "smooth_curve": {sigma, t, accuracy, density, lo, hi} into the open
 * JSON object. */
void lsp_calib_curve_json(const lsp_calib_result *r, lsp_json *j);

/* The mesh of a as doubles, each divided by n: resid = (Σ s·correct −
 * Σ s·c)/n, and (when not NULL) ymass = Σ s·correct/n, wmass = Σ s/n. */
void lsp_calib_mesh_doubles(const lsp_calib_acc *a, double *resid, double *ymass,
                            double *wmass);

/* One equal-width bin's contributions to the debiased estimators (DESIGN
 * §2), nb rows (> 0), kb correct, cb = Σ confidence: adds nb·(2|g| −
 * E|g + sZ|) to *l1 and, when nb >= 2, nb·(g² − acc(1 − acc)/(nb − 1)) to
 * *l2, with acc = kb/nb, g = acc − cb/nb, s² = acc(1 − acc)/nb. The totals
 * divided by N are ece_debiased and (clipped at 0, square-rooted)
 * ece_l2_debiased. */
void lsp_calib_debias_bin(double nb, double kb, double cb, double *l1, double *l2);

/* The class a uniform u in [0, c[K − 1]) picks from the cumulative
 * probabilities c[0..K) (non-decreasing, K >= 1): the first k with
 * u < c[k], K − 1 if none; a class of zero probability (c[k] = c[k − 1])
 * is never picked but for u at a step's very end. By bisection: O(log K),
 * where a linear search took O(K) a copy (the classwise interval's draws,
 * K = 1000: 22 → 16 s). */
size_t lsp_calib_cdf_pick(const double *c, size_t K, double u);

/* ECE-sweep (Roelofs et al. 2022) of n rows in confidence order order[]:
 * row i stands for w[i] copies (w NULL: 1), kcor[i] of them correct (kcor
 * NULL: w[i]·correct[i]). Equal-mass bins over the copies (as ACE: the first
 * W mod b bins one larger; a bin edge may split a row's copies, each copy
 * carrying the row's mean); b grows from 1 while b + 1 bins still have
 * non-decreasing accuracies; returns the ECE over the last such b (in
 * *bins_out). work: 3(n + 1) doubles. NaN (and 0 bins) for no copies. */
double lsp_calib_sweep(size_t n, const size_t *order, const double *conf, const uint32_t *w,
                       const uint8_t *correct, const uint32_t *kcor, double *work,
                       int *bins_out);

/* The same for n rows of one copy each, from their prefix sums in
 * confidence order given as the bits of doubles: pk[s] correct rows and
 * pc[s] the confidence sum (added in that order) of the first s rows,
 * s = 0..n. Bit-identical to lsp_calib_sweep with w = kcor = NULL. */
double lsp_calib_sweep_unit(size_t n, const uint64_t *pk, const uint64_t *pc, int *bins_out);

/* ACE of the rows r, row i standing for w[i] copies (w NULL: 1 each) of
 * which kcor[i] are correct (kcor NULL: w[i]·correct[i]); per-bin count,
 * mean confidence and accuracy into the optional arrays. */
double lsp_calib_rows_ace(const lsp_calib_rows *r, const uint32_t *w, const uint32_t *kcor,
                          int bins, uint64_t *cnt_out, double *conf_out, double *acc_out);

/* Replace res->ci_lo/ci_hi of the inverted metrics (lsp_calib_ci_inverted)
 * by their test-inversion intervals (lsp_calib_ti.c); res from
 * lsp_calib_rows_score(r, o). */
int lsp_calib_ti_intervals(const lsp_calib_rows *r, const lsp_calib_opts *o,
                           const lsp_calib_boot *boot, lsp_calib_result *res);

/* The same for classwise_ece (lsp_calib_ti_cw.c): worlds that relabel the
 * full probability rows (DESIGN §2). Nothing for a table without them. */
int lsp_calib_ti_classwise(const lsp_calib_rows *r, const lsp_calib_opts *o,
                           const lsp_calib_boot *boot, lsp_calib_result *res);

/* The λ grid of the worlds (lsp_calib_ti.c); a scan stops once bracketed. */
#define LSP_CALIB_TI_NGRID 15
extern const double lsp_calib_ti_grid[LSP_CALIB_TI_NGRID];

/* The q quantile of sorted v[0..n-1] at rank (n + 1)q (Hyndman & Fan's
 * type 6, linear between order statistics): a new draw falls above the
 * 97.5% one with probability 2.5% for any n, where NumPy's default (type 7)
 * gives 3% at n = 200. */
double lsp_calib_ti_quantile(const double *v, size_t n, double q);

/* The inversion of one metric's scan: qlo[g·stride], qhi[g·stride] the
 * 2.5% and 97.5% quantiles of its draws at grid points g < ng, t the
 * observed value. λ_lo where the 97.5% quantile reaches t (0 if it does at
 * λ = 0), λ_hi where the 2.5% quantile does, linear between grid points.
 * Returns LSP_CALIB_TI_BRACKETED; LSP_CALIB_TI_OPEN when no grid world
 * rejects t from below (λ_hi = the last λ); LSP_CALIB_TI_ABOVE when even
 * the last world's 97.5% quantile is below t (λ_lo = λ_hi = the last λ,
 * the interval [its error, ∞)). λ_hi = 0 when even the calibrated world's
 * 2.5% quantile exceeds t. */
enum { LSP_CALIB_TI_BRACKETED = 0, LSP_CALIB_TI_OPEN, LSP_CALIB_TI_ABOVE };
int lsp_calib_ti_lambdas(const double *qlo, const double *qhi, size_t stride, int ng, double t,
                         double *lam_lo, double *lam_hi);

/* The interval from the worlds not rejected, λ between lam_lo and lam_hi
 * (how: lsp_calib_ti_lambdas' return): the smallest and the largest true
 * error truth(ctx, λ) at both ends and at every grid point between them;
 * hi = +∞ for LSP_CALIB_TI_ABOVE. For a truth that grows with λ this is
 * [truth(lam_lo), truth(lam_hi)] exactly; one that does not (the
 * classwise worlds' clipped, rescaled rows can lose error at large λ), or
 * ends interpolated out of order within one grid step, still give an
 * interval with lo <= hi that holds every such world's error. */
void lsp_calib_ti_hull(double (*truth)(void *ctx, double lam), void *ctx, double lam_lo,
                       double lam_hi, int how, double *lo, double *hi);

/* The per-row table (lsp_calib_rows.c); shared with the interval code. */
struct lsp_calib_rows {
  size_t n, k;      /* k = 0: built from confidences (top-label only) */
  int32_t *y;       /* [n] labels (NULL when k = 0)                  */
  double *conf;     /* [n] top-label confidence                      */
  uint8_t *correct; /* [n] 1 if argmax p = y                         */
  double *nll;      /* [n] -log p_y (+inf when p_y = 0)              */
  double *brier;    /* [n] Σ_k (p_k - 1[k=y])²                       */
  double *prob;     /* [n*k] probabilities                           */
  size_t *order;    /* [n] rows sorted by confidence (stable)        */
};

#endif
