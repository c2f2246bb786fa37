/* lsp_mpi_run.h — `lsprobe run` across MPI ranks (DESIGN §10): the
 * lsp_run_dist that hands the run's cells to the scheduler (lsp_sched.h).
 *
 * Every rank calls lsp_run with the same options and this dist: each loads
 * the data; rank 0 alone owns the output folder, schedules the cells
 * (longest first, the ε = 0 cells before the cells that need them), gathers
 * their results in index order and writes the report; ranks 1..P−1 run
 * cells. Failures are agreed on (lsp_mpi_agree): every rank returns the
 * same status and message. */
#ifndef LSP_MPI_RUN_H
#define LSP_MPI_RUN_H

#include "reports/lsp_run.h"

/* Fill *d for this rank (MPI must be active). */
void lsp_mpi_run_dist(lsp_run_dist *d);

/* Collective: how many ranks that run cells share this rank's node
 * (MPI_COMM_TYPE_SHARED; rank 0 only schedules, so it does not count when
 * there are several ranks); at least 1, and 1 when MPI is not active or a
 * call fails. */
int lsp_mpi_local_workers(void);

#endif
