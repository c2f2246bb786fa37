/* lsp_clones.h — runtime dispatch for hot kernels (internal).
 *
 * LSP_CLONES before a function compiles it for AVX-512 (x86-64-v4), AVX2
 * (x86-64-v3) and the portable baseline; the loader picks the best the CPU
 * has (GCC's target_clones through an ifunc). The sanitizer build
 * (LSP_NO_CLONES), other architectures and clang get the portable version
 * only: clang 14's resolver for "arch=x86-64-vN" clones never picks the
 * x86-64-v3 one and picks x86-64-v4 only when its CPU record is unset, so
 * on a real CPU its builds always ran the baseline. */
#ifndef LSP_CLONES_H
#define LSP_CLONES_H

#if defined(__x86_64__) && !defined(LSP_NO_CLONES) && defined(__GNUC__) && \
    !defined(__clang__)
#define LSP_HAVE_CLONES 1
#define LSP_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LSP_HAVE_CLONES 0
#define LSP_CLONES
#endif

#endif
