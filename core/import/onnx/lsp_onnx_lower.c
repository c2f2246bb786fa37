/* lsp_onnx_lower.c — a checked ONNX description into lsprobe's model graph
 * (docs/DESIGN.md §3, "Lowering").
 *
 * One pass plans: which Add is the bias of the bias-free Conv, Gemm or
 * MatMul before it, which Div completes the Sub before it into one input
 * normalization, which value is the logits, which reductions over one
 * axis complete into one pooling, whether a 1×1 Conv pooled into the
 * logits is the classifier (lsp_onnx_head.c). A second creates the nodes
 * (a zero Pad node in front of a convolution padded asymmetrically; pools
 * outside PyTorch's form become the general `pool`; a Transpose becomes a
 * transpose layer, a reshape, or nothing; a channels-last graph input
 * takes lsprobe's C×H×W images, lsp_onnx_transpose.c), lsp_model_finish
 * lays out the tensors, a third fills them from the initializers
 * (lsp_onnx_fill.c); `--features` is lsp_onnx_features.c.
 * Every refusal names the file, the node and the op. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_lower_int.h"
#include "core/nn/lsp_ops.h"
#include "core/nn/layers/lsp_pad.h"

/* The dense kernel a dilated convolution expands to may hold at most this
 * many floats. */
#define MAX_EXPANDED ((size_t)1 << 26)

typedef lsp_onnx_source source;
typedef lsp_onnx_lctx lctx;

static int is_arith(lsp_onnx_op op) {
  return op == LSP_ONNX_ADD || op == LSP_ONNX_SUB || op == LSP_ONNX_MUL ||
         op == LSP_ONNX_DIV;
}

/* An Add/Sub/Mul/Div's constant operand (NULL for two values). */
#define arith_const(c, nd, f, vs) lsp_onnx_arith_const((c)->om, nd, f, vs)
#define producer lsp_onnx_lower_producer
#define node_of lsp_onnx_lower_node_of

/* ---- planning ------------------------------------------------------------ */

/* Activations that squash scores into a bounded range (probabilities,
 * ±1): a graph output made by one of them is not the logits. */
static int is_squash(lsp_onnx_op op) {
  return op == LSP_ONNX_SIGMOID || op == LSP_ONNX_HARDSIGMOID ||
         op == LSP_ONNX_TANH || op == LSP_ONNX_CLIP;
}

/* The graph output computed as a chain of Add/Sub/Mul/Div by constants
 * after the last Gemm or MatMul (temperature scaling, an affine map of the
 * logits): the chain is marked to fold into that layer's weights and bias.
 * Nothing is marked when the chain does not start at a Gemm or MatMul whose
 * values feed nothing else; the output is then refused as it stands. A
 * squashing activation at the output is looked through, so that its refusal
 * can name the logits under it. */
static void plan_tail(lctx *c) {
  const lsp_onnx_model *om = c->om;
  c->tail_dense = -1;
  if (c->o->probe) return;
  long k = producer(c, om->output);
  if (k >= 0 && is_squash(om->nodes[k].op)) /* refused later, naming the */
    k = producer(c, om->nodes[k].inputs[0]); /* value under the squashing */
  size_t n = 0;
  while (k >= 0 && n < om->nnodes) {
    const lsp_onnx_node *nd = &om->nodes[k];
    if (nd->op == LSP_ONNX_GEMM || nd->op == LSP_ONNX_MATMUL) break;
    int vs = 0;
    if (!is_arith(nd->op) || !arith_const(c, nd, NULL, &vs) || c->uses[k] != 1)
      return;
    c->tail[n++] = (size_t)k;
    k = producer(c, nd->inputs[vs]);
  }
  if (k < 0 || n == 0 || c->uses[k] != 1) return;
  c->tail_dense = k;
  c->ntail = n;
  for (size_t i = 0; i < n / 2; i++) { /* from the layer outward */
    size_t t = c->tail[i];
    c->tail[i] = c->tail[n - 1 - i];
    c->tail[n - 1 - i] = t;
  }
  for (size_t i = 0; i < n; i++) c->fold[c->tail[i]] = 2;
}

static int plan(lctx *c) {
  const lsp_onnx_model *om = c->om;
  for (size_t k = 0; k < om->nnodes; k++) {
    c->bias_from[k] = -1;
    if (lsp_onnx_map_put(&c->prod, om->nodes[k].output, k, NULL) < 0)
      return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  }
  for (size_t k = 0; k < om->nnodes; k++)
    for (int j = 0; j < om->nodes[k].ninputs; j++) {
      long p = producer(c, om->nodes[k].inputs[j]);
      if (p >= 0) c->uses[p]++;
    }
  long out = producer(c, om->output);
  if (out >= 0) c->uses[out]++;
  plan_tail(c);
  for (size_t k = 0; k < om->nnodes; k++) { /* x.mean(3).mean(2): one gap */
    long p = lsp_onnx_partial_reduce(om, c->uses, k);
    if (p >= 0 && !c->fold[p])
      c->fold[p] = 3, c->bias_from[p] = (int)k; /* --features: the pooled */
  }
  for (size_t k = 0; k < om->nnodes; k++) {
    const lsp_onnx_node *nd = &om->nodes[k];
    int vs = 0;
    if (c->fold[k] || !is_arith(nd->op) || !arith_const(c, nd, NULL, &vs))
      continue;
    long p = producer(c, nd->inputs[vs]);
    if (p < 0 || c->uses[p] != 1 || c->fold[p]) continue;
    const lsp_onnx_node *pn = &om->nodes[p];
    int biasless = (pn->op == LSP_ONNX_CONV && pn->ninputs == 2) ||
                   (pn->op == LSP_ONNX_GEMM && pn->ninputs == 2) ||
                   pn->op == LSP_ONNX_MATMUL;
    if (nd->op == LSP_ONNX_ADD && biasless && c->bias_from[p] < 0) {
      c->bias_from[p] = (int)k; /* the Add is the layer's bias */
      c->fold[k] = 1;
    } else if (nd->op == LSP_ONNX_DIV && pn->op == LSP_ONNX_SUB &&
               arith_const(c, pn, NULL, NULL)) {
      c->fold[k] = 1; /* (x − m) / s: one normalization */
      c->bias_from[p] = (int)k;
    }
  }
  c->head_conv = c->head_pool = -1;
  if (!c->o->probe &&
      !lsp_onnx_plan_head(om, c->uses, c->bias_from, &c->head_conv,
                          &c->head_pool))
    c->maps = lsp_onnx_plan_maps(om, c->uses, c->bias_from);
  return LSP_OK;
}

/* ---- creating the nodes -------------------------------------------------- */

/* A name for the next lsp node: `want` when it fits and is free, else
 * "<kind><n>". */
static void node_name(const lsp_model *m, const char *want, lsp_op op,
                      char *buf) {
  if (want && want[0] && strlen(want) < LSP_NODE_NAME &&
      lsp_model_find(m, want) < 0) {
    snprintf(buf, LSP_NODE_NAME, "%s", want);
    return;
  }
  for (size_t k = m->nnodes + 1;; k++) {
    snprintf(buf, LSP_NODE_NAME, "%s%zu", lsp_op_name(op), k);
    if (lsp_model_find(m, buf) < 0) return;
  }
}

/* Room for the source of one more lsp node. */
static int room(lctx *c) {
  if (c->nsrc > c->m->nnodes) return LSP_OK;
  source *s = realloc(c->src, (c->nsrc + 16) * sizeof *s);
  if (!s) return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  c->src = s;
  c->nsrc += 16;
  return LSP_OK;
}

static int add(lctx *c, const lsp_onnx_node *on, lsp_op op, const lsp_attrs *a,
               int in0, int in1, const char *suffix, int *id) {
  char want[2 * LSP_NODE_NAME + 16], name[LSP_NODE_NAME];
  const char *base = on->name[0] ? on->name : on->output;
  snprintf(want, sizeof want, "%s%s", base, suffix);
  node_name(c->m, want, op, name);
  int st = room(c);
  if (st) return st;
  st = lsp_model_add(c->m, op, a, in0, in1, name, id);
  if (st) {
    char why[600];
    snprintf(why, sizeof why, "%s", lsp_errmsg());
    return lsp_onnx_node_fail(c->path, on, "lsprobe's %s layer refuses it: %s",
                              lsp_op_name(op), why);
  }
  source *s = &c->src[*id];
  memset(s, 0, sizeof *s);
  s->on = on;
  s->helper = suffix[0] != 0;
  return LSP_OK;
}


/* The graph output as a squashing activation (Sigmoid, HardSigmoid, Tanh,
 * Clip) of a last dense layer: scores in a bounded range, not the logits
 * every analysis needs; their input is. */
static int squashed_logits(const lctx *c, const lsp_onnx_node *on, int out) {
  if (!is_squash(on->op)) return 0;
  if (on->ninputs < 1 || out < 1 || out + 1 != (int)c->m->nnodes) return 0;
  int in = node_of(c, on->inputs[0]);
  return in >= 0 && in + 1 == out && c->m->nodes[in].op == LSP_OP_DENSE;
}

static int bind(lctx *c, const char *value, int id) {
  if (lsp_onnx_map_put(&c->val, value, (size_t)(id + 1), NULL) < 0)
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  return LSP_OK;
}

/* One example of an ONNX value as lsprobe's C×H×W (N×D: D×1×1; N×C×L:
 * C×L×1). */
static lsp_shape example_of(const lsp_onnx_shape *o) {
  return (lsp_shape){(size_t)o->dims[1], o->rank > 2 ? (size_t)o->dims[2] : 1,
                     o->rank > 3 ? (size_t)o->dims[3] : 1};
}

static lsp_shape shape_of(const lctx *c, int id) {
  return id == LSP_INPUT ? c->m->in_shape : c->m->nodes[id].shape;
}

/* A convolution's padding: into the layer when symmetric, else into a
 * zero Pad node in front (*in is updated). */
static int conv_pads(lctx *c, const lsp_onnx_node *on, int *in, lsp_attrs *a) {
  const int64_t *p = on->pads;
  if (p[0] == p[2] && p[1] == p[3]) {
    a->ph = (size_t)p[0];
    a->pw = (size_t)p[1];
    return LSP_OK;
  }
  lsp_attrs pa;
  lsp_attrs_default(LSP_OP_PAD, &pa);
  pa.pt = (size_t)p[0], pa.pl = (size_t)p[1];
  pa.pb = (size_t)p[2], pa.pr = (size_t)p[3];
  a->ph = a->pw = 0;
  return add(c, on, LSP_OP_PAD, &pa, *in, 0, ".pad", in);
}

/* Node in transposed by code (lsp_onnx_transpose_code) to shape `want`:
 * nothing for the identity, a reshape (no copy) when only axes of size 1
 * move, else a transpose layer. */
static int transpose(lctx *c, const lsp_onnx_node *on, int in, size_t code,
                     lsp_shape want, int *id) {
  lsp_shape s = shape_of(c, in);
  const size_t d[3] = {s.c, s.h, s.w};
  size_t p[3], last = 0, kept = 1;
  lsp_transpose_axes(code, p);
  for (int k = 0; k < 3; k++)
    if (d[p[k]] > 1) kept &= p[k] >= last, last = p[k];
  lsp_attrs a;
  if (kept && s.c == want.c && s.h == want.h && s.w == want.w) {
    *id = in;
    return LSP_OK;
  }
  lsp_op op = kept ? LSP_OP_RESHAPE : LSP_OP_TRANSPOSE;
  lsp_attrs_default(op, &a);
  a.rc = want.c, a.rh = want.h, a.rw = want.w, a.perm = code;
  return add(c, on, op, &a, in, 0, "", id);
}

static int lower_node(lctx *c, size_t k) {
  const lsp_onnx_node *on = &c->om->nodes[k];
  int in = node_of(c, on->inputs[0]), id = LSP_INPUT, st = LSP_OK;
  lsp_attrs a;
  if (c->fold[k] == 3) /* the reduction after it reads its input */
    return bind(c, on->output, in);
  if ((long)k == c->head_conv) { /* the head's pooling, on its input */
    const lsp_onnx_node *pool = &c->om->nodes[c->head_pool];
    lsp_attrs_default(LSP_OP_GAP, &a);
    if ((st = add(c, pool, LSP_OP_GAP, &a, in, 0, "", &id))) return st;
    return bind(c, on->output, id);
  }
  if ((long)k == c->head_pool) { /* then the Conv as the classifier */
    const lsp_onnx_node *conv = &c->om->nodes[c->head_conv];
    lsp_attrs_default(LSP_OP_DENSE, &a);
    a.units = (size_t)conv->out.dims[1], a.bias = 1;
    if ((st = add(c, conv, LSP_OP_DENSE, &a, in, 0, "", &id))) return st;
    c->src[id].add = c->src[in].add; /* an Add after the Conv: its bias */
    return bind(c, on->output, id);
  }
  if (c->fold[k]) { /* folded into its producer: the same node */
    int vs = 0;
    arith_const(c, on, NULL, &vs);
    int p = node_of(c, on->inputs[vs]);
    if (c->fold[k] == 2) return bind(c, on->output, p); /* the logits' tail */
    if (on->op == LSP_ONNX_DIV)
      c->src[p].div = on;
    else
      c->src[p].add = on;
    return bind(c, on->output, p);
  }
  int is_out = (!strcmp(on->output, c->om->output) && !c->o->probe) ||
               (long)k == c->tail_dense;
  switch (on->op) {
    case LSP_ONNX_CONV:
      lsp_attrs_default(LSP_OP_CONV, &a);
      a.units = (size_t)on->out.dims[1];
      a.kh = (size_t)((on->kernel[0] - 1) * on->dilations[0] + 1);
      a.kw = (size_t)((on->kernel[1] - 1) * on->dilations[1] + 1);
      a.sh = (size_t)on->strides[0], a.sw = (size_t)on->strides[1];
      a.bias = on->ninputs == 3 || c->bias_from[k] >= 0;
      /* groups stay groups; a dilated kernel becomes the dense one */
      if (on->dilations[0] == 1 && on->dilations[1] == 1)
        a.groups = (size_t)on->group;
      else if (a.units * shape_of(c, in).c * a.kh * a.kw > MAX_EXPANDED)
        return lsp_onnx_node_fail(
            c->path, on,
            "the dilated kernel expands to more than %zu weights",
            MAX_EXPANDED);
      if ((st = conv_pads(c, on, &in, &a))) return st;
      st = add(c, on, LSP_OP_CONV, &a, in, 0, "", &id);
      break;
    case LSP_ONNX_GEMM:
    case LSP_ONNX_MATMUL:
      lsp_attrs_default(LSP_OP_DENSE, &a);
      a.units = (size_t)on->out.dims[1];
      a.bias = on->ninputs == 3 || c->bias_from[k] >= 0 || is_out;
      st = add(c, on, LSP_OP_DENSE, &a, in, 0, "", &id);
      break;
    case LSP_ONNX_ADD:
    case LSP_ONNX_SUB:
    case LSP_ONNX_MUL:
    case LSP_ONNX_DIV: {
      int vs = 0;
      if (!arith_const(c, on, NULL, &vs)) { /* two values: add or mul */
        lsp_op op = on->op == LSP_ONNX_MUL ? LSP_OP_MUL : LSP_OP_ADD;
        int in1 = node_of(c, on->inputs[1]);
        if (lsp_shape_size(shape_of(c, in)) < lsp_shape_size(shape_of(c, in1)))
          id = in, in = in1, in1 = id; /* a gate second */
        lsp_attrs_default(op, &a);
        st = add(c, on, op, &a, in, in1, "", &id);
      } else {
        lsp_attrs_default(LSP_OP_NORMALIZE, &a);
        st = add(c, on, LSP_OP_NORMALIZE, &a, node_of(c, on->inputs[vs]), 0, "",
                 &id);
      }
      break;
    }
    case LSP_ONNX_RELU:
      lsp_attrs_default(LSP_OP_RELU, &a);
      st = add(c, on, LSP_OP_RELU, &a, in, 0, "", &id);
      break;
    case LSP_ONNX_MAXPOOL:
    case LSP_ONNX_AVGPOOL: {
      /* PyTorch's form (symmetric padding up to half the window, no
       * dilation) as maxpool/avgpool, anything else as the general pool */
      int avg = on->op == LSP_ONNX_AVGPOOL;
      const int64_t *p = on->pads;
      int fits = p[0] == p[2] && p[1] == p[3] && p[0] <= on->kernel[0] / 2 &&
                 p[1] <= on->kernel[1] / 2 && on->dilations[0] == 1 &&
                 on->dilations[1] == 1;
      lsp_shape s = shape_of(c, in); /* a window of the whole image: gmp */
      if (!avg && fits && !p[0] && !p[1] && on->kernel[0] == (int64_t)s.h &&
          on->kernel[1] == (int64_t)s.w) {
        lsp_attrs_default(LSP_OP_GMP, &a);
        st = add(c, on, LSP_OP_GMP, &a, in, 0, "", &id);
        break;
      }
      lsp_op op = !fits ? LSP_OP_POOL : avg ? LSP_OP_AVGPOOL : LSP_OP_MAXPOOL;
      lsp_attrs_default(op, &a);
      a.kh = (size_t)on->kernel[0], a.kw = (size_t)on->kernel[1];
      a.sh = (size_t)on->strides[0], a.sw = (size_t)on->strides[1];
      a.ceil_mode = on->ceil_mode;
      a.count_pad = avg ? on->count_include_pad : 1;
      a.ph = (size_t)p[0], a.pw = (size_t)p[1];
      a.pt = (size_t)p[0], a.pl = (size_t)p[1];
      a.pb = (size_t)p[2], a.pr = (size_t)p[3];
      a.dh = (size_t)on->dilations[0], a.dw = (size_t)on->dilations[1];
      a.avg = avg;
      st = add(c, on, op, &a, in, 0, "", &id);
      break;
    }
    case LSP_ONNX_CONCAT: /* (((x0, x1), x2), ...): two inputs a node */
      lsp_attrs_default(LSP_OP_CONCAT, &a);
      id = in;
      for (int j = 1; j < on->ninputs && !st; j++) {
        char sfx[16] = "";
        if (j + 1 < on->ninputs) snprintf(sfx, sizeof sfx, ".cat%d", j);
        st = add(c, on, LSP_OP_CONCAT, &a, id, node_of(c, on->inputs[j]), sfx,
                 &id);
      }
      break;
    case LSP_ONNX_REDUCEMEAN: /* over spatial axes (the checker) */
    case LSP_ONNX_REDUCEMAX:
      if (!lsp_onnx_reduces_all(on))
        return lsp_onnx_partial_refuse(c->path, on);
      /* fall through */
    case LSP_ONNX_GLOBALAVGPOOL:
    case LSP_ONNX_GLOBALMAXPOOL: {
      lsp_op op =
          on->op == LSP_ONNX_GLOBALMAXPOOL || on->op == LSP_ONNX_REDUCEMAX
              ? LSP_OP_GMP
              : LSP_OP_GAP;
      lsp_attrs_default(op, &a);
      st = add(c, on, op, &a, in, 0, "", &id);
      break;
    }
    case LSP_ONNX_BATCHNORM: {
      lsp_attrs_default(LSP_OP_BN, &a);
      /* the float attribute as the double it was written from (PyTorch's
       * 1e-5 is stored as the float nearest to it): the shortest decimal */
      char buf[32];
      for (int d = 1; d <= 9; d++) {
        snprintf(buf, sizeof buf, "%.*g", d, (double)on->epsilon);
        if (strtof(buf, NULL) == on->epsilon) break;
      }
      a.eps = strtod(buf, NULL);
      if (!(a.eps > 0))
        return lsp_onnx_node_fail(
            c->path, on, "epsilon 0: lsprobe's batch norm needs one > 0");
      st = add(c, on, LSP_OP_BN, &a, in, 0, "", &id);
      break;
    }
    case LSP_ONNX_FLATTEN:
    case LSP_ONNX_RESHAPE: {
      lsp_shape s = shape_of(c, in), want = example_of(&on->out);
      if (s.c == want.c && s.h == want.h && s.w == want.w)
        return bind(c, on->output, in); /* the same buffer and shape */
      lsp_op op = want.h == 1 && want.w == 1 ? LSP_OP_FLATTEN : LSP_OP_RESHAPE;
      lsp_attrs_default(op, &a);
      a.rc = want.c, a.rh = want.h, a.rw = want.w;
      st = add(c, on, op, &a, in, 0, "", &id);
      break;
    }
    case LSP_ONNX_PAD:
      lsp_attrs_default(LSP_OP_PAD, &a);
      a.pt = (size_t)on->pads[0], a.pl = (size_t)on->pads[1];
      a.pb = (size_t)on->pads[2], a.pr = (size_t)on->pads[3];
      a.mode = on->pad_mode == LSP_ONNX_PAD_REFLECT ? LSP_PAD_REFLECT
               : on->pad_mode == LSP_ONNX_PAD_EDGE  ? LSP_PAD_EDGE
               : on->pad_value == -INFINITY         ? LSP_PAD_MIN
                                                    : LSP_PAD_CONSTANT;
      a.value = a.mode == LSP_PAD_CONSTANT ? (double)on->pad_value : 0.0;
      st = add(c, on, LSP_OP_PAD, &a, in, 0, "", &id);
      break;
    case LSP_ONNX_TRANSPOSE: { /* on lsprobe's C×H×W input: composed */
      size_t code = lsp_onnx_transpose_code(on);
      long p = producer(c, on->inputs[0]); /* the input, or nodes on it */
      if (c->nhwc && (p < 0 || c->om->nodes[p].nhwc)) /* C×H×W, not H×W×C */
        code = lsp_onnx_perm_compose(120, code);
      st = transpose(c, on, in, code, example_of(&on->out), &id);
      break;
    }
    default: { /* the element-wise activations: lsp_onnx_act.c */
      lsp_op op;
      if (lsp_onnx_act_lower(on, &op, &a))
        st = add(c, on, op, &a, in, 0, "", &id);
      break;
    }
  }
  if (st) return st;
  return bind(c, on->output, id);
}

/* ---- the whole ---------------------------------------------------------- */

static int lower(lctx *c) {
  const lsp_onnx_model *om = c->om;
  const lsp_onnx_shape *is = &om->in_shape;
  lsp_shape in = example_of(is);
  int st;
  if (om->nhwc_input) { /* N×H×W×C: lsprobe's C×H×W images */
    in = (lsp_shape){(size_t)is->dims[3], (size_t)is->dims[1],
                     (size_t)is->dims[2]};
    c->nhwc = 1;
  }
  if (!(c->m = lsp_model_new(in))) return lsp_fail_prefix(LSP_EDATA, c->path);
  if ((st = plan(c)) || (st = bind(c, om->input, LSP_INPUT))) return st;
  for (size_t k = 0; k < om->nnodes; k++)
    if ((st = lower_node(c, k))) return st;
  int out = node_of(c, om->output);
  if (c->maps && out + 1 != (int)c->m->nnodes) c->maps = 0;
  if (c->o->probe || c->maps) { /* a classifier of one zero output after
                                   it; after class maps, the identity */
    lsp_attrs a;
    lsp_attrs_default(LSP_OP_DENSE, &a);
    a.units = c->maps ? shape_of(c, out).c : 1;
    char name[LSP_NODE_NAME];
    node_name(c->m, c->maps ? "identity" : "probe", LSP_OP_DENSE, name);
    if ((st = room(c)) ||
        (st = lsp_model_add(c->m, LSP_OP_DENSE, &a, out, 0, name, &out)))
      return lsp_fail_prefix(st, c->path);
    memset(&c->src[out], 0, sizeof *c->src);
    if (c->maps) c->src[out].on = c->src[out - 1].on, c->src[out].identity = 1;
  }
  if (!c->o->probe) {
    long po = producer(c, om->output);
    if (po < 0) /* the ops before it computed nothing lsprobe keeps */
      return lsp_fail(LSP_EDATA,
                      "%s: the graph output '%s' is the graph input; lsprobe "
                      "needs a classifier whose output is the logits of a "
                      "Gemm or MatMul (with its bias)",
                      c->path, om->output);
    const lsp_onnx_node *on = &om->nodes[po];
    if (squashed_logits(c, on, out))
      return lsp_onnx_node_fail(
          c->path, on,
          "the graph output '%s' is the %s of the logits, not the logits; "
          "lsprobe needs the logits: export the model without the final %s "
          "(its input '%s' holds the logits)",
          om->output, lsp_onnx_op_name(on->op), lsp_onnx_op_name(on->op),
          on->inputs[0]);
    if (out < 0 || c->m->nodes[out].op != LSP_OP_DENSE ||
        out + 1 != (int)c->m->nnodes)
      return lsp_onnx_node_fail(
          c->path, on,
          "the graph output '%s' comes from this %s; lsprobe needs a "
          "classifier whose output is the logits of a Gemm or "
          "MatMul (with its bias), or a global pooling of a "
          "convolution's class maps",
          om->output, lsp_onnx_node_op(on));
  }
  if ((st = lsp_model_finish(c->m))) return lsp_fail_prefix(st, c->path);
  if ((st = lsp_onnx_fill_model(c->om, c->path, c->m, c->src, c->tail_dense,
                                 c->tail, c->ntail)))
    return st;
  size_t bad = 0;
  if (lsp_model_check_values(c->m, &bad)) { /* lsprobe's own value checks */
    char why[600];
    snprintf(why, sizeof why, "%s", lsp_errmsg());
    return lsp_onnx_node_fail(c->path, c->src[bad].on, "%s", why);
  }
  if (c->o->features && (st = lsp_onnx_lower_features(c, c->o->features)))
    return st;
  snprintf(c->m->arch, sizeof c->m->arch, "onnx");
  return LSP_OK;
}

int lsp_onnx_lower(const lsp_onnx_model *om, const char *path,
                   const lsp_onnx_lower_opts *o, lsp_model **out) {
  static const lsp_onnx_lower_opts none = {NULL, 0};
  *out = NULL;
  lctx c;
  memset(&c, 0, sizeof c);
  c.om = om;
  c.path = path ? path : "(model)";
  c.o = o ? o : &none;
  size_t n = om->nnodes ? om->nnodes : 1;
  c.uses = calloc(n, sizeof *c.uses);
  c.fold = calloc(n, sizeof *c.fold);
  c.bias_from = calloc(n, sizeof *c.bias_from);
  c.tail = calloc(n, sizeof *c.tail);
  int st;
  if (!c.uses || !c.fold || !c.bias_from || !c.tail ||
      lsp_onnx_map_init(&c.val, om->nnodes + 1) < 0 ||
      lsp_onnx_map_init(&c.prod, om->nnodes) < 0)
    st = lsp_fail(LSP_ENOMEM, "%s: out of memory", c.path);
  else
    st = lower(&c);
  if (st == LSP_OK) {
    *out = c.m;
    c.m = NULL;
  }
  lsp_model_free(c.m);
  lsp_onnx_map_free(&c.val);
  lsp_onnx_map_free(&c.prod);
  free(c.uses);
  free(c.fold);
  free(c.bias_from);
  free(c.tail);
  free(c.src);
  return st;
}
