/* plot_fixture.h — what the plot tests (test_plot, test_plot_legend)
 * share: a scratch folder per process, reading a whole file back with
 * plain stdio, whether gnuplot is installed, and the clean-up. Static
 * definitions: each test program gets its own. */
#ifndef PLOT_FIXTURE_H
#define PLOT_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/lsp_io.h"
#include "reports/lsp_plot.h"
#include "testutil.h"

static char g_dir[4096];
static int g_have_gnuplot;

/* A file of the scratch folder. */
static inline const char *out(const char *name) {
  static char buf[8192];
  snprintf(buf, sizeof buf, "%s/%s", g_dir, name);
  return buf;
}

/* Read a whole file with plain stdio (independent of core/base/lsp_io),
 * NUL-terminated; its length into *len unless len is NULL. */
static inline char *slurp(const char *p, size_t *len) {
  FILE *f = fopen(p, "rb");
  if (!f) fail_msg("cannot open %s", p);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  b[n] = '\0';
  if (len) *len = (size_t)n;
  return b;
}

/* The scratch folder td_tmp(name), and gnuplot looked up on PATH (an
 * LSPROBE_GNUPLOT of the caller's environment dropped). */
static inline int plot_fixture_setup(const char *name) {
  snprintf(g_dir, sizeof g_dir, "%s", td_tmp(name));
  if (lsp_mkdir_p(g_dir)) return -1;
  unsetenv("LSPROBE_GNUPLOT");
  g_have_gnuplot = lsp_plot_available() == LSP_OK;
  return 0;
}

/* Remove the scratch pictures (the folder is per process). */
static inline int teardown(void **state) {
  (void)state;
  DIR *d = opendir(g_dir);
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') unlink(out(e->d_name));
  closedir(d);
  rmdir(g_dir);
  return 0;
}

#define NEED_GNUPLOT()                                     \
  do {                                                     \
    if (!g_have_gnuplot) {                                 \
      fprintf(stderr, "gnuplot not installed: skipped\n"); \
      skip();                                              \
    }                                                      \
  } while (0)

#endif
