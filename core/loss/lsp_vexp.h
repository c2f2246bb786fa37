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

/* ---- double lanes --------------------------------------------------------
 * Eight double lanes (one AVX-512 register, two AVX2, four SSE) for the
 * soft-target kernels, which take exponentials in double: their losses
 * cancel large terms (the KL term is a difference of two logsumexps, scaled
 * by T^2), so the ~2 ulp of the float exp above would show in the 7th digit.
 * exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 in
 * [-ln2/2, ln2/2] (ln 2 split in two, Cody-Waite), exp(r) by its Taylor
 * polynomial of degree 13, whose remainder is below 1e-17 relative on that
 * interval; the error is that of the Horner evaluation, a few ulp. */
typedef float lsp_v8f __attribute__((vector_size(32)));
typedef double lsp_v8d __attribute__((vector_size(64)));
typedef int64_t lsp_v8l __attribute__((vector_size(64)));

#define LSP_VLANES_D 8

static inline lsp_v8d lsp_vsplatd(double x) {
  return (lsp_v8d){x, x, x, x, x, x, x, x};
}

/* exp(x) for x <= 0 in double. Below -708 (where exp nears the subnormal
 * range) the argument is clamped, giving about 3.3e-308 instead of a smaller
 * number: an absolute error far below anything the kernels add it to. */
static inline lsp_v8d lsp_vexpd_nonpos(lsp_v8d x) {
  const lsp_v8d lo = lsp_vsplatd(-708.0);
  lsp_v8l under = x < lo;
  x = (lsp_v8d)(((lsp_v8l)x & ~under) | ((lsp_v8l)lo & under));
  /* n = round(x / ln 2) by the 1.5*2^52 trick */
  const lsp_v8d magic = lsp_vsplatd(6755399441055744.0);
  lsp_v8d t = x * lsp_vsplatd(1.4426950408889634074) + magic;
  lsp_v8d nf = t - magic;
  lsp_v8l n = (lsp_v8l)t - (lsp_v8l)magic;
  lsp_v8d r = x - nf * lsp_vsplatd(6.93145751953125e-1);
  r = r - nf * lsp_vsplatd(1.42860682030941723212e-6);
  /* 1/13!, 1/12!, ..., 1/2!, then r + 1 */
  lsp_v8d p = lsp_vsplatd(1.6059043836821614599e-10);
  p = p * r + lsp_vsplatd(2.0876756987868098979e-9);
  p = p * r + lsp_vsplatd(2.5052108385441718775e-8);
  p = p * r + lsp_vsplatd(2.7557319223985890653e-7);
  p = p * r + lsp_vsplatd(2.7557319223985890653e-6);
  p = p * r + lsp_vsplatd(2.4801587301587301587e-5);
  p = p * r + lsp_vsplatd(1.9841269841269841270e-4);
  p = p * r + lsp_vsplatd(1.3888888888888888889e-3);
  p = p * r + lsp_vsplatd(8.3333333333333333333e-3);
  p = p * r + lsp_vsplatd(4.1666666666666666667e-2);
  p = p * r + lsp_vsplatd(1.6666666666666666667e-1);
  p = p * r + lsp_vsplatd(0.5);
  p = (p * r) * r + r + lsp_vsplatd(1.0);
  /* scale by 2^n through the exponent bits (n >= -1022 after the clamp) */
  return p * (lsp_v8d)((n + 1023) << 52);
}

#endif
