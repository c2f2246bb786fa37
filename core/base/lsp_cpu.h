/* lsp_cpu.h — which machine code computed the numbers: the clone of the
 * runtime-dispatched kernels (lsp_clones.h) this CPU runs, the level of the
 * kernels lsprobe dispatches itself (lsp_simd.h), and OpenBLAS's kernel
 * family. All change float rounding (vector width, FMA), so results.json and
 * the training record name them (README "Reproducibility"). */
#ifndef LSP_CPU_H
#define LSP_CPU_H

/* "x86-64-v4" (AVX-512), "x86-64-v3" (AVX2), "x86-64" (the baseline clone),
 * or "portable" when this build has no runtime dispatch (sanitizer builds,
 * other architectures). The same choice the loader's resolver makes. */
const char *lsp_cpu_path(void);

/* The instruction-set level of the kernels that lsprobe dispatches itself
 * (the loss and the top-label calibration pass, lsp_simd.h): 4 (AVX-512,
 * x86-64-v4), 3 (AVX2 + FMA, x86-64-v3), 1 (SSE2, the x86-64 baseline) or
 * 0 (plain C, other architectures) — the best this CPU has, lowered to the
 * cap of lsp_cpu_isa_cap. Thread-safe. */
int lsp_cpu_isa(void);

/* Caps lsp_cpu_isa at the level named "x86-64-v4", "x86-64-v3" or "x86-64"
 * (NULL or "best": no cap), so that tests and benchmarks can run every path
 * on one machine. Process-wide; the library never calls it. LSP_EINVAL for
 * another name. */
int lsp_cpu_isa_cap(const char *name);

/* The name of a level: "x86-64-v4", "x86-64-v3", "x86-64", "portable". */
const char *lsp_cpu_isa_name(int level);

/* OpenBLAS's kernel family for this CPU ("SkylakeX", "Haswell", ...). */
const char *lsp_blas_core(void);

#endif
