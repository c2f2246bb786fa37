/* lsp_calib_row.h — the softmax of one row of logits in double, as every
 * calibration path computes it (internal to analysis/).
 *
 * w_j = (z_j − max z)·inv_t, e_j = exp(w_j), s = Σ e_j, p_j = e_j·(1/s):
 * the top class gets exactly 1/s, the top-label confidence. The exponential is
 * lsprobe's own (lsp_calib_row_body.h: Cody–Waite reduction to |r| <=
 * ln2/32, a table of 2^(j/16) and a Taylor polynomial of degree 7, within
 * 1 ulp), and so is the NLL's log s (within
 * 1 ulp), both vectorized and compiled for each
 * instruction-set level (lsp_cpu_isa): the accumulator, the per-row table
 * and the streaming pass all call this one function, so they agree to the
 * last bit on a given machine. */
#ifndef LSP_CALIB_ROW_H
#define LSP_CALIB_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/lsp_smece.h"

typedef struct {
  double conf; /* 1/s: the top class's probability                     */
  double nll;  /* log s − w_y: −log p_y from the log-softmax (the log:
                  lsp_calib_log_fn's)                                  */
  size_t top;  /* the first index of the max logit                     */
} lsp_calib_rowstat;

/* Rows per call of the row function at most. */
#define LSP_CALIB_ROWS 8

/* nr <= LSP_CALIB_ROWS consecutive rows of k logits, float (xf) or double
 * (xd, when xf is NULL), with labels y[r] < k: the probabilities into
 * p[r·k + j] and the rest into st[r]; scratch holds nr·k doubles. The
 * probabilities are p_j = e_j·(1/s) with e_j = exp((z_j − max)·inv_t),
 * s = Σ e_j in index order: the top class gets exactly 1/s. Returns the
 * number of leading rows whose logits are finite (nr when all are); their
 * results are complete, the rest unspecified. */
typedef size_t (*lsp_calib_row_fn)(const float *xf, const double *xd, size_t nr, size_t k,
                                   double inv_t, const int32_t *y, double *p,
                                   double *scratch, lsp_calib_rowstat *st);

/* The row function of level lsp_cpu_isa(). */
lsp_calib_row_fn lsp_calib_row_kernel(void);

/* The classwise bins of n probabilities p forming whole rows of k:
 * cb[e] = (e mod k)·bins + lsp_calib_bin(p[e], bins, edges) with right =
 * (edges == right-closed), the same arithmetic vectorized; and each p[e]
 * (in [0, 1]) in fixed point as one word, fx[e] = the fraction bits of
 * lsp_calib_fix_bits(p[e]) | its integer part (bit 0, which the fraction
 * bits leave clear). */
typedef void (*lsp_calib_bins_fn)(const double *p, size_t n, size_t k, int bins, int right,
                                  int32_t *cb, uint64_t *fx);
lsp_calib_bins_fn lsp_calib_bins_kernel(void);

/* The per-row record of a group of nr <= LSP_CALIB_ROWS rows after the row
 * function: every number the accumulator adds for a row, computed for the
 * group at once (vectorized across rows) so that the per-row work left is
 * integer additions. Fixed-point values in [0, 1] are one word each, the
 * fraction bits of lsp_calib_fix_bits | the integer part (bit 0, which the
 * fraction bits leave clear), as lsp_calib_bins_fn's fx. */
typedef struct {
  int32_t bin[LSP_CALIB_ROWS];   /* lsp_calib_bin(conf)                      */
  uint64_t conf[LSP_CALIB_ROWS]; /* conf in fixed point (one word)           */
  /* with full: */
  uint32_t node[LSP_CALIB_ROWS]; /* SmoothECE's node j (lsp_smece_node) */
  uint64_t share[4][LSP_CALIB_ROWS]; /* 1 − f, f, (1 − f)·c, f·c (one word)  */
  uint64_t nll_ip[LSP_CALIB_ROWS], nll_fb[LSP_CALIB_ROWS]; /* st.nll          */
  uint64_t br_ip[LSP_CALIB_ROWS], br_fb[LSP_CALIB_ROWS];   /* Brier term      */
  unsigned out; /* bit r: row r's NLL or Brier term lies outside the fixed-
                   point range [0, 2^40) (then that word pair is 0)          */
} lsp_calib_rowrec;

/* The record of rows r < nr from their row statistics st, probabilities p
 * (nr·k, as the row function wrote them) and labels y; without full, only
 * bin and conf. The Brier term is Σ_j (p_j − [j = y])² added in index
 * order, each value as lsp_calib_fix_bits, bins as lsp_calib_bin (right:
 * right-closed edges): the same numbers as the scalar forms, bit for bit. */
typedef void (*lsp_calib_rec_fn)(const lsp_calib_rowstat *st, const double *p,
                                 const int32_t *y, size_t nr, size_t k,
                                 int bins, int right, int full,
                                 lsp_calib_rowrec *o);
lsp_calib_rec_fn lsp_calib_rec_kernel(void);

/* SmoothECE's mesh as the logits pass sums it between flushes: 8 words a
 * node, 64-byte aligned, LSP_CALIB_MESH_WORDS in all. Words 2t and 2t + 1
 * hold Σ x over the rows' one-word shares x (lsp_calib_rowrec's share: the
 * fraction bits | the integer part in bit 0) of t = 0: w, 1: w·c, 2: w·correct,
 * split as LSP_CALIB_MESH_LO(x) = the fraction's low 32 bits and
 * LSP_CALIB_MESH_HI(x) = its high 32 bits + the integer part·2^32, so the
 * 128-bit sum is HI·2^32 + LO and a node takes one addition of 8 words
 * without carries (each word grows by less than 2^33 a row: 2^31 rows fit);
 * words 6 and 7 stay 0. */
#define LSP_CALIB_MESH_WORDS (8 * (size_t)LSP_SMECE_NODES)
#define LSP_CALIB_MESH_LO(x) ((x) & (uint64_t)0xfffffffeu)
#define LSP_CALIB_MESH_HI(x) (((x) >> 32) + (((x) & 1u) << 32))

/* The group function's running sums (with full), owned by the caller, who
 * moves them into the accumulator. */
typedef struct {
  uint64_t *z0;    /* [16·k] classwise first-bin lanes (below)             */
  uint64_t *mesh;  /* [LSP_CALIB_MESH_WORDS] SmoothECE's mesh (above)      */
  uint64_t *lanes; /* [32] per lane the 128-bit sums of the NLL (low words,
                      then high words) and of the Brier term (the same),
                      fixed point as lsp_calib_fix_bits                   */
} lsp_calib_grpsums;

/* The classwise contributions a group function leaves to its caller, as
 * a list: entry e (e < n) adds fb[e] (fraction bits; the carry is the
 * caller's) and inc[e] (rows field + positives field + integer part) to
 * the packed word of cell[e] = j·bins + bin (class j; lsp_calib.c's
 * classwise sums). The group function appends at n and advances it; the caller
 * keeps room for 8·k + 8 more entries (a class's lanes are written as a
 * whole vector) and empties the list when it chooses. */
typedef struct {
  uint32_t *cell;
  uint64_t *fb, *inc;
  size_t n;
} lsp_calib_cwlist;

/* Eight rows with labels y[r] < k <= LSP_CALIB_GROUP_KMAX at once, as the
 * lanes of AVX-512 vectors or as two halves of four AVX2 lanes (the group
 * function exists at those levels only: lsp_calib_group_kernel() is NULL
 * below AVX2), the same numbers at both: the row function's st and
 * lsp_calib_rec_fn's record — the same numbers bit for bit, without
 * writing the probabilities — and, with full, the rows' NLL, Brier term
 * and mesh shares added to sums->lanes and sums->mesh (rec.out flags the
 * rows whose NLL or Brier term lies outside the fixed-point range: they
 * add 0 there), and each class probability's classwise contribution:
 * those in a class's first bin added to sums->z0 (16 words per class: 8
 * lanes of fraction sums, 8 lanes of the packed counts, with carries), the
 * others appended to *rest (in an order the sums do not depend on).
 * Rows past the first non-finite one add nothing. Returns the number of
 * leading rows whose logits are finite (8 when all are); their results
 * are complete. */
#define LSP_CALIB_GROUP_KMAX 64
typedef size_t (*lsp_calib_group_fn)(
    const float *xf, const double *xd, size_t k, double inv_t, const int32_t *y,
    int bins, int right, int full, lsp_calib_rowstat *st, lsp_calib_rowrec *rec,
    const lsp_calib_grpsums *sums, lsp_calib_cwlist *rest);
lsp_calib_group_fn lsp_calib_group_kernel(void);

/* on = 0: lsp_calib_group_kernel() returns NULL at every level until on =
 * 1 again (the default), so that tests can compare the group function
 * with the row function (a setting for the whole process). */
void lsp_calib_group_enable(int on);

/* out[i] = log x[i] for n finite x[i] >= 1, by the logarithm the row and
 * group functions take of a row's sum s for the NLL (lsp_calib_row_body.h's
 * cr_log: within 1 ulp, DESIGN §2), at level lsp_cpu_isa(). */
typedef void (*lsp_calib_log_fn)(const double *x, size_t n, double *out);
lsp_calib_log_fn lsp_calib_log_kernel(void);

/* out[i] = exp(x[i]) for n values x[i] <= 0, by the exponential of the row
 * and group functions (lsp_calib_row_body.h's cr_exp: x clamped at −708,
 * within 1 ulp, DESIGN §2), at level lsp_cpu_isa(). */
typedef void (*lsp_calib_exp_fn)(const double *x, size_t n, double *out);
lsp_calib_exp_fn lsp_calib_exp_kernel(void);

/* Rows per call for k classes: LSP_CALIB_ROWS while the rows span at most
 * 512 values, fewer (at least 1) for long rows. */
static inline size_t lsp_calib_row_group(size_t k) {
  size_t g = k ? 512 / k : 1;
  return g < 1 ? 1 : g > LSP_CALIB_ROWS ? LSP_CALIB_ROWS : g;
}

#endif
