/* lsp_calib_kernel.c — the fast top-label pass over a probability matrix.
 *
 * The hot loop of `bench_calib` and of `lsprobe calib`'s top-label path:
 * per row the max, min and sum of K floats (range and row-sum validation
 * fall out of them), whether the true class is the first index of the max,
 * one bin index and two integer additions. Two paths, picked by
 * lsp_cpu_isa() (lsp_cpu.h):
 *  - AVX2 (also on AVX-512 machines), 8 <= K <= 16: eight rows at a time,
 *    two overlapping loads per row and one shuffle tree for max and sum
 *    (run_avx2);
 *  - elsewhere K is a compile-time constant for K <= 16 (a switch
 *    instantiates the row body), so the K-loop unrolls; larger K loops.
 * (Sixteen rows at a time in AVX-512 registers, by a permute tree or by an
 * in-register transpose, measured 1.2-1.5x slower than the AVX2 path on the
 * Zen 4 test machine, which executes 512-bit shuffles at half the rate of
 * 256-bit ones; DESIGN §2 "the top-label pass".)
 * The per-bin sums live in four interleaved copies (row i uses copy i&3) so
 * consecutive rows landing in the same bin do not wait on each other's
 * store. Everything is an integer, so the copies, the threads and the
 * chunks add up exactly: the result is bit-identical to the per-row
 * validator path (tests/test_calib.c, test_fast_path).
 *
 * Validation is the exact path's, to the row: a row whose float sum lies
 * within 1e-3 − 1e-5 of 1 (float rounding of at most 16 terms is below
 * 1e-6) and whose entries lie in [0, 1] passes at once; any other row
 * (or block holding one) is checked again as the exact path does — entries
 * in [0, 1], the sum in double within 1e-3 — and either added or
 * reported. */
#include <math.h>
#include <string.h>

#include "analysis/lsp_calib_impl.h"

#include "core/base/lsp_clones.h"
#include "core/base/lsp_cpu.h"

#define LANES 4

/* Per lane and bin: rows << 32 | correct rows in one word (one
 * read-modify-write per row instead of two; a call handles < 2^32 rows),
 * and the fixed-point confidence sum. */
typedef struct {
  uint64_t cc[LANES][LSP_CALIB_KERNEL_MAXBINS];
  lsp_u128 cs[LANES][LSP_CALIB_KERNEL_MAXBINS];
  uint64_t c52[LANES][LSP_CALIB_KERNEL_MAXBINS]; /* vector paths: Σ c·2^52 */
} lanes;

/* The vector paths add c·2^52 (an integer <= 2^52, see run_avx2) to a
 * 64-bit word and move it into the 128-bit sum (as c·2^64 = (c·2^52) << 12)
 * every C52_FLUSH rows, before 2^11 rows could overflow it. */
#define C52_FLUSH 2048

static void flush_c52(lanes *L, int bins) {
  for (int l = 0; l < LANES; l++)
    for (int b = 0; b < bins; b++) {
      L->cs[l][b] += (lsp_u128)L->c52[l][b] << 12;
      L->c52[l][b] = 0;
    }
}

#define PACK_MAX ((size_t)1 << 31) /* rows per flush of the packed counts */

/* The float row sum passes at once inside [SUM_LO, SUM_HI]: 1 ± (1e-3 −
 * 1e-5). Outside, the row is checked exactly (row_exact). */
#define SUM_LO (1.0f - 0.00099f)
#define SUM_HI (1.0f + 0.00099f)

/* The bin update of one valid row in bin b, whose confidence has the
 * fixed-point bits (ip, fb); ok = whether the top label is the true one. */
static inline __attribute__((always_inline)) void top_add(uint64_t ok, int b, uint64_t ip,
                                                          uint64_t fb, lanes *L, size_t lane) {
  L->cc[lane][b] += ((uint64_t)1 << 32) | ok;
  L->cs[lane][b] += ((lsp_u128)ip << 64) | fb;
}

/* Bin, fixed point and correctness of a valid row with max mx (the exact
 * path's lsp_calib_bin and lsp_calib_fix_bits, inlined). */
static inline __attribute__((always_inline)) void top_update(
    const float *r, uint32_t yi, float mx, int bins, int right, lanes *L, size_t lane) {
  double x = (double)mx * (double)bins;
  int b = (int)x;
  b -= right & ((double)b == x);
  b = b < 0 ? 0 : b;
  b = b >= bins ? bins - 1 : b;
  double c = (double)mx;
  uint64_t ip = c >= 1.0;
  uint64_t fb = ((uint64_t)(int64_t)((c - (double)ip) * 0x1p63)) << 1;
  uint64_t ok = r[yi] == mx;
  if (ok)
    for (uint32_t j = 0; j < yi; j++) ok &= r[j] != mx; /* ties: lowest index wins */
  top_add(ok, b, ip, fb, L, lane);
}

/* A row checked as the exact path checks it (label, every entry in
 * [0, 1], the sum in double within 1e-3) and added if valid. Returns 0 for
 * an invalid row. */
static int row_exact(const float *r, uint32_t yi, size_t k, int bins, int right, lanes *L,
                     size_t lane) {
  if (yi >= k) return 0;
  float mx = r[0];
  double s = 0.0;
  for (size_t j = 0; j < k; j++) {
    float v = r[j];
    if (!(v >= 0.0f && v <= 1.0f)) return 0;
    s += (double)v;
    mx = v > mx ? v : mx;
  }
  if (fabs(s - 1.0) > 1e-3) return 0;
  top_update(r, yi, mx, bins, right, L, lane);
  return 1;
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
  if (!(mn >= 0.0f && mx <= 1.0f && s >= SUM_LO && s <= SUM_HI))
    return row_exact(r, yi, K, bins, right, L, lane);
  top_update(r, yi, mx, bins, right, L, lane);
  return 1;
}

#define CASE(KK)                                                            \
  case KK:                                                                  \
    for (; i < n; i++)                                                      \
      if (!top_row(p + i * (KK), (uint32_t)y[i], (KK), bins, right, L, i & (LANES - 1))) \
        return i;                                                           \
    break;

/* Rows [i, n) one by one; returns n or the first invalid row. */
LSP_CLONES static size_t run(const float *p, const int32_t *y, size_t n, size_t k, int bins,
                             int right, lanes *L, size_t i) {
  switch (k) {
    CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10)
    CASE(11) CASE(12) CASE(13) CASE(14) CASE(15) CASE(16)
    default:
      for (; i < n; i++)
        if (!top_row(p + i * k, (uint32_t)y[i], k, bins, right, L, i & (LANES - 1))) return i;
  }
  return n;
}

/* Rows [i0, i0 + m) of a block that failed the fast checks, exactly. */
static size_t block_exact(const float *p, const int32_t *y, size_t i0, size_t m, size_t k,
                          int bins, int right, lanes *L) {
  for (size_t t = 0; t < m; t++)
    if (!row_exact(p + (i0 + t) * k, (uint32_t)y[i0 + t], k, bins, right, L, (i0 + t) & (LANES - 1)))
      return i0 + t;
  return i0 + m;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LSP_CALIB_X86 1

/* Eight rows at a time for 8 <= K <= 16 (AVX2): each row is covered by two
 * overlapping 8-float loads (r[0..7] and r[K-8..K-1]); their lane-wise max
 * and (overlap masked) sum are reduced across lanes for all eight rows at
 * once by an unpack/shuffle/permute tree, which turns eight horizontal
 * reductions into 21 vector operations. The per-row min is not needed:
 * the block minimum is taken over the contiguous 8K floats. Returns the
 * number of rows done (a multiple of 8), or the index of an invalid row with
 * *bad set. */
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

/* One block's results, stored by run_avx2's vector stage and added to the
 * lanes by avx2_rows one block later (see there). */
typedef struct {
  uint64_t c8[8];
  int32_t b8[8], y8[8];
  float m8[8];
  const float *q; /* the block's rows; NULL: nothing pending */
  int okm;        /* bit t: row t's label holds the max */
} avx2_block;

/* The scalar stage of a block: the top label of the rows whose label holds
 * the max (ties: the first index of the max), the two bin additions. */
__attribute__((target("avx2,fma"))) static void avx2_rows(const avx2_block *pb, size_t k,
                                                         lanes *L) {
  for (int t = 0; t < 8; t++) {
    uint64_t ok = (uint64_t)((pb->okm >> t) & 1);
    if (ok && pb->y8[t] > 0) {
      const float *r = pb->q + (size_t)t * k;
      __m256 bm = _mm256_set1_ps(pb->m8[t]);
      unsigned eq =
          (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(r), bm, _CMP_EQ_OQ)) |
          (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(r + k - 8), bm, _CMP_EQ_OQ))
              << (k - 8);
      ok = (uint32_t)__builtin_ctz(eq) == (uint32_t)pb->y8[t];
    }
    L->cc[t & 3][pb->b8[t]] += ((uint64_t)1 << 32) | ok;
    L->c52[t & 3][pb->b8[t]] += pb->c8[t];
  }
}

/* run_avx2 prefetches the block this many blocks ahead: without it the
 * block's first loads waited on memory for a third of the pass (perf), the
 * hardware prefetcher alone not running far enough ahead; 4 and 8 measured
 * alike, 16 worse. */
#define PF_BLOCKS 8
__attribute__((target("avx2,fma"))) static size_t run_avx2(const float *p, const int32_t *y,
                                                       size_t n, size_t k, int bins,
                                                       int right, lanes *L, int *bad) {
  const __m256 tail = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
      _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)(15 - k))));
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 slo = _mm256_set1_ps(SUM_LO), shi = _mm256_set1_ps(SUM_HI);
  const __m256i zi = _mm256_setzero_si256(), kmax = _mm256_set1_epi32((int)k - 1);
  const __m256i bmax = _mm256_set1_epi32(bins - 1);
  const __m256i rowoff = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                            _mm256_set1_epi32((int)k));
  const __m256d mv = _mm256_set1_pd((double)bins);
  const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m256d two52 = _mm256_set1_pd(0x1p52);
  size_t i = 0, since_flush = 0;
  /* each block's per-row results wait here for the next block (avx2_rows):
   * scalar loads straight after the vector stores would wait for them
   * (measured 1.2x slower) */
  avx2_block pb[2];
  int cur = 0;
  pb[0].q = pb[1].q = NULL;
  for (; i + 8 <= n; i += 8) {
    const float *q = p + i * k;
    for (size_t o = 0; o < 8 * k; o += 16) /* one line in 16 floats */
      _mm_prefetch((const char *)(q + PF_BLOCKS * 8 * k + o), _MM_HINT_T0);
    __m256 mx[8], sm[8], mn = _mm256_loadu_ps(q);
    for (size_t e = 8; e < 8 * k; e += 8) mn = _mm256_min_ps(mn, _mm256_loadu_ps(q + e));
    for (int t = 0; t < 8; t++) {
      __m256 lo = _mm256_loadu_ps(q + t * k), hi = _mm256_loadu_ps(q + t * k + k - 8);
      mx[t] = _mm256_max_ps(lo, hi);
      sm[t] = _mm256_add_ps(lo, _mm256_and_ps(hi, tail));
    }
    TREE(_mm256_max_ps, mx);
    { /* the sums by horizontal adds: 9 instructions instead of 21 */
      __m256 h0 = _mm256_hadd_ps(_mm256_hadd_ps(sm[0], sm[1]), _mm256_hadd_ps(sm[2], sm[3]));
      __m256 h1 = _mm256_hadd_ps(_mm256_hadd_ps(sm[4], sm[5]), _mm256_hadd_ps(sm[6], sm[7]));
      sm[0] = _mm256_add_ps(_mm256_permute2f128_ps(h0, h1, 0x20),
                            _mm256_permute2f128_ps(h0, h1, 0x31));
    }
    __m256 good = _mm256_and_ps(_mm256_and_ps(_mm256_cmp_ps(mn, zero, _CMP_GE_OQ),
                                              _mm256_cmp_ps(mx[0], one, _CMP_LE_OQ)),
                                _mm256_and_ps(_mm256_cmp_ps(sm[0], slo, _CMP_GE_OQ),
                                              _mm256_cmp_ps(sm[0], shi, _CMP_LE_OQ)));
    /* labels, the true-class probability (a gather) and the bins, 8 at once;
     * the bin index in double as everywhere: x = c*M, b = trunc(x), minus 1
     * on an exact edge for right-closed bins, clamped */
    __m256i yv = _mm256_loadu_si256((const __m256i *)(y + i));
    if (_mm256_movemask_ps(good) != 0xff ||
        _mm256_movemask_ps(_mm256_castsi256_ps(
            _mm256_or_si256(_mm256_cmpgt_epi32(zi, yv), _mm256_cmpgt_epi32(yv, kmax))))) {
      size_t e = block_exact(p, y, i, 8, k, bins, right, L);
      if (e < i + 8) return *bad = 1, e;
      continue;
    }
    __m256 py = _mm256_i32gather_ps(q, _mm256_add_epi32(rowoff, yv), 4);
    int okm = _mm256_movemask_ps(_mm256_cmp_ps(py, mx[0], _CMP_EQ_OQ));
    __m256d xlo = _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(mx[0])), mv);
    __m256d xhi = _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(mx[0], 1)), mv);
    __m128i blo = _mm256_cvttpd_epi32(xlo), bhi = _mm256_cvttpd_epi32(xhi);
    __m256i bv = _mm256_set_m128i(bhi, blo);
    __m256i elo = _mm256_castpd_si256(_mm256_cmp_pd(_mm256_cvtepi32_pd(blo), xlo, _CMP_EQ_OQ));
    __m256i ehi = _mm256_castpd_si256(_mm256_cmp_pd(_mm256_cvtepi32_pd(bhi), xhi, _CMP_EQ_OQ));
    __m256i edge = _mm256_set_m128i(_mm256_castsi256_si128(_mm256_permutevar8x32_epi32(ehi, even)),
                                    _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(elo, even)));
    if (right) bv = _mm256_add_epi32(bv, edge); /* all-ones = -1 on an exact edge */
    bv = _mm256_min_epi32(_mm256_max_epi32(bv, zi), bmax);
    /* fixed-point confidences: c >= (1 - 1e-3)/K > 2^-5 is a float, so
     * c·2^52 is an integer <= 2^52, read off the mantissa of c·2^52 + 2^52
     * (for c = 1 the exponent steps up and the difference is still 2^52).
     * (c·2^52) << 12 equals the scalar path's bits (c·2^64). */
    for (int h = 0; h < 2; h++) {
      __m256d c = _mm256_cvtps_pd(h ? _mm256_extractf128_ps(mx[0], 1) : _mm256_castps256_ps128(mx[0]));
      __m256i ci = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_fmadd_pd(c, two52, two52)),
                                    _mm256_castpd_si256(two52));
      _mm256_storeu_si256((__m256i *)(pb[cur].c8 + 4 * h), ci);
    }
    _mm256_storeu_si256((__m256i *)pb[cur].b8, bv);
    _mm256_storeu_si256((__m256i *)pb[cur].y8, yv);
    _mm256_storeu_ps(pb[cur].m8, mx[0]);
    pb[cur].q = q;
    pb[cur].okm = okm;
    cur ^= 1; /* the previous block */
    if (pb[cur].q) avx2_rows(&pb[cur], k, L);
    pb[cur].q = NULL;
    if ((since_flush += 8) >= C52_FLUSH) flush_c52(L, bins), since_flush = 0;
  }
  cur ^= 1;
  if (pb[cur].q) avx2_rows(&pb[cur], k, L);
  return i;
}
#endif

static size_t kernel_part(lsp_calib_acc *a, const float *p, const int32_t *y, size_t n) {
  lanes L;
  memset(&L, 0, sizeof L);
  int right = a->edges == LSP_CALIB_EDGES_RIGHT;
  size_t start = 0;
#ifdef LSP_CALIB_X86
  int bad = 0;
  if (lsp_cpu_isa() >= 3 && a->k >= 8 && a->k <= 16)
    start = run_avx2(p, y, n, a->k, a->bins, right, &L, &bad);
  if (bad) return start; /* an invalid row: let the validator explain */
  flush_c52(&L, a->bins);
#endif
  size_t stop = run(p, y, n, a->k, a->bins, right, &L, start);
  if (stop < n) return stop;
  int ovf = 0;
  for (int l = 0; l < LANES; l++)
    for (int b = 0; b < a->bins; b++) {
      uint64_t rows = L.cc[l][b] >> 32, ok = L.cc[l][b] & 0xffffffffu;
      a->count[b] += rows;
      a->correct[b] += ok;
      a->n_correct += ok;
      lsp_calib_fix_add(&a->conf[b], L.cs[l][b], &ovf);
    }
  a->n += n;
  a->overflow |= ovf;
  return n;
}

size_t lsp_calib_top_probs_kernel(lsp_calib_acc *a, const float *p, const int32_t *y,
                                  size_t n) {
  for (size_t i = 0; i < n; i += PACK_MAX) {
    size_t m = n - i < PACK_MAX ? n - i : PACK_MAX;
    size_t got = kernel_part(a, p + i * a->k, y + i, m);
    if (got < m) return i + got;
  }
  return n;
}
