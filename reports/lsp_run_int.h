/* lsp_run_int.h — the experiment's in-memory results, shared by the
 * pipeline (lsp_run.c) and the writers (lsp_report.c). Internal. */
#ifndef LSP_RUN_INT_H
#define LSP_RUN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_clusters.h"
#include "analysis/lsp_logitgeom.h"
#include "analysis/lsp_projection.h"
#include "attacks/lsp_attack.h"
#include "core/data/lsp_data.h"
#include "core/nn/lsp_model.h"
#include "core/train/lsp_train.h"
#include "reports/lsp_cell.h"
#include "reports/lsp_run.h"
#include "reports/lsp_run_distill.h"

/* One trained model and everything measured on it. */
typedef struct lsp_run_model {
  double eps;
  unsigned long seed;
  char tag[64];             /* "eps0.1_seed1": file names                 */
  char label[64];           /* "ε = 0.1": legends                         */
  char *model_file;         /* owned: the cache entry's path              */
  int cached;               /* reused from the cache                      */
  char cache_note[640];     /* why it was (not) reused                    */
  lsp_model *model;         /* owned                                      */
  lsp_train_log log;        /* training curves (epochs = 0 if unknown)    */
  double train_seconds;
  /* test pass */
  float *test_logits;       /* owned: n_test × K                          */
  float *test_features;     /* owned: n_test × H                          */
  float *val_logits;        /* owned: n_val × K                           */
  uint8_t *test_correct;    /* owned: n_test                              */
  lsp_calib_rows *rows, *rows_t; /* owned: before / after temperature     */
  lsp_calib_result cal, cal_t;   /* with bootstrap intervals              */
  double temperature;
  int temperature_ok;
  char temperature_note[256];
  lsp_clusters *clusters;   /* owned                                      */
  lsp_logitgap gap;
  double *gap_values;       /* owned: n_test                              */
  lsp_proj *proj;           /* owned                                      */
  /* attacks on the attack subset */
  lsp_attack_result fgsm, pgd, transfer; /* transfer: crafted on the eps=0
                                            model of the same seed        */
  int has_transfer;
  uint8_t *fgsm_correct, *pgd_correct, *transfer_correct; /* owned: n_eps × n_att */
  lsp_attack_result aa;     /* AutoAttack on the first n_aa examples        */
  int has_aa;
  uint8_t *aa_correct;      /* owned: n_eps × n_aa                          */
  double seconds_aa;
  lsp_mask_report mask;
  int has_mask;
  double mi;                /* information erasure Î (nats; NaN: not run) */
  double mi_lo, mi_hi;      /* its bootstrap 95% interval over the examples */
  double *mi_d;             /* owned: the probe's logit differences (2M·R) */
  double seconds_analysis, seconds_attacks;
} lsp_run_model;

/* A paired comparison of a smoothed model with the eps = 0 model of the
 * same seed: differences (smoothed minus plain) with 95% intervals. */
typedef struct {
  size_t model, base;      /* indices into the model list                 */
  double cal_diff[LSP_CALIB_NMETRIC], cal_lo[LSP_CALIB_NMETRIC], cal_hi[LSP_CALIB_NMETRIC];
  double calt_diff[LSP_CALIB_NMETRIC], calt_lo[LSP_CALIB_NMETRIC], calt_hi[LSP_CALIB_NMETRIC];
  size_t n_eps;
  double *fgsm_diff, *fgsm_lo, *fgsm_hi;   /* owned: per attack eps        */
  double *pgd_diff, *pgd_lo, *pgd_hi;      /* owned                        */
  double *aa_diff, *aa_lo, *aa_hi;         /* owned; NULL without AutoAttack */
} lsp_run_cmp;

struct lsp_run_state {
  lsp_run_opts opts;
  const char *command;      /* how it was invoked (for the report): opts.command */
  lsp_splits data;
  int data_fallback_used;   /* fashion-mnist missing: synthetic instead   */
  char data_note[512];
  size_t n_attack;          /* examples attacked (first n of test)        */
  size_t n_aa;              /* AutoAttack's subset (first n; 0 = none)    */
  double aa_pred_gflop;     /* its predicted work per example (GFLOP)     */
  char aa_note[256];        /* why there is no AutoAttack, or ""          */
  char aa_models[256];      /* which models it runs on: "ε_LS ∈ {0, 0.1}"
                               (lsp_cell_runs_aa), or "" without it       */
  size_t nmodels;
  lsp_run_model *models;    /* owned: seeds × smoothing, seed-major       */
  size_t ncmp;
  lsp_run_cmp *cmp;         /* owned                                      */
  size_t ncells;
  lsp_cell_result *cells;   /* owned: one per model, the same order; the
                               study (findings, trends) reads only these  */
  int proj_cls[3];
  int have_gnuplot;
  char gnuplot_note[512];
  int want_pdf;             /* --format pdf: print report.pdf (Chromium)   */
  int pdf_written;          /* report.pdf is in the report                 */
  char pdf_note[768];       /* why report.pdf is missing, if it is         */
  char figure_note[1024];   /* the figures gnuplot failed on, if any       */
  double seconds_total, seconds_data, seconds_train, seconds_analysis,
      seconds_attacks, seconds_report;
  int threads;
  size_t jobs;              /* cells run at once                          */
  double seconds_cells;     /* wall time of the cells (the phase times are
                               sums over cells: CPU-like with jobs > 1)  */
  char started[64];         /* UTC time stamp                             */
  char *arch_canon;         /* owned: the canonical architecture string
                               (lsp_model_arch_string): the cache key, the
                               report, compare's check                     */
  char arch_desc[128];      /* lsp_model_describe of the network           */
  lsp_run_distill distill;  /* information erasure and distillation       */
};

/* The grid of cells in this process (lsp_run_cells.c): s->models and
 * s->cells, each cell's result also written to OUT/models/<key>.lspm.cell,
 * the test dumps into `dumps`; the timings add up per phase. */
int lsp_run_cells(lsp_run_state *s, const char *models_dir, const char *dumps,
                  lsp_run_log_fn log, void *user);
/* The run's reference model, the one that picks the classes of the
 * projection and of the information-erasure probe: the ε = 0 model of the
 * smallest seed (a grid without 0: the smallest ε's). With the grid sorted
 * (lsp_run sorts the seeds and the smoothing ε) it is models[0]; chosen
 * here from the values, so no list order can change it. s->nmodels > 0. */
size_t lsp_run_reference(const lsp_run_state *s);
/* The projection's classes — the three the reference model confuses most
 * on the validation split (the test split when there is none) — and every
 * model's projection on those classes. */
int lsp_run_projection(lsp_run_state *s);
/* Paired comparisons of each smoothed model with the ε = 0 model of its seed. */
int lsp_run_compare_all(lsp_run_state *s);
/* The paired AutoAttack differences of comparison c (allocates aa_*). */
int lsp_run_aa_compare(const lsp_run_state *s, lsp_run_cmp *c,
                       unsigned long long seed);

/* Write every output of the run into `dir` (a staging folder). */
int lsp_report_write(lsp_run_state *s, const char *dir);

#endif
