/* A cmocka program for tests/skips.sh (not a test of its own): "pass" runs
 * one passing test, "skip" a passing and a skipped one, "fail" a skipped
 * and a failing one; "skip-then-pass" and "fail-then-skip" run two groups.
 * Each must exit as testutil.h promises: 0, 77, 1, 77, 1. */
#include <string.h>

#include "testutil.h"

static void passes(void **state) {
  (void)state;
  assert_int_equal(2 + 2, 4);
}

static void skips(void **state) {
  (void)state;
  skip();
}

static void fails(void **state) {
  (void)state;
  fail_msg("a failure the probe asked for");
}

int main(int argc, char **argv) {
  const struct CMUnitTest pass_group[] = {cmocka_unit_test(passes)};
  const struct CMUnitTest skip_group[] = {cmocka_unit_test(passes), cmocka_unit_test(skips)};
  const struct CMUnitTest fail_group[] = {cmocka_unit_test(skips), cmocka_unit_test(fails)};
  const char *what = argc > 1 ? argv[1] : "";
  if (!strcmp(what, "pass")) return cmocka_run_group_tests(pass_group, NULL, NULL);
  if (!strcmp(what, "skip")) return cmocka_run_group_tests(skip_group, NULL, NULL);
  if (!strcmp(what, "fail")) return cmocka_run_group_tests(fail_group, NULL, NULL);
  if (!strcmp(what, "skip-then-pass")) { /* two groups: the last status covers both */
    cmocka_run_group_tests_name("first", skip_group, NULL, NULL);
    return cmocka_run_group_tests_name("second", pass_group, NULL, NULL);
  }
  if (!strcmp(what, "fail-then-skip")) {
    cmocka_run_group_tests_name("first", fail_group, NULL, NULL);
    return cmocka_run_group_tests_name("second", skip_group, NULL, NULL);
  }
  return 2;
}
