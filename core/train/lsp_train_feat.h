/* lsp_train_feat.h — a plain MLP's training pass split by output features.
 *
 * For a chain of dense layers (each optionally followed by a ReLU) lsp_train
 * runs the whole batch through every GEMM and splits each layer by its
 * output features instead of by rows: every layer's outputs are cut into
 * fixed parts (lsp_feat_alloc; whatever the thread count), and a thread
 * owns the same parts' rows of W, of b, of their gradients and of the step.
 * A thread computes, for its parts: the layer's outputs (x · W[part]ᵀ + b,
 * ReLU), the weight and bias gradients (dY[:, part]ᵀ · x, column sums),
 * and the input gradient's columns that are the previous layer's parts it
 * owns (dY · W[:, part'], then the ReLU mask). Each output element's sum
 * is computed whole by one GEMM call per part, so the bits do not depend
 * on the thread count; no gradient is summed across threads and no thread
 * writes another's weights. What crosses between cores is the activations
 * (all columns of a layer's output feed every part of the next) and, in
 * the input gradient, the other threads' rows of W (read only). */
#ifndef LSP_TRAIN_FEAT_H
#define LSP_TRAIN_FEAT_H

#include <stddef.h>

#include "core/base/lsp_pool.h"
#include "core/nn/lsp_model.h"

typedef struct lsp_feat lsp_feat;

/* The optimizer step on params[off, off + len) and the gradient there
 * (which it leaves at zero): called by the thread that owns that slice. */
typedef void (*lsp_feat_step_fn)(void *user, size_t off, size_t len);

/* 1 when m is a chain of dense layers on the input, each optionally
 * followed by one ReLU (lsp_model_alloc_mlp's networks, any widths). */
int lsp_feat_eligible(const lsp_model *m);
/* The most parts of any layer: more threads than that find no work. */
size_t lsp_feat_max_threads(const lsp_feat *f);
/* Buffers for batches of up to `rows` rows; NULL when out of memory. */
lsp_feat *lsp_feat_alloc(lsp_model *m, size_t rows);
void lsp_feat_free(lsp_feat *f); /* NULL-safe */

/* One pool run trains a whole epoch, batch after batch, with no barrier
 * between one batch's backward and the next one's forward: `b` counts the
 * batches of the run (its parity picks the first layer's output buffer,
 * which the next batch writes while a late thread may still read it), and
 * a batch starts with lsp_feat_begin, the forward up to the batch's first
 * barrier: the first layer's parts, or with a one-part classifier right
 * behind it (or as the only layer) just a barrier. After it every thread
 * has finished the previous batch. The caller gathers batch b + 1's inputs
 * before batch b's lsp_feat_begin (into a buffer none of batches b - 1 and
 * b reads). */
void lsp_feat_begin(lsp_feat *f, const float *x, size_t n, size_t b, int t, int nt,
                    lsp_pool *pool);
/* Where the backward adds the weight and bias gradients: m->grads (the
 * default; NULL restores it), or another array of m->nparams floats laid
 * out like it — lsp_train's SGD momentum buffer, kept multiplied by the
 * momentum between batches, so that the weight-gradient GEMMs (β = 1) form
 * v = μv + g themselves (lsp_train_sgd_step_vel). */
void lsp_feat_set_grads(lsp_feat *f, float *acc);
/* Work that any thread may do, in pieces it claims at run time, called by
 * every thread of batch b right before the forward's barrier k (0 is
 * lsp_feat_begin's; `last`: the forward has no later one): the thread that
 * arrives first then does more of it instead of waiting. Whatever it
 * writes must not depend on which thread does it. lsp_train gathers the
 * next batch's rows there. NULL: none. */
typedef void (*lsp_feat_fill_fn)(void *user, size_t b, int k, int last);
void lsp_feat_set_fill(lsp_feat *f, lsp_feat_fill_fn fill, void *user);
/* Thread t of nt: the rest of the forward of the n rows of x (n × in_dim),
 * first the step that the last backward deferred (`pending`, with the
 * previous batch's settings in `user`; NULL when it did not defer), which
 * lsp_feat_begin's barrier made safe. Returns the logits (n × out_dim),
 * complete for thread t. A one-part classifier (fewer than 2 FEAT_PART
 * outputs) runs whole on every thread into the thread's own buffer: a few
 * microseconds of duplicated work instead of a barrier before the loss and
 * another after it (each thread then computes the loss's gradient itself,
 * into lsp_feat_dz(f, t), the same bits on every thread). */
const float *lsp_feat_forward(lsp_feat *f, const float *x, size_t n, size_t b, int t, int nt,
                              lsp_pool *pool, lsp_feat_step_fn pending, void *user);
/* Thread t's buffer for the logits' gradient (rows × out_dim). */
float *lsp_feat_dz(lsp_feat *f, int t);


/* Thread t of nt: the backward of the last forward (of the n rows of x)
 * from dz (n × out_dim, complete for thread t: its own, or shared and
 * behind a barrier), adding the weight and
 * bias gradients into m->grads (kept at zero between batches; or the array
 * of lsp_feat_set_grads), then `step`
 * on this thread's parameter slices once no thread reads them any more.
 * With `defer`, the second layer's step (and a one-part classifier's) is
 * left to the next batch's lsp_feat_forward (which must then be given it),
 * saving the last barrier. */
void lsp_feat_backward(lsp_feat *f, const float *x, size_t n, size_t b, const float *dz, int t,
                       int nt, lsp_pool *pool, lsp_feat_step_fn step, void *user, int defer);

#endif
