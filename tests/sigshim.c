/* sigshim.c — loaded with LD_PRELOAD by tests/cli_signals.sh: the first
 * fsync() the process makes first sends the process the signal numbered
 * LSP_SHIM_SIGNAL, LSP_SHIM_COUNT times (default once, LSP_SHIM_GAP_MS
 * milliseconds apart, default 0), then does the real fsync. lsprobe fsyncs an output's temporary just before renaming it into
 * place, so the signals arrive while the temporary is complete and the
 * final name untouched: the moment a late Ctrl-C hits. Without
 * LSP_SHIM_SIGNAL the shim only passes the call on.
 *
 * It also fails renames, for tests/cli_eval_dump.sh: with
 * LSP_SHIM_RENAME_FAIL=SUFFIX, a rename() onto a name that ends in SUFFIX
 * fails with EIO (a rename that fails after the ones before it succeeded);
 * every other rename is passed on. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* exported although the project builds with hidden visibility */
__attribute__((visibility("default"))) int fsync(int fd) {
  static int sent;
  int (*real)(int);
  void *sym = dlsym(RTLD_NEXT, "fsync");
  memcpy(&real, &sym, sizeof real); /* object to function pointer, as POSIX allows */
  const char *sig = getenv("LSP_SHIM_SIGNAL");
  if (sig && *sig && !sent) {
    sent = 1;
    const char *count = getenv("LSP_SHIM_COUNT");
    const char *gap = getenv("LSP_SHIM_GAP_MS");
    int n = count && *count ? atoi(count) : 1, ms = gap && *gap ? atoi(gap) : 0;
    for (int i = 0; i < n; i++) {
      if (i > 0 && ms > 0) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L}, rest;
        while (nanosleep(&ts, &rest) != 0) ts = rest; /* resumed after the handler */
      }
      kill(getpid(), atoi(sig)); /* delivered before kill returns */
    }
  }
  return real ? real(fd) : -1;
}

__attribute__((visibility("default"))) int rename(const char *from, const char *to) {
  int (*real)(const char *, const char *);
  void *sym = dlsym(RTLD_NEXT, "rename");
  memcpy(&real, &sym, sizeof real);
  const char *suffix = getenv("LSP_SHIM_RENAME_FAIL");
  size_t n = suffix ? strlen(suffix) : 0, m = strlen(to);
  if (n && m >= n && !strcmp(to + m - n, suffix)) {
    errno = EIO;
    return -1;
  }
  return real ? real(from, to) : -1;
}
