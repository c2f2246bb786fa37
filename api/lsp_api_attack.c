/* lsp_api_attack.c — FGSM and PGD on arrays (lsprobe/attack.h): the
 * white-box sweeps of `lsprobe attack --x X.npy --labels y.npy`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/lsp_api_int.h"
#include "attacks/lsp_attack.h"
#include "core/base/lsp_error.h"
#include "core/nn/lsp_model.h"
#include "lsprobe/attack.h"

/* Inputs must lie inside [lo, hi] (the attack clips to them): the message
 * of `lsprobe attack` names the row and column, the span of x and what to
 * do, with the option names of the API. */
static int check_bounds(const float *x, size_t n, size_t dim, float lo,
                        float hi) {
  size_t count = n * dim, bad = count;
  float mn = x[0], mx = x[0];
  for (size_t i = 0; i < count; i++) {
    float v = x[i];
    if (bad == count && !(v >= lo && v <= hi)) bad = i;
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
  }
  if (bad == count) return LSP_OK;
  return lsp_fail(LSP_EDATA,
                  "x: value %g at row %zu, column %zu is outside the bounds "
                  "lo = %g, hi = %g; x spans [%g, %g]: %s",
                  (double)x[bad], bad / dim, bad % dim, (double)lo, (double)hi,
                  (double)mn, (double)mx,
                  mx > 1.0f && mx <= 255.0f && mn >= 0.0f
                      ? "scale 8-bit pixels by 1/255, or give lo/hi that "
                        "hold the data the model was trained on"
                      : "scale the inputs as the model was trained, or give "
                        "lo/hi that hold them");
}

static int attack(const char *fn, lsp_attack_kind kind, lsp_model *m,
                  const lsp_matrix *x, const int32_t *y, const double *eps,
                  size_t neps, const lsp_opts *o, float *x_adv,
                  lsp_result **out) {
  static const char *const known_fgsm[] = {
      "loss", "smoothing", "convention", "lo", "hi", "batch", NULL};
  static const char *const known_pgd[] = {
      "loss",  "smoothing", "convention", "lo",   "hi",         "batch",
      "steps", "step_size", "restarts",   "seed", "full_steps", NULL};
  if (!out) return lsp_fail(LSP_EINVAL, "%s: no result pointer", fn);
  *out = NULL;
  if (!m) return lsp_fail(LSP_EINVAL, "%s: no model given", fn);
  if (!eps || neps == 0) return lsp_fail(LSP_EINVAL, "%s: no eps given", fn);
  lsp_attack_opts ao;
  lsp_attack_opts_default(&ao);
  ao.kind = kind;
  long batch, steps, restarts, seed, full;
  double lo, hi, step_size;
  int st;
  if ((st = lsp_api_opts_known(
           fn, o, kind == LSP_ATTACK_FGSM ? known_fgsm : known_pgd)) ||
      (st = lsp_api_opt_long(fn, o, "batch", 256, 1, 1L << 20, &batch)) ||
      (st = lsp_api_opt_double(fn, o, "lo", 0.0, -3.0e38, 3.0e38, &lo)) ||
      (st = lsp_api_opt_double(fn, o, "hi", 1.0, -3.0e38, 3.0e38, &hi)) ||
      (st = lsp_api_opt_long(fn, o, "steps", 10, 1, 1000000, &steps)) ||
      (st = lsp_api_opt_double(fn, o, "step_size", 0.0, 0.0, 3.0e38,
                               &step_size)) ||
      (st = lsp_api_opt_long(fn, o, "restarts", 1, 1, 100000, &restarts)) ||
      (st = lsp_api_opt_long(fn, o, "seed", 1, 0, 2147483647L, &seed)) ||
      (st = lsp_api_opt_long(fn, o, "full_steps", 0, 0, 1, &full)) ||
      (st = lsp_api_opt_double(fn, o, "smoothing", 0.0, 0.0, 1.0,
                               &ao.smoothing.eps)))
    return st;
  if (!(lo < hi))
    return lsp_fail(LSP_EINVAL, "%s: bounds lo = %g, hi = %g: need lo < hi", fn,
                    lo, hi);
  const char *loss = lsp_api_opt(o, "loss"),
             *conv = lsp_api_opt(o, "convention");
  if (loss && lsp_attack_loss_parse(loss, &ao.loss))
    return lsp_fail_prefix(LSP_EINVAL, kind == LSP_ATTACK_FGSM
                                           ? "fgsm: option loss"
                                           : "pgd: option loss");
  ao.smoothing_given = lsp_api_opt(o, "smoothing") != NULL;
  if ((ao.smoothing_given || conv) && ao.loss != LSP_ALOSS_SMOOTHED)
    return lsp_fail(
        LSP_EINVAL,
        "%s: options smoothing and convention go with loss \"smoothed\"", fn);
  if (conv && !ao.smoothing_given)
    return lsp_fail(LSP_EINVAL, "%s: option convention needs smoothing", fn);
  if (conv && lsp_ls_convention_parse(conv, &ao.smoothing.convention))
    return lsp_fail_prefix(LSP_EINVAL, kind == LSP_ATTACK_FGSM
                                           ? "fgsm: option convention"
                                           : "pgd: option convention");
  if (ao.loss == LSP_ALOSS_SMOOTHED && !ao.smoothing_given && !m->meta.trained)
    return lsp_fail(LSP_EINVAL,
                    "%s: loss \"smoothed\" needs the option smoothing: the "
                    "model records no "
                    "training smoothing",
                    fn);
  ao.lo = (float)lo;
  ao.hi = (float)hi;
  ao.batch = (size_t)batch;
  ao.steps = (size_t)steps;
  ao.step_size = step_size;
  ao.restarts = (size_t)restarts;
  ao.seed = (unsigned long)seed;
  ao.full_steps = (int)full;
  ao.adv = x_adv;
  ao.adv_point = neps - 1;
  if ((st = lsp_api_matrix_ok("x", x, 0))) return st;
  if (x->cols != m->in_dim)
    return lsp_fail(LSP_EDATA,
                    "x: %zu features per example, but the model takes %zu",
                    x->cols, m->in_dim);
  if ((st = lsp_api_labels("labels", y, x->rows, m->out_dim, NULL))) return st;
  const float *xf = NULL;
  float *own = NULL;
  lsp_attack_result res;
  memset(&res, 0, sizeof res);
  lsp_api_doc d = {0};
  if ((st = lsp_api_f32("x", x, &xf, &own)) ||
      (st = check_bounds(xf, x->rows, x->cols, ao.lo, ao.hi)))
    goto done;
  if ((st = lsp_attack_run(m, NULL, xf, y, x->rows, x->cols, eps, neps, &ao,
                           &res)))
    goto done;
  if ((st = lsp_api_doc_open(&d))) goto done;
  lsp_attack_result_json(&d.j, &res, 0);
  st = lsp_api_doc_close(&d, out);
done:
  lsp_api_doc_abort(&d);
  lsp_attack_result_free(&res);
  free(own);
  return st;
}

int lsp_attack_fgsm(lsp_model *m, const lsp_matrix *x, const int32_t *y,
                    const double *eps, size_t neps, const lsp_opts *o,
                    float *x_adv, lsp_result **out) {
  return attack("fgsm", LSP_ATTACK_FGSM, m, x, y, eps, neps, o, x_adv, out);
}

int lsp_attack_pgd(lsp_model *m, const lsp_matrix *x, const int32_t *y,
                   const double *eps, size_t neps, const lsp_opts *o,
                   float *x_adv, lsp_result **out) {
  return attack("pgd", LSP_ATTACK_PGD, m, x, y, eps, neps, o, x_adv, out);
}
