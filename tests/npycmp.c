/* npycmp A.npy B.npy [ATOL [RTOL]] — test tool: exit 0 when the arrays have
 * the same shape and |a-b| <= ATOL + RTOL*|b| everywhere, else print the
 * worst element and exit 1. Used by the end-to-end tests (tests/cli_*.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/base/lsp_error.h"
#include "core/formats/lsp_arraycheck.h"
#include "core/formats/lsp_npy.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: npycmp A.npy B.npy [ATOL [RTOL]]\n");
    return 2;
  }
  double atol = argc > 3 ? atof(argv[3]) : 0.0, rtol = argc > 4 ? atof(argv[4]) : 0.0;
  lsp_array a, b;
  if (lsp_npy_read(argv[1], &a) || lsp_npy_read(argv[2], &b)) {
    fprintf(stderr, "npycmp: %s\n", lsp_errmsg());
    return 1;
  }
  if (a.ndim != b.ndim || a.count != b.count) {
    fprintf(stderr, "npycmp: shapes differ (%d-D, %zu vs %d-D, %zu elements)\n",
            a.ndim, a.count, b.ndim, b.count);
    return 1;
  }
  for (int d = 0; d < a.ndim; d++)
    if (a.shape[d] != b.shape[d]) {
      fprintf(stderr, "npycmp: dimension %d differs: %zu vs %zu\n", d, a.shape[d], b.shape[d]);
      return 1;
    }
  size_t worst = 0;
  double wex = -1;
  int bad = 0;
  for (size_t i = 0; i < a.count; i++) {
    double x = lsp_array_get(&a, i), y = lsp_array_get(&b, i), lim = atol + rtol * fabs(y);
    double ex = fabs(x - y) - lim;
    if (!(fabs(x - y) <= lim) && !(x == y)) bad = 1;
    if (ex > wex || x != x) {
      wex = ex;
      worst = i;
    }
  }
  printf("npycmp: %zu elements, worst at %zu: %.9g vs %.9g\n", a.count, worst,
         lsp_array_get(&a, worst), lsp_array_get(&b, worst));
  lsp_array_release(&a);
  lsp_array_release(&b);
  return bad;
}
