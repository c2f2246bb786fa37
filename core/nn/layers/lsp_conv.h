/* lsp_conv.h — 2-D convolution (PyTorch Conv2d, dilation 1).
 *
 * Layouts are PyTorch's, so exported tensors load unchanged:
 *   x   n × c_in  × h_in  × w_in    (NCHW, float32, C order)
 *   w   c_out × c_in/groups × kh × kw   (OIHW)
 *   b   c_out, or NULL (no bias)
 *   y   n × c_out × h_out × w_out
 * y[i,o,r,s] = b[o] + Σ_{c,u,v} w[o,c,u,v] · x[i,c, r·sh − ph + u, s·sw − pw + v]
 * with x read as 0 outside the image (zero padding, the same ph rows on top
 * and bottom, pw columns left and right). With groups G > 1 the sum over c
 * runs over the C/G input channels of output o's group only:
 *   y[i,o,r,s] = b[o] + Σ_{j<C/G,u,v} w[o,j,u,v] · x[i, q·C/G + j, …],
 *   q = o / (M/G)
 * (depthwise: G = c_in, each input channel feeds c_out/c_in outputs).
 * DESIGN.md "Layers" has the
 * backward formulas. Two implementations compute it, im2col + sgemm and
 * direct vectorized loops (lsp_conv_int.h); these functions pick the faster
 * for the geometry, forward and backward separately.
 *
 * The kernels are pure functions of plain arrays: no model struct, no
 * allocation, no threads of their own: the caller runs them on slices of a
 * batch in parallel (OpenBLAS set to one thread meanwhile). Results are
 * bit-identical for the same slicing of a batch; another slicing may change
 * the last bits (sgemm's summation order depends on the matrix sizes), so a
 * caller that wants results independent of the thread count cuts batches
 * into fixed shares. Scratch memory comes from the caller as a workspace of
 * lsp_conv2d_ws_size() floats. */
#ifndef LSP_CONV_H
#define LSP_CONV_H

#include <stddef.h>

typedef struct {
  size_t c_in, h_in, w_in; /* input channels, height, width (per sample)  */
  size_t c_out;            /* output channels                             */
  size_t kh, kw;           /* kernel height, width                        */
  size_t sh, sw;           /* stride, rows and columns (>= 1)             */
  size_t ph, pw;           /* zero padding: rows top and bottom, columns
                              left and right                              */
  size_t h_out, w_out;     /* output height, width: set by _geom_check     */
  size_t groups;           /* channel groups dividing c_in and c_out; 0 or
                              1: a dense convolution                       */
} lsp_conv2d_geom;

/* Validate a geometry (groups dividing both channel counts) and set h_out = (h_in + 2ph − kh)/sh + 1 and
 * w_out = (w_in + 2pw − kw)/sw + 1 (floor division, as PyTorch). LSP_EINVAL
 * with the reason for a zero size or stride, a kernel larger than the padded
 * input, or sizes whose products overflow int (the BLAS index type). */
int lsp_conv2d_geom_check(lsp_conv2d_geom *g);

/* Floats of workspace that forward and backward need for batches of up to
 * n samples (the same buffer serves both; it is not kept between calls). */
size_t lsp_conv2d_ws_size(const lsp_conv2d_geom *g, size_t n);

/* y = conv(x, w) + b on n samples. y is overwritten; b may be NULL.
 * ws: lsp_conv2d_ws_size(g, n) floats. x and y must not overlap. */
void lsp_conv2d_forward(const lsp_conv2d_geom *g, const float *x, size_t n,
                        const float *w, const float *b, float *y, float *ws);

/* Gradients of the forward above, given dy (the loss gradient w.r.t. y):
 *   dx (n × c_in × h_in × w_in) or NULL when not wanted — overwritten;
 *   dw (c_out × c_in/groups × kh × kw) or NULL — overwritten with the sum over the
 *      n samples of this call (the caller adds shares of a batch itself);
 *   db (c_out) or NULL — overwritten likewise.
 * x is the forward's input (needed for dw only; may be NULL when dw is).
 * ws: lsp_conv2d_ws_size(g, n) floats. */
void lsp_conv2d_backward(const lsp_conv2d_geom *g, const float *x,
                         const float *dy, size_t n, const float *w, float *dx,
                         float *dw, float *db, float *ws);

#endif
