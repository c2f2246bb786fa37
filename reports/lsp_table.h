/* lsp_table.h — a small typed table shared by the report writers.
 *
 * One table feeds three outputs: CSV (lsp_csv.h: every number with
 * round-trip digits, intervals as extra `_lo`/`_hi` columns, NaN as an empty
 * cell), HTML (lsp_html.h) and Markdown (lsp_md.h), which show numbers
 * rounded for reading and intervals as "0.912 [0.905, 0.918]". Cells are
 * text, integers, or numbers with an optional interval.
 *
 *   const char *cols[] = {"model", "epsilon", "ece"};
 *   lsp_table *t = lsp_table_alloc(3, cols);
 *   lsp_table_row(t);
 *   lsp_table_text(t, 0, "ls-0.1");
 *   lsp_table_num(t, 1, 0.1);
 *   lsp_table_num_ci(t, 2, 0.0123, 0.0101, 0.0149);
 *   ... lsp_csv_write("out/calibration.csv", t); lsp_table_free(t);
 */
#ifndef LSP_TABLE_H
#define LSP_TABLE_H

#include <stddef.h>

enum {
  LSP_CELL_EMPTY = 0,
  LSP_CELL_TEXT = 1,
  LSP_CELL_INT = 2,
  LSP_CELL_NUM = 3 /* a double, with an interval when has_ci */
};

typedef struct {
  int kind;
  int has_ci;
  char *text; /* owned; LSP_CELL_TEXT */
  long long i;
  double x, lo, hi;
} lsp_table_cell;

/* Read-only for callers; change it through the functions below. */
typedef struct {
  size_t ncols, nrows;
  char **header;         /* owned: ncols column names */
  char **key;            /* owned: ncols CSV names, or NULL: the header */
  int *digits;           /* ncols: significant digits shown in HTML/MD */
  int *decimals;         /* ncols: fixed decimals instead, or -1        */
  int *plus;             /* ncols: 1 = positive numbers shown with "+"  */
  lsp_table_cell *cells; /* owned: nrows × ncols, row-major */
  size_t cap_rows;
} lsp_table;

/* A table with ncols columns named header[0..ncols-1] (copied) and no
 * rows; 4 significant digits shown by default. NULL if ncols == 0, a name
 * is NULL, or memory runs out. */
lsp_table *lsp_table_alloc(size_t ncols, const char *const *header);
/* Machine names for the CSV header instead of the reader-facing ones,
 * which HTML and Markdown keep showing ("test accuracy" -> "accuracy",
 * "ECE after T" -> "ece_after_t"). keys[0..ncols-1] are copied and must
 * be lowercase letters, digits and '_', starting with a letter. LSP_EINVAL
 * for a NULL or malformed key (nothing changed), LSP_ENOMEM. */
int lsp_table_keys(lsp_table *t, const char *const *keys);

/* The CSV name of column col: its key when keys were set, else its header. */
const char *lsp_table_csv_name(const lsp_table *t, size_t col);

/* Free the table and its strings; NULL is a no-op. */
void lsp_table_free(lsp_table *t);

/* Append a row of empty cells; the setters below fill the last row.
 * LSP_ENOMEM on allocation failure. */
int lsp_table_row(lsp_table *t);

/* Set cell (last row, col). Text is copied (NULL = empty cell). Numbers
 * may be non-finite: NaN shows as an empty CSV cell and "–" in HTML/MD.
 * Errors: LSP_EINVAL if there is no row yet or col >= ncols; LSP_ENOMEM. */
int lsp_table_text(lsp_table *t, size_t col, const char *s);
int lsp_table_int(lsp_table *t, size_t col, long long v);
int lsp_table_num(lsp_table *t, size_t col, double x);
int lsp_table_num_ci(lsp_table *t, size_t col, double x, double lo, double hi);

/* Significant digits (1..17) used to show column col in HTML/Markdown.
 * LSP_EINVAL when out of range. CSV always keeps round-trip digits. */
int lsp_table_digits(lsp_table *t, size_t col, int digits);

/* Fixed decimal places (0..17) for column col in HTML/Markdown instead of
 * significant digits, so a column of values lines up ("0.041", "0.012").
 * -1 returns to significant digits. LSP_EINVAL when out of range. */
int lsp_table_decimals(lsp_table *t, size_t col, int decimals);

/* Column col shows positive numbers with a "+" in HTML/Markdown, as the
 * findings write a difference ("+0.0047 [-0.0012, +0.0106]"). LSP_EINVAL
 * when there is no such column. */
int lsp_table_signed(lsp_table *t, size_t col);

/* Whether any cell of column col carries an interval (it then becomes
 * three CSV columns: name, name_lo, name_hi). */
int lsp_table_col_has_ci(const lsp_table *t, size_t col);

/* The cell as shown to a reader (HTML/Markdown): text as is, integers in
 * full, numbers with the column's fixed decimals or significant digits
 * (plain notation for magnitudes in [1e-4, 1e6)), "x [lo, hi]" with an
 * interval (bounds with the decimals of x), "–" for NaN, "" for an empty
 * cell. Writes at most cap bytes (NUL included). */
void lsp_table_show(const lsp_table *t, size_t row, size_t col, char *buf,
                    size_t cap);

/* The shortest decimal form of x that reads back as the same double
 * ("0.1", "2.734141893176975"); "nan", "inf" or "-inf" when not finite.
 * buf needs 32 bytes. */
void lsp_table_roundtrip(double x, char buf[static 32]);

#endif
