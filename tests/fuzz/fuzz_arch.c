/* libFuzzer harness: the architecture spec grammar (lsp_model_from_spec) on
 * arbitrary text. The first byte picks the input shape (1–3 channels,
 * 1–16 pixels square) and whether a normalization layer is added; the rest
 * is the spec. A spec that builds must give a consistent model: its
 * canonical string is stable, and it runs forward and backward on two rows
 * in both modes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn/lsp_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/* A short spec can ask for a valid network of up to 2^31 parameters
 * ("mlp:556105" on 432 inputs: 241 M, 1.9 GB of weights and gradients),
 * more than the fuzzer's 2 GB memory limit. Under the sanitizer a single
 * allocation above 256 MB returns NULL instead, as malloc does on a machine
 * without the memory: such a spec takes lsp_model_from_spec's out-of-memory
 * path, which must fail cleanly (tests/fuzz/regressions/arch). */
const char *__asan_default_options(void) {
  return "allocator_may_return_null=1:max_allocation_size_mb=256";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  lsp_shape in = {(size_t)(data[0] % 3) + 1, (size_t)(data[0] >> 4) + 1,
                  (size_t)(data[0] >> 4) + 1};
  char *spec = malloc(size);
  if (!spec) return 0;
  memcpy(spec, data + 1, size - 1);
  spec[size - 1] = 0;
  const float norm[6] = {0.1f, 0.2f, 0.3f, 0.5f, 0.25f, 2.0f};
  int use_norm = (data[0] >> 2) & 1;
  lsp_model *m = NULL;
  if (lsp_model_from_spec(spec, in, 3, use_norm ? norm : NULL,
                          use_norm ? 2 * in.c : 0, &m)) {
    free(spec);
    return 0;
  }
  size_t n1 = lsp_model_arch_string(m, NULL, 0);
  char *a = malloc(n1 + 1), *b = malloc(n1 + 1);
  if (a && b) {
    lsp_model_arch_string(m, a, n1 + 1);
    lsp_model_arch_string(m, b, n1 + 1);
    if (strcmp(a, b) != 0) abort();
  }
  free(a), free(b);
  if (lsp_model_init(m, 1) == 0 &&
      lsp_model_ws_bytes_per_row(m) <= ((size_t)16 << 20)) {
    lsp_model_ws *ws = lsp_model_ws_alloc(m, 2);
    float *x = calloc(2 * m->in_dim, sizeof *x),
          *dx = calloc(2 * m->in_dim, sizeof *dx);
    float *dz = calloc(2 * m->out_dim, sizeof *dz);
    const float *z;
    if (ws && x && dx && dz) {
      for (size_t i = 0; i < 2 * m->in_dim; i++) x[i] = (float)(i % 5) / 5.0f;
      dz[0] = 0.5f, dz[1] = -0.5f;
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
  free(spec);
  return 0;
}
