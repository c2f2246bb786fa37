/* lsp_cell_model.c — a cell's model: train it, or reuse the cached one
 * (OUT/models, lsp_cache.h), with its training curves beside it. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"
#include "reports/lsp_cache.h"
#include "reports/lsp_cell_int.h"

typedef lsp_cell_logger logger;
#define say lsp_cell_say

void lsp_cell_say(const lsp_cell_logger *lg, int level, const char *fmt, ...) {
  if (!lg || !lg->fn) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  lg->fn(level, buf, lg->user);
}

/* ---- training or reuse -------------------------------------------------------- */

typedef struct {
  const logger *lg;
  const char *label;
  double t0;
} train_ctx;

static void on_train(const lsp_train_progress *p, void *user) {
  train_ctx *c = user;
  if (p->end_of_epoch)
    say(c->lg, 0,
        "  %s: epoch %zu/%zu  train loss %.4f acc %.4f | val loss %.4f nll %.4f acc %.4f | "
        "%.0f samples/s",
        c->label, p->epoch, p->epochs, p->loss, p->accuracy, p->val_loss, p->val_nll,
        p->val_accuracy, p->samples_per_s);
  else if (p->batch % 20 == 0 || p->batch == p->batches)
    say(c->lg, 2, "  %s: epoch %zu/%zu batch %zu/%zu  loss %.4f acc %.4f  %.0f samples/s  ETA %.0f s",
        c->label, p->epoch, p->epochs, p->batch, p->batches, p->loss, p->accuracy,
        p->samples_per_s, p->eta_s);
}

/* Training curves beside a cached model: "<model>.curves.csv" with
 * epoch,train_loss,train_acc,val_loss,val_acc,seconds,samples_per_s,val_nll
 * — so a rerun that reuses the model can still draw them. val_nll came
 * last and later: a file without it still reads (val_nll NaN). */
static int write_curves(const char *model_path, const lsp_train_log *log) {
  char *path = lsp_strdupf("%s.curves.csv", model_path);
  if (!path) return lsp_fail(LSP_ENOMEM, "out of memory");
  lsp_outfile o;
  int st = lsp_out_open(&o, path);
  free(path);
  if (st) return st;
  fprintf(o.fp, "epoch,train_loss,train_acc,val_loss,val_acc,seconds,samples_per_s,val_nll\n");
  for (size_t e = 0; e < log->epochs; e++)
    fprintf(o.fp, "%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", e + 1, log->train_loss[e],
            log->train_acc[e], log->val_loss[e], log->val_acc[e], log->seconds,
            log->samples_per_s, log->val_nll ? log->val_nll[e] : NAN);
  return lsp_out_commit(&o);
}

/* Reads the curves beside a cached model into *log. 1 when they are whole:
 * the header and one line per epoch 1..epochs, in order; 0 (and *log empty)
 * otherwise — a model without them is not a finished cache entry. */
static int read_curves(const char *model_path, size_t epochs, lsp_train_log *log) {
  memset(log, 0, sizeof *log);
  char *path = lsp_strdupf("%s.curves.csv", model_path);
  FILE *f = path ? fopen(path, "r") : NULL;
  free(path);
  if (!f) return 0;
  char line[512];
  size_t n = 0;
  double sec = NAN, sps = NAN;
  int whole = epochs > 0 && fgets(line, sizeof line, f) &&
              strncmp(line, "epoch,train_loss,", 17) == 0 &&
              (log->train_loss = malloc(epochs * sizeof(double))) &&
              (log->train_acc = malloc(epochs * sizeof(double))) &&
              (log->val_loss = malloc(epochs * sizeof(double))) &&
              (log->val_acc = malloc(epochs * sizeof(double))) &&
              (log->val_nll = malloc(epochs * sizeof(double)));
  while (whole && fgets(line, sizeof line, f)) {
    size_t e;
    double a, b, c, d, v = NAN;
    int got = sscanf(line, "%zu,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &e, &a, &b, &c, &d, &sec, &sps, &v);
    if (n == epochs || got < 7 || e != n + 1) {
      whole = 0;
      break;
    }
    log->train_loss[n] = a;
    log->train_acc[n] = b;
    log->val_loss[n] = c;
    log->val_acc[n] = d;
    log->val_nll[n] = got == 8 ? v : NAN; /* curves written before val_nll */
    n++;
  }
  fclose(f);
  if (!whole || n != epochs) {
    lsp_train_log_free(log);
    memset(log, 0, sizeof *log);
    return 0;
  }
  log->epochs = n;
  log->seconds = sec;
  log->samples_per_s = sps;
  return 1;
}

/* The cached model at `path` if it is a finished entry: it passes
 * lsp_cache_lookup and its curves are whole (they are written before the
 * model, so a run killed between the two leaves no model). */
static int lookup(const char *path, const char *arch, const lsp_model_meta *want, size_t epochs,
                  lsp_model **cached, lsp_train_log *log, const char **why) {
  memset(log, 0, sizeof *log);
  int st = lsp_cache_lookup(path, arch, want, cached, why);
  if (st || !*cached) return st;
  if (!read_curves(path, epochs, log)) {
    lsp_model_free(*cached);
    *cached = NULL;
    *why = "without its training curves (.curves.csv missing or incomplete)";
  }
  return LSP_OK;
}

/* The network of --arch (and --normalize) for the data. */
int lsp_cell_build_model(const lsp_cell_ctx *c, lsp_model **m) {
  const lsp_run_opts *o = &c->opts;
  lsp_shape in;
  lsp_splits_shape(c->data, &in.c, &in.h, &in.w);
  return lsp_model_from_spec(o->arch, in, (size_t)c->data->train.k, o->normalize, o->n_normalize,
                             m);
}

/* The training options of the model of smoothing eps and seed `seed`. */
static void train_opts(const lsp_cell_ctx *s, double eps, unsigned long seed, lsp_train_opts *t) {
  const lsp_run_opts *o = &s->opts;
  lsp_train_opts_default(t);
  t->smoothing.eps = eps;
  t->smoothing.convention = o->convention;
  t->epochs = o->epochs;
  t->batch = o->batch;
  t->lr = o->lr;
  t->momentum = o->momentum;
  t->seed = seed;
}

int lsp_cell_train_bytes(const lsp_cell_ctx *c, const lsp_cell_key *k, int threads, int check,
                         double *bytes) {
  lsp_run_model rm;
  memset(&rm, 0, sizeof rm);
  lsp_cell_set_labels(c, &rm, k);
  lsp_train_opts t;
  train_opts(c, rm.eps, rm.seed, &t);
  lsp_model *m = NULL, *cached = NULL;
  int st = lsp_cell_build_model(c, &m);
  if (st) return st;
  lsp_model_meta want;
  lsp_train_record(&t, c->data, &want);
  char *path = lsp_cache_path(c->models_dir, lsp_cache_key(c->arch, &want));
  const char *why = NULL;
  lsp_train_log curves = {0};
  st = path ? lookup(path, c->arch, &want, t.epochs, &cached, &curves, &why)
            : lsp_fail(LSP_ENOMEM, "out of memory");
  lsp_train_log_free(&curves);
  *bytes = 0.0;
  if (!st && !cached) {
    *bytes = lsp_train_bytes(m, c->data, &t, threads);
    if (check && (st = lsp_train_check_memory(m, c->data, &t, threads)))
      st = lsp_fail_prefix(st, rm.label);
  }
  lsp_model_free(cached);
  lsp_model_free(m);
  free(path);
  return st;
}

int lsp_cell_get_model(const lsp_cell_ctx *s, lsp_run_model *rm, int source,
                       const logger *lg) {
  const lsp_run_opts *o = &s->opts;
  const char *models_dir = s->models_dir;
  lsp_train_opts t;
  train_opts(s, rm->eps, rm->seed, &t);
  /* the architecture and the record the model must have: the cache key and
   * what a cached file's own record is compared with */
  int st = lsp_cell_build_model(s, &rm->model);
  if (st) return st;
  lsp_model_meta want;
  lsp_train_record(&t, s->data, &want);
  uint64_t key = lsp_cache_key(s->arch, &want);
  if (!(rm->model_file = lsp_cache_path(models_dir, key)))
    return lsp_fail(LSP_ENOMEM, "out of memory");
  const char *why = NULL;
  lsp_model *cached = NULL;
  st = lookup(rm->model_file, s->arch, &want, t.epochs, &cached, &rm->log, &why);
  if (st) return st;
  if (cached) {
    lsp_model_free(rm->model);
    rm->model = cached;
    rm->cached = 1;
    snprintf(rm->cache_note, sizeof rm->cache_note, "reused %s", rm->model_file);
    rm->train_seconds = rm->log.seconds;
    if (source == 1)
      say(lg, 0, "%s: the transfer source, loaded from %s", rm->label, rm->model_file);
    else if (source == 0)
      say(lg, 0, "%s: reusing the cached model %s", rm->label, rm->model_file);
    return LSP_OK;
  }
  if (source == 2)
    return lsp_fail(LSP_EIO, "%s: the model of %s is %s in this process's view of the cache "
                             "(the cache folder must be shared by every rank)",
                    rm->model_file, rm->label, why);
  snprintf(rm->cache_note, sizeof rm->cache_note, "trained (cache %s)", why);
  if (strcmp(why, "absent") != 0)
    say(lg, 1, "%s: cached model %s is %s; retraining", rm->label, rm->model_file, why);
  say(lg, 0, "%s: training %s, %zu epochs, batch %zu, SGD lr %g momentum %g, seed %lu",
      rm->label, s->arch_desc, o->epochs, o->batch, o->lr, o->momentum, rm->seed);
  train_ctx tc = {lg, rm->label, lsp_now_s()};
  st = lsp_train(rm->model, s->data, &t, on_train, &tc, &rm->log);
  if (st) return lsp_fail_prefix(st, rm->label);
  rm->train_seconds = rm->log.seconds;
  /* the curves first: a model file marks a finished entry (lookup) */
  if ((st = write_curves(rm->model_file, &rm->log))) return st;
  if ((st = lsp_model_save(rm->model, rm->model_file))) return st;
  say(lg, 0, "%s: trained in %.1f s (%.0f samples/s), saved %s", rm->label, rm->log.seconds,
      rm->log.samples_per_s, rm->model_file);
  return LSP_OK;
}
