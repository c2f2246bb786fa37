/* lsp_eltwise.h — element-wise layers: ReLU, the residual Add, per-channel
 * input normalization, and the gradient accumulation a skip edge needs.
 *
 * Flatten has no kernel: NCHW is C order, so n × c × h × w and n × (c·h·w)
 * are the same buffer; its forward and backward are the identity.
 *
 * Counts are numbers of floats. Pure functions: no allocation, no threads. */
#ifndef LSP_ELTWISE_H
#define LSP_ELTWISE_H

#include <stddef.h>

/* y = x > 0 ? x : +0, and NaN for NaN (as PyTorch's ReLU: a NaN reaches
 * the logits, where training and the callers' checks see it). y may alias
 * x. */
void lsp_relu_forward(const float *x, float *y, size_t count);

/* dx = dy where y > 0, else 0; y is the forward's output (or its input: the
 * mask is the same). dx may alias dy. */
void lsp_relu_backward(const float *y, const float *dy, float *dx,
                       size_t count);

/* The residual connection: y = a + b. y may alias a or b. Its backward
 * passes dy unchanged to both inputs: use dy itself, or lsp_acc where an
 * input's gradient also arrives from elsewhere. */
void lsp_add_forward(const float *a, const float *b, float *y, size_t count);

/* dst += src: gradient accumulation where a tensor feeds two layers (the
 * skip edge of a residual block). dst and src must not overlap. */
void lsp_acc(float *dst, const float *src, size_t count);

/* Input normalization, a layer of the model (torchvision's Normalize):
 *   y[i,ch,·] = (x[i,ch,·] − mean[ch]) / std[ch]    (x: n × c × hw)
 * mean and std are c floats, std > 0 (not trained). y may alias x. */
void lsp_chnorm_forward(const float *x, size_t n, size_t c, size_t hw,
                        const float *mean, const float *std, float *y);

/* dx = dy / std[ch]. dx may alias dy. */
void lsp_chnorm_backward(const float *dy, size_t n, size_t c, size_t hw,
                         const float *std, float *dx);

#endif
