/* lsp_api_input.c — checks on the arrays handed to the public API, with the
 * messages the command gives for the same defects in files (the "path" of
 * those messages is the argument's name: "logits", "features", "x"). */
#include <stdlib.h>

#include "api/lsp_api_int.h"
#include "core/base/lsp_error.h"

int lsp_api_matrix_ok(const char *what, const lsp_matrix *m, size_t cols) {
  if (!m || !m->data) return lsp_fail(LSP_EINVAL, "%s: no array given", what);
  if (m->type != LSP_MAT_F32 && m->type != LSP_MAT_F64)
    return lsp_fail(
        LSP_EINVAL,
        "%s: element type %d is neither LSP_MAT_F32 nor LSP_MAT_F64", what,
        (int)m->type);
  if (m->rows == 0 || m->cols == 0)
    return lsp_fail(LSP_EDATA, "%s: empty array (%zu x %zu)", what, m->rows,
                    m->cols);
  if (m->rows > ((size_t)-1) / 8 / m->cols)
    return lsp_fail(LSP_EDATA, "%s: %zu x %zu is too large", what, m->rows,
                    m->cols);
  if (cols && m->cols != cols)
    return lsp_fail(LSP_EDATA, "%s: %zu columns, expected %zu", what, m->cols,
                    cols);
  return LSP_OK;
}

lsp_array lsp_api_array(const lsp_matrix *m) {
  lsp_array a = {0};
  a.dtype = m->type == LSP_MAT_F64 ? LSP_DT_F64 : LSP_DT_F32;
  a.ndim = 2;
  a.shape[0] = m->rows;
  a.shape[1] = m->cols;
  a.count = m->rows * m->cols;
  a.data = m->data;
  return a;
}

int lsp_api_f32(const char *what, const lsp_matrix *m, const float **view,
                float **own) {
  lsp_array a = lsp_api_array(m);
  return lsp_array_f32(&a, what, 1, view, own);
}

int lsp_api_labels(const char *what, const int32_t *y, size_t n, size_t k,
                   size_t *kout) {
  if (!y) return lsp_fail(LSP_EINVAL, "%s: no labels given", what);
  int32_t top = -1;
  for (size_t i = 0; i < n; i++) {
    if (y[i] < 0 || (k > 0 && (size_t)y[i] >= k)) {
      if (k > 0)
        return lsp_fail(LSP_EDATA,
                        "%s: label %d at index %zu is out of range [0, %zu)",
                        what, (int)y[i], i, k);
      return lsp_fail(LSP_EDATA, "%s: label %d at index %zu is negative", what,
                      (int)y[i], i);
    }
    if (y[i] > top) top = y[i];
  }
  if (kout) *kout = (size_t)top + 1;
  return LSP_OK;
}
