/* lsp_md.h — the Markdown report (report.md), written as a stream.
 *
 * Same content as the HTML report, readable as plain text and rendered by
 * GitHub/GitLab: headings, paragraphs, pipe tables, images by a path
 * relative to the report, the findings list. Text is escaped so that names
 * like "ls_0.1" or "a*b" print literally. Written atomically (temporary
 * file renamed by lsp_md_close); errors are sticky as in lsp_html.h. */
#ifndef LSP_MD_H
#define LSP_MD_H

#include <stddef.h>
#include <stdio.h>

#include "core/base/lsp_io.h"
#include "reports/lsp_html.h" /* lsp_finding */
#include "reports/lsp_table.h"

typedef struct {
  lsp_outfile out;
  char *dir;  /* owned: the report's folder */
  int status; /* first failure (sticky) */
  char msg[512];
} lsp_md;

/* Start `path` with a level-1 heading `title`. LSP_EINVAL, LSP_EIO. */
int lsp_md_open(lsp_md *m, const char *path, const char *title);
/* Heading of level 2..4. */
int lsp_md_heading(lsp_md *m, int level, const char *text);
/* A paragraph (line breaks in text become spaces). */
int lsp_md_paragraph(lsp_md *m, const char *text);
/* A quoted note; LSP_HTML_WARNING prefixes "**Warning:**". */
int lsp_md_note(lsp_md *m, int kind, const char *text);
/* A fenced code block (the fence is longer than any backtick run inside). */
int lsp_md_code(lsp_md *m, const char *text);
/* A pipe table (cells shown as in HTML; '|' escaped, line breaks become
 * spaces); caption (may be NULL) as a bold line above. */
int lsp_md_table(lsp_md *m, const lsp_table *t, const char *caption);
/* An image `file` (must exist) linked relative to the report, with alt
 * text; a PDF becomes a plain link. LSP_EIO if the path cannot be resolved. */
int lsp_md_image(lsp_md *m, const char *file, const char *alt);
/* The findings as a list: "- **supported** — claim. evidence". */
int lsp_md_findings(lsp_md *m, const lsp_finding *items, size_t n);

/* Finish and rename into place; returns the first failure if any. */
int lsp_md_close(lsp_md *m);
/* Drop the document. NULL-safe. */
void lsp_md_abort(lsp_md *m);

/* Write s with Markdown's inline markup characters backslash-escaped and
 * line breaks as spaces; table != 0 also escapes '|'. */
void lsp_md_escape(FILE *fp, const char *s, int table);

#endif
