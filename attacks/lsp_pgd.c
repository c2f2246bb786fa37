/* lsp_pgd.c — BIM and PGD (L∞) with restarts.
 *
 * For each ε and restart, a batch of rows runs all S steps before the next
 * batch starts, so its activations stay in cache:
 *   x⁰ = x (BIM) or clip_box(x + ε·u), u uniform in [−1, 1) (PGD)
 *   xˢ⁺¹ = clip_box(xˢ + dir·α·sign(∇ₓL(xˢ)))
 * where clip_box clips to [max(lo, x − ε), min(hi, x + ε)] (both bounds
 * computed in float32) and α = 2.5·ε/S unless given: the S steps span
 * 2.5ε whatever S, enough to cross the ball (2ε wide) from any random
 * start with room to spare; ε/4, the same bits, at the default S = 10.
 * (A fixed ε/4 left fewer than 8 steps unable to cross it: PGD-5 then
 * came out weaker than FGSM on ordinary models.) The random start of
 * example i in restart r comes from a GSL taus2 generator seeded from
 * (seed, r, i) alone, so every ε sees the same start directions, and the
 * numbers depend neither on the batch size nor on the thread count: the
 * batches of each (ε, restart) are shared among lsprobe's threads
 * (lsp_attack_team.c), each batch writes only its own examples' outcomes,
 * and the zero-gradient counts are integers summed per thread.
 *
 * An example is robust at ε only if the scoring model classifies every
 * restart's iterates correctly (white-box untargeted: every iterate, with
 * early exit; otherwise: the last iterate). The reported accuracy additionally
 * requires robustness at every smaller ε of the sweep and on x itself (a
 * valid adversarial input in a smaller ball is one in a larger ball), so it
 * cannot rise with ε; accuracy_raw is the per-ε number alone. */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

/* splitmix64 finalizer: decorrelates nearby (seed, restart, example). */
static unsigned long mix_seed(unsigned long seed, size_t r, size_t i) {
  uint64_t z = lsp_mix64((uint64_t)seed * 0x9e3779b97f4a7c15ull +
                         (uint64_t)r * 0xd1b54a32d192ed03ull +
                         (uint64_t)i * 0x8cb92ba72f3d8dd7ull);
  return (unsigned long)(z & 0xffffffffull) | 1ul;
}

/* One thread's batch scratch and counts. */
typedef struct {
  float *blo, *bhi;    /* batch×dim: the box of each active row           */
  int32_t *bpred;      /* batch                                           */
  float *bconf;        /* batch                                           */
  int32_t *blab;       /* batch: gradient labels of the active rows       */
  size_t *idx;         /* batch: example index of each active row         */
  gsl_rng *rng;        /* the random starts                               */
  size_t zeros, evals; /* gradient components: exactly zero / all         */
} pgd_ws;

/* One ε's outcome (a batch writes only its own examples' rows) and the
 * pass being run. */
typedef struct {
  uint8_t *alive; /* n: not fooled by any restart so far             */
  int32_t *pred;  /* n: prediction on the kept x'                    */
  float *conf;    /* n: confidence on the kept x'                    */
  float *keep;    /* n×dim or NULL: the kept x'                      */
  pgd_ws *ws;     /* one per thread                                  */
  double eps;
  size_t r; /* the restart */
} eps_state;

/* Record the outcome of active row a (example ii) at iterate xrow: the first
 * fooling x' over all restarts is kept, else the latest one. */
static void record(const lsp_attack_ctx *c, eps_state *e, size_t ii, int32_t p,
                   float cf, const float *xrow) {
  if (!e->alive[ii]) return;
  e->pred[ii] = p;
  e->conf[ii] = cf;
  if (e->keep) memcpy(e->keep + ii * c->dim, xrow, c->dim * sizeof *xrow);
  if (p != c->y[ii]) e->alive[ii] = 0;
}

/* Batch b of restart e->r at ε = e->eps on thread t: S steps.
 *
 * Early exit (white-box, untargeted): the forward of every step already
 * classifies the current iterate, so an example is counted as fooled at
 * the first iterate the model gets wrong — that iterate is a valid
 * adversarial input inside the ball, so this is never weaker than judging
 * the last iterate only — and it leaves the batch (no more steps), as do
 * examples fooled by an earlier restart. Otherwise (targeted, transfer, or
 * full_steps) every example runs all S steps and its last iterate is
 * scored on dst. */
static int pgd_batch(lsp_attack_ctx *c, int t, size_t b, void *arg,
                     size_t *passes) {
  eps_state *e = arg;
  pgd_ws *w = &e->ws[t];
  const double eps = e->eps;
  const size_t n = c->n, dim = c->dim, S = c->o->steps, r = e->r;
  const float lo = c->o->lo, hi = c->o->hi, ef = (float)eps;
  const float af =
      (float)(c->o->step_size > 0.0 ? c->o->step_size
                                    : eps * (2.5 / (double)S)) *
      (float)c->dir;
  const int pgd = c->o->kind == LSP_ATTACK_PGD;
  const int early =
      !c->transfer && c->o->target == LSP_TARGET_NONE && !c->o->full_steps;
  /* (lsp_attack_run records the same rule in the result's early_exit) */
  const size_t i0 = b * c->batch;
  const size_t nb = n - i0 < c->batch ? n - i0 : c->batch;
  size_t na = 0;
  float *xb = c->xb;
  *passes = nb * (S + 1);
  /* the active rows: every example not fooled by an earlier restart */
  for (size_t i = 0; i < nb; i++)
    if (e->alive[i0 + i] || !early) {
      size_t ii = i0 + i;
      const float *xs = c->x + ii * dim;
      float *xr = xb + na * dim, *bl = w->blo + na * dim,
            *bh = w->bhi + na * dim;
      for (size_t j = 0; j < dim; j++) {
        float l = xs[j] - ef, h = xs[j] + ef;
        bl[j] = l > lo ? l : lo;
        bh[j] = h < hi ? h : hi;
      }
      if (pgd) {
        gsl_rng_set(w->rng, mix_seed(c->o->seed, r, ii));
        for (size_t j = 0; j < dim; j++) {
          float v = xs[j] + ef * (float)(2.0 * gsl_rng_uniform(w->rng) - 1.0);
          xr[j] = v < bl[j] ? bl[j] : v > bh[j] ? bh[j] : v;
        }
      } else {
        memcpy(xr, xs, dim * sizeof *xr);
      }
      w->blab[na] = c->lab[ii];
      w->idx[na++] = ii;
    }
  for (size_t s = 0; s < S && na > 0; s++) {
    const float *z = NULL;
    int st = lsp_attack_forward_src(c, xb, na, &z);
    if (st) return st;
    size_t fooled = 0;
    if (early) {
      if ((st = lsp_attack_score(z, na, c->k, w->bpred, w->bconf))) return st;
      for (size_t a = 0; a < na; a++)
        if (w->bpred[a] != c->y[w->idx[a]]) {
          record(c, e, w->idx[a], w->bpred[a], w->bconf[a], xb + a * dim);
          fooled++;
        }
      if (fooled == na) {
        na = 0;
        break;
      }
    }
    /* zero_grad_share counts the rows still classified correctly (white-box
     * untargeted; with early exit the others are dropped unstepped) */
    const int judged = !c->transfer && c->o->target == LSP_TARGET_NONE;
    if (judged && !early &&
        (st = lsp_attack_score(z, na, c->k, w->bpred, w->bconf)))
      return st;
    if ((st = lsp_attack_backward_src(c, z, w->blab, na))) return st;
    const float *g = c->gb;
    size_t rows = 0;
    w->zeros += lsp_attack_count_zeros_correct(
        c, g, na, judged ? w->bpred : NULL, c->y, w->idx, &rows);
    w->evals += rows * c->nread;
    for (size_t a = 0; a < na; a++) {
      if (fooled && w->bpred[a] != c->y[w->idx[a]]) continue;
      float *xr = xb + a * dim;
      const float *ga = g + a * dim, *bl = w->blo + a * dim,
                  *bh = w->bhi + a * dim;
      for (size_t j = 0; j < dim; j++)
        xr[j] = lsp_attack_step(xr[j], ga[j], af, bl[j], bh[j]);
    }
    if (fooled) { /* drop the fooled rows from the batch */
      size_t k = 0;
      for (size_t a = 0; a < na; a++) {
        if (w->bpred[a] != c->y[w->idx[a]]) continue;
        if (k != a) {
          memcpy(xb + k * dim, xb + a * dim, dim * sizeof *xb);
          memcpy(w->blo + k * dim, w->blo + a * dim, dim * sizeof *xb);
          memcpy(w->bhi + k * dim, w->bhi + a * dim, dim * sizeof *xb);
          w->blab[k] = w->blab[a];
          w->idx[k] = w->idx[a];
        }
        k++;
      }
      na = k;
    }
  }
  if (na > 0) { /* score the last iterates on dst */
    const float *z = NULL;
    int st = lsp_model_forward(c->dst, c->ws_dst, xb, na, &z, NULL);
    if (st) return st;
    c->flops += c->fwd_dst * (double)na;
    if ((st = lsp_attack_score(z, na, c->k, w->bpred, w->bconf))) return st;
    for (size_t a = 0; a < na; a++)
      record(c, e, w->idx[a], w->bpred[a], w->bconf[a], xb + a * dim);
  }
  return LSP_OK;
}

static void ws_free(pgd_ws *w) {
  free(w->blo);
  free(w->bhi);
  free(w->bpred);
  free(w->bconf);
  free(w->blab);
  free(w->idx);
  if (w->rng) gsl_rng_free(w->rng);
}

static int ws_alloc(pgd_ws *w, size_t batch, size_t dim) {
  w->blo = malloc(batch * dim * sizeof *w->blo);
  w->bhi = malloc(batch * dim * sizeof *w->bhi);
  w->bpred = malloc(batch * sizeof *w->bpred);
  w->bconf = malloc(batch * sizeof *w->bconf);
  w->blab = malloc(batch * sizeof *w->blab);
  w->idx = malloc(batch * sizeof *w->idx);
  w->rng = gsl_rng_alloc(gsl_rng_taus2);
  return w->blo && w->bhi && w->bpred && w->bconf && w->blab && w->idx &&
         w->rng;
}

int lsp_pgd_sweep(lsp_attack_ctx *c, const double *eps, size_t neps,
                  lsp_attack_result *out) {
  const size_t n = c->n, dim = c->dim, S = c->o->steps, R = c->o->restarts;
  const size_t nbatch = (n + c->batch - 1) / c->batch;
  const char *stage = c->o->kind == LSP_ATTACK_PGD ? "pgd" : "bim";
  eps_state e;
  memset(&e, 0, sizeof e);
  lsp_attack_team *team = NULL;
  uint8_t *ok = malloc(neps * n);
  e.pred = malloc(n * sizeof *e.pred);
  e.conf = malloc(n * sizeof *e.conf);
  int st = LSP_OK, nt = 0;
  if (!ok || !e.pred || !e.conf) goto oom;
  if ((st = lsp_attack_team_alloc(c, nbatch, &team))) goto done;
  nt = lsp_attack_team_size(team);
  if (!(e.ws = calloc((size_t)nt, sizeof *e.ws))) goto oom;
  for (int t = 0; t < nt; t++)
    if (!ws_alloc(&e.ws[t], c->batch, dim)) goto oom;
  size_t npos = 0;
  for (size_t i = 0; i < neps; i++) npos += eps[i] > 0.0;
  c->total = n + npos * R * n * (S + 1);
  if ((st = lsp_attack_clean_pass(c))) goto done;

  for (size_t i = 0; i < neps; i++) {
    lsp_attack_point *p = &out->points[i];
    e.alive = ok + i * n;
    e.keep = c->o->adv && c->o->adv_point == i ? c->o->adv : NULL;
    p->eps = eps[i];
    if (eps[i] == 0.0) { /* every iterate is x itself */
      for (size_t j = 0; j < n; j++) e.alive[j] = c->clean_pred[j] == c->y[j];
      memcpy(e.pred, c->clean_pred, n * sizeof *e.pred);
      memcpy(e.conf, c->clean_conf, n * sizeof *e.conf);
      if (e.keep) memcpy(e.keep, c->x, n * dim * sizeof *e.keep);
      p->zero_grad_share = NAN; /* no gradient evaluated */
    } else {
      for (int t = 0; t < nt; t++) e.ws[t].zeros = e.ws[t].evals = 0;
      memset(e.alive, 1, n);
      e.eps = eps[i];
      for (e.r = 0; e.r < R; e.r++)
        if ((st = lsp_attack_team_run(team, nbatch, pgd_batch, &e, stage,
                                      eps[i], e.r + 1)))
          goto done;
      size_t zeros = 0, evals = 0;
      for (int t = 0; t < nt; t++) {
        zeros += e.ws[t].zeros;
        evals += e.ws[t].evals;
      }
      p->zero_grad_share = evals ? (double)zeros / (double)evals : NAN;
    }
    lsp_attack_summarize(c, e.alive, e.pred, e.conf, p);
  }

  st = lsp_attack_envelope(c, eps, neps, ok, out);
  goto done;
oom:
  st = lsp_fail(LSP_ENOMEM, "%s: out of memory",
                lsp_attack_kind_name(c->o->kind));
done:
  for (int t = 0; e.ws && t < nt; t++) ws_free(&e.ws[t]);
  free(e.ws);
  lsp_attack_team_free(team);
  free(ok);
  free(e.pred);
  free(e.conf);
  return st;
}
