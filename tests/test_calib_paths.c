/* test_calib_paths — the calibration kernels' paths against each other:
 * the vector fast path for probabilities against the exact one, and the
 * logits' eight-rows-a-vector path (AVX-512) against the class-per-lane one
 * (AVX2), sum for sum. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_calib_row.h"
#include "core/base/lsp_cpu.h"
#include "core/base/lsp_error.h"
#include "calib_synth.h"
#include "testutil.h"

/* The vectorized top-label path (8 <= K <= 16, blocks of 8 rows) and the
 * scalar one (lsp_cpu_isa_cap x86-64) give the same top-label sums as the
 * exact per-row validator path (full mode), for every K of the vector path
 * and some outside it, both edge conventions, 15 and 10 bins, row counts
 * that leave a scalar tail, and confidences on and one float step either
 * side of every bin edge m/M (the vector path bins in float, the exact path
 * in double); rows whose sums lie just inside and just outside the 1e-3
 * tolerance are accepted and refused exactly as that path does; a bad row
 * inside a block is reported by its own index. */
static void test_fast_path(void **state) {
  (void)state;
  const size_t ks[] = {8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 5}, nk = sizeof ks / sizeof *ks;
  for (size_t t = 0; t < 8 * nk; t++) {
    assert_int_equal(lsp_cpu_isa_cap(t % 2 ? "x86-64" : NULL), 0);
    const size_t n = 1003, k = ks[t / 8];
    const int nb = (t / 2) % 2 ? 10 : 15;
    const lsp_calib_edges edges = (t / 4) % 2 ? LSP_CALIB_EDGES_LEFT : LSP_CALIB_EDGES_RIGHT;
    float *p = malloc(n * k * sizeof *p);
    int32_t *y = malloc(n * sizeof *y);
    random_probs(n, k, 100 + t, p, y);
    /* rows 50 + 3m + d: the confidence on the edge m/M (d = 1) and one
     * float step below and above it, where it can be the max */
    for (int m = 1; m < nb; m++)
      for (int d = 0; d < 3; d++) {
        float c = (float)m / (float)nb;
        c = d == 0 ? nextafterf(c, 0.0f) : d == 2 ? nextafterf(c, 1.0f) : c;
        float rest = (1.0f - c) / (float)(k - 1);
        if (rest > c) continue;
        float *r = p + (50 + 3 * (size_t)m + (size_t)d) * k;
        for (size_t j = 0; j < k; j++) r[j] = rest;
        r[(size_t)(m + d) % k] = c;
      }
    /* rows 40-47: sums 1 ± 0.99e-3 (inside) are scaled in float, so the
     * double sums land within a few 1e-8 of that; 1 ± 1.01e-3 would be
     * refused, checked below */
    for (size_t r = 40; r < 48; r++) {
      float f = r % 2 ? 1.00099f : 0.99901f;
      for (size_t j = 0; j < k; j++) p[r * k + j] *= f;
    }
    for (size_t i = 0; i < n; i += 7) y[i] = 0; /* and some exact ties */
    for (size_t j = 0; j < k; j++) p[5 * k + j] = 1.0f / (float)k;
    /* rows 9-11: all equal with y = 3 (wrong); max tied at 2 and k-1 with
     * y = k-1 (wrong: the top label is 2); max only at k-1 (right) */
    for (size_t j = 0; j < k; j++) {
      p[9 * k + j] = 1.0f / (float)k;
      p[10 * k + j] = 0.5f / (float)(k - 2);
      p[11 * k + j] = 0.5f / (float)(k - 1);
    }
    p[10 * k + 2] = p[10 * k + k - 1] = 0.25f;
    p[11 * k + k - 1] = 0.5f;
    y[9] = 3, y[10] = y[11] = (int32_t)(k - 1);
    for (size_t j = 0; j < k; j++) p[13 * k + j] = p[14 * k + j] = 0.0f; /* confidence 1 */
    p[13 * k + 4] = p[14 * k + k - 1] = 1.0f;
    p[14 * k + 1] = -0.0f; /* valid (>= 0); the vector path leaves its block to the exact one */
    y[13] = 4, y[14] = 0;
    lsp_calib_acc *fast = lsp_calib_acc_alloc(nb, k, edges, LSP_CALIB_TOP);
    lsp_calib_acc *full = lsp_calib_acc_alloc(nb, k, edges, LSP_CALIB_FULL);
    assert_int_equal(lsp_calib_acc_add_probs(fast, p, y, n, 0, 1), 0);
    assert_int_equal(lsp_calib_acc_add_probs(full, p, y, n, 0, 1), 0);
    assert_true(fast->n == full->n && fast->n_correct == full->n_correct);
    { /* the hand-made rows alone: 9 and 10 wrong, 11 right */
      lsp_calib_acc *h = lsp_calib_acc_alloc(nb, k, edges, LSP_CALIB_TOP);
      assert_int_equal(lsp_calib_acc_add_probs(h, p + 8 * k, y + 8, 8, 8, 1), 0);
      lsp_calib_acc *h2 = lsp_calib_acc_alloc(nb, k, edges, LSP_CALIB_TOP);
      assert_int_equal(lsp_calib_acc_add_probs(h2, p + 8 * k, y + 8, 1, 8, 1), 0);
      assert_int_equal(lsp_calib_acc_add_probs(h2, p + 12 * k, y + 12, 4, 12, 1), 0);
      assert_int_equal(h->n_correct - h2->n_correct, 1); /* rows 9-11 add one correct */
      lsp_calib_acc_free(h);
      lsp_calib_acc_free(h2);
    }
    assert_memory_equal(fast->count, full->count, (size_t)nb * sizeof *fast->count);
    assert_memory_equal(fast->correct, full->correct, (size_t)nb * sizeof *fast->correct);
    assert_memory_equal(fast->conf, full->conf, (size_t)nb * sizeof *fast->conf);
    lsp_calib_acc *two = lsp_calib_acc_alloc(nb, k, edges, LSP_CALIB_TOP);
    assert_int_equal(lsp_calib_acc_add_probs(two, p, y, n, 0, 2), 0); /* 2 threads */
    assert_memory_equal(two->conf, fast->conf, (size_t)nb * sizeof *fast->conf);
    assert_memory_equal(two->count, fast->count, (size_t)nb * sizeof *fast->count);
    assert_true(two->n_correct == fast->n_correct);
    lsp_calib_acc_free(two);
    const size_t badrow[] = {37, 1000};
    for (int b = 0; b < 2; b++) {
      float keep = p[badrow[b] * k + 3];
      p[badrow[b] * k + 3] = b ? -0.01f : NAN;
      assert_int_equal(lsp_calib_acc_add_probs(fast, p, y, n, 0, 1), LSP_EDATA);
      char want[32];
      snprintf(want, sizeof want, "row %zu:", badrow[b]);
      if (!strstr(lsp_errmsg(), want)) fail_msg("K=%zu: '%s' lacks '%s'", k, lsp_errmsg(), want);
      p[badrow[b] * k + 3] = keep;
    }
    for (size_t j = 0; j < k; j++) p[700 * k + j] *= 1.00101f; /* just outside */
    assert_int_equal(lsp_calib_acc_add_probs(fast, p, y, n, 0, 1), LSP_EDATA);
    assert_non_null(strstr(lsp_errmsg(), "row 700: probabilities sum to"));
    for (size_t j = 0; j < k; j++) p[700 * k + j] /= 1.00101f;
    { /* an entry just above 1 in a row summing to 1 within the tolerance */
      float keep[64];
      memcpy(keep, p + 600 * k, k * sizeof *p);
      for (size_t j = 0; j < k; j++) p[600 * k + j] = 0.0f;
      p[600 * k + 2] = nextafterf(1.0f, 2.0f);
      assert_int_equal(lsp_calib_acc_add_probs(fast, p, y, n, 0, 1), LSP_EDATA);
      assert_non_null(strstr(lsp_errmsg(), "row 600:"));
      memcpy(p + 600 * k, keep, k * sizeof *p);
    }
    y[500] = (int32_t)k;
    assert_int_equal(lsp_calib_acc_add_probs(fast, p, y, n, 0, 1), LSP_EDATA);
    assert_non_null(strstr(lsp_errmsg(), "row 500: label"));
    assert_int_equal(fast->n, n); /* failed adds changed nothing */
    lsp_calib_acc_free(fast);
    lsp_calib_acc_free(full);
    free(p);
    free(y);
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
}

/* Every sum of a full accumulator over logits (float32 and float64) is the
 * same with AVX-512's group function, which takes eight rows as vector
 * lanes (lsp_calib_group_fn), as with AVX2's, which takes them as two
 * halves of four lanes, and as with the row functions of both levels,
 * which take a class per lane (the group function switched off; every
 * path with fused multiply-adds in the exponential; the SSE2 level has
 * none, so its exponentials may differ in the last bit) — for class
 * counts below, at and above the group function's limit of 64, with rows
 * of ties, a confidence of exactly 1, both edge conventions, a single bin
 * and more bins than the per-class words of the eight-row path take
 * (K·M > 2^16). */
static void test_logits_isa_paths(void **state) {
  (void)state;
  const size_t ks[] = {2, 3, 10, 37, 64, 65}, n = 1003;
  enum { L = 4 };
  const char *isa[L] = {NULL, "x86-64-v3", "x86-64-v3", NULL};
  const int group[L] = {1, 1, 0, 0};
  for (size_t t = 0; t < 12; t++) {
    const size_t k = ks[t % 6];
    const lsp_calib_edges edges =
        t < 6 ? LSP_CALIB_EDGES_RIGHT : LSP_CALIB_EDGES_LEFT;
    const int bins = t == 1 || t == 8 ? 1 : t == 9 ? 2000 : t < 6 ? 15 : 7;
    float *z = malloc(n * k * sizeof *z);
    double *zd = malloc(n * k * sizeof *zd);
    int32_t *y = malloc(n * sizeof *y);
    unsigned s = 7u + (unsigned)t;
    for (size_t i = 0; i < n * k; i++) {
      s = s * 1664525u + 1013904223u;
      z[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 8.0f;
      zd[i] = (double)z[i] * 1.3;
    }
    for (size_t i = 0; i < n; i++) y[i] = (int32_t)((i * 2654435761u) % k);
    for (size_t j = 0; j < k; j++)
      z[3 * k + j] = zd[3 * k + j] = 0.0; /* ties */
    for (size_t j = 0; j < k; j++)
      z[20 * k + j] = zd[20 * k + j] = j ? -900.0 : 0.0; /* c = 1 */
    lsp_calib_acc *a[L];
    for (int l = 0; l < L; l++) {
      assert_int_equal(lsp_cpu_isa_cap(isa[l]), 0);
      lsp_calib_group_enable(group[l]);
      a[l] = lsp_calib_acc_alloc(bins, k, edges, LSP_CALIB_FULL);
      assert_int_equal(lsp_calib_acc_add_logits(a[l], z, y, n, 0, 1.0, 1), 0);
      assert_int_equal(
          lsp_calib_acc_add_logits_f64(a[l], zd, y, n, n, 0.7, l == 1 ? 2 : 1),
          0);
    }
    lsp_calib_group_enable(1);
    for (int l = 1; l < L; l++) {
      const size_t m = (size_t)bins, km = k * m;
      assert_true(a[l]->n == a[0]->n && a[l]->n_correct == a[0]->n_correct);
      assert_true(a[l]->overflow == a[0]->overflow);
      assert_memory_equal(a[l]->count, a[0]->count, m * sizeof *a[0]->count);
      assert_memory_equal(a[l]->correct, a[0]->correct,
                          m * sizeof *a[0]->correct);
      assert_memory_equal(a[l]->conf, a[0]->conf, m * sizeof *a[0]->conf);
      assert_memory_equal(&a[l]->nll, &a[0]->nll, sizeof a[0]->nll);
      assert_memory_equal(&a[l]->brier, &a[0]->brier, sizeof a[0]->brier);
      assert_memory_equal(a[l]->cw_count, a[0]->cw_count,
                          km * sizeof *a[0]->cw_count);
      assert_memory_equal(a[l]->cw_pos, a[0]->cw_pos,
                          km * sizeof *a[0]->cw_pos);
      assert_memory_equal(a[l]->cw_sum, a[0]->cw_sum,
                          km * sizeof *a[0]->cw_sum);
      assert_memory_equal(a[l]->mesh_w, a[0]->mesh_w,
                          LSP_SMECE_NODES * sizeof *a[0]->mesh_w);
      assert_memory_equal(a[l]->mesh_c, a[0]->mesh_c,
                          LSP_SMECE_NODES * sizeof *a[0]->mesh_c);
      assert_memory_equal(a[l]->mesh_y, a[0]->mesh_y,
                          LSP_SMECE_NODES * sizeof *a[0]->mesh_y);
    }
    for (int l = 0; l < L; l++) lsp_calib_acc_free(a[l]);
    free(z);
    free(zd);
    free(y);
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
}

/* NLL terms beyond the fixed point's range (2^40): logits of 1e20 times
 * noise (float32) and of 1e200 (float64, at T = 1 and T = 0.5). The NLL is
 * finite, matches Σ ((max − z_y)·inv_t + log Σ e^{(z − max)·inv_t}) / n in
 * long double, and its sums are the same bits at every instruction-set
 * level, in one call or in chunks, with 1 or 2 threads. */
static void test_huge_nll(void **state) {
  (void)state;
  const size_t ks[] = {3, 10, 65}, n = 1003;
  const char *isa[] = {NULL, "x86-64-v3", "x86-64"};
  for (size_t t = 0; t < 6; t++) {
    const size_t k = ks[t % 3];
    const int f64 = t >= 3;
    const double inv_t = f64 ? 2.0 : 1.0;
    float *z = malloc(n * k * sizeof *z);
    double *zd = malloc(n * k * sizeof *zd);
    int32_t *y = malloc(n * sizeof *y);
    unsigned s = 99u + (unsigned)t;
    for (size_t i = 0; i < n * k; i++) {
      s = s * 1664525u + 1013904223u;
      const double u = (double)(s >> 8) / 16777216.0 - 0.5;
      z[i] = (float)(u * 2e20);
      zd[i] = u * 2e200;
    }
    for (size_t i = 0; i < n; i++) y[i] = (int32_t)((i * 2654435761u) % k);
    long double ref = 0.0L;
    for (size_t i = 0; i < n; i++) {
      long double m = -INFINITY, e = 0.0L;
      for (size_t j = 0; j < k; j++) {
        long double v = f64 ? (long double)zd[i * k + j] : (long double)z[i * k + j];
        m = v > m ? v : m;
      }
      for (size_t j = 0; j < k; j++) {
        long double v = f64 ? (long double)zd[i * k + j] : (long double)z[i * k + j];
        e += expl((v - m) * inv_t);
      }
      long double vy = f64 ? (long double)zd[i * k + (size_t)y[i]] : (long double)z[i * k + (size_t)y[i]];
      ref += (m - vy) * inv_t + logl(e);
    }
    ref /= (long double)n;
    lsp_calib_acc *a[6];
    for (int l = 0; l < 6; l++) {
      assert_int_equal(lsp_cpu_isa_cap(isa[l % 3]), 0);
      a[l] = lsp_calib_acc_alloc(15, k, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_FULL);
      const int threads = l < 3 ? 1 : 2;
      const size_t cut = l < 3 ? n : 517; /* two calls: another split of the rows */
      if (f64) {
        assert_int_equal(lsp_calib_acc_add_logits_f64(a[l], zd, y, cut, 0, inv_t, threads), 0);
        if (cut < n)
          assert_int_equal(lsp_calib_acc_add_logits_f64(a[l], zd + cut * k, y + cut, n - cut,
                                                        cut, inv_t, threads), 0);
      } else {
        assert_int_equal(lsp_calib_acc_add_logits(a[l], z, y, cut, 0, inv_t, threads), 0);
        if (cut < n)
          assert_int_equal(lsp_calib_acc_add_logits(a[l], z + cut * k, y + cut, n - cut, cut,
                                                    inv_t, threads), 0);
      }
      assert_int_equal(a[l]->overflow, 0);
      lsp_calib_result res;
      assert_int_equal(lsp_calib_acc_finalize(a[l], &res), 0);
      const double nll = res.value[LSP_CALIB_NLL];
      assert_true(isfinite(nll));
      td_close(nll, (double)ref, 1e-12, 0, "NLL of huge logits", t);
      lsp_calib_result_release(&res);
      if (l) {
        assert_memory_equal(a[l]->nll_big, a[0]->nll_big, sizeof a[0]->nll_big);
        /* the rows whose true class is the max have NLL log Σe, whose
         * last bit SSE2's exponentials may change (test_logits_isa_paths) */
        if (l % 3 != 2) assert_memory_equal(&a[l]->nll, &a[0]->nll, sizeof a[0]->nll);
      }
    }
    for (int l = 0; l < 6; l++) lsp_calib_acc_free(a[l]);
    free(z);
    free(zd);
    free(y);
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
}

/* A non-finite logit in any of the 16 rows of two groups of eight (float32
 * and float64, NaN and −inf), at every level, with the group function on
 * and off: the add fails naming that row and adds nothing. */
static void test_logits_bad_row(void **state) {
  (void)state;
  const size_t k = 10, n = 19;
  const char *isa[] = {NULL, "x86-64-v3", "x86-64"};
  float z[19 * 10];
  double zd[19 * 10];
  int32_t y[19];
  unsigned s = 11u;
  for (size_t i = 0; i < n * k; i++) {
    s = s * 1664525u + 1013904223u;
    z[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 6.0f;
    zd[i] = (double)z[i];
  }
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)(i % k);
  for (int l = 0; l < 6; l++) {
    assert_int_equal(lsp_cpu_isa_cap(isa[l % 3]), 0);
    lsp_calib_group_enable(l < 3);
    for (size_t r = 0; r < 16; r++)
      for (int f64 = 0; f64 < 2; f64++) {
        const size_t at = r * k + (r * 7) % k;
        const float keep = z[at];
        z[at] = zd[at] = r % 2 ? -INFINITY : NAN;
        lsp_calib_acc *a = lsp_calib_acc_alloc(15, k, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_FULL);
        const int rc = f64 ? lsp_calib_acc_add_logits_f64(a, zd, y, n, 40, 1.0, 1)
                           : lsp_calib_acc_add_logits(a, z, y, n, 40, 1.0, 1);
        assert_int_equal(rc, LSP_EDATA);
        char want[64];
        snprintf(want, sizeof want, "row %zu: non-finite logit", 40 + r);
        if (!strstr(lsp_errmsg(), want))
          fail_msg("level %d, row %zu: '%s' lacks '%s'", l, r, lsp_errmsg(), want);
        assert_int_equal(a->n, 0); /* nothing added */
        lsp_calib_acc_free(a);
        z[at] = keep, zd[at] = keep;
      }
  }
  lsp_calib_group_enable(1);
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
}

/* The bin of c against the edges fl(m/M) themselves (the doubles nearest
 * to m/M): the number of edges below c, or at or below it for left-closed
 * bins. */
static int edge_bin(double c, int bins, lsp_calib_edges edges) {
  int b = 0;
  for (int m = 1; m < bins; m++) {
    const double e = (double)m / (double)bins;
    if (edges == LSP_CALIB_EDGES_RIGHT ? c > e : c >= e) b = m;
  }
  return b;
}

/* Float64 probabilities that are exact hundredths (a forest of 100 trees
 * gives such), for 100, 50, 25 and 15 bins and both edge conventions, at
 * every level: each top-label and classwise bin holds the rows that
 * comparing with the edges puts there. 0.56 is the double nearest to the
 * edge 56/100 and lies on it, though 0.56·100 rounds to 56.000000000000007;
 * so do 0.07, 0.14, 0.28, 0.29 and 0.55–0.58, where that product misleads. */
static void test_probs_on_edges(void **state) {
  (void)state;
  const int nbs[] = {100, 50, 25, 15};
  const size_t ks[] = {2, 10};
  const char *isa[] = {NULL, "x86-64-v3", "x86-64"};
  enum { N = 101 };
  for (size_t t = 0; t < 2 * 4 * 2; t++) {
    const size_t k = ks[t % 2];
    const int nb = nbs[(t / 2) % 4];
    const lsp_calib_edges edges = t / 8 ? LSP_CALIB_EDGES_LEFT : LSP_CALIB_EDGES_RIGHT;
    double p[N * 10] = {0};
    int32_t y[N];
    /* row i: i/100 and (100 − i)/100 in classes 0 and 1, zeros beyond */
    for (int i = 0; i < N; i++) {
      p[(size_t)i * k] = (double)i / 100.0;
      p[(size_t)i * k + 1] = (double)(100 - i) / 100.0;
      y[i] = i % 3 == 0;
    }
    uint64_t top[100] = {0}, cw[10 * 100] = {0};
    for (int i = 0; i < N; i++) {
      const double *r = p + (size_t)i * k;
      top[edge_bin(r[1] > r[0] ? r[1] : r[0], nb, edges)]++;
      for (size_t j = 0; j < k; j++) cw[j * (size_t)nb + (size_t)edge_bin(r[j], nb, edges)]++;
    }
    for (int l = 0; l < 3; l++) {
      assert_int_equal(lsp_cpu_isa_cap(isa[l]), 0);
      lsp_calib_acc *a = lsp_calib_acc_alloc(nb, k, edges, LSP_CALIB_FULL);
      assert_int_equal(lsp_calib_acc_add_probs_f64(a, p, y, N, 0, 1), 0);
      for (int b = 0; b < nb; b++)
        if (a->count[b] != top[b])
          fail_msg("level %d, K %zu, %d bins, %s: top-label bin %d holds %llu, not %llu", l,
                   k, nb, lsp_calib_edges_name(edges), b, (unsigned long long)a->count[b],
                   (unsigned long long)top[b]);
      assert_memory_equal(a->cw_count, cw, k * (size_t)nb * sizeof *cw);
      lsp_calib_acc_free(a);
    }
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
}

/* The fixed-point word of class cls's probability in the single row of a,
 * read from its sums: the top label's for cls 0, the classwise ones for
 * cls 1 (a value under 1: the word holds 2^64·p). */
static uint64_t row_word(const lsp_calib_acc *a, int cls) {
  uint64_t w = 0;
  for (int b = 0; b < a->bins; b++)
    w += cls ? a->cw_sum[(size_t)a->bins + (size_t)b].lo : a->conf[b].lo;
  return w;
}

/* z such that the row (0, z) gives class cls (0, the top class, or 1)
 * exactly the probability want: stepping from log of the odds one 2^-56
 * at a time either way and reading the probability back from the sums. */
static double z_giving(double want, int cls) {
  const uint64_t fb = ((uint64_t)(int64_t)(want * 0x1p63)) << 1;
  const double z0 = cls ? log(want / (1.0 - want)) : log((1.0 - want) / want);
  for (int step = 0; step < 400; step++) {
    const double row[2] = {0.0, z0 + (step % 2 ? -1.0 : 1.0) * (double)((step + 1) / 2) * 0x1p-56};
    const int32_t y0 = 0;
    lsp_calib_acc *a = lsp_calib_acc_alloc(100, 2, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_FULL);
    assert_int_equal(lsp_calib_acc_add_logits_f64(a, row, &y0, 1, 0, 1.0, 1), 0);
    const int hit = row_word(a, cls) == fb;
    lsp_calib_acc_free(a);
    if (hit) return row[1];
  }
  fail_msg("no logit near the log odds gives class %d the probability %.17g", cls, want);
  return NAN;
}

/* Float64 logit rows (0, z) whose probabilities the kernels compute as
 * exactly 0.56 for the top class (z_giving) and as exactly 0.28 for the
 * other class of a second row (0.28·100 rounds to 28.000000000000004),
 * alone (K = 2) and padded with logits of −1000 (K = 10, the
 * eight-rows-a-vector path), nine rows of each (a vector and a tail), 100
 * bins: the top label's bin and class 1's classwise bin are the edges'
 * (55 and 27 with right-closed edges, 56 and 28 with left-closed ones) at
 * every level, with the group function on and off. */
static void test_logits_on_edge(void **state) {
  (void)state;
  const double want[2] = {0.56, 0.28}, zw[2] = {z_giving(0.56, 0), z_giving(0.28, 1)};
  const char *isa[] = {NULL, "x86-64-v3", "x86-64"};
  for (int l = 0; l < 6; l++) {
    assert_int_equal(lsp_cpu_isa_cap(isa[l % 3]), 0);
    lsp_calib_group_enable(l < 3);
    for (size_t k = 2; k <= 10; k += 8)
      for (int e = 0; e < 4; e++) {
        const int cls = e / 2;
        double zz[9 * 10];
        int32_t y[9];
        for (size_t r = 0; r < 9; r++) {
          for (size_t j = 0; j < k; j++) zz[r * k + j] = j == 1 ? zw[cls] : j ? -1000.0 : 0.0;
          y[r] = 0;
        }
        const lsp_calib_edges edges = e % 2 ? LSP_CALIB_EDGES_LEFT : LSP_CALIB_EDGES_RIGHT;
        lsp_calib_acc *a = lsp_calib_acc_alloc(100, k, edges, LSP_CALIB_FULL);
        assert_int_equal(lsp_calib_acc_add_logits_f64(a, zz, y, 9, 0, 1.0, 1), 0);
        const int b = edge_bin(want[cls], 100, edges);
        assert_int_equal(b, (cls ? 27 : 55) + e % 2);
        const uint64_t got = cls ? a->cw_count[100 + b] : a->count[b];
        if (got != 9)
          fail_msg("level %d, K %zu, %s: class %d's bin %d holds %llu of 9 rows", l, k,
                   lsp_calib_edges_name(edges), cls, b, (unsigned long long)got);
        lsp_calib_acc_free(a);
      }
  }
  lsp_calib_group_enable(1);
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_logits_bad_row),
      cmocka_unit_test(test_fast_path),
      cmocka_unit_test(test_logits_isa_paths),
      cmocka_unit_test(test_huge_nll),
      cmocka_unit_test(test_probs_on_edges),
      cmocka_unit_test(test_logits_on_edge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
