/* lsp_xent_t128.h — SSE2's single sweep of the loss kernel, a part of
 * lsp_xent_body.h (which includes it at level 1, after lsp_simd.h and its
 * own helpers; lsp_xent_kern.c defines the table xb_t128 and its size).
 * Not a header to include anywhere else. */

/* T·(1 + x_l + x_l²/2) with T = tab[i[l]] in lane l, as T + (T·x_l)·(1 + x_l/2)
 * (xb_one_sweep below) */
static inline __m128 SV_FN(xb_t128_exp)(const float *tab, const int32_t *i, __m128 xl) {
  const __m128 t = _mm_setr_ps(tab[i[0]], tab[i[1]], tab[i[2]], tab[i[3]]);
  const __m128 c = _mm_add_ps(_mm_mul_ps(xl, _mm_set1_ps(0.5f)), _mm_set1_ps(1.0f));
  return _mm_add_ps(t, _mm_mul_ps(_mm_mul_ps(t, xl), c));
}

/* One sweep on SSE2, as xb_one_sweep does on the wider levels, with its
 * own exponential: the polynomial form costs SSE2 ten operations a
 * vector on its two add pipes, a table of exp(j/128) five (DESIGN §2,
 * "The kernel"). x = x_h + x_l with x_h = j/128 = x rounded to a multiple
 * of 1/128 (by adding and subtracting 1.5·2^16, both exact) and
 * x_l = x − x_h (exact, |x_l| <= 1/256); exp(x) = T·(1 + x_l + x_l²/2),
 * T = exp(x_h) from xb_t128 (lsp_xent_kern.c), formed as
 * T + (T·x_l)·(1 + x_l/2): the polynomial's remainder is below 1.1e-8
 * and T's rounding dominates: at most 1.61 ulp against exp in double
 * (tests/test_xent_exp.c), where T lies just above a power of two and
 * exp(x) just below it (half an ulp of T is a whole ulp there). The index
 * u = j + XB_T128_OFF is the sum's bits minus a constant; u lies in
 * [0, XB_T128_TOP] for x in [−86.5, 88] (rounded to 1/128); every index
 * outside [0, 2^15) (larger logits, smaller ones, NaN, ±inf) sets a bit
 * that the row's OR of all indices keeps, the entries above XB_T128_TOP
 * are +inf (Σe then overflows), and the index is masked to 15 bits before
 * it is used, so that no logit reads outside the table. Returns 0 for a
 * row refused (computed again by the two sweeps). The range is always
 * checked here (it costs SSE2 one OR a vector) and sz is never NULL. */
SV_ATTR static inline int SV_FN(xb_one_sweep)(const float *z, size_t k, float *e,
                                              const float *pf, double *sz, double *se) {
  const __m128 magic = _mm_set1_ps(98304.0f);
  const __m128i base = _mm_set1_epi32(0x47c00000 - XB_T128_OFF);
  const __m128i mask = _mm_set1_epi32(XB_T128_N - 1);
  __m128i seen = _mm_setzero_si128();
  /* two accumulators per sum: SSE2 has sixteen registers */
  sv s0 = sv_zero(), s1 = s0, a0 = s0, a1 = s0;
  /* the indices go through memory: a store and scalar loads use the load
   * and store pipes, where moving lanes to integer registers would take
   * seven operations a vector from the four vector pipes */
  int32_t idx[16] __attribute__((aligned(16)));
  const char *pl = pf ? (const char *)((uintptr_t)pf & ~(uintptr_t)63) : NULL;
  const char *const pe = pf ? (const char *)(pf + k) : NULL;
#define XB_T128_SPLIT(x, xl, slot)                                                     \
  do {                                                                                 \
    const __m128 t_ = _mm_add_ps((x), magic);                                          \
    (xl) = _mm_sub_ps((x), _mm_sub_ps(t_, magic));                                     \
    const __m128i u_ = _mm_sub_epi32(_mm_castps_si128(t_), base);                      \
    seen = _mm_or_si128(seen, u_);                                                     \
    _mm_store_si128((__m128i *)(void *)(idx + 4 * (slot)), _mm_and_si128(u_, mask));   \
  } while (0)
  size_t j = 0;
  /* 16 logits a step, in two halves of 8: each half's two vectors are
   * added together, then to its own accumulator (so that a lane of an
   * accumulator takes K/16 terms, as with four accumulators of one vector
   * each, while the half's working set fits the registers) */
  for (; j + 16 <= k; j += 16) {
    if (pl) {
      _mm_prefetch(pl, _MM_HINT_T0);
      pl += 64;
    }
    for (int h = 0; h < 2; h++) {
      const float *zh = z + j + 8 * (size_t)h;
      sv x[2], xl[2];
      for (int i = 0; i < 2; i++) x[i] = sv_load(zh + (size_t)i * 4);
      if (h)
        s1 = sv_add(s1, sv_add(x[0], x[1]));
      else
        s0 = sv_add(s0, sv_add(x[0], x[1]));
      for (int i = 0; i < 2; i++) XB_T128_SPLIT(x[i], xl[i], i);
      __asm__("" : "+m"(idx)); /* (keeps the stores, and the loads below) */
      for (int i = 0; i < 2; i++) x[i] = SV_FN(xb_t128_exp)(xb_t128, idx + 4 * i, xl[i]);
      if (e)
        for (int i = 0; i < 2; i++) sv_store(e + j + 8 * (size_t)h + (size_t)i * 4, x[i]);
      if (h)
        a1 = sv_add(a1, sv_add(x[0], x[1]));
      else
        a0 = sv_add(a0, sv_add(x[0], x[1]));
    }
  }
  for (; j < k; j += 4) { /* the rest, the last vector partial (zeros) */
    const size_t len = k - j < 4 ? k - j : 4;
    sv x = len == 4 ? sv_load(z + j) : sv_load_n(z + j, len, 0.0f), xl;
    s0 = sv_add(s0, x);
    XB_T128_SPLIT(x, xl, 0);
    __asm__("" : "+m"(idx));
    x = SV_FN(xb_t128_exp)(xb_t128, idx, xl);
    if (len < 4) x = sv_keep_n(x, len); /* exp(0) of the padding dropped */
    if (e) {
      if (len == 4)
        sv_store(e + j, x);
      else
        sv_store_n(e + j, x, len);
    }
    a0 = sv_add(a0, x);
  }
#undef XB_T128_SPLIT
  if (pl)
    for (; pl < pe; pl += 64) _mm_prefetch(pl, _MM_HINT_T0);
  /* an index outside [0, 2^15) in any lane refuses the row */
  const __m128i high = _mm_srli_epi32(seen, 15);
  if (_mm_movemask_epi8(_mm_cmpeq_epi32(high, _mm_setzero_si128())) != 0xffff) return 0;
  *sz = SV_FN(xb_sum4)(s0, s1, sv_zero(), sv_zero());
  *se = SV_FN(xb_sum4)(a0, a1, sv_zero(), sv_zero());
  return isfinite(*se);
}
