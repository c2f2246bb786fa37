/* lsp_compare.h — one report over the results.json files of earlier
 * `lsprobe run` jobs (`lsprobe compare`).
 *
 * Reads and validates every input first (a missing field, a wrong type, a
 * number outside its domain or a model tag twice is LSP_EDATA naming the
 * file and the field, e.g. "a/results.json: field models[1].calibration.ece:
 * expected a number, found a string"), and only then creates the output
 * folder, so a data error leaves nothing behind. Every recorded setting
 * that changes the compared numbers is checked across the runs: each one
 * that differs is a warning naming it with every run's value, and the
 * report lists the ones they share.
 * Writes, via a staging folder published atomically (lsp_outdir.h):
 *   compare.html  self-contained (inline CSS and SVG)
 *   compare.md    the same content in Markdown
 *   compare.json  the inputs, their configurations, the comparability
 *                 warnings and one row per model of every run
 *   compare.csv   the models table with machine column names (run, model,
 *                 data, eps, convention, seed, accuracy, nll, ece,
 *                 ece_after_t, temperature, r2_separation, nc1,
 *                 fgsm_accuracy, pgd_accuracy; intervals as _lo/_hi
 *                 columns; the attack columns at compare.json's
 *                 reference_attack_eps)
 *   plots/compare_metrics.svg   accuracy, ECE, ECE after T, R², NC1
 *                 against smoothing ε, one series per run (and seed)
 *   plots/compare_attacks.svg   FGSM and PGD accuracy against attack ε,
 *                 one series per model of every run (every one drawn)
 *   (plus the plots in the --format asked for, when not SVG).
 * Nothing is computed: every number is copied from the inputs. */
#ifndef LSP_COMPARE_H
#define LSP_COMPARE_H

#include <stddef.h>

#include "reports/lsp_plot.h"

typedef struct {
  lsp_plot_format format; /* extra plot format (SVG is always written)     */
  double ref_eps;         /* attack ε of the table's FGSM/PGD columns, which
                             every model must have been attacked at (else
                             LSP_EINVAL); NaN = automatic: 0.1 if every run
                             attacked at 0.1, else the largest ε every run
                             attacked at                                    */
  const char *command;    /* how compare was invoked (shown); may be NULL  */
  int force;              /* write into a non-empty folder lsprobe did not
                             create (lsp_outdir.h)                          */
} lsp_compare_opts;

/* Defaults: SVG, automatic reference ε, no command. */
void lsp_compare_opts_default(lsp_compare_opts *o);

/* Compare the runs whose results.json files (or output folders, standing
 * for the results.json in them) are inputs[0..n-1] and write the report
 * into the folder `out` (created if needed; an earlier compare report there
 * is replaced in one step, files lsprobe did not write are left alone; a
 * run's folder, or a non-empty folder lsprobe did not create without
 * opts->force, is refused with LSP_EINVAL). On success
 * report[0..cap-1] receives the path of compare.html and, when gnuplot
 * could not be run or failed on a figure, warning[0..wcap-1] a one-line
 * note naming the missing figures and gnuplot's reason (else ""; the report
 * carries the same note, and every other file is written); both may be
 * NULL. Errors: LSP_EINVAL (n == 0, NULL arguments, a ref_eps some model
 * was not attacked at, one results.json given twice or with a copy of it),
 * LSP_EIO (an input cannot be read, is a folder
 * without results.json, or the output cannot be written),
 * LSP_EDATA (malformed JSON with file:line:col; not an lsprobe results.json;
 * a field missing, of the wrong type or outside its domain; a model tag
 * twice), LSP_ENOMEM, LSP_EINTR. */
int lsp_compare(const char *const *inputs, size_t n, const char *out,
                const lsp_compare_opts *opts, char *report, size_t cap,
                char *warning, size_t wcap);

#endif
