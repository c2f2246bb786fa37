/* lsp_plot_lines.c — panels of named series with intervals: metric vs
 * smoothing ε, accuracy vs attack ε, training curves. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_plot_int.h"

lsp_plot_series lsp_plot_series_make(const char *name, const double *x,
                                     const double *y, size_t n) {
  lsp_plot_series s;
  memset(&s, 0, sizeof s);
  s.name = name;
  s.x = x;
  s.y = y;
  s.n = n;
  s.color = -1;
  s.ci = LSP_PLOT_CI_BAND;
  return s;
}

/* A legend position is pasted into the script: letters and spaces only. */
static int key_ok(const char *k) {
  for (; *k; k++)
    if (!isalpha((unsigned char)*k) && *k != ' ') return 0;
  return 1;
}

static int check_panel(const char *path, const lsp_plot_panel *p, size_t i) {
  if (!p->series || p->nseries == 0)
    return lsp_fail(LSP_EINVAL, "%s: panel %zu has no series", path, i);
  if (p->key && !key_ok(p->key))
    return lsp_fail(LSP_EINVAL, "%s: panel %zu: bad legend position '%s'", path,
                    i, p->key);
  if ((p->xlog && ((isfinite(p->xmin) && p->xmin <= 0) ||
                   (isfinite(p->xmax) && p->xmax <= 0))) ||
      (p->ylog && ((isfinite(p->ymin) && p->ymin <= 0) ||
                   (isfinite(p->ymax) && p->ymax <= 0))))
    return lsp_fail(LSP_EINVAL, "%s: panel %zu: a log axis needs a range > 0",
                    path, i);
  for (size_t j = 0; j < p->nseries; j++) {
    const lsp_plot_series *s = &p->series[j];
    if (s->n == 0 || !s->x || !s->y)
      return lsp_fail(LSP_EINVAL, "%s: panel %zu, series %zu (%s) has no data",
                      path, i, j, s->name ? s->name : "unnamed");
    if (!s->lo != !s->hi)
      return lsp_fail(LSP_EINVAL,
                      "%s: panel %zu, series %zu: give both "
                      "interval bounds or neither",
                      path, i, j);
    if (s->dash < 0 || s->dash > 3 || s->marker < -1 || s->marker > 0 ||
        (s->ci != LSP_PLOT_CI_BAND && s->ci != LSP_PLOT_CI_BARS))
      return lsp_fail(LSP_EINVAL, "%s: panel %zu, series %zu: bad style", path,
                      i, j);
  }
  return LSP_OK;
}

/* The finite extent of a panel's values on one axis (x: the x values; y:
 * y and the interval ends), only the positive ones on a log axis; 0 when
 * there are none. */
static int extent(const lsp_plot_panel *p, int yaxis, int log, double *lo,
                  double *hi) {
  *lo = INFINITY, *hi = -INFINITY;
  for (size_t j = 0; j < p->nseries; j++) {
    const lsp_plot_series *sr = &p->series[j];
    const double *v[3] = {yaxis ? sr->y : sr->x, yaxis ? sr->lo : NULL,
                          yaxis ? sr->hi : NULL};
    /* a row whose drawn values are all missing is skipped by gnuplot,
     * x included: it sets no x range (the band draws from lo and hi) */
    const int band = sr->lo && sr->ci == LSP_PLOT_CI_BAND;
    for (int q = 0; q < 3; q++)
      for (size_t k = 0; v[q] && k < sr->n; k++) {
        double a = v[q][k];
        if (!isfinite(a) || (log && !(a > 0))) continue;
        if (!yaxis && !isfinite(sr->y[k]) &&
            !(band && isfinite(sr->lo[k]) && isfinite(sr->hi[k])))
          continue;
        if (a < *lo) *lo = a;
        if (a > *hi) *hi = a;
      }
  }
  return *lo <= *hi;
}

/* An axis whose automatic range would hold a single value (one epoch, a
 * constant curve): gnuplot warns "empty x range" and the figure would be
 * lost, so the range is set around the value instead (a bound the panel
 * gives is kept). */
static void widen(const lsp_plot_panel *p, int yaxis, double *lo, double *hi) {
  const int log = yaxis ? p->ylog : p->xlog;
  if (isfinite(*lo) && isfinite(*hi) && *lo == *hi) *lo = *hi = NAN;
  if (isfinite(*lo) && isfinite(*hi)) return;
  double dlo, dhi;
  if (!extent(p, yaxis, log, &dlo, &dhi)) return;
  double a = isfinite(*lo) ? *lo : dlo, b = isfinite(*hi) ? *hi : dhi;
  if (a != b) return;
  double d = a != 0.0 ? fabs(a) * 0.1 : 1.0;
  if (!isfinite(*lo)) *lo = log ? a / 2.0 : a - d;
  if (!isfinite(*hi)) *hi = log ? a * 2.0 : a + d;
}

/* x ticks: a panel whose x values are all whole numbers (epochs, counts)
 * gets whole ticks only — a step of 1, or the whole step that leaves at
 * most 10 ticks — where gnuplot would put 1.5; other panels the default. */
static void xtics(FILE *f, const lsp_plot_panel *p) {
  double lo = INFINITY, hi = -INFINITY;
  int whole = !p->xlog;
  for (size_t j = 0; whole && j < p->nseries; j++)
    for (size_t k = 0; k < p->series[j].n; k++) {
      const double x = p->series[j].x[k];
      if (!isfinite(x)) continue;
      if (x != floor(x) || fabs(x) > 1e9) {
        whole = 0;
        break;
      }
      lo = fmin(lo, x);
      hi = fmax(hi, x);
    }
  if (whole && lo <= hi)
    fprintf(f, "set xtics %.0f\n", hi - lo <= 10 ? 1.0 : ceil((hi - lo) / 10));
  else
    fputs("set xtics autofreq\n", f);
}

/* The figure's legend (lsp_plot_opts.legend_below): every distinct named
 * series once, in a band below the panels sized from the entries. The
 * widths are over-estimates (a character at most 0.09 in wide in every
 * format's font), so gnuplot's own layout fits in the rows counted. */
#define LEGEND_CHAR_IN 0.09
#define LEGEND_ROW_IN 0.22
#define LEGEND_PAD_IN 0.3

typedef struct {
  const lsp_plot_series *s;
  int color; /* palette index as drawn */
} legend_entry;

static int series_color(const lsp_plot_series *sr, size_t j) {
  return (sr->color >= 0 ? sr->color : (int)j) % 8;
}

static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* The distinct entries (name and style) into e (room for every series);
 * their count. */
static size_t legend_entries(const lsp_plot_panel *pn, size_t np, legend_entry *e) {
  size_t n = 0;
  for (size_t i = 0; i < np; i++)
    for (size_t j = 0; j < pn[i].nseries; j++) {
      const lsp_plot_series *sr = &pn[i].series[j];
      int c = series_color(sr, j), seen = 0;
      if (!sr->name) continue;
      for (size_t k = 0; k < n && !seen; k++)
        seen = !strcmp(e[k].s->name, sr->name) && e[k].color == c &&
               e[k].s->dash == sr->dash && (e[k].s->marker < 0) == (sr->marker < 0);
      if (!seen) e[n++] = (legend_entry){sr, c};
    }
  return n;
}

/* Columns that fit a width of w inches, and the band's height. */
static void legend_size(const legend_entry *e, size_t n, double w, int *cols, double *h) {
  size_t len = 0;
  for (size_t k = 0; k < n; k++) {
    size_t l = utf8_chars(e[k].s->name);
    len = l > len ? l : len;
  }
  double entry = (double)(len + 6) * LEGEND_CHAR_IN; /* sample, gaps and text */
  size_t c = (size_t)((w - 2 * LEGEND_PAD_IN) / entry);
  c = c < 1 ? 1 : c > n ? n : c;
  *cols = (int)c;
  *h = n ? (double)((n + c - 1) / c) * LEGEND_ROW_IN + LEGEND_PAD_IN : 0;
}

/* the legend's plot, in the bottom share frac of the figure */
static void legend_plot(FILE *f, const legend_entry *e, size_t n, int cols, double frac) {
  fprintf(f,
          "set origin 0,0\nset size 1,%.6f\n"
          "unset title\nunset xlabel\nunset ylabel\nunset logscale\nunset border\n"
          "unset tics\nunset grid\nset offsets 0, 0, 0, 0\nset xrange [0:1]\n"
          "set yrange [0:1]\nset margins 0, 0, 0, 0\n"
          "set key center center horizontal maxcols %d\n"
          "plot 2 notitle", /* a curve outside the range: keyentry alone draws no axes */
          frac, cols);
  for (size_t k = 0; k < n; k++) {
    fprintf(f, ", \\\n  keyentry with %s lt %d dt %d title ",
            e[k].s->marker < 0 ? "lines" : "linespoints", e[k].color + 1, e[k].s->dash + 1);
    lsp_plot_quote(f, e[k].s->name);
  }
  fputc('\n', f);
}

static void range(FILE *f, const char *axis, double lo, double hi) {
  if (isfinite(lo) && isfinite(hi) && lo == hi) lo = hi = NAN;
  fprintf(f, "set %srange [", axis);
  lsp_plot_bound(f, lo);
  fputc(':', f);
  lsp_plot_bound(f, hi);
  fputs("]\n", f);
}

int lsp_plot_lines(const char *path, const lsp_plot_opts *opt,
                   const lsp_plot_panel *panels, size_t npanels) {
  int st = lsp_plot_check_common(path, opt);
  if (st) return st;
  if (!panels || npanels == 0)
    return lsp_fail(LSP_EINVAL, "%s: no panels to plot", path);
  for (size_t i = 0; i < npanels; i++)
    if ((st = check_panel(path, &panels[i], i))) return st;

  int rows, cols;
  lsp_plot_grid(npanels, opt->columns, &rows, &cols);
  double pw = opt->panel_width > 0 ? opt->panel_width : 4.2;
  double ph = opt->panel_height > 0 ? opt->panel_height : 3.2;
  double th = opt->title ? 0.35 : 0;

  /* the legend band below the panels: its entries and height */
  legend_entry *le = NULL;
  size_t nle = 0;
  int lcols = 1;
  double lh = 0;
  if (opt->legend_below) {
    size_t all = 0;
    for (size_t i = 0; i < npanels; i++) all += panels[i].nseries;
    if (!(le = malloc(all * sizeof *le))) return lsp_fail(LSP_ENOMEM, "out of memory");
    nle = legend_entries(panels, npanels, le);
    legend_size(le, nle, cols * pw, &lcols, &lh);
  }
  const double W = cols * pw, H = rows * ph + th + lh;

  lsp_plot_script s;
  if ((st = lsp_plot_script_begin(&s))) {
    free(le);
    return st;
  }
  FILE *f = s.f;
  /* Data first: one datablock per series, columns x y lo hi. */
  for (size_t i = 0; i < npanels; i++)
    for (size_t j = 0; j < panels[i].nseries; j++) {
      const lsp_plot_series *sr = &panels[i].series[j];
      fprintf(f, "$p%zus%zu << EOD\n", i, j);
      for (size_t k = 0; k < sr->n; k++) {
        lsp_plot_num(f, sr->x[k]);
        fputc(' ', f);
        lsp_plot_num(f, sr->y[k]);
        fputc(' ', f);
        lsp_plot_num(f, sr->lo ? sr->lo[k] : NAN);
        fputc(' ', f);
        lsp_plot_num(f, sr->hi ? sr->hi[k] : NAN);
        fputc('\n', f);
      }
      fputs("EOD\n", f);
    }
  /* with a legend band the panels are placed by hand above it */
  if (opt->legend_below)
    fputs("set multiplot", f);
  else
    fprintf(f, "set multiplot layout %d,%d", rows, cols);
  if (opt->title) {
    fputs(" title ", f);
    lsp_plot_quote(f, opt->title);
    fputs(" font ',13'", f);
  }
  fputc('\n', f);
  for (size_t i = 0; i < npanels; i++) {
    const lsp_plot_panel *p = &panels[i];
    if (opt->legend_below) {
      size_t r = i / (size_t)cols, c = i % (size_t)cols;
      fprintf(f, "set origin %.6f,%.6f\nset size %.6f,%.6f\n", c * pw / W,
              (lh + (rows - 1 - (int)r) * ph) / H, pw / W, ph / H);
    }
    fputs("unset logscale\nset title ", f);
    lsp_plot_quote(f, p->title);
    fputs("\nset xlabel ", f);
    lsp_plot_quote(f, p->xlabel);
    fputs("\nset ylabel ", f);
    lsp_plot_quote(f, p->ylabel);
    fputc('\n', f);
    if (p->xlog) fputs("set logscale x 10\n", f);
    if (p->ylog) fputs("set logscale y 10\n", f);
    double xlo = p->xmin, xhi = p->xmax, ylo = p->ymin, yhi = p->ymax;
    widen(p, 0, &xlo, &xhi);
    widen(p, 1, &ylo, &yhi);
    /* Points at the ends of an automatic x range stay off the axes. */
    if (isfinite(xlo) || isfinite(xhi) || p->xlog)
      fputs("set offsets 0, 0, 0, 0\nset autoscale x\n", f);
    else
      fputs(
          "set offsets graph 0.03, graph 0.03, 0, 0\n"
          "set autoscale xfix\n",
          f);
    range(f, "x", xlo, xhi);
    range(f, "y", ylo, yhi);
    xtics(f, p);
    if (opt->legend_below || (p->key && !strcmp(p->key, "off")))
      fputs("unset key\n", f);
    else
      fprintf(f, "set key %s\n", p->key ? p->key : "top right");
    fputs("plot ", f);
    int first = 1;
    /* Interval bands go first so every line is drawn on top of them. */
    for (size_t j = 0; j < p->nseries; j++) {
      const lsp_plot_series *sr = &p->series[j];
      int c = (sr->color >= 0 ? sr->color : (int)j) % 8;
      if (!sr->lo || sr->ci != LSP_PLOT_CI_BAND) continue;
      fprintf(f,
              "%s$p%zus%zu using 1:3:4 with filledcurves fc rgb '%s' "
              "fs transparent solid 0.18 notitle",
              first ? "" : ", \\\n  ", i, j, lsp_plot_color(c));
      first = 0;
    }
    for (size_t j = 0; j < p->nseries; j++) {
      const lsp_plot_series *sr = &p->series[j];
      int c = (sr->color >= 0 ? sr->color : (int)j) % 8;
      if (sr->lo && sr->ci == LSP_PLOT_CI_BARS) {
        fprintf(f,
                "%s$p%zus%zu using 1:2:3:4 with yerrorbars lt %d "
                "pt -1 lw 1.2 notitle",
                first ? "" : ", \\\n  ", i, j, c + 1);
        first = 0;
      }
      /* Long series (training curves) get a marker every n/12 points. */
      size_t every = sr->n > 24 ? (sr->n + 11) / 12 : 1;
      fprintf(f, "%s$p%zus%zu using 1:2 with %s lt %d dt %d",
              first ? "" : ", \\\n  ", i, j,
              sr->marker < 0 ? "lines" : "linespoints", c + 1, sr->dash + 1);
      if (sr->marker >= 0 && every > 1) fprintf(f, " pi %zu", every);
      if (sr->name) {
        fputs(" title ", f);
        lsp_plot_quote(f, sr->name);
      } else {
        fputs(" notitle", f);
      }
      first = 0;
    }
    fputc('\n', f);
  }
  if (nle) legend_plot(f, le, nle, lcols, lh / H);
  free(le);
  fputs("unset multiplot\n", f);
  return lsp_plot_script_run(&s, path, opt->format, W, H);
}
