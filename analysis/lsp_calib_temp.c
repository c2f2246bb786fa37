/* lsp_calib_temp.c — temperature scaling (Guo et al. 2017) and the one-call
 * before/after evaluation.
 *
 * T minimizes the validation NLL of softmax(z/T). The search runs over
 * u = log T, where the NLL is smooth and the domain unbounded: a grid scan
 * over [log 1e-3, log 1e3] brackets the minimum (a point lower than both
 * neighbours), then GSL's Brent minimizer refines it. Temperature scaling
 * is equivariant (logits c·z at c·T are z at T), so when the NLL still falls
 * at an end of that grid, the grid extends in the same steps, as far as 1e-3
 * times the smallest and 1e3 times the largest spread max z − min z of a
 * row: logits in the thousands get their T in the thousands. */
#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"

typedef struct {
  const float *z;  /* float32 logits, or NULL */
  const double *d; /* float64 logits, or NULL */
  const int32_t *y;
  size_t n, k;
  double *row;     /* [n] the rows' terms, when the rows are split over threads */
  int threads;
} temp_data;

/* Mean NLL of softmax(z·e^{-u}) in double, the rows' terms summed in row
 * order: the same bits for any thread count. */
/* Row i's term: log Σ exp((z_j - max)/T) - (z_y - max)/T. */
static double row_nll(const temp_data *d, size_t i, double inv_t) {
  size_t r = i * d->k;
  double mx = -DBL_MAX;
  for (size_t j = 0; j < d->k; j++) {
    double v = d->d ? d->d[r + j] : (double)d->z[r + j];
    mx = v > mx ? v : mx;
  }
  double s = 0.0;
  for (size_t j = 0; j < d->k; j++) {
    /* exp below -746 is exactly 0 (and the slow path of libm's underflow,
     * the common case at small T): skipped, the same sum to the bit */
    double x = ((d->d ? d->d[r + j] : (double)d->z[r + j]) - mx) * inv_t;
    if (x > -746.0) s += exp(x);
  }
  double zy = d->d ? d->d[r + (size_t)d->y[i]] : (double)d->z[r + (size_t)d->y[i]];
  return log(s) - (zy - mx) * inv_t;
}

static double nll_at(double u, void *params) {
  const temp_data *d = params;
  double inv_t = exp(-u), sum = 0.0;
  if (d->row) { /* the terms on the threads, summed here in row order */
    const long n = (long)d->n;
#pragma omp parallel for schedule(static) num_threads(d->threads)
    for (long i = 0; i < n; i++) d->row[i] = row_nll(d, (size_t)i, inv_t);
    for (size_t i = 0; i < d->n; i++) sum += d->row[i];
  } else {
    for (size_t i = 0; i < d->n; i++) sum += row_nll(d, i, inv_t);
  }
  return sum / (double)d->n;
}

#define GRID 49 /* log T from log 1e-3 to log 1e3 in steps of ~0.29 */

/* The smallest positive and the largest spread max z − min z of a row. */
static void spreads(const temp_data *d, double *lo, double *hi) {
  *lo = INFINITY;
  *hi = 0.0;
  for (size_t i = 0; i < d->n; i++) {
    double mx = -DBL_MAX, mn = DBL_MAX;
    for (size_t j = 0; j < d->k; j++) {
      double v = d->d ? d->d[i * d->k + j] : (double)d->z[i * d->k + j];
      mx = v > mx ? v : mx;
      mn = v < mn ? v : mn;
    }
    if (mx - mn > 0.0 && mx - mn < *lo) *lo = mx - mn;
    if (mx - mn > *hi) *hi = mx - mn;
  }
}

/* The T range searched: [1e-3·min(1, s_lo), 1e3·max(1, s_hi)]. */
static void range_of(const temp_data *d, double *t_lo, double *t_hi) {
  double slo, shi;
  spreads(d, &slo, &shi);
  *t_lo = 1e-3 * fmin(1.0, slo);
  *t_hi = 1e3 * fmax(1.0, shi);
}

void lsp_calib_temperature_range(const float *z, size_t n, size_t k, double *t_lo,
                                 double *t_hi) {
  temp_data d = {z, NULL, NULL, n, k, NULL, 1};
  range_of(&d, t_lo, t_hi);
}

/* The grid's end point e (index 0 or GRID - 1, the lowest NLL) moved
 * outward in steps of h while the NLL falls, up to log T = lim: on a rise,
 * the bracket (a, b, c), ascending, with b the lowest and 1 returned (2 when the NLL
 * stopped falling on a plateau: b is then the answer); 0 when lim is
 * passed first. */
static int extend(const temp_data *d, int dir, double h, double lim, double *u, double *f,
                  int e, double br[3], double fr[3]) {
  double up = u[e - dir], fp = f[e - dir], uc = u[e], fc = f[e];
  for (int k = 1;; k++) {
    double un = u[e] + dir * h * k;
    if (dir < 0 ? un < lim : un > lim) return 0;
    double fn = nll_at(un, (void *)d);
    if (fn > fc) { /* br ascending in log T */
      br[0] = dir < 0 ? un : up, br[1] = uc, br[2] = dir < 0 ? up : un;
      fr[0] = dir < 0 ? fn : fp, fr[1] = fc, fr[2] = dir < 0 ? fp : fn;
      return fc < fp ? 1 : 2;
    }
    up = uc, fp = fc, uc = un, fc = fn;
  }
}

static int fit(temp_data d, double *t_out) {
  if ((!d.z && !d.d) || !d.y || !t_out) return lsp_fail(LSP_EINVAL, "temperature: NULL argument");
  /* validate once (finite logits, labels in range) with the accumulator */
  lsp_calib_acc *a = lsp_calib_acc_alloc(1, d.k, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_TOP);
  if (!a) return LSP_ENOMEM;
  int st = d.n == 0 ? lsp_fail(LSP_EDATA, "temperature: no validation rows")
           : d.d    ? lsp_calib_acc_add_logits_f64(a, d.d, d.y, d.n, 0, 1.0, 1)
                    : lsp_calib_acc_add_logits(a, d.z, d.y, d.n, 0, 1.0, 1);
  lsp_calib_acc_free(a);
  if (st) return st;
  const double u0 = log(1e-3), u1 = log(1e3);
  double u[GRID], f[GRID];
  int best = 0, worst = 0;
  for (int g = 0; g < GRID; g++) {
    u[g] = u0 + (u1 - u0) * g / (GRID - 1);
    f[g] = nll_at(u[g], &d);
    if (f[g] < f[best]) best = g;
    if (f[g] > f[worst]) worst = g;
  }
  /* every row right by margins so wide (±1e30, say) that the NLL is 0 at
   * every T of the grid: the fit would run towards T = 0 */
  if (f[worst] == 0.0)
    return lsp_fail(LSP_EDATA,
                    "temperature: the validation NLL is 0 at every T in [1e-3, 1e3]: every "
                    "validation prediction is correct by so wide a margin that no T "
                    "changes it (the fit would run towards T = 0)");
  /* rows whose logits are all equal give log K at every T, exactly */
  if (f[worst] - f[best] <= 1e-12 * fabs(f[worst]))
    return lsp_fail(LSP_EDATA,
                    "temperature: the validation NLL does not depend on T (%.6g at every T in "
                    "[1e-3, 1e3]): are the logits of every validation row all equal?",
                    f[best]);
  double br[3], fr[3];
  if (best == 0 || best == GRID - 1) {
    double t_lo, t_hi;
    range_of(&d, &t_lo, &t_hi);
    const int dir = best == 0 ? -1 : 1;
    const double lim = log(dir < 0 ? t_lo : t_hi);
    int ok = extend(&d, dir, (u1 - u0) / (GRID - 1), lim, u, f, best, br, fr);
    if (!ok)
      return lsp_fail(LSP_EDATA,
                      "temperature: the validation NLL has no minimum for T in [%g, %g] "
                      "(it keeps falling towards T = %g: %s)",
                      dir < 0 ? exp(lim) : 1e-3, dir < 0 ? 1e3 : exp(lim), exp(lim),
                      dir < 0 ? "are the validation predictions all correct?"
                              : "do the logits carry no information about the labels?");
    if (ok == 2) { /* flat: the grid point */
      *t_out = exp(br[1]);
      return LSP_OK;
    }
  } else {
    if (!(f[best] < f[best - 1] && f[best] < f[best + 1])) { /* flat: the grid point */
      *t_out = exp(u[best]);
      return LSP_OK;
    }
    br[0] = u[best - 1], br[1] = u[best], br[2] = u[best + 1];
    fr[0] = f[best - 1], fr[1] = f[best], fr[2] = f[best + 1];
  }
  gsl_function fn = {nll_at, &d};
  gsl_min_fminimizer *m = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
  if (!m) return lsp_fail(LSP_ENOMEM, "temperature: out of memory for the minimizer");
  int gs = gsl_min_fminimizer_set_with_values(m, &fn, br[1], fr[1], br[0], fr[0], br[2],
                                              fr[2]);
  for (int it = 0; gs == GSL_SUCCESS && it < 200; it++) {
    if ((gs = gsl_min_fminimizer_iterate(m)) != GSL_SUCCESS) break;
    double lo = gsl_min_fminimizer_x_lower(m), hi = gsl_min_fminimizer_x_upper(m);
    if (gsl_min_test_interval(lo, hi, 1e-9, 0.0) == GSL_SUCCESS) break;
  }
  double ub = gsl_min_fminimizer_x_minimum(m);
  gsl_min_fminimizer_free(m);
  if (gs != GSL_SUCCESS)
    return lsp_fail(LSP_EDATA, "temperature: Brent minimization failed (%s)", gsl_strerror(gs));
  *t_out = exp(ub);
  return LSP_OK;
}

/* fit on lsprobe's thread count (lsp_threads_get): the rows split over
 * the threads when there are enough of them, with a buffer of their terms */
static int fit_threads(temp_data d, double *t_out) {
  d.threads = lsp_threads_get();
  if (d.threads > 1 && d.n >= 256 && d.n * d.k >= 65536)
    d.row = malloc(d.n * sizeof *d.row); /* NULL: on one thread */
  int st = fit(d, t_out);
  free(d.row);
  return st;
}

int lsp_calib_temperature_fit(const float *z, const int32_t *y, size_t n, size_t k,
                              double *t_out) {
  return fit_threads((temp_data){z, NULL, y, n, k, NULL, 1}, t_out);
}

int lsp_calib_temperature_fit_f64(const double *z, const int32_t *y, size_t n, size_t k,
                                  double *t_out) {
  return fit_threads((temp_data){NULL, z, y, n, k, NULL, 1}, t_out);
}

static int score_logits(const float *z, const int32_t *y, size_t n, size_t k, double t,
                        const lsp_calib_opts *opts, const lsp_calib_boot *boot,
                        lsp_calib_result *res) {
  lsp_calib_rows *r = NULL;
  int st = lsp_calib_rows_from_logits(z, y, n, k, 1.0 / t, NULL, &r);
  if (!st) st = lsp_calib_rows_score(r, opts, res);
  if (!st && boot) st = lsp_calib_bootstrap(r, opts, boot, res);
  if (!st) res->temperature = t;
  lsp_calib_rows_free(r);
  return st;
}

int lsp_calib_evaluate(const float *test_z, const int32_t *test_y, size_t n, size_t k,
                       const float *val_z, const int32_t *val_y, size_t n_val,
                       const lsp_calib_opts *opts, const lsp_calib_boot *boot,
                       lsp_calib_result *before, lsp_calib_result *after) {
  if (!before || (val_z && !after)) return lsp_fail(LSP_EINVAL, "calibration: NULL result");
  memset(before, 0, sizeof *before);
  if (after) memset(after, 0, sizeof *after);
  int st = score_logits(test_z, test_y, n, k, 1.0, opts, boot, before);
  if (st || !val_z) return st;
  double t = 1.0;
  if ((st = lsp_calib_temperature_fit(val_z, val_y, n_val, k, &t)) ||
      (st = score_logits(test_z, test_y, n, k, t, opts, boot, after))) {
    lsp_calib_result_release(before);
    lsp_calib_result_release(after);
    return st;
  }
  return LSP_OK;
}
