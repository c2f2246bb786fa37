/* test_calib_f64 — calibration keeps float64 inputs in double through the
 * binning, and the classwise probabilities are the very numbers the
 * top-label confidence is taken from. Reference: tests/data/calib_f64/,
 * whose expected metrics gen_calib_f64.py computes with exact rational
 * arithmetic (forest: probabilities that are exact tenths; edge: float64
 * logits 1e-10 beside bin edges; tie: equal logits, every probability 1/8). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "core/base/lsp_error.h"
#include "testutil.h"

/* The expected value of `metric` for case/bins/edges from expected.txt. */
static double expected(const char *cas, const char *metric, int bins, const char *edges) {
  FILE *f = fopen(td_path("calib_f64/expected.txt"), "r");
  assert_non_null(f);
  char line[256], c[32], m[32], e[16];
  int b;
  double v;
  while (fgets(line, sizeof line, f))
    if (line[0] != '#' && sscanf(line, "%31s %31s %d %15s %lf", c, m, &b, e, &v) == 5 &&
        strcmp(c, cas) == 0 && strcmp(m, metric) == 0 && b == bins && strcmp(e, edges) == 0) {
      fclose(f);
      return v;
    }
  fclose(f);
  fail_msg("expected.txt has no %s %s %d %s", cas, metric, bins, edges);
  return NAN;
}

static const int k_checked[] = {LSP_CALIB_ACCURACY, LSP_CALIB_BRIER, LSP_CALIB_ECE,
                                LSP_CALIB_MCE, LSP_CALIB_RMSCE, LSP_CALIB_CLASSWISE_ECE,
                                LSP_CALIB_OVER_CONFIDENCE, LSP_CALIB_UNDER_CONFIDENCE};

static void check_result(const lsp_calib_result *r, const char *cas, int bins,
                         const char *edges, double tol, int with_ace) {
  for (size_t i = 0; i < sizeof k_checked / sizeof k_checked[0]; i++) {
    int m = k_checked[i];
    td_close(r->value[m], expected(cas, lsp_calib_metric_name(m), bins, edges), 0, tol,
             lsp_calib_metric_name(m), (size_t)bins);
  }
  if (with_ace)
    td_close(r->value[LSP_CALIB_ACE], expected(cas, "ace", bins, edges), 0, tol, "ace",
             (size_t)bins);
}

/* A case's inputs: the float64 matrix and int32 labels. */
typedef struct {
  lsp_array xa, ya;
  const double *x;
  int32_t *y;
  size_t n, k;
} f64_case;

static void load_case(const char *xname, const char *yname, f64_case *c) {
  char p[128];
  snprintf(p, sizeof p, "calib_f64/%s", xname);
  td_load(p, &c->xa);
  assert_int_equal(c->xa.dtype, LSP_DT_F64);
  assert_int_equal(c->xa.ndim, 2);
  c->x = c->xa.data;
  c->n = c->xa.shape[0];
  c->k = c->xa.shape[1];
  snprintf(p, sizeof p, "calib_f64/%s", yname);
  td_load(p, &c->ya);
  assert_int_equal(lsp_array_labels(&c->ya, yname, (int)c->k, &c->y), 0);
}

static void free_case(f64_case *c) {
  free(c->y);
  lsp_array_release(&c->xa);
  lsp_array_release(&c->ya);
}

/* Score through the per-row table and through the accumulator (FULL, in two
 * chunks on two threads): both give the exact metrics. */
static void score_both(const f64_case *c, int logits, const char *cas, int bins,
                       lsp_calib_edges edges) {
  const char *en = lsp_calib_edges_name(edges);
  lsp_calib_opts o = {bins, edges, LSP_CALIB_BINNING_WIDTH, 0.0};
  lsp_calib_rows *r = NULL;
  lsp_calib_result res;
  assert_int_equal(logits ? lsp_calib_rows_from_logits_f64(c->x, c->y, c->n, c->k, 1.0, cas, &r)
                          : lsp_calib_rows_from_probs_f64(c->x, c->y, c->n, c->k, cas, &r),
                   0);
  assert_int_equal(lsp_calib_rows_score(r, &o, &res), 0);
  check_result(&res, cas, bins, en, 1e-12, 1);
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);
  lsp_calib_acc *a = lsp_calib_acc_alloc(bins, c->k, edges, LSP_CALIB_FULL);
  size_t h = c->n / 3;
  for (int part = 0; part < 2; part++) {
    size_t i0 = part ? h : 0, m = part ? c->n - h : h;
    assert_int_equal(
        logits ? lsp_calib_acc_add_logits_f64(a, c->x + i0 * c->k, c->y + i0, m, i0, 1.0, 2)
               : lsp_calib_acc_add_probs_f64(a, c->x + i0 * c->k, c->y + i0, m, i0, 2),
        0);
  }
  assert_int_equal(lsp_calib_acc_finalize(a, &res), 0);
  check_result(&res, cas, bins, en, 1e-12, 0);
  lsp_calib_result_release(&res);
  lsp_calib_acc_free(a);
}

/* Exact tenths: 0.2 stays 0.2 and lands on its bin edge. */
static void test_forest_probs(void **state) {
  (void)state;
  f64_case c = {0};
  load_case("forest_probs.npy", "forest_labels.npy", &c);
  score_both(&c, 0, "forest", 10, LSP_CALIB_EDGES_RIGHT);
  score_both(&c, 0, "forest", 10, LSP_CALIB_EDGES_LEFT);
  score_both(&c, 0, "forest", 15, LSP_CALIB_EDGES_RIGHT);
  /* the same probabilities rounded to float32 give other numbers: the case
   * tells the two paths apart */
  float *pf = malloc(c.n * c.k * sizeof *pf);
  for (size_t i = 0; i < c.n * c.k; i++) pf[i] = (float)c.x[i];
  lsp_calib_rows *r = NULL;
  lsp_calib_result res;
  lsp_calib_opts o = {10, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_BINNING_WIDTH, 0.0};
  assert_int_equal(lsp_calib_rows_from_probs(pf, c.y, c.n, c.k, NULL, &r), 0);
  assert_int_equal(lsp_calib_rows_score(r, &o, &res), 0);
  assert_true(fabs(res.value[LSP_CALIB_ECE] - expected("forest", "ece", 10, "right")) > 1e-3);
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);
  free(pf);
  free_case(&c);
}

/* float64 logits whose softmax sits 1e-10 beside a bin edge. */
static void test_edge_logits(void **state) {
  (void)state;
  f64_case c = {0};
  load_case("edge_logits.npy", "edge_labels.npy", &c);
  score_both(&c, 1, "edge", 15, LSP_CALIB_EDGES_RIGHT);
  lsp_calib_rows *r = NULL;
  lsp_calib_result res;
  lsp_calib_opts o = lsp_calib_opts_default();
  assert_int_equal(lsp_calib_rows_from_logits_f64(c.x, c.y, c.n, c.k, 1.0, NULL, &r), 0);
  assert_int_equal(lsp_calib_rows_score(r, &o, &res), 0);
  td_close(res.value[LSP_CALIB_NLL], expected("edge", "nll", 15, "right"), 1e-14, 0, "nll", 0);
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);
  /* temperature: T = 1 fitted on float64 logits equals the float32 fit of
   * the same values within the fit's tolerance, and scoring at 1/T works */
  double t64 = 0, t32 = 0;
  float *zf = malloc(c.n * c.k * sizeof *zf);
  for (size_t i = 0; i < c.n * c.k; i++) zf[i] = (float)c.x[i];
  assert_int_equal(lsp_calib_temperature_fit_f64(c.x, c.y, c.n, c.k, &t64), 0);
  assert_int_equal(lsp_calib_temperature_fit(zf, c.y, c.n, c.k, &t32), 0);
  td_close(t64, t32, 1e-5, 0, "temperature f64 vs f32", 0);
  free(zf);
  free_case(&c);
}

/* Ties at 1/K: equal logits give every class probability exactly 1/8, an
 * edge of 8 and 16 bins; the classwise bins must be the top-label bin. Both
 * for float64 and for float32 logits (equal float32 logits are still equal,
 * and the other rows move by ~1e-8 only). */
static void test_ties(void **state) {
  (void)state;
  f64_case c = {0};
  load_case("tie_logits.npy", "tie_labels.npy", &c);
  score_both(&c, 1, "tie", 8, LSP_CALIB_EDGES_RIGHT);
  score_both(&c, 1, "tie", 16, LSP_CALIB_EDGES_RIGHT);
  float *zf = malloc(c.n * c.k * sizeof *zf);
  for (size_t i = 0; i < c.n * c.k; i++) zf[i] = (float)c.x[i];
  for (int bins = 8; bins <= 16; bins += 8) {
    lsp_calib_opts o = {bins, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_BINNING_WIDTH, 0.0};
    lsp_calib_rows *r = NULL;
    lsp_calib_result res;
    assert_int_equal(lsp_calib_rows_from_logits(zf, c.y, c.n, c.k, 1.0, NULL, &r), 0);
    assert_int_equal(lsp_calib_rows_score(r, &o, &res), 0);
    check_result(&res, "tie", bins, "right", 1e-6, 0);
    lsp_calib_result_release(&res);
    lsp_calib_rows_free(r);
    lsp_calib_acc *a = lsp_calib_acc_alloc(bins, c.k, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_FULL);
    assert_int_equal(lsp_calib_acc_add_logits(a, zf, c.y, c.n, 0, 1.0, 1), 0);
    assert_int_equal(lsp_calib_acc_finalize(a, &res), 0);
    check_result(&res, "tie", bins, "right", 1e-6, 0);
    lsp_calib_result_release(&res);
    lsp_calib_acc_free(a);
  }
  free(zf);
  free_case(&c);
}

/* float64 input is validated like float32 input, with the same messages. */
static void test_f64_bad_inputs(void **state) {
  (void)state;
  const double pbad[][4] = {{0.7, 0.3, NAN, 0.8}, {0.7, 0.3, 1.2, -0.2}, {0.7, 0.2, 0.2, 0.8}};
  const char *needle[] = {"row 6", "row 6: probability", "row 5: probabilities sum to"};
  const int32_t y[2] = {0, 1};
  for (int c = 0; c < 3; c++) {
    lsp_calib_acc *a = lsp_calib_acc_alloc(15, 2, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_FULL);
    assert_int_equal(lsp_calib_acc_add_probs_f64(a, pbad[c], y, 2, 5, 1), LSP_EDATA);
    if (!strstr(lsp_errmsg(), needle[c])) fail_msg("'%s' lacks '%s'", lsp_errmsg(), needle[c]);
    assert_int_equal(a->n, 0);
    lsp_calib_acc_free(a);
    lsp_calib_rows *r = NULL;
    assert_int_equal(lsp_calib_rows_from_probs_f64(pbad[c], y, 2, 2, "P.npy", &r), LSP_EDATA);
    assert_null(r);
    assert_non_null(strstr(lsp_errmsg(), "P.npy"));
  }
  const double zbad[4] = {1.0, 2.0, INFINITY, 0.0};
  lsp_calib_rows *r = NULL;
  assert_int_equal(lsp_calib_rows_from_logits_f64(zbad, y, 2, 2, 1.0, "Z.npy", &r), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "Z.npy: row 1: non-finite logit"));
  double t;
  assert_int_equal(lsp_calib_temperature_fit_f64(zbad, y, 2, 2, &t), LSP_EDATA);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forest_probs),
      cmocka_unit_test(test_edge_logits),
      cmocka_unit_test(test_ties),
      cmocka_unit_test(test_f64_bad_inputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
