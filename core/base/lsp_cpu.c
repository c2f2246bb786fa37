/* lsp_cpu.c — see lsp_cpu.h. */
#include "core/base/lsp_cpu.h"

#include <stdatomic.h>
#include <string.h>

#include "core/base/lsp_clones.h"
#include "core/base/lsp_error.h"

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

/* The features lsp_simd.h's attributes switch on, per level. */
static int detect_isa(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
           __builtin_cpu_supports("popcnt");
  int v4 = v3 && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return v4 ? 4 : v3 ? 3 : 1;
#else
  return 0;
#endif
}

static atomic_int g_detected = -1; /* detect_isa(), once known */
static atomic_int g_cap = 4;       /* lsp_cpu_isa_cap */

int lsp_cpu_isa(void) {
  int d = atomic_load_explicit(&g_detected, memory_order_relaxed);
  if (d < 0) { /* racing first calls compute the same value */
    d = detect_isa();
    atomic_store_explicit(&g_detected, d, memory_order_relaxed);
  }
  int c = atomic_load_explicit(&g_cap, memory_order_relaxed);
  return d < c ? d : c;
}

int lsp_cpu_isa_cap(const char *name) {
  int c;
  if (!name || strcmp(name, "best") == 0) c = 4;
  else if (strcmp(name, "x86-64-v4") == 0) c = 4;
  else if (strcmp(name, "x86-64-v3") == 0) c = 3;
  else if (strcmp(name, "x86-64") == 0) c = 1;
  else
    return lsp_fail(LSP_EINVAL,
                    "unknown instruction-set level '%s' (x86-64-v4, x86-64-v3, "
                    "x86-64 or best)",
                    name);
  atomic_store_explicit(&g_cap, c, memory_order_relaxed);
  return LSP_OK;
}

const char *lsp_cpu_isa_name(int level) {
  switch (level) {
    case 4: return "x86-64-v4";
    case 3: return "x86-64-v3";
    case 1: return "x86-64";
    default: return "portable";
  }
}

const char *lsp_blas_core(void) {
  const char *c = openblas_get_corename();
  return c && *c ? c : "unknown";
}
