/* lsp_dense.h — the fully connected layer (PyTorch Linear) as a kernel.
 *
 *   x  n × in      (a flattened NCHW tensor is fine: in = c·h·w)
 *   w  out × in    (PyTorch's layout)
 *   b  out, or NULL
 *   y  n × out,    y = x·wᵀ + b
 * Through CBLAS sgemm (OpenBLAS; the caller decides OpenBLAS's thread count
 * — set it to 1 while running kernels on shares in parallel). No allocation. */
#ifndef LSP_DENSE_H
#define LSP_DENSE_H

#include <stddef.h>

void lsp_dense_forward(const float *x, size_t n, size_t in, size_t out,
                       const float *w, const float *b, float *y);

/* dx = dy·w (n × in) or NULL; dw = dyᵀ·x (out × in) or NULL; db = column
 * sums of dy (out) or NULL. All overwritten (dw, db: sums over the n samples
 * of this call). x may be NULL when dw is. */
void lsp_dense_backward(const float *x, const float *dy, size_t n, size_t in,
                        size_t out, const float *w, float *dx, float *dw,
                        float *db);
/* The same, but dw and db receive dw + dyᵀ·x and db + column sums (in that
 * order, element by element). On dw = db = 0 the result is the bits of
 * lsp_dense_backward (up to the sign of a zero) without its zeroing pass:
 * OpenBLAS clears C before a beta = 0 GEMM. */
void lsp_dense_backward_add(const float *x, const float *dy, size_t n, size_t in,
                            size_t out, const float *w, float *dx, float *dw,
                            float *db);

#endif
