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
 * when even the calibrated world's 2.5% quantile lies above it, [0, 0].
 *
 * SmoothECE gets a second family (DESIGN §2): the same construction bent
 * along the logistic recalibration curve σ(a + b·logit c) fitted by
 * maximum likelihood, a smooth two-parameter shape that does not carry the
 * kernel estimate's sampling wiggles into the worlds (which are measured
 * with the same kernel). Its interval is the hull of the two families'
 * intervals; the logistic family takes part only when its fit exists and
 * its world at λ = 4 already rejects the observed value from below (it is
 * scanned no further). Its draws compute SmoothECE alone, from a mesh in
 * double; at λ = 0 both families are the calibrated world, so those draws
 * are shared. */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib_impl.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"

/* The metrics inverted, and the target each is compared with. */
enum { T_L1, T_L2, T_SMECE };
static const int k_inv[] = {LSP_CALIB_ECE,          LSP_CALIB_RMSCE,           LSP_CALIB_ACE,
                            LSP_CALIB_ECE_DEBIASED, LSP_CALIB_ECE_L2_DEBIASED, LSP_CALIB_ECE_SWEEP,
                            LSP_CALIB_SMECE};
static const int k_target[] = {T_L1, T_L2, T_L1, T_L1, T_L2, T_L1, T_SMECE};
#define NINV ((int)(sizeof k_inv / sizeof *k_inv))

/* λ grid; the scan stops once every metric's upper end is bracketed. */
const double lsp_calib_ti_grid[LSP_CALIB_TI_NGRID] = {0.0, 0.25, 0.5, 0.75, 1.0,
                                                      1.25, 1.5, 2.0, 2.5, 3.0,
                                                      4.0, 6.0, 8.0, 12.0, 16.0};
#define k_grid lsp_calib_ti_grid
#define NGRID LSP_CALIB_TI_NGRID
#define SHAPE_PTS 1025 /* points of ĝ's table */

typedef struct {
  const lsp_calib_rows *r;
  const lsp_calib_opts *o;
  const double *gap; /* [n] ĝ(c_i) */
  uint64_t seed;
  double hint;       /* σ* of the sample: where resamples' σ* are sought */
  int smece_only;    /* draws compute SmoothECE alone (the logistic family) */
  const struct rowfix *pre; /* [n] per-row constants of accumulate (NULL: none) */
  int pre_ovf;              /* an overflow while computing them              */
  const uint32_t *cix;      /* [B·n] draws' row indices (NULL: drawn anew)   */
  const double *cu;         /* [B·n] and uniforms, draw b at b·n             */
} world;

#define Q_SMECE (NINV - 1) /* k_inv[Q_SMECE] == LSP_CALIB_SMECE */

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
  ws->sc = lsp_calib_scratch_alloc();
  ws->g = gsl_rng_alloc(gsl_rng_mt19937);
  if (!wd->smece_only) {
    ws->acc = lsp_calib_acc_alloc(wd->o->bins, 0, wd->o->edges, LSP_CALIB_FULL);
    ws->w = malloc(n * sizeof *ws->w);
    ws->k = malloc(n * sizeof *ws->k);
    ws->work = malloc(3 * (n + 1) * sizeof *ws->work);
  }
  if (!ws->sc || !ws->g ||
      (!wd->smece_only && (!ws->acc || !ws->w || !ws->k || !ws->work))) {
    ws_free(ws);
    return 0;
  }
  if (ws->acc) ws->acc->smece_sigma = wd->o->smece_sigma;
  ws->sc->hint = wd->hint;
  return 1;
}

/* What accumulate adds for a row, fixed once per interval computation
 * (the row's bin, its mesh node, and the fixed-point values of its
 * confidence and mesh shares, lsp_calib_mesh_row): every draw adds the
 * same integers as lsp_calib_bin, lsp_calib_fix_bits and lsp_calib_mesh_add
 * would give. */
typedef struct rowfix {
  lsp_u128 cf, s0, s1, c0, c1; /* c, 1 − f, f, (1 − f)·c, f·c */
  uint32_t j;                  /* the mesh node left of c      */
  int32_t b;                   /* the bin                      */
} rowfix;
#define ROWFIX_MAX_ROWS ((size_t)1 << 18) /* beyond: computed per draw */

static rowfix *rowfix_alloc(const lsp_calib_rows *r, const lsp_calib_opts *o, int *ovf) {
  if (r->n > ROWFIX_MAX_ROWS) return NULL;
  rowfix *p = malloc(r->n * sizeof *p);
  if (!p) return NULL; /* the per-draw path needs no memory */
  for (size_t i = 0; i < r->n; i++) {
    const double c = r->conf[i];
    const lsp_calib_meshrow m = lsp_calib_mesh_row(c);
    p[i].b = lsp_calib_bin(c, o->bins, o->edges);
    p[i].j = m.j;
    p[i].cf = lsp_calib_fix_bits(c, ovf);
    p[i].s0 = lsp_calib_word_bits(m.share[0]);
    p[i].s1 = lsp_calib_word_bits(m.share[1]);
    p[i].c0 = lsp_calib_word_bits(m.share[2]);
    p[i].c1 = lsp_calib_word_bits(m.share[3]);
  }
  return p;
}

/* The top-label sums of rows with w[i] copies, k[i] of them correct
 * (pre: the rows' constants, or NULL). */
static void accumulate(const lsp_calib_rows *r, const rowfix *pre, int pre_ovf,
                       const uint32_t *w, const uint32_t *k, lsp_calib_acc *a) {
  lsp_calib_acc_reset(a);
  int ovf = 0;
  if (pre) {
    for (size_t i = 0; i < r->n; i++) {
      if (!w[i]) continue;
      const rowfix *p = &pre[i];
      a->count[p->b] += w[i];
      a->correct[p->b] += k[i];
      a->n_correct += k[i];
      a->n += w[i];
      lsp_calib_fix_add(&a->conf[p->b], p->cf * w[i], &ovf);
      lsp_calib_fix_add(&a->mesh_w[p->j], p->s0 * w[i], &ovf);
      lsp_calib_fix_add(&a->mesh_w[p->j + 1], p->s1 * w[i], &ovf);
      lsp_calib_fix_add(&a->mesh_c[p->j], p->c0 * w[i], &ovf);
      lsp_calib_fix_add(&a->mesh_c[p->j + 1], p->c1 * w[i], &ovf);
      if (k[i]) {
        lsp_calib_fix_add(&a->mesh_y[p->j], p->s0 * k[i], &ovf);
        lsp_calib_fix_add(&a->mesh_y[p->j + 1], p->s1 * k[i], &ovf);
      }
    }
    a->overflow |= ovf | pre_ovf;
    return;
  }
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

/* SmoothECE of the residual masses sc->m0: at the fixed σ when one is
 * given, else at its fixed point (searched from sc->hint). */
static double smece_of_mesh(const lsp_calib_opts *o, lsp_calib_scratch *sc) {
  double s, v;
  if (o->smece_sigma > 0.0) return lsp_smece_at(sc->ws, sc->m0, o->smece_sigma);
  lsp_smece_fit(sc->ws, sc->m0, sc->hint, &s, &v);
  return v;
}

/* Seed the generator for draw b (the same stream for every λ and family). */
static void draw_start(const world *wd, int b, gsl_rng *g) {
  uint64_t key = lsp_splitmix64(wd->seed ^ lsp_splitmix64((uint64_t)b));
  gsl_rng_set(g, (unsigned long)(key & 0xffffffffUL));
}

/* Copy j of draw b (after draw_start, j = 0, 1, … in order): its row and
 * uniform, from the cache or the generator. */
static inline void draw_copy(const world *wd, int b, size_t j, gsl_rng *g, size_t *i, double *u) {
  if (wd->cix) {
    size_t at = (size_t)b * wd->r->n + j;
    *i = wd->cix[at];
    *u = wd->cu[at];
    return;
  }
  *i = (size_t)gsl_rng_uniform_int(g, (unsigned long)wd->r->n);
  *u = gsl_rng_uniform(g);
}

/* Draw b of world λ: N rows with replacement, each copy labelled correct
 * when its uniform falls below p(λ) (the same numbers for every λ), and
 * the inverted metrics of the draw into out[NINV] (only out[Q_SMECE] for a
 * SmoothECE-only world, from a mesh summed in double). */
static void world_draw(const world *wd, double lam, int b, world_ws *ws, double *out) {
  const lsp_calib_rows *r = wd->r;
  const size_t n = r->n;
  if (!wd->cix) draw_start(wd, b, ws->g);
  if (wd->smece_only) {
    double *m0 = ws->sc->m0;
    memset(m0, 0, LSP_SMECE_NODES * sizeof *m0);
    for (size_t j = 0; j < n; j++) {
      size_t i, q;
      double u, f;
      draw_copy(wd, b, j, ws->g, &i, &u);
      double d = ((u < world_p(wd, i, lam) ? 1.0 : 0.0) - r->conf[i]) / (double)n;
      lsp_smece_node(r->conf[i], &q, &f);
      m0[q] += (1.0 - f) * d;
      m0[q + 1] += f * d;
    }
    for (int q = 0; q < NINV; q++) out[q] = NAN;
    out[Q_SMECE] = smece_of_mesh(wd->o, ws->sc);
    return;
  }
  memset(ws->w, 0, n * sizeof *ws->w);
  memset(ws->k, 0, n * sizeof *ws->k);
  for (size_t j = 0; j < n; j++) {
    size_t i;
    double u;
    draw_copy(wd, b, j, ws->g, &i, &u);
    ws->w[i]++;
    ws->k[i] += u < world_p(wd, i, lam);
  }
  double v[LSP_CALIB_NMETRIC];
  int has[LSP_CALIB_NMETRIC];
  accumulate(r, wd->pre, wd->pre_ovf, ws->w, ws->k, ws->acc);
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
    memset(sc->m0, 0, LSP_SMECE_NODES * sizeof *sc->m0);
    for (size_t i = 0; i < n; i++) {
      size_t j;
      double f, d = (world_p(wd, i, lam) - r->conf[i]) / (double)n;
      lsp_smece_node(r->conf[i], &j, &f);
      sc->m0[j] += (1.0 - f) * d;
      sc->m0[j + 1] += f * d;
    }
    return smece_of_mesh(wd->o, sc);
  }
  double acc = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = world_p(wd, i, lam) - r->conf[i];
    acc += t == T_L1 ? fabs(d) : d * d;
  }
  acc /= (double)n;
  return t == T_L1 ? acc : sqrt(acc);
}

/* ĝ(c_i) for every row: the smoothed curve of the full sample at its σ*
 * (tabulated on SHAPE_PTS points, interpolated) minus c_i. sigma: the
 * sample's σ* when the result holds it; when SmoothECE is reported at a
 * fixed σ (o->smece_sigma), σ* is fitted here, so the worlds of every
 * metric are the same whichever σ is reported. *sigma_out: the σ* used. */
static int shape(const lsp_calib_rows *r, const lsp_calib_opts *o, double sigma, double *gap,
                 double *sigma_out) {
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
  accumulate(r, NULL, 0, w, k, a);
  lsp_calib_mesh_doubles(a, sc->m0, sc->m1, sc->m2);
  if (o->smece_sigma > 0.0) { /* the fit of lsp_calib_estimators_from_acc (no hint) */
    double v;
    lsp_smece_fit(sc->ws, sc->m0, 0.0, &sigma, &v);
  }
  *sigma_out = sigma;
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

static double clamp_conf(double c) {
  return c < 1e-12 ? 1e-12 : c > 1.0 - 1e-12 ? 1.0 - 1e-12 : c;
}

int lsp_calib_logistic_fit(const double *conf, const uint8_t *correct, size_t n, double *a_out,
                           double *b_out) {
  double a = 0.0, b = 1.0;
  int done = 0;
  for (int it = 0; it < 100 && !done; it++) {
    double g0 = 0, g1 = 0, h00 = 0, h01 = 0, h11 = 0;
    for (size_t i = 0; i < n; i++) {
      double c = clamp_conf(conf[i]), z = log(c / (1.0 - c));
      double p = 1.0 / (1.0 + exp(-(a + b * z))), d = (double)correct[i] - p, v = p * (1.0 - p);
      g0 += d, g1 += d * z, h00 += v, h01 += v * z, h11 += v * z * z;
    }
    double det = h00 * h11 - h01 * h01;
    if (!(det > 0.0) || !isfinite(det)) return 0;
    double da = (h11 * g0 - h01 * g1) / det, db = (h00 * g1 - h01 * g0) / det;
    a += da, b += db;
    if (!isfinite(a) || !isfinite(b) || fabs(a) + fabs(b) > 100.0) return 0;
    done = fabs(da) + fabs(db) < 1e-10 * (1.0 + fabs(a) + fabs(b));
  }
  if (!done) return 0;
  *a_out = a, *b_out = b;
  return 1;
}

/* gap[i] = σ(a + b·logit c_i) − c_i for the rows' logistic fit; 0 when
 * the fit does not exist. */
static int shape_logistic(const lsp_calib_rows *r, double *gap) {
  double a, b;
  if (!lsp_calib_logistic_fit(r->conf, r->correct, r->n, &a, &b)) return 0;
  for (size_t i = 0; i < r->n; i++) {
    double c = clamp_conf(r->conf[i]);
    gap[i] = 1.0 / (1.0 + exp(-(a + b * log(c / (1.0 - c))))) - r->conf[i];
  }
  return 1;
}

/* One family's scan: the 2.5% and 97.5% quantiles of each inverted
 * metric's B draws at grid points 0..ng−1. */
typedef struct {
  double lo[NGRID][NINV], hi[NGRID][NINV];
  int ng;
} scan;

/* Grid point g of wd's worlds: B draws, and the two quantiles of each
 * metric it inverts into out->lo[g], out->hi[g]. vals: [B·NINV], col: [B]. */
static int draw_grid(const world *wd, const lsp_calib_boot *boot, int g, double *vals,
                     double *col, scan *out) {
  const int B = boot->resamples;
  int nt = boot->threads > 1 ? boot->threads : 1, fail = 0, stop = 0;
  if (nt > B) nt = B;
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(| : fail, stop)
  {
    world_ws ws;
    memset(&ws, 0, sizeof ws);
    int ready = ws_alloc(wd, &ws);
#pragma omp for schedule(static)
    for (int b = 0; b < B; b++) {
      if (!ready) {
        fail = 1;
        continue;
      }
      if (stop || (stop = lsp_interrupted())) continue; /* the host's interruption */
      world_draw(wd, k_grid[g], b, &ws, vals + (size_t)b * NINV);
    }
    ws_free(&ws);
  }
  if (fail)
    return lsp_fail(LSP_ENOMEM, "out of memory for the interval worlds (%zu rows)", wd->r->n);
  if (stop) return lsp_fail(LSP_EINTR, "bootstrap: interrupted");
  for (int q = 0; q < NINV; q++) {
    if (wd->smece_only && q != Q_SMECE) {
      out->lo[g][q] = out->hi[g][q] = NAN;
      continue;
    }
    for (int b = 0; b < B; b++) col[b] = vals[(size_t)b * NINV + q];
    qsort(col, (size_t)B, sizeof *col, lsp_cmp_double);
    out->lo[g][q] = lsp_calib_ti_quantile(col, (size_t)B, 0.025);
    out->hi[g][q] = lsp_calib_ti_quantile(col, (size_t)B, 0.975);
  }
  return LSP_OK;
}

/* The kernel family: scan up the λ grid until every metric has a world
 * rejecting its observed value from below. */
static int scan_kernel(const world *wd, const lsp_calib_boot *boot, const lsp_calib_result *res,
                       double *vals, double *col, scan *out) {
  int st;
  out->ng = 0;
  for (int g = 0; g < NGRID; g++) {
    if ((st = draw_grid(wd, boot, g, vals, col, out))) return st;
    int bracketed = 1;
    for (int q = 0; q < NINV; q++) {
      int seen = 0;
      for (int h = 0; h <= g; h++) seen |= out->lo[h][q] > res->value[k_inv[q]];
      bracketed &= seen || !res->has[k_inv[q]];
    }
    out->ng = g + 1;
    if (bracketed) break;
  }
  return LSP_OK;
}

/* The logistic family for SmoothECE's observed value t: first the world at
 * λ = L_PROBE (4× the fitted miscalibration); when even its 2.5% quantile
 * does not exceed t, the family cannot bracket t and takes no part (*used
 * = 0). Else the grid from 0.25 up to the first world that rejects t from
 * below; λ = 0 is the kernel scan's (the same calibrated world). */
#define L_PROBE 10 /* k_grid[L_PROBE] == 4.0 */
static int scan_logistic(const world *wd, const lsp_calib_boot *boot, double t, const scan *sk,
                         double *vals, double *col, scan *out, int *used) {
  int st;
  *used = 0;
  if ((st = draw_grid(wd, boot, L_PROBE, vals, col, out))) return st;
  if (!(out->lo[L_PROBE][Q_SMECE] > t)) return LSP_OK;
  memcpy(out->lo[0], sk->lo[0], sizeof out->lo[0]);
  memcpy(out->hi[0], sk->hi[0], sizeof out->hi[0]);
  out->ng = L_PROBE + 1;
  for (int g = 1; g < L_PROBE; g++) {
    if ((st = draw_grid(wd, boot, g, vals, col, out))) return st;
    if (out->lo[g][Q_SMECE] > t) {
      out->ng = g + 1;
      break;
    }
  }
  *used = 1;
  return LSP_OK;
}

/* world_truth of one target, for lsp_calib_ti_hull. */
typedef struct {
  const world *wd;
  int target;
  lsp_calib_scratch *sc;
} truth_ctx;

static double truth_at(void *ctx, double lam) {
  truth_ctx *c = ctx;
  return world_truth(c->wd, lam, c->target, c->sc);
}

/* Metric q's interval [*lo, *hi] from a scan, for observed value t.
 * Returns 1 when both ends are bracketed by the grid (0: an edge case, the
 * interval set as the header describes). */
static int invert(const world *wd, const scan *sn, int q, double t, lsp_calib_scratch *sc,
                  double *lo, double *hi) {
  double lam_lo, lam_hi;
  int how = lsp_calib_ti_lambdas(&sn->lo[0][q], &sn->hi[0][q], NINV, sn->ng, t, &lam_lo, &lam_hi);
  truth_ctx tc = {wd, k_target[q], sc};
  lsp_calib_ti_hull(truth_at, &tc, lam_lo, lam_hi, how, lo, hi);
  return how == LSP_CALIB_TI_BRACKETED;
}

/* Every draw's copies (row index, uniform) computed once, when B·n copies
 * fit in DRAWS_MAX (12 bytes each): every λ and both families reuse them
 * instead of running the generator again. 0 when not cached. */
#define DRAWS_MAX ((size_t)1 << 22)
static int cache_draws(world *wd, int B, int threads, uint32_t **cix, double **cu) {
  const size_t n = wd->r->n;
  *cix = NULL, *cu = NULL;
  if (n > UINT32_MAX || (size_t)B > DRAWS_MAX / n) return 0;
  *cix = malloc((size_t)B * n * sizeof **cix);
  *cu = malloc((size_t)B * n * sizeof **cu);
  int fail = 0;
  if (*cix && *cu) {
    uint32_t *ix = *cix;
    double *uu = *cu;
#pragma omp parallel num_threads(threads) if (threads > 1) reduction(| : fail)
    {
      gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
#pragma omp for schedule(static)
      for (int b = 0; b < B; b++) {
        if (!g) {
          fail = 1;
          continue;
        }
        draw_start(wd, b, g);
        for (size_t j = 0; j < n; j++) {
          ix[(size_t)b * n + j] = (uint32_t)gsl_rng_uniform_int(g, (unsigned long)n);
          uu[(size_t)b * n + j] = gsl_rng_uniform(g);
        }
      }
      if (g) gsl_rng_free(g);
    }
  }
  if (!*cix || !*cu || fail) { /* fall back to drawing anew */
    free(*cix), free(*cu);
    *cix = NULL, *cu = NULL;
    return 0;
  }
  return 1;
}

int lsp_calib_ti_intervals(const lsp_calib_rows *r, const lsp_calib_opts *o,
                           const lsp_calib_boot *boot, lsp_calib_result *res) {
  if (!res->has[LSP_CALIB_SMECE_SIGMA]) return LSP_OK; /* no curve, no worlds */
  const int B = boot->resamples;
  const size_t n = r->n;
  double *gap = malloc(n * sizeof *gap), *gap_l = malloc(n * sizeof *gap_l);
  double *vals = malloc((size_t)B * NINV * sizeof *vals);
  double *col = malloc((size_t)B * sizeof *col);
  scan *sk = malloc(sizeof *sk), *sl = malloc(sizeof *sl);
  lsp_calib_scratch *sc = lsp_calib_scratch_alloc();
  rowfix *pre = NULL;
  uint32_t *cix = NULL;
  double *cu = NULL;
  int st = LSP_OK;
  if (!gap || !gap_l || !vals || !col || !sk || !sl || !sc) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for the interval worlds (%zu rows)", n);
    goto done;
  }
  double hint = res->value[LSP_CALIB_SMECE_SIGMA]; /* replaced by the sample's σ* */
  if ((st = shape(r, o, res->value[LSP_CALIB_SMECE_SIGMA], gap, &hint))) goto done;
  const uint64_t seed = boot->seed ^ 0x54495f776f726c64ULL; /* a stream of its own */
  int pre_ovf = 0;
  pre = rowfix_alloc(r, o, &pre_ovf);
  world wk = {r, o, gap, seed, hint, 0, pre, pre_ovf, NULL, NULL};
  if (cache_draws(&wk, B, boot->threads > 1 ? boot->threads : 1, &cix, &cu))
    wk.cix = cix, wk.cu = cu;
  sc->hint = hint;
  if ((st = scan_kernel(&wk, boot, res, vals, col, sk))) goto done;
  for (int q = 0; q < NINV; q++) {
    int m = k_inv[q];
    if (res->has[m] && isfinite(res->value[m]))
      invert(&wk, sk, q, res->value[m], sc, &res->ci_lo[m], &res->ci_hi[m]);
  }
  const int m = LSP_CALIB_SMECE;
  if (res->has[m] && isfinite(res->value[m]) && shape_logistic(r, gap_l)) {
    world wl = {r, o, gap_l, seed, hint, 1, NULL, 0, wk.cix, wk.cu};
    double lo, hi;
    int used;
    if ((st = scan_logistic(&wl, boot, res->value[m], sk, vals, col, sl, &used))) goto done;
    if (used && invert(&wl, sl, Q_SMECE, res->value[m], sc, &lo, &hi)) {
      if (lo < res->ci_lo[m]) res->ci_lo[m] = lo;
      if (hi > res->ci_hi[m]) res->ci_hi[m] = hi;
    }
  }
  /* σ* is smECE at its fixed point, the same number: its interval too
   * (its percentile interval lay above it, as smece's did), raised to the
   * floor of σ*'s search, below which σ* never lies (a sample whose smECE
   * stays below σ there has σ* = the floor and a smaller smece: σ* is
   * max(smece, floor)); a bandwidth given (--smece-sigma) is no estimate
   * and keeps its own */
  if (res->has[m] && !(o->smece_sigma > 0.0)) {
    res->ci_lo[LSP_CALIB_SMECE_SIGMA] = fmax(res->ci_lo[m], LSP_SMECE_SIGMA_MIN);
    res->ci_hi[LSP_CALIB_SMECE_SIGMA] = fmax(res->ci_hi[m], LSP_SMECE_SIGMA_MIN);
    res->sigma_inverted = 1;
  }
done:
  free(gap);
  free(gap_l);
  free(vals);
  free(col);
  free(sk);
  free(sl);
  free(pre);
  free(cix);
  free(cu);
  lsp_calib_scratch_free(sc);
  return st;
}
