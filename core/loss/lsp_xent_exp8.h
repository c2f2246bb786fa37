/* lsp_xent_exp8.h — AVX2's exponential for the loss kernel (a table of
 * 2^(j/8) and a cubic), a part of lsp_xent_body.h (which includes it at
 * level 3, after lsp_simd.h). Not a header to include anywhere else. */

#ifndef XB_TAB8
#define XB_TAB8
/* The AVX2 exponential's cubic, exp(r) ≈ 1 + r·(1 + r·(XB_T2 + r·XB_T3))
 * on [−ln2/16, ln2/16] (widened by 0.1%): a relative-error fit with exp(0)
 * and its slope exact, max error 2.6e-8 before float rounding
 * (tests/data/gen_exp_poly.py measures it, in ctest). */
#define XB_T2 5.0006461143e-01f
#define XB_T3 1.6666859388e-01f
/* 2^(j/8), j = 0..7, rounded to float */
static const float xb_pow2_8th[8] = {1.0f,          1.090507746f, 1.189207077f, 1.296839595f,
                                     1.414213538f, 1.542210817f, 1.681792855f, 1.834008098f};
#endif

/* AVX2 (two multiply-add pipes, sixteen registers): exp by a table of
 * eight values, 2^(j/8) (xb_pow2_8th), and a cubic. k = round(8x/ln 2) by
 * the 1.5·2^23 trick; r = x − k·(ln 2)/8, with ln 2/8 in a head and a tail
 * (the one-sweep path takes x up to XB_ONE_HI, k up to 1016, where one
 * constant would be 4 ulp off), lies in [−ln2/16, ln2/16]; exp(x) =
 * 2^(k>>3) · T[k & 7] · (1 + r·(1 + r·(XB_T2 + r·XB_T3))), T picked by
 * vpermps (which reads an index's low three bits), formed as
 * T + (T·r)·(1 + r·(XB_T2 + r·XB_T3)), and 2^(k>>3) added to the exponent
 * bits as (bits(t) >> 3) << 23 (the magic constant's bits, a multiple of
 * 8 whose quotient has nine zero low bits, vanish; no mask constant, one
 * register more for the sweep). Seven
 * multiply-port operations a vector against eight for the degree-6 form,
 * and a chain of five multiply-adds instead of eight. At most 1.15 ulp
 * against exp in double over [−86.5, 88] (every seventh float). clamp: x
 * below XB_EXP_LO is raised to it first (the caller has not checked the
 * range). */
SV_ATTR static inline void SV_FN(xb_exp8_n)(sv *x, int u, int clamp) {
  sv t[8], r[8], tv[8], q[8];
  const sv magic = sv_set1(12582912.0f);
  const sv tab = _mm256_loadu_ps(xb_pow2_8th);
  if (clamp)
    for (int i = 0; i < u; i++) x[i] = sv_max(x[i], sv_set1(XB_EXP_LO));
  for (int i = 0; i < u; i++) t[i] = sv_fma(x[i], sv_set1(11.5415603271117073f), magic);
  for (int i = 0; i < u; i++) q[i] = sv_sub(t[i], magic);
  for (int i = 0; i < u; i++) r[i] = sv_fma(q[i], sv_set1(-8.6643397808e-02f), x[i]);
  for (int i = 0; i < u; i++) r[i] = sv_fma(q[i], sv_set1(2.3808177652e-10f), r[i]);
  for (int i = 0; i < u; i++) tv[i] = _mm256_permutevar8x32_ps(tab, sv_as_i(t[i]));
  for (int i = 0; i < u; i++) q[i] = sv_fma(sv_set1(XB_T3), r[i], sv_set1(XB_T2));
  for (int i = 0; i < u; i++) q[i] = sv_fma(q[i], r[i], sv_set1(1.0f));
  for (int i = 0; i < u; i++) r[i] = sv_fma(sv_mul(tv[i], r[i]), q[i], tv[i]);
  for (int i = 0; i < u; i++)
    x[i] = sv_as_f(svi_add(sv_as_i(r[i]), svi_shl(_mm256_srli_epi32(sv_as_i(t[i]), 3), 23)));
}
