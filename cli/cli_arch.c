/* cli_arch.c — the network options shared by train and run: --arch (a
 * built-in name or a spec in the grammar of docs/DESIGN.md), --hidden (the
 * MLP widths, kept as a shorthand for --arch mlp:W,W) and --normalize
 * (per-channel input normalization, a layer of the model). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/lsp_error.h"

int cli_arch_get(const char *cmd, cli_opt *opts, const char *def, char **spec,
                 float **norm, size_t *nnorm) {
  *spec = NULL;
  *norm = NULL;
  *nnorm = 0;
  int rc;
  if (cli_has(opts, "arch") && cli_has(opts, "hidden"))
    return cli_error(cmd, CLI_USAGE,
                     "--hidden W,W is --arch mlp:W,W: give one of them");
  if (cli_has(opts, "hidden")) {
    long *h = NULL;
    size_t nh = 0;
    if ((rc = cli_get_longs(cmd, opts, "hidden", "256,256", 1, 1L << 20, &h,
                            &nh)))
      return rc;
    free(h);
    const char *v = cli_str(opts, "hidden", "");
    *spec = malloc(strlen(v) + 5);
    if (*spec) strcat(strcpy(*spec, "mlp:"), v);
  } else {
    const char *v = cli_str(opts, "arch", def);
    *spec = malloc(strlen(v) + 1);
    if (*spec) strcpy(*spec, v);
  }
  if (!*spec) return cli_lib_error(cmd, lsp_fail(LSP_ENOMEM, "out of memory"));
  if (cli_has(opts, "normalize")) {
    double *d = NULL;
    if ((rc = cli_get_doubles(cmd, opts, "normalize", "", -1e6, 1e6, &d,
                              nnorm))) {
      free(*spec);
      *spec = NULL;
      return rc;
    }
    *norm = malloc((*nnorm ? *nnorm : 1) * sizeof **norm);
    if (!*norm) {
      free(d), free(*spec);
      *spec = NULL;
      return cli_lib_error(cmd, lsp_fail(LSP_ENOMEM, "out of memory"));
    }
    for (size_t i = 0; i < *nnorm; i++) (*norm)[i] = (float)d[i];
    free(d);
  }
  return CLI_OK;
}
