/* lsp_arraycheck.h — checks on arrays a user hands in that catch the common
 * mix-ups early, with a message naming the file and what to do instead:
 * one-hot labels where class indices belong, probabilities where logits
 * belong, and non-finite values in float64 data (which, unlike other
 * dtypes, is kept as it is rather than converted to float32).
 *
 * Every check reads the array in its own dtype (float32, float64, int32,
 * int64, uint8), stops at the first row that settles the answer, and fails
 * with LSP_EDATA and a one-line reason. */
#ifndef LSP_ARRAYCHECK_H
#define LSP_ARRAYCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "core/formats/lsp_npy.h"

/* What a non-finite value message adds after the value's place: for −inf
 * (logits of a masked class, as softmax and cross_entropy take them) the
 * way to pass them, said of logits only; "" otherwise. */
const char *lsp_nonfinite_hint(double v);

/* Element i of a numeric array as a double (exact for every dtype except
 * int64 beyond 2^53). */
double lsp_array_get(const lsp_array *a, size_t i);

/* 1 if `a` is an N×K matrix (K >= 2, N >= 1) whose every row holds K - 1
 * zeros and a single one: one-hot encoded labels. */
int lsp_array_is_onehot(const lsp_array *a);

/* 1 when every row of the N×K matrix `a` (N >= 1, K >= 2) lies in [0, 1]
 * and sums to 1 within 1e-3 (the rule --probs accepts), else 0. */
int lsp_array_is_probs(const lsp_array *a);

/* LSP_EDATA when the N×K matrix `a` looks like probabilities: every value
 * in [0, 1] and every row summing to 1 within 1e-3 (the rule --probs
 * accepts). The message names `path`, says so, and ends with `advice`
 * ("pass them with --probs", ...). LSP_OK for anything else, including any
 * matrix with one row that is not a probability vector. */
int lsp_array_not_probs(const lsp_array *a, const char *path,
                        const char *advice);

/* LSP_OK when the N×K matrix `a` (K >= 2) holds probability distributions:
 * every value finite and >= 0, every row summing to 1 within 1e-3 (the rule
 * --probs accepts). Else LSP_EDATA naming `path` and the first bad row (and
 * column): a non-finite or negative value, or the row's sum, followed by
 * `advice` (may be NULL) for a negative value or a bad sum; a matrix that
 * is not 2-D says so. */
int lsp_array_distributions(const lsp_array *a, const char *path, const char *advice);

/* LSP_EDATA naming the row and column of the first NaN or infinity of a
 * float array (the message of lsp_array_f32); LSP_OK for integer arrays. */
int lsp_array_finite(const lsp_array *a, const char *path);

/* lsp_array_finite of rows [row0, row0 + shape[0]) of a larger array held
 * in `a` (a chunk of it): the message numbers the row as in the whole. */
int lsp_array_finite_from(const lsp_array *a, size_t row0, const char *path);

/* Class labels whose K = 1 + the largest label (no model or last layer to
 * give it): a K above LSP_LABELS_SPARSE_K with more absent classes than
 * present ones is taken for a label out of range (one stray label 10^9
 * would make up a billion empty classes): LSP_EDATA naming `what`, the
 * largest label, where it is and how many classes occur, then `hint`
 * (may be ""); LSP_ENOMEM. Needs no K-sized table. */
#define LSP_LABELS_SPARSE_K 1024
int lsp_labels_check_sparse(const int32_t *labels, size_t n, const char *what,
                            const char *hint);

#endif
