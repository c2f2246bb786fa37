/* lsp_mi.h — information erasure (Müller et al. 2019, §4; DESIGN §2): how
 * much a model's logits still say about *which* training example they came
 * from, estimated from a scalar statistic observed on perturbed copies.
 *
 * X is an example index, uniform over M examples; each example is seen R
 * times (perturbed copies), giving values d_xr (for the study, the logit
 * difference z_a − z_b of a class pair). Under a Gaussian approximation,
 *
 *   Î(X; d) = ½ · log( Var_total(d) / mean_x Var(d | X = x) )   (nats)
 *
 * with population variances (divisor = number of values) throughout, so the
 * law of total variance makes Var_total = mean_x Var(d|x) + Var_x(mean of
 * d|x) exactly and Î = ½ log(1 + between/within) ≥ 0. Î is 0 when the copies
 * of every example vary as much as the examples do, and it grows as the
 * logits keep examples apart. The true I(X; d) is at most H(X) = log M; the
 * Gaussian estimate is not bounded by it (tiny within-example spread gives a
 * large value), which is why reports print both. */
#ifndef LSP_MI_H
#define LSP_MI_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  double mi;          /* Î, nats                                          */
  double var_total;   /* population variance of all M·R values            */
  double var_within;  /* mean over examples of the variance of its copies  */
  double var_between; /* variance of the M example means (= total − within) */
  double bound;       /* log M: H(X), the largest possible I(X; d)         */
  size_t m, r;        /* examples and copies per example                   */
} lsp_mi_result;

/* Î(X; d) from d (m×r doubles, row-major: row x holds the r copies of
 * example x), accumulated in double with two passes (means, then squared
 * deviations). Errors: LSP_EINVAL for m < 2 or r < 2; LSP_EDATA naming the
 * first non-finite value, or when every example's copies are identical up
 * to rounding (within-example variance at most 1e-12 of the total: the
 * estimate would be infinite, or above ½ log 1e12 = 13.8 nats). */
int lsp_mi_gaussian(const double *d, size_t m, size_t r, lsp_mi_result *out);

/* 95% percentile bootstrap interval of Î: resample the m examples (each
 * with all its r copies) with replacement, by the engine of
 * analysis/lsp_boot (resample b from splitmix64(seed ⊕ splitmix64(b)), so
 * the interval does not depend on the thread count). With d2 (the same m
 * examples and copies scored by another model) the interval is that of the
 * paired difference Î(d) − Î(d2) over the same resamples. A resample whose
 * examples all have identical copies gives +inf (it sorts last), or 0 when
 * its examples also share one mean (d is then a constant); in the paired
 * difference, +inf for both models counts as 0 (both at the ceiling H(X)),
 * so no resample is NaN. Errors as
 * lsp_mi_gaussian (for d and d2), LSP_EINVAL for resamples < 1, LSP_ENOMEM. */
int lsp_mi_bootstrap(const double *d, const double *d2, size_t m, size_t r,
                     int resamples, uint64_t seed, double *lo, double *hi);

/* The pair of classes a < b confused most often by logits (n×k float32)
 * with labels (n int32 in [0, k)): the largest C[a][b] + C[b][a] of the
 * confusion matrix (argmax ties to the lowest class, DESIGN §2); ties
 * between pairs go to the lowest a, then b. *count gets that sum (0 when
 * the logits classify every row correctly: then the pair is (0, 1)).
 * Memory O(n + k) (sparse counts, lsp_confusion). LSP_EINVAL for n == 0
 * or k < 2; LSP_EDATA for a label out of range or a non-finite logit
 * (naming the row); LSP_ENOMEM. */
int lsp_mi_confused_pair(const float *logits, const int32_t *labels, size_t n,
                         size_t k, int *a, int *b, size_t *count);

#endif
