/* lsp_init.h — library initialization: what lsprobe changes in the process,
 * and when.
 *
 * Call lsp_init() once before using the library (from any thread; further
 * calls do nothing and return LSP_OK). It switches GSL's error handler off,
 * process-wide: GSL's default handler calls abort() on any GSL error (an
 * allocation that fails, a minimizer given a bad bracket), and lsprobe checks
 * every GSL status itself and returns it as an lsp status with a message.
 * Without lsp_init() a GSL failure inside lsprobe aborts the host.
 *
 * It also registers a fork handler (pthread_atfork, child side only) that
 * makes a forked child run lsprobe's parallel work on one thread: GNU
 * OpenMP's thread pool does not survive fork(), and a team of more threads
 * in the child would wait forever for workers that are not there (a Python
 * host's multiprocessing pool, for one). The handler touches lsprobe's own
 * thread count only (lsp_threads.h).
 *
 * That is the only process-wide state the library changes. It never
 * installs a signal handler (a host reports an interruption through
 * lsp_interrupt_request, lsp_io.h), never touches the umask, and never sets
 * OpenMP's or OpenBLAS's thread counts (lsp_threads.h says who may). A host
 * that wants GSL's handler back for its own GSL calls may set it after
 * lsp_init(); GSL errors inside lsprobe then abort again. */
#ifndef LSP_INIT_H
#define LSP_INIT_H

/* int lsp_init(void) is public API, declared there. */
#include "lsprobe/base.h"

#endif
