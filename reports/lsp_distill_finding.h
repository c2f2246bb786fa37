/* lsp_distill_finding.h — the verdict on "a smoothed teacher makes a worse
 * student" (Müller et al. 2019, §4), computed from the numbers of a run's
 * distillation section, never canned. Self-contained: it takes the numbers
 * below, not the run, so the rule can be tested on its own.
 *
 * The rule: the claim is about the student, so the verdict is decided by
 * the 95% interval of the accuracy difference between the best student
 * (temperature chosen on validation) distilled from the smoothed teacher and
 * the best student distilled from the unsmoothed teacher of the same seed,
 * on the same test examples, at the study's judged ε (lsp_study_judged_eps),
 * by the rules of the study's findings (DESIGN §9.3–9.4): the mean of the
 * per-seed differences ± √(h_seeds² + h_examples²), h_seeds the Student-t
 * half-width of their spread, h_examples the mean half-width of the
 * per-seed paired bootstrap intervals (each seed resamples the test set on
 * its own, so their mean bounds the example level of the mean difference);
 * supported when the interval lies below 0 and every seed's difference is
 * negative, contradicted when above 0 and every one positive, inconclusive
 * otherwise — always with one seed (the seed-to-seed spread is unknown),
 * and fewer than LSP_STUDY_MIN_SEEDS seeds are said. The evidence also quotes the
 * teachers' accuracy difference (the claim's premise is a teacher that is
 * as good or better), their information-erasure estimates and the
 * hard-label students. */
#ifndef LSP_DISTILL_FINDING_H
#define LSP_DISTILL_FINDING_H

#include <stddef.h>

#define LSP_DISTILL_MAX_SEEDS 16

typedef struct {
  double eps;          /* the smoothed teacher's ε                         */
  const char *student; /* the student architecture, e.g. "784-64-10"        */
  size_t nseeds;
  size_t resamples; /* bootstrap resamples behind the per-seed intervals */
  /* per seed: */
  double
      acc_s[LSP_DISTILL_MAX_SEEDS]; /* best student of the smoothed teacher   */
  double
      acc_p[LSP_DISTILL_MAX_SEEDS]; /* best student of the unsmoothed teacher */
  double t_s[LSP_DISTILL_MAX_SEEDS], t_p[LSP_DISTILL_MAX_SEEDS]; /* their T */
  double diff[LSP_DISTILL_MAX_SEEDS], lo[LSP_DISTILL_MAX_SEEDS],
      hi[LSP_DISTILL_MAX_SEEDS]; /* acc_s − acc_p, paired bootstrap 95%  */
  double teacher_diff[LSP_DISTILL_MAX_SEEDS], teacher_lo[LSP_DISTILL_MAX_SEEDS],
      teacher_hi[LSP_DISTILL_MAX_SEEDS]; /* teacher accuracy, smoothed − plain
                                          */
  double mi_s[LSP_DISTILL_MAX_SEEDS],
      mi_p[LSP_DISTILL_MAX_SEEDS]; /* teachers' Î */
  double mi_diff[LSP_DISTILL_MAX_SEEDS], mi_lo[LSP_DISTILL_MAX_SEEDS],
      mi_hi[LSP_DISTILL_MAX_SEEDS]; /* mi_s − mi_p, paired bootstrap over the
                                       probe's examples (NaN: none)     */
  double base_0[LSP_DISTILL_MAX_SEEDS]; /* student on hard labels, ε = 0 */
  double
      base_s[LSP_DISTILL_MAX_SEEDS]; /* student on hard labels, teacher's ε */
} lsp_distill_evidence;

typedef struct {
  int verdict;         /* LSP_FINDING_* (reports/lsp_html.h)              */
  double diff, lo, hi; /* the deciding difference and its interval (NaN:
                          one seed)                                       */
  double half_seed, half_ex; /* the two half-widths it combines           */
  int agree;           /* every per-seed difference has the sign of diff  */
  char claim[160];
  char evidence[1600];
} lsp_distill_verdict;

/* Fill *v from *e (nseeds >= 1; NaN intervals give "inconclusive"). */
void lsp_distill_finding(const lsp_distill_evidence *e, lsp_distill_verdict *v);

#endif
