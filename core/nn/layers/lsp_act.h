/* lsp_act.h — element-wise activations: sigmoid, tanh, LeakyReLU, ELU,
 * SELU, clip, hard sigmoid, hard swish, softplus, erf and GELU (DESIGN §6).
 *
 * Inputs and outputs are float32; each value is computed in double from
 * its float input and rounded once, in forms that stay finite for every
 * finite input (sigmoid and tanh through e^−|x|, softplus as
 * max(x, 0) + log1p(e^−|x|), ELU through expm1, GELU through erfc), so a
 * finite input never gives NaN. The backward is dx = dy·f'(x) with f' at a
 * kink taken as PyTorch's autograd takes it (DESIGN §6). dx may be dy (in
 * place); x and y may be the same buffer. */
#ifndef LSP_ACT_H
#define LSP_ACT_H

#include <stddef.h>

typedef enum {
  LSP_ACT_SIGMOID = 1,
  LSP_ACT_TANH,
  LSP_ACT_LEAKYRELU, /* alpha                                       */
  LSP_ACT_ELU,       /* alpha                                       */
  LSP_ACT_SELU,      /* alpha, gamma                                */
  LSP_ACT_CLIP,      /* lo, hi (±∞ allowed)                         */
  LSP_ACT_HARDSIGMOID, /* alpha, beta                               */
  LSP_ACT_HARDSWISH,
  LSP_ACT_SOFTPLUS,
  LSP_ACT_ERF,
  LSP_ACT_GELU,      /* approximate: 0 erf form, 1 tanh form        */
  LSP_ACT_GELU_TANH  /* (set from GELU by the caller's approximate) */
} lsp_act_kind;

typedef struct {
  lsp_act_kind kind;
  double alpha, beta, gamma, lo, hi;
} lsp_act_params;

/* f(x) and f'(x) of one value, in double. */
double lsp_act_f(const lsp_act_params *p, double x);
double lsp_act_df(const lsp_act_params *p, double x);

/* y[i] = f(x[i]) and dx[i] = dy[i]·f'(x[i]), i < count. */
void lsp_act_forward(const lsp_act_params *p, const float *x, float *y,
                     size_t count);
void lsp_act_backward(const lsp_act_params *p, const float *x,
                      const float *dy, float *dx, size_t count);

#endif
