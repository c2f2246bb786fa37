/* bench_conv — Conv2d forward and backward on the LeNet-5 and ResNet-8
 * shapes, one thread, a training share of --n samples.
 *
 *   bench_conv [--n 64] [--reps 15] [--shape NAME]
 *
 * For each shape and each implementation (im2col + OpenBLAS sgemm, direct,
 * and the one lsp_conv2d_forward chooses) prints one JSON line: the fastest
 * of --reps timings of a forward and of a backward (dx unless the layer is
 * the first, dw, db) over the share, samples/s of forward+backward, GFLOP/s,
 * and the "sgemm floor": the same GEMMs alone on ready patch matrices in
 * the chunks the im2col kernel uses (what no im2col kernel can beat).
 * Implementations are timed in turns (rep by rep), and the fastest time is
 * kept, because the machine is shared: other processes only ever add time.
 * OpenBLAS runs on one thread: in training every worker thread runs kernels
 * on its own share. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "core/nn/layers/lsp_conv.h"
#include "core/nn/layers/lsp_conv_int.h"

void openblas_set_num_threads(int num_threads);

typedef struct {
  const char *name;
  lsp_conv2d_geom g;
  int need_dx; /* a first layer needs no input gradient in training */
} shape;

#define G(ci, h, co, k, s, p) \
  {.c_in = ci, .h_in = h, .w_in = h, .c_out = co, .kh = k, .kw = k, .sh = s, .sw = s, .ph = p, .pw = p}
static shape SHAPES[] = {
    {"lenet.conv1", G(1, 28, 6, 5, 1, 2), 0},
    {"lenet.conv2", G(6, 14, 16, 5, 1, 0), 1},
    {"resnet8.stem", G(1, 28, 16, 3, 1, 1), 0},
    {"resnet8.b1", G(16, 28, 16, 3, 1, 1), 1},
    {"resnet8.b2a", G(16, 28, 32, 3, 2, 1), 1},
    {"resnet8.b2b", G(32, 14, 32, 3, 1, 1), 1},
    {"resnet8.b2sc", G(16, 28, 32, 1, 2, 0), 1},
    {"resnet8.b3a", G(32, 14, 64, 3, 2, 1), 1},
    {"resnet8.b3b", G(64, 7, 64, 3, 1, 1), 1},
};

static float *rnd(size_t n, unsigned *s) {
  float *v = malloc(n * sizeof *v);
  if (!v) {
    fprintf(stderr, "bench_conv: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++) {
    *s = *s * 1664525u + 1013904223u;
    v[i] = (float)(*s >> 8) / 16777216.0f - 0.5f;
  }
  return v;
}

typedef void (*fwd_fn)(const lsp_conv2d_geom *, const float *, size_t,
                       const float *, const float *, float *, float *);
typedef void (*bwd_fn)(const lsp_conv2d_geom *, const float *, const float *,
                       size_t, const float *, float *, float *, float *, float *);

static const struct {
  const char *name;
  fwd_fn fwd;
  bwd_fn bwd;
  size_t (*ws)(const lsp_conv2d_geom *, size_t);
} IMPL[] = {
    {"im2col+sgemm", lsp_conv2d_forward_gemm, lsp_conv2d_backward_gemm, lsp_conv2d_ws_size_gemm},
    {"direct", lsp_conv2d_forward_direct, lsp_conv2d_backward_direct, lsp_conv2d_ws_size_direct},
    {"chosen", lsp_conv2d_forward, lsp_conv2d_backward, lsp_conv2d_ws_size},
};

#define NIMPL (sizeof IMPL / sizeof *IMPL)

static double tmin(double a, double b) { return a < b ? a : b; }

static const char USAGE[] =
    "usage: bench_conv [--n 64] [--reps 15] [--shape NAME]\n"
    "  NAME: lenet.conv1, lenet.conv2, resnet8.stem, resnet8.b1, resnet8.b2a,\n"
    "  resnet8.b2b, resnet8.b2sc, resnet8.b3a or resnet8.b3b (default: all)\n";

int main(int argc, char **argv) {
  double load0 = bench_loadavg();
  const size_t n = (size_t)bench_arg_long(argc, argv, "--n", 64);
  const int reps = bench_arg_int(argc, argv, "--reps", 15);
  const char *only = bench_arg_str(argc, argv, "--shape", NULL);
  bench_args_end(argc, argv, USAGE);
  size_t known = 0;
  for (size_t si = 0; only && si < sizeof SHAPES / sizeof *SHAPES; si++)
    known += strcmp(only, SHAPES[si].name) == 0;
  if (only && !known) {
    fprintf(stderr, "bench_conv: --shape: unknown shape '%s' (bench_conv --help lists them)\n",
            only);
    return 2;
  }
  bench_need(n > 0, argv, "--n", "at least 1");
  bench_need(reps >= 1, argv, "--reps", "at least 1");
  openblas_set_num_threads(1);
  for (size_t si = 0; si < sizeof SHAPES / sizeof *SHAPES; si++) {
    shape *sh = &SHAPES[si];
    if (only && strcmp(only, sh->name)) continue;
    lsp_conv2d_geom *g = &sh->g;
    if (lsp_conv2d_geom_check(g)) return 1;
    const size_t K = g->c_in * g->kh * g->kw, M = g->c_out, P = g->h_out * g->w_out;
    const size_t xs = g->c_in * g->h_in * g->w_in, ys = M * P;
    unsigned seed = 7;
    float *x = rnd(n * xs, &seed), *w = rnd(M * K, &seed);
    float *b = rnd(M, &seed), *dy = rnd(n * ys, &seed);
    float *y = rnd(n * ys, &seed), *dx = rnd(n * xs, &seed);
    float *dw = rnd(M * K, &seed), *db = rnd(M, &seed);
    /* the im2col method's chunk: its workspace holds (K + M)·nb·P floats */
    const size_t nb = lsp_conv2d_ws_size_gemm(g, n) / ((K + M) * P);
    float *col = rnd(K * nb * P, &seed), *out = rnd(M * nb * P, &seed);
    float *ws[NIMPL];
    for (size_t ii = 0; ii < NIMPL; ii++) ws[ii] = rnd(IMPL[ii].ws(g, n), &seed);
    double tf[NIMPL], tb[NIMPL], tfloor = 1e30;
    for (size_t ii = 0; ii < NIMPL; ii++) tf[ii] = tb[ii] = 1e30;
    for (int r = -1; r < reps; r++) { /* r = -1 warms up */
      const int ld = (int)(nb * P);
      double t0 = bench_now();
      for (size_t i0 = 0; i0 < n; i0 += nb) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, ld, (int)K,
                    1.0f, w, (int)K, col, ld, 0.0f, out, ld);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)K, ld,
                    1.0f, out, ld, col, ld, 0.0f, dw, (int)K);
        if (sh->need_dx)
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, ld, (int)M,
                      1.0f, w, (int)K, out, ld, 0.0f, col, ld);
      }
      if (r >= 0) tfloor = tmin(tfloor, bench_now() - t0);
      for (size_t ii = 0; ii < NIMPL; ii++) {
        t0 = bench_now();
        IMPL[ii].fwd(g, x, n, w, b, y, ws[ii]);
        double t1 = bench_now();
        IMPL[ii].bwd(g, x, dy, n, w, sh->need_dx ? dx : NULL, dw, db, ws[ii]);
        double t2 = bench_now();
        if (r >= 0) tf[ii] = tmin(tf[ii], t1 - t0), tb[ii] = tmin(tb[ii], t2 - t1);
      }
    }
    /* multiply-adds: forward M·K·P per sample, dw the same, dx the same */
    const double fl = 2.0 * (double)(M * K * P) * (double)n * (sh->need_dx ? 3 : 2);
    for (size_t ii = 0; ii < NIMPL; ii++) {
      printf("{\"benchmark\": \"conv\", ");
      bench_print_host(1, 1, load0);
      printf(", \"shape\": \"%s\", \"impl\": \"%s\", \"n\": %zu, \"fwd_s\": %.6f, "
             "\"bwd_s\": %.6f, \"samples_per_s\": %.0f, \"gflops\": %.1f, "
             "\"sgemm_floor_samples_per_s\": %.0f}\n",
             sh->name, IMPL[ii].name, n, tf[ii], tb[ii], (double)n / (tf[ii] + tb[ii]),
             fl / (tf[ii] + tb[ii]) / 1e9, (double)n / tfloor);
    }
    fflush(stdout);
    for (size_t ii = 0; ii < NIMPL; ii++) free(ws[ii]);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
    free(col), free(out);
  }
  return 0;
}
