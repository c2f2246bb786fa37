#include "core/loss/lsp_loss.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_clones.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/loss/lsp_vexp.h"

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
  double on, off;
  lsp_ls_target(ls, k, &on, &off);
  return -(xlogx(on) + (double)(k - 1) * xlogx(off));
}

double lsp_ls_optimal_gap(const lsp_ls *ls, size_t k) {
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

/* ---- the fused row kernel ------------------------------------------------- */

/* One row: z (k logits), label y, target weights on/off. Writes the row loss
 * (without the H(q) term) and, if g is not NULL, g = gscale * (p - q).
 * Returns 0, or 1 if the row holds a NaN or an infinity.
 *
 * Three sweeps over a row that sits in L1: (1) max, and the NaN/Inf check,
 * and sum z; (2) e = exp(z - max), stored in g, and sum e; (3) g = (e/sum -
 * q) * gscale. Memory traffic is one read of z and one write of g. */
LSP_CLONES
static int xent_row(const float *z, size_t k, int32_t y, double on, double off,
                    float *g, float gscale, double *loss) {
  const size_t V = LSP_VLANES;
  size_t kv = k - k % V;
  /* sweep 1: max and sum. Lane sums are float (each lane adds K/16 terms;
   * the 16 lanes are combined in double), which keeps the accumulators in
   * registers. A NaN or infinity anywhere makes the sum non-finite, so the
   * finiteness check costs nothing in the common case. */
  lsp_v16f vmax = lsp_vsplat(-FLT_MAX);
  lsp_v16f vsum = {0};
  for (size_t j = 0; j < kv; j += V) {
    lsp_v16f x = lsp_vload(z + j);
    lsp_v16i gt = x > vmax;
    vmax = (lsp_v16f)((lsp_vbits(x) & gt) | (lsp_vbits(vmax) & ~gt));
    vsum += x;
  }
  float m = -FLT_MAX;
  double sz = 0.0;
  for (size_t l = 0; l < V; l++) {
    m = vmax[l] > m ? vmax[l] : m;
    sz += (double)vsum[l];
  }
  for (size_t j = kv; j < k; j++) {
    m = z[j] > m ? z[j] : m;
    sz += z[j];
  }
  if (!isfinite(sz)) {
    /* a NaN/Inf logit, or finite logits near FLT_MAX overflowed a lane */
    sz = 0.0;
    for (size_t j = 0; j < k; j++) {
      if (!isfinite(z[j])) return 1;
      sz += z[j];
    }
  }

  /* sweep 2: two accumulators to hide the add latency */
  lsp_v16f vm = lsp_vsplat(m);
  lsp_v16f se0 = {0}, se1 = {0};
  size_t j = 0;
  for (; j + 2 * V <= kv; j += 2 * V) {
    lsp_v16f e0 = lsp_vexp_nonpos(lsp_vload(z + j) - vm);
    lsp_v16f e1 = lsp_vexp_nonpos(lsp_vload(z + j + V) - vm);
    if (g) {
      lsp_vstore(g + j, e0);
      lsp_vstore(g + j + V, e1);
    }
    se0 += e0;
    se1 += e1;
  }
  for (; j < kv; j += V) {
    lsp_v16f e = lsp_vexp_nonpos(lsp_vload(z + j) - vm);
    if (g) lsp_vstore(g + j, e);
    se0 += e;
  }
  double se = 0.0;
  for (size_t l = 0; l < V; l++) se += (double)se0[l] + (double)se1[l];
  if (kv < k) { /* the tail, padded to a full vector; only valid lanes used */
    float tmp[LSP_VLANES];
    for (size_t l = 0; l < V; l++) tmp[l] = kv + l < k ? z[kv + l] - m : 0.0f;
    lsp_vstore(tmp, lsp_vexp_nonpos(lsp_vload(tmp)));
    for (size_t l = 0; kv + l < k; l++) {
      if (g) g[kv + l] = tmp[l];
      se += tmp[l];
    }
  }

  /* loss = logsumexp(z) - sum_k q_k z_k */
  *loss = (double)m + log(se) - (off * sz + (on - off) * (double)z[y]);

  /* sweep 3 */
  if (g) {
    lsp_v16f vinv = lsp_vsplat((float)(1.0 / se));
    lsp_v16f voff = lsp_vsplat((float)off), vs = lsp_vsplat(gscale);
    for (j = 0; j < kv; j += V)
      lsp_vstore(g + j, (lsp_vload(g + j) * vinv - voff) * vs);
    float inv = (float)(1.0 / se), foff = (float)off;
    for (j = kv; j < k; j++) g[j] = (g[j] * inv - foff) * gscale;
    g[y] -= (float)((on - off) * (double)gscale);
  }
  return 0;
}

/* Rows per block of the deterministic reduction. */
#define LOSS_BLOCK 64

int lsp_loss_xent(const float *logits, const int32_t *labels, size_t n,
                  size_t k, const lsp_ls *ls, float *dlogits, double dscale,
                  double *row_loss, double *mean_loss) {
  int st = lsp_ls_check(ls, k);
  if (st) return st;
  if (n == 0) return lsp_fail(LSP_EDATA, "no rows (N = 0)");
  if (!logits || !labels) return lsp_fail(LSP_EINVAL, "logits or labels missing");
  for (size_t i = 0; i < n; i++)
    if (labels[i] < 0 || (size_t)labels[i] >= k)
      return lsp_fail(LSP_EDATA, "label %d at row %zu is out of range [0, %zu)",
                      (int)labels[i], i, k);
  if (!isfinite(dscale))
    return lsp_fail(LSP_EINVAL, "gradient scale %g is not finite", dscale);

  double on, off;
  lsp_ls_target(ls, k, &on, &off);
  double h = ls->normalize ? lsp_ls_entropy(ls, k) : 0.0;

  size_t nblocks = (n + LOSS_BLOCK - 1) / LOSS_BLOCK;
  /* block sums: on the stack for mini-batches (no allocation inside a
   * training loop), on the heap for large inputs */
  double small[64], *bsum = nblocks <= 64 ? small : malloc(nblocks * sizeof *bsum);
  if (!bsum) return lsp_fail(LSP_ENOMEM, "out of memory");
  size_t bad_row = SIZE_MAX;
  float gs = (float)dscale;

#pragma omp parallel for schedule(static) num_threads(lsp_threads_get()) if (n * k >= 65536)
  for (size_t b = 0; b < nblocks; b++) {
    size_t r0 = b * LOSS_BLOCK, r1 = r0 + LOSS_BLOCK < n ? r0 + LOSS_BLOCK : n;
    double acc = 0.0;
    for (size_t r = r0; r < r1; r++) {
      double l;
      if (xent_row(logits + r * k, k, labels[r], on, off,
                   dlogits ? dlogits + r * k : NULL, gs, &l)) {
        /* unnamed: a named critical section is a global symbol
         * (.gomp_critical_user_<name>) that liblsprobe.so would export */
#pragma omp critical
        if (r < bad_row) bad_row = r;
        break;
      }
      l -= h;
      if (row_loss) row_loss[r] = l;
      acc += l;
    }
    bsum[b] = acc;
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
    double lse = m + log(s), l = 0.0;
    for (size_t j = 0; j < k; j++) {
      double q = (j == (size_t)labels[i]) ? on : off;
      double logp = (double)z[j] - lse;
      l -= q * logp;
      if (dlogits) dlogits[i * k + j] = (exp(logp) - q) * dscale;
    }
    total += l - h;
  }
  if (mean_loss) *mean_loss = (double)(total / (long double)n);
  return LSP_OK;
}

/* ---- softmax / log-softmax ------------------------------------------------ */

LSP_CLONES
static void softmax_row(const float *z, float *out, size_t k, int logspace) {
  float m = -FLT_MAX;
  for (size_t j = 0; j < k; j++) m = z[j] > m ? z[j] : m;
  const size_t V = LSP_VLANES;
  size_t kv = k - k % V;
  lsp_v16f vm = lsp_vsplat(m);
  lsp_v16d vse = {0};
  float tmp[LSP_VLANES];
  for (size_t j = 0; j < kv; j += V) {
    lsp_v16f e = lsp_vexp_nonpos(lsp_vload(z + j) - vm);
    if (!logspace) lsp_vstore(out + j, e);
    vse += __builtin_convertvector(e, lsp_v16d);
  }
  double se = 0.0;
  for (size_t l = 0; l < V; l++) se += vse[l];
  if (kv < k) {
    for (size_t l = 0; l < V; l++) tmp[l] = kv + l < k ? z[kv + l] - m : 0.0f;
    lsp_vstore(tmp, lsp_vexp_nonpos(lsp_vload(tmp)));
    for (size_t l = 0; kv + l < k; l++) {
      if (!logspace) out[kv + l] = tmp[l];
      se += tmp[l];
    }
  }
  if (logspace) {
    float lse = (float)((double)m + log(se));
    for (size_t j = 0; j < k; j++) out[j] = z[j] - lse;
  } else {
    float inv = (float)(1.0 / se);
    for (size_t j = 0; j < k; j++) out[j] *= inv;
  }
}

void lsp_softmax_rows(const float *in, float *out, size_t n, size_t k) {
#pragma omp parallel for schedule(static) num_threads(lsp_threads_get()) if (n * k >= 65536)
  for (size_t i = 0; i < n; i++) softmax_row(in + i * k, out + i * k, k, 0);
}

void lsp_log_softmax_rows(const float *in, float *out, size_t n, size_t k) {
#pragma omp parallel for schedule(static) num_threads(lsp_threads_get()) if (n * k >= 65536)
  for (size_t i = 0; i < n; i++) softmax_row(in + i * k, out + i * k, k, 1);
}
