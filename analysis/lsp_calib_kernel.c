/* lsp_calib_kernel.c — the fast top-label pass over a probability matrix.
 *
 * The hot loop of `bench_calib` and of streaming big .npy files: per row the
 * max, min and sum of K floats (range and row-sum validation fall out of
 * them), the argmax only when the true class attains the max, one bin index
 * and three integer additions. Two things keep it near memory speed:
 *  - K is a compile-time constant for K <= 16 (a switch instantiates the row
 *    body), so the K-loop is fully unrolled into independent max/min/add
 *    chains;
 *  - the per-bin sums live in four interleaved copies (row i uses copy i&3),
 *    so consecutive rows landing in the same bin do not wait on each other's
 *    store. The copies are integers, so adding them up is exact.
 * Compiled for AVX-512, AVX2 and the baseline, picked at load time. */
#include <string.h>

#include "analysis/lsp_calib_impl.h"

#if defined(__x86_64__) && !defined(LSP_NO_CLONES) && defined(__GNUC__)
#define LSP_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LSP_CLONES
#endif

#define LANES 4

typedef struct {
  uint64_t cnt[LANES][LSP_CALIB_KERNEL_MAXBINS];
  uint64_t cor[LANES][LSP_CALIB_KERNEL_MAXBINS];
  lsp_u128 cs[LANES][LSP_CALIB_KERNEL_MAXBINS];
} lanes;

/* The bin update of one valid row with confidence mx (the row max). */
static inline __attribute__((always_inline)) void top_update(
    const float *r, uint32_t yi, float mx, int bins, int right, lanes *L, size_t lane) {
  uint64_t ok = r[yi] == mx;
  if (ok)
    for (uint32_t j = 0; j < yi; j++) ok &= r[j] != mx; /* ties: lowest index wins */
  double c = (double)mx, x = c * (double)bins;
  int b = (int)x;
  b -= right & ((double)b == x);
  b = b < 0 ? 0 : b;
  b = b >= bins ? bins - 1 : b;
  uint64_t ip = c >= 1.0;
  uint64_t fb = ((uint64_t)(int64_t)((c - (double)ip) * 0x1p63)) << 1;
  L->cnt[lane][b]++;
  L->cor[lane][b] += ok;
  L->cs[lane][b] += ((lsp_u128)ip << 64) | fb;
}

/* One row with K known at compile time when the caller passes a constant.
 * Returns 0 if the row is invalid. */
static inline __attribute__((always_inline)) int top_row(
    const float *r, uint32_t yi, size_t K, int bins, int right, lanes *L, size_t lane) {
  if (yi >= K) return 0;
  float mx = r[0], mn = r[0], s0 = r[0], s1 = 0.0f;
  for (size_t j = 1; j < K; j++) {
    float v = r[j];
    mx = v > mx ? v : mx;
    mn = v < mn ? v : mn;
    if (j & 1) s1 += v;
    else s0 += v;
  }
  float s = s0 + s1;
  /* NaN and Inf make the sum NaN/Inf, which fails the sum test */
  if (!(mn >= 0.0f && mx <= 1.0f && s >= 1.0f - 1e-3f && s <= 1.0f + 1e-3f)) return 0;
  top_update(r, yi, mx, bins, right, L, lane);
  return 1;
}

#define CASE(KK)                                                            \
  case KK:                                                                  \
    for (; i < n; i++)                                                      \
      if (!top_row(p + i * (KK), (uint32_t)y[i], (KK), bins, right, L, i & 3)) \
        return i;                                                           \
    break;

static inline __attribute__((always_inline)) size_t run(const float *p, const int32_t *y, size_t n, size_t k, int bins,
                  int right, lanes *L, size_t i) {
  switch (k) {
    CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10)
    CASE(11) CASE(12) CASE(13) CASE(14) CASE(15) CASE(16)
    default:
      for (; i < n; i++)
        if (!top_row(p + i * k, (uint32_t)y[i], k, bins, right, L, i & 3)) return i;
  }
  return n;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LSP_CALIB_AVX2 1

/* Eight rows at a time for 8 <= K <= 16 (AVX2): each row is covered by two
 * overlapping 8-float loads (r[0..7] and r[K-8..K-1]); their lane-wise max
 * and (overlap masked) sum are reduced across lanes for all eight rows at
 * once by an unpack/shuffle/permute tree, which turns eight horizontal
 * reductions into 21 vector operations. The per-row min is not needed:
 * the block minimum is taken over the contiguous 8K floats. Returns the
 * first row of the first block that fails validation, or the number of
 * rows done (a multiple of 8). */
#define TREE(OP, a)                                                                      \
  do {                                                                                   \
    __m256 m01 = OP(_mm256_unpacklo_ps(a[0], a[1]), _mm256_unpackhi_ps(a[0], a[1]));     \
    __m256 m23 = OP(_mm256_unpacklo_ps(a[2], a[3]), _mm256_unpackhi_ps(a[2], a[3]));     \
    __m256 m45 = OP(_mm256_unpacklo_ps(a[4], a[5]), _mm256_unpackhi_ps(a[4], a[5]));     \
    __m256 m67 = OP(_mm256_unpacklo_ps(a[6], a[7]), _mm256_unpackhi_ps(a[6], a[7]));     \
    __m256 q0 = OP(_mm256_shuffle_ps(m01, m23, 0x44), _mm256_shuffle_ps(m01, m23, 0xEE)); \
    __m256 q1 = OP(_mm256_shuffle_ps(m45, m67, 0x44), _mm256_shuffle_ps(m45, m67, 0xEE)); \
    a[0] = OP(_mm256_permute2f128_ps(q0, q1, 0x20), _mm256_permute2f128_ps(q0, q1, 0x31)); \
  } while (0)

__attribute__((target("avx2"))) static size_t run_avx2(const float *p, const int32_t *y,
                                                       size_t n, size_t k, int bins,
                                                       int right, lanes *L) {
  const __m256 tail = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
      _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)(15 - k))));
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 slo = _mm256_set1_ps(1.0f - 1e-3f), shi = _mm256_set1_ps(1.0f + 1e-3f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float *q = p + i * k;
    __m256 mx[8], sm[8], mn = _mm256_loadu_ps(q);
    for (size_t e = 8; e < 8 * k; e += 8) mn = _mm256_min_ps(mn, _mm256_loadu_ps(q + e));
    for (int t = 0; t < 8; t++) {
      __m256 lo = _mm256_loadu_ps(q + t * k), hi = _mm256_loadu_ps(q + t * k + k - 8);
      mx[t] = _mm256_max_ps(lo, hi);
      sm[t] = _mm256_add_ps(lo, _mm256_and_ps(hi, tail));
    }
    TREE(_mm256_max_ps, mx);
    TREE(_mm256_add_ps, sm);
    __m256 good = _mm256_and_ps(_mm256_and_ps(_mm256_cmp_ps(mn, zero, _CMP_GE_OQ),
                                              _mm256_cmp_ps(mx[0], one, _CMP_LE_OQ)),
                                _mm256_and_ps(_mm256_cmp_ps(sm[0], slo, _CMP_GE_OQ),
                                              _mm256_cmp_ps(sm[0], shi, _CMP_LE_OQ)));
    if (_mm256_movemask_ps(good) != 0xff) return i;
    float m8[8];
    _mm256_storeu_ps(m8, mx[0]);
    for (int t = 0; t < 8; t++) {
      uint32_t yi = (uint32_t)y[i + (size_t)t];
      if (yi >= k) return i;
      top_update(q + (size_t)t * k, yi, m8[t], bins, right, L, (size_t)t & 3);
    }
  }
  return i;
}
#endif

LSP_CLONES
size_t lsp_calib_top_probs_kernel(lsp_calib_acc *a, const float *p, const int32_t *y,
                                  size_t n) {
  lanes L;
  memset(&L, 0, sizeof L);
  int right = a->edges == LSP_CALIB_EDGES_RIGHT;
  size_t start = 0;
#ifdef LSP_CALIB_AVX2
  if (a->k >= 8 && a->k <= 16 && __builtin_cpu_supports("avx2")) {
    start = run_avx2(p, y, n, a->k, a->bins, right, &L);
    if (n - start >= 8) return start; /* a bad block: let the validator explain */
  }
#endif
  size_t stop = run(p, y, n, a->k, a->bins, right, &L, start);
  if (stop < n) return stop;
  int ovf = 0;
  for (int l = 0; l < LANES; l++)
    for (int b = 0; b < a->bins; b++) {
      a->count[b] += L.cnt[l][b];
      a->correct[b] += L.cor[l][b];
      a->n_correct += L.cor[l][b];
      lsp_calib_fix_add(&a->conf[b], L.cs[l][b], &ovf);
    }
  a->n += n;
  a->overflow |= ovf;
  return n;
}
