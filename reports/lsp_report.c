/* lsp_report.c — the outputs of `lsprobe run`: results.json, CSV tables,
 * plots and the HTML/Markdown report, all written into a staging folder by
 * the atomic writers of reports/ and core/. Computes no metric: it lays out
 * what lsp_run.c measured. */
#define _POSIX_C_SOURCE 200809L
#include <gsl/gsl_version.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_cpu.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/formats/lsp_json.h"
#include "reports/lsp_csv.h"
#include "reports/lsp_findings.h"
#include "reports/lsp_doc.h"
#include "reports/lsp_html.h"
#include "reports/lsp_md.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_run_int.h"
#include "reports/lsp_table.h"

/* ---- results.json ------------------------------------------------------------ */

static void json_train_log(lsp_json *j, const lsp_train_log *l) {
  lsp_json_key(j, "training");
  lsp_json_obj_begin(j);
  lsp_json_key_int(j, "epochs", (long long)l->epochs);
  lsp_json_key_nums(j, "train_loss", l->train_loss, l->epochs);
  lsp_json_key_nums(j, "train_accuracy", l->train_acc, l->epochs);
  lsp_json_key_nums(j, "val_loss", l->val_loss, l->epochs);
  lsp_json_key_nums(j, "val_accuracy", l->val_acc, l->epochs);
  lsp_json_key_num(j, "seconds", l->seconds);
  lsp_json_key_num(j, "samples_per_s", l->samples_per_s);
  lsp_json_obj_end(j);
}

static void json_diffs(lsp_json *j, const char *key, const double *d, const double *lo,
                       const double *hi) {
  lsp_json_key(j, key);
  lsp_json_obj_begin(j);
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
    lsp_json_key(j, lsp_calib_metric_name(m));
    lsp_json_obj_begin(j);
    lsp_json_key_num(j, "diff", d[m]);
    double ci[2] = {lo[m], hi[m]};
    lsp_json_key_nums(j, "ci", ci, 2);
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
    lsp_json_key_num(j, "eps", s->opts.attack_eps[e]);
    lsp_json_key_num(j, "diff", d[e]);
    double ci[2] = {lo[e], hi[e]};
    lsp_json_key_nums(j, "ci", ci, 2);
    lsp_json_obj_end(j);
  }
  lsp_json_arr_end(j);
}

static int write_json(const lsp_run_state *s, const lsp_findings *f, const char *path) {
  const lsp_run_opts *o = &s->opts;
  lsp_outfile out;
  int st = lsp_out_open(&out, path);
  if (st) return st;
  lsp_json j;
  lsp_json_init(&j, out.fp, 1);
  lsp_json_obj_begin(&j);
  lsp_json_key_str(&j, "lsprobe_version", LSP_VERSION);
  lsp_json_key_str(&j, "gsl_version", GSL_VERSION);
  lsp_json_key_str(&j, "started", s->started);
  lsp_json_key_str(&j, "command", s->command);
  lsp_json_key_int(&j, "threads", s->threads);
  /* which machine code computed the numbers (README "Reproducibility"):
   * the dispatched kernel clone and OpenBLAS's kernels */
  lsp_json_key(&j, "cpu");
  lsp_json_obj_begin(&j);
  lsp_json_key_str(&j, "path", lsp_cpu_path());
  lsp_json_key_str(&j, "blas_core", lsp_blas_core());
  lsp_json_obj_end(&j);
  lsp_json_key(&j, "config");
  lsp_json_obj_begin(&j);
  lsp_json_key_str(&j, "data", s->data.name);
  lsp_json_key_str(&j, "data_source", s->data.source);
  lsp_json_key_bool(&j, "synthetic", s->data.synthetic);
  lsp_json_key_bool(&j, "synthetic_fallback", s->data_fallback_used);
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)s->data.hash);
  lsp_json_key_str(&j, "data_hash", hash);
  lsp_json_key_int(&j, "n_train", (long long)s->data.train.n);
  lsp_json_key_int(&j, "n_val", (long long)s->data.val.n);
  lsp_json_key_int(&j, "n_test", (long long)s->data.test.n);
  lsp_json_key_int(&j, "dim", (long long)s->data.train.dim);
  lsp_json_key_int(&j, "classes", s->data.train.k);
  lsp_json_key_nums(&j, "smoothing", o->smoothing, o->n_smoothing);
  lsp_json_key_str(&j, "convention", lsp_ls_convention_name(o->convention));
  lsp_json_key(&j, "seeds");
  lsp_json_arr_begin(&j);
  for (size_t i = 0; i < o->n_seeds; i++) lsp_json_int(&j, (long long)o->seeds[i]);
  lsp_json_arr_end(&j);
  lsp_json_key_int(&j, "epochs", (long long)o->epochs);
  lsp_json_key(&j, "hidden");
  lsp_json_arr_begin(&j);
  for (size_t i = 0; i < o->n_hidden; i++) lsp_json_int(&j, (long long)o->hidden[i]);
  lsp_json_arr_end(&j);
  lsp_json_key_int(&j, "batch", (long long)o->batch);
  lsp_json_key_num(&j, "lr", o->lr);
  lsp_json_key_num(&j, "momentum", o->momentum);
  lsp_json_key_nums(&j, "attack_eps", o->attack_eps, o->n_attack_eps);
  lsp_json_key_int(&j, "pgd_steps", (long long)o->pgd_steps);
  lsp_json_key_int(&j, "pgd_restarts", (long long)o->pgd_restarts);
  lsp_json_key_int(&j, "n_attack", (long long)s->n_attack);
  lsp_json_key_int(&j, "bins", (long long)o->bins);
  lsp_json_key_int(&j, "bootstrap", (long long)o->bootstrap);
  lsp_json_key_str(&j, "format", o->format);
  lsp_json_key_bool(&j, "quick", o->quick);
  lsp_json_obj_end(&j);
  lsp_json_key_str(&j, "intervals",
                   o->n_seeds > 1 ? "per model: test-set percentile bootstrap; across seeds: "
                                    "Student-t interval of the seed-to-seed spread"
                                  : "test-set percentile bootstrap (one seed)");
  lsp_json_key(&j, "timings");
  lsp_json_obj_begin(&j);
  lsp_json_key_num(&j, "total_s", s->seconds_total);
  lsp_json_key_num(&j, "data_s", s->seconds_data);
  lsp_json_key_num(&j, "train_s", s->seconds_train);
  lsp_json_key_num(&j, "analysis_s", s->seconds_analysis);
  lsp_json_key_num(&j, "attacks_s", s->seconds_attacks);
  lsp_json_obj_end(&j);
  lsp_json_key(&j, "models");
  lsp_json_arr_begin(&j);
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    lsp_json_obj_begin(&j);
    lsp_json_key_str(&j, "tag", m->tag);
    lsp_json_key_num(&j, "eps", m->eps);
    lsp_json_key_str(&j, "convention", lsp_ls_convention_name(o->convention));
    lsp_json_key_int(&j, "seed", (long long)m->seed);
    lsp_json_key_str(&j, "model_file", m->model_file);
    lsp_json_key_bool(&j, "cached", m->cached);
    lsp_json_key_num(&j, "train_seconds", m->train_seconds);
    json_train_log(&j, &m->log);
    lsp_json_key(&j, "calibration");
    lsp_json_obj_begin(&j);
    lsp_calib_result_json(&m->cal, &j);
    lsp_json_obj_end(&j);
    lsp_json_key(&j, "calibration_temperature_scaled");
    lsp_json_obj_begin(&j);
    lsp_calib_result_json(&m->cal_t, &j);
    lsp_json_key_bool(&j, "temperature_fitted", m->temperature_ok);
    if (!m->temperature_ok) lsp_json_key_str(&j, "temperature_note", m->temperature_note);
    lsp_json_obj_end(&j);
    lsp_json_key(&j, "clusters");
    lsp_json_obj_begin(&j);
    lsp_clusters_json(m->clusters, &j);
    lsp_json_obj_end(&j);
    lsp_json_key(&j, "logit_gap");
    lsp_json_obj_begin(&j);
    lsp_logitgap_json(&m->gap, &j);
    lsp_json_obj_end(&j);
    if (m->proj) {
      lsp_json_key(&j, "projection");
      lsp_json_obj_begin(&j);
      lsp_json_key(&j, "classes");
      lsp_json_arr_begin(&j);
      for (int c = 0; c < 3; c++) lsp_json_int(&j, m->proj->cls[c]);
      lsp_json_arr_end(&j);
      lsp_json_key(&j, "templates");
      lsp_json_arr_begin(&j);
      for (int c = 0; c < 3; c++) {
        lsp_json_arr_begin(&j);
        lsp_json_num(&j, m->proj->tmpl[c][0]);
        lsp_json_num(&j, m->proj->tmpl[c][1]);
        lsp_json_arr_end(&j);
      }
      lsp_json_arr_end(&j);
      lsp_json_obj_end(&j);
    }
    lsp_json_key(&j, "attacks");
    lsp_json_obj_begin(&j);
    lsp_json_key(&j, "fgsm");
    lsp_attack_result_json(&j, &m->fgsm, 1);
    lsp_json_key(&j, "pgd");
    lsp_attack_result_json(&j, &m->pgd, 1);
    if (m->has_transfer) {
      lsp_json_key(&j, "transfer");
      lsp_attack_result_json(&j, &m->transfer, 1);
    }
    lsp_json_obj_end(&j);
    if (m->has_mask) {
      lsp_json_key(&j, "gradient_masking");
      lsp_attack_checklist_json(&j, &m->mask);
    }
    lsp_json_obj_end(&j);
  }
  lsp_json_arr_end(&j);
  lsp_json_key(&j, "comparisons");
  lsp_json_arr_begin(&j);
  for (size_t i = 0; i < s->ncmp; i++) {
    const lsp_run_cmp *c = &s->cmp[i];
    lsp_json_obj_begin(&j);
    lsp_json_key_str(&j, "model", s->models[c->model].tag);
    lsp_json_key_str(&j, "baseline", s->models[c->base].tag);
    json_diffs(&j, "calibration_diff", c->cal_diff, c->cal_lo, c->cal_hi);
    json_diffs(&j, "calibration_temperature_scaled_diff", c->calt_diff, c->calt_lo, c->calt_hi);
    json_attack_diffs(&j, "fgsm_accuracy_diff", s, c->fgsm_diff, c->fgsm_lo, c->fgsm_hi);
    json_attack_diffs(&j, "pgd_accuracy_diff", s, c->pgd_diff, c->pgd_lo, c->pgd_hi);
    lsp_json_obj_end(&j);
  }
  lsp_json_arr_end(&j);
  lsp_json_key(&j, "findings");
  lsp_json_arr_begin(&j);
  for (size_t i = 0; i < f->n; i++) {
    lsp_json_obj_begin(&j);
    lsp_json_key_str(&j, "topic", f->key[i]);
    lsp_json_key_str(&j, "claim", f->items[i].claim);
    lsp_json_key_str(&j, "verdict", lsp_finding_word(f->items[i].verdict));
    lsp_json_key_str(&j, "evidence", f->items[i].evidence);
    lsp_json_obj_end(&j);
  }
  lsp_json_arr_end(&j);
  lsp_json_obj_end(&j);
  if (lsp_json_finish(&j)) {
    lsp_out_abort(&out);
    return lsp_fail(LSP_EIO, "%s: write failed", path);
  }
  return lsp_out_commit(&out);
}

/* ---- CSV tables ------------------------------------------------------------------ */

/* models.csv: one row per model, the headline numbers with intervals. The
 * same doubles as results.json (same round-trip formatting). */
static lsp_table *models_table(const lsp_run_state *s) {
  static const char *hdr[] = {"model", "eps", "seed", "accuracy", "nll", "brier", "ece",
                              "ace", "classwise_ece", "over_confidence", "under_confidence",
                              "temperature", "ece_after_t", "nll_after_t", "r2_separation",
                              "trace_ratio", "nc1", "gap_mean", "optimal_gap"};
  lsp_table *t = lsp_table_alloc(sizeof hdr / sizeof hdr[0], hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    lsp_table_row(t);
    size_t c = 0;
    lsp_table_text(t, c++, m->tag);
    lsp_table_num(t, c++, m->eps);
    lsp_table_int(t, c++, (long long)m->seed);
    const int ms[] = {LSP_CALIB_ACCURACY, LSP_CALIB_NLL, LSP_CALIB_BRIER, LSP_CALIB_ECE,
                      LSP_CALIB_ACE, LSP_CALIB_CLASSWISE_ECE, LSP_CALIB_OVER_CONFIDENCE,
                      LSP_CALIB_UNDER_CONFIDENCE};
    for (size_t q = 0; q < sizeof ms / sizeof ms[0]; q++)
      lsp_table_num_ci(t, c++, m->cal.value[ms[q]], m->cal.ci_lo[ms[q]], m->cal.ci_hi[ms[q]]);
    lsp_table_num(t, c++, m->temperature_ok ? m->temperature : NAN);
    lsp_table_num_ci(t, c++, m->cal_t.value[LSP_CALIB_ECE], m->cal_t.ci_lo[LSP_CALIB_ECE],
                     m->cal_t.ci_hi[LSP_CALIB_ECE]);
    lsp_table_num_ci(t, c++, m->cal_t.value[LSP_CALIB_NLL], m->cal_t.ci_lo[LSP_CALIB_NLL],
                     m->cal_t.ci_hi[LSP_CALIB_NLL]);
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

static lsp_table *attacks_table(const lsp_run_state *s) {
  static const char *hdr[] = {"model", "attack", "eps", "accuracy", "success_rate",
                              "mean_confidence", "zero_grad_share"};
  lsp_table *t = lsp_table_alloc(7, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    const lsp_attack_result *rs[3] = {&m->fgsm, &m->pgd, m->has_transfer ? &m->transfer : NULL};
    const char *names[3] = {"fgsm", "pgd", "transfer_pgd"};
    for (int a = 0; a < 3; a++) {
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
    for (size_t e = 0; e < c->n_eps; e++)
      for (int a = 0; a < 2; a++) {
        lsp_table_row(t);
        lsp_table_text(t, 0, s->models[c->model].tag);
        lsp_table_text(t, 1, s->models[c->base].tag);
        lsp_table_text(t, 2, a ? "pgd_accuracy" : "fgsm_accuracy");
        lsp_table_num(t, 3, s->opts.attack_eps[e]);
        if (a)
          lsp_table_num_ci(t, 4, c->pgd_diff[e], c->pgd_lo[e], c->pgd_hi[e]);
        else
          lsp_table_num_ci(t, 4, c->fgsm_diff[e], c->fgsm_lo[e], c->fgsm_hi[e]);
      }
  }
  return t;
}

static lsp_table *training_table(const lsp_run_state *s) {
  static const char *hdr[] = {"model", "epoch", "train_loss", "train_accuracy", "val_loss",
                              "val_accuracy"};
  lsp_table *t = lsp_table_alloc(6, hdr);
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
    }
  }
  return t;
}

/* ---- plots ----------------------------------------------------------------------- */

typedef struct {
  const lsp_run_state *s;
  const char *dir;           /* staging folder                              */
  lsp_plot_format extra;     /* also rendered in this format (png/pdf)      */
  int want_extra;
  char note[512];            /* first plotting failure, for the report      */
} plotter;

/* Render one figure: always SVG (inlined into the HTML), plus the requested
 * format. `draw` is called with the path and format. A gnuplot failure is
 * recorded and the report goes on without that figure. */
typedef int (*draw_fn)(const plotter *p, const char *path, lsp_plot_format fmt, void *arg);

static int figure(plotter *p, const char *name, draw_fn draw, void *arg, char *svg_path,
                  size_t len) {
  svg_path[0] = '\0';
  if (!p->s->have_gnuplot) return LSP_OK;
  char path[4096];
  snprintf(path, sizeof path, "%s/plots/%s.svg", p->dir, name);
  int st = draw(p, path, LSP_PLOT_SVG, arg);
  if (st == LSP_OK && p->want_extra) {
    char other[4096];
    snprintf(other, sizeof other, "%s/plots/%s.%s", p->dir, name, lsp_plot_format_ext(p->extra));
    st = draw(p, other, p->extra, arg);
  }
  if (st == LSP_EINTR || st == LSP_ENOMEM) return st;
  if (st != LSP_OK) {
    if (!p->note[0]) snprintf(p->note, sizeof p->note, "figure %s: %s", name, lsp_errmsg());
    return LSP_OK;
  }
  snprintf(svg_path, len, "%s/plots/%s.svg", p->dir, name);
  return LSP_OK;
}

static int draw_reliability(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  size_t n = s->nmodels < 8 ? s->nmodels : 8;
  lsp_plot_reliability r[8];
  double cnt[8][64];
  for (size_t i = 0; i < n; i++) {
    const lsp_run_model *m = &s->models[i];
    size_t nb = (size_t)m->cal.bins < 64 ? (size_t)m->cal.bins : 64;
    for (size_t b = 0; b < nb; b++) cnt[i][b] = (double)m->cal.bin_count[b];
    double conf = 0, tot = 0;
    for (size_t b = 0; b < nb; b++)
      if (cnt[i][b] > 0) {
        conf += cnt[i][b] * m->cal.bin_conf[b];
        tot += cnt[i][b];
      }
    r[i] = (lsp_plot_reliability){m->label, nb, cnt[i], m->cal.bin_conf, m->cal.bin_acc,
                                  m->cal.value[LSP_CALIB_ECE], tot > 0 ? conf / tot : NAN,
                                  m->cal.value[LSP_CALIB_ACCURACY]};
  }
  lsp_plot_opts o = {fmt, "Reliability on the test set (before temperature scaling)", 0, 0, 0};
  return lsp_plot_reliability_diagram(path, &o, r, n);
}

/* metric against the smoothing eps: one series per seed */
static int draw_metrics(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  const lsp_run_opts *o = &s->opts;
  size_t ns = o->n_seeds < 8 ? o->n_seeds : 8, ne = o->n_smoothing;
  enum { NP = 5 };
  double x[8][16], y[NP][2][8][16], lo[NP][2][8][16], hi[NP][2][8][16];
  char names[2][8][96];
  lsp_plot_series ser[NP][16];
  size_t nser[NP] = {0};
  for (size_t si = 0; si < ns; si++) {
    for (size_t ei = 0; ei < ne; ei++) {
      const lsp_run_model *m = &s->models[si * ne + ei];
      x[si][ei] = m->eps;
      const lsp_calib_result *c[2] = {&m->cal, &m->cal_t};
      const int metric[3] = {LSP_CALIB_ACCURACY, LSP_CALIB_ECE, LSP_CALIB_NLL};
      for (int q = 0; q < 3; q++)
        for (int a = 0; a < 2; a++) {
          y[q][a][si][ei] = c[a]->value[metric[q]];
          lo[q][a][si][ei] = c[a]->ci_lo[metric[q]];
          hi[q][a][si][ei] = c[a]->ci_hi[metric[q]];
        }
      y[3][0][si][ei] = m->clusters->r2_separation;
      y[4][0][si][ei] = m->clusters->nc1;
    }
    for (int q = 0; q < NP; q++)
      for (int a = 0; a < (q == 1 || q == 2 ? 2 : 1); a++) {
        char *nm = names[a][si];
        if (o->n_seeds > 1)
          snprintf(nm, sizeof names[a][si], "%sseed %lu", a ? "after T, " : "", o->seeds[si]);
        else
          snprintf(nm, sizeof names[a][si], "%s", a ? "after temperature scaling" : "as trained");
        lsp_plot_series sr = lsp_plot_series_make(nm, x[si], y[q][a][si], ne);
        if (q < 3) {
          sr.lo = lo[q][a][si];
          sr.hi = hi[q][a][si];
          sr.ci = LSP_PLOT_CI_BARS;
        }
        sr.color = (int)si;
        sr.dash = a;
        ser[q][nser[q]++] = sr;
      }
  }
  char xl[96];
  snprintf(xl, sizeof xl, "label smoothing ε (%s)", lsp_ls_convention_name(o->convention));
  lsp_plot_panel pn[NP] = {
      {"Test accuracy", xl, "accuracy", 0, 0, NAN, NAN, NAN, NAN, "bottom left", ser[0], nser[0]},
      {"Expected calibration error", xl, "ECE (15 bins)", 0, 0, NAN, NAN, NAN, NAN, "top left", ser[1], nser[1]},
      {"Negative log-likelihood", xl, "NLL (nats)", 0, 0, NAN, NAN, NAN, NAN, "top left", ser[2], nser[2]},
      {"Class separation", xl, "R² (cosine)", 0, 0, NAN, NAN, NAN, NAN, "bottom left", ser[3], nser[3]},
      {"Within-class variability", xl, "NC1", 0, 0, NAN, NAN, NAN, NAN, "top left", ser[4], nser[4]}};
  char ylab[32];
  snprintf(ylab, sizeof ylab, "ECE (%zu bins)", o->bins);
  pn[1].ylabel = ylab;
  lsp_plot_opts po = {fmt, "Metrics against the smoothing ε (95% bootstrap intervals)", 0, 0, 3};
  return lsp_plot_lines(path, &po, pn, NP);
}

static int draw_attacks(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  size_t n = s->nmodels < 16 ? s->nmodels : 16, ne = s->opts.n_attack_eps;
  double acc[3][16][32];
  lsp_plot_series ser[3][16];
  size_t nser[3] = {0};
  for (size_t i = 0; i < n; i++) {
    const lsp_run_model *m = &s->models[i];
    const lsp_attack_result *rs[3] = {&m->fgsm, &m->pgd, m->has_transfer ? &m->transfer : NULL};
    for (int a = 0; a < 3; a++) {
      if (!rs[a]) continue;
      for (size_t e = 0; e < ne; e++) acc[a][i][e] = rs[a]->points[e].accuracy;
      lsp_plot_series sr = lsp_plot_series_make(m->label, s->opts.attack_eps, acc[a][i], ne);
      sr.color = (int)i;
      ser[a][nser[a]++] = sr;
    }
  }
  char t1[64], t2[96];
  snprintf(t1, sizeof t1, "PGD-%zu (white-box)", s->opts.pgd_steps);
  snprintf(t2, sizeof t2, "Transfer: PGD-%zu crafted on ε = 0", s->opts.pgd_steps);
  const char *xl = "attack ε (L∞, pixel scale [0, 1])";
  lsp_plot_panel pn[3] = {
      {"FGSM (white-box)", xl, "accuracy under attack", 0, 0, NAN, NAN, 0, 1, "top right", ser[0], nser[0]},
      {t1, xl, "accuracy under attack", 0, 0, NAN, NAN, 0, 1, "top right", ser[1], nser[1]},
      {t2, xl, "accuracy under attack", 0, 0, NAN, NAN, 0, 1, "top right", ser[2], nser[2]}};
  size_t np = nser[2] ? 3 : 2;
  char title[160];
  snprintf(title, sizeof title, "Accuracy under attack (%zu test examples)", s->n_attack);
  lsp_plot_opts po = {fmt, title, 0, 0, 0};
  return lsp_plot_lines(path, &po, pn, np);
}

static int draw_projection(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  size_t n = s->nmodels < 8 ? s->nmodels : 8;
  lsp_plot_scatter_panel pn[8];
  double *buf = NULL;
  int32_t *cls = NULL;
  const size_t maxpts = 900;
  buf = malloc(n * maxpts * 2 * sizeof *buf);
  cls = malloc(n * maxpts * sizeof *cls);
  double tx[8][3], ty[8][3];
  if (!buf || !cls) {
    free(buf);
    free(cls);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    const lsp_proj *pr = s->models[i].proj;
    size_t stride = pr->m > maxpts ? (pr->m + maxpts - 1) / maxpts : 1, c = 0;
    double *xs = buf + i * maxpts * 2, *ys = xs + maxpts;
    for (size_t r = 0; r < pr->m && c < maxpts; r += stride, c++) {
      xs[c] = pr->xy[2 * r];
      ys[c] = pr->xy[2 * r + 1];
      cls[i * maxpts + c] = pr->label[r] == pr->cls[0] ? 0 : pr->label[r] == pr->cls[1] ? 1 : 2;
    }
    for (int t = 0; t < 3; t++) {
      tx[i][t] = pr->tmpl[t][0];
      ty[i][t] = pr->tmpl[t][1];
    }
    pn[i] = (lsp_plot_scatter_panel){s->models[i].label, c, xs, ys, cls + i * maxpts, tx[i], ty[i]};
  }
  char names[3][32];
  const char *cn[3];
  static const char *fm[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  int fashion = strcmp(s->data.name, "fashion-mnist") == 0;
  for (int t = 0; t < 3; t++) {
    int c = s->proj_cls[t];
    if (fashion && c >= 0 && c < 10)
      snprintf(names[t], sizeof names[t], "%d %s", c, fm[c]);
    else
      snprintf(names[t], sizeof names[t], "class %d", c);
    cn[t] = names[t];
  }
  lsp_plot_opts po = {fmt, "Penultimate layer projected on the plane of three class templates", 0, 0, 0};
  int st = lsp_plot_scatter(path, &po, "template-plane coordinate 1", "template-plane coordinate 2",
                            cn, 3, pn, n);
  free(buf);
  free(cls);
  return st;
}

static int draw_gap(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  size_t n = s->nmodels < 8 ? s->nmodels : 8;
  lsp_plot_hist h[8];
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    const lsp_run_model *m = &s->models[i];
    double spread = m->gap.gap.q95 - m->gap.gap.q05;
    lo = fmin(lo, m->gap.gap.q05 - 0.5 * spread);
    hi = fmax(hi, m->gap.gap.q95 + 0.5 * spread);
    if (isfinite(m->gap.optimal_gap)) {
      lo = fmin(lo, m->gap.optimal_gap - 1);
      hi = fmax(hi, m->gap.optimal_gap + 1);
    }
    h[i] = (lsp_plot_hist){m->label, m->gap_values, s->data.test.n, m->gap.optimal_gap,
                           isfinite(m->gap.optimal_gap) ? "optimal gap" : NULL, (int)i};
  }
  lsp_plot_opts po = {fmt, "Logit gap z_y − mean of the other logits (test set)", 0, 0, 0};
  return lsp_plot_histogram(path, &po, "logit gap (logit units)", 60, lo, hi, 0, h, n);
}

static int draw_training(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  size_t n = s->nmodels < 16 ? s->nmodels : 16;
  double ep[16][512];
  lsp_plot_series ser[2][16];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const lsp_train_log *l = &s->models[i].log;
    if (l->epochs == 0) continue;
    size_t ne = l->epochs < 512 ? l->epochs : 512;
    for (size_t e = 0; e < ne; e++) ep[i][e] = (double)(e + 1);
    ser[0][k] = lsp_plot_series_make(s->models[i].label, ep[i], l->train_loss, ne);
    ser[1][k] = lsp_plot_series_make(s->models[i].label, ep[i], l->val_acc, ne);
    ser[0][k].color = ser[1][k].color = (int)i;
    k++;
  }
  if (k == 0) return lsp_fail(LSP_EDATA, "no training curves recorded");
  lsp_plot_panel pn[2] = {
      {"Training loss (smoothed criterion)", "epoch", "loss (nats)", 0, 0, NAN, NAN, NAN, NAN, "top right", ser[0], k},
      {"Validation accuracy", "epoch", "accuracy", 0, 0, NAN, NAN, NAN, NAN, "bottom right", ser[1], k}};
  lsp_plot_opts po = {fmt, "Training curves", 0, 0, 0};
  return lsp_plot_lines(path, &po, pn, 2);
}

/* ---- the HTML and Markdown documents -------------------------------------------- */

/* A figure in both documents: Markdown points at the requested format (the
 * SVG unless png/pdf was asked for). */
static void d_figure(lsp_doc *d, const plotter *p, const char *svg, const char *caption) {
  if (!svg[0]) return;
  char file[4096];
  snprintf(file, sizeof file, "%s", svg);
  if (p->want_extra) {
    char *dot = strrchr(file, '.');
    if (dot) snprintf(dot, sizeof file - (size_t)(dot - file), ".%s", lsp_plot_format_ext(p->extra));
  }
  lsp_doc_figure(d, svg, file, caption);
}

static lsp_table *summary_table(const lsp_run_state *s, size_t re) {
  char fg[64], pg[64], tr[64];
  snprintf(fg, sizeof fg, "FGSM acc. (ε=%g)", s->opts.attack_eps[re]);
  snprintf(pg, sizeof pg, "PGD-%zu acc. (ε=%g)", s->opts.pgd_steps, s->opts.attack_eps[re]);
  snprintf(tr, sizeof tr, "transfer acc. (ε=%g)", s->opts.attack_eps[re]);
  const char *hdr[] = {"model", "test accuracy", "NLL", "ECE", "ECE after T", "T",
                       "R² separation", "NC1", "mean logit gap (optimal)", fg, pg, tr};
  lsp_table *t = lsp_table_alloc(12, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    lsp_table_row(t);
    lsp_table_text(t, 0, m->label);
    lsp_table_num_ci(t, 1, m->cal.value[LSP_CALIB_ACCURACY], m->cal.ci_lo[LSP_CALIB_ACCURACY],
                     m->cal.ci_hi[LSP_CALIB_ACCURACY]);
    lsp_table_num_ci(t, 2, m->cal.value[LSP_CALIB_NLL], m->cal.ci_lo[LSP_CALIB_NLL],
                     m->cal.ci_hi[LSP_CALIB_NLL]);
    lsp_table_num_ci(t, 3, m->cal.value[LSP_CALIB_ECE], m->cal.ci_lo[LSP_CALIB_ECE],
                     m->cal.ci_hi[LSP_CALIB_ECE]);
    lsp_table_num_ci(t, 4, m->cal_t.value[LSP_CALIB_ECE], m->cal_t.ci_lo[LSP_CALIB_ECE],
                     m->cal_t.ci_hi[LSP_CALIB_ECE]);
    lsp_table_num(t, 5, m->temperature_ok ? m->temperature : NAN);
    lsp_table_num(t, 6, m->clusters->r2_separation);
    lsp_table_num(t, 7, m->clusters->nc1);
    char g[64];
    if (isfinite(m->gap.optimal_gap))
      snprintf(g, sizeof g, "%.3f (%.3f)", m->gap.gap.mean, m->gap.optimal_gap);
    else
      snprintf(g, sizeof g, "%.3f (none: ε = 0)", m->gap.gap.mean);
    lsp_table_text(t, 8, g);
    lsp_table_num(t, 9, m->fgsm.points[re].accuracy);
    lsp_table_num(t, 10, m->pgd.points[re].accuracy);
    if (m->has_transfer)
      lsp_table_num(t, 11, m->transfer.points[re].accuracy);
    else
      lsp_table_text(t, 11, "–");
  }
  for (size_t c = 1; c <= 4; c++) lsp_table_digits(t, c, 4);
  return t;
}

static lsp_table *calib_detail_table(const lsp_run_state *s) {
  const char *hdr[] = {"model", "Brier", "MCE", "RMSCE", "ACE", "classwise ECE",
                       "over-confidence", "under-confidence", "NLL after T"};
  lsp_table *t = lsp_table_alloc(9, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    lsp_table_row(t);
    lsp_table_text(t, 0, m->label);
    const int ms[] = {LSP_CALIB_BRIER, LSP_CALIB_MCE, LSP_CALIB_RMSCE, LSP_CALIB_ACE,
                      LSP_CALIB_CLASSWISE_ECE, LSP_CALIB_OVER_CONFIDENCE,
                      LSP_CALIB_UNDER_CONFIDENCE};
    for (size_t q = 0; q < 7; q++)
      lsp_table_num_ci(t, q + 1, m->cal.value[ms[q]], m->cal.ci_lo[ms[q]], m->cal.ci_hi[ms[q]]);
    lsp_table_num_ci(t, 8, m->cal_t.value[LSP_CALIB_NLL], m->cal_t.ci_lo[LSP_CALIB_NLL],
                     m->cal_t.ci_hi[LSP_CALIB_NLL]);
  }
  return t;
}

static lsp_table *cluster_detail_table(const lsp_run_state *s) {
  const char *hdr[] = {"model", "R² separation", "within / total cosine distance",
                       "tr Σ_W / tr Σ_B", "NC1", "mean tightness", "class-mean distance CV",
                       "dead (all-zero) feature rows"};
  lsp_table *t = lsp_table_alloc(8, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_clusters *c = s->models[i].clusters;
    lsp_table_row(t);
    lsp_table_text(t, 0, s->models[i].label);
    lsp_table_num(t, 1, c->r2_separation);
    char w[64];
    snprintf(w, sizeof w, "%.4f / %.4f", c->d_within, c->d_total);
    lsp_table_text(t, 2, w);
    lsp_table_num(t, 3, c->trace_ratio);
    lsp_table_num(t, 4, c->nc1);
    lsp_table_num(t, 5, c->tightness_mean);
    lsp_table_num(t, 6, c->mean_dist_cv);
    lsp_table_int(t, 7, (long long)c->n_zero_rows);
  }
  return t;
}

static lsp_table *mask_table(const lsp_run_state *s) {
  const char *hdr[] = {"model", "check", "status", "detail"};
  lsp_table *t = lsp_table_alloc(4, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    if (!m->has_mask) continue;
    for (int c = 0; c < LSP_MASK_NCHECKS; c++) {
      lsp_table_row(t);
      lsp_table_text(t, 0, m->label);
      lsp_table_text(t, 1, m->mask.checks[c].name);
      lsp_table_text(t, 2, lsp_check_status_name(m->mask.checks[c].status));
      lsp_table_text(t, 3, m->mask.checks[c].detail);
    }
  }
  return t;
}

static int write_docs(const lsp_run_state *s, const lsp_findings *f, plotter *p) {
  const lsp_run_opts *o = &s->opts;
  char path[4096], buf[4096];
  char f_rel[4096], f_met[4096], f_att[4096], f_proj[4096], f_gap[4096], f_tr[4096];
  int st;
  if ((st = figure(p, "reliability", draw_reliability, NULL, f_rel, sizeof f_rel)) ||
      (st = figure(p, "metrics_vs_smoothing", draw_metrics, NULL, f_met, sizeof f_met)) ||
      (st = figure(p, "attacks", draw_attacks, NULL, f_att, sizeof f_att)) ||
      (st = s->models[0].proj ? figure(p, "projection", draw_projection, NULL, f_proj, sizeof f_proj) : 0) ||
      (st = figure(p, "logit_gap", draw_gap, NULL, f_gap, sizeof f_gap)) ||
      (st = figure(p, "training", draw_training, NULL, f_tr, sizeof f_tr)))
    return st;
  if (!s->models[0].proj) f_proj[0] = '\0';

  lsp_doc d;
  memset(&d, 0, sizeof d);
  char md[4096];
  snprintf(path, sizeof path, "%s/report.html", p->dir);
  snprintf(md, sizeof md, "%s/report.md", p->dir);
  if ((st = lsp_doc_open(&d, path, md, "lsprobe: what label smoothing does to this classifier")))
    return st;
  if (s->data_fallback_used) lsp_doc_note(&d, LSP_HTML_WARNING, s->data_note);
  if (o->quick)
    lsp_doc_note(&d, LSP_HTML_WARNING,
           "This is a --quick smoke-test run (tiny model, few epochs, subsets of the data): "
           "its numbers are not a measurement of anything.");
  if (!s->have_gnuplot) lsp_doc_note(&d, LSP_HTML_WARNING, s->gnuplot_note);
  if (p->note[0]) {
    snprintf(buf, sizeof buf, "A figure could not be drawn and is missing: %s", p->note);
    lsp_doc_note(&d, LSP_HTML_WARNING, buf);
  }
  char hid[64] = "";
  for (size_t i = 0; i < o->n_hidden; i++)
    snprintf(hid + strlen(hid), sizeof hid - strlen(hid), "%s%zu", i ? "-" : "", o->hidden[i]);
  char smo[256] = "", seeds[256] = "";
  for (size_t i = 0; i < o->n_smoothing; i++)
    snprintf(smo + strlen(smo), sizeof smo - strlen(smo), "%s%g", i ? ", " : "", o->smoothing[i]);
  for (size_t i = 0; i < o->n_seeds; i++)
    snprintf(seeds + strlen(seeds), sizeof seeds - strlen(seeds), "%s%lu", i ? ", " : "", o->seeds[i]);
  snprintf(buf, sizeof buf,
           "Data: %s (%s): %zu training, %zu validation and %zu test examples, %zu features, %d "
           "classes. Models: MLP %zu-%s-%d with ReLU, trained %zu epochs with SGD (lr %g, "
           "momentum %g, batch %zu) on the label-smoothed cross-entropy, ε ∈ {%s} (%s "
           "convention), seeds {%s}. Attacks: FGSM and PGD-%zu (step ε/4, %zu restart%s, random "
           "start) on the first %zu test examples, ε on the [0, 1] pixel scale. Intervals: %s.",
           s->data.name, s->data.source, s->data.train.n, s->data.val.n, s->data.test.n,
           s->data.train.dim, s->data.train.k, s->data.train.dim, hid, s->data.train.k,
           o->epochs, o->lr, o->momentum, o->batch, smo, lsp_ls_convention_name(o->convention),
           seeds, o->pgd_steps, o->pgd_restarts, o->pgd_restarts > 1 ? "s" : "", s->n_attack,
           o->n_seeds > 1 ? "per model, 95% percentile bootstrap over the test examples; across "
                            "seeds, a Student-t interval of the seed-to-seed spread"
                          : "95% percentile bootstrap over the test examples (one seed: no "
                            "seed-to-seed interval)");
  lsp_doc_par(&d, buf);

  lsp_doc_heading(&d, 2, "Findings");
  if (f->n) {
    lsp_doc_findings(&d, f->items, f->n);
  } else {
    lsp_doc_par(&d, "No comparison: the run has no ε = 0 model to compare the smoothed models with.");
  }

  size_t re = s->ncmp ? lsp_findings_ref_eps(s, &s->models[s->cmp[0].base])
                      : (o->n_attack_eps > 1 ? 1 : 0);
  lsp_table *t = summary_table(s, re);
  if (!t) return LSP_ENOMEM;
  lsp_doc_heading(&d, 2, "Summary");
  lsp_doc_table(&d, t, "Per model (95% bootstrap intervals in brackets). T: temperature fitted on the validation split.");
  lsp_table_free(t);
  d_figure(&d, p, f_met, "Accuracy, calibration and penultimate-layer statistics against ε.");

  lsp_doc_heading(&d, 2, "Calibration");
  lsp_doc_par(&d, "Top-label confidence in equal-width bins ((m−1)/M, m/M] (Guo et al. 2017). Bars: "
            "accuracy per bin; hatched: the gap to the bin's mean confidence; below: the share "
            "of test examples per bin. Temperature scaling divides the logits by the T that "
            "minimizes the validation NLL.");
  d_figure(&d, p, f_rel, "Reliability diagrams, one per model, before temperature scaling.");
  if (!(t = calib_detail_table(s))) return LSP_ENOMEM;
  lsp_doc_table(&d, t, "Further calibration metrics (before temperature scaling unless stated).");
  lsp_table_free(t);

  lsp_doc_heading(&d, 2, "Penultimate layer");
  lsp_doc_par(&d, "Class separation R² (Kornblith et al. 2021): 1 − mean within-class cosine distance / "
            "mean overall cosine distance; higher = tighter, better separated classes. NC1 = "
            "tr(Σ_W Σ_B⁺)/K (Papyan et al. 2020); lower = more collapsed classes. The projection "
            "follows Müller et al. 2019: features (with a 1 appended) projected on the plane "
            "through the last-layer templates (weights with the bias appended) of three classes, "
            "the three most confused ones of the first model.");
  d_figure(&d, p, f_proj, "Penultimate-layer projections, same classes and axes for every model.");
  if (!(t = cluster_detail_table(s))) return LSP_ENOMEM;
  lsp_doc_table(&d, t, "Cluster statistics of the test set's penultimate features.");
  lsp_table_free(t);
  d_figure(&d, p, f_gap, "Logit gap with the gap at which the smoothed loss is minimal marked.");

  lsp_doc_heading(&d, 2, "Adversarial robustness");
  snprintf(buf, sizeof buf,
           "Accuracy over all attacked examples (not only the clean-correct ones). FGSM takes "
           "one step of size ε along the sign of the input gradient of the cross-entropy; PGD-%zu "
           "takes %zu steps of ε/4 from a random start, projected onto the ε-ball; the transfer "
           "attack runs PGD on the unsmoothed model and scores its adversarial inputs on the "
           "smoothed one. An iterative attack's accuracy at ε counts an example as robust only "
           "if it also survived every smaller ε.",
           o->pgd_steps, o->pgd_steps);
  lsp_doc_par(&d, buf);
  d_figure(&d, p, f_att, "Accuracy under attack against the attack ε.");
  if (!(t = mask_table(s))) return LSP_ENOMEM;
  lsp_doc_table(&d, t, "Gradient-masking checklist (Athalye et al. 2018).");
  lsp_table_free(t);

  lsp_doc_heading(&d, 2, "Training");
  d_figure(&d, p, f_tr, "Training loss and validation accuracy per epoch.");
  for (size_t i = 0; i < s->nmodels; i++) {
    snprintf(buf, sizeof buf, "%s: %s, %.1f s of training.", s->models[i].label,
             s->models[i].cache_note, s->models[i].train_seconds);
    lsp_doc_par(&d, buf);
  }

  lsp_doc_heading(&d, 2, "Reproduce");
  lsp_doc_code(&d, s->command);
  snprintf(buf, sizeof buf,
           "lsprobe %s, GSL %s, %d threads; started %s; %.1f s in all (data %.1f s, training "
           "%.1f s, analyses %.1f s, attacks %.1f s). Every number of this report is in "
           "results.json and the CSV tables beside it; the test logits, features and labels of "
           "each model are in dumps/.",
           LSP_VERSION, GSL_VERSION, s->threads, s->started, s->seconds_total, s->seconds_data,
           s->seconds_train, s->seconds_analysis, s->seconds_attacks);
  lsp_doc_par(&d, buf);
  return lsp_doc_close(&d);
}

int lsp_report_write(lsp_run_state *s, const char *dir) {
  char path[4096];
  int st;
  lsp_findings *f = calloc(1, sizeof *f);
  if (!f) return lsp_fail(LSP_ENOMEM, "out of memory");
  lsp_findings_compute(s, f);
  snprintf(path, sizeof path, "%s/results.json", dir);
  if ((st = write_json(s, f, path))) goto done;
  struct {
    const char *name;
    lsp_table *(*make)(const lsp_run_state *);
  } csvs[] = {{"models.csv", models_table},
              {"calibration_bins.csv", bins_table},
              {"attacks.csv", attacks_table},
              {"comparisons.csv", cmp_table},
              {"training.csv", training_table}};
  for (size_t i = 0; i < sizeof csvs / sizeof csvs[0]; i++) {
    lsp_table *t = csvs[i].make(s);
    if (!t) {
      st = lsp_fail(LSP_ENOMEM, "out of memory");
      goto done;
    }
    snprintf(path, sizeof path, "%s/%s", dir, csvs[i].name);
    st = lsp_csv_write(path, t);
    lsp_table_free(t);
    if (st) goto done;
  }
  plotter p = {s, dir, LSP_PLOT_SVG, 0, ""};
  lsp_plot_format fmt;
  lsp_plot_format_parse(s->opts.format, &fmt);
  if (fmt != LSP_PLOT_SVG) {
    p.extra = fmt;
    p.want_extra = 1;
  }
  snprintf(path, sizeof path, "%s/plots", dir);
  if ((st = lsp_mkdir_p(path))) goto done;
  st = write_docs(s, f, &p);
done:
  free(f);
  return st;
}
