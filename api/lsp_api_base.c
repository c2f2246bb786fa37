/* lsp_api_base.c — lsp_version, and lsp_init until core/base has its own
 * (see lsprobe/base.h). */
#include <gsl/gsl_errno.h>
#include <pthread.h>

#include "core/base/lsp_error.h"
#include "lsprobe/base.h"

#ifndef LSP_VERSION
#define LSP_VERSION "unknown"
#endif

const char *lsp_version(void) { return LSP_VERSION; }

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_once(void) { gsl_set_error_handler_off(); }

int lsp_init(void) {
  if (pthread_once(&g_once, init_once) != 0)
    return lsp_fail(LSP_EINVAL, "library initialization failed");
  return LSP_OK;
}
