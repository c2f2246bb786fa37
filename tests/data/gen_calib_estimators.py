#!/usr/bin/python3
"""Reference values for the calibration estimators (tests/test_calib_estim.c).

Written from the papers' formulas in NumPy only, independently of lsprobe's C
code (run with Debian's /usr/bin/python3):

- SmoothECE (Blasiok & Nakkiran 2023): r(t) = (1/n) sum_i (y_i - c_i) K(t, c_i)
  with the reflected Gaussian kernel K (every mirror image of c_i in 0 and 1),
  smECE_s = integral of |r| over [0, 1] (Simpson on 8001 points, no mesh),
  sigma* the root of smECE_s = s by bisection in log s.
- ece_l2_debiased (Kumar et al. 2019): sum over 15 equal-width bins of
  (n_b/N) [(acc - conf)^2 - acc (1 - acc)/(n_b - 1)] (bins with n_b >= 2),
  clipped at 0, square root.
- ece_debiased (Kumar et al. 2019, "normal debiasing"): 2 ECE - mean of the
  ECEs recomputed with each bin's accuracy redrawn from N(acc, acc(1-acc)/n_b);
  both the closed form of that mean (the folded-normal mean) and a Monte Carlo
  mean over 10^6 redraws with its standard error.
- ece_sweep (Roelofs et al. 2022): rows sorted by confidence (stable), b
  equal-mass bins as numpy.array_split makes them, b grows from 1 while b + 1
  bins keep non-decreasing accuracies (compared exactly, as fractions); the ECE
  over the last such b.

Cases: `near` (2000 pairs: c ~ Beta(5, 1.5), y ~ Bernoulli(sigmoid(0.9 logit c)),
NumPy seed 20261201) and `relplot` (the top-label pairs of
smece_relplot/logits.npy and labels.npy). Writes calib_estimators/.
"""
import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "calib_estimators")
SQ2PI = math.sqrt(2 * math.pi)


def r_of_t(c, d, s, t):
    r = np.zeros(len(t))
    kmax = int(math.ceil(12 * s / 2)) + 1
    for i0 in range(0, len(c), 256):
        cc, dd = c[i0:i0 + 256], d[i0:i0 + 256]
        for k in range(-kmax, kmax + 1):
            for img in (cc + 2 * k, -cc + 2 * k):
                D = (t[:, None] - img[None, :]) / s
                m = np.abs(D) < 12
                if m.any():
                    r += np.where(m, np.exp(-0.5 * D * D), 0.0) @ dd
    return r / (s * SQ2PI) / len(c)


def smece_at(c, y, s, T=8001):
    t = np.linspace(0, 1, T)
    a = np.abs(r_of_t(c, y - c, s, t))
    h = 1 / (T - 1)
    return h / 3 * (a[0] + a[-1] + 4 * a[1:-1:2].sum() + 2 * a[2:-1:2].sum())


def smece_fit(c, y):
    lo, hi = 1e-3, 1.0
    while hi / lo - 1 > 1e-3:  # coarse, then fine around the root
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if smece_at(c, y, mid, 2001) > mid else (lo, mid)
    lo, hi = lo * 0.98, hi * 1.02
    while hi / lo - 1 > 1e-9:
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if smece_at(c, y, mid) > mid else (lo, mid)
    s = math.sqrt(lo * hi)
    return s, smece_at(c, y, s)


def curve(c, y, s, P=101):
    """Nadaraya-Watson estimate of E[y | c = t] and the kernel density of c."""
    t = np.linspace(0, 1, P)
    num = r_of_t(c, y, s, t) * len(c)  # sum_i K(t, c_i) y_i / n ... times n
    den = r_of_t(c, np.ones_like(c), s, t) * len(c)
    return (num / den).tolist(), (den / len(c)).tolist()


def bins_of(c, M=15):
    b = np.ceil(c * M).astype(int) - 1  # right-closed ((m-1)/M, m/M], 0 in the first
    return np.clip(b, 0, M - 1)


def binned(c, y, M=15):
    b = bins_of(c, M)
    n = np.bincount(b, minlength=M).astype(float)
    k = np.bincount(b, weights=y, minlength=M)
    cs = np.bincount(b, weights=c, minlength=M)
    return n, k, cs


def ece_plugin(c, y, M=15):
    n, k, cs = binned(c, y, M)
    ok = n > 0
    return float(np.sum(np.abs(k[ok] - cs[ok])) / len(c))


def ece_l2_debiased(c, y, M=15):
    n, k, cs = binned(c, y, M)
    tot = 0.0
    for nb, kb, cb in zip(n, k, cs):
        if nb >= 2:
            acc, conf = kb / nb, cb / nb
            tot += nb / len(c) * ((acc - conf) ** 2 - acc * (1 - acc) / (nb - 1))
    return math.sqrt(max(tot, 0.0))


def ece_debiased(c, y, M=15, draws=10**6, seed=7):
    n, k, cs = binned(c, y, M)
    ok = n > 0
    n, k, cs = n[ok], k[ok], cs[ok]
    acc, conf, w = k / n, cs / n, n / len(c)
    g, s = acc - conf, np.sqrt(acc * (1 - acc) / n)
    ece = float(np.sum(w * np.abs(g)))
    # closed form of E|g + sZ|
    fold = np.array([
        si * math.sqrt(2 / math.pi) * math.exp(-gi * gi / (2 * si * si)) + gi * math.erf(gi / (si * math.sqrt(2)))
        if si > 0 else abs(gi) for gi, si in zip(g, s)])
    closed = 2 * ece - float(np.sum(w * fold))
    # Monte Carlo, as the estimator is usually described
    rng = np.random.default_rng(seed)
    tot = np.zeros(draws)
    for j in range(len(g)):
        tot += w[j] * np.abs(rng.normal(acc[j], s[j], draws) - conf[j])
    mc = 2 * ece - float(tot.mean())
    return closed, mc, float(tot.std(ddof=1) / math.sqrt(draws))


def ece_sweep(c, y):
    order = np.argsort(c, kind="stable")
    cs, ys = c[order], y[order].astype(np.int64)
    N = len(c)

    def monotone(b):
        parts = np.array_split(np.arange(N), b)
        prev = None
        for p in parts:
            kk, sz = int(ys[p].sum()), len(p)
            if prev is not None and prev[0] * sz > kk * prev[1]:
                return False
            prev = (kk, sz)
        return True

    b = 1
    while b < N and monotone(b + 1):
        b += 1
    ece = sum(abs(ys[p].sum() - cs[p].sum()) for p in np.array_split(np.arange(N), b)) / N
    return float(ece), b


def case(name, c, y, sigmas):
    yf = y.astype(float)
    s, v = smece_fit(c, yf)
    closed, mc, se = ece_debiased(c, yf)
    sw, sb = ece_sweep(c, y)
    out = {
        "n": int(len(c)),
        "ece": ece_plugin(c, yf),
        "ece_debiased": closed,
        "ece_debiased_mc": mc,
        "ece_debiased_mc_se": se,
        "ece_l2_debiased": ece_l2_debiased(c, yf),
        "ece_sweep": sw,
        "ece_sweep_bins": sb,
        "smece": v,
        "smece_sigma": s,
        "smece_at": {str(x): smece_at(c, yf, x) for x in sigmas},
    }
    out["curve_acc"], out["curve_dens"] = curve(c, yf, s)
    print(name, json.dumps(out))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261201)
    n = 2000
    c = rng.beta(5, 1.5, n)
    mu = 1 / (1 + np.exp(-0.9 * (np.log(c) - np.log1p(-c))))
    y = (rng.random(n) < mu).astype(np.uint8)
    np.save(os.path.join(OUT, "near_conf.npy"), c)
    np.save(os.path.join(OUT, "near_correct.npy"), y)
    res = {"near": case("near", c, y, [0.01, 0.02, 0.05])}

    z = np.load(os.path.join(HERE, "smece_relplot", "logits.npy")).astype(np.float64)
    lab = np.load(os.path.join(HERE, "smece_relplot", "labels.npy"))
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    res["relplot"] = case("relplot", p.max(1), (p.argmax(1) == lab).astype(np.uint8), [0.05])

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
