/* lsp_bn.h — batch normalization as PyTorch's BatchNorm2d (and BatchNorm1d
 * on n × c, with hw = 1).
 *
 * x and y are n × c × hw (NCHW with hw = h·w pixels), float32; gamma, beta,
 * running mean and running variance are c floats (PyTorch's weight, bias,
 * running_mean, running_var). Per channel, over the M = n·hw values of a
 * batch:
 *   eval:  y = gamma·(x − rmean)/√(rvar + eps) + beta
 *   train: y = gamma·x̂ + beta,  x̂ = (x − μ)/√(σ² + eps),  μ, σ² the batch
 *          mean and biased variance; afterwards
 *          rmean ← (1−m)·rmean + m·μ,  rvar ← (1−m)·rvar + m·σ²·M/(M−1).
 * Statistics and gradient sums are accumulated in double.
 *
 * Training mode in phases, for data parallelism. A batch is cut into shares
 * processed by different threads, yet μ and σ² must be the whole batch's:
 *   forward   1. lsp_bn2d_train_stats    on each share -> its part
 *             2. lsp_bn2d_train_combine  all parts -> stat (μ, 1/√(σ²+eps)),
 *                                        running statistics updated once
 *             3. lsp_bn2d_train_apply    on each share -> y
 *   backward  1. lsp_bn2d_bwd_sums       on each share -> its part
 *                                        (Σdy = dbeta, Σdy·x̂ = dgamma)
 *             2. lsp_bn2d_bwd_combine    all parts -> the batch's sums
 *             3. lsp_bn2d_bwd_apply      on each share -> dx
 * A part is 2c doubles, a stat 2c doubles; several parts are stored one
 * after the other (share s at parts + 2c·s). Combining runs over the shares
 * in order, so a fixed cut gives bit-identical results on any number of
 * threads. lsp_bn2d_forward_train / lsp_bn2d_backward_train do the three
 * phases on a whole batch in one call.
 *
 * No allocation, no threads; every output is overwritten. */
#ifndef LSP_BN_H
#define LSP_BN_H

#include <stddef.h>

typedef struct {
  size_t c;        /* channels                                               */
  size_t hw;       /* pixels per channel and sample (h·w; 1 for n × c input) */
  double eps;      /* added to the variance (PyTorch: 1e-5)                  */
  double momentum; /* running-statistics weight m (PyTorch: 0.1)             */
} lsp_bn2d_geom;

/* LSP_EINVAL unless c, hw > 0, eps > 0 (finite) and 0 <= momentum <= 1. */
int lsp_bn2d_geom_check(const lsp_bn2d_geom *g);

/* ---- eval mode (running statistics) ---------------------------------- */

void lsp_bn2d_forward_eval(const lsp_bn2d_geom *g, const float *x, size_t n,
                           const float *gamma, const float *beta,
                           const float *rmean, const float *rvar, float *y);

/* dx = dy·gamma/√(rvar+eps) (dx may be NULL), dgamma = Σ dy·(x − rmean)/
 * √(rvar+eps) and dbeta = Σ dy over the n samples of this call (either may
 * be NULL; x may be NULL when dgamma is). dx may alias dy. */
void lsp_bn2d_backward_eval(const lsp_bn2d_geom *g, const float *x,
                            const float *dy, size_t n, const float *gamma,
                            const float *rmean, const float *rvar, float *dx,
                            float *dgamma, float *dbeta);

/* ---- training mode, in phases ------------------------------------------ */

/* Forward phase 1: the share's part — part[ch] = Σx and part[c + ch] =
 * Σ(x − x̄_share)² (two passes, double) over its n·hw values of channel ch. */
void lsp_bn2d_train_stats(const lsp_bn2d_geom *g, const float *x, size_t n,
                          double *part);

/* Forward phase 2: merge nshares parts (share s holding counts[s] samples;
 * Chan et al.'s pairwise update, shares in order) into stat[ch] = μ and
 * stat[c + ch] = 1/√(σ² + eps), σ² biased. Updates rmean/rvar as above when
 * they are not NULL. stat may alias parts when nshares is 1. LSP_EINVAL when
 * the batch has fewer than 2 values per channel (PyTorch refuses it too). */
int lsp_bn2d_train_combine(const lsp_bn2d_geom *g, const double *parts,
                           const size_t *counts, size_t nshares, double *stat,
                           float *rmean, float *rvar);

/* Forward phase 3: y = gamma·(x − μ)·istd + beta on a share. y may alias x. */
void lsp_bn2d_train_apply(const lsp_bn2d_geom *g, const float *x, size_t n,
                          const double *stat, const float *gamma,
                          const float *beta, float *y);

/* Backward phase 1: part[ch] = Σdy, part[c + ch] = Σdy·x̂ over the share
 * (x̂ recomputed from x and stat). These are the share's dbeta and dgamma. */
void lsp_bn2d_bwd_sums(const lsp_bn2d_geom *g, const float *x,
                       const float *dy, size_t n, const double *stat,
                       double *part);

/* Backward phase 2: sums = Σ over the shares of their parts (in order). */
void lsp_bn2d_bwd_combine(const lsp_bn2d_geom *g, const double *parts,
                          size_t nshares, double *sums);

/* Backward phase 3, on a share, with the whole batch's sums and its total
 * number of samples n_total:
 *   dx = gamma·istd·(dy − Σdy/M − x̂·Σdy·x̂/M),  M = n_total·hw.
 * dx may alias dy. */
void lsp_bn2d_bwd_apply(const lsp_bn2d_geom *g, const float *x,
                        const float *dy, size_t n, const double *stat,
                        const float *gamma, const double *sums,
                        size_t n_total, float *dx);

/* ---- training mode, one call for a whole batch ---------------------------- */

/* Phases 1–3 on n samples: y, stat (2c doubles, kept for the backward) and
 * the running statistics (when not NULL). LSP_EINVAL as _train_combine. */
int lsp_bn2d_forward_train(const lsp_bn2d_geom *g, const float *x, size_t n,
                           const float *gamma, const float *beta, float *rmean,
                           float *rvar, float *y, double *stat);

/* Backward phases 1–3 on the same n samples: dx (or NULL), dgamma and dbeta
 * (float, or NULL); sums is 2c doubles of scratch that holds Σdy, Σdy·x̂ on
 * return. dx may alias dy. */
void lsp_bn2d_backward_train(const lsp_bn2d_geom *g, const float *x,
                             const float *dy, size_t n, const double *stat,
                             const float *gamma, float *dx, float *dgamma,
                             float *dbeta, double *sums);

#endif
