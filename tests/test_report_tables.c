/* The report tables: the table's display and round-trip formatting, and
 * CSV quoting checked byte for byte against hand-written files and parsed
 * back by an independent RFC 4180 reader (machine names heading the CSV,
 * the readable ones kept in Markdown); a failed write keeps nothing. The
 * HTML and Markdown writers are test_report_docs.c. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "reports/lsp_csv.h"
#include "reports/lsp_md.h"
#include "reports/lsp_table.h"
#include "testutil.h"
#include "writers_fixture.h"

/* ---- table -------------------------------------------------------------- */

static void test_table_show(void **state) {
  (void)state;
  const char *cols[] = {"a", "b"};
  lsp_table *t = lsp_table_alloc(2, cols);
  char buf[128];
  assert_int_equal(lsp_table_num(t, 0, 1.0), LSP_EINVAL); /* no row yet */
  lsp_table_row(t);
  assert_int_equal(lsp_table_num(t, 2, 1.0), LSP_EINVAL); /* no column 2 */
  assert_int_equal(lsp_table_digits(t, 0, 0), LSP_EINVAL);
  struct {
    double x;
    const char *want;
  } cases[] = {{0.91234, "0.9123"},  {0.0123, "0.01230"}, {12345.678, "12346"},
               {-2.5, "-2.500"},     {1e-7, "1.000e-07"}, {0, "0"},
               {NAN, "\xe2\x80\x93"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lsp_table_num(t, 0, cases[i].x);
    lsp_table_show(t, 0, 0, buf, sizeof buf);
    assert_string_equal(buf, cases[i].want);
  }
  lsp_table_num_ci(t, 1, 0.91234, 0.905, 0.918);
  lsp_table_show(t, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "0.9123 [0.9050, 0.9180]");
  assert_int_equal(lsp_table_digits(t, 1, 2), LSP_OK);
  lsp_table_show(t, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "0.91 [0.91, 0.92]");
  /* bounds take the decimals of the estimate */
  assert_int_equal(lsp_table_digits(t, 1, 4), LSP_OK);
  lsp_table_num_ci(t, 1, 0.0123, 0.00984, 0.01476);
  lsp_table_show(t, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "0.01230 [0.00984, 0.01476]");
  /* a signed column: "+" on positive numbers, as a difference */
  lsp_table *sg = lsp_table_alloc(2, cols);
  lsp_table_row(sg);
  assert_int_equal(lsp_table_signed(sg, 1), LSP_OK);
  assert_int_equal(lsp_table_signed(sg, 5), LSP_EINVAL);
  lsp_table_num_ci(sg, 1, 0.0047, -0.0012, 0.0106);
  lsp_table_num(sg, 0, 0.0047);
  lsp_table_show(sg, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "+0.004700 [-0.001200, +0.010600]");
  lsp_table_show(sg, 0, 0, buf, sizeof buf);
  assert_string_equal(buf, "0.004700");
  lsp_table_free(sg);
  /* an estimate of 0: the decimals of its interval's wider bound */
  lsp_table_num_ci(t, 1, 0, 0, 0.07523);
  lsp_table_show(t, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "0.00000 [0.00000, 0.07523]");
  lsp_table_num_ci(t, 1, 0.0123, 0.00984, 0.01476);
  /* fixed decimals for a column */
  assert_int_equal(lsp_table_decimals(t, 1, 3), LSP_OK);
  lsp_table_show(t, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "0.012 [0.010, 0.015]");
  lsp_table_num(t, 1, 1.42);
  lsp_table_show(t, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "1.420");
  assert_int_equal(lsp_table_decimals(t, 1, 18), LSP_EINVAL);
  assert_int_equal(lsp_table_decimals(t, 5, 2), LSP_EINVAL);
  lsp_table_int(t, 0, 10000);
  lsp_table_show(t, 0, 0, buf, sizeof buf);
  assert_string_equal(buf, "10000");
  /* round-trip digits: shortest form that reads back exactly */
  lsp_table_roundtrip(0.1, buf);
  assert_string_equal(buf, "0.1");
  lsp_table_roundtrip(1.0 / 3.0, buf);
  assert_string_equal(buf, "0.3333333333333333");
  lsp_table_roundtrip(5e-324, buf);
  assert_string_equal(buf, "5e-324");
  lsp_table_roundtrip(-INFINITY, buf);
  assert_string_equal(buf, "-inf");
  lsp_table_free(t);
  lsp_table_free(NULL);
  assert_null(lsp_table_alloc(0, cols));
}

/* ---- CSV ---------------------------------------------------------------- */

static const char k_csv[] =
    "model,eps,ece,ece_lo,ece_hi,\"note, with comma\",n\n"
    "plain,0.1,0.0123,0.0101,0.0149,\"say \"\"hi\"\"\",42\n"
    "\"a,b\",,2.734141893176975,,1e-300,\"line\nbreak\",-7\n"
    "\" lead\",,5e-324,,,,\n";

/* An independent RFC 4180 reader: fields of one record from *p. */
static int read_record(const char **p, char fields[][64], int maxf) {
  int n = 0;
  if (!**p) return 0;
  for (;;) {
    char *o = fields[n];
    size_t k = 0;
    if (**p == '"') {
      (*p)++;
      for (;;) {
        if (**p == '"' && (*p)[1] == '"') {
          o[k++] = '"';
          *p += 2;
        } else if (**p == '"') {
          (*p)++;
          break;
        } else {
          assert_true(**p != '\0');
          o[k++] = *(*p)++;
        }
      }
    } else {
      while (**p && **p != ',' && **p != '\n') o[k++] = *(*p)++;
    }
    o[k] = '\0';
    n++;
    assert_true(n < maxf);
    if (**p == ',') {
      (*p)++;
      continue;
    }
    if (**p == '\n') (*p)++;
    return n;
  }
}

static void test_csv_bytes_and_round_trip(void **state) {
  (void)state;
  lsp_table *t = rw_sample_table();
  const char *p = rw_out("t.csv");
  assert_int_equal(lsp_csv_write(p, t), LSP_OK);
  char *b = rw_slurp(p);
  assert_string_equal(b, k_csv);
  /* parse back */
  const char *q = b;
  char f[16][64];
  assert_int_equal(read_record(&q, f, 16), 7);
  assert_string_equal(f[5], "note, with comma");
  assert_int_equal(read_record(&q, f, 16), 7);
  assert_string_equal(f[5], "say \"hi\"");
  assert_true(strtod(f[1], NULL) == 0.1);
  assert_true(strtod(f[2], NULL) == 0.0123);
  assert_int_equal(read_record(&q, f, 16), 7);
  assert_string_equal(f[0], "a,b");
  assert_string_equal(f[1], ""); /* NaN */
  assert_true(strtod(f[2], NULL) == 2.734141893176975);
  assert_true(strtod(f[4], NULL) == 1e-300);
  assert_string_equal(f[5], "line\nbreak");
  assert_int_equal(read_record(&q, f, 16), 7);
  assert_string_equal(f[0], " lead");
  assert_string_equal(f[1], ""); /* +Inf: empty, as JSON's null */
  assert_true(strtod(f[2], NULL) == 5e-324);
  assert_int_equal(read_record(&q, f, 16), 0);
  free(b);
  lsp_table_free(t);
  rw_no_temporaries();
}

static void test_csv_failure_keeps_nothing(void **state) {
  (void)state;
  lsp_table *t = rw_sample_table();
  assert_int_equal(lsp_csv_write(rw_out("no/such/dir/t.csv"), t), LSP_EIO);
  assert_non_null(strstr(lsp_errmsg(), "no/such/dir/t.csv"));
  assert_int_equal(lsp_csv_write(rw_out("x.csv"), NULL), LSP_EINVAL);
  lsp_table_free(t);
  rw_no_temporaries();
}

/* Machine names head the CSV; HTML/Markdown keep the readable headers. */
static void test_csv_keys(void **state) {
  (void)state;
  const char *cols[] = {"test accuracy", "ECE after T"};
  lsp_table *t = lsp_table_alloc(2, cols);
  assert_non_null(t);
  const char *bad1[] = {"accuracy", "ECE after T"}, *bad2[] = {"accuracy", NULL},
             *bad3[] = {"1st", "x"};
  assert_int_equal(lsp_table_keys(t, bad1), LSP_EINVAL);
  assert_int_equal(lsp_table_keys(t, bad2), LSP_EINVAL);
  assert_int_equal(lsp_table_keys(t, bad3), LSP_EINVAL);
  assert_string_equal(lsp_table_csv_name(t, 0), "test accuracy"); /* unchanged */
  const char *keys[] = {"accuracy", "ece_after_t"};
  assert_int_equal(lsp_table_keys(t, keys), LSP_OK);
  assert_int_equal(lsp_table_row(t), LSP_OK);
  lsp_table_num_ci(t, 0, 0.5, 0.25, 0.75);
  lsp_table_num(t, 1, 0.125);
  const char *p = rw_out("keys.csv");
  assert_int_equal(lsp_csv_write(p, t), LSP_OK);
  char *b = rw_slurp(p);
  assert_string_equal(b, "accuracy,accuracy_lo,accuracy_hi,ece_after_t\n0.5,0.25,0.75,0.125\n");
  free(b);
  lsp_md m;
  assert_int_equal(lsp_md_open(&m, rw_out("keys.md"), "keys"), LSP_OK);
  lsp_md_table(&m, t, NULL);
  assert_int_equal(lsp_md_close(&m), LSP_OK);
  b = rw_slurp(rw_out("keys.md"));
  assert_non_null(strstr(b, "test accuracy"));
  assert_non_null(strstr(b, "ECE after T"));
  free(b);
  lsp_table_free(t);
  rw_no_temporaries();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_show),
      cmocka_unit_test(test_csv_bytes_and_round_trip),
      cmocka_unit_test(test_csv_failure_keeps_nothing),
      cmocka_unit_test(test_csv_keys),
  };
  return cmocka_run_group_tests(tests, rw_setup, rw_teardown);
}
