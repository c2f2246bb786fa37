/* lsp_calib_group4_body.h — lsp_calib_row.h's group function at the AVX2
 * level: the same eight rows as AVX-512's (lsp_calib_group_body.h), taken
 * as two halves of four rows, each half the four lanes of AVX2 vectors.
 * Compiled by lsp_calib_row.c after lsp_calib_row_body.h at level 3 only
 * (it uses cr_exp, cr_log and cr_word4). Not a header to include anywhere
 * else.
 *
 * Every number is AVX-512's bit for bit: each lane does the operations of
 * an AVX-512 lane on the same values in the same order (both levels fuse
 * the exponential's multiply-adds), and each half writes the lanes of its
 * rows (lanes 4h..4h + 3 of the eight-lane sums). Only the classwise list's
 * order differs (half by half, then class by class), which its integer
 * sums do not see. AVX2 lacks masks, 64-bit conversions, unsigned compares
 * and compresses: the masks are lanes of all ones, the conversions come
 * from the doubles' fields (cr_word4) or from 2^52 added, the unsigned
 * compare is a signed one with the sign bits flipped, and the compress a
 * permutation from a table. */
#if LSP_SIMD == 3
/* For each 4-bit mask, its set lanes in ascending order, a nibble each
 * (the lanes past their count are don't-cares). */
static const uint16_t cr_pack4[16] = {0x0000, 0x0000, 0x0001, 0x0010, 0x0002, 0x0020,
                                      0x0021, 0x0210, 0x0003, 0x0030, 0x0031, 0x0310,
                                      0x0032, 0x0320, 0x0321, 0x3210};

/* vpermd's indices that move mask m's set lanes to the front: of 64-bit
 * lanes (*w) and of 32-bit lanes (*n, in the low four). */
SV_ATTR static inline void SV_FN(cr_pack_idx)(unsigned m, __m256i *w, __m256i *n) {
  const __m256i nib = _mm256_set1_epi32((int)cr_pack4[m]);
  const __m256i three = _mm256_set1_epi32(3);
  const __m256i lw = _mm256_and_si256(
      _mm256_srlv_epi32(nib, _mm256_setr_epi32(0, 0, 4, 4, 8, 8, 12, 12)), three);
  *w = _mm256_add_epi32(_mm256_add_epi32(lw, lw), _mm256_setr_epi32(0, 1, 0, 1, 0, 1, 0, 1));
  *n = _mm256_and_si256(
      _mm256_srlv_epi32(nib, _mm256_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0)), three);
}

/* a <u b per 64-bit lane, as all ones. */
SV_ATTR static inline __m256i SV_FN(cr_ltu4)(__m256i a, __m256i b) {
  const __m256i s = _mm256_set1_epi64x((long long)(1ull << 63));
  return _mm256_cmpgt_epi64(_mm256_xor_si256(b, s), _mm256_xor_si256(a, s));
}

/* The integer value of doubles d that are whole numbers in [0, 2^52). */
SV_ATTR static inline __m256i SV_FN(cr_int4)(__m256d d) {
  const __m256d big = _mm256_set1_pd(0x1p52);
  return _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(d, big)),
                          _mm256_castpd_si256(big));
}

/* cr_pair8 of four lanes: the words of v at ip and fb, the lanes out of
 * the fixed point's range [0, 2^40) as bits (their words 0). */
SV_ATTR static inline unsigned SV_FN(cr_pair4)(__m256d v, uint64_t *ip, uint64_t *fb) {
  const __m256d in = _mm256_and_pd(_mm256_cmp_pd(v, _mm256_setzero_pd(), _CMP_GE_OQ),
                                   _mm256_cmp_pd(v, _mm256_set1_pd(0x1p40), _CMP_LT_OQ));
  const __m256d vi = _mm256_and_pd(in, v); /* 0 out of range: words 0 */
  const __m256d i = _mm256_round_pd(vi, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  /* fr = v − trunc(v) in [0, 1): its word's integer bit is 0 */
  _mm256_storeu_si256((__m256i *)(void *)ip, SV_FN(cr_int4)(i));
  _mm256_storeu_si256((__m256i *)(void *)fb, SV_FN(cr_word4)(_mm256_sub_pd(vi, i)));
  return (unsigned)_mm256_movemask_pd(in) ^ 0xfu;
}

/* The lanes whose x = p·bins lies beside an edge (lsp_calib_bin's test:
 * the low 26 bits of x + 1.5·2^26 zero), as bits. */
SV_ATTR static inline unsigned SV_FN(cr_near4)(__m256d x) {
  const __m256i t =
      _mm256_castpd_si256(_mm256_add_pd(x, _mm256_set1_pd(LSP_CALIB_NEAR_MAGIC)));
  return (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(
      _mm256_and_si256(t, _mm256_set1_epi64x(LSP_CALIB_NEAR_BITS)), _mm256_setzero_si256())));
}

/* cr_rec8 of the four rows r0..r0 + 3 (lanes) into o's entries r0.. */
SV_ATTR static inline unsigned SV_FN(cr_rec4)(__m256d c, __m256d nll, __m256d br, int bins,
                                              int right, int full, lsp_calib_rowrec *o,
                                              size_t r0) {
  const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
  const __m256d x = _mm256_mul_pd(c, _mm256_set1_pd((double)bins));
  __m256d b = _mm256_round_pd(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  if (right) b = _mm256_sub_pd(b, _mm256_and_pd(_mm256_cmp_pd(b, x, _CMP_EQ_OQ), one));
  b = _mm256_min_pd(_mm256_max_pd(b, zero), _mm256_set1_pd((double)bins - 1.0));
  _mm_storeu_si128((__m128i *)(void *)(o->bin + r0), _mm256_cvttpd_epi32(b));
  const unsigned near = SV_FN(cr_near4)(x);
  if (__builtin_expect(near != 0, 0)) { /* lanes beside an edge: lsp_calib_bin */
    double cl[4];
    _mm256_storeu_pd(cl, c);
    lsp_calib_bin_lanes(cl, near, bins, right, o->bin + r0);
  }
  _mm256_storeu_si256((__m256i *)(void *)(o->conf + r0), SV_FN(cr_word4)(c));
  if (!full) return 0;
  const __m256d xn = _mm256_mul_pd(c, _mm256_set1_pd((double)(LSP_SMECE_NODES - 1)));
  const __m256d jd = _mm256_min_pd(
      _mm256_max_pd(_mm256_round_pd(xn, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC), zero),
      _mm256_set1_pd((double)(LSP_SMECE_NODES - 2)));
  const __m256d f = _mm256_sub_pd(xn, jd), g = _mm256_sub_pd(one, f);
  _mm_storeu_si128((__m128i *)(void *)(o->node + r0), _mm256_cvttpd_epi32(jd));
  const __m256d sh[4] = {g, f, _mm256_mul_pd(g, c), _mm256_mul_pd(f, c)};
  for (int t = 0; t < 4; t++)
    _mm256_storeu_si256((__m256i *)(void *)(o->share[t] + r0), SV_FN(cr_word4)(sh[t]));
  return SV_FN(cr_pair4)(nll, o->nll_ip + r0, o->nll_fb + r0) |
         SV_FN(cr_pair4)(br, o->br_ip + r0, o->br_fb + r0);
}

/* cr_lanes_add of four lanes (lanes[0..4) the low words, lanes[8..12) the
 * high ones) where live is all ones. */
SV_ATTR static inline void SV_FN(cr_lanes_add4)(uint64_t *lanes, const uint64_t *ip,
                                                const uint64_t *fb, __m256i live) {
  const __m256i f = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(const void *)fb), live);
  const __m256i lo = _mm256_add_epi64(_mm256_loadu_si256((const __m256i *)(void *)lanes), f);
  __m256i hi = _mm256_add_epi64(
      _mm256_loadu_si256((const __m256i *)(void *)(lanes + 8)),
      _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(const void *)ip), live));
  hi = _mm256_sub_epi64(hi, SV_FN(cr_ltu4)(lo, f)); /* the carry: −(−1) */
  _mm256_storeu_si256((__m256i *)(void *)lanes, lo);
  _mm256_storeu_si256((__m256i *)(void *)(lanes + 8), hi);
}

/* cr_mesh8 of four rows (lanes): rows r < nr add their six words (LO and
 * HI of w, w·c and, where ok, w·correct) to their node's words 0..5. */
SV_ATTR static inline void SV_FN(cr_mesh4)(uint64_t *mesh, const lsp_calib_rowrec *rec,
                                           size_t r0, int side, __m256i ok, size_t nr) {
  const __m256i lo32 = _mm256_set1_epi64x((long long)0xfffffffeu),
                one = _mm256_set1_epi64x(1);
  const __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(rec->share[side] + r0)),
                wc = _mm256_loadu_si256(
                    (const __m256i *)(const void *)(rec->share[2 + side] + r0));
  const __m256i a0 = _mm256_and_si256(w, lo32),
                a1 = _mm256_add_epi64(_mm256_srli_epi64(w, 32),
                                      _mm256_slli_epi64(_mm256_and_si256(w, one), 32)),
                a2 = _mm256_and_si256(wc, lo32),
                a3 = _mm256_add_epi64(_mm256_srli_epi64(wc, 32),
                                      _mm256_slli_epi64(_mm256_and_si256(wc, one), 32)),
                a4 = _mm256_and_si256(a0, ok), a5 = _mm256_and_si256(a1, ok);
  /* rows as vectors: (a0, a1, a2, a3) of row r by a 4×4 transpose, (a4, a5)
   * of row r as 128 bits */
  const __m256i t0 = _mm256_unpacklo_epi64(a0, a1), t1 = _mm256_unpackhi_epi64(a0, a1),
                t2 = _mm256_unpacklo_epi64(a2, a3), t3 = _mm256_unpackhi_epi64(a2, a3),
                u0 = _mm256_unpacklo_epi64(a4, a5), u1 = _mm256_unpackhi_epi64(a4, a5);
  const __m256i v[4] = {
      _mm256_permute2x128_si256(t0, t2, 0x20), _mm256_permute2x128_si256(t1, t3, 0x20),
      _mm256_permute2x128_si256(t0, t2, 0x31), _mm256_permute2x128_si256(t1, t3, 0x31)};
  const __m128i q[4] = {_mm256_castsi256_si128(u0), _mm256_castsi256_si128(u1),
                        _mm256_extracti128_si256(u0, 1), _mm256_extracti128_si256(u1, 1)};
  for (size_t r = 0; r < nr; r++) {
    uint64_t *m = mesh + 8 * ((size_t)rec->node[r0 + r] + (size_t)side);
    _mm256_store_si256((__m256i *)(void *)m,
                       _mm256_add_epi64(_mm256_load_si256((const __m256i *)(void *)m), v[r]));
    _mm_store_si128((__m128i *)(void *)(m + 4),
                    _mm_add_epi64(_mm_load_si128((const __m128i *)(void *)(m + 4)), q[r]));
  }
}

/* Four rows of k <= 64 logits at xf or xd (rows k apart) as class vectors:
 * zt[j] = class j of the four rows, as doubles. Blocks of four classes
 * are loaded row by row (the last block masked, reading nothing past a
 * row's end) and transposed in registers. */
SV_ATTR static inline void SV_FN(cr_transpose4)(const float *xf, const double *xd, size_t k,
                                                __m256d *zt) {
  for (size_t j = 0; j < k; j += 4) {
    const size_t len = k - j < 4 ? k - j : 4;
    if (xf) {
      __m128 r[4];
      const __m128i m = _mm_cmpgt_epi32(_mm_set1_epi32((int)len), _mm_setr_epi32(0, 1, 2, 3));
      for (size_t i = 0; i < 4; i++)
        r[i] = len == 4 ? _mm_loadu_ps(xf + i * k + j) : _mm_maskload_ps(xf + i * k + j, m);
      _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
      for (size_t c = 0; c < len; c++) zt[j + c] = _mm256_cvtps_pd(r[c]);
    } else {
      __m256d r[4];
      const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)len),
                                           _mm256_setr_epi64x(0, 1, 2, 3));
      for (size_t i = 0; i < 4; i++)
        r[i] = len == 4 ? _mm256_loadu_pd(xd + i * k + j) : _mm256_maskload_pd(xd + i * k + j, m);
      const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]),
                    t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
      const __m256d c4[4] = {
          _mm256_permute2f128_pd(t0, t2, 0x20), _mm256_permute2f128_pd(t1, t3, 0x20),
          _mm256_permute2f128_pd(t0, t2, 0x31), _mm256_permute2f128_pd(t1, t3, 0x31)};
      for (size_t c = 0; c < len; c++) zt[j + c] = c4[c];
    }
  }
}

/* cr_group's work for rows r0..r0 + 3 of the eight (r0 = 0 or 4), whose
 * logits start at xf or xd and labels at y: their st, rec entries, lanes
 * of the sums and classwise list entries. Returns the number of leading
 * finite rows of the four. */
SV_ATTR static size_t SV_FN(cr_half)(const float *xf, const double *xd, size_t k, double inv_t,
                                     const int32_t *y, int bins, int right, int full,
                                     lsp_calib_rowstat *st, lsp_calib_rowrec *rec,
                                     const lsp_calib_grpsums *sums, lsp_calib_cwlist *list,
                                     size_t r0) {
  __m256d zt[LSP_CALIB_GROUP_KMAX], et[LSP_CALIB_GROUP_KMAX];
  const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
  SV_FN(cr_transpose4)(xf, xd, k, zt);
  __m256d mx = _mm256_set1_pd(-DBL_MAX), fin = zero, mx1 = mx, fin1 = zero;
  for (size_t j = 0; j < k; j++) { /* as cr_group: two chains each */
    if (j & 1) {
      mx1 = _mm256_max_pd(zt[j], mx1);
      fin1 = _mm256_fmadd_pd(zt[j], zero, fin1);
    } else {
      mx = _mm256_max_pd(zt[j], mx);
      fin = _mm256_fmadd_pd(zt[j], zero, fin);
    }
  }
  mx = _mm256_max_pd(mx, mx1);
  fin = _mm256_add_pd(fin, fin1);
  const unsigned finite = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(fin, fin, _CMP_ORD_Q));
  const size_t good = (size_t)__builtin_ctz(~finite);
  if (!good) return 0;
  const __m256i live = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)good),
                                          _mm256_setr_epi64x(0, 1, 2, 3));
  const __m256d vt = _mm256_set1_pd(inv_t);
  const __m256i yv = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(const void *)y));
  __m256d s = zero;
  for (size_t j = 0; j < k; j++) {
    const __m256d d = _mm256_sub_pd(zt[j], mx);
    const __m256d e = SV_FN(cr_exp)(inv_t == 1.0 ? d : _mm256_mul_pd(d, vt));
    et[j] = e;
    s = _mm256_add_pd(s, e);
  }
  __m256i top = _mm256_set1_epi64x((long long)k);
  for (size_t j = k; j-- > 0;)
    top = _mm256_castpd_si256(_mm256_blendv_pd(
        _mm256_castsi256_pd(top), _mm256_castsi256_pd(_mm256_set1_epi64x((long long)j)),
        _mm256_cmp_pd(zt[j], mx, _CMP_EQ_OQ)));
  /* the label's logit of each row, from the class vectors (y < k) */
  double zd[LSP_CALIB_GROUP_KMAX][4];
  for (size_t j = 0; j < k; j++) _mm256_storeu_pd(zd[j], zt[j]);
  const __m256d zy = _mm256_setr_pd(zd[y[0]][0], zd[y[1]][1], zd[y[2]][2], zd[y[3]][3]);
  const __m256d inv = _mm256_div_pd(one, s),
                dz = _mm256_mul_pd(_mm256_sub_pd(zy, mx), vt);
  const __m256d nll =
      _mm256_and_pd(_mm256_sub_pd(SV_FN(cr_log)(s), dz), _mm256_castsi256_pd(live));
  double il[4], nl[4];
  int64_t tl[4];
  _mm256_storeu_pd(il, inv);
  _mm256_storeu_pd(nl, nll);
  _mm256_storeu_si256((__m256i *)(void *)tl, top);
  cr_st_store(st, il, nl, tl, 4);
  __m256d br = zero;
  if (full) {
    const __m256d vM = _mm256_set1_pd((double)bins), top_b = _mm256_set1_pd((double)bins - 1.0);
    const __m256i row1 = _mm256_set1_epi64x((long long)((uint64_t)1 << 42)),
                  pos1 = _mm256_set1_epi64x((long long)((uint64_t)1 << 21)),
                  low1 = _mm256_set1_epi64x(1), nolow = _mm256_set1_epi64x(-2);
    uint32_t *lcell = list->cell;
    uint64_t *lfb = list->fb, *linc = list->inc;
    size_t ln = list->n;
    __m128i cbase = _mm_set1_epi32(right ? -1 : 0);
    const __m128i cstep = _mm_set1_epi32(bins);
    for (size_t j = 0; j < k; j++) {
      const __m256i jv = _mm256_set1_epi64x((long long)j);
      const __m256d p = _mm256_mul_pd(et[j], inv);
      const __m256i lab = _mm256_cmpeq_epi64(yv, jv);
      const __m256i mine = _mm256_andnot_si256(_mm256_cmpeq_epi64(top, jv), live);
      /* p − 1 at the label, p − 0 = p elsewhere (as cr_group's masked
       * subtraction) */
      const __m256d d = _mm256_sub_pd(p, _mm256_and_pd(_mm256_castsi256_pd(lab), one));
      br = _mm256_add_pd(br, _mm256_mul_pd(d, d));
      const __m256d x = _mm256_mul_pd(p, vM);
      __m256d cb;
      __m256i first;
      if (right) {
        cb = _mm256_round_pd(x, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
        first = _mm256_and_si256(mine, _mm256_castpd_si256(_mm256_cmp_pd(x, one, _CMP_LE_OQ)));
      } else {
        cb = _mm256_min_pd(_mm256_round_pd(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC), top_b);
        first = _mm256_and_si256(mine, _mm256_castpd_si256(_mm256_cmp_pd(cb, zero, _CMP_EQ_OQ)));
      }
      unsigned near = SV_FN(cr_near4)(x);
      if (__builtin_expect(near != 0, 0)) { /* lanes beside an edge: lsp_calib_bin */
        double pl[4], cl[4];
        int64_t fl[4];
        _mm256_storeu_pd(pl, p);
        _mm256_storeu_pd(cl, cb);
        _mm256_storeu_si256((__m256i *)(void *)fl, first);
        for (; near; near &= near - 1u) {
          const int l = __builtin_ctz(near);
          const int b =
              lsp_calib_bin(pl[l], bins, right ? LSP_CALIB_EDGES_RIGHT : LSP_CALIB_EDGES_LEFT);
          cl[l] = (double)(b + right); /* a right-closed cell is found from bin + 1 */
          fl[l] = b == 0 ? -1 : 0; /* the first bin (kept to the lanes of mine) */
        }
        cb = _mm256_loadu_pd(cl);
        first = _mm256_and_si256(mine, _mm256_loadu_si256((const __m256i *)(const void *)fl));
      }
      const __m256i rest = _mm256_andnot_si256(first, mine);
      const __m256i w = SV_FN(cr_word4)(p), f = _mm256_and_si256(w, nolow);
      const __m256i base = _mm256_or_si256(row1, _mm256_and_si256(w, low1));
      const __m256i in = _mm256_add_epi64(base, _mm256_and_si256(lab, pos1));
      /* the first bin: this half's lanes of the class's sums */
      uint64_t *zj = sums->z0 + 16 * j + r0;
      const __m256i lo =
          _mm256_add_epi64(_mm256_loadu_si256((const __m256i *)(void *)zj),
                           _mm256_and_si256(f, first));
      const __m256i cy = _mm256_and_si256(first, SV_FN(cr_ltu4)(lo, f));
      __m256i hi = _mm256_add_epi64(_mm256_loadu_si256((const __m256i *)(void *)(zj + 8)),
                                    _mm256_and_si256(in, first));
      hi = _mm256_sub_epi64(hi, cy);
      _mm256_storeu_si256((__m256i *)(void *)zj, lo);
      _mm256_storeu_si256((__m256i *)(void *)(zj + 8), hi);
      /* the other bins: their lanes packed to the front, appended whole */
      const unsigned rm = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(rest));
      __m256i pw, pn;
      SV_FN(cr_pack_idx)(rm, &pw, &pn);
      const __m128i cell = _mm_add_epi32(_mm256_cvttpd_epi32(cb), cbase);
      _mm_storeu_si128((__m128i *)(void *)(lcell + ln),
                       _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(
                           _mm256_castsi128_si256(cell), pn)));
      _mm256_storeu_si256((__m256i *)(void *)(lfb + ln), _mm256_permutevar8x32_epi32(f, pw));
      _mm256_storeu_si256((__m256i *)(void *)(linc + ln), _mm256_permutevar8x32_epi32(in, pw));
      ln += (size_t)__builtin_popcount(rm);
      cbase = _mm_add_epi32(cbase, cstep);
    }
    list->n = ln;
  }
  const unsigned out = SV_FN(cr_rec4)(inv, nll, br, bins, right, full, rec, r0);
  rec->out |= out << r0;
  if (full) {
    const __m256i ok = _mm256_and_si256(live, _mm256_cmpeq_epi64(top, yv));
    SV_FN(cr_lanes_add4)(sums->lanes + r0, rec->nll_ip + r0, rec->nll_fb + r0, live);
    SV_FN(cr_lanes_add4)(sums->lanes + 16 + r0, rec->br_ip + r0, rec->br_fb + r0, live);
    SV_FN(cr_mesh4)(sums->mesh, rec, r0, 0, ok, good);
    SV_FN(cr_mesh4)(sums->mesh, rec, r0, 1, ok, good);
  }
  return good;
}

/* lsp_calib_group_fn at level 3: rows 0..3, then (all finite) rows 4..7. */
SV_ATTR static size_t SV_FN(cr_group)(const float *xf, const double *xd, size_t k,
                                      double inv_t, const int32_t *y, int bins, int right,
                                      int full, lsp_calib_rowstat *st, lsp_calib_rowrec *rec,
                                      const lsp_calib_grpsums *sums, lsp_calib_cwlist *list) {
  { /* the rows four groups ahead */
    const char *ahead = xf ? (const char *)(xf + 32 * k) : (const char *)(xd + 32 * k);
    const size_t bytes = 8 * k * (xf ? sizeof *xf : sizeof *xd);
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T0);
  }
  rec->out = 0;
  const size_t g0 = SV_FN(cr_half)(xf, xd, k, inv_t, y, bins, right, full, st, rec, sums,
                                   list, 0);
  if (g0 < 4) return g0;
  return 4 + SV_FN(cr_half)(xf ? xf + 4 * k : NULL, xd ? xd + 4 * k : NULL, k, inv_t, y + 4,
                            bins, right, full, st + 4, rec, sums, list, 4);
}
#endif
