/* lsp_report_int.h — the parts of `lsprobe run`'s report writer, one
 * concern per file (internal; lsp_report.c puts them together):
 *   lsp_report_json.c   results.json, keyed by lsp_results_schema.h
 *   lsp_report_csv.c    the CSV tables
 *   lsp_report_plots.c  the figures (gnuplot)
 *   lsp_report_doc.c    the HTML and Markdown report: prose and tables
 * None computes a metric: they lay out what lsp_run.c measured. */
#ifndef LSP_REPORT_INT_H
#define LSP_REPORT_INT_H

#include <stddef.h>

#include "core/formats/lsp_json.h"
#include "reports/lsp_doc.h"
#include "reports/lsp_findings.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_run_int.h"
#include "reports/lsp_table.h"

/* Where the figures go and how they are rendered. */
typedef struct {
  const lsp_run_state *s;
  const char *dir;           /* staging folder                              */
  lsp_plot_format extra;     /* also rendered in this format (png/pdf)      */
  int want_extra;
  char note[1024];           /* the figures that failed, for the report     */
} lsp_report_plotter;

/* Render one figure: always SVG (inlined into the HTML), plus the requested
 * format; `draw` is called with the path and format. A gnuplot failure is
 * noted in p->note and the report goes on without the figure (svg_path
 * ""); only LSP_EINTR and LSP_ENOMEM are errors. */
typedef int (*lsp_report_draw_fn)(const lsp_report_plotter *p, const char *path,
                                  lsp_plot_format fmt, void *arg);
/* The models a per-model figure shows: those of the first seed, in the
 * order of the ε grid, at most max; their indices into s->models go to idx. */
size_t lsp_report_shown_models(const lsp_run_state *s, size_t *idx, size_t max);
int lsp_report_figure(lsp_report_plotter *p, const char *name, lsp_report_draw_fn draw,
                      void *arg, char *svg_path, size_t len);

/* The SVG file of each figure ("" = not drawn: no gnuplot, a failure
 * recorded in the plotter's note, or nothing to draw). */
typedef struct {
  char reliability[4096], smooth[4096], metrics[4096], attacks[4096], projection[4096],
      gap[4096], training[4096], distill[4096], erasure[4096], trends[4096];
} lsp_report_figs;

/* results.json at `path` (atomic). */
int lsp_report_json(const lsp_run_state *s, const lsp_findings *f, const char *path);
/* The "study" member of results.json (lsp_report_study.c): cells, trends,
 * comparisons; nothing without a study. */
void lsp_report_study_json(lsp_json *j, const lsp_run_state *s, const lsp_findings *f);

/* models.csv, calibration_bins.csv, calibration_smooth.csv, attacks.csv,
 * comparisons.csv and training.csv in `dir` (each atomic). */
int lsp_report_csvs(const lsp_run_state *s, const char *dir);

/* Every figure into p->dir/plots (SVG, plus p->extra when wanted). A
 * gnuplot failure is noted in p->note and the report goes on; only
 * LSP_EINTR and LSP_ENOMEM are errors. */
int lsp_report_plots(lsp_report_plotter *p, lsp_report_figs *figs);
/* The attack ε's units (lsp_report_plots.c): "pixel scale [0, 1]" when the
 * data's input bounds are [0, 1], else "input units, range [lo, hi]". */
const char *lsp_report_eps_units(const lsp_run_state *s, char *buf, size_t len);
/* A file the run wrote under --out as the report names it (models.csv,
 * students.csv, results.json): relative to the report's folder
 * ("models/<key>.lspm"), so it resolves wherever the folder is read from. */
const char *lsp_report_rel_path(const lsp_run_state *s, const char *file);

/* The information-erasure and distillation section (lsp_report_distill.c):
 * its two figures, its part of the documents, students.csv, and the
 * results.json objects "information_erasure" and "distillation". */
int lsp_report_distill_plots(lsp_report_plotter *p, lsp_report_figs *f);
int lsp_report_distill_doc(lsp_doc *d, const lsp_run_state *s, const lsp_report_plotter *p,
                           const lsp_report_figs *figs);
int lsp_report_distill_csv(const lsp_run_state *s, const char *dir);
void lsp_report_distill_json(lsp_json *j, const lsp_run_state *s);

/* The study in the report (lsp_report_trends.c): the trends figure
 * (plots/study_trends.*) and the table of every comparison with ε = 0
 * (NULL without a study, or out of memory). */
int lsp_report_trends_plot(lsp_report_plotter *p, const lsp_findings *f, char *svg, size_t len);
lsp_table *lsp_report_study_table(const lsp_findings *f);

/* report.html and report.md in p->dir, with the figures drawn. */
int lsp_report_docs(const lsp_run_state *s, const lsp_findings *f, const lsp_report_plotter *p,
                    const lsp_report_figs *figs);

#endif
