/* lsp_run_aa.c — AutoAttack as the run's strong attack, in each cell
 * (lsp_cell_int.h), and its paired differences (lsp_run_int.h).
 *
 * The protocol (APGD-CE, then APGD-T, then Square on the examples still
 * correct; attacks/) costs far more than PGD-10, so it runs on the first
 * n_aa of the attacked test examples, the same for every model (the
 * comparisons are paired). n_aa comes from a work budget, not from a
 * clock, so a run is reproducible: the predicted forward passes per
 * example are, over the attack ε > 0,
 *   c·2(S+1)            APGD-CE: forward and input gradient at S+1
 *                       iterates, for the clean-correct share c
 *   + a_ε·(2T(S+1) + Q) APGD-T's T targets and Square's Q queries for the
 *                       share a_ε that PGD left correct (APGD-CE is the
 *                       stronger attack, so this over-predicts)
 * times the model's FLOPs per forward pass, in the worst case c = a_ε = 1
 * (so the subset is fixed by the options before any cell runs); n_aa is
 * the budget over that, capped by aa_limit and the attacked examples, then
 * rounded down to a multiple of 50 when it is 50 or more (below 50 it
 * stays: a limit under 50 is the user's explicit choice). It never exceeds
 * the limit nor the budget; a budget below one example's prediction runs
 * no AutoAttack, and the note says what one example needs. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_boot.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"
#include "reports/lsp_cell_int.h"

#define AA_ROUND 50 /* a subset of 50 or more is a multiple of this */

/* Predicted GFLOP of AutoAttack per attacked example (see the top), in
 * the worst case c = a_ε = 1: every example clean-correct and left correct
 * by PGD. It depends on the options and the network alone, never on a
 * result, so every cell of a run gets the same subset (lsp_cell.h). */
static double predict_gflop(const lsp_cell_ctx *c, const lsp_model *m,
                            const lsp_attack_opts *ao) {
  const double S1 = (double)ao->apgd_steps + 1.0, Q = (double)ao->queries;
  const double K1 = (double)c->data->test.k - 1.0;
  const double T = (double)ao->targets < K1 ? (double)ao->targets : K1;
  double passes = 0.0;
  for (size_t e = 0; e < c->opts.n_attack_eps; e++)
    if (c->opts.attack_eps[e] > 0.0) passes += 2.0 * S1 + (2.0 * T * S1 + Q);
  return passes * lsp_model_flops(m) * 1e-9;
}

static void aa_opts(const lsp_cell_ctx *c, lsp_attack_opts *ao) {
  lsp_attack_opts_default(ao);
  ao->kind = LSP_ATTACK_AUTOATTACK;
  ao->lo = c->data->lo;
  ao->hi = c->data->hi;
  ao->apgd_steps = c->opts.aa_steps;
  ao->queries = c->opts.aa_queries;
}

typedef struct {
  const lsp_cell_logger *lg;
  const char *what;
  double last;
} aa_progress;

static void on_progress(const lsp_attack_progress *p, void *user) {
  aa_progress *c = user;
  double t = lsp_now_s();
  if (t - c->last < 0.5 && p->done < p->total) return;
  c->last = t;
  lsp_cell_say(c->lg, 2, "  %s: autoattack (%s) eps %.3g  %3.0f%%", c->what, p->stage, p->eps,
               100.0 * (double)p->done / (double)(p->total ? p->total : 1));
}

int lsp_cell_aa_size(lsp_cell_ctx *c, char *note, size_t len, double *pred_gflop) {
  const lsp_run_opts *o = &c->opts;
  const lsp_dataset *te = &c->data->test;
  c->n_aa = 0;
  *pred_gflop = 0.0;
  note[0] = '\0';
  if (o->aa_limit == 0) {
    snprintf(note, len, "AutoAttack was not run (--aa-limit 0).");
    return LSP_OK;
  }
  if (te->k < 4) {
    snprintf(note, len,
             "AutoAttack was not run: its targeted stage needs at least 4 "
             "classes (this data set has %d).",
             te->k);
    return LSP_OK;
  }
  lsp_attack_opts ao;
  aa_opts(c, &ao);
  lsp_model *m = NULL;
  int st = lsp_cell_build_model(c, &m);
  if (st) return st;
  double pred = predict_gflop(c, m, &ao);
  lsp_model_free(m);
  size_t n = c->n_attack < o->aa_limit ? c->n_attack : o->aa_limit;
  if (pred > 0.0 && o->aa_budget / pred < (double)n) n = (size_t)(o->aa_budget / pred);
  if (n >= AA_ROUND) n -= n % AA_ROUND;
  *pred_gflop = pred;
  if (n == 0 && c->n_attack > 0) {
    snprintf(note, len,
             "AutoAttack was not run: its budget of %g GFLOP per model (--aa-budget) is below "
             "the %.3g GFLOP predicted for one example.",
             o->aa_budget, pred);
    return LSP_OK;
  }
  c->n_aa = n;
  return LSP_OK;
}

int lsp_cell_autoattack(const lsp_cell_ctx *c, lsp_run_model *rm, const lsp_cell_logger *lg) {
  const lsp_dataset *te = &c->data->test;
  const size_t ne = c->opts.n_attack_eps, n = c->n_aa;
  const lsp_cell_key k = {.eps = rm->eps, .seed = rm->seed};
  if (n == 0 || !lsp_cell_runs_aa(c, &k)) return LSP_OK;
  lsp_attack_opts ao;
  aa_opts(c, &ao);
  /* each ε only on the examples no smaller ε broke: the same envelope, less
   * work (lsp_attack.h) */
  ao.skip_broken = 1;
  aa_progress pc = {lg, rm->label, 0.0};
  ao.progress = on_progress;
  ao.user = &pc;
  ao.seed = rm->seed;
  rm->aa_correct = malloc(n * ne);
  if (!rm->aa_correct) return lsp_fail(LSP_ENOMEM, "out of memory");
  ao.correct = rm->aa_correct;
  double t = lsp_now_s();
  int st = lsp_attack_run(rm->model, NULL, te->x, te->y, n, te->dim, c->opts.attack_eps, ne, &ao,
                          &rm->aa);
  if (st) return lsp_fail_prefix(st, "AutoAttack");
  rm->has_aa = 1;
  rm->seconds_aa = lsp_now_s() - t;
  if (rm->has_mask) {
    lsp_mask_opts mo;
    lsp_mask_opts_default(&mo);
    if ((st = lsp_attack_checklist_aa(&rm->aa, NULL, &mo, &rm->mask))) return st;
  }
  return LSP_OK;
}

int lsp_run_aa_compare(const lsp_run_state *s, lsp_run_cmp *c,
                       unsigned long long seed) {
  const lsp_run_model *a = &s->models[c->model], *b = &s->models[c->base];
  if (!a->has_aa || !b->has_aa) return LSP_OK;
  const size_t ne = s->opts.n_attack_eps, n = s->n_aa;
  c->aa_diff = calloc(ne, sizeof(double));
  c->aa_lo = calloc(ne, sizeof(double));
  c->aa_hi = calloc(ne, sizeof(double));
  if (!c->aa_diff || !c->aa_lo || !c->aa_hi)
    return lsp_fail(LSP_ENOMEM, "out of memory");
  for (size_t e = 0; e < ne; e++) {
    int st = lsp_boot_paired_diff(a->aa_correct + e * n, b->aa_correct + e * n,
                                  n, (int)s->opts.bootstrap, seed + e,
                                  &c->aa_diff[e], &c->aa_lo[e], &c->aa_hi[e]);
    if (st) return st;
  }
  return LSP_OK;
}
