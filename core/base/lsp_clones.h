/* lsp_clones.h — runtime dispatch for hot kernels (internal).
 *
 * LSP_CLONES before a function compiles it for AVX-512 (x86-64-v4), AVX2
 * (x86-64-v3) and the portable baseline; the loader picks the best the CPU
 * has (GCC/Clang target_clones through an ifunc). The sanitizer build
 * (LSP_NO_CLONES) and other architectures get the portable version only. */
#ifndef LSP_CLONES_H
#define LSP_CLONES_H

#if defined(__x86_64__) && !defined(LSP_NO_CLONES) && defined(__GNUC__)
#define LSP_HAVE_CLONES 1
#define LSP_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LSP_HAVE_CLONES 0
#define LSP_CLONES
#endif

/* LSP_CLONES_VEXT: the same for functions whose static inline helpers take
 * or return GCC vector-extension values wider than the baseline registers
 * (lsp_vexp.h's 8-double and 16-float lanes). Clang (14) rejects such calls
 * in the clones without AVX-512 ("changes the ABI") even when they are
 * inlined, so under clang these functions get the portable version only. */
#if defined(__clang__)
#define LSP_CLONES_VEXT
#else
#define LSP_CLONES_VEXT LSP_CLONES
#endif

#endif
