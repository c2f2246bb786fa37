/* bench_train — training throughput of lsp_train against OpenBLAS's own
 * sgemm speed on the same shapes.
 *
 *   bench_train [--hidden 256,256 | --arch lenet|resnet8|SPEC] [--batch 128]
 *               [--epochs 1] [--threads 1] [--data fashion-mnist]
 *               [--smoothing 0.1] [--seed 1] [--max-train N]
 *
 * With --arch (any network of lsprobe train --arch) the GEMM ceiling is not
 * measured (null); gflops then counts 3 forward passes per sample
 * (lsp_model_flops: forward, input and weight gradients).
 *
 * Trains the MLP on the data's 55000-example training split (validation
 * switched off so that only training batches are timed) and prints one JSON
 * line: samples_per_s, the GEMM GFLOP/s of training and sgemm_gflops, a
 * plain cblas_sgemm loop over exactly the GEMMs of one training batch timed
 * in the same program with the same thread count (OpenBLAS splitting each
 * GEMM), the ceiling of the obvious implementation; sgemm_1thread_gflops is
 * the same loop on one thread (lsp_train runs single-threaded GEMMs on each
 * thread's share of the batch). cpu_s is the CPU time (user + system) the
 * training took: on a shared machine, samples per CPU second still compare
 * implementations when wall-clock rates swing with the load. Flops counted are
 * the work done, per sample and dense layer in×out: forward x·Wᵀ 2·in·out,
 * weight gradient gᵀ·x 2·in·out, input gradient g·W 2·in·out except in the
 * first layer, where no one needs the gradient of the data (PyTorch skips it
 * too). */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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

/* GFLOP/s of the GEMMs of one training batch: for each dense layer the
 * forward (n,in)x(out,in)ᵀ, the weight gradient (n,out)ᵀx(n,in) and, above
 * the first layer, the input gradient (n,out)x(out,in); median over `reps`
 * passes after a warm-up. */
static double sgemm_peak(const size_t *dims, size_t nd, size_t n, int reps) {
  size_t maxw = 0;
  for (size_t i = 0; i < nd; i++) maxw = dims[i] > maxw ? dims[i] : maxw;
  float *a = malloc(n * maxw * sizeof *a), *g = malloc(n * maxw * sizeof *g);
  float *w = malloc(maxw * maxw * sizeof *w), *c = malloc(n * maxw * sizeof *c);
  float *dw = malloc(maxw * maxw * sizeof *dw);
  double *t = malloc((size_t)reps * sizeof *t);
  if (!a || !g || !w || !c || !dw || !t) return 0.0;
  for (size_t i = 0; i < n * maxw; i++) a[i] = g[i] = (float)(i % 7) * 0.1f;
  for (size_t i = 0; i < maxw * maxw; i++) w[i] = (float)(i % 5) * 0.01f;
  double flops = 0.0;
  for (int r = -1; r < reps; r++) {
    double t0 = bench_now();
    for (size_t l = 0; l + 1 < nd; l++) {
      int in = (int)dims[l], out = (int)dims[l + 1], nn = (int)n;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nn, out, in, 1.0f, a,
                  in, w, in, 1.0f, c, out);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, nn, 1.0f, g,
                  out, a, in, 0.0f, dw, in);
      if (l > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nn, in, out,
                    1.0f, g, out, w, in, 0.0f, c, in);
      if (r == -1) flops += (l > 0 ? 6.0 : 4.0) * (double)n * in * out;
    }
    if (r >= 0) t[r] = bench_now() - t0;
  }
  double med = bench_median(t, (size_t)reps);
  free(a), free(g), free(w), free(c), free(dw), free(t);
  return flops / med / 1e9;
}

int main(int argc, char **argv) {
  size_t hidden[16];
  size_t nh = parse_widths(bench_arg_str(argc, argv, "--hidden", "256,256"),
                           hidden, 16);
  long batch = bench_arg_long(argc, argv, "--batch", 128);
  long epochs = bench_arg_long(argc, argv, "--epochs", 1);
  int threads = (int)bench_arg_long(argc, argv, "--threads", 1);
  double eps = bench_arg_double(argc, argv, "--smoothing", 0.1);
  long seed = bench_arg_long(argc, argv, "--seed", 1);
  const char *spec = bench_arg_str(argc, argv, "--data", "fashion-mnist");
  const char *arch_spec = bench_arg_str(argc, argv, "--arch", NULL);
  long max_train = bench_arg_long(argc, argv, "--max-train", 0);
  if (nh == 0 || batch < 1 || epochs < 1 || threads < 1 || seed < 0 ||
      eps < 0 || eps > 1) {
    fprintf(stderr, "bench_train: bad arguments\n");
    return 2;
  }
  lsp_threads_set(threads);
  lsp_threads_set_blas(1); /* as `lsprobe train`: the shares run side by side */
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
  size_t dims[18];
  size_t nd = 0;
  dims[nd++] = data.train.dim;
  for (size_t i = 0; i < nh; i++) dims[nd++] = hidden[i];
  dims[nd++] = (size_t)data.train.k;
  double flops_per_sample = 0.0, peak1 = 0.0, peak = 0.0;
  for (size_t l = 0; l + 1 < nd; l++)
    flops_per_sample += (l > 0 ? 6.0 : 4.0) * (double)dims[l] * dims[l + 1];
  if (arch_spec) {
    flops_per_sample = 3.0 * lsp_model_flops(m);
  } else {
    /* one thread first: OpenBLAS's workers keep spinning for a while after
     * a threaded call and would steal from the single-threaded loop */
    lsp_threads_set_blas(1);
    peak1 = sgemm_peak(dims, nd, (size_t)batch, 50);
    lsp_threads_set_blas(threads);
    peak = sgemm_peak(dims, nd, (size_t)batch, 50);
  }

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
  printf(
      "{\"impl\": \"lsprobe\", \"benchmark\": \"train\", \"arch\": \"%s\", "
      "\"data\": \"%s\", \"n_train\": %zu, \"batch\": %ld, \"epochs\": %ld, "
      "\"threads\": %d, \"smoothing\": %g, \"seconds\": %.4f, "
      "\"samples_per_s\": %.1f, \"cpu_s\": %.4f, \"gflops\": %.3f, "
      "\"sgemm_gflops\": %.3f, "
      "\"sgemm_1thread_gflops\": %.3f, \"share_of_sgemm\": %.3f, "
      "\"test_accuracy\": %.4f}\n",
      arch, data.name, data.train.n, batch, epochs, threads, eps, log.seconds,
      log.samples_per_s, cpu, gflops, peak, peak1,
      peak > 0 ? gflops / peak : 0.0, acc);
  free(z);
  lsp_train_log_free(&log);
  lsp_model_free(m);
  data.val = val;
  lsp_splits_free(&data);
  return 0;
}
