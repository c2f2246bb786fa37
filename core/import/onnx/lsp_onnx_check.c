/* lsp_onnx_check.c — validation and shape inference of an ONNX description:
 * names, topological order, pruning, and every op's shape rule. */
#include <math.h>
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

static int source(const cctx *c, const char *name, size_t *idx) {
  if (!strcmp(name, c->m->input)) return SRC_INPUT;
  if (lsp_onnx_map_get(&c->inits, name, idx)) return SRC_INIT;
  if (lsp_onnx_map_get(&c->prod, name, idx)) return SRC_NODE;
  return SRC_NONE;
}

/* 1 for the slots that take a value computed by the graph, 0 for those that
 * take an initializer, -1 for either (Add, Sub, Mul, Div). */
static int value_slot(lsp_onnx_op op, int j) {
  if (op == LSP_ONNX_ADD || op == LSP_ONNX_SUB || op == LSP_ONNX_MUL ||
      op == LSP_ONNX_DIV)
    return -1;
  if (op == LSP_ONNX_CONCAT) return 1;
  return j == 0;
}

static int build_maps(cctx *c) {
  lsp_onnx_model *m = c->m;
  if (!m->input || !m->input[0] || !m->output || !m->output[0])
    return lsp_fail(LSP_EDATA, "%s: the graph input or output has no name",
                    c->path);
  const lsp_onnx_shape *s = &m->in_shape;
  int ok = s->rank >= 2 && s->rank <= 4;
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
                    "not N × D, N × C × L or N × C × H × W",
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
    if (!nd->output || !nd->output[0])
      return lsp_onnx_node_fail(c->path, nd, "no output");
    if (lsp_onnx_map_get(&c->inits, nd->output, NULL) ||
        !strcmp(nd->output, m->input))
      return lsp_onnx_node_fail(
          c->path, nd,
          "output '%s' has the name of an initializer or of "
          "the graph input",
          nd->output);
    int r = lsp_onnx_map_put(&c->prod, nd->output, k, &other);
    if (r < 0) return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
    if (r == 1)
      return lsp_onnx_node_fail(c->path, nd, "output '%s' is produced twice",
                                nd->output);
  }
  return LSP_OK;
}

/* Names resolve, each slot gets the kind of source it needs, inputs counts
 * fit the op. */
static int check_inputs(const cctx *c) {
  static const int lo[] = {0, 2, 2, 2, 2, 1, 1, 1, 1, 5, 1, 1, 1, 2, 2, 2,
                           1, 1, /* Concat, ReduceMean */
                           1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                           1, 1, /* GlobalMaxPool, ReduceMax */
                           1 /* Transpose */};
  static const int hi[] = {0, 3, 3, 2, 2, 1, 1, 1, 1, 5, 1, 1, 1, 2, 2, 2,
                           LSP_ONNX_MAXIN, 1, /* Concat, ReduceMean */
                           1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                           1, 1, /* GlobalMaxPool, ReduceMax */
                           1 /* Transpose */};
  for (size_t k = 0; k < c->m->nnodes; k++) {
    const lsp_onnx_node *nd = &c->m->nodes[k];
    if ((int)nd->op < LSP_ONNX_CONV || (int)nd->op > LSP_ONNX_OP_LAST)
      return lsp_fail(LSP_EDATA, "%s: node %zu has an invalid op", c->path, k);
    if (nd->ninputs < lo[nd->op] || nd->ninputs > hi[nd->op])
      return lsp_onnx_node_fail(c->path, nd, "%d inputs", nd->ninputs);
    int nvalues = 0;
    for (int j = 0; j < nd->ninputs; j++) {
      const char *in = nd->inputs[j] ? nd->inputs[j] : "";
      int src = source(c, in, NULL), want = value_slot(nd->op, j);
      if (src == SRC_NONE)
        return lsp_onnx_node_fail(c->path, nd,
                                  "input '%s' is not the graph input, an "
                                  "initializer or any node's output",
                                  in);
      nvalues += src != SRC_INIT;
      if (want == 1 && src == SRC_INIT)
        return lsp_onnx_node_fail(
            c->path, nd,
            "input '%s' is a constant; lsprobe computes ops "
            "on data from the graph input only",
            in);
      if (want == 0 && src != SRC_INIT)
        return lsp_onnx_node_fail(
            c->path, nd,
            "input %d ('%s') must be an initializer (weights "
            "computed by the graph are not supported)",
            j, in);
    }
    if (value_slot(nd->op, 0) < 0 && nvalues == 0)
      return lsp_onnx_node_fail(c->path, nd, "both operands are constants");
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
        st = lsp_onnx_node_fail(c->path, &m->nodes[k],
                                "is part of a cycle (or depends on one)");
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

/* An AveragePool whose input is a Pad's output and whose last window
 * exists only by ceil_mode or by end padding beyond its begin padding,
 * and starts in the Pad's end padding: PyTorch's AvgPool2d(padding=p,
 * ceil_mode=True), which torch.onnx.export writes as Pad then AveragePool
 * (ceil_mode = 1; up to opset 9 the ceiling as the pool's end padding).
 * PyTorch drops that window (it starts in the padding); ONNX keeps it (to
 * the pool the Pad's padding is data). The disagreement of a pool's own
 * padding (lsp_onnx_shape.c), named here rather than at a later layer. */
static int pad_then_ceil(const cctx *c, const lsp_onnx_node *nd) {
  size_t p;
  if (nd->op != LSP_ONNX_AVGPOOL ||
      source(c, nd->inputs[0], &p) != SRC_NODE ||
      c->m->nodes[p].op != LSP_ONNX_PAD)
    return LSP_OK;
  const lsp_onnx_node *pad = &c->m->nodes[p];
  for (int k = 0; k < 2; k++) {
    if (k == 1 && pad->out.rank < 4) break;
    int64_t in = pad->out.dims[2 + k], s = nd->strides[k], p0 = nd->pads[k],
            keff = (nd->kernel[k] - 1) * nd->dilations[k] + 1,
            out = nd->out.dims[2 + k], data = in - pad->pads[k] - pad->pads[k + 2];
    int64_t plain = in + 2 * p0 >= keff ? (in + 2 * p0 - keff) / s + 1 : 0;
    if (out > plain && (out - 1) * s - p0 >= pad->pads[k] + data) {
      char lb[32], how[96];
      if (nd->ceil_mode)
        snprintf(how, sizeof how, "ceil_mode = 1");
      else
        snprintf(how, sizeof how,
                 "end padding %lld beyond its begin padding %lld (PyTorch's "
                 "ceil_mode up to opset 9)",
                 (long long)nd->pads[k + 2], (long long)p0);
      return lsp_onnx_node_fail(
          c->path, nd,
          "%s gives it a last window that starts in the padding of the Pad "
          "'%s' before it (PyTorch's AvgPool2d with padding and "
          "ceil_mode=True, exported as Pad then AveragePool: PyTorch drops "
          "that window, ONNX keeps it; ONNX and PyTorch disagree on it)",
          how, lsp_onnx_node_label(pad->name, pad->index, lb, sizeof lb));
    }
  }
  return LSP_OK;
}

static int infer(const cctx *c, lsp_onnx_node *nd) {
  lsp_onnx_node_inputs in;
  memset(&in, 0, sizeof in);
  for (int j = 0; j < nd->ninputs; j++) {
    size_t i;
    int src = source(c, nd->inputs[j], &i);
    if (src == SRC_INIT) {
      in.init[j] = &c->m->inits[i];
      if (value_slot(nd->op, j) < 0) {
        in.const_arg = in.init[j];
        in.const_first = j == 0;
      }
    } else if (in.nvalues < LSP_ONNX_MAXIN) {
      in.shape[in.nvalues++] =
          src == SRC_INPUT ? c->m->in_shape : c->m->nodes[i].out;
    }
  }
  int st = lsp_onnx_infer(c->path, nd, &in);
  return st == LSP_OK ? pad_then_ceil(c, nd) : st;
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
  if (st == LSP_OK) lsp_onnx_mark_nhwc(m); /* channels-last: before shapes */
  for (size_t k = 0; st == LSP_OK && k < m->nnodes; k++)
    st = infer(&c, &m->nodes[k]);
  lsp_onnx_map_free(&c.inits);
  lsp_onnx_map_free(&c.prod);
  return st;
}
