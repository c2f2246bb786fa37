/* Training: determinism, learning on a hand-made Gaussian mixture, the
 * model/data fit checks, bad settings, the thread paths and interruption
 * (the optimizer steps: test_optim.c). */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_cpu.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/lsp_model.h"
#include "core/base/lsp_threads.h"
#include "core/train/lsp_train.h"
#include "core/train/lsp_train_feat.h"
#include "testutil.h"

/* ---- a hand-made Gaussian mixture -----------------------------------------
 */

enum { DIM = 5, K = 3 };

static double gauss(unsigned *s) { /* Box-Muller on an LCG: test data only */
  double u1, u2;
  *s = *s * 1664525u + 1013904223u;
  u1 = ((double)(*s >> 8) + 0.5) / 16777216.0;
  *s = *s * 1664525u + 1013904223u;
  u2 = ((double)(*s >> 8) + 0.5) / 16777216.0;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void fill(lsp_dataset *d, size_t n, unsigned seed) {
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

static int setup_data(void **state) {
  lsp_splits *s = calloc(1, sizeof *s);
  fill(&s->train, 300, 11);
  fill(&s->val, 90, 12);
  snprintf(s->name, sizeof s->name, "hand-mixture");
  s->hash = 0xfeedull;
  *state = s;
  return 0;
}

static int teardown_data(void **state) {
  lsp_splits *s = *state;
  free(s->train.x), free(s->train.y), free(s->val.x), free(s->val.y);
  free(s);
  return 0;
}

static lsp_model *mlp(size_t in, size_t hid, size_t out) {
  lsp_model *m = lsp_model_alloc_mlp(in, &hid, 1, out);
  assert_non_null(m);
  return m;
}

/* A plain MLP whose layers the feature split cuts into 3, 2 and 1 parts
 * (128 outputs a part), so 2 to 3 threads share every layer but the last. */
static lsp_model *wide_mlp(void) {
  const size_t hid[2] = {384, 256};
  lsp_model *m = lsp_model_alloc_mlp(DIM, hid, 2, K);
  assert_non_null(m);
  assert_true(lsp_feat_eligible(m)); /* the tests below mean this path */
  return m;
}

/* A small MLP behind a flatten node, which the feature split does not take:
 * it trains on shares of rows. */
static lsp_model *shares_mlp(void) {
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("flatten dense(16) relu", (lsp_shape){DIM, 1, 1}, K, NULL,
                                       0, &m),
                   LSP_OK);
  assert_false(lsp_feat_eligible(m));
  return m;
}

static lsp_model *small_mlp(void) { return mlp(DIM, 16, K); }

typedef struct {
  size_t calls, epoch_ends, last_batches, prev; /* prev: the last batch reported */
  double first_loss;
} cb_count;

static void count_cb(const lsp_train_progress *p, void *user) {
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

static void test_train_learns_and_is_deterministic(void **state) {
  lsp_splits *d = *state;
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  assert_int_equal(o.epochs, 15);
  assert_int_equal(o.batch, 128);
  o.epochs = 6;
  o.batch = 32;
  o.lr = 0.05;
  o.smoothing.eps = 0.1;
  o.seed = 7;
  lsp_model *a = mlp(DIM, 16, K), *b = mlp(DIM, 16, K), *c = mlp(DIM, 16, K);
  lsp_train_log la = {0}, lb = {0};
  cb_count cc = {0};
  assert_int_equal(lsp_train(a, d, &o, count_cb, &cc, &la), LSP_OK);
  assert_int_equal(cc.last_batches, 10); /* ceil(300 / 32) */
  assert_int_equal(cc.calls, 6 * 10 + 6);
  assert_int_equal(cc.epoch_ends, 6);
  assert_int_equal(lsp_train(b, d, &o, NULL, NULL, &lb), LSP_OK);
  assert_memory_equal(a->params, b->params, a->nparams * sizeof(float));
  for (size_t e = 0; e < 6; e++) assert_true(la.val_loss[e] == lb.val_loss[e]);
  o.seed = 8;
  assert_int_equal(lsp_train(c, d, &o, NULL, NULL, NULL), LSP_OK);
  assert_memory_not_equal(a->params, c->params, a->nparams * sizeof(float));
  /* It learns: the mixture is well separated (means 2.5 sd apart). */
  assert_true(la.train_loss[5] < 0.8 * la.train_loss[0]);
  assert_true(la.val_loss[5] < la.val_loss[0]);
  assert_true(la.val_acc[5] > 0.8);
  /* The meta records the run. */
  assert_int_equal(a->meta.trained, 1);
  assert_true(a->meta.smoothing.eps == 0.1);
  assert_int_equal(a->meta.seed, 7);
  assert_int_equal(a->meta.epochs, 6);
  assert_int_equal(a->meta.batch, 32);
  assert_string_equal(a->meta.data, "hand-mixture");
  assert_true(a->meta.data_hash == 0xfeedull);
  assert_true(a->meta.val_accuracy == la.val_acc[5]);
  assert_int_equal(a->meta.code_version, LSP_TRAIN_CODE_VERSION);
  assert_int_equal(a->meta.shares, 1); /* 32 rows: one share */
  assert_true(a->meta.n_train == 300 && a->meta.n_val == 90);
  assert_true(a->meta.val_hash == lsp_dataset_hash(&d->val));
  assert_true(a->meta.val_hash != lsp_dataset_hash(&d->train));
  assert_true(a->meta.cpu_path[0] && a->meta.blas_core[0]);
  /* the record lsp_train writes is the one lsp_train_record predicts (the
   * model cache relies on it) */
  lsp_model_meta want;
  char diff[256];
  o.seed = 7; /* a's settings */
  lsp_train_record(&o, d, &want);
  const char *differs = lsp_model_record_diff(&a->meta, &want, diff, sizeof diff);
  if (differs) fail_msg("the trained record differs in %s", differs);
  assert_true(la.samples_per_s > 0 && la.seconds > 0);
  lsp_train_log_free(&la);
  lsp_train_log_free(&lb);
  lsp_train_log_free(&la); /* idempotent */
  lsp_train_log_free(NULL);
  lsp_model_free(a), lsp_model_free(b), lsp_model_free(c);
}

static void test_train_variants(void **state) {
  lsp_splits *d = *state;
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.epochs = 4;
  o.batch = 64;
  o.smoothing = (lsp_ls){0.2, LSP_LS_T2T, 0};
  lsp_train_log lg = {0};
  /* Adam with weight decay, cosine schedule */
  o.adam = 1;
  o.lr = 0.03;
  o.weight_decay = 1e-4;
  o.cosine = 1;
  lsp_model *m = mlp(DIM, 8, K);
  assert_int_equal(lsp_train(m, d, &o, NULL, NULL, &lg), LSP_OK);
  assert_true(lg.train_loss[3] < lg.train_loss[0]);
  assert_true(lg.val_acc[3] > 0.8);
  assert_int_equal(m->meta.adam, 1);
  assert_int_equal(m->meta.cosine, 1);
  lsp_train_log_free(&lg);
  /* A batch larger than the data is one full batch; no validation split. */
  lsp_splits nov = *d;
  memset(&nov.val, 0, sizeof nov.val);
  o.adam = 0;
  o.lr = 0.1;
  o.batch = 1000;
  assert_int_equal(lsp_train(m, &nov, &o, NULL, NULL, &lg), LSP_OK);
  assert_true(isnan(lg.val_loss[0]) && isnan(m->meta.val_accuracy));
  lsp_train_log_free(&lg);
  lsp_model_free(m);
}

static void expect_fail(lsp_model *m, const lsp_splits *d,
                        const lsp_train_opts *o, int status,
                        const char *needle) {
  int st = lsp_train(m, d, o, NULL, NULL, NULL);
  assert_int_equal(st, status);
  if (!strstr(lsp_errmsg(), needle)) {
    print_error("message '%s' lacks '%s'\n", lsp_errmsg(), needle);
    fail();
  }
}

static void test_train_errors(void **state) {
  lsp_splits *d = *state;
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.epochs = 1;
  lsp_model *wide = mlp(DIM + 1, 4, K), *many = mlp(DIM, 4, K + 1),
            *m = mlp(DIM, 4, K);
  expect_fail(wide, d, &o, LSP_EDATA,
              "model 6-4-3 takes 6 inputs but the data "
              "(hand-mixture) has 5 features");
  expect_fail(many, d, &o, LSP_EDATA,
              "has 4 outputs but the data (hand-mixture) has 3 classes");
  lsp_train_opts b = o;
  b.lr = 0;
  expect_fail(m, d, &b, LSP_EINVAL, "learning rate");
  b = o;
  b.momentum = 1.0;
  expect_fail(m, d, &b, LSP_EINVAL, "momentum");
  b = o;
  b.weight_decay = NAN;
  expect_fail(m, d, &b, LSP_EINVAL, "weight decay");
  b = o;
  b.smoothing.eps = 1.5;
  expect_fail(m, d, &b, LSP_EINVAL, "1.5");
  b = o;
  b.batch = 0;
  expect_fail(m, d, &b, LSP_EINVAL, "batch");
  /* divergence: an absurd learning rate overflows the logits */
  b = o;
  b.lr = 1e30;
  b.epochs = 3;
  expect_fail(m, d, &b, LSP_EDATA, "diverged");
  /* the feature split's threads fail together, at the batch one thread
   * does: the first step sends the logits of the next batch to infinity */
  char one[256];
  lsp_model *split = wide_mlp();
  const int blas_before = lsp_threads_get_blas();
  lsp_threads_set_blas(1);
  lsp_threads_set(1);
  expect_fail(split, d, &b, LSP_EDATA, "epoch 1, batch 2 (training diverged?");
  snprintf(one, sizeof one, "%s", lsp_errmsg());
  lsp_threads_set(2);
  expect_fail(split, d, &b, LSP_EDATA, one);
  lsp_threads_set(0);
  lsp_threads_set_blas(blas_before);
  lsp_model_free(split);
  /* a step that overflows: one huge feature in three rows of the three
   * classes (the same prediction for all three, so two are wrong and give
   * a gradient; one batch, lr 1e6) sends weights to ~1e33 and the
   * validation logits to infinity; a larger one sends a weight itself to
   * infinity, which no model may keep */
  lsp_splits big = *d;
  float *bx = malloc(d->train.n * DIM * sizeof *bx);
  assert_non_null(bx);
  memcpy(bx, d->train.x, d->train.n * DIM * sizeof *bx);
  big.train.x = bx;
  b = o;
  b.lr = 1e6;
  b.batch = 1000;
  lsp_model *huge = mlp(DIM, 8, K);
  for (int r = 17; r < 20; r++) bx[r * DIM + 3] = 1e30f;
  expect_fail(huge, &big, &b, LSP_EDATA,
              "epoch 1, validation (training diverged? lower --lr): non-finite logit");
  for (int r = 17; r < 20; r++) bx[r * DIM + 3] = 1e36f;
  expect_fail(huge, &big, &b, LSP_EDATA, "epoch 1 (training diverged? lower --lr): a weight of ");
  if (!strstr(lsp_errmsg(), "is inf after the epoch's last step") &&
      !strstr(lsp_errmsg(), "is -inf after the epoch's last step"))
    fail_msg("message '%s'", lsp_errmsg());
  lsp_model_free(huge);
  free(bx);
  lsp_splits empty = *d;
  empty.train.n = 0;
  expect_fail(m, &empty, &o, LSP_EDATA, "no training examples");
  lsp_model_free(wide), lsp_model_free(many), lsp_model_free(m);
}

/* Whether OpenBLAS's sgemm on 2 threads gives its 1-thread bits, on the
 * shapes of wide_mlp's second layer at batch 256 (forward, weight and
 * input gradient). It depends on the kernels OpenBLAS picks for the CPU:
 * 0.3.21's Cooperlake kernels do (a Zen 4 host), its Haswell ones — its
 * choice on a later AMD core it does not know — split the work otherwise
 * and round differently (4085 of 32 768 elements of a 256×128×384 product
 * differ; 2026-12-02). */
static int blas_threads_exact(void) {
  static const int dims[3][3] = {{256, 256, 384}, {256, 384, 256}, {384, 256, 256}};
  const int before = lsp_threads_get_blas();
  int same = 1;
  for (int c = 0; c < 3 && same; c++) {
    const int m = dims[c][0], n = dims[c][1], kk = dims[c][2];
    float *a = malloc((size_t)m * kk * sizeof *a), *b = malloc((size_t)kk * n * sizeof *b);
    float *c1 = malloc((size_t)m * n * sizeof *c1), *c2 = malloc((size_t)m * n * sizeof *c2);
    assert_true(a && b && c1 && c2);
    unsigned s = 7u + (unsigned)c;
    for (int i = 0; i < m * kk; i++) a[i] = (float)gauss(&s);
    for (int i = 0; i < kk * n; i++) b[i] = (float)gauss(&s);
    for (int t = 1; t <= 2; t++) {
      lsp_threads_set_blas(t);
      cblas_sgemm(CblasRowMajor, c == 1 ? CblasTrans : CblasNoTrans,
                  c == 2 ? CblasTrans : CblasNoTrans, m, n, kk, 1.0f, a, c == 1 ? m : kk, b,
                  c == 2 ? kk : n, 0.0f, t == 1 ? c1 : c2, n);
    }
    same = memcmp(c1, c2, (size_t)m * n * sizeof *c1) == 0;
    free(a);
    free(b);
    free(c1);
    free(c2);
  }
  lsp_threads_set_blas(before);
  return same;
}

/* The thread count does not change the model. On shares of rows (a model
 * the feature split does not take): batches of 256 rows are cut into 4
 * shares (64 rows each; the last batch of 44 rows too) whatever the thread
 * count, and the shares' gradients are summed in share order. On the
 * feature split (a plain MLP of 384 and 256 hidden units): each layer's
 * fixed parts, one GEMM call each, on 1 to 3 threads (5 asked: 3 run;
 * 2: uneven blocks of the 3 parts; 3: a thread with no part of the
 * second layer). 1 to 5 threads and OpenBLAS at 2 threads (everything
 * then runs on the calling thread) give bit-identical parameters and
 * curves. */
static void threads_identical(lsp_splits *d, lsp_model *(*make)(void)) {
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.epochs = 3;
  o.batch = 256;
  o.smoothing.eps = 0.1;
  const int blas_before = lsp_threads_get_blas();
  lsp_model *ref = make();
  lsp_train_log lref = {0};
  lsp_threads_set_blas(1);
  lsp_threads_set(1);
  assert_int_equal(lsp_train(ref, d, &o, NULL, NULL, &lref), LSP_OK);
  /* With OpenBLAS threaded every GEMM runs on the calling thread, so the
   * model is the 1-thread one only where OpenBLAS's threaded sgemm keeps
   * its 1-thread bits; elsewhere it must still not depend on lsprobe's
   * thread count: the last run is then held to a model trained on 1
   * thread with OpenBLAS at 2. */
  lsp_model *ref2 = NULL;
  lsp_train_log lref2 = {0};
  if (!blas_threads_exact()) {
    print_message("OpenBLAS (%s) at 2 threads rounds otherwise than at 1: the last run is "
                  "compared with 1 thread and OpenBLAS at 2\n",
                  lsp_blas_core());
    ref2 = make();
    lsp_threads_set_blas(2);
    assert_int_equal(lsp_train(ref2, d, &o, NULL, NULL, &lref2), LSP_OK);
  }
  for (int run = 0; run < 5; run++) {
    int threads = run < 4 ? run + 2 : 2;
    lsp_threads_set(threads);
    lsp_threads_set_blas(run < 4 ? 1 : 2);
    lsp_model *m = make();
    lsp_train_log lg = {0};
    assert_int_equal(lsp_train(m, d, &o, NULL, NULL, &lg), LSP_OK);
    const lsp_model *want = run == 4 && ref2 ? ref2 : ref;
    const lsp_train_log *wlog = run == 4 && ref2 ? &lref2 : &lref;
    if (memcmp(m->params, want->params, m->nparams * sizeof(float)) != 0) {
      print_error("%d threads (OpenBLAS %d) trained another model than 1 thread\n",
                  threads, lsp_threads_get_blas());
      fail();
    }
    for (size_t e = 0; e < o.epochs; e++) {
      assert_memory_equal(&lg.val_loss[e], &wlog->val_loss[e], sizeof(double));
      assert_memory_equal(&lg.train_loss[e], &wlog->train_loss[e], sizeof(double));
    }
    lsp_train_log_free(&lg);
    lsp_model_free(m);
  }
  lsp_threads_set(0);
  lsp_threads_set_blas(blas_before);
  lsp_train_log_free(&lref);
  lsp_model_free(ref);
  lsp_train_log_free(&lref2);
  lsp_model_free(ref2);
}

static void test_train_threads_identical(void **state) {
  assert_int_equal(lsp_train_shares(256), 4);
  assert_int_equal(lsp_train_shares(1), 1);
  assert_int_equal(lsp_train_shares(65), 2);
  assert_int_equal(lsp_train_shares(1 << 20), LSP_TRAIN_MAX_SHARES);
  threads_identical(*state, shares_mlp);
  threads_identical(*state, wide_mlp);
}

/* Shares must add up to the batch, and the feature split's parts to the
 * layers: one full-batch SGD step (1000 > 300 rows: 5 shares of 60, or
 * every layer in parts on `threads` threads) against the same step
 * computed on all 300 rows by hand through the model core. */
static void step_matches_core(lsp_splits *d, lsp_model *(*make)(void), int threads) {
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.epochs = 1;
  o.batch = 1000;
  o.momentum = 0.0;
  lsp_splits nov = *d;
  memset(&nov.val, 0, sizeof nov.val);
  lsp_model *m = make(), *init = make();
  const int blas_before = lsp_threads_get_blas();
  lsp_threads_set_blas(1);
  lsp_threads_set(threads);
  assert_int_equal(lsp_train(m, &nov, &o, NULL, NULL, NULL), LSP_OK);
  lsp_threads_set(0);
  lsp_threads_set_blas(blas_before);
  assert_int_equal(lsp_model_init(init, o.seed), LSP_OK);
  /* the full batch's gradient in one pass (row order is irrelevant to it) */
  lsp_model_ws *ws = lsp_model_ws_alloc(init, 300);
  float *dz = malloc(300 * K * sizeof *dz);
  assert_true(ws && dz);
  const float *z;
  double l;
  assert_int_equal(lsp_model_forward(init, ws, d->train.x, 300, &z, NULL), LSP_OK);
  assert_int_equal(lsp_loss_xent(z, d->train.y, 300, K, &o.smoothing, dz, 1.0 / 300, NULL, &l),
                   LSP_OK);
  assert_int_equal(lsp_model_backward(init, ws, dz, LSP_BACK_PARAMS, NULL), LSP_OK);
  for (size_t i = 0; i < m->nparams; i++) {
    double step = (double)init->params[i] - m->params[i]; /* lr * g */
    /* the step is a difference of float32 parameters below 0.45 (the first
     * layer's init bound 1/sqrt(5)), each rounded to half an ulp: 1.5e-8 */
    td_close(step, o.lr * init->grads[i], 1e-4, 3e-8, "step of the shares", i);
  }
  free(dz);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  lsp_model_free(init);
}

static void test_train_shares_sum_to_batch(void **state) {
  step_matches_core(*state, shares_mlp, 2);
  step_matches_core(*state, small_mlp, 1);
  step_matches_core(*state, wide_mlp, 3);
}

/* The feature split runs an epoch's batches back to back in one pool run
 * (three input buffers and two first-layer output buffers in turn, steps
 * deferred to the next batch): 2 epochs of 5 batches (the last of 44 rows)
 * with momentum on 1 to 3 threads against the same network behind a
 * flatten node, which trains batch by batch through the model core (one
 * share of rows: whole-batch GEMMs). Equal up to the GEMMs' rounding
 * (bit for bit with OpenBLAS 0.3 here); a batch that read another batch's
 * rows or first-layer outputs, or a dropped deferred step, is off by 1e-2
 * (each planted, each failed). */
static lsp_model *wide_flat(void) {
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("flatten dense(384) relu dense(256) relu",
                                       (lsp_shape){DIM, 1, 1}, K, NULL, 0, &m),
                   LSP_OK);
  assert_false(lsp_feat_eligible(m));
  return m;
}

static void test_train_feat_batches(void **state) {
  lsp_splits nov = *(lsp_splits *)*state;
  memset(&nov.val, 0, sizeof nov.val);
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.epochs = 2;
  o.batch = 64;
  o.smoothing.eps = 0.1;
  const int blas_before = lsp_threads_get_blas();
  lsp_threads_set_blas(1);
  lsp_threads_set(1);
  lsp_model *ref = wide_flat();
  assert_int_equal(lsp_train(ref, &nov, &o, NULL, NULL, NULL), LSP_OK);
  for (int threads = 1; threads <= 3; threads++) {
    lsp_threads_set(threads);
    lsp_model *m = wide_mlp();
    assert_int_equal(m->nparams, ref->nparams);
    assert_int_equal(lsp_train(m, &nov, &o, NULL, NULL, NULL), LSP_OK);
    for (size_t i = 0; i < m->nparams; i++)
      td_close(m->params[i], ref->params[i], 1e-5, 1e-6, "feature split vs batch by batch", i);
    lsp_model_free(m);
  }
  lsp_threads_set(0);
  lsp_threads_set_blas(blas_before);
  lsp_model_free(ref);
}

/* A network with batch norm (BatchNorm1d between dense layers): its
 * statistics are the whole batch's although the batch is cut into shares.
 * One full-batch SGD step (5 shares of 60 rows) equals the step computed
 * in training mode on all 300 rows at once through the model core, and so
 * do the running statistics after it; 1, 2 and 3 threads train
 * bit-identical parameters and running statistics. */
static lsp_model *bn_net(void) {
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("dense(12) bn relu dense(8) bn relu", (lsp_shape){DIM, 1, 1},
                                       K, NULL, 0, &m),
                   LSP_OK);
  return m;
}

static void test_train_batchnorm_shares(void **state) {
  lsp_splits *d = *state;
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.epochs = 1;
  o.batch = 1000;
  o.momentum = 0.0;
  lsp_splits nov = *d;
  memset(&nov.val, 0, sizeof nov.val);
  lsp_model *m = bn_net(), *init = bn_net();
  const int blas_before = lsp_threads_get_blas();
  lsp_threads_set_blas(1);
  lsp_threads_set(2);
  assert_int_equal(lsp_train(m, &nov, &o, NULL, NULL, NULL), LSP_OK);
  assert_int_equal(lsp_model_init(init, o.seed), LSP_OK);
  lsp_model_ws *ws = lsp_model_ws_alloc(init, 300);
  float *dz = malloc(300 * K * sizeof *dz);
  assert_true(ws && dz);
  const float *z;
  assert_int_equal(lsp_model_forward_train(init, ws, d->train.x, 300, &z, NULL), LSP_OK);
  assert_int_equal(lsp_loss_xent(z, d->train.y, 300, K, &o.smoothing, dz, 1.0 / 300, NULL, NULL),
                   LSP_OK);
  assert_int_equal(lsp_model_backward(init, ws, dz, LSP_BACK_PARAMS, NULL), LSP_OK);
  for (size_t i = 0; i < m->nparams; i++) {
    double step = (double)init->params[i] - m->params[i]; /* lr * g */
    td_close(step, o.lr * init->grads[i], 1e-4, 1e-7, "step of the shares (batch norm)", i);
  }
  assert_int_equal(m->nstate, init->nstate);
  for (size_t i = 0; i < m->nstate; i++)
    td_close(m->state[i], init->state[i], 1e-5, 1e-7, "running statistics of the shares", i);
  free(dz);
  lsp_model_ws_free(ws);
  lsp_model_free(init);
  /* any thread count: the same model, statistics included */
  o.epochs = 2;
  o.batch = 256;
  o.momentum = 0.9;
  lsp_model *ref = bn_net();
  lsp_threads_set(1);
  assert_int_equal(lsp_train(ref, d, &o, NULL, NULL, NULL), LSP_OK);
  for (int threads = 2; threads <= 3; threads++) {
    lsp_threads_set(threads);
    lsp_model *t = bn_net();
    assert_int_equal(lsp_train(t, d, &o, NULL, NULL, NULL), LSP_OK);
    assert_memory_equal(t->params, ref->params, ref->nparams * sizeof(float));
    assert_memory_equal(t->state, ref->state, ref->nstate * sizeof(float));
    lsp_model_free(t);
  }
  lsp_threads_set(0);
  lsp_threads_set_blas(blas_before);
  lsp_model_free(ref);
  lsp_model_free(m);
}

/* Batch norm after a dense layer normalizes over the rows of the batch
 * alone: a batch of one example cannot train it. The batch size 1, and an
 * epoch whose last batch holds one example (300 = 299 + 1), are refused
 * before the first step (no progress reported), naming the layer; after a
 * convolution (5 pixels a channel) one example is enough. */
static void test_train_batchnorm_one_row(void **state) {
  lsp_splits *d = *state;
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.epochs = 1;
  lsp_model *m = bn_net();
  cb_count c = {0};
  o.batch = 299;
  assert_int_equal(lsp_train(m, d, &o, count_cb, &c, NULL), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "bn2 (batch norm on 12x1x1) needs two or more values"));
  assert_non_null(strstr(lsp_errmsg(), "last batch of every epoch holds 1 example (300 "
                                       "training examples, batch size 299)"));
  assert_int_equal(c.calls, 0);
  o.batch = 1;
  assert_int_equal(lsp_train(m, d, &o, count_cb, &c, NULL), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "the batch size is 1"));
  assert_int_equal(c.calls, 0);
  o.batch = 298; /* last batch: 2 examples */
  assert_int_equal(lsp_train(m, d, &o, NULL, NULL, NULL), LSP_OK);
  lsp_model_free(m);
  lsp_model *conv = NULL;
  assert_int_equal(lsp_model_from_spec("conv(2,1) bn relu", (lsp_shape){1, 1, DIM}, K, NULL, 0,
                                       &conv),
                   LSP_OK);
  o.batch = 299;
  assert_int_equal(lsp_train(conv, d, &o, NULL, NULL, NULL), LSP_OK);
  lsp_model_free(conv);
}

/* An interruption during training (what the command's SIGINT handler
 * requests): the loop stops at the next batch with LSP_EINTR. */
static void raise_on_second(const lsp_train_progress *p, void *user) {
  (void)user;
  if (p->batch == 2 && !p->end_of_epoch) lsp_interrupt_request();
}

/* On shares of rows, and on the feature split on 1 and 2 threads (a whole
 * epoch in one pool run: the threads stop together at the same batch);
 * there, too, the progress comes once a batch, in order. */
static void test_train_interrupt(void **state) {
  lsp_splits *d = *state;
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.batch = 16;
  const int blas_before = lsp_threads_get_blas();
  lsp_threads_set_blas(1);
  for (int run = 0; run < 3; run++) {
    lsp_threads_set(run ? run : 2);
    lsp_model *m = run ? wide_mlp() : shares_mlp();
    assert_int_equal(lsp_train(m, d, &o, raise_on_second, NULL, NULL), LSP_EINTR);
    assert_non_null(strstr(lsp_errmsg(), "interrupted (epoch 1, batch 3)"));
    lsp_interrupt_clear();
    assert_false(lsp_interrupted());
    cb_count cc = {0};
    o.epochs = 2;
    assert_int_equal(lsp_train(m, d, &o, count_cb, &cc, NULL), LSP_OK);
    assert_int_equal(cc.calls, 2 * 19 + 2); /* ceil(300 / 16) batches */
    assert_int_equal(cc.epoch_ends, 2);
    o.epochs = 15;
    lsp_model_free(m);
  }
  lsp_threads_set(0);
  lsp_threads_set_blas(blas_before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_train_learns_and_is_deterministic),
      cmocka_unit_test(test_train_variants),
      cmocka_unit_test(test_train_errors),
      cmocka_unit_test(test_train_threads_identical),
      cmocka_unit_test(test_train_batchnorm_shares),
      cmocka_unit_test(test_train_batchnorm_one_row),
      cmocka_unit_test(test_train_shares_sum_to_batch),
      cmocka_unit_test(test_train_feat_batches),
      cmocka_unit_test(test_train_interrupt),
  };
  return cmocka_run_group_tests(tests, setup_data, teardown_data);
}
