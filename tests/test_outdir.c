/* Publishing an output folder (reports/lsp_outdir.h, DESIGN §4): the
 * user's files survive every publication (at the top, inside plots/ and
 * dumps/, in the model cache, read-only folders, symbolic links) in all
 * three ways of publishing (folder swap, file by file from the start, and
 * file by file after a refused swap); a foreign non-empty folder is refused
 * without force; a name the report needs is kept aside, not overwritten; a
 * failure at EVERY fault point of a publication leaves the folder exactly
 * as it was; a SIGKILL at every fault point leaves either the whole old or
 * the whole new report in place (swap), and the next job's sweep leaves no
 * staging folder and loses no user file (one written into the old tree
 * after the switch included). The references are the files the test itself
 * put on disk (names, contents, inode numbers). */
#define _XOPEN_SOURCE 700
#include "outdir_fixture.h"

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
int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_user_files_survive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_foreign_folder, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failure_rolls_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crash_anywhere, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
