/* lsp_calib_sim.h — the simulation study of the calibration estimators and
 * their intervals (docs/CALIBRATION_SIM.md, `lsprobe calib-sim`).
 *
 * A scenario draws confidences c ~ Beta(a, b) and correctness
 * y ~ Bernoulli(μ(c)) from a known calibration curve μ, so every target is
 * known: the ℓ1 calibration error E|μ(c) − c|, the ℓ2 one
 * sqrt(E(μ(c) − c)²), their binned versions, and the population SmoothECE,
 * all computed by GSL's adaptive quadrature. Each replicate scores N
 * fresh pairs, bootstraps them (percentile and test-inversion intervals,
 * lsp_calib.h) and records, per estimator, the estimate and whether each
 * interval holds the estimator's target. */
#ifndef LSP_CALIB_SIM_H
#define LSP_CALIB_SIM_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  LSP_SIM_IDENTITY = 0, /* μ(c) = c: calibrated                                */
  LSP_SIM_TEMPERATURE,  /* μ(c) = σ(β·logit c): temperature-type, crossing 0.5 */
  LSP_SIM_POWER         /* μ(c) = c^γ: over- (γ > 1) or under-confident       */
} lsp_sim_curve;

typedef struct {
  const char *name;
  double a, b; /* confidences ~ Beta(a, b), a, b >= 1 */
  lsp_sim_curve curve;
  double param; /* β or γ (> 0) */
} lsp_sim_scenario;

/* The study's scenarios (docs/CALIBRATION_SIM.md); *n gets their number. */
const lsp_sim_scenario *lsp_sim_scenarios(size_t *n);

/* μ(c) of scenario s. */
double lsp_sim_mu(const lsp_sim_scenario *s, double c);

typedef struct {
  double l1, l2;               /* E|μ(c) − c| and sqrt(E(μ(c) − c)²)         */
  double l1_binned, l2_binned; /* Σ_b |E[(μ − c)1_b]|, sqrt(Σ_b E[(μ − c)1_b]²/P_b)
                                  over `bins` equal-width bins                 */
  double smece, smece_sigma;   /* population SmoothECE and its σ*            */
} lsp_sim_truth;

/* Every target of s by GSL quadrature (relative accuracy ~1e-9; σ* by
 * bisection to 1e-7). LSP_EINVAL for a bad scenario, LSP_EDATA when an
 * integral does not converge. */
int lsp_sim_truth_compute(const lsp_sim_scenario *s, int bins, lsp_sim_truth *t);

/* The estimators of the study and the target each is compared with. */
enum {
  LSP_SIM_ECE = 0,       /* ℓ1 target */
  LSP_SIM_ACE,           /* ℓ1 */
  LSP_SIM_ECE_DEBIASED,  /* ℓ1 */
  LSP_SIM_ECE_SWEEP,     /* ℓ1 */
  LSP_SIM_RMSCE,         /* ℓ2 */
  LSP_SIM_ECE_L2_DEBIASED, /* ℓ2 */
  LSP_SIM_SMECE,         /* population SmoothECE */
  LSP_SIM_NEST
};
int lsp_sim_metric(int e);                                  /* its LSP_CALIB_* */
double lsp_sim_target(int e, const lsp_sim_truth *t);       /* its target */
double lsp_sim_target_binned(int e, const lsp_sim_truth *t); /* NaN if none */

typedef struct {
  int reps;      /* replicates per N (>= 1)                      */
  int resamples; /* bootstrap resamples per replicate (>= 2)     */
  int bins;      /* equal-width bins of the binned estimators    */
  int threads;   /* replicates run in parallel                   */
  uint64_t seed; /* replicate r of size n uses its own stream    */
} lsp_sim_opts;

typedef struct {
  int reps;
  double mean, sd, rmse;     /* of the estimate over the replicates    */
  double bias, bias_binned;  /* mean − target, mean − binned target    */
  double cover_pct, cover_inv; /* share of intervals holding the target */
  double above_pct, above_inv; /* share of intervals lying above it      */
  double width_pct, width_inv; /* mean interval width                  */
} lsp_sim_row;

/* Run o->reps replicates of n pairs of scenario s (targets t) and
 * summarize each estimator into rows[LSP_SIM_NEST]. The result depends on
 * (s, n, o->seed, o->reps, o->resamples), not on o->threads. */
int lsp_sim_run(const lsp_sim_scenario *s, const lsp_sim_truth *t, size_t n,
                const lsp_sim_opts *o, lsp_sim_row rows[LSP_SIM_NEST]);

#endif
