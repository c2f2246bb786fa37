/* lsp_calib_kernel.c — the fast top-label pass over a probability matrix.
 *
 * The hot loop of `bench_calib` and of streaming big .npy files: per row the
 * max, min and sum of K floats (range and row-sum validation fall out of
 * them), the argmax only when the true class attains the max, one bin index
 * and three integer additions. Two things keep it near memory speed:
 *  - K is a compile-time constant for K <= 16 (a switch instantiates the row
 *    body), so the K-loop is fully unrolled into independent max/min/add
 *    chains;
 *  - the per-bin sums live in four interleaved copies (row i uses copy i&3),
 *    so consecutive rows landing in the same bin do not wait on each other's
 *    store. The copies are integers, so adding them up is exact.
 * Compiled for AVX-512, AVX2 and the baseline, picked at load time. */
#include <string.h>

#include "analysis/lsp_calib_impl.h"

#if defined(__x86_64__) && !defined(LSP_NO_CLONES) && defined(__GNUC__)
#define LSP_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LSP_CLONES
#endif

#define LANES 4

typedef struct {
  uint64_t cnt[LANES][LSP_CALIB_KERNEL_MAXBINS];
  uint64_t cor[LANES][LSP_CALIB_KERNEL_MAXBINS];
  lsp_u128 cs[LANES][LSP_CALIB_KERNEL_MAXBINS];
} lanes;

/* One row with K known at compile time when the caller passes a constant.
 * Returns 0 if the row is invalid. */
static inline __attribute__((always_inline)) int top_row(
    const float *r, uint32_t yi, size_t K, int bins, int right, lanes *L, size_t lane) {
  if (yi >= K) return 0;
  float mx = r[0], mn = r[0], s0 = r[0], s1 = 0.0f;
  for (size_t j = 1; j < K; j++) {
    float v = r[j];
    mx = v > mx ? v : mx;
    mn = v < mn ? v : mn;
    if (j & 1) s1 += v;
    else s0 += v;
  }
  float s = s0 + s1;
  /* NaN and Inf make the sum NaN/Inf, which fails the sum test */
  if (!(mn >= 0.0f && mx <= 1.0f && s >= 1.0f - 1e-3f && s <= 1.0f + 1e-3f)) return 0;
  uint64_t ok = r[yi] == mx;
  if (ok)
    for (uint32_t j = 0; j < yi; j++) ok &= r[j] != mx; /* ties: lowest index wins */
  double c = (double)mx, x = c * (double)bins;
  int b = (int)x;
  b -= right & ((double)b == x);
  b = b < 0 ? 0 : b;
  b = b >= bins ? bins - 1 : b;
  uint64_t ip = c >= 1.0;
  uint64_t fb = ((uint64_t)(int64_t)((c - (double)ip) * 0x1p63)) << 1;
  L->cnt[lane][b]++;
  L->cor[lane][b] += ok;
  L->cs[lane][b] += ((lsp_u128)ip << 64) | fb;
  return 1;
}

#define CASE(KK)                                                            \
  case KK:                                                                  \
    for (; i < n; i++)                                                      \
      if (!top_row(p + i * (KK), (uint32_t)y[i], (KK), bins, right, L, i & 3)) \
        return i;                                                           \
    break;

static size_t run(const float *p, const int32_t *y, size_t n, size_t k, int bins,
                  int right, lanes *L) {
  size_t i = 0;
  switch (k) {
    CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10)
    CASE(11) CASE(12) CASE(13) CASE(14) CASE(15) CASE(16)
    default:
      for (; i < n; i++)
        if (!top_row(p + i * k, (uint32_t)y[i], k, bins, right, L, i & 3)) return i;
  }
  return n;
}

LSP_CLONES
size_t lsp_calib_top_probs_kernel(lsp_calib_acc *a, const float *p, const int32_t *y,
                                  size_t n) {
  lanes L;
  memset(&L, 0, sizeof L);
  int right = a->edges == LSP_CALIB_EDGES_RIGHT;
  size_t stop = run(p, y, n, a->k, a->bins, right, &L);
  if (stop < n) return stop;
  int ovf = 0;
  for (int l = 0; l < LANES; l++)
    for (int b = 0; b < a->bins; b++) {
      a->count[b] += L.cnt[l][b];
      a->correct[b] += L.cor[l][b];
      a->n_correct += L.cor[l][b];
      lsp_calib_fix_add(&a->conf[b], L.cs[l][b], &ovf);
    }
  a->n += n;
  a->overflow |= ovf;
  return n;
}
