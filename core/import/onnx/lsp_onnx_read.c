/* lsp_onnx_read.c — an ONNX file into the validated description.
 *
 * The protobuf is unpacked by protobuf-c (lsp_onnx.proto: only the fields
 * lsprobe uses; the rest are skipped), then read in passes over the graph:
 *   1. the model: IR version, the default-domain opset (1–20), the graph;
 *   2. initializers (float32 kept, int64 set aside for Pad/Reshape), the one
 *      graph input (others bound to given tensors), the one output;
 *   3. every node's domain, op and outputs; Constant nodes become constants,
 *      Identity nodes aliases;
 *   4. the other nodes with their attributes; Pad's pads and Reshape's shape
 *      are looked up among the int64 constants and folded in, an all-zero
 *      Pad becomes an alias (passes 3 and 4: lsp_onnx_nodes.c);
 *   5. every name is resolved through the aliases;
 * then lsp_onnx_check orders, prunes and shape-checks the result and the
 * output's declared shape is compared with the computed one. The protobuf
 * tree (with its copies of unknown fields) is freed before returning. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/onnx/lsp_onnx_read_int.h"

/* ---- the reader's context (lsp_onnx_read_int.h) ------------------------- */

int lsp_onnx_fail_at(const char *where, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return lsp_fail(LSP_EDATA, "%s: %s", where, msg);
}

int lsp_onnx_rd_add_const(lsp_onnx_rctx *c, lsp_onnx_tensor *t,
                          const char *where) {
  int st = LSP_OK;
  size_t code = 0;
  if (!t->name[0]) {
    st = lsp_onnx_fail_at(where, "a constant without a name");
  } else if (lsp_onnx_map_get(&c->consts, t->name, NULL)) {
    st = lsp_onnx_fail_at(where, "'%s' is defined twice", t->name);
  } else if (t->dtype == LSP_ONNX_FLOAT) {
    lsp_onnx_model *m = c->m;
    if (t->ndim > 4) {
      st = lsp_onnx_fail_at(
          where, "rank %d; lsprobe's parameters have at most 4 dims", t->ndim);
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

const lsp_onnx_tensor *lsp_onnx_rd_const(const lsp_onnx_rctx *c,
                                         const char *name) {
  size_t code;
  if (!lsp_onnx_map_get(&c->consts, name, &code)) return NULL;
  return code & 1 ? &c->ints[code / 2] : &c->m->inits[code / 2];
}

const char *lsp_onnx_rd_resolve(const lsp_onnx_rctx *c, const char *name) {
  size_t k, steps = 0;
  while (lsp_onnx_map_get(&c->amap, name, &k)) {
    name = c->ato[k];
    if (++steps > c->nalias) return NULL;
  }
  return name;
}

int lsp_onnx_rd_alias(lsp_onnx_rctx *c, const char *from, const char *to,
                      const char *node) {
  const char **f = realloc(c->afrom, (c->nalias + 1) * sizeof *f);
  if (f) c->afrom = f;
  const char **t = f ? realloc(c->ato, (c->nalias + 1) * sizeof *t) : NULL;
  if (t) c->ato = t;
  const char **n = t ? realloc(c->anode, (c->nalias + 1) * sizeof *n) : NULL;
  if (n) c->anode = n;
  if (!n || lsp_onnx_map_put(&c->amap, from, c->nalias, NULL) < 0)
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  c->afrom[c->nalias] = from;
  c->anode[c->nalias] = node;
  c->ato[c->nalias++] = to;
  return LSP_OK;
}

/* The aliases into the description: each output and node name with the
 * value it resolves to (a cycle keeps none). */
static int keep_aliases(lsp_onnx_rctx *c) {
  lsp_onnx_model *m = c->m;
  size_t n = 2 * c->nalias;
  if (!n) return LSP_OK;
  m->alias_name = calloc(n, sizeof *m->alias_name);
  m->alias_value = calloc(n, sizeof *m->alias_value);
  if (!m->alias_name || !m->alias_value)
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  for (size_t k = 0; k < c->nalias; k++) {
    const char *to = lsp_onnx_rd_resolve(c, c->afrom[k]);
    for (int j = 0; to && j < 2; j++) {
      const char *name = j ? lsp_onnx_str(c->anode[k]) : c->afrom[k];
      if (!name[0]) continue;
      size_t a = m->naliases;
      if (!(m->alias_name[a] = lsp_onnx_strdup(name)) ||
          !(m->alias_value[a] = lsp_onnx_strdup(to)))
        return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
      m->naliases++;
    }
  }
  return LSP_OK;
}

/* ---- model, inputs and outputs ------------------------------------------ */

static int read_opset(const lsp_onnx_rctx *c, const LspOnnx__ModelProto *mp,
                      int64_t *opset) {
  int found = 0;
  if (!mp->has_ir_version || mp->ir_version < 3 || mp->ir_version > 10)
    return lsp_fail(LSP_EDATA, "%s: IR version %lld is not supported (3–10)%s",
                    c->path, (long long)mp->ir_version,
                    mp->has_ir_version ? "" : " (not an ONNX model?)");
  for (size_t k = 0; k < mp->n_opset_import; k++) {
    const char *d = lsp_onnx_str(mp->opset_import[k]->domain);
    if (d[0] && strcmp(d, "ai.onnx") != 0) continue;
    if (found++)
      return lsp_fail(LSP_EDATA, "%s: the default opset is imported twice",
                      c->path);
    *opset = mp->opset_import[k]->version;
  }
  if (!found)
    return lsp_fail(LSP_EDATA, "%s: no opset for the default ONNX domain",
                    c->path);
  if (*opset < 1 || *opset > 20)
    return lsp_fail(LSP_EDATA,
                    "%s: opset %lld is not supported (lsprobe "
                    "reads opsets 1–20)",
                    c->path, (long long)*opset);
  return LSP_OK;
}

static int read_io(lsp_onnx_rctx *c, const LspOnnx__GraphProto *g,
                   const lsp_onnx_tensor *bind, size_t nbind) {
  lsp_onnx_model *m = c->m;
  size_t nreal = 0, first = 0;
  char names[256] = "", inits[256] = "";
  int st;
  for (size_t k = 0; k < g->n_input; k++) {
    const char *nm = lsp_onnx_str(g->input[k]->name);
    if (!nm[0])
      return lsp_fail(LSP_EDATA, "%s: graph input %zu has no name", c->path, k);
    if (lsp_onnx_map_get(&c->unused, nm, NULL)) continue;
    if (lsp_onnx_rd_const(c, nm)) { /* an initializer listed as input */
      size_t at = strlen(inits);
      snprintf(inits + at, sizeof inits - at, "%s'%s'", at ? ", " : "", nm);
      continue;
    }
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
      if ((st = lsp_onnx_rd_add_const(c, &t, where)) != LSP_OK) return st;
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
  if (nreal == 0 && inits[0])
    return lsp_fail(LSP_EDATA,
                    "%s: the graph has no input: its input %s shares its "
                    "name with an initializer, which ONNX takes as that "
                    "input's value (IR < 4 lists every initializer among the "
                    "inputs; from IR 4 on it is a default), and lsprobe "
                    "reads such an input as that constant; the model needs "
                    "an input that no initializer names",
                    c->path, inits);
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
  if (!lsp_onnx_str(vo->name)[0])
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

/* Pass 5: every input and the graph output through the aliases. */
static int resolve_names(lsp_onnx_rctx *c) {
  lsp_onnx_model *m = c->m;
  char where[512];
  for (size_t k = 0; k < m->nnodes; k++) {
    lsp_onnx_node *nd = &m->nodes[k];
    lsp_onnx_where(where, sizeof where, c->path, nd->name, nd->index,
                   lsp_onnx_node_op(nd));
    for (int j = 0; j < nd->ninputs; j++) {
      const char *r = lsp_onnx_rd_resolve(c, nd->inputs[j]);
      if (!r)
        return lsp_onnx_fail_at(where, "Identity nodes form a cycle at '%s'",
                                nd->inputs[j]);
      const lsp_onnx_tensor *t = lsp_onnx_rd_const(c, r);
      if (t && (t->dtype == LSP_ONNX_INT64 || t->dtype == LSP_ONNX_BOOL))
        return lsp_onnx_fail_at(
            where,
            "input '%s' is %s tensor; only float32 is "
            "supported",
            r, t->dtype == LSP_ONNX_BOOL ? "a bool" : "an int64");
      if (r == nd->inputs[j]) continue;
      char *d = lsp_onnx_strdup(r);
      if (!d) return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
      free(nd->inputs[j]);
      nd->inputs[j] = d;
    }
  }
  const char *r = lsp_onnx_rd_resolve(c, m->output);
  if (!r)
    return lsp_fail(LSP_EDATA,
                    "%s: Identity nodes form a cycle at the graph "
                    "output '%s'",
                    c->path, m->output);
  if (r != m->output && (!strcmp(r, m->input) || lsp_onnx_rd_const(c, r))) {
    /* named as the file names it: the checker sees only the resolved name */
    int sm = m->softmax_out && !strcmp(m->softmax_out, m->output);
    return lsp_fail(LSP_EDATA,
                    "%s: the graph output '%s' is %s %s '%s'; lsprobe needs "
                    "at least one op between input and output",
                    c->path, m->output,
                    sm ? (!strcmp(m->softmax_op, "Softmax") ? "the Softmax of"
                                                           : "the LogSoftmax of")
                       : "an unchanged copy (Identity, Dropout or an all-zero "
                         "Pad) of",
                    strcmp(r, m->input) ? "the constant" : "the graph input", r);
  }
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
static int init_fail(const lsp_onnx_rctx *c, const LspOnnx__GraphProto *g,
                     const char *name, int st) {
  char where[512];
  for (size_t i = 0; i < g->n_node; i++)
    for (size_t j = 0; j < g->node[i]->n_input; j++)
      if (!strcmp(lsp_onnx_str(g->node[i]->input[j]), name)) {
        lsp_onnx_where(where, sizeof where, c->path, g->node[i]->name, i,
                       lsp_onnx_str(g->node[i]->op_type));
        return lsp_fail_prefix(st, where);
      }
  return lsp_fail_prefix(st, c->path);
}

/* c->unused: the initializers that no node reads and that are not the
 * graph output (the checker would drop them; their type does not matter). */
static int find_unused(lsp_onnx_rctx *c, const LspOnnx__GraphProto *g) {
  lsp_onnx_map read;
  size_t n = g->n_output;
  for (size_t i = 0; i < g->n_node; i++) n += g->node[i]->n_input;
  if (lsp_onnx_map_init(&read, n + 1) < 0 ||
      lsp_onnx_map_init(&c->unused, 8) < 0) {
    lsp_onnx_map_free(&read);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  }
  int st = LSP_OK;
  for (size_t i = 0; st == LSP_OK && i < g->n_node; i++)
    for (size_t j = 0; j < g->node[i]->n_input; j++)
      if (lsp_onnx_map_put(&read, lsp_onnx_str(g->node[i]->input[j]), 0,
                           NULL) < 0)
        st = LSP_ENOMEM;
  for (size_t k = 0; st == LSP_OK && k < g->n_output; k++)
    if (lsp_onnx_map_put(&read, lsp_onnx_str(g->output[k]->name), 0, NULL) < 0)
      st = LSP_ENOMEM;
  for (size_t k = 0; st == LSP_OK && k < g->n_initializer; k++) {
    const char *nm = lsp_onnx_str(g->initializer[k]->name);
    if (nm[0] && !lsp_onnx_map_get(&read, nm, NULL) &&
        lsp_onnx_map_put(&c->unused, nm, k, NULL) < 0)
      st = LSP_ENOMEM;
  }
  lsp_onnx_map_free(&read);
  return st == LSP_OK ? st : lsp_fail(st, "%s: out of memory", c->path);
}

static int convert(lsp_onnx_rctx *c, const LspOnnx__ModelProto *mp,
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
  if ((st = find_unused(c, g)) != LSP_OK) return st;
  for (size_t k = 0; k < g->n_initializer; k++) {
    char what[512];
    if (lsp_onnx_map_get(&c->unused, lsp_onnx_str(g->initializer[k]->name),
                         NULL))
      continue; /* read by no node: dropped unread, whatever its type */
    snprintf(what, sizeof what, "initializer '%s'",
             lsp_onnx_str(g->initializer[k]->name));
    lsp_onnx_tensor t;
    if ((st = lsp_onnx_tensor_from_pb(g->initializer[k], what, 1, &t)) ||
        (st = lsp_onnx_rd_add_const(c, &t, what)))
      return init_fail(c, g, lsp_onnx_str(g->initializer[k]->name), st);
  }
  if ((st = read_io(c, g, bind, nbind)) != LSP_OK) return st;
  if (!(m->output = lsp_onnx_strdup(g->output[0]->name)))
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", c->path);
  if ((st = lsp_onnx_rd_nodes(c, g)) != LSP_OK) return st;
  if ((st = resolve_names(c)) != LSP_OK || (st = keep_aliases(c)) != LSP_OK ||
      (st = lsp_onnx_rd_reduce_nhwc(m)) != LSP_OK)
    return st;
  if ((st = lsp_onnx_check(m, c->path)) != LSP_OK) return st;
  return lsp_onnx_output_shape(g->output[0], c->path,
                               &m->nodes[m->nnodes - 1].out);
}

int lsp_onnx_read_mem(const void *buf, size_t len, const char *path,
                      const lsp_onnx_tensor *bind, size_t nbind,
                      lsp_onnx_model **out) {
  *out = NULL;
  if (len == 0) /* a valid empty protobuf, but no model */
    return lsp_fail(LSP_EDATA, "%s: empty file", path);
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
  lsp_onnx_rctx c;
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
  free(c.anode);
  lsp_onnx_map_free(&c.consts);
  lsp_onnx_map_free(&c.produced);
  lsp_onnx_map_free(&c.amap);
  lsp_onnx_map_free(&c.unused);
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
