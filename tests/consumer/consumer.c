/* A program outside the lsprobe tree, built against the installed library
 * (tests/install.sh: with pkg-config and plain cc, and with CMake's
 * find_package). It computes a label-smoothed loss with its gradient and a
 * calibration, and checks them against values it computes itself from the
 * formulas (docs/DESIGN.md §2), then an error path. Exit 0 when all hold. */
#include <lsprobe/lsprobe.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

static void check(int ok, const char *what, double got, double want) {
  printf("%s %s: %.9g (want %.9g)\n", ok ? "ok  " : "FAIL", what, got, want);
  failures += !ok;
}

static int close_to(double a, double b, double tol) {
  return fabs(a - b) <= tol * (1 + fabs(b));
}

int main(void) {
  if (lsp_init() != LSP_OK) return 1;
  printf("lsprobe %s (headers %s)\n", lsp_version(), LSPROBE_VERSION);
  check(strcmp(lsp_version(), LSPROBE_VERSION) == 0,
        "library version = header version", 0, 0);

  /* loss: two rows of K = 3 logits, uniform smoothing eps = 0.1 */
  const float z[6] = {1.5f, -0.25f, 3.0f, 0.0f, 0.0f, 0.0f};
  const int32_t y[2] = {2, 0};
  const size_t n = 2, k = 3;
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  float dz[6];
  double mean = 0.0;
  if (lsp_loss_xent(z, y, n, k, &ls, dz, 1.0 / (double)n, NULL, &mean) !=
      LSP_OK) {
    printf("FAIL loss: %s\n", lsp_errmsg());
    return 1;
  }
  double want_mean = 0.0, max_dg = 0.0;
  for (size_t i = 0; i < n; i++) { /* logsumexp(z) - sum q z; grad (p - q)/N */
    const float *r = z + i * k;
    double m = r[0], s = 0.0, qz = 0.0;
    for (size_t j = 1; j < k; j++) m = r[j] > m ? r[j] : m;
    for (size_t j = 0; j < k; j++) s += exp(r[j] - m);
    for (size_t j = 0; j < k; j++) {
      double q = (j == (size_t)y[i] ? 0.9 : 0.0) + 0.1 / 3.0;
      qz += q * r[j];
      double g = (exp(r[j] - m) / s - q) / (double)n;
      if (fabs(g - dz[i * k + j]) > max_dg) max_dg = fabs(g - dz[i * k + j]);
    }
    want_mean += (m + log(s) - qz) / (double)n;
  }
  check(close_to(mean, want_mean, 1e-6), "smoothed cross-entropy", mean,
        want_mean);
  check(max_dg < 1e-6, "gradient (p - q)/N, largest difference", max_dg, 0.0);
  check(close_to(lsp_ls_optimal_gap(&ls, 10), log(1.0 + 10 * 0.9 / 0.1), 1e-12),
        "optimal gap K = 10", lsp_ls_optimal_gap(&ls, 10), log(91.0));

  /* calibration: 4 rows of 2-class probabilities, 10 bins; each row alone
   * in its own bin, so ECE = mean |correct - confidence| */
  const float p[8] = {0.85f, 0.15f, 0.25f, 0.75f, 0.35f, 0.65f, 0.55f, 0.45f};
  const int32_t py[4] = {0, 0, 1, 1};
  lsp_matrix pm = {p, LSP_MAT_F32, 4, 2};
  lsp_opts *o = lsp_opts_alloc();
  lsp_result *r = NULL;
  if (!o || lsp_opts_set(o, "input", "probs") ||
      lsp_opts_set(o, "bins", "10") ||
      lsp_calib_measure(&pm, py, NULL, NULL, o, &r) != LSP_OK) {
    printf("FAIL calibration: %s\n", lsp_errmsg());
    return 1;
  }
  double conf[4] = {0.85f, 0.75f, 0.65f, 0.55f}, want_ece = 0.0, ece, acc, c7;
  int correct[4] = {1, 0, 1, 0};
  for (int i = 0; i < 4; i++) want_ece += fabs(correct[i] - conf[i]) / 4.0;
  lsp_result_number(r, "ece", &ece);
  lsp_result_number(r, "accuracy", &acc);
  lsp_result_number(r, "bins[7].count", &c7); /* (0.7, 0.8] holds 0.75 */
  check(close_to(ece, want_ece, 1e-6), "ECE", ece, want_ece);
  check(acc == 0.5, "accuracy", acc, 0.5);
  check(c7 == 1.0, "bin (0.7, 0.8] count", c7, 1.0);
  check(strstr(lsp_result_json(r), "\"ece\"") != NULL, "JSON has \"ece\"", 0,
        0);
  lsp_result_free(r);

  /* an error: a NaN logit is refused with the row named */
  float bad[6] = {0.0f, 1.0f, 2.0f, 0.0f, NAN, 1.0f};
  int st = lsp_loss_xent(bad, y, n, k, &ls, NULL, 1.0, NULL, &mean);
  check(st == LSP_EDATA && strstr(lsp_errmsg(), "row 1") != NULL, "NaN refused",
        st, LSP_EDATA);
  printf("  message: %s\n", lsp_errmsg());
  lsp_opts_set(o, "bins", "0");
  st = lsp_calib_measure(&pm, py, NULL, NULL, o, &r);
  check(st == LSP_EINVAL && r == NULL && strstr(lsp_errmsg(), "bins") != NULL,
        "bins = 0 refused", st, LSP_EINVAL);
  printf("  message: %s\n", lsp_errmsg());
  lsp_opts_free(o);
  printf("%s\n", failures ? "consumer: FAILED" : "consumer: all checks passed");
  return failures ? 1 : 0;
}
