/* bench_calib — time top-label 15-bin ECE on an in-memory probability matrix
 * against the memory floor.
 *
 *   bench_calib [--n 10000000] [--k 10] [--threads 1] [--reps 10] [--bins 15]
 *               [--isa x86-64-v4|x86-64-v3|x86-64] [--logits] [--full]
 *
 * The data: N×K float32 rows of random positive numbers normalized to sum 1
 * (the same generator as bench/torch_peer.py's "calib", not the same values),
 * labels i·2654435761 mod K. Timed: one validated pass of
 * lsp_calib_acc_add_probs (top-label mode) plus lsp_calib_acc_finalize.
 * The floor is reading the N·K·4 bytes once at memcpy's rate: half the time
 * of a memcpy of the matrix (which reads and writes them). Each repetition
 * times such a memcpy and then the pass, back to back; after one warm-up,
 * R repetitions. Prints one JSON line: medians (wall clock and CPU),
 * ratio_to_floor (the median of the per-repetition ratios pass/floor), GB/s
 * and the host (bench_print_host; "isa": the kernel path that ran).
 * --logits: the matrix holds the logarithms of those probabilities and the
 * pass is lsp_calib_acc_add_logits (the softmax, then the same sums);
 * --full: a full accumulator (NLL, Brier, classwise bins, SmoothECE's mesh:
 * the pass of `lsprobe calib`), else top-label only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "benchutil.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"

static const char USAGE[] =
    "usage: bench_calib [--n 10000000] [--k 10] [--threads 1] [--reps 10] [--bins 15]\n"
    "                   [--isa x86-64-v4|x86-64-v3|x86-64] [--logits] [--full]\n";

int main(int argc, char **argv) {
  double load0 = bench_loadavg();
  size_t n = (size_t)bench_arg_long(argc, argv, "--n", 10000000);
  size_t k = (size_t)bench_arg_long(argc, argv, "--k", 10);
  int threads = bench_arg_int(argc, argv, "--threads", 1);
  int reps = bench_arg_int(argc, argv, "--reps", 10);
  int bins = bench_arg_int(argc, argv, "--bins", 15);
  const int logits = bench_arg_flag(argc, argv, "--logits");
  const int full = bench_arg_flag(argc, argv, "--full");
  bench_isa_arg(argc, argv);
  bench_args_end(argc, argv, USAGE);
  bench_need(n > 0, argv, "--n", "at least 1");
  bench_need(k >= 2, argv, "--k", "at least 2");
  bench_need(reps >= 1, argv, "--reps", "at least 1");
  bench_need(bins >= 1, argv, "--bins", "at least 1");
  bench_need(threads >= 1, argv, "--threads", "at least 1");
  lsp_threads_set(threads);
  float *p = malloc(n * k * sizeof *p), *copy = malloc(n * k * sizeof *copy);
  int32_t *y = malloc(n * sizeof *y);
  double *t = malloc(5 * (size_t)reps * sizeof *t);
  lsp_calib_acc *acc = lsp_calib_acc_alloc(
      bins, k, LSP_CALIB_EDGES_RIGHT, full ? LSP_CALIB_FULL : LSP_CALIB_TOP);
  if (!p || !copy || !y || !t || !acc) {
    fprintf(stderr, "bench_calib: out of memory\n");
    return 1;
  }
  double *tc = t + reps, *tm = t + 2 * reps, *tmc = t + 3 * reps, *ratio = t + 4 * reps;
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
    if (logits)
      for (size_t j = 0; j < k; j++) r[j] = logf(r[j] > 1e-30f ? r[j] : 1e-30f);
    y[i] = (int32_t)((i * 2654435761u) % k);
  }
  memset(copy, 0, n * k * sizeof *copy);
  lsp_calib_result res;
  double ece = 0.0;
  for (int rep = -1; rep < reps; rep++) {
    double m0 = bench_now(), mc0 = bench_cpu_s();
    memcpy(copy, p, n * k * sizeof *p);
    double t0 = bench_now(), c0 = bench_cpu_s();
    lsp_calib_acc_reset(acc);
    if ((logits ? lsp_calib_acc_add_logits(acc, p, y, n, 0, 1.0, threads)
                : lsp_calib_acc_add_probs(acc, p, y, n, 0, threads)) ||
        lsp_calib_acc_finalize(acc, &res)) {
      fprintf(stderr, "bench_calib: %s\n", lsp_errmsg());
      return 1;
    }
    double t1 = bench_now(), c1 = bench_cpu_s();
    ece = res.value[LSP_CALIB_ECE];
    lsp_calib_result_release(&res);
    if (rep < 0) continue;
    tm[rep] = t0 - m0;
    tmc[rep] = c0 - mc0;
    t[rep] = t1 - t0;
    tc[rep] = c1 - c0;
    ratio[rep] = t[rep] / (0.5 * tm[rep]);
  }
  double tmin = t[0];
  for (int r = 1; r < reps; r++) tmin = t[r] < tmin ? t[r] : tmin;
  double med = bench_median(t, (size_t)reps), cmed = bench_median(tc, (size_t)reps);
  double mmed = bench_median(tm, (size_t)reps), mcmed = bench_median(tmc, (size_t)reps);
  double rfloor = bench_median(ratio, (size_t)reps);
  double bytes = 4.0 * (double)n * (double)k + 4.0 * (double)n;
  double bw = 8.0 * (double)n * (double)k / mmed; /* memcpy: bytes in + out */
  printf(
      "{\"impl\": \"lsprobe\", \"benchmark\": \"calib\", \"input\": \"%s\", "
      "\"accumulator\": \"%s\", ",
      logits ? "logits" : "probs", full ? "full" : "top");
  bench_print_host(threads, 1, load0);
  printf(", \"n\": %zu, \"k\": %zu, \"bins\": %d, \"reps\": %d, \"median_s\": %.6f, "
         "\"min_s\": %.6f, \"cpu_s\": %.6f, \"bytes\": %.0f, \"gb_per_s\": %.3f, "
         "\"memcpy_gb_per_s\": %.3f, \"floor_s\": %.6f, \"floor_cpu_s\": %.6f, "
         "\"ratio_to_floor\": %.3f, \"ratio_to_floor_cpu\": %.3f, \"ece\": %.9f}\n",
         n, k, bins, reps, med, tmin, cmed, bytes, bytes / med / 1e9, bw / 1e9, 0.5 * mmed,
         0.5 * mcmed, rfloor, cmed / (0.5 * mcmed), ece);
  lsp_calib_acc_free(acc);
  free(p);
  free(copy);
  free(y);
  free(t);
  return 0;
}
