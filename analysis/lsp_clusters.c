/* lsp_clusters.c — class separation R², scatter traces, NC1, tightness and
 * class-mean distances in two streaming passes (see lsp_clusters.h). */
#include "analysis/lsp_clusters.h"
#include "analysis/lsp_clusters_int.h"

#include <float.h>
/* GSL's BLAS wrappers (gsl_blas_*) call the cblas_* symbols, which the
 * build links to OpenBLAS; <cblas.h> itself clashes with <gsl/gsl_cblas.h>,
 * which the eigensolver header pulls in. */
#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"

lsp_clusters *lsp_clusters_alloc(size_t k) {
  if (k == 0 || k > (size_t)INT32_MAX) return NULL;
  lsp_clusters *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->k = k;
  c->count = calloc(k, sizeof *c->count);
  c->zero_count = calloc(k, sizeof *c->zero_count);
  c->tightness = calloc(k, sizeof *c->tightness);
  const int tables = k <= LSP_CLUSTERS_TABLE_K;
  if (tables) {
    c->mean_dist = calloc(k * k, sizeof *c->mean_dist);
    c->mean_cos_dist = calloc(k * k, sizeof *c->mean_cos_dist);
  }
  if (!c->count || !c->zero_count || !c->tightness ||
      (tables && (!c->mean_dist || !c->mean_cos_dist))) {
    lsp_clusters_free(c);
    return NULL;
  }
  return c;
}

void lsp_clusters_free(lsp_clusters *c) {
  if (!c) return;
  free(c->count);
  free(c->zero_count);
  free(c->tightness);
  free(c->mean_dist);
  free(c->mean_cos_dist);
  free(c);
}

/* Σ x_t² in double with eight partial sums (a fixed order, so the result
 * does not depend on the thread that computes it). */
static inline double sumsq_f32(const float *x, size_t h) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t t = 0;
  for (; t + 8 <= h; t += 8)
    for (int q = 0; q < 8; q++) {
      double v = x[t + q];
      a[q] += v * v;
    }
  for (; t < h; t++) a[t & 7] += (double)x[t] * (double)x[t];
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

static int check_args(const float *feat, const int32_t *labels, size_t n,
                      size_t h, size_t k) {
  if (!feat || !labels) return lsp_fail(LSP_EINVAL, "no data given");
  if (n == 0 || h == 0)
    return lsp_fail(LSP_EINVAL, "empty features (%zu x %zu)", n, h);
  if (k < 2 || k > (size_t)INT32_MAX)
    return lsp_fail(LSP_EINVAL, "need at least 2 classes (K = %zu)", k);
  for (size_t i = 0; i < n; i++)
    if (labels[i] < 0 || (size_t)labels[i] >= k)
      return lsp_fail(LSP_EDATA, "label %d of row %zu is outside [0, %zu)",
                      (int)labels[i], i, k);
  return LSP_OK;
}

/* The row kernels of both passes are compiled for AVX-512, AVX2 and the
 * baseline and picked at load time, like the loss kernel (core/loss/lsp_loss.c); the
 * sanitizer build (LSP_NO_CLONES) gets the portable version only. */
#include "core/base/lsp_clones.h"

/* Part of a row of pass 1: adds x·inv to u and x to m (len doubles each). */
LSP_CLONES
static void cols_accumulate(const float *x, size_t len, double inv, double *u,
                            double *m) {
  for (size_t t = 0; t < len; t++) {
    u[t] += (double)x[t] * inv;
    m[t] += (double)x[t];
  }
}

/* Pass 1: per class the used-row count, the zero-row count, Σ u (usum, k×h)
 * and Σ h (hsum, k×h), all in double. The rows' squared norms are computed
 * side by side (each row alone); the sums are then split by feature
 * column: every thread adds all rows, in row order, into its own columns.
 * Each sum is therefore the same bits for every thread count. Reports the
 * first row holding a NaN or Inf. */
typedef struct {
  size_t *count, *zero;
  double *usum, *hsum;
  unsigned char *dead; /* n flags (row is all zero), or NULL */
} class_sums;

static int pass_sums(const float *feat, const int32_t *labels, size_t n,
                     size_t h, size_t k, class_sums *out) {
  int nt = lsp_threads_get();
  if (nt < 1) nt = 1;
  double *inv = malloc(n * sizeof *inv);
  if (!inv) return lsp_fail(LSP_ENOMEM, "out of memory (%zu row norms)", n);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (size_t i = 0; i < n; i++) inv[i] = sumsq_f32(feat + i * h, h);
  memset(out->count, 0, k * sizeof *out->count);
  memset(out->zero, 0, k * sizeof *out->zero);
  for (size_t i = 0; i < n; i++) {
    double s = inv[i];
    if (!isfinite(s)) {
      /* NaN or Inf somewhere (or a square that overflows double: no
       * float32 can) */
      free(inv);
      return lsp_fail(LSP_EDATA, "row %zu of the features holds a NaN or Inf",
                      i);
    }
    size_t y = (size_t)labels[i];
    if (out->dead) out->dead[i] = s == 0.0;
    if (s == 0.0)
      out->zero[y]++;
    else
      out->count[y]++;
    inv[i] = s > 0.0 ? 1.0 / sqrt(s) : 0.0; /* 0: the row is left out */
  }
  memset(out->usum, 0, k * h * sizeof *out->usum);
  memset(out->hsum, 0, k * h * sizeof *out->hsum);
  /* columns a thread: whole cache lines (8 doubles), so that no two threads
   * write the same line of a class's sums */
  size_t per = (h + (size_t)nt - 1) / (size_t)nt;
  per = (per + 7) / 8 * 8;
  int parts = (int)((h + per - 1) / per);
#pragma omp parallel for num_threads(parts) schedule(static, 1)
  for (int p = 0; p < parts; p++) {
    size_t t0 = (size_t)p * per, len = h - t0 < per ? h - t0 : per;
    for (size_t i = 0; i < n; i++) {
      if (inv[i] == 0.0) continue;
      size_t y = (size_t)labels[i];
      cols_accumulate(feat + i * h + t0, len, inv[i], out->usum + y * h + t0,
                      out->hsum + y * h + t0);
    }
  }
  free(inv);
  return LSP_OK;
}

/* Turn sums into means in place (usum -> μ^u_k, hsum -> μ_k) and list the
 * non-empty classes in `used` (returns how many). */
static size_t class_means(class_sums *s, size_t h, size_t k, size_t *used) {
  size_t ku = 0;
  for (size_t y = 0; y < k; y++) {
    if (s->count[y] == 0) continue;
    double inv = 1.0 / (double)s->count[y];
    for (size_t t = 0; t < h; t++) {
      s->usum[y * h + t] *= inv;
      s->hsum[y * h + t] *= inv;
    }
    used[ku++] = y;
  }
  return ku;
}

/* Centred class means M (h×ku, column j = μ_{used[j]} − μ_G), tr Σ_B, and
 * the scale Σ‖μ_k‖²/ku against which tr Σ_B = 0 is judged. */
static void centred_means(const double *mu, size_t h, const size_t *used,
                          size_t ku, double *M, double *trb, double *scale) {
  double sc = 0.0, tr = 0.0;
  for (size_t t = 0; t < h; t++) {
    double g = 0.0;
    for (size_t j = 0; j < ku; j++) g += mu[used[j] * h + t];
    g /= (double)ku;
    for (size_t j = 0; j < ku; j++) {
      double v = mu[used[j] * h + t];
      M[t * ku + j] = v - g;
      tr += (v - g) * (v - g);
      sc += v * v;
    }
  }
  *trb = tr / (double)ku;
  *scale = sc / (double)ku;
}

static int degenerate_between(double trb, double scale, size_t h) {
  return !(trb > scale * (double)h * DBL_EPSILON);
}

/* The leading eigenpairs of Σ_B = (1/ku) M Mᵀ, from whichever of the two
 * symmetric matrices is smaller: Σ_B itself (h×h) when h < ku, else the
 * ku×ku Gram matrix G = (1/ku) MᵀM, where G a = λ a gives Σ_B (M a) =
 * λ (M a) with ‖M a‖² = ku λ. (Many classes in a narrow layer would
 * otherwise cost a ku×ku eigensolve: 2000 classes, 12 s.) Writes V (r×h,
 * row j = v_j/sqrt(λ_j), v_j the unit eigenvector of Σ_B) and returns r,
 * the number of components kept: at most ku − 1, and only those above the
 * rank threshold λ_max·max(h, ku)·DBL_EPSILON (the rule of LAPACK/NumPy
 * matrix_rank). */
static int between_eigen(const double *M, size_t h, size_t ku, double *V,
                         size_t *rank) {
  const int direct = h < ku;
  const size_t m = direct ? h : ku;
  gsl_matrix *G = gsl_matrix_alloc(m, m), *A = gsl_matrix_alloc(m, m);
  gsl_vector *lam = gsl_vector_alloc(m);
  gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc(m);
  int st = LSP_OK;
  if (!G || !A || !lam || !w) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for the eigensolver");
    goto done;
  }
  gsl_matrix_const_view Mv = gsl_matrix_const_view_array(M, h, ku);
  gsl_blas_dgemm(direct ? CblasNoTrans : CblasTrans, direct ? CblasTrans : CblasNoTrans,
                 1.0 / (double)ku, &Mv.matrix, &Mv.matrix, 0.0, G);
  gsl_eigen_symmv(G, lam, A, w);
  gsl_eigen_symmv_sort(lam, A, GSL_EIGEN_SORT_VAL_DESC);
  double lmax = gsl_vector_get(lam, 0);
  double cut = lmax * (double)(h > ku ? h : ku) * DBL_EPSILON;
  size_t r = 0;
  while (r < m && r + 1 < ku && gsl_vector_get(lam, r) > cut) r++;
  for (size_t j = 0; j < r; j++) {
    double l = gsl_vector_get(lam, j);
    if (direct) {
      double sc = 1.0 / sqrt(l);
      for (size_t t = 0; t < h; t++) V[j * h + t] = gsl_matrix_get(A, t, j) * sc;
      continue;
    }
    double sc = 1.0 / (sqrt((double)ku * l) * sqrt(l));
    for (size_t t = 0; t < h; t++) {
      double v = 0.0;
      for (size_t q = 0; q < ku; q++)
        v += M[t * ku + q] * gsl_matrix_get(A, q, j);
      V[j * h + t] = v * sc;
    }
  }
  *rank = r;
done:
  gsl_eigen_symmv_free(w);
  gsl_vector_free(lam);
  gsl_matrix_free(A);
  gsl_matrix_free(G);
  return st;
}

/* Σ a_t b_t in double with eight partial sums (fixed order). */
static inline double dot_d(const double *a, const double *b, size_t h) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t t = 0;
  for (; t + 8 <= h; t += 8)
    for (int q = 0; q < 8; q++) acc[q] += a[t + q] * b[t + q];
  for (; t < h; t++) acc[t & 7] += a[t] * b[t];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
         ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* One row of pass 2: c = x − m (into c, h doubles); adds ‖c‖² to *ss and
 * Σ_j (c·V_j)² to *pj. */
LSP_CLONES
static void row_within(const float *x, const double *m, const double *V,
                       size_t r, size_t h, double *c, double *ss, double *pj) {
  for (size_t t = 0; t < h; t++) c[t] = (double)x[t] - m[t];
  *ss += dot_d(c, c, h);
  double s = 0.0;
  for (size_t j = 0; j < r; j++) {
    double p = dot_d(c, V + j * h, h);
    s += p * p;
  }
  *pj += s;
}

/* Pass 2: Σ_i ‖h_i − μ_{y_i}‖² and Σ_i ‖Vᵀ(h_i − μ_{y_i})‖² over used rows
 * (V is r×h here, row j = v_j/sqrt(λ_j)). One OpenMP loop over rows, each
 * thread centring a row into its own buffer `cbuf` (nt×h) and writing the
 * row's two terms into rowv (2n); no BLAS call inside, so OpenMP and
 * OpenBLAS thread pools never alternate. The terms are then added in row
 * order (the same bits for every thread count). The r·h multiply-adds per
 * row are the cost: O(N·H·K). */
static void pass_within(const float *feat, const int32_t *labels, size_t n,
                        size_t h, const double *mu, const double *V, size_t r,
                        const unsigned char *dead, double *cbuf, int nt,
                        double *rowv, double *ss_out, double *proj_out) {
#pragma omp parallel num_threads(nt)
  {
    double *c = cbuf + (size_t)omp_get_thread_num() * h;
#pragma omp for schedule(static)
    for (size_t i = 0; i < n; i++) {
      double ss = 0.0, pj = 0.0;
      if (!dead[i])
        row_within(feat + i * h, mu + (size_t)labels[i] * h, V, r, h, c, &ss,
                   &pj);
      rowv[2 * i] = ss;
      rowv[2 * i + 1] = pj;
    }
  }
  double ss = 0.0, pj = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (dead[i]) continue;
    ss += rowv[2 * i];
    pj += rowv[2 * i + 1];
  }
  *ss_out = ss;
  *proj_out = pj;
}

int lsp_clusters_compute(const float *feat, const int32_t *labels, size_t n,
                         size_t h, lsp_clusters *out) {
  if (!out) return lsp_fail(LSP_EINVAL, "no result given");
  size_t k = out->k;
  int st = check_args(feat, labels, n, h, k);
  if (st) return st;
  class_sums s = {out->count, out->zero_count, NULL, NULL, NULL};
  /* class sums (2kh), M (hk), V (hk), per-thread row buffers, the rows'
   * terms of pass 2 (2n) */
  int nt = lsp_threads_get();
  if (nt < 1) nt = 1;
  double *mem =
      malloc((2 * k * h + 2 * h * k + (size_t)nt * h + 2 * n) * sizeof *mem);
  size_t *used = malloc(k * sizeof *used);
  s.dead = malloc(n);
  if (!mem || !used || !s.dead) {
    st = lsp_fail(LSP_ENOMEM, "out of memory (%zu classes x %zu)", k, h);
    goto done;
  }
  s.usum = mem;
  s.hsum = mem + k * h;
  double *M = mem + 2 * k * h, *V = M + h * k, *cbuf = V + h * k;
  double *rowv = cbuf + (size_t)nt * h;
  if ((st = pass_sums(feat, labels, n, h, k, &s))) goto done;
  out->n = n;
  out->h = h;
  size_t ku = class_means(&s, h, k, used);
  out->k_used = ku;
  out->n_used = out->n_zero_rows = 0;
  for (size_t y = 0; y < k; y++) {
    out->n_used += out->count[y];
    out->n_zero_rows += out->zero_count[y];
  }
  if (ku < 2) {
    st = lsp_fail(LSP_EDATA,
                  "need at least 2 classes with a non-zero feature "
                  "row, found %zu (%zu all-zero rows excluded)",
                  ku, out->n_zero_rows);
    goto done;
  }
  /* R² from the mean directions. */
  double wsum = 0.0, tight = 0.0;
  memset(out->tightness, 0, k * sizeof *out->tightness);
  for (size_t j = 0; j < ku; j++) {
    const double *u = s.usum + used[j] * h;
    double q = 0.0;
    for (size_t t = 0; t < h; t++) q += u[t] * u[t];
    wsum += q;
    /* |mean of unit vectors| ≤ 1: a class of one example (or of parallel
     * rows) has tightness 0, not the -2e-16 of sqrt's rounding */
    out->tightness[used[j]] = q < 1.0 ? 1.0 - sqrt(q) : 0.0;
    tight += out->tightness[used[j]];
  }
  double tot = 0.0;
  for (size_t t = 0; t < h; t++) {
    double g = 0.0;
    for (size_t j = 0; j < ku; j++) g += s.usum[used[j] * h + t];
    g /= (double)ku;
    tot += g * g;
  }
  out->d_within = 1.0 - wsum / (double)ku;
  out->d_total = 1.0 - tot;
  out->tightness_mean = tight / (double)ku;
  /* All directions equal: d_total is then rounding noise of unit vectors. */
  if (!(out->d_total > 4.0 * (double)h * DBL_EPSILON)) {
    st = lsp_fail(LSP_EDATA,
                  "every feature row points in the same direction; "
                  "class separation is undefined");
    goto done;
  }
  out->r2_separation = 1.0 - out->d_within / out->d_total;
  /* Scatter. */
  double scale;
  centred_means(s.hsum, h, used, ku, M, &out->trace_between, &scale);
  if (degenerate_between(out->trace_between, scale, h)) {
    st = lsp_fail(LSP_EDATA,
                  "all class means coincide; between-class "
                  "scatter is zero");
    goto done;
  }
  if ((st = between_eigen(M, h, ku, V, &out->nc1_rank))) goto done;
  double ss, pj;
  pass_within(feat, labels, n, h, s.hsum, V, out->nc1_rank, s.dead, cbuf, nt,
              rowv, &ss, &pj);
  out->trace_within = ss / (double)out->n_used;
  out->trace_ratio = out->trace_within / out->trace_between;
  out->nc1 = pj / (double)out->n_used / (double)ku;
  st = lsp_clusters_pairs(out, s.hsum, s.usum, used, ku, nt);
done:
  free(mem);
  free(used);
  free(s.dead);
  return st;
}

/* sw (h×h, upper triangle) += blkᵀ blk for a block of b centred rows. */
static void syrk_block(const double *blk, size_t b, size_t h, double *sw) {
  gsl_matrix_const_view B = gsl_matrix_const_view_array(blk, b, h);
  gsl_matrix_view S = gsl_matrix_view_array(sw, h, h);
  gsl_blas_dsyrk(CblasUpper, CblasTrans, 1.0, &B.matrix, 1.0, &S.matrix);
}

int lsp_clusters_scatter(const float *feat, const int32_t *labels, size_t n,
                         size_t h, size_t k, double *sw, double *sb) {
  int st = check_args(feat, labels, n, h, k);
  if (st) return st;
  enum { BLOCK = 256 };
  size_t *cnt = calloc(2 * k, sizeof *cnt), *used = malloc(k * sizeof *used);
  double *mem = malloc((2 * k * h + h * k + (size_t)BLOCK * h) * sizeof *mem);
  if (!cnt || !used || !mem) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for the scatter");
    goto done;
  }
  class_sums s = {cnt, cnt + k, mem, mem + k * h, NULL};
  double *M = mem + 2 * k * h, *blk = M + h * k;
  if ((st = pass_sums(feat, labels, n, h, k, &s))) goto done;
  size_t ku = class_means(&s, h, k, used), nu = 0;
  for (size_t y = 0; y < k; y++) nu += cnt[y];
  if (ku < 2) {
    st = lsp_fail(LSP_EDATA,
                  "need at least 2 classes with a "
                  "non-zero feature row, found %zu",
                  ku);
    goto done;
  }
  if (sb) {
    double trb, scale;
    centred_means(s.hsum, h, used, ku, M, &trb, &scale);
    gsl_matrix_const_view Mv = gsl_matrix_const_view_array(M, h, ku);
    gsl_matrix_view Sb = gsl_matrix_view_array(sb, h, h);
    gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0 / (double)ku, &Mv.matrix,
                   &Mv.matrix, 0.0, &Sb.matrix);
  }
  if (sw) {
    memset(sw, 0, h * h * sizeof *sw);
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
      const float *x = feat + i * h;
      if (sumsq_f32(x, h) == 0.0) continue;
      const double *m = s.hsum + (size_t)labels[i] * h;
      for (size_t t = 0; t < h; t++) blk[b * h + t] = (double)x[t] - m[t];
      if (++b == BLOCK) {
        syrk_block(blk, b, h, sw);
        b = 0;
      }
    }
    if (b > 0) syrk_block(blk, b, h, sw);
    double inv = 1.0 / (double)nu;
    for (size_t a = 0; a < h; a++)
      for (size_t c = a; c < h; c++) sw[c * h + a] = sw[a * h + c] *= inv;
  }
done:
  free(cnt);
  free(used);
  free(mem);
  return st;
}
