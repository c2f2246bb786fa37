/* lsp_calib_debias.c — calibration-error estimators with less bias than the
 * plug-in ECE (DESIGN §2 "Debiased estimators"):
 *  - the ℓ2 debiased binned estimator of Kumar et al. 2019;
 *  - their ℓ1 "normal-debiased" estimator, with the mean over redraws taken
 *    in closed form (the folded-normal mean) instead of by Monte Carlo;
 *  - ECE-sweep (Roelofs et al. 2022): equal-mass bins, as many as keep the
 *    bin accuracies monotone.
 * The binned ones read per-bin sums, so they stream like the plug-in ECE;
 * ECE-sweep needs the rows in confidence order. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib_impl.h"

#define SQRT_2_OVER_PI 0.79788456080286535588
#define SQRT_HALF 0.70710678118654752440

/* E|g + sZ| for Z ~ N(0, 1): the mean of a folded normal,
 * s·sqrt(2/π)·exp(−g²/2s²) + g·erf(g/(s√2)); |g| when s = 0. */
static double folded_mean(double g, double s) {
  if (!(s > 0.0)) return fabs(g);
  double u = g / s;
  return s * SQRT_2_OVER_PI * exp(-0.5 * u * u) + g * erf(u * SQRT_HALF);
}

void lsp_calib_debias_bin(double nb, double kb, double cb, double *l1, double *l2) {
  double acc = kb / nb, g = acc - cb / nb;
  double var = acc * (1.0 - acc); /* Bernoulli variance of the bin's labels */
  /* ℓ1: the plug-in term minus its mean bias when acc is redrawn from
   * N(acc, var/nb): |g| − (E|g + sZ| − |g|) */
  *l1 += nb * (2.0 * fabs(g) - folded_mean(g, sqrt(var / nb)));
  /* ℓ2: g² minus the unbiased estimate of Var(acc) */
  if (nb >= 2.0) *l2 += nb * (g * g - var / (nb - 1.0));
}

/* Prefix sums over the copies in confidence order: copies before sorted row
 * s (pw), their correct copies (pk) and confidence sum (pc). The value at a
 * copy position x inside row s adds the share of row s's copies before x
 * (copies of one row are alike; a bin edge may split them). */
typedef struct {
  size_t n;
  const size_t *order;
  const double *conf;
  const double *pw, *pk, *pc;
  const uint64_t *uk, *uc; /* one copy a row (pw NULL): the bits of pk, pc */
  const uint32_t *at;       /* with pw, or NULL: at[x] for x = 0..W, the
                               last s with pw[s] <= x (prefix_at's search) */
} prefix;

static double f64_of(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

static void prefix_at(const prefix *p, double x, double *k, double *c) {
  if (!p->pw) { /* x is a whole row count (edge() of W = n) */
    size_t s = (size_t)x;
    *k = f64_of(p->uk[s]);
    *c = f64_of(p->uc[s]);
    return;
  }
  size_t lo = 0, hi = p->n; /* the last s with pw[s] <= x */
  if (p->at) { /* every x asked is a whole copy position (edge(), 0) */
    lo = p->at[(size_t)x];
  } else {
    while (hi - lo > 1) {
      size_t mid = (lo + hi) / 2;
      if (p->pw[mid] <= x) lo = mid;
      else hi = mid;
    }
  }
  double take = x - p->pw[lo], wrow = p->pw[lo + 1] - p->pw[lo];
  *k = p->pk[lo];
  *c = p->pc[lo];
  if (take > 0.0 && wrow > 0.0) {
    *k += take * (p->pk[lo + 1] - p->pk[lo]) / wrow;
    *c += take * p->conf[p->order[lo]];
  }
}

/* Edge m of b equal-mass bins over W copies: W/b copies each, the first
 * W mod b bins one more (as ACE). */
static double edge(uint64_t W, uint64_t b, uint64_t m) {
  uint64_t base = W / b, extra = W % b;
  return (double)(m * base + (m < extra ? m : extra));
}

/* The bin holding copy position x (0 <= x < W) of b equal-mass bins. */
static uint64_t bin_of(uint64_t W, uint64_t b, uint64_t x) {
  uint64_t base = W / b, extra = W % b, big = extra * (base + 1);
  return x < big ? x / (base + 1) : extra + (x - big) / base;
}

/* Whether bins j and j + 1 of b break the order: compared as
 * k_j·size_{j+1} > k_{j+1}·size_j, so that equal fractions tie exactly. */
static int breaks(const prefix *p, uint64_t W, uint64_t b, uint64_t j) {
  double k0, k1, k2, c;
  prefix_at(p, edge(W, b, j), &k0, &c);
  prefix_at(p, edge(W, b, j + 1), &k1, &c);
  prefix_at(p, edge(W, b, j + 2), &k2, &c);
  double s0 = edge(W, b, j + 1) - edge(W, b, j), s1 = edge(W, b, j + 2) - edge(W, b, j + 1);
  return (k1 - k0) * s1 > (k2 - k1) * s0;
}

/* Whether the bin accuracies of b equal-mass bins never decrease, every
 * neighbouring pair compared. */
static int monotone(const prefix *p, uint64_t W, uint64_t b) {
  for (uint64_t j = 0; j + 1 < b; j++)
    if (breaks(p, W, b, j)) return 0;
  return 1;
}

/* The places where a correct copy is followed by a wrong one, as ranges of
 * copy positions [lo, hi]: a row holding both (its whole range), and two
 * neighbouring rows (with copies), the first holding a correct copy and
 * the second a wrong one (the last copy of the first, the first of the
 * second). Bins j, j + 1 whose accuracy falls have a correct copy in j
 * and a wrong one after it in j + 1, so a place lies within the two bins:
 * only the pairs of bins that touch a place need comparing. When the
 * confidence orders the copies almost as their correctness (an accurate
 * model, or a nearly useless one) there are few places, and the sweep
 * reaches many bins: comparing every pair for every b cost O(b²) lookups,
 * minutes for the bootstrap of a 99%-accurate model's 2000 rows. */
typedef struct {
  double *lo, *hi;
  size_t n;
} places;

static double row_pos(const prefix *p, size_t s) { return p->pw ? p->pw[s] : (double)s; }
static double row_k(const prefix *p, size_t s) { return p->pw ? p->pk[s] : f64_of(p->uk[s]); }

/* 0, or -1 when out of memory (the caller then compares every pair). */
static int find_places(const prefix *p, places *pl) {
  pl->n = 0;
  pl->lo = malloc((2 * p->n + 1) * sizeof *pl->lo);
  pl->hi = malloc((2 * p->n + 1) * sizeof *pl->hi);
  if (!pl->lo || !pl->hi) {
    free(pl->lo);
    free(pl->hi);
    return -1;
  }
  /* without branches on the rows' correctness, which a model of middling
   * accuracy makes unpredictable (2·10⁶ rows at 42%: 16 → 7 ms): each
   * candidate is written, and kept by advancing n (at most 2s + 2 places
   * after row s, so the writes stay inside the 2n + 1) */
  int prev_right = 0; /* the last row with copies holds a correct one */
  for (size_t s = 0; s < p->n; s++) {
    const double a = row_pos(p, s), w = row_pos(p, s + 1) - a;
    const double k = row_k(p, s + 1) - row_k(p, s);
    const int has = w > 0.0, right = has & (k > 0.0), wrong = has & (k < w);
    pl->lo[pl->n] = a - 1.0;
    pl->hi[pl->n] = a;
    pl->n += (size_t)(prev_right & wrong);
    pl->lo[pl->n] = a;
    pl->hi[pl->n] = a + w - 1.0;
    pl->n += (size_t)(right & wrong);
    prev_right = has ? right : prev_right; /* rows without copies pass over */
  }
  return 0;
}

/* The first place at or after e whose range reaches copy position x
 * (hi >= x; pl->n if none): a gallop from e, then bisection, so that a
 * sweep's pass over the places costs O(log) per place it visits, not one
 * step per place it skips. */
static size_t place_reaching(const places *pl, size_t e, double x) {
  if (e >= pl->n || pl->hi[e] >= x) return e;
  size_t lo = e, hi = e + 1, step = 1; /* hi[lo] < x */
  while (hi < pl->n && pl->hi[hi] < x) {
    lo = hi;
    step *= 2;
    hi = step < pl->n - lo ? lo + step : pl->n;
  }
  while (hi - lo > 1) { /* hi[lo] < x, and hi == n or hi[hi] >= x */
    size_t mid = lo + (hi - lo) / 2;
    if (pl->hi[mid] < x) lo = mid;
    else hi = mid;
  }
  return hi;
}

/* monotone() from the places alone: the same comparisons on every pair
 * that can fall, so the same answer. A place whose range ends before bin
 * next (the first pair not yet compared) adds no comparison and is
 * skipped; the others are visited in order, so a sweep to b bins over P
 * places costs O(min(b, P) log P) lookups per b, where visiting every
 * place cost O(P) per b (a 2·10⁶-row table with half its rows wrong has
 * hundreds of thousands of places and takes tens of bins). */
static int monotone_at(const prefix *p, const places *pl, uint64_t W, uint64_t b) {
  uint64_t next = 0; /* the pairs below next are done (places come in order) */
  for (size_t e = 0; next + 1 < b; e++) {
    e = place_reaching(pl, e, edge(W, b, next));
    if (e >= pl->n) break;
    uint64_t ma = bin_of(W, b, (uint64_t)pl->lo[e]), mb = bin_of(W, b, (uint64_t)pl->hi[e]);
    uint64_t j = ma > 0 ? ma - 1 : 0;
    if (j < next) j = next;
    for (; j <= mb && j + 1 < b; j++)
      if (breaks(p, W, b, j)) return 0;
    if (j > next) next = j;
  }
  return 1;
}

/* The sweep over prefix sums p of W copies. */
static double sweep(const prefix *p, uint64_t W, int *bins_out) {
  if (W == 0) {
    if (bins_out) *bins_out = 0;
    return NAN;
  }
  uint64_t b = 1; /* one bin is always monotone */
  places pl;
  if (find_places(p, &pl) == 0) {
    while (b < W && monotone_at(p, &pl, W, b + 1)) b++;
    free(pl.lo);
    free(pl.hi);
  } else {
    while (b < W && monotone(p, W, b + 1)) b++;
  }
  double ece = 0.0, k0, c0, k1, c1;
  prefix_at(p, 0.0, &k0, &c0);
  for (uint64_t m = 0; m < b; m++) {
    prefix_at(p, edge(W, b, m + 1), &k1, &c1);
    ece += fabs((k1 - k0) - (c1 - c0)) / (double)W; /* (size/W)·|acc − conf| */
    k0 = k1;
    c0 = c1;
  }
  if (bins_out) *bins_out = b > (uint64_t)INT32_MAX ? INT32_MAX : (int)b;
  return ece;
}

double lsp_calib_sweep(size_t n, const size_t *order, const double *conf, const uint32_t *w,
                       const uint8_t *correct, const uint32_t *kcor, double *work,
                       int *bins_out) {
  double *pw = work, *pk = work + n + 1, *pc = work + 2 * (n + 1);
  pw[0] = pk[0] = pc[0] = 0.0;
  for (size_t s = 0; s < n; s++) {
    size_t i = order[s];
    double wi = w ? (double)w[i] : 1.0;
    double ki = kcor ? (double)kcor[i] : wi * (double)correct[i];
    pw[s + 1] = pw[s] + wi;
    pk[s + 1] = pk[s] + ki;
    pc[s + 1] = pc[s] + wi * conf[i];
  }
  /* prefix_at's search as a table over the W + 1 copy positions (its
   * bisection took a third of `calib --bootstrap` on an accurate model,
   * whose sweeps reach thousands of bins); a table much longer than the
   * rows, or one that cannot be allocated, leaves the bisection */
  const uint64_t W = (uint64_t)pw[n];
  uint32_t *at = NULL;
  if (n > 0 && n < UINT32_MAX && W <= 8 * (uint64_t)n + 4096 &&
      (at = malloc(((size_t)W + 1) * sizeof *at))) {
    size_t s = 0;
    for (uint64_t x = 0; x <= W; x++) {
      while (s + 1 < n && pw[s + 1] <= (double)x) s++;
      at[x] = (uint32_t)s;
    }
  }
  prefix p = {n, order, conf, pw, pk, pc, NULL, NULL, at};
  const double ece = sweep(&p, W, bins_out);
  free(at);
  return ece;
}

/* With one copy a row every edge is a whole row count x, where the general
 * lookup returns pk[x] and pc[x] (at x = n: pk[n − 1] + (pk[n] − pk[n − 1])
 * and pc[n − 1] + conf, the very sums the prefix holds), so this equals
 * lsp_calib_sweep with w = kcor = NULL bit for bit. */
double lsp_calib_sweep_unit(size_t n, const uint64_t *pk, const uint64_t *pc, int *bins_out) {
  prefix p = {n, NULL, NULL, NULL, NULL, NULL, pk, pc, NULL};
  return sweep(&p, (uint64_t)n, bins_out);
}
