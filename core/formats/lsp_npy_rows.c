/* lsp_npy_rows.c — a .npy file read row range by row range (lsp_npy_rows.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/formats/lsp_npy_rows.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/lsp_error.h"

static int read_at(int fd, void *buf, size_t len, size_t off, const char *path) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0)
      return lsp_fail(LSP_EIO, "%s: read error at byte %zu%s%s", path, off + got,
                      r < 0 ? ": " : " (end of file)", r < 0 ? strerror(errno) : "");
    got += (size_t)r;
  }
  return LSP_OK;
}

int lsp_npy_rows_open(const char *path, lsp_npy_rows *f) {
  memset(f, 0, sizeof *f);
  f->path = path;
  int st = lsp_npy_open(path, &f->meta, &f->offset, &f->fd);
  if (st) return st;
  f->row_bytes = lsp_dtype_size(f->meta.dtype);
  for (int d = 1; d < f->meta.ndim; d++) f->row_bytes *= f->meta.shape[d];
  return LSP_OK;
}

int lsp_npy_rows_read(const lsp_npy_rows *f, size_t row, size_t n, void *buf) {
  if (f->meta.data) { /* a pipe, held in memory */
    const size_t rows = f->meta.ndim > 0 ? f->meta.shape[0] : 1;
    if (row > rows || n > rows - row)
      return lsp_fail(LSP_EIO, "%s: rows [%zu, %zu) past the array's %zu", f->path, row, row + n,
                      rows);
    memcpy(buf, (const char *)f->meta.data + row * f->row_bytes, n * f->row_bytes);
    return LSP_OK;
  }
  return read_at(f->fd, buf, n * f->row_bytes, f->offset + row * f->row_bytes, f->path);
}

void lsp_npy_rows_close(lsp_npy_rows *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
  lsp_array_release(&f->meta);
}

