/* cli_cmdline.c — the command line as a shell would take it back (cli.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/lsp_util.h"

/* Characters a POSIX shell takes literally in an unquoted word. */
static int plain_word(const char *w) {
  return *w && w[strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-")] == 0;
}

char *cli_command_line(const char *head, int argc, char **argv) {
  char *s = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&s, &n);
  if (!f) return NULL;
  fputs(head, f);
  for (int i = 1; i < argc; i++) {
    fputc(' ', f);
    if (plain_word(argv[i]))
      fputs(argv[i], f);
    else
      lsp_shell_quote(f, argv[i]);
  }
  int bad = ferror(f);
  if (fclose(f)) bad = 1;
  if (bad) {
    free(s);
    return NULL;
  }
  return s;
}
