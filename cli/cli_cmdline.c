/* cli_cmdline.c — the command line as a shell would take it back (cli.h). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Characters a POSIX shell takes literally in an unquoted word. */
static int plain_word(const char *w) {
  if (!*w) return 0;
  for (const char *p = w; *p; p++)
    if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-", *p))
      return 0;
  return 1;
}

/* The length of w as one shell word, quoted when it has to be. */
static size_t word_len(const char *w) {
  if (plain_word(w)) return strlen(w);
  size_t n = 2;
  for (const char *p = w; *p; p++) n += *p == '\'' ? 4 : 1;
  return n;
}

static char *put_word(char *o, const char *w) {
  if (plain_word(w)) {
    size_t n = strlen(w);
    memcpy(o, w, n);
    return o + n;
  }
  *o++ = '\'';
  for (const char *p = w; *p; p++) {
    if (*p == '\'') {
      memcpy(o, "'\\''", 4);
      o += 4;
    } else {
      *o++ = *p;
    }
  }
  *o++ = '\'';
  return o;
}

char *cli_command_line(const char *head, int argc, char **argv) {
  size_t n = strlen(head) + 1;
  for (int i = 1; i < argc; i++) n += 1 + word_len(argv[i]);
  char *s = malloc(n);
  if (!s) return NULL;
  size_t h = strlen(head);
  memcpy(s, head, h);
  char *o = s + h;
  for (int i = 1; i < argc; i++) {
    *o++ = ' ';
    o = put_word(o, argv[i]);
  }
  *o = '\0';
  return s;
}
