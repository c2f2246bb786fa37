/* libFuzzer harness: importing a PyTorch state_dict export folder. The
 * input is a little archive: a byte with the file count, then per file a
 * name byte (an index into the names below) and a 16-bit little-endian
 * length followed by the content. The files are written into a fresh
 * folder and imported; a model that loads is run forward on one row. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/import/lsp_import.h"
#include "core/nn/lsp_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *k_names[8] = {"0.weight.npy", "0.bias.npy", "2.weight.npy",
                                 "2.bias.npy",   "4.weight.npy", "4.bias.npy",
                                 "1.weight.npy", "10.bias.npy"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char dir[64];
  if (!dir[0]) snprintf(dir, sizeof dir, "/tmp/lsp_fuzz_torch_%d", (int)getpid());
  mkdir(dir, 0700);
  char path[128];
  for (int i = 0; i < 8; i++) { /* start from an empty folder */
    snprintf(path, sizeof path, "%s/%s", dir, k_names[i]);
    unlink(path);
  }
  if (size < 1) return 0;
  size_t nfiles = data[0] % 8, pos = 1;
  for (size_t f = 0; f < nfiles && pos + 3 <= size; f++) {
    const char *name = k_names[data[pos] % 8];
    size_t len = (size_t)data[pos + 1] | ((size_t)data[pos + 2] << 8);
    pos += 3;
    if (len > size - pos) len = size - pos;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    fwrite(data + pos, 1, len, fp);
    fclose(fp);
    pos += len;
  }
  lsp_model *m = NULL;
  if (lsp_model_import_torch(dir, &m, NULL, 0) != 0) return 0;
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
