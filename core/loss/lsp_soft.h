/* lsp_soft.h — losses against soft targets (DESIGN §2, "Soft targets and
 * distillation"): cross-entropy against arbitrary target distributions, and
 * Hinton's distillation loss (a teacher's tempered softmax as the target).
 *
 * Both take float32 logits and return float32 gradients, with every
 * exponential, sum and loss in double; each row is one fused pass (the
 * gradient comes from the same exponentials as the loss), rows run in
 * parallel with a reduction order that does not depend on the thread count.
 * Losses are written with logsumexp, never as the log of a probability. */
#ifndef LSP_SOFT_H
#define LSP_SOFT_H

#include <stddef.h>
#include <stdint.h>

#include "core/loss/lsp_loss.h"

/* Cross-entropy against soft targets, PyTorch's F.cross_entropy(z, q) with
 * probability targets:
 *
 *   L_i = -sum_k q_ik log p_ik = s_i * logsumexp(z_i) - sum_k q_ik z_ik,
 *   dL_i/dz_ik = s_i * p_ik - q_ik,   s_i = sum_k q_ik (1 for a distribution)
 *
 *   logits    N×K float32, row-major, finite
 *   targets   N×K float32, finite and >= 0 (rows normally sum to 1; the
 *             formula above is exact for any row sum, as PyTorch's)
 *   dlogits   N×K output or NULL: dscale * (s p - q)
 *   row_loss  N output or NULL; mean_loss: output or NULL, the mean over rows
 *
 * The label-smoothed loss of lsp_loss_xent is the special case q = its
 * smoothed target. LSP_EINVAL for K < 2 or a non-finite dscale; LSP_EDATA
 * naming the first bad row and column for a non-finite logit, a non-finite
 * or negative target; outputs are then unspecified. */
int lsp_loss_soft_xent(const float *logits, const float *targets, size_t n,
                       size_t k, float *dlogits, double dscale,
                       double *row_loss, double *mean_loss);

/* Hinton et al.'s distillation loss in PyTorch's usual form:
 *
 *   L = (1 - alpha) * CE_hard(y, softmax(z))
 *       + alpha * T^2 * KL(softmax(t/T) || softmax(z/T))
 *
 * with z the student's logits, t the teacher's, CE_hard the (optionally
 * label-smoothed, `hard`) cross-entropy of lsp_loss_xent, and the KL term
 * summed over classes and averaged over rows (kl_div's 'batchmean'). The T^2
 * keeps the gradient of the soft term comparable across temperatures:
 *
 *   dL_i/dz_ik = (1 - alpha) (p_ik - q_ik) + alpha T (pT_ik - tT_ik)
 *
 * (pT = softmax(z/T), tT = softmax(t/T), q the hard smoothed target). */
typedef struct {
  double alpha;       /* weight of the teacher term, in [0, 1]              */
  double temperature; /* T > 0 with 1/T and T^2 finite (about 5.6e-309 to
                         1.3e154)                                          */
  lsp_ls hard;        /* smoothing of the hard-label term (eps 0: plain CE) */
} lsp_distill;

/* Validate alpha, T (positive, with 1/T and T^2 finite), the hard-label
 * smoothing and K (K >= 2). */
int lsp_distill_check(const lsp_distill *d, size_t k);

/* Means over the rows of the distillation loss and of its two parts. */
typedef struct {
  double loss; /* (1 - alpha) ce + alpha T^2 kl                        */
  double ce;   /* hard-label (smoothed) cross-entropy                  */
  double kl;   /* KL(softmax(t/T) || softmax(z/T)), summed over classes */
} lsp_distill_mean;

/*   logits    N×K float32 student logits, finite
 *   teacher   N×K float32 teacher logits, finite
 *   labels    N int32 in [0, K)
 *   dlogits   N×K output or NULL: dscale * dL_i/dz_i
 *   row_loss  N output or NULL: each row's L_i
 *   mean      output or NULL: the means (accumulated in an order that does
 *             not depend on the thread count)
 * A teacher equal to the student gives a KL of exactly 0 and, with alpha =
 * 1, a gradient of exactly 0. LSP_EINVAL for bad settings, LSP_EDATA naming
 * the first bad row (and column) for a label out of range or a non-finite
 * student or teacher logit; outputs are then unspecified. */
int lsp_loss_distill(const float *logits, const float *teacher,
                     const int32_t *labels, size_t n, size_t k,
                     const lsp_distill *d, float *dlogits, double dscale,
                     double *row_loss, lsp_distill_mean *mean);

/* The same two losses computed naively in double (log-softmax, then the
 * weighted sums, the KL as sum tT (log tT - log pT)): the references the
 * fused kernels are tested against. dlogits (double) may be NULL. */
int lsp_loss_soft_xent_ref(const float *logits, const float *targets, size_t n,
                           size_t k, double *dlogits, double dscale,
                           double *mean_loss);
int lsp_loss_distill_ref(const float *logits, const float *teacher,
                         const int32_t *labels, size_t n, size_t k,
                         const lsp_distill *d, double *dlogits, double dscale,
                         lsp_distill_mean *mean);

#endif
