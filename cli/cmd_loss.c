/* lsprobe loss — the label-smoothed cross-entropy of saved logits. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/base/lsp_error.h"
#include "core/loss/lsp_loss.h"
#include "core/formats/lsp_arraycheck.h"
#include "core/formats/lsp_npy.h"
#include "core/base/lsp_threads.h"

int cmd_loss(int argc, char **argv) {
  const char *cmd = "loss";
  cli_opt opts[] = {
      {"logits", "L.npy", "N×K logits (float32/float64), required", 1, 0, 0},
      {"labels", "y.npy", "N integer labels in [0, K), required", 1, 0, 0},
      {"smoothing", "E", "label smoothing eps in [0, 1] (default 0)", 1, 0, 0},
      {"convention", "C", "uniform (PyTorch; default) or t2t", 1, 0, 0},
      {"normalize", NULL, "subtract H(q) so that the minimum loss is 0", 0, 0, 0},
      {"grad-out", "G.npy", "write the gradient of the mean loss (N×K float32)", 1, 0, 0},
      {"threads", "T", "threads (default: all cores)", 1, 0, 0},
      {"json", NULL, "print one JSON object instead of a line of text", 0, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc = cli_parse(cmd, "--logits L.npy --labels y.npy [options]",
                     "Mean label-smoothed cross-entropy of saved logits, "
                     "optionally with its gradient\n(p - q)/N, as PyTorch's "
                     "F.cross_entropy(logits, labels, label_smoothing=E).",
                     argc, argv, opts);
  if (rc) return rc;
  if ((rc = cli_require(cmd, opts, "logits")) || (rc = cli_require(cmd, opts, "labels")))
    return rc;
  lsp_ls ls = {0.0, LSP_LS_UNIFORM, cli_has(opts, "normalize")};
  long threads;
  if ((rc = cli_get_double(cmd, opts, "smoothing", 0.0, 0.0, 1.0, &ls.eps)) ||
      (rc = cli_get_long(cmd, opts, "threads", 0, 0, 1024, &threads)))
    return rc;
  if (lsp_ls_convention_parse(cli_str(opts, "convention", "uniform"),
                              &ls.convention) != LSP_OK)
    return cli_error(cmd, CLI_USAGE, "--convention: %s", lsp_errmsg());
  cli_threads(threads, 0);

  const char *lpath = cli_str(opts, "logits", NULL);
  const char *ypath = cli_str(opts, "labels", NULL);
  const char *gpath = cli_str(opts, "grad-out", NULL);
  lsp_array la = {0}, ya = {0};
  const float *z = NULL;
  float *zown = NULL, *grad = NULL;
  int32_t *y = NULL;
  size_t n = 0, k = 0;
  double mean = 0.0;
  int st = lsp_npy_read_matrix(lpath, &la, &z, &zown, &n, &k);
  if (st) goto fail;
  if ((st = lsp_array_not_probs(&la, lpath, "pass the logits (or log-probabilities, np.log(P): the same loss)"))) goto fail;
  if ((st = lsp_npy_read(ypath, &ya))) goto fail;
  if (k < 2) {
    st = lsp_fail(LSP_EDATA, "%s: need at least 2 classes (K = %zu)", lpath, k);
    goto fail;
  }
  if ((st = lsp_array_labels(&ya, ypath, (int)k, &y))) goto fail;
  if (ya.count != n) {
    st = lsp_fail(LSP_EDATA, "%s has %zu labels but %s has %zu rows", ypath,
                  ya.count, lpath, n);
    goto fail;
  }
  if (gpath && !(grad = malloc(n * k * sizeof *grad))) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for the gradient (%zu x %zu)", n, k);
    goto fail;
  }
  if ((st = lsp_loss_xent(z, y, n, k, &ls, grad, 1.0 / (double)n, NULL, &mean)))
    goto fail;
  if (gpath) {
    size_t shape[2] = {n, k};
    if ((st = lsp_npy_write(gpath, LSP_DT_F32, 2, shape, grad))) goto fail;
  }
  if (cli_has(opts, "json")) {
    char buf[64];
    cli_json_number(mean, buf, sizeof buf);
    printf("{\"loss\": %s, \"smoothing\": %.17g, \"convention\": \"%s\", "
           "\"normalize\": %s, \"n\": %zu, \"k\": %zu, \"entropy_q\": %.17g",
           buf, ls.eps, lsp_ls_convention_name(ls.convention),
           ls.normalize ? "true" : "false", n, k, lsp_ls_entropy(&ls, k));
    if (gpath) printf(", \"grad_out\": \"%s\"", gpath);
    printf("}\n");
  } else {
    printf("loss %.6f  (mean over N=%zu rows, K=%zu, smoothing %g, %s%s)\n",
           mean, n, k, ls.eps, lsp_ls_convention_name(ls.convention),
           ls.normalize ? ", normalized" : "");
    if (gpath) printf("gradient of the mean loss written to %s\n", gpath);
  }
  rc = 0;
  goto done;
fail:
  rc = cli_lib_error(cmd, st);
done:
  free(grad);
  free(y);
  free(zown);
  lsp_array_release(&la);
  lsp_array_release(&ya);
  return rc;
}
