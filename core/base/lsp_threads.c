#include "core/base/lsp_threads.h"

#include <omp.h>

#include "core/base/lsp_error.h"

/* Declared by OpenBLAS's cblas.h; repeated here so that this file does not
 * depend on which cblas.h comes first on the include path. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

static _Thread_local int g_threads = 0;
/* set in a child process by the fork handler lsp_init registers: GNU
 * OpenMP's pool is not copied by fork(), so the child works on one thread */
static int g_forked = 0;

void lsp_threads_after_fork(void) { g_forked = 1; }

int lsp_threads_set(int n) {
  if (n > LSP_THREADS_MAX) {
    lsp_fail(LSP_EINVAL, "thread count %d is above the limit of %d", n, LSP_THREADS_MAX);
    return -LSP_EINVAL;
  }
  int prev = g_threads;
  g_threads = n > 0 ? n : 0;
  return prev;
}

int lsp_threads_get(void) {
  if (g_forked) return 1;
  return g_threads > 0 ? g_threads : omp_get_max_threads();
}

void lsp_threads_set_blas(int n) {
  openblas_set_num_threads(n > 0 ? n : omp_get_num_procs());
}

int lsp_threads_get_blas(void) { return openblas_get_num_threads(); }
