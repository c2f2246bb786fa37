/* lsp_cell_int.h — the cell context and the steps of a cell (lsp_cell.h),
 * shared by lsp_cell*.c. Internal. */
#ifndef LSP_CELL_INT_H
#define LSP_CELL_INT_H

#include <stdarg.h>

#include "reports/lsp_cell.h"
#include "reports/lsp_run_int.h"

/* The offset basis of the FNV-1a checksums of cell results and of the
 * run's cell blobs (lsp_cell_pack.c, lsp_run_dist.c; DESIGN §9.1, §10):
 * the formats were defined with this number, a digit short of FNV's
 * standard 14695981039346656037 (LSP_FNV_INIT); it stays, so that cell
 * files already on disk load. */
#define LSP_CELL_FNV_BASIS 1469598103934665603ull

struct lsp_cell_ctx {
  lsp_run_opts opts;        /* copied; its pointers borrowed from the caller */
  const lsp_splits *data;   /* borrowed                                      */
  char arch[LSP_CELL_ARCH_MAX]; /* canonical architecture                   */
  char arch_desc[128];
  char *models_dir;         /* owned                                         */
  size_t n_attack, n_aa;    /* first n test examples attacked / AutoAttacked */
  size_t B;                 /* resamples per statistic                       */
  uint64_t plan_seed[4];    /* example resampling: test, attack, AutoAttack,
                               validation                                     */
};

/* Logging of a cell: one line per call (lsp_run_log_fn). */
typedef struct {
  lsp_run_log_fn fn;
  void *user;
} lsp_cell_logger;
void lsp_cell_say(const lsp_cell_logger *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The training buffers cell k's model needs on `threads` threads
 * (lsp_train_bytes) into *bytes, 0 when the cache holds the model; with
 * check, lsp_train_check_memory's verdict on them instead (LSP_EINVAL with
 * its message, prefixed with the cell's label, when they do not fit). */
int lsp_cell_train_bytes(const lsp_cell_ctx *c, const lsp_cell_key *k, int threads, int check,
                         double *bytes);

/* The network of the context for its data (lsp_model_from_spec). */
int lsp_cell_build_model(const lsp_cell_ctx *c, lsp_model **m);
/* rm's eps, seed, tag and label for cell k. */
void lsp_cell_set_labels(const lsp_cell_ctx *c, lsp_run_model *rm, const lsp_cell_key *k);
/* Train or load the model of (eps, seed) into rm (model, model_file,
 * cached, cache_note, log, train_seconds; rm->label names it in logs);
 * source = 1: it is another cell's model, loaded as the transfer source;
 * source = 2: load only, silently (the root of an MPI run reading the model
 * a worker trained): a model missing from the cache is an LSP_EIO error. */
int lsp_cell_get_model(const lsp_cell_ctx *c, lsp_run_model *rm, int source,
                       const lsp_cell_logger *lg);
/* The test pass, calibration (with its intervals when `intervals`: the
 * costly part, which the root of an MPI run receives instead), clusters,
 * logit gap. */
int lsp_cell_analyse(const lsp_cell_ctx *c, lsp_run_model *rm, int intervals);
/* FGSM, PGD, transfer from `base` (NULL: none), the masking checklist,
 * and AutoAttack on the first c->n_aa examples when c->n_aa > 0. */
int lsp_cell_attack(const lsp_cell_ctx *c, lsp_run_model *rm, lsp_model *base,
                    const lsp_cell_logger *lg);
/* The masking checklist of rm's attacks with the default options: FGSM,
 * PGD and transfer (when has_transfer), then AutoAttack's checks (when
 * has_aa); sets has_mask. lsp_cell_attack makes it before AutoAttack has
 * run (lsp_cell_autoattack adds AutoAttack's checks); the root of a run
 * across processes remakes it whole from a cell's blob. */
int lsp_cell_checklist(lsp_run_model *rm);
/* AutoAttack's subset size from the options and the network (sets c->n_aa;
 * note says why there is none); and the attack on one model. */
int lsp_cell_aa_size(lsp_cell_ctx *c, char *note, size_t len, double *pred_gflop);
int lsp_cell_autoattack(const lsp_cell_ctx *c, lsp_run_model *rm, const lsp_cell_logger *lg);
/* The summaries and their resamples (lsp_cell_stats.c). */
int lsp_cell_summarize(const lsp_cell_ctx *c, const lsp_run_model *rm, lsp_cell_result *res);
/* The grid across processes (lsp_run_dist.c, DESIGN §10): every process
 * runs the cells it is handed; the root rebuilds s->models and s->cells
 * from their results, in index order. */
int lsp_run_cells_dist(lsp_run_state *s, const lsp_cell_ctx *c, const lsp_cell_key *keys,
                       size_t n, lsp_run_log_fn log, void *user);
/* What every process of a distributed run must share (DESIGN §10), as
 * lines "name value" for lsp_run_dist's `same`: the options that change
 * the results (not --data, --out, --force, --format, --threads, --jobs,
 * --quiet: paths may differ between nodes, the rest does not change a
 * number; the data is compared as loaded) into *text (malloc'd), and the
 * loaded data's sizes and hash into buf. */
int lsp_run_dist_opts_text(const lsp_run_opts *o, char **text);
void lsp_run_dist_data_text(const lsp_splits *d, char *buf, size_t cap);
/* Free everything rm owns (not rm itself). */
void lsp_run_model_release(lsp_run_model *rm);

#endif
