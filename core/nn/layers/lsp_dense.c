/* lsp_dense.c — the fully connected layer through CBLAS sgemm. */
#include "core/nn/layers/lsp_dense.h"

#include <cblas.h>
#include <string.h>

void lsp_dense_forward(const float *x, size_t n, size_t in, size_t out,
                       const float *w, const float *b, float *y) {
  if (n == 0) return;
  float beta = 0.0f;
  if (b) {
    for (size_t i = 0; i < n; i++) memcpy(y + i * out, b, out * sizeof(float));
    beta = 1.0f;
  }
  /* y (n,out) = x (n,in) · wᵀ (in,out) [+ y] */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out,
              (int)in, 1.0f, x, (int)in, w, (int)in, beta, y, (int)out);
}

/* Both entries: add (1) or overwrite (0) dw and db. */
static void dense_backward(const float *x, const float *dy, size_t n, size_t in, size_t out,
                           const float *w, float *dx, float *dw, float *db, int add) {
  if (dw) {
    if (n == 0) {
      if (!add) memset(dw, 0, out * in * sizeof(float));
    } else { /* dw (out,in) = dyᵀ (out,n) · x (n,in) [+ dw] */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in,
                  (int)n, 1.0f, dy, (int)out, x, (int)in, add ? 1.0f : 0.0f, dw, (int)in);
    }
  }
  if (db) {
    if (!add)
      for (size_t j = 0; j < out; j++) db[j] = 0.0f;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < out; j++) db[j] += dy[i * out + j];
  }
  if (dx && n > 0) /* dx (n,in) = dy (n,out) · w (out,in) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)in,
                (int)out, 1.0f, dy, (int)out, w, (int)in, 0.0f, dx, (int)in);
}

void lsp_dense_backward(const float *x, const float *dy, size_t n, size_t in,
                        size_t out, const float *w, float *dx, float *dw,
                        float *db) {
  dense_backward(x, dy, n, in, out, w, dx, dw, db, 0);
}

void lsp_dense_backward_add(const float *x, const float *dy, size_t n, size_t in,
                            size_t out, const float *w, float *dx, float *dw,
                            float *db) {
  dense_backward(x, dy, n, in, out, w, dx, dw, db, 1);
}
