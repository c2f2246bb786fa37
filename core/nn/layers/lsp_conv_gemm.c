/* lsp_conv_gemm.c — Conv2d forward and backward by im2col + CBLAS sgemm.
 *
 * A batch is processed in chunks of nb samples whose patch matrix fits in
 * the cache (lsp_im2col.h): forward y = W·col, backward dW += dY·colᵀ and
 * dcol = Wᵀ·dY followed by col2im. nb depends on the geometry only, so a
 * sample's result does not depend on the batch it came in. */
#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "core/nn/layers/lsp_conv_int.h"
#include "core/nn/layers/lsp_im2col.h"

/* Bytes of patch matrix + GEMM output a chunk may use: well inside the
 * per-core L2 of current x86 cores. */
#define CHUNK_BYTES ((size_t)512 * 1024)

static size_t patch_rows(const lsp_conv2d_geom *g) {
  return g->c_in * g->kh * g->kw;
}

/* Samples per chunk: as many as fit CHUNK_BYTES (at least 1, at most n). */
static size_t chunk(const lsp_conv2d_geom *g, size_t n) {
  const size_t per = (patch_rows(g) + g->c_out) * g->h_out * g->w_out;
  size_t nb = CHUNK_BYTES / sizeof(float) / per;
  if (nb == 0) nb = 1;
  /* keep nb·P a valid int for the GEMM */
  while (nb > 1 && (double)per * (double)nb > INT_MAX) nb--;
  return nb < n ? nb : (n ? n : 1);
}

size_t lsp_conv2d_ws_size_gemm(const lsp_conv2d_geom *g, size_t n) {
  return chunk(g, n) * (patch_rows(g) + g->c_out) * g->h_out * g->w_out;
}

void lsp_conv2d_forward_gemm(const lsp_conv2d_geom *g, const float *x, size_t n,
                             const float *w, const float *b, float *y,
                             float *ws) {
  const size_t K = patch_rows(g), M = g->c_out, P = g->h_out * g->w_out;
  const size_t xs = g->c_in * g->h_in * g->w_in, ys = M * P;
  const size_t nb = chunk(g, n);
  float *col = ws, *out = ws + nb * K * P;
  for (size_t i0 = 0; i0 < n; i0 += nb) {
    const size_t bn = n - i0 < nb ? n - i0 : nb;
    const size_t ld = bn * P;
    lsp_im2col(g, x + i0 * xs, bn, col);
    /* out (M, bn·P) = W (M, K) · col (K, bn·P); one sample: straight into y */
    float *dst = bn == 1 ? y + i0 * ys : out;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)ld,
                (int)K, 1.0f, w, (int)K, col, (int)ld, 0.0f, dst, (int)ld);
    for (size_t i = 0; i < bn; i++)
      for (size_t m = 0; m < M; m++) {
        float *yr = y + (i0 + i) * ys + m * P;
        const float *src = dst + m * ld + i * P;
        const float bias = b ? b[m] : 0.0f;
        for (size_t p = 0; p < P; p++) yr[p] = src[p] + bias;
      }
  }
}

void lsp_conv2d_backward_gemm(const lsp_conv2d_geom *g, const float *x,
                              const float *dy, size_t n, const float *w,
                              float *dx, float *dw, float *db, float *ws) {
  const size_t K = patch_rows(g), M = g->c_out, P = g->h_out * g->w_out;
  const size_t xs = g->c_in * g->h_in * g->w_in, ys = M * P;
  const size_t nb = chunk(g, n);
  float *col = ws, *dY = ws + nb * K * P;
  if (db) lsp_conv2d_bias_grad(g, dy, n, db);
  if (dw && n == 0) memset(dw, 0, M * K * sizeof(float));
  if (!dw && !dx) return;
  for (size_t i0 = 0; i0 < n; i0 += nb) {
    const size_t bn = n - i0 < nb ? n - i0 : nb;
    const size_t ld = bn * P;
    /* dY (M, bn·P): the chunk's dy with samples side by side */
    const float *dyc = dy + i0 * ys;
    if (bn > 1) {
      for (size_t i = 0; i < bn; i++)
        for (size_t m = 0; m < M; m++)
          memcpy(dY + m * ld + i * P, dyc + i * ys + m * P, P * sizeof(float));
      dyc = dY;
    }
    if (dw) {
      lsp_im2col(g, x + i0 * xs, bn, col);
      /* dW (M, K) (+)= dY (M, bn·P) · colᵀ (bn·P, K) */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)K,
                  (int)ld, 1.0f, dyc, (int)ld, col, (int)ld,
                  i0 == 0 ? 0.0f : 1.0f, dw, (int)K);
    }
    if (dx) {
      /* dcol (K, bn·P) = Wᵀ (K, M) · dY (M, bn·P), then back onto pixels */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)ld,
                  (int)M, 1.0f, w, (int)K, dyc, (int)ld, 0.0f, col, (int)ld);
      memset(dx + i0 * xs, 0, bn * xs * sizeof(float));
      lsp_col2im_add(g, col, bn, dx + i0 * xs);
    }
  }
}
