/* lsprobe — what does label smoothing do to a classifier?
 * The command-line front end: find the subcommand and hand it argv. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/lsp_cpu.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_init.h"
#ifdef LSP_MPI
#include "mpi/lsp_mpi.h"
#endif

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *about;
} command;

static const command k_commands[] = {
    {"run", cmd_run, "the main job: train with and without smoothing, measure, write the report"},
    {"compare", cmd_compare, "one report over the results.json of earlier runs"},
    {"train", cmd_train, "train a network (MLP, LeNet-5, ResNet-8, layer spec) with label smoothing"},
    {"distill", cmd_distill, "train a student from a teacher's logits (knowledge distillation)"},
    {"eval", cmd_eval, "score a model: accuracy, NLL, calibration, clusters, logit gap; dump arrays"},
    {"calib", cmd_calib, "calibration (ECE family, NLL, Brier, temperature, CIs) of saved outputs"},
    {"calib-sim", cmd_calibsim, "simulation study: bias and interval coverage of the ECE estimators"},
    {"clusters", cmd_clusters, "penultimate-layer cluster geometry (R2, NC1) and projection"},
    {"logitgap", cmd_logitgap, "logit gap and entropy of saved logits vs the optimal gap"},
    {"attack", cmd_attack, "FGSM, PGD, APGD, Square and AutoAttack over eps; transfer; masking checks"},
    {"loss", cmd_loss, "label-smoothed cross-entropy (and gradient) of saved logits"},
    {"data", cmd_data, "load a dataset and its split; print sizes, classes, hash"},
    {"export", cmd_export, "write a model as ONNX (opset 13 to 20) for other tools"},
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: lsprobe <command> [options]\n\n"
          "lsprobe measures what label smoothing does to a classifier:\n"
          "accuracy, calibration, penultimate-layer clusters and adversarial\n"
          "robustness, with and without smoothing.\n\ncommands:\n");
  for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
    fprintf(f, "  %-10s %s\n", k_commands[i].name, k_commands[i].about);
  fprintf(f,
          "\n'lsprobe <command> --help' (or 'lsprobe help <command>') describes a\n"
          "command's options; 'lsprobe --version' prints the version and the\n"
          "kernels this machine runs.\n"
          "Exit status: 0 ok, 1 bad or unreadable data, 2 bad usage,\n"
          "130 interrupted (Ctrl-C; no output is left half-written).\n");
}

/* The commands that run across MPI ranks (DESIGN §10); every other command
 * refuses to run on more than one rank. */
#ifdef LSP_MPI
static int mpi_command(const char *name) {
  return strcmp(name, "calib") == 0 || strcmp(name, "run") == 0;
}
#endif

static int dispatch(int argc, char **argv);

/* `rc` when everything printed to standard output reached it, else
 * CLI_DATA with a message: a result written to a full disk or a closed
 * pipe must not end with status 0. */
static int stdout_written(const char *what, int rc) {
  errno = 0;
  if (fflush(stdout) == 0 && !ferror(stdout)) return rc;
  fprintf(stderr, "lsprobe: %s: writing to standard output failed%s%s\n", what,
          errno ? ": " : "", errno ? strerror(errno) : "");
  return CLI_DATA;
}

int main(int argc, char **argv) {
#ifdef LSP_MPI
  if (lsp_mpi_launched()) { /* mpirun or srun started us: every rank gets here */
    if (lsp_mpi_init(&argc, &argv) != LSP_OK) {
      fprintf(stderr, "lsprobe: %s\n", lsp_errmsg());
      return CLI_DATA;
    }
    /* rank 0 speaks for the job: --help, tables and JSON appear once */
    if (lsp_mpi_rank() != 0 && !freopen("/dev/null", "w", stdout)) {
      lsp_mpi_finalize();
      return CLI_DATA;
    }
    /* until the ranks meet (cli_mpi_gate), errors are held: a rank that
     * stops before then has rank 0 print its reason for all */
    cli_hold_errors(lsp_mpi_size() > 1);
    int rc;
    if (lsp_mpi_size() > 1 && argc >= 2 && argv[1][0] != '-' && !mpi_command(argv[1]))
      rc = cli_error(argv[1], CLI_USAGE,
                     "does not run on several MPI ranks (%d); only run and calib --stream do",
                     lsp_mpi_size());
    else
      rc = dispatch(argc, argv);
    /* a rank that returned before the command's meeting point meets the
     * others here (a no-op once met) */
    rc = cli_mpi_gate(argc >= 2 && argv[1][0] != '-' ? argv[1] : NULL, rc);
    if (rc == CLI_HELP) rc = 0;
    lsp_mpi_finalize();
    return rc;
  }
#endif
  return dispatch(argc, argv);
}

static int dispatch(int argc, char **argv) {
  if (lsp_init() != LSP_OK) return cli_error_plain(CLI_DATA, "%s", lsp_errmsg());
  if (argc < 2) {
    if (cli_errors_held()) return cli_error_plain(CLI_USAGE, "no command (see lsprobe --help)");
    usage(stderr);
    return CLI_USAGE;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "help") == 0) {
    if (argc >= 3 && argv[2][0] != '-' && strcmp(argv[2], "help") != 0) {
      /* help CMD: the command's own --help (an unknown CMD is refused) */
      char help[] = "--help";
      char *again[] = {argv[0], argv[2], help, NULL};
      return dispatch(3, again);
    }
    usage(stdout);
    return stdout_written("--help", 0);
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("lsprobe %s\n", LSP_VERSION);
    /* the machine code this CPU runs (README "Reproducibility") */
    printf("kernels: %s (dispatched clones: %s), OpenBLAS %s\n",
           lsp_cpu_isa_name(lsp_cpu_isa()), lsp_cpu_path(), lsp_blas_core());
    return stdout_written("--version", 0);
  }
  for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
    if (strcmp(argv[1], k_commands[i].name) == 0) {
      cli_cleanup_install(k_commands[i].name);
      int rc = k_commands[i].run(argc - 1, argv + 1);
      rc = cli_mpi_gate(argv[1], rc); /* under MPI: a rank that stopped early */
      if (rc == CLI_OK || rc == CLI_HELP) rc = stdout_written(argv[1], rc);
      if (rc == CLI_OK) cli_warnings_print(); /* a failure prints one line */
      return rc == CLI_HELP ? 0 : rc;
    }
  const char *names[sizeof k_commands / sizeof k_commands[0]];
  for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
    names[i] = k_commands[i].name;
  const char *near = cli_closest(argv[1], strlen(argv[1]), names,
                                 sizeof names / sizeof names[0]);
  if (near)
    return cli_error_plain(CLI_USAGE, "unknown command '%s'; did you mean %s? (see lsprobe --help)",
                           argv[1], near);
  return cli_error_plain(CLI_USAGE, "unknown command '%s' (see lsprobe --help)", argv[1]);
}
