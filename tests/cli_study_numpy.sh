#!/usr/bin/env bash
# End-to-end, against NumPy re-implementations written from DESIGN §9:
# a 3-seed study on synthetic data; then, in Python, (1) each cell file
# (OUT/models/*.lspm.cell) is parsed by an independent reader of the byte
# format, its FNV-1a checksum recomputed; (2) each cell's accuracy, NLL, ECE
# and debiased ℓ2 ECE recomputed from the dumped test logits and labels;
# (3) the study's means, per-seed differences and sign agreement recomputed
# from the cells, and the interval of DESIGN §9.4 (the t half-width of the
# per-seed differences with the example level of the shared resamples)
# recomputed from the cells' resamples; (4) the cluster summaries' resamples centred on their point
# values; (5) the calibration errors' per-cell intervals: the cell's stored
# test inversion, the per-model calibration's interval in results.json.
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
OUT="$SCR/s"
expect_exit 0 "study on synthetic data" "$LSP" run --quick --data synthetic --seeds 1,2,3 \
  --smoothing 0,0.1,0.3 --bootstrap 80 --out "$OUT" --threads 2
$PY - "$OUT" <<'PY' && ok "cells, summaries and the study agree with NumPy" || bad "NumPy check"
import glob, json, math, struct, sys
import numpy as np
out = sys.argv[1]
r = json.load(open(out + "/results.json"))
st = r["study"]
names = st["summaries"]
NS = len(names)
assert NS == 13 and names[-2:] == ["temperature", "logit_gap"], names

def fnv1a(b):
    h = 1469598103934665603
    for x in b:
        h ^= x
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h

cells = {}
for path in glob.glob(out + "/models/*.lspm.cell"):
    b = open(path, "rb").read()
    assert b[:8] == b"LSPCELL3"
    assert struct.unpack_from("<Q", b, len(b) - 8)[0] == fnv1a(b[:-8]), "checksum"
    at = 8 + 4096
    eps, = struct.unpack_from("<d", b, at); at += 8
    seed, cached = struct.unpack_from("<QQ", b, at); at += 16
    at += 24  # seconds
    n_test, n_att, n_aa, n_eps = struct.unpack_from("<4Q", b, at); at += 32
    curves = np.frombuffer(b, "<f8", 5 * 32, at).reshape(5, 32); at += 5 * 32 * 8
    curves_t, = struct.unpack_from("<d", b, at)
    at += 8 + 16  # temperature, mask counts
    values = np.frombuffer(b, "<f8", NS, at); at += NS * 8
    B, = struct.unpack_from("<Q", b, at); at += 8
    res = np.frombuffer(b, "<f8", B * NS, at).reshape(B, NS); at += B * NS * 8
    calib_ci, = struct.unpack_from("<Q", b, at); at += 8
    ci = np.frombuffer(b, "<f8", 2 * NS, at).reshape(NS, 2); at += 2 * NS * 8
    assert at + 8 == len(b), "length"
    cells[(eps, seed)] = dict(values=values, res=res, n_test=n_test, B=B, temperature=curves_t,
                              calib_ci=calib_ci, ci=ci)
assert len(cells) == 9 and all(c["B"] == 80 for c in cells.values())

# (2) the summaries from the dumps, float64 throughout
M = 15
for (eps, seed), c in cells.items():
    tag = "eps%g_seed%d" % (eps, seed)
    z = np.load("%s/dumps/%s/logits.npy" % (out, tag)).astype(np.float64)
    y = np.load("%s/dumps/%s/labels.npy" % (out, tag))
    n = len(y)
    zm = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(zm).sum(axis=1))
    conf = 1.0 / np.exp(zm).sum(axis=1)
    correct = (z.argmax(axis=1) == y).astype(np.float64)
    nll = lse - zm[np.arange(n), y]
    m = np.clip(np.ceil(conf * M).astype(int) - 1, 0, M - 1)  # right edges
    ece, d = 0.0, 0.0
    for k in range(M):
        s = m == k
        W = s.sum()
        if W == 0:
            continue
        a, cf = correct[s].mean(), conf[s].mean()
        ece += W / n * abs(a - cf)
        if W >= 2:
            d += W / n * ((a - cf) ** 2 - a * (1 - a) / (W - 1))
    deb = math.sqrt(max(d, 0.0))
    v = c["values"]
    got = dict(zip(names, v))
    assert got["accuracy"] == correct.mean(), (tag, got["accuracy"], correct.mean())
    # the mean logit gap z_y − mean of the other logits
    gap = z[np.arange(n), y] - (z.sum(axis=1) - z[np.arange(n), y]) / (z.shape[1] - 1)
    for key, want in (("nll", nll.mean()), ("ece", ece), ("ece_l2_debiased", deb),
                      ("logit_gap", gap.mean())):
        assert abs(got[key] - want) < 1e-9, (tag, key, got[key], want)
    # the temperature summary is the fitted T the cell and results.json carry
    m = next(x for x in r["models"] if x["tag"] == tag)
    assert got["temperature"] == c["temperature"] == m["calibration_temperature_scaled"]["temperature"]
    # R² and NC1 resamples are centred on the point value (DESIGN §9.2): their
    # mean is it, and the cell's percentile interval holds it
    for key in ("r2_separation", "nc1"):
        j = names.index(key)
        rs = c["res"][:, j]
        assert abs(rs.mean() - v[j]) <= 1e-9 * abs(v[j]), (tag, key, rs.mean(), v[j])
        lo, hi = np.percentile(rs, [2.5, 97.5])
        assert lo <= v[j] <= hi, (tag, key, v[j], lo, hi)
    # (5) the calibration errors' intervals: the per-model calibration's test
    # inversion, stored in the cell and quoted by study.cells; the other
    # summaries store none
    assert c["calib_ci"] == 1 and m["calibration"]["ci_method"] == "inversion"
    sc = next(x for x in st["cells"] if x["eps"] == eps and x["seed"] == seed)
    for key, stage, metric in (("ece", "calibration", "ece"),
                               ("ece_l2_debiased", "calibration", "ece_l2_debiased"),
                               ("ece_t", "calibration_temperature_scaled", "ece")):
        j = names.index(key)
        inf = lambda v: [math.inf if x is None else x for x in v]  # [lo, ∞): JSON null
        want = inf(m[stage][metric + "_ci"])
        got_ci = [float(x) for x in c["ci"][j]]
        assert got_ci == want and inf([sc["lo"][j], sc["hi"][j]]) == want, (tag, key, got_ci, want)
    assert np.isnan(np.delete(c["ci"], [names.index(k) for k in ("ece", "ece_l2_debiased", "ece_t")], 0)).all()

# (3) the study from the cells: Δ ± √(h_seeds² + h_examples²) (DESIGN §9.4)
cmp = {(x["summary"], x["eps"]): x for x in st["comparisons"]}
T2 = 4.302652729911275  # t quantile 0.975, 2 degrees of freedom
for eps in (0.1, 0.3):
    seeds = [1, 2, 3]
    for j, key in enumerate(names):
        a = np.array([cells[(eps, s)]["values"][j] for s in seeds])
        b = np.array([cells[(0.0, s)]["values"][j] for s in seeds])
        x = cmp[(key, eps)]
        if np.isnan(a).any():
            assert x["diff"] is None
            continue
        assert abs(x["mean"] - a.mean()) < 1e-12 and abs(x["mean_base"] - b.mean()) < 1e-12
        assert max(abs(p - q) for p, q in zip(x["per_seed"], a - b)) < 1e-12
        d = a - b
        agree = bool((d > 0).all() or (d < 0).all()) and np.sign(d.mean()) == np.sign(d[0])
        assert x["seeds_agree"] == agree, (key, eps)
        ra = np.stack([cells[(eps, s)]["res"][:, j] for s in seeds])  # seeds × B
        rb = np.stack([cells[(0.0, s)]["res"][:, j] for s in seeds])
        D = (ra - rb).mean(axis=0)
        D = D[~np.isnan(D)]
        q = np.percentile(D, [2.5, 97.5])
        hx = (q[1] - q[0]) / 2
        hs = T2 * d.std(ddof=1) / math.sqrt(3)
        h = math.sqrt(hs * hs + hx * hx)
        tol = 1e-9 * max(abs(h), 1e-3)
        assert abs(x["half_example"] - hx) < tol and abs(x["half_seed"] - hs) < tol, (key, eps)
        assert abs(x["ci"][0] - (x["diff"] - h)) < tol and abs(x["ci"][1] - (x["diff"] + h)) < tol, \
            (key, eps, x["ci"], h)
print("   9 cells, 13 summaries, 2 smoothed ε checked")
PY
finish
