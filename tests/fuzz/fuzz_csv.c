/* libFuzzer harness: the CSV dataset reader (label first, optional header,
 * numbers, ragged rows) on arbitrary text. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "core/data/lsp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[64];
  if (!path[0]) snprintf(path, sizeof path, "/tmp/lsp_fuzz_csv_%d.csv", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  lsp_dataset d = {0};
  if (lsp_csv_read(path, &d) == 0) {
    volatile float s = 0; /* touch what the reader claims to hold */
    (void)s;
    for (size_t i = 0; i < d.n * d.dim; i++) s += d.x[i];
    for (size_t i = 0; i < d.n; i++) s += (float)d.y[i];
    lsp_dataset_free(&d);
  }
  return 0;
}
