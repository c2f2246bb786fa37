/* lsprobe/analysis.h — calibration, penultimate-layer clusters and the
 * logit gap of arrays from any framework (docs/DESIGN.md §2 has every
 * formula). Each returns a result (lsprobe/result.h) whose members are
 * those of the matching `lsprobe <command> --json`. Labels are N int32 class
 * indices. */
#ifndef LSPROBE_ANALYSIS_H
#define LSPROBE_ANALYSIS_H

#include <stdint.h>

#include "lsprobe/export.h"
#include "lsprobe/result.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Calibration of N×K predictions `pred` (float32 or float64; float64 is
 * kept in double throughout) with labels y: accuracy, nll, brier, ece, mce,
 * rmsce, ace, classwise_ece, over_confidence, under_confidence, temperature,
 * the per-bin table "bins" [{count, confidence, accuracy}], the rest of
 * `lsprobe calib --json` (ece_debiased, ece_l2_debiased, ece_sweep, smece,
 * ...), and with a bootstrap "<metric>_ci" [lo, hi] (below). When
 * validation logits `val` (M×K) and labels `val_y` are given (both or
 * neither), the temperature T minimizing their NLL is fitted and
 * "temperature_scaled" holds every metric of `pred` at T (as `lsprobe calib
 * --fit-temperature`).
 * Options (`lsprobe calib`):
 *   input      "logits" (default) or "probs" (rows in [0, 1] summing to 1
 *              within 1e-3; no temperature fit)
 *   bins       >= 1 (15); edges "right" (default) or "left";
 *   binning    "width" (default) or "mass" (the per-bin table's bins)
 *   bootstrap  resamples for 95% intervals (0: none); seed (1). As
 *              `lsprobe calib`'s default (--ci inversion): the calibration
 *              errors (ece rmsce ace classwise_ece ece_debiased
 *              ece_l2_debiased ece_sweep smece) by test inversion, their
 *              percentile intervals in "<metric>_ci_percentile", "ci_method"
 *              "inversion"; every other metric by the percentile bootstrap
 * Errors: LSP_EDATA naming the row for a label outside [0, K), a
 * non-finite value, probabilities given as logits (or rows that are not
 * probabilities with input "probs"); LSP_EINVAL for shapes that disagree
 * and bad options. */
LSP_API int lsp_calib_measure(const lsp_matrix *pred, const int32_t *y,
                              const lsp_matrix *val, const int32_t *val_y,
                              const lsp_opts *o, lsp_result **out);

/* Cluster geometry of N×H penultimate features (float32 or float64, read
 * as float32) with labels y (K = 1 + the largest label, at least 2):
 * r2_separation, trace_ratio, nc1 and the rest of `lsprobe clusters
 * --json` (per-class counts and tightness, class-mean distances: the ten
 * closest class pairs, and the K×K tables up to 100 classes, null beyond).
 * No options yet (pass NULL). */
LSP_API int lsp_clusters_measure(const lsp_matrix *features, const int32_t *y,
                                 const lsp_opts *o, lsp_result **out);

/* Logit gap z_y - mean_{j!=y} z_j and predictive entropy of N×K logits
 * (float32 or float64; computed in double from either) with labels y: "logit_gap" and
 * "entropy" summaries {mean median q05 q25 q75 q95 min max},
 * "entropy_max", and against the optimum of a smoothing setting
 * "optimal_gap" and "share_above_optimal" (null with "optimal_gap_note"
 * when the optimum is infinite). Options: smoothing (eps in [0, 1]; without
 * it no optimum), convention ("uniform" or "t2t"). */
LSP_API int lsp_logitgap_measure(const lsp_matrix *logits, const int32_t *y,
                                 const lsp_opts *o, lsp_result **out);

#ifdef __cplusplus
}
#endif

#endif
