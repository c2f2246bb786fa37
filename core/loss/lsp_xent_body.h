/* lsp_xent_body.h — the row kernels of the loss core, written once and
 * compiled once per instruction-set level by lsp_xent_kern.c (which includes
 * core/base/lsp_simd.h, then this file, for each level). Not a header to
 * include anywhere else.
 *
 * What keeps the cross-entropy at memory speed (DESIGN §2, "the kernel"):
 *  - one exponential per logit: exp(z) (for logits in [−86.5, 88]; on
 *    SSE2 about [−86.504, 88.004)) or exp(z − max) is computed once, kept
 *    in a row-sized scratch that stays in L1, and reused for the sum and
 *    for the gradient;
 *  - one pass over memory: a row of ordinary logits is read once, by a
 *    sweep that takes Σz, the range check and the exponentials together
 *    (xb_one_sweep); in plain C, or for a row outside that range, the max
 *    sweep reads it from memory and the exponential sweep from L1. The
 *    gradient row is written once; for outputs larger than the caches
 *    (args->stream) with non-temporal stores, so that writing it costs no
 *    read of the old contents (the partial lines at a row's ends, stored
 *    plainly, are prefetched when the row starts);
 *  - a short exponential: Cody–Waite reduction and a degree-6 polynomial
 *    (0.9 ulp on the reduced interval), 2^n added to the exponent bits,
 *    several in lockstep on SSE2; on AVX2 a table of 2^(j/8) and a cubic;
 *    in SSE2's one sweep a table of exp(j/128) and a quadratic
 *    (lsp_xent_t128.h);
 *  - four independent accumulators per sweep, so that additions do not wait
 *    on each other. */

#ifndef XB_SCRATCH
/* Floats of a row kept in the scratch (16 KB on the stack): K up to 4096 is
 * exponentiated once into it; a longer row is exponentiated into the
 * gradient buffer and rescaled there. */
#define XB_SCRATCH 4096
/* Coefficients of exp(r) ≈ 1 + r(1 + r(C2 + r(C3 + r(C4 + r(C5 + r C6)))))
 * on [−ln2/2, ln2/2]: a relative-error fit, max error 1.7e-8 before float
 * rounding (tests/data/gen_exp_poly.py measures it, in ctest). */
#define XB_C2 4.999999404e-01f
#define XB_C3 1.666643173e-01f
#define XB_C4 4.166800156e-02f
#define XB_C5 8.374155499e-03f
#define XB_C6 1.384365372e-03f
/* Below this argument exp is clamped: 2^n stays a normal float
 * (n >= −125), and exp(−86.5) ≈ 2.7e-38 replaces smaller values, an
 * absolute error far below float resolution of any sum it enters. */
#define XB_EXP_LO (-86.5f)
/* Rows this long (floats) prefetch the next row during their exponentials. */
#define XB_PF_MIN 64
#endif
/* Exponentials computed in lockstep (xb_exp_n): 1 (one after another), 4
 * or 8 at a time; measured (DESIGN §2, "The kernel"): SSE2 gains most (8,
 * Zen 4), AVX-512 nothing, AVX2's table form nothing (Zen 5: four in
 * lockstep 0.19, one at a time 0.18 ns a logit). */
#undef XB_LOCK
#ifdef XB_LOCK_FORCE
#define XB_LOCK XB_LOCK_FORCE
#elif LSP_SIMD == 1
#define XB_LOCK 8
#else
#define XB_LOCK 1
#endif

/* x[i] = exp(x[i]) for i < u, x <= 0 (x = z − max z) or, without the
 * clamp, x in [XB_EXP_LO, XB_ONE_HI]; u = 1, 4 or 8, a constant where
 * inlined. n = round(x/ln2) by adding 1.5·2^23 (the sum's
 * low mantissa bits hold n); r = x − n·ln2 with ln2 split in a short exact
 * head and a tail; 2^n enters as n << 23 added to the polynomial's bits:
 * (bits(t) << 23) is n << 23 because the magic constant's bits vanish in
 * the shift. With FMA (AVX-512; AVX2 below) the polynomial is evaluated as
 * 1 + (r + r²·((C2 + C3 r) + r²·((C4 + C5 r) + C6 r²))): six multiply-adds
 * as in Horner's rule, but a dependency chain of four instead of six
 * (1.0 ulp on the reduced interval). An exponential is still a chain of
 * about 40 cycles (60 on SSE2, where a multiply-add is a multiply and an
 * add); written one after another, their operations wait in the
 * scheduler for most of that time and fill it, so few chains overlap.
 * So the u exponentials go in lockstep, each step for all u vectors before
 * the next, and each step's operations find their inputs (almost) ready. */
#if LSP_SIMD == 3
#include "core/loss/lsp_xent_exp8.h"
#endif

SV_ATTR static inline void SV_FN(xb_exp_c)(sv *x, int u, int clamp) {
#if LSP_SIMD == 3
  SV_FN(xb_exp8_n)(x, u, clamp);
#else
  sv t[8], r[8], r2[8], b[8], c[8];
  const sv magic = sv_set1(12582912.0f);
  if (clamp)
    for (int i = 0; i < u; i++) x[i] = sv_max(x[i], sv_set1(XB_EXP_LO));
  for (int i = 0; i < u; i++) t[i] = sv_fma(x[i], sv_set1(1.44269504088896341f), magic);
  for (int i = 0; i < u; i++) r[i] = sv_fma(sv_sub(t[i], magic), sv_set1(-0.693359375f), x[i]);
  for (int i = 0; i < u; i++) r[i] = sv_fma(sv_sub(t[i], magic), sv_set1(2.12194440e-4f), r[i]);
  for (int i = 0; i < u; i++) r2[i] = sv_mul(r[i], r[i]);
  for (int i = 0; i < u; i++) b[i] = sv_fma(sv_set1(XB_C3), r[i], sv_set1(XB_C2));
  for (int i = 0; i < u; i++) c[i] = sv_fma(sv_set1(XB_C5), r[i], sv_set1(XB_C4));
  for (int i = 0; i < u; i++) c[i] = sv_fma(sv_set1(XB_C6), r2[i], c[i]);
  for (int i = 0; i < u; i++) b[i] = sv_fma(c[i], r2[i], b[i]);
  for (int i = 0; i < u; i++) r[i] = sv_add(sv_fma(b[i], r2[i], r[i]), sv_set1(1.0f));
  for (int i = 0; i < u; i++) x[i] = sv_as_f(svi_add(sv_as_i(r[i]), svi_shl(sv_as_i(t[i]), 23)));
#endif
}

/* The same with the clamp (the callers' arguments are z − max z). */
SV_ATTR static inline void SV_FN(xb_exp_n)(sv *x, int u) { SV_FN(xb_exp_c)(x, u, 1); }

/* exp of one vector (the rows' last vectors), with xb_exp_n's bits. */
SV_ATTR static inline sv SV_FN(xb_exp)(sv x) {
  SV_FN(xb_exp_n)(&x, 1);
  return x;
}

/* The sum of four accumulators: added as vectors ((a + b) + (c + d)),
 * then their lanes in double, in lane order. */
SV_ATTR static inline double SV_FN(xb_sum4)(sv a, sv b, sv c, sv d) {
  float lane[SV_N];
  sv_store(lane, sv_add(sv_add(a, b), sv_add(c, d)));
  double s = 0.0;
  for (size_t l = 0; l < SV_N; l++) s += (double)lane[l];
  return s;
}

/* The max and the float sum of z[0..k) (4 accumulators per lane, lanes
 * combined in double). */
SV_ATTR static inline void SV_FN(xb_max_sum)(const float *z, size_t k, float *mx,
                                             double *sum) {
  const size_t kv = k - k % SV_N;
  sv m0 = sv_set1(-FLT_MAX), m1 = m0, m2 = m0, m3 = m0;
  sv s0 = sv_zero(), s1 = s0, s2 = s0, s3 = s0;
  size_t j = 0;
  for (; j + 4 * SV_N <= kv; j += 4 * SV_N) {
    sv x0 = sv_load(z + j), x1 = sv_load(z + j + SV_N);
    sv x2 = sv_load(z + j + 2 * SV_N), x3 = sv_load(z + j + 3 * SV_N);
    m0 = sv_max(x0, m0), m1 = sv_max(x1, m1), m2 = sv_max(x2, m2), m3 = sv_max(x3, m3);
    s0 = sv_add(s0, x0), s1 = sv_add(s1, x1), s2 = sv_add(s2, x2), s3 = sv_add(s3, x3);
  }
  for (; j < kv; j += SV_N) {
    sv x = sv_load(z + j);
    m0 = sv_max(x, m0);
    s0 = sv_add(s0, x);
  }
  if (kv < k) { /* the last partial vector, by masked loads */
    m1 = sv_max(sv_load_n(z + kv, k - kv, -FLT_MAX), m1);
    s1 = sv_add(s1, sv_load_n(z + kv, k - kv, 0.0f));
  }
  m0 = sv_max(sv_max(m0, m1), sv_max(m2, m3));
  float lane[SV_N];
  sv_store(lane, m0);
  float m = -FLT_MAX;
  for (size_t l = 0; l < SV_N; l++) m = lane[l] > m ? lane[l] : m;
  *mx = m;
  *sum = SV_FN(xb_sum4)(s0, s1, s2, s3);
}

/* e[j] = exp(z[j] − m) for j < k (e NULL: not stored); returns Σ e.
 * pf (NULL: none) is prefetched meanwhile, every cache line of its k
 * floats: the next row, which then arrives while this one is computed
 * instead of after. */
SV_ATTR static inline double SV_FN(xb_exp_sum)(const float *z, size_t k, float m, float *e,
                                               const float *pf) {
  const size_t kv = k - k % SV_N;
  const sv vm = sv_set1(m);
  sv a0 = sv_zero(), a1 = a0, a2 = a0, a3 = a0;
  size_t j = 0;
  /* pl walks the next row's cache lines, as many per block as it has */
  const char *pl = pf ? (const char *)((uintptr_t)pf & ~(uintptr_t)63) : NULL;
  const char *const pe = pf ? (const char *)(pf + k) : NULL;
#if LSP_SIMD > 0
#define XB_PREFETCH(nfloats)                                                \
  do {                                                                      \
    if (pl)                                                                 \
      for (size_t q = 0; q < (nfloats) * sizeof(float); q += 64, pl += 64) \
        _mm_prefetch(pl, _MM_HINT_T0);                                      \
  } while (0)
#else
#define XB_PREFETCH(nfloats) (void)pl
#endif
  /* eight exponentials per block on the narrower levels (four at a time
   * left the pipes idle, AVX2 on Zen 4: 0.52 -> 0.43 ns a logit in L2);
   * AVX-512 keeps four (eight measured no faster there) */
#if SV_N < 16
  for (; j + 8 * SV_N <= kv; j += 8 * SV_N) {
    XB_PREFETCH(8 * SV_N);
    sv x[8];
    for (int i = 0; i < 8; i++) x[i] = sv_sub(sv_load(z + j + (size_t)i * SV_N), vm);
#if XB_LOCK == 8
    SV_FN(xb_exp_n)(x, 8);
#elif XB_LOCK == 4
    SV_FN(xb_exp_n)(x, 4);
    SV_FN(xb_exp_n)(x + 4, 4);
#else
    for (int i = 0; i < 8; i++) x[i] = SV_FN(xb_exp)(x[i]);
#endif
    if (e)
      for (int i = 0; i < 8; i++) sv_store(e + j + (size_t)i * SV_N, x[i]);
    a0 = sv_add(a0, sv_add(x[0], x[4])), a1 = sv_add(a1, sv_add(x[1], x[5]));
    a2 = sv_add(a2, sv_add(x[2], x[6])), a3 = sv_add(a3, sv_add(x[3], x[7]));
  }
#endif
  for (; j + 4 * SV_N <= kv; j += 4 * SV_N) {
    XB_PREFETCH(4 * SV_N);
    sv x[4];
    for (int i = 0; i < 4; i++) x[i] = sv_sub(sv_load(z + j + (size_t)i * SV_N), vm);
#if XB_LOCK >= 4
    SV_FN(xb_exp_n)(x, 4);
#else
    for (int i = 0; i < 4; i++) x[i] = SV_FN(xb_exp)(x[i]);
#endif
    if (e)
      for (int i = 0; i < 4; i++) sv_store(e + j + (size_t)i * SV_N, x[i]);
    a0 = sv_add(a0, x[0]), a1 = sv_add(a1, x[1]), a2 = sv_add(a2, x[2]), a3 = sv_add(a3, x[3]);
  }
  for (; j < kv; j += SV_N) {
    sv e0 = SV_FN(xb_exp)(sv_sub(sv_load(z + j), vm));
    if (e) sv_store(e + j, e0);
    a0 = sv_add(a0, e0);
  }
#if LSP_SIMD > 0
  if (pl) /* the lines the blocks did not reach */
    for (; pl < pe; pl += 64) _mm_prefetch(pl, _MM_HINT_T0);
#else
  (void)pe;
#endif
#undef XB_PREFETCH
  if (kv < k) { /* the last partial vector: other lanes give exp(0), dropped */
    sv e0 = sv_keep_n(SV_FN(xb_exp)(sv_sub(sv_load_n(z + kv, k - kv, m), vm)), k - kv);
    if (e) sv_store_n(e + kv, e0, k - kv);
    a1 = sv_add(a1, e0);
  }
  return SV_FN(xb_sum4)(a0, a1, a2, a3);
}

/* out[j] = e[j]·a + b for j < k (out may be e). */
SV_ATTR static inline void SV_FN(xb_affine)(const float *e, size_t k, float a, float b,
                                            float *out) {
  const size_t kv = k - k % SV_N;
  const sv va = sv_set1(a), vb = sv_set1(b);
  for (size_t j = 0; j < kv; j += SV_N) sv_store(out + j, sv_fma(sv_load(e + j), va, vb));
  if (kv < k) sv_store_n(out + kv, sv_fma(sv_load_n(e + kv, k - kv, 0.0f), va, vb), k - kv);
}

#undef XB_SCAN
#undef XB_ZS
#if LSP_SIMD >= 3
/* The one sweep's range (xb_one_sweep): logits in [XB_EXP_LO, XB_ONE_HI]. */
#ifndef XB_ONE_HI
#define XB_ONE_HI 88.0f
#endif
#undef XB_IMAX_S
#undef XB_IMAX_U
#if LSP_SIMD == 4
#define XB_IMAX_S(a, b) _mm512_max_epi32(a, b)
#define XB_IMAX_U(a, b) _mm512_max_epu32(a, b)
#else
#define XB_IMAX_S(a, b) _mm256_max_epi32(a, b)
#define XB_IMAX_U(a, b) _mm256_max_epu32(a, b)
#endif
/* 1 if the lanes' signed maxima hs of the logits' bits are at most
 * bits(XB_ONE_HI) and their unsigned maxima hu at most bits(XB_EXP_LO):
 * no logit above XB_ONE_HI (negative floats are negative integers; +inf
 * and NaN lie above) and none below XB_EXP_LO (non-negative floats are
 * below 2^31, negative ones order by magnitude, −inf and a NaN with its
 * sign bit set above). */
SV_ATTR static inline int SV_FN(xb_in_range)(svi hs, svi hu) {
  int32_t ls[SV_N], lu[SV_N], hi;
  sv_store((float *)(void *)ls, sv_as_f(hs));
  sv_store((float *)(void *)lu, sv_as_f(hu));
  const float top = XB_ONE_HI, bottom = XB_EXP_LO;
  uint32_t lo;
  memcpy(&hi, &top, sizeof hi);
  memcpy(&lo, &bottom, sizeof lo);
  for (size_t l = 0; l < SV_N; l++)
    if (ls[l] > hi || (uint32_t)lu[l] > lo) return 0;
  return 1;
}
/* the maxima of vector x's bits into hs and hu */
#define XB_SCAN(hs, hu, x)                 \
  do {                                     \
    (hs) = XB_IMAX_S((hs), sv_as_i(x));    \
    (hu) = XB_IMAX_U((hu), sv_as_i(x));    \
  } while (0)
/* the next block of four vectors of the logits zs (NULL: nothing), at
 * jz, if the row holds another whole one: scanned, and added to the four
 * accumulators as xb_one_sweep adds them */
#define XB_ZS()                                                    \
  do {                                                             \
    if (zs && jz + 4 * SV_N <= kz) {                               \
      sv x_[4];                                                    \
      for (int i_ = 0; i_ < 4; i_++) {                             \
        x_[i_] = sv_load(zs + jz + (size_t)i_ * SV_N);             \
        XB_SCAN(ms, mu, x_[i_]);                                   \
      }                                                            \
      s0 = sv_add(s0, x_[0]), s1 = sv_add(s1, x_[1]);              \
      s2 = sv_add(s2, x_[2]), s3 = sv_add(s3, x_[3]);              \
      jz += 4 * SV_N;                                              \
    }                                                              \
  } while (0)
#else
#define XB_ZS() (void)0
#endif

/* The gradient row g[j] = e[j]·a + b, minus c at j = y, with the same
 * vector arithmetic for every element. stream: non-temporal stores for the
 * whole cache lines of g; the rest (less than a line at each end) is
 * written normally. (A line written partly by non-temporal stores leaves
 * the write-combining buffer as a partial write, which memory serves by
 * reading the line after all.) zs (AVX-512 and AVX2; NULL: none): the
 * row's logits, whose range xb_in_range checks meanwhile, into *in_range,
 * and whose sum goes to *sz (the one sweep's check and Σz, done here where
 * the pipes have room: the exponentials' sweep ran short of registers).
 * The logits are walked apart from the gradient's stores, from the row's
 * start in blocks of four vectors, each vector into the accumulator
 * xb_one_sweep would use: Σz has the same bits wherever g starts. */
SV_ATTR static inline void SV_FN(xb_grad)(const float *e, size_t k, size_t y, float a,
                                          float b, float c, float *g, int stream,
                                          const float *zs, int *in_range, double *sz) {
  const sv va = sv_set1(a), vb = sv_set1(b);
#if LSP_SIMD >= 3
  svi ms = sv_as_i(sv_zero()), mu = ms;
  sv s0 = sv_zero(), s1 = s0, s2 = s0, s3 = s0;
  size_t jz = 0;
  const size_t kz = k - k % SV_N;
#else
  (void)zs, (void)in_range, (void)sz;
#endif
  const size_t line = 64 / sizeof(float); /* a multiple of SV_N */
  size_t head = 0, body = k - k % SV_N;   /* [head, body): whole vectors */
  if (stream) {
    head = (size_t)((64 - (uintptr_t)g % 64) % 64) / sizeof(float);
    if (head > k) head = k;
    body = head + (k - head) / line * line;
  }
  /* the vector holding y (body if y is not in the body) */
  const size_t yv = y >= head && y < body ? head + (y - head) / SV_N * SV_N : body;
  size_t j = head;
  /* whole vectors up to jend, four at a time with a block of the logits,
   * stored by st */
#define XB_GRAD_RUN(jend, st)                                           \
  do {                                                                  \
    for (; j + 4 * SV_N <= (jend); j += 4 * SV_N) {                     \
      XB_ZS();                                                          \
      for (int i_ = 0; i_ < 4; i_++)                                    \
        st(g + j + (size_t)i_ * SV_N,                                   \
           sv_fma(sv_load(e + j + (size_t)i_ * SV_N), va, vb));         \
    }                                                                   \
    for (; j < (jend); j += SV_N) st(g + j, sv_fma(sv_load(e + j), va, vb)); \
  } while (0)
  if (stream)
    XB_GRAD_RUN(yv, sv_stream);
  else
    XB_GRAD_RUN(yv, sv_store);
  if (yv < body) { /* y's vector, with −c in y's lane */
    sv v = sv_sub(sv_fma(sv_load(e + yv), va, vb), sv_onehot(y - yv, c));
    if (stream)
      sv_stream(g + yv, v);
    else
      sv_store(g + yv, v);
    j = yv + SV_N;
  }
  if (stream)
    XB_GRAD_RUN(body, sv_stream);
  else
    XB_GRAD_RUN(body, sv_store);
#undef XB_GRAD_RUN
  /* the ends [0, head) and [body, k), shorter than a line: whole vectors
   * and a last partial one, stored normally */
  for (int end = 0; end < 2; end++) {
    size_t j0 = end ? body : 0;
    const size_t j1 = end ? k : head;
    for (; j0 < j1; j0 += SV_N) {
      const size_t len = j1 - j0 < SV_N ? j1 - j0 : SV_N;
      sv v = sv_fma(sv_load_n(e + j0, len, 0.0f), va, vb);
      if (y >= j0 && y < j0 + len) v = sv_sub(v, sv_onehot(y - j0, c));
      if (len == SV_N) {
        sv_store(g + j0, v);
      } else { /* (a masked store here costs more than the copy) */
        float lane[SV_N];
        sv_store(lane, v);
        for (size_t l = 0; l < len; l++) g[j0 + l] = lane[l];
      }
    }
  }
#if LSP_SIMD >= 3
  if (zs) {
    while (jz + 4 * SV_N <= kz) XB_ZS(); /* the blocks the stores did not reach */
    for (; jz < k; jz += SV_N) { /* then the rest, as xb_one_sweep's */
      const size_t len = k - jz < SV_N ? k - jz : SV_N;
      sv x = len == SV_N ? sv_load(zs + jz) : sv_load_n(zs + jz, len, 0.0f);
      XB_SCAN(ms, mu, x);
      s0 = sv_add(s0, x);
    }
    *in_range = SV_FN(xb_in_range)(ms, mu);
    *sz = SV_FN(xb_sum4)(s0, s1, s2, s3);
  }
#endif
}

#if LSP_SIMD >= 3
/* One sweep (AVX2 and AVX-512): e[j] = exp(z[j]) itself, no max
 * subtracted, with Σz and Σe, for rows whose every logit lies in
 * [XB_EXP_LO, XB_ONE_HI] (where exp(z) is a normal float and needs no
 * clamp): the row is read once instead of twice. The range is checked
 * here (integer maxima of the bits, which run on any vector pipe;
 * xb_in_range) and 0 returned for a row outside it (or holding a NaN or an
 * infinity). sz NULL: neither the check nor Σz here; the caller takes both
 * in the gradient's sweep (xb_grad). 0 also for a row whose float sums of
 * e overflow (three logits near 88 in one lane). A row refused is computed
 * by the two sweeps; e NULL: nothing stored. */
SV_ATTR static inline __attribute__((always_inline)) int SV_FN(xb_one_sweep)(
    const float *z, size_t k, float *e, const float *pf, double *sz, double *se) {
  const size_t kv = k - k % SV_N;
  sv s0 = sv_zero(), s1 = s0, s2 = s0, s3 = s0, a0 = s0, a1 = s0, a2 = s0, a3 = s0;
  svi hs = sv_as_i(sv_zero()), hu = hs;
  const char *pl = pf ? (const char *)((uintptr_t)pf & ~(uintptr_t)63) : NULL;
  const char *const pe = pf ? (const char *)(pf + k) : NULL;
  size_t j = 0;
  for (; j + 4 * SV_N <= kv; j += 4 * SV_N) {
    if (pl)
      for (size_t q = 0; q < 4 * SV_N * sizeof(float); q += 64, pl += 64)
        _mm_prefetch(pl, _MM_HINT_T0);
    sv x[4];
    for (int i = 0; i < 4; i++) x[i] = sv_load(z + j + (size_t)i * SV_N);
    if (sz) {
      for (int i = 0; i < 4; i++) XB_SCAN(hs, hu, x[i]);
      s0 = sv_add(s0, x[0]), s1 = sv_add(s1, x[1]), s2 = sv_add(s2, x[2]), s3 = sv_add(s3, x[3]);
    }
    for (int i = 0; i < 4; i++) SV_FN(xb_exp_c)(x + i, 1, 0);
    if (e)
      for (int i = 0; i < 4; i++) sv_store(e + j + (size_t)i * SV_N, x[i]);
    a0 = sv_add(a0, x[0]), a1 = sv_add(a1, x[1]), a2 = sv_add(a2, x[2]), a3 = sv_add(a3, x[3]);
  }
  for (; j < k; j += SV_N) { /* the rest, the last vector partial (zeros) */
    const size_t len = k - j < SV_N ? k - j : SV_N;
    sv x = len == SV_N ? sv_load(z + j) : sv_load_n(z + j, len, 0.0f);
    if (sz) {
      XB_SCAN(hs, hu, x);
      s0 = sv_add(s0, x);
    }
    SV_FN(xb_exp_c)(&x, 1, 0);
    if (len < SV_N) x = sv_keep_n(x, len); /* exp(0) of the padding dropped */
    if (e) {
      if (len == SV_N)
        sv_store(e + j, x);
      else
        sv_store_n(e + j, x, len);
    }
    a0 = sv_add(a0, x);
  }
  if (pl)
    for (; pl < pe; pl += 64) _mm_prefetch(pl, _MM_HINT_T0);
  if (sz) {
    if (!SV_FN(xb_in_range)(hs, hu)) return 0;
    *sz = SV_FN(xb_sum4)(s0, s1, s2, s3);
  }
  *se = SV_FN(xb_sum4)(a0, a1, a2, a3);
  return isfinite(*se);
}
#endif

#if LSP_SIMD == 1
#include "core/loss/lsp_xent_t128.h"
#endif

#if LSP_SIMD >= 3 || LSP_SIMD == 1
/* xb_one_sweep for the tests (lsp_xent_sweep_kernel): e = exp(z) when the
 * row is taken */
SV_ATTR static int SV_FN(xent_sweep)(const float *z, size_t k, float *e, double *sz,
                                     double *se) {
  return SV_FN(xb_one_sweep)(z, k, e, NULL, sz, se);
}
#endif

/* One row: loss without H(q) into *loss and, if g, g = gs·(p − q). e: the
 * scratch (k floats), or g itself for long rows; pf: the next row or NULL.
 * Returns 1 if the row holds a NaN or an infinity. */
SV_ATTR static int SV_FN(xb_row)(const float *z, size_t k, int32_t y, double on, double off,
                                 float *g, float gs, int stream, float *e, const float *pf,
                                 double *loss) {
  float m;
  double sz = 0.0, se; /* (sz: set by the sweep that takes it) */
#if LSP_SIMD >= 3 || LSP_SIMD == 1
  /* AVX2 with a gradient checks the range and takes Σz in the gradient's
   * sweep (a row outside the range has then been written once in vain, and
   * is written again below); AVX-512, whose sweep has room, in the
   * exponentials'; SSE2 by its table indices, in the exponentials' too */
  const int late = LSP_SIMD == 3 && g;
  /* (two calls: each inlined with its own constants) */
  if (late ? SV_FN(xb_one_sweep)(z, k, e, pf, NULL, &se)
           : SV_FN(xb_one_sweep)(z, k, g ? e : NULL, pf, &sz, &se)) {
    /* the gradient's scale gs/Σe in float: with Σ exp(z) up to 1e38 (no
     * max taken off) and a small gs (1/N), below 2^-100 it would lose bits
     * to the subnormals, or the softmax term altogether; such a row (a logit
     * above about 55 for gs = 1e-6) takes the three sweeps, whose Σe ≤ K */
    int ok = !g || (double)gs / se >= 0x1p-100;
    if (g && ok) {
      const float a = (float)((double)gs / se), b = (float)(-off * (double)gs);
      const float c = (float)((on - off) * (double)gs);
      SV_FN(xb_grad)(e, k, (size_t)y, a, b, c, g, stream && e != g, late ? z : NULL, &ok,
                     &sz);
    }
    /* loss = log Σ exp(z) − Σ_k q_k z_k, with Σ_k q_k z_k = off·Σz +
     * (on − off)·z_y (logits of ordinary size: nothing cancels) */
    if (ok) {
      *loss = log(se) - (off * sz + (on - off) * (double)z[y]);
      return 0;
    }
  }
#endif
  SV_FN(xb_max_sum)(z, k, &m, &sz);
  /* a NaN or infinity anywhere makes the sum non-finite (so does a lane
   * of finite logits near FLT_MAX that overflowed: rescan in double) */
  if (!isfinite(sz)) {
    sz = 0.0;
    for (size_t j = 0; j < k; j++) {
      if (!isfinite(z[j])) return 1;
      sz += (double)z[j];
    }
  }
  se = SV_FN(xb_exp_sum)(z, k, m, g ? e : NULL, pf);
  /* loss = logsumexp(z) − Σ_k q_k z_k = Σ_k q_k (m − z_k) + log Σe, with
   * Σ_k q_k = 1: the max cancels before log Σe is added, so that logits far
   * larger than log Σe (equal logits of 1e20: log K) keep it. d = Σ_k
   * (m − z_k) from the float sums carries their rounding, about 2^-24 of
   * K·|m| and more: for rows close together far from 0 (K·|m| over 16 times
   * d + K; never for logits of ordinary size) it is summed again in double,
   * term by term */
  double d = (double)k * (double)m - sz;
  if (off > 0.0 && fabs((double)m) * (double)k > 16.0 * (d + (double)k)) {
    d = 0.0;
    for (size_t j = 0; j < k; j++) d += (double)m - (double)z[j];
  }
  *loss = (off * d + (on - off) * ((double)m - (double)z[y])) + log(se);
  if (!g) return 0;
  /* g = e·(gs/se) − off·gs, and the true class another −(on − off)·gs */
  const float a = (float)((double)gs / se), b = (float)(-off * (double)gs);
  const float c = (float)((on - off) * (double)gs);
  /* in place (a long row exponentiated into g) only with plain stores */
  SV_FN(xb_grad)(e, k, (size_t)y, a, b, c, g, stream && e != g, NULL, NULL, NULL);
  return 0;
}

/* Rows [r0, r1) of the job; their losses (minus H(q)) are added to *sum in
 * row order. Returns r1, or the first row with a non-finite logit. */
SV_ATTR static size_t SV_FN(xent_rows)(const lsp_xent_args *a, size_t r0, size_t r1,
                                       double *sum) {
  float scratch[XB_SCRATCH] __attribute__((aligned(64)));
  const size_t k = a->k;
  double acc = 0.0;
  size_t r = r0;
  for (; r < r1; r++) {
    float *g = a->g ? a->g + r * k : NULL;
    float *e = k <= XB_SCRATCH ? scratch : g;
    /* rows of at least a few cache lines: prefetch the next one (short
     * rows are the hardware prefetcher's easy case) */
    const float *pf = k >= XB_PF_MIN && r + 1 < a->n ? a->z + (r + 1) * k : NULL;
#if LSP_SIMD > 0
    /* streamed rows: the lines at their ends, written with plain stores,
     * fetched now rather than when stored (each store would then wait for
     * its line, and every later store behind it) */
    if (g && a->stream) {
      if (r == r0) _mm_prefetch((const char *)g, _MM_HINT_T0);
      _mm_prefetch((const char *)(g + k - 1), _MM_HINT_T0);
    }
#endif
    double l;
    if (SV_FN(xb_row)(a->z + r * k, k, a->y[r], a->on, a->off, g, a->gs, a->stream, e, pf,
                      &l))
      break;
    l -= a->h;
    if (a->row_loss) a->row_loss[r] = l;
    acc += l;
  }
#if LSP_SIMD > 0
  if (a->stream) _mm_sfence(); /* the non-temporal stores before any later use */
#endif
  *sum = acc;
  return r;
}

/* Rows [r0, r1) of a row-wise softmax (logspace: log-softmax); out may be in. */
SV_ATTR static void SV_FN(softmax_rows)(const float *in, float *out, size_t k, size_t r0,
                                        size_t r1, int logspace) {
  for (size_t r = r0; r < r1; r++) {
    const float *z = in + r * k;
    float *o = out + r * k, m;
    double sz;
    SV_FN(xb_max_sum)(z, k, &m, &sz);
    const float *pf = k >= XB_PF_MIN && r + 1 < r1 ? z + k : NULL;
    double se = SV_FN(xb_exp_sum)(z, k, m, logspace ? NULL : o, pf);
    if (logspace)
      SV_FN(xb_affine)(z, k, 1.0f, -(float)((double)m + log(se)), o);
    else
      SV_FN(xb_affine)(o, k, (float)(1.0 / se), 0.0f, o);
  }
}
