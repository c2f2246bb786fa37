/* lsp_onnx_read.c — an ONNX file into the validated description.
 *
 * The protobuf is unpacked by protobuf-c (lsp_onnx.proto: only the fields
 * lsprobe uses; the rest are skipped), then read in passes over the graph:
 *   1. the model: IR version, the default-domain opset (1–17), the graph;
 *   2. initializers (float32 kept, int64 set aside for Pad/Reshape), the one
 *      graph input (others bound to given tensors), the one output;
 *   3. every node's domain, op and outputs; Constant nodes become constants,
 *      Identity nodes aliases;
 *   4. the other nodes with their attributes; Pad's pads and Reshape's shape
 *      are looked up among the int64 constants and folded in, an all-zero
 *      Pad becomes an alias;
 *   5. every name is resolved through the aliases;
 * then lsp_onnx_check orders, prunes and shape-checks the result and the
 * output's declared shape is compared with the computed one. The protobuf
 * tree (with its copies of unknown fields) is freed before returning. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/onnx/lsp_onnx_int.h"

enum { OP_CONSTANT = 100, OP_IDENTITY };

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
             {"Constant", OP_CONSTANT, 0, 0},
             {"Identity", OP_IDENTITY, 1, 1}};
#define N_OPS (sizeof k_ops / sizeof *k_ops)

typedef struct {
  const char *path;
  lsp_onnx_model *m;
  lsp_onnx_tensor *ints; /* owned: int64 constants */
  size_t nints, cap_ints;
  lsp_onnx_map consts;   /* name -> 2·index (float init) or 2·index+1 (int) */
  lsp_onnx_map produced; /* value name -> index of the node producing it */
  const char **afrom, **ato; /* aliases (borrowed strings) */
  size_t nalias;
  lsp_onnx_map amap; /* alias name -> index */
} rctx;

static int failv(const char *where, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int failv(const char *where, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return lsp_fail(LSP_EDATA, "%s: %s", where, msg);
}

static const char *str(const char *s) {
  return s ? s : "";
}

/* A constant (float32 or int64) under tensor->name; ownership moves in. */
static int add_const(rctx *c, lsp_onnx_tensor *t, const char *where) {
  int st = LSP_OK;
  size_t code = 0;
  if (!t->name[0]) {
    st = failv(where, "a constant without a name");
  } else if (lsp_onnx_map_get(&c->consts, t->name, NULL)) {
    st = failv(where, "'%s' is defined twice", t->name);
  } else if (t->dtype == LSP_ONNX_FLOAT) {
    lsp_onnx_model *m = c->m;
    if (t->ndim > 4) {
      st = failv(where, "rank %d; lsprobe's parameters have at most 4 dims",
                 t->ndim);
    } else if (m->ninits == m->cap_inits) {
      size_t cap = m->cap_inits ? 2 * m->cap_inits : 16;
      lsp_onnx_tensor *nt = realloc(m->inits, cap * sizeof *nt);
      if (!nt) st = lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
      if (nt) m->inits = nt, m->cap_inits = cap;
    }
    if (st == LSP_OK) code = 2 * m->ninits, m->inits[m->ninits++] = *t;
  } else {
    if (c->nints == c->cap_ints) {
      size_t cap = c->cap_ints ? 2 * c->cap_ints : 8;
      lsp_onnx_tensor *nt = realloc(c->ints, cap * sizeof *nt);
      if (!nt) st = lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
      if (nt) c->ints = nt, c->cap_ints = cap;
    }
    if (st == LSP_OK) code = 2 * c->nints + 1, c->ints[c->nints++] = *t;
  }
  if (st != LSP_OK) {
    lsp_onnx_tensor_release(t);
    return st;
  }
  if (lsp_onnx_map_put(&c->consts, t->name, code, NULL) < 0)
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  return LSP_OK;
}

/* The constant a (resolved) name refers to, or NULL. */
static const lsp_onnx_tensor *find_const(const rctx *c, const char *name) {
  size_t code;
  if (!lsp_onnx_map_get(&c->consts, name, &code)) return NULL;
  return code & 1 ? &c->ints[code / 2] : &c->m->inits[code / 2];
}

/* Follow aliases (Identity, all-zero Pad) to the name that holds the value.
 * NULL when they go round in a circle. */
static const char *resolve(const rctx *c, const char *name) {
  size_t k, steps = 0;
  while (lsp_onnx_map_get(&c->amap, name, &k)) {
    name = c->ato[k];
    if (++steps > c->nalias) return NULL;
  }
  return name;
}

static int add_alias(rctx *c, const char *from, const char *to) {
  const char **f = realloc(c->afrom, (c->nalias + 1) * sizeof *f);
  if (f) c->afrom = f;
  const char **t = f ? realloc(c->ato, (c->nalias + 1) * sizeof *t) : NULL;
  if (t) c->ato = t;
  if (!f || !t || lsp_onnx_map_put(&c->amap, from, c->nalias, NULL) < 0)
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  c->afrom[c->nalias] = from;
  c->ato[c->nalias++] = to;
  return LSP_OK;
}

/* ---- model, inputs and outputs ------------------------------------------ */

static int read_opset(const rctx *c, const LspOnnx__ModelProto *mp,
                      int64_t *opset) {
  int found = 0;
  if (!mp->has_ir_version || mp->ir_version < 3 || mp->ir_version > 10)
    return lsp_fail(LSP_EDATA, "%s: IR version %lld is not supported (3–10)%s",
                    c->path, (long long)mp->ir_version,
                    mp->has_ir_version ? "" : " (not an ONNX model?)");
  for (size_t k = 0; k < mp->n_opset_import; k++) {
    const char *d = str(mp->opset_import[k]->domain);
    if (d[0] && strcmp(d, "ai.onnx") != 0) continue;
    if (found++)
      return lsp_fail(LSP_EDATA, "%s: the default opset is imported twice",
                      c->path);
    *opset = mp->opset_import[k]->version;
  }
  if (!found)
    return lsp_fail(LSP_EDATA, "%s: no opset for the default ONNX domain",
                    c->path);
  if (*opset < 1 || *opset > 17)
    return lsp_fail(LSP_EDATA,
                    "%s: opset %lld is not supported (lsprobe "
                    "reads opsets 1–17)",
                    c->path, (long long)*opset);
  return LSP_OK;
}

static int read_io(rctx *c, const LspOnnx__GraphProto *g,
                   const lsp_onnx_tensor *bind, size_t nbind) {
  lsp_onnx_model *m = c->m;
  size_t nreal = 0, first = 0;
  char names[256] = "";
  int st;
  for (size_t k = 0; k < g->n_input; k++) {
    const char *nm = str(g->input[k]->name);
    if (!nm[0])
      return lsp_fail(LSP_EDATA, "%s: graph input %zu has no name", c->path, k);
    if (find_const(c, nm)) continue; /* an initializer listed as input */
    if (nreal == 0) first = k;
    if (nreal >= 1 && nreal <= nbind) { /* bound to a given tensor */
      lsp_onnx_tensor t;
      char where[512];
      snprintf(where, sizeof where, "%s: bound input '%s'", c->path, nm);
      if ((st = lsp_onnx_tensor_copy(&bind[nreal - 1], &t)) != LSP_OK)
        return st;
      free(t.name);
      if (!(t.name = lsp_onnx_strdup(nm))) {
        lsp_onnx_tensor_release(&t);
        return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
      }
      if ((st = add_const(c, &t, where)) != LSP_OK) return st;
    } else {
      size_t at = strlen(names);
      snprintf(names + at, sizeof names - at, "%s'%s'", at ? ", " : "", nm);
    }
    nreal++;
  }
  if (nbind && nreal < nbind + 1)
    return lsp_fail(LSP_EDATA,
                    "%s: %zu tensors given for %zu further graph "
                    "inputs",
                    c->path, nbind, nreal ? nreal - 1 : 0);
  if (nreal == 0)
    return lsp_fail(LSP_EDATA, "%s: the graph has no input", c->path);
  if (nreal > nbind + 1)
    return lsp_fail(LSP_EDATA,
                    "%s: the graph has %zu inputs (%s); lsprobe "
                    "models take one, the others must be initializers",
                    c->path, nreal - nbind, names);
  if ((st = lsp_onnx_input_shape(g->input[first], c->path, &m->in_shape)))
    return st;
  if (!(m->input = lsp_onnx_strdup(g->input[first]->name)))
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  if (g->n_output != 1)
    return lsp_fail(LSP_EDATA,
                    "%s: the graph has %zu outputs; lsprobe models "
                    "have one (the logits)",
                    c->path, g->n_output);
  const LspOnnx__ValueInfoProto *vo = g->output[0];
  if (!str(vo->name)[0])
    return lsp_fail(LSP_EDATA, "%s: the graph output has no name", c->path);
  const LspOnnx__TypeProto__Tensor *tt =
      vo->type ? vo->type->tensor_type : NULL;
  if (vo->type && !tt)
    return lsp_fail(LSP_EDATA, "%s: graph output '%s' is not a tensor", c->path,
                    vo->name);
  if (tt && tt->has_elem_type && tt->elem_type != LSP_ONNX_FLOAT)
    return lsp_fail(LSP_EDATA, "%s: graph output '%s' is not float32", c->path,
                    vo->name);
  return LSP_OK;
}

/* ---- nodes -------------------------------------------------------------- */

static int read_constant(rctx *c, const LspOnnx__NodeProto *pn,
                         const char *where) {
  if (pn->n_attribute != 1)
    return failv(where, "expects exactly one value attribute, has %zu",
                 pn->n_attribute);
  const LspOnnx__AttributeProto *a = pn->attribute[0];
  const char *an = str(a->name);
  int type = a->has_type ? (int)a->type : 0, st;
  lsp_onnx_tensor t;
  memset(&t, 0, sizeof t);
  char what[640];
  snprintf(what, sizeof what, "%s: value", where);
  if (!strcmp(an, "value") && type == 4 && a->t) {
    if ((st = lsp_onnx_tensor_from_pb(a->t, what, 1, &t)) != LSP_OK) return st;
    free(t.name);
    t.name = NULL;
  } else if ((!strcmp(an, "value_float") && type == 1) ||
             (!strcmp(an, "value_floats") && type == 6 && a->n_floats)) {
    int many = type == 6;
    t.dtype = LSP_ONNX_FLOAT;
    t.ndim = many;
    t.count = many ? a->n_floats : 1;
    t.dims[0] = (int64_t)t.count;
    if (!(t.f = malloc(t.count * sizeof *t.f)))
      return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
    for (size_t k = 0; k < t.count; k++) t.f[k] = many ? a->floats[k] : a->f;
  } else if ((!strcmp(an, "value_int") && type == 2) ||
             (!strcmp(an, "value_ints") && type == 7 && a->n_ints)) {
    int many = type == 7;
    t.dtype = LSP_ONNX_INT64;
    t.ndim = many;
    t.count = many ? a->n_ints : 1;
    t.dims[0] = (int64_t)t.count;
    if (!(t.i = malloc(t.count * sizeof *t.i)))
      return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
    for (size_t k = 0; k < t.count; k++) t.i[k] = many ? a->ints[k] : a->i;
  } else {
    return failv(where,
                 "attribute '%s' is not supported (value, value_float"
                 "(s) or value_int(s) of a matching type)",
                 an);
  }
  if (!(t.name = lsp_onnx_strdup(pn->output[0]))) {
    lsp_onnx_tensor_release(&t);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
  }
  return add_const(c, &t, where);
}

/* Pad: the pads (an int64 constant input, or the attribute of opsets up
 * to 10) and the constant value (an input, or the attribute) folded into
 * the node; *zero set when every pad is 0. 8 pads pad an N×C×H×W value, 6
 * an N×C×L one (stored as {begin, 0, end, 0}). */
static int fold_pad(rctx *c, const LspOnnx__NodeProto *pn, size_t nin,
                    lsp_onnx_node *nd, const lsp_onnx_attr_extra *ex,
                    const char *where, int *zero) {
  const int64_t *pv;
  size_t np;
  char vb[200];
  if (c->m->opset <= 10) {
    if (nin != 1 || !ex->has_list)
      return failv(where,
                   "opset %lld: Pad takes one input and the pads attribute",
                   (long long)c->m->opset);
    pv = ex->list, np = ex->nlist;
  } else {
    if (nin < 2 || ex->has_list || ex->has_value)
      return failv(where,
                   "opset %lld: Pad takes its pads (and constant_value) as "
                   "inputs",
                   (long long)c->m->opset);
    const char *pname = resolve(c, pn->input[1]);
    const lsp_onnx_tensor *p = pname ? find_const(c, pname) : NULL;
    if (!p || p->dtype != LSP_ONNX_INT64 || p->ndim != 1)
      return failv(where,
                   "pads '%s' must be an int64 constant vector (an "
                   "initializer or a Constant node)",
                   pn->input[1]);
    pv = p->i, np = p->count;
  }
  lsp_onnx_ints_str(pv, np, vb, sizeof vb);
  if (np != 8 && np != 6)
    return failv(where,
                 "pads %s: lsprobe pads N × C × H × W values (8 pads) or "
                 "N × C × L values (6 pads)",
                 vb);
  size_t h = np / 2; /* begin values, then end values */
  if (pv[0] || pv[1] || pv[h] || pv[h + 1])
    return failv(where, "pads %s pad the batch or channel dimension", vb);
  const int64_t map[4] = {pv[2], np == 8 ? pv[3] : 0, pv[h + 2],
                          np == 8 ? pv[h + 3] : 0};
  for (int k = 0; k < 4; k++) {
    if (map[k] < 0 || map[k] > LSP_ONNX_MAX_DIM)
      return failv(where,
                   "pads %s: negative (cropping) or huge pads are not "
                   "supported",
                   vb);
    nd->pads[k] = map[k];
  }
  nd->nspatial = np == 8 ? 2 : 1;
  float value = ex->has_value ? ex->value : 0.0f;
  if (nin == 3) {
    const char *vname = resolve(c, pn->input[2]);
    const lsp_onnx_tensor *v = vname ? find_const(c, vname) : NULL;
    if (!v || v->dtype != LSP_ONNX_FLOAT || v->count != 1)
      return failv(where,
                   "constant_value '%s' must be a float32 constant scalar",
                   pn->input[2]);
    value = v->f[0];
  }
  if (!(isfinite(value) || value == -INFINITY))
    return failv(where, "constant_value %g is not supported (finite or -inf)",
                 (double)value);
  nd->pad_value = nd->pad_mode == LSP_ONNX_PAD_CONSTANT ? value : 0.0f;
  *zero = !map[0] && !map[1] && !map[2] && !map[3];
  return LSP_OK;
}

/* Reshape: the target shape (an int64 constant input, or the attribute of
 * opsets up to 4) into the node, 2 to 4 entries. */
static int fold_reshape(rctx *c, const LspOnnx__NodeProto *pn, size_t nin,
                        lsp_onnx_node *nd, const lsp_onnx_attr_extra *ex,
                        const char *where) {
  const int64_t *sv;
  size_t ns;
  char vb[200];
  if (nin == 1) {
    if (!ex->has_list)
      return failv(where, "no target shape (an input since opset 5)");
    sv = ex->list, ns = ex->nlist;
  } else {
    if (ex->has_list)
      return failv(where, "the shape is given twice (attribute and input)");
    const char *sname = resolve(c, pn->input[1]);
    const lsp_onnx_tensor *s = sname ? find_const(c, sname) : NULL;
    if (!s || s->dtype != LSP_ONNX_INT64 || s->ndim != 1)
      return failv(where,
                   "shape '%s' must be an int64 constant vector (an "
                   "initializer or a Constant node)",
                   pn->input[1]);
    sv = s->i, ns = s->count;
  }
  lsp_onnx_ints_str(sv, ns, vb, sizeof vb);
  if (ns < 2 || ns > 4)
    return failv(where,
                 "shape %s: lsprobe reshapes to N × D, N × C × L or "
                 "N × C × H × W",
                 vb);
  for (size_t k = 0; k < ns; k++) {
    if (ex->allowzero && sv[k] == 0)
      return failv(where, "shape %s with allowzero = 1 makes an empty tensor",
                   vb);
    if (sv[k] < -1 || sv[k] > LSP_ONNX_MAX_DIM)
      return failv(where, "shape %s: unsupported value %lld", vb,
                   (long long)sv[k]);
    nd->shape[k] = sv[k];
  }
  nd->shape_rank = (int)ns;
  return LSP_OK;
}

static int read_node(rctx *c, const LspOnnx__NodeProto *pn, size_t idx, int op,
                     int min_in, int max_in, const char *where) {
  size_t nin = pn->n_input;
  while (nin && !str(pn->input[nin - 1])[0]) nin--; /* omitted optionals */
  if ((int)nin < min_in || (int)nin > max_in)
    return failv(where, "%zu inputs; expected %d%s%.0d", nin, min_in,
                 max_in > min_in ? " to " : "", max_in > min_in ? max_in : 0);
  for (size_t k = 0; k < nin; k++)
    if (!str(pn->input[k])[0])
      return failv(where, "input %zu is empty (a required input)", k);
  if (op == OP_CONSTANT) return read_constant(c, pn, where);
  if (op == OP_IDENTITY) return add_alias(c, pn->output[0], pn->input[0]);
  int nkeep = op == LSP_ONNX_PAD || op == LSP_ONNX_RESHAPE ? 1 : (int)nin;
  lsp_onnx_node *nd =
      lsp_onnx_add_node(c->m, (lsp_onnx_op)op, pn->name, nkeep,
                        (const char *const *)pn->input, pn->output[0]);
  if (!nd) return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
  nd->index = idx;
  int zero = 0, st;
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
  if (op != LSP_ONNX_PAD) return LSP_OK;
  if ((st = fold_pad(c, pn, nin, nd, &ex, where, &zero)) != LSP_OK) return st;
  if (!zero) return LSP_OK;
  lsp_onnx_drop_last_node(c->m); /* pads nothing: an alias */
  return add_alias(c, pn->output[0], pn->input[0]);
}

/* Pass 3 (every node's op and outputs) then pass 4 (Constant and Identity
 * first, the ops after, so that a constant may follow its user). */
static int read_nodes(rctx *c, const LspOnnx__GraphProto *g) {
  char where[512];
  int st;
  for (int pass = 0; pass < 3; pass++) {
    for (size_t i = 0; i < g->n_node; i++) {
      const LspOnnx__NodeProto *pn = g->node[i];
      const char *ot = str(pn->op_type), *dom = str(pn->domain);
      lsp_onnx_where(where, sizeof where, c->path, pn->name, i, ot);
      size_t o = 0;
      while (o < N_OPS && strcmp(k_ops[o].name, ot) != 0) o++;
      if (pass == 0) {
        if (dom[0] && strcmp(dom, "ai.onnx") != 0)
          return failv(where,
                       "domain '%s' is not supported (only the default "
                       "ONNX domain)",
                       dom);
        if (o == N_OPS)
          return failv(where,
                       "op not supported by lsprobe (it reads Conv, "
                       "Gemm, MatMul, Add, Sub, Mul, Div, Relu, MaxPool, "
                       "AveragePool, GlobalAveragePool, BatchNormalization, "
                       "Flatten, Reshape, Pad, Constant, Identity)");
        size_t nout = pn->n_output;
        while (nout && !str(pn->output[nout - 1])[0]) nout--;
        if (nout == 0 || !str(pn->output[0])[0])
          return failv(where, "no output");
        if (nout > 1)
          return failv(where, "%zu outputs; only the first (%s) is supported",
                       nout,
                       k_ops[o].op == LSP_ONNX_BATCHNORM
                           ? "inference; not the training statistics"
                           : "Y; not the Indices");
        size_t other;
        const char *out = pn->output[0];
        if (lsp_onnx_map_put(&c->produced, out, i, &other) == 1) {
          char lb[32];
          return failv(
              where, "output '%s' is also produced by node '%s'", out,
              lsp_onnx_node_label(g->node[other]->name, other, lb, sizeof lb));
        }
        if (find_const(c, out) || !strcmp(out, c->m->input))
          return failv(
              where, "output '%s' has the name of %s", out,
              find_const(c, out) ? "an initializer" : "the graph input");
        continue;
      }
      int early = k_ops[o].op >= OP_CONSTANT;
      if ((pass == 1) != early) continue;
      st = read_node(c, pn, i, k_ops[o].op, k_ops[o].min_in, k_ops[o].max_in,
                     where);
      if (st != LSP_OK) return st;
    }
  }
  return LSP_OK;
}

/* Pass 5: every input and the graph output through the aliases. */
static int resolve_names(rctx *c) {
  lsp_onnx_model *m = c->m;
  char where[512];
  for (size_t k = 0; k < m->nnodes; k++) {
    lsp_onnx_node *nd = &m->nodes[k];
    lsp_onnx_where(where, sizeof where, c->path, nd->name, nd->index,
                   lsp_onnx_op_name(nd->op));
    for (int j = 0; j < nd->ninputs; j++) {
      const char *r = resolve(c, nd->inputs[j]);
      if (!r)
        return failv(where, "Identity nodes form a cycle at '%s'",
                     nd->inputs[j]);
      const lsp_onnx_tensor *t = find_const(c, r);
      if (t && t->dtype == LSP_ONNX_INT64)
        return failv(where,
                     "input '%s' is an int64 tensor; only float32 is "
                     "supported",
                     r);
      if (r == nd->inputs[j]) continue;
      char *d = lsp_onnx_strdup(r);
      if (!d) return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
      free(nd->inputs[j]);
      nd->inputs[j] = d;
    }
  }
  const char *r = resolve(c, m->output);
  if (!r)
    return lsp_fail(LSP_EDATA,
                    "%s: Identity nodes form a cycle at the graph "
                    "output '%s'",
                    c->path, m->output);
  if (r != m->output) {
    char *d = lsp_onnx_strdup(r);
    if (!d) return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
    free(m->output);
    m->output = d;
  }
  return LSP_OK;
}

/* A defective initializer: the message gets the file and, when a node uses
 * the initializer, that node. */
static int init_fail(const rctx *c, const LspOnnx__GraphProto *g,
                     const char *name, int st) {
  char where[512];
  for (size_t i = 0; i < g->n_node; i++)
    for (size_t j = 0; j < g->node[i]->n_input; j++)
      if (!strcmp(str(g->node[i]->input[j]), name)) {
        lsp_onnx_where(where, sizeof where, c->path, g->node[i]->name, i,
                       str(g->node[i]->op_type));
        return lsp_fail_prefix(st, where);
      }
  return lsp_fail_prefix(st, c->path);
}

static int convert(rctx *c, const LspOnnx__ModelProto *mp,
                   const lsp_onnx_tensor *bind, size_t nbind) {
  lsp_onnx_model *m = c->m;
  int st;
  if ((st = read_opset(c, mp, &m->opset)) != LSP_OK) return st;
  m->ir_version = mp->ir_version;
  const LspOnnx__GraphProto *g = mp->graph;
  if (!g) return lsp_fail(LSP_EDATA, "%s: the model has no graph", c->path);
  if (g->n_sparse_initializer)
    return lsp_fail(LSP_EDATA, "%s: sparse initializers are not supported",
                    c->path);
  if (lsp_onnx_map_init(&c->consts, g->n_initializer + nbind) < 0 ||
      lsp_onnx_map_init(&c->produced, g->n_node) < 0 ||
      lsp_onnx_map_init(&c->amap, 8) < 0)
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  for (size_t k = 0; k < g->n_initializer; k++) {
    char what[512];
    snprintf(what, sizeof what, "initializer '%s'",
             str(g->initializer[k]->name));
    lsp_onnx_tensor t;
    if ((st = lsp_onnx_tensor_from_pb(g->initializer[k], what, 1, &t)) ||
        (st = add_const(c, &t, what)))
      return init_fail(c, g, str(g->initializer[k]->name), st);
  }
  if ((st = read_io(c, g, bind, nbind)) != LSP_OK) return st;
  if (!(m->output = lsp_onnx_strdup(g->output[0]->name)))
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  if ((st = read_nodes(c, g)) != LSP_OK) return st;
  if ((st = resolve_names(c)) != LSP_OK) return st;
  if ((st = lsp_onnx_check(m, c->path)) != LSP_OK) return st;
  return lsp_onnx_output_shape(g->output[0], c->path,
                               &m->nodes[m->nnodes - 1].out);
}

int lsp_onnx_read_mem(const void *buf, size_t len, const char *path,
                      const lsp_onnx_tensor *bind, size_t nbind,
                      lsp_onnx_model **out) {
  *out = NULL;
  lsp_onnx_pbmem mem = {0, 0, lsp_onnx_pb_limit(len)};
  LspOnnx__ModelProto *mp = lsp_onnx_pb_model(buf, len, &mem);
  if (!mp) {
    if (mem.peak + 4096 >= mem.limit)
      return lsp_fail(LSP_EDATA,
                      "%s: the protobuf needs more than %zu MB to "
                      "unpack",
                      path, mem.limit >> 20);
    return lsp_fail(LSP_EDATA, "%s: not an ONNX model (malformed protobuf)",
                    path);
  }
  rctx c;
  memset(&c, 0, sizeof c);
  c.path = path;
  c.m = calloc(1, sizeof *c.m);
  int st = c.m ? convert(&c, mp, bind, nbind)
               : lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  lsp_onnx_pb_free(&mp->base, &mem);
  for (size_t k = 0; k < c.nints; k++) lsp_onnx_tensor_release(&c.ints[k]);
  free(c.ints);
  free(c.afrom);
  free(c.ato);
  lsp_onnx_map_free(&c.consts);
  lsp_onnx_map_free(&c.produced);
  lsp_onnx_map_free(&c.amap);
  if (st != LSP_OK) {
    lsp_onnx_model_free(c.m);
    return st;
  }
  *out = c.m;
  return LSP_OK;
}

int lsp_onnx_read(const char *path, lsp_onnx_model **out) {
  *out = NULL;
  char *buf = NULL;
  size_t len = 0;
  int st = lsp_read_file(path, &buf, &len);
  if (st != LSP_OK) return st;
  st = lsp_onnx_read_mem(buf, len, path, NULL, 0, out);
  free(buf);
  return st;
}
