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
 * Determinism: the shuffle depends only on the seed; with T threads every
 * batch is cut into the same T shares, whose gradients are summed in a fixed
 * order; the GEMMs (OpenBLAS, one thread each) and the loss (fixed reduction
 * order) are deterministic. So a seed and T fix the model bit for bit;
 * another T changes float rounding only. */
#define _POSIX_C_SOURCE 200809L
#include "core/train/lsp_train.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_pool.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "core/loss/lsp_soft.h"

/* OpenBLAS's thread knobs (declared by its cblas.h; repeated here as in
 * lsp_threads.c so that the include order does not matter). */
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);

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
  o->teacher = NULL;
  o->alpha = 0.0;
  o->temperature = 1.0;
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

/* Rows of z (n×k) whose largest logit (lowest index on ties) is the label. */
static size_t count_correct(const float *z, const int32_t *y, size_t n,
                            size_t k) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) {
    const float *r = z + i * k;
    c += (int32_t)lsp_argmax_f32(r, k) == y[i];
  }
  return c;
}

void lsp_train_sgd_step(float *w, const float *dw, float *v, size_t np,
                        double lr_d, double mu_d, double wd_d) {
  const float lr = (float)lr_d, mu = (float)mu_d, wd = (float)wd_d;
  /* No OpenMP team in here: lsp_train calls this on each thread's slice of
   * the parameters. (A team here, next to OpenBLAS's own spinning pthread
   * workers, oversubscribed 2 cores: 15k instead of 59k samples/s.) */
  for (size_t i = 0; i < np; i++) {
    float g = dw[i] + wd * w[i];
    v[i] = mu * v[i] + g;
    w[i] = w[i] - lr * v[i];
  }
}

void lsp_train_adam_step(float *w, const float *dw, float *m1, float *m2,
                         size_t np, double lr, double wd, size_t t) {
  double bc1 = 1.0 - pow(ADAM_B1, (double)t),
         bc2 = 1.0 - pow(ADAM_B2, (double)t);
  float step = (float)(lr / bc1), rs = (float)(1.0 / sqrt(bc2));
  float b1 = (float)ADAM_B1, b2 = (float)ADAM_B2, eps = (float)ADAM_EPS;
  float fwd = (float)wd;
  /* one thread: see lsp_train_sgd_step */
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
    return lsp_fail(
        LSP_EDATA,
        "model %s takes %zu inputs but the data (%s) has %zu features", arch,
        m->in_dim, data->name, tr->dim);
  if (tr->k < 0 || m->out_dim != (size_t)tr->k)
    return lsp_fail(LSP_EDATA,
                    "model %s has %zu outputs but the data (%s) has %d classes",
                    arch, m->out_dim, data->name, tr->k);
  if (data->val.n && (data->val.dim != tr->dim || data->val.k != tr->k))
    return lsp_fail(
        LSP_EDATA, "%s: the validation split does not match the training split",
        data->name);
  if (o->epochs == 0 || o->batch == 0)
    return lsp_fail(LSP_EINVAL, "epochs and batch size must be positive");
  if (!(o->lr > 0.0) || !isfinite(o->lr))
    return lsp_fail(LSP_EINVAL, "learning rate %g must be positive and finite",
                    o->lr);
  if (!(o->momentum >= 0.0 && o->momentum < 1.0))
    return lsp_fail(LSP_EINVAL, "momentum %g must lie in [0, 1)", o->momentum);
  if (!(o->weight_decay >= 0.0) || !isfinite(o->weight_decay))
    return lsp_fail(LSP_EINVAL,
                    "weight decay %g must be non-negative and finite",
                    o->weight_decay);
  if (o->teacher) {
    lsp_distill d = {o->alpha, o->temperature, o->smoothing};
    int st = lsp_distill_check(&d, m->out_dim);
    if (st) return lsp_fail_prefix(st, "distillation");
  }
  return lsp_ls_check(&o->smoothing, m->out_dim);
}

/* ---- data-parallel workers ------------------------------------------------
 *
 * With T threads each batch is cut into T contiguous shares of rows. Worker
 * t runs forward, loss and backward on its share through the model core
 * with single-threaded GEMMs, into gradients of its own; then every thread
 * sums the T gradients over its slice of the parameters, in worker order,
 * and applies the optimizer step to that slice. On 2 cores this beats
 * splitting each (small, 128-row) GEMM over OpenBLAS's threads, and the
 * result depends only on the seed and T. */

typedef struct {
  lsp_model view;    /* the model with private dw/db (worker 0: the model) */
  lsp_layer *layers; /* owned by workers t > 0                             */
  float *grads;      /* owned by workers t > 0                             */
  lsp_model_ws *ws;  /* owned: up to `rows` rows                           */
  float *xb, *dz;    /* owned: inputs (rows×dim), dlogits (rows×k)         */
  float *tb;         /* owned: teacher logits (rows×k) when distilling     */
  int32_t *yb;       /* owned: labels                                      */
  size_t rows;       /* capacity of a share                                */
  size_t nr;         /* rows in the current share                          */
  double loss_sum;   /* sum of the share's row losses                      */
  size_t correct;    /* rows of the share classified correctly             */
  int st;            /* status of the last share; msg holds its reason    */
  char msg[256];
} worker;

static int worker_init(worker *w, lsp_model *m, int t, size_t rows,
                       size_t dim, int distill) {
  memset(w, 0, sizeof *w);
  w->view = *m;
  w->rows = rows;
  if (t > 0) {
    w->layers = malloc(m->nlayers * sizeof *w->layers);
    w->grads = malloc(m->nparams * sizeof *w->grads);
    if (!w->layers || !w->grads) return LSP_ENOMEM;
    memcpy(w->layers, m->layers, m->nlayers * sizeof *w->layers);
    for (size_t l = 0; l < m->nlayers; l++) {
      lsp_layer *L = &w->layers[l];
      if (L->kind != LSP_LAYER_DENSE) continue;
      L->dw = w->grads + (m->layers[l].dw - m->grads);
      L->db = w->grads + (m->layers[l].db - m->grads);
    }
    w->view.layers = w->layers;
    w->view.grads = w->grads;
  }
  w->ws = lsp_model_ws_alloc(m, rows);
  w->xb = malloc(rows * dim * sizeof *w->xb);
  w->dz = malloc(rows * m->out_dim * sizeof *w->dz);
  w->yb = malloc(rows * sizeof *w->yb);
  if (distill && !(w->tb = malloc(rows * m->out_dim * sizeof *w->tb))) return LSP_ENOMEM;
  return w->ws && w->xb && w->dz && w->yb ? LSP_OK : LSP_ENOMEM;
}

static void worker_free(worker *w) {
  lsp_model_ws_free(w->ws);
  free(w->layers);
  free(w->grads);
  free(w->xb);
  free(w->dz);
  free(w->yb);
  free(w->tb);
}

static void worker_fail(worker *w, int st) {
  w->st = st;
  snprintf(w->msg, sizeof w->msg, "%s",
           lsp_errmsg()); /* the message is per thread */
}

/* Forward, loss (gradient scaled to the mean over the whole batch of nb
 * rows) and backward on the rows idx[0..nr). */
static void worker_batch(worker *w, const lsp_dataset *tr, const size_t *idx,
                         size_t nr, size_t nb, const lsp_train_opts *o) {
  const lsp_ls *ls = &o->smoothing;
  w->nr = nr;
  w->st = LSP_OK;
  w->loss_sum = 0.0;
  w->correct = 0;
  if (nr == 0) return;
  const size_t dim = tr->dim, k = w->view.out_dim;
  for (size_t i = 0; i < nr; i++) {
    memcpy(w->xb + i * dim, tr->x + idx[i] * dim, dim * sizeof *w->xb);
    w->yb[i] = tr->y[idx[i]];
    if (o->teacher)
      memcpy(w->tb + i * k, o->teacher + idx[i] * k, k * sizeof *w->tb);
  }
  const float *z;
  double l;
  int st = lsp_model_forward(&w->view, w->ws, w->xb, nr, &z, NULL);
  if (!st && o->teacher) {
    lsp_distill d = {o->alpha, o->temperature, *ls};
    lsp_distill_mean dm;
    st = lsp_loss_distill(z, w->tb, w->yb, nr, k, &d, w->dz, 1.0 / (double)nb, NULL, &dm);
    l = dm.loss;
  } else if (!st) {
    st = lsp_loss_xent(z, w->yb, nr, k, ls, w->dz, 1.0 / (double)nb, NULL, &l);
  }
  if (!st)
    st = lsp_model_backward(&w->view, w->ws, w->dz, LSP_BACK_PARAMS, NULL);
  if (st) {
    worker_fail(w, st);
    return;
  }
  w->loss_sum = l * (double)nr;
  w->correct = count_correct(z, w->yb, nr, k);
}

/* Loss and correct count on rows [r0, r1) of d, in chunks of the share. */
static void worker_eval(worker *w, const lsp_dataset *d, size_t r0, size_t r1,
                        const lsp_ls *ls) {
  w->st = LSP_OK;
  w->loss_sum = 0.0;
  w->correct = 0;
  for (size_t i0 = r0; i0 < r1; i0 += w->rows) {
    size_t nb = r1 - i0 < w->rows ? r1 - i0 : w->rows;
    const float *z;
    double l;
    int st =
        lsp_model_forward(&w->view, w->ws, d->x + i0 * d->dim, nb, &z, NULL);
    if (!st)
      st = lsp_loss_xent(z, d->y + i0, nb, w->view.out_dim, ls, NULL, 1.0, NULL,
                         &l);
    if (st) {
      worker_fail(w, st);
      return;
    }
    w->loss_sum += l * (double)nb;
    w->correct += count_correct(z, d->y + i0, nb, w->view.out_dim);
  }
}

/* The first failing worker's status, with its message re-recorded here. */
static int workers_status(const worker *w, int nw) {
  for (int t = 0; t < nw; t++)
    if (w[t].st) return lsp_fail(w[t].st, "%s", w[t].msg);
  return LSP_OK;
}

typedef struct {
  lsp_model *m;
  worker *w;
  int nw;
  float *state; /* SGD velocity, or Adam's two moments back to back */
  const lsp_train_opts *o;
} trainer;

/* Thread t of nt: sum the workers' gradients over its parameter slice into
 * m->grads, in worker order, and step that slice. */
static void reduce_and_step(const trainer *tn, int t, int nt, double lr,
                            size_t step) {
  const size_t np = tn->m->nparams;
  const size_t lo = np * (size_t)t / (size_t)nt,
               hi = np * (size_t)(t + 1) / (size_t)nt;
  float *g = tn->m->grads;
  if (tn->w[0].nr == 0) memset(g + lo, 0, (hi - lo) * sizeof *g);
  for (int u = 1; u < tn->nw; u++) {
    if (tn->w[u].nr == 0) continue;
    const float *gu = tn->w[u].grads;
    for (size_t i = lo; i < hi; i++) g[i] += gu[i];
  }
  const lsp_train_opts *o = tn->o;
  if (o->adam)
    lsp_train_adam_step(tn->m->params + lo, g + lo, tn->state + lo,
                        tn->state + np + lo, hi - lo, lr, o->weight_decay,
                        step);
  else
    lsp_train_sgd_step(tn->m->params + lo, g + lo, tn->state + lo, hi - lo, lr,
                       o->momentum, o->weight_decay);
}

/* What one pool run needs: a batch (idx, nb, lr, step) or a split to score. */
typedef struct {
  const trainer *tn;
  lsp_pool *pool;
  const lsp_dataset *d;
  const size_t *idx;
  size_t nb, step;
  double lr;
} job;

/* Thread t of nt: its share of the batch, then (once every share is done and
 * none failed) the sum of the gradients and the step on its parameter slice. */
static void batch_job(void *varg, int t, int nt) {
  const job *j = varg;
  const trainer *tn = j->tn;
  size_t r0 = j->nb * (size_t)t / (size_t)nt,
         r1 = j->nb * (size_t)(t + 1) / (size_t)nt;
  worker_batch(&tn->w[t], j->d, j->idx + r0, r1 - r0, j->nb, tn->o);
  lsp_pool_barrier(j->pool);
  for (int u = 0; u < nt; u++)
    if (tn->w[u].st) return; /* every thread sees the same failure */
  reduce_and_step(tn, t, nt, j->lr, j->step);
}

static void eval_job(void *varg, int t, int nt) {
  const job *j = varg;
  size_t n = j->d->n;
  worker_eval(&j->tn->w[t], j->d, n * (size_t)t / (size_t)nt,
              n * (size_t)(t + 1) / (size_t)nt, &j->tn->o->smoothing);
}

/* Mean loss and accuracy on a split, its rows shared over the workers. */
static int evaluate(job *j, const lsp_dataset *d, double *loss, double *acc) {
  j->d = d;
  lsp_pool_run(j->pool, eval_job, j);
  double sum = 0.0;
  size_t correct = 0;
  for (int t = 0; t < j->tn->nw; t++) {
    const worker *w = &j->tn->w[t];
    if (w->st) return lsp_fail_prefix(workers_status(w, 1), "validation");
    sum += w->loss_sum;
    correct += w->correct;
  }
  *loss = sum / (double)d->n;
  *acc = (double)correct / (double)d->n;
  return LSP_OK;
}

int lsp_train(lsp_model *m, const lsp_splits *data, const lsp_train_opts *opts,
              lsp_train_cb cb, void *user, lsp_train_log *log) {
  if (!m || !data || !opts)
    return lsp_fail(LSP_EINVAL, "lsp_train: missing argument");
  int st = check_setup(m, data, opts);
  if (st) return st;
  const lsp_dataset *tr = &data->train, *va = &data->val;
  const size_t n = tr->n, np = m->nparams;
  const size_t bs = opts->batch < n ? opts->batch : n;
  const size_t batches = (n + bs - 1) / bs;
  int nw = lsp_threads_get();
  if (nw < 1) nw = 1;
  if ((size_t)nw > bs) nw = (int)bs;
  const size_t share = (bs + (size_t)nw - 1) / (size_t)nw;
  /* Workers call single-threaded GEMMs side by side. */
  const int blas_threads = openblas_get_num_threads();
  if (nw > 1) openblas_set_num_threads(1);

  trainer tn = {m, NULL, nw, NULL, opts};
  job jb = {&tn, lsp_pool_alloc(nw), tr, NULL, 0, 0, 0.0};
  size_t *perm = malloc(n * sizeof *perm);
  tn.state = calloc(opts->adam ? 2 * np : np, sizeof *tn.state);
  tn.w = calloc((size_t)nw, sizeof *tn.w);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  lsp_train_log lg = {0};
  lg.epochs = opts->epochs;
  lg.train_loss = malloc(opts->epochs * sizeof(double));
  lg.train_acc = malloc(opts->epochs * sizeof(double));
  lg.val_loss = malloc(opts->epochs * sizeof(double));
  lg.val_acc = malloc(opts->epochs * sizeof(double));
  int ok = jb.pool && perm && tn.state && tn.w && rng && lg.train_loss &&
           lg.train_acc && lg.val_loss && lg.val_acc;
  for (int t = 0; ok && t < nw; t++)
    ok = worker_init(&tn.w[t], m, t, share, tr->dim, opts->teacher != NULL) == 0;
  if (!ok) {
    st =
        lsp_fail(LSP_ENOMEM,
                 "out of memory for training (batch %zu, %zu examples)", bs, n);
    goto done;
  }

  lsp_model_init(m, opts->seed);
  /* The shuffling stream is seeded apart from the initialization stream. */
  gsl_rng_set(rng, opts->seed ^ 0x5bd1e995UL);
  for (size_t i = 0; i < n; i++) perm[i] = i;

  const double t0 = lsp_now_s();
  const double total = (double)opts->epochs * (double)n;
  size_t step = 0;
  double seen = 0.0;
  lsp_train_progress pr = {0};
  pr.epochs = opts->epochs;
  pr.batches = batches;
  for (size_t ep = 0; ep < opts->epochs; ep++) {
    double lr = opts->lr;
    if (opts->cosine)
      lr = 0.5 * opts->lr *
           (1.0 + cos(M_PI * (double)ep / (double)opts->epochs));
    gsl_ran_shuffle(rng, perm, n, sizeof *perm);
    double loss_sum = 0.0;
    size_t correct = 0, done_rows = 0;
    for (size_t b = 0; b < batches; b++) {
      if (lsp_interrupted()) {
        st = lsp_fail(LSP_EINTR, "training interrupted (epoch %zu, batch %zu)",
                      ep + 1, b + 1);
        goto done;
      }
      size_t i0 = b * bs, nb = n - i0 < bs ? n - i0 : bs;
      jb.d = tr;
      jb.idx = perm + i0;
      jb.nb = nb;
      jb.lr = lr;
      jb.step = ++step;
      lsp_pool_run(jb.pool, batch_job, &jb);
      if ((st = workers_status(tn.w, nw))) {
        char where[96];
        snprintf(where, sizeof where,
                 "epoch %zu, batch %zu (training diverged? lower --lr)", ep + 1,
                 b + 1);
        st = lsp_fail_prefix(st, where);
        goto done;
      }
      for (int t = 0; t < nw; t++) {
        loss_sum += tn.w[t].loss_sum;
        correct += tn.w[t].correct;
      }
      done_rows += nb;
      seen += (double)nb;
      if (cb) {
        double el = lsp_now_s() - t0;
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
    if (va->n && (st = evaluate(&jb, va, &lg.val_loss[ep], &lg.val_acc[ep])))
      goto done;
    if (cb) {
      double el = lsp_now_s() - t0;
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
  lg.seconds = lsp_now_s() - t0;
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
  lsp_pool_free(jb.pool);
  if (nw > 1) openblas_set_num_threads(blas_threads);
  if (tn.w)
    for (int t = 0; t < nw; t++) worker_free(&tn.w[t]);
  free(tn.w);
  lsp_train_log_free(&lg);
  gsl_rng_free(rng);
  free(tn.state);
  free(perm);
  return st;
}
