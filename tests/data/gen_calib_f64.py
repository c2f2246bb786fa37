#!/usr/bin/python3
"""Reference cases for calibration of float64 inputs (tests/data/calib_f64/).

Run with /usr/bin/python3 (Debian's python3-numpy, python3-mpmath) from the
repository root:  /usr/bin/python3 tests/data/gen_calib_f64.py

Three cases whose numbers depend on binning exact values exactly; every
expected metric is computed here from the DESIGN §2 formulas with exact
rational arithmetic (fractions) or 60-digit mpmath, never with lsprobe:

forest  a 10-tree-forest-like classifier: every probability is a vote count
        over 10 (float64, the nearest double to v/10, as a random forest's
        predict_proba gives). Many confidences sit exactly on bin edges
        (with 10 bins every tenth is one), and rounding them to float32 (0.2
        becomes 0.2000000030) moves most of them to the next bin.
edge    K = 2 float64 logits whose softmax lies 1e-10 beside a bin edge m/15,
        on the side that rounding the logits to float32 would cross.
tie     K = 8 logits with every row's logits equal (and a few ordinary rows):
        each probability is exactly 1/8, a bin edge for 8 and 16 bins, so the
        top-label confidence and the classwise probabilities must land in the
        same bin.

Each case also asserts that the float32-rounded (or differently computed)
inputs give other metrics, so the case can tell the two apart.
"""
import math
import os
import sys
from fractions import Fraction as F

import mpmath
import numpy as np

mpmath.mp.dps = 60
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calib_f64")
METRICS = ["accuracy", "brier", "ece", "mce", "rmsce", "ace", "classwise_ece",
           "over_confidence", "under_confidence"]


def bin_of(v, m, edges):
    """Equal-width bin of an exact value v in [0, 1] (DESIGN §2)."""
    x = v * m
    if edges == "right":  # ((b-1)/M, b/M], 0 in the first bin
        b = math.ceil(x) - 1
    else:  # [a, b), 1 in the last bin
        b = math.floor(x)
    return min(max(b, 0), m - 1)


def binned_gaps(vals, hits, m, edges):
    """[(count, mean value, mean hit)] of the non-empty bins."""
    cnt = [0] * m
    s = [F(0)] * m
    h = [0] * m
    for v, t in zip(vals, hits):
        b = bin_of(v, m, edges)
        cnt[b] += 1
        s[b] += v
        h[b] += t
    return [(cnt[b], s[b] / cnt[b], F(h[b], cnt[b])) for b in range(m) if cnt[b]]


def metrics(prob, y, m, edges):
    """Every metric of exact probabilities prob[i][k] (Fractions) and labels."""
    n, k = len(prob), len(prob[0])
    conf, correct = [], []
    for p, t in zip(prob, y):
        c = max(p)
        am = p.index(c)  # ties: the lowest index
        conf.append(c)
        correct.append(1 if am == t else 0)
    out = {"accuracy": F(sum(correct), n)}
    ece = mce = ms = over = under = F(0)
    for cnt, cm, acc in binned_gaps(conf, correct, m, edges):
        gap = acc - cm
        w = F(cnt, n)
        ece += w * abs(gap)
        ms += w * gap * gap
        over += w * max(F(0), -gap)
        under += w * max(F(0), gap)
        mce = max(mce, abs(gap))
    out.update(ece=ece, mce=mce, over_confidence=over, under_confidence=under)
    out["rmsce"] = math.sqrt(ms)
    # ACE: stable sort by confidence, first N mod M bins one larger
    order = sorted(range(n), key=lambda i: (conf[i], i))
    base, extra = divmod(n, m)
    ace, pos = F(0), 0
    for b in range(m):
        size = base + (1 if b < extra else 0)
        idx = order[pos:pos + size]
        pos += size
        if size:
            cm = sum(conf[i] for i in idx) / size
            acc = F(sum(correct[i] for i in idx), size)
            ace += F(size, n) * abs(acc - cm)
    out["ace"] = ace
    cw = F(0)
    for c in range(k):
        for cnt, pm, freq in binned_gaps([p[c] for p in prob], [1 if t == c else 0 for t in y],
                                         m, edges):
            cw += F(cnt, n) * abs(freq - pm)
    out["classwise_ece"] = cw / k
    out["brier"] = sum(sum((p[j] - (1 if j == t else 0)) ** 2 for j in range(k))
                       for p, t in zip(prob, y)) / n
    return {key: float(v) for key, v in out.items()}


def npy_save(name, arr):
    np.save(os.path.join(OUT, name), arr)


def differs(a, b, keys, tol=1e-4):
    return any(abs(a[key] - b[key]) > tol for key in keys)


def forest_case(lines):
    rng = np.random.default_rng(4)
    n, k, trees = 400, 4, 10
    # each example has class probabilities q (Dirichlet), its label is drawn
    # from q and each tree votes from q: nearly calibrated, with bin gaps of
    # both signs (so merging two bins changes the ECE)
    y = np.zeros(n, dtype=np.int64)
    votes = np.zeros((n, k), dtype=np.int64)
    for i in range(n):
        q = rng.dirichlet([0.6] * k)
        y[i] = rng.choice(k, p=q)
        for _ in range(trees):
            votes[i, rng.choice(k, p=q)] += 1
    probs = votes.astype(np.float64) / trees  # what predict_proba returns
    assert all(probs[i, j] == float(F(int(votes[i, j]), trees))
               for i in range(n) for j in range(k))
    npy_save("forest_probs.npy", probs)
    npy_save("forest_labels.npy", y.astype(np.int64))
    exact = [[F(int(v), trees) for v in row] for row in votes]
    rounded = [[F(float(np.float32(v))) for v in row] for row in probs]
    for m, edges in ((15, "right"), (10, "right"), (10, "left")):
        want = metrics(exact, list(y), m, edges)
        if (m, edges) == (10, "right"):  # every tenth is an edge of 10 bins
            f32 = metrics(rounded, list(y), m, edges)
            assert differs(want, f32, ["ece", "classwise_ece"]), "forest case insensitive"
            print("forest 10 right: ECE %.4f, classwise ECE %.4f exact; %.4f, %.4f from float32"
                  % (want["ece"], want["classwise_ece"], f32["ece"], f32["classwise_ece"]))
        for key in METRICS:
            lines.append("forest %s %d %s %.17g" % (key, m, edges, want[key]))


def softmax_exact(z):
    zs = [mpmath.mpf(float(v)) for v in z]  # the float64 logits, exactly
    e = [mpmath.exp(v) for v in zs]
    s = mpmath.fsum(e)
    return [v / s for v in e]


def to_fraction(v):
    """An mpmath value as a Fraction (60 digits: far below any gap here)."""
    man, exp = mpmath.mpf(v).man_exp
    return F(int(man)) * (F(2) ** int(exp))


def edge_case(lines):
    rng = np.random.default_rng(7)
    rows, labels = [], []
    delta = 1e-10
    for m in range(1, 15):
        e = m / 15.0
        for side in (1, -1):
            p = e + side * delta
            t = math.log(p / (1.0 - p))  # class-1 logit, class 0 at 0
            t32 = float(np.float32(t))
            crosses = (t32 < t and side > 0) or (t32 > t and side < 0)
            if not crosses or abs(t32 - t) < 1e-9:
                continue
            rows.append([0.0, t])
            labels.append(int(rng.uniform() < p))
    for _ in range(40):  # ordinary rows away from any edge
        rows.append([0.0, float(rng.normal(0, 2))])
        labels.append(int(rng.integers(0, 2)))
    z = np.array(rows, dtype=np.float64)
    y = np.array(labels, dtype=np.int64)
    assert len(rows) > 50
    npy_save("edge_logits.npy", z)
    npy_save("edge_labels.npy", y)
    exact = [[to_fraction(v) for v in softmax_exact(r)] for r in rows]
    z32 = [[float(np.float32(v)) for v in r] for r in rows]
    rounded = [[to_fraction(v) for v in softmax_exact(r)] for r in z32]
    want = metrics(exact, labels, 15, "right")
    f32 = metrics(rounded, labels, 15, "right")
    assert differs(want, f32, ["ece", "classwise_ece"]), "edge case insensitive"
    print("edge 15 right: ECE %.6f exact, %.6f from float32 logits" % (want["ece"], f32["ece"]))
    nll = mpmath.fsum(-mpmath.log(softmax_exact(r)[t]) for r, t in zip(rows, labels)) / len(rows)
    for key in METRICS:
        lines.append("edge %s 15 right %.17g" % (key, want[key]))
    lines.append("edge nll 15 right %.17g" % float(nll))


def tie_case(lines):
    rng = np.random.default_rng(11)
    k = 8
    rows, labels = [], []
    for i in range(24):  # equal logits: every probability exactly 1/8
        rows.append([2.385 * (i % 3)] * k)
        labels.append(i % 2)  # not calibrated: 1/8 against 0 or 1/2
    for _ in range(40):
        rows.append([float(v) for v in rng.normal(0, 1.5, k)])
        labels.append(int(rng.integers(0, k)))
    z = np.array(rows, dtype=np.float64)
    npy_save("tie_logits.npy", z)
    npy_save("tie_labels.npy", np.array(labels, dtype=np.int64))
    exact = []
    for r in rows:
        if len(set(r)) == 1:
            exact.append([F(1, k)] * k)
        else:
            exact.append([to_fraction(v) for v in softmax_exact(r)])
    # the other way to write softmax, exp(z - logsumexp): 1/8 comes out as
    # 0.12500000000000003 and its classwise bin moves up
    other = []
    for r in rows:
        mx = max(r)
        s = sum(math.exp(v - mx) for v in r)
        other.append([F(math.exp((v - mx) - math.log(s))) for v in r])
    for m in (8, 16):
        want = metrics(exact, labels, m, "right")
        alt = metrics(other, labels, m, "right")
        assert differs(want, alt, ["classwise_ece"]), "tie case insensitive"
        for key in METRICS:
            lines.append("tie %s %d right %.17g" % (key, m, want[key]))


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = ["# case metric bins edges value -- written by tests/data/gen_calib_f64.py"]
    forest_case(lines)
    edge_case(lines)
    tie_case(lines)
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
