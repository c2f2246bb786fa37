/* lsprobe train — train a network (an MLP, LeNet-5, ResNet-8 or a spec)
 * with label smoothing and save it as .lspm. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_train.h"
#include "core/data/lsp_data.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"
#include "core/base/lsp_io.h"
#include "core/nn/lsp_model.h"
#include "core/base/lsp_threads.h"
#include "core/train/lsp_train.h"

typedef struct {
  int tty;       /* stderr is a terminal: one updating line          */
  int quiet;     /* no progress at all                               */
  int open_line; /* an updating line is on screen, not yet ended     */
  double last;   /* when the updating line was last redrawn          */
} progress_state;

static void fmt_eta(double s, char *buf, size_t len) {
  if (!(s >= 0) || !isfinite(s)) s = 0;
  long t = (long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60)
    snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
  else
    snprintf(buf, len, "%lds", t);
}

static void on_progress(const lsp_train_progress *p, void *user) {
  progress_state *ps = user;
  if (ps->quiet) return;
  char eta[32];
  fmt_eta(p->eta_s, eta, sizeof eta);
  if (p->end_of_epoch) {
    fprintf(
        stderr,
        "%sepoch %zu/%zu  loss %.4f  acc %.4f  val_loss %.4f  val_nll %.4f  val_acc %.4f  "
        "%.0f samples/s  ETA %s%s\n",
        ps->tty ? "\r" : "", p->epoch, p->epochs, p->loss, p->accuracy,
        p->val_loss, p->val_nll, p->val_accuracy, p->samples_per_s, eta,
        ps->tty ? "        " : "");
    ps->open_line = 0;
    ps->last = lsp_now_s();
    return;
  }
  double t = lsp_now_s();
  if (!ps->tty) { /* plain lines: one per epoch, and one a minute within a long one */
    if (ps->last == 0.0) ps->last = t;
    if (t - ps->last < 60.0) return;
    ps->last = t;
    fprintf(stderr, "epoch %zu/%zu  batch %zu/%zu  loss %.4f  acc %.4f  %.0f samples/s  ETA %s\n",
            p->epoch, p->epochs, p->batch, p->batches, p->loss, p->accuracy, p->samples_per_s,
            eta);
    return;
  }
  if (t - ps->last < 0.1 && p->batch != p->batches) return;
  ps->last = t;
  fprintf(
      stderr,
      "\repoch %zu/%zu  batch %zu/%zu  loss %.4f  acc %.4f  %.0f samples/s  "
      "ETA %s   ",
      p->epoch, p->epochs, p->batch, p->batches, p->loss, p->accuracy,
      p->samples_per_s, eta);
  fflush(stderr);
  ps->open_line = 1;
}

int cmd_train(int argc, char **argv) {
  const char *cmd = "train";
  cli_opt opts[] = {
      {"data", "D",
       "fashion-mnist, synthetic[:key=v,...] or a folder (IDX, CSV or .npy); "
       "required",
       1, 0, 0},
      {"smoothing", "E",
       "label smoothing eps in [0, 1] (required; 0 = plain cross-entropy)", 1,
       0, 0},
      {"arch", "A", CLI_ARCH_HELP, 1, 0, 0},
      {"hidden", "H,H", "MLP hidden widths: the same as --arch mlp:H,H", 1, 0, 0},
      {"normalize", "M,S", CLI_NORMALIZE_HELP, 1, 0, 0},
      CLI_TRAIN_OPTIONS,
      {"out", "M.lspm", "the trained model (required; written only on success)",
       1, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc = cli_parse(
      cmd, "--data D --smoothing E --out M.lspm [options]",
      "Train a network (the MLP 784-256-256-10 unless --arch says otherwise: "
      "--arch lenet,\nresnet8 or a layer spec) with label-smoothed "
      "cross-entropy and mini-batch SGD\nwith momentum "
      "(torch.optim.SGD semantics),\nvalidating after every epoch. Progress "
      "goes to stderr: one updating line on a\nterminal, one line per epoch "
      "otherwise (val_loss: the label-smoothed loss on the\nvalidation split, "
      "the objective at this smoothing; val_nll: its plain NLL, comparable\n"
      "across smoothings; samples/s: training examples per second, validation "
      "excluded).\nThe same seed and settings give a byte-identical model file "
      "for any thread count.\nA run whose loss exceeds 1000 log K (K classes) "
      "stops as diverged (exit 1).",
      argc, argv, opts);
  if (rc) return rc;
  if ((rc = cli_require(cmd, opts, "data")) ||
      (rc = cli_require(cmd, opts, "smoothing")) ||
      (rc = cli_require(cmd, opts, "out")))
    return rc;
  static const char *const ins[] = {"data", NULL};
  if ((rc = cli_check_out_file(cmd, opts, "out", ins))) return rc;
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  lsp_data_opts dopt;
  lsp_data_opts_default(&dopt);
  dopt.spec = cli_str(opts, "data", NULL);
  char *spec = NULL;
  float *norm = NULL;
  size_t nnorm = 0;
  if ((rc = cli_train_get(cmd, opts, &o, &dopt)) ||
      (rc = cli_arch_get(cmd, opts, "mlp:256,256", &spec, &norm, &nnorm)))
    return rc;
  const char *out = cli_str(opts, "out", NULL);

  lsp_splits data = {0};
  lsp_model *m = NULL;
  progress_state ps = {isatty(STDERR_FILENO), cli_has(opts, "quiet"), 0, 0.0};
  lsp_train_log log = {0};
  int st;
  if ((st = lsp_data_load(&dopt, &data))) goto fail;
  if (!ps.quiet) cli_note(cmd, data.note);
  lsp_shape in;
  lsp_splits_shape(&data, &in.c, &in.h, &in.w);
  if ((st = lsp_model_from_spec(spec, in, (size_t)data.train.k, norm, nnorm, &m)))
    goto fail;
  cli_smoothing_warn(cmd, &o.smoothing, (size_t)data.train.k);
  cli_interrupt_install();
  if ((st = lsp_train(m, &data, &o, on_progress, &ps, &log))) goto fail;
  /* an interruption after the training's last check: no model is written */
  if (lsp_interrupted() && (st = lsp_fail(LSP_EINTR, "interrupted; %s not written", out)))
    goto fail;
  if ((st = lsp_model_save(m, out))) goto fail;
  char arch[256];
  lsp_model_describe(m, arch, sizeof arch);
  printf(
      "trained %s on %s (%zu examples, smoothing %g %s) in %.1f s, "
      "%.0f samples/s: val accuracy %.4f; wrote %s\n",
      arch, data.name, data.train.n, o.smoothing.eps,
      lsp_ls_convention_name(o.smoothing.convention), log.seconds,
      log.samples_per_s, m->meta.val_accuracy, out);
  rc = CLI_OK;
  goto done;
fail:
  if (ps.open_line) fputc('\n', stderr);
  rc = cli_lib_error(cmd, st);
done:
  lsp_train_log_free(&log);
  lsp_model_free(m);
  lsp_splits_free(&data);
  free(spec);
  free(norm);
  return rc;
}
