/* lsprobe/attack.h — L∞ adversarial attacks on a model (docs/DESIGN.md §2):
 * FGSM and PGD sweeps over a list of ε on N examples, white-box.
 *
 * x is N×input size (float32; float64 is rounded to float32 first), inside
 * the data bounds [lo, hi] (options lo, hi: 0 and 1), ε on that scale.
 * Each step is computed in float32 exactly as PyTorch computes
 * clamp(x + ε·sign(∇ₓL), lo, hi), sign(0) = 0. The result is the JSON of
 * `lsprobe attack --json`: "attack", "loss", "n", "unread_inputs" (input
 * components the model never reads), "clean_accuracy", ..., "points":
 * [{"eps", "accuracy", "accuracy_raw", "success_rate", "mean_confidence",
 * "zero_grad_share" (over the read components)}] in the order of `eps`.
 * When x_adv
 * is not NULL (N×input size float32) it receives the adversarial inputs of
 * the last ε of the list (`lsprobe attack --adv-out`).
 *
 * Options common to both:
 *   loss       "ce" (default), "smoothed" (the label-smoothed loss: with
 *              smoothing/convention options, else the model's recorded
 *              training smoothing), "margin" (max_{j!=y} z_j - z_y) or
 *              "dlr" (the DLR loss of `lsprobe attack --loss dlr`)
 *   smoothing, convention   for loss "smoothed"
 *   lo, hi     the data bounds (0, 1)
 *   batch      rows per batch (256)
 * PGD also: steps (10), step_size (0: 2.5·ε/steps), restarts (1), seed (1),
 * full_steps (0: an example counts as fooled at the first iterate the model
 * gets wrong; 1: always every step, the last iterate judged).
 * Errors: LSP_EINVAL for bad options or ε (each finite and >= 0), LSP_EDATA
 * for an input outside [lo, hi] (naming its row and column and the span of x,
 * as `lsprobe attack` does) or a label outside [0, K) (naming the row),
 * or a model that does not take inputs of this width. The model's
 * parameters are left unchanged. */
#ifndef LSPROBE_ATTACK_H
#define LSPROBE_ATTACK_H

#include <stddef.h>
#include <stdint.h>

#include "lsprobe/export.h"
#include "lsprobe/model.h"
#include "lsprobe/result.h"

#ifdef __cplusplus
extern "C" {
#endif

LSP_API int lsp_attack_fgsm(lsp_model *m, const lsp_matrix *x, const int32_t *y,
                            const double *eps, size_t neps, const lsp_opts *o,
                            float *x_adv, lsp_result **out);

LSP_API int lsp_attack_pgd(lsp_model *m, const lsp_matrix *x, const int32_t *y,
                           const double *eps, size_t neps, const lsp_opts *o,
                           float *x_adv, lsp_result **out);

#ifdef __cplusplus
}
#endif

#endif
