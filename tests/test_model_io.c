/* Model files: the PyTorch export import against PyTorch's own numbers
 * (tests/data/torch_mlp_tiny), a random-direction finite-difference check in
 * double of the imported network, the .lspm round trip, and every way a
 * model file can be wrong. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/loss/lsp_loss.h"
#include "core/import/lsp_import.h"
#include "core/nn/lsp_model.h"
#include "testutil.h"

#define TINY "torch_mlp_tiny"

static lsp_model *import_tiny(void) {
  lsp_model *m = NULL;
  char note[512];
  int st = lsp_model_import_torch(td_path(TINY), &m, note, sizeof note);
  if (st) print_error("import: %s\n", lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  assert_non_null(m);
  /* an export records no activations: the importer says what it assumed */
  assert_non_null(strstr(note, "ReLU is assumed between its 3 Linear layers"));
  assert_non_null(strstr(note, TINY));
  return m;
}

/* Compare got[] to a float32 reference file with a tolerance rtol per element
 * plus rtol/10 of the largest reference magnitude (float32 sums leave ~1e-9
 * absolute noise on entries of 1e-5). */
static void check_rel(const float *got, const char *rel, size_t count,
                      double rtol) {
  lsp_array a;
  td_load(rel, &a);
  assert_int_equal(a.count, count);
  const float *want = a.data;
  double scale = 0.0;
  for (size_t i = 0; i < count; i++)
    if (fabs(want[i]) > scale) scale = fabs(want[i]);
  for (size_t i = 0; i < count; i++)
    td_close(got[i], want[i], rtol, rtol * scale * 1e-1, rel, i);
  lsp_array_release(&a);
}

static void load_xy(lsp_array *xa, int32_t **y, size_t *n) {
  lsp_array ya;
  td_load(TINY "/x.npy", xa);
  td_load(TINY "/labels.npy", &ya);
  assert_int_equal(lsp_array_labels(&ya, "labels.npy", 3, y), LSP_OK);
  *n = ya.count;
  lsp_array_release(&ya);
}

static void test_import_matches_torch(void **state) {
  (void)state;
  lsp_model *m = import_tiny();
  char desc[64];
  lsp_model_describe(m, desc, sizeof desc);
  assert_string_equal(desc, "8-16-16-3");
  assert_int_equal(m->meta.trained, 0);
  lsp_array xa;
  int32_t *y;
  size_t n;
  load_xy(&xa, &y, &n);
  assert_int_equal(n, 32);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, n);
  const float *z, *f;
  assert_int_equal(lsp_model_forward(m, ws, xa.data, n, &z, &f), LSP_OK);
  check_rel(z, TINY "/logits.npy", n * 3, 1e-5);
  check_rel(f, TINY "/features.npy", n * 16, 1e-5);

  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  float dz[32 * 3], dx[32 * 8];
  double loss;
  assert_int_equal(
      lsp_loss_xent(z, y, n, 3, &ls, dz, 1.0 / (double)n, NULL, &loss), LSP_OK);
  td_close(loss, 1.0727486610412598, 1e-6, 0, "loss_ls0.1_mean", 0);
  assert_int_equal(
      lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS | LSP_BACK_INPUT, dx),
      LSP_OK);
  const char *names[3] = {"0", "2", "4"};
  size_t d = 0;
  for (size_t l = 0; l < m->nlayers; l++) {
    const lsp_layer *L = &m->layers[l];
    if (L->kind != LSP_LAYER_DENSE) continue;
    char p[96];
    snprintf(p, sizeof p, TINY "/grad_ls0.1_%s.weight.npy", names[d]);
    check_rel(L->dw, p, L->out * L->in, 1e-5);
    snprintf(p, sizeof p, TINY "/grad_ls0.1_%s.bias.npy", names[d]);
    check_rel(L->db, p, L->out, 1e-5);
    d++;
  }
  assert_int_equal(d, 3);
  check_rel(dx, TINY "/grad_ls0.1_x.npy", n * 8, 1e-5);

  /* lsp_model_load takes the folder too */
  lsp_model *m2 = NULL;
  assert_int_equal(lsp_model_load(td_path(TINY), &m2), LSP_OK);
  assert_int_equal(m2->nparams, m->nparams);
  assert_memory_equal(m2->params, m->params, m->nparams * sizeof(float));
  lsp_model_free(m2);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  free(y);
  lsp_array_release(&xa);
}

/* Mean smoothed loss of the network in double, written independently of the
 * model core: dense layers as explicit loops, ReLU between them. */
static double ref_loss(const lsp_model *m, const double *p, const double *x,
                       const int32_t *y, size_t n, double eps) {
  double total = 0.0, a[64], b[64];
  for (size_t i = 0; i < n; i++) {
    size_t w = m->in_dim, off = 0;
    for (size_t j = 0; j < w; j++) a[j] = x[i * w + j];
    for (size_t l = 0; l < m->nlayers; l++) {
      const lsp_layer *L = &m->layers[l];
      if (L->kind == LSP_LAYER_RELU) {
        for (size_t j = 0; j < w; j++) a[j] = a[j] > 0 ? a[j] : 0;
        continue;
      }
      const double *W = p + off, *B = p + off + L->out * L->in;
      for (size_t o = 0; o < L->out; o++) {
        double s = B[o];
        for (size_t j = 0; j < L->in; j++) s += W[o * L->in + j] * a[j];
        b[o] = s;
      }
      off += L->out * L->in + L->out;
      w = L->out;
      memcpy(a, b, w * sizeof *a);
    }
    double mx = a[0], se = 0.0, sz = 0.0;
    for (size_t k = 1; k < w; k++) mx = a[k] > mx ? a[k] : mx;
    for (size_t k = 0; k < w; k++) se += exp(a[k] - mx), sz += a[k];
    double lse = mx + log(se);
    total += lse - (1.0 - eps) * a[y[i]] - eps / (double)w * sz;
  }
  return total / (double)n;
}

static double unit_rand(unsigned *s) {
  *s = *s * 1664525u + 1013904223u;
  return (double)(*s >> 8) / 16777216.0 - 0.5;
}

static void test_finite_differences(void **state) {
  (void)state;
  lsp_model *m = import_tiny();
  lsp_array xa;
  int32_t *y;
  size_t n;
  load_xy(&xa, &y, &n);
  const float *xf = xa.data;
  size_t np = m->nparams, nx = n * m->in_dim;
  double *p = malloc(np * sizeof *p), *x = malloc(nx * sizeof *x);
  double *pd = malloc(np * sizeof *pd), *xd = malloc(nx * sizeof *xd);
  float *dz = malloc(n * 3 * sizeof *dz), *dx = malloc(nx * sizeof *dx);
  for (size_t i = 0; i < np; i++) p[i] = m->params[i];
  for (size_t i = 0; i < nx; i++) x[i] = xf[i];
  lsp_model_ws *ws = lsp_model_ws_alloc(m, n);
  const float *z;
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_model_forward(m, ws, xf, n, &z, NULL), LSP_OK);
  assert_int_equal(
      lsp_loss_xent(z, y, n, 3, &ls, dz, 1.0 / (double)n, NULL, NULL), 0);
  assert_int_equal(
      lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS | LSP_BACK_INPUT, dx), 0);
  unsigned s = 2385;
  const double h = 1e-5;
  for (int trial = 0; trial < 8; trial++) {
    /* parameters: the directional derivative along a random direction */
    double dir = 0.0;
    for (size_t i = 0; i < np; i++) {
      double d = unit_rand(&s);
      dir += d * m->grads[i];
      pd[i] = p[i] + h * d;
    }
    double up = ref_loss(m, pd, x, y, n, 0.1);
    for (size_t i = 0; i < np; i++) pd[i] = 2.0 * p[i] - pd[i];
    double fd = (up - ref_loss(m, pd, x, y, n, 0.1)) / (2.0 * h);
    td_close(dir, fd, 2e-4, 1e-6, "parameter directional derivative",
             (size_t)trial);
    /* input */
    dir = 0.0;
    for (size_t i = 0; i < nx; i++) {
      double d = unit_rand(&s);
      dir += d * dx[i];
      xd[i] = x[i] + h * d;
    }
    up = ref_loss(m, p, xd, y, n, 0.1);
    for (size_t i = 0; i < nx; i++) xd[i] = 2.0 * x[i] - xd[i];
    fd = (up - ref_loss(m, p, xd, y, n, 0.1)) / (2.0 * h);
    td_close(dir, fd, 2e-4, 1e-6, "input directional derivative",
             (size_t)trial);
  }
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  free(p), free(x), free(pd), free(xd), free(dz), free(dx), free(y);
  lsp_array_release(&xa);
}

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

static void test_lspm_roundtrip(void **state) {
  (void)state;
  lsp_model *m = small_model();
  char path[512];
  snprintf(path, sizeof path, "%s", td_tmp("rt.lspm"));
  assert_int_equal(lsp_model_save(m, path), LSP_OK);
  lsp_model *g = NULL;
  assert_int_equal(lsp_model_load(path, &g), LSP_OK);
  assert_int_equal(g->nlayers, m->nlayers);
  for (size_t l = 0; l < m->nlayers; l++) {
    assert_int_equal(g->layers[l].kind, m->layers[l].kind);
    assert_int_equal(g->layers[l].in, m->layers[l].in);
    assert_int_equal(g->layers[l].out, m->layers[l].out);
  }
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
  /* the file length is exactly what the format says: header, layers,
   * parameters, the record's length and bytes, the CRC */
  unsigned char *rec;
  size_t rec_len;
  assert_int_equal(lsp_model_record_encode(b, 0, &rec, &rec_len), LSP_OK);
  free(rec);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal((size_t)sb.st_size,
                   12 + 5 * 20 + 8 + 4 * m->nparams + 4 + rec_len + 4);
  unlink(path);
  lsp_model_free(g);
  lsp_model_free(m);
}

/* Write `len` bytes of buf to path (a corrupted copy). */
static void write_raw(const char *path, const char *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  fclose(f);
}

static void expect_load_error(const char *path, const char *needle) {
  lsp_model *g = NULL;
  int st = lsp_model_load(path, &g);
  assert_int_not_equal(st, LSP_OK);
  assert_null(g);
  const char *msg = lsp_errmsg();
  if (!strstr(msg, needle) || !strstr(msg, path)) {
    print_error("message '%s' lacks '%s' or the path\n", msg, needle);
    fail();
  }
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

  c[len / 2] ^= 0x10; /* a parameter byte */
  write_raw(bad, c, len);
  expect_load_error(bad, "checksum");
  memcpy(c, buf, len);
  c[len - 30] ^= 0x01; /* inside the training record */
  write_raw(bad, c, len);
  expect_load_error(bad, "checksum");
  memcpy(c, buf, len);

  write_raw(bad, c, len - 1);
  expect_load_error(bad, "truncated");
  write_raw(bad, c, 10);
  expect_load_error(bad, "truncated");
  write_raw(bad, c, 0);
  expect_load_error(bad, "magic");

  memcpy(c + len, "junk", 4);
  write_raw(bad, c, len + 4);
  expect_load_error(bad, "4 unexpected bytes");

  c[0] = 'X';
  write_raw(bad, c, len);
  expect_load_error(bad, "magic");
  c[0] = 'L';
  c[4] = 3; /* version 3 */
  write_raw(bad, c, len);
  expect_load_error(bad, "version 3");
  c[4] = 2;
  c[12 + 4 + 5] = 0x7f; /* layer 1's input size becomes absurd */
  write_raw(bad, c, len);
  expect_load_error(bad, "absurd");
  memcpy(c, buf, len);
  c[12 + 20] = 1; /* layer 2 becomes dense: not an MLP */
  write_raw(bad, c, len);
  expect_load_error(bad, "expected relu");

  expect_load_error(td_tmp("does_not_exist.lspm"), "No such file");
  free(c);
  free(buf);
  unlink(good);
  unlink(bad);
  lsp_model_free(m);
}

/* Format 1 still loads: a file written from the documented layout by
 * tests/data/gen_lspm_v1.py (Python struct + zlib, not lsprobe). Its record
 * maps onto today's, with no code version, shares or split. */
static void test_lspm_v1_loads(void **state) {
  (void)state;
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_load(td_path("lspm_v1/mlp_3_4_2.lspm"), &m), LSP_OK);
  char arch[64];
  lsp_model_describe(m, arch, sizeof arch);
  assert_string_equal(arch, "3-4-2");
  assert_int_equal(m->nparams, 26);
  for (size_t i = 0; i < m->nparams; i++)
    assert_true(m->params[i] == (float)((double)i / 8 - 1.5));
  const lsp_model_meta *t = &m->meta;
  assert_int_equal(t->trained, 1);
  assert_true(t->smoothing.eps == 0.1);
  assert_int_equal(t->smoothing.convention, LSP_LS_UNIFORM);
  assert_int_equal(t->seed, 7);
  assert_int_equal(t->epochs, 3);
  assert_int_equal(t->batch, 32);
  assert_true(t->lr == 0.05 && t->momentum == 0.9 && t->weight_decay == 0.0);
  assert_string_equal(t->data, "synthetic");
  assert_true(t->data_hash == 0x0123456789abcdefull);
  assert_true(t->val_accuracy == 0.875);
  assert_int_equal(t->code_version, 0);
  assert_true(t->val_hash == 0 && t->n_val == 0 && t->shares == 0);
  lsp_model_free(m);
}

/* Training records built byte by byte: what the reader refuses, and that
 * an unknown field is kept count of (a newer writer) rather than refused. */
typedef struct {
  unsigned char b[4096];
  size_t n;
} bytes;

static void b_le(bytes *b, uint64_t v, int n) {
  for (int i = 0; i < n; i++) b->b[b->n++] = (unsigned char)(v >> (8 * i));
}
static void b_field(bytes *b, char type, const char *name) {
  b->b[b->n++] = (unsigned char)type;
  b->b[b->n++] = (unsigned char)strlen(name);
  memcpy(b->b + b->n, name, strlen(name));
  b->n += strlen(name);
}
static void b_str(bytes *b, const char *name, const char *v) {
  b_field(b, 's', name);
  b_le(b, strlen(v), 4);
  memcpy(b->b + b->n, v, strlen(v));
  b->n += strlen(v);
}
static void b_f64(bytes *b, const char *name, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  b_field(b, 'f', name);
  b_le(b, u, 8);
}
static void b_u64(bytes *b, const char *name, uint64_t v) {
  b_field(b, 'u', name);
  b_le(b, v, 8);
}

/* Every setting; `skip` leaves one out, `extra` adds fields after them. */
static void record(bytes *b, const char *skip, int extra) {
  b->n = 0;
  const char *u[] = {"code_version", "normalize", "seed", "epochs", "batch", "shares",
                     "data_hash", "split_seed", "n_train", "n_val", "val_hash"};
  const uint64_t uv[] = {2, 0, 1, 15, 128, 2, 99, 1, 55000, 5000, 77};
  size_t count = 0;
  b_le(b, 0, 4); /* the count, patched below */
  for (size_t i = 0; i < 11; i++)
    if (!skip || strcmp(skip, u[i])) b_u64(b, u[i], uv[i]), count++;
  const char *f[] = {"smoothing", "lr", "momentum", "weight_decay"};
  const double fv[] = {0.1, 0.1, 0.9, 0.0};
  for (size_t i = 0; i < 4; i++)
    if (!skip || strcmp(skip, f[i])) b_f64(b, f[i], fv[i]), count++;
  if (!skip || strcmp(skip, "convention")) b_str(b, "convention", "uniform"), count++;
  if (!skip || strcmp(skip, "optimizer")) b_str(b, "optimizer", "sgd"), count++;
  if (!skip || strcmp(skip, "schedule")) b_str(b, "schedule", "constant"), count++;
  count += (size_t)extra;
  for (int i = 0; i < 4; i++) b->b[i] = (unsigned char)(count >> (8 * i));
}

static void expect_record_error(const bytes *b, const char *needle) {
  lsp_model_meta r;
  assert_int_equal(lsp_model_record_decode(b->b, b->n, &r, "rec.lspm"), LSP_EDATA);
  if (!strstr(lsp_errmsg(), needle) || !strstr(lsp_errmsg(), "rec.lspm")) {
    print_error("message '%s' lacks '%s' or the file\n", lsp_errmsg(), needle);
    fail();
  }
}

static void test_record_fields(void **state) {
  (void)state;
  bytes b;
  lsp_model_meta r, w;
  record(&b, NULL, 0);
  assert_int_equal(lsp_model_record_decode(b.b, b.n, &r, "rec.lspm"), LSP_OK);
  assert_int_equal(r.trained, 1);
  assert_true(r.lr == 0.1 && r.epochs == 15 && r.batch == 128 && r.val_hash == 77);
  assert_true(isnan(r.val_accuracy)); /* a description: optional */
  /* the writer's settings are exactly these bytes (table order) */
  unsigned char *enc;
  size_t enc_len;
  assert_int_equal(lsp_model_record_encode(&r, 1, &enc, &enc_len), LSP_OK);
  lsp_model_record_decode(enc, enc_len, &w, "enc");
  char diff[256];
  assert_null(lsp_model_record_diff(&r, &w, diff, sizeof diff));
  free(enc);
  /* one setting differs: named with both values */
  w.lr = 0.3;
  assert_non_null(lsp_model_record_diff(&r, &w, diff, sizeof diff));
  assert_string_equal(diff, "lr (0.10000000000000001 vs 0.29999999999999999)");
  w.lr = r.lr;
  w.n_val = 1000;
  assert_non_null(strstr(lsp_model_record_diff(&r, &w, diff, sizeof diff), "n_val"));
  /* a field from a newer writer: counted, and the record never equals */
  record(&b, NULL, 1);
  b_u64(&b, "from_the_future", 1);
  assert_int_equal(lsp_model_record_decode(b.b, b.n, &r, "rec.lspm"), LSP_OK);
  assert_int_equal(r.unknown_fields, 1);
  assert_non_null(lsp_model_record_diff(&r, &r, diff, sizeof diff));
  /* refusals */
  record(&b, "val_hash", 0);
  expect_record_error(&b, "lacks the setting val_hash");
  record(&b, NULL, 1);
  b_u64(&b, "seed", 2);
  expect_record_error(&b, "seed appears twice");
  record(&b, NULL, 1);
  b_f64(&b, "val_accuracy", 0.5);
  b.b[b.n - 8 - 12 - 2] = 'x';
  expect_record_error(&b, "unknown type");
  record(&b, NULL, 1);
  b_u64(&b, "lr", 1);
  expect_record_error(&b, "field lr has type 'u', expected 'f'");
  record(&b, "smoothing", 1);
  b_f64(&b, "smoothing", 1.5);
  expect_record_error(&b, "field smoothing is invalid (not in [0, 1])");
  record(&b, "optimizer", 1);
  b_str(&b, "optimizer", "rmsprop");
  expect_record_error(&b, "optimizer is invalid");
  record(&b, NULL, 1);
  char longname[200];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  b_str(&b, "data", longname);
  expect_record_error(&b, "field data is invalid (too long");
  record(&b, NULL, 0);
  b.n -= 3;
  expect_record_error(&b, "truncated");
  record(&b, NULL, 0);
  b_le(&b, 0, 2);
  expect_record_error(&b, "2 unexpected bytes");
}

/* ---- PyTorch export errors -------------------------------------------------
 */

static void copy_file(const char *from, const char *to) {
  char *b;
  size_t n;
  assert_int_equal(lsp_read_file(from, &b, &n), LSP_OK);
  write_raw(to, b, n);
  free(b);
}

/* A scratch export folder holding the tiny model's six tensors. */
static void make_export(char *dir, size_t cap) {
  snprintf(dir, cap, "%s", td_tmp("export"));
  assert_int_equal(lsp_mkdir_p(dir), LSP_OK);
  const char *names[6] = {"0.weight", "0.bias",   "2.weight",
                          "2.bias",   "4.weight", "4.bias"};
  for (int i = 0; i < 6; i++) {
    char from[1024], to[1024];
    snprintf(from, sizeof from, "%s/%s.npy", td_path(TINY), names[i]);
    snprintf(to, sizeof to, "%s/%s.npy", dir, names[i]);
    copy_file(from, to);
  }
}

static void remove_export(const char *dir) {
  const char *names[6] = {"0.weight", "0.bias",   "2.weight",
                          "2.bias",   "4.weight", "4.bias"};
  for (int i = 0; i < 6; i++) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s.npy", dir, names[i]);
    unlink(p);
  }
  rmdir(dir);
}

static void test_torch_errors(void **state) {
  (void)state;
  char dir[512], p[600];
  make_export(dir, sizeof dir);
  lsp_model *g = NULL;
  assert_int_equal(lsp_model_load(dir, &g), LSP_OK); /* the copy is good */
  lsp_model_free(g);

  snprintf(p, sizeof p, "%s/2.bias.npy", dir);
  unlink(p);
  expect_load_error(dir, "2.bias.npy: missing");
  size_t s7[1] = {7};
  float v[16 * 8] = {0};
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s7, v), LSP_OK);
  expect_load_error(dir, "2.bias.npy: shape [7], expected [16]");

  size_t s16[1] = {16};
  v[3] = NAN;
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  expect_load_error(dir, "non-finite");

  v[3] = 0;
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  snprintf(p, sizeof p, "%s/2.weight.npy", dir);
  size_t s2[2] = {16, 5};
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 2, s2, v), LSP_OK);
  expect_load_error(dir, "2.weight.npy: shape [16, 5] takes 5 inputs");
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  expect_load_error(dir, "2.weight.npy: a 1-D weight, the scale of a normalization layer");
  unlink(p);
  expect_load_error(dir, "2.weight.npy: missing");
  remove_export(dir);
  assert_int_equal(lsp_mkdir_p(dir), LSP_OK);
  expect_load_error(dir, "no <i>.weight.npy");
  rmdir(dir);
}

/* What the importer cannot represent is refused, naming the file and what
 * was found, instead of guessed at. */
static void rename_in(const char *dir, const char *from, const char *to) {
  char a[1024], b[1024];
  snprintf(a, sizeof a, "%s/%s", dir, from);
  snprintf(b, sizeof b, "%s/%s", dir, to);
  assert_int_equal(rename(a, b), 0);
}

static void test_torch_refusals(void **state) {
  (void)state;
  char dir[512], p[600];
  const char *names[6] = {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"};
  /* BatchNorm between the Linear layers: its running statistics */
  make_export(dir, sizeof dir);
  snprintf(p, sizeof p, "%s/1.running_mean.npy", dir);
  size_t s16[1] = {16};
  float v[16] = {0};
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  expect_load_error(dir, "1.running_mean.npy: module 1 is a BatchNorm layer");
  unlink(p);
  /* another per-module tensor */
  snprintf(p, sizeof p, "%s/0.weight_orig.npy", dir);
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  expect_load_error(dir, "0.weight_orig.npy: module 0 has a tensor 'weight_orig'");
  unlink(p);
  /* a wrapped module: model.net = nn.Sequential(...), model.state_dict() */
  for (int i = 0; i < 6; i++) {
    char to[64];
    snprintf(to, sizeof to, "net.%s.npy", names[i]);
    char from[64];
    snprintf(from, sizeof from, "%s.npy", names[i]);
    rename_in(dir, from, to);
  }
  expect_load_error(dir, "the tensors are under the prefix 'net.'");
  for (int i = 0; i < 6; i++) {
    char from[64], to[64];
    snprintf(from, sizeof from, "net.%s.npy", names[i]);
    snprintf(to, sizeof to, "model.net.%s.npy", names[i]);
    rename_in(dir, from, to);
  }
  expect_load_error(dir, "prefix 'model.net.'");
  /* named modules: no layer order */
  rename_in(dir, "model.net.0.weight.npy", "fc1.weight.npy");
  expect_load_error(dir, "fc1.weight.npy: a named module ('fc1')");
  rename_in(dir, "fc1.weight.npy", "model.net.0.weight.npy");
  for (int i = 0; i < 6; i++) {
    char from[64], to[64];
    snprintf(from, sizeof from, "model.net.%s.npy", names[i]);
    snprintf(to, sizeof to, "%s.npy", names[i]);
    rename_in(dir, from, to);
  }
  /* files that are not state_dict keys stay ignored */
  snprintf(p, sizeof p, "%s/grad_ls0.1_0.weight.npy", dir);
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 1, s16, v), LSP_OK);
  lsp_model *g = NULL;
  assert_int_equal(lsp_model_load(dir, &g), LSP_OK);
  lsp_model_free(g);
  unlink(p);
  remove_export(dir);
}

/* Each tensor is read once: a file could otherwise change between the read
 * that checks its shape and the read that copies its values (the import
 * read every tensor twice). inotify counts the opens in the folder. */
static void test_torch_reads_each_tensor_once(void **state) {
  (void)state;
  char dir[512];
  make_export(dir, sizeof dir);
  int fd = inotify_init1(IN_NONBLOCK);
  assert_true(fd >= 0);
  assert_true(inotify_add_watch(fd, dir, IN_OPEN) >= 0);
  lsp_model *g = NULL;
  assert_int_equal(lsp_model_import_torch(dir, &g, NULL, 0), LSP_OK);
  lsp_model_free(g);
  char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
  int opens[6] = {0}, total = 0;
  const char *names[6] = {"0.weight.npy", "0.bias.npy", "2.weight.npy",
                          "2.bias.npy",   "4.weight.npy", "4.bias.npy"};
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (char *q = buf; q < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *)q;
      if (ev->len)
        for (int i = 0; i < 6; i++) opens[i] += strcmp(ev->name, names[i]) == 0;
      total += ev->len > 0;
      q += sizeof *ev + ev->len;
    }
  }
  close(fd);
  for (int i = 0; i < 6; i++)
    if (opens[i] != 1) {
      print_error("%s opened %d times (want once)\n", names[i], opens[i]);
      fail();
    }
  assert_int_equal(total, 6);
  remove_export(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_import_matches_torch),
      cmocka_unit_test(test_finite_differences),
      cmocka_unit_test(test_lspm_roundtrip),
      cmocka_unit_test(test_lspm_corrupt),
      cmocka_unit_test(test_lspm_v1_loads),
      cmocka_unit_test(test_record_fields),
      cmocka_unit_test(test_torch_errors),
      cmocka_unit_test(test_torch_refusals),
      cmocka_unit_test(test_torch_reads_each_tensor_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
