/* lsp_csv.c — RFC 4180 CSV with round-trip numbers. */
#define _POSIX_C_SOURCE 200809L
#include "reports/lsp_csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"

void lsp_csv_field(FILE *fp, const char *s) {
  if (!s) return;
  size_t n = strlen(s);
  int quote = n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
                        s[n - 1] == '\t');
  if (strpbrk(s, ",\"\r\n")) quote = 1;
  if (!quote) {
    fputs(s, fp);
    return;
  }
  fputc('"', fp);
  for (; *s; s++) {
    if (*s == '"') fputc('"', fp);
    fputc(*s, fp);
  }
  fputc('"', fp);
}

/* A NaN or ±Inf is an empty field, as results.json writes null for both. */
static void num_field(FILE *fp, double x) {
  if (!isfinite(x)) return; /* empty */
  char buf[32];
  lsp_table_roundtrip(x, buf);
  fputs(buf, fp);
}

int lsp_csv_write_stream(FILE *fp, const lsp_table *t) {
  for (size_t c = 0; c < t->ncols; c++) {
    if (c) fputc(',', fp);
    const char *name = lsp_table_csv_name(t, c);
    lsp_csv_field(fp, name);
    if (lsp_table_col_has_ci(t, c)) {
      /* name_lo, name_hi: built by hand so quoting still applies */
      size_t n = strlen(name);
      char *h = malloc(n + 4);
      if (!h) return lsp_fail(LSP_ENOMEM, "out of memory");
      memcpy(h, name, n);
      strcpy(h + n, "_lo");
      fputc(',', fp);
      lsp_csv_field(fp, h);
      strcpy(h + n, "_hi");
      fputc(',', fp);
      lsp_csv_field(fp, h);
      free(h);
    }
  }
  fputc('\n', fp);
  for (size_t r = 0; r < t->nrows; r++) {
    for (size_t c = 0; c < t->ncols; c++) {
      const lsp_table_cell *cl = &t->cells[r * t->ncols + c];
      if (c) fputc(',', fp);
      if (cl->kind == LSP_CELL_TEXT)
        lsp_csv_field(fp, cl->text);
      else if (cl->kind == LSP_CELL_INT)
        fprintf(fp, "%lld", cl->i);
      else if (cl->kind == LSP_CELL_NUM)
        num_field(fp, cl->x);
      if (lsp_table_col_has_ci(t, c)) {
        fputc(',', fp);
        if (cl->kind == LSP_CELL_NUM && cl->has_ci) num_field(fp, cl->lo);
        fputc(',', fp);
        if (cl->kind == LSP_CELL_NUM && cl->has_ci) num_field(fp, cl->hi);
      }
    }
    fputc('\n', fp);
  }
  return ferror(fp) ? lsp_fail(LSP_EIO, "CSV write failed: %s", strerror(errno ? errno : EIO))
                    : LSP_OK;
}

int lsp_csv_write(const char *path, const lsp_table *t) {
  if (!path || !t) return lsp_fail(LSP_EINVAL, "CSV: no path or table");
  if (lsp_interrupted()) return lsp_fail(LSP_EINTR, "%s: interrupted", path);
  lsp_outfile o;
  int st = lsp_out_open(&o, path);
  if (st) return st;
  st = lsp_csv_write_stream(o.fp, t);
  if (st) {
    lsp_out_abort(&o);
    return lsp_fail_prefix(st, path);
  }
  return lsp_out_commit(&o);
}
