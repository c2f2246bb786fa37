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

enum { CLI_OK = 0, CLI_DATA = 1, CLI_USAGE = 2, CLI_HELP = -1 };

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

/* Print "lsprobe: <cmd>: <library message>" and return the exit code for a
 * library status (CLI_DATA for data/IO errors, CLI_USAGE for LSP_EINVAL). */
int cli_lib_error(const char *cmd, int status);
/* Print "lsprobe: <cmd>: <formatted>" and return `code`. */
int cli_error(const char *cmd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print a double for JSON (null for NaN/Inf). */
void cli_json_number(double x, char *buf, size_t len);

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

#endif
