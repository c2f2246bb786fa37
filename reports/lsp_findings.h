/* lsp_findings.h — what the measurements say about each claim made for
 * label smoothing, computed from the run's cell results only (lsp_study.h,
 * never canned text): accuracy, calibration, cluster tightness, FGSM, and
 * whether the FGSM gain survives stronger attacks. Each claim is judged on
 * a summary declared in DESIGN §9.2 before any data were looked at, at the
 * smoothed ε nearest LSP_STUDY_JUDGED_EPS (lsp_study_judged_eps), by the
 * interval of Δ = smoothed − unsmoothed of DESIGN §9.4, and is reported for
 * every smoothed ε. */
#ifndef LSP_FINDINGS_H
#define LSP_FINDINGS_H

#include "reports/lsp_html.h"
#include "reports/lsp_run_int.h"
#include "reports/lsp_study.h"

#define LSP_MAX_FINDINGS 8

typedef struct {
  size_t n;
  lsp_finding items[LSP_MAX_FINDINGS];
  char claim[LSP_MAX_FINDINGS][160];
  char evidence[LSP_MAX_FINDINGS][4096];
  const char *key[LSP_MAX_FINDINGS]; /* "accuracy", "calibration", ... */
  int has_study;                     /* the cells gave a study              */
  lsp_study study;                   /* owned (lsp_findings_release)        */
} lsp_findings;

/* Fill *f from the run's cell results. LSP_ENOMEM or a study error. */
int lsp_findings_compute(const lsp_run_state *s, lsp_findings *f);
void lsp_findings_release(lsp_findings *f);

/* The verdict of study comparison (eps index e, summary m) for the claim's
 * direction, as lsp_findings uses it (the json's per-ε verdicts). */
int lsp_findings_direction(int summary); /* +1, -1, 0: not a claim's summary */

/* Why a summary's comparison with ε = 0 is no effect of smoothing, so that
 * it carries no verdict (null in results.json, said in the study table);
 * NULL for a summary whose Δ is one. auc_transfer: at ε = 0 the transfer
 * attack is the model's own white-box PGD (DESIGN §9.2). */
const char *lsp_findings_no_verdict(int summary);

/* The verdict of "the FGSM gain does not survive stronger attacks" at one
 * ε (DESIGN §9.3): strong is the stronger attack's AUC comparison, fgsm the
 * FGSM one (the same ε and seeds), B the example resamples, fgsm_verdict
 * the FGSM claim's verdict there; *how says why (static text). */
int lsp_findings_no_gain(const lsp_study_cmp *strong, const lsp_study_cmp *fgsm, size_t B,
                         int fgsm_verdict, const char **how);

#endif
