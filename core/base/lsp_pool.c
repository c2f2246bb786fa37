/* lsp_pool.c — the thread team of lsp_pool.h: a generation-counting
 * barrier on C11 atomics whose waiters spin briefly and then sleep (a Linux
 * futex on the generation word; elsewhere they yield), and helpers parked
 * on that barrier between runs. */
#define _DEFAULT_SOURCE /* syscall() */
#define _POSIX_C_SOURCE 200809L
#include "core/base/lsp_pool.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/base/lsp_error.h"

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Polls of the generation word before a waiter goes to sleep: about 10-20
 * microseconds of `pause` on a 2-3 GHz x86 core, longer than the usual
 * imbalance between the threads of a training batch (so an idle machine
 * never pays a wake-up) and short next to a time slice (so a thread whose
 * partner was preempted does not burn CPU time the partner could use). */
enum { SPIN_POLLS = 1024 };

struct lsp_pool {
  int n;
  atomic_int arrived; /* threads at the barrier in this generation */
  atomic_uint gen;    /* bumped by the last arrival (the futex word) */
  atomic_int sleepers; /* waiters asleep (or about to be) on gen     */
  lsp_pool_fn fn;     /* the current run; NULL tells helpers to exit */
  void *arg;
  pthread_t *threads; /* owned: the n-1 helpers                      */
  int started;
};

typedef struct {
  lsp_pool *p;
  int t;
} helper_arg;

/* Sleep while *w still holds g (returns at once otherwise, or spuriously). */
static void wait_on(atomic_uint *w, unsigned g) {
#ifdef __linux__
  syscall(SYS_futex, (unsigned *)w, FUTEX_WAIT_PRIVATE, g, NULL, NULL, 0);
#else
  (void)w, (void)g;
  sched_yield();
#endif
}

static void wake_all(atomic_uint *w) {
#ifdef __linux__
  syscall(SYS_futex, (unsigned *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
  (void)w;
#endif
}

/* The last arrival resets the count and bumps the generation; the others
 * poll the generation, then sleep on it. A sleeper announces itself in
 * `sleepers` before it sleeps, and the futex call sleeps only while the
 * generation is still the old one; the last arrival bumps the generation
 * before it reads `sleepers` (all sequentially consistent), so either it
 * sees the sleeper and wakes it or the sleeper sees the new generation. */
void lsp_pool_barrier(lsp_pool *p) {
  if (p->n == 1) return;
  unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
  if (atomic_fetch_add_explicit(&p->arrived, 1, memory_order_acq_rel) ==
      p->n - 1) {
    atomic_store_explicit(&p->arrived, 0, memory_order_relaxed);
    atomic_store(&p->gen, g + 1);
    if (atomic_load(&p->sleepers) > 0) wake_all(&p->gen);
    return;
  }
  for (int i = 0; i < SPIN_POLLS; i++) {
    if (atomic_load_explicit(&p->gen, memory_order_acquire) != g) return;
    CPU_RELAX();
  }
  atomic_fetch_add(&p->sleepers, 1);
  while (atomic_load(&p->gen) == g) wait_on(&p->gen, g);
  atomic_fetch_sub(&p->sleepers, 1);
}

/* A helper: meet the team at the start barrier, run, meet at the end. */
static void *helper_main(void *varg) {
  helper_arg a = *(helper_arg *)varg;
  free(varg);
  for (;;) {
    lsp_pool_barrier(a.p);
    lsp_pool_fn fn = a.p->fn;
    if (!fn) return NULL;
    fn(a.p->arg, a.t, a.p->n);
    lsp_pool_barrier(a.p);
  }
}

lsp_pool *lsp_pool_alloc(int n) {
  if (n < 1) n = 1;
  lsp_pool *p = calloc(1, sizeof *p);
  if (!p || !(p->threads = calloc((size_t)n, sizeof *p->threads))) {
    free(p);
    lsp_fail(LSP_ENOMEM, "out of memory for a team of %d threads", n);
    return NULL;
  }
  p->n = n;
  atomic_init(&p->arrived, 0);
  atomic_init(&p->gen, 0u);
  atomic_init(&p->sleepers, 0);
  for (int t = 1; t < n; t++) {
    helper_arg *a = malloc(sizeof *a);
    if (a) *a = (helper_arg){p, t};
    if (!a || pthread_create(&p->threads[t - 1], NULL, helper_main, a) != 0) {
      free(a);
      /* Let the started helpers park at the barrier (after which they no
       * longer read n), then release them as a team of the started ones. */
      while (atomic_load_explicit(&p->arrived, memory_order_acquire) <
             p->started)
        sched_yield();
      p->n = p->started + 1;
      lsp_pool_free(p);
      lsp_fail(LSP_ENOMEM, "cannot start thread %d of %d", t + 1, n);
      return NULL;
    }
    p->started++;
  }
  return p;
}

int lsp_pool_size(const lsp_pool *p) {
  return p->n;
}

void lsp_pool_run(lsp_pool *p, lsp_pool_fn fn, void *arg) {
  p->fn = fn;
  p->arg = arg;
  lsp_pool_barrier(p); /* publishes fn/arg (release) to the helpers */
  fn(arg, 0, p->n);
  lsp_pool_barrier(p);
}

void lsp_pool_free(lsp_pool *p) {
  if (!p) return;
  if (p->started > 0) {
    p->fn = NULL;
    lsp_pool_barrier(p);
    for (int t = 0; t < p->started; t++) pthread_join(p->threads[t], NULL);
  }
  free(p->threads);
  free(p);
}
