/* Tests of the .npy reader/writer: files written by NumPy (the PyTorch
 * dumps in tests/data), round trips, memory mapping, malformed files, and
 * the same files through a pipe. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/formats/lsp_npy_rows.h"
#include "testutil.h"

static void write_bytes(const char *path, const void *b, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b, 1, n, f), n);
  fclose(f);
}

/* A v1.0 file with the given header dict and `nbytes` of data bytes. */
static void write_npy_raw(const char *path, const char *dict, size_t nbytes,
                          int major) {
  unsigned char buf[4096];
  size_t dl = strlen(dict), pre = major == 1 ? 10 : 12;
  size_t total = pre + dl + 1, pad = (64 - total % 64) % 64, hl = dl + pad + 1;
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  buf[8] = (unsigned char)(hl & 0xff);
  buf[9] = (unsigned char)(hl >> 8);
  if (major != 1) buf[10] = buf[11] = 0;
  memcpy(buf + pre, dict, dl);
  memset(buf + pre + dl, ' ', pad);
  buf[pre + hl - 1] = '\n';
  for (size_t i = 0; i < nbytes; i++) buf[pre + hl + i] = (unsigned char)(i * 37);
  write_bytes(path, buf, pre + hl + nbytes);
}

static void expect_fail(const char *path, const char *needle) {
  lsp_array a;
  int st = lsp_npy_read(path, &a);
  if (st == 0) {
    print_error("%s: expected failure containing '%s'\n", path, needle);
    lsp_array_release(&a);
    fail();
  }
  if (!strstr(lsp_errmsg(), needle) || !strstr(lsp_errmsg(), path)) {
    print_error("message '%s' lacks '%s' or the path\n", lsp_errmsg(), needle);
    fail();
  }
  lsp_array_release(&a); /* safe on a failed read */
}

/* The bytes of file src through a pipe, written by a child process; name
 * gets the read end's path (/dev/fd/N). Returns the child; pipe_done
 * closes the read end and waits for it. */
static pid_t pipe_from(const char *src, int *rfd, char *name, size_t len) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  const pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    FILE *f = fopen(src, "rb");
    char buf[65536];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0)
      if (write(fds[1], buf, n) != (ssize_t)n) break;
    _exit(0);
  }
  close(fds[1]);
  *rfd = fds[0];
  snprintf(name, len, "/dev/fd/%d", fds[0]);
  return pid;
}

static void pipe_done(pid_t pid, int rfd) {
  close(rfd);
  waitpid(pid, NULL, 0);
}

/* expect_fail for the file's bytes through a pipe: the same needle, the
 * pipe's path in the message */
static void expect_fail_pipe(const char *src, const char *needle) {
  int fd;
  char name[64];
  const pid_t pid = pipe_from(src, &fd, name, sizeof name);
  expect_fail(name, needle);
  pipe_done(pid, fd);
}

/* A file read through a pipe: the same dtype, shape and bytes. */
static void same_through_pipe(const char *src) {
  lsp_array a, b;
  assert_int_equal(lsp_npy_read(src, &a), 0);
  int fd;
  char name[64];
  const pid_t pid = pipe_from(src, &fd, name, sizeof name);
  assert_int_equal(lsp_npy_read(name, &b), 0);
  pipe_done(pid, fd);
  assert_int_equal(a.dtype, b.dtype);
  assert_int_equal(a.ndim, b.ndim);
  for (int d = 0; d < a.ndim; d++) assert_int_equal(a.shape[d], b.shape[d]);
  assert_int_equal(a.count, b.count);
  assert_memory_equal(a.data, b.data, a.count * lsp_dtype_size(a.dtype));
  lsp_array_release(&a);
  lsp_array_release(&b);
}

/* Files written by NumPy: dtype and shape as NumPy declared them, values
 * spot-checked against case.json of the PyTorch case. */
static void test_numpy_files(void **state) {
  (void)state;
  lsp_array a;
  td_load("torch_mlp_tiny/0.weight.npy", &a);
  assert_int_equal(a.dtype, LSP_DT_F32);
  assert_int_equal(a.ndim, 2);
  assert_int_equal(a.shape[0], 16);
  assert_int_equal(a.shape[1], 8);
  lsp_array_release(&a);
  td_load("torch_mlp_tiny/labels.npy", &a);
  assert_int_equal(a.dtype, LSP_DT_I64);
  assert_int_equal(a.ndim, 1);
  assert_int_equal(a.shape[0], 32);
  int32_t *y;
  assert_int_equal(lsp_array_labels(&a, "labels", 3, &y), 0);
  for (int i = 0; i < 32; i++) assert_true(y[i] >= 0 && y[i] < 3);
  free(y);
  lsp_array_release(&a);
  td_load("torch_mlp_tiny/x.npy", &a);
  const float *x = a.data;
  for (size_t i = 0; i < a.count; i++) assert_true(x[i] >= 0.0f && x[i] <= 1.0f);
  lsp_array_release(&a);
}

static void test_round_trip_all_dtypes(void **state) {
  (void)state;
  const char *p = td_tmp("rt.npy");
  float f[6] = {2.385f, -1e-30f, 3e38f, 0.0f, -0.0f, 1.5f};
  double d[6] = {2.385, -1e-300, 1e300, 0, -0.0, 1.5};
  int32_t i4[6] = {0, -1, 2147483647, -2147483647, 7, 8};
  int64_t i8[6] = {0, -1, 1ll << 40, -(1ll << 40), 7, 8};
  uint8_t u1[6] = {0, 1, 127, 128, 254, 255};
  const void *src[5] = {f, d, i4, i8, u1};
  lsp_dtype dt[5] = {LSP_DT_F32, LSP_DT_F64, LSP_DT_I32, LSP_DT_I64, LSP_DT_U8};
  size_t shapes[3][3] = {{6, 0, 0}, {2, 3, 0}, {1, 2, 3}};
  for (int t = 0; t < 5; t++)
    for (int s = 0; s < 3; s++) {
      int nd = s + 1;
      assert_int_equal(lsp_npy_write(p, dt[t], nd, shapes[s], src[t]), 0);
      lsp_array a;
      assert_int_equal(lsp_npy_read(p, &a), 0);
      assert_int_equal(a.dtype, dt[t]);
      assert_int_equal(a.ndim, nd);
      for (int k = 0; k < nd; k++) assert_int_equal(a.shape[k], shapes[s][k]);
      assert_int_equal(a.count, 6);
      assert_memory_equal(a.data, src[t], 6 * lsp_dtype_size(dt[t]));
      lsp_array_release(&a);
      /* the header is what NumPy writes: total length a multiple of 64 */
      struct stat sb;
      assert_int_equal(stat(p, &sb), 0);
      assert_int_equal(((size_t)sb.st_size - 6 * lsp_dtype_size(dt[t])) % 64, 0);
    }
  /* 0-d and empty arrays */
  assert_int_equal(lsp_npy_write(p, LSP_DT_F64, 0, NULL, d), 0);
  lsp_array a;
  assert_int_equal(lsp_npy_read(p, &a), 0);
  assert_int_equal(a.ndim, 0);
  assert_int_equal(a.count, 1);
  assert_true(((const double *)a.data)[0] == 2.385);
  lsp_array_release(&a);
  size_t zero[2] = {0, 5};
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 2, zero, f), 0);
  assert_int_equal(lsp_npy_read(p, &a), 0);
  assert_int_equal(a.count, 0);
  lsp_array_release(&a);
  unlink(p);
}

/* Large files (a buffer on huge pages) read back the same. */
static void test_large_file(void **state) {
  (void)state;
  const char *p = td_tmp("big.npy");
  size_t n = 600000;
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = (float)i * 0.5f;
  size_t shape[2] = {n / 10, 10};
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 2, shape, v), 0);
  lsp_array a;
  assert_int_equal(lsp_npy_read(p, &a), 0);
  assert_non_null(a.heap);
  assert_memory_equal(a.data, v, n * sizeof *v);
  lsp_array_release(&a);
  free(v);
  unlink(p);
}

static void test_v2_header(void **state) {
  (void)state;
  const char *p = td_tmp("v2.npy");
  write_npy_raw(p, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", 12, 2);
  lsp_array a;
  assert_int_equal(lsp_npy_read(p, &a), 0);
  assert_int_equal(a.dtype, LSP_DT_I32);
  assert_int_equal(a.count, 3);
  lsp_array_release(&a);
  unlink(p);
}

/* expect_fail, on the file and through a pipe */
static void expect_fail2(const char *path, const char *needle) {
  expect_fail(path, needle);
  expect_fail_pipe(path, needle);
}

static void test_malformed(void **state) {
  (void)state;
  char p[4096];
  snprintf(p, sizeof p, "%s", td_tmp("bad.npy"));
  /* bytes that are no .npy: each named for what it is */
  static const struct {
    const char *bytes;
    size_t len;
    const char *needle;
  } raw[] = {
      {"", 0, "not a .npy file"},
      {"PK\x03\x04 this is a zip", 18,
       "a zip archive: a .npz from np.savez, or a PyTorch .pt; save each array with np.save"},
      {"PK\x03\x04", 4, "a zip archive"},
      {"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}", 12, "a Python pickle"},
      {"\x89HDF\r\n\x1a\n\x00\x00\x00\x00", 12, "an HDF5 file"},
      {"just some text, not an array", 28, "bad magic"},
      {"hello\n", 6, "not a .npy file (bad magic)"}, /* short, not the magic: not "truncated" */
      {"\x93NUMPY\x01", 7, "truncated"},
  };
  for (size_t i = 0; i < sizeof raw / sizeof *raw; i++) {
    write_bytes(p, raw[i].bytes, raw[i].len);
    expect_fail2(p, raw[i].needle);
  }
  write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20, 1);
  expect_fail2(p, "truncated data");
  write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, 1);
  expect_fail2(p, "unexpected bytes");
  write_npy_raw(p, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, 1);
  expect_fail2(p, "big-endian");
  write_npy_raw(p, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8, 1);
  expect_fail2(p, "Fortran");
  write_npy_raw(p, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, 1);
  expect_fail2(p, "unsupported dtype");
  write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8, 1);
  expect_fail2(p, "negative dimension");
  write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999, 99999999999999), }", 8, 1);
  expect_fail2(p, "");
  write_npy_raw(p, "{'descr': '<f4', 'shape': (2,), }", 8, 1);
  expect_fail2(p, "lacks");
  write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8, 1);
  expect_fail2(p, "unexpected or repeated key");
  write_npy_raw(p, "['descr', '<f4']", 8, 1);
  expect_fail2(p, "malformed");
  write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, 9);
  expect_fail2(p, "version");
  expect_fail("/nonexistent/dir/x.npy", "No such file");
  expect_fail(LSP_TEST_DATA, "is a directory");
  unlink(p);
}

/* The 4-row-or-fewer file src through a pipe, read in ranges of `half`
 * rows: the first range read, the second refused with `needle`. */
static void pipe_end_fails(const char *src, size_t half, const char *needle) {
  int fd;
  char name[64];
  float got[12];
  const pid_t pid = pipe_from(src, &fd, name, sizeof name);
  lsp_npy_rows f;
  assert_int_equal(lsp_npy_rows_open(name, &f), 0);
  assert_int_equal(lsp_npy_rows_read(&f, 0, half, got), 0);
  assert_int_equal(lsp_npy_rows_read(&f, half, half, got), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), needle));
  lsp_npy_rows_close(&f);
  pipe_done(pid, fd);
}

/* Pipes: the test data and an int32, an empty and a v2 array read to the
 * same bytes; a header that claims far more than the stream holds is
 * refused as truncated (the buffer grows with what arrives); rows of a
 * pipe read front to back (lsp_npy_rows). */
static void test_pipes(void **state) {
  (void)state;
  char p[4096];
  snprintf(p, sizeof p, "%s/torch_mlp_tiny/x.npy", LSP_TEST_DATA);
  same_through_pipe(p);
  snprintf(p, sizeof p, "%s/torch_mlp_tiny/labels.npy", LSP_TEST_DATA);
  same_through_pipe(p);
  snprintf(p, sizeof p, "%s", td_tmp("pipe.npy"));
  write_npy_raw(p, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", 12, 2);
  same_through_pipe(p);
  write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", 0, 1);
  same_through_pipe(p);
  write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824,), }", 8, 1);
  expect_fail_pipe(p, "truncated data (header says 4294967296 bytes, the stream ended after 8)");
  /* rows, front to back: a range read again from its start comes from the
   * kept range, rows skipped forward, going back refused */
  const float v[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  const size_t shape[2] = {4, 3};
  assert_int_equal(lsp_npy_write(p, LSP_DT_F32, 2, shape, v), 0);
  int fd;
  char name[64];
  pid_t pid = pipe_from(p, &fd, name, sizeof name);
  lsp_npy_rows f;
  assert_int_equal(lsp_npy_rows_open(name, &f), 0);
  assert_int_equal(f.pipe, 1);
  assert_int_equal(f.row_bytes, 12);
  float got[6];
  assert_int_equal(lsp_npy_rows_read(&f, 0, 1, got), 0);
  assert_memory_equal(got, v, 3 * sizeof *got);
  assert_int_equal(lsp_npy_rows_read(&f, 0, 2, got), 0); /* row 0 kept, row 1 read */
  assert_memory_equal(got, v, 6 * sizeof *got);
  assert_int_equal(lsp_npy_rows_read(&f, 3, 1, got), 0); /* row 2 skipped */
  assert_memory_equal(got, v + 9, 3 * sizeof *got);
  assert_int_equal(lsp_npy_rows_read(&f, 2, 1, got), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "read once, front to back"));
  assert_int_equal(lsp_npy_rows_read(&f, 3, 2, got), LSP_EIO); /* past the end */
  lsp_npy_rows_close(&f);
  pipe_done(pid, fd);
  lsp_npy_rows_close(&f); /* twice: safe */
  /* the stream's end: short, or bytes after the last row */
  char q[4096];
  snprintf(q, sizeof q, "%s", td_tmp("pipe_end.npy"));
  write_npy_raw(q, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", 24, 1);
  pipe_end_fails(q, 2, "truncated data (header says 48 bytes, the stream ended after 24)");
  write_npy_raw(q, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 29, 1);
  pipe_end_fails(q, 1, "5 unexpected bytes after the data");
  unlink(q);
  unlink(p);
}

static void test_labels_conversion(void **state) {
  (void)state;
  lsp_array a = {0};
  float fl[3] = {0.0f, 2.0f, 1.0f};
  a.dtype = LSP_DT_F32;
  a.ndim = 1;
  a.shape[0] = 3;
  a.count = 3;
  a.data = fl;
  int32_t *y;
  assert_int_equal(lsp_array_labels(&a, "y.npy", 3, &y), 0);
  assert_int_equal(y[1], 2);
  free(y);
  fl[1] = 1.5f;
  assert_int_equal(lsp_array_labels(&a, "y.npy", 3, &y), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "not an integer"));
  fl[1] = 3.0f;
  assert_int_equal(lsp_array_labels(&a, "y.npy", 3, &y), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "out of range"));
  fl[1] = NAN;
  assert_int_equal(lsp_array_labels(&a, "y.npy", 3, &y), LSP_EDATA);
  int64_t big[2] = {1, 1ll << 40};
  a.dtype = LSP_DT_I64;
  a.count = a.shape[0] = 2;
  a.data = big;
  assert_int_equal(lsp_array_labels(&a, "y.npy", 0, &y), LSP_EDATA);
  a.ndim = 2;
  a.shape[1] = 2;
  assert_int_equal(lsp_array_labels(&a, "y.npy", 0, &y), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "1-D"));
  /* f32 view rejects NaN with its position */
  float m[4] = {1, 2, INFINITY, 4};
  lsp_array b = {0};
  b.dtype = LSP_DT_F32;
  b.ndim = 2;
  b.shape[0] = b.shape[1] = 2;
  b.count = 4;
  b.data = m;
  const float *v;
  float *own;
  assert_int_equal(lsp_array_f32(&b, "m.npy", 1, &v, &own), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "row 1, column 0"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numpy_files),
      cmocka_unit_test(test_round_trip_all_dtypes),
      cmocka_unit_test(test_large_file),
      cmocka_unit_test(test_v2_header),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_pipes),
      cmocka_unit_test(test_labels_conversion),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
