/* lsp_calib_metrics.c — names and option parsing of the calibration
 * metrics, the metrics of a finished accumulator, and the result record
 * (JSON). The accumulator itself is in lsp_calib.c. */
#include "analysis/lsp_calib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib_impl.h"
#include "core/base/lsp_error.h"

static const char *const k_names[LSP_CALIB_NMETRIC] = {
    "accuracy",         "nll",          "brier",           "ece",
    "mce",              "rmsce",        "ace",             "classwise_ece",
    "over_confidence",  "under_confidence", "ece_debiased", "ece_l2_debiased",
    "ece_sweep",        "smece",        "smece_sigma"};

const char *lsp_calib_metric_name(int m) {
  return m >= 0 && m < LSP_CALIB_NMETRIC ? k_names[m] : NULL;
}

lsp_calib_opts lsp_calib_opts_default(void) {
  lsp_calib_opts o = {15, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_BINNING_WIDTH, 0.0};
  return o;
}

int lsp_calib_edges_parse(const char *s, lsp_calib_edges *out) {
  if (s && strcmp(s, "right") == 0) *out = LSP_CALIB_EDGES_RIGHT;
  else if (s && strcmp(s, "left") == 0) *out = LSP_CALIB_EDGES_LEFT;
  else return lsp_fail(LSP_EINVAL, "unknown edge rule '%s' (right or left)", s ? s : "");
  return LSP_OK;
}

int lsp_calib_binning_parse(const char *s, lsp_calib_binning *out) {
  if (s && strcmp(s, "width") == 0) *out = LSP_CALIB_BINNING_WIDTH;
  else if (s && strcmp(s, "mass") == 0) *out = LSP_CALIB_BINNING_MASS;
  else return lsp_fail(LSP_EINVAL, "unknown binning '%s' (width or mass)", s ? s : "");
  return LSP_OK;
}

const char *lsp_calib_edges_name(lsp_calib_edges e) {
  return e == LSP_CALIB_EDGES_LEFT ? "left" : "right";
}

const char *lsp_calib_binning_name(lsp_calib_binning b) {
  return b == LSP_CALIB_BINNING_MASS ? "mass" : "width";
}

/* ---- allocation --------------------------------------------------------- */

/* ---- metrics ------------------------------------------------------------ */

void lsp_calib_metrics_from_acc(const lsp_calib_acc *a, double v[LSP_CALIB_NMETRIC],
                                int has[LSP_CALIB_NMETRIC], lsp_calib_scratch *sc) {
  double n = (double)a->n;
  double ece = 0, mce = 0, ms = 0, over = 0, under = 0;
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) v[m] = NAN, has[m] = 0;
  for (int b = 0; b < a->bins; b++) {
    if (!a->count[b]) continue;
    double cnt = (double)a->count[b];
    double conf = lsp_calib_fix_double(a->conf[b]) / cnt;
    double acc = (double)a->correct[b] / cnt;
    double gap = acc - conf, wb = cnt / n;
    ece += wb * fabs(gap);
    ms += wb * gap * gap;
    over += wb * (gap < 0 ? -gap : 0.0);
    under += wb * (gap > 0 ? gap : 0.0);
    if (fabs(gap) > mce) mce = fabs(gap);
  }
  v[LSP_CALIB_ACCURACY] = (double)a->n_correct / n;
  v[LSP_CALIB_ECE] = ece;
  v[LSP_CALIB_MCE] = mce;
  v[LSP_CALIB_RMSCE] = sqrt(ms);
  v[LSP_CALIB_OVER_CONFIDENCE] = over;
  v[LSP_CALIB_UNDER_CONFIDENCE] = under;
  has[LSP_CALIB_ACCURACY] = has[LSP_CALIB_ECE] = has[LSP_CALIB_MCE] = 1;
  has[LSP_CALIB_RMSCE] = has[LSP_CALIB_OVER_CONFIDENCE] = has[LSP_CALIB_UNDER_CONFIDENCE] = 1;
  lsp_calib_estimators_from_acc(a, v, has, sc);
  if (a->what != LSP_CALIB_FULL || a->k == 0) return;
  v[LSP_CALIB_NLL] = (a->n_nll_inf || a->overflow) ? INFINITY : lsp_calib_nll_mean(a, n);
  v[LSP_CALIB_BRIER] = lsp_calib_fix_double(a->brier) / n;
  double cw = 0.0;
  for (size_t c = 0; c < a->k; c++)
    for (int b = 0; b < a->bins; b++) {
      size_t i = c * (size_t)a->bins + (size_t)b;
      if (!a->cw_count[i]) continue;
      double cnt = (double)a->cw_count[i];
      double gap = (double)a->cw_pos[i] / cnt - lsp_calib_fix_double(a->cw_sum[i]) / cnt;
      cw += cnt / n * fabs(gap);
    }
  v[LSP_CALIB_CLASSWISE_ECE] = cw / (double)a->k;
  has[LSP_CALIB_NLL] = has[LSP_CALIB_BRIER] = has[LSP_CALIB_CLASSWISE_ECE] = 1;
}

int lsp_calib_acc_finalize(const lsp_calib_acc *a, lsp_calib_result *res) {
  memset(res, 0, sizeof *res);
  if (!a) return lsp_fail(LSP_EINVAL, "calibration: NULL accumulator");
  if (a->n == 0) return lsp_fail(LSP_EDATA, "calibration: no rows (zero examples)");
  size_t m = (size_t)a->bins;
  res->bin_count = malloc(m * sizeof *res->bin_count);
  res->bin_conf = malloc(m * sizeof *res->bin_conf);
  res->bin_acc = malloc(m * sizeof *res->bin_acc);
  if (!res->bin_count || !res->bin_conf || !res->bin_acc) {
    lsp_calib_result_release(res);
    return lsp_fail(LSP_ENOMEM, "out of memory for %zu calibration bins", m);
  }
  res->n = (size_t)a->n;
  res->k = a->k;
  res->bins = a->bins;
  res->edges = a->edges;
  res->binning = LSP_CALIB_BINNING_WIDTH;
  res->temperature = 1.0;
  lsp_calib_scratch *sc = a->mesh_w ? lsp_calib_scratch_alloc() : NULL;
  if (a->mesh_w && !sc) {
    lsp_calib_result_release(res);
    return lsp_fail(LSP_ENOMEM, "out of memory for SmoothECE's workspace");
  }
  lsp_calib_metrics_from_acc(a, res->value, res->has, sc);
  int st = sc ? lsp_calib_curve_fill(a, res, sc) : LSP_OK;
  lsp_calib_scratch_free(sc);
  if (st) {
    lsp_calib_result_release(res);
    return st;
  }
  res->nll_infinite = a->what == LSP_CALIB_FULL && a->n_nll_inf > 0;
  for (size_t b = 0; b < m; b++) {
    double cnt = (double)a->count[b];
    res->bin_count[b] = a->count[b];
    res->bin_conf[b] = cnt > 0 ? lsp_calib_fix_double(a->conf[b]) / cnt : NAN;
    res->bin_acc[b] = cnt > 0 ? (double)a->correct[b] / cnt : NAN;
  }
  return LSP_OK;
}

void lsp_calib_result_release(lsp_calib_result *res) {
  if (!res) return;
  free(res->bin_count);
  free(res->bin_conf);
  free(res->bin_acc);
  free(res->smooth_acc);
  free(res->smooth_dens);
  free(res->smooth_lo);
  free(res->smooth_hi);
  res->bin_count = NULL;
  res->bin_conf = res->bin_acc = NULL;
  res->smooth_acc = res->smooth_dens = res->smooth_lo = res->smooth_hi = NULL;
}

/* ---- JSON --------------------------------------------------------------- */

void lsp_calib_result_json(const lsp_calib_result *r, lsp_json *j) {
  lsp_json_key_int(j, "n", (long long)r->n);
  lsp_json_key_int(j, "k", (long long)r->k);
  lsp_json_key_int(j, "num_bins", r->bins);
  lsp_json_key_str(j, "edges", lsp_calib_edges_name(r->edges));
  lsp_json_key_str(j, "binning", lsp_calib_binning_name(r->binning));
  lsp_json_key_num(j, "temperature", r->temperature);
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
    if (!r->has[m]) continue;
    lsp_json_key_num(j, k_names[m], r->value[m]); /* +inf NLL -> null */
    if (r->has_ci) {
      char key[64];
      double ci[2] = {r->ci_lo[m], r->ci_hi[m]};
      snprintf(key, sizeof key, "%s_ci", k_names[m]);
      lsp_json_key_nums(j, key, ci, 2);
      if (lsp_calib_result_inverted(r, m)) {
        double pc[2] = {r->pct_lo[m], r->pct_hi[m]};
        snprintf(key, sizeof key, "%s_ci_percentile", k_names[m]);
        lsp_json_key_nums(j, key, pc, 2);
      }
    }
  }
  if (r->nll_infinite) lsp_json_key_bool(j, "nll_infinite", 1);
  if (r->has_ci) {
    lsp_json_key_int(j, "bootstrap_resamples", r->resamples);
    lsp_json_key_int(j, "bootstrap_seed", (long long)r->seed);
    lsp_json_key_str(j, "ci_method", lsp_calib_ci_name(r->ci));
  }
  if (r->sweep_bins > 0) lsp_json_key_int(j, "ece_sweep_bins", r->sweep_bins);
  lsp_json_key(j, "bins");
  lsp_json_arr_begin(j);
  for (int b = 0; b < r->bins; b++) {
    lsp_json_obj_begin(j);
    lsp_json_key_int(j, "count", (long long)r->bin_count[b]);
    lsp_json_key_num(j, "confidence", r->bin_conf[b]); /* empty bin -> null */
    lsp_json_key_num(j, "accuracy", r->bin_acc[b]);
    lsp_json_obj_end(j);
  }
  lsp_json_arr_end(j);
  if (r->smooth_acc) lsp_calib_curve_json(r, j);
}

void lsp_calib_pair_json(const lsp_calib_result *before,
                         const lsp_calib_result *after, lsp_json *j) {
  lsp_json_key(j, "calibration");
  lsp_json_obj_begin(j);
  lsp_calib_result_json(before, j);
  lsp_json_obj_end(j);
  if (!after) return;
  lsp_json_key(j, "calibration_temperature_scaled");
  lsp_json_obj_begin(j);
  lsp_calib_result_json(after, j);
  lsp_json_obj_end(j);
}
