/* lsp_train_int.h — what lsp_train.c and its two batch jobs
 * (lsp_train_jobs.c) share: the shares, the threads' status, the trainer
 * and one pool run's job. Not installed. */
#ifndef LSP_TRAIN_INT_H
#define LSP_TRAIN_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/lsp_pool.h"
#include "core/train/lsp_train.h"
#include "core/train/lsp_train_feat.h"

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


typedef struct {
  lsp_model *m;
  worker *w;
  int nw;
  share *sh;          /* S of them */
  lsp_model_ws **wss; /* the shares' workspaces, in share order */
  size_t S;
  size_t nsync;       /* batch-norm nodes: synchronization points */
  double *chunk_loss; /* validation: per chunk of rows, its loss sum and NLL sum */
  lsp_feat *feat;     /* a plain MLP: the batch split by features (S = 1) */
  float *state; /* SGD velocity, or Adam's two moments back to back */
  int vel_acc;  /* the feature split adds the gradients onto the velocity
                   (lsp_feat_set_grads), which the step keeps prescaled */
  const lsp_train_opts *o;
} trainer;


/* What one pool run needs: a batch (idx, nb, lr, step), a split to
 * score, or (the feature split) a whole epoch: `batches` batches of bs
 * rows of idx (nb of them), the first one's step number step + 1. */
typedef struct {
  trainer *tn;
  lsp_pool *pool;
  const lsp_dataset *d;
  const size_t *idx;
  size_t nb, step, bs, batches;
  double lr;
  atomic_size_t stop; /* an interruption seen at batch `stop` (0: none)    */
  /* written by thread 0 only (a cache line apart from what the others
   * read): the batch (from 1) a failed run ended at, the epoch's tallies
   * so far and the progress report (lsp_train_batch_done) */
  _Alignas(64) size_t at;
  double loss_sum, seen, total, t0;
  double val_s; /* seconds spent validating so far (not in samples/s) */
  size_t correct, done_rows;
  lsp_train_cb cb;
  void *user;
  lsp_train_progress pr;
  /* the feature split: the next block of rows to gather (lsp_train_fill) */
  _Alignas(64) atomic_size_t chunk;
} job;


/* After batch b (from 1) of nb rows, whose rows' losses sum to loss_sum
 * with `correct` of them right: the epoch's tallies and the progress
 * callback (on the thread that called lsp_train). */
void lsp_train_batch_done(job *j, size_t b, size_t nb, double loss_sum, size_t correct);
/* Rows of z (n×k) whose largest logit (lowest index on ties) is the label. */
size_t lsp_train_count_correct(const float *z, const int32_t *y, size_t n, size_t k);
/* Record status st and the thread's message in w. */
void lsp_train_worker_fail(worker *w, int st);
/* A pool run's function (arg: a job): one batch on shares of rows, or a
 * whole epoch split by features (a plain MLP, tn->feat set). */
void lsp_train_share_job(void *arg, int t, int nt);
void lsp_train_feat_epoch(void *arg, int t, int nt);
/* The feature split's work for the waits (lsp_feat_fill_fn; user: the
 * job): gathering the next batch's rows. */
void lsp_train_fill(void *user, size_t b, int k, int last);

#endif
