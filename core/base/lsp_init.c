/* lsp_init.c — see lsp_init.h. */
#include "core/base/lsp_init.h"

#include <gsl/gsl_errno.h>
#include <pthread.h>

#include "core/base/lsp_error.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_once(void) { gsl_set_error_handler_off(); }

int lsp_init(void) {
  if (pthread_once(&g_once, init_once) != 0)
    return lsp_fail(LSP_EINVAL, "library initialization failed");
  return LSP_OK;
}
