/* lsp_study.c — trends and two-level paired bootstrap comparisons from cell
 * results (lsp_study.h). One resampling stream per smoothed ε serves every
 * summary, so the draws of two summaries at the same r are paired (the
 * ratio of two gains has an interval). */
#include "reports/lsp_study.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"
#include "reports/lsp_html.h"

/* resamples between two polls of the interrupt flag: a poll costs far less
 * than one resample's S·M differences, the flag is seen within 256 of them */
#define LSP_STUDY_POLL 256

static size_t eps_index(const lsp_study *s, double eps) {
  for (size_t i = 0; i < s->n_eps; i++)
    if (s->eps[i] == eps) return i;
  return SIZE_MAX;
}

double lsp_study_tied_diff(double a, double b) {
  double d = a - b;
  return fabs(d) <= LSP_STUDY_TIE_REL * (fabs(a) + fabs(b)) ? 0.0 : d;
}

static void percentiles(double *v, size_t n, double *lo, double *hi) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!isnan(v[i])) v[m++] = v[i];
  if (m == 0) {
    *lo = *hi = NAN;
    return;
  }
  qsort(v, m, sizeof *v, lsp_cmp_double);
  *lo = lsp_percentile_sorted(v, m, 0.025);
  *hi = lsp_percentile_sorted(v, m, 0.975);
}

void lsp_study_free(lsp_study *s) {
  if (!s) return;
  for (size_t e = 0; e < LSP_STUDY_MAX_EPS; e++)
    for (size_t m = 0; m < LSP_CELL_NSTAT; m++) {
      free(s->cmp[e][m].draws);
      s->cmp[e][m].draws = NULL;
    }
}

static void trends(const lsp_cell_result *cells, size_t n, lsp_study *s) {
  for (size_t e = 0; e < s->n_eps; e++)
    for (size_t m = 0; m < LSP_CELL_NSTAT; m++) {
      lsp_study_trend *t = &s->trend[e][m];
      double sum = 0, sq = 0, mn = INFINITY, mx = -INFINITY;
      size_t k = 0;
      for (size_t i = 0; i < n; i++) {
        double v = cells[i].value[m];
        if (cells[i].key.eps != s->eps[e] || isnan(v)) continue;
        sum += v;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        k++;
      }
      t->n = k;
      t->mean = k ? sum / (double)k : NAN;
      for (size_t i = 0; i < n; i++) {
        double v = cells[i].value[m];
        if (cells[i].key.eps == s->eps[e] && !isnan(v)) sq += (v - t->mean) * (v - t->mean);
      }
      t->sd = k > 1 ? sqrt(sq / (double)(k - 1)) : NAN;
      t->min = k ? mn : NAN;
      t->max = k ? mx : NAN;
    }
}

/* the pairs (smoothed cell, base cell) of ε index e, in seed order */
static size_t pairs_of(const lsp_cell_result *cells, size_t n, const lsp_study *s, size_t e,
                       const lsp_cell_result **a, const lsp_cell_result **b) {
  size_t k = 0;
  for (size_t i = 0; i < n && k < 16; i++) {
    if (cells[i].key.eps != s->eps[e]) continue;
    for (size_t j = 0; j < n; j++)
      if (cells[j].key.eps == 0 && cells[j].key.seed == cells[i].key.seed) {
        a[k] = &cells[i];
        b[k] = &cells[j];
        k++;
        break;
      }
  }
  return k;
}

const char *lsp_study_agreement(const lsp_study_cmp *c) {
  if (c->agree) return "agree";
  size_t ties = 0, with = 0;
  for (size_t k = 0; k < c->seeds; k++) {
    ties += c->per_seed[k] == 0;
    with += (c->diff > 0 && c->per_seed[k] > 0) || (c->diff < 0 && c->per_seed[k] < 0);
  }
  return c->diff != 0 && ties > 0 && ties + with == c->seeds ? "tied" : "disagree";
}

static int compare_eps(const lsp_cell_result *cells, size_t n, lsp_study *s, size_t e) {
  const lsp_cell_result *a[16], *b[16];
  size_t S = pairs_of(cells, n, s, e, a, b);
  const size_t R = s->R, B = s->B, M = LSP_CELL_NSTAT;
  for (size_t m = 0; m < M; m++) {
    lsp_study_cmp *c = &s->cmp[e][m];
    c->eps = s->eps[e];
    c->seeds = S;
    c->few_seeds = S < LSP_STUDY_MIN_SEEDS;
    double sa = 0, sb = 0;
    size_t pos = 0, neg = 0;
    for (size_t k = 0; k < S; k++) {
      sa += a[k]->value[m];
      sb += b[k]->value[m];
      c->per_seed[k] = lsp_study_tied_diff(a[k]->value[m], b[k]->value[m]);
      pos += c->per_seed[k] > 0;
      neg += c->per_seed[k] < 0;
    }
    c->mean_eps = S ? sa / (double)S : NAN;
    c->mean_base = S ? sb / (double)S : NAN;
    c->diff = lsp_study_tied_diff(c->mean_eps, c->mean_base);
    c->agree = S > 0 && ((c->diff > 0 && pos == S) || (c->diff < 0 && neg == S));
    if (!(c->draws = malloc(R * sizeof *c->draws))) return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  if (!g) return lsp_fail(LSP_ENOMEM, "out of memory");
  gsl_rng_set(g, (unsigned long)(lsp_splitmix64(LSP_STUDY_SEED ^ lsp_splitmix64(e)) & 0xffffffffUL));
  size_t pick[16], bb[16];
  for (size_t r = 0; r < R; r++) {
    if (r % LSP_STUDY_POLL == 0 && lsp_interrupted()) { /* the host's interruption */
      gsl_rng_free(g);
      return lsp_fail(LSP_EINTR, "study: interrupted");
    }
    for (size_t k = 0; k < S; k++) {
      pick[k] = gsl_rng_uniform_int(g, (unsigned long)S);
      bb[k] = gsl_rng_uniform_int(g, (unsigned long)B);
    }
    for (size_t m = 0; m < M; m++) {
      double d = 0;
      for (size_t k = 0; k < S; k++) {
        const lsp_cell_result *x = a[pick[k]], *y = b[pick[k]];
        d += lsp_study_tied_diff(x->resample[bb[k] * M + m], y->resample[bb[k] * M + m]);
      }
      s->cmp[e][m].draws[r] = S ? d / (double)S : NAN;
    }
  }
  gsl_rng_free(g);
  double *tmp = malloc(R * sizeof *tmp);
  if (!tmp) return lsp_fail(LSP_ENOMEM, "out of memory");
  for (size_t m = 0; m < M; m++) {
    memcpy(tmp, s->cmp[e][m].draws, R * sizeof *tmp);
    percentiles(tmp, R, &s->cmp[e][m].lo, &s->cmp[e][m].hi);
    if (isnan(s->cmp[e][m].diff)) s->cmp[e][m].lo = s->cmp[e][m].hi = NAN;
  }
  free(tmp);
  return LSP_OK;
}

int lsp_study_compute(const lsp_cell_result *cells, size_t n, lsp_study *out) {
  memset(out, 0, sizeof *out);
  if (n == 0) return lsp_fail(LSP_EINVAL, "study: no cells");
  out->B = cells[0].B;
  out->R = LSP_STUDY_RESAMPLES;
  unsigned long seeds[64];
  size_t ns = 0;
  for (size_t i = 0; i < n; i++) {
    if (cells[i].B != out->B || !cells[i].resample || strcmp(cells[i].key.arch, cells[0].key.arch)) {
      memset(out, 0, sizeof *out);
      return lsp_fail(LSP_EINVAL, "study: cell %zu has %zu resamples or another architecture", i,
                      cells[i].B);
    }
    if (eps_index(out, cells[i].key.eps) == SIZE_MAX) {
      if (out->n_eps == LSP_STUDY_MAX_EPS) {
        memset(out, 0, sizeof *out);
        return lsp_fail(LSP_EINVAL, "study: too many ε");
      }
      out->eps[out->n_eps++] = cells[i].key.eps;
    }
    size_t j = 0;
    while (j < ns && seeds[j] != cells[i].key.seed) j++;
    if (j == ns && ns < 64) seeds[ns++] = cells[i].key.seed;
  }
  out->n_seeds = ns;
  out->base = eps_index(out, 0.0);
  if (out->base == SIZE_MAX) out->base = out->n_eps;
  out->judged = eps_index(out, LSP_STUDY_JUDGED_EPS);
  if (out->judged == SIZE_MAX)
    for (size_t e = 0; e < out->n_eps; e++)
      if (e != out->base) {
        out->judged = e;
        break;
      }
  trends(cells, n, out);
  if (out->base == out->n_eps) return LSP_OK;
  for (size_t e = 0; e < out->n_eps; e++) {
    if (e == out->base) continue;
    int st = compare_eps(cells, n, out, e);
    if (st) { /* no partial result */
      lsp_study_free(out);
      memset(out, 0, sizeof *out);
      return st;
    }
  }
  return LSP_OK;
}

int lsp_study_verdict(const lsp_study_cmp *c, int direction) {
  if (isnan(c->lo) || isnan(c->hi) || !c->agree) return LSP_FINDING_INCONCLUSIVE;
  double lo = direction > 0 ? c->lo : -c->hi, hi = direction > 0 ? c->hi : -c->lo;
  return lo > 0 ? LSP_FINDING_SUPPORTED : hi < 0 ? LSP_FINDING_CONTRADICTED
                                                 : LSP_FINDING_INCONCLUSIVE;
}

int lsp_study_ratio_defined(const lsp_study_cmp *den) {
  return den->diff != 0 && (den->lo > 0 || den->hi < 0); /* false on NaN */
}

void lsp_study_ratio(const lsp_study_cmp *num, const lsp_study_cmp *den, size_t R, double *ratio,
                     double *lo, double *hi) {
  *ratio = *lo = *hi = NAN;
  if (!lsp_study_ratio_defined(den) || !num->draws || !den->draws) return;
  *ratio = num->diff / den->diff;
  double *v = malloc(R * sizeof *v);
  if (!v) return;
  for (size_t r = 0; r < R; r++) v[r] = den->draws[r] != 0 ? num->draws[r] / den->draws[r] : NAN;
  percentiles(v, R, lo, hi);
  free(v);
}

void lsp_study_cell_interval(const lsp_cell_result *r, int m, double *lo, double *hi) {
  *lo = *hi = NAN;
  if (m < 0 || m >= LSP_CELL_NSTAT) return;
  if (lsp_cell_stat_inverted(m)) { /* never the percentile: it lies above the truth */
    if (r->calib_ci) {
      *lo = r->ci_lo[m];
      *hi = r->ci_hi[m];
    }
    return;
  }
  if (!r->resample || r->B == 0) return;
  double *v = malloc(r->B * sizeof *v);
  if (!v) return;
  for (size_t b = 0; b < r->B; b++) v[b] = r->resample[b * LSP_CELL_NSTAT + (size_t)m];
  percentiles(v, r->B, lo, hi);
  free(v);
}
