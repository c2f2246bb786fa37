/* Lines figures with one legend below the panels (lsp_plot_opts.
 * legend_below): every distinct entry once, every entry below every
 * panel's x label (so it covers no data) and inside the picture, in every
 * format without a gnuplot warning; and an automatic x range from the
 * points gnuplot draws, so a summary with one finite value among NaNs is
 * drawn instead of lost to gnuplot's "empty x range" warning. */
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

static int setup(void **state) {
  (void)state;
  return plot_fixture_setup("plot_legend");
}

/* Three panels in two columns; "seed 1" in every panel, "seed 2" in two,
 * "after T" in one, and nine long names in the last, which need several
 * legend rows at this width: 12 distinct entries. Curves fill the panels'
 * top right and bottom left corners, where a key inside would go. */
static const double k_x[4] = {0, 0.05, 0.1, 0.2};
static const double k_y[12][4] = {
    {0.9, 0.1, 0.9, 0.1}, {0.1, 0.9, 0.1, 0.9}, {0.5, 0.6, 0.7, 0.8},
    {0.2, 0.3, 0.4, 0.5}, {0.3, 0.2, 0.1, 0.9}, {0.4, 0.5, 0.4, 0.5},
    {0.6, 0.7, 0.6, 0.7}, {0.7, 0.8, 0.7, 0.8}, {0.8, 0.9, 0.8, 0.9},
    {0.1, 0.2, 0.1, 0.2}, {0.2, 0.1, 0.2, 0.1}, {0.3, 0.4, 0.3, 0.4}};
static char k_names[9][64];

static int draw(const char *path, lsp_plot_format fmt) {
  lsp_plot_series a[2] = {lsp_plot_series_make("seed 1", k_x, k_y[0], 4),
                          lsp_plot_series_make("seed 2", k_x, k_y[1], 4)};
  lsp_plot_series b[3] = {lsp_plot_series_make("seed 1", k_x, k_y[0], 4),
                          lsp_plot_series_make("seed 2", k_x, k_y[1], 4),
                          lsp_plot_series_make("after T", k_x, k_y[2], 4)};
  lsp_plot_series c[10];
  b[2].dash = 1;
  c[0] = lsp_plot_series_make("seed 1", k_x, k_y[0], 4);
  for (int i = 0; i < 9; i++) {
    snprintf(k_names[i], sizeof k_names[i], "ε = 0.%d (uniform), seed %d, long", i, i + 3);
    c[i + 1] = lsp_plot_series_make(k_names[i], k_x, k_y[i + 3], 4);
    c[i + 1].color = i % 8;
    c[i + 1].dash = 2;
  }
  lsp_plot_panel p[3] = {
      {"A", "x label A", "y", 0, 0, NAN, NAN, NAN, NAN, "top right", a, 2},
      {"B", "x label B", "y", 0, 0, NAN, NAN, NAN, NAN, "bottom left", b, 3},
      {"C", "x label C", "y", 0, 0, NAN, NAN, NAN, NAN, NULL, c, 10}};
  lsp_plot_opts o = {0};
  o.format = fmt;
  o.title = "figure";
  o.columns = 2;
  o.legend_below = 1;
  return lsp_plot_lines(path, &o, p, 3);
}

/* gnuplot's SVG: "<g transform="translate(X,Y)" ...>\n<tab><tab><text>T</text>";
 * the Y of text t (its only occurrence: fails on a second), or NAN. */
static double text_y(const char *svg, const char *t, int *count) {
  char needle[160];
  snprintf(needle, sizeof needle, "<text>%s</text>", t);
  double y = NAN;
  *count = 0;
  for (const char *p = strstr(svg, needle); p; p = strstr(p + 1, needle)) {
    const char *g = p;
    while (g > svg && strncmp(g, "translate(", 10) != 0) g--;
    double x;
    assert_int_equal(sscanf(g, "translate(%lf,%lf)", &x, &y), 2);
    (*count)++;
  }
  return y;
}

static void test_legend_below(void **state) {
  (void)state;
  NEED_GNUPLOT();
  const char *p = out("legend.svg");
  int st = draw(p, LSP_PLOT_SVG);
  if (st) fprintf(stderr, "%s\n", lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  char *svg = slurp(p, NULL);
  double w, h;
  const char *vb = strstr(svg, "viewBox=\"0 0 ");
  assert_non_null(vb);
  assert_int_equal(sscanf(vb, "viewBox=\"0 0 %lf %lf", &w, &h), 2);
  double lowest = -INFINITY; /* the lowest x label: y grows downwards */
  const char *xl[3] = {"x label A", "x label B", "x label C"};
  int n;
  for (int i = 0; i < 3; i++) {
    double y = text_y(svg, xl[i], &n);
    assert_int_equal(n, 1);
    lowest = y > lowest ? y : lowest;
  }
  const char *names[12] = {"seed 1", "seed 2", "after T"};
  for (int i = 0; i < 9; i++) names[3 + i] = k_names[i];
  double first = INFINITY, last = -INFINITY;
  for (int i = 0; i < 12; i++) {
    double y = text_y(svg, names[i], &n);
    if (n != 1) fail_msg("legend entry '%s' drawn %d times", names[i], n);
    if (!(y > lowest && y < h)) fail_msg("'%s' at y %g: not below %g inside %g", names[i], y, lowest, h);
    first = y < first ? y : first;
    last = y > last ? y : last;
  }
  assert_true(last > first); /* the long names took more than one row */
  free(svg);
  /* the other formats draw it without a warning */
  assert_int_equal(draw(out("legend.png"), LSP_PLOT_PNG), LSP_OK);
  assert_int_equal(draw(out("legend.pdf"), LSP_PLOT_PDF), LSP_OK);
}

/* The script: panels placed by hand (no layout), each with its key off;
 * the legend's plot lists each distinct entry once, in its style. */
static void test_legend_script(void **state) {
  (void)state;
  char sh[8192], script[8192];
  snprintf(sh, sizeof sh, "%s/fake-gnuplot.sh", g_dir);
  snprintf(script, sizeof script, "%s/script.gp", g_dir);
  FILE *f = fopen(sh, "w");
  assert_non_null(f);
  fprintf(f,
          "#!/bin/sh\ncat > '%s'\n"
          "o=$(sed -n \"s/^set output '\\(.*\\)'$/\\1/p\" '%s')\n"
          "printf '<svg></svg>\\n' > \"$o\"\n",
          script, script);
  fclose(f);
  chmod(sh, 0755);
  setenv("LSPROBE_GNUPLOT", sh, 1);
  assert_int_equal(draw(out("fake.svg"), LSP_PLOT_SVG), LSP_OK);
  unsetenv("LSPROBE_GNUPLOT");
  char *b = slurp(script, NULL);
  assert_null(strstr(b, "layout"));
  size_t keys = 0, unset = 0, origins = 0;
  for (const char *q = strstr(b, "keyentry"); q; q = strstr(q + 1, "keyentry")) keys++;
  for (const char *q = strstr(b, "unset key\n"); q; q = strstr(q + 1, "unset key\n")) unset++;
  for (const char *q = strstr(b, "set origin "); q; q = strstr(q + 1, "set origin ")) origins++;
  assert_int_equal(keys, 12);
  assert_int_equal(unset, 3);
  assert_int_equal(origins, 4);
  assert_null(strstr(b, "set key top right\n"));
  assert_null(strstr(b, "set key bottom left\n"));
  assert_non_null(strstr(b, "keyentry with linespoints lt 1 dt 1 title 'seed 1'"));
  assert_non_null(strstr(b, "keyentry with linespoints lt 3 dt 2 title 'after T'"));
  assert_non_null(strstr(b, "set key center center horizontal maxcols "));
  free(b);
}

/* One finite y among NaNs: gnuplot ranges x over the drawn points only, so
 * the x range was [x:x], a warning, and the figure was lost; it is drawn
 * around the one x as around a one-point series. */
static void test_one_finite_point(void **state) {
  (void)state;
  NEED_GNUPLOT();
  const double x[3] = {0.1, 0.2, 0.3}, y[3] = {0.5, NAN, NAN};
  lsp_plot_series s = lsp_plot_series_make("one measured", x, y, 3);
  lsp_plot_panel p = {"one of three", "ε", "auc", 0, 0, NAN, NAN, NAN, NAN, NULL, &s, 1};
  lsp_plot_opts o = {0};
  const char *path = out("one.svg");
  int st = lsp_plot_lines(path, &o, &p, 1);
  if (st) fprintf(stderr, "%s\n", lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_legend_below),
      cmocka_unit_test(test_legend_script),
      cmocka_unit_test(test_one_finite_point),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
