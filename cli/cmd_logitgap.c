/* lsprobe logitgap — the logit gap and predictive entropy of saved logits,
 * against the optimal gap of a label-smoothing setting. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis/lsp_logitgeom.h"
#include "cli/cli.h"
#include "core/base/lsp_error.h"
#include "core/formats/lsp_json.h"
#include "core/formats/lsp_arraycheck.h"
#include "core/formats/lsp_npy.h"

/* x with 4 decimals, or in %g form past 1e9 (float64 logits may reach
 * 1e308, hundreds of digits in fixed form). */
static const char *num(char buf[32], double x) {
  snprintf(buf, 32, fabs(x) < 1e9 ? "%.4f" : "%.6g", x);
  return buf;
}

static void print_summary(const char *name, const lsp_dist_summary *s) {
  char b[8][32];
  printf("  %-9s mean %s  median %s  [q05 %s, q25 %s, q75 %s, q95 %s]  min %s  max %s\n",
         name, num(b[0], s->mean), num(b[1], s->median), num(b[2], s->q05),
         num(b[3], s->q25), num(b[4], s->q75), num(b[5], s->q95), num(b[6], s->min),
         num(b[7], s->max));
}

int cmd_logitgap(int argc, char **argv) {
  const char *cmd = "logitgap";
  cli_opt opts[] = {
      {"logits", "L.npy", "N×K logits (float32/float64), required", 1, 0, 0},
      {"labels", "y.npy", "N integer labels in [0, K), required", 1, 0, 0},
      {"smoothing", "E",
       "the model's label smoothing eps in [0, 1] (gives the "
       "optimal gap)",
       1, 0, 0},
      {"convention", "C", "uniform (PyTorch; default) or t2t", 1, 0, 0},
      {"json", NULL, "print one JSON object instead of text", 0, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc =
      cli_parse(cmd, "--logits L.npy --labels y.npy [options]",
                "Distribution of the logit gap z_y - mean_{j!=y} z_j and of "
                "the predictive entropy,\nagainst the gap at which the "
                "label-smoothed loss is minimal.",
                argc, argv, opts);
  if (rc) return rc;
  static const char *const ins[] = {"logits", "labels", NULL};
  if ((rc = cli_require(cmd, opts, "logits")) ||
      (rc = cli_require(cmd, opts, "labels")) || (rc = cli_stdin_once(cmd, opts, ins)))
    return rc;
  lsp_ls ls = {0.0, LSP_LS_UNIFORM, 0};
  int has_ls = cli_has(opts, "smoothing");
  if ((rc = cli_get_double(cmd, opts, "smoothing", 0.0, 0.0, 1.0, &ls.eps)))
    return rc;
  if (lsp_ls_convention_parse(cli_str(opts, "convention", "uniform"),
                              &ls.convention) != LSP_OK)
    return cli_error(cmd, CLI_USAGE, "--convention: %s", lsp_errmsg());
  if (cli_has(opts, "convention") && !has_ls)
    return cli_error(cmd, CLI_USAGE, "--convention needs --smoothing");

  const char *lpath = cli_str(opts, "logits", NULL);
  const char *ypath = cli_str(opts, "labels", NULL);
  lsp_array la = {0}, ya = {0};
  const float *z = NULL;
  float *zown = NULL;
  int32_t *y = NULL;
  size_t n = 0, k = 0;
  lsp_logitgap g;
  /* float64 logits are used as stored (no float32 view, whose range would
   * refuse values above 3.4e38); other types through their float32 view */
  int st = lsp_npy_read(lpath, &la);
  if (st) goto fail;
  if (la.dtype == LSP_DT_F64 && la.ndim == 2 && la.shape[0] > 0 &&
      la.shape[1] > 0) {
    n = la.shape[0];
    k = la.shape[1];
  } else if ((st = lsp_array_matrix(lpath, &la, &z, &zown, &n, &k))) {
    goto fail;
  }
  if ((st = lsp_array_not_probs(&la, lpath,
                                "pass the logits (or log-probabilities, np.log(P): the same gap and entropy)")))
    goto fail;
  if (k < 2) {
    st = lsp_fail(LSP_EDATA, "%s: need at least 2 classes (K = %zu)", lpath, k);
    goto fail;
  }
  if ((st = lsp_npy_read(ypath, &ya))) goto fail;
  if ((st = lsp_array_labels(&ya, ypath, (int)k, &y))) goto fail;
  if (ya.count != n) {
    st = lsp_fail(LSP_EDATA, "%s has %zu labels but %s has %zu rows", ypath,
                  ya.count, lpath, n);
    goto fail;
  }
  /* float64 logits as stored; others through their float32 view */
  st = la.dtype == LSP_DT_F64
           ? lsp_logitgap_compute_f64(la.data, y, n, k, has_ls ? &ls : NULL, &g, NULL, NULL)
           : lsp_logitgap_compute(z, y, n, k, has_ls ? &ls : NULL, &g, NULL, NULL);
  if (st) {
    st = lsp_fail_prefix(st, lpath);
    goto fail;
  }
  if (cli_has(opts, "json")) {
    lsp_json j;
    lsp_json_init(&j, stdout, 1);
    lsp_json_obj_begin(&j);
    lsp_json_key_str(&j, "logits", lpath);
    lsp_logitgap_json(&g, &j);
    lsp_json_obj_end(&j);
    lsp_json_finish(&j);
  } else {
    printf("logit gap of N=%zu rows, K=%zu\n", n, k);
    print_summary("gap", &g.gap);
    if (has_ls) {
      if (lsp_logitgap_no_optimum(&g))
        printf("  optimal   none (%s)\n", lsp_logitgap_no_optimum(&g));
      else
        printf("  optimal   %.4f (eps %g, %s); %.1f%% of examples above it\n",
               g.optimal_gap, ls.eps, lsp_ls_convention_name(ls.convention),
               100.0 * g.share_above_optimal);
    }
    print_summary("entropy", &g.entropy);
    printf("  (entropy in nats; uniform prediction log K = %.4f)\n",
           g.entropy_max);
  }
  rc = 0;
  goto done;
fail:
  rc = cli_lib_error(cmd, st);
done:
  free(y);
  free(zown);
  lsp_array_release(&la);
  lsp_array_release(&ya);
  return rc;
}
