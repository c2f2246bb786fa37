/* lsp_md.c — the Markdown report. */
#define _POSIX_C_SOURCE 200809L
#include "reports/lsp_md.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/lsp_error.h"

void lsp_md_escape(FILE *fp, const char *s, int table) {
  for (; s && *s; s++) {
    char c = *s;
    if (c == '\n' || c == '\r' || c == '\t') {
      fputc(' ', fp);
      continue;
    }
    /* CommonMark: any ASCII punctuation may be backslash-escaped; these
     * start emphasis, code, HTML, headings or a table cell. A bracket only
     * makes a link as "](", "][" or "]:" (no reference definitions are
     * ever written), so "[0.87, 0.89]" stays readable. */
    int link = c == ']' && (s[1] == '(' || s[1] == '[' || s[1] == ':');
    if (strchr("\\`*_<>#~", c) || link || (table && c == '|')) fputc('\\', fp);
    fputc(c, fp);
  }
}

static int fail(lsp_md *m, int st) {
  if (!m->status) {
    m->status = st;
    snprintf(m->msg, sizeof m->msg, "%s", lsp_errmsg());
  }
  return m->status;
}

static int ready(lsp_md *m) {
  if (m->status) return m->status;
  if (!m->out.fp)
    return fail(m, lsp_fail(LSP_EINVAL, "Markdown report is not open"));
  return LSP_OK;
}

int lsp_md_open(lsp_md *m, const char *path, const char *title) {
  memset(m, 0, sizeof *m);
  if (!path || !title)
    return fail(m, lsp_fail(LSP_EINVAL,
                            "Markdown: no path "
                            "or title"));
  const char *slash = strrchr(path, '/');
  size_t dl = slash ? (size_t)(slash - path) : 1;
  m->dir = malloc(dl + 2);
  if (!m->dir) return fail(m, lsp_fail(LSP_ENOMEM, "out of memory"));
  if (!slash)
    strcpy(m->dir, ".");
  else if (dl == 0)
    strcpy(m->dir, "/");
  else {
    memcpy(m->dir, path, dl);
    m->dir[dl] = '\0';
  }
  int st = lsp_out_open(&m->out, path);
  if (st) return fail(m, st);
  fputs("# ", m->out.fp);
  lsp_md_escape(m->out.fp, title, 0);
  fputs("\n\n", m->out.fp);
  return LSP_OK;
}

int lsp_md_heading(lsp_md *m, int level, const char *text) {
  int st = ready(m);
  if (st) return st;
  if (level < 2 || level > 4 || !text)
    return fail(
        m, lsp_fail(LSP_EINVAL, "Markdown: heading level %d (2..4)", level));
  fprintf(m->out.fp, "%.*s ", level, "####");
  lsp_md_escape(m->out.fp, text, 0);
  fputs("\n\n", m->out.fp);
  return LSP_OK;
}

/* A paragraph must not begin like a list item or a setext underline
 * ('#' and '>' are escaped everywhere by lsp_md_escape). */
int lsp_md_paragraph(lsp_md *m, const char *text) {
  int st = ready(m);
  if (st) return st;
  FILE *f = m->out.fp;
  if (!text) text = "";
  const char *p = text;
  while (*p >= '0' && *p <= '9') p++;
  if (p > text && (*p == '.' || *p == ')')) {
    fprintf(f, "%.*s\\", (int)(p - text), text); /* "1\. ..." */
    text = p;
  } else if (*text == '-' || *text == '+' || *text == '=') {
    fputc('\\', f);
  }
  lsp_md_escape(f, text, 0);
  fputs("\n\n", f);
  return LSP_OK;
}

int lsp_md_note(lsp_md *m, int kind, const char *text) {
  int st = ready(m);
  if (st) return st;
  fputs(kind == LSP_HTML_WARNING ? "> **Warning:** " : "> ", m->out.fp);
  lsp_md_escape(m->out.fp, text, 0);
  fputs("\n\n", m->out.fp);
  return LSP_OK;
}

int lsp_md_code(lsp_md *m, const char *text) {
  int st = ready(m);
  if (st) return st;
  if (!text) text = "";
  size_t run = 0, best = 0;
  for (const char *p = text; *p; p++) {
    run = *p == '`' ? run + 1 : 0;
    if (run > best) best = run;
  }
  size_t fence = best >= 3 ? best + 1 : 3;
  for (size_t i = 0; i < fence; i++) fputc('`', m->out.fp);
  fputc('\n', m->out.fp);
  fputs(text, m->out.fp);
  if (!*text || text[strlen(text) - 1] != '\n') fputc('\n', m->out.fp);
  for (size_t i = 0; i < fence; i++) fputc('`', m->out.fp);
  fputs("\n\n", m->out.fp);
  return LSP_OK;
}

int lsp_md_table(lsp_md *m, const lsp_table *t, const char *caption) {
  int st = ready(m);
  if (st) return st;
  if (!t) return fail(m, lsp_fail(LSP_EINVAL, "Markdown: no table"));
  FILE *f = m->out.fp;
  if (caption) {
    fputs("**", f);
    lsp_md_escape(f, caption, 0);
    fputs("**\n\n", f);
  }
  fputc('|', f);
  for (size_t c = 0; c < t->ncols; c++) {
    fputc(' ', f);
    lsp_md_escape(f, t->header[c], 1);
    fputs(" |", f);
  }
  fputs("\n|", f);
  for (size_t c = 0; c < t->ncols; c++) {
    int text = 0;
    for (size_t r = 0; r < t->nrows; r++) {
      int k = t->cells[r * t->ncols + c].kind;
      if (k == LSP_CELL_EMPTY) continue;
      text = k == LSP_CELL_TEXT;
      break;
    }
    fputs(text ? " :--- |" : " ---: |", f);
  }
  fputc('\n', f);
  char cell[256];
  for (size_t r = 0; r < t->nrows; r++) {
    fputc('|', f);
    for (size_t c = 0; c < t->ncols; c++) {
      lsp_table_show(t, r, c, cell, sizeof cell);
      fputc(' ', f);
      lsp_md_escape(f, cell, 1);
      fputs(" |", f);
    }
    fputc('\n', f);
  }
  fputc('\n', f);
  return LSP_OK;
}

/* A link destination: in <...> form so spaces and parentheses are safe. */
static void dest(FILE *f, const char *rel) {
  fputc('<', f);
  for (const char *p = rel; *p; p++) {
    if (*p == '<' || *p == '>' || *p == '\\') fputc('\\', f);
    fputc(*p, f);
  }
  fputc('>', f);
}

int lsp_md_image(lsp_md *m, const char *file, const char *alt) {
  int st = ready(m);
  if (st) return st;
  if (!file) return fail(m, lsp_fail(LSP_EINVAL, "Markdown: no image file"));
  char *rel = NULL;
  if ((st = lsp_html_relpath(m->dir, file, &rel))) return fail(m, st);
  const char *dot = strrchr(rel, '.');
  int pdf = dot && !strcasecmp(dot, ".pdf");
  FILE *f = m->out.fp;
  fputs(pdf ? "[" : "![", f);
  lsp_md_escape(f, alt ? alt : "figure", 0);
  if (pdf) fputs(" (PDF)", f);
  fputs("](", f);
  dest(f, rel);
  fputs(")\n\n", f);
  free(rel);
  return LSP_OK;
}

int lsp_md_findings(lsp_md *m, const lsp_finding *items, size_t n) {
  int st = ready(m);
  if (st) return st;
  if (n && !items)
    return fail(m, lsp_fail(LSP_EINVAL, "Markdown: no findings"));
  for (size_t i = 0; i < n; i++) {
    fprintf(m->out.fp, "- **%s**: ", lsp_finding_word(items[i].verdict));
    lsp_md_escape(m->out.fp, items[i].claim, 0);
    if (items[i].evidence) {
      fputs(" \xe2\x80\x94 ", m->out.fp);
      lsp_md_escape(m->out.fp, items[i].evidence, 0);
    }
    fputc('\n', m->out.fp);
  }
  fputc('\n', m->out.fp);
  return LSP_OK;
}

void lsp_md_abort(lsp_md *m) {
  if (!m) return;
  if (m->out.path) lsp_out_abort(&m->out);
  free(m->dir);
  m->dir = NULL;
}

int lsp_md_close(lsp_md *m) {
  int st = m->status;
  if (!st && !m->out.fp)
    st = lsp_fail(LSP_EINVAL, "Markdown report is not open");
  if (!st && lsp_interrupted())
    st = lsp_fail(LSP_EINTR, "%s: interrupted", m->out.path);
  if (st) {
    if (m->status) lsp_fail(m->status, "%s", m->msg);
    lsp_md_abort(m);
    return st;
  }
  st = lsp_out_commit(&m->out);
  free(m->dir);
  m->dir = NULL;
  return st;
}
