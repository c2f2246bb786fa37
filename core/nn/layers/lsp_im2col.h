/* lsp_im2col.h — the patch matrix of a convolution and its adjoint
 * (internal to core/nn/layers).
 *
 * For nb samples, col is K × (nb·P) row-major, K = c_in·kh·kw (rows ordered
 * like the OIHW weight's inner dimensions: channel, kernel row, kernel
 * column), P = h_out·w_out, column i·P + r·w_out + s holding sample i's
 * pixel under kernel tap (c, u, v) for output (r, s), 0 in the padding:
 *   col[(c·kh + u)·kw + v][i·P + r·w_out + s] = x[i, c, r·sh − ph + u, s·sw − pw + v]
 * Then y = W·col is a single GEMM (W viewed as c_out × K). col2im is the
 * transpose of that linear map: it adds every entry back onto the pixel it
 * came from (dx must be zeroed first). */
#ifndef LSP_IM2COL_H
#define LSP_IM2COL_H

#include <stddef.h>

#include "core/nn/layers/lsp_conv.h"

void lsp_im2col(const lsp_conv2d_geom *g, const float *x, size_t nb,
                float *col);
void lsp_col2im_add(const lsp_conv2d_geom *g, const float *col, size_t nb,
                    float *dx);

#endif
