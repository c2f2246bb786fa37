/* lsp_model.c — the sequential network's compute core: allocation,
 * initialization, batched forward and backward through CBLAS. Model files
 * (.lspm, PyTorch export) live in lsp_model_io.c. */
#include "core/nn/lsp_model.h"

#include <cblas.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"

lsp_model *lsp_model_alloc_mlp(size_t in, const size_t *hidden, size_t nh,
                               size_t out) {
  if (in == 0 || out == 0) {
    lsp_fail(LSP_EINVAL, "model sizes must be positive (in %zu, out %zu)", in, out);
    return NULL;
  }
  for (size_t i = 0; i < nh; i++)
    if (hidden[i] == 0) {
      lsp_fail(LSP_EINVAL, "hidden layer %zu has zero units", i + 1);
      return NULL;
    }
  lsp_model *m = calloc(1, sizeof *m);
  if (!m) goto oom;
  m->nlayers = 2 * nh + 1;
  m->layers = calloc(m->nlayers, sizeof *m->layers);
  if (!m->layers) goto oom;
  size_t prev = in, np = 0;
  for (size_t i = 0; i <= nh; i++) {
    size_t o = i < nh ? hidden[i] : out;
    lsp_layer *d = &m->layers[2 * i];
    d->kind = LSP_LAYER_DENSE;
    d->in = prev;
    d->out = o;
    if (o > SIZE_MAX / 4 / (prev + 1)) {
      lsp_model_free(m);
      lsp_fail(LSP_EINVAL, "layer %zu is too large (%zu x %zu)", i + 1, o, prev);
      return NULL;
    }
    np += o * prev + o;
    if (i < nh) {
      lsp_layer *r = &m->layers[2 * i + 1];
      r->kind = LSP_LAYER_RELU;
      r->in = r->out = o;
    }
    prev = o;
  }
  m->nparams = np;
  m->params = calloc(np, sizeof(float));
  m->grads = calloc(np, sizeof(float));
  if (!m->params || !m->grads) goto oom;
  size_t off = 0;
  for (size_t l = 0; l < m->nlayers; l++) {
    lsp_layer *d = &m->layers[l];
    if (d->kind != LSP_LAYER_DENSE) continue;
    d->w = m->params + off;
    d->dw = m->grads + off;
    off += d->out * d->in;
    d->b = m->params + off;
    d->db = m->grads + off;
    off += d->out;
  }
  m->in_dim = in;
  m->out_dim = out;
  m->meta.val_accuracy = NAN;
  return m;
oom:
  lsp_model_free(m);
  lsp_fail(LSP_ENOMEM, "out of memory for the model");
  return NULL;
}

void lsp_model_free(lsp_model *m) {
  if (!m) return;
  free(m->layers);
  free(m->params);
  free(m->grads);
  free(m);
}

int lsp_model_init(lsp_model *m, unsigned long seed) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!r) return lsp_fail(LSP_ENOMEM, "out of memory for the initialization generator");
  gsl_rng_set(r, seed);
  for (size_t l = 0; l < m->nlayers; l++) {
    lsp_layer *d = &m->layers[l];
    if (d->kind != LSP_LAYER_DENSE) continue;
    /* nn.Linear: kaiming_uniform(a=sqrt(5)) on W gives bound 1/sqrt(in),
     * and the bias uses the same bound. */
    double bound = 1.0 / sqrt((double)d->in);
    for (size_t i = 0; i < d->out * d->in; i++)
      d->w[i] = (float)((2.0 * gsl_rng_uniform(r) - 1.0) * bound);
    for (size_t i = 0; i < d->out; i++)
      d->b[i] = (float)((2.0 * gsl_rng_uniform(r) - 1.0) * bound);
  }
  gsl_rng_free(r);
  return LSP_OK;
}

const lsp_layer *lsp_model_last_dense(const lsp_model *m) {
  for (size_t l = m->nlayers; l-- > 0;)
    if (m->layers[l].kind == LSP_LAYER_DENSE) return &m->layers[l];
  return NULL;
}

size_t lsp_model_feature_dim(const lsp_model *m) {
  const lsp_layer *d = lsp_model_last_dense(m);
  return d ? d->in : 0;
}

void lsp_model_describe(const lsp_model *m, char *buf, size_t len) {
  size_t n = (size_t)snprintf(buf, len, "%zu", m->in_dim);
  for (size_t l = 0; l < m->nlayers && n < len; l++)
    if (m->layers[l].kind == LSP_LAYER_DENSE)
      n += (size_t)snprintf(buf + n, len - n, "-%zu", m->layers[l].out);
}

/* ---- workspace ------------------------------------------------------------ */

struct lsp_model_ws {
  size_t max_batch;
  const float *owner; /* the params of the model it was made for (a training
                         view of that model shares them)                 */
  size_t in_dim;
  size_t nlayers;
  size_t *width;    /* owned: each layer's output width, as allocated  */
  size_t n;         /* rows of the last forward                    */
  const float *x;   /* input of the last forward (not owned)       */
  float **act;      /* owned: act[l] = output of layer l, n×out    */
  float *g0, *g1;   /* owned: backward ping-pong, max_batch×width  */
};

lsp_model_ws *lsp_model_ws_alloc(const lsp_model *m, size_t max_batch) {
  if (max_batch == 0) {
    lsp_fail(LSP_EINVAL, "workspace batch size must be positive");
    return NULL;
  }
  lsp_model_ws *ws = calloc(1, sizeof *ws);
  if (!ws) goto oom;
  ws->max_batch = max_batch;
  ws->owner = m->params;
  ws->in_dim = m->in_dim;
  ws->nlayers = m->nlayers;
  ws->act = calloc(m->nlayers, sizeof *ws->act);
  ws->width = calloc(m->nlayers, sizeof *ws->width);
  if (!ws->act || !ws->width) goto oom;
  size_t width = m->in_dim;
  for (size_t l = 0; l < m->nlayers; l++) {
    size_t o = m->layers[l].out;
    ws->width[l] = o;
    if (o > width) width = o;
    ws->act[l] = malloc(max_batch * o * sizeof(float));
    if (!ws->act[l]) goto oom;
  }
  ws->g0 = malloc(max_batch * width * sizeof(float));
  ws->g1 = malloc(max_batch * width * sizeof(float));
  if (!ws->g0 || !ws->g1) goto oom;
  return ws;
oom:
  lsp_model_ws_free(ws);
  lsp_fail(LSP_ENOMEM, "out of memory for a batch of %zu rows", max_batch);
  return NULL;
}

void lsp_model_ws_free(lsp_model_ws *ws) {
  if (!ws) return;
  if (ws->act)
    for (size_t l = 0; l < ws->nlayers; l++) free(ws->act[l]);
  free(ws->g0);
  free(ws->g1);
  free(ws->act);
  free(ws->width);
  free(ws);
}

/* The workspace's buffers are sized for one model: using it with another
 * (even one of the same shape) would mix activations or overrun them. */
static int ws_check(const lsp_model *m, const lsp_model_ws *ws) {
  int same = ws->owner == m->params && ws->nlayers == m->nlayers &&
             ws->in_dim == m->in_dim;
  for (size_t l = 0; same && l < m->nlayers; l++)
    same = ws->width[l] == m->layers[l].out;
  if (!same) {
    char arch[128];
    lsp_model_describe(m, arch, sizeof arch);
    return lsp_fail(LSP_EINVAL,
                    "the workspace belongs to another model than this %s one",
                    arch);
  }
  return LSP_OK;
}

/* ---- forward / backward --------------------------------------------------- */

int lsp_model_forward(const lsp_model *m, lsp_model_ws *ws, const float *x,
                      size_t n, const float **logits, const float **features) {
  int st = ws_check(m, ws);
  if (st) return st;
  if (n == 0 || n > ws->max_batch)
    return lsp_fail(LSP_EINVAL, "batch of %zu rows does not fit the workspace (max %zu)",
                    n, ws->max_batch);
  ws->x = x;
  ws->n = n;
  const float *a = x;
  const float *feat = x;
  for (size_t l = 0; l < m->nlayers; l++) {
    const lsp_layer *L = &m->layers[l];
    float *y = ws->act[l];
    if (L->kind == LSP_LAYER_DENSE) {
      feat = a; /* the input of the last dense layer, once the loop ends */
      /* y = a Wᵀ + b;  a is (n,in), W is (out,in), y is (n,out) */
      for (size_t i = 0; i < n; i++) memcpy(y + i * L->out, L->b, L->out * sizeof(float));
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)L->out,
                  (int)L->in, 1.0f, a, (int)L->in, L->w, (int)L->in, 1.0f, y,
                  (int)L->out);
    } else {
      size_t cnt = n * L->out;
      const float *restrict ai = a;
      float *restrict yo = y;
      for (size_t i = 0; i < cnt; i++) yo[i] = ai[i] > 0.0f ? ai[i] : 0.0f;
    }
    a = y;
  }
  if (logits) *logits = a;
  if (features) *features = feat;
  return LSP_OK;
}

int lsp_model_backward(lsp_model *m, lsp_model_ws *ws, const float *dlogits,
                       int what, float *dx) {
  int st = ws_check(m, ws);
  if (st) return st;
  size_t n = ws->n;
  if (n == 0 || !ws->x) return lsp_fail(LSP_EINVAL, "backward without a forward");
  if ((what & LSP_BACK_INPUT) && !dx)
    return lsp_fail(LSP_EINVAL, "input gradient requested without a buffer");
  const float *g = dlogits; /* gradient w.r.t. the current layer's output */
  float *bufs[2] = {ws->g0, ws->g1};
  int which = 0;
  for (size_t l = m->nlayers; l-- > 0;) {
    lsp_layer *L = &m->layers[l];
    const float *a = l == 0 ? ws->x : ws->act[l - 1]; /* layer input (n,in) */
    int need_dinput = l > 0 || (what & LSP_BACK_INPUT);
    /* stop early when nothing below is wanted */
    if (!need_dinput && !(what & LSP_BACK_PARAMS)) break;
    float *din = l == 0 ? dx : bufs[which];
    if (L->kind == LSP_LAYER_DENSE) {
      if (what & LSP_BACK_PARAMS) {
        /* dW = gᵀ a : (out,n)(n,in);  db = column sums of g */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)L->out, (int)L->in,
                    (int)n, 1.0f, g, (int)L->out, a, (int)L->in, 0.0f, L->dw,
                    (int)L->in);
        for (size_t j = 0; j < L->out; j++) L->db[j] = 0.0f;
        for (size_t i = 0; i < n; i++)
          for (size_t j = 0; j < L->out; j++) L->db[j] += g[i * L->out + j];
      }
      if (need_dinput) /* din = g W : (n,out)(out,in) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)L->in,
                    (int)L->out, 1.0f, g, (int)L->out, L->w, (int)L->in, 0.0f, din,
                    (int)L->in);
    } else {
      /* distinct buffers: restrict lets the compiler vectorize the mask */
      const float *restrict y = ws->act[l];
      const float *restrict gi = g;
      float *restrict d = din;
      size_t cnt = n * L->out;
      for (size_t i = 0; i < cnt; i++) d[i] = y[i] > 0.0f ? gi[i] : 0.0f;
    }
    if (!need_dinput) break;
    g = din;
    which ^= 1;
  }
  return LSP_OK;
}

int lsp_model_predict(const lsp_model *m, const float *x, size_t n,
                      size_t batch, float *logits, float *features) {
  if (batch == 0) batch = 1024;
  if (batch > n) batch = n;
  if (n == 0) return lsp_fail(LSP_EDATA, "no examples to predict");
  lsp_model_ws *ws = lsp_model_ws_alloc(m, batch);
  if (!ws) return LSP_ENOMEM;
  size_t k = m->out_dim, h = lsp_model_feature_dim(m);
  int st = LSP_OK;
  for (size_t i0 = 0; i0 < n; i0 += batch) {
    if (lsp_interrupted()) {
      st = lsp_fail(LSP_EINTR, "interrupted");
      break;
    }
    size_t nb = n - i0 < batch ? n - i0 : batch;
    const float *z, *f;
    st = lsp_model_forward(m, ws, x + i0 * m->in_dim, nb, &z, &f);
    if (st) break;
    memcpy(logits + i0 * k, z, nb * k * sizeof(float));
    if (features) memcpy(features + i0 * h, f, nb * h * sizeof(float));
  }
  lsp_model_ws_free(ws);
  return st;
}
