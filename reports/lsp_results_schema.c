/* lsp_results_schema.c — the results.json contract and its validator (see
 * lsp_results_schema.h). */
#define _POSIX_C_SOURCE 200809L
#include "reports/lsp_results_schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

enum {
  OPT = LSP_RS_OPTIONAL, NUL = LSP_RS_NULLABLE, UNIT = LSP_RS_UNIT, NNEG = LSP_RS_NONNEG,
  POS = LSP_RS_POS, VERD = LSP_RS_VERDICT
};
#define F(id, in, key, type, flags, shape) [id] = {LSP_RS_##in, key, LSP_RS_##type, flags, LSP_RS_##shape}
#define V(id, in, key, type, flags) F(id, in, key, type, flags, ROOT)

static const lsp_rs_field k_fields[LSP_RF_COUNT] = {
    V(LSP_RF_VERSION, ROOT, "lsprobe_version", STR, 0),
    V(LSP_RF_GSL_VERSION, ROOT, "gsl_version", STR, 0),
    V(LSP_RF_STARTED, ROOT, "started", STR, 0),
    V(LSP_RF_COMMAND, ROOT, "command", STR, 0),
    V(LSP_RF_THREADS, ROOT, "threads", INT, 0),
    F(LSP_RF_CONFIG, ROOT, "config", OBJ, 0, CONFIG),
    V(LSP_RF_INTERVALS, ROOT, "intervals", STR, 0),
    F(LSP_RF_TIMINGS, ROOT, "timings", OBJ, 0, TIMINGS),
    F(LSP_RF_MODELS, ROOT, "models", OBJS, 0, MODEL),
    F(LSP_RF_COMPARISONS, ROOT, "comparisons", OBJS, 0, CMP),
    F(LSP_RF_FINDINGS, ROOT, "findings", OBJS, 0, FINDING),

    V(LSP_RF_CFG_DATA, CONFIG, "data", STR, 0),
    V(LSP_RF_CFG_DATA_SOURCE, CONFIG, "data_source", STR, 0),
    V(LSP_RF_CFG_SYNTHETIC, CONFIG, "synthetic", BOOL, 0),
    V(LSP_RF_CFG_SYNTHETIC_FALLBACK, CONFIG, "synthetic_fallback", BOOL, 0),
    V(LSP_RF_CFG_DATA_HASH, CONFIG, "data_hash", STR, 0),
    V(LSP_RF_CFG_N_TRAIN, CONFIG, "n_train", INT, POS),
    V(LSP_RF_CFG_N_VAL, CONFIG, "n_val", INT, NNEG),
    V(LSP_RF_CFG_N_TEST, CONFIG, "n_test", INT, POS),
    V(LSP_RF_CFG_DIM, CONFIG, "dim", INT, POS),
    V(LSP_RF_CFG_CLASSES, CONFIG, "classes", INT, POS),
    V(LSP_RF_CFG_SMOOTHING, CONFIG, "smoothing", NUMS, UNIT),
    V(LSP_RF_CFG_CONVENTION, CONFIG, "convention", STR, 0),
    V(LSP_RF_CFG_SEEDS, CONFIG, "seeds", NUMS, 0),
    V(LSP_RF_CFG_EPOCHS, CONFIG, "epochs", INT, NNEG),
    /* the MLP widths of runs before --arch; "arch" and "architecture"
     * (the canonical string, DESIGN §7.4) since */
    V(LSP_RF_CFG_HIDDEN, CONFIG, "hidden", NUMS, OPT),
    V(LSP_RF_CFG_ARCH, CONFIG, "arch", STR, OPT),
    V(LSP_RF_CFG_ARCHITECTURE, CONFIG, "architecture", STR, OPT),
    V(LSP_RF_CFG_NORMALIZE, CONFIG, "normalize", NUMS, OPT),
    V(LSP_RF_CFG_BATCH, CONFIG, "batch", INT, POS),
    V(LSP_RF_CFG_LR, CONFIG, "lr", NUM, NNEG),
    V(LSP_RF_CFG_MOMENTUM, CONFIG, "momentum", NUM, UNIT),
    V(LSP_RF_CFG_ATTACK_EPS, CONFIG, "attack_eps", NUMS, NNEG),
    V(LSP_RF_CFG_PGD_STEPS, CONFIG, "pgd_steps", INT, NNEG),
    V(LSP_RF_CFG_PGD_RESTARTS, CONFIG, "pgd_restarts", INT, NNEG),
    V(LSP_RF_CFG_N_ATTACK, CONFIG, "n_attack", INT, NNEG),
    V(LSP_RF_CFG_BINS, CONFIG, "bins", INT, POS),
    V(LSP_RF_CFG_BOOTSTRAP, CONFIG, "bootstrap", INT, NNEG),
    V(LSP_RF_CFG_FORMAT, CONFIG, "format", STR, 0),
    V(LSP_RF_CFG_QUICK, CONFIG, "quick", BOOL, 0),
    V(LSP_RF_CFG_N_AUTOATTACK, CONFIG, "n_autoattack", INT, OPT),
    V(LSP_RF_CFG_AA_BUDGET, CONFIG, "autoattack_budget_gflop", NUM, OPT),
    V(LSP_RF_CFG_AA_PREDICTED, CONFIG, "autoattack_predicted_gflop_per_example", NUM, OPT | NUL),

    V(LSP_RF_TIME_TOTAL, TIMINGS, "total_s", NUM, 0),
    V(LSP_RF_TIME_DATA, TIMINGS, "data_s", NUM, 0),
    V(LSP_RF_TIME_TRAIN, TIMINGS, "train_s", NUM, 0),
    V(LSP_RF_TIME_ANALYSIS, TIMINGS, "analysis_s", NUM, 0),
    V(LSP_RF_TIME_ATTACKS, TIMINGS, "attacks_s", NUM, 0),
    /* since the cells: their wall time and how many ran at once (the
     * phase times above are sums over cells) */
    V(LSP_RF_TIME_CELLS, TIMINGS, "cells_s", NUM, OPT),
    V(LSP_RF_TIME_JOBS, TIMINGS, "jobs", INT, OPT),

    V(LSP_RF_M_TAG, MODEL, "tag", STR, 0),
    V(LSP_RF_M_EPS, MODEL, "eps", NUM, UNIT),
    V(LSP_RF_M_CONVENTION, MODEL, "convention", STR, 0),
    V(LSP_RF_M_SEED, MODEL, "seed", INT, 0),
    V(LSP_RF_M_MODEL_FILE, MODEL, "model_file", STR, 0),
    V(LSP_RF_M_CACHED, MODEL, "cached", BOOL, 0),
    V(LSP_RF_M_TRAIN_SECONDS, MODEL, "train_seconds", NUM, NUL),
    F(LSP_RF_M_TRAINING, MODEL, "training", OBJ, 0, TRAINING),
    F(LSP_RF_M_CALIBRATION, MODEL, "calibration", OBJ, 0, CALIB),
    F(LSP_RF_M_CALIBRATION_T, MODEL, "calibration_temperature_scaled", OBJ, 0, CALIB),
    F(LSP_RF_M_CLUSTERS, MODEL, "clusters", OBJ, 0, CLUSTERS),
    F(LSP_RF_M_LOGIT_GAP, MODEL, "logit_gap", OBJ, 0, GAP),
    F(LSP_RF_M_PROJECTION, MODEL, "projection", OBJ, OPT, PROJECTION),
    F(LSP_RF_M_ATTACKS, MODEL, "attacks", OBJ, 0, ATTACKS),
    F(LSP_RF_M_MASKING, MODEL, "gradient_masking", OBJ, OPT, MASK),

    V(LSP_RF_TR_EPOCHS, TRAINING, "epochs", INT, 0),
    V(LSP_RF_TR_TRAIN_LOSS, TRAINING, "train_loss", NUMS, NUL),
    V(LSP_RF_TR_TRAIN_ACCURACY, TRAINING, "train_accuracy", NUMS, NUL),
    V(LSP_RF_TR_VAL_LOSS, TRAINING, "val_loss", NUMS, NUL),
    V(LSP_RF_TR_VAL_ACCURACY, TRAINING, "val_accuracy", NUMS, NUL),
    V(LSP_RF_TR_VAL_NLL, TRAINING, "val_nll", NUMS, OPT | NUL), /* optional: earlier runs have none */
    V(LSP_RF_TR_SECONDS, TRAINING, "seconds", NUM, NUL),
    V(LSP_RF_TR_SAMPLES_PER_S, TRAINING, "samples_per_s", NUM, NUL),

    V(LSP_RF_CAL_N, CALIB, "n", INT, NNEG),
    V(LSP_RF_CAL_K, CALIB, "k", INT, NNEG),
    V(LSP_RF_CAL_NUM_BINS, CALIB, "num_bins", INT, NNEG),
    V(LSP_RF_CAL_EDGES, CALIB, "edges", STR, 0),
    V(LSP_RF_CAL_BINNING, CALIB, "binning", STR, 0),
    V(LSP_RF_CAL_TEMPERATURE, CALIB, "temperature", NUM, NUL | NNEG),
    V(LSP_RF_CAL_ACCURACY, CALIB, "accuracy", NUM, NUL | UNIT),
    V(LSP_RF_CAL_ACCURACY_CI, CALIB, "accuracy_ci", CI, OPT | NUL | UNIT),
    V(LSP_RF_CAL_NLL, CALIB, "nll", NUM, NUL | NNEG),
    V(LSP_RF_CAL_NLL_CI, CALIB, "nll_ci", CI, OPT | NUL | NNEG),
    V(LSP_RF_CAL_BRIER, CALIB, "brier", NUM, OPT | NUL),
    V(LSP_RF_CAL_ECE, CALIB, "ece", NUM, NUL | UNIT),
    V(LSP_RF_CAL_ECE_CI, CALIB, "ece_ci", CI, OPT | NUL | UNIT),
    V(LSP_RF_CAL_MCE, CALIB, "mce", NUM, OPT | NUL | UNIT),
    V(LSP_RF_CAL_RMSCE, CALIB, "rmsce", NUM, OPT | NUL | UNIT),
    V(LSP_RF_CAL_ACE, CALIB, "ace", NUM, OPT | NUL | UNIT),
    V(LSP_RF_CAL_CLASSWISE_ECE, CALIB, "classwise_ece", NUM, OPT | NUL),
    V(LSP_RF_CAL_OVER_CONFIDENCE, CALIB, "over_confidence", NUM, OPT | NUL),
    V(LSP_RF_CAL_UNDER_CONFIDENCE, CALIB, "under_confidence", NUM, OPT | NUL),
    /* the estimators with less bias and the interval kind (optional: runs
     * before them lack them) */
    V(LSP_RF_CAL_ECE_DEBIASED, CALIB, "ece_debiased", NUM, OPT | NUL),
    V(LSP_RF_CAL_ECE_L2_DEBIASED, CALIB, "ece_l2_debiased", NUM, OPT | NUL),
    V(LSP_RF_CAL_ECE_SWEEP, CALIB, "ece_sweep", NUM, OPT | NUL),
    V(LSP_RF_CAL_SMECE, CALIB, "smece", NUM, OPT | NUL),
    V(LSP_RF_CAL_SMECE_SIGMA, CALIB, "smece_sigma", NUM, OPT | NUL),
    V(LSP_RF_CAL_SMECE_CI, CALIB, "smece_ci", CI, OPT | NUL),
    V(LSP_RF_CAL_ECE_SWEEP_BINS, CALIB, "ece_sweep_bins", INT, OPT),
    V(LSP_RF_CAL_CI_METHOD, CALIB, "ci_method", STR, OPT),
    F(LSP_RF_CAL_BINS, CALIB, "bins", OBJS, 0, BIN),
    V(LSP_RF_CAL_TEMPERATURE_FITTED, CALIB, "temperature_fitted", BOOL, OPT),
    V(LSP_RF_CAL_TEMPERATURE_NOTE, CALIB, "temperature_note", STR, OPT),

    V(LSP_RF_BIN_COUNT, BIN, "count", INT, NNEG),
    V(LSP_RF_BIN_CONFIDENCE, BIN, "confidence", NUM, NUL | UNIT),
    V(LSP_RF_BIN_ACCURACY, BIN, "accuracy", NUM, NUL | UNIT),

    V(LSP_RF_CL_R2_SEPARATION, CLUSTERS, "r2_separation", NUM, NUL),
    V(LSP_RF_CL_TRACE_RATIO, CLUSTERS, "trace_ratio", NUM, NUL),
    V(LSP_RF_CL_NC1, CLUSTERS, "nc1", NUM, NUL),

    V(LSP_RF_PROJ_CLASSES, PROJECTION, "classes", NUMS, 0),
    V(LSP_RF_PROJ_TEMPLATES, PROJECTION, "templates", ARR, 0),

    F(LSP_RF_ATT_FGSM, ATTACKS, "fgsm", OBJ, 0, ATTACK),
    F(LSP_RF_ATT_PGD, ATTACKS, "pgd", OBJ, 0, ATTACK),
    F(LSP_RF_ATT_TRANSFER, ATTACKS, "transfer", OBJ, OPT, ATTACK),
    F(LSP_RF_ATT_AUTOATTACK, ATTACKS, "autoattack", OBJ, OPT, ATTACK),
    V(LSP_RF_ATTACK_NAME, ATTACK, "attack", STR, 0),
    F(LSP_RF_ATTACK_POINTS, ATTACK, "points", OBJS, 0, POINT),
    V(LSP_RF_PT_EPS, POINT, "eps", NUM, NNEG),
    V(LSP_RF_PT_ACCURACY, POINT, "accuracy", NUM, NUL | UNIT),

    V(LSP_RF_CMP_MODEL, CMP, "model", STR, 0),
    V(LSP_RF_CMP_BASELINE, CMP, "baseline", STR, 0),
    F(LSP_RF_CMP_CALIBRATION_DIFF, CMP, "calibration_diff", OBJ, 0, CALDIFF),
    F(LSP_RF_CMP_CALIBRATION_T_DIFF, CMP, "calibration_temperature_scaled_diff", OBJ, 0, CALDIFF),
    F(LSP_RF_CMP_FGSM_DIFF, CMP, "fgsm_accuracy_diff", OBJS, 0, EPSDIFF),
    F(LSP_RF_CMP_PGD_DIFF, CMP, "pgd_accuracy_diff", OBJS, 0, EPSDIFF),
    F(LSP_RF_CMP_AA_DIFF, CMP, "autoattack_accuracy_diff", OBJS, OPT, EPSDIFF),
    V(LSP_RF_ED_EPS, EPSDIFF, "eps", NUM, 0),
    V(LSP_RF_ED_DIFF, EPSDIFF, "diff", NUM, NUL),
    V(LSP_RF_ED_CI, EPSDIFF, "ci", CI, NUL),

    V(LSP_RF_F_JUDGED_EPS, FINDING, "judged_eps", NUM, OPT | NUL),
    V(LSP_RF_F_TOPIC, FINDING, "topic", STR, 0),
    V(LSP_RF_F_CLAIM, FINDING, "claim", STR, 0),
    V(LSP_RF_F_VERDICT, FINDING, "verdict", STR, VERD),
    V(LSP_RF_F_EVIDENCE, FINDING, "evidence", STR, 0),

    F(LSP_RF_CPU, ROOT, "cpu", OBJ, OPT, CPU),
    V(LSP_RF_CPU_PATH, CPU, "path", STR, 0),
    V(LSP_RF_CPU_KERNELS, CPU, "kernels", STR, OPT),
    V(LSP_RF_CPU_BLAS_CORE, CPU, "blas_core", STR, 0),
    F(LSP_RF_ERASURE, ROOT, "information_erasure", OBJ, OPT, ERASURE),
    F(LSP_RF_DISTILLATION, ROOT, "distillation", OBJ, OPT, DISTILL),
    V(LSP_RF_M_MI, MODEL, "mutual_information", NUM, OPT | NUL),
    V(LSP_RF_ER_CLASSES, ERASURE, "classes", NUMS, 0),
    V(LSP_RF_ER_PAIR_CONFUSIONS, ERASURE, "pair_confusions", INT, 0),
    V(LSP_RF_ER_EXAMPLES, ERASURE, "examples_per_class", INT, 0),
    V(LSP_RF_ER_COPIES, ERASURE, "copies", INT, 0),
    V(LSP_RF_ER_MAX_SHIFT, ERASURE, "max_shift", INT, 0),
    V(LSP_RF_ER_NOISE_SD, ERASURE, "noise_sd", NUM, 0),
    V(LSP_RF_ER_SEED, ERASURE, "seed", INT, 0),
    V(LSP_RF_ER_SHIFTED, ERASURE, "shifted", BOOL, 0),
    V(LSP_RF_ER_BOUND, ERASURE, "bound", NUM, 0),
    V(LSP_RF_ER_NO_INFORMATION, ERASURE, "no_information_level", NUM, 0),
    V(LSP_RF_ER_NOTE, ERASURE, "note", STR, OPT),
    V(LSP_RF_DI_STUDENT_ARCH, DISTILL, "student_arch", STR, 0),
    V(LSP_RF_DI_ALPHA, DISTILL, "alpha", NUM, 0),
    V(LSP_RF_DI_TEMPERATURES, DISTILL, "temperatures", NUMS, 0),
    V(LSP_RF_DI_SECONDS, DISTILL, "seconds", NUM, NUL),
    F(LSP_RF_DI_STUDENTS, DISTILL, "students", OBJS, 0, STUDENT),
    F(LSP_RF_DI_TEACHERS, DISTILL, "teachers", OBJS, 0, DTEACHER),
    F(LSP_RF_DI_FINDING, DISTILL, "finding", OBJ, OPT, FINDING),
    V(LSP_RF_ST_TAG, STUDENT, "tag", STR, 0),
    V(LSP_RF_ST_KIND, STUDENT, "kind", STR, 0),
    V(LSP_RF_ST_TEACHER, STUDENT, "teacher", STR, OPT),
    V(LSP_RF_ST_TEACHER_EPS, STUDENT, "teacher_eps", NUM, NUL),
    V(LSP_RF_ST_TEMPERATURE, STUDENT, "temperature", NUM, NUL),
    V(LSP_RF_ST_EPS, STUDENT, "eps", NUM, 0),
    V(LSP_RF_ST_SEED, STUDENT, "seed", INT, 0),
    V(LSP_RF_ST_MODEL_FILE, STUDENT, "model_file", STR, 0),
    V(LSP_RF_ST_CACHED, STUDENT, "cached", BOOL, 0),
    V(LSP_RF_ST_VAL_ACCURACY, STUDENT, "val_accuracy", NUM, NUL),
    V(LSP_RF_ST_TEST_ACCURACY, STUDENT, "test_accuracy", NUM, NUL),
    V(LSP_RF_ST_ACCURACY_CI, STUDENT, "accuracy_ci", CI, NUL),
    V(LSP_RF_ST_MI, STUDENT, "mutual_information", NUM, NUL),
    V(LSP_RF_ST_TRAIN_SECONDS, STUDENT, "train_seconds", NUM, NUL),
    V(LSP_RF_DT_TEACHER, DTEACHER, "teacher", STR, 0),
    V(LSP_RF_DT_EPS, DTEACHER, "eps", NUM, 0),
    V(LSP_RF_DT_SEED, DTEACHER, "seed", INT, 0),
    V(LSP_RF_DT_TEMPERATURE, DTEACHER, "temperature", NUM, 0),
    V(LSP_RF_DT_STUDENT, DTEACHER, "student", STR, 0),
    V(LSP_RF_DT_STUDENT_ACCURACY, DTEACHER, "student_accuracy", NUM, NUL),
    V(LSP_RF_DT_STUDENT_ACCURACY_CI, DTEACHER, "student_accuracy_ci", CI, NUL),
    V(LSP_RF_DT_VAL_ACCURACY, DTEACHER, "val_accuracy", NUMS, NUL),
    V(LSP_RF_DT_TEST_ACCURACY, DTEACHER, "test_accuracy", NUMS, NUL),
    V(LSP_RF_DT_BASELINE_SAME, DTEACHER, "baseline_same_eps", STR, 0),
    V(LSP_RF_DT_BASELINE_ZERO, DTEACHER, "baseline_eps0", STR, OPT),
    F(LSP_RF_DT_STUDENT_DIFF, DTEACHER, "student_diff", OBJ, OPT, DIFF),
    F(LSP_RF_DT_TEACHER_DIFF, DTEACHER, "teacher_diff", OBJ, OPT, DIFF),
    V(LSP_RF_DF_DIFF, DIFF, "diff", NUM, NUL),
    V(LSP_RF_DF_CI, DIFF, "ci", CI, NUL),
    V(LSP_RF_M_MI_CI, MODEL, "mutual_information_ci", CI, OPT | NUL),
    V(LSP_RF_ST_MI_CI, STUDENT, "mutual_information_ci", CI, NUL),
    F(LSP_RF_DT_MI_DIFF, DTEACHER, "mi_diff", OBJ, OPT, DIFF),
    /* the study: optional, so results of earlier versions still read */
    F(LSP_RF_STUDY, ROOT, "study", OBJ, OPT, STUDY),
    V(LSP_RF_SY_SUMMARIES, STUDY, "summaries", ARR, 0),
    V(LSP_RF_SY_RESAMPLES, STUDY, "resamples", INT, OPT), /* earlier versions' bootstrap */
    V(LSP_RF_SY_EXAMPLE_RESAMPLES, STUDY, "example_resamples", INT, 0),
    V(LSP_RF_SY_MARGIN, STUDY, "equivalence_margin", NUM, 0),
    V(LSP_RF_SY_JUDGED_EPS, STUDY, "judged_eps", NUM, NUL),
    V(LSP_RF_SY_MIN_SEEDS, STUDY, "min_seeds", INT, 0),
    F(LSP_RF_SY_CELLS, STUDY, "cells", OBJS, 0, CELL),
    F(LSP_RF_SY_TRENDS, STUDY, "trends", OBJS, 0, TREND),
    F(LSP_RF_SY_COMPARISONS, STUDY, "comparisons", OBJS, 0, SCMP),
    V(LSP_RF_CE_EPS, CELL, "eps", NUM, 0),
    V(LSP_RF_CE_SEED, CELL, "seed", INT, 0),
    V(LSP_RF_CE_CACHED, CELL, "from_cache", BOOL, 0),
    V(LSP_RF_CE_VALUES, CELL, "values", NUMS, NUL),
    V(LSP_RF_CE_SECONDS, CELL, "seconds", NUMS, NUL),
    V(LSP_RF_CE_LO, CELL, "lo", NUMS, OPT | NUL),
    V(LSP_RF_CE_HI, CELL, "hi", NUMS, OPT | NUL),
    V(LSP_RF_TD_SUMMARY, TREND, "summary", STR, 0),
    V(LSP_RF_TD_EPS, TREND, "eps", NUM, 0),
    V(LSP_RF_TD_N, TREND, "n", INT, 0),
    V(LSP_RF_TD_MEAN, TREND, "mean", NUM, NUL),
    V(LSP_RF_TD_SD, TREND, "sd", NUM, NUL),
    V(LSP_RF_TD_MIN, TREND, "min", NUM, NUL),
    V(LSP_RF_TD_MAX, TREND, "max", NUM, NUL),
    V(LSP_RF_SC_SUMMARY, SCMP, "summary", STR, 0),
    V(LSP_RF_SC_EPS, SCMP, "eps", NUM, 0),
    V(LSP_RF_SC_SEEDS, SCMP, "seeds", INT, 0),
    V(LSP_RF_SC_MEAN, SCMP, "mean", NUM, NUL),
    V(LSP_RF_SC_MEAN_BASE, SCMP, "mean_base", NUM, NUL),
    V(LSP_RF_SC_DIFF, SCMP, "diff", NUM, NUL),
    V(LSP_RF_SC_CI, SCMP, "ci", CI, NUL),
    V(LSP_RF_SC_PER_SEED, SCMP, "per_seed", NUMS, NUL),
    V(LSP_RF_SC_AGREE, SCMP, "seeds_agree", BOOL, 0),
    V(LSP_RF_SC_FEW_SEEDS, SCMP, "few_seeds", BOOL, 0),
    V(LSP_RF_SC_VERDICT, SCMP, "verdict", STR, OPT | NUL | VERD),
    V(LSP_RF_SC_SD_SEED, SCMP, "sd_seed", NUM, OPT | NUL),
    V(LSP_RF_SC_HALF_SEED, SCMP, "half_seed", NUM, OPT | NUL),
    V(LSP_RF_SC_HALF_EXAMPLE, SCMP, "half_example", NUM, OPT | NUL),
};
#undef F
#undef V

const lsp_rs_field *lsp_results_field(lsp_rf f) {
  return (int)f >= 0 && f < LSP_RF_COUNT ? &k_fields[f] : NULL;
}

const char *lsp_results_key(lsp_rf f) {
  const lsp_rs_field *e = lsp_results_field(f);
  return e ? e->key : NULL;
}

/* ---- validation ---------------------------------------------------------- */

static int bad_item(const lsp_jsonr_doc *d, const char *where, const char *key, size_t i,
                    const char *want, const lsp_jsonr *v) {
  return lsp_fail(LSP_EDATA, "%s:%d:%d: field %s%s%s[%zu]: expected %s, found %s",
                  lsp_jsonr_source(d), v->line, v->col, where, where[0] ? "." : "", key, i, want,
                  lsp_jsonr_type_name(v->type));
}

static int check_shape(const lsp_jsonr_doc *d, const lsp_jsonr *obj, lsp_rs_shape shape,
                       const char *where);

/* A number outside its field's domain (LSP_RS_UNIT, _NONNEG, _POS): "a
 * number in [0, 1]" etc., or NULL when x is inside it (NaN: null, checked
 * by type alone). */
static const char *out_of_domain(unsigned flags, double x) {
  if (isnan(x)) return NULL;
  if ((flags & LSP_RS_UNIT) && !(x >= 0 && x <= 1)) return "a number in [0, 1]";
  if ((flags & LSP_RS_NONNEG) && !(x >= 0)) return "a number >= 0";
  if ((flags & LSP_RS_POS) && !(x > 0)) return "a number > 0";
  return NULL;
}

static int bad_domain(const lsp_jsonr_doc *d, const char *where, const char *key, long idx,
                      const char *want, const lsp_jsonr *v) {
  char at[32] = "", x[32];
  if (idx >= 0) snprintf(at, sizeof at, "[%ld]", idx);
  lsp_shortest_g(v->num, x, sizeof x);
  return lsp_fail(LSP_EDATA, "%s:%d:%d: field %s%s%s%s: expected %s, found %s",
                  lsp_jsonr_source(d), v->line, v->col, where, where[0] ? "." : "", key, at, want,
                  x);
}

static int is_verdict(const char *s) {
  return !strcmp(s, "supported") || !strcmp(s, "contradicted") || !strcmp(s, "inconclusive");
}

static int is_status(const char *s) {
  return !strcmp(s, "pass") || !strcmp(s, "flag") || !strcmp(s, "skipped");
}

static int check_field(const lsp_jsonr_doc *d, const lsp_jsonr *obj, const lsp_rs_field *f,
                       const char *where) {
  const lsp_jsonr *v = lsp_jsonr_get(obj, f->key);
  if (!v && (f->flags & LSP_RS_OPTIONAL)) return LSP_OK;
  const int nul = (f->flags & LSP_RS_NULLABLE) != 0;
  const char *dot = where[0] ? "." : "";
  char sub[1024];
  const lsp_jsonr *x;
  double num;
  const char *str, *want;
  int st;
  switch (f->type) {
    case LSP_RS_STR:
      if ((st = lsp_jsonr_need_str(d, obj, where, f->key, nul, &str))) return st;
      if ((f->flags & LSP_RS_VERDICT) && str && !is_verdict(str))
        return lsp_fail(LSP_EDATA, "%s:%d:%d: field %s%s%s: expected \"supported\", "
                                   "\"contradicted\" or \"inconclusive\", found \"%s\"",
                        lsp_jsonr_source(d), v->line, v->col, where, dot, f->key, str);
      if ((f->flags & LSP_RS_STATUS) && str && !is_status(str))
        return lsp_fail(LSP_EDATA, "%s:%d:%d: field %s%s%s: expected \"pass\", \"flag\" or "
                                   "\"skipped\", found \"%s\"",
                        lsp_jsonr_source(d), v->line, v->col, where, dot, f->key, str);
      return LSP_OK;
    case LSP_RS_NUMSTR:
      if (!v) return lsp_jsonr_need(d, obj, where, f->key, LSP_JSONR_STRING, &x); /* missing */
      if (v->type == LSP_JSONR_STRING || (nul && v->type == LSP_JSONR_NULL)) return LSP_OK;
      if (v->type != LSP_JSONR_NUMBER)
        return lsp_fail(LSP_EDATA, "%s:%d:%d: field %s%s%s: expected a number or a string, "
                                   "found %s",
                        lsp_jsonr_source(d), v->line, v->col, where, dot, f->key,
                        lsp_jsonr_type_name(v->type));
      if ((want = out_of_domain(f->flags, v->num))) return bad_domain(d, where, f->key, -1, want, v);
      return LSP_OK;
    case LSP_RS_NUM:
      if ((st = lsp_jsonr_need_num(d, obj, where, f->key, nul, &num))) return st;
      if ((want = out_of_domain(f->flags, num))) return bad_domain(d, where, f->key, -1, want, v);
      return LSP_OK;
    case LSP_RS_INT:
      if ((st = lsp_jsonr_need_num(d, obj, where, f->key, nul, &num))) return st;
      if (!isnan(num) && num != floor(num))
        return lsp_fail(LSP_EDATA, "%s:%d:%d: field %s%s%s: expected an integer, found %g",
                        lsp_jsonr_source(d), v->line, v->col, where, dot, f->key, num);
      if ((want = out_of_domain(f->flags, num))) return bad_domain(d, where, f->key, -1, want, v);
      return LSP_OK;
    case LSP_RS_BOOL:
      return lsp_jsonr_need(d, obj, where, f->key, LSP_JSONR_BOOL, &x);
    case LSP_RS_ARR:
      if (v && nul && v->type == LSP_JSONR_NULL) return LSP_OK;
      return lsp_jsonr_need(d, obj, where, f->key, LSP_JSONR_ARRAY, &x);
    case LSP_RS_NUMS:
      if ((st = lsp_jsonr_need(d, obj, where, f->key, LSP_JSONR_ARRAY, &x))) return st;
      for (size_t i = 0; i < x->len; i++) {
        lsp_jsonr_type t = x->items[i]->type;
        if (t != LSP_JSONR_NUMBER && !(nul && t == LSP_JSONR_NULL))
          return bad_item(d, where, f->key, i, "a number", x->items[i]);
        if (t == LSP_JSONR_NUMBER && (want = out_of_domain(f->flags, x->items[i]->num)))
          return bad_domain(d, where, f->key, (long)i, want, x->items[i]);
      }
      return LSP_OK;
    case LSP_RS_CI:
      if (v && nul && v->type == LSP_JSONR_NULL) return LSP_OK;
      if ((st = lsp_jsonr_need(d, obj, where, f->key, LSP_JSONR_ARRAY, &x))) return st;
      if (x->len != 2)
        return lsp_fail(LSP_EDATA, "%s:%d:%d: field %s%s%s: expected an array of 2 numbers, "
                                   "found %zu items",
                        lsp_jsonr_source(d), x->line, x->col, where, dot, f->key, x->len);
      for (size_t i = 0; i < 2; i++) {
        if (x->items[i]->type != LSP_JSONR_NUMBER && x->items[i]->type != LSP_JSONR_NULL)
          return bad_item(d, where, f->key, i, "a number", x->items[i]);
        if (x->items[i]->type == LSP_JSONR_NUMBER &&
            (want = out_of_domain(f->flags, x->items[i]->num)))
          return bad_domain(d, where, f->key, (long)i, want, x->items[i]);
      }
      if (x->items[0]->type == LSP_JSONR_NUMBER && x->items[1]->type == LSP_JSONR_NUMBER &&
          x->items[0]->num > x->items[1]->num) {
        char lo[32], hi[32];
        lsp_shortest_g(x->items[0]->num, lo, sizeof lo);
        lsp_shortest_g(x->items[1]->num, hi, sizeof hi);
        return lsp_fail(LSP_EDATA, "%s:%d:%d: field %s%s%s: expected [lo, hi] with lo <= hi, "
                                   "found [%s, %s]",
                        lsp_jsonr_source(d), x->line, x->col, where, dot, f->key, lo, hi);
      }
      return LSP_OK;
    case LSP_RS_OBJ:
      if ((st = lsp_jsonr_need(d, obj, where, f->key, LSP_JSONR_OBJECT, &x))) return st;
      snprintf(sub, sizeof sub, "%s%s%s", where, dot, f->key);
      return check_shape(d, x, f->shape, sub);
    case LSP_RS_OBJS:
      if ((st = lsp_jsonr_need(d, obj, where, f->key, LSP_JSONR_ARRAY, &x))) return st;
      for (size_t i = 0; i < x->len; i++) {
        if (x->items[i]->type != LSP_JSONR_OBJECT)
          return bad_item(d, where, f->key, i, "an object", x->items[i]);
        snprintf(sub, sizeof sub, "%s%s%s[%zu]", where, dot, f->key, i);
        if ((st = check_shape(d, x->items[i], f->shape, sub))) return st;
      }
      return LSP_OK;
  }
  return lsp_fail(LSP_EINVAL, "results schema: field %s has no type", f->key);
}

/* The members of one object of the given shape, in table order: the
 * fields with ids, then those of the second table. */
static int check_shape(const lsp_jsonr_doc *d, const lsp_jsonr *obj, lsp_rs_shape shape,
                       const char *where) {
  for (int i = 0; i < LSP_RF_COUNT; i++) {
    if (k_fields[i].in != shape) continue;
    int st = check_field(d, obj, &k_fields[i], where);
    if (st) return st;
  }
  for (size_t i = 0; i < lsp_results_nmembers; i++) {
    if (lsp_results_members[i].in != shape) continue;
    int st = check_field(d, obj, &lsp_results_members[i], where);
    if (st) return st;
  }
  return LSP_OK;
}

int lsp_results_validate(const lsp_jsonr_doc *d) {
  if (!d) return lsp_fail(LSP_EINVAL, "results schema: no document");
  const lsp_jsonr *root = lsp_jsonr_root(d);
  if (root->type != LSP_JSONR_OBJECT)
    return lsp_fail(LSP_EDATA, "%s: not an lsprobe results.json (the top level is %s, not an "
                               "object)", lsp_jsonr_source(d), lsp_jsonr_type_name(root->type));
  return check_shape(d, root, LSP_RS_ROOT, "");
}

int lsp_results_check_file(const char *path) {
  lsp_jsonr_doc *d = NULL;
  int st = lsp_jsonr_read_file(path, &d);
  if (!st) st = lsp_results_validate(d);
  lsp_jsonr_free(d);
  if (st != LSP_EDATA) return st;
  char why[1024];
  snprintf(why, sizeof why, "%s", lsp_errmsg());
  return lsp_fail(LSP_EDATA, "results.json as written breaks its own contract (DESIGN §4), "
                             "which compare checks; this is a defect of lsprobe, please report "
                             "it with the command: %s", why);
}
