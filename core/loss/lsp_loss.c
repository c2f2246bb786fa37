#include "core/loss/lsp_loss.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/loss/lsp_xent_kern.h"

/* ---- smoothing settings --------------------------------------------------- */

int lsp_ls_check(const lsp_ls *ls, size_t k) {
  if (!ls) return lsp_fail(LSP_EINVAL, "no smoothing settings given");
  if (!(ls->eps >= 0.0 && ls->eps <= 1.0))
    return lsp_fail(LSP_EINVAL, "smoothing eps = %g is outside [0, 1]",
                    ls->eps);
  if (ls->convention != LSP_LS_UNIFORM && ls->convention != LSP_LS_T2T)
    return lsp_fail(LSP_EINVAL, "unknown smoothing convention %d",
                    (int)ls->convention);
  if (k < 2)
    return lsp_fail(LSP_EINVAL, "need at least 2 classes (K = %zu)", k);
  if (k > (size_t)INT32_MAX)
    return lsp_fail(LSP_EINVAL, "too many classes (K = %zu)", k);
  return LSP_OK;
}

void lsp_ls_target(const lsp_ls *ls, size_t k, double *q_on, double *q_off) {
  double K = (double)k;
  if (ls->convention == LSP_LS_T2T) {
    *q_on = 1.0 - ls->eps;
    *q_off = ls->eps / (K - 1.0);
  } else {
    *q_off = ls->eps / K;
    *q_on = 1.0 - ls->eps + *q_off;
  }
}

static double xlogx(double x) { return x > 0.0 ? x * log(x) : 0.0; }

double lsp_ls_entropy(const lsp_ls *ls, size_t k) {
  if (lsp_ls_check(ls, k)) return NAN;
  double on, off;
  lsp_ls_target(ls, k, &on, &off);
  return 0.0 - (xlogx(on) + (double)(k - 1) * xlogx(off)); /* +0, not −0, at eps 0 */
}

double lsp_ls_optimal_gap(const lsp_ls *ls, size_t k) {
  if (lsp_ls_check(ls, k)) return NAN;
  double on, off;
  lsp_ls_target(ls, k, &on, &off);
  if (off <= 0.0) return INFINITY;
  if (on <= 0.0) return -INFINITY;
  /* log(q_on/q_off) written to stay exact for small eps:
   * uniform: log(1 + K(1-eps)/eps); t2t: log((K-1)(1-eps)/eps). */
  double K = (double)k;
  if (ls->convention == LSP_LS_T2T) return log((K - 1.0) * (1.0 - ls->eps) / ls->eps);
  return log1p(K * (1.0 - ls->eps) / ls->eps);
}

const char *lsp_ls_convention_name(lsp_ls_convention c) {
  return c == LSP_LS_T2T ? "t2t" : "uniform";
}

int lsp_ls_convention_parse(const char *s, lsp_ls_convention *out) {
  if (s && strcmp(s, "uniform") == 0) {
    *out = LSP_LS_UNIFORM;
    return LSP_OK;
  }
  if (s && strcmp(s, "t2t") == 0) {
    *out = LSP_LS_T2T;
    return LSP_OK;
  }
  return lsp_fail(LSP_EINVAL, "unknown convention '%s' (use uniform or t2t)",
                  s ? s : "");
}

/* ---- the fused kernel -----------------------------------------------------
 *
 * The row kernels are in lsp_xent_body.h, compiled once per instruction-set
 * level (lsp_xent_kern.c); lsp_cpu_isa() picks one. Here: validation, the
 * split into blocks of rows run in parallel, and the reduction. */

/* Rows per block of the deterministic reduction. */
#define LOSS_BLOCK 64
/* A gradient at least this large is written with non-temporal stores: it
 * cannot stay in the caches anyway, and streaming it out saves reading its
 * old contents (a third of the memory traffic). Smaller ones (training
 * batches) are written normally, so the backward pass finds them cached. */
#define LOSS_STREAM_BYTES ((size_t)32 << 20)

int lsp_loss_xent(const float *logits, const int32_t *labels, size_t n,
                  size_t k, const lsp_ls *ls, float *dlogits, double dscale,
                  double *row_loss, double *mean_loss) {
  int st = lsp_ls_check(ls, k);
  if (st) return st;
  if (n == 0) return lsp_fail(LSP_EDATA, "no rows (N = 0)");
  if (!logits || !labels) return lsp_fail(LSP_EINVAL, "logits or labels missing");
  if (n > SIZE_MAX / k)
    return lsp_fail(LSP_EINVAL, "N = %zu rows of K = %zu logits overflow the address space", n, k);
  for (size_t i = 0; i < n; i++)
    if (labels[i] < 0 || (size_t)labels[i] >= k)
      return lsp_fail(LSP_EDATA, "label %d at row %zu is out of range [0, %zu)",
                      (int)labels[i], i, k);
  if (!isfinite(dscale))
    return lsp_fail(LSP_EINVAL, "gradient scale %g is not finite", dscale);
  /* the kernels scale in float: |p − q| ≤ 1, so |dscale| must be a float */
  if (fabs(dscale) > 3.4028234663852886e38)
    return lsp_fail(LSP_EINVAL, "gradient scale %g is beyond float32's range", dscale);

  double on, off;
  lsp_ls_target(ls, k, &on, &off);
  double h = ls->normalize ? lsp_ls_entropy(ls, k) : 0.0;

  size_t nblocks = (n + LOSS_BLOCK - 1) / LOSS_BLOCK;
  /* block sums: on the stack for mini-batches (no allocation inside a
   * training loop), on the heap for large inputs */
  double small[64], *bsum = nblocks <= 64 ? small : malloc(nblocks * sizeof *bsum);
  if (!bsum) return lsp_fail(LSP_ENOMEM, "out of memory");
  size_t bad_row = SIZE_MAX;
  lsp_xent_rows_fn rows = lsp_xent_rows_kernel(NULL);
  const lsp_xent_args args = {logits, labels, n, k, on, off, h, dlogits, (float)dscale,
                              dlogits && n * k * sizeof(float) >= LOSS_STREAM_BYTES,
                              row_loss};

#pragma omp parallel for schedule(static) num_threads(lsp_threads_get()) if (n * k >= 65536)
  for (size_t b = 0; b < nblocks; b++) {
    size_t r0 = b * LOSS_BLOCK, r1 = r0 + LOSS_BLOCK < n ? r0 + LOSS_BLOCK : n;
    size_t bad = rows(&args, r0, r1, &bsum[b]);
    if (bad < r1) {
      /* unnamed: a named critical section is a global symbol
       * (.gomp_critical_user_<name>) that a shared library would export */
#pragma omp critical
      if (bad < bad_row) bad_row = bad;
    }
  }
  if (bad_row != SIZE_MAX) {
    if (bsum != small) free(bsum);
    /* find the offending column for the message */
    const float *z = logits + bad_row * k;
    size_t c = 0;
    while (c < k && isfinite(z[c])) c++;
    return lsp_fail(LSP_EDATA, "non-finite logit (%g) at row %zu, column %zu",
                    c < k ? (double)z[c] : 0.0, bad_row, c);
  }
  double total = 0.0;
  for (size_t b = 0; b < nblocks; b++) total += bsum[b];
  if (bsum != small) free(bsum);
  if (mean_loss) *mean_loss = total / (double)n;
  return LSP_OK;
}

/* ---- the naive reference -------------------------------------------------- */

int lsp_loss_xent_ref(const float *logits, const int32_t *labels, size_t n,
                      size_t k, const lsp_ls *ls, double *dlogits,
                      double dscale, double *mean_loss) {
  int st = lsp_ls_check(ls, k);
  if (st) return st;
  double on, off;
  lsp_ls_target(ls, k, &on, &off);
  double h = ls->normalize ? lsp_ls_entropy(ls, k) : 0.0;
  long double total = 0.0L;
  for (size_t i = 0; i < n; i++) {
    const float *z = logits + i * k;
    if (labels[i] < 0 || (size_t)labels[i] >= k)
      return lsp_fail(LSP_EDATA, "label out of range at row %zu", i);
    double m = -INFINITY;
    for (size_t j = 0; j < k; j++) {
      if (!isfinite(z[j]))
        return lsp_fail(LSP_EDATA, "non-finite logit at row %zu", i);
      if (z[j] > m) m = z[j];
    }
    double s = 0.0;
    for (size_t j = 0; j < k; j++) s += exp((double)z[j] - m);
    double lg = log(s), l = 0.0;
    for (size_t j = 0; j < k; j++) {
      double q = (j == (size_t)labels[i]) ? on : off;
      double logp = ((double)z[j] - m) - lg;
      l -= q * logp;
      if (dlogits) dlogits[i * k + j] = (exp(logp) - q) * dscale;
    }
    total += l - h;
  }
  if (mean_loss) *mean_loss = (double)(total / (long double)n);
  return LSP_OK;
}

/* ---- softmax / log-softmax ------------------------------------------------ */

static void softmax_all(const float *in, float *out, size_t n, size_t k, int logspace) {
  lsp_softmax_rows_fn f = lsp_softmax_rows_kernel();
  size_t nblocks = (n + LOSS_BLOCK - 1) / LOSS_BLOCK;
#pragma omp parallel for schedule(static) num_threads(lsp_threads_get()) if (n * k >= 65536)
  for (size_t b = 0; b < nblocks; b++) {
    size_t r0 = b * LOSS_BLOCK, r1 = r0 + LOSS_BLOCK < n ? r0 + LOSS_BLOCK : n;
    f(in, out, k, r0, r1, logspace);
  }
}

void lsp_softmax_rows(const float *in, float *out, size_t n, size_t k) {
  softmax_all(in, out, n, k, 0);
}

void lsp_log_softmax_rows(const float *in, float *out, size_t n, size_t k) {
  softmax_all(in, out, n, k, 1);
}
