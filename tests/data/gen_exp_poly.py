#!/usr/bin/python3
"""The loss kernel's exponential polynomials (core/loss/lsp_xent_body.h,
lsp_xent_exp8.h).

Two forms, each with its constant and linear terms fixed at 1 (so that
exp(0) = 1 and the slope at 0 are exact) and the other coefficients chosen to
minimise the maximum relative error on the reduced interval:
  C: 1 + r(1 + r(C2 + r(C3 + r(C4 + r(C5 + r C6))))) on [-ln2/2, ln2/2]
     (AVX-512, SSE2 and plain C);
  T: 1 + r(1 + r(T2 + r T3)) on [-ln2/16, ln2/16], widened by 0.1% for the
     rounding of k = round(8x/ln 2) (AVX2, after a table of 2^(j/8)).
The fit is linear in the free coefficients, so the minimax solution is found
by Lawson's algorithm: weighted least squares on a dense Chebyshev grid, each
point's weight multiplied by its error at every step, which concentrates the
weight on the extremal points.

Prints each fit's coefficients rounded to float32 and the maximum relative
error before and after that rounding. With --check FILE... it instead reads the
XB_C2..XB_C6 and XB_T2, XB_T3 values from the kernel's source and measures
their maximum relative error on their intervals: it exits 1 if C exceeds 2e-8
or T 3e-8 (float32's half ulp is 6e-8; the C coefficients, an earlier fit,
reach 1.7e-8 where the minimax fit printed here reaches 3.8e-9, but adopting
it would change every trained model's bits for an error far below float
rounding; T's minimax reaches 2.6e-8, its float32 rounding the same).

Run with Debian's NumPy: /usr/bin/python3 tests/data/gen_exp_poly.py
"""
import re
import sys

import numpy as np

LN2 = float(np.log(2.0))
# name: (half-width of the interval, free powers, limit for --check)
FORMS = {"C": (LN2 / 2, [2, 3, 4, 5, 6], 2e-8), "T": (LN2 / 16 * 1.001, [2, 3], 3e-8)}


def grid(h, n=6001):
    return np.cos(np.linspace(0.0, np.pi, n)) * h


def rel_error(c, powers, r):
    p = 1.0 + r + sum(ck * r**k for ck, k in zip(c, powers))
    return p / np.exp(r) - 1.0


def lawson(h, powers, iters=4000):
    r = grid(h)
    f = np.exp(r)
    a = np.stack([r**k / f for k in powers], 1)
    rhs = 1.0 - (1.0 + r) / f
    w = np.full(r.shape, 1.0 / r.size)
    for _ in range(iters):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(a * sw[:, None], rhs * sw, rcond=None)
        e = np.abs(a @ c - rhs)
        w *= e
        w /= w.sum()
    return c


def main():
    check = len(sys.argv) >= 3 and sys.argv[1] == "--check"
    src = "".join(open(f).read() for f in sys.argv[2:]) if check else None
    status = 0
    for name, (h, powers, limit) in FORMS.items():
        r = grid(h, 200001)
        if check:
            have = [float(re.search(r"#define XB_%s%d ([-0-9.e+]+)f" % (name, k), src).group(1))
                    for k in powers]
            err = np.max(np.abs(rel_error(have, powers, r)))
            print("XB_%s coefficients: max rel error %.3g (limit %g)" % (name, err, limit))
            status |= err > limit
            continue
        c = lawson(h, powers)
        c32 = np.array([float(np.float32(v)) for v in c])
        print("%s fit (double): max rel error %.3g" % (name, np.max(np.abs(rel_error(c, powers, r)))))
        print("%s float32 coefficients: max rel error %.3g"
              % (name, np.max(np.abs(rel_error(c32, powers, r)))))
        for k, v in zip(powers, c32):
            print("#define XB_%s%d %.10ef" % (name, k, v))
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
