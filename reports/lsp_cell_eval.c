/* lsp_cell_eval.c — what a cell measures on its model: the test pass,
 * calibration before and after temperature scaling, clusters, the logit
 * gap, and the attacks (FGSM, PGD, transfer, AutoAttack on its subset). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "reports/lsp_cell_int.h"

typedef lsp_cell_logger logger;
#define say lsp_cell_say

/* ---- the test pass and the analyses ------------------------------------------- */

int lsp_cell_analyse(const lsp_cell_ctx *s, lsp_run_model *rm, int intervals) {
  const lsp_run_opts *o = &s->opts;
  const lsp_dataset *te = &s->data->test, *va = &s->data->val;
  size_t k = (size_t)te->k, h = lsp_model_feature_dim(rm->model);
  int st;
  rm->test_logits = malloc(te->n * k * sizeof(float));
  rm->test_features = malloc(te->n * h * sizeof(float));
  rm->val_logits = malloc((va->n ? va->n : 1) * k * sizeof(float));
  rm->test_correct = malloc(te->n);
  rm->gap_values = malloc(te->n * sizeof(double));
  if (!rm->test_logits || !rm->test_features || !rm->val_logits || !rm->test_correct ||
      !rm->gap_values)
    return lsp_fail(LSP_ENOMEM, "out of memory for the test pass");
  /* one pass: logits and features of the test set; logits of validation */
  if ((st = lsp_model_predict(rm->model, te->x, te->n, 1024, rm->test_logits, rm->test_features)))
    return st;
  if (va->n && (st = lsp_model_predict(rm->model, va->x, va->n, 1024, rm->val_logits, NULL)))
    return st;
  for (size_t i = 0; i < te->n; i++) {
    const float *z = rm->test_logits + i * k;
    rm->test_correct[i] = (uint8_t)(lsp_argmax_f32(z, k) == (size_t)te->y[i]);
  }
  /* calibration before and after temperature scaling, with intervals */
  lsp_calib_opts co = lsp_calib_opts_default();
  co.bins = (int)o->bins;
  lsp_calib_boot boot = {(int)o->bootstrap, rm->seed * 1000003ull + 17, lsp_threads_get(),
                         LSP_CALIB_CI_INVERSION};
  if ((st = lsp_calib_rows_from_logits(rm->test_logits, te->y, te->n, k, 1.0, "test logits",
                                       &rm->rows)) ||
      (st = lsp_calib_rows_score(rm->rows, &co, &rm->cal)) ||
      (intervals && (st = lsp_calib_bootstrap(rm->rows, &co, &boot, &rm->cal))))
    return st;
  rm->temperature = NAN;
  if (va->n) {
    st = lsp_calib_temperature_fit(rm->val_logits, va->y, va->n, k, &rm->temperature);
    if (st == LSP_OK) {
      rm->temperature_ok = 1;
    } else if (st == LSP_EDATA) {
      snprintf(rm->temperature_note, sizeof rm->temperature_note, "%s", lsp_errmsg());
    } else {
      return st;
    }
  } else {
    snprintf(rm->temperature_note, sizeof rm->temperature_note, "no validation split");
  }
  double inv_t = rm->temperature_ok ? 1.0 / rm->temperature : 1.0;
  if ((st = lsp_calib_rows_from_logits(rm->test_logits, te->y, te->n, k, inv_t, "test logits",
                                       &rm->rows_t)) ||
      (st = lsp_calib_rows_score(rm->rows_t, &co, &rm->cal_t)) ||
      (intervals && (st = lsp_calib_bootstrap(rm->rows_t, &co, &boot, &rm->cal_t))))
    return st;
  rm->cal_t.temperature = rm->temperature_ok ? rm->temperature : 1.0;
  /* penultimate-layer clusters and the logit gap */
  rm->clusters = lsp_clusters_alloc(k);
  if (!rm->clusters) return LSP_ENOMEM;
  if ((st = lsp_clusters_compute(rm->test_features, te->y, te->n, h, rm->clusters))) {
    if (st != LSP_EDATA) return lsp_fail_prefix(st, "clusters");
    /* a network whose penultimate units are all dead on the test set: its
     * training failed, and its cell (and the study) has nothing to say */
    char why[512];
    snprintf(why, sizeof why, "%s", lsp_errmsg());
    if (rm->clusters->n_zero_rows == te->n) /* counted before it failed */
      return lsp_fail(LSP_EDATA,
                      "%s: the trained network's penultimate features are zero on every "
                      "test example (its units died in training: a learning rate too high?), "
                      "so it has no clusters to measure (%s)",
                      rm->label, why);
    if (rm->clusters->n_zero_rows > 0) /* dead rows left fewer than two classes */
      return lsp_fail(LSP_EDATA,
                      "%s: the trained network's penultimate features are zero on %zu of "
                      "%zu test examples (units that died in training: a learning rate too "
                      "high?), too few classes left to measure clusters on (%s)",
                      rm->label, rm->clusters->n_zero_rows, te->n, why);
    return lsp_fail(LSP_EDATA, "%s: clusters: %s", rm->label, why);
  }
  lsp_ls ls = {rm->eps, o->convention, 0};
  if ((st = lsp_logitgap_compute(rm->test_logits, te->y, te->n, k, &ls, &rm->gap,
                                 rm->gap_values, NULL)))
    return st;
  return LSP_OK;
}

/* ---- attacks ---------------------------------------------------------------- */

typedef struct {
  const logger *lg;
  const char *what;
  double last;
} attack_ctx;

static void on_attack(const lsp_attack_progress *p, void *user) {
  attack_ctx *c = user;
  double t = lsp_now_s();
  if (t - c->last < 0.5 && p->done < p->total) return;
  c->last = t;
  say(c->lg, 2, "  %s: %s eps %.3g  %3.0f%%", c->what, p->stage, p->eps,
      100.0 * (double)p->done / (double)(p->total ? p->total : 1));
}

int lsp_cell_attack(const lsp_cell_ctx *s, lsp_run_model *rm, lsp_model *base,
                    const logger *lg) {
  const lsp_run_opts *o = &s->opts;
  const lsp_dataset *te = &s->data->test;
  size_t n = s->n_attack, ne = o->n_attack_eps;
  lsp_attack_opts ao;
  lsp_attack_opts_default(&ao);
  ao.lo = s->data->lo;
  ao.hi = s->data->hi;
  ao.seed = rm->seed;
  attack_ctx ac = {lg, rm->label, 0};
  ao.progress = on_attack;
  ao.user = &ac;
  rm->fgsm_correct = malloc(n * ne);
  rm->pgd_correct = malloc(n * ne);
  rm->transfer_correct = malloc(n * ne);
  if (!rm->fgsm_correct || !rm->pgd_correct || !rm->transfer_correct)
    return lsp_fail(LSP_ENOMEM, "out of memory for attack results");
  int st;
  ao.kind = LSP_ATTACK_FGSM;
  ao.correct = rm->fgsm_correct;
  if ((st = lsp_attack_run(rm->model, NULL, te->x, te->y, n, te->dim, o->attack_eps, ne, &ao,
                           &rm->fgsm)))
    return lsp_fail_prefix(st, "FGSM");
  ao.kind = LSP_ATTACK_PGD;
  ao.steps = o->pgd_steps;
  ao.restarts = o->pgd_restarts;
  ao.correct = rm->pgd_correct;
  if ((st = lsp_attack_run(rm->model, NULL, te->x, te->y, n, te->dim, o->attack_eps, ne, &ao,
                           &rm->pgd)))
    return lsp_fail_prefix(st, "PGD");
  if (base) {
    /* transfer: PGD crafted on the unsmoothed model, scored on this one */
    ao.correct = rm->transfer_correct;
    if ((st = lsp_attack_run(base, rm->model, te->x, te->y, n, te->dim, o->attack_eps,
                             ne, &ao, &rm->transfer)))
      return lsp_fail_prefix(st, "transfer");
    rm->has_transfer = 1;
  }
  return lsp_cell_checklist(rm);
}

int lsp_cell_checklist(lsp_run_model *rm) {
  lsp_mask_opts mo;
  lsp_mask_opts_default(&mo);
  int st = lsp_attack_checklist(&rm->fgsm, &rm->pgd, rm->has_transfer ? &rm->transfer : NULL,
                                &mo, &rm->mask);
  if (st) return st;
  rm->has_mask = 1;
  return rm->has_aa ? lsp_attack_checklist_aa(&rm->aa, NULL, &mo, &rm->mask) : LSP_OK;
}
