/* The output folder's housekeeping (reports/lsp_outdir.h, DESIGN §4):
 * process tokens tell dead processes (a reaped child's) from live ones (a
 * running child's, this process's) and a reused process id; the sweep
 * removes staging folders and temporary files of dead processes and of this
 * process's finished jobs and keeps the rest (a live job's, names that are
 * not tokens); removal works below PATH_MAX depth without touching a
 * neighbour; a 4000-character --out works and a 4090-character one fails
 * with a whole message before anything is created; the manifest parser
 * refuses what could lead outside the folder and round-trips odd names; a
 * message longer than the error buffer keeps its end. */
#define _XOPEN_SOURCE 700
#include "outdir_fixture.h"

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
  char *own = lsp_strdupf("%s", strrchr(lsp_outdir_stage(od), '/') + 1);
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
  free(own);
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
      cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rm_rf_deep, setup, teardown),
      cmocka_unit_test_setup_teardown(test_long_paths, setup, teardown),
      cmocka_unit_test(test_manifest),
      cmocka_unit_test_setup_teardown(test_long_message, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
