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
 * Determinism: the shuffle depends only on the seed. A plain MLP's batch
 * runs whole through every layer, each layer cut by output features into
 * fixed parts, one GEMM call a part (lsp_train_feat.h); any other model's
 * batch is cut into fixed shares of rows whose gradients are summed in a
 * fixed order (lsp_train_jobs.c). Neither cut depends on the thread count;
 * the GEMMs (OpenBLAS) and the loss (fixed reduction order) are
 * deterministic. So the seed and settings fix the model bit for bit on a
 * given machine and library build, for any thread count. The two threads'
 * batch jobs are in lsp_train_jobs.c. */
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
#include "core/base/lsp_proc.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "core/loss/lsp_soft.h"
#include "core/train/lsp_train_int.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { VEL_MAX_ROWS = 256 }; /* the largest batch whose gradients go onto the velocity */

/* Batch norm in training mode normalizes each channel over the batch's
 * rows × H × W values, and needs two or more (PyTorch refuses one too).
 * With H × W = 1 (after a dense layer or a global pooling) a batch of one
 * example cannot train: not the batch size 1, nor an epoch's last batch of
 * one example (n = q·batch + 1), which would fail only when the epoch's
 * end is reached. Refused before anything is trained. */
static int check_batchnorm(const lsp_model *m, size_t n, size_t batch) {
  if (batch == 0 || n == 0) return LSP_OK; /* refused by the caller */
  const size_t bs = batch < n ? batch : n, last = n % bs ? n % bs : bs;
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    if (nd->op != LSP_OP_BN || last * nd->ishape.h * nd->ishape.w >= 2) continue;
    char why[160];
    if (n == 1)
      snprintf(why, sizeof why, "there is 1 training example");
    else if (bs == 1)
      snprintf(why, sizeof why, "the batch size is 1");
    else
      snprintf(why, sizeof why,
               "the last batch of every epoch holds 1 example (%zu training examples, "
               "batch size %zu): pick another batch size",
               n, bs);
    return lsp_fail(LSP_EINVAL,
                    "%s (batch norm on %zux%zux%zu) needs two or more values per channel "
                    "of a training batch, but %s",
                    nd->name, nd->ishape.c, nd->ishape.h, nd->ishape.w, why);
  }
  return LSP_OK;
}

static int check_setup(const lsp_model *m, const lsp_splits *data,
                       const lsp_train_opts *o) {
  int st;
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
  if ((st = check_batchnorm(m, tr->n, o->batch))) return st;
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
    st = lsp_distill_check(&d, m->out_dim);
    if (st) return lsp_fail_prefix(st, "distillation");
  }
  return lsp_ls_check(&o->smoothing, m->out_dim);
}

/* Bytes training allocates for batches of bs rows of n examples, as
 * lsp_train lays them out below: per share, a workspace
 * (lsp_model_ws_bytes_per_row a row) and the rows' inputs, logit gradients,
 * labels and teacher logits; a gradient for every share but the first; the
 * optimizer's state and the shuffled indices. A plain MLP runs one share of
 * bs rows but keeps three, plus its by-feature buffers (counted as one more
 * workspace). */
static double train_bytes(const lsp_model *m, size_t bs, size_t n, size_t dim,
                          const lsp_train_opts *o, int nw, int by_feat) {
  const size_t S = by_feat ? 1 : lsp_train_shares(bs);
  const double rows = (double)((bs + S - 1) / S), f = sizeof(float);
  double nsh = by_feat ? (nw > 3 ? nw : 3) : (double)S; /* threads <= S */
  const double ws = (double)lsp_model_ws_bytes_per_row(m);
  const double per_row = ws + f * ((double)dim + (o->teacher ? 2.0 : 1.0) * (double)m->out_dim) +
                         sizeof(int32_t);
  const double np = (double)m->nparams;
  double b = nsh * rows * per_row + (o->adam ? 2.0 : 1.0) * np * f + (double)n * sizeof(size_t);
  if (by_feat) b += ws * (double)bs;
  else b += (nsh - 1.0) * np * f;
  return b;
}

/* Refuses a batch whose training buffers would not fit in the memory the
 * machine has left (MemAvailable + SwapFree), before any is allocated: an
 * allocation that large succeeds and the kernel kills the process later. */
static int check_memory(const lsp_model *m, size_t bs, size_t n, size_t dim,
                        const lsp_train_opts *o, int nw, int by_feat) {
  const double avail = lsp_mem_available();
  if (avail < 0.0) return LSP_OK; /* unknown: nothing to check against */
  const double need = train_bytes(m, bs, n, dim, o, nw, by_feat);
  if (need <= avail) return LSP_OK;
  size_t lo = 0, hi = bs; /* lo fits (or is 0), hi does not */
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    if (train_bytes(m, mid, n, dim, o, nw, by_feat) <= avail) lo = mid;
    else hi = mid;
  }
  char clip[64] = "";
  if (bs < o->batch) snprintf(clip, sizeof clip, " (all %zu training examples)", bs);
  char fit[96];
  if (lo) snprintf(fit, sizeof fit, "the largest batch size that fits is %zu", lo);
  else snprintf(fit, sizeof fit, "not even a batch of 1 fits");
  return lsp_fail(LSP_EINVAL,
                  "batch size %zu%s needs about %.0f bytes (%.1f GiB) of training buffers "
                  "but %.0f bytes (%.1f GiB) are available (MemAvailable + SwapFree): %s",
                  o->batch, clip, need, need / 1073741824.0, avail, avail / 1073741824.0,
                  fit);
}

double lsp_train_bytes(const lsp_model *m, const lsp_splits *data,
                       const lsp_train_opts *o, int threads) {
  const size_t n = data->train.n, bs = o->batch < n ? o->batch : n;
  return train_bytes(m, bs, n, data->train.dim, o, threads < 1 ? 1 : threads,
                     lsp_feat_eligible(m));
}

int lsp_train_check_memory(const lsp_model *m, const lsp_splits *data,
                           const lsp_train_opts *o, int threads) {
  const size_t n = data->train.n, bs = o->batch < n ? o->batch : n;
  return check_memory(m, bs, n, data->train.dim, o, threads < 1 ? 1 : threads,
                      lsp_feat_eligible(m));
}

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

/* The first failing worker's status, with its message re-recorded here. */
static int workers_status(const worker *w, int nw) {
  for (int t = 0; t < nw; t++)
    if (w[t].st) return lsp_fail(w[t].st, "%s", w[t].msg);
  return LSP_OK;
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
    double l = 0.0, nll = 0.0;
    if (lsp_interrupted()) { /* the host's interruption: stop at the next chunk */
      lsp_train_worker_fail(w, lsp_fail(LSP_EINTR, "interrupted"));
      return;
    }
    int st = lsp_model_forward(tn->m, w->ws, d->x + i0 * d->dim, nb, &z, NULL);
    if (!st)
      st = lsp_loss_xent(z, d->y + i0, nb, k, &tn->o->smoothing, NULL, 1.0, NULL, &l);
    if (!st) nll = l;
    if (!st && tn->o->smoothing.eps != 0.0) /* the plain NLL too */
      st = lsp_loss_xent(z, d->y + i0, nb, k, &(lsp_ls){0.0, LSP_LS_UNIFORM, 0}, NULL, 1.0,
                         NULL, &nll);
    if (st) {
      lsp_train_worker_fail(w, st);
      return;
    }
    tn->chunk_loss[2 * c] = l * (double)nb;
    tn->chunk_loss[2 * c + 1] = nll * (double)nb;
    w->correct += lsp_train_count_correct(z, d->y + i0, nb, k);
  }
}

/* What a divergence message suggests: the step size, and the weight decay
 * when there is one (with lr × weight decay too large, SGD's decay term
 * alone overshoots 0 by more each step: above 2 without momentum). */
static const char *diverged(const lsp_train_opts *o) {
  return o->weight_decay > 0 ? " (training diverged? lower --lr or --weight-decay)"
                             : " (training diverged? lower --lr)";
}

/* Mean loss (the smoothed training criterion), NLL and accuracy on a
 * split, its chunks shared over the threads and their losses summed in
 * chunk order. */
static int evaluate(job *j, const lsp_dataset *d, size_t ep, double *loss, double *nll,
                    double *acc) {
  j->d = d;
  lsp_pool_run(j->pool, eval_job, j);
  const trainer *tn = j->tn;
  int st = workers_status(tn->w, tn->nw);
  if (st == LSP_EINTR)
    return lsp_fail(LSP_EINTR, "training interrupted (epoch %zu, validation)", ep + 1);
  if (st) { /* non-finite logits (LSP_EDATA): the weights have run away */
    char where[128];
    snprintf(where, sizeof where, "epoch %zu, validation%s", ep + 1,
             st == LSP_EDATA ? diverged(tn->o) : "");
    return lsp_fail_prefix(st, where);
  }
  const size_t nc = (d->n + tn->w[0].rows - 1) / tn->w[0].rows;
  double sum = 0.0, sum_nll = 0.0;
  size_t correct = 0;
  for (size_t c = 0; c < nc; c++) {
    sum += tn->chunk_loss[2 * c];
    sum_nll += tn->chunk_loss[2 * c + 1];
  }
  for (int t = 0; t < tn->nw; t++) correct += tn->w[t].correct;
  *loss = sum / (double)d->n;
  *nll = sum_nll / (double)d->n;
  *acc = (double)correct / (double)d->n;
  return LSP_OK;
}

/* After epoch ep's last step: every weight and running statistic finite
 * (a step can overflow where the loss before it did not), so that no model
 * with infinite or NaN weights is validated or saved. */
static int check_finite(const lsp_model *m, const lsp_train_opts *o, size_t ep) {
  const float *v[2] = {m->params, m->state};
  const size_t n[2] = {m->nparams, m->nstate};
  for (int a = 0; a < 2; a++)
    for (size_t i = 0; i < n[a]; i++)
      if (!isfinite(v[a][i])) {
        const lsp_node *nd = m->nodes;
        for (size_t k = 0; k < m->nnodes; k++) {
          const size_t off = a ? m->nodes[k].s_off : m->nodes[k].p_off,
                       len = a ? m->nodes[k].s_len : m->nodes[k].p_len;
          if (i >= off && i < off + len) nd = &m->nodes[k];
        }
        return lsp_fail(LSP_EDATA,
                        "epoch %zu%s: a %s of %s is %g after the epoch's last step", ep + 1,
                        diverged(o), a ? "running statistic" : "weight", nd->name,
                        (double)v[a][i]);
      }
  return LSP_OK;
}

/* A divergence that stays finite: an epoch's mean training loss, or the
 * validation loss after it, above LSP_TRAIN_DIVERGED times the loss of the
 * uniform prediction (all logits equal). That loss is log K for the
 * smoothed cross-entropy, whatever ε and convention (the target sums to
 * 1); distillation's T²·KL(teacher ‖ uniform) is at most T²·log K, so its
 * training loss is bounded by ((1 − α) + α·T²)·log K, taken as the
 * reference when above log K. A loss is at most the largest logit gap
 * against the targets, so a mean 1000 times log K means gaps in the
 * thousands: the weights have run away (a NaN loss too). */
static int check_loss(const lsp_train_opts *o, size_t k, size_t ep, int val, double loss) {
  double ref = log((double)k);
  if (o->teacher && !val) {
    const double f = (1.0 - o->alpha) + o->alpha * o->temperature * o->temperature;
    if (f > 1.0) ref *= f;
  }
  if (loss <= LSP_TRAIN_DIVERGED * ref) return LSP_OK;
  return lsp_fail(LSP_EDATA,
                  "epoch %zu%s: the %s loss %g is more than %g times the %g of the uniform "
                  "prediction",
                  ep + 1, diverged(o), val ? "validation" : "mean training", loss,
                  (double)LSP_TRAIN_DIVERGED, ref);
}

void lsp_train_batch_done(job *j, size_t b, size_t nb, double loss_sum, size_t correct) {
  j->loss_sum += loss_sum;
  j->correct += correct;
  j->done_rows += nb;
  j->seen += (double)nb;
  if (!j->cb) return;
  lsp_train_progress *pr = &j->pr;
  double el = lsp_now_s() - j->t0;
  pr->batch = b;
  pr->loss = j->loss_sum / (double)j->done_rows;
  pr->accuracy = (double)j->correct / (double)j->done_rows;
  pr->samples_per_s = el - j->val_s > 0 ? j->seen / (el - j->val_s) : 0.0;
  pr->eta_s = j->seen > 0 ? el / j->seen * (j->total - j->seen) : 0.0;
  pr->end_of_epoch = 0;
  j->cb(pr, j->user);
}

/* Epoch ep's run (up to batch j->at) after it ended: interrupted at batch
 * `stop` (0: not), or a thread's failure, or LSP_OK. */
static int batch_status(const job *j, size_t ep, size_t stop) {
  if (stop)
    return lsp_fail(LSP_EINTR, "training interrupted (epoch %zu, batch %zu)", ep + 1, stop);
  int st = workers_status(j->tn->w, j->tn->nw);
  if (!st) return LSP_OK;
  char where[128];
  snprintf(where, sizeof where, "epoch %zu, batch %zu%s", ep + 1, j->at, diverged(j->tn->o));
  return lsp_fail_prefix(st, where);
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
  const int by_feat = lsp_feat_eligible(m);
  if ((st = check_memory(m, bs, n, tr->dim, opts, nw, by_feat))) return st;
  lsp_feat *feat = by_feat ? lsp_feat_alloc(m, bs) : NULL;
  const size_t S = by_feat ? 1 : lsp_train_shares(bs);
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
  if (feat && nsh < 3) nsh = 3; /* three batches' rows in turn */
  trainer tn = {.m = m, .nw = nw, .S = S, .o = opts, .feat = feat};
  job jb = {.tn = &tn, .pool = lsp_pool_alloc(nw), .d = tr};
  if (feat) lsp_feat_set_fill(feat, lsp_train_fill, &jb);
  /* SGD without weight decay: the weight-gradient GEMMs add onto the
   * velocity (DESIGN.md: gradients onto the velocity) — when a GEMM sums
   * the whole batch before it adds: OpenBLAS cuts the sum over the rows
   * into blocks above its GEMM_Q (320 for the Haswell sgemm of 0.3.21:
   * batches of 352 rows and more then trained other bits), hence 256 */
  tn.vel_acc = feat && !opts->adam && opts->weight_decay == 0.0 && bs <= VEL_MAX_ROWS;
  size_t *perm = malloc(n * sizeof *perm);
  tn.state = lsp_calloc_huge(opts->adam ? 2 * np : np, sizeof *tn.state);
  tn.w = calloc((size_t)nw, sizeof *tn.w);
  tn.chunk_loss = malloc(2 * (chunks ? chunks : 1) * sizeof *tn.chunk_loss);
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
  lg.val_nll = malloc(opts->epochs * sizeof(double));
  int ok = (feat || !by_feat) && jb.pool && perm && tn.state && tn.w && tn.chunk_loss &&
           tn.sh && tn.wss && rng && lg.train_loss && lg.train_acc && lg.val_loss &&
           lg.val_acc && lg.val_nll;
  for (size_t s = 0; ok && s < nsh; s++) {
    ok = share_init(&tn.sh[s], m, feat ? 0 : s, rows, tr->dim, opts->teacher != NULL) == 0;
    tn.wss[s] = tn.sh[s].ws;
  }
  for (int t = 0; ok && t < nw; t++) { /* nw <= nsh: thread t validates on share t's */
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
  if (tn.vel_acc) lsp_feat_set_grads(feat, tn.state);
  /* The shuffling stream is seeded apart from the initialization stream. */
  gsl_rng_set(rng, opts->seed ^ 0x5bd1e995UL);
  for (size_t i = 0; i < n; i++) perm[i] = i;

  jb.t0 = lsp_now_s();
  jb.total = (double)opts->epochs * (double)n;
  jb.cb = cb;
  jb.user = user;
  jb.pr.epochs = opts->epochs;
  jb.pr.batches = batches;
  size_t step = 0;
  for (size_t ep = 0; ep < opts->epochs; ep++) {
    double lr = opts->lr;
    if (opts->cosine)
      lr = 0.5 * opts->lr *
           (1.0 + cos(M_PI * (double)ep / (double)opts->epochs));
    gsl_ran_shuffle(rng, perm, n, sizeof *perm);
    jb.loss_sum = 0.0;
    jb.correct = jb.done_rows = 0;
    jb.pr.epoch = ep + 1;
    jb.d = tr;
    jb.lr = lr;
    if (feat) { /* the whole epoch in one pool run */
      jb.idx = perm;
      jb.nb = n;
      jb.bs = bs;
      jb.batches = batches;
      jb.step = step;
      atomic_store(&jb.stop, 0);
      atomic_store(&jb.chunk, 0);
      lsp_pool_run(jb.pool, lsp_train_feat_epoch, &jb);
      step += batches;
      if ((st = batch_status(&jb, ep, atomic_load(&jb.stop)))) goto done;
    }
    for (size_t b = 0; !feat && b < batches; b++) {
      size_t i0 = b * bs, nb = n - i0 < bs ? n - i0 : bs;
      jb.idx = perm + i0;
      jb.nb = nb;
      jb.step = ++step;
      jb.at = b + 1;
      if (lsp_interrupted() && (st = batch_status(&jb, ep, b + 1))) goto done;
      lsp_pool_run(jb.pool, lsp_train_share_job, &jb);
      if ((st = batch_status(&jb, ep, 0))) goto done;
      for (size_t sh = 0; sh < S; sh++) { /* into the epoch's sums, share by share */
        jb.loss_sum += tn.sh[sh].loss_sum;
        jb.correct += tn.sh[sh].correct;
      }
      lsp_train_batch_done(&jb, b + 1, nb, 0.0, 0);
    }
    lg.train_loss[ep] = jb.loss_sum / (double)n;
    lg.train_acc[ep] = (double)jb.correct / (double)n;
    lg.val_loss[ep] = lg.val_acc[ep] = lg.val_nll[ep] = NAN;
    if ((st = check_finite(m, opts, ep))) goto done;
    const double tv = lsp_now_s();
    if (va->n && (st = evaluate(&jb, va, ep, &lg.val_loss[ep], &lg.val_nll[ep], &lg.val_acc[ep])))
      goto done;
    jb.val_s += lsp_now_s() - tv;
    /* finite but run away (a non-finite logit is reported above, where it
     * appeared) */
    if ((st = check_loss(opts, m->out_dim, ep, 0, lg.train_loss[ep])) ||
        (va->n && (st = check_loss(opts, m->out_dim, ep, 1, lg.val_loss[ep]))))
      goto done;
    if (cb) {
      lsp_train_progress pr = jb.pr;
      double el = lsp_now_s() - jb.t0;
      pr.batch = batches;
      pr.loss = lg.train_loss[ep];
      pr.accuracy = lg.train_acc[ep];
      pr.samples_per_s = el - jb.val_s > 0 ? jb.seen / (el - jb.val_s) : 0.0;
      pr.eta_s = el / jb.seen * (jb.total - jb.seen);
      pr.end_of_epoch = 1;
      pr.val_loss = lg.val_loss[ep];
      pr.val_nll = lg.val_nll[ep];
      pr.val_accuracy = lg.val_acc[ep];
      cb(&pr, user);
    }
    /* an interruption seen during the validation (or the callback) stops
     * here, not at the next epoch's first batch nor with a model returned
     * as trained */
    if (lsp_interrupted()) {
      st = lsp_fail(LSP_EINTR, "training interrupted (epoch %zu, at its end)",
                    ep + 1);
      goto done;
    }
  }
  lg.seconds = lsp_now_s() - jb.t0;
  lg.samples_per_s = lg.seconds - jb.val_s > 0 ? jb.total / (lg.seconds - jb.val_s) : 0.0;

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
