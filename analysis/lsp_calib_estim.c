/* lsp_calib_estim.c — the estimators an accumulator adds to the plug-in
 * metrics: the debiased binned ECEs (from the equal-width bins) and
 * SmoothECE with its smoothed reliability curve (from the mesh). Both only
 * read sums, so they stream, merge and bootstrap like the plug-in ECE. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib_impl.h"
#include "core/base/lsp_error.h"

lsp_calib_scratch *lsp_calib_scratch_alloc(void) {
  lsp_calib_scratch *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->ws = lsp_smece_ws_alloc();
  s->m0 = malloc(LSP_SMECE_NODES * sizeof *s->m0);
  s->m1 = malloc(LSP_SMECE_NODES * sizeof *s->m1);
  s->m2 = malloc(LSP_SMECE_NODES * sizeof *s->m2);
  if (!s->ws || !s->m0 || !s->m1 || !s->m2) {
    lsp_calib_scratch_free(s);
    return NULL;
  }
  return s;
}

void lsp_calib_scratch_free(lsp_calib_scratch *s) {
  if (!s) return;
  lsp_smece_ws_free(s->ws);
  free(s->m0);
  free(s->m1);
  free(s->m2);
  free(s);
}

void lsp_calib_mesh_doubles(const lsp_calib_acc *a, double *resid, double *ymass,
                            double *wmass) {
  double inv_n = 1.0 / (double)a->n;
  for (size_t j = 0; j < LSP_SMECE_NODES; j++) {
    double y = lsp_calib_fix_double(a->mesh_y[j]);
    resid[j] = (y - lsp_calib_fix_double(a->mesh_c[j])) * inv_n;
    if (ymass) ymass[j] = y * inv_n;
    if (wmass) wmass[j] = lsp_calib_fix_double(a->mesh_w[j]) * inv_n;
  }
}

void lsp_calib_estimators_from_acc(const lsp_calib_acc *a, double v[LSP_CALIB_NMETRIC],
                                   int has[LSP_CALIB_NMETRIC], lsp_calib_scratch *sc) {
  double l1 = 0.0, l2 = 0.0;
  for (int b = 0; b < a->bins; b++)
    if (a->count[b])
      lsp_calib_debias_bin((double)a->count[b], (double)a->correct[b],
                           lsp_calib_fix_double(a->conf[b]), &l1, &l2);
  double n = (double)a->n;
  v[LSP_CALIB_ECE_DEBIASED] = l1 / n;
  v[LSP_CALIB_ECE_L2_DEBIASED] = sqrt(l2 > 0.0 ? l2 / n : 0.0);
  has[LSP_CALIB_ECE_DEBIASED] = has[LSP_CALIB_ECE_L2_DEBIASED] = 1;
  if (!a->mesh_w || !sc || a->overflow) return;
  lsp_calib_mesh_doubles(a, sc->m0, NULL, NULL);
  if (a->smece_sigma > 0.0) {
    v[LSP_CALIB_SMECE_SIGMA] = a->smece_sigma;
    v[LSP_CALIB_SMECE] = lsp_smece_at(sc->ws, sc->m0, a->smece_sigma);
  } else {
    lsp_smece_fit(sc->ws, sc->m0, sc->hint, &v[LSP_CALIB_SMECE_SIGMA], &v[LSP_CALIB_SMECE]);
  }
  has[LSP_CALIB_SMECE] = has[LSP_CALIB_SMECE_SIGMA] = 1;
}

int lsp_calib_curve_fill(const lsp_calib_acc *a, lsp_calib_result *res, lsp_calib_scratch *sc) {
  if (!res->has[LSP_CALIB_SMECE_SIGMA]) return LSP_OK;
  const size_t P = LSP_SMECE_CURVE_PTS;
  res->smooth_acc = malloc(P * sizeof *res->smooth_acc);
  res->smooth_dens = malloc(P * sizeof *res->smooth_dens);
  res->smooth_lo = malloc(P * sizeof *res->smooth_lo);
  res->smooth_hi = malloc(P * sizeof *res->smooth_hi);
  if (!res->smooth_acc || !res->smooth_dens || !res->smooth_lo || !res->smooth_hi)
    return lsp_fail(LSP_ENOMEM, "out of memory for the smoothed reliability curve");
  lsp_calib_mesh_doubles(a, sc->m0, sc->m1, sc->m2);
  lsp_smece_curve(sc->ws, sc->m1, sc->m2, res->value[LSP_CALIB_SMECE_SIGMA], (int)P,
                  res->smooth_acc, res->smooth_dens);
  for (size_t q = 0; q < P; q++) res->smooth_lo[q] = res->smooth_hi[q] = NAN;
  return LSP_OK;
}

void lsp_calib_curve_json(const lsp_calib_result *r, lsp_json *j) {
  const size_t P = LSP_SMECE_CURVE_PTS;
  double t[LSP_SMECE_CURVE_PTS];
  for (size_t q = 0; q < P; q++) t[q] = (double)q / (double)(P - 1);
  lsp_json_key(j, "smooth_curve");
  lsp_json_obj_begin(j);
  lsp_json_key_num(j, "sigma", r->value[LSP_CALIB_SMECE_SIGMA]);
  lsp_json_key_nums(j, "t", t, P);
  lsp_json_key_nums(j, "accuracy", r->smooth_acc, P);
  lsp_json_key_nums(j, "density", r->smooth_dens, P);
  lsp_json_key_nums(j, "lo", r->smooth_lo, P);
  lsp_json_key_nums(j, "hi", r->smooth_hi, P);
  lsp_json_obj_end(j);
}
