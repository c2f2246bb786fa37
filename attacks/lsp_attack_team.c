/* lsp_attack_team.c — the batches of an attack pass shared among lsprobe's
 * threads (FGSM, BIM/PGD, APGD, Square).
 *
 * With lsprobe's thread count above one and OpenBLAS at one thread (as
 * `lsprobe attack`, `eval` and `run` set it), the batches of a pass are
 * handed to a team of threads, each with its own workspaces (a copy of
 * the caller's context); the threads take batches in turn from a shared
 * counter. The engines make every batch independent of the others and of
 * the thread that runs it (its rows, its random streams, its own rows of
 * the shared per-example outputs), so the results are the same bits for
 * every thread count. With OpenBLAS at several threads the batches stay
 * serial and OpenBLAS splits each GEMM (two teams on the same cores would
 * take each other's time). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_pool.h"
#include "core/base/lsp_threads.h"

struct lsp_attack_team {
  lsp_attack_ctx *c; /* the caller's context (thread 0) */
  lsp_attack_ctx own[LSP_ATTACK_TEAM_MAX]; /* copies for threads 1, 2, ... */
  lsp_attack_ctx *ctx[LSP_ATTACK_TEAM_MAX]; /* thread t's context */
  int nt;
  lsp_pool *pool; /* NULL: the caller alone */
  /* the pass being run */
  size_t nbatch;
  lsp_attack_batch_fn fn;
  void *arg;
  const char *stage;
  double eps;
  size_t restart;
  atomic_size_t next, passes; /* passes: finished, not yet reported */
  atomic_int st;
  char msg[1024];
};

static atomic_size_t g_parallel_runs;

size_t lsp_attack_team_parallel_runs(void) {
  return atomic_load(&g_parallel_runs);
}

static void free_copy(lsp_attack_ctx *o) {
  if (o->ws_dst != o->ws_src) lsp_model_ws_free(o->ws_dst);
  lsp_model_ws_free(o->ws_src);
  free(o->xb);
  free(o->gb);
  free(o->dz);
}

int lsp_attack_team_alloc(lsp_attack_ctx *c, size_t nbatch,
                          lsp_attack_team **out) {
  *out = NULL;
  lsp_attack_team *tm = calloc(1, sizeof *tm);
  if (!tm) return lsp_fail(LSP_ENOMEM, "attack: out of memory for a team");
  int nt = lsp_threads_get();
  if (nt > LSP_ATTACK_TEAM_MAX) nt = LSP_ATTACK_TEAM_MAX;
  if ((size_t)nt > nbatch) nt = (int)nbatch;
  if (nt < 2 || lsp_threads_get_blas() != 1) nt = 1;
  tm->c = c;
  tm->ctx[0] = c;
  tm->nt = 1;
  atomic_init(&tm->st, 0);
  for (int t = 1; t < nt; t++) {
    lsp_attack_ctx *o = &tm->own[t];
    *o = *c;
    o->flops = 0.0;
    o->ws_src = lsp_model_ws_alloc(c->src, c->batch);
    o->ws_dst = c->transfer ? lsp_model_ws_alloc(c->dst, c->batch) : o->ws_src;
    o->xb = malloc(c->batch * c->dim * sizeof *o->xb);
    o->gb = malloc(c->batch * c->dim * sizeof *o->gb);
    o->dz = malloc(c->batch * c->k * sizeof *o->dz);
    tm->ctx[t] = o;
    tm->nt = t + 1;
    if (!o->ws_src || !o->ws_dst || !o->xb || !o->gb || !o->dz) {
      lsp_attack_team_free(tm);
      return lsp_fail(LSP_ENOMEM,
                      "attack: out of memory for %d threads' workspaces", nt);
    }
  }
  if (nt > 1 && !(tm->pool = lsp_pool_alloc(nt))) {
    lsp_attack_team_free(tm);
    return LSP_ENOMEM;
  }
  *out = tm;
  return LSP_OK;
}

int lsp_attack_team_size(const lsp_attack_team *tm) { return tm->nt; }

lsp_attack_ctx *lsp_attack_team_ctx(lsp_attack_team *tm, int t) {
  return tm->ctx[t];
}

void lsp_attack_team_free(lsp_attack_team *tm) {
  if (!tm) return;
  lsp_pool_free(tm->pool);
  for (int t = 1; t < tm->nt; t++) {
    tm->c->flops += tm->own[t].flops;
    free_copy(&tm->own[t]);
  }
  free(tm);
}

static void fail_team(lsp_attack_team *tm, int st) {
  int zero = 0;
  if (atomic_compare_exchange_strong(&tm->st, &zero, st))
    snprintf(tm->msg, sizeof tm->msg, "%s", lsp_errmsg());
}

/* Thread t: batches in turn from `next`; thread 0 also reports progress
 * for the passes every thread finished. */
static void team_main(void *arg, int t, int nt) {
  (void)nt;
  lsp_attack_team *tm = arg;
  lsp_attack_ctx *c = tm->ctx[t];
  for (;;) {
    size_t b = atomic_fetch_add(&tm->next, 1), passes = 0;
    if (b >= tm->nbatch || atomic_load(&tm->st)) break;
    int st = tm->fn(c, t, b, tm->arg, &passes);
    if (!st && lsp_interrupted()) st = lsp_fail(LSP_EINTR, "interrupted");
    if (st) {
      fail_team(tm, st);
      break;
    }
    atomic_fetch_add(&tm->passes, passes);
    if (t == 0 && (st = lsp_attack_tick(c, tm->stage, tm->eps, tm->restart,
                                        atomic_exchange(&tm->passes, 0)))) {
      fail_team(tm, st);
      break;
    }
  }
}

int lsp_attack_team_run(lsp_attack_team *tm, size_t nbatch,
                        lsp_attack_batch_fn fn, void *arg, const char *stage,
                        double eps, size_t restart) {
  if (nbatch == 0) return LSP_OK;
  tm->nbatch = nbatch, tm->fn = fn, tm->arg = arg;
  tm->stage = stage, tm->eps = eps, tm->restart = restart;
  atomic_store(&tm->next, 0);
  atomic_store(&tm->passes, 0);
  atomic_store(&tm->st, 0);
  if (tm->pool && nbatch > 1) {
    atomic_fetch_add(&g_parallel_runs, 1);
    lsp_pool_run(tm->pool, team_main, tm);
  } else {
    team_main(tm, 0, 1);
  }
  int st = atomic_load(&tm->st);
  if (st) return lsp_fail(st, "%s", tm->msg);
  size_t left = atomic_load(&tm->passes);
  return left ? lsp_attack_tick(tm->c, stage, eps, restart, left) : LSP_OK;
}
