/* lsp_npy_rows.h — rows of a .npy file read by byte range (DESIGN §10).
 *
 * A streaming pass (`calib --stream`; an MPI rank, its own rows) reads a
 * prediction file chunk by chunk: the header is checked as lsp_npy_read
 * checks it (lsp_npy_open: the same messages; the file must be exactly as
 * long as its header says) and rows are read with pread at offset +
 * row·(row bytes) into the caller's buffer, never mapping or copying the
 * whole file. A pipe cannot be read by offset: it is read whole when opened
 * (lsp_npy_open) and rows are copied from memory. */
#ifndef LSP_NPY_ROWS_H
#define LSP_NPY_ROWS_H

#include <stddef.h>

#include "core/formats/lsp_npy.h"

typedef struct {
  lsp_array meta;   /* dtype, ndim, shape, count; data NULL (a pipe: the array) */
  size_t offset;    /* byte offset of element 0 */
  size_t row_bytes; /* bytes per row: product of shape[1..] × element size */
  int fd;           /* open descriptor, or -1 */
  const char *path; /* borrowed, for messages */
} lsp_npy_rows;

/* Open `path` and check its header and length (lsp_npy_open). On failure
 * f->fd is -1. */
int lsp_npy_rows_open(const char *path, lsp_npy_rows *f);
/* Read rows [row, row + n) into buf (n·row_bytes bytes). LSP_EIO names the
 * file on a short read. */
int lsp_npy_rows_read(const lsp_npy_rows *f, size_t row, size_t n, void *buf);
/* Close and release (safe on a closed or never-opened file with fd = -1). */
void lsp_npy_rows_close(lsp_npy_rows *f);

#endif
