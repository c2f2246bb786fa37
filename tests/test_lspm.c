/* .lspm model files: the format-3 round trip (an MLP with the exact layout
 * length of DESIGN §3, a CNN with batch-norm state and normalization
 * constants, byte-identical resaves), every way a file can be wrong
 * (checksum, truncation, trailing bytes, version, and content defects behind
 * a valid CRC), and the MLP formats 1 and 2: files written from the
 * documented layouts by Python (gen_lspm_v1.py, gen_lspm_v2.py) and by
 * lsprobe 158ed33 (still computing PyTorch's logits). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/lsp_import.h"
#include "core/nn/lsp_model.h"
#include "testutil.h"

#define TINY "torch_mlp_tiny"

/* ---- .lspm -----------------------------------------------------------------
 */

static lsp_model *small_model(void) {
  size_t hidden[2] = {7, 5};
  lsp_model *m = lsp_model_alloc_mlp(6, hidden, 2, 4);
  assert_non_null(m);
  assert_int_equal(lsp_model_init(m, 2385), LSP_OK);
  lsp_model_meta *t = &m->meta;
  t->trained = 1;
  t->code_version = 2;
  t->shares = 3;
  t->split_seed = 4242424242UL;
  t->n_train = 55000;
  t->n_val = 5000;
  t->val_hash = 0xfedcba9876543210ull;
  snprintf(t->cpu_path, sizeof t->cpu_path, "x86-64-v3");
  snprintf(t->blas_core, sizeof t->blas_core, "Haswell");
  t->smoothing = (lsp_ls){0.123456789, LSP_LS_T2T, 1};
  t->seed = 4294967291UL;
  t->epochs = 17;
  t->batch = 96;
  t->lr = 0.0371;
  t->momentum = 0.87;
  t->weight_decay = 5.25e-4;
  t->cosine = 1;
  t->adam = 0;
  snprintf(t->data, sizeof t->data, "synthetic-ü");
  t->data_hash = 0x0123456789abcdefull;
  t->val_accuracy = 0.8765432109876;
  return m;
}

/* Length of a small MLP's format-3 file, from the layout in DESIGN §3:
 * header, input shape, arch, per node kind/name/inputs/attributes/tensors,
 * features, the record (its length and bytes), the CRC. */
static size_t v3_length(const lsp_model *m) {
  size_t len = 4 + 4 + 8 + 24 + 4 + strlen(m->arch) + 4;
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    int dense = nd->op == LSP_OP_DENSE;
    len += 4 + strlen(dense ? "dense" : "relu") + 4 + strlen(nd->name);
    len += 4 + 4; /* one input */
    len +=
        4 + (dense ? (4 + 5 + 1 + 8) + (4 + 4 + 1 + 8) : 0); /* units, bias */
    len += 4;
    if (dense)
      len += (4 + 6 + 4 + 16) + (4 + 4 + 4 + 8) +
             4 * (nd->a.units * nd->ishape.c + nd->a.units);
  }
  len += 4; /* features */
  unsigned char *rec;
  size_t rec_len;
  assert_int_equal(lsp_model_record_encode(&m->meta, 0, &rec, &rec_len),
                   LSP_OK);
  free(rec);
  return len + 4 + rec_len + 4;
}

static void test_lspm_roundtrip(void **state) {
  (void)state;
  lsp_model *m = small_model();
  char path[512];
  snprintf(path, sizeof path, "%s", td_tmp("rt.lspm"));
  assert_int_equal(lsp_model_save(m, path), LSP_OK);
  lsp_model *g = NULL;
  assert_int_equal(lsp_model_load(path, &g), LSP_OK);
  assert_int_equal(g->nnodes, m->nnodes);
  for (size_t l = 0; l < m->nnodes; l++) {
    assert_int_equal(g->nodes[l].op, m->nodes[l].op);
    assert_string_equal(g->nodes[l].name, m->nodes[l].name);
    assert_int_equal(g->nodes[l].in[0], m->nodes[l].in[0]);
    assert_int_equal(g->nodes[l].shape.c, m->nodes[l].shape.c);
  }
  assert_int_equal(g->features, m->features);
  assert_int_equal(g->nparams, m->nparams);
  assert_memory_equal(g->params, m->params, m->nparams * sizeof(float));
  const lsp_model_meta *a = &g->meta, *b = &m->meta;
  assert_int_equal(a->trained, 1);
  assert_true(a->smoothing.eps == b->smoothing.eps);
  assert_int_equal(a->smoothing.convention, LSP_LS_T2T);
  assert_int_equal(a->smoothing.normalize, 1);
  assert_int_equal(a->seed, b->seed);
  assert_int_equal(a->epochs, 17);
  assert_int_equal(a->batch, 96);
  assert_true(a->lr == b->lr && a->momentum == b->momentum &&
              a->weight_decay == b->weight_decay);
  assert_int_equal(a->cosine, 1);
  assert_int_equal(a->adam, 0);
  assert_string_equal(a->data, b->data);
  assert_true(a->data_hash == b->data_hash);
  assert_true(a->val_accuracy == b->val_accuracy);
  assert_int_equal(a->code_version, 2);
  assert_int_equal(a->shares, 3);
  assert_int_equal(a->split_seed, 4242424242UL);
  assert_true(a->n_train == 55000 && a->n_val == 5000);
  assert_true(a->val_hash == 0xfedcba9876543210ull);
  assert_string_equal(a->cpu_path, "x86-64-v3");
  assert_string_equal(a->blas_core, "Haswell");
  assert_int_equal(a->unknown_fields, 0);
  char diff[256];
  assert_null(lsp_model_record_diff(a, b, diff, sizeof diff));
  /* the file length is exactly what the format says */
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal((size_t)sb.st_size, v3_length(m));
  /* features chosen at an earlier layer (lsp_model_set_features) are kept;
   * the classifier itself and nodes that do not exist are refused */
  lsp_model_free(g);
  assert_int_equal(lsp_model_set_features(m, 0), LSP_OK);
  assert_int_equal(lsp_model_feature_dim(m), m->nodes[0].a.units);
  assert_int_equal(lsp_model_set_features(m, (int)m->nnodes - 1), LSP_EINVAL);
  assert_int_equal(lsp_model_set_features(m, -2), LSP_EINVAL);
  assert_int_equal(lsp_model_save(m, path), LSP_OK);
  assert_int_equal(lsp_model_load(path, &g), LSP_OK);
  assert_int_equal(g->features, 0);
  unlink(path);
  lsp_model_free(g);
  lsp_model_free(m);
}

/* A CNN with every kind of state (batch norm statistics, normalization
 * constants, a residual block) survives the round trip: same canonical
 * architecture, tensors, and logits. */
static void test_lspm_roundtrip_cnn(void **state) {
  (void)state;
  const float norm[2] = {0.25f, 0.5f};
  lsp_model *m = NULL;
  assert_int_equal(
      lsp_model_from_spec("resnet8", (lsp_shape){1, 12, 10}, 5, norm, 2, &m),
      0);
  assert_int_equal(lsp_model_init(m, 7), 0);
  for (size_t i = 0; i < m->nstate; i++) /* running statistics as if trained */
    if (i >= 2) m->state[i] += 0.01f * (float)(i % 7);
  char path[512];
  snprintf(path, sizeof path, "%s", td_tmp("cnn.lspm"));
  assert_int_equal(lsp_model_save(m, path), LSP_OK);
  lsp_model *g = NULL;
  assert_int_equal(lsp_model_load(path, &g), LSP_OK);
  char sa[4096], sg[4096];
  assert_true(lsp_model_arch_string(m, sa, sizeof sa) < sizeof sa);
  lsp_model_arch_string(g, sg, sizeof sg);
  assert_string_equal(sa, sg);
  assert_string_equal(g->arch, "resnet8");
  assert_int_equal(g->nparams, m->nparams);
  assert_int_equal(g->nstate, m->nstate);
  assert_memory_equal(g->params, m->params, m->nparams * sizeof(float));
  assert_memory_equal(g->state, m->state, m->nstate * sizeof(float));
  float x[3 * 120];
  for (size_t i = 0; i < 3 * 120; i++) x[i] = (float)((i * 37) % 101) / 100.0f;
  lsp_model_ws *wm = lsp_model_ws_alloc(m, 3), *wg = lsp_model_ws_alloc(g, 3);
  const float *zm, *zg;
  assert_int_equal(lsp_model_forward(m, wm, x, 3, &zm, NULL), 0);
  assert_int_equal(lsp_model_forward(g, wg, x, 3, &zg, NULL), 0);
  assert_memory_equal(zm, zg, 3 * 5 * sizeof(float));
  /* two saves of the same model are the same bytes */
  char path2[512], *b1, *b2;
  size_t l1, l2;
  snprintf(path2, sizeof path2, "%s", td_tmp("cnn2.lspm"));
  assert_int_equal(lsp_model_save(g, path2), LSP_OK);
  assert_int_equal(lsp_read_file(path, &b1, &l1), 0);
  assert_int_equal(lsp_read_file(path2, &b2, &l2), 0);
  assert_int_equal(l1, l2);
  assert_memory_equal(b1, b2, l1);
  free(b1), free(b2);
  unlink(path), unlink(path2);
  lsp_model_ws_free(wm), lsp_model_ws_free(wg);
  lsp_model_free(g);
  lsp_model_free(m);
}

/* Offset of the first occurrence of needle (n bytes) in buf at or after
 * `from`; fails the test when absent. */
static size_t find(const char *buf, size_t len, const void *needle, size_t n,
                   size_t from) {
  for (size_t i = from; i + n <= len; i++)
    if (memcmp(buf + i, needle, n) == 0) return i;
  fail_msg("pattern not found");
  return 0;
}

/* A length-prefixed string as the format writes it. */
static size_t find_str(const char *buf, size_t len, const char *s,
                       size_t from) {
  unsigned char pat[64];
  size_t n = strlen(s);
  pat[0] = (unsigned char)n, pat[1] = pat[2] = pat[3] = 0;
  memcpy(pat + 4, s, n);
  return find(buf, len, pat, n + 4, from) + 4;
}

/* Write c with a fresh CRC (a content defect the checksum cannot catch)
 * and expect the loader to name it. */
static void expect_content_error(const char *bad, char *c, size_t len,
                                 const char *needle) {
  uLong crc = crc32(0L, (const Bytef *)c, (uInt)(len - 4));
  for (int i = 0; i < 4; i++) c[len - 4 + i] = (char)(crc >> (8 * i));
  td_write_raw(bad, c, len);
  td_expect_load_error(bad, needle);
}

static void test_lspm_corrupt(void **state) {
  (void)state;
  lsp_model *m = small_model();
  char good[512], bad[512];
  snprintf(good, sizeof good, "%s", td_tmp("good.lspm"));
  snprintf(bad, sizeof bad, "%s", td_tmp("bad.lspm"));
  assert_int_equal(lsp_model_save(m, good), LSP_OK);
  char *buf;
  size_t len;
  assert_int_equal(lsp_read_file(good, &buf, &len), LSP_OK);
  char *c = malloc(len + 8);
  memcpy(c, buf, len);
#define RESET() memcpy(c, buf, len)

  c[len / 2] ^= 0x10; /* a parameter byte */
  td_write_raw(bad, c, len);
  td_expect_load_error(bad, "checksum");
  RESET();
  c[len - 30] ^= 0x01; /* inside the training record */
  td_write_raw(bad, c, len);
  td_expect_load_error(bad, "checksum");
  RESET();

  td_write_raw(bad, c, len - 1);
  td_expect_load_error(bad, "truncated");
  td_write_raw(bad, c, 10);
  td_expect_load_error(bad, "truncated");
  td_write_raw(bad, c, 0);
  td_expect_load_error(bad, "empty file");

  memcpy(c + len, "junk", 4);
  td_write_raw(bad, c, len + 4);
  td_expect_load_error(bad, "4 unexpected bytes");

  c[0] = 'X';
  td_write_raw(bad, c, len);
  td_expect_load_error(bad, "magic");
  c[0] = 'L';
  c[4] = 4; /* version 4 */
  td_write_raw(bad, c, len);
  td_expect_load_error(bad, "version 4");
  RESET();

  /* content defects behind a valid checksum */
  memcpy(c + find_str(c, len, "relu", 0), "relx", 4);
  expect_content_error(bad, c, len, "unknown kind 'relx'");
  RESET();
  memcpy(c + find_str(c, len, "units", 0), "unitz", 5);
  expect_content_error(bad, c, len, "unknown attribute 'unitz'");
  RESET();
  c[find_str(c, len, "units", 0) + 5 + 1] = 9; /* dense1: 7 -> 9 units */
  expect_content_error(bad, c, len,
                       "node 'dense1' (dense): tensor 1 is 'weight' [7, 6]; "
                       "expected 'weight' [9, 6]");
  RESET();
  c[find_str(c, len, "bias", 0) + 4 + 1] = 2; /* bias flag 2 */
  expect_content_error(bad, c, len, "out of range");
  RESET();
  memcpy(c + find_str(c, len, "weight", 0), "weighs", 6);
  expect_content_error(bad, c, len, "'weighs'");
  RESET();
  {
    size_t w =
        find_str(c, len, "weight", 0) + 6 + 4 + 16; /* first weight value */
    const unsigned char nan[4] = {0, 0, 0xc0, 0x7f};
    memcpy(c + w, nan, 4);
    expect_content_error(bad, c, len, "not finite");
  }
  RESET();
  {
    size_t r =
        find_str(c, len, "relu1", 0) + 5; /* relu1's input count, then input */
    c[r + 4] = 3;                         /* a later node */
    expect_content_error(bad, c, len, "not an earlier node");
  }
  RESET();
  /* record fields: u8 type, u8 name length, name, value */
  memcpy(c +
             find(c, len,
                  "\x06"
                  "epochs",
                  7, 0) +
             1,
         "epochz", 6);
  expect_content_error(bad, c, len, "lacks the setting epochs");
  RESET();
  memcpy(c +
             find(c, len,
                  "\x09"
                  "optimizer",
                  10, 0) +
             10 + 4,
         "sgx", 3);
  expect_content_error(bad, c, len, "optimizer is invalid");
  RESET();
  {
    /* before the first field ("code_version"): its type byte, the field
     * count, the record length, the features node */
    size_t r = find(c, len,
                    "\x0c"
                    "code_version",
                    13, 0) -
               1 - 4 - 4 - 4;
    c[r] = 99; /* features: no such node (an earlier node is allowed) */
    expect_content_error(bad, c, len, "features node 99");
  }
  RESET();
  {
    size_t r = find(c, len,
                    "\x0c"
                    "code_version",
                    13, 0) -
               1 - 4 - 4; /* record length */
    memset(c + r, 0xff, 3);
    expect_content_error(bad, c, len, "absurd training record size");
  }
  RESET();
  {
    size_t r = find_str(c, len, "dense", 0) - 4 - 4; /* the node count */
    memset(c + r, 0xff, 3);
    expect_content_error(bad, c, len, "absurd node count");
  }
  RESET();

  td_expect_load_error(td_tmp("does_not_exist.lspm"), "No such file");
  free(c);
  free(buf);
  unlink(good);
  unlink(bad);
  lsp_model_free(m);
#undef RESET
}

/* ---- format 1 ---------------------------------------------------------------
 */

#define V1 "model_v1/"

/* The PyTorch MLP saved by lsprobe 158ed33 in format 1 still computes
 * PyTorch's logits. */
/* A grouped convolution's groups attribute changed behind a valid checksum:
 * each defect is named, none loads. */
static void test_lspm_groups_corrupt(void **state) {
  (void)state;
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("conv(4,3,g=2)", (lsp_shape){4, 5, 5}, 3,
                                       NULL, 0, &m),
                   LSP_OK);
  assert_int_equal(lsp_model_init(m, 7), LSP_OK);
  char good[512], bad[512];
  snprintf(good, sizeof good, "%s", td_tmp("grouped.lspm"));
  snprintf(bad, sizeof bad, "%s", td_tmp("grouped_bad.lspm"));
  assert_int_equal(lsp_model_save(m, good), LSP_OK);
  lsp_model_free(m);
  char *buf;
  size_t len;
  assert_int_equal(lsp_read_file(good, &buf, &len), LSP_OK);
  char *c = malloc(len);
  /* the u64 value after the name and the type byte */
  const size_t at = find_str(buf, len, "groups", 0) + 6 + 1;
  assert_int_equal(buf[at], 2);
  static const struct {
    uint64_t groups;
    const char *needle;
  } cases[] = {
      /* 4 divides both channel counts: the weight is 4 x 2 x 3 x 3 */
      {4,
       "node 'conv1' (conv): tensor 1 is 'weight' [4, 2, 3, 3]; expected "
       "'weight' [4, 1, 3, 3]"},
      {3, "3 groups divide neither the 4 input nor the 4 output channels"},
      {0, "0 groups (at least 1)"},
      {(uint64_t)1 << 32 | 2,
       "attribute 'groups' = 4294967298 is out of "
       "range (at most 2^30)"},
      {UINT64_MAX,
       "attribute 'groups' = 18446744073709551615 is out of "
       "range"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    memcpy(c, buf, len);
    for (int i = 0; i < 8; i++)
      c[at + (size_t)i] = (char)(cases[k].groups >> (8 * i));
    expect_content_error(bad, c, len, cases[k].needle);
  }
  memcpy(c, buf, len);
  c[at - 1] = 2; /* the type byte: f64 */
  expect_content_error(bad, c, len,
                       "attribute 'groups' has type 2; expected 1 (u64)");
  free(c);
  free(buf);
}

static void test_v1_loads(void **state) {
  (void)state;
  lsp_model *m = NULL;
  int st = lsp_model_load(td_path(V1 "torch_mlp_tiny.lspm"), &m);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  char desc[64];
  lsp_model_describe(m, desc, sizeof desc);
  assert_string_equal(desc, "8-16-16-3");
  lsp_array xa;
  int32_t *y;
  size_t n;
  td_load_xy(TINY "/x.npy", TINY "/labels.npy", 3, &xa, &y, &n);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, n);
  const float *z, *f;
  assert_int_equal(lsp_model_forward(m, ws, xa.data, n, &z, &f), LSP_OK);
  td_close_array(z, TINY "/logits.npy", n * 3, 1e-5, 0);
  td_close_array(f, TINY "/features.npy", n * 16, 1e-5, 0);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  free(y);
  lsp_array_release(&xa);

  /* the training record of a model trained with (gen_v1.sh)
   * --smoothing 0.1 --convention t2t --hidden 12,8 --epochs 3 --batch 32
   * --lr 0.05 --momentum 0.8 --seed 7 on synthetic:...dim=16,classes=4 */
  assert_int_equal(lsp_model_load(td_path(V1 "synthetic_t2t.lspm"), &m),
                   LSP_OK);
  lsp_model_describe(m, desc, sizeof desc);
  assert_string_equal(desc, "16-12-8-4");
  const lsp_model_meta *mt = &m->meta;
  assert_int_equal(mt->trained, 1);
  assert_true(mt->smoothing.eps == 0.1);
  assert_int_equal(mt->smoothing.convention, LSP_LS_T2T);
  assert_int_equal(mt->epochs, 3);
  assert_int_equal(mt->batch, 32);
  assert_true(mt->lr == 0.05 && mt->momentum == 0.8);
  assert_int_equal(mt->seed, 7);
  assert_string_equal(mt->data, "synthetic");
  /* saved again, it is format 3 and the same model */
  char path[512];
  snprintf(path, sizeof path, "%s", td_tmp("v1to2.lspm"));
  assert_int_equal(lsp_model_save(m, path), 0);
  lsp_model *g = NULL;
  int st2 = lsp_model_load(path, &g);
  if (st2) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st2, 0);
  assert_memory_equal(g->params, m->params, m->nparams * sizeof(float));
  assert_true(g->meta.lr == 0.05 && g->meta.data_hash == mt->data_hash);
  char *b;
  size_t len;
  assert_int_equal(lsp_read_file(path, &b, &len), 0);
  assert_int_equal(b[4], 3);
  free(b);
  unlink(path);
  lsp_model_free(g);
  lsp_model_free(m);
}

/* Formats 1 and 2 written from their documented layouts by Python
 * (tests/data/gen_lspm_v1.py, gen_lspm_v2.py), not by lsprobe: the layer
 * list becomes the MLP graph, the parameters and the record come through. */
static void test_v1_v2_from_python(void **state) {
  (void)state;
  const char *files[2] = {"lspm_v1/mlp_3_4_2.lspm", "lspm_v2/mlp_3_4_2.lspm"};
  for (int v = 0; v < 2; v++) {
    lsp_model *m = NULL;
    int st = lsp_model_load(td_path(files[v]), &m);
    if (st) print_error("%s\n", lsp_errmsg());
    assert_int_equal(st, LSP_OK);
    char arch[64];
    lsp_model_describe(m, arch, sizeof arch);
    assert_string_equal(arch, "3-4-2");
    assert_int_equal(m->nparams, 26);
    for (size_t i = 0; i < m->nparams; i++)
      assert_true(m->params[i] == (float)(v == 0 ? (double)i / 8 - 1.5
                                                 : 1.25 - (double)i / 16));
    const lsp_model_meta *t = &m->meta;
    assert_int_equal(t->trained, 1);
    if (v == 0) {
      assert_true(t->smoothing.eps == 0.1);
      assert_int_equal(t->smoothing.convention, LSP_LS_UNIFORM);
      assert_int_equal(t->seed, 7);
      assert_true(t->lr == 0.05 && t->momentum == 0.9 &&
                  t->weight_decay == 0.0);
      assert_string_equal(t->data, "synthetic");
      assert_true(t->data_hash == 0x0123456789abcdefull &&
                  t->val_accuracy == 0.875);
      assert_int_equal(t->code_version, 0);
      assert_true(t->val_hash == 0 && t->n_val == 0 && t->shares == 0);
    } else {
      assert_true(t->smoothing.eps == 0.2);
      assert_int_equal(t->smoothing.convention, LSP_LS_T2T);
      assert_true(t->seed == 11 && t->epochs == 4 && t->batch == 64 &&
                  t->shares == 1);
      assert_true(t->lr == 0.03 && t->momentum == 0.5 &&
                  t->weight_decay == 1e-4);
      assert_true(t->cosine == 1 && t->adam == 0 && t->code_version == 2);
      assert_true(t->data_hash == 0xabcdef0123456789ull && t->split_seed == 3);
      assert_true(t->n_train == 500 && t->n_val == 50 && t->val_hash == 0x77);
      assert_string_equal(t->data, "tiny");
      assert_true(t->val_accuracy == 0.625);
    }
    /* a file that differs from the layout by one byte is refused */
    char *buf, bad[512];
    size_t len;
    snprintf(bad, sizeof bad, "%s", td_tmp("bad_py.lspm"));
    assert_int_equal(lsp_read_file(td_path(files[v]), &buf, &len), 0);
    td_write_raw(bad, buf, len - 1);
    td_expect_load_error(bad, "truncated");
    buf[len - 40] ^= 0x04;
    td_write_raw(bad, buf, len);
    td_expect_load_error(bad, "checksum");
    unlink(bad);
    free(buf);
    lsp_model_free(m);
  }
}

/* Format 1's own defects are still refused. */
static void test_v1_corrupt(void **state) {
  (void)state;
  char *buf, bad[512];
  size_t len;
  snprintf(bad, sizeof bad, "%s", td_tmp("bad_v1.lspm"));
  assert_int_equal(lsp_read_file(td_path(V1 "synthetic_t2t.lspm"), &buf, &len),
                   0);
  char *c = malloc(len + 4);
  memcpy(c, buf, len);
  c[len / 2] ^= 0x10;
  td_write_raw(bad, c, len);
  td_expect_load_error(bad, "checksum");
  memcpy(c, buf, len);
  td_write_raw(bad, c, len - 1);
  td_expect_load_error(bad, "truncated");
  memcpy(c + len, "junk", 4);
  td_write_raw(bad, c, len + 4);
  td_expect_load_error(bad, "4 unexpected bytes");
  c[12 + 4 + 5] = 0x7f; /* layer 1's input size becomes absurd */
  td_write_raw(bad, c, len);
  td_expect_load_error(bad, "absurd");
  memcpy(c, buf, len);
  c[12 + 20] = 1; /* layer 2 becomes dense: not an MLP */
  td_write_raw(bad, c, len);
  td_expect_load_error(bad, "expected relu");
  unlink(bad);
  free(c);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lspm_roundtrip),
      cmocka_unit_test(test_lspm_roundtrip_cnn),
      cmocka_unit_test(test_lspm_corrupt),
      cmocka_unit_test(test_lspm_groups_corrupt),
      cmocka_unit_test(test_v1_loads),
      cmocka_unit_test(test_v1_corrupt),
      cmocka_unit_test(test_v1_v2_from_python),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
