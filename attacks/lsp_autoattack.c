/* lsp_autoattack.c — sweeps of the AutoAttack family over ε: APGD-CE,
 * APGD-DLR, APGD-T, Square alone, and the AutoAttack protocol (Croce &
 * Hein 2020): APGD-CE, then APGD-T on the examples it left correct, then
 * Square on the ones left after that; an example is robust only if it
 * survives all three (the worst case per example).
 *
 * Each ε is attacked on its own, starting from the clean-correct examples
 * (a misclassified clean input counts as broken without an attack). Every
 * stage draws from its own streams keyed by (seed, stage, example), the
 * same whether it runs alone or inside the protocol: AutoAttack's APGD-CE
 * stage equals APGD-CE run alone, example by example. The reported
 * accuracy is the envelope over ε (lsp_attack_envelope).
 *
 * With skip_broken the ε are taken in ascending order and each starts
 * from the examples every smaller ε left correct: the others count as
 * broken at this ε without an attack (the input that broke them lies in
 * this ball too) and keep that input's prediction and confidence. Since
 * every example's attack depends only on the example (its own streams,
 * its own rows of a batch), the envelope is the same example by example
 * as without skipping; only the per-ε-alone numbers (accuracy_raw, the
 * stages, the queries) now count the skipped examples as broken. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

/* Stream numbers of the stages (part of every random draw's key). */
enum { STAGE_CE = 1, STAGE_DLR = 2, STAGE_T = 3, STAGE_SQUARE = 4 };

static double share_alive(const uint8_t *alive, size_t n) {
  size_t a = 0;
  for (size_t i = 0; i < n; i++) a += alive[i];
  return (double)a / (double)n;
}

static int attack_eps(lsp_attack_ctx *c, double eps, lsp_aa_state *st,
                      double stage[LSP_AA_NSTAGES]) {
  const lsp_attack_opts *o = c->o;
  int s = LSP_OK;
  switch (o->kind) {
    case LSP_ATTACK_APGD_CE:
      return lsp_apgd_run(c, eps, LSP_ALOSS_CE, 0, STAGE_CE, st);
    case LSP_ATTACK_APGD_DLR:
      return lsp_apgd_run(c, eps, LSP_ALOSS_DLR, 0, STAGE_DLR, st);
    case LSP_ATTACK_APGD_T:
      return lsp_apgd_run(c, eps, LSP_ALOSS_DLR_TARGETED, o->targets, STAGE_T,
                          st);
    case LSP_ATTACK_SQUARE:
      return lsp_square_run(c, eps, STAGE_SQUARE, st);
    default: /* the protocol */
      if ((s = lsp_apgd_run(c, eps, LSP_ALOSS_CE, 0, STAGE_CE, st))) return s;
      stage[0] = share_alive(st->alive, c->n);
      if ((s = lsp_apgd_run(c, eps, LSP_ALOSS_DLR_TARGETED, o->targets, STAGE_T,
                            st)))
        return s;
      stage[1] = share_alive(st->alive, c->n);
      if ((s = lsp_square_run(c, eps, STAGE_SQUARE, st))) return s;
      stage[2] = share_alive(st->alive, c->n);
      return LSP_OK;
  }
}

/* Queries of the examples Square broke: mean and median. */
static void query_stats(const lsp_aa_state *st, size_t n, double *buf,
                        lsp_attack_point *p) {
  size_t m = 0;
  double total = 0.0, sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    total += st->queries[i];
    if (st->by_square[i]) {
      buf[m++] = st->queries[i];
      sum += st->queries[i];
    }
  }
  p->queries_total = total;
  if (m == 0) return; /* NaN from lsp_attack_summarize */
  qsort(buf, m, sizeof *buf, lsp_cmp_double);
  p->queries_mean = sum / (double)m;
  p->queries_median = lsp_percentile_sorted(buf, m, 0.5);
}

int lsp_aa_sweep(lsp_attack_ctx *c, const double *eps, size_t neps,
                 lsp_attack_result *out) {
  const size_t n = c->n, dim = c->dim;
  const lsp_attack_opts *o = c->o;
  const lsp_attack_kind kind = o->kind;
  lsp_aa_state st;
  memset(&st, 0, sizeof st);
  const int skip = o->skip_broken;
  uint8_t *ok = malloc(neps * n);
  uint8_t *env = malloc(n);
  size_t *order = malloc(neps * sizeof *order);
  double *qbuf = malloc(n * sizeof *qbuf);
  st.pred = malloc(n * sizeof *st.pred);
  st.conf = malloc(n * sizeof *st.conf);
  st.queries = malloc(n * sizeof *st.queries);
  st.by_square = malloc(n);
  int s = LSP_OK;
  if (!ok || !env || !order || !qbuf || !st.pred || !st.conf || !st.queries || !st.by_square) {
    s = lsp_fail(LSP_ENOMEM, "%s: out of memory", lsp_attack_kind_name(kind));
    goto done;
  }
  /* progress budget in example-passes (early exits make it an upper bound) */
  const size_t T = o->targets < c->k - 1 ? o->targets : c->k - 1;
  const size_t apgd = o->restarts * (o->apgd_steps + 1),
               sq = o->restarts * o->queries;
  size_t per = kind == LSP_ATTACK_APGD_T       ? T * apgd
               : kind == LSP_ATTACK_SQUARE     ? sq
               : kind == LSP_ATTACK_AUTOATTACK ? apgd + T * apgd + sq
                                               : apgd;
  size_t npos = 0;
  for (size_t i = 0; i < neps; i++) npos += eps[i] > 0.0;
  c->total = n + npos * n * per;
  if ((s = lsp_attack_clean_pass(c))) goto done;

  /* the order of the ε: as given, or ascending (stable) when skipping */
  for (size_t i = 0; i < neps; i++) order[i] = i;
  for (size_t a = 1; skip && a < neps; a++)
    for (size_t b = a; b > 0 && eps[order[b - 1]] > eps[order[b]]; b--) {
      size_t t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
  for (size_t j = 0; j < n; j++) env[j] = c->clean_pred[j] == c->y[j];
  memcpy(st.pred, c->clean_pred, n * sizeof *st.pred);
  memcpy(st.conf, c->clean_conf, n * sizeof *st.conf);
  for (size_t a = 0; a < neps; a++) {
    const size_t i = order[a];
    lsp_attack_point *p = &out->points[i];
    st.alive = ok + i * n;
    st.keep = o->adv && o->adv_point == i ? o->adv : NULL;
    st.zeros = st.evals = 0;
    for (size_t j = 0; j < n; j++) {
      const int clean_ok = c->clean_pred[j] == c->y[j];
      st.alive[j] = (uint8_t)(skip ? env[j] : clean_ok);
      if (skip && clean_ok && !env[j]) continue; /* keeps the smaller ε's */
      st.pred[j] = c->clean_pred[j];
      st.conf[j] = c->clean_conf[j];
    }
    memset(st.queries, 0, n * sizeof *st.queries);
    memset(st.by_square, 0, n);
    if (st.keep) memcpy(st.keep, c->x, n * dim * sizeof *st.keep);
    double stage[LSP_AA_NSTAGES];
    const double clean = share_alive(st.alive, n);
    for (int k = 0; k < LSP_AA_NSTAGES; k++) stage[k] = clean;
    if (eps[i] > 0.0 && (s = attack_eps(c, eps[i], &st, stage))) goto done;
    p->eps = eps[i];
    lsp_attack_summarize(c, st.alive, st.pred, st.conf, p);
    p->zero_grad_share = st.evals ? (double)st.zeros / (double)st.evals : NAN;
    if (kind == LSP_ATTACK_AUTOATTACK)
      for (int k = 0; k < LSP_AA_NSTAGES; k++) p->stage_accuracy[k] = stage[k];
    if (kind == LSP_ATTACK_SQUARE || kind == LSP_ATTACK_AUTOATTACK)
      query_stats(&st, n, qbuf, p);
    for (size_t j = 0; j < n; j++) env[j] &= st.alive[j];
  }
  s = lsp_attack_envelope(c, eps, neps, ok, out);
done:
  free(ok);
  free(env);
  free(order);
  free(qbuf);
  free(st.pred);
  free(st.conf);
  free(st.queries);
  free(st.by_square);
  return s;
}
