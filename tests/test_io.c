/* core/base I/O: the CRC-32 of model files beyond 4 GiB (against zlib's own
 * crc32_combine algebra), and output files whose mode follows the umask. */
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crc_beyond_4gib),
      cmocka_unit_test(test_output_mode_follows_umask),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
