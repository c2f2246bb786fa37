/* lsp_init.c — see lsp_init.h. */
#include "core/base/lsp_init.h"

#include <gsl/gsl_errno.h>
#include <pthread.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_atfork; /* pthread_atfork's status, kept by init_once */

static void init_once(void) {
  gsl_set_error_handler_off();
  g_atfork = pthread_atfork(NULL, NULL, lsp_threads_after_fork);
}

int lsp_init(void) {
  if (pthread_once(&g_once, init_once) != 0)
    return lsp_fail(LSP_EINVAL, "library initialization failed");
  if (g_atfork)
    return lsp_fail(LSP_ENOMEM,
                    "library initialization failed: no fork handler (%s)",
                    strerror(g_atfork));
  return LSP_OK;
}
