/* benchgemm.c — the sgemm floor of a network (benchgemm.h). */
#include "benchgemm.h"

#include <stdlib.h>

#include "benchutil.h"

int bench_model_gemms(const lsp_model *m, size_t rows, unsigned what, bench_gemm *g,
                      size_t *ng, size_t cap, double *flops) {
  int first = 1, r = (int)rows;
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    bench_gemm f, w, x;
    double macs;
    if (nd->op == LSP_OP_DENSE) {
      int in = (int)(nd->ishape.c * nd->ishape.h * nd->ishape.w), out = (int)nd->a.units;
      f = (bench_gemm){r, out, in, CblasNoTrans, CblasTrans};
      w = (bench_gemm){out, in, r, CblasTrans, CblasNoTrans};
      x = (bench_gemm){r, in, out, CblasNoTrans, CblasNoTrans};
      macs = (double)in * out;
    } else if (nd->op == LSP_OP_CONV) {
      int K = (int)(nd->ishape.c * nd->a.kh * nd->a.kw), M = (int)nd->a.units;
      int P = (int)(nd->shape.h * nd->shape.w);
      f = (bench_gemm){M, r * P, K, CblasNoTrans, CblasNoTrans};
      w = (bench_gemm){M, K, r * P, CblasNoTrans, CblasTrans};
      x = (bench_gemm){K, r * P, M, CblasTrans, CblasNoTrans};
      macs = (double)K * M * P;
    } else {
      continue;
    }
    int igrad = first ? (what & BENCH_G_IGRAD_FIRST) != 0 : (what & BENCH_G_IGRAD) != 0;
    first = 0;
    if (*ng + 3 > cap) return 1;
    if (what & BENCH_G_FWD) g[(*ng)++] = f, *flops += 2.0 * macs;
    if (what & BENCH_G_WGRAD) g[(*ng)++] = w, *flops += 2.0 * macs;
    if (igrad) g[(*ng)++] = x, *flops += 2.0 * macs;
  }
  return 0;
}

double bench_sgemm_rate(const bench_gemm *g, size_t ng, int reps, double *cpu_rate) {
  size_t mx = 1;
  double flops = 0.0;
  for (size_t i = 0; i < ng; i++) {
    size_t a = (size_t)g[i].m * g[i].k, b = (size_t)g[i].k * g[i].n, c = (size_t)g[i].m * g[i].n;
    mx = a > mx ? a : mx, mx = b > mx ? b : mx, mx = c > mx ? c : mx;
    flops += 2.0 * g[i].m * (double)g[i].n * g[i].k;
  }
  float *A = malloc(mx * sizeof *A), *B = malloc(mx * sizeof *B), *C = malloc(mx * sizeof *C);
  double *t = malloc(2 * (size_t)reps * sizeof *t), *tc = t ? t + reps : NULL;
  *cpu_rate = 0.0;
  if (!A || !B || !C || !t || ng == 0) {
    free(A), free(B), free(C), free(t);
    return 0.0;
  }
  for (size_t i = 0; i < mx; i++) A[i] = B[i] = C[i] = (float)(i % 7) * 0.1f;
  for (int r = -1; r < reps; r++) {
    double t0 = bench_now(), c0 = bench_cpu_s();
    for (size_t i = 0; i < ng; i++) {
      const bench_gemm *q = &g[i];
      int lda = q->ta == CblasNoTrans ? q->k : q->m, ldb = q->tb == CblasNoTrans ? q->n : q->k;
      cblas_sgemm(CblasRowMajor, q->ta, q->tb, q->m, q->n, q->k, 1.0f, A, lda, B, ldb, 0.0f, C,
                  q->n);
    }
    if (r >= 0) t[r] = bench_now() - t0, tc[r] = bench_cpu_s() - c0;
  }
  double med = bench_median(t, (size_t)reps);
  *cpu_rate = flops / bench_median(tc, (size_t)reps) / 1e9;
  free(A), free(B), free(C), free(t);
  return flops / med / 1e9;
}
