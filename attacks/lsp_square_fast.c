/* lsp_square_fast.c — Square's queries on a model whose first layer is a
 * dense layer on the input followed by a chain of dense and ReLU layers
 * (every MLP).
 *
 * A candidate differs from its row's current best input only inside one
 * square, so the first layer's pre-activation is updated instead of
 * recomputed: h' = h + Σ_{changed pixels j} W1[:, j]·(x'_j − x_j), in
 * double, with W1 stored transposed so that a pixel's weights are
 * contiguous (s²·H1 multiply-adds instead of D·H1: 4·256 instead of
 * 784·256 for a late 2×2 square). The layers after it run on the batch as
 * the model runs them (CBLAS GEMMs in float32). These logits steer the
 * search; lsp_square.c confirms every misclassification with the model's
 * own forward pass and scores the kept inputs with it, so a rounding
 * difference between the two paths can never count an example as broken. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_clones.h"
#include "core/base/lsp_error.h"

struct lsp_sqfast {
  const lsp_model *m;
  size_t h1, dim, batch, maxw;
  float *wt;      /* owned: dim×h1, W1 transposed                      */
  double *h, *hc; /* owned: batch×h1, best input's / candidate's h     */
  float *act[2];  /* owned: batch×maxw, activations of the later layers */
  double flops;   /* of the later layers, per row                      */
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

int lsp_sqfast_alloc(const lsp_model *m, size_t dim, size_t batch,
                     lsp_sqfast **out) {
  *out = NULL;
  if (m->nlayers == 0 || m->layers[0].kind != LSP_LAYER_DENSE ||
      m->layers[0].in != dim)
    return LSP_OK; /* not eligible: the caller uses the model's forward */
  size_t maxw = 0;
  double flops = 0.0;
  for (size_t l = 0; l < m->nlayers; l++) {
    const lsp_layer *L = &m->layers[l];
    if (L->kind != LSP_LAYER_DENSE && L->kind != LSP_LAYER_RELU) return LSP_OK;
    if (L->out > maxw) maxw = L->out;
    if (l > 0 && L->kind == LSP_LAYER_DENSE)
      flops += 2.0 * (double)L->in * (double)L->out;
  }
  lsp_sqfast *f = calloc(1, sizeof *f);
  if (!f) return lsp_fail(LSP_ENOMEM, "square: out of memory");
  const lsp_layer *L0 = &m->layers[0];
  f->m = m;
  f->h1 = L0->out;
  f->dim = dim;
  f->batch = batch;
  f->maxw = maxw;
  f->flops = flops;
  f->wt = malloc(dim * f->h1 * sizeof *f->wt);
  f->h = malloc(batch * f->h1 * sizeof *f->h);
  f->hc = malloc(batch * f->h1 * sizeof *f->hc);
  f->act[0] = malloc(batch * maxw * sizeof *f->act[0]);
  f->act[1] = malloc(batch * maxw * sizeof *f->act[1]);
  if (!f->wt || !f->h || !f->hc || !f->act[0] || !f->act[1]) {
    lsp_sqfast_free(f);
    return lsp_fail(LSP_ENOMEM, "square: out of memory");
  }
  for (size_t u = 0; u < f->h1; u++)
    for (size_t j = 0; j < dim; j++) f->wt[j * f->h1 + u] = L0->w[u * dim + j];
  *out = f;
  return LSP_OK;
}

int lsp_sqfast_init(lsp_sqfast *f, const float *xb, size_t na) {
  const lsp_layer *L0 = &f->m->layers[0];
  float *y = f->act[0];
  /* y = x W1ᵀ + b1;  x is (na,dim), W1 is (h1,dim) */
  for (size_t a = 0; a < na; a++)
    memcpy(y + a * f->h1, L0->b, f->h1 * sizeof *y);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)na, (int)f->h1,
              (int)f->dim, 1.0f, xb, (int)f->dim, L0->w, (int)f->dim, 1.0f, y,
              (int)f->h1);
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
  size_t width = f->h1;
  int cur = 0;
  for (size_t l = 1; l < m->nlayers; l++) {
    const lsp_layer *L = &m->layers[l];
    if (L->kind == LSP_LAYER_RELU) {
      float *restrict v = f->act[cur];
      for (size_t i = 0; i < na * width; i++) v[i] = v[i] > 0.0f ? v[i] : 0.0f;
      continue;
    }
    float *y = f->act[1 - cur];
    for (size_t r = 0; r < na; r++)
      memcpy(y + r * L->out, L->b, L->out * sizeof *y);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)na, (int)L->out,
                (int)L->in, 1.0f, f->act[cur], (int)L->in, L->w, (int)L->in,
                1.0f, y, (int)L->out);
    cur = 1 - cur;
    width = L->out;
  }
  *logits = f->act[cur];
  return LSP_OK;
}
