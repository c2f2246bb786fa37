/* lsp_act.c — the element-wise activations of lsp_act.h: each value in
 * double from its float input, rounded once to float. */
#include "core/nn/layers/lsp_act.h"

#include <math.h>

#define SQRT1_2 0.70710678118654752440    /* 1/√2                      */
#define INV_SQRT2PI 0.39894228040143267794 /* 1/√(2π)                   */
#define TWO_SQRTPI 1.12837916709551257390 /* 2/√π                       */
#define GELU_K 0.79788456080286535588     /* √(2/π)                    */
#define GELU_C 0.044715

/* σ(x) and σ'(x) = e/(1 + e)² with e = e^−|x|: no overflow, no 0·∞. */
static inline double sigm(double x) {
  if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}
static inline double dsigm(double x) {
  double e = exp(-fabs(x));
  return e / ((1.0 + e) * (1.0 + e));
}

static inline double f_sigmoid(const lsp_act_params *p, double x) {
  (void)p;
  return sigm(x);
}
static inline double d_sigmoid(const lsp_act_params *p, double x) {
  (void)p;
  return dsigm(x);
}
/* tanh'(x) = 1 − tanh² = 4·σ'(2x) */
static inline double f_tanh(const lsp_act_params *p, double x) {
  (void)p;
  return tanh(x);
}
static inline double d_tanh(const lsp_act_params *p, double x) {
  (void)p;
  return 4.0 * dsigm(2.0 * x);
}
/* at 0 the negative side (PyTorch: x > 0 ? dy : alpha·dy) */
static inline double f_leaky(const lsp_act_params *p, double x) {
  return x > 0.0 ? x : p->alpha * x;
}
static inline double d_leaky(const lsp_act_params *p, double x) {
  return x > 0.0 ? 1.0 : p->alpha;
}
static inline double f_elu(const lsp_act_params *p, double x) {
  return x > 0.0 ? x : p->alpha * expm1(x);
}
static inline double d_elu(const lsp_act_params *p, double x) {
  return x > 0.0 ? 1.0 : p->alpha * exp(x);
}
static inline double f_selu(const lsp_act_params *p, double x) {
  return p->gamma * f_elu(p, x);
}
static inline double d_selu(const lsp_act_params *p, double x) {
  return p->gamma * d_elu(p, x);
}
/* min(max(x, lo), hi) (hi when lo > hi, as ONNX); the gradient passes
 * strictly inside (lo, hi): PyTorch's Hardtanh and ReLU6, and relu's
 * convention at 0 */
static inline double f_clip(const lsp_act_params *p, double x) {
  double y = x < p->lo ? p->lo : x;
  return y > p->hi ? p->hi : y;
}
static inline double d_clip(const lsp_act_params *p, double x) {
  return x > p->lo && x < p->hi ? 1.0 : 0.0;
}
/* max(0, min(1, alpha·x + beta)); the gradient strictly inside (0, 1) */
static inline double f_hsig(const lsp_act_params *p, double x) {
  double t = p->alpha * x + p->beta;
  return t <= 0.0 ? 0.0 : t >= 1.0 ? 1.0 : t;
}
static inline double d_hsig(const lsp_act_params *p, double x) {
  double t = p->alpha * x + p->beta;
  return t > 0.0 && t < 1.0 ? p->alpha : 0.0;
}
/* x·min(max(x + 3, 0), 6)/6; the gradient 0 below −3, x/3 + 1/2 on
 * [−3, 3), 1 from 3 on: the right-hand derivative at both kinks, as
 * PyTorch's vectorized kernel (−1/2 at −3, 1 at 3) */
static inline double f_hswish(const lsp_act_params *p, double x) {
  (void)p;
  return x <= -3.0 ? 0.0 : x >= 3.0 ? x : x * (x + 3.0) / 6.0;
}
static inline double d_hswish(const lsp_act_params *p, double x) {
  (void)p;
  return x < -3.0 ? 0.0 : x < 3.0 ? x / 3.0 + 0.5 : 1.0;
}
static inline double f_softplus(const lsp_act_params *p, double x) {
  (void)p;
  return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}
static inline double d_softplus(const lsp_act_params *p, double x) {
  (void)p;
  return sigm(x);
}
static inline double f_erf(const lsp_act_params *p, double x) {
  (void)p;
  return erf(x);
}
static inline double d_erf(const lsp_act_params *p, double x) {
  (void)p;
  return TWO_SQRTPI * exp(-x * x);
}
/* x·Φ(x) = x·erfc(−x/√2)/2 (no cancellation for x ≪ 0);
 * d = Φ(x) + x·φ(x) */
static inline double f_gelu(const lsp_act_params *p, double x) {
  (void)p;
  return 0.5 * x * erfc(-x * SQRT1_2);
}
static inline double d_gelu(const lsp_act_params *p, double x) {
  (void)p;
  return 0.5 * erfc(-x * SQRT1_2) + x * INV_SQRT2PI * exp(-0.5 * x * x);
}
/* x·(1 + tanh u)/2 = x·σ(2u), u = √(2/π)·(x + 0.044715·x³);
 * d = σ(2u) + x·σ'(2u)·2u' */
static inline double f_gelut(const lsp_act_params *p, double x) {
  (void)p;
  double u = GELU_K * (x + GELU_C * x * x * x);
  return x * sigm(2.0 * u);
}
static inline double d_gelut(const lsp_act_params *p, double x) {
  (void)p;
  double u = GELU_K * (x + GELU_C * x * x * x);
  double du = GELU_K * (1.0 + 3.0 * GELU_C * x * x);
  double s = dsigm(2.0 * u);
  return sigm(2.0 * u) + (s == 0.0 ? 0.0 : x * s * 2.0 * du);
}

#define EACH(M)                                               \
  M(LSP_ACT_SIGMOID, sigmoid) M(LSP_ACT_TANH, tanh)           \
  M(LSP_ACT_LEAKYRELU, leaky) M(LSP_ACT_ELU, elu)             \
  M(LSP_ACT_SELU, selu) M(LSP_ACT_CLIP, clip)                 \
  M(LSP_ACT_HARDSIGMOID, hsig) M(LSP_ACT_HARDSWISH, hswish)   \
  M(LSP_ACT_SOFTPLUS, softplus) M(LSP_ACT_ERF, erf)           \
  M(LSP_ACT_GELU, gelu) M(LSP_ACT_GELU_TANH, gelut)

double lsp_act_f(const lsp_act_params *p, double x) {
  switch (p->kind) {
#define F1(k, n) \
  case k:        \
    return f_##n(p, x);
    EACH(F1)
#undef F1
  }
  return NAN;
}

double lsp_act_df(const lsp_act_params *p, double x) {
  switch (p->kind) {
#define D1(k, n) \
  case k:        \
    return d_##n(p, x);
    EACH(D1)
#undef D1
  }
  return NAN;
}

void lsp_act_forward(const lsp_act_params *p, const float *x, float *y,
                     size_t count) {
  switch (p->kind) {
#define FL(k, n)                                                         \
  case k:                                                                \
    for (size_t i = 0; i < count; i++) y[i] = (float)f_##n(p, x[i]);     \
    return;
    EACH(FL)
#undef FL
  }
}

void lsp_act_backward(const lsp_act_params *p, const float *x,
                      const float *dy, float *dx, size_t count) {
  switch (p->kind) {
#define DL(k, n)                                                           \
  case k:                                                                  \
    for (size_t i = 0; i < count; i++)                                     \
      dx[i] = (float)((double)dy[i] * d_##n(p, x[i]));                     \
    return;
    EACH(DL)
#undef DL
  }
}
