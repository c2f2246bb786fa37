#define _POSIX_C_SOURCE 200809L
#include "core/base/lsp_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/base/lsp_error.h"

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* A fresh temporary name beside `path` ("<path>.tmp.XXXXXX"), created with
 * O_EXCL and mode 0666 so that the kernel applies the process's umask: the
 * umask is never read or changed here (umask() changes it for every thread
 * of the process while it is read). */
static int create_temporary(const char *path, char *tmp, size_t cap) {
  static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  static atomic_uint_fast64_t counter;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  for (int attempt = 0; attempt < 100; attempt++) {
    uint64_t z = atomic_fetch_add(&counter, 1) + ((uint64_t)getpid() << 32) +
                 (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull; /* splitmix64 finalizer */
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    char suffix[7];
    for (int i = 0; i < 6; i++, z /= 36) suffix[i] = digits[z % 36];
    suffix[6] = '\0';
    snprintf(tmp, cap, "%s.tmp.%s", path, suffix);
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

int lsp_out_open(lsp_outfile *out, const char *path) {
  out->fp = NULL;
  out->path = dup_str(path);
  size_t cap = strlen(path) + 16;
  out->tmp_path = malloc(cap);
  if (!out->path || !out->tmp_path) {
    free(out->path);
    free(out->tmp_path);
    out->path = out->tmp_path = NULL;
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  }
  int fd = create_temporary(path, out->tmp_path, cap);
  if (fd < 0) {
    int e = errno;
    free(out->path);
    free(out->tmp_path);
    out->path = out->tmp_path = NULL;
    return lsp_fail(LSP_EIO, "%s: cannot create: %s", path, strerror(e));
  }
  out->fp = fdopen(fd, "wb");
  if (!out->fp) {
    int e = errno;
    close(fd);
    unlink(out->tmp_path);
    free(out->path);
    free(out->tmp_path);
    out->path = out->tmp_path = NULL;
    return lsp_fail(LSP_EIO, "%s: cannot open: %s", path, strerror(e));
  }
  return LSP_OK;
}

void lsp_out_abort(lsp_outfile *out) {
  if (!out) return;
  if (out->fp) fclose(out->fp);
  if (out->tmp_path) unlink(out->tmp_path);
  free(out->path);
  free(out->tmp_path);
  out->fp = NULL;
  out->path = out->tmp_path = NULL;
}

int lsp_out_commit(lsp_outfile *out) {
  int st = LSP_OK;
  int bad = ferror(out->fp) != 0;
  if (fflush(out->fp) != 0) bad = 1;
  if (!bad && fsync(fileno(out->fp)) != 0 && errno != EINVAL) bad = 1;
  int e = errno;
  if (fclose(out->fp) != 0) bad = 1;
  out->fp = NULL;
  if (bad) {
    st = lsp_fail(LSP_EIO, "%s: write failed: %s", out->path, strerror(e));
    unlink(out->tmp_path);
  } else if (rename(out->tmp_path, out->path) != 0) {
    e = errno;
    st = lsp_fail(LSP_EIO, "%s: cannot rename into place: %s", out->path,
                  strerror(e));
    unlink(out->tmp_path);
  }
  free(out->path);
  free(out->tmp_path);
  out->path = out->tmp_path = NULL;
  return st;
}

int lsp_write_file_atomic(const char *path, const void *buf, size_t len) {
  lsp_outfile o;
  int st = lsp_out_open(&o, path);
  if (st) return st;
  if (len && fwrite(buf, 1, len, o.fp) != len) {
    int e = errno;
    lsp_out_abort(&o);
    return lsp_fail(LSP_EIO, "%s: write failed: %s", path, strerror(e));
  }
  return lsp_out_commit(&o);
}

int lsp_read_file(const char *path, char **buf, size_t *len) {
  *buf = NULL;
  *len = 0;
  struct stat sb;
  if (stat(path, &sb) != 0)
    return lsp_fail(LSP_EIO, "%s: %s", path, strerror(errno));
  if (S_ISDIR(sb.st_mode))
    return lsp_fail(LSP_EIO, "%s: is a directory, expected a file", path);
  FILE *fp = fopen(path, "rb");
  if (!fp) return lsp_fail(LSP_EIO, "%s: %s", path, strerror(errno));
  size_t cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 4096, n = 0;
  char *b = malloc(cap);
  if (!b) {
    fclose(fp);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  }
  for (;;) {
    if (n + 1 >= cap) {
      char *nb = realloc(b, cap * 2);
      if (!nb) {
        free(b);
        fclose(fp);
        return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
      }
      b = nb;
      cap *= 2;
    }
    size_t r = fread(b + n, 1, cap - 1 - n, fp);
    n += r;
    if (r == 0) break;
  }
  int err = ferror(fp);
  fclose(fp);
  if (err) {
    free(b);
    return lsp_fail(LSP_EIO, "%s: read error", path);
  }
  b[n] = '\0';
  *buf = b;
  *len = n;
  return LSP_OK;
}

uint32_t lsp_crc32(const void *buf, size_t len) {
  return (uint32_t)crc32_z(0L, buf, (z_size_t)len);
}

int lsp_mkdir_p(const char *path) {
  size_t n = strlen(path);
  char *p = malloc(n + 1);
  if (!p) return lsp_fail(LSP_ENOMEM, "out of memory");
  memcpy(p, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] == '/' || p[i] == '\0') {
      char c = p[i];
      p[i] = '\0';
      if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        int e = errno;
        int st = lsp_fail(LSP_EIO, "%s: cannot create folder: %s", p,
                          strerror(e));
        free(p);
        return st;
      }
      p[i] = c;
    }
  }
  struct stat sb;
  int ok = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
  free(p);
  if (!ok) return lsp_fail(LSP_EIO, "%s: exists and is not a folder", path);
  return LSP_OK;
}

/* Lock-free (checked below), hence safe to set from a signal handler. */
static atomic_int g_interrupted;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the interrupt flag must be lock-free");

void lsp_interrupt_request(void) {
  atomic_store_explicit(&g_interrupted, 1, memory_order_relaxed);
}

void lsp_interrupt_clear(void) {
  atomic_store_explicit(&g_interrupted, 0, memory_order_relaxed);
}

int lsp_interrupted(void) {
  return atomic_load_explicit(&g_interrupted, memory_order_relaxed) != 0;
}
