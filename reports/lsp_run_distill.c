/* lsp_run_distill.c — the information-erasure probe of every model and the
 * distillation section of `lsprobe run` (lsp_run_distill.h). Orchestration
 * only: the probe set and its estimate come from lsp_erasure (core/data,
 * analysis), training from core/train, intervals from analysis/lsp_boot. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_boot.h"
#include "analysis/lsp_mi.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"
#include "reports/lsp_cache.h"
#include "reports/lsp_run_int.h"
#include "reports/lsp_study.h"

static void say(lsp_run_log_fn fn, void *user, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(lsp_run_log_fn fn, void *user, int level, const char *fmt,
                ...) {
  if (!fn) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fn(level, buf, user);
}

void lsp_run_distill_free(lsp_run_distill *D) {
  for (size_t i = 0; i < D->nstudents; i++) {
    free(D->students[i].test_correct);
    free(D->students[i].model_file);
  }
  free(D->students);
  free(D->teachers);
  lsp_erasure_set_free(D->set);
  D->set = NULL;
  free(D->student_canon);
  D->student_canon = NULL;
  D->students = NULL;
  D->teachers = NULL;
  D->nstudents = D->nteachers = 0;
}

/* ---- information erasure ------------------------------------------------- */

int lsp_run_erasure(lsp_run_state *s, lsp_run_log_fn lg, void *user) {
  lsp_run_distill *D = &s->distill;
  const lsp_run_opts *o = &s->opts;
  for (size_t i = 0; i < s->nmodels; i++)
    s->models[i].mi = s->models[i].mi_lo = s->models[i].mi_hi = NAN;
  lsp_erasure_opts_default(&D->mi_opts);
  D->mi_opts.per_class = o->mi_examples;
  D->mi_opts.perturb.copies = o->mi_copies;
  /* the pair: the one the reference model — the ε = 0 model of the
   * smallest seed (lsp_run_reference) — confuses most on the validation
   * split (the test set plays no part); the copies' perturbations are
   * seeded with that smallest seed: neither depends on the order of the
   * seed list */
  if (s->nmodels == 0) return LSP_OK;
  D->mi_ref = lsp_run_reference(s);
  const lsp_run_model *ref = &s->models[D->mi_ref];
  D->mi_opts.perturb.seed = ref->seed;
  const lsp_dataset *va = &s->data.val;
  if (va->n == 0) {
    snprintf(D->mi_note, sizeof D->mi_note,
             "no validation split to choose the class pair on");
    say(lg, user, 1, "information erasure skipped: %s", D->mi_note);
    return LSP_OK;
  }
  int st = lsp_mi_confused_pair(ref->val_logits, va->y, va->n, (size_t)va->k,
                                &D->mi_a, &D->mi_b, &D->mi_confusions);
  if (st) return st;
  lsp_erasure_set *set = NULL;
  st = lsp_erasure_set_build(&s->data, D->mi_a, D->mi_b, &D->mi_opts, &set);
  if (st == LSP_EDATA) { /* a class too small: say so, no probe */
    snprintf(D->mi_note, sizeof D->mi_note, "%s", lsp_errmsg());
    say(lg, user, 1, "information erasure skipped: %s", D->mi_note);
    return LSP_OK;
  }
  if (st) return st;
  D->mi_m = set->m;
  D->mi_r = set->r;
  D->mi_shifted = set->shifted;
  D->mi_opts = set->opts;
  D->mi_bound = log((double)(2 * set->m));
  D->mi_floor = 0.5 * log((double)set->r / (double)(set->r - 1));
  say(lg, user, 0,
      "information erasure: classes %d and %d, %zu examples each, %zu copies",
      D->mi_a, D->mi_b, set->m, set->r);
  const size_t nd = 2 * set->m * set->r;
  for (size_t i = 0; i < s->nmodels && !st; i++) {
    lsp_run_model *rm = &s->models[i];
    lsp_mi_result r;
    if (!(rm->mi_d = malloc(nd * sizeof *rm->mi_d))) {
      st = lsp_fail(LSP_ENOMEM, "out of memory");
      break;
    }
    st = lsp_erasure_score(set, rm->model, &r, rm->mi_d);
    if (st == LSP_EDATA) { /* e.g. a model whose logits ignore the input */
      say(lg, user, 1, "%s: no information-erasure estimate: %s", rm->label,
          lsp_errmsg());
      free(rm->mi_d);
      rm->mi_d = NULL;
      st = LSP_OK;
      continue;
    }
    if (!st) {
      rm->mi = r.mi;
      st = lsp_mi_bootstrap(
          rm->mi_d, NULL, 2 * set->m, set->r, (int)o->bootstrap,
          rm->seed * 6364136223846793005ull + 1, &rm->mi_lo, &rm->mi_hi);
    }
  }
  D->mi_on = !st;
  D->set = st ? NULL : set;
  if (st) lsp_erasure_set_free(set);
  return st;
}

/* ---- students ------------------------------------------------------------ */

static int build_student(const lsp_run_state *s, lsp_model **m) {
  const lsp_run_opts *o = &s->opts;
  lsp_shape in;
  lsp_splits_shape(&s->data, &in.c, &in.h, &in.w);
  return lsp_model_from_spec(o->student_arch, in, (size_t)s->data.train.k,
                             o->normalize, o->n_normalize, m);
}

int lsp_run_distill_prepare(lsp_run_state *s) {
  lsp_run_distill *D = &s->distill;
  lsp_model *m = NULL;
  int st = build_student(s, &m);
  if (st) return lsp_fail_prefix(st, "--student-arch");
  size_t need = lsp_model_arch_string(m, NULL, 0) + 1;
  if (!(D->student_canon = malloc(need))) {
    lsp_model_free(m);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  lsp_model_arch_string(m, D->student_canon, need);
  lsp_model_describe(m, D->student_arch, sizeof D->student_arch);
  lsp_model_free(m);
  return LSP_OK;
}

typedef struct {
  lsp_run_log_fn log;
  void *user;
  const char *label;
} tctx;

static void on_train(const lsp_train_progress *p, void *user) {
  tctx *c = user;
  if (p->end_of_epoch)
    say(c->log, c->user, 2, "  %s: epoch %zu/%zu  val acc %.4f", c->label,
        p->epoch, p->epochs, p->val_accuracy);
}

/* Accuracy of m on d (argmax ties to the lowest class); correct (d->n) or
 * NULL receives the per-example outcome. */
static int score(const lsp_model *m, const lsp_dataset *d, uint8_t *correct,
                 double *acc) {
  size_t k = m->out_dim, c = 0;
  float *z = malloc((d->n ? d->n : 1) * k * sizeof *z);
  if (!z) return lsp_fail(LSP_ENOMEM, "out of memory");
  int st = lsp_model_predict(m, d->x, d->n, 1024, z, NULL);
  for (size_t i = 0; !st && i < d->n; i++) {
    uint8_t ok = (int32_t)lsp_argmax_f32(z + i * k, k) == d->y[i];
    if (correct) correct[i] = ok;
    c += ok;
  }
  free(z);
  *acc = d->n ? (double)c / (double)d->n : NAN;
  return st;
}

/* Train student u (or reuse it from the cache), then score it: validation
 * and test accuracy, the test interval, Î on the probe set. `teacher` is
 * the teacher's logits over the training split, or NULL for a baseline. */
static int student(lsp_run_state *s, lsp_run_student *u, const float *teacher,
                   const char *models_dir, lsp_run_log_fn lg, void *user) {
  const lsp_run_opts *o = &s->opts;
  lsp_run_distill *D = &s->distill;
  lsp_train_opts t;
  lsp_train_opts_default(&t);
  t.smoothing.eps = u->eps;
  t.smoothing.convention = o->convention;
  t.epochs = o->epochs;
  t.batch = o->batch;
  t.lr = o->lr;
  t.momentum = o->momentum;
  t.seed = u->seed;
  if (teacher) {
    t.teacher = teacher;
    t.alpha = D->alpha;
    t.temperature = u->temperature;
  }
  /* the architecture and the record the student must have: the cache key
   * and what a cached file's own record is compared with (the record holds
   * alpha, T and a hash of the teacher's logits) */
  lsp_model *m = NULL;
  int st = build_student(s, &m);
  if (st) return st;
  const char *arch = D->student_canon;
  lsp_model_meta want;
  lsp_train_record(&t, &s->data, &want);
  if (!(u->model_file =
            lsp_cache_path(models_dir, lsp_cache_key(arch, &want)))) {
    lsp_model_free(m);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  lsp_model *cached = NULL;
  const char *why = NULL;
  st = lsp_cache_lookup(u->model_file, arch, &want, &cached, &why);
  if (st) {
    lsp_model_free(m);
    return st;
  }
  u->train_seconds = NAN; /* a reused student's time is not recorded */
  if (cached) {
    lsp_model_free(m);
    m = cached;
    u->cached = 1;
    say(lg, user, 0, "%s: reusing the cached model %s", u->label,
        u->model_file);
  } else {
    if (strcmp(why, "absent") != 0)
      say(lg, user, 1, "%s: cached model %s is %s; retraining", u->label,
          u->model_file, why);
    say(lg, user, 0, "%s: training %s", u->label, D->student_arch);
    tctx tc = {lg, user, u->label};
    lsp_train_log tl = {0};
    st = lsp_train(m, &s->data, &t, on_train, &tc, &tl);
    u->train_seconds = tl.seconds;
    lsp_train_log_free(&tl);
    if (!st) st = lsp_model_save(m, u->model_file);
    if (st) {
      lsp_model_free(m);
      return lsp_fail_prefix(st, u->label);
    }
  }
  const lsp_dataset *te = &s->data.test;
  if (!(u->test_correct = malloc(te->n ? te->n : 1)))
    st = lsp_fail(LSP_ENOMEM, "out of memory");
  if (!st) st = score(m, &s->data.val, NULL, &u->val_accuracy);
  if (!st) st = score(m, te, u->test_correct, &u->test_accuracy);
  if (!st)
    st = lsp_boot_mean(u->test_correct, te->n, (int)o->bootstrap,
                       u->seed * 2654435761ull + 11, &u->test_accuracy,
                       &u->acc_lo, &u->acc_hi);
  u->mi = u->mi_lo = u->mi_hi = NAN;
  if (!st && D->set) {
    lsp_mi_result r;
    const size_t m2 = 2 * D->set->m, r_ = D->set->r;
    double *d = malloc(m2 * r_ * sizeof *d);
    int sm = d ? lsp_erasure_score(D->set, m, &r, d)
               : lsp_fail(LSP_ENOMEM, "out of memory");
    if (sm == LSP_OK) {
      u->mi = r.mi;
      sm = lsp_mi_bootstrap(d, NULL, m2, r_, (int)o->bootstrap,
                            u->seed * 6364136223846793005ull + 3, &u->mi_lo,
                            &u->mi_hi);
    }
    free(d);
    if (sm != LSP_OK && sm != LSP_EDATA) st = sm;
  }
  lsp_model_free(m);
  return st;
}

static lsp_run_student *add_student(lsp_run_distill *D) {
  lsp_run_student *u = &D->students[D->nstudents++];
  memset(u, 0, sizeof *u);
  u->teacher_eps = u->temperature = NAN;
  u->teacher = SIZE_MAX;
  return u;
}

/* Best T of teacher dt: the highest validation accuracy, ties to the lower
 * T (the grid is ascending). */
static size_t best_t(const lsp_run_distill *D, const lsp_run_dteacher *dt) {
  size_t b = 0;
  for (size_t q = 1; q < D->ntemps; q++)
    if (D->students[dt->student[q]].val_accuracy >
        D->students[dt->student[b]].val_accuracy)
      b = q;
  return b;
}

/* Paired differences with the eps = 0 teacher of the same seed, and the
 * verdict at the study's judged eps (lsp_study_judged_eps: 0.1, else the
 * smoothed eps nearest it). */
static int compare_and_judge(lsp_run_state *s) {
  lsp_run_distill *D = &s->distill;
  const lsp_run_opts *o = &s->opts;
  const size_t ne = o->n_smoothing, nt = s->data.test.n;
  int st;
  size_t judge = SIZE_MAX; /* the eps index the verdict is about: the study's */
  const double judged = lsp_study_judged_eps(o->smoothing, ne);
  for (size_t ei = 0; ei < ne && judge == SIZE_MAX; ei++)
    if (o->smoothing[ei] == judged) judge = ei;
  lsp_distill_evidence ev;
  memset(&ev, 0, sizeof ev);
  ev.student = D->student_arch;
  ev.resamples = o->bootstrap;
  size_t order[LSP_DISTILL_MAX_SEEDS]; /* seeds ascending: the per-seed lists' order */
  const size_t nseed = o->n_seeds < LSP_DISTILL_MAX_SEEDS ? o->n_seeds : LSP_DISTILL_MAX_SEEDS;
  for (size_t i = 0; i < nseed; i++) {
    size_t j = i;
    for (; j > 0 && o->seeds[order[j - 1]] > o->seeds[i]; j--) order[j] = order[j - 1];
    order[j] = i;
  }
  for (size_t oi = 0; oi < nseed; oi++) {
    const size_t si = order[oi];
    size_t z = SIZE_MAX;
    for (size_t ei = 0; ei < ne; ei++)
      if (o->smoothing[ei] == 0) z = si * ne + ei;
    for (size_t ei = 0; ei < ne; ei++) {
      lsp_run_dteacher *dt = &D->teachers[si * ne + ei];
      dt->diff = dt->lo = dt->hi = dt->tdiff = dt->tlo = dt->thi = NAN;
      dt->midiff = dt->milo = dt->mihi = NAN;
      if (z == SIZE_MAX || si * ne + ei == z) continue;
      const lsp_run_dteacher *d0 = &D->teachers[z];
      const lsp_run_student *a = &D->students[dt->student[dt->best]],
                            *b = &D->students[d0->student[d0->best]];
      /* from the values, never a position in the grid: the seed and ε's bits */
      uint64_t eb;
      memcpy(&eb, &o->smoothing[ei], sizeof eb);
      uint64_t seed = lsp_splitmix64(s->models[dt->teacher].seed * 7919ull ^ lsp_splitmix64(eb));
      if ((st = lsp_boot_paired_diff(a->test_correct, b->test_correct, nt,
                                     (int)o->bootstrap, seed, &dt->diff,
                                     &dt->lo, &dt->hi)) ||
          (st = lsp_boot_paired_diff(s->models[dt->teacher].test_correct,
                                     s->models[d0->teacher].test_correct, nt,
                                     (int)o->bootstrap, seed + 1, &dt->tdiff,
                                     &dt->tlo, &dt->thi)))
        return st;
      const lsp_run_model *tm = &s->models[dt->teacher],
                          *t0 = &s->models[d0->teacher];
      if (tm->mi_d && t0->mi_d) {
        dt->midiff = tm->mi - t0->mi;
        if ((st = lsp_mi_bootstrap(tm->mi_d, t0->mi_d, 2 * D->mi_m, D->mi_r,
                                   (int)o->bootstrap, seed + 2, &dt->milo,
                                   &dt->mihi)))
          return st;
      }
      if (ei == judge && ev.nseeds < LSP_DISTILL_MAX_SEEDS) {
        size_t k = ev.nseeds++;
        ev.eps = o->smoothing[ei];
        ev.acc_s[k] = a->test_accuracy;
        ev.acc_p[k] = b->test_accuracy;
        ev.t_s[k] = D->temps[dt->best];
        ev.t_p[k] = D->temps[d0->best];
        ev.diff[k] = dt->diff;
        ev.lo[k] = dt->lo;
        ev.hi[k] = dt->hi;
        ev.teacher_diff[k] = dt->tdiff;
        ev.teacher_lo[k] = dt->tlo;
        ev.teacher_hi[k] = dt->thi;
        ev.mi_s[k] = tm->mi;
        ev.mi_p[k] = t0->mi;
        ev.mi_diff[k] = dt->midiff;
        ev.mi_lo[k] = dt->milo;
        ev.mi_hi[k] = dt->mihi;
        ev.base_0[k] = D->students[dt->base_zero].test_accuracy;
        ev.base_s[k] = D->students[dt->base_same].test_accuracy;
      }
    }
  }
  if (ev.nseeds) {
    lsp_distill_finding(&ev, &D->verdict);
    D->verdict_eps = ev.eps;
    D->has_verdict = 1;
  }
  return LSP_OK;
}

int lsp_run_distill_students(lsp_run_state *s, const char *models_dir,
                             lsp_run_log_fn lg, void *user) {
  lsp_run_distill *D = &s->distill;
  const lsp_run_opts *o = &s->opts;
  const double t0 = lsp_now_s();
  const size_t ne = o->n_smoothing, nq = o->n_distill_temps;
  const size_t n = s->data.train.n, k = (size_t)s->data.train.k;
  D->on = 1;
  D->alpha = o->distill_alpha;
  D->ntemps = nq;
  memcpy(D->temps, o->distill_temps, nq * sizeof *D->temps);
  int st = LSP_OK;
  if (!D->student_canon && (st = lsp_run_distill_prepare(s))) return st;
  D->nteachers = s->nmodels;
  D->teachers = calloc(D->nteachers, sizeof *D->teachers);
  D->students = calloc(o->n_seeds * ne * (nq + 1), sizeof *D->students);
  float *tz = malloc(n * k * sizeof *tz);

  if (!D->teachers || !D->students || !tz) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for distillation");
    goto done;
  }
  for (size_t si = 0; si < o->n_seeds && !st; si++) {
    const unsigned long seed = o->seeds[si];
    /* hard-label baselines: every eps of the grid */
    size_t base0 = SIZE_MAX, base_first = D->nstudents;
    for (size_t ei = 0; ei < ne && !st; ei++) {
      lsp_run_student *u = add_student(D);
      u->eps = o->smoothing[ei];
      u->seed = seed;
      snprintf(u->tag, sizeof u->tag, "student_hard_eps%g_seed%lu", u->eps,
               seed);
      snprintf(u->label, sizeof u->label, "student, hard labels ε = %g",
               u->eps);
      if (o->n_seeds > 1)
        snprintf(u->label + strlen(u->label),
                 sizeof u->label - strlen(u->label), ", seed %lu", seed);
      if (u->eps == 0) base0 = (size_t)(u - D->students);
      st = student(s, u, NULL, models_dir, lg, user);
    }
    /* distilled students: every teacher of this seed at every T */
    for (size_t ei = 0; ei < ne && !st; ei++) {
      const size_t ti = si * ne + ei;
      lsp_run_dteacher *dt = &D->teachers[ti];
      const lsp_run_model *tm = &s->models[ti];
      dt->teacher = ti;
      dt->base_same = base_first + ei;
      dt->base_zero = base0;
      if ((st = lsp_model_predict(tm->model, s->data.train.x, n, 1024, tz,
                                  NULL)))
        break;
      for (size_t q = 0; q < nq && !st; q++) {
        lsp_run_student *u = add_student(D);
        u->distilled = 1;
        u->teacher = ti;
        u->teacher_eps = tm->eps;
        u->temperature = o->distill_temps[q];
        u->eps = 0.0;
        u->seed = seed;
        snprintf(u->tag, sizeof u->tag, "student_teps%g_T%g_seed%lu", tm->eps,
                 u->temperature, seed);
        snprintf(u->label, sizeof u->label, "student of ε = %g, T = %g",
                 tm->eps, u->temperature);
        if (o->n_seeds > 1)
          snprintf(u->label + strlen(u->label),
                   sizeof u->label - strlen(u->label), ", seed %lu", seed);
        dt->student[q] = (size_t)(u - D->students);
        st = student(s, u, tz, models_dir, lg, user);
      }
      if (!st) {
        dt->best = best_t(D, dt);
        say(lg, user, 0,
            "%s: best T = %g (validation accuracy %.4f), test accuracy %.4f",
            tm->label, D->temps[dt->best],
            D->students[dt->student[dt->best]].val_accuracy,
            D->students[dt->student[dt->best]].test_accuracy);
      }
      if (lsp_interrupted()) st = lsp_fail(LSP_EINTR, "interrupted");
    }
  }
  if (!st) st = compare_and_judge(s);
done:
  free(tz);
  D->seconds = lsp_now_s() - t0;
  return st;
}
