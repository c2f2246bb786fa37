/* lsprobe run — the main job: train with and without label smoothing,
 * measure every claim, write the comparison report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_threads.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_run.h"
#ifdef LSP_MPI
#include "mpi/lsp_mpi.h"
#include "mpi/lsp_mpi_run.h"
#endif

typedef struct {
  int tty;
  int quiet;
  int pending; /* an updating line is on screen */
  int rank;    /* under mpirun: this rank (> 0 prefixes its lines) */
} run_log;

static void on_log(int level, const char *msg, void *user) {
  run_log *l = user;
  if (l->quiet && level == 0) return;
  if (level == 2) {
    if (l->quiet || !l->tty) return; /* progress lines only on a terminal */
    fprintf(stderr, "\r\033[K%s", msg);
    l->pending = 1;
    return;
  }
  if (l->pending) fputs("\r\033[K", stderr);
  l->pending = 0;
  char who[32] = "";
  if (l->rank > 0) snprintf(who, sizeof who, "[rank %d] ", l->rank);
  if (level == 1)
    fprintf(stderr, "%slsprobe: run: WARNING: %s\n", who, msg);
  else
    fprintf(stderr, "%s%s\n", who, msg);
}

static int copy_list(const char *cmd, const char *name, const double *v, size_t n,
                     double *dst, size_t cap, size_t *out_n) {
  if (n > cap) return cli_error(cmd, CLI_USAGE, "--%s: at most %zu values", name, cap);
  memcpy(dst, v, n * sizeof *v);
  *out_n = n;
  return CLI_OK;
}

static int run_with(const char *cmd, cli_opt *opts, lsp_run_opts *op, int argc, char **argv);
static int run_go(const char *cmd, cli_opt *opts, lsp_run_opts *op);

int cmd_run(int argc, char **argv) {
  const char *cmd = "run";
  cli_opt opts[] = {
      {"data", "D", "fashion-mnist (default; synthetic if not installed), synthetic, or a folder (IDX, CSV or .npy)", 1, 0, 0},
      {"smoothing", "LIST", "label smoothing values to compare, in any order: taken ascending (default 0,0.05,0.1,0.2; --quick 0,0.1)", 1, 0, 0},
      {"convention", "C", "uniform (default) or t2t", 1, 0, 0},
      {"seeds", "LIST", "training seeds, in any order: taken ascending (default 1,2,3; --quick 1): the intervals resample seeds, then test examples", 1, 0, 0},
      {"epochs", "E", "training epochs (default 5)", 1, 0, 0},
      {"arch", "A", CLI_ARCH_HELP, 1, 0, 0},
      {"hidden", "LIST", "MLP hidden widths: the same as --arch mlp:LIST", 1, 0, 0},
      {"normalize", "M,S", CLI_NORMALIZE_HELP, 1, 0, 0},
      {"batch", "B", "mini-batch size (default 128)", 1, 0, 0},
      {"lr", "R", "SGD learning rate (default 0.1)", 1, 0, 0},
      {"momentum", "M", "SGD momentum in [0, 1) (default 0.9)", 1, 0, 0},
      {"attack-eps", "LIST",
       "attack strengths (L∞) in the inputs' units, the [0, 1] pixel scale for images; one "
       "above 0 at least (default 0,0.01,0.02,0.05,0.1,0.2,0.3)",
       1, 0, 0},
      {"attack-limit", "N", "attack the first N test examples (default 1000; 0 = all)", 1, 0, 0},
      {"pgd-steps", "S", "PGD steps (default 10)", 1, 0, 0},
      {"restarts", "R", "PGD restarts (default 1)", 1, 0, 0},
      {"aa-limit", "N",
       "AutoAttack on at most the first N attacked examples (default 200, --quick 100; 0 = "
       "none)",
       1, 0, 0},
      {"aa-all", NULL,
       "AutoAttack on every model (default: only the ε = 0 and the judged ε models, whose "
       "comparison the robustness finding rests on)",
       0, 0, 0},
      {"aa-budget", "G",
       "AutoAttack's predicted work per model in GFLOP, sizing its subset (default 5000)", 1,
       0, 0},
      {"bins", "M", "calibration bins of the per-model tables (default 15; the findings keep the pre-declared 15)", 1, 0, 0},
      {"bootstrap", "B", "bootstrap resamples per model, and example resamples per cell (at most 1000) (default 200)", 1, 0, 0},
      {"format", "F",
       "extra plot format: svg (default), png or pdf; pdf also prints the whole report "
       "to report.pdf (headless Chromium)",
       1, 0, 0},
      {"out", "DIR", "output folder (default lsprobe-report); files lsprobe did not write there are "
                     "never removed", 1, 0, 0},
      {"force", NULL, "write into a non-empty --out folder lsprobe did not create", 0, 0, 0},
      {"threads", "T", "threads (default and 0: all cores; under MPI a node's cores shared by its computing ranks)", 1, 0, 0},
      {"jobs", "J", "cells (model × ε × seed) run at once, one thread each (default: the thread count; under MPI one per rank); the numbers do not depend on it", 1, 0, 0},
      {"distill", NULL, "add the distillation section: students of every model (about doubles the run's time)", 0, 0, 0},
      {"distill-alpha", "A", "weight of the teacher term in the students' loss (default 0.9)", 1, 0, 0},
      {"distill-temps", "LIST", "distillation temperatures tried, best on validation (default 1,2,4,8)", 1, 0, 0},
      {"student-arch", "A", "the students' network, as --arch (default mlp:64: 784-64-10)", 1, 0, 0},
      {"mi-examples", "M", "information erasure: training examples per class (default 100)", 1, 0, 0},
      {"mi-copies", "R", "information erasure: perturbed copies per example (default 20)", 1, 0, 0},
      {"quick", NULL,
       "tiny configuration for smoke tests (minutes -> seconds): --seeds 1 --smoothing 0,0.1 "
       "--arch mlp:64 --epochs 2 --attack-eps 0,0.05,0.1,0.3 --attack-limit 300 --pgd-steps 5 "
       "--aa-limit 100 --bootstrap 100 --mi-examples 30 --mi-copies 8 --student-arch mlp:16, "
       "5000 training and 1000 test examples, AutoAttack with 20 APGD iterations and 300 "
       "Square queries; options given override these",
       0, 0, 0},
      {"quiet", NULL, "no progress, only warnings and errors", 0, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc = cli_parse(cmd, "[options]",
                     "Train networks (an MLP by default; --arch lenet, resnet8 or a layer spec) "
                     "with and\nwithout label smoothing (or reuse cached ones), measure "
                     "accuracy,\ncalibration, penultimate-layer clusters, logit gaps and "
                     "robustness to FGSM, PGD,\ntransfer attacks and AutoAttack (its subset sized "
                     "to --aa-budget), and write a\ncomparison report (HTML, Markdown, JSON, CSV, "
                     "plots).\nThe MPI build under mpirun or srun with several ranks runs the "
                     "cells across the\nranks: rank 0 schedules them and writes the same report "
                     "(README: Running on MPI).",
                     argc, argv, opts);
  if (rc) return rc;
  lsp_run_opts o;
  lsp_run_opts_default(&o);
  if (cli_has(opts, "quick")) lsp_run_opts_quick(&o);
  o.data = cli_str(opts, "data", o.data);
  o.data_fallback = !cli_has(opts, "data");
  double *v = NULL;
  long *l = NULL;
  size_t n;
  char defs[256] = "";
  for (size_t i = 0; i < o.n_smoothing; i++)
    snprintf(defs + strlen(defs), sizeof defs - strlen(defs), "%s%g", i ? "," : "", o.smoothing[i]);
  if ((rc = cli_get_doubles_distinct(cmd, opts, "smoothing", defs, 0, 1, &v, &n))) return rc;
  rc = copy_list(cmd, "smoothing", v, n, o.smoothing, 16, &o.n_smoothing);
  free(v);
  if (rc) return rc;
  if (lsp_ls_convention_parse(cli_str(opts, "convention", "uniform"), &o.convention))
    return cli_error(cmd, CLI_USAGE, "--convention: %s", lsp_errmsg());
  defs[0] = '\0';
  for (size_t i = 0; i < o.n_seeds; i++)
    snprintf(defs + strlen(defs), sizeof defs - strlen(defs), "%s%lu", i ? "," : "", o.seeds[i]);
  if ((rc = cli_get_longs_distinct(cmd, opts, "seeds", defs, 0, 2147483647L, &l, &n))) return rc;
  if (n > 16) {
    free(l);
    return cli_error(cmd, CLI_USAGE, "--seeds: at most 16 values");
  }
  for (size_t i = 0; i < n; i++) o.seeds[i] = (unsigned long)l[i];
  o.n_seeds = n;
  free(l);
  long e, b, lim, steps, restarts, bins, boot, threads, aalim, jobs;
  if ((rc = cli_get_long(cmd, opts, "epochs", (long)o.epochs, 1, 100000, &e)) ||
      (rc = cli_get_long(cmd, opts, "batch", (long)o.batch, 1, 1000000, &b)) ||
      (rc = cli_get_long(cmd, opts, "attack-limit", (long)o.attack_limit, 0, 1L << 40, &lim)) ||
      (rc = cli_get_long(cmd, opts, "pgd-steps", (long)o.pgd_steps, 1, 100000, &steps)) ||
      (rc = cli_get_long(cmd, opts, "restarts", (long)o.pgd_restarts, 1, 1000, &restarts)) ||
      (rc = cli_get_long(cmd, opts, "aa-limit", (long)o.aa_limit, 0, 1L << 40, &aalim)) ||
      (rc = cli_get_double(cmd, opts, "aa-budget", o.aa_budget, 1e-6, 1e12, &o.aa_budget)) ||
      (rc = cli_get_long(cmd, opts, "bins", (long)o.bins, 1, 100000, &bins)) ||
      (rc = cli_get_long(cmd, opts, "bootstrap", (long)o.bootstrap, 1, 1000000, &boot)) ||
      (rc = cli_get_long(cmd, opts, "threads", 0, 0, 1024, &threads)) ||
      (rc = cli_get_long(cmd, opts, "jobs", 0, 1, 1024, &jobs)) ||
      (rc = cli_get_double(cmd, opts, "lr", o.lr, 1e-12, 1e6, &o.lr)) ||
      (rc = cli_get_double(cmd, opts, "momentum", o.momentum, 0, 0.999999, &o.momentum)))
    return rc;
  cli_bootstrap_warn(cmd, boot);
  o.epochs = (size_t)e;
  o.batch = (size_t)b;
  o.attack_limit = (size_t)lim;
  o.pgd_steps = (size_t)steps;
  o.pgd_restarts = (size_t)restarts;
  o.aa_limit = (size_t)aalim;
  o.aa_all = cli_has(opts, "aa-all");
  o.bins = (size_t)bins;
  o.bootstrap = (size_t)boot;
  o.threads = (int)threads;
  o.jobs = (size_t)jobs;
  o.own_blas_threads = 1; /* the command owns its process */
  char *spec = NULL; /* freed below: o.arch and o.normalize point here */
  float *norm = NULL;
  if ((rc = cli_arch_get(cmd, opts, o.arch, &spec, &norm, &o.n_normalize))) return rc;
  o.arch = spec;
  o.normalize = norm;
  rc = run_with(cmd, opts, &o, argc, argv);
  free(spec);
  free(norm);
  return rc;
}

/* The rest of the options, then the run. */
static int run_with(const char *cmd, cli_opt *opts, lsp_run_opts *op, int argc, char **argv) {
  lsp_run_opts o = *op;
  double *v = NULL;
  size_t n;
  char defbuf[256];
  int rc;
  defbuf[0] = '\0';
  for (size_t i = 0; i < o.n_attack_eps; i++)
    snprintf(defbuf + strlen(defbuf), sizeof defbuf - strlen(defbuf), "%s%g", i ? "," : "",
             o.attack_eps[i]);
  if ((rc = cli_get_doubles_distinct(cmd, opts, "attack-eps", defbuf, 0, 1e6, &v, &n)))
    return rc;
  rc = copy_list(cmd, "attack-eps", v, n, o.attack_eps, 32, &o.n_attack_eps);
  free(v);
  if (rc) return rc;
  int attacked = 0;
  for (size_t i = 0; i < o.n_attack_eps; i++) attacked |= o.attack_eps[i] > 0;
  if (!attacked)
    return cli_error(cmd, CLI_USAGE,
                     "--attack-eps: no ε above 0: the robustness AUCs and their finding need an "
                     "attack (one ε > 0 at least)");
  if (cli_has(opts, "distill")) o.distill = 1;
  static const char *const dopts[] = {"distill-alpha", "distill-temps", "student-arch"};
  for (size_t i = 0; i < sizeof dopts / sizeof *dopts; i++)
    if (cli_has(opts, dopts[i]) && !o.distill)
      return cli_error(cmd, CLI_USAGE, "--%s needs --distill", dopts[i]);
  long mim, mir;
  if ((rc = cli_get_double(cmd, opts, "distill-alpha", o.distill_alpha, 0, 1, &o.distill_alpha)) ||
      (rc = cli_get_long(cmd, opts, "mi-examples", (long)o.mi_examples, 2, 1000000, &mim)) ||
      (rc = cli_get_long(cmd, opts, "mi-copies", (long)o.mi_copies, 2, 100000, &mir)))
    return rc;
  o.mi_examples = (size_t)mim;
  o.mi_copies = (size_t)mir;
  defbuf[0] = '\0';
  for (size_t i = 0; i < o.n_distill_temps; i++)
    snprintf(defbuf + strlen(defbuf), sizeof defbuf - strlen(defbuf), "%s%g", i ? "," : "",
             o.distill_temps[i]);
  if ((rc = cli_get_doubles(cmd, opts, "distill-temps", defbuf, 1e-6, 1e6, &v, &n))) return rc;
  rc = copy_list(cmd, "distill-temps", v, n, o.distill_temps, 8, &o.n_distill_temps);
  free(v);
  if (rc) return rc;
  for (size_t i = 1; i < o.n_distill_temps; i++)
    if (!(o.distill_temps[i] > o.distill_temps[i - 1]))
      return cli_error(cmd, CLI_USAGE, "--distill-temps: list the temperatures in increasing order");
  o.student_arch = cli_str(opts, "student-arch", o.student_arch);
  o.format = cli_str(opts, "format", "svg");
  lsp_plot_format f;
  if (lsp_plot_format_parse(o.format, &f))
    return cli_error(cmd, CLI_USAGE, "--format: '%s' is not svg, png or pdf", o.format);
  o.out = cli_str(opts, "out", "lsprobe-report");
  if ((rc = cli_check_out_dir(cmd, opts, "out", o.out))) return rc;
  o.force = cli_has(opts, "force");

  char *command = cli_command_line("lsprobe run", argc, argv);
  if (!command) return cli_error(cmd, CLI_DATA, "out of memory");
  o.command = command;
  rc = run_go(cmd, opts, &o);
  free(command);
  return rc;
}

/* The run itself, its outcome on stderr and the exit status. */
static int run_go(const char *cmd, cli_opt *opts, lsp_run_opts *op) {
  lsp_run_opts o = *op;
  int rc;
  run_log lg = {isatty(2), cli_has(opts, "quiet"), 0, 0};
  /* under mpirun: every rank's options are checked; the ranks meet here,
   * before any collective call, and stop together if one stopped (cli.h) */
  if ((rc = cli_mpi_gate(cmd, CLI_OK))) return rc;
#ifdef LSP_MPI
  /* under mpirun/srun with several ranks: the cells across the ranks
   * (DESIGN §10); rank 0 writes the report and alone prints the outcome.
   * Without --threads, the cores of a node are shared among the ranks on
   * it that compute */
  lsp_run_dist dist;
  if (lsp_mpi_active() && lsp_mpi_size() > 1) {
    lsp_mpi_run_dist(&dist);
    o.dist = &dist;
    lg.rank = lsp_mpi_rank();
    int local = lsp_mpi_local_workers(), cores = lsp_threads_get();
    if (!cli_has(opts, "threads")) o.threads = cores / local > 1 ? cores / local : 1;
  }
#endif
  cli_interrupt_install();
  const char *report = NULL;
  int st = lsp_run(&o, on_log, &lg, &report);
  if (lg.pending) fputs("\r\033[K", stderr);
  if (st && lg.rank > 0) /* rank 0 prints the job's one error line */
    return st == LSP_EINTR ? 130 : st == LSP_EINVAL ? CLI_USAGE : CLI_DATA;
  if (st == LSP_EINTR) {
    fprintf(stderr, "lsprobe: run: interrupted; earlier results in %s are untouched\n", o.out);
    return 130;
  }
  if (st) return cli_lib_error(cmd, st);
  if (report) printf("report: %s\n", report);
  return 0;
}
