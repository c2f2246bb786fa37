/* lsp_json.h — a small streaming JSON writer.
 *
 * Keeps track of nesting and commas, escapes strings, writes non-finite
 * numbers as null (JSON has no NaN/Inf), and prints doubles with enough
 * digits to round-trip. Pretty-printed with two-space indents, or compact
 * on one line.
 *
 *   lsp_json j;
 *   lsp_json_init(&j, stdout, 0);
 *   lsp_json_obj_begin(&j);
 *   lsp_json_key_num(&j, "loss", 2.734);
 *   lsp_json_key(&j, "bins"); lsp_json_arr_begin(&j); ... lsp_json_arr_end(&j);
 *   lsp_json_obj_end(&j);
 *   lsp_json_finish(&j);   // newline; returns nonzero if a write failed
 */
#ifndef LSP_JSON_H
#define LSP_JSON_H

#include <stdio.h>

#define LSP_JSON_MAXDEPTH 32

typedef struct {
  FILE *fp;
  int pretty;
  int depth;
  int count[LSP_JSON_MAXDEPTH]; /* items written at each level */
  int after_key;                /* a key was written; the value comes next */
  int error;                    /* misuse (unbalanced) or write error      */
} lsp_json;

void lsp_json_init(lsp_json *j, FILE *fp, int pretty);
void lsp_json_obj_begin(lsp_json *j);
void lsp_json_obj_end(lsp_json *j);
void lsp_json_arr_begin(lsp_json *j);
void lsp_json_arr_end(lsp_json *j);
void lsp_json_key(lsp_json *j, const char *key);
void lsp_json_num(lsp_json *j, double x);      /* null if not finite */
void lsp_json_int(lsp_json *j, long long x);
void lsp_json_str(lsp_json *j, const char *s); /* escaped; NULL -> null */
void lsp_json_bool(lsp_json *j, int b);
void lsp_json_null(lsp_json *j);
/* key + value shorthands */
void lsp_json_key_num(lsp_json *j, const char *key, double x);
void lsp_json_key_int(lsp_json *j, const char *key, long long x);
void lsp_json_key_str(lsp_json *j, const char *key, const char *s);
void lsp_json_key_bool(lsp_json *j, const char *key, int b);
/* An array of n doubles. */
void lsp_json_key_nums(lsp_json *j, const char *key, const double *x,
                       size_t n);
/* Ends the document with a newline. 0 if balanced and every write worked. */
int lsp_json_finish(lsp_json *j);

/* Escape a string for JSON (without quotes) into out; returns needed size.
 * Control characters and DEL become escapes, and a byte that starts no
 * well-formed UTF-8 sequence U+FFFD, so the text is valid JSON whatever the
 * string (names read from a model file, say). Strings written by the
 * functions above are escaped the same way. */
size_t lsp_json_escape(const char *s, char *out, size_t cap);

#endif
