/* lsp_optim.c — the optimizer steps lsp_train applies after every batch
 * (lsp_train.h: SGD with momentum and Adam, as torch.optim defines them),
 * element-wise on a slice of the flat parameter array. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/base/lsp_clones.h"
#include "core/train/lsp_train.h"

/* No fused multiply-adds in this file (Clang contracts by default, and
 * its AVX2/AVX-512 clones had fused the SGD steps; GCC's ISO mode does
 * not): every clone and both compilers round mu*v and lr*v on their own,
 * and the step on a velocity the gradient was added onto (sgd_step_vel)
 * gives the plain step's bits. */
#pragma STDC FP_CONTRACT OFF

#define ADAM_B1 0.9
#define ADAM_B2 0.999
#define ADAM_EPS 1e-8

void lsp_train_sgd_step(float *w, const float *dw, float *v, size_t np,
                        double lr_d, double mu_d, double wd_d) {
  const float lr = (float)lr_d, mu = (float)mu_d, wd = (float)wd_d;
  /* No OpenMP team in here: lsp_train calls this on each thread's slice of
   * the parameters. (A team here, next to OpenBLAS's own spinning pthread
   * workers, oversubscribed 2 cores: 15k instead of 59k samples/s.) */
  for (size_t i = 0; i < np; i++) {
    float g = dw[i] + wd * w[i];
    v[i] = mu * v[i] + g;
    w[i] = w[i] - lr * v[i];
  }
}

/* The same step on the sum of ng gradients, g[0][i] + g[1][i] + ... added
 * left to right, in one pass: no summed gradient is written anywhere, and
 * g[s][i] is set to zero once read when bit s of `clear` is set. The
 * operations are the ones of lsp_train_sgd_step on that sum, element by
 * element without fused multiply-adds (ISO C mode), so every clone gives the
 * same bits. The one- and two-gradient loops are spelled out per clearing
 * pattern (constant flags, inlined) so that each stays one plain loop. */
static inline __attribute__((always_inline)) void step1(float *w, float *g0, float *v, size_t np,
                                                        float lr, float mu, float wd, int z0) {
  for (size_t i = 0; i < np; i++) {
    float gi = g0[i] + wd * w[i];
    if (z0) g0[i] = 0.0f;
    v[i] = mu * v[i] + gi;
    w[i] = w[i] - lr * v[i];
  }
}

static inline __attribute__((always_inline)) void step2(float *w, float *g0, float *g1, float *v,
                                                        size_t np, float lr, float mu, float wd,
                                                        int z0, int z1) {
  for (size_t i = 0; i < np; i++) {
    float gi = (g0[i] + g1[i]) + wd * w[i];
    if (z0) g0[i] = 0.0f;
    if (z1) g1[i] = 0.0f;
    v[i] = mu * v[i] + gi;
    w[i] = w[i] - lr * v[i];
  }
}

LSP_CLONES /* static: a cloned (ifunc) symbol would escape the hidden visibility */
static void sgd_step_sum(float *w, float *const *g, size_t ng, unsigned clear, float *v,
                         size_t np, float lr, float mu, float wd) {
  if (ng == 1) {
    if (clear & 1u)
      step1(w, g[0], v, np, lr, mu, wd, 1);
    else
      step1(w, g[0], v, np, lr, mu, wd, 0);
    return;
  }
  if (ng == 2) {
    switch (clear & 3u) {
      case 3: step2(w, g[0], g[1], v, np, lr, mu, wd, 1, 1); break;
      case 2: step2(w, g[0], g[1], v, np, lr, mu, wd, 0, 1); break;
      case 1: step2(w, g[0], g[1], v, np, lr, mu, wd, 1, 0); break;
      default: step2(w, g[0], g[1], v, np, lr, mu, wd, 0, 0); break;
    }
    return;
  }
  enum { B = 512 };
  float acc[B];
  for (size_t b0 = 0; b0 < np; b0 += B) {
    const size_t nb = np - b0 < B ? np - b0 : B;
    const float *g0 = g[0] + b0, *g1 = g[1] + b0;
    for (size_t i = 0; i < nb; i++) acc[i] = g0[i] + g1[i];
    for (size_t s = 2; s < ng; s++) {
      const float *gs = g[s] + b0;
      for (size_t i = 0; i < nb; i++) acc[i] += gs[i];
    }
    for (size_t s = 0; s < ng; s++)
      if (clear >> s & 1u) memset(g[s] + b0, 0, nb * sizeof(float));
    float *wb = w + b0, *vb = v + b0;
    for (size_t i = 0; i < nb; i++) {
      float gi = acc[i] + wd * wb[i];
      vb[i] = mu * vb[i] + gi;
      wb[i] = wb[i] - lr * vb[i];
    }
  }
}

void lsp_train_sgd_step_sum(float *w, float *const *g, size_t ng, unsigned clear, float *v,
                            size_t np, double lr, double mu, double wd) {
  sgd_step_sum(w, g, ng, clear, v, np, (float)lr, (float)mu, (float)wd);
}

/* w = w - lr*v as in step1, then v = mu*v: the next weight-gradient GEMM
 * (β = 1) adds its sum onto that, which is step1's mu*v + g. */
LSP_CLONES
static void sgd_step_vel(float *w, float *v, size_t np, float lr, float mu) {
  for (size_t i = 0; i < np; i++) {
    w[i] = w[i] - lr * v[i];
    v[i] = mu * v[i];
  }
}

void lsp_train_sgd_step_vel(float *w, float *v, size_t np, double lr, double mu) {
  sgd_step_vel(w, v, np, (float)lr, (float)mu);
}

void lsp_train_adam_step(float *w, const float *dw, float *m1, float *m2,
                         size_t np, double lr, double wd, size_t t) {
  double bc1 = 1.0 - pow(ADAM_B1, (double)t),
         bc2 = 1.0 - pow(ADAM_B2, (double)t);
  float step = (float)(lr / bc1), rs = (float)(1.0 / sqrt(bc2));
  float b1 = (float)ADAM_B1, b2 = (float)ADAM_B2, eps = (float)ADAM_EPS;
  float fwd = (float)wd;
  /* one thread: see lsp_train_sgd_step */
  for (size_t i = 0; i < np; i++) {
    float g = dw[i] + fwd * w[i];
    m1[i] = b1 * m1[i] + (1.0f - b1) * g;
    m2[i] = b2 * m2[i] + (1.0f - b2) * g * g;
    w[i] = w[i] - step * m1[i] / (sqrtf(m2[i]) * rs + eps);
  }
}
