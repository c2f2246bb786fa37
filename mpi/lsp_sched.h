/* lsp_sched.h — a dynamic cell scheduler over MPI ranks (DESIGN §10).
 *
 * A job is a list of cells (e.g. one (architecture, ε, seed)
 * model each), opaque to the scheduler: an index, a cost estimate, a run
 * callback that returns the cell's result as a serialized blob, and a name
 * for messages, and optionally one prerequisite cell each. Rank 0 schedules:
 * it hands out the first ready cell (prerequisite finished) in the order
 * longest first (by the cost estimate; ties by index), one at a time, to
 * whichever rank asks; a
 * rank asks again with its result when done. Rank 0 gathers the blobs by
 * cell index, so the caller reads them in index order whatever the dispatch
 * order and the rank count. With one rank (or MPI not started) rank 0 runs
 * every cell itself, in the same order. With P > 1 ranks, rank 0 only
 * schedules (it sleeps between messages): P − 1 ranks compute.
 *
 * A cell that fails stops the dispatch; the cells in flight finish, and the
 * job fails on every rank with "cell I (NAME) failed on rank R: reason". A
 * rank that dies (killed, out of memory) takes the MPI job down with it
 * (MPI 3 has no way to survive it): the log callback has named the cell
 * that rank started, and rank 0 keeps a line naming the cells in flight,
 * which a SIGTERM handler writes with lsp_sched_inflight_write when the
 * launcher stops the job (best effort: the launcher may SIGKILL first). */
#ifndef LSP_SCHED_H
#define LSP_SCHED_H

#include <stddef.h>

typedef struct {
  size_t ncells;
  void *ctx; /* passed to the callbacks */
  /* the estimated cost of cell i (any unit; larger runs earlier) */
  double (*cost)(void *ctx, size_t i);
  /* run cell i: LSP_OK with *blob (malloc'd, or NULL when *len is 0) and
   * *len its size, or a status with lsp_errmsg() set */
  int (*run)(void *ctx, size_t i, void **blob, size_t *len);
  /* a short name of cell i for messages, into buf (len bytes) */
  void (*name)(void *ctx, size_t i, char *buf, size_t len);
  /* optional (may be NULL): 1 with *dep set when cell i may start only
   * after cell *dep has finished (e.g. the ε = 0 model a transfer attack
   * needs, so two ranks never train it at once), else 0 */
  int (*depends)(void *ctx, size_t i, size_t *dep);
  /* optional (may be NULL): rank 0 reports each event as one line without
   * a newline, "cell I (NAME) started on rank R" and "cell I (NAME)
   * finished on rank R" — a log written before a rank can die, so the
   * job's output names the cell of a rank the launcher reports dead */
  void (*log)(void *ctx, const char *line);
} lsp_sched_cells;

/* On rank 0 after a successful lsp_sched_run: cell i's result, which rank
 * ran it, and the dispatch order. Empty on other ranks. */
typedef struct {
  size_t ncells;
  void **blob;   /* [ncells] owned (NULL for an empty result) */
  size_t *len;   /* [ncells] */
  int *rank;     /* [ncells] the rank that ran cell i */
  size_t *order; /* [ncells] cells in the order they were handed out */
  /* [ncells] rank 0's event count when cell i went out and when its result
   * came back (one clock for both: finished_at[d] < dispatched_at[i] says d
   * finished before i started) */
  size_t *dispatched_at, *finished_at;
} lsp_sched_results;

/* The order cells are handed out in when none waits for a prerequisite:
 * cost descending, ties by index. */
int lsp_sched_order(const lsp_sched_cells *cells, size_t *order);

/* Collective over MPI_COMM_WORLD (or a plain serial loop when MPI is not
 * active). Every rank returns the same status and message. */
int lsp_sched_run(const lsp_sched_cells *cells, lsp_sched_results *out);
void lsp_sched_results_release(lsp_sched_results *r);

/* Async-signal-safe: write rank 0's line "cells in flight: cell I (NAME) on
 * rank R, ..." (or nothing when none is in flight) to fd. For a SIGTERM
 * handler: an MPI launcher sends SIGTERM to the other ranks when one dies. */
void lsp_sched_inflight_write(int fd);

#endif
