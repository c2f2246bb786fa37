/* train_fixture.h — shared by tests/test_train*.c: a hand-made Gaussian
 * mixture (300 training and 90 validation rows of 5 features, 3 classes
 * 2.5 sd apart), the small networks the tests train (plain MLPs, which the
 * feature split takes; an MLP behind a flatten node, which trains on shares
 * of rows; dense layers with batch norm) and a progress callback that
 * checks the order of its calls. Everything is `static inline` so a test
 * file that uses part of it compiles without warnings. */
#ifndef LSP_TRAIN_FIXTURE_H
#define LSP_TRAIN_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/nn/lsp_model.h"
#include "core/train/lsp_train.h"
#include "core/train/lsp_train_feat.h"
#include "testutil.h"

/* ---- a hand-made Gaussian mixture -----------------------------------------
 */

enum { DIM = 5, K = 3 };

static inline double gauss(unsigned *s) { /* Box-Muller on an LCG: test data only */
  double u1, u2;
  *s = *s * 1664525u + 1013904223u;
  u1 = ((double)(*s >> 8) + 0.5) / 16777216.0;
  *s = *s * 1664525u + 1013904223u;
  u2 = ((double)(*s >> 8) + 0.5) / 16777216.0;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static inline void fill(lsp_dataset *d, size_t n, unsigned seed) {
  d->n = n;
  d->dim = DIM;
  d->k = K;
  d->x = malloc(n * DIM * sizeof *d->x);
  d->y = malloc(n * sizeof *d->y);
  assert_true(d->x && d->y);
  unsigned s = seed;
  for (size_t i = 0; i < n; i++) {
    int c = (int)(i % K);
    d->y[i] = c;
    for (size_t j = 0; j < DIM; j++)
      d->x[i * DIM + j] = (float)(gauss(&s) + (j == (size_t)c ? 2.5 : 0.0));
  }
}

static inline int setup_data(void **state) {
  lsp_splits *s = calloc(1, sizeof *s);
  fill(&s->train, 300, 11);
  fill(&s->val, 90, 12);
  snprintf(s->name, sizeof s->name, "hand-mixture");
  s->hash = 0xfeedull;
  *state = s;
  return 0;
}

static inline int teardown_data(void **state) {
  lsp_splits *s = *state;
  free(s->train.x), free(s->train.y), free(s->val.x), free(s->val.y);
  free(s);
  return 0;
}

static inline lsp_model *mlp(size_t in, size_t hid, size_t out) {
  lsp_model *m = lsp_model_alloc_mlp(in, &hid, 1, out);
  assert_non_null(m);
  return m;
}

/* A plain MLP whose layers the feature split cuts into 3, 2 and 1 parts
 * (128 outputs a part), so 2 to 3 threads share every layer but the last. */
static inline lsp_model *wide_mlp(void) {
  const size_t hid[2] = {384, 256};
  lsp_model *m = lsp_model_alloc_mlp(DIM, hid, 2, K);
  assert_non_null(m);
  assert_true(lsp_feat_eligible(m)); /* the tests below mean this path */
  return m;
}

/* A small MLP behind a flatten node, which the feature split does not take:
 * it trains on shares of rows. */
static inline lsp_model *shares_mlp(void) {
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("flatten dense(16) relu", (lsp_shape){DIM, 1, 1}, K, NULL,
                                       0, &m),
                   LSP_OK);
  assert_false(lsp_feat_eligible(m));
  return m;
}

static inline lsp_model *small_mlp(void) { return mlp(DIM, 16, K); }

typedef struct {
  size_t calls, epoch_ends, last_batches, prev; /* prev: the last batch reported */
  double first_loss;
} cb_count;

static inline void count_cb(const lsp_train_progress *p, void *user) {
  cb_count *c = user;
  if (c->calls++ == 0) c->first_loss = p->loss;
  c->epoch_ends += p->end_of_epoch;
  c->last_batches = p->batches;
  if (p->end_of_epoch) /* every batch once, in order, then the epoch's end */
    assert_int_equal(p->batch, c->prev), c->prev = 0;
  else
    assert_int_equal(p->batch, ++c->prev);
  assert_true(p->batch >= 1 && p->batch <= p->batches);
  assert_true(p->epoch >= 1 && p->epoch <= p->epochs);
  assert_true(isfinite(p->loss) && p->accuracy >= 0 && p->accuracy <= 1);
}

/* Dense layers with batch norm (BatchNorm1d between them). */
static inline lsp_model *bn_net(void) {
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("dense(12) bn relu dense(8) bn relu", (lsp_shape){DIM, 1, 1},
                                       K, NULL, 0, &m),
                   LSP_OK);
  return m;
}

#endif
