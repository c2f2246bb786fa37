#!/usr/bin/python3
"""The loss kernel's exponential polynomial (core/loss/lsp_xent_body.h).

exp(r) on [-ln2/2, ln2/2] is approximated as 1 + r(1 + r(C2 + r(C3 + r(C4 +
r(C5 + r C6))))): the constant and linear terms are fixed at 1 so that
exp(0) = 1 and the slope at 0 are exact, and C2..C6 minimise the maximum
relative error. The fit is linear in C2..C6, so the minimax solution is
found by Lawson's algorithm: weighted least squares on a dense Chebyshev
grid, each point's weight multiplied by its error at every step, which
concentrates the weight on the extremal points.

Prints the fit's coefficients rounded to float32 and the maximum relative
error before and after that rounding. With --check FILE it instead reads the
XB_C2..XB_C6 values from the kernel's source and measures their maximum
relative error on the interval: it exits 1 if that exceeds 2e-8 (a sixth of
float32's half ulp, 6e-8; the kernel's coefficients, an earlier fit, reach
1.7e-8 — the minimax fit printed here reaches 3.8e-9, but adopting it would
change every trained model's bits for an error far below float rounding).

Run with Debian's NumPy: /usr/bin/python3 tests/data/gen_exp_poly.py
"""
import re
import sys

import numpy as np

LO, HI = -np.log(2.0) / 2, np.log(2.0) / 2
POWERS = [2, 3, 4, 5, 6]


def grid(n=6001):
    return np.cos(np.linspace(0.0, np.pi, n)) * (HI - LO) / 2 + (HI + LO) / 2


def rel_error(c, r):
    p = 1.0 + r + sum(ck * r**k for ck, k in zip(c, POWERS))
    return p / np.exp(r) - 1.0


def lawson(iters=4000):
    r = grid()
    f = np.exp(r)
    a = np.stack([r**k / f for k in POWERS], 1)
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
    check = len(sys.argv) == 3 and sys.argv[1] == "--check"
    r = grid(200001)
    if check:
        src = open(sys.argv[2]).read()
        have = [float(re.search(r"#define XB_C%d ([-0-9.e+]+)f" % k, src).group(1)) for k in POWERS]
        err = np.max(np.abs(rel_error(have, r)))
        print("source coefficients: max rel error %.3g (limit 2e-8)" % err)
        return 0 if err <= 2e-8 else 1
    c = lawson()
    c32 = np.array([float(np.float32(v)) for v in c])
    print("fit (double): max rel error %.3g" % np.max(np.abs(rel_error(c, r))))
    print("float32 coefficients: max rel error %.3g" % np.max(np.abs(rel_error(c32, r))))
    for k, v in zip(POWERS, c32):
        print("#define XB_C%d %.9ef" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
