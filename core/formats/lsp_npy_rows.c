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
  int st = lsp_npy_open(path, &f->meta, &f->offset, &f->fd, &f->pipe);
  if (st) return st;
  f->row_bytes = lsp_dtype_size(f->meta.dtype);
  for (int d = 1; d < f->meta.ndim; d++) f->row_bytes *= f->meta.shape[d];
  return LSP_OK;
}

/* Rows [row, row + n) of a pipe: the part in the kept range copied, the
 * rest read from the stream (rows before it skipped), then kept. */
static int pipe_rows(lsp_npy_rows *f, size_t row, size_t n, unsigned char *buf) {
  const size_t rb = f->row_bytes, rows = f->meta.ndim > 0 ? f->meta.shape[0] : 1;
  const size_t total = rows * rb, kend = f->kept0 + f->kept_n;
  size_t from = row; /* the first row not yet in buf */
  if (row >= f->kept0 && row < kend) {
    const size_t m = kend - row < n ? kend - row : n;
    memcpy(buf, f->kept + (row - f->kept0) * rb, m * rb);
    from = row + m;
  }
  if (from == row + n) return LSP_OK;
  if (from < f->next)
    return lsp_fail(LSP_EINVAL, "%s: rows from %zu asked for again: a pipe is read once, front to back",
                    f->path, from);
  unsigned char skip[4096];
  for (size_t at = f->next * rb; at < from * rb;) { /* rows skipped */
    const size_t m = from * rb - at < sizeof skip ? from * rb - at : sizeof skip;
    int st = lsp_npy_stream_take(f->fd, f->path, skip, m, at, total);
    if (st) return st;
    at += m;
  }
  int st = lsp_npy_stream_take(f->fd, f->path, buf + (from - row) * rb, (row + n - from) * rb,
                               from * rb, total);
  if (st) return st;
  f->next = row + n;
  if (f->next == rows && (st = lsp_npy_stream_end(f->fd, f->path))) return st;
  if (n > f->kept_cap) { /* keep this range */
    unsigned char *k = realloc(f->kept, n * rb > 0 ? n * rb : 1);
    if (!k) return lsp_fail(LSP_ENOMEM, "%s: out of memory for %zu rows", f->path, n);
    f->kept = k, f->kept_cap = n;
  }
  memcpy(f->kept, buf, n * rb);
  f->kept0 = row, f->kept_n = n;
  return LSP_OK;
}

int lsp_npy_rows_read(lsp_npy_rows *f, size_t row, size_t n, void *buf) {
  const size_t rows = f->meta.ndim > 0 ? f->meta.shape[0] : 1;
  if (row > rows || n > rows - row)
    return lsp_fail(LSP_EIO, "%s: rows [%zu, %zu) past the array's %zu", f->path, row, row + n,
                    rows);
  if (f->pipe) return pipe_rows(f, row, n, buf);
  return read_at(f->fd, buf, n * f->row_bytes, f->offset + row * f->row_bytes, f->path);
}

void lsp_npy_rows_close(lsp_npy_rows *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
  free(f->kept);
  f->kept = NULL;
  f->kept_cap = f->kept_n = 0;
}

lsp_array lsp_npy_rows_view(const lsp_npy_rows *f, void *buf, size_t n) {
  lsp_array a = f->meta;
  a.shape[0] = n;
  a.count = n;
  for (int d = 1; d < a.ndim; d++) a.count *= a.shape[d];
  a.data = buf;
  return a;
}
