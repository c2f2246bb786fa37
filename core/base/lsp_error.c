#include "core/base/lsp_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char g_msg[1024];

/* A message longer than the buffer (a very long path, say) keeps its start
 * and its end, where the reason is, with "…" between: never a message cut
 * off before it says why. Cuts fall on UTF-8 character boundaries. */
enum { HEAD = 320 };

static int is_cont(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

static void elide(const char *full, size_t n) {
  static const char dots[] = "\xe2\x80\xa6"; /* … */
  size_t head = HEAD, tail = sizeof g_msg - 1 - HEAD - (sizeof dots - 1);
  while (head > 0 && is_cont(full[head])) head--;
  size_t from = n - tail;
  while (from < n && is_cont(full[from])) from++;
  memcpy(g_msg, full, head);
  memcpy(g_msg + head, dots, sizeof dots - 1);
  memcpy(g_msg + head + sizeof dots - 1, full + from, n - from);
  g_msg[head + sizeof dots - 1 + n - from] = '\0';
}

int lsp_fail(int status, const char *fmt, ...) {
  va_list ap, aq;
  va_start(ap, fmt);
  va_copy(aq, ap);
  int n = vsnprintf(g_msg, sizeof g_msg, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof g_msg) {
    char *full = malloc((size_t)n + 1);
    if (full) {
      vsnprintf(full, (size_t)n + 1, fmt, aq);
      elide(full, (size_t)n);
      free(full);
    }
  }
  va_end(aq);
  return status;
}

int lsp_fail_prefix(int status, const char *prefix) {
  size_t pl = strlen(prefix), ml = strlen(g_msg), n = pl + 2 + ml;
  char *full = malloc(n + 1);
  if (!full) return status; /* keep the message as it is */
  memcpy(full, prefix, pl);
  memcpy(full + pl, ": ", 2);
  memcpy(full + pl + 2, g_msg, ml + 1);
  if (n < sizeof g_msg)
    memcpy(g_msg, full, n + 1);
  else
    elide(full, n);
  free(full);
  return status;
}

const char *lsp_errmsg(void) { return g_msg; }

void lsp_clear_error(void) { g_msg[0] = '\0'; }
