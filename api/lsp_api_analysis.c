/* lsp_api_analysis.c — calibration, clusters and the logit gap of arrays
 * (lsprobe/analysis.h): the work of `lsprobe calib`, `clusters` and
 * `logitgap` on arrays in memory, with the same checks and JSON writers. */
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_clusters.h"
#include "analysis/lsp_logitgeom.h"
#include "api/lsp_api_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/formats/lsp_arraycheck.h"
#include "core/loss/lsp_loss.h"
#include "lsprobe/analysis.h"

/* ---- calibration ----------------------------------------------------------
 */

/* Predictions in their own precision: float64 stays double. */
typedef struct {
  const float *f;
  const double *d;
  float *own;
  size_t n, k;
} preds;

static int preds_of(const char *what, const lsp_matrix *m, preds *p) {
  memset(p, 0, sizeof *p);
  p->n = m->rows;
  p->k = m->cols;
  if (m->type == LSP_MAT_F64) {
    lsp_array a = lsp_api_array(m);
    p->d = m->data;
    return lsp_array_finite(&a, what);
  }
  return lsp_api_f32(what, m, &p->f, &p->own);
}

/* As `lsprobe calib` scores: without a bootstrap straight from the
 * predictions (lsp_calib_score: 9 bytes a row, no N×K table), with one
 * through the per-row table; the same result to the bit either way. */
static int score(const preds *x, const int32_t *y, int logits, double t,
                 const lsp_calib_opts *o, const lsp_calib_boot *boot,
                 const char *what, lsp_calib_result *res) {
  lsp_calib_rows *rows = NULL;
  int st;
  if (!boot) {
    st = lsp_calib_score(x->f, x->d, y, x->n, x->k, logits, 1.0 / t, o, lsp_threads_get(),
                         what, res);
    if (!st) res->temperature = t;
    return st;
  }
  if (!logits)
    st = x->d ? lsp_calib_rows_from_probs_f64(x->d, y, x->n, x->k, what, &rows)
              : lsp_calib_rows_from_probs(x->f, y, x->n, x->k, what, &rows);
  else
    st = x->d ? lsp_calib_rows_from_logits_f64(x->d, y, x->n, x->k, 1.0 / t,
                                               what, &rows)
              : lsp_calib_rows_from_logits(x->f, y, x->n, x->k, 1.0 / t, what,
                                           &rows);
  if (!st) st = lsp_calib_rows_score(rows, o, res);
  if (!st && boot) st = lsp_calib_bootstrap(rows, o, boot, res);
  if (!st) res->temperature = t;
  lsp_calib_rows_free(rows);
  return st;
}

int lsp_calib_measure(const lsp_matrix *pred, const int32_t *y,
                      const lsp_matrix *val, const int32_t *val_y,
                      const lsp_opts *o, lsp_result **out) {
  static const char *const known[] = {"input",     "bins", "edges", "binning",
                                      "bootstrap", "seed", NULL};
  const char *fn = "calibration";
  if (!out) return lsp_fail(LSP_EINVAL, "%s: no result pointer", fn);
  *out = NULL;
  long bins, boot, seed;
  lsp_calib_opts co = lsp_calib_opts_default();
  int st;
  if ((st = lsp_api_opts_known(fn, o, known)) ||
      (st = lsp_api_opt_long(fn, o, "bins", 15, 1, 1000000, &bins)) ||
      (st = lsp_api_opt_long(fn, o, "bootstrap", 0, 0, 10000000, &boot)) ||
      (st = lsp_api_opt_long(fn, o, "seed", 1, 0, 4294967295L, &seed)))
    return st;
  co.bins = (int)bins;
  const char *input = lsp_api_opt(o, "input");
  int logits = !input || strcmp(input, "logits") == 0;
  if (input && !logits && strcmp(input, "probs") != 0)
    return lsp_fail(LSP_EINVAL,
                    "%s: option input = '%s' is not logits or probs", fn,
                    input);
  const char *what = logits ? "logits" : "probs";
  if (lsp_api_opt(o, "edges") &&
      lsp_calib_edges_parse(lsp_api_opt(o, "edges"), &co.edges))
    return lsp_fail_prefix(LSP_EINVAL, "calibration: option edges");
  if (lsp_api_opt(o, "binning") &&
      lsp_calib_binning_parse(lsp_api_opt(o, "binning"), &co.binning))
    return lsp_fail_prefix(LSP_EINVAL, "calibration: option binning");
  if (!val != !val_y)
    return lsp_fail(
        LSP_EINVAL,
        "%s: give the validation logits and their labels, or neither", fn);
  if (val && !logits)
    return lsp_fail(
        LSP_EINVAL,
        "%s: fitting a temperature needs logits (input \"logits\"), not "
        "probabilities",
        fn);
  if ((st = lsp_api_matrix_ok(what, pred, 0))) return st;
  if (pred->cols < 2)
    return lsp_fail(LSP_EDATA, "%s: need at least 2 classes (K = %zu)", what,
                    pred->cols);
  if (val && (st = lsp_api_matrix_ok("validation logits", val, pred->cols)))
    return st;
  if ((st = lsp_api_labels("labels", y, pred->rows, pred->cols, NULL)) ||
      (val && (st = lsp_api_labels("validation labels", val_y, val->rows,
                                   val->cols, NULL))))
    return st;

  preds px, pv;
  memset(&pv, 0, sizeof pv);
  lsp_calib_result before, after;
  memset(&before, 0, sizeof before);
  memset(&after, 0, sizeof after);
  lsp_calib_boot bs = {(int)boot, (uint64_t)seed, lsp_threads_get(), LSP_CALIB_CI_INVERSION};
  lsp_api_doc d = {0};
  if ((st = preds_of(what, pred, &px))) goto done;
  if (logits) {
    lsp_array a = lsp_api_array(pred);
    if ((st = lsp_array_not_probs(
             &a, what, "pass them as probabilities (input \"probs\")")))
      goto done;
  }
  double t = 1.0;
  if (val) {
    if ((st = preds_of("validation logits", val, &pv))) goto done;
    st = pv.d ? lsp_calib_temperature_fit_f64(pv.d, val_y, pv.n, pv.k, &t)
              : lsp_calib_temperature_fit(pv.f, val_y, pv.n, pv.k, &t);
    if (st) {
      lsp_fail_prefix(st, "validation logits");
      goto done;
    }
    if ((st = score(&px, y, 1, t, &co, boot ? &bs : NULL, what, &after)))
      goto done;
  }
  if ((st = score(&px, y, logits, 1.0, &co, boot ? &bs : NULL, what, &before)))
    goto done;
  if ((st = lsp_api_doc_open(&d))) goto done;
  lsp_calib_result_json(&before, &d.j);
  if (val) {
    lsp_json_key(&d.j, "temperature_scaled");
    lsp_json_obj_begin(&d.j);
    lsp_calib_result_json(&after, &d.j);
    lsp_json_obj_end(&d.j);
  }
  st = lsp_api_doc_close(&d, out);
done:
  lsp_api_doc_abort(&d);
  lsp_calib_result_release(&before);
  lsp_calib_result_release(&after);
  free(px.own);
  free(pv.own);
  return st;
}

/* ---- clusters -------------------------------------------------------------
 */

int lsp_clusters_measure(const lsp_matrix *features, const int32_t *y,
                         const lsp_opts *o, lsp_result **out) {
  static const char *const known[] = {NULL};
  const char *fn = "clusters";
  if (!out) return lsp_fail(LSP_EINVAL, "%s: no result pointer", fn);
  *out = NULL;
  int st;
  size_t k = 0;
  if ((st = lsp_api_opts_known(fn, o, known)) ||
      (st = lsp_api_matrix_ok("features", features, 0)) ||
      (st = lsp_api_labels("labels", y, features->rows, 0, &k)))
    return st;
  if (k < 2)
    return lsp_fail(LSP_EDATA,
                    "labels: need at least 2 classes, every label is 0");
  if ((st = lsp_clusters_check_k(y, features->rows, "labels"))) return st;
  const float *x = NULL;
  float *own = NULL;
  lsp_clusters *c = NULL;
  lsp_api_doc d = {0};
  if ((st = lsp_api_f32("features", features, &x, &own))) goto done;
  if (features->type == LSP_MAT_F64 &&
      (st = lsp_clusters_check_f64(features->data, x, features->rows,
                                   features->cols, "features")))
    goto done;
  if (!(c = lsp_clusters_alloc(k))) {
    st = lsp_fail(LSP_ENOMEM, "out of memory (K = %zu)", k);
    goto done;
  }
  if ((st = lsp_clusters_compute(x, y, features->rows, features->cols, c))) {
    lsp_fail_prefix(st, "features");
    goto done;
  }
  if ((st = lsp_api_doc_open(&d))) goto done;
  lsp_clusters_json(c, &d.j);
  st = lsp_api_doc_close(&d, out);
done:
  lsp_api_doc_abort(&d);
  lsp_clusters_free(c);
  free(own);
  return st;
}

/* ---- logit gap ------------------------------------------------------------
 */

int lsp_logitgap_measure(const lsp_matrix *logits, const int32_t *y,
                         const lsp_opts *o, lsp_result **out) {
  static const char *const known[] = {"smoothing", "convention", NULL};
  const char *fn = "logit gap";
  if (!out) return lsp_fail(LSP_EINVAL, "%s: no result pointer", fn);
  *out = NULL;
  lsp_ls ls = {0.0, LSP_LS_UNIFORM, 0};
  int st;
  if ((st = lsp_api_opts_known(fn, o, known)) ||
      (st = lsp_api_opt_double(fn, o, "smoothing", 0.0, 0.0, 1.0, &ls.eps)))
    return st;
  int has_ls = lsp_api_opt(o, "smoothing") != NULL;
  const char *conv = lsp_api_opt(o, "convention");
  if (conv && !has_ls)
    return lsp_fail(LSP_EINVAL, "%s: option convention needs smoothing", fn);
  if (conv && lsp_ls_convention_parse(conv, &ls.convention))
    return lsp_fail_prefix(LSP_EINVAL, "logit gap: option convention");
  if ((st = lsp_api_matrix_ok("logits", logits, 0))) return st;
  if (logits->cols < 2)
    return lsp_fail(LSP_EDATA, "logits: need at least 2 classes (K = %zu)",
                    logits->cols);
  if ((st = lsp_api_labels("labels", y, logits->rows, logits->cols, NULL)))
    return st;
  const float *z = NULL;
  float *own = NULL;
  lsp_api_doc d = {0};
  lsp_logitgap g;
  lsp_array a = lsp_api_array(logits);
  /* float64 logits as given (as `lsprobe logitgap` takes them): a float32
   * view would round gaps of a few units on logits of 1e8 away */
  int f64 = logits->type == LSP_MAT_F64;
  if ((!f64 && (st = lsp_api_f32("logits", logits, &z, &own))) ||
      (st = lsp_array_not_probs(&a, "logits",
                                "pass the logits (or log-probabilities, "
                                "np.log(P): the same gap and entropy)")))
    goto done;
  st = f64 ? lsp_logitgap_compute_f64(logits->data, y, logits->rows,
                                      logits->cols, has_ls ? &ls : NULL, &g,
                                      NULL, NULL)
           : lsp_logitgap_compute(z, y, logits->rows, logits->cols,
                                  has_ls ? &ls : NULL, &g, NULL, NULL);
  if (st) {
    lsp_fail_prefix(st, "logits");
    goto done;
  }
  if ((st = lsp_api_doc_open(&d))) goto done;
  lsp_logitgap_json(&g, &d.j);
  st = lsp_api_doc_close(&d, out);
done:
  lsp_api_doc_abort(&d);
  free(own);
  return st;
}
