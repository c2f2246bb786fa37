/* bench_train — training throughput of lsp_train against OpenBLAS's own
 * sgemm speed on the same network's GEMMs.
 *
 *   bench_train [--hidden 256,256 | --arch lenet|resnet8|SPEC] [--batch 128]
 *               [--epochs 1] [--threads 1] [--data fashion-mnist]
 *               [--smoothing 0.1] [--seed 1] [--max-train N] [--isa LEVEL]
 *
 * Trains the network (the MLP of --hidden, or any network of lsprobe train
 * --arch) on the data's training split (validation switched off so that only
 * training batches are timed) and prints one JSON line with the host
 * (bench_print_host): samples_per_s, cpu_s (user + system: on a shared
 * machine samples per CPU second still compare implementations when
 * wall-clock rates swing with the load), and the floor.
 *
 * The floor is the obvious implementation's arithmetic: the network's GEMMs
 * (dense layers as they are, convolutions by im2col; model_gemms) in a plain
 * cblas_sgemm loop timed in the same program. Flops counted are the work
 * done per sample: forward, weight gradient and input gradient, 2 flops per
 * multiply-add each, except the input gradient of the first layer, which no
 * one needs (PyTorch skips it too). Reported: sgemm_gflops (that loop on the
 * whole batch with the same thread count, OpenBLAS splitting each GEMM) and
 * share_of_sgemm = training GFLOP/s / sgemm_gflops, by the wall clock;
 * sgemm_1thread_cpu_gflops (the loop on one thread, by CPU time);
 * sgemm_team_cpu_gflops (threads > 1: the same loop run by `threads`
 * threads side by side, each on its own operands with OpenBLAS at one
 * thread, per thread and by each one's CPU time — what a core gets while
 * the others multiply too: on the 2-core test machine 3-7% less than one
 * core alone); share_of_sgemm_cpu = training GFLOP per CPU second / the
 * rate of this thread count (the 1-thread loop on one thread, the team's
 * otherwise; the steadier figure on a shared machine, and the fair one:
 * lsp_train runs single-threaded GEMMs on each thread side by side) and
 * share_of_sgemm_1thread_cpu the same against the 1-thread loop whatever
 * the thread count (the figure before 2026-12-02). sgemm_share_cpu_gflops,
 * sgemm_team_share_cpu_gflops and share_of_share_sgemm_cpu: the same on
 * one share's rows (what lsp_train runs for networks other than plain
 * MLPs; an MLP runs the whole batch, each layer cut by output features
 * among the threads); floor_samples_per_s = threads ×
 * the one-share rate / flops per sample, and share_of_floor = samples_per_s
 * / it. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "benchgemm.h"
#include "benchutil.h"
#include "core/data/lsp_data.h"
#include "core/base/lsp_error.h"
#include "core/nn/lsp_model.h"
#include "core/base/lsp_threads.h"
#include "core/train/lsp_train.h"

/* CPU seconds (user + system) used by this process so far. */
static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
         (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Comma-separated widths into w[]; returns the count (0 on a bad list). */
static size_t parse_widths(const char *s, size_t *w, size_t cap) {
  size_t n = 0;
  while (*s && n < cap) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v <= 0) return 0;
    w[n++] = (size_t)v;
    s = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return 0;
  }
  return *s ? 0 : n;
}

static const char USAGE[] =
    "usage: bench_train [--hidden 256,256 | --arch lenet|resnet8|SPEC] [--batch 128]\n"
    "                   [--epochs 1] [--threads 1] [--data fashion-mnist]\n"
    "                   [--smoothing 0.1] [--seed 1] [--max-train N]\n"
    "                   [--isa x86-64-v4|x86-64-v3|x86-64]\n";

int main(int argc, char **argv) {
  double load0 = bench_loadavg();
  size_t hidden[16];
  size_t nh = parse_widths(bench_arg_str(argc, argv, "--hidden", "256,256"),
                           hidden, 16);
  long batch = bench_arg_long(argc, argv, "--batch", 128);
  long epochs = bench_arg_long(argc, argv, "--epochs", 1);
  int threads = bench_arg_int(argc, argv, "--threads", 1);
  double eps = bench_arg_double(argc, argv, "--smoothing", 0.1);
  long seed = bench_arg_long(argc, argv, "--seed", 1);
  const char *spec = bench_arg_str(argc, argv, "--data", "fashion-mnist");
  const char *arch_spec = bench_arg_str(argc, argv, "--arch", NULL);
  long max_train = bench_arg_long(argc, argv, "--max-train", 0);
  bench_isa_arg(argc, argv);
  bench_args_end(argc, argv, USAGE);
  bench_need(nh > 0, argv, "--hidden", "not a list of widths (up to 16, each 1 or more)");
  bench_need(batch >= 1, argv, "--batch", "at least 1");
  bench_need(epochs >= 1, argv, "--epochs", "at least 1");
  bench_need(threads >= 1, argv, "--threads", "at least 1");
  bench_need(eps >= 0 && eps <= 1, argv, "--smoothing", "from 0 to 1");
  lsp_threads_set(threads);
  lsp_threads_set_blas(1); /* as `lsprobe train`: the threads run GEMMs side by side */
  lsp_data_opts dopt;
  lsp_data_opts_default(&dopt);
  dopt.spec = spec;
  dopt.max_train = max_train > 0 ? (size_t)max_train : 0;
  lsp_splits data = {0};
  if (lsp_data_load(&dopt, &data)) {
    fprintf(stderr, "bench_train: %s\n", lsp_errmsg());
    return 1;
  }
  lsp_dataset val = data.val; /* timed training only: no validation pass */
  memset(&data.val, 0, sizeof data.val);
  lsp_model *m = NULL;
  if (arch_spec) {
    lsp_shape in;
    lsp_splits_shape(&data, &in.c, &in.h, &in.w);
    if (lsp_model_from_spec(arch_spec, in, (size_t)data.train.k, NULL, 0, &m)) m = NULL;
  } else {
    m = lsp_model_alloc_mlp(data.train.dim, hidden, nh, (size_t)data.train.k);
  }
  if (!m) {
    fprintf(stderr, "bench_train: %s\n", lsp_errmsg());
    return 1;
  }
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.epochs = (size_t)epochs;
  o.batch = (size_t)batch;
  o.seed = (unsigned long)seed;
  o.smoothing.eps = eps;
  lsp_train_log log = {0};
  double cpu0 = cpu_seconds();
  if (lsp_train(m, &data, &o, NULL, NULL, &log)) {
    fprintf(stderr, "bench_train: %s\n", lsp_errmsg());
    return 1;
  }
  double cpu = cpu_seconds() - cpu0;
  /* the floor: the same network's GEMMs done the obvious way (model_gemms),
   * on one thread first (OpenBLAS's workers keep spinning for a while after
   * a threaded call and would steal from the single-threaded loop) */
  bench_gemm g[3 * 64], gs[3 * 64];
  double flops_per_sample = 0.0, peak1 = 0.0, peak = 0.0, cpeak1 = 0.0, cpeak = 0.0;
  double cpeak_share = 0.0, fl_share = 0.0, cpeak_team = 0.0, cpeak_team_share = 0.0;
  const unsigned what = BENCH_G_FWD | BENCH_G_WGRAD | BENCH_G_IGRAD;
  size_t ng = 0, ngs = 0;
  /* and on the rows of one share, the GEMMs lsp_train actually runs */
  size_t S = lsp_train_shares((size_t)batch), rows = ((size_t)batch + S - 1) / S;
  if (!bench_model_gemms(m, (size_t)batch, what, g, &ng, 3 * 64, &flops_per_sample) &&
      !bench_model_gemms(m, rows, what, gs, &ngs, 3 * 64, &fl_share) && ng) {
    lsp_threads_set_blas(1);
    peak1 = bench_sgemm_rate(g, ng, 30, &cpeak1);
    bench_sgemm_rate(gs, ngs, 30, &cpeak_share);
    if (threads > 1) {
      bench_sgemm_rate_team(g, ng, 30, threads, &cpeak_team);
      bench_sgemm_rate_team(gs, ngs, 30, threads, &cpeak_team_share);
      cpeak_team /= threads, cpeak_team_share /= threads; /* per thread */
    }
    lsp_threads_set_blas(threads);
    peak = bench_sgemm_rate(g, ng, 30, &cpeak);
  }
  (void)hidden;
  (void)nh;
  /* test accuracy, outside the timing, as a sanity check of the run */
  double acc = -1.0;
  float *z = malloc(data.test.n * (size_t)data.test.k * sizeof *z);
  if (z && !lsp_model_predict(m, data.test.x, data.test.n, 1024, z, NULL)) {
    size_t ok = 0, k = (size_t)data.test.k;
    for (size_t i = 0; i < data.test.n; i++) {
      size_t b = 0;
      for (size_t j = 1; j < k; j++)
        if (z[i * k + j] > z[i * k + b]) b = j;
      ok += (int32_t)b == data.test.y[i];
    }
    acc = (double)ok / (double)data.test.n;
  }
  char arch[128];
  lsp_model_describe(m, arch, sizeof arch);
  double gflops = log.samples_per_s * flops_per_sample / 1e9;
  /* by CPU time: the work per CPU second, against one thread's sgemm rate
   * by CPU time (training runs single-threaded GEMMs on each thread) */
  double cgflops = (double)epochs * (double)data.train.n * flops_per_sample / cpu / 1e9;
  printf("{\"impl\": \"lsprobe\", \"benchmark\": \"train\", ");
  bench_print_host(threads, 1, load0);
  printf(", \"arch\": \"%s\", \"data\": \"%s\", \"n_train\": %zu, \"batch\": %ld, "
         "\"epochs\": %ld, \"smoothing\": %g, \"seconds\": %.4f, \"samples_per_s\": %.1f, "
         "\"cpu_s\": %.4f, \"gflops\": %.3f, \"gflops_cpu\": %.3f, ",
         arch, data.name, data.train.n, batch, epochs, eps, log.seconds, log.samples_per_s, cpu,
         gflops, cgflops);
  if (peak > 0)
    printf("\"floor_samples_per_s\": %.1f, \"share_of_floor\": %.3f, ",
           (double)threads * cpeak_share * 1e9 / flops_per_sample,
           log.samples_per_s / ((double)threads * cpeak_share * 1e9 / flops_per_sample));
  /* the CPU-time floor of T threads: what one of T threads multiplying
   * the batch's GEMMs side by side gets per CPU second (T = 1: alone) */
  double cfloor = threads > 1 && cpeak_team > 0 ? cpeak_team : cpeak1;
  if (peak > 0)
    printf("\"sgemm_gflops\": %.3f, \"sgemm_1thread_gflops\": %.3f, "
           "\"sgemm_1thread_cpu_gflops\": %.3f, \"sgemm_share_cpu_gflops\": %.3f, "
           "\"sgemm_team_cpu_gflops\": %.3f, \"sgemm_team_share_cpu_gflops\": %.3f, "
           "\"share_of_sgemm\": %.3f, \"share_of_sgemm_cpu\": %.3f, "
           "\"share_of_sgemm_1thread_cpu\": %.3f, \"share_of_share_sgemm_cpu\": %.3f, ",
           peak, peak1, cpeak1, cpeak_share, cpeak_team, cpeak_team_share, gflops / peak,
           cgflops / cfloor, cgflops / cpeak1, cgflops / cpeak_share);
  else
    printf("\"floor_samples_per_s\": null, \"share_of_floor\": null, "
           "\"sgemm_gflops\": null, \"sgemm_1thread_gflops\": null, "
           "\"sgemm_1thread_cpu_gflops\": null, \"sgemm_share_cpu_gflops\": null, "
           "\"sgemm_team_cpu_gflops\": null, \"sgemm_team_share_cpu_gflops\": null, "
           "\"share_of_sgemm\": null, \"share_of_sgemm_cpu\": null, "
           "\"share_of_sgemm_1thread_cpu\": null, \"share_of_share_sgemm_cpu\": null, ");
  printf("\"test_accuracy\": %.4f}\n", acc);
  free(z);
  lsp_train_log_free(&log);
  lsp_model_free(m);
  data.val = val;
  lsp_splits_free(&data);
  return 0;
}
