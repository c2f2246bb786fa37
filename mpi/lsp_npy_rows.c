/* lsp_npy_rows.c — a .npy file read row range by row range (lsp_npy_rows.h). */
#define _POSIX_C_SOURCE 200809L
#include "mpi/lsp_npy_rows.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
  f->fd = -1;
  f->path = path;
  int fd = open(path, O_RDONLY);
  if (fd < 0) return lsp_fail(LSP_EIO, "%s: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || S_ISDIR(sb.st_mode)) {
    int e = errno;
    close(fd);
    return S_ISDIR(sb.st_mode)
               ? lsp_fail(LSP_EIO, "%s: is a directory, expected a .npy file", path)
               : lsp_fail(LSP_EIO, "%s: %s", path, strerror(e));
  }
  size_t fsize = (size_t)sb.st_size;
  unsigned char pre[12];
  ssize_t r = pread(fd, pre, sizeof pre, 0);
  if (r < 10) {
    close(fd);
    return lsp_fail(LSP_EDATA, "%s: not a .npy file (%s)", path,
                    r <= 0 ? "empty" : "truncated header");
  }
  size_t hlen = pre[6] == 1 ? ((size_t)pre[8] | ((size_t)pre[9] << 8))
                            : ((size_t)pre[8] | ((size_t)pre[9] << 8) |
                               ((size_t)pre[10] << 16) | ((size_t)pre[11] << 24));
  size_t want = 12 + (hlen < ((size_t)1 << 24) ? hlen : 0);
  if (want > fsize) want = fsize;
  unsigned char *hbuf = malloc(want);
  if (!hbuf) {
    close(fd);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  }
  int st = read_at(fd, hbuf, want, 0, path);
  if (!st) st = lsp_npy_parse_header(hbuf, want, path, &f->meta, &f->offset);
  free(hbuf);
  if (st) {
    close(fd);
    return st;
  }
  size_t es = lsp_dtype_size(f->meta.dtype);
  size_t nbytes = f->meta.count * es;
  if (fsize < f->offset || fsize - f->offset != nbytes) {
    close(fd);
    return lsp_fail(LSP_EDATA, "%s: the header says %zu data bytes, the file has %zu", path,
                    nbytes, fsize > f->offset ? fsize - f->offset : 0);
  }
  f->row_bytes = es;
  for (int d = 1; d < f->meta.ndim; d++) f->row_bytes *= f->meta.shape[d];
  f->fd = fd;
  return LSP_OK;
}

int lsp_npy_rows_read(const lsp_npy_rows *f, size_t row, size_t n, void *buf) {
  return read_at(f->fd, buf, n * f->row_bytes, f->offset + row * f->row_bytes, f->path);
}

void lsp_npy_rows_close(lsp_npy_rows *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
}
