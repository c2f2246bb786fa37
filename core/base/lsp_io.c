#define _XOPEN_SOURCE 700 /* realpath */
#include "core/base/lsp_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
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
#include "core/base/lsp_proc.h"

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

char *lsp_vstrdupf(const char *fmt, va_list ap) {
  va_list aq;
  va_copy(aq, ap);
  int n = vsnprintf(NULL, 0, fmt, aq);
  va_end(aq);
  if (n < 0) return NULL;
  char *s = malloc((size_t)n + 1);
  if (s) vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

char *lsp_strdupf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = lsp_vstrdupf(fmt, ap);
  va_end(ap);
  return s;
}

#define TMP_MARK ".tmp."
#ifndef NAME_MAX
#define NAME_MAX 255
#endif
#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

size_t lsp_out_tmp_extra(void) {
  char tok[LSP_PROC_TOKEN_MAX];
  lsp_proc_token(tok);
  return strlen(TMP_MARK) + strlen(tok) + strlen(".XXXXXX");
}

const char *lsp_tmp_dir(void) {
  const char *d = getenv("TMPDIR");
  struct stat sb;
  if (d && *d && stat(d, &sb) == 0 && S_ISDIR(sb.st_mode) && access(d, W_OK | X_OK) == 0)
    return d;
  return "/tmp";
}

/* The temporary of `path`: "<path>.tmp.<token>.XXXXXX", with the file's
 * own name cut short (never inside a UTF-8 character) where the whole would
 * pass NAME_MAX or PATH_MAX: any name the system takes gets a temporary.
 * The sweep reads only what follows the last ".tmp.". */
static char *tmp_name(const char *path, const char *tok) {
  size_t n = strlen(path), extra = strlen(TMP_MARK) + strlen(tok) + strlen(".XXXXXX");
  const char *slash = strrchr(path, '/');
  size_t dir = slash ? (size_t)(slash + 1 - path) : 0, base = n - dir, keep = base;
  if (keep + extra > NAME_MAX) keep = NAME_MAX > extra ? NAME_MAX - extra : 0;
  if (dir + keep + extra >= PATH_MAX)
    keep = PATH_MAX - 1 > dir + extra ? PATH_MAX - 1 - dir - extra : 0;
  while (keep > 0 && keep < base && ((unsigned char)path[dir + keep] & 0xC0) == 0x80) keep--;
  return lsp_strdupf("%.*s" TMP_MARK "%s.XXXXXX", (int)(dir + keep), path, tok);
}

int lsp_out_tmp_stale(const char *name) {
  /* "<final>.tmp.<token>.XXXXXX": the token is between the last ".tmp."
   * and the final six characters */
  size_t n = strlen(name), m = strlen(TMP_MARK);
  if (n < m + 8 || name[n - 7] != '.') return 0;
  const char *mark = NULL;
  for (const char *p = strstr(name, TMP_MARK); p; p = strstr(p + 1, TMP_MARK)) mark = p;
  if (!mark) return 0;
  const char *tok = mark + m, *end = name + n - 7;
  if (end <= tok) return 0;
  return lsp_proc_token_alive(tok, (size_t)(end - tok)) == 0;
}

/* Replace the six X's that end `tmpl` by a fresh random name: a process
 * counter, the process id and the time, mixed. */
static void random_suffix(char *tmpl) {
  static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  static atomic_uint_fast64_t counter;
  char *x = tmpl + strlen(tmpl) - 6;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t z = atomic_fetch_add(&counter, 1) + ((uint64_t)getpid() << 32) +
               (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull; /* splitmix64 finalizer */
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  for (int i = 0; i < 6; i++, z /= 36) x[i] = digits[z % 36];
}

/* Create the temporary `tmpl` (ending in "XXXXXX", replaced in place) with
 * O_EXCL and mode 0666, so that the kernel applies the process's umask: the
 * umask is never read or changed here (umask() changes it for every thread
 * of the process while it is read; mkstemp's 0600 needed that). */
static int create_temporary(char *tmpl) {
  for (int attempt = 0; attempt < 100; attempt++) {
    random_suffix(tmpl);
    int fd = open(tmpl, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

/* The temporaries in flight, for lsp_out_unlink_live. A slot is claimed
 * with `owned`; its `seq` is odd while `path` names a live temporary and
 * moves on at every registration and release, so a signal handler that
 * copies a path keeps it only if `seq` is the same odd value before and
 * after the copy (a sequence lock: the handler never waits). */
#define LIVE_SLOTS 64
#define LIVE_PATH 4096
static struct {
  atomic_int owned;
  atomic_uint seq;
  char path[LIVE_PATH];
} g_live[LIVE_SLOTS];
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the live table must be lock-free");

static int live_register(const char *tmp_path) {
  size_t n = strlen(tmp_path);
  if (n >= LIVE_PATH) return 0;
  for (int i = 0; i < LIVE_SLOTS; i++) {
    int free_slot = 0;
    if (!atomic_compare_exchange_strong(&g_live[i].owned, &free_slot, 1)) continue;
    memcpy(g_live[i].path, tmp_path, n + 1);
    atomic_fetch_add(&g_live[i].seq, 1); /* odd: live */
    return i + 1;
  }
  return 0;
}

static void live_release(lsp_outfile *out) {
  if (out->live <= 0) return;
  int i = out->live - 1;
  out->live = 0;
  atomic_fetch_add(&g_live[i].seq, 1); /* even: gone */
  atomic_store(&g_live[i].owned, 0);
}

int lsp_out_unlink_live(void) {
  int n = 0;
  char copy[LIVE_PATH];
  for (int i = 0; i < LIVE_SLOTS; i++) {
    unsigned s0 = atomic_load(&g_live[i].seq);
    if (!(s0 & 1u)) continue;
    memcpy(copy, g_live[i].path, LIVE_PATH);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load(&g_live[i].seq) != s0) continue;
    copy[LIVE_PATH - 1] = '\0';
    if (unlink(copy) == 0) n++;
  }
  return n;
}

int lsp_out_link_problem(const char *path, char *why, size_t len) {
  struct stat sb;
  if (lstat(path, &sb) != 0 || !S_ISLNK(sb.st_mode)) return 0;
  if (stat(path, &sb) != 0) {
    if (errno == ENOENT)
      snprintf(why, len, "is a symbolic link to nothing: create the file it names or remove "
                         "the link");
    else
      snprintf(why, len, "is a symbolic link that cannot be followed: %s", strerror(errno));
    return 1;
  }
  /* a link to a device or FIFO (/dev/stdout, whose target a pipe's
   * "pipe:[N]" is no path) is written in place, as the device itself */
  if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) return 0;
  /* the file the link names is replaced, by a temporary in its folder */
  char *real = realpath(path, NULL);
  if (!real) {
    snprintf(why, len, "is a symbolic link that cannot be followed: %s", strerror(errno));
    return 1;
  }
  char *slash = strrchr(real, '/');
  if (slash == real) slash[1] = '\0';
  else if (slash) *slash = '\0';
  int bad = access(real, W_OK | X_OK) != 0;
  if (bad)
    snprintf(why, len, "is a symbolic link into %s, which cannot be written: %s", real,
             strerror(errno));
  free(real);
  return bad;
}

int lsp_out_open(lsp_outfile *out, const char *path) {
  char tok[LSP_PROC_TOKEN_MAX];
  lsp_proc_token(tok);
  out->fp = NULL;
  out->direct = 0;
  out->live = 0;
  out->path = out->tmp_path = NULL;
  struct stat sb, lb;
  char why[4400];
  if (lsp_out_link_problem(path, why, sizeof why))
    return lsp_fail(LSP_EIO, "%s: %s", path, why);
  int exists = stat(path, &sb) == 0, e = errno;
  int link = lstat(path, &lb) == 0 && S_ISLNK(lb.st_mode);
  if (exists && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
    if (!(out->path = dup_str(path)))
      return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
    if (!(out->fp = fopen(path, "wb"))) {
      e = errno;
      free(out->path);
      out->path = NULL;
      return lsp_fail(LSP_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    out->direct = 1;
    return LSP_OK;
  }
  /* a symbolic link stays: the file it names is the one replaced, by a
   * temporary in that file's folder */
  if (exists && link) {
    if (!(out->path = realpath(path, NULL))) {
      e = errno;
      return lsp_fail(LSP_EIO, "%s: cannot follow the link: %s", path, strerror(e));
    }
  } else if (!(out->path = dup_str(path))) {
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  }
  out->tmp_path = tmp_name(out->path, tok);
  if (!out->tmp_path) {
    free(out->path);
    out->path = NULL;
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  }
  int fd = create_temporary(out->tmp_path);
  if (fd < 0) {
    e = errno;
    if (link)
      lsp_fail(LSP_EIO, "%s: cannot create %s, the file the link names: %s", path, out->path,
               strerror(e));
    else
      lsp_fail(LSP_EIO, "%s: cannot create: %s", path, strerror(e));
    free(out->path);
    free(out->tmp_path);
    out->path = out->tmp_path = NULL;
    return LSP_EIO;
  }
  /* a file replaced keeps its permissions (a private file stays private);
   * where the file system cannot set them, the umask's stand */
  if (exists && S_ISREG(sb.st_mode)) (void)fchmod(fd, sb.st_mode & 0777);
  out->live = live_register(out->tmp_path);
  out->fp = fdopen(fd, "wb");
  if (!out->fp) {
    e = errno;
    live_release(out);
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
  live_release(out);
  if (out->fp) fclose(out->fp);
  if (out->tmp_path && !out->direct) unlink(out->tmp_path);
  free(out->path);
  free(out->tmp_path);
  out->fp = NULL;
  out->path = out->tmp_path = NULL;
}

int lsp_out_write_failed(lsp_outfile *out) {
  int e = errno ? errno : EIO;
  int st = lsp_fail(LSP_EIO, "%s: write failed: %s", out->path ? out->path : "output",
                    strerror(e));
  lsp_out_abort(out);
  return st;
}

int lsp_out_finish(lsp_outfile *out) {
  if (!out->path) return lsp_fail(LSP_EINVAL, "output file already closed");
  if (!out->fp) return LSP_OK; /* finished before */
  int bad = ferror(out->fp) != 0, e = errno; /* errno: a failed write's */
  if (fflush(out->fp) != 0) bad = 1, e = errno;
  if (!bad && !out->direct && fsync(fileno(out->fp)) != 0 && errno != EINVAL) bad = 1, e = errno;
  if (fclose(out->fp) != 0 && !bad) bad = 1, e = errno;
  if (!e) e = EIO;
  out->fp = NULL;
  if (!bad) return LSP_OK;
  int st = lsp_fail(LSP_EIO, "%s: write failed: %s", out->path, strerror(e));
  lsp_out_abort(out);
  return st;
}

int lsp_out_commit(lsp_outfile *out) {
  int st = lsp_out_finish(out);
  if (st) return st;
  if (!out->direct && rename(out->tmp_path, out->path) != 0) {
    int e = errno;
    st = lsp_fail(LSP_EIO, "%s: cannot rename into place: %s", out->path, strerror(e));
    unlink(out->tmp_path);
  }
  /* released only now: a handler that unlinks the name after the rename
   * finds nothing (ENOENT), one that unlinks it before leaves no output */
  live_release(out);
  free(out->path);
  free(out->tmp_path);
  out->path = out->tmp_path = NULL;
  return st;
}

int lsp_out_keep_aside(const char *path, char **aside, int *moved) {
  char tok[LSP_PROC_TOKEN_MAX];
  lsp_proc_token(tok);
  *moved = 0;
  if (!(*aside = tmp_name(path, tok)))
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  int e = EEXIST;
  for (int attempt = 0; attempt < 100 && e == EEXIST; attempt++) {
    random_suffix(*aside);
    if (link(path, *aside) == 0) return LSP_OK;
    e = errno;
  }
  /* no hard links on this file system (EPERM, ENOTSUP...): move it aside */
  for (int attempt = 0; attempt < 100 && e != EEXIST; attempt++) {
    random_suffix(*aside);
    struct stat sb;
    if (lstat(*aside, &sb) == 0) continue;
    if (rename(path, *aside) == 0) {
      *moved = 1;
      return LSP_OK;
    }
    e = errno;
    break;
  }
  free(*aside);
  *aside = NULL;
  return lsp_fail(LSP_EIO, "%s: cannot keep the earlier file: %s", path, strerror(e));
}

int lsp_write_file_atomic(const char *path, const void *buf, size_t len) {
  lsp_outfile o;
  int st = lsp_out_open(&o, path);
  if (st) return st;
  if (len && fwrite(buf, 1, len, o.fp) != len) return lsp_out_write_failed(&o);
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
  /* a device (/dev/zero, /dev/urandom, a terminal) would be read until
   * memory runs out or the user types an end of file */
  if (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode))
    return lsp_fail(LSP_EIO, "%s: is a %s, expected a file or a pipe", path,
                    S_ISCHR(sb.st_mode)   ? "character device"
                    : S_ISBLK(sb.st_mode) ? "block device"
                    : S_ISSOCK(sb.st_mode) ? "socket"
                                          : "special file");
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

int lsp_fsync_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return lsp_fail(LSP_EIO, "%s: cannot open folder: %s", path, strerror(errno));
  int rc = fsync(fd), e = errno;
  close(fd);
  if (rc != 0 && e != EINVAL && e != EROFS)
    return lsp_fail(LSP_EIO, "%s: cannot sync folder: %s", path, strerror(e));
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
