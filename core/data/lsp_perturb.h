/* lsp_perturb.h — randomly perturbed copies of images, for probes that ask
 * how a model's outputs vary around an example (the information-erasure
 * estimate of DESIGN §2): shifts by whole pixels and Gaussian pixel noise,
 * clipped to the data's bounds, seeded. */
#ifndef LSP_PERTURB_H
#define LSP_PERTURB_H

#include <stddef.h>

typedef struct {
  size_t copies;      /* R copies of every image (20)                        */
  int max_shift;      /* shifts dx, dy uniform in [-max_shift, max_shift] (2) */
  double noise_sd;    /* sd of the Gaussian noise added to every pixel (0.05) */
  unsigned long seed; /* (1)                                                 */
} lsp_perturb_opts;

void lsp_perturb_opts_default(lsp_perturb_opts *o);

/* Copies of n images x (n×c×h×w float32, row-major) into out (n·R images;
 * the R copies of image i are images i·R .. i·R+R−1). Copy r of image i:
 * the image shifted by (dy, dx) — out(ch, y, x) = in(ch, y − dy, x − dx),
 * pixels shifted in from outside set to lo —, then N(0, noise_sd²) added to
 * every pixel and the result clipped to [lo, hi]. Each image draws from its
 * own GSL mt19937 stream, seeded with the low 32 bits of
 * splitmix64(seed ⊕ mix64(i)), in the order dy, dx, then the noise pixel by
 * pixel: a copy depends on (seed, i, r) only, not on n. For data without an
 * image shape pass c = 1, h = 1, w = features and max_shift = 0.
 * Errors: LSP_EINVAL for copies == 0, max_shift < 0, max_shift >= h or w
 * (when > 0), a negative or non-finite noise_sd, lo > hi. */
int lsp_perturb_images(const float *x, size_t n, size_t c, size_t h, size_t w,
                       float lo, float hi, const lsp_perturb_opts *o,
                       float *out);

#endif
