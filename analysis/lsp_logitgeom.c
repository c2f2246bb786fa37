/* lsp_logitgeom.c — logit gap and predictive entropy (see lsp_logitgeom.h). */
#include "analysis/lsp_logitgeom.h"

#include <math.h>
#include <stdlib.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

void lsp_dist_summarize(double *v, size_t n, lsp_dist_summary *out) {
  double s = 0.0, big = 0.0;
  for (size_t i = 0; i < n; i++) {
    s += v[i];
    if (fabs(v[i]) > big) big = fabs(v[i]);
  }
  out->mean = s / (double)n;
  if (!isfinite(out->mean) && isfinite(big)) {
    /* finite values whose sum overflows (gaps of float64 logits near the
     * end of the double range): the same mean of the values scaled by
     * their largest |v|, in [-big, big] */
    double s2 = 0.0;
    for (size_t i = 0; i < n; i++) s2 += v[i] / big;
    out->mean = big * (s2 / (double)n);
  }
  qsort(v, n, sizeof *v, lsp_cmp_double);
  out->min = v[0];
  out->max = v[n - 1];
  out->median = lsp_percentile_sorted(v, n, 0.5);
  out->q05 = lsp_percentile_sorted(v, n, 0.05);
  out->q25 = lsp_percentile_sorted(v, n, 0.25);
  out->q75 = lsp_percentile_sorted(v, n, 0.75);
  out->q95 = lsp_percentile_sorted(v, n, 0.95);
}

/* Logit j of row i, from float (zf) or double (zd) logits. */
#define AT(i, j) (zf ? (double)zf[(i) * k + (j)] : zd[(i) * k + (j)])

static int compute(const float *zf, const double *zd, const int32_t *labels, size_t n,
                   size_t k, const lsp_ls *ls, lsp_logitgap *out, double *gap_out,
                   double *entropy_out) {
  if ((!zf && !zd) || !labels || !out || n == 0 || k < 2)
    return lsp_fail(LSP_EINVAL, "empty input (N = %zu, K = %zu)", n, k);
  int st;
  if (ls && (st = lsp_ls_check(ls, k))) return st;
  for (size_t i = 0; i < n; i++)
    if (labels[i] < 0 || (size_t)labels[i] >= k)
      return lsp_fail(LSP_EDATA, "label %d of row %zu is outside [0, %zu)",
                      (int)labels[i], i, k);
  double *scratch = malloc(n * sizeof *scratch);
  if (!scratch) return lsp_fail(LSP_ENOMEM, "out of memory (N = %zu)", n);
  double *gap = gap_out ? gap_out : scratch;
  double *ent = entropy_out ? entropy_out : scratch;
  out->n = n;
  out->k = k;
  out->has_optimal = ls != NULL;
  out->optimal_gap = ls ? lsp_ls_optimal_gap(ls, k) : NAN;
  out->eps = ls ? ls->eps : 0.0;
  out->convention = ls ? ls->convention : LSP_LS_UNIFORM;
  out->entropy_max = log((double)k);
  size_t above = 0;
  st = LSP_OK;
  /* First the gaps (into gap[], which may be the scratch array). */
  for (size_t i = 0; i < n && !st; i++) {
    const size_t yi = (size_t)labels[i];
    const double zy = AT(i, yi);
    double sum = 0.0, big = 0.0;
    for (size_t j = 0; j < k; j++) {
      if (!isfinite(AT(i, j))) {
        st = lsp_fail(LSP_EDATA, "logit %zu of row %zu is not finite", j, i);
        break;
      }
      /* the differences z_y - z_j, not z_y - (sum z - z_y)/(K-1): a sum of
       * logits of 1e15 would lose the units of their differences */
      if (j != yi) sum += zy - AT(i, j);
      if (fabs(AT(i, j)) > big) big = fabs(AT(i, j));
    }
    if (st) break;
    gap[i] = sum / (double)(k - 1);
    if (!isfinite(gap[i])) {
      /* float64 logits near the end of the double range: a difference or
       * the sum overflowed; the same gap on logits scaled by their
       * largest |z| */
      double s2 = 0.0;
      for (size_t j = 0; j < k; j++)
        if (j != yi) s2 += zy / big - AT(i, j) / big;
      gap[i] = big * (s2 / (double)(k - 1));
      if (!isfinite(gap[i])) {
        st = lsp_fail(LSP_EDATA,
                      "row %zu: the logit gap is beyond the double range", i);
        break;
      }
    }
    above += ls && gap[i] > out->optimal_gap;
  }
  if (st) goto done;
  out->share_above_optimal = ls ? (double)above / (double)n : NAN;
  if (gap == scratch) {
    lsp_dist_summarize(gap, n, &out->gap);
  } else {
    /* keep the caller's per-example order: summarize a sorted copy */
    for (size_t i = 0; i < n; i++) scratch[i] = gap[i];
    lsp_dist_summarize(scratch, n, &out->gap);
  }
  for (size_t i = 0; i < n; i++) {
    double m = AT(i, 0);
    for (size_t j = 1; j < k; j++)
      if (AT(i, j) > m) m = AT(i, j);
    double s = 0.0, sz = 0.0;
    for (size_t j = 0; j < k; j++) {
      double d = AT(i, j) - m, e = exp(d);
      s += e;
      if (e > 0.0) sz += e * d; /* p log p -> 0; d may be -inf past 1.8e308 */
    }
    double h = log(s) - sz / s;
    ent[i] = h > 0.0 ? h : 0.0; /* rounding can give -0 or -1e-17 at p = 1 */
  }
  if (ent == scratch) {
    lsp_dist_summarize(ent, n, &out->entropy);
  } else {
    for (size_t i = 0; i < n; i++) scratch[i] = ent[i];
    lsp_dist_summarize(scratch, n, &out->entropy);
  }
done:
  free(scratch);
  return st;
}
#undef AT

int lsp_logitgap_compute(const float *logits, const int32_t *labels, size_t n,
                         size_t k, const lsp_ls *ls, lsp_logitgap *out,
                         double *gap_out, double *entropy_out) {
  return compute(logits, NULL, labels, n, k, ls, out, gap_out, entropy_out);
}

int lsp_logitgap_compute_f64(const double *logits, const int32_t *labels, size_t n,
                             size_t k, const lsp_ls *ls, lsp_logitgap *out,
                             double *gap_out, double *entropy_out) {
  return compute(NULL, logits, labels, n, k, ls, out, gap_out, entropy_out);
}

const char *lsp_logitgap_no_optimum(const lsp_logitgap *g) {
  if (!g->has_optimal || isfinite(g->optimal_gap)) return NULL;
  if (g->optimal_gap > 0)
    return "eps = 0: q is one-hot, the loss keeps falling as the gap grows "
           "(optimal gap +inf)";
  return "t2t at eps = 1: q_y = 0, the loss keeps falling as the true logit "
         "drops below the others (optimal gap -inf)";
}

static void json_summary(lsp_json *j, const char *key,
                         const lsp_dist_summary *s) {
  lsp_json_key(j, key);
  lsp_json_obj_begin(j);
  lsp_json_key_num(j, "mean", s->mean);
  lsp_json_key_num(j, "median", s->median);
  lsp_json_key_num(j, "q05", s->q05);
  lsp_json_key_num(j, "q25", s->q25);
  lsp_json_key_num(j, "q75", s->q75);
  lsp_json_key_num(j, "q95", s->q95);
  lsp_json_key_num(j, "min", s->min);
  lsp_json_key_num(j, "max", s->max);
  lsp_json_obj_end(j);
}

void lsp_logitgap_json(const lsp_logitgap *g, lsp_json *j) {
  json_summary(j, "logit_gap", &g->gap);
  lsp_json_key(j, "optimal_gap");
  if (g->has_optimal)
    lsp_json_num(j, g->optimal_gap); /* +-inf is written as null */
  else
    lsp_json_null(j);
  if (lsp_logitgap_no_optimum(g))
    lsp_json_key_str(j, "optimal_gap_note", lsp_logitgap_no_optimum(g));
  lsp_json_key(j, "share_above_optimal");
  if (g->has_optimal)
    lsp_json_num(j, g->share_above_optimal);
  else
    lsp_json_null(j);
  if (g->has_optimal) {
    lsp_json_key_num(j, "smoothing", g->eps);
    lsp_json_key_str(j, "convention", lsp_ls_convention_name(g->convention));
  }
  json_summary(j, "entropy", &g->entropy);
  lsp_json_key_num(j, "entropy_max", g->entropy_max);
  lsp_json_key_int(j, "n", (long long)g->n);
  lsp_json_key_int(j, "k", (long long)g->k);
}
