/* cli.h — shared option parsing for the lsprobe subcommands.
 *
 * Each subcommand declares its options in a table, calls cli_parse, then
 * converts values with the cli_get_* helpers, which print
 *   lsprobe: <cmd>: --<option>: <why>
 * and return CLI_USAGE (2) on a bad value. Data errors from the library are
 * printed by cli_data_error and give CLI_DATA (1). */
#ifndef LSP_CLI_H
#define LSP_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "core/nn/lsp_model.h"

enum { CLI_OK = 0, CLI_DATA = 1, CLI_USAGE = 2, CLI_INTR = 130, CLI_HELP = -1 };

typedef struct {
  const char *name;  /* long name without "--"; NULL ends a table      */
  const char *arg;   /* metavariable ("E"), NULL for a flag            */
  const char *help;  /* one line for --help                            */
  int nargs;         /* values taken (0 flag, 1 usual, 2 for pairs)    */
  const char *value; /* set by cli_parse: NULL if absent, "" for flags */
  const char *value2;
} cli_opt;

/* Parse argv[1..] (argv[0] is the subcommand name). "--name value" and
 * "--name=value" both work; "-h"/"--help" prints the usage and returns
 * CLI_HELP. Unknown options, missing values and stray arguments print an
 * error and return CLI_USAGE. */
int cli_parse(const char *cmd, const char *synopsis, const char *about,
              int argc, char **argv, cli_opt *opts);

cli_opt *cli_find(cli_opt *opts, const char *name);
int cli_has(cli_opt *opts, const char *name);
const char *cli_str(cli_opt *opts, const char *name, const char *def);

/* Numbers: the whole string must parse, be finite and lie in [lo, hi]. */
int cli_get_double(const char *cmd, cli_opt *opts, const char *name,
                   double def, double lo, double hi, double *out);
int cli_get_long(const char *cmd, cli_opt *opts, const char *name, long def,
                 long lo, long hi, long *out);
/* Comma-separated lists ("0,0.05,0.1"); *out is malloc'd (free()). */
int cli_get_doubles(const char *cmd, cli_opt *opts, const char *name,
                    const char *def, double lo, double hi, double **out,
                    size_t *n);
int cli_get_longs(const char *cmd, cli_opt *opts, const char *name,
                  const char *def, long lo, long hi, long **out, size_t *n);
/* The same, refusing a value listed twice (exit 2, naming it): for lists
 * whose every value gives rows of its own. */
int cli_get_doubles_distinct(const char *cmd, cli_opt *opts, const char *name,
                             const char *def, double lo, double hi, double **out,
                             size_t *n);
int cli_get_longs_distinct(const char *cmd, cli_opt *opts, const char *name,
                           const char *def, long lo, long hi, long **out, size_t *n);
/* The network options of train and run (cli_arch.c): *spec is --arch, or
 * "mlp:" + --hidden, or `def`; *norm the --normalize values (NULL and 0
 * without it). Both malloc'd (free()). Usage errors print and return
 * CLI_USAGE. */
int cli_arch_get(const char *cmd, cli_opt *opts, const char *def, char **spec, float **norm,
                 size_t *nnorm);
#define CLI_ARCH_HELP                                                              \
  "the network: mlp:W,W,... (default mlp:256,256), lenet, resnet8, or a layer " \
  "spec such as \"conv(6,5,p=2) relu maxpool(2) dense(64) relu\" (README)"
#define CLI_NORMALIZE_HELP                                                          \
  "normalize inputs per channel as the model's first layer: the C means, then " \
  "the C standard deviations, positive normal floats (e.g. 0.286,0.353)"
/* CLI_USAGE naming both when two input options of `ins` (NULL-terminated
 * names) read standard input ("-" or /dev/stdin): a stream is read once.
 * cli_check_out_file makes this check too. */
int cli_stdin_once(const char *cmd, cli_opt *opts, const char *const *ins);
/* The file option --`name` writes, checked before any work (cli_out.c);
 * an absent option passes. Refused: an empty name, "-" (standard output
 * is not an output file) or a folder (CLI_USAGE), a symbolic link to
 * nothing or a folder that is missing or not writable (CLI_DATA), two
 * inputs of `ins`
 * from standard input (cli_stdin_once), and a file that an
 * option listed in `ins` reads (NULL-terminated names; both values of a
 * pair): the same file, by device and inode, would be overwritten, and
 * so would a data file of an input data folder or a state_dict tensor file
 * of a PyTorch export folder given to --model, --teacher or
 * --transfer-from (CLI_USAGE, naming both options). */
int cli_check_out_file(const char *cmd, cli_opt *opts, const char *name,
                       const char *const *ins);
/* The folder option --`name` (default `def`, or NULL: none) names, checked
 * before any work: a folder that exists and can be written into, or one
 * that can be created (every existing folder on its way is a folder, not
 * a link to nothing, and entries can be made in the deepest: a probe
 * folder of this process's own is made and removed there, so the ranks of
 * an MPI job probing at once never meet). Refused: an empty or too long
 * name or "-" (CLI_USAGE), anything else (CLI_DATA), naming the option, the path
 * and the problem ("exists and is not a folder"). */
int cli_check_out_dir(const char *cmd, cli_opt *opts, const char *name, const char *def);
/* The last check alone for a file `path` the command writes (`what` names
 * it in the message, e.g. "--dump D: D/logits.npy"). */
int cli_check_not_input(const char *cmd, const char *what, const char *path,
                        cli_opt *opts, const char *const *ins);
/* A required option: prints an error if absent. */
int cli_require(const char *cmd, cli_opt *opts, const char *name);

/* Parsers used by the helpers above (and by the fuzz harness). Return 0 on
 * success, else fill `why` with the reason. */
int cli_parse_double(const char *s, double lo, double hi, double *out,
                     char *why, size_t whylen);
int cli_parse_long(const char *s, long lo, long hi, long *out, char *why,
                   size_t whylen);
int cli_parse_double_list(const char *s, double lo, double hi, double **out,
                          size_t *n, char *why, size_t whylen);
int cli_parse_long_list(const char *s, long lo, long hi, long **out,
                        size_t *n, char *why, size_t whylen);

/* Levenshtein distance between the first `alen` bytes of a and the string
 * b (insertions, deletions and substitutions cost 1). */
size_t cli_edit_distance(const char *a, size_t alen, const char *b);
/* A suggestion for the first `len` bytes of `typed`: the one candidate the
 * typed word abbreviates (3 bytes at least: "smooth" for smoothing); else
 * the candidate closest to it when close enough to be a typo (distance
 * <= 2, and below half the candidate's length); else the one candidate the
 * typed word runs on from ("calib" in calibrate); else NULL. `names` holds
 * n strings. Only ever a suggestion: nothing is accepted by it. */
const char *cli_closest(const char *typed, size_t len, const char *const *names, size_t n);

/* Print "lsprobe: <cmd>: <library message>" and return the exit code for a
 * library status (CLI_DATA for data/IO errors, CLI_USAGE for LSP_EINVAL,
 * CLI_INTR = 130 for LSP_EINTR, as a shell reports death by SIGINT). */
int cli_lib_error(const char *cmd, int status);
/* The start of a command under mpirun or srun with several ranks (DESIGN
 * §10). Every rank checks its own options; a rank that stops there (a bad
 * option, a refused combination, --help) must stop the others, which would
 * otherwise wait for it in the first collective call. main holds errors
 * (cli_hold_errors(1)) until the ranks have met in cli_mpi_gate: held,
 * cli_error, cli_error_plain and cli_lib_error record the first message
 * instead of printing it. cli_mpi_gate (cli_mpi.c) is that meeting point,
 * collective over every rank, called by run and calib once their options
 * are checked and before any other collective, and by main for a rank that
 * returned before it (the command failed, or was not one that runs on
 * several ranks): every rank passes its exit code `rc`; when all are 0 it
 * returns 0 and errors are printed again. Otherwise every rank returns the
 * exit code of the lowest failing rank and rank 0 prints one line,
 * "lsprobe: <cmd>: rank R: <its message>" (`cmd` NULL: "lsprobe: rank R:
 * ..."). --help (CLI_HELP) on every rank returns CLI_HELP (rank 0 printed
 * the usage); on some ranks only, it is a usage error. Once met, or when
 * nothing is held (one process, one rank), it returns rc. The build without
 * MPI holds nothing. */
void cli_hold_errors(int on);
int cli_errors_held(void);
const char *cli_held_error(void);
int cli_mpi_gate(const char *cmd, int rc);
/* "lsprobe: <formatted>" on stderr (no command), or held; returns `code`. */
int cli_error_plain(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "lsprobe: <cmd>: note: <note>" on stderr when note is non-empty
 * (how a dataset was read, e.g. 0-255 pixels scaled by 1/255). */
void cli_note(const char *cmd, const char *note);
/* Print "lsprobe: <cmd>: <formatted>" and return `code`. */
int cli_error(const char *cmd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The command owns its process, so it sets the thread counts explicitly
 * (the library never does; core/base/lsp_threads.h): lsprobe's count to
 * `threads` (0 = the default: OMP_NUM_THREADS, else every core), and
 * OpenBLAS's to 1 when `shares` (the command's threads run single-threaded
 * GEMMs side by side: training's shares, FGSM's batches) or to the same
 * count otherwise. */
void cli_threads(long threads, int shares);

/* Warnings ("lsprobe: <cmd>: WARNING: ...") are queued and printed on
 * stderr when the command succeeds: a failed command prints one line, its
 * error. */
void cli_warn(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cli_warnings_print(void);

/* A warning when 0 < boot < CLI_BOOT_MIN: too few resamples to fill a 95%
 * interval's 2.5% tails (one resample in each needs 40). */
enum { CLI_BOOT_MIN = 40 };
void cli_bootstrap_warn(const char *cmd, long boot);

/* lsp_model_load (an .lspm, an ONNX file or a PyTorch export folder), with
 * the importer's assumptions (a PyTorch export's activations, an ONNX
 * file's fixed batch size) as a warning. _features: the layer named
 * `features` (NULL: the classifier's input) gives the features (--features
 * NODE). */
int cli_model_load(const char *cmd, const char *path, lsp_model **out);
int cli_model_load_features(const char *cmd, const char *path,
                            const char *features, lsp_model **out);

/* "HEAD ARGV[1] ... ARGV[argc-1]" with each argument a POSIX shell word
 * (single-quoted when it holds anything but letters, digits and _@%+=:,./-),
 * so the line pasted into a shell runs the same command; malloc'd, NULL
 * when out of memory. */
char *cli_command_line(const char *head, int argc, char **argv);

/* Signals. Every command starts with cli_cleanup_install(name): SIGINT,
 * SIGTERM, SIGHUP and SIGPIPE remove the temporaries of unfinished outputs
 * (lsp_out_unlink_live); the first three then end the process with
 * "lsprobe: NAME: interrupted" and exit 130, SIGPIPE (and every signal of
 * an MPI rank) by the same signal. Long commands then call
 * cli_interrupt_install: the first SIGINT, SIGTERM or SIGHUP asks the
 * library to stop (lsp_interrupt_request: loops end with LSP_EINTR,
 * temporaries are removed, exit 130); a later one ends the process as
 * above, unless it is the same signal from the same sender within a second
 * (GNU timeout's copy to the process group). The library installs no
 * handler itself. */
void cli_cleanup_install(const char *cmd);
void cli_interrupt_install(void);

/* The subcommands. */
int cmd_loss(int argc, char **argv);
int cmd_attack(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_clusters(int argc, char **argv);
int cmd_logitgap(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_calib(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_calibsim(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_distill(int argc, char **argv);

#endif
