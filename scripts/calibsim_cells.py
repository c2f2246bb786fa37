#!/usr/bin/python3
"""calibsim_cells.py [--n 500,2000,10000] [--reps 500] [--bootstrap 200]
[--scenarios calibrated,near,over,under] [--seed 7] [--nll]

Coverage of the resampling intervals a cell of `lsprobe run` could give its
calibration errors (docs/CALIBRATION_SIM.md, "The run's cells"), in
`lsprobe calib-sim`'s scenarios, written again in NumPy from DESIGN §2:
confidences c ~ Beta(5, 1.5), correct ~ Bernoulli(μ(c)) with `calibrated`
μ = c, `near` μ = σ(0.9·logit c), `over` μ = c^1.3, `under`
μ = σ(1.3·logit c). Estimators as a cell computes them (DESIGN §9.2): the
15-bin plug-in ECE (right edges) and Kumar et al.'s debiased ℓ2 ECE.
Targets: the ℓ1 error E|μ(c) − c| and the ℓ2 error sqrt(E(μ(c) − c)²), by
the midpoint rule in t = sqrt(1 − c) on 2·10^6 points (agreeing with
calib-sim's quadrature to the digits it prints).

Each replicate draws N pairs and B resamples (indices with replacement) and
forms, from the B resampled estimates θ* and the estimate θ̂:
  pct      [q2.5, q97.5]                          (the cells' former interval)
  centred  [q2.5 − β, q97.5 − β], β = mean θ* − θ̂  (as R² and NC1 are centred)
  basic    [2θ̂ − q97.5, 2θ̂ − q2.5]
  bc       Efron's bias-corrected percentile: z0 = Φ⁻¹(share of θ* < θ̂,
           ties counted half), bounds at Φ(2 z0 ∓ 1.96)
Printed per scenario, N, estimator and kind: coverage of the target, the
share of intervals lying entirely above it, the mean width, and the share
of intervals that hold their own estimate. The test inversion that `calib`
and the cells use is measured by `lsprobe calib-sim` itself.

--nll: instead, the percentile coverage of the mean NLL (an unbiased mean)
for K = 10 logits z ~ N(0, 2²), the model softmax(z), labels drawn from
softmax(z/T), T = 1, 1.6, 0.8, the truth E[NLL] from 2·10^6 draws of z."""
import argparse
from math import exp, lgamma
from statistics import NormalDist

import numpy as np

M = 15
SCEN = ["calibrated", "near", "over", "under"]
ND = NormalDist()


def mu(s, c):
    lg = np.log(c) - np.log1p(-c)
    return {"calibrated": lambda: c, "near": lambda: 1 / (1 + np.exp(-0.9 * lg)),
            "over": lambda: c ** 1.3, "under": lambda: 1 / (1 + np.exp(-1.3 * lg))}[s]()


def targets(s):
    n = 2_000_000
    t = (np.arange(n) + 0.5) / n
    c = 1 - t * t  # c = 1 − t²: the density's (1 − c)^0.5 becomes smooth
    w = c ** 4 * t * 2 * t / exp(lgamma(5) + lgamma(1.5) - lgamma(6.5)) / n
    g = mu(s, c) - c
    return np.sum(w * np.abs(g)), np.sqrt(np.sum(w * g * g))


def estimates(W, A, C, n):
    """ECE and debiased ℓ2 ECE from per-bin weight, correct and confidence sums."""
    ok = W > 0
    Wd = np.where(ok, W, 1)
    a, cf = np.where(ok, A / Wd, 0), np.where(ok, C / Wd, 0)
    ece = np.sum(np.abs(a - cf) * W, axis=-1) / n
    ok2 = W >= 2
    d = np.sum(np.where(ok2, W / n * ((a - cf) ** 2 - a * (1 - a) / np.where(ok2, W - 1, 1)), 0),
               axis=-1)
    return ece, np.sqrt(np.maximum(d, 0))


def intervals(v, p):
    lo, hi = np.percentile(v, [2.5, 97.5])
    beta = v.mean() - p
    share = np.mean(v < p) + 0.5 * np.mean(v == p)
    z0 = ND.inv_cdf(float(np.clip(share, 1e-9, 1 - 1e-9)))
    a1, a2 = ND.cdf(2 * z0 - 1.959964), ND.cdf(2 * z0 + 1.959964)
    return {"pct": (lo, hi), "centred": (lo - beta, hi - beta), "basic": (2 * p - hi, 2 * p - lo),
            "bc": tuple(np.percentile(v, [100 * a1, 100 * a2]))}


def run(s, N, R, B, seed):
    l1, l2 = targets(s)
    rng = np.random.default_rng([seed, N, SCEN.index(s)])
    out = {}
    for _ in range(R):
        c = rng.beta(5, 1.5, N)
        y = (rng.random(N) < mu(s, c)).astype(float)
        cb = np.clip(np.ceil(c * M).astype(int) - 1, 0, M - 1)
        idx = rng.integers(0, N, (B, N))
        key = (np.arange(B)[:, None] * M + cb[idx]).ravel()
        sums = [np.bincount(key, weights=x, minlength=B * M).reshape(B, M)
                for x in (None, y[idx].ravel(), c[idx].ravel())]
        point = estimates(np.bincount(cb, minlength=M).astype(float),
                          np.bincount(cb, weights=y, minlength=M),
                          np.bincount(cb, weights=c, minlength=M), N)
        boot = estimates(sums[0].astype(float), sums[1], sums[2], N)
        for name, p, v, tgt in (("ece", point[0], boot[0], l1),
                                ("ece_l2_debiased", point[1], boot[1], l2)):
            for kind, (lo, hi) in intervals(v, p).items():
                out.setdefault((name, kind), []).append(
                    (lo <= tgt <= hi, lo > tgt, hi - lo, lo <= p <= hi))
    return (l1, l2), out


def nll_study(R, B, seed):
    K = 10
    rng = np.random.default_rng(seed)

    def probs(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    print("| T | N | true E[NLL] | cover pct | holds estimate |\n|---|---|---|---|---|")
    for T in (1.0, 1.6, 0.8):
        truth = np.mean([np.sum(probs(z / T) * -np.log(probs(z)), 1).mean()
                         for z in (rng.normal(0, 2, (200_000, K)) for _ in range(10))])
        for N in (200, 500, 2000):
            cover = hold = 0
            for _ in range(R):
                z = rng.normal(0, 2, (N, K))
                q = np.cumsum(probs(z / T), 1)
                y = np.minimum((rng.random(N)[:, None] > q).sum(1), K - 1)
                ell = -np.log(probs(z)[np.arange(N), y])
                lo, hi = np.percentile(ell[rng.integers(0, N, (B, N))].mean(1), [2.5, 97.5])
                cover += lo <= truth <= hi
                hold += lo <= ell.mean() <= hi
            print("| %.1f | %d | %.4f | %.3f | %.3f |" % (T, N, truth, cover / R, hold / R), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", default="500,2000,10000")
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--scenarios", default=",".join(SCEN))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--nll", action="store_true")
    a = ap.parse_args()
    if a.nll:
        nll_study(a.reps, a.bootstrap, a.seed)
        return
    print("| scenario | N | estimator | target | interval | cover (above) | width | holds estimate |")
    print("|---|---|---|---|---|---|---|---|")
    for s in a.scenarios.split(","):
        for N in (int(x) for x in a.n.split(",")):
            (l1, l2), out = run(s, N, a.reps, a.bootstrap, a.seed)
            for (name, kind), rows in out.items():
                r = np.array(rows, dtype=float)
                print("| %s | %d | %s | %.5f | %s | %.3f (%.3f) | %.5f | %.3f |"
                      % (s, N, name, l1 if name == "ece" else l2, kind, r[:, 0].mean(),
                         r[:, 1].mean(), r[:, 2].mean(), r[:, 3].mean()), flush=True)


if __name__ == "__main__":
    main()
