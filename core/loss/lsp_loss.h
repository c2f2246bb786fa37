/* lsp_loss.h — label-smoothed cross-entropy and its gradient (DESIGN §2).
 *
 * Two smoothing conventions:
 *   LSP_LS_UNIFORM  q_k = (1-eps)*[k==y] + eps/K        (PyTorch, Keras, Müller 2019)
 *   LSP_LS_T2T      q_y = 1-eps, q_k = eps/(K-1), k!=y  (tensor2tensor)
 * The per-row loss is L = logsumexp(z) - sum_k q_k z_k (never log of a
 * probability), optionally minus H(q) so that its minimum is 0. The gradient
 * dL/dz_k = p_k - q_k is produced in the same pass over each row. */
#ifndef LSP_LOSS_H
#define LSP_LOSS_H

#include <stddef.h>
#include <stdint.h>

/* lsp_ls, lsp_ls_convention, lsp_loss_xent, lsp_ls_optimal_gap and
 * lsp_ls_entropy are public API (documented there). */
#include "lsprobe/loss.h"

/* Validate eps, the convention and K (K >= 2). */
int lsp_ls_check(const lsp_ls *ls, size_t k);

/* The smoothed target: q_on on the true class, q_off on each other class. */
void lsp_ls_target(const lsp_ls *ls, size_t k, double *q_on, double *q_off);

const char *lsp_ls_convention_name(lsp_ls_convention c);
/* "uniform" or "t2t"; LSP_EINVAL otherwise. */
int lsp_ls_convention_parse(const char *s, lsp_ls_convention *out);

/* The same quantity computed naively in double (log-softmax, then the
 * weighted sum): the reference the fast kernel is tested against. */
int lsp_loss_xent_ref(const float *logits, const int32_t *labels, size_t n,
                      size_t k, const lsp_ls *ls, double *dlogits,
                      double dscale, double *mean_loss);

/* Row-wise stable softmax and log-softmax (max subtracted), N×K float32.
 * `out` may alias `in`. */
void lsp_softmax_rows(const float *in, float *out, size_t n, size_t k);
void lsp_log_softmax_rows(const float *in, float *out, size_t n, size_t k);

#endif
