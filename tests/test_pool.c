/* The thread team: every thread runs, barriers hold, runs repeat — also
 * when one thread arrives so late that the others have gone to sleep. */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/lsp_pool.h"
#include "testutil.h"

typedef struct {
  lsp_pool *p;
  int round;
  int seen[8][8]; /* seen[t][u]: what thread t read from slot u after the
                     barrier */
  int slot[8];
  atomic_int calls;
} ctx;

static void fn(void *varg, int t, int nt) {
  ctx *c = varg;
  atomic_fetch_add(&c->calls, 1);
  c->slot[t] = 100 * c->round + t;
  lsp_pool_barrier(c->p); /* every slot is written before anyone reads */
  for (int u = 0; u < nt; u++) c->seen[t][u] = c->slot[u];
  lsp_pool_barrier(c->p); /* nobody rewrites a slot while others read */
}

/* As fn, but the last thread naps 2 ms before each barrier: far past the
 * waiters' polling, so they sleep and must be woken (every round). */
static void fn_late(void *varg, int t, int nt) {
  ctx *c = varg;
  const struct timespec nap = {0, 2000000};
  atomic_fetch_add(&c->calls, 1);
  if (t == nt - 1) nanosleep(&nap, NULL);
  c->slot[t] = 100 * c->round + t;
  lsp_pool_barrier(c->p);
  for (int u = 0; u < nt; u++) c->seen[t][u] = c->slot[u];
  if (t == nt - 1) nanosleep(&nap, NULL);
  lsp_pool_barrier(c->p);
}

/* n threads run fn for `rounds` rounds: every thread read every slot of
 * its round after the barrier, and fn ran n times a round. */
static void run_rounds(lsp_pool_fn f, int n, int rounds) {
  ctx c;
  memset(&c, 0, sizeof c);
  atomic_init(&c.calls, 0);
  c.p = lsp_pool_alloc(n);
  assert_non_null(c.p);
  assert_int_equal(lsp_pool_size(c.p), n);
  for (c.round = 1; c.round <= rounds; c.round++) {
    lsp_pool_run(c.p, f, &c);
    for (int t = 0; t < n; t++)
      for (int u = 0; u < n; u++)
        assert_int_equal(c.seen[t][u], 100 * c.round + u);
  }
  assert_int_equal(atomic_load(&c.calls), rounds * n);
  lsp_pool_free(c.p);
}

static void test_pool_late(void **state) {
  (void)state;
  for (int n = 2; n <= 3; n++) run_rounds(fn_late, n, 20);
}

static void test_pool(void **state) {
  (void)state;
  for (int n = 1; n <= 4; n++) run_rounds(fn, n, 200);
  lsp_pool_free(NULL);
  lsp_pool *p = lsp_pool_alloc(0); /* counts as 1 */
  assert_int_equal(lsp_pool_size(p), 1);
  lsp_pool_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_pool),
                                     cmocka_unit_test(test_pool_late)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
