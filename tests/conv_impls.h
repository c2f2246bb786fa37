/* conv_impls.h — the convolution implementations the layer tests run: the
 * public entry point and both kernels behind it (direct and im2col+GEMM). */
#ifndef LSP_TEST_CONV_IMPLS_H
#define LSP_TEST_CONV_IMPLS_H

#include <stddef.h>

#include "core/nn/layers/lsp_conv.h"
#include "core/nn/layers/lsp_conv_int.h"

static const struct {
  const char *name;
  void (*fwd)(const lsp_conv2d_geom *, const float *, size_t, const float *,
              const float *, float *, float *);
  void (*bwd)(const lsp_conv2d_geom *, const float *, const float *, size_t,
              const float *, float *, float *, float *, float *);
  size_t (*ws)(const lsp_conv2d_geom *, size_t);
} CONV_IMPL[] = {
    {"chosen", lsp_conv2d_forward, lsp_conv2d_backward, lsp_conv2d_ws_size},
    {"gemm", lsp_conv2d_forward_gemm, lsp_conv2d_backward_gemm, lsp_conv2d_ws_size_gemm},
    {"direct", lsp_conv2d_forward_direct, lsp_conv2d_backward_direct, lsp_conv2d_ws_size_direct},
};

#endif
