/* lsp_cpu.h — which machine code computed the numbers: the clone of the
 * runtime-dispatched kernels (lsp_clones.h) this CPU runs, and OpenBLAS's
 * kernel family. Both change float rounding (vector width, FMA), so
 * results.json and the training record name them (README "Reproducibility"). */
#ifndef LSP_CPU_H
#define LSP_CPU_H

/* "x86-64-v4" (AVX-512), "x86-64-v3" (AVX2), "x86-64" (the baseline clone),
 * or "portable" when this build has no runtime dispatch (sanitizer builds,
 * other architectures). The same choice the loader's resolver makes. */
const char *lsp_cpu_path(void);

/* OpenBLAS's kernel family for this CPU ("SkylakeX", "Haswell", ...). */
const char *lsp_blas_core(void);

#endif
