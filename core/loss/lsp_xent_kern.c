/* lsp_xent_kern.c — lsp_xent_body.h compiled for AVX-512, AVX2 and SSE2
 * (x86-64) or plain C (elsewhere), and the choice among them. */
#include "core/loss/lsp_xent_kern.h"

#include <float.h>
#include <math.h>
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
#define LSP_SIMD 1
#include "core/base/lsp_simd.h"
#include "core/loss/lsp_xent_body.h"
#undef LSP_SIMD

lsp_xent_rows_fn lsp_xent_rows_kernel(int *level) {
  int l = lsp_cpu_isa();
  if (level) *level = l;
  return l >= 4 ? xent_rows_v4 : l >= 3 ? xent_rows_v3 : xent_rows_v1;
}

lsp_softmax_rows_fn lsp_softmax_rows_kernel(void) {
  int l = lsp_cpu_isa();
  return l >= 4 ? softmax_rows_v4 : l >= 3 ? softmax_rows_v3 : softmax_rows_v1;
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
#endif
