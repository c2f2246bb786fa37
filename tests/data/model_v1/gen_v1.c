/* gen_v1.c — imports a PyTorch export folder and saves it as .lspm; built
 * against lsprobe 158ed33 (the last commit that writes format 1) by gen_v1.sh. */
#include <stdio.h>
#include "core/import/lsp_import.h"
#include "core/base/lsp_error.h"
int main(int argc, char **argv) {
  lsp_model *m = NULL;
  if (lsp_model_import_torch(argv[1], &m)) { fprintf(stderr, "%s\n", lsp_errmsg()); return 1; }
  if (lsp_model_save(m, argv[2])) { fprintf(stderr, "%s\n", lsp_errmsg()); return 1; }
  return 0;
}
