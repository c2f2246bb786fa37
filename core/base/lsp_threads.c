#include "core/base/lsp_threads.h"

#include <omp.h>

/* Declared by OpenBLAS's cblas.h; repeated here so that this file does not
 * depend on which cblas.h comes first on the include path. */
void openblas_set_num_threads(int num_threads);

static int g_threads = 0;

void lsp_threads_set(int n) {
  if (n <= 0) n = omp_get_num_procs();
  g_threads = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int lsp_threads_get(void) {
  return g_threads > 0 ? g_threads : omp_get_max_threads();
}
