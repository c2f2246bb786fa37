/* lsp_calib_row.c — lsp_calib_row_body.h compiled for AVX-512, AVX2 and
 * SSE2 (x86-64) or plain C (elsewhere), the group function for AVX-512
 * (lsp_calib_group_body.h) and AVX2 (lsp_calib_group4_body.h), and the
 * choice among them. */
#include "analysis/lsp_calib_row.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

#include "analysis/lsp_calib_impl.h"
#include "analysis/lsp_smece.h"
#include "core/base/lsp_cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define LSP_SIMD 4
/* clang-format off: the bodies need the level's headers first */
#include "core/base/lsp_simd.h"
#include "core/base/lsp_simd_d.h"
#include "analysis/lsp_calib_row_body.h"
#include "analysis/lsp_calib_group_body.h"
/* clang-format on */
#undef LSP_SIMD
#define LSP_SIMD 3
/* clang-format off */
#include "core/base/lsp_simd.h"
#include "core/base/lsp_simd_d.h"
#include "analysis/lsp_calib_row_body.h"
#include "analysis/lsp_calib_group4_body.h"
/* clang-format on */
#undef LSP_SIMD
#define LSP_SIMD 1
#include "core/base/lsp_simd.h"
#include "core/base/lsp_simd_d.h"
#include "analysis/lsp_calib_row_body.h"
#undef LSP_SIMD

lsp_calib_row_fn lsp_calib_row_kernel(void) {
  int l = lsp_cpu_isa();
  return l >= 4 ? cr_rows_v4 : l >= 3 ? cr_rows_v3 : cr_rows_v1;
}

lsp_calib_bins_fn lsp_calib_bins_kernel(void) {
  int l = lsp_cpu_isa();
  return l >= 4 ? cr_bins_v4 : l >= 3 ? cr_bins_v3 : cr_bins_v1;
}

lsp_calib_rec_fn lsp_calib_rec_kernel(void) {
  int l = lsp_cpu_isa();
  return l >= 4 ? cr_rec_v4 : l >= 3 ? cr_rec_v3 : cr_rec_v1;
}

static int group_on = 1;

void lsp_calib_group_enable(int on) { group_on = on; }

lsp_calib_group_fn lsp_calib_group_kernel(void) {
  int l = lsp_cpu_isa();
  return !group_on ? NULL : l >= 4 ? cr_group_v4 : l >= 3 ? cr_group_v3 : NULL;
}

lsp_calib_log_fn lsp_calib_log_kernel(void) {
  int l = lsp_cpu_isa();
  return l >= 4 ? cr_logs_v4 : l >= 3 ? cr_logs_v3 : cr_logs_v1;
}

lsp_calib_exp_fn lsp_calib_exp_kernel(void) {
  int l = lsp_cpu_isa();
  return l >= 4 ? cr_exps_v4 : l >= 3 ? cr_exps_v3 : cr_exps_v1;
}
#else
#define LSP_SIMD 0
#include "core/base/lsp_simd.h"
#include "core/base/lsp_simd_d.h"
#include "analysis/lsp_calib_row_body.h"
#undef LSP_SIMD

lsp_calib_row_fn lsp_calib_row_kernel(void) { return cr_rows_v0; }

lsp_calib_bins_fn lsp_calib_bins_kernel(void) { return cr_bins_v0; }

lsp_calib_rec_fn lsp_calib_rec_kernel(void) { return cr_rec_v0; }

void lsp_calib_group_enable(int on) { (void)on; }

lsp_calib_group_fn lsp_calib_group_kernel(void) { return NULL; }

lsp_calib_log_fn lsp_calib_log_kernel(void) { return cr_logs_v0; }

lsp_calib_exp_fn lsp_calib_exp_kernel(void) { return cr_exps_v0; }
#endif
