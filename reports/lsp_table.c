/* lsp_table.c — the typed table behind the CSV, HTML and Markdown writers. */
#define _POSIX_C_SOURCE 200809L
#include "reports/lsp_table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"

lsp_table *lsp_table_alloc(size_t ncols, const char *const *header) {
  if (ncols == 0 || !header) return NULL;
  lsp_table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->ncols = ncols;
  t->header = calloc(ncols, sizeof *t->header);
  t->digits = malloc(ncols * sizeof *t->digits);
  t->decimals = malloc(ncols * sizeof *t->decimals);
  t->plus = calloc(ncols, sizeof *t->plus);
  if (!t->header || !t->digits || !t->decimals || !t->plus) goto fail;
  for (size_t c = 0; c < ncols; c++) {
    if (!header[c] || !(t->header[c] = lsp_strdupf("%s", header[c]))) goto fail;
    t->digits[c] = 4;
    t->decimals[c] = -1;
  }
  return t;
fail:
  lsp_table_free(t);
  return NULL;
}

void lsp_table_free(lsp_table *t) {
  if (!t) return;
  for (size_t c = 0; t->header && c < t->ncols; c++) free(t->header[c]);
  for (size_t c = 0; t->key && c < t->ncols; c++) free(t->key[c]);
  free(t->key);
  for (size_t k = 0; k < t->nrows * t->ncols; k++) free(t->cells[k].text);
  free(t->header);
  free(t->digits);
  free(t->decimals);
  free(t->plus);
  free(t->cells);
  free(t);
}

static int is_key(const char *s) {
  if (!s || !(*s >= 'a' && *s <= 'z')) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
  return 1;
}

int lsp_table_keys(lsp_table *t, const char *const *keys) {
  if (!t || !keys) return lsp_fail(LSP_EINVAL, "table: no keys");
  for (size_t c = 0; c < t->ncols; c++)
    if (!is_key(keys[c]))
      return lsp_fail(LSP_EINVAL, "table: CSV name of column %zu ('%s') is not a machine name "
                                  "([a-z][a-z0-9_]*)", c, keys[c] ? keys[c] : "(null)");
  char **k = calloc(t->ncols, sizeof *k);
  if (!k) return lsp_fail(LSP_ENOMEM, "out of memory (table)");
  for (size_t c = 0; c < t->ncols; c++)
    if (!(k[c] = lsp_strdupf("%s", keys[c]))) {
      for (size_t i = 0; i < c; i++) free(k[i]);
      free(k);
      return lsp_fail(LSP_ENOMEM, "out of memory (table)");
    }
  for (size_t c = 0; t->key && c < t->ncols; c++) free(t->key[c]);
  free(t->key);
  t->key = k;
  return LSP_OK;
}

const char *lsp_table_csv_name(const lsp_table *t, size_t col) {
  return t->key ? t->key[col] : t->header[col];
}

int lsp_table_row(lsp_table *t) {
  if (t->nrows == t->cap_rows) {
    size_t cap = t->cap_rows ? 2 * t->cap_rows : 8;
    lsp_table_cell *c = realloc(t->cells, cap * t->ncols * sizeof *c);
    if (!c) return lsp_fail(LSP_ENOMEM, "out of memory (table)");
    t->cells = c;
    t->cap_rows = cap;
  }
  memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof *t->cells);
  t->nrows++;
  return LSP_OK;
}

/* The cell (last row, col), cleared; NULL (with an error) if none. */
static lsp_table_cell *cell(lsp_table *t, size_t col) {
  if (t->nrows == 0) {
    lsp_fail(LSP_EINVAL, "table: add a row before setting cells");
    return NULL;
  }
  if (col >= t->ncols) {
    lsp_fail(LSP_EINVAL, "table: column %zu of %zu", col, t->ncols);
    return NULL;
  }
  lsp_table_cell *c = &t->cells[(t->nrows - 1) * t->ncols + col];
  free(c->text);
  memset(c, 0, sizeof *c);
  return c;
}

int lsp_table_text(lsp_table *t, size_t col, const char *s) {
  lsp_table_cell *c = cell(t, col);
  if (!c) return LSP_EINVAL;
  if (!s) return LSP_OK;
  if (!(c->text = lsp_strdupf("%s", s))) return lsp_fail(LSP_ENOMEM, "out of memory");
  c->kind = LSP_CELL_TEXT;
  return LSP_OK;
}

int lsp_table_int(lsp_table *t, size_t col, long long v) {
  lsp_table_cell *c = cell(t, col);
  if (!c) return LSP_EINVAL;
  c->kind = LSP_CELL_INT;
  c->i = v;
  return LSP_OK;
}

int lsp_table_num(lsp_table *t, size_t col, double x) {
  lsp_table_cell *c = cell(t, col);
  if (!c) return LSP_EINVAL;
  c->kind = LSP_CELL_NUM;
  c->x = x;
  c->lo = c->hi = NAN;
  return LSP_OK;
}

int lsp_table_num_ci(lsp_table *t, size_t col, double x, double lo, double hi) {
  lsp_table_cell *c = cell(t, col);
  if (!c) return LSP_EINVAL;
  c->kind = LSP_CELL_NUM;
  c->has_ci = 1;
  c->x = x;
  c->lo = lo;
  c->hi = hi;
  return LSP_OK;
}

int lsp_table_digits(lsp_table *t, size_t col, int digits) {
  if (col >= t->ncols || digits < 1 || digits > 17)
    return lsp_fail(LSP_EINVAL, "table: bad digits %d for column %zu", digits,
                    col);
  t->digits[col] = digits;
  return LSP_OK;
}

int lsp_table_decimals(lsp_table *t, size_t col, int decimals) {
  if (col >= t->ncols || decimals < -1 || decimals > 17)
    return lsp_fail(LSP_EINVAL, "table: bad decimals %d for column %zu",
                    decimals, col);
  t->decimals[col] = decimals;
  return LSP_OK;
}

int lsp_table_signed(lsp_table *t, size_t col) {
  if (col >= t->ncols) return lsp_fail(LSP_EINVAL, "table: no column %zu", col);
  t->plus[col] = 1;
  return LSP_OK;
}

int lsp_table_col_has_ci(const lsp_table *t, size_t col) {
  for (size_t r = 0; r < t->nrows; r++)
    if (t->cells[r * t->ncols + col].has_ci) return 1;
  return 0;
}

void lsp_table_roundtrip(double x, char buf[static 32]) {
  if (isnan(x)) {
    strcpy(buf, "nan");
    return;
  }
  if (isinf(x)) {
    strcpy(buf, x > 0 ? "inf" : "-inf");
    return;
  }
  char tmp[32];
  for (int p = 1; p <= 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*g", p, x);
    if (strtod(tmp, NULL) == x) break; /* %.17g always round-trips */
  }
  memcpy(buf, tmp, sizeof tmp);
}

/* Decimals that show x with `sig` significant digits, or -1 when x needs
 * exponent notation (outside [1e-4, 1e6)) or is 0/non-finite. */
static int decimals_for(double x, int sig) {
  double a = fabs(x);
  if (!isfinite(x) || x == 0 || a < 1e-4 || a >= 1e6) return -1;
  int dec = sig - 1 - (int)floor(log10(a));
  return dec < 0 ? 0 : dec > 17 ? 17 : dec;
}

/* x with `dec` decimals (dec >= 0), or `sig` significant digits in
 * exponent notation when dec < 0; trailing zeros kept: 0.9120 and 0.0123
 * line up as measurements of that precision. */
static void show_num(double x, int dec, int sig, int plus, char *buf, size_t cap) {
  if (plus && x > 0 && isfinite(x)) { /* "+0.0047": a difference's sign */
    if (cap < 2) return;
    buf[0] = '+';
    buf++;
    cap--;
  }
  if (isnan(x))
    snprintf(buf, cap, "\xe2\x80\x93"); /* en dash */
  else if (isinf(x))
    snprintf(buf, cap, x > 0 ? "\xe2\x88\x9e" : "\xe2\x88\x92\xe2\x88\x9e");
  else if (x == 0 && dec < 0)
    snprintf(buf, cap, "0");
  else if (dec >= 0)
    snprintf(buf, cap, "%.*f", dec, x);
  else
    snprintf(buf, cap, "%.*e", sig - 1, x);
}

void lsp_table_show(const lsp_table *t, size_t row, size_t col, char *buf,
                    size_t cap) {
  if (cap == 0) return;
  buf[0] = '\0';
  if (row >= t->nrows || col >= t->ncols) return;
  const lsp_table_cell *c = &t->cells[row * t->ncols + col];
  int sig = t->digits[col];
  switch (c->kind) {
    case LSP_CELL_TEXT:
      snprintf(buf, cap, "%s", c->text);
      break;
    case LSP_CELL_INT:
      snprintf(buf, cap, "%lld", c->i);
      break;
    case LSP_CELL_NUM: {
      char a[64], lo[64], hi[64];
      int dec = t->decimals[col];
      if (dec < 0) dec = decimals_for(c->x, sig);
      /* an estimate of 0 with an interval: the decimals of its wider bound,
       * so "0.00000 [0.00000, 0.07523]" reads as its neighbours do */
      if (dec < 0 && c->x == 0 && c->has_ci)
        dec = decimals_for(fabs(c->lo) > fabs(c->hi) || !isfinite(c->hi) ? c->lo : c->hi, sig);
      show_num(c->x, dec, sig, t->plus[col], a, sizeof a);
      if (c->has_ci && (isfinite(c->lo) || isfinite(c->hi))) {
        /* bounds to the precision of the estimate */
        int bdec = dec >= 0 ? dec : decimals_for(c->lo, sig);
        show_num(c->lo, bdec, sig, t->plus[col], lo, sizeof lo);
        show_num(c->hi, dec >= 0 ? dec : decimals_for(c->hi, sig), sig, t->plus[col], hi,
                 sizeof hi);
        snprintf(buf, cap, "%s [%s, %s]", a, lo, hi);
      } else {
        snprintf(buf, cap, "%s", a);
      }
      break;
    }
    default:
      break;
  }
}
