/* lsp_onnx_model.c — the ONNX description: allocation, building by hand,
 * lookups, and the small helpers the reader, checker and writer share. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_int.h"

static const char *const k_op_names[] = {NULL,
                                         "Conv",
                                         "Gemm",
                                         "MatMul",
                                         "Add",
                                         "Relu",
                                         "MaxPool",
                                         "AveragePool",
                                         "GlobalAveragePool",
                                         "BatchNormalization",
                                         "Flatten",
                                         "Reshape",
                                         "Pad",
                                         "Sub",
                                         "Mul",
                                         "Div",
                                         "Concat",
                                         "ReduceMean",
                                         "Sigmoid",
                                         "Tanh",
                                         "LeakyRelu",
                                         "Elu",
                                         "Selu",
                                         "Clip",
                                         "HardSigmoid",
                                         "HardSwish",
                                         "Softplus",
                                         "Erf",
                                         "Gelu",
                                         "GlobalMaxPool",
                                         "ReduceMax",
                                         "Transpose"};

const char *lsp_onnx_op_name(lsp_onnx_op op) {
  if ((int)op < LSP_ONNX_CONV || (int)op > LSP_ONNX_OP_LAST) return "?";
  return k_op_names[op];
}

char *lsp_onnx_strdup(const char *s) {
  if (!s) s = "";
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

const char *lsp_onnx_node_label(const char *name, size_t index, char *buf,
                                size_t len) {
  if (name && name[0]) return name;
  snprintf(buf, len, "#%zu", index);
  return buf;
}

void lsp_onnx_where(char *buf, size_t len, const char *path, const char *name,
                    size_t index, const char *op) {
  char lb[32];
  snprintf(buf, len, "%s: node '%s' (%s)", path,
           lsp_onnx_node_label(name, index, lb, sizeof lb), op);
}

const char *lsp_onnx_node_op(const lsp_onnx_node *nd) {
  static const char *const from[] = {"Squeeze", "Gather", "Slice"};
  if (nd->op == LSP_ONNX_RESHAPE && nd->pick.from >= LSP_ONNX_PICK_SQUEEZE &&
      nd->pick.from <= LSP_ONNX_PICK_SLICE)
    return from[nd->pick.from - LSP_ONNX_PICK_SQUEEZE];
  return lsp_onnx_op_name(nd->op);
}

int lsp_onnx_node_fail(const char *path, const lsp_onnx_node *nd,
                       const char *fmt, ...) {
  char where[512], msg[768];
  lsp_onnx_where(where, sizeof where, path, nd->name, nd->index,
                 lsp_onnx_node_op(nd));
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return lsp_fail(LSP_EDATA, "%s: %s", where, msg);
}

void lsp_onnx_ints_str(const int64_t *v, size_t n, char *buf, size_t len) {
  size_t at = 0;
  if (len == 0) return;
  buf[0] = '\0';
  for (size_t k = 0; k < n && at + 1 < len; k++) {
    int w =
        snprintf(buf + at, len - at, "%s%lld", k ? ", " : "[", (long long)v[k]);
    if (w < 0) return;
    at += (size_t)w;
  }
  if (at + 1 < len) snprintf(buf + at, len - at, n ? "]" : "[]");
}

/* ---- the name map ----------------------------------------------------- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

int lsp_onnx_map_init(lsp_onnx_map *mp, size_t expected) {
  size_t cap = 16;
  while (cap < 2 * expected + 2) cap *= 2;
  mp->keys = calloc(cap, sizeof *mp->keys);
  mp->vals = calloc(cap, sizeof *mp->vals);
  mp->cap = cap;
  mp->n = 0;
  if (!mp->keys || !mp->vals) {
    lsp_onnx_map_free(mp);
    return -1;
  }
  return 0;
}

void lsp_onnx_map_free(lsp_onnx_map *mp) {
  free(mp->keys);
  free(mp->vals);
  mp->keys = NULL;
  mp->vals = NULL;
  mp->cap = mp->n = 0;
}

static size_t map_slot(const lsp_onnx_map *mp, const char *key) {
  size_t i = (size_t)hash_str(key) & (mp->cap - 1);
  while (mp->keys[i] && strcmp(mp->keys[i], key) != 0)
    i = (i + 1) & (mp->cap - 1);
  return i;
}

int lsp_onnx_map_put(lsp_onnx_map *mp, const char *key, size_t val,
                     size_t *old) {
  if (2 * (mp->n + 1) > mp->cap) { /* grow: keep the load under 1/2 */
    lsp_onnx_map big;
    if (lsp_onnx_map_init(&big, mp->cap) != 0) return -1;
    for (size_t i = 0; i < mp->cap; i++) {
      if (!mp->keys[i]) continue;
      size_t s = map_slot(&big, mp->keys[i]);
      big.keys[s] = mp->keys[i];
      big.vals[s] = mp->vals[i];
      big.n++;
    }
    lsp_onnx_map_free(mp);
    *mp = big;
  }
  size_t s = map_slot(mp, key);
  if (mp->keys[s]) {
    if (old) *old = mp->vals[s];
    return 1;
  }
  mp->keys[s] = key;
  mp->vals[s] = val;
  mp->n++;
  return 0;
}

int lsp_onnx_map_get(const lsp_onnx_map *mp, const char *key, size_t *val) {
  if (!mp->cap) return 0;
  size_t s = map_slot(mp, key);
  if (!mp->keys[s]) return 0;
  if (val) *val = mp->vals[s];
  return 1;
}

/* ---- tensors ------------------------------------------------------------ */

void lsp_onnx_tensor_release(lsp_onnx_tensor *t) {
  if (!t) return;
  free(t->name);
  free(t->f);
  free(t->i);
  memset(t, 0, sizeof *t);
}

int lsp_onnx_tensor_copy(const lsp_onnx_tensor *src, lsp_onnx_tensor *dst) {
  *dst = *src;
  dst->name = lsp_onnx_strdup(src->name);
  dst->f = NULL;
  dst->i = NULL;
  int ints = src->dtype != LSP_ONNX_FLOAT;
  size_t esz = ints ? sizeof(int64_t) : sizeof(float);
  void *data = malloc(src->count * esz);
  if (!dst->name || !data) {
    free(data);
    lsp_onnx_tensor_release(dst);
    return lsp_fail(LSP_ENOMEM, "out of memory copying tensor '%s'",
                    src->name ? src->name : "");
  }
  memcpy(data, ints ? (void *)src->i : (void *)src->f, src->count * esz);
  if (ints)
    dst->i = data;
  else
    dst->f = data;
  return LSP_OK;
}

/* ---- the model ---------------------------------------------------------- */

static void node_release(lsp_onnx_node *nd) {
  free(nd->name);
  for (int k = 0; k < LSP_ONNX_MAXIN; k++) free(nd->inputs[k]);
  free(nd->output);
}

void lsp_onnx_drop_last_node(lsp_onnx_model *m) {
  if (m->nnodes) node_release(&m->nodes[--m->nnodes]);
}

void lsp_onnx_model_free(lsp_onnx_model *m) {
  if (!m) return;
  for (size_t k = 0; k < m->nnodes; k++) node_release(&m->nodes[k]);
  for (size_t k = 0; k < m->ninits; k++) lsp_onnx_tensor_release(&m->inits[k]);
  free(m->nodes);
  free(m->inits);
  for (size_t k = 0; k < m->naliases; k++) {
    free(m->alias_name[k]);
    free(m->alias_value[k]);
  }
  free(m->alias_name);
  free(m->alias_value);
  free(m->softmax_op);
  free(m->softmax_out);
  free(m->input);
  free(m->output);
  free(m);
}

lsp_onnx_model *lsp_onnx_model_alloc(const char *input,
                                     const lsp_onnx_shape *in_shape,
                                     const char *output) {
  lsp_onnx_model *m = calloc(1, sizeof *m);
  if (!m) goto oom;
  m->ir_version = 8;
  m->opset = 13;
  m->input = lsp_onnx_strdup(input);
  m->output = lsp_onnx_strdup(output);
  if (!m->input || !m->output) goto oom;
  if (in_shape) m->in_shape = *in_shape;
  return m;
oom:
  lsp_onnx_model_free(m);
  lsp_fail(LSP_ENOMEM, "out of memory for an ONNX model description");
  return NULL;
}

int lsp_onnx_add_init(lsp_onnx_model *m, const char *name, int ndim,
                      const int64_t *dims, const float *data) {
  if (ndim < 0 || ndim > 4)
    return lsp_fail(LSP_EINVAL, "initializer '%s': rank %d (at most 4)", name,
                    ndim);
  size_t count = 1;
  for (int k = 0; k < ndim; k++) {
    if (dims[k] < 1 || dims[k] > LSP_ONNX_MAX_DIM)
      return lsp_fail(LSP_EINVAL, "initializer '%s': dimension %lld", name,
                      (long long)dims[k]);
    count *= (size_t)dims[k];
    if (count > (size_t)LSP_ONNX_MAX_COUNT)
      return lsp_fail(LSP_EINVAL, "initializer '%s': too large", name);
  }
  if (m->ninits == m->cap_inits) {
    size_t cap = m->cap_inits ? 2 * m->cap_inits : 8;
    lsp_onnx_tensor *t = realloc(m->inits, cap * sizeof *t);
    if (!t) return lsp_fail(LSP_ENOMEM, "out of memory for initializers");
    m->inits = t;
    m->cap_inits = cap;
  }
  lsp_onnx_tensor *t = &m->inits[m->ninits];
  memset(t, 0, sizeof *t);
  t->name = lsp_onnx_strdup(name);
  t->dtype = LSP_ONNX_FLOAT;
  t->ndim = ndim;
  for (int k = 0; k < ndim; k++) t->dims[k] = dims[k];
  t->count = count;
  t->f = malloc(count * sizeof(float));
  if (!t->name || !t->f) {
    lsp_onnx_tensor_release(t);
    return lsp_fail(LSP_ENOMEM, "out of memory for initializer '%s'", name);
  }
  memcpy(t->f, data, count * sizeof(float));
  m->ninits++;
  return LSP_OK;
}

lsp_onnx_node *lsp_onnx_add_node(lsp_onnx_model *m, lsp_onnx_op op,
                                 const char *name, int ninputs,
                                 const char *const *inputs,
                                 const char *output) {
  if (ninputs < 0 || ninputs > LSP_ONNX_MAXIN) {
    lsp_fail(LSP_EINVAL, "node '%s': %d inputs", name ? name : "", ninputs);
    return NULL;
  }
  if (m->nnodes == m->cap_nodes) {
    size_t cap = m->cap_nodes ? 2 * m->cap_nodes : 16;
    lsp_onnx_node *nn = realloc(m->nodes, cap * sizeof *nn);
    if (!nn) {
      lsp_fail(LSP_ENOMEM, "out of memory for nodes");
      return NULL;
    }
    m->nodes = nn;
    m->cap_nodes = cap;
  }
  lsp_onnx_node *nd = &m->nodes[m->nnodes];
  memset(nd, 0, sizeof *nd);
  nd->op = op;
  nd->strides[0] = nd->strides[1] = 1;
  nd->dilations[0] = nd->dilations[1] = 1;
  nd->group = 1;
  nd->shape_rank = 2;
  nd->legacy_bcast = -1;
  nd->legacy_axis = -1;
  nd->alpha = nd->beta = 1.0f;
  nd->epsilon = 1e-5f;
  nd->axis = 1;
  nd->keepdims = 1;
  lsp_onnx_act_defaults(nd);
  nd->index = m->nnodes;
  nd->name = lsp_onnx_strdup(name);
  nd->output = lsp_onnx_strdup(output);
  int ok = nd->name && nd->output;
  nd->ninputs = ninputs;
  for (int k = 0; k < ninputs && ok; k++)
    ok = (nd->inputs[k] = lsp_onnx_strdup(inputs[k])) != NULL;
  if (!ok) {
    node_release(nd);
    lsp_fail(LSP_ENOMEM, "out of memory for a node");
    return NULL;
  }
  m->nnodes++;
  return nd;
}

const lsp_onnx_tensor *lsp_onnx_find_init(const lsp_onnx_model *m,
                                          const char *name) {
  for (size_t k = 0; k < m->ninits; k++)
    if (strcmp(m->inits[k].name, name) == 0) return &m->inits[k];
  return NULL;
}
