/* bench_loss — time the fused label-smoothed cross-entropy forward+backward.
 *
 *   bench_loss --n N --k K --eps E --threads T --reps R
 *
 * Prints one JSON line: median_s over R repetitions (after one warm-up), the
 * bytes moved (4 read + 4 written per logit), the achieved GB/s and this
 * machine's single-thread memcpy bandwidth for the same byte count. */
#include <stdio.h>
#include <stdlib.h>

#include "benchutil.h"
#include "core/base/lsp_error.h"
#include "core/loss/lsp_loss.h"
#include "core/base/lsp_threads.h"

int main(int argc, char **argv) {
  size_t n = (size_t)bench_arg_long(argc, argv, "--n", 65536);
  size_t k = (size_t)bench_arg_long(argc, argv, "--k", 1000);
  double eps = bench_arg_double(argc, argv, "--eps", 0.1);
  int threads = (int)bench_arg_long(argc, argv, "--threads", 1);
  int reps = (int)bench_arg_long(argc, argv, "--reps", 20);
  const char *conv = bench_arg_str(argc, argv, "--convention", "uniform");
  lsp_ls ls = {eps, LSP_LS_UNIFORM, 0};
  if (lsp_ls_convention_parse(conv, &ls.convention) || n == 0 || k < 2 || reps < 1) {
    fprintf(stderr, "bench_loss: bad arguments\n");
    return 2;
  }
  lsp_threads_set(threads); /* a benchmark owns its process: BLAS too */
  lsp_threads_set_blas(threads);
  float *z = malloc(n * k * sizeof *z), *g = malloc(n * k * sizeof *g);
  int32_t *y = malloc(n * sizeof *y);
  if (!z || !g || !y) {
    fprintf(stderr, "bench_loss: out of memory\n");
    return 1;
  }
  unsigned s = 1;
  for (size_t i = 0; i < n * k; i++) {
    s = s * 1664525u + 1013904223u;
    z[i] = 4.0f * ((float)(s >> 8) / 16777216.0f - 0.5f);
  }
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)((i * 2654435761u) % k);
  double *t = malloc((size_t)reps * sizeof *t), loss = 0;
  for (int r = -1; r < reps; r++) {
    double t0 = bench_now();
    if (lsp_loss_xent(z, y, n, k, &ls, g, 1.0 / (double)n, NULL, &loss)) {
      fprintf(stderr, "bench_loss: %s\n", lsp_errmsg());
      return 1;
    }
    if (r >= 0) t[r] = bench_now() - t0;
  }
  double med = bench_median(t, (size_t)reps);
  double bytes = 8.0 * (double)n * (double)k;
  double bw = bench_memcpy_bw((size_t)(4.0 * (double)n * (double)k), 7);
  printf("{\"impl\": \"lsprobe\", \"n\": %zu, \"k\": %zu, \"eps\": %g, "
         "\"convention\": \"%s\", \"threads\": %d, \"reps\": %d, "
         "\"median_s\": %.6f, \"min_s\": %.6f, \"bytes\": %.0f, \"gb_per_s\": %.3f, "
         "\"memcpy_gb_per_s\": %.3f, \"loss\": %.9f}\n",
         n, k, eps, conv, threads, reps, med, t[0], bytes, bytes / med / 1e9, bw / 1e9,
         loss);
  free(t);
  free(z);
  free(g);
  free(y);
  return 0;
}
