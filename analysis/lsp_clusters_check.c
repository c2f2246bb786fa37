/* lsp_clusters_check.c — the input checks the cluster statistics share with
 * every caller (CLI, API, Python): float64 rows that vanish in float32, and a
 * class count that a stray label inflates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_clusters.h"
#include "core/base/lsp_error.h"

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

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

int lsp_clusters_check_k(const int32_t *labels, size_t n, const char *what) {
  size_t k = 0, i_max = 0;
  for (size_t i = 0; i < n; i++)
    if (labels[i] >= 0 && (size_t)labels[i] + 1 > k)
      k = (size_t)labels[i] + 1, i_max = i;
  if (k <= LSP_CLUSTERS_SPARSE_K) return LSP_OK;
  /* count the classes present on a sorted copy: no K-sized table */
  int32_t *c = malloc(n * sizeof *c);
  if (!c) return lsp_fail(LSP_ENOMEM, "out of memory (%zu labels)", n);
  memcpy(c, labels, n * sizeof *c);
  qsort(c, n, sizeof *c, cmp_i32);
  size_t present = 0;
  for (size_t i = 0; i < n; i++) present += c[i] >= 0 && (i == 0 || c[i] != c[i - 1]);
  free(c);
  if (k - present > present)
    return lsp_fail(LSP_EDATA,
                    "%s: label %zu at index %zu makes K = %zu classes but only "
                    "%zu of them occur; a label out of range? (with the last "
                    "layer, K is its number of outputs)",
                    what, k - 1, i_max, k, present);
  return LSP_OK;
}
