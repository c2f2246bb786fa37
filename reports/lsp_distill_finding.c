/* lsp_distill_finding.c — the distillation verdict (lsp_distill_finding.h). */
#include "reports/lsp_distill_finding.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reports/lsp_html.h"
#include "reports/lsp_study.h"

#define APPEND(...)                           \
  snprintf(v->evidence + strlen(v->evidence), \
           sizeof v->evidence - strlen(v->evidence), __VA_ARGS__)

/* Mean of the per-seed values, and with one seed that seed's interval,
 * with several the verdict's rule (DESIGN §9.4): the mean ± √(h_seeds² +
 * h_examples²), h_examples the mean half-width of the per-seed intervals
 * (NaN when a seed has none). */
static void pooled(const double *x, const double *lo, const double *hi,
                   size_t m, double *d, double *l, double *h) {
  if (m == 1) {
    *d = x[0];
    *l = lo ? lo[0] : NAN;
    *h = hi ? hi[0] : NAN;
    return;
  }
  double s = 0, hx = 0, sd;
  for (size_t i = 0; i < m; i++) {
    s += x[i];
    hx += lo && hi ? (hi[i] - lo[i]) / 2 : NAN;
  }
  *d = s / (double)m;
  const double hs = lsp_study_half_seed(x, m, &sd), he = hx / (double)m,
               w = sqrt(hs * hs + he * he);
  *l = *d - w; /* NaN when a seed has no interval */
  *h = *d + w;
}

static double mean(const double *x, size_t m) {
  double s = 0;
  for (size_t i = 0; i < m; i++) s += x[i];
  return s / (double)m;
}

void lsp_distill_finding(const lsp_distill_evidence *e,
                         lsp_distill_verdict *v) {
  memset(v, 0, sizeof *v);
  size_t m = e->nseeds < 1                       ? 1
             : e->nseeds > LSP_DISTILL_MAX_SEEDS ? LSP_DISTILL_MAX_SEEDS
                                                 : e->nseeds;
  snprintf(v->claim, sizeof v->claim,
           "A teacher trained with label smoothing makes a worse student (ε = "
           "%g vs 0)",
           e->eps);
  /* the deciding interval: the study's rule (DESIGN §9.4) */
  double d = mean(e->diff, m), hx = 0, sd;
  size_t pos = 0, neg = 0, nx = 0;
  for (size_t i = 0; i < m; i++) {
    pos += e->diff[i] > 0;
    neg += e->diff[i] < 0;
    if (!isnan(e->lo[i]) && !isnan(e->hi[i])) {
      hx += (e->hi[i] - e->lo[i]) / 2;
      nx++;
    }
  }
  v->diff = d;
  v->agree = (d > 0 && pos == m) || (d < 0 && neg == m);
  v->half_ex = nx == m ? hx / (double)m : NAN;
  v->half_seed = lsp_study_half_seed(e->diff, m, &sd);
  const double h = sqrt(v->half_seed * v->half_seed + v->half_ex * v->half_ex);
  v->lo = d - h; /* NaN with one seed or a missing per-seed interval */
  v->hi = d + h;
  if (isnan(h) || !v->agree)
    v->verdict = LSP_FINDING_INCONCLUSIVE;
  else
    v->verdict = v->hi < 0   ? LSP_FINDING_SUPPORTED
                 : v->lo > 0 ? LSP_FINDING_CONTRADICTED
                             : LSP_FINDING_INCONCLUSIVE;
  const double lo = v->lo, hi = v->hi;
  double td, tlo, thi;
  pooled(e->teacher_diff, e->teacher_lo, e->teacher_hi, m, &td, &tlo, &thi);
  APPEND("Students (%s) distilled from the ε = %g teacher reach test accuracy %.4f vs %.4f "
         "from the ε = 0 teacher (means over %zu seed%s), Δ = %+.4f",
         e->student ? e->student : "student", e->eps, mean(e->acc_s, m), mean(e->acc_p, m), m,
         m == 1 ? "" : "s", d);
  if (m == 1)
    APPEND(" (no interval, one seed: the seed-to-seed spread is unknown; the paired bootstrap "
           "over the test examples alone gives [%+.4f, %+.4f]",
           e->lo[0], e->hi[0]);
  else if (isnan(lo))
    APPEND(" (no interval: a seed has no paired bootstrap interval");
  else
    APPEND(" [%+.4f, %+.4f] (mean over seeds ± √(h_seeds² + h_examples²), the t half-width of "
           "the seed spread ±%.4f and the mean per-seed paired bootstrap half-width ±%.4f",
           lo, hi, v->half_seed, v->half_ex);
  if (m == 1 && e->resamples) APPEND(", %zu resamples", e->resamples);
  if (m > 1) {
    APPEND("; per seed");
    for (size_t i = 0; i < m; i++) APPEND("%s %+.4f", i ? "," : "", e->diff[i]);
    APPEND(v->agree ? ", the seeds agree in sign" : ", the seeds DO NOT agree in sign");
  }
  if (m > 1 && m < LSP_STUDY_MIN_SEEDS)
    APPEND("; only %zu seeds: the seed level is a t interval on %zu degrees of freedom, wide and "
           "resting on seed effects near normal; run at least %d seeds",
           m, m - 1, LSP_STUDY_MIN_SEEDS);
  APPEND("); temperature chosen on validation: T = ");
  for (size_t i = 0; i < m; i++) APPEND("%s%g", i ? "/" : "", e->t_s[i]);
  APPEND(" for the smoothed teacher, T = ");
  for (size_t i = 0; i < m; i++) APPEND("%s%g", i ? "/" : "", e->t_p[i]);
  APPEND(" for the unsmoothed one. ");
  const char *tword = isnan(tlo) || isnan(thi) ? "differs by"
                      : tlo > 0                ? "is more accurate by"
                      : thi < 0                ? "is less accurate by"
                                               : "is about as accurate, Δ";
  APPEND("The smoothed teacher itself %s %+.4f [%+.4f, %+.4f]. ", tword, td,
         tlo, thi);
  double md, mlo, mhi;
  pooled(e->mi_diff, e->mi_lo, e->mi_hi, m, &md, &mlo, &mhi);
  APPEND(
      "Information erasure (teachers' Î(X; z_a − z_b)): %.3f nats with "
      "smoothing vs %.3f "
      "without, Δ = %+.3f [%+.3f, %+.3f]%s. ",
      mean(e->mi_s, m), mean(e->mi_p, m), md, mlo, mhi,
      isnan(mlo) || isnan(mhi) ? ""
      : mhi < 0
          ? ": the smoothed teacher's logits keep less about single examples"
      : mlo > 0
          ? ": the smoothed teacher's logits keep more about single examples"
          : ": no clear difference");
  APPEND("Hard-label students: %.4f (ε = 0), %.4f (ε = %g).",
         mean(e->base_0, m), mean(e->base_s, m), e->eps);
  if (v->verdict == LSP_FINDING_INCONCLUSIVE)
    APPEND(" %s: this run cannot tell.",
           m == 1       ? "One seed"
           : isnan(lo)  ? "No interval of the student difference"
           : !v->agree  ? "The seeds do not agree in sign"
                        : "The interval of the student difference contains 0");
}
