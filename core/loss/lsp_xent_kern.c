/* lsp_xent_kern.c — lsp_xent_body.h compiled for AVX-512, AVX2 and SSE2
 * (x86-64) or plain C (elsewhere), and the choice among them. */
#include "core/loss/lsp_xent_kern.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/base/lsp_cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define LSP_SIMD 4
#include "core/base/lsp_simd.h"
#include "core/loss/lsp_xent_body.h"
#undef LSP_SIMD
#define LSP_SIMD 3
#include "core/base/lsp_simd.h"
#include "core/loss/lsp_xent_body.h"
#undef LSP_SIMD
/* SSE2's exponential table (xb_one_sweep at level 1, lsp_xent_body.h):
 * entry u is exp((u − XB_T128_OFF)/128) rounded to float, for u up to
 * XB_T128_TOP (x = 88), and +inf above it; 128 KB, filled once. */
#define XB_T128_N 32768
#define XB_T128_OFF 11072 /* 128 · 86.5 */
#define XB_T128_TOP 22336 /* XB_T128_OFF + 128 · 88 */
static float xb_t128[XB_T128_N];
static pthread_once_t xb_t128_once = PTHREAD_ONCE_INIT;
static void xb_t128_fill(void) {
  for (int u = 0; u < XB_T128_N; u++)
    xb_t128[u] = u <= XB_T128_TOP ? (float)exp((double)(u - XB_T128_OFF) / 128.0) : INFINITY;
}
#define LSP_SIMD 1
#include "core/base/lsp_simd.h"
#include "core/loss/lsp_xent_body.h"
#undef LSP_SIMD

lsp_xent_rows_fn lsp_xent_rows_kernel(int *level) {
  int l = lsp_cpu_isa();
  if (level) *level = l;
  if (l < 3) (void)pthread_once(&xb_t128_once, xb_t128_fill);
  return l >= 4 ? xent_rows_v4 : l >= 3 ? xent_rows_v3 : xent_rows_v1;
}

lsp_softmax_rows_fn lsp_softmax_rows_kernel(void) {
  int l = lsp_cpu_isa();
  return l >= 4 ? softmax_rows_v4 : l >= 3 ? softmax_rows_v3 : softmax_rows_v1;
}

lsp_xent_sweep_fn lsp_xent_sweep_kernel(void) {
  int l = lsp_cpu_isa();
  if (l < 3) (void)pthread_once(&xb_t128_once, xb_t128_fill);
  return l >= 4 ? xent_sweep_v4 : l >= 3 ? xent_sweep_v3 : xent_sweep_v1;
}
#else
#define LSP_SIMD 0
#include "core/base/lsp_simd.h"
#include "core/loss/lsp_xent_body.h"
#undef LSP_SIMD

lsp_xent_rows_fn lsp_xent_rows_kernel(int *level) {
  if (level) *level = 0;
  return xent_rows_v0;
}

lsp_softmax_rows_fn lsp_softmax_rows_kernel(void) { return softmax_rows_v0; }

lsp_xent_sweep_fn lsp_xent_sweep_kernel(void) { return NULL; }
#endif
