/* lsp_eltwise.c — ReLU, residual Add, gradient accumulation, per-channel
 * input normalization. restrict where the buffers are distinct lets the
 * compiler vectorize; the aliasing cases the header allows go through the
 * plain loops. The ReLU keeps a NaN, as PyTorch's does (x <= 0 is false
 * for it), and gives +0 for -0 and every negative, as before: a NaN weight
 * shows in the logits instead of hiding behind a zero. */
#include "core/nn/layers/lsp_eltwise.h"

#include "core/base/lsp_clones.h"

LSP_CLONES
static void relu_nr(const float *restrict x, float *restrict y, size_t count) {
  for (size_t i = 0; i < count; i++) y[i] = !(x[i] <= 0.0f) ? x[i] : 0.0f;
}

LSP_CLONES
static void relu_in_place(float *y, size_t count) {
  for (size_t i = 0; i < count; i++) y[i] = !(y[i] <= 0.0f) ? y[i] : 0.0f;
}

void lsp_relu_forward(const float *x, float *y, size_t count) {
  if (x != y) {
    relu_nr(x, y, count);
    return;
  }
  relu_in_place(y, count);
}

LSP_CLONES
static void relu_back_nr(const float *restrict y, const float *restrict dy,
                         float *restrict dx, size_t count) {
  for (size_t i = 0; i < count; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

LSP_CLONES
static void relu_back_in_place(const float *y, float *dx, size_t count) {
  for (size_t i = 0; i < count; i++) dx[i] = y[i] > 0.0f ? dx[i] : 0.0f;
}

void lsp_relu_backward(const float *y, const float *dy, float *dx,
                       size_t count) {
  if (dx != dy) {
    relu_back_nr(y, dy, dx, count);
    return;
  }
  relu_back_in_place(y, dx, count);
}

void lsp_add_forward(const float *a, const float *b, float *y, size_t count) {
  for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}

LSP_CLONES
static void acc_nr(float *restrict dst, const float *restrict src,
                   size_t count) {
  for (size_t i = 0; i < count; i++) dst[i] += src[i];
}

void lsp_acc(float *dst, const float *src, size_t count) {
  acc_nr(dst, src, count);
}

void lsp_chnorm_forward(const float *x, size_t n, size_t c, size_t hw,
                        const float *mean, const float *std, float *y) {
  for (size_t i = 0; i < n; i++)
    for (size_t ch = 0; ch < c; ch++) {
      const float m = mean[ch];
      const float inv = (float)(1.0 / (double)std[ch]);
      const float *xs = x + (i * c + ch) * hw;
      float *ys = y + (i * c + ch) * hw;
      for (size_t p = 0; p < hw; p++) ys[p] = (xs[p] - m) * inv;
    }
}

void lsp_chnorm_backward(const float *dy, size_t n, size_t c, size_t hw,
                         const float *std, float *dx) {
  for (size_t i = 0; i < n; i++)
    for (size_t ch = 0; ch < c; ch++) {
      const float inv = (float)(1.0 / (double)std[ch]);
      const float *ds = dy + (i * c + ch) * hw;
      float *xs = dx + (i * c + ch) * hw;
      for (size_t p = 0; p < hw; p++) xs[p] = ds[p] * inv;
    }
}
