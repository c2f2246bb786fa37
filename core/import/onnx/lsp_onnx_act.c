/* lsp_onnx_act.c — the element-wise activations on the ONNX side: their
 * attributes' defaults, the opset each exists from, Clip's bounds (opsets
 * up to 10 attributes, then constant inputs, either absent) folded into the
 * node, and the mapping to and from lsprobe's kinds (lsp_ops_act.c;
 * docs/DESIGN.md §3). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_read_int.h"

/* The kinds of both sides, in one list. */
static const struct {
  lsp_onnx_op onnx;
  lsp_op kind;
} k_map[] = {{LSP_ONNX_SIGMOID, LSP_OP_SIGMOID},
             {LSP_ONNX_TANH, LSP_OP_TANH},
             {LSP_ONNX_LEAKYRELU, LSP_OP_LEAKYRELU},
             {LSP_ONNX_ELU, LSP_OP_ELU},
             {LSP_ONNX_SELU, LSP_OP_SELU},
             {LSP_ONNX_CLIP, LSP_OP_CLIP},
             {LSP_ONNX_HARDSIGMOID, LSP_OP_HARDSIGMOID},
             {LSP_ONNX_HARDSWISH, LSP_OP_HARDSWISH},
             {LSP_ONNX_SOFTPLUS, LSP_OP_SOFTPLUS},
             {LSP_ONNX_ERF, LSP_OP_ERF},
             {LSP_ONNX_GELU, LSP_OP_GELU}};
#define N_MAP (sizeof k_map / sizeof *k_map)

/* The entry of ONNX op `op`, or N_MAP. */
static size_t entry_of(lsp_onnx_op op) {
  size_t k = 0;
  while (k < N_MAP && k_map[k].onnx != op) k++;
  return k;
}

/* Every node: Clip's bounds ±inf. An activation's alpha, beta and gamma:
 * its lsprobe kind's defaults, which are ONNX's float32 values (the kinds
 * leave the attributes they do not read at 0). */
void lsp_onnx_act_defaults(lsp_onnx_node *nd) {
  nd->clip_lo = -INFINITY, nd->clip_hi = INFINITY;
  size_t k = entry_of(nd->op);
  if (k == N_MAP) return;
  lsp_attrs a;
  lsp_attrs_default(k_map[k].kind, &a);
  if (a.alpha != 0.0) nd->alpha = (float)a.alpha;
  if (a.beta != 0.0) nd->beta = (float)a.beta;
  if (a.gamma != 0.0) nd->gamma = (float)a.gamma;
}

int lsp_onnx_act_since(lsp_onnx_op op) {
  return op == LSP_ONNX_GELU ? 20 : op == LSP_ONNX_HARDSWISH ? 14 : 1;
}

int64_t lsp_onnx_write_opset(const lsp_onnx_model *m) {
  int64_t v = 13;
  for (size_t k = 0; k < m->nnodes; k++)
    if (lsp_onnx_act_since(m->nodes[k].op) > v)
      v = lsp_onnx_act_since(m->nodes[k].op);
  return v;
}

/* A bound of Clip given as input k: a float32 constant scalar. */
static int clip_bound(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn, size_t k,
                      const char *where, float *dst) {
  const char *in = lsp_onnx_str(pn->input[k]);
  if (!in[0]) return LSP_OK; /* absent: ±inf */
  const char *r = lsp_onnx_rd_resolve(c, in);
  const lsp_onnx_tensor *t = r ? lsp_onnx_rd_const(c, r) : NULL;
  if (!t || t->dtype != LSP_ONNX_FLOAT || t->count != 1)
    return lsp_onnx_fail_at(where,
                            "%s '%s' must be a float32 constant scalar (an "
                            "initializer or a Constant node)",
                            k == 1 ? "min" : "max", in);
  if (isnan(t->f[0]))
    return lsp_onnx_fail_at(where, "%s '%s' is NaN", k == 1 ? "min" : "max",
                            in);
  *dst = t->f[0];
  return LSP_OK;
}

int lsp_onnx_act_read(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                      size_t nin, lsp_onnx_node *nd, const char *where) {
  int since = lsp_onnx_act_since(nd->op);
  if (c->m->opset < since)
    return lsp_onnx_fail_at(where,
                            "%s exists from opset %d (the model imports "
                            "opset %lld)",
                            lsp_onnx_op_name(nd->op), since,
                            (long long)c->m->opset);
  if (nd->op != LSP_ONNX_CLIP) return LSP_OK;
  if (c->m->opset <= 10) {
    if (nin != 1)
      return lsp_onnx_fail_at(
          where, "opset %lld: Clip takes one input and the min/max attributes",
          (long long)c->m->opset);
    return LSP_OK;
  }
  int st;
  if ((nin > 1 && (st = clip_bound(c, pn, 1, where, &nd->clip_lo))) ||
      (nin > 2 && (st = clip_bound(c, pn, 2, where, &nd->clip_hi))))
    return st;
  return LSP_OK;
}


int lsp_onnx_act_lower(const lsp_onnx_node *on, lsp_op *op, lsp_attrs *a) {
  size_t k = entry_of(on->op);
  if (k == N_MAP) return 0;
  *op = k_map[k].kind;
  lsp_attrs_default(*op, a);
  /* the float attributes as the doubles they are exactly */
  a->alpha = (double)on->alpha, a->beta = (double)on->beta;
  a->gamma = (double)on->gamma;
  a->lo = (double)on->clip_lo, a->hi = (double)on->clip_hi;
  a->approximate = on->approximate;
  if (*op != LSP_OP_LEAKYRELU && *op != LSP_OP_ELU && *op != LSP_OP_SELU &&
      *op != LSP_OP_HARDSIGMOID)
    a->alpha = a->beta = 0.0;
  if (*op == LSP_OP_LEAKYRELU || *op == LSP_OP_ELU || *op == LSP_OP_SELU)
    a->beta = 0.0;
  if (*op != LSP_OP_SELU) a->gamma = 0.0;
  if (*op != LSP_OP_CLIP) a->lo = -INFINITY, a->hi = INFINITY;
  return 1;
}

int lsp_onnx_act_export(const lsp_node *nd, lsp_onnx_op *op, char *why,
                        size_t len) {
  size_t k = 0;
  while (k < N_MAP && k_map[k].kind != nd->op) k++;
  if (k == N_MAP) return 0;
  *op = k_map[k].onnx;
  /* ONNX's attributes are float32: a double that is no float would come
   * back as another network (the kinds leave the others at 0 or ±inf) */
  const double v[] = {nd->a.alpha, nd->a.beta, nd->a.gamma, nd->a.lo,
                      nd->a.hi};
  static const char *const names[] = {"alpha", "beta", "gamma", "lo", "hi"};
  for (size_t j = 0; j < sizeof v / sizeof *v; j++)
    if ((double)(float)v[j] != v[j]) {
      snprintf(why, len,
               "%s = %.17g is not a float32 value, as ONNX's attributes are; "
               "a network trained with %s=%.17g (the nearest float32) exports",
               names[j], v[j], names[j], (double)(float)v[j]);
      return -1;
    }
  return 1;
}

void lsp_onnx_act_export_attrs(const lsp_node *nd, lsp_onnx_node *on) {
  on->alpha = (float)nd->a.alpha, on->beta = (float)nd->a.beta;
  on->gamma = (float)nd->a.gamma;
  on->clip_lo = (float)nd->a.lo, on->clip_hi = (float)nd->a.hi;
  on->approximate = nd->a.approximate;
}
