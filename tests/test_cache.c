/* The model cache of `lsprobe run`: a hit means the same model. The key
 * covers the architecture and every setting of the training record; lookup
 * compares the architecture and every setting with the file's own record,
 * so a file under the wrong key (a collision, a renamed or copied file, a
 * file from an older lsprobe) is refused, naming what differs. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/data/lsp_data.h"
#include "core/nn/lsp_model.h"
#include "core/train/lsp_train.h"
#include "reports/lsp_cache.h"
#include "testutil.h"

typedef struct {
  lsp_splits data, other_split;
  lsp_train_opts o;
  char path[512];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  lsp_data_opts d;
  lsp_data_opts_default(&d);
  d.spec = "synthetic:train=600,test=200,dim=8,classes=3";
  if (lsp_data_load(&d, &f->data)) return -1;
  d.n_val = 100; /* the same data split another way */
  if (lsp_data_load(&d, &f->other_split)) return -1;
  lsp_train_opts_default(&f->o);
  f->o.epochs = 2;
  f->o.batch = 64;
  f->o.lr = 0.1;
  f->o.smoothing.eps = 0.1;
  snprintf(f->path, sizeof f->path, "%s", td_tmp("cached.lspm"));
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  lsp_splits_free(&f->data);
  lsp_splits_free(&f->other_split);
  unlink(f->path);
  free(f);
  return 0;
}

static lsp_model *mlp(size_t h) {
  lsp_model *m = lsp_model_alloc_mlp(8, &h, 1, 3);
  assert_non_null(m);
  return m;
}

/* The canonical architecture string of the MLP in-h-out (static buffer):
 * what the cache keys and compares. */
static const char *arch_of(size_t in, size_t h, size_t out) {
  static char buf[4][512];
  static int k;
  lsp_model *m = lsp_model_alloc_mlp(in, &h, 1, out);
  assert_non_null(m);
  char *b = buf[k++ % 4];
  assert_true(lsp_model_arch_string(m, b, sizeof buf[0]) < sizeof buf[0]);
  lsp_model_free(m);
  return b;
}
#define A8_16_3 arch_of(8, 16, 3)

/* Look `want` up at the fixture's path: NULL (and `why` containing
 * `needle`) or the cached model. */
static void expect_miss(fixture *f, const char *arch, const lsp_model_meta *want,
                        const char *needle) {
  lsp_model *m = NULL;
  const char *why = NULL;
  assert_int_equal(lsp_cache_lookup(f->path, arch, want, &m, &why), LSP_OK);
  if (m || !strstr(why, needle)) {
    print_error("lookup: %s (%s), expected a miss for '%s'\n", m ? "hit" : "miss", why,
                needle);
    fail();
  }
}

static void test_hit_means_same_model(void **state) {
  fixture *f = *state;
  lsp_model *m = mlp(16);
  assert_int_equal(lsp_train(m, &f->data, &f->o, NULL, NULL, NULL), LSP_OK);
  assert_int_equal(lsp_model_save(m, f->path), LSP_OK);
  lsp_model_meta want;
  lsp_train_record(&f->o, &f->data, &want);

  /* the same settings: a hit, the very parameters */
  lsp_model *c = NULL;
  const char *why = NULL;
  assert_int_equal(lsp_cache_lookup(f->path, A8_16_3, &want, &c, &why), LSP_OK);
  assert_non_null(c);
  assert_string_equal(why, "cached");
  assert_memory_equal(c->params, m->params, m->nparams * sizeof(float));
  lsp_model_free(c);
  uint64_t key = lsp_cache_key(A8_16_3, &want);

  /* every setting is compared and keyed; the file's own record decides */
  lsp_train_opts o2 = f->o;
  o2.lr = 0.3; /* lr 0.3 must not reuse the lr 0.1 model */
  lsp_train_record(&o2, &f->data, &want);
  expect_miss(f, A8_16_3, &want, "recorded with other settings (cached vs this run): lr (0.1 vs 0.3)");
  assert_true(lsp_cache_key(A8_16_3, &want) != key);
  /* every differing setting is named, in the shortest exact decimals */
  o2 = f->o;
  o2.smoothing.eps = 0.0;
  o2.epochs = 5;
  lsp_train_record(&o2, &f->data, &want);
  {
    lsp_model *c2 = NULL;
    const char *why2 = NULL;
    assert_int_equal(lsp_cache_lookup(f->path, A8_16_3, &want, &c2, &why2), LSP_OK);
    assert_null(c2);
    assert_string_equal(why2, "recorded with other settings (cached vs this run): "
                              "smoothing (0.1 vs 0), epochs (2 vs 5)");
  }
  o2 = f->o;
  o2.momentum = 0.5;
  lsp_train_record(&o2, &f->data, &want);
  expect_miss(f, A8_16_3, &want, "momentum");
  assert_true(lsp_cache_key(A8_16_3, &want) != key);
  o2 = f->o;
  o2.weight_decay = 1e-4;
  lsp_train_record(&o2, &f->data, &want);
  expect_miss(f, A8_16_3, &want, "weight_decay");
  o2 = f->o;
  o2.batch = 32;
  lsp_train_record(&o2, &f->data, &want);
  expect_miss(f, A8_16_3, &want, "batch");
  o2 = f->o;
  o2.adam = 1;
  lsp_train_record(&o2, &f->data, &want);
  expect_miss(f, A8_16_3, &want, "optimizer (sgd vs adam)");
  o2 = f->o;
  o2.cosine = 1;
  lsp_train_record(&o2, &f->data, &want);
  expect_miss(f, A8_16_3, &want, "schedule");
  o2 = f->o;
  o2.smoothing.normalize = 1;
  lsp_train_record(&o2, &f->data, &want);
  expect_miss(f, A8_16_3, &want, "normalize");
  o2 = f->o;
  o2.smoothing.convention = LSP_LS_T2T;
  lsp_train_record(&o2, &f->data, &want);
  expect_miss(f, A8_16_3, &want, "convention");
  o2 = f->o;
  o2.seed = 2;
  lsp_train_record(&o2, &f->data, &want);
  expect_miss(f, A8_16_3, &want, "seed");
  /* the same data split another way: the split is part of the model */
  lsp_train_record(&f->o, &f->other_split, &want);
  expect_miss(f, A8_16_3, &want, "data_hash");
  assert_true(lsp_cache_key(A8_16_3, &want) != key);
  /* a newer training code */
  lsp_train_record(&f->o, &f->data, &want);
  want.code_version++;
  expect_miss(f, A8_16_3, &want, "code_version");
  /* hidden widths (same inputs and outputs): the architecture */
  lsp_train_record(&f->o, &f->data, &want);
  expect_miss(f, arch_of(8, 17, 3), &want, "a different network (8-16-3)");
  assert_true(lsp_cache_key(arch_of(8, 17, 3), &want) != key);
  /* the description does not key: a renamed data folder is the same data */
  snprintf(want.data, sizeof want.data, "elsewhere");
  want.val_accuracy = 0.5;
  assert_true(lsp_cache_key(A8_16_3, &want) == key);
  lsp_model_free(m);
}

static void test_unusable_files(void **state) {
  fixture *f = *state;
  lsp_model_meta want;
  lsp_train_record(&f->o, &f->data, &want);
  unlink(f->path);
  expect_miss(f, A8_16_3, &want, "absent");
  /* a format-1 file from an older lsprobe: no code version, never a hit */
  char *b;
  size_t n;
  assert_int_equal(lsp_read_file(td_path("lspm_v1/mlp_3_4_2.lspm"), &b, &n), LSP_OK);
  assert_int_equal(lsp_write_file_atomic(f->path, b, n), LSP_OK);
  expect_miss(f, arch_of(3, 4, 2), &want, "code_version (0 vs");
  /* corrupted */
  b[n / 2] ^= 0x20;
  assert_int_equal(lsp_write_file_atomic(f->path, b, n), LSP_OK);
  expect_miss(f, arch_of(3, 4, 2), &want, "unusable");
  expect_miss(f, arch_of(3, 4, 2), &want, "checksum");
  free(b);
  /* an untrained (imported) model is never a cached training */
  lsp_model *m = mlp(16);
  assert_int_equal(lsp_model_save(m, f->path), LSP_OK);
  expect_miss(f, A8_16_3, &want, "trained (no vs yes)");
  lsp_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hit_means_same_model),
      cmocka_unit_test(test_unusable_files),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
