/* lsp_cell.c — the context of a grid of cells and one cell's run
 * (lsp_cell.h): train or load, evaluate, attack, summarize. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "reports/lsp_cell_int.h"
#include "reports/lsp_study.h"

static const char *const stat_names[LSP_CELL_NSTAT] = {
    "accuracy", "nll",     "ece",      "ece_l2_debiased", "ece_t",  "r2_separation",
    "nc1",      "auc_fgsm", "auc_pgd", "auc_transfer", "auc_aa", "temperature", "logit_gap"};

const char *lsp_cell_stat_name(int stat) {
  return stat >= 0 && stat < LSP_CELL_NSTAT ? stat_names[stat] : NULL;
}

int lsp_cell_stat_inverted(int stat) {
  return stat == LSP_CELL_ECE || stat == LSP_CELL_ECE_L2_DEBIASED || stat == LSP_CELL_ECE_T;
}

void lsp_cell_key_string(const lsp_cell_key *k, char *buf, size_t len) {
  snprintf(buf, len, "%s|eps%g|seed%lu", k->arch, k->eps, k->seed);
}

int lsp_cell_ctx_alloc(const lsp_run_opts *o, const lsp_splits *data, const char *arch_canon,
                       const char *models_dir, lsp_cell_ctx **out) {
  *out = NULL;
  if (!o || !data || !models_dir) return lsp_fail(LSP_EINVAL, "cell context: NULL argument");
  if (o->n_attack_eps > LSP_CELL_MAX_ATTACK_EPS)
    return lsp_fail(LSP_EINVAL, "at most %d attack eps values", LSP_CELL_MAX_ATTACK_EPS);
  lsp_cell_ctx *c = calloc(1, sizeof *c);
  if (!c || !(c->models_dir = lsp_strdupf("%s", models_dir))) {
    free(c);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  c->opts = *o;
  c->data = data;
  c->n_attack = o->attack_limit && o->attack_limit < data->test.n ? o->attack_limit : data->test.n;
  c->B = o->bootstrap < LSP_CELL_MAX_B ? o->bootstrap : LSP_CELL_MAX_B;
  if (c->B < 1) c->B = 1;
  /* the example resampling plans: fixed numbers, the same for every cell
   * (and every run with the same sizes) */
  c->plan_seed[0] = 0x5eed7e57ull;
  c->plan_seed[1] = 0x5eedA77Aull;
  c->plan_seed[2] = 0x5eedAAAAull;
  c->plan_seed[3] = 0x5eedDA1Dull;
  lsp_model *m = NULL;
  int st = lsp_cell_build_model(c, &m);
  if (st) {
    lsp_cell_ctx_free(c);
    return st;
  }
  lsp_model_describe(m, c->arch_desc, sizeof c->arch_desc);
  size_t need = lsp_model_arch_string(m, c->arch, sizeof c->arch);
  lsp_model_free(m);
  if (need >= sizeof c->arch || (arch_canon && strcmp(arch_canon, c->arch) != 0)) {
    st = need >= sizeof c->arch
             ? lsp_fail(LSP_EINVAL, "architecture string too long for a cell key (%zu bytes)", need)
             : lsp_fail(LSP_EINVAL, "cell context: architecture %s is not the network's %s",
                        arch_canon, c->arch);
    lsp_cell_ctx_free(c);
    return st;
  }
  *out = c;
  return LSP_OK;
}

void lsp_cell_ctx_free(lsp_cell_ctx *c) {
  if (!c) return;
  free(c->models_dir);
  free(c);
}

size_t lsp_cell_ctx_resamples(const lsp_cell_ctx *c) { return c->B; }

int lsp_cell_ctx_keys(const lsp_cell_ctx *c, lsp_cell_key **keys, size_t *n) {
  const lsp_run_opts *o = &c->opts;
  *n = o->n_seeds * o->n_smoothing;
  *keys = calloc(*n ? *n : 1, sizeof **keys);
  if (!*keys) return lsp_fail(LSP_ENOMEM, "out of memory");
  for (size_t si = 0; si < o->n_seeds; si++)
    for (size_t ei = 0; ei < o->n_smoothing; ei++) {
      lsp_cell_key *k = &(*keys)[si * o->n_smoothing + ei];
      snprintf(k->arch, sizeof k->arch, "%s", c->arch);
      k->eps = o->smoothing[ei];
      k->seed = o->seeds[si];
    }
  return LSP_OK;
}

int lsp_cell_depends(const lsp_cell_ctx *c, const lsp_cell_key *k, lsp_cell_key *dep) {
  if (k->eps == 0) return 0;
  for (size_t ei = 0; ei < c->opts.n_smoothing; ei++)
    if (c->opts.smoothing[ei] == 0) {
      *dep = *k;
      dep->eps = 0;
      return 1;
    }
  return 0;
}

double lsp_cell_ctx_judged_eps(const lsp_cell_ctx *c) {
  return lsp_study_judged_eps(c->opts.smoothing, c->opts.n_smoothing);
}

int lsp_cell_runs_aa(const lsp_cell_ctx *c, const lsp_cell_key *k) {
  if (c->n_aa == 0) return 0;
  return c->opts.aa_all || k->eps == 0 || k->eps == lsp_cell_ctx_judged_eps(c);
}

void lsp_run_model_release(lsp_run_model *m) {
  if (!m) return;
  lsp_model_free(m->model);
  free(m->model_file);
  free(m->mi_d);
  lsp_train_log_free(&m->log);
  free(m->test_logits);
  free(m->test_features);
  free(m->val_logits);
  free(m->test_correct);
  lsp_calib_rows_free(m->rows);
  lsp_calib_rows_free(m->rows_t);
  lsp_calib_result_release(&m->cal);
  lsp_calib_result_release(&m->cal_t);
  lsp_clusters_free(m->clusters);
  free(m->gap_values);
  lsp_proj_free(m->proj);
  lsp_attack_result_free(&m->fgsm);
  lsp_attack_result_free(&m->pgd);
  lsp_attack_result_free(&m->transfer);
  lsp_attack_result_free(&m->aa);
  free(m->fgsm_correct);
  free(m->pgd_correct);
  free(m->transfer_correct);
  free(m->aa_correct);
  memset(m, 0, sizeof *m);
}

void lsp_cell_result_release(lsp_cell_result *r) {
  if (!r) return;
  free(r->resample);
  r->resample = NULL;
}

void lsp_cell_set_labels(const lsp_cell_ctx *c, lsp_run_model *rm, const lsp_cell_key *k) {
  const lsp_run_opts *o = &c->opts;
  rm->eps = k->eps;
  rm->seed = k->seed;
  snprintf(rm->tag, sizeof rm->tag, "eps%g_seed%lu", rm->eps, rm->seed);
  if (o->n_seeds > 1)
    snprintf(rm->label, sizeof rm->label, "ε = %g (%s), seed %lu", rm->eps,
             lsp_ls_convention_name(o->convention), rm->seed);
  else
    snprintf(rm->label, sizeof rm->label, "ε = %g (%s)", rm->eps,
             lsp_ls_convention_name(o->convention));
}

static void fill_curves(const lsp_cell_ctx *c, const lsp_run_model *rm, lsp_cell_result *r) {
  size_t ne = c->opts.n_attack_eps;
  r->n_attack_eps = ne;
  for (size_t e = 0; e < LSP_CELL_MAX_ATTACK_EPS; e++) {
    int in = e < ne;
    r->attack_eps[e] = in ? c->opts.attack_eps[e] : NAN;
    r->fgsm[e] = in ? rm->fgsm.points[e].accuracy : NAN;
    r->pgd[e] = in ? rm->pgd.points[e].accuracy : NAN;
    r->transfer[e] = in ? (rm->has_transfer ? rm->transfer : rm->pgd).points[e].accuracy : NAN;
    r->aa[e] = in && rm->has_aa ? rm->aa.points[e].accuracy : NAN;
  }
}

int lsp_cell_run(const lsp_cell_ctx *c, const lsp_cell_key *k, lsp_cell_result *res,
                 struct lsp_run_model *full, lsp_run_log_fn log, void *user) {
  memset(res, 0, sizeof *res);
  if (strcmp(k->arch, c->arch) != 0)
    return lsp_fail(LSP_EINVAL, "cell %s: the context's architecture is %s", k->arch, c->arch);
  lsp_cell_logger lg = {log, user};
  lsp_run_model local, *rm = full ? full : &local;
  memset(rm, 0, sizeof *rm);
  lsp_run_model base;
  memset(&base, 0, sizeof base);
  lsp_cell_set_labels(c, rm, k);
  int st;
  double t = lsp_now_s();
  st = lsp_cell_get_model(c, rm, 0, &lg);
  lsp_cell_key dk;
  const int dep = st == LSP_OK && lsp_cell_depends(c, k, &dk);
  if (dep) {
    lsp_cell_set_labels(c, &base, &dk);
    st = lsp_cell_get_model(c, &base, 1, &lg);
  }
  /* test hook (tests/cli_run.sh): LSPROBE_TEST_CELL_FAIL=E fails the cells of ε = E after training */
  const char *inject = getenv("LSPROBE_TEST_CELL_FAIL");
  if (!st && inject && *inject && strtod(inject, NULL) == k->eps)
    st = lsp_fail(LSP_EIO, "%s: injected failure after training", rm->label);
  if (st) goto done;
  res->seconds_train = lsp_now_s() - t;
  if (lsp_interrupted()) {
    st = lsp_fail(LSP_EINTR, "interrupted");
    goto done;
  }
  t = lsp_now_s();
  if ((st = lsp_cell_analyse(c, rm, 1))) goto done;
  rm->seconds_analysis = res->seconds_analysis = lsp_now_s() - t;
  t = lsp_now_s();
  lsp_cell_say(&lg, 0, "%s: FGSM and PGD-%zu sweeps over %zu attack eps on %zu test examples%s",
               rm->label, c->opts.pgd_steps, c->opts.n_attack_eps, c->n_attack,
               base.model ? ", and transfer from the eps = 0 model" : "");
  if ((st = lsp_cell_attack(c, rm, base.model, &lg))) goto done;
  if ((st = lsp_cell_autoattack(c, rm, &lg))) goto done;
  rm->seconds_attacks = res->seconds_attacks = lsp_now_s() - t;
  if (lsp_interrupted()) {
    st = lsp_fail(LSP_EINTR, "interrupted");
    goto done;
  }
  res->key = *k;
  res->cached = rm->cached;
  res->n_test = c->data->test.n;
  res->n_attack = c->n_attack;
  res->n_aa = rm->has_aa ? c->n_aa : 0;
  res->temperature = rm->temperature_ok ? rm->temperature : NAN;
  res->mask_flags = rm->has_mask ? rm->mask.flags : 0;
  res->mask_checks = rm->has_mask ? rm->mask.nchecks : 0;
  fill_curves(c, rm, res);
  st = lsp_cell_summarize(c, rm, res);
done:
  lsp_run_model_release(&base);
  if (!full) lsp_run_model_release(&local);
  if (st) lsp_cell_result_release(res);
  return st;
}
