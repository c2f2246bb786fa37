/* lsprobe calib-sim — the simulation study of the calibration estimators:
 * bias of each estimator and coverage of its percentile and test-inversion
 * intervals against targets known exactly (docs/CALIBRATION_SIM.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_calib_sim.h"
#include "cli/cli.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"

static const char *target_name(int e) {
  switch (e) {
    case LSP_SIM_RMSCE:
    case LSP_SIM_ECE_L2_DEBIASED: return "l2";
    case LSP_SIM_SMECE: return "smece";
    default: return "l1";
  }
}

/* One number of the table in fmt, or "–" (not applicable) when it is not
 * finite: an estimator without a binned target, an sd of one replicate. */
typedef struct {
  char s[32];
} cell;
static cell num(const char *fmt, double v) {
  cell c;
  if (isfinite(v)) snprintf(c.s, sizeof c.s, fmt, v);
  else
    snprintf(c.s, sizeof c.s, "–");
  return c;
}

int cmd_calibsim(int argc, char **argv) {
  const char *cmd = "calib-sim";
  size_t nsc = 0;
  const lsp_sim_scenario *sc = lsp_sim_scenarios(&nsc);
  char names[256] = "";
  for (size_t i = 0; i < nsc; i++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "," : "",
             sc[i].name);
  cli_opt opts[] = {
      {"n", "N,...", "sample sizes (default 500,2000,10000)", 1, 0, 0},
      {"reps", "R", "replicates per scenario and N (default 500)", 1, 0, 0},
      {"bootstrap", "B", "bootstrap resamples per replicate (default 200)", 1, 0, 0},
      {"bins", "M", "equal-width bins of the binned estimators (default 15)", 1, 0, 0},
      {"scenarios", "S,...", "scenarios to run (default all)", 1, 0, 0},
      {"seed", "S", "seed (default 1)", 1, 0, 0},
      {"threads", "T", "replicates run in parallel (default 1; 0: all cores)", 1, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  char about[1024];
  snprintf(about, sizeof about,
           "Simulation study of the calibration estimators: confidences from a Beta law,\n"
           "correctness from a known calibration curve, targets by GSL quadrature. For\n"
           "each scenario, N and estimator: mean, bias against its target, sd, and the\n"
           "coverage and width of the 95%% percentile and test-inversion intervals.\n"
           "Scenarios: %s.",
           names);
  int rc = cli_parse(cmd, "[--n 500,2000,10000] [--reps 500] [--bootstrap 200] [options]",
                     about, argc, argv, opts);
  if (rc) return rc;
  long *ns = NULL, reps, boot, bins, seed, threads;
  size_t nn = 0;
  if ((rc = cli_get_longs_distinct(cmd, opts, "n", "500,2000,10000", 2, 100000000, &ns, &nn)) ||
      (rc = cli_get_long(cmd, opts, "reps", 500, 1, 10000000, &reps)) ||
      (rc = cli_get_long(cmd, opts, "bootstrap", 200, 2, 10000000, &boot)) ||
      (rc = cli_get_long(cmd, opts, "bins", 15, 1, 1000000, &bins)) ||
      (rc = cli_get_long(cmd, opts, "seed", 1, 0, 4294967295L, &seed)) ||
      (rc = cli_get_long(cmd, opts, "threads", 1, 0, 1024, &threads))) {
    free(ns);
    return rc;
  }
  cli_bootstrap_warn(cmd, boot); /* the coverage columns rest on the tails */
  int use[64] = {0};
  const char *want = cli_str(opts, "scenarios", NULL);
  for (size_t i = 0; i < nsc; i++) use[i] = want == NULL;
  if (want) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", want);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
      size_t i = 0;
      while (i < nsc && strcmp(sc[i].name, tok) != 0) i++;
      if (i == nsc) {
        free(ns);
        return cli_error(cmd, CLI_USAGE, "--scenarios: unknown scenario '%s' (%s)", tok, names);
      }
      use[i] = 1;
    }
    size_t chosen = 0;
    for (size_t i = 0; i < nsc; i++) chosen += use[i] != 0;
    if (chosen == 0) {
      free(ns);
      return cli_error(cmd, CLI_USAGE, "--scenarios: no scenario given (%s)", names);
    }
  }
  if (threads == 0) { /* every core (OMP_NUM_THREADS) */
    lsp_threads_set(0);
    threads = lsp_threads_get();
  }
  lsp_sim_opts so = {(int)reps, (int)boot, (int)bins, (int)threads, (uint64_t)seed};
  printf("# calib-sim: %ld replicates, %ld bootstrap resamples, %ld bins, seed %ld\n\n", reps,
         boot, bins, seed);
  printf("| scenario | N | estimator | target | value | mean | bias | bias (binned) | sd | "
         "cover pct (above) | cover inv (above) | width pct | width inv |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < nsc; i++) {
    if (!use[i]) continue;
    lsp_sim_truth t;
    int st = lsp_sim_truth_compute(&sc[i], (int)bins, &t);
    if (st) {
      free(ns);
      return cli_lib_error(cmd, st);
    }
    for (size_t k = 0; k < nn; k++) {
      lsp_sim_row row[LSP_SIM_NEST];
      lsp_sim_opts sk = so;
      sk.seed = so.seed ^ ((uint64_t)i << 48);
      if ((st = lsp_sim_run(&sc[i], &t, (size_t)ns[k], &sk, row))) {
        free(ns);
        return cli_lib_error(cmd, st);
      }
      for (int e = 0; e < LSP_SIM_NEST; e++) {
        const lsp_sim_row *w = &row[e];
        printf("| %s | %ld | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s (%s) | %s | %s |\n",
               sc[i].name, ns[k], lsp_calib_metric_name(lsp_sim_metric(e)), target_name(e),
               num("%.5f", lsp_sim_target(e, &t)).s, num("%.5f", w->mean).s,
               num("%+.5f", w->bias).s, num("%+.5f", w->bias_binned).s, num("%.5f", w->sd).s,
               num("%.3f", w->cover_pct).s, num("%.3f", w->above_pct).s,
               num("%.3f", w->cover_inv).s, num("%.3f", w->above_inv).s,
               num("%.5f", w->width_pct).s, num("%.5f", w->width_inv).s);
      }
      fflush(stdout);
    }
  }
  free(ns);
  return 0;
}
