/* The shared helpers of core/base/lsp_util.h: argmax ties and NaN, the
 * SplitMix64 reference outputs, the NaN-aware comparator, and percentiles
 * against NumPy's default ("linear") method. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"
#include "testutil.h"

static void test_argmax_ties_lowest(void **state) {
  (void)state;
  const float v[6] = {0.25f, 0.5f, -1.0f, 0.5f, 0.5f, 0.125f};
  assert_int_equal(lsp_argmax_f32(v, 6), 1);
  assert_int_equal(lsp_argmax_f32(v, 1), 0);
  assert_int_equal(lsp_argmax_f32(v, 0), 0);
  const float eq[3] = {2.0f, 2.0f, 2.0f};
  assert_int_equal(lsp_argmax_f32(eq, 3), 0);
  const float inf[4] = {-INFINITY, 3.0f, INFINITY, INFINITY};
  assert_int_equal(lsp_argmax_f32(inf, 4), 2);
  const float neg[3] = {-3.5f, -2.25f, -2.25f};
  assert_int_equal(lsp_argmax_f32(neg, 3), 1);
}

static void test_argmax_nan(void **state) {
  (void)state;
  /* NaN never wins, wherever it stands */
  const float a[4] = {NAN, 1.0f, 3.0f, 3.0f};
  assert_int_equal(lsp_argmax_f32(a, 4), 2);
  const float b[4] = {1.0f, NAN, 0.5f, 2.0f};
  assert_int_equal(lsp_argmax_f32(b, 4), 3);
  const float c[3] = {NAN, NAN, -7.0f};
  assert_int_equal(lsp_argmax_f32(c, 3), 2);
  const float d[3] = {NAN, NAN, NAN};
  assert_int_equal(lsp_argmax_f32(d, 3), 0);
}

static void test_argmax_f64(void **state) {
  (void)state;
  /* 0.2 and 0.2 + 2^-54 are distinct doubles but one float: the float64
   * argmax must see the difference */
  const double v[4] = {0.2, 0.2 + 0x1p-54, 0.2 + 0x1p-54, 0.1};
  assert_int_equal(lsp_argmax_f64(v, 4), 1);
  const double n[4] = {NAN, 1.0, 3.0, 3.0};
  assert_int_equal(lsp_argmax_f64(n, 4), 2);
  const double all[2] = {NAN, NAN};
  assert_int_equal(lsp_argmax_f64(all, 2), 0);
  assert_int_equal(lsp_argmax_f64(v, 0), 0);
}

static void test_argmax_except(void **state) {
  (void)state;
  const float v[5] = {4.0f, 9.0f, 1.0f, 9.0f, 2.0f};
  assert_int_equal(lsp_argmax_f32_except(v, 5, 1), 3); /* the tie's other side */
  assert_int_equal(lsp_argmax_f32_except(v, 5, 3), 1);
  assert_int_equal(lsp_argmax_f32_except(v, 5, 0), 1);
  assert_int_equal(lsp_argmax_f32_except(v, 5, 5), 1); /* skip out of range: plain argmax */
  assert_int_equal(lsp_argmax_f32_except(v, 1, 0), 1); /* nothing left: n */
  assert_int_equal(lsp_argmax_f32_except(v, 0, 0), 0);
  const float w[2] = {5.0f, 7.0f};
  assert_int_equal(lsp_argmax_f32_except(w, 2, 1), 0);
  const float x[3] = {NAN, 8.0f, NAN};
  assert_int_equal(lsp_argmax_f32_except(x, 3, 1), 0); /* all others NaN: first other */
}

/* The reference SplitMix64 generator (Vigna's splitmix64.c): state += golden
 * gamma, output = mix(state). Seed 0 and seed 1234567 sequences. */
static void test_splitmix64_reference(void **state) {
  (void)state;
  const uint64_t want0[3] = {0xe220a8397b1dcdafull, 0x6e789e6aa1b965f4ull, 0x06c45d188009454full};
  const uint64_t want1[3] = {6457827717110365317ull, 3203168211198807973ull,
                             9817491932198370423ull};
  uint64_t s = 0;
  for (int i = 0; i < 3; i++, s += 0x9e3779b97f4a7c15ull)
    assert_true(lsp_splitmix64(s) == want0[i]);
  s = 1234567;
  for (int i = 0; i < 3; i++, s += 0x9e3779b97f4a7c15ull)
    assert_true(lsp_splitmix64(s) == want1[i]);
  assert_true(lsp_mix64(0) == 0); /* the output function alone fixes 0 */
  assert_true(lsp_splitmix64(41) == lsp_mix64(41 + 0x9e3779b97f4a7c15ull));
}

static void test_cmp_double_nan_last(void **state) {
  (void)state;
  double v[9] = {3.5, NAN, -1.0, INFINITY, 0.0, NAN, -INFINITY, 2.0, -0.5};
  qsort(v, 9, sizeof *v, lsp_cmp_double);
  const double want[7] = {-INFINITY, -1.0, -0.5, 0.0, 2.0, 3.5, INFINITY};
  for (int i = 0; i < 7; i++) assert_true(v[i] == want[i]);
  assert_true(isnan(v[7]) && isnan(v[8]));
  double a = NAN, b = 1.0;
  assert_true(lsp_cmp_double(&a, &b) > 0);
  assert_true(lsp_cmp_double(&b, &a) < 0);
  assert_int_equal(lsp_cmp_double(&a, &a), 0);
  assert_int_equal(lsp_cmp_double(&b, &b), 0);
}

/* numpy.percentile(v, [0, 2.5, 25, 50, 97.5, 100]) of the sorted
 * v = 1 1 2 3 4 5 6 9: 1, 1, 1.75, 3.5, 8.475, 9. */
static void test_percentile_numpy(void **state) {
  (void)state;
  const double v[8] = {1, 1, 2, 3, 4, 5, 6, 9};
  const double q[6] = {0, 0.025, 0.25, 0.5, 0.975, 1};
  const double want[6] = {1, 1, 1.75, 3.5, 8.475, 9};
  for (int i = 0; i < 6; i++)
    td_close(lsp_percentile_sorted(v, 8, q[i]), want[i], 1e-15, 0, "percentile", (size_t)i);
  /* clamped q, one value, no value */
  assert_true(lsp_percentile_sorted(v, 8, -0.5) == 1 && lsp_percentile_sorted(v, 8, 1.5) == 9);
  assert_true(lsp_percentile_sorted(v + 3, 1, 0.3) == 3);
  assert_true(isnan(lsp_percentile_sorted(v, 0, 0.5)));
  assert_true(isnan(lsp_percentile_sorted(v, 8, NAN)));
}

static void test_percentile_nonfinite(void **state) {
  (void)state;
  /* an exact position or equal neighbours return the value itself: no
   * inf - inf = NaN */
  const double a[3] = {1.0, INFINITY, INFINITY};
  assert_true(lsp_percentile_sorted(a, 3, 0.75) == INFINITY);
  assert_true(lsp_percentile_sorted(a, 3, 0.5) == INFINITY);
  assert_true(lsp_percentile_sorted(a, 3, 0.0) == 1.0);
  /* NaNs sort last and reach only the top quantiles */
  double b[5] = {NAN, 2.0, 0.0, 1.0, 3.0};
  qsort(b, 5, sizeof *b, lsp_cmp_double);
  td_close(lsp_percentile_sorted(b, 5, 0.5), 2.0, 0, 0, "median with a NaN", 0);
  assert_true(isnan(lsp_percentile_sorted(b, 5, 1.0)));
}

static void test_now_monotonic(void **state) {
  (void)state;
  double t0 = lsp_now_s(), t1 = lsp_now_s();
  assert_true(t0 > 0 && t1 >= t0);
}

/* Messages are printable text whatever the names in them: control bytes,
 * DEL and bytes that start no well-formed UTF-8 sequence become \xNN, and
 * well-formed UTF-8 stays (lsp_fail, lsp_fail_prefix, lsp_text_clean). */
/* lsp_calloc_huge: zeroed even where the block reuses freed memory (the
 * second round usually gets the first round's blocks back from malloc),
 * 2 MB-aligned from 1 MB on, NULL on an overflowing count. */
static void test_calloc_huge(void **state) {
  (void)state;
  const size_t sizes[] = {0, 1, 4096, (size_t)1 << 20, 3u << 20};
  for (int round = 0; round < 2; round++)
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
      const size_t n = sizes[i] / sizeof(float);
      float *a = lsp_calloc_huge(n, sizeof *a);
      assert_non_null(a);
      for (size_t j = 0; j < n; j++)
        if (a[j] != 0.0f) fail_msg("size %zu: element %zu is %g, not 0", sizes[i], j, a[j]);
      if (sizes[i] >= (size_t)1 << 20) assert_int_equal((uintptr_t)a % (2u << 20), 0);
      memset(a, 0xab, n * sizeof *a); /* garbage for the next round */
      free(a);
    }
  assert_null(lsp_calloc_huge(SIZE_MAX / 2, 4));
}

static void test_message_clean(void **state) {
  (void)state;
  lsp_fail(LSP_EDATA, "node '%s': %s", "a\x1b[31m\nB\r", "op \xff\xfe caf\xc3\xa9");
  assert_string_equal(lsp_errmsg(), "node 'a\\x1b[31m\\x0aB\\x0d': op \\xff\\xfe caf\xc3\xa9");
  lsp_fail_prefix(LSP_EDATA, "m\x7f.onnx");
  assert_string_equal(lsp_errmsg(),
                      "m\\x7f.onnx: node 'a\\x1b[31m\\x0aB\\x0d': op \\xff\\xfe caf\xc3\xa9");
  char out[8];
  assert_int_equal(lsp_text_clean("\xed\xa0\x80z", out, sizeof out), 13);
  assert_string_equal(out, "\\xed\\xa"); /* cut to the buffer, as snprintf */
  /* a long message of control bytes keeps its end, cleaned */
  char big[2000];
  memset(big, '\x01', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  lsp_fail(LSP_EDATA, "%s: the reason", big);
  const char *m = lsp_errmsg();
  assert_true(strlen(m) < 1024);
  assert_string_equal(m + strlen(m) - 12, ": the reason");
  for (const char *c = m; *c; c++) assert_true((unsigned char)*c >= 0x20);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_argmax_ties_lowest),  cmocka_unit_test(test_argmax_nan),
      cmocka_unit_test(test_argmax_f64),
      cmocka_unit_test(test_argmax_except),       cmocka_unit_test(test_splitmix64_reference),
      cmocka_unit_test(test_cmp_double_nan_last), cmocka_unit_test(test_percentile_numpy),
      cmocka_unit_test(test_percentile_nonfinite), cmocka_unit_test(test_now_monotonic),
      cmocka_unit_test(test_message_clean),       cmocka_unit_test(test_calloc_huge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
