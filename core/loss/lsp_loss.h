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

typedef enum { LSP_LS_UNIFORM = 0, LSP_LS_T2T = 1 } lsp_ls_convention;

typedef struct {
  double eps;                   /* smoothing, 0 <= eps <= 1; 0 = plain CE */
  lsp_ls_convention convention; /* how eps is spread over the classes      */
  int normalize;                /* subtract H(q) from every row's loss    */
} lsp_ls;

/* Validate eps, the convention and K (K >= 2). */
int lsp_ls_check(const lsp_ls *ls, size_t k);

/* The smoothed target: q_on on the true class, q_off on each other class. */
void lsp_ls_target(const lsp_ls *ls, size_t k, double *q_on, double *q_off);

/* H(q) = -sum q_k log q_k with 0 log 0 = 0 (nats). */
double lsp_ls_entropy(const lsp_ls *ls, size_t k);

/* Logit gap z_y - z_j at the loss minimum (p = q): log(q_on/q_off).
 * +INFINITY for eps = 0 (no finite minimum), -INFINITY for t2t at eps = 1. */
double lsp_ls_optimal_gap(const lsp_ls *ls, size_t k);

const char *lsp_ls_convention_name(lsp_ls_convention c);
/* "uniform" or "t2t"; LSP_EINVAL otherwise. */
int lsp_ls_convention_parse(const char *s, lsp_ls_convention *out);

/* Label-smoothed cross-entropy over N rows of K logits.
 *
 *   logits    N×K float32, row-major, finite
 *   labels    N int32 in [0, K)
 *   dlogits   N×K output or NULL: dscale * (p - q)  (dscale = 1/N gives the
 *             gradient of the mean, 1 that of the sum)
 *   row_loss  N output or NULL: each row's loss
 *   mean_loss output or NULL: the mean over rows (accumulated in double,
 *             in an order that does not depend on the thread count)
 *
 * Rows are processed in parallel with OpenMP (lsp_threads_set). Fails with
 * LSP_EINVAL for bad settings and LSP_EDATA naming the first bad row for a
 * label out of range or a non-finite logit; outputs are then unspecified. */
int lsp_loss_xent(const float *logits, const int32_t *labels, size_t n,
                  size_t k, const lsp_ls *ls, float *dlogits, double dscale,
                  double *row_loss, double *mean_loss);

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
