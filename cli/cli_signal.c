/* cli_signal.c — the lsprobe command's signal handlers (cli.h). The library
 * installs none: interrupting is the host's decision. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/lsp_io.h"
#ifdef LSP_MPI
#include "mpi/lsp_sched.h"
#endif

/* The process ends: remove the temporaries of unfinished outputs, then die
 * of the same signal, so the parent sees what happened (exit 130 for
 * SIGINT from a shell). */
static void on_fatal(int sig) {
  (void)lsp_out_unlink_live();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Install fn for sig. SIGHUP and SIGPIPE stay ignored when they are
 * (`nohup`, the MPI runtime); SIGINT and SIGTERM are taken even then, so
 * that `kill -INT` stops a job a script started in the background (where
 * the shell ignores SIGINT), as it always has. */
static void handle(int sig, void (*fn)(int)) {
  struct sigaction sa, old;
  if ((sig == SIGHUP || sig == SIGPIPE) && sigaction(sig, NULL, &old) == 0 &&
      old.sa_handler == SIG_IGN)
    return;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

/* Signals seen by on_signal: the first asks for a stop, any later one
 * (SIGINT or SIGTERM, on any thread, even while the first handler runs)
 * ends the process. Lock-free, as lsp_io.c checks for atomic_int. */
static atomic_int g_seen;

static void on_signal(int sig) {
  if (atomic_fetch_add(&g_seen, 1) > 0) {
    on_fatal(sig);
    return;
  }
#ifdef LSP_MPI
  /* mpirun stops the other ranks with SIGTERM when one dies: rank 0 names
   * the cells in flight (nothing on the other ranks; async-signal-safe) */
  if (sig == SIGTERM) lsp_sched_inflight_write(2);
#endif
  lsp_interrupt_request();
}

void cli_cleanup_install(void) {
  handle(SIGINT, on_fatal);
  handle(SIGTERM, on_fatal);
  handle(SIGHUP, on_fatal);
  handle(SIGPIPE, on_fatal); /* `lsprobe run ... | head`: the reader went away */
}

void cli_interrupt_install(void) {
  handle(SIGINT, on_signal);
  handle(SIGTERM, on_signal);
}
