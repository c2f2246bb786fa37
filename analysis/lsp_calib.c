/* lsp_calib.c — the passes of the streaming calibration accumulator (its
 * life is in lsp_calib_acc.c, its metrics and the result record in
 * lsp_calib_metrics.c).
 *
 * One pass per row: validate, find the top label, bin the confidence and add
 * integer / fixed-point sums (see lsp_calib_impl.h for why fixed point).
 * Rows are split over threads into private accumulators which are merged
 * afterwards (lsp_calib_add.c); the merge is integer addition, so the
 * split never shows. */
#include "analysis/lsp_calib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib_impl.h"
#include "analysis/lsp_calib_row.h"
#include "core/base/lsp_error.h"

/* ---- the row kernels ---------------------------------------------------- */

/* The input matrix: float32 or float64 values, read as doubles. Converting
 * a float to double is exact, so one body serves both: float64 input is
 * never rounded through float32 (0.2 stays 0.2 and lands on its bin edge).
 * The bodies below are inlined into a float and a double instance each. */
typedef struct {
  const float *f;
  const double *d; /* non-NULL for float64 input */
} mat;

static inline __attribute__((always_inline)) double at(mat x, size_t i) {
  return x.d ? x.d[i] : (double)x.f[i];
}

/* The classwise sums of a range go first into one 128-bit word per class
 * and bin, everything in one addition: the low 64 bits hold the fraction
 * bits of Σ v_j (lsp_calib_fix_bits), and the high word three 21-bit
 * fields: the integer part of Σ v_j (bits 0-20), the positives (21-41) and
 * the rows (42-62). Each row adds at most 1 to each field (v_j <= 1, and
 * v_j = 1 has no fraction bits), so a flush every CW_ROWS = 2^20 rows
 * (cw_flush) keeps every field below 2^21: the same integers as separate
 * sums, in one read-modify-write per class instead of two. */
#define CW_POS_SHIFT 21
#define CW_ROW_ONE ((uint64_t)1 << 42)
#define CW_FIELD (((uint64_t)1 << 21) - 1)

/* One contribution to a packed word: fraction bits fb into the low word,
 * its carry (by comparison) and the fields' increments inc into the high. */
static inline __attribute__((always_inline)) void cw_add(lsp_calib_fix *f, uint64_t fb,
                                                         uint64_t inc) {
  const uint64_t lo = f->lo + fb;
  f->hi += (uint64_t)(lo < fb) + inc;
  f->lo = lo;
}

/* The Brier term and the classwise bins of one valid row of probabilities
 * p (label yi): for each class the bin of v_j (lsp_calib_bin, inlined
 * without branches), one to its count and to its positives if j = yi, and
 * v_j in fixed point to its sum, all in the packed word (see above). The
 * probabilities lie in [0, 1], so no fixed-point sum can overflow (64
 * integer bits). */
static inline __attribute__((always_inline)) double classwise_row(
    lsp_calib_acc *a, lsp_calib_fix *cwcp, mat p, size_t r, size_t k, uint32_t yi) {
  const int bins = a->bins;
  const lsp_calib_edges edges = a->edges;
  double br = 0.0;
  for (size_t j = 0; j < k; j++) {
    double v = at(p, r + j), t = j == yi ? 1.0 : 0.0;
    br += (v - t) * (v - t);
    size_t c = j * (size_t)bins + (size_t)lsp_calib_bin(v, bins, edges);
    const uint64_t x = lsp_calib_fix_word(v); /* v in [0, 1] */
    cw_add(&cwcp[c], x & ~(uint64_t)1,
           CW_ROW_ONE | (uint64_t)(j == yi) << CW_POS_SHIFT | (x & 1));
  }
  return br;
}

/* classwise_row for a row of logits, whose bins cb and fixed-point words
 * fx (lsp_calib_bins_fn) come vectorized: the same sums, without the
 * per-class conversions (the Brier term comes from lsp_calib_rec_fn). The
 * 128-bit addition in two words (the carry by comparison), the positive
 * once after the loop. Class `skip` (< k: the row's top class, whose cell
 * the per-bin words hold; lg_pack) is left out. */
static inline __attribute__((always_inline)) void classwise_logits_row(
    lsp_calib_fix *cwcp, const int32_t *cb, const uint64_t *fx, size_t k,
    uint32_t yi, size_t skip) {
  for (size_t j = 0; j < k; j++) {
    if (j == skip) continue;
    const uint64_t x = fx[j];
    cw_add(&cwcp[cb[j]], x & ~(uint64_t)1, CW_ROW_ONE | (x & 1));
  }
  if (yi != skip) cwcp[cb[yi]].hi += (uint64_t)1 << CW_POS_SHIFT;
}

/* Moves the packed classwise sums into the accumulator, and clears them. */
static void cw_flush(lsp_calib_acc *a, lsp_calib_fix *cwcp) {
  if (!cwcp) return;
  for (size_t i = 0; i < a->k * (size_t)a->bins; i++) {
    const uint64_t hi = cwcp[i].hi;
    a->cw_count[i] += hi >> 42;
    a->cw_pos[i] += (hi >> CW_POS_SHIFT) & CW_FIELD;
    lsp_u128 sum = lsp_calib_fix_get(a->cw_sum[i]) +
                   (((lsp_u128)(hi & CW_FIELD) << 64) | cwcp[i].lo);
    a->cw_sum[i].lo = (uint64_t)sum;
    a->cw_sum[i].hi = (uint64_t)(sum >> 64);
    cwcp[i].lo = cwcp[i].hi = 0;
  }
}

/* Rows per flush of the packed classwise sums (see above). */
#define CW_ROWS ((size_t)1 << 20)

/* Entries of the group function's classwise list (lsp_calib_cwlist): room
 * for a group at the largest k and as many entries again. */
#define CW_LIST (16 * (size_t)LSP_CALIB_GROUP_KMAX + 16)

/* Adds the listed contributions to the packed classwise sums and empties
 * the list. */
static void cw_drain(lsp_calib_fix *cwcp, lsp_calib_cwlist *l) {
  const uint32_t *cell = l->cell;
  const uint64_t *fb = l->fb, *inc = l->inc;
  for (size_t e = 0; e < l->n; e++) cw_add(&cwcp[cell[e]], fb[e], inc[e]);
  l->n = 0;
}

/* The logits pass packs the per-bin sums the same way (flushed with the
 * classwise sums): per bin rows << 32 | correct rows in one word, and the
 * confidences' sum without carries as the mesh's (LSP_CALIB_MESH_LO and
 * _HI, lsp_calib_row.h), four words a bin. With the group function (tops
 * = k) these words are kept per top class and bin: a row's top class j
 * has probability 1/s, its confidence, in the confidence's bin b, and is
 * correct exactly when the row is, so cell j·bins + b of the words is
 * also class j's classwise cell b for those rows, which the classwise sums
 * then leave out (one addition a row fewer). SmoothECE's mesh goes to 8
 * words a node (lsp_calib_row.h), and the group function keeps its own
 * lanes of sums (lsp_calib_grpsums). */
typedef struct {
  uint64_t *cc;        /* [4·bins·tops]                              */
  size_t tops;         /* k (per top class) or 1                     */
  lsp_calib_grpsums g; /* mesh (NULL: none), z0 and lanes (NULL without
                          the group function)                       */
} lg_pack;

/* A row of confidence word cw (lsp_calib_rowrec's conf) and correctness ok
 * into cell c's packed words (top class · bins + bin, or the bin). */
static inline void lg_bin_add(lg_pack *pk, size_t c, uint64_t cw, uint64_t ok) {
  uint64_t *tb = pk->cc + 4 * c;
  tb[0] += (uint64_t)1 << 32 | ok;
  tb[1] += LSP_CALIB_MESH_LO(cw);
  tb[2] += LSP_CALIB_MESH_HI(cw);
}

/* Adds a row's shares of one node: w and wc one-word fixed point
 * (lsp_calib_rowrec's share), the correct share w·ok (ok 0 or 1). */
static inline __attribute__((always_inline)) void mesh_pack_add(uint64_t *m,
                                                                uint64_t w,
                                                                uint64_t wc,
                                                                uint64_t ok) {
  const uint64_t lw = LSP_CALIB_MESH_LO(w), hw = LSP_CALIB_MESH_HI(w);
  m[0] += lw;
  m[1] += hw;
  m[2] += LSP_CALIB_MESH_LO(wc);
  m[3] += LSP_CALIB_MESH_HI(wc);
  m[4] += lw & (0 - ok);
  m[5] += hw & (0 - ok);
}

/* Moves the packed counts, the mesh and the group's lanes into the
 * accumulator, and clears them. */
static void lg_flush(lsp_calib_acc *a, lg_pack *pk, int *ovf) {
  const size_t bins = (size_t)a->bins;
  for (size_t c = 0; c < pk->tops * bins; c++) {
    uint64_t *t = pk->cc + 4 * c;
    if (!t[0]) continue;
    const size_t b = c % bins;
    const uint64_t rows = t[0] >> 32, ok = t[0] & 0xffffffffu;
    const lsp_u128 sum = ((lsp_u128)t[2] << 32) + t[1];
    a->count[b] += rows;
    a->correct[b] += ok;
    lsp_calib_fix_add(&a->conf[b], sum, ovf);
    if (pk->tops > 1) { /* class c / bins's classwise cell b */
      a->cw_count[c] += rows;
      a->cw_pos[c] += ok;
      lsp_calib_fix_add(&a->cw_sum[c], sum, ovf);
    }
    t[0] = t[1] = t[2] = 0;
  }
  if (pk->g.z0) /* class j's first bin (cell j·bins): eight packed lanes */
    for (size_t j = 0; j < a->k; j++)
      for (size_t l = 0; l < 8; l++) {
        uint64_t *lo = pk->g.z0 + 16 * j + l, *hi = lo + 8;
        const size_t i = j * (size_t)a->bins;
        a->cw_count[i] += *hi >> 42;
        a->cw_pos[i] += (*hi >> CW_POS_SHIFT) & CW_FIELD;
        lsp_calib_fix_add(&a->cw_sum[i],
                          ((lsp_u128)(*hi & CW_FIELD) << 64) | *lo, ovf);
        *lo = *hi = 0;
      }
  if (pk->g.lanes) /* the NLL's and the Brier term's lanes */
    for (size_t l = 0; l < 8; l++)
      for (int t = 0; t < 2; t++) {
        uint64_t *lo = pk->g.lanes + 16 * t + l, *hi = lo + 8;
        lsp_calib_fix_add(t ? &a->brier : &a->nll, ((lsp_u128)*hi << 64) | *lo,
                          ovf);
        *lo = *hi = 0;
      }
  if (!pk->g.mesh) return;
  lsp_calib_fix *dst[3] = {a->mesh_w, a->mesh_c, a->mesh_y};
  for (size_t n = 0; n < LSP_SMECE_NODES; n++) {
    uint64_t *m = pk->g.mesh + 8 * n;
    if (!(m[0] | m[1] | m[2] | m[3] | m[4] | m[5])) continue;
    for (int t = 0; t < 3; t++)
      lsp_calib_fix_add(&dst[t][n],
                        ((lsp_u128)m[2 * t + 1] << 32) + m[2 * t], ovf);
    memset(m, 0, 6 * sizeof *m);
  }
}

/* Everything the logits pass keeps between flushes into the accumulator:
 * the classwise list and sums, the per-bin words, the mesh, the lanes. */
static void lg_flush_all(lsp_calib_acc *a, lsp_calib_fix *cwcp, lsp_calib_cwlist *list,
                         lg_pack *pk, int *ovf) {
  cw_drain(cwcp, list);
  cw_flush(a, cwcp);
  lg_flush(a, pk, ovf);
}

/* Probabilities, rows [i0, i1). Sums go to `a` (private to the caller);
 * with conf_out, each row's confidence and correctness also go to
 * conf_out[i - i0], ok_out[i - i0]. */
static inline __attribute__((always_inline)) void probs_body(
    lsp_calib_acc *a, mat p, const int32_t *y, size_t i0, size_t i1,
    size_t row0, lsp_calib_bad *bad, double *conf_out, uint8_t *ok_out,
    lsp_calib_fix *cwcp) {
  const size_t k = a->k;
  const int bins = a->bins;
  const lsp_calib_edges edges = a->edges;
  const int full = a->what == LSP_CALIB_FULL;
  int ovf = 0;
  uint64_t ncorrect = 0;
  for (size_t i = i0; i < i1; i++) {
    const size_t r = i * k;
    uint32_t yi = (uint32_t)y[i];
    if (yi >= k) {
      *bad = (lsp_calib_bad){row0 + i, LSP_CALIB_BAD_LABEL, (double)y[i]};
      break;
    }
    /* max/argmax (first maximum wins), range check and row sum in one sweep */
    double mx = at(p, r);
    size_t am = 0;
    int inrange = 1;
    double s = 0.0;
    for (size_t j = 0; j < k; j++) {
      double v = at(p, r + j);
      inrange &= (v >= 0.0) & (v <= 1.0);
      s += v;
      am = v > mx ? j : am;
      mx = v > mx ? v : mx;
    }
    if (!inrange) {
      size_t j = 0;
      while (at(p, r + j) >= 0.0 && at(p, r + j) <= 1.0) j++;
      double v = at(p, r + j);
      *bad = (lsp_calib_bad){
          row0 + i, isfinite(v) ? LSP_CALIB_BAD_VALUE : LSP_CALIB_BAD_NONFINITE, v};
      break;
    }
    if (fabs(s - 1.0) > 1e-3) {
      *bad = (lsp_calib_bad){row0 + i, LSP_CALIB_BAD_SUM, s};
      break;
    }
    double c = mx;
    int b = lsp_calib_bin(c, bins, edges);
    uint64_t ok = am == yi;
    if (conf_out) conf_out[i - i0] = c, ok_out[i - i0] = (uint8_t)ok;
    a->count[b]++;
    a->correct[b] += ok;
    ncorrect += ok;
    lsp_calib_fix_add_v(&a->conf[b], c, &ovf);
    if (!full) continue;
    { /* lsp_calib_mesh_add(a, c, 1, ok, &ovf) in one-word additions */
      const lsp_calib_meshrow m = lsp_calib_mesh_row(c);
      lsp_calib_fix_add_word(&a->mesh_w[m.j], m.share[0], &ovf);
      lsp_calib_fix_add_word(&a->mesh_w[m.j + 1], m.share[1], &ovf);
      lsp_calib_fix_add_word(&a->mesh_c[m.j], m.share[2], &ovf);
      lsp_calib_fix_add_word(&a->mesh_c[m.j + 1], m.share[3], &ovf);
      lsp_calib_fix_add_word(&a->mesh_y[m.j], m.share[0] & (0 - ok), &ovf);
      lsp_calib_fix_add_word(&a->mesh_y[m.j + 1], m.share[1] & (0 - ok), &ovf);
    }
    double py = at(p, r + yi);
    if (py > 0.0)
      lsp_calib_fix_add_v(&a->nll, -log(py), &ovf);
    else
      a->n_nll_inf++;
    double br = classwise_row(a, cwcp, p, r, k, yi);
    lsp_calib_fix_add_v(&a->brier, br, &ovf);
    if ((i - i0 + 1) % CW_ROWS == 0) cw_flush(a, cwcp);
  }
  cw_flush(a, cwcp);
  a->n += i1 - i0;
  a->n_correct += ncorrect;
  a->overflow |= ovf;
}

/* Logits scaled by inv_t, rows [i0, i1); `w` holds 4·G·k doubles (G =
 * lsp_calib_row_group(k)). Every class
 * probability is e_j/s with e_j = exp((z_j − max)·inv_t) (lsp_calib_row.h:
 * the same function as the per-row table's), so the top class gets exactly
 * 1/s, the top-label confidence: a row of ties gives every class the same
 * probability as the confidence, in the same bin. */
static inline __attribute__((always_inline)) void logits_body(
    lsp_calib_acc *a, mat z, const int32_t *y, size_t i0, size_t i1,
    size_t row0, double inv_t, double *w, lsp_calib_bad *bad, double *conf_out,
    uint8_t *ok_out, lsp_calib_fix *cwcp, lg_pack *pk) {
  const size_t k = a->k;
  const int bins = a->bins;
  const lsp_calib_edges edges = a->edges;
  const int full = a->what == LSP_CALIB_FULL;
  const lsp_calib_row_fn row = lsp_calib_row_kernel();
  const lsp_calib_bins_fn bins_of = lsp_calib_bins_kernel();
  const lsp_calib_rec_fn rec_of = lsp_calib_rec_kernel();
  lsp_calib_rowrec rec;
  const size_t G = lsp_calib_row_group(k);
  /* the group function leaves a row's top class to the per-bin words, so
   * with classwise sums it needs them per top class (logits_range) */
  const lsp_calib_group_fn grp = G == 8 && k <= LSP_CALIB_GROUP_KMAX && (!full || pk->tops > 1)
                                     ? lsp_calib_group_kernel()
                                     : NULL;
  /* a row's per-bin words: its top class's (lg_pack) or its bin's */
  const size_t tstride = pk->tops > 1 ? (size_t)bins : 0;
  /* the group's classwise bins and fixed-point words, after its two k·G
   * double buffers */
  int32_t *cbw = (int32_t *)(void *)(w + 2 * G * k);
  uint64_t *fxw = (uint64_t *)(void *)(w + 3 * G * k);
  /* the group function's list of classwise cells past the first bin,
   * emptied when the next group might not fit (every few hundred rows at
   * k = 10): one long loop over many groups' entries */
  uint32_t lcell[CW_LIST];
  uint64_t lfb[CW_LIST], linc[CW_LIST];
  lsp_calib_cwlist list = {lcell, lfb, linc, 0};
  const size_t list_room = grp ? CW_LIST - 8 * k - 8 : 0;
  lsp_calib_rowstat st[LSP_CALIB_ROWS];
  int ovf = 0;
  uint64_t ncorrect = 0;
  lsp_calib_fix nll = {0, 0},
                brier = {0, 0}; /* the range's sums, added at the end */
  for (size_t g = i0; g < i1; g += G) {
    /* a group of rows through the row function: the rows before the first
     * bad label, then, of those, the rows before the first non-finite */
    const size_t nr = i1 - g < G ? i1 - g : G;
    size_t nl = 0;
    while (nl < nr && (uint32_t)y[g + nl] < k) nl++;
    const int right = edges == LSP_CALIB_EDGES_RIGHT;
    size_t got;
    const int lanes = grp && nl == 8;
    if (lanes) { /* eight rows in the lanes of one vector */
      got = grp(z.d ? NULL : z.f + g * k, z.d ? z.d + g * k : NULL, k, inv_t,
                y + g, bins, right, full, st, &rec, &pk->g, &list);
      if (list.n > list_room) cw_drain(cwcp, &list);
    } else {
      got = nl ? row(z.d ? NULL : z.f + g * k, z.d ? z.d + g * k : NULL, nl, k,
                     inv_t, y + g, w, w + G * k, st)
               : 0;
      if (full && got) bins_of(w, got * k, k, bins, right, cbw, fxw);
      if (got) rec_of(st, w, y + g, got, k, bins, right, full, &rec);
    }
    if (lanes && got == 8) { /* the common case, lean */
      for (size_t q = 0; q < 8; q++) {
        const uint64_t ok = st[q].top == (uint32_t)y[g + q];
        if (conf_out)
          conf_out[g + q - i0] = st[q].conf, ok_out[g + q - i0] = (uint8_t)ok;
        lg_bin_add(pk, st[q].top * tstride + (size_t)rec.bin[q], rec.conf[q], ok);
        ncorrect += ok;
      }
      if (full && rec.out) /* NLLs beyond the fixed point's range */
        for (size_t q = 0; q < 8; q++)
          if ((rec.out >> q) & 1u) lsp_calib_nll_big_add(a, st[q].nll, 1, &ovf);
      if ((g + 8 - i0) % CW_ROWS == 0)
        lg_flush_all(a, cwcp, &list, pk, &ovf);
      continue;
    }
    for (size_t q = 0; q <= got && q < nr; q++) {
      const size_t i = g + q, r = i * k;
      const uint32_t yi = (uint32_t)y[i];
      if (q == got) { /* a bad row */
        if (got < nl) {
          size_t j = 0;
          while (isfinite(at(z, r + j))) j++;
          *bad = (lsp_calib_bad){row0 + i, LSP_CALIB_BAD_NONFINITE, at(z, r + j)};
        } else {
          *bad = (lsp_calib_bad){row0 + i, LSP_CALIB_BAD_LABEL, (double)y[i]};
        }
        break;
      }
      const double c = st[q].conf; /* p at the argmax: exp(0)/s */
      const int b = rec.bin[q];
      const uint64_t ok = st[q].top == yi;
      if (conf_out) conf_out[i - i0] = c, ok_out[i - i0] = (uint8_t)ok;
      lg_bin_add(pk, st[q].top * tstride + (size_t)b, rec.conf[q], ok);
      ncorrect += ok;
      if (!full) goto next;
      if ((rec.out >> q) & 1u) /* an NLL beyond the fixed point's range */
        lsp_calib_nll_big_add(a, st[q].nll, 1, &ovf);
      if (lanes) goto next; /* the group function added the rest */
      const uint32_t j = rec.node[q];
      mesh_pack_add(pk->g.mesh + 8 * j, rec.share[0][q], rec.share[2][q], ok);
      mesh_pack_add(pk->g.mesh + 8 * (j + 1), rec.share[1][q], rec.share[3][q],
                    ok);
      lsp_calib_fix_add_pair(&nll, rec.nll_ip[q], rec.nll_fb[q], &ovf);
      lsp_calib_fix_add_pair(&brier, rec.br_ip[q], rec.br_fb[q], &ovf);
      classwise_logits_row(cwcp, cbw + q * k, fxw + q * k, k, yi,
                           tstride ? st[q].top : k);
    next:
      if ((i - i0 + 1) % CW_ROWS == 0)
        lg_flush_all(a, cwcp, &list, pk, &ovf);
    }
    if (bad->kind) break;
  }
  lg_flush_all(a, cwcp, &list, pk, &ovf);
  lsp_calib_fix_add(&a->nll, lsp_calib_fix_get(nll), &ovf);
  lsp_calib_fix_add(&a->brier, lsp_calib_fix_get(brier), &ovf);
  a->n += i1 - i0;
  a->n_correct += ncorrect;
  a->overflow |= ovf;
}

/* lg_pack's words for accumulator a (*tops: k or 1). With the group
 * function (logits_body's test) and classwise sums the per-bin words are
 * kept per top class, up to 2^16 cells (2 MB; far more bins than any
 * report uses); then (full) the group function's z0 and lanes. */
static size_t lg_words(const lsp_calib_acc *a, size_t *tops) {
  const int grouped = a->what == LSP_CALIB_FULL && a->k <= LSP_CALIB_GROUP_KMAX &&
                      lsp_calib_row_group(a->k) == 8 && lsp_calib_group_kernel() &&
                      a->k * (size_t)a->bins <= ((size_t)1 << 16);
  *tops = grouped ? a->k : 1;
  return 4 * (size_t)a->bins * *tops + (a->what == LSP_CALIB_FULL ? 16 * a->k + 32 : 0);
}

int lsp_calib_slot_fill(lsp_calib_slot *s, const lsp_calib_acc *acc, int logits) {
  const size_t k = acc->k, bins = (size_t)acc->bins;
  const int full = acc->what == LSP_CALIB_FULL;
  if (!s->part && !(s->part = lsp_calib_acc_alloc(acc->bins, k, acc->edges, acc->what)))
    return LSP_ENOMEM;
  if (full && !s->cwcp && !(s->cwcp = calloc(k * bins, sizeof *s->cwcp))) goto oom;
  if (!logits || s->pw) return LSP_OK;
  size_t tops;
  if (!(s->pw = calloc(lg_words(acc, &tops), sizeof *s->pw)) ||
      !(s->w = malloc(4 * lsp_calib_row_group(k) * k * sizeof *s->w)))
    goto oom;
  if (full) {
    if (!(s->mesh = aligned_alloc(64, LSP_CALIB_MESH_WORDS * sizeof *s->mesh))) goto oom;
    memset(s->mesh, 0, LSP_CALIB_MESH_WORDS * sizeof *s->mesh);
  }
  return LSP_OK;
oom:
  lsp_calib_slot_release(s);
  return lsp_fail(LSP_ENOMEM, "out of memory for calibration workspaces");
}

void lsp_calib_slot_release(lsp_calib_slot *s) {
  lsp_calib_acc_free(s->part);
  free(s->cwcp);
  free(s->pw);
  free(s->mesh);
  free(s->w);
  memset(s, 0, sizeof *s);
}

void lsp_calib_probs_range(lsp_calib_slot *s, const float *f, const double *d,
                           const int32_t *y, size_t i0, size_t i1, size_t row0,
                           lsp_calib_bad *bad, double *conf, uint8_t *ok) {
  if (d)
    probs_body(s->part, (mat){NULL, d}, y, i0, i1, row0, bad, conf, ok, s->cwcp);
  else
    probs_body(s->part, (mat){f, NULL}, y, i0, i1, row0, bad, conf, ok, s->cwcp);
}

void lsp_calib_logits_range(lsp_calib_slot *s, const float *f, const double *d,
                            const int32_t *y, size_t i0, size_t i1, size_t row0,
                            double inv_t, lsp_calib_bad *bad, double *conf,
                            uint8_t *ok) {
  lg_pack pk = {s->pw, 1, {NULL, s->mesh, NULL}};
  lg_words(s->part, &pk.tops);
  if (s->mesh) {
    pk.g.z0 = s->pw + 4 * (size_t)s->part->bins * pk.tops;
    pk.g.lanes = pk.g.z0 + 16 * s->part->k;
  }
  if (d)
    logits_body(s->part, (mat){NULL, d}, y, i0, i1, row0, inv_t, s->w, bad, conf,
                ok, s->cwcp, &pk);
  else
    logits_body(s->part, (mat){f, NULL}, y, i0, i1, row0, inv_t, s->w, bad, conf,
                ok, s->cwcp, &pk);
}
