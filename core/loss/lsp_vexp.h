/* lsp_vexp.h — a vector exp for the softmax kernels (internal).
 *
 * 16 float lanes through GCC/Clang vector extensions: the compiler maps them
 * onto whatever the target has (4 SSE registers, 2 AVX2, 1 AVX-512), so the
 * same source serves the portable build and the runtime-dispatched clones.
 * Cephes-style: exp(x) = 2^n * exp(r), n = round(x / ln 2), r in
 * [-ln2/2, ln2/2], exp(r) by a degree-6 polynomial; max error about 2 ulp.
 * Inputs below -87.3 (where the result would be subnormal) give exactly 0;
 * the softmax kernels only pass x = z - max(z) <= 0. */
#ifndef LSP_VEXP_H
#define LSP_VEXP_H

#include <stdint.h>
#include <string.h>

/* The helpers are static inline: no vector crosses a real call boundary, so
 * GCC's note about the vector-argument ABI does not apply. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

typedef float lsp_v16f __attribute__((vector_size(64)));
typedef int32_t lsp_v16i __attribute__((vector_size(64)));
typedef double lsp_v16d __attribute__((vector_size(128)));

#define LSP_VLANES 16

static inline lsp_v16f lsp_vload(const float *p) {
  lsp_v16f v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void lsp_vstore(float *p, lsp_v16f v) { memcpy(p, &v, sizeof v); }

static inline lsp_v16f lsp_vsplat(float x) {
  return (lsp_v16f){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
}

static inline lsp_v16i lsp_vbits(lsp_v16f v) { return (lsp_v16i)v; }

/* exp(x) for x <= 0. Below -87.33 (where exp is subnormal) the argument is
 * clamped, giving 2^-126 (about 1.2e-38) instead of a smaller number: an
 * absolute error below 1.2e-38, far under float resolution of any sum the
 * kernels form with these values. */
static inline lsp_v16f lsp_vexp_nonpos(lsp_v16f x) {
  const lsp_v16f lo = lsp_vsplat(-87.33654f);
  lsp_v16i under = x < lo;
  x = (lsp_v16f)((lsp_vbits(x) & ~under) | (lsp_vbits(lo) & under));
  /* n = round(x / ln 2) by the 1.5*2^23 trick: adding the magic constant
   * rounds to an integer held in the low mantissa bits. */
  const lsp_v16f magic = lsp_vsplat(12582912.0f);
  lsp_v16f t = x * lsp_vsplat(1.44269504088896341f) + magic;
  lsp_v16f nf = t - magic;
  lsp_v16i n = lsp_vbits(t) - lsp_vbits(magic);
  /* r = x - n ln2, with ln2 split in two for accuracy */
  lsp_v16f r = x - nf * lsp_vsplat(0.693359375f);
  r = r - nf * lsp_vsplat(-2.12194440e-4f);
  lsp_v16f p = lsp_vsplat(1.9875691500e-4f);
  p = p * r + lsp_vsplat(1.3981999507e-3f);
  p = p * r + lsp_vsplat(8.3334519073e-3f);
  p = p * r + lsp_vsplat(4.1665795894e-2f);
  p = p * r + lsp_vsplat(1.6666665459e-1f);
  p = p * r + lsp_vsplat(5.0000001201e-1f);
  p = (p * r) * r + r + lsp_vsplat(1.0f);
  /* scale by 2^n through the exponent bits (n >= -126 after the clamp) */
  return p * (lsp_v16f)((n + 127) << 23);
}

#endif
