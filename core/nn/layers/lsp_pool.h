/* lsp_pool.h — 2-D pooling as PyTorch: MaxPool2d, AvgPool2d and global
 * average pooling (AdaptiveAvgPool2d(1)), dilation 1.
 *
 * Layouts: x is n × c × h_in × w_in (NCHW, float32), y is n × c × h_out ×
 * w_out (global pooling: n × c). Window (r, s) covers input rows
 * r·sh − ph … r·sh − ph + kh − 1 and the columns likewise, clipped to the
 * image; padding never wins a max. ONNX's general form adds asymmetric
 * padding and (for max pooling) dilation: taps r·sh − ph + u·dh. DESIGN.md
 * "Layers" has the formulas.
 *
 * Pure functions of plain arrays: no allocation, no threads, every sample
 * independent of the others. Backward overwrites dx. */
#ifndef LSP_POOL_H
#define LSP_POOL_H

#include <stddef.h>

typedef struct {
  size_t c, h_in, w_in;  /* channels, input height, width (per sample)     */
  size_t kh, kw;         /* window height, width                           */
  size_t sh, sw;         /* stride (PyTorch's default is the window size)  */
  size_t ph, pw;         /* padding rows top and bottom, columns each side */
  int ceil_mode;         /* 1: round the output size up (PyTorch rule)    */
  int count_include_pad; /* average pooling: divide by the window size
                            including padding (PyTorch's default, 1) or by
                            the pixels inside the image (0)                */
  size_t h_out, w_out;   /* set by lsp_pool2d_geom_check                    */
  /* ONNX's general form (0 in every field: PyTorch's, as above) */
  int asym;              /* 1: ph, pw pad the top and left, pb, pr the
                            bottom and right; each smaller than the
                            (dilated) window instead of at most half of it */
  size_t pb, pr;         /* with asym: padding rows below, columns right   */
  size_t dh, dw;         /* dilation (0 or 1: none): the window's taps are
                            dh rows, dw columns apart                      */
} lsp_pool2d_geom;

/* Validate and set the output size, PyTorch's rule:
 *   h_out = ⌊(h_in + 2ph − kh)/sh⌋ + 1, or with ceil_mode ⌈·⌉ + 1 minus one
 *   when the last window would start in the bottom padding (columns alike);
 *   with asym, ph + pb for 2ph, and the dilated window (kh − 1)·dh + 1.
 * LSP_EINVAL with the reason for a zero size or stride, padding over half the
 * window (PyTorch refuses it; with asym: not smaller than the window), or an
 * empty output. */
int lsp_pool2d_geom_check(lsp_pool2d_geom *g);

/* Max pooling. Backward sends each dy to the window's first maximum in scan
 * order (rows, then columns: PyTorch's tie rule; a NaN counts as a maximum),
 * summing where windows overlap; x is the forward's input. */
void lsp_maxpool2d_forward(const lsp_pool2d_geom *g, const float *x, size_t n,
                           float *y);
void lsp_maxpool2d_backward(const lsp_pool2d_geom *g, const float *x,
                            const float *dy, size_t n, float *dx);

/* Average pooling: y = (sum of the window's pixels inside the image) / d,
 * d = the window clipped to the padded input (count_include_pad) or to the
 * image (otherwise). Backward spreads dy/d over the same pixels. */
void lsp_avgpool2d_forward(const lsp_pool2d_geom *g, const float *x, size_t n,
                           float *y);
void lsp_avgpool2d_backward(const lsp_pool2d_geom *g, const float *dy,
                            size_t n, float *dx);

/* Global average pooling: y[i,c] = mean of x[i,c,:,:] (hw = h·w pixels,
 * summed in double); backward dx[i,c,·] = dy[i,c]/hw. */
void lsp_gap_forward(const float *x, size_t n, size_t c, size_t hw, float *y);
void lsp_gap_backward(const float *dy, size_t n, size_t c, size_t hw,
                      float *dx);

#endif
