/* lsp_apgd.c — Auto-PGD, L∞ (Croce & Hein 2020, Algorithm 1).
 *
 * For every example still correctly classified, in batches of rows that
 * each carry their own state:
 *   x⁰ = clip_box(x + ε·u/‖u‖∞), u uniform in [−1, 1)^d  (a random corner
 *        direction scaled onto the ε-ball's surface)
 *   x¹ = clip_box(x⁰ + η·sign ∇f(x⁰))
 *   z = clip_box(xᵏ + η·sign ∇f(xᵏ)),
 *   xᵏ⁺¹ = clip_box(xᵏ + α(z − xᵏ) + (1 − α)(xᵏ − xᵏ⁻¹)),  α = 0.75
 * with η = 2ε at first and clip_box the clip to [max(lo, x − ε),
 * min(hi, x + ε)], all in float32. f is the loss (CE, DLR or targeted DLR,
 * maximized); f_max and x_max track the best iterate. At each checkpoint
 * w_j (lsp_apgd_checkpoints) the step size is halved and the iterate set
 * back to x_max (with the gradient there) when
 *   1. the loss rose in fewer than ρ·(w_j − w_{j−1}) of the steps since
 *      w_{j−1} (ρ = 0.75), or
 *   2. η was not halved at w_{j−1} and f_max has not risen since then.
 * The momentum term after such a restart uses the iterate before it
 * (xᵏ⁻¹ is kept). Every iterate, x⁰ included, is classified: an example is
 * broken at the first one the model gets wrong, and then leaves the batch
 * (the other rows' trajectories do not depend on it). Random starts depend
 * only on (seed, stage, example). The batches of each target and restart
 * are cut from the list of the examples alive when it starts and shared
 * among lsprobe's threads (lsp_attack_team.c): the same batches, each
 * writing only its own examples' outcomes, whatever the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"

#define APGD_MOMENTUM 0.75f /* α */
#define APGD_RHO 0.75       /* condition 1 */
#define APGD_MAXCK 16       /* checkpoints: at most 8 exist */

size_t lsp_apgd_checkpoints(size_t steps, size_t *w, size_t max) {
  /* p_j in hundredths: exact, so that ⌈p_j·steps⌉ does not suffer from
   * 0.22·100 = 22.000000000000004 */
  size_t n = 0, p = 22, prev = 0, last = 0;
  while (p <= 100) {
    size_t wj = (p * steps + 99) / 100;
    if (wj > last) { /* few steps can map two onto one iteration */
      if (n < max) w[n] = wj;
      n++;
      last = wj;
    }
    size_t inc = p - prev >= 9 ? p - prev - 3 : 6;
    prev = p;
    p += inc;
  }
  return n;
}

int lsp_apgd_halve(size_t rises, size_t span, int halved_last, double fmax,
                   double fmax_last) {
  const int stalled = (double)rises < APGD_RHO * (double)span; /* cond. 1 */
  const int flat = !halved_last && !(fmax > fmax_last);        /* cond. 2 */
  return stalled || flat;
}

/* Rows of the batch: per-row state and B×dim vectors. */
typedef struct {
  size_t *idx;
  int32_t *lab, *tgt, *pred_best, *bpred;
  float *eta, *conf_best, *bconf;
  double *fcur, *fbest, *fbest_ck, *lossv;
  uint32_t *nincr;
  uint8_t *red_ck, *drop;
  float *xc, *xp, *xbest, *gbest, *blo, *bhi; /* B×dim */
  size_t zeros, evals; /* this thread's input-gradient components */
} apgd_ws;

static void ws_free(apgd_ws *w) {
  free(w->idx);
  free(w->lab);
  free(w->tgt);
  free(w->pred_best);
  free(w->bpred);
  free(w->eta);
  free(w->conf_best);
  free(w->bconf);
  free(w->fcur);
  free(w->fbest);
  free(w->fbest_ck);
  free(w->lossv);
  free(w->nincr);
  free(w->red_ck);
  free(w->drop);
  free(w->xc);
  free(w->xp);
  free(w->xbest);
  free(w->gbest);
  free(w->blo);
  free(w->bhi);
}

static int ws_alloc(apgd_ws *w, size_t b, size_t dim) {
  memset(w, 0, sizeof *w);
  w->idx = malloc(b * sizeof *w->idx);
  w->lab = malloc(b * sizeof *w->lab);
  w->tgt = malloc(b * sizeof *w->tgt);
  w->pred_best = malloc(b * sizeof *w->pred_best);
  w->bpred = malloc(b * sizeof *w->bpred);
  w->eta = malloc(b * sizeof *w->eta);
  w->conf_best = malloc(b * sizeof *w->conf_best);
  w->bconf = malloc(b * sizeof *w->bconf);
  w->fcur = malloc(b * sizeof *w->fcur);
  w->fbest = malloc(b * sizeof *w->fbest);
  w->fbest_ck = malloc(b * sizeof *w->fbest_ck);
  w->lossv = malloc(b * sizeof *w->lossv);
  w->nincr = malloc(b * sizeof *w->nincr);
  w->red_ck = malloc(b);
  w->drop = malloc(b);
  w->xc = malloc(b * dim * sizeof *w->xc);
  w->xp = malloc(b * dim * sizeof *w->xp);
  w->xbest = malloc(b * dim * sizeof *w->xbest);
  w->gbest = malloc(b * dim * sizeof *w->gbest);
  w->blo = malloc(b * dim * sizeof *w->blo);
  w->bhi = malloc(b * dim * sizeof *w->bhi);
  if (!w->idx || !w->lab || !w->tgt || !w->pred_best || !w->bpred || !w->eta ||
      !w->conf_best || !w->bconf || !w->fcur || !w->fbest || !w->fbest_ck ||
      !w->lossv || !w->nincr || !w->red_ck || !w->drop || !w->xc || !w->xp ||
      !w->xbest || !w->gbest || !w->blo || !w->bhi) {
    ws_free(w);
    memset(w, 0, sizeof *w);
    return lsp_fail(LSP_ENOMEM, "apgd: out of memory for %zu rows", b);
  }
  return LSP_OK;
}

/* Row `from` of every per-row array to row `to`. */
static void move_row(apgd_ws *w, float *gb, size_t dim, size_t from,
                     size_t to) {
  float *v[] = {w->xc, w->xp, w->xbest, w->gbest, w->blo, w->bhi, gb};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    memcpy(v[i] + to * dim, v[i] + from * dim, dim * sizeof(float));
  w->idx[to] = w->idx[from];
  w->lab[to] = w->lab[from];
  w->tgt[to] = w->tgt[from];
  w->pred_best[to] = w->pred_best[from];
  w->eta[to] = w->eta[from];
  w->conf_best[to] = w->conf_best[from];
  w->fcur[to] = w->fcur[from];
  w->fbest[to] = w->fbest[from];
  w->fbest_ck[to] = w->fbest_ck[from];
  w->nincr[to] = w->nincr[from];
  w->red_ck[to] = w->red_ck[from];
}

/* Drop the rows marked in w->drop; returns the new row count. */
static size_t compact(apgd_ws *w, float *gb, size_t dim, size_t na) {
  size_t k = 0;
  for (size_t a = 0; a < na; a++) {
    if (w->drop[a]) continue;
    if (k != a) move_row(w, gb, dim, a, k);
    k++;
  }
  return k;
}

/* Forward the na rows of w->xc: predictions, confidences, losses and (if
 * grad) the input gradient into c->gb. */
static int evaluate(lsp_attack_ctx *c, apgd_ws *w, size_t na,
                    lsp_attack_loss loss, int grad) {
  const float *z = NULL;
  int s = lsp_attack_forward_src(c, w->xc, na, &z);
  if (s) return s;
  if ((s = lsp_attack_score(z, na, c->k, w->bpred, w->bconf))) return s;
  if ((s = lsp_attack_loss_rows(loss, NULL, z, w->lab, w->tgt, na, c->k,
                                1, w->lossv, grad ? c->dz : NULL)))
    return s;
  if (!grad) return LSP_OK;
  if ((s = lsp_model_backward(c->src, c->ws_src, c->dz, LSP_BACK_INPUT, c->gb)))
    return s;
  c->flops += c->fwd_src * (double)na;
  size_t rows = 0; /* the rows still correct: the others are dropped */
  w->zeros += lsp_attack_count_zeros_correct(c, c->gb, na, w->bpred, c->y,
                                             w->idx, &rows);
  w->evals += rows * c->nread;
  return LSP_OK;
}

/* The first misclassified iterate of row a breaks its example. */
static void record_fooled(const lsp_attack_ctx *c, apgd_ws *w, size_t a,
                          lsp_aa_state *st) {
  size_t ii = w->idx[a];
  st->alive[ii] = 0;
  st->pred[ii] = w->bpred[a];
  st->conf[ii] = w->bconf[a];
  if (st->keep)
    memcpy(st->keep + ii * c->dim, w->xc + a * c->dim,
           c->dim * sizeof *st->keep);
  w->drop[a] = 1;
}

/* The class at rank r (0 = largest) of one row of logits; lower index
 * first on ties. O(K·r), r is at most K − 1 and small in practice. */
static int32_t rank_class(const float *z, size_t k, size_t r) {
  size_t prev = 0;
  for (size_t q = 0; q <= r; q++) {
    size_t best = k;
    for (size_t j = 0; j < k; j++) {
      /* strictly after the previous pick in the (value desc, index asc)
       * order */
      if (q > 0 && (z[j] > z[prev] || (z[j] == z[prev] && j <= prev))) continue;
      if (best == k || z[j] > z[best]) best = j;
    }
    prev = best;
  }
  return (int32_t)prev;
}

/* One APGD run over a batch of na rows whose idx/lab/tgt are set. */
static int run_batch(lsp_attack_ctx *c, apgd_ws *w, size_t na, double eps,
                     lsp_attack_loss loss, uint64_t stage, lsp_aa_state *st) {
  const size_t dim = c->dim, S = c->o->apgd_steps;
  const float lo = c->o->lo, hi = c->o->hi, ef = (float)eps;
  size_t ck[APGD_MAXCK];
  size_t nck = lsp_apgd_checkpoints(S, ck, APGD_MAXCK);
  float *gb = c->gb;
  for (size_t a = 0; a < na; a++) {
    const size_t ii = w->idx[a];
    const float *xs = c->x + ii * dim;
    float *xr = w->xc + a * dim, *bl = w->blo + a * dim, *bh = w->bhi + a * dim;
    const uint64_t key = lsp_attack_stream(c->o->seed, stage, ii);
    double um = 0.0;
    for (size_t j = 0; j < dim; j++) {
      double u = 2.0 * lsp_attack_unif(key, j) - 1.0;
      xr[j] = (float)u; /* the direction, kept (in float) until scaled */
      if (fabs(u) > um) um = fabs(u);
    }
    if (um == 0.0) um = 1.0;
    for (size_t j = 0; j < dim; j++) { /* x + ε·u/‖u‖∞ in double, clipped */
      float l = xs[j] - ef, h = xs[j] + ef;
      bl[j] = l > lo ? l : lo;
      bh[j] = h < hi ? h : hi;
      float v = (float)((double)xs[j] + eps * (double)xr[j] / um);
      xr[j] = v < bl[j] ? bl[j] : v > bh[j] ? bh[j] : v;
    }
    w->eta[a] = 2.0f * ef;
    w->drop[a] = 0;
  }
  int s = evaluate(c, w, na, loss, S > 0);
  if (s) return s;
  for (size_t a = 0; a < na; a++) {
    if (w->bpred[a] != c->y[w->idx[a]]) {
      record_fooled(c, w, a, st);
      continue;
    }
    w->fcur[a] = w->fbest[a] = w->fbest_ck[a] = w->lossv[a];
    w->nincr[a] = 0;
    w->red_ck[a] = 0;
    w->pred_best[a] = w->bpred[a];
    w->conf_best[a] = w->bconf[a];
    memcpy(w->xbest + a * dim, w->xc + a * dim, dim * sizeof(float));
    memcpy(w->gbest + a * dim, gb + a * dim, dim * sizeof(float));
  }
  na = compact(w, gb, dim, na);
  size_t j = 0, wprev = 0;
  for (size_t i = 0; i < S && na > 0; i++) {
    /* the step from xᵏ (xc) and xᵏ⁻¹ (xp) */
    for (size_t a = 0; a < na; a++) {
      float *xc = w->xc + a * dim, *xp = w->xp + a * dim;
      const float *g = gb + a * dim, *bl = w->blo + a * dim,
                  *bh = w->bhi + a * dim;
      const float e = w->eta[a];
      for (size_t q = 0; q < dim; q++) {
        float x = xc[q];
        float zq = lsp_attack_step(x, g[q], e, bl[q], bh[q]), v = zq;
        if (i > 0) {
          v = x + APGD_MOMENTUM * (zq - x) +
              (1.0f - APGD_MOMENTUM) * (x - xp[q]);
          v = v < bl[q] ? bl[q] : v > bh[q] ? bh[q] : v;
        }
        xp[q] = x;
        xc[q] = v;
      }
      w->drop[a] = 0;
    }
    const int last = i + 1 == S;
    if ((s = evaluate(c, w, na, loss, !last))) return s;
    for (size_t a = 0; a < na; a++) {
      if (w->bpred[a] != c->y[w->idx[a]]) {
        record_fooled(c, w, a, st);
        continue;
      }
      double f = w->lossv[a];
      if (f > w->fcur[a]) w->nincr[a]++;
      w->fcur[a] = f;
      if (f > w->fbest[a]) {
        w->fbest[a] = f;
        w->pred_best[a] = w->bpred[a];
        w->conf_best[a] = w->bconf[a];
        memcpy(w->xbest + a * dim, w->xc + a * dim, dim * sizeof(float));
        if (!last)
          memcpy(w->gbest + a * dim, gb + a * dim, dim * sizeof(float));
      }
    }
    if (j < nck && i + 1 == ck[j]) {
      const size_t h = ck[j] - wprev;
      for (size_t a = 0; a < na; a++) {
        if (w->drop[a]) continue;
        const int halve = lsp_apgd_halve(w->nincr[a], h, w->red_ck[a],
                                         w->fbest[a], w->fbest_ck[a]);
        w->red_ck[a] = (uint8_t)halve;
        if (halve) {
          w->eta[a] *= 0.5f;
          memcpy(w->xc + a * dim, w->xbest + a * dim, dim * sizeof(float));
          memcpy(gb + a * dim, w->gbest + a * dim, dim * sizeof(float));
          w->fcur[a] = w->fbest[a];
        }
        w->fbest_ck[a] = w->fbest[a];
        w->nincr[a] = 0;
      }
      wprev = ck[j++];
    }
    na = compact(w, gb, dim, na);
  }
  /* survivors keep their strongest input */
  for (size_t a = 0; a < na; a++) {
    size_t ii = w->idx[a];
    st->pred[ii] = w->pred_best[a];
    st->conf[ii] = w->conf_best[a];
    if (st->keep)
      memcpy(st->keep + ii * dim, w->xbest + a * dim, dim * sizeof(float));
  }
  return LSP_OK;
}

/* One target and restart: the alive examples (rows, their targets tgt),
 * in batches of B. */
typedef struct {
  apgd_ws *ws; /* one per thread */
  size_t *rows;
  int32_t *tgt;
  size_t nrows;
  double eps;
  lsp_attack_loss loss;
  uint64_t key;
  lsp_aa_state *st;
} apgd_job;

static int apgd_batch(lsp_attack_ctx *c, int t, size_t b, void *arg,
                      size_t *passes) {
  apgd_job *j = arg;
  apgd_ws *w = &j->ws[t];
  const size_t i0 = b * c->batch;
  const size_t na = j->nrows - i0 < c->batch ? j->nrows - i0 : c->batch;
  for (size_t a = 0; a < na; a++) {
    w->idx[a] = j->rows[i0 + a];
    w->lab[a] = c->y[w->idx[a]];
    w->tgt[a] = j->tgt[i0 + a];
  }
  *passes = na * (c->o->apgd_steps + 1);
  return run_batch(c, w, na, j->eps, j->loss, j->key, j->st);
}

int lsp_apgd_run(lsp_attack_ctx *c, double eps, lsp_attack_loss loss,
                 size_t targets, uint64_t stage, lsp_aa_state *st) {
  const int targeted = loss == LSP_ALOSS_DLR_TARGETED;
  const size_t n = c->n, B = c->batch, R = c->o->restarts;
  const size_t T = targeted ? (targets < c->k - 1 ? targets : c->k - 1) : 1;
  const char *name = loss == LSP_ALOSS_CE    ? "apgd-ce"
                     : loss == LSP_ALOSS_DLR ? "apgd-dlr"
                                             : "apgd-t";
  apgd_job j = {.eps = eps, .loss = loss, .st = st};
  lsp_attack_team *team = NULL;
  int nt = 0, s = LSP_OK;
  size_t nalive = 0;
  for (size_t i = 0; i < n; i++) nalive += st->alive[i];
  if (nalive == 0) return LSP_OK;
  j.rows = malloc(nalive * sizeof *j.rows);
  j.tgt = malloc(nalive * sizeof *j.tgt);
  if (!j.rows || !j.tgt) {
    s = lsp_fail(LSP_ENOMEM, "%s: out of memory for %zu examples", name, n);
    goto done;
  }
  if ((s = lsp_attack_team_alloc(c, (nalive + B - 1) / B, &team))) goto done;
  nt = lsp_attack_team_size(team);
  if (!(j.ws = calloc((size_t)nt, sizeof *j.ws))) {
    s = lsp_fail(LSP_ENOMEM, "%s: out of memory for %d threads", name, nt);
    goto done;
  }
  for (int t = 0; t < nt && s == LSP_OK; t++) s = ws_alloc(&j.ws[t], B, c->dim);
  for (size_t t = 0; t < T && s == LSP_OK; t++)
    for (size_t r = 0; r < R && s == LSP_OK; r++) {
      j.key = (stage << 32) | ((uint64_t)t << 16) | r;
      j.nrows = 0;
      for (size_t i = 0; i < n; i++) {
        if (!st->alive[i]) continue;
        int32_t tg = -1;
        if (targeted) {
          tg = rank_class(c->clean_logits + i * c->k, c->k, t + 1);
          if (tg == c->y[i]) continue; /* cannot happen when clean-correct */
        }
        j.rows[j.nrows] = i;
        j.tgt[j.nrows++] = tg;
      }
      s = lsp_attack_team_run(team, (j.nrows + B - 1) / B, apgd_batch, &j,
                              name, eps, r + 1);
    }
  for (int t = 0; t < nt && j.ws; t++) { /* the counts, in thread order */
    st->zeros += j.ws[t].zeros;
    st->evals += j.ws[t].evals;
  }
done:
  for (int t = 0; t < nt && j.ws; t++)
    if (j.ws[t].idx) ws_free(&j.ws[t]);
  free(j.ws);
  lsp_attack_team_free(team);
  free(j.rows);
  free(j.tgt);
  return s;
}
