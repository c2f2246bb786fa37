/* lsp_study.h — the study's aggregation: from cell results only
 * (lsp_cell.h), the trend of every summary against ε (mean and seed
 * spread), and every smoothed ε compared with ε = 0 (DESIGN §9.4):
 *
 *   Δ_k      = stat(ε, seed k) − stat(0, seed k), the per-seed differences
 *   Δ        = mean(ε) − mean(0) over the S seeds that have both cells
 *   D_b      = mean over the seeds of resample_b(ε, k) − resample_b(0, k),
 *              b = 1..B, the same b (the same examples) for every seed and arm
 *   h_seed   = t_{S−1, 0.975} · sd(Δ_k) / √S
 *   h_ex     = (q97.5(D_b) − q2.5(D_b)) / 2
 *   interval = Δ ± √(h_seed² + h_ex²)
 *
 * The verdicts rest on that interval (none with one seed: the seed-to-seed
 * spread is unknown). The seeds "agree" when every per-seed difference has
 * the sign of Δ (a difference within rounding of 0 is a tie,
 * lsp_study_tied_diff, and a tie has no sign). Seeds are taken in ascending
 * order and nothing is random, so the result depends only on the set of
 * cells, never on the order of the grid or of the seed list. */
#ifndef LSP_STUDY_H
#define LSP_STUDY_H

#include <stddef.h>

#include "reports/lsp_cell.h"

#define LSP_STUDY_MIN_SEEDS 5        /* fewer: the evidence says so          */
#define LSP_STUDY_EQ_MARGIN 0.02     /* equivalence margin of an attack AUC  */
#define LSP_STUDY_JUDGED_EPS 0.1     /* the ε a verdict rests on: nearest it */
#define LSP_STUDY_MAX_EPS 16
#define LSP_STUDY_TIE_REL 1e-12      /* |a − b| ≤ this·(|a| + |b|): a tie   */
#define LSP_STUDY_MAX_B 1000         /* example resamples per cell, at most  */

/* one summary at one ε, over the seeds */
typedef struct {
  double mean, sd, min, max; /* NaN when no seed measured it */
  size_t n;
} lsp_study_trend;

/* one summary at one smoothed ε against ε = 0 */
typedef struct {
  double eps;
  size_t seeds;              /* seeds with both cells                      */
  double mean_eps, mean_base;/* the aggregates the Δ comes from            */
  double diff, lo, hi;       /* Δ and the interval the verdict uses (NaN
                                with one seed)                             */
  double sd_seed;            /* sd of the per-seed differences (NaN: S < 2) */
  double half_seed, half_ex; /* the two half-widths the interval combines  */
  double per_seed[16];       /* per-seed differences, seeds ascending      */
  unsigned long seed[16];    /* the seed of each per_seed item; 0s when
                                the caller did not say (lsp_study_interval) */
  int agree;                 /* every per-seed difference has Δ's sign     */
  int few_seeds;             /* seeds < LSP_STUDY_MIN_SEEDS                */
  double *ex;                /* owned: the B values D_b (for contrasts)    */
} lsp_study_cmp;

typedef struct {
  size_t n_eps;                         /* the ε grid, in the order given */
  double eps[LSP_STUDY_MAX_EPS];
  size_t base;                          /* index of ε = 0 (n_eps: none)   */
  size_t judged;                        /* index the verdicts rest on     */
  lsp_study_trend trend[LSP_STUDY_MAX_EPS][LSP_CELL_NSTAT];
  lsp_study_cmp cmp[LSP_STUDY_MAX_EPS][LSP_CELL_NSTAT]; /* [base] unused  */
  size_t n_seeds, B;
} lsp_study;

/* Aggregate n cell results of one architecture. The grid is the cells'
 * distinct ε in first-seen order (the order of the tables; no number
 * depends on it); a cell whose B differs from the first's, or B above
 * LSP_STUDY_MAX_B, is refused (LSP_EINVAL). Each ε's comparison polls
 * lsp_interrupted() and stops with LSP_EINTR. On any error *out is left
 * zeroed (nothing to free, no partial result). */
int lsp_study_compute(const lsp_cell_result *cells, size_t n, lsp_study *out);
void lsp_study_free(lsp_study *s);

/* a − b, or exactly 0 when |a − b| ≤ LSP_STUDY_TIE_REL·(|a| + |b|): two
 * summaries equal in exact arithmetic (an AUC is a sum of multiples of 1/n)
 * can differ in the last bits, and that rounding must not give a sign. */
double lsp_study_tied_diff(double a, double b);

/* How the per-seed differences of c stand against Δ, in words: "agree"
 * (every one has Δ's sign), "tied" (they do not agree only because some
 * are exact ties, which have no sign: the others have Δ's sign) or
 * "disagree" (some have the other sign, or Δ is itself a tie). */
const char *lsp_study_agreement(const lsp_study_cmp *c);

/* The ε the verdicts are judged at, from the grid's n values (order
 * irrelevant): the smoothed ε (≠ 0) nearest LSP_STUDY_JUDGED_EPS by
 * |ε − 0.1| in double precision, the larger on an exact tie; NaN when
 * none is smoothed. */
double lsp_study_judged_eps(const double *eps, size_t n);

/* The seed level of an interval: t(S − 1, 0.975)·sd/√S of the S per-seed
 * differences d, the sd (n − 1 denominator) in *sd; NaN (both) for S < 2. */
double lsp_study_half_seed(const double *d, size_t S, double *sd);

/* The interval of a comparison from its parts: per-seed differences d
 * (S of them), the point Δ, and the B example-level values D_b (NaN ones
 * skipped). Sets c->diff, per_seed, seeds, agree, few_seeds, sd_seed,
 * half_seed, half_ex, lo and hi as lsp_study_compute does (B ≤
 * LSP_STUDY_MAX_B). With S < 2, a NaN Δ or no finite D_b: lo = hi = NaN. */
void lsp_study_interval(lsp_study_cmp *c, const double *d, size_t S, double diff, const double *ex,
                        size_t B);

/* The comparison of the contrast a·Δ_x + b·Δ_y of two comparisons at the
 * same ε (the same seeds): per seed, per example resample and in its point
 * the same combination, and its interval by lsp_study_interval. *out owns
 * nothing (ex NULL). */
void lsp_study_contrast(const lsp_study_cmp *x, double a, const lsp_study_cmp *y, double b,
                        size_t B, lsp_study_cmp *out);

/* Verdict of a directional claim on comparison c: direction +1 when
 * larger is better, -1 when smaller is. Supported / contradicted only when
 * the interval excludes 0 and the seeds agree in sign; else inconclusive.
 * Returns an LSP_FINDING_* value (lsp_html.h). */
int lsp_study_verdict(const lsp_study_cmp *c, int direction);

/* One cell's 95% interval of summary m: for the calibration errors
 * (lsp_cell_stat_inverted) the test inversion stored in the cell (NaN when
 * it has none: a cell of format 2; hi may be +∞), for every other summary
 * the 2.5% and 97.5% percentiles of its B example resamples (NaN when it
 * has none or the summary was not measured). */
void lsp_study_cell_interval(const lsp_cell_result *r, int m, double *lo, double *hi);

/* Whether a ratio over den is defined: den's Δ interval excludes 0 (not
 * with one seed). When it spans 0 the set of ratios below is unbounded. */
int lsp_study_ratio_defined(const lsp_study_cmp *den);

/* The ratio ρ = Δ_num / Δ_den and its interval by test inversion (Fieller):
 * the ρ whose contrast Δ_num − ρ·Δ_den has an interval
 * (lsp_study_contrast) holding 0, found by bisection to 1e-9 relative; an
 * end beyond 10^6 is ±∞. All three NaN unless lsp_study_ratio_defined(den). */
void lsp_study_ratio(const lsp_study_cmp *num, const lsp_study_cmp *den, size_t B, double *ratio,
                     double *lo, double *hi);

#endif
