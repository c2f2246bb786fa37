/* libFuzzer harness: the model-file reader (.lspm formats 1 and 2: header,
 * graph, attributes, tensors, training record, CRC) on arbitrary bytes. A
 * random file almost never has a valid CRC, so for half of the inputs (the
 * last byte odd) the harness first writes the correct file length and CRC
 * into a format-2 file, letting the fuzzer reach the content checks. A model
 * that loads is then run forward and backward on one row and saved, so an
 * accepted file must also be a usable model. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/nn/lsp_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned char *buf = malloc(size ? size : 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  if (size >= 20 && (data[size - 1] & 1) &&
      memcmp(buf, "LSPM\x02\0\0\0", 8) == 0) {
    uint64_t len = size;
    for (int i = 0; i < 8; i++) buf[8 + i] = (unsigned char)(len >> (8 * i));
    uLong crc = crc32_z(0L, buf, size - 4);
    for (int i = 0; i < 4; i++)
      buf[size - 4 + i] = (unsigned char)(crc >> (8 * i));
  }
  lsp_model *m = NULL;
  if (lsp_model_read_lspm(buf, size, "fuzz.lspm", &m) != 0) {
    free(buf);
    return 0;
  }
  /* shapes are bounded by the loader; keep the probe small anyway */
  if (m->in_dim <= 4096 &&
      lsp_model_ws_bytes_per_row(m) <= ((size_t)64 << 20)) {
    lsp_model_ws *ws = lsp_model_ws_alloc(m, 2);
    float *x = calloc(2 * m->in_dim, sizeof *x),
          *dx = calloc(2 * m->in_dim, sizeof *dx);
    float *dz = calloc(2 * m->out_dim, sizeof *dz);
    const float *z;
    if (ws && x && dx && dz) {
      for (size_t i = 0; i < 2 * m->in_dim; i++) x[i] = (float)(i % 7) / 7.0f;
      for (size_t i = 0; i < 2 * m->out_dim; i++) dz[i] = i % 2 ? 0.5f : -0.5f;
      if (lsp_model_forward(m, ws, x, 2, &z, NULL) == 0)
        (void)lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS | LSP_BACK_INPUT,
                                 dx);
      if (lsp_model_forward_train(m, ws, x, 2, &z, NULL) == 0)
        (void)lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS | LSP_BACK_INPUT,
                                 dx);
    }
    free(x), free(dx), free(dz);
    lsp_model_ws_free(ws);
  }
  lsp_model_free(m);
  free(buf);
  return 0;
}
