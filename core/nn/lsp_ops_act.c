/* lsp_ops_act.c — the element-wise activations of the operation table
 * (lsp_ops.h; DESIGN §6, §7.2): sigmoid, tanh, leakyrelu, elu, selu, clip,
 * hardsigmoid, hardswish, softplus, erf and gelu. Their entries
 * (LSP_ACT_ENTRIES) are in the table in lsp_ops.c; the kernels are
 * core/nn/layers/lsp_act.c. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "core/base/lsp_error.h"
#include "core/nn/layers/lsp_act.h"
#include "core/nn/lsp_ops.h"

/* clang-format off */
#define A(field, type) {#field, type, offsetof(lsp_attrs, field), 0}
#define END {NULL, 0, 0, 0}
const lsp_attr_def lsp_act_attrs_none[] = {END};
const lsp_attr_def lsp_act_attrs_alpha[] = {A(alpha, LSP_ATTR_REAL), END};
const lsp_attr_def lsp_act_attrs_selu[] = {A(alpha, LSP_ATTR_REAL), A(gamma, LSP_ATTR_REAL), END};
const lsp_attr_def lsp_act_attrs_clip[] = {
    {"lo", LSP_ATTR_REAL, offsetof(lsp_attrs, lo), 1},
    {"hi", LSP_ATTR_REAL, offsetof(lsp_attrs, hi), 1}, END};
const lsp_attr_def lsp_act_attrs_hsig[] = {A(alpha, LSP_ATTR_REAL), A(beta, LSP_ATTR_REAL), END};
const lsp_attr_def lsp_act_attrs_gelu[] = {A(approximate, LSP_ATTR_FLAG), END};
/* clang-format on */

/* ONNX's defaults, as the float32 values its attributes are (so that a
 * default node exports and imports unchanged) */
void lsp_act_defaults(lsp_op op, lsp_attrs *a) {
  a->lo = -INFINITY, a->hi = INFINITY;
  switch (op) {
    case LSP_OP_LEAKYRELU:
      a->alpha = (double)0.01f;
      break;
    case LSP_OP_ELU:
      a->alpha = 1.0;
      break;
    case LSP_OP_SELU:
      a->alpha = 1.67326319217681884765625;
      a->gamma = 1.05070102214813232421875;
      break;
    case LSP_OP_HARDSIGMOID:
      a->alpha = (double)0.2f, a->beta = 0.5;
      break;
    default:
      break;
  }
}

static lsp_act_kind kind_of(const lsp_node *nd) {
  switch (nd->op) {
    case LSP_OP_SIGMOID:
      return LSP_ACT_SIGMOID;
    case LSP_OP_TANH:
      return LSP_ACT_TANH;
    case LSP_OP_LEAKYRELU:
      return LSP_ACT_LEAKYRELU;
    case LSP_OP_ELU:
      return LSP_ACT_ELU;
    case LSP_OP_SELU:
      return LSP_ACT_SELU;
    case LSP_OP_CLIP:
      return LSP_ACT_CLIP;
    case LSP_OP_HARDSIGMOID:
      return LSP_ACT_HARDSIGMOID;
    case LSP_OP_HARDSWISH:
      return LSP_ACT_HARDSWISH;
    case LSP_OP_SOFTPLUS:
      return LSP_ACT_SOFTPLUS;
    case LSP_OP_ERF:
      return LSP_ACT_ERF;
    default:
      return nd->a.approximate ? LSP_ACT_GELU_TANH : LSP_ACT_GELU;
  }
}

static lsp_act_params params_of(const lsp_node *nd) {
  lsp_act_params p = {kind_of(nd), nd->a.alpha, nd->a.beta,
                      nd->a.gamma, nd->a.lo,    nd->a.hi};
  return p;
}

/* Every attribute of the kinds: a finite real within float's range, clip's
 * bounds ±∞ too (never NaN). The kinds read only theirs; the others keep
 * their defaults, which pass. */
int lsp_act_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                  char *w, size_t len) {
  const struct {
    const char *name;
    double v;
    int inf_ok;
  } r[] = {{"alpha", a->alpha, 0},
           {"beta", a->beta, 0},
           {"gamma", a->gamma, 0},
           {"lo", a->lo, 1},
           {"hi", a->hi, 1}};
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
    if (isnan(r[i].v) || (isinf(r[i].v) && !r[i].inf_ok) ||
        (isfinite(r[i].v) && fabs(r[i].v) > FLT_MAX)) {
      snprintf(w, len, "%s = %g is not a finite float%s", r[i].name, r[i].v,
               r[i].inf_ok ? " or ±inf" : "");
      return LSP_EINVAL;
    }
  if (a->approximate < 0 || a->approximate > 1) {
    snprintf(w, len, "approximate = %d is not 0 (erf) or 1 (tanh)",
             a->approximate);
    return LSP_EINVAL;
  }
  *out = in[0];
  return LSP_OK;
}

int lsp_act_tensors(const lsp_node *nd, lsp_tensor_def *t) {
  (void)nd, (void)t;
  return 0;
}

/* Per element: 1 for the piecewise-linear kinds (as relu), 2 for
 * hardsigmoid's and hardswish's multiply-add, 4 for those with an
 * exponential, erf or tanh (a transcendental counted as the FLOPs of its
 * evaluation's few operations). */
double lsp_act_flops(const lsp_node *nd) {
  double per;
  switch (nd->op) {
    case LSP_OP_LEAKYRELU:
    case LSP_OP_CLIP:
      per = 1.0;
      break;
    case LSP_OP_HARDSIGMOID:
    case LSP_OP_HARDSWISH:
      per = 2.0;
      break;
    default:
      per = 4.0;
  }
  return per * (double)lsp_shape_size(nd->shape);
}

void lsp_act_fwd(const lsp_op_call *c) {
  lsp_act_params p = params_of(c->nd);
  lsp_act_forward(&p, c->x0, c->y, c->n * lsp_shape_size(c->nd->shape));
}

void lsp_act_bwd(const lsp_op_call *c) {
  if (!c->dx0) return;
  lsp_act_params p = params_of(c->nd);
  lsp_act_backward(&p, c->x0, c->dy, c->dx0,
                   c->n * lsp_shape_size(c->nd->shape));
}
