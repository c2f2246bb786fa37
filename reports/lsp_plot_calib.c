/* lsp_plot_calib.c — reliability diagrams: per-bin accuracy bars, gap bars
 * to the mean confidence, the diagonal, and a confidence histogram below,
 * one column per model with identical axes (Guo et al. 2017, Fig. 1). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>

#include "core/base/lsp_error.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_plot_int.h"

static int check_model(const char *path, const lsp_plot_reliability *r,
                       size_t i) {
  if (r->nbins == 0 || !r->count || !r->confidence || !r->accuracy)
    return lsp_fail(LSP_EINVAL, "%s: model %zu (%s) has no bins", path, i,
                    r->name ? r->name : "unnamed");
  double total = 0;
  for (size_t m = 0; m < r->nbins; m++) {
    double c = r->count[m];
    if (!(c >= 0) || !isfinite(c))
      return lsp_fail(LSP_EINVAL, "%s: model %zu, bin %zu: bad count %g", path,
                      i, m, c);
    if (c > 0 && !(r->confidence[m] >= 0 && r->confidence[m] <= 1 &&
                   r->accuracy[m] >= 0 && r->accuracy[m] <= 1))
      return lsp_fail(LSP_EINVAL,
                      "%s: model %zu, bin %zu: confidence and "
                      "accuracy must be in [0, 1]",
                      path, i, m);
    total += c;
  }
  if (!(total > 0))
    return lsp_fail(LSP_EINVAL, "%s: model %zu (%s): every bin is empty", path,
                    i, r->name ? r->name : "unnamed");
  return LSP_OK;
}

/* Margins in screen fractions for a box given in inches from the figure's
 * bottom-left corner. */
static void margins(FILE *f, double x0, double x1, double y0, double y1,
                    double W, double H) {
  fprintf(f,
          "set lmargin at screen %.5f\nset rmargin at screen %.5f\n"
          "set bmargin at screen %.5f\nset tmargin at screen %.5f\n",
          x0 / W, x1 / W, y0 / H, y1 / H);
}

int lsp_plot_reliability_diagram(const char *path, const lsp_plot_opts *opt,
                                 const lsp_plot_reliability *models,
                                 size_t nmodels) {
  int st = lsp_plot_check_common(path, opt);
  if (st) return st;
  if (!models || nmodels == 0)
    return lsp_fail(LSP_EINVAL, "%s: no models to plot", path);
  for (size_t i = 0; i < nmodels; i++)
    if ((st = check_model(path, &models[i], i))) return st;

  int rows, cols;
  lsp_plot_grid(nmodels, opt->columns, &rows, &cols);
  double pw = opt->panel_width > 0 ? opt->panel_width : 3.4;
  double ph = opt->panel_height > 0 ? opt->panel_height : 4.4;
  double th = opt->title ? 0.4 : 0;
  double W = cols * pw, H = rows * ph + th;
  /* Inside a cell (inches): left for the y tics and label, a title band on
   * top, the x label at the bottom; 72% of the rest for the diagram. */
  const double ml = 0.80, mr = 0.22, mt = 0.34, mb = 0.52, gap = 0.10;
  double avail = ph - mt - mb - gap;
  if (pw - ml - mr < 0.8 || avail < 1.0)
    return lsp_fail(LSP_EINVAL,
                    "%s: reliability panels of %g x %g in are too "
                    "small",
                    path, pw, ph);
  double top_h = 0.72 * avail, hist_h = avail - top_h;

  /* Common histogram height: the largest share of examples in any bin. */
  double share_max = 0;
  for (size_t i = 0; i < nmodels; i++) {
    double total = 0;
    for (size_t m = 0; m < models[i].nbins; m++) total += models[i].count[m];
    for (size_t m = 0; m < models[i].nbins; m++)
      if (models[i].count[m] / total > share_max)
        share_max = models[i].count[m] / total;
  }

  lsp_plot_script s;
  if ((st = lsp_plot_script_begin(&s))) return st;
  FILE *f = s.f;
  /* Per model: bin_lo bin_hi accuracy confidence share (non-empty bins). */
  for (size_t i = 0; i < nmodels; i++) {
    const lsp_plot_reliability *r = &models[i];
    double total = 0;
    for (size_t m = 0; m < r->nbins; m++) total += r->count[m];
    fprintf(f, "$rel%zu << EOD\n", i);
    for (size_t m = 0; m < r->nbins; m++) {
      if (!(r->count[m] > 0)) continue;
      double M = (double)r->nbins;
      fprintf(f, "%.17g %.17g %.17g %.17g %.17g\n", (double)m / M,
              (double)(m + 1) / M, r->accuracy[m], r->confidence[m],
              r->count[m] / total);
    }
    fputs("EOD\n", f);
  }
  fputs("set multiplot", f);
  if (opt->title) {
    fputs(" title ", f);
    lsp_plot_quote(f, opt->title);
    fputs(" font ',13'", f);
  }
  fputs(
      "\nset style fill solid 0.9 border lc rgb '#ffffff'\n"
      "set xrange [0:1]\nset xtics 0.2\nset mxtics 2\n"
      "set grid xtics ytics\n"
      "set style textbox opaque fc rgb '#ffffff' noborder margins 2, 2\n",
      f);
  for (size_t i = 0; i < nmodels; i++) {
    const lsp_plot_reliability *r = &models[i];
    int row = (int)i / cols, col = (int)i % cols;
    double x0 = col * pw + ml, x1 = (col + 1) * pw - mr;
    double ytop = H - th - row * ph - mt;
    int first_col = col == 0;

    /* The diagram. */
    margins(f, x0, x1, ytop - top_h, ytop, W, H);
    fputs("set title ", f);
    lsp_plot_quote(f, r->name);
    fputs(
        "\nset yrange [0:1]\nset ytics 0.2 format '%g'\nset format x ''\n"
        "unset xlabel\nunset label\n",
        f);
    fprintf(f, "set ylabel %s\n", first_col ? "'accuracy'" : "''");
    if (first_col)
      fputs("set key top left reverse Left samplen 1.5\n", f);
    else
      fputs("unset key\n", f);
    if (isfinite(r->ece))
      fprintf(f,
              "set label 1 'ECE = %.4f' at graph 0.97, graph 0.06 right "
              "front boxed\n",
              r->ece);
    /* The gap boxes are a translucent fill, not a hatch pattern: Chromium
     * rasterizes SVG pattern fills when it prints, which made report.pdf
     * 10 MB and 10 s longer for this one figure. */
    fputs("plot $rel", f);
    fprintf(f,
            "%zu using (($1+$2)/2):($3/2):1:2:(0):3 with boxxyerror "
            "lt 1 fs solid 0.85 border lc rgb '#ffffff' title 'accuracy', \\\n"
            "  $rel%zu using (($1+$2)/2):3:1:2:($3<$4?$3:$4):($3<$4?$4:$3) "
            "with boxxyerror lc rgb '%s' fs transparent solid 0.3 border lc "
            "rgb '%s' title 'gap to confidence', \\\n"
            "  x with lines lc rgb '#404040' dt 2 lw 1.2 "
            "title 'perfect calibration'\n",
            i, i, lsp_plot_color(1), lsp_plot_color(1));

    /* The confidence histogram. */
    margins(f, x0, x1, ytop - top_h - gap - hist_h, ytop - top_h - gap, W, H);
    fputs(
        "unset title\nunset label\nset format x '%g'\nset format y '%g'\n"
        "set xlabel 'confidence (max softmax probability)'\n",
        f);
    double step = share_max > 0.4 ? 0.2 : share_max > 0.2 ? 0.1 : 0.05;
    fprintf(f, "set yrange [0:%.6g]\nset ytics %.6g format '%s'\n",
            share_max * 1.08, step, step < 0.1 ? "%.2f" : "%.1f");
    fprintf(f, "set ylabel %s\n", first_col ? "'share'" : "''");
    if (first_col &&
        (isfinite(r->mean_accuracy) || isfinite(r->mean_confidence)))
      fputs("set key top left reverse Left samplen 1.5\n", f);
    else
      fputs("unset key\n", f);
    fprintf(f,
            "plot $rel%zu using (($1+$2)/2):($5/2):1:2:(0):5 with "
            "boxxyerror lc rgb '#7f7f7f' fs solid 0.7 border lc rgb '#ffffff' "
            "notitle",
            i);
    if (isfinite(r->mean_accuracy))
      fprintf(f,
              ", \\\n  '+' using (%.17g):($0 == 0 ? 0 : %.6g) every "
              "::0::1 with lines lt 1 lw 2 title 'accuracy'",
              r->mean_accuracy, share_max * 1.08);
    if (isfinite(r->mean_confidence))
      fprintf(f,
              ", \\\n  '+' using (%.17g):($0 == 0 ? 0 : %.6g) every "
              "::0::1 with lines lc rgb '%s' lw 2 dt 2 title 'avg. confidence'",
              r->mean_confidence, share_max * 1.08, lsp_plot_color(1));
    fputc('\n', f);
  }
  fputs("unset multiplot\n", f);
  return lsp_plot_script_run(&s, path, opt->format, W, H);
}
