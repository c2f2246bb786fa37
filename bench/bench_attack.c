/* bench_attack — time an FGSM sweep (or PGD, APGD, Square, AutoAttack) on a
 * dataset split.
 *
 *   bench_attack (--model M | --arch lenet|SPEC [--seed S] [--export DIR])
 *                [--data fashion-mnist | --x X.npy --labels y.npy]
 *                [--eps 0,0.05,0.1,0.2] [--attack fgsm|pgd|apgd-ce|apgd-dlr|
 *                apgd-t|square|autoattack] [--steps 10] [--threads T]
 *                [--reps R] [--batch B] [--limit N] [--full-steps 1]
 *                [--isa LEVEL]
 *
 * --arch builds the network from a spec (lsprobe train --arch) with PyTorch's
 * initialization from --seed (untrained: the timing does not depend on the
 * weights, and both sides then compute the same thing); --export DIR writes
 * its parameters, in order, as DIR/param_000.npy, param_001.npy, ... for
 * bench/torch_peer.py (attack --arch ... --model DIR).
 *
 * APGD/Square/AutoAttack run with their standard settings (100 iterations,
 * 9 targets, 5000 queries; --steps sets APGD's iterations); the JSON line
 * adds seconds_per_100 (median seconds per 100 attacked images) and, for
 * AutoAttack, the robust accuracy after each stage. cpu_s is the median CPU
 * time (user + system) of a run: on a shared machine, with one thread, the
 * steadier measure of the work done.
 *
 * FGSM: the input gradient once, then one forward per ε > 0. PGD: `steps`
 * steps of 2.5ε/steps from a random start, one restart, per ε > 0; by default an
 * example leaves the batch at its first misclassified iterate (early exit),
 * --full-steps 1 runs every step on every example as the PyTorch peer does.
 * Prints one JSON line: median_s and cpu_s over R runs (after one warm-up),
 * the network's GFLOP of a run (2 per multiply-add of the dense and
 * convolution layers), the achieved GFLOP/s, the accuracy at each ε (so the
 * PyTorch peer can be checked to compute the same thing) and the host. For
 * FGSM also its floor: the same GEMMs (every forward, and the input
 * gradients; convolutions by im2col, benchgemm.h) in a plain cblas_sgemm
 * loop on the same batch, timed in the same program (sgemm_gflops, floor_s,
 * share_of_sgemm = floor_s / median_s; and by CPU time, floor_cpu_s and
 * share_of_sgemm_cpu: on a shared machine the steadier pair). With T > 1
 * threads the attacks run OpenBLAS at one thread and their batches on T
 * threads (lsp_attack_team.c), and FGSM's floor is that loop run by T
 * threads side by side (bench_sgemm_rate_team), per CPU second of each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attacks/lsp_attack.h"
#include "benchgemm.h"
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

/* The parameters of m in order into DIR/param_NNN.npy (weight, then bias,
 * node by node: the order of torch's model.parameters()). */
static int export_params(const lsp_model *m, const char *dir) {
  mkdir(dir, 0777);
  int idx = 0;
  for (size_t i = 0; i < m->nnodes; i++) {
    const char *names[2] = {"weight", "bias"};
    for (int t = 0; t < 2; t++) {
      float *v, *g;
      size_t cnt;
      if (lsp_model_tensor(m, i, names[t], &v, &g, &cnt)) continue;
      const lsp_node *nd = &m->nodes[i];
      size_t shape[4];
      int nd_dims = 1;
      shape[0] = cnt;
      if (t == 0 && nd->op == LSP_OP_CONV) {
        shape[0] = nd->a.units, shape[1] = nd->ishape.c / nd->a.groups;
        shape[2] = nd->a.kh;
        shape[3] = nd->a.kw, nd_dims = 4;
      } else if (t == 0 && nd->op == LSP_OP_DENSE) {
        shape[0] = nd->a.units, shape[1] = cnt / nd->a.units, nd_dims = 2;
      }
      char path[4096];
      snprintf(path, sizeof path, "%s/param_%03d.npy", dir, idx++);
      if (lsp_npy_write(path, LSP_DT_F32, nd_dims, shape, v)) return 1;
    }
  }
  return 0;
}

static const char USAGE[] =
    "usage: bench_attack (--model M | --arch lenet|SPEC [--seed 1] [--export DIR])\n"
    "                    [--data fashion-mnist | --x X.npy --labels y.npy]\n"
    "                    [--eps 0,0.05,0.1,0.2] [--attack fgsm|pgd|apgd-ce|apgd-dlr|\n"
    "                    apgd-t|square|autoattack] [--steps 10] [--threads 1]\n"
    "                    [--reps 5] [--batch B] [--limit N] [--full-steps 1]\n"
    "                    [--isa x86-64-v4|x86-64-v3|x86-64]\n";

int main(int argc, char **argv) {
  double load0 = bench_loadavg();
  const char *mpath = bench_arg_str(argc, argv, "--model", NULL);
  const char *arch = bench_arg_str(argc, argv, "--arch", NULL);
  const char *exp_dir = bench_arg_str(argc, argv, "--export", NULL);
  const char *data = bench_arg_str(argc, argv, "--data", "fashion-mnist");
  const char *xp = bench_arg_str(argc, argv, "--x", NULL);
  const char *yp = bench_arg_str(argc, argv, "--labels", NULL);
  const char *elist = bench_arg_str(argc, argv, "--eps", "0,0.05,0.1,0.2");
  const char *attack = bench_arg_str(argc, argv, "--attack", "fgsm");
  int threads = bench_arg_int(argc, argv, "--threads", 1);
  int reps = bench_arg_int(argc, argv, "--reps", 5);
  long steps = bench_arg_long(argc, argv, "--steps", 0);
  long batch = bench_arg_long(argc, argv, "--batch", 0);
  long limit = bench_arg_long(argc, argv, "--limit", 0);
  long seed = bench_arg_long(argc, argv, "--seed", 1);
  const int full_steps = bench_arg_int(argc, argv, "--full-steps", 0);
  bench_isa_arg(argc, argv);
  bench_args_end(argc, argv, USAGE);
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  bench_need(!mpath != !arch, argv, mpath ? "--arch" : "--model",
             mpath ? "not with --model" : "needed, or --arch (bench_attack --help)");
  bench_need(reps >= 1, argv, "--reps", "at least 1");
  bench_need(threads >= 1, argv, "--threads", "at least 1");
  bench_need(!lsp_attack_kind_parse(attack, &o.kind) && o.kind != LSP_ATTACK_BIM, argv,
             "--attack", "one of fgsm, pgd, apgd-ce, apgd-dlr, apgd-t, square, autoattack");
  double eps[64];
  size_t neps = 0, npos = 0;
  for (const char *p = elist; *p && neps < 64;) {
    char *end;
    eps[neps++] = strtod(p, &end);
    if (end == p || (*end && *end != ',') || eps[neps - 1] < 0) {
      fprintf(stderr, "bench_attack: --eps: bad list '%s'\n", elist);
      return 2;
    }
    npos += eps[neps - 1] > 0;
    p = *end ? end + 1 : end;
  }
  /* a benchmark owns its process: BLAS too — at one thread, as `lsprobe
   * attack` sets it: every attack's batches are shared by lsprobe's threads
   * (lsp_attack_team.c) */
  lsp_threads_set(threads);
  lsp_threads_set_blas(1);
  const int aa = lsp_attack_kind_is_aa(o.kind);
  if (steps > 0 && aa) o.apgd_steps = (size_t)steps;
  if (steps > 0 && !aa) o.steps = (size_t)steps;
  o.batch = (size_t)batch;
  o.full_steps = full_steps;

  lsp_splits sp;
  memset(&sp, 0, sizeof sp);
  lsp_array xa = {0}, ya = {0};
  const float *x = NULL;
  float *xown = NULL;
  int32_t *y = NULL;
  size_t n = 0, dim = 0;
  lsp_model *m = NULL;
  if (xp && yp) {
    if (lsp_npy_read_matrix(xp, &xa, &x, &xown, &n, &dim)) return die(xp);
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
  if (mpath) {
    if (lsp_model_load(mpath, &m)) return die(mpath);
  } else {
    lsp_shape in = {1, 28, 28};
    if (!(xp && yp)) lsp_splits_shape(&sp, &in.c, &in.h, &in.w);
    if (lsp_model_from_spec(arch, in, 10, NULL, 0, &m) ||
        lsp_model_init(m, (unsigned long)seed))
      return die(arch);
    if (exp_dir && export_params(m, exp_dir)) return die(exp_dir);
  }
  if (xp && yp &&
      (lsp_npy_read(yp, &ya) || lsp_array_labels(&ya, yp, (int)m->out_dim, &y)))
    return die(yp);
  if (limit > 0 && (size_t)limit < n) n = (size_t)limit;

  double *t = malloc(2 * (size_t)reps * sizeof *t), gflop = 0.0;
  double *tc = t + reps;
  lsp_attack_result r;
  memset(&r, 0, sizeof r);
  for (int rep = -1; rep < reps; rep++) {
    lsp_attack_result_free(&r);
    double t0 = bench_now(), c0 = bench_cpu_s();
    if (lsp_attack_run(m, NULL, x, y, n, dim, eps, neps, &o, &r)) return die("attack");
    if (rep >= 0) t[rep] = bench_now() - t0, tc[rep] = bench_cpu_s() - c0;
    gflop = r.flops / 1e9;
  }
  double tmin = t[0];
  for (int i = 1; i < reps; i++) tmin = t[i] < tmin ? t[i] : tmin;
  double med = bench_median(t, (size_t)reps), cmed = bench_median(tc, (size_t)reps);
  /* the floor of an FGSM sweep: its GEMMs alone, done the obvious way on
   * lsp_attack's batch — per batch the clean forward, the gradient's
   * forward and input gradients (every layer), and a forward per ε > 0 */
  double rate = 0.0, crate = 0.0, floor_s = 0.0, floor_cpu = 0.0;
  if (o.kind == LSP_ATTACK_FGSM) {
    size_t b = batch > 0 ? (size_t)batch : 256, ng = 0; /* lsp_attack's default */
    if (b > n) b = n;
    bench_gemm g[256];
    double fl = 0.0;
    int full = 0;
    for (size_t p = 0; p < 2 + npos && !full; p++)
      full = bench_model_gemms(m, b, BENCH_G_FWD, g, &ng, 256, &fl);
    if (!full) full = bench_model_gemms(m, b, BENCH_G_IGRAD | BENCH_G_IGRAD_FIRST, g, &ng, 256, &fl);
    if (!full && ng) {
      if (threads > 1) { /* the threads' batches side by side: the team's floor */
        rate = bench_sgemm_rate_team(g, ng, 10, threads, &crate);
        crate /= threads; /* per CPU second, as cpu_s counts every thread */
      } else {
        rate = bench_sgemm_rate(g, ng, 10, &crate);
      }
      fl *= (double)n;
      floor_s = rate > 0 ? fl / (rate * 1e9) : 0.0;
      floor_cpu = crate > 0 ? fl / (crate * 1e9) : 0.0;
    }
  }
  char desc[128];
  lsp_model_describe(m, desc, sizeof desc);
  printf("{\"impl\": \"lsprobe\", \"benchmark\": \"attack\", ");
  bench_print_host(threads, 1, load0);
  printf(", \"attack\": \"%s\", \"model\": \"%s\", \"n\": %zu, \"steps\": %zu, "
         "\"early_exit\": %s, \"reps\": %d, \"median_s\": %.6f, \"min_s\": %.6f, "
         "\"cpu_s\": %.6f, \"seconds_per_100\": %.4f, \"gflop\": %.4f, "
         "\"gflop_per_s\": %.2f, ",
         lsp_attack_kind_name(o.kind), desc, n, r.steps, r.early_exit ? "true" : "false", reps,
         med, tmin, cmed, 100.0 * med / (double)n, gflop, gflop / med);
  if (floor_s > 0)
    printf("\"sgemm_gflops\": %.3f, \"floor_s\": %.6f, \"share_of_sgemm\": %.3f, "
           "\"floor_cpu_s\": %.6f, \"share_of_sgemm_cpu\": %.3f, ",
           rate, floor_s, floor_s / med, floor_cpu, floor_cpu / cmed);
  else
    printf("\"sgemm_gflops\": null, \"floor_s\": null, \"share_of_sgemm\": null, "
           "\"floor_cpu_s\": null, \"share_of_sgemm_cpu\": null, ");
  printf("\"eps\": [");
  for (size_t e = 0; e < neps; e++) printf("%s%g", e ? ", " : "", eps[e]);
  printf("], \"accuracy\": [");
  for (size_t e = 0; e < neps; e++) printf("%s%.5f", e ? ", " : "", r.points[e].accuracy_raw);
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
  free(xown);
  if (xp && yp) free(y);
  lsp_array_release(&xa);
  lsp_array_release(&ya);
  lsp_splits_free(&sp);
  lsp_model_free(m);
  return 0;
}
