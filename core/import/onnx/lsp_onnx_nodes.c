/* lsp_onnx_nodes.c — the ONNX reader's passes over the nodes
 * (lsp_onnx_read.c has the order of all passes): pass 3 checks every
 * node's domain, op and outputs; pass 4 turns Constant nodes into
 * constants and Identity nodes into aliases, then reads the other ops with
 * their attributes, Pad's pads and constant value and Reshape's shape
 * looked up among the int64 constants and folded in (an all-zero Pad
 * becomes an alias), as are ReduceMean's axes from opset 18; a Squeeze,
 * Gather or Slice of a computed value becomes a Reshape the checker
 * places (lsp_onnx_pick.c), a Transpose of one a node with its perm
 * (lsp_onnx_transpose.c), and a final Softmax or LogSoftmax an alias of
 * the logits it reads, as is a Dropout in inference of its input (those
 * and Constant nodes: lsp_onnx_alias.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_read_int.h"

enum { OP_CONSTANT = 100, OP_IDENTITY, OP_DROPOUT };

static const struct {
  const char *name;
  int op, min_in, max_in;
} k_ops[] = {{"Conv", LSP_ONNX_CONV, 2, 3},
             {"Gemm", LSP_ONNX_GEMM, 2, 3},
             {"MatMul", LSP_ONNX_MATMUL, 2, 2},
             {"Add", LSP_ONNX_ADD, 2, 2},
             {"Relu", LSP_ONNX_RELU, 1, 1},
             {"MaxPool", LSP_ONNX_MAXPOOL, 1, 1},
             {"AveragePool", LSP_ONNX_AVGPOOL, 1, 1},
             {"GlobalAveragePool", LSP_ONNX_GLOBALAVGPOOL, 1, 1},
             {"BatchNormalization", LSP_ONNX_BATCHNORM, 5, 5},
             {"Flatten", LSP_ONNX_FLATTEN, 1, 1},
             {"Reshape", LSP_ONNX_RESHAPE, 1, 2},
             {"Pad", LSP_ONNX_PAD, 1, 3},
             {"Sub", LSP_ONNX_SUB, 2, 2},
             {"Mul", LSP_ONNX_MUL, 2, 2},
             {"Div", LSP_ONNX_DIV, 2, 2},
             {"Concat", LSP_ONNX_CONCAT, 1, LSP_ONNX_MAXIN},
             {"ReduceMean", LSP_ONNX_REDUCEMEAN, 1, 2},
             {"Sigmoid", LSP_ONNX_SIGMOID, 1, 1},
             {"Tanh", LSP_ONNX_TANH, 1, 1},
             {"LeakyRelu", LSP_ONNX_LEAKYRELU, 1, 1},
             {"Elu", LSP_ONNX_ELU, 1, 1},
             {"Selu", LSP_ONNX_SELU, 1, 1},
             {"Clip", LSP_ONNX_CLIP, 1, 3},
             {"HardSigmoid", LSP_ONNX_HARDSIGMOID, 1, 1},
             {"HardSwish", LSP_ONNX_HARDSWISH, 1, 1},
             {"Softplus", LSP_ONNX_SOFTPLUS, 1, 1},
             {"Erf", LSP_ONNX_ERF, 1, 1},
             {"Gelu", LSP_ONNX_GELU, 1, 1},
             {"GlobalMaxPool", LSP_ONNX_GLOBALMAXPOOL, 1, 1},
             {"ReduceMax", LSP_ONNX_REDUCEMAX, 1, 2},
             {"Constant", OP_CONSTANT, 0, 0},
             {"Identity", OP_IDENTITY, 1, 1},
             {"Dropout", OP_DROPOUT, 1, 3}};
#define N_OPS (sizeof k_ops / sizeof *k_ops)

/* Pad: the pads (an int64 constant input, or the attribute of opsets up
 * to 10) and the constant value (an input, or the attribute) folded into
 * the node; *zero set when every pad is 0. 8 pads pad an N×C×H×W value, 6
 * an N×C×L one (stored as {begin, 0, end, 0}). */
static int fold_pad(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn, size_t nin,
                    lsp_onnx_node *nd, const lsp_onnx_attr_extra *ex,
                    const char *where, int *zero) {
  const int64_t *pv;
  size_t np;
  char vb[200];
  if (c->m->opset <= 10) {
    if (nin != 1 || !ex->has_list)
      return lsp_onnx_fail_at(
          where, "opset %lld: Pad takes one input and the pads attribute",
          (long long)c->m->opset);
    pv = ex->list, np = ex->nlist;
  } else {
    if (nin < 2 || ex->has_list || ex->has_value)
      return lsp_onnx_fail_at(
          where,
          "opset %lld: Pad takes its pads (and constant_value) as "
          "inputs",
          (long long)c->m->opset);
    const char *pname = lsp_onnx_rd_resolve(c, pn->input[1]);
    const lsp_onnx_tensor *p = pname ? lsp_onnx_rd_const(c, pname) : NULL;
    if (!p || p->dtype != LSP_ONNX_INT64 || p->ndim != 1)
      return lsp_onnx_fail_at(where,
                              "pads '%s' must be an int64 constant vector (an "
                              "initializer or a Constant node)",
                              pn->input[1]);
    pv = p->i, np = p->count;
  }
  lsp_onnx_ints_str(pv, np, vb, sizeof vb);
  if (np != 8 && np != 6)
    return lsp_onnx_fail_at(
        where,
        "pads %s: lsprobe pads N × C × H × W values (8 pads) or "
        "N × C × L values (6 pads)",
        vb);
  size_t h = np / 2; /* begin values, then end values */
  if (pv[0] || pv[1] || pv[h] || pv[h + 1])
    return lsp_onnx_fail_at(where, "pads %s pad the batch or channel dimension",
                            vb);
  const int64_t map[4] = {pv[2], np == 8 ? pv[3] : 0, pv[h + 2],
                          np == 8 ? pv[h + 3] : 0};
  for (int k = 0; k < 4; k++) {
    if (map[k] < 0 || map[k] > LSP_ONNX_MAX_DIM)
      return lsp_onnx_fail_at(
          where,
          "pads %s: negative (cropping) or huge pads are not "
          "supported",
          vb);
    nd->pads[k] = map[k];
  }
  nd->nspatial = np == 8 ? 2 : 1;
  float value = ex->has_value ? ex->value : 0.0f;
  if (nin == 3) {
    const char *vname = lsp_onnx_rd_resolve(c, pn->input[2]);
    const lsp_onnx_tensor *v = vname ? lsp_onnx_rd_const(c, vname) : NULL;
    if (!v || v->dtype != LSP_ONNX_FLOAT || v->count != 1)
      return lsp_onnx_fail_at(
          where, "constant_value '%s' must be a float32 constant scalar",
          pn->input[2]);
    value = v->f[0];
  }
  if (!(isfinite(value) || value == -INFINITY))
    return lsp_onnx_fail_at(
        where, "constant_value %g is not supported (finite or -inf)",
        (double)value);
  nd->pad_value = nd->pad_mode == LSP_ONNX_PAD_CONSTANT ? value : 0.0f;
  *zero = !map[0] && !map[1] && !map[2] && !map[3];
  return LSP_OK;
}

/* The dimension markers' src of the value Reshape `pn` reshapes (1 + its
 * producer's index, 0 for the graph input, -1 for neither). */
static int64_t reshaped_src(const lsp_onnx_rctx *c,
                            const LspOnnx__NodeProto *pn) {
  const char *nm = lsp_onnx_rd_resolve(c, lsp_onnx_str(pn->input[0]));
  size_t p;
  if (nm && !strcmp(nm, c->m->input)) return 0;
  return nm && lsp_onnx_map_get(&c->produced, nm, &p) ? (int64_t)p + 1 : -1;
}

/* The name of a dimension marker's value (for messages). */
static const char *src_name(const lsp_onnx_rctx *c, int64_t src) {
  if (src == 0) return c->m->input;
  for (size_t k = 0; k < c->produced.cap; k++)
    if (c->produced.keys[k] && (int64_t)c->produced.vals[k] + 1 == src)
      return c->produced.keys[k];
  return "?";
}

/* A target shape for messages: N for the batch size, d<k>(...) for
 * dimension k of a value. */
static void shape_str(const int64_t *v, size_t n, char *buf, size_t len) {
  size_t at = 0;
  buf[0] = 0;
  for (size_t k = 0; k < n && at < len; k++) {
    int64_t src;
    int dk;
    const char *sep = k ? ", " : "[";
    if (v[k] == LSP_ONNX_BATCH)
      at += (size_t)snprintf(buf + at, len - at, "%sN", sep);
    else if (lsp_onnx_dim_of(v[k], &src, &dk))
      at += (size_t)snprintf(buf + at, len - at, "%sdim %d", sep, dk);
    else
      at += (size_t)snprintf(buf + at, len - at, "%s%lld", sep,
                             (long long)v[k]);
  }
  if (at < len) snprintf(buf + at, len - at, "]");
}

/* Reshape: the target shape (an int64 constant input, or the attribute of
 * opsets up to 4) into the node, 2 to 4 entries. */
static int fold_reshape(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                        size_t nin, lsp_onnx_node *nd,
                        const lsp_onnx_attr_extra *ex, const char *where) {
  const int64_t *sv;
  size_t ns;
  char vb[200];
  if (nin == 1) {
    if (!ex->has_list)
      return lsp_onnx_fail_at(where,
                              "no target shape (an input since opset 5)");
    sv = ex->list, ns = ex->nlist;
  } else {
    if (ex->has_list)
      return lsp_onnx_fail_at(where,
                              "the shape is given twice (attribute and input)");
    const char *sname = lsp_onnx_rd_resolve(c, pn->input[1]);
    const lsp_onnx_tensor *s = sname ? lsp_onnx_rd_const(c, sname) : NULL;
    if (!s || s->dtype != LSP_ONNX_INT64 || s->ndim != 1)
      return lsp_onnx_fail_at(where,
                              "shape '%s' must be an int64 constant vector (an "
                              "initializer or a Constant node)",
                              pn->input[1]);
    sv = s->i, ns = s->count;
  }
  shape_str(sv, ns, vb, sizeof vb);
  if (ns < 2 || ns > 4)
    return lsp_onnx_fail_at(where,
                            "shape %s: lsprobe reshapes to N × D, N × C × L or "
                            "N × C × H × W",
                            vb);
  for (size_t k = 0; k < ns; k++) {
    if (ex->allowzero && sv[k] == 0)
      return lsp_onnx_fail_at(
          where, "shape %s with allowzero = 1 makes an empty tensor", vb);
    if (k == 0 && sv[k] == LSP_ONNX_BATCH) { /* Shape(x)[0]: the batch */
      nd->shape[k] = 0;
      continue;
    }
    if (sv[k] == LSP_ONNX_BATCH)
      return lsp_onnx_fail_at(where,
                              "shape %s: entry %zu is the batch size (from "
                              "Shape); lsprobe keeps it in the first only",
                              vb, k);
    int64_t src;
    int dk;
    if (lsp_onnx_dim_of(sv[k], &src, &dk)) { /* Shape(v)[dk] */
      if (dk == (int)k && src == reshaped_src(c, pn)) {
        nd->shape[k] = 0; /* a copy of the input's own dimension k */
        continue;
      }
      return lsp_onnx_fail_at(
          where,
          "shape %s: entry %zu is dimension %d of '%s' (from Shape); lsprobe "
          "takes a computed dimension only as the same entry of a Reshape "
          "of that value (x.view(x.size(0), x.size(1), -1), "
          "x.flatten(2)); export the model with torch.flatten(x, 1) or "
          "the sizes as numbers",
          vb, k, dk, src_name(c, src));
    }
    if (sv[k] < -1 || sv[k] > LSP_ONNX_MAX_DIM)
      return lsp_onnx_fail_at(where, "shape %s: unsupported value %lld", vb,
                              (long long)sv[k]);
    nd->shape[k] = sv[k];
  }
  nd->shape_rank = (int)ns;
  return LSP_OK;
}

/* ReduceMean's and ReduceMax's axes: the attribute up to opset 17, an int64
 * constant input
 * from opset 18 (with noop_with_empty_axes, whose 1 without axes would make
 * the node an identity: refused, nothing is reduced). */
static int fold_axes(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn, size_t nin,
                     lsp_onnx_node *nd, const lsp_onnx_attr_extra *ex,
                     const char *where) {
  if (c->m->opset <= 17 && (nin > 1 || ex->has_noop_empty))
    return lsp_onnx_fail_at(where,
                            "opset %lld: %s takes its axes as an "
                            "attribute (an input, and noop_with_empty_axes, "
                            "from opset 18)",
                            (long long)c->m->opset, lsp_onnx_op_name(nd->op));
  if (nin > 1) {
    const char *aname = lsp_onnx_rd_resolve(c, pn->input[1]);
    const lsp_onnx_tensor *t = aname ? lsp_onnx_rd_const(c, aname) : NULL;
    if (!t || t->dtype != LSP_ONNX_INT64 || t->ndim != 1 || t->count > 4)
      return lsp_onnx_fail_at(where,
                              "axes '%s' must be an int64 constant vector of "
                              "at most 4 entries (an initializer or a "
                              "Constant node)",
                              pn->input[1]);
    for (size_t k = 0; k < t->count; k++) nd->axes[k] = t->i[k];
    nd->naxes = (int)t->count;
  }
  if (nd->naxes == 0 && ex->noop_empty)
    return lsp_onnx_fail_at(where,
                            "noop_with_empty_axes = 1 and no axes: the node "
                            "reduces nothing");
  return LSP_OK;
}

/* An op outside the shape arithmetic lsprobe folds computing with the
 * Shape of a computed value (x.size(1) * x.size(2) as Mul): refused. */
static int shape_math(const lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                      size_t nin, int op, const char *where) {
  for (size_t k = 0; op != LSP_ONNX_RESHAPE && k < nin; k++) {
    const char *r = lsp_onnx_rd_resolve(c, lsp_onnx_str(pn->input[k]));
    const lsp_onnx_tensor *t = r ? lsp_onnx_rd_const(c, r) : NULL;
    for (size_t j = 0; t && t->dtype != LSP_ONNX_FLOAT && j < t->count; j++)
      if (lsp_onnx_is_sym(t->i[j]))
        return lsp_onnx_fail_at(
            where,
            "computes with the size of a computed value (from Shape, as "
            "x.size(1) * x.size(2) writes it); lsprobe takes such a size "
            "only as an entry of the target shape of a Reshape. Export the "
            "model with torch.flatten(x, 1) or x.view(x.size(0), -1), or "
            "the sizes as numbers");
  }
  return LSP_OK;
}

static int read_node(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn, size_t idx,
                     int op, int min_in, int max_in, const char *where) {
  size_t nin = pn->n_input;
  while (nin && !lsp_onnx_str(pn->input[nin - 1])[0])
    nin--; /* omitted optionals */
  if ((int)nin < min_in || (int)nin > max_in)
    return lsp_onnx_fail_at(where, "%zu inputs; expected %d%s%.0d", nin, min_in,
                            max_in > min_in ? " to " : "",
                            max_in > min_in ? max_in : 0);
  for (size_t k = 0; k < nin; k++)
    if (!lsp_onnx_str(pn->input[k])[0] && !(op == LSP_ONNX_CLIP && k > 0))
      return lsp_onnx_fail_at(where, "input %zu is empty (a required input)",
                              k);
  if (op == OP_CONSTANT) return lsp_onnx_rd_constant(c, pn, where);
  if (op == OP_IDENTITY)
    return lsp_onnx_rd_alias(c, pn->output[0], pn->input[0], pn->name);
  int st = shape_math(c, pn, nin, op, where);
  if (st != LSP_OK) return st;
  int nkeep = op == LSP_ONNX_PAD || op == LSP_ONNX_RESHAPE ||
                      op == LSP_ONNX_REDUCEMEAN || op == LSP_ONNX_REDUCEMAX ||
                      op == LSP_ONNX_CLIP
                  ? 1
                  : (int)nin;
  lsp_onnx_node *nd =
      lsp_onnx_add_node(c->m, (lsp_onnx_op)op, pn->name, nkeep,
                        (const char *const *)pn->input, pn->output[0]);
  if (!nd) return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
  nd->index = idx;
  int zero = 0;
  lsp_onnx_attr_extra ex;
  if ((st = lsp_onnx_parse_attrs(pn, nd, where, c->m->opset, &ex)) != LSP_OK)
    return st;
  int arith = op == LSP_ONNX_ADD || op == LSP_ONNX_SUB || op == LSP_ONNX_MUL ||
              op == LSP_ONNX_DIV;
  if ((arith || op == LSP_ONNX_GEMM) && c->m->opset <= 6) {
    nd->legacy_bcast = ex.broadcast;
    if (ex.has_bcast_axis) nd->legacy_axis = ex.bcast_axis;
  }
  if (op == LSP_ONNX_RESHAPE) return fold_reshape(c, pn, nin, nd, &ex, where);
  if (op == LSP_ONNX_REDUCEMEAN || op == LSP_ONNX_REDUCEMAX)
    return fold_axes(c, pn, nin, nd, &ex, where);
  if (op >= LSP_ONNX_SIGMOID && op <= LSP_ONNX_GELU)
    return lsp_onnx_act_read(c, pn, nin, nd, where);
  if (op != LSP_ONNX_PAD) return LSP_OK;
  if ((st = fold_pad(c, pn, nin, nd, &ex, where, &zero)) != LSP_OK) return st;
  if (!zero) return LSP_OK;
  lsp_onnx_drop_last_node(c->m); /* pads nothing: an alias */
  return lsp_onnx_rd_alias(c, pn->output[0], pn->input[0], pn->name);
}

/* 1 when `name` is a computed value: the graph input or the output of an
 * op lsprobe computes, or of a Squeeze, Gather or Slice of such a value
 * (kept as a node, lsp_onnx_pick.c); not a constant, not the output of
 * shape arithmetic (Shape reads any value and is folded). */
static int is_value(const lsp_onnx_rctx *c, const LspOnnx__GraphProto *g,
                    const char *name, int depth) {
  const char *r = lsp_onnx_rd_resolve(c, lsp_onnx_str(name));
  size_t p, o = 0;
  if (!r || !r[0] || lsp_onnx_rd_const(c, r)) return 0;
  if (!strcmp(r, c->m->input)) return 1;
  if (!lsp_onnx_map_get(&c->produced, r, &p)) return 0;
  const LspOnnx__NodeProto *pp = g->node[p];
  const char *op = lsp_onnx_str(pp->op_type);
  while (o < N_OPS && strcmp(k_ops[o].name, op) != 0) o++;
  if (o < N_OPS || !lsp_onnx_fold_op(op)) return 1;
  return (lsp_onnx_pick_op(op) || !strcmp(op, "Transpose")) &&
         pp->n_input > 0 && depth < 64 &&
         is_value(c, g, pp->input[0], depth + 1);
}

/* 1 when a shape-arithmetic node pn reads a computed value. */
static int reads_value(const lsp_onnx_rctx *c, const LspOnnx__GraphProto *g,
                       const LspOnnx__NodeProto *pn) {
  if (!strcmp(lsp_onnx_str(pn->op_type), "Shape")) return 0;
  for (size_t k = 0; k < pn->n_input; k++)
    if (is_value(c, g, pn->input[k], 0)) return 1;
  return 0;
}

/* Pass 3 (every node's op and outputs) then pass 4 (Constant and Identity
 * first, the ops after, so that a constant may follow its user). */
/* Node i folded after the nodes of its inputs (depth first, so the file's
 * order does not matter and each node is tried once); folded[i]: 0 not
 * tried, 1 folded, 2 tried and left. Chains deeper than 256 stay. */
static int fold_one(lsp_onnx_rctx *c, const LspOnnx__GraphProto *g,
                    unsigned char *folded, size_t i, int depth) {
  const LspOnnx__NodeProto *pn = g->node[i];
  folded[i] = 2;
  for (size_t k = 0; depth < 256 && k < pn->n_input; k++) {
    const char *r = lsp_onnx_rd_resolve(c, lsp_onnx_str(pn->input[k]));
    size_t p;
    int st;
    if (r && !lsp_onnx_rd_const(c, r) &&
        lsp_onnx_map_get(&c->produced, r, &p) && !folded[p] &&
        lsp_onnx_fold_op(lsp_onnx_str(g->node[p]->op_type)) &&
        (st = fold_one(c, g, folded, p, depth + 1)) != LSP_OK)
      return st;
  }
  char where[512];
  lsp_onnx_where(where, sizeof where, c->path, pn->name, i,
                 lsp_onnx_str(pn->op_type));
  int done = 0, st = lsp_onnx_rd_fold(c, pn, where, &done);
  if (done) folded[i] = 1;
  return st;
}

/* After the Constant nodes: the int64 shape arithmetic on constants. */
static int fold_all(lsp_onnx_rctx *c, const LspOnnx__GraphProto *g,
                    unsigned char *folded) {
  for (size_t i = 0; i < g->n_node; i++) {
    int st;
    if (!folded[i] && lsp_onnx_fold_op(lsp_onnx_str(g->node[i]->op_type)) &&
        (st = fold_one(c, g, folded, i, 0)) != LSP_OK)
      return st;
  }
  return LSP_OK;
}

static int rd_nodes(lsp_onnx_rctx *c, const LspOnnx__GraphProto *g,
                    unsigned char *folded) {
  char where[512];
  int st;
  /* passes: 0 ops and outputs; 1 Constant; 2 Identity and Dropout (which
   * reads its training_mode constant); 3 the shape arithmetic, the rest */
  for (int pass = 0; pass < 4; pass++) {
    if (pass == 3 && (st = fold_all(c, g, folded)) != LSP_OK) return st;
    for (size_t i = 0; i < g->n_node; i++) {
      const LspOnnx__NodeProto *pn = g->node[i];
      const char *ot = lsp_onnx_str(pn->op_type),
                 *dom = lsp_onnx_str(pn->domain);
      lsp_onnx_where(where, sizeof where, c->path, pn->name, i, ot);
      size_t o = 0;
      while (o < N_OPS && strcmp(k_ops[o].name, ot) != 0) o++;
      if (pass == 0) {
        if (dom[0] && strcmp(dom, "ai.onnx") != 0)
          return lsp_onnx_fail_at(
              where,
              "domain '%s' is not supported (only the default "
              "ONNX domain)",
              dom);
        int taken = 0;
        if (o == N_OPS &&
            (st = lsp_onnx_rd_softmax(c, pn, ot, where, &taken)) != LSP_OK)
          return st;
        if (taken) folded[i] = 1; /* an alias: no node */
        if (o == N_OPS && !taken && !lsp_onnx_fold_op(ot))
          return lsp_onnx_fail_at(
              where,
              "op not supported by lsprobe (it reads Conv, "
              "Gemm, MatMul, Add, Sub, Mul, Div, Relu, MaxPool, "
              "AveragePool, GlobalAveragePool, GlobalMaxPool, "
              "BatchNormalization, Concat, ReduceMean, ReduceMax, Flatten, "
              "Reshape, Pad, Sigmoid, Tanh, "
              "LeakyRelu, Elu, Selu, Clip, HardSigmoid, HardSwish, Softplus, "
              "Erf, Gelu, Transpose, Constant, "
              "Identity, Dropout in inference; a final Softmax or LogSoftmax "
              "over the classes)");
        size_t nout = pn->n_output;
        while (nout && !lsp_onnx_str(pn->output[nout - 1])[0]) nout--;
        if (nout == 0 || !lsp_onnx_str(pn->output[0])[0])
          return lsp_onnx_fail_at(where, "no output");
        if (nout > 1 && !(o < N_OPS && k_ops[o].op == OP_DROPOUT))
          return lsp_onnx_fail_at(
              where, "%zu outputs; only the first (%s) is supported", nout,
              o < N_OPS && k_ops[o].op == LSP_ONNX_BATCHNORM
                  ? "inference; not the training statistics"
                  : "Y; not the Indices");
        size_t other;
        const char *out = pn->output[0];
        if (lsp_onnx_map_put(&c->produced, out, i, &other) == 1) {
          char lb[32];
          return lsp_onnx_fail_at(
              where, "output '%s' is also produced by node '%s'", out,
              lsp_onnx_node_label(g->node[other]->name, other, lb, sizeof lb));
        }
        if (lsp_onnx_rd_const(c, out) || !strcmp(out, c->m->input))
          return lsp_onnx_fail_at(
              where, "output '%s' has the name of %s", out,
              lsp_onnx_rd_const(c, out) ? "an initializer" : "the graph input");
        continue;
      }
      if (folded[i] == 1) continue;
      if (o == N_OPS && pass < 3) continue; /* folded after the Constants */
      if (o == N_OPS && lsp_onnx_pick_op(ot) && pn->n_input > 0 &&
          is_value(c, g, pn->input[0], 0)) { /* x.squeeze(-1), x[:, :, 0] */
        if ((st = lsp_onnx_rd_pick(c, pn, i, where)) != LSP_OK) return st;
        continue;
      }
      if (o == N_OPS && !strcmp(ot, "Transpose") && pn->n_input > 0 &&
          is_value(c, g, pn->input[0], 0)) { /* channels last, and back */
        if ((st = lsp_onnx_rd_transpose(c, pn, i, where)) != LSP_OK)
          return st;
        continue;
      }
      if (o == N_OPS && reads_value(c, g, pn)) /* x.unsqueeze(1) */
        return lsp_onnx_fail_at(
            where,
            "op not supported by lsprobe on a computed value (only on int64 "
            "constants, as shape arithmetic folded away; Squeeze, Gather "
            "and Slice also on a value, dropping axes of size 1, and "
            "Transpose keeping the batch); export "
            "the model without it (torch.flatten(x, 1) for the pooled "
            "maps)");
      if (o == N_OPS) /* shape arithmetic that did not fold */
        return lsp_onnx_fail_at(
            where,
            "op not supported by lsprobe except on int64 constants "
            "(shape arithmetic, folded; of a computed value's Shape, whose "
            "rank is not known while reading, an entry by a non-negative "
            "index or a Slice within the first two); an input here is not "
            "one. Export the model with torch.flatten(x, 1) or "
            "x.view(x.size(0), -1), or the sizes as numbers");
      int op = k_ops[o].op;
      if (pass != (op == OP_CONSTANT ? 1 : op > OP_CONSTANT ? 2 : 3)) continue;
      if (op == OP_DROPOUT) {
        if ((st = lsp_onnx_rd_dropout(c, g, pn, where)) != LSP_OK) return st;
        continue;
      }
      st = read_node(c, pn, i, k_ops[o].op, k_ops[o].min_in, k_ops[o].max_in,
                     where);
      if (st != LSP_OK) return st;
    }
  }
  return LSP_OK;
}

int lsp_onnx_rd_nodes(lsp_onnx_rctx *c, const LspOnnx__GraphProto *g) {
  unsigned char *folded = calloc(g->n_node ? g->n_node : 1, 1);
  if (!folded) return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  int st = rd_nodes(c, g, folded);
  free(folded);
  return st;
}
