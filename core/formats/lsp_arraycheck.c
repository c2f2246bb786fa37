/* lsp_arraycheck.c — mix-up checks on user arrays (see lsp_arraycheck.h)
 * and the labels reader that applies them (lsp_array_labels, lsp_npy.h). */
#include "core/formats/lsp_arraycheck.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"

double lsp_array_get(const lsp_array *a, size_t i) {
  switch (a->dtype) {
    case LSP_DT_F32: return ((const float *)a->data)[i];
    case LSP_DT_F64: return ((const double *)a->data)[i];
    case LSP_DT_I32: return ((const int32_t *)a->data)[i];
    case LSP_DT_I64: return (double)((const int64_t *)a->data)[i];
    case LSP_DT_U8: return ((const uint8_t *)a->data)[i];
  }
  return NAN;
}

int lsp_array_is_onehot(const lsp_array *a) {
  if (a->ndim != 2 || a->shape[0] == 0 || a->shape[1] < 2) return 0;
  const size_t n = a->shape[0], k = a->shape[1];
  for (size_t i = 0; i < n; i++) {
    size_t ones = 0;
    for (size_t j = 0; j < k; j++) {
      double v = lsp_array_get(a, i * k + j);
      if (v == 1.0)
        ones++;
      else if (v != 0.0)
        return 0;
    }
    if (ones != 1) return 0;
  }
  return 1;
}

int lsp_array_is_probs(const lsp_array *a) {
  if (a->ndim != 2 || a->shape[0] == 0 || a->shape[1] < 2) return 0;
  const size_t n = a->shape[0], k = a->shape[1];
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (size_t j = 0; j < k; j++) {
      double v = lsp_array_get(a, i * k + j);
      if (!(v >= 0.0 && v <= 1.0)) return 0; /* NaN too: not probabilities */
      s += v;
    }
    if (fabs(s - 1.0) > 1e-3) return 0;
  }
  return 1;
}

int lsp_array_not_probs(const lsp_array *a, const char *path, const char *advice) {
  if (!lsp_array_is_probs(a)) return LSP_OK;
  return lsp_fail(LSP_EDATA,
                  "%s: every row lies in [0, 1] and sums to 1: these look like "
                  "probabilities, not logits; %s",
                  path, advice);
}

int lsp_array_distributions(const lsp_array *a, const char *path, const char *advice) {
  if (a->ndim != 2 || a->shape[0] == 0 || a->shape[1] < 2)
    return lsp_fail(LSP_EDATA, "%s: expected an N×K matrix of probabilities (K >= 2)", path);
  const size_t n = a->shape[0], k = a->shape[1];
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (size_t j = 0; j < k; j++) {
      double v = lsp_array_get(a, i * k + j);
      if (!isfinite(v))
        return lsp_fail(LSP_EDATA, "%s: non-finite value (%g) at row %zu, column %zu", path, v,
                        i, j);
      if (v < 0.0)
        return lsp_fail(LSP_EDATA, "%s: negative probability (%g) at row %zu, column %zu%s%s",
                        path, v, i, j, advice ? "; " : "", advice ? advice : "");
      s += v;
    }
    if (fabs(s - 1.0) > 1e-3)
      return lsp_fail(LSP_EDATA, "%s: row %zu sums to %.9g, not 1 (tolerance 1e-3)%s%s", path, i,
                      s, advice ? "; " : "", advice ? advice : "");
  }
  return LSP_OK;
}

const char *lsp_nonfinite_hint(double v) {
  return v == -INFINITY ? " (lsprobe takes finite values only; if these are logits with a masked "
                          "class, give it a large negative finite logit such as -1e4, whose "
                          "probability is 0 all the same)"
                        : "";
}

/* Whether n float32 (f64 = 0) or float64 values hold a NaN or infinity
 * (all exponent bits set): a branch-free test the compiler vectorizes. */
static int any_nonfinite(const void *p, int f64, size_t n) {
  if (f64) {
    const uint64_t *u = p, e = 0x7ff0000000000000ull;
    uint64_t any = 0;
    for (size_t i = 0; i < n; i++) any |= (u[i] & e) == e ? ~(uint64_t)0 : 0;
    return any != 0;
  }
  const uint32_t *u = p, e = 0x7f800000u;
  uint32_t any = 0;
  for (size_t i = 0; i < n; i++) any |= (u[i] & e) == e ? ~(uint32_t)0 : 0;
  return any != 0;
}

int lsp_array_finite_from(const lsp_array *a, size_t row0, const char *path) {
  if (a->dtype != LSP_DT_F32 && a->dtype != LSP_DT_F64) return LSP_OK;
  if (!any_nonfinite(a->data, a->dtype == LSP_DT_F64, a->count)) return LSP_OK;
  const size_t row = a->ndim >= 2 && a->shape[0] ? a->count / a->shape[0] : 1;
  for (size_t i = 0; i < a->count; i++) {
    double v = lsp_array_get(a, i);
    if (isfinite(v)) continue;
    char where[160];
    lsp_array_where(a, i + row0 * row, where, sizeof where);
    return lsp_fail(LSP_EDATA, "%s: non-finite value (%g) at %s%s", path, v, where,
                    lsp_nonfinite_hint(v));
  }
  return LSP_OK;
}

int lsp_array_finite(const lsp_array *a, const char *path) {
  return lsp_array_finite_from(a, 0, path);
}

int lsp_array_labels(const lsp_array *a, const char *path, int k,
                     int32_t **out) {
  *out = NULL;
  if (lsp_array_is_onehot(a))
    return lsp_fail(LSP_EDATA,
                    "%s: one-hot labels (%zu x %zu, a single 1 per row); save "
                    "the class indices instead (NumPy: y.argmax(axis=1))",
                    path, a->shape[0], a->shape[1]);
  if (!(a->ndim == 1 || (a->ndim == 2 && a->shape[1] == 1)))
    return lsp_fail(LSP_EDATA,
                    "%s: labels must be a 1-D array of class indices (got %d "
                    "dimensions)",
                    path, a->ndim);
  int32_t *y = malloc(a->count ? a->count * sizeof *y : 1);
  if (!y) return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  size_t i = 0;
  if (a->dtype == LSP_DT_I64) { /* NumPy's default: integers, checked as such */
    const int64_t hi = k > 0 ? k : (int64_t)INT32_MAX + 1;
    for (; i < a->count; i++) {
      const int64_t l = ((const int64_t *)a->data)[i];
      if (l < 0 || l >= hi) break; /* the loop below says why */
      y[i] = (int32_t)l;
    }
  }
  for (; i < a->count; i++) {
    const double v = lsp_array_get(a, i);
    if (!isfinite(v) || v != floor(v)) {
      free(y);
      return lsp_fail(LSP_EDATA, "%s: label %g at index %zu is not an integer",
                      path, v, i);
    }
    if (v < 0 || (k > 0 && v >= k) || v > INT32_MAX) {
      free(y);
      if (k > 0)
        return lsp_fail(LSP_EDATA,
                        "%s: label %.0f at index %zu is out of range [0, %d)",
                        path, v, i, k);
      if (v < 0)
        return lsp_fail(LSP_EDATA, "%s: label %.0f at index %zu is negative",
                        path, v, i);
      return lsp_fail(LSP_EDATA,
                      "%s: label %.0f at index %zu is above the largest "
                      "class index (%d)",
                      path, v, i, INT32_MAX);
    }
    y[i] = (int32_t)v;
  }
  *out = y;
  return LSP_OK;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

int lsp_labels_check_sparse(const int32_t *labels, size_t n, const char *what,
                            const char *hint) {
  size_t k = 0, i_max = 0;
  for (size_t i = 0; i < n; i++)
    if (labels[i] >= 0 && (size_t)labels[i] + 1 > k)
      k = (size_t)labels[i] + 1, i_max = i;
  if (k <= LSP_LABELS_SPARSE_K) return LSP_OK;
  /* count the classes present on a sorted copy */
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
                    "%zu of them occur; a label out of range?%s",
                    what, k - 1, i_max, k, present, hint);
  return LSP_OK;
}
