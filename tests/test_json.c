/* The JSON writer: structure, escaping, non-finite numbers, round-trip
 * precision, misuse detection. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/formats/lsp_json.h"
#include "testutil.h"

static char *render(void (*fn)(lsp_json *), int pretty, int *err) {
  FILE *f = tmpfile();
  assert_non_null(f);
  lsp_json j;
  lsp_json_init(&j, f, pretty);
  fn(&j);
  *err = lsp_json_finish(&j);
  long len = ftell(f);
  rewind(f);
  char *buf = calloc((size_t)len + 1, 1);
  assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  return buf;
}

static void doc(lsp_json *j) {
  lsp_json_obj_begin(j);
  lsp_json_key_num(j, "loss", 2.734141893176975);
  lsp_json_key_num(j, "nan", NAN);
  lsp_json_key_num(j, "inf", -INFINITY);
  lsp_json_key_str(j, "s", "a\"b\\c\nd\x01");
  lsp_json_key_int(j, "n", -12);
  lsp_json_key_bool(j, "t", 1);
  double v[3] = {0.1, 1e-300, 3};
  lsp_json_key_nums(j, "v", v, 3);
  lsp_json_key(j, "bins");
  lsp_json_arr_begin(j);
  lsp_json_obj_begin(j);
  lsp_json_key_int(j, "count", 3);
  lsp_json_obj_end(j);
  lsp_json_arr_end(j);
  lsp_json_key(j, "empty");
  lsp_json_arr_begin(j);
  lsp_json_arr_end(j);
  lsp_json_obj_end(j);
}

static void test_compact(void **state) {
  (void)state;
  int err;
  char *s = render(doc, 0, &err);
  assert_int_equal(err, 0);
  assert_string_equal(s,
                      "{\"loss\":2.734141893176975,\"nan\":null,\"inf\":null,"
                      "\"s\":\"a\\\"b\\\\c\\nd\\u0001\",\"n\":-12,\"t\":true,"
                      "\"v\":[0.1,1e-300,3],\"bins\":[{\"count\":3}],\"empty\":[]}\n");
  free(s);
}

static void test_pretty_round_trip(void **state) {
  (void)state;
  int err;
  char *s = render(doc, 1, &err);
  assert_int_equal(err, 0);
  assert_non_null(strstr(s, "\n  \"loss\": 2.734141893176975,\n"));
  /* numbers parse back to the same double */
  double back;
  assert_int_equal(sscanf(strstr(s, "\"loss\": ") + 8, "%lf", &back), 1);
  assert_true(back == 2.734141893176975);
  free(s);
}

/* Well-formed UTF-8 passes; a byte that starts no well-formed sequence
 * (a stray continuation, an overlong form, a surrogate, a cut sequence,
 * beyond U+10FFFF) is U+FFFD; DEL and escape characters are escaped —
 * names read from a model file reach --json output this way. */
static void test_utf8(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
      {"a\x80" "b", "a\\ufffdb"},
      {"\xc0\xaf", "\\ufffd\\ufffd"},             /* overlong '/' */
      {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"}, /* a surrogate */
      {"\xe2\x82", "\\ufffd\\ufffd"},             /* cut short */
      {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"},
      {"\xc3(", "\\ufffd("},
      {"\x1b[31mX\x7f", "\\u001b[31mX\\u007f"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[64];
    size_t need = lsp_json_escape(cases[i].in, buf, sizeof buf);
    assert_string_equal(buf, cases[i].out);
    assert_int_equal(need, strlen(cases[i].out) + 1);
    FILE *f = tmpfile();
    assert_non_null(f);
    lsp_json j;
    lsp_json_init(&j, f, 0);
    lsp_json_arr_begin(&j);
    lsp_json_str(&j, cases[i].in);
    lsp_json_arr_end(&j);
    assert_int_equal(lsp_json_finish(&j), 0);
    long len = ftell(f);
    rewind(f);
    char got[80] = {0};
    assert_int_equal(fread(got, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    char want[80];
    snprintf(want, sizeof want, "[\"%s\"]\n", cases[i].out);
    assert_string_equal(got, want);
  }
}

static void unbalanced(lsp_json *j) {
  lsp_json_obj_begin(j);
  lsp_json_key(j, "x");
}

static void test_misuse(void **state) {
  (void)state;
  int err;
  char *s = render(unbalanced, 0, &err);
  assert_int_not_equal(err, 0);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_compact),
      cmocka_unit_test(test_pretty_round_trip),
      cmocka_unit_test(test_misuse),
      cmocka_unit_test(test_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
