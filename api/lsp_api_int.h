/* lsp_api_int.h — helpers shared by the public API's implementation
 * (the api/ folder): options by name, input checks on lsp_matrix arrays, and
 * JSON results built in memory. Not installed. */
#ifndef LSP_API_INT_H
#define LSP_API_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/formats/lsp_json.h"
#include "core/formats/lsp_npy.h"
#include "lsprobe/result.h"

/* ---- options ------------------------------------------------------------ */

/* LSP_EINVAL "<fn>: unknown option 'x' (it takes a, b, c)" when `o` holds a
 * name outside the NULL-terminated list `known`; LSP_OK otherwise (also
 * for o == NULL). */
int lsp_api_opts_known(const char *fn, const lsp_opts *o,
                       const char *const *known);
/* The text of option `name`, or NULL when it is not set (or o is NULL). */
const char *lsp_api_opt(const lsp_opts *o, const char *name);
/* Option `name` as a whole number in [lo, hi] (default `def` when unset),
 * or as a finite number in [lo, hi]; LSP_EINVAL naming the option, the
 * text and the range otherwise. */
int lsp_api_opt_long(const char *fn, const lsp_opts *o, const char *name,
                     long def, long lo, long hi, long *out);
int lsp_api_opt_double(const char *fn, const lsp_opts *o, const char *name,
                       double def, double lo, double hi, double *out);

/* ---- inputs ------------------------------------------------------------- */

/* Check that m is a non-empty float32/float64 matrix with data, and with
 * `cols` columns when cols > 0; LSP_EINVAL "<what>: ..." otherwise. */
int lsp_api_matrix_ok(const char *what, const lsp_matrix *m, size_t cols);
/* An lsp_array view of m (no ownership) for the array checks of
 * core/formats (lsp_array_f32, lsp_array_finite, lsp_array_not_probs). */
lsp_array lsp_api_array(const lsp_matrix *m);
/* A finite float32 view of m: m's own data when float32, else a converted
 * copy in *own (free()). LSP_EDATA naming the row and column of the first
 * non-finite value (or a float64 value beyond float32's range). */
int lsp_api_f32(const char *what, const lsp_matrix *m, const float **view,
                float **own);
/* Every label of y[0..n-1] in [0, k); LSP_EDATA naming the first that is
 * not. With k == 0, the number of classes 1 + max(y) is returned in *kout
 * (labels must be >= 0). */
int lsp_api_labels(const char *what, const int32_t *y, size_t n, size_t k,
                   size_t *kout);

/* ---- results ------------------------------------------------------------ */

/* A JSON document written in memory. lsp_api_doc_open starts it (compact
 * JSON, the top-level object opened); write members through &d->j;
 * lsp_api_doc_close ends the object, parses the text back (so every result
 * holds valid JSON) and makes the result; lsp_api_doc_abort drops it. */
typedef struct {
  FILE *fp;
  char *buf;
  size_t len;
  lsp_json j;
} lsp_api_doc;

int lsp_api_doc_open(lsp_api_doc *d);
int lsp_api_doc_close(lsp_api_doc *d, lsp_result **out);
void lsp_api_doc_abort(lsp_api_doc *d);

#endif
