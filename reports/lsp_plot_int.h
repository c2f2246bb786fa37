/* lsp_plot_int.h — helpers shared by the plot kinds (not a public API).
 *
 * Every plot kind writes its gnuplot body into a memory stream
 * (open_memstream) with these helpers, then hands it to lsp_plot_run. */
#ifndef LSP_PLOT_INT_H
#define LSP_PLOT_INT_H

#include <stdio.h>

#include "reports/lsp_plot.h"

/* A growable script: a FILE* writing into memory. */
typedef struct {
  FILE *f;
  char *buf; /* owned; valid after lsp_plot_script_end */
  size_t len;
} lsp_plot_script;

int lsp_plot_script_begin(lsp_plot_script *s);
/* Close the stream; 0 if every write worked. buf stays owned by s. */
int lsp_plot_script_end(lsp_plot_script *s);
void lsp_plot_script_free(lsp_plot_script *s);

/* Write s as a gnuplot single-quoted string (quotes doubled, control
 * characters turned into spaces); NULL writes ''. */
void lsp_plot_quote(FILE *f, const char *s);
/* A number for a datablock: round-trip digits, NaN for non-finite. */
void lsp_plot_num(FILE *f, double x);
/* A range bound: the number, or "*" (automatic) if not finite. */
void lsp_plot_bound(FILE *f, double x);

/* Panel grid for npanels with `columns` per row (0 = one row, at most 4). */
void lsp_plot_grid(size_t npanels, int columns, int *rows, int *cols);

/* Render the finished script: end the stream, run, free. */
int lsp_plot_script_run(lsp_plot_script *s, const char *path,
                        lsp_plot_format fmt, double width, double height);

/* Common checks: path, opt, format. */
int lsp_plot_check_common(const char *path, const lsp_plot_opts *opt);

#endif
