/* sched_check — the cell scheduler (mpi/lsp_sched.h) with fake cells, run
 * under mpirun by tests/mpi_sched.sh.
 *
 *   sched_check ok    every cell's result equals the one computed serially
 *                     here, whatever rank ran it and in whatever order; the
 *                     cells went out longest first (an order computed here
 *                     independently); every worker got work
 *   sched_check fail  cell 5 fails: every rank returns the failure, naming
 *                     the cell (and the rank, with several ranks)
 *   sched_check deps  cell i (i mod 4 != 0) needs cell i - i mod 4 first,
 *                     as a run's cells need their seed's ε = 0 model;
 *                     those heads are the cheapest cells: every result
 *                     still equals the serial one, and no cell went out
 *                     before its prerequisite had finished
 *   sched_check cycle cells 0 and 1 need each other: every rank fails
 *                     naming the cycle
 *   sched_check kill  the rank running cell 5 kills itself (SIGKILL); rank
 *                     0's SIGTERM handler names the cells in flight
 * Exit 0 when every check holds on this rank. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "mpi/lsp_mpi.h"
#include "mpi/lsp_sched.h"

#define NCELLS 23
#define FAULTY 5

static int g_fails;
#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "sched_check rank %d: FAIL: ", lsp_mpi_rank());        \
      fprintf(stderr, __VA_ARGS__);                                          \
      fprintf(stderr, "\n");                                                 \
      g_fails++;                                                             \
    }                                                                        \
  } while (0)

typedef struct {
  const char *mode;
} fake;

/* costs with ties (broken by index); in deps mode the heads cost least */
static int g_deps;
static double cost_of(size_t i) {
  if (g_deps && i % 4 == 0) return -1.0;
  return (double)((i * 37) % 11);
}
static double fake_cost(void *ctx, size_t i) { (void)ctx; return cost_of(i); }

/* cell i's result: (i mod 5)·3 bytes (none for i ≡ 0 mod 5) */
static size_t result_len(size_t i) { return (i % 5) * 3; }
static uint8_t result_byte(size_t i, size_t j) { return (uint8_t)(i * 31 + j * 7 + 1); }

static int fake_run(void *ctx, size_t i, void **blob, size_t *len) {
  const fake *f = ctx;
  *blob = NULL;
  *len = 0;
  /* uneven durations (0–12 ms) so the dispatch interleaves differently */
  struct timespec ts = {0, (long)((i * 13) % 7) * 2000000L};
  nanosleep(&ts, NULL);
  if (i == FAULTY && strcmp(f->mode, "fail") == 0)
    return lsp_fail(LSP_EDATA, "fake failure in cell %d", FAULTY);
  if (i == FAULTY && strcmp(f->mode, "kill") == 0 && lsp_mpi_rank() != 0) raise(SIGKILL);
  size_t n = result_len(i);
  if (!n) return LSP_OK;
  uint8_t *b = malloc(n);
  if (!b) return lsp_fail(LSP_ENOMEM, "out of memory");
  for (size_t j = 0; j < n; j++) b[j] = result_byte(i, j);
  *blob = b;
  *len = n;
  return LSP_OK;
}

static void fake_name(void *ctx, size_t i, char *buf, size_t len) {
  (void)ctx;
  snprintf(buf, len, "fake cell %zu", i);
}

static int fake_depends(void *ctx, size_t i, size_t *dep) {
  const fake *f = ctx;
  if (strcmp(f->mode, "cycle") == 0 && i < 2) {
    *dep = 1 - i;
    return 1;
  }
  if (strcmp(f->mode, "deps") != 0 || i % 4 == 0) return 0;
  *dep = i - i % 4;
  return 1;
}

static void fake_log(void *ctx, const char *line) {
  (void)ctx;
  fprintf(stderr, "sched_check: %s\n", line);
}

static void on_term(int sig) {
  (void)sig;
  lsp_sched_inflight_write(2);
  _exit(3);
}

static void check_results(const lsp_sched_results *r, int size) {
  int ran[64] = {0};
  for (size_t i = 0; i < NCELLS; i++) {
    CHECK(r->len[i] == result_len(i), "cell %zu: %zu bytes, want %zu", i, r->len[i],
          result_len(i));
    for (size_t j = 0; j < r->len[i] && j < result_len(i); j++)
      CHECK(((const uint8_t *)r->blob[i])[j] == result_byte(i, j), "cell %zu byte %zu", i, j);
    CHECK(size == 1 ? r->rank[i] == 0 : r->rank[i] >= 1 && r->rank[i] < size,
          "cell %zu ran on rank %d", i, r->rank[i]);
    if (r->rank[i] >= 0 && r->rank[i] < 64) ran[r->rank[i]]++;
    CHECK(r->dispatched_at[i] < r->finished_at[i], "cell %zu finished before it started", i);
  }
  for (int w = 1; w < size && w < 64; w++) CHECK(ran[w] > 0, "rank %d ran no cell", w);
}

static void check_deps(const lsp_sched_results *r) {
  for (size_t i = 0; i < NCELLS; i++)
    if (i % 4)
      CHECK(r->finished_at[i - i % 4] < r->dispatched_at[i],
            "cell %zu went out (at %zu) before cell %zu finished (at %zu)", i,
            r->dispatched_at[i], i - i % 4, r->finished_at[i - i % 4]);
}

static void check_ok(const lsp_sched_results *r, int size) {
  /* the expected order: cost descending, then index (selection sort) */
  size_t want[NCELLS];
  int used[NCELLS] = {0};
  for (size_t j = 0; j < NCELLS; j++) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < NCELLS; i++)
      if (!used[i] && (best == SIZE_MAX || cost_of(i) > cost_of(best))) best = i;
    used[best] = 1;
    want[j] = best;
  }
  for (size_t j = 0; j < NCELLS; j++)
    CHECK(r->order[j] == want[j], "dispatch %zu: cell %zu, want %zu", j, r->order[j], want[j]);
  check_results(r, size);
}

int main(int argc, char **argv) {
  if (lsp_mpi_init(&argc, &argv)) {
    fprintf(stderr, "sched_check: %s\n", lsp_errmsg());
    return 2;
  }
  fake f = {argc > 1 ? argv[1] : "ok"};
  g_deps = strcmp(f.mode, "deps") == 0;
  int rank = lsp_mpi_rank(), size = lsp_mpi_size();
  if (rank == 0 && strcmp(f.mode, "kill") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
  }
  lsp_sched_cells cells = {NCELLS, &f, fake_cost, fake_run, fake_name, fake_depends,
                           strcmp(f.mode, "kill") == 0 ? fake_log : NULL};
  lsp_sched_results r;
  int st = lsp_sched_run(&cells, &r);
  if (strcmp(f.mode, "ok") == 0) {
    CHECK(st == LSP_OK, "lsp_sched_run: %s", lsp_errmsg());
    if (!st && rank == 0) check_ok(&r, size);
    if (!st && rank != 0) CHECK(r.ncells == 0 && !r.blob, "results on a worker");
  } else if (g_deps) {
    CHECK(st == LSP_OK, "lsp_sched_run: %s", lsp_errmsg());
    if (!st && rank == 0) check_results(&r, size), check_deps(&r);
  } else if (strcmp(f.mode, "cycle") == 0) {
    CHECK(st == LSP_EINVAL, "status %d, want LSP_EINVAL", st);
    CHECK(strstr(lsp_errmsg(), "a cycle of prerequisites") != NULL, "message: %s", lsp_errmsg());
  } else if (strcmp(f.mode, "fail") == 0) {
    st = lsp_mpi_agree(st); /* as `run` ends: every rank agrees on one error */
    CHECK(st == LSP_EDATA, "status %d, want LSP_EDATA", st);
    CHECK(strstr(lsp_errmsg(), "cell 5 (fake cell 5) failed") != NULL, "message: %s",
          lsp_errmsg());
    CHECK(strstr(lsp_errmsg(), "fake failure in cell 5") != NULL, "reason: %s", lsp_errmsg());
    CHECK(size == 1 || strstr(lsp_errmsg(), "on rank ") != NULL, "rank: %s", lsp_errmsg());
    /* the rank the cell failed on, not the rank that reports it */
    CHECK(strncmp(lsp_errmsg(), "rank ", 5) != 0, "reporting rank first: %s", lsp_errmsg());
    CHECK(r.ncells == 0 && !r.blob, "results kept after a failure");
  } else {
    CHECK(0, "mode %s: the job should have died", f.mode);
  }
  lsp_sched_results_release(&r);
  if (rank == 0) printf("sched_check %s on %d ranks: %s\n", f.mode, size, g_fails ? "FAIL" : "ok");
  lsp_mpi_finalize();
  return g_fails ? 1 : 0;
}
