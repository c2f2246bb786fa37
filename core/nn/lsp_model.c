/* lsp_model.c — the graph: building it node by node with shape inference,
 * laying out and initializing its tensors, and looking at it. Forward and
 * backward are in lsp_model_exec.c, files in lsp_model_io.c, architectures
 * in lsp_arch.c; everything kind-specific is in the table (lsp_ops.c). */
#include "core/nn/lsp_model.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"
#include "core/nn/lsp_ops.h"

#define MAX_DIM ((size_t)1 << 24)
#define MAX_ELEMS ((size_t)1 << 28)
#define MAX_PARAMS ((size_t)1 << 31)
#define MAX_NODES 4096

void lsp_attrs_default(lsp_op op, lsp_attrs *a) {
  memset(a, 0, sizeof *a);
  a->bias = 1;
  a->kh = a->kw = 1;
  a->sh = a->sw = 1;
  a->count_pad = 1;
  a->dh = a->dw = 1;
  a->groups = 1;
  a->perm = 12;
  a->eps = 1e-5;
  a->momentum = 0.1;
  lsp_act_defaults(op, a);
}

int lsp_attr_optional(const lsp_attr_def *d) {
  return d->off == offsetof(lsp_attrs, groups);
}

int lsp_attr_omitted(const lsp_attrs *a, const lsp_attr_def *d) {
  return lsp_attr_optional(d) && lsp_attr_get(a, d) == 1.0;
}

lsp_model *lsp_model_new(lsp_shape in) {
  if (in.c == 0 || in.h == 0 || in.w == 0 || in.c > MAX_DIM || in.h > MAX_DIM ||
      in.w > MAX_DIM || in.c * in.h > MAX_ELEMS / in.w) {
    lsp_fail(LSP_EINVAL, "input shape %zux%zux%zu is empty or too large", in.c,
             in.h, in.w);
    return NULL;
  }
  lsp_model *m = calloc(1, sizeof *m);
  if (!m) {
    lsp_fail(LSP_ENOMEM, "out of memory for the model");
    return NULL;
  }
  m->in_shape = in;
  m->in_dim = lsp_shape_size(in);
  m->features = LSP_INPUT;
  m->meta.val_accuracy = NAN;
  return m;
}

void lsp_model_free(lsp_model *m) {
  if (!m) return;
  free(m->nodes);
  free(m->params);
  free(m->grads);
  free(m->state);
  free(m);
}

static lsp_shape shape_of(const lsp_model *m, int id) {
  return id == LSP_INPUT ? m->in_shape : m->nodes[id].shape;
}

int lsp_model_add(lsp_model *m, lsp_op op, const lsp_attrs *a, int in0, int in1,
                  const char *name, int *id) {
  const lsp_op_def *d = lsp_op_get(op);
  size_t k = m->nnodes;
  if (!d) return lsp_fail(LSP_EINVAL, "node %zu: unknown kind %d", k, (int)op);
  if (m->params)
    return lsp_fail(LSP_EINVAL, "node %zu: the model is already finished", k);
  if (k >= MAX_NODES)
    return lsp_fail(LSP_EINVAL, "more than %d nodes", MAX_NODES);
  int ins[2] = {in0, in1};
  for (int i = 0; i < d->nin; i++)
    if (ins[i] < LSP_INPUT || ins[i] >= (int)k)
      return lsp_fail(LSP_EINVAL,
                      "node %zu (%s): input %d is not an earlier node", k,
                      d->name, ins[i]);
  if (k % 16 == 0) {
    lsp_node *nn = realloc(m->nodes, (k + 16) * sizeof *nn);
    if (!nn) return lsp_fail(LSP_ENOMEM, "out of memory for the model");
    m->nodes = nn;
  }
  lsp_node *nd = &m->nodes[k];
  memset(nd, 0, sizeof *nd);
  nd->op = op;
  nd->nin = d->nin;
  nd->in[0] = in0;
  nd->in[1] = d->nin > 1 ? in1 : LSP_INPUT;
  nd->a = *a;
  if (name && *name) {
    if (strlen(name) >= LSP_NODE_NAME)
      return lsp_fail(LSP_EINVAL, "node %zu: name '%s' is longer than %d bytes",
                      k, name, LSP_NODE_NAME - 1);
    snprintf(nd->name, sizeof nd->name, "%s", name);
  } else {
    size_t same = 1;
    for (size_t i = 0; i < k; i++) same += m->nodes[i].op == op;
    snprintf(nd->name, sizeof nd->name, "%s%zu", d->name, same);
  }
  for (size_t i = 0; i < k; i++)
    if (strcmp(m->nodes[i].name, nd->name) == 0)
      return lsp_fail(LSP_EINVAL, "node %zu: the name '%s' is taken", k,
                      nd->name);
  lsp_shape in[2] = {shape_of(m, in0),
                     d->nin > 1 ? shape_of(m, in1) : shape_of(m, in0)};
  nd->ishape = in[0];
  nd->ishape1 = in[1];
  char why[200] = "";
  if (d->infer(&nd->a, in, &nd->shape, why, sizeof why))
    return lsp_fail(LSP_EINVAL, "%s (%s on %zux%zux%zu): %s", nd->name, d->name,
                    in[0].c, in[0].h, in[0].w, why);
  if (nd->shape.c * nd->shape.h > MAX_ELEMS / nd->shape.w)
    return lsp_fail(LSP_EINVAL, "%s: output %zux%zux%zu is too large", nd->name,
                    nd->shape.c, nd->shape.h, nd->shape.w);
  m->nnodes = k + 1;
  if (id) *id = (int)k;
  return LSP_OK;
}

int lsp_model_finish(lsp_model *m) {
  if (m->params) return LSP_OK;
  if (m->nnodes == 0) return lsp_fail(LSP_EINVAL, "the model has no layers");
  const lsp_node *head = &m->nodes[m->nnodes - 1];
  if (head->op != LSP_OP_DENSE || !head->a.bias)
    return lsp_fail(
        LSP_EINVAL,
        "the last layer (%s) must be dense with a bias (the classifier)",
        head->name);
  m->features = head->in[0];
  for (size_t i = 0; i + 1 < m->nnodes; i++) {
    int used = 0;
    for (size_t j = i + 1; j < m->nnodes && !used; j++)
      for (int k = 0; k < m->nodes[j].nin; k++)
        used |= m->nodes[j].in[k] == (int)i;
    if (!used)
      return lsp_fail(LSP_EINVAL, "%s: its output is not used by a later layer",
                      m->nodes[i].name);
  }
  size_t np = 0, ns = 0;
  for (size_t i = 0; i < m->nnodes; i++) {
    lsp_node *nd = &m->nodes[i];
    lsp_tensor_def t[LSP_OP_MAXTENSORS];
    int nt = lsp_op_get(nd->op)->tensors(nd, t);
    nd->p_off = np, nd->s_off = ns;
    nd->p_len = nd->s_len = 0;
    for (int j = 0; j < nt; j++) {
      size_t c = lsp_tensor_count(&t[j]);
      if (t[j].state)
        nd->s_len += c;
      else
        nd->p_len += c;
    }
    np += nd->p_len, ns += nd->s_len;
    if (np > MAX_PARAMS || ns > MAX_PARAMS)
      return lsp_fail(LSP_EINVAL, "more than %zu parameters", MAX_PARAMS);
  }
  m->nparams = np;
  m->nstate = ns;
  m->out_dim = head->a.units;
  m->params = lsp_calloc_huge(np ? np : 1, sizeof(float));
  m->grads = lsp_calloc_huge(np ? np : 1, sizeof(float));
  m->state = calloc(ns ? ns : 1, sizeof(float));
  if (!m->params || !m->grads || !m->state) {
    free(m->params), free(m->grads), free(m->state);
    m->params = m->grads = m->state = NULL;
    return lsp_fail(LSP_ENOMEM, "out of memory for %zu parameters", np);
  }
  return LSP_OK;
}

lsp_model *lsp_model_alloc_mlp(size_t in, const size_t *hidden, size_t nh,
                               size_t out) {
  if (in == 0 || out == 0) {
    lsp_fail(LSP_EINVAL, "model sizes must be positive (in %zu, out %zu)", in,
             out);
    return NULL;
  }
  for (size_t i = 0; i < nh; i++)
    if (hidden[i] == 0) {
      lsp_fail(LSP_EINVAL, "hidden layer %zu has zero units", i + 1);
      return NULL;
    }
  lsp_model *m = lsp_model_new((lsp_shape){in, 1, 1});
  if (!m) return NULL;
  lsp_attrs a;
  lsp_attrs_default(LSP_OP_DENSE, &a);
  int prev = LSP_INPUT;
  for (size_t i = 0; i <= nh; i++) {
    a.units = i < nh ? hidden[i] : out;
    if (lsp_model_add(m, LSP_OP_DENSE, &a, prev, 0, NULL, &prev) ||
        (i < nh && lsp_model_add(m, LSP_OP_RELU, &a, prev, 0, NULL, &prev)))
      goto fail;
  }
  if (lsp_model_finish(m)) goto fail;
  return m;
fail:
  lsp_model_free(m);
  return NULL;
}

int lsp_model_init(lsp_model *m, unsigned long seed) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!r) return lsp_fail(LSP_ENOMEM, "out of memory for a random generator");
  gsl_rng_set(r, seed);
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    const lsp_op_def *d = lsp_op_get(nd->op);
    if (d->init) d->init(nd, m->params + nd->p_off, m->state + nd->s_off, r);
  }
  gsl_rng_free(r);
  return LSP_OK;
}

/* ---- inspecting -------------------------------------------------------------
 */

int lsp_model_check_values(const lsp_model *m, size_t *node) {
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    const lsp_op_def *d = lsp_op_get(nd->op);
    const float *p = m->params + nd->p_off, *s = m->state + nd->s_off;
    char why[200] = "";
    for (size_t k = 0; k < nd->p_len && !why[0]; k++)
      if (!isfinite(p[k])) snprintf(why, sizeof why, "parameter %zu is not finite", k);
    for (size_t k = 0; k < nd->s_len && !why[0]; k++)
      if (!isfinite(s[k])) snprintf(why, sizeof why, "state value %zu is not finite", k);
    if (why[0] || (d->check && d->check(nd, p, s, why, sizeof why))) {
      if (node) *node = i;
      return lsp_fail(LSP_EDATA, "%s (%s): %s", nd->name, d->name, why);
    }
  }
  return LSP_OK;
}

int lsp_model_set_features(lsp_model *m, int id) {
  if (!m->params)
    return lsp_fail(LSP_EINVAL, "features of an unfinished model");
  if (id < LSP_INPUT || id + 1 >= (int)m->nnodes)
    return lsp_fail(LSP_EINVAL,
                    "features: node %d is not a node before the classifier "
                    "(%s)",
                    id, m->nodes[m->nnodes - 1].name);
  m->features = id;
  return LSP_OK;
}

size_t lsp_model_feature_dim(const lsp_model *m) {
  return lsp_shape_size(shape_of(m, m->features));
}

void lsp_model_head(const lsp_model *m, lsp_dense_view *h) {
  const lsp_node *nd = &m->nodes[m->nnodes - 1];
  h->in = lsp_shape_size(nd->ishape);
  h->out = nd->a.units;
  h->w = m->params + nd->p_off;
  h->b = h->w + h->in * h->out;
}

int lsp_model_tensor(const lsp_model *m, size_t node, const char *tname,
                     float **value, float **grad, size_t *count) {
  if (node >= m->nnodes) return lsp_fail(LSP_EINVAL, "no node %zu", node);
  const lsp_node *nd = &m->nodes[node];
  lsp_tensor_def t[LSP_OP_MAXTENSORS];
  int nt = lsp_op_get(nd->op)->tensors(nd, t);
  size_t po = nd->p_off, so = nd->s_off;
  for (int j = 0; j < nt; j++) {
    size_t c = lsp_tensor_count(&t[j]);
    if (strcmp(t[j].name, tname) == 0) {
      if (value) *value = t[j].state ? m->state + so : m->params + po;
      if (grad) *grad = t[j].state ? NULL : m->grads + po;
      if (count) *count = c;
      return LSP_OK;
    }
    if (t[j].state)
      so += c;
    else
      po += c;
  }
  return lsp_fail(LSP_EINVAL, "%s has no tensor '%s'", nd->name, tname);
}

int lsp_model_find(const lsp_model *m, const char *name) {
  for (size_t i = 0; i < m->nnodes; i++)
    if (strcmp(m->nodes[i].name, name) == 0) return (int)i;
  return -1;
}

double lsp_model_flops(const lsp_model *m) {
  double f = 0.0;
  for (size_t i = 0; i < m->nnodes; i++)
    f += lsp_op_get(m->nodes[i].op)->flops(&m->nodes[i]);
  return f;
}

/* dense (relu dense)* on a chain: the classic MLP. */
static int is_mlp(const lsp_model *m) {
  for (size_t i = 0; i < m->nnodes; i++) {
    lsp_op want = i % 2 == 0 ? LSP_OP_DENSE : LSP_OP_RELU;
    if (m->nodes[i].op != want || m->nodes[i].in[0] != (int)i - 1) return 0;
  }
  return m->nnodes % 2 == 1;
}

void lsp_model_describe(const lsp_model *m, char *buf, size_t len) {
  if (len == 0) return;
  buf[0] = 0;
  if (is_mlp(m)) {
    size_t n = (size_t)snprintf(buf, len, "%zu", m->in_dim);
    for (size_t l = 0; l < m->nnodes && n < len; l += 2)
      n += (size_t)snprintf(buf + n, len - n, "-%zu", m->nodes[l].a.units);
    return;
  }
  const lsp_shape *s = &m->in_shape;
  snprintf(buf, len, "%s %zux%zux%zu->%zu", m->arch[0] ? m->arch : "graph",
           s->c, s->h, s->w, m->out_dim);
}

/* the dimensions above 1, in order; their count */
static int squeeze3(size_t c, size_t h, size_t w, size_t out[3]) {
  int n = 0;
  if (c > 1) out[n++] = c;
  if (h > 1) out[n++] = h;
  if (w > 1) out[n++] = w;
  return n;
}

int lsp_model_takes_shape(const lsp_model *m, size_t c, size_t h, size_t w) {
  size_t a[3], b[3];
  int na = squeeze3(m->in_shape.c, m->in_shape.h, m->in_shape.w, a);
  int nb = squeeze3(c, h, w, b);
  if (na <= 1 || nb <= 1) return 1;
  if (na != nb) return 0;
  for (int i = 0; i < na; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}
