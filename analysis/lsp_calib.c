/* lsp_calib.c — the passes of the streaming calibration accumulator (its
 * life is in lsp_calib_acc.c, its metrics and the result record in
 * lsp_calib_metrics.c).
 *
 * One pass per row: validate, find the top label, bin the confidence and add
 * integer / fixed-point sums (see lsp_calib_impl.h for why fixed point).
 * Rows are split over threads into private accumulators which are merged
 * afterwards; the merge is integer addition, so the split never shows. */
#include "analysis/lsp_calib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib_impl.h"
#include "analysis/lsp_calib_row.h"
#include "core/base/lsp_error.h"

/* ---- the row kernels ---------------------------------------------------- */

enum { BAD_NONE = 0, BAD_LABEL, BAD_VALUE, BAD_SUM, BAD_NONFINITE };

typedef struct {
  size_t row;  /* first bad row of the range (global index) */
  int kind;
  double what; /* the offending value or row sum */
} bad_row;

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
    uint64_t ip = v >= 1.0;
    uint64_t fb = ((uint64_t)(int64_t)((v - (double)ip) * 0x1p63)) << 1;
    cw_add(&cwcp[c], fb, CW_ROW_ONE | (uint64_t)(j == yi) << CW_POS_SHIFT | ip);
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
    size_t row0, bad_row *bad, double *conf_out, uint8_t *ok_out,
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
      *bad = (bad_row){row0 + i, BAD_LABEL, (double)y[i]};
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
      *bad = (bad_row){row0 + i, isfinite(v) ? BAD_VALUE : BAD_NONFINITE, v};
      break;
    }
    if (fabs(s - 1.0) > 1e-3) {
      *bad = (bad_row){row0 + i, BAD_SUM, s};
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
    size_t row0, double inv_t, double *w, bad_row *bad, double *conf_out,
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
      if (full) ovf |= rec.out != 0;
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
          *bad = (bad_row){row0 + i, BAD_NONFINITE, at(z, r + j)};
        } else {
          *bad = (bad_row){row0 + i, BAD_LABEL, (double)y[i]};
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
      ovf |= (int)((rec.out >> q) & 1u);
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

/* Per-row outputs of a pass (NULL: none): confidence and correctness. */
typedef struct {
  double *conf;
  uint8_t *ok;
} row_out;

/* The packed classwise counts of a range (NULL for a top-label
 * accumulator, or when out of memory: *oom set). */
static lsp_calib_fix *cw_alloc(const lsp_calib_acc *a, int *oom) {
  if (a->what != LSP_CALIB_FULL) return NULL;
  lsp_calib_fix *c = calloc(a->k * (size_t)a->bins, sizeof *c);
  if (!c) *oom = 1;
  return c;
}

static void probs_range(lsp_calib_acc *a, mat p, const int32_t *y, size_t i0,
                        size_t i1, size_t row0, bad_row *bad, row_out o,
                        int *oom) {
  lsp_calib_fix *cwcp = cw_alloc(a, oom);
  if (*oom) return;
  if (p.d)
    probs_body(a, (mat){NULL, p.d}, y, i0, i1, row0, bad, o.conf, o.ok, cwcp);
  else
    probs_body(a, (mat){p.f, NULL}, y, i0, i1, row0, bad, o.conf, o.ok, cwcp);
  free(cwcp);
}

static void logits_range(lsp_calib_acc *a, mat z, const int32_t *y, size_t i0,
                         size_t i1, size_t row0, double inv_t, double *w,
                         bad_row *bad, row_out o, int *oom) {
  /* with the group function (logits_body's test) and classwise sums: the
   * per-bin words per top class (lg_pack), up to 2^16 cells (2 MB; far
   * more bins than any report uses) */
  const int grouped = a->what == LSP_CALIB_FULL && a->k <= LSP_CALIB_GROUP_KMAX &&
                      lsp_calib_row_group(a->k) == 8 && lsp_calib_group_kernel() &&
                      a->k * (size_t)a->bins <= ((size_t)1 << 16);
  const size_t tops = grouped ? a->k : 1;
  lsp_calib_fix *cwcp = cw_alloc(a, oom);
  /* the per-bin counts, then (full) the group function's z0 and lanes */
  const size_t words = 4 * (size_t)a->bins * tops + (a->mesh_w ? 16 * a->k + 32 : 0);
  uint64_t *pw = *oom ? NULL : calloc(words, sizeof *pw), *mesh = NULL;
  if (pw && a->mesh_w &&
      (mesh = aligned_alloc(64, LSP_CALIB_MESH_WORDS * sizeof *mesh)))
    memset(mesh, 0, LSP_CALIB_MESH_WORDS * sizeof *mesh);
  if (!pw || (a->mesh_w && !mesh)) {
    *oom = 1;
    free(pw);
    free(cwcp);
    return;
  }
  lg_pack pk = {pw, tops, {NULL, mesh, NULL}};
  if (mesh) {
    pk.g.z0 = pw + 4 * (size_t)a->bins * tops;
    pk.g.lanes = pk.g.z0 + 16 * a->k;
  }
  if (z.d)
    logits_body(a, (mat){NULL, z.d}, y, i0, i1, row0, inv_t, w, bad, o.conf,
                o.ok, cwcp, &pk);
  else
    logits_body(a, (mat){z.f, NULL}, y, i0, i1, row0, inv_t, w, bad, o.conf,
                o.ok, cwcp, &pk);
  free(mesh);
  free(pw);
  free(cwcp);
}

static int report_bad(const bad_row *b, const char *input) {
  switch (b->kind) {
    case BAD_LABEL:
      return lsp_fail(LSP_EDATA, "row %zu: label %.0f out of range", b->row, b->what);
    case BAD_VALUE:
      return lsp_fail(LSP_EDATA, "row %zu: %s %.9g outside [0, 1]", b->row, input, b->what);
    case BAD_SUM:
      return lsp_fail(LSP_EDATA, "row %zu: probabilities sum to %.9g, not 1 (tolerance 1e-3)",
                      b->row, b->what);
    default:
      return lsp_fail(LSP_EDATA, "row %zu: non-finite %s (%g)", b->row, input, b->what);
  }
}

/* Split rows over threads into private accumulators, then merge them into
 * acc only if every range was valid. */
static int add_rows(lsp_calib_acc *acc, mat x, const int32_t *y, size_t n,
                    size_t row0, double inv_t, int threads, int logits,
                    row_out o) {
  if (!acc || (n > 0 && ((!x.f && !x.d) || !y)))
    return lsp_fail(LSP_EINVAL, "calibration: NULL accumulator or input");
  if (acc->k < 2)
    return lsp_fail(LSP_EINVAL, "calibration: need an accumulator with k >= 2 classes");
  if (logits && !(inv_t > 0.0 && isfinite(inv_t)))
    return lsp_fail(LSP_EINVAL, "calibration: 1/T must be positive and finite (got %g)", inv_t);
  if (n == 0) return LSP_OK;
  int nt = threads > 1 ? threads : 1;
  if ((size_t)nt > n) nt = (int)n;
  lsp_calib_acc **part = calloc((size_t)nt, sizeof *part);
  bad_row *bad = calloc((size_t)nt, sizeof *bad);
  int *oom = calloc((size_t)nt, sizeof *oom);
  /* logits_body's w: 4·G·k doubles (lsp_calib_row_group) */
  const size_t wk = 4 * lsp_calib_row_group(acc->k) * acc->k;
  double *w = logits ? malloc((size_t)nt * wk * sizeof *w) : NULL;
  int st = LSP_OK;
  if (!part || !bad || !oom || (logits && !w)) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for calibration workspaces");
    goto done;
  }
  for (int t = 0; t < nt; t++)
    if (!(part[t] = lsp_calib_acc_alloc(acc->bins, acc->k, acc->edges, acc->what))) {
      st = LSP_ENOMEM;
      goto done;
    }
#pragma omp parallel for schedule(static, 1) num_threads(nt) if (nt > 1)
  for (int t = 0; t < nt; t++) {
    size_t i0 = n * (size_t)t / (size_t)nt,
           i1 = n * (size_t)(t + 1) / (size_t)nt;
    row_out ot = {o.conf ? o.conf + i0 : NULL, o.ok ? o.ok + i0 : NULL};
    if (logits)
      logits_range(part[t], x, y, i0, i1, row0, inv_t, w + (size_t)t * wk,
                   &bad[t], ot, &oom[t]);
    else if (x.f && !o.conf && acc->what == LSP_CALIB_TOP &&
             acc->bins <= LSP_CALIB_KERNEL_MAXBINS) {
      /* fast path; on a rejected row the exact validator finds the reason */
      if (lsp_calib_top_probs_kernel(part[t], x.f + i0 * acc->k, y + i0,
                                     i1 - i0) < i1 - i0)
        probs_range(part[t], x, y, i0, i1, row0, &bad[t], ot, &oom[t]);
    } else
      probs_range(part[t], x, y, i0, i1, row0, &bad[t], ot, &oom[t]);
  }
  for (int t = 0; t < nt; t++)
    if (oom[t]) {
      st = lsp_fail(LSP_ENOMEM, "out of memory for calibration workspaces");
      goto done;
    }
  for (int t = 0; t < nt; t++) /* the first bad row of the whole input */
    if (bad[t].kind) {
      st = report_bad(&bad[t], logits ? "logit" : "probability");
      goto done;
    }
  for (int t = 0; t < nt; t++) lsp_calib_acc_merge(acc, part[t]);
done:
  if (part)
    for (int t = 0; t < nt; t++) lsp_calib_acc_free(part[t]);
  free(part);
  free(bad);
  free(oom);
  free(w);
  return st;
}

int lsp_calib_acc_add_probs(lsp_calib_acc *acc, const float *p,
                            const int32_t *y, size_t n, size_t row0,
                            int threads) {
  return add_rows(acc, (mat){p, NULL}, y, n, row0, 1.0, threads, 0,
                  (row_out){NULL, NULL});
}

int lsp_calib_acc_add_logits(lsp_calib_acc *acc, const float *z,
                             const int32_t *y, size_t n, size_t row0,
                             double inv_t, int threads) {
  return add_rows(acc, (mat){z, NULL}, y, n, row0, inv_t, threads, 1,
                  (row_out){NULL, NULL});
}

int lsp_calib_acc_add_probs_f64(lsp_calib_acc *acc, const double *p,
                                const int32_t *y, size_t n, size_t row0,
                                int threads) {
  return add_rows(acc, (mat){NULL, p}, y, n, row0, 1.0, threads, 0,
                  (row_out){NULL, NULL});
}

int lsp_calib_acc_add_logits_f64(lsp_calib_acc *acc, const double *z,
                                 const int32_t *y, size_t n, size_t row0,
                                 double inv_t, int threads) {
  return add_rows(acc, (mat){NULL, z}, y, n, row0, inv_t, threads, 1,
                  (row_out){NULL, NULL});
}

int lsp_calib_acc_add_rows(lsp_calib_acc *acc, const float *f, const double *d,
                           const int32_t *y, size_t n, size_t row0, int logits,
                           double inv_t, int threads, double *conf,
                           uint8_t *correct) {
  return add_rows(acc, (mat){d ? NULL : f, d}, y, n, row0, logits ? inv_t : 1.0,
                  threads, logits, (row_out){conf, correct});
}
