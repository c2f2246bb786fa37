/* The strict JSON reader: values and lookups on hand-written documents,
 * every class of malformed input (with line:column), limits, the typed
 * getters' errors, and a round trip through the JSON writer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/formats/lsp_json.h"
#include "core/formats/lsp_jsonr.h"
#include "testutil.h"

static lsp_jsonr_doc *parse_ok(const char *text) {
  lsp_jsonr_doc *d = NULL;
  int st = lsp_jsonr_parse(text, strlen(text), "t.json", &d);
  if (st) fprintf(stderr, "unexpected failure: %s\n", lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  assert_non_null(d);
  return d;
}

/* parse must fail with LSP_EDATA and a message holding `want` */
static void parse_bad(const char *text, size_t len, const char *want) {
  lsp_jsonr_doc *d = (lsp_jsonr_doc *)1;
  int st = lsp_jsonr_parse(text, len, "t.json", &d);
  if (st != LSP_EDATA || !strstr(lsp_errmsg(), want))
    fprintf(stderr, "input %.40s: status %d, message '%s', wanted '%s'\n", text, st, lsp_errmsg(),
            want);
  assert_int_equal(st, LSP_EDATA);
  assert_null(d);
  assert_non_null(strstr(lsp_errmsg(), want));
}

static void test_values(void **state) {
  (void)state;
  lsp_jsonr_doc *d = parse_ok(
      " {\"n\": null, \"t\": true, \"f\": false, \"x\": -12.5e-1, \"z\": 0,\n"
      "  \"s\": \"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\", \"u\": \"\\u00e9\\u20AC\\ud83d\\ude00\",\n"
      "  \"raw\": \"é€\", \"a\": [1, [2, 3], {}], \"o\": {\"k\": \"v\"}, \"nul\": \"a\\u0000b\"} ");
  const lsp_jsonr *r = lsp_jsonr_root(d);
  assert_int_equal(r->type, LSP_JSONR_OBJECT);
  assert_int_equal(lsp_jsonr_len(r), 11);
  assert_string_equal(r->keys[0], "n"); /* document order */
  assert_int_equal(lsp_jsonr_get(r, "n")->type, LSP_JSONR_NULL);
  assert_int_equal(lsp_jsonr_get(r, "t")->b, 1);
  assert_int_equal(lsp_jsonr_get(r, "f")->type, LSP_JSONR_BOOL);
  assert_int_equal(lsp_jsonr_get(r, "f")->b, 0);
  assert_true(lsp_jsonr_get(r, "x")->num == -1.25);
  assert_true(lsp_jsonr_num_or(r, "z", 7) == 0.0);
  assert_string_equal(lsp_jsonr_get(r, "s")->str, "a\"b\\c/\b\f\n\r\t");
  /* é = C3 A9, € = E2 82 AC, 😀 (U+1F600) = F0 9F 98 80 */
  assert_string_equal(lsp_jsonr_get(r, "u")->str, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  assert_string_equal(lsp_jsonr_get(r, "raw")->str, "\xC3\xA9\xE2\x82\xAC");
  const lsp_jsonr *nul = lsp_jsonr_get(r, "nul");
  assert_int_equal(nul->len, 3);
  assert_memory_equal(nul->str, "a\0b", 3);
  const lsp_jsonr *a = lsp_jsonr_get(r, "a");
  assert_int_equal(lsp_jsonr_len(a), 3);
  assert_true(lsp_jsonr_at(lsp_jsonr_at(a, 1), 1)->num == 3.0);
  assert_int_equal(lsp_jsonr_len(lsp_jsonr_at(a, 2)), 0);
  assert_null(lsp_jsonr_at(a, 3));
  assert_null(lsp_jsonr_at(r, 0)); /* not an array */
  assert_null(lsp_jsonr_get(a, "k")); /* not an object */
  assert_null(lsp_jsonr_get(r, "missing"));
  assert_string_equal(lsp_jsonr_str_or(lsp_jsonr_get(r, "o"), "k", "d"), "v");
  assert_string_equal(lsp_jsonr_str_or(r, "x", "d"), "d"); /* wrong type -> default */
  assert_true(lsp_jsonr_num_or(r, "s", 7) == 7.0);
  assert_true(lsp_jsonr_num_or(r, "n", 7) == 7.0);
  /* positions: "a"'s value is on line 3 at byte column 24 (é, € are 2 and 3 bytes) */
  assert_int_equal(a->line, 3);
  assert_int_equal(a->col, 24);
  lsp_jsonr_free(d);
  lsp_jsonr_free(NULL);
}

static void test_numbers(void **state) {
  (void)state;
  lsp_jsonr_doc *d = parse_ok("[0.1, 1e308, -1e-400, 5e-324, 123456789012345678901234567890, -0.0, 1E+2]");
  const lsp_jsonr *r = lsp_jsonr_root(d);
  assert_true(lsp_jsonr_at(r, 0)->num == 0.1);
  assert_true(lsp_jsonr_at(r, 1)->num == 1e308);
  assert_true(lsp_jsonr_at(r, 2)->num == 0.0); /* underflow to zero is accepted */
  assert_true(lsp_jsonr_at(r, 3)->num == 5e-324);
  assert_true(lsp_jsonr_at(r, 4)->num == 1.2345678901234568e29);
  assert_true(signbit(lsp_jsonr_at(r, 5)->num));
  assert_true(lsp_jsonr_at(r, 6)->num == 100.0);
  lsp_jsonr_free(d);
  d = parse_ok("42");
  assert_true(lsp_jsonr_root(d)->num == 42.0);
  lsp_jsonr_free(d);
}

static void test_malformed(void **state) {
  (void)state;
  parse_bad("", 0, "t.json:1:1: unexpected end of input");
  parse_bad("   \n  ", 6, "t.json:2:3: unexpected end");
  parse_bad("{\"a\": [1, 2", 11, "t.json:1:12: expected ',' or ']'");
  parse_bad("{\"a\": 1", 7, "expected ',' or '}'");
  parse_bad("{\"a\": \"abc", 10, "unterminated string");
  parse_bad("[1, 2,]", 7, "t.json:1:7: trailing comma in an array");
  parse_bad("{\"a\": 1,\n }", 11, "t.json:2:2: trailing comma in an object");
  parse_bad("\"\\x\"", 4, "bad escape");
  parse_bad("\"\\u12G4\"", 8, "bad \\u escape");
  parse_bad("\"\\ud800\"", 8, "high surrogate");
  parse_bad("\"\\udc00\"", 8, "lone low surrogate");
  parse_bad("\"a\tb\"", 5, "control character");
  parse_bad("\"\xC3(\"", 4, "invalid UTF-8");
  parse_bad("\"\xED\xA0\x80\"", 5, "invalid UTF-8"); /* an encoded surrogate */
  parse_bad("NaN", 3, "NaN and Infinity are not JSON");
  parse_bad("[Infinity]", 10, "NaN and Infinity");
  parse_bad("[-Infinity]", 11, "invalid number");
  parse_bad("1e309", 5, "out of the range of a double");
  parse_bad("-1e999", 6, "out of the range");
  parse_bad("01", 2, "unexpected text after the JSON value");
  parse_bad("1.", 2, "digit expected after '.'");
  parse_bad(".5", 2, "unexpected character");
  parse_bad("1e", 2, "exponent digits");
  parse_bad("+1", 2, "unexpected character");
  parse_bad("tru", 3, "invalid literal");
  parse_bad("{\"a\" 1}", 7, "expected ':'");
  parse_bad("{1: 2}", 6, "expected a string key");
  parse_bad("{\"a\": 1, \"a\": 2}", 16, "duplicate key");
  parse_bad("{} {}", 5, "t.json:1:4: unexpected text after");
  parse_bad("[1] x", 5, "unexpected text");
  parse_bad("[1\0]", 4, "expected ',' or ']'"); /* an embedded NUL byte */
  parse_bad("// c\n1", 6, "unexpected character");
  parse_bad("{'a': 1}", 8, "expected a string key");
  /* a byte order mark is skipped before the value only */
  parse_bad("[\xEF\xBB\xBF" "1]", 6, "t.json:1:2: unexpected character");
  parse_bad("\xEF\xBB\xBF[1,]", 7, "t.json:1:4: trailing comma");
  lsp_jsonr_doc *d = NULL;
  assert_int_equal(lsp_jsonr_parse("\xEF\xBB\xBF{\"a\": 2}", 11, "t.json", &d), LSP_OK);
  assert_true(lsp_jsonr_num_or(lsp_jsonr_root(d), "a", 0.0) == 2.0);
  lsp_jsonr_free(d);
}

static void test_depth(void **state) {
  (void)state;
  char buf[2 * (LSP_JSONR_MAXDEPTH + 2) + 1];
  size_t n = LSP_JSONR_MAXDEPTH;
  for (size_t i = 0; i < n; i++) buf[i] = '[', buf[2 * n - 1 - i] = ']';
  lsp_jsonr_doc *d = NULL;
  assert_int_equal(lsp_jsonr_parse(buf, 2 * n, NULL, &d), LSP_OK); /* exactly at the limit */
  lsp_jsonr_free(d);
  n = LSP_JSONR_MAXDEPTH + 1;
  for (size_t i = 0; i < n; i++) buf[i] = '[', buf[2 * n - 1 - i] = ']';
  parse_bad(buf, 2 * n, "nesting too deep");
  /* 100 000 open brackets (truncated) must neither recurse deeply nor crash */
  size_t big = 100000;
  char *deep = malloc(big);
  memset(deep, '[', big);
  parse_bad(deep, big, "nesting too deep");
  free(deep);
}

static void test_limits_and_files(void **state) {
  (void)state;
  lsp_jsonr_doc *d = (lsp_jsonr_doc *)1;
  assert_int_equal(lsp_jsonr_parse("1", LSP_JSONR_MAXBYTES + 1, "big.json", &d), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "big.json: too large"));
  assert_int_equal(lsp_jsonr_parse(NULL, 1, NULL, &d), LSP_EINVAL);
  assert_int_equal(lsp_jsonr_parse("1", 1, NULL, NULL), LSP_EINVAL);
  const char *tmp = td_tmp("jsonr_file.json");
  FILE *f = fopen(tmp, "w");
  fputs("{\"a\":\n  [1,\n   2,,]}", f);
  fclose(f);
  assert_int_equal(lsp_jsonr_read_file(tmp, &d), LSP_EDATA);
  char want[600];
  snprintf(want, sizeof want, "%s:3:6: unexpected character", tmp);
  assert_non_null(strstr(lsp_errmsg(), want));
  remove(tmp);
  assert_int_equal(lsp_jsonr_read_file(tmp, &d), LSP_EIO);
  assert_non_null(strstr(lsp_errmsg(), tmp));
  assert_int_equal(lsp_jsonr_read_file("/", &d), LSP_EIO);
  assert_non_null(strstr(lsp_errmsg(), "directory"));
}

static void test_getters(void **state) {
  (void)state;
  lsp_jsonr_doc *d = parse_ok("{\"m\": {\"acc\": 0.5, \"name\": \"x\", \"gap\": null,\n \"bins\": [1]}}");
  const lsp_jsonr *m = lsp_jsonr_get(lsp_jsonr_root(d), "m"), *bins = NULL;
  double x = 9;
  const char *s = "keep";
  assert_int_equal(lsp_jsonr_need_num(d, m, "m", "acc", 0, &x), LSP_OK);
  assert_true(x == 0.5);
  assert_int_equal(lsp_jsonr_need_num(d, m, "m", "gap", 1, &x), LSP_OK);
  assert_true(isnan(x));
  x = 9;
  assert_int_equal(lsp_jsonr_need_num(d, m, "m", "gap", 0, &x), LSP_EDATA);
  assert_string_equal(lsp_errmsg(), "t.json:1:40: field m.gap: expected a number, found null");
  assert_true(x == 9);
  assert_int_equal(lsp_jsonr_need_num(d, m, "m", "name", 1, &x), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "field m.name: expected a number, found string"));
  assert_int_equal(lsp_jsonr_need_num(d, m, "m", "nll", 1, &x), LSP_EDATA);
  assert_string_equal(lsp_errmsg(), "t.json: field m.nll is missing");
  assert_int_equal(lsp_jsonr_need_str(d, m, "m", "name", 0, &s), LSP_OK);
  assert_string_equal(s, "x");
  assert_int_equal(lsp_jsonr_need_str(d, m, "", "acc", 0, &s), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "field acc: expected a string, found number"));
  assert_int_equal(lsp_jsonr_need(d, m, "m", "bins", LSP_JSONR_ARRAY, &bins), LSP_OK);
  assert_int_equal(lsp_jsonr_len(bins), 1);
  assert_int_equal(lsp_jsonr_need(d, m, "m", "bins", LSP_JSONR_OBJECT, &bins), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "t.json:2:10: field m.bins: expected an object, found array"));
  assert_string_equal(lsp_jsonr_type_name(LSP_JSONR_BOOL), "boolean");
  lsp_jsonr_free(d);
}

/* Write a document with the writer, read it back: every value equal. */
static void test_round_trip(void **state) {
  (void)state;
  const double nums[] = {0.1, 2.734141893176975, -1e-300, 1.7976931348623157e308, 1.0 / 3.0};
  FILE *f = tmpfile();
  lsp_json j;
  lsp_json_init(&j, f, 1);
  lsp_json_obj_begin(&j);
  lsp_json_key_str(&j, "text", "tab\there \"quoted\" back\\slash \x01 é");
  lsp_json_key_nums(&j, "nums", nums, 5);
  lsp_json_key_num(&j, "nan", NAN);
  lsp_json_key_int(&j, "big", 9007199254740993LL);
  lsp_json_key_bool(&j, "yes", 1);
  lsp_json_key(&j, "nested");
  lsp_json_arr_begin(&j);
  lsp_json_obj_begin(&j);
  lsp_json_obj_end(&j);
  lsp_json_arr_end(&j);
  lsp_json_obj_end(&j);
  assert_int_equal(lsp_json_finish(&j), 0);
  long len = ftell(f);
  rewind(f);
  char *buf = malloc((size_t)len);
  assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  lsp_jsonr_doc *d = NULL;
  assert_int_equal(lsp_jsonr_parse(buf, (size_t)len, "rt", &d), LSP_OK);
  const lsp_jsonr *r = lsp_jsonr_root(d);
  assert_string_equal(lsp_jsonr_str_or(r, "text", ""), "tab\there \"quoted\" back\\slash \x01 é");
  const lsp_jsonr *a = lsp_jsonr_get(r, "nums");
  assert_int_equal(lsp_jsonr_len(a), 5);
  for (size_t i = 0; i < 5; i++) assert_true(lsp_jsonr_at(a, i)->num == nums[i]);
  assert_int_equal(lsp_jsonr_get(r, "nan")->type, LSP_JSONR_NULL);
  assert_true(lsp_jsonr_num_or(r, "big", 0) == 9007199254740992.0); /* nearest double */
  assert_int_equal(lsp_jsonr_get(r, "yes")->b, 1);
  assert_int_equal(lsp_jsonr_len(lsp_jsonr_at(lsp_jsonr_get(r, "nested"), 0)), 0);
  lsp_jsonr_free(d);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values),        cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_malformed),     cmocka_unit_test(test_depth),
      cmocka_unit_test(test_limits_and_files), cmocka_unit_test(test_getters),
      cmocka_unit_test(test_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
