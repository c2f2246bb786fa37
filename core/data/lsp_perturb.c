/* lsp_perturb.c — shifted, noisy copies of images (lsp_perturb.h). */
#include "core/data/lsp_perturb.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

void lsp_perturb_opts_default(lsp_perturb_opts *o) {
  o->copies = 20;
  o->max_shift = 2;
  o->noise_sd = 0.05;
  o->seed = 1;
}

int lsp_perturb_images(const float *x, size_t n, size_t c, size_t h, size_t w,
                       float lo, float hi, const lsp_perturb_opts *o,
                       float *out) {
  if (!x || !out || !o)
    return lsp_fail(LSP_EINVAL, "perturb: missing argument");
  if (o->copies == 0)
    return lsp_fail(LSP_EINVAL, "perturb: copies must be at least 1");
  if (c == 0 || h == 0 || w == 0)
    return lsp_fail(LSP_EINVAL, "perturb: empty image shape");
  if (o->max_shift < 0 || (o->max_shift > 0 && ((size_t)o->max_shift >= h ||
                                                (size_t)o->max_shift >= w)))
    return lsp_fail(
        LSP_EINVAL,
        "perturb: a shift of up to %d pixels does not fit %zu×%zu images",
        o->max_shift, h, w);
  if (!(o->noise_sd >= 0.0) || !isfinite(o->noise_sd))
    return lsp_fail(LSP_EINVAL, "perturb: noise sd %g must be finite and >= 0",
                    o->noise_sd);
  if (!(lo <= hi))
    return lsp_fail(LSP_EINVAL, "perturb: bounds [%g, %g] are empty", lo, hi);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!rng) return lsp_fail(LSP_ENOMEM, "out of memory");
  const size_t dim = c * h * w, span = 2 * (size_t)o->max_shift + 1;
  for (size_t i = 0; i < n; i++) {
    gsl_rng_set(
        rng, (unsigned long)(lsp_splitmix64((uint64_t)o->seed ^ lsp_mix64(i)) &
                             0xffffffffu));
    const float *src = x + i * dim;
    for (size_t r = 0; r < o->copies; r++) {
      float *dst = out + (i * o->copies + r) * dim;
      long dy = (long)gsl_rng_uniform_int(rng, span) - o->max_shift;
      long dx = (long)gsl_rng_uniform_int(rng, span) - o->max_shift;
      for (size_t ch = 0; ch < c; ch++)
        for (size_t yy = 0; yy < h; yy++)
          for (size_t xx = 0; xx < w; xx++) {
            long sy = (long)yy - dy, sx = (long)xx - dx;
            float v = sy >= 0 && sy < (long)h && sx >= 0 && sx < (long)w
                          ? src[(ch * h + (size_t)sy) * w + (size_t)sx]
                          : lo;
            if (o->noise_sd > 0.0)
              v += (float)gsl_ran_gaussian_ziggurat(rng, o->noise_sd);
            dst[(ch * h + yy) * w + xx] = v < lo ? lo : v > hi ? hi : v;
          }
    }
  }
  gsl_rng_free(rng);
  return LSP_OK;
}
