/* lsprobe/loss.h — the label-smoothed cross-entropy and its gradient.
 *
 * Two smoothing conventions:
 *   LSP_LS_UNIFORM  q_k = (1-eps)*[k==y] + eps/K        (PyTorch's
 *                   label_smoothing, Keras, Müller et al. 2019)
 *   LSP_LS_T2T      q_y = 1-eps, q_k = eps/(K-1), k!=y  (tensor2tensor)
 * The per-row loss is L = logsumexp(z) - sum_k q_k z_k (never the log of a
 * probability), optionally minus H(q) so that its minimum is 0. The
 * gradient dL/dz_k = p_k - q_k comes out of the same pass over each row. */
#ifndef LSPROBE_LOSS_H
#define LSPROBE_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "lsprobe/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LSP_LS_UNIFORM = 0, LSP_LS_T2T = 1 } lsp_ls_convention;

typedef struct {
  double eps;                   /* smoothing, 0 <= eps <= 1; 0 = plain CE */
  lsp_ls_convention convention; /* how eps is spread over the classes      */
  int normalize;                /* subtract H(q) from every row's loss    */
} lsp_ls;

/* Label-smoothed cross-entropy over N rows of K logits.
 *
 *   logits    N×K float32, row-major, finite
 *   labels    N int32 in [0, K)
 *   ls        the smoothing (eps in [0, 1], a convention, normalize)
 *   dlogits   N×K output or NULL: dscale * (p - q)  (dscale = 1/N gives the
 *             gradient of the mean, as PyTorch's
 *             F.cross_entropy(z, y, label_smoothing=eps); 1 that of the sum)
 *   row_loss  N output or NULL: each row's loss
 *   mean_loss output or NULL: the mean over rows (accumulated in double,
 *             in an order that does not depend on the thread count)
 *
 * Rows are processed in parallel (OpenMP). Fails with LSP_EINVAL for bad
 * settings (logits, labels or ls NULL, K < 2, eps outside [0, 1], an
 * unknown convention, a dscale that is not finite or beyond float32's
 * range) and LSP_EDATA for N = 0 or, naming the first bad row, a label out
 * of range or a non-finite logit; outputs are then unspecified. */
LSP_API int lsp_loss_xent(const float *logits, const int32_t *labels, size_t n,
                          size_t k, const lsp_ls *ls, float *dlogits,
                          double dscale, double *row_loss, double *mean_loss);

/* Logit gap z_y - z_j at the loss minimum (p = q), log(q_y/q_j):
 * log(1 + K(1-eps)/eps) for uniform, log((K-1)(1-eps)/eps) for t2t;
 * +INFINITY for eps = 0 (no finite minimum), -INFINITY for t2t at eps = 1.
 * NaN for settings lsp_loss_xent refuses (ls NULL, eps outside [0, 1] or
 * NaN, an unknown convention, K < 2), with the reason in lsp_errmsg(). */
LSP_API double lsp_ls_optimal_gap(const lsp_ls *ls, size_t k);

/* H(q) = -sum q_k log q_k of the smoothed target, with 0 log 0 = 0 (nats);
 * NaN for bad settings, as lsp_ls_optimal_gap. */
LSP_API double lsp_ls_entropy(const lsp_ls *ls, size_t k);

#ifdef __cplusplus
}
#endif

#endif
