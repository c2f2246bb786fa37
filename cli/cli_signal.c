/* cli_signal.c — the lsprobe command's SIGINT/SIGTERM handler (cli.h). The
 * library installs none: interrupting is the host's decision. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/lsp_io.h"
#ifdef LSP_MPI
#include "mpi/lsp_sched.h"
#endif

static void on_signal(int sig) {
#ifdef LSP_MPI
  /* mpirun stops the other ranks with SIGTERM when one dies: rank 0 names
   * the cells in flight (nothing on the other ranks; async-signal-safe) */
  if (sig == SIGTERM) lsp_sched_inflight_write(2);
#endif
  lsp_interrupt_request();
  signal(sig, SIG_DFL); /* a second signal ends the process at once */
}

void cli_interrupt_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}
