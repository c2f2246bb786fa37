/* lsp_study.c — trends and the comparisons of every smoothed ε with ε = 0
 * from cell results (lsp_study.h): per-seed differences, their t interval
 * combined with the example level of the cells' shared resamples. */
#include "reports/lsp_study.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"
#include "reports/lsp_html.h"

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
      free(s->cmp[e][m].ex);
      s->cmp[e][m].ex = NULL;
    }
}

/* cell i comes after cell j in the trends' order: by seed (then by index,
 * so that no cell is skipped) */
static int after(const lsp_cell_result *cells, size_t i, size_t j) {
  return cells[i].key.seed > cells[j].key.seed ||
         (cells[i].key.seed == cells[j].key.seed && i > j);
}

/* the cell of ε eps after cell prev in ascending seed order (prev ==
 * SIZE_MAX: the first), SIZE_MAX after the last */
static size_t next_cell(const lsp_cell_result *cells, size_t n, double eps, size_t prev) {
  size_t best = SIZE_MAX;
  for (size_t i = 0; i < n; i++)
    if (cells[i].key.eps == eps && (prev == SIZE_MAX || after(cells, i, prev)) &&
        (best == SIZE_MAX || after(cells, best, i)))
      best = i;
  return best;
}

/* Mean, sd, min and max of each summary at each ε over the seeds, summed
 * in ascending seed order: the sums, so the last bit of the mean, do not
 * depend on the order of the cells. */
static void trends(const lsp_cell_result *cells, size_t n, lsp_study *s) {
  for (size_t e = 0; e < s->n_eps; e++)
    for (size_t m = 0; m < LSP_CELL_NSTAT; m++) {
      lsp_study_trend *t = &s->trend[e][m];
      double sum = 0, sq = 0, mn = INFINITY, mx = -INFINITY;
      size_t k = 0;
      for (size_t i = next_cell(cells, n, s->eps[e], SIZE_MAX); i != SIZE_MAX;
           i = next_cell(cells, n, s->eps[e], i)) {
        double v = cells[i].value[m];
        if (isnan(v)) continue;
        sum += v;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        k++;
      }
      t->n = k;
      t->mean = k ? sum / (double)k : NAN;
      for (size_t i = next_cell(cells, n, s->eps[e], SIZE_MAX); i != SIZE_MAX;
           i = next_cell(cells, n, s->eps[e], i)) {
        double v = cells[i].value[m];
        if (!isnan(v)) sq += (v - t->mean) * (v - t->mean);
      }
      t->sd = k > 1 ? sqrt(sq / (double)(k - 1)) : NAN;
      t->min = k ? mn : NAN;
      t->max = k ? mx : NAN;
    }
}

/* the pairs (smoothed cell, base cell) of ε index e, seeds ascending */
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
  for (size_t i = 1; i < k; i++) /* insertion sort by seed: k ≤ 16 */
    for (size_t j = i; j > 0 && a[j - 1]->key.seed > a[j]->key.seed; j--) {
      const lsp_cell_result *ta = a[j], *tb = b[j];
      a[j] = a[j - 1];
      b[j] = b[j - 1];
      a[j - 1] = ta;
      b[j - 1] = tb;
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

double lsp_study_half_seed(const double *d, size_t S, double *sd) {
  *sd = NAN;
  if (S < 2) return NAN;
  double mu = 0, ss = 0;
  for (size_t k = 0; k < S; k++) mu += d[k];
  mu /= (double)S;
  for (size_t k = 0; k < S; k++) ss += (d[k] - mu) * (d[k] - mu);
  *sd = sqrt(ss / (double)(S - 1));
  return gsl_cdf_tdist_Pinv(0.975, (double)(S - 1)) * *sd / sqrt((double)S);
}

void lsp_study_interval(lsp_study_cmp *c, const double *d, size_t S, double diff, const double *ex,
                        size_t B) {
  size_t pos = 0, neg = 0;
  S = S > 16 ? 16 : S;
  c->seeds = S;
  c->few_seeds = S < LSP_STUDY_MIN_SEEDS;
  for (size_t k = 0; k < S; k++) {
    c->per_seed[k] = d[k];
    pos += d[k] > 0;
    neg += d[k] < 0;
  }
  c->diff = diff;
  c->agree = S > 0 && ((diff > 0 && pos == S) || (diff < 0 && neg == S));
  c->sd_seed = c->half_seed = c->half_ex = c->lo = c->hi = NAN;
  double v[LSP_STUDY_MAX_B];
  size_t n = 0;
  for (size_t b = 0; b < B && b < LSP_STUDY_MAX_B; b++)
    if (!isnan(ex[b])) v[n++] = ex[b];
  if (n) {
    double qlo, qhi;
    percentiles(v, n, &qlo, &qhi);
    c->half_ex = (qhi - qlo) / 2;
  }
  if (S < 2 || isnan(diff)) return;
  c->half_seed = lsp_study_half_seed(d, S, &c->sd_seed);
  if (isnan(c->half_ex)) return;
  double h = sqrt(c->half_seed * c->half_seed + c->half_ex * c->half_ex);
  c->lo = diff - h;
  c->hi = diff + h;
}

static int compare_eps(const lsp_cell_result *cells, size_t n, lsp_study *s, size_t e) {
  const lsp_cell_result *a[16], *b[16];
  size_t S = pairs_of(cells, n, s, e, a, b);
  const size_t B = s->B, M = LSP_CELL_NSTAT;
  if (lsp_interrupted()) return lsp_fail(LSP_EINTR, "study: interrupted");
  for (size_t m = 0; m < M; m++) {
    lsp_study_cmp *c = &s->cmp[e][m];
    c->eps = s->eps[e];
    double sa = 0, sb = 0, d[16];
    for (size_t k = 0; k < S; k++) {
      sa += a[k]->value[m];
      sb += b[k]->value[m];
      d[k] = lsp_study_tied_diff(a[k]->value[m], b[k]->value[m]);
    }
    c->mean_eps = S ? sa / (double)S : NAN;
    c->mean_base = S ? sb / (double)S : NAN;
    if (!(c->ex = malloc((B ? B : 1) * sizeof *c->ex))) return lsp_fail(LSP_ENOMEM, "out of memory");
    for (size_t r = 0; r < B; r++) {
      double x = 0;
      for (size_t k = 0; k < S; k++)
        x += lsp_study_tied_diff(a[k]->resample[r * M + m], b[k]->resample[r * M + m]);
      c->ex[r] = S ? x / (double)S : NAN;
    }
    lsp_study_interval(c, d, S, lsp_study_tied_diff(c->mean_eps, c->mean_base), c->ex, B);
    for (size_t k = 0; k < S && k < 16; k++) c->seed[k] = a[k]->key.seed;
  }
  return LSP_OK;
}

void lsp_study_contrast(const lsp_study_cmp *x, double a, const lsp_study_cmp *y, double b,
                        size_t B, lsp_study_cmp *out) {
  memset(out, 0, sizeof *out);
  out->eps = x->eps;
  out->mean_eps = a * x->mean_eps + b * y->mean_eps;
  out->mean_base = a * x->mean_base + b * y->mean_base;
  double d[16], ex[LSP_STUDY_MAX_B];
  size_t S = x->seeds < y->seeds ? x->seeds : y->seeds;
  for (size_t k = 0; k < S; k++) d[k] = lsp_study_tied_diff(a * x->per_seed[k], -b * y->per_seed[k]);
  B = B > LSP_STUDY_MAX_B ? LSP_STUDY_MAX_B : B;
  for (size_t r = 0; r < B; r++)
    ex[r] = x->ex && y->ex ? a * x->ex[r] + b * y->ex[r] : NAN;
  lsp_study_interval(out, d, S, lsp_study_tied_diff(a * x->diff, -b * y->diff), ex, B);
  memcpy(out->seed, x->seed, sizeof out->seed);
}

double lsp_study_judged_eps(const double *eps, size_t n) {
  double best = NAN, dist = INFINITY;
  for (size_t i = 0; i < n; i++) {
    if (eps[i] == 0 || isnan(eps[i])) continue;
    double d = fabs(eps[i] - LSP_STUDY_JUDGED_EPS);
    if (d < dist || (d == dist && eps[i] > best)) {
      best = eps[i];
      dist = d;
    }
  }
  return best;
}

int lsp_study_compute(const lsp_cell_result *cells, size_t n, lsp_study *out) {
  memset(out, 0, sizeof *out);
  if (n == 0) return lsp_fail(LSP_EINVAL, "study: no cells");
  out->B = cells[0].B;
  unsigned long seeds[64];
  size_t ns = 0;
  for (size_t i = 0; i < n; i++) {
    if (cells[i].B != out->B || out->B > LSP_STUDY_MAX_B || !cells[i].resample ||
        strcmp(cells[i].key.arch, cells[0].key.arch)) {
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
  out->judged = eps_index(out, lsp_study_judged_eps(out->eps, out->n_eps));
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

/* whether ρ is in the ratio's interval: num − ρ·den's interval holds 0 */
static int ratio_holds(const lsp_study_cmp *num, const lsp_study_cmp *den, size_t B, double rho) {
  lsp_study_cmp c;
  lsp_study_contrast(num, 1.0, den, -rho, B, &c);
  return !(c.lo > 0 || c.hi < 0);
}

/* the end of the ratio's interval from r (inside) in direction dir */
static double ratio_end(const lsp_study_cmp *num, const lsp_study_cmp *den, size_t B, double r,
                        double dir) {
  double step = 1e-3 * (fabs(r) > 1 ? fabs(r) : 1), in = r, out;
  for (;;) {
    out = r + dir * step;
    if (!ratio_holds(num, den, B, out)) break;
    in = out;
    if (step > 1e6) return dir * INFINITY;
    step *= 2;
  }
  for (int it = 0; it < 200 && fabs(out - in) > 1e-9 * (fabs(in) > 1 ? fabs(in) : 1); it++) {
    double mid = in + (out - in) / 2;
    if (ratio_holds(num, den, B, mid))
      in = mid;
    else
      out = mid;
  }
  return in;
}

void lsp_study_ratio(const lsp_study_cmp *num, const lsp_study_cmp *den, size_t B, double *ratio,
                     double *lo, double *hi) {
  *ratio = *lo = *hi = NAN;
  if (!lsp_study_ratio_defined(den) || isnan(num->diff)) return;
  *ratio = num->diff / den->diff;
  if (!ratio_holds(num, den, B, *ratio)) return; /* no interval: NaN ends */
  *lo = ratio_end(num, den, B, *ratio, -1);
  *hi = ratio_end(num, den, B, *ratio, 1);
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
