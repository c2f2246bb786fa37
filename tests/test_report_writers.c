/* The report writers: the table's display and round-trip formatting, CSV
 * quoting checked byte for byte against hand-written files and parsed back
 * by an independent RFC 4180 reader, the SVG cleaner, the HTML page (no
 * external reference, escaping, unique ids, data: PNG, relative PDF link),
 * Markdown escaping and links, and atomicity: a failed or interrupted write
 * leaves an earlier file untouched and no temporary behind. */
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
#include "reports/lsp_csv.h"
#include "reports/lsp_html.h"
#include "reports/lsp_md.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_table.h"
#include "testutil.h"

static char g_dir[4000];

/* Paths in the scratch folder; 8 rotating buffers so a test can hold a
 * few at once. */
static const char *out(const char *name) {
  static char buf[8][8400];
  static int k;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
  return buf[k];
}

static char *slurp(const char *p) {
  char *b = NULL;
  size_t len;
  assert_int_equal(lsp_read_file(p, &b, &len), LSP_OK);
  return b;
}

static void assert_no_temporaries(void) {
  DIR *d = opendir(g_dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)))
    if (strstr(e->d_name, ".tmp.")) fail_msg("left behind: %s", e->d_name);
  closedir(d);
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "%s", td_tmp("writers"));
  return lsp_mkdir_p(g_dir) ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  char sub[4100];
  snprintf(sub, sizeof sub, "%s/plots", g_dir);
  DIR *d = opendir(sub);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char p[8400];
    snprintf(p, sizeof p, "%s/%s", sub, e->d_name);
    if (e->d_name[0] != '.') unlink(p);
  }
  if (d) closedir(d);
  rmdir(sub);
  d = opendir(g_dir);
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.') unlink(out(e->d_name));
  if (d) closedir(d);
  rmdir(g_dir);
  return 0;
}

/* ---- table -------------------------------------------------------------- */

static lsp_table *sample_table(void) {
  const char *cols[] = {"model", "eps", "ece", "note, with comma", "n"};
  lsp_table *t = lsp_table_alloc(5, cols);
  assert_non_null(t);
  assert_int_equal(lsp_table_row(t), LSP_OK);
  lsp_table_text(t, 0, "plain");
  lsp_table_num(t, 1, 0.1);
  lsp_table_num_ci(t, 2, 0.0123, 0.0101, 0.0149);
  lsp_table_text(t, 3, "say \"hi\"");
  lsp_table_int(t, 4, 42);
  assert_int_equal(lsp_table_row(t), LSP_OK);
  lsp_table_text(t, 0, "a,b");
  lsp_table_num(t, 1, NAN);
  lsp_table_num_ci(t, 2, 2.734141893176975, NAN, 1e-300);
  lsp_table_text(t, 3, "line\nbreak");
  lsp_table_int(t, 4, -7);
  assert_int_equal(lsp_table_row(t), LSP_OK);
  lsp_table_text(t, 0, " lead");
  lsp_table_num(t, 1, INFINITY);
  lsp_table_num(t, 2, 5e-324);
  lsp_table_text(t, 3, NULL);
  return t;
}

static void test_table_show(void **state) {
  (void)state;
  const char *cols[] = {"a", "b"};
  lsp_table *t = lsp_table_alloc(2, cols);
  char buf[128];
  assert_int_equal(lsp_table_num(t, 0, 1.0), LSP_EINVAL); /* no row yet */
  lsp_table_row(t);
  assert_int_equal(lsp_table_num(t, 2, 1.0), LSP_EINVAL); /* no column 2 */
  assert_int_equal(lsp_table_digits(t, 0, 0), LSP_EINVAL);
  struct {
    double x;
    const char *want;
  } cases[] = {{0.91234, "0.9123"},  {0.0123, "0.01230"}, {12345.678, "12346"},
               {-2.5, "-2.500"},     {1e-7, "1.000e-07"}, {0, "0"},
               {NAN, "\xe2\x80\x93"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lsp_table_num(t, 0, cases[i].x);
    lsp_table_show(t, 0, 0, buf, sizeof buf);
    assert_string_equal(buf, cases[i].want);
  }
  lsp_table_num_ci(t, 1, 0.91234, 0.905, 0.918);
  lsp_table_show(t, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "0.9123 [0.9050, 0.9180]");
  assert_int_equal(lsp_table_digits(t, 1, 2), LSP_OK);
  lsp_table_show(t, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "0.91 [0.91, 0.92]");
  /* bounds take the decimals of the estimate */
  assert_int_equal(lsp_table_digits(t, 1, 4), LSP_OK);
  lsp_table_num_ci(t, 1, 0.0123, 0.00984, 0.01476);
  lsp_table_show(t, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "0.01230 [0.00984, 0.01476]");
  /* fixed decimals for a column */
  assert_int_equal(lsp_table_decimals(t, 1, 3), LSP_OK);
  lsp_table_show(t, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "0.012 [0.010, 0.015]");
  lsp_table_num(t, 1, 1.42);
  lsp_table_show(t, 0, 1, buf, sizeof buf);
  assert_string_equal(buf, "1.420");
  assert_int_equal(lsp_table_decimals(t, 1, 18), LSP_EINVAL);
  assert_int_equal(lsp_table_decimals(t, 5, 2), LSP_EINVAL);
  lsp_table_int(t, 0, 10000);
  lsp_table_show(t, 0, 0, buf, sizeof buf);
  assert_string_equal(buf, "10000");
  /* round-trip digits: shortest form that reads back exactly */
  lsp_table_roundtrip(0.1, buf);
  assert_string_equal(buf, "0.1");
  lsp_table_roundtrip(1.0 / 3.0, buf);
  assert_string_equal(buf, "0.3333333333333333");
  lsp_table_roundtrip(5e-324, buf);
  assert_string_equal(buf, "5e-324");
  lsp_table_roundtrip(-INFINITY, buf);
  assert_string_equal(buf, "-inf");
  lsp_table_free(t);
  lsp_table_free(NULL);
  assert_null(lsp_table_alloc(0, cols));
}

/* ---- CSV ---------------------------------------------------------------- */

static const char k_csv[] =
    "model,eps,ece,ece_lo,ece_hi,\"note, with comma\",n\n"
    "plain,0.1,0.0123,0.0101,0.0149,\"say \"\"hi\"\"\",42\n"
    "\"a,b\",,2.734141893176975,,1e-300,\"line\nbreak\",-7\n"
    "\" lead\",inf,5e-324,,,,\n";

/* An independent RFC 4180 reader: fields of one record from *p. */
static int read_record(const char **p, char fields[][64], int maxf) {
  int n = 0;
  if (!**p) return 0;
  for (;;) {
    char *o = fields[n];
    size_t k = 0;
    if (**p == '"') {
      (*p)++;
      for (;;) {
        if (**p == '"' && (*p)[1] == '"') {
          o[k++] = '"';
          *p += 2;
        } else if (**p == '"') {
          (*p)++;
          break;
        } else {
          assert_true(**p != '\0');
          o[k++] = *(*p)++;
        }
      }
    } else {
      while (**p && **p != ',' && **p != '\n') o[k++] = *(*p)++;
    }
    o[k] = '\0';
    n++;
    assert_true(n < maxf);
    if (**p == ',') {
      (*p)++;
      continue;
    }
    if (**p == '\n') (*p)++;
    return n;
  }
}

static void test_csv_bytes_and_round_trip(void **state) {
  (void)state;
  lsp_table *t = sample_table();
  const char *p = out("t.csv");
  assert_int_equal(lsp_csv_write(p, t), LSP_OK);
  char *b = slurp(p);
  assert_string_equal(b, k_csv);
  /* parse back */
  const char *q = b;
  char f[16][64];
  assert_int_equal(read_record(&q, f, 16), 7);
  assert_string_equal(f[5], "note, with comma");
  assert_int_equal(read_record(&q, f, 16), 7);
  assert_string_equal(f[5], "say \"hi\"");
  assert_true(strtod(f[1], NULL) == 0.1);
  assert_true(strtod(f[2], NULL) == 0.0123);
  assert_int_equal(read_record(&q, f, 16), 7);
  assert_string_equal(f[0], "a,b");
  assert_string_equal(f[1], ""); /* NaN */
  assert_true(strtod(f[2], NULL) == 2.734141893176975);
  assert_true(strtod(f[4], NULL) == 1e-300);
  assert_string_equal(f[5], "line\nbreak");
  assert_int_equal(read_record(&q, f, 16), 7);
  assert_string_equal(f[0], " lead");
  assert_true(isinf(strtod(f[1], NULL)));
  assert_true(strtod(f[2], NULL) == 5e-324);
  assert_int_equal(read_record(&q, f, 16), 0);
  free(b);
  lsp_table_free(t);
  assert_no_temporaries();
}

static void test_csv_failure_keeps_nothing(void **state) {
  (void)state;
  lsp_table *t = sample_table();
  assert_int_equal(lsp_csv_write(out("no/such/dir/t.csv"), t), LSP_EIO);
  assert_non_null(strstr(lsp_errmsg(), "no/such/dir/t.csv"));
  assert_int_equal(lsp_csv_write(out("x.csv"), NULL), LSP_EINVAL);
  lsp_table_free(t);
  assert_no_temporaries();
}

/* Machine names head the CSV; HTML/Markdown keep the readable headers. */
static void test_csv_keys(void **state) {
  (void)state;
  const char *cols[] = {"test accuracy", "ECE after T"};
  lsp_table *t = lsp_table_alloc(2, cols);
  assert_non_null(t);
  const char *bad1[] = {"accuracy", "ECE after T"}, *bad2[] = {"accuracy", NULL},
             *bad3[] = {"1st", "x"};
  assert_int_equal(lsp_table_keys(t, bad1), LSP_EINVAL);
  assert_int_equal(lsp_table_keys(t, bad2), LSP_EINVAL);
  assert_int_equal(lsp_table_keys(t, bad3), LSP_EINVAL);
  assert_string_equal(lsp_table_csv_name(t, 0), "test accuracy"); /* unchanged */
  const char *keys[] = {"accuracy", "ece_after_t"};
  assert_int_equal(lsp_table_keys(t, keys), LSP_OK);
  assert_int_equal(lsp_table_row(t), LSP_OK);
  lsp_table_num_ci(t, 0, 0.5, 0.25, 0.75);
  lsp_table_num(t, 1, 0.125);
  const char *p = out("keys.csv");
  assert_int_equal(lsp_csv_write(p, t), LSP_OK);
  char *b = slurp(p);
  assert_string_equal(b, "accuracy,accuracy_lo,accuracy_hi,ece_after_t\n0.5,0.25,0.75,0.125\n");
  free(b);
  lsp_md m;
  assert_int_equal(lsp_md_open(&m, out("keys.md"), "keys"), LSP_OK);
  lsp_md_table(&m, t, NULL);
  assert_int_equal(lsp_md_close(&m), LSP_OK);
  b = slurp(out("keys.md"));
  assert_non_null(strstr(b, "test accuracy"));
  assert_non_null(strstr(b, "ECE after T"));
  free(b);
  lsp_table_free(t);
  assert_no_temporaries();
}

/* ---- SVG cleaning ------------------------------------------------------- */

static const char k_svg[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"  standalone=\"no\"?>\n"
    "<svg \n viewBox=\"0 0 600 400\"\n"
    " xmlns=\"http://www.w3.org/2000/svg\"\n"
    " xmlns:xlink=\"http://www.w3.org/1999/xlink\"\n>\n"
    "<title>Gnuplot</title>\n"
    "<defs><path id='gpPt0' d='M-1,0 h2'/><clipPath id=\"c1\"/></defs>\n"
    "<use xlink:href='#gpPt0' x='3' grid='1'/>\n"
    "<g clip-path=\"url(#c1)\"><text>valid id=none</text></g>\n</svg>\n";

static void test_svg_inline(void **state) {
  (void)state;
  char *o = NULL;
  assert_int_equal(
      lsp_html_svg_inline(k_svg, strlen(k_svg), "f7-", "A <b> & 'c'", &o),
      LSP_OK);
  assert_true(!strncmp(o, "<svg role=\"img\"", 15));
  assert_null(strstr(o, "<?xml"));
  assert_null(strstr(o, "http"));
  assert_null(strstr(o, "xmlns"));
  assert_non_null(strstr(o, "id='f7-gpPt0'"));
  assert_non_null(strstr(o, "id=\"f7-c1\""));
  assert_non_null(strstr(o, "xlink:href='#f7-gpPt0'"));
  assert_non_null(strstr(o, "url(#f7-c1)"));
  assert_non_null(strstr(o, "grid='1'"));      /* not an id */
  assert_non_null(strstr(o, "valid id=none")); /* text: untouched */
  assert_non_null(strstr(o, "<title>A &lt;b&gt; &amp; &#39;c&#39;</title>"));
  assert_non_null(strstr(o, "viewBox=\"0 0 600 400\""));
  assert_non_null(strstr(o, "style=\"max-width:750px\"")); /* 1.25 x 600 */
  assert_int_equal(strcmp(o + strlen(o) - 6, "</svg>"), 0);
  free(o);

  static const char *const bad[] = {
      "<svg><script>alert(1)</script></svg>",
      "<svg><image href=\"http://example.org/x.png\"/></svg>",
      "<svg><use xlink:href='other.svg#a'/></svg>",
      "<svg onload=\"x()\"></svg>",
      "<svg><rect style=\"fill:url(http://e.org/p)\"/></svg>",
      "<svg><foreignObject></foreignObject></svg>",
      "<html>no svg here</html>",
      "<svg>unterminated"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    o = (char *)1;
    assert_int_equal(
        lsp_html_svg_inline(bad[i], strlen(bad[i]), "p-", NULL, &o), LSP_EDATA);
    assert_null(o);
  }
}

static void test_relpath(void **state) {
  (void)state;
  char sub[8192], other[8192];
  snprintf(sub, sizeof sub, "%s/plots", g_dir);
  snprintf(other, sizeof other, "%s/plots/a b(1).svg", g_dir);
  assert_int_equal(lsp_mkdir_p(sub), LSP_OK);
  assert_int_equal(lsp_write_file_atomic(other, "<svg></svg>", 11), LSP_OK);
  char *r = NULL;
  assert_int_equal(lsp_html_relpath(g_dir, other, &r), LSP_OK);
  assert_string_equal(r, "plots/a b(1).svg");
  free(r);
  assert_int_equal(lsp_html_relpath(sub, out("t.csv"), &r), LSP_OK);
  assert_string_equal(r, "../t.csv");
  free(r);
  assert_int_equal(lsp_html_relpath(g_dir, out("missing.pdf"), &r), LSP_EIO);
  assert_null(r);
}

/* ---- HTML --------------------------------------------------------------- */

/* No external reference of any kind. */
static void assert_self_contained(const char *html) {
  assert_null(strstr(html, "http://"));
  assert_null(strstr(html, "https://"));
  assert_null(strstr(html, "<link"));
  assert_null(strstr(html, "<script"));
  assert_null(strstr(html, "@import"));
  for (const char *p = html; (p = strstr(p, "src=\"")); p += 5)
    assert_int_equal(strncmp(p + 5, "data:", 5), 0);
}

/* Every id value appears once. */
static void assert_unique_ids(const char *html) {
  size_t n = 0, cap = 256;
  char **ids = malloc(cap * sizeof *ids);
  for (const char *p = html; (p = strstr(p, " id=")); p += 4) {
    char q = p[4];
    if (q != '"' && q != '\'') continue; /* text, not an attribute */
    const char *e = strchr(p + 5, q);
    assert_non_null(e);
    char *v = strndup(p + 5, (size_t)(e - p - 5));
    for (size_t i = 0; i < n; i++)
      if (!strcmp(ids[i], v)) fail_msg("duplicate id %s", v);
    if (n == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
    ids[n++] = v;
  }
  assert_true(n > 0);
  for (size_t i = 0; i < n; i++) free(ids[i]);
  free(ids);
}

static void test_html_page(void **state) {
  (void)state;
  char svg1[8192], svg2[8192], png[8192], pdf[8192];
  snprintf(svg1, sizeof svg1, "%s/plots/one.svg", g_dir);
  snprintf(svg2, sizeof svg2, "%s/plots/two.svg", g_dir);
  snprintf(png, sizeof png, "%s/plots/tiny.png", g_dir);
  snprintf(pdf, sizeof pdf, "%s/plots/my fig#1.pdf", g_dir);
  assert_int_equal(lsp_mkdir_p(out("plots")), LSP_OK);
  assert_int_equal(lsp_write_file_atomic(svg1, k_svg, strlen(k_svg)), LSP_OK);
  assert_int_equal(lsp_write_file_atomic(svg2, k_svg, strlen(k_svg)), LSP_OK);
  /* PNG signature + "ABCD": base64 by Python's base64 module */
  assert_int_equal(lsp_write_file_atomic(png, "\x89PNG\r\n\x1a\nABCD", 12),
                   LSP_OK);
  assert_int_equal(lsp_write_file_atomic(pdf, "%PDF-1.5\n%%EOF\n", 15), LSP_OK);

  lsp_table *t = sample_table();
  lsp_html h;
  const char *path = out("report.html");
  assert_int_equal(lsp_html_open(&h, path, "Label <smoothing> & \"you\""),
                   LSP_OK);
  assert_int_equal(lsp_html_heading(&h, 2, "Calibration & <co>"), LSP_OK);
  assert_int_equal(lsp_html_paragraph(&h, "a < b > c & 'd'"), LSP_OK);
  assert_int_equal(lsp_html_note(&h, LSP_HTML_WARNING, "no <pictures>"),
                   LSP_OK);
  assert_int_equal(lsp_html_code(&h, "lsprobe run --out <dir>"), LSP_OK);
  assert_int_equal(lsp_html_table(&h, t, "Table 1: <cal>"), LSP_OK);
  assert_int_equal(lsp_html_figure(&h, svg1, "first"), LSP_OK);
  assert_int_equal(lsp_html_figure(&h, svg2, "second"), LSP_OK);
  assert_int_equal(lsp_html_figure(&h, png, "tiny"), LSP_OK);
  assert_int_equal(lsp_html_figure(&h, pdf, "paper"), LSP_OK);
  lsp_finding fs[2] = {{"Smoothing lowers ECE", LSP_FINDING_SUPPORTED,
                        "Δ = −0.03 [−0.04, −0.02]"},
                       {"PGD <robustness>", LSP_FINDING_INCONCLUSIVE, NULL}};
  assert_int_equal(lsp_html_findings(&h, fs, 2), LSP_OK);
  assert_int_equal(lsp_html_close(&h), LSP_OK);
  lsp_table_free(t);

  char *b = slurp(path);
  assert_true(!strncmp(b, "<!DOCTYPE html>", 15));
  assert_self_contained(b);
  assert_unique_ids(b);
  assert_non_null(strstr(b,
                         "<title>Label &lt;smoothing&gt; &amp; "
                         "&quot;you&quot;</title>"));
  assert_non_null(strstr(b, "<h2>Calibration &amp; &lt;co&gt;</h2>"));
  assert_non_null(strstr(b, "<p>a &lt; b &gt; c &amp; &#39;d&#39;</p>"));
  assert_null(strstr(b, "<co>"));
  assert_null(strstr(b, "<pictures>"));
  /* table cells: escaped, shown rounded (the interval on a line of its
   * own), NaN as a dash; the caption above the scroll box names the table */
  assert_non_null(strstr(b, "<td>0.01230 <span class=\"ci\">[0.01010, 0.01490]</span></td>"));
  assert_non_null(strstr(b, "<p class=\"table-caption\" id=\"t1\">Table 1: &lt;cal&gt;</p>\n"
                            "<div class=\"table-wrap\"><table aria-labelledby=\"t1\">"));
  assert_non_null(strstr(b, "<td class=\"t\">say &quot;hi&quot;</td>"));
  assert_non_null(strstr(b, "<td>\xe2\x80\x93</td>"));
  /* both SVGs inline, ids per figure */
  assert_non_null(strstr(b, "id='f1-gpPt0'"));
  assert_non_null(strstr(b, "id='f2-gpPt0'"));
  assert_non_null(strstr(b, "src=\"data:image/png;base64,iVBORw0KGgpBQkNE\""));
  assert_non_null(strstr(b, "href=\"plots/my%20fig%231.pdf\""));
  assert_non_null(strstr(b, "<span class=\"verdict supported\">supported"));
  assert_non_null(strstr(b, "</html>\n"));
  free(b);
  assert_no_temporaries();
}

/* Real gnuplot SVGs inline cleanly too. */
static void test_html_with_gnuplot_svgs(void **state) {
  (void)state;
  if (lsp_plot_available() != LSP_OK) skip();
  const double x[3] = {0, 0.1, 0.2}, y[3] = {0.9, 0.8, 0.6};
  lsp_plot_series s = lsp_plot_series_make("ε = 0", x, y, 3);
  lsp_plot_panel p = {"t", "x", "y", 0, 0, NAN, NAN, NAN, NAN, NULL, &s, 1};
  lsp_plot_opts o = {0};
  assert_int_equal(lsp_plot_lines(out("g1.svg"), &o, &p, 1), LSP_OK);
  assert_int_equal(lsp_plot_lines(out("g2.svg"), &o, &p, 1), LSP_OK);
  lsp_html h;
  assert_int_equal(lsp_html_open(&h, out("g.html"), "two plots"), LSP_OK);
  lsp_html_figure(&h, out("g1.svg"), "one");
  lsp_html_figure(&h, out("g2.svg"), "two");
  assert_int_equal(lsp_html_close(&h), LSP_OK);
  char *b = slurp(out("g.html"));
  assert_self_contained(b);
  assert_unique_ids(b);
  assert_non_null(strstr(b, "f2-gnuplot_canvas"));
  free(b);
}

/* A failure part-way (a missing figure) leaves the earlier report as it
 * was; the error is sticky and reported by close with its message. */
static void test_html_failure_keeps_earlier(void **state) {
  (void)state;
  const char *path = out("keep.html");
  assert_int_equal(lsp_write_file_atomic(path, "EARLIER", 7), LSP_OK);
  lsp_html h;
  assert_int_equal(lsp_html_open(&h, path, "new"), LSP_OK);
  assert_int_equal(lsp_html_figure(&h, out("nope.svg"), "x"), LSP_EIO);
  assert_int_equal(lsp_html_paragraph(&h, "after"), LSP_EIO); /* sticky */
  assert_int_equal(lsp_html_figure(&h, out("t.csv"), "x"), LSP_EIO);
  assert_int_equal(lsp_html_close(&h), LSP_EIO);
  assert_non_null(strstr(lsp_errmsg(), "nope.svg"));
  char *b = slurp(path);
  assert_string_equal(b, "EARLIER");
  free(b);
  /* bad arguments */
  assert_int_equal(lsp_html_open(&h, path, "t"), LSP_OK);
  assert_int_equal(lsp_html_heading(&h, 1, "x"), LSP_EINVAL);
  lsp_html_abort(&h);
  assert_int_equal(lsp_html_open(&h, path, "t"), LSP_OK);
  assert_int_equal(lsp_html_figure(&h, out("t.csv"), "x"), LSP_EINVAL);
  assert_int_equal(lsp_html_close(&h), LSP_EINVAL);
  assert_int_equal(lsp_html_open(&h, out("no/dir/r.html"), "t"), LSP_EIO);
  assert_int_equal(lsp_html_close(&h), LSP_EIO);
  lsp_html_abort(NULL);
  b = slurp(path);
  assert_string_equal(b, "EARLIER");
  free(b);
  assert_no_temporaries();
}

/* ---- Markdown ----------------------------------------------------------- */

static void test_markdown(void **state) {
  (void)state;
  char svg[8192], pdf[8192];
  snprintf(svg, sizeof svg, "%s/plots/a b(1).svg", g_dir);
  snprintf(pdf, sizeof pdf, "%s/plots/fig.pdf", g_dir);
  assert_int_equal(lsp_mkdir_p(out("plots")), LSP_OK);
  assert_int_equal(lsp_write_file_atomic(svg, "<svg></svg>", 11), LSP_OK);
  assert_int_equal(lsp_write_file_atomic(pdf, "%PDF-", 5), LSP_OK);
  const char *cols[] = {"model", "acc|top1"};
  lsp_table *t = lsp_table_alloc(2, cols);
  lsp_table_row(t);
  lsp_table_text(t, 0, "ls_0.1 *x* <b>");
  lsp_table_num_ci(t, 1, 0.8812, 0.8790, 0.8834);
  lsp_md m;
  const char *path = out("report.md");
  assert_int_equal(lsp_md_open(&m, path, "Report for ls_0.1"), LSP_OK);
  lsp_md_heading(&m, 2, "Results #1");
  lsp_md_paragraph(&m, "1. not a list; a_b and `c`");
  lsp_md_paragraph(&m, "- not an item");
  lsp_md_note(&m, LSP_HTML_WARNING, "gnuplot missing");
  lsp_md_code(&m, "a ``` b");
  lsp_md_table(&m, t, "Accuracy");
  lsp_md_image(&m, svg, "reliability [ε](x)");
  lsp_md_image(&m, pdf, "paper");
  lsp_finding f = {"ECE falls", LSP_FINDING_CONTRADICTED, "Δ = +0.01"};
  lsp_md_findings(&m, &f, 1);
  assert_int_equal(lsp_md_close(&m), LSP_OK);
  lsp_table_free(t);
  char *b = slurp(path);
  static const char want[] =
      "# Report for ls\\_0.1\n\n"
      "## Results \\#1\n\n"
      "1\\. not a list; a\\_b and \\`c\\`\n\n"
      "\\- not an item\n\n"
      "> **Warning:** gnuplot missing\n\n"
      "````\na ``` b\n````\n\n"
      "**Accuracy**\n\n"
      "| model | acc\\|top1 |\n| :--- | ---: |\n"
      "| ls\\_0.1 \\*x\\* \\<b\\> | 0.8812 [0.8790, 0.8834] |\n\n"
      "![reliability [ε\\](x)](<plots/a b(1).svg>)\n\n"
      "[paper (PDF)](<plots/fig.pdf>)\n\n"
      "- **contradicted**: ECE falls \xe2\x80\x94 \xce\x94 = +0.01\n\n";
  assert_string_equal(b, want);
  free(b);
  /* a missing image is an error that keeps the earlier file */
  assert_int_equal(lsp_md_open(&m, path, "again"), LSP_OK);
  assert_int_equal(lsp_md_image(&m, out("none.png"), "x"), LSP_EIO);
  assert_int_equal(lsp_md_close(&m), LSP_EIO);
  b = slurp(path);
  assert_true(!strncmp(b, "# Report for ls", 15));
  free(b);
  assert_no_temporaries();
}

/* Last: after SIGINT every writer refuses to replace a file. */
static void test_interrupted(void **state) {
  (void)state;
  const char *p = out("int.csv");
  assert_int_equal(lsp_write_file_atomic(p, "EARLIER", 7), LSP_OK);
  lsp_interrupt_request();
  assert_true(lsp_interrupted());
  lsp_table *t = sample_table();
  assert_int_equal(lsp_csv_write(p, t), LSP_EINTR);
  lsp_table_free(t);
  lsp_html h;
  assert_int_equal(lsp_html_open(&h, out("int.html"), "t"), LSP_OK);
  assert_int_equal(lsp_html_close(&h), LSP_EINTR);
  assert_non_null(strstr(lsp_errmsg(), "int.html: interrupted"));
  lsp_md m;
  assert_int_equal(lsp_md_open(&m, out("int.md"), "t"), LSP_OK);
  assert_int_equal(lsp_md_close(&m), LSP_EINTR);
  assert_int_equal(access(out("int.md"), F_OK), -1);
  assert_int_equal(access(out("int.html"), F_OK), -1);
  assert_int_equal(lsp_plot_run(out("int.svg"), LSP_PLOT_SVG, 4, 3, "plot x"),
                   LSP_EINTR);
  char *b = slurp(p);
  assert_string_equal(b, "EARLIER");
  free(b);
  assert_no_temporaries();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_show),
      cmocka_unit_test(test_csv_bytes_and_round_trip),
      cmocka_unit_test(test_csv_failure_keeps_nothing),
      cmocka_unit_test(test_csv_keys),
      cmocka_unit_test(test_svg_inline),
      cmocka_unit_test(test_relpath),
      cmocka_unit_test(test_html_page),
      cmocka_unit_test(test_html_with_gnuplot_svgs),
      cmocka_unit_test(test_html_failure_keeps_earlier),
      cmocka_unit_test(test_markdown),
      cmocka_unit_test(test_interrupted),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
