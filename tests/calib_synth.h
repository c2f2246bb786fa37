/* calib_synth.h — synthetic samples shared by the calibration tests. */
#ifndef LSP_CALIB_SYNTH_H
#define LSP_CALIB_SYNTH_H

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>

/* n×k logits ~ N(0, sd²) and labels drawn from softmax(logits): a perfectly
 * calibrated model by construction. */
static inline void calibrated_logits(size_t n, size_t k, double sd, uint64_t seed, float *z,
                                     int32_t *y) {
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, (unsigned long)seed);
  double p[64];
  for (size_t i = 0; i < n; i++) {
    double mx = -INFINITY, s = 0.0;
    for (size_t j = 0; j < k; j++) {
      z[i * k + j] = (float)gsl_ran_gaussian(g, sd);
      mx = fmax(mx, z[i * k + j]);
    }
    for (size_t j = 0; j < k; j++) s += (p[j] = exp(z[i * k + j] - mx));
    double u = gsl_rng_uniform(g) * s, c = 0.0;
    size_t j = 0;
    while (j + 1 < k && (c += p[j]) <= u) j++;
    y[i] = (int32_t)j;
  }
  gsl_rng_free(g);
}

static inline void random_probs(size_t n, size_t k, uint64_t seed, float *p, int32_t *y) {
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, (unsigned long)seed);
  for (size_t i = 0; i < n; i++) {
    double s = 0.0, v[64];
    for (size_t j = 0; j < k; j++) s += (v[j] = pow(gsl_rng_uniform(g), 3.0));
    for (size_t j = 0; j < k; j++) p[i * k + j] = (float)(v[j] / s);
    y[i] = (int32_t)gsl_rng_uniform_int(g, (unsigned long)k);
  }
  gsl_rng_free(g);
}

#endif
