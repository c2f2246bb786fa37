/* lsp_run.h — the main job: train (or reuse) models with and without label
 * smoothing, measure every claim, and write the comparison report.
 *
 * Data flow (DESIGN §1): dataset -> split -> for each seed and smoothing eps:
 * train or load the cached model (keyed by a hash of the data and the
 * configuration) -> one pass for test logits and penultimate features (and
 * validation logits for temperature scaling) -> calibration, clusters, logit
 * gap, attacks (FGSM, PGD, transfer from the eps=0 model of the same seed,
 * and AutoAttack on a subset sized to its budget) -> results -> plots ->
 * report.
 *
 * Outputs in `out`: report.html, report.md, results.json, *.csv, plots/,
 * models/ (the cache), dumps/, .lsprobe-manifest. The report is built in a
 * staging folder and published in one step only when everything succeeded
 * (lsp_outdir.h), so a failed or interrupted run leaves an earlier report
 * untouched; files in `out` that lsprobe did not write are never removed,
 * and a non-empty `out` lsprobe did not create is refused unless `force`. */
#ifndef LSP_RUN_H
#define LSP_RUN_H

#include <stddef.h>

#include "core/loss/lsp_loss.h"

/* The grid of cells as a job for a scheduler in other processes (the MPI
 * layer, DESIGN §10): cell i's cost estimate (larger runs earlier), its
 * run (the cell's result as a blob: lsp_run_dist's format), a name for
 * messages, its prerequisite (the ε = 0 cell of its seed), and an event log
 * (one line, no newline). Every callback is lsp_run's own. */
typedef struct {
  size_t ncells;
  void *ctx;
  double (*cost)(void *ctx, size_t i);
  int (*run)(void *ctx, size_t i, void **blob, size_t *len);
  void (*name)(void *ctx, size_t i, char *buf, size_t len);
  int (*depends)(void *ctx, size_t i, size_t *dep);
  void (*log)(void *ctx, const char *line);
} lsp_run_grid;

/* Running the cells in several processes (DESIGN §10; the MPI layer fills
 * it: lsp_mpi_run.h). Every process calls lsp_run with the same options;
 * each loads the data and runs the cells it is handed; only the root
 * touches the output folder, gathers the results and writes the report. */
typedef struct {
  int root;        /* 1 in the process that writes the report            */
  size_t workers;  /* processes that run cells (the report's `jobs`)      */
  void *user;
  /* collective: every process passes its status; every one returns the
   * same (the first failure's status and message) */
  int (*agree)(void *user, int status);
  /* collective: agree on `status`; then, when all are OK, every process's
   * `text` (lines "name value") is compared with the root's, and a process
   * whose text differs fails every process with `code` and a message naming
   * it, `what` and the first line that differs. lsp_run compares the
   * options that change the results (lsp_run_dist_opts_text) before
   * loading the data, then the data each process loaded (its sizes and
   * hash). NULL: agree only */
  int (*same)(void *user, int status, int code, const char *what, const char *text);
  /* collective: run the grid. On the root, (*blobs)[i] and (*lens)[i] are
   * cell i's result (malloc'd arrays and blobs; the caller frees them);
   * elsewhere both NULL. Every process returns the same status. */
  int (*run)(void *user, const lsp_run_grid *g, void ***blobs, size_t **lens);
} lsp_run_dist;

typedef struct {
  const char *data;            /* "fashion-mnist" (default), "synthetic", or a folder */
  int data_fallback;           /* if fashion-mnist is missing, use synthetic (loudly) */
  double smoothing[16];        /* eps values (default 0, 0.05, 0.1, 0.2; quick 0, 0.1);
                                  0 must be included for transfer and comparisons;
                                  any order: the run sorts them ascending */
  size_t n_smoothing;
  lsp_ls_convention convention;
  unsigned long seeds[16];     /* default {1, 2, 3}; quick {1}; any order: the
                                  run sorts them ascending */
  size_t n_seeds;
  size_t epochs;               /* 5 (DESIGN §9.5: the 120 s budget) */
  size_t jobs;                 /* cells run at once, each on one thread (0 = auto:
                                  the thread count, at most the cells); results
                                  are the same for any value */
  const char *arch;            /* "mlp:256,256" (quick: "mlp:64"), "lenet", "resnet8"
                                  or a layer spec (DESIGN §7.4)                    */
  const float *normalize;      /* --normalize: C means then C stds, or NULL       */
  size_t n_normalize;
  size_t batch;                /* 128 */
  double lr, momentum;         /* 0.1, 0.9 */
  double attack_eps[32];       /* FGSM/PGD sweep on the [0,1] pixel scale */
  size_t n_attack_eps;
  size_t pgd_steps;            /* 10 */
  size_t pgd_restarts;         /* 1 */
  size_t attack_limit;         /* attack at most this many test examples: 1000 (0 = all) */
  size_t aa_limit;             /* AutoAttack on at most the first this many of them:
                                  200 (quick: 100); 0 = no AutoAttack */
  int aa_all;                  /* 0 (default): AutoAttack only on the cells the
                                  robustness finding is judged on — ε_LS = 0 and
                                  the judged ε (0.1, else the grid's first
                                  smoothed ε; lsp_cell_runs_aa); 1: every cell */
  double aa_budget;            /* AutoAttack's predicted work per model in GFLOP,
                                  which sizes its subset: 5000 */
  size_t aa_steps, aa_queries; /* APGD iterations and Square queries: 100, 5000 */
  size_t bins;                 /* 15 */
  size_t bootstrap;            /* 200: per-model intervals and the example resamples
                                  each cell keeps (at most LSP_CELL_MAX_B) */
/* fewer resamples than this leave a 95% interval's 2.5% tails empty: the
 * report says so in a warning */
#define LSP_RUN_BOOT_MIN 40
  const char *format;          /* "svg" (default), "png", "pdf" */
  const char *out;             /* "lsprobe-report" */
  int force;                   /* write into a non-empty folder lsprobe did not create */
  int quick;                   /* tiny configuration for smoke tests */
  int threads;                 /* lsprobe's thread count for this call (0 = the
                                  caller's lsp_threads_get()); restored after */
  int own_blas_threads;        /* 1 = this program owns its process: lsp_run
                                  sets OpenBLAS's process-wide thread count to 1
                                  while training (the shares call GEMMs side by
                                  side) and to the thread count for the
                                  analyses and attacks, and back to what it was
                                  at the end. 0 (default, for hosts): OpenBLAS
                                  is left alone (lsp_threads.h) */
  size_t max_train, max_test;  /* 0 = all */
  const char *command;         /* the command line, recorded in the report */
  /* information erasure (every model) and distillation (lsp_run_distill.h) */
  size_t mi_examples;          /* training examples per class of the pair (100) */
  size_t mi_copies;            /* perturbed copies of each (20)            */
  int distill;                 /* the distillation section (off by default) */
  double distill_alpha;        /* weight of the teacher term (0.9)          */
  double distill_temps[8];     /* temperatures tried (1, 2, 4, 8)           */
  size_t n_distill_temps;
  const char *student_arch;    /* the students' network ("mlp:64"; quick "mlp:16"),
                                  with the teachers' --normalize            */
  const lsp_run_dist *dist;    /* NULL (default): the cells run in this process
                                  (`jobs`); else across processes (MPI)     */
} lsp_run_opts;

/* Defaults of the full comparison; lsp_run_opts_quick switches to the tiny
 * smoke-test configuration. */
void lsp_run_opts_default(lsp_run_opts *o);
void lsp_run_opts_quick(lsp_run_opts *o);

/* Progress and notices: one line per call, no newline. `level` 0 = info,
 * 1 = warning (said loudly), 2 = an updating progress line. */
typedef void (*lsp_run_log_fn)(int level, const char *msg, void *user);

/* Run the whole job. On success *report_path (static storage) names the
 * HTML report. Errors carry a message (lsp_errmsg); LSP_EINTR when
 * interrupted. */
int lsp_run(const lsp_run_opts *o, lsp_run_log_fn log, void *user,
            const char **report_path);

#endif
