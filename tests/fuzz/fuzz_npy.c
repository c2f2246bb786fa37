/* libFuzzer harness: the .npy reader (header parser, size checks, data read,
 * label and float conversions, the mix-up checks) on arbitrary bytes, and
 * the reader of pipes (front to back, lsp_npy_read_stream) against it: the
 * same bytes must be accepted or refused alike, and read to the same array. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/formats/lsp_arraycheck.h"
#include "core/formats/lsp_npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* the parser on memory */
  lsp_array h;
  size_t off;
  (void)lsp_npy_parse_header(data, size, "fuzz.npy", &h, &off);
  /* the whole reader through a file */
  static char path[64];
  if (!path[0]) snprintf(path, sizeof path, "/tmp/lsp_fuzz_npy_%d.npy", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  lsp_array a, b;
  const int st = lsp_npy_read(path, &a);
  const int fd = open(path, O_RDONLY);
  if (fd >= 0) { /* read front to back, as from a pipe */
    const int sb = lsp_npy_read_stream(fd, path, &b);
    close(fd);
    if ((st == 0) != (sb == 0)) abort();
    if (sb == 0) {
      const size_t n = a.count * lsp_dtype_size(a.dtype);
      if (a.dtype != b.dtype || a.ndim != b.ndim || a.count != b.count ||
          memcmp(a.shape, b.shape, sizeof a.shape) != 0 || (n && memcmp(a.data, b.data, n) != 0))
        abort();
      lsp_array_release(&b);
    }
  }
  if (st == 0) {
    const float *v;
    float *own = NULL;
    if (lsp_array_f32(&a, path, 1, &v, &own) == 0) free(own);
    int32_t *y = NULL;
    if (lsp_array_labels(&a, path, 10, &y) == 0) free(y);
    (void)lsp_array_finite(&a, path);
    (void)lsp_array_not_probs(&a, path, "use --probs");
    lsp_array_release(&a);
  }
  return 0;
}
