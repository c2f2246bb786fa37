/* lsp_pad.h — 2-D padding: extra rows above and below, extra columns left
 * and right of every channel, filled with a constant, with the image
 * mirrored at its border, or with its edge pixels repeated (ONNX Pad's
 * modes constant, reflect and edge; PyTorch's ConstantPad2d,
 * ReflectionPad2d and ReplicationPad2d).
 *
 * Layouts: x is n × c × h_in × w_in (NCHW, float32), y is n × c × h_out ×
 * w_out with h_out = pt + h_in + pb, w_out = pl + w_in + pr.
 * Output pixel (r, s) reads input row src(r − pt) and column src(s − pl):
 *   constant  inside the image the pixel itself, outside it `value`;
 *   reflect   i < 0 → −i, i ≥ h → 2(h − 1) − i (the border pixel is not
 *             repeated; NumPy's "reflect"), so every pad must be < h;
 *   edge      i clamped to [0, h − 1].
 * Mode LSP_PAD_MIN is constant −∞: the padding of a max pooling, which
 * never wins a maximum (a value that stays finite in files).
 *
 * Backward adds every dy pixel onto the input pixel its forward read (the
 * constant's pixels read none), overwriting dx. Pure functions: no
 * allocation, no threads, samples independent. */
#ifndef LSP_PAD_H
#define LSP_PAD_H

#include <stddef.h>

enum {
  LSP_PAD_CONSTANT = 0,
  LSP_PAD_REFLECT = 1,
  LSP_PAD_EDGE = 2,
  LSP_PAD_MIN = 3
};

typedef struct {
  size_t c, h_in, w_in;  /* channels, input height, width (per sample) */
  size_t pt, pl, pb, pr; /* rows above, columns left, rows below, right */
  int mode;              /* LSP_PAD_*                                   */
  float value;           /* constant mode's fill                        */
  size_t h_out, w_out;   /* set by lsp_pad2d_geom_check                 */
} lsp_pad2d_geom;

/* Validate and set the output size. LSP_EINVAL with the reason for an
 * empty input, an unknown mode, a non-finite constant, reflect padding not
 * smaller than the image (or edge padding of an empty one) or a size that
 * overflows. */
int lsp_pad2d_geom_check(lsp_pad2d_geom *g);

void lsp_pad2d_forward(const lsp_pad2d_geom *g, const float *x, size_t n,
                       float *y);
void lsp_pad2d_backward(const lsp_pad2d_geom *g, const float *dy, size_t n,
                        float *dx);

#endif
