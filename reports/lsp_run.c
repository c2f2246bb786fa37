/* lsp_run.c — the experiment pipeline behind `lsprobe run` (see lsp_run.h).
 * Computes nothing itself: it loads, trains or reuses, calls the analysis
 * and attack modules on plain arrays, and hands the results to the writers
 * (lsp_report.c). */
#define _POSIX_C_SOURCE 200809L
#include "reports/lsp_run.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis/lsp_boot.h"
#include "core/base/lsp_error.h"
#include "reports/lsp_outdir.h"
#include "reports/lsp_pdf.h"
#include "core/base/lsp_io.h"
#include "core/formats/lsp_npy.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "reports/lsp_cache.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_run_int.h"

/* The longest paths a run writes under the staging folder
 * (dumps/<tag>/features.npy, tags up to 63 characters) and in OUT itself
 * (models/<16 hex digits>.lspm.curves.csv), for lsp_outdir's length check. */
#define LSP_RUN_MAX_REL_STAGE (sizeof "dumps//features.npy" - 1 + 63)
#define LSP_RUN_MAX_REL_OUT (sizeof "models/0123456789abcdef.lspm.curves.csv" - 1)

/* ---- options ---------------------------------------------------------------- */

void lsp_run_opts_default(lsp_run_opts *o) {
  memset(o, 0, sizeof *o);
  o->data = "fashion-mnist";
  o->data_fallback = 1;
  o->smoothing[0] = 0.0;
  o->smoothing[1] = 0.1;
  o->n_smoothing = 2;
  o->convention = LSP_LS_UNIFORM;
  o->seeds[0] = 1;
  o->n_seeds = 1;
  o->epochs = 15;
  o->arch = "mlp:256,256";
  o->batch = 128;
  o->lr = 0.1;
  o->momentum = 0.9;
  const double eps[] = {0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3};
  memcpy(o->attack_eps, eps, sizeof eps);
  o->n_attack_eps = sizeof eps / sizeof eps[0];
  o->pgd_steps = 10;
  o->pgd_restarts = 1;
  o->attack_limit = 2000;
  o->aa_limit = 1000;
  o->aa_budget = 5000.0;
  o->aa_steps = 100;
  o->aa_queries = 5000;
  o->bins = 15;
  o->bootstrap = 1000;
  o->format = "svg";
  o->out = "lsprobe-report";
  o->mi_examples = 100;
  o->mi_copies = 20;
  o->distill = 0; /* opt-in: the section about doubles the default run's time (README) */
  o->distill_alpha = 0.9;
  const double temps[] = {1, 2, 4, 8};
  memcpy(o->distill_temps, temps, sizeof temps);
  o->n_distill_temps = 4;
  o->student_arch = "mlp:64";
}

void lsp_run_opts_quick(lsp_run_opts *o) {
  o->quick = 1;
  o->epochs = 2;
  o->arch = "mlp:64";
  o->max_train = 5000;
  o->max_test = 1000;
  const double eps[] = {0, 0.05, 0.1, 0.3};
  memcpy(o->attack_eps, eps, sizeof eps);
  o->n_attack_eps = sizeof eps / sizeof eps[0];
  o->pgd_steps = 5;
  o->attack_limit = 300;
  o->aa_limit = 100;
  o->aa_steps = 20;
  o->aa_queries = 300;
  o->bootstrap = 100;
  o->mi_examples = 30;
  o->mi_copies = 8;
  o->student_arch = "mlp:16";
}

/* ---- logging ---------------------------------------------------------------- */

typedef struct {
  lsp_run_log_fn fn;
  void *user;
} logger;

static void say(const logger *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(const logger *lg, int level, const char *fmt, ...) {
  if (!lg->fn) return;
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
    say(c->lg, 0, "  %s: epoch %zu/%zu  train loss %.4f acc %.4f | val loss %.4f acc %.4f | %.0f samples/s",
        c->label, p->epoch, p->epochs, p->loss, p->accuracy, p->val_loss, p->val_accuracy,
        p->samples_per_s);
  else if (p->batch % 20 == 0 || p->batch == p->batches)
    say(c->lg, 2, "  %s: epoch %zu/%zu batch %zu/%zu  loss %.4f acc %.4f  %.0f samples/s  ETA %.0f s",
        c->label, p->epoch, p->epochs, p->batch, p->batches, p->loss, p->accuracy,
        p->samples_per_s, p->eta_s);
}

/* Training curves beside a cached model: "<model>.curves.csv" with
 * epoch,train_loss,train_acc,val_loss,val_acc — so a rerun that reuses the
 * model can still draw them. */
static int write_curves(const char *model_path, const lsp_train_log *log) {
  char *path = lsp_strdupf("%s.curves.csv", model_path);
  if (!path) return lsp_fail(LSP_ENOMEM, "out of memory");
  lsp_outfile o;
  int st = lsp_out_open(&o, path);
  free(path);
  if (st) return st;
  fprintf(o.fp, "epoch,train_loss,train_acc,val_loss,val_acc,seconds,samples_per_s\n");
  for (size_t e = 0; e < log->epochs; e++)
    fprintf(o.fp, "%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", e + 1, log->train_loss[e],
            log->train_acc[e], log->val_loss[e], log->val_acc[e], log->seconds,
            log->samples_per_s);
  return lsp_out_commit(&o);
}

static void read_curves(const char *model_path, lsp_train_log *log) {
  memset(log, 0, sizeof *log);
  char *path = lsp_strdupf("%s.curves.csv", model_path);
  FILE *f = path ? fopen(path, "r") : NULL;
  free(path);
  if (!f) return;
  char line[512];
  size_t cap = 0, n = 0;
  double sec = NAN, sps = NAN;
  if (!fgets(line, sizeof line, f)) goto done;
  while (fgets(line, sizeof line, f)) {
    size_t e;
    double a, b, c, d, s1, s2;
    if (sscanf(line, "%zu,%lf,%lf,%lf,%lf,%lf,%lf", &e, &a, &b, &c, &d, &s1, &s2) != 7) break;
    if (n == cap) {
      cap = cap ? 2 * cap : 32;
      double *p[4] = {realloc(log->train_loss, cap * sizeof(double)), NULL, NULL, NULL};
      if (!p[0]) break;
      log->train_loss = p[0];
      if (!(p[1] = realloc(log->train_acc, cap * sizeof(double)))) break;
      log->train_acc = p[1];
      if (!(p[2] = realloc(log->val_loss, cap * sizeof(double)))) break;
      log->val_loss = p[2];
      if (!(p[3] = realloc(log->val_acc, cap * sizeof(double)))) break;
      log->val_acc = p[3];
    }
    log->train_loss[n] = a;
    log->train_acc[n] = b;
    log->val_loss[n] = c;
    log->val_acc[n] = d;
    sec = s1;
    sps = s2;
    n++;
  }
done:
  fclose(f);
  log->epochs = n;
  log->seconds = sec;
  log->samples_per_s = sps;
}

/* The network of --arch (and --normalize) for the data. */
static int build_model(const lsp_run_state *s, lsp_model **m) {
  const lsp_run_opts *o = &s->opts;
  lsp_shape in;
  lsp_splits_shape(&s->data, &in.c, &in.h, &in.w);
  return lsp_model_from_spec(o->arch, in, (size_t)s->data.train.k, o->normalize, o->n_normalize,
                             m);
}

/* Check --arch against the data before anything is trained, and keep its
 * canonical string and description. */
static int prepare_arch(lsp_run_state *s) {
  lsp_model *m = NULL;
  int st = build_model(s, &m);
  if (st) return st;
  size_t need = lsp_model_arch_string(m, NULL, 0) + 1;
  s->arch_canon = malloc(need);
  if (!s->arch_canon) {
    lsp_model_free(m);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  lsp_model_arch_string(m, s->arch_canon, need);
  lsp_model_describe(m, s->arch_desc, sizeof s->arch_desc);
  lsp_model_free(m);
  return LSP_OK;
}

static int get_model(lsp_run_state *s, lsp_run_model *rm, const char *models_dir,
                     const logger *lg) {
  const lsp_run_opts *o = &s->opts;
  lsp_train_opts t;
  lsp_train_opts_default(&t);
  t.smoothing.eps = rm->eps;
  t.smoothing.convention = o->convention;
  t.epochs = o->epochs;
  t.batch = o->batch;
  t.lr = o->lr;
  t.momentum = o->momentum;
  t.seed = rm->seed;
  /* the architecture and the record the model must have: the cache key and
   * what a cached file's own record is compared with */
  int st = build_model(s, &rm->model);
  if (st) return st;
  lsp_model_meta want;
  lsp_train_record(&t, &s->data, &want);
  uint64_t key = lsp_cache_key(s->arch_canon, &want);
  if (!(rm->model_file = lsp_cache_path(models_dir, key)))
    return lsp_fail(LSP_ENOMEM, "out of memory");
  const char *why = NULL;
  lsp_model *cached = NULL;
  st = lsp_cache_lookup(rm->model_file, s->arch_canon, &want, &cached, &why);
  if (st) return st;
  if (cached) {
    lsp_model_free(rm->model);
    rm->model = cached;
    rm->cached = 1;
    snprintf(rm->cache_note, sizeof rm->cache_note, "reused %s", rm->model_file);
    read_curves(rm->model_file, &rm->log); /* the timings live there */
    rm->train_seconds = rm->log.seconds;
    say(lg, 0, "%s: reusing the cached model %s", rm->label, rm->model_file);
    return LSP_OK;
  }
  snprintf(rm->cache_note, sizeof rm->cache_note, "trained (cache %s)", why);
  if (strcmp(why, "absent") != 0)
    say(lg, 1, "%s: cached model %s is %s; retraining", rm->label, rm->model_file, why);
  say(lg, 0, "%s: training %s, %zu epochs, batch %zu, SGD lr %g momentum %g, seed %lu",
      rm->label, s->arch_desc, o->epochs, o->batch, o->lr, o->momentum, rm->seed);
  train_ctx tc = {lg, rm->label, lsp_now_s()};
  st = lsp_train(rm->model, &s->data, &t, on_train, &tc, &rm->log);
  if (st) return lsp_fail_prefix(st, rm->label);
  rm->train_seconds = rm->log.seconds;
  if ((st = lsp_model_save(rm->model, rm->model_file))) return st;
  if ((st = write_curves(rm->model_file, &rm->log))) return st;
  say(lg, 0, "%s: trained in %.1f s (%.0f samples/s), saved %s", rm->label, rm->log.seconds,
      rm->log.samples_per_s, rm->model_file);
  return LSP_OK;
}

/* ---- the test pass and the analyses ------------------------------------------- */

static int analyse_model(lsp_run_state *s, lsp_run_model *rm, const char *dumps_dir) {
  const lsp_run_opts *o = &s->opts;
  const lsp_dataset *te = &s->data.test, *va = &s->data.val;
  size_t k = (size_t)te->k, h = lsp_model_feature_dim(rm->model);
  int st;
  rm->test_logits = malloc(te->n * k * sizeof(float));
  rm->test_features = malloc(te->n * h * sizeof(float));
  rm->val_logits = malloc((va->n ? va->n : 1) * k * sizeof(float));
  rm->test_correct = malloc(te->n);
  rm->gap_values = malloc(te->n * sizeof(double));
  if (!rm->test_logits || !rm->test_features || !rm->val_logits || !rm->test_correct ||
      !rm->gap_values)
    return lsp_fail(LSP_ENOMEM, "out of memory for the test pass");
  /* one pass: logits and features of the test set; logits of validation */
  if ((st = lsp_model_predict(rm->model, te->x, te->n, 1024, rm->test_logits, rm->test_features)))
    return st;
  if (va->n && (st = lsp_model_predict(rm->model, va->x, va->n, 1024, rm->val_logits, NULL)))
    return st;
  for (size_t i = 0; i < te->n; i++) {
    const float *z = rm->test_logits + i * k;
    rm->test_correct[i] = (uint8_t)(lsp_argmax_f32(z, k) == (size_t)te->y[i]);
  }
  /* calibration before and after temperature scaling, with intervals */
  lsp_calib_opts co = lsp_calib_opts_default();
  co.bins = (int)o->bins;
  lsp_calib_boot boot = {(int)o->bootstrap, rm->seed * 1000003ull + 17, s->threads,
                         LSP_CALIB_CI_INVERSION};
  if ((st = lsp_calib_rows_from_logits(rm->test_logits, te->y, te->n, k, 1.0, "test logits",
                                       &rm->rows)) ||
      (st = lsp_calib_rows_score(rm->rows, &co, &rm->cal)) ||
      (st = lsp_calib_bootstrap(rm->rows, &co, &boot, &rm->cal)))
    return st;
  rm->temperature = NAN;
  if (va->n) {
    st = lsp_calib_temperature_fit(rm->val_logits, va->y, va->n, k, &rm->temperature);
    if (st == LSP_OK) {
      rm->temperature_ok = 1;
    } else if (st == LSP_EDATA) {
      snprintf(rm->temperature_note, sizeof rm->temperature_note, "%s", lsp_errmsg());
    } else {
      return st;
    }
  } else {
    snprintf(rm->temperature_note, sizeof rm->temperature_note, "no validation split");
  }
  double inv_t = rm->temperature_ok ? 1.0 / rm->temperature : 1.0;
  if ((st = lsp_calib_rows_from_logits(rm->test_logits, te->y, te->n, k, inv_t, "test logits",
                                       &rm->rows_t)) ||
      (st = lsp_calib_rows_score(rm->rows_t, &co, &rm->cal_t)) ||
      (st = lsp_calib_bootstrap(rm->rows_t, &co, &boot, &rm->cal_t)))
    return st;
  rm->cal_t.temperature = rm->temperature_ok ? rm->temperature : 1.0;
  /* penultimate-layer clusters and the logit gap */
  rm->clusters = lsp_clusters_alloc(k);
  if (!rm->clusters) return LSP_ENOMEM;
  if ((st = lsp_clusters_compute(rm->test_features, te->y, te->n, h, rm->clusters)))
    return lsp_fail_prefix(st, "clusters");
  lsp_ls ls = {rm->eps, o->convention, 0};
  if ((st = lsp_logitgap_compute(rm->test_logits, te->y, te->n, k, &ls, &rm->gap,
                                 rm->gap_values, NULL)))
    return st;
  /* dumps for other tools */
  char *dir = lsp_strdupf("%s/%s", dumps_dir, rm->tag);
  char *pl = lsp_strdupf("%s/%s/logits.npy", dumps_dir, rm->tag);
  char *pf = lsp_strdupf("%s/%s/features.npy", dumps_dir, rm->tag);
  char *py = lsp_strdupf("%s/%s/labels.npy", dumps_dir, rm->tag);
  size_t shp[2] = {te->n, k}, shf[2] = {te->n, h};
  if (!dir || !pl || !pf || !py) st = lsp_fail(LSP_ENOMEM, "out of memory");
  else if (!(st = lsp_mkdir_p(dir)) &&
           !(st = lsp_npy_write(pl, LSP_DT_F32, 2, shp, rm->test_logits)) &&
           !(st = lsp_npy_write(pf, LSP_DT_F32, 2, shf, rm->test_features)))
    st = lsp_npy_write(py, LSP_DT_I32, 1, shp, te->y);
  free(dir);
  free(pl);
  free(pf);
  free(py);
  return st;
}

/* ---- attacks ---------------------------------------------------------------- */

typedef struct {
  const logger *lg;
  const char *what;
  double last;
} attack_ctx;

static void on_attack(const lsp_attack_progress *p, void *user) {
  attack_ctx *c = user;
  double t = lsp_now_s();
  if (t - c->last < 0.5 && p->done < p->total) return;
  c->last = t;
  say(c->lg, 2, "  %s: %s eps %.3g  %3.0f%%", c->what, p->stage, p->eps,
      100.0 * (double)p->done / (double)(p->total ? p->total : 1));
}

static int attack_model(lsp_run_state *s, lsp_run_model *rm, lsp_run_model *base,
                        const logger *lg) {
  const lsp_run_opts *o = &s->opts;
  const lsp_dataset *te = &s->data.test;
  size_t n = s->n_attack, ne = o->n_attack_eps;
  lsp_attack_opts ao;
  lsp_attack_opts_default(&ao);
  ao.lo = s->data.lo;
  ao.hi = s->data.hi;
  ao.seed = rm->seed;
  attack_ctx ac = {lg, rm->label, 0};
  ao.progress = on_attack;
  ao.user = &ac;
  rm->fgsm_correct = malloc(n * ne);
  rm->pgd_correct = malloc(n * ne);
  rm->transfer_correct = malloc(n * ne);
  if (!rm->fgsm_correct || !rm->pgd_correct || !rm->transfer_correct)
    return lsp_fail(LSP_ENOMEM, "out of memory for attack results");
  int st;
  ao.kind = LSP_ATTACK_FGSM;
  ao.correct = rm->fgsm_correct;
  if ((st = lsp_attack_run(rm->model, NULL, te->x, te->y, n, te->dim, o->attack_eps, ne, &ao,
                           &rm->fgsm)))
    return lsp_fail_prefix(st, "FGSM");
  ao.kind = LSP_ATTACK_PGD;
  ao.steps = o->pgd_steps;
  ao.restarts = o->pgd_restarts;
  ao.correct = rm->pgd_correct;
  if ((st = lsp_attack_run(rm->model, NULL, te->x, te->y, n, te->dim, o->attack_eps, ne, &ao,
                           &rm->pgd)))
    return lsp_fail_prefix(st, "PGD");
  if (base && base != rm) {
    /* transfer: PGD crafted on the unsmoothed model, scored on this one */
    ao.correct = rm->transfer_correct;
    if ((st = lsp_attack_run(base->model, rm->model, te->x, te->y, n, te->dim, o->attack_eps,
                             ne, &ao, &rm->transfer)))
      return lsp_fail_prefix(st, "transfer");
    rm->has_transfer = 1;
  }
  lsp_mask_opts mo;
  lsp_mask_opts_default(&mo);
  if ((st = lsp_attack_checklist(&rm->fgsm, &rm->pgd, rm->has_transfer ? &rm->transfer : NULL,
                                 &mo, &rm->mask)))
    return st;
  rm->has_mask = 1;
  return LSP_OK;
}

/* ---- comparisons with the eps = 0 model --------------------------------------- */

static int compare(lsp_run_state *s, lsp_run_cmp *c) {
  const lsp_run_opts *o = &s->opts;
  lsp_run_model *a = &s->models[c->model], *b = &s->models[c->base];
  lsp_calib_opts co = lsp_calib_opts_default();
  co.bins = (int)o->bins;
  lsp_calib_boot boot = {(int)o->bootstrap, a->seed * 7919ull + 3, s->threads,
                         LSP_CALIB_CI_PERCENTILE};
  int st;
  if ((st = lsp_calib_paired_bootstrap(a->rows, b->rows, &co, &boot, c->cal_diff, c->cal_lo,
                                       c->cal_hi)) ||
      (st = lsp_calib_paired_bootstrap(a->rows_t, b->rows_t, &co, &boot, c->calt_diff,
                                       c->calt_lo, c->calt_hi)))
    return st;
  size_t ne = o->n_attack_eps, n = s->n_attack;
  c->n_eps = ne;
  c->fgsm_diff = calloc(ne, sizeof(double));
  c->fgsm_lo = calloc(ne, sizeof(double));
  c->fgsm_hi = calloc(ne, sizeof(double));
  c->pgd_diff = calloc(ne, sizeof(double));
  c->pgd_lo = calloc(ne, sizeof(double));
  c->pgd_hi = calloc(ne, sizeof(double));
  if (!c->fgsm_diff || !c->fgsm_lo || !c->fgsm_hi || !c->pgd_diff || !c->pgd_lo || !c->pgd_hi)
    return lsp_fail(LSP_ENOMEM, "out of memory");
  for (size_t e = 0; e < ne; e++) {
    if ((st = lsp_boot_paired_diff(a->fgsm_correct + e * n, b->fgsm_correct + e * n, n,
                                   (int)o->bootstrap, boot.seed + e, &c->fgsm_diff[e],
                                   &c->fgsm_lo[e], &c->fgsm_hi[e])) ||
        (st = lsp_boot_paired_diff(a->pgd_correct + e * n, b->pgd_correct + e * n, n,
                                   (int)o->bootstrap, boot.seed + 100 + e, &c->pgd_diff[e],
                                   &c->pgd_lo[e], &c->pgd_hi[e])))
      return st;
  }
  return lsp_run_aa_compare(s, c, boot.seed + 200);
}

/* ---- the job --------------------------------------------------------------------- */

static void free_state(lsp_run_state *s) {
  for (size_t i = 0; i < s->nmodels; i++) {
    lsp_run_model *m = &s->models[i];
    lsp_model_free(m->model);
    free(m->model_file);
    free(m->mi_d);
    lsp_train_log_free(&m->log);
    free(m->test_logits);
    free(m->test_features);
    free(m->val_logits);
    free(m->test_correct);
    lsp_calib_rows_free(m->rows);
    lsp_calib_rows_free(m->rows_t);
    lsp_calib_result_release(&m->cal);
    lsp_calib_result_release(&m->cal_t);
    lsp_clusters_free(m->clusters);
    free(m->gap_values);
    lsp_proj_free(m->proj);
    lsp_attack_result_free(&m->fgsm);
    lsp_attack_result_free(&m->pgd);
    lsp_attack_result_free(&m->transfer);
    lsp_attack_result_free(&m->aa);
    free(m->fgsm_correct);
    free(m->pgd_correct);
    free(m->transfer_correct);
    free(m->aa_correct);
  }
  free(s->models);
  for (size_t i = 0; i < s->ncmp; i++) {
    lsp_run_cmp *c = &s->cmp[i];
    free(c->fgsm_diff);
    free(c->fgsm_lo);
    free(c->fgsm_hi);
    free(c->pgd_diff);
    free(c->pgd_lo);
    free(c->pgd_hi);
    free(c->aa_diff);
    free(c->aa_lo);
    free(c->aa_hi);
  }
  free(s->cmp);
  lsp_run_distill_free(&s->distill);
  free(s->arch_canon);
  lsp_splits_free(&s->data);
}

static int check_opts(const lsp_run_opts *o) {
  if (o->n_smoothing == 0) return lsp_fail(LSP_EINVAL, "no smoothing values");
  for (size_t i = 0; i < o->n_smoothing; i++) {
    if (!(o->smoothing[i] >= 0 && o->smoothing[i] <= 1))
      return lsp_fail(LSP_EINVAL, "smoothing %g is outside [0, 1]", o->smoothing[i]);
    for (size_t j = 0; j < i; j++)
      if (o->smoothing[j] == o->smoothing[i])
        return lsp_fail(LSP_EINVAL, "smoothing %g is listed twice", o->smoothing[i]);
  }
  if (o->n_seeds == 0) return lsp_fail(LSP_EINVAL, "no seeds");
  for (size_t i = 0; i < o->n_seeds; i++)
    for (size_t j = 0; j < i; j++)
      if (o->seeds[i] == o->seeds[j])
        return lsp_fail(LSP_EINVAL, "seed %lu is listed twice", o->seeds[i]);
  if (o->epochs == 0 || o->batch == 0)
    return lsp_fail(LSP_EINVAL, "epochs and batch size must be positive");
  if (!o->arch || !o->arch[0]) return lsp_fail(LSP_EINVAL, "no architecture (--arch)");
  if (o->n_attack_eps == 0) return lsp_fail(LSP_EINVAL, "no attack eps values");
  for (size_t i = 0; i < o->n_attack_eps; i++)
    if (!(o->attack_eps[i] >= 0 && isfinite(o->attack_eps[i])))
      return lsp_fail(LSP_EINVAL, "attack eps %g must be finite and >= 0", o->attack_eps[i]);
  if (o->bins < 1 || o->bootstrap < 1 || o->pgd_steps < 1 || o->pgd_restarts < 1)
    return lsp_fail(LSP_EINVAL, "bins, bootstrap, PGD steps and restarts must be positive");
  if (o->aa_limit && (!(o->aa_budget > 0) || !isfinite(o->aa_budget) || o->aa_steps < 1 ||
                      o->aa_queries < 1))
    return lsp_fail(LSP_EINVAL,
                    "AutoAttack's budget, APGD steps and Square queries must be positive");
  lsp_plot_format f;
  if (lsp_plot_format_parse(o->format, &f)) return LSP_EINVAL;
  return LSP_OK;
}

static int load_data(lsp_run_state *s, const logger *lg) {
  const lsp_run_opts *o = &s->opts;
  lsp_data_opts d;
  lsp_data_opts_default(&d);
  d.spec = o->data;
  d.max_train = o->max_train;
  d.max_test = o->max_test;
  if (o->data_fallback && strcmp(o->data, "fashion-mnist") == 0) {
    struct stat sb;
    const char *dir = lsp_data_fashion_dir();
    if (stat(dir, &sb) != 0) {
      snprintf(s->data_note, sizeof s->data_note,
               "Fashion-MNIST is not installed (%s is missing; scripts/setup installs "
               "Debian's dataset-fashion-mnist): this run uses the SYNTHETIC Gaussian-mixture "
               "data set instead, and its numbers say nothing about Fashion-MNIST.",
               dir);
      say(lg, 1, "%s", s->data_note);
      s->data_fallback_used = 1;
      d.spec = "synthetic";
    }
  }
  int st = lsp_data_load(&d, &s->data);
  if (st) return st;
  say(lg, 0, "data: %s (%s): %zu train, %zu validation, %zu test, %zu features, %d classes",
      s->data.name, s->data.source, s->data.train.n, s->data.val.n, s->data.test.n,
      s->data.train.dim, s->data.train.k);
  return LSP_OK;
}

static int run_job(const lsp_run_opts *opts, lsp_run_log_fn log, void *user,
                   const char **report_path) {
  static char *report; /* the previous call's is freed */
  logger lg = {log, user};
  lsp_run_state st_ = {0}, *s = &st_;
  s->opts = *opts;
  const lsp_run_opts *o = &s->opts;
  snprintf(s->command, sizeof s->command, "%s", o->command ? o->command : "lsprobe run");
  char *models_dir = NULL, *dumps = NULL;
  lsp_outdir *od = NULL;
  int st = check_opts(o);
  if (st) return st;
  double t_start = lsp_now_s(), t;
  time_t wall = time(NULL);
  strftime(s->started, sizeof s->started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&wall));
  s->threads = lsp_threads_get();
  if (o->own_blas_threads) lsp_threads_set_blas(1);

  /* data first: a bad --data fails before anything is created */
  t = lsp_now_s();
  if ((st = load_data(s, &lg))) goto fail;
  s->seconds_data = lsp_now_s() - t;
  if ((st = prepare_arch(s))) goto fail;
  if (o->distill && (st = lsp_run_distill_prepare(s))) goto fail;

  /* the output folder: ours or refused (lsp_outdir.h); the report is
   * staged and published in one step at the end, the model cache lives in
   * OUT/models and is written in place */
  lsp_outdir_opts oo = {"run", o->force, "models", LSP_RUN_MAX_REL_STAGE, LSP_RUN_MAX_REL_OUT};
  if ((st = lsp_outdir_begin(o->out, &oo, &od))) goto fail;
  if (lsp_outdir_note(od)[0]) say(&lg, 1, "%s", lsp_outdir_note(od));
  models_dir = lsp_strdupf("%s/models", o->out);
  dumps = lsp_strdupf("%s/dumps", lsp_outdir_stage(od));
  if (!models_dir || !dumps) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto fail;
  }
  if ((st = lsp_mkdir_p(models_dir)) || (st = lsp_mkdir_p(dumps))) goto fail;

  /* the models: seed-major, smoothing in the order given */
  s->nmodels = o->n_seeds * o->n_smoothing;
  s->models = calloc(s->nmodels, sizeof *s->models);
  if (!s->models) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto fail;
  }
  t = lsp_now_s();
  for (size_t si = 0; si < o->n_seeds; si++)
    for (size_t ei = 0; ei < o->n_smoothing; ei++) {
      lsp_run_model *rm = &s->models[si * o->n_smoothing + ei];
      rm->eps = o->smoothing[ei];
      rm->seed = o->seeds[si];
      snprintf(rm->tag, sizeof rm->tag, "eps%g_seed%lu", rm->eps, rm->seed);
      if (o->n_seeds > 1)
        snprintf(rm->label, sizeof rm->label, "ε = %g (%s), seed %lu", rm->eps,
                 lsp_ls_convention_name(o->convention), rm->seed);
      else
        snprintf(rm->label, sizeof rm->label, "ε = %g (%s)", rm->eps,
                 lsp_ls_convention_name(o->convention));
      if ((st = get_model(s, rm, models_dir, &lg))) goto fail;
      if (lsp_interrupted()) {
        st = lsp_fail(LSP_EINTR, "interrupted");
        goto fail;
      }
    }
  s->seconds_train = lsp_now_s() - t;
  if (o->own_blas_threads) lsp_threads_set_blas(s->threads);

  t = lsp_now_s();
  for (size_t i = 0; i < s->nmodels; i++) {
    say(&lg, 0, "%s: test pass, calibration (%zu bootstrap resamples), clusters, logit gap",
        s->models[i].label, o->bootstrap);
    double t1 = lsp_now_s();
    if ((st = analyse_model(s, &s->models[i], dumps))) goto fail;
    s->models[i].seconds_analysis = lsp_now_s() - t1;
    if (lsp_interrupted()) {
      st = lsp_fail(LSP_EINTR, "interrupted");
      goto fail;
    }
  }
  /* the projection: the three most confused classes of the first model,
   * the same classes for every model */
  {
    lsp_run_model *m0 = &s->models[0];
    size_t k = (size_t)s->data.test.k;
    size_t *conf = calloc(k * k, sizeof *conf);
    if (!conf) {
      st = lsp_fail(LSP_ENOMEM, "out of memory");
      goto fail;
    }
    st = lsp_proj_confusion_logits(m0->test_logits, s->data.test.y, s->data.test.n, k, conf);
    size_t score;
    if (!st && k >= 3) st = lsp_proj_pick_classes(conf, k, s->proj_cls, &score);
    free(conf);
    if (st) goto fail;
    for (size_t i = 0; i < s->nmodels && k >= 3; i++) {
      lsp_run_model *m = &s->models[i];
      lsp_dense_view L;
      lsp_model_head(m->model, &L);
      if ((st = lsp_proj_compute(m->test_features, s->data.test.y, s->data.test.n, L.in, L.w,
                                 L.b, k, s->proj_cls, &m->proj)))
        goto fail;
    }
  }
  /* information erasure: every model on the same perturbed copies */
  if ((st = lsp_run_erasure(s, lg.fn, lg.user))) goto fail;
  s->seconds_analysis = lsp_now_s() - t;

  /* attacks on the first n_attack test examples */
  t = lsp_now_s();
  s->n_attack = o->attack_limit && o->attack_limit < s->data.test.n ? o->attack_limit
                                                                     : s->data.test.n;
  for (size_t si = 0; si < o->n_seeds; si++) {
    lsp_run_model *base = NULL;
    for (size_t ei = 0; ei < o->n_smoothing; ei++)
      if (o->smoothing[ei] == 0) base = &s->models[si * o->n_smoothing + ei];
    for (size_t ei = 0; ei < o->n_smoothing; ei++) {
      lsp_run_model *rm = &s->models[si * o->n_smoothing + ei];
      say(&lg, 0, "%s: FGSM and PGD-%zu sweeps over %zu attack eps on %zu test examples%s",
          rm->label, o->pgd_steps, o->n_attack_eps, s->n_attack,
          base && base != rm ? ", and transfer from the eps = 0 model" : "");
      double t1 = lsp_now_s();
      if ((st = attack_model(s, rm, base, &lg))) goto fail;
      rm->seconds_attacks = lsp_now_s() - t1;
    }
  }
  /* the strong attack, on a subset sized to its budget */
  if ((st = lsp_run_autoattack(s, lg.fn, lg.user))) goto fail;
  s->seconds_attacks = lsp_now_s() - t;

  /* paired comparisons with the eps = 0 model of the same seed */
  for (size_t si = 0; si < o->n_seeds; si++) {
    size_t base = SIZE_MAX;
    for (size_t ei = 0; ei < o->n_smoothing; ei++)
      if (o->smoothing[ei] == 0) base = si * o->n_smoothing + ei;
    if (base == SIZE_MAX) continue;
    for (size_t ei = 0; ei < o->n_smoothing; ei++) {
      size_t mi = si * o->n_smoothing + ei;
      if (mi == base) continue;
      lsp_run_cmp *nc = realloc(s->cmp, (s->ncmp + 1) * sizeof *nc);
      if (!nc) {
        st = lsp_fail(LSP_ENOMEM, "out of memory");
        goto fail;
      }
      s->cmp = nc;
      lsp_run_cmp *c = &s->cmp[s->ncmp++];
      memset(c, 0, sizeof *c);
      c->model = mi;
      c->base = base;
      if ((st = compare(s, c))) goto fail;
    }
  }

  /* students distilled from every model, and hard-label students */
  if (o->distill) {
    /* Students train like the teachers (shares side by side on one-thread
     * GEMMs), and the teachers' logits, which key the students' cache
     * entries, must not depend on the thread count: a multi-threaded GEMM
     * sums in another order. */
    if (o->own_blas_threads) lsp_threads_set_blas(1);
    st = lsp_run_distill_students(s, models_dir, lg.fn, lg.user);
    if (o->own_blas_threads) lsp_threads_set_blas(s->threads);
    if (st) goto fail;
  }

  /* plots and report files into the staging folder, then publish */
  t = lsp_now_s();
  s->have_gnuplot = lsp_plot_available() == LSP_OK;
  if (!s->have_gnuplot) {
    snprintf(s->gnuplot_note, sizeof s->gnuplot_note,
             "gnuplot was not found (%s); the report has no pictures. scripts/setup "
             "installs gnuplot-nox.",
             lsp_errmsg());
    say(&lg, 1, "%s", s->gnuplot_note);
  }
  /* --format pdf also prints the whole report to report.pdf, with
   * Chromium when there is one (lsp_pdf.h); without, the run says so */
  lsp_plot_format pf;
  if (lsp_plot_format_parse(o->format, &pf) == LSP_OK && pf == LSP_PLOT_PDF) {
    char exe[4096];
    s->want_pdf = lsp_pdf_find(exe, sizeof exe) == LSP_OK;
    if (!s->want_pdf)
      snprintf(s->pdf_note, sizeof s->pdf_note,
               "report.pdf is not written: %s. The HTML report is complete; "
               "Debian's chromium prints it (scripts/setup installs it).",
               lsp_errmsg());
  }
  s->seconds_total = lsp_now_s() - t_start;
  say(&lg, 0, "writing the report%s", s->want_pdf ? " (report.pdf with Chromium)" : "");
  if ((st = lsp_report_write(s, lsp_outdir_stage(od)))) goto fail;
  if (s->pdf_note[0]) say(&lg, 1, "%s", s->pdf_note);
  s->seconds_report = lsp_now_s() - t;
  if (lsp_interrupted()) {
    st = lsp_fail(LSP_EINTR, "interrupted");
    goto fail;
  }
  const char *before = lsp_outdir_note(od);
  size_t nb = strlen(before);
  if ((st = lsp_outdir_publish(od))) goto fail;
  if (strlen(lsp_outdir_note(od)) > nb) say(&lg, 1, "%s", lsp_outdir_note(od) + nb + (nb ? 2 : 0));
  if (s->pdf_written) say(&lg, 0, "pdf: %s/report.pdf", o->out);
  free(report);
  if (!(report = lsp_strdupf("%s/report.html", o->out))) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto fail;
  }
  if (report_path) *report_path = report;
fail:
  lsp_outdir_free(od);
  free(models_dir);
  free(dumps);
  free_state(s);
  return st;
}

int lsp_run(const lsp_run_opts *opts, lsp_run_log_fn log, void *user,
            const char **report_path) {
  int prev_threads = opts->threads > 0 ? lsp_threads_set(opts->threads) : -1;
  int prev_blas = opts->own_blas_threads ? lsp_threads_get_blas() : 0;
  int st = run_job(opts, log, user, report_path);
  if (prev_threads >= 0) lsp_threads_set(prev_threads);
  if (prev_blas > 0) lsp_threads_set_blas(prev_blas);
  return st;
}
