/* outdir_fixture.h — shared by tests/test_outdir*.c: a scratch folder, a
 * fake job that publishes report version v through lsp_outdir, the user's
 * files (a thesis at the top, a figure inside plots/, notes inside dumps/,
 * a file in the model cache, a read-only folder, a symbolic link) and
 * checks on all of them. Everything is `static inline` so a test file that
 * uses part of it compiles without warnings. */
#ifndef LSP_OUTDIR_FIXTURE_H
#define LSP_OUTDIR_FIXTURE_H

#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_proc.h"
#include "reports/lsp_manifest.h"
#include "reports/lsp_outdir.h"
#include "testutil.h"

static char g_root[4096], g_out[4200];

static inline char *pathf(const char *fmt, const char *a) {
  char *s = lsp_strdupf(fmt, a);
  assert_non_null(s);
  return s;
}

static inline void put(const char *dir, const char *rel, const char *text) {
  char *p = lsp_strdupf("%s/%s", dir, rel);
  char *slash = strrchr(p, '/');
  *slash = 0;
  assert_int_equal(lsp_mkdir_p(p), LSP_OK);
  *slash = '/';
  assert_int_equal(lsp_write_file_atomic(p, text, strlen(text)), LSP_OK);
  free(p);
}

/* Content of dir/rel, or NULL if absent. */
static inline char *get(const char *dir, const char *rel) {
  char *p = lsp_strdupf("%s/%s", dir, rel), *text = NULL;
  size_t n;
  struct stat sb;
  int ok = lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && lsp_read_file(p, &text, &n) == LSP_OK;
  free(p);
  return ok ? text : NULL;
}

static inline int exists(const char *dir, const char *rel) {
  char *p = lsp_strdupf("%s/%s", dir, rel);
  struct stat sb;
  int e = lstat(p, &sb) == 0;
  free(p);
  return e;
}

/* ---- a fake report, version v ------------------------------------------------- */

static const char *common[] = {"report.html", "results.json", "plots/a.svg", "dumps/m/x.npy"};

static inline void report_files(int v, const char **f, int *n) {
  static char extra[2][32];
  *n = 0;
  for (int i = 0; i < 4; i++) f[(*n)++] = common[i];
  snprintf(extra[0], sizeof extra[0], "%s", v % 2 ? "plots/b.svg" : "plots/c.png");
  snprintf(extra[1], sizeof extra[1], "dumps/m%d/y.npy", v);
  f[(*n)++] = extra[0];
  f[(*n)++] = extra[1];
}

static inline void write_report(const char *stage, int v) {
  const char *f[8];
  int n;
  report_files(v, f, &n);
  for (int i = 0; i < n; i++) {
    char text[64];
    snprintf(text, sizeof text, "v%d:%s", v, f[i]);
    put(stage, f[i], text);
  }
}

/* Which complete report OUT holds: v (every file of version v, nothing
 * of another), or -1 for none or a mixture. */
static inline int report_version(const char *out) {
  for (int v = 1; v <= 3; v++) {
    const char *f[8];
    int n, ok = 1;
    report_files(v, f, &n);
    for (int i = 0; i < n && ok; i++) {
      char want[64], *got = get(out, f[i]);
      snprintf(want, sizeof want, "v%d:%s", v, f[i]);
      ok = got && !strcmp(got, want);
      free(got);
    }
    for (int w = 1; w <= 3 && ok; w++) {
      if (w == v) continue;
      char other[32];
      snprintf(other, sizeof other, "dumps/m%d", w);
      ok = !exists(out, other);
    }
    if (ok && exists(out, v % 2 ? "plots/c.png" : "plots/b.svg")) ok = 0;
    if (ok) return v;
  }
  return -1;
}

static char g_note[4096]; /* the last job's note */

/* One job: begin, stage report v (and a model in the cache), publish. */
static inline int job(const char *out, int v, const char *kind, int force) {
  lsp_outdir_opts o = {kind, force, "models", 64, 40};
  lsp_outdir *od = NULL;
  g_note[0] = 0;
  int st = lsp_outdir_begin(out, &o, &od);
  if (st) return st;
  write_report(lsp_outdir_stage(od), v);
  char model[32];
  snprintf(model, sizeof model, "models/%d.lspm", v);
  put(out, model, "weights");
  st = lsp_outdir_publish(od);
  snprintf(g_note, sizeof g_note, "%s", lsp_outdir_note(od));
  lsp_outdir_free(od);
  return st;
}

/* A job that only sweeps (begin, then give up). */
static inline void sweep_only(const char *out) {
  lsp_outdir_opts o = {"run", 0, "models", 64, 40};
  lsp_outdir *od = NULL;
  if (lsp_outdir_begin(out, &o, &od) != LSP_OK) fail_msg("begin: %s", lsp_errmsg());
  lsp_outdir_free(od);
}

/* ---- the user's files --------------------------------------------------------- */

static const char *user[][2] = {{"thesis.pdf", "my thesis"},
                                {"plots/thesis.pdf", "a figure of mine"},
                                {"dumps/notes/n.txt", "notes"},
                                {"mine/deep/x.txt", "deep"},
                                {"models/own.txt", "in the cache folder"},
                                {"ro/r.txt", "in a read-only folder"}};
enum { NUSER = sizeof user / sizeof user[0] };
static ino_t g_ino[NUSER];

static inline void add_user_files(const char *out) {
  for (int i = 0; i < NUSER; i++) {
    put(out, user[i][0], user[i][1]);
    char *p = lsp_strdupf("%s/%s", out, user[i][0]);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    g_ino[i] = sb.st_ino;
    free(p);
  }
  char *l = pathf("%s/link", out), *ro = pathf("%s/ro", out);
  assert_int_equal(symlink("thesis.pdf", l), 0);
  assert_int_equal(chmod(ro, 0555), 0);
  free(l);
  free(ro);
}

/* Every user file in place with its content (and, if same_inode, the very
 * same inode: nothing was copied); no stray .kept copy. */
static inline void check_user_files(const char *out, int same_inode) {
  for (int i = 0; i < NUSER; i++) {
    char *got = get(out, user[i][0]);
    if (!got || strcmp(got, user[i][1])) fail_msg("user file %s: %s", user[i][0], got ? got : "missing");
    free(got);
    char *p = lsp_strdupf("%s/%s", out, user[i][0]), *k = lsp_strdupf("%s.kept", p);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    if (same_inode && sb.st_ino != g_ino[i]) fail_msg("user file %s was copied", user[i][0]);
    if (lstat(k, &sb) == 0) fail_msg("stray copy %s", k);
    free(p);
    free(k);
  }
  char *l = pathf("%s/link", out), *ro = pathf("%s/ro", out), target[64];
  ssize_t n = readlink(l, target, sizeof target - 1);
  assert_true(n > 0);
  target[n] = 0;
  assert_string_equal(target, "thesis.pdf");
  struct stat sb;
  assert_int_equal(stat(ro, &sb), 0);
  assert_int_equal(sb.st_mode & 07777, 0555);
  free(l);
  free(ro);
}

/* No staging folder (.lsp-*) beside or inside OUT, no temporary file. */
static inline void check_no_leftovers(const char *out) {
  const char *dirs[3] = {g_root, out, NULL};
  char *models = pathf("%s/models", out);
  dirs[2] = models;
  for (int i = 0; i < 3; i++) {
    DIR *d = opendir(dirs[i]);
    struct dirent *e;
    while (d && (e = readdir(d)))
      if (!strncmp(e->d_name, ".lsp-", 5) || strstr(e->d_name, ".tmp."))
        fail_msg("left behind: %s/%s", dirs[i], e->d_name);
    if (d) closedir(d);
  }
  free(models);
}

/* Text snapshot of a tree: one line per entry (type, mode of folders,
 * content of files, target of links), sorted. */
static inline void snap_walk(const char *dir, const char *rel, char ***lines, size_t *n) {
  char *p = rel[0] ? lsp_strdupf("%s/%s", dir, rel) : lsp_strdupf("%s", dir);
  DIR *d = opendir(p);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char *r = rel[0] ? lsp_strdupf("%s/%s", rel, e->d_name) : lsp_strdupf("%s", e->d_name);
    char *full = lsp_strdupf("%s/%s", p, e->d_name), *line = NULL;
    struct stat sb;
    assert_int_equal(lstat(full, &sb), 0);
    if (S_ISDIR(sb.st_mode)) {
      line = lsp_strdupf("d %s %o", r, (unsigned)(sb.st_mode & 07777));
      snap_walk(dir, r, lines, n);
    } else if (S_ISLNK(sb.st_mode)) {
      char t[256];
      ssize_t k = readlink(full, t, sizeof t - 1);
      t[k > 0 ? k : 0] = 0;
      line = lsp_strdupf("l %s -> %s", r, t);
    } else {
      char *c = get(dir, r);
      line = lsp_strdupf("f %s = %s", r, c ? c : "?");
      free(c);
    }
    *lines = realloc(*lines, (*n + 1) * sizeof **lines);
    (*lines)[(*n)++] = line;
    free(r);
    free(full);
  }
  closedir(d);
  free(p);
}

static inline int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline char *snapshot(const char *dir) {
  char **lines = NULL;
  size_t n = 0, len = 1;
  snap_walk(dir, "", &lines, &n);
  if (n) qsort(lines, n, sizeof *lines, cmp_str);
  for (size_t i = 0; i < n; i++) len += strlen(lines[i]) + 1;
  char *s = calloc(1, len);
  for (size_t i = 0; i < n; i++) {
    strcat(s, lines[i]);
    strcat(s, "\n");
    free(lines[i]);
  }
  free(lines);
  return s;
}

/* ---- fixtures ------------------------------------------------------------------- */

static inline void reset(void) {
  (void)lsp_outdir_rm_rf(g_root);
  assert_int_equal(lsp_mkdir_p(g_root), LSP_OK);
  unsetenv("LSPROBE_TEST_FAULT");
}

static inline int setup(void **state) {
  (void)state;
  snprintf(g_root, sizeof g_root, "%s", td_tmp("outdir"));
  snprintf(g_out, sizeof g_out, "%s/out", g_root);
  reset();
  return 0;
}

static inline int teardown(void **state) {
  (void)state;
  unsetenv("LSPROBE_TEST_PUBLISH");
  unsetenv("LSPROBE_TEST_FAULT");
  (void)lsp_outdir_rm_rf(g_root);
  return 0;
}

/* The three ways of publishing. */
static const char *modes[3] = {NULL, "inplace", "noexchange"};
static inline void set_mode(int m) {
  if (modes[m]) setenv("LSPROBE_TEST_PUBLISH", modes[m], 1);
  else unsetenv("LSPROBE_TEST_PUBLISH");
}

#endif
