/* bench_distill — time the fused soft-target losses forward+backward.
 *
 *   bench_distill [--n 65536] [--k 10] [--temperature 4] [--alpha 0.9]
 *                 [--threads 1] [--reps 20]
 *                 [--soft]   (cross-entropy against soft targets instead)
 *                 [--isa x86-64-v4|x86-64-v3|x86-64]
 *
 * Prints one JSON line: median_s over R repetitions (after one warm-up) and
 * the bytes moved (two float32 inputs read and one gradient written per
 * logit), with the hard-label kernel (lsp_loss_xent) timed on the same
 * logits for comparison, and the host (bench_print_host: "isa" is the
 * kernel level that ran). */
#include <stdio.h>
#include <stdlib.h>

#include "benchutil.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/loss/lsp_loss.h"
#include "core/loss/lsp_soft.h"

static const char USAGE[] =
    "usage: bench_distill [--n 65536] [--k 10] [--temperature 4] [--alpha 0.9]\n"
    "                     [--threads 1] [--reps 20] [--soft]\n"
    "                     [--isa x86-64-v4|x86-64-v3|x86-64]\n";

int main(int argc, char **argv) {
  size_t n = (size_t)bench_arg_long(argc, argv, "--n", 65536);
  size_t k = (size_t)bench_arg_long(argc, argv, "--k", 10);
  double temp = bench_arg_double(argc, argv, "--temperature", 4.0);
  double alpha = bench_arg_double(argc, argv, "--alpha", 0.9);
  int threads = bench_arg_int(argc, argv, "--threads", 1);
  int reps = bench_arg_int(argc, argv, "--reps", 20);
  const int soft = bench_arg_flag(argc, argv, "--soft");
  bench_isa_arg(argc, argv);
  bench_args_end(argc, argv, USAGE);
  bench_need(n > 0, argv, "--n", "at least 1");
  bench_need(k >= 2, argv, "--k", "at least 2");
  bench_need(reps >= 1, argv, "--reps", "at least 1");
  double load0 = bench_loadavg();
  lsp_threads_set(threads);
  lsp_threads_set_blas(1); /* no BLAS here; pinned so the record is true */
  float *z = malloc(n * k * sizeof *z), *t = malloc(n * k * sizeof *t);
  float *g = malloc(n * k * sizeof *g);
  int32_t *y = malloc(n * sizeof *y);
  double *tm = malloc((size_t)reps * sizeof *tm),
         *tx = malloc((size_t)reps * sizeof *tx);
  if (!z || !t || !g || !y || !tm || !tx) {
    fprintf(stderr, "bench_distill: out of memory\n");
    return 1;
  }
  unsigned s = 1;
  for (size_t i = 0; i < n * k; i++) {
    s = s * 1664525u + 1013904223u;
    z[i] = 4.0f * ((float)(s >> 8) / 16777216.0f - 0.5f);
    s = s * 1664525u + 1013904223u;
    t[i] = 6.0f * ((float)(s >> 8) / 16777216.0f - 0.5f);
  }
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)((i * 2654435761u) % k);
  if (soft) lsp_softmax_rows(t, t, n, k);
  lsp_distill d = {alpha, temp, {0.0, LSP_LS_UNIFORM, 0}};
  lsp_distill_mean m = {0};
  double loss = 0, lx = 0;
  for (int r = -1; r < reps; r++) {
    double t0 = bench_now();
    int st =
        soft
            ? lsp_loss_soft_xent(z, t, n, k, g, 1.0 / (double)n, NULL, &loss)
            : lsp_loss_distill(z, t, y, n, k, &d, g, 1.0 / (double)n, NULL, &m);
    if (st) {
      fprintf(stderr, "bench_distill: %s\n", lsp_errmsg());
      return 1;
    }
    if (r >= 0) tm[r] = bench_now() - t0;
    t0 = bench_now();
    if (lsp_loss_xent(z, y, n, k, &d.hard, g, 1.0 / (double)n, NULL, &lx))
      return 1;
    if (r >= 0) tx[r] = bench_now() - t0;
  }
  if (!soft) loss = m.loss;
  double med = bench_median(tm, (size_t)reps),
         medx = bench_median(tx, (size_t)reps);
  double bytes = 12.0 * (double)n * (double)k;
  printf("{\"impl\": \"lsprobe\", ");
  bench_print_host(threads, 1, load0);
  printf(
      ", \"loss_kind\": \"%s\", \"n\": %zu, \"k\": %zu, "
      "\"temperature\": %g, \"alpha\": %g, \"reps\": %d, "
      "\"median_s\": %.6f, \"gb_per_s\": %.3f, \"xent_median_s\": %.6f, "
      "\"loss\": %.9f}\n",
      soft ? "soft_targets" : "distill", n, k, temp, alpha, reps, med,
      bytes / med / 1e9, medx, loss);
  free(z);
  free(t);
  free(g);
  free(y);
  free(tm);
  free(tx);
  return 0;
}
