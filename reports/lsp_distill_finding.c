/* lsp_distill_finding.c — the distillation verdict (lsp_distill_finding.h). */
#include "reports/lsp_distill_finding.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/lsp_boot.h"
#include "reports/lsp_html.h"

#define APPEND(...)                           \
  snprintf(v->evidence + strlen(v->evidence), \
           sizeof v->evidence - strlen(v->evidence), __VA_ARGS__)

/* Mean of the per-seed values, and with one seed that seed's interval,
 * with several the t interval of the seed spread. */
static void pooled(const double *x, const double *lo, const double *hi,
                   size_t m, double *d, double *l, double *h) {
  if (m == 1) {
    *d = x[0];
    *l = lo ? lo[0] : NAN;
    *h = hi ? hi[0] : NAN;
    return;
  }
  lsp_seed_interval(x, m, d, l, h);
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
  double d, lo, hi;
  pooled(e->diff, e->lo, e->hi, m, &d, &lo, &hi);
  v->diff = d;
  v->lo = lo;
  v->hi = hi;
  if (isnan(lo) || isnan(hi))
    v->verdict = LSP_FINDING_INCONCLUSIVE;
  else
    v->verdict = hi < 0   ? LSP_FINDING_SUPPORTED
                 : lo > 0 ? LSP_FINDING_CONTRADICTED
                          : LSP_FINDING_INCONCLUSIVE;
  double td, tlo, thi;
  pooled(e->teacher_diff, e->teacher_lo, e->teacher_hi, m, &td, &tlo, &thi);
  const char *how =
      m > 1 ? "mean over seeds, 95% t interval of the seed spread"
            : "paired bootstrap 95% interval over the test examples";
  APPEND(
      "Students (%s) distilled from the ε = %g teacher reach test accuracy "
      "%.4f vs %.4f "
      "from the ε = 0 teacher, Δ = %+.4f [%+.4f, %+.4f] (%s",
      e->student ? e->student : "student", e->eps, mean(e->acc_s, m),
      mean(e->acc_p, m), d, lo, hi, how);
  if (m == 1 && e->resamples) APPEND(", %zu resamples", e->resamples);
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
    APPEND(
        " The interval of the student difference contains 0: this run cannot "
        "tell.");
}
