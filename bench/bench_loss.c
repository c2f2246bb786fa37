/* bench_loss — time the fused label-smoothed cross-entropy forward+backward
 * against memcpy of the same bytes.
 *
 *   bench_loss [--n 65536] [--k 1000] [--eps 0.1] [--threads 1] [--reps 20]
 *              [--convention uniform] [--isa x86-64-v4|x86-64-v3|x86-64]
 *              [--offset BYTES] [--spread S]
 *
 * The kernel reads N·K logits and writes N·K gradients (4 bytes each): the
 * bytes memcpy moves when it copies the logits into the gradient buffer.
 * Each repetition times that memcpy and then the kernel, back to back, so
 * both see the same machine; after one warm-up, R repetitions. Prints one
 * JSON line: the median seconds of each (wall clock and CPU), the median
 * of the per-repetition ratios memcpy/kernel (share_of_memcpy: the share
 * of memcpy's bandwidth the kernel reaches; robust to a machine whose load
 * changes between repetitions), GB/s, and the host (bench_print_host):
 * "isa" is the kernel path that ran (--isa caps it, to time every path on
 * one machine). --offset B (a multiple of 4 below 64) places both arrays B
 * bytes past a 64-byte boundary; without it they are where malloc puts
 * them (glibc: 16 bytes past a page for arrays this large), which is what
 * a caller usually has: the kernel's vector loads then cross cache lines
 * and its rows share their end lines (DESIGN §2, "The kernel"). The logits
 * are uniform in [−S, S] (--spread, default 2): SSE2's exponential reads
 * a table entry per logit, and logits spread wider touch more of it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/loss/lsp_loss.h"

static const char USAGE[] =
    "usage: bench_loss [--n 65536] [--k 1000] [--eps 0.1] [--threads 1] [--reps 20]\n"
    "                  [--convention uniform] [--isa x86-64-v4|x86-64-v3|x86-64]\n"
    "                  [--offset BYTES] [--spread 2]\n";

int main(int argc, char **argv) {
  double load0 = bench_loadavg();
  size_t n = (size_t)bench_arg_long(argc, argv, "--n", 65536);
  size_t k = (size_t)bench_arg_long(argc, argv, "--k", 1000);
  double eps = bench_arg_double(argc, argv, "--eps", 0.1);
  int threads = bench_arg_int(argc, argv, "--threads", 1);
  int reps = bench_arg_int(argc, argv, "--reps", 20);
  const char *conv = bench_arg_str(argc, argv, "--convention", "uniform");
  long offset = bench_arg_long(argc, argv, "--offset", -1);
  double spread = bench_arg_double(argc, argv, "--spread", 2.0);
  bench_isa_arg(argc, argv);
  bench_args_end(argc, argv, USAGE);
  lsp_ls ls = {eps, LSP_LS_UNIFORM, 0};
  if (lsp_ls_convention_parse(conv, &ls.convention))
    bench_need(0, argv, "--convention", lsp_errmsg());
  bench_need(n > 0, argv, "--n", "at least 1");
  bench_need(k >= 2, argv, "--k", "at least 2");
  bench_need(reps >= 1, argv, "--reps", "at least 1");
  bench_need(threads >= 1, argv, "--threads", "at least 1");
  bench_need(offset < 64 && (offset <= 0 || offset % 4 == 0), argv, "--offset",
             "a multiple of 4 below 64");
  bench_need(spread > 0.0 && spread <= 1e30, argv, "--spread", "above 0, at most 1e30");
  lsp_threads_set(threads); /* a benchmark owns its process: BLAS too */
  lsp_threads_set_blas(threads);
  float *zbuf, *gbuf;
  if (offset < 0) {
    zbuf = malloc(n * k * sizeof *zbuf);
    gbuf = malloc(n * k * sizeof *gbuf);
  } else { /* (rounded up to the alignment, as aligned_alloc asks) */
    size_t bytes = (n * k * sizeof *zbuf + 64 + 63) / 64 * 64;
    zbuf = aligned_alloc(64, bytes);
    gbuf = aligned_alloc(64, bytes);
  }
  float *z = zbuf && offset > 0 ? zbuf + offset / 4 : zbuf;
  float *g = gbuf && offset > 0 ? gbuf + offset / 4 : gbuf;
  int32_t *y = malloc(n * sizeof *y);
  double *t = malloc(5 * (size_t)reps * sizeof *t);
  if (!z || !g || !y || !t) {
    fprintf(stderr, "bench_loss: out of memory\n");
    return 1;
  }
  double *tc = t + reps, *tm = t + 2 * reps, *tmc = t + 3 * reps, *ratio = t + 4 * reps;
  unsigned s = 1;
  for (size_t i = 0; i < n * k; i++) {
    s = s * 1664525u + 1013904223u;
    z[i] = (float)(2.0 * spread * ((double)(s >> 8) / 16777216.0 - 0.5));
  }
  memset(g, 0, n * k * sizeof *g);
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)((i * 2654435761u) % k);
  double loss = 0;
  for (int r = -1; r < reps; r++) {
    double m0 = bench_now(), mc0 = bench_cpu_s();
    memcpy(g, z, n * k * sizeof *z);
    double m1 = bench_now(), mc1 = bench_cpu_s();
    if (lsp_loss_xent(z, y, n, k, &ls, g, 1.0 / (double)n, NULL, &loss)) {
      fprintf(stderr, "bench_loss: %s\n", lsp_errmsg());
      return 1;
    }
    double t1 = bench_now(), c1 = bench_cpu_s();
    if (r < 0) continue;
    tm[r] = m1 - m0;
    tmc[r] = mc1 - mc0;
    t[r] = t1 - m1;
    tc[r] = c1 - mc1;
    ratio[r] = tm[r] / t[r];
  }
  double tmin = t[0];
  for (int r = 1; r < reps; r++) tmin = t[r] < tmin ? t[r] : tmin;
  double med = bench_median(t, (size_t)reps), cmed = bench_median(tc, (size_t)reps);
  double mmed = bench_median(tm, (size_t)reps), mcmed = bench_median(tmc, (size_t)reps);
  double share = bench_median(ratio, (size_t)reps);
  double bytes = 8.0 * (double)n * (double)k;
  printf("{\"impl\": \"lsprobe\", \"benchmark\": \"loss\", ");
  bench_print_host(threads, threads, load0);
  printf(", \"n\": %zu, \"k\": %zu, \"eps\": %g, \"convention\": \"%s\", \"offset\": %d, "
         "\"spread\": %g, \"reps\": %d, "
         "\"median_s\": %.6f, \"min_s\": %.6f, \"cpu_s\": %.6f, \"bytes\": %.0f, "
         "\"gb_per_s\": %.3f, \"memcpy_s\": %.6f, \"memcpy_cpu_s\": %.6f, "
         "\"memcpy_gb_per_s\": %.3f, \"share_of_memcpy\": %.3f, "
         "\"share_of_memcpy_cpu\": %.3f, \"loss\": %.9f}\n",
         n, k, eps, conv, (int)((uintptr_t)z % 64), spread, reps, med, tmin, cmed, bytes,
         bytes / med / 1e9, mmed, mcmed, bytes / mmed / 1e9, share, mcmed / cmed, loss);
  free(t);
  free(zbuf);
  free(gbuf);
  free(y);
  return 0;
}
