/* libFuzzer harness: the public API's text inputs — options by name
 * (lsp_opts_set and the parsing in every analysis) and result paths
 * (lsp_result_number) — on arbitrary bytes. The input is lines: "name=value"
 * lines become options of a calibration (with bootstrap capped) and a logit
 * gap on fixed arrays; every other line is a path looked up in their
 * results. Nothing may crash or leak (the sanitizers watch). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lsprobe/lsprobe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const float k_z[12] = {2.0f, 0.5f, -1.0f, 0.1f, 0.3f, 1.7f,
                              -0.4f, 2.2f, 0.0f, 1.0f, 1.0f, 1.0f};
static const int32_t k_y[4] = {0, 2, 1, 0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  lsp_opts *o = lsp_opts_alloc();
  char *paths[64];
  size_t npaths = 0;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    char *eq = strchr(line, '=');
    if (eq) {
      *eq = '\0';
      /* a huge bootstrap would only make the run slow, not test parsing */
      if (strcmp(line, "bootstrap") != 0 || strlen(eq + 1) < 3)
        (void)lsp_opts_set(o, line, eq + 1);
    } else if (npaths < 64) {
      paths[npaths++] = line;
    }
  }
  lsp_matrix z = {k_z, LSP_MAT_F32, 4, 3};
  lsp_result *r[2] = {NULL, NULL};
  (void)lsp_calib_measure(&z, k_y, NULL, NULL, o, &r[0]);
  (void)lsp_logitgap_measure(&z, k_y, o, &r[1]);
  for (int k = 0; k < 2; k++) {
    if (!r[k]) continue;
    if (!lsp_result_json(r[k])) abort();
    for (size_t i = 0; i < npaths; i++) {
      double v = 0.0;
      (void)lsp_result_number(r[k], paths[i], &v);
    }
    lsp_result_free(r[k]);
  }
  lsp_opts_free(o);
  free(text);
  return 0;
}
