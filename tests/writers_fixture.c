/* writers_fixture.c — the scratch folder and the sample table of the
 * report writers' tests (writers_fixture.h). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "writers_fixture.h"

char rw_dir[4000];

const char *rw_out(const char *name) {
  static char buf[8][8400];
  static int k;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", rw_dir, name);
  return buf[k];
}

char *rw_slurp(const char *p) {
  char *b = NULL;
  size_t len;
  assert_int_equal(lsp_read_file(p, &b, &len), LSP_OK);
  return b;
}

void rw_no_temporaries(void) {
  DIR *d = opendir(rw_dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)))
    if (strstr(e->d_name, ".tmp.")) fail_msg("left behind: %s", e->d_name);
  closedir(d);
}

int rw_setup(void **state) {
  (void)state;
  snprintf(rw_dir, sizeof rw_dir, "%s", td_tmp("writers"));
  return lsp_mkdir_p(rw_dir) ? -1 : 0;
}

int rw_teardown(void **state) {
  (void)state;
  char sub[4100];
  snprintf(sub, sizeof sub, "%s/plots", rw_dir);
  DIR *d = opendir(sub);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char p[8400];
    snprintf(p, sizeof p, "%s/%s", sub, e->d_name);
    if (e->d_name[0] != '.') unlink(p);
  }
  if (d) closedir(d);
  rmdir(sub);
  d = opendir(rw_dir);
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.') unlink(rw_out(e->d_name));
  if (d) closedir(d);
  rmdir(rw_dir);
  return 0;
}

lsp_table *rw_sample_table(void) {
  const char *cols[] = {"model", "eps", "ece", "note, with comma", "n"};
  lsp_table *t = lsp_table_alloc(5, cols);
  assert_non_null(t);
  assert_int_equal(lsp_table_row(t), LSP_OK);
  lsp_table_text(t, 0, "plain");
  lsp_table_num(t, 1, 0.1);
  lsp_table_num_ci(t, 2, 0.0123, 0.0101, 0.0149);
  lsp_table_text(t, 3, "say \"hi\"");
  lsp_table_int(t, 4, 42);
  assert_int_equal(lsp_table_row(t), LSP_OK);
  lsp_table_text(t, 0, "a,b");
  lsp_table_num(t, 1, NAN);
  lsp_table_num_ci(t, 2, 2.734141893176975, NAN, 1e-300);
  lsp_table_text(t, 3, "line\nbreak");
  lsp_table_int(t, 4, -7);
  assert_int_equal(lsp_table_row(t), LSP_OK);
  lsp_table_text(t, 0, " lead");
  lsp_table_num(t, 1, INFINITY);
  lsp_table_num(t, 2, 5e-324);
  lsp_table_text(t, 3, NULL);
  return t;
}
