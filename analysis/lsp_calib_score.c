/* lsp_calib_score.c — every calibration metric straight from predictions,
 * without the per-row table (lsp_calib_score in lsp_calib.h).
 *
 * One pass of the streaming accumulator (split over threads) gives every
 * binned metric, NLL, Brier and the classwise bins, and keeps each row's
 * confidence and correctness (9 bytes a row instead of the table's
 * 8K + 41). ACE's equal-mass bins need the rows in stable confidence order
 * (confidence ascending, ties by row index) only at the M − 1 bin edges:
 * the edges' keys are found by radix selection — four passes of 16-bit
 * histograms over the confidences' bits (non-negative doubles order like
 * their bit patterns), each pass refining the few prefixes that hold an
 * edge — and one more pass puts every row in its bin, ties at an edge
 * split by row index exactly as the stable sort splits them. The per-bin
 * sums are exact (fixed point), so the result equals the table's
 * (lsp_calib_rows.c, rows_ace) bit for bit. SmoothECE and the debiased
 * ECEs come from the accumulator (its mesh is exact too); ECE-sweep needs
 * the whole stable confidence order, which an LSD radix sort of the
 * confidences' bits gives (the same order as the table's sort), and then
 * the table's own code (lsp_calib_sweep). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_calib_impl.h"
#include "core/base/lsp_error.h"

#define DIGIT_BITS 16
#define DIGITS ((size_t)1 << DIGIT_BITS)

static uint64_t key_of(double c) {
  uint64_t u;
  memcpy(&u, &c, sizeof u);
  return u;
}

static double f64_of(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* Radix selection on n keys (the bits of doubles ad, or au):
 * for the ranks r[0..nb) (ascending, < n), the key at each rank into
 * key[] and how many keys equal to it come before the rank into tie[].
 * One pass finds the keys' range; the 16 bits below the common prefix of
 * the smallest and the largest key make the digit of a histogram; the keys
 * of each bucket holding a rank are copied out and selected again, until a
 * bucket's keys are all equal. hist: DIGITS counters. */
/* Key i of the keys given as doubles (ad) or as bits (au). */
static inline uint64_t key_at(const double *ad, const uint64_t *au, size_t i) {
  return ad ? key_of(ad[i]) : au[i];
}

static int select_keys(const double *ad, const uint64_t *au, size_t n, const uint64_t *r,
                       size_t nb, uint64_t *key, uint64_t *tie, uint32_t *hist) {
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t u = key_at(ad, au, i);
    lo = u < lo ? u : lo;
    hi = u > hi ? u : hi;
  }
  if (lo == hi) { /* all equal: the residual ranks are the tie counts */
    for (size_t b = 0; b < nb; b++) key[b] = lo, tie[b] = r[b];
    return LSP_OK;
  }
  int top = 64 - __builtin_clzll(lo ^ hi); /* bits below the common prefix */
  int shift = top > DIGIT_BITS ? top - DIGIT_BITS : 0;
  memset(hist, 0, DIGITS * sizeof *hist);
  for (size_t i = 0; i < n; i++) hist[(key_at(ad, au, i) >> shift) & (DIGITS - 1)]++;
  /* the buckets of the ranks, in order; each bucket selected recursively */
  size_t b = 0;
  uint64_t below = 0;
  for (size_t d = 0; d < DIGITS && b < nb; below += hist[d++]) {
    if (r[b] >= below + hist[d]) continue;
    size_t e = b; /* ranks b..e-1 fall in bucket d */
    while (e < nb && r[e] < below + hist[d]) e++;
    const size_t m = hist[d];
    uint64_t *sub = malloc(m * sizeof *sub), *rr = malloc((e - b) * sizeof *rr);
    uint32_t *h2 = malloc(DIGITS * sizeof *h2);
    if (!sub || !rr || !h2) {
      free(sub), free(rr), free(h2);
      return lsp_fail(LSP_ENOMEM, "out of memory for ACE's bin edges");
    }
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
      uint64_t u = key_at(ad, au, i);
      if (((u >> shift) & (DIGITS - 1)) == d) sub[c++] = u;
    }
    for (size_t q = b; q < e; q++) rr[q - b] = r[q] - below;
    int st = select_keys(NULL, sub, m, rr, e - b, key + b, tie + b, h2);
    free(sub), free(rr), free(h2);
    if (st) return st;
    b = e;
  }
  return LSP_OK;
}

/* The keys at sorted ranks rank[0..nb) (ascending, each < n) of the
 * confidences into key[] and the number of equal keys before each rank
 * into tie[]. */
static int select_ranks(const double *conf, size_t n, const uint64_t *rank, size_t nb,
                        uint64_t *key, uint64_t *tie) {
  uint32_t *hist = malloc(DIGITS * sizeof *hist);
  if (!hist) return lsp_fail(LSP_ENOMEM, "out of memory for ACE's bin edges");
  int st = select_keys(conf, NULL, n, rank, nb, key, tie, hist);
  free(hist);
  return st;
}

/* ACE of n rows (confidence, correctness) with `bins` equal-mass bins, as
 * lsp_calib_rows.c's rows_ace; per-bin count, mean confidence and accuracy
 * into the optional arrays. */
static int ace_select(const double *conf, const uint8_t *ok, size_t n, int bins, double *ace,
                      uint64_t *cnt_out, double *conf_out, double *acc_out) {
  const size_t M = (size_t)bins, base = n / M, extra = n % M;
  uint64_t *rank = malloc(M * sizeof *rank), *key = malloc(M * sizeof *key);
  uint64_t *tie = malloc(M * sizeof *tie), *cnt = calloc(M, sizeof *cnt);
  uint64_t *ncor = calloc(M, sizeof *ncor), *seen = calloc(M, sizeof *seen);
  lsp_calib_fix *cs = calloc(M, sizeof *cs);
  int st = LSP_OK;
  if (!rank || !key || !tie || !cnt || !ncor || !seen || !cs) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for ACE's bins");
    goto done;
  }
  /* the first rank of bins 1..M-1 (bin m holds base rows, one more for
   * m < extra); edges at rank n (empty bins when n < M) hold no row */
  size_t nb = 0;
  uint64_t r = 0;
  for (size_t m = 0; m + 1 < M; m++) {
    r += base + (m < extra);
    if (r < n) rank[nb++] = r;
  }
  if (nb && (st = select_ranks(conf, n, rank, nb, key, tie))) goto done;
  /* every row into its bin: the edges below its key, and the edges at its
   * key whose tie count its predecessors with that key have reached */
  int ovf = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t u = key_of(conf[i]);
    size_t lo = 0, hi = nb;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (key[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    size_t b = lo;
    if (lo < nb && key[lo] == u) {
      for (size_t e = lo; e < nb && key[e] == u && seen[lo] >= tie[e]; e++) b++;
      seen[lo]++;
    }
    cnt[b]++;
    ncor[b] += ok[i];
    lsp_calib_fix_add(&cs[b], lsp_calib_fix_bits(conf[i], &ovf), &ovf);
  }
  double a = 0.0;
  for (size_t m = 0; m < M; m++) {
    if (cnt[m] > 0) {
      double c = lsp_calib_fix_double(cs[m]) / (double)cnt[m];
      double acc = (double)ncor[m] / (double)cnt[m];
      a += (double)cnt[m] / (double)n * fabs(acc - c);
    }
    if (cnt_out) {
      cnt_out[m] = cnt[m];
      conf_out[m] = cnt[m] ? lsp_calib_fix_double(cs[m]) / (double)cnt[m] : NAN;
      acc_out[m] = cnt[m] ? (double)ncor[m] / (double)cnt[m] : NAN;
    }
  }
  *ace = a;
done:
  free(rank);
  free(key);
  free(tie);
  free(cnt);
  free(ncor);
  free(seen);
  free(cs);
  return st;
}

/* ECE-sweep of n rows (confidence, correctness) as lsp_calib_rows_score
 * computes it: the table's stable confidence order (confidence ascending,
 * ties by row index), the same prefix sums in that order. Each row is one
 * 8-byte key, its confidence's bits shifted up by one (confidences lie in
 * [0, 1], so the top bits are clear) and its correctness in bit 0; an LSD
 * radix sort on bits 1 and up, 11 at a time (2048 buckets: the histogram
 * stays in L1; all histograms counted in one read), is stable, so ties
 * keep their row order and bit 0 rides along. The prefix sums then
 * overwrite the two key buffers. conf and ok are freed (*conf, *ok set to
 * NULL) once the keys hold them: 16 bytes a row at the peak. */
#define SWEEP_BITS 11
#define SWEEP_DIGITS ((size_t)1 << SWEEP_BITS)
#define SWEEP_PASSES ((63 + SWEEP_BITS - 1) / SWEEP_BITS)

static int sweep_rows(double **conf, uint8_t **ok, size_t n, double *ece, int *bins) {
  uint64_t *ka = malloc((n + 1) * sizeof *ka);
  if (!ka) return lsp_fail(LSP_ENOMEM, "out of memory for ECE-sweep's %zu keys", n);
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t u = key_of((*conf)[i]) << 1 | (*ok)[i];
    ka[i] = u;
    lo = u < lo ? u : lo;
    hi = u > hi ? u : hi;
  }
  free(*conf), free(*ok);
  *conf = NULL, *ok = NULL;
  uint64_t *kb = malloc((n + 1) * sizeof *kb);
  size_t *hist = calloc(SWEEP_PASSES * SWEEP_DIGITS, sizeof *hist);
  if (!kb || !hist) {
    free(ka), free(kb), free(hist);
    return lsp_fail(LSP_ENOMEM, "out of memory for sorting %zu confidences", n);
  }
  /* the digits of bits [1, top): below the keys' common prefix */
  const int top = lo == hi ? 1 : 64 - __builtin_clzll(lo ^ hi);
  const int passes = top > 1 ? (top - 1 + SWEEP_BITS - 1) / SWEEP_BITS : 0;
  for (size_t i = 0; i < n; i++)
    for (int q = 0; q < passes; q++)
      hist[(size_t)q * SWEEP_DIGITS + ((ka[i] >> (1 + q * SWEEP_BITS)) & (SWEEP_DIGITS - 1))]++;
  for (int q = 0; q < passes; q++) {
    const int shift = 1 + q * SWEEP_BITS;
    size_t *h = hist + (size_t)q * SWEEP_DIGITS;
    if (h[(ka[0] >> shift) & (SWEEP_DIGITS - 1)] == n) continue; /* one digit */
    size_t pos = 0;
    for (size_t d = 0; d < SWEEP_DIGITS; d++) {
      size_t c = h[d];
      h[d] = pos;
      pos += c;
    }
    for (size_t i = 0; i < n; i++) kb[h[(ka[i] >> shift) & (SWEEP_DIGITS - 1)]++] = ka[i];
    uint64_t *t = ka;
    ka = kb, kb = t;
  }
  free(hist);
  /* prefix sums (as lsp_calib_sweep adds them, in double) over the sorted
   * keys: the correct count into ka, the confidence sum into kb, entry s
   * for the first s rows; ka[s + 1] is written after key s + 1 is read */
  double pk = 0.0, pc = 0.0;
  uint64_t next = ka[0];
  ka[0] = kb[0] = 0; /* the bits of 0.0 */
  for (size_t s = 0; s < n; s++) {
    const uint64_t u = next;
    if (s + 1 < n) next = ka[s + 1];
    pk = pk + (double)(u & 1);
    pc = pc + 1.0 * f64_of(u >> 1);
    ka[s + 1] = key_of(pk);
    kb[s + 1] = key_of(pc);
  }
  *ece = lsp_calib_sweep_unit(n, ka, kb, bins);
  free(ka), free(kb);
  return LSP_OK;
}

int lsp_calib_score(const float *xf, const double *xd, const int32_t *y, size_t n, size_t k,
                    int logits, double inv_t, const lsp_calib_opts *o, int threads,
                    const char *path, lsp_calib_result *res) {
  memset(res, 0, sizeof *res);
  if (!o) return lsp_fail(LSP_EINVAL, "calibration: NULL options");
  if (o->bins < 1) return lsp_fail(LSP_EINVAL, "number of bins must be >= 1 (got %d)", o->bins);
  if (n == 0) return lsp_fail(LSP_EDATA, "calibration: no rows (zero examples)");
  if (k < 2) return lsp_fail(LSP_EDATA, "calibration: need at least 2 classes (K = %zu)", k);
  if ((!xf && !xd) || !y) return lsp_fail(LSP_EINVAL, "calibration: NULL input");
  lsp_calib_acc *a = lsp_calib_acc_alloc(o->bins, k, o->edges, LSP_CALIB_FULL);
  double *conf = malloc(n * sizeof *conf);
  uint8_t *ok = malloc(n);
  int st = LSP_OK;
  if (!a || !conf || !ok) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for scoring %zu rows", n);
    goto done;
  }
  a->smece_sigma = o->smece_sigma;
  st = lsp_calib_acc_add_rows(a, xf, xd, y, n, 0, logits, inv_t, threads, conf, ok);
  if (st) {
    if (path) lsp_fail_prefix(st, path);
    goto done;
  }
  if ((st = lsp_calib_acc_finalize(a, res))) goto done;
  res->binning = o->binning;
  int mass = o->binning == LSP_CALIB_BINNING_MASS;
  st = ace_select(conf, ok, n, o->bins, &res->value[LSP_CALIB_ACE], mass ? res->bin_count : NULL,
                  mass ? res->bin_conf : NULL, mass ? res->bin_acc : NULL);
  if (st) {
    lsp_calib_result_release(res);
    goto done;
  }
  res->has[LSP_CALIB_ACE] = 1;
  st = sweep_rows(&conf, &ok, n, &res->value[LSP_CALIB_ECE_SWEEP], &res->sweep_bins);
  if (st) {
    lsp_calib_result_release(res);
    goto done;
  }
  res->has[LSP_CALIB_ECE_SWEEP] = 1;
done:
  lsp_calib_acc_free(a);
  free(conf);
  free(ok);
  return st;
}
