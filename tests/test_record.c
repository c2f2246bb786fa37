/* The training record's encoding (core/nn/lsp_model_record.c): records
 * built byte by byte from the layout in DESIGN §3 — what the reader
 * accepts, what it refuses, and that an unknown field is kept count of (a
 * newer writer) rather than refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/nn/lsp_model.h"
#include "testutil.h"

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
  assert_string_equal(diff, "lr (0.1 vs 0.3)");
  /* several: every one named, in the table's order; a list that does not
   * fit the buffer ends in ", ..." and still counts as a difference */
  w.n_val = 1000;
  w.epochs = 25;
  char want[256];
  snprintf(want, sizeof want, "epochs (15 vs 25), lr (0.1 vs 0.3), n_val (%llu vs 1000)",
           (unsigned long long)r.n_val);
  assert_non_null(lsp_model_record_diff(&r, &w, diff, sizeof diff));
  assert_string_equal(diff, want);
  char small[40];
  assert_ptr_equal(lsp_model_record_diff(&r, &w, small, sizeof small), small);
  assert_string_equal(small, "epochs (15 vs 25), lr (0.1 vs 0.3), ...");
  char tiny[8];
  assert_ptr_equal(lsp_model_record_diff(&r, &w, tiny, sizeof tiny), tiny);
  assert_string_equal(tiny, "...");
  w.lr = r.lr;
  w.epochs = r.epochs;
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_record_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
