/* benchgemm.c — the sgemm floor of a network (benchgemm.h). */
#define _POSIX_C_SOURCE 200809L
#include "benchgemm.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

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
      int K = (int)(nd->ishape.c / nd->a.groups * nd->a.kh * nd->a.kw),
          M = (int)nd->a.units; /* taps per output: C/groups channels */
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

/* One thread of bench_sgemm_rate_team: its own operands, a warm-up pass,
 * the team's start (every thread warmed up, or -1: give up), then `reps`
 * passes timed by this thread's CPU clock and the wall clock. */
typedef struct {
  const bench_gemm *g;
  size_t ng;
  int reps;
  atomic_int *ready, *go;
  double *t, *tc; /* reps each */
  int ok;
} team_arg;

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *team_main(void *varg) {
  team_arg *a = varg;
  size_t mx = 1;
  for (size_t i = 0; i < a->ng; i++) {
    size_t x = (size_t)a->g[i].m * a->g[i].k, y = (size_t)a->g[i].k * a->g[i].n,
           z = (size_t)a->g[i].m * a->g[i].n;
    mx = x > mx ? x : mx, mx = y > mx ? y : mx, mx = z > mx ? z : mx;
  }
  float *A = malloc(mx * sizeof *A), *B = malloc(mx * sizeof *B), *C = malloc(mx * sizeof *C);
  a->ok = A && B && C;
  if (a->ok)
    for (size_t i = 0; i < mx; i++) A[i] = B[i] = C[i] = (float)(i % 7) * 0.1f;
  for (int r = -1; r < a->reps; r++) {
    if (r == 0) {
      atomic_fetch_add(a->ready, 1);
      int go;
      while ((go = atomic_load(a->go)) == 0) sched_yield();
      if (go < 0) break;
    }
    double t0 = bench_now(), c0 = thread_cpu_s();
    for (size_t i = 0; a->ok && i < a->ng; i++) {
      const bench_gemm *q = &a->g[i];
      int lda = q->ta == CblasNoTrans ? q->k : q->m, ldb = q->tb == CblasNoTrans ? q->n : q->k;
      cblas_sgemm(CblasRowMajor, q->ta, q->tb, q->m, q->n, q->k, 1.0f, A, lda, B, ldb, 0.0f, C,
                  q->n);
    }
    if (r >= 0) a->t[r] = bench_now() - t0, a->tc[r] = thread_cpu_s() - c0;
  }
  free(A), free(B), free(C);
  return NULL;
}

double bench_sgemm_rate_team(const bench_gemm *g, size_t ng, int reps, int nt,
                             double *cpu_rate) {
  double flops = 0.0, wall = 0.0, cpu = 0.0;
  for (size_t i = 0; i < ng; i++) flops += 2.0 * g[i].m * (double)g[i].n * g[i].k;
  *cpu_rate = 0.0;
  if (nt < 1 || nt > 64 || reps < 1 || ng == 0) return 0.0;
  team_arg a[64];
  pthread_t th[64];
  atomic_int ready, go;
  atomic_init(&ready, 0);
  atomic_init(&go, 0);
  double *mem = malloc(2 * (size_t)nt * (size_t)reps * sizeof *mem);
  if (!mem) return 0.0;
  int started = 0;
  for (int t = 0; t < nt; t++) {
    a[t] = (team_arg){g, ng, reps, &ready, &go, mem + 2 * (size_t)t * (size_t)reps,
                      mem + (2 * (size_t)t + 1) * (size_t)reps, 0};
    if (pthread_create(&th[t], NULL, team_main, &a[t])) break;
    started++;
  }
  if (started == nt)
    while (atomic_load(&ready) < nt) sched_yield();
  atomic_store(&go, started == nt ? 1 : -1);
  for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
  int ok = started == nt;
  for (int t = 0; ok && t < nt; t++) {
    ok = a[t].ok;
    wall += flops / bench_median(a[t].t, (size_t)reps);
    cpu += flops / bench_median(a[t].tc, (size_t)reps);
  }
  free(mem);
  if (!ok) return 0.0;
  *cpu_rate = cpu / 1e9;
  return wall / 1e9;
}
