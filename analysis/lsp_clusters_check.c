/* lsp_clusters_check.c — the input checks the cluster statistics share with
 * every caller (CLI, API, Python): float64 rows that vanish in float32, and a
 * class count that a stray label inflates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_clusters.h"
#include "core/base/lsp_error.h"
#include "core/formats/lsp_arraycheck.h"

int lsp_clusters_check_f64(const double *src, const float *x, size_t n,
                           size_t h, const char *what) {
  for (size_t i = 0; i < n; i++) {
    size_t t = 0;
    while (t < h && x[i * h + t] == 0.0f) t++;
    if (t < h) continue;
    double big = 0.0;
    for (t = 0; t < h; t++)
      if (fabs(src[i * h + t]) > big) big = fabs(src[i * h + t]);
    if (big > 0.0)
      return lsp_fail(LSP_EDATA,
                      "%s: row %zu (largest |value| %g) is all zero in "
                      "float32, which the statistics are computed in; rescale "
                      "the features (the cluster statistics do not depend on "
                      "their scale)",
                      what, i, big);
  }
  return LSP_OK;
}

int lsp_clusters_check_k(const int32_t *labels, size_t n, const char *what) {
  return lsp_labels_check_sparse(labels, n, what,
                                 " (with the last layer, K is its number of outputs)");
}
