/* lsp_threads.h — how many threads lsprobe uses, and who may set what.
 *
 * lsprobe's own parallel work (training shares, bootstrap resamples, cluster
 * sums, loss rows, data loading) runs on teams of lsprobe's thread count.
 * lsp_threads_set(n) sets it for the calls the calling thread makes (the
 * setting is per host thread, so two host threads never change each other's
 * count); it changes nothing outside lsprobe: OpenMP regions get their team
 * size through num_threads(), never through omp_set_num_threads(). Results
 * that lsprobe promises to be thread-count independent (training, bootstrap
 * intervals, binned calibration sums) are the same for every n.
 *
 * OpenBLAS has one thread count for the whole process, and the library
 * never changes it (its callers may be using BLAS themselves: numpy in a
 * Python host, another rank's policy under MPI). lsp_threads_set_blas is
 * for programs that own their process — the lsprobe command and the
 * benchmarks call it explicitly; a host leaves it to its own policy. Training
 * on more than one thread wants OpenBLAS at one thread (lsp_train.h says
 * why and what happens otherwise). */
#ifndef LSP_THREADS_H
#define LSP_THREADS_H

/* lsp_threads_set(n) and lsp_threads_get() are public API: lsprobe's
 * thread count for this thread's calls (lsprobe/base.h). */
#include "lsprobe/base.h"

/* The child side of the fork handler lsp_init registers: from then on
 * lsp_threads_get() is 1 in that process, whatever was set (GNU OpenMP's
 * thread pool does not survive fork(): a larger team would never start). */
void lsp_threads_after_fork(void);

/* OpenBLAS's process-wide thread count (n <= 0: the online cores). Only for
 * programs that own their process; the library never calls it. */
void lsp_threads_set_blas(int n);
int lsp_threads_get_blas(void);

#endif
