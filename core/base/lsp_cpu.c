/* lsp_cpu.c — see lsp_cpu.h. */
#include "core/base/lsp_cpu.h"

#include <stdatomic.h>
#include <string.h>

#include "core/base/lsp_clones.h"
#include "core/base/lsp_error.h"

/* Declared by OpenBLAS's cblas.h (repeated as in lsp_threads.c). */
char *openblas_get_corename(void);

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* The level GCC's target_clones resolver picks: its own tests of the ISA
 * levels, best first. */
static int gcc_level(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v4")   ? 4
         : __builtin_cpu_supports("x86-64-v3") ? 3
                                               : 1;
}
#endif

const char *lsp_cpu_path(void) {
#if LSP_HAVE_CLONES /* GCC builds only (lsp_clones.h) */
  return lsp_cpu_isa_name(gcc_level());
#else
  return "portable";
#endif
}

#if defined(__x86_64__) && defined(__GNUC__) && defined(__clang__)
#include <cpuid.h>
/* What clang 14's __builtin_cpu_supports cannot name but x86-64-v3 (and so
 * lsp_simd.h's target attributes) includes: F16C, MOVBE, XSAVE and LZCNT. */
static int v3_rest(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  const unsigned f16c = 1u << 29, movbe = 1u << 22, xsave = 1u << 26;
  if ((c & (f16c | movbe | xsave)) != (f16c | movbe | xsave)) return 0;
  if (!__get_cpuid(0x80000001u, &a, &b, &c, &d)) return 0;
  return (c & (1u << 5)) != 0; /* LZCNT (ABM) */
}
#endif

/* The level of lsp_simd.h's kernels: exactly the levels the clones'
 * resolver picks (GCC's definition of x86-64-v3 and -v4), so that one
 * recorded name (lsp_cpu_path) says which code ran; a CPU with AVX2 but
 * not, say, MOVBE (a virtual machine's masked features) gets the baseline
 * from both. */
static int detect_isa(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  return gcc_level();
#elif defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
           __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("sse4.2") &&
           __builtin_cpu_supports("ssse3") && v3_rest();
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
