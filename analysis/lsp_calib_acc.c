/* lsp_calib_acc.c — the calibration accumulator's life: allocation, reset,
 * release and the merge of two accumulators (integer additions, so the
 * split of the rows over threads, chunks or MPI ranks never shows), and
 * the pass of top-label input given directly. The passes over
 * probabilities and logits are in lsp_calib.c. */
#include "analysis/lsp_calib.h"

#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib_impl.h"
#include "core/base/lsp_error.h"

lsp_calib_acc *lsp_calib_acc_alloc(int bins, size_t k, lsp_calib_edges edges,
                                   int what) {
  if (bins < 1) {
    lsp_fail(LSP_EINVAL, "number of bins must be >= 1 (got %d)", bins);
    return NULL;
  }
  if (what != LSP_CALIB_TOP && what != LSP_CALIB_FULL) {
    lsp_fail(LSP_EINVAL, "calibration accumulator: unknown mode %d", what);
    return NULL;
  }
  if (k > ((size_t)1 << 31)) {
    lsp_fail(LSP_EINVAL, "calibration accumulator: too many classes (%zu)", k);
    return NULL;
  }
  lsp_calib_acc *a = calloc(1, sizeof *a);
  if (!a) goto nomem;
  a->bins = bins;
  a->k = k;
  a->edges = edges;
  a->what = what;
  size_t m = (size_t)bins;
  a->count = calloc(m, sizeof *a->count);
  a->correct = calloc(m, sizeof *a->correct);
  a->conf = calloc(m, sizeof *a->conf);
  if (!a->count || !a->correct || !a->conf) goto nomem;
  if (what == LSP_CALIB_FULL && k > 0) {
    a->cw_count = calloc(k * m, sizeof *a->cw_count);
    a->cw_pos = calloc(k * m, sizeof *a->cw_pos);
    a->cw_sum = calloc(k * m, sizeof *a->cw_sum);
    if (!a->cw_count || !a->cw_pos || !a->cw_sum) goto nomem;
  }
  if (what == LSP_CALIB_FULL) {
    a->mesh_w = calloc(LSP_SMECE_NODES, sizeof *a->mesh_w);
    a->mesh_c = calloc(LSP_SMECE_NODES, sizeof *a->mesh_c);
    a->mesh_y = calloc(LSP_SMECE_NODES, sizeof *a->mesh_y);
    if (!a->mesh_w || !a->mesh_c || !a->mesh_y) goto nomem;
  }
  return a;
nomem:
  lsp_calib_acc_free(a);
  lsp_fail(LSP_ENOMEM,
           "out of memory for a calibration accumulator (%d bins, %zu classes)",
           bins, k);
  return NULL;
}

void lsp_calib_acc_free(lsp_calib_acc *a) {
  if (!a) return;
  free(a->count);
  free(a->correct);
  free(a->conf);
  free(a->cw_count);
  free(a->cw_pos);
  free(a->cw_sum);
  free(a->mesh_w);
  free(a->mesh_c);
  free(a->mesh_y);
  lsp_calib_ws_free(a->ws);
  free(a);
}

void lsp_calib_acc_reset(lsp_calib_acc *a) {
  size_t m = (size_t)a->bins, km = a->cw_count ? a->k * m : 0;
  a->n = a->n_correct = a->n_nll_inf = 0;
  a->overflow = 0;
  memset(a->count, 0, m * sizeof *a->count);
  memset(a->correct, 0, m * sizeof *a->correct);
  memset(a->conf, 0, m * sizeof *a->conf);
  memset(&a->nll, 0, sizeof a->nll);
  memset(a->nll_big, 0, sizeof a->nll_big);
  memset(&a->brier, 0, sizeof a->brier);
  if (km) {
    memset(a->cw_count, 0, km * sizeof *a->cw_count);
    memset(a->cw_pos, 0, km * sizeof *a->cw_pos);
    memset(a->cw_sum, 0, km * sizeof *a->cw_sum);
  }
  if (a->mesh_w) {
    memset(a->mesh_w, 0, LSP_SMECE_NODES * sizeof *a->mesh_w);
    memset(a->mesh_c, 0, LSP_SMECE_NODES * sizeof *a->mesh_c);
    memset(a->mesh_y, 0, LSP_SMECE_NODES * sizeof *a->mesh_y);
  }
}

static int same_shape(const lsp_calib_acc *a, const lsp_calib_acc *b) {
  return a->bins == b->bins && a->k == b->k && a->edges == b->edges &&
         a->what == b->what;
}

int lsp_calib_acc_merge(lsp_calib_acc *dst, const lsp_calib_acc *src) {
  if (!dst || !src || !same_shape(dst, src))
    return lsp_fail(LSP_EINVAL,
                    "calibration accumulators differ in bins, classes, "
                    "edges or mode; cannot merge");
  size_t m = (size_t)dst->bins;
  int ovf = src->overflow;
  dst->n += src->n;
  dst->n_correct += src->n_correct;
  dst->n_nll_inf += src->n_nll_inf;
  for (size_t b = 0; b < m; b++) {
    dst->count[b] += src->count[b];
    dst->correct[b] += src->correct[b];
    lsp_calib_fix_add(&dst->conf[b], lsp_calib_fix_get(src->conf[b]), &ovf);
  }
  lsp_calib_fix_add(&dst->nll, lsp_calib_fix_get(src->nll), &ovf);
  for (int b = 0; b < LSP_CALIB_NLL_BIG; b++)
    lsp_calib_fix_add(&dst->nll_big[b], lsp_calib_fix_get(src->nll_big[b]), &ovf);
  lsp_calib_fix_add(&dst->brier, lsp_calib_fix_get(src->brier), &ovf);
  if (dst->cw_count)
    for (size_t i = 0; i < dst->k * m; i++) {
      dst->cw_count[i] += src->cw_count[i];
      dst->cw_pos[i] += src->cw_pos[i];
      lsp_calib_fix_add(&dst->cw_sum[i], lsp_calib_fix_get(src->cw_sum[i]),
                        &ovf);
    }
  if (dst->mesh_w)
    for (size_t i = 0; i < LSP_SMECE_NODES; i++) {
      lsp_calib_fix_add(&dst->mesh_w[i], lsp_calib_fix_get(src->mesh_w[i]),
                        &ovf);
      lsp_calib_fix_add(&dst->mesh_c[i], lsp_calib_fix_get(src->mesh_c[i]),
                        &ovf);
      lsp_calib_fix_add(&dst->mesh_y[i], lsp_calib_fix_get(src->mesh_y[i]),
                        &ovf);
    }
  dst->overflow |= ovf;
  return LSP_OK;
}

/* Top-label input given directly (no row kernel: a confidence is
 * already a row's result). */
int lsp_calib_acc_add_conf(lsp_calib_acc *acc, const double *conf,
                           const uint8_t *correct, size_t n, size_t row0) {
  if (!acc || (n > 0 && (!conf || !correct)))
    return lsp_fail(LSP_EINVAL, "calibration: NULL accumulator or input");
  for (size_t i = 0; i < n; i++) {
    if (!(conf[i] >= 0.0 && conf[i] <= 1.0))
      return lsp_fail(LSP_EDATA, "row %zu: confidence %g outside [0, 1]", row0 + i, conf[i]);
    if (correct[i] > 1)
      return lsp_fail(LSP_EDATA, "row %zu: correct must be 0 or 1 (got %d)", row0 + i,
                      (int)correct[i]);
  }
  int ovf = 0;
  for (size_t i = 0; i < n; i++) {
    int b = lsp_calib_bin(conf[i], acc->bins, acc->edges);
    acc->count[b]++;
    acc->correct[b] += correct[i];
    acc->n_correct += correct[i];
    lsp_calib_fix_add(&acc->conf[b], lsp_calib_fix_bits(conf[i], &ovf), &ovf);
    if (acc->mesh_w) lsp_calib_mesh_add(acc, conf[i], 1, correct[i], &ovf);
  }
  acc->n += n;
  acc->overflow |= ovf;
  return LSP_OK;
}
