/* lsp_smece.c — SmoothECE on the fixed mesh (see lsp_smece.h).
 *
 * Cost of one smECE_σ: the coarse mesh has L = 1/h intervals with
 * σ/8 < h <= σ/4, so L < 8/σ nodes, each summing at most 2W + 1 masses with
 * W = ceil(7σ'/h) <= 56 (plus a few mirror images near the edges): about
 * 900/σ multiply-adds, 9k at σ = 0.1. The fixed point takes about 15 of
 * them with a hint, 25 without, to a relative width of 1e-4, and regula
 * falsi a few more to the last bits. */
#include "analysis/lsp_smece.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LEVELS 13        /* mesh levels: level l has 2^(12-l) intervals */
#define TRUNC 7.0        /* kernel support in units of σ (φ(7) = 1e-11 φ(0)) */
#define WMAX 120         /* >= ceil(TRUNC * 16) + 1                     */
#define FIT_RTOL 1e-4    /* bisection to hi/lo - 1 <= FIT_RTOL, then ...  */
#define FIT_MAXIT 200    /* ... regula falsi to adjacent doubles (a cap)  */
#define INV_SQRT_2PI 0.39894228040143267794

struct lsp_smece_ws {
  double *pyr;          /* every level of one input, level l at off[l] */
  size_t off[LEVELS];
  double *r;            /* [NODES] values at the nodes of one level    */
  double *r2;           /* [NODES] a second set (the curve's density)  */
  double g[2 * WMAX + 1]; /* φ_σ(d h) at g[W + d], d = −W..W             */
};

lsp_smece_ws *lsp_smece_ws_alloc(void) {
  lsp_smece_ws *ws = calloc(1, sizeof *ws);
  if (!ws) return NULL;
  size_t total = 0;
  for (int l = 0; l < LEVELS; l++) {
    ws->off[l] = total;
    total += ((size_t)(LSP_SMECE_NODES - 1) >> l) + 1;
  }
  ws->pyr = malloc(total * sizeof *ws->pyr);
  ws->r = malloc(LSP_SMECE_NODES * sizeof *ws->r);
  ws->r2 = malloc(LSP_SMECE_NODES * sizeof *ws->r2);
  if (!ws->pyr || !ws->r || !ws->r2) {
    lsp_smece_ws_free(ws);
    return NULL;
  }
  return ws;
}

void lsp_smece_ws_free(lsp_smece_ws *ws) {
  if (!ws) return;
  free(ws->pyr);
  free(ws->r);
  free(ws->r2);
  free(ws);
}

static size_t intervals(int l) { return (size_t)(LSP_SMECE_NODES - 1) >> l; }

/* Every coarser level from the fine masses m: a node of level l + 1 keeps
 * the mass of the node below it and half of each neighbour's (the linear
 * interpolation of a midpoint). Composed, this is the linear interpolation
 * of each original position onto the coarse mesh, so mass and mean
 * position are kept on every level. */
static void build_pyramid(lsp_smece_ws *ws, const double *m) {
  memcpy(ws->pyr, m, LSP_SMECE_NODES * sizeof *m);
  for (int l = 0; l + 1 < LEVELS; l++) {
    const double *a = ws->pyr + ws->off[l];
    double *b = ws->pyr + ws->off[l + 1];
    size_t L = intervals(l + 1);
    for (size_t j = 0; j <= L; j++) {
      double v = a[2 * j];
      if (j > 0) v += 0.5 * a[2 * j - 1];
      if (j < L) v += 0.5 * a[2 * j + 1];
      b[j] = v;
    }
  }
}

static double clamp_sigma(double s) {
  if (!(s >= LSP_SMECE_SIGMA_MIN)) return LSP_SMECE_SIGMA_MIN; /* NaN too */
  return s > 1.0 ? 1.0 : s;
}

/* The coarsest level whose spacing is at most σ / RESOLUTION. */
static int level_for(double sigma) {
  int l = 0;
  while (l + 1 < LEVELS &&
         ldexp(1.0, l + 1) / (double)(LSP_SMECE_NODES - 1) <= sigma / LSP_SMECE_RESOLUTION)
    l++;
  return l;
}

typedef double v2d __attribute__((vector_size(16)));

static v2d load2(const double *p) {
  v2d v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* convolve's sums for the nodes a in [a0, a1) whose window [a − W, a + W]
 * lies in [0, L] with no mirror image reaching it, four nodes at a time in
 * the lanes of two vectors of two (x86-64's baseline width): node a's
 * chain j takes the window's offsets d ≡ j (mod 4) in order, the tail
 * (offsets from 4·floor((2W + 1)/4)) goes to chain 0, and the chains add
 * as (s0 + s1) + (s2 + s3) — convolve's own order, so the same bits.
 * Returns the first node it left (a1 minus a remainder of fewer than four). */
static long convolve_inner(const double *m, const double *g, long W, long a0, long a1,
                           double *out) {
  const long n = 2 * W + 1, n4 = n & ~3L;
  long a = a0;
  for (; a + 4 <= a1; a += 4) {
    const double *mb = m + a - W, *gb = g - W; /* mb[d + i]·gb[d] for node a + i */
    const v2d z = {0.0, 0.0};
    v2d s0 = z, s1 = z, s2 = z, s3 = z, t0 = z, t1 = z, t2 = z, t3 = z;
    long d = 0;
    for (; d < n4; d += 4) {
      const v2d g0 = {gb[d], gb[d]}, g1 = {gb[d + 1], gb[d + 1]},
                g2 = {gb[d + 2], gb[d + 2]}, g3 = {gb[d + 3], gb[d + 3]};
      s0 += load2(mb + d) * g0, t0 += load2(mb + d + 2) * g0;
      s1 += load2(mb + d + 1) * g1, t1 += load2(mb + d + 3) * g1;
      s2 += load2(mb + d + 2) * g2, t2 += load2(mb + d + 4) * g2;
      s3 += load2(mb + d + 3) * g3, t3 += load2(mb + d + 5) * g3;
    }
    for (; d < n; d++) {
      const v2d gd = {gb[d], gb[d]};
      s0 += load2(mb + d) * gd, t0 += load2(mb + d + 2) * gd;
    }
    const v2d r = (s0 + s1) + (s2 + s3), q = (t0 + t1) + (t2 + t3);
    memcpy(out + a, &r, sizeof r);
    memcpy(out + a + 2, &q, sizeof q);
  }
  return a;
}

/* out[a] = Σ_b m[b] K_σ(a h, b h) for the level-l masses m, every node a.
 * Each mirror image of node a (a + 2kL and 2kL − a, k any integer) that
 * lies within W nodes of [0, L] contributes the masses within W of it. */
static void convolve(lsp_smece_ws *ws, const double *m, int l, double sigma, double *out) {
  const long L = (long)intervals(l);
  const double h = 1.0 / (double)L;
  /* Linear interpolation onto nodes h apart spreads each point's mass over
   * a hat of variance h²/6; the kernel gives back that much variance, so
   * hat and kernel together spread it like φ_σ (to second order). */
  sigma = sqrt(sigma * sigma - h * h / 6.0);
  long W = (long)ceil(TRUNC * sigma / h);
  if (W > WMAX) W = WMAX; /* only when σ > 1, which callers never pass */
  const double c0 = INV_SQRT_2PI / sigma;
  double *g = ws->g + W; /* g[d] for −W <= d <= W */
  for (long d = 0; d <= W; d++) {
    double x = (double)d * h / sigma;
    g[d] = g[-d] = c0 * exp(-0.5 * x * x);
  }
  const long kmax = W / (2 * L) + 1;
  /* nodes W < a < L − W see one image, unclipped: four at a time */
  const long in0 = W + 1, in1 = L - W; /* [in0, in1) */
  for (long a = 0; a <= L; a++) {
    if (a == in0 && in1 - in0 >= 4) a = convolve_inner(m, g, W, in0, in1, out);
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0; /* four chains: no FP reassociation */
    for (long k = -kmax; k <= kmax; k++)
      for (int refl = 0; refl < 2; refl++) {
        long c = refl ? 2 * k * L - a : a + 2 * k * L;
        if (c + W < 0 || c - W > L) continue;
        long b = c - W < 0 ? 0 : c - W, b1 = c + W > L ? L : c + W;
        const double *gc = g - c; /* gc[b] = φ((b − c) h) */
        for (; b + 3 <= b1; b += 4) {
          s0 += m[b] * gc[b];
          s1 += m[b + 1] * gc[b + 1];
          s2 += m[b + 2] * gc[b + 2];
          s3 += m[b + 3] * gc[b + 3];
        }
        for (; b <= b1; b++) s0 += m[b] * gc[b];
      }
    out[a] = (s0 + s1) + (s2 + s3);
  }
}

static double smece_level(lsp_smece_ws *ws, double sigma) {
  int l = level_for(sigma);
  size_t L = intervals(l);
  convolve(ws, ws->pyr + ws->off[l], l, sigma, ws->r);
  double s = 0.0;
  for (size_t a = 0; a <= L; a++) s += fabs(ws->r[a]);
  s -= 0.5 * (fabs(ws->r[0]) + fabs(ws->r[L]));
  return s / (double)L;
}

double lsp_smece_at(lsp_smece_ws *ws, const double *resid, double sigma) {
  build_pyramid(ws, resid);
  return smece_level(ws, clamp_sigma(sigma));
}

void lsp_smece_fit(lsp_smece_ws *ws, const double *resid, double hint, double *sigma,
                   double *smece) {
  build_pyramid(ws, resid);
  const double smin = LSP_SMECE_SIGMA_MIN;
  /* a bracket [lo, hi] with smECE_lo > lo and smECE_hi < hi: around the
   * hint, widened until it holds; the floor (the costliest mesh) is only
   * evaluated when the root may lie below everything else */
  double lo = smin, hi = 1.0;
  if (hint > 0.0) {
    lo = fmax(smin, hint / 2.0);
    hi = fmin(1.0, hint * 2.0);
  }
  double fhi, flo;
  while ((fhi = smece_level(ws, hi)) >= hi && hi < 1.0) lo = hi, hi = fmin(1.0, hi * 4.0);
  if (fhi >= hi) { /* smECE_1 >= 1 needs |mean(y − c)| near 1 */
    *sigma = hi;
    *smece = fhi;
    return;
  }
  while ((flo = smece_level(ws, lo)) <= lo && lo > smin) hi = lo, fhi = flo, lo = fmax(smin, lo / 4.0);
  if (flo <= lo) { /* lo is the floor, below σ everywhere */
    *sigma = lo;
    *smece = flo;
    return;
  }
  /* bisection in log σ to a relative width of FIT_RTOL ... */
  while (hi / lo - 1.0 > FIT_RTOL) {
    double mid = sqrt(lo * hi), fm = smece_level(ws, mid);
    if (fm > mid) lo = mid, flo = fm;
    else hi = mid, fhi = fm;
  }
  /* ... then regula falsi (Illinois) on g(σ) = smECE_σ − σ, bracketed, down
   * to a bracket whose ends are a few doubles apart: the root does not
   * depend on where the search started (the hint) beyond the last bits,
   * and at a few evaluations more than bisection to 1e-4 */
  double glo = flo - lo, ghi = fhi - hi; /* > 0 and <= 0; halved by Illinois */
  double tlo = glo, thi = ghi;           /* their true values */
  int side = 0;
  for (int it = 0; it < FIT_MAXIT && thi != 0.0; it++) {
    double mid = lo + 0.5 * (hi - lo);
    if (!(mid > lo && mid < hi)) break;
    double x = lo + (hi - lo) * (glo / (glo - ghi));
    if (!(x > lo && x < hi)) x = mid;
    double gx = smece_level(ws, x) - x;
    if (gx > 0.0) {
      lo = x, glo = tlo = gx;
      if (side < 0) ghi *= 0.5;
      side = -1;
    } else {
      hi = x, ghi = thi = gx;
      if (side > 0) glo *= 0.5;
      side = 1;
    }
  }
  /* the end nearer the root */
  if (tlo < -thi) *sigma = lo, *smece = lo + tlo;
  else *sigma = hi, *smece = hi + thi;
}

/* Σ_b m[b] K_σ(t, b h) at one point t for level-l masses m, with the
 * kernel narrowed as in convolve: every mirror image t − 2k and 2k − t of t
 * gathers the nodes within CURVE_TRUNC·σ' of it (wider than TRUNC: far from
 * the data the curve is a ratio of kernel tails). */
#define CURVE_TRUNC 12.0
static double kernel_sum(const double *m, int l, double sigma, double t) {
  const long L = (long)intervals(l);
  const double h = 1.0 / (double)L;
  const double sg = sqrt(sigma * sigma - h * h / 6.0), reach = CURVE_TRUNC * sg;
  double s = 0.0;
  for (long k = -1 - (long)(reach / 2.0); k <= 1 + (long)(reach / 2.0); k++)
    for (int refl = 0; refl < 2; refl++) {
      double x = refl ? 2.0 * (double)k - t : t - 2.0 * (double)k;
      if (x + reach < 0.0 || x - reach > 1.0) continue;
      long b0 = (long)ceil((x - reach) / h), b1 = (long)floor((x + reach) / h);
      if (b0 < 0) b0 = 0;
      if (b1 > L) b1 = L;
      for (long b = b0; b <= b1; b++) {
        double u = ((double)b * h - x) / sg;
        s += m[b] * exp(-0.5 * u * u);
      }
    }
  return s * INV_SQRT_2PI / sg;
}

void lsp_smece_curve(lsp_smece_ws *ws, const double *ymass, const double *wmass, double sigma,
                     int npts, double *acc, double *dens) {
  sigma = clamp_sigma(sigma);
  int l = level_for(sigma);
  if (npts > LSP_SMECE_NODES) npts = LSP_SMECE_NODES; /* documented limit */
  for (int pass = 0; pass < 2; pass++) { /* the density, then the numerator */
    build_pyramid(ws, pass ? ymass : wmass);
    const double *m = ws->pyr + ws->off[l];
    for (int q = 0; q < npts; q++) {
      double t = npts > 1 ? (double)q / (double)(npts - 1) : 0.0;
      double v = kernel_sum(m, l, sigma, t);
      if (!pass) {
        ws->r2[q] = v;
        if (dens) dens[q] = v;
      } else if (acc) {
        acc[q] = ws->r2[q] > 0.0 ? v / ws->r2[q] : NAN;
      }
    }
  }
}

void lsp_smece_mesh(const double *conf, const double *y, size_t n, double *resid) {
  memset(resid, 0, LSP_SMECE_NODES * sizeof *resid);
  for (size_t i = 0; i < n; i++) {
    size_t j;
    double f, d = (y[i] - conf[i]) / (double)n;
    lsp_smece_node(conf[i], &j, &f);
    resid[j] += (1.0 - f) * d;
    resid[j + 1] += f * d;
  }
}
