/* lsp_compare_int.h — what `lsprobe compare` keeps of one results.json
 * (internal: shared by lsp_compare_read.c, lsp_compare_plots.c and
 * lsp_compare.c). */
#ifndef LSP_COMPARE_INT_H
#define LSP_COMPARE_INT_H

#include <stddef.h>

#include "core/formats/lsp_jsonr.h"
#include "reports/lsp_compare.h"

enum { M_ACC, M_NLL, M_ECE, M_ECET, NCI }; /* metrics with intervals */

typedef struct {
  size_t n;
  double *eps, *acc; /* owned: n attack ε and accuracies */
} curve;

typedef struct {
  const char *tag, *convention;
  const char *model_file; /* "models/<cache key>.lspm": names the trained model */
  double eps, seed;
  double v[NCI], lo[NCI], hi[NCI];
  double temperature, r2, nc1;
  curve fgsm, pgd;
} cmp_model;

/* A growing string (heap): text is never cut short. After an allocation
 * failure `oom` is set and further appends do nothing. */
typedef struct {
  char *s;
  size_t len, cap;
  int oom;
} cmp_str;
void cmp_str_addf(cmp_str *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text so far ("" when nothing was added); stays owned by b. */
const char *cmp_str_get(const cmp_str *b);

typedef struct {
  const char *path;         /* the results.json read                       */
  char *file;               /* owned: <folder>/results.json when a run
                               folder was given (path then points here)    */
  char name[256];
  lsp_jsonr_doc *doc;
  const char *data, *hash, *convention, *version, *started, *command;
  const char *architecture; /* canonical string (DESIGN §7.4), or NULL in
                               runs from before --arch                     */
  char *arch;               /* owned: --arch, or "mlp:W,W" from an older
                               run's hidden widths                         */
  char *smoothing, *seeds, *attack; /* owned: the lists, every value       */
  const lsp_jsonr *config;  /* the validated config object                 */
  double epochs;
  int quick, synthetic;
  size_t nmodels;
  cmp_model *models;
} cmp_run;

/* Read and validate r->path (set by the caller: a results.json, or a run's
 * output folder, whose results.json is read) into *r: the fields the
 * report needs, with their types; NaN for JSON null metrics. LSP_EIO (also
 * for a folder without results.json), LSP_EDATA (file and field named),
 * LSP_ENOMEM. */
int lsp_compare_read_run(cmp_run *r);

/* Free n runs and the array; NULL-safe. */
void lsp_compare_free_runs(cmp_run *runs, size_t n);

/* The runs being compared and what compare found about them. */
typedef struct {
  cmp_run *runs;
  size_t n;
  double ref;    /* the attack ε of the FGSM/PGD columns (NaN: none shared) */
  char **warn;   /* owned: the comparability warnings, each whole         */
  size_t nwarn;
  cmp_str shared; /* what every run has in common (a list of settings)    */
  const lsp_compare_opts *o;
} cmp_state;

/* The index of attack ε e on curve c (equal within 1e-12 relative), or
 * c->n when the model was not attacked at e. */
size_t lsp_compare_eps_index(const curve *c, double e);
/* The attack ε of the table's FGSM/PGD columns into s->ref: opts->ref_eps,
 * which every model must have been attacked at (else LSP_EINVAL naming the
 * shared ones), or 0.1 when every model has it, else the largest ε every
 * model has (NaN: none). */
int lsp_compare_pick_ref(cmp_state *s);
/* LSP_EINVAL when two inputs are one run: the same file (by its folder, the
 * file or a link), a copy of it (the same bytes), or another results.json
 * of the same study — the same trained models (their cache keys, the
 * model files' names), as in a rerun that reused them all. */
int lsp_compare_refuse_twice(const cmp_state *s, const char *const *inputs);
/* Fill s->warn with a warning per recorded setting that differs between the
 * runs (dataset, data hash, architecture, attack ε list, epochs; the data
 * split, training, attack and calibration settings, each named with every
 * run's value) and s->shared with the settings they share. LSP_ENOMEM. */
int lsp_compare_check(cmp_state *s);

/* The comparison's figures (lsp_compare_plots.c): metrics against ε and
 * attack curves, as SVG and in the --format asked for. */
typedef struct {
  char *svg[2];   /* owned: written SVG files (NULL = none)     */
  char *extra[2]; /* owned: the --format copies (NULL = none)   */
  char note[1024]; /* gnuplot missing, or the figures it failed on */
  char attacks_caption[512]; /* what compare_attacks shows, line count and
                                styles ("" when it was not drawn)      */
} lsp_compare_figs;
void lsp_compare_figs_release(lsp_compare_figs *f);
/* 0, 1 or 2 (= two or more): the distinct finite smoothing ε of every
 * model of every run; *first = the first one found (when any). The figure
 * against ε is drawn only with two or more. */
size_t lsp_compare_distinct_eps(const cmp_state *s, double *first);
/* Draw the figures into dir/plots; a missing gnuplot, or a figure gnuplot
 * failed on (named with its reason), is a note, not an error. */
int lsp_compare_make_plots(const cmp_state *s, const char *dir, lsp_compare_figs *f);

#endif
