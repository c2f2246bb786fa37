/* lsp_onnx_check.c — validation and shape inference of an ONNX description:
 * names, topological order, pruning, and every op's shape rule. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_int.h"

enum { SRC_NONE = 0, SRC_INPUT, SRC_INIT, SRC_NODE };

typedef struct {
  lsp_onnx_model *m;
  const char *path;
  lsp_onnx_map inits; /* name -> initializer index */
  lsp_onnx_map prod;  /* name -> producing node index */
} cctx;

static int nfail(const cctx *c, const lsp_onnx_node *nd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int nfail(const cctx *c, const lsp_onnx_node *nd, const char *fmt, ...) {
  char where[512], msg[768];
  lsp_onnx_where(where, sizeof where, c->path, nd->name, nd->index,
                 lsp_onnx_op_name(nd->op));
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return lsp_fail(LSP_EDATA, "%s: %s", where, msg);
}

static int source(const cctx *c, const char *name, size_t *idx) {
  if (!strcmp(name, c->m->input)) return SRC_INPUT;
  if (lsp_onnx_map_get(&c->inits, name, idx)) return SRC_INIT;
  if (lsp_onnx_map_get(&c->prod, name, idx)) return SRC_NODE;
  return SRC_NONE;
}

/* 1 for the slots that take a value computed by the graph, 0 for those that
 * take an initializer, -1 for either (Add). */
static int value_slot(lsp_onnx_op op, int j) {
  if (op == LSP_ONNX_ADD) return -1;
  return j == 0;
}

static void shape_str(const lsp_onnx_shape *s, char *buf, size_t len) {
  lsp_onnx_ints_str(s->dims, (size_t)s->rank, buf, len);
}

static int build_maps(cctx *c) {
  lsp_onnx_model *m = c->m;
  if (!m->input || !m->input[0] || !m->output || !m->output[0])
    return lsp_fail(LSP_EDATA, "%s: the graph input or output has no name",
                    c->path);
  const lsp_onnx_shape *s = &m->in_shape;
  int ok = s->rank == 2 || s->rank == 4;
  int64_t per = 1;
  for (int k = 0; ok && k < s->rank; k++) {
    ok = k == 0 ? (s->dims[0] == -1 ||
                   (s->dims[0] >= 1 && s->dims[0] <= LSP_ONNX_MAX_DIM))
                : (s->dims[k] >= 1 && s->dims[k] <= LSP_ONNX_MAX_DIM);
    if (k) per *= s->dims[k];
  }
  if (!ok || per > LSP_ONNX_MAX_ACT)
    return lsp_fail(LSP_EDATA,
                    "%s: graph input '%s': shape of rank %d is "
                    "not N × D or N × C × H × W",
                    c->path, m->input, s->rank);
  if (lsp_onnx_map_init(&c->inits, m->ninits) < 0 ||
      lsp_onnx_map_init(&c->prod, m->nnodes) < 0)
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  for (size_t k = 0; k < m->ninits; k++) {
    const lsp_onnx_tensor *t = &m->inits[k];
    size_t count = 1;
    for (int d = 0; d < t->ndim && d < 4; d++) {
      int fits = t->dims[d] >= 1 && t->dims[d] <= LSP_ONNX_MAX_COUNT;
      count = fits ? count * (size_t)t->dims[d] : 0;
      if (count > (size_t)LSP_ONNX_MAX_COUNT) count = 0;
    }
    if (!t->name || !t->name[0] || t->dtype != LSP_ONNX_FLOAT || !t->f ||
        t->ndim < 0 || t->ndim > 4 || count != t->count)
      return lsp_fail(LSP_EDATA,
                      "%s: initializer '%s' is not a float32 "
                      "tensor of rank <= 4",
                      c->path, t->name ? t->name : "");
    if (lsp_onnx_map_put(&c->inits, t->name, k, NULL) != 0 ||
        !strcmp(t->name, m->input))
      return lsp_fail(LSP_EDATA, "%s: initializer '%s' is defined twice",
                      c->path, t->name);
  }
  return LSP_OK;
}

static int build_producers(cctx *c) {
  lsp_onnx_model *m = c->m;
  lsp_onnx_map_free(&c->prod);
  if (lsp_onnx_map_init(&c->prod, m->nnodes) < 0)
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  for (size_t k = 0; k < m->nnodes; k++) {
    const lsp_onnx_node *nd = &m->nodes[k];
    size_t other;
    if (!nd->output || !nd->output[0]) return nfail(c, nd, "no output");
    if (lsp_onnx_map_get(&c->inits, nd->output, NULL) ||
        !strcmp(nd->output, m->input))
      return nfail(c, nd,
                   "output '%s' has the name of an initializer or of "
                   "the graph input",
                   nd->output);
    int r = lsp_onnx_map_put(&c->prod, nd->output, k, &other);
    if (r < 0) return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
    if (r == 1)
      return nfail(c, nd, "output '%s' is produced twice", nd->output);
  }
  return LSP_OK;
}

/* Names resolve, each slot gets the kind of source it needs, inputs counts
 * fit the op. */
static int check_inputs(const cctx *c) {
  static const int lo[] = {0, 2, 2, 2, 2, 1, 1, 1, 1, 5, 1, 1, 1};
  static const int hi[] = {0, 3, 3, 2, 2, 1, 1, 1, 1, 5, 1, 1, 1};
  for (size_t k = 0; k < c->m->nnodes; k++) {
    const lsp_onnx_node *nd = &c->m->nodes[k];
    if ((int)nd->op < LSP_ONNX_CONV || (int)nd->op > LSP_ONNX_PAD)
      return lsp_fail(LSP_EDATA, "%s: node %zu has an invalid op", c->path, k);
    if (nd->ninputs < lo[nd->op] || nd->ninputs > hi[nd->op])
      return nfail(c, nd, "%d inputs", nd->ninputs);
    int nvalues = 0;
    for (int j = 0; j < nd->ninputs; j++) {
      const char *in = nd->inputs[j] ? nd->inputs[j] : "";
      int src = source(c, in, NULL), want = value_slot(nd->op, j);
      if (src == SRC_NONE)
        return nfail(c, nd,
                     "input '%s' is not the graph input, an "
                     "initializer or any node's output",
                     in);
      nvalues += src != SRC_INIT;
      if (want == 1 && src == SRC_INIT)
        return nfail(c, nd,
                     "input '%s' is a constant; lsprobe computes ops "
                     "on data from the graph input only",
                     in);
      if (want == 0 && src != SRC_INIT)
        return nfail(c, nd,
                     "input %d ('%s') must be an initializer (weights "
                     "computed by the graph are not supported)",
                     j, in);
    }
    if (nd->op == LSP_ONNX_ADD && nvalues == 0)
      return nfail(c, nd, "both operands are constants");
  }
  return LSP_OK;
}

/* Nodes into topological order (kept as is when already ordered). */
static int order_nodes(cctx *c) {
  lsp_onnx_model *m = c->m;
  size_t n = m->nnodes, p;
  int sorted = 1;
  for (size_t k = 0; k < n && sorted; k++)
    for (int j = 0; j < m->nodes[k].ninputs; j++)
      if (source(c, m->nodes[k].inputs[j], &p) == SRC_NODE && p >= k)
        sorted = 0;
  if (sorted) return LSP_OK;
  size_t *indeg = calloc(n, sizeof *indeg), *queue = malloc(n * sizeof *queue);
  lsp_onnx_node *out = malloc(n * sizeof *out);
  int st = LSP_OK;
  if (!indeg || !queue || !out) {
    st = lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
    goto done;
  }
  for (size_t k = 0; k < n; k++)
    for (int j = 0; j < m->nodes[k].ninputs; j++)
      if (source(c, m->nodes[k].inputs[j], &p) == SRC_NODE) indeg[k]++;
  size_t head = 0, tail = 0;
  for (size_t k = 0; k < n; k++)
    if (!indeg[k]) queue[tail++] = k;
  while (head < tail) { /* Kahn: consumers of a node lose one dependency */
    size_t k = queue[head++];
    for (size_t q = 0; q < n; q++)
      for (int j = 0; j < m->nodes[q].ninputs; j++)
        if (!strcmp(m->nodes[q].inputs[j], m->nodes[k].output) &&
            --indeg[q] == 0)
          queue[tail++] = q;
  }
  if (tail < n) {
    for (size_t k = 0; k < n; k++)
      if (indeg[k]) {
        st = nfail(c, &m->nodes[k], "is part of a cycle (or depends on one)");
        goto done;
      }
  }
  for (size_t k = 0; k < n; k++) out[k] = m->nodes[queue[k]];
  memcpy(m->nodes, out, n * sizeof *out);
  st = build_producers(c);
done:
  free(indeg);
  free(queue);
  free(out);
  return st;
}

/* Drop nodes whose output does not lead to the graph output. */
static int prune(cctx *c) {
  lsp_onnx_model *m = c->m;
  size_t p, n = m->nnodes;
  int src = source(c, m->output, &p);
  if (src != SRC_NODE)
    return lsp_fail(LSP_EDATA,
                    "%s: the graph output '%s' is %s; lsprobe "
                    "needs at least one op between input and output",
                    c->path, m->output,
                    src == SRC_INPUT  ? "the graph input itself"
                    : src == SRC_INIT ? "a constant"
                                      : "not computed by any node");
  unsigned char *keep = calloc(n, 1);
  if (!keep) return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  keep[p] = 1;
  for (size_t k = n; k-- > 0;) {
    if (!keep[k]) continue;
    for (int j = 0; j < m->nodes[k].ninputs; j++)
      if (source(c, m->nodes[k].inputs[j], &p) == SRC_NODE) keep[p] = 1;
  }
  size_t w = 0;
  for (size_t k = 0; k < n; k++) {
    if (keep[k]) {
      m->nodes[w++] = m->nodes[k];
      continue;
    }
    free(m->nodes[k].name);
    free(m->nodes[k].output);
    for (int j = 0; j < LSP_ONNX_MAXIN; j++) free(m->nodes[k].inputs[j]);
  }
  m->nnodes = w;
  free(keep);
  return w == n ? LSP_OK : build_producers(c);
}

/* ---- shapes ---------------------------------------------------------------
 */

static const lsp_onnx_tensor *init_of(const cctx *c, const lsp_onnx_node *nd,
                                      int j) {
  size_t i;
  if (j >= nd->ninputs || source(c, nd->inputs[j], &i) != SRC_INIT) return NULL;
  return &c->m->inits[i];
}

static int dims_are(const lsp_onnx_tensor *t, int nd, int64_t a, int64_t b,
                    int64_t d2, int64_t d3) {
  const int64_t want[4] = {a, b, d2, d3};
  if (t->ndim != nd) return 0;
  for (int k = 0; k < nd; k++)
    if (t->dims[k] != want[k]) return 0;
  return 1;
}

static int tensor_dims_str(const lsp_onnx_tensor *t, char *buf, size_t len) {
  lsp_onnx_ints_str(t->dims, (size_t)t->ndim, buf, len);
  return 0;
}

/* Output size of a sliding window; -1 when the window does not fit. */
static int64_t window(int64_t in, int64_t k, int64_t s, int64_t p0,
                      int64_t p1) {
  int64_t span = in + p0 + p1 - k;
  return span < 0 ? -1 : span / s + 1;
}

static int spatial(const cctx *c, const lsp_onnx_node *nd,
                   const lsp_onnx_shape *x, lsp_onnx_shape *y, int pool) {
  for (int k = 0; k < 2; k++) {
    if (nd->kernel[k] < 1 || nd->kernel[k] > LSP_ONNX_MAX_DIM ||
        nd->strides[k] < 1 || nd->strides[k] > LSP_ONNX_MAX_DIM)
      return nfail(c, nd, "kernel or strides out of range");
    for (int e = 0; e < 2; e++) {
      int64_t pd = nd->pads[k + 2 * e];
      if (pd < 0 || pd > LSP_ONNX_MAX_DIM)
        return nfail(c, nd, "pads out of range");
      if (pool && pd >= nd->kernel[k])
        return nfail(c, nd,
                     "pads must be smaller than the kernel (a window "
                     "would lie in the padding only)");
    }
    y->dims[2 + k] = window(x->dims[2 + k], nd->kernel[k], nd->strides[k],
                            nd->pads[k], nd->pads[k + 2]);
    if (y->dims[2 + k] < 1)
      return nfail(c, nd,
                   "the kernel (%lld × %lld) is larger than the padded "
                   "input (%lld × %lld)",
                   (long long)nd->kernel[0], (long long)nd->kernel[1],
                   (long long)(x->dims[2] + nd->pads[0] + nd->pads[2]),
                   (long long)(x->dims[3] + nd->pads[1] + nd->pads[3]));
  }
  return LSP_OK;
}

static int infer_conv(const cctx *c, lsp_onnx_node *nd, const lsp_onnx_shape *x,
                      lsp_onnx_shape *y) {
  const lsp_onnx_tensor *w = init_of(c, nd, 1), *b = init_of(c, nd, 2);
  char db[128];
  if (w->ndim != 4 || w->dims[1] != x->dims[1])
    return tensor_dims_str(w, db, sizeof db),
           nfail(c, nd,
                 "weight '%s' %s does not fit an input of %lld "
                 "channels (M × C × kH × kW, groups of 1)",
                 w->name, db, (long long)x->dims[1]);
  if (nd->kernel[0] == 0 && nd->kernel[1] == 0) {
    nd->kernel[0] = w->dims[2];
    nd->kernel[1] = w->dims[3];
  } else if (nd->kernel[0] != w->dims[2] || nd->kernel[1] != w->dims[3]) {
    return nfail(c, nd,
                 "kernel_shape [%lld, %lld] disagrees with the weight "
                 "'%s'",
                 (long long)nd->kernel[0], (long long)nd->kernel[1], w->name);
  }
  if (b && !dims_are(b, 1, w->dims[0], 0, 0, 0))
    return tensor_dims_str(b, db, sizeof db),
           nfail(c, nd, "bias '%s' %s is not [%lld]", b->name, db,
                 (long long)w->dims[0]);
  y->dims[1] = w->dims[0];
  return spatial(c, nd, x, y, 0);
}

static int infer_dense(const cctx *c, const lsp_onnx_node *nd,
                       const lsp_onnx_shape *x, lsp_onnx_shape *y) {
  const lsp_onnx_tensor *w = init_of(c, nd, 1), *b = init_of(c, nd, 2);
  int tb = nd->op == LSP_ONNX_GEMM && nd->trans_b;
  char db[128];
  if (!isfinite(nd->alpha) || !isfinite(nd->beta))
    return nfail(c, nd, "alpha and beta must be finite");
  if (w->ndim != 2 || w->dims[tb ? 1 : 0] != x->dims[1])
    return tensor_dims_str(w, db, sizeof db),
           nfail(c, nd, "'%s' %s does not fit an input of %lld features%s",
                 w->name, db, (long long)x->dims[1],
                 tb ? " (transB: M × K)" : " (K × M)");
  int64_t mo = w->dims[tb ? 0 : 1];
  if (b && !(b->ndim == 0 || dims_are(b, 1, 1, 0, 0, 0) ||
             dims_are(b, 1, mo, 0, 0, 0) || dims_are(b, 2, 1, mo, 0, 0)))
    return tensor_dims_str(b, db, sizeof db),
           nfail(c, nd,
                 "bias '%s' %s is not per output ([%lld], [1, %lld] "
                 "or a scalar)",
                 b->name, db, (long long)mo, (long long)mo);
  y->dims[1] = mo;
  return LSP_OK;
}

static int infer_add(const cctx *c, const lsp_onnx_node *nd,
                     const lsp_onnx_shape *a, const lsp_onnx_shape *b,
                     const lsp_onnx_tensor *t) {
  char sa[128], sb[128];
  if (!t) { /* two values: equal shapes (a residual connection) */
    int same = a->rank == b->rank;
    for (int k = 0; same && k < a->rank; k++) same = a->dims[k] == b->dims[k];
    if (same) return LSP_OK;
    shape_str(a, sa, sizeof sa);
    shape_str(b, sb, sizeof sb);
    return nfail(c, nd,
                 "operands %s and %s differ in shape (no broadcasting "
                 "between values)",
                 sa, sb);
  }
  int64_t f = a->dims[1];
  int ok = a->rank == 2
               ? dims_are(t, 1, f, 0, 0, 0) || dims_are(t, 2, 1, f, 0, 0)
               : dims_are(t, 3, f, 1, 1, 0) || dims_are(t, 4, 1, f, 1, 1);
  if (ok) return LSP_OK;
  tensor_dims_str(t, sb, sizeof sb);
  return nfail(c, nd, "constant '%s' %s is not a per-%s bias", t->name, sb,
               a->rank == 2 ? "feature ([D] or [1, D])"
                            : "channel ([C, 1, 1] or [1, C, 1, 1])");
}

static int infer_bn(const cctx *c, const lsp_onnx_node *nd,
                    const lsp_onnx_shape *x) {
  if (!isfinite(nd->epsilon) || nd->epsilon < 0)
    return nfail(c, nd, "epsilon must be finite and >= 0");
  for (int j = 1; j < 5; j++) {
    const lsp_onnx_tensor *t = init_of(c, nd, j);
    if (!dims_are(t, 1, x->dims[1], 0, 0, 0))
      return nfail(c, nd, "'%s' is not a vector of %lld channels", t->name,
                   (long long)x->dims[1]);
  }
  const lsp_onnx_tensor *var = init_of(c, nd, 4);
  for (size_t k = 0; k < var->count; k++)
    if (!((double)var->f[k] + nd->epsilon > 0))
      return nfail(c, nd, "variance '%s'[%zu] + epsilon is not positive",
                   var->name, k);
  return LSP_OK;
}

static int infer_reshape(const cctx *c, const lsp_onnx_node *nd,
                         const lsp_onnx_shape *x, lsp_onnx_shape *y) {
  int64_t d = 1, s0 = nd->shape[0], s1 = nd->shape[1];
  for (int k = 1; k < x->rank; k++) d *= x->dims[k];
  int ok0 = s0 == 0 || s0 == -1 || (x->dims[0] != -1 && s0 == x->dims[0]);
  int ok1 = s1 == d || (s1 == -1 && s0 != -1) || (s1 == 0 && x->dims[1] == d);
  if (!ok0 || !ok1)
    return nfail(c, nd, "shape [%lld, %lld] of a %s input is not N × %lld",
                 (long long)s0, (long long)s1,
                 x->dims[0] == -1 ? "batch-symbolic" : "fixed-batch",
                 (long long)d);
  y->rank = 2;
  y->dims[1] = d;
  return LSP_OK;
}

static int infer(const cctx *c, lsp_onnx_node *nd) {
  lsp_onnx_shape xs[2];
  const lsp_onnx_tensor *t = NULL;
  int nv = 0;
  for (int j = 0; j < nd->ninputs && nv < 2; j++) {
    size_t i;
    int src = source(c, nd->inputs[j], &i);
    if (src == SRC_INPUT)
      xs[nv++] = c->m->in_shape;
    else if (src == SRC_NODE)
      xs[nv++] = c->m->nodes[i].out;
    else if (nd->op == LSP_ONNX_ADD)
      t = &c->m->inits[i];
    if (value_slot(nd->op, j) == 1) break;
  }
  const lsp_onnx_shape *x = &xs[0];
  lsp_onnx_shape *y = &nd->out;
  *y = *x;
  int need4 = nd->op == LSP_ONNX_CONV || nd->op == LSP_ONNX_MAXPOOL ||
              nd->op == LSP_ONNX_AVGPOOL || nd->op == LSP_ONNX_GLOBALAVGPOOL ||
              nd->op == LSP_ONNX_BATCHNORM || nd->op == LSP_ONNX_PAD;
  int need2 = nd->op == LSP_ONNX_GEMM || nd->op == LSP_ONNX_MATMUL;
  if ((need4 && x->rank != 4) || (need2 && x->rank != 2))
    return nfail(c, nd, "needs an input of rank %d (%s), got rank %d",
                 need4 ? 4 : 2, need4 ? "N × C × H × W" : "N × features",
                 x->rank);
  int st = LSP_OK;
  switch (nd->op) {
    case LSP_ONNX_CONV:
      st = infer_conv(c, nd, x, y);
      break;
    case LSP_ONNX_GEMM:
    case LSP_ONNX_MATMUL:
      st = infer_dense(c, nd, x, y);
      break;
    case LSP_ONNX_ADD:
      st = infer_add(c, nd, x, &xs[1], t);
      break;
    case LSP_ONNX_MAXPOOL:
    case LSP_ONNX_AVGPOOL:
      st = spatial(c, nd, x, y, 1);
      break;
    case LSP_ONNX_GLOBALAVGPOOL:
      y->dims[2] = y->dims[3] = 1;
      break;
    case LSP_ONNX_BATCHNORM:
      st = infer_bn(c, nd, x);
      break;
    case LSP_ONNX_FLATTEN:
      if (nd->axis != 1 && nd->axis != 1 - x->rank)
        return nfail(c, nd,
                     "axis %lld: only axis 1 (N × features) keeps the "
                     "batch apart",
                     (long long)nd->axis);
      y->rank = 2;
      for (int k = 2; k < x->rank; k++) y->dims[1] *= x->dims[k];
      break;
    case LSP_ONNX_RESHAPE:
      st = infer_reshape(c, nd, x, y);
      break;
    case LSP_ONNX_PAD:
      for (int k = 0; k < 4; k++)
        if (nd->pads[k] < 0 || nd->pads[k] > LSP_ONNX_MAX_DIM)
          return nfail(c, nd, "pads out of range");
      y->dims[2] += nd->pads[0] + nd->pads[2];
      y->dims[3] += nd->pads[1] + nd->pads[3];
      break;
    case LSP_ONNX_RELU:
      break;
  }
  if (st != LSP_OK) return st;
  int64_t per = 1;
  for (int k = 1; k < y->rank; k++) per *= y->dims[k];
  if (per > LSP_ONNX_MAX_ACT)
    return nfail(c, nd, "the output has %lld values per example; too many",
                 (long long)per);
  return LSP_OK;
}

/* Initializers in order of first use; unused ones are dropped. */
static int order_inits(cctx *c) {
  lsp_onnx_model *m = c->m;
  lsp_onnx_tensor *out = malloc((m->ninits ? m->ninits : 1) * sizeof *out);
  unsigned char *used = calloc(m->ninits + 1, 1);
  if (!out || !used) {
    free(out);
    free(used);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  }
  size_t w = 0, i;
  for (size_t k = 0; k < m->nnodes; k++)
    for (int j = 0; j < m->nodes[k].ninputs; j++)
      if (source(c, m->nodes[k].inputs[j], &i) == SRC_INIT && !used[i]) {
        used[i] = 1;
        out[w++] = m->inits[i];
      }
  for (size_t k = 0; k < m->ninits; k++)
    if (!used[k]) lsp_onnx_tensor_release(&m->inits[k]);
  if (w) memcpy(m->inits, out, w * sizeof *out); /* inits may be NULL */
  m->ninits = w;
  free(out);
  free(used);
  lsp_onnx_map_free(&c->inits);
  if (lsp_onnx_map_init(&c->inits, w) < 0)
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  for (size_t k = 0; k < w; k++)
    if (lsp_onnx_map_put(&c->inits, m->inits[k].name, k, NULL) < 0)
      return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  return LSP_OK;
}

int lsp_onnx_check(lsp_onnx_model *m, const char *path) {
  cctx c;
  memset(&c, 0, sizeof c);
  c.m = m;
  c.path = path ? path : "(model)";
  int st = build_maps(&c);
  if (st == LSP_OK) st = build_producers(&c);
  if (st == LSP_OK) st = check_inputs(&c);
  if (st == LSP_OK) st = order_nodes(&c);
  if (st == LSP_OK) st = prune(&c);
  if (st == LSP_OK) st = order_inits(&c);
  for (size_t k = 0; st == LSP_OK && k < m->nnodes; k++)
    st = infer(&c, &m->nodes[k]);
  lsp_onnx_map_free(&c.inits);
  lsp_onnx_map_free(&c.prod);
  return st;
}
