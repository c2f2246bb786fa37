/* lsp_onnx_fold.c — int64 shape arithmetic folded into constants while the
 * nodes are read (pass 4, lsp_onnx_nodes.c). PyTorch (opsets 11 and later)
 * computes the pads of F.pad, nn.ZeroPad2d and padding_mode='reflect' with
 * ConstantOfShape, Concat, Reshape, Slice, Transpose and Cast on int64
 * constants, and x.view(x.size(0), -1) as Shape, Gather, Unsqueeze (or
 * Slice and Squeeze) and Concat feeding a Reshape; a node of these ops whose inputs are all int64
 * constants becomes the constant it computes (ONNX semantics), any other is
 * refused by the caller (a Squeeze, Gather or Slice of a computed value is
 * read as a Reshape, lsp_onnx_pick.c). A Transpose of a float32 constant
 * (older PyTorch exports of nn.Linear without bias: Transpose of the weight,
 * then MatMul) is folded the same way, into the float32 constant it
 * computes. Shape of a computed value knows its entries by
 * name only (lsp_onnx_read_int.h): the batch size N (LSP_ONNX_BATCH) and
 * dimension k of that value (LSP_ONNX_DIM); Gather of a non-negative entry
 * and Slice within the first two take them (x.size(1), x.flatten(2)),
 * data moves them, Reshape takes N as its first entry and dimension k of
 * its own input as its entry k (fold_reshape, lsp_onnx_nodes.c), anything
 * that would compute with them (a shape, an index, a bound) refuses
 * them. */
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_read_int.h"

enum {
  F_CONSTOFSHAPE,
  F_CONCAT,
  F_RESHAPE,
  F_SLICE,
  F_TRANSPOSE,
  F_CAST,
  F_SHAPE,
  F_GATHER,
  F_UNSQUEEZE,
  F_SQUEEZE
};

static const char *const k_fold[] = {
    "ConstantOfShape", "Concat", "Reshape", "Slice",    "Transpose",
    "Cast",            "Shape",  "Gather",  "Unsqueeze", "Squeeze"};
#define N_FOLD (sizeof k_fold / sizeof *k_fold)
#define MAX_FOLD ((size_t)1 << 20) /* elements of a folded constant */

static int fold_kind(const char *op) {
  for (size_t k = 0; k < N_FOLD; k++)
    if (!strcmp(op, k_fold[k])) return (int)k;
  return -1;
}

int lsp_onnx_fold_op(const char *op) { return fold_kind(op) >= 0; }

static const LspOnnx__AttributeProto *attr(const LspOnnx__NodeProto *pn,
                                           const char *name) {
  for (size_t k = 0; k < pn->n_attribute; k++)
    if (!strcmp(lsp_onnx_str(pn->attribute[k]->name), name))
      return pn->attribute[k];
  return NULL;
}

/* Row-major strides of t. */
static void strides(const lsp_onnx_tensor *t, int64_t *st) {
  int64_t s = 1;
  for (int k = t->ndim - 1; k >= 0; k--) st[k] = s, s *= t->dims[k];
}

/* out gets ndim/dims and room for its elements of type dtype (int64 or
 * float32); 0 when it is too large. */
static int shape_out_as(lsp_onnx_tensor *out, int ndim, const int64_t *dims,
                        int dtype) {
  size_t n = 1;
  for (int k = 0; k < ndim; k++) {
    if (dims[k] < 0 || (dims[k] && n > MAX_FOLD / (size_t)dims[k])) return 0;
    n *= (size_t)dims[k];
    out->dims[k] = dims[k];
  }
  if (n == 0 || n > MAX_FOLD) return 0;
  out->ndim = ndim;
  out->count = n;
  out->dtype = dtype;
  if (dtype == LSP_ONNX_FLOAT)
    return (out->f = malloc(n * sizeof *out->f)) != NULL ? 1 : -1;
  return (out->i = malloc(n * sizeof *out->i)) != NULL ? 1 : -1;
}

static int shape_out(lsp_onnx_tensor *out, int ndim, const int64_t *dims) {
  return shape_out_as(out, ndim, dims, LSP_ONNX_INT64);
}

/* out[j] = in[offset(j)]: the element of `in` at start + index·step per
 * axis, for every index of out (Slice, Transpose). */
static void gather(const lsp_onnx_tensor *in, lsp_onnx_tensor *out,
                   const int64_t *start, const int64_t *step,
                   const int *axis_of) {
  int64_t st[LSP_ONNX_MAXDIM], idx[LSP_ONNX_MAXDIM] = {0};
  strides(in, st);
  for (size_t j = 0; j < out->count; j++) {
    int64_t off = 0;
    for (int k = 0; k < out->ndim; k++)
      off += (start[k] + idx[k] * step[k]) * st[axis_of[k]];
    if (in->dtype == LSP_ONNX_FLOAT)
      out->f[j] = in->f[off];
    else
      out->i[j] = in->i[off];
    for (int k = out->ndim - 1; k >= 0 && ++idx[k] == out->dims[k]; k--)
      idx[k] = 0;
  }
}

static int slice(const lsp_onnx_tensor *const *a, size_t na,
                 lsp_onnx_tensor *out) {
  const lsp_onnx_tensor *x = a[0];
  int64_t start[LSP_ONNX_MAXDIM], step[LSP_ONNX_MAXDIM], dims[LSP_ONNX_MAXDIM];
  int axis_of[LSP_ONNX_MAXDIM];
  for (int k = 0; k < x->ndim; k++)
    start[k] = 0, step[k] = 1, dims[k] = x->dims[k], axis_of[k] = k;
  size_t n = a[1]->count;
  if (a[2]->count != n || (na > 3 && a[3] && a[3]->count != n) ||
      (na > 4 && a[4] && a[4]->count != n))
    return 0;
  for (size_t j = 0; j < n; j++) {
    int64_t ax = na > 3 && a[3] ? a[3]->i[j] : (int64_t)j;
    if (ax < 0) ax += x->ndim;
    if (ax < 0 || ax >= x->ndim) return 0;
    int64_t d = x->dims[ax], s = a[1]->i[j], e = a[2]->i[j];
    int64_t p = na > 4 && a[4] ? a[4]->i[j] : 1;
    if (p == 0 || p == INT64_MIN) return 0;
    if (s < 0) s += d;
    if (e < 0) e += d;
    int64_t hi = p > 0 ? d : d - 1; /* ONNX's clamps */
    s = s < 0 ? 0 : s > hi ? hi : s;
    e = e < (p > 0 ? 0 : -1) ? (p > 0 ? 0 : -1) : e > hi ? hi : e;
    int64_t len = p > 0 ? (e > s ? 1 + (e - s - 1) / p : 0)
                        : (s > e ? 1 + (s - e - 1) / -p : 0);
    start[ax] = s, step[ax] = p, dims[ax] = len;
  }
  int r = shape_out(out, x->ndim, dims);
  if (r > 0) gather(x, out, start, step, axis_of);
  return r;
}

static int transpose(const LspOnnx__NodeProto *pn, const lsp_onnx_tensor *x,
                     lsp_onnx_tensor *out) {
  const LspOnnx__AttributeProto *pa = attr(pn, "perm");
  int axis_of[LSP_ONNX_MAXDIM], seen[LSP_ONNX_MAXDIM] = {0};
  int64_t dims[LSP_ONNX_MAXDIM], zero[LSP_ONNX_MAXDIM] = {0},
                                 one[LSP_ONNX_MAXDIM];
  if (pa && pa->n_ints != (size_t)x->ndim) return 0;
  for (int k = 0; k < x->ndim; k++) {
    int64_t p = pa ? pa->ints[k] : x->ndim - 1 - k;
    if (p < 0 || p >= x->ndim || seen[p]++) return 0;
    axis_of[k] = (int)p, dims[k] = x->dims[p], one[k] = 1;
  }
  int r = shape_out_as(out, x->ndim, dims,
                       x->dtype == LSP_ONNX_FLOAT ? LSP_ONNX_FLOAT : LSP_ONNX_INT64);
  if (r > 0) gather(x, out, zero, one, axis_of);
  return r;
}

static int reshape(const lsp_onnx_tensor *x, const lsp_onnx_tensor *s,
                   lsp_onnx_tensor *out) {
  int64_t dims[LSP_ONNX_MAXDIM], known = 1;
  int infer = -1;
  if (s->ndim != 1 || s->count > LSP_ONNX_MAXDIM) return 0;
  for (size_t k = 0; k < s->count; k++) {
    dims[k] = s->i[k] == 0 && (int)k < x->ndim ? x->dims[k] : s->i[k];
    if (dims[k] == -1 && infer < 0) {
      infer = (int)k;
      continue;
    }
    if (dims[k] <= 0 || dims[k] > (int64_t)MAX_FOLD ||
        (known *= dims[k]) > (int64_t)MAX_FOLD)
      return 0;
  }
  if (infer >= 0) {
    if ((int64_t)x->count % known) return 0;
    dims[infer] = (int64_t)x->count / known;
  }
  int r = shape_out(out, (int)s->count, dims);
  if (r > 0 && out->count != x->count) return 0;
  if (r > 0) memcpy(out->i, x->i, x->count * sizeof *x->i);
  return r;
}

static int concat(const LspOnnx__NodeProto *pn,
                  const lsp_onnx_tensor *const *a, size_t na,
                  lsp_onnx_tensor *out) {
  const LspOnnx__AttributeProto *pa = attr(pn, "axis");
  int nd = a[0]->ndim;
  int64_t ax = pa ? pa->i : 0, dims[LSP_ONNX_MAXDIM];
  if (ax < 0) ax += nd;
  if (ax < 0 || ax >= nd) return 0;
  memcpy(dims, a[0]->dims, sizeof dims);
  dims[ax] = 0;
  for (size_t j = 0; j < na; j++) {
    if (a[j]->ndim != nd) return 0;
    for (int k = 0; k < nd; k++)
      if (k != ax && a[j]->dims[k] != a[0]->dims[k]) return 0;
    dims[ax] += a[j]->dims[ax];
  }
  int r = shape_out(out, nd, dims);
  if (r <= 0) return r;
  size_t outer = 1, inner = 1, at = 0;
  for (int k = 0; k < ax; k++) outer *= (size_t)dims[k];
  for (int k = (int)ax + 1; k < nd; k++) inner *= (size_t)dims[k];
  for (size_t o = 0; o < outer; o++)
    for (size_t j = 0; j < na; j++) {
      size_t len = (size_t)a[j]->dims[ax] * inner;
      memcpy(out->i + at, a[j]->i + o * len, len * sizeof *out->i);
      at += len;
    }
  return 1;
}

static int const_of_shape(const LspOnnx__NodeProto *pn,
                          const lsp_onnx_tensor *s, const char *where,
                          lsp_onnx_tensor *out) {
  const LspOnnx__AttributeProto *pa = attr(pn, "value");
  if (!pa || !pa->t || s->ndim != 1 || s->count > LSP_ONNX_MAXDIM) return 0;
  lsp_onnx_tensor v;
  memset(&v, 0, sizeof v);
  if (lsp_onnx_tensor_from_pb(pa->t, where, 1, &v) != LSP_OK) return -2;
  int ok = v.dtype == LSP_ONNX_INT64 && v.count == 1;
  int64_t fill = ok ? v.i[0] : 0;
  lsp_onnx_tensor_release(&v);
  if (!ok) return 0;
  int r = shape_out(out, (int)s->count, s->i);
  for (size_t j = 0; r > 0 && j < out->count; j++) out->i[j] = fill;
  return r;
}

static int has_sym(const lsp_onnx_tensor *t) {
  for (size_t k = 0; t && k < t->count; k++)
    if (lsp_onnx_is_sym(t->i[k])) return 1;
  return 0;
}

/* Shape: of a constant its dims; of a computed value N and its dimensions
 * by name (LSP_ONNX_SHAPE_OF). */
static int shape_of(const lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                    lsp_onnx_tensor *out) {
  const char *nm = lsp_onnx_rd_resolve(c, lsp_onnx_str(pn->input[0]));
  if (!nm || attr(pn, "start") || attr(pn, "end")) return 0;
  const lsp_onnx_tensor *t = lsp_onnx_rd_const(c, nm);
  size_t src = 0;
  if (!t && strcmp(nm, c->m->input) && !lsp_onnx_map_get(&c->produced, nm, &src))
    return 0;
  int64_t n = t ? t->ndim : LSP_ONNX_SHAPE_RANK;
  int r = shape_out(out, 1, &n);
  if (r <= 0) return t && t->ndim == 0 ? 0 : r;
  for (int k = 0; t && k < t->ndim; k++) out->i[k] = t->dims[k];
  if (t) return 1;
  if (strcmp(nm, c->m->input)) src++; /* 1 + the producing node's index */
  out->dtype = LSP_ONNX_SHAPE_OF, out->i[0] = LSP_ONNX_BATCH;
  for (int k = 1; k < LSP_ONNX_SHAPE_RANK; k++)
    out->i[k] = LSP_ONNX_DIM(src, k);
  return 1;
}

/* Slice of a computed value's Shape: entries s..e−1 within the first two
 * (every value lsprobe reads has rank 2 to 4), in steps of 1 along axis 0;
 * the result has the length it states. */
static int slice_shape(const lsp_onnx_tensor *const *a, size_t na) {
  for (size_t j = 1; j < na; j++)
    if (a[j] && (a[j]->count != 1 || has_sym(a[j]))) return 0;
  int64_t s = a[1]->i[0], e = a[2]->i[0];
  return s >= 0 && e > s && e <= 2 && (na < 4 || !a[3] || a[3]->i[0] == 0 ||
                                       a[3]->i[0] == -1) &&
         (na < 5 || !a[4] || a[4]->i[0] == 1);
}

static int gather_1d(const LspOnnx__NodeProto *pn, const lsp_onnx_tensor *x,
                     const lsp_onnx_tensor *ix, lsp_onnx_tensor *out) {
  const LspOnnx__AttributeProto *pa = attr(pn, "axis");
  if ((pa && pa->i != 0 && pa->i != -1) || x->ndim != 1 || has_sym(ix))
    return 0;
  int shp = x->dtype == LSP_ONNX_SHAPE_OF;
  for (size_t k = 0; k < ix->count; k++) {
    int64_t j = ix->i[k] < 0 && !shp ? ix->i[k] + (int64_t)x->count : ix->i[k];
    if (j < 0 || j >= (int64_t)x->count) return 0;
  }
  int r = ix->ndim ? shape_out(out, ix->ndim, ix->dims) : shape_out(out, 0, NULL);
  for (size_t k = 0; r > 0 && k < ix->count; k++)
    out->i[k] = x->i[ix->i[k] < 0 ? ix->i[k] + (int64_t)x->count : ix->i[k]];
  return r;
}

static int unsqueeze(const LspOnnx__NodeProto *pn, const lsp_onnx_tensor *x,
                     const lsp_onnx_tensor *axes, lsp_onnx_tensor *out) {
  const LspOnnx__AttributeProto *pa = attr(pn, "axes");
  size_t na = axes ? axes->count : pa ? pa->n_ints : 0;
  int nd = x->ndim + (int)na, at = 0;
  int64_t dims[LSP_ONNX_MAXDIM], one[LSP_ONNX_MAXDIM] = {0};
  if (!na || (axes && pa) || nd > LSP_ONNX_MAXDIM || has_sym(axes)) return 0;
  for (size_t k = 0; k < na; k++) {
    int64_t a = axes ? axes->i[k] : pa->ints[k];
    if (a < 0) a += nd;
    if (a < 0 || a >= nd || one[a]++) return 0;
  }
  for (int k = 0; k < nd; k++) dims[k] = one[k] ? 1 : x->dims[at++];
  int r = shape_out(out, nd, dims);
  if (r > 0) memcpy(out->i, x->i, x->count * sizeof *x->i);
  return r;
}

/* Squeeze: the axes given (attribute up to opset 12, input after), each
 * of size 1, or every axis of size 1. */
static int squeeze(const LspOnnx__NodeProto *pn, const lsp_onnx_tensor *x,
                   const lsp_onnx_tensor *axes, lsp_onnx_tensor *out) {
  const LspOnnx__AttributeProto *pa = attr(pn, "axes");
  size_t na = axes ? axes->count : pa ? pa->n_ints : 0;
  int drop[LSP_ONNX_MAXDIM] = {0}, nd = 0;
  int64_t dims[LSP_ONNX_MAXDIM];
  if ((axes && pa) || has_sym(axes)) return 0;
  for (size_t k = 0; k < na; k++) {
    int64_t a = axes ? axes->i[k] : pa->ints[k];
    if (a < 0) a += x->ndim;
    if (a < 0 || a >= x->ndim || x->dims[a] != 1 || drop[a]++) return 0;
  }
  for (int k = 0; k < x->ndim; k++)
    if (!(na ? drop[k] : x->dims[k] == 1)) dims[nd++] = x->dims[k];
  int r = nd ? shape_out(out, nd, dims) : shape_out(out, 0, NULL);
  if (r > 0) memcpy(out->i, x->i, x->count * sizeof *x->i);
  return r;
}

int lsp_onnx_rd_fold(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                     const char *where, int *done) {
  *done = 0;
  int kind = fold_kind(lsp_onnx_str(pn->op_type));
  const lsp_onnx_tensor *a[8] = {NULL};
  size_t na = pn->n_input;
  if (kind < 0 || na > 8 || pn->n_output < 1) return LSP_OK;
  for (size_t k = 0; kind != F_SHAPE && k < na; k++) {
    const char *nm = lsp_onnx_str(pn->input[k]);
    if (!nm[0] && kind == F_SLICE && k >= 3) continue; /* optional */
    const char *r = lsp_onnx_rd_resolve(c, nm);
    if (!r || !(a[k] = lsp_onnx_rd_const(c, r)) ||
        (a[k]->dtype != LSP_ONNX_INT64 &&
         !(a[k]->dtype == LSP_ONNX_SHAPE_OF && k == 0 &&
           (kind == F_GATHER || kind == F_SLICE)) &&
         !(a[k]->dtype == LSP_ONNX_FLOAT && k == 0 && kind == F_TRANSPOSE)))
      return LSP_OK; /* not (yet) a constant */
    if (k > 0 && kind != F_CONCAT && has_sym(a[k]))
      return LSP_OK; /* N as a shape, index or bound */
  }
  if (kind == F_CONSTOFSHAPE && na == 1 && has_sym(a[0])) return LSP_OK;
  lsp_onnx_tensor out;
  memset(&out, 0, sizeof out);
  int r = 0;
  switch (kind) {
    case F_CONSTOFSHAPE:
      if (na == 1) r = const_of_shape(pn, a[0], where, &out);
      break;
    case F_CONCAT:
      if (na >= 1) r = concat(pn, a, na, &out);
      break;
    case F_RESHAPE:
      if (na == 2) r = reshape(a[0], a[1], &out);
      break;
    case F_SLICE:
      if (na >= 3 && na <= 5 &&
          (a[0]->dtype != LSP_ONNX_SHAPE_OF || slice_shape(a, na)))
        r = slice(a, na, &out);
      break;
    case F_TRANSPOSE:
      if (na == 1) r = transpose(pn, a[0], &out);
      break;
    case F_SHAPE:
      if (na == 1) r = shape_of(c, pn, &out);
      break;
    case F_GATHER:
      if (na == 2) r = gather_1d(pn, a[0], a[1], &out);
      break;
    case F_UNSQUEEZE:
      if (na == 1 || na == 2) r = unsqueeze(pn, a[0], na == 2 ? a[1] : NULL, &out);
      break;
    case F_SQUEEZE:
      if (na == 1 || na == 2) r = squeeze(pn, a[0], na == 2 ? a[1] : NULL, &out);
      break;
    default: { /* Cast to int64 */
      const LspOnnx__AttributeProto *to = attr(pn, "to");
      lsp_onnx_tensor *x = (lsp_onnx_tensor *)&out;
      if (na == 1 && to && to->i == 7 &&
          (r = shape_out(x, a[0]->ndim, a[0]->dims)) > 0)
        memcpy(x->i, a[0]->i, a[0]->count * sizeof *x->i);
    }
  }
  if (r == -2) return LSP_EDATA;
  if (r < 0) {
    lsp_onnx_tensor_release(&out);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
  }
  if (r == 0) {
    lsp_onnx_tensor_release(&out);
    return LSP_OK; /* left to the caller's refusal */
  }
  if (!(out.name = lsp_onnx_strdup(pn->output[0]))) {
    lsp_onnx_tensor_release(&out);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
  }
  *done = 1;
  return lsp_onnx_rd_add_const(c, &out, where);
}
