/* lsp_train_feat.c — a plain MLP's training pass split by output features
 * (lsp_train_feat.h).
 *
 * Parts. Layer l's out_l outputs are cut into P_l = out_l / FEAT_PART parts
 * (at least 1, at most FEAT_MAX_PARTS) at multiples of FEAT_ALIGN; thread t
 * of nt owns parts [ceil(t P/nt), ceil((t+1) P/nt)), so a one-part layer is
 * thread 0's (a one-part classifier is cut otherwise: below). Every
 * GEMM is one call per part, whatever the thread count: the bits cannot
 * depend on it. (OpenBLAS 0.3 does give a column slice of a GEMM the bits
 * of the whole one when the cut is a multiple of its micro-kernel's width —
 * 16 for its AVX-512 sgemm here, not 8 — so the per-part calls most likely
 * match a whole-batch call anyway; nothing here relies on it.)
 *
 * One batch, layers 1..L (A_0 = x, A_l = layer l's output after its ReLU,
 * G_l = the loss's gradient at layer l's output before the ReLU, G_L = dz):
 *   forward   for l = 1..L: A_l[:, mine] = relu(A_{l-1} · W_l[mine]ᵀ + b);
 *             barrier (the next layer reads every column; after layer L only
 *             when threads other than 0 own logits)
 *   backward  for l = L..1: dW_l[mine] += G_l[:, mine]ᵀ · A_{l-1}, db_l[mine]
 *             += column sums; if l > 1: barrier when l < L (G_l complete;
 *             every thread is past layer l+1's input gradient, so layer
 *             l+1's step is safe now), then G_{l-1}[:, mine of l-1] =
 *             G_l · W_l[:, mine of l-1], masked by A_{l-1} > 0 where a ReLU
 *             follows layer l-1.
 *   steps     layer 1 right after its weight gradient (no other thread reads
 *             W_1: the forward reads only the owner's rows), layers 3..L at
 *             the barriers above, layer 2 after a last barrier — or, when
 *             another batch follows, after that batch's first barrier
 *             (below: only the owner reads its rows of W_2 before the next
 *             input gradient).
 * A one-part classifier runs whole on every thread (lsp_train_feat.h); its
 * weight gradient and step are cut by columns instead, at the previous
 * layer's parts (dW_L[:, part] += G_Lᵀ · A_{L-1}[:, part], still one call
 * a part; its bias on thread 0), so that thread 0 does not run them alone
 * while the others wait. It is stepped where a layer of its place would be
 * (only the column's owner reads W_L[:, part] in the input gradient; the
 * forward reads all of it, behind the barriers). The layer below it then
 * gets its gradient G_{L-1} whole on every thread, into the thread's own
 * buffer (dz · W_L and the mask: 128×256×10 multiply-adds, a few µs),
 * instead of its own columns and a barrier before its input gradient;
 * W_L's step then waits for the next forward like W_2's.
 *
 * Batches back to back. An epoch is one pool run, and nothing but the
 * forward's barriers separates a batch from the next: a thread may start
 * batch b + 1 while another is still in batch b's backward. What that
 * backward reads and the next batch writes before its first barrier (after
 * which every thread has finished batch b) is kept apart: the inputs (the
 * caller's three buffers, lsp_train_feat.h) and A_1 (two buffers, by the
 * batch's parity); W_1 is read by its owner only, and the deferred steps
 * (W_2, W_L) wait for that first barrier. A deeper layer's output and gradient
 * are written only after it. When that first barrier would come too late —
 * a one-part classifier right behind the first layer reads all of W_2 as
 * soon as the first barrier has passed, and a lone one-part layer has no
 * barrier at all — a batch begins with a barrier of its own (`lone`). So
 * 784-256-256-10 meets at 2 barriers a batch (after each hidden layer's
 * forward), 784-256-10 at 2 as well, plus 2 an epoch (the rows of its first
 * batch, and the run's end). */
#include "core/train/lsp_train_feat.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn/layers/lsp_eltwise.h"

enum { FEAT_PART = 128, FEAT_ALIGN = 16, FEAT_MAX_PARTS = 16 };

typedef struct layer {
  size_t in, out;      /* features in and out                               */
  size_t p_off;        /* W at params + p_off (out × in), then b (out)      */
  int bias, relu;      /* with a bias; followed by a ReLU                   */
  size_t parts;        /* P                                                 */
  size_t cut[FEAT_MAX_PARTS + 1]; /* part p: outputs [cut[p], cut[p+1])      */
  float *a;            /* A_l (rows × out), owned                           */
  float *g;            /* G_l (rows × out), owned; NULL for the last layer  */
  const struct layer *cols; /* a one-part classifier behind another layer:
                               that layer, whose parts cut this one's weight
                               gradient and step by columns (else NULL) */
} layer;

struct lsp_feat {
  lsp_model *m;
  size_t nl;     /* dense layers */
  layer *l;
  size_t max_parts;
  float *a0[2];  /* A_1 of even and odd batches (l[0].a is a0[0]): the next
                    batch's first layer writes it while a late thread may
                    still read the last batch's                         */
  int lone;      /* a batch begins with a barrier of its own (below)      */
  int nbar;      /* barriers in a batch's forward (lsp_feat_begin's too)  */
  lsp_feat_fill_fn fill; /* work for the waits before them, or NULL      */
  void *fill_user;
  float **z, **dz; /* per thread (max_parts of each): logits, dlogits */
  float **gw;      /* per thread, behind a one-part classifier: G of the
                      layer below it, whole (rows × its outputs)         */
  float *acc;      /* where the weight gradients are added (m->grads, or
                      lsp_feat_set_grads's array)                        */
};

int lsp_feat_eligible(const lsp_model *m) {
  if (!m || m->nnodes == 0) return 0;
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    if (nd->nin != 1 || nd->in[0] != (int)i - 1) return 0;
    if (nd->op == LSP_OP_RELU) {
      if (i == 0 || m->nodes[i - 1].op != LSP_OP_DENSE) return 0;
    } else if (nd->op != LSP_OP_DENSE) {
      return 0;
    }
  }
  return 1;
}

size_t lsp_feat_max_threads(const lsp_feat *f) { return f->max_parts; }

void lsp_feat_free(lsp_feat *f) {
  if (!f) return;
  for (size_t i = 0; f->l && i < f->nl; i++) {
    free(f->l[i].a);
    free(f->l[i].g);
  }
  free(f->a0[1]);
  free(f->l);
  for (size_t t = 0; t < f->max_parts; t++) {
    if (f->z) free(f->z[t]);
    if (f->dz) free(f->dz[t]);
    if (f->gw) free(f->gw[t]);
  }
  free(f->gw);
  free(f->z);
  free(f->dz);
  free(f);
}

/* rows × cols floats at a cache line's start, whole lines: two threads'
 * columns of a row then never share a line (row lengths and part cuts are
 * multiples of 16 floats in the common case), which a plain malloc's
 * 16-byte alignment would not give. */
static float *lines_alloc(size_t rows, size_t cols) {
  size_t bytes = (rows * cols * sizeof(float) + 63) / 64 * 64;
  return aligned_alloc(64, bytes ? bytes : 64);
}

lsp_feat *lsp_feat_alloc(lsp_model *m, size_t rows) {
  if (!lsp_feat_eligible(m)) return NULL;
  lsp_feat *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->m = m;
  f->acc = m->grads;
  for (size_t i = 0; i < m->nnodes; i++) f->nl += m->nodes[i].op == LSP_OP_DENSE;
  f->l = calloc(f->nl, sizeof *f->l);
  if (!f->l) goto fail;
  f->max_parts = 1;
  for (size_t i = 0, k = 0; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    if (nd->op != LSP_OP_DENSE) continue;
    layer *L = &f->l[k++];
    L->in = lsp_shape_size(nd->ishape);
    L->out = nd->a.units;
    L->p_off = nd->p_off;
    L->bias = nd->a.bias;
    L->relu = i + 1 < m->nnodes && m->nodes[i + 1].op == LSP_OP_RELU;
    size_t P = L->out / FEAT_PART;
    P = P < 1 ? 1 : P > FEAT_MAX_PARTS ? FEAT_MAX_PARTS : P;
    L->parts = P;
    for (size_t p = 0; p < P; p++) L->cut[p] = L->out * p / P / FEAT_ALIGN * FEAT_ALIGN;
    L->cut[P] = L->out;
    if (P > f->max_parts) f->max_parts = P;
    L->a = lines_alloc(rows, L->out);
    if (!L->a) goto fail;
    if (k < f->nl && !(L->g = lines_alloc(rows, L->out))) goto fail;
  }
  layer *last = &f->l[f->nl - 1];
  if (f->nl > 1 && last->parts == 1) last->cols = &f->l[f->nl - 2];
  f->a0[0] = f->l[0].a;
  if (!(f->a0[1] = lines_alloc(rows, f->l[0].out))) goto fail;
  f->lone = last->parts == 1 && f->nl <= 2;
  f->nbar = 1;
  for (size_t l = f->lone ? 0 : 1; l < f->nl; l++) f->nbar += !(l + 1 == f->nl && last->parts == 1);
  const size_t T = f->max_parts, k = m->out_dim;
  f->z = calloc(T, sizeof *f->z);
  f->dz = calloc(T, sizeof *f->dz);
  f->gw = calloc(T, sizeof *f->gw);
  if (!f->z || !f->dz || !f->gw) {
    f->max_parts = 0;
    goto fail;
  }
  for (size_t t = 0; t < T; t++)
    if (!(f->z[t] = lines_alloc(rows, k)) || !(f->dz[t] = lines_alloc(rows, k)) ||
        (last->cols && !(f->gw[t] = lines_alloc(rows, last->cols->out))))
      goto fail;
  return f;
fail:
  lsp_feat_free(f);
  return NULL;
}

/* Thread t of nt's parts of a layer: [*p0, *p1). */
static void my_parts(const layer *L, int t, int nt, size_t *p0, size_t *p1) {
  const size_t P = L->parts, T = (size_t)nt;
  *p0 = (P * (size_t)t + T - 1) / T;
  *p1 = (P * (size_t)(t + 1) + T - 1) / T;
}

static void forward_part(const layer *L, float *a, const float *w, const float *x, size_t n,
                         size_t c0, size_t c1) {
  float *y = a + c0;
  const size_t nc = c1 - c0, out = L->out;
  float beta = 0.0f;
  if (L->bias) {
    const float *b = w + out * L->in + c0;
    for (size_t i = 0; i < n; i++) memcpy(y + i * out, b, nc * sizeof *y);
    beta = 1.0f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)nc, (int)L->in, 1.0f, x,
              (int)L->in, w + c0 * L->in, (int)L->in, beta, y, (int)out);
  if (L->relu)
    for (size_t i = 0; i < n; i++) lsp_relu_forward(y + i * out, y + i * out, nc);
}

static void step_layer(const layer *L, int t, int nt, lsp_feat_step_fn step, void *user);

/* Layer l's output in batch b (layer 1's alternates). */
static float *act(const lsp_feat *f, size_t l, size_t b) {
  return l ? f->l[l].a : f->a0[b & 1];
}

void lsp_feat_set_grads(lsp_feat *f, float *acc) { f->acc = acc ? acc : f->m->grads; }

void lsp_feat_set_fill(lsp_feat *f, lsp_feat_fill_fn fill, void *user) {
  f->fill = fill;
  f->fill_user = user;
}

/* The forward's barrier k of batch b, after the work for its wait. */
static void forward_barrier(const lsp_feat *f, size_t b, int k, int nt, lsp_pool *pool) {
  if (f->fill) f->fill(f->fill_user, b, k, k + 1 == f->nbar);
  if (nt > 1) lsp_pool_barrier(pool);
}

void lsp_feat_begin(lsp_feat *f, const float *x, size_t n, size_t b, int t, int nt,
                    lsp_pool *pool) {
  if (!f->lone) {
    const layer *L = &f->l[0];
    size_t p0, p1;
    my_parts(L, t, nt, &p0, &p1);
    for (size_t p = p0; p < p1; p++)
      forward_part(L, act(f, 0, b), f->m->params + L->p_off, x, n, L->cut[p], L->cut[p + 1]);
  }
  forward_barrier(f, b, 0, nt, pool);
}

const float *lsp_feat_forward(lsp_feat *f, const float *x, size_t n, size_t b, int t, int nt,
                              lsp_pool *pool, lsp_feat_step_fn pending, void *user) {
  const float *params = f->m->params;
  const layer *last = &f->l[f->nl - 1];
  if (pending && f->nl > 1) step_layer(&f->l[1], t, nt, pending, user);
  if (pending && last->cols && f->nl > 2) step_layer(last, t, nt, pending, user);
  int k = 1;
  for (size_t l = f->lone ? 0 : 1; l < f->nl; l++) {
    const layer *L = &f->l[l];
    const float *in = l ? act(f, l - 1, b) : x;
    if (L == last && L->parts == 1) { /* every thread, into its own copy */
      forward_part(L, f->z[t], params + L->p_off, in, n, 0, L->out);
      return f->z[t];
    }
    size_t p0, p1;
    my_parts(L, t, nt, &p0, &p1);
    for (size_t p = p0; p < p1; p++)
      forward_part(L, act(f, l, b), params + L->p_off, in, n, L->cut[p], L->cut[p + 1]);
    forward_barrier(f, b, k++, nt, pool);
  }
  return act(f, f->nl - 1, b);
}

float *lsp_feat_dz(lsp_feat *f, int t) { return f->dz[t]; }

/* db[c0..c1) += the column sums of G[:, c0..c1). Each sum is formed on
 * its own, row by row from zero, and then added: into a zero gradient
 * that is the sum itself (the bits of adding the rows into db one by
 * one), and onto a velocity prescaled by the momentum (lsp_feat_set_grads)
 * it is torch's v = μv + g with g rounded first. */
enum { BIAS_BLOCK = 256 };

static void bias_grad(const layer *L, float *grads, const float *g, size_t n, size_t c0,
                      size_t c1) {
  if (!L->bias) return;
  const size_t out = L->out;
  float *db = grads + L->p_off + out * L->in;
  float s[BIAS_BLOCK];
  for (size_t j0 = c0; j0 < c1; j0 += BIAS_BLOCK) {
    const size_t nc = c1 - j0 < BIAS_BLOCK ? c1 - j0 : BIAS_BLOCK;
    for (size_t j = 0; j < nc; j++) s[j] = 0.0f;
    for (size_t i = 0; i < n; i++) {
      const float *r = g + i * out + j0;
      for (size_t j = 0; j < nc; j++) s[j] += r[j];
    }
    for (size_t j = 0; j < nc; j++) db[j0 + j] += s[j];
  }
}

/* dW[c0..c1) += G[:, c0..c1)ᵀ · A and db[c0..c1) += its column sums. */
static void wgrad_part(const layer *L, float *grads, const float *g, const float *a, size_t n,
                       size_t c0, size_t c1) {
  const size_t in = L->in, out = L->out, nc = c1 - c0;
  float *dw = grads + L->p_off;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nc, (int)in, (int)n, 1.0f, g + c0,
              (int)out, a, (int)in, 1.0f, dw + c0 * in, (int)in);
  bias_grad(L, grads, g, n, c0, c1);
}

/* A column-cut layer: dW[:, c0..c1) += Gᵀ · A[:, c0..c1). */
static void wgrad_cols(const layer *L, float *grads, const float *g, const float *a, size_t n,
                       size_t c0, size_t c1) {
  const size_t in = L->in, out = L->out;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)(c1 - c0), (int)n, 1.0f,
              g, (int)out, a + c0, (int)in, 1.0f, grads + L->p_off + c0, (int)in);
}

/* G_prev[:, c0..c1) = G · W[:, c0..c1), masked by A_prev > 0 when prev has
 * a ReLU. */
static void igrad_part(const layer *L, const layer *prev, const float *pa, const float *w,
                       const float *g, size_t n, size_t c0, size_t c1, float *dst) {
  const size_t in = L->in, nc = c1 - c0;
  float *d = dst + c0;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)nc, (int)L->out, 1.0f, g,
              (int)L->out, w + c0, (int)in, 0.0f, d, (int)in);
  if (prev->relu)
    for (size_t i = 0; i < n; i++) lsp_relu_backward(pa + i * in + c0, d + i * in, d + i * in, nc);
}

/* The step on thread t's slices of layer L: its rows of W, then of b. */
static void step_layer(const layer *L, int t, int nt, lsp_feat_step_fn step, void *user) {
  size_t p0, p1;
  if (L->cols) { /* its columns of every row of W; b on thread 0 */
    my_parts(L->cols, t, nt, &p0, &p1);
    const size_t c0 = L->cols->cut[p0], c1 = L->cols->cut[p1];
    for (size_t r = 0; r < L->out && c0 < c1; r++) step(user, L->p_off + r * L->in + c0, c1 - c0);
    if (t == 0 && L->bias) step(user, L->p_off + L->out * L->in, L->out);
    return;
  }
  my_parts(L, t, nt, &p0, &p1);
  if (p0 == p1) return;
  const size_t c0 = L->cut[p0], c1 = L->cut[p1];
  step(user, L->p_off + c0 * L->in, (c1 - c0) * L->in);
  if (L->bias) step(user, L->p_off + L->out * L->in + c0, c1 - c0);
}

void lsp_feat_backward(lsp_feat *f, const float *x, size_t n, size_t b, const float *dz, int t,
                       int nt, lsp_pool *pool, lsp_feat_step_fn step, void *user, int defer) {
  const float *params = f->m->params;
  float *grads = f->acc;
  const size_t nl = f->nl;
  layer *last = &f->l[nl - 1];
  /* behind a one-part classifier, the layer below it gets its gradient
   * whole on every thread (a few µs twice) instead of a barrier */
  const int whole = last->cols != NULL;
  for (size_t l = nl; l-- > 0;) {
    const layer *L = &f->l[l];
    const float *g = l + 1 == nl ? dz : whole && l + 2 == nl ? f->gw[t] : L->g;
    const float *a = l ? act(f, l - 1, b) : x;
    size_t p0, p1;
    if (L->cols) {
      my_parts(L->cols, t, nt, &p0, &p1);
      for (size_t p = p0; p < p1; p++)
        wgrad_cols(L, grads, g, a, n, L->cols->cut[p], L->cols->cut[p + 1]);
      if (t == 0) bias_grad(L, grads, g, n, 0, L->out);
    } else {
      my_parts(L, t, nt, &p0, &p1);
      for (size_t p = p0; p < p1; p++) wgrad_part(L, grads, g, a, n, L->cut[p], L->cut[p + 1]);
    }
    if (l == 0) break;
    if (l + 1 < nl && !(whole && l + 2 == nl)) { /* G_l's other columns: other threads */
      if (nt > 1) lsp_pool_barrier(pool);
      step_layer(&f->l[l + 1], t, nt, step, user);
    }
    const layer *prev = &f->l[l - 1];
    if (whole && l + 1 == nl) {
      for (size_t p = 0; p < prev->parts; p++)
        igrad_part(L, prev, a, params + L->p_off, g, n, prev->cut[p], prev->cut[p + 1],
                   f->gw[t]);
    } else {
      my_parts(prev, t, nt, &p0, &p1);
      for (size_t p = p0; p < p1; p++)
        igrad_part(L, prev, a, params + L->p_off, g, n, prev->cut[p], prev->cut[p + 1],
                   prev->g);
    }
  }
  step_layer(&f->l[0], t, nt, step, user);
  if (nl > 1 && !defer) {
    if (nt > 1) lsp_pool_barrier(pool);
    step_layer(&f->l[1], t, nt, step, user);
    if (whole && nl > 2) step_layer(last, t, nt, step, user);
  }
}
