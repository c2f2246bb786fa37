/* lsp_results_schema.h — the JSON contract of results.json (DESIGN §4) as
 * one table: every field's name, where it sits, its type, and whether it
 * may be missing or null.
 *
 * The writer (lsp_report_json.c) takes every key it writes from this table
 * (lsp_results_key), and `lsprobe compare` validates each input against it
 * (lsp_results_validate) before reading the fields by the same names, so a
 * field renamed here is renamed for both. Members that lower layers write
 * (calibration, clusters, logit_gap, attacks, the masking checklist:
 * lsp_calib_result_json and friends) are listed too, those reports/ never
 * names in a second part without ids (lsp_results_members), so the table
 * describes every member a run writes; tests/test_results_schema.c writes a
 * results.json, validates it and reads it back through compare's reader.
 *
 * Objects are described by shapes: `calibration` and
 * `calibration_temperature_scaled` share one, as do the attacks.
 * Members not in the table are allowed (a newer writer may add fields; a
 * field added later should be LSP_RS_OPTIONAL so older files still read). */
#ifndef LSP_RESULTS_SCHEMA_H
#define LSP_RESULTS_SCHEMA_H

#include "core/formats/lsp_jsonr.h"

typedef enum {
  LSP_RS_STR,  /* string                                                   */
  LSP_RS_NUM,  /* number                                                   */
  LSP_RS_INT,  /* number with an integer value                             */
  LSP_RS_BOOL, /* true / false                                             */
  LSP_RS_NUMS, /* array of numbers                                         */
  LSP_RS_CI,   /* [lo, hi]: two numbers, null for a bound that is not finite */
  LSP_RS_NUMSTR, /* a number or a string (an attack's step_size, target)    */
  LSP_RS_ARR,  /* any array                                                */
  LSP_RS_OBJ,  /* object whose members follow `shape`                      */
  LSP_RS_OBJS  /* array of objects following `shape`                       */
} lsp_rs_type;

enum {
  LSP_RS_OPTIONAL = 1, /* may be missing                                   */
  LSP_RS_NULLABLE = 2, /* may be null (a NaN or ±Inf); for NUMS: its items */
                       /* (CI, ARR, NUMSTR: the whole value)              */
  /* the domain of a number (NUM, INT; for NUMS and CI: every item): */
  LSP_RS_UNIT = 4,     /* in [0, 1] (a share, a probability, ECE)          */
  LSP_RS_NONNEG = 8,   /* >= 0 (a count, a size, a loss)                   */
  LSP_RS_POS = 16,     /* > 0                                              */
  LSP_RS_VERDICT = 32, /* STR: "supported", "contradicted" or "inconclusive" */
  LSP_RS_STATUS = 64   /* STR: a masking check's "pass", "flag" or "skipped" */
};

typedef enum {
  LSP_RS_ROOT, LSP_RS_CONFIG, LSP_RS_TIMINGS, LSP_RS_MODEL, LSP_RS_TRAINING,
  LSP_RS_CALIB, LSP_RS_BIN, LSP_RS_CLUSTERS, LSP_RS_GAP, LSP_RS_PROJECTION,
  LSP_RS_ATTACKS, LSP_RS_ATTACK, LSP_RS_POINT, LSP_RS_MASK, LSP_RS_CMP,
  LSP_RS_CALDIFF, LSP_RS_EPSDIFF, LSP_RS_FINDING, LSP_RS_CPU, LSP_RS_ERASURE, LSP_RS_DISTILL,
  LSP_RS_STUDENT, LSP_RS_DTEACHER, LSP_RS_DIFF, LSP_RS_STUDY, LSP_RS_TREND, LSP_RS_SCMP,
  LSP_RS_CELL, LSP_RS_STAGES, LSP_RS_CHECK, LSP_RS_SUMMARY, LSP_RS_CURVE, LSP_RS_CLASS,
  LSP_RS_PAIR, LSP_RS_NSHAPES
} lsp_rs_shape;

typedef struct {
  lsp_rs_shape in;    /* the object shape this field is a member of     */
  const char *key;
  lsp_rs_type type;
  unsigned flags;     /* LSP_RS_OPTIONAL | LSP_RS_NULLABLE | a domain    */
  lsp_rs_shape shape; /* LSP_RS_OBJ / LSP_RS_OBJS: the members' shape   */
} lsp_rs_field;

/* Every field, named LSP_RF_<SHAPE>_<KEY>. */
typedef enum {
  /* the top level */
  LSP_RF_VERSION, LSP_RF_GSL_VERSION, LSP_RF_STARTED, LSP_RF_COMMAND, LSP_RF_THREADS,
  LSP_RF_CONFIG, LSP_RF_INTERVALS, LSP_RF_TIMINGS, LSP_RF_MODELS, LSP_RF_COMPARISONS,
  LSP_RF_FINDINGS,
  /* config */
  LSP_RF_CFG_DATA, LSP_RF_CFG_DATA_SOURCE, LSP_RF_CFG_SYNTHETIC, LSP_RF_CFG_SYNTHETIC_FALLBACK,
  LSP_RF_CFG_DATA_HASH, LSP_RF_CFG_N_TRAIN, LSP_RF_CFG_N_VAL, LSP_RF_CFG_N_TEST, LSP_RF_CFG_DIM,
  LSP_RF_CFG_CLASSES, LSP_RF_CFG_SMOOTHING, LSP_RF_CFG_CONVENTION, LSP_RF_CFG_SEEDS,
  LSP_RF_CFG_EPOCHS, LSP_RF_CFG_HIDDEN, LSP_RF_CFG_ARCH, LSP_RF_CFG_ARCHITECTURE,
  LSP_RF_CFG_NORMALIZE, LSP_RF_CFG_BATCH, LSP_RF_CFG_LR, LSP_RF_CFG_MOMENTUM,
  LSP_RF_CFG_ATTACK_EPS, LSP_RF_CFG_PGD_STEPS, LSP_RF_CFG_PGD_RESTARTS, LSP_RF_CFG_N_ATTACK,
  LSP_RF_CFG_BINS, LSP_RF_CFG_BOOTSTRAP, LSP_RF_CFG_FORMAT, LSP_RF_CFG_QUICK,
  LSP_RF_CFG_N_AUTOATTACK, LSP_RF_CFG_AA_BUDGET, LSP_RF_CFG_AA_PREDICTED,
  /* timings */
  LSP_RF_TIME_TOTAL, LSP_RF_TIME_DATA, LSP_RF_TIME_TRAIN, LSP_RF_TIME_ANALYSIS,
  LSP_RF_TIME_ATTACKS, LSP_RF_TIME_CELLS, LSP_RF_TIME_JOBS,
  /* models[] */
  LSP_RF_M_TAG, LSP_RF_M_EPS, LSP_RF_M_CONVENTION, LSP_RF_M_SEED, LSP_RF_M_MODEL_FILE,
  LSP_RF_M_CACHED, LSP_RF_M_TRAIN_SECONDS, LSP_RF_M_TRAINING, LSP_RF_M_CALIBRATION,
  LSP_RF_M_CALIBRATION_T, LSP_RF_M_CLUSTERS, LSP_RF_M_LOGIT_GAP, LSP_RF_M_PROJECTION,
  LSP_RF_M_ATTACKS, LSP_RF_M_MASKING,
  /* models[].training */
  LSP_RF_TR_EPOCHS, LSP_RF_TR_TRAIN_LOSS, LSP_RF_TR_TRAIN_ACCURACY, LSP_RF_TR_VAL_LOSS,
  LSP_RF_TR_VAL_ACCURACY, LSP_RF_TR_VAL_NLL, LSP_RF_TR_SECONDS, LSP_RF_TR_SAMPLES_PER_S,
  /* models[].calibration and .calibration_temperature_scaled
   * (lsp_calib_result_json; the metric keys are lsp_calib_metric_name's) */
  LSP_RF_CAL_N, LSP_RF_CAL_K, LSP_RF_CAL_NUM_BINS, LSP_RF_CAL_EDGES, LSP_RF_CAL_BINNING,
  LSP_RF_CAL_TEMPERATURE, LSP_RF_CAL_ACCURACY, LSP_RF_CAL_ACCURACY_CI, LSP_RF_CAL_NLL,
  LSP_RF_CAL_NLL_CI, LSP_RF_CAL_BRIER, LSP_RF_CAL_ECE, LSP_RF_CAL_ECE_CI, LSP_RF_CAL_MCE,
  LSP_RF_CAL_RMSCE, LSP_RF_CAL_ACE, LSP_RF_CAL_CLASSWISE_ECE, LSP_RF_CAL_OVER_CONFIDENCE,
  LSP_RF_CAL_UNDER_CONFIDENCE, LSP_RF_CAL_ECE_DEBIASED, LSP_RF_CAL_ECE_L2_DEBIASED,
  LSP_RF_CAL_ECE_SWEEP, LSP_RF_CAL_SMECE, LSP_RF_CAL_SMECE_SIGMA, LSP_RF_CAL_SMECE_CI,
  LSP_RF_CAL_ECE_SWEEP_BINS, LSP_RF_CAL_CI_METHOD, LSP_RF_CAL_BINS,
  LSP_RF_CAL_TEMPERATURE_FITTED, LSP_RF_CAL_TEMPERATURE_NOTE,
  /* ...bins[] */
  LSP_RF_BIN_COUNT, LSP_RF_BIN_CONFIDENCE, LSP_RF_BIN_ACCURACY,
  /* models[].clusters (lsp_clusters_json) */
  LSP_RF_CL_R2_SEPARATION, LSP_RF_CL_TRACE_RATIO, LSP_RF_CL_NC1,
  /* models[].projection */
  LSP_RF_PROJ_CLASSES, LSP_RF_PROJ_TEMPLATES,
  /* models[].attacks and each attack (lsp_attack_result_json) */
  LSP_RF_ATT_FGSM, LSP_RF_ATT_PGD, LSP_RF_ATT_TRANSFER, LSP_RF_ATT_AUTOATTACK,
  LSP_RF_ATTACK_NAME, LSP_RF_ATTACK_POINTS,
  LSP_RF_PT_EPS, LSP_RF_PT_ACCURACY,
  /* comparisons[] */
  LSP_RF_CMP_MODEL, LSP_RF_CMP_BASELINE, LSP_RF_CMP_CALIBRATION_DIFF,
  LSP_RF_CMP_CALIBRATION_T_DIFF, LSP_RF_CMP_FGSM_DIFF, LSP_RF_CMP_PGD_DIFF,
  LSP_RF_CMP_AA_DIFF,
  LSP_RF_ED_EPS, LSP_RF_ED_DIFF, LSP_RF_ED_CI,
  /* findings[] */
  LSP_RF_F_TOPIC, LSP_RF_F_CLAIM, LSP_RF_F_VERDICT, LSP_RF_F_EVIDENCE,
  /* cpu: which machine code computed the numbers (README "Reproducibility") */
  LSP_RF_CPU, LSP_RF_CPU_PATH, LSP_RF_CPU_KERNELS, LSP_RF_CPU_BLAS_CORE,
  /* information erasure and distillation (reports/lsp_report_distill.c) */
  LSP_RF_ERASURE, LSP_RF_DISTILLATION, LSP_RF_M_MI,
  LSP_RF_ER_CLASSES, LSP_RF_ER_PAIR_CONFUSIONS, LSP_RF_ER_EXAMPLES, LSP_RF_ER_COPIES,
  LSP_RF_ER_MAX_SHIFT, LSP_RF_ER_NOISE_SD, LSP_RF_ER_SEED, LSP_RF_ER_SHIFTED, LSP_RF_ER_BOUND,
  LSP_RF_ER_NO_INFORMATION, LSP_RF_ER_NOTE,
  LSP_RF_DI_STUDENT_ARCH, LSP_RF_DI_ALPHA, LSP_RF_DI_TEMPERATURES, LSP_RF_DI_SECONDS,
  LSP_RF_DI_STUDENTS, LSP_RF_DI_TEACHERS, LSP_RF_DI_FINDING,
  LSP_RF_ST_TAG, LSP_RF_ST_KIND, LSP_RF_ST_TEACHER, LSP_RF_ST_TEACHER_EPS, LSP_RF_ST_TEMPERATURE,
  LSP_RF_ST_EPS, LSP_RF_ST_SEED, LSP_RF_ST_MODEL_FILE, LSP_RF_ST_CACHED, LSP_RF_ST_VAL_ACCURACY,
  LSP_RF_ST_TEST_ACCURACY, LSP_RF_ST_ACCURACY_CI, LSP_RF_ST_MI, LSP_RF_ST_TRAIN_SECONDS,
  LSP_RF_DT_TEACHER, LSP_RF_DT_EPS, LSP_RF_DT_SEED, LSP_RF_DT_TEMPERATURE, LSP_RF_DT_STUDENT,
  LSP_RF_DT_STUDENT_ACCURACY, LSP_RF_DT_STUDENT_ACCURACY_CI, LSP_RF_DT_VAL_ACCURACY,
  LSP_RF_DT_TEST_ACCURACY, LSP_RF_DT_BASELINE_SAME, LSP_RF_DT_BASELINE_ZERO,
  LSP_RF_DT_STUDENT_DIFF, LSP_RF_DT_TEACHER_DIFF,
  LSP_RF_DF_DIFF, LSP_RF_DF_CI, LSP_RF_M_MI_CI, LSP_RF_ST_MI_CI, LSP_RF_DT_MI_DIFF,
  /* the study (lsp_study.h, DESIGN §9): cells, trends, comparisons */
  LSP_RF_STUDY, LSP_RF_SY_SUMMARIES, LSP_RF_SY_RESAMPLES, LSP_RF_SY_EXAMPLE_RESAMPLES,
  LSP_RF_SY_MARGIN, LSP_RF_SY_JUDGED_EPS, LSP_RF_SY_MIN_SEEDS, LSP_RF_SY_CELLS, LSP_RF_SY_TRENDS,
  LSP_RF_SY_COMPARISONS,
  LSP_RF_CE_EPS, LSP_RF_CE_SEED, LSP_RF_CE_CACHED, LSP_RF_CE_VALUES, LSP_RF_CE_SECONDS,
  LSP_RF_CE_LO, LSP_RF_CE_HI,
  LSP_RF_TD_SUMMARY, LSP_RF_TD_EPS, LSP_RF_TD_N, LSP_RF_TD_MEAN, LSP_RF_TD_SD, LSP_RF_TD_MIN,
  LSP_RF_TD_MAX,
  LSP_RF_SC_SUMMARY, LSP_RF_SC_EPS, LSP_RF_SC_SEEDS, LSP_RF_SC_MEAN, LSP_RF_SC_MEAN_BASE,
  LSP_RF_SC_DIFF, LSP_RF_SC_CI, LSP_RF_SC_PER_SEED, LSP_RF_SC_AGREE, LSP_RF_SC_FEW_SEEDS,
  LSP_RF_SC_VERDICT, LSP_RF_SC_SD_SEED, LSP_RF_SC_HALF_SEED, LSP_RF_SC_HALF_EXAMPLE,
  LSP_RF_F_JUDGED_EPS,
  LSP_RF_COUNT
} lsp_rf;

/* The members written by the lower layers (attacks/, analysis/) that no
 * code of reports/ reads or writes by name: an attack's settings and its
 * points' other numbers, AutoAttack's stages and queries, gradient_masking's
 * checks, logit_gap's, the clusters' other members, smooth_curve, the
 * calibration intervals besides accuracy/nll/ece/smece and every
 * <metric>_ci_percentile, calibration_diff's members. A second table without
 * ids (lsp_results_schema_members.c), validated with the first. */
extern const lsp_rs_field lsp_results_members[];
extern const size_t lsp_results_nmembers;

/* The table entry of field f (NULL when out of range). */
const lsp_rs_field *lsp_results_field(lsp_rf f);

/* The JSON key of field f ("lsprobe_version", "r2_separation", ...). */
const char *lsp_results_key(lsp_rf f);

/* Check a parsed results.json against the table: every field present
 * unless optional, of its type, null only where nullable, a number inside
 * its domain (LSP_RS_UNIT, _NONNEG, _POS), an interval with lo <= hi, a
 * verdict or a check's status one of its three words, recursively through
 * objects and arrays of objects. LSP_EDATA naming the source and the field path with indices,
 * e.g. "a/results.json:40:14: field models[1].calibration.ece: expected a
 * number, found string", "...: field models[1].calibration.accuracy:
 * expected a number in [0, 1], found 1.7". */
int lsp_results_validate(const lsp_jsonr_doc *d);

/* The results.json file at `path` read back and validated as `compare`
 * will read it: `run` calls this on the file it has just written, before
 * the report is published, so a run never publishes a results.json that
 * compare refuses. LSP_EDATA, naming the file and the field, on a breach
 * (a defect of lsprobe, which the message says); the reader's status if the
 * file cannot be read. */
int lsp_results_check_file(const char *path);

#endif
