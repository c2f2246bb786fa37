/* lsp_calib_kernel.c — the fast top-label pass over a probability matrix.
 *
 * The hot loop of `bench_calib` and of `lsprobe calib`'s top-label path:
 * per row the max and sum of K floats and whether they lie in range (the
 * row validation), whether the true class is the first index of the max,
 * one bin index and the fixed-point confidence, added to the bin's sums.
 * Two paths, picked by lsp_cpu_isa() (lsp_cpu.h):
 *  - AVX2 (also on AVX-512 machines), 8 <= K <= 16: eight rows a block as
 *    the lanes of 256-bit vectors (an in-lane transpose of 128-bit row
 *    pieces), everything lane by lane, one 64-bit addition a row
 *    (run_avx2, lanes_k; K a constant in each instance);
 *  - elsewhere K is a compile-time constant for K <= 16 (a switch
 *    instantiates the row body), so the K-loop unrolls; larger K loops.
 * (Sixteen rows at a time in AVX-512 registers measured slower than the
 * AVX2 path on the Zen 4 test machine, which executes 512-bit shuffles at
 * half the rate of 256-bit ones; DESIGN §2 "the top-label pass".)
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
 * and the fixed-point confidence sum. The vector path keeps one word a
 * lane and bin, Σ (c·2^52 + 2^12 + correct) (see lanes_k), and adds a row
 * with one 64-bit addition. */
typedef struct {
  uint64_t cc[LANES][LSP_CALIB_KERNEL_MAXBINS];
  lsp_u128 cs[LANES][LSP_CALIB_KERNEL_MAXBINS];
  uint64_t pw[LANES][LSP_CALIB_KERNEL_MAXBINS];
} lanes;

/* The vector path's c·2^52 is an integer <= 2^52 and a multiple of 2^24
 * (c >= 2^-5 has 24 significant bits), so a word's low 24 bits hold two
 * 12-bit counts, the rows (from bit 12) and the correct rows (from bit 0).
 * The words are moved into cc and cs (as c·2^64 = (c·2^52) << 12) every
 * C52_FLUSH rows, before 2^11 rows could overflow the 64-bit sum (a lane
 * sees a quarter of them, so the counts stay below 2^12). */
#define C52_FLUSH 2048

static void flush_c52(lanes *L, int bins) {
  for (int l = 0; l < LANES; l++)
    for (int b = 0; b < bins; b++) {
      const uint64_t w = L->pw[l][b];
      L->cc[l][b] += ((w >> 12 & 0xfff) << 32) | (w & 0xfff);
      L->cs[l][b] += (lsp_u128)(w & ~(uint64_t)0xffffff) << 12;
      L->pw[l][b] = 0;
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
 * path's lsp_calib_bin and lsp_calib_fix_bits, inlined: for a float and
 * bins below 2^29, x is exact and an edge fl(n/bins) a float only where it
 * is n/bins, so trunc(x) with the exact-edge step is lsp_calib_bin's rule). */
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
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/* Eight rows at a time for 8 <= K <= 16 (AVX2), each row a vector lane:
 * rows t and t + 4 share a register (low and high 128-bit half), so four
 * classes o..o+3 of the eight rows come from eight 128-bit loads and an
 * in-lane 4x4 transpose (two unpacks, two shuffles per output vector pair),
 * with no lane-crossing shuffle. After that the max, range check, sum,
 * first index of the max, bin and fixed-point confidence are lane-wise
 * operations. */
AVX2_INLINE void quad(const float *q, size_t K, size_t o, __m256 col[4]) {
#define ROWS2(t) \
  _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(q + (t) * K + o)), \
                       _mm_loadu_ps(q + ((t) + 4) * K + o), 1)
  const __m256 a0 = ROWS2(0), a1 = ROWS2(1), a2 = ROWS2(2), a3 = ROWS2(3);
#undef ROWS2
  __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
  __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
  col[0] = _mm256_shuffle_ps(t0, t2, 0x44);
  col[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
  col[2] = _mm256_shuffle_ps(t1, t3, 0x44);
  col[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}

/* c[j] = class j of the block's rows, j < K (the last four classes from an
 * overlapping load when 4 does not divide K; unused outputs are dead code
 * for a constant K). Written without loops (and so are the reductions
 * below): with a constant K every test folds, in GCC and Clang alike. */
AVX2_INLINE void classes(const float *q, size_t K, __m256 c[16]) {
  quad(q, K, 0, c);
  quad(q, K, 4, c + 4);
  if (K >= 12) quad(q, K, 8, c + 8);
  if (K >= 16) quad(q, K, 12, c + 12);
  if (K % 4) {
    __m256 t[4];
    quad(q, K, K - 4, t);
    c[K - 1] = t[3];
    if (K % 4 >= 2) c[K - 2] = t[2];
    if (K % 4 >= 3) c[K - 3] = t[1];
  }
}

/* OP over c[0..K-1] (8 <= K <= 16) in four independent chains. */
#define MAXU(a, b) \
  _mm256_castsi256_ps(_mm256_max_epu32(_mm256_castps_si256(a), _mm256_castps_si256(b)))
#define REDUCER(name, OP)                                                           \
  AVX2_INLINE __m256 name(const __m256 *c, size_t K) {                              \
    __m256 a0 = OP(c[0], c[4]), a1 = OP(c[1], c[5]), a2 = OP(c[2], c[6]),           \
           a3 = OP(c[3], c[7]);                                                     \
    if (K > 8) a0 = OP(a0, c[8]);                                                   \
    if (K > 9) a1 = OP(a1, c[9]);                                                   \
    if (K > 10) a2 = OP(a2, c[10]);                                                 \
    if (K > 11) a3 = OP(a3, c[11]);                                                 \
    if (K > 12) a0 = OP(a0, c[12]);                                                 \
    if (K > 13) a1 = OP(a1, c[13]);                                                 \
    if (K > 14) a2 = OP(a2, c[14]);                                                 \
    if (K > 15) a3 = OP(a3, c[15]);                                                 \
    return OP(OP(a0, a1), OP(a2, a3));                                              \
  }
REDUCER(reduce_maxu, MAXU)
REDUCER(reduce_add, _mm256_add_ps)

/* The first index j < K with c[j] = mx (K if none): blends from the last
 * class down. */
AVX2_INLINE __m256i first_max(const __m256 *c, size_t K, __m256 mx) {
  __m256 idx = _mm256_castsi256_ps(_mm256_set1_epi32((int)K));
#define AT(j)                                                                        \
  if ((j) < K)                                                                       \
    idx = _mm256_blendv_ps(idx, _mm256_castsi256_ps(_mm256_set1_epi32(j)),           \
                           _mm256_cmp_ps(c[j], mx, _CMP_EQ_OQ));
  AT(15) AT(14) AT(13) AT(12) AT(11) AT(10) AT(9) AT(8)
  AT(7) AT(6) AT(5) AT(4) AT(3) AT(2) AT(1) AT(0)
#undef AT
  return _mm256_castps_si256(idx);
}

/* One block's results, stored by the vector stage and added to the lanes
 * one block later (scalar loads straight after the vector stores would
 * wait for them). */
typedef struct {
  _Alignas(32) uint64_t w[8]; /* row t's addition c·2^52 + 2^12 + correct */
  int32_t off[8]; /* row t's word: byte offset in L->pw (lane t & 3, its bin) */
  int full;       /* 0: nothing pending */
} avx2_block;

AVX2_INLINE void avx2_rows(const avx2_block *pb, lanes *L) {
  for (int t = 0; t < 8; t++) *(uint64_t *)(void *)((char *)L->pw + pb->off[t]) += pb->w[t];
}

/* run_avx2 prefetches the block this many blocks ahead: without it the
 * block's first loads waited on memory for a third of the pass (perf), the
 * hardware prefetcher alone not running far enough ahead. */
#define PF_BLOCKS 8

/* Rows in blocks of eight with K a constant (the caller's switch); returns
 * the number of rows done (a multiple of 8), or the index of an invalid row
 * with *bad set. */
AVX2_INLINE size_t lanes_k(const float *p, const int32_t *y, size_t n, const size_t K,
                           int bins, int right, lanes *L, int *bad) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256i onebits = _mm256_set1_epi32(0x3f800000);
  const __m256 slo = _mm256_set1_ps(SUM_LO), shi = _mm256_set1_ps(SUM_HI);
  const __m256 fbins = _mm256_set1_ps((float)bins);
  const __m256i zi = _mm256_setzero_si256(), kmax = _mm256_set1_epi32((int)K - 1);
  const __m256i bmax = _mm256_set1_epi32(bins - 1);
  const __m256d two52 = _mm256_set1_pd(0x1p52);
  /* the bits of 2^52 less 2^12: subtracting them leaves c·2^52 + 2^12 */
  const __m256i base = _mm256_sub_epi64(_mm256_castpd_si256(two52), _mm256_set1_epi64x(1 << 12));
  const int lb = (int)sizeof L->pw[0]; /* bytes a lane */
  const __m256i lanebase = _mm256_setr_epi32(0, lb, 2 * lb, 3 * lb, 0, lb, 2 * lb, 3 * lb);
  size_t i = 0, since_flush = 0;
  avx2_block pb[2];
  int cur = 0;
  pb[0].full = pb[1].full = 0;
  for (; i + 8 <= n; i += 8) {
    const float *q = p + i * K;
    for (size_t o = 0; o < 8 * K; o += 16) /* one line in 16 floats */
      _mm_prefetch((const char *)(q + PF_BLOCKS * 8 * K + o), _MM_HINT_T0);
    __m256 c[16], mx, sm;
    classes(q, K, c);
    /* the max of the bit patterns as unsigned integers: for floats in
     * [0, 1] the float max; every entry lies in [0, 1] iff that max is at
     * most the bits of 1.0f (a sign bit, also of −0.0, makes the bits
     * larger; so do NaN and values above 1); −0.0 thus sends its block to
     * the exact path, which accepts it */
    mx = reduce_maxu(c, K);
    sm = reduce_add(c, K); /* any order: SUM_LO/HI leave 1e-5 for rounding */
    const __m256i mxi = _mm256_castps_si256(mx);
    __m256 good = _mm256_and_ps(
        _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_min_epu32(mxi, onebits), mxi)),
        _mm256_and_ps(_mm256_cmp_ps(sm, slo, _CMP_GE_OQ), _mm256_cmp_ps(sm, shi, _CMP_LE_OQ)));
    __m256i yv = _mm256_loadu_si256((const __m256i *)(y + i));
    if (_mm256_movemask_ps(good) != 0xff ||
        _mm256_movemask_ps(_mm256_castsi256_ps(
            _mm256_or_si256(_mm256_cmpgt_epi32(zi, yv), _mm256_cmpgt_epi32(yv, kmax))))) {
      size_t e = block_exact(p, y, i, 8, K, bins, right, L);
      if (e < i + 8) return *bad = 1, e;
      continue;
    }
    const __m256i okv = _mm256_cmpeq_epi32(first_max(c, K, mx), yv); /* -1: right */
    /* the bin, as the scalar path's double x = c·M, b = trunc(x), minus 1 on
     * an exact edge for right-closed bins, clamped: in float, b0 =
     * trunc(fl(c·M)) is floor(c·M) or one more (rounding is monotone and
     * integers are floats), and fma(c, M, −b0) has the sign of the exact
     * c·M − b0 and is 0 only when c·M = b0 */
    __m256i b0 = _mm256_cvttps_epi32(_mm256_mul_ps(mx, fbins));
    __m256 r = _mm256_fmsub_ps(mx, fbins, _mm256_cvtepi32_ps(b0));
    __m256 dn = right ? _mm256_cmp_ps(r, zero, _CMP_LE_OQ) : _mm256_cmp_ps(r, zero, _CMP_LT_OQ);
    __m256i bv = _mm256_add_epi32(b0, _mm256_castps_si256(dn)); /* all-ones = -1 */
    bv = _mm256_min_epi32(_mm256_max_epi32(bv, zi), bmax);
    _mm256_storeu_si256((__m256i *)pb[cur].off, _mm256_add_epi32(_mm256_slli_epi32(bv, 3), lanebase));
    /* fixed-point confidences: c >= (1 - 1e-3)/K > 2^-5 is a float, so
     * c·2^52 is an integer <= 2^52, read off the mantissa of c·2^52 + 2^52
     * (for c = 1 the exponent steps up and the difference is still 2^52).
     * (c·2^52) << 12 equals the scalar path's bits (c·2^64). The word
     * adds 2^12 (a row) and 1 for a right row (minus its 64-bit -1). */
    for (int h = 0; h < 2; h++) {
      __m256d cd = _mm256_cvtps_pd(h ? _mm256_extractf128_ps(mx, 1) : _mm256_castps256_ps128(mx));
      __m256i ci = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_fmadd_pd(cd, two52, two52)), base);
      ci = _mm256_sub_epi64(
          ci, _mm256_cvtepi32_epi64(h ? _mm256_extracti128_si256(okv, 1) : _mm256_castsi256_si128(okv)));
      _mm256_store_si256((__m256i *)(pb[cur].w + 4 * h), ci);
    }
    pb[cur].full = 1;
    cur ^= 1; /* the previous block */
    if (pb[cur].full) avx2_rows(&pb[cur], L);
    pb[cur].full = 0;
    if ((since_flush += 8) >= C52_FLUSH) flush_c52(L, bins), since_flush = 0;
  }
  cur ^= 1;
  if (pb[cur].full) avx2_rows(&pb[cur], L);
  return i;
}

#define LANES_CASE(KK) \
  case KK:             \
    return lanes_k(p, y, n, KK, bins, right, L, bad);

AVX2 static size_t run_avx2(const float *p, const int32_t *y, size_t n, size_t k, int bins,
                            int right, lanes *L, int *bad) {
  switch (k) {
    LANES_CASE(8) LANES_CASE(9) LANES_CASE(10) LANES_CASE(11) LANES_CASE(12)
    LANES_CASE(13) LANES_CASE(14) LANES_CASE(15) LANES_CASE(16)
    default:
      return 0;
  }
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
