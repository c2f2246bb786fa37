/* lsp_mpi_run.c — the run's cells on the scheduler (lsp_mpi_run.h). */
#define _POSIX_C_SOURCE 200809L
#include "mpi/lsp_mpi_run.h"

#include <mpi.h>
#include <stdlib.h>

#include "core/base/lsp_error.h"
#include "mpi/lsp_mpi.h"
#include "mpi/lsp_sched.h"

static int agree(void *user, int status) {
  (void)user;
  return lsp_mpi_agree(status);
}

static int same(void *user, int status, int code, const char *what, const char *text) {
  (void)user;
  return lsp_mpi_same(status, code, what, text);
}

static int run(void *user, const lsp_run_grid *g, void ***blobs, size_t **lens) {
  (void)user;
  *blobs = NULL;
  *lens = NULL;
  lsp_sched_cells c = {g->ncells, g->ctx, g->cost, g->run, g->name, g->depends, g->log};
  lsp_sched_results r;
  int st = lsp_sched_run(&c, &r);
  if (st || lsp_mpi_rank() != 0) {
    lsp_sched_results_release(&r);
    return st;
  }
  /* hand the blobs over; the rest of the record is released */
  *blobs = (void **)r.blob;
  *lens = r.len;
  r.blob = NULL;
  r.len = NULL;
  r.ncells = 0;
  lsp_sched_results_release(&r);
  return LSP_OK;
}

void lsp_mpi_run_dist(lsp_run_dist *d) {
  int size = lsp_mpi_size();
  d->root = lsp_mpi_rank() == 0;
  /* with several ranks rank 0 only schedules */
  d->workers = size > 1 ? (size_t)size - 1 : 1;
  d->user = NULL;
  d->agree = agree;
  d->same = same;
  d->run = run;
}

int lsp_mpi_local_workers(void) {
  if (!lsp_mpi_active()) return 1;
  MPI_Comm node;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) !=
      MPI_SUCCESS)
    return 1;
  int n = 1, me = lsp_mpi_rank(), lowest = me;
  if (MPI_Comm_size(node, &n) != MPI_SUCCESS ||
      MPI_Allreduce(&me, &lowest, 1, MPI_INT, MPI_MIN, node) != MPI_SUCCESS)
    n = 1;
  else if (lowest == 0 && lsp_mpi_size() > 1)
    n--; /* rank 0 is here and only schedules */
  MPI_Comm_free(&node);
  return n > 0 ? n : 1;
}
