/* cli_mpi.c — where the ranks of an MPI job meet before the work starts
 * (cli.h: cli_mpi_gate; DESIGN §10). Without the MPI build nothing is held
 * and the gate returns the exit code it is given. */
#include <stdio.h>

#include "cli/cli.h"
#include "core/base/lsp_error.h"
#ifdef LSP_MPI
#include "mpi/lsp_mpi.h"
#endif

#ifdef LSP_MPI
/* An exit code as a library status and back (cli_lib_error's mapping). */
static int status_of(int rc) {
  return rc == CLI_USAGE ? LSP_EINVAL : rc == CLI_INTR ? LSP_EINTR : rc == CLI_DATA ? LSP_EDATA
                                                                                    : LSP_EIO;
}
static int code_of(int st) {
  return st == LSP_EINTR ? CLI_INTR : st == LSP_EINVAL ? CLI_USAGE : CLI_DATA;
}
#endif

int cli_mpi_gate(const char *cmd, int rc) {
#ifdef LSP_MPI
  if (!cli_errors_held()) return rc;
  int st = LSP_OK;
  /* --help on every rank is the job's answer; on some only, the ranks were
   * not given the same command */
  int help = lsp_mpi_count(rc == CLI_HELP);
  if (help == lsp_mpi_size()) {
    cli_hold_errors(0);
    return CLI_HELP;
  }
  if (help < 0)
    st = LSP_EIO;
  else if (rc == CLI_HELP)
    st = lsp_fail(LSP_EINVAL, "--help here but not on every rank: every rank must be given the "
                              "same command");
  else if (rc)
    st = cli_held_error()[0] ? lsp_fail(status_of(rc), "%s", cli_held_error())
                             : lsp_fail(status_of(rc), "stopped with exit status %d", rc);
  cli_hold_errors(0);
  if (!(st = lsp_mpi_agree(st))) return rc; /* 0 on every rank */
  if (lsp_mpi_rank() == 0) {
    if (cmd) fprintf(stderr, "lsprobe: %s: %s\n", cmd, lsp_errmsg());
    else fprintf(stderr, "lsprobe: %s\n", lsp_errmsg());
  }
  return code_of(st);
#else
  (void)cmd;
  return rc;
#endif
}
