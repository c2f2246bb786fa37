/* lsp_simd_d.h — the double-precision half of lsp_simd.h's vocabulary
 * (internal). Include after lsp_simd.h, with the same LSP_SIMD; every name
 * is (re)defined on each inclusion:
 *   DV_N        doubles per vector (8, 4, 2, 1)
 *   dv / dvi    double / int64 vectors
 *   dv_load dv_store (unaligned), dv_load_f (DV_N floats, widened),
 *   dv_load_n(p, n, f) / dv_load_f_n(p, n, f) (n < DV_N lanes, the others
 *   f), dv_store_n(p, v, n), dv_set1 dv_zero dv_add dv_sub dv_mul dv_div
 *   dv_fma(a,b,c)=a*b+c dv_max, dv_as_i dv_as_f (bit casts), dvi_add
 *   dvi_shl(v, bits), dvi_shr(v, bits) (logical), dv_keep_n(v, n) (lanes
 *   >= n zeroed), dv_min,
 *   dv_trunc (toward zero, |x| < 2^31), dv_sub_ge(a, b, c) = a − (a >= b ?
 *   c : 0) and dv_sub_eq(a, b, c) = a − (a == b ? c : 0) lane-wise, and
 *   dv_store_i32(p, v) (DV_N int32 by truncation, |v| < 2^31), and
 *   dv_eq_bits(a, b) (bit l set where lane l of a equals that of b) */
#undef DV_N
#undef dv
#undef dvi
#undef dv_load
#undef dv_store
#undef dv_load_f
#undef dv_load_n
#undef dv_load_f_n
#undef dv_store_n
#undef dv_set1
#undef dv_zero
#undef dv_add
#undef dv_sub
#undef dv_mul
#undef dv_div
#undef dv_fma
#undef dv_max
#undef dv_as_i
#undef dv_as_f
#undef dvi_add
#undef dvi_shl
#undef dvi_shr
#undef dv_keep_n
#undef dv_mask_
#undef dv_min
#undef dv_trunc
#undef dv_sub_ge
#undef dv_sub_eq
#undef dv_store_i32
#undef dv_eq_bits

#if LSP_SIMD == 4
#define DV_N 8
#define dv __m512d
#define dvi __m512i
#define dv_load(p) _mm512_loadu_pd(p)
#define dv_store(p, v) _mm512_storeu_pd(p, v)
#define dv_load_f(p) _mm512_cvtps_pd(_mm256_loadu_ps(p))
#define dv_mask_(n) ((__mmask8)((1u << (n)) - 1u))
#define dv_load_n(p, n, f) _mm512_mask_loadu_pd(_mm512_set1_pd(f), dv_mask_(n), p)
#define dv_load_f_n(p, n, f) \
  _mm512_mask_cvtps_pd(_mm512_set1_pd(f), dv_mask_(n), _mm256_maskz_loadu_ps(dv_mask_(n), p))
#define dv_store_n(p, v, n) _mm512_mask_storeu_pd(p, dv_mask_(n), v)
#define dv_set1(x) _mm512_set1_pd(x)
#define dv_zero() _mm512_setzero_pd()
#define dv_add(a, b) _mm512_add_pd(a, b)
#define dv_sub(a, b) _mm512_sub_pd(a, b)
#define dv_mul(a, b) _mm512_mul_pd(a, b)
#define dv_div(a, b) _mm512_div_pd(a, b)
#define dv_fma(a, b, c) _mm512_fmadd_pd(a, b, c)
#define dv_max(a, b) _mm512_max_pd(a, b)
#define dv_as_i(v) _mm512_castpd_si512(v)
#define dv_as_f(v) _mm512_castsi512_pd(v)
#define dvi_add(a, b) _mm512_add_epi64(a, b)
#define dvi_shl(a, n) _mm512_slli_epi64(a, n)
#define dvi_shr(a, n) _mm512_srli_epi64(a, n)
#define dv_keep_n(v, n) _mm512_maskz_mov_pd(dv_mask_(n), v)
#define dv_min(a, b) _mm512_min_pd(a, b)
#define dv_trunc(x) _mm512_roundscale_pd(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)
#define dv_sub_ge(a, b, c) _mm512_mask_sub_pd(a, _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ), a, c)
#define dv_sub_eq(a, b, c) _mm512_mask_sub_pd(a, _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ), a, c)
#define dv_store_i32(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), _mm512_cvttpd_epi32(v))
#define dv_eq_bits(a, b) ((unsigned)_mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ))
#elif LSP_SIMD == 3
#define DV_N 4
#define dv __m256d
#define dvi __m256i
#define dv_load(p) _mm256_loadu_pd(p)
#define dv_store(p, v) _mm256_storeu_pd(p, v)
#define dv_load_f(p) _mm256_cvtps_pd(_mm_loadu_ps(p))
#define dv_mask_(n) \
  _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(n)), _mm256_setr_epi64x(0, 1, 2, 3))
#define dv_load_n(p, n, f)                                                 \
  _mm256_blendv_pd(_mm256_set1_pd(f), _mm256_maskload_pd(p, dv_mask_(n)), \
                   _mm256_castsi256_pd(dv_mask_(n)))
#define dv_load_f_n(p, n, f)                                                          \
  _mm256_blendv_pd(_mm256_set1_pd(f),                                                 \
                   _mm256_cvtps_pd(_mm_maskload_ps(                                   \
                       p, _mm_cmpgt_epi32(_mm_set1_epi32((int)(n)),                   \
                                          _mm_setr_epi32(0, 1, 2, 3)))),              \
                   _mm256_castsi256_pd(dv_mask_(n)))
#define dv_store_n(p, v, n) _mm256_maskstore_pd(p, dv_mask_(n), v)
#define dv_set1(x) _mm256_set1_pd(x)
#define dv_zero() _mm256_setzero_pd()
#define dv_add(a, b) _mm256_add_pd(a, b)
#define dv_sub(a, b) _mm256_sub_pd(a, b)
#define dv_mul(a, b) _mm256_mul_pd(a, b)
#define dv_div(a, b) _mm256_div_pd(a, b)
#define dv_fma(a, b, c) _mm256_fmadd_pd(a, b, c)
#define dv_max(a, b) _mm256_max_pd(a, b)
#define dv_as_i(v) _mm256_castpd_si256(v)
#define dv_as_f(v) _mm256_castsi256_pd(v)
#define dvi_add(a, b) _mm256_add_epi64(a, b)
#define dvi_shl(a, n) _mm256_slli_epi64(a, n)
#define dvi_shr(a, n) _mm256_srli_epi64(a, n)
#define dv_keep_n(v, n) _mm256_and_pd(v, _mm256_castsi256_pd(dv_mask_(n)))
#define dv_min(a, b) _mm256_min_pd(a, b)
#define dv_trunc(x) _mm256_round_pd(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)
#define dv_sub_ge(a, b, c) _mm256_sub_pd(a, _mm256_and_pd(_mm256_cmp_pd(a, b, _CMP_GE_OQ), c))
#define dv_sub_eq(a, b, c) _mm256_sub_pd(a, _mm256_and_pd(_mm256_cmp_pd(a, b, _CMP_EQ_OQ), c))
#define dv_store_i32(p, v) _mm_storeu_si128((__m128i *)(void *)(p), _mm256_cvttpd_epi32(v))
#define dv_eq_bits(a, b) ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_EQ_OQ)))
#elif LSP_SIMD == 1
#ifndef LSP_SIMD_SSE_D_HELPERS
#define LSP_SIMD_SSE_D_HELPERS
static inline __m128d lsp_sse_load_d_n(const double *p, size_t n, double f) {
  return _mm_setr_pd(n > 0 ? p[0] : f, f);
}
static inline __m128d lsp_sse_load_fd_n(const float *p, size_t n, double f) {
  return _mm_setr_pd(n > 0 ? (double)p[0] : f, f);
}
static inline void lsp_sse_store_d_n(double *p, __m128d v, size_t n) {
  if (n > 0) _mm_storel_pd(p, v);
}
#endif
#define DV_N 2
#define dv __m128d
#define dvi __m128i
#define dv_load(p) _mm_loadu_pd(p)
#define dv_store(p, v) _mm_storeu_pd(p, v)
#define dv_load_f(p) _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(const void *)(p))))
#define dv_load_n(p, n, f) lsp_sse_load_d_n(p, n, f)
#define dv_load_f_n(p, n, f) lsp_sse_load_fd_n(p, n, f)
#define dv_store_n(p, v, n) lsp_sse_store_d_n(p, v, n)
#define dv_set1(x) _mm_set1_pd(x)
#define dv_zero() _mm_setzero_pd()
#define dv_add(a, b) _mm_add_pd(a, b)
#define dv_sub(a, b) _mm_sub_pd(a, b)
#define dv_mul(a, b) _mm_mul_pd(a, b)
#define dv_div(a, b) _mm_div_pd(a, b)
#define dv_fma(a, b, c) _mm_add_pd(_mm_mul_pd(a, b), c)
#define dv_max(a, b) _mm_max_pd(a, b)
#define dv_as_i(v) _mm_castpd_si128(v)
#define dv_as_f(v) _mm_castsi128_pd(v)
#define dvi_add(a, b) _mm_add_epi64(a, b)
#define dvi_shl(a, n) _mm_slli_epi64(a, n)
#define dvi_shr(a, n) _mm_srli_epi64(a, n)
#define dv_keep_n(v, n) ((n) > 0 ? _mm_move_sd(_mm_setzero_pd(), v) : _mm_setzero_pd())
#define dv_min(a, b) _mm_min_pd(a, b)
#define dv_trunc(x) _mm_cvtepi32_pd(_mm_cvttpd_epi32(x))
#define dv_sub_ge(a, b, c) _mm_sub_pd(a, _mm_and_pd(_mm_cmpge_pd(a, b), c))
#define dv_sub_eq(a, b, c) _mm_sub_pd(a, _mm_and_pd(_mm_cmpeq_pd(a, b), c))
#define dv_store_i32(p, v) _mm_storel_epi64((__m128i *)(void *)(p), _mm_cvttpd_epi32(v))
#define dv_eq_bits(a, b) ((unsigned)_mm_movemask_pd(_mm_cmpeq_pd(a, b)))
#elif LSP_SIMD == 0
#ifndef LSP_SIMD_SCALAR_D_HELPERS
#define LSP_SIMD_SCALAR_D_HELPERS
static inline int64_t lsp_simd_d2i(double v) {
  int64_t i;
  memcpy(&i, &v, sizeof i);
  return i;
}
static inline double lsp_simd_i2d(int64_t i) {
  double v;
  memcpy(&v, &i, sizeof v);
  return v;
}
#endif
#define DV_N 1
#define dv double
#define dvi int64_t
#define dv_load(p) (*(p))
#define dv_store(p, v) (*(p) = (v))
#define dv_load_f(p) ((double)*(p))
#define dv_load_n(p, n, f) ((n) ? *(p) : (f))
#define dv_load_f_n(p, n, f) ((n) ? (double)*(p) : (f))
#define dv_store_n(p, v, n) ((n) ? (void)(*(p) = (v)) : (void)0)
#define dv_set1(x) ((double)(x))
#define dv_zero() 0.0
#define dv_add(a, b) ((a) + (b))
#define dv_sub(a, b) ((a) - (b))
#define dv_mul(a, b) ((a) * (b))
#define dv_div(a, b) ((a) / (b))
#define dv_fma(a, b, c) ((a) * (b) + (c))
#define dv_max(a, b) ((a) > (b) ? (a) : (b))
#define dv_as_i(v) lsp_simd_d2i(v)
#define dv_as_f(v) lsp_simd_i2d(v)
#define dvi_add(a, b) ((int64_t)((uint64_t)(a) + (uint64_t)(b)))
#define dvi_shl(a, n) ((int64_t)((uint64_t)(a) << (n)))
#define dvi_shr(a, n) ((int64_t)((uint64_t)(a) >> (n)))
#define dv_keep_n(v, n) ((n) ? (v) : 0.0)
#define dv_min(a, b) ((a) < (b) ? (a) : (b))
#define dv_trunc(x) ((double)(int32_t)(x))
#define dv_sub_ge(a, b, c) ((a) >= (b) ? (a) - (c) : (a))
#define dv_sub_eq(a, b, c) ((a) == (b) ? (a) - (c) : (a))
#define dv_store_i32(p, v) (*(p) = (int32_t)(v))
#define dv_eq_bits(a, b) ((unsigned)((a) == (b)))
#else
#error "define LSP_SIMD to 4, 3, 1 or 0 before including lsp_simd_d.h"
#endif
