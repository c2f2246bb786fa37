/* lsp_npy.h — NumPy .npy arrays: read (copied or memory-mapped) and write.
 *
 * Supported: format versions 1.0, 2.0 and 3.0; C order; little-endian
 * float32, float64, int32, int64 and uint8 ('<f4' '<f8' '<i4' '<i8' '|u1').
 * Anything else (Fortran order, big-endian, other dtypes, a header that does
 * not parse, a file shorter or longer than its header says) is rejected with
 * a message naming the file and the problem. */
#ifndef LSP_NPY_H
#define LSP_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/lsp_io.h"

typedef enum {
  LSP_DT_F32 = 0,
  LSP_DT_F64,
  LSP_DT_I32,
  LSP_DT_I64,
  LSP_DT_U8
} lsp_dtype;

#define LSP_NPY_MAXDIM 8

typedef struct {
  lsp_dtype dtype;
  int ndim;
  size_t shape[LSP_NPY_MAXDIM];
  size_t count;     /* number of elements (product of shape; 1 for ndim 0) */
  const void *data; /* the elements, C order */
  void *heap;       /* owned: the elements read from the file, or NULL */
} lsp_array;

size_t lsp_dtype_size(lsp_dtype dt);
const char *lsp_dtype_name(lsp_dtype dt); /* "float32", ... */

/* Read `path`. On success `out` owns the data; release it with
 * lsp_array_release(). On failure `out` is left empty (safe to release). */
int lsp_npy_read(const char *path, lsp_array *out);

/* Open `path` and check it as lsp_npy_read does (header, dtype, a length
 * exactly as the header says), without reading the data: `out` gets dtype,
 * shape and count (data NULL), *offset the data's byte offset and *fd the
 * open descriptor (the caller closes it; -1 on failure). A path that is not
 * a regular file (a pipe, /dev/stdin, a shell's <(…)) cannot be read by
 * offset nor measured: *pipe is set, only its header has been read, and
 * its data must be read front to back from *fd (lsp_npy_stream_data,
 * lsp_npy_stream_take); else *pipe is 0. The path "-" is standard input. */
int lsp_npy_open(const char *path, lsp_array *out, size_t *offset, int *fd, int *pipe);

/* A pipe read front to back (lsp_npy_stream.c), with the checks and
 * messages of a file: lsp_npy_read_stream reads the header and the data
 * from fd (named `path` in messages); lsp_npy_stream_header reads the
 * prefix and header into *a (data NULL) and their length into *offset;
 * lsp_npy_stream_data the rest into a buffer that a->heap then owns,
 * growing as the bytes arrive (a header claiming more than the stream
 * holds costs only what it holds), and checks that the stream ends there;
 * lsp_npy_stream_take reads exactly len bytes of data (done: data bytes
 * read before, total: the data's length, both for the "truncated data"
 * message); lsp_npy_stream_end checks that the stream ends. */
int lsp_npy_read_stream(int fd, const char *path, lsp_array *out);
int lsp_npy_stream_header(int fd, const char *path, lsp_array *a, size_t *offset);
int lsp_npy_stream_data(int fd, const char *path, lsp_array *a);
int lsp_npy_stream_take(int fd, const char *path, void *buf, size_t len, size_t done,
                        size_t total);
int lsp_npy_stream_end(int fd, const char *path);

/* Parse a .npy header held in memory (`len` bytes from the file's start).
 * Fills dtype/ndim/shape/count of `out` (no data) and the data offset.
 * Used by lsp_npy_read and by the fuzz harness. */
int lsp_npy_parse_header(const unsigned char *buf, size_t len,
                         const char *path, lsp_array *out, size_t *offset);

/* Write an array atomically (temporary file + rename), format 1.0. */
int lsp_npy_write(const char *path, lsp_dtype dt, int ndim,
                  const size_t *shape, const void *data);
/* Write an array, format 1.0, into the output file `o` opened by the
 * caller (core/base/lsp_io.h), who commits it; on failure `o` is aborted
 * and the reason says why (a full disk: "No space left on device"). */
int lsp_npy_write_to(lsp_outfile *o, lsp_dtype dt, int ndim, const size_t *shape,
                     const void *data);

void lsp_array_release(lsp_array *a);

/* Where element i (C order) of `a` lies, for messages: "row r, column c" for
 * a matrix, "row r, element [j, k, ...]" (the indices after the row) for 3-D
 * and more, "index i" for 0-D and 1-D. Writes at most len bytes into buf. */
void lsp_array_where(const lsp_array *a, size_t i, char *buf, size_t len);

/* A float32 view of a numeric array: *view points at the array's own data
 * when it already is float32, else at a converted heap copy returned in
 * *owned (free it with free()). Rejects NaN and Inf with the index of the
 * first one found when `require_finite` is set. */
int lsp_array_f32(const lsp_array *a, const char *path, int require_finite,
                  const float **view, float **owned);

/* Labels as int32: the array must be 1-D (or N×1), integer-valued, and every
 * label in [0, k) when k > 0 (k == 0: only non-negative). Float arrays are
 * accepted when every value is integral. *out is a heap array (free()). */
int lsp_array_labels(const lsp_array *a, const char *path, int k,
                     int32_t **out);

/* Read helpers: a 2-D float32 matrix (rows × cols) and a label vector. */
int lsp_npy_read_matrix(const char *path, lsp_array *arr, const float **view,
                        float **owned, size_t *rows, size_t *cols);
/* The checks and float32 view of lsp_npy_read_matrix for an array read
 * already (path names it in messages); arr is released on failure. */
int lsp_array_matrix(const char *path, lsp_array *arr, const float **view, float **owned,
                     size_t *rows, size_t *cols);

#endif
