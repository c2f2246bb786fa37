/* lsp_results_schema_members.c — the second part of the results.json table
 * (lsp_results_schema.h): the members the lower layers write under their own
 * literal keys and that reports/ neither writes nor reads by name, so they
 * need no lsp_rf id. lsp_results_validate checks them with the first part.
 *
 * Optional (LSP_RS_OPTIONAL): members a writer leaves out in some
 * configurations (a kind of attack, a targeted attack, no intervals) and
 * members added after the first format (unread_inputs, the checks' paired
 * evidence, smooth_curve, the clusters' closest pairs, the percentile
 * intervals), so files of earlier runs still read. */
#include "reports/lsp_results_schema.h"

enum {
  OPT = LSP_RS_OPTIONAL, NUL = LSP_RS_NULLABLE, UNIT = LSP_RS_UNIT, NNEG = LSP_RS_NONNEG,
  POS = LSP_RS_POS, STATUS = LSP_RS_STATUS
};
#define F(in, key, type, flags, shape) {LSP_RS_##in, key, LSP_RS_##type, flags, LSP_RS_##shape}
#define V(in, key, type, flags) F(in, key, type, flags, ROOT)
/* a calibration metric's bootstrap interval and its percentile interval
 * (lsp_calib_result_json: with intervals; _ci_percentile for the metrics
 * whose _ci is inverted) */
#define CIS(m, dom) V(CALIB, m "_ci", CI, OPT | NUL | (dom)), \
                    V(CALIB, m "_ci_percentile", CI, OPT | NUL | (dom))
#define PCT(m, dom) V(CALIB, m "_ci_percentile", CI, OPT | NUL | (dom))

const lsp_rs_field lsp_results_members[] = {
    /* models[].calibration and .calibration_temperature_scaled
     * (analysis/lsp_calib_metrics.c; the metric names are k_names) */
    PCT("accuracy", UNIT), PCT("nll", NNEG), CIS("brier", 0), PCT("ece", UNIT),
    CIS("mce", UNIT), CIS("rmsce", UNIT), CIS("ace", UNIT), CIS("classwise_ece", 0),
    CIS("over_confidence", 0), CIS("under_confidence", 0), CIS("ece_debiased", 0),
    CIS("ece_l2_debiased", 0), CIS("ece_sweep", 0), PCT("smece", 0), CIS("smece_sigma", 0),
    V(CALIB, "nll_infinite", BOOL, OPT),
    V(CALIB, "bootstrap_resamples", INT, OPT | NNEG),
    V(CALIB, "bootstrap_seed", INT, OPT),
    /* the smoothed reliability curve (analysis/lsp_calib_estim.c) */
    F(CALIB, "smooth_curve", OBJ, OPT, CURVE),
    V(CURVE, "sigma", NUM, NUL | NNEG),
    V(CURVE, "t", NUMS, UNIT),
    V(CURVE, "accuracy", NUMS, NUL | UNIT),
    V(CURVE, "density", NUMS, NUL | NNEG),
    V(CURVE, "lo", NUMS, NUL | UNIT),
    V(CURVE, "hi", NUMS, NUL | UNIT),

    /* comparisons[].calibration_diff and its temperature-scaled twin: per
     * metric {diff, ci} */
    F(CALDIFF, "accuracy", OBJ, OPT, DIFF), F(CALDIFF, "nll", OBJ, OPT, DIFF),
    F(CALDIFF, "brier", OBJ, OPT, DIFF), F(CALDIFF, "ece", OBJ, OPT, DIFF),
    F(CALDIFF, "mce", OBJ, OPT, DIFF), F(CALDIFF, "rmsce", OBJ, OPT, DIFF),
    F(CALDIFF, "ace", OBJ, OPT, DIFF), F(CALDIFF, "classwise_ece", OBJ, OPT, DIFF),
    F(CALDIFF, "over_confidence", OBJ, OPT, DIFF),
    F(CALDIFF, "under_confidence", OBJ, OPT, DIFF),
    F(CALDIFF, "ece_debiased", OBJ, OPT, DIFF), F(CALDIFF, "ece_l2_debiased", OBJ, OPT, DIFF),
    F(CALDIFF, "ece_sweep", OBJ, OPT, DIFF), F(CALDIFF, "smece", OBJ, OPT, DIFF),
    F(CALDIFF, "smece_sigma", OBJ, OPT, DIFF),

    /* models[].clusters (analysis/lsp_clusters_pairs.c) */
    V(CLUSTERS, "nc1_rank", INT, NNEG),
    V(CLUSTERS, "d_within", NUM, NUL | NNEG),
    V(CLUSTERS, "d_total", NUM, NUL | NNEG),
    V(CLUSTERS, "trace_within", NUM, NUL | NNEG),
    V(CLUSTERS, "trace_between", NUM, NUL | NNEG),
    V(CLUSTERS, "tightness_mean", NUM, NUL),
    V(CLUSTERS, "mean_distance_cv", NUM, NUL),
    V(CLUSTERS, "n", INT, NNEG),
    V(CLUSTERS, "h", INT, NNEG),
    V(CLUSTERS, "k", INT, NNEG),
    V(CLUSTERS, "n_used", INT, NNEG),
    V(CLUSTERS, "n_zero_rows", INT, NNEG),
    V(CLUSTERS, "k_used", INT, NNEG),
    V(CLUSTERS, "empty_classes", NUMS, NNEG),
    F(CLUSTERS, "classes", OBJS, 0, CLASS),
    F(CLUSTERS, "closest_pairs", OBJS, OPT, PAIR),
    V(CLUSTERS, "mean_distances", ARR, NUL),        /* null beyond the table's classes */
    V(CLUSTERS, "mean_cosine_distances", ARR, NUL),
    V(CLASS, "class", INT, NNEG),
    V(CLASS, "count", INT, NNEG),
    V(CLASS, "zero_rows", INT, NNEG),
    V(CLASS, "tightness", NUM, NUL),
    V(PAIR, "a", INT, NNEG),
    V(PAIR, "b", INT, NNEG),
    V(PAIR, "distance", NUM, NUL | NNEG),
    V(PAIR, "cosine_distance", NUM, NUL),

    /* models[].logit_gap (analysis/lsp_logitgeom.c): smoothing and
     * convention only with an optimal gap, the note when it is infinite */
    F(GAP, "logit_gap", OBJ, 0, SUMMARY),
    V(GAP, "optimal_gap", NUM, NUL),
    V(GAP, "optimal_gap_note", STR, OPT),
    V(GAP, "share_above_optimal", NUM, NUL | UNIT),
    V(GAP, "smoothing", NUM, OPT | UNIT),
    V(GAP, "convention", STR, OPT),
    F(GAP, "entropy", OBJ, 0, SUMMARY),
    V(GAP, "entropy_max", NUM, NUL | NNEG),
    V(GAP, "n", INT, NNEG),
    V(GAP, "k", INT, NNEG),
    V(SUMMARY, "mean", NUM, NUL), V(SUMMARY, "median", NUM, NUL),
    V(SUMMARY, "q05", NUM, NUL), V(SUMMARY, "q25", NUM, NUL),
    V(SUMMARY, "q75", NUM, NUL), V(SUMMARY, "q95", NUM, NUL),
    V(SUMMARY, "min", NUM, NUL), V(SUMMARY, "max", NUM, NUL),

    /* each attack (attacks/lsp_attack_report.c, lsp_attack_result_json):
     * target null (untargeted), a class or "least-likely"; the settings of
     * one kind of attack only; step_size a number or "2.5*eps/steps" */
    V(ATTACK, "loss", STR, 0),
    V(ATTACK, "loss_smoothing", NUM, OPT | UNIT),
    V(ATTACK, "loss_convention", STR, OPT),
    V(ATTACK, "target", NUMSTR, NUL),
    V(ATTACK, "transfer", BOOL, 0),
    V(ATTACK, "n", INT, NNEG),
    V(ATTACK, "classes", INT, NNEG),
    V(ATTACK, "unread_inputs", INT, OPT | NNEG),
    V(ATTACK, "lo", NUM, 0),
    V(ATTACK, "hi", NUM, 0),
    V(ATTACK, "steps", INT, OPT | NNEG),
    V(ATTACK, "step_size", NUMSTR, OPT | POS),
    V(ATTACK, "restarts", INT, OPT | NNEG),
    V(ATTACK, "early_exit", BOOL, OPT),
    V(ATTACK, "targets", INT, OPT | NNEG),
    V(ATTACK, "queries", INT, OPT | NNEG),
    V(ATTACK, "p_init", NUM, OPT),
    V(ATTACK, "shape", NUMS, OPT | NNEG),
    V(ATTACK, "seed", INT, OPT),
    V(ATTACK, "clean_accuracy", NUM, NUL | UNIT),
    V(ATTACK, "clean_target_rate", NUM, OPT | NUL | UNIT),
    V(ATTACK, "seconds", NUM, NNEG),
    V(ATTACK, "gflop", NUM, NNEG),
    /* ...points[]: AutoAttack's add stages (accuracy after each stage at
     * this eps), Square's and AutoAttack's the queries (mean and median
     * over the examples broken, null with none; the total spent) */
    V(POINT, "accuracy_raw", NUM, NUL | UNIT),
    V(POINT, "success_rate", NUM, NUL | UNIT),
    V(POINT, "mean_confidence", NUM, NUL | UNIT),
    V(POINT, "zero_grad_share", NUM, NUL | UNIT),
    V(POINT, "target_rate", NUM, OPT | NUL | UNIT),
    F(POINT, "stages", OBJ, OPT, STAGES),
    V(POINT, "queries_mean", NUM, OPT | NUL | NNEG),
    V(POINT, "queries_median", NUM, OPT | NUL | NNEG),
    V(POINT, "queries", NUM, OPT | NUL | NNEG),
    V(STAGES, "apgd-ce", NUM, NUL | UNIT),
    V(STAGES, "apgd-t", NUM, NUL | UNIT),
    V(STAGES, "square", NUM, NUL | UNIT),

    /* models[].gradient_masking (lsp_attack_checklist_json): b, c and
     * p_value are null on a check without paired evidence */
    V(MASK, "flags", INT, NNEG),
    F(MASK, "checks", OBJS, 0, CHECK),
    V(CHECK, "name", STR, 0),
    V(CHECK, "status", STR, STATUS),
    V(CHECK, "eps", NUM, NUL | NNEG),
    V(CHECK, "value", NUM, NUL),
    V(CHECK, "reference", NUM, NUL),
    V(CHECK, "b", INT, OPT | NUL | NNEG),
    V(CHECK, "c", INT, OPT | NUL | NNEG),
    V(CHECK, "p_value", NUM, OPT | NUL | UNIT),
    V(CHECK, "detail", STR, 0),
};
#undef F
#undef V
#undef CIS
#undef PCT

const size_t lsp_results_nmembers = sizeof lsp_results_members / sizeof lsp_results_members[0];
