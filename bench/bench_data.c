/* bench_data — time loading and splitting a dataset (Fashion-MNIST by
 * default: it is read on every lsprobe run).
 *
 *   bench_data [--data fashion-mnist] [--reps 5] [--threads 1]
 *
 * Prints one JSON line: median_s / min_s of lsp_data_load over R repetitions
 * (after one warm-up that also fills the page cache), and the floor the load
 * cannot beat: the median time of only reading (inflating) the four IDX
 * files one after the other with lsp_idx_read. With T = 2 the loader inflates
 * the test files beside the training images and hashes beside the copy. */
#include <stdio.h>
#include <stdlib.h>

#include "benchutil.h"
#include "core/data/lsp_data.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"

static const char *const k_files[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

static const char USAGE[] =
    "usage: bench_data [--data fashion-mnist] [--reps 5] [--threads 1]\n";

int main(int argc, char **argv) {
  double load0 = bench_loadavg();
  const char *spec = bench_arg_str(argc, argv, "--data", "fashion-mnist");
  int reps = bench_arg_int(argc, argv, "--reps", 5);
  int threads = bench_arg_int(argc, argv, "--threads", 1);
  bench_args_end(argc, argv, USAGE);
  bench_need(reps >= 1, argv, "--reps", "at least 1");
  lsp_threads_set(threads); /* a benchmark owns its process: BLAS too */
  lsp_threads_set_blas(threads);
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = spec;
  double *t = malloc((size_t)reps * sizeof *t);
  double *f = malloc((size_t)reps * sizeof *f);
  lsp_splits s;
  size_t n_tr = 0, n_val = 0, n_te = 0, dim = 0;
  int have_floor = 0;
  for (int r = -1; r < reps; r++) {
    double t0 = bench_now();
    if (lsp_data_load(&o, &s)) {
      fprintf(stderr, "bench_data: %s\n", lsp_errmsg());
      return 1;
    }
    if (r >= 0) t[r] = bench_now() - t0;
    n_tr = s.train.n;
    n_val = s.val.n;
    n_te = s.test.n;
    dim = s.train.dim;
    int idx = s.img_h > 0 && !s.synthetic;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", s.source);
    lsp_splits_free(&s);
    if (!idx || r < 0) continue;
    /* the floor: reading the IDX files alone */
    t0 = bench_now();
    for (int k = 0; k < 4; k++) {
      char path[1024];
      uint8_t *d = NULL;
      size_t dims[LSP_IDX_MAXDIM];
      int nd;
      if (lsp_idx_find(dir, k_files[k], path, sizeof path) ||
          lsp_idx_read(path, &d, dims, &nd)) {
        fprintf(stderr, "bench_data: %s\n", lsp_errmsg());
        return 1;
      }
      free(d);
    }
    f[r] = bench_now() - t0;
    have_floor = 1;
  }
  double med = bench_median(t, (size_t)reps);
  printf("{\"impl\": \"lsprobe\", \"benchmark\": \"data\", ");
  bench_print_host(lsp_threads_get(), lsp_threads_get_blas(), load0);
  printf(", \"data\": \"%s\", \"train\": %zu, \"val\": %zu, \"test\": %zu, \"dim\": %zu, "
         "\"reps\": %d, \"median_s\": %.4f, \"min_s\": %.4f",
         spec, n_tr, n_val, n_te, dim, reps, med, t[0]);
  if (have_floor)
    printf(", \"read_idx_median_s\": %.4f", bench_median(f, (size_t)reps));
  printf("}\n");
  free(t);
  free(f);
  return 0;
}
