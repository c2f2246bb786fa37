/* lsp_npy_stream.c — a .npy file read front to back from a descriptor that
 * cannot be read by offset: a pipe, a shell's process substitution
 * (/dev/fd/N), /dev/stdin: whole (lsp_npy_read_stream, lsp_npy_stream_data)
 * or in row ranges for lsp_npy_rows (_take, _end; lsp_npy.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/formats/lsp_npy.h"

/* The buffer for the data grows as the data arrives (a header may claim
 * more than the stream holds), doubling from this size. */
#define STREAM_FIRST ((size_t)1 << 20)
/* Bytes past the data are counted up to this many, then reported as more. */
#define STREAM_TAIL_MAX ((size_t)1 << 30)

/* Reads up to len bytes; returns how many (fewer only where the stream
 * ended), or −1 with errno set. */
static ssize_t read_full(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    const ssize_t r = read(fd, (char *)buf + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

static int read_error(const char *path) {
  return lsp_fail(LSP_EIO, "%s: read error: %s", path, strerror(errno));
}

int lsp_npy_stream_header(int fd, const char *path, lsp_array *a, size_t *offset) {
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  unsigned char pre[12];
  ssize_t r = read_full(fd, pre, 10);
  if (r < 0) return read_error(path);
  if (r < 10) return lsp_npy_parse_header(pre, (size_t)r, path, a, offset); /* its message */
  size_t pl = 10;
  if (memcmp(pre, magic, 6) == 0 && pre[6] != 1) { /* versions 2 and 3: a 4-byte length */
    if ((r = read_full(fd, pre + 10, 2)) < 0) return read_error(path);
    if (r < 2) return lsp_fail(LSP_EDATA, "%s: truncated .npy header", path);
    pl = 12;
  }
  size_t hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
  if (pl == 12) hlen |= ((size_t)pre[10] << 16) | ((size_t)pre[11] << 24);
  /* a header past the parser's bound: the parser's message from the prefix */
  if (hlen > ((size_t)1 << 24) || memcmp(pre, magic, 6) != 0)
    return lsp_npy_parse_header(pre, pl, path, a, offset);
  unsigned char *h = malloc(pl + hlen);
  if (!h) return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  memcpy(h, pre, pl);
  r = read_full(fd, h + pl, hlen);
  int st;
  if (r < 0)
    st = read_error(path);
  else if ((size_t)r < hlen)
    st = lsp_fail(LSP_EDATA, "%s: truncated .npy header", path);
  else
    st = lsp_npy_parse_header(h, pl + hlen, path, a, offset);
  free(h);
  return st;
}

int lsp_npy_stream_take(int fd, const char *path, void *buf, size_t len, size_t done,
                        size_t total) {
  const ssize_t r = read_full(fd, buf, len);
  if (r < 0) return read_error(path);
  if ((size_t)r < len)
    return lsp_fail(LSP_EDATA, "%s: truncated data (header says %zu bytes, the stream ended after %zu)",
                    path, total, done + (size_t)r);
  return LSP_OK;
}

int lsp_npy_stream_end(int fd, const char *path) {
  char tail[65536];
  size_t extra = 0;
  ssize_t r;
  while (extra <= STREAM_TAIL_MAX && (r = read_full(fd, tail, sizeof tail)) > 0) extra += (size_t)r;
  if (extra > STREAM_TAIL_MAX)
    return lsp_fail(LSP_EDATA, "%s: more than %zu unexpected bytes after the data the header describes",
                    path, STREAM_TAIL_MAX);
  if (extra > 0)
    return lsp_fail(LSP_EDATA, "%s: %zu unexpected bytes after the data the header describes", path,
                    extra);
  return LSP_OK;
}

int lsp_npy_read_stream(int fd, const char *path, lsp_array *out) {
  memset(out, 0, sizeof *out);
  lsp_array a;
  size_t offset;
  int st = lsp_npy_stream_header(fd, path, &a, &offset);
  if (!st) st = lsp_npy_stream_data(fd, path, &a);
  if (!st) *out = a;
  return st;
}

int lsp_npy_stream_data(int fd, const char *path, lsp_array *a) {
  const size_t nbytes = a->count * lsp_dtype_size(a->dtype);
  int st;
  size_t cap = nbytes < STREAM_FIRST ? nbytes : STREAM_FIRST, got = 0;
  char *buf = malloc(cap ? cap : 1);
  if (!buf) return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  for (;;) {
    const ssize_t r = read_full(fd, buf + got, cap - got);
    if (r < 0) {
      free(buf);
      return read_error(path);
    }
    got += (size_t)r;
    if (got < cap || cap == nbytes) break; /* the stream ended, or the data is in */
    const size_t next = cap > nbytes / 2 ? nbytes : 2 * cap;
    char *grown = realloc(buf, next);
    if (!grown) {
      free(buf);
      return lsp_fail(LSP_ENOMEM, "%s: out of memory (%zu bytes)", path, next);
    }
    buf = grown, cap = next;
  }
  if (got < nbytes) {
    free(buf);
    return lsp_fail(LSP_EDATA, "%s: truncated data (header says %zu bytes, the stream ended after %zu)",
                    path, nbytes, got);
  }
  if ((st = lsp_npy_stream_end(fd, path))) { /* nothing may follow the data, as in a file */
    free(buf);
    return st;
  }
  a->heap = buf;
  a->data = buf;
  return LSP_OK;
}
