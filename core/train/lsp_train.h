/* lsp_train.h — mini-batch training with label smoothing.
 *
 * SGD with momentum (PyTorch's form: v = mu*v + g + wd*w; w -= lr*v) or
 * Adam, optional cosine learning-rate schedule, seeded shuffling, the loss of
 * lsp_loss_xent in either smoothing convention, validation loss/accuracy
 * after every epoch. lsp_threads_get() = T threads share every batch: a
 * plain MLP (dense layers and ReLUs) runs the whole batch through each
 * layer, cut by output features into fixed parts of about 128 (T at most
 * the most parts of a layer; lsp_train_feat.h); other models cut the batch
 * into lsp_train_shares(batch) shares of rows, trained side by side (T at
 * most one per share), their gradients summed in share order. Neither cut
 * depends on T, so the same seed and settings give a bit-identical model
 * for any thread count (on one machine: see README "Reproducibility").
 * The threads call single-threaded GEMMs side by side, which needs OpenBLAS
 * at one thread (lsp_threads_set_blas, or OPENBLAS_NUM_THREADS=1): OpenBLAS's
 * multi-threaded GEMMs serialize on a lock when called concurrently (20x
 * slower). lsp_train never changes OpenBLAS's setting: when it is above 1,
 * the shares (or parts) run one after another on the calling thread and OpenBLAS
 * threads each GEMM (the same model, slower). The library does not print:
 * progress goes to a callback. */
#ifndef LSP_TRAIN_H
#define LSP_TRAIN_H

#include <stddef.h>

#include "core/data/lsp_data.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/lsp_model.h"

/* The version of the training code: bump it when a change to training
 * changes the weights trained from the same settings, so that a model
 * trained before is not taken for one trained now (the training record
 * carries it and the model cache compares it).
 *   1  one share per thread (the thread count changed the weights)
 *   2  fixed shares per batch, any thread count gives the same model
 *   3  plain MLPs: the whole batch, each layer split by output features
 *   4  the loss kernel's one sweep on AVX-512 and AVX2 (exp(z) itself, AVX2's
 *      table exponential): the same settings train other last bits
 *   5  the one sweep on SSE2 too (a table of exp(j/128)): other last bits
 *      on machines without AVX2
 *   6  rows whose gradient scale gs/Σexp(z) falls below 2^-100 (logits
 *      above about 64 in a batch of 128) take the three sweeps: the one
 *      sweep had lost the softmax term's bits to float's subnormals
 *   7  the distillation gradient at the label rounded once (its label
 *      term had been subtracted after a rounding to float): other last
 *      bits for a student whose training met confident rows */
#define LSP_TRAIN_CODE_VERSION 7

/* A training whose losses stay finite but run away fails too (LSP_EDATA,
 * "diverged"): when an epoch's mean training loss, or the validation loss
 * after it, exceeds LSP_TRAIN_DIVERGED times the loss of the uniform
 * prediction (log K; for distillation's training loss
 * max(1, (1 − α) + α·T²)·log K). */
#define LSP_TRAIN_DIVERGED 1000

/* A batch of a model other than a plain MLP is cut into
 * lsp_train_shares(batch) shares of rows, whatever the thread count:
 * ceil(batch / LSP_TRAIN_SHARE_ROWS), at least 1 and at most
 * LSP_TRAIN_MAX_SHARES (see lsp_train_jobs.c for why). The training record
 * carries this count for every model. */
#define LSP_TRAIN_SHARE_ROWS 64
#define LSP_TRAIN_MAX_SHARES 16
size_t lsp_train_shares(size_t batch);

typedef struct {
  lsp_ls smoothing;       /* eps 0 = plain cross-entropy               */
  size_t epochs;          /* 15                                        */
  size_t batch;           /* 128                                       */
  double lr;              /* 0.1                                       */
  double momentum;        /* 0.9                                       */
  double weight_decay;    /* 0                                         */
  int cosine;             /* cosine per epoch: lr(1+cos(pi e/E))/2     */
  int adam;               /* Adam (lr is then Adam's step size)        */
  unsigned long seed;     /* init + shuffling (1)                      */
  /* Distillation (Hinton et al. 2015; lsp_loss_distill): with `teacher`
   * set, the loss of every batch is (1 - alpha) CE_smoothing(y, z) +
   * alpha T^2 KL(softmax(t/T) || softmax(z/T)), t the teacher's logits of
   * the same training examples. The validation loss stays the hard-label
   * (smoothed) cross-entropy. */
  const float *teacher;   /* NULL, or data->train.n × K logits, row i for
                             training example i (not owned)              */
  double alpha;           /* weight of the teacher term in [0, 1]      */
  double temperature;     /* T > 0                                     */
} lsp_train_opts;

void lsp_train_opts_default(lsp_train_opts *o);

typedef struct {
  size_t epoch, epochs;       /* 1-based current epoch                     */
  size_t batch, batches;      /* 1-based current batch within the epoch    */
  double loss, accuracy;      /* running means over the epoch so far       */
  double samples_per_s;
  double eta_s;               /* estimated seconds to the end              */
  int end_of_epoch;           /* 1 on the call after validation            */
  double val_loss, val_accuracy; /* set when end_of_epoch: the training
                                    criterion (smoothed loss) and accuracy on
                                    the validation split; NaN without one    */
  double val_nll;             /* with them: the plain NLL (ε = 0) of the same
                                 logits, comparable across ε              */
} lsp_train_progress;

typedef void (*lsp_train_cb)(const lsp_train_progress *p, void *user);

/* Per-epoch history, for training curves. Arrays have `epochs` entries:
 * train_loss/train_acc are means over the epoch's batches (as the model
 * changed during it), val_loss/val_acc are measured after the epoch (NaN
 * without a validation split); losses are the smoothed training criterion,
 * but val_nll, the plain NLL (ε = 0) of the same validation logits, which
 * compares across ε (NaN without a validation split, and in curves read
 * back from a cache written before it was kept).
 * seconds covers the whole run, validation included; samples_per_s is the
 * training's throughput: training examples per second spent outside the
 * validations (as the progress reports' samples_per_s). */
typedef struct {
  size_t epochs;
  double *train_loss, *train_acc, *val_loss, *val_acc; /* owned */
  double *val_nll;                                     /* owned */
  double seconds;
  double samples_per_s;
} lsp_train_log;

void lsp_train_log_free(lsp_train_log *log);

/* Initialize m (lsp_model_init with opts->seed) and train it on
 * data->train, validating on data->val after every epoch (skipped when
 * data->val.n is 0). Batches follow a fresh seeded permutation each epoch
 * (GSL mt19937); the last batch of an epoch may be smaller. `cb` is called
 * after every batch and once more after each validation; it may be NULL.
 * On success fills m->meta and, if `log` is not NULL, *log (the caller owns
 * it: lsp_train_log_free). Errors: LSP_EDATA when the model does not fit the
 * data (input size, class count) or training diverges (a non-finite logit,
 * weight or running statistic, or a loss above LSP_TRAIN_DIVERGED times the
 * uniform prediction's), LSP_EINVAL for bad options, LSP_ENOMEM, LSP_EINTR
 * when lsp_interrupted() is seen between batches, between validation chunks
 * or at an epoch's end (so never after the last epoch's validation with
 * LSP_OK). On failure m holds partly trained parameters. */
int lsp_train(lsp_model *m, const lsp_splits *data, const lsp_train_opts *opts,
              lsp_train_cb cb, void *user, lsp_train_log *log);

/* The bytes lsp_train allocates for m on data with o on `threads` threads
 * (its estimate, about 25% above the peak resident size), and its memory
 * check alone: LSP_OK when they fit in lsp_mem_available() (or that is
 * unknown), else LSP_EINVAL with lsp_train's message (the bytes needed and
 * available, the largest batch that fits). A caller running several
 * trainings at once checks their sum. */
double lsp_train_bytes(const lsp_model *m, const lsp_splits *data,
                       const lsp_train_opts *o, int threads);
int lsp_train_check_memory(const lsp_model *m, const lsp_splits *data,
                           const lsp_train_opts *o, int threads);

/* The training record lsp_train writes into m->meta for these options and
 * data (val_accuracy NaN until trained): every setting that determines the
 * weights -- code version, smoothing, seed, schedule, optimizer, shares, the
 * data hash and the train/validation split with its hash -- and the
 * description (data name, CPU path, BLAS kernels). The model cache builds
 * the record it wants with this, so the two cannot drift apart. */
void lsp_train_record(const lsp_train_opts *o, const lsp_splits *data,
                      lsp_model_meta *r);

/* One optimizer step over a flat float32 parameter array of n entries, as
 * lsp_train applies it after every batch (and as torch.optim does):
 *   SGD:  g = dw + wd*w;  v = momentum*v + g;  w -= lr*v
 *         (v holds the momentum buffer, zero before the first step)
 *   Adam: g = dw + wd*w;  m = 0.9 m + 0.1 g;  v = 0.999 v + 0.001 g^2;
 *         w -= lr/(1-0.9^t) * m / (sqrt(v)/sqrt(1-0.999^t) + 1e-8)
 *         (m, v zero before the first step; t is the 1-based step count)
 * Element-wise, so the result does not depend on the thread count. */
void lsp_train_sgd_step(float *w, const float *dw, float *v, size_t n, double lr,
                        double momentum, double wd);
void lsp_train_adam_step(float *w, const float *dw, float *m, float *v, size_t n,
                         double lr, double wd, size_t t);
/* The SGD step on dw = g[0] + g[1] + ... + g[ng-1] (ng >= 1), summed left to
 * right element by element: the same bits as summing first and calling
 * lsp_train_sgd_step, in one pass over memory. g[s] is set to zero as it is
 * read when bit s of `clear` is set (ready for a backward with
 * LSP_BACK_GRADS_ZERO). */
void lsp_train_sgd_step_sum(float *w, float *const *g, size_t ng, unsigned clear, float *v,
                            size_t n, double lr, double momentum, double wd);
/* The SGD step without weight decay when the gradient has already been
 * added onto the velocity: v holds momentum*v_old + g (v_old the last
 * step's velocity); w -= lr*v, then v *= momentum, ready for the next
 * gradient to be added (the same bits as lsp_train_sgd_step with wd = 0
 * when that addition rounds momentum*v_old + g once). */
void lsp_train_sgd_step_vel(float *w, float *v, size_t n, double lr, double momentum);

#endif
