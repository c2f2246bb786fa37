/* lsp_api_base.c — lsp_version (lsprobe/base.h). */
#include "lsprobe/base.h"

#ifndef LSP_VERSION
#define LSP_VERSION "unknown"
#endif

const char *lsp_version(void) {
  return LSP_VERSION;
}
