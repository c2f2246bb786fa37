/* lsp_train_jobs.c — training on the pool's threads: a batch on shares of
 * rows (any model; lsp_train runs one pool run a batch), or an epoch split
 * by output features (a plain MLP, lsp_train_feat.h; one pool run an
 * epoch). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"
#include "core/loss/lsp_soft.h"
#include "core/train/lsp_train_int.h"

/* ---- data-parallel shares -------------------------------------------------
 *
 * Models other than plain MLPs (convolutions, batch norm, skip edges: the
 * feature split below takes only chains of dense layers and ReLUs). Every
 * batch is cut into S = lsp_train_shares(batch) contiguous shares of
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
 * slower still on 128 rows (measured 0.5-0.7x of one thread). On 2 threads
 * the shares cost the MLP a quarter of its time beyond the GEMMs: each
 * thread reads the other's half of the gradient and of the weights it
 * wrote, which the feature split avoids (measured there).
 *
 * Batch norm. Its statistics are the whole batch's (PyTorch), so the shares'
 * passes stop at every batch-norm node (lsp_model_nsync of them): each
 * thread runs the stage on its shares, all meet at a barrier, thread 0
 * combines the shares' partial sums in share order (lsp_model_sync_forward
 * / _backward), all meet again and go on. Every share therefore keeps its
 * own workspace (the activations of all shares are alive at once). A model
 * without batch norm has one stage and no extra barrier. */


size_t lsp_train_count_correct(const float *z, const int32_t *y, size_t n, size_t k) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) {
    const float *r = z + i * k;
    c += (int32_t)lsp_argmax_f32(r, k) == y[i];
  }
  return c;
}


void lsp_train_worker_fail(worker *w, int st) {
  w->st = st;
  snprintf(w->msg, sizeof w->msg, "%s",
           lsp_errmsg()); /* the message is per thread */
}

/* Gather the rows idx[i0..i1) of the training split into rows [i0, i1) of
 * share sh (and the teacher's logits of the same rows when distilling; the
 * feature split's threads gather a batch in such blocks, of nr rows). The
 * rows lie at random in a split larger than the caches: while a row is
 * copied, the row three ahead (in the batch) is prefetched every 256
 * bytes, which starts its misses (and the hardware prefetcher's streams)
 * early; the copy took 5% of a one-thread epoch, about 3.5% with this. */
enum { GATHER_AHEAD = 3 };

static void gather_rows(share *sh, const lsp_dataset *tr, const float *teacher,
                        const size_t *idx, size_t i0, size_t i1, size_t nr) {
  const size_t dim = tr->dim;
  for (size_t i = i0; i < i1; i++) {
    if (i + GATHER_AHEAD < nr) {
      const char *p = (const char *)(tr->x + idx[i + GATHER_AHEAD] * dim);
      for (size_t b = 0; b < dim * sizeof *tr->x; b += 256) __builtin_prefetch(p + b);
    }
    memcpy(sh->xb + i * dim, tr->x + idx[i] * dim, dim * sizeof *sh->xb);
    sh->yb[i] = tr->y[idx[i]];
  }
  if (teacher) {
    const size_t k = sh->view.out_dim;
    for (size_t i = i0; i < i1; i++)
      memcpy(sh->tb + i * k, teacher + idx[i] * k, k * sizeof *sh->tb);
  }
}

static void share_gather(share *sh, const lsp_dataset *tr, const float *teacher,
                         const size_t *idx, size_t nr) {
  sh->nr = nr;
  sh->loss_sum = 0.0;
  sh->correct = 0;
  sh->z = NULL;
  gather_rows(sh, tr, teacher, idx, 0, nr, nr);
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
  sh->correct = lsp_train_count_correct(sh->z, sh->yb, sh->nr, k);
  return LSP_OK;
}

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
    if (st) lsp_train_worker_fail(&tn->w[0], st);
  }
  lsp_pool_barrier(j->pool);
}

/* Thread t of nt: its block of shares through the training-mode forward,
 * the loss and the backward, stage by stage (see above), then (once every
 * share is done and none failed) the sum of the gradients and the step on
 * its parameter slice. Every thread passes the same barriers, failed or
 * not, and sees the same failures. */
void lsp_train_share_job(void *varg, int t, int nt) {
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
      if (st) lsp_train_worker_fail(w, st);
    }
    if (stage < K) sync_point(j, t, nt, stage, 0);
  }
  for (size_t s = s0; s < s1 && !w->st; s++) {
    int st = share_loss(&tn->sh[s], j->nb, tn->o);
    if (st) lsp_train_worker_fail(w, st);
  }
  for (size_t stage = 0; stage <= K; stage++) {
    for (size_t s = s0; s < s1 && !w->st && !(stage > 0 && any_failed(tn, nt)); s++) {
      share *sh = &tn->sh[s];
      int st = lsp_model_stage_backward(&sh->view, sh->ws, sh->dz,
                                        LSP_BACK_PARAMS | LSP_BACK_GRADS_ZERO, NULL, stage);
      if (st) lsp_train_worker_fail(w, st);
    }
    if (stage < K) sync_point(j, t, nt, stage, 1);
  }
  lsp_pool_barrier(j->pool);
  if (any_failed(tn, nt)) return; /* every thread sees the same failure */
  reduce_and_step(tn, t, nt, j->lr, j->step);
}

/* The optimizer step on params[off, off + len) of the feature-split pass
 * (lsp_train_feat.h), which also clears the gradient there — or, when
 * the backward added the gradient onto the velocity (tn->vel_acc), steps
 * from the velocity and leaves it multiplied by the momentum. */
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
  if (tn->vel_acc) {
    lsp_train_sgd_step_vel(w, tn->state + off, len, a->lr, o->momentum);
  } else if (o->adam) {
    lsp_train_adam_step(w, g, tn->state + off, tn->state + tn->m->nparams + off, len, a->lr,
                        o->weight_decay, a->step);
    memset(g, 0, len * sizeof *g);
  } else {
    lsp_train_sgd_step_sum(w, &g, 1, 1u, tn->state + off, len, a->lr, o->momentum,
                           o->weight_decay);
  }
}

/* Thread t of nt, a plain MLP: a whole epoch, batch after batch, each
 * batch as one share split by features (lsp_train_feat.h). Three shares
 * hold the batches' rows in turn: batch b + 1's rows go into the share
 * that batch b - 2 used, before batch b's last forward barrier (every
 * thread is past batch b - 2 by then, and batch b + 1 reads them after
 * that barrier). They are gathered in blocks of GATHER_CHUNK rows that the
 * threads claim while they would otherwise wait at batch b's forward
 * barriers (lsp_feat_set_fill): half of them before the first, the rest
 * before the last. Every thread computes the loss (its own copy of its
 * gradient); thread 0 keeps the tallies and reports the progress. An
 * interruption is seen by thread 0 before batch b's first barrier and by
 * every thread after it, which then stop together at that batch, as they
 * do when the loss fails (alike on every thread). */
enum { GATHER_CHUNK = 8 };

static size_t batch_rows(const job *j, size_t b) {
  return j->nb - b * j->bs < j->bs ? j->nb - b * j->bs : j->bs;
}

/* Claim and gather batch b's blocks until its first `upto` are taken. Block
 * c of the epoch is rows [(c - b·C)·GATHER_CHUNK, ...) of batch b = c / C
 * (C blocks a full batch); every batch but the last is full, so the count
 * reaches b·C exactly when batch b's blocks are due. */
static void gather_claim(job *j, size_t b, size_t upto) {
  const size_t C = (j->bs + GATHER_CHUNK - 1) / GATHER_CHUNK, nr = batch_rows(j, b);
  share *sh = &j->tn->sh[b % 3];
  size_t c = atomic_load_explicit(&j->chunk, memory_order_relaxed);
  while (c < b * C + upto) {
    if (!atomic_compare_exchange_weak_explicit(&j->chunk, &c, c + 1, memory_order_relaxed,
                                               memory_order_relaxed))
      continue; /* c now holds the count */
    const size_t i0 = (c - b * C) * GATHER_CHUNK;
    const size_t i1 = i0 + GATHER_CHUNK < nr ? i0 + GATHER_CHUNK : nr;
    gather_rows(sh, j->d, j->tn->o->teacher, j->idx + b * j->bs, i0, i1, nr);
    c = atomic_load_explicit(&j->chunk, memory_order_relaxed);
  }
}

void lsp_train_fill(void *user, size_t b, int k, int last) {
  job *j = user;
  if (b + 1 >= j->batches) return;
  const size_t C = (batch_rows(j, b + 1) + GATHER_CHUNK - 1) / GATHER_CHUNK;
  gather_claim(j, b + 1, k == 0 && !last ? C / 2 : C);
}

void lsp_train_feat_epoch(void *varg, int t, int nt) {
  job *j = varg;
  trainer *tn = j->tn;
  tn->w[t].st = LSP_OK;
  gather_claim(j, 0, (batch_rows(j, 0) + GATHER_CHUNK - 1) / GATHER_CHUNK);
  if (nt > 1) lsp_pool_barrier(j->pool);
  for (size_t b = 0; b < j->batches; b++) {
    share *sh = &tn->sh[b % 3];
    const size_t nr = batch_rows(j, b);
    if (t == 0 && lsp_interrupted()) atomic_store_explicit(&j->stop, b + 1, memory_order_relaxed);
    lsp_feat_begin(tn->feat, sh->xb, nr, b, t, nt, j->pool);
    if (atomic_load_explicit(&j->stop, memory_order_relaxed) == b + 1) {
      if (t == 0) j->at = b + 1;
      return;
    }
    feat_step_arg prev = {tn, j->lr, j->step + b}; /* the deferred step: batch b - 1's */
    share me = *sh;
    me.nr = nr;
    me.z = lsp_feat_forward(tn->feat, sh->xb, nr, b, t, nt, j->pool, b ? feat_step : NULL,
                            &prev);
    me.dz = lsp_feat_dz(tn->feat, t);
    int st = share_loss(&me, nr, tn->o);
    if (st) { /* the same on every thread: all return here */
      lsp_train_worker_fail(&tn->w[t], st);
      if (t == 0) j->at = b + 1;
      return;
    }
    if (t == 0) lsp_train_batch_done(j, b + 1, nr, me.loss_sum, me.correct);
    feat_step_arg a = {tn, j->lr, j->step + b + 1};
    lsp_feat_backward(tn->feat, sh->xb, nr, b, me.dz, t, nt, j->pool, feat_step, &a,
                      b + 1 < j->batches);
  }
}
