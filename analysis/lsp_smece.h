/* lsp_smece.h — SmoothECE (Błasiok & Nakkiran 2023) on a fixed mesh.
 *
 * For pairs (c_i, y_i), c in [0, 1], y in {0, 1} (or a probability), and a
 * bandwidth σ, the kernel-smoothed residual is
 *   r_σ(t) = (1/n) Σ_i (y_i − c_i) K_σ(t, c_i),   t in [0, 1],
 * with the reflected Gaussian kernel K_σ(t, u) = Σ_{k∈Z} φ_σ(t − u − 2k) +
 * φ_σ(t + u − 2k) (φ_σ the N(0, σ²) density: every mirror image of u in the
 * edges 0 and 1, so K integrates to 1 over t in [0, 1] for every u). r_σ is
 * the Nadaraya–Watson regression of y − c on c times the kernel density of c,
 * and smECE_σ = ∫_0^1 |r_σ(t)| dt. smECE_σ does not increase with σ, so
 * σ = smECE_σ has one root σ*; SmoothECE is smECE_σ*.
 *
 * The sample enters through its mesh form: each pair is split between the
 * two nearest of LSP_SMECE_NODES equally spaced nodes u_j = j/(NODES − 1)
 * by linear interpolation (weights 1 − f and f), which keeps its mass and
 * its mean position. Masses on this fine mesh are sums, so they stream and
 * merge (the calibration accumulator keeps them in fixed point). For a
 * bandwidth σ the fine masses are restricted (again by linear
 * interpolation, exact on the nested meshes) to the coarsest mesh with
 * spacing h <= σ/LSP_SMECE_RESOLUTION; the interpolation spreads each
 * point's mass like a hat of variance h²/6, so the kernel used there is
 * narrowed to σ' = sqrt(σ² − h²/6) (hat and kernel together spread like φ_σ
 * to second order). r_σ is evaluated at the coarse nodes with the image sum
 * truncated at 7σ' (φ there is 2e-11 of its peak) and integrated by the
 * trapezoid rule. Against the exact integral: 2e-4 relative at σ = 0.01,
 * 1e-5 or better at σ* when r keeps its sign; up to ~1e-3 at σ* when r
 * changes sign (DESIGN §2). */
#ifndef LSP_SMECE_H
#define LSP_SMECE_H

#include <stddef.h>

/* 2^12 + 1 nodes: spacing 1/4096 <= LSP_SMECE_SIGMA_MIN / RESOLUTION. */
#define LSP_SMECE_NODES 4097
/* Coarse mesh spacing is at most σ / LSP_SMECE_RESOLUTION. */
#define LSP_SMECE_RESOLUTION 4
/* The fixed point is searched in [LSP_SMECE_SIGMA_MIN, 1] (as relplot does:
 * a sample whose smECE stays below σ even at σ = 1e-3 gets σ* = 1e-3). */
#define LSP_SMECE_SIGMA_MIN 1e-3
/* Points of the smoothed reliability curve (t = q/(PTS − 1)). */
#define LSP_SMECE_CURVE_PTS 101

/* The fine-mesh node j (0 <= j <= NODES − 2) left of c in [0, 1] and the
 * share f in [0, 1] of c that goes to node j + 1 (1 − f goes to node j). */
static inline void lsp_smece_node(double c, size_t *j, double *f) {
  double x = c * (double)(LSP_SMECE_NODES - 1);
  size_t i = x > 0.0 ? (size_t)x : 0;
  if (i > LSP_SMECE_NODES - 2) i = LSP_SMECE_NODES - 2;
  *j = i;
  *f = x - (double)i;
}

/* Scratch memory for the functions below (about 400 KB). One per thread. */
typedef struct lsp_smece_ws lsp_smece_ws;
lsp_smece_ws *lsp_smece_ws_alloc(void);
void lsp_smece_ws_free(lsp_smece_ws *ws); /* NULL-safe */

/* smECE_σ (σ > 0) of the residual masses resid[0..NODES−1] (resid[j] =
 * (1/n) Σ_i share_ij (y_i − c_i)). */
double lsp_smece_at(lsp_smece_ws *ws, const double *resid, double sigma);

/* The fixed point σ* of σ = smECE_σ within [LSP_SMECE_SIGMA_MIN, 1]: by
 * bisection in log σ to a relative width of 1e-4, then regula falsi
 * (Illinois, bracketed) until the bracket's ends are a few doubles apart;
 * σ* is the end nearer the root and smece = smECE_σ* there. hint > 0 (e.g. the σ* of the full sample, for a resample)
 * starts from [hint/2, 2·hint] and widens it until it brackets the root;
 * hint <= 0 starts from the whole range. Both find the same root to
 * near double precision (the sample refitted from its own σ* gives it back
 * within 1e-12 relative); only the cost differs. */
void lsp_smece_fit(lsp_smece_ws *ws, const double *resid, double hint, double *sigma,
                   double *smece);

/* The smoothed reliability curve at bandwidth σ on t_q = q/(npts − 1),
 * 1 <= npts <= LSP_SMECE_NODES, each point summed directly (no
 * interpolation between mesh nodes):
 * acc[q] = Σ_j ymass_j K_σ(t_q, u_j) / Σ_j wmass_j K_σ(t_q, u_j) (the
 * Nadaraya–Watson estimate of E[y | c = t]; NaN where the density
 * underflows to 0) and dens[q] = Σ_j wmass_j K_σ(t_q, u_j), the reflected
 * kernel density of c when wmass sums to 1. Either output may be NULL. */
void lsp_smece_curve(lsp_smece_ws *ws, const double *ymass, const double *wmass, double sigma,
                     int npts, double *acc, double *dens);

/* Convenience for arrays: the mesh form of n pairs (conf[i] in [0, 1],
 * y[i] in [0, 1]) into resid (NODES doubles, zeroed here). */
void lsp_smece_mesh(const double *conf, const double *y, size_t n, double *resid);

#endif
