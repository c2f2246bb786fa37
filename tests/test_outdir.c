/* Publishing an output folder (reports/lsp_outdir.h, DESIGN §4): the
 * user's files survive every publication (at the top, inside plots/ and
 * dumps/, in the model cache, read-only folders, symbolic links) in all
 * three ways of publishing (folder swap, file by file from the start, and
 * file by file after a refused swap); a foreign non-empty folder is refused
 * without force; a name the report needs is kept aside, not overwritten; a
 * failure at EVERY fault point of a publication leaves the folder exactly
 * as it was; a SIGKILL at every fault point leaves either the whole old or
 * the whole new report in place, and the next job's sweep leaves no
 * staging folder and loses no user file (one written into the old tree
 * after the switch included); temporary files of dead processes are swept,
 * live ones kept; removal works below PATH_MAX depth; long paths work or
 * fail with a whole message; the manifest parser refuses what could lead
 * outside the folder. The references are the files the test itself put on
 * disk (names, contents, inode numbers). */
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

static char *pathf(const char *fmt, const char *a) {
  char *s = lsp_strdupf(fmt, a);
  assert_non_null(s);
  return s;
}

static void put(const char *dir, const char *rel, const char *text) {
  char *p = lsp_strdupf("%s/%s", dir, rel);
  char *slash = strrchr(p, '/');
  *slash = 0;
  assert_int_equal(lsp_mkdir_p(p), LSP_OK);
  *slash = '/';
  assert_int_equal(lsp_write_file_atomic(p, text, strlen(text)), LSP_OK);
  free(p);
}

/* Content of dir/rel, or NULL if absent. */
static char *get(const char *dir, const char *rel) {
  char *p = lsp_strdupf("%s/%s", dir, rel), *text = NULL;
  size_t n;
  struct stat sb;
  int ok = lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && lsp_read_file(p, &text, &n) == LSP_OK;
  free(p);
  return ok ? text : NULL;
}

static int exists(const char *dir, const char *rel) {
  char *p = lsp_strdupf("%s/%s", dir, rel);
  struct stat sb;
  int e = lstat(p, &sb) == 0;
  free(p);
  return e;
}

/* ---- a fake report, version v ------------------------------------------------- */

static const char *common[] = {"report.html", "results.json", "plots/a.svg", "dumps/m/x.npy"};

static void report_files(int v, const char **f, int *n) {
  static char extra[2][32];
  *n = 0;
  for (int i = 0; i < 4; i++) f[(*n)++] = common[i];
  snprintf(extra[0], sizeof extra[0], "%s", v % 2 ? "plots/b.svg" : "plots/c.png");
  snprintf(extra[1], sizeof extra[1], "dumps/m%d/y.npy", v);
  f[(*n)++] = extra[0];
  f[(*n)++] = extra[1];
}

static void write_report(const char *stage, int v) {
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
static int report_version(const char *out) {
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
static int job(const char *out, int v, const char *kind, int force) {
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
static void sweep_only(const char *out) {
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

static void add_user_files(const char *out) {
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
static void check_user_files(const char *out, int same_inode) {
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
static void check_no_leftovers(const char *out) {
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
static void snap_walk(const char *dir, const char *rel, char ***lines, size_t *n) {
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

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *snapshot(const char *dir) {
  char **lines = NULL;
  size_t n = 0, len = 1;
  snap_walk(dir, "", &lines, &n);
  qsort(lines, n, sizeof *lines, cmp_str);
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

static void reset(void) {
  (void)lsp_outdir_rm_rf(g_root);
  assert_int_equal(lsp_mkdir_p(g_root), LSP_OK);
  unsetenv("LSPROBE_TEST_FAULT");
}

static int setup(void **state) {
  (void)state;
  snprintf(g_root, sizeof g_root, "%s", td_tmp("outdir"));
  snprintf(g_out, sizeof g_out, "%s/out", g_root);
  reset();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unsetenv("LSPROBE_TEST_PUBLISH");
  unsetenv("LSPROBE_TEST_FAULT");
  (void)lsp_outdir_rm_rf(g_root);
  return 0;
}

/* The three ways of publishing. */
static const char *modes[3] = {NULL, "inplace", "noexchange"};
static void set_mode(int m) {
  if (modes[m]) setenv("LSPROBE_TEST_PUBLISH", modes[m], 1);
  else unsetenv("LSPROBE_TEST_PUBLISH");
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_user_files_survive(void **state) {
  (void)state;
  for (int m = 0; m < 3; m++) {
    reset();
    set_mode(m);
    assert_int_equal(job(g_out, 1, "run", 0), LSP_OK);
    assert_int_equal(report_version(g_out), 1);
    char *mf = get(g_out, LSP_MANIFEST_NAME);
    assert_non_null(mf);
    assert_non_null(strstr(mf, "\nf plots/a.svg\n"));
    assert_null(strstr(mf, "models")); /* the cache is not staged */
    free(mf);
    add_user_files(g_out);
    assert_int_equal(job(g_out, 2, "run", 0), LSP_OK);
    assert_int_equal(report_version(g_out), 2); /* plots/b.svg, dumps/m1 gone */
    check_user_files(g_out, 1);
    assert_true(exists(g_out, "models/1.lspm") && exists(g_out, "models/2.lspm"));
    check_no_leftovers(g_out);
    assert_int_equal(job(g_out, 3, "run", 0), LSP_OK);
    assert_int_equal(report_version(g_out), 3);
    check_user_files(g_out, 1);
    check_no_leftovers(g_out);
  }
  set_mode(0);
}

static void test_foreign_folder(void **state) {
  (void)state;
  reset();
  put(g_out, "thesis.pdf", "mine");
  put(g_out, "report.html", "my own report.html");
  char *before = snapshot(g_root);
  lsp_outdir_opts o = {"run", 0, "models", 64, 40};
  lsp_outdir *od = NULL;
  assert_int_equal(lsp_outdir_begin(g_out, &o, &od), LSP_EINVAL);
  assert_null(od);
  assert_non_null(strstr(lsp_errmsg(), "--force"));
  char *after = snapshot(g_root);
  assert_string_equal(before, after); /* refused: nothing touched */
  free(before);
  free(after);
  /* --force: written, and the user's report.html is kept aside */
  assert_int_equal(job(g_out, 1, "run", 1), LSP_OK);
  assert_int_equal(report_version(g_out), 1);
  char *t = get(g_out, "thesis.pdf"), *k = get(g_out, "report.html.kept");
  assert_string_equal(t, "mine");
  assert_string_equal(k, "my own report.html");
  free(t);
  free(k);
  char *mf = get(g_out, LSP_MANIFEST_NAME);
  assert_non_null(strstr(mf, "\nk report.html report.html.kept\n"));
  free(mf);
  /* now it is lsprobe's: no force needed; another kind is refused */
  assert_int_equal(job(g_out, 2, "run", 0), LSP_OK);
  assert_int_equal(job(g_out, 3, "compare", 1), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "holds a run report"));
  assert_int_equal(report_version(g_out), 2);
  /* an empty folder someone made is fine without force */
  char *e = pathf("%s/empty", g_root);
  assert_int_equal(mkdir(e, 0777), 0);
  assert_int_equal(job(e, 1, "compare", 0), LSP_OK);
  free(e);
}

/* Fresh OUT with report 1 and the user's files; the snapshot of OUT. */
static char *prepare(int m) {
  reset();
  set_mode(m);
  assert_int_equal(job(g_out, 1, "run", 0), LSP_OK);
  add_user_files(g_out);
  put(g_out, "models/2.lspm", "weights"); /* what job(2) adds in place */
  return snapshot(g_out);
}

/* A failure at fault point N, for every N: OUT exactly as before and no
 * staging folder left, or (a fault after the switch) the new report in
 * place with a note, and the next job leaves nothing behind. */
static void test_failure_rolls_back(void **state) {
  (void)state;
  for (int m = 0; m < 3; m++) {
    int n, rolled = 0, noted = 0;
    for (n = 1; n < 1000; n++) {
      char *before = prepare(m), fault[32];
      snprintf(fault, sizeof fault, "fail:%d", n);
      setenv("LSPROBE_TEST_FAULT", fault, 1);
      int st = job(g_out, 2, "run", 0);
      unsetenv("LSPROBE_TEST_FAULT");
      if (st != LSP_OK) {
        assert_non_null(strstr(lsp_errmsg(), "injected"));
        char *after = snapshot(g_out);
        if (strcmp(before, after))
          fail_msg("mode %s, failure at step %d: folder changed\nbefore:\n%safter:\n%s",
                   modes[m] ? modes[m] : "swap", n, before, after);
        free(after);
        check_no_leftovers(g_out);
        rolled++;
      } else {
        check_user_files(g_out, 1);
        if (!strstr(g_note, "injected")) { /* point n was never reached */
          assert_int_equal(report_version(g_out), 2);
          free(before);
          break;
        }
        /* swap: the new report is whole; file by file, a failed prune
         * leaves stale files of the old one (still listed as lsprobe's) */
        if (m == 0) assert_int_equal(report_version(g_out), 2);
        noted++;
        sweep_only(g_out);
        check_no_leftovers(g_out);
        check_user_files(g_out, 1);
        if (m == 0) assert_int_equal(report_version(g_out), 2);
        assert_int_equal(job(g_out, 3, "run", 0), LSP_OK);
        assert_int_equal(report_version(g_out), 3);
        check_user_files(g_out, 1);
        check_no_leftovers(g_out);
      }
      free(before);
    }
    print_message("mode %s: %d fault points, %d rolled back, %d after the switch\n",
                  modes[m] ? modes[m] : "swap", n - 1, rolled, noted);
    assert_true(rolled > 5 && noted > 0);
  }
  set_mode(0);
}

/* The switched old tree of a dead job, if the sweep would have one to
 * finish: its name (from OUT's manifest), else NULL. */
static char *switched_tree(void) {
  char *mf = get(g_out, LSP_MANIFEST_NAME), *r = NULL;
  const char *key = "\nstage ";
  size_t off = 0;
  if (mf) {
    char *s = strstr(mf, key);
    off = s ? (size_t)(s - mf) + strlen(key) : 0;
  }
  if (off && mf[off] != '-') {
    size_t len = strcspn(mf + off, "\n");
    r = lsp_strdupf("%.*s", (int)len, mf + off);
    if (!exists(g_root, r)) {
      free(r);
      r = NULL;
    }
  }
  free(mf);
  return r;
}

/* SIGKILL at fault point N, for every N. Swap: OUT holds the whole old or
 * the whole new report at every point. All ways: the next job's sweep
 * leaves no staging folder and every user file in OUT — including one
 * written into the old tree after the switch (the only copy). */
static void test_crash_anywhere(void **state) {
  (void)state;
  for (int m = 0; m < 3; m++) {
    int n, olds = 0, news = 0, late = 0;
    for (n = 1; n < 1000; n++) {
      free(prepare(m));
      pid_t pid = fork();
      assert_true(pid >= 0);
      if (pid == 0) {
        char fault[32];
        snprintf(fault, sizeof fault, "kill:%d", n);
        setenv("LSPROBE_TEST_FAULT", fault, 1);
        _exit(job(g_out, 2, "run", 0) == LSP_OK ? 0 : 1);
      }
      int ws;
      assert_int_equal(waitpid(pid, &ws, 0), pid);
      if (WIFEXITED(ws)) { /* point n was never reached */
        assert_int_equal(WEXITSTATUS(ws), 0);
        break;
      }
      assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
      int v = report_version(g_out);
      if (m == 0 && v != 1 && v != 2) {
        char *now = snapshot(g_root);
        fail_msg("swap, killed at step %d: OUT holds no complete report:\n%s", n, now);
      }
      olds += v == 1;
      news += v == 2;
      char *old = switched_tree();
      int wrote = old != NULL;
      if (old) { /* a file the user wrote after the carry: only here */
        char *o = lsp_strdupf("%s/%s", g_root, old);
        put(o, "late.txt", "written during the switch");
        free(o);
        free(old);
        late++;
      }
      sweep_only(g_out);
      check_no_leftovers(g_out);
      check_user_files(g_out, 1);
      if (wrote) {
        char *l = get(g_out, "late.txt"), *lp = pathf("%s/late.txt", g_out);
        if (!l || strcmp(l, "written during the switch"))
          fail_msg("killed at step %d: the late file was lost", n);
        free(l);
        assert_int_equal(unlink(lp), 0);
        free(lp);
      }
      if (m == 0) assert_int_equal(report_version(g_out), v);
      assert_int_equal(job(g_out, 3, "run", 0), LSP_OK);
      assert_int_equal(report_version(g_out), 3);
      check_user_files(g_out, 1);
      check_no_leftovers(g_out);
    }
    print_message("mode %s: killed at %d points (old report %d, new %d, late file %d)\n",
                  modes[m] ? modes[m] : "swap", n - 1, olds, news, late);
    assert_true(n > 5);
    if (m == 0) assert_true(olds > 0 && news > 0 && late > 0);
  }
  set_mode(0);
}

/* The token of a process that has ended (a reaped child's). */
static void dead_token(char *tok) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char t[LSP_PROC_TOKEN_MAX];
    lsp_proc_token(t);
    ssize_t w = write(fds[1], t, strlen(t) + 1);
    _exit(w > 0 ? 0 : 1);
  }
  close(fds[1]);
  ssize_t r = read(fds[0], tok, LSP_PROC_TOKEN_MAX);
  close(fds[0]);
  assert_true(r > 0);
  int ws;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
}

/* A child that lives until its pipe closes; its token in tok. */
static pid_t live_child(char *tok, int *hold) {
  int up[2], down[2];
  assert_int_equal(pipe(up), 0);
  assert_int_equal(pipe(down), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char t[LSP_PROC_TOKEN_MAX], c;
    lsp_proc_token(t);
    close(up[0]);
    close(down[1]);
    ssize_t w = write(up[1], t, strlen(t) + 1);
    (void)w;
    ssize_t r = read(down[0], &c, 1); /* until the parent closes it */
    (void)r;
    _exit(0);
  }
  close(up[1]);
  close(down[0]);
  ssize_t r = read(up[0], tok, LSP_PROC_TOKEN_MAX);
  close(up[0]);
  assert_true(r > 0);
  *hold = down[1];
  return pid;
}

static void test_sweep(void **state) {
  (void)state;
  reset();
  assert_int_equal(job(g_out, 1, "run", 0), LSP_OK);
  char dead[LSP_PROC_TOKEN_MAX], live[LSP_PROC_TOKEN_MAX], other[LSP_PROC_TOKEN_MAX], name[256];
  int hold;
  dead_token(dead);
  lsp_proc_token(live);
  pid_t child = live_child(other, &hold);
  assert_int_equal(lsp_proc_token_alive(live, strlen(live)), 1);
  assert_int_equal(lsp_proc_token_alive(other, strlen(other)), 1);
  assert_int_equal(lsp_proc_token_alive(dead, strlen(dead)), 0);
  assert_int_equal(lsp_proc_token_alive("12x", 3), -1);
  /* a running process with another start time: a reused process id */
  char reused[LSP_PROC_TOKEN_MAX + 8];
  const char *dash = strchr(live, '-'), *dash2 = strchr(dash + 1, '-');
  snprintf(reused, sizeof reused, "%.*s-1%s", (int)(dash - live), live, dash2);
  assert_int_equal(lsp_proc_token_alive(reused, strlen(reused)), 0);

  /* temporaries in OUT and OUT/models: dead ones go, live ones stay */
  snprintf(name, sizeof name, "models/x.lspm.tmp.%s.AbC123", dead);
  put(g_out, name, "dead");
  snprintf(name, sizeof name, "report.html.tmp.%s.AbC123", dead);
  put(g_out, name, "dead");
  snprintf(name, sizeof name, "models/y.lspm.tmp.%s.AbC123", other);
  put(g_out, name, "live");
  put(g_out, "models/mine.tmp.notatoken.AbC123", "a user's file");

  /* staging folders: this job's own names the prefix for OUT */
  lsp_outdir_opts o = {"run", 0, "models", 64, 40};
  lsp_outdir *od = NULL;
  assert_int_equal(lsp_outdir_begin(g_out, &o, &od), LSP_OK);
  const char *own = strrchr(lsp_outdir_stage(od), '/') + 1;
  const char *tokpos = strstr(own, live);
  assert_non_null(tokpos);
  char *prefix = lsp_strdupf("%.*s", (int)(tokpos - own), own);
  const char *names[4] = {"%s%s-1", "%s%s-1", "%s%s-99999", "%s%s-1"};
  const char *toks[4] = {dead, other, live, "not-a-token"};
  char *sd[4];
  for (int i = 0; i < 4; i++) {
    char *fmt = lsp_strdupf(names[i], prefix, toks[i]);
    sd[i] = fmt;
    char *f = lsp_strdupf("%s/report.html", sd[i]);
    put(g_root, f, "a job's half-built report");
    free(f);
  }
  sweep_only(g_out);
  assert_true(exists(g_root, own)); /* in use by od */
  assert_false(exists(g_root, sd[0])); /* a dead process's */
  assert_true(exists(g_root, sd[1]));  /* a running process's */
  assert_false(exists(g_root, sd[2])); /* this process's, from a job that ended */
  assert_true(exists(g_root, sd[3]));  /* not ours to judge */
  lsp_outdir_free(od);
  assert_false(exists(g_root, own));
  snprintf(name, sizeof name, "models/x.lspm.tmp.%s.AbC123", dead);
  assert_false(exists(g_out, name));
  snprintf(name, sizeof name, "report.html.tmp.%s.AbC123", dead);
  assert_false(exists(g_out, name));
  snprintf(name, sizeof name, "models/y.lspm.tmp.%s.AbC123", other);
  assert_true(exists(g_out, name));
  assert_true(exists(g_out, "models/mine.tmp.notatoken.AbC123"));
  /* once the other process has ended, its leftovers go too */
  close(hold);
  int ws;
  assert_int_equal(waitpid(child, &ws, 0), child);
  sweep_only(g_out);
  assert_false(exists(g_root, sd[1]));
  assert_false(exists(g_out, name));
  for (int i = 0; i < 4; i++) free(sd[i]);
  free(prefix);
}

/* A tree deeper than PATH_MAX is removed completely. */
static void test_rm_rf_deep(void **state) {
  (void)state;
  reset();
  char *top = pathf("%s/deep", g_root), name[201];
  memset(name, 'd', 200);
  name[200] = 0;
  assert_int_equal(mkdir(top, 0777), 0);
  int fd = open(top, O_RDONLY | O_DIRECTORY);
  assert_true(fd >= 0);
  for (int i = 0; i < 30; i++) { /* 30 x 201 characters: past 4096 */
    assert_int_equal(mkdirat(fd, name, 0777), 0);
    int sub = openat(fd, name, O_RDONLY | O_DIRECTORY);
    assert_true(sub >= 0);
    int f = openat(sub, "file", O_WRONLY | O_CREAT, 0666);
    assert_true(f >= 0);
    close(f);
    close(fd);
    fd = sub;
  }
  close(fd);
  put(g_root, "dd", "a neighbour");
  assert_int_equal(lsp_outdir_rm_rf(top), 0);
  assert_false(exists(g_root, "deep"));
  assert_true(exists(g_root, "dd"));
  free(top);
}

/* A path of nested folders to `total` characters under g_root. */
static char *long_path(size_t total) {
  size_t n = strlen(g_root);
  char *p = malloc(total + 300);
  strcpy(p, g_root);
  while (n + 1 + 200 < total) {
    p[n++] = '/';
    memset(p + n, 'a' + (char)(n % 26), 200);
    n += 200;
  }
  p[n++] = '/';
  while (n < total) p[n++] = 'z';
  p[n] = 0;
  return p;
}

static void test_long_paths(void **state) {
  (void)state;
  reset();
  /* 4000 characters: works, at that very path */
  char *p = long_path(4000);
  assert_int_equal(strlen(p), 4000);
  if (job(p, 1, "run", 0) != LSP_OK) fail_msg("4000 characters: %s", lsp_errmsg());
  assert_int_equal(report_version(p), 1);
  char *mp = lsp_strdupf("%s/models/1.lspm", p);
  struct stat sb;
  assert_int_equal(stat(mp, &sb), 0);
  assert_int_equal(job(p, 2, "run", 0), LSP_OK);
  assert_int_equal(report_version(p), 2);
  free(mp);
  free(p);
  /* 4090: too long for what goes under it: a whole message, nothing made */
  reset();
  char *before = snapshot(g_root);
  p = long_path(4090);
  assert_int_equal(job(p, 1, "run", 0), LSP_EINVAL);
  const char *msg = lsp_errmsg();
  assert_non_null(strstr(msg, "too long"));
  assert_non_null(strstr(msg, "choose a shorter --out")); /* the end survives */
  assert_true(strlen(msg) < 1024);
  char *after = snapshot(g_root);
  assert_string_equal(before, after);
  free(before);
  free(after);
  free(p);
}

static void test_manifest(void **state) {
  (void)state;
  lsp_manifest m;
  const char *bad[] = {
      "lsprobe-manifest 2\nkind run\nstage -\n",          /* unknown version */
      "lsprobe-manifest 1\nkind run\nstage -\nf ../x\n", /* leaves the folder */
      "lsprobe-manifest 1\nkind run\nstage -\nf /etc/x\n",
      "lsprobe-manifest 1\nkind run\nstage -\nd a//b\n",
      "lsprobe-manifest 1\nkind run\nstage -\nf a/./b\n",
      "lsprobe-manifest 1\nkind run\nstage -\nf a%2F..%2Fb/../c\n",
      "lsprobe-manifest 1\nkind run\nstage -\nf a%00b\n", /* NUL */
      "lsprobe-manifest 1\nkind run\nstage -\nf ok\nf trunc", /* no newline */
      "lsprobe-manifest 1\nkind run\nf x\n",                  /* no stage */
      "lsprobe-manifest 1\nkind run\nstage -\nq x\n",
      "lsprobe-manifest 1\nkind run\nstage -\nf a b\n", /* 'f' takes one path */
      "hello\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (lsp_manifest_parse(bad[i], strlen(bad[i]), "M", &m) != LSP_EDATA)
      fail_msg("accepted: %s", bad[i]);
  /* names with spaces, newlines and '%' round-trip */
  lsp_manifest a;
  lsp_manifest_init(&a, "run");
  assert_int_equal(lsp_manifest_add(&a, 'f', "plots/my fig\n%1.svg", NULL), LSP_OK);
  assert_int_equal(lsp_manifest_add(&a, 'd', "plots", NULL), LSP_OK);
  assert_int_equal(lsp_manifest_add(&a, 'k', "a b", "a b.kept"), LSP_OK);
  assert_int_equal(lsp_manifest_add(&a, 'f', "../x", NULL), LSP_EINVAL);
  lsp_manifest_sort(&a);
  char *text;
  size_t len;
  assert_int_equal(lsp_manifest_format(&a, &text, &len), LSP_OK);
  assert_int_equal(lsp_manifest_parse(text, len, "M", &m), LSP_OK);
  assert_int_equal(lsp_manifest_owned(&m, "plots/my fig\n%1.svg"), 'f');
  assert_int_equal(lsp_manifest_owned(&m, "plots"), 'd');
  assert_int_equal(lsp_manifest_owned(&m, "a b"), 0);
  assert_string_equal(lsp_manifest_kept(&m, "a b"), "a b.kept");
  assert_string_equal(m.kind, "run");
  assert_string_equal(m.stage, "");
  free(text);
  lsp_manifest_release(&a);
  lsp_manifest_release(&m);
}

/* A message longer than the error buffer keeps its start and its end. */
static void test_long_message(void **state) {
  (void)state;
  char *p = long_path(3000);
  lsp_fail(LSP_EIO, "%s: cannot create: %s", p, "File name too long");
  const char *msg = lsp_errmsg();
  assert_true(strlen(msg) < 1024);
  assert_int_equal(strncmp(msg, p, 100), 0);
  assert_non_null(strstr(msg, "cannot create: File name too long"));
  lsp_fail(LSP_EIO, "short reason");
  lsp_fail_prefix(LSP_EIO, p);
  msg = lsp_errmsg();
  assert_true(strlen(msg) < 1024);
  assert_non_null(strstr(msg, ": short reason"));
  char *s = lsp_strdupf("%s/%s", p, "x");
  assert_int_equal(strlen(s), 3002);
  free(s);
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_user_files_survive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_foreign_folder, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failure_rolls_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crash_anywhere, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rm_rf_deep, setup, teardown),
      cmocka_unit_test_setup_teardown(test_long_paths, setup, teardown),
      cmocka_unit_test(test_manifest),
      cmocka_unit_test_setup_teardown(test_long_message, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
