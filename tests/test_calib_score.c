/* test_calib_score — lsp_calib_score (every metric straight from the
 * predictions, ACE by radix selection) against the per-row table path
 * (lsp_calib_rows_from_* + lsp_calib_rows_score, a stable sort for ACE):
 * the same numbers bit for bit, for float32 and float64 logits and
 * probabilities, a temperature, both per-bin tables, 1 and 3 threads, and
 * the awkward cases of equal-mass binning — confidences tied across bin
 * edges, fewer rows than bins, every row tied —, enough rows for the
 * score path's two-level radix sort, and the same error for a bad row;
 * and lsp_calib_scorer, the rows added in uneven parts, the same numbers
 * again (without per-row data: all but ACE and ECE-sweep). Every metric
 * includes the estimators: the debiased ECEs, ECE-sweep (and
 * the bin count it chose), SmoothECE at σ* and at a given σ, and the
 * smoothed reliability curve. The table path itself is tested against
 * independent numbers in test_calib.c, test_calib_f64.c and
 * test_calib_estim.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "calib_synth.h"
#include "core/base/lsp_error.h"
#include "testutil.h"

typedef struct {
  const float *f;
  const double *d;
  int logits;
  double inv_t;
} input;

static void same_result(const lsp_calib_result *a, const lsp_calib_result *b, const char *what) {
  assert_int_equal(a->n, b->n);
  assert_int_equal(a->bins, b->bins);
  /* the estimators are there on both paths (not both missing) */
  assert_true(b->has[LSP_CALIB_ECE_DEBIASED] && b->has[LSP_CALIB_ECE_L2_DEBIASED] &&
              b->has[LSP_CALIB_ECE_SWEEP] && b->has[LSP_CALIB_SMECE] &&
              b->has[LSP_CALIB_SMECE_SIGMA]);
  assert_int_equal(a->sweep_bins, b->sweep_bins);
  assert_true(b->sweep_bins >= 1);
  assert_non_null(a->smooth_acc);
  assert_non_null(b->smooth_acc);
  assert_memory_equal(a->smooth_acc, b->smooth_acc, LSP_SMECE_CURVE_PTS * sizeof(double));
  assert_memory_equal(a->smooth_dens, b->smooth_dens, LSP_SMECE_CURVE_PTS * sizeof(double));
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
    assert_int_equal(a->has[m], b->has[m]);
    if (a->has[m] && memcmp(&a->value[m], &b->value[m], sizeof(double)) != 0)
      fail_msg("%s: %s %.17g vs the table's %.17g", what, lsp_calib_metric_name(m),
               a->value[m], b->value[m]);
  }
  assert_memory_equal(a->bin_count, b->bin_count, (size_t)a->bins * sizeof *a->bin_count);
  assert_memory_equal(a->bin_conf, b->bin_conf, (size_t)a->bins * sizeof *a->bin_conf);
  assert_memory_equal(a->bin_acc, b->bin_acc, (size_t)a->bins * sizeof *a->bin_acc);
}

/* Score x both ways under every binning and thread count and compare. */
static void both_ways(input x, const int32_t *y, size_t n, size_t k, int bins,
                      const char *what) {
  lsp_calib_rows *r = NULL;
  int st = x.logits ? (x.d ? lsp_calib_rows_from_logits_f64(x.d, y, n, k, x.inv_t, NULL, &r)
                           : lsp_calib_rows_from_logits(x.f, y, n, k, x.inv_t, NULL, &r))
                    : (x.d ? lsp_calib_rows_from_probs_f64(x.d, y, n, k, NULL, &r)
                           : lsp_calib_rows_from_probs(x.f, y, n, k, NULL, &r));
  assert_int_equal(st, 0);
  for (int binning = 0; binning < 2; binning++)
    for (int threads = 1; threads <= 3; threads += 2) {
      lsp_calib_opts o = lsp_calib_opts_default();
      o.bins = bins;
      o.binning = binning ? LSP_CALIB_BINNING_MASS : LSP_CALIB_BINNING_WIDTH;
      o.edges = threads == 1 ? LSP_CALIB_EDGES_RIGHT : LSP_CALIB_EDGES_LEFT;
      o.smece_sigma = binning ? 0.07 : 0.0; /* a given σ, or the fixed point σ* */
      lsp_calib_result want, got;
      assert_int_equal(lsp_calib_rows_score(r, &o, &want), 0);
      assert_int_equal(
          lsp_calib_score(x.f, x.d, y, n, k, x.logits, x.inv_t, &o, threads, NULL, &got), 0);
      same_result(&got, &want, what);
      lsp_calib_result_release(&got);
      /* the rows in uneven parts (1, 2, 5, ... rows, then the rest) */
      for (int ordered = 1; ordered >= 0; ordered--) {
        lsp_calib_scorer *sc = NULL;
        assert_int_equal(lsp_calib_scorer_alloc(n, k, &o, ordered, &sc), 0);
        for (size_t i = 0, m = 1; i < n; i += m, m = m * 2 + 1) {
          if (m > n - i) m = n - i;
          const float *f = x.f ? x.f + i * k : NULL;
          const double *d = x.d ? x.d + i * k : NULL;
          assert_int_equal(
              lsp_calib_scorer_add(sc, f, d, y + i, m, x.logits, x.inv_t, threads), 0);
        }
        assert_int_equal(lsp_calib_scorer_finish(sc, &got), 0);
        lsp_calib_scorer_free(sc);
        if (ordered) {
          same_result(&got, &want, what);
        } else { /* what --stream reports: all but ACE and ECE-sweep */
          for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
            const int kept = m != LSP_CALIB_ACE && m != LSP_CALIB_ECE_SWEEP;
            assert_int_equal(got.has[m], kept ? want.has[m] : 0);
            if (kept && want.has[m] && memcmp(&got.value[m], &want.value[m], sizeof(double)))
              fail_msg("%s, unordered parts: %s differs", what, lsp_calib_metric_name(m));
          }
        }
        lsp_calib_result_release(&got);
      }
      lsp_calib_result_release(&want);
    }
  lsp_calib_rows_free(r);
}

static void test_same_as_table(void **state) {
  (void)state;
  const size_t n = 10007, k = 10;
  float *z = malloc(n * k * sizeof *z), *p = malloc(n * k * sizeof *p);
  double *zd = malloc(n * k * sizeof *zd), *pd = malloc(n * k * sizeof *pd);
  int32_t *y = malloc(n * sizeof *y), *yp = malloc(n * sizeof *yp);
  calibrated_logits(n, k, 2.385, 11, z, y);
  random_probs(n, k, 12, p, yp);
  for (size_t i = 0; i < n * k; i++) zd[i] = z[i] * 1.0000001, pd[i] = p[i];
  both_ways((input){z, NULL, 1, 1.0}, y, n, k, 15, "float logits");
  both_ways((input){z, NULL, 1, 0.43}, y, n, k, 15, "float logits at T = 1/0.43");
  both_ways((input){NULL, zd, 1, 1.0}, y, n, k, 15, "double logits");
  both_ways((input){p, NULL, 0, 1.0}, yp, n, k, 10, "float probabilities");
  both_ways((input){NULL, pd, 0, 1.0}, yp, n, k, 20, "double probabilities");
  free(z), free(p), free(zd), free(pd), free(y), free(yp);
}

/* Equal-mass bins split runs of tied confidences: rows drawn from six
 * logit patterns (so six distinct confidences), bins that cut through
 * every run; fewer rows than bins; every row tied; one bin. */
static void test_ace_ties(void **state) {
  (void)state;
  const size_t k = 4, n = 1003;
  float *z = malloc(n * k * sizeof *z);
  int32_t *y = malloc(n * sizeof *y);
  for (size_t i = 0; i < n; i++) {
    size_t pat = (i * 7919) % 6;
    for (size_t j = 0; j < k; j++) z[i * k + j] = (float)((pat + 1) * (j == pat % k));
    y[i] = (int32_t)((i * 31) % k);
  }
  both_ways((input){z, NULL, 1, 1.0}, y, n, k, 7, "six tied confidences, 7 bins");
  both_ways((input){z, NULL, 1, 1.0}, y, n, k, 1000, "ties, 1000 bins");
  both_ways((input){z, NULL, 1, 1.0}, y, 5, k, 15, "5 rows, 15 bins");
  both_ways((input){z, NULL, 1, 1.0}, y, n, k, 1, "one bin");
  for (size_t i = 0; i < n * k; i++) z[i] = 0.25f;
  both_ways((input){z, NULL, 1, 1.0}, y, n, k, 15, "every row tied");
  free(z), free(y);
}

/* Enough rows (over 2^16) for the score path's two-level radix sort (a
 * most-significant-digit pass into 2048 runs, then each run by LSD passes
 * or by insertion): continuous confidences with every third row a copy of
 * one of five rows, so long runs of ties cross the run boundaries. */
static void test_large_sort(void **state) {
  (void)state;
  const size_t n = 150001, k = 10;
  float *z = malloc(n * k * sizeof *z);
  int32_t *y = malloc(n * sizeof *y);
  calibrated_logits(n, k, 2.385, 21, z, y);
  for (size_t i = 5; i < n; i += 3) memcpy(z + i * k, z + (i % 5) * k, k * sizeof *z);
  both_ways((input){z, NULL, 1, 1.0}, y, n, k, 15, "150001 rows, ties");
  both_ways((input){z, NULL, 1, 1.0}, y, n, k, 1000, "150001 rows, ties, 1000 bins");
  free(z), free(y);
}

/* A bad row: the same message as the table path, the file named. */
static void test_errors(void **state) {
  (void)state;
  float z[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  int32_t y[4] = {0, 1, 2, 0};
  z[7] = NAN;
  lsp_calib_opts o = lsp_calib_opts_default();
  lsp_calib_rows *r = NULL;
  lsp_calib_result res;
  assert_int_equal(lsp_calib_rows_from_logits(z, y, 4, 3, 1.0, "z.npy", &r), LSP_EDATA);
  char want[256];
  snprintf(want, sizeof want, "%s", lsp_errmsg());
  assert_int_equal(lsp_calib_score(z, NULL, y, 4, 3, 1, 1.0, &o, 2, "z.npy", &res), LSP_EDATA);
  assert_string_equal(lsp_errmsg(), want);
  z[7] = 0.5f;
  y[3] = 3;
  assert_int_equal(lsp_calib_score(z, NULL, y, 4, 3, 1, 1.0, &o, 1, "z.npy", &res), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "row 3: label"));
  assert_int_equal(lsp_calib_score(z, NULL, y, 0, 3, 1, 1.0, &o, 1, NULL, &res), LSP_EDATA);
  /* in parts: a bad row named by its global index; rows past n, or
   * finishing early, refused */
  lsp_calib_scorer *sc = NULL;
  assert_int_equal(lsp_calib_scorer_alloc(4, 3, &o, 1, &sc), 0);
  assert_int_equal(lsp_calib_scorer_add(sc, z, NULL, y, 2, 1, 1.0, 1), 0);
  assert_int_equal(lsp_calib_scorer_finish(sc, &res), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "2 of 4 rows"));
  assert_int_equal(lsp_calib_scorer_add(sc, z + 6, NULL, y + 2, 3, 1, 1.0, 1), LSP_EINVAL);
  assert_int_equal(lsp_calib_scorer_add(sc, z + 6, NULL, y + 2, 2, 1, 1.0, 1), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "row 3: label"));
  lsp_calib_scorer_free(sc);
  y[3] = 0; /* finished once only, no rows after */
  assert_int_equal(lsp_calib_scorer_alloc(4, 3, &o, 1, &sc), 0);
  assert_int_equal(lsp_calib_scorer_add(sc, z, NULL, y, 4, 1, 1.0, 1), 0);
  assert_int_equal(lsp_calib_scorer_finish(sc, &res), 0);
  lsp_calib_result_release(&res);
  assert_int_equal(lsp_calib_scorer_finish(sc, &res), LSP_EINVAL);
  assert_int_equal(lsp_calib_scorer_add(sc, z, NULL, y, 1, 1, 1.0, 1), LSP_EINVAL);
  lsp_calib_scorer_free(sc);
  lsp_calib_scorer_free(NULL);
  assert_int_equal(lsp_calib_scorer_alloc(0, 3, &o, 1, &sc), LSP_EDATA);
  assert_null(sc);
  o.bins = 0;
  assert_int_equal(lsp_calib_score(z, NULL, y, 4, 3, 1, 1.0, &o, 1, NULL, &res), LSP_EINVAL);
  assert_int_equal(lsp_calib_scorer_alloc(4, 3, &o, 1, &sc), LSP_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_as_table),
      cmocka_unit_test(test_ace_ties),
      cmocka_unit_test(test_large_sort),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
