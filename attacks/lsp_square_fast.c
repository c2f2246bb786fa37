/* lsp_square_fast.c — Square's queries on a model whose first node is a
 * dense layer on the input followed by a chain of dense, ReLU and flatten
 * nodes (every MLP).
 *
 * A candidate differs from its row's current best input only inside one
 * square, so the first layer's pre-activation is updated instead of
 * recomputed: h' = h + Σ_{changed pixels j} W1[:, j]·(x'_j − x_j), in
 * double, with W1 stored transposed so that a pixel's weights are
 * contiguous (s²·H1 multiply-adds instead of D·H1: 4·256 instead of
 * 784·256 for a late 2×2 square). The nodes after it run on the batch
 * through the kernels the model uses (lsp_dense_forward, lsp_relu_forward).
 * These logits steer the
 * search; lsp_square.c confirms every misclassification with the model's
 * own forward pass and scores the kept inputs with it, so a rounding
 * difference between the two paths can never count an example as broken. */
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_clones.h"
#include "core/base/lsp_error.h"
#include "core/nn/layers/lsp_dense.h"
#include "core/nn/layers/lsp_eltwise.h"

struct lsp_sqfast {
  const lsp_model *m;
  size_t h1, dim, batch, maxw;
  const float *w1, *b1; /* the first layer's weights (h1×dim) and bias (or
                           NULL): views into the model                  */
  float *wt;            /* owned: dim×h1, W1 transposed                      */
  double *h, *hc;       /* owned: batch×h1, best input's / candidate's h     */
  float *act[2]; /* owned: batch×maxw, activations of the later layers */
  double flops;  /* of the later layers, per row                      */
};

void lsp_sqfast_free(lsp_sqfast *f) {
  if (!f) return;
  free(f->wt);
  free(f->h);
  free(f->hc);
  free(f->act[0]);
  free(f->act[1]);
  free(f);
}

/* The first node's weight and bias (NULL without one). */
static int dense_tensors(const lsp_model *m, size_t node, const float **w,
                         const float **b) {
  float *v = NULL;
  size_t cnt = 0;
  if (lsp_model_tensor(m, node, "weight", &v, NULL, &cnt)) return LSP_EINVAL;
  *w = v;
  *b = NULL;
  if (m->nodes[node].a.bias &&
      lsp_model_tensor(m, node, "bias", &v, NULL, &cnt) == LSP_OK)
    *b = v;
  return LSP_OK;
}

int lsp_sqfast_alloc(const lsp_model *m, size_t dim, size_t batch,
                     lsp_sqfast **out) {
  *out = NULL;
  if (m->nnodes == 0 || m->nodes[0].op != LSP_OP_DENSE ||
      m->nodes[0].in[0] != LSP_INPUT ||
      lsp_shape_size(m->nodes[0].ishape) != dim)
    return LSP_OK; /* not eligible: the caller uses the model's forward */
  size_t maxw = 0;
  double flops = 0.0;
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    if ((nd->op != LSP_OP_DENSE && nd->op != LSP_OP_RELU &&
         nd->op != LSP_OP_FLATTEN) ||
        nd->nin != 1 || (i > 0 && nd->in[0] != (int)i - 1))
      return LSP_OK;
    size_t w = lsp_shape_size(nd->shape);
    if (w > maxw) maxw = w;
    if (i > 0 && nd->op == LSP_OP_DENSE)
      flops += 2.0 * (double)lsp_shape_size(nd->ishape) * (double)nd->a.units;
  }
  lsp_sqfast *f = calloc(1, sizeof *f);
  if (!f) return lsp_fail(LSP_ENOMEM, "square: out of memory");
  f->m = m;
  f->h1 = m->nodes[0].a.units;
  f->dim = dim;
  f->batch = batch;
  f->maxw = maxw;
  f->flops = flops;
  int st = dense_tensors(m, 0, &f->w1, &f->b1);
  f->wt = malloc(dim * f->h1 * sizeof *f->wt);
  f->h = malloc(batch * f->h1 * sizeof *f->h);
  f->hc = malloc(batch * f->h1 * sizeof *f->hc);
  f->act[0] = malloc(batch * maxw * sizeof *f->act[0]);
  f->act[1] = malloc(batch * maxw * sizeof *f->act[1]);
  if (st || !f->wt || !f->h || !f->hc || !f->act[0] || !f->act[1]) {
    lsp_sqfast_free(f);
    return st ? lsp_fail(LSP_EINVAL, "square: the first layer has no weights")
              : lsp_fail(LSP_ENOMEM, "square: out of memory");
  }
  for (size_t u = 0; u < f->h1; u++)
    for (size_t j = 0; j < dim; j++) f->wt[j * f->h1 + u] = f->w1[u * dim + j];
  *out = f;
  return LSP_OK;
}

int lsp_sqfast_init(lsp_sqfast *f, const float *xb, size_t na) {
  float *y = f->act[0];
  lsp_dense_forward(xb, na, f->dim, f->h1, f->w1, f->b1, y);
  for (size_t i = 0; i < na * f->h1; i++) f->h[i] = y[i];
  return LSP_OK;
}

void lsp_sqfast_begin(lsp_sqfast *f, size_t a) {
  memcpy(f->hc + a * f->h1, f->h + a * f->h1, f->h1 * sizeof *f->h);
}

/* The hot loop of the early, large squares: a quarter of a Square run's
 * time on the portable baseline, hence the AVX-512/AVX2 clones. */
LSP_CLONES static void axpy_f32_f64(double *restrict h, const float *restrict w,
                                    double d, size_t n) {
  for (size_t u = 0; u < n; u++) h[u] += (double)w[u] * d;
}

void lsp_sqfast_add(lsp_sqfast *f, size_t a, size_t j, double delta) {
  axpy_f32_f64(f->hc + a * f->h1, f->wt + j * f->h1, delta, f->h1);
}

void lsp_sqfast_accept(lsp_sqfast *f, size_t a) {
  memcpy(f->h + a * f->h1, f->hc + a * f->h1, f->h1 * sizeof *f->h);
}

void lsp_sqfast_move(lsp_sqfast *f, size_t from, size_t to) {
  memcpy(f->h + to * f->h1, f->h + from * f->h1, f->h1 * sizeof *f->h);
}

double lsp_sqfast_flops(const lsp_sqfast *f, size_t changed) {
  return f->flops + 2.0 * (double)changed * (double)f->h1;
}

int lsp_sqfast_logits(lsp_sqfast *f, size_t na, const float **logits) {
  const lsp_model *m = f->m;
  float *a = f->act[0];
  for (size_t i = 0; i < na * f->h1; i++) a[i] = (float)f->hc[i];
  int cur = 0;
  for (size_t i = 1; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    if (nd->op == LSP_OP_FLATTEN) continue; /* the same numbers */
    size_t in = lsp_shape_size(nd->ishape);
    if (nd->op == LSP_OP_RELU) {
      lsp_relu_forward(f->act[cur], f->act[cur], na * in);
      continue;
    }
    const float *w = NULL, *b = NULL;
    if (dense_tensors(m, i, &w, &b))
      return lsp_fail(LSP_EINVAL, "square: node %zu has no weights", i);
    lsp_dense_forward(f->act[cur], na, in, nd->a.units, w, b, f->act[1 - cur]);
    cur = 1 - cur;
  }
  *logits = f->act[cur];
  return LSP_OK;
}
