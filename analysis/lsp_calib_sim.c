/* lsp_calib_sim.c — the simulation study (see lsp_calib_sim.h): exact
 * targets by GSL quadrature, replicates scored and bootstrapped by the
 * library's own calibration code. */
#include "analysis/lsp_calib_sim.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_smece.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

#define LIMIT 1000                /* subintervals per adaptive integral */
#define INV_SQRT_2PI 0.39894228040143267794

/* Confidences like a trained classifier's (Beta(5, 1.5): mean 0.77, mass
 * near 1); curves from calibrated to clearly miscalibrated, crossing the
 * diagonal (temperature type) or not (power). */
static const lsp_sim_scenario k_scen[] = {
    {"calibrated", 5.0, 1.5, LSP_SIM_IDENTITY, 1.0},
    {"near", 5.0, 1.5, LSP_SIM_TEMPERATURE, 0.9},   /* like after temperature scaling */
    {"over", 5.0, 1.5, LSP_SIM_POWER, 1.3},         /* overconfident everywhere */
    {"under", 5.0, 1.5, LSP_SIM_TEMPERATURE, 1.3},  /* underconfident above 0.5 */
};

const lsp_sim_scenario *lsp_sim_scenarios(size_t *n) {
  *n = sizeof k_scen / sizeof *k_scen;
  return k_scen;
}

double lsp_sim_mu(const lsp_sim_scenario *s, double c) {
  switch (s->curve) {
    case LSP_SIM_TEMPERATURE: { /* c^β / (c^β + (1 − c)^β), without overflow */
      if (c <= 0.0 || c >= 1.0) return c;
      double z = s->param * (log(c) - log1p(-c));
      return z >= 0.0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
    }
    case LSP_SIM_POWER:
      return pow(c, s->param);
    default:
      return c;
  }
}

/* ---- targets ------------------------------------------------------------- */

typedef struct {
  const lsp_sim_scenario *s;
  double sigma, t; /* SmoothECE: bandwidth and evaluation point */
  int kind;        /* what f_gap integrates */
  gsl_integration_workspace *inner;
  int fail;        /* an inner integral did not converge */
} qctx;

enum { Q_ABS, Q_SQ, Q_SIGNED, Q_PDF };

static double f_gap(double c, void *p) {
  const qctx *q = p;
  double d = lsp_sim_mu(q->s, c) - c, pdf = gsl_ran_beta_pdf(c, q->s->a, q->s->b);
  switch (q->kind) {
    case Q_ABS: return fabs(d) * pdf;
    case Q_SQ: return d * d * pdf;
    case Q_SIGNED: return d * pdf;
    default: return pdf;
  }
}

/* ∫_lo^hi f_gap, split at the crossing 0.5 when it lies inside. */
static int integrate(qctx *q, double lo, double hi, gsl_integration_workspace *w, double *out) {
  gsl_function f = {f_gap, q};
  double pts[3] = {lo, 0.5, hi}, err;
  if (lo < 0.5 && hi > 0.5)
    return gsl_integration_qagp(&f, pts, 3, 1e-14, 1e-11, LIMIT, w, out, &err);
  return gsl_integration_qags(&f, lo, hi, 1e-14, 1e-11, LIMIT, w, out, &err);
}

/* The reflected Gaussian kernel K_σ(t, c) (lsp_smece.h), images within 12σ. */
static double kref(double t, double c, double sigma) {
  double s = 0.0;
  for (int k = -4; k <= 4; k++) {
    double d1 = (t - c - 2.0 * k) / sigma, d2 = (t + c - 2.0 * k) / sigma;
    if (fabs(d1) < 12.0) s += exp(-0.5 * d1 * d1);
    if (fabs(d2) < 12.0) s += exp(-0.5 * d2 * d2);
  }
  return s * INV_SQRT_2PI / sigma;
}

static double f_inner(double c, void *p) {
  const qctx *q = p;
  return kref(q->t, c, q->sigma) * (lsp_sim_mu(q->s, c) - c) *
         gsl_ran_beta_pdf(c, q->s->a, q->s->b);
}

/* |R_σ(t)| = |∫ K_σ(t, c)(μ(c) − c) p(c) dc|, breaking the range where the
 * kernel peaks (c = t, and its mirror images near the edges). */
static double f_outer(double t, void *p) {
  qctx *q = p;
  q->t = t;
  gsl_function f = {f_inner, q};
  double pts[8], v, err;
  int np = 0;
  double cand[] = {0.0, t - 6 * q->sigma, t, t + 6 * q->sigma, 0.5, 1.0};
  for (size_t i = 0; i < sizeof cand / sizeof *cand; i++) {
    double x = cand[i] < 0.0 ? 0.0 : cand[i] > 1.0 ? 1.0 : cand[i];
    int dup = 0;
    for (int j = 0; j < np; j++) dup |= fabs(pts[j] - x) < 1e-15;
    if (!dup) pts[np++] = x;
  }
  for (int i = 1; i < np; i++) /* insertion sort */
    for (int j = i; j > 0 && pts[j] < pts[j - 1]; j--) {
      double tmp = pts[j];
      pts[j] = pts[j - 1];
      pts[j - 1] = tmp;
    }
  if (gsl_integration_qagp(&f, pts, (size_t)np, 1e-15, 1e-10, LIMIT, q->inner, &v, &err))
    q->fail = 1;
  return fabs(v);
}

/* Population smECE_σ = ∫_0^1 |R_σ(t)| dt. */
static int smece_pop(qctx *q, double sigma, gsl_integration_workspace *outer, double *out) {
  q->sigma = sigma;
  q->fail = 0;
  gsl_function f = {f_outer, q};
  double err;
  int st = gsl_integration_qags(&f, 0.0, 1.0, 1e-13, 1e-9, LIMIT, outer, out, &err);
  return st || q->fail;
}

int lsp_sim_truth_compute(const lsp_sim_scenario *s, int bins, lsp_sim_truth *t) {
  memset(t, 0, sizeof *t);
  if (!s || !(s->a >= 1.0 && s->b >= 1.0) || !(s->param > 0.0) || bins < 1)
    return lsp_fail(LSP_EINVAL, "simulation: bad scenario (Beta a, b >= 1, parameter > 0, "
                                "bins >= 1)");
  /* GSL errors come back as statuses: lsp_init() turned GSL's aborting
   * handler off for the process (the library itself never touches it). */
  gsl_integration_workspace *w = gsl_integration_workspace_alloc(LIMIT);
  gsl_integration_workspace *w2 = gsl_integration_workspace_alloc(LIMIT);
  int bad = !w || !w2;
  qctx q = {s, 0.0, 0.0, Q_ABS, w2, 0};
  if (!bad) {
    double v, sq = 0.0, l1b = 0.0;
    q.kind = Q_ABS;
    bad |= integrate(&q, 0.0, 1.0, w, &t->l1);
    q.kind = Q_SQ;
    bad |= integrate(&q, 0.0, 1.0, w, &v);
    t->l2 = sqrt(v);
    for (int b = 0; b < bins && !bad; b++) {
      double lo = (double)b / bins, hi = (double)(b + 1) / bins;
      double p = gsl_cdf_beta_P(hi, s->a, s->b) - gsl_cdf_beta_P(lo, s->a, s->b);
      q.kind = Q_SIGNED;
      bad |= integrate(&q, lo, hi, w, &v);
      l1b += fabs(v);
      if (p > 0.0) sq += v * v / p;
    }
    t->l1_binned = l1b;
    t->l2_binned = sqrt(sq);
  }
  /* σ*: bisection in log σ on smECE_σ − σ, as for a sample (lsp_smece.h) */
  if (!bad) {
    double lo = LSP_SMECE_SIGMA_MIN, hi = 1.0, flo, fhi, v = 0.0;
    bad |= smece_pop(&q, lo, w, &flo) | smece_pop(&q, hi, w, &fhi);
    if (!bad && flo <= lo) {
      t->smece_sigma = lo;
      t->smece = flo;
    } else if (!bad) {
      while (!bad && hi / lo - 1.0 > 1e-7) {
        double mid = sqrt(lo * hi);
        bad |= smece_pop(&q, mid, w, &v);
        if (v > mid) lo = mid;
        else hi = mid;
      }
      t->smece_sigma = sqrt(lo * hi);
      bad |= smece_pop(&q, t->smece_sigma, w, &t->smece);
    }
  }
  gsl_integration_workspace_free(w);
  gsl_integration_workspace_free(w2);
  if (bad) return lsp_fail(LSP_EDATA, "simulation '%s': an integral of the targets did not "
                                      "converge", s->name ? s->name : "");
  return LSP_OK;
}

/* ---- estimators ------------------------------------------------------------ */

static const int k_metric[LSP_SIM_NEST] = {
    LSP_CALIB_ECE,   LSP_CALIB_ACE,             LSP_CALIB_ECE_DEBIASED, LSP_CALIB_ECE_SWEEP,
    LSP_CALIB_RMSCE, LSP_CALIB_ECE_L2_DEBIASED, LSP_CALIB_SMECE};

int lsp_sim_metric(int e) { return e >= 0 && e < LSP_SIM_NEST ? k_metric[e] : -1; }

double lsp_sim_target(int e, const lsp_sim_truth *t) {
  switch (e) {
    case LSP_SIM_RMSCE:
    case LSP_SIM_ECE_L2_DEBIASED: return t->l2;
    case LSP_SIM_SMECE: return t->smece;
    default: return t->l1;
  }
}

double lsp_sim_target_binned(int e, const lsp_sim_truth *t) {
  switch (e) {
    case LSP_SIM_ECE:
    case LSP_SIM_ECE_DEBIASED: return t->l1_binned;
    case LSP_SIM_RMSCE:
    case LSP_SIM_ECE_L2_DEBIASED: return t->l2_binned;
    default: return NAN;
  }
}

/* ---- replicates ------------------------------------------------------------ */

/* Per replicate and estimator: estimate, and the two intervals. */
typedef struct {
  double v, plo, phi, ilo, ihi;
} rep_out;

static int one_rep(const lsp_sim_scenario *s, size_t n, const lsp_sim_opts *o, int r,
                   gsl_rng *g, double *c, uint8_t *y, rep_out *out) {
  uint64_t key =
      lsp_splitmix64(o->seed ^ lsp_splitmix64((uint64_t)n * 0x100000001b3ULL + (uint64_t)r));
  gsl_rng_set(g, (unsigned long)(key & 0xffffffffUL));
  for (size_t i = 0; i < n; i++) {
    c[i] = gsl_ran_beta(g, s->a, s->b);
    y[i] = gsl_rng_uniform(g) < lsp_sim_mu(s, c[i]);
  }
  lsp_calib_rows *rows = NULL;
  lsp_calib_result res;
  memset(&res, 0, sizeof res);
  lsp_calib_opts co = lsp_calib_opts_default();
  co.bins = o->bins;
  lsp_calib_boot bo = {o->resamples, lsp_splitmix64(key), 1, LSP_CALIB_CI_INVERSION};
  int st = lsp_calib_rows_from_conf(c, y, n, NULL, &rows);
  if (!st) st = lsp_calib_rows_score(rows, &co, &res);
  if (!st) st = lsp_calib_bootstrap(rows, &co, &bo, &res);
  if (!st)
    for (int e = 0; e < LSP_SIM_NEST; e++) {
      int m = k_metric[e];
      out[e] = (rep_out){res.value[m], res.pct_lo[m], res.pct_hi[m], res.ci_lo[m], res.ci_hi[m]};
    }
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(rows);
  return st;
}

int lsp_sim_run(const lsp_sim_scenario *s, const lsp_sim_truth *t, size_t n,
                const lsp_sim_opts *o, lsp_sim_row rows[LSP_SIM_NEST]) {
  if (!s || !t || !o || !rows || n < 2 || o->reps < 1 || o->resamples < 2 || o->bins < 1)
    return lsp_fail(LSP_EINVAL, "simulation: bad settings (n >= 2, reps >= 1, "
                                "resamples >= 2, bins >= 1)");
  const int R = o->reps;
  rep_out *all = malloc((size_t)R * LSP_SIM_NEST * sizeof *all);
  if (!all) return lsp_fail(LSP_ENOMEM, "out of memory for %d replicates", R);
  int nt = o->threads > 1 ? o->threads : 1, fail = 0, status = LSP_OK;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    double *c = malloc(n * sizeof *c);
    uint8_t *y = malloc(n * sizeof *y);
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
#pragma omp for schedule(dynamic, 1)
    for (int r = 0; r < R; r++) {
      int st = (c && y && g) ? one_rep(s, n, o, r, g, c, y, all + (size_t)r * LSP_SIM_NEST)
                             : LSP_ENOMEM;
      if (st) {
#pragma omp critical
        {
          fail = 1;
          status = st;
        }
      }
    }
    free(c);
    free(y);
    if (g) gsl_rng_free(g);
  }
  if (fail) {
    free(all);
    if (status == LSP_ENOMEM) return lsp_fail(LSP_ENOMEM, "out of memory in the simulation");
    if (status == LSP_EINTR) return lsp_fail(LSP_EINTR, "simulation: interrupted");
    return status;
  }
  for (int e = 0; e < LSP_SIM_NEST; e++) {
    double tg = lsp_sim_target(e, t), tb = lsp_sim_target_binned(e, t);
    double sum = 0, sq = 0, se = 0, cp = 0, ci = 0, ap = 0, ai = 0, wp = 0, wi = 0;
    for (int r = 0; r < R; r++) {
      const rep_out *q = &all[(size_t)r * LSP_SIM_NEST + e];
      sum += q->v;
      se += (q->v - tg) * (q->v - tg);
      cp += q->plo <= tg && tg <= q->phi;
      ci += q->ilo <= tg && tg <= q->ihi;
      ap += tg < q->plo;
      ai += tg < q->ilo;
      wp += q->phi - q->plo;
      wi += q->ihi - q->ilo;
    }
    double mean = sum / R;
    for (int r = 0; r < R; r++) {
      double d = all[(size_t)r * LSP_SIM_NEST + e].v - mean;
      sq += d * d;
    }
    lsp_sim_row *w = &rows[e];
    w->reps = R;
    w->mean = mean;
    w->sd = R > 1 ? sqrt(sq / (R - 1)) : NAN;
    w->rmse = sqrt(se / R);
    w->bias = mean - tg;
    w->bias_binned = mean - tb;
    w->cover_pct = cp / R;
    w->cover_inv = ci / R;
    w->above_pct = ap / R;
    w->above_inv = ai / R;
    w->width_pct = wp / R;
    w->width_inv = wi / R;
  }
  free(all);
  return LSP_OK;
}
