/* lsp_pool.h — a small fixed team of threads for data-parallel loops whose
 * steps are too short (a millisecond) for a fresh team each time.
 *
 * lsp_pool_run(p, fn, arg) runs fn(arg, t, nt) on every thread of the team
 * (t = 0 on the caller) and returns when all have finished. Inside fn,
 * lsp_pool_barrier(p) waits for the whole team. A waiting thread polls for
 * about 10-20 microseconds (on an idle machine the team usually meets within
 * that, without a system call) and then sleeps until the last one arrives
 * (a futex on Linux; elsewhere it yields). Neither spinning on (an OpenMP
 * team with the default spin policy lost 4x to that on 2 shared cores) nor
 * yielding in a loop (13% of a 2-thread training run's samples went to
 * sched_yield on a busy machine) gives the core back to whoever has work.
 * Work is split by the caller, so results depend
 * only on nt, never on timing. */
#ifndef LSP_POOL_H
#define LSP_POOL_H

typedef struct lsp_pool lsp_pool;
typedef void (*lsp_pool_fn)(void *arg, int t, int nt);

/* A team of n threads: the caller plus n-1 started here (n < 1 counts as 1).
 * NULL with a message (LSP_ENOMEM) when memory or a thread is refused. */
lsp_pool *lsp_pool_alloc(int n);
/* Stop and join the threads. NULL-safe. Not to be called from inside fn. */
void lsp_pool_free(lsp_pool *p);
/* The team size. */
int lsp_pool_size(const lsp_pool *p);
/* Run fn on all threads; returns after every thread's fn has returned. Not
 * reentrant: one run at a time, from the thread that allocated the pool. */
void lsp_pool_run(lsp_pool *p, lsp_pool_fn fn, void *arg);
/* Inside fn: wait until every thread of the team has reached this call. */
void lsp_pool_barrier(lsp_pool *p);

#endif
