/* The report documents: the SVG cleaner, the HTML page (no external
 * reference, escaping, unique ids, data: PNG, relative PDF link), Markdown
 * escaping and links, and atomicity: a failed or interrupted write leaves
 * an earlier file untouched and no temporary behind. The table and CSV
 * writers are test_report_tables.c. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "reports/lsp_csv.h"
#include "reports/lsp_html.h"
#include "reports/lsp_md.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_table.h"
#include "testutil.h"
#include "writers_fixture.h"

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
  snprintf(sub, sizeof sub, "%s/plots", rw_dir);
  snprintf(other, sizeof other, "%s/plots/a b(1).svg", rw_dir);
  assert_int_equal(lsp_mkdir_p(sub), LSP_OK);
  assert_int_equal(lsp_write_file_atomic(other, "<svg></svg>", 11), LSP_OK);
  char *r = NULL;
  assert_int_equal(lsp_html_relpath(rw_dir, other, &r), LSP_OK);
  assert_string_equal(r, "plots/a b(1).svg");
  free(r);
  assert_int_equal(lsp_html_relpath(sub, rw_out("t.csv"), &r), LSP_OK);
  assert_string_equal(r, "../t.csv");
  free(r);
  assert_int_equal(lsp_html_relpath(rw_dir, rw_out("missing.pdf"), &r), LSP_EIO);
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
  snprintf(svg1, sizeof svg1, "%s/plots/one.svg", rw_dir);
  snprintf(svg2, sizeof svg2, "%s/plots/two.svg", rw_dir);
  snprintf(png, sizeof png, "%s/plots/tiny.png", rw_dir);
  snprintf(pdf, sizeof pdf, "%s/plots/my fig#1.pdf", rw_dir);
  assert_int_equal(lsp_mkdir_p(rw_out("plots")), LSP_OK);
  assert_int_equal(lsp_write_file_atomic(svg1, k_svg, strlen(k_svg)), LSP_OK);
  assert_int_equal(lsp_write_file_atomic(svg2, k_svg, strlen(k_svg)), LSP_OK);
  /* PNG signature + "ABCD": base64 by Python's base64 module */
  assert_int_equal(lsp_write_file_atomic(png, "\x89PNG\r\n\x1a\nABCD", 12),
                   LSP_OK);
  assert_int_equal(lsp_write_file_atomic(pdf, "%PDF-1.5\n%%EOF\n", 15), LSP_OK);

  lsp_table *t = rw_sample_table();
  lsp_html h;
  const char *path = rw_out("report.html");
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

  char *b = rw_slurp(path);
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
  rw_no_temporaries();
}

/* Real gnuplot SVGs inline cleanly too. */
static void test_html_with_gnuplot_svgs(void **state) {
  (void)state;
  if (lsp_plot_available() != LSP_OK) skip();
  const double x[3] = {0, 0.1, 0.2}, y[3] = {0.9, 0.8, 0.6};
  lsp_plot_series s = lsp_plot_series_make("ε = 0", x, y, 3);
  lsp_plot_panel p = {"t", "x", "y", 0, 0, NAN, NAN, NAN, NAN, NULL, &s, 1};
  lsp_plot_opts o = {0};
  assert_int_equal(lsp_plot_lines(rw_out("g1.svg"), &o, &p, 1), LSP_OK);
  assert_int_equal(lsp_plot_lines(rw_out("g2.svg"), &o, &p, 1), LSP_OK);
  lsp_html h;
  assert_int_equal(lsp_html_open(&h, rw_out("g.html"), "two plots"), LSP_OK);
  lsp_html_figure(&h, rw_out("g1.svg"), "one");
  lsp_html_figure(&h, rw_out("g2.svg"), "two");
  assert_int_equal(lsp_html_close(&h), LSP_OK);
  char *b = rw_slurp(rw_out("g.html"));
  assert_self_contained(b);
  assert_unique_ids(b);
  assert_non_null(strstr(b, "f2-gnuplot_canvas"));
  free(b);
}

/* A failure part-way (a missing figure) leaves the earlier report as it
 * was; the error is sticky and reported by close with its message. */
static void test_html_failure_keeps_earlier(void **state) {
  (void)state;
  const char *path = rw_out("keep.html");
  assert_int_equal(lsp_write_file_atomic(path, "EARLIER", 7), LSP_OK);
  lsp_html h;
  assert_int_equal(lsp_html_open(&h, path, "new"), LSP_OK);
  assert_int_equal(lsp_html_figure(&h, rw_out("nope.svg"), "x"), LSP_EIO);
  assert_int_equal(lsp_html_paragraph(&h, "after"), LSP_EIO); /* sticky */
  assert_int_equal(lsp_html_figure(&h, rw_out("t.csv"), "x"), LSP_EIO);
  assert_int_equal(lsp_html_close(&h), LSP_EIO);
  assert_non_null(strstr(lsp_errmsg(), "nope.svg"));
  char *b = rw_slurp(path);
  assert_string_equal(b, "EARLIER");
  free(b);
  /* bad arguments */
  assert_int_equal(lsp_html_open(&h, path, "t"), LSP_OK);
  assert_int_equal(lsp_html_heading(&h, 1, "x"), LSP_EINVAL);
  lsp_html_abort(&h);
  assert_int_equal(lsp_html_open(&h, path, "t"), LSP_OK);
  assert_int_equal(lsp_html_figure(&h, rw_out("t.csv"), "x"), LSP_EINVAL);
  assert_int_equal(lsp_html_close(&h), LSP_EINVAL);
  assert_int_equal(lsp_html_open(&h, rw_out("no/dir/r.html"), "t"), LSP_EIO);
  assert_int_equal(lsp_html_close(&h), LSP_EIO);
  lsp_html_abort(NULL);
  b = rw_slurp(path);
  assert_string_equal(b, "EARLIER");
  free(b);
  rw_no_temporaries();
}

/* ---- Markdown ----------------------------------------------------------- */

static void test_markdown(void **state) {
  (void)state;
  char svg[8192], pdf[8192];
  snprintf(svg, sizeof svg, "%s/plots/a b(1).svg", rw_dir);
  snprintf(pdf, sizeof pdf, "%s/plots/fig.pdf", rw_dir);
  assert_int_equal(lsp_mkdir_p(rw_out("plots")), LSP_OK);
  assert_int_equal(lsp_write_file_atomic(svg, "<svg></svg>", 11), LSP_OK);
  assert_int_equal(lsp_write_file_atomic(pdf, "%PDF-", 5), LSP_OK);
  const char *cols[] = {"model", "acc|top1"};
  lsp_table *t = lsp_table_alloc(2, cols);
  lsp_table_row(t);
  lsp_table_text(t, 0, "ls_0.1 *x* <b>");
  lsp_table_num_ci(t, 1, 0.8812, 0.8790, 0.8834);
  lsp_md m;
  const char *path = rw_out("report.md");
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
  char *b = rw_slurp(path);
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
  assert_int_equal(lsp_md_image(&m, rw_out("none.png"), "x"), LSP_EIO);
  assert_int_equal(lsp_md_close(&m), LSP_EIO);
  b = rw_slurp(path);
  assert_true(!strncmp(b, "# Report for ls", 15));
  free(b);
  rw_no_temporaries();
}

/* Last: after SIGINT every writer refuses to replace a file. */
static void test_interrupted(void **state) {
  (void)state;
  const char *p = rw_out("int.csv");
  assert_int_equal(lsp_write_file_atomic(p, "EARLIER", 7), LSP_OK);
  lsp_interrupt_request();
  assert_true(lsp_interrupted());
  lsp_table *t = rw_sample_table();
  assert_int_equal(lsp_csv_write(p, t), LSP_EINTR);
  lsp_table_free(t);
  lsp_html h;
  assert_int_equal(lsp_html_open(&h, rw_out("int.html"), "t"), LSP_OK);
  assert_int_equal(lsp_html_close(&h), LSP_EINTR);
  assert_non_null(strstr(lsp_errmsg(), "int.html: interrupted"));
  lsp_md m;
  assert_int_equal(lsp_md_open(&m, rw_out("int.md"), "t"), LSP_OK);
  assert_int_equal(lsp_md_close(&m), LSP_EINTR);
  assert_int_equal(access(rw_out("int.md"), F_OK), -1);
  assert_int_equal(access(rw_out("int.html"), F_OK), -1);
  assert_int_equal(lsp_plot_run(rw_out("int.svg"), LSP_PLOT_SVG, 4, 3, "plot x"),
                   LSP_EINTR);
  char *b = rw_slurp(p);
  assert_string_equal(b, "EARLIER");
  free(b);
  rw_no_temporaries();
}

/* The scratch folder with a file that is not a figure (t.csv), which
 * test_relpath links to and test_html_failure_keeps_earlier refuses. */
static int setup(void **state) {
  if (rw_setup(state)) return -1;
  return lsp_write_file_atomic(rw_out("t.csv"), "a,b\n1,2\n", 8) == LSP_OK ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_svg_inline),
      cmocka_unit_test(test_relpath),
      cmocka_unit_test(test_html_page),
      cmocka_unit_test(test_html_with_gnuplot_svgs),
      cmocka_unit_test(test_html_failure_keeps_earlier),
      cmocka_unit_test(test_markdown),
      cmocka_unit_test(test_interrupted),
  };
  return cmocka_run_group_tests(tests, setup, rw_teardown);
}
