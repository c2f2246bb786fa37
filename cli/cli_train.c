/* cli_train.c — the training options of train and distill (cli_train.h). */
#include "cli/cli_train.h"

#include "core/base/lsp_error.h"
#include "core/loss/lsp_loss.h"

int cli_train_get(const char *cmd, cli_opt *opts, lsp_train_opts *o,
                  lsp_data_opts *dopt) {
  long epochs, batch, seed, threads, val, max_train;
  int rc;
  if ((rc = cli_get_double(cmd, opts, "smoothing", 0.0, 0.0, 1.0,
                           &o->smoothing.eps)) ||
      (rc = cli_get_long(cmd, opts, "epochs", 15, 1, 100000, &epochs)) ||
      (rc = cli_get_long(cmd, opts, "batch", 128, 1, 1L << 20, &batch)) ||
      (rc = cli_get_double(cmd, opts, "lr", 0.1, 1e-12, 1e6, &o->lr)) ||
      (rc = cli_get_double(cmd, opts, "momentum", 0.9, 0.0, 0.999999,
                           &o->momentum)) ||
      (rc = cli_get_double(cmd, opts, "weight-decay", 0.0, 0.0, 1e3,
                           &o->weight_decay)) ||
      (rc = cli_get_long(cmd, opts, "seed", 1, 0, 4294967295L, &seed)) ||
      (rc = cli_get_long(cmd, opts, "threads", 0, 0, 1024, &threads)) ||
      (rc = cli_get_long(cmd, opts, "val", -1, 0, 1L << 40, &val)) ||
      (rc = cli_get_long(cmd, opts, "max-train", 0, 1, 1L << 40, &max_train)))
    return rc;
  if (lsp_ls_convention_parse(cli_str(opts, "convention", "uniform"),
                              &o->smoothing.convention) != LSP_OK)
    return cli_error(cmd, CLI_USAGE, "--convention: %s", lsp_errmsg());
  if (cli_has(opts, "adam") && cli_has(opts, "momentum"))
    return cli_error(cmd, CLI_USAGE,
                     "--momentum is SGD's: Adam (--adam) takes none (its betas are "
                     "0.9/0.999)");
  o->epochs = (size_t)epochs;
  o->batch = (size_t)batch;
  o->seed = (unsigned long)seed;
  o->cosine = cli_has(opts, "cosine");
  o->adam = cli_has(opts, "adam");
  if (val >= 0) dopt->n_val = (size_t)val;
  dopt->max_train = (size_t)max_train;
  cli_threads(threads, 1);
  return 0;
}

void cli_smoothing_warn(const char *cmd, const lsp_ls *s, size_t k) {
  if (s->convention != LSP_LS_T2T || k < 2 || !(s->eps > (double)(k - 1) / k))
    return;
  cli_warn(cmd,
           "--smoothing %g with --convention t2t on %zu classes puts %g on the "
           "label and %g on each other class: the target prefers every wrong "
           "class (t2t keeps the label first for smoothing up to (K-1)/K = %g)",
           s->eps, k, 1.0 - s->eps, s->eps / (double)(k - 1),
           (double)(k - 1) / k);
}
