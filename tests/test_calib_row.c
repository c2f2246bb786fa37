/* test_calib_row — the calibration row kernels at every instruction-set
 * level this CPU runs: the bins function's fixed-point words
 * (test_bins_words), and the logarithm of the row function (the NLL's
 * log s, lsp_calib_log_fn) against the x87 extended-precision logl: within
 * 1 ulp of the true value
 * everywhere, over s in [1, 2^31] (a row's sum of exponentials lies in
 * [1, K]): values next to 1, on both sides of the mantissa split at √2,
 * powers of two and their neighbours, and a dense random sweep (0.57 ulp
 * at worst here with fused multiply-adds, 0.68 without). The result must
 * also be the correctly rounded one for all but 1% of the arguments (0.2%
 * and 0.3% measured), which is what keeps the NLL of a large file the same
 * to the last printed digit as with the C library's log. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib_row.h"
#include "core/base/lsp_cpu.h"
#include "testutil.h"

/* |got − ref| in ulps of the double nearest ref (the x87's 64-bit
 * significand leaves ~2^-11 ulp of doubt, far inside the bounds). */
static double ulp_of(long double ref, double got) {
  const double r = (double)ref;
  if (r == 0.0) return got == 0.0 ? 0.0 : INFINITY;
  const double ulp = nextafter(fabs(r), INFINITY) - fabs(r);
  return (double)(fabsl((long double)got - ref) / (long double)ulp);
}

/* f (an array kernel of the current level) over x[0..n) into out, in two
 * calls (odd lengths: the partial last vector), against ref in extended
 * precision: the worst error in ulps, and in *off how many results are not
 * the correctly rounded ones. */
typedef void (*vec_fn)(const double *x, size_t n, double *out);
static double ulp_sweep(vec_fn f, long double (*ref)(long double), const double *x, size_t n,
                        double *out, size_t *off) {
  f(x, 3, out);
  f(x + 3, n - 3, out + 3);
  double worst = 0.0;
  *off = 0;
  for (size_t i = 0; i < n; i++) {
    const long double r = ref((long double)x[i]);
    const double e = ulp_of(r, out[i]);
    worst = e > worst ? e : worst;
    *off += out[i] != (double)r;
  }
  return worst;
}

static void test_log_ulp(void **state) {
  (void)state;
  enum { N = 200000 };
  double *x = malloc(N * sizeof *x), *out = malloc(N * sizeof *out);
  assert_non_null(x);
  assert_non_null(out);
  size_t n = 0;
  for (int i = 0; i < 200; i++) x[n++] = 1.0 + i * DBL_EPSILON; /* next to 1 */
  for (int i = -100; i < 100; i++) x[n++] = sqrt(2.0) + i * 2 * DBL_EPSILON;
  for (int e = 0; e <= 31; e++) {
    const double p = ldexp(1.0, e);
    x[n++] = p;
    x[n++] = nextafter(p, INFINITY);
    if (e) x[n++] = nextafter(p, 0.0);
  }
  uint64_t s = 88172645463325252ull;
  while (n < N) { /* log-uniform over [1, 2^31], then uniform over [1, 16] */
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    const double u = (double)(s >> 11) * 0x1p-53;
    x[n] = n % 2 ? exp2(31.0 * u) : 1.0 + 15.0 * u;
    n++;
  }
  const char *isa[] = {NULL, "x86-64-v3", "x86-64"};
  for (int l = 0, done = -1; l < 3; l++) {
    assert_int_equal(lsp_cpu_isa_cap(isa[l]), 0);
    if (lsp_cpu_isa() == done) continue; /* a level this CPU lacks: ran above */
    done = lsp_cpu_isa();
    size_t off;
    const double worst = ulp_sweep(lsp_calib_log_kernel(), logl, x, N, out, &off);
    assert_true(out[0] == 0.0); /* log 1 */
    if (worst > 1.0 || off > N / 100) {
      print_error("level %d: worst %.3f ulp, %zu of %d not rounded to nearest\n",
                  lsp_cpu_isa(), worst, off, (int)N);
      fail();
    }
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
  free(x);
  free(out);
}

/* The row and group functions' exponential (lsp_calib_exp_fn) against the
 * x87 expl over x in [−708, 0]: within 1 ulp everywhere (1.01 without
 * fused multiply-adds), exactly 1 at 0, the correctly rounded value for
 * at least 80% of the arguments — on the table's seams
 * (multiples of ln2/16 and the points halfway between), next to 0, near
 * the clamp at −708, and a dense sweep of the range, log-uniform and
 * uniform over [−30, 0] (what a softmax's differences are). Below −708
 * the result is exp(−708). */
static void test_exp_ulp(void **state) {
  (void)state;
  enum { N = 200000 };
  double *x = malloc(N * sizeof *x), *out = malloc(N * sizeof *out);
  assert_non_null(x);
  assert_non_null(out);
  size_t n = 0;
  x[n++] = 0.0;
  for (int i = 1; i < 200; i++) x[n++] = -i * DBL_EPSILON; /* next to 0 */
  for (int i = 1; i < 200; i++) x[n++] = -ldexp(1.0, -i / 4);
  for (int j = 1; j < 2000; j++) { /* the seams: j·ln2/32 and neighbours */
    const double m = -(double)j * 0.021660849392498290;
    x[n++] = m;
    x[n++] = nextafter(m, 0.0);
    x[n++] = nextafter(m, -INFINITY);
  }
  for (int i = 0; i < 100; i++) x[n++] = -708.0 + i * 1e-3;
  uint64_t s = 88172645463325252ull;
  while (n < N) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    const double u = (double)(s >> 11) * 0x1p-53;
    x[n] = n % 2 ? -exp2(-40.0 + 49.4 * u) : -30.0 * u;
    n++;
  }
  const char *isa[] = {NULL, "x86-64-v3", "x86-64"};
  for (int l = 0, done = -1; l < 3; l++) {
    assert_int_equal(lsp_cpu_isa_cap(isa[l]), 0);
    if (lsp_cpu_isa() == done) continue; /* a level this CPU lacks: ran above */
    done = lsp_cpu_isa();
    lsp_calib_exp_fn ex = lsp_calib_exp_kernel();
    size_t off;
    const double worst = ulp_sweep(ex, expl, x, N, out, &off);
    assert_true(out[0] == 1.0);
    const double below[2] = {-709.5, -1e300};
    double got[2];
    ex(below, 2, got);
    assert_true(ulp_of(expl(-708.0L), got[0]) <= 1.0);
    assert_true(got[1] == got[0]);
    print_message("level %d: worst %.3f ulp, %zu of %d not rounded to nearest\n",
                  lsp_cpu_isa(), worst, off, (int)N);
    /* 0.991 ulp with fused multiply-adds, 1.001 without (SSE2); 16.7% not
     * correctly rounded (the former degree-13 form: 1.995 ulp, 33%) */
    if (worst > (lsp_cpu_isa() == 1 ? 1.01 : 1.0) || off > N / 5) fail();
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
  free(x);
  free(out);
}

/* The fixed-point words of the bins function (lsp_calib_bins_fn's fx) at
 * every level this CPU runs, against lsp_calib_fix_bits written out here
 * with exact integer arithmetic on the double's fields (v = m·2^(x−1075),
 * so trunc(frac(v)·2^63) is m's bits shifted): zero and −0, subnormals,
 * the neighbours of 2^-63 and 2^-64 (the last and first values with a bit
 * in the word), 1/2, 1 − ulp, 1, values in (1, 2), log-uniform values over
 * [2^-70, 1), and vectors holding a negative value (the vector forms'
 * fallback to the scalar form, which gives a negative fraction's own
 * truncation). */
static uint64_t fix_word_ref(double v) {
  const uint64_t ip = v >= 1.0;
  if (v < 0.0) /* the scalar form's value: trunc toward zero, negative */
    return ((uint64_t)(int64_t)(v * 0x1p63)) << 1;
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  const int x = (int)((b >> 52) & 0x7ff); /* the sign (of −0) dropped */
  const uint64_t m = (b & ((1ull << 52) - 1)) | (x ? 1ull << 52 : 0);
  const int sh = (x ? x : 1) - 1012; /* v·2^63 = m·2^sh */
  uint64_t t = sh >= 0 ? m << sh : sh > -64 ? m >> -sh : 0;
  if (ip) t &= (1ull << 63) - 1; /* the integer part's bit (2^63) dropped */
  return t << 1 | ip;
}

static void test_bins_words(void **state) {
  (void)state;
  enum { K = 5, N = 4000 };
  double *p = malloc(N * sizeof *p);
  uint64_t *fx = malloc(N * sizeof *fx);
  int32_t *cb = malloc(N * sizeof *cb);
  assert_non_null(p);
  assert_non_null(fx);
  assert_non_null(cb);
  const double fixed[] = {0.0, -0.0, 0x1p-1074, 0x1p-1022, 0x1.8p-1030, 0x1p-64,
                          0x1.fffffffffffffp-64, 0x1p-63, 0x1.0000000000001p-63, 0.5,
                          0x1.fffffffffffffp-1, 1.0, 1.0 + 0x1p-52, 1.5, 0x1.fffffffffffffp0};
  size_t n = 0;
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) p[n++] = fixed[i];
  uint64_t s = 0x9e3779b97f4a7c15ull;
  while (n < N) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    const double u = (double)(s >> 11) * 0x1p-53;
    p[n] = exp2(-70.0 * u);
    if (n % 997 == 0) p[n] = -p[n]; /* a vector with a negative lane */
    n++;
  }
  const char *isa[] = {NULL, "x86-64-v3", "x86-64"};
  for (int l = 0, done = -1; l < 3; l++) {
    assert_int_equal(lsp_cpu_isa_cap(isa[l]), 0);
    if (lsp_cpu_isa() == done) continue; /* a level this CPU lacks: ran above */
    done = lsp_cpu_isa();
    memset(fx, 0, N * sizeof *fx);
    lsp_calib_bins_kernel()(p, N, K, 15, 1, cb, fx);
    for (size_t i = 0; i < N; i++)
      if (fx[i] != fix_word_ref(p[i])) {
        print_error("level %d: p[%zu] = %a: word %016llx, expected %016llx\n", lsp_cpu_isa(),
                    i, p[i], (unsigned long long)fx[i], (unsigned long long)fix_word_ref(p[i]));
        fail();
      }
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
  free(p);
  free(fx);
  free(cb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_log_ulp),
      cmocka_unit_test(test_exp_ulp),
      cmocka_unit_test(test_bins_words),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
