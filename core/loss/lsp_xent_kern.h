/* lsp_xent_kern.h — the loss core's row kernels, one per instruction-set
 * level (internal to core/loss; lsp_xent_body.h has the code, DESIGN §2
 * "The kernel" the reasoning). lsp_loss.c splits the rows into blocks,
 * runs them in parallel and reduces the block sums in a fixed order. */
#ifndef LSP_XENT_KERN_H
#define LSP_XENT_KERN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const float *z;   /* N×K logits                                         */
  const int32_t *y; /* N labels, checked to lie in [0, K)                 */
  size_t n, k;
  double on, off;   /* target weights of the true and of another class    */
  double h;         /* subtracted from every row's loss (H(q) or 0)       */
  float *g;         /* N×K gradient output, or NULL                       */
  float gs;         /* gradient scale                                     */
  int stream;       /* write g with non-temporal stores (large outputs)   */
  double *row_loss; /* N outputs, or NULL                                 */
} lsp_xent_args;

/* Rows [r0, r1): adds their losses to *sum (in row order) and returns r1,
 * or returns the first row with a non-finite logit. */
typedef size_t (*lsp_xent_rows_fn)(const lsp_xent_args *a, size_t r0, size_t r1,
                                   double *sum);
/* Rows [r0, r1) of an N×K softmax (logspace: log-softmax); out may be in. */
typedef void (*lsp_softmax_rows_fn)(const float *in, float *out, size_t k, size_t r0,
                                    size_t r1, int logspace);

/* One row's single sweep (x86-64 levels): returns 1 and sets e[j] =
 * exp(z[j]), *sz = Σz, *se = Σe if the row is taken (every logit in the
 * level's range, no overflow), 0 otherwise; for the tests of the
 * exponentials. */
typedef int (*lsp_xent_sweep_fn)(const float *z, size_t k, float *e, double *sz,
                                 double *se);

/* The kernels of level lsp_cpu_isa() (lsp_cpu.h); *level gets that level.
 * lsp_xent_sweep_kernel is NULL where the kernels have no single sweep
 * (other architectures). */
lsp_xent_rows_fn lsp_xent_rows_kernel(int *level);
lsp_softmax_rows_fn lsp_softmax_rows_kernel(void);
lsp_xent_sweep_fn lsp_xent_sweep_kernel(void);

#endif
