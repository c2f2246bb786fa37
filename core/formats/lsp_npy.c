#define _POSIX_C_SOURCE 200809L
#include "core/formats/lsp_npy.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"
#include "core/base/lsp_io.h"
#include "core/formats/lsp_arraycheck.h"

static const unsigned char k_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

size_t lsp_dtype_size(lsp_dtype dt) {
  switch (dt) {
    case LSP_DT_F32: return 4;
    case LSP_DT_F64: return 8;
    case LSP_DT_I32: return 4;
    case LSP_DT_I64: return 8;
    case LSP_DT_U8: return 1;
  }
  return 0;
}

const char *lsp_dtype_name(lsp_dtype dt) {
  switch (dt) {
    case LSP_DT_F32: return "float32";
    case LSP_DT_F64: return "float64";
    case LSP_DT_I32: return "int32";
    case LSP_DT_I64: return "int64";
    case LSP_DT_U8: return "uint8";
  }
  return "?";
}

static const char *dtype_descr(lsp_dtype dt) {
  switch (dt) {
    case LSP_DT_F32: return "<f4";
    case LSP_DT_F64: return "<f8";
    case LSP_DT_I32: return "<i4";
    case LSP_DT_I64: return "<i8";
    case LSP_DT_U8: return "|u1";
  }
  return "?";
}

/* ---- header dictionary parser ---------------------------------------------
 * The header is a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (1024, 10), }
 * parsed strictly: exactly the three keys, each once. */

typedef struct {
  const char *s;
  size_t n, i;
} cursor;

static void skip_ws(cursor *c) {
  while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' ||
                         c->s[c->i] == '\n' || c->s[c->i] == '\r'))
    c->i++;
}

static int take(cursor *c, char ch) {
  skip_ws(c);
  if (c->i < c->n && c->s[c->i] == ch) {
    c->i++;
    return 1;
  }
  return 0;
}

/* A quoted string into buf (truncated to cap-1); 0 if none. */
static int take_string(cursor *c, char *buf, size_t cap) {
  skip_ws(c);
  if (c->i >= c->n || (c->s[c->i] != '\'' && c->s[c->i] != '"')) return 0;
  char q = c->s[c->i++];
  size_t k = 0;
  while (c->i < c->n && c->s[c->i] != q) {
    if (k + 1 < cap) buf[k++] = c->s[c->i];
    c->i++;
  }
  if (c->i >= c->n) return 0;
  c->i++;
  buf[k] = '\0';
  return 1;
}

static int take_word(cursor *c, const char *w) {
  skip_ws(c);
  size_t len = strlen(w);
  if (c->n - c->i >= len && memcmp(c->s + c->i, w, len) == 0) {
    c->i += len;
    return 1;
  }
  return 0;
}

static int parse_dict(const char *s, size_t n, const char *path,
                      lsp_array *out) {
  cursor c = {s, n, 0};
  int have_descr = 0, have_fortran = 0, have_shape = 0;
  char descr[32] = "";
  if (!take(&c, '{'))
    return lsp_fail(LSP_EDATA, "%s: malformed .npy header (no '{')", path);
  for (;;) {
    if (take(&c, '}')) break;
    char key[32];
    if (!take_string(&c, key, sizeof key))
      return lsp_fail(LSP_EDATA, "%s: malformed .npy header (expected a key)",
                      path);
    if (!take(&c, ':'))
      return lsp_fail(LSP_EDATA, "%s: malformed .npy header (expected ':')",
                      path);
    if (strcmp(key, "descr") == 0 && !have_descr) {
      if (!take_string(&c, descr, sizeof descr))
        return lsp_fail(LSP_EDATA, "%s: malformed .npy header (descr)", path);
      have_descr = 1;
    } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
      if (take_word(&c, "True"))
        return lsp_fail(LSP_EDATA,
                        "%s: Fortran-order arrays are not supported "
                        "(save with numpy.ascontiguousarray)",
                        path);
      if (!take_word(&c, "False"))
        return lsp_fail(LSP_EDATA,
                        "%s: malformed .npy header (fortran_order)", path);
      have_fortran = 1;
    } else if (strcmp(key, "shape") == 0 && !have_shape) {
      if (!take(&c, '('))
        return lsp_fail(LSP_EDATA, "%s: malformed .npy header (shape)", path);
      out->ndim = 0;
      for (;;) {
        if (take(&c, ')')) break;
        skip_ws(&c);
        if (c.i >= c.n || c.s[c.i] < '0' || c.s[c.i] > '9') {
          if (c.i < c.n && c.s[c.i] == '-')
            return lsp_fail(LSP_EDATA, "%s: negative dimension in shape",
                            path);
          return lsp_fail(LSP_EDATA, "%s: malformed .npy header (shape)",
                          path);
        }
        unsigned long long v = 0;
        while (c.i < c.n && c.s[c.i] >= '0' && c.s[c.i] <= '9') {
          if (v > (1ull << 48))
            return lsp_fail(LSP_EDATA, "%s: absurd dimension in shape", path);
          v = v * 10 + (unsigned)(c.s[c.i++] - '0');
        }
        if (out->ndim >= LSP_NPY_MAXDIM)
          return lsp_fail(LSP_EDATA, "%s: more than %d dimensions", path,
                          LSP_NPY_MAXDIM);
        out->shape[out->ndim++] = (size_t)v;
        if (!take(&c, ',')) {
          if (!take(&c, ')'))
            return lsp_fail(LSP_EDATA, "%s: malformed .npy header (shape)",
                            path);
          break;
        }
      }
      have_shape = 1;
    } else {
      return lsp_fail(LSP_EDATA, "%s: unexpected or repeated key '%s' in .npy header",
                      path, key);
    }
    if (!take(&c, ',')) {
      if (!take(&c, '}'))
        return lsp_fail(LSP_EDATA, "%s: malformed .npy header (expected ',')",
                        path);
      break;
    }
  }
  if (!have_descr || !have_fortran || !have_shape)
    return lsp_fail(LSP_EDATA, "%s: .npy header lacks %s", path,
                    !have_descr ? "'descr'" : !have_fortran ? "'fortran_order'"
                                                            : "'shape'");
  /* dtype */
  static const struct {
    const char *d;
    lsp_dtype t;
  } known[] = {{"<f4", LSP_DT_F32}, {"<f8", LSP_DT_F64}, {"<i4", LSP_DT_I32},
               {"<i8", LSP_DT_I64}, {"|u1", LSP_DT_U8},  {"<u1", LSP_DT_U8},
               {"u1", LSP_DT_U8},   {"=f4", LSP_DT_F32}, {"=f8", LSP_DT_F64},
               {"=i4", LSP_DT_I32}, {"=i8", LSP_DT_I64}};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(descr, known[i].d) == 0) {
      out->dtype = known[i].t;
      goto dtype_ok;
    }
  if (descr[0] == '>' && strlen(descr) > 1 && descr[1] != 'u')
    return lsp_fail(LSP_EDATA,
                    "%s: big-endian data ('%s') is not supported; "
                    "convert with arr.astype(arr.dtype.newbyteorder('<'))",
                    path, descr);
  return lsp_fail(LSP_EDATA,
                  "%s: unsupported dtype '%s' (supported: <f4 <f8 <i4 <i8 |u1)",
                  path, descr);
dtype_ok:;
  size_t count = 1, esz = lsp_dtype_size(out->dtype);
  for (int d = 0; d < out->ndim; d++) {
    if (out->shape[d] != 0 && count > (SIZE_MAX / esz) / out->shape[d])
      return lsp_fail(LSP_EDATA, "%s: shape is too large", path);
    count *= out->shape[d];
  }
  out->count = count;
  return LSP_OK;
}

/* What a file that is not a .npy is, from its first bytes, where it is a
 * format arrays are often saved in by mistake. */
static const char *not_npy(const unsigned char *buf, size_t len) {
  if (len >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0)
    return "a zip archive: a .npz from np.savez, or a PyTorch .pt; save each array with np.save";
  if (len >= 2 && buf[0] == 0x80 && buf[1] >= 2 && buf[1] <= 5)
    return "a Python pickle, from pickle.dump or an old torch.save; save the array with np.save";
  if (len >= 4 && memcmp(buf, "\x89HDF", 4) == 0)
    return "an HDF5 file; save the array with np.save";
  return "bad magic";
}

int lsp_npy_parse_header(const unsigned char *buf, size_t len,
                         const char *path, lsp_array *out, size_t *offset) {
  memset(out, 0, sizeof *out);
  if (len == 0) return lsp_fail(LSP_EDATA, "%s: not a .npy file (empty)", path);
  if (memcmp(buf, k_magic, len < 6 ? len : 6) != 0)
    return lsp_fail(LSP_EDATA, "%s: not a .npy file (%s)", path, not_npy(buf, len));
  if (len < 10) return lsp_fail(LSP_EDATA, "%s: truncated .npy header", path);
  unsigned major = buf[6];
  size_t hlen, pre;
  if (major == 1) {
    hlen = (size_t)buf[8] | ((size_t)buf[9] << 8);
    pre = 10;
  } else if (major == 2 || major == 3) {
    if (len < 12)
      return lsp_fail(LSP_EDATA, "%s: truncated .npy header", path);
    hlen = (size_t)buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) |
           ((size_t)buf[11] << 24);
    pre = 12;
  } else {
    return lsp_fail(LSP_EDATA, "%s: unsupported .npy format version %u.%u",
                    path, major, (unsigned)buf[7]);
  }
  if (hlen > ((size_t)1 << 24))
    return lsp_fail(LSP_EDATA, "%s: absurd .npy header length %zu", path,
                    hlen);
  if (len < pre + hlen)
    return lsp_fail(LSP_EDATA, "%s: truncated .npy header", path);
  int st = parse_dict((const char *)buf + pre, hlen, path, out);
  if (st) return st;
  *offset = pre + hlen;
  return LSP_OK;
}

void lsp_array_release(lsp_array *a) {
  if (!a) return;
  free(a->heap);
  memset(a, 0, sizeof *a);
}

int lsp_npy_open(const char *path, lsp_array *out, size_t *offset_out, int *fd_out,
                 int *pipe_out) {
  memset(out, 0, sizeof *out);
  *fd_out = -1;
  *pipe_out = 0;
  /* "-": standard input (a pipe or a redirected file), named "-" in messages */
  int fd = open(strcmp(path, "-") == 0 ? "/dev/stdin" : path, O_RDONLY);
  if (fd < 0) return lsp_fail(LSP_EIO, "%s: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return lsp_fail(LSP_EIO, "%s: %s", path, strerror(e));
  }
  if (S_ISDIR(sb.st_mode)) {
    close(fd);
    return lsp_fail(LSP_EIO, "%s: is a directory, expected a .npy file", path);
  }
  if (!S_ISREG(sb.st_mode)) { /* a pipe: its header now, its data front to back */
    int st = lsp_npy_stream_header(fd, path, out, offset_out);
    if (st) {
      close(fd);
      return st;
    }
    *fd_out = fd;
    *pipe_out = 1;
    return LSP_OK;
  }
  size_t fsize = (size_t)sb.st_size;
  /* Read the fixed prefix and the header. */
  unsigned char pre[12];
  ssize_t r = pread(fd, pre, sizeof pre, 0);
  if (r < 10) { /* the parser's message for a short prefix */
    close(fd);
    if (r < 0) return lsp_fail(LSP_EIO, "%s: read error: %s", path, strerror(errno));
    return lsp_npy_parse_header(pre, (size_t)r, path, out, offset_out);
  }
  size_t hlen = pre[6] == 1 ? ((size_t)pre[8] | ((size_t)pre[9] << 8))
                            : ((size_t)pre[8] | ((size_t)pre[9] << 8) |
                               ((size_t)pre[10] << 16) | ((size_t)pre[11] << 24));
  size_t want = 12 + (hlen < ((size_t)1 << 24) ? hlen : 0);
  if (want > fsize) want = fsize;
  unsigned char *hbuf = malloc(want ? want : 1);
  if (!hbuf) {
    close(fd);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  }
  r = pread(fd, hbuf, want, 0);
  if (r < 0 || (size_t)r != want) {
    free(hbuf);
    close(fd);
    return lsp_fail(LSP_EIO, "%s: read error", path);
  }
  size_t offset = 0;
  lsp_array a;
  int st = lsp_npy_parse_header(hbuf, want, path, &a, &offset);
  free(hbuf);
  if (st) {
    close(fd);
    return st;
  }
  size_t nbytes = a.count * lsp_dtype_size(a.dtype);
  if (fsize < offset || fsize - offset < nbytes) {
    close(fd);
    return lsp_fail(LSP_EDATA,
                    "%s: truncated data (header says %zu bytes, file has %zu)",
                    path, nbytes, fsize > offset ? fsize - offset : 0);
  }
  if (fsize - offset > nbytes) {
    close(fd);
    return lsp_fail(LSP_EDATA,
                    "%s: %zu unexpected bytes after the data the header "
                    "describes",
                    path, fsize - offset - nbytes);
  }
  *out = a;
  *offset_out = offset;
  *fd_out = fd;
  return LSP_OK;
}

int lsp_npy_read(const char *path, lsp_array *out) {
  lsp_array a;
  size_t offset;
  int fd, pipe;
  int st = lsp_npy_open(path, &a, &offset, &fd, &pipe);
  memset(out, 0, sizeof *out);
  if (st) return st;
  if (pipe) {
    st = lsp_npy_stream_data(fd, path, &a);
    close(fd);
    if (!st) *out = a;
    return st;
  }
  const size_t nbytes = a.count * lsp_dtype_size(a.dtype);
  ssize_t r;
  /* Read, not mapped: on a virtual machine where the first touch of each
   * mapped 4 KB page is costly, `lsprobe calib` on 80 MB of logits took
   * 16–21% less wall time reading them into a buffer on transparent huge
   * pages (medians of 8–10 interleaved runs, a file just written and one
   * cached for an hour; DESIGN §2). */
  a.heap = lsp_alloc_huge(nbytes);
  if (!a.heap) {
    close(fd);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory (%zu bytes)", path, nbytes);
  }
  size_t got = 0;
  while (got < nbytes) {
    r = pread(fd, (char *)a.heap + got, nbytes - got, (off_t)(offset + got));
    if (r <= 0) {
      free(a.heap);
      close(fd);
      return lsp_fail(LSP_EIO, "%s: read error", path);
    }
    got += (size_t)r;
  }
  close(fd);
  a.data = a.heap;
  *out = a;
  return LSP_OK;
}

int lsp_npy_write_to(lsp_outfile *o, lsp_dtype dt, int ndim, const size_t *shape,
                     const void *data) {
  if (ndim < 0 || ndim > LSP_NPY_MAXDIM) {
    int st = lsp_fail(LSP_EINVAL, "%s: cannot write %d dimensions", o->path, ndim);
    lsp_out_abort(o);
    return st;
  }
  char dict[512];
  int len = snprintf(dict, sizeof dict,
                     "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtype_descr(dt));
  size_t count = 1;
  for (int d = 0; d < ndim; d++) {
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%zu%s", shape[d],
                    (ndim == 1 || d + 1 < ndim) ? ", " : "");
    count *= shape[d];
  }
  /* numpy writes "(n,)" for 1-D and "(a, b)" otherwise */
  if (ndim == 1) len -= 1;
  len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
  /* pad so that 10 + header length is a multiple of 64; end with '\n' */
  size_t total = 10 + (size_t)len + 1;
  size_t pad = (64 - total % 64) % 64;
  size_t hlen = (size_t)len + pad + 1;
  size_t nbytes = count * lsp_dtype_size(dt);
  unsigned char head[10 + 600];
  memcpy(head, k_magic, 6);
  head[6] = 1;
  head[7] = 0;
  head[8] = (unsigned char)(hlen & 0xff);
  head[9] = (unsigned char)(hlen >> 8);
  memcpy(head + 10, dict, (size_t)len);
  memset(head + 10 + len, ' ', pad);
  head[10 + hlen - 1] = '\n';

  if (fwrite(head, 1, 10 + hlen, o->fp) != 10 + hlen ||
      (nbytes && fwrite(data, 1, nbytes, o->fp) != nbytes))
    return lsp_out_write_failed(o);
  return LSP_OK;
}

int lsp_npy_write(const char *path, lsp_dtype dt, int ndim,
                  const size_t *shape, const void *data) {
  if (ndim < 0 || ndim > LSP_NPY_MAXDIM)
    return lsp_fail(LSP_EINVAL, "%s: cannot write %d dimensions", path, ndim);
  lsp_outfile o;
  int st = lsp_out_open(&o, path);
  if (!st) st = lsp_npy_write_to(&o, dt, ndim, shape, data);
  return st ? st : lsp_out_commit(&o);
}

void lsp_array_where(const lsp_array *a, size_t i, char *buf, size_t len) {
  if (a->ndim < 2) {
    snprintf(buf, len, "index %zu", i);
    return;
  }
  size_t row = a->count / a->shape[0]; /* elements a row; shape[0] > 0 */
  if (a->ndim == 2) {
    snprintf(buf, len, "row %zu, column %zu", i / row, i % row);
    return;
  }
  size_t n = (size_t)snprintf(buf, len, "row %zu, element [", i / row);
  size_t rest = i % row, idx[LSP_NPY_MAXDIM];
  for (int d = a->ndim - 1; d >= 1; d--) {
    idx[d] = rest % a->shape[d];
    rest /= a->shape[d];
  }
  for (int d = 1; d < a->ndim && n < len; d++)
    n += (size_t)snprintf(buf + n, len - n, "%s%zu", d > 1 ? ", " : "", idx[d]);
  if (n < len) snprintf(buf + n, len - n, "]");
}

int lsp_array_f32(const lsp_array *a, const char *path, int require_finite,
                  const float **view, float **owned) {
  *view = NULL;
  *owned = NULL;
  float *buf = NULL;
  const float *v;
  if (a->dtype == LSP_DT_F32) {
    v = a->data;
  } else {
    buf = malloc(a->count ? a->count * sizeof(float) : 1);
    if (!buf) return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < a->count; i++) {
      switch (a->dtype) {
        case LSP_DT_F64: {
          double x = ((const double *)a->data)[i];
          if (isfinite(x) && fabs(x) > 3.4028234663852886e38) {
            char where[160];
            lsp_array_where(a, i, where, sizeof where);
            free(buf);
            return lsp_fail(LSP_EDATA, "%s: value %g at %s does not fit float32",
                            path, x, where);
          }
          buf[i] = (float)x;
          break;
        }
        case LSP_DT_I32: buf[i] = (float)((const int32_t *)a->data)[i]; break;
        case LSP_DT_I64: buf[i] = (float)((const int64_t *)a->data)[i]; break;
        case LSP_DT_U8: buf[i] = (float)((const uint8_t *)a->data)[i]; break;
        default: buf[i] = 0; break;
      }
    }
    v = buf;
  }
  if (require_finite) {
    /* blocks with no NaN or infinity (all exponent bits set) pass by a
     * branch-free, vectorizable test; the first block holding one is
     * searched for the message */
    size_t i0 = 0;
    for (; i0 < a->count; i0 += 4096) {
      const size_t e = a->count - i0 < 4096 ? a->count - i0 : 4096;
      uint32_t bad = 0;
      for (size_t i = 0; i < e; i++) {
        uint32_t u;
        memcpy(&u, v + i0 + i, sizeof u);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
      }
      if (bad) break;
    }
    for (size_t i = i0; i < a->count; i++)
      if (!isfinite(v[i])) {
        char where[160];
        lsp_array_where(a, i, where, sizeof where);
        lsp_fail(LSP_EDATA, "%s: non-finite value (%g) at %s%s", path,
                 (double)v[i], where, lsp_nonfinite_hint((double)v[i]));
        free(buf);
        return LSP_EDATA;
      }
  }
  *view = v;
  *owned = buf;
  return LSP_OK;
}

int lsp_npy_read_matrix(const char *path, lsp_array *arr, const float **view,
                        float **owned, size_t *rows, size_t *cols) {
  *view = NULL;
  *owned = NULL;
  int st = lsp_npy_read(path, arr);
  if (st) return st;
  return lsp_array_matrix(path, arr, view, owned, rows, cols);
}

int lsp_array_matrix(const char *path, lsp_array *arr, const float **view, float **owned,
                     size_t *rows, size_t *cols) {
  int st;
  *view = NULL;
  *owned = NULL;
  if (arr->ndim != 2) {
    st = lsp_fail(LSP_EDATA, "%s: expected a 2-D array (rows x columns), got %d dimensions",
                  path, arr->ndim);
    lsp_array_release(arr);
    return st;
  }
  if (arr->shape[0] == 0 || arr->shape[1] == 0) {
    st = lsp_fail(LSP_EDATA, "%s: empty array (%zu x %zu)", path,
                  arr->shape[0], arr->shape[1]);
    lsp_array_release(arr);
    return st;
  }
  st = lsp_array_f32(arr, path, 1, view, owned);
  if (st) {
    lsp_array_release(arr);
    return st;
  }
  *rows = arr->shape[0];
  *cols = arr->shape[1];
  return LSP_OK;
}
