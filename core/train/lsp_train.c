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
 * Determinism: the shuffle depends only on the seed; every batch is cut
 * into the same shares whatever the thread count, whose gradients are summed
 * in a fixed order; the GEMMs (OpenBLAS, one call per share) and the loss
 * (fixed reduction order) are deterministic. So the seed and settings fix
 * the model bit for bit on a given machine and library build, for any
 * thread count. */
#define _POSIX_C_SOURCE 200809L
#include "core/train/lsp_train.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_cpu.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_pool.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "core/loss/lsp_soft.h"
#include "core/train/lsp_train_feat.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

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

/* ---- data-parallel shares -------------------------------------------------
 *
 * Every batch is cut into S = lsp_train_shares(batch) contiguous shares of
 * rows, the same whatever the thread count T. A share's forward, loss and
 * backward run on one thread through the model core (single-threaded GEMMs)
 * into that share's own gradient buffer; T <= S threads take the shares in
 * contiguous blocks. Then every thread sums the share gradients over its
 * slice of the parameters, in share order, and steps that slice. Since
 * neither the shares nor the order of the sum depend on T, neither does the
 * model. The validation pass likewise scores fixed chunks of rows and sums
 * their losses in chunk order.
 *
 * Why shares of about 64 rows (LSP_TRAIN_SHARE_ROWS): each share writes a
 * whole gradient (every weight) and the sum reads it back, traffic that
 * does not shrink with the share while the arithmetic does. On the 2-core
 * test machine (784-256-256-10, batch 128, one thread) 16-row shares cost
 * 1.65x the CPU time of one 128-row batch, 32-row shares 1.2x, 64-row
 * shares about the same. So a batch of 128 has 2 shares and runs on at
 * most 2 threads; larger batches have more (at most 16, which bounds the
 * gradient buffers). Splitting the GEMMs over OpenBLAS's threads instead is
 * slower still on 128 rows (measured 0.5-0.7x of one thread).
 *
 * Batch norm. Its statistics are the whole batch's (PyTorch), so the shares'
 * passes stop at every batch-norm node (lsp_model_nsync of them): each
 * thread runs the stage on its shares, all meet at a barrier, thread 0
 * combines the shares' partial sums in share order (lsp_model_sync_forward
 * / _backward), all meet again and go on. Every share therefore keeps its
 * own workspace (the activations of all shares are alive at once). A model
 * without batch norm has one stage and no extra barrier. */

typedef struct { /* one share: its workspace, gradient and tallies */
  lsp_model view;   /* the model with this share's gradients (share 0: the model's) */
  float *grads;     /* owned by shares s > 0                                  */
  lsp_model_ws *ws; /* owned: up to `rows` rows                               */
  float *xb, *dz;   /* owned: inputs (rows×dim), dlogits (rows×k)             */
  float *tb;        /* owned: the teacher's logits (rows×k) when distilling   */
  int32_t *yb;      /* owned: labels                                          */
  const float *z;   /* its logits, in ws                                      */
  size_t nr;        /* rows in the current batch's share                      */
  double loss_sum;  /* sum of its row losses                                  */
  size_t correct;   /* its rows classified correctly                          */
} share;

typedef struct { /* one thread's status */
  lsp_model_ws *ws; /* validation: the workspace of share t (not owned)   */
  size_t rows;      /* its capacity: the largest share                    */
  size_t correct;   /* validation: rows classified correctly              */
  int st;           /* status of the last job; msg holds its reason       */
  char msg[256];
} worker;

size_t lsp_train_shares(size_t batch) {
  size_t s = (batch + LSP_TRAIN_SHARE_ROWS - 1) / LSP_TRAIN_SHARE_ROWS;
  return s < 1 ? 1 : s > LSP_TRAIN_MAX_SHARES ? LSP_TRAIN_MAX_SHARES : s;
}

static int share_init(share *sh, lsp_model *m, size_t s, size_t rows, size_t dim,
                      int distill) {
  memset(sh, 0, sizeof *sh);
  sh->view = *m;
  if (s > 0) {
    sh->grads = calloc(m->nparams ? m->nparams : 1, sizeof *sh->grads);
    if (!sh->grads) return LSP_ENOMEM;
    sh->view.grads = sh->grads;
  }
  sh->ws = lsp_model_ws_alloc(m, rows);
  sh->xb = malloc(rows * dim * sizeof *sh->xb);
  sh->dz = malloc(rows * m->out_dim * sizeof *sh->dz);
  sh->yb = malloc(rows * sizeof *sh->yb);
  if (distill && !(sh->tb = malloc(rows * m->out_dim * sizeof *sh->tb))) return LSP_ENOMEM;
  return sh->ws && sh->xb && sh->dz && sh->yb ? LSP_OK : LSP_ENOMEM;
}

static void share_free(share *sh) {
  lsp_model_ws_free(sh->ws);
  free(sh->grads);
  free(sh->xb);
  free(sh->dz);
  free(sh->yb);
  free(sh->tb);
}

static void worker_fail(worker *w, int st) {
  w->st = st;
  snprintf(w->msg, sizeof w->msg, "%s",
           lsp_errmsg()); /* the message is per thread */
}

/* Gather the rows idx[0..nr) of the training split into share sh (and
 * the teacher's logits of the same rows when distilling). The rows lie at
 * random in a split larger than the caches: while a row is copied, the row
 * three ahead is prefetched every 256 bytes, which starts its misses (and
 * the hardware prefetcher's streams) early; the copy took 5% of a
 * one-thread epoch, about 3.5% with this. */
enum { GATHER_AHEAD = 3 };

static void gather_rows(share *sh, const lsp_dataset *tr, const float *teacher,
                        const size_t *idx, size_t i0, size_t nr) {
  const size_t dim = tr->dim;
  for (size_t i = i0; i < nr; i++) {
    if (i + GATHER_AHEAD < nr) {
      const char *p = (const char *)(tr->x + idx[i + GATHER_AHEAD] * dim);
      for (size_t b = 0; b < dim * sizeof *tr->x; b += 256) __builtin_prefetch(p + b);
    }
    memcpy(sh->xb + i * dim, tr->x + idx[i] * dim, dim * sizeof *sh->xb);
    sh->yb[i] = tr->y[idx[i]];
  }
  if (teacher) {
    const size_t k = sh->view.out_dim;
    for (size_t i = i0; i < nr; i++)
      memcpy(sh->tb + i * k, teacher + idx[i] * k, k * sizeof *sh->tb);
  }
}

static void share_gather(share *sh, const lsp_dataset *tr, const float *teacher,
                         const size_t *idx, size_t nr) {
  sh->nr = nr;
  sh->loss_sum = 0.0;
  sh->correct = 0;
  sh->z = NULL;
  gather_rows(sh, tr, teacher, idx, 0, nr);
}

/* The share's loss after its forward, with the gradient scaled to the mean
 * over the whole batch of nb rows. */
static int share_loss(share *sh, size_t nb, const lsp_train_opts *o) {
  if (sh->nr == 0) return LSP_OK;
  const size_t k = sh->view.out_dim;
  double l;
  int st;
  if (o->teacher) {
    lsp_distill d = {o->alpha, o->temperature, o->smoothing};
    lsp_distill_mean dm;
    st = lsp_loss_distill(sh->z, sh->tb, sh->yb, sh->nr, k, &d, sh->dz, 1.0 / (double)nb, NULL,
                          &dm);
    l = dm.loss;
  } else {
    st = lsp_loss_xent(sh->z, sh->yb, sh->nr, k, &o->smoothing, sh->dz, 1.0 / (double)nb, NULL,
                       &l);
  }
  if (st) return st;
  sh->loss_sum = l * (double)sh->nr;
  sh->correct = count_correct(sh->z, sh->yb, sh->nr, k);
  return LSP_OK;
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
  share *sh;          /* S of them */
  lsp_model_ws **wss; /* the shares' workspaces, in share order */
  size_t S;
  size_t nsync;       /* batch-norm nodes: synchronization points */
  double *chunk_loss; /* validation: one loss sum per chunk of rows */
  lsp_feat *feat;     /* a plain MLP: the batch split by features (S = 1) */
  float *state; /* SGD velocity, or Adam's two moments back to back */
  const lsp_train_opts *o;
} trainer;

/* Thread t of nt: sum the shares' gradients over its parameter slice, in
 * share order, and step that slice. The sum goes through a small block on
 * the stack straight into the optimizer, so the summed gradient is never
 * written back to memory.
 *
 * Gradients kept at zero. The backward adds every dense layer's weight
 * gradient into its share's array (LSP_BACK_GRADS_ZERO), which spares the
 * pass in which OpenBLAS clears the whole array before a beta = 0 GEMM (4%
 * of a one-thread epoch). The step clears what it has read, while the lines
 * are at hand — but only in the shares this thread runs: clearing another
 * core's share would move its lines here just before that core's next
 * backward wants them back. So each thread also clears, at the start of the
 * next batch, the rest of its own shares' arrays (the slices the other
 * threads stepped; none on one thread). m->grads holds zeros after training. */
enum { STEP_BLOCK = 1024 };

/* Thread t's block of shares [*s0, *s1) and parameter slice [*lo, *hi). */
static void thread_range(const trainer *tn, int t, int nt, size_t *s0, size_t *s1, size_t *lo,
                         size_t *hi) {
  const size_t S = tn->S, np = tn->m->nparams;
  *s0 = S * (size_t)t / (size_t)nt, *s1 = S * (size_t)(t + 1) / (size_t)nt;
  *lo = np * (size_t)t / (size_t)nt, *hi = np * (size_t)(t + 1) / (size_t)nt;
}

/* Clear thread t's shares' gradients outside its own parameter slice. */
static void clear_other_slices(const trainer *tn, int t, int nt) {
  size_t s0, s1, lo, hi;
  thread_range(tn, t, nt, &s0, &s1, &lo, &hi);
  if (nt == 1) return;
  for (size_t s = s0; s < s1; s++) {
    float *g = tn->sh[s].view.grads;
    memset(g, 0, lo * sizeof *g);
    memset(g + hi, 0, (tn->m->nparams - hi) * sizeof *g);
  }
}

static void reduce_and_step(const trainer *tn, int t, int nt, double lr,
                            size_t step) {
  const size_t np = tn->m->nparams;
  size_t s0, s1, lo, hi;
  thread_range(tn, t, nt, &s0, &s1, &lo, &hi);
  const lsp_train_opts *o = tn->o;
  if (!o->adam && tn->sh[0].nr) { /* the common case, in one fused pass */
    float *gs[LSP_TRAIN_MAX_SHARES];
    size_t ng = 0;
    unsigned clear = 0;
    for (size_t s = 0; s < tn->S; s++)
      if (tn->sh[s].nr) {
        if (s >= s0 && s < s1) clear |= 1u << ng;
        gs[ng++] = tn->sh[s].view.grads + lo;
      }
    lsp_train_sgd_step_sum(tn->m->params + lo, gs, ng, clear, tn->state + lo, hi - lo, lr,
                           o->momentum, o->weight_decay);
    return;
  }
  float g[STEP_BLOCK];
  for (size_t b0 = lo; b0 < hi; b0 += STEP_BLOCK) {
    const size_t nb = hi - b0 < STEP_BLOCK ? hi - b0 : STEP_BLOCK;
    if (tn->sh[0].nr)
      memcpy(g, tn->m->grads + b0, nb * sizeof *g);
    else
      memset(g, 0, nb * sizeof *g);
    if (tn->sh[0].nr && s0 == 0) memset(tn->m->grads + b0, 0, nb * sizeof *g);
    for (size_t s = 1; s < tn->S; s++) {
      if (tn->sh[s].nr == 0) continue;
      float *gs = tn->sh[s].grads + b0;
      for (size_t i = 0; i < nb; i++) g[i] += gs[i];
      if (s >= s0 && s < s1) memset(gs, 0, nb * sizeof *gs);
    }
    if (o->adam)
      lsp_train_adam_step(tn->m->params + b0, g, tn->state + b0, tn->state + np + b0, nb,
                          lr, o->weight_decay, step);
    else
      lsp_train_sgd_step(tn->m->params + b0, g, tn->state + b0, nb, lr, o->momentum,
                         o->weight_decay);
  }
}

/* What one pool run needs: a batch (idx, nb, lr, step) or a split to score. */
typedef struct {
  trainer *tn;
  lsp_pool *pool;
  const lsp_dataset *d;
  const size_t *idx;
  size_t nb, step;
  double lr;
  /* the feature split: the batch's rows are in share `cur` already
   * (`ready`), and the next batch's (next, nnext; NULL at an epoch's end)
   * are gathered into the other one after the step */
  int ready;
  size_t cur;
  const size_t *next;
  size_t nnext;
} job;

static int any_failed(const trainer *tn, int nt) {
  for (int u = 0; u < nt; u++)
    if (tn->w[u].st) return 1;
  return 0;
}

/* After stage s of a pass (s < nsync): every thread waits, thread 0
 * combines the batch-norm statistics of all shares, every thread waits. */
static void sync_point(const job *j, int t, int nt, size_t s, int backward) {
  trainer *tn = j->tn;
  lsp_pool_barrier(j->pool);
  if (t == 0 && !any_failed(tn, nt)) {
    int st = backward ? lsp_model_sync_backward(tn->m, tn->wss, tn->S, s)
                      : lsp_model_sync_forward(tn->m, tn->wss, tn->S, s);
    if (st) worker_fail(&tn->w[0], st);
  }
  lsp_pool_barrier(j->pool);
}

/* Thread t of nt: its block of shares through the training-mode forward,
 * the loss and the backward, stage by stage (see above), then (once every
 * share is done and none failed) the sum of the gradients and the step on
 * its parameter slice. Every thread passes the same barriers, failed or
 * not, and sees the same failures. */
static void batch_job(void *varg, int t, int nt) {
  const job *j = varg;
  trainer *tn = j->tn;
  worker *w = &tn->w[t];
  const size_t S = tn->S, K = tn->nsync;
  const size_t s0 = S * (size_t)t / (size_t)nt, s1 = S * (size_t)(t + 1) / (size_t)nt;
  w->st = LSP_OK;
  clear_other_slices(tn, t, nt);
  for (size_t s = s0; s < s1; s++) {
    size_t r0 = j->nb * s / S, r1 = j->nb * (s + 1) / S;
    share_gather(&tn->sh[s], j->d, tn->o->teacher, j->idx + r0, r1 - r0);
  }
  for (size_t stage = 0; stage <= K; stage++) {
    for (size_t s = s0; s < s1 && !w->st; s++) {
      share *sh = &tn->sh[s];
      int st = lsp_model_stage_forward(&sh->view, sh->ws, sh->xb, sh->nr, stage, &sh->z, NULL);
      if (st) worker_fail(w, st);
    }
    if (stage < K) sync_point(j, t, nt, stage, 0);
  }
  for (size_t s = s0; s < s1 && !w->st; s++) {
    int st = share_loss(&tn->sh[s], j->nb, tn->o);
    if (st) worker_fail(w, st);
  }
  for (size_t stage = 0; stage <= K; stage++) {
    for (size_t s = s0; s < s1 && !w->st && !(stage > 0 && any_failed(tn, nt)); s++) {
      share *sh = &tn->sh[s];
      int st = lsp_model_stage_backward(&sh->view, sh->ws, sh->dz,
                                        LSP_BACK_PARAMS | LSP_BACK_GRADS_ZERO, NULL, stage);
      if (st) worker_fail(w, st);
    }
    if (stage < K) sync_point(j, t, nt, stage, 1);
  }
  lsp_pool_barrier(j->pool);
  if (any_failed(tn, nt)) return; /* every thread sees the same failure */
  reduce_and_step(tn, t, nt, j->lr, j->step);
}

/* The optimizer step on params[off, off + len) of the feature-split pass
 * (lsp_train_feat.h), which also clears the gradient there. */
typedef struct {
  const trainer *tn;
  double lr;
  size_t step;
} feat_step_arg;

static void feat_step(void *u, size_t off, size_t len) {
  const feat_step_arg *a = u;
  const trainer *tn = a->tn;
  const lsp_train_opts *o = tn->o;
  float *w = tn->m->params + off, *g = tn->m->grads + off;
  if (o->adam) {
    lsp_train_adam_step(w, g, tn->state + off, tn->state + tn->m->nparams + off, len, a->lr,
                        o->weight_decay, a->step);
    memset(g, 0, len * sizeof *g);
  } else {
    lsp_train_sgd_step_sum(w, &g, 1, 1u, tn->state + off, len, a->lr, o->momentum,
                           o->weight_decay);
  }
}

/* Thread t of nt, a plain MLP: the whole batch as one share, every layer
 * split by output features (lsp_train_feat.h). Every thread computes the
 * loss (its own copy of its gradient; thread 0 keeps the tallies in share
 * 0). The batch's rows are gathered by the threads in blocks, at the end of
 * the previous batch's run when that was in the same epoch (the run's end
 * is the barrier that the first layer needs) or else here, before a
 * barrier. Two shares alternate as the batch buffers. */
static void feat_job(void *varg, int t, int nt) {
  const job *j = varg;
  trainer *tn = j->tn;
  share *sh = &tn->sh[j->cur];
  const size_t T = (size_t)nt, u = (size_t)t;
  tn->w[t].st = LSP_OK;
  if (!j->ready) {
    gather_rows(sh, j->d, tn->o->teacher, j->idx, j->nb * u / T, j->nb * (u + 1) / T);
    lsp_pool_barrier(j->pool);
  }
  share me = *sh;
  me.nr = j->nb;
  feat_step_arg prev = {tn, j->lr, j->step - 1}; /* a deferred step: same epoch */
  me.z = lsp_feat_forward(tn->feat, sh->xb, j->nb, t, nt, j->pool, j->ready ? feat_step : NULL,
                          &prev);
  me.dz = lsp_feat_dz(tn->feat, t);
  int st = share_loss(&me, j->nb, tn->o);
  if (st) { /* the same on every thread: all return here */
    worker_fail(&tn->w[t], st);
    return;
  }
  if (t == 0) tn->sh[0].loss_sum = me.loss_sum, tn->sh[0].correct = me.correct;
  feat_step_arg a = {tn, j->lr, j->step};
  lsp_feat_backward(tn->feat, sh->xb, j->nb, me.dz, t, nt, j->pool, feat_step, &a,
                    j->next != NULL);
  if (j->next)
    gather_rows(&tn->sh[1 - j->cur], j->d, tn->o->teacher, j->next, j->nnext * u / T,
                j->nnext * (u + 1) / T);
}

/* Thread t of nt: the loss sums of its block of chunks (chunk c = rows
 * [c*rows, (c+1)*rows) of the split) and their correct count. */
static void eval_job(void *varg, int t, int nt) {
  const job *j = varg;
  trainer *tn = j->tn;
  worker *w = &tn->w[t];
  const lsp_dataset *d = j->d;
  const size_t nc = (d->n + w->rows - 1) / w->rows, k = tn->m->out_dim;
  w->st = LSP_OK;
  w->correct = 0;
  for (size_t c = nc * (size_t)t / (size_t)nt; c < nc * (size_t)(t + 1) / (size_t)nt; c++) {
    size_t i0 = c * w->rows, nb = d->n - i0 < w->rows ? d->n - i0 : w->rows;
    const float *z;
    double l;
    int st = lsp_model_forward(tn->m, w->ws, d->x + i0 * d->dim, nb, &z, NULL);
    if (!st)
      st = lsp_loss_xent(z, d->y + i0, nb, k, &tn->o->smoothing, NULL, 1.0, NULL, &l);
    if (st) {
      worker_fail(w, st);
      return;
    }
    tn->chunk_loss[c] = l * (double)nb;
    w->correct += count_correct(z, d->y + i0, nb, k);
  }
}

/* Mean loss and accuracy on a split, its chunks shared over the threads and
 * their losses summed in chunk order. */
static int evaluate(job *j, const lsp_dataset *d, double *loss, double *acc) {
  j->d = d;
  lsp_pool_run(j->pool, eval_job, j);
  const trainer *tn = j->tn;
  int st = workers_status(tn->w, tn->nw);
  if (st) return lsp_fail_prefix(st, "validation");
  const size_t nc = (d->n + tn->w[0].rows - 1) / tn->w[0].rows;
  double sum = 0.0;
  size_t correct = 0;
  for (size_t c = 0; c < nc; c++) sum += tn->chunk_loss[c];
  for (int t = 0; t < tn->nw; t++) correct += tn->w[t].correct;
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
  /* a plain MLP splits every layer by features, other models the batch by
   * rows into shares (see above) */
  lsp_feat *feat = lsp_feat_eligible(m) ? lsp_feat_alloc(m, bs) : NULL;
  const size_t S = lsp_feat_eligible(m) ? 1 : lsp_train_shares(bs);
  const size_t cap = feat ? lsp_feat_max_threads(feat) : S;
  if ((size_t)nw > cap) nw = (int)cap;
  /* Threads run GEMMs side by side, which needs OpenBLAS at one thread:
   * its multi-threaded GEMMs serialize on a lock inside OpenBLAS (measured
   * 20x slower). OpenBLAS's count is the host's to set, not ours: with more
   * than one, the shares run one after another here (same model). */
  if (nw > 1 && lsp_threads_get_blas() > 1) nw = 1;
  /* the largest share of a batch of bs rows: ceil(bs / S) */
  const size_t rows = (bs + S - 1) / S;
  const size_t chunks = va->n ? (va->n + rows - 1) / rows : 0;

  /* shares: S, or one a thread for the validation's workspaces */
  size_t nsh = S > (size_t)nw ? S : (size_t)nw;
  if (feat && nsh < 2) nsh = 2; /* the batch buffers alternate */
  trainer tn = {.m = m, .nw = nw, .S = S, .o = opts, .feat = feat};
  job jb = {.tn = &tn, .pool = lsp_pool_alloc(nw), .d = tr};
  size_t *perm = malloc(n * sizeof *perm);
  tn.state = calloc(opts->adam ? 2 * np : np, sizeof *tn.state);
  tn.w = calloc((size_t)nw, sizeof *tn.w);
  tn.chunk_loss = malloc((chunks ? chunks : 1) * sizeof *tn.chunk_loss);
  tn.sh = calloc(nsh, sizeof *tn.sh);
  tn.wss = calloc(nsh, sizeof *tn.wss);
  tn.nsync = lsp_model_nsync(m);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  lsp_train_log lg = {0};
  lg.epochs = opts->epochs;
  lg.train_loss = malloc(opts->epochs * sizeof(double));
  lg.train_acc = malloc(opts->epochs * sizeof(double));
  lg.val_loss = malloc(opts->epochs * sizeof(double));
  lg.val_acc = malloc(opts->epochs * sizeof(double));
  int ok = (feat || !lsp_feat_eligible(m)) && jb.pool && perm && tn.state && tn.w && tn.chunk_loss && tn.sh && tn.wss && rng &&
           lg.train_loss && lg.train_acc && lg.val_loss && lg.val_acc;
  for (size_t s = 0; ok && s < nsh; s++) {
    ok = share_init(&tn.sh[s], m, feat ? 0 : s, rows, tr->dim, opts->teacher != NULL) == 0;
    tn.wss[s] = tn.sh[s].ws;
  }
  for (int t = 0; ok && t < nw; t++) { /* nw <= S: thread t validates on share t's */
    tn.w[t].ws = tn.sh[t].ws;
    tn.w[t].rows = rows;
  }
  if (!ok) {
    st =
        lsp_fail(LSP_ENOMEM,
                 "out of memory for training (batch %zu, %zu examples)", bs, n);
    goto done;
  }

  if ((st = lsp_model_init(m, opts->seed))) goto done;
  /* every share's gradient starts (and stays, between batches) at zero */
  memset(m->grads, 0, (np ? np : 1) * sizeof *m->grads);
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
      jb.next = b + 1 < batches ? perm + i0 + bs : NULL;
      jb.nnext = jb.next ? (n - i0 - bs < bs ? n - i0 - bs : bs) : 0;
      lsp_pool_run(jb.pool, feat ? feat_job : batch_job, &jb);
      jb.ready = jb.next != NULL;
      if (jb.ready) jb.cur = 1 - jb.cur;
      if ((st = workers_status(tn.w, nw))) {
        char where[96];
        snprintf(where, sizeof where,
                 "epoch %zu, batch %zu (training diverged? lower --lr)", ep + 1,
                 b + 1);
        st = lsp_fail_prefix(st, where);
        goto done;
      }
      for (size_t sh = 0; sh < S; sh++) {
        loss_sum += tn.sh[sh].loss_sum;
        correct += tn.sh[sh].correct;
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

  lsp_train_record(opts, data, &m->meta);
  m->meta.val_accuracy = lg.val_acc[opts->epochs - 1];
  if (log) {
    *log = lg;
    memset(&lg, 0, sizeof lg);
  }
done:
  lsp_pool_free(jb.pool);
  free(tn.w);
  if (tn.sh)
    for (size_t sh = 0; sh < nsh; sh++) share_free(&tn.sh[sh]);
  lsp_feat_free(feat);
  free(tn.sh);
  free(tn.wss);
  free(tn.chunk_loss);
  lsp_train_log_free(&lg);
  gsl_rng_free(rng);
  free(tn.state);
  free(perm);
  return st;
}
