/* lsprobe compare — one report over the results.json files of earlier
 * `lsprobe run` jobs (reports/lsp_compare.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "reports/lsp_compare.h"
#include "reports/lsp_plot.h"

int cmd_compare(int argc, char **argv) {
  const char *cmd = "compare";
  cli_opt opts[] = {
      {"out", "DIR", "output folder (required; not a run's own folder); files lsprobe did not "
                     "write there are never removed", 1, 0, 0},
      {"force", NULL, "write into a non-empty --out folder lsprobe did not create", 0, 0, 0},
      {"format", "F", "extra plot format: svg (default), png or pdf", 1, 0, 0},
      {"ref-eps", "E", "attack ε of the table's FGSM/PGD columns, one every run attacked at "
                       "(default 0.1 if every run has it, else the largest shared one)", 1, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  /* run folders / results.json paths are positional: split them from the options */
  char **rest = malloc(((size_t)argc + 1) * sizeof *rest);
  const char **inputs = malloc(((size_t)argc + 1) * sizeof *inputs);
  if (!rest || !inputs) {
    free(rest);
    free(inputs);
    return cli_error(cmd, CLI_DATA, "out of memory");
  }
  int nrest = 0;
  size_t nin = 0;
  rest[nrest++] = argv[0];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] == '-' && a[1]) {
      rest[nrest++] = argv[i];
      int takes = 0;
      for (cli_opt *o = opts; o->name; o++)
        if (!strncmp(a, "--", 2) && !strcmp(a + 2, o->name) && o->arg) takes = 1;
      if (takes && i + 1 < argc) rest[nrest++] = argv[++i];
    } else {
      inputs[nin++] = a;
    }
  }
  rest[nrest] = NULL;
  int rc = cli_parse(cmd, "RUN... --out DIR [options]",
                     "Lay the results of earlier `lsprobe run` jobs side by side: one table row "
                     "per model of\nevery run, metrics against smoothing ε and accuracy under "
                     "attack, with a note when the\nruns are not comparable. Each RUN is a run's "
                     "output folder (its --out) or its\nresults.json. Writes compare.html, "
                     "compare.md, compare.json, compare.csv\nand plots/ into DIR. Nothing is "
                     "recomputed.",
                     nrest, rest, opts);
  double ref = NAN;
  lsp_compare_opts o;
  lsp_compare_opts_default(&o);
  if (!rc && nin == 0) rc = cli_error(cmd, CLI_USAGE, "no run folder or results.json given");
  if (!rc) rc = cli_require(cmd, opts, "out");
  if (!rc) rc = cli_check_out_dir(cmd, opts, "out", NULL);
  if (!rc && lsp_plot_format_parse(cli_str(opts, "format", "svg"), &o.format))
    rc = cli_error(cmd, CLI_USAGE, "--format: '%s' is not svg, png or pdf",
                   cli_str(opts, "format", ""));
  if (!rc && cli_has(opts, "ref-eps")) rc = cli_get_double(cmd, opts, "ref-eps", 0, 0, 1e6, &ref);
  if (rc) {
    free(rest);
    free(inputs);
    return rc;
  }
  o.ref_eps = ref;
  o.force = cli_has(opts, "force");
  char *command = cli_command_line("lsprobe compare", argc, argv);
  if (!command) {
    free(rest);
    free(inputs);
    return cli_error(cmd, CLI_DATA, "out of memory");
  }
  o.command = command;
  cli_interrupt_install();
  const char *out = cli_str(opts, "out", "");
  size_t cap = strlen(out) + sizeof "/compare.html";
  char *report = malloc(cap), warning[2048];
  int st = report ? lsp_compare(inputs, nin, out, &o, report, cap, warning, sizeof warning)
                  : lsp_fail(LSP_ENOMEM, "out of memory");
  free(rest);
  free(inputs);
  free(command);
  if (st == LSP_EINTR) {
    free(report);
    fprintf(stderr, "lsprobe: compare: interrupted; earlier files are untouched\n");
    return 130;
  }
  if (st) {
    free(report);
    return cli_lib_error(cmd, st);
  }
  if (warning[0]) fprintf(stderr, "lsprobe: compare: WARNING: %s\n", warning);
  printf("report: %s\n", report);
  free(report);
  return 0;
}
