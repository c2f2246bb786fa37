#include "core/base/lsp_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_util.h"

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

size_t lsp_text_clean(const char *in, char *out, size_t cap) {
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)in; *p;) {
    size_t len = *p >= 0x80 ? lsp_utf8_len(p) : 1;
    char buf[8];
    if (len == 0 || *p < 0x20 || *p == 0x7f) {
      snprintf(buf, sizeof buf, "\\x%02x", *p);
      len = 1;
    } else {
      memcpy(buf, p, len);
      buf[len] = '\0';
    }
    for (const char *b = buf; *b; b++, n++)
      if (n + 1 < cap) out[n] = *b;
    p += len;
  }
  if (cap) out[n < cap ? n : cap - 1] = '\0';
  return n;
}

/* Store the message `full` (n bytes) cleaned, elided if too long. */
static void store(const char *full) {
  size_t n = lsp_text_clean(full, g_msg, sizeof g_msg);
  if (n < sizeof g_msg) return;
  char *clean = malloc(n + 1);
  if (!clean) return; /* keep the message cut off */
  lsp_text_clean(full, clean, n + 1);
  elide(clean, n);
  free(clean);
}

int lsp_fail(int status, const char *fmt, ...) {
  va_list ap, aq;
  char local[1024];
  va_start(ap, fmt);
  va_copy(aq, ap);
  int n = vsnprintf(local, sizeof local, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0, local[0] = '\0';
  if (n < (int)sizeof local) {
    store(local);
  } else {
    char *full = malloc((size_t)n + 1);
    if (full) {
      vsnprintf(full, (size_t)n + 1, fmt, aq);
      store(full);
      free(full);
    } else {
      store(local);
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
  store(full);
  free(full);
  return status;
}

const char *lsp_errmsg(void) { return g_msg; }

void lsp_clear_error(void) { g_msg[0] = '\0'; }
