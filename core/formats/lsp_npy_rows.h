/* lsp_npy_rows.h — rows of a .npy file read by byte range (DESIGN §10).
 *
 * A streaming pass (`calib --stream`; an MPI rank, its own rows) reads a
 * prediction file chunk by chunk: the header is checked as lsp_npy_read
 * checks it (lsp_npy_open: the same messages; the file must be exactly as
 * long as its header says) and rows are read with pread at offset +
 * row·(row bytes) into the caller's buffer, never mapping or copying the
 * whole file. A pipe (`-`, /dev/stdin, a shell's <(…)) is read front to
 * back instead: each read continues where the last ended (or skips rows
 * forward), and the last range read is kept, so that a range read again
 * from its start (a check of the first rows, then the pass from row 0) is
 * served from it; going further back is refused. The stream must end with
 * the last row. Memory: the last range, not the array. */
#ifndef LSP_NPY_ROWS_H
#define LSP_NPY_ROWS_H

#include <stddef.h>

#include "core/formats/lsp_npy.h"

typedef struct {
  lsp_array meta;   /* dtype, ndim, shape, count; data NULL */
  size_t offset;    /* byte offset of element 0 */
  size_t row_bytes; /* bytes per row: product of shape[1..] × element size */
  int fd;           /* open descriptor, or -1 */
  const char *path; /* borrowed, for messages */
  /* a pipe (pipe = 1): the next row it delivers, and the last range read,
   * rows [kept0, kept0 + kept_n) in kept (room for kept_cap rows) */
  int pipe;
  size_t next, kept0, kept_n, kept_cap;
  unsigned char *kept;
} lsp_npy_rows;

/* Open `path` and check its header (and a file's length, lsp_npy_open). On
 * failure f->fd is -1. */
int lsp_npy_rows_open(const char *path, lsp_npy_rows *f);
/* Read rows [row, row + n) into buf (n·row_bytes bytes). LSP_EIO names the
 * file on a short read; a pipe's end, short or long, is LSP_EDATA with
 * lsp_npy_read's message, and a range before the kept one LSP_EINVAL. */
int lsp_npy_rows_read(lsp_npy_rows *f, size_t row, size_t n, void *buf);
/* n rows held in buf (as read by lsp_npy_rows_read) as an array of the
 * file's type and row shape, for the checks and messages of whole arrays;
 * buf is borrowed. */
lsp_array lsp_npy_rows_view(const lsp_npy_rows *f, void *buf, size_t n);
/* Close and release (safe on a closed or never-opened file with fd = -1). */
void lsp_npy_rows_close(lsp_npy_rows *f);

#endif
