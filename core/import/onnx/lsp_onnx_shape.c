/* lsp_onnx_shape.c — every op's shape rule on the description: the output
 * shape from the inputs' shapes and the initializers' dimensions, and the
 * attribute values that only the shapes can judge (auto_pad SAME becomes
 * explicit pads here; ceil_mode is accepted where ONNX and PyTorch agree on
 * the windows; legacy broadcasting is validated). Called by lsp_onnx_check
 * for each node in topological order. */
#include <math.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_int.h"

static void shape_str(const lsp_onnx_shape *s, char *buf, size_t len) {
  lsp_onnx_ints_str(s->dims, (size_t)s->rank, buf, len);
}

static void dims_str(const lsp_onnx_tensor *t, char *buf, size_t len) {
  lsp_onnx_ints_str(t->dims, (size_t)t->ndim, buf, len);
}

static int dims_are(const lsp_onnx_tensor *t, int nd, int64_t a, int64_t b) {
  const int64_t want[2] = {a, b};
  if (t->ndim != nd) return 0;
  for (int k = 0; k < nd; k++)
    if (t->dims[k] != want[k]) return 0;
  return 1;
}

/* ---- windows (Conv, MaxPool, AveragePool) ------------------------------- */

/* The spatial sizes of x: H and W (1 for an N×C×L value). */
static int64_t side(const lsp_onnx_shape *x, int k) {
  return k == 0 ? x->dims[2] : x->rank == 4 ? x->dims[3] : 1;
}

/* The attributes fit the input's rank; auto_pad SAME_* becomes pads; the
 * output's spatial sizes. `pool` adds the pooling rules (pads smaller than
 * the window, ceil_mode). */
static int spatial(const char *path, lsp_onnx_node *nd, const lsp_onnx_shape *x,
                   lsp_onnx_shape *y, int pool) {
  int nsp = x->rank - 2;
  if (nd->nspatial && nd->nspatial != nsp)
    return lsp_onnx_node_fail(
        path, nd, "its attributes are %d-D but its input is rank %d (%d-D)",
        nd->nspatial, x->rank, nsp);
  nd->nspatial = nsp;
  for (int k = 0; k < 2; k++) {
    int64_t in = side(x, k), kk = nd->kernel[k], s = nd->strides[k],
            d = nd->dilations[k];
    if (kk < 1 || kk > LSP_ONNX_MAX_DIM || s < 1 || s > LSP_ONNX_MAX_DIM ||
        d < 1 || d > 1024)
      return lsp_onnx_node_fail(path, nd,
                                "kernel, strides or dilations out of range");
    int64_t keff = (kk - 1) * d + 1;
    if (nd->auto_pad >= LSP_ONNX_AUTO_SAME_UPPER) { /* out = ceil(in / s) */
      int64_t out = (in + s - 1) / s;
      int64_t total = (out - 1) * s + keff - in;
      if (total < 0) total = 0;
      int64_t small = total / 2, big = total - small;
      int upper = nd->auto_pad == LSP_ONNX_AUTO_SAME_UPPER;
      nd->pads[k] = upper ? small : big;
      nd->pads[k + 2] = upper ? big : small;
    }
    int64_t p0 = nd->pads[k], p1 = nd->pads[k + 2];
    if (p0 < 0 || p0 > LSP_ONNX_MAX_DIM || p1 < 0 || p1 > LSP_ONNX_MAX_DIM)
      return lsp_onnx_node_fail(path, nd, "pads out of range");
    if (pool && p1 >= kk && p0 < kk && in + p0 + p1 >= keff) {
      /* end padding no window reaches (PyTorch writes ceil_mode as extra
       * end padding up to opset 9) is dropped: the windows stay */
      int64_t sp = in + p0 + p1 - keff;
      int64_t n = (nd->ceil_mode ? (sp + s - 1) / s : sp / s) + 1;
      int64_t need = (n - 1) * s + keff - in - p0;
      if ((n - 1) * s < in + p0 && need < p1)
        nd->pads[k + 2] = p1 = need < 0 ? 0 : need;
    }
    if (pool && (p0 >= kk || p1 >= kk))
      return lsp_onnx_node_fail(
          path, nd,
          "pads must be smaller than the kernel (a window "
          "would lie in the padding only)");
    int64_t span = in + p0 + p1 - keff;
    if (span < 0)
      return lsp_onnx_node_fail(
          path, nd,
          "the kernel (%lld × %lld) is larger than the padded "
          "input (%lld × %lld)",
          (long long)((nd->kernel[0] - 1) * nd->dilations[0] + 1),
          (long long)((nd->kernel[1] - 1) * nd->dilations[1] + 1),
          (long long)(side(x, 0) + nd->pads[0] + nd->pads[2]),
          (long long)(side(x, 1) + nd->pads[1] + nd->pads[3]));
    int64_t out = span / s + 1;
    if (pool && nd->ceil_mode) {
      out = (span + s - 1) / s + 1;
      /* PyTorch (and lsprobe) drop a last window that starts in the end
       * padding; ONNX 1.12's shape rule keeps it. Accepted where they
       * agree. */
      if ((out - 1) * s >= in + p0)
        return lsp_onnx_node_fail(
            path, nd,
            "ceil_mode = 1 with a last window that starts in the "
            "padding (ONNX and PyTorch disagree on it)");
    }
    if (k < nsp) y->dims[2 + k] = out;
  }
  nd->auto_pad = LSP_ONNX_AUTO_NOTSET;
  return LSP_OK;
}

static int infer_conv(const char *path, lsp_onnx_node *nd,
                      const lsp_onnx_shape *x, const lsp_onnx_tensor *w,
                      const lsp_onnx_tensor *b, lsp_onnx_shape *y) {
  char db[128];
  int64_t g = nd->group, c = x->dims[1];
  if (g < 1 || g > c || c % g != 0)
    return lsp_onnx_node_fail(path, nd,
                              "group = %lld does not divide the %lld channels",
                              (long long)g, (long long)c);
  if (w->ndim != x->rank || w->dims[1] * g != c || w->dims[0] % g != 0)
    return dims_str(w, db, sizeof db),
           lsp_onnx_node_fail(
               path, nd,
               "weight '%s' %s does not fit an input of %lld "
               "channels in %lld group%s (M × C/group × kernel, M a "
               "multiple of the groups)",
               w->name, db, (long long)c, (long long)g, g > 1 ? "s" : "");
  int64_t kh = w->dims[2], kw = x->rank == 4 ? w->dims[3] : 1;
  if (nd->kernel[0] == 0 && nd->kernel[1] == 0) {
    nd->kernel[0] = kh;
    nd->kernel[1] = kw;
  } else if (nd->kernel[0] != kh || nd->kernel[1] != kw) {
    return lsp_onnx_node_fail(
        path, nd, "kernel_shape disagrees with the weight '%s'", w->name);
  }
  if (b && !dims_are(b, 1, w->dims[0], 0))
    return dims_str(b, db, sizeof db),
           lsp_onnx_node_fail(path, nd, "bias '%s' %s is not [%lld]", b->name,
                              db, (long long)w->dims[0]);
  y->dims[1] = w->dims[0];
  return spatial(path, nd, x, y, 0);
}

static int infer_dense(const char *path, lsp_onnx_node *nd,
                       const lsp_onnx_shape *x, const lsp_onnx_tensor *w,
                       const lsp_onnx_tensor *b, lsp_onnx_shape *y) {
  int tb = nd->op == LSP_ONNX_GEMM && nd->trans_b;
  char db[128];
  if (!isfinite(nd->alpha) || !isfinite(nd->beta))
    return lsp_onnx_node_fail(path, nd, "alpha and beta must be finite");
  if (w->ndim == 1 && nd->op == LSP_ONNX_MATMUL)
    return lsp_onnx_node_fail(
        path, nd,
        "'%s' is a vector [%lld]: MatMul by a rank-1 operand drops the "
        "last axis (N × %lld · [%lld] is N), which is no layer of features "
        "or logits; lsprobe reads a MatMul by a matrix [K, M] (one output: "
        "[%lld, 1])",
        w->name, (long long)w->dims[0], (long long)x->dims[1],
        (long long)w->dims[0], (long long)w->dims[0]);
  if (w->ndim != 2 || w->dims[tb ? 1 : 0] != x->dims[1])
    return dims_str(w, db, sizeof db),
           lsp_onnx_node_fail(
               path, nd, "'%s' %s does not fit an input of %lld features%s",
               w->name, db, (long long)x->dims[1],
               tb ? " (transB: M × K)" : " (K × M)");
  int64_t mo = w->dims[tb ? 0 : 1];
  if (b && nd->legacy_bcast == 0 && !(dims_are(b, 2, 1, mo) && x->dims[0] == 1))
    return lsp_onnx_node_fail(
        path, nd,
        "broadcast = 0 (opset <= 6): C must have the output's "
        "shape, one bias per example");
  if (b && !(b->ndim == 0 || dims_are(b, 1, 1, 0) || dims_are(b, 1, mo, 0) ||
             dims_are(b, 2, 1, mo) || dims_are(b, 2, 1, 1)))
    return dims_str(b, db, sizeof db),
           lsp_onnx_node_fail(
               path, nd,
               "bias '%s' %s is not per output ([%lld], [1, %lld] "
               "or a scalar)",
               b->name, db, (long long)mo, (long long)mo);
  nd->legacy_bcast = -1;
  y->dims[1] = mo;
  return LSP_OK;
}

/* ---- Add, Sub, Mul, Div ------------------------------------------------- */

/* 1 when constant t, broadcast against a value of shape x (numpy: aligned
 * at the right), varies along the channels (dims[1]) at most. */
int lsp_onnx_per_channel(const lsp_onnx_tensor *t, const lsp_onnx_shape *x) {
  int off = x->rank - t->ndim;
  if (off < 0) return 0;
  for (int j = 0; j < t->ndim; j++)
    if (t->dims[j] != 1 && !(off + j == 1 && t->dims[j] == x->dims[1]))
      return 0;
  return 1;
}

/* 1 when g is a per-channel gate of x: the same rank (3 or 4), batch and
 * channels, every spatial dimension 1 (and x not all 1 there). */
static int gate_of(const lsp_onnx_shape *x, const lsp_onnx_shape *g) {
  if (x->rank != g->rank || x->rank < 3 || x->dims[0] != g->dims[0] ||
      x->dims[1] != g->dims[1])
    return 0;
  int ones = 1;
  for (int k = 2; k < x->rank; k++) {
    if (g->dims[k] != 1) return 0;
    ones &= x->dims[k] == 1;
  }
  return !ones;
}

static int infer_arith(const char *path, lsp_onnx_node *nd,
                       const lsp_onnx_shape *a, const lsp_onnx_shape *b,
                       const lsp_onnx_tensor *t, int t_first) {
  char sa[128], sb[128];
  const char *op = lsp_onnx_op_name(nd->op);
  if (!t) { /* two values */
    int same = a->rank == b->rank;
    for (int k = 0; same && k < a->rank; k++) same = a->dims[k] == b->dims[k];
    if (nd->op != LSP_ONNX_ADD && nd->op != LSP_ONNX_MUL)
      return lsp_onnx_node_fail(
          path, nd,
          "both operands are computed; lsprobe %s only by "
          "constants",
          nd->op == LSP_ONNX_SUB ? "subtracts" : "divides");
    if (same) return nd->legacy_bcast = -1, LSP_OK;
    /* Mul: N×C×H×W by a gate N×C×1×1 (either order) */
    const lsp_onnx_shape *big = gate_of(a, b) ? a : b;
    if (nd->op == LSP_ONNX_MUL && (gate_of(a, b) || gate_of(b, a))) {
      nd->out = *big;
      return nd->legacy_bcast = -1, LSP_OK;
    }
    shape_str(a, sa, sizeof sa);
    shape_str(b, sb, sizeof sb);
    return lsp_onnx_node_fail(
        path, nd,
        "operands %s and %s differ in shape (no broadcasting between values%s)",
        sa, sb,
        nd->op == LSP_ONNX_MUL ? " but a per-channel gate [N, C, 1, 1]" : "");
  }
  if (nd->op == LSP_ONNX_DIV && t_first)
    return lsp_onnx_node_fail(
        path, nd,
        "divides the constant '%s' by a value; lsprobe divides "
        "values by constants only",
        t->name);
  int scalar = 1;
  for (int j = 0; j < t->ndim; j++) scalar &= t->dims[j] == 1;
  if (nd->legacy_bcast == 0) { /* opset <= 6 without broadcast: one shape */
    int same = t->ndim == a->rank && t->dims[0] == a->dims[0];
    for (int k = 1; same && k < a->rank; k++) same = t->dims[k] == a->dims[k];
    if (!same)
      return lsp_onnx_node_fail(
          path, nd,
          "broadcast = 0 (opset <= 6) needs operands of one shape; "
          "'%s' differs",
          t->name);
  }
  if (nd->legacy_bcast == 1 && nd->legacy_axis >= 0 && !scalar &&
      nd->legacy_axis != a->rank - t->ndim)
    return lsp_onnx_node_fail(
        path, nd,
        "broadcast axis %lld (opset <= 6) aligns '%s' otherwise than "
        "ONNX's later (numpy) rule; not supported",
        (long long)nd->legacy_axis, t->name);
  nd->legacy_bcast = -1;
  nd->legacy_axis = -1;
  if (lsp_onnx_per_channel(t, a)) return LSP_OK;
  /* between a channels-last input and its Transpose (lsp_onnx_transpose.c):
   * per channel along the last axis */
  if (nd->nhwc && a->rank == 4 && lsp_onnx_last_axis(t, a->dims[3]))
    return LSP_OK;
  dims_str(t, sb, sizeof sb);
  return lsp_onnx_node_fail(
      path, nd,
      "constant '%s' %s is not per-channel: lsprobe's %s takes a "
      "constant that broadcasts over everything but the channels "
      "(%s, or a scalar)",
      t->name, sb, op,
      a->rank == 2 ? "[D] or [1, D]" : "[C, 1, 1] or [1, C, 1, 1]");
}

/* ---- Concat, ReduceMean, ReduceMax --------------------------------------- */

/* Along the channels (axis 1, or 1 − rank): every other dimension agrees. */
static int infer_concat(const char *path, lsp_onnx_node *nd,
                        const lsp_onnx_node_inputs *in, lsp_onnx_shape *y) {
  const lsp_onnx_shape *x = &in->shape[0];
  char sa[128], sb[128];
  if (nd->axis != 1 && nd->axis != 1 - x->rank)
    return lsp_onnx_node_fail(
        path, nd,
        "axis %lld: lsprobe concatenates along the channels only (axis 1%s)",
        (long long)nd->axis,
        x->rank == 4   ? " or -3; not the batch, height or width"
        : x->rank == 2 ? " or -1 on N × D; not the batch"
                       : " or -2; not the batch or length");
  nd->axis = 1;
  for (int j = 1; j < in->nvalues; j++) {
    const lsp_onnx_shape *b = &in->shape[j];
    int same = b->rank == x->rank;
    for (int k = 0; same && k < x->rank; k++)
      same = k == 1 || b->dims[k] == x->dims[k];
    if (!same)
      return shape_str(x, sa, sizeof sa), shape_str(b, sb, sizeof sb),
             lsp_onnx_node_fail(path, nd,
                                "input %d %s does not fit input 0 %s (all "
                                "dimensions but the channels must agree)",
                                j, sb, sa);
    y->dims[1] += b->dims[1];
    if (y->dims[1] > LSP_ONNX_MAX_DIM)
      return lsp_onnx_node_fail(path, nd, "too many channels");
  }
  return LSP_OK;
}

/* ReduceMean, ReduceMax over spatial axes (in any order and sign): every
 * one (N × C with keepdims 0, else N × C × 1 × 1), or some (the reduced
 * axes 1 wide, or gone with keepdims 0; the lowering takes these only when
 * a second reduction over the rest follows). */
static int infer_reduce(const char *path, const lsp_onnx_node *nd,
                        const lsp_onnx_shape *x, lsp_onnx_shape *y) {
  int seen[4] = {0, 0, 0, 0}, ok = nd->naxes > 0 && x->rank > 2;
  for (int k = 0; ok && k < nd->naxes; k++) {
    int64_t a = nd->axes[k] < 0 ? nd->axes[k] + x->rank : nd->axes[k];
    ok = a >= 2 && a < x->rank && !seen[a];
    if (ok) seen[a] = 1;
  }
  if (!ok) {
    char sb[128];
    int mean = nd->op == LSP_ONNX_REDUCEMEAN;
    lsp_onnx_ints_str(nd->axes, (size_t)nd->naxes, sb, sizeof sb);
    return lsp_onnx_node_fail(
        path, nd,
        "axes %s of a rank-%d input: lsprobe %s over the spatial axes "
        "only (%s; global %s pooling)",
        nd->naxes ? sb : "(all)", x->rank,
        mean ? "averages" : "takes the maximum",
        x->rank == 4   ? "[2, 3] or [-2, -1], or one then the other"
        : x->rank == 3 ? "[2] or [-1]"
                       : "an N × D input has none",
        mean ? "average" : "max");
  }
  y->rank = 2;
  for (int k = 2; k < x->rank; k++)
    if (!seen[k])
      y->dims[y->rank++] = x->dims[k];
    else if (nd->keepdims)
      y->dims[y->rank++] = 1;
  return LSP_OK;
}

/* ---- the rest ------------------------------------------------------------ */

static int infer_bn(const char *path, const lsp_onnx_node *nd,
                    const lsp_onnx_shape *x,
                    const lsp_onnx_tensor *const *init) {
  if (!isfinite(nd->epsilon) || nd->epsilon < 0)
    return lsp_onnx_node_fail(path, nd, "epsilon must be finite and >= 0");
  for (int j = 1; j < 5; j++)
    if (!dims_are(init[j], 1, x->dims[1], 0))
      return lsp_onnx_node_fail(path, nd,
                                "'%s' is not a vector of %lld channels",
                                init[j]->name, (long long)x->dims[1]);
  const lsp_onnx_tensor *var = init[4];
  for (size_t k = 0; k < var->count; k++)
    if (!((double)var->f[k] + nd->epsilon > 0))
      return lsp_onnx_node_fail(path, nd,
                                "variance '%s'[%zu] + epsilon is not positive",
                                var->name, k);
  return LSP_OK;
}

/* The target keeps the batch first and the per-example size. */
static int infer_reshape(const char *path, const lsp_onnx_node *nd,
                         const lsp_onnx_shape *x, lsp_onnx_shape *y) {
  int64_t per = 1, known = 1, infer_at = -1;
  char sb[128];
  lsp_onnx_ints_str(nd->shape, (size_t)nd->shape_rank, sb, sizeof sb);
  for (int k = 1; k < x->rank; k++) per *= x->dims[k];
  if (nd->shape_rank < 2 || nd->shape_rank > 4)
    return lsp_onnx_node_fail(path, nd, "shape %s has %d entries (2 to 4)", sb,
                              nd->shape_rank);
  y->rank = nd->shape_rank;
  for (int k = 0; k < nd->shape_rank; k++) {
    int64_t v = nd->shape[k];
    if (v == 0 && k == 0) continue; /* the batch, copied */
    if (v == 0) {
      if (k >= x->rank)
        return lsp_onnx_node_fail(
            path, nd, "shape %s copies dimension %d of a rank-%d input", sb, k,
            x->rank);
      v = x->dims[k];
    }
    if (v == -1) {
      if (infer_at >= 0)
        return lsp_onnx_node_fail(path, nd, "shape %s has two -1 entries", sb);
      infer_at = k;
    } else if (k > 0) {
      if (v < 1)
        return lsp_onnx_node_fail(path, nd, "shape %s: bad entry %lld", sb,
                                  (long long)v);
      known *= v;
      if (known > LSP_ONNX_MAX_ACT)
        return lsp_onnx_node_fail(path, nd, "shape %s is too large", sb);
    } else if (x->dims[0] == -1 || v != x->dims[0]) {
      return lsp_onnx_node_fail(
          path, nd,
          "shape %s: the first entry must keep the batch (0, -1, or "
          "the fixed batch size)",
          sb);
    }
    y->dims[k] = v;
  }
  if (infer_at == 0) { /* N inferred: the rest must be the example */
    if (known != per)
      return lsp_onnx_node_fail(
          path, nd,
          "shape %s changes the batch size (%lld values per example "
          "become %lld)",
          sb, (long long)per, (long long)known);
    y->dims[0] = x->dims[0];
  } else if (infer_at > 0) {
    if (per % known != 0)
      return lsp_onnx_node_fail(
          path, nd, "shape %s does not divide %lld values per example", sb,
          (long long)per);
    y->dims[infer_at] = per / known;
  } else if (known != per) {
    return lsp_onnx_node_fail(
        path, nd, "shape %s holds %lld values per example, not %lld", sb,
        (long long)known, (long long)per);
  }
  y->dims[0] = x->dims[0];
  return LSP_OK;
}

static int infer_pad(const char *path, lsp_onnx_node *nd,
                     const lsp_onnx_shape *x, lsp_onnx_shape *y) {
  if (nd->nspatial && nd->nspatial != x->rank - 2)
    return lsp_onnx_node_fail(path, nd, "%d pads for a rank-%d input",
                              nd->nspatial == 2 ? 8 : 6, x->rank);
  nd->nspatial = x->rank - 2;
  for (int k = 0; k < 4; k++) {
    if (nd->pads[k] < 0 || nd->pads[k] > LSP_ONNX_MAX_DIM)
      return lsp_onnx_node_fail(path, nd, "pads out of range");
    if (nd->pad_mode == LSP_ONNX_PAD_REFLECT && nd->pads[k] > 0 &&
        nd->pads[k] >= side(x, k % 2))
      return lsp_onnx_node_fail(
          path, nd,
          "reflect pads must be smaller than the image (%lld >= "
          "%lld)",
          (long long)nd->pads[k], (long long)side(x, k % 2));
  }
  y->dims[2] += nd->pads[0] + nd->pads[2];
  if (x->rank == 4) y->dims[3] += nd->pads[1] + nd->pads[3];
  return LSP_OK;
}

int lsp_onnx_infer(const char *path, lsp_onnx_node *nd,
                   const lsp_onnx_node_inputs *in) {
  const lsp_onnx_shape *x = &in->shape[0];
  lsp_onnx_shape *y = &nd->out;
  *y = *x;
  int spat = nd->op == LSP_ONNX_CONV || nd->op == LSP_ONNX_MAXPOOL ||
             nd->op == LSP_ONNX_AVGPOOL || nd->op == LSP_ONNX_GLOBALAVGPOOL ||
             nd->op == LSP_ONNX_GLOBALMAXPOOL || nd->op == LSP_ONNX_PAD;
  int dense = nd->op == LSP_ONNX_GEMM || nd->op == LSP_ONNX_MATMUL;
  if ((spat && x->rank < 3) || (dense && x->rank != 2))
    return lsp_onnx_node_fail(
        path, nd, "needs an input of rank %s, got rank %d",
        spat ? "3 or 4 (N × C × L or N × C × H × W)" : "2 (N × features)",
        x->rank);
  int st = LSP_OK;
  switch (nd->op) {
    case LSP_ONNX_CONV:
      st = infer_conv(path, nd, x, in->init[1], in->init[2], y);
      break;
    case LSP_ONNX_GEMM:
    case LSP_ONNX_MATMUL:
      st = infer_dense(path, nd, x, in->init[1], in->init[2], y);
      break;
    case LSP_ONNX_ADD:
    case LSP_ONNX_SUB:
    case LSP_ONNX_MUL:
    case LSP_ONNX_DIV:
      st = infer_arith(path, nd, x, &in->shape[1], in->const_arg,
                       in->const_first);
      break;
    case LSP_ONNX_MAXPOOL:
    case LSP_ONNX_AVGPOOL:
      st = spatial(path, nd, x, y, 1);
      break;
    case LSP_ONNX_GLOBALAVGPOOL:
    case LSP_ONNX_GLOBALMAXPOOL:
      y->dims[2] = y->dims[3] = 1;
      break;
    case LSP_ONNX_BATCHNORM:
      st = infer_bn(path, nd, x, in->init);
      break;
    case LSP_ONNX_FLATTEN:
      if (nd->axis != 1 && nd->axis != 1 - x->rank)
        return lsp_onnx_node_fail(
            path, nd,
            "axis %lld: only axis 1 (N × features) keeps the "
            "batch apart",
            (long long)nd->axis);
      y->rank = 2;
      for (int k = 2; k < x->rank; k++) y->dims[1] *= x->dims[k];
      break;
    case LSP_ONNX_RESHAPE: /* one read from a Squeeze, Gather or Slice:
                              placed first (lsp_onnx_pick.c) */
      if (!nd->pick.pending ||
          (st = lsp_onnx_pick_place(path, nd, x)) == LSP_OK)
        st = infer_reshape(path, nd, x, y);
      break;
    case LSP_ONNX_PAD:
      st = infer_pad(path, nd, x, y);
      break;
    case LSP_ONNX_CONCAT:
      st = infer_concat(path, nd, in, y);
      break;
    case LSP_ONNX_REDUCEMEAN:
    case LSP_ONNX_REDUCEMAX:
      st = infer_reduce(path, nd, x, y);
      break;
    case LSP_ONNX_TRANSPOSE:
      st = lsp_onnx_transpose_infer(path, nd, x, y);
      break;
    default: /* Relu and the other activations: the same shape */
      break;
  }
  if (st != LSP_OK) return st;
  int64_t per = 1;
  for (int k = 1; k < y->rank; k++) per *= y->dims[k];
  if (per > LSP_ONNX_MAX_ACT)
    return lsp_onnx_node_fail(
        path, nd, "the output has %lld values per example; too many",
        (long long)per);
  return LSP_OK;
}
