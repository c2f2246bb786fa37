/* lsp_threads.h — one knob for every thread pool lsprobe uses (OpenMP loops
 * in the kernels and OpenBLAS's GEMM threads). */
#ifndef LSP_THREADS_H
#define LSP_THREADS_H

/* Use `n` threads (n <= 0: the number of online cores). */
void lsp_threads_set(int n);
/* The current setting. */
int lsp_threads_get(void);

#endif
