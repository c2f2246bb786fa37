/* Paired bootstrap and seed-spread intervals against closed forms. */
#include <math.h>
#include <stdlib.h>

#include "analysis/lsp_boot.h"
#include "core/base/lsp_error.h"
#include "testutil.h"

static void test_identical_models(void **state) {
  (void)state;
  uint8_t a[100];
  for (int i = 0; i < 100; i++) a[i] = (uint8_t)(i % 3 == 0);
  double d, lo, hi;
  assert_int_equal(lsp_boot_paired_diff(a, a, 100, 200, 1, &d, &lo, &hi), 0);
  assert_true(d == 0 && lo == 0 && hi == 0);
}

/* The percentile interval of a mean of n Bernoulli(p) outcomes is close to
 * the normal interval p ± 1.96 sqrt(p(1-p)/n); the paired difference of two
 * models that disagree on a share s of examples (half each way) has
 * standard error sqrt(s/n). */
static void test_normal_approximation(void **state) {
  (void)state;
  const size_t n = 4000;
  uint8_t *a = malloc(n), *b = malloc(n);
  for (size_t i = 0; i < n; i++) {
    a[i] = (uint8_t)(i % 10 < 7); /* p = 0.7 */
    b[i] = a[i];
  }
  double m, lo, hi;
  assert_int_equal(lsp_boot_mean(a, n, 2000, 7, &m, &lo, &hi), 0);
  td_close(m, 0.7, 0, 1e-15, "mean", 0);
  double half = 1.959964 * sqrt(0.7 * 0.3 / (double)n);
  td_close(hi - lo, 2 * half, 0.1, 0, "interval width", 0);
  td_close(0.5 * (lo + hi), 0.7, 0, 0.2 * half, "interval centre", 0);
  /* b differs from a on 10% of examples: 5% gained, 5% lost */
  for (size_t i = 0; i < n; i += 10) b[i] = (uint8_t)!b[i];
  for (size_t i = 7; i < n; i += 20) b[i] = (uint8_t)!b[i];
  double d;
  assert_int_equal(lsp_boot_paired_diff(a, b, n, 2000, 7, &d, &lo, &hi), 0);
  long long s = 0, dis = 0;
  for (size_t i = 0; i < n; i++) {
    s += a[i] - b[i];
    dis += a[i] != b[i];
  }
  td_close(d, (double)s / (double)n, 0, 1e-15, "paired difference", 0);
  double se = sqrt(((double)dis / (double)n - d * d) / (double)n);
  td_close(hi - lo, 2 * 1.959964 * se, 0.1, 0, "paired interval width", 0);
  /* the same seed gives the same interval */
  double lo2, hi2;
  assert_int_equal(lsp_boot_paired_diff(a, b, n, 2000, 7, &d, &lo2, &hi2), 0);
  assert_true(lo == lo2 && hi == hi2);
  free(a);
  free(b);
}

static void test_seed_interval(void **state) {
  (void)state;
  const double v[3] = {0.88, 0.89, 0.87};
  double m, lo, hi;
  lsp_seed_interval(v, 3, &m, &lo, &hi);
  td_close(m, 0.88, 1e-12, 0, "mean", 0);
  /* sd = 0.01, t(0.975, 2) = 4.302653 */
  td_close(hi - m, 4.302653 * 0.01 / sqrt(3.0), 1e-5, 0, "half width", 0);
  td_close(m - lo, 4.302653 * 0.01 / sqrt(3.0), 1e-5, 0, "half width", 1);
  lsp_seed_interval(v, 1, &m, &lo, &hi);
  assert_true(m == 0.88 && isnan(lo) && isnan(hi));
}

static void test_errors(void **state) {
  (void)state;
  uint8_t a[1] = {1};
  double m, lo, hi;
  assert_int_equal(lsp_boot_mean(a, 0, 10, 1, &m, &lo, &hi), LSP_EINVAL);
  assert_int_equal(lsp_boot_mean(a, 1, 0, 1, &m, &lo, &hi), LSP_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_identical_models),
      cmocka_unit_test(test_normal_approximation),
      cmocka_unit_test(test_seed_interval),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
