/* Training's thread paths on the hand-made mixture of train_fixture.h: the
 * model does not depend on the thread count (shares of rows, the feature
 * split, batch norm across shares), shares add up to the batch and the
 * feature split's parts to the layers, and the feature split's batches run
 * back to back as batch-by-batch training does. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>

#include "core/base/lsp_cpu.h"
#include "core/base/lsp_threads.h"
#include "core/loss/lsp_loss.h"
#include "train_fixture.h"

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

/* One full-batch SGD step (batch 1000 > the 300 training rows, no momentum,
 * no validation rows) of a new make() on `threads` threads and one BLAS
 * thread: *trained after the step, *init the same network as the training
 * initialized it, *o the options of the step. */
static void one_sgd_step(const lsp_splits *d, lsp_model *(*make)(void), int threads,
                         lsp_train_opts *o, lsp_model **trained, lsp_model **init) {
  lsp_train_opts_default(o);
  o->epochs = 1;
  o->batch = 1000;
  o->momentum = 0.0;
  lsp_splits nov = *d;
  memset(&nov.val, 0, sizeof nov.val);
  *trained = make();
  *init = make();
  const int blas_before = lsp_threads_get_blas();
  lsp_threads_set_blas(1);
  lsp_threads_set(threads);
  assert_int_equal(lsp_train(*trained, &nov, o, NULL, NULL, NULL), LSP_OK);
  lsp_threads_set(0);
  lsp_threads_set_blas(blas_before);
  assert_int_equal(lsp_model_init(*init, o->seed), LSP_OK);
}

/* Shares must add up to the batch, and the feature split's parts to the
 * layers: one full-batch SGD step (1000 > 300 rows: 5 shares of 60, or
 * every layer in parts on `threads` threads) against the same step
 * computed on all 300 rows by hand through the model core. */
static void step_matches_core(lsp_splits *d, lsp_model *(*make)(void), int threads) {
  lsp_train_opts o;
  lsp_model *m, *init;
  one_sgd_step(d, make, threads, &o, &m, &init);
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
static void test_train_batchnorm_shares(void **state) {
  lsp_splits *d = *state;
  lsp_train_opts o;
  lsp_model *m, *init;
  one_sgd_step(d, bn_net, 2, &o, &m, &init);
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
  const int blas_before = lsp_threads_get_blas();
  lsp_threads_set_blas(1);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_train_threads_identical),
      cmocka_unit_test(test_train_batchnorm_shares),
      cmocka_unit_test(test_train_shares_sum_to_batch),
      cmocka_unit_test(test_train_feat_batches),
  };
  return cmocka_run_group_tests(tests, setup_data, teardown_data);
}
