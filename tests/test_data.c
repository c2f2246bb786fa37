/* Datasets: IDX files written here byte by byte (plain and gzip) read back
 * exactly, every IDX error path, folder loading and the seeded split, the
 * synthetic mixture against its closed-form construction, FNV-1a against its
 * published test vectors, and the installed Fashion-MNIST against its
 * published facts (60000/10000 images of 28x28, 6000/1000 per class). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/data/lsp_data.h"
#include "core/base/lsp_error.h"
#include "core/formats/lsp_npy.h"
#include "testutil.h"

/* ---- writing IDX files --------------------------------------------------- */

typedef struct {
  unsigned char magic[4];
  int nd;
  uint32_t dims[4];
  const uint8_t *data;
  size_t len;   /* data bytes actually written */
  size_t extra; /* trailing bytes appended    */
} idx_spec;

static void write_bytes(const char *path, int gz, const unsigned char *b,
                        size_t n) {
  if (gz) {
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(gzwrite(f, b, (unsigned)n), (int)n);
    assert_int_equal(gzclose(f), Z_OK);
  } else {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
  }
}

static void write_idx(const char *path, int gz, const idx_spec *s) {
  size_t n = 4 + 4 * (size_t)s->nd + s->len + s->extra;
  unsigned char *b = calloc(n, 1);
  assert_non_null(b);
  memcpy(b, s->magic, 4);
  for (int i = 0; i < s->nd; i++) {
    b[4 + 4 * i] = (unsigned char)(s->dims[i] >> 24);
    b[5 + 4 * i] = (unsigned char)(s->dims[i] >> 16);
    b[6 + 4 * i] = (unsigned char)(s->dims[i] >> 8);
    b[7 + 4 * i] = (unsigned char)s->dims[i];
  }
  if (s->len) memcpy(b + 4 + 4 * s->nd, s->data, s->len);
  for (size_t i = 0; i < s->extra; i++) b[4 + 4 * s->nd + s->len + i] = 0x5a;
  write_bytes(path, gz, b, n);
  free(b);
}

/* n images of h×w whose first pixel is the image index (so a row can be
 * traced back to its source) and the rest a high-entropy pattern. */
static uint8_t *pixels(size_t n, size_t h, size_t w) {
  uint8_t *p = malloc(n * h * w);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < h * w; j++)
      p[i * h * w + j] =
          j == 0 ? (uint8_t)i : (uint8_t)((i * 37 + j * 101 + 13) % 256);
  return p;
}

static void write_images(const char *path, int gz, size_t n, size_t h,
                         size_t w) {
  uint8_t *p = pixels(n, h, w);
  idx_spec s = {{0, 0, 8, 3}, 3, {(uint32_t)n, (uint32_t)h, (uint32_t)w, 0}, p,
                n * h * w,    0};
  write_idx(path, gz, &s);
  free(p);
}

static void write_labels(const char *path, int gz, size_t n, int k,
                         int bad_at) {
  uint8_t *y = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) y[i] = (uint8_t)((i * 7 + 1) % (size_t)k);
  if (bad_at >= 0) y[bad_at] = (uint8_t)k;
  idx_spec s = {{0, 0, 8, 1}, 1, {(uint32_t)n, 0, 0, 0}, y, n, 0};
  write_idx(path, gz, &s);
  free(y);
}

static char g_dir[1024];

/* A folder with 24 training images (2×3) in 3 classes and 6 test images. */
static const char *make_folder(const char *name, int gz) {
  snprintf(g_dir, sizeof g_dir, "%s", td_tmp(name));
  mkdir(g_dir, 0755);
  char p[1200];
  const char *ext = gz ? ".gz" : "";
  snprintf(p, sizeof p, "%s/train-images-idx3-ubyte%s", g_dir, ext);
  write_images(p, gz, 24, 2, 3);
  snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte%s", g_dir, ext);
  write_labels(p, gz, 24, 3, -1);
  snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte%s", g_dir, ext);
  write_images(p, gz, 6, 2, 3);
  snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte%s", g_dir, ext);
  write_labels(p, gz, 6, 3, -1);
  return g_dir;
}

static void rm_folder(const char *dir) {
  char p[1200];
  for (int i = 0; i < 4; i++) {
    static const char *n[4] = {
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    snprintf(p, sizeof p, "%s/%s", dir, n[i]);
    unlink(p);
    strcat(p, ".gz");
    unlink(p);
  }
  rmdir(dir);
}

static void expect_err(int st, int want, const char *a, const char *b) {
  if (st != want)
    print_error("status %d, want %d (%s)\n", st, want, lsp_errmsg());
  assert_int_equal(st, want);
  if (a && !strstr(lsp_errmsg(), a))
    print_error("'%s' lacks '%s'\n", lsp_errmsg(), a);
  assert_non_null(a ? strstr(lsp_errmsg(), a) : "");
  if (b && !strstr(lsp_errmsg(), b))
    print_error("'%s' lacks '%s'\n", lsp_errmsg(), b);
  assert_non_null(b ? strstr(lsp_errmsg(), b) : "");
}

/* ---- IDX reader ---------------------------------------------------------- */

static void idx_roundtrip(int gz, const char *name) {
  const char *path = td_tmp(name);
  char keep[1024];
  snprintf(keep, sizeof keep, "%s", path);
  write_images(keep, gz, 5, 4, 7);
  uint8_t *d = NULL, *want = pixels(5, 4, 7);
  size_t dims[LSP_IDX_MAXDIM];
  int nd = 0;
  assert_int_equal(lsp_idx_read(keep, &d, dims, &nd), LSP_OK);
  assert_int_equal(nd, 3);
  assert_int_equal(dims[0], 5);
  assert_int_equal(dims[1], 4);
  assert_int_equal(dims[2], 7);
  assert_memory_equal(d, want, 5 * 4 * 7);
  free(d);
  free(want);
  /* labels, and an empty set (n = 0 is a valid IDX file) */
  write_labels(keep, gz, 11, 4, -1);
  assert_int_equal(lsp_idx_read(keep, &d, dims, &nd), LSP_OK);
  assert_int_equal(nd, 1);
  assert_int_equal(dims[0], 11);
  for (size_t i = 0; i < 11; i++) assert_int_equal(d[i], (i * 7 + 1) % 4);
  free(d);
  write_labels(keep, gz, 0, 4, -1);
  assert_int_equal(lsp_idx_read(keep, &d, dims, &nd), LSP_OK);
  assert_int_equal(dims[0], 0);
  free(d);
  unlink(keep);
}

static void test_idx_plain(void **state) {
  (void)state;
  idx_roundtrip(0, "plain-idx3-ubyte");
}

static void test_idx_gzip(void **state) {
  (void)state;
  idx_roundtrip(1, "gz-idx3-ubyte.gz");
  /* gzip is recognised by content, whatever the name says */
  idx_roundtrip(1, "gz-named-plain-idx3-ubyte");
}

/* A file larger than the reader's first 16 MiB block: 50000 images of
 * 28×28 (39.2 MB) arrive through two larger blocks, each a copy of the one
 * before; the same header over only 20 MB of data is truncated. */
static void test_idx_large(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof path, "%s", td_tmp("large-idx3-ubyte"));
  const size_t n = 50000, total = n * 28 * 28;
  uint8_t *want = pixels(n, 28, 28), *d = NULL;
  idx_spec s = {{0, 0, 8, 3}, 3, {(uint32_t)n, 28, 28, 0}, want, total, 0};
  write_idx(path, 0, &s);
  size_t dims[LSP_IDX_MAXDIM];
  int nd = 0;
  assert_int_equal(lsp_idx_read(path, &d, dims, &nd), LSP_OK);
  assert_int_equal(nd, 3);
  assert_int_equal(dims[0], n);
  assert_memory_equal(d, want, total);
  free(d);
  s.len = 20000000;
  write_idx(path, 0, &s);
  expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, "truncated: 20000000 of 39200000",
             path);
  assert_null(d);
  free(want);
  unlink(path);
}

static void test_idx_errors(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof path, "%s", td_tmp("bad-idx-ubyte"));
  uint8_t px[2 * 2 * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
  uint8_t *d = NULL;
  size_t dims[LSP_IDX_MAXDIM];
  int nd;
  for (int gz = 0; gz < 2; gz++) {
    /* truncated: header announces 2 images of 2x2, 7 bytes present */
    idx_spec s = {{0, 0, 8, 3}, 3, {2, 2, 2, 0}, px, 7, 0};
    write_idx(path, gz, &s);
    expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path, "truncated");
    assert_null(d);
    /* trailing bytes */
    s.len = 8;
    s.extra = 3;
    write_idx(path, gz, &s);
    expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path, "trailing");
    /* wrong magic */
    s.extra = 0;
    s.magic[0] = 0x1f;
    s.magic[1] = 0x9c;
    write_idx(path, gz, &s);
    expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path,
               "not an IDX");
    /* wrong data type: 0x0D is float */
    s.magic[0] = s.magic[1] = 0;
    s.magic[2] = 0x0d;
    write_idx(path, gz, &s);
    expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path, "0x0d");
    /* too many dimensions */
    s.magic[2] = 8;
    s.magic[3] = 5;
    write_idx(path, gz, &s);
    expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path,
               "5 dimensions");
    s.magic[3] = 0;
    write_idx(path, gz, &s);
    expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path,
               "0 dimensions");
    /* a zero image extent, an absurd extent, a header cut short */
    idx_spec z = {{0, 0, 8, 3}, 3, {2, 0, 2, 0}, px, 0, 0};
    write_idx(path, gz, &z);
    expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path,
               "dimension 1");
    z.dims[1] = 1u << 25;
    write_idx(path, gz, &z);
    expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path,
               "dimension 1");
    z.dims[0] = z.dims[1] = z.dims[2] = 1u << 24; /* 2^72 bytes */
    write_idx(path, gz, &z);
    expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path, "larger");
    write_bytes(path, gz, (const unsigned char *)"\0\0\x08\x03\0\0", 6);
    expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path, "truncated");
    write_bytes(path, gz, (const unsigned char *)"\0\0", 2);
    expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path, "truncated");
  }
  /* a gzip stream cut in the middle */
  uint8_t *big = pixels(50, 28, 28);
  idx_spec s = {{0, 0, 8, 3}, 3, {50, 28, 28, 0}, big, 50 * 28 * 28, 0};
  write_idx(path, 1, &s);
  free(big);
  char *buf;
  size_t len;
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  buf = malloc(1 << 16);
  len = fread(buf, 1, 1 << 16, f);
  fclose(f);
  assert_true(len > 64 && len < (1 << 16)); /* the whole stream */
  if (len <= 64) return;
  write_bytes(path, 0, (unsigned char *)buf, len / 2);
  expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path, "truncated");
  /* a flipped bit in the CRC-32 trailer, then garbled compressed bytes */
  buf[len - 6] ^= 1;
  write_bytes(path, 0, (unsigned char *)buf, len);
  expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path,
             "corrupt gzip");
  buf[len - 6] ^= 1;
  for (size_t i = 20; i < len - 8; i += 7) buf[i] ^= 0x55;
  write_bytes(path, 0, (unsigned char *)buf, len);
  expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EDATA, path,
             "corrupt gzip");
  assert_null(d);
  free(buf);
  unlink(path);
  expect_err(lsp_idx_read(path, &d, dims, &nd), LSP_EIO, path, "No such file");
  expect_err(lsp_idx_read(LSP_TEST_DATA, &d, dims, &nd), LSP_EIO, LSP_TEST_DATA,
             "directory");
}

static void test_idx_find(void **state) {
  (void)state;
  const char *dir = make_folder("find", 1);
  char out[1200], want[1200];
  assert_int_equal(
      lsp_idx_find(dir, "train-images-idx3-ubyte", out, sizeof out), LSP_OK);
  snprintf(want, sizeof want, "%s/train-images-idx3-ubyte.gz", dir);
  assert_string_equal(out, want);
  /* a plain file beside the .gz (gunzip -k) is read when it holds the
   * same bytes; other bytes leave which one is meant unknown */
  want[strlen(want) - 3] = '\0';
  write_images(want, 0, 1, 1, 1);
  expect_err(lsp_idx_find(dir, "train-images-idx3-ubyte", out, sizeof out), LSP_EDATA, dir,
             "train-images-idx3-ubyte and train-images-idx3-ubyte.gz differ");
  write_images(want, 0, 24, 2, 3);
  assert_int_equal(
      lsp_idx_find(dir, "train-images-idx3-ubyte", out, sizeof out), LSP_OK);
  assert_string_equal(out, want);
  expect_err(lsp_idx_find(dir, "nothing-idx1-ubyte", out, sizeof out), LSP_EIO,
             dir, "missing nothing-idx1-ubyte");
  rm_folder(dir);
}

/* ---- folders and the split ----------------------------------------------- */

/* Each row's first pixel is its source index: recover it exactly. */
static size_t row_index(const lsp_dataset *d, size_t i) {
  float v = d->x[i * d->dim] * 255.0f;
  assert_true(v == floorf(v));
  return (size_t)v;
}

static void check_folder_split(int gz) {
  const char *dir = make_folder(gz ? "fold_gz" : "fold", gz);
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = dir;
  o.n_val = 5;
  o.seed = 7;
  lsp_splits s;
  assert_int_equal(lsp_data_load(&o, &s), LSP_OK);
  assert_int_equal(s.train.n, 19);
  assert_int_equal(s.val.n, 5);
  assert_int_equal(s.test.n, 6);
  assert_int_equal(s.train.dim, 6);
  assert_int_equal(s.train.k, 3);
  assert_int_equal(s.img_h, 2);
  assert_int_equal(s.img_w, 3);
  assert_true(s.lo == 0.0f && s.hi == 1.0f);
  assert_string_equal(s.source, dir);
  /* train + val is a permutation of the 24 training rows, each intact */
  uint8_t *px = pixels(24, 2, 3);
  int seen[24] = {0};
  const lsp_dataset *parts[2] = {&s.train, &s.val};
  for (int p = 0; p < 2; p++)
    for (size_t i = 0; i < parts[p]->n; i++) {
      size_t r = row_index(parts[p], i);
      assert_true(r < 24);
      seen[r]++;
      for (size_t j = 0; j < 6; j++)
        assert_true(parts[p]->x[i * 6 + j] == (float)px[r * 6 + j] / 255.0f);
      assert_int_equal(parts[p]->y[i], (r * 7 + 1) % 3);
    }
  for (int r = 0; r < 24; r++) assert_int_equal(seen[r], 1);
  /* the test split is the test file in order */
  for (size_t i = 0; i < 6; i++) {
    assert_int_equal(row_index(&s.test, i), i);
    assert_int_equal(s.test.y[i], (i * 7 + 1) % 3);
  }
  free(px);
  /* same seed: the same split; another seed: another order and hash */
  lsp_splits t;
  assert_int_equal(lsp_data_load(&o, &t), LSP_OK);
  assert_memory_equal(s.train.x, t.train.x, 19 * 6 * sizeof(float));
  assert_memory_equal(s.val.y, t.val.y, 5 * sizeof(int32_t));
  assert_true(s.hash == t.hash);
  lsp_splits_free(&t);
  o.seed = 8;
  assert_int_equal(lsp_data_load(&o, &t), LSP_OK);
  assert_true(s.hash != t.hash);
  int same = 1;
  for (size_t i = 0; i < 5; i++)
    same &= row_index(&s.val, i) == row_index(&t.val, i);
  assert_false(same);
  lsp_splits_free(&t);
  /* max_train keeps a prefix of the same split; the validation set stays */
  o.seed = 7;
  o.max_train = 4;
  o.max_test = 2;
  assert_int_equal(lsp_data_load(&o, &t), LSP_OK);
  assert_int_equal(t.train.n, 4);
  assert_int_equal(t.test.n, 2);
  assert_memory_equal(t.train.x, s.train.x, 4 * 6 * sizeof(float));
  assert_memory_equal(t.val.x, s.val.x, 5 * 6 * sizeof(float));
  assert_true(s.hash != t.hash);
  lsp_splits_free(&t);
  /* n_val auto = 1/12 of 24 */
  lsp_data_opts_default(&o);
  o.spec = dir;
  assert_int_equal(lsp_data_load(&o, &t), LSP_OK);
  assert_int_equal(t.val.n, 2);
  assert_int_equal(t.train.n, 22);
  lsp_splits_free(&t);
  o.n_val = 24;
  expect_err(lsp_data_load(&o, &t), LSP_EINVAL, "validation", "24");
  assert_null(t.train.x);
  lsp_splits_free(&s);
  lsp_splits_free(&s); /* idempotent */
  lsp_splits_free(NULL);
  rm_folder(dir);
}

static void test_folder_plain(void **state) {
  (void)state;
  check_folder_split(0);
}

static void test_folder_gzip(void **state) {
  (void)state;
  check_folder_split(1);
}

/* A single changed pixel changes the hash. */
static void test_hash_sensitive(void **state) {
  (void)state;
  const char *dir = make_folder("hash", 0);
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = dir;
  lsp_splits s, t;
  assert_int_equal(lsp_data_load(&o, &s), LSP_OK);
  char p[1200];
  snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
  uint8_t *px = pixels(6, 2, 3);
  px[6 * 6 - 1] ^= 1;
  idx_spec sp = {{0, 0, 8, 3}, 3, {6, 2, 3, 0}, px, 36, 0};
  write_idx(p, 0, &sp);
  free(px);
  assert_int_equal(lsp_data_load(&o, &t), LSP_OK);
  assert_true(s.hash != t.hash);
  lsp_splits_free(&s);
  lsp_splits_free(&t);
  rm_folder(dir);
}

static void test_folder_errors(void **state) {
  (void)state;
  const char *dir = make_folder("ferr", 0);
  char p[1200], q[1200];
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = dir;
  lsp_splits s;
  /* image/label count mismatch */
  snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
  write_labels(p, 0, 23, 3, -1);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, p, "23 labels");
  assert_null(s.train.x);
  write_labels(p, 0, 24, 3, -1);
  /* a test label beyond the training classes */
  snprintf(q, sizeof q, "%s/t10k-labels-idx1-ubyte", dir);
  write_labels(q, 0, 6, 3, 4);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, q, "label 3 at index 4");
  write_labels(q, 0, 6, 3, -1);
  /* test images of another size */
  snprintf(q, sizeof q, "%s/t10k-images-idx3-ubyte", dir);
  write_images(q, 0, 6, 3, 2);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, q, "3x2");
  /* labels where images belong */
  write_labels(q, 0, 6, 3, -1);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, q, "expected images");
  write_images(q, 0, 6, 2, 3);
  /* a single class */
  write_labels(p, 0, 24, 1, -1);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, p, "2 classes");
  /* empty test and training files */
  write_labels(p, 0, 24, 3, -1);
  snprintf(q, sizeof q, "%s/t10k-images-idx3-ubyte", dir);
  write_images(q, 0, 0, 2, 3);
  snprintf(q, sizeof q, "%s/t10k-labels-idx1-ubyte", dir);
  write_labels(q, 0, 0, 3, -1);
  snprintf(q, sizeof q, "%s/t10k-images-idx3-ubyte", dir);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, q, "no test images");
  char r[1200];
  snprintf(r, sizeof r, "%s/train-images-idx3-ubyte", dir);
  write_images(r, 0, 1, 2, 3);
  write_labels(p, 0, 1, 3, -1);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, r, "1 training images");
  /* a missing file */
  unlink(p);
  expect_err(lsp_data_load(&o, &s), LSP_EIO, dir, "train-labels-idx1-ubyte");
  rm_folder(dir);
  expect_err(lsp_data_load(&o, &s), LSP_EIO, dir, "No such file");
  o.spec = LSP_TEST_DATA "/calibration.txt";
  expect_err(lsp_data_load(&o, &s), LSP_EIO, "calibration.txt", "not a folder");
  o.spec = "";
  expect_err(lsp_data_load(&o, &s), LSP_EINVAL, "no dataset", NULL);
  /* fashion-mnist pointed at a missing folder: the hint names the package */
  const char *old = getenv("LSPROBE_DATA");
  char keep[1024] = "";
  if (old) snprintf(keep, sizeof keep, "%s", old);
  setenv("LSPROBE_DATA", "/nonexistent/fmnist", 1);
  assert_string_equal(lsp_data_fashion_dir(), "/nonexistent/fmnist");
  o.spec = "fashion-mnist";
  expect_err(lsp_data_load(&o, &s), LSP_EIO, "/nonexistent/fmnist",
             "scripts/setup installs the Debian package dataset-fashion-mnist");
  if (old)
    setenv("LSPROBE_DATA", keep, 1);
  else
    unsetenv("LSPROBE_DATA");
}

/* ---- .npy folders -------------------------------------------------------- */

static void test_folder_npy(void **state) {
  (void)state;
  char dir[1024], p[4][1200];
  snprintf(dir, sizeof dir, "%s", td_tmp("npydir"));
  mkdir(dir, 0755);
  static const char *names[4] = {"x_train.npy", "y_train.npy", "x_test.npy",
                                 "y_test.npy"};
  for (int f = 0; f < 4; f++)
    snprintf(p[f], sizeof p[f], "%s/%s", dir, names[f]);
  /* uint8 images 12 x 2 x 2 with pixel 0 = the row index */
  uint8_t *px = pixels(12, 2, 2);
  int64_t ytr[12], yte[3] = {3, 0, 1};
  for (int i = 0; i < 12; i++) ytr[i] = i % 4;
  size_t s3[3] = {12, 2, 2}, s1[1] = {12}, t3[3] = {3, 2, 2}, t1[1] = {3};
  assert_int_equal(lsp_npy_write(p[0], LSP_DT_U8, 3, s3, px), LSP_OK);
  assert_int_equal(lsp_npy_write(p[1], LSP_DT_I64, 1, s1, ytr), LSP_OK);
  assert_int_equal(lsp_npy_write(p[2], LSP_DT_U8, 3, t3, px), LSP_OK);
  assert_int_equal(lsp_npy_write(p[3], LSP_DT_I64, 1, t1, yte), LSP_OK);
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = dir;
  o.n_val = 3;
  lsp_splits s;
  assert_int_equal(lsp_data_load(&o, &s), LSP_OK);
  assert_int_equal(s.train.n, 9);
  assert_int_equal(s.train.dim, 4);
  assert_int_equal(s.train.k, 4);
  assert_int_equal(s.img_h, 2);
  assert_int_equal(s.img_w, 2);
  assert_true(s.lo == 0.0f && s.hi == 1.0f);
  for (size_t i = 0; i < s.train.n; i++) {
    size_t r = row_index(&s.train, i);
    assert_int_equal(s.train.y[i], r % 4);
    assert_true(s.train.x[i * 4 + 3] == (float)px[r * 4 + 3] / 255.0f);
  }
  assert_int_equal(s.test.y[0], 3);
  lsp_splits_free(&s);
  /* float features keep their values; the bounds are the observed range */
  float xf[12 * 4], tf[3 * 4];
  for (int i = 0; i < 48; i++) xf[i] = (float)i * 0.25f - 3.0f;
  for (int i = 0; i < 12; i++) tf[i] = (float)i * 2.385f;
  size_t s2[2] = {12, 4}, t2[2] = {3, 4};
  assert_int_equal(lsp_npy_write(p[0], LSP_DT_F32, 2, s2, xf), LSP_OK);
  assert_int_equal(lsp_npy_write(p[2], LSP_DT_F32, 2, t2, tf), LSP_OK);
  assert_int_equal(lsp_data_load(&o, &s), LSP_OK);
  assert_int_equal(s.img_h, 0);
  assert_true(s.lo == -3.0f && s.hi == 11.0f * 2.385f);
  assert_memory_equal(s.test.x, tf, sizeof tf);
  lsp_splits_free(&s);
  /* errors name the file */
  yte[0] = 4;
  assert_int_equal(lsp_npy_write(p[3], LSP_DT_I64, 1, t1, yte), LSP_OK);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, p[3], NULL);
  assert_int_equal(lsp_npy_write(p[3], LSP_DT_I64, 1, s1, ytr), LSP_OK);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, p[3], "12 labels");
  assert_int_equal(lsp_npy_write(p[2], LSP_DT_U8, 3, t3, px), LSP_OK);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, p[2], "uint8");
  size_t t2b[2] = {4, 3};
  assert_int_equal(lsp_npy_write(p[2], LSP_DT_F32, 2, t2b, tf), LSP_OK);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, p[2], "another shape");
  tf[5] = NAN;
  assert_int_equal(lsp_npy_write(p[2], LSP_DT_F32, 2, t2, tf), LSP_OK);
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, p[2], "non-finite");
  unlink(p[1]);
  expect_err(lsp_data_load(&o, &s), LSP_EIO, p[1], NULL);
  free(px);
  for (int f = 0; f < 4; f++) unlink(p[f]);
  rmdir(dir);
}

/* ---- FNV-1a -------------------------------------------------------------- */

/* Published FNV-1a 64 vectors (Fowler/Noll/Vo test suite). */
static void test_fnv(void **state) {
  (void)state;
  assert_true(lsp_fnv1a(LSP_FNV_INIT, "", 0) == 0xcbf29ce484222325ull);
  assert_true(lsp_fnv1a(LSP_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
  assert_true(lsp_fnv1a(LSP_FNV_INIT, "foobar", 6) == 0x85944171f73967e8ull);
  uint64_t h = lsp_fnv1a(lsp_fnv1a(LSP_FNV_INIT, "foo", 3), "bar", 3);
  assert_true(h == 0x85944171f73967e8ull);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idx_plain),
      cmocka_unit_test(test_idx_gzip),
      cmocka_unit_test(test_idx_large),
      cmocka_unit_test(test_idx_errors),
      cmocka_unit_test(test_idx_find),
      cmocka_unit_test(test_folder_plain),
      cmocka_unit_test(test_folder_gzip),
      cmocka_unit_test(test_hash_sensitive),
      cmocka_unit_test(test_folder_errors),

      cmocka_unit_test(test_folder_npy),
      cmocka_unit_test(test_fnv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
