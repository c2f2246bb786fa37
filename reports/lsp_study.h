/* lsp_study.h — the study's aggregation: from cell results only
 * (lsp_cell.h), the trend of every summary against ε (mean and seed
 * spread), and every smoothed ε compared with ε = 0 by a two-level paired
 * bootstrap (DESIGN §9.4):
 *
 *   for r = 1..R:  draw S seeds with replacement from the S seeds that have
 *                  both cells; for each drawn seed draw one example resample
 *                  b uniformly from the cells' B shared resamples (the same b,
 *                  hence the same example indices, for both arms);
 *                  Δ_r = mean over the drawn seeds of
 *                        stat(ε, seed)[b] − stat(0, seed)[b]
 *   the interval is the 2.5% and 97.5% percentile of the R values of Δ_r.
 *
 * The point Δ is mean(ε) − mean(0) over the same seeds, and those two means
 * are the values a finding quotes. The seeds "agree" when every per-seed
 * difference has the sign of Δ (a difference within rounding of 0 is a tie,
 * lsp_study_tied_diff, and a tie has no sign). R = LSP_STUDY_RESAMPLES, drawn from a GSL
 * mt19937 seeded from (LSP_STUDY_SEED, ε index, stat), so the intervals
 * depend on nothing but the cell results. */
#ifndef LSP_STUDY_H
#define LSP_STUDY_H

#include <stddef.h>

#include "reports/lsp_cell.h"

#define LSP_STUDY_RESAMPLES 4000
#define LSP_STUDY_SEED 0x57d1ull
#define LSP_STUDY_MIN_SEEDS 3        /* fewer: the interval says so          */
#define LSP_STUDY_EQ_MARGIN 0.02     /* equivalence margin of an attack AUC  */
#define LSP_STUDY_JUDGED_EPS 0.1     /* the ε a verdict rests on, if in grid */
#define LSP_STUDY_MAX_EPS 16
#define LSP_STUDY_TIE_REL 1e-12      /* |a − b| ≤ this·(|a| + |b|): a tie   */

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
  double diff, lo, hi;       /* Δ and its two-level bootstrap interval     */
  double per_seed[16];       /* per-seed differences, in seed order        */
  int agree;                 /* every per-seed difference has Δ's sign     */
  int few_seeds;             /* seeds < LSP_STUDY_MIN_SEEDS                */
  double *draws;             /* owned: the R values of Δ_r (for ratios)     */
} lsp_study_cmp;

typedef struct {
  size_t n_eps;                         /* the ε grid, in the order given */
  double eps[LSP_STUDY_MAX_EPS];
  size_t base;                          /* index of ε = 0 (n_eps: none)   */
  size_t judged;                        /* index the verdicts rest on     */
  lsp_study_trend trend[LSP_STUDY_MAX_EPS][LSP_CELL_NSTAT];
  lsp_study_cmp cmp[LSP_STUDY_MAX_EPS][LSP_CELL_NSTAT]; /* [base] unused  */
  size_t n_seeds, B, R;
} lsp_study;

/* Aggregate n cell results of one architecture. The grid is the cells'
 * distinct ε in first-seen order; a cell whose B differs from the first's
 * is refused (LSP_EINVAL). The bootstrap loop polls lsp_interrupted() and
 * stops with LSP_EINTR. On any error *out is left zeroed (nothing to free,
 * no partial result). */
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

/* Whether a ratio over den is defined: den's Δ interval excludes 0. When
 * it spans 0 some draws of den pass through 0 and the resampled ratios
 * through ±∞, so their percentiles need not even hold the point. */
int lsp_study_ratio_defined(const lsp_study_cmp *den);

/* The ratio of two comparisons' Δ (num/den) and its interval from the
 * paired draws (same r); all three NaN unless lsp_study_ratio_defined(den). */
void lsp_study_ratio(const lsp_study_cmp *num, const lsp_study_cmp *den, size_t R, double *ratio,
                     double *lo, double *hi);

#endif
