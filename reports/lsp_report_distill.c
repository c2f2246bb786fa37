/* lsp_report_distill.c — the report's information-erasure and distillation
 * section (lsp_report_int.h): two figures, the section of report.html and
 * report.md, students.csv, and the results.json objects. Lays out what
 * lsp_run_distill.c measured; computes nothing. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "reports/lsp_csv.h"
#include "reports/lsp_report_int.h"
#include "reports/lsp_results_schema.h"

#define K(f) lsp_results_key(LSP_RF_##f)
#define MAXS 16 /* series per panel */

typedef lsp_report_plotter plotter;

/* ---- figures ------------------------------------------------------------- */

/* gnuplot warns (and the figure fails) on an empty y range: a panel whose
 * finite values are all equal gets an explicit range around them. */
static void pad_flat(lsp_plot_panel *pn) {
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < pn->nseries; i++) {
    const lsp_plot_series *sr = &pn->series[i];
    for (size_t j = 0; j < sr->n; j++) {
      const double v[3] = {sr->y[j], sr->lo ? sr->lo[j] : NAN,
                           sr->hi ? sr->hi[j] : NAN};
      for (int q = 0; q < 3; q++)
        if (isfinite(v[q])) {
          lo = fmin(lo, v[q]);
          hi = fmax(hi, v[q]);
        }
    }
  }
  if (isfinite(lo) && hi - lo < 1e-9 * fmax(1.0, fabs(lo))) {
    pn->ymin = lo - 0.01 * fmax(1.0, fabs(lo));
    pn->ymax = hi + 0.01 * fmax(1.0, fabs(hi));
  }
}

/* Teachers' accuracy against ε; the best distilled student's accuracy
 * against its teacher's ε beside the hard-label students against ε; the
 * students' validation accuracy against T. */
static int draw_distill(const plotter *p, const char *path, lsp_plot_format fmt,
                        void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  const lsp_run_distill *D = &s->distill;
  const lsp_run_opts *o = &s->opts;
  size_t ns = o->n_seeds < 8 ? o->n_seeds : 8,
         ne = o->n_smoothing < 16 ? o->n_smoothing : 16;
  double x[8][16], ty[8][16], tlo[8][16], thi[8][16], sy[8][16], slo[8][16],
      shi[8][16];
  double by[8][16], blo[8][16], bhi[8][16];
  lsp_plot_series st[MAXS], ss[MAXS], sv[MAXS];
  size_t nt = 0, nss = 0, nv = 0;
  char names[3][8][64];
  for (size_t si = 0; si < ns; si++) {
    for (size_t ei = 0; ei < ne; ei++) {
      const lsp_run_dteacher *dt = &D->teachers[si * o->n_smoothing + ei];
      const lsp_run_model *t = &s->models[dt->teacher];
      const lsp_run_student *best = &D->students[dt->student[dt->best]];
      const lsp_run_student *base = &D->students[dt->base_same];
      x[si][ei] = t->eps;
      ty[si][ei] = t->cal.value[LSP_CALIB_ACCURACY];
      tlo[si][ei] = t->cal.ci_lo[LSP_CALIB_ACCURACY];
      thi[si][ei] = t->cal.ci_hi[LSP_CALIB_ACCURACY];
      sy[si][ei] = best->test_accuracy;
      slo[si][ei] = best->acc_lo;
      shi[si][ei] = best->acc_hi;
      by[si][ei] = base->test_accuracy;
      blo[si][ei] = base->acc_lo;
      bhi[si][ei] = base->acc_hi;
    }
    const char *sfx = "";
    char seedname[32] = "";
    if (o->n_seeds > 1) {
      snprintf(seedname, sizeof seedname, ", seed %lu", o->seeds[si]);
      sfx = seedname;
    }
    snprintf(names[0][si], sizeof names[0][si], "teacher%s", sfx);
    snprintf(names[1][si], sizeof names[1][si], "distilled, best T%s", sfx);
    snprintf(names[2][si], sizeof names[2][si], "hard labels, same ε%s", sfx);
    lsp_plot_series a = lsp_plot_series_make(names[0][si], x[si], ty[si], ne);
    a.lo = tlo[si];
    a.hi = thi[si];
    a.ci = LSP_PLOT_CI_BARS;
    a.color = (int)si;
    st[nt++] = a;
    lsp_plot_series b = lsp_plot_series_make(names[1][si], x[si], sy[si], ne);
    b.lo = slo[si];
    b.hi = shi[si];
    b.ci = LSP_PLOT_CI_BARS;
    b.color = (int)(2 * si);
    ss[nss++] = b;
    lsp_plot_series c = lsp_plot_series_make(names[2][si], x[si], by[si], ne);
    c.lo = blo[si];
    c.hi = bhi[si];
    c.ci = LSP_PLOT_CI_BARS;
    c.color = (int)(2 * si + 1);
    c.dash = 1;
    ss[nss++] = c;
  }
  /* validation accuracy against T, one line per teacher (at most MAXS) */
  double vx[MAXS][LSP_DISTILL_MAX_T], vy[MAXS][LSP_DISTILL_MAX_T];
  char vn[MAXS][96];
  for (size_t i = 0; i < D->nteachers && nv < MAXS; i++) {
    const lsp_run_dteacher *dt = &D->teachers[i];
    for (size_t q = 0; q < D->ntemps; q++) {
      vx[nv][q] = D->temps[q];
      vy[nv][q] = D->students[dt->student[q]].val_accuracy;
    }
    snprintf(vn[nv], sizeof vn[nv], "teacher %s", s->models[dt->teacher].label);
    sv[nv] = lsp_plot_series_make(vn[nv], vx[nv], vy[nv], D->ntemps);
    sv[nv].color = (int)nv;
    nv++;
  }
  char xl[96], t2[320];
  snprintf(xl, sizeof xl, "teacher's label smoothing ε (%s)",
           lsp_ls_convention_name(o->convention));
  snprintf(t2, sizeof t2, "Students %s (α = %g)", D->student_arch, D->alpha);
  lsp_plot_panel pn[3] = {
      {"Teachers", xl, "test accuracy", 0, 0, NAN, NAN, NAN, NAN, "bottom left",
       st, nt},
      {t2, xl, "test accuracy", 0, 0, NAN, NAN, NAN, NAN, "bottom left", ss,
       nss},
      {"Students: validation accuracy against T", "distillation temperature T",
       "validation accuracy", 0, 0, NAN, NAN, NAN, NAN, "below", sv, nv}};
  for (int q = 0; q < 3; q++) pad_flat(&pn[q]);
  lsp_plot_opts po = {
      fmt,
      "Knowledge distillation from teachers trained with and without smoothing "
      "(95% bootstrap intervals)",
      0, 0, 3, 0};
  return lsp_plot_lines(path, &po, pn, 3);
}

/* Î against ε: teachers, distilled students (at their teacher's ε),
 * hard-label students, and the level of an estimate without information. */
static int draw_erasure(const plotter *p, const char *path, lsp_plot_format fmt,
                        void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  const lsp_run_distill *D = &s->distill;
  const lsp_run_opts *o = &s->opts;
  size_t ns = o->n_seeds < 4 ? o->n_seeds : 4,
         ne = o->n_smoothing < 16 ? o->n_smoothing : 16;
  double x[4][16], y[3][4][16], ylo[4][16], yhi[4][16], fx[2], fy[2];
  lsp_plot_series ser[MAXS];
  size_t n = 0;
  char names[3][4][64];
  double xmin = INFINITY, xmax = -INFINITY;
  for (size_t si = 0; si < ns; si++) {
    for (size_t ei = 0; ei < ne; ei++) {
      const lsp_run_model *t = &s->models[si * o->n_smoothing + ei];
      x[si][ei] = t->eps;
      xmin = fmin(xmin, t->eps);
      xmax = fmax(xmax, t->eps);
      y[0][si][ei] = t->mi;
      ylo[si][ei] = t->mi_lo;
      yhi[si][ei] = t->mi_hi;
      y[1][si][ei] = y[2][si][ei] = NAN;
      if (D->on) {
        const lsp_run_dteacher *dt = &D->teachers[si * o->n_smoothing + ei];
        y[1][si][ei] = D->students[dt->student[dt->best]].mi;
        y[2][si][ei] = D->students[dt->base_same].mi;
      }
    }
    const char *what[3] = {"teachers",
                           "distilled students (at the teacher's ε)",
                           "hard-label students"};
    for (int k = 0; k < (D->on ? 3 : 1); k++) {
      if (o->n_seeds > 1)
        snprintf(names[k][si], sizeof names[k][si], "%s, seed %lu", what[k],
                 o->seeds[si]);
      else
        snprintf(names[k][si], sizeof names[k][si], "%s",
                 D->on ? what[k] : "models");
      lsp_plot_series a =
          lsp_plot_series_make(names[k][si], x[si], y[k][si], ne);
      a.color = (int)(3 * si) + k;
      a.dash = k;
      if (k == 0) {
        a.lo = ylo[si];
        a.hi = yhi[si];
        a.ci = LSP_PLOT_CI_BARS;
      }
      ser[n++] = a;
    }
  }
  fx[0] = xmin;
  fx[1] = xmax > xmin ? xmax : xmin + 1;
  fy[0] = fy[1] = D->mi_floor;
  lsp_plot_series f =
      lsp_plot_series_make("no information: ½ log(R/(R−1))", fx, fy, 2);
  f.color = 6;
  f.dash = 2;
  f.marker = -1;
  ser[n++] = f;
  char xl[96], title[256];
  snprintf(xl, sizeof xl, "label smoothing ε (%s)",
           lsp_ls_convention_name(o->convention));
  snprintf(title, sizeof title,
           "Information erasure Î(X; z_%d − z_%d), %zu examples × %zu copies",
           D->mi_a, D->mi_b, 2 * D->mi_m, D->mi_r);
  lsp_plot_panel pn = {NULL,
                       xl,
                       "Î (nats, Gaussian estimate)",
                       0,
                       0,
                       NAN,
                       NAN,
                       0,
                       NAN,
                       "center right",
                       ser,
                       n};
  if (xmax <= xmin) pn.xmin = xmin - 0.05, pn.xmax = xmin + 0.05;
  lsp_plot_opts po = {fmt, title, 6.0, 3.6, 0, 0};
  return lsp_plot_lines(path, &po, &pn, 1);
}

int lsp_report_distill_plots(plotter *p, lsp_report_figs *f) {
  f->distill[0] = f->erasure[0] = '\0';
  const lsp_run_distill *D = &p->s->distill;
  int st = LSP_OK;
  if (D->mi_on)
    st = lsp_report_figure(p, "information_erasure", draw_erasure, NULL,
                           f->erasure, sizeof f->erasure);
  if (!st && D->on)
    st = lsp_report_figure(p, "distillation", draw_distill, NULL, f->distill,
                           sizeof f->distill);
  return st;
}

/* ---- tables -------------------------------------------------------------- */

static lsp_table *teacher_table(const lsp_run_state *s) {
  const lsp_run_distill *D = &s->distill;
  const char *hdr[] = {"teacher",
                       "teacher test accuracy",
                       "teacher Î (nats)",
                       "best T",
                       "distilled student accuracy",
                       "Δ vs student of the ε = 0 teacher",
                       "student Î (nats)",
                       "hard-label student, same ε",
                       "its Î (nats)"};
  const char *keys[] = {"teacher",     "teacher_accuracy",  "teacher_mi",
                        "temperature", "student_accuracy",  "student_diff",
                        "student_mi",  "baseline_accuracy", "baseline_mi"};
  lsp_table *t = lsp_table_alloc(9, hdr);
  if (!t || lsp_table_keys(t, keys)) {
    lsp_table_free(t);
    return NULL;
  }
  for (size_t i = 0; i < D->nteachers; i++) {
    const lsp_run_dteacher *dt = &D->teachers[i];
    const lsp_run_model *m = &s->models[dt->teacher];
    const lsp_run_student *b = &D->students[dt->student[dt->best]],
                          *h = &D->students[dt->base_same];
    lsp_table_row(t);
    lsp_table_text(t, 0, m->label);
    lsp_table_num_ci(t, 1, m->cal.value[LSP_CALIB_ACCURACY],
                     m->cal.ci_lo[LSP_CALIB_ACCURACY],
                     m->cal.ci_hi[LSP_CALIB_ACCURACY]);
    lsp_table_num_ci(t, 2, m->mi, m->mi_lo, m->mi_hi);
    lsp_table_num(t, 3, D->temps[dt->best]);
    lsp_table_num_ci(t, 4, b->test_accuracy, b->acc_lo, b->acc_hi);
    if (isnan(dt->diff))
      lsp_table_text(t, 5, "–");
    else
      lsp_table_num_ci(t, 5, dt->diff, dt->lo, dt->hi);
    lsp_table_num_ci(t, 6, b->mi, b->mi_lo, b->mi_hi);
    lsp_table_num_ci(t, 7, h->test_accuracy, h->acc_lo, h->acc_hi);
    lsp_table_num_ci(t, 8, h->mi, h->mi_lo, h->mi_hi);
  }
  for (size_t c = 1; c <= 8; c++) lsp_table_digits(t, c, 4);
  return t;
}

static lsp_table *student_table(const lsp_run_state *s) {
  const lsp_run_distill *D = &s->distill;
  const char *hdr[] = {"student",       "teacher ε", "T",
                       "own ε",         "seed",      "validation accuracy",
                       "test accuracy", "Î (nats)",  "training",
                       "model file"};
  const char *keys[] = {
      "student", "teacher_eps",  "temperature",   "eps",
      "seed",    "val_accuracy", "test_accuracy", "mutual_information",
      "cached",  "model_file"};
  lsp_table *t = lsp_table_alloc(10, hdr);
  if (!t || lsp_table_keys(t, keys)) {
    lsp_table_free(t);
    return NULL;
  }
  for (size_t i = 0; i < D->nstudents; i++) {
    const lsp_run_student *u = &D->students[i];
    lsp_table_row(t);
    lsp_table_text(t, 0, u->label);
    lsp_table_num(t, 1, u->teacher_eps);
    lsp_table_num(t, 2, u->temperature);
    lsp_table_num(t, 3, u->eps);
    lsp_table_int(t, 4, (long long)u->seed);
    lsp_table_num(t, 5, u->val_accuracy);
    lsp_table_num_ci(t, 6, u->test_accuracy, u->acc_lo, u->acc_hi);
    lsp_table_num_ci(t, 7, u->mi, u->mi_lo, u->mi_hi);
    lsp_table_text(t, 8, u->cached ? "reused" : "trained");
    lsp_table_text(t, 9, lsp_report_rel_path(s, u->model_file));
  }
  for (size_t c = 5; c <= 7; c++) lsp_table_digits(t, c, 4);
  return t;
}

static lsp_table *mi_table(const lsp_run_state *s) {
  const char *hdr[] = {"model", "ε", "seed", "Î (nats)"};
  const char *keys[] = {"model", "eps", "seed", "mutual_information"};
  lsp_table *t = lsp_table_alloc(4, hdr);
  if (!t || lsp_table_keys(t, keys)) {
    lsp_table_free(t);
    return NULL;
  }
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    lsp_table_row(t);
    char eps_text[32]; /* ε as given: "0.1", as for ε = 0's "0" */
    lsp_table_roundtrip(m->eps, eps_text);
    lsp_table_text(t, 0, m->label);
    lsp_table_text(t, 1, eps_text);
    lsp_table_int(t, 2, (long long)m->seed);
    lsp_table_num_ci(t, 3, m->mi, m->mi_lo, m->mi_hi);
  }
  lsp_table_digits(t, 3, 4);
  return t;
}

int lsp_report_distill_csv(const lsp_run_state *s, const char *dir) {
  if (!s->distill.on) return LSP_OK;
  lsp_table *t = student_table(s);
  if (!t) return lsp_fail(LSP_ENOMEM, "out of memory");
  char path[4200];
  snprintf(path, sizeof path, "%s/students.csv", dir);
  int st = lsp_csv_write(path, t);
  lsp_table_free(t);
  return st;
}

/* ---- the document section ------------------------------------------------ */

static void d_figure(lsp_doc *d, const plotter *p, const char *svg,
                     const char *caption) {
  if (!svg[0]) return;
  char file[4096];
  snprintf(file, sizeof file, "%s", svg);
  if (p->want_extra) {
    char *dot = strrchr(file, '.');
    if (dot)
      snprintf(dot, sizeof file - (size_t)(dot - file), ".%s",
               lsp_plot_format_ext(p->extra));
  }
  lsp_doc_figure(d, svg, file, caption);
}

int lsp_report_distill_doc(lsp_doc *d, const lsp_run_state *s, const plotter *p,
                           const lsp_report_figs *figs) {
  const lsp_run_distill *D = &s->distill;
  char buf[4096];
  lsp_doc_heading(d, 2, "Information erasure and distillation");
  if (!D->mi_on) {
    snprintf(buf, sizeof buf, "The information-erasure probe did not run: %s",
             D->mi_note);
    lsp_doc_note(d, LSP_HTML_WARNING, buf);
  } else {
    /* the model that chose the pair (lsp_run_reference) */
    const lsp_run_model *rm = &s->models[D->mi_ref];
    char ref[128];
    int nl = snprintf(ref, sizeof ref, "ε = %g", rm->eps);
    if (s->opts.n_seeds > 1)
      snprintf(ref + nl, sizeof ref - (size_t)nl, " model of the smallest seed, %lu,", rm->seed);
    else
      snprintf(ref + nl, sizeof ref - (size_t)nl, " model");
    snprintf(buf, sizeof buf,
             "Müller et al. (2019, §4) argue that label smoothing erases the "
             "information the "
             "logits carry about how examples of one class resemble another, "
             "which a student "
             "needs from its teacher. The probe: the first %zu training "
             "examples of classes %d "
             "and %d (the pair the %s confuses most on the validation "
             "split: %zu "
             "confusions), %zu copies of each (%s Gaussian pixel noise of sd "
             "%g, clipped to "
             "the data's range; seed %lu), the logit difference d = z_%d − "
             "z_%d of every copy, "
             "and Î(X; d) = ½ log(Var(d) / mean over examples of Var(d | "
             "example)), in nats. "
             "The true mutual information is at most log %zu = %.3f nats; an "
             "estimate without "
             "any information is about ½ log(R/(R−1)) = %.4f.",
             D->mi_m, D->mi_a, D->mi_b, ref, D->mi_confusions, D->mi_r,
             D->mi_shifted ? "random shifts of up to 2 pixels, then"
                           : "no shifts, as the data has no image shape; only",
             D->mi_opts.perturb.noise_sd, D->mi_opts.perturb.seed, D->mi_a,
             D->mi_b, 2 * D->mi_m, D->mi_bound, D->mi_floor);
    if (D->mi_shifted && D->mi_opts.perturb.max_shift != 2)
      snprintf(buf + strlen(buf), sizeof buf - strlen(buf),
               " (Shifts of up to %d pixels.)", D->mi_opts.perturb.max_shift);
    lsp_doc_par(d, buf);
    d_figure(d, p, figs->erasure, "Information erasure against ε.");
    if (!D->on) {
      lsp_table *t = mi_table(s);
      if (!t) return LSP_ENOMEM;
      lsp_doc_table(d, t, "Î(X; z_a − z_b) of every model.");
      lsp_table_free(t);
    }
  }
  if (!D->on) {
    lsp_doc_par(d, "Distillation was not run (lsprobe run --distill adds it).");
    return LSP_OK;
  }
  char ts[128] = "";
  for (size_t q = 0; q < D->ntemps; q++)
    snprintf(ts + strlen(ts), sizeof ts - strlen(ts), "%s%g", q ? ", " : "",
             D->temps[q]);
  snprintf(
      buf, sizeof buf,
      "Students (%s) are trained from each teacher's logits, computed once per "
      "teacher "
      "over the training split, with Hinton's loss (1 − α)·CE(y, softmax(z)) + "
      "α·T²·"
      "KL(softmax(t/T) ‖ softmax(z/T)), α = %g, at T ∈ {%s}; the T with the "
      "best "
      "validation accuracy is kept. Baselines: the same student trained on the "
      "hard labels "
      "with each ε of the grid (so with ε = 0 and with the teacher's ε). Same "
      "epochs, "
      "batch, SGD settings and seeds as the teachers. %.1f s for this section.",
      D->student_arch, D->alpha, ts, D->seconds);
  lsp_doc_par(d, buf);
  if (D->has_verdict) {
    lsp_finding f = {D->verdict.claim, D->verdict.verdict, D->verdict.evidence};
    lsp_doc_findings(d, &f, 1);
  } else {
    lsp_doc_par(
        d, "No verdict: the grid needs an ε = 0 teacher and a smoothed one.");
  }
  d_figure(d, p, figs->distill,
           "Teachers and students against the teacher's ε; students' "
           "validation accuracy against T.");
  lsp_table *t = teacher_table(s);
  if (!t) return LSP_ENOMEM;
  lsp_doc_table(
      d, t,
      "Per teacher: its best student (T chosen on validation) and the "
      "hard-label "
      "student of the same ε (95% bootstrap intervals; Δ: paired bootstrap on "
      "the same test examples).");
  lsp_table_free(t);
  if (!(t = student_table(s))) return LSP_ENOMEM;
  lsp_doc_table(d, t, "Every student.");
  lsp_table_free(t);
  return LSP_OK;
}

/* ---- results.json -------------------------------------------------------- */

static void json_diff(lsp_json *j, const char *key, double d, double lo,
                      double hi) {
  lsp_json_key(j, key);
  lsp_json_obj_begin(j);
  lsp_json_key_num(j, K(DF_DIFF), d);
  double ci[2] = {lo, hi};
  lsp_json_key_nums(j, K(DF_CI), ci, 2);
  lsp_json_obj_end(j);
}

void lsp_report_distill_json(lsp_json *j, const lsp_run_state *s) {
  const lsp_run_distill *D = &s->distill;
  if (!D->mi_on) goto distill;
  lsp_json_key(j, K(ERASURE));
  lsp_json_obj_begin(j);
  double cls[2] = {D->mi_a, D->mi_b};
  lsp_json_key_nums(j, K(ER_CLASSES), cls, 2);
  lsp_json_key_int(j, K(ER_PAIR_CONFUSIONS), (long long)D->mi_confusions);
  lsp_json_key_int(j, K(ER_EXAMPLES), (long long)D->mi_m);
  lsp_json_key_int(j, K(ER_COPIES), (long long)D->mi_r);
  lsp_json_key_int(j, K(ER_MAX_SHIFT), D->mi_opts.perturb.max_shift);
  lsp_json_key_num(j, K(ER_NOISE_SD), D->mi_opts.perturb.noise_sd);
  lsp_json_key_int(j, K(ER_SEED), (long long)D->mi_opts.perturb.seed);
  lsp_json_key_bool(j, K(ER_SHIFTED), D->mi_shifted);
  lsp_json_key_num(j, K(ER_BOUND), D->mi_bound);
  lsp_json_key_num(j, K(ER_NO_INFORMATION), D->mi_floor);
  if (D->mi_note[0]) lsp_json_key_str(j, K(ER_NOTE), D->mi_note);
  lsp_json_obj_end(j);
distill:
  if (!D->on) return;
  lsp_json_key(j, K(DISTILLATION));
  lsp_json_obj_begin(j);
  lsp_json_key_str(j, K(DI_STUDENT_ARCH), D->student_arch);
  lsp_json_key_num(j, K(DI_ALPHA), D->alpha);
  lsp_json_key_nums(j, K(DI_TEMPERATURES), D->temps, D->ntemps);
  lsp_json_key_num(j, K(DI_SECONDS), D->seconds);
  lsp_json_key(j, K(DI_STUDENTS));
  lsp_json_arr_begin(j);
  for (size_t i = 0; i < D->nstudents; i++) {
    const lsp_run_student *u = &D->students[i];
    lsp_json_obj_begin(j);
    lsp_json_key_str(j, K(ST_TAG), u->tag);
    lsp_json_key_str(j, K(ST_KIND), u->distilled ? "distilled" : "hard_labels");
    if (u->distilled)
      lsp_json_key_str(j, K(ST_TEACHER), s->models[u->teacher].tag);
    lsp_json_key_num(j, K(ST_TEACHER_EPS), u->teacher_eps);
    lsp_json_key_num(j, K(ST_TEMPERATURE), u->temperature);
    lsp_json_key_num(j, K(ST_EPS), u->eps);
    lsp_json_key_int(j, K(ST_SEED), (long long)u->seed);
    lsp_json_key_str(j, K(ST_MODEL_FILE), lsp_report_rel_path(s, u->model_file));
    lsp_json_key_bool(j, K(ST_CACHED), u->cached);
    lsp_json_key_num(j, K(ST_VAL_ACCURACY), u->val_accuracy);
    lsp_json_key_num(j, K(ST_TEST_ACCURACY), u->test_accuracy);
    double ci[2] = {u->acc_lo, u->acc_hi};
    lsp_json_key_nums(j, K(ST_ACCURACY_CI), ci, 2);
    lsp_json_key_num(j, K(ST_MI), u->mi);
    double mci[2] = {u->mi_lo, u->mi_hi};
    lsp_json_key_nums(j, K(ST_MI_CI), mci, 2);
    lsp_json_key_num(j, K(ST_TRAIN_SECONDS), u->train_seconds);
    lsp_json_obj_end(j);
  }
  lsp_json_arr_end(j);
  lsp_json_key(j, K(DI_TEACHERS));
  lsp_json_arr_begin(j);
  for (size_t i = 0; i < D->nteachers; i++) {
    const lsp_run_dteacher *dt = &D->teachers[i];
    const lsp_run_model *m = &s->models[dt->teacher];
    const lsp_run_student *b = &D->students[dt->student[dt->best]];
    lsp_json_obj_begin(j);
    lsp_json_key_str(j, K(DT_TEACHER), m->tag);
    lsp_json_key_num(j, K(DT_EPS), m->eps);
    lsp_json_key_int(j, K(DT_SEED), (long long)m->seed);
    lsp_json_key_num(j, K(DT_TEMPERATURE), D->temps[dt->best]);
    lsp_json_key_str(j, K(DT_STUDENT), b->tag);
    lsp_json_key_num(j, K(DT_STUDENT_ACCURACY), b->test_accuracy);
    double ci[2] = {b->acc_lo, b->acc_hi};
    lsp_json_key_nums(j, K(DT_STUDENT_ACCURACY_CI), ci, 2);
    double va[LSP_DISTILL_MAX_T], te[LSP_DISTILL_MAX_T];
    for (size_t q = 0; q < D->ntemps; q++) {
      va[q] = D->students[dt->student[q]].val_accuracy;
      te[q] = D->students[dt->student[q]].test_accuracy;
    }
    lsp_json_key_nums(j, K(DT_VAL_ACCURACY), va, D->ntemps);
    lsp_json_key_nums(j, K(DT_TEST_ACCURACY), te, D->ntemps);
    lsp_json_key_str(j, K(DT_BASELINE_SAME), D->students[dt->base_same].tag);
    if (dt->base_zero != SIZE_MAX)
      lsp_json_key_str(j, K(DT_BASELINE_ZERO), D->students[dt->base_zero].tag);
    if (!isnan(dt->diff)) {
      json_diff(j, K(DT_STUDENT_DIFF), dt->diff, dt->lo, dt->hi);
      json_diff(j, K(DT_TEACHER_DIFF), dt->tdiff, dt->tlo, dt->thi);
    }
    if (!isnan(dt->midiff))
      json_diff(j, K(DT_MI_DIFF), dt->midiff, dt->milo, dt->mihi);
    lsp_json_obj_end(j);
  }
  lsp_json_arr_end(j);
  if (D->has_verdict) {
    lsp_json_key(j, K(DI_FINDING));
    lsp_json_obj_begin(j);
    lsp_json_key_str(j, K(F_TOPIC), "distillation");
    lsp_json_key_num(j, K(F_JUDGED_EPS), D->verdict_eps);
    lsp_json_key_str(j, K(F_CLAIM), D->verdict.claim);
    lsp_json_key_str(j, K(F_VERDICT), lsp_finding_word(D->verdict.verdict));
    lsp_json_key_str(j, K(F_EVIDENCE), D->verdict.evidence);
    lsp_json_obj_end(j);
  }
  lsp_json_obj_end(j);
}
