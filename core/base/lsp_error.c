#include "core/base/lsp_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char g_msg[1024];

int lsp_fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_msg, sizeof g_msg, fmt, ap);
  va_end(ap);
  return status;
}

int lsp_fail_prefix(int status, const char *prefix) {
  size_t pl = strlen(prefix), ml = strlen(g_msg);
  if (pl + 2 >= sizeof g_msg) pl = sizeof g_msg - 3;
  if (pl + 2 + ml >= sizeof g_msg) ml = sizeof g_msg - 3 - pl;
  memmove(g_msg + pl + 2, g_msg, ml);
  memcpy(g_msg, prefix, pl);
  g_msg[pl] = ':';
  g_msg[pl + 1] = ' ';
  g_msg[pl + 2 + ml] = '\0';
  return status;
}

const char *lsp_errmsg(void) { return g_msg; }

void lsp_clear_error(void) { g_msg[0] = '\0'; }
