/* lsp_onnx_pick.c — Squeeze, Gather and Slice of a computed value: the
 * ways PyTorch classifiers drop the 1 × 1 left by a global pooling
 * (x.squeeze(-1).squeeze(-1), x.squeeze(3).squeeze(2), x[:, :, 0, 0],
 * x.select(3, 0), x[:, :, 0:1, 0:1]). On int64 constants these ops are
 * shape arithmetic, folded by lsp_onnx_fold.c; on a value the reader keeps
 * them as a Reshape whose target is not known yet (the rank of a value is
 * known only after shape inference), and the checker places it: a node
 * that drops only axes of size 1 and keeps every element is the Reshape
 * to the dimensions left, which lowers to nothing (N × C × 1 × 1 and N × C
 * are the same C values per example). Anything else is refused naming the
 * node: the batch axis, an axis of another size (a Squeeze of it fails in
 * ONNX too; an index or a crop of it picks pixels, which is no pooling),
 * and a Squeeze without axes unless the batch is fixed above 1 (it would
 * drop a batch of 1 too). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_read_int.h"

int lsp_onnx_pick_op(const char *op) {
  return !strcmp(op, "Squeeze") || !strcmp(op, "Gather") ||
         !strcmp(op, "Slice");
}

/* ---- reading (pass 4) ---------------------------------------------------- */

/* Input k of pn as an int64 constant without size markers (*t), or NULL
 * for an absent optional input; LSP_EDATA naming `what` otherwise. */
static int const_in(const lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                    size_t k, const char *what, const char *where,
                    const lsp_onnx_tensor **t) {
  const char *nm = k < pn->n_input ? lsp_onnx_str(pn->input[k]) : "";
  *t = NULL;
  if (!nm[0]) return LSP_OK;
  const char *r = lsp_onnx_rd_resolve(c, nm);
  const lsp_onnx_tensor *v = r ? lsp_onnx_rd_const(c, r) : NULL;
  int sym = 0;
  for (size_t j = 0; v && v->dtype != LSP_ONNX_FLOAT && j < v->count; j++)
    sym |= lsp_onnx_is_sym(v->i[j]);
  if (v && v->dtype == LSP_ONNX_INT64 && v->ndim > 1)
    return lsp_onnx_fail_at(where,
                            "%s '%s' has rank %d; lsprobe reads a scalar or "
                            "a vector",
                            what, nm, v->ndim);
  if (!v || v->dtype != LSP_ONNX_INT64 || sym)
    return lsp_onnx_fail_at(
        where,
        "%s '%s' must be an int64 constant scalar or vector (an initializer "
        "or a Constant node; not computed from the data or its Shape)",
        what, nm);
  *t = v;
  return LSP_OK;
}

/* n entries of t (or of an INTS attribute) into dst; at most 4. */
static int take(const int64_t *v, size_t n, int64_t *dst, const char *what,
                const char *where) {
  if (n < 1 || n > 4)
    return lsp_onnx_fail_at(where, "%zu %s; lsprobe reads 1 to 4", n, what);
  memcpy(dst, v, n * sizeof *v);
  return LSP_OK;
}

/* The attributes of the model's opset: Squeeze's axes (up to 12),
 * Gather's axis, Slice's starts, ends and axes (up to 9). */
static int pick_attrs(const LspOnnx__NodeProto *pn, int from, int64_t opset,
                      const LspOnnx__AttributeProto **at, const char *where) {
  static const char *const names[] = {"axes", "axis", "starts", "ends"};
  for (size_t k = 0; k < pn->n_attribute; k++) {
    const LspOnnx__AttributeProto *a = pn->attribute[k];
    const char *n = lsp_onnx_str(a->name);
    int type = a->has_type ? (int)a->type : 0, slot = -1;
    if (from == LSP_ONNX_PICK_SQUEEZE && !strcmp(n, "axes") && type == 7 &&
        opset <= 12)
      slot = 0;
    else if (from == LSP_ONNX_PICK_GATHER && !strcmp(n, "axis") && type == 2)
      slot = 1;
    else if (from == LSP_ONNX_PICK_SLICE && opset <= 9 && type == 7)
      for (int j = 0; j < 4; j++)
        if (j != 1 && !strcmp(n, names[j])) slot = j;
    if (slot < 0)
      return lsp_onnx_fail_at(
          where, "attribute '%s' is not supported (opset %lld: %s)", n,
          (long long)opset,
          from == LSP_ONNX_PICK_GATHER ? "axis"
          : from == LSP_ONNX_PICK_SQUEEZE
              ? (opset <= 12 ? "axes" : "none; the axes are an input")
              : (opset <= 9 ? "starts, ends, axes"
                            : "none; the bounds are inputs"));
    if (at[slot])
      return lsp_onnx_fail_at(where, "attribute '%s' given twice", n);
    at[slot] = a;
  }
  return LSP_OK;
}

/* Squeeze: the axes (attribute up to opset 12, input from 13; none: every
 * axis of size 1). */
static int read_squeeze(const lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                        size_t nin, const LspOnnx__AttributeProto *const *at,
                        lsp_onnx_node *nd, const char *where) {
  const lsp_onnx_tensor *t = NULL;
  int st;
  if (nin > (c->m->opset <= 12 ? 1u : 2u))
    return lsp_onnx_fail_at(where, "%zu inputs; opset %lld: Squeeze takes %s",
                            nin, (long long)c->m->opset,
                            c->m->opset <= 12
                                ? "one (the axes are an attribute up to "
                                  "opset 12)"
                                : "the data and the axes");
  if ((st = const_in(c, pn, 1, "axes", where, &t)) != LSP_OK) return st;
  nd->pick.drop = 1;
  if (t) st = take(t->i, t->count, nd->pick.axes, "axes", where);
  if (at[0])
    st = take(at[0]->ints, at[0]->n_ints, nd->pick.axes, "axes", where);
  nd->pick.n = t ? (int)t->count : at[0] ? (int)at[0]->n_ints : 0;
  return st;
}

/* Gather: one index along one axis; a scalar index drops the axis. */
static int read_gather(const lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                       size_t nin, const LspOnnx__AttributeProto *const *at,
                       lsp_onnx_node *nd, const char *where) {
  const lsp_onnx_tensor *t = NULL;
  int st;
  if (nin != 2)
    return lsp_onnx_fail_at(where, "%zu inputs; Gather takes 2", nin);
  if ((st = const_in(c, pn, 1, "indices", where, &t)) != LSP_OK) return st;
  if (t->count != 1)
    return lsp_onnx_fail_at(where,
                            "%zu indices; lsprobe reads one index per Gather "
                            "(x[:, :, 0])",
                            t->count);
  nd->pick.n = 1;
  nd->pick.axes[0] = at[1] ? at[1]->i : 0;
  nd->pick.start[0] = t->i[0];
  nd->pick.drop = t->ndim == 0;
  return LSP_OK;
}

/* Slice: starts, ends and axes (attributes up to opset 9; from 10 inputs,
 * with the optional axes and steps). */
static int read_slice(const lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                      size_t nin, const LspOnnx__AttributeProto *const *at,
                      lsp_onnx_node *nd, const char *where) {
  const lsp_onnx_tensor *t[5] = {NULL};
  int64_t *dst[4] = {nd->pick.start, nd->pick.end, nd->pick.axes,
                     nd->pick.step};
  static const char *const what[4] = {"starts", "ends", "axes", "steps"};
  size_t n[4] = {0};
  int st, old = c->m->opset <= 9;
  if (old ? nin != 1 || !at[2] || !at[3] : nin < 3 || nin > 5)
    return lsp_onnx_fail_at(where, "opset %lld: Slice takes %s",
                            (long long)c->m->opset,
                            old ? "one input and the starts and ends "
                                  "attributes"
                                : "the data, starts and ends (and axes and "
                                  "steps) as inputs");
  for (int k = 0; k < 4; k++) {
    if (old) { /* attributes: starts, ends, axes */
      const LspOnnx__AttributeProto *a = at[k == 0 ? 2 : k == 1 ? 3 : 0];
      if (k == 3 || !a) continue;
      n[k] = a->n_ints;
      st = take(a->ints, n[k], dst[k], what[k], where);
    } else {
      if ((st = const_in(c, pn, (size_t)k + 1, what[k], where, &t[k])) !=
          LSP_OK)
        return st;
      if (!t[k] && k < 2)
        return lsp_onnx_fail_at(where, "no %s (a required input)", what[k]);
      if (!t[k]) continue;
      n[k] = t[k]->count;
      st = take(t[k]->i, n[k], dst[k], what[k], where);
    }
    if (st != LSP_OK) return st;
    if (n[k] != n[0])
      return lsp_onnx_fail_at(where, "%zu starts but %zu %s", n[0], n[k],
                              what[k]);
  }
  nd->pick.n = (int)n[0];
  for (size_t k = 0; k < n[0]; k++) {
    if (!n[2]) nd->pick.axes[k] = (int64_t)k;
    if (!n[3]) nd->pick.step[k] = 1;
    if (nd->pick.step[k] == 0 || nd->pick.step[k] == INT64_MIN)
      return lsp_onnx_fail_at(where, "a step of %lld",
                              (long long)nd->pick.step[k]);
  }
  return LSP_OK;
}

int lsp_onnx_rd_pick(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn, size_t idx,
                     const char *where) {
  const char *ot = lsp_onnx_str(pn->op_type);
  int from = !strcmp(ot, "Squeeze")  ? LSP_ONNX_PICK_SQUEEZE
             : !strcmp(ot, "Gather") ? LSP_ONNX_PICK_GATHER
                                     : LSP_ONNX_PICK_SLICE;
  const LspOnnx__AttributeProto *at[4] = {NULL};
  size_t nin = pn->n_input;
  while (nin && !lsp_onnx_str(pn->input[nin - 1])[0]) nin--;
  int st = pick_attrs(pn, from, c->m->opset, at, where);
  if (st != LSP_OK) return st;
  lsp_onnx_node *nd =
      lsp_onnx_add_node(c->m, LSP_ONNX_RESHAPE, pn->name, 1,
                        (const char *const *)pn->input, pn->output[0]);
  if (!nd) return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
  nd->index = idx;
  nd->shape_rank = 0;
  nd->pick.from = from;
  nd->pick.pending = 1;
  if (from == LSP_ONNX_PICK_SQUEEZE)
    return read_squeeze(c, pn, nin, at, nd, where);
  if (from == LSP_ONNX_PICK_GATHER)
    return read_gather(c, pn, nin, at, nd, where);
  return read_slice(c, pn, nin, at, nd, where);
}

/* ---- placing (the checker's shape inference) ----------------------------- */

/* The elements a Slice of an axis of size d keeps (ONNX's clamping);
 * 1 when they are all of them, in order. */
static int keeps_all(int64_t d, int64_t s, int64_t e, int64_t p, int64_t *len) {
  if (s < 0) s += d;
  if (e < 0) e += d;
  int64_t hi = p > 0 ? d : d - 1;
  s = s < 0 ? 0 : s > hi ? hi : s;
  e = e < (p > 0 ? 0 : -1) ? (p > 0 ? 0 : -1) : e > hi ? hi : e;
  *len = p > 0 ? (e > s ? 1 + (e - s - 1) / p : 0)
               : (s > e ? 1 + (s - e - 1) / -p : 0);
  return *len == d && (p == 1 || d == 1);
}

/* Axis a of node nd on an input of rank r, as a non-negative index that
 * is not the batch (*ax); LSP_EDATA otherwise. */
static int axis_of(const char *path, const lsp_onnx_node *nd, int64_t a, int r,
                   int *ax) {
  int64_t k = a < 0 ? a + r : a;
  if (k < 0 || k >= r)
    return lsp_onnx_node_fail(path, nd, "axis %lld is outside a rank-%d input",
                              (long long)a, r);
  if (k == 0)
    return lsp_onnx_node_fail(
        path, nd,
        "axis %lld is the batch; lsprobe computes every example alike and "
        "keeps it",
        (long long)a);
  *ax = (int)k;
  return LSP_OK;
}

/* Which axes of x go (drop[]), checking each listed one. */
static int pick_axes(const char *path, const lsp_onnx_node *nd,
                     const lsp_onnx_shape *x, int *drop) {
  const int r = x->rank;
  int seen[4] = {0}, a = 0;
  if (nd->pick.from == LSP_ONNX_PICK_SQUEEZE && nd->pick.n == 0) {
    if (x->dims[0] < 2)
      return lsp_onnx_node_fail(
          path, nd,
          "no axes: it drops every axis of size 1, the batch too when it "
          "is 1 (the batch size is %s); lsprobe needs the axes: export "
          "the model with x.squeeze(-1).squeeze(-1) or torch.flatten(x, 1)",
          x->dims[0] < 0 ? "symbolic" : "1");
    for (int k = 1; k < r; k++) drop[k] = x->dims[k] == 1;
    return LSP_OK;
  }
  for (int j = 0; j < nd->pick.n; j++) {
    int st = axis_of(path, nd, nd->pick.axes[j], r, &a);
    if (st != LSP_OK) return st;
    if (seen[a]++)
      return lsp_onnx_node_fail(path, nd, "axis %d is listed twice", a);
    const int64_t d = x->dims[a], i = nd->pick.start[j];
    int64_t len = 0;
    switch (nd->pick.from) {
      case LSP_ONNX_PICK_SQUEEZE:
        if (d != 1)
          return lsp_onnx_node_fail(
              path, nd,
              "axis %d has size %lld; a Squeeze drops axes of size 1 only", a,
              (long long)d);
        break;
      case LSP_ONNX_PICK_GATHER:
        if (i < -d || i >= d)
          return lsp_onnx_node_fail(
              path, nd, "index %lld is outside axis %d of size %lld",
              (long long)i, a, (long long)d);
        if (d != 1)
          return lsp_onnx_node_fail(
              path, nd,
              "index %lld takes one of the %lld positions of axis %d, which "
              "is no pooling; lsprobe reads an index only on an axis of "
              "size 1 (x[:, :, 0, 0] after a global pooling)",
              (long long)i, (long long)d, a);
        break;
      default:
        if (!keeps_all(d, i, nd->pick.end[j], nd->pick.step[j], &len))
          return lsp_onnx_node_fail(
              path, nd,
              "keeps %lld of the %lld positions of axis %d (starts %lld, "
              "ends %lld, steps %lld); lsprobe reads a Slice only when it "
              "keeps a whole axis in order (x[:, :, 0:1] on an axis of "
              "size 1); a crop such as x[:, :, 1:3], or the Slices PyTorch "
              "writes for a convolution's padding_mode='circular', is not read",
              (long long)len, (long long)d, a, (long long)i,
              (long long)nd->pick.end[j], (long long)nd->pick.step[j]);
    }
    drop[a] = nd->pick.drop;
  }
  return LSP_OK;
}

int lsp_onnx_pick_place(const char *path, lsp_onnx_node *nd,
                        const lsp_onnx_shape *x) {
  int drop[4] = {0}, nr = 0;
  int st = pick_axes(path, nd, x, drop);
  if (st != LSP_OK) return st;
  int64_t left[4];
  for (int k = 0; k < x->rank; k++)
    if (!drop[k]) left[nr++] = x->dims[k];
  if (nr < 2)
    return lsp_onnx_node_fail(
        path, nd,
        "leaves the batch alone (rank 1); lsprobe needs N × features: "
        "keep the channels (x.flatten(1))");
  nd->shape[0] = 0; /* the batch */
  for (int k = 1; k < nr; k++) nd->shape[k] = left[k];
  for (int k = nr; k < 4; k++) nd->shape[k] = 0;
  nd->shape_rank = nr;
  nd->pick.pending = 0;
  return LSP_OK;
}
