/* lsp_calib_ti_cw.c — the test-inversion interval of the classwise ECE
 * (DESIGN §2 "Intervals"), and the pieces of the inversion shared with
 * lsp_calib_ti.c (the interval kinds, the quantile, the inversion of a
 * scan).
 *
 * The classwise plug-in (Kull et al. 2019) sums |positives − Σ p_k| over
 * K × bins cells, each biased upward by its own noise, so its percentile
 * interval lies above the truth, as the top-label ECE's does. The same
 * construction as lsp_calib_ti.c, on the full probability rows:
 * - for each class k, ĝ_k(c) = μ̂_k(c) − c, the one-vs-rest reliability
 *   curve of the pairs (p_ik, 1[y_i = k]) smoothed by SmoothECE's kernel
 *   on a logit axis (cw_axis: most p_ik are tiny, and a kernel on c itself
 *   spreads the level of the curve near 0.02 onto the pairs near 1e-4,
 *   inflating the worlds' error) at the bandwidth σ*_k SmoothECE fits to
 *   that class's pairs on the axis;
 * - world λ keeps every row's reported p_i and draws its label from
 *   π_i(λ) ∝ q_i(λ), q_ik = clip(p_ik + λ ĝ_k(p_ik), 0, 1), scaled to the
 *   row's own sum Σ_k p_ik (1 within the input tolerance), so that λ = 0 is
 *   exactly the calibrated world π = p;
 * - its true one-vs-rest classwise ℓ1 error over the empirical rows is
 *   T(λ) = (1/K) Σ_k (1/N) Σ_c |Σ_{i: p_ik in c} (π_ik(λ) − p_ik)| over
 *   1024 equal-width cells c of p_k, computed from the π the draws use (the
 *   scaling makes π_ik depend a little on the rest of the row; the cells
 *   average that out, as P(y = k | p_k) does); T need not grow with λ (a
 *   row clipped at 0 and 1 is rescaled to its total, which can take error
 *   away), so the interval is the range of T over the worlds not rejected
 *   (lsp_calib_ti_hull), not the two ends' values;
 * - a draw resamples N rows with replacement (the copies counted per row)
 *   and labels each copy by the inverse CDF of π_i(λ) (lsp_calib_cdf_pick,
 *   a bisection) at one uniform, drawn
 *   in row order after the indices, the same indices and uniforms for
 *   every λ (draw b seeded from (seed, b): the same intervals for any
 *   thread count), and scores the classwise ECE with the observed bins;
 * - the grid, the quantiles and the inversion are lsp_calib_ti.c's
 *   (lsp_calib_ti_lambdas), the edge cases included.
 * Memory: the cumulative π of every row at the λ being drawn (N·K doubles,
 * as much as the table's probabilities) and, when B·K·bins ≤ max(2^22, N·K),
 * each draw's per-cell Σ p_k (they do not depend on λ; at most as much
 * again as the cumulative π). */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib_impl.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"

/* ---- shared with lsp_calib_ti.c ------------------------------------------ */

const char *lsp_calib_ci_name(lsp_calib_ci c) {
  return c == LSP_CALIB_CI_PERCENTILE ? "percentile" : "inversion";
}

int lsp_calib_ci_parse(const char *s, lsp_calib_ci *out) {
  if (s && strcmp(s, "inversion") == 0) *out = LSP_CALIB_CI_INVERSION;
  else if (s && strcmp(s, "percentile") == 0) *out = LSP_CALIB_CI_PERCENTILE;
  else
    return lsp_fail(LSP_EINVAL, "unknown interval '%s' (inversion or percentile)", s ? s : "");
  return LSP_OK;
}

int lsp_calib_ci_inverted(int m) {
  switch (m) {
    case LSP_CALIB_ECE: case LSP_CALIB_RMSCE: case LSP_CALIB_ACE:
    case LSP_CALIB_ECE_DEBIASED: case LSP_CALIB_ECE_L2_DEBIASED:
    case LSP_CALIB_ECE_SWEEP: case LSP_CALIB_SMECE: case LSP_CALIB_CLASSWISE_ECE:
      return 1;
    default:
      return 0;
  }
}

int lsp_calib_result_inverted(const lsp_calib_result *r, int m) {
  if (!r->has_ci || r->ci != LSP_CALIB_CI_INVERSION) return 0;
  return m == LSP_CALIB_SMECE_SIGMA ? r->sigma_inverted : lsp_calib_ci_inverted(m);
}

double lsp_calib_ti_quantile(const double *v, size_t n, double q) {
  double h = (double)(n + 1) * q - 1.0;
  if (h <= 0.0) return v[0];
  size_t lo = (size_t)h;
  if (lo + 1 >= n) return v[n - 1];
  return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

int lsp_calib_ti_lambdas(const double *qlo, const double *qhi, size_t stride, int ng, double t,
                         double *lam_lo, double *lam_hi) {
  const double *grid = lsp_calib_ti_grid;
  int glo = -1, ghi = -1; /* first grid points at or past the observed value */
  for (int g = 0; g < ng && glo < 0; g++)
    if (qhi[(size_t)g * stride] >= t) glo = g;
  for (int g = 0; g < ng && ghi < 0; g++)
    if (qlo[(size_t)g * stride] > t) ghi = g;
  *lam_lo = *lam_hi = grid[ng - 1];
  if (glo < 0) return LSP_CALIB_TI_ABOVE; /* even the last world's 97.5% quantile is below t */
  *lam_lo = 0.0;
  if (glo > 0) {
    double a = qhi[(size_t)(glo - 1) * stride], b = qhi[(size_t)glo * stride];
    *lam_lo = grid[glo - 1] + (t - a) / (b - a) * (grid[glo] - grid[glo - 1]);
  }
  if (ghi < 0) return LSP_CALIB_TI_OPEN; /* no world rejects from below: the last one */
  if (ghi == 0) {
    *lam_hi = 0.0; /* even the calibrated world's 2.5% quantile lies above t */
  } else {
    double a = qlo[(size_t)(ghi - 1) * stride], b = qlo[(size_t)ghi * stride];
    *lam_hi = grid[ghi - 1] + (t - a) / (b - a) * (grid[ghi] - grid[ghi - 1]);
  }
  return LSP_CALIB_TI_BRACKETED;
}

void lsp_calib_ti_hull(double (*truth)(void *ctx, double lam), void *ctx, double lam_lo,
                       double lam_hi, int how, double *lo, double *hi) {
  const double a = truth(ctx, lam_lo), b = how == LSP_CALIB_TI_ABOVE ? a : truth(ctx, lam_hi);
  const double l0 = fmin(lam_lo, lam_hi), l1 = fmax(lam_lo, lam_hi);
  double mn = fmin(a, b), mx = fmax(a, b);
  for (int g = 0; g < LSP_CALIB_TI_NGRID; g++) {
    const double lam = lsp_calib_ti_grid[g];
    if (lam > l0 && lam < l1) {
      const double v = truth(ctx, lam);
      mn = fmin(mn, v);
      mx = fmax(mx, v);
    }
  }
  *lo = mn;
  *hi = how == LSP_CALIB_TI_ABOVE ? INFINITY : mx;
}

/* ---- the classwise worlds ------------------------------------------------ */

#define CW_PTS 1025                      /* points of each ĝ_k's table */
#define CW_CELLS 1024                    /* cells of p_k in the target    */
#define CW_SUM_CACHE ((size_t)1 << 22)   /* doubles of cached per-draw cell sums */

typedef struct {
  const lsp_calib_rows *r;
  const lsp_calib_opts *o;
  const double *tab; /* [K·CW_PTS] ĝ_k at t_q = q/(CW_PTS − 1) */
  uint64_t seed;
  double *cum;       /* [N·K] cumulative π_i(λ) of the λ being drawn */
  double *sums;      /* [B·K·bins] each draw's Σ p_k per cell, or NULL */
} cw_world;

/* The position of a probability c on the curves' axis: logit c mapped
 * from [−CW_LOGIT, CW_LOGIT] onto [0, 1] (clipped), so that the many
 * small probabilities are not smoothed together with the large ones. */
#define CW_LOGIT 16.0
static inline double cw_axis(double c) {
  if (!(c > 0.0)) return 0.0;
  if (!(c < 1.0)) return 1.0;
  double u = (log(c) - log1p(-c) + CW_LOGIT) / (2.0 * CW_LOGIT);
  return u < 0.0 ? 0.0 : u > 1.0 ? 1.0 : u;
}

static inline double cw_unaxis(double u) {
  return 1.0 / (1.0 + exp(-(2.0 * u - 1.0) * CW_LOGIT));
}

static inline double cw_gap(const double *tab, double c) {
  double x = cw_axis(c) * (CW_PTS - 1);
  size_t q = (size_t)x;
  if (q >= CW_PTS - 1) q = CW_PTS - 2;
  double f = x - (double)q;
  return (1.0 - f) * tab[q] + f * tab[q + 1] - c;
}

/* π_i(λ) of row i into pi[K] (see the header). */
static void cw_pi(const cw_world *w, size_t i, double lam, double *pi) {
  const size_t K = w->r->k;
  const double *p = w->r->prob + i * K;
  if (lam == 0.0) {
    memcpy(pi, p, K * sizeof *pi);
    return;
  }
  double sp = 0.0, sq = 0.0;
  for (size_t k = 0; k < K; k++) {
    double q = p[k] + lam * cw_gap(w->tab + k * CW_PTS, p[k]);
    q = q < 0.0 ? 0.0 : q > 1.0 ? 1.0 : q;
    pi[k] = q;
    sp += p[k], sq += q;
  }
  if (!(sq > 0.0)) {
    memcpy(pi, p, K * sizeof *pi);
    return;
  }
  for (size_t k = 0; k < K; k++) pi[k] *= sp / sq;
}

/* T(λ): the true one-vs-rest classwise ℓ1 error of world λ over the rows,
 * (1/K) Σ_k Σ_c |Σ_{i: p_ik in c} (π_ik − p_ik)| / N over CW_CELLS
 * equal-width cells c of p_k (see the header). cell: [K·CW_CELLS]. */
static double cw_truth(const cw_world *w, double lam, double *pi, double *cell) {
  const size_t n = w->r->n, K = w->r->k;
  memset(cell, 0, K * CW_CELLS * sizeof *cell);
  for (size_t i = 0; i < n; i++) {
    const double *p = w->r->prob + i * K;
    cw_pi(w, i, lam, pi);
    for (size_t k = 0; k < K; k++) {
      size_t c = (size_t)(p[k] * CW_CELLS);
      cell[k * CW_CELLS + (c < CW_CELLS ? c : CW_CELLS - 1)] += pi[k] - p[k];
    }
  }
  double acc = 0.0;
  for (size_t c = 0; c < K * CW_CELLS; c++) acc += fabs(cell[c]);
  return acc / ((double)n * (double)K);
}

/* cw_truth for lsp_calib_ti_hull. */
typedef struct {
  const cw_world *w;
  double *pi, *cell;
} cw_truth_ctx;

static double cw_truth_at(void *ctx, double lam) {
  cw_truth_ctx *c = ctx;
  return cw_truth(c->w, lam, c->pi, c->cell);
}

/* The cumulative π_i(λ) of every row into w->cum. */
static int cw_prepare(cw_world *w, double lam, int threads) {
  const size_t K = w->r->k;
  const long n = (long)w->r->n;
  int fail = 0;
#pragma omp parallel num_threads(threads) if (threads > 1) reduction(| : fail)
  {
    double *pi = malloc(K * sizeof *pi);
#pragma omp for schedule(static)
    for (long i = 0; i < n; i++) {
      if (!pi) {
        fail = 1;
        continue;
      }
      double *c = w->cum + (size_t)i * K, s = 0.0;
      cw_pi(w, (size_t)i, lam, pi);
      for (size_t k = 0; k < K; k++) c[k] = s += pi[k];
    }
    free(pi);
  }
  return fail ? lsp_fail(LSP_ENOMEM, "out of memory for the classwise interval") : LSP_OK;
}

size_t lsp_calib_cdf_pick(const double *c, size_t K, double u) {
  size_t lo = 0, hi = K - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (u < c[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* Per-thread workspace of the draws. */
typedef struct {
  uint32_t *w;      /* [N] copies per row                 */
  uint64_t *pos;    /* [K·bins] copies labelled k per cell */
  double *sum;      /* [K·bins] Σ p_k per cell             */
  gsl_rng *g;
} cw_ws;

static void cw_ws_free(cw_ws *ws) {
  free(ws->w);
  free(ws->pos);
  free(ws->sum);
  if (ws->g) gsl_rng_free(ws->g);
  memset(ws, 0, sizeof *ws);
}

static int cw_ws_alloc(const cw_world *wd, cw_ws *ws) {
  const size_t cells = wd->r->k * (size_t)wd->o->bins;
  ws->w = malloc(wd->r->n * sizeof *ws->w);
  ws->pos = malloc(cells * sizeof *ws->pos);
  ws->sum = malloc(cells * sizeof *ws->sum);
  ws->g = gsl_rng_alloc(gsl_rng_mt19937);
  if (!ws->w || !ws->pos || !ws->sum || !ws->g) {
    cw_ws_free(ws);
    return 0;
  }
  return 1;
}

/* Draw b of the world whose cumulative π is in wd->cum: its classwise ECE.
 * fresh: compute the draw's cell sums even when cached (the first λ). */
static double cw_draw(const cw_world *wd, int b, int fresh, cw_ws *ws) {
  const lsp_calib_rows *r = wd->r;
  const size_t n = r->n, K = r->k, bins = (size_t)wd->o->bins, cells = K * bins;
  const lsp_calib_edges edges = wd->o->edges;
  uint64_t key = lsp_splitmix64(wd->seed ^ lsp_splitmix64((uint64_t)b));
  gsl_rng_set(ws->g, (unsigned long)(key & 0xffffffffUL));
  double *sum = wd->sums ? wd->sums + (size_t)b * cells : ws->sum;
  const int sums = fresh || !wd->sums;
  memset(ws->w, 0, n * sizeof *ws->w);
  memset(ws->pos, 0, cells * sizeof *ws->pos);
  if (sums) memset(sum, 0, cells * sizeof *sum);
  for (size_t j = 0; j < n; j++) ws->w[gsl_rng_uniform_int(ws->g, (unsigned long)n)]++;
  /* the copies in row order (memory read in order), one uniform each */
  for (size_t i = 0; i < n; i++) {
    if (!ws->w[i]) continue;
    const double *c = wd->cum + i * K, *p = r->prob + i * K;
    for (uint32_t t = 0; t < ws->w[i]; t++) {
      const size_t k = lsp_calib_cdf_pick(c, K, gsl_rng_uniform(ws->g) * c[K - 1]);
      ws->pos[k * bins + (size_t)lsp_calib_bin(p[k], (int)bins, edges)]++;
    }
    if (sums)
      for (size_t k = 0; k < K; k++)
        sum[k * bins + (size_t)lsp_calib_bin(p[k], (int)bins, edges)] += ws->w[i] * p[k];
  }
  double cw = 0.0;
  for (size_t q = 0; q < cells; q++) cw += fabs((double)ws->pos[q] - sum[q]);
  return cw / ((double)n * (double)K);
}

/* The 2.5% and 97.5% quantiles of B draws of world λ = grid[g]. */
static int cw_grid(cw_world *wd, const lsp_calib_boot *boot, int g, double *vals, double *qlo,
                   double *qhi) {
  const int B = boot->resamples;
  int nt = boot->threads > 1 ? boot->threads : 1, fail = 0, stop = 0;
  int st = cw_prepare(wd, lsp_calib_ti_grid[g], nt);
  if (st) return st;
  if (nt > B) nt = B;
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(| : fail, stop)
  {
    cw_ws ws;
    memset(&ws, 0, sizeof ws);
    int ready = cw_ws_alloc(wd, &ws);
#pragma omp for schedule(static)
    for (int b = 0; b < B; b++) {
      if (!ready) {
        fail = 1;
        continue;
      }
      if (stop || (stop = lsp_interrupted())) continue; /* the host's interruption */
      vals[b] = cw_draw(wd, b, g == 0, &ws);
    }
    cw_ws_free(&ws);
  }
  if (fail)
    return lsp_fail(LSP_ENOMEM, "out of memory for the classwise interval (%zu rows)", wd->r->n);
  if (stop) return lsp_fail(LSP_EINTR, "bootstrap: interrupted");
  qsort(vals, (size_t)B, sizeof *vals, lsp_cmp_double);
  qlo[g] = lsp_calib_ti_quantile(vals, (size_t)B, 0.025);
  qhi[g] = lsp_calib_ti_quantile(vals, (size_t)B, 0.975);
  return LSP_OK;
}

/* μ̂_k for every class into tab[K·CW_PTS] at the axis points
 * u_q = q/(CW_PTS − 1): the curve of the pairs (cw_axis(p_ik), 1[y_i = k])
 * at the class's σ*_k (the diagonal where the density underflows). */
static int cw_shape(const lsp_calib_rows *r, double *tab) {
  const size_t n = r->n, K = r->k;
  lsp_calib_scratch *sc = lsp_calib_scratch_alloc();
  double *curve = malloc(CW_PTS * sizeof *curve);
  int st = LSP_OK;
  if (!sc || !curve) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for the classwise interval");
    goto done;
  }
  for (size_t k = 0; k < K; k++) {
    memset(sc->m0, 0, LSP_SMECE_NODES * sizeof *sc->m0);
    memset(sc->m1, 0, LSP_SMECE_NODES * sizeof *sc->m1);
    memset(sc->m2, 0, LSP_SMECE_NODES * sizeof *sc->m2);
    for (size_t i = 0; i < n; i++) {
      const double c = r->prob[i * K + k], y = (size_t)r->y[i] == k ? 1.0 : 0.0;
      size_t j;
      double f;
      lsp_smece_node(cw_axis(c), &j, &f);
      const double s0 = (1.0 - f) / (double)n, s1 = f / (double)n;
      sc->m0[j] += s0 * (y - c), sc->m0[j + 1] += s1 * (y - c);
      sc->m1[j] += s0 * y, sc->m1[j + 1] += s1 * y;
      sc->m2[j] += s0, sc->m2[j + 1] += s1;
    }
    double sigma, v;
    lsp_smece_fit(sc->ws, sc->m0, 0.0, &sigma, &v);
    lsp_smece_curve(sc->ws, sc->m1, sc->m2, sigma, CW_PTS, curve, NULL);
    for (size_t q = 0; q < CW_PTS; q++) /* where the density underflows: no gap */
      tab[k * CW_PTS + q] = isfinite(curve[q]) ? curve[q] : cw_unaxis((double)q / (CW_PTS - 1));
  }
done:
  lsp_calib_scratch_free(sc);
  free(curve);
  return st;
}

int lsp_calib_ti_classwise(const lsp_calib_rows *r, const lsp_calib_opts *o,
                           const lsp_calib_boot *boot, lsp_calib_result *res) {
  const int m = LSP_CALIB_CLASSWISE_ECE;
  if (!r->k || !r->prob || !res->has[m] || !isfinite(res->value[m])) return LSP_OK;
  const size_t n = r->n, K = r->k, cells = K * (size_t)o->bins;
  const int B = boot->resamples;
  double *tab = malloc(K * CW_PTS * sizeof *tab), *cum = malloc(n * K * sizeof *cum);
  double *vals = malloc((size_t)B * sizeof *vals), *pi = malloc(K * sizeof *pi);
  double *cell = malloc(K * CW_CELLS * sizeof *cell);
  double qlo[LSP_CALIB_TI_NGRID], qhi[LSP_CALIB_TI_NGRID];
  /* cached up to 2^22 doubles, or up to N·K (no more than cum holds) */
  const size_t cache = n * K > CW_SUM_CACHE ? n * K : CW_SUM_CACHE;
  double *sums = (size_t)B <= cache / cells ? malloc((size_t)B * cells * sizeof *sums)
                                            : NULL; /* else per draw */
  int st = LSP_OK;
  if (!tab || !cum || !vals || !pi || !cell) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for the classwise interval (%zu x %zu)", n, K);
    goto done;
  }
  if ((st = cw_shape(r, tab))) goto done;
  cw_world wd = {r, o, tab, boot->seed ^ 0x43575f776f726c64ULL, cum, sums};
  const double t = res->value[m];
  int ng = 0;
  for (int g = 0; g < LSP_CALIB_TI_NGRID; g++) {
    if ((st = cw_grid(&wd, boot, g, vals, qlo, qhi))) goto done;
    ng = g + 1;
    if (qlo[g] > t) break; /* a world rejecting t from below: bracketed */
  }
  double lam_lo, lam_hi;
  int how = lsp_calib_ti_lambdas(qlo, qhi, 1, ng, t, &lam_lo, &lam_hi);
  cw_truth_ctx tc = {&wd, pi, cell};
  lsp_calib_ti_hull(cw_truth_at, &tc, lam_lo, lam_hi, how, &res->ci_lo[m], &res->ci_hi[m]);
done:
  free(tab);
  free(cum);
  free(vals);
  free(pi);
  free(cell);
  free(sums);
  return st;
}
