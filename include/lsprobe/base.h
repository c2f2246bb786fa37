/* lsprobe/base.h — status codes, error messages, initialization, version.
 *
 * Every function that can fail returns an int status: LSP_OK (0) or one of
 * the codes below. On failure it has also recorded a one-line reason
 * (naming the file, row or option where there is one), which the caller
 * reads with lsp_errmsg(). The library never prints and never exits. */
#ifndef LSPROBE_BASE_H
#define LSPROBE_BASE_H

#include "lsprobe/export.h"
#include "lsprobe/version.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lsp_status {
  LSP_OK = 0,
  LSP_EDATA = 1,  /* malformed, inconsistent or out-of-range input data */
  LSP_EINVAL = 2, /* an invalid argument or setting (a usage error)      */
  LSP_EIO = 3,    /* a file could not be opened, read or written         */
  LSP_ENOMEM = 4, /* an allocation failed                                */
  LSP_EINTR = 5   /* interrupted before completion                       */
};

/* Call once before anything else (from any thread; further calls do
 * nothing). It switches GSL's abort-on-error handler off, process-wide, so
 * that a GSL failure inside lsprobe comes back as a status, and registers a
 * fork handler (pthread_atfork, child side) that sets lsprobe's own thread
 * count to 1 in a forked child (GNU OpenMP's thread pool does not survive
 * fork(): a larger team there would wait forever). That is the only
 * process-wide state the library changes: it installs no signal handler,
 * leaves the umask alone and never sets OpenMP's or OpenBLAS's thread
 * counts. LSP_OK, or a status with the reason. */
LSP_API int lsp_init(void);

/* lsprobe's thread count for the calls the calling thread makes (n <= 0:
 * the default, OpenMP's: OMP_NUM_THREADS, else the online cores; at most
 * LSP_THREADS_MAX; 1 in a process forked after lsp_init, whatever the
 * setting). Each host thread has its own setting; nothing outside
 * lsprobe changes. Results the documentation calls thread-count independent
 * are the same for every n. lsp_threads_set returns the previous setting
 * (0 = the default, never negative); for n > LSP_THREADS_MAX it keeps the
 * setting, records the reason and returns -LSP_EINVAL. */
#define LSP_THREADS_MAX 1024
LSP_API int lsp_threads_set(int n);
LSP_API int lsp_threads_get(void);

/* Interrupting a long call (training, attacks, bootstrap): the host — a
 * signal handler, or a thread that saw Ctrl-C — calls
 * lsp_interrupt_request() (async-signal-safe); running and later calls stop
 * with LSP_EINTR until lsp_interrupt_clear(). The flag is process-wide. */
LSP_API void lsp_interrupt_request(void);
LSP_API void lsp_interrupt_clear(void);

/* The reason recorded by the last failing call on this thread ("" if none).
 * The text stays valid until the next call on the same thread. */
LSP_API const char *lsp_errmsg(void);

/* Forget the last message. */
LSP_API void lsp_clear_error(void);

/* The version of the library loaded ("0.1.0"); LSPROBE_VERSION is that of
 * the headers compiled against. */
LSP_API const char *lsp_version(void);

#ifdef __cplusplus
}
#endif

#endif
