/* lsp_report_csv.c — the CSV tables of `lsprobe run` (lsp_report_int.h):
 * one row per model, bin, attack point, paired comparison or epoch, with
 * machine column names and the same doubles as results.json. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>

#include "core/base/lsp_error.h"
#include "reports/lsp_csv.h"
#include "reports/lsp_report_int.h"
#include "reports/lsp_study.h"
#include "reports/lsp_table.h"

/* models.csv: one row per model, the headline numbers with intervals. The
 * same doubles as results.json (same round-trip formatting). */
static lsp_table *models_table(const lsp_run_state *s) {
  static const char *hdr[] = {"model", "eps", "seed", "model_file", "accuracy", "nll", "brier", "ece",
                              "ace", "classwise_ece", "over_confidence", "under_confidence",
                              "ece_debiased", "ece_l2_debiased", "ece_sweep", "smece",
                              "smece_sigma", "temperature", "ece_after_t", "nll_after_t",
                              "smece_after_t", "r2_separation", "trace_ratio", "nc1", "gap_mean",
                              "optimal_gap"};
  lsp_table *t = lsp_table_alloc(sizeof hdr / sizeof hdr[0], hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    lsp_table_row(t);
    size_t c = 0;
    lsp_table_text(t, c++, m->tag);
    lsp_table_num(t, c++, m->eps);
    lsp_table_int(t, c++, (long long)m->seed);
    lsp_table_text(t, c++, lsp_report_rel_path(s, m->model_file));
    const int ms[] = {LSP_CALIB_ACCURACY,        LSP_CALIB_NLL,
                      LSP_CALIB_BRIER,           LSP_CALIB_ECE,
                      LSP_CALIB_ACE,             LSP_CALIB_CLASSWISE_ECE,
                      LSP_CALIB_OVER_CONFIDENCE, LSP_CALIB_UNDER_CONFIDENCE,
                      LSP_CALIB_ECE_DEBIASED,    LSP_CALIB_ECE_L2_DEBIASED,
                      LSP_CALIB_ECE_SWEEP,       LSP_CALIB_SMECE,
                      LSP_CALIB_SMECE_SIGMA};
    for (size_t q = 0; q < sizeof ms / sizeof ms[0]; q++)
      lsp_table_num_ci(t, c++, m->cal.value[ms[q]], m->cal.ci_lo[ms[q]], m->cal.ci_hi[ms[q]]);
    lsp_table_num(t, c++, m->temperature_ok ? m->temperature : NAN);
    /* no T fitted: empty after-T columns, as results.json's nulls */
    const int after_t[3] = {LSP_CALIB_ECE, LSP_CALIB_NLL, LSP_CALIB_SMECE};
    for (int q = 0; q < 3; q++)
      if (m->temperature_ok)
        lsp_table_num_ci(t, c++, m->cal_t.value[after_t[q]], m->cal_t.ci_lo[after_t[q]],
                         m->cal_t.ci_hi[after_t[q]]);
      else
        lsp_table_num_ci(t, c++, NAN, NAN, NAN);
    lsp_table_num(t, c++, m->clusters->r2_separation);
    lsp_table_num(t, c++, m->clusters->trace_ratio);
    lsp_table_num(t, c++, m->clusters->nc1);
    lsp_table_num(t, c++, m->gap.gap.mean);
    lsp_table_num(t, c++, m->gap.optimal_gap);
  }
  return t;
}

static lsp_table *bins_table(const lsp_run_state *s) {
  static const char *hdr[] = {"model", "bin", "count", "confidence", "accuracy"};
  lsp_table *t = lsp_table_alloc(5, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    for (int b = 0; b < m->cal.bins; b++) {
      lsp_table_row(t);
      lsp_table_text(t, 0, m->tag);
      lsp_table_int(t, 1, b + 1);
      lsp_table_int(t, 2, (long long)m->cal.bin_count[b]);
      lsp_table_num(t, 3, m->cal.bin_conf[b]);
      lsp_table_num(t, 4, m->cal.bin_acc[b]);
    }
  }
  return t;
}

/* calibration_smooth.csv: the smoothed reliability curve of every model,
 * before and after temperature scaling, with its bootstrap band. */
static lsp_table *smooth_table(const lsp_run_state *s) {
  static const char *hdr[] = {"model", "stage", "sigma", "t", "accuracy", "density", "lo", "hi"};
  lsp_table *t = lsp_table_alloc(8, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++)
    for (int a = 0; a < 2; a++) {
      const lsp_calib_result *c = a ? &s->models[i].cal_t : &s->models[i].cal;
      if (!c->smooth_acc || (a && !s->models[i].temperature_ok)) continue;
      for (size_t q = 0; q < LSP_SMECE_CURVE_PTS; q++) {
        lsp_table_row(t);
        lsp_table_text(t, 0, s->models[i].tag);
        lsp_table_text(t, 1, a ? "after_t" : "as_trained");
        lsp_table_num(t, 2, c->value[LSP_CALIB_SMECE_SIGMA]);
        lsp_table_num(t, 3, (double)q / (double)(LSP_SMECE_CURVE_PTS - 1));
        lsp_table_num(t, 4, c->smooth_acc[q]);
        lsp_table_num(t, 5, c->smooth_dens[q]);
        lsp_table_num(t, 6, c->smooth_lo[q]);
        lsp_table_num(t, 7, c->smooth_hi[q]);
      }
    }
  return t;
}

static lsp_table *attacks_table(const lsp_run_state *s) {
  /* n, the attacked examples a row's accuracy is over (AutoAttack's subset
   * is smaller), last: the earlier columns keep their places */
  static const char *hdr[] = {"model",           "attack",          "eps", "accuracy",
                              "success_rate",    "mean_confidence", "zero_grad_share", "n"};
  lsp_table *t = lsp_table_alloc(8, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    const lsp_attack_result *rs[4] = {&m->fgsm, &m->pgd, m->has_transfer ? &m->transfer : NULL,
                                      m->has_aa ? &m->aa : NULL};
    const char *names[4] = {"fgsm", "pgd", "transfer_pgd", "autoattack"};
    for (int a = 0; a < 4; a++) {
      if (!rs[a]) continue;
      for (size_t e = 0; e < rs[a]->npoints; e++) {
        const lsp_attack_point *p = &rs[a]->points[e];
        lsp_table_row(t);
        lsp_table_text(t, 0, m->tag);
        lsp_table_text(t, 1, names[a]);
        lsp_table_num(t, 2, p->eps);
        lsp_table_num(t, 3, p->accuracy);
        lsp_table_num(t, 4, p->success_rate);
        lsp_table_num(t, 5, p->mean_confidence);
        lsp_table_num(t, 6, p->zero_grad_share);
        lsp_table_int(t, 7, (long long)rs[a]->n);
      }
    }
  }
  return t;
}

static lsp_table *cmp_table(const lsp_run_state *s) {
  static const char *hdr[] = {"model", "baseline", "quantity", "attack_eps", "difference"};
  lsp_table *t = lsp_table_alloc(5, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->ncmp; i++) {
    const lsp_run_cmp *c = &s->cmp[i];
    for (int m = 0; m < LSP_CALIB_NMETRIC; m++)
      for (int after = 0; after < 2; after++) {
        char q[64];
        snprintf(q, sizeof q, "%s%s", lsp_calib_metric_name(m), after ? "_after_t" : "");
        lsp_table_row(t);
        lsp_table_text(t, 0, s->models[c->model].tag);
        lsp_table_text(t, 1, s->models[c->base].tag);
        lsp_table_text(t, 2, q);
        lsp_table_num(t, 3, NAN);
        if (after)
          lsp_table_num_ci(t, 4, c->calt_diff[m], c->calt_lo[m], c->calt_hi[m]);
        else
          lsp_table_num_ci(t, 4, c->cal_diff[m], c->cal_lo[m], c->cal_hi[m]);
      }
    static const char *quantity[3] = {"fgsm_accuracy", "pgd_accuracy", "autoattack_accuracy"};
    for (size_t e = 0; e < c->n_eps; e++)
      for (int a = 0; a < (c->aa_diff ? 3 : 2); a++) {
        const double *d[3] = {c->fgsm_diff, c->pgd_diff, c->aa_diff},
                     *lo[3] = {c->fgsm_lo, c->pgd_lo, c->aa_lo},
                     *hi[3] = {c->fgsm_hi, c->pgd_hi, c->aa_hi};
        lsp_table_row(t);
        lsp_table_text(t, 0, s->models[c->model].tag);
        lsp_table_text(t, 1, s->models[c->base].tag);
        lsp_table_text(t, 2, quantity[a]);
        lsp_table_num(t, 3, s->opts.attack_eps[e]);
        lsp_table_num_ci(t, 4, d[a][e], lo[a][e], hi[a][e]);
      }
  }
  return t;
}

static lsp_table *training_table(const lsp_run_state *s) {
  static const char *hdr[] = {"model",    "epoch",        "train_loss", "train_accuracy",
                              "val_loss", "val_accuracy", "val_nll"};
  lsp_table *t = lsp_table_alloc(7, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_train_log *l = &s->models[i].log;
    for (size_t e = 0; e < l->epochs; e++) {
      lsp_table_row(t);
      lsp_table_text(t, 0, s->models[i].tag);
      lsp_table_int(t, 1, (long long)e + 1);
      lsp_table_num(t, 2, l->train_loss[e]);
      lsp_table_num(t, 3, l->train_acc[e]);
      lsp_table_num(t, 4, l->val_loss[e]);
      lsp_table_num(t, 5, l->val_acc[e]);
      lsp_table_num(t, 6, l->val_nll ? l->val_nll[e] : NAN);
    }
  }
  return t;
}

/* Every cell's summaries (DESIGN §9.2) with their per-cell intervals
 * (lsp_study_cell_interval): the percentile of the cell's example
 * resamples, and for the calibration errors the test inversion — the
 * intervals the report's summary table quotes. */
static lsp_table *cells_table(const lsp_run_state *s) {
  static const char *hdr[] = {"eps", "seed", "summary", "value"};
  lsp_table *t = lsp_table_alloc(4, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->ncells; i++) {
    const lsp_cell_result *c = &s->cells[i];
    for (int m = 0; m < LSP_CELL_NSTAT; m++) {
      double lo, hi;
      lsp_study_cell_interval(c, m, &lo, &hi);
      lsp_table_row(t);
      lsp_table_num(t, 0, c->key.eps);
      lsp_table_int(t, 1, (long long)c->key.seed);
      lsp_table_text(t, 2, lsp_cell_stat_name(m));
      lsp_table_num_ci(t, 3, c->value[m], lo, hi);
    }
  }
  return t;
}

int lsp_report_csvs(const lsp_run_state *s, const char *dir) {
  struct {
    const char *name;
    lsp_table *(*make)(const lsp_run_state *);
  } csvs[] = {{"models.csv", models_table},
              {"calibration_bins.csv", bins_table},
              {"calibration_smooth.csv", smooth_table},
              {"attacks.csv", attacks_table},
              {"comparisons.csv", cmp_table},
              {"training.csv", training_table},
              {"cells.csv", cells_table}};
  char path[4096];
  for (size_t i = 0; i < sizeof csvs / sizeof csvs[0]; i++) {
    lsp_table *t = csvs[i].make(s);
    if (!t) return lsp_fail(LSP_ENOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/%s", dir, csvs[i].name);
    int st = lsp_csv_write(path, t);
    lsp_table_free(t);
    if (st) return st;
  }
  return LSP_OK;
}
