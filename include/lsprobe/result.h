/* lsprobe/result.h — what the analysis functions take and give back:
 * matrices, options by name, and results as JSON documents.
 *
 * Inputs are plain row-major arrays described by an lsp_matrix; the library
 * reads them in place and never keeps a pointer after the call returns.
 *
 * Settings are passed by name in an lsp_opts (the names of the command's
 * options, with '_' for '-': "bins", "bootstrap", "step_size"), so a
 * setting added later changes no signature. Each function lists the names
 * it accepts; an unknown name or a value that does not parse is LSP_EINVAL
 * naming the option and what it accepts. A NULL lsp_opts means every
 * default.
 *
 * A result is the JSON object the lsprobe command prints with --json for
 * the same analysis (the names of docs/DESIGN.md §4, as in results.json),
 * without the members that name input files. Read it whole with
 * lsp_result_json or number by number with lsp_result_number. */
#ifndef LSPROBE_RESULT_H
#define LSPROBE_RESULT_H

#include <stddef.h>

#include "lsprobe/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LSP_MAT_F32 = 1, LSP_MAT_F64 = 2 } lsp_mat_type;

/* rows × cols values of `type` (float or double), row-major (C order),
 * contiguous. */
typedef struct {
  const void *data;
  lsp_mat_type type;
  size_t rows, cols;
} lsp_matrix;

/* ---- options ------------------------------------------------------------ */

typedef struct lsp_opts lsp_opts;

/* An empty set of options; NULL when out of memory. */
LSP_API lsp_opts *lsp_opts_alloc(void);
/* NULL is a no-op. */
LSP_API void lsp_opts_free(lsp_opts *o);
/* Set option `name` to the text `value` ("15", "0.1", "right"), replacing an
 * earlier value. Only the name's form is checked here ([a-z][a-z0-9_]*, at
 * most 64 characters); the function that uses the options checks the name
 * and parses the value (a number without blanks around it).
 * LSP_EINVAL for a malformed name or NULL arguments, LSP_ENOMEM. */
LSP_API int lsp_opts_set(lsp_opts *o, const char *name, const char *value);

/* ---- results ------------------------------------------------------------ */

typedef struct lsp_result lsp_result;

/* The whole result as one JSON object (UTF-8, NaN and infinities as null),
 * owned by the result. */
LSP_API const char *lsp_result_json(const lsp_result *r);

/* The number at `path` in the result: member names joined by '.', array
 * elements by [i] — "ece", "ece_ci[1]", "bins[3].count",
 * "temperature_scaled.ece", "points[2].accuracy". A JSON null (a NaN or an
 * infinity, or an empty bin's accuracy) gives NaN. LSP_EINVAL when the path
 * does not lead to a number or a null (the message says where it stops). */
LSP_API int lsp_result_number(const lsp_result *r, const char *path,
                              double *out);

/* NULL is a no-op. */
LSP_API void lsp_result_free(lsp_result *r);

#ifdef __cplusplus
}
#endif

#endif
