/* lsp_optim.c — the optimizer steps lsp_train applies after every batch
 * (lsp_train.h: SGD with momentum and Adam, as torch.optim defines them),
 * element-wise on a slice of the flat parameter array. */
#include <math.h>
#include <stddef.h>

#include "core/train/lsp_train.h"

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
