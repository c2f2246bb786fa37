/* The gnuplot driver and plot kinds: every kind in every format gives a
 * file with the right signature; gnuplot's errors and warnings are caught
 * with its own message and leave no file (an earlier file survives); a
 * missing gnuplot is a distinct status; a gnuplot that dies without
 * reading its input does not kill the caller (SIGPIPE); bad arguments are
 * refused before gnuplot runs. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "reports/lsp_plot.h"
#include "plot_fixture.h"
#include "testutil.h"

static int exists(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0;
}

/* No temporary file (*.tmp.*) left in the scratch folder. */
static void assert_no_temporaries(void) {
  DIR *d = opendir(g_dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)))
    if (strstr(e->d_name, ".tmp.")) fail_msg("left behind: %s", e->d_name);
  closedir(d);
}

/* The signature of each format, independent of how we wrote it. */
static void assert_picture(const char *p, lsp_plot_format fmt) {
  size_t len;
  char *b = slurp(p, &len);
  assert_true(len > 200);
  if (fmt == LSP_PLOT_SVG) {
    assert_true(!strncmp(b, "<?xml", 5) || !strncmp(b, "<svg", 4));
    assert_non_null(strstr(b, "<svg"));
    assert_non_null(strstr(b, "</svg>"));
  } else if (fmt == LSP_PLOT_PNG) {
    assert_memory_equal(b, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(b + 12, "IHDR", 4);
  } else {
    assert_memory_equal(b, "%PDF-", 5);
    assert_non_null(strstr(b + len - 32 > b ? b + len - 32 : b, "%%EOF"));
  }
  free(b);
}

static int setup(void **state) {
  (void)state;
  return plot_fixture_setup("plots");
}

/* ---- data for each kind ------------------------------------------------ */

static const double k_x[5] = {0, 0.05, 0.1, 0.2, 0.3};
static const double k_y[2][5] = {{0.045, 0.021, 0.012, 0.034, 0.061},
                                 {0.011, 0.010, 0.012, 0.013, 0.015}};
static const double k_lo[5] = {0.040, 0.017, 0.009, 0.030, 0.057};
static const double k_hi[5] = {0.050, 0.026, 0.017, 0.039, 0.066};

static int plot_lines(const char *path, lsp_plot_format fmt) {
  lsp_plot_series s[2] = {
      lsp_plot_series_make("ls_0.1 <a&b> 'q'", k_x, k_y[0], 5),
      lsp_plot_series_make("after T", k_x, k_y[1], 5)};
  s[0].lo = k_lo;
  s[0].hi = k_hi;
  s[1].dash = 1;
  s[1].ci = LSP_PLOT_CI_BARS;
  lsp_plot_panel p[2] = {{"ECE", "smoothing ε", "ECE (15 bins)", 0, 0, NAN, NAN,
                          NAN, NAN, NULL, s, 2},
                         {"log axis", "smoothing ε", "ECE", 0, 1, NAN, NAN, NAN,
                          NAN, "bottom left", s, 1}};
  lsp_plot_opts o = {0};
  o.format = fmt;
  o.title = "figure title";
  return lsp_plot_lines(path, &o, p, 2);
}

static const double k_cnt[5] = {0, 3, 10, 40, 147};
static const double k_conf[5] = {0.1, 0.33, 0.52, 0.71, 0.93};
static const double k_acc[5] = {0, 0.30, 0.60, 0.65, 0.95};

static int plot_reliability(const char *path, lsp_plot_format fmt) {
  lsp_plot_reliability r[2] = {
      {"ε = 0", 5, k_cnt, k_conf, k_acc, 0.0234, 0.86, 0.88},
      {"ε = 0.1", 5, k_cnt, k_acc, k_conf, NAN, NAN, NAN}};
  lsp_plot_opts o = {0};
  o.format = fmt;
  return lsp_plot_reliability_diagram(path, &o, r, 2);
}

static const double k_px[6] = {0.1, 0.3, -1.2, -0.9, 2.0, 2.4};
static const double k_py[6] = {1.0, 1.3, -0.5, -0.8, 0.2, NAN};
static const int32_t k_cls[6] = {0, 0, 1, 1, 2, 2};
static const double k_tx[3] = {0.5, -2.0, 3.0}, k_ty[3] = {2.0, -1.0, 0.0};

static int plot_scatter(const char *path, lsp_plot_format fmt) {
  const char *names[3] = {"T-shirt/top", "Trouser", "Pullover"};
  lsp_plot_scatter_panel p[2] = {{"ε = 0", 6, k_px, k_py, k_cls, k_tx, k_ty},
                                 {"ε = 0.1", 4, k_px, k_py, k_cls, NULL, NULL}};
  lsp_plot_opts o = {0};
  o.format = fmt;
  return lsp_plot_scatter(path, &o, "e1", "e2", names, 3, p, 2);
}

static const double k_gap[8] = {3.1, 4.0, 4.4, 4.6, 5.2, 2.8, NAN, 4.9};

static int plot_hist(const char *path, lsp_plot_format fmt, int overlay) {
  lsp_plot_hist h[2] = {{"ε = 0", k_gap, 8, NAN, NULL, -1},
                        {"ε = 0.1", k_gap + 1, 6, 4.5109, "optimal gap", -1}};
  lsp_plot_opts o = {0};
  o.format = fmt;
  return lsp_plot_histogram(path, &o, "logit gap", 10, NAN, NAN, overlay, h, 2);
}

static void test_every_kind_every_format(void **state) {
  (void)state;
  NEED_GNUPLOT();
  for (int f = 0; f < 3; f++) {
    lsp_plot_format fmt = (lsp_plot_format)f;
    const char *ext = lsp_plot_format_ext(fmt);
    char name[64];
    snprintf(name, sizeof name, "lines.%s", ext);
    assert_int_equal(plot_lines(out(name), fmt), LSP_OK);
    assert_picture(out(name), fmt);
    snprintf(name, sizeof name, "rel.%s", ext);
    assert_int_equal(plot_reliability(out(name), fmt), LSP_OK);
    assert_picture(out(name), fmt);
    snprintf(name, sizeof name, "scatter.%s", ext);
    assert_int_equal(plot_scatter(out(name), fmt), LSP_OK);
    assert_picture(out(name), fmt);
    snprintf(name, sizeof name, "hist.%s", ext);
    assert_int_equal(plot_hist(out(name), fmt, 1), LSP_OK);
    assert_picture(out(name), fmt);
    snprintf(name, sizeof name, "histp.%s", ext);
    assert_int_equal(plot_hist(out(name), fmt, 0), LSP_OK);
    assert_picture(out(name), fmt);
  }
  assert_no_temporaries();
}

/* In the C locale (no LANG: containers, cron, a debootstrapped system)
 * gnuplot 5.4 warns about `set encoding utf8` and a warning fails a
 * figure: gnuplot gets LC_ALL=C.UTF-8 whatever the caller's locale. */
static void test_c_locale(void **state) {
  (void)state;
  NEED_GNUPLOT();
  char *lang = getenv("LANG") ? strdup(getenv("LANG")) : NULL;
  char *all = getenv("LC_ALL") ? strdup(getenv("LC_ALL")) : NULL;
  unsetenv("LANG");
  setenv("LC_ALL", "C", 1);
  const int st = plot_lines(out("clocale.svg"), LSP_PLOT_SVG);
  const int st2 = plot_hist(out("clocale.png"), LSP_PLOT_PNG, 1);
  if (lang) setenv("LANG", lang, 1);
  if (all) setenv("LC_ALL", all, 1);
  else unsetenv("LC_ALL");
  free(lang);
  free(all);
  assert_int_equal(st, LSP_OK);
  assert_int_equal(st2, LSP_OK);
  assert_picture(out("clocale.svg"), LSP_PLOT_SVG);
  assert_picture(out("clocale.png"), LSP_PLOT_PNG);
}

/* Text reaches the picture literally (no enhanced-text markup, quotes
 * survive gnuplot's quoting, XML escaping by gnuplot) and the palette's
 * first colour, Okabe–Ito blue (0, 114, 178), is used. */
static void test_svg_text_and_palette(void **state) {
  (void)state;
  NEED_GNUPLOT();
  const char *p = out("text.svg");
  assert_int_equal(plot_lines(p, LSP_PLOT_SVG), LSP_OK);
  size_t len;
  char *b = slurp(p, &len);
  assert_non_null(strstr(b, "ls_0.1 &lt;a&amp;b> 'q'"));
  assert_non_null(strstr(b, "smoothing ε"));
  assert_non_null(strstr(b, "0, 114, 178"));
  assert_null(strstr(b, "<script"));
  free(b);
}

/* ---- errors ------------------------------------------------------------- */

static void test_gnuplot_error_caught(void **state) {
  (void)state;
  NEED_GNUPLOT();
  const char *p = out("bad.svg");
  unlink(p);
  int st = lsp_plot_run(p, LSP_PLOT_SVG, 4, 3, "plot $nope with lines\n");
  assert_int_equal(st, LSP_EDATA);
  /* gnuplot's own words, quoted */
  assert_non_null(strstr(lsp_errmsg(), "no datablock named $nope"));
  assert_non_null(strstr(lsp_errmsg(), p));
  assert_false(exists(p));
  assert_no_temporaries();
}

static void test_gnuplot_error_keeps_earlier_file(void **state) {
  (void)state;
  NEED_GNUPLOT();
  const char *p = out("keep.png");
  assert_int_equal(lsp_write_file_atomic(p, "EARLIER", 7), LSP_OK);
  int st = lsp_plot_run(p, LSP_PLOT_PNG, 4, 3, "plot [0:1] undefined_fn(x)\n");
  assert_int_equal(st, LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "undefined"));
  size_t len;
  char *b = slurp(p, &len);
  assert_int_equal(len, 7);
  assert_memory_equal(b, "EARLIER", 7);
  free(b);
  assert_no_temporaries();
}

/* A series of NaN only: gnuplot finds no valid point and says so. */
static void test_nan_series_caught(void **state) {
  (void)state;
  NEED_GNUPLOT();
  const double nan5[5] = {NAN, NAN, NAN, NAN, NAN};
  lsp_plot_series s = lsp_plot_series_make("empty", k_x, nan5, 5);
  lsp_plot_panel pn = {NULL, "x", "y", 0, 0, NAN, NAN, NAN, NAN, NULL, &s, 1};
  lsp_plot_opts o = {0};
  const char *p = out("nan.svg");
  unlink(p);
  assert_int_equal(lsp_plot_lines(p, &o, &pn, 1), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "gnuplot: "));
  assert_false(exists(p));
}

/* Whole-number x (epochs): ticks at whole numbers only, where gnuplot's
 * own would put 1.5, 2.5, ...; a panel of fractional x keeps the default
 * ticks (fractions among them). */
static void test_whole_x_ticks(void **state) {
  (void)state;
  NEED_GNUPLOT();
  const double ex[5] = {1, 2, 3, 4, 5}, ey[5] = {20, 30, 40, 45, 47},
               fx[3] = {0, 0.5, 1}, fy[3] = {20, 30, 40};
  lsp_plot_series se = lsp_plot_series_make("epochs", ex, ey, 5);
  lsp_plot_series sf = lsp_plot_series_make("fractions", fx, fy, 3);
  lsp_plot_panel pn[2] = {{NULL, "epoch", "loss", 0, 0, NAN, NAN, NAN, NAN, NULL, &se, 1},
                          {NULL, "x", "y", 0, 0, NAN, NAN, NAN, NAN, NULL, &sf, 1}};
  lsp_plot_opts o = {0};
  const char *p = out("ticks.svg");
  for (int panels = 1; panels <= 2; panels++) {
    assert_int_equal(lsp_plot_lines(p, &o, pn + (panels == 2), 1), LSP_OK);
    size_t len = 0;
    char *svg = slurp(p, &len);
    assert_non_null(svg);
    if (panels == 1) {
      assert_null(strstr(svg, " 1.5</text>"));
      assert_null(strstr(svg, " 4.5</text>"));
      assert_non_null(strstr(svg, " 3</text>"));
    } else {
      assert_true(strstr(svg, " 0.2</text>") || strstr(svg, " 0.25</text>") ||
                  strstr(svg, " 0.5</text>"));
    }
    free(svg);
  }
}

/* One point (a single training epoch) and a constant curve: the automatic
 * ranges would be empty (a gnuplot warning, the figure lost); the plot is
 * drawn around the value, on linear and log axes. */
static void test_single_value_ranges(void **state) {
  (void)state;
  NEED_GNUPLOT();
  const double one_x[1] = {1}, one_y[1] = {2.3}, cx[3] = {1, 2, 3},
               cy[3] = {0.1, 0.1, 0.1}, zy[3] = {0, 0, 0};
  lsp_plot_series s1 = lsp_plot_series_make("one epoch", one_x, one_y, 1);
  lsp_plot_series s2 = lsp_plot_series_make("constant", cx, cy, 3);
  lsp_plot_series s3 = lsp_plot_series_make("zero", cx, zy, 3);
  lsp_plot_panel pn[4] = {
      {"one point", "epoch", "loss", 0, 0, NAN, NAN, NAN, NAN, NULL, &s1, 1},
      {"constant", "epoch", "accuracy", 0, 0, NAN, NAN, NAN, NAN, NULL, &s2, 1},
      {"constant, log", "epoch", "accuracy", 1, 1, NAN, NAN, NAN, NAN, NULL, &s2, 1},
      {"zero from 0", "epoch", "accuracy", 0, 0, NAN, NAN, 0, NAN, NULL, &s3, 1}};
  lsp_plot_opts o = {0};
  const char *p = out("single.svg");
  unlink(p);
  int st = lsp_plot_lines(p, &o, pn, 4);
  if (st) fprintf(stderr, "%s\n", lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  assert_true(exists(p));
}

/* A warning alone (gnuplot still exits 0) also fails the plot. */
static void test_warning_caught(void **state) {
  (void)state;
  NEED_GNUPLOT();
  const char *p = out("warn.svg");
  unlink(p);
  int st = lsp_plot_run(p, LSP_PLOT_SVG, 4, 3,
                        "set xrange [1:1]\nplot x with lines\n");
  assert_int_equal(st, LSP_EDATA);
  /* gnuplot 5.4: "Warning: empty y range [1:1], adjusting to ..." */
  assert_non_null(strstr(lsp_errmsg(), "empty y range"));
  assert_false(exists(p));
}

static void test_gnuplot_missing(void **state) {
  (void)state;
  const char *p = out("missing.svg");
  unlink(p);
  setenv("LSPROBE_GNUPLOT", "/nonexistent/gnuplot", 1);
  assert_string_equal(lsp_plot_command(), "/nonexistent/gnuplot");
  assert_int_equal(lsp_plot_available(), LSP_PLOT_NOGNUPLOT);
  assert_non_null(strstr(lsp_errmsg(), "/nonexistent/gnuplot"));
  assert_int_equal(plot_lines(p, LSP_PLOT_SVG), LSP_PLOT_NOGNUPLOT);
  assert_int_equal(plot_scatter(p, LSP_PLOT_PNG), LSP_PLOT_NOGNUPLOT);
  assert_false(exists(p));
  /* a bare name is looked up on PATH */
  setenv("LSPROBE_GNUPLOT", "lsprobe-no-such-gnuplot", 1);
  assert_int_equal(lsp_plot_available(), LSP_PLOT_NOGNUPLOT);
  /* an existing file that is not executable */
  setenv("LSPROBE_GNUPLOT", td_path("."), 1);
  assert_int_equal(lsp_plot_available(), LSP_PLOT_NOGNUPLOT);
  unsetenv("LSPROBE_GNUPLOT");
  assert_false(exists(p));
}

/* A "gnuplot" that exits at once without reading: the script (larger than
 * a pipe buffer) hits a closed pipe. We must get a status, not a SIGPIPE
 * death; /bin/false's non-zero exit is the error. */
static void test_dead_gnuplot_no_sigpipe(void **state) {
  (void)state;
  if (!exists("/bin/false") || !exists("/bin/true")) skip();
  enum { N = 20000 };
  double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
  int32_t *c = malloc(N * sizeof *c);
  assert_true(x && y && c);
  for (int i = 0; i < N; i++) {
    x[i] = 0.001 * i;
    y[i] = sin(0.01 * i);
    c[i] = i % 3;
  }
  const char *names[3] = {"a", "b", "c"};
  lsp_plot_scatter_panel p = {"big", N, x, y, c, NULL, NULL};
  lsp_plot_opts o = {0};
  const char *path = out("dead.svg");
  setenv("LSPROBE_GNUPLOT", "/bin/false", 1);
  assert_int_equal(lsp_plot_scatter(path, &o, "x", "y", names, 3, &p, 1),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "gnuplot"));
  /* exits 0 without a picture: still an error */
  setenv("LSPROBE_GNUPLOT", "/bin/true", 1);
  assert_int_equal(lsp_plot_scatter(path, &o, "x", "y", names, 3, &p, 1),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "no picture"));
  unsetenv("LSPROBE_GNUPLOT");
  assert_false(exists(path));
  assert_no_temporaries();
  free(x);
  free(y);
  free(c);
}

static void test_bad_arguments(void **state) {
  (void)state;
  const char *p = out("never.svg");
  lsp_plot_opts o = {0};
  /* lines */
  lsp_plot_series s = lsp_plot_series_make("s", k_x, k_y[0], 0);
  lsp_plot_panel pn = {NULL, "x", "y", 0, 0, NAN, NAN, NAN, NAN, NULL, &s, 1};
  assert_int_equal(lsp_plot_lines(p, &o, &pn, 1), LSP_EINVAL); /* n = 0 */
  s.n = 5;
  s.lo = k_lo; /* lo without hi */
  assert_int_equal(lsp_plot_lines(p, &o, &pn, 1), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "both"));
  s.lo = NULL;
  pn.key = "top; system('rm')"; /* pasted into the script: refused */
  assert_int_equal(lsp_plot_lines(p, &o, &pn, 1), LSP_EINVAL);
  pn.key = NULL;
  pn.ylog = 1;
  pn.ymin = 0;
  assert_int_equal(lsp_plot_lines(p, &o, &pn, 1), LSP_EINVAL);
  pn.ylog = 0;
  assert_int_equal(lsp_plot_lines(p, &o, &pn, 0), LSP_EINVAL);
  assert_int_equal(lsp_plot_lines(NULL, &o, &pn, 1), LSP_EINVAL);
  o.format = (lsp_plot_format)7;
  assert_int_equal(lsp_plot_lines(p, &o, &pn, 1), LSP_EINVAL);
  o.format = LSP_PLOT_SVG;
  o.panel_width = -1;
  assert_int_equal(lsp_plot_lines(p, &o, &pn, 1), LSP_EINVAL);
  o.panel_width = 0;
  /* reliability */
  const double neg[5] = {1, -2, 3, 4, 5};
  lsp_plot_reliability r = {"m", 5, neg, k_conf, k_acc, NAN, NAN, NAN};
  assert_int_equal(lsp_plot_reliability_diagram(p, &o, &r, 1), LSP_EINVAL);
  const double bad_acc[5] = {0, 0.3, 1.5, 0.6, 0.9};
  r.count = k_cnt;
  r.accuracy = bad_acc;
  assert_int_equal(lsp_plot_reliability_diagram(p, &o, &r, 1), LSP_EINVAL);
  const double zero[5] = {0, 0, 0, 0, 0};
  r.accuracy = k_acc;
  r.count = zero;
  assert_int_equal(lsp_plot_reliability_diagram(p, &o, &r, 1), LSP_EINVAL);
  r.count = k_cnt;
  r.nbins = 0;
  assert_int_equal(lsp_plot_reliability_diagram(p, &o, &r, 1), LSP_EINVAL);
  /* scatter */
  const char *names[3] = {"a", "b", "c"};
  const int32_t badc[6] = {0, 1, 3, 0, 1, 2};
  lsp_plot_scatter_panel sp = {"s", 6, k_px, k_py, badc, NULL, NULL};
  assert_int_equal(lsp_plot_scatter(p, &o, "x", "y", names, 3, &sp, 1),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "class 3"));
  sp.cls = k_cls;
  assert_int_equal(lsp_plot_scatter(p, &o, "x", "y", names, 9, &sp, 1),
                   LSP_EINVAL);
  sp.tx = k_tx; /* tx without ty */
  assert_int_equal(lsp_plot_scatter(p, &o, "x", "y", names, 3, &sp, 1),
                   LSP_EINVAL);
  const double nan6[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
  lsp_plot_scatter_panel sn = {"s", 6, nan6, nan6, k_cls, NULL, NULL};
  assert_int_equal(lsp_plot_scatter(p, &o, "x", "y", names, 3, &sn, 1),
                   LSP_EINVAL);
  /* histogram */
  lsp_plot_hist h = {"h", k_gap, 8, NAN, NULL, -1};
  assert_int_equal(lsp_plot_histogram(p, &o, "g", 0, NAN, NAN, 1, &h, 1),
                   LSP_EINVAL);
  assert_int_equal(lsp_plot_histogram(p, &o, "g", 10, 3, 1, 1, &h, 1),
                   LSP_EINVAL);
  assert_int_equal(lsp_plot_histogram(p, &o, "g", 10, 3, NAN, 1, &h, 1),
                   LSP_EINVAL);
  h.values = nan6;
  h.n = 6;
  assert_int_equal(lsp_plot_histogram(p, &o, "g", 10, NAN, NAN, 1, &h, 1),
                   LSP_EINVAL);
  /* low level */
  assert_int_equal(lsp_plot_run(p, LSP_PLOT_SVG, 0.1, 3, "plot x"), LSP_EINVAL);
  assert_int_equal(lsp_plot_run(p, LSP_PLOT_SVG, 4, 3, NULL), LSP_EINVAL);
  assert_int_equal(lsp_plot_run(out("a\nb.svg"), LSP_PLOT_SVG, 4, 3, "plot x"),
                   LSP_EINVAL);
  assert_false(exists(p));
}

static void test_formats_and_palette(void **state) {
  (void)state;
  lsp_plot_format f = LSP_PLOT_SVG;
  assert_int_equal(lsp_plot_format_parse("PDF", &f), LSP_OK);
  assert_int_equal(f, LSP_PLOT_PDF);
  assert_int_equal(lsp_plot_format_parse("png", &f), LSP_OK);
  assert_int_equal(f, LSP_PLOT_PNG);
  assert_int_equal(lsp_plot_format_parse("jpeg", &f), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "svg, png or pdf"));
  assert_int_equal(lsp_plot_format_parse(NULL, &f), LSP_EINVAL);
  assert_string_equal(lsp_plot_format_ext(LSP_PLOT_PDF), "pdf");
  /* Okabe & Ito (2008): blue, vermillion, bluish green */
  assert_string_equal(lsp_plot_color(0), "#0072b2");
  assert_string_equal(lsp_plot_color(1), "#d55e00");
  assert_string_equal(lsp_plot_color(2), "#009e73");
  assert_string_equal(lsp_plot_color(8), "#0072b2");
  assert_string_equal(lsp_plot_color(-1), lsp_plot_color(7));
}

/* ---- what is sent to gnuplot -------------------------------------------- */

/* A stand-in "gnuplot" that saves its script and writes a dummy picture to
 * the file named by `set output`, so the data sent can be checked against
 * hand-computed numbers. */
static const char *fake_gnuplot(void) {
  static char sh[8192];
  snprintf(sh, sizeof sh, "%s/fake-gnuplot.sh", g_dir);
  FILE *f = fopen(sh, "w");
  assert_non_null(f);
  fprintf(f,
          "#!/bin/sh\ncat > '%s/script.gp'\n"
          "o=$(sed -n \"s/^set output '\\(.*\\)'$/\\1/p\" '%s/script.gp')\n"
          "printf '<svg></svg>\\n' > \"$o\"\n",
          g_dir, g_dir);
  fclose(f);
  chmod(sh, 0755);
  return sh;
}

/* Rows "a b ..." of datablock `name` in the captured script. */
static size_t datablock(const char *script, const char *name, double *v,
                        size_t cols, size_t maxrows) {
  char head[64];
  snprintf(head, sizeof head, "%s << EOD\n", name);
  const char *p = strstr(script, head);
  if (!p) fail_msg("no datablock %s", name);
  p += strlen(head);
  size_t r = 0;
  while (strncmp(p, "EOD\n", 4) != 0) {
    assert_true(r < maxrows);
    for (size_t c = 0; c < cols; c++) {
      char *end;
      v[r * cols + c] = strtod(p, &end);
      assert_true(end != p);
      p = end;
    }
    assert_int_equal(*p, '\n');
    p++;
    r++;
  }
  return r;
}

static void test_data_sent(void **state) {
  (void)state;
  setenv("LSPROBE_GNUPLOT", fake_gnuplot(), 1);
  lsp_plot_opts o = {0};
  char script[8192];
  snprintf(script, sizeof script, "%s/script.gp", g_dir);
  size_t len;
  double v[64];

  /* Histogram of {3.1,4.0,4.4,4.6,5.2,2.8,NaN,4.9}, 10 bins on
   * [2.05, 6.05]: w = 0.4, edges 2.05 + 0.4 m, every value at least 0.05
   * from an edge; 7 finite values in bins 1 (2.8), 2 (3.1), 4 (4.0),
   * 5 (4.4), 6 (4.6), 7 (4.9, 5.2); density = count / (7 * 0.4). Rows:
   * (lo, 0), one per bin at its left edge, (hi, last), (hi, 0). */
  lsp_plot_hist h = {"g", k_gap, 8, 4.5109, "opt", -1};
  assert_int_equal(
      lsp_plot_histogram(out("h.svg"), &o, "gap", 10, 2.05, 6.05, 0, &h, 1),
      LSP_OK);
  char *b = slurp(script, &len);
  assert_int_equal(datablock(b, "$h0", v, 2, 32), 13);
  const double cnt[10] = {0, 1, 1, 0, 1, 1, 1, 2, 0, 0};
  td_close(v[0], 2.05, 0, 1e-15, "first edge", 0);
  td_close(v[1], 0, 0, 0, "first density", 0);
  for (int m = 0; m < 10; m++) {
    td_close(v[2 + 2 * m], 2.05 + 0.4 * m, 1e-15, 1e-15, "edge", (size_t)m);
    td_close(v[3 + 2 * m], cnt[m] / 2.8, 1e-15, 0, "density", (size_t)m);
  }
  td_close(v[22], 6.05, 0, 0, "last edge", 0);
  /* the marker, with round-trip digits */
  assert_non_null(strstr(b, "first 4.5109000000000004, graph 0"));
  assert_non_null(strstr(b, "unset output"));
  free(b);

  /* Reliability: shares count / 200, bin edges m / 5; empty bin skipped. */
  lsp_plot_reliability r = {"m", 5, k_cnt, k_conf, k_acc, NAN, NAN, NAN};
  assert_int_equal(lsp_plot_reliability_diagram(out("r.svg"), &o, &r, 1),
                   LSP_OK);
  char *b2 = slurp(script, &len);
  assert_int_equal(datablock(b2, "$rel0", v, 5, 8), 4);
  const double share[4] = {0.015, 0.05, 0.2, 0.735};
  for (int m = 0; m < 4; m++) {
    td_close(v[5 * m], (m + 1) / 5.0, 1e-15, 0, "bin lo", (size_t)m);
    td_close(v[5 * m + 1], (m + 2) / 5.0, 1e-15, 0, "bin hi", (size_t)m);
    td_close(v[5 * m + 2], k_acc[m + 1], 0, 0, "accuracy", (size_t)m);
    td_close(v[5 * m + 3], k_conf[m + 1], 0, 0, "confidence", (size_t)m);
    td_close(v[5 * m + 4], share[m], 1e-15, 0, "share", (size_t)m);
  }
  free(b2);

  /* Lines: x y lo hi, exactly the input; NaN where there is no interval. */
  assert_int_equal(plot_lines(out("l.svg"), LSP_PLOT_SVG), LSP_OK);
  char *b3 = slurp(script, &len);
  assert_int_equal(datablock(b3, "$p0s0", v, 4, 8), 5);
  for (int k = 0; k < 5; k++) {
    assert_true(v[4 * k] == k_x[k] && v[4 * k + 1] == k_y[0][k]);
    assert_true(v[4 * k + 2] == k_lo[k] && v[4 * k + 3] == k_hi[k]);
  }
  assert_int_equal(datablock(b3, "$p0s1", v, 4, 8), 5);
  assert_true(isnan(v[2]) && isnan(v[3]));
  /* the series name, gnuplot-quoted: ' doubled */
  assert_non_null(strstr(b3, "title 'ls_0.1 <a&b> ''q'''"));
  free(b3);
  unsetenv("LSPROBE_GNUPLOT");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_kind_every_format),
      cmocka_unit_test(test_svg_text_and_palette),
      cmocka_unit_test(test_c_locale),
      cmocka_unit_test(test_gnuplot_error_caught),
      cmocka_unit_test(test_gnuplot_error_keeps_earlier_file),
      cmocka_unit_test(test_nan_series_caught),
      cmocka_unit_test(test_warning_caught),
      cmocka_unit_test(test_single_value_ranges),
      cmocka_unit_test(test_whole_x_ticks),
      cmocka_unit_test(test_gnuplot_missing),
      cmocka_unit_test(test_dead_gnuplot_no_sigpipe),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_formats_and_palette),
      cmocka_unit_test(test_data_sent),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
