/* Tests of the cluster geometry (R², scatter, NC1, tightness, distances)
 * against DESIGN §2's hand-computed toy case, closed forms, and O(N²) /
 * full-matrix computations done here in double. */
#include <gsl/gsl_eigen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_clusters.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "testutil.h"

static const float k_toy[8] = {1, 0, 1, 0.2f, 0, 1, 0.2f, 1};
static const int32_t k_toy_y[4] = {0, 0, 1, 1};

static lsp_clusters *run(const float *x, const int32_t *y, size_t n, size_t h,
                         size_t k) {
  lsp_clusters *c = lsp_clusters_alloc(k);
  assert_non_null(c);
  int st = lsp_clusters_compute(x, y, n, h, c);
  if (st) print_error("compute: %s\n", lsp_errmsg());
  assert_int_equal(st, 0);
  return c;
}

/* O(N²) class separation: mean pairwise cosine distance within each class
 * (self-pairs included), averaged over classes, against the mean over all
 * pairs with each example weighted 1/(K·n_class) — the weighting DESIGN's
 * (1/K)Σ_k μ_k implies. Rows with h = 0 are skipped (the exclusion rule). */
static double r2_pairwise(const float *x, const int32_t *y, size_t n, size_t h,
                          size_t k) {
  double *u = calloc(n * h, sizeof *u), *cnt = calloc(k, sizeof *cnt);
  double *win = calloc(k, sizeof *win);
  int *ok = calloc(n, sizeof *ok);
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t t = 0; t < h; t++) s += (double)x[i * h + t] * x[i * h + t];
    if (s == 0) continue;
    ok[i] = 1;
    cnt[y[i]] += 1;
    for (size_t t = 0; t < h; t++) u[i * h + t] = x[i * h + t] / sqrt(s);
  }
  size_t ku = 0;
  for (size_t c = 0; c < k; c++) ku += cnt[c] > 0;
  double tot = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      if (!ok[i] || !ok[j]) continue;
      double d = 1;
      for (size_t t = 0; t < h; t++) d -= u[i * h + t] * u[j * h + t];
      tot += d / ((double)ku * cnt[y[i]]) / ((double)ku * cnt[y[j]]);
      if (y[i] == y[j]) win[y[i]] += d / (cnt[y[i]] * cnt[y[i]]);
    }
  double w = 0;
  for (size_t c = 0; c < k; c++) w += win[c];
  w /= (double)ku;
  free(u);
  free(cnt);
  free(win);
  free(ok);
  return 1 - w / tot;
}

static void test_toy(void **state) {
  (void)state;
  lsp_clusters *c = run(k_toy, k_toy_y, 4, 2, 2);
  td_close(c->r2_separation, 0.976187, 0, 5e-7, "toy R2", 0);
  td_close(c->nc1, 0.006173, 0, 5e-7, "toy NC1", 0);
  /* by hand: Σ_W = diag(0.005, 0.005), Σ_B = 0.2025·[[1,-1],[-1,1]] */
  td_close(c->trace_within, 0.01, 1e-6, 0, "tr SW", 0);
  td_close(c->trace_between, 0.405, 1e-6, 0, "tr SB", 0);
  td_close(c->trace_ratio, 0.01 / 0.405, 1e-6, 0, "trace ratio", 0);
  td_close(c->nc1, 0.005 / 0.405 / 2, 1e-6, 0, "NC1 closed form", 0);
  assert_int_equal(c->nc1_rank, 1);
  /* tightness by its definition: mean of 1 − u·μ/‖μ‖ */
  const double e = 0.2f; /* the float the features hold */
  double u1[2] = {1 / sqrt(1 + e * e), e / sqrt(1 + e * e)};
  double mu[2] = {(1 + u1[0]) / 2, (0 + u1[1]) / 2};
  double nm = sqrt(mu[0] * mu[0] + mu[1] * mu[1]);
  double want =
      ((1 - mu[0] / nm) + (1 - (u1[0] * mu[0] + u1[1] * mu[1]) / nm)) / 2;
  td_close(c->tightness[0], want, 1e-9, 1e-15, "tightness 0", 0);
  td_close(c->tightness[1], want, 1e-9, 1e-15, "tightness 1 (mirror)", 1);
  /* class means (1, 0.1) and (0.1, 1): distance 0.9·√2 */
  td_close(c->mean_dist[1], 0.9 * sqrt(2.0), 1e-7, 0, "mean distance", 0);
  td_close(c->mean_dist[2], 0.9 * sqrt(2.0), 1e-7, 0, "mean distance sym", 0);
  assert_true(c->mean_dist[0] == 0 && c->mean_dist[3] == 0);
  assert_true(c->mean_dist_cv == 0); /* one pair: no spread (JSON null) */
  assert_int_equal(c->n_zero_rows, 0);
  assert_int_equal(c->k_used, 2);
  /* the O(N²) formula of this test reproduces DESIGN's number */
  td_close(r2_pairwise(k_toy, k_toy_y, 4, 2, 2), 0.976187, 0, 5e-7,
           "pairwise R2 on toy", 0);
  lsp_clusters_free(c);
  lsp_clusters_free(NULL);
}

static void load_tiny(lsp_array *fa, lsp_array *ya, int32_t **y) {
  td_load("torch_mlp_tiny/features.npy", fa);
  td_load("torch_mlp_tiny/labels.npy", ya);
  assert_int_equal(fa->dtype, LSP_DT_F32);
  assert_int_equal(lsp_array_labels(ya, "labels", 3, y), 0);
}

/* PyTorch MLP features: R² against the O(N²) computation. */
static void test_tiny_pairwise(void **state) {
  (void)state;
  lsp_array fa, ya;
  int32_t *y;
  load_tiny(&fa, &ya, &y);
  size_t n = fa.shape[0], h = fa.shape[1];
  lsp_clusters *c = run(fa.data, y, n, h, 3);
  double want = r2_pairwise(fa.data, y, n, h, 3);
  td_close(c->r2_separation, want, 1e-12, 1e-14, "tiny R2 vs O(N^2)", 0);
  print_message("torch_mlp_tiny: R2 %.6f, trace ratio %.4f, NC1 %.4f\n",
                c->r2_separation, c->trace_ratio, c->nc1);
  lsp_clusters_free(c);
  free(y);
  lsp_array_release(&fa);
  lsp_array_release(&ya);
}

/* NC1 and traces against the full scatter matrices and a pseudo-inverse of
 * Σ_B built here from an H×H eigendecomposition; Σ_W of lsp_clusters_scatter
 * against a plain double loop. */
/* Naive class means mu (k×h) and Σ_W (h×h) of n×h features, in double
 * (every class non-empty, no zero rows). */
static void naive_mu_sw(const float *x, const int32_t *y, size_t n, size_t h, size_t k,
                        double *mu, double *sw) {
  double *cnt = calloc(k, sizeof *cnt);
  assert_non_null(cnt);
  memset(mu, 0, k * h * sizeof *mu);
  memset(sw, 0, h * h * sizeof *sw);
  for (size_t i = 0; i < n; i++) {
    cnt[y[i]]++;
    for (size_t t = 0; t < h; t++) mu[y[i] * h + t] += x[i * h + t];
  }
  for (size_t q = 0; q < k * h; q++) mu[q] /= cnt[q / h];
  for (size_t i = 0; i < n; i++)
    for (size_t a = 0; a < h; a++)
      for (size_t b = 0; b < h; b++)
        sw[a * h + b] += (x[i * h + a] - mu[y[i] * h + a]) *
                         (x[i * h + b] - mu[y[i] * h + b]) / (double)n;
  free(cnt);
}

static void test_tiny_full_matrices(void **state) {
  (void)state;
  lsp_array fa, ya;
  int32_t *y;
  load_tiny(&fa, &ya, &y);
  size_t n = fa.shape[0], h = fa.shape[1], k = 3;
  const float *x = fa.data;
  /* naive class means and Σ_W */
  double mu[3 * 16], sw[16 * 16];
  naive_mu_sw(x, y, n, h, k, mu, sw);
  double sw2[16 * 16], sb2[16 * 16];
  assert_int_equal(lsp_clusters_scatter(x, y, n, h, k, sw2, sb2), 0);
  for (size_t q = 0; q < h * h; q++)
    td_close(sw2[q], sw[q], 1e-10, 1e-13, "SW", q);
  /* Σ_B and its pseudo-inverse keeping the K−1 = 2 leading components */
  gsl_matrix *B = gsl_matrix_calloc(h, h), *V = gsl_matrix_alloc(h, h);
  gsl_vector *lam = gsl_vector_alloc(h);
  double g[16] = {0};
  for (size_t t = 0; t < h; t++) g[t] = (mu[t] + mu[h + t] + mu[2 * h + t]) / 3;
  for (size_t c = 0; c < k; c++)
    for (size_t a = 0; a < h; a++)
      for (size_t b = 0; b < h; b++)
        *gsl_matrix_ptr(B, a, b) +=
            (mu[c * h + a] - g[a]) * (mu[c * h + b] - g[b]) / 3.0;
  for (size_t q = 0; q < h * h; q++)
    td_close(sb2[q], B->data[q], 1e-10, 1e-13, "SB", q);
  double trw = 0, trb = 0;
  for (size_t a = 0; a < h; a++) {
    trw += sw[a * h + a];
    trb += gsl_matrix_get(B, a, a);
  }
  gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc(h);
  gsl_eigen_symmv(B, lam, V, w);
  gsl_eigen_symmv_sort(lam, V, GSL_EIGEN_SORT_VAL_DESC);
  double nc1 = 0;
  for (size_t j = 0; j < k - 1; j++) {
    double q = 0; /* v_jᵀ Σ_W v_j */
    for (size_t a = 0; a < h; a++)
      for (size_t b = 0; b < h; b++)
        q += gsl_matrix_get(V, a, j) * sw[a * h + b] * gsl_matrix_get(V, b, j);
    nc1 += q / gsl_vector_get(lam, j);
  }
  nc1 /= (double)k;
  lsp_clusters *c = run(x, y, n, h, k);
  td_close(c->trace_within, trw, 1e-10, 0, "tr SW", 0);
  td_close(c->trace_between, trb, 1e-10, 0, "tr SB", 0);
  td_close(c->trace_ratio, trw / trb, 1e-10, 0, "trace ratio", 0);
  td_close(c->nc1, nc1, 1e-9, 0, "NC1 vs full pseudo-inverse", 0);
  assert_int_equal(c->nc1_rank, 2);
  lsp_clusters_free(c);
  gsl_eigen_symmv_free(w);
  gsl_vector_free(lam);
  gsl_matrix_free(V);
  gsl_matrix_free(B);
  free(y);
  lsp_array_release(&fa);
  lsp_array_release(&ya);
}

static void test_scale_invariance(void **state) {
  (void)state;
  lsp_array fa, ya;
  int32_t *y;
  load_tiny(&fa, &ya, &y);
  size_t n = fa.shape[0], h = fa.shape[1];
  float *x = malloc(n * h * sizeof *x);
  memcpy(x, fa.data, n * h * sizeof *x);
  lsp_clusters *c0 = run(x, y, n, h, 3);
  /* scale factors that are exact in float32: invariance to rounding */
  for (size_t t = 0; t < h; t++) x[5 * h + t] *= 8.0f;
  for (size_t t = 0; t < h; t++) x[17 * h + t] *= 0.03125f;
  lsp_clusters *c1 = run(x, y, n, h, 3);
  td_close(c1->r2_separation, c0->r2_separation, 1e-13, 1e-15, "R2 scaled rows",
           0);
  td_close(c1->tightness[y[5]], c0->tightness[y[5]], 1e-12, 1e-15,
           "tightness scaled", 0);
  assert_true(c1->trace_within != c0->trace_within); /* Euclidean: changes */
  /* an inexact factor changes each entry by float rounding (~6e-8 relative) */
  for (size_t t = 0; t < h; t++) x[9 * h + t] *= 7.25f;
  lsp_clusters *c2 = run(x, y, n, h, 3);
  td_close(c2->r2_separation, c0->r2_separation, 1e-6, 0, "R2 row x7.25", 0);
  lsp_clusters_free(c2);
  lsp_clusters_free(c0);
  lsp_clusters_free(c1);
  free(x);
  free(y);
  lsp_array_release(&fa);
  lsp_array_release(&ya);
}

/* Every class a single point: R² = 1, Σ_W = 0, NC1 = 0 exactly. */
static void test_collapsed(void **state) {
  (void)state;
  enum { N = 40, H = 6, K = 4 };
  float x[N * H];
  int32_t y[N];
  const float means[K][H] = {{2.385f, -1.5f, 0.25f, 3.0f, 0.0f, 1.125f},
                             {-0.75f, 2.0f, 1.5f, -2.25f, 0.5f, 0.0f},
                             {1.0f, 1.0f, -3.5f, 0.125f, 2.75f, -1.0f},
                             {0.3f, -0.7f, 0.9f, 1.1f, -1.3f, 2.2f}};
  for (int i = 0; i < N; i++) {
    y[i] = (i * 7) % K;
    memcpy(x + i * H, means[y[i]], sizeof means[0]);
  }
  lsp_clusters *c = run(x, y, N, H, K);
  td_close(c->r2_separation, 1.0, 0, 1e-14, "R2 collapsed", 0);
  assert_true(c->nc1 == 0.0);
  assert_true(c->trace_within == 0.0);
  assert_int_equal(c->nc1_rank, K - 1);
  for (int q = 0; q < K; q++) {
    td_close(c->tightness[q], 0.0, 0, 1e-15, "tight", q);
    assert_true(c->tightness[q] >= 0.0); /* 1 − |mean of unit vectors| ≥ 0 */
  }
  lsp_clusters_free(c);
}

/* All-zero rows are counted and excluded; an empty class is reported and
 * left out: the result equals the one without them. */
static void test_zero_rows_and_empty_class(void **state) {
  (void)state;
  float x[12] = {1, 0, 0, 0, 1, 0.2f, 0, 1, 0.2f, 1, 0, 0};
  int32_t y[6] = {0, 1, 0, 3, 3, 0}; /* classes 1 and 2 get no usable row */
  lsp_clusters *c = run(x, y, 6, 2, 4);
  assert_int_equal(c->n_zero_rows, 2);
  assert_int_equal(c->zero_count[0], 1);
  assert_int_equal(c->zero_count[1], 1);
  assert_int_equal(c->n_used, 4);
  assert_int_equal(c->k_used, 2);
  assert_int_equal(c->count[1], 0);
  assert_int_equal(c->count[2], 0);
  td_close(c->r2_separation, 0.976187, 0, 5e-7, "toy R2 with zero rows", 0);
  td_close(c->nc1, 0.006173, 0, 5e-7, "toy NC1 with zero rows", 0);
  assert_true(c->tightness[1] == 0 && c->mean_dist[1 * 4 + 3] == 0);
  assert_true(isfinite(c->mean_dist_cv));
  lsp_clusters_free(c);
}

/* Collinear class means: Σ_B has rank 1 < K − 1, and the rank rule keeps
 * one component. Means (c+1)(1,1), deviations ±(0.125, 0):
 * Σ_B = (2/3)[[1,1],[1,1]] (λ = 4/3 on (1,1)/√2), Σ_W = diag(1/64, 0),
 * NC1 = (vᵀΣ_W v/λ)/K = (1/128)/(4/3)/3. */
static void test_rank_deficient_between(void **state) {
  (void)state;
  float x[12];
  int32_t y[6];
  for (int c = 0; c < 3; c++)
    for (int q = 0; q < 2; q++) {
      int i = 2 * c + q;
      y[i] = c;
      x[2 * i] = (float)(c + 1) + (q ? 0.125f : -0.125f);
      x[2 * i + 1] = (float)(c + 1);
    }
  lsp_clusters *c = run(x, y, 6, 2, 3);
  assert_int_equal(c->nc1_rank, 1);
  td_close(c->nc1, 1.0 / 128 / (4.0 / 3) / 3, 1e-12, 0, "NC1 rank 1", 0);
  td_close(c->trace_between, 4.0 / 3, 1e-14, 0, "tr SB", 0);
  td_close(c->trace_within, 1.0 / 64, 1e-14, 0, "tr SW", 0);
  lsp_clusters_free(c);
}

/* c's JSON object as a heap string (free it). */
static char *json_of(const lsp_clusters *c) {
  const char *path = td_tmp("clusters.json");
  FILE *f = fopen(path, "w+");
  assert_non_null(f);
  lsp_json j;
  lsp_json_init(&j, f, 0);
  lsp_json_obj_begin(&j);
  lsp_clusters_json(c, &j);
  lsp_json_obj_end(&j);
  assert_int_equal(lsp_json_finish(&j), 0);
  long len = ftell(f);
  char *buf = calloc((size_t)len + 1, 1);
  assert_non_null(buf);
  rewind(f);
  assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  remove(path);
  return buf;
}

/* JSON: the DESIGN names, null for the entries of an empty class. */
static void test_json(void **state) {
  (void)state;
  float x[8];
  memcpy(x, k_toy, sizeof x);
  const int32_t y[4] = {0, 0, 2, 2};
  lsp_clusters *c = run(x, y, 4, 2, 3);
  char *buf = json_of(c);
  assert_non_null(strstr(buf, "\"r2_separation\":0.97618"));
  assert_non_null(strstr(buf, "\"trace_ratio\":"));
  assert_non_null(strstr(buf, "\"nc1\":0.0061728"));
  assert_non_null(strstr(buf, "\"empty_classes\":[1]"));
  assert_non_null(strstr(
      buf, "{\"class\":1,\"count\":0,\"zero_rows\":0,\"tightness\":null}"));
  assert_non_null(strstr(buf, "\"mean_distances\":[[0,null,"));
  /* two non-empty classes: one distance, no spread to measure */
  assert_non_null(strstr(buf, "\"mean_distance_cv\":null"));
  assert_null(strstr(buf, "nan"));
  free(buf);
  lsp_clusters_free(c);
}

static void expect_fail(const float *x, const int32_t *y, size_t n, size_t h,
                        size_t k, int want, const char *needle) {
  lsp_clusters *c = lsp_clusters_alloc(k < 2 ? 2 : k);
  if (k < 2) c->k = k;
  int st = lsp_clusters_compute(x, y, n, h, c);
  if (st != want || !strstr(lsp_errmsg(), needle)) {
    print_error("want status %d with '%s', got %d: %s\n", want, needle, st,
                lsp_errmsg());
    fail();
  }
  lsp_clusters_free(c);
}

static void test_errors(void **state) {
  (void)state;
  float x[8];
  memcpy(x, k_toy, sizeof x);
  x[5] = NAN;
  expect_fail(x, k_toy_y, 4, 2, 2, LSP_EDATA, "row 2");
  x[5] = INFINITY;
  expect_fail(x, k_toy_y, 4, 2, 2, LSP_EDATA, "NaN or Inf");
  int32_t y1[4] = {0, 0, 0, 0};
  expect_fail(k_toy, y1, 4, 2, 2, LSP_EDATA, "at least 2 classes");
  int32_t y2[4] = {0, 0, 2, 1};
  expect_fail(k_toy, y2, 4, 2, 2, LSP_EDATA, "row 2 is outside");
  int32_t y3[4] = {0, -1, 1, 1};
  expect_fail(k_toy, y3, 4, 2, 2, LSP_EDATA, "row 1");
  expect_fail(k_toy, k_toy_y, 0, 2, 2, LSP_EINVAL, "empty");
  expect_fail(k_toy, k_toy_y, 4, 2, 1, LSP_EINVAL, "2 classes");
  const float zero_cls[8] = {1, 0, 1, 0.2f, 0, 0, 0, 0};
  expect_fail(zero_cls, k_toy_y, 4, 2, 2, LSP_EDATA, "2 all-zero rows");
  const float same_dir[8] = {1, 1, 2, 2, 3, 3, 0.5f, 0.5f};
  expect_fail(same_dir, k_toy_y, 4, 2, 2, LSP_EDATA, "same direction");
  const float same_mean[8] = {1, 0, 0, 1, 0, 1, 1, 0};
  expect_fail(same_mean, k_toy_y, 4, 2, 2, LSP_EDATA, "means coincide");
  assert_null(lsp_clusters_alloc(0));
  assert_int_equal(lsp_clusters_scatter(x, k_toy_y, 4, 2, 2, NULL, NULL),
                   LSP_EDATA);
  assert_int_equal(lsp_clusters_scatter(k_toy, y1, 4, 2, 2, NULL, NULL),
                   LSP_EDATA);
}

/* The input checks of the callers: a float64 row that vanishes in float32,
 * and a K = 1 + largest label above LSP_CLUSTERS_SPARSE_K with more absent
 * classes than present ones (the boundary on both sides). */
static void test_input_checks(void **state) {
  (void)state;
  const double src[6] = {1, 0, 1e-50, -3e-50, 0, 0};
  float x[6];
  for (int i = 0; i < 6; i++) x[i] = (float)src[i];
  assert_int_equal(lsp_clusters_check_f64(src, x, 3, 2, "f.npy"), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "f.npy: row 1 (largest |value| 3e-50)"));
  /* a truly all-zero row (row 2) is a dead row, not an error */
  assert_int_equal(lsp_clusters_check_f64(src, x, 1, 2, "f.npy"), LSP_OK);
  const double zero_row[2] = {0, 0};
  const float zero_f[2] = {0, 0};
  assert_int_equal(lsp_clusters_check_f64(zero_row, zero_f, 1, 2, "f"), LSP_OK);
  enum { K = LSP_CLUSTERS_SPARSE_K };
  int32_t y[K / 2 + 1];
  for (int i = 0; i < K / 2; i++) y[i] = i; /* K/2 classes ... */
  y[K / 2] = K;                             /* ... and K: K + 1 classes */
  /* K/2 + 1 present, K/2 absent: accepted */
  assert_int_equal(lsp_clusters_check_k(y, K / 2 + 1, "y"), LSP_OK);
  y[1] = 0; /* K/2 present, K/2 + 1 absent: refused */
  assert_int_equal(lsp_clusters_check_k(y, K / 2 + 1, "y"), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "y: label 1024 at index 512 makes K = 1025"));
  /* K up to the limit is never refused, however sparse */
  int32_t y2[2] = {0, K - 1};
  assert_int_equal(lsp_clusters_check_k(y2, 2, "y"), LSP_OK);
}

/* Same thread count: bit-identical; 1 vs 2 threads: equal to rounding. */
static void test_threads(void **state) {
  (void)state;
  enum { N = 1201, H = 37, K = 5 };
  float *x = malloc(N * H * sizeof *x);
  int32_t y[N];
  unsigned s = 7;
  for (int i = 0; i < N; i++) {
    y[i] = (int32_t)((i * 2654435761u) % K);
    for (int t = 0; t < H; t++) {
      s = s * 1664525u + 1013904223u;
      x[i * H + t] =
          (float)(s >> 8) / 16777216.0f + (t % K == y[i] ? 0.6f : 0.0f);
    }
  }
  lsp_threads_set(2);
  lsp_clusters *a = run(x, y, N, H, K), *b = run(x, y, N, H, K);
  lsp_threads_set(1);
  lsp_clusters *c = run(x, y, N, H, K);
  assert_memory_equal(&a->r2_separation, &b->r2_separation, sizeof(double));
  assert_memory_equal(&a->nc1, &b->nc1, sizeof(double));
  td_close(a->r2_separation, c->r2_separation, 1e-12, 0, "R2 1 vs 2 threads",
           0);
  td_close(a->nc1, c->nc1, 1e-12, 0, "NC1 1 vs 2 threads", 0);
  td_close(a->r2_separation, r2_pairwise(x, y, N, H, K), 1e-10, 0,
           "random R2 vs O(N^2)", 0);
  lsp_clusters_free(a);
  lsp_clusters_free(b);
  lsp_clusters_free(c);
  free(x);
}

/* NC1 of n×h features from the naive class means and Σ_W and the
 * eigendecomposition of the h×h Σ_B, keeping min(h, k−1) components (all
 * classes non-empty, no zero rows): the reference for many classes in a
 * narrow layer, where lsp_clusters decomposes Σ_B directly. */
static double nc1_naive(const float *x, const int32_t *y, size_t n, size_t h, size_t k) {
  double *mu = malloc(k * h * sizeof *mu), *sw = malloc(h * h * sizeof *sw);
  double *g = calloc(h, sizeof *g);
  gsl_matrix *B = gsl_matrix_calloc(h, h), *V = gsl_matrix_alloc(h, h);
  gsl_vector *lam = gsl_vector_alloc(h);
  gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc(h);
  assert_true(mu && sw && g && B && V && lam && w);
  naive_mu_sw(x, y, n, h, k, mu, sw);
  for (size_t c = 0; c < k; c++)
    for (size_t t = 0; t < h; t++) g[t] += mu[c * h + t] / (double)k;
  for (size_t c = 0; c < k; c++)
    for (size_t a = 0; a < h; a++)
      for (size_t b = 0; b < h; b++)
        *gsl_matrix_ptr(B, a, b) += (mu[c * h + a] - g[a]) * (mu[c * h + b] - g[b]) / (double)k;
  gsl_eigen_symmv(B, lam, V, w);
  gsl_eigen_symmv_sort(lam, V, GSL_EIGEN_SORT_VAL_DESC);
  double nc1 = 0;
  for (size_t j = 0; j < (h < k - 1 ? h : k - 1); j++) {
    double q = 0;
    for (size_t a = 0; a < h; a++)
      for (size_t b = 0; b < h; b++)
        q += gsl_matrix_get(V, a, j) * sw[a * h + b] * gsl_matrix_get(V, b, j);
    nc1 += q / gsl_vector_get(lam, j);
  }
  gsl_eigen_symmv_free(w);
  gsl_vector_free(lam);
  gsl_matrix_free(V);
  gsl_matrix_free(B);
  free(mu);
  free(sw);
  free(g);
  return nc1 / (double)k;
}

/* Many classes in a narrow layer (k > h): NC1 against the h×h reference;
 * the class-mean distances' CV and the closest pairs against every pair
 * computed here; the k×k tables kept up to LSP_CLUSTERS_TABLE_K classes
 * (and equal to the pairs) and null beyond; 1 and 2 threads alike. */
static void test_many_classes(void **state) {
  (void)state;
  const size_t ks[2] = {60, 150}, h = 8;
  for (int q = 0; q < 2; q++) {
    const size_t k = ks[q], n = 6 * k;
    float *x = malloc(n * h * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    double *mu = calloc(k * h, sizeof *mu), *mu_u = calloc(k * h, sizeof *mu_u);
    assert_true(x && y && mu && mu_u);
    assert_int_equal(td_blobs(x, y, (int)n, (int)k, (int)h, 11u + (unsigned)q, 0.1, 0.8, 0.3), 0);
    for (size_t i = 0; i < n; i++) {
      double s2 = 0;
      for (size_t t = 0; t < h; t++) s2 += (double)x[i * h + t] * x[i * h + t];
      for (size_t t = 0; t < h; t++) {
        mu[y[i] * h + t] += x[i * h + t] / 6.0;
        mu_u[y[i] * h + t] += x[i * h + t] / sqrt(s2) / 6.0;
      }
    }
    /* every pair, and the ten closest by (cosine distance, distance, a, b) */
    lsp_clusters_pair best[LSP_CLUSTERS_CLOSEST];
    size_t nb = 0;
    double sum = 0, sum2 = 0;
    lsp_threads_set(1);
    lsp_clusters *c = run(x, y, n, h, k);
    for (size_t a = 0; a < k; a++)
      for (size_t b = a + 1; b < k; b++) {
        double d2 = 0, dot = 0, na = 0, nb2 = 0;
        for (size_t t = 0; t < h; t++) {
          d2 += (mu[a * h + t] - mu[b * h + t]) * (mu[a * h + t] - mu[b * h + t]);
          dot += mu_u[a * h + t] * mu_u[b * h + t];
          na += mu_u[a * h + t] * mu_u[a * h + t];
          nb2 += mu_u[b * h + t] * mu_u[b * h + t];
        }
        lsp_clusters_pair p = {a, b, sqrt(d2), 1 - dot / sqrt(na * nb2)};
        sum += p.dist;
        sum2 += p.dist * p.dist;
        if (c->mean_dist) {
          td_close(c->mean_dist[a * k + b], p.dist, 1e-12, 0, "table distance", a * k + b);
          td_close(c->mean_cos_dist[b * k + a], p.cos_dist, 1e-12, 1e-15, "table cosine", a * k + b);
        }
        size_t i = nb < LSP_CLUSTERS_CLOSEST ? nb++ : LSP_CLUSTERS_CLOSEST;
        while (i > 0 && (best[i - 1].cos_dist > p.cos_dist)) {
          if (i < LSP_CLUSTERS_CLOSEST) best[i] = best[i - 1];
          i--;
        }
        if (i < LSP_CLUSTERS_CLOSEST) best[i] = p;
      }
    const double pairs = (double)(k * (k - 1) / 2), m = sum / pairs;
    td_close(c->mean_dist_cv, sqrt(sum2 / pairs - m * m) / m, 1e-11, 0, "distance CV", k);
    td_close(c->nc1, nc1_naive(x, y, n, h, k), 1e-9, 0, "NC1, k > h", k);
    assert_int_equal(c->nc1_rank, h);
    assert_true(k <= LSP_CLUSTERS_TABLE_K ? c->mean_dist != NULL : c->mean_dist == NULL);
    assert_int_equal(c->n_closest, LSP_CLUSTERS_CLOSEST);
    for (size_t i = 0; i < LSP_CLUSTERS_CLOSEST; i++) {
      if (c->closest[i].a != best[i].a || c->closest[i].b != best[i].b) {
        print_error("k = %zu, closest pair %zu: %zu-%zu, want %zu-%zu\n", k, i,
                    c->closest[i].a, c->closest[i].b, best[i].a, best[i].b);
        fail();
      }
      td_close(c->closest[i].cos_dist, best[i].cos_dist, 1e-12, 1e-15, "closest cosine", i);
      td_close(c->closest[i].dist, best[i].dist, 1e-12, 0, "closest distance", i);
    }
    lsp_threads_set(2);
    lsp_clusters *c2 = run(x, y, n, h, k);
    lsp_threads_set(1);
    assert_memory_equal(&c2->mean_dist_cv, &c->mean_dist_cv, sizeof(double));
    assert_memory_equal(c2->closest, c->closest, sizeof c->closest);
    /* JSON: the tables as arrays or null, the closest pairs either way */
    char *buf = json_of(c);
    char want[64];
    snprintf(want, sizeof want, "\"closest_pairs\":[{\"a\":%zu,\"b\":%zu,", best[0].a, best[0].b);
    assert_non_null(strstr(buf, want));
    if (k > LSP_CLUSTERS_TABLE_K) {
      assert_non_null(strstr(buf, "\"mean_distances\":null"));
      assert_non_null(strstr(buf, "\"mean_cosine_distances\":null"));
    } else {
      assert_non_null(strstr(buf, "\"mean_distances\":[[0,"));
    }
    free(buf);
    lsp_clusters_free(c2);
    lsp_clusters_free(c);
    free(x);
    free(y);
    free(mu);
    free(mu_u);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_toy),
      cmocka_unit_test(test_tiny_pairwise),
      cmocka_unit_test(test_tiny_full_matrices),
      cmocka_unit_test(test_scale_invariance),
      cmocka_unit_test(test_collapsed),
      cmocka_unit_test(test_zero_rows_and_empty_class),
      cmocka_unit_test(test_rank_deficient_between),
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_input_checks),
      cmocka_unit_test(test_many_classes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
