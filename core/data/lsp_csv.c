/* lsp_csv.c — a labelled data set from a CSV file (label first).
 *
 * Two passes over the file held in memory: the first validates every field
 * and counts rows and columns, the second fills the arrays, so the result is
 * allocated once at its exact size. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/lsp_data.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"

/* Parse one field [s, e) as a finite double, ignoring surrounding blanks.
 * Returns 0 on success. */
static int parse_field(const char *s, const char *e, double *out) {
  while (s < e && (*s == ' ' || *s == '\t')) s++;
  while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
  if (s == e) return -1;
  char tmp[128];
  size_t n = (size_t)(e - s);
  if (n >= sizeof tmp) return -1;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  char *end;
  errno = 0;
  double v = strtod(tmp, &end);
  if (end != tmp + n || !isfinite(v) || errno == ERANGE) return -1;
  *out = v;
  return 0;
}

/* Print a field for a message, at most 24 characters. */
static void field_text(const char *s, const char *e, char *buf, size_t cap) {
  size_t n = (size_t)(e - s);
  if (n > 24) n = 24;
  if (n >= cap) n = cap - 1;
  memcpy(buf, s, n);
  buf[n] = '\0';
}

/* The first row is pandas' column numbers 0, 1, ..., nf - 1 (what
 * DataFrame(array).to_csv(index=False) writes above the data): a header.
 * Ten fields at least, so that a short data row of a toy set (label 0,
 * features 1, 2, ...) is not taken for one. */
enum { NUMBERED_HEADER_MIN = 10 };

static int numbered_header(const char *ls, const char *lend, size_t nf) {
  if (nf < NUMBERED_HEADER_MIN) return 0;
  const char *fs = ls;
  for (size_t j = 0; j < nf; j++) {
    const char *fe = memchr(fs, ',', (size_t)(lend - fs));
    if (!fe) fe = lend;
    double v;
    if (parse_field(fs, fe, &v) != 0 || v != (double)j) return 0;
    fs = fe + 1;
  }
  return 1;
}

/* The number of fields on the next non-blank line from p (0 if none). */
static size_t next_fields(const char *p, const char *end) {
  while (p < end) {
    const char *le = memchr(p, '\n', (size_t)(end - p));
    if (!le) le = end;
    size_t nf = 1, blank = 1;
    for (const char *c = p; c < le; c++) {
      nf += *c == ',';
      blank &= *c == ' ' || *c == '\t' || *c == '\r';
    }
    if (!blank) return nf;
    p = le + 1;
  }
  return 0;
}

/* Walk the rows of buf. With x == NULL only validate and count. */
static int scan(const char *path, const char *buf, size_t len, float *x,
                int32_t *y, size_t *rows_out, size_t *cols_out, int *kmax) {
  size_t line = 0, rows = 0, cols = 0, line0 = 0;
  const char *p = buf, *end = buf + len;
  int first = 1;
  *kmax = -1;
  while (p < end) {
    const char *le = memchr(p, '\n', (size_t)(end - p));
    if (!le) le = end;
    const char *ls = p;
    p = le < end ? le + 1 : end;
    line++;
    const char *lend = le;
    if (lend > ls && lend[-1] == '\r') lend--;
    const char *q = ls;
    while (q < lend && (*q == ' ' || *q == '\t')) q++;
    if (q == lend) continue; /* blank line */
    /* Count the fields of this row. */
    size_t nf = 1;
    for (const char *c = ls; c < lend; c++) nf += *c == ',';
    const char *fs = ls;
    const char *fe = memchr(fs, ',', (size_t)(lend - fs));
    if (!fe) fe = lend;
    double v;
    char txt[32];
    if (first && numbered_header(ls, lend, nf)) {
      first = 0;
      continue;
    }
    if (parse_field(fs, fe, &v) != 0) {
      if (first) { /* a header line */
        first = 0;
        continue;
      }
      field_text(fs, fe, txt, sizeof txt);
      return lsp_fail(LSP_EDATA, "%s:%zu: label '%s' is not a number", path,
                      line, txt);
    }
    first = 0;
    if (v < 0 || v != floor(v) || v > INT32_MAX - 1) {
      field_text(fs, fe, txt, sizeof txt);
      return lsp_fail(LSP_EDATA,
                      "%s:%zu: label '%s' is not a non-negative integer", path,
                      line, txt);
    }
    if (nf < 2)
      return lsp_fail(LSP_EDATA, "%s:%zu: no feature columns after the label",
                      path, line);
    if (rows == 0) {
      cols = nf - 1;
      line0 = line;
    } else if (rows == 1 && nf - 1 != cols && next_fields(p, end) == nf) {
      /* the rows after the first agree with each other: the first is off */
      return lsp_fail(LSP_EDATA, "%s:%zu: %zu fields, where the rows after it have %zu",
                      path, line0, cols + 1, nf);
    } else if (nf - 1 != cols)
      return lsp_fail(LSP_EDATA,
                      "%s:%zu: %zu fields, expected %zu as on the "
                      "first row",
                      path, line, nf, cols + 1);
    if ((int)v > *kmax) *kmax = (int)v;
    if (y) y[rows] = (int32_t)v;
    for (size_t j = 0; j < cols; j++) {
      fs = fe + 1;
      fe = memchr(fs, ',', (size_t)(lend - fs));
      if (!fe) fe = lend;
      if (parse_field(fs, fe, &v) != 0) {
        field_text(fs, fe, txt, sizeof txt);
        return lsp_fail(LSP_EDATA,
                        "%s:%zu: field %zu '%s' is not a finite "
                        "number",
                        path, line, j + 2, txt);
      }
      if (x) {
        float f = (float)v;
        if (!isfinite(f))
          return lsp_fail(LSP_EDATA, "%s:%zu: field %zu overflows float32",
                          path, line, j + 2);
        x[rows * cols + j] = f;
      }
    }
    rows++;
  }
  *rows_out = rows;
  *cols_out = cols;
  return LSP_OK;
}

int lsp_csv_read(const char *path, lsp_dataset *out) {
  memset(out, 0, sizeof *out);
  char *buf = NULL;
  size_t len = 0, rows = 0, cols = 0;
  int kmax = -1;
  int st = lsp_read_file(path, &buf, &len);
  if (st) return st;
  if ((st = scan(path, buf, len, NULL, NULL, &rows, &cols, &kmax))) goto done;
  if (rows == 0) {
    st = lsp_fail(LSP_EDATA, "%s: no data rows", path);
    goto done;
  }
  if (kmax < 1) {
    st = lsp_fail(LSP_EDATA, "%s: every label is %d; need at least 2 classes",
                  path, kmax);
    goto done;
  }
  if (rows > SIZE_MAX / sizeof(float) / cols) {
    st = lsp_fail(LSP_ENOMEM, "%s: too large", path);
    goto done;
  }
  out->x = malloc(rows * cols * sizeof *out->x);
  out->y = malloc(rows * sizeof *out->y);
  if (!out->x || !out->y) {
    st = lsp_fail(LSP_ENOMEM, "%s: out of memory for %zu x %zu", path, rows,
                  cols);
    goto done;
  }
  if ((st = scan(path, buf, len, out->x, out->y, &rows, &cols, &kmax)))
    goto done;
  out->n = rows;
  out->dim = cols;
  out->k = kmax + 1;
done:
  free(buf);
  if (st) lsp_dataset_free(out);
  return st;
}
