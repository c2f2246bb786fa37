/* lsp_report.c — the outputs of `lsprobe run`, written into a staging
 * folder: results.json (lsp_report_json.c), the CSV tables
 * (lsp_report_csv.c), the figures (lsp_report_plots.c), the HTML and
 * Markdown report (lsp_report_doc.c), and with --format pdf report.pdf, the
 * HTML printed by Chromium (lsp_pdf.c). Computes no metric: it lays out
 * what lsp_run.c measured. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "reports/lsp_findings.h"
#include "reports/lsp_pdf.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_report_int.h"
#include "reports/lsp_results_schema.h"

int lsp_report_write(lsp_run_state *s, const char *dir) {
  char path[4096];
  int st;
  /* the paths below are "<dir>/<at most 40 characters>" in 4096-byte
   * buffers; lsp_outdir_begin checked the staging folder leaves room */
  if (strlen(dir) + 64 >= sizeof path) return lsp_fail(LSP_EINVAL, "%s: path too long", dir);
  lsp_findings *f = calloc(1, sizeof *f);
  lsp_report_figs *figs = calloc(1, sizeof *figs);
  if (!f || !figs) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto done;
  }
  if ((st = lsp_findings_compute(s, f))) goto done;
  snprintf(path, sizeof path, "%s/results.json", dir);
  if ((st = lsp_report_json(s, f, path)) || (st = lsp_results_check_file(path)) ||
      (st = lsp_report_csvs(s, dir)) ||
      (st = lsp_report_distill_csv(s, dir)))
    goto done;
  lsp_report_plotter p = {s, dir, LSP_PLOT_SVG, 0, ""};
  lsp_plot_format fmt;
  lsp_plot_format_parse(s->opts.format, &fmt);
  if (fmt != LSP_PLOT_SVG) {
    p.extra = fmt;
    p.want_extra = 1;
  }
  snprintf(path, sizeof path, "%s/plots", dir);
  if ((st = lsp_mkdir_p(path)) || (st = lsp_report_plots(&p, figs)) ||
      (st = lsp_report_trends_plot(&p, f, figs->trends, sizeof figs->trends)) ||
      (st = lsp_report_distill_plots(&p, figs)))
    goto done;
  if ((st = lsp_report_docs(s, f, &p, figs))) goto done;
  if (p.note[0])
    snprintf(s->figure_note, sizeof s->figure_note,
             "a figure could not be drawn and is missing from the report: %s", p.note);
  if (s->want_pdf) { /* a failed print leaves the report without report.pdf */
    char html[4096];
    snprintf(html, sizeof html, "%s/report.html", dir);
    snprintf(path, sizeof path, "%s/report.pdf", dir);
    st = lsp_pdf_print(html, path, 300.0);
    s->pdf_written = st == LSP_OK;
    if (st && st != LSP_EINTR)
      snprintf(s->pdf_note, sizeof s->pdf_note,
               "report.pdf is not written: %s. The HTML report is complete.", lsp_errmsg());
    if (st != LSP_EINTR) st = LSP_OK;
  }
done:
  lsp_findings_release(f);
  free(f);
  free(figs);
  return st;
}
