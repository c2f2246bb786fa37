/* lsp_calib_ti.c — test-inversion bootstrap intervals for the calibration
 * errors (DESIGN §2 "Intervals").
 *
 * Why: ECE-type estimators are biased upward, most where the model is
 * nearly calibrated, and the bias depends on the unknown truth. A
 * percentile bootstrap resamples from the data, whose calibration error is
 * the (inflated) estimate itself, so its interval sits above the truth.
 *
 * How: a one-parameter family of worlds with known calibration error.
 * World λ keeps the observed confidences and draws each label as
 * Bernoulli(p_i(λ)), p_i(λ) = clip(c_i + λ·ĝ(c_i), 0, 1), where ĝ(c) is the
 * smoothed reliability curve minus the diagonal (SmoothECE's kernel at σ*).
 * λ = 0 is perfectly calibrated, λ = 1 is the estimated curve, and the true
 * calibration error of world λ is known exactly (over the empirical
 * confidences: mean |p − c|, sqrt(mean (p − c)²), or the population
 * SmoothECE, each metric compared with its own target). A draw resamples N
 * rows with replacement and labels each copy; with common random numbers
 * (the same indices and uniforms for every λ) an estimator's draws move
 * smoothly with λ. The 95% interval is the set of worlds whose estimator
 * distribution does not reject the observed value at 2.5% in either tail
 * (Carpenter 1999, "test-inversion bootstrap"): λ_lo where the 97.5%
 * quantile reaches the observed estimate, λ_hi where the 2.5% quantile
 * does, both interpolated linearly on a grid of λ, and the interval is the
 * true calibration error of those two worlds. Edge cases: when no world of
 * the grid rejects from below (an estimator that stops growing with λ, as
 * ECE-sweep on a wiggly curve whose monotone bins collapse), the upper end
 * is the error of the last world scanned; when even that world's 97.5%
 * quantile lies below the observed value, the interval is [its error, ∞);
 * when even the calibrated world's 2.5% quantile lies above it, [0, 0]. */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib_impl.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

/* The metrics inverted, and the target each is compared with. */
enum { T_L1, T_L2, T_SMECE };
static const int k_inv[] = {LSP_CALIB_ECE,          LSP_CALIB_RMSCE,           LSP_CALIB_ACE,
                            LSP_CALIB_ECE_DEBIASED, LSP_CALIB_ECE_L2_DEBIASED, LSP_CALIB_ECE_SWEEP,
                            LSP_CALIB_SMECE};
static const int k_target[] = {T_L1, T_L2, T_L1, T_L1, T_L2, T_L1, T_SMECE};
#define NINV ((int)(sizeof k_inv / sizeof *k_inv))

/* λ grid; the scan stops once every metric's upper end is bracketed. */
static const double k_grid[] = {0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0,
                                2.5, 3.0,  4.0, 6.0, 8.0,  12.0, 16.0};
#define NGRID ((int)(sizeof k_grid / sizeof *k_grid))
#define SHAPE_PTS 1025 /* points of ĝ's table */

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
  for (int q = 0; q < NINV; q++)
    if (k_inv[q] == m) return 1;
  return 0;
}

typedef struct {
  const lsp_calib_rows *r;
  const lsp_calib_opts *o;
  const double *gap; /* [n] ĝ(c_i) */
  uint64_t seed;
  double hint;       /* σ* of the sample: where resamples' σ* are sought */
} world;

static double world_p(const world *w, size_t i, double lam) {
  double p = w->r->conf[i] + lam * w->gap[i];
  return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

typedef struct {
  lsp_calib_acc *acc;
  lsp_calib_scratch *sc;
  uint32_t *w, *k; /* [n] copies and correct copies per row */
  double *work;    /* [3(n + 1)] ECE-sweep */
  gsl_rng *g;
} world_ws;

static void ws_free(world_ws *ws) {
  lsp_calib_acc_free(ws->acc);
  lsp_calib_scratch_free(ws->sc);
  free(ws->w);
  free(ws->k);
  free(ws->work);
  if (ws->g) gsl_rng_free(ws->g);
  memset(ws, 0, sizeof *ws);
}

static int ws_alloc(const world *wd, world_ws *ws) {
  size_t n = wd->r->n;
  ws->acc = lsp_calib_acc_alloc(wd->o->bins, 0, wd->o->edges, LSP_CALIB_FULL);
  ws->sc = lsp_calib_scratch_alloc();
  ws->w = malloc(n * sizeof *ws->w);
  ws->k = malloc(n * sizeof *ws->k);
  ws->work = malloc(3 * (n + 1) * sizeof *ws->work);
  ws->g = gsl_rng_alloc(gsl_rng_mt19937);
  if (!ws->acc || !ws->sc || !ws->w || !ws->k || !ws->work || !ws->g) {
    ws_free(ws);
    return 0;
  }
  ws->acc->smece_sigma = wd->o->smece_sigma;
  ws->sc->hint = wd->hint;
  return 1;
}

/* The top-label sums of rows with w[i] copies, k[i] of them correct. */
static void accumulate(const lsp_calib_rows *r, const uint32_t *w, const uint32_t *k,
                       lsp_calib_acc *a) {
  lsp_calib_acc_reset(a);
  int ovf = 0;
  for (size_t i = 0; i < r->n; i++) {
    if (!w[i]) continue;
    int b = lsp_calib_bin(r->conf[i], a->bins, a->edges);
    a->count[b] += w[i];
    a->correct[b] += k[i];
    a->n_correct += k[i];
    a->n += w[i];
    lsp_calib_fix_add(&a->conf[b], lsp_calib_fix_bits(r->conf[i], &ovf) * w[i], &ovf);
    lsp_calib_mesh_add(a, r->conf[i], w[i], k[i], &ovf);
  }
  a->overflow |= ovf;
}

/* Draw b of world λ: N rows with replacement, each copy labelled correct
 * when its uniform falls below p(λ) (the same numbers for every λ), and
 * the inverted metrics of the draw into out[NINV]. */
static void world_draw(const world *wd, double lam, int b, world_ws *ws, double *out) {
  const lsp_calib_rows *r = wd->r;
  const size_t n = r->n;
  uint64_t key = lsp_splitmix64(wd->seed ^ lsp_splitmix64((uint64_t)b));
  gsl_rng_set(ws->g, (unsigned long)(key & 0xffffffffUL));
  memset(ws->w, 0, n * sizeof *ws->w);
  memset(ws->k, 0, n * sizeof *ws->k);
  for (size_t j = 0; j < n; j++) {
    size_t i = (size_t)gsl_rng_uniform_int(ws->g, (unsigned long)n);
    double u = gsl_rng_uniform(ws->g);
    ws->w[i]++;
    ws->k[i] += u < world_p(wd, i, lam);
  }
  double v[LSP_CALIB_NMETRIC];
  int has[LSP_CALIB_NMETRIC];
  accumulate(r, ws->w, ws->k, ws->acc);
  lsp_calib_metrics_from_acc(ws->acc, v, has, ws->sc);
  v[LSP_CALIB_ACE] = lsp_calib_rows_ace(r, ws->w, ws->k, wd->o->bins, NULL, NULL, NULL);
  v[LSP_CALIB_ECE_SWEEP] =
      lsp_calib_sweep(n, r->order, r->conf, ws->w, NULL, ws->k, ws->work, NULL);
  for (int q = 0; q < NINV; q++) out[q] = v[k_inv[q]];
}

/* The calibration error of world λ under target t (over the empirical
 * confidences). */
static double world_truth(const world *wd, double lam, int t, lsp_calib_scratch *sc) {
  const lsp_calib_rows *r = wd->r;
  const size_t n = r->n;
  if (t == T_SMECE) {
    double s, v;
    memset(sc->m0, 0, LSP_SMECE_NODES * sizeof *sc->m0);
    for (size_t i = 0; i < n; i++) {
      size_t j;
      double f, d = (world_p(wd, i, lam) - r->conf[i]) / (double)n;
      lsp_smece_node(r->conf[i], &j, &f);
      sc->m0[j] += (1.0 - f) * d;
      sc->m0[j + 1] += f * d;
    }
    if (wd->o->smece_sigma > 0.0) return lsp_smece_at(sc->ws, sc->m0, wd->o->smece_sigma);
    lsp_smece_fit(sc->ws, sc->m0, sc->hint, &s, &v);
    return v;
  }
  double acc = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = world_p(wd, i, lam) - r->conf[i];
    acc += t == T_L1 ? fabs(d) : d * d;
  }
  acc /= (double)n;
  return t == T_L1 ? acc : sqrt(acc);
}

/* The q quantile of sorted v[0..n-1] at rank (n + 1)q (Hyndman & Fan's
 * type 6, linear between order statistics): a new draw falls above the
 * 97.5% one with probability 2.5% for any n, where NumPy's default (type 7)
 * gives 3% at n = 200. */
static double quantile(const double *v, size_t n, double q) {
  double h = (double)(n + 1) * q - 1.0;
  if (h <= 0.0) return v[0];
  size_t lo = (size_t)h;
  if (lo + 1 >= n) return v[n - 1];
  return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

/* ĝ(c_i) for every row: the smoothed curve of the full sample at its σ*
 * (tabulated on SHAPE_PTS points, interpolated) minus c_i. */
static int shape(const lsp_calib_rows *r, const lsp_calib_opts *o, double sigma, double *gap) {
  lsp_calib_acc *a = lsp_calib_acc_alloc(o->bins, 0, o->edges, LSP_CALIB_FULL);
  lsp_calib_scratch *sc = lsp_calib_scratch_alloc();
  uint32_t *w = malloc(r->n * sizeof *w), *k = malloc(r->n * sizeof *k);
  double *curve = malloc(SHAPE_PTS * sizeof *curve);
  int st = LSP_OK;
  if (!a || !sc || !w || !k || !curve) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for the interval worlds (%zu rows)", r->n);
    goto done;
  }
  for (size_t i = 0; i < r->n; i++) w[i] = 1, k[i] = r->correct[i];
  accumulate(r, w, k, a);
  lsp_calib_mesh_doubles(a, sc->m0, sc->m1, sc->m2);
  lsp_smece_curve(sc->ws, sc->m1, sc->m2, sigma, SHAPE_PTS, curve, NULL);
  for (size_t i = 0; i < r->n; i++) {
    double x = r->conf[i] * (SHAPE_PTS - 1);
    size_t q = (size_t)x;
    if (q >= SHAPE_PTS - 1) q = SHAPE_PTS - 2;
    double f = x - (double)q, mu = (1.0 - f) * curve[q] + f * curve[q + 1];
    gap[i] = isfinite(mu) ? mu - r->conf[i] : 0.0;
  }
done:
  lsp_calib_acc_free(a);
  lsp_calib_scratch_free(sc);
  free(w);
  free(k);
  free(curve);
  return st;
}

int lsp_calib_ti_intervals(const lsp_calib_rows *r, const lsp_calib_opts *o,
                           const lsp_calib_boot *boot, lsp_calib_result *res) {
  if (!res->has[LSP_CALIB_SMECE_SIGMA]) return LSP_OK; /* no curve, no worlds */
  const int B = boot->resamples;
  const size_t n = r->n;
  double *gap = malloc(n * sizeof *gap);
  double *vals = malloc((size_t)NGRID * (size_t)B * NINV * sizeof *vals);
  double *col = malloc((size_t)B * sizeof *col);
  double q_lo[NGRID][NINV], q_hi[NGRID][NINV];
  lsp_calib_scratch *sc = lsp_calib_scratch_alloc();
  int st = LSP_OK, ng = 0;
  if (!gap || !vals || !col || !sc) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for the interval worlds (%zu rows)", n);
    goto done;
  }
  if ((st = shape(r, o, res->value[LSP_CALIB_SMECE_SIGMA], gap))) goto done;
  world wd = {r, o, gap, boot->seed ^ 0x54495f776f726c64ULL /* a stream of its own */,
              res->value[LSP_CALIB_SMECE_SIGMA]};
  sc->hint = wd.hint;
  int nt = boot->threads > 1 ? boot->threads : 1;
  if (nt > B) nt = B;
  for (int g = 0; g < NGRID; g++) {
    int fail = 0;
    double *vg = vals + (size_t)g * (size_t)B * NINV;
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(| : fail)
    {
      world_ws ws;
      memset(&ws, 0, sizeof ws);
      int ready = ws_alloc(&wd, &ws);
#pragma omp for schedule(static)
      for (int b = 0; b < B; b++) {
        if (!ready) {
          fail = 1;
          continue;
        }
        world_draw(&wd, k_grid[g], b, &ws, vg + (size_t)b * NINV);
      }
      ws_free(&ws);
    }
    if (fail) {
      st = lsp_fail(LSP_ENOMEM, "out of memory for the interval worlds (%zu rows)", n);
      goto done;
    }
    int bracketed = 1;
    for (int q = 0; q < NINV; q++) {
      for (int b = 0; b < B; b++) col[b] = vg[(size_t)b * NINV + q];
      qsort(col, (size_t)B, sizeof *col, lsp_cmp_double);
      q_lo[g][q] = quantile(col, (size_t)B, 0.025);
      q_hi[g][q] = quantile(col, (size_t)B, 0.975);
      int seen = 0;
      for (int h = 0; h <= g; h++) seen |= q_lo[h][q] > res->value[k_inv[q]];
      bracketed &= seen || !res->has[k_inv[q]];
    }
    ng = g + 1;
    if (bracketed) break;
  }
  for (int q = 0; q < NINV; q++) {
    int m = k_inv[q];
    double t = res->value[m];
    if (!res->has[m] || !isfinite(t)) continue;
    int glo = -1, ghi = -1; /* first grid points at or past the observed value */
    for (int g = 0; g < ng && glo < 0; g++)
      if (q_hi[g][q] >= t) glo = g;
    for (int g = 0; g < ng && ghi < 0; g++)
      if (q_lo[g][q] > t) ghi = g;
    const double lam_end = k_grid[ng - 1];
    if (glo < 0) { /* even the last world's 97.5% quantile is below t */
      res->ci_lo[m] = world_truth(&wd, lam_end, k_target[q], sc);
      res->ci_hi[m] = INFINITY;
      continue;
    }
    double lam_lo = 0.0, lam_hi;
    if (glo > 0) {
      double a = q_hi[glo - 1][q], b = q_hi[glo][q];
      lam_lo = k_grid[glo - 1] + (t - a) / (b - a) * (k_grid[glo] - k_grid[glo - 1]);
    }
    if (ghi < 0) {
      lam_hi = lam_end; /* no world of the grid rejects from below: a wide upper end */
    } else if (ghi == 0) {
      lam_hi = 0.0; /* even the calibrated world's 2.5% quantile lies above t */
    } else {
      double a = q_lo[ghi - 1][q], b = q_lo[ghi][q];
      lam_hi = k_grid[ghi - 1] + (t - a) / (b - a) * (k_grid[ghi] - k_grid[ghi - 1]);
    }
    res->ci_lo[m] = world_truth(&wd, lam_lo, k_target[q], sc);
    res->ci_hi[m] = world_truth(&wd, lam_hi, k_target[q], sc);
  }
done:
  free(gap);
  free(vals);
  free(col);
  lsp_calib_scratch_free(sc);
  return st;
}
