/* lsp_plot_dist.c — distributions: 2-D scatter panels (the Müller et al.
 * projection of penultimate features) and histograms with a marker line
 * (the logit gap against its optimum). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/base/lsp_error.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_plot_int.h"

/* Margins in character units, the same for every panel, so panels laid
 * out by "set multiplot layout" have plot areas of identical size. */
static const char k_fixed_margins[] =
    "set lmargin 9\nset rmargin 2\nset tmargin 2.5\nset bmargin 3.6\n";

static void multiplot_begin(FILE *f, const lsp_plot_opts *opt, int rows,
                            int cols) {
  fprintf(f, "set multiplot layout %d,%d", rows, cols);
  if (opt->title) {
    fputs(" title ", f);
    lsp_plot_quote(f, opt->title);
    fputs(" font ',13'", f);
  }
  fputc('\n', f);
}

static void grow(double v, double *lo, double *hi) {
  if (!isfinite(v)) return;
  if (v < *lo) *lo = v;
  if (v > *hi) *hi = v;
}

/* ---- scatter ------------------------------------------------------------ */

int lsp_plot_scatter(const char *path, const lsp_plot_opts *opt,
                     const char *xlabel, const char *ylabel,
                     const char *const *class_names, size_t nclasses,
                     const lsp_plot_scatter_panel *panels, size_t npanels) {
  int st = lsp_plot_check_common(path, opt);
  if (st) return st;
  if (!panels || npanels == 0)
    return lsp_fail(LSP_EINVAL, "%s: no panels to plot", path);
  if (nclasses == 0 || nclasses > 8)
    return lsp_fail(LSP_EINVAL,
                    "%s: %zu classes (1 to 8 can be told apart "
                    "by colour)",
                    path, nclasses);
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (size_t i = 0; i < npanels; i++) {
    const lsp_plot_scatter_panel *p = &panels[i];
    if (p->n > 0 && (!p->x || !p->y || !p->cls))
      return lsp_fail(LSP_EINVAL, "%s: panel %zu: missing arrays", path, i);
    if (!p->tx != !p->ty)
      return lsp_fail(LSP_EINVAL,
                      "%s: panel %zu: give both template "
                      "coordinates or neither",
                      path, i);
    for (size_t k = 0; k < p->n; k++) {
      if (p->cls[k] < 0 || (size_t)p->cls[k] >= nclasses)
        return lsp_fail(LSP_EINVAL,
                        "%s: panel %zu, point %zu: class %d not "
                        "in [0, %zu)",
                        path, i, k, (int)p->cls[k], nclasses);
      if (isfinite(p->x[k]) && isfinite(p->y[k])) {
        grow(p->x[k], &xlo, &xhi);
        grow(p->y[k], &ylo, &yhi);
      }
    }
    for (size_t c = 0; p->tx && c < nclasses; c++)
      if (isfinite(p->tx[c]) && isfinite(p->ty[c])) {
        grow(p->tx[c], &xlo, &xhi);
        grow(p->ty[c], &ylo, &yhi);
      }
  }
  if (!(xlo <= xhi))
    return lsp_fail(LSP_EINVAL, "%s: no finite point to plot", path);
  /* A square window with equal scales: the projection is orthonormal, so
   * distances and angles in the picture are those in feature space. */
  double span = fmax(xhi - xlo, yhi - ylo);
  if (!(span > 0)) span = 1;
  span *= 1.10;
  double xc = 0.5 * (xlo + xhi), yc = 0.5 * (ylo + yhi);

  int rows, cols;
  lsp_plot_grid(npanels, opt->columns, &rows, &cols);
  double pw = opt->panel_width > 0 ? opt->panel_width : 3.4;
  double ph = opt->panel_height > 0 ? opt->panel_height : 3.5;
  int has_tpl = 0;
  for (size_t i = 0; i < npanels; i++)
    for (size_t c = 0; panels[i].tx && c < nclasses; c++)
      if (isfinite(panels[i].tx[c]) && isfinite(panels[i].ty[c])) has_tpl = 1;
  double W = cols * pw;
  /* The shared legend: entries (marker + text) packed into rows of the
   * figure's width. Text width is estimated at 0.085 in per character
   * (DejaVu Sans at 11 pt averages about 0.55 em). */
  size_t nent = nclasses + (has_tpl ? 1 : 0);
  double ew[9], ex[9], rw[9] = {0};
  int er[9], krows = 1;
  double rowx = 0;
  for (size_t e = 0; e < nent; e++) {
    const char *lab =
        e < nclasses ? (class_names ? class_names[e] : NULL) : "class template";
    size_t chars = 0;
    for (const char *q = lab; q && *q; q++)
      if (((unsigned char)*q & 0xc0) != 0x80) chars++;
    ew[e] = 0.45 + 0.085 * (double)chars;
    if (rowx > 0 && rowx + ew[e] > W - 0.3) {
      krows++;
      rowx = 0;
    }
    er[e] = krows - 1;
    ex[e] = rowx;
    rowx += ew[e];
    rw[er[e]] = rowx;
  }
  double th = opt->title ? 0.35 : 0, kh = 0.16 + 0.28 * krows;
  double H = rows * ph + th + kh;
  /* Square plot areas of one size, placed by hand (inches), so equal data
   * ranges give equal scales in every panel. */
  const double ml = 0.72, mr = 0.12, mt = 0.32, mb = 0.55;
  double side = fmin(pw - ml - mr, ph - mt - mb);
  if (side < 0.8)
    return lsp_fail(LSP_EINVAL,
                    "%s: scatter panels of %g x %g in are too "
                    "small",
                    path, pw, ph);

  lsp_plot_script s;
  if ((st = lsp_plot_script_begin(&s))) return st;
  FILE *f = s.f;
  for (size_t i = 0; i < npanels; i++) {
    const lsp_plot_scatter_panel *p = &panels[i];
    fprintf(f, "$pt%zu << EOD\n", i);
    for (size_t k = 0; k < p->n; k++)
      if (isfinite(p->x[k]) && isfinite(p->y[k]))
        fprintf(f, "%.9g %.9g %d\n", p->x[k], p->y[k], (int)p->cls[k]);
    fputs("EOD\n", f);
    if (p->tx) {
      fprintf(f, "$tp%zu << EOD\n", i);
      for (size_t c = 0; c < nclasses; c++)
        if (isfinite(p->tx[c]) && isfinite(p->ty[c]))
          fprintf(f, "%.17g %.17g %zu\n", p->tx[c], p->ty[c], c);
      fputs("EOD\n", f);
    }
  }
  fputs("set multiplot", f);
  if (opt->title) {
    fputs(" title ", f);
    lsp_plot_quote(f, opt->title);
    fputs(" font ',13'", f);
  }
  fputs("\nset xrange [", f);
  lsp_plot_num(f, xc - span / 2);
  fputc(':', f);
  lsp_plot_num(f, xc + span / 2);
  fputs("]\nset yrange [", f);
  lsp_plot_num(f, yc - span / 2);
  fputc(':', f);
  lsp_plot_num(f, yc + span / 2);
  fputs("]\nunset key\n", f);
  for (size_t i = 0; i < npanels; i++) {
    const lsp_plot_scatter_panel *p = &panels[i];
    int row = (int)i / cols, col = (int)i % cols;
    double x0 = col * pw + ml + 0.5 * (pw - ml - mr - side);
    double y1 = H - th - row * ph - mt;
    fprintf(f,
            "set lmargin at screen %.5f\nset rmargin at screen %.5f\n"
            "set bmargin at screen %.5f\nset tmargin at screen %.5f\n",
            x0 / W, (x0 + side) / W, (y1 - side) / H, y1 / H);
    fputs("set title ", f);
    lsp_plot_quote(f, p->name);
    fputs("\nset xlabel ", f);
    lsp_plot_quote(f, xlabel);
    fputs("\nset ylabel ", f);
    lsp_plot_quote(f, col == 0 ? ylabel : NULL);
    fputs("\nplot ", f);
    int first = 1;
    size_t npts = 0, ntpl = 0;
    for (size_t k = 0; k < p->n; k++)
      if (isfinite(p->x[k]) && isfinite(p->y[k])) npts++;
    for (size_t c = 0; p->tx && c < nclasses; c++)
      if (isfinite(p->tx[c]) && isfinite(p->ty[c])) ntpl++;
    /* Translucent small dots: dense clusters show as darker cores. The
     * point size shrinks as the panel gets busier. */
    double ps = npts > 3000 ? 0.25 : npts > 600 ? 0.35 : 0.5;
    for (size_t c = 0; c < nclasses; c++) {
      /* A class absent from this panel is not plotted: gnuplot would warn
       * about a plot with no valid points. */
      size_t nc = 0;
      for (size_t k = 0; k < p->n; k++)
        if ((size_t)p->cls[k] == c && isfinite(p->x[k]) && isfinite(p->y[k]))
          nc++;
      if (nc == 0) continue;
      const char *hex = lsp_plot_color((int)c);
      fprintf(f,
              "%s$pt%zu using 1:($3 == %zu ? $2 : NaN) with points pt 7 "
              "ps %.2f lc rgb '#60%s' notitle",
              first ? "" : ", \\\n  ", i, c, ps, hex + 1);
      first = 0;
    }
    if (ntpl > 0) {
      fprintf(f,
              "%s$tp%zu using 1:2:($3 + 1) with points pt 13 ps 2.4 "
              "lc variable notitle, \\\n  $tp%zu using 1:2 with points pt 12 "
              "ps 2.4 lw 1.5 lc rgb '#000000' notitle",
              first ? "" : ", \\\n  ", i, i);
      first = 0;
    }
    if (first) fputs("NaN notitle", f);
    fputc('\n', f);
  }
  /* One legend for all panels, in a band along the bottom, laid out above
   * (gnuplot's own key misjudges UTF-8 text widths and wraps badly). */
  fprintf(f,
          "set lmargin at screen 0\nset rmargin at screen 1\n"
          "set bmargin at screen 0\nset tmargin at screen %.5f\n"
          "unset border\nunset tics\nunset xlabel\nunset ylabel\nunset title\n"
          "unset grid\nunset label\nset xrange [0:1]\nset yrange [0:1]\n",
          kh / H);
  for (size_t e = 0; e < nent; e++) {
    double xe = (0.5 * (W - rw[er[e]]) + ex[e] + 0.12) / W;
    double ye = (kh - 0.08 - 0.28 * (er[e] + 0.5)) / H;
    fputs("set label ", f);
    if (e < nclasses) {
      lsp_plot_quote(f, class_names ? class_names[e] : NULL);
      fprintf(f,
              " at screen %.5f, screen %.5f left point pt 7 ps 1.3 "
              "lc rgb '%s' offset 1.2,0\n",
              xe, ye, lsp_plot_color((int)e));
    } else {
      fprintf(f,
              "'class template' at screen %.5f, screen %.5f left point "
              "pt 12 ps 1.6 lw 1.5 lc rgb '#000000' offset 1.2,0\n",
              xe, ye);
    }
  }
  fputs("plot NaN notitle", f);
  fputs("\nunset multiplot\n", f);
  return lsp_plot_script_run(&s, path, opt->format, W, H);
}

/* ---- histograms --------------------------------------------------------- */

int lsp_plot_histogram(const char *path, const lsp_plot_opts *opt,
                       const char *xlabel, size_t nbins, double lo, double hi,
                       int overlay, const lsp_plot_hist *samples,
                       size_t nsamples) {
  int st = lsp_plot_check_common(path, opt);
  if (st) return st;
  if (!samples || nsamples == 0)
    return lsp_fail(LSP_EINVAL, "%s: no samples to plot", path);
  if (nbins == 0 || nbins > 10000)
    return lsp_fail(LSP_EINVAL, "%s: %zu bins (1 to 10000)", path, nbins);
  if (isfinite(lo) != isfinite(hi))
    return lsp_fail(LSP_EINVAL, "%s: give both histogram bounds or neither",
                    path);
  int autorange = !isfinite(lo);
  double dlo = INFINITY, dhi = -INFINITY;
  for (size_t i = 0; i < nsamples; i++) {
    const lsp_plot_hist *h = &samples[i];
    if (!h->values || h->n == 0)
      return lsp_fail(LSP_EINVAL, "%s: sample %zu (%s) is empty", path, i,
                      h->name ? h->name : "unnamed");
    size_t nfin = 0;
    for (size_t k = 0; k < h->n; k++)
      if (isfinite(h->values[k])) {
        nfin++;
        grow(h->values[k], &dlo, &dhi);
      }
    if (nfin == 0)
      return lsp_fail(LSP_EINVAL, "%s: sample %zu (%s) has no finite value",
                      path, i, h->name ? h->name : "unnamed");
    grow(h->marker, &dlo, &dhi);
  }
  if (autorange) {
    lo = dlo;
    hi = dhi;
    if (hi == lo) {
      lo -= 0.5;
      hi += 0.5;
    }
  }
  if (!(hi > lo))
    return lsp_fail(LSP_EINVAL, "%s: empty histogram range [%g, %g]", path, lo,
                    hi);
  double w = (hi - lo) / (double)nbins;
  double *dens = calloc(nbins, sizeof *dens);
  if (!dens) return lsp_fail(LSP_ENOMEM, "out of memory");

  int rows, cols;
  lsp_plot_grid(overlay ? 1 : nsamples, opt->columns, &rows, &cols);
  /* An overlay keeps its legend outside, on the right: a wider panel. */
  double pw = opt->panel_width > 0 ? opt->panel_width : overlay ? 5.8 : 4.2;
  double ph = opt->panel_height > 0 ? opt->panel_height : 3.2;
  double th = opt->title ? 0.35 : 0;

  lsp_plot_script s;
  if ((st = lsp_plot_script_begin(&s))) {
    free(dens);
    return st;
  }
  FILE *f = s.f;
  double dmax = 0;
  for (size_t i = 0; i < nsamples; i++) {
    const lsp_plot_hist *h = &samples[i];
    size_t nfin = 0;
    for (size_t m = 0; m < nbins; m++) dens[m] = 0;
    for (size_t k = 0; k < h->n; k++) {
      double v = h->values[k];
      if (!isfinite(v)) continue;
      nfin++;
      if (v < lo || v > hi) continue;
      size_t m = (size_t)((v - lo) / w);
      if (m >= nbins) m = nbins - 1; /* v == hi belongs to the last bin */
      dens[m] += 1;
    }
    /* Density over all finite values: an area of 1 when none is dropped. */
    fprintf(f, "$h%zu << EOD\n%.17g 0\n", i, lo);
    for (size_t m = 0; m < nbins; m++) {
      dens[m] /= (double)nfin * w;
      if (dens[m] > dmax) dmax = dens[m];
      fprintf(f, "%.17g %.17g\n", lo + (double)m * w, dens[m]);
    }
    fprintf(f, "%.17g %.17g\n%.17g 0\nEOD\n", hi, dens[nbins - 1], hi);
  }
  free(dens);
  multiplot_begin(f, opt, rows, cols);
  if (!overlay) fputs(k_fixed_margins, f);
  fprintf(f, "set xrange [%.17g:%.17g]\nset yrange [0:%.6g]\nset xlabel ", lo,
          hi, dmax > 0 ? dmax * 1.1 : 1.0);
  lsp_plot_quote(f, xlabel);
  /* Overlay: the legend below the plot, where it hides no bar. Panels: the
   * title names the sample, and each marker is labelled beside its line. */
  if (overlay)
    fputs(
        "\nset ylabel 'density'\nset key outside right top vertical "
        "reverse Left samplen 2\n",
        f);
  else
    fputs("\nset ylabel 'density'\nunset key\n", f);
  size_t npanels = overlay ? 1 : nsamples;
  for (size_t pi = 0; pi < npanels; pi++) {
    size_t i0 = overlay ? 0 : pi, i1 = overlay ? nsamples : pi + 1;
    fputs("unset arrow\nunset label\nset title ", f);
    lsp_plot_quote(f, overlay ? NULL : samples[pi].name);
    fputc('\n', f);
    for (size_t i = i0; i < i1; i++) {
      const lsp_plot_hist *h = &samples[i];
      int c = (h->color >= 0 ? h->color : (int)i) % 8;
      if (isfinite(h->marker) && h->marker >= lo && h->marker <= hi)
        fprintf(f,
                "set arrow from first %.17g, graph 0 to first %.17g, "
                "graph 1 nohead front lc rgb '%s' lw 2 dt 2\n",
                h->marker, h->marker, lsp_plot_color(c));
      if (!overlay && isfinite(h->marker) && h->marker >= lo &&
          h->marker <= hi && h->marker_name) {
        /* Label on the side of the line with more room. */
        int right = h->marker > lo + 0.6 * (hi - lo);
        fputs("set label ", f);
        lsp_plot_quote(f, h->marker_name);
        fprintf(f,
                " at first %.17g, graph 0.93 %s offset %s front "
                "textcolor rgb '%s'\n",
                h->marker, right ? "right" : "left", right ? "-0.8,0" : "0.8,0",
                lsp_plot_color(c));
      }
    }
    fputs("plot ", f);
    for (size_t i = i0; i < i1; i++) {
      const lsp_plot_hist *h = &samples[i];
      int c = (h->color >= 0 ? h->color : (int)i) % 8;
      fprintf(f,
              "%s$h%zu using 1:2 with fillsteps fc rgb '%s' fs transparent "
              "solid %s notitle, \\\n  $h%zu using 1:2 with steps lt %d lw 1.5 "
              "title ",
              i == i0 ? "" : ", \\\n  ", i, lsp_plot_color(c),
              overlay ? "0.12" : "0.25", i, c + 1);
      lsp_plot_quote(f, h->name);
      if (overlay && isfinite(h->marker) && h->marker >= lo &&
          h->marker <= hi && h->marker_name) {
        fprintf(f, ", \\\n  keyentry with lines lc rgb '%s' lw 2 dt 2 title ",
                lsp_plot_color(c));
        lsp_plot_quote(f, h->marker_name);
      }
    }
    fputc('\n', f);
  }
  fputs("unset multiplot\n", f);
  return lsp_plot_script_run(&s, path, opt->format, cols * pw, rows * ph + th);
}
