/* lsp_calib_rows.c — the per-row calibration table: ACE, bootstrap
 * intervals and the paired bootstrap.
 *
 * A bootstrap resample is represented by how many times each row was drawn
 * (counts w_i summing to N), never by copied rows: every sum becomes a
 * weighted sum over the original rows, so a resample costs one pass over N
 * rows. Resample b uses its own mt19937 seeded from (seed, b), so results do
 * not depend on which thread ran it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_boot.h"
#include "analysis/lsp_calib.h"
#include "analysis/lsp_calib_impl.h"
#include "analysis/lsp_calib_row.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

void lsp_calib_rows_free(lsp_calib_rows *r) {
  if (!r) return;
  free(r->y);
  free(r->conf);
  free(r->correct);
  free(r->nll);
  free(r->brier);
  free(r->prob);
  free(r->order);
  free(r);
}

size_t lsp_calib_rows_count(const lsp_calib_rows *r) { return r ? r->n : 0; }

typedef struct {
  double c;
  size_t i;
} conf_idx;

/* Confidence ascending, ties by row index: a stable order, fully defined. */
static int cmp_conf(const void *pa, const void *pb) {
  const conf_idx *a = pa, *b = pb;
  if (a->c != b->c) return a->c < b->c ? -1 : 1;
  return (a->i > b->i) - (a->i < b->i);
}

static int rows_alloc(size_t n, size_t k, lsp_calib_rows **out) {
  *out = NULL;
  if (n == 0) return lsp_fail(LSP_EDATA, "calibration: no rows (zero examples)");
  if (k < 2) return lsp_fail(LSP_EDATA, "calibration: need at least 2 classes (K = %zu)", k);
  lsp_calib_rows *r = calloc(1, sizeof *r);
  if (!r) return lsp_fail(LSP_ENOMEM, "out of memory for the calibration table");
  r->n = n;
  r->k = k;
  r->y = malloc(n * sizeof *r->y);
  r->conf = malloc(n * sizeof *r->conf);
  r->correct = malloc(n * sizeof *r->correct);
  r->nll = malloc(n * sizeof *r->nll);
  r->brier = malloc(n * sizeof *r->brier);
  r->prob = malloc(n * k * sizeof *r->prob);
  r->order = malloc(n * sizeof *r->order);
  if (!r->y || !r->conf || !r->correct || !r->nll || !r->brier || !r->prob || !r->order) {
    lsp_calib_rows_free(r);
    return lsp_fail(LSP_ENOMEM, "out of memory for the calibration table (%zu x %zu)", n, k);
  }
  *out = r;
  return LSP_OK;
}

static int rows_sort(lsp_calib_rows *r) {
  conf_idx *t = malloc(r->n * sizeof *t);
  if (!t) return lsp_fail(LSP_ENOMEM, "out of memory for sorting %zu confidences", r->n);
  for (size_t i = 0; i < r->n; i++) t[i] = (conf_idx){r->conf[i], i};
  qsort(t, r->n, sizeof *t, cmp_conf);
  for (size_t i = 0; i < r->n; i++) r->order[i] = t[i].i;
  free(t);
  return LSP_OK;
}

/* The input matrix, float32 or float64, read as doubles (exact for floats). */
typedef struct {
  const float *f;
  const double *d; /* non-NULL for float64 input */
} mat;

static inline double at(mat x, size_t i) { return x.d ? x.d[i] : (double)x.f[i]; }
/* Row i's argmax (lowest index on ties) in the row's own precision. */
static inline size_t argmax_row(mat x, size_t i, size_t k) {
  return x.d ? lsp_argmax_f64(x.d + i * k, k) : lsp_argmax_f32(x.f + i * k, k);
}

/* Validation reuses the accumulator's checks and messages (one bin). */
static int validate(mat x, const int32_t *y, size_t n, size_t k, double inv_t, int logits,
                    const char *path) {
  if ((!x.f && !x.d) || !y) return lsp_fail(LSP_EINVAL, "calibration: NULL input");
  lsp_calib_acc *a = lsp_calib_acc_alloc(1, k, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_TOP);
  if (!a) return LSP_ENOMEM;
  int st;
  if (x.d)
    st = logits ? lsp_calib_acc_add_logits_f64(a, x.d, y, n, 0, inv_t, 1)
                : lsp_calib_acc_add_probs_f64(a, x.d, y, n, 0, 1);
  else
    st = logits ? lsp_calib_acc_add_logits(a, x.f, y, n, 0, inv_t, 1)
                : lsp_calib_acc_add_probs(a, x.f, y, n, 0, 1);
  lsp_calib_acc_free(a);
  if (st && path) lsp_fail_prefix(st, path);
  return st;
}

static int from_probs(mat p, const int32_t *y, size_t n, size_t k, const char *path,
                      lsp_calib_rows **out) {
  int st = rows_alloc(n, k, out);
  if (st) return st;
  if ((st = validate(p, y, n, k, 1.0, 0, path))) {
    lsp_calib_rows_free(*out);
    *out = NULL;
    return st;
  }
  lsp_calib_rows *r = *out;
  for (size_t i = 0; i < n; i++) {
    size_t yi = (size_t)y[i], am = argmax_row(p, i, k);
    double mx = at(p, i * k + am), br = 0.0;
    for (size_t j = 0; j < k; j++) {
      double v = at(p, i * k + j), t = j == yi ? 1.0 : 0.0;
      br += (v - t) * (v - t);
      r->prob[i * k + j] = v;
    }
    double py = at(p, i * k + yi);
    r->y[i] = y[i];
    r->conf[i] = mx;
    r->correct[i] = am == yi;
    r->nll[i] = py > 0.0 ? -log(py) : INFINITY;
    r->brier[i] = br;
  }
  if ((st = rows_sort(r))) {
    lsp_calib_rows_free(r);
    *out = NULL;
  }
  return st;
}

static int from_logits(mat z, const int32_t *y, size_t n, size_t k, double inv_t,
                       const char *path, lsp_calib_rows **out) {
  int st = rows_alloc(n, k, out);
  if (st) return st;
  if ((st = validate(z, y, n, k, inv_t, 1, path))) {
    lsp_calib_rows_free(*out);
    *out = NULL;
    return st;
  }
  lsp_calib_rows *r = *out;
  const lsp_calib_row_fn row = lsp_calib_row_kernel();
  const size_t G = lsp_calib_row_group(k);
  double *scratch = malloc(G * k * sizeof *scratch);
  if (!scratch) {
    lsp_calib_rows_free(r);
    *out = NULL;
    return lsp_fail(LSP_ENOMEM, "out of memory for the calibration table");
  }
  lsp_calib_rowstat rs[LSP_CALIB_ROWS];
  for (size_t g = 0; g < n; g += G) {
    /* the accumulator's row function (lsp_calib_row.h): p_j = e_j·(1/s),
     * so the top class's p is the confidence 1/s exactly; validated above */
    const size_t nr = n - g < G ? n - g : G;
    row(z.d ? NULL : z.f + g * k, z.d ? z.d + g * k : NULL, nr, k, inv_t, y + g,
        r->prob + g * k, scratch, rs);
    for (size_t q = 0; q < nr; q++) {
      const size_t i = g + q, yi = (size_t)y[i];
      const double *w = r->prob + i * k;
      double br = 0.0;
      for (size_t j = 0; j < k; j++) {
        double v = w[j], t = j == yi ? 1.0 : 0.0;
        br += (v - t) * (v - t);
      }
      r->y[i] = y[i];
      r->conf[i] = rs[q].conf;
      r->correct[i] = rs[q].top == yi;
      r->nll[i] = rs[q].nll;
      r->brier[i] = br;
    }
  }
  free(scratch);
  if ((st = rows_sort(r))) {
    lsp_calib_rows_free(r);
    *out = NULL;
  }
  return st;
}

int lsp_calib_rows_from_probs(const float *p, const int32_t *y, size_t n, size_t k,
                              const char *path, lsp_calib_rows **out) {
  return from_probs((mat){p, NULL}, y, n, k, path, out);
}

int lsp_calib_rows_from_probs_f64(const double *p, const int32_t *y, size_t n, size_t k,
                                  const char *path, lsp_calib_rows **out) {
  return from_probs((mat){NULL, p}, y, n, k, path, out);
}

int lsp_calib_rows_from_logits(const float *z, const int32_t *y, size_t n, size_t k,
                               double inv_t, const char *path, lsp_calib_rows **out) {
  return from_logits((mat){z, NULL}, y, n, k, inv_t, path, out);
}

int lsp_calib_rows_from_logits_f64(const double *z, const int32_t *y, size_t n, size_t k,
                                   double inv_t, const char *path, lsp_calib_rows **out) {
  return from_logits((mat){NULL, z}, y, n, k, inv_t, path, out);
}

int lsp_calib_rows_from_conf(const double *conf, const uint8_t *correct, size_t n,
                             const char *path, lsp_calib_rows **out) {
  *out = NULL;
  if (n == 0) return lsp_fail(LSP_EDATA, "calibration: no rows (zero examples)");
  if (!conf || !correct) return lsp_fail(LSP_EINVAL, "calibration: NULL input");
  for (size_t i = 0; i < n; i++) {
    int st = LSP_OK;
    if (!(conf[i] >= 0.0 && conf[i] <= 1.0))
      st = lsp_fail(LSP_EDATA, "row %zu: confidence %g outside [0, 1]", i, conf[i]);
    else if (correct[i] > 1)
      st = lsp_fail(LSP_EDATA, "row %zu: correct must be 0 or 1 (got %d)", i, (int)correct[i]);
    if (st) {
      if (path) lsp_fail_prefix(st, path);
      return st;
    }
  }
  lsp_calib_rows *r = calloc(1, sizeof *r);
  if (!r) return lsp_fail(LSP_ENOMEM, "out of memory for the calibration table");
  r->n = n;
  r->conf = malloc(n * sizeof *r->conf);
  r->correct = malloc(n * sizeof *r->correct);
  r->order = malloc(n * sizeof *r->order);
  if (!r->conf || !r->correct || !r->order) {
    lsp_calib_rows_free(r);
    return lsp_fail(LSP_ENOMEM, "out of memory for the calibration table (%zu rows)", n);
  }
  memcpy(r->conf, conf, n * sizeof *conf);
  memcpy(r->correct, correct, n * sizeof *correct);
  int st = rows_sort(r);
  if (st) {
    lsp_calib_rows_free(r);
    return st;
  }
  *out = r;
  return LSP_OK;
}

/* Weighted sums into `a` (reset first); w == NULL means weight 1 each. */
static void rows_accumulate(const lsp_calib_rows *r, const uint32_t *w, lsp_calib_acc *a) {
  lsp_calib_acc_reset(a);
  const int bins = a->bins;
  int ovf = 0;
  for (size_t i = 0; i < r->n; i++) {
    uint64_t wi = w ? w[i] : 1;
    if (!wi) continue;
    int b = lsp_calib_bin(r->conf[i], bins, a->edges);
    a->count[b] += wi;
    a->correct[b] += wi * r->correct[i];
    a->n_correct += wi * r->correct[i];
    lsp_calib_fix_add(&a->conf[b], lsp_calib_fix_bits(r->conf[i], &ovf) * wi, &ovf);
    lsp_calib_mesh_add(a, r->conf[i], wi, wi * r->correct[i], &ovf);
    a->n += wi;
    if (!r->k) continue; /* confidences only */
    if (isfinite(r->nll[i]) && r->nll[i] >= LSP_CALIB_FIX_MAX)
      lsp_calib_nll_big_add(a, r->nll[i], wi, &ovf);
    else if (isfinite(r->nll[i]))
      lsp_calib_fix_add(&a->nll, lsp_calib_fix_bits(r->nll[i], &ovf) * wi, &ovf);
    else
      a->n_nll_inf += wi;
    lsp_calib_fix_add(&a->brier, lsp_calib_fix_bits(r->brier[i], &ovf) * wi, &ovf);
    const double *p = r->prob + i * r->k;
    for (size_t j = 0; j < r->k; j++) {
      size_t cb = j * (size_t)bins + (size_t)lsp_calib_bin(p[j], bins, a->edges);
      a->cw_count[cb] += wi;
      a->cw_pos[cb] += j == (size_t)r->y[i] ? wi : 0;
      lsp_calib_fix_add(&a->cw_sum[cb], lsp_calib_fix_bits(p[j], &ovf) * wi, &ovf);
    }
  }
  a->overflow |= ovf;
}

/* ACE over equal-mass bins of the (weighted) rows in confidence order: bin m
 * holds W/M rows, the first W mod M bins one more; a row drawn several times
 * may straddle a bin edge (kcor: each copy counts kcor[i]/w[i] correct).
 * Per-bin count/conf/acc go to the optional arrays. */
double lsp_calib_rows_ace(const lsp_calib_rows *r, const uint32_t *w, const uint32_t *kcor,
                          int bins, uint64_t *cnt_out, double *conf_out, double *acc_out) {
  uint64_t total = 0;
  for (size_t i = 0; i < r->n; i++) total += w ? w[i] : 1;
  uint64_t base = total / (uint64_t)bins, extra = total % (uint64_t)bins;
  double ace = 0.0, ncor = 0.0; /* ncor: Σ t·share, whole numbers unless kcor splits */
  uint64_t cnt = 0;
  lsp_calib_fix csum = {0, 0}; /* exact: the selection path (lsp_calib_score.c) agrees */
  int ovf = 0;
  int m = 0;
  uint64_t cap = base + (extra > 0);
  for (size_t s = 0; s < r->n && m < bins; s++) {
    size_t i = r->order[s];
    uint64_t wi = w ? w[i] : 1;
    double share = kcor ? (wi ? (double)kcor[i] / (double)wi : 0.0) : (double)r->correct[i];
    while (wi > 0 && m < bins) {
      uint64_t t = cap - cnt < wi ? cap - cnt : wi;
      cnt += t;
      ncor += (double)t * share;
      lsp_calib_fix_add(&csum, lsp_calib_fix_bits(r->conf[i], &ovf) * t, &ovf);
      wi -= t;
      while (cnt == cap && m < bins) { /* close bin m (empty bins when W < M) */
        if (cnt > 0) {
          double conf = lsp_calib_fix_double(csum) / (double)cnt, acc = ncor / (double)cnt;
          ace += (double)cnt / (double)total * fabs(acc - conf);
        }
        if (cnt_out) {
          cnt_out[m] = cnt;
          conf_out[m] = cnt ? lsp_calib_fix_double(csum) / (double)cnt : NAN;
          acc_out[m] = cnt ? ncor / (double)cnt : NAN;
        }
        m++;
        cnt = 0;
        ncor = 0.0;
        csum = (lsp_calib_fix){0, 0};
        cap = base + ((uint64_t)m < extra);
      }
    }
  }
  for (; cnt_out && m < bins; m++) cnt_out[m] = 0, conf_out[m] = acc_out[m] = NAN;
  return ace;
}

static int check_opts(const lsp_calib_opts *o) {
  if (!o) return lsp_fail(LSP_EINVAL, "calibration: NULL options");
  if (o->bins < 1) return lsp_fail(LSP_EINVAL, "number of bins must be >= 1 (got %d)", o->bins);
  return LSP_OK;
}

int lsp_calib_rows_score(const lsp_calib_rows *r, const lsp_calib_opts *o,
                         lsp_calib_result *res) {
  memset(res, 0, sizeof *res);
  int st = check_opts(o);
  if (st) return st;
  if (!r) return lsp_fail(LSP_EINVAL, "calibration: NULL table");
  lsp_calib_acc *a = lsp_calib_acc_alloc(o->bins, r->k, o->edges, LSP_CALIB_FULL);
  double *work = malloc(3 * (r->n + 1) * sizeof *work);
  if (!a || !work) {
    lsp_calib_acc_free(a);
    free(work);
    return lsp_fail(LSP_ENOMEM, "out of memory for scoring %zu rows", r->n);
  }
  a->smece_sigma = o->smece_sigma;
  rows_accumulate(r, NULL, a);
  st = lsp_calib_acc_finalize(a, res);
  lsp_calib_acc_free(a);
  if (st) {
    free(work);
    return st;
  }
  res->binning = o->binning;
  res->value[LSP_CALIB_ACE] =
      o->binning == LSP_CALIB_BINNING_MASS
          ? lsp_calib_rows_ace(r, NULL, NULL, o->bins, res->bin_count, res->bin_conf, res->bin_acc)
          : lsp_calib_rows_ace(r, NULL, NULL, o->bins, NULL, NULL, NULL);
  res->has[LSP_CALIB_ACE] = 1;
  res->value[LSP_CALIB_ECE_SWEEP] =
      lsp_calib_sweep(r->n, r->order, r->conf, NULL, r->correct, NULL, work, &res->sweep_bins);
  res->has[LSP_CALIB_ECE_SWEEP] = 1;
  free(work);
  return LSP_OK;
}

/* ---- bootstrap ---------------------------------------------------------- */

/* Per-thread scratch of a resample's metrics. */
typedef struct {
  lsp_calib_acc *acc;
  lsp_calib_scratch *sc;
  double *work; /* [3(n + 1)] ECE-sweep's prefix sums */
} rows_ws;

static void rows_ws_free(rows_ws *ws) {
  lsp_calib_acc_free(ws->acc);
  lsp_calib_scratch_free(ws->sc);
  free(ws->work);
  memset(ws, 0, sizeof *ws);
}

static int rows_ws_alloc(const lsp_calib_rows *r, const lsp_calib_opts *o, double hint,
                         rows_ws *ws) {
  ws->acc = lsp_calib_acc_alloc(o->bins, r->k, o->edges, LSP_CALIB_FULL);
  ws->sc = lsp_calib_scratch_alloc();
  ws->work = malloc(3 * (r->n + 1) * sizeof *ws->work);
  if (!ws->acc || !ws->sc || !ws->work) {
    rows_ws_free(ws);
    return 0;
  }
  ws->acc->smece_sigma = o->smece_sigma;
  ws->sc->hint = hint;
  return 1;
}

static void metrics_weighted(const lsp_calib_rows *r, const uint32_t *w, int bins,
                             rows_ws *ws, double *v) {
  int has[LSP_CALIB_NMETRIC];
  rows_accumulate(r, w, ws->acc);
  lsp_calib_metrics_from_acc(ws->acc, v, has, ws->sc);
  v[LSP_CALIB_ACE] = lsp_calib_rows_ace(r, w, NULL, bins, NULL, NULL, NULL);
  v[LSP_CALIB_ECE_SWEEP] =
      lsp_calib_sweep(r->n, r->order, r->conf, w, r->correct, NULL, ws->work, NULL);
}

/* The statistic the bootstrap engine (lsp_boot.h) resamples: every metric
 * of a, or the differences a - b when paired; unpaired, with curve_sigma >
 * 0, also the smoothed reliability curve at that σ (LSP_SMECE_CURVE_PTS
 * values after the metrics). hint_a/hint_b: the full samples' σ*, where
 * the resamples' σ* are sought (lsp_smece_fit). */
typedef struct {
  const lsp_calib_rows *ra, *rb; /* rb NULL: unpaired */
  const lsp_calib_opts *o;
  double hint_a, hint_b, curve_sigma;
} boot_ctx;

typedef struct {
  rows_ws a, b;
} boot_ws;

static void boot_ws_free(void *p) {
  boot_ws *ws = p;
  if (!ws) return;
  rows_ws_free(&ws->a);
  rows_ws_free(&ws->b);
  free(ws);
}

static void *boot_ws_alloc(const void *p) {
  const boot_ctx *c = p;
  boot_ws *ws = calloc(1, sizeof *ws);
  if (!ws) return NULL;
  if (!rows_ws_alloc(c->ra, c->o, c->hint_a, &ws->a) ||
      (c->rb && !rows_ws_alloc(c->rb, c->o, c->hint_b, &ws->b))) {
    boot_ws_free(ws);
    return NULL;
  }
  return ws;
}

static void boot_stat(const void *p, void *wsp, const uint32_t *w, double *out) {
  const boot_ctx *c = p;
  boot_ws *ws = wsp;
  double va[LSP_CALIB_NMETRIC], vb[LSP_CALIB_NMETRIC];
  metrics_weighted(c->ra, w, c->o->bins, &ws->a, va);
  if (c->rb) metrics_weighted(c->rb, w, c->o->bins, &ws->b, vb);
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) out[m] = c->rb ? va[m] - vb[m] : va[m];
  if (!c->rb && c->curve_sigma > 0.0) {
    lsp_calib_scratch *sc = ws->a.sc;
    lsp_calib_mesh_doubles(ws->a.acc, sc->m0, sc->m1, sc->m2);
    lsp_smece_curve(sc->ws, sc->m1, sc->m2, c->curve_sigma, LSP_SMECE_CURVE_PTS,
                    out + LSP_CALIB_NMETRIC, NULL);
  }
}

/* Runs B resamples of a (and b when paired: the difference a - b), filling
 * lo/hi per metric and, when curve_sigma > 0, the curve's band clo/chi. */
static int boot_run(const lsp_calib_rows *ra, const lsp_calib_rows *rb,
                    const lsp_calib_opts *o, const lsp_calib_boot *boot, double hint_a,
                    double hint_b, double *lo, double *hi, double curve_sigma, double *clo,
                    double *chi) {
  int st = check_opts(o);
  if (st) return st;
  if (!ra || !boot) return lsp_fail(LSP_EINVAL, "bootstrap: NULL argument");
  const size_t M = LSP_CALIB_NMETRIC, P = (!rb && curve_sigma > 0.0) ? LSP_SMECE_CURVE_PTS : 0;
  double blo[LSP_CALIB_NMETRIC + LSP_SMECE_CURVE_PTS], bhi[LSP_CALIB_NMETRIC + LSP_SMECE_CURVE_PTS];
  boot_ctx c = {ra, rb, o, hint_a, hint_b, P ? curve_sigma : 0.0};
  lsp_boot_opts bo = {boot->resamples, boot->seed, boot->threads};
  lsp_boot_stat stat = {M + P, &c, boot_ws_alloc, boot_ws_free, boot_stat};
  if ((st = lsp_boot_run(ra->n, &bo, &stat, blo, bhi))) return st;
  memcpy(lo, blo, M * sizeof *lo);
  memcpy(hi, bhi, M * sizeof *hi);
  if (P) {
    memcpy(clo, blo + M, P * sizeof *clo);
    memcpy(chi, bhi + M, P * sizeof *chi);
  }
  return LSP_OK;
}

int lsp_calib_bootstrap(const lsp_calib_rows *r, const lsp_calib_opts *o,
                        const lsp_calib_boot *boot, lsp_calib_result *res) {
  int curve = res->smooth_lo != NULL;
  int st = boot_run(r, NULL, o, boot, res->value[LSP_CALIB_SMECE_SIGMA], 0.0, res->pct_lo,
                    res->pct_hi, curve ? res->value[LSP_CALIB_SMECE_SIGMA] : 0.0,
                    res->smooth_lo, res->smooth_hi);
  if (st) return st;
  memcpy(res->ci_lo, res->pct_lo, sizeof res->ci_lo);
  memcpy(res->ci_hi, res->pct_hi, sizeof res->ci_hi);
  res->ci = boot->ci;
  if (boot->ci == LSP_CALIB_CI_INVERSION && ((st = lsp_calib_ti_intervals(r, o, boot, res)) ||
                                              (st = lsp_calib_ti_classwise(r, o, boot, res))))
    return st;
  res->has_ci = 1;
  res->resamples = boot->resamples;
  res->seed = boot->seed;
  return LSP_OK;
}

int lsp_calib_paired_bootstrap(const lsp_calib_rows *a, const lsp_calib_rows *b,
                               const lsp_calib_opts *o, const lsp_calib_boot *boot,
                               double diff[LSP_CALIB_NMETRIC], double lo[LSP_CALIB_NMETRIC],
                               double hi[LSP_CALIB_NMETRIC]) {
  if (!a || !b) return lsp_fail(LSP_EINVAL, "paired bootstrap: NULL table");
  if (a->n != b->n || !a->y != !b->y || (a->y && memcmp(a->y, b->y, a->n * sizeof *a->y)))
    return lsp_fail(LSP_EDATA, "paired bootstrap: the two models were not scored on the "
                               "same examples (rows or labels differ)");
  lsp_calib_result ra, rb;
  int st = lsp_calib_rows_score(a, o, &ra);
  if (st) return st;
  if ((st = lsp_calib_rows_score(b, o, &rb))) {
    lsp_calib_result_release(&ra);
    return st;
  }
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) diff[m] = ra.value[m] - rb.value[m];
  double hint_a = ra.value[LSP_CALIB_SMECE_SIGMA], hint_b = rb.value[LSP_CALIB_SMECE_SIGMA];
  lsp_calib_result_release(&ra);
  lsp_calib_result_release(&rb);
  return boot_run(a, b, o, boot, hint_a, hint_b, lo, hi, 0.0, NULL, NULL);
}
