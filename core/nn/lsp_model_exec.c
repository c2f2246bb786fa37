/* lsp_model_exec.c — running the graph: workspaces, forward and backward in
 * inference and training mode, the staged passes for data parallelism with
 * batch statistics, and batched prediction.
 *
 * Memory. Every node has an activation buffer of max_batch rows (a flatten
 * node shares its input's). Gradients live in a few slots, assigned once per
 * model by a dry run of the backward order: a node's gradient slot is taken
 * when its last consumer is differentiated and given back once the node
 * itself is, so a chain needs two slots and a residual block three, however
 * deep the network. A node that feeds several others (a skip edge) receives
 * its first gradient directly and the others through a scratch buffer that
 * is added on (lsp_acc). Gradient memory is allocated at the first backward,
 * so inference-only workspaces do not pay for it.
 *
 * Training mode. Batch-norm nodes ("sync" entries of the table) run in
 * phases; a stage is the run of nodes between two of them, so that the
 * caller can combine the statistics of all shares in between (lsp_model.h). */
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/nn/layers/lsp_eltwise.h"
#include "core/nn/lsp_model.h"
#include "core/nn/lsp_ops.h"

struct lsp_model_ws {
  const lsp_node *nodes; /* the owner's nodes and parameters: a workspace   */
  const float *params;   /* serves that model (and its training views) only */
  size_t nnodes, max_batch;
  /* the last forward */
  size_t n;       /* rows                                              */
  const float *x; /* input (not owned)                                 */
  int train;      /* 1: training mode                                  */
  size_t fstage;  /* forward stages done (training mode)               */
  size_t bstage;  /* backward stages done                              */
  size_t n_total; /* rows of the whole batch over all shares           */
  /* backward of the current pass */
  int what;
  float *dx; /* caller's input gradient, or NULL                  */
  int has_dx;
  /* activations */
  float **act;    /* owned array; act[i] points into act_mem or aliases */
  float *act_mem; /* owned                                             */
  /* gradients */
  int *slot_of; /* owned: gradient slot of node i (-1: none)         */
  size_t nslots, slot_floats;
  float *grad_mem;     /* owned, allocated at the first backward: the slots
                          then two accumulation buffers                     */
  unsigned char *has;  /* owned: node i's gradient slot holds a value       */
  unsigned char *need; /* owned: node i or an ancestor has parameters       */
  /* scratch and batch-norm state */
  float *scratch; /* owned                                             */
  size_t nsync;
  size_t *sync_node; /* owned: the sync nodes, in order                   */
  size_t *sync_off;  /* owned: offset of node i's blocks in sync          */
  double *sync;      /* owned                                             */
  double *gather;    /* owned, grown by the sync calls                    */
  size_t gather_cap;
  size_t *counts; /* owned, grown likewise                             */
  size_t counts_cap;
};

size_t lsp_model_nsync(const lsp_model *m) {
  size_t k = 0;
  for (size_t i = 0; i < m->nnodes; i++) k += lsp_op_get(m->nodes[i].op)->sync;
  return k;
}

static size_t node_size(const lsp_model *m, size_t i) {
  return lsp_shape_size(m->nodes[i].shape);
}

static size_t scratch_floats(const lsp_model *m, size_t rows) {
  size_t s = 0;
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_op_def *d = lsp_op_get(m->nodes[i].op);
    size_t f = d->scratch ? d->scratch(&m->nodes[i], rows) : 0;
    if (f > s) s = f;
  }
  return s;
}

/* The dry run of the backward order that assigns gradient slots. */
static size_t assign_slots(const lsp_model *m, int *slot_of, int *busy) {
  size_t nslots = 0;
  for (size_t i = 0; i < m->nnodes; i++) slot_of[i] = -1;
  for (size_t i = m->nnodes; i-- > 0;) {
    const lsp_node *nd = &m->nodes[i];
    for (int k = 0; k < nd->nin; k++) {
      int j = nd->in[k];
      if (j < 0 || slot_of[j] >= 0) continue;
      size_t s = 0;
      while (s < nslots && busy[s]) s++;
      if (s == nslots) nslots++;
      busy[s] = 1;
      slot_of[j] = (int)s;
    }
    if (slot_of[i] >= 0) busy[slot_of[i]] = 0;
  }
  return nslots;
}

size_t lsp_model_ws_bytes_per_row(const lsp_model *m) {
  size_t f = 0, mx = 0;
  for (size_t i = 0; i < m->nnodes; i++) {
    if (!lsp_op_get(m->nodes[i].op)->alias) f += node_size(m, i);
    if (node_size(m, i) > mx) mx = node_size(m, i);
  }
  if (m->in_dim > mx) mx = m->in_dim;
  /* gradients: about three slots and the two accumulation buffers */
  return (f + 5 * mx + scratch_floats(m, 1)) * sizeof(float);
}

void lsp_model_ws_free(lsp_model_ws *ws) {
  if (!ws) return;
  free(ws->act);
  free(ws->act_mem);
  free(ws->slot_of);
  free(ws->grad_mem);
  free(ws->has);
  free(ws->need);
  free(ws->scratch);
  free(ws->sync_node);
  free(ws->sync_off);
  free(ws->sync);
  free(ws->gather);
  free(ws->counts);
  free(ws);
}

lsp_model_ws *lsp_model_ws_alloc(const lsp_model *m, size_t max_batch) {
  if (max_batch == 0) {
    lsp_fail(LSP_EINVAL, "workspace batch size must be positive");
    return NULL;
  }
  if (!m->params) {
    lsp_fail(LSP_EINVAL, "workspace for an unfinished model");
    return NULL;
  }
  const size_t nn = m->nnodes;
  lsp_model_ws *ws = calloc(1, sizeof *ws);
  if (!ws) goto oom;
  ws->nodes = m->nodes;
  ws->params = m->params;
  ws->nnodes = nn;
  ws->max_batch = max_batch;
  size_t floats = 0, mx = m->in_dim, nsync = 0, sync_doubles = 0;
  for (size_t i = 0; i < nn; i++) {
    const lsp_op_def *d = lsp_op_get(m->nodes[i].op);
    if (!d->alias) floats += node_size(m, i);
    if (node_size(m, i) > mx) mx = node_size(m, i);
    if (d->sync) nsync++, sync_doubles += 4 * d->sync_size(&m->nodes[i]);
  }
  if (floats > SIZE_MAX / sizeof(float) / max_batch) goto oom;
  ws->act = calloc(nn, sizeof *ws->act);
  ws->act_mem = malloc(floats * max_batch * sizeof(float));
  ws->slot_of = malloc(nn * sizeof *ws->slot_of);
  int *busy = calloc(nn + 1, sizeof *busy);
  ws->has = calloc(nn, 1);
  ws->need = calloc(nn, 1);
  size_t sf = scratch_floats(m, max_batch);
  ws->scratch = malloc((sf ? sf : 1) * sizeof(float));
  ws->nsync = nsync;
  ws->sync_node = malloc((nsync ? nsync : 1) * sizeof *ws->sync_node);
  ws->sync_off = calloc(nn, sizeof *ws->sync_off);
  ws->sync = calloc(sync_doubles ? sync_doubles : 1, sizeof(double));
  if (!ws->act || !ws->act_mem || !ws->slot_of || !busy || !ws->has ||
      !ws->need || !ws->scratch || !ws->sync_node || !ws->sync_off ||
      !ws->sync) {
    free(busy);
    goto oom;
  }
  ws->nslots = assign_slots(m, ws->slot_of, busy);
  free(busy);
  ws->slot_floats = mx * max_batch;
  size_t off = 0, so = 0, k = 0;
  for (size_t i = 0; i < nn; i++) {
    const lsp_node *nd = &m->nodes[i];
    const lsp_op_def *d = lsp_op_get(nd->op);
    if (d->alias) {
      ws->act[i] = NULL; /* set per forward: the input may be x */
    } else {
      ws->act[i] = ws->act_mem + off * max_batch;
      off += node_size(m, i);
    }
    int need = nd->p_len > 0;
    for (int j = 0; j < nd->nin; j++)
      need |= nd->in[j] >= 0 && ws->need[nd->in[j]];
    ws->need[i] = (unsigned char)need;
    if (d->sync) {
      ws->sync_node[k++] = i;
      ws->sync_off[i] = so;
      so += 4 * d->sync_size(nd);
    }
  }
  return ws;
oom:
  lsp_model_ws_free(ws);
  lsp_fail(LSP_ENOMEM, "out of memory for a batch of %zu rows", max_batch);
  return NULL;
}

/* The workspace's buffers are sized for one model: using it with another
 * (even one of the same shape) would mix activations or overrun them. */
static int check_ws(const lsp_model *m, const lsp_model_ws *ws) {
  if (ws && ws->nodes == m->nodes && ws->params == m->params &&
      ws->nnodes == m->nnodes)
    return LSP_OK;
  char arch[128];
  lsp_model_describe(m, arch, sizeof arch);
  return lsp_fail(LSP_EINVAL,
                  "the workspace belongs to another model than this %s one",
                  arch);
}

/* ---- forward --------------------------------------------------------------
 */

enum { FULL = 0, PART = 1, APPLY = 2 };

static const float *input_of(const lsp_model_ws *ws, int j) {
  return j == LSP_INPUT ? ws->x : ws->act[j];
}

static void fwd_node(const lsp_model *m, lsp_model_ws *ws, size_t i,
                     int phase) {
  const lsp_node *nd = &m->nodes[i];
  const lsp_op_def *d = lsp_op_get(nd->op);
  if (d->alias) {
    ws->act[i] = (float *)input_of(ws, nd->in[0]);
    return;
  }
  lsp_op_call c = {m,
                   nd,
                   ws->n,
                   input_of(ws, nd->in[0]),
                   nd->nin > 1 ? input_of(ws, nd->in[1]) : NULL,
                   ws->act[i],
                   NULL,
                   NULL,
                   NULL,
                   NULL,
                   NULL,
                   ws->scratch,
                   d->sync ? ws->sync + ws->sync_off[i] : NULL,
                   ws->n_total,
                   ws->train,
                   0};
  if (!ws->train || !d->sync)
    d->forward(&c);
  else if (phase == PART)
    d->fwd_part(&c);
  else
    d->fwd_apply(&c);
}

static void outputs(const lsp_model *m, const lsp_model_ws *ws,
                    const float **logits, const float **features) {
  if (logits) *logits = ws->act[m->nnodes - 1];
  if (features) *features = input_of(ws, m->features);
}

static int begin(const lsp_model *m, lsp_model_ws *ws, const float *x, size_t n,
                 int train) {
  int st = check_ws(m, ws);
  if (st) return st;
  if (n > ws->max_batch || (n == 0 && !train))
    return lsp_fail(LSP_EINVAL,
                    "batch of %zu rows does not fit the workspace (max %zu)", n,
                    ws->max_batch);
  ws->x = x;
  ws->n = n;
  ws->train = train;
  ws->fstage = ws->bstage = 0;
  ws->n_total = n;
  return LSP_OK;
}

int lsp_model_forward(const lsp_model *m, lsp_model_ws *ws, const float *x,
                      size_t n, const float **logits, const float **features) {
  int st = begin(m, ws, x, n, 0);
  if (st) return st;
  for (size_t i = 0; i < m->nnodes; i++) fwd_node(m, ws, i, FULL);
  outputs(m, ws, logits, features);
  return LSP_OK;
}

int lsp_model_stage_forward(const lsp_model *m, lsp_model_ws *ws,
                            const float *x, size_t n, size_t s,
                            const float **logits, const float **features) {
  int st;
  if (s == 0 && (st = begin(m, ws, x, n, 1))) return st;
  if ((st = check_ws(m, ws))) return st;
  if (!ws->train || s > ws->nsync || ws->fstage != s)
    return lsp_fail(LSP_EINVAL, "training forward stage %zu out of order", s);
  size_t from = s == 0 ? 0 : ws->sync_node[s - 1];
  size_t to = s < ws->nsync ? ws->sync_node[s] : m->nnodes - 1;
  if (ws->n > 0)
    for (size_t i = from; i <= to; i++)
      fwd_node(m, ws, i, i == to && s < ws->nsync ? PART : APPLY);
  else if (s < ws->nsync) /* an empty share adds nothing */
    memset(
        ws->sync + ws->sync_off[to], 0,
        lsp_op_get(m->nodes[to].op)->sync_size(&m->nodes[to]) * sizeof(double));
  ws->fstage = s + 1;
  if (s == ws->nsync && ws->n > 0) outputs(m, ws, logits, features);
  return LSP_OK;
}

/* Room for nws blocks of `doubles` and nws counts in ws[0]. */
static int gather_room(lsp_model_ws *w0, size_t nws, size_t doubles) {
  if (nws * doubles > w0->gather_cap) {
    double *g = realloc(w0->gather, nws * doubles * sizeof *g);
    if (!g) return lsp_fail(LSP_ENOMEM, "out of memory for batch statistics");
    w0->gather = g;
    w0->gather_cap = nws * doubles;
  }
  if (nws > w0->counts_cap) {
    size_t *c = realloc(w0->counts, nws * sizeof *c);
    if (!c) return lsp_fail(LSP_ENOMEM, "out of memory for batch statistics");
    w0->counts = c;
    w0->counts_cap = nws;
  }
  return LSP_OK;
}

static int check_sync(const lsp_model *m, lsp_model_ws *const *ws, size_t nws,
                      size_t s, int bwd) {
  if (nws == 0 || s >= ws[0]->nsync)
    return lsp_fail(LSP_EINVAL, "synchronization %zu of %zu", s,
                    nws ? ws[0]->nsync : 0);
  for (size_t k = 0; k < nws; k++) {
    int st = check_ws(m, ws[k]);
    if (st) return st;
    if (!ws[k]->train || (bwd ? ws[k]->bstage : ws[k]->fstage) != s + 1)
      return lsp_fail(LSP_EINVAL,
                      "synchronization %zu before the stage of share %zu", s,
                      k);
  }
  return LSP_OK;
}

int lsp_model_sync_forward(lsp_model *m, lsp_model_ws *const *ws, size_t nws,
                           size_t s) {
  int st = check_sync(m, ws, nws, s, 0);
  if (st) return st;
  size_t i = ws[0]->sync_node[s];
  const lsp_node *nd = &m->nodes[i];
  const lsp_op_def *d = lsp_op_get(nd->op);
  size_t sz = d->sync_size(nd), off = ws[0]->sync_off[i];
  if ((st = gather_room(ws[0], nws, sz))) return st;
  size_t total = 0;
  for (size_t k = 0; k < nws; k++) {
    memcpy(ws[0]->gather + k * sz, ws[k]->sync + off + LSP_SYNC_PART * sz,
           sz * sizeof(double));
    ws[0]->counts[k] = ws[k]->n;
    total += ws[k]->n;
  }
  double *stat = ws[0]->sync + off + LSP_SYNC_STAT * sz;
  if ((st = d->fwd_combine(nd, ws[0]->gather, ws[0]->counts, nws, stat,
                           m->state + nd->s_off)))
    return lsp_fail_prefix(st, nd->name);
  for (size_t k = 0; k < nws; k++) {
    if (k)
      memcpy(ws[k]->sync + off + LSP_SYNC_STAT * sz, stat, sz * sizeof(double));
    ws[k]->n_total = total;
  }
  return LSP_OK;
}

int lsp_model_forward_train(lsp_model *m, lsp_model_ws *ws, const float *x,
                            size_t n, const float **logits,
                            const float **features) {
  if (n == 0) return lsp_fail(LSP_EINVAL, "an empty batch");
  int st = LSP_OK;
  size_t ns = lsp_model_nsync(m);
  for (size_t s = 0; s <= ns && !st; s++) {
    st = lsp_model_stage_forward(m, ws, x, n, s, logits, features);
    if (!st && s < ns) st = lsp_model_sync_forward(m, &ws, 1, s);
  }
  return st;
}

/* ---- backward -------------------------------------------------------------
 */

static float *gslot(lsp_model_ws *ws, int j) {
  return ws->grad_mem + (size_t)ws->slot_of[j] * ws->slot_floats;
}

/* Where node i's k-th input gradient goes: NULL when not wanted, the
 * target itself on its first arrival, else accumulation buffer k. */
static float *target(lsp_model_ws *ws, int j, int k, int other) {
  float *acc = ws->grad_mem + (ws->nslots + (size_t)k) * ws->slot_floats;
  if (j == LSP_INPUT) {
    if (!(ws->what & LSP_BACK_INPUT)) return NULL;
    return ws->has_dx || other ? acc : ws->dx;
  }
  if (!(ws->what & LSP_BACK_INPUT) && !ws->need[j]) return NULL;
  return ws->has[j] || other ? acc : gslot(ws, j);
}

static void deliver(const lsp_model *m, lsp_model_ws *ws, int j, float *t,
                    int k) {
  if (!t) return;
  float *acc = ws->grad_mem + (ws->nslots + (size_t)k) * ws->slot_floats;
  size_t cnt = ws->n * (j == LSP_INPUT ? m->in_dim : node_size(m, (size_t)j));
  float *dst = j == LSP_INPUT ? ws->dx : gslot(ws, j);
  int *has = j == LSP_INPUT ? &ws->has_dx : NULL;
  int first = has ? !*has : !ws->has[j];
  if (t == acc) {
    if (first)
      memcpy(dst, acc, cnt * sizeof(float));
    else
      lsp_acc(dst, acc, cnt);
  }
  if (has)
    *has = 1;
  else
    ws->has[j] = 1;
}

static void bwd_node(lsp_model *m, lsp_model_ws *ws, size_t i,
                     const float *dlogits, int phase) {
  const lsp_node *nd = &m->nodes[i];
  const lsp_op_def *d = lsp_op_get(nd->op);
  int head = i + 1 == m->nnodes;
  if (!head && !ws->has[i]) return; /* nothing below wants a gradient */
  float *dx0 = NULL, *dx1 = NULL;
  if (phase != PART) {
    dx0 = target(ws, nd->in[0], 0, 0);
    if (nd->nin > 1) dx1 = target(ws, nd->in[1], 1, nd->in[1] == nd->in[0]);
  }
  lsp_op_call c = {m,
                   nd,
                   ws->n,
                   input_of(ws, nd->in[0]),
                   nd->nin > 1 ? input_of(ws, nd->in[1]) : NULL,
                   NULL,
                   d->alias ? input_of(ws, nd->in[0]) : ws->act[i],
                   head ? dlogits : gslot(ws, (int)i),
                   dx0,
                   dx1,
                   (ws->what & LSP_BACK_PARAMS) && nd->p_len && phase != APPLY
                       ? m->grads + nd->p_off
                       : NULL,
                   ws->scratch,
                   d->sync ? ws->sync + ws->sync_off[i] : NULL,
                   ws->n_total,
                   ws->train,
                   (ws->what & LSP_BACK_GRADS_ZERO) != 0};
  if (!ws->train || !d->sync)
    d->backward(&c);
  else if (phase == PART)
    d->bwd_part(&c);
  else
    d->bwd_apply(&c);
  if (phase == PART) return;
  deliver(m, ws, nd->in[0], dx0, 0);
  if (nd->nin > 1) deliver(m, ws, nd->in[1], dx1, 1);
}

static int begin_backward(lsp_model *m, lsp_model_ws *ws, const float *dlogits,
                          int what, float *dx) {
  int st = check_ws(m, ws);
  if (st) return st;
  if (!ws->x || (ws->n == 0 && !ws->train) ||
      (ws->train && ws->fstage != ws->nsync + 1))
    return lsp_fail(LSP_EINVAL, "backward without a complete forward");
  if ((what & LSP_BACK_INPUT) && !dx)
    return lsp_fail(LSP_EINVAL, "input gradient requested without a buffer");
  if (ws->n > 0 && !dlogits)
    return lsp_fail(LSP_EINVAL, "backward without dlogits");
  if (!ws->grad_mem) {
    size_t f = (ws->nslots + 2) * ws->slot_floats;
    ws->grad_mem = malloc((f ? f : 1) * sizeof(float));
    if (!ws->grad_mem)
      return lsp_fail(LSP_ENOMEM, "out of memory for gradients");
  }
  memset(ws->has, 0, ws->nnodes);
  ws->has_dx = 0;
  ws->what = what;
  ws->dx = dx;
  ws->bstage = 0;
  return LSP_OK;
}

/* An empty share still owes zero parameter gradients (the caller sums the
 * shares' arrays). */
static void zero_share(lsp_model *m, lsp_model_ws *ws, size_t lo, size_t hi) {
  if (!(ws->what & LSP_BACK_PARAMS)) return;
  for (size_t i = hi + 1; i-- > lo;) {
    const lsp_node *nd = &m->nodes[i];
    if (nd->p_len) memset(m->grads + nd->p_off, 0, nd->p_len * sizeof(float));
  }
}

int lsp_model_stage_backward(lsp_model *m, lsp_model_ws *ws,
                             const float *dlogits, int what, float *dx,
                             size_t s) {
  int st;
  if (s == 0 && (st = begin_backward(m, ws, dlogits, what, dx))) return st;
  if ((st = check_ws(m, ws))) return st;
  size_t K = ws->nsync;
  if (!ws->train || s > K || ws->bstage != s)
    return lsp_fail(LSP_EINVAL, "training backward stage %zu out of order", s);
  size_t from = s == 0 ? m->nnodes - 1 : ws->sync_node[K - s];
  size_t to = s < K ? ws->sync_node[K - 1 - s] : 0;
  if (ws->n == 0) {
    zero_share(m, ws, to, from);
    if (s < K) {
      const lsp_node *nd = &m->nodes[to];
      size_t sz = lsp_op_get(nd->op)->sync_size(nd);
      memset(ws->sync + ws->sync_off[to] + LSP_SYNC_BPART * sz, 0,
             sz * sizeof(double));
    }
  } else {
    for (size_t i = from + 1; i-- > to;)
      bwd_node(m, ws, i, dlogits,
               i == to && s < K ? PART : (i == from && s > 0 ? APPLY : FULL));
  }
  ws->bstage = s + 1;
  return LSP_OK;
}

int lsp_model_sync_backward(const lsp_model *m, lsp_model_ws *const *ws,
                            size_t nws, size_t s) {
  int st = check_sync(m, ws, nws, s, 1);
  if (st) return st;
  size_t i = ws[0]->sync_node[ws[0]->nsync - 1 - s];
  const lsp_node *nd = &m->nodes[i];
  const lsp_op_def *d = lsp_op_get(nd->op);
  size_t sz = d->sync_size(nd), off = ws[0]->sync_off[i];
  if ((st = gather_room(ws[0], nws, sz))) return st;
  for (size_t k = 0; k < nws; k++)
    memcpy(ws[0]->gather + k * sz, ws[k]->sync + off + LSP_SYNC_BPART * sz,
           sz * sizeof(double));
  double *sums = ws[0]->sync + off + LSP_SYNC_SUMS * sz;
  d->bwd_combine(nd, ws[0]->gather, nws, sums);
  for (size_t k = 1; k < nws; k++)
    memcpy(ws[k]->sync + off + LSP_SYNC_SUMS * sz, sums, sz * sizeof(double));
  return LSP_OK;
}

int lsp_model_backward(lsp_model *m, lsp_model_ws *ws, const float *dlogits,
                       int what, float *dx) {
  int st = check_ws(m, ws);
  if (st) return st;
  if (ws->train) {
    for (size_t s = 0; s <= ws->nsync && !st; s++) {
      st = lsp_model_stage_backward(m, ws, dlogits, what, dx, s);
      if (!st && s < ws->nsync) st = lsp_model_sync_backward(m, &ws, 1, s);
    }
    return st;
  }
  if ((st = begin_backward(m, ws, dlogits, what, dx))) return st;
  for (size_t i = m->nnodes; i-- > 0;) bwd_node(m, ws, i, dlogits, FULL);
  return LSP_OK;
}
