/* benchgemm.h — the sgemm floor of a network: the GEMMs the obvious
 * implementation of a training step or an attack runs (dense layers as they
 * are, convolutions by im2col), timed in a plain cblas_sgemm loop. */
#ifndef LSP_BENCHGEMM_H
#define LSP_BENCHGEMM_H

#include <cblas.h>
#include <stddef.h>

#include "core/nn/lsp_model.h"

/* One GEMM C(m×n) = op(A)(m×k)·op(B)(k×n), row-major, natural leading
 * dimensions. */
typedef struct {
  int m, n, k;
  CBLAS_TRANSPOSE ta, tb;
} bench_gemm;

enum {
  BENCH_G_FWD = 1,         /* forward of every layer */
  BENCH_G_WGRAD = 2,       /* weight gradients */
  BENCH_G_IGRAD = 4,       /* input gradients of every layer but the first */
  BENCH_G_IGRAD_FIRST = 8  /* ... and of the first (an attack needs it) */
};

/* Appends to g[*ng..cap) the GEMMs of `what` for `rows` rows of m — a dense
 * layer in→out: forward (rows,out,in), weight gradient (out,in,rows), input
 * gradient (rows,in,out); a convolution (K = c_in·kh·kw, M = c_out, P =
 * output pixels): forward (M,rows·P,K), weight gradient (M,K,rows·P), input
 * gradient (K,rows·P,M) — and adds their flops per row (2 a multiply-add)
 * to *flops. Returns 0, or 1 when g is full. */
int bench_model_gemms(const lsp_model *m, size_t rows, unsigned what, bench_gemm *g,
                      size_t *ng, size_t cap, double *flops);

/* GFLOP/s of g[0..ng) run in a loop (median of `reps` passes after a
 * warm-up) by the wall clock (returned; 0 when out of memory) and by CPU
 * time (*cpu_rate). */
double bench_sgemm_rate(const bench_gemm *g, size_t ng, int reps, double *cpu_rate);

/* The same loop run by nt threads side by side, each on its own operands
 * (OpenBLAS at one thread: the caller sets it), as lsp_train runs its
 * shares: the sum over the threads of each one's GFLOP/s (median pass) by
 * the wall clock (returned; 0 on failure) and by its own CPU clock
 * (*cpu_rate). What two threads actually get when they multiply at once
 * (shared caches, memory and, on a virtual machine, whatever the host's
 * cores share). */
double bench_sgemm_rate_team(const bench_gemm *g, size_t ng, int reps, int nt,
                             double *cpu_rate);

#endif
