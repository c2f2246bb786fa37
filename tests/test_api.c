/* The public API (include/lsprobe) as a program outside the library sees
 * it: only lsprobe/lsprobe.h is included (plus the test helpers that read
 * reference arrays). Independent references: PyTorch dumps
 * (tests/data/lsce_n1024_k10_eps0.1, tests/data/torch_mlp_tiny: logits,
 * features, the FGSM input and accuracies), closed forms (DESIGN §2's
 * cluster toy, ECE of rows alone in their bins, the optimal gap) and a
 * finite-difference check that the fitted temperature minimizes the NLL. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsprobe/lsprobe.h"
#include "testutil.h"

/* r = (ok(lsp_..._measure(..., &r)), r): the call, then r (comma operator:
 * r is read after the call wrote it) */
static void ok(int st) {
  if (st != LSP_OK) fail_msg("status %d: %s", st, lsp_errmsg());
}

static double num(const lsp_result *r, const char *path) {
  double v = NAN;
  if (lsp_result_number(r, path, &v) != LSP_OK)
    fail_msg("%s: %s", path, lsp_errmsg());
  return v;
}

static lsp_opts *opts(const char *const *kv) {
  lsp_opts *o = lsp_opts_alloc();
  assert_non_null(o);
  for (; kv && kv[0]; kv += 2)
    assert_int_equal(lsp_opts_set(o, kv[0], kv[1]), LSP_OK);
  return o;
}

/* status st, and the message contains `needle` */
static void refused(int st, int want, const char *needle) {
  assert_int_equal(st, want);
  if (!strstr(lsp_errmsg(), needle))
    fail_msg("message '%s' lacks '%s'", lsp_errmsg(), needle);
}

static void test_version_init(void **state) {
  (void)state;
  assert_int_equal(lsp_init(), LSP_OK);
  assert_int_equal(lsp_init(), LSP_OK); /* idempotent */
  assert_string_equal(lsp_version(), LSPROBE_VERSION);
  lsp_clear_error();
  assert_string_equal(lsp_errmsg(), "");
  int before = lsp_threads_get();
  assert_true(before >= 1);
  int prev = lsp_threads_set(3);
  assert_int_equal(lsp_threads_get(), 3);
  /* above the limit: refused, the setting kept */
  refused(lsp_threads_set(LSP_THREADS_MAX + 1), -LSP_EINVAL, "above the limit of 1024");
  assert_int_equal(lsp_threads_get(), 3);
  assert_int_equal(lsp_threads_set(LSP_THREADS_MAX), 3);
  assert_int_equal(lsp_threads_get(), LSP_THREADS_MAX);
  assert_int_equal(lsp_threads_set(prev), LSP_THREADS_MAX);
  assert_int_equal(lsp_threads_get(), before);
  lsp_opts_free(NULL);
  lsp_result_free(NULL);
  lsp_model_free(NULL);
}

static void test_opts(void **state) {
  (void)state;
  lsp_opts *o = lsp_opts_alloc();
  refused(lsp_opts_set(o, "Bins", "3"), LSP_EINVAL, "not an option name");
  refused(lsp_opts_set(o, "bins", NULL), LSP_EINVAL, "NULL");
  assert_int_equal(lsp_opts_set(o, "bins", "3"), LSP_OK);
  assert_int_equal(lsp_opts_set(o, "bins", "10"), LSP_OK); /* replaces */
  assert_int_equal(lsp_opts_set(o, "bnis", "10"), LSP_OK);
  const float p[4] = {0.75f, 0.25f, 0.5f, 0.5f};
  const int32_t y[2] = {0, 1};
  lsp_matrix m = {p, LSP_MAT_F32, 2, 2};
  lsp_result *r = (lsp_result *)&m; /* must come back NULL */
  refused(lsp_calib_measure(&m, y, NULL, NULL, o, &r), LSP_EINVAL,
          "unknown option 'bnis'");
  assert_null(r);
  assert_non_null(strstr(lsp_errmsg(), "bins, edges"));
  lsp_opts_free(o);
  static const char *const bad[][2] = {{"bins", "0"},   {"bins", "1.5"},
                                       {"bins", ""},    {"bootstrap", "-1"},
                                       {"edges", "up"}, {"input", "p"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *kv[] = {bad[i][0], bad[i][1], NULL};
    o = opts(kv);
    refused(lsp_calib_measure(&m, y, NULL, NULL, o, &r), LSP_EINVAL, bad[i][0]);
    lsp_opts_free(o);
  }
}

/* Option names up to 64 characters; a longer one is refused as too long. */
static void test_opts_name_length(void **state) {
  (void)state;
  char name[80];
  memset(name, 'a', sizeof name);
  name[64] = '\0';
  lsp_opts *o = lsp_opts_alloc();
  assert_int_equal(lsp_opts_set(o, name, "1"), LSP_OK);
  name[64] = 'b';
  name[65] = '\0';
  refused(lsp_opts_set(o, name, "1"), LSP_EINVAL, "too long");
  refused(lsp_opts_set(o, name, "1"), LSP_EINVAL, "the limit is 64");
  assert_null(strstr(lsp_errmsg(), "not an option name"));
  lsp_opts_free(o);
}

/* Numbers written alone: blanks at either end are refused for whole numbers
 * and reals alike (strtol and strtod would skip leading ones). */
static void test_opts_blanks(void **state) {
  (void)state;
  lsp_opts *o;
  const float p[4] = {0.75f, 0.25f, 0.5f, 0.5f};
  const float z[6] = {3, 1, 2, 0, 4, 1};
  const int32_t y[2] = {0, 1};
  lsp_matrix mp = {p, LSP_MAT_F32, 2, 2}, mz = {z, LSP_MAT_F32, 2, 3};
  static const char *const blank[] = {" 3", "3 ", "\t3", "3\n", " 3 "};
  static const char *const blank_real[] = {" 0.1", "0.1 ", "\t0.1", "0.1\n",
                                           " 0.1 "};
  lsp_result *r = NULL;
  for (size_t i = 0; i < sizeof blank / sizeof blank[0]; i++) {
    const char *kl[] = {"bins", blank[i], "input", "probs", NULL};
    o = opts(kl);
    refused(lsp_calib_measure(&mp, y, NULL, NULL, o, &r), LSP_EINVAL,
            "option bins");
    refused(lsp_calib_measure(&mp, y, NULL, NULL, o, &r), LSP_EINVAL,
            "blanks around the number");
    assert_null(r);
    lsp_opts_free(o);
    const char *kd[] = {"smoothing", blank_real[i], NULL};
    o = opts(kd);
    refused(lsp_logitgap_measure(&mz, y, o, &r), LSP_EINVAL,
            "option smoothing");
    refused(lsp_logitgap_measure(&mz, y, o, &r), LSP_EINVAL,
            "blanks around the number");
    assert_null(r);
    lsp_opts_free(o);
  }
  /* the same numbers alone are taken */
  static const char *const kl[] = {"bins", "3", "input", "probs", NULL};
  o = opts(kl);
  r = (ok(lsp_calib_measure(&mp, y, NULL, NULL, o, &r)), r);
  assert_int_equal((int)num(r, "num_bins"), 3);
  lsp_result_free(r);
  lsp_opts_free(o);
  static const char *const kd[] = {"smoothing", "0.1", NULL};
  o = opts(kd);
  r = (ok(lsp_logitgap_measure(&mz, y, o, &r)), r);
  td_close(num(r, "optimal_gap"), log(28.0), 1e-12, 0, "optimal", 0);
  lsp_result_free(r);
  lsp_opts_free(o);
}

/* lsp_loss_xent through the public header against PyTorch's
 * F.cross_entropy(label_smoothing=0.1): loss (float64 case value) and
 * gradient of the mean. */
static void test_loss_torch(void **state) {
  (void)state;
  lsp_array z, y, g;
  td_load("lsce_n1024_k10_eps0.1/logits.npy", &z);
  td_load("lsce_n1024_k10_eps0.1/labels.npy", &y);
  td_load("lsce_n1024_k10_eps0.1/grad.npy", &g);
  size_t n = z.shape[0], k = z.shape[1];
  int32_t *lab = malloc(n * sizeof *lab);
  float *dz = malloc(n * k * sizeof *dz);
  for (size_t i = 0; i < n; i++) lab[i] = (int32_t)((const int64_t *)y.data)[i];
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  double mean;
  assert_int_equal(
      lsp_loss_xent(z.data, lab, n, k, &ls, dz, 1.0 / (double)n, NULL, &mean),
      LSP_OK);
  td_close(mean, 2.734141893176975, 1e-6, 0,
           "loss vs torch (case.json, float64)", 0);
  for (size_t i = 0; i < n * k; i++)
    td_close(dz[i], ((const float *)g.data)[i], 1e-4, 1e-8, "grad", i);
  td_close(lsp_ls_entropy(&ls, 10), 0.5003, 0, 1e-4, "H(q) K=10 eps 0.1", 0);
  td_close(lsp_ls_optimal_gap(&ls, 10), log(91.0), 1e-12, 0, "optimal gap", 0);
  free(lab);
  free(dz);
  lsp_array_release(&z);
  lsp_array_release(&y);
  lsp_array_release(&g);
}

static void test_calibration(void **state) {
  (void)state;
  /* four rows alone in their bins (10 bins): ECE = mean |correct - conf| */
  const float p[8] = {0.85f, 0.15f, 0.25f, 0.75f, 0.35f, 0.65f, 0.55f, 0.45f};
  const double p64[8] = {0.85, 0.15, 0.25, 0.75, 0.35, 0.65, 0.55, 0.45};
  const int32_t y[4] = {0, 0, 1, 1};
  static const char *const kv[] = {"input", "probs", "bins", "10", NULL};
  lsp_opts *o = opts(kv);
  lsp_matrix m = {p, LSP_MAT_F32, 4, 2}, m64 = {p64, LSP_MAT_F64, 4, 2};
  lsp_result *r = (ok(lsp_calib_measure(&m, y, NULL, NULL, o, &r)), r);
  double want = (fabs(1 - 0.85f) + 0.75f + fabs(1 - 0.65f) + 0.55f) / 4;
  td_close(num(r, "ece"), want, 1e-6, 0, "ece", 0);
  td_close(num(r, "accuracy"), 0.5, 0, 0, "accuracy", 0);
  td_close(num(r, "bins[7].count"), 1, 0, 0, "bin 7", 0);
  assert_true(isnan(num(r, "bins[0].accuracy"))); /* empty bin: null */
  assert_int_equal(num(r, "num_bins"), 10);
  lsp_result_free(r);
  r = (ok(lsp_calib_measure(&m64, y, NULL, NULL, o, &r)),
       r); /* kept in double */
  td_close(num(r, "ece"), (0.15 + 0.75 + 0.35 + 0.55) / 4, 1e-12, 0, "ece f64",
           0);
  lsp_result_free(r);
  lsp_opts_free(o);

  /* temperature on logits: T minimizes the validation NLL (finite
   * differences of an NLL computed here), and every metric is scored at T */
  enum { N = 200, K = 4 };
  float z[N * K], vz[N * K];
  int32_t zy[N], vy[N];
  uint64_t s = 12345;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < K; j++) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      double u = (double)(s >> 11) / 9007199254740992.0;
      z[i * K + j] = (float)(4.0 * u);
      zy[i] = i % K;
      vy[i] = (i * 3 + 1) % K;
      vz[i * K + j] = (float)(4.0 * u + 1.5 * (j == vy[i])); /* informative */
    }
  static const char *const kv2[] = {"bootstrap", "50", "seed", "3", NULL};
  o = opts(kv2);
  lsp_matrix zm = {z, LSP_MAT_F32, N, K}, vm = {vz, LSP_MAT_F32, N, K};
  r = (ok(lsp_calib_measure(&zm, zy, &vm, vy, o, &r)), r);
  double t = num(r, "temperature_scaled.temperature");
  double nll[3];
  for (int q = 0; q < 3; q++) {
    double tt = t * (1 + (q - 1) * 1e-3), sum = 0;
    for (int i = 0; i < N; i++) {
      double mx = -INFINITY, se = 0;
      for (int j = 0; j < K; j++) mx = fmax(mx, vz[i * K + j] / tt);
      for (int j = 0; j < K; j++) se += exp(vz[i * K + j] / tt - mx);
      sum += mx + log(se) - vz[i * K + vy[i]] / tt;
    }
    nll[q] = sum / N;
  }
  assert_true(nll[1] <= nll[0] && nll[1] <= nll[2]);
  assert_true(num(r, "ece_ci[0]") <= num(r, "ece_ci[1]"));
  td_close(num(r, "temperature"), 1.0, 0, 0, "T before", 0);
  td_close(num(r, "bootstrap_resamples"), 50, 0, 0, "resamples", 0);
  assert_non_null(strstr(lsp_result_json(r), "\"temperature_scaled\":{"));
  refused(lsp_result_number(r, "temperature_scaled.nothere", &t), LSP_EINVAL,
          "nothere");
  refused(lsp_result_number(r, "bins[99].count", &t), LSP_EINVAL,
          "no element 99");
  refused(lsp_result_number(r, "bins", &t), LSP_EINVAL, "not a number");
  refused(lsp_result_number(r, "bins[x]", &t), LSP_EINVAL, "malformed");
  /* an index is digits, and ']' is followed by '.', '[' or the end */
  refused(lsp_result_number(r, "bins[-1].count", &t), LSP_EINVAL,
          "malformed index at '[-1].count'");
  refused(lsp_result_number(r, "bins[ 1].count", &t), LSP_EINVAL, "malformed");
  refused(lsp_result_number(r, "bins[0]count", &t), LSP_EINVAL,
          "malformed path at 'count'");
  refused(lsp_result_number(r, "bins[0].", &t), LSP_EINVAL, "ends with '.'");
  refused(lsp_result_number(r, "bins[18446744073709551617].count", &t),
          LSP_EINVAL, "'bins' has no element 18446744073709551617");
  refused(lsp_result_number(r, "[0]", &t), LSP_EINVAL,
          "the result (an object) has no element 0");
  lsp_result_free(r);
  lsp_opts_free(o);
}

static void test_calibration_refusals(void **state) {
  (void)state;
  const float p[6] = {0.5f, 0.5f, 0.2f, 0.8f, 0.9f, 0.1f};
  float z[6] = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f, 3.0f};
  const int32_t y[3] = {0, 1, 1}, ybad[3] = {0, 2, 1};
  lsp_matrix pm = {p, LSP_MAT_F32, 3, 2}, zm = {z, LSP_MAT_F32, 3, 2};
  lsp_result *r = NULL;
  refused(lsp_calib_measure(&pm, y, NULL, NULL, NULL, &r), LSP_EDATA,
          "probabilities");
  refused(lsp_calib_measure(&zm, ybad, NULL, NULL, NULL, &r), LSP_EDATA,
          "labels: label 2 at index 1 is out of range [0, 2)");
  refused(lsp_calib_measure(&zm, y, &zm, NULL, NULL, &r), LSP_EINVAL,
          "or neither");
  z[3] = NAN;
  refused(lsp_calib_measure(&zm, y, NULL, NULL, NULL, &r), LSP_EDATA,
          "row 1, column 1");
  lsp_matrix wrong = {z, (lsp_mat_type)7, 3, 2};
  refused(lsp_calib_measure(&wrong, y, NULL, NULL, NULL, &r), LSP_EINVAL,
          "element type");
  lsp_matrix one = {z, LSP_MAT_F32, 6, 1};
  refused(lsp_calib_measure(&one, y, NULL, NULL, NULL, &r), LSP_EDATA,
          "at least 2 classes");
  assert_null(r);
}

/* DESIGN §2's toy: class 0 = {(1,0),(1,0.2)}, class 1 = {(0,1),(0.2,1)}:
 * R² = 0.976187, NC1 = 0.006173. */
static void test_clusters_toy(void **state) {
  (void)state;
  const double h[8] = {1, 0, 1, 0.2, 0, 1, 0.2, 1};
  const int32_t y[4] = {0, 0, 1, 1};
  lsp_matrix m = {h, LSP_MAT_F64, 4, 2};
  lsp_result *r = (ok(lsp_clusters_measure(&m, y, NULL, &r)), r);
  td_close(num(r, "r2_separation"), 0.976187, 0, 1e-6, "R2", 0);
  td_close(num(r, "nc1"), 0.006173, 0, 1e-6, "NC1", 0);
  lsp_result_free(r);
  const int32_t y0[4] = {0, 0, 0, 0};
  refused(lsp_clusters_measure(&m, y0, NULL, &r), LSP_EDATA,
          "at least 2 classes");
  lsp_opts *o = lsp_opts_alloc();
  lsp_opts_set(o, "bins", "3");
  refused(lsp_clusters_measure(&m, y, o, &r), LSP_EINVAL, "takes none");
  lsp_opts_free(o);
  /* a float64 row that is all zero in float32 is not a dead row: refused */
  const double tiny[8] = {1, 0, 1, 0.2, 0, 1, 0.2e-50, 1e-50};
  lsp_matrix mt = {tiny, LSP_MAT_F64, 4, 2};
  refused(lsp_clusters_measure(&mt, y, NULL, &r), LSP_EDATA,
          "features: row 3 (largest |value| 1e-50) is all zero in float32");
  /* one stray label: K = 5001 with 2 classes present */
  const int32_t ys[4] = {0, 0, 1, 5000};
  refused(lsp_clusters_measure(&m, ys, NULL, &r), LSP_EDATA,
          "labels: label 5000 at index 3 makes K = 5001 classes but only 3");
  assert_null(r);
}

/* gap z_y - mean of the others: rows (3, 1, 2) y=0 -> 1.5, (0, 4, 1) y=1 ->
 * 3.5; the optimum for eps 0.1 uniform, K = 3: log(1 + 3·0.9/0.1) = log 28 */
static void test_logitgap(void **state) {
  (void)state;
  const float z[6] = {3, 1, 2, 0, 4, 1};
  const int32_t y[2] = {0, 1};
  lsp_matrix m = {z, LSP_MAT_F32, 2, 3};
  static const char *const kv[] = {"smoothing", "0.1", NULL};
  lsp_opts *o = opts(kv);
  lsp_result *r = (ok(lsp_logitgap_measure(&m, y, o, &r)), r);
  td_close(num(r, "logit_gap.mean"), 2.5, 1e-12, 0, "mean gap", 0);
  td_close(num(r, "logit_gap.min"), 1.5, 1e-12, 0, "min gap", 0);
  td_close(num(r, "optimal_gap"), log(28.0), 1e-12, 0, "optimal", 0);
  td_close(num(r, "share_above_optimal"), 1.0 / 2.0, 0, 0, "share above", 0);
  lsp_result_free(r);
  lsp_opts_free(o);
  static const char *const kv2[] = {"convention", "t2t", NULL};
  o = opts(kv2);
  refused(lsp_logitgap_measure(&m, y, o, &r), LSP_EINVAL, "needs smoothing");
  lsp_opts_free(o);
  r = (ok(lsp_logitgap_measure(&m, y, NULL, &r)),
       r); /* no smoothing: no optimum */
  assert_true(isnan(num(r, "optimal_gap")));
  lsp_result_free(r);
  /* float64 logits are used as given: gaps of 4 and 10 on logits of 1e8
   * and 3e8 (a float32 view rounds them to multiples of 8 and 32) */
  const double zd[6] = {1e8, 1e8 + 4, 1e8, 3e8, 3e8 + 10, 3e8};
  const int32_t y1[2] = {1, 1};
  lsp_matrix md = {zd, LSP_MAT_F64, 2, 3};
  r = (ok(lsp_logitgap_measure(&md, y1, NULL, &r)), r);
  td_close(num(r, "logit_gap.min"), 4.0, 0, 0, "gap 4 on 1e8", 0);
  td_close(num(r, "logit_gap.max"), 10.0, 0, 0, "gap 10 on 3e8", 0);
  lsp_result_free(r);
  /* and past float32's range */
  const double zh[3] = {1e300, 3e300, -1e300};
  lsp_matrix mh = {zh, LSP_MAT_F64, 1, 3};
  r = (ok(lsp_logitgap_measure(&mh, y1, NULL, &r)), r);
  td_close(num(r, "logit_gap.mean"), 3e300, 1e-15, 0, "gap 3e300", 0);
  lsp_result_free(r);
}

/* The PyTorch MLP export through the public model API: logits and features
 * as PyTorch computed them, FGSM at 0.1 bitwise equal to PyTorch's
 * clamp(x + 0.1·sign(∇), 0, 1), accuracies as in case.json. */
static void test_model_torch(void **state) {
  (void)state;
  lsp_array x, y, zt, ft, adv;
  td_load("torch_mlp_tiny/x.npy", &x);
  td_load("torch_mlp_tiny/labels.npy", &y);
  td_load("torch_mlp_tiny/logits.npy", &zt);
  td_load("torch_mlp_tiny/features.npy", &ft);
  td_load("torch_mlp_tiny/fgsm_eps0.1_x.npy", &adv);
  lsp_model *m = NULL;
  refused(lsp_model_load(td_path("torch_mlp_tiny/nothere.lspm"), &m), LSP_EIO,
          "nothere");
  refused(lsp_model_load(NULL, &m), LSP_EINVAL, "NULL path");
  refused(lsp_model_load("", &m), LSP_EINVAL, "the path is empty");
  assert_null(m);
  refused(lsp_model_load(td_path("torch_mlp_tiny"), NULL), LSP_EINVAL, "NULL output");
  assert_int_equal(lsp_model_load(td_path("torch_mlp_tiny"), &m), LSP_OK);
  size_t n = x.shape[0], d = x.shape[1], k = lsp_model_class_count(m),
         h = lsp_model_feature_size(m);
  assert_int_equal(lsp_model_input_size(m), d);
  assert_int_equal(k, 3);
  assert_int_equal(h, 16);
  int32_t *lab = malloc(n * sizeof *lab);
  for (size_t i = 0; i < n; i++) lab[i] = (int32_t)((const int64_t *)y.data)[i];
  float *z = malloc(n * k * sizeof *z), *f = malloc(n * h * sizeof *f),
        *xa = malloc(n * d * sizeof *xa);
  lsp_matrix xm = {x.data, LSP_MAT_F32, n, d};
  assert_int_equal(lsp_model_logits(m, &xm, z, f), LSP_OK);
  for (size_t i = 0; i < n * k; i++)
    td_close(z[i], ((const float *)zt.data)[i], 1e-5, 1e-6, "logit", i);
  for (size_t i = 0; i < n * h; i++)
    td_close(f[i], ((const float *)ft.data)[i], 1e-5, 1e-6, "feature", i);

  double eps[2] = {0.0, 0.1};
  lsp_result *r = (ok(lsp_attack_fgsm(m, &xm, lab, eps, 2, NULL, xa, &r)), r);
  assert_memory_equal(xa, adv.data, n * d * sizeof *xa);
  td_close(num(r, "clean_accuracy"), 0.53125, 0, 0, "clean accuracy", 0);
  td_close(num(r, "points[1].accuracy"), 0.28125, 0, 0, "FGSM accuracy", 0);
  lsp_result_free(r);
  static const char *const kv[] = {"steps", "5", "seed", "2", NULL};
  lsp_opts *o = opts(kv);
  r = (ok(lsp_attack_pgd(m, &xm, lab, eps, 2, o, xa, &r)), r);
  for (size_t i = 0; i < n * d; i++) /* inside the ball and the bounds */
    assert_true(fabsf(xa[i] - ((const float *)x.data)[i]) <= 0.1f + 1e-7f &&
                xa[i] >= 0 && xa[i] <= 1);
  assert_true(num(r, "points[1].accuracy") <= num(r, "clean_accuracy"));
  lsp_result_free(r);
  refused(lsp_attack_fgsm(m, &xm, lab, eps, 2, o, NULL, &r), LSP_EINVAL,
          "unknown option 'steps'");
  lsp_opts_free(o);

  /* evaluate: accuracy from PyTorch's logits, NLL from them in double */
  r = (ok(lsp_model_evaluate(m, &xm, lab, NULL, NULL, NULL, &r)), r);
  size_t right = 0;
  double nll = 0;
  for (size_t i = 0; i < n; i++) {
    const float *zi = (const float *)zt.data + i * k;
    size_t best = 0;
    double mx = zi[0], se = 0;
    for (size_t j = 1; j < k; j++)
      best = zi[j] > zi[best] ? j : best, mx = fmax(mx, zi[j]);
    for (size_t j = 0; j < k; j++) se += exp(zi[j] - mx);
    right += (int32_t)best == lab[i];
    nll += (mx + log(se) - zi[lab[i]]) / (double)n;
  }
  td_close(num(r, "accuracy"), (double)right / (double)n, 0, 0, "accuracy", 0);
  td_close(num(r, "nll"), nll, 1e-5, 0, "nll", 0);
  td_close(num(r, "calibration.accuracy"), (double)right / (double)n, 0, 0,
           "calib acc", 0);
  assert_true(num(r, "clusters.r2_separation") <= 1.0);
  lsp_result_free(r);
  /* the examples of one class: everything but the clusters, which are null
   * with a note (as eval --json), not a failure of the whole call */
  {
    size_t n0 = 0;
    for (size_t i = 0; i < n; i++) n0 += lab[i] == lab[0];
    float *x0 = malloc(n0 * d * sizeof *x0);
    int32_t *y0 = malloc(n0 * sizeof *y0);
    size_t c0 = 0;
    for (size_t i = 0; i < n; i++)
      if (lab[i] == lab[0]) {
        memcpy(x0 + c0 * d, (const float *)x.data + i * d, d * sizeof *x0);
        y0[c0++] = lab[i];
      }
    lsp_matrix xm0 = {x0, LSP_MAT_F32, n0, d};
    r = (ok(lsp_model_evaluate(m, &xm0, y0, NULL, NULL, NULL, &r)), r);
    assert_true(num(r, "accuracy") >= 0.0);
    assert_non_null(strstr(lsp_result_json(r), "\"clusters\":null"));
    assert_non_null(strstr(lsp_result_json(r), "\"clusters_note\":\"need at least 2 classes"));
    lsp_result_free(r);
    free(x0);
    free(y0);
  }

  /* the host's interruption: every long call stops until it is cleared */
  lsp_interrupt_request();
  refused(lsp_model_logits(m, &xm, z, NULL), LSP_EINTR, "interrupted");
  refused(lsp_attack_fgsm(m, &xm, lab, eps, 2, NULL, NULL, &r), LSP_EINTR,
          "interrupted");
  lsp_opts *bo = lsp_opts_alloc();
  ok(lsp_opts_set(bo, "bootstrap", "50"));
  lsp_matrix zm = {z, LSP_MAT_F32, n, k};
  r = NULL;
  refused(lsp_calib_measure(&zm, lab, NULL, NULL, bo, &r), LSP_EINTR, "interrupted");
  assert_null(r);
  lsp_interrupt_clear();
  assert_int_equal(lsp_model_logits(m, &xm, z, NULL), LSP_OK);
  ok(lsp_calib_measure(&zm, lab, NULL, NULL, bo, &r));
  assert_true(num(r, "bootstrap_resamples") == 50);
  assert_true(num(r, "accuracy_ci[0]") <= num(r, "accuracy") &&
              num(r, "accuracy") <= num(r, "accuracy_ci[1]"));
  lsp_result_free(r);
  lsp_opts_free(bo);

  /* refusals: wrong width, NaN input, input outside [0, 1], bad label */
  lsp_matrix narrow = {x.data, LSP_MAT_F32, n * d / 4, 4};
  refused(lsp_model_logits(m, &narrow, z, NULL), LSP_EDATA,
          "the model takes 8");
  memcpy(xa, x.data, n * d * sizeof *xa);
  xa[3 * d + 5] = NAN;
  lsp_matrix bad = {xa, LSP_MAT_F32, n, d};
  refused(lsp_model_logits(m, &bad, z, NULL), LSP_EDATA, "row 3, column 5");
  { /* finite inputs of ±3e38 in every sign pattern: the first layer's
     * sums pass FLT_MAX for the patterns that follow a unit's weights */
    float *xo = malloc(256 * d * sizeof *xo), *zo = malloc(256 * k * sizeof *zo);
    assert_true(d == 8);
    for (size_t i = 0; i < 256 * d; i++) xo[i] = (i / d) >> (i % d) & 1 ? 3e38f : -3e38f;
    lsp_matrix over = {xo, LSP_MAT_F32, 256, d};
    refused(lsp_model_logits(m, &over, zo, NULL), LSP_EDATA,
            "the network's output is not finite");
    free(xo);
    free(zo);
  }
  memcpy(xa, x.data, n * d * sizeof *xa);
  xa[3 * d + 5] = NAN;
  xa[3 * d + 5] = 2.0f;
  refused(lsp_attack_fgsm(m, &bad, lab, eps, 2, NULL, NULL, &r), LSP_EDATA,
          "outside the bounds");
  lab[4] = 3;
  refused(lsp_model_evaluate(m, &xm, lab, NULL, NULL, NULL, &r), LSP_EDATA,
          "index 4");
  assert_null(r);
  lsp_model_free(m);
  free(lab);
  free(z);
  free(f);
  free(xa);
  lsp_array_release(&x);
  lsp_array_release(&y);
  lsp_array_release(&zt);
  lsp_array_release(&ft);
  lsp_array_release(&adv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version_init),
      cmocka_unit_test(test_opts),
      cmocka_unit_test(test_opts_name_length),
      cmocka_unit_test(test_opts_blanks),
      cmocka_unit_test(test_loss_torch),
      cmocka_unit_test(test_calibration),
      cmocka_unit_test(test_calibration_refusals),
      cmocka_unit_test(test_clusters_toy),
      cmocka_unit_test(test_logitgap),
      cmocka_unit_test(test_model_torch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
