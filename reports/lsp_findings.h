/* lsp_findings.h — what the measurements say about each claim made for
 * label smoothing, computed from the numbers of a run (never canned text):
 * accuracy, calibration, cluster tightness, FGSM, and PGD/transfer. Each
 * finding has a verdict decided by the 95% interval of the paired
 * difference (smoothed minus unsmoothed, same seed, same test examples). */
#ifndef LSP_FINDINGS_H
#define LSP_FINDINGS_H

#include "reports/lsp_html.h"
#include "reports/lsp_run_int.h"

#define LSP_MAX_FINDINGS 8

typedef struct {
  size_t n;
  lsp_finding items[LSP_MAX_FINDINGS];
  char claim[LSP_MAX_FINDINGS][160];
  char evidence[LSP_MAX_FINDINGS][1400];
  const char *key[LSP_MAX_FINDINGS]; /* "accuracy", "calibration", ... */
} lsp_findings;

/* Fill *f from the run's comparisons (the first comparison of each seed;
 * with several seeds, the per-seed differences are averaged and the
 * interval is the seed spread). */
void lsp_findings_compute(const lsp_run_state *s, lsp_findings *f);

/* The attack eps the findings quote: where the unsmoothed model's FGSM
 * accuracy first falls below half its clean accuracy (else the largest). */
size_t lsp_findings_ref_eps(const lsp_run_state *s, const lsp_run_model *base);

#endif
