/* lsp_jsonr.h — a small, strict JSON reader (RFC 8259) into a tree.
 *
 * The whole document is parsed into nodes owned by one lsp_jsonr_doc:
 * null, true/false, numbers (strtod: finite doubles only; a literal that
 * overflows a double, or NaN/Infinity, is an error), strings (escapes
 * including \uXXXX and surrogate pairs decoded to UTF-8; raw control
 * characters and invalid UTF-8 rejected), arrays and objects (members kept
 * in document order; a duplicated key is an error). Nothing but white space
 * may follow the top-level value. Nesting is limited to LSP_JSONR_MAXDEPTH
 * and the input to LSP_JSONR_MAXBYTES. Errors name the source (a file
 * path or "<input>") with line:column (column in bytes), e.g. "run/results.json:12:7:
 * expected ',' or '}' in an object".
 *
 *   lsp_jsonr_doc *d;
 *   if (lsp_jsonr_read_file("results.json", &d)) ... lsp_errmsg() ...
 *   const lsp_jsonr *m = lsp_jsonr_get(lsp_jsonr_root(d), "models");
 *   for (size_t i = 0; i < lsp_jsonr_len(m); i++) ... lsp_jsonr_at(m, i) ...
 *   lsp_jsonr_free(d);
 */
#ifndef LSP_JSONR_H
#define LSP_JSONR_H

#include <stddef.h>

#define LSP_JSONR_MAXDEPTH 64
#define LSP_JSONR_MAXBYTES ((size_t)256 << 20) /* 256 MiB */

typedef enum {
  LSP_JSONR_NULL = 0,
  LSP_JSONR_BOOL = 1,
  LSP_JSONR_NUMBER = 2,
  LSP_JSONR_STRING = 3,
  LSP_JSONR_ARRAY = 4,
  LSP_JSONR_OBJECT = 5
} lsp_jsonr_type;

typedef struct lsp_jsonr lsp_jsonr;
struct lsp_jsonr {
  lsp_jsonr_type type;
  int b;              /* BOOL                                         */
  double num;         /* NUMBER                                       */
  char *str;          /* STRING: NUL-terminated UTF-8 (owned by doc)   */
  size_t len;         /* STRING: bytes (may hold \u0000); ARRAY/OBJECT: items */
  lsp_jsonr **items;  /* ARRAY/OBJECT: len children                    */
  char **keys;        /* OBJECT: len member names                      */
  int line, col;      /* where the value starts (1-based)              */
};

typedef struct lsp_jsonr_doc lsp_jsonr_doc;

/* Parse len bytes of text; `source` names it in error messages (NULL =
 * "<input>"). On success *out owns every node (free with lsp_jsonr_free).
 * Errors: LSP_EDATA (malformed, with source:line:col and the reason; too
 * deep; too large), LSP_ENOMEM, LSP_EINVAL (NULL arguments). */
int lsp_jsonr_parse(const char *text, size_t len, const char *source,
                    lsp_jsonr_doc **out);

/* Read and parse a file. LSP_EIO if it cannot be read (a directory
 * included), then lsp_jsonr_parse's errors. */
int lsp_jsonr_read_file(const char *path, lsp_jsonr_doc **out);

/* Free the document and all its nodes; NULL is a no-op. */
void lsp_jsonr_free(lsp_jsonr_doc *d);

/* The top-level value (never NULL for a parsed document). */
const lsp_jsonr *lsp_jsonr_root(const lsp_jsonr_doc *d);
/* The name given at parse time (file path or "<input>"). */
const char *lsp_jsonr_source(const lsp_jsonr_doc *d);

/* Member `key` of an object; NULL if v is NULL, not an object, or lacks it. */
const lsp_jsonr *lsp_jsonr_get(const lsp_jsonr *v, const char *key);
/* Element i of an array; NULL if v is not an array or i is out of range. */
const lsp_jsonr *lsp_jsonr_at(const lsp_jsonr *v, size_t i);
/* Items of an array or members of an object; 0 otherwise. */
size_t lsp_jsonr_len(const lsp_jsonr *v);
/* "null", "boolean", "number", "string", "array", "object". */
const char *lsp_jsonr_type_name(lsp_jsonr_type t);

/* Lenient getters: the value of member `key` of object v, or `def` when
 * the member is missing or has another type (JSON null included). */
double lsp_jsonr_num_or(const lsp_jsonr *v, const char *key, double def);
const char *lsp_jsonr_str_or(const lsp_jsonr *v, const char *key,
                             const char *def);

/* Strict getters for validation: member `key` of v must exist and have the
 * type asked for. On failure LSP_EDATA with "<source>: <where>.<key>:
 * missing" or "...: expected a number, found a string" (`where` is the
 * caller's path to v, e.g. "models[2].calibration"; may be ""). With
 * null_ok, a JSON null gives NaN (numbers) or NULL (strings) instead of an
 * error. *out is untouched on failure. */
int lsp_jsonr_need_num(const lsp_jsonr_doc *d, const lsp_jsonr *v,
                       const char *where, const char *key, int null_ok,
                       double *out);
int lsp_jsonr_need_str(const lsp_jsonr_doc *d, const lsp_jsonr *v,
                       const char *where, const char *key, int null_ok,
                       const char **out);
/* Member `key` must be of type t (array/object/...); *out gets it. */
int lsp_jsonr_need(const lsp_jsonr_doc *d, const lsp_jsonr *v,
                   const char *where, const char *key, lsp_jsonr_type t,
                   const lsp_jsonr **out);

#endif
