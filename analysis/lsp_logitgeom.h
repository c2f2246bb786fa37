/* lsp_logitgeom.h — logit geometry: the logit gap and predictive entropy
 * (DESIGN §2).
 *
 * Per example with logits z ∈ R^K and true class y:
 *   gap     g = z_y − (1/(K−1)) Σ_{j≠y} z_j, computed as
 *           (1/(K−1)) Σ_{j≠y} (z_y − z_j) in double (float64 logits of 1e15
 *           keep the units of their differences)
 *   entropy H(p) = −Σ_k p_k log p_k of p = softmax(z), in nats, computed as
 *           log Σ_k e^{z_k−m} − Σ_k p_k (z_k − m) with m = max_k z_k.
 * Both distributions are summarized by mean, median and the 5/25/75/95%
 * quantiles (linear interpolation between order statistics, NumPy's default
 * "linear" method), with min and max. The gap is set against the optimal gap
 * of the smoothing the model was trained with (lsp_ls_optimal_gap: the gap
 * at which the smoothed loss is minimal; +inf for eps = 0, -inf for t2t at
 * eps = 1). */
#ifndef LSP_LOGITGEOM_H
#define LSP_LOGITGEOM_H

#include <stddef.h>
#include <stdint.h>

#include "core/formats/lsp_json.h"
#include "core/loss/lsp_loss.h"

typedef struct {
  double mean, median, q05, q25, q75, q95, min, max;
} lsp_dist_summary;

typedef struct {
  size_t n, k;
  lsp_dist_summary gap;       /* the logit gap                                */
  lsp_dist_summary entropy;   /* predictive entropy, nats                     */
  double entropy_max;         /* log K, the entropy of the uniform prediction */
  int has_optimal;            /* a smoothing setting was given                */
  double optimal_gap;         /* lsp_ls_optimal_gap; +inf for eps = 0, -inf
                                 for t2t at eps = 1 (q_y = 0)                */
  double share_above_optimal; /* share of examples with g > optimal_gap     */
  double eps;                 /* the smoothing setting (if has_optimal)       */
  lsp_ls_convention convention;
} lsp_logitgap;

/* Summarize the logit gap and entropy of `logits` (n×k float32, finite)
 * with labels (n int32 in [0, k)). `ls` may be NULL (no optimal gap); if
 * given it is checked with lsp_ls_check. `gap_out` and `entropy_out` are
 * optional caller-owned arrays of n doubles that receive the per-example
 * values. Needs one scratch array of n doubles, allocated once per call.
 * Errors: LSP_EINVAL for n == 0, k < 2 or bad settings; LSP_EDATA naming the
 * first row with a label out of range or a non-finite logit; LSP_ENOMEM. */
int lsp_logitgap_compute(const float *logits, const int32_t *labels, size_t n,
                         size_t k, const lsp_ls *ls, lsp_logitgap *out,
                         double *gap_out, double *entropy_out);

/* lsp_logitgap_compute for float64 logits, used as stored (no rounding
 * to float32: gaps of a few units on logits of 1e8 are kept). */
int lsp_logitgap_compute_f64(const double *logits, const int32_t *labels, size_t n,
                             size_t k, const lsp_ls *ls, lsp_logitgap *out,
                             double *gap_out, double *entropy_out);

/* Why there is no finite optimal gap, or NULL when there is one (or no
 * smoothing was given): eps = 0 (+inf: q_j = 0 for j != y, the loss falls
 * as the gap grows without bound), or t2t at eps = 1 (-inf: q_y = 0, the
 * loss falls as the true logit drops without bound). */
const char *lsp_logitgap_no_optimum(const lsp_logitgap *g);

/* Summary of n values (sorts `v` in place): mean (summed in double in index
 * order before sorting; should finite values' sum overflow, the mean of the
 * values divided by their largest |v|, times it), median and quantiles as
 * above. n > 0. */
void lsp_dist_summarize(double *v, size_t n, lsp_dist_summary *out);

/* Write the summary as keys into the JSON object the caller has opened:
 * logit_gap {mean median q05 q25 q75 q95 min max}, optimal_gap (null for
 * eps = 0, t2t at eps = 1 or when no smoothing was given; then
 * "optimal_gap_note" says why, for an infinite optimum),
 * share_above_optimal, entropy {...}, entropy_max. */
void lsp_logitgap_json(const lsp_logitgap *g, lsp_json *j);

#endif
