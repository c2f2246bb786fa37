/* lsp_soft.c — soft-target cross-entropy and the distillation loss: fused
 * row kernels (lsp_soft.h), a deterministic parallel driver, and the naive
 * double-precision references.
 *
 * The kernels read a row in chunks of eight floats widened to double, take
 * every exponential in double (lsp_vexpd_nonpos) and sum in double lanes
 * combined in a fixed order. Three sweeps over a row that sits in L1:
 * (1) maxima, plain sums (which also catch a NaN or an infinity: a double
 * sum of floats cannot overflow) and the dot products the loss needs;
 * (2) the exponentials and their sums, hence the loss; (3) the gradient,
 * recomputing the exponentials rather than storing them, so that no scratch
 * memory is needed and identical inputs give bit-identical terms (a teacher
 * equal to the student cancels exactly). Memory traffic: one read of each
 * input row, one write of the gradient row. */
#include "core/loss/lsp_soft.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_clones.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/loss/lsp_vexp.h"

/* No fused multiply-adds in this file (Clang contracts by default; GCC's
 * ISO mode does not): a*b - c*d with a*b == c*d must give exactly 0, which
 * a fused form (exact a*b minus rounded c*d) would not. */
#pragma STDC FP_CONTRACT OFF

#define VD LSP_VLANES_D

/* ---- settings ------------------------------------------------------------ */

int lsp_distill_check(const lsp_distill *d, size_t k) {
  if (!d) return lsp_fail(LSP_EINVAL, "no distillation settings given");
  if (!(d->alpha >= 0.0 && d->alpha <= 1.0))
    return lsp_fail(LSP_EINVAL, "alpha = %g is outside [0, 1]", d->alpha);
  if (!(d->temperature > 0.0) || !isfinite(d->temperature))
    return lsp_fail(LSP_EINVAL,
                    "temperature T = %g must be positive and finite",
                    d->temperature);
  /* the loss divides by T and multiplies by T^2: both must stay finite */
  if (!isfinite(1.0 / d->temperature) ||
      !isfinite(d->temperature * d->temperature))
    return lsp_fail(LSP_EINVAL,
                    "temperature T = %g is out of range: %s is not finite "
                    "in double precision",
                    d->temperature,
                    d->temperature < 1.0 ? "1/T" : "T^2");
  return lsp_ls_check(&d->hard, k);
}

/* ---- vector helpers ------------------------------------------------------ */

/* nv <= 8 floats from p widened to double; lanes past nv are 0. A full
 * chunk is one vector load (the tail goes through a zeroed buffer: a
 * vector load of scalar stores would stall on store forwarding in the
 * hot path). */
static inline lsp_v8d load8(const float *p, size_t nv) {
  lsp_v8f f;
  if (nv == VD) {
    memcpy(&f, p, sizeof f);
  } else {
    float t[VD] = {0};
    memcpy(t, p, nv * sizeof *p);
    memcpy(&f, t, sizeof f);
  }
  return __builtin_convertvector(f, lsp_v8d);
}

static inline void store8(float *p, lsp_v8d v, size_t nv) {
  lsp_v8f f = __builtin_convertvector(v, lsp_v8f);
  if (nv == VD) {
    memcpy(p, &f, sizeof f);
  } else {
    float t[VD];
    memcpy(t, &f, sizeof t);
    memcpy(p, t, nv * sizeof *p);
  }
}

/* All-ones in the first nv lanes. */
static inline lsp_v8l mask8(size_t nv) {
  const lsp_v8l iota = {0, 1, 2, 3, 4, 5, 6, 7};
  const int64_t m = (int64_t)nv;
  return iota < (lsp_v8l){m, m, m, m, m, m, m, m};
}

static inline lsp_v8d and8(lsp_v8d x, lsp_v8l m) {
  return (lsp_v8d)((lsp_v8l)x & m);
}

/* vmax, with x taking part only in the lanes of m */
static inline lsp_v8d max8(lsp_v8d vmax, lsp_v8d x, lsp_v8l m) {
  lsp_v8l gt = (x > vmax) & m;
  return (lsp_v8d)(((lsp_v8l)x & gt) | ((lsp_v8l)vmax & ~gt));
}

/* Lane sum in a fixed order. */
static inline double hsum8(lsp_v8d v) {
  double s = 0.0;
  for (size_t l = 0; l < VD; l++) s += v[l];
  return s;
}

static inline double hmax8(lsp_v8d v) {
  double m = -DBL_MAX;
  for (size_t l = 0; l < VD; l++) m = v[l] > m ? v[l] : m;
  return m;
}

/* Row status: 0 ok, or which input of the row is bad. */
enum { ROW_OK = 0, ROW_LOGIT = 1, ROW_OTHER = 2, ROW_NEGATIVE = 3 };

/* ---- soft-target cross-entropy: one row ---------------------------------- */

LSP_CLONES
static int soft_row(const float *z, const float *q, size_t k, float *g,
                    double gscale, double *loss) {
  lsp_v8d vmax = lsp_vsplatd(-DBL_MAX), vsz = {0}, vsq = {0};
  lsp_v8l neg = {0};
  for (size_t j = 0; j < k; j += VD) {
    size_t nv = k - j < VD ? k - j : VD;
    lsp_v8l m = mask8(nv);
    lsp_v8d x = load8(z + j, nv), w = load8(q + j, nv);
    vmax = max8(vmax, x, m);
    vsz += x;
    vsq += w;
    neg |= w < lsp_vsplatd(0.0);
  }
  if (!isfinite(hsum8(vsz))) return ROW_LOGIT;
  double sq = hsum8(vsq);
  if (!isfinite(sq)) return ROW_OTHER;
  for (size_t l = 0; l < VD; l++)
    if (neg[l]) return ROW_NEGATIVE;
  const double mx = hmax8(vmax);
  const lsp_v8d vm = lsp_vsplatd(mx);

  /* and sum q (max - z), which the loss takes instead of (sum q) max -
   * sum q z: the max cancels term by term, exactly for equal logits */
  lsp_v8d vs = {0}, vqd = {0};
  for (size_t j = 0; j < k; j += VD) {
    size_t nv = k - j < VD ? k - j : VD;
    lsp_v8d x = load8(z + j, nv);
    vs += and8(lsp_vexpd_nonpos(x - vm), mask8(nv));
    vqd += load8(q + j, nv) * (vm - x);
  }
  const double s = hsum8(vs);
  /* -sum q log p = (sum q) logsumexp(z) - sum q z
   *              = sum q (max - z) + (sum q) log sum e */
  *loss = hsum8(vqd) + sq * log(s);

  if (g) {
    const lsp_v8d a = lsp_vsplatd(gscale * sq / s), b = lsp_vsplatd(gscale);
    for (size_t j = 0; j < k; j += VD) {
      size_t nv = k - j < VD ? k - j : VD;
      lsp_v8d e = lsp_vexpd_nonpos(load8(z + j, nv) - vm);
      store8(g + j, a * e - b * load8(q + j, nv), nv);
    }
  }
  return ROW_OK;
}

/* ---- distillation: one row ----------------------------------------------- */

typedef struct {
  double alpha, t, invt;
  double on, off, h; /* hard target weights and H(q) when normalized */
} dparams;

LSP_CLONES
static int distill_row(const float *z, const float *t, size_t k, int32_t y,
                       const dparams *dp, float *g, double gscale, double *ce,
                       double *tkl) {
  lsp_v8d vmz = lsp_vsplatd(-DBL_MAX), vmt = vmz, vsz = {0}, vst = {0};
  for (size_t j = 0; j < k; j += VD) {
    size_t nv = k - j < VD ? k - j : VD;
    lsp_v8l m = mask8(nv);
    lsp_v8d xs = load8(z + j, nv), xt = load8(t + j, nv);
    vmz = max8(vmz, xs, m);
    vmt = max8(vmt, xt, m);
    vsz += xs;
    vst += xt;
  }
  const double sz = hsum8(vsz);
  if (!isfinite(sz)) return ROW_LOGIT;
  if (!isfinite(hsum8(vst))) return ROW_OTHER;
  const double mz = hmax8(vmz), mt = hmax8(vmt);
  const int t1 = dp->t == 1.0;
  const lsp_v8d vz = lsp_vsplatd(mz), vt = lsp_vsplatd(mt),
                vi = lsp_vsplatd(dp->invt);

  /* e1 = exp(z - max z), e2 = exp((z - max z)/T) (= e1 at T = 1),
   * e3 = exp((t - max t)/T), and sum e3 (t - z) for the KL */
  lsp_v8d s1 = {0}, s2 = {0}, s3 = {0}, vdot = {0};
  for (size_t j = 0; j < k; j += VD) {
    size_t nv = k - j < VD ? k - j : VD;
    lsp_v8l m = mask8(nv);
    lsp_v8d xs = load8(z + j, nv), xt = load8(t + j, nv);
    lsp_v8d e1 = and8(lsp_vexpd_nonpos(xs - vz), m);
    lsp_v8d e3 = and8(lsp_vexpd_nonpos((xt - vt) * vi), m);
    s1 += e1;
    if (!t1) s2 += and8(lsp_vexpd_nonpos((xs - vz) * vi), m);
    s3 += e3;
    vdot += e3 * (xt - xs);
  }
  const double S1 = hsum8(s1), S2 = t1 ? S1 : hsum8(s2), S3 = hsum8(s3);
  /* CE = logsumexp(z) - sum q z - H(q); with q = off + (on - off)[k = y] */
  /* written as sum q (max z - z) + log S1 (sum q = 1): the max cancels
   * before log S1 is added, which logits far larger than it would lose */
  *ce = (dp->off * ((double)k * mz - sz) + (dp->on - dp->off) * (mz - (double)z[y])) +
        log(S1) - dp->h;
  /* T·KL(tT || pT) = sum tT (t - z) + T (logsumexp(z/T) - logsumexp(t/T)),
   * the maxima subtracted first for the same reason; T·KL, not KL: at a
   * tiny T the KL overflows (and T² underflows to 0) while T·KL stays of
   * the logits' order, so the loss's T²·KL = T·(T·KL) is never inf·0 */
  *tkl = (mz - mt) + dp->t * (log(S2) - log(S3)) + hsum8(vdot) / S3;

  if (g) {
    const double a = (1.0 - dp->alpha) * gscale, b = dp->alpha * dp->t * gscale;
    const lsp_v8d c1 = lsp_vsplatd(a / S1), c2 = lsp_vsplatd(b / S2),
                  c3 = lsp_vsplatd(b / S3), coff = lsp_vsplatd(a * dp->off);
    for (size_t j = 0; j < k; j += VD) {
      size_t nv = k - j < VD ? k - j : VD;
      lsp_v8d xs = load8(z + j, nv), xt = load8(t + j, nv);
      lsp_v8d e1 = lsp_vexpd_nonpos(xs - vz);
      lsp_v8d e2 = t1 ? e1 : lsp_vexpd_nonpos((xs - vz) * vi);
      lsp_v8d e3 = lsp_vexpd_nonpos((xt - vt) * vi);
      /* the soft part as one difference, so that equal inputs give 0 */
      lsp_v8d gv = c1 * e1 - coff + (c2 * e2 - c3 * e3);
      /* the label's term in double too, then one rounding: a confident
       * row's a·p_y ≈ a rounded to float first would lose the rest of
       * the row's gradient at y (a·(p_y − 1) + b·(…) ≪ ulp(a)) */
      if ((size_t)y - j < nv) gv[(size_t)y - j] -= a * (dp->on - dp->off);
      store8(g + j, gv, nv);
    }
  }
  return ROW_OK;
}

/* ---- the parallel driver ------------------------------------------------- */

/* Rows per block of the deterministic reduction. */
#define SOFT_BLOCK 64

typedef struct {
  int distill;        /* 0: soft-target CE; 1: distillation          */
  const float *z, *t; /* logits; targets (CE) or teacher logits      */
  const int32_t *y;
  size_t k;
  dparams dp;
  float *g;
  double gscale;
  double *row_loss;
} job;

static int one_row(const job *jb, size_t r, double *a, double *b) {
  const size_t k = jb->k;
  float *g = jb->g ? jb->g + r * k : NULL;
  int st;
  if (jb->distill) {
    double ce, tkl; /* tkl = T·KL */
    st = distill_row(jb->z + r * k, jb->t + r * k, k, jb->y[r], &jb->dp, g,
                     jb->gscale, &ce, &tkl);
    *a = ce;
    *b = tkl;
    if (!st && jb->row_loss)
      jb->row_loss[r] =
          (1.0 - jb->dp.alpha) * ce + jb->dp.alpha * jb->dp.t * tkl;
  } else {
    st = soft_row(jb->z + r * k, jb->t + r * k, k, g, jb->gscale, a);
    *b = 0.0;
    if (!st && jb->row_loss) jb->row_loss[r] = *a;
  }
  return st;
}

/* The first bad entry of row r (status from the row kernel) as a message. */
static int bad_row(const job *jb, size_t r, int code) {
  const size_t k = jb->k;
  const float *v = (code == ROW_LOGIT ? jb->z : jb->t) + r * k;
  size_t c = 0;
  if (code == ROW_NEGATIVE)
    while (c < k && !(v[c] < 0.0f)) c++;
  else
    while (c < k && isfinite(v[c])) c++;
  double x = c < k ? (double)v[c] : 0.0;
  const char *what = code == ROW_LOGIT      ? "non-finite logit"
                     : code == ROW_NEGATIVE ? "negative target"
                     : jb->distill          ? "non-finite teacher logit"
                                            : "non-finite target";
  return lsp_fail(LSP_EDATA, "%s (%g) at row %zu, column %zu", what, x, r, c);
}

/* Run every row; sums[0..1] get the totals of the two per-row outputs. */
static int run_rows(const job *jb, size_t n, double sums[2]) {
  size_t nblocks = (n + SOFT_BLOCK - 1) / SOFT_BLOCK;
  /* block sums on the stack for mini-batches, on the heap for large inputs */
  double small[2 * 32],
      *bs = nblocks <= 32 ? small : malloc(2 * nblocks * sizeof *bs);
  if (!bs) return lsp_fail(LSP_ENOMEM, "out of memory");
  size_t first_bad = SIZE_MAX;
  int bad_code = 0;
#pragma omp parallel for schedule(static) num_threads(lsp_threads_get()) if (n * jb->k >= 65536)
  for (size_t blk = 0; blk < nblocks; blk++) {
    size_t r0 = blk * SOFT_BLOCK,
           r1 = r0 + SOFT_BLOCK < n ? r0 + SOFT_BLOCK : n;
    double acc_a = 0.0, acc_b = 0.0;
    for (size_t r = r0; r < r1; r++) {
      double a, b;
      int code = one_row(jb, r, &a, &b);
      if (code) {
        /* unnamed: a named critical section is a global symbol
         * (.gomp_critical_user_<name>) that liblsprobe.so would export */
#pragma omp critical
        if (r < first_bad) {
          first_bad = r;
          bad_code = code;
        }
        break;
      }
      acc_a += a;
      acc_b += b;
    }
    bs[2 * blk] = acc_a;
    bs[2 * blk + 1] = acc_b;
  }
  sums[0] = sums[1] = 0.0;
  for (size_t blk = 0; blk < nblocks; blk++) {
    sums[0] += bs[2 * blk];
    sums[1] += bs[2 * blk + 1];
  }
  if (bs != small) free(bs);
  return first_bad != SIZE_MAX ? bad_row(jb, first_bad, bad_code) : LSP_OK;
}

static int check_common(const float *z, const float *t, size_t n, size_t k,
                        double dscale) {
  if (k < 2)
    return lsp_fail(LSP_EINVAL, "need at least 2 classes (K = %zu)", k);
  if (k > (size_t)INT32_MAX)
    return lsp_fail(LSP_EINVAL, "too many classes (K = %zu)", k);
  if (n == 0) return lsp_fail(LSP_EDATA, "no rows (N = 0)");
  if (!z || !t) return lsp_fail(LSP_EINVAL, "logits or targets missing");
  if (!isfinite(dscale))
    return lsp_fail(LSP_EINVAL, "gradient scale %g is not finite", dscale);
  if (fabs(dscale) > 3.4028234663852886e38) /* the gradient is float32 */
    return lsp_fail(LSP_EINVAL, "gradient scale %g is beyond float32's range", dscale);
  return LSP_OK;
}

int lsp_loss_soft_xent(const float *logits, const float *targets, size_t n,
                       size_t k, float *dlogits, double dscale,
                       double *row_loss, double *mean_loss) {
  int st = check_common(logits, targets, n, k, dscale);
  if (st) return st;
  job jb = {.distill = 0,
            .z = logits,
            .t = targets,
            .k = k,
            .g = dlogits,
            .gscale = dscale,
            .row_loss = row_loss};
  double sums[2];
  if ((st = run_rows(&jb, n, sums))) return st;
  if (mean_loss) *mean_loss = sums[0] / (double)n;
  return LSP_OK;
}

static void distill_params(const lsp_distill *d, size_t k, dparams *dp) {
  dp->alpha = d->alpha;
  dp->t = d->temperature;
  dp->invt = 1.0 / d->temperature;
  lsp_ls_target(&d->hard, k, &dp->on, &dp->off);
  dp->h = d->hard.normalize ? lsp_ls_entropy(&d->hard, k) : 0.0;
}

static int check_labels(const int32_t *y, size_t n, size_t k) {
  if (!y) return lsp_fail(LSP_EINVAL, "labels missing");
  for (size_t i = 0; i < n; i++)
    if (y[i] < 0 || (size_t)y[i] >= k)
      return lsp_fail(LSP_EDATA, "label %d at row %zu is out of range [0, %zu)",
                      (int)y[i], i, k);
  return LSP_OK;
}

int lsp_loss_distill(const float *logits, const float *teacher,
                     const int32_t *labels, size_t n, size_t k,
                     const lsp_distill *d, float *dlogits, double dscale,
                     double *row_loss, lsp_distill_mean *mean) {
  int st = lsp_distill_check(d, k);
  if (!st) st = check_common(logits, teacher, n, k, dscale);
  if (!st) st = check_labels(labels, n, k);
  if (st) return st;
  job jb = {.distill = 1,
            .z = logits,
            .t = teacher,
            .y = labels,
            .k = k,
            .g = dlogits,
            .gscale = dscale,
            .row_loss = row_loss};
  distill_params(d, k, &jb.dp);
  double sums[2];
  if ((st = run_rows(&jb, n, sums))) return st;
  if (mean) {
    mean->ce = sums[0] / (double)n;
    const double tkl = sums[1] / (double)n; /* the mean of T·KL */
    mean->kl = tkl / d->temperature; /* +inf where the KL itself overflows */
    mean->loss = (1.0 - d->alpha) * mean->ce + d->alpha * d->temperature * tkl;
  }
  return LSP_OK;
}

/* ---- the naive references ------------------------------------------------ */

/* log-softmax of v/T into out (double), from float v: max, then sums. */
static void log_softmax_ref(const float *v, size_t k, double temp,
                            double *out) {
  double m = -INFINITY;
  for (size_t j = 0; j < k; j++) m = fmax(m, (double)v[j] / temp);
  double s = 0.0;
  for (size_t j = 0; j < k; j++) s += exp((double)v[j] / temp - m);
  double ls = log(s);
  for (size_t j = 0; j < k; j++) out[j] = ((double)v[j] / temp - m) - ls;
}

int lsp_loss_soft_xent_ref(const float *logits, const float *targets, size_t n,
                           size_t k, double *dlogits, double dscale,
                           double *mean_loss) {
  int st = check_common(logits, targets, n, k, dscale);
  if (st) return st;
  double *lp = malloc(k * sizeof *lp);
  if (!lp) return lsp_fail(LSP_ENOMEM, "out of memory");
  long double total = 0.0L;
  for (size_t i = 0; i < n; i++) {
    const float *z = logits + i * k, *q = targets + i * k;
    double sq = 0.0, l = 0.0;
    for (size_t j = 0; j < k; j++) {
      if (!isfinite(z[j]) || !isfinite(q[j]) || q[j] < 0.0f) {
        free(lp);
        return lsp_fail(LSP_EDATA, "bad logit or target at row %zu", i);
      }
      sq += q[j];
    }
    log_softmax_ref(z, k, 1.0, lp);
    for (size_t j = 0; j < k; j++) {
      l -= (double)q[j] * lp[j];
      if (dlogits) dlogits[i * k + j] = (sq * exp(lp[j]) - q[j]) * dscale;
    }
    total += l;
  }
  free(lp);
  if (mean_loss) *mean_loss = (double)(total / (long double)n);
  return LSP_OK;
}

int lsp_loss_distill_ref(const float *logits, const float *teacher,
                         const int32_t *labels, size_t n, size_t k,
                         const lsp_distill *d, double *dlogits, double dscale,
                         lsp_distill_mean *mean) {
  int st = lsp_distill_check(d, k);
  if (!st) st = check_common(logits, teacher, n, k, dscale);
  if (!st) st = check_labels(labels, n, k);
  if (st) return st;
  double on, off, T = d->temperature, a = d->alpha;
  lsp_ls_target(&d->hard, k, &on, &off);
  double h = d->hard.normalize ? lsp_ls_entropy(&d->hard, k) : 0.0;
  double *lp = malloc(3 * k * sizeof *lp);
  if (!lp) return lsp_fail(LSP_ENOMEM, "out of memory");
  double *lpt = lp + k, *ltt = lp + 2 * k;
  long double tce = 0.0L, tkl = 0.0L;
  for (size_t i = 0; i < n; i++) {
    const float *z = logits + i * k, *t = teacher + i * k;
    for (size_t j = 0; j < k; j++)
      if (!isfinite(z[j]) || !isfinite(t[j])) {
        free(lp);
        return lsp_fail(LSP_EDATA, "non-finite logit at row %zu", i);
      }
    log_softmax_ref(z, k, 1.0, lp);
    log_softmax_ref(z, k, T, lpt);
    log_softmax_ref(t, k, T, ltt);
    double ce = -h, kl = 0.0;
    for (size_t j = 0; j < k; j++) {
      double q = j == (size_t)labels[i] ? on : off;
      double pt = exp(ltt[j]);
      ce -= q * lp[j];
      if (pt > 0.0) kl += pt * (ltt[j] - lpt[j]);
      if (dlogits)
        dlogits[i * k + j] =
            ((1.0 - a) * (exp(lp[j]) - q) + a * T * (exp(lpt[j]) - pt)) *
            dscale;
    }
    tce += ce;
    tkl += kl;
  }
  free(lp);
  if (mean) {
    mean->ce = (double)(tce / (long double)n);
    mean->kl = (double)(tkl / (long double)n);
    mean->loss = (1.0 - a) * mean->ce + a * T * T * mean->kl;
  }
  return LSP_OK;
}
