/* lsp_train.c — mini-batch training with label smoothing.
 *
 * One epoch: shuffle the training indices (GSL mt19937), then for each batch
 * gather its rows into a contiguous buffer, forward, the fused smoothed
 * cross-entropy (gradient of the batch mean), backward to the parameters,
 * one optimizer step; after the epoch, the same loss and the accuracy on the
 * validation split. Every buffer is allocated before the first batch.
 *
 * The optimizers follow PyTorch's definitions step for step so that the
 * hyper-parameters mean the same thing here as there:
 *   SGD  (torch.optim.SGD, dampening 0, no Nesterov)
 *        g = dL/dw + wd*w;  v = mu*v + g  (v starts at 0, so v1 = g);
 *        w -= lr*v
 *   Adam (torch.optim.Adam, betas 0.9/0.999, eps 1e-8, L2 weight decay)
 *        g = dL/dw + wd*w;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;
 *        w -= (lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * The cosine schedule is CosineAnnealingLR(T_max = epochs, eta_min = 0)
 * stepped once per epoch: epoch e (0-based) uses lr*(1+cos(pi*e/E))/2.
 *
 * Determinism: the shuffle depends only on the seed, the per-element updates
 * are independent of the thread count, and the GEMMs (OpenBLAS) and the loss
 * (fixed reduction order) are deterministic for a fixed thread count. */
#define _POSIX_C_SOURCE 200809L
#include "core/lsp_train.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/lsp_error.h"
#include "core/lsp_io.h"

#define ADAM_B1 0.9
#define ADAM_B2 0.999
#define ADAM_EPS 1e-8
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

void lsp_train_opts_default(lsp_train_opts *o) {
  memset(o, 0, sizeof *o);
  o->smoothing.eps = 0.0;
  o->smoothing.convention = LSP_LS_UNIFORM;
  o->smoothing.normalize = 0;
  o->epochs = 15;
  o->batch = 128;
  o->lr = 0.1;
  o->momentum = 0.9;
  o->weight_decay = 0.0;
  o->cosine = 0;
  o->adam = 0;
  o->seed = 1;
}

void lsp_train_log_free(lsp_train_log *log) {
  if (!log) return;
  free(log->train_loss);
  free(log->train_acc);
  free(log->val_loss);
  free(log->val_acc);
  log->train_loss = log->train_acc = log->val_loss = log->val_acc = NULL;
  log->epochs = 0;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Rows of z (n×k) whose largest logit (lowest index on ties) is the label. */
static size_t count_correct(const float *z, const int32_t *y, size_t n, size_t k) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) {
    const float *r = z + i * k;
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
      if (r[j] > r[best]) best = j;
    c += (int32_t)best == y[i];
  }
  return c;
}

void lsp_train_sgd_step(float *w, const float *dw, float *v, size_t np, double lr_d,
                        double mu_d, double wd_d) {
  const float lr = (float)lr_d, mu = (float)mu_d, wd = (float)wd_d;
  /* One thread on purpose: OpenBLAS's pthread workers are still spinning
   * after the backward GEMMs, and an OpenMP team here oversubscribes the
   * cores; measured on 2 cores, that cut training from 59k to 15k
   * samples/s. The step is memory-bound and a few percent of a batch. */
#pragma omp simd
  for (size_t i = 0; i < np; i++) {
    float g = dw[i] + wd * w[i];
    v[i] = mu * v[i] + g;
    w[i] = w[i] - lr * v[i];
  }
}

void lsp_train_adam_step(float *w, const float *dw, float *m1, float *m2, size_t np,
                         double lr, double wd, size_t t) {
  double bc1 = 1.0 - pow(ADAM_B1, (double)t), bc2 = 1.0 - pow(ADAM_B2, (double)t);
  float step = (float)(lr / bc1), rs = (float)(1.0 / sqrt(bc2));
  float b1 = (float)ADAM_B1, b2 = (float)ADAM_B2, eps = (float)ADAM_EPS;
  float fwd = (float)wd;
#pragma omp simd /* one thread: see lsp_train_sgd_step */
  for (size_t i = 0; i < np; i++) {
    float g = dw[i] + fwd * w[i];
    m1[i] = b1 * m1[i] + (1.0f - b1) * g;
    m2[i] = b2 * m2[i] + (1.0f - b2) * g * g;
    w[i] = w[i] - step * m1[i] / (sqrtf(m2[i]) * rs + eps);
  }
}

static int check_setup(const lsp_model *m, const lsp_splits *data,
                       const lsp_train_opts *o) {
  char arch[256];
  lsp_model_describe(m, arch, sizeof arch);
  const lsp_dataset *tr = &data->train;
  if (tr->n == 0 || !tr->x || !tr->y)
    return lsp_fail(LSP_EDATA, "%s: no training examples", data->name);
  if (m->in_dim != tr->dim)
    return lsp_fail(LSP_EDATA,
                    "model %s takes %zu inputs but the data (%s) has %zu features",
                    arch, m->in_dim, data->name, tr->dim);
  if (tr->k < 0 || m->out_dim != (size_t)tr->k)
    return lsp_fail(LSP_EDATA,
                    "model %s has %zu outputs but the data (%s) has %d classes",
                    arch, m->out_dim, data->name, tr->k);
  if (data->val.n && (data->val.dim != tr->dim || data->val.k != tr->k))
    return lsp_fail(LSP_EDATA, "%s: the validation split does not match the training split",
                    data->name);
  if (o->epochs == 0 || o->batch == 0)
    return lsp_fail(LSP_EINVAL, "epochs and batch size must be positive");
  if (!(o->lr > 0.0) || !isfinite(o->lr))
    return lsp_fail(LSP_EINVAL, "learning rate %g must be positive and finite", o->lr);
  if (!(o->momentum >= 0.0 && o->momentum < 1.0))
    return lsp_fail(LSP_EINVAL, "momentum %g must lie in [0, 1)", o->momentum);
  if (!(o->weight_decay >= 0.0) || !isfinite(o->weight_decay))
    return lsp_fail(LSP_EINVAL, "weight decay %g must be non-negative and finite",
                    o->weight_decay);
  return lsp_ls_check(&o->smoothing, m->out_dim);
}

/* Mean loss and accuracy of the model on a split, in batches through the
 * training workspace. */
static int evaluate(const lsp_model *m, lsp_model_ws *ws, const lsp_dataset *d,
                    size_t batch, const lsp_ls *ls, double *loss, double *acc) {
  double sum = 0.0;
  size_t correct = 0;
  for (size_t i0 = 0; i0 < d->n; i0 += batch) {
    size_t nb = d->n - i0 < batch ? d->n - i0 : batch;
    const float *z;
    double l;
    int st = lsp_model_forward(m, ws, d->x + i0 * d->dim, nb, &z, NULL);
    if (!st) st = lsp_loss_xent(z, d->y + i0, nb, m->out_dim, ls, NULL, 1.0, NULL, &l);
    if (st) return lsp_fail_prefix(st, "validation");
    sum += l * (double)nb;
    correct += count_correct(z, d->y + i0, nb, m->out_dim);
  }
  *loss = sum / (double)d->n;
  *acc = (double)correct / (double)d->n;
  return LSP_OK;
}

int lsp_train(lsp_model *m, const lsp_splits *data, const lsp_train_opts *opts,
              lsp_train_cb cb, void *user, lsp_train_log *log) {
  if (!m || !data || !opts) return lsp_fail(LSP_EINVAL, "lsp_train: missing argument");
  int st = check_setup(m, data, opts);
  if (st) return st;
  const lsp_dataset *tr = &data->train, *va = &data->val;
  const size_t n = tr->n, dim = tr->dim, k = m->out_dim, np = m->nparams;
  const size_t bs = opts->batch < n ? opts->batch : n;
  const size_t batches = (n + bs - 1) / bs;

  lsp_model_ws *ws = lsp_model_ws_alloc(m, bs);
  float *xb = malloc(bs * dim * sizeof *xb);
  int32_t *yb = malloc(bs * sizeof *yb);
  float *dz = malloc(bs * k * sizeof *dz);
  size_t *perm = malloc(n * sizeof *perm);
  float *state = calloc(opts->adam ? 2 * np : np, sizeof *state);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  lsp_train_log lg = {0};
  lg.epochs = opts->epochs;
  lg.train_loss = malloc(opts->epochs * sizeof(double));
  lg.train_acc = malloc(opts->epochs * sizeof(double));
  lg.val_loss = malloc(opts->epochs * sizeof(double));
  lg.val_acc = malloc(opts->epochs * sizeof(double));
  if (!ws || !xb || !yb || !dz || !perm || !state || !rng || !lg.train_loss ||
      !lg.train_acc || !lg.val_loss || !lg.val_acc) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for training (batch %zu, %zu examples)",
                  bs, n);
    goto done;
  }

  lsp_model_init(m, opts->seed);
  /* The shuffling stream is seeded apart from the initialization stream. */
  gsl_rng_set(rng, opts->seed ^ 0x5bd1e995UL);
  for (size_t i = 0; i < n; i++) perm[i] = i;

  const double t0 = now_s();
  const double total = (double)opts->epochs * (double)n;
  size_t step = 0;
  double seen = 0.0;
  lsp_train_progress pr = {0};
  pr.epochs = opts->epochs;
  pr.batches = batches;
  for (size_t ep = 0; ep < opts->epochs; ep++) {
    double lr = opts->lr;
    if (opts->cosine)
      lr = 0.5 * opts->lr * (1.0 + cos(M_PI * (double)ep / (double)opts->epochs));
    gsl_ran_shuffle(rng, perm, n, sizeof *perm);
    double loss_sum = 0.0;
    size_t correct = 0, done_rows = 0;
    for (size_t b = 0; b < batches; b++) {
      if (lsp_interrupted()) {
        st = lsp_fail(LSP_EINTR, "training interrupted (epoch %zu, batch %zu)", ep + 1,
                      b + 1);
        goto done;
      }
      size_t i0 = b * bs, nb = n - i0 < bs ? n - i0 : bs;
      for (size_t i = 0; i < nb; i++) {
        size_t r = perm[i0 + i];
        memcpy(xb + i * dim, tr->x + r * dim, dim * sizeof *xb);
        yb[i] = tr->y[r];
      }
      const float *z;
      double l;
      st = lsp_model_forward(m, ws, xb, nb, &z, NULL);
      if (!st) st = lsp_loss_xent(z, yb, nb, k, &opts->smoothing, dz, 1.0 / (double)nb,
                                  NULL, &l);
      if (st) {
        char where[96];
        snprintf(where, sizeof where, "epoch %zu, batch %zu (training diverged? lower --lr)",
                 ep + 1, b + 1);
        st = lsp_fail_prefix(st, where);
        goto done;
      }
      correct += count_correct(z, yb, nb, k);
      if ((st = lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS, NULL))) goto done;
      step++;
      if (opts->adam)
        lsp_train_adam_step(m->params, m->grads, state, state + np, np, lr, opts->weight_decay,
                  step);
      else
        lsp_train_sgd_step(m->params, m->grads, state, np, lr, opts->momentum,
                           opts->weight_decay);
      loss_sum += l * (double)nb;
      done_rows += nb;
      seen += (double)nb;
      if (cb) {
        double el = now_s() - t0;
        pr.epoch = ep + 1;
        pr.batch = b + 1;
        pr.loss = loss_sum / (double)done_rows;
        pr.accuracy = (double)correct / (double)done_rows;
        pr.samples_per_s = el > 0 ? seen / el : 0.0;
        pr.eta_s = seen > 0 ? el / seen * (total - seen) : 0.0;
        pr.end_of_epoch = 0;
        cb(&pr, user);
      }
    }
    lg.train_loss[ep] = loss_sum / (double)n;
    lg.train_acc[ep] = (double)correct / (double)n;
    lg.val_loss[ep] = lg.val_acc[ep] = NAN;
    if (va->n && (st = evaluate(m, ws, va, bs, &opts->smoothing, &lg.val_loss[ep],
                                &lg.val_acc[ep])))
      goto done;
    if (cb) {
      double el = now_s() - t0;
      pr.epoch = ep + 1;
      pr.batch = batches;
      pr.loss = lg.train_loss[ep];
      pr.accuracy = lg.train_acc[ep];
      pr.samples_per_s = el > 0 ? seen / el : 0.0;
      pr.eta_s = el / seen * (total - seen);
      pr.end_of_epoch = 1;
      pr.val_loss = lg.val_loss[ep];
      pr.val_accuracy = lg.val_acc[ep];
      cb(&pr, user);
    }
  }
  lg.seconds = now_s() - t0;
  lg.samples_per_s = lg.seconds > 0 ? total / lg.seconds : 0.0;

  lsp_model_meta *mt = &m->meta;
  memset(mt, 0, sizeof *mt);
  mt->trained = 1;
  mt->smoothing = opts->smoothing;
  mt->seed = opts->seed;
  mt->epochs = (int)opts->epochs;
  mt->batch = (int)opts->batch;
  mt->lr = opts->lr;
  mt->momentum = opts->momentum;
  mt->weight_decay = opts->weight_decay;
  mt->cosine = opts->cosine != 0;
  mt->adam = opts->adam != 0;
  snprintf(mt->data, sizeof mt->data, "%s", data->name);
  mt->data_hash = data->hash;
  mt->val_accuracy = lg.val_acc[opts->epochs - 1];
  mt->train_seconds = lg.seconds;
  if (log) {
    *log = lg;
    memset(&lg, 0, sizeof lg);
  }
done:
  lsp_train_log_free(&lg);
  gsl_rng_free(rng);
  free(state);
  free(perm);
  free(dz);
  free(yb);
  free(xb);
  lsp_model_ws_free(ws);
  return st;
}
