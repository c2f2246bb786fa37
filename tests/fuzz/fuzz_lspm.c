/* libFuzzer harness: the model-file loader (.lspm: header, shapes, sizes,
 * CRC, training record) on arbitrary bytes; a model that loads is then run
 * forward on one row, so an accepted file must also be a usable model. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/import/lsp_import.h"
#include "core/nn/lsp_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[64];
  if (!path[0])
    snprintf(path, sizeof path, "/tmp/lsp_fuzz_lspm_%d.lspm", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  lsp_model *m = NULL;
  if (lsp_model_load(path, &m) != 0) return 0;
  /* shapes are bounded by the loader; keep the probe small anyway */
  if (m->in_dim <= 4096) {
    lsp_model_ws *ws = lsp_model_ws_alloc(m, 1);
    float *x = calloc(m->in_dim, sizeof *x);
    const float *z;
    if (ws && x) (void)lsp_model_forward(m, ws, x, 1, &z, NULL);
    free(x);
    lsp_model_ws_free(ws);
  }
  lsp_model_free(m);
  return 0;
}
