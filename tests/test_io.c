/* core/base I/O: the CRC-32 of model files beyond 4 GiB (against zlib's own
 * crc32_combine algebra), output files whose mode follows the umask, and
 * the table of temporaries a fatal signal's handler removes. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "testutil.h"

/* CRC-32 of `n` zero bytes, n a power of two, by doubling with zlib's
 * crc32_combine (GF(2) algebra on the CRCs: no pass over the bytes). */
static uLong crc_of_zeros(z_off_t n) {
  unsigned char z = 0;
  uLong c = crc32(0L, &z, 1);
  for (z_off_t len = 1; len < n; len *= 2) c = crc32_combine(c, c, len);
  return c;
}

/* 4 GiB of zeros followed by 5 bytes: a 32-bit length would see only the
 * 5 bytes (2^32 + 5 truncates to 5) and give their CRC. The zero pages of an
 * anonymous mapping cost no memory; only the last page is written. */
static void test_crc_beyond_4gib(void **state) {
  (void)state;
  const size_t zeros = (size_t)1 << 32, len = zeros + 5;
  unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    print_error("cannot map %zu bytes of address space\n", len);
    fail();
  }
  const unsigned char tail[5] = {0x4c, 0x53, 0x50, 0x4d, 0x02};
  memcpy(p + zeros, tail, sizeof tail);
  uLong want = crc32_combine(crc_of_zeros((z_off_t)zeros),
                             crc32(0L, tail, sizeof tail), sizeof tail);
  uint32_t got = lsp_crc32(p, len);
  munmap(p, len);
  if (got != (uint32_t)want) {
    print_error("CRC of 4 GiB + 5 bytes: got %08x, want %08lx\n", got, want);
    fail();
  }
  /* and a short buffer against zlib directly */
  assert_int_equal(lsp_crc32(tail, 5), (uint32_t)crc32(0L, tail, 5));
  assert_int_equal(lsp_crc32(tail, 0), 0u);
}

/* An output file gets 0666 minus the process's umask, like any file the
 * program creates. */
static void test_output_mode_follows_umask(void **state) {
  (void)state;
  const char *modes[2] = {"022", "027"};
  for (int i = 0; i < 2; i++) {
    mode_t um = (mode_t)strtol(modes[i], NULL, 8);
    mode_t old = umask(um);
    char path[512];
    snprintf(path, sizeof path, "%s", td_tmp("mode.txt"));
    assert_int_equal(lsp_write_file_atomic(path, "x\n", 2), LSP_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0666 & ~um);
    unlink(path);
    umask(old);
  }
}

/* lsp_out_unlink_live removes exactly the temporaries still open: not
 * the committed or aborted ones, not the final names; beyond its 64 slots
 * a temporary is not tracked (and not removed). */
static void test_unlink_live(void **state) {
  (void)state;
  enum { N = 70 };
  static lsp_outfile o[N];
  char path[512];
  assert_int_equal(lsp_out_unlink_live(), 0);
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s", td_tmp(i == 0 ? "live0" : i == 1 ? "live1" : "live2"));
    assert_int_equal(lsp_out_open(&o[i], path), LSP_OK);
    fputs("x\n", o[i].fp);
  }
  assert_int_equal(lsp_out_commit(&o[1]), LSP_OK); /* live1 in place */
  char *tmp0 = strdup(o[0].tmp_path), *tmp2 = strdup(o[2].tmp_path);
  assert_non_null(tmp0);
  assert_non_null(tmp2);
  assert_int_equal(access(tmp0, F_OK), 0);
  assert_int_equal(lsp_out_unlink_live(), 2);
  assert_int_not_equal(access(tmp0, F_OK), 0);
  assert_int_not_equal(access(tmp2, F_OK), 0);
  assert_int_equal(access(td_tmp("live1"), F_OK), 0);
  lsp_out_abort(&o[0]); /* the name is gone already: no error, no crash */
  lsp_out_abort(&o[2]);
  assert_int_equal(lsp_out_unlink_live(), 0);
  free(tmp0);
  free(tmp2);
  unlink(td_tmp("live1"));
  /* more open at once than the table holds */
  for (int i = 0; i < N; i++) {
    snprintf(path, sizeof path, "%smany%02d", td_tmp(""), i);
    assert_int_equal(lsp_out_open(&o[i], path), LSP_OK);
  }
  char *last = strdup(o[N - 1].tmp_path);
  assert_non_null(last);
  assert_int_equal(lsp_out_unlink_live(), 64);
  assert_int_equal(access(last, F_OK), 0); /* the untracked one is still there */
  for (int i = 0; i < N; i++) lsp_out_abort(&o[i]);
  assert_int_not_equal(access(last, F_OK), 0);
  free(last);
  /* slots are reused once released */
  snprintf(path, sizeof path, "%s", td_tmp("live3"));
  assert_int_equal(lsp_out_open(&o[0], path), LSP_OK);
  assert_int_equal(lsp_out_unlink_live(), 1);
  lsp_out_abort(&o[0]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crc_beyond_4gib),
      cmocka_unit_test(test_output_mode_follows_umask),
      cmocka_unit_test(test_unlink_live),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
