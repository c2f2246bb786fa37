/* lsp_calib_group_body.h — lsp_calib_row.h's group function: eight rows of
 * logits as the eight lanes of AVX-512 vectors, compiled by lsp_calib_row.c
 * after lsp_calib_row_body.h at the AVX-512 level only (it uses cr_exp,
 * cr_word8 and cr_rec8). Not a header to include anywhere else.
 *
 * Every number is the row function's, lsp_calib_bins_fn's and
 * lsp_calib_rec_fn's, bit for bit: the same operations on the same values
 * in the same order per row, only with a row per lane instead of a class
 * per lane (the row sum Σ_j e_j runs over j in index order in each lane,
 * as the scalar sum does). The logits come in by gathers (class j of the
 * eight rows), so no row's tail costs a masked load. */
#if LSP_SIMD == 4
/* Eight rows of k <= 16 floats at xf (one masked load each) transposed in
 * registers: zt[j] = class j of the eight rows, as doubles. Unpacks and
 * in-lane shuffles make each 128-bit lane l of u_c hold class 4l + c of
 * four rows; two lane shuffles pair the halves of the eight rows. */
SV_ATTR static inline void SV_FN(cr_transpose16)(const float *xf, size_t k,
                                                 __m512d *zt) {
  const __mmask16 km = (__mmask16)((1u << k) - 1u);
  __m512 r[8], t[8], u[8];
  for (size_t i = 0; i < 8; i++) r[i] = _mm512_maskz_loadu_ps(km, xf + i * k);
  for (size_t i = 0; i < 8; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (size_t h = 0; h < 8; h += 4) { /* rows 0-3, then 4-7 */
    u[h + 0] = _mm512_shuffle_ps(t[h + 0], t[h + 2], 0x44);
    u[h + 1] = _mm512_shuffle_ps(t[h + 0], t[h + 2], 0xEE);
    u[h + 2] = _mm512_shuffle_ps(t[h + 1], t[h + 3], 0x44);
    u[h + 3] = _mm512_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
  }
  for (size_t c = 0; c < 4 && c < k; c++) {
    const __m512 lo =
        _mm512_shuffle_f32x4(u[c], u[4 + c], _MM_SHUFFLE(1, 0, 1, 0));
    const __m512 hi =
        _mm512_shuffle_f32x4(u[c], u[4 + c], _MM_SHUFFLE(3, 2, 3, 2));
    const __m512 a = _mm512_shuffle_f32x4(lo, lo, _MM_SHUFFLE(3, 1, 2, 0));
    const __m512 b = _mm512_shuffle_f32x4(hi, hi, _MM_SHUFFLE(3, 1, 2, 0));
    zt[c] = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
    if (c + 4 < k) zt[c + 4] = _mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 1));
    if (c + 8 < k) zt[c + 8] = _mm512_cvtps_pd(_mm512_castps512_ps256(b));
    if (c + 12 < k) zt[c + 12] = _mm512_cvtps_pd(_mm512_extractf32x8_ps(b, 1));
  }
}

/* lanes += (ip, fb) as eight 128-bit sums (low words, then high words), in
 * the lanes of m. */
SV_ATTR static inline void SV_FN(cr_lanes_add)(uint64_t *lanes,
                                               const uint64_t *ip,
                                               const uint64_t *fb, __mmask8 m) {
  const __m512i f = _mm512_loadu_si512((const void *)fb);
  const __m512i lo0 = _mm512_loadu_si512((const void *)lanes);
  const __m512i lo = _mm512_mask_add_epi64(lo0, m, lo0, f);
  const __mmask8 cy = _mm512_mask_cmplt_epu64_mask(m, lo, f);
  __m512i hi = _mm512_loadu_si512((const void *)(lanes + 8));
  hi = _mm512_mask_add_epi64(hi, m, hi,
                             _mm512_loadu_si512((const void *)ip));
  hi = _mm512_mask_add_epi64(hi, cy, hi, _mm512_set1_epi64(1));
  _mm512_storeu_si512((void *)lanes, lo);
  _mm512_storeu_si512((void *)(lanes + 8), hi);
}

/* One side of the rows' mesh shares (side 0: node j with w = 1 − f, side
 * 1: node j + 1 with w = f; lsp_calib_rowrec) added to the mesh of
 * lsp_calib_row.h: the six words of each lane (LO and HI of w, w·c and
 * w·correct) transposed into a vector per row, one addition a node. */
SV_ATTR static inline void SV_FN(cr_mesh8)(uint64_t *mesh,
                                           const lsp_calib_rowrec *rec,
                                           int side, __mmask8 ok, size_t nr) {
  const __m512i lo32 = _mm512_set1_epi64((long long)0xfffffffeu),
                one = _mm512_set1_epi64(1), zero = _mm512_setzero_si512();
  const __m512i w = _mm512_loadu_si512((const void *)rec->share[side]),
                wc = _mm512_loadu_si512((const void *)rec->share[2 + side]);
  const __m512i a0 = _mm512_and_si512(w, lo32),
                a1 = _mm512_add_epi64(_mm512_srli_epi64(w, 32),
                                      _mm512_slli_epi64(_mm512_and_si512(w, one), 32)),
                a2 = _mm512_and_si512(wc, lo32),
                a3 = _mm512_add_epi64(_mm512_srli_epi64(wc, 32),
                                      _mm512_slli_epi64(_mm512_and_si512(wc, one), 32)),
                a4 = _mm512_maskz_mov_epi64(ok, a0),
                a5 = _mm512_maskz_mov_epi64(ok, a1);
  /* t[0] (t[1]): the pairs (a0, a1), (a2, a3), (a4, a5) of the even (odd)
   * rows, 128-bit block q holding row 2q (2q + 1) */
  const __m512i t[2][3] = {
      {_mm512_unpacklo_epi64(a0, a1), _mm512_unpacklo_epi64(a2, a3),
       _mm512_unpacklo_epi64(a4, a5)},
      {_mm512_unpackhi_epi64(a0, a1), _mm512_unpackhi_epi64(a2, a3),
       _mm512_unpackhi_epi64(a4, a5)}};
  __m512i v[8];
  for (int o = 0; o < 2; o++) {
    const __m512i ulo = _mm512_shuffle_i64x2(t[o][0], t[o][1], _MM_SHUFFLE(1, 0, 1, 0)),
                  uhi = _mm512_shuffle_i64x2(t[o][0], t[o][1], _MM_SHUFFLE(3, 2, 3, 2)),
                  wlo = _mm512_shuffle_i64x2(t[o][2], zero, _MM_SHUFFLE(1, 0, 1, 0)),
                  whi = _mm512_shuffle_i64x2(t[o][2], zero, _MM_SHUFFLE(3, 2, 3, 2));
    v[0 + o] = _mm512_shuffle_i64x2(ulo, wlo, _MM_SHUFFLE(2, 0, 2, 0));
    v[2 + o] = _mm512_shuffle_i64x2(ulo, wlo, _MM_SHUFFLE(3, 1, 3, 1));
    v[4 + o] = _mm512_shuffle_i64x2(uhi, whi, _MM_SHUFFLE(2, 0, 2, 0));
    v[6 + o] = _mm512_shuffle_i64x2(uhi, whi, _MM_SHUFFLE(3, 1, 3, 1));
  }
  for (size_t r = 0; r < nr; r++) {
    uint64_t *m = mesh + 8 * ((size_t)rec->node[r] + (size_t)side);
    _mm512_store_si512((void *)m,
                       _mm512_add_epi64(_mm512_load_si512((const void *)m), v[r]));
  }
}

SV_ATTR static size_t SV_FN(cr_group)(
    const float *xf, const double *xd, size_t k, double inv_t, const int32_t *y,
    int bins, int right, int full, lsp_calib_rowstat *st, lsp_calib_rowrec *rec,
    const lsp_calib_grpsums *sums, lsp_calib_cwlist *list) {
  __m512d zt[LSP_CALIB_GROUP_KMAX], et[LSP_CALIB_GROUP_KMAX];
  const __m256i idx = _mm256_mullo_epi32(
      _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)k));
  const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
  __m512d mx = _mm512_set1_pd(-DBL_MAX), fin = zero, mx1 = mx, fin1 = zero;
  { /* the rows four groups ahead, which the gathers below do not prefetch */
    const char *ahead =
        xf ? (const char *)(xf + 32 * k) : (const char *)(xd + 32 * k);
    const size_t bytes = 8 * k * (xf ? sizeof *xf : sizeof *xd);
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T0);
  }
  if (xf && k <= 16) SV_FN(cr_transpose16)(xf, k, zt);
  for (size_t j = 0; j < k; j++) {
    const __m512d z =
        xf ? (k <= 16 ? zt[j]
                      : _mm512_cvtps_pd(_mm256_i32gather_ps(xf + j, idx, 4)))
           : _mm512_i32gather_pd(idx, xd + j, 8);
    zt[j] = z;
    /* two chains each (max and the NaN test are order-free for finite
     * rows; mx's sign of zero does not reach any result) */
    if (j & 1) {
      mx1 = _mm512_max_pd(z, mx1);
      fin1 = _mm512_fmadd_pd(z, zero, fin1);
    } else {
      mx = _mm512_max_pd(z, mx);
      fin = _mm512_fmadd_pd(z, zero, fin); /* NaN: a non-finite logit */
    }
  }
  mx = _mm512_max_pd(mx, mx1);
  fin = _mm512_add_pd(fin, fin1);
  const unsigned finite = (unsigned)_mm512_cmp_pd_mask(fin, fin, _CMP_ORD_Q);
  const size_t good = (size_t)__builtin_ctz(~finite); /* leading finite rows */
  if (!good) return 0;
  /* the exponentials and their sum in index order; the first index of the
   * max and the label's logit */
  const __m512d vt = _mm512_set1_pd(inv_t);
  const __m512i yv = _mm512_cvtepi32_epi64(
      _mm256_loadu_si256((const __m256i *)(const void *)y));
  /* the label's logit of each row, gathered (y < k: checked by the caller) */
  const __m256i iy = _mm256_add_epi32(
      idx, _mm256_loadu_si256((const __m256i *)(const void *)y));
  const __m512d zy = xf ? _mm512_cvtps_pd(_mm256_i32gather_ps(xf, iy, 4))
                        : _mm512_i32gather_pd(iy, xd, 8);
  __m512d s = zero;
  for (size_t j = 0; j < k; j++) {
    const __m512d d = _mm512_sub_pd(zt[j], mx); /* ·1/T: exact at T = 1 */
    const __m512d e = SV_FN(cr_exp)(inv_t == 1.0 ? d : _mm512_mul_pd(d, vt));
    et[j] = e;
    s = _mm512_add_pd(s, e);
  }
  __m512i top = _mm512_set1_epi64((long long)k);
  for (size_t j = k; j-- > 0;)
    top = _mm512_mask_mov_epi64(top, _mm512_cmp_pd_mask(zt[j], mx, _CMP_EQ_OQ),
                                _mm512_set1_epi64((long long)j));
  const __m512d inv = _mm512_div_pd(one, s),
                dz = _mm512_mul_pd(_mm512_sub_pd(zy, mx), vt);
  /* the NLL log s − dz of the finite rows (0 in the others) */
  const __m512d nll = _mm512_maskz_sub_pd((__mmask8)((1u << good) - 1u),
                                          SV_FN(cr_log)(s), dz);
  double il[8], nl[8];
  int64_t tl[8];
  _mm512_storeu_pd(il, inv);
  _mm512_storeu_pd(nl, nll);
  _mm512_storeu_si512((void *)tl, top);
  cr_st_store(st, il, nl, tl, 8);
  __m512d br = zero;
  if (full) {
    const __m512d vM = _mm512_set1_pd((double)bins),
                  top_b = _mm512_set1_pd((double)bins - 1.0);
    const __mmask8 live = (__mmask8)((1u << good) - 1u);
    const __m512i row1 = _mm512_set1_epi64((long long)((uint64_t)1 << 42));
    const __m512i pos1 = _mm512_set1_epi64((long long)((uint64_t)1 << 21));
    const __m512i low1 = _mm512_set1_epi64(1), nolow = _mm512_set1_epi64(-2);
    uint64_t *const z0 = sums->z0;
    uint32_t *lcell = list->cell;
    uint64_t *lfb = list->fb, *linc = list->inc;
    size_t ln = list->n;
    /* with right-closed edges a listed cell is found from ceil(x) (bin
     * ceil(x) − 1), so the base counts one less */
    __m256i cbase = _mm256_set1_epi32(right ? -1 : 0);
    const __m256i cstep = _mm256_set1_epi32(bins);
    __m512i jv = _mm512_setzero_si512();
    for (size_t j = 0; j < k; j++) {
      const __m512d p = _mm512_mul_pd(et[j], inv);
      const __mmask8 lab = _mm512_cmpeq_epi64_mask(yv, jv);
      /* the rows whose top class is j leave it to the caller (the
       * record's bin and confidence are its bin and probability) */
      const __mmask8 mine = live & (__mmask8)~_mm512_cmpeq_epi64_mask(top, jv);
      const __m512d d = _mm512_mask_sub_pd(p, lab, p, one);
      br = _mm512_add_pd(br, _mm512_mul_pd(d, d));
      /* the classwise bin (lsp_calib_bin) and p in fixed point. p <= 1
       * (the top class's e is exactly 1, so p = 1/s <= 1, every other p <=
       * 1/2), so x = p·M lies in [0, M]: with right-closed edges the bin is
       * ceil(x) − 1 raised to 0 (the first bin is x <= 1), with left-closed
       * ones trunc(x) lowered to M − 1 — lsp_calib_bin's trunc, edge step
       * and clamps for such x */
      const __m512d x = _mm512_mul_pd(p, vM);
      __m512d cb;
      __mmask8 first;
      if (right) {
        cb = _mm512_roundscale_pd(x, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
        first = _mm512_mask_cmp_pd_mask(mine, x, one, _CMP_LE_OQ);
      } else {
        cb = _mm512_min_pd(
            _mm512_roundscale_pd(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC), top_b);
        first = _mm512_mask_cmp_pd_mask(mine, cb, zero, _CMP_EQ_OQ);
      }
      unsigned near = SV_FN(cr_near8)(x, mine);
      if (__builtin_expect(near != 0, 0)) { /* lanes beside an edge: lsp_calib_bin */
        double pl[8], cl[8];
        _mm512_storeu_pd(pl, p);
        _mm512_storeu_pd(cl, cb);
        for (; near; near &= near - 1u) {
          const int l = __builtin_ctz(near);
          const int b =
              lsp_calib_bin(pl[l], bins, right ? LSP_CALIB_EDGES_RIGHT : LSP_CALIB_EDGES_LEFT);
          cl[l] = (double)(b + right); /* a right-closed cell is found from bin + 1 */
          first = (__mmask8)(b == 0 ? first | (1u << l) : first & ~(1u << l));
        }
        cb = _mm512_loadu_pd(cl);
      }
      const __mmask8 rest = mine & (__mmask8)~first;
      const __m512i w = SV_FN(cr_word8)(p), f = _mm512_and_si512(w, nolow);
      const __m512i base = _mm512_or_si512(row1, _mm512_and_si512(w, low1));
      const __m512i in = _mm512_mask_add_epi64(base, lab, base, pos1);
      /* the first bin: lanes of fraction sums with their carries */
      uint64_t *zj = z0 + 16 * j;
      const __m512i lo0 = _mm512_loadu_si512((const void *)zj);
      const __m512i lo1 = _mm512_mask_add_epi64(lo0, first, lo0, f);
      const __mmask8 cy = _mm512_mask_cmplt_epu64_mask(first, lo1, f);
      __m512i hi = _mm512_mask_add_epi64(
          _mm512_loadu_si512((const void *)(zj + 8)), first,
          _mm512_loadu_si512((const void *)(zj + 8)), in);
      hi = _mm512_mask_add_epi64(hi, cy, hi, low1);
      _mm512_storeu_si512((void *)zj, lo1);
      _mm512_storeu_si512((void *)(zj + 8), hi);
      /* the other bins: their lanes packed to the front (in registers:
       * a compressing store to memory is slow on some cores) and appended
       * as whole vectors, the list advancing by their number */
      _mm256_storeu_si256(
          (__m256i *)(void *)(lcell + ln),
          _mm256_maskz_compress_epi32(rest, _mm256_add_epi32(_mm512_cvttpd_epi32(cb), cbase)));
      _mm512_storeu_si512((void *)(lfb + ln), _mm512_maskz_compress_epi64(rest, f));
      _mm512_storeu_si512((void *)(linc + ln), _mm512_maskz_compress_epi64(rest, in));
      ln += (size_t)__builtin_popcount((unsigned)rest);
      cbase = _mm256_add_epi32(cbase, cstep);
      jv = _mm512_add_epi64(jv, low1);
    }
    list->n = ln;
  }
  SV_FN(cr_rec8)(inv, nll, br, bins, right, full, rec);
  if (full) { /* the NLL, the Brier term and the mesh shares of the rows */
    const __mmask8 live = (__mmask8)((1u << good) - 1u);
    const __mmask8 ok = live & _mm512_cmpeq_epi64_mask(top, yv);
    SV_FN(cr_lanes_add)(sums->lanes, rec->nll_ip, rec->nll_fb, live);
    SV_FN(cr_lanes_add)(sums->lanes + 16, rec->br_ip, rec->br_fb, live);
    SV_FN(cr_mesh8)(sums->mesh, rec, 0, ok, good);
    SV_FN(cr_mesh8)(sums->mesh, rec, 1, ok, good);
  }
  return good;
}
#endif
