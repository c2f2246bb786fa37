/* lsp_calib_add.c — adding rows to the calibration accumulator: the rows
 * split over threads, each range into its thread's private sums (the
 * passes are in lsp_calib.c), merged into the accumulator only when every
 * range was valid. The threads' workspaces are kept by the accumulator
 * between calls (lsp_calib_slot): `calib --stream` adds a file in chunks
 * of about 1.5 MB, and allocating and clearing the workspaces per chunk (a
 * 262 KB mesh, the private accumulators' 197 KB, the per-bin words) took
 * 2–5% of its CPU time (interleaved runs, 1 MB chunks). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_calib_impl.h"
#include "core/base/lsp_error.h"

struct lsp_calib_ws {
  int nt;                 /* slots */
  lsp_calib_slot slot[];  /* [nt] */
};

void lsp_calib_ws_free(struct lsp_calib_ws *ws) {
  if (!ws) return;
  for (int t = 0; t < ws->nt; t++) lsp_calib_slot_release(&ws->slot[t]);
  free(ws);
}

/* The accumulator's workspace with at least nt slots, each ready for the
 * pass (logits or probabilities); NULL when out of memory. Every slot is
 * clear between calls, so a larger one simply replaces it. */
static struct lsp_calib_ws *ws_get(lsp_calib_acc *acc, int nt, int logits) {
  if (!acc->ws || acc->ws->nt < nt) {
    lsp_calib_ws_free(acc->ws);
    acc->ws = calloc(1, sizeof *acc->ws + (size_t)nt * sizeof acc->ws->slot[0]);
    if (!acc->ws) {
      lsp_fail(LSP_ENOMEM, "out of memory for calibration workspaces");
      return NULL;
    }
    acc->ws->nt = nt;
  }
  for (int t = 0; t < nt; t++)
    if (lsp_calib_slot_fill(&acc->ws->slot[t], acc, logits)) return NULL;
  return acc->ws;
}

static int report_bad(const lsp_calib_bad *b, const char *input) {
  switch (b->kind) {
    case LSP_CALIB_BAD_LABEL:
      return lsp_fail(LSP_EDATA, "row %zu: label %.0f out of range", b->row, b->what);
    case LSP_CALIB_BAD_VALUE:
      return lsp_fail(LSP_EDATA, "row %zu: %s %.9g outside [0, 1]", b->row, input, b->what);
    case LSP_CALIB_BAD_SUM:
      return lsp_fail(LSP_EDATA, "row %zu: probabilities sum to %.9g, not 1 (tolerance 1e-3)",
                      b->row, b->what);
    default:
      return lsp_fail(LSP_EDATA, "row %zu: non-finite %s (%g)", b->row, input, b->what);
  }
}

/* Split rows over threads into private accumulators, then merge them into
 * acc only if every range was valid. */
static int add_rows(lsp_calib_acc *acc, const float *f, const double *d, const int32_t *y,
                    size_t n, size_t row0, double inv_t, int threads, int logits,
                    double *conf, uint8_t *ok) {
  if (!acc || (n > 0 && ((!f && !d) || !y)))
    return lsp_fail(LSP_EINVAL, "calibration: NULL accumulator or input");
  if (acc->k < 2)
    return lsp_fail(LSP_EINVAL, "calibration: need an accumulator with k >= 2 classes");
  if (logits && !(inv_t > 0.0 && isfinite(inv_t)))
    return lsp_fail(LSP_EINVAL, "calibration: 1/T must be positive and finite (got %g)", inv_t);
  if (n == 0) return LSP_OK;
  int nt = threads > 1 ? threads : 1;
  if ((size_t)nt > n) nt = (int)n;
  lsp_calib_bad *bad = calloc((size_t)nt, sizeof *bad);
  struct lsp_calib_ws *ws = bad ? ws_get(acc, nt, logits) : NULL;
  if (!ws) {
    free(bad);
    return lsp_fail(LSP_ENOMEM, "out of memory for calibration workspaces");
  }
  const size_t k = acc->k;
#pragma omp parallel for schedule(static, 1) num_threads(nt) if (nt > 1)
  for (int t = 0; t < nt; t++) {
    lsp_calib_slot *s = &ws->slot[t];
    size_t i0 = n * (size_t)t / (size_t)nt, i1 = n * (size_t)(t + 1) / (size_t)nt;
    double *ct = conf ? conf + i0 : NULL;
    uint8_t *ot = ok ? ok + i0 : NULL;
    if (logits)
      lsp_calib_logits_range(s, f, d, y, i0, i1, row0, inv_t, &bad[t], ct, ot);
    else if (!d && !conf && acc->what == LSP_CALIB_TOP &&
             acc->bins <= LSP_CALIB_KERNEL_MAXBINS) {
      /* fast path; on a rejected row the exact validator finds the reason */
      if (lsp_calib_top_probs_kernel(s->part, f + i0 * k, y + i0, i1 - i0) < i1 - i0)
        lsp_calib_probs_range(s, f, d, y, i0, i1, row0, &bad[t], ct, ot);
    } else
      lsp_calib_probs_range(s, f, d, y, i0, i1, row0, &bad[t], ct, ot);
  }
  int st = LSP_OK;
  for (int t = 0; t < nt && !st; t++) /* the first bad row of the whole input */
    if (bad[t].kind) st = report_bad(&bad[t], logits ? "logit" : "probability");
  for (int t = 0; t < nt; t++) {
    if (!st) lsp_calib_acc_merge(acc, ws->slot[t].part);
    lsp_calib_acc_reset(ws->slot[t].part);
  }
  free(bad);
  return st;
}

int lsp_calib_acc_add_probs(lsp_calib_acc *acc, const float *p, const int32_t *y, size_t n,
                            size_t row0, int threads) {
  return add_rows(acc, p, NULL, y, n, row0, 1.0, threads, 0, NULL, NULL);
}

int lsp_calib_acc_add_logits(lsp_calib_acc *acc, const float *z, const int32_t *y, size_t n,
                             size_t row0, double inv_t, int threads) {
  return add_rows(acc, z, NULL, y, n, row0, inv_t, threads, 1, NULL, NULL);
}

int lsp_calib_acc_add_probs_f64(lsp_calib_acc *acc, const double *p, const int32_t *y,
                                size_t n, size_t row0, int threads) {
  return add_rows(acc, NULL, p, y, n, row0, 1.0, threads, 0, NULL, NULL);
}

int lsp_calib_acc_add_logits_f64(lsp_calib_acc *acc, const double *z, const int32_t *y,
                                 size_t n, size_t row0, double inv_t, int threads) {
  return add_rows(acc, NULL, z, y, n, row0, inv_t, threads, 1, NULL, NULL);
}

int lsp_calib_acc_add_rows(lsp_calib_acc *acc, const float *f, const double *d,
                           const int32_t *y, size_t n, size_t row0, int logits,
                           double inv_t, int threads, double *conf, uint8_t *correct) {
  return add_rows(acc, d ? NULL : f, d, y, n, row0, logits ? inv_t : 1.0, threads, logits,
                  conf, correct);
}
