/* lsp_cpu.c — see lsp_cpu.h. */
#include "core/base/lsp_cpu.h"

#include "core/base/lsp_clones.h"

/* Declared by OpenBLAS's cblas.h (repeated as in lsp_threads.c). */
char *openblas_get_corename(void);

const char *lsp_cpu_path(void) {
#if LSP_HAVE_CLONES
  /* GCC's target_clones resolver tests exactly these ISA levels, best
   * first; clang (14) knows the features only, which define the levels. */
#if defined(__clang__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2"))
    return "x86-64-v4";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("bmi2"))
    return "x86-64-v3";
#else
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3";
#endif
  return "x86-64";
#else
  return "portable";
#endif
}

const char *lsp_blas_core(void) {
  const char *c = openblas_get_corename();
  return c && *c ? c : "unknown";
}
