/* lsp_fgsm.c — the FGSM sweep: one input gradient, every ε scored from it.
 *
 * Pass 1 (batched forward + input backward through src) stores sign(∇ₓL)
 * as one byte per input component and, for a white-box attack, takes the
 * clean predictions from the same forward. Pass 2 builds, for each ε and
 * batch, x' = clip(x + ε·sign, lo, hi) and runs one forward through dst.
 * At ε = 0, x' = x bitwise (inputs are inside the bounds), so the clean
 * predictions are reused instead of a forward.
 *
 * Batches are independent: with lsprobe's thread count above one and
 * OpenBLAS at one thread (as `lsprobe attack` sets it for FGSM), the
 * batches of each pass are handed to a team of threads, each with its own
 * workspaces; a batch is computed the same way whichever thread takes it,
 * so the results are the same bits for every thread count. With OpenBLAS
 * at several threads the batches stay serial and OpenBLAS splits each
 * GEMM (two teams on the same cores would take each other's time). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_pool.h"
#include "core/base/lsp_threads.h"

/* Pass 1 on the batch at row i0: the signs of the input gradient. */
static int grad_batch(lsp_attack_ctx *c, int8_t *sg, size_t i0,
                      size_t *zeros) {
  size_t nb = c->n - i0 < c->batch ? c->n - i0 : c->batch;
  const float *xb = c->x + i0 * c->dim, *z = NULL;
  int st = lsp_attack_forward_src(c, xb, nb, &z);
  if (st) return st;
  if (!c->transfer) {
    lsp_attack_score(z, nb, c->k, c->clean_pred + i0, c->clean_conf + i0);
    lsp_attack_set_labels(c, z, i0, nb);
  }
  if ((st = lsp_attack_backward_src(c, z, c->lab + i0, nb, zeros))) return st;
  const float *g = c->gb;
  int8_t *s = sg + i0 * c->dim;
  for (size_t j = 0; j < nb * c->dim; j++)
    s[j] = (int8_t)((g[j] > 0.0f) - (g[j] < 0.0f));
  return LSP_OK;
}

/* Pass 2 on the batch at row i0: x' from the signs, dst's predictions. */
static int eps_batch(lsp_attack_ctx *c, const int8_t *sg, size_t i0, float ef,
                     int32_t *pred, float *conf, float *keep) {
  size_t nb = c->n - i0 < c->batch ? c->n - i0 : c->batch;
  const float lo = c->o->lo, hi = c->o->hi;
  const float *xs = c->x + i0 * c->dim;
  const int8_t *s = sg + i0 * c->dim;
  float *xb = c->xb;
  const size_t cnt = nb * c->dim;
  for (size_t j = 0; j < cnt; j++)
    xb[j] = lsp_attack_step(xs[j], (float)s[j], ef, lo, hi);
  const float *z = NULL;
  int st = lsp_model_forward(c->dst, c->ws_dst, xb, nb, &z, NULL);
  if (st) return st;
  c->flops += c->fwd_dst * (double)nb;
  lsp_attack_score(z, nb, c->k, pred + i0, conf + i0);
  if (keep) memcpy(keep + i0 * c->dim, xb, cnt * sizeof *keep);
  return LSP_OK;
}

/* One pass over the batches by a team (or by the caller alone: pool NULL):
 * ctx[t] is thread t's context (ctx[0] the caller's), batches taken in turn
 * from `next`; thread 0 also reports progress for the rows every thread
 * finished. */
typedef struct {
  lsp_pool *pool;
  lsp_attack_ctx **ctx;
  int8_t *sg;
  int32_t *pred;
  float *conf, *keep;
  int pass; /* 1: gradient signs; 2: the ε below */
  double eps;
  float ef;
  atomic_size_t next, zeros, rows; /* rows: finished, not yet reported */
  atomic_int st;
  char msg[1024];
} team_job;

static void fail_team(team_job *j, int st) {
  int zero = 0;
  if (atomic_compare_exchange_strong(&j->st, &zero, st))
    snprintf(j->msg, sizeof j->msg, "%s", lsp_errmsg());
}

static void team_main(void *arg, int t, int nt) {
  (void)nt;
  team_job *j = arg;
  lsp_attack_ctx *c = j->ctx[t];
  size_t zeros = 0;
  for (;;) {
    size_t b = atomic_fetch_add(&j->next, 1), i0 = b * c->batch;
    if (i0 >= c->n || atomic_load(&j->st)) break;
    size_t nb = c->n - i0 < c->batch ? c->n - i0 : c->batch;
    int st = j->pass == 1
                 ? grad_batch(c, j->sg, i0, &zeros)
                 : eps_batch(c, j->sg, i0, j->ef, j->pred, j->conf, j->keep);
    if (!st && lsp_interrupted()) st = lsp_fail(LSP_EINTR, "interrupted");
    if (st) {
      fail_team(j, st);
      break;
    }
    atomic_fetch_add(&j->rows, nb);
    if (t == 0 && (st = lsp_attack_tick(c, j->pass == 1 ? "gradient" : "fgsm",
                                        j->eps, 1, atomic_exchange(&j->rows, 0)))) {
      fail_team(j, st);
      break;
    }
  }
  atomic_fetch_add(&j->zeros, zeros);
}

/* Runs one pass (j->pass, eps, ef, pred, conf, keep set). */
static int team_pass(team_job *j, size_t *zeros) {
  atomic_store(&j->next, 0);
  atomic_store(&j->zeros, 0);
  atomic_store(&j->rows, 0);
  if (j->pool)
    lsp_pool_run(j->pool, team_main, j);
  else
    team_main(j, 0, 1);
  int st = atomic_load(&j->st);
  if (st) return lsp_fail(st, "%s", j->msg);
  if (zeros) *zeros += atomic_load(&j->zeros);
  size_t left = atomic_load(&j->rows);
  return left ? lsp_attack_tick(j->ctx[0], j->pass == 1 ? "gradient" : "fgsm",
                                j->eps, 1, left)
              : LSP_OK;
}

/* The team's contexts: thread 0 uses c, the others copies of it with their
 * own workspaces and buffers. Returns the team size (1: run serially). */
static int team_alloc(lsp_attack_ctx *c, lsp_attack_ctx **ctx,
                      lsp_attack_ctx *own, int max) {
  int nt = lsp_threads_get();
  size_t nbatch = (c->n + c->batch - 1) / c->batch;
  if (nt > max) nt = max;
  if ((size_t)nt > nbatch) nt = (int)nbatch;
  ctx[0] = c;
  if (nt < 2 || lsp_threads_get_blas() != 1) return 1;
  for (int t = 1; t < nt; t++) {
    lsp_attack_ctx *o = &own[t];
    *o = *c;
    o->flops = 0.0;
    o->ws_src = lsp_model_ws_alloc(c->src, c->batch);
    o->ws_dst = c->transfer ? lsp_model_ws_alloc(c->dst, c->batch) : o->ws_src;
    o->xb = malloc(c->batch * c->dim * sizeof *o->xb);
    o->gb = malloc(c->batch * c->dim * sizeof *o->gb);
    o->dz = malloc(c->batch * c->k * sizeof *o->dz);
    ctx[t] = o;
    if (!o->ws_src || !o->ws_dst || !o->xb || !o->gb || !o->dz) return -t - 1;
  }
  return nt;
}

static void team_free(lsp_attack_ctx **ctx, int nt, lsp_attack_ctx *c) {
  for (int t = 1; t < nt; t++) {
    lsp_attack_ctx *o = ctx[t];
    c->flops += o->flops;
    if (o->ws_dst != o->ws_src) lsp_model_ws_free(o->ws_dst);
    lsp_model_ws_free(o->ws_src);
    free(o->xb);
    free(o->gb);
    free(o->dz);
  }
}

enum { TEAM_MAX = 64 };

int lsp_fgsm_sweep(lsp_attack_ctx *c, const double *eps, size_t neps,
                   lsp_attack_result *out) {
  const size_t n = c->n, dim = c->dim;
  int8_t *sg = malloc(n * dim);
  int32_t *pred = malloc(n * sizeof *pred);
  float *conf = malloc(n * sizeof *conf);
  uint8_t *correct = malloc(n);
  lsp_attack_ctx *own = malloc(TEAM_MAX * sizeof *own), *ctx[TEAM_MAX];
  team_job *job = calloc(1, sizeof *job);
  int st = LSP_OK, nt = 1;
  if (!sg || !pred || !conf || !correct || !own || !job) {
    st =
        lsp_fail(LSP_ENOMEM, "fgsm: out of memory for %zu x %zu signs", n, dim);
    goto done;
  }
  nt = team_alloc(c, ctx, own, TEAM_MAX);
  if (nt < 0) {
    nt = -nt;
    st = lsp_fail(LSP_ENOMEM, "fgsm: out of memory for %d threads' workspaces",
                  nt);
    goto done;
  }
  job->ctx = ctx, job->sg = sg, job->pred = pred, job->conf = conf;
  atomic_init(&job->st, 0);
  if (nt > 1 && !(job->pool = lsp_pool_alloc(nt))) {
    st = LSP_ENOMEM;
    goto done;
  }
  size_t npos = 0;
  for (size_t e = 0; e < neps; e++) npos += eps[e] > 0.0;
  c->total = n * (c->transfer ? 2 : 1) + n * npos;

  /* pass 1: the input gradient at x, once */
  if (c->transfer && (st = lsp_attack_clean_pass(c))) goto done;
  size_t zeros = 0;
  job->pass = 1;
  if ((st = team_pass(job, &zeros))) goto done;
  const double zshare = (double)zeros / ((double)n * (double)c->nread);

  /* pass 2: every ε from the stored signs */
  for (size_t e = 0; e < neps; e++) {
    float *keep = c->o->adv && c->o->adv_point == e ? c->o->adv : NULL;
    if (eps[e] == 0.0) {
      memcpy(pred, c->clean_pred, n * sizeof *pred);
      memcpy(conf, c->clean_conf, n * sizeof *conf);
      if (keep) memcpy(keep, c->x, n * dim * sizeof *keep);
    } else {
      job->pass = 2, job->eps = eps[e], job->keep = keep;
      job->ef = (float)eps[e] * (float)c->dir;
      if ((st = team_pass(job, NULL))) goto done;
    }
    for (size_t i = 0; i < n; i++) correct[i] = pred[i] == c->y[i];
    if (c->o->correct) memcpy(c->o->correct + e * n, correct, n);
    lsp_attack_point *p = &out->points[e];
    p->eps = eps[e];
    lsp_attack_summarize(c, correct, pred, conf, p);
    p->zero_grad_share = zshare;
  }
done:
  if (job) lsp_pool_free(job->pool);
  if (nt > 1) team_free(ctx, nt, c);
  free(job);
  free(own);
  free(sg);
  free(pred);
  free(conf);
  free(correct);
  return st;
}
