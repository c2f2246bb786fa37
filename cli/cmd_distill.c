/* lsprobe distill — train a student from a teacher's logits (Hinton et al.
 * 2015) and save it as .lspm. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_split.h"
#include "cli/cli_train.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "core/data/lsp_data.h"
#include "core/import/lsp_import.h"
#include "core/loss/lsp_soft.h"
#include "core/nn/lsp_model.h"
#include "core/train/lsp_train.h"

static void on_epoch(const lsp_train_progress *p, void *user) {
  if (*(const int *)user || !p->end_of_epoch) return;
  fprintf(stderr,
          "epoch %zu/%zu  loss %.4f  acc %.4f  val_loss %.4f  val_nll %.4f  val_acc %.4f  "
          "%.0f samples/s\n",
          p->epoch, p->epochs, p->loss, p->accuracy, p->val_loss, p->val_nll,
          p->val_accuracy, p->samples_per_s);
}

/* Accuracy of m on d. */
static int accuracy(const lsp_model *m, const lsp_dataset *d, double *acc) {
  *acc = NAN;
  if (d->n == 0) return LSP_OK;
  float *z = malloc(d->n * m->out_dim * sizeof *z);
  if (!z) return lsp_fail(LSP_ENOMEM, "out of memory");
  int st = lsp_model_predict(m, d->x, d->n, 1024, z, NULL);
  size_t c = 0;
  for (size_t i = 0; !st && i < d->n; i++)
    c += (int32_t)lsp_argmax_f32(z + i * m->out_dim, m->out_dim) == d->y[i];
  free(z);
  if (!st) *acc = (double)c / (double)d->n;
  return st;
}

int cmd_distill(int argc, char **argv) {
  const char *cmd = "distill";
  cli_opt opts[] = {
      {"teacher", "T",
       "the teacher: a .lspm file, an ONNX file or a PyTorch export folder (required)", 1, 0,
       0},
      {"data", "D",
       "fashion-mnist, synthetic[:key=v,...] or a folder (IDX, CSV or .npy); "
       "required",
       1, 0, 0},
      {"arch", "A", "the student network as train's --arch: mlp:W,W,..., lenet, resnet8 or a layer spec (required)", 1, 0, 0},
      {"normalize", "M,S", "the student's per-channel input normalization, as train's --normalize", 1, 0, 0},
      {"temperature", "T", "distillation temperature T > 0 (required)", 1, 0,
       0},
      {"alpha", "A",
       "weight of the teacher term in [0, 1] (required; 1 = soft targets only)",
       1, 0, 0},
      {"smoothing", "E", "label smoothing of the hard-label term (default 0)",
       1, 0, 0},
      CLI_TRAIN_OPTIONS,
      {"out", "S.lspm", "the student (required; written only on success)", 1, 0,
       0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc = cli_parse(cmd,
                     "--teacher T --data D --arch A --temperature T --alpha A "
                     "--out S.lspm [options]",
                     "Train a student from a teacher's logits (Hinton et al. "
                     "2015): the teacher scores the\n"
                     "training split once, and the student minimizes (1-A) "
                     "CE_E(y, z) + A T^2 KL(softmax(t/T)\n"
                     "|| softmax(z/T)) with the SGD settings of `lsprobe "
                     "train`. Progress goes to stderr, one\n"
                     "line per epoch.",
                     argc, argv, opts);
  if (rc) return rc;
  static const char *const req[] = {"teacher",     "data",  "arch",
                                    "temperature", "alpha", "out"};
  for (size_t i = 0; i < sizeof req / sizeof *req; i++)
    if ((rc = cli_require(cmd, opts, req[i]))) return rc;
  static const char *const ins[] = {"teacher", "data", NULL};
  if ((rc = cli_check_out_file(cmd, opts, "out", ins))) return rc;
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  lsp_data_opts dopt;
  lsp_data_opts_default(&dopt);
  dopt.spec = cli_str(opts, "data", NULL);
  if ((rc = cli_get_double(cmd, opts, "temperature", 1.0, 0.0, 1e6,
                           &o.temperature)) ||
      (rc = cli_get_double(cmd, opts, "alpha", 0.0, 0.0, 1.0, &o.alpha)) ||
      (rc = cli_train_get(cmd, opts, &o, &dopt)))
    return rc;
  if (!(o.temperature > 0.0))
    return cli_error(cmd, CLI_USAGE, "--temperature: %g must be positive",
                     o.temperature);
  if (!isfinite(1.0 / o.temperature)) /* the loss divides by T */
    return cli_error(cmd, CLI_USAGE,
                     "--temperature: %g is too small: 1/T is not finite in double "
                     "precision (T must be at least about 5.6e-309)",
                     o.temperature);
  const char *tpath = cli_str(opts, "teacher", NULL),
             *out = cli_str(opts, "out", NULL);
  int quiet = cli_has(opts, "quiet");
  char *spec = NULL;
  float *norm = NULL;
  size_t nnorm = 0;
  if ((rc = cli_arch_get(cmd, opts, "", &spec, &norm, &nnorm))) return rc;

  lsp_splits data = {0};
  lsp_model *teacher = NULL, *m = NULL;
  float *tz = NULL;
  lsp_train_log log = {0};
  int st;
  if ((st = cli_model_load(cmd, tpath, &teacher))) goto fail;
  /* The student is validated (and the teacher's accuracy quoted) on the
   * examples the teacher was trained without: the split its record names,
   * as eval does, checked by its hash; other data keeps the split asked for
   * (a teacher for other data is then refused on its shape). */
  const lsp_model_meta *mt = &teacher->meta;
  char who[1100];
  snprintf(who, sizeof who, "the teacher %s", tpath);
  int other;
  if ((st = cli_data_for_model(who, mt, &dopt, cli_has(opts, "val"), &data, &other)))
    goto fail;
  char tarch[256], sarch[256];
  lsp_model_describe(teacher, tarch, sizeof tarch);
  lsp_shape in;
  lsp_splits_shape(&data, &in.c, &in.h, &in.w);
  const lsp_shape *ts = &teacher->in_shape;
  if (teacher->in_dim != data.train.dim ||
      (ts->h * ts->w > 1 && (ts->c != in.c || ts->h != in.h || ts->w != in.w))) {
    st = lsp_fail(LSP_EDATA,
                  "%s: the teacher (%s) takes inputs of %zu×%zu×%zu but the data "
                  "(%s) has %zu×%zu×%zu",
                  tpath, tarch, ts->c, ts->h, ts->w, data.name, in.c, in.h, in.w);
    goto fail;
  }
  if (teacher->out_dim != (size_t)data.train.k) {
    st = lsp_fail(
        LSP_EDATA,
        "%s: the teacher (%s) has %zu classes but the data (%s) has %d", tpath,
        tarch, teacher->out_dim, data.name, data.train.k);
    goto fail;
  }
  if (!quiet) cli_note(cmd, data.note);
  if (other)
    cli_warn(cmd,
             "%s is not the data the teacher %s was trained on (%s; the validation split "
             "differs): the student's validation examples may include the teacher's "
             "training examples",
             data.name, tpath, mt->data);
  if (!(mt->trained && mt->val_hash != 0))
    cli_warn(cmd,
             "the teacher %s records no training split (%s): the validation split is "
             "lsprobe's own (seed %lu, %zu examples); if the teacher was trained on "
             "them, its validation accuracy is optimistic and the student is validated "
             "on examples the teacher has seen",
             tpath, mt->trained ? "written by an older lsprobe" : "imported or untrained",
             dopt.seed, data.val.n);
  const size_t n = data.train.n, k = (size_t)data.train.k;
  cli_smoothing_warn(cmd, &o.smoothing, k);
  /* the teacher's logits of the training split, once */
  if (!(tz = malloc(n * k * sizeof *tz))) {
    st = lsp_fail(LSP_ENOMEM,
                  "out of memory for the teacher's logits (%zu × %zu)", n, k);
    goto fail;
  }
  cli_interrupt_install();
  if ((st = lsp_model_predict(teacher, data.train.x, n, 1024, tz, NULL)))
    goto fail;
  for (size_t i = 0; i < n * k; i++)
    if (!isfinite(tz[i])) {
      st = lsp_fail(
          LSP_EDATA,
          "%s: the teacher's logit of training example %zu, class %zu is "
          "not finite (%g)",
          tpath, i / k, i % k, (double)tz[i]);
      goto fail;
    }
  double tacc;
  if ((st = accuracy(teacher, &data.val, &tacc))) goto fail;
  o.teacher = tz;
  if ((st = lsp_model_from_spec(spec, in, k, norm, nnorm, &m))) {
    st = lsp_fail_prefix(st, "--arch");
    goto fail;
  }
  lsp_model_describe(m, sarch, sizeof sarch);
  if (!quiet)
    fprintf(stderr,
            "distilling %s from %s (%s, validation accuracy %.4f) at T = %g, "
            "alpha = %g\n",
            sarch, tpath, tarch, tacc, o.temperature, o.alpha);
  if ((st = lsp_train(m, &data, &o, on_epoch, &quiet, &log))) goto fail;
  /* an interruption after the training's last check: no model is written */
  if (lsp_interrupted() && (st = lsp_fail(LSP_EINTR, "interrupted; %s not written", out)))
    goto fail;
  if ((st = lsp_model_save(m, out))) goto fail;
  printf(
      "distilled %s from %s on %s (%zu examples; T = %g, alpha = %g, smoothing "
      "%g %s) in "
      "%.1f s: val accuracy %.4f (teacher %.4f); wrote %s\n",
      sarch, tpath, data.name, n, o.temperature, o.alpha, o.smoothing.eps,
      lsp_ls_convention_name(o.smoothing.convention), log.seconds,
      m->meta.val_accuracy, tacc, out);
  rc = CLI_OK;
  goto done;
fail:
  rc = cli_lib_error(cmd, st);
done:
  lsp_train_log_free(&log);
  lsp_model_free(m);
  lsp_model_free(teacher);
  free(tz);
  lsp_splits_free(&data);
  free(spec);
  free(norm);
  return rc;
}
