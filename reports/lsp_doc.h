/* lsp_doc.h — one report written as HTML and Markdown at once: every call
 * goes to both writers (reports/lsp_html.h, reports/lsp_md.h), so the two
 * documents always have the same content. Errors are sticky in each writer;
 * lsp_doc_close reports the first. */
#ifndef LSP_DOC_H
#define LSP_DOC_H

#include "reports/lsp_html.h"
#include "reports/lsp_md.h"
#include "reports/lsp_table.h"

typedef struct {
  lsp_html h;
  lsp_md m;
} lsp_doc;

/* Open both files (atomic writers); on failure neither is left open. */
int lsp_doc_open(lsp_doc *d, const char *html_path, const char *md_path, const char *title);
/* Close both; returns the first failure of either. */
int lsp_doc_close(lsp_doc *d);

void lsp_doc_heading(lsp_doc *d, int level, const char *text);
void lsp_doc_par(lsp_doc *d, const char *text);
void lsp_doc_note(lsp_doc *d, int kind, const char *text);
void lsp_doc_code(lsp_doc *d, const char *text);
void lsp_doc_table(lsp_doc *d, const lsp_table *t, const char *caption);
void lsp_doc_findings(lsp_doc *d, const lsp_finding *items, size_t n);
/* The SVG inlined into the HTML; Markdown links md_file (NULL: the SVG).
 * Nothing when svg is empty (the figure could not be drawn). */
void lsp_doc_figure(lsp_doc *d, const char *svg, const char *md_file, const char *caption);

#endif
