#include "reports/lsp_doc.h"

int lsp_doc_open(lsp_doc *d, const char *html_path, const char *md_path, const char *title) {
  int st = lsp_html_open(&d->h, html_path, title);
  if (st) return st;
  if ((st = lsp_md_open(&d->m, md_path, title))) lsp_html_abort(&d->h);
  return st;
}

int lsp_doc_close(lsp_doc *d) {
  int st1 = lsp_html_close(&d->h);
  int st2 = lsp_md_close(&d->m);
  return st1 ? st1 : st2;
}

void lsp_doc_heading(lsp_doc *d, int level, const char *t) {
  lsp_html_heading(&d->h, level, t);
  lsp_md_heading(&d->m, level, t);
}
void lsp_doc_par(lsp_doc *d, const char *t) {
  lsp_html_paragraph(&d->h, t);
  lsp_md_paragraph(&d->m, t);
}
void lsp_doc_note(lsp_doc *d, int kind, const char *t) {
  lsp_html_note(&d->h, kind, t);
  lsp_md_note(&d->m, kind, t);
}
void lsp_doc_code(lsp_doc *d, const char *t) {
  lsp_html_code(&d->h, t);
  lsp_md_code(&d->m, t);
}
void lsp_doc_table(lsp_doc *d, const lsp_table *t, const char *caption) {
  lsp_html_table(&d->h, t, caption);
  lsp_md_table(&d->m, t, caption);
}
void lsp_doc_findings(lsp_doc *d, const lsp_finding *items, size_t n) {
  lsp_html_findings(&d->h, items, n);
  lsp_md_findings(&d->m, items, n);
}
void lsp_doc_figure(lsp_doc *d, const char *svg, const char *md_file, const char *caption) {
  if (!svg[0]) return;
  lsp_html_figure(&d->h, svg, caption);
  lsp_md_image(&d->m, md_file ? md_file : svg, caption);
}
