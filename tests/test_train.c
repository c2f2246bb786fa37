/* Training: determinism, learning on a hand-made Gaussian mixture, the
 * record, the model/data fit checks, bad settings, batch norm on one row and
 * interruption (the thread paths: test_train_threads.c; the optimizer
 * steps: test_optim.c). */
#define _POSIX_C_SOURCE 200809L
#include "train_fixture.h"

#include "core/base/lsp_io.h"
#include "core/base/lsp_threads.h"

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
  /* GSL's mt19937 takes seed 0 as 4357: the same initial weights (README,
   * DESIGN §7.2) */
  assert_int_equal(lsp_model_init(b, 0), LSP_OK);
  assert_int_equal(lsp_model_init(c, 4357), LSP_OK);
  assert_memory_equal(b->params, c->params, b->nparams * sizeof(float));
  assert_int_equal(lsp_model_init(c, 1), LSP_OK);
  assert_memory_not_equal(b->params, c->params, b->nparams * sizeof(float));
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
  /* samples/s leaves the validations' time out, the seconds keep it: the
   * two give more than the 6 × 300 examples trained */
  assert_true(la.samples_per_s * la.seconds > 6.0 * 300.0 * (1.0 + 1e-9));
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
  /* a run away that stays finite: 1e10 in those rows gives the first
   * (only) batch a mean loss of millions; 1e4 a training loss in the tens,
   * but the step leaves validation logits in the millions */
  for (int r = 17; r < 20; r++) bx[r * DIM + 3] = 1e10f;
  expect_fail(huge, &big, &b, LSP_EDATA,
              "epoch 1 (training diverged? lower --lr): the mean training loss ");
  assert_non_null(strstr(lsp_errmsg(), " is more than 1000 times the 1.09861 of the uniform "
                                       "prediction"));
  for (int r = 17; r < 20; r++) bx[r * DIM + 3] = 1e4f;
  expect_fail(huge, &big, &b, LSP_EDATA,
              "epoch 1 (training diverged? lower --lr): the validation loss ");
  assert_non_null(strstr(lsp_errmsg(), " is more than 1000 times the 1.09861 of the uniform "
                                       "prediction"));
  /* the same data at lr 0.1 trains: no false alarm from a few huge rows */
  b.lr = 0.1;
  assert_int_equal(lsp_train(huge, &big, &b, NULL, NULL, NULL), LSP_OK);
  lsp_model_free(huge);
  free(bx);
  lsp_splits empty = *d;
  empty.train.n = 0;
  expect_fail(m, &empty, &o, LSP_EDATA, "no training examples");
  lsp_model_free(wide), lsp_model_free(many), lsp_model_free(m);
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

/* An interruption requested in an epoch's last batch is seen during the
 * validation that follows, and one requested after the validation (in the
 * end-of-epoch callback, or without a validation split) at the epoch's
 * end: neither the last epoch's model is returned as trained nor does a
 * run go on into the next epoch. */
typedef struct {
  size_t epoch; /* the epoch whose end asks for the stop */
  int at_end;   /* 0: in its last batch, 1: in its end-of-epoch call */
} stop_at;

static void raise_at(const lsp_train_progress *p, void *user) {
  const stop_at *s = user;
  if (p->epoch == s->epoch && p->batch == p->batches && p->end_of_epoch == s->at_end)
    lsp_interrupt_request();
}

static void test_train_interrupt_validation(void **state) {
  lsp_splits *d = *state, nov = *d;
  memset(&nov.val, 0, sizeof nov.val);
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.batch = 16;
  o.epochs = 3;
  const struct {
    const lsp_splits *d;
    stop_at s;
    const char *msg;
  } c[] = {
      {d, {3, 0}, "training interrupted (epoch 3, validation)"},
      {d, {1, 0}, "training interrupted (epoch 1, validation)"},
      {d, {3, 1}, "training interrupted (epoch 3, at its end)"},
      {d, {2, 1}, "training interrupted (epoch 2, at its end)"},
      {&nov, {3, 0}, "training interrupted (epoch 3, at its end)"},
  };
  for (int run = 0; run < 2; run++)
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
      lsp_model *m = run ? shares_mlp() : mlp(DIM, 16, K);
      lsp_train_log lg = {0};
      assert_int_equal(lsp_train(m, c[i].d, &o, raise_at, (void *)&c[i].s, &lg), LSP_EINTR);
      if (!strstr(lsp_errmsg(), c[i].msg))
        fail_msg("case %zu: message '%s' lacks '%s'", i, lsp_errmsg(), c[i].msg);
      assert_null(lg.train_loss); /* no log of an interrupted run */
      lsp_interrupt_clear();
      lsp_model_free(m);
    }
}

/* The validation's two losses: val_loss the smoothed criterion, val_nll
 * the plain NLL of the same logits (what eval reports), equal at ε = 0. */
static void last_val(const lsp_train_progress *p, void *user) {
  if (p->end_of_epoch) memcpy(user, (double[2]){p->val_loss, p->val_nll}, 2 * sizeof(double));
}

static void test_train_val_nll(void **state) {
  lsp_splits *d = *state;
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.epochs = 2;
  o.batch = 32;
  for (int eps0 = 0; eps0 < 2; eps0++) {
    o.smoothing.eps = eps0 ? 0.0 : 0.3;
    lsp_model *m = shares_mlp();
    double v[2];
    lsp_train_log lg = {0};
    assert_int_equal(lsp_train(m, d, &o, last_val, v, &lg), LSP_OK);
    assert_true(v[0] == lg.val_loss[1] && v[1] == lg.val_nll[1]); /* the log keeps both */
    float *z = malloc(d->val.n * K * sizeof *z);
    assert_non_null(z);
    assert_int_equal(lsp_model_predict(m, d->val.x, d->val.n, 0, z, NULL), LSP_OK);
    double nll, smoothed;
    assert_int_equal(lsp_loss_xent(z, d->val.y, d->val.n, K, &(lsp_ls){0.0, LSP_LS_UNIFORM, 0},
                                   NULL, 1.0, NULL, &nll),
                     LSP_OK);
    assert_int_equal(lsp_loss_xent(z, d->val.y, d->val.n, K, &o.smoothing, NULL, 1.0, NULL,
                                   &smoothed),
                     LSP_OK);
    assert_true(fabs(v[1] - nll) < 1e-6 * nll);
    assert_true(fabs(v[0] - smoothed) < 1e-6 * smoothed);
    if (eps0)
      assert_true(v[0] == v[1]);
    else
      assert_true(v[0] > v[1] + 0.05); /* ε = 0.3 on 3 classes: well apart */
    free(z);
    lsp_train_log_free(&lg);
    lsp_model_free(m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_train_learns_and_is_deterministic),
      cmocka_unit_test(test_train_variants),
      cmocka_unit_test(test_train_errors),
      cmocka_unit_test(test_train_batchnorm_one_row),
      cmocka_unit_test(test_train_interrupt),
      cmocka_unit_test(test_train_interrupt_validation),
      cmocka_unit_test(test_train_val_nll),
  };
  return cmocka_run_group_tests(tests, setup_data, teardown_data);
}
