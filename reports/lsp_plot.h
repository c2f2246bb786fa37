/* lsp_plot.h — research figures rendered by gnuplot through a pipe.
 *
 * The plot functions take plain arrays (they know nothing about models),
 * write a gnuplot script with the data inline (`$d0 << EOD` datablocks, no
 * temporary data files), pipe it to gnuplot and rename the finished picture
 * onto `path` (temporary file + rename, core/base/lsp_io.h). When gnuplot reports
 * an error or a warning, or exits with a non-zero status, the call fails
 * with a message quoting gnuplot's first error line, and no file is left.
 *
 * When gnuplot cannot be run (not on PATH, or LSPROBE_GNUPLOT names a
 * missing program) every renderer returns LSP_PLOT_NOGNUPLOT, a status that
 * is not a failure of the data: the caller writes its report without
 * pictures and shows a warning (lsp_errmsg() says what was looked for).
 *
 * Looks: Okabe–Ito colour-blind-safe palette (lsp_plot_color), labelled
 * axes (the caller passes units in the labels, e.g. "attack ε (L∞, pixels)"),
 * legends, white background. Text is drawn literally (gnuplot's "enhanced"
 * markup is off, so names like "ls_0.1" are not turned into subscripts);
 * use UTF-8 for Greek letters and superscripts (ε, R²). */
#ifndef LSP_PLOT_H
#define LSP_PLOT_H

#include <stddef.h>
#include <stdint.h>

/* Status returned (instead of an lsp_status code) when gnuplot cannot be
 * run. Distinct from every LSP_E* value. */
#define LSP_PLOT_NOGNUPLOT 64

typedef enum {
  LSP_PLOT_SVG = 0, /* default; clean to inline into HTML                  */
  LSP_PLOT_PNG = 1, /* pngcairo (libgd png as a fallback), 150 pixels/inch  */
  LSP_PLOT_PDF = 2  /* pdfcairo, vector, for papers                        */
} lsp_plot_format;

/* Figure-level options shared by every plot kind. Zero-initialise
 * (`lsp_plot_opts o = {0};`) for the defaults. */
typedef struct {
  lsp_plot_format format;
  const char *title;   /* a title over the whole figure; NULL = none     */
  double panel_width;  /* inches per panel; 0 = the plot kind's default   */
  double panel_height; /* inches per panel; 0 = the plot kind's default   */
  int columns;         /* panels per row; 0 = all in one row (at most 4)  */
  int legend_below;    /* lines only: 1 = one legend for the whole figure,
                          in a band below the panels, where it covers no
                          data (the panels' own keys are off); 0 = each
                          panel's key where the panel puts it          */
} lsp_plot_opts;

/* ---- the driver --------------------------------------------------------- */

/* The gnuplot program to run: $LSPROBE_GNUPLOT if set and non-empty, else
 * "gnuplot" (looked up on PATH). Static storage; do not free. */
const char *lsp_plot_command(void);
/* Kill the process group of every gnuplot running now (async-signal-safe:
 * for a signal handler that ends the process; gnuplot and what it started
 * would otherwise go on writing). */
void lsp_plot_kill_live(void);

/* LSP_OK if the gnuplot program exists and is executable (a PATH lookup, no
 * process is started); else LSP_PLOT_NOGNUPLOT with a message naming the
 * command. Cheap: call it once before a report to decide on pictures. */
int lsp_plot_available(void);

/* Parse "svg" / "png" / "pdf" (case-insensitive) into *fmt. LSP_EINVAL with
 * a message listing the choices otherwise. */
int lsp_plot_format_parse(const char *name, lsp_plot_format *fmt);

/* "svg", "png" or "pdf" (the file extension, without the dot). */
const char *lsp_plot_format_ext(lsp_plot_format fmt);

/* Colour i of the Okabe–Ito palette as "#rrggbb" (i taken modulo 8; order:
 * blue, vermillion, bluish green, orange, reddish purple, sky blue, black,
 * yellow). The plots use linetypes 1..8 in this order, so a model drawn in
 * colour i looks the same in every figure and can be matched in HTML. */
const char *lsp_plot_color(int i);

/* Low level: run `body` (gnuplot commands; may define datablocks and use
 * `set multiplot`) with the terminal for `fmt` sized width × height inches,
 * the palette as linetypes 1..8, a white background and literal text, and
 * write the picture atomically to `path`. Errors: LSP_EINVAL (bad size or
 * NULL), LSP_PLOT_NOGNUPLOT, LSP_EDATA (gnuplot reported an error or a
 * warning; the message quotes its first error line; nothing is written),
 * LSP_EIO (temporary files), LSP_EINTR (lsp_interrupted() was set). */
int lsp_plot_run(const char *path, lsp_plot_format fmt, double width,
                 double height, const char *body);

/* ---- series: metric vs ε, accuracy vs attack ε, training curves --------- */

enum {
  LSP_PLOT_CI_BAND = 0, /* lo..hi drawn as a translucent band (default) */
  LSP_PLOT_CI_BARS = 1  /* lo..hi drawn as error bars                    */
};

/* One named line. x, y have n entries; lo/hi (both or neither) are the
 * interval bounds per point. Non-finite y values are gaps, and take no
 * part in the automatic x range. */
typedef struct {
  const char *name; /* legend entry (name ε and convention); NULL = none */
  const double *x;
  const double *y;
  const double *lo; /* optional, n entries; NULL = no interval           */
  const double *hi;
  size_t n;
  int color;  /* palette index (lsp_plot_color); -1 = the series' position */
  int dash;   /* 0 solid, 1 dashed, 2 dotted, 3 dash-dot                    */
  int marker; /* 0 = the colour's own marker, -1 = no marker (line only)    */
  int ci;     /* LSP_PLOT_CI_BAND or LSP_PLOT_CI_BARS                       */
} lsp_plot_series;

typedef struct {
  const char *title;  /* panel title; NULL = none                       */
  const char *xlabel; /* with units, e.g. "smoothing ε"                 */
  const char *ylabel; /* with units, e.g. "ECE (15 bins)"               */
  int xlog, ylog;     /* log10 axes (all shown values must be > 0)      */
  double xmin, xmax;  /* axis range; NaN (or min == max) = automatic    */
  double ymin, ymax;
  const char *key; /* legend position ("top right", "bottom left", ...,
                      "off"); NULL = "top right"                     */
  const lsp_plot_series *series;
  size_t nseries;
} lsp_plot_panel;

/* A figure of one or more panels of lines (multiplot when npanels > 1).
 * Default panel size 4.2 × 3.2 in. With opt->legend_below the legend lists
 * every distinct named series of the panels once (a name drawn in two
 * styles: once per style), in the order first met, in as many columns as
 * fit the width, and the figure grows by its band. Per panel: interval bands are drawn
 * under the lines; long series (training curves) get a marker every n/12
 * points; an automatic x range is padded 3% so end points stay off the
 * axes. Errors: LSP_EINVAL (no panels, a series with n == 0, NULL x/y,
 * only one of lo/hi, a legend position with characters other than letters
 * and spaces, a log axis with a range bound <= 0), and lsp_plot_run's:
 * a series with no finite point (or a log axis with no positive value)
 * makes gnuplot complain, which is LSP_EDATA with gnuplot's message. */
int lsp_plot_lines(const char *path, const lsp_plot_opts *opt,
                   const lsp_plot_panel *panels, size_t npanels);

/* Set the fields of a series to their defaults (color -1, solid, marker,
 * band) with the given data; a convenience for callers. */
lsp_plot_series lsp_plot_series_make(const char *name, const double *x,
                                     const double *y, size_t n);

/* ---- reliability diagrams ----------------------------------------------- */

/* One model's per-bin calibration: nbins equal-width confidence bins on
 * [0, 1] (bin m covers [m/M, (m+1)/M]); count[m] examples (may be
 * fractional after averaging seeds), their mean confidence and accuracy.
 * Bins with count 0 are not drawn (their confidence/accuracy are ignored). */
typedef struct {
  const char *name; /* panel title, e.g. "ε = 0.1 (uniform)"      */
  size_t nbins;
  const double *count;      /* nbins */
  const double *confidence; /* nbins, in [0, 1] where count > 0 */
  const double *accuracy;   /* nbins, in [0, 1] where count > 0 */
  double ece;               /* shown in the panel; NaN = not shown         */
  double mean_confidence;   /* vertical marks in the histogram; NaN = none */
  double mean_accuracy;
} lsp_plot_reliability;

/* One column per model (same axes): on top, bars of per-bin accuracy, gap
 * bars from accuracy to mean confidence in a second colour, and the
 * diagonal; below, the share of examples per bin. Default panel 3.4 ×
 * 4.2 in. Errors: LSP_EINVAL (no models, nbins == 0, NULL arrays, a negative
 * count or a value outside [0, 1] in a non-empty bin), lsp_plot_run's. */
int lsp_plot_reliability_diagram(const char *path, const lsp_plot_opts *opt,
                                 const lsp_plot_reliability *models,
                                 size_t nmodels);

/* ---- 2-D scatter panels (the Müller et al. projection) ------------------ */

/* One panel: n points (x, y) with class index cls[i] in [0, nclasses);
 * optional template positions tx, ty (nclasses entries each). */
typedef struct {
  const char *name; /* panel title */
  size_t n;
  const double *x;
  const double *y;
  const int32_t *cls;
  const double *tx; /* NULL = no templates */
  const double *ty;
} lsp_plot_scatter_panel;

/* One panel per model, all with the same x and y ranges (the union of the
 * finite points and templates, padded 5%) and equal scales on both axes
 * (the projection is orthonormal); points coloured by class, templates as
 * large outlined diamonds in their class colour; class names in the legend.
 * Default panel 3.6 × 3.6 in. Errors: LSP_EINVAL (no panels or classes,
 * more than 8 classes, a class index out of range, NULL arrays, no finite
 * point at all), lsp_plot_run's. */
int lsp_plot_scatter(const char *path, const lsp_plot_opts *opt,
                     const char *xlabel, const char *ylabel,
                     const char *const *class_names, size_t nclasses,
                     const lsp_plot_scatter_panel *panels, size_t npanels);

/* ---- histograms with a marker line (logit gap vs its optimum) ----------- */

/* One sample: n raw values, binned here on the common range, drawn as a
 * density (so samples of different sizes compare); marker = a vertical
 * dashed line in the same colour (e.g. the optimal logit gap; NaN = none). */
typedef struct {
  const char *name;
  const double *values;
  size_t n;
  double marker;
  const char *marker_name; /* legend entry of the marker; NULL = none     */
  int color;               /* palette index; -1 = the sample's position   */
} lsp_plot_hist;

/* Histograms of several samples with nbins equal bins spanning [lo, hi]
 * (both NaN = the range of all finite values and markers); values outside
 * are dropped. overlay != 0: all in one panel as outlined steps; 0: one
 * panel per sample, same axes. Default panel 4.2 × 3.2 in. Errors:
 * LSP_EINVAL (no samples, nbins == 0, NULL values, an empty range, a sample
 * without a finite value), lsp_plot_run's. */
int lsp_plot_histogram(const char *path, const lsp_plot_opts *opt,
                       const char *xlabel, size_t nbins, double lo, double hi,
                       int overlay, const lsp_plot_hist *samples,
                       size_t nsamples);

#endif
