/* bench_attack — time an FGSM sweep (or PGD, APGD, Square, AutoAttack) on a
 * dataset split.
 *
 *   bench_attack --model M [--data fashion-mnist | --x X.npy --labels y.npy]
 *                [--eps 0,0.05,0.1,0.2] [--attack fgsm|pgd|apgd-ce|apgd-dlr|
 *                apgd-t|square|autoattack] [--steps 10] [--threads T]
 *                [--reps R] [--batch B] [--limit N] [--full-steps 1]
 *
 * APGD/Square/AutoAttack run with their standard settings (100 iterations,
 * 9 targets, 5000 queries; --steps sets APGD's iterations); the JSON line
 * adds seconds_per_100 (median seconds per 100 attacked images) and, for
 * AutoAttack, the robust accuracy after each stage. cpu_s is the median CPU
 * time (user + system) of a run: on a shared machine, with one thread, the
 * steadier measure of the work done.
 *
 * FGSM: the input gradient once, then one forward per ε > 0. PGD: `steps`
 * steps of ε/4 from a random start, one restart, per ε > 0; by default an
 * example leaves the batch at its first misclassified iterate (early exit),
 * --full-steps 1 runs every step on every example as the PyTorch peer does.
 * Prints one JSON line: median_s over R runs (after one warm-up), the
 * dense-layer GFLOP of a run, the achieved GFLOP/s, and the accuracy at each ε
 * (so the PyTorch peer can be checked to compute the same thing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack.h"
#include "benchutil.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/data/lsp_data.h"
#include "core/formats/lsp_npy.h"
#include "core/import/lsp_import.h"
#include "core/nn/lsp_model.h"

static int die(const char *what) {
  fprintf(stderr, "bench_attack: %s: %s\n", what, lsp_errmsg());
  return 1;
}

int main(int argc, char **argv) {
  const char *mpath = bench_arg_str(argc, argv, "--model", NULL);
  const char *data = bench_arg_str(argc, argv, "--data", "fashion-mnist");
  const char *xp = bench_arg_str(argc, argv, "--x", NULL);
  const char *yp = bench_arg_str(argc, argv, "--labels", NULL);
  const char *elist = bench_arg_str(argc, argv, "--eps", "0,0.05,0.1,0.2");
  const char *attack = bench_arg_str(argc, argv, "--attack", "fgsm");
  int threads = (int)bench_arg_long(argc, argv, "--threads", 1);
  int reps = (int)bench_arg_long(argc, argv, "--reps", 5);
  long steps = bench_arg_long(argc, argv, "--steps", 0);
  long batch = bench_arg_long(argc, argv, "--batch", 0);
  long limit = bench_arg_long(argc, argv, "--limit", 0);
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  if (!mpath || reps < 1 || steps < 0 || batch < 0 ||
      lsp_attack_kind_parse(attack, &o.kind) || o.kind == LSP_ATTACK_BIM) {
    fprintf(
        stderr,
        "usage: bench_attack --model M [--data D | --x X.npy --labels y.npy] "
        "[--eps LIST] [--attack fgsm|pgd|apgd-ce|apgd-dlr|apgd-t|square|"
        "autoattack] [--threads T] [--reps R]\n");
    return 2;
  }
  double eps[64];
  size_t neps = 0;
  for (const char *p = elist; *p && neps < 64;) {
    char *end;
    eps[neps++] = strtod(p, &end);
    if (end == p || (*end && *end != ',') || eps[neps - 1] < 0) {
      fprintf(stderr, "bench_attack: --eps: bad list '%s'\n", elist);
      return 2;
    }
    p = *end ? end + 1 : end;
  }
  lsp_threads_set(threads); /* a benchmark owns its process: BLAS too */
  lsp_threads_set_blas(threads);
  const int aa = lsp_attack_kind_is_aa(o.kind);
  if (steps > 0 && aa) o.apgd_steps = (size_t)steps;
  if (steps > 0 && !aa) o.steps = (size_t)steps;
  o.batch = (size_t)batch;
  o.full_steps = (int)bench_arg_long(argc, argv, "--full-steps", 0);

  lsp_model *m = NULL;
  if (lsp_model_load(mpath, &m)) return die(mpath);
  lsp_splits sp;
  memset(&sp, 0, sizeof sp);
  lsp_array xa = {0}, ya = {0};
  const float *x = NULL;
  float *xown = NULL;
  int32_t *y = NULL;
  size_t n = 0, dim = 0;
  if (xp && yp) {
    if (lsp_npy_read_matrix(xp, &xa, &x, &xown, &n, &dim)) return die(xp);
    if (lsp_npy_read(yp, &ya) || lsp_array_labels(&ya, yp, (int)m->out_dim, &y))
      return die(yp);
  } else {
    lsp_data_opts dopt;
    lsp_data_opts_default(&dopt);
    dopt.spec = data;
    if (lsp_data_load(&dopt, &sp)) return die(data);
    x = sp.test.x;
    y = sp.test.y;
    n = sp.test.n;
    dim = sp.test.dim;
    o.lo = sp.lo;
    o.hi = sp.hi;
  }
  if (limit > 0 && (size_t)limit < n) n = (size_t)limit;

  double *t = malloc((size_t)reps * sizeof *t),
         *cpu = malloc((size_t)reps * sizeof *cpu), gflop = 0.0;
  lsp_attack_result r;
  memset(&r, 0, sizeof r);
  for (int rep = -1; rep < reps; rep++) {
    lsp_attack_result_free(&r);
    double t0 = bench_now(), c0 = bench_cpu_s();
    if (lsp_attack_run(m, NULL, x, y, n, dim, eps, neps, &o, &r))
      return die("attack");
    if (rep >= 0) {
      t[rep] = bench_now() - t0;
      cpu[rep] = bench_cpu_s() - c0;
    }
    gflop = r.flops / 1e9;
  }
  double med = bench_median(t, (size_t)reps);
  double cpu_med = bench_median(cpu, (size_t)reps);
  char desc[128];
  lsp_model_describe(m, desc, sizeof desc);
  printf(
      "{\"impl\": \"lsprobe\", \"attack\": \"%s\", \"model\": \"%s\", \"n\": "
      "%zu, "
      "\"steps\": %zu, \"early_exit\": %s, \"threads\": %d, \"reps\": %d, "
      "\"median_s\": %.6f, \"min_s\": %.6f, \"cpu_s\": %.6f, "
      "\"seconds_per_100\": %.4f, "
      "\"gflop\": %.4f, \"gflop_per_s\": %.2f, \"eps\": [",
      lsp_attack_kind_name(o.kind), desc, n, r.steps,
      r.early_exit ? "true" : "false", threads, reps, med, t[0], cpu_med,
      100.0 * med / (double)n, gflop, gflop / med);
  for (size_t e = 0; e < neps; e++) printf("%s%g", e ? ", " : "", eps[e]);
  printf("], \"accuracy\": [");
  for (size_t e = 0; e < neps; e++)
    printf("%s%.5f", e ? ", " : "", r.points[e].accuracy_raw);
  printf("]");
  if (o.kind == LSP_ATTACK_AUTOATTACK) {
    printf(", \"stages\": [");
    for (size_t e = 0; e < neps; e++) {
      printf("%s{", e ? ", " : "");
      for (int s = 0; s < LSP_AA_NSTAGES; s++)
        printf("%s\"%s\": %.5f", s ? ", " : "", lsp_aa_stage_names[s],
               r.points[e].stage_accuracy[s]);
      printf("}");
    }
    printf("]");
  }
  printf("}\n");
  lsp_attack_result_free(&r);
  free(t);
  free(cpu);
  free(xown);
  if (xp && yp) free(y);
  lsp_array_release(&xa);
  lsp_array_release(&ya);
  lsp_splits_free(&sp);
  lsp_model_free(m);
  return 0;
}
