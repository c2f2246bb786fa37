/* lsp_conv_int.h — the two Conv2d implementations behind lsp_conv.h
 * (internal to core/nn/layers; the benchmark and the tests call both).
 *
 *   _gemm    im2col + CBLAS sgemm (lsp_conv_gemm.c)
 *   _direct  direct loops over a padded, stride-phase-split copy of each
 *            sample, 16 output columns per vector (lsp_conv_direct.c for
 *            forward and dx, lsp_conv_dw.c for dw)
 *
 * Same arguments and contracts as lsp_conv2d_forward/_backward; each has
 * its own workspace size (lsp_conv2d_ws_size covers the one chosen). */
#ifndef LSP_CONV_INT_H
#define LSP_CONV_INT_H

#include "core/nn/layers/lsp_conv.h"

size_t lsp_conv2d_ws_size_gemm(const lsp_conv2d_geom *g, size_t n);
void lsp_conv2d_forward_gemm(const lsp_conv2d_geom *g, const float *x,
                             size_t n, const float *w, const float *b,
                             float *y, float *ws);
void lsp_conv2d_backward_gemm(const lsp_conv2d_geom *g, const float *x,
                              const float *dy, size_t n, const float *w,
                              float *dx, float *dw, float *db, float *ws);

size_t lsp_conv2d_ws_size_direct(const lsp_conv2d_geom *g, size_t n);
void lsp_conv2d_forward_direct(const lsp_conv2d_geom *g, const float *x,
                               size_t n, const float *w, const float *b,
                               float *y, float *ws);
void lsp_conv2d_backward_direct(const lsp_conv2d_geom *g, const float *x,
                                const float *dy, size_t n, const float *w,
                                float *dx, float *dw, float *db, float *ws);

/* db[o] = Σ_i Σ_p dy[i,o,p], summed in double in that order (every
 * implementation's bias gradient; lsp_conv.c). */
void lsp_conv2d_bias_grad(const lsp_conv2d_geom *g, const float *dy, size_t n,
                          float *db);

/* groups > 1 (lsp_conv_group.c): the kernels above on each group's
 * channels, or the depthwise loops when groups = c_in. */
int lsp_conv2d_depthwise(const lsp_conv2d_geom *g);
size_t lsp_conv2d_ws_size_grouped(const lsp_conv2d_geom *g, size_t n);
void lsp_conv2d_forward_grouped(const lsp_conv2d_geom *g, const float *x,
                                size_t n, const float *w, const float *b,
                                float *y, float *ws);
void lsp_conv2d_backward_grouped(const lsp_conv2d_geom *g, const float *x,
                                 const float *dy, size_t n, const float *w,
                                 float *dx, float *dw, float *db, float *ws);

#endif
