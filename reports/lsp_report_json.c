/* lsp_report_json.c — results.json of `lsprobe run` (lsp_report_int.h).
 * Every key written here comes from the contract's table
 * (lsp_results_schema.h), which `lsprobe compare` validates and reads with;
 * the calibration, cluster, logit-gap and attack objects are written by
 * their modules' JSON writers, whose members the table lists too. */
#define _POSIX_C_SOURCE 200809L
#include <gsl/gsl_version.h>
#include <math.h>
#include <stdio.h>

#include "core/base/lsp_cpu.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/formats/lsp_json.h"
#include "reports/lsp_report_int.h"
#include "reports/lsp_results_schema.h"

#define K(f) lsp_results_key(LSP_RF_##f)

static void json_train_log(lsp_json *j, const lsp_train_log *l) {
  lsp_json_key(j, K(M_TRAINING));
  lsp_json_obj_begin(j);
  lsp_json_key_int(j, K(TR_EPOCHS), (long long)l->epochs);
  lsp_json_key_nums(j, K(TR_TRAIN_LOSS), l->train_loss, l->epochs);
  lsp_json_key_nums(j, K(TR_TRAIN_ACCURACY), l->train_acc, l->epochs);
  lsp_json_key_nums(j, K(TR_VAL_LOSS), l->val_loss, l->epochs);
  lsp_json_key_nums(j, K(TR_VAL_ACCURACY), l->val_acc, l->epochs);
  if (l->val_nll) lsp_json_key_nums(j, K(TR_VAL_NLL), l->val_nll, l->epochs);
  lsp_json_key_num(j, K(TR_SECONDS), l->seconds);
  lsp_json_key_num(j, K(TR_SAMPLES_PER_S), l->samples_per_s);
  lsp_json_obj_end(j);
}

/* {"<metric>": {"diff", "ci"}, ...}: the paired calibration differences */
static void json_diffs(lsp_json *j, const char *key, const double *d, const double *lo,
                       const double *hi) {
  lsp_json_key(j, key);
  lsp_json_obj_begin(j);
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
    lsp_json_key(j, lsp_calib_metric_name(m));
    lsp_json_obj_begin(j);
    lsp_json_key_num(j, K(ED_DIFF), d[m]);
    double ci[2] = {lo[m], hi[m]};
    lsp_json_key_nums(j, K(ED_CI), ci, 2);
    lsp_json_obj_end(j);
  }
  lsp_json_obj_end(j);
}

static void json_attack_diffs(lsp_json *j, const char *key, const lsp_run_state *s,
                              const double *d, const double *lo, const double *hi) {
  lsp_json_key(j, key);
  lsp_json_arr_begin(j);
  for (size_t e = 0; e < s->opts.n_attack_eps; e++) {
    lsp_json_obj_begin(j);
    lsp_json_key_num(j, K(ED_EPS), s->opts.attack_eps[e]);
    lsp_json_key_num(j, K(ED_DIFF), d[e]);
    double ci[2] = {lo[e], hi[e]};
    lsp_json_key_nums(j, K(ED_CI), ci, 2);
    lsp_json_obj_end(j);
  }
  lsp_json_arr_end(j);
}

static void json_config(lsp_json *j, const lsp_run_state *s) {
  const lsp_run_opts *o = &s->opts;
  lsp_json_key(j, K(CONFIG));
  lsp_json_obj_begin(j);
  lsp_json_key_str(j, K(CFG_DATA), s->data.name);
  lsp_json_key_str(j, K(CFG_DATA_SOURCE), s->data.source);
  lsp_json_key_bool(j, K(CFG_SYNTHETIC), s->data.synthetic);
  lsp_json_key_bool(j, K(CFG_SYNTHETIC_FALLBACK), s->data_fallback_used);
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)s->data.hash);
  lsp_json_key_str(j, K(CFG_DATA_HASH), hash);
  lsp_json_key_int(j, K(CFG_N_TRAIN), (long long)s->data.train.n);
  lsp_json_key_int(j, K(CFG_N_VAL), (long long)s->data.val.n);
  lsp_json_key_int(j, K(CFG_N_TEST), (long long)s->data.test.n);
  lsp_json_key_int(j, K(CFG_DIM), (long long)s->data.train.dim);
  lsp_json_key_int(j, K(CFG_CLASSES), s->data.train.k);
  lsp_json_key_nums(j, K(CFG_SMOOTHING), o->smoothing, o->n_smoothing);
  lsp_json_key_str(j, K(CFG_CONVENTION), lsp_ls_convention_name(o->convention));
  lsp_json_key(j, K(CFG_SEEDS));
  lsp_json_arr_begin(j);
  for (size_t i = 0; i < o->n_seeds; i++) lsp_json_int(j, (long long)o->seeds[i]);
  lsp_json_arr_end(j);
  lsp_json_key_int(j, K(CFG_EPOCHS), (long long)o->epochs);
  lsp_json_key_str(j, K(CFG_ARCH), o->arch);
  lsp_json_key_str(j, K(CFG_ARCHITECTURE), s->arch_canon);
  lsp_json_key(j, K(CFG_NORMALIZE));
  lsp_json_arr_begin(j);
  for (size_t i = 0; i < o->n_normalize; i++) lsp_json_num(j, o->normalize[i]);
  lsp_json_arr_end(j);
  lsp_json_key_int(j, K(CFG_BATCH), (long long)o->batch);
  lsp_json_key_num(j, K(CFG_LR), o->lr);
  lsp_json_key_num(j, K(CFG_MOMENTUM), o->momentum);
  lsp_json_key_nums(j, K(CFG_ATTACK_EPS), o->attack_eps, o->n_attack_eps);
  lsp_json_key_int(j, K(CFG_PGD_STEPS), (long long)o->pgd_steps);
  lsp_json_key_int(j, K(CFG_PGD_RESTARTS), (long long)o->pgd_restarts);
  lsp_json_key_int(j, K(CFG_N_ATTACK), (long long)s->n_attack);
  lsp_json_key_int(j, K(CFG_N_AUTOATTACK), (long long)s->n_aa);
  lsp_json_key_num(j, K(CFG_AA_BUDGET), o->aa_budget);
  /* predicted whenever AutoAttack was sized, also when the budget allows no
   * example: the number that says why it did not run */
  lsp_json_key_num(j, K(CFG_AA_PREDICTED), s->aa_pred_gflop > 0.0 ? s->aa_pred_gflop : NAN);
  lsp_json_key_int(j, K(CFG_BINS), (long long)o->bins);
  lsp_json_key_int(j, K(CFG_BOOTSTRAP), (long long)o->bootstrap);
  lsp_json_key_str(j, K(CFG_FORMAT), o->format);
  lsp_json_key_bool(j, K(CFG_QUICK), o->quick);
  lsp_json_obj_end(j);
}

static void json_model(lsp_json *j, const lsp_run_state *s, const lsp_run_model *m) {
  lsp_json_obj_begin(j);
  lsp_json_key_str(j, K(M_TAG), m->tag);
  lsp_json_key_num(j, K(M_EPS), m->eps);
  lsp_json_key_str(j, K(M_CONVENTION), lsp_ls_convention_name(s->opts.convention));
  lsp_json_key_int(j, K(M_SEED), (long long)m->seed);
  lsp_json_key_str(j, K(M_MODEL_FILE), lsp_report_rel_path(s, m->model_file));
  lsp_json_key_bool(j, K(M_CACHED), m->cached);
  lsp_json_key_num(j, K(M_TRAIN_SECONDS), m->train_seconds);
  json_train_log(j, &m->log);
  lsp_json_key(j, K(M_CALIBRATION));
  lsp_json_obj_begin(j);
  lsp_calib_result_json(&m->cal, j);
  lsp_json_obj_end(j);
  lsp_json_key(j, K(M_CALIBRATION_T));
  lsp_json_obj_begin(j);
  if (m->temperature_ok) {
    lsp_calib_result_json(&m->cal_t, j);
  } else { /* no T fitted: nothing was scaled, so no number after T (null) */
    lsp_calib_result unscaled = m->cal_t;
    for (int q = 0; q < LSP_CALIB_NMETRIC; q++)
      if (q != LSP_CALIB_ACCURACY) unscaled.value[q] = NAN;
    unscaled.temperature = NAN;
    unscaled.has_ci = 0;
    unscaled.nll_infinite = 0;
    unscaled.sweep_bins = 0;
    unscaled.bins = 0;
    unscaled.smooth_acc = NULL;
    lsp_calib_result_json(&unscaled, j);
  }
  lsp_json_key_bool(j, K(CAL_TEMPERATURE_FITTED), m->temperature_ok);
  if (!m->temperature_ok) lsp_json_key_str(j, K(CAL_TEMPERATURE_NOTE), m->temperature_note);
  lsp_json_obj_end(j);
  lsp_json_key(j, K(M_CLUSTERS));
  lsp_json_obj_begin(j);
  lsp_clusters_json(m->clusters, j);
  lsp_json_obj_end(j);
  lsp_json_key(j, K(M_LOGIT_GAP));
  lsp_json_obj_begin(j);
  lsp_logitgap_json(&m->gap, j);
  lsp_json_obj_end(j);
  if (m->proj) {
    lsp_json_key(j, K(M_PROJECTION));
    lsp_json_obj_begin(j);
    lsp_json_key(j, K(PROJ_CLASSES));
    lsp_json_arr_begin(j);
    for (int c = 0; c < 3; c++) lsp_json_int(j, m->proj->cls[c]);
    lsp_json_arr_end(j);
    lsp_json_key(j, K(PROJ_TEMPLATES));
    lsp_json_arr_begin(j);
    for (int c = 0; c < 3; c++) {
      lsp_json_arr_begin(j);
      lsp_json_num(j, m->proj->tmpl[c][0]);
      lsp_json_num(j, m->proj->tmpl[c][1]);
      lsp_json_arr_end(j);
    }
    lsp_json_arr_end(j);
    lsp_json_obj_end(j);
  }
  lsp_json_key(j, K(M_ATTACKS));
  lsp_json_obj_begin(j);
  lsp_json_key(j, K(ATT_FGSM));
  lsp_attack_result_json(j, &m->fgsm, 1);
  lsp_json_key(j, K(ATT_PGD));
  lsp_attack_result_json(j, &m->pgd, 1);
  if (m->has_transfer) {
    lsp_json_key(j, K(ATT_TRANSFER));
    lsp_attack_result_json(j, &m->transfer, 1);
  }
  if (m->has_aa) {
    lsp_json_key(j, K(ATT_AUTOATTACK));
    lsp_attack_result_json(j, &m->aa, 1);
  }
  lsp_json_obj_end(j);
  if (m->has_mask) {
    lsp_json_key(j, K(M_MASKING));
    lsp_attack_checklist_json(j, &m->mask);
  }
  lsp_json_key_num(j, K(M_MI), m->mi);
  double mci[2] = {m->mi_lo, m->mi_hi};
  lsp_json_key_nums(j, K(M_MI_CI), mci, 2);
  lsp_json_obj_end(j);
}

int lsp_report_json(const lsp_run_state *s, const lsp_findings *f, const char *path) {
  lsp_outfile out;
  int st = lsp_out_open(&out, path);
  if (st) return st;
  lsp_json j;
  lsp_json_init(&j, out.fp, 1);
  lsp_json_obj_begin(&j);
  lsp_json_key_str(&j, K(VERSION), LSP_VERSION);
  lsp_json_key_str(&j, K(GSL_VERSION), GSL_VERSION);
  lsp_json_key_str(&j, K(STARTED), s->started);
  lsp_json_key_str(&j, K(COMMAND), s->command);
  lsp_json_key_int(&j, K(THREADS), s->threads);
  lsp_json_key(&j, K(CPU)); /* the machine code that computed the numbers */
  lsp_json_obj_begin(&j);
  lsp_json_key_str(&j, K(CPU_PATH), lsp_cpu_path());
  lsp_json_key_str(&j, K(CPU_KERNELS), lsp_cpu_isa_name(lsp_cpu_isa()));
  lsp_json_key_str(&j, K(CPU_BLAS_CORE), lsp_blas_core());
  lsp_json_obj_end(&j);
  json_config(&j, s);
  lsp_json_key_str(&j, K(INTERVALS),
                   "per model: test-set bootstrap (calibration errors: test inversion, "
                   "bias-corrected; the rest percentile); comparisons[] and comparisons.csv "
                   "(one model against the ε = 0 model of its seed): paired percentile "
                   "bootstrap over test-example resamples; study.comparisons and findings: "
                   "delta +- sqrt(h_seeds^2 + h_examples^2), the Student-t half-width of the "
                   "per-seed differences and half the width of the mean difference's 95% "
                   "interval over shared test-example resamples (DESIGN §9.4)");
  lsp_json_key(&j, K(TIMINGS));
  lsp_json_obj_begin(&j);
  lsp_json_key_num(&j, K(TIME_TOTAL), s->seconds_total);
  lsp_json_key_num(&j, K(TIME_DATA), s->seconds_data);
  lsp_json_key_num(&j, K(TIME_TRAIN), s->seconds_train);
  lsp_json_key_num(&j, K(TIME_ANALYSIS), s->seconds_analysis);
  lsp_json_key_num(&j, K(TIME_ATTACKS), s->seconds_attacks);
  lsp_json_key_num(&j, K(TIME_CELLS), s->seconds_cells);
  lsp_json_key_int(&j, K(TIME_JOBS), (long long)s->jobs);
  lsp_json_obj_end(&j);
  lsp_json_key(&j, K(MODELS));
  lsp_json_arr_begin(&j);
  for (size_t i = 0; i < s->nmodels; i++) json_model(&j, s, &s->models[i]);
  lsp_json_arr_end(&j);
  lsp_json_key(&j, K(COMPARISONS));
  lsp_json_arr_begin(&j);
  for (size_t i = 0; i < s->ncmp; i++) {
    const lsp_run_cmp *c = &s->cmp[i];
    lsp_json_obj_begin(&j);
    lsp_json_key_str(&j, K(CMP_MODEL), s->models[c->model].tag);
    lsp_json_key_str(&j, K(CMP_BASELINE), s->models[c->base].tag);
    json_diffs(&j, K(CMP_CALIBRATION_DIFF), c->cal_diff, c->cal_lo, c->cal_hi);
    json_diffs(&j, K(CMP_CALIBRATION_T_DIFF), c->calt_diff, c->calt_lo, c->calt_hi);
    json_attack_diffs(&j, K(CMP_FGSM_DIFF), s, c->fgsm_diff, c->fgsm_lo, c->fgsm_hi);
    json_attack_diffs(&j, K(CMP_PGD_DIFF), s, c->pgd_diff, c->pgd_lo, c->pgd_hi);
    if (c->aa_diff) json_attack_diffs(&j, K(CMP_AA_DIFF), s, c->aa_diff, c->aa_lo, c->aa_hi);
    lsp_json_obj_end(&j);
  }
  lsp_json_arr_end(&j);
  lsp_json_key(&j, K(FINDINGS));
  lsp_json_arr_begin(&j);
  for (size_t i = 0; i < f->n; i++) {
    lsp_json_obj_begin(&j);
    lsp_json_key_str(&j, K(F_TOPIC), f->key[i]);
    lsp_json_key_str(&j, K(F_CLAIM), f->items[i].claim);
    lsp_json_key_str(&j, K(F_VERDICT), lsp_finding_word(f->items[i].verdict));
    lsp_json_key_str(&j, K(F_EVIDENCE), f->items[i].evidence);
    lsp_json_key_num(&j, K(F_JUDGED_EPS), f->study.eps[f->study.judged]);
    lsp_json_obj_end(&j);
  }
  lsp_json_arr_end(&j);
  lsp_report_study_json(&j, s, f);
  lsp_report_distill_json(&j, s);
  lsp_json_obj_end(&j);
  if (lsp_json_finish(&j)) return lsp_out_write_failed(&out);
  return lsp_out_commit(&out);
}
