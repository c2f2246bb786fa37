/* lsp_calib_score.c — every calibration metric straight from predictions,
 * without the per-row table (lsp_calib_score in lsp_calib.h).
 *
 * One pass of the streaming accumulator (split over threads) gives every
 * binned metric, NLL, Brier, the classwise bins and the SmoothECE mesh, and
 * keeps each row's confidence and correctness. ACE's equal-mass bins and
 * ECE-sweep need the rows in the table's stable confidence order
 * (confidence ascending, ties by row index; lsp_calib_rows.c): each row
 * becomes one 8-byte key — its confidence's bits shifted up by one
 * (confidences lie in [0, 1], so the top bits are clear; non-negative
 * doubles order like their bits) and its correctness in bit 0 — written
 * over its confidence, and a stable radix sort of bits 1 and up orders
 * them (sort_keys), so ties keep their row order and bit 0 rides along.
 * One pass over the sorted keys then adds ACE's per-bin sums (exact, fixed
 * point, as the table's) and writes ECE-sweep's prefix sums (in double,
 * added in the table's order) over the two key buffers. The result
 * equals the table's bit for bit (tests/test_calib_score.c); 16 bytes a row
 * at the peak besides the input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_calib_impl.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

#define SORT_BITS 11
#define SORT_DIGITS ((size_t)1 << SORT_BITS)
#define SORT_PASSES ((63 + SORT_BITS - 1) / SORT_BITS)

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

/* Stable LSD radix sort of the m keys a by bits [b0, b1), `bits` a digit
 * (histograms: passes·2^bits counters, zeroed by the caller; all counted
 * in one read), b: m keys of scratch. Returns the array holding the result
 * (a or b). */
static uint64_t *lsd(uint64_t *a, uint64_t *b, size_t m, int b0, int b1, int bits, size_t *hist) {
  const size_t digits = (size_t)1 << bits;
  const int passes = b1 > b0 ? (b1 - b0 + bits - 1) / bits : 0;
  for (size_t i = 0; i < m; i++)
    for (int q = 0; q < passes; q++)
      hist[(size_t)q * digits + ((a[i] >> (b0 + q * bits)) & (digits - 1))]++;
  for (int q = 0; q < passes; q++) {
    const int shift = b0 + q * bits;
    size_t *h = hist + (size_t)q * digits;
    if (h[(a[0] >> shift) & (digits - 1)] == m) continue; /* one digit: no change */
    size_t pos = 0;
    for (size_t d = 0; d < digits; d++) {
      size_t c = h[d];
      h[d] = pos;
      pos += c;
    }
    for (size_t i = 0; i < m; i++) b[h[(a[i] >> shift) & (digits - 1)]++] = a[i];
    uint64_t *t = a;
    a = b, b = t;
  }
  return a;
}

/* Sorts the n keys *ka by bits 1 and up (*kb: n more for the passes) whose
 * minimum and maximum are lo and hi; the sorted keys end in *ka (the
 * buffers may be swapped). Large inputs: one most-significant-digit pass
 * (the top SORT_BITS bits below the keys' common prefix) into 2048 runs,
 * then each run, now small enough for the caches, by LSD passes of 8 bits
 * (short runs by insertion); every step is stable. */
static int sort_keys(uint64_t **ka, uint64_t **kb, size_t n, uint64_t lo, uint64_t hi) {
  const int top = lo == hi ? 1 : 64 - __builtin_clzll(lo ^ hi); /* bits to sort: [1, top) */
  if (top <= 1) return LSP_OK;
  size_t *hist = malloc(SORT_PASSES * SORT_DIGITS * sizeof *hist);
  if (!hist) return lsp_fail(LSP_ENOMEM, "out of memory for sorting %zu confidences", n);
  uint64_t *a = *ka, *b = *kb;
  if (n < ((size_t)1 << 16) || top - 1 <= 2 * SORT_BITS) {
    memset(hist, 0, SORT_PASSES * SORT_DIGITS * sizeof *hist);
    if (lsd(a, b, n, 1, top, SORT_BITS, hist) != a) {
      uint64_t *t = a;
      a = b, b = t;
    }
  } else {
    const int msd = top - SORT_BITS; /* the first pass: bits [msd, top) */
    size_t *h = hist, *start = hist + SORT_DIGITS;
    memset(h, 0, SORT_DIGITS * sizeof *h);
    for (size_t i = 0; i < n; i++) h[(a[i] >> msd) & (SORT_DIGITS - 1)]++;
    size_t pos = 0;
    for (size_t d = 0; d < SORT_DIGITS; d++) {
      size_t c = h[d];
      start[d] = h[d] = pos;
      pos += c;
    }
    for (size_t i = 0; i < n; i++) b[h[(a[i] >> msd) & (SORT_DIGITS - 1)]++] = a[i];
    /* run d is b[start[d], h[d]); sort each in place, a as its scratch */
    size_t *inner = hist + 2 * SORT_DIGITS; /* (msd − 1 + 7) / 8 · 256 counters */
    for (size_t d = 0; d < SORT_DIGITS; d++) {
      const size_t s0 = start[d], m = h[d] - s0;
      uint64_t *r = b + s0;
      if (m <= 32) { /* insertion, stable: moves only past larger keys */
        for (size_t i = 1; i < m; i++) {
          const uint64_t u = r[i];
          size_t j = i;
          for (; j > 0 && (r[j - 1] >> 1) > (u >> 1); j--) r[j] = r[j - 1];
          r[j] = u;
        }
        continue;
      }
      memset(inner, 0, (size_t)((msd - 1 + 7) / 8) * 256 * sizeof *inner);
      uint64_t *got = lsd(r, a + s0, m, 1, msd, 8, inner);
      if (got != r) memcpy(r, got, m * sizeof *r);
    }
    uint64_t *t = a;
    a = b, b = t;
  }
  free(hist);
  *ka = a, *kb = b;
  return LSP_OK;
}

/* One pass over the n sorted keys ks: ACE with `bins` equal-mass bins as
 * lsp_calib_rows.c's rows_ace (bin m holds n/M rows, one more for
 * m < n mod M; per-bin count, mean confidence and accuracy into the
 * optional arrays), and ECE-sweep's prefix sums as lsp_calib_sweep adds
 * them: the bits of the correct count of the first s rows into ks[s] and
 * of their confidence sum into pc[s], s = 0..n (both n + 1 long; ks[s + 1]
 * is written after key s + 1 is read). */
static int ace_prefix(uint64_t *ks, uint64_t *pc, size_t n, int bins, double *ace,
                      uint64_t *cnt_out, double *conf_out, double *acc_out) {
  const size_t M = (size_t)bins, base = n / M, extra = n % M;
  uint64_t *ncor = calloc(M, sizeof *ncor);
  lsp_calib_fix *cs = calloc(M, sizeof *cs);
  if (!ncor || !cs) {
    free(ncor), free(cs);
    return lsp_fail(LSP_ENOMEM, "out of memory for ACE's bins");
  }
  int ovf = 0;
  double sk = 0.0, sc = 0.0;
  uint64_t next = ks[0];
  ks[0] = pc[0] = 0; /* the bits of 0.0 */
  size_t s = 0;
  for (size_t m = 0; m < M; m++) {
    const size_t end = s + base + (m < extra);
    for (; s < end; s++) {
      const uint64_t u = next;
      if (s + 1 < n) next = ks[s + 1];
      const double c = f64_of(u >> 1);
      ncor[m] += u & 1;
      lsp_calib_fix_add(&cs[m], lsp_calib_fix_bits(c, &ovf), &ovf);
      sk = sk + (double)(u & 1);
      sc = sc + 1.0 * c;
      ks[s + 1] = key_of(sk);
      pc[s + 1] = key_of(sc);
    }
  }
  double a = 0.0;
  for (size_t m = 0; m < M; m++) {
    const uint64_t cnt = base + (m < extra);
    if (cnt > 0) {
      double c = lsp_calib_fix_double(cs[m]) / (double)cnt;
      double acc = (double)ncor[m] / (double)cnt;
      a += (double)cnt / (double)n * fabs(acc - c);
    }
    if (cnt_out) {
      cnt_out[m] = cnt;
      conf_out[m] = cnt ? lsp_calib_fix_double(cs[m]) / (double)cnt : NAN;
      acc_out[m] = cnt ? (double)ncor[m] / (double)cnt : NAN;
    }
  }
  *ace = a;
  free(ncor), free(cs);
  return LSP_OK;
}

/* ACE and ECE-sweep of the n rows (confidence, correctness) into res.
 * *conf (room for n + 1 entries) is turned into the keys, *ok freed and
 * set to NULL. */
static int ordered_metrics(double **conf, uint8_t **ok, size_t n, int bins, int mass,
                           lsp_calib_result *res) {
  /* the keys over the confidences, in place: key i replaces confidence i
   * (the buffer is read as keys from here) */
  const double *cf = *conf;
  uint64_t *ka = (uint64_t *)(void *)*conf, lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < n; i++) {
    const uint64_t u = key_of(cf[i]) << 1 | (*ok)[i];
    ka[i] = u;
    lo = u < lo ? u : lo;
    hi = u > hi ? u : hi;
  }
  free(*ok);
  *ok = NULL;
  uint64_t *kb = lsp_alloc_huge((n + 1) * sizeof *kb), *k0 = ka;
  if (!kb) return lsp_fail(LSP_ENOMEM, "out of memory for sorting %zu confidences", n);
  int st = sort_keys(&ka, &kb, n, lo, hi);
  if (!st)
    st = ace_prefix(ka, kb, n, bins, &res->value[LSP_CALIB_ACE], mass ? res->bin_count : NULL,
                    mass ? res->bin_conf : NULL, mass ? res->bin_acc : NULL);
  if (!st) {
    res->has[LSP_CALIB_ACE] = 1;
    res->value[LSP_CALIB_ECE_SWEEP] = lsp_calib_sweep_unit(n, ka, kb, &res->sweep_bins);
    res->has[LSP_CALIB_ECE_SWEEP] = 1;
  }
  free(ka == k0 ? kb : ka); /* the buffer that is not *conf */
  return st;
}

struct lsp_calib_scorer {
  lsp_calib_acc *acc;
  double *conf; /* [n + 1] (ordered_metrics reuses it for n + 1 keys) */
  uint8_t *ok;  /* [n] */
  size_t n, next; /* rows announced, rows added */
  int finished;   /* conf holds the sorted keys: nothing more to do */
  lsp_calib_opts o;
};

void lsp_calib_scorer_free(lsp_calib_scorer *s) {
  if (!s) return;
  lsp_calib_acc_free(s->acc);
  free(s->conf);
  free(s->ok);
  free(s);
}

int lsp_calib_scorer_alloc(size_t n, size_t k, const lsp_calib_opts *o, int ordered,
                           lsp_calib_scorer **out) {
  *out = NULL;
  if (!o) return lsp_fail(LSP_EINVAL, "calibration: NULL options");
  if (o->bins < 1) return lsp_fail(LSP_EINVAL, "number of bins must be >= 1 (got %d)", o->bins);
  if (n == 0) return lsp_fail(LSP_EDATA, "calibration: no rows (zero examples)");
  if (k < 2) return lsp_fail(LSP_EDATA, "calibration: need at least 2 classes (K = %zu)", k);
  lsp_calib_scorer *s = calloc(1, sizeof *s);
  if (!s) return lsp_fail(LSP_ENOMEM, "out of memory for scoring %zu rows", n);
  s->n = n, s->o = *o;
  s->acc = lsp_calib_acc_alloc(o->bins, k, o->edges, LSP_CALIB_FULL);
  if (ordered) {
    s->conf = lsp_alloc_huge((n + 1) * sizeof *s->conf);
    s->ok = lsp_alloc_huge(n);
  }
  if (!s->acc || (ordered && (!s->conf || !s->ok))) {
    lsp_calib_scorer_free(s);
    return lsp_fail(LSP_ENOMEM, "out of memory for scoring %zu rows", n);
  }
  s->acc->smece_sigma = o->smece_sigma;
  *out = s;
  return LSP_OK;
}

int lsp_calib_scorer_add(lsp_calib_scorer *s, const float *xf, const double *xd,
                         const int32_t *y, size_t m, int logits, double inv_t, int threads) {
  if ((!xf && !xd) || !y) return lsp_fail(LSP_EINVAL, "calibration: NULL input");
  if (s->finished) return lsp_fail(LSP_EINVAL, "calibration: rows added after finish");
  if (m > s->n - s->next)
    return lsp_fail(LSP_EINVAL, "calibration: %zu rows past the %zu announced", m,
                    s->n - s->next);
  const int st = lsp_calib_acc_add_rows(s->acc, xf, xd, y, m, s->next, logits, inv_t, threads,
                                        s->conf ? s->conf + s->next : NULL,
                                        s->ok ? s->ok + s->next : NULL);
  if (!st) s->next += m;
  return st;
}

int lsp_calib_scorer_finish(lsp_calib_scorer *s, lsp_calib_result *res) {
  memset(res, 0, sizeof *res);
  if (s->finished) return lsp_fail(LSP_EINVAL, "calibration: finished twice");
  if (s->next != s->n)
    return lsp_fail(LSP_EINVAL, "calibration: %zu of %zu rows added", s->next, s->n);
  s->finished = 1;
  int st = lsp_calib_acc_finalize(s->acc, res);
  if (st || !s->conf) return st;
  res->binning = s->o.binning;
  st = ordered_metrics(&s->conf, &s->ok, s->n, s->o.bins,
                       s->o.binning == LSP_CALIB_BINNING_MASS, res);
  if (st) lsp_calib_result_release(res);
  return st;
}

int lsp_calib_score(const float *xf, const double *xd, const int32_t *y, size_t n, size_t k,
                    int logits, double inv_t, const lsp_calib_opts *o, int threads,
                    const char *path, lsp_calib_result *res) {
  memset(res, 0, sizeof *res);
  lsp_calib_scorer *s = NULL;
  int st = lsp_calib_scorer_alloc(n, k, o, 1, &s);
  if (!st && (st = lsp_calib_scorer_add(s, xf, xd, y, n, logits, inv_t, threads)) && path)
    lsp_fail_prefix(st, path);
  if (!st) st = lsp_calib_scorer_finish(s, res);
  lsp_calib_scorer_free(s);
  return st;
}
