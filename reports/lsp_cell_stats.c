/* lsp_cell_stats.c — a cell's pre-declared summaries (lsp_cell_stat) on its
 * full example sets and on the B shared resamples (DESIGN §9.2).
 *
 * Resample b of a set of n examples is lsp_boot's count vector w for
 * (plan seed of the set, b, n) — the same in every cell — and a summary of
 * a resample is the summary of the weighted sample:
 *   accuracy   Σ w_i c_i / n            (c_i = 1 when the prediction is right)
 *   NLL        Σ w_i ℓ_i / n            (ℓ_i = −log softmax(z_i)_{y_i})
 *   ECE        Σ_m |A_m − C_m|·W_m / n  over 15 equal-width bins of the
 *              top-label confidence (lsp_calib_bin, the report's edges),
 *              W_m = Σ_{i∈m} w_i, A_m, C_m the weighted accuracy and
 *              confidence of bin m
 *   debiased   the ℓ2 estimator of Kumar et al. 2019 on the same bins:
 *              sqrt(max(0, Σ_m (W_m/n)·[(A_m − C_m)² − A_m(1 − A_m)/(W_m − 1)])),
 *              a bin with W_m < 2 contributing 0
 *   ECE_T      ECE of softmax(z/T), T fitted on validation (NaN without a fit:
 *              lsp_cell_unfitted_t)
 *   R², NC1    lsp_clusters on the features with row i repeated w_i times
 *              (computed on the first LSP_CELL_CLUSTER_B resamples only; the
 *              rest repeat them cyclically, DESIGN §9.2), then centred on
 *              the point value (lsp_cell_center_clusters)
 *   AUC        Σ w_i a_i / n with a_i = (1/(ε_max − ε_min)) ∫ c_i(ε) dε, the
 *              trapezoid rule over the attack grid: the normalized area under
 *              example i's correct-vs-attack-ε step (mean over i = the area
 *              under the accuracy curve).
 *   T          the fitted temperature (lsp_calib_temperature_fit, on
 *              validation); on resamples of the validation set (its own
 *              plan) the minimiser of the weighted validation NLL, by
 *              Newton's method in 1/T from the fit (temp_stat); the first
 *              LSP_CELL_TEMPERATURE_B resamples only, repeated cyclically;
 *              NaN where there is no interior minimum
 *   logit gap  Σ w_i g_i / n, g_i = z_{i,y} − mean_{j≠y} z_{i,j} (lsp_logitgap)
 *
 * The resamples serve the study's paired differences; a cell's own interval
 * of a calibration error (ECE, debiased, ECE_T) is not their percentile but
 * the test inversion the cell's calibration computed (calib_intervals). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_boot.h"
#include "analysis/lsp_calib.h"
#include "analysis/lsp_clusters.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "reports/lsp_cell_int.h"

#define LSP_CELL_CLUSTER_B 50
#define LSP_CELL_TEMPERATURE_B 50

typedef struct {
  size_t n, k, h, bins;
  lsp_calib_edges edges;
  const uint8_t *correct;
  const double *nll, *conf, *conf_t;
  const float *feat;
  const int32_t *y;
  int with_clusters;
} test_ctx;

typedef struct {
  double *acc, *cnf, *wt; /* bins */
  float *feat;            /* n × h */
  int32_t *y;
  lsp_clusters *cl;
} test_ws;

static void *test_ws_alloc(const void *p) {
  const test_ctx *c = p;
  test_ws *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->acc = calloc(c->bins, sizeof(double));
  w->cnf = calloc(c->bins, sizeof(double));
  w->wt = calloc(c->bins, sizeof(double));
  int ok = w->acc && w->cnf && w->wt;
  if (c->with_clusters) {
    w->feat = malloc(c->n * c->h * sizeof(float));
    w->y = malloc(c->n * sizeof(int32_t));
    w->cl = lsp_clusters_alloc(c->k);
    ok = ok && w->feat && w->y && w->cl;
  }
  if (!ok) {
    free(w->acc);
    free(w->cnf);
    free(w->wt);
    free(w->feat);
    free(w->y);
    lsp_clusters_free(w->cl);
    free(w);
    return NULL;
  }
  return w;
}

static void test_ws_free(void *p) {
  test_ws *w = p;
  free(w->acc);
  free(w->cnf);
  free(w->wt);
  free(w->feat);
  free(w->y);
  lsp_clusters_free(w->cl);
  free(w);
}

/* ECE and its debiased ℓ2 version of confidences conf under weights w */
static void ece_pair(const test_ctx *c, test_ws *ws, const double *conf, const uint32_t *w,
                     double *ece, double *deb) {
  memset(ws->acc, 0, c->bins * sizeof(double));
  memset(ws->cnf, 0, c->bins * sizeof(double));
  memset(ws->wt, 0, c->bins * sizeof(double));
  for (size_t i = 0; i < c->n; i++) {
    double wi = w ? (double)w[i] : 1.0;
    if (wi == 0) continue;
    int m = lsp_calib_bin(conf[i], (int)c->bins, c->edges);
    ws->wt[m] += wi;
    ws->acc[m] += wi * c->correct[i];
    ws->cnf[m] += wi * conf[i];
  }
  double e = 0, d = 0, n = (double)c->n;
  for (size_t m = 0; m < c->bins; m++) {
    double W = ws->wt[m];
    if (W <= 0) continue;
    double a = ws->acc[m] / W, cf = ws->cnf[m] / W;
    e += fabs(a - cf) * W / n;
    if (W >= 2) d += W / n * ((a - cf) * (a - cf) - a * (1 - a) / (W - 1));
  }
  *ece = e;
  *deb = sqrt(d > 0 ? d : 0);
}

static void test_stat(const void *p, void *wsp, const uint32_t *w, double *out) {
  const test_ctx *c = p;
  test_ws *ws = wsp;
  double acc = 0, nll = 0, n = (double)c->n;
  for (size_t i = 0; i < c->n; i++) {
    double wi = w ? (double)w[i] : 1.0;
    acc += wi * c->correct[i];
    nll += wi * c->nll[i];
  }
  out[0] = acc / n;
  out[1] = nll / n;
  ece_pair(c, ws, c->conf, w, &out[2], &out[3]);
  double dummy;
  ece_pair(c, ws, c->conf_t, w, &out[4], &dummy);
}

static void cluster_stat(const void *p, void *wsp, const uint32_t *w, double *out) {
  const test_ctx *c = p;
  test_ws *ws = wsp;
  size_t r = 0;
  for (size_t i = 0; i < c->n; i++)
    for (uint32_t t = 0; t < (w ? w[i] : 1u); t++, r++) {
      memcpy(ws->feat + r * c->h, c->feat + i * c->h, c->h * sizeof(float));
      ws->y[r] = c->y[i];
    }
  out[0] = out[1] = NAN;
  /* on one thread: a resample is already one task of the bootstrap's team */
  int prev = lsp_threads_set(1);
  if (lsp_clusters_compute(ws->feat, ws->y, r, c->h, ws->cl) == LSP_OK) {
    out[0] = ws->cl->r2_separation;
    out[1] = ws->cl->nc1;
  }
  lsp_threads_set(prev);
}

/* ---- attacks: per-example normalized areas ------------------------------- */

typedef struct {
  size_t n, nset;
  const double *area[4]; /* per set, n values (NULL: not run) */
} area_ctx;

static void area_stat(const void *p, void *ws, const uint32_t *w, double *out) {
  (void)ws;
  const area_ctx *c = p;
  for (size_t s = 0; s < c->nset; s++) {
    if (!c->area[s]) {
      out[s] = NAN;
      continue;
    }
    double t = 0;
    for (size_t i = 0; i < c->n; i++) t += (w ? (double)w[i] : 1.0) * c->area[s][i];
    out[s] = t / (double)c->n;
  }
}

/* a_i of every example of an n × ne outcome table (row e = attack ε e) */
static double *areas(const uint8_t *correct, size_t n, const double *eps, size_t ne) {
  double *a = calloc(n ? n : 1, sizeof *a);
  if (!a) return NULL;
  double lo = eps[0], hi = eps[0];
  for (size_t e = 1; e < ne; e++) {
    lo = eps[e] < lo ? eps[e] : lo;
    hi = eps[e] > hi ? eps[e] : hi;
  }
  for (size_t i = 0; i < n; i++) {
    if (ne == 1 || !(hi > lo)) {
      a[i] = correct[i];
      continue;
    }
    double s = 0;
    for (size_t e = 0; e + 1 < ne; e++)
      s += 0.5 * (eps[e + 1] - eps[e]) * (correct[e * n + i] + correct[(e + 1) * n + i]);
    a[i] = s / (hi - lo);
  }
  return a;
}

/* ---- the temperature (validation) and the mean logit gap (test) ---------- */

typedef struct {
  size_t n, k;
  const float *z; /* n × k validation logits */
  const int32_t *y;
  double t;       /* the fit on the whole set (lsp_calib_temperature_fit) */
  double beta_lo, beta_hi; /* 1/T over the range the fit searches */
} temp_ctx;

/* The temperature of a weighted resample: the minimiser of
 * Σ w_i [log Σ_j exp(β z_ij) − β z_iy] over β = 1/T, which is convex in β
 * (gradient Σ w_i (E_p z_i − z_iy), curvature Σ w_i Var_p z_i), by Newton's
 * method from the whole set's β; NaN when it leaves the range of T the
 * fit searches (lsp_calib_temperature_range: no interior minimum there, as
 * lsp_calib_temperature_fit would say) or does not converge.
 * The whole set (w = NULL) gives that fit itself. */
static void temp_stat(const void *p, void *ws, const uint32_t *w, double *out) {
  (void)ws;
  const temp_ctx *c = p;
  out[0] = NAN;
  if (!w) {
    out[0] = c->t;
    return;
  }
  double beta = 1.0 / c->t;
  for (int it = 0; it < 100; it++) {
    double g = 0, h = 0;
    for (size_t i = 0; i < c->n; i++) {
      if (!w[i]) continue;
      const float *zi = c->z + i * c->k;
      double mx = zi[0];
      for (size_t j = 1; j < c->k; j++) mx = zi[j] > mx ? zi[j] : mx;
      double s = 0, s1 = 0, s2 = 0;
      for (size_t j = 0; j < c->k; j++) {
        const double zj = zi[j], e = exp(beta * (zj - mx));
        s += e;
        s1 += e * zj;
        s2 += e * zj * zj;
      }
      const double m1 = s1 / s;
      g += (double)w[i] * (m1 - zi[c->y[i]]);
      h += (double)w[i] * (s2 / s - m1 * m1);
    }
    if (!(h > 0)) return;
    const double step = g / h;
    beta -= step;
    if (!(beta >= c->beta_lo && beta <= c->beta_hi)) return;
    if (fabs(step) <= 1e-12 * beta) {
      out[0] = 1.0 / beta;
      return;
    }
  }
}

typedef struct {
  size_t n;
  const double *v;
} mean_ctx;

static void mean_stat(const void *p, void *ws, const uint32_t *w, double *out) {
  (void)ws;
  const mean_ctx *c = p;
  double t = 0;
  for (size_t i = 0; i < c->n; i++) t += (w ? (double)w[i] : 1.0) * c->v[i];
  out[0] = t / (double)c->n;
}

/* Run stat over `n` examples on the plan (seed) into res: point values in
 * res->value[first..], resamples in res->resample columns first.. */
static int summarize_set(const lsp_cell_ctx *c, lsp_cell_result *res, size_t n, uint64_t seed,
                         const lsp_boot_stat *bs, size_t first, size_t bmax) {
  size_t M = bs->nstat, B = res->B, Bc = bmax && bmax < B ? bmax : B;
  double *vals = malloc(Bc * M * sizeof *vals);
  if (!vals) return lsp_fail(LSP_ENOMEM, "out of memory");
  void *ws = bs->ws_alloc ? bs->ws_alloc(bs->ctx) : NULL;
  if (bs->ws_alloc && !ws) {
    free(vals);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  bs->stat(bs->ctx, ws, NULL, res->value + first);
  if (ws) bs->ws_free(ws);
  lsp_boot_opts bo = {(int)Bc, seed, c->opts.threads > 0 ? c->opts.threads : 1};
  int st = lsp_boot_values(n, &bo, bs, vals);
  if (st == LSP_OK)
    for (size_t b = 0; b < B; b++)
      for (size_t m = 0; m < M; m++)
        res->resample[b * LSP_CELL_NSTAT + first + m] = vals[(b % Bc) * M + m];
  free(vals);
  return st;
}

void lsp_cell_unfitted_t(lsp_cell_result *r) {
  if (!r || !isnan(r->temperature)) return;
  r->value[LSP_CELL_ECE_T] = r->ci_lo[LSP_CELL_ECE_T] = r->ci_hi[LSP_CELL_ECE_T] = NAN;
  if (r->resample)
    for (size_t b = 0; b < r->B; b++) r->resample[b * LSP_CELL_NSTAT + LSP_CELL_ECE_T] = NAN;
}

void lsp_cell_center_clusters(lsp_cell_result *r) {
  if (!r || !r->resample) return;
  const int stats[2] = {LSP_CELL_R2, LSP_CELL_NC1};
  for (int k = 0; k < 2; k++) {
    const int s = stats[k];
    if (!isfinite(r->value[s])) continue;
    double sum = 0, mag = fabs(r->value[s]);
    size_t m = 0;
    for (size_t b = 0; b < r->B; b++) {
      const double v = r->resample[b * LSP_CELL_NSTAT + s];
      if (isfinite(v)) {
        sum += v;
        mag = fmax(mag, fabs(v));
        m++;
      }
    }
    if (!m) continue;
    const double bias = sum / (double)m - r->value[s];
    /* already centred (up to the rounding of the sum, also for a value of
     * 0): leave the bits as they are, so a cell read back is the same */
    if (fabs(bias) <= 1e-12 * mag) continue;
    for (size_t b = 0; b < r->B; b++) r->resample[b * LSP_CELL_NSTAT + s] -= bias;
  }
}

/* The calibration errors' per-cell intervals: the test inversion of
 * lsp_calib_bootstrap on the test rows, before (ECE; the ℓ2 debiased ECE
 * is lsp_calib's ece_l2_debiased) and after temperature scaling. */
static void calib_intervals(const lsp_calib_result *cal, const lsp_calib_result *cal_t,
                            lsp_cell_result *res) {
  for (int s = 0; s < LSP_CELL_NSTAT; s++) res->ci_lo[s] = res->ci_hi[s] = NAN;
  res->calib_ci = cal->has_ci && cal_t->has_ci && cal->ci == LSP_CALIB_CI_INVERSION &&
                  cal_t->ci == LSP_CALIB_CI_INVERSION;
  if (!res->calib_ci) return;
  const struct {
    int stat;
    const lsp_calib_result *cal;
    int metric;
  } map[3] = {{LSP_CELL_ECE, cal, LSP_CALIB_ECE},
              {LSP_CELL_ECE_L2_DEBIASED, cal, LSP_CALIB_ECE_L2_DEBIASED},
              {LSP_CELL_ECE_T, cal_t, LSP_CALIB_ECE}};
  for (int q = 0; q < 3; q++) {
    res->ci_lo[map[q].stat] = map[q].cal->ci_lo[map[q].metric];
    res->ci_hi[map[q].stat] = map[q].cal->ci_hi[map[q].metric];
  }
}

static double *conf_of(const float *z, size_t n, size_t k, double inv_t, const int32_t *y,
                       double *nll) {
  double *c = malloc((n ? n : 1) * sizeof *c);
  if (!c) return NULL;
  for (size_t i = 0; i < n; i++) {
    const float *zi = z + i * k;
    double mx = zi[0];
    for (size_t j = 1; j < k; j++) mx = zi[j] > mx ? zi[j] : mx;
    double s = 0;
    for (size_t j = 0; j < k; j++) s += exp(((double)zi[j] - mx) * inv_t);
    c[i] = 1.0 / s; /* the top class has exp(0) = 1 */
    if (nll) nll[i] = log(s) - ((double)zi[y[i]] - mx) * inv_t;
  }
  return c;
}

int lsp_cell_summarize(const lsp_cell_ctx *c, const lsp_run_model *rm, lsp_cell_result *res) {
  const lsp_dataset *te = &c->data->test;
  const lsp_run_opts *o = &c->opts;
  size_t n = te->n, k = (size_t)te->k, ne = o->n_attack_eps;
  res->B = c->B;
  res->resample = malloc(c->B * LSP_CELL_NSTAT * sizeof(double));
  double *nll = malloc((n ? n : 1) * sizeof(double));
  double *conf = conf_of(rm->test_logits, n, k, 1.0, te->y, nll);
  double inv_t = rm->temperature_ok ? 1.0 / rm->temperature : 1.0;
  double *conf_t = conf_of(rm->test_logits, n, k, inv_t, te->y, NULL);
  double *ar[4] = {NULL, NULL, NULL, NULL};
  lsp_calib_result c15[2];
  memset(c15, 0, sizeof c15);
  int st = LSP_OK;
  if (!res->resample || !nll || !conf || !conf_t) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < c->B * LSP_CELL_NSTAT; i++) res->resample[i] = NAN;
  for (size_t s = 0; s < LSP_CELL_NSTAT; s++) res->value[s] = NAN;
  /* the pre-declared estimator: LSP_CELL_ECE_BINS bins whatever --bins
   * gives the per-model tables; their intervals (test inversion) computed
   * again at that count when --bins differs */
  lsp_calib_opts co = lsp_calib_opts_default();
  co.bins = LSP_CELL_ECE_BINS;
  const lsp_calib_result *cal = &rm->cal, *cal_t = &rm->cal_t;
  if (o->bins != LSP_CELL_ECE_BINS && rm->rows && rm->rows_t) {
    lsp_calib_boot boot = {(int)o->bootstrap, rm->seed * 1000003ull + 17, lsp_threads_get(),
                           LSP_CALIB_CI_INVERSION};
    if ((st = lsp_calib_rows_score(rm->rows, &co, &c15[0])) ||
        (st = lsp_calib_rows_score(rm->rows_t, &co, &c15[1])) ||
        (rm->cal.has_ci && ((st = lsp_calib_bootstrap(rm->rows, &co, &boot, &c15[0])) ||
                            (st = lsp_calib_bootstrap(rm->rows_t, &co, &boot, &c15[1])))))
      goto done;
    cal = &c15[0];
    cal_t = &c15[1];
  }
  calib_intervals(cal, cal_t, res);
  test_ctx tc = {n,       k,           lsp_model_feature_dim(rm->model),
                 LSP_CELL_ECE_BINS, co.edges,    rm->test_correct,
                 nll,     conf,        conf_t,
                 rm->test_features, te->y, 1};
  lsp_boot_stat bs = {5, &tc, test_ws_alloc, test_ws_free, test_stat};
  lsp_boot_stat cs = {2, &tc, test_ws_alloc, test_ws_free, cluster_stat};
  /* the plain summaries on every resample, the clusters on the first few
   * (then repeated cyclically) */
  tc.with_clusters = 0;
  if ((st = summarize_set(c, res, n, c->plan_seed[0], &bs, LSP_CELL_ACCURACY, 0))) goto done;
  tc.with_clusters = 1;
  if ((st = summarize_set(c, res, n, c->plan_seed[0], &cs, LSP_CELL_R2, LSP_CELL_CLUSTER_B)))
    goto done;
  lsp_cell_center_clusters(res);
  /* the mean logit gap on the test resamples; the temperature refitted on
   * validation resamples (only when it was fitted) */
  mean_ctx gc = {n, rm->gap_values};
  lsp_boot_stat gs = {1, &gc, NULL, NULL, mean_stat};
  if ((st = summarize_set(c, res, n, c->plan_seed[0], &gs, LSP_CELL_LOGIT_GAP, 0))) goto done;
  const lsp_dataset *va = &c->data->val;
  if (rm->temperature_ok && va->n) {
    double t_lo, t_hi;
    lsp_calib_temperature_range(rm->val_logits, va->n, k, &t_lo, &t_hi);
    temp_ctx tc2 = {va->n, k, rm->val_logits, va->y, rm->temperature, 1.0 / t_hi, 1.0 / t_lo};
    lsp_boot_stat ts = {1, &tc2, NULL, NULL, temp_stat};
    if ((st = summarize_set(c, res, va->n, c->plan_seed[3], &ts, LSP_CELL_TEMPERATURE,
                            LSP_CELL_TEMPERATURE_B)))
      goto done;
  }
  /* attack areas on the attack subset, AutoAttack on its own */
  size_t na = c->n_attack;
  ar[0] = areas(rm->fgsm_correct, na, o->attack_eps, ne);
  ar[1] = areas(rm->pgd_correct, na, o->attack_eps, ne);
  ar[2] = areas(rm->has_transfer ? rm->transfer_correct : rm->pgd_correct, na, o->attack_eps, ne);
  if (!ar[0] || !ar[1] || !ar[2]) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto done;
  }
  area_ctx ac = {na, 3, {ar[0], ar[1], ar[2], NULL}};
  lsp_boot_stat as = {3, &ac, NULL, NULL, area_stat};
  if ((st = summarize_set(c, res, na, c->plan_seed[1], &as, LSP_CELL_AUC_FGSM, 0))) goto done;
  if (rm->has_aa && c->n_aa) {
    if (!(ar[3] = areas(rm->aa_correct, c->n_aa, o->attack_eps, ne))) {
      st = lsp_fail(LSP_ENOMEM, "out of memory");
      goto done;
    }
    area_ctx aac = {c->n_aa, 1, {ar[3], NULL, NULL, NULL}};
    lsp_boot_stat aas = {1, &aac, NULL, NULL, area_stat};
    if ((st = summarize_set(c, res, c->n_aa, c->plan_seed[2], &aas, LSP_CELL_AUC_AA, 0)))
      goto done;
  }
  lsp_cell_unfitted_t(res);
done:
  lsp_calib_result_release(&c15[0]);
  lsp_calib_result_release(&c15[1]);
  free(nll);
  free(conf);
  free(conf_t);
  for (int i = 0; i < 4; i++) free(ar[i]);
  return st;
}
