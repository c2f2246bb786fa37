/* lsp_im2col.c — patch matrix of a convolution and its adjoint. */
#include "core/nn/layers/lsp_im2col.h"

#include <string.h>

/* Output columns s whose input column s·sw − pw + v lies in [0, w_in):
 * [*s0, *s1). */
static void col_range(const lsp_conv2d_geom *g, size_t v, size_t *s0,
                      size_t *s1) {
  /* s·sw + v >= pw  <=>  s >= ceil((pw − v)/sw) */
  size_t lo = v >= g->pw ? 0 : (g->pw - v + g->sw - 1) / g->sw;
  /* s·sw + v − pw <= w_in − 1  <=>  s <= (w_in − 1 + pw − v)/sw */
  size_t hi = 0;
  if (g->w_in + g->pw > v) hi = (g->w_in - 1 + g->pw - v) / g->sw + 1;
  if (hi > g->w_out) hi = g->w_out;
  if (lo > hi) lo = hi;
  *s0 = lo;
  *s1 = hi;
}

void lsp_im2col(const lsp_conv2d_geom *g, const float *x, size_t nb,
                float *col) {
  const size_t P = g->h_out * g->w_out, ld = nb * P;
  const size_t in_plane = g->h_in * g->w_in;
  for (size_t c = 0; c < g->c_in; c++)
    for (size_t u = 0; u < g->kh; u++)
      for (size_t v = 0; v < g->kw; v++) {
        float *row = col + ((c * g->kh + u) * g->kw + v) * ld;
        size_t s0, s1;
        col_range(g, v, &s0, &s1);
        for (size_t i = 0; i < nb; i++) {
          const float *xp = x + (i * g->c_in + c) * in_plane;
          for (size_t r = 0; r < g->h_out; r++) {
            float *dst = row + i * P + r * g->w_out;
            size_t h = r * g->sh + u; /* padded row index */
            if (h < g->ph || h - g->ph >= g->h_in) {
              for (size_t s = 0; s < g->w_out; s++) dst[s] = 0.0f;
              continue;
            }
            const float *src = xp + (h - g->ph) * g->w_in;
            for (size_t s = 0; s < s0; s++) dst[s] = 0.0f;
            /* rows are short (w_out floats): inline loops, not memcpy calls */
            if (g->sw == 1) {
              for (size_t s = s0; s < s1; s++) dst[s] = src[s + v - g->pw];
            } else {
              for (size_t s = s0; s < s1; s++)
                dst[s] = src[s * g->sw + v - g->pw];
            }
            for (size_t s = s1; s < g->w_out; s++) dst[s] = 0.0f;
          }
        }
      }
}

void lsp_col2im_add(const lsp_conv2d_geom *g, const float *col, size_t nb,
                    float *dx) {
  const size_t P = g->h_out * g->w_out, ld = nb * P;
  const size_t in_plane = g->h_in * g->w_in;
  for (size_t i = 0; i < nb; i++)
    for (size_t c = 0; c < g->c_in; c++) {
      float *xp = dx + (i * g->c_in + c) * in_plane;
      for (size_t u = 0; u < g->kh; u++)
        for (size_t v = 0; v < g->kw; v++) {
          const float *row = col + ((c * g->kh + u) * g->kw + v) * ld + i * P;
          size_t s0, s1;
          col_range(g, v, &s0, &s1);
          for (size_t r = 0; r < g->h_out; r++) {
            size_t h = r * g->sh + u;
            if (h < g->ph || h - g->ph >= g->h_in) continue;
            float *dst = xp + (h - g->ph) * g->w_in;
            const float *src = row + r * g->w_out;
            for (size_t s = s0; s < s1; s++)
              dst[s * g->sw + v - g->pw] += src[s];
          }
        }
    }
}
