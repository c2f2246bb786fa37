/* lsp_api_model.c — models through the public API (lsprobe/model.h): sizes,
 * logits and features of arrays, and `lsprobe eval` on arrays. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_clusters.h"
#include "analysis/lsp_logitgeom.h"
#include "api/lsp_api_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"
#include "core/import/lsp_import.h"
#include "core/nn/lsp_model.h"
#include "core/nn/lsp_model_json.h"
#include "lsprobe/model.h"

#define CHUNK 1024 /* rows per forward batch (and per float64 conversion) */

size_t lsp_model_input_size(const lsp_model *m) {
  return m ? m->in_dim : 0;
}
size_t lsp_model_class_count(const lsp_model *m) {
  return m ? m->out_dim : 0;
}
void lsp_model_input_shape(const lsp_model *m, size_t shape[3]) {
  if (!shape) return;
  shape[0] = m ? m->in_shape.c : 0;
  shape[1] = m ? m->in_shape.h : 0;
  shape[2] = m ? m->in_shape.w : 0;
}

size_t lsp_model_feature_size(const lsp_model *m) {
  return m ? lsp_model_feature_dim(m) : 0;
}

/* Rows [i0, i0 + nb) of x as finite float32: in place for float32 data,
 * converted into buf for float64. Messages name the global row. */
static int chunk_f32(const char *what, const lsp_matrix *x, size_t i0,
                     size_t nb, float *buf, const float **out) {
  size_t d = x->cols;
  if (x->type == LSP_MAT_F32) {
    const float *v = (const float *)x->data + i0 * d;
    for (size_t i = 0; i < nb * d; i++)
      if (!isfinite(v[i]))
        return lsp_fail(LSP_EDATA,
                        "%s: non-finite value (%g) at row %zu, column %zu",
                        what, (double)v[i], i0 + i / d, i % d);
    *out = v;
    return LSP_OK;
  }
  const double *v = (const double *)x->data + i0 * d;
  for (size_t i = 0; i < nb * d; i++) {
    if (!isfinite(v[i]))
      return lsp_fail(LSP_EDATA,
                      "%s: non-finite value (%g) at row %zu, column %zu", what,
                      v[i], i0 + i / d, i % d);
    if (fabs(v[i]) > 3.4028234663852886e38)
      return lsp_fail(
          LSP_EDATA, "%s: value %g at row %zu, column %zu does not fit float32",
          what, v[i], i0 + i / d, i % d);
    buf[i] = (float)v[i];
  }
  *out = buf;
  return LSP_OK;
}

static int logits_of(const char *what, const lsp_model *m, const lsp_matrix *x,
                     float *logits, float *features) {
  if (!m) return lsp_fail(LSP_EINVAL, "no model given");
  int st = lsp_api_matrix_ok(what, x, 0);
  if (st) return st;
  if (x->cols != m->in_dim)
    return lsp_fail(LSP_EDATA,
                    "%s: %zu features per example, but the model takes %zu",
                    what, x->cols, m->in_dim);
  if (!logits)
    return lsp_fail(LSP_EINVAL, "%s: no output array for the logits", what);
  float *buf = NULL;
  if (x->type == LSP_MAT_F64 && !(buf = malloc(CHUNK * x->cols * sizeof *buf)))
    return lsp_fail(LSP_ENOMEM, "out of memory for a batch of %zu x %zu",
                    (size_t)CHUNK, x->cols);
  size_t k = m->out_dim, h = lsp_model_feature_dim(m);
  for (size_t i0 = 0; i0 < x->rows && !st; i0 += CHUNK) {
    size_t nb = x->rows - i0 < CHUNK ? x->rows - i0 : CHUNK;
    const float *xb = NULL;
    if (!(st = chunk_f32(what, x, i0, nb, buf, &xb)))
      st = lsp_model_predict(m, xb, nb, CHUNK, logits + i0 * k,
                             features ? features + i0 * h : NULL);
    /* finite inputs so large that the network overflows give no logits */
    for (size_t i = 0; !st && i < nb * k; i++)
      if (!isfinite(logits[i0 * k + i])) {
        float big = 0.0f;
        for (size_t c = 0; c < x->cols; c++) big = fmaxf(big, fabsf(xb[(i / k) * x->cols + c]));
        st = lsp_fail(LSP_EDATA,
                      "%s: row %zu: the network's output is not finite (%g for class %zu) from "
                      "finite inputs as large as %g: values beyond what the network can take",
                      what, i0 + i / k, (double)logits[i0 * k + i], i % k, (double)big);
      }
  }
  free(buf);
  return st;
}

int lsp_model_logits(const lsp_model *m, const lsp_matrix *x, float *logits,
                     float *features) {
  return logits_of("x", m, x, logits, features);
}

/* The blocks of `lsprobe eval --json` (cli/cmd_eval.c), in its order. */
static int eval_json(const lsp_model *m, const float *z, const float *f,
                     const int32_t *y, size_t n, const float *vz,
                     const int32_t *vy, size_t nv, const lsp_calib_opts *co,
                     const lsp_calib_boot *boot, lsp_json *j) {
  size_t k = m->out_dim, h = lsp_model_feature_dim(m), correct = 0;
  char arch[256];
  lsp_model_describe(m, arch, sizeof arch);
  lsp_json_key_str(j, "arch", arch);
  lsp_json_key_int(j, "n", (long long)n);
  lsp_json_key_str(j, "features",
                   m->features < 0 ? "input" : m->nodes[m->features].name);
  lsp_json_key_int(j, "feature_dim", (long long)h);
  lsp_model_meta_json(m, j);
  for (size_t i = 0; i < n; i++)
    correct += (int32_t)lsp_argmax_f32(z + i * k, k) == y[i];
  double nll;
  lsp_ls plain = {0.0, LSP_LS_UNIFORM, 0};
  int st = lsp_loss_xent(z, y, n, k, &plain, NULL, 1.0, NULL, &nll);
  if (st) return st;
  lsp_json_key_num(j, "accuracy", (double)correct / (double)n);
  lsp_json_key_num(j, "nll", nll);

  lsp_calib_result before = {0}, after = {0};
  int fit = vz != NULL;
  char note[512] = "";
  st = lsp_calib_evaluate(z, y, n, k, vz, vy, nv, co, boot, &before, &after);
  if (st == LSP_EDATA &&
      fit) { /* no interior NLL minimum: no scaling (as eval), and why */
    fit = 0;
    snprintf(note, sizeof note, "validation x: %s", lsp_errmsg());
    lsp_calib_result_release(&before);
    lsp_calib_result_release(&after);
    st = lsp_calib_evaluate(z, y, n, k, NULL, NULL, 0, co, boot, &before,
                            &after);
  }
  if (!st) {
    lsp_calib_pair_json(&before, fit ? &after : NULL, j);
    if (*note) lsp_json_key_str(j, "calibration_temperature_note", note);
  }
  lsp_calib_result_release(&before);
  lsp_calib_result_release(&after);
  if (st) return st;

  lsp_clusters *cl = lsp_clusters_alloc(k);
  if (!cl) return lsp_fail(LSP_ENOMEM, "out of memory (K = %zu)", k);
  st = lsp_clusters_compute(f, y, n, h, cl);
  if (st == LSP_EDATA) { /* e.g. one class only: no clusters, as eval --json */
    lsp_json_key(j, "clusters");
    lsp_json_null(j);
    lsp_json_key_str(j, "clusters_note", lsp_errmsg());
  } else if (st) {
    lsp_clusters_free(cl);
    return lsp_fail_prefix(st, "clusters");
  } else {
    lsp_json_key(j, "clusters");
    lsp_json_obj_begin(j);
    lsp_clusters_json(cl, j);
    lsp_json_obj_end(j);
  }
  lsp_clusters_free(cl);

  lsp_logitgap g;
  const lsp_ls *ls = m->meta.trained ? &m->meta.smoothing : NULL;
  if ((st = lsp_logitgap_compute(z, y, n, k, ls, &g, NULL, NULL))) return st;
  lsp_json_key(j, "logit_gap");
  lsp_json_obj_begin(j);
  lsp_logitgap_json(&g, j);
  lsp_json_obj_end(j);
  return LSP_OK;
}

int lsp_model_evaluate(const lsp_model *m, const lsp_matrix *x,
                       const int32_t *y, const lsp_matrix *val_x,
                       const int32_t *val_y, const lsp_opts *o,
                       lsp_result **out) {
  static const char *const known[] = {"bins", "bootstrap", "seed", NULL};
  const char *fn = "evaluate";
  if (!out) return lsp_fail(LSP_EINVAL, "%s: no result pointer", fn);
  *out = NULL;
  if (!m) return lsp_fail(LSP_EINVAL, "%s: no model given", fn);
  long bins, boot, seed;
  int st;
  if ((st = lsp_api_opts_known(fn, o, known)) ||
      (st = lsp_api_opt_long(fn, o, "bins", 15, 1, 100000, &bins)) ||
      (st = lsp_api_opt_long(fn, o, "bootstrap", 0, 0, 1000000, &boot)) ||
      (st = lsp_api_opt_long(fn, o, "seed", 1, 0, 2147483647L, &seed)))
    return st;
  if (!val_x != !val_y)
    return lsp_fail(
        LSP_EINVAL,
        "%s: give the validation inputs and their labels, or neither", fn);
  if ((st = lsp_api_matrix_ok("x", x, 0))) return st;
  size_t k = m->out_dim, h = lsp_model_feature_dim(m), n = x->rows;
  if ((st = lsp_api_labels("labels", y, n, k, NULL))) return st;
  if (val_x &&
      ((st = lsp_api_matrix_ok("validation x", val_x, 0)) ||
       (st = lsp_api_labels("validation labels", val_y, val_x->rows, k, NULL))))
    return st;
  lsp_calib_opts co = lsp_calib_opts_default();
  co.bins = (int)bins;
  lsp_calib_boot bs = {(int)boot, (uint64_t)seed, 0, LSP_CALIB_CI_INVERSION};
  float *z = malloc(n * k * sizeof *z),
        *f = malloc(n * (h ? h : 1) * sizeof *f), *vz = NULL;
  lsp_api_doc d = {0};
  if (!z || !f || (val_x && !(vz = malloc(val_x->rows * k * sizeof *vz)))) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for %zu examples", n);
    goto done;
  }
  if ((st = logits_of("x", m, x, z, f)) ||
      (val_x && (st = logits_of("validation x", m, val_x, vz, NULL))))
    goto done;
  if ((st = lsp_api_doc_open(&d))) goto done;
  if ((st = eval_json(m, z, f, y, n, vz, val_y, val_x ? val_x->rows : 0, &co,
                      boot > 0 ? &bs : NULL, &d.j)))
    goto done;
  st = lsp_api_doc_close(&d, out);
done:
  lsp_api_doc_abort(&d);
  free(z);
  free(f);
  free(vz);
  return st;
}
