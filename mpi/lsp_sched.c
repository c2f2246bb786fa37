/* lsp_sched.c — the dynamic cell scheduler (lsp_sched.h; protocol in
 * DESIGN §10).
 *
 * Messages on MPI_COMM_WORLD. A header is 4 int64 {kind, cell, status, len}
 * with tag TAG_HDR; a payload of len bytes follows with tag TAG_BODY.
 *   worker -> 0: READY (first request), RESULT (cell, len; body = blob),
 *                FAIL (cell, status, len; body = the reason)
 *   0 -> worker: CELL (cell), STOP
 * Rank 0 answers every worker message with CELL or STOP; after a failure it
 * hands out no more cells and stops every worker as it reports in. */
#define _POSIX_C_SOURCE 200809L
#include "mpi/lsp_sched.h"

#include <limits.h>
#include <mpi.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "mpi/lsp_mpi.h"

enum { TAG_HDR = 201, TAG_BODY = 202 };
enum { MSG_READY = 1, MSG_RESULT, MSG_FAIL, MSG_CELL, MSG_STOP };
#define NAME_MAX_LEN 160
#define WHY_MAX 1024

/* ---- order ------------------------------------------------------------ */

typedef struct {
  double cost;
  size_t i;
} cost_idx;

static int cmp_cost(const void *pa, const void *pb) {
  const cost_idx *a = pa, *b = pb;
  if (a->cost != b->cost) return a->cost > b->cost ? -1 : 1;
  return (a->i > b->i) - (a->i < b->i);
}

int lsp_sched_order(const lsp_sched_cells *c, size_t *order) {
  if (!c || !c->run || !c->name || (c->ncells && !order))
    return lsp_fail(LSP_EINVAL, "scheduler: NULL cells, callback or order");
  cost_idx *t = malloc((c->ncells ? c->ncells : 1) * sizeof *t);
  if (!t) return lsp_fail(LSP_ENOMEM, "scheduler: out of memory for %zu cells", c->ncells);
  for (size_t i = 0; i < c->ncells; i++) {
    double v = c->cost ? c->cost(c->ctx, i) : 0.0;
    t[i] = (cost_idx){v == v ? v : 0.0, i}; /* a NaN estimate counts as 0 */
  }
  qsort(t, c->ncells, sizeof *t, cmp_cost);
  for (size_t i = 0; i < c->ncells; i++) order[i] = t[i].i;
  free(t);
  return LSP_OK;
}

/* ---- results ------------------------------------------------------------ */

void lsp_sched_results_release(lsp_sched_results *r) {
  if (!r) return;
  if (r->blob)
    for (size_t i = 0; i < r->ncells; i++) free(r->blob[i]);
  free(r->blob);
  free(r->len);
  free(r->rank);
  free(r->order);
  free(r->dispatched_at);
  free(r->finished_at);
  memset(r, 0, sizeof *r);
}

static int results_alloc(size_t n, lsp_sched_results *r) {
  size_t m = n ? n : 1;
  r->ncells = n;
  r->blob = calloc(m, sizeof *r->blob);
  r->len = calloc(m, sizeof *r->len);
  r->rank = calloc(m, sizeof *r->rank);
  r->order = calloc(m, sizeof *r->order);
  r->dispatched_at = calloc(m, sizeof *r->dispatched_at);
  r->finished_at = calloc(m, sizeof *r->finished_at);
  if (!r->blob || !r->len || !r->rank || !r->order || !r->dispatched_at || !r->finished_at) {
    lsp_sched_results_release(r);
    return lsp_fail(LSP_ENOMEM, "scheduler: out of memory for %zu results", n);
  }
  return LSP_OK;
}

/* ---- the in-flight line (for a signal handler) ------------------------- */

/* Two buffers: the handler reads the one g_cur names, rank 0 writes the
 * other and then flips g_cur, so the handler never sees a half-written
 * line. */
static char g_line[2][4096];
static size_t g_line_len[2];
static volatile sig_atomic_t g_cur;

void lsp_sched_inflight_write(int fd) {
  int c = g_cur;
  size_t off = 0;
  while (off < g_line_len[c]) {
    ssize_t w = write(fd, g_line[c] + off, g_line_len[c] - off);
    if (w <= 0) return;
    off += (size_t)w;
  }
}

static void inflight_update(const lsp_sched_cells *c, const size_t *cell_of, int size) {
  int nx = !g_cur;
  char *b = g_line[nx];
  size_t cap = sizeof g_line[nx], n = 0;
  int any = 0;
  for (int r = 1; r < size && n + 1 < cap; r++) {
    if (cell_of[r] == SIZE_MAX) continue;
    char name[NAME_MAX_LEN];
    c->name(c->ctx, cell_of[r], name, sizeof name);
    int w = snprintf(b + n, cap - n, "%s cell %zu (%s) on rank %d",
                     any ? "," : "lsprobe: cells in flight:", cell_of[r], name, r);
    if (w < 0 || (size_t)w >= cap - n) break;
    n += (size_t)w;
    any = 1;
  }
  if (any && n + 1 < cap) b[n++] = '\n';
  g_line_len[nx] = any ? n : 0;
  g_cur = nx;
}

/* ---- picking the next cell ------------------------------------------------ */

/* Which cells went out and which finished, on rank 0; `clock` counts
 * dispatches and completions (the times in lsp_sched_results). */
typedef struct {
  const lsp_sched_cells *c;
  lsp_sched_results *out;
  size_t *prio;               /* [ncells] lsp_sched_order's order */
  unsigned char *sent, *done; /* [ncells] */
  size_t nsent, clock;
} plan;

/* The first cell in the handed-out order that has not gone out and whose
 * prerequisite (if any) has finished; SIZE_MAX when none is ready. */
static size_t pick(const plan *p) {
  for (size_t j = 0; j < p->c->ncells; j++) {
    size_t i = p->prio[j], d = SIZE_MAX;
    if (p->sent[i]) continue;
    if (!p->c->depends || !p->c->depends(p->c->ctx, i, &d) || p->done[d]) return i;
  }
  return SIZE_MAX;
}

static void log_event(const plan *p, size_t i, const char *what, int rank) {
  if (!p->c->log) return;
  char name[NAME_MAX_LEN], line[NAME_MAX_LEN + 64];
  p->c->name(p->c->ctx, i, name, sizeof name);
  snprintf(line, sizeof line, "cell %zu (%s) %s on rank %d", i, name, what, rank);
  p->c->log(p->c->ctx, line);
}

static void mark_sent(plan *p, size_t i, int rank) {
  log_event(p, i, "started", rank);
  p->sent[i] = 1;
  p->out->order[p->nsent++] = i;
  p->out->rank[i] = rank;
  p->out->dispatched_at[i] = p->clock++;
}

static void mark_done(plan *p, size_t i) {
  log_event(p, i, "finished", p->out->rank[i]);
  p->done[i] = 1;
  p->out->finished_at[i] = p->clock++;
}

/* No cell is ready and none is running: a prerequisite can never finish. */
static int stuck(const plan *p) {
  for (size_t i = 0; i < p->c->ncells; i++) {
    size_t d = SIZE_MAX;
    if (p->sent[i] || !p->c->depends || !p->c->depends(p->c->ctx, i, &d)) continue;
    char name[NAME_MAX_LEN];
    p->c->name(p->c->ctx, i, name, sizeof name);
    return lsp_fail(LSP_EINVAL, "cell %zu (%s) needs cell %zu first, which can never run "
                                "(a cycle of prerequisites)", i, name, d);
  }
  return lsp_fail(LSP_EINVAL, "scheduler: no cell is ready");
}

static int fail_cell(const lsp_sched_cells *c, size_t i, int rank, int st, const char *why) {
  char name[NAME_MAX_LEN];
  c->name(c->ctx, i, name, sizeof name);
  if (rank < 0) return lsp_fail(st, "cell %zu (%s) failed: %s", i, name, why);
  return lsp_fail(st, "cell %zu (%s) failed on rank %d: %s", i, name, rank, why);
}

/* ---- one rank: serial ----------------------------------------------------- */

static int run_serial(plan *p) {
  const lsp_sched_cells *c = p->c;
  while (p->nsent < c->ncells) {
    size_t i = pick(p);
    if (i == SIZE_MAX) return stuck(p);
    mark_sent(p, i, 0);
    void *blob = NULL;
    size_t len = 0;
    int st = c->run(c->ctx, i, &blob, &len);
    if (st) {
      char why[WHY_MAX];
      snprintf(why, sizeof why, "%s", lsp_errmsg());
      free(blob);
      return fail_cell(c, i, -1, st, why);
    }
    p->out->blob[i] = blob;
    p->out->len[i] = len;
    mark_done(p, i);
  }
  return LSP_OK;
}

/* ---- several ranks ---------------------------------------------------------- */

static int send_hdr(int to, int64_t kind, int64_t cell, int64_t status, int64_t len) {
  int64_t h[4] = {kind, cell, status, len};
  return MPI_Send(h, 4, MPI_INT64_T, to, TAG_HDR, MPI_COMM_WORLD) == MPI_SUCCESS
             ? LSP_OK
             : lsp_fail(LSP_EIO, "scheduler: rank %d: MPI_Send to rank %d failed",
                        lsp_mpi_rank(), to);
}

static int send_body(int to, const void *p, size_t len) {
  if (len > INT_MAX)
    return lsp_fail(LSP_EINVAL, "scheduler: a result of %zu bytes is too large to send", len);
  return MPI_Send(p, (int)len, MPI_BYTE, to, TAG_BODY, MPI_COMM_WORLD) == MPI_SUCCESS
             ? LSP_OK
             : lsp_fail(LSP_EIO, "scheduler: rank %d: MPI_Send to rank %d failed",
                        lsp_mpi_rank(), to);
}

/* LSP_OK when the message received has `want` elements of `type`. */
static int count_is(MPI_Status *ms, MPI_Datatype type, size_t want, const char *what) {
  int got = -1;
  if (MPI_Get_count(ms, type, &got) == MPI_SUCCESS && got >= 0 && (size_t)got == want)
    return LSP_OK;
  return lsp_fail(LSP_EIO, "scheduler: rank %d: %s from rank %d has %d elements, not %zu",
                  lsp_mpi_rank(), what, ms->MPI_SOURCE, got, want);
}

/* Wait for the next worker header; rank 0 polls and sleeps (1 ms) so it
 * leaves the cores to the workers. */
static int wait_hdr(int64_t h[4], int *from) {
  MPI_Request rq;
  MPI_Status ms;
  if (MPI_Irecv(h, 4, MPI_INT64_T, MPI_ANY_SOURCE, TAG_HDR, MPI_COMM_WORLD, &rq))
    return lsp_fail(LSP_EIO, "scheduler: rank 0: MPI_Irecv failed");
  for (int done = 0;;) {
    if (MPI_Test(&rq, &done, &ms)) return lsp_fail(LSP_EIO, "scheduler: rank 0: MPI_Test failed");
    if (done) break;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  *from = ms.MPI_SOURCE;
  return count_is(&ms, MPI_INT64_T, 4, "a header");
}

/* Rank 0's loop. `st` != LSP_OK (rank 0 could not prepare): hand out
 * nothing, only stop every worker. A worker that asks while no cell is
 * ready (prerequisites running) waits in `idle` until one finishes. */
static int scheduler(plan *p, int size, int st) {
  const lsp_sched_cells *c = p->c;
  size_t *cell_of = malloc((size_t)size * sizeof *cell_of);
  int *idle = malloc((size_t)size * sizeof *idle);
  if (!cell_of || !idle) {
    free(cell_of);
    free(idle);
    return lsp_fail(LSP_ENOMEM, "scheduler: out of memory");
  }
  for (int r = 0; r < size; r++) cell_of[r] = SIZE_MAX;
  int stopped = 0, nidle = 0, running = 0, failed = st != LSP_OK, e;
  char why[WHY_MAX];
  while (stopped < size - 1) {
    int64_t h[4];
    int from = 0;
    if ((e = wait_hdr(h, &from))) {
      st = e;
      break;
    }
    size_t len = (size_t)h[3], cell = (size_t)h[1];
    if (h[0] == MSG_RESULT || h[0] == MSG_FAIL) {
      if (cell >= c->ncells || cell != cell_of[from]) {
        st = lsp_fail(LSP_EIO, "scheduler: rank %d answered for cell %zu, not its cell", from,
                      cell);
        break;
      }
      char *body = malloc(len ? len + 1 : 1);
      if (!body) {
        st = lsp_fail(LSP_ENOMEM, "scheduler: out of memory for cell %zu's result (%zu bytes)",
                      cell, len);
        break;
      }
      MPI_Status ms;
      if (MPI_Recv(body, (int)len, MPI_BYTE, from, TAG_BODY, MPI_COMM_WORLD, &ms) ||
          count_is(&ms, MPI_BYTE, len, "a result")) {
        free(body);
        st = lsp_fail(LSP_EIO, "scheduler: receiving cell %zu's result from rank %d failed",
                      cell, from);
        break;
      }
      cell_of[from] = SIZE_MAX;
      running--;
      if (h[0] == MSG_RESULT) {
        p->out->blob[cell] = len ? body : NULL;
        if (!len) free(body);
        p->out->len[cell] = len;
        mark_done(p, cell);
      } else {
        body[len] = '\0';
        if (!failed) { /* the first failure is the job's */
          failed = 1;
          snprintf(why, sizeof why, "%s", body);
          st = fail_cell(c, cell, from, h[2] ? (int)h[2] : LSP_EDATA, why);
        }
        free(body);
      }
    }
    idle[nidle++] = from;
    /* serve the waiting workers: a ready cell each, or stop them */
    while (nidle > 0) {
      int w = idle[nidle - 1];
      size_t i = SIZE_MAX;
      if (!failed && p->nsent < c->ncells) {
        i = pick(p);
        if (i == SIZE_MAX && running > 0) break; /* wait for a prerequisite */
        if (i == SIZE_MAX) {
          failed = 1;
          st = stuck(p);
        }
      }
      nidle--;
      if (i != SIZE_MAX) {
        mark_sent(p, i, w);
        cell_of[w] = i;
        running++;
      }
      inflight_update(c, cell_of, size);
      if ((e = send_hdr(w, i != SIZE_MAX ? MSG_CELL : MSG_STOP, i != SIZE_MAX ? (int64_t)i : 0,
                        0, 0))) {
        st = e;
        stopped = size; /* communication broken: leave */
        break;
      }
      if (i == SIZE_MAX) stopped++;
    }
  }
  free(cell_of);
  free(idle);
  return st;
}

static int worker(const lsp_sched_cells *c) {
  int st = send_hdr(0, MSG_READY, 0, 0, 0);
  while (!st) {
    int64_t h[4];
    MPI_Status ms;
    if (MPI_Recv(h, 4, MPI_INT64_T, 0, TAG_HDR, MPI_COMM_WORLD, &ms))
      return lsp_fail(LSP_EIO, "scheduler: rank %d: MPI_Recv from rank 0 failed",
                      lsp_mpi_rank());
    if ((st = count_is(&ms, MPI_INT64_T, 4, "a header"))) return st;
    if (h[0] == MSG_STOP) break;
    size_t i = (size_t)h[1];
    void *blob = NULL;
    size_t len = 0;
    int cs = c->run(c->ctx, i, &blob, &len);
    if (!cs && len > INT_MAX) cs = lsp_fail(LSP_EINVAL, "result of %zu bytes too large to send", len);
    if (cs) {
      const char *why = lsp_errmsg();
      size_t wl = strlen(why);
      if ((st = send_hdr(0, MSG_FAIL, (int64_t)i, cs, (int64_t)wl)) == LSP_OK)
        st = send_body(0, why, wl);
    } else if ((st = send_hdr(0, MSG_RESULT, (int64_t)i, 0, (int64_t)len)) == LSP_OK) {
      st = send_body(0, blob, len);
    }
    free(blob);
  }
  return st;
}

int lsp_sched_run(const lsp_sched_cells *c, lsp_sched_results *out) {
  memset(out, 0, sizeof *out);
  int rank = lsp_mpi_rank(), size = lsp_mpi_size(), st;
  if (!c || !c->run || !c->name) return lsp_fail(LSP_EINVAL, "scheduler: NULL cells or callback");
  if (rank == 0) {
    plan p = {c, out, NULL, NULL, NULL, 0, 0};
    st = results_alloc(c->ncells, out);
    if (!st && !(p.prio = malloc((c->ncells ? c->ncells : 1) * sizeof *p.prio)))
      st = lsp_fail(LSP_ENOMEM, "scheduler: out of memory");
    if (!st) st = lsp_sched_order(c, p.prio);
    for (size_t i = 0; !st && c->depends && i < c->ncells; i++) {
      size_t d = SIZE_MAX;
      if (c->depends(c->ctx, i, &d) && (d >= c->ncells || d == i))
        st = lsp_fail(LSP_EINVAL, "scheduler: cell %zu needs cell %zu, which is not another "
                                  "cell of the job", i, d);
    }
    if (!st) {
      p.sent = calloc(c->ncells ? c->ncells : 1, 1);
      p.done = calloc(c->ncells ? c->ncells : 1, 1);
      if (!p.sent || !p.done) st = lsp_fail(LSP_ENOMEM, "scheduler: out of memory");
    }
    if (size > 1)
      st = scheduler(&p, size, st);
    else if (!st)
      st = run_serial(&p);
    free(p.prio);
    free(p.sent);
    free(p.done);
  } else {
    st = worker(c);
  }
  /* rank 0's outcome is the job's (a worker's failure reached it as FAIL) */
  st = lsp_mpi_share(st, 0);
  if (st) lsp_sched_results_release(out);
  return st;
}
