/* Tests of the label-smoothed cross-entropy core against PyTorch's numbers,
 * closed forms and finite differences. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_cpu.h"
#include "core/base/lsp_error.h"
#include "core/loss/lsp_loss.h"
#include "core/base/lsp_threads.h"
#include "testutil.h"

/* PyTorch: F.cross_entropy(logits, labels, label_smoothing=0.1), mean. */
static void test_torch_case(void **state) {
  (void)state;
  lsp_array za, ya, ga;
  td_load("lsce_n1024_k10_eps0.1/logits.npy", &za);
  td_load("lsce_n1024_k10_eps0.1/labels.npy", &ya);
  td_load("lsce_n1024_k10_eps0.1/grad.npy", &ga);
  assert_int_equal(za.dtype, LSP_DT_F32);
  assert_int_equal(za.shape[0], 1024);
  assert_int_equal(za.shape[1], 10);
  int32_t *y = NULL;
  assert_int_equal(lsp_array_labels(&ya, "labels", 10, &y), 0);
  float *g = malloc(1024 * 10 * sizeof *g);
  double mean = 0;
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_loss_xent(za.data, y, 1024, 10, &ls, g, 1.0 / 1024, NULL, &mean), 0);
  /* case.json: loss_f64_numpy 2.734141893176975, loss_f32_torch 2.7341418266 */
  td_close(mean, 2.734141893176975, 1e-6, 0, "loss vs numpy f64", 0);
  td_close(mean, 2.7341418266296387, 1e-6, 0, "loss vs torch f32", 0);
  const float *gt = ga.data;
  double maxdiff = 0;
  for (size_t i = 0; i < 10240; i++) {
    td_close(g[i], gt[i], 0, 1e-7, "grad", i);
    double d = fabs(g[i] - gt[i]);
    if (d > maxdiff) maxdiff = d;
  }
  print_message("torch case: loss %.9f, max |grad diff| %.2e\n", mean, maxdiff);
  free(g);
  free(y);
  lsp_array_release(&za);
  lsp_array_release(&ya);
  lsp_array_release(&ga);
}

/* tensor2tensor convention on z = [1,2,3,4], y = 3, eps = 0.1. */
static void test_t2t_values(void **state) {
  (void)state;
  const float z[4] = {1, 2, 3, 4};
  const int32_t y[1] = {3};
  lsp_ls ls = {0.1, LSP_LS_T2T, 0};
  double l;
  assert_int_equal(lsp_loss_xent(z, y, 1, 4, &ls, NULL, 1, NULL, &l), 0);
  td_close(l, 0.640190, 0, 5e-7, "t2t loss", 0);
  ls.normalize = 1;
  assert_int_equal(lsp_loss_xent(z, y, 1, 4, &ls, NULL, 1, NULL, &l), 0);
  td_close(l, 0.205245, 0, 1e-6, "t2t normalized loss", 0);
  /* and the closed form in double: lse - sum q z - H(q). The kernel's
   * exponentials are floats (about 1 ulp, 6e-8 of each e^z) summed in
   * float, so log Σe, about 4.4 here, is good to about 1e-7 absolutely;
   * the normalized loss, 0.2, is what remains after H(q) and Σ q z are
   * subtracted, and keeps that absolute error */
  double lse = 4.0 + log(1.0 + exp(-1.0) + exp(-2.0) + exp(-3.0));
  double qo = 0.1 / 3.0, h = -(0.9 * log(0.9) + 3.0 * qo * log(qo));
  td_close(l, lse - (0.9 * 4.0 + qo * 6.0) - h, 0, 1e-7, "t2t closed form", 0);
}

/* DESIGN §2 constants: H(q) and the optimal logit gaps for K=10, eps=0.1. */
static void test_entropy_and_gap(void **state) {
  (void)state;
  lsp_ls u = {0.1, LSP_LS_UNIFORM, 0}, t = {0.1, LSP_LS_T2T, 0};
  td_close(lsp_ls_entropy(&u, 10), 0.5003, 0, 5e-5, "H(q) uniform", 0);
  td_close(lsp_ls_optimal_gap(&u, 10), 4.5109, 0, 5e-5, "gap uniform", 0);
  td_close(lsp_ls_optimal_gap(&t, 10), 4.3944, 0, 5e-5, "gap t2t", 0);
  lsp_ls z = {0.0, LSP_LS_UNIFORM, 0};
  assert_true(isinf(lsp_ls_optimal_gap(&z, 10)));
  td_close(lsp_ls_entropy(&z, 10), 0.0, 0, 0, "H(onehot)", 0);
  assert_false(signbit(lsp_ls_entropy(&z, 10))); /* +0, which prints as 0 */
  /* eps = 1 uniform: q uniform, H = log K, gap 0 */
  lsp_ls one = {1.0, LSP_LS_UNIFORM, 0};
  td_close(lsp_ls_entropy(&one, 10), log(10.0), 1e-15, 0, "H(uniform)", 0);
  td_close(lsp_ls_optimal_gap(&one, 10), 0.0, 0, 1e-15, "gap eps=1", 0);
  /* t2t at eps = 1: q_y = 0, no finite minimum the other way */
  lsp_ls t1 = {1.0, LSP_LS_T2T, 0};
  assert_true(isinf(lsp_ls_optimal_gap(&t1, 10)) && lsp_ls_optimal_gap(&t1, 10) < 0);
  /* settings the loss refuses: NaN, with the reason */
  lsp_ls big = {2.0, LSP_LS_UNIFORM, 0}, nan_eps = {NAN, LSP_LS_UNIFORM, 0};
  lsp_ls conv = {0.1, (lsp_ls_convention)7, 0};
  assert_true(isnan(lsp_ls_optimal_gap(&u, 1)) && isnan(lsp_ls_entropy(&u, 1)));
  assert_non_null(strstr(lsp_errmsg(), "at least 2 classes"));
  assert_true(isnan(lsp_ls_optimal_gap(&u, 0)) && isnan(lsp_ls_entropy(&u, 0)));
  assert_true(isnan(lsp_ls_optimal_gap(&big, 10)) && isnan(lsp_ls_entropy(&big, 10)));
  assert_non_null(strstr(lsp_errmsg(), "outside [0, 1]"));
  assert_true(isnan(lsp_ls_optimal_gap(&nan_eps, 10)));
  assert_true(isnan(lsp_ls_optimal_gap(&conv, 10)));
  assert_true(isnan(lsp_ls_optimal_gap(NULL, 10)));
}

/* At logits with z_y - z_j = optimal gap, p = q: the gradient vanishes and
 * the normalized loss is 0. */
static void test_minimum(void **state) {
  (void)state;
  for (int conv = 0; conv < 2; conv++) {
    for (size_t k = 2; k <= 1000; k *= 7) {
      lsp_ls ls = {0.23, (lsp_ls_convention)conv, 1};
      double gap = lsp_ls_optimal_gap(&ls, k);
      float *z = malloc(k * sizeof *z), *g = malloc(k * sizeof *g);
      for (size_t j = 0; j < k; j++) z[j] = 0.5f;
      int32_t y = (int32_t)(k / 2);
      z[y] = (float)(0.5 + gap);
      double l;
      assert_int_equal(lsp_loss_xent(z, &y, 1, k, &ls, g, 1.0, NULL, &l), 0);
      td_close(l, 0.0, 0, 2e-6, "loss at optimum", k);
      for (size_t j = 0; j < k; j++) td_close(g[j], 0.0, 0, 2e-6, "grad at optimum", j);
      free(z);
      free(g);
    }
  }
}

static float frand(unsigned *s, float scale) {
  *s = *s * 1664525u + 1013904223u;
  return scale * ((float)(*s >> 8) / 16777216.0f * 2.0f - 1.0f);
}

/* Central differences of the double-precision reference loss against the
 * fast kernel's gradient, both conventions, several eps and K (including K
 * that are not a multiple of the vector width). */
static void test_finite_differences(void **state) {
  (void)state;
  const double eps_list[] = {0.0, 0.05, 0.1, 0.5, 1.0};
  const size_t k_list[] = {2, 3, 10, 17, 33};
  unsigned seed = 12345;
  for (int conv = 0; conv < 2; conv++)
    for (size_t e = 0; e < 5; e++)
      for (size_t ki = 0; ki < 5; ki++) {
        size_t n = 5, k = k_list[ki];
        float *z = malloc(n * k * sizeof *z), *g = malloc(n * k * sizeof *g);
        int32_t *y = malloc(n * sizeof *y);
        for (size_t i = 0; i < n * k; i++) z[i] = frand(&seed, 3.0f);
        for (size_t i = 0; i < n; i++) y[i] = (int32_t)((i * 7 + k) % k);
        lsp_ls ls = {eps_list[e], (lsp_ls_convention)conv, (int)(e % 2)};
        double mean;
        assert_int_equal(lsp_loss_xent(z, y, n, k, &ls, g, 1.0 / (double)n, NULL, &mean), 0);
        const float h = 1.0f / 1024.0f; /* exact in float for |z| < 4 */
        for (size_t i = 0; i < n * k; i++) {
          float z0 = z[i];
          double lp, lm;
          z[i] = z0 + h;
          assert_int_equal(lsp_loss_xent_ref(z, y, n, k, &ls, NULL, 1, &lp), 0);
          z[i] = z0 - h;
          assert_int_equal(lsp_loss_xent_ref(z, y, n, k, &ls, NULL, 1, &lm), 0);
          z[i] = z0;
          double fd = (lp - lm) / (2.0 * (double)h);
          td_close(g[i], fd, 0, 1e-6, "grad vs finite difference", i);
        }
        double ref;
        assert_int_equal(lsp_loss_xent_ref(z, y, n, k, &ls, NULL, 1, &ref), 0);
        td_close(mean, ref, 1e-6, 1e-7, "loss vs reference", k);
        free(z);
        free(g);
        free(y);
      }
}

/* Logits of ±1e4: everything stays finite and matches the closed form. */
static void test_large_logits(void **state) {
  (void)state;
  const float z[8] = {1e4f, -1e4f, 0.0f, 5e3f, 1e4f, -1e4f, 0.0f, 5e3f};
  const int32_t y[2] = {0, 1};
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  double rows[2], mean;
  float g[8];
  assert_int_equal(lsp_loss_xent(z, y, 2, 4, &ls, g, 1.0, rows, &mean), 0);
  /* lse = 1e4; sum q z = 0.025*5e3 + 0.9*z_y */
  td_close(rows[0], 1e4 - (125.0 + 0.9 * 1e4), 1e-12, 0, "row0", 0);
  td_close(rows[1], 1e4 - (125.0 - 0.9 * 1e4), 1e-12, 0, "row1", 1);
  const double p0[4] = {1, 0, 0, 0};
  for (int j = 0; j < 4; j++) {
    double q0 = (j == 0 ? 0.925 : 0.025), q1 = (j == 1 ? 0.925 : 0.025);
    td_close(g[j], p0[j] - q0, 0, 1e-7, "grad row0", (size_t)j);
    td_close(g[4 + j], p0[j] - q1, 0, 1e-7, "grad row1", (size_t)j);
  }
  assert_true(isfinite(mean));
}

/* eps = 0 is plain cross-entropy; eps = 1; K = 2. */
static void test_edge_cases(void **state) {
  (void)state;
  const float z[2] = {0.25f, -1.5f};
  const int32_t y0 = 0;
  double l;
  float g[2];
  lsp_ls ce = {0.0, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_loss_xent(z, &y0, 1, 2, &ce, g, 1.0, NULL, &l), 0);
  double lse = log(exp(0.25) + exp(-1.5));
  td_close(l, lse - 0.25, 1e-7, 0, "plain CE K=2", 0);
  td_close(g[0], exp(0.25 - lse) - 1.0, 0, 1e-7, "plain CE grad", 0);
  td_close(g[1], exp(-1.5 - lse), 0, 1e-7, "plain CE grad", 1);
  lsp_ls u1 = {1.0, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_loss_xent(z, &y0, 1, 2, &u1, NULL, 1.0, NULL, &l), 0);
  td_close(l, lse - 0.5 * (0.25 - 1.5), 1e-7, 0, "uniform eps=1", 0);
  lsp_ls t1 = {1.0, LSP_LS_T2T, 0};
  assert_int_equal(lsp_loss_xent(z, &y0, 1, 2, &t1, g, 1.0, NULL, &l), 0);
  td_close(l, lse + 1.5, 1e-7, 0, "t2t eps=1 (all mass on the other class)", 0);
  td_close(g[0], exp(0.25 - lse), 0, 1e-7, "t2t eps=1 grad", 0);
  td_close(g[1], exp(-1.5 - lse) - 1.0, 0, 1e-7, "t2t eps=1 grad", 1);
  /* t2t normalized at eps=1, K=2: q is one-hot on the other class, H = 0 */
  t1.normalize = 1;
  assert_int_equal(lsp_loss_xent(z, &y0, 1, 2, &t1, NULL, 1.0, NULL, &l), 0);
  td_close(l, lse + 1.5, 1e-7, 0, "t2t eps=1 normalized", 0);
}

static void test_invalid_inputs(void **state) {
  (void)state;
  float z[6] = {1, 2, 3, 4, 5, 6};
  int32_t y[2] = {0, 2};
  double l;
  lsp_ls ok = {0.1, LSP_LS_UNIFORM, 0};
  lsp_ls bad_eps[3] = {{-0.01, LSP_LS_UNIFORM, 0}, {1.01, LSP_LS_UNIFORM, 0},
                       {NAN, LSP_LS_UNIFORM, 0}};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lsp_loss_xent(z, y, 2, 3, &bad_eps[i], NULL, 1, NULL, &l), LSP_EINVAL);
    assert_non_null(strstr(lsp_errmsg(), "outside [0, 1]"));
  }
  lsp_ls bad_conv = {0.1, (lsp_ls_convention)7, 0};
  assert_int_equal(lsp_loss_xent(z, y, 2, 3, &bad_conv, NULL, 1, NULL, &l), LSP_EINVAL);
  assert_int_equal(lsp_loss_xent(z, y, 6, 1, &ok, NULL, 1, NULL, &l), LSP_EINVAL);
  assert_int_equal(lsp_loss_xent(z, y, 0, 3, &ok, NULL, 1, NULL, &l), LSP_EDATA);
  /* N·K beyond size_t: refused before any row is read */
  assert_int_equal(lsp_loss_xent(z, y, SIZE_MAX / 2, 3, &ok, NULL, 1, NULL, &l), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "overflow"));
  int32_t ybad[2] = {0, 3};
  assert_int_equal(lsp_loss_xent(z, ybad, 2, 3, &ok, NULL, 1, NULL, &l), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "row 1"));
  ybad[1] = -1;
  assert_int_equal(lsp_loss_xent(z, ybad, 2, 3, &ok, NULL, 1, NULL, &l), LSP_EDATA);
  const float specials[3] = {NAN, INFINITY, -INFINITY};
  for (int s = 0; s < 3; s++) {
    z[4] = specials[s];
    assert_int_equal(lsp_loss_xent(z, y, 2, 3, &ok, NULL, 1, NULL, &l), LSP_EDATA);
    assert_non_null(strstr(lsp_errmsg(), "row 1, column 1"));
  }
  lsp_ls_convention c;
  assert_int_equal(lsp_ls_convention_parse("t2t", &c), 0);
  assert_int_equal(c, LSP_LS_T2T);
  assert_int_equal(lsp_ls_convention_parse("Uniform", &c), LSP_EINVAL);
}

/* Large random problems: kernel equals the naive reference, and the mean is
 * bit-identical for 1 and 2 threads (the reduction order is fixed). */
static void test_large_vs_reference_and_threads(void **state) {
  (void)state;
  const size_t n = 3000, k = 1000;
  float *z = malloc(n * k * sizeof *z), *g = malloc(n * k * sizeof *g);
  double *gref = malloc(n * k * sizeof *gref);
  int32_t *y = malloc(n * sizeof *y);
  unsigned seed = 99;
  for (size_t i = 0; i < n * k; i++) z[i] = frand(&seed, 8.0f);
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)((i * 31) % k);
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  double m1, m2, mref;
  lsp_threads_set(1);
  assert_int_equal(lsp_loss_xent(z, y, n, k, &ls, g, 1.0 / (double)n, NULL, &m1), 0);
  lsp_threads_set(2);
  assert_int_equal(lsp_loss_xent(z, y, n, k, &ls, g, 1.0 / (double)n, NULL, &m2), 0);
  assert_true(m1 == m2);
  assert_int_equal(lsp_loss_xent_ref(z, y, n, k, &ls, gref, 1.0 / (double)n, &mref), 0);
  td_close(m1, mref, 1e-7, 0, "mean loss vs reference", 0);
  for (size_t i = 0; i < n * k; i++) td_close(g[i], gref[i], 1e-5, 1e-12, "grad vs reference", i);
  free(z);
  free(g);
  free(gref);
  free(y);
}

/* Every instruction-set path of the kernel (lsp_cpu_isa_cap: AVX-512, AVX2
 * and SSE2 on a machine that has them all) against the double-precision
 * reference: row lengths around the vector widths and the scratch size
 * (4096), the true class at the first, last and middle positions, logits
 * spread far enough for the exponential's clamp. Then a gradient large
 * enough to be written with non-temporal stores (over 32 MiB) must equal,
 * bit for bit, the same rows computed in small calls (plain stores). */
static void test_isa_paths(void **state) {
  (void)state;
  const char *levels[] = {"x86-64-v4", "x86-64-v3", "x86-64"};
  const size_t ks[] = {2, 3, 10, 15, 16, 17, 31, 33, 64, 1000, 4095, 4096, 4097, 5000};
  unsigned seed = 2024;
  for (int lv = 0; lv < 3; lv++) {
    assert_int_equal(lsp_cpu_isa_cap(levels[lv]), 0);
    print_message("kernel path %s\n", lsp_cpu_isa_name(lsp_cpu_isa()));
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
      const size_t k = ks[ki], n = 6;
      float *z = malloc(n * k * sizeof *z), *g = malloc(n * k * sizeof *g);
      double *gref = malloc(n * k * sizeof *gref), rows[6];
      int32_t y[6] = {0, (int32_t)(k - 1), (int32_t)(k / 2), (int32_t)(1 % k),
                      (int32_t)((7 * k) / 9), (int32_t)((k + 5) / 3 % k)};
      for (size_t i = 0; i < n * k; i++) z[i] = frand(&seed, i / k == 4 ? 90.0f : 8.0f);
      for (int conv = 0; conv < 2; conv++) {
        lsp_ls ls = {0.1, (lsp_ls_convention)conv, conv};
        double m, mref;
        assert_int_equal(lsp_loss_xent(z, y, n, k, &ls, g, 0.25, rows, &m), 0);
        assert_int_equal(lsp_loss_xent_ref(z, y, n, k, &ls, gref, 0.25, &mref), 0);
        td_close(m, mref, 1e-7, 1e-9, "mean loss vs reference", k);
        /* g = gs·(p − q) is computed as e·(gs/Σe) − gs·q: float rounding of
         * the two terms, about 2^-23 of p + q each, survives their
         * cancellation (p near q), so the tolerance scales with p + q */
        double on, off;
        lsp_ls_target(&ls, k, &on, &off);
        for (size_t i = 0; i < n * k; i++) {
          double q = (size_t)y[i / k] == i % k ? on : off;
          double pq = fabs(gref[i] / 0.25 + q) + q;
          td_close(g[i], gref[i], 0, 0.25 * 1e-6 * pq, "grad vs reference", i);
        }
        double sum = 0.0;
        for (size_t i = 0; i < n; i++) sum += rows[i];
        td_close(sum / (double)n, m, 1e-15, 0, "row losses", k);
      }
      free(z);
      free(g);
      free(gref);
    }
    /* non-temporal stores: 8400 x 1000 floats = 33.6 MB */
    const size_t n = 8400, k = 1000;
    float *z = malloc(n * k * sizeof *z), *g = malloc(n * k * sizeof *g);
    float *g2 = malloc(n * k * sizeof *g2);
    int32_t *y = malloc(n * sizeof *y);
    double *r1 = malloc(n * sizeof *r1), *r2 = malloc(n * sizeof *r2);
    for (size_t i = 0; i < n * k; i++) z[i] = frand(&seed, 6.0f);
    for (size_t i = 0; i < n; i++) y[i] = (int32_t)((i * 131) % k);
    lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
    double m;
    /* offset by one float: every row starts at another alignment */
    assert_int_equal(lsp_loss_xent(z, y, n - 1, k, &ls, g + 1, 1e-3, r1, &m), 0);
    for (size_t i0 = 0; i0 < n - 1; i0 += 100) {
      size_t nb = n - 1 - i0 < 100 ? n - 1 - i0 : 100;
      assert_int_equal(
          lsp_loss_xent(z + i0 * k, y + i0, nb, k, &ls, g2 + 1 + i0 * k, 1e-3, r2 + i0, &m),
          0);
    }
    assert_memory_equal(g + 1, g2 + 1, (n - 1) * k * sizeof *g);
    assert_memory_equal(r1, r2, (n - 1) * sizeof *r1);
    free(z);
    free(g);
    free(g2);
    free(y);
    free(r1);
    free(r2);
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
  assert_int_equal(lsp_cpu_isa_cap("x86-64-v5"), LSP_EINVAL);
}

/* The one-sweep path (AVX-512 and AVX2) takes rows whose logits all lie in
 * [−86.5, 88] and leaves the others to the two sweeps: rows with one logit
 * at each end of that range, just outside it, far outside it (where an
 * unchecked exponential would be garbage) and at ±0, the odd logit at the
 * first, a middle and the last position (a partial vector's lane), against
 * the double-precision reference on every path; and NaN of either sign and
 * ±inf, refused on every path. */
static void test_one_sweep_range(void **state) {
  (void)state;
  const char *levels[] = {"x86-64-v4", "x86-64-v3", "x86-64"};
  const size_t ks[] = {2, 7, 8, 17, 40, 1000};
  const float odd[] = {88.0f,  nextafterf(88.0f, INFINITY), 1e3f,  64.0f, -86.5f,
                       nextafterf(-86.5f, -INFINITY), -200.0f, -1e30f, -0.0f, 0.0f};
  const size_t n = sizeof odd / sizeof *odd;
  const lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  unsigned seed = 77;
  for (int lv = 0; lv < 3; lv++) {
    assert_int_equal(lsp_cpu_isa_cap(levels[lv]), 0);
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
      const size_t k = ks[ki];
      float *z = malloc(n * k * sizeof *z), *g = malloc(n * k * sizeof *g);
      double *gref = malloc(n * k * sizeof *gref), rows[10], m, mref;
      int32_t y[10];
      assert_true(n <= 10);
      for (size_t pos = 0; pos < 3; pos++) {
        const size_t at = pos == 0 ? 0 : pos == 1 ? k / 2 : k - 1;
        for (size_t i = 0; i < n; i++) {
          for (size_t j = 0; j < k; j++) z[i * k + j] = frand(&seed, 3.0f);
          z[i * k + at] = odd[i];
          y[i] = (int32_t)((i % 2) ? at : (at + 1) % k);
        }
        assert_int_equal(lsp_loss_xent(z, y, n, k, &ls, g, 1.0, rows, &m), 0);
        assert_int_equal(lsp_loss_xent_ref(z, y, n, k, &ls, gref, 1.0, &mref), 0);
        double rref[10];
        for (size_t i = 0; i < n; i++) {
          assert_int_equal(lsp_loss_xent_ref(z + i * k, y + i, 1, k, &ls, NULL, 1.0, &rref[i]), 0);
          /* 1e-7 of the row's largest logit (log Σe's float rounding) */
          double scale = odd[i] > 3.0f ? (double)odd[i] : 3.0;
          td_close(rows[i], rref[i], 1e-7, 1e-7 * scale, "row loss at the range's edges", i);
        }
        double on, off;
        lsp_ls_target(&ls, k, &on, &off);
        for (size_t i = 0; i < n * k; i++) {
          double q = (size_t)y[i / k] == i % k ? on : off;
          double pq = fabs(gref[i] + q) + q;
          td_close(g[i], gref[i], 0, 1e-6 * pq, "grad at the range's edges", i);
        }
      }
      const float bad[] = {-NAN, NAN, -INFINITY, INFINITY};
      for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        for (size_t j = 0; j < k; j++) z[j] = frand(&seed, 3.0f);
        z[k - 1] = bad[b];
        double l;
        assert_int_equal(lsp_loss_xent(z, y, 1, k, &ls, g, 1.0, NULL, &l), LSP_EDATA);
        assert_int_equal(lsp_loss_xent(z, y, 1, k, &ls, NULL, 1.0, NULL, &l), LSP_EDATA);
      }
      free(z);
      free(g);
      free(gref);
    }
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
}

/* A small gradient scale (gs = 1/N) with large logits, on every path: the
 * one sweep's scale gs/Σexp(z) would fall among float's subnormals (10⁻⁴⁴
 * for N = 10⁶ and logits of 87) or to 0; the gradient must match the
 * reference, and the same rows shifted by −80 (the softmax is shift
 * invariant). */
static void test_small_scale(void **state) {
  (void)state;
  const char *levels[] = {"x86-64-v4", "x86-64-v3", "x86-64"};
  const size_t ks[] = {2, 10, 1000};
  const double scales[] = {1e-6, 1.0 / 128, 1e-12};
  const lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  unsigned seed = 5;
  for (int lv = 0; lv < 3; lv++) {
    assert_int_equal(lsp_cpu_isa_cap(levels[lv]), 0);
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
      const size_t k = ks[ki], n = 4;
      float *z = malloc(n * k * sizeof *z), *zs = malloc(n * k * sizeof *zs);
      float *g = malloc(n * k * sizeof *g), *gs = malloc(n * k * sizeof *gs);
      double *gref = malloc(n * k * sizeof *gref), m, mref;
      int32_t y[4] = {0, (int32_t)(k - 1), (int32_t)(k / 2), 1};
      for (size_t i = 0; i < n * k; i++) /* rows in [84, 88): row 0 of K = 2 is {87, 86} */
        z[i] = k == 2 && i < 2 ? 87.0f - (float)i : 86.0f + frand(&seed, 2.0f);
      for (size_t i = 0; i < n * k; i++) zs[i] = z[i] - 80.0f; /* exact */
      for (size_t si = 0; si < sizeof scales / sizeof *scales; si++) {
        const double d = scales[si];
        assert_int_equal(lsp_loss_xent(z, y, n, k, &ls, g, d, NULL, &m), 0);
        assert_int_equal(lsp_loss_xent(zs, y, n, k, &ls, gs, d, NULL, &m), 0);
        assert_int_equal(lsp_loss_xent_ref(z, y, n, k, &ls, gref, d, &mref), 0);
        double on, off;
        lsp_ls_target(&ls, k, &on, &off);
        for (size_t i = 0; i < n * k; i++) {
          double q = (size_t)y[i / k] == i % k ? on : off;
          double pq = fabs(gref[i] / d + q) + q;
          td_close(g[i], gref[i], 0, d * 1e-6 * pq, "small-scale grad vs reference", i);
          td_close(g[i], gs[i], 0, d * 2e-6 * pq, "small-scale grad vs the shifted rows", i);
        }
      }
      free(z), free(zs), free(g), free(gs), free(gref);
    }
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
  /* a scale beyond float32 is refused, not turned into infinities */
  float z2[2] = {1.0f, 2.0f}, g2[2];
  int32_t y2[1] = {0};
  double l;
  assert_int_equal(lsp_loss_xent(z2, y2, 1, 2, &ls, g2, 1e39, NULL, &l), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "beyond float32"));
}

/* Logits far larger than log K, on every instruction-set path: equal
 * logits of 1e20 (and near FLT_MAX, where the float sums overflow) have
 * loss log K − H(q)·normalize whatever the label, gradient 1/K − q; logits
 * of 1e20 times uniform noise give the double-precision log-sum-exp of the
 * row minus Σ q z, computed here in long double from the float inputs. */
static void test_huge_logits(void **state) {
  (void)state;
  const char *levels[] = {"x86-64-v4", "x86-64-v3", "x86-64"};
  const size_t ks[] = {2, 3, 4, 10, 17, 33, 1000, 5000};
  const float big[] = {1e16f, 1e20f, -1e20f, 3e38f};
  unsigned seed = 4242;
  for (int lv = 0; lv < 3; lv++) {
    assert_int_equal(lsp_cpu_isa_cap(levels[lv]), 0);
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
      const size_t k = ks[ki], n = 3;
      float *z = malloc(n * k * sizeof *z), *g = malloc(n * k * sizeof *g);
      int32_t y[3] = {0, (int32_t)(k - 1), (int32_t)(k / 2)};
      double rows[3], m;
      for (int conv = 0; conv < 2; conv++)
        for (int e = 0; e < 3; e++) {
          lsp_ls ls = {0.1 * e, (lsp_ls_convention)conv, e == 2};
          double on, off;
          lsp_ls_target(&ls, k, &on, &off);
          const double want = log((double)k) - (ls.normalize ? lsp_ls_entropy(&ls, k) : 0.0);
          for (size_t bi = 0; bi < sizeof big / sizeof *big; bi++) {
            for (size_t i = 0; i < n * k; i++) z[i] = big[bi];
            assert_int_equal(lsp_loss_xent(z, y, n, k, &ls, g, 1.0, rows, &m), 0);
            for (size_t i = 0; i < n; i++) td_close(rows[i], want, 1e-7, 1e-7, "equal logits", k);
            td_close(m, want, 1e-7, 1e-7, "equal logits, mean", k);
            for (size_t i = 0; i < n * k; i++) {
              double q = (size_t)y[i / k] == i % k ? on : off;
              td_close(g[i], 1.0 / (double)k - q, 0, 1e-6, "equal logits, grad", i);
            }
          }
          for (size_t i = 0; i < n * k; i++) z[i] = frand(&seed, 1e20f);
          assert_int_equal(lsp_loss_xent(z, y, n, k, &ls, NULL, 1.0, rows, &m), 0);
          for (size_t i = 0; i < n; i++) {
            const float *zr = z + i * k;
            long double mx = zr[0], s = 0.0L, qz = 0.0L;
            for (size_t j = 0; j < k; j++) mx = zr[j] > mx ? zr[j] : mx;
            for (size_t j = 0; j < k; j++) {
              s += expl((long double)zr[j] - mx);
              qz += ((size_t)y[i] == j ? on : off) * (long double)zr[j];
            }
            double ref = (double)(mx + logl(s) - qz);
            if (ls.normalize) ref -= lsp_ls_entropy(&ls, k);
            assert_true(isfinite(rows[i]));
            /* Σ q z from float lane sums: relative 2^-24 of Σ|z| per term */
            td_close(rows[i], ref, 1e-6, 0, "1e20 noise vs long double", i);
          }
        }
      free(z);
      free(g);
    }
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
}

static void test_softmax(void **state) {
  (void)state;
  const size_t n = 7, k = 21;
  float z[7 * 21], p[7 * 21], lp[7 * 21];
  unsigned seed = 5;
  for (size_t i = 0; i < n * k; i++) z[i] = frand(&seed, 30.0f);
  lsp_softmax_rows(z, p, n, k);
  lsp_log_softmax_rows(z, lp, n, k);
  for (size_t i = 0; i < n; i++) {
    double m = -INFINITY, s = 0, sum = 0;
    for (size_t j = 0; j < k; j++) m = fmax(m, z[i * k + j]);
    for (size_t j = 0; j < k; j++) s += exp(z[i * k + j] - m);
    for (size_t j = 0; j < k; j++) {
      double want = z[i * k + j] - m - log(s);
      td_close(lp[i * k + j], want, 1e-6, 1e-6, "log_softmax", i * k + j);
      td_close(p[i * k + j], exp(want), 5e-6, 1e-30, "softmax", i * k + j);
      sum += p[i * k + j];
    }
    td_close(sum, 1.0, 0, 1e-6, "softmax row sum", i);
  }
  /* in place */
  lsp_softmax_rows(z, z, n, k);
  for (size_t i = 0; i < n * k; i++) td_close(z[i], p[i], 0, 0, "in-place softmax", i);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_torch_case),
      cmocka_unit_test(test_t2t_values),
      cmocka_unit_test(test_entropy_and_gap),
      cmocka_unit_test(test_minimum),
      cmocka_unit_test(test_finite_differences),
      cmocka_unit_test(test_large_logits),
      cmocka_unit_test(test_edge_cases),
      cmocka_unit_test(test_invalid_inputs),
      cmocka_unit_test(test_large_vs_reference_and_threads),
      cmocka_unit_test(test_isa_paths),
      cmocka_unit_test(test_one_sweep_range),
      cmocka_unit_test(test_huge_logits),
      cmocka_unit_test(test_small_scale),
      cmocka_unit_test(test_softmax),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
