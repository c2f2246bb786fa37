/* libFuzzer harness: the IDX reader (magic, dtype, dimensions, sizes, plain
 * and gzip streams) on arbitrary bytes. The first input byte chooses
 * whether the rest is written as is or gzip-compressed first, so both paths
 * of the reader see mutated content. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "core/data/lsp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static char path[64];
  if (!path[0]) snprintf(path, sizeof path, "/tmp/lsp_fuzz_idx_%d-ubyte", (int)getpid());
  if (data[0] & 1) {
    gzFile g = gzopen(path, "wb");
    if (!g) return 0;
    if (size > 1) gzwrite(g, data + 1, (unsigned)(size - 1));
    gzclose(g);
  } else {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
  }
  uint8_t *v = NULL;
  size_t dims[LSP_IDX_MAXDIM];
  int nd = 0;
  if (lsp_idx_read(path, &v, dims, &nd) == 0) {
    size_t count = 1;
    for (int i = 0; i < nd; i++) count *= dims[i];
    volatile unsigned sum = 0; /* touch every byte the reader claims */
    (void)sum;
    for (size_t i = 0; i < count; i++) sum += v[i];
    free(v);
  }
  return 0;
}
