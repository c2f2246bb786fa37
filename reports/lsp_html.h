/* lsp_html.h — a self-contained HTML report, written as a stream.
 *
 * The page has no external reference of any kind: CSS is inline, SVG
 * figures are inlined (their ids prefixed per figure so several can share
 * the page; XML prolog and namespace URLs dropped), PNG figures become
 * data: URIs, and PDF figures are linked by a path relative to the report.
 * Text passed in is escaped (& < > " '). The document goes to a temporary
 * file renamed over `path` by lsp_html_close, so a failed or interrupted
 * run leaves any earlier report untouched.
 *
 * Errors are sticky: after the first failure every later call does nothing
 * and returns the same status, and lsp_html_close aborts the file and
 * returns it (with its message), so a caller may check only the close. */
#ifndef LSP_HTML_H
#define LSP_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "core/base/lsp_io.h"
#include "reports/lsp_table.h"

/* A claim tested by the experiment and what the numbers say about it. */
enum {
  LSP_FINDING_SUPPORTED = 0,
  LSP_FINDING_CONTRADICTED = 1,
  LSP_FINDING_INCONCLUSIVE = 2
};
typedef struct {
  const char *claim;    /* e.g. "Label smoothing lowers the ECE"            */
  int verdict;          /* LSP_FINDING_*                                    */
  const char *evidence; /* the numbers, e.g. "ΔECE = −0.029 [−0.035, −0.022]
                           (ε = 0.1 minus ε = 0, paired bootstrap 95%)"    */
} lsp_finding;

/* The word shown for a verdict: "supported", "contradicted",
 * "inconclusive" ("unknown" for anything else). */
const char *lsp_finding_word(int verdict);

enum { LSP_HTML_INFO = 0, LSP_HTML_WARNING = 1 };

typedef struct {
  lsp_outfile out;
  char *dir;     /* owned: the report's folder, for relative links */
  int status;    /* first failure (sticky); LSP_OK while all is well */
  char msg[512]; /* its message */
  int nfig;      /* figures so far: id prefixes f1-, f2-, ... */
  int ntab;      /* tables so far: caption ids t1, t2, ...     */
} lsp_html;

/* Start a report at `path` titled `title` (shown as <title> and <h1>).
 * Errors: LSP_EINVAL (NULL), LSP_EIO (cannot create the temporary file). */
int lsp_html_open(lsp_html *h, const char *path, const char *title);

/* A section heading, level 2..4 (level 1 is the title). */
int lsp_html_heading(lsp_html *h, int level, const char *text);
/* A paragraph of plain text. */
int lsp_html_paragraph(lsp_html *h, const char *text);
/* A highlighted box: LSP_HTML_INFO or LSP_HTML_WARNING (e.g. "gnuplot was
 * not found: this report has no pictures", "synthetic data"). */
int lsp_html_note(lsp_html *h, int kind, const char *text);
/* Preformatted text (a command line, the configuration). */
int lsp_html_code(lsp_html *h, const char *text);
/* A table with an optional caption (NULL = none); numbers right-aligned,
 * shown with lsp_table_show. */
int lsp_html_table(lsp_html *h, const lsp_table *t, const char *caption);
/* A figure from a picture file, chosen by its extension: .svg inlined
 * (cleaned by lsp_html_svg_inline), .png embedded as a data: URI, .pdf
 * linked relative to the report. caption may be NULL. Errors: LSP_EIO
 * (cannot read), LSP_EDATA (not an SVG/PNG/PDF, or an SVG with a script or
 * an external reference), LSP_EINVAL (another extension). */
int lsp_html_figure(lsp_html *h, const char *file, const char *caption);
/* The findings: one item per claim with a coloured verdict badge. */
int lsp_html_findings(lsp_html *h, const lsp_finding *items, size_t n);

/* Finish the page and rename it into place; returns the first failure if
 * there was one (the file is then not written). Frees h's fields. */
int lsp_html_close(lsp_html *h);
/* Drop the page (the temporary file is removed). NULL-safe. */
void lsp_html_abort(lsp_html *h);

/* Clean an SVG document for inlining: keep <svg ...>...</svg> (drop the
 * XML prolog, comments and doctype before it), drop xmlns attributes
 * (HTML5 supplies the namespaces), prefix every id and its #references with
 * `prefix`, set the <title> to `title` (escaped; NULL keeps it), add
 * role="img". Refuses (LSP_EDATA) an SVG with <script>, <foreignObject>,
 * event handlers (on...=), or any href/url() not pointing inside itself.
 * *out is a heap string (free()). */
int lsp_html_svg_inline(const char *svg, size_t len, const char *prefix,
                        const char *title, char **out);

/* Write s with & < > " ' escaped as HTML entities. */
void lsp_html_escape(FILE *fp, const char *s);

/* The path of `file` relative to the folder `dir` (both must exist; they
 * are resolved with realpath), e.g. "plots/rel.pdf" or "../x/y.svg".
 * *out is a heap string. LSP_EIO if either cannot be resolved. */
int lsp_html_relpath(const char *dir, const char *file, char **out);

#endif
