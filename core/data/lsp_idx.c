/* lsp_idx.c — IDX files (LeCun's MNIST format, used by Fashion-MNIST).
 *
 * Layout: a 4-byte magic {0, 0, type, ndims}, then ndims big-endian uint32
 * extents, then the elements in C order. Only type 0x08 (unsigned byte) is
 * used by image data sets and only it is accepted. zlib's gz* functions read
 * gzip and plain files alike, so one code path serves `*-ubyte` and
 * `*-ubyte.gz`. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/data/lsp_data.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

/* zlib's message without the "path: " prefix it adds to it. */
static const char *gz_why(gzFile f, const char *path, int *errnum) {
  const char *msg = gzerror(f, errnum);
  if (*errnum == Z_ERRNO) return strerror(errno);
  size_t n = strlen(path);
  if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
    msg += n + 2;
  return msg;
}

/* Read up to len bytes; returns the count read (short only at the end of the
 * data), or -1 after recording the error: LSP_EDATA for a corrupt gzip
 * stream, LSP_EIO for a failed read (*st). gzread takes an unsigned int
 * length, so large requests go in chunks. */
static long long gz_read_all(gzFile f, const char *path, void *buf, size_t len,
                             int *st) {
  size_t got = 0;
  int errnum = Z_OK;
  while (got < len) {
    size_t want = len - got;
    if (want > ((size_t)1 << 30)) want = (size_t)1 << 30;
    int r = gzread(f, (unsigned char *)buf + got, (unsigned)want);
    if (r <= 0) break;
    got += (size_t)r;
  }
  /* A gzip stream cut short reads as end-of-file with Z_BUF_ERROR set: that
   * is reported by the caller as truncation. */
  const char *why = gz_why(f, path, &errnum);
  if (errnum == Z_OK || errnum == Z_BUF_ERROR) return (long long)got;
  if (errnum == Z_DATA_ERROR)
    *st = lsp_fail(LSP_EDATA, "%s: corrupt gzip data (%s)", path, why);
  else
    *st = lsp_fail(LSP_EIO, "%s: %s", path, why);
  return -1;
}

int lsp_idx_read(const char *path, uint8_t **data, size_t *dims, int *ndims) {
  *data = NULL;
  *ndims = 0;
  struct stat sb;
  if (stat(path, &sb) != 0)
    return lsp_fail(LSP_EIO, "%s: %s", path, strerror(errno));
  if (S_ISDIR(sb.st_mode))
    return lsp_fail(LSP_EIO, "%s: is a directory, expected an IDX file", path);
  gzFile f = gzopen(path, "rb");
  if (!f) return lsp_fail(LSP_EIO, "%s: %s", path, strerror(errno));
  gzbuffer(f, 1u << 18);

  int st = LSP_OK;
  uint8_t *buf = NULL;
  unsigned char head[4 + 4 * LSP_IDX_MAXDIM];
  long long r = gz_read_all(f, path, head, 4, &st);
  if (r < 0) goto done;
  if (r < 4) {
    st = lsp_fail(LSP_EDATA, "%s: truncated IDX header (%lld of 4 bytes)", path,
                  r);
    goto done;
  }
  if (head[0] != 0 || head[1] != 0) {
    st = lsp_fail(LSP_EDATA,
                  "%s: not an IDX file (magic %02x%02x%02x%02x, expected "
                  "0000080N)",
                  path, head[0], head[1], head[2], head[3]);
    goto done;
  }
  if (head[2] != 0x08) {
    st = lsp_fail(LSP_EDATA,
                  "%s: IDX data type 0x%02x not supported (only unsigned "
                  "byte, 0x08)",
                  path, head[2]);
    goto done;
  }
  int nd = head[3];
  if (nd < 1 || nd > LSP_IDX_MAXDIM) {
    st = lsp_fail(LSP_EDATA,
                  "%s: IDX file with %d dimensions (1 to %d "
                  "supported)",
                  path, nd, LSP_IDX_MAXDIM);
    goto done;
  }
  r = gz_read_all(f, path, head + 4, 4 * (size_t)nd, &st);
  if (r < 0) goto done;
  if (r < 4 * nd) {
    st = lsp_fail(LSP_EDATA, "%s: truncated IDX header", path);
    goto done;
  }
  size_t total = 1;
  for (int i = 0; i < nd; i++) {
    const unsigned char *p = head + 4 + 4 * i;
    size_t d = ((size_t)p[0] << 24) | ((size_t)p[1] << 16) |
               ((size_t)p[2] << 8) | (size_t)p[3];
    if (d > LSP_IDX_MAXEXT || (d == 0 && i > 0)) {
      st = lsp_fail(LSP_EDATA, "%s: IDX dimension %d is %zu (must be 1 to %zu)",
                    path, i, d, LSP_IDX_MAXEXT);
      goto done;
    }
    dims[i] = d;
    /* Each factor is at most 2^24, so test before multiplying. */
    if (d > 0 && total > LSP_IDX_MAXBYTES / d) {
      st = lsp_fail(LSP_EDATA, "%s: IDX data larger than %zu bytes", path,
                    LSP_IDX_MAXBYTES);
      goto done;
    }
    total *= d;
  }
  /* Grow the buffer as data actually arrives (16 MiB, then doubling) rather
   * than trusting the header: a few bytes claiming gigabytes fail as
   * truncated without a gigabyte allocation. On huge pages (lsp_alloc_huge:
   * Fashion-MNIST's 47 MB of training images took 11500 first touches of
   * 4 KB pages, a third of the time of reading the files), grown by copy. */
  size_t cap = total < ((size_t)1 << 24) ? total : ((size_t)1 << 24), got = 0;
  buf = lsp_alloc_huge(cap ? cap : 1);
  if (!buf) {
    st = lsp_fail(LSP_ENOMEM, "%s: out of memory for %zu bytes", path, cap);
    goto done;
  }
  for (;;) {
    r = gz_read_all(f, path, buf + got, cap - got, &st);
    if (r < 0) goto done;
    got += (size_t)r;
    if (got < cap || cap == total) break; /* end of the stream, or all read */
    size_t ncap = cap > total / 2 ? total : 2 * cap;
    unsigned char *nb = lsp_alloc_huge(ncap);
    if (!nb) {
      st = lsp_fail(LSP_ENOMEM, "%s: out of memory for %zu bytes", path, ncap);
      goto done;
    }
    memcpy(nb, buf, got);
    free(buf);
    buf = nb;
    cap = ncap;
  }
  if (got < total) {
    st = lsp_fail(LSP_EDATA, "%s: truncated: %zu of %zu data bytes", path, got,
                  total);
    goto done;
  }
  unsigned char extra;
  r = gz_read_all(f, path, &extra, 1, &st);
  if (r < 0) goto done;
  if (r > 0) {
    st = lsp_fail(LSP_EDATA,
                  "%s: trailing data after the %zu bytes the IDX "
                  "header announces",
                  path, total);
    goto done;
  }
  *data = buf;
  *ndims = nd;
  buf = NULL;
done:
  free(buf);
  gzclose(f);
  return st;
}

/* 1 if gzread gives the same bytes from `a` and `b` (a plain file and its
 * gzip), 0 if not or if either cannot be read. */
static int same_content(const char *a, const char *b) {
  gzFile fa = gzopen(a, "rb"), fb = gzopen(b, "rb");
  enum { CHUNK = 1 << 16 };
  unsigned char *ba = malloc(CHUNK), *bb = malloc(CHUNK);
  int same = fa && fb && ba && bb;
  while (same) {
    int na = gzread(fa, ba, CHUNK), nb = gzread(fb, bb, CHUNK);
    same = na == nb && na >= 0 && memcmp(ba, bb, (size_t)(na > 0 ? na : 0)) == 0;
    if (na <= 0) break;
  }
  free(ba);
  free(bb);
  if (fa) gzclose(fa);
  if (fb) gzclose(fb);
  return same;
}

int lsp_idx_find(const char *dir, const char *base, char *out, size_t cap) {
  struct stat sb;
  int n = snprintf(out, cap, "%s/%s", dir, base);
  if (n < 0 || (size_t)n + 3 >= cap)
    return lsp_fail(LSP_EINVAL, "%s: path too long", dir);
  if (stat(out, &sb) == 0) {
    /* beside its .gz (gunzip -k) it must hold the same bytes, or which
     * one is meant cannot be told */
    char *gz = malloc((size_t)n + 4);
    if (!gz) return lsp_fail(LSP_ENOMEM, "out of memory");
    snprintf(gz, (size_t)n + 4, "%s.gz", out);
    int differ = stat(gz, &sb) == 0 && !same_content(out, gz);
    free(gz);
    if (differ)
      return lsp_fail(LSP_EDATA,
                      "%s: %s and %s.gz differ (or one cannot be read): which one is "
                      "meant cannot be told; remove the other",
                      dir, base, base);
    return LSP_OK;
  }
  strcat(out, ".gz");
  if (stat(out, &sb) == 0) return LSP_OK;
  out[n] = '\0';
  return lsp_fail(LSP_EIO, "%s: missing %s (or %s.gz)", dir, base, base);
}
