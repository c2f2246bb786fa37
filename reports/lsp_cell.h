/* lsp_cell.h — one cell of the study: a (architecture, smoothing ε, seed)
 * triple, run on its own (DESIGN §9).
 *
 * `lsprobe run` is a grid of independent cells. A cell trains its model or
 * loads it from the cache (OUT/models, keyed by a hash of the data and the
 * configuration), evaluates it (accuracy, calibration before and after
 * temperature scaling, clusters), attacks it (FGSM, PGD, transfer from the
 * ε = 0 model of the same seed and architecture, AutoAttack when asked)
 * and summarizes all of it into an lsp_cell_result: a plain record of
 * numbers with no pointers into the run, which packs into a byte buffer
 * and unpacks from one exactly (doubles bit for bit), and is written
 * beside the cached model as OUT/models/<key>.cell (atomically).
 *
 * Aggregation — the paired comparisons, the intervals, the verdicts —
 * reads cell results only (lsp_study.h). So a scheduler may run the cells
 * of a grid in any order, in any process (threads, fork, MPI ranks), and
 * gather their packed results: a cell's result depends only on its key and
 * the shared context (options + data), never on which process runs it or on
 * the other cells. The only cross-cell input is the transfer attack's
 * source, the ε = 0 model of the same seed: the cell trains-or-loads it
 * through the cache itself (deterministic, so the same model whoever
 * trains it); a scheduler that runs the ε = 0 cells first
 * (lsp_cell_depends) avoids training it twice.
 *
 * Example-level resampling shared by all cells: resample b (0 <= b < B) of
 * n examples is the count vector of lsp_boot.h's draw for (seed, b), with
 * seed = lsp_cell_ctx's plan seed (one per example set: test, attack
 * subset, AutoAttack subset). Every cell evaluates each summary statistic
 * on the same B resamples, so two cells' values at the same b are a paired
 * resample (the same example indices for both arms); lsp_study.h adds the
 * seed level to that (DESIGN §9.4).
 *
 * No global state: the context is read-only while cells run; lsp_cell_run
 * is reentrant for distinct results. The thread counts are the caller's
 * (lsp_threads.h): a cell's numbers are the same for any lsprobe thread
 * count, and for any OpenBLAS thread count only when OpenBLAS runs on one
 * thread (a multi-threaded GEMM sums the test logits in another order) —
 * lsp_run sets it so for the whole grid when it owns its process
 * (own_blas_threads); a scheduler in its own process should do the same
 * (lsp_threads_set_blas(1)). */
#ifndef LSP_CELL_H
#define LSP_CELL_H

#include <stddef.h>
#include <stdint.h>

#include "core/data/lsp_data.h"
#include "reports/lsp_run.h"

struct lsp_run_model; /* lsp_run_int.h */

/* The summaries every cell reports; each has a point value and B
 * resample values (NaN where it was not measured, e.g. AutoAttack off).
 * The attack summaries are the normalized area under the accuracy-vs-
 * attack-ε curve over the run's attack grid (trapezoid rule divided by the
 * grid's width; DESIGN §9.2). */
typedef enum {
  LSP_CELL_ACCURACY = 0,  /* test accuracy                                 */
  LSP_CELL_NLL,           /* mean test NLL                                 */
  LSP_CELL_ECE,           /* binned top-label ECE (LSP_CELL_ECE_BINS)      */
  LSP_CELL_ECE_L2_DEBIASED,  /* debiased ECE (DESIGN §9.2)                    */
  LSP_CELL_ECE_T,         /* ECE after temperature scaling                 */
  LSP_CELL_R2,            /* class separation R² of the features          */
  LSP_CELL_NC1,           /* NC1 of the features                          */
  LSP_CELL_AUC_FGSM,      /* attack AUCs on the attack subset             */
  LSP_CELL_AUC_PGD,
  LSP_CELL_AUC_TRANSFER,  /* PGD crafted on the ε = 0 model (its own PGD
                             for the ε = 0 cell)                          */
  LSP_CELL_AUC_AA,        /* AutoAttack on its subset (NaN when off)      */
  LSP_CELL_TEMPERATURE,   /* T fitted on validation (resamples: of the
                             validation set; NaN without a fit)           */
  LSP_CELL_LOGIT_GAP,     /* mean logit gap z_y − mean_{j≠y} z_j (test)   */
  LSP_CELL_NSTAT
} lsp_cell_stat;

/* The cells' ECE: the study's pre-declared equal-width bin count (DESIGN
 * §9.2), whatever --bins gives the per-model tables. */
#define LSP_CELL_ECE_BINS 15

const char *lsp_cell_stat_name(int stat); /* "accuracy", "auc_pgd", ...    */

/* A cell's identity. `arch` is the canonical architecture string
 * (lsp_model_arch_string; a layer spec's can run to hundreds of bytes). */
#define LSP_CELL_ARCH_MAX 4096
typedef struct {
  char arch[LSP_CELL_ARCH_MAX];
  double eps;
  unsigned long seed;
} lsp_cell_key;

/* "<arch>|eps<g>|seed<lu>" into buf (for logs and file names). */
void lsp_cell_key_string(const lsp_cell_key *k, char *buf, size_t len);

/* The shared, read-only inputs of every cell of a run: the options, the
 * data splits, the model cache folder, the attack subsets and the
 * resampling plan. */
typedef struct lsp_cell_ctx lsp_cell_ctx;

/* Build the context: `data` is borrowed (must outlive the context);
 * models_dir is copied. The architecture is o->arch built for the data;
 * arch_canon (may be NULL) must be its canonical string
 * (lsp_model_arch_string) when given, else LSP_EINVAL. Sizes the attack and AutoAttack subsets from the
 * options alone (never from a result), and the plan from o->bootstrap
 * (capped at LSP_CELL_MAX_B). */
#define LSP_CELL_MAX_B 1000
int lsp_cell_ctx_alloc(const lsp_run_opts *o, const lsp_splits *data,
                       const char *arch_canon, const char *models_dir,
                       lsp_cell_ctx **out);
void lsp_cell_ctx_free(lsp_cell_ctx *c);
size_t lsp_cell_ctx_resamples(const lsp_cell_ctx *c); /* B                   */

/* The keys of the grid, seed-major then ε in the options' order, which
 * lsp_run sorts ascending (n_seeds ×
 * n_smoothing for the run's architecture). *keys is malloc'ed. */
int lsp_cell_ctx_keys(const lsp_cell_ctx *c, lsp_cell_key **keys, size_t *n);

/* The key a cell needs first (the ε = 0 model of its seed, for transfer),
 * or 0 when it needs none (it is an ε = 0 cell, or the grid has no 0). */
int lsp_cell_depends(const lsp_cell_ctx *c, const lsp_cell_key *k, lsp_cell_key *dep);

/* The smoothing ε the study's verdicts are judged at (lsp_study.h): 0.1
 * when the grid has it, else the smoothed ε nearest 0.1 (NaN: none). */
double lsp_cell_ctx_judged_eps(const lsp_cell_ctx *c);

/* 1 when the cell of key k runs AutoAttack: the context has an AutoAttack
 * subset and either the options ask for every cell (aa_all) or k is one of
 * the cells the robustness finding is judged on — ε = 0 and the judged ε
 * (DESIGN §9.5). Depends on the options alone, so a scheduler may order
 * the cells by it (they are the long ones). */
int lsp_cell_runs_aa(const lsp_cell_ctx *c, const lsp_cell_key *k);

/* What one cell measured. Plain data: arrays inline or owned by the
 * record; pack/unpack round-trips every field exactly. */
#define LSP_CELL_MAX_ATTACK_EPS 32
typedef struct {
  lsp_cell_key key;
  int cached;               /* the model came from the cache               */
  double seconds_train, seconds_analysis, seconds_attacks;
  size_t n_test, n_attack, n_aa; /* example counts of the three sets       */
  size_t n_attack_eps;
  double attack_eps[LSP_CELL_MAX_ATTACK_EPS];
  /* accuracy-vs-attack-ε curves (NaN where not run) */
  double fgsm[LSP_CELL_MAX_ATTACK_EPS], pgd[LSP_CELL_MAX_ATTACK_EPS],
      transfer[LSP_CELL_MAX_ATTACK_EPS], aa[LSP_CELL_MAX_ATTACK_EPS];
  double temperature;       /* fitted on validation (NaN: no fit)          */
  int mask_flags, mask_checks; /* gradient-masking checklist               */
  double value[LSP_CELL_NSTAT]; /* point values on the full sets           */
  size_t B;                 /* resamples per statistic                     */
  double *resample;         /* owned: B × LSP_CELL_NSTAT, row b, column stat */
  /* The calibration errors' own 95% intervals (lsp_cell_stat_inverted):
   * the test inversion of lsp_calib_bootstrap on the test rows, the same
   * as the per-model calibration's (hi = +∞ where the inversion has no
   * upper end); NaN for every other summary. calib_ci = 0: none (not
   * computed, or a cell file of format 2). */
  int calib_ci;
  double ci_lo[LSP_CELL_NSTAT], ci_hi[LSP_CELL_NSTAT];
} lsp_cell_result;

/* 1 for the summaries whose per-cell interval is a test inversion stored
 * in the result (ece, ece_l2_debiased, ece_t: upward-biased plug-ins, whose
 * percentile interval lies above the truth and can miss its own estimate,
 * DESIGN §9.2), 0 for those whose interval is the percentile of their
 * resamples. */
int lsp_cell_stat_inverted(int stat);

void lsp_cell_result_release(lsp_cell_result *r); /* frees resample; NULL-safe */

/* Centre the resamples of the cluster summaries (R², NC1) on their point
 * values: subtract the bootstrap bias estimate (mean of the finite
 * resamples − point value) from each (DESIGN §9.2). A resample repeats
 * rows, which pulls each class's mean direction away from the others and
 * lengthens it (R² up, NC1 down by O(1/n_k)); uncentred, the percentile
 * intervals can miss the point value itself. Idempotent: a centred cell
 * (or one read back from a file) is left as it is. */
void lsp_cell_center_clusters(lsp_cell_result *r);
/* No temperature fitted (r->temperature NaN): the ECE after temperature
 * scaling is not measured — its value, interval and resamples NaN, so no
 * table, trend or comparison quotes the unscaled ECE as scaled. Idempotent;
 * applied to cells read back from a file too. */
void lsp_cell_unfitted_t(lsp_cell_result *r);

/* Run one cell: train or load (through the cache), evaluate, attack,
 * summarize. `full` (may be NULL) receives the whole in-memory record
 * (lsp_run_model of lsp_run_int.h: logits, features, per-example
 * outcomes) for the report's per-model figures; a scheduler passes NULL.
 * log may be NULL. Errors as in lsp_run. */
int lsp_cell_run(const lsp_cell_ctx *c, const lsp_cell_key *k, lsp_cell_result *res,
                 struct lsp_run_model *full, lsp_run_log_fn log, void *user);

/* Pack a result into a malloc'ed buffer (*buf, *len) and back. The format
 * (DESIGN §9.1): magic "LSPCELL3", then little-endian fixed-width fields,
 * then a 64-bit FNV-1a checksum of everything before it. unpack also reads
 * format 2 (no stored intervals: calib_ci = 0) and refuses a short, long,
 * corrupt or foreign buffer, and format 1, with LSP_EDATA. */
int lsp_cell_result_pack(const lsp_cell_result *r, uint8_t **buf, size_t *len);
int lsp_cell_result_unpack(const uint8_t *buf, size_t len, lsp_cell_result *r);

/* The same through a file (written atomically: temporary + rename). */
int lsp_cell_result_write(const lsp_cell_result *r, const char *path);
int lsp_cell_result_read(const char *path, lsp_cell_result *r);

#endif
