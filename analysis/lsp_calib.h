/* lsp_calib.h — calibration of a classifier's probabilities (DESIGN §2).
 *
 * Top-label confidence c = max_k p_k, correct = 1[argmax p = y] (ties go to
 * the lowest index). Equal-width bins with edges `right` (((m-1)/M, m/M],
 * 0 in the first bin, Guo et al. 2017) or `left` ([a, b), 1.0 in the last
 * bin); the bin index is computed in double. Metrics: accuracy, NLL, Brier,
 * ECE, MCE, RMSCE, over-/under-confidence, ACE (equal-mass bins), classwise
 * ECE (Kull et al. 2019); per-bin count, mean confidence and accuracy.
 *
 * Three layers:
 *  - lsp_calib_acc: a streaming accumulator (constant memory) of every binned
 *    sum. All sums are integers (counts) or fixed-point integers (confidence,
 *    NLL, Brier, classwise probability sums in units of 2^-64), so adding,
 *    chunking, merging shards and threading are exactly associative: any
 *    split of the rows gives bit-identical metrics.
 *  - lsp_calib_rows: a per-row table (confidence, correctness, NLL, Brier,
 *    probabilities) that adds ACE, bootstrap intervals and paired bootstrap.
 *  - lsp_calib_temperature_fit / lsp_calib_evaluate: temperature scaling and
 *    a one-call before/after evaluation for `lsprobe eval`.
 * Inputs are row-major N×K matrices, float32 or (the `_f64` functions)
 * float64, and int32 labels. Float64 values stay in double all the way
 * through the binning: 0.2 is binned as 0.2, not as float32's 0.2000000030,
 * which lies in the next bin. Every probability a metric uses is the same
 * number: from logits, p_k = exp(w_k)/s with w_k = (z_k − max z)/T and
 * s = Σ exp(w_j), so the top class's p is exactly the top-label confidence
 * 1/s and tied classes (p = 1/K) share its bin. Every function returns an
 * lsp_status; the reason is in lsp_errmsg(). */
#ifndef LSP_CALIB_H
#define LSP_CALIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis/lsp_smece.h"
#include "core/formats/lsp_json.h"

typedef enum { LSP_CALIB_EDGES_RIGHT = 0, LSP_CALIB_EDGES_LEFT = 1 } lsp_calib_edges;
typedef enum { LSP_CALIB_BINNING_WIDTH = 0, LSP_CALIB_BINNING_MASS = 1 } lsp_calib_binning;

/* The metrics, in the order of every per-metric array below. */
enum {
  LSP_CALIB_ACCURACY = 0,
  LSP_CALIB_NLL,
  LSP_CALIB_BRIER,
  LSP_CALIB_ECE,
  LSP_CALIB_MCE,
  LSP_CALIB_RMSCE,
  LSP_CALIB_ACE,
  LSP_CALIB_CLASSWISE_ECE,
  LSP_CALIB_OVER_CONFIDENCE,
  LSP_CALIB_UNDER_CONFIDENCE,
  LSP_CALIB_ECE_DEBIASED,    /* ℓ1 normal-debiased binned ECE (Kumar et al. 2019) */
  LSP_CALIB_ECE_L2_DEBIASED, /* ℓ2 debiased binned ECE (Kumar et al. 2019)        */
  LSP_CALIB_ECE_SWEEP,       /* monotone equal-mass sweep (Roelofs et al. 2022)   */
  LSP_CALIB_SMECE,           /* SmoothECE (Błasiok & Nakkiran 2023)               */
  LSP_CALIB_SMECE_SIGMA,     /* its bandwidth σ* (or the σ asked for)             */
  LSP_CALIB_NMETRIC
};

/* The DESIGN §4 JSON name of metric `m` ("ece", ...); NULL if out of range. */
const char *lsp_calib_metric_name(int m);

/* The 95% interval of the calibration errors (lsp_calib_ci_inverted):
 *  - LSP_CALIB_CI_INVERSION (the default, 0): test inversion over a family
 *    of calibration "worlds" (DESIGN §2 "Intervals"): the plug-in and
 *    sweep estimators are biased upward, so their percentile intervals
 *    miss the true calibration error (docs/CALIBRATION_SIM.md);
 *  - LSP_CALIB_CI_PERCENTILE: the percentile bootstrap.
 * Every other metric always gets the percentile interval. */
typedef enum { LSP_CALIB_CI_INVERSION = 0, LSP_CALIB_CI_PERCENTILE = 1 } lsp_calib_ci;
const char *lsp_calib_ci_name(lsp_calib_ci c); /* "inversion", "percentile" */
int lsp_calib_ci_parse(const char *s, lsp_calib_ci *out);
/* 1 for the metrics whose interval follows lsp_calib_ci: ece, rmsce, ace,
 * ece_debiased, ece_l2_debiased, ece_sweep, smece, classwise_ece. */
int lsp_calib_ci_inverted(int m);

/* The logistic recalibration curve P(correct | c) = σ(a + b·logit c) of n
 * rows (confidence conf[i] in [0, 1], clamped to [1e-12, 1 − 1e-12];
 * correct[i] 0 or 1) by maximum likelihood (Newton's method from a = 0,
 * b = 1, the identity). The second family of SmoothECE's interval worlds
 * (DESIGN §2). Returns 1 and sets *a, *b when the fit exists; 0 when it
 * does not (separable or degenerate rows: a singular Hessian, |a| + |b|
 * beyond 100, or no convergence in 100 steps). */
int lsp_calib_logistic_fit(const double *conf, const uint8_t *correct, size_t n, double *a,
                           double *b);

/* Binning settings. `bins` >= 1 (default 15); `binning` chooses the bins
 * reported per bin (width: the ECE bins; mass: the ACE bins). */
typedef struct {
  int bins;
  lsp_calib_edges edges;
  lsp_calib_binning binning;
  double smece_sigma; /* 0: SmoothECE at its fixed point σ*; else at this σ
                         (in [LSP_SMECE_SIGMA_MIN, 1], lsp_smece.h)        */
} lsp_calib_opts;

/* Defaults: 15 bins, right edges, equal-width per-bin report, σ*. */
lsp_calib_opts lsp_calib_opts_default(void);
/* Parse "right"/"left" and "width"/"mass"; LSP_EINVAL with the choices. */
int lsp_calib_edges_parse(const char *s, lsp_calib_edges *out);
int lsp_calib_binning_parse(const char *s, lsp_calib_binning *out);
const char *lsp_calib_edges_name(lsp_calib_edges e);
const char *lsp_calib_binning_name(lsp_calib_binning b);

/* An edge is beside c when x = c·bins, rounded to a multiple of 2^-26 by
 * adding and subtracting 1.5·2^26 (exact for 0 <= x < 2^25), is an
 * integer n > 0 (at 0 both rules give bin 0): |x − n| <= 2^-27, at least
 * 8 times the product's rounding for bins up to 10^6 (x < 2^20, an ulp at
 * most 2^-32), so every c whose bin could differ from trunc(x)'s is
 * compared with the edge. The vectorized paths take the same test as the
 * low 26 bits of x + 1.5·2^26 being zero (which also holds at n = 0 and
 * changes no bin there; the path for probabilities, where zeros abound,
 * leaves them out). */
#define LSP_CALIB_NEAR_MAGIC 0x1.8p26
#define LSP_CALIB_NEAR_BITS ((1ll << 26) - 1)

/* The equal-width bin (0..bins-1) of a value c in [0, 1]. The edges are
 * the doubles nearest to m/bins (fl(m/bins), as a decimal such as 0.56 is
 * the double nearest to it): with right edges c = fl(m/bins) lies in the
 * lower bin, with left edges in the upper one; 0 and 1 are clamped into
 * the first and last bin. Away from an edge the bin is trunc(c·bins); beside
 * one (LSP_CALIB_NEAR_MAGIC), c is compared with the edge itself, since
 * c·bins rounds (0.56·100 is 56.000000000000007). For a float32 value
 * c·bins is exact and the bin is that of the exact product. */
static inline int lsp_calib_bin(double c, int bins, lsp_calib_edges edges) {
  const double x = c * (double)bins;
  const double n = (x + LSP_CALIB_NEAR_MAGIC) - LSP_CALIB_NEAR_MAGIC;
  int b;
  if (n > 0 && n == (double)(int64_t)n) { /* the edge fl(n/bins) is beside c */
    const double e = n / (double)bins;
    b = (int)n - (edges == LSP_CALIB_EDGES_RIGHT ? c <= e : c < e);
  } else {
    b = (int)x;
  }
  if (b < 0) b = 0;
  if (b >= bins) b = bins - 1;
  return b;
}

/* bin[l] = lsp_calib_bin(c[l]) for every lane l set in lanes (the lanes a
 * vectorized path found beside an edge); right: right-closed edges. */
static inline void lsp_calib_bin_lanes(const double *c, unsigned lanes, int bins, int right,
                                       int32_t *bin) {
  const lsp_calib_edges edges = right ? LSP_CALIB_EDGES_RIGHT : LSP_CALIB_EDGES_LEFT;
  for (; lanes; lanes &= lanes - 1u) {
    const int l = __builtin_ctz(lanes);
    bin[l] = lsp_calib_bin(c[l], bins, edges);
  }
}

/* A non-negative fixed-point sum, value = (hi·2^64 + lo)·2^-64. */
typedef struct {
  uint64_t lo, hi;
} lsp_calib_fix;

/* What an accumulator tracks: the top-label bins only (the fast path), or
 * also NLL, Brier and the classwise bins. */
enum { LSP_CALIB_TOP = 0, LSP_CALIB_FULL = 1 };

typedef struct {
  int bins;
  size_t k;              /* classes; 0 for confidence/correct input     */
  lsp_calib_edges edges;
  int what;              /* LSP_CALIB_TOP or LSP_CALIB_FULL              */
  uint64_t n;            /* rows added                                   */
  uint64_t n_correct;
  uint64_t n_nll_inf;    /* rows whose true-class probability is 0       */
  int overflow;          /* a fixed-point sum overflowed (absurd NLL)    */
  uint64_t *count;       /* [bins]   rows per top-label bin (owned)      */
  uint64_t *correct;     /* [bins]   correct rows per bin (owned)        */
  lsp_calib_fix *conf;   /* [bins]   confidence sum per bin (owned)      */
  lsp_calib_fix nll;     /* Σ -log p_y over finite rows                  */
  /* the terms of nll at or above 2^40 (logits far apart), summed exactly
   * by binary exponent: nll_big[b] holds Σ v·2^-(40+32b) over the terms v
   * in [2^(40+32b), 2^(72+32b)) (lsp_calib_impl.h, lsp_calib_nll_big_add) */
#define LSP_CALIB_NLL_BIG 31
  lsp_calib_fix nll_big[LSP_CALIB_NLL_BIG];
  lsp_calib_fix brier;   /* Σ_i Σ_k (p_ik - 1[k=y_i])²                   */
  uint64_t *cw_count;    /* [k*bins] classwise rows per (class, bin)     */
  uint64_t *cw_pos;      /* [k*bins] rows with y = class                 */
  lsp_calib_fix *cw_sum; /* [k*bins] Σ p_k                               */
  /* SmoothECE's mesh (LSP_CALIB_FULL only): each row's share s of its two
   * nodes (lsp_smece_node), summed per node as s, s·c and s·correct. */
  lsp_calib_fix *mesh_w; /* [LSP_SMECE_NODES] (owned)                    */
  lsp_calib_fix *mesh_c;
  lsp_calib_fix *mesh_y;
  double smece_sigma;    /* 0 (default): σ*; else smECE at this σ        */
  struct lsp_calib_ws *ws; /* the passes' workspace, kept between calls
                              (owned; lsp_calib_impl.h)                  */
} lsp_calib_acc;

/* Allocate an empty accumulator for `bins` (>= 1) bins, `k` classes (0 when
 * only lsp_calib_acc_add_conf will be used) and what = LSP_CALIB_TOP or
 * LSP_CALIB_FULL. Returns NULL and records why on a bad argument or no
 * memory. Free with lsp_calib_acc_free (NULL-safe). */
lsp_calib_acc *lsp_calib_acc_alloc(int bins, size_t k, lsp_calib_edges edges,
                                   int what);
void lsp_calib_acc_free(lsp_calib_acc *acc);
/* Forget every row added (keeps the settings). */
void lsp_calib_acc_reset(lsp_calib_acc *acc);

/* Add n rows of probabilities p (n×k float32, row-major, k == acc->k) with
 * labels y. Each entry must lie in [0, 1] (NaN fails) and each row sum to 1
 * within 1e-3; labels in [0, k). `row0` is the index of the first row in
 * the whole input, used only in error messages ("row 1234: ..."). Rows are
 * split over `threads` OpenMP threads (<= 1: serial); the result does not
 * depend on the split. LSP_EDATA names the first bad row; the accumulator
 * is then unchanged. */
int lsp_calib_acc_add_probs(lsp_calib_acc *acc, const float *p,
                            const int32_t *y, size_t n, size_t row0,
                            int threads);
/* The same from logits z (n×k float32, finite): softmax in double with the
 * row max subtracted, NLL from the log-softmax (never the log of a rounded
 * probability). The logits are multiplied by inv_t = 1/T (> 0; 1.0 for no
 * temperature). LSP_EINVAL for a bad inv_t. */
int lsp_calib_acc_add_logits(lsp_calib_acc *acc, const float *z,
                             const int32_t *y, size_t n, size_t row0,
                             double inv_t, int threads);
/* The same for float64 input (n×k doubles), kept in double throughout. The
 * fast float32 top-label kernel does not apply; results for float64 values
 * that are exactly floats equal those of the float32 functions. */
int lsp_calib_acc_add_probs_f64(lsp_calib_acc *acc, const double *p,
                                const int32_t *y, size_t n, size_t row0,
                                int threads);
int lsp_calib_acc_add_logits_f64(lsp_calib_acc *acc, const double *z,
                                 const int32_t *y, size_t n, size_t row0,
                                 double inv_t, int threads);
/* Top-label input given directly: confidence in [0, 1] and correct (0/1).
 * Only the top-label bins and accuracy are defined afterwards. */
int lsp_calib_acc_add_conf(lsp_calib_acc *acc, const double *conf,
                           const uint8_t *correct, size_t n, size_t row0);
/* dst += src. Both must have the same bins, k, edges and what (LSP_EINVAL). */
int lsp_calib_acc_merge(lsp_calib_acc *dst, const lsp_calib_acc *src);

/* The result of scoring one set of predictions. Metrics not computable from
 * the input (ACE from an accumulator, NLL from confidences) have has[m] = 0
 * and are left out of the JSON. */
typedef struct {
  size_t n, k;
  int bins;
  lsp_calib_edges edges;
  lsp_calib_binning binning;
  double value[LSP_CALIB_NMETRIC];
  int has[LSP_CALIB_NMETRIC];
  int nll_infinite;    /* a true-class probability was exactly 0: NLL = +inf */
  int has_ci;          /* ci_lo/ci_hi filled by a bootstrap                */
  int resamples;
  uint64_t seed;
  double ci_lo[LSP_CALIB_NMETRIC], ci_hi[LSP_CALIB_NMETRIC];
  double pct_lo[LSP_CALIB_NMETRIC], pct_hi[LSP_CALIB_NMETRIC]; /* percentile */
  double temperature;  /* the T applied to the logits (1 if none)          */
  uint64_t *bin_count; /* [bins] owned: rows per reported bin              */
  double *bin_conf;    /* [bins] owned: mean confidence (NaN when empty)   */
  double *bin_acc;     /* [bins] owned: accuracy (NaN when empty)          */
  int sweep_bins;      /* the bin count ECE-sweep chose (0: not computed)  */
  lsp_calib_ci ci;     /* the kind of ci_lo/ci_hi for the inverted metrics */
  int sigma_inverted;  /* smece_sigma (σ*) took smece's inverted interval  */
  /* The smoothed reliability curve (SmoothECE's kernel at σ = smece_sigma)
   * on t_q = q/(LSP_SMECE_CURVE_PTS − 1); NULL without the mesh. */
  double *smooth_acc;  /* [PTS] owned: estimate of E[correct | c = t]      */
  double *smooth_dens; /* [PTS] owned: kernel density of the confidences   */
  double *smooth_lo;   /* [PTS] owned: 95% bootstrap band (NaN without)    */
  double *smooth_hi;
} lsp_calib_result;

/* 1 if r's interval of metric m is a test inversion: an inverted metric
 * under LSP_CALIB_CI_INVERSION, and smece_sigma when it is σ* (a fitted
 * bandwidth, smece's number, given smece's interval; not --smece-sigma's). */
int lsp_calib_result_inverted(const lsp_calib_result *r, int m);

/* Compute the metrics from an accumulator into `res` (which it allocates the
 * per-bin arrays of; release with lsp_calib_result_release). LSP_EDATA when
 * no row was added. The per-bin report is the equal-width one. */
int lsp_calib_acc_finalize(const lsp_calib_acc *acc, lsp_calib_result *res);
void lsp_calib_result_release(lsp_calib_result *res);

/* ---- per-row table: ACE, bootstrap ------------------------------------ */

typedef struct lsp_calib_rows lsp_calib_rows;

/* Build the per-row table from probabilities (validated as in
 * lsp_calib_acc_add_probs) or logits (scaled by inv_t > 0). `path` names the
 * input in error messages (may be NULL). Memory: about (8k + 40) bytes per
 * row. Free with lsp_calib_rows_free (NULL-safe). */
int lsp_calib_rows_from_probs(const float *p, const int32_t *y, size_t n,
                              size_t k, const char *path, lsp_calib_rows **out);
int lsp_calib_rows_from_logits(const float *z, const int32_t *y, size_t n,
                               size_t k, double inv_t, const char *path,
                               lsp_calib_rows **out);
/* The same for float64 input, kept in double. */
int lsp_calib_rows_from_probs_f64(const double *p, const int32_t *y, size_t n,
                                  size_t k, const char *path,
                                  lsp_calib_rows **out);
int lsp_calib_rows_from_logits_f64(const double *z, const int32_t *y, size_t n,
                                   size_t k, double inv_t, const char *path,
                                   lsp_calib_rows **out);
/* A top-label table from confidences conf[i] in [0, 1] and correct[i] in
 * {0, 1} (for predictions scored elsewhere, and the simulation study):
 * the top-label metrics only (no NLL, Brier or classwise ECE). */
int lsp_calib_rows_from_conf(const double *conf, const uint8_t *correct, size_t n,
                             const char *path, lsp_calib_rows **out);
void lsp_calib_rows_free(lsp_calib_rows *r);
size_t lsp_calib_rows_count(const lsp_calib_rows *r);

/* Every metric (ACE included) of the table under `opts` into `res`
 * (release with lsp_calib_result_release). */
int lsp_calib_rows_score(const lsp_calib_rows *r, const lsp_calib_opts *opts,
                         lsp_calib_result *res);

/* The same result as lsp_calib_rows_from_* followed by lsp_calib_rows_score,
 * bit for bit, without building the table: one pass split over `threads`
 * keeps 9 bytes a row (confidence and correctness) besides the binned sums;
 * ACE's equal-mass bins and ECE-sweep's order come from one radix sort of
 * 8-byte keys (confidence bits and correctness; 16 bytes a row while it
 * runs) (lsp_calib_score.c)
 * — for predictions scored once; a
 * bootstrap needs the table. x: float32 (xf) or float64 (xd, when not
 * NULL), N×K logits scaled by inv_t (logits = 1) or probabilities. Errors
 * as the table's, with `path` (may be NULL) prefixed to data errors. */
int lsp_calib_score(const float *xf, const double *xd, const int32_t *y, size_t n, size_t k,
                    int logits, double inv_t, const lsp_calib_opts *opts, int threads,
                    const char *path, lsp_calib_result *res);

/* lsp_calib_score over rows that arrive in parts (a file read chunk by
 * chunk): alloc for n rows of k classes under opts (the checks of
 * lsp_calib_score), then add the rows in order, m at a time (rows
 * [added, added + m); errors as lsp_calib_score's, naming the global row;
 * after a failed add only free is left), then finish once, when all n are
 * added: the same result as lsp_calib_score on the whole matrix, bit for
 * bit. ordered = 0 keeps no per-row data and finishes without ACE and
 * ECE-sweep (what `calib --stream` reports); ordered = 1 keeps 9 bytes a
 * row. */
typedef struct lsp_calib_scorer lsp_calib_scorer;
int lsp_calib_scorer_alloc(size_t n, size_t k, const lsp_calib_opts *opts, int ordered,
                           lsp_calib_scorer **out);
int lsp_calib_scorer_add(lsp_calib_scorer *s, const float *xf, const double *xd,
                         const int32_t *y, size_t m, int logits, double inv_t, int threads);
int lsp_calib_scorer_finish(lsp_calib_scorer *s, lsp_calib_result *res);
void lsp_calib_scorer_free(lsp_calib_scorer *s); /* NULL-safe */

/* Bootstrap settings: `resamples` >= 1 (default 1000), the 95% level,
 * `seed`, `threads` (<= 1 serial) and the interval kind. Resample b draws
 * its N indices from its own GSL mt19937 seeded from (seed, b), so the
 * intervals are bit-identical for a seed whatever the thread count. */
typedef struct {
  int resamples;
  uint64_t seed;
  int threads;
  lsp_calib_ci ci;
} lsp_calib_boot;

/* Fill res->pct_lo/pct_hi (2.5% and 97.5% percentiles, linear
 * interpolation) for every metric res->has, by resampling rows with
 * replacement, and the band of the smoothed reliability curve; then
 * res->ci_lo/ci_hi: the percentile interval, or for the calibration errors
 * under LSP_CALIB_CI_INVERSION the test-inversion interval. res must come
 * from lsp_calib_rows_score on the same table and opts. */
int lsp_calib_bootstrap(const lsp_calib_rows *r, const lsp_calib_opts *opts,
                        const lsp_calib_boot *boot, lsp_calib_result *res);

/* Paired bootstrap of metric(a) - metric(b) for two models scored on the
 * same examples (same N and labels): the same resample indices for both.
 * diff[m] is the full-sample difference, lo[m]/hi[m] its 95% interval. */
int lsp_calib_paired_bootstrap(const lsp_calib_rows *a,
                               const lsp_calib_rows *b,
                               const lsp_calib_opts *opts,
                               const lsp_calib_boot *boot,
                               double diff[LSP_CALIB_NMETRIC],
                               double lo[LSP_CALIB_NMETRIC],
                               double hi[LSP_CALIB_NMETRIC]);

/* ---- temperature scaling ---------------------------------------------- */

/* T > 0 minimizing the mean NLL of softmax(z/T) on validation logits z (n×k)
 * and labels y: Brent's method (GSL) over log T, bracketed by a grid scan
 * over [log 1e-3, log 1e3] that extends, while the NLL still falls at an
 * end, as far as lsp_calib_temperature_range. LSP_EDATA when the NLL has no
 * interior minimum in that range (e.g. every validation prediction correct,
 * so T -> 0). */
int lsp_calib_temperature_fit(const float *z, const int32_t *y, size_t n,
                              size_t k, double *t_out);
/* The range of T the fit searches: [1e-3·min(1, s_lo), 1e3·max(1, s_hi)],
 * s_lo and s_hi the smallest positive and the largest spread
 * max_j z_ij − min_j z_ij of a row (temperature scaling is equivariant:
 * logits c·z have their minimum at c·T). */
void lsp_calib_temperature_range(const float *z, size_t n, size_t k, double *t_lo,
                                 double *t_hi);
/* The same for float64 validation logits. */
int lsp_calib_temperature_fit_f64(const double *z, const int32_t *y, size_t n,
                                  size_t k, double *t_out);

/* One call for `lsprobe eval`: score test logits (with the optional
 * bootstrap, boot may be NULL), and when validation logits are given
 * (val_z != NULL) fit T on them and score the test logits again at T.
 * `after` is filled only when fitted (after->temperature = T). */
int lsp_calib_evaluate(const float *test_z, const int32_t *test_y, size_t n,
                       size_t k, const float *val_z, const int32_t *val_y,
                       size_t n_val, const lsp_calib_opts *opts,
                       const lsp_calib_boot *boot, lsp_calib_result *before,
                       lsp_calib_result *after);

/* Write a result as members of the currently open JSON object (the caller
 * opens and closes it): n, k, num_bins, edges, binning, temperature, each
 * computed metric under its DESIGN §4 name (+inf NLL as null, with
 * "nll_infinite": true), "<metric>_ci": [lo, hi] when bootstrapped (with
 * bootstrap_resamples and bootstrap_seed), and "bins": [{count,
 * confidence, accuracy}] (null confidence/accuracy for an empty bin). */
void lsp_calib_result_json(const lsp_calib_result *res, lsp_json *j);

/* The two calibration objects of eval --json and the API's evaluate:
 * "calibration": {before}, and when after is not NULL
 * "calibration_temperature_scaled": {after}. */
void lsp_calib_pair_json(const lsp_calib_result *before,
                         const lsp_calib_result *after, lsp_json *j);

#endif
