/* bench_calib — time top-label 15-bin ECE on an in-memory probability matrix.
 *
 *   bench_calib --n N --k K --threads T --reps R [--bins M]
 *
 * The data: N×K float32 rows of random positive numbers normalized to sum 1
 * (the same generator as bench/torch_peer.py's "calib", not the same values),
 * labels i·2654435761 mod K. Timed: one validated pass of
 * lsp_calib_acc_add_probs (top-label mode) plus lsp_calib_acc_finalize.
 * Prints one JSON line: median_s over R repetitions after one warm-up, the
 * bytes read (N·K·4 + N·4 labels), GB/s, this machine's single-thread memcpy
 * bandwidth for the same size, and the floor N·K·4 / memcpy rate. */
#include <stdio.h>
#include <stdlib.h>

#include "analysis/lsp_calib.h"
#include "benchutil.h"
#include "core/base/lsp_error.h"

int main(int argc, char **argv) {
  size_t n = (size_t)bench_arg_long(argc, argv, "--n", 10000000);
  size_t k = (size_t)bench_arg_long(argc, argv, "--k", 10);
  int threads = (int)bench_arg_long(argc, argv, "--threads", 1);
  int reps = (int)bench_arg_long(argc, argv, "--reps", 10);
  int bins = (int)bench_arg_long(argc, argv, "--bins", 15);
  if (n == 0 || k < 2 || reps < 1 || bins < 1) {
    fprintf(stderr, "bench_calib: bad arguments\n");
    return 2;
  }
  float *p = malloc(n * k * sizeof *p);
  int32_t *y = malloc(n * sizeof *y);
  double *t = malloc((size_t)reps * sizeof *t);
  lsp_calib_acc *acc = lsp_calib_acc_alloc(bins, k, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_TOP);
  if (!p || !y || !t || !acc) {
    fprintf(stderr, "bench_calib: out of memory\n");
    return 1;
  }
  unsigned s = 1;
  for (size_t i = 0; i < n; i++) {
    float *r = p + i * k, sum = 0.0f;
    for (size_t j = 0; j < k; j++) {
      s = s * 1664525u + 1013904223u;
      float u = (float)(s >> 8) / 16777216.0f;
      r[j] = u * u * u * u; /* skewed, so confidences spread over the bins */
      sum += r[j];
    }
    for (size_t j = 0; j < k; j++) r[j] /= sum;
    y[i] = (int32_t)((i * 2654435761u) % k);
  }
  lsp_calib_result res;
  double ece = 0.0;
  for (int rep = -1; rep < reps; rep++) {
    double t0 = bench_now();
    lsp_calib_acc_reset(acc);
    if (lsp_calib_acc_add_probs(acc, p, y, n, 0, threads) ||
        lsp_calib_acc_finalize(acc, &res)) {
      fprintf(stderr, "bench_calib: %s\n", lsp_errmsg());
      return 1;
    }
    if (rep >= 0) t[rep] = bench_now() - t0;
    ece = res.value[LSP_CALIB_ECE];
    lsp_calib_result_release(&res);
  }
  double tmin = t[0];
  for (int r = 1; r < reps; r++) tmin = t[r] < tmin ? t[r] : tmin;
  double med = bench_median(t, (size_t)reps);
  double bytes = 4.0 * (double)n * (double)k + 4.0 * (double)n;
  double bw = bench_memcpy_bw((size_t)(4.0 * (double)n * (double)k), 5);
  double floor_s = 4.0 * (double)n * (double)k / bw;
  printf("{\"impl\": \"lsprobe\", \"benchmark\": \"calib\", \"n\": %zu, \"k\": %zu, "
         "\"bins\": %d, \"threads\": %d, \"reps\": %d, \"median_s\": %.6f, \"min_s\": %.6f, "
         "\"bytes\": %.0f, \"gb_per_s\": %.3f, \"memcpy_gb_per_s\": %.3f, "
         "\"floor_s\": %.6f, \"ratio_to_floor\": %.3f, \"ece\": %.9f}\n",
         n, k, bins, threads, reps, med, tmin, bytes, bytes / med / 1e9, bw / 1e9, floor_s,
         med / floor_s, ece);
  lsp_calib_acc_free(acc);
  free(p);
  free(y);
  free(t);
  return 0;
}
