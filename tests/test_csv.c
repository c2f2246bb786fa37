/* CSV data sets (label first): values read back exactly, header/CRLF/blank
 * lines/spaces tolerated, every malformed input rejected with file:line and
 * the field; a folder with train.csv + test.csv as a dataset. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/data/lsp_data.h"
#include "core/base/lsp_error.h"
#include "testutil.h"

static const char *write_csv(const char *name, const char *text) {
  const char *p = td_tmp(name);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static void test_csv_good(void **state) {
  (void)state;
  const char *p = write_csv("good.csv",
                            "label,a,b,c\r\n"
                            "2, 0.25,-1.5,3e2\r\n"
                            "\r\n"
                            "0,\t0.125 ,2.385,-0\n"
                            "1.0,1e-3,4,0.5"); /* no final newline */
  lsp_dataset d;
  assert_int_equal(lsp_csv_read(p, &d), LSP_OK);
  assert_int_equal(d.n, 3);
  assert_int_equal(d.dim, 3);
  assert_int_equal(d.k, 3);
  const float want[9] = {0.25f, -1.5f, 300.0f, 0.125f, 2.385f,
                         -0.0f, 1e-3f, 4.0f,   0.5f};
  const int32_t wy[3] = {2, 0, 1};
  for (int i = 0; i < 9; i++) assert_true(d.x[i] == want[i]);
  for (int i = 0; i < 3; i++) assert_int_equal(d.y[i], wy[i]);
  lsp_dataset_free(&d);
  lsp_dataset_free(&d);
  lsp_dataset_free(NULL);
  /* no header, labels only up to 4 */
  p = write_csv("nohead.csv", "4,1\n0,2\n");
  assert_int_equal(lsp_csv_read(p, &d), LSP_OK);
  assert_int_equal(d.n, 2);
  assert_int_equal(d.dim, 1);
  assert_int_equal(d.k, 5);
  lsp_dataset_free(&d);
  unlink(p);
  /* pandas' column numbers as the header (DataFrame(array).to_csv(
   * index=False)): skipped, the two rows below it read */
  p = write_csv("pandas.csv",
                "0,1,2,3,4,5,6,7,8,9\n"
                "1,10,20,30,40,50,60,70,80,90\n"
                "0,9,8,7,6,5,4,3,2,1\n");
  assert_int_equal(lsp_csv_read(p, &d), LSP_OK);
  assert_int_equal(d.n, 2);
  assert_int_equal(d.dim, 9);
  assert_int_equal(d.k, 2);
  assert_int_equal(d.y[0], 1);
  assert_int_equal(d.y[1], 0);
  for (int j = 0; j < 9; j++) {
    assert_true(d.x[j] == (float)(10 * (j + 1)));
    assert_true(d.x[9 + j] == (float)(9 - j));
  }
  lsp_dataset_free(&d);
  unlink(p);
  /* a short first row 0, 1, 2 is data (a toy set), as is 0, 2, 1, ... */
  p = write_csv("toy.csv", "0,1,2\n1,5,6\n");
  assert_int_equal(lsp_csv_read(p, &d), LSP_OK);
  assert_int_equal(d.n, 2);
  assert_true(d.x[0] == 1.0f && d.x[1] == 2.0f);
  lsp_dataset_free(&d);
  unlink(p);
  p = write_csv("notnumbered.csv",
                "0,2,1,3,4,5,6,7,8,9\n1,10,20,30,40,50,60,70,80,90\n");
  assert_int_equal(lsp_csv_read(p, &d), LSP_OK);
  assert_int_equal(d.n, 2);
  lsp_dataset_free(&d);
  unlink(p);
}

static void test_csv_bad(void **state) {
  (void)state;
  static const char *cases[][3] = {
      /* name, content, needle after "path" */
      {"ragged.csv", "l,a,b\n1,2,3\n0,4\n", ":3: 2 fields, expected 3"},
      /* the first data row is the short one: the two after it agree */
      {"shortfirst.csv", "l,a,b\n\n1,2\n\n0,4,5\n1,6,7\n",
       ":3: 2 fields, where the rows after it have 3"},
      {"twoonly.csv", "1,2\n0,4,5\n", ":2: 3 fields, expected 2"},
      {"badnum.csv", "1,2,3\n0,1.2.3,4\n", ":2: field 2 '1.2.3' is not"},
      {"nanfield.csv", "1,nan,3\n0,1,4\n", ":1: field 2 'nan'"},
      {"inffield.csv", "1,2,inf\n0,1,4\n", ":1: field 3 'inf'"},
      {"empty.csv", "1,2,\n0,1,4\n", ":1: field 3 ''"},
      {"fraclabel.csv", "1,2\n1.5,3\n",
       ":2: label '1.5' is not a non-negative integer"},
      {"neglabel.csv", "1,2\n-1,3\n", ":2: label '-1'"},
      {"textlabel.csv", "h,a\n1,2\ncat,3\n", ":3: label 'cat' is not a number"},
      {"nofeat.csv", "1\n0\n", ":1: no feature columns"},
      {"norows.csv", "label,a,b\n\n", "no data rows"},
      {"nothing.csv", "", "no data rows"},
      {"oneclass.csv", "0,1\n0,2\n",
       "every label is 0; need at least 2 classes"},
      {"overflow.csv", "1,1e39\n0,2\n", ":1: field 2 overflows float32"},
  };
  lsp_dataset d;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[1024], want[1200];
    snprintf(path, sizeof path, "%s", write_csv(cases[i][0], cases[i][1]));
    snprintf(want, sizeof want, "%s%s%s", path,
             cases[i][2][0] == ':' ? "" : ": ", cases[i][2]);
    int st = lsp_csv_read(path, &d);
    if (st != LSP_EDATA || !strstr(lsp_errmsg(), want))
      print_error("%s: status %d, '%s' lacks '%s'\n", cases[i][0], st,
                  lsp_errmsg(), want);
    assert_int_equal(st, LSP_EDATA);
    assert_non_null(strstr(lsp_errmsg(), want));
    assert_null(d.x);
    assert_null(d.y);
    unlink(path);
  }
  assert_int_equal(lsp_csv_read(td_tmp("absent.csv"), &d), LSP_EIO);
  assert_non_null(strstr(lsp_errmsg(), "absent.csv"));
}

static void expect_err(int st, int want, const char *a, const char *b) {
  if (st != want || (a && !strstr(lsp_errmsg(), a)) ||
      (b && !strstr(lsp_errmsg(), b)))
    print_error("status %d (want %d): '%s' (want '%s', '%s')\n", st, want,
                lsp_errmsg(), a ? a : "", b ? b : "");
  assert_int_equal(st, want);
  assert_non_null(a ? strstr(lsp_errmsg(), a) : "");
  assert_non_null(b ? strstr(lsp_errmsg(), b) : "");
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* A folder with train.csv + test.csv loads as a dataset. */
static void test_folder_csv(void **state) {
  (void)state;
  char dir[1024], p[1200], q[1200];
  snprintf(dir, sizeof dir, "%s", td_tmp("csvdir"));
  mkdir(dir, 0755);
  snprintf(p, sizeof p, "%s/train.csv", dir);
  snprintf(q, sizeof q, "%s/test.csv", dir);
  write_text(p, "y,a,b\n0,0.5,-2\n1,1.5,2\n2,2.5,7.25\n0,0,0\n1,1,1\n2,2,2\n");
  write_text(q, "1,-3.5,0\n0,0,0\n");
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = dir;
  o.n_val = 2;
  lsp_splits s;
  assert_int_equal(lsp_data_load(&o, &s), LSP_OK);
  assert_int_equal(s.train.n, 4);
  assert_int_equal(s.val.n, 2);
  assert_int_equal(s.test.n, 2);
  assert_int_equal(s.train.dim, 2);
  assert_int_equal(s.train.k, 3);
  assert_int_equal(s.img_h, 0);
  /* float features: the bounds are the range over every split */
  assert_true(s.lo == -3.5f && s.hi == 7.25f);
  assert_true(s.test.x[0] == -3.5f && s.test.y[0] == 1);
  /* a training row keeps its label: rows are (y + 0.5, ...) or (y, y) */
  for (size_t i = 0; i < s.train.n; i++) {
    float a = s.train.x[2 * i];
    assert_true(a == (float)s.train.y[i] || a == (float)s.train.y[i] + 0.5f);
  }
  lsp_splits_free(&s);
  write_text(q, "1,2,3,4\n");
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, q, "3 features per row");
  write_text(q, "3,2,3\n");
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, q, "label 3 is out of range");
  write_text(q, "1,2,x\n");
  expect_err(lsp_data_load(&o, &s), LSP_EDATA, q, ":1: field 3 'x'");
  unlink(q);
  expect_err(lsp_data_load(&o, &s), LSP_EIO, q, NULL);
  unlink(p);
  expect_err(lsp_data_load(&o, &s), LSP_EIO, dir, "no dataset found");
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_good),
      cmocka_unit_test(test_csv_bad),
      cmocka_unit_test(test_folder_csv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
