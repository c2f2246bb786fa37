/* lsp_onnx_export.c — an lsprobe model as an ONNX description (what
 * `lsprobe export` writes with lsp_onnx_write). One ONNX node per layer,
 * with two exceptions: a dense layer reading an image gets a Flatten in
 * front (Gemm takes N × K), and an input normalization is a Sub and a Div
 * by per-channel constants (which the reader fuses back into one
 * normalization, so a model read back computes exactly the same numbers).
 * Values are named after the layers, the input "input", the logits
 * "logits"; add, mul and concat read two values of one rank (a Reshape to
 * N × C × 1 × 1 makes them agree), concat along axis 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_int.h"
#include "core/nn/layers/lsp_pad.h"

typedef struct {
  const lsp_model *m;
  lsp_onnx_model *om;
  lsp_onnx_map names; /* every name in use (keys owned by `owned`) */
  char **owned;
  size_t nowned;
  char **value; /* per lsp node: its ONNX value (borrowed from owned) */
  int *rank;    /* per lsp node: that value's rank (2 or 4) */
  const char *in_value;
  int in_rank;
} ectx;

/* A fresh name: `base` + `suffix`, or with "_<k>" appended until unused. */
static const char *fresh(ectx *e, const char *base, const char *suffix) {
  size_t len = strlen(base) + strlen(suffix) + 24;
  char *s = malloc(len);
  char **o = realloc(e->owned, (e->nowned + 1) * sizeof *o);
  if (!s || !o) {
    free(s);
    if (o) e->owned = o;
    return NULL;
  }
  e->owned = o;
  for (unsigned k = 0;; k++) {
    if (k == 0)
      snprintf(s, len, "%s%s", base, suffix);
    else
      snprintf(s, len, "%s%s_%u", base, suffix, k);
    if (!lsp_onnx_map_get(&e->names, s, NULL)) break;
  }
  if (lsp_onnx_map_put(&e->names, s, 0, NULL) < 0) {
    free(s);
    return NULL;
  }
  e->owned[e->nowned++] = s;
  return s;
}

static lsp_shape shape_of(const ectx *e, int id) {
  return id == LSP_INPUT ? e->m->in_shape : e->m->nodes[id].shape;
}
static const char *value_of(const ectx *e, int id) {
  return id == LSP_INPUT ? e->in_value : e->value[id];
}
static int rank_of(const ectx *e, int id) {
  return id == LSP_INPUT ? e->in_rank : e->rank[id];
}

static int oom(void) {
  return lsp_fail(LSP_ENOMEM, "out of memory exporting the model");
}

/* An initializer of `ndim` dims copied from data. */
static const char *init(ectx *e, const char *node, const char *what, int ndim,
                        int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                        const float *data) {
  const int64_t dims[4] = {d0, d1, d2, d3};
  const char *n = fresh(e, node, what);
  if (!n || lsp_onnx_add_init(e->om, n, ndim, dims, data)) return NULL;
  return n;
}

static lsp_onnx_node *node(ectx *e, lsp_onnx_op op, const char *name, int nin,
                           const char *const *in, const char *out) {
  lsp_onnx_node *nd = lsp_onnx_add_node(e->om, op, name, nin, in, out);
  if (!nd) oom();
  return nd;
}

/* The value of node `id` as rank 4 (Reshape [0, C, H, W] when it is rank
 * 2) or rank 2 (Flatten when it is rank 4). */
static const char *as_rank(ectx *e, int id, int want, const char *base) {
  const char *v = value_of(e, id);
  if (rank_of(e, id) == want) return v;
  const char *out = fresh(e, base, want == 2 ? ".flat" : ".4d");
  if (!out) return NULL;
  lsp_onnx_node *nd =
      node(e, want == 2 ? LSP_ONNX_FLATTEN : LSP_ONNX_RESHAPE, out, 1, &v, out);
  if (!nd) return NULL;
  if (want == 4) {
    lsp_shape s = shape_of(e, id);
    nd->shape_rank = 4;
    nd->shape[0] = 0;
    nd->shape[1] = (int64_t)s.c, nd->shape[2] = (int64_t)s.h;
    nd->shape[3] = (int64_t)s.w;
  }
  return out;
}

/* A pooling with ceil_mode whose last window starts in the end padding:
 * lsprobe (as PyTorch) drops that window, ONNX's size rule keeps it. Then
 * the rounded-down size is lsprobe's on both axes, and the node is written
 * with ceil_mode = 0: the same windows. */
static void ceil_to_floor(lsp_onnx_node *on, lsp_shape is, lsp_shape os) {
  const int64_t in[2] = {(int64_t)is.h, (int64_t)is.w},
                out[2] = {(int64_t)os.h, (int64_t)os.w};
  int differs = 0;
  for (int k = 0; on->ceil_mode && k < 2; k++) {
    int64_t s = on->strides[k],
            span = in[k] + on->pads[k] + on->pads[k + 2] -
                   ((on->kernel[k] - 1) * on->dilations[k] + 1);
    if (span < 0 || span / s + 1 != out[k]) return;
    differs |= (span + s - 1) / s + 1 != out[k];
  }
  if (differs) on->ceil_mode = 0;
}

static int export_node(ectx *e, size_t i) {
  const lsp_model *m = e->m;
  const lsp_node *nd = &m->nodes[i];
  const char *nm = nd->name;
  int last = i + 1 == m->nnodes;
  const char *out = fresh(e, last ? "logits" : nm, "");
  if (!out) return oom();
  e->value[i] = (char *)out;
  float *w = NULL, *b = NULL, *s1 = NULL, *s2 = NULL;
  lsp_shape is = nd->ishape;
  lsp_onnx_node *on = NULL;
  const char *x;
  switch (nd->op) {
    case LSP_OP_DENSE: {
      size_t in = lsp_shape_size(is);
      if (!(x = as_rank(e, nd->in[0], 2, nm))) return oom();
      lsp_model_tensor(m, i, "weight", &w, NULL, NULL);
      const char *ins[3] = {
          x,
          init(e, nm, ".weight", 2, (int64_t)nd->a.units, (int64_t)in, 0, 0, w),
          NULL};
      if (nd->a.bias) {
        lsp_model_tensor(m, i, "bias", &b, NULL, NULL);
        ins[2] = init(e, nm, ".bias", 1, (int64_t)nd->a.units, 0, 0, 0, b);
      }
      if (!ins[1] || (nd->a.bias && !ins[2])) return oom();
      if (!(on = node(e, LSP_ONNX_GEMM, nm, nd->a.bias ? 3 : 2, ins, out)))
        return LSP_ENOMEM;
      on->trans_b = 1;
      e->rank[i] = 2;
      return LSP_OK;
    }
    case LSP_OP_CONV: {
      if (!(x = as_rank(e, nd->in[0], 4, nm))) return oom();
      lsp_model_tensor(m, i, "weight", &w, NULL, NULL);
      const char *ins[3] = {
          x,
          init(e, nm, ".weight", 4, (int64_t)nd->a.units,
               (int64_t)(is.c / nd->a.groups), (int64_t)nd->a.kh,
               (int64_t)nd->a.kw, w),
          NULL};
      if (nd->a.bias) {
        lsp_model_tensor(m, i, "bias", &b, NULL, NULL);
        ins[2] = init(e, nm, ".bias", 1, (int64_t)nd->a.units, 0, 0, 0, b);
      }
      if (!ins[1] || (nd->a.bias && !ins[2])) return oom();
      if (!(on = node(e, LSP_ONNX_CONV, nm, nd->a.bias ? 3 : 2, ins, out)))
        return LSP_ENOMEM;
      on->group = (int64_t)nd->a.groups;
      break;
    }
    case LSP_OP_MAXPOOL:
    case LSP_OP_AVGPOOL:
      if (!(x = as_rank(e, nd->in[0], 4, nm))) return oom();
      if (!(on = node(
                e,
                nd->op == LSP_OP_MAXPOOL ? LSP_ONNX_MAXPOOL : LSP_ONNX_AVGPOOL,
                nm, 1, &x, out)))
        return LSP_ENOMEM;
      on->ceil_mode = nd->a.ceil_mode;
      on->count_include_pad = nd->a.count_pad;
      break;
    case LSP_OP_POOL:
      if (!(x = as_rank(e, nd->in[0], 4, nm))) return oom();
      if (!(on = node(e, nd->a.avg ? LSP_ONNX_AVGPOOL : LSP_ONNX_MAXPOOL, nm, 1,
                      &x, out)))
        return LSP_ENOMEM;
      on->kernel[0] = (int64_t)nd->a.kh, on->kernel[1] = (int64_t)nd->a.kw;
      on->strides[0] = (int64_t)nd->a.sh, on->strides[1] = (int64_t)nd->a.sw;
      on->pads[0] = (int64_t)nd->a.pt, on->pads[1] = (int64_t)nd->a.pl;
      on->pads[2] = (int64_t)nd->a.pb, on->pads[3] = (int64_t)nd->a.pr;
      on->dilations[0] = (int64_t)nd->a.dh,
      on->dilations[1] = (int64_t)nd->a.dw;
      on->ceil_mode = nd->a.ceil_mode;
      on->count_include_pad = nd->a.count_pad;
      ceil_to_floor(on, is, nd->shape);
      e->rank[i] = 4;
      return LSP_OK;
    case LSP_OP_TRANSPOSE: /* the example's axes: 1 to 3 of N×C×H×W */
      if (!(x = as_rank(e, nd->in[0], 4, nm)) ||
          !(on = node(e, LSP_ONNX_TRANSPOSE, nm, 1, &x, out)))
        return oom();
      on->nperm = 4;
      on->perm[0] = 0;
      on->perm[1] = (int64_t)(nd->a.perm / 100) + 1;
      on->perm[2] = (int64_t)(nd->a.perm / 10 % 10) + 1;
      on->perm[3] = (int64_t)(nd->a.perm % 10) + 1;
      e->rank[i] = 4;
      return LSP_OK;
    case LSP_OP_GAP:
    case LSP_OP_GMP:
      if (!(x = as_rank(e, nd->in[0], 4, nm)) ||
          !(on = node(e,
                      nd->op == LSP_OP_GAP ? LSP_ONNX_GLOBALAVGPOOL
                                           : LSP_ONNX_GLOBALMAXPOOL,
                      nm, 1, &x, out)))
        return oom();
      e->rank[i] = 4;
      return LSP_OK;
    case LSP_OP_BN: {
      x = value_of(e, nd->in[0]);
      lsp_model_tensor(m, i, "weight", &w, NULL, NULL);
      lsp_model_tensor(m, i, "bias", &b, NULL, NULL);
      lsp_model_tensor(m, i, "running_mean", &s1, NULL, NULL);
      lsp_model_tensor(m, i, "running_var", &s2, NULL, NULL);
      int64_t c = (int64_t)nd->shape.c;
      const char *ins[5] = {x, init(e, nm, ".weight", 1, c, 0, 0, 0, w),
                            init(e, nm, ".bias", 1, c, 0, 0, 0, b),
                            init(e, nm, ".running_mean", 1, c, 0, 0, 0, s1),
                            init(e, nm, ".running_var", 1, c, 0, 0, 0, s2)};
      for (int k = 1; k < 5; k++)
        if (!ins[k]) return oom();
      if (!(on = node(e, LSP_ONNX_BATCHNORM, nm, 5, ins, out)))
        return LSP_ENOMEM;
      on->epsilon = (float)nd->a.eps;
      e->rank[i] = rank_of(e, nd->in[0]);
      return LSP_OK;
    }
    case LSP_OP_RELU:
      x = value_of(e, nd->in[0]);
      if (!(on = node(e, LSP_ONNX_RELU, nm, 1, &x, out))) return LSP_ENOMEM;
      e->rank[i] = rank_of(e, nd->in[0]);
      return LSP_OK;
    case LSP_OP_ADD:
    case LSP_OP_MUL:
    case LSP_OP_CONCAT: { /* two values of one rank; concat: axis 1 */
      int r = rank_of(e, nd->in[0]) == 4 || rank_of(e, nd->in[1]) == 4 ? 4 : 2;
      const char *ins[2] = {as_rank(e, nd->in[0], r, nm),
                            as_rank(e, nd->in[1], r, nm)};
      lsp_onnx_op op = nd->op == LSP_OP_ADD   ? LSP_ONNX_ADD
                       : nd->op == LSP_OP_MUL ? LSP_ONNX_MUL
                                              : LSP_ONNX_CONCAT;
      if (!ins[0] || !ins[1] || !(on = node(e, op, nm, 2, ins, out)))
        return oom();
      e->rank[i] = r;
      return LSP_OK;
    }
    case LSP_OP_FLATTEN:
      x = value_of(e, nd->in[0]);
      e->rank[i] = 2;
      if (rank_of(e, nd->in[0]) == 2) { /* already N × D: the same value */
        e->value[i] = (char *)x;
        return LSP_OK;
      }
      if (!(on = node(e, LSP_ONNX_FLATTEN, nm, 1, &x, out))) return LSP_ENOMEM;
      return LSP_OK;
    case LSP_OP_RESHAPE:
      x = value_of(e, nd->in[0]);
      if (!(on = node(e, LSP_ONNX_RESHAPE, nm, 1, &x, out))) return LSP_ENOMEM;
      on->shape_rank = 4;
      on->shape[0] = 0, on->shape[1] = (int64_t)nd->a.rc;
      on->shape[2] = (int64_t)nd->a.rh, on->shape[3] = (int64_t)nd->a.rw;
      e->rank[i] = 4;
      return LSP_OK;
    case LSP_OP_NORMALIZE: {
      int r = rank_of(e, nd->in[0]);
      int64_t c = (int64_t)nd->shape.c;
      x = value_of(e, nd->in[0]);
      lsp_model_tensor(m, i, "mean", &s1, NULL, NULL);
      lsp_model_tensor(m, i, "std", &s2, NULL, NULL);
      const char *mid = fresh(e, nm, ".centred");
      const char *sub[2] = {x, init(e, nm, ".mean", r, 1, c, 1, 1, s1)};
      const char *dv[2] = {mid, init(e, nm, ".std", r, 1, c, 1, 1, s2)};
      if (!mid || !sub[1] || !dv[1] ||
          !node(e, LSP_ONNX_SUB, fresh(e, nm, ".sub"), 2, sub, mid) ||
          !(on = node(e, LSP_ONNX_DIV, nm, 2, dv, out)))
        return oom();
      e->rank[i] = r;
      return LSP_OK;
    }
    case LSP_OP_PAD:
      if (!(x = as_rank(e, nd->in[0], 4, nm))) return oom();
      if (!(on = node(e, LSP_ONNX_PAD, nm, 1, &x, out))) return LSP_ENOMEM;
      on->pads[0] = (int64_t)nd->a.pt, on->pads[1] = (int64_t)nd->a.pl;
      on->pads[2] = (int64_t)nd->a.pb, on->pads[3] = (int64_t)nd->a.pr;
      on->pad_mode = nd->a.mode == LSP_PAD_REFLECT ? LSP_ONNX_PAD_REFLECT
                     : nd->a.mode == LSP_PAD_EDGE  ? LSP_ONNX_PAD_EDGE
                                                   : LSP_ONNX_PAD_CONSTANT;
      on->pad_value = nd->a.mode == LSP_PAD_MIN        ? -INFINITY
                      : nd->a.mode == LSP_PAD_CONSTANT ? (float)nd->a.value
                                                       : 0.0f;
      e->rank[i] = 4;
      return LSP_OK;
    default: { /* the element-wise activations: lsp_onnx_act.c */
      lsp_onnx_op aop = LSP_ONNX_RELU;
      char why[160] = "";
      int k = lsp_onnx_act_export(nd, &aop, why, sizeof why);
      if (k <= 0)
        return lsp_fail(LSP_EDATA, "layer '%s' (%s): %s", nm,
                        lsp_op_name(nd->op),
                        k ? why : "no ONNX form of this kind");
      x = value_of(e, nd->in[0]);
      if (!(on = node(e, aop, nm, 1, &x, out))) return LSP_ENOMEM;
      lsp_onnx_act_export_attrs(nd, on);
      e->rank[i] = rank_of(e, nd->in[0]);
      return LSP_OK;
    }
  }
  /* the window ops */
  on->kernel[0] = (int64_t)nd->a.kh, on->kernel[1] = (int64_t)nd->a.kw;
  on->strides[0] = (int64_t)nd->a.sh, on->strides[1] = (int64_t)nd->a.sw;
  on->pads[0] = on->pads[2] = (int64_t)nd->a.ph;
  on->pads[1] = on->pads[3] = (int64_t)nd->a.pw;
  if (nd->op == LSP_OP_MAXPOOL || nd->op == LSP_OP_AVGPOOL)
    ceil_to_floor(on, is, nd->shape);
  e->rank[i] = 4;
  return LSP_OK;
}

/* Spatial layers read images: the input is N × C × H × W then, else N × D. */
static int has_spatial(const lsp_model *m) {
  for (size_t i = 0; i < m->nnodes; i++) {
    lsp_op op = m->nodes[i].op;
    lsp_onnx_op aop;
    char why[8];
    if (op != LSP_OP_DENSE && op != LSP_OP_RELU && op != LSP_OP_ADD &&
        op != LSP_OP_MUL && op != LSP_OP_CONCAT && op != LSP_OP_FLATTEN &&
        op != LSP_OP_NORMALIZE && op != LSP_OP_BN &&
        !lsp_onnx_act_export(&m->nodes[i], &aop, why, sizeof why))
      return 1;
  }
  return m->in_shape.h != 1 || m->in_shape.w != 1;
}

int lsp_onnx_from_model(const lsp_model *m, lsp_onnx_model **out) {
  *out = NULL;
  ectx e;
  memset(&e, 0, sizeof e);
  e.m = m;
  e.in_rank = has_spatial(m) ? 4 : 2;
  const lsp_onnx_shape in = {
      e.in_rank,
      {-1, (int64_t)(e.in_rank == 4 ? m->in_shape.c : m->in_dim),
       (int64_t)m->in_shape.h, (int64_t)m->in_shape.w}};
  int st = LSP_ENOMEM;
  e.value = calloc(m->nnodes, sizeof *e.value);
  e.rank = calloc(m->nnodes, sizeof *e.rank);
  if (!e.value || !e.rank || lsp_onnx_map_init(&e.names, 4 * m->nnodes) < 0 ||
      !(e.in_value = fresh(&e, "input", "")) ||
      !(e.om = lsp_onnx_model_alloc(e.in_value, &in, "logits"))) {
    oom();
    goto done;
  }
  for (size_t i = 0; i < m->nnodes; i++)
    if ((st = export_node(&e, i))) goto done;
  free(e.om->output); /* the head's value: "logits", or unique */
  if (!(e.om->output = lsp_onnx_strdup(e.value[m->nnodes - 1]))) {
    st = oom();
    goto done;
  }
  if ((st = lsp_onnx_check(e.om, "its ONNX form"))) goto done;
  e.om->opset = lsp_onnx_write_opset(e.om);
  *out = e.om;
  e.om = NULL;
done:
  lsp_onnx_model_free(e.om);
  for (size_t k = 0; k < e.nowned; k++) free(e.owned[k]);
  free(e.owned);
  lsp_onnx_map_free(&e.names);
  free(e.value);
  free(e.rank);
  return st;
}
