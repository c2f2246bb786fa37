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
#include "attacks/lsp_attack.h"
#include "core/base/lsp_error.h"
#include "reports/lsp_outdir.h"
#include "reports/lsp_pdf.h"
#include "core/base/lsp_io.h"
#include "core/formats/lsp_npy.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "reports/lsp_cache.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_cell_int.h"

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
  const double ls[] = {0, 0.05, 0.1, 0.2};
  memcpy(o->smoothing, ls, sizeof ls);
  o->n_smoothing = sizeof ls / sizeof ls[0];
  o->convention = LSP_LS_UNIFORM;
  o->seeds[0] = 1;
  o->seeds[1] = 2;
  o->seeds[2] = 3;
  o->n_seeds = 3;
  o->epochs = 5;
  o->arch = "mlp:256,256";
  o->batch = 128;
  o->lr = 0.1;
  o->momentum = 0.9;
  const double eps[] = {0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3};
  memcpy(o->attack_eps, eps, sizeof eps);
  o->n_attack_eps = sizeof eps / sizeof eps[0];
  o->pgd_steps = 10;
  o->pgd_restarts = 1;
  o->attack_limit = 1000;
  o->aa_limit = 200; /* on the judged cells only (aa_all = 0): DESIGN §9.5 */
  o->aa_all = 0;
  o->aa_budget = 5000.0;
  o->aa_steps = 100;
  o->aa_queries = 5000;
  o->bins = 15;
  o->bootstrap = 200;
  o->format = "svg";
  o->out = "lsprobe-report";
  o->mi_examples = 100;
  o->mi_copies = 20;
  o->distill = 0; /* opt-in: the section adds about half to the run's time (README) */
  o->distill_alpha = 0.9;
  const double temps[] = {1, 2, 4, 8};
  memcpy(o->distill_temps, temps, sizeof temps);
  o->n_distill_temps = 4;
  o->student_arch = "mlp:64";
}

void lsp_run_opts_quick(lsp_run_opts *o) {
  o->quick = 1;
  o->smoothing[0] = 0.0;
  o->smoothing[1] = 0.1;
  o->n_smoothing = 2;
  o->seeds[0] = 1;
  o->n_seeds = 1;
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


/* Check --arch against the data before anything is trained, and keep its
 * canonical string and description. */
static int prepare_arch(lsp_run_state *s) {
  const lsp_run_opts *o = &s->opts;
  lsp_model *m = NULL;
  lsp_shape in;
  lsp_splits_shape(&s->data, &in.c, &in.h, &in.w);
  int st = lsp_model_from_spec(o->arch, in, (size_t)s->data.train.k, o->normalize,
                               o->n_normalize, &m);
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

/* ---- the job --------------------------------------------------------------------- */

static void free_state(lsp_run_state *s) {
  for (size_t i = 0; i < s->nmodels; i++) lsp_run_model_release(&s->models[i]);
  for (size_t i = 0; i < s->ncells; i++) lsp_cell_result_release(&s->cells[i]);
  free(s->cells);
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
  int attacked = 0;
  for (size_t i = 0; i < o->n_attack_eps; i++) attacked |= o->attack_eps[i] > 0;
  if (!attacked)
    return lsp_fail(LSP_EINVAL, "no attack eps above 0: the robustness AUCs need an attack");
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
  /* t2t past (K-1)/K puts less on the label than on each other class */
  const double k = s->data.train.k, edge = (k - 1.0) / k;
  for (size_t i = 0; o->convention == LSP_LS_T2T && k >= 2 && i < o->n_smoothing; i++)
    if (o->smoothing[i] > edge)
      say(lg, 1,
          "smoothing %g with convention t2t on %.0f classes puts %g on the label and %g on each "
          "other class: the target prefers every wrong class (t2t keeps the label first for "
          "smoothing up to (K-1)/K = %g)",
          o->smoothing[i], k, 1.0 - o->smoothing[i], o->smoothing[i] / (k - 1.0), edge);
  char note[1200];
  if (lsp_attack_eps_range_note("--attack-eps", o->attack_eps, o->n_attack_eps, s->data.lo,
                                s->data.hi, note, sizeof note))
    say(lg, 1, "%s", note);
  return LSP_OK;
}

/* Everything after the cells, in the process that writes the report:
 * what spans the models, the students, the files, the publication. */
static int finish(lsp_run_state *s, lsp_outdir *od, const char *models_dir, const logger *lg,
                  double t_start, const char **report_path) {
  static char *report; /* the previous call's is freed */
  const lsp_run_opts *o = &s->opts;
  double t = lsp_now_s();
  int st;
  if ((st = lsp_run_projection(s))) return st;
  if ((st = lsp_run_erasure(s, lg->fn, lg->user))) return st;
  if ((st = lsp_run_compare_all(s))) return st;

  /* students distilled from every model, and hard-label students */
  if (o->distill) {
    /* Students train like the teachers (shares side by side on one-thread
     * GEMMs), and the teachers' logits, which key the students' cache
     * entries, must not depend on the thread count: a multi-threaded GEMM
     * sums in another order. */
    if (o->own_blas_threads) lsp_threads_set_blas(1);
    st = lsp_run_distill_students(s, models_dir, lg->fn, lg->user);
    if (o->own_blas_threads) lsp_threads_set_blas(s->threads);
    if (st) return st;
  }

  /* plots and report files into the staging folder, then publish */
  t = lsp_now_s();
  s->have_gnuplot = lsp_plot_available() == LSP_OK;
  if (!s->have_gnuplot) {
    snprintf(s->gnuplot_note, sizeof s->gnuplot_note,
             "gnuplot was not found (%s); the report has no pictures. scripts/setup "
             "installs gnuplot-nox.",
             lsp_errmsg());
    say(lg, 1, "%s", s->gnuplot_note);
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
  say(lg, 0, "writing the report%s", s->want_pdf ? " (report.pdf with Chromium)" : "");
  if ((st = lsp_report_write(s, lsp_outdir_stage(od)))) return st;
  if (s->pdf_note[0]) say(lg, 1, "%s", s->pdf_note);
  if (s->figure_note[0]) say(lg, 1, "%s", s->figure_note);
  s->seconds_report = lsp_now_s() - t;
  if (lsp_interrupted()) return lsp_fail(LSP_EINTR, "interrupted");
  const char *before = lsp_outdir_note(od);
  size_t nb = strlen(before);
  if ((st = lsp_outdir_publish(od))) return st;
  if (strlen(lsp_outdir_note(od)) > nb) say(lg, 1, "%s", lsp_outdir_note(od) + nb + (nb ? 2 : 0));
  int ol = (int)strlen(o->out); /* "out/" names the folder "out" */
  while (ol > 1 && o->out[ol - 1] == '/') ol--;
  if (s->pdf_written) say(lg, 0, "pdf: %.*s/report.pdf", ol, o->out);
  free(report);
  if (!(report = lsp_strdupf("%.*s/report.html", ol, o->out)))
    return lsp_fail(LSP_ENOMEM, "out of memory");
  if (report_path) *report_path = report;
  return LSP_OK;
}

/* Before the cells: the data, the network, and (in the process that writes
 * the report) the output folder — ours or refused (lsp_outdir.h); the
 * report is staged and published in one step at the end, the model cache
 * lives in OUT/models and is written in place. */
static int prepare(lsp_run_state *s, const logger *lg, int root, lsp_outdir **od,
                   char **models_dir, char **dumps) {
  const lsp_run_opts *o = &s->opts;
  int st;
  /* data first: a bad --data fails before anything is created */
  double t = lsp_now_s();
  if ((st = load_data(s, lg))) return st;
  s->seconds_data = lsp_now_s() - t;
  if ((st = prepare_arch(s))) return st;
  if (o->distill && (st = lsp_run_distill_prepare(s))) return st;
  if (!(*models_dir = lsp_strdupf("%s/models", o->out)))
    return lsp_fail(LSP_ENOMEM, "out of memory");
  if (!root) return LSP_OK; /* a worker process: the cache only */
  lsp_outdir_opts oo = {"run", o->force, "models", LSP_RUN_MAX_REL_STAGE, LSP_RUN_MAX_REL_OUT};
  if ((st = lsp_outdir_begin(o->out, &oo, od))) return st;
  if (lsp_outdir_note(*od)[0]) say(lg, 1, "%s", lsp_outdir_note(*od));
  if (!(*dumps = lsp_strdupf("%s/dumps", lsp_outdir_stage(*od))))
    return lsp_fail(LSP_ENOMEM, "out of memory");
  if ((st = lsp_mkdir_p(*models_dir)) || (st = lsp_mkdir_p(*dumps))) return st;
  return LSP_OK;
}

static int cmp_seed(const void *a, const void *b) {
  unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
  return (x > y) - (x < y);
}

static int run_job(const lsp_run_opts *opts, lsp_run_log_fn log, void *user,
                   const char **report_path) {
  logger lg = {log, user};
  lsp_run_state st_ = {0}, *s = &st_;
  s->opts = *opts;
  const lsp_run_opts *o = &s->opts;
  const lsp_run_dist *dist = o->dist;
  const int root = !dist || dist->root;
  s->command = o->command ? o->command : "lsprobe run";
  char *models_dir = NULL, *dumps = NULL;
  lsp_outdir *od = NULL;
  int st = check_opts(o);
  /* the attack ε in ascending order: the AUC's trapezoids, the curves and
   * the tables read the grid from its smallest ε to its largest; the
   * smoothing ε and the seeds too, so that nothing depends on the order
   * they were listed in: the cells, the models and every table follow
   * them, and the reference model (lsp_run_reference) is the first */
  if (!st) {
    qsort(s->opts.attack_eps, s->opts.n_attack_eps, sizeof *s->opts.attack_eps, lsp_cmp_double);
    qsort(s->opts.smoothing, s->opts.n_smoothing, sizeof *s->opts.smoothing, lsp_cmp_double);
    qsort(s->opts.seeds, s->opts.n_seeds, sizeof *s->opts.seeds, cmp_seed);
  }
  /* across processes: every one goes on with the same options, or all stop */
  if (dist) {
    char *text = NULL;
    if (!st) st = lsp_run_dist_opts_text(o, &text);
    st = dist->same ? dist->same(dist->user, st, LSP_EINVAL, "the options", text ? text : "")
                    : dist->agree(dist->user, st);
    free(text);
  }
  if (st) return st;
  double t_start = lsp_now_s();
  time_t wall = time(NULL);
  strftime(s->started, sizeof s->started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&wall));
  s->threads = lsp_threads_get();
  if (o->own_blas_threads) lsp_threads_set_blas(1);

  st = prepare(s, &lg, root, &od, &models_dir, &dumps);
  /* across processes: all go on, or all stop with the first failure (the
   * root's output folder, a worker's data) or when a process loaded other
   * data than the root */
  if (dist) {
    char text[512] = "";
    if (!st) lsp_run_dist_data_text(&s->data, text, sizeof text);
    st = dist->same ? dist->same(dist->user, st, LSP_EDATA, "the data", text)
                    : dist->agree(dist->user, st);
  }
  if (st) goto fail;

  /* the cells: one per (arch, ε, seed), seed-major, seeds and smoothing
   * ascending (sorted above; lsp_cell.h); across processes when dist is set (the
   * scheduler's outcome is every process's; the root's rebuilding of the
   * models may still fail on the root alone). OpenBLAS stays on one thread (set
   * above when we own the process): training's shares run side by side,
   * and a cell's numbers must not depend on the thread count */
  st = lsp_run_cells(s, models_dir, dumps, lg.fn, lg.user);
  if (!st && root) st = finish(s, od, models_dir, &lg, t_start, report_path);
  /* the workers wait for the root's rebuilding of the models and its
   * report: every process ends alike */
  if (dist) st = dist->agree(dist->user, st);
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
