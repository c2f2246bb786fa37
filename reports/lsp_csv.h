/* lsp_csv.h — CSV tables for other tools (pandas, R, spreadsheets).
 *
 * RFC 4180 quoting: a field holding a comma, a double quote, a line break
 * or leading/trailing blanks is enclosed in double quotes, with inner
 * quotes doubled. Lines end in "\n" (readers accept it; "\r\n" would leave
 * a stray \r in Unix tools). Numbers carry the shortest digits that read
 * back as the same double; NaN is an empty field; ±Inf are "inf"/"-inf".
 * A column whose cells carry intervals becomes three: name, name_lo,
 * name_hi. The header names are the table's machine keys when it has
 * them (lsp_table_keys), else its headers. The file is written atomically. */
#ifndef LSP_CSV_H
#define LSP_CSV_H

#include <stdio.h>

#include "reports/lsp_table.h"

/* Write t as CSV (header line + one line per row) to fp. LSP_EIO if a
 * write failed. */
int lsp_csv_write_stream(FILE *fp, const lsp_table *t);

/* Write t to `path` atomically (temporary file + rename): on any failure
 * an existing file at `path` is untouched. LSP_EINVAL for a NULL table,
 * LSP_EIO for file errors (message names the path), LSP_EINTR if
 * lsp_interrupted() was set. */
int lsp_csv_write(const char *path, const lsp_table *t);

/* Write s as one CSV field (quoted only when it has to be). */
void lsp_csv_field(FILE *fp, const char *s);

#endif
