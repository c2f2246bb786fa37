/* lsp_simd.h — one small vector vocabulary over three x86 instruction sets,
 * for kernels written once and compiled once per ISA (internal).
 *
 * A kernel file defines LSP_SIMD and includes this header, then its body
 * (usually a second header), once per level:
 *
 *   4   AVX-512 (x86-64-v4): 16 lanes, FMA, masked loads
 *   3   AVX2 + FMA (x86-64-v3): 8 lanes
 *   1   SSE2 (the x86-64 baseline): 4 lanes, multiply-add as two roundings
 *   0   plain C, one lane (other architectures)
 *
 * Every name is (re)defined on each inclusion:
 *   SV_ATTR     the function attribute that enables the ISA
 *   SV_FN(f)    f with the level's suffix (f_v4, f_v3, f_v1)
 *   SV_N        lanes per vector;  SV_ALIGN  its size in bytes
 *   sv / svi    float / int32 vectors
 *   sv_load sv_store (unaligned), sv_stream (aligned, non-temporal),
 *   sv_set1 sv_zero sv_add sv_sub sv_mul sv_fma(a,b,c)=a*b+c sv_max sv_min,
 *   sv_as_i sv_as_f (bit casts), svi_add svi_shl(v, bits),
 *   and for a row's last partial vector (n < SV_N lanes): sv_load_n(p, n, f)
 *   (lanes >= n hold f), sv_store_n(p, v, n), sv_keep_n(v, n) (lanes >= n
 *   zeroed), sv_onehot(l, x) (x in lane l, 0 elsewhere)
 * Why not GCC vector extensions with target_clones: one source then has one
 * vector width, and clang refuses 64-byte vectors in the AVX2 clone ("AVX
 * vector return ... without 'avx512f' enabled changes the ABI"); intrinsics
 * behind a per-level attribute compile with both compilers, and a kernel's
 * dispatcher (lsp_cpu_isa) can be capped for tests and benchmarks.
 *
 * The helpers are macros: nothing crosses a call boundary in a vector. */
#if LSP_SIMD > 0
#include <immintrin.h>
#else
#include <stdint.h>
#include <string.h>
#endif

#undef SV_ATTR
#undef SV_FN
#undef SV_N
#undef SV_ALIGN
#undef sv
#undef svi
#undef sv_load
#undef sv_store
#undef sv_stream
#undef sv_set1
#undef sv_zero
#undef sv_add
#undef sv_sub
#undef sv_mul
#undef sv_fma
#undef sv_max
#undef sv_min
#undef sv_as_i
#undef sv_as_f
#undef svi_add
#undef svi_shl
#undef sv_load_n
#undef sv_store_n
#undef sv_keep_n
#undef sv_onehot
#undef sv_mask_

#define LSP_SIMD_CAT_(a, b) a##b
#define LSP_SIMD_CAT(a, b) LSP_SIMD_CAT_(a, b)

#if LSP_SIMD == 4
#define SV_ATTR                                                            \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx2," \
                        "fma,bmi,bmi2,lzcnt,popcnt,f16c")))
#define SV_FN(f) LSP_SIMD_CAT(f, _v4)
#define SV_N 16
#define SV_ALIGN 64
#define sv __m512
#define svi __m512i
#define sv_load(p) _mm512_loadu_ps(p)
#define sv_store(p, v) _mm512_storeu_ps(p, v)
#define sv_stream(p, v) _mm512_stream_ps(p, v)
#define sv_set1(x) _mm512_set1_ps(x)
#define sv_zero() _mm512_setzero_ps()
#define sv_add(a, b) _mm512_add_ps(a, b)
#define sv_sub(a, b) _mm512_sub_ps(a, b)
#define sv_mul(a, b) _mm512_mul_ps(a, b)
#define sv_fma(a, b, c) _mm512_fmadd_ps(a, b, c)
#define sv_max(a, b) _mm512_max_ps(a, b)
#define sv_min(a, b) _mm512_min_ps(a, b)
#define sv_as_i(v) _mm512_castps_si512(v)
#define sv_as_f(v) _mm512_castsi512_ps(v)
#define svi_add(a, b) _mm512_add_epi32(a, b)
#define svi_shl(a, n) _mm512_slli_epi32(a, n)
#define sv_mask_(n) ((__mmask16)((1u << (n)) - 1u))
#define sv_load_n(p, n, f) _mm512_mask_loadu_ps(_mm512_set1_ps(f), sv_mask_(n), p)
#define sv_store_n(p, v, n) _mm512_mask_storeu_ps(p, sv_mask_(n), v)
#define sv_keep_n(v, n) _mm512_maskz_mov_ps(sv_mask_(n), v)
#define sv_onehot(l, x) _mm512_maskz_mov_ps((__mmask16)(1u << (l)), _mm512_set1_ps(x))
#elif LSP_SIMD == 3
#define SV_ATTR \
  __attribute__((target("avx2,fma,bmi,bmi2,lzcnt,popcnt,f16c")))
#define SV_FN(f) LSP_SIMD_CAT(f, _v3)
#define SV_N 8
#define SV_ALIGN 32
#define sv __m256
#define svi __m256i
#define sv_load(p) _mm256_loadu_ps(p)
#define sv_store(p, v) _mm256_storeu_ps(p, v)
#define sv_stream(p, v) _mm256_stream_ps(p, v)
#define sv_set1(x) _mm256_set1_ps(x)
#define sv_zero() _mm256_setzero_ps()
#define sv_add(a, b) _mm256_add_ps(a, b)
#define sv_sub(a, b) _mm256_sub_ps(a, b)
#define sv_mul(a, b) _mm256_mul_ps(a, b)
#define sv_fma(a, b, c) _mm256_fmadd_ps(a, b, c)
#define sv_max(a, b) _mm256_max_ps(a, b)
#define sv_min(a, b) _mm256_min_ps(a, b)
#define sv_as_i(v) _mm256_castps_si256(v)
#define sv_as_f(v) _mm256_castsi256_ps(v)
#define svi_add(a, b) _mm256_add_epi32(a, b)
#define svi_shl(a, n) _mm256_slli_epi32(a, n)
#define sv_mask_(n) \
  _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define sv_load_n(p, n, f)                                                  \
  _mm256_blendv_ps(_mm256_set1_ps(f), _mm256_maskload_ps(p, sv_mask_(n)), \
                   _mm256_castsi256_ps(sv_mask_(n)))
#define sv_store_n(p, v, n) _mm256_maskstore_ps(p, sv_mask_(n), v)
#define sv_keep_n(v, n) _mm256_and_ps(v, _mm256_castsi256_ps(sv_mask_(n)))
#define sv_onehot(l, x)                                                      \
  _mm256_and_ps(_mm256_set1_ps(x),                                           \
                _mm256_castsi256_ps(_mm256_cmpeq_epi32(                      \
                    _mm256_set1_epi32((int)(l)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))))
#elif LSP_SIMD == 1
#define SV_ATTR
#define SV_FN(f) LSP_SIMD_CAT(f, _v1)
#define SV_N 4
#define SV_ALIGN 16
#define sv __m128
#define svi __m128i
#define sv_load(p) _mm_loadu_ps(p)
#define sv_store(p, v) _mm_storeu_ps(p, v)
#define sv_stream(p, v) _mm_stream_ps(p, v)
#define sv_set1(x) _mm_set1_ps(x)
#define sv_zero() _mm_setzero_ps()
#define sv_add(a, b) _mm_add_ps(a, b)
#define sv_sub(a, b) _mm_sub_ps(a, b)
#define sv_mul(a, b) _mm_mul_ps(a, b)
#define sv_fma(a, b, c) _mm_add_ps(_mm_mul_ps(a, b), c)
#define sv_max(a, b) _mm_max_ps(a, b)
#define sv_min(a, b) _mm_min_ps(a, b)
#define sv_as_i(v) _mm_castps_si128(v)
#define sv_as_f(v) _mm_castsi128_ps(v)
#define svi_add(a, b) _mm_add_epi32(a, b)
#define svi_shl(a, n) _mm_slli_epi32(a, n)
#ifndef LSP_SIMD_SSE_HELPERS
#define LSP_SIMD_SSE_HELPERS
static inline __m128 lsp_sse_load_n(const float *p, size_t n, float f) {
  float t[4] = {f, f, f, f};
  for (size_t i = 0; i < n; i++) t[i] = p[i];
  return _mm_loadu_ps(t);
}
static inline void lsp_sse_store_n(float *p, __m128 v, size_t n) {
  float t[4];
  _mm_storeu_ps(t, v);
  for (size_t i = 0; i < n; i++) p[i] = t[i];
}
static inline __m128 lsp_sse_lanes(size_t lo, size_t hi) { /* all-ones in [lo, hi) */
  return _mm_castsi128_ps(_mm_set_epi32(-(3 >= lo && 3 < hi), -(2 >= lo && 2 < hi),
                                        -(1 >= lo && 1 < hi), -(0 >= lo && 0 < hi)));
}
#endif
#define sv_load_n(p, n, f) lsp_sse_load_n(p, n, f)
#define sv_store_n(p, v, n) lsp_sse_store_n(p, v, n)
#define sv_keep_n(v, n) _mm_and_ps(v, lsp_sse_lanes(0, n))
#define sv_onehot(l, x) _mm_and_ps(_mm_set1_ps(x), lsp_sse_lanes(l, (l) + 1))
#elif LSP_SIMD == 0
#ifndef LSP_SIMD_SCALAR_HELPERS
#define LSP_SIMD_SCALAR_HELPERS
static inline int32_t lsp_simd_f2i(float v) {
  int32_t i;
  memcpy(&i, &v, sizeof i);
  return i;
}
static inline float lsp_simd_i2f(int32_t i) {
  float v;
  memcpy(&v, &i, sizeof v);
  return v;
}
#endif
#define SV_ATTR
#define SV_FN(f) LSP_SIMD_CAT(f, _v0)
#define SV_N 1
#define SV_ALIGN 4
#define sv float
#define svi int32_t
#define sv_load(p) (*(p))
#define sv_store(p, v) (*(p) = (v))
#define sv_stream(p, v) (*(p) = (v))
#define sv_set1(x) ((float)(x))
#define sv_zero() 0.0f
#define sv_add(a, b) ((a) + (b))
#define sv_sub(a, b) ((a) - (b))
#define sv_mul(a, b) ((a) * (b))
#define sv_fma(a, b, c) ((a) * (b) + (c))
#define sv_max(a, b) ((a) > (b) ? (a) : (b))
#define sv_min(a, b) ((a) < (b) ? (a) : (b))
#define sv_as_i(v) lsp_simd_f2i(v)
#define sv_as_f(v) lsp_simd_i2f(v)
#define svi_add(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
#define svi_shl(a, n) ((int32_t)((uint32_t)(a) << (n)))
/* one lane: a partial vector is empty (n = 0) */
#define sv_load_n(p, n, f) ((n) ? *(p) : (f))
#define sv_store_n(p, v, n) ((n) ? (void)(*(p) = (v)) : (void)0)
#define sv_keep_n(v, n) ((n) ? (v) : 0.0f)
#define sv_onehot(l, x) ((l) == 0 ? (x) : 0.0f)
#else
#error "define LSP_SIMD to 4, 3, 1 or 0 before including lsp_simd.h"
#endif
