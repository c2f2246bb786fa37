/* lsprobe loss — the loss of saved logits: label-smoothed cross-entropy,
 * cross-entropy against soft targets, or the distillation loss. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/formats/lsp_arraycheck.h"
#include "core/formats/lsp_json.h"
#include "core/formats/lsp_npy.h"
#include "core/loss/lsp_loss.h"
#include "core/loss/lsp_soft.h"

typedef enum { MODE_SMOOTHED, MODE_SOFT, MODE_DISTILL } loss_mode;

/* A loss for the text output: six decimals as long as that stays short,
 * six significant digits beyond 10^6 (a KL of 1e30 is not 31 digits). */
static const char *fmt6(double v, char buf[32]) {
  snprintf(buf, 32, fabs(v) < 1e6 ? "%.6f" : "%.6g", v);
  return buf;
}

/* Options that make no sense together are usage errors, not silently
 * ignored settings. */
static int check_mode(const char *cmd, cli_opt *opts, loss_mode *mode) {
  int soft = cli_has(opts, "soft-targets"), dist = cli_has(opts, "teacher-logits");
  if (soft && dist)
    return cli_error(cmd, CLI_USAGE, "--soft-targets and --teacher-logits exclude each other");
  *mode = soft ? MODE_SOFT : dist ? MODE_DISTILL : MODE_SMOOTHED;
  static const char *const soft_no[] = {"labels", "smoothing", "convention", "normalize",
                                        "temperature", "alpha"};
  if (soft)
    for (size_t i = 0; i < sizeof soft_no / sizeof *soft_no; i++)
      if (cli_has(opts, soft_no[i]))
        return cli_error(cmd, CLI_USAGE, "--%s does not apply to --soft-targets (the targets "
                         "are the whole of q)", soft_no[i]);
  if (*mode == MODE_SMOOTHED)
    for (int i = 0; i < 2; i++) {
      const char *o = i ? "alpha" : "temperature";
      if (cli_has(opts, o))
        return cli_error(cmd, CLI_USAGE, "--%s needs --teacher-logits", o);
    }
  if (*mode == MODE_DISTILL) {
    int rc;
    if ((rc = cli_require(cmd, opts, "temperature")) || (rc = cli_require(cmd, opts, "alpha")))
      return rc;
  }
  if (*mode != MODE_SOFT) return cli_require(cmd, opts, "labels");
  return CLI_OK;
}

/* A second N×K float matrix (targets or teacher logits) beside the logits. */
static int read_same_shape(const char *path, const char *lpath, size_t n, size_t k,
                           lsp_array *arr, const float **view, float **own) {
  size_t n2 = 0, k2 = 0;
  int st = lsp_npy_read_matrix(path, arr, view, own, &n2, &k2);
  if (st) return st;
  if (n2 != n || k2 != k)
    return lsp_fail(LSP_EDATA, "%s is %zu×%zu but %s is %zu×%zu", path, n2, k2, lpath, n, k);
  return LSP_OK;
}

/* The kernels take float32 logits, so float64 ones are rounded first. The
 * loss depends only on differences within a row, and a row's rounding
 * errors δ_j = z32_j − z64_j change those differences by at most
 * max δ − min δ, and the loss by no more; warn when that exceeds 1e-5
 * (possible only for |z| ≥ 128). */
static void warn_rounding(const char *cmd, const char *opt, const lsp_array *a,
                          const float *z32, size_t n, size_t k, const char *path) {
  if (a->dtype != LSP_DT_F64) return;
  const double *z64 = a->data;
  double worst = 0.0;
  size_t row = 0;
  for (size_t r = 0; r < n; r++) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; j < k; j++) {
      const double d = (double)z32[r * k + j] - z64[r * k + j];
      lo = d < lo ? d : lo;
      hi = d > hi ? d : hi;
    }
    if (hi - lo > worst) worst = hi - lo, row = r;
  }
  if (worst > 1e-5)
    cli_warn(cmd, "--%s %s: float64 values are rounded to float32 for the loss, which moves the "
                  "differences between row %zu's values by up to %.2g, so the loss and "
                  "gradient may differ from float64 arithmetic by about that much (subtract "
                  "each row's max before saving to keep the precision)",
             opt, path, row, worst);
}

/* The --json object, through the writer every command's JSON goes through
 * (strings escaped, numbers in the shortest form that reads back). */
static int print_json(cli_opt *opts, loss_mode mode, double loss, const lsp_distill *d,
                      const lsp_distill_mean *dm, size_t n, size_t k, const char *gpath) {
  const lsp_ls *ls = &d->hard;
  lsp_json j;
  lsp_json_init(&j, stdout, 1);
  lsp_json_obj_begin(&j);
  lsp_json_key_num(&j, "loss", loss);
  lsp_json_key_str(&j, "mode", mode == MODE_SOFT      ? "soft_targets"
                               : mode == MODE_DISTILL ? "distill"
                                                      : "smoothed");
  lsp_json_key_int(&j, "n", (long long)n);
  lsp_json_key_int(&j, "k", (long long)k);
  if (mode == MODE_SOFT) {
    lsp_json_key_str(&j, "soft_targets", cli_str(opts, "soft-targets", ""));
  } else {
    lsp_json_key_num(&j, "smoothing", ls->eps);
    lsp_json_key_str(&j, "convention", lsp_ls_convention_name(ls->convention));
    lsp_json_key_bool(&j, "normalize", ls->normalize);
    lsp_json_key_num(&j, "entropy_q", lsp_ls_entropy(ls, k));
  }
  if (mode == MODE_DISTILL) {
    lsp_json_key_num(&j, "temperature", d->temperature);
    lsp_json_key_num(&j, "alpha", d->alpha);
    lsp_json_key_num(&j, "ce", dm->ce);
    lsp_json_key_num(&j, "kl", dm->kl);
  }
  if (gpath) lsp_json_key_str(&j, "grad_out", gpath);
  lsp_json_obj_end(&j);
  return lsp_json_finish(&j) ? lsp_fail(LSP_EIO, "cannot write the JSON output") : LSP_OK;
}

int cmd_loss(int argc, char **argv) {
  const char *cmd = "loss";
  cli_opt opts[] = {
      {"logits", "L.npy", "N×K logits (float32; float64 is rounded to float32, with a warning where that moves the loss), required", 1, 0, 0},
      {"labels", "y.npy", "N integer labels in [0, K) (required unless --soft-targets)", 1, 0, 0},
      {"smoothing", "E", "label smoothing eps in [0, 1] (default 0)", 1, 0, 0},
      {"convention", "C", "uniform (PyTorch; default) or t2t", 1, 0, 0},
      {"normalize", NULL, "subtract H(q) so that the minimum loss is 0", 0, 0, 0},
      {"soft-targets", "Q.npy", "cross-entropy against N×K target distributions (rows sum to 1)", 1, 0, 0},
      {"teacher-logits", "Z.npy", "distillation loss against a teacher's N×K logits", 1, 0, 0},
      {"temperature", "T", "distillation temperature T > 0 (with --teacher-logits)", 1, 0, 0},
      {"alpha", "A", "weight of the teacher term in [0, 1] (with --teacher-logits)", 1, 0, 0},
      {"grad-out", "G.npy", "write the gradient of the mean loss (N×K float32)", 1, 0, 0},
      {"threads", "T", "threads (default and 0: all cores)", 1, 0, 0},
      {"json", NULL, "print one JSON object instead of a line of text", 0, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc = cli_parse(
      cmd, "--logits L.npy (--labels y.npy | --soft-targets Q.npy) [options]",
      "Mean loss of saved logits, optionally with its gradient (of the mean):\n"
      "  --labels y.npy [--smoothing E]\n"
      "      label-smoothed cross-entropy, gradient (p - q)/N, as PyTorch's\n"
      "      F.cross_entropy(logits, labels, label_smoothing=E);\n"
      "  --soft-targets Q.npy\n"
      "      cross-entropy against target distributions, F.cross_entropy(logits, Q);\n"
      "  --teacher-logits Z.npy --temperature T --alpha A --labels y.npy [--smoothing E]\n"
      "      Hinton's distillation loss (1-A) CE_E(y, z) + A T^2 KL(softmax(Z/T) || softmax(z/T)),\n"
      "      the KL averaged over rows (F.kl_div's reduction='batchmean').",
      argc, argv, opts);
  if (rc) return rc;
  loss_mode mode = MODE_SMOOTHED;
  if ((rc = cli_require(cmd, opts, "logits")) || (rc = check_mode(cmd, opts, &mode))) return rc;
  lsp_distill d = {0.0, 1.0, {0.0, LSP_LS_UNIFORM, cli_has(opts, "normalize")}};
  long threads;
  if ((rc = cli_get_double(cmd, opts, "smoothing", 0.0, 0.0, 1.0, &d.hard.eps)) ||
      (rc = cli_get_double(cmd, opts, "alpha", 0.0, 0.0, 1.0, &d.alpha)) ||
      (rc = cli_get_double(cmd, opts, "temperature", 1.0, 0.0, 1e6, &d.temperature)) ||
      (rc = cli_get_long(cmd, opts, "threads", 0, 0, 1024, &threads)))
    return rc;
  if (!(d.temperature > 0.0))
    return cli_error(cmd, CLI_USAGE, "--temperature: %g must be positive", d.temperature);
  if (!isfinite(1.0 / d.temperature)) /* the loss divides by T */
    return cli_error(cmd, CLI_USAGE,
                     "--temperature: %g is too small: 1/T is not finite in double "
                     "precision (T must be at least about 5.6e-309)",
                     d.temperature);
  if (lsp_ls_convention_parse(cli_str(opts, "convention", "uniform"), &d.hard.convention) != LSP_OK)
    return cli_error(cmd, CLI_USAGE, "--convention: %s", lsp_errmsg());
  static const char *const ins[] = {"logits", "labels", "soft-targets", "teacher-logits", NULL};
  if ((rc = cli_check_out_file(cmd, opts, "grad-out", ins))) return rc;
  cli_threads(threads, 0);

  const char *lpath = cli_str(opts, "logits", NULL);
  const char *ypath = cli_str(opts, "labels", NULL);
  const char *qpath = cli_str(opts, "soft-targets", NULL);
  const char *tpath = cli_str(opts, "teacher-logits", NULL);
  const char *gpath = cli_str(opts, "grad-out", NULL);
  lsp_array la = {0}, ya = {0}, oa = {0};
  const float *z = NULL, *other = NULL;
  float *zown = NULL, *oown = NULL, *grad = NULL;
  int32_t *y = NULL;
  size_t n = 0, k = 0;
  double mean = 0.0;
  lsp_distill_mean dm = {0};
  const char *logit_advice = "pass the logits (or log-probabilities, np.log(P): the same loss)";
  int st = lsp_npy_read_matrix(lpath, &la, &z, &zown, &n, &k);
  if (st) goto fail;
  if ((st = lsp_array_not_probs(&la, lpath, logit_advice))) goto fail;
  warn_rounding(cmd, "logits", &la, z, n, k, lpath);
  if (k < 2) {
    st = lsp_fail(LSP_EDATA, "%s: need at least 2 classes (K = %zu)", lpath, k);
    goto fail;
  }
  if (mode == MODE_SOFT) {
    if ((st = read_same_shape(qpath, lpath, n, k, &oa, &other, &oown)) ||
        (st = lsp_array_distributions(&oa, qpath,
                                          "soft targets are probabilities: pass logits as "
                                          "--teacher-logits, or their softmax")))
      goto fail;
  } else {
    if ((st = lsp_npy_read(ypath, &ya))) goto fail;
    if ((st = lsp_array_labels(&ya, ypath, (int)k, &y))) goto fail;
    if (ya.count != n) {
      st = lsp_fail(LSP_EDATA, "%s has %zu labels but %s has %zu rows", ypath, ya.count, lpath,
                    n);
      goto fail;
    }
    if (mode == MODE_DISTILL &&
        ((st = read_same_shape(tpath, lpath, n, k, &oa, &other, &oown)) ||
         (st = lsp_array_not_probs(&oa, tpath, "pass the teacher's logits (or log-probabilities: "
                                               "the same softmax at any T)"))))
      goto fail;
    if (mode == MODE_DISTILL) warn_rounding(cmd, "teacher-logits", &oa, other, n, k, tpath);
  }
  if (gpath && !(grad = malloc(n * k * sizeof *grad))) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for the gradient (%zu x %zu)", n, k);
    goto fail;
  }
  const double ds = 1.0 / (double)n;
  if (mode == MODE_SOFT)
    st = lsp_loss_soft_xent(z, other, n, k, grad, ds, NULL, &mean);
  else if (mode == MODE_DISTILL)
    st = lsp_loss_distill(z, other, y, n, k, &d, grad, ds, NULL, &dm), mean = dm.loss;
  else
    st = lsp_loss_xent(z, y, n, k, &d.hard, grad, ds, NULL, &mean);
  if (st) goto fail;
  if (gpath) {
    size_t shape[2] = {n, k};
    if ((st = lsp_npy_write(gpath, LSP_DT_F32, 2, shape, grad))) goto fail;
  }
  char b[3][32];
  if (cli_has(opts, "json")) {
    if ((st = print_json(opts, mode, mean, &d, &dm, n, k, gpath))) goto fail;
  } else if (mode == MODE_SOFT) {
    printf("loss %s  (mean over N=%zu rows, K=%zu, soft targets %s)\n", fmt6(mean, b[0]), n,
           k, qpath);
  } else if (mode == MODE_DISTILL) {
    printf("loss %s  (mean over N=%zu rows, K=%zu: %g x hard CE %s + %g x T^2 x KL %s; "
           "T = %g, smoothing %g, %s%s)\n",
           fmt6(mean, b[0]), n, k, 1.0 - d.alpha, fmt6(dm.ce, b[1]), d.alpha, fmt6(dm.kl, b[2]),
           d.temperature, d.hard.eps, lsp_ls_convention_name(d.hard.convention),
           d.hard.normalize ? ", normalized" : "");
  } else {
    printf("loss %s  (mean over N=%zu rows, K=%zu, smoothing %g, %s%s)\n", fmt6(mean, b[0]), n,
           k, d.hard.eps, lsp_ls_convention_name(d.hard.convention),
           d.hard.normalize ? ", normalized" : "");
  }
  if (gpath && !cli_has(opts, "json")) printf("gradient of the mean loss written to %s\n", gpath);
  rc = 0;
  goto done;
fail:
  rc = cli_lib_error(cmd, st);
done:
  free(grad);
  free(y);
  free(zown);
  free(oown);
  lsp_array_release(&la);
  lsp_array_release(&ya);
  lsp_array_release(&oa);
  return rc;
}
