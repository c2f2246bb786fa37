/* lsp_calib_row_body.h — lsp_calib_row.h's row softmax, compiled once per
 * instruction-set level by lsp_calib_row.c (after core/base/lsp_simd.h and
 * lsp_simd_d.h). Not a header to include anywhere else. */

#ifndef LSP_CALIB_ROW_ONCE /* level-free helpers, defined once */
#define LSP_CALIB_ROW_ONCE
/* 2^(j/16), j = 0..15, each the double nearest the true value. */
static const double cr_exp2_16[16] __attribute__((aligned(64))) = {
    0x1.0000000000000p+0, 0x1.0b5586cf9890fp+0, 0x1.172b83c7d517bp+0, 0x1.2387a6e756238p+0,
    0x1.306fe0a31b715p+0, 0x1.3dea64c123422p+0, 0x1.4bfdad5362a27p+0, 0x1.5ab07dd485429p+0,
    0x1.6a09e667f3bcdp+0, 0x1.7a11473eb0187p+0, 0x1.8ace5422aa0dbp+0, 0x1.9c49182a3f090p+0,
    0x1.ae89f995ad3adp+0, 0x1.c199bdd85529cp+0, 0x1.d5818dcfba487p+0, 0x1.ea4afa2a490dap+0};

/* Rows r < n of the group functions' row statistics from their lanes. */
static inline void cr_st_store(lsp_calib_rowstat *st, const double *conf, const double *nll,
                               const int64_t *top, size_t n) {
  for (size_t r = 0; r < n; r++) {
    st[r].conf = conf[r];
    st[r].nll = nll[r];
    st[r].top = (size_t)top[r];
  }
}
#endif

/* cr_exp2_16[b & 15] in each lane, b the lanes' bits as integers. */
SV_ATTR static inline dv SV_FN(cr_exp_lut)(dvi b) {
#if LSP_SIMD == 4
  return _mm512_permutex2var_pd(_mm512_load_pd(cr_exp2_16), b, _mm512_load_pd(cr_exp2_16 + 8));
#elif LSP_SIMD == 3
  /* four registers of four entries: within one, the entry b & 3 by
   * vpermps (the double's two 32-bit halves), then the register by bits 2
   * and 3 of b moved to the sign bits that vblendvpd reads */
  const __m256i a = _mm256_and_si256(b, _mm256_set1_epi64x(3));
  const __m256i lo = _mm256_add_epi64(a, a);
  const __m256i ix = _mm256_or_si256(_mm256_or_si256(lo, _mm256_slli_epi64(lo, 32)),
                                     _mm256_set1_epi64x((long long)1 << 32));
  const __m256d t0 = _mm256_castps_pd(_mm256_permutevar8x32_ps(
                    _mm256_castpd_ps(_mm256_load_pd(cr_exp2_16)), ix)),
                t1 = _mm256_castps_pd(_mm256_permutevar8x32_ps(
                    _mm256_castpd_ps(_mm256_load_pd(cr_exp2_16 + 4)), ix)),
                t2 = _mm256_castps_pd(_mm256_permutevar8x32_ps(
                    _mm256_castpd_ps(_mm256_load_pd(cr_exp2_16 + 8)), ix)),
                t3 = _mm256_castps_pd(_mm256_permutevar8x32_ps(
                    _mm256_castpd_ps(_mm256_load_pd(cr_exp2_16 + 12)), ix));
  const __m256d s2 = _mm256_castsi256_pd(_mm256_slli_epi64(b, 61)),
                s3 = _mm256_castsi256_pd(_mm256_slli_epi64(b, 60));
  return _mm256_blendv_pd(_mm256_blendv_pd(t0, t1, s2), _mm256_blendv_pd(t2, t3, s2), s3);
#elif LSP_SIMD == 1
  return _mm_setr_pd(cr_exp2_16[_mm_cvtsi128_si64(b) & 15],
                     cr_exp2_16[_mm_cvtsi128_si64(_mm_unpackhi_epi64(b, b)) & 15]);
#else
  return cr_exp2_16[b & 15];
#endif
}

/* exp(x) for x <= 0 in double (DESIGN §2, "The softmax's exponential"). n =
 * round(16x/ln2) by adding 1.5·2^52; r = x − n·ln2/16 with ln2/16 in two
 * parts (the head has 32 significant bits, so n·head is exact), |r| <=
 * ln2/32; exp(x) = 2^(n >> 4)·T·exp(r) with T = 2^((n & 15)/16) from the
 * table, formed as T + T·(exp(r) − 1), exp(r) − 1 = r + r²·Q(r) with Q
 * the Taylor polynomial of degree 5 (remainder below 1.2e-18 relative;
 * within 1 ulp after rounding, tests/test_calib_row.c); 2^(n >> 4)
 * enters as its exponent added to the result's bits (the magic
 * constant's bits vanish in the shifts). x is clamped at −708, where the
 * result is still normal: exp(−708) ≈ 3.3e-308 then stands for smaller
 * values — it is 0 in every fixed-point sum and square the calibration
 * forms, and no NLL is computed from it. exp(0) is exactly 1. */
SV_ATTR static inline dv SV_FN(cr_exp)(dv x) {
  x = dv_max(x, dv_set1(-708.0));
  const dv magic = dv_set1(6755399441055744.0);
  dv t = dv_fma(x, dv_set1(23.083120654223414), magic);
  dv n = dv_sub(t, magic);
  dv r = dv_fma(n, dv_set1(-0.04332169877307024), x);
  r = dv_fma(n, dv_set1(-1.1926343307941173e-11), r);
  /* Q = c2 + c3 r + ... + c7 r^5 as pairs in r, then Horner in r² */
  const dv r2 = dv_mul(r, r);
  const dv a0 = dv_fma(r, dv_set1(1.6666666666666666667e-1), dv_set1(0.5));
  const dv a1 = dv_fma(r, dv_set1(8.3333333333333333333e-3), dv_set1(4.1666666666666666667e-2));
  const dv a2 = dv_fma(r, dv_set1(1.9841269841269841270e-4), dv_set1(1.3888888888888888889e-3));
  const dv q = dv_fma(dv_fma(a2, r2, a1), r2, a0);
  const dv tab = SV_FN(cr_exp_lut)(dv_as_i(t));
  const dv e = dv_fma(tab, dv_fma(q, r2, r), tab);
  return dv_as_f(dvi_add(dv_as_i(e), dvi_shl(dvi_shr(dv_as_i(t), 4), 52)));
}

/* Integer lanes for cr_log: a − b, a >> 52 (logical) and the constant c. */
#if LSP_SIMD == 4
#define CR_ISUB(a, b) _mm512_sub_epi64(a, b)
#define CR_ISRL52(a) _mm512_srli_epi64(a, 52)
#define CR_ISET(c) _mm512_set1_epi64((long long)(c))
#elif LSP_SIMD == 3
#define CR_ISUB(a, b) _mm256_sub_epi64(a, b)
#define CR_ISRL52(a) _mm256_srli_epi64(a, 52)
#define CR_ISET(c) _mm256_set1_epi64x((long long)(c))
#elif LSP_SIMD == 1
#define CR_ISUB(a, b) _mm_sub_epi64(a, b)
#define CR_ISRL52(a) _mm_srli_epi64(a, 52)
#define CR_ISET(c) _mm_set1_epi64x((long long)(c))
#else
#define CR_ISUB(a, b) ((int64_t)((uint64_t)(a) - (uint64_t)(b)))
#define CR_ISRL52(a) ((int64_t)((uint64_t)(a) >> 52))
#define CR_ISET(c) ((int64_t)(c))
#endif

/* log(x) for finite x >= 1 (a row's Σ e_j), lane-wise (DESIGN §2, "The
 * NLL's logarithm"). x = 2^e·m with m in [√½, √2) (the exponent field
 * read after subtracting the bits of √½), f = m − 1 exactly, and
 * log(1 + f) = f − f²/2 + s·(f²/2 + R(s²)), s = f/(2 + f), R(z) =
 * Σ_{n=1..10} 2zⁿ/(2n + 1) (the series of 2·atanh s, truncated below
 * 1e-19). e·ln2 + f − f²/2 is kept in two doubles (f²/2 exact by a fused
 * multiply-add, two Fast2Sums; ln2 in the exponential's two parts), so
 * only the small term s·(…) carries rounding into the last addition:
 * below 0.7 ulp measured with fused multiply-adds and without (where f²/2's
 * low part is lost); tests/test_calib_row.c checks 1 ulp against the x87
 * logl. */
SV_ATTR static inline dv SV_FN(cr_log)(dv x) {
  const dvi bits = dv_as_i(x);
  const dvi ei = CR_ISRL52(CR_ISUB(bits, CR_ISET(0x3FE6A09E667F3BCDll)));
  const dv m = dv_as_f(CR_ISUB(bits, dvi_shl(ei, 52)));
  const dv e = dv_sub(dv_as_f(dvi_add(ei, CR_ISET(0x4330000000000000ll))),
                      dv_set1(0x1p52)); /* ei < 2^52: exact */
  const dv f = dv_sub(m, dv_set1(1.0));
  const dv s = dv_div(f, dv_add(f, dv_set1(2.0))), z = dv_mul(s, s);
  const dv z2 = dv_mul(z, z), z4 = dv_mul(z2, z2);
  const dv q0 = dv_fma(z, dv_set1(2.0 / 5.0), dv_set1(2.0 / 3.0));
  const dv q1 = dv_fma(z, dv_set1(2.0 / 9.0), dv_set1(2.0 / 7.0));
  const dv q2 = dv_fma(z, dv_set1(2.0 / 13.0), dv_set1(2.0 / 11.0));
  const dv q3 = dv_fma(z, dv_set1(2.0 / 17.0), dv_set1(2.0 / 15.0));
  const dv q4 = dv_fma(z, dv_set1(2.0 / 21.0), dv_set1(2.0 / 19.0));
  const dv r = dv_mul(
      z, dv_fma(dv_fma(dv_fma(q4, z2, q3), z2, q2), z4, dv_fma(q1, z2, q0)));
  const dv a = dv_mul(e, dv_set1(6.93147180369123816490e-01)); /* exact */
  const dv hf = dv_mul(f, dv_set1(0.5)), hh = dv_mul(hf, f);
  const dv hl = dv_fma(hf, f, dv_sub(dv_zero(), hh)); /* f²/2 − hh */
  const dv t1 = dv_sub(f, hh), l1 = dv_sub(dv_sub(f, t1), hh);
  const dv t2 = dv_add(a, t1), l2 = dv_add(dv_sub(a, t2), t1);
  const dv c = dv_fma(s, dv_add(hh, r),
                      dv_mul(e, dv_set1(1.90821492927058770002e-10)));
  return dv_add(t2, dv_add(dv_add(l2, dv_sub(l1, hl)), c));
}

/* lsp_calib_exp_fn: cr_exp over an array, the tail as a partial vector. */
SV_ATTR static void SV_FN(cr_exps)(const double *x, size_t n, double *out) {
  size_t i = 0;
  for (; i + DV_N <= n; i += DV_N) dv_store(out + i, SV_FN(cr_exp)(dv_load(x + i)));
  if (i < n) dv_store_n(out + i, SV_FN(cr_exp)(dv_load_n(x + i, n - i, 0.0)), n - i);
}

/* lsp_calib_log_fn: cr_log over an array, the tail as a partial vector. */
SV_ATTR static void SV_FN(cr_logs)(const double *x, size_t n, double *out) {
  size_t i = 0;
  for (; i + DV_N <= n; i += DV_N) dv_store(out + i, SV_FN(cr_log)(dv_load(x + i)));
  if (i < n) dv_store_n(out + i, SV_FN(cr_log)(dv_load_n(x + i, n - i, 1.0)), n - i);
}

/* The lanes' sum as a pairwise tree (a short dependency chain). */
SV_ATTR static inline double SV_FN(cr_hsum)(const double *l) {
#if DV_N == 8
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
#elif DV_N == 4
  return (l[0] + l[1]) + (l[2] + l[3]);
#elif DV_N == 2
  return l[0] + l[1];
#else
  return l[0];
#endif
}


/* The max of row x (k logits); 0 if a logit is not finite. x·0 is 0 for
 * finite x and NaN otherwise: a finiteness test without a sum that could
 * overflow. */
#define CR_LOAD(j) (xf ? dv_load_f(xf + (j)) : dv_load(xd + (j)))
#define CR_LOAD_N(j, n, f) (xf ? dv_load_f_n(xf + (j), n, f) : dv_load_n(xd + (j), n, f))
#define CR_AT(j) (xf ? (double)xf[j] : xd[j])

SV_ATTR static inline int SV_FN(cr_max)(const float *xf, const double *xd, size_t k,
                                        double *mx) {
  const size_t kv = k - k % DV_N;
  double lane[DV_N];
  dv m0 = dv_set1(-DBL_MAX), m1 = m0, f0 = dv_zero(), f1 = f0;
  const dv zero = dv_zero();
  size_t j = 0;
  for (; j + 2 * DV_N <= kv; j += 2 * DV_N) {
    dv a = CR_LOAD(j), b = CR_LOAD(j + DV_N);
    m0 = dv_max(a, m0), m1 = dv_max(b, m1);
    f0 = dv_fma(a, zero, f0), f1 = dv_fma(b, zero, f1);
  }
  for (; j < kv; j += DV_N) {
    dv a = CR_LOAD(j);
    m0 = dv_max(a, m0);
    f0 = dv_fma(a, zero, f0);
  }
  if (kv < k) {
    dv a = CR_LOAD_N(kv, k - kv, 0.0);
    m1 = dv_max(CR_LOAD_N(kv, k - kv, -DBL_MAX), m1);
    f1 = dv_fma(a, zero, f1);
  }
  dv_store(lane, dv_add(f0, f1));
  if (!isfinite(SV_FN(cr_hsum)(lane))) return 0;
  dv_store(lane, dv_max(m0, m1));
  double m = lane[0];
  for (size_t l = 1; l < DV_N; l++) m = lane[l] > m ? lane[l] : m;
  *mx = m;
  return 1;
}

/* out[0..n) = a[0..n) ∘ b[0..n), ∘ = exp((a − b)·inv_t) (op 0) or a·b
 * (op 1), over whole vectors and a last partial one. */
SV_ATTR static inline void SV_FN(cr_flat)(const float *xf, const double *xd, const double *b,
                                          size_t n, double inv_t, int op, double *out) {
  const size_t nv = n - n % DV_N;
  const dv vt = dv_set1(inv_t);
  size_t j = 0;
  if (op == 0) {
    for (; j < nv; j += DV_N)
      dv_store(out + j, SV_FN(cr_exp)(dv_mul(dv_sub(CR_LOAD(j), dv_load(b + j)), vt)));
    if (j < n)
      dv_store_n(out + j,
                 SV_FN(cr_exp)(dv_mul(dv_sub(CR_LOAD_N(j, n - j, 0.0),
                                             dv_load_n(b + j, n - j, 0.0)), vt)),
                 n - j);
  } else {
    for (; j < nv; j += DV_N) dv_store(out + j, dv_mul(dv_load(xd + j), dv_load(b + j)));
    if (j < n)
      dv_store_n(out + j, dv_mul(dv_load_n(xd + j, n - j, 0.0), dv_load_n(b + j, n - j, 0.0)),
                 n - j);
  }
}

/* out[0..k) = v, by whole vectors and a last partial one. */
SV_ATTR static inline void SV_FN(cr_fill)(double *out, size_t k, double v) {
  const dv x = dv_set1(v);
  size_t j = 0;
  for (; j + DV_N <= k; j += DV_N) dv_store(out + j, x);
  if (j < k) dv_store_n(out + j, x, k - j);
}

/* Rows r < nr of the contiguous logits x (k each), labels y[r] < k: the
 * exponentials of all nr rows in one flat run of whole vectors (no row's
 * tail costs a vector of its own), each row's sum in index order, then
 * p = e·(1/s). Returns the number of leading rows with finite logits,
 * whose results are complete. */
SV_ATTR static size_t SV_FN(cr_rows)(const float *xf, const double *xd, size_t nr, size_t k,
                                     double inv_t, const int32_t *y, double *p,
                                     double *scratch, lsp_calib_rowstat *st) {
  double mx[LSP_CALIB_ROWS], inv[LSP_CALIB_ROWS], sum[LSP_CALIB_ROWS],
      dz[LSP_CALIB_ROWS];
  size_t good = 0;
  for (; good < nr; good++)
    if (!SV_FN(cr_max)(xf ? xf + good * k : NULL, xd ? xd + good * k : NULL, k, &mx[good]))
      break;
  const size_t n = good * k;
  for (size_t r = 0; r < good; r++) SV_FN(cr_fill)(scratch + r * k, k, mx[r]);
  SV_FN(cr_flat)(xf, xd, scratch, n, inv_t, 0, p);
  for (size_t r = 0; r < good; r++) {
    const double *e = p + r * k;
    const float *rf = xf ? xf + r * k : NULL;
    const double *rd = xd ? xd + r * k : NULL;
    double s = 0.0;
    for (size_t j = 0; j < k; j++) s += e[j];
    /* the first index of the max: a vector compare, the first set lane */
    size_t top = k;
    const dv vm = dv_set1(mx[r]);
    for (size_t j = 0; j < k; j += DV_N) {
      const size_t len = k - j < DV_N ? k - j : DV_N;
      const dv v = len == DV_N ? (rf ? dv_load_f(rf + j) : dv_load(rd + j))
                               : (rf ? dv_load_f_n(rf + j, len, 0.0) : dv_load_n(rd + j, len, 0.0));
      const unsigned eq = dv_eq_bits(v, vm) & ((1u << len) - 1u);
      if (eq) {
        top = j + (size_t)__builtin_ctz(eq);
        break;
      }
    }
    const double yv = rf ? (double)rf[y[r]] : rd[y[r]];
    inv[r] = 1.0 / s;
    sum[r] = s;
    st[r].conf = inv[r];
    /* two statements: a compiler that fuses a·b + c within one expression
     * (clang's default) would make the NLL differ from gcc's build and from
     * the group function's lanes */
    dz[r] = (yv - mx[r]) * inv_t;
    st[r].top = top;
  }
  for (size_t r = 0; r < good; r += DV_N) { /* NLL = log s − dz */
    const size_t len = good - r < DV_N ? good - r : DV_N;
    double lg[DV_N];
    dv_store(lg, SV_FN(cr_log)(len == DV_N ? dv_load(sum + r)
                                           : dv_load_n(sum + r, len, 1.0)));
    for (size_t q = 0; q < len; q++) st[r + q].nll = lg[q] - dz[r + q];
  }
  for (size_t r = 0; r < good; r++) SV_FN(cr_fill)(scratch + r * k, k, inv[r]);
  SV_FN(cr_flat)(NULL, p, scratch, n, 1.0, 1, p);
  return good;
}

#if LSP_SIMD == 3
/* lsp_calib_fix_word of the lanes of v (each in [0, 2); others give
 * unspecified words). AVX2 has no conversion of doubles to 64-bit
 * integers: trunc(fr·2^63) of the fraction fr = v − [v >= 1] comes from
 * fr's bits instead. fr = m·2^(x − 1075) with the 53-bit significand m and
 * the biased exponent x, so fr·2^63 = m·2^(x − 1012): m shifted left or
 * right by lane (vpsllvq and vpsrlvq give 0 for counts of 64 and more,
 * which covers fr = 0 and subnormal fr, whose true value 0 the right shift
 * by 1012 gives). For fr in [0, 1) that is the conversion's truncation
 * exactly. */
SV_ATTR static inline __m256i SV_FN(cr_word4)(__m256d v) {
  const __m256d one_d = _mm256_set1_pd(1.0);
  const __m256i mant = _mm256_set1_epi64x((long long)((1ull << 52) - 1)),
                hidden = _mm256_set1_epi64x((long long)(1ull << 52)),
                bias = _mm256_set1_epi64x(1012), low1 = _mm256_set1_epi64x(1);
  const __m256d ge = _mm256_cmp_pd(v, one_d, _CMP_GE_OQ);
  const __m256i b = _mm256_castpd_si256(_mm256_sub_pd(v, _mm256_and_pd(ge, one_d)));
  const __m256i x = _mm256_srli_epi64(b, 52);
  const __m256i m = _mm256_or_si256(_mm256_and_si256(b, mant), hidden);
  const __m256i t = _mm256_or_si256(_mm256_sllv_epi64(m, _mm256_sub_epi64(x, bias)),
                                    _mm256_srlv_epi64(m, _mm256_sub_epi64(bias, x)));
  return _mm256_or_si256(_mm256_slli_epi64(t, 1),
                         _mm256_and_si256(_mm256_castpd_si256(ge), low1));
}
#endif

/* The classwise bin of n consecutive probabilities p (rows of k classes
 * from a row start): cb[e] = j·bins + b, j = e mod k, b = lsp_calib_bin(p_e)
 * (trunc(p·bins), minus one on an exact edge when right, clamped, in
 * double and vectorized; a lane beside an edge, and the tail, take
 * lsp_calib_bin itself).
 * And p_e in fixed point (lsp_calib_fix_bits of p_e in [0, 1]) as one
 * word: fx[e] = 2·trunc(frac(p_e)·2^63) | (p_e >= 1) (the fraction's low
 * bit is always 0, so bit 0 carries the integer part). */
SV_ATTR static void SV_FN(cr_bins)(const double *p, size_t n, size_t k, int bins, int right,
                                   int32_t *cb, uint64_t *fx) {
  {
    size_t e = 0;
#if LSP_SIMD == 4
    const __m512d one_d = _mm512_set1_pd(1.0), scale = _mm512_set1_pd(0x1p63);
    for (; e + 8 <= n; e += 8) {
      __m512d v = _mm512_loadu_pd(p + e);
      __mmask8 ge = _mm512_cmp_pd_mask(v, one_d, _CMP_GE_OQ);
      __m512d fr = _mm512_mask_sub_pd(v, ge, v, one_d);
      __m512i b = _mm512_slli_epi64(_mm512_cvttpd_epi64(_mm512_mul_pd(fr, scale)), 1);
      b = _mm512_mask_or_epi64(b, ge, b, _mm512_set1_epi64(1));
      _mm512_storeu_si512((void *)(fx + e), b);
    }
#elif LSP_SIMD == 3
    /* cr_word4 for vectors with every lane in [0, 2), the scalar form
     * otherwise */
    const __m256d two_d = _mm256_set1_pd(2.0), zero_d = _mm256_setzero_pd();
    for (; e + 4 <= n; e += 4) {
      const __m256d v = _mm256_loadu_pd(p + e);
      const __m256d in = _mm256_and_pd(_mm256_cmp_pd(v, zero_d, _CMP_GE_OQ),
                                       _mm256_cmp_pd(v, two_d, _CMP_LT_OQ));
      if (_mm256_movemask_pd(in) != 0xf) {
        for (size_t q = e; q < e + 4; q++) fx[q] = lsp_calib_fix_word(p[q]);
        continue;
      }
      _mm256_storeu_si256((__m256i *)(void *)(fx + e), SV_FN(cr_word4)(v));
    }
#endif
    for (; e < n; e++) fx[e] = lsp_calib_fix_word(p[e]);
  }
  const size_t nv = n - n % DV_N;
  const double M = (double)bins, K = (double)k;
  const dv vM = dv_set1(M), vK = dv_set1(K), one = dv_set1(right ? 1.0 : 0.0);
  const dv zero = dv_zero(), top = dv_set1(M - 1.0), step = dv_set1((double)DV_N);
  const dv magic = dv_set1(LSP_CALIB_NEAR_MAGIC);
  const lsp_calib_edges edges = right ? LSP_CALIB_EDGES_RIGHT : LSP_CALIB_EDGES_LEFT;
  /* the class index of each lane, as a double: lanes 0..DV_N-1 mod k */
  double j0[DV_N];
  for (size_t l = 0; l < DV_N; l++) j0[l] = (double)(l % k);
  dv jv = dv_load(j0);
  const size_t wraps = DV_N / k + 1; /* subtractions of k after a step */
  size_t e = 0;
  for (; e < nv; e += DV_N) {
    dv x = dv_mul(dv_load(p + e), vM), b = dv_trunc(x);
    b = dv_sub_eq(b, x, one);
    b = dv_min(dv_max(b, zero), top);
    dv_store_i32(cb + e, dv_fma(jv, vM, b));
    /* lanes beside an edge: lsp_calib_bin (rare but for exact decimals) */
    /* lsp_calib_bin's test, zeros (most entries of sparse rows) left out */
    const dv u = dv_sub(dv_add(x, magic), magic);
    unsigned near = dv_eq_bits(dv_trunc(u), u) & ~dv_eq_bits(u, zero);
    for (; near; near &= near - 1u) {
      const size_t q = e + (size_t)__builtin_ctz(near);
      cb[q] = (int32_t)((q % k) * (size_t)bins + (size_t)lsp_calib_bin(p[q], bins, edges));
    }
    jv = dv_add(jv, step);
    for (size_t t = 0; t < wraps; t++) jv = dv_sub_ge(jv, vK, vK);
  }
  for (; e < n; e++)
    cb[e] = (int32_t)((e % k) * (size_t)bins + (size_t)lsp_calib_bin(p[e], bins, edges));
}

/* lsp_calib_fix_bits of v as (integer part, fraction bits); 1 (and zeros)
 * when v lies outside [0, 2^40). */
static inline unsigned SV_FN(cr_pair)(double v, uint64_t *ip, uint64_t *fb) {
  if (!(v >= 0.0 && v < 0x1p40)) return *ip = *fb = 0, 1u;
  const int64_t i = (int64_t)v;
  *ip = (uint64_t)i;
  *fb = ((uint64_t)(int64_t)((v - (double)i) * 0x1p63)) << 1;
  return 0u;
}

/* Rows [r0, nr) of lsp_calib_rec_fn in scalar arithmetic (the tail of the
 * vector path, and the whole group below AVX-512). Products and sums are
 * separate statements, so no compiler fuses them into a multiply-add. */
SV_ATTR static void SV_FN(cr_rec_scalar)(const lsp_calib_rowstat *st,
                                         const double *p, const int32_t *y,
                                         size_t r0, size_t nr, size_t k,
                                         int bins, int right, int full,
                                         lsp_calib_rowrec *o) {
  for (size_t r = r0; r < nr; r++) {
    const double c = st[r].conf;
    o->bin[r] = lsp_calib_bin(c, bins, right ? LSP_CALIB_EDGES_RIGHT : LSP_CALIB_EDGES_LEFT);
    o->conf[r] = lsp_calib_fix_word(c);
    if (!full) continue;
    const lsp_calib_meshrow m = lsp_calib_mesh_row(c);
    o->node[r] = m.j;
    for (int t = 0; t < 4; t++) o->share[t][r] = m.share[t];
    const double *q = p + r * k;
    double br = 0.0;
    for (size_t t = 0; t < k; t++) {
      const double d = q[t] - (t == (size_t)y[r] ? 1.0 : 0.0), sq = d * d;
      br += sq;
    }
    unsigned out = SV_FN(cr_pair)(st[r].nll, &o->nll_ip[r], &o->nll_fb[r]);
    out |= SV_FN(cr_pair)(br, &o->br_ip[r], &o->br_fb[r]);
    o->out |= out << r;
  }
}

#if LSP_SIMD == 4
/* lsp_calib_fix_word of the lanes of v (each in [0, 1]): trunc(v·2^63) as
 * an unsigned integer, rotated left by one — bit 63 (set only for v = 1,
 * which has no fraction bits) moves to bit 0, the integer part's place,
 * and every fraction bit one up. */
SV_ATTR static inline __m512i SV_FN(cr_word8)(__m512d v) {
  return _mm512_rol_epi64(
      _mm512_cvttpd_epu64(_mm512_mul_pd(v, _mm512_set1_pd(0x1p63))), 1);
}

/* cr_pair of the lanes of v: stores both words, returns the lanes out of
 * range. */
SV_ATTR static inline unsigned SV_FN(cr_pair8)(__m512d v, __mmask8 m,
                                               uint64_t *ip, uint64_t *fb) {
  const __mmask8 in =
      _mm512_mask_cmp_pd_mask(m, v, _mm512_setzero_pd(), _CMP_GE_OQ) &
      _mm512_cmp_pd_mask(v, _mm512_set1_pd(0x1p40), _CMP_LT_OQ);
  const __m512i i = _mm512_maskz_cvttpd_epi64(in, v);
  const __m512d fr = _mm512_sub_pd(v, _mm512_cvtepi64_pd(i));
  const __m512i f = _mm512_slli_epi64(
      _mm512_maskz_cvttpd_epi64(in, _mm512_mul_pd(fr, _mm512_set1_pd(0x1p63))),
      1);
  _mm512_storeu_si512((void *)ip, i);
  _mm512_storeu_si512((void *)fb, f);
  return (unsigned)(m & ~in);
}
#endif

#if LSP_SIMD == 4
/* The lanes of m whose x = p·bins lies beside an edge (lsp_calib_bin's
 * test: the low 26 bits of x + 1.5·2^26 zero), as bits. */
SV_ATTR static inline unsigned SV_FN(cr_near8)(__m512d x, __mmask8 m) {
  const __m512d t = _mm512_add_pd(x, _mm512_set1_pd(LSP_CALIB_NEAR_MAGIC));
  return (unsigned)_mm512_mask_testn_epi64_mask(m, _mm512_castpd_si512(t),
                                                _mm512_set1_epi64(LSP_CALIB_NEAR_BITS));
}

/* The record of eight rows (lanes) from their confidences c, NLLs and
 * Brier terms br (the last two with full only): lsp_calib_bin,
 * lsp_calib_fix_word and lsp_calib_mesh_row lane by lane. */
SV_ATTR static inline void SV_FN(cr_rec8)(__m512d c, __m512d nll, __m512d br,
                                          int bins, int right, int full,
                                          lsp_calib_rowrec *o) {
  const __m512d x = _mm512_mul_pd(c, _mm512_set1_pd((double)bins));
  __m512i b = _mm512_cvttpd_epi64(x);
  if (right)
    b = _mm512_mask_sub_epi64(
        b, _mm512_cmp_pd_mask(_mm512_cvtepi64_pd(b), x, _CMP_EQ_OQ), b,
        _mm512_set1_epi64(1));
  b = _mm512_min_epi64(_mm512_max_epi64(b, _mm512_setzero_si512()),
                       _mm512_set1_epi64(bins - 1));
  _mm256_storeu_si256((__m256i *)(void *)o->bin, _mm512_cvtepi64_epi32(b));
  const unsigned near = SV_FN(cr_near8)(x, 0xff);
  if (__builtin_expect(near != 0, 0)) { /* lanes beside an edge: lsp_calib_bin */
    double cl[8];
    _mm512_storeu_pd(cl, c);
    lsp_calib_bin_lanes(cl, near, bins, right, o->bin);
  }
  _mm512_storeu_si512((void *)o->conf, SV_FN(cr_word8)(c));
  o->out = 0;
  if (!full) return;
  /* lsp_smece_node: x = c·(NODES − 1), j = trunc(x) clamped, f = x − j */
  const __m512d xn =
      _mm512_mul_pd(c, _mm512_set1_pd((double)(LSP_SMECE_NODES - 1)));
  const __m512d jd = _mm512_min_pd(
      _mm512_max_pd(
          _mm512_roundscale_pd(xn, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC),
          _mm512_setzero_pd()),
      _mm512_set1_pd((double)(LSP_SMECE_NODES - 2)));
  const __m512d f = _mm512_sub_pd(xn, jd),
                g = _mm512_sub_pd(_mm512_set1_pd(1.0), f);
  _mm256_storeu_si256((__m256i *)(void *)o->node, _mm512_cvttpd_epi32(jd));
  _mm512_storeu_si512((void *)o->share[0], SV_FN(cr_word8)(g));
  _mm512_storeu_si512((void *)o->share[1], SV_FN(cr_word8)(f));
  _mm512_storeu_si512((void *)o->share[2],
                      SV_FN(cr_word8)(_mm512_mul_pd(g, c)));
  _mm512_storeu_si512((void *)o->share[3],
                      SV_FN(cr_word8)(_mm512_mul_pd(f, c)));
  o->out = SV_FN(cr_pair8)(nll, 0xff, o->nll_ip, o->nll_fb) |
           SV_FN(cr_pair8)(br, 0xff, o->br_ip, o->br_fb);
}
#endif

/* lsp_calib_rec_fn: AVX-512 takes the group's rows as the lanes of one
 * vector (the Brier sum runs over the classes, gathering p[r·k + j] for
 * the eight rows), the other levels cr_rec_scalar. */
SV_ATTR static void SV_FN(cr_rec)(const lsp_calib_rowstat *st, const double *p,
                                  const int32_t *y, size_t nr, size_t k,
                                  int bins, int right, int full,
                                  lsp_calib_rowrec *o) {
  o->out = 0;
  size_t r0 = 0;
#if LSP_SIMD == 4
  if (nr == 8 && k * 8 < ((size_t)1 << 31)) {
    const __m512i idx =
        _mm512_setr_epi64(0, 3, 6, 9, 12, 15, 18, 21); /* rowstat: 3 words */
    const double *sb = &st[0].conf;
    __m512d br = _mm512_setzero_pd();
    if (full) {
      const __m512i yv = _mm512_cvtepi32_epi64(
          _mm256_loadu_si256((const __m256i *)(const void *)y));
      const __m512i rowk =
          _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7),
                             _mm512_set1_epi64((long long)k));
      const __m512d one = _mm512_set1_pd(1.0);
      for (size_t t = 0; t < k; t++) {
        const __m512i tv = _mm512_set1_epi64((long long)t);
        const __m512d v = _mm512_i64gather_pd(_mm512_add_epi64(rowk, tv), p, 8);
        const __m512d d =
            _mm512_mask_sub_pd(v, _mm512_cmpeq_epi64_mask(yv, tv), v, one);
        br = _mm512_add_pd(br, _mm512_mul_pd(d, d));
      }
    }
    SV_FN(cr_rec8)
    (_mm512_i64gather_pd(idx, sb, 8), _mm512_i64gather_pd(idx, sb + 1, 8), br,
     bins, right, full, o);
    r0 = nr;
  }
#endif
  SV_FN(cr_rec_scalar)(st, p, y, r0, nr, k, bins, right, full, o);
}

#undef CR_LOAD
#undef CR_LOAD_N
#undef CR_AT
#undef CR_ISUB
#undef CR_ISRL52
#undef CR_ISET
