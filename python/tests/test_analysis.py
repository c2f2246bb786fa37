"""lsprobe.calibration, clusters and logit_gap against `lsprobe calib`,
`clusters` and `logitgap --json` on the same arrays, and against numbers
computed here from the formulas of docs/DESIGN.md §2; bad input raises; and
C-ordered float32 input is read in place, not copied."""
import tracemalloc

import numpy as np
import pytest

import lsprobe
from conftest import THREADS, save, without


def _informative(n, k, seed, scale=2.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    z = rng.normal(size=(n, k)) + scale * np.eye(k)[y]
    return z, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("extra", [{}, {"bins": 10, "edges": "left"}, {"binning": "mass"},
                                   {"bootstrap": 200, "seed": 7}])
def test_calibration_against_the_cli(cli, tmp_path, dtype, extra):
    z, y = _informative(500, 6, 1)
    z = z.astype(dtype)
    f = save(tmp_path, z=z, y=y)
    args = ["calib", "--logits", f["z"], "--labels", f["y"], "--json"]
    for k, v in extra.items():
        args += [f"--{k}", v]
    want = without(cli(*args), "logits", "labels")
    assert lsprobe.calibration(z, y, **extra) == want


def test_calibration_temperature_and_probs_against_the_cli(cli, tmp_path):
    z, y = _informative(400, 5, 2, scale=3.0)
    vz, vy = _informative(300, 5, 3, scale=3.0)
    f = save(tmp_path, z=z.astype(np.float32), y=y, vz=vz.astype(np.float32), vy=vy)
    want = cli("calib", "--logits", f["z"], "--labels", f["y"], "--fit-temperature", f["vz"],
               f["vy"], "--bootstrap", 100, "--json")
    got = lsprobe.calibration(z.astype(np.float32), y, fit_temperature=(vz.astype(np.float32), vy),
                              bootstrap=100)
    assert got == without(want, "logits", "labels", "temperature_fitted_on")
    assert got["temperature_scaled"]["temperature"] != 1.0
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    f = save(tmp_path, p=p, y=y)
    want = cli("calib", "--probs", f["p"], "--labels", f["y"], "--json")
    assert lsprobe.calibration(probs=p, labels=y) == without(want, "probs", "labels")


def test_calibration_by_the_formulas():
    """Top-label ECE with 15 equal-width right-closed bins, accuracy, NLL
    and Brier computed here in float64."""
    z, y = _informative(1000, 4, 4)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    conf, pred = p.max(1), p.argmax(1)
    correct = pred == y
    b = np.clip(np.ceil(conf * 15).astype(int) - 1, 0, 14)
    ece = sum(abs(correct[b == m].mean() - conf[b == m].mean()) * (b == m).mean()
              for m in range(15) if (b == m).any())
    r = lsprobe.calibration(z, y)
    assert r["ece"] == pytest.approx(ece, rel=1e-12)
    assert r["accuracy"] == correct.mean()
    assert r["nll"] == pytest.approx(-np.log(p[np.arange(1000), y]).mean(), rel=1e-12)
    assert r["brier"] == pytest.approx(((p - np.eye(4)[y]) ** 2).sum(1).mean(), rel=1e-12)
    assert [c["count"] for c in r["bins"]] == np.bincount(b, minlength=15).tolist()


def test_calibration_refuses_bad_input():
    z, y = _informative(20, 3, 5)
    p = np.full((20, 3), 1 / 3)
    with pytest.raises(lsprobe.DataError, match="probabilities"):
        lsprobe.calibration(p, y)
    bad = z.copy()
    bad[4, 2] = np.inf
    with pytest.raises(lsprobe.DataError, match="row 4, column 2"):
        lsprobe.calibration(bad, y)
    with pytest.raises(lsprobe.DataError, match="label 3 at index 0 is out of range"):
        lsprobe.calibration(z, np.r_[3, y[1:]])
    with pytest.raises(lsprobe.UsageError, match="option bins = '0'"):
        lsprobe.calibration(z, y, bins=0)
    with pytest.raises(TypeError, match="option bins = True: expected a number, not a boolean"):
        lsprobe.calibration(z, y, bins=True)  # not one bin
    # a whole float is that count (as optimal_gap's K), a fraction is refused
    assert lsprobe.calibration(z, y, bins=10.0, bootstrap=np.float64(20), seed=3.0) == \
        lsprobe.calibration(z, y, bins=10, bootstrap=20, seed=3)
    with pytest.raises(lsprobe.UsageError, match="option bins = '10.5' is not a whole number"):
        lsprobe.calibration(z, y, bins=10.5)
    with pytest.raises(lsprobe.UsageError, match="edges"):
        lsprobe.calibration(z, y, edges="middle")
    with pytest.raises(lsprobe.UsageError, match="needs logits"):
        lsprobe.calibration(probs=p, labels=y, fit_temperature=(z, y))
    with pytest.raises(lsprobe.DataError, match="validation logits: temperature"):
        lsprobe.calibration(z, y, fit_temperature=(np.zeros((20, 3)), y))
    with pytest.raises(ValueError, match=r"fit_temperature: expected a pair \(val_logits, "
                       r"val_labels\), got ndarray"):
        lsprobe.calibration(z, y, fit_temperature=z)
    with pytest.raises(ValueError, match="convention 'bogus'"):
        lsprobe.logit_gap(z, y, convention="bogus")
    with pytest.raises(ValueError, match="exactly one"):
        lsprobe.calibration(z, y, probs=p)
    with pytest.raises(lsprobe.DataError, match="probs.*sum"):
        lsprobe.calibration(probs=p * 2, labels=y)


def test_clusters_against_the_cli(cli, tmp_path):
    rng = np.random.default_rng(5)
    y = rng.integers(0, 4, size=300)
    h = np.maximum(rng.normal(size=(300, 12)) + 2 * np.eye(4, 12)[y], 0).astype(np.float32)
    h[7] = 0  # an all-zero (dead) row is counted and left out
    f = save(tmp_path, h=h, y=y)
    want = without(cli("clusters", "--features", f["h"], "--labels", f["y"], "--threads", THREADS,
                       "--json"),
                   "features", "template_accuracy", "projection")
    got = lsprobe.clusters(h, y)
    assert got == want
    assert got["n_zero_rows"] == 1


def test_clusters_toy_of_the_design():
    """DESIGN §2: class 0 = {(1,0),(1,0.2)}, class 1 = {(0,1),(0.2,1)}."""
    r = lsprobe.clusters([[1, 0], [1, 0.2], [0, 1], [0.2, 1]], [0, 0, 1, 1])
    assert r["r2_separation"] == pytest.approx(0.976187, abs=1e-6)
    assert r["nc1"] == pytest.approx(0.006173, abs=1e-6)
    with pytest.raises(lsprobe.DataError, match="at least 2 classes"):
        lsprobe.clusters([[1, 0], [0, 1]], [0, 0])
    with pytest.raises(lsprobe.DataError, match="non-finite value .nan. at row 1, column 0"):
        lsprobe.clusters([[1, 0], [np.nan, 1]], [0, 1])


@pytest.mark.parametrize("eps,conv", [(None, None), (0.1, "uniform"), (0.1, "t2t"), (0.0, "uniform")])
def test_logit_gap_against_the_cli(cli, tmp_path, eps, conv):
    z, y = _informative(400, 10, 6)
    z = z.astype(np.float32)
    f = save(tmp_path, z=z, y=y)
    args = ["logitgap", "--logits", f["z"], "--labels", f["y"], "--json"]
    if eps is not None:
        args += ["--smoothing", eps, "--convention", conv]
    want = without(cli(*args), "logits")
    got = lsprobe.logit_gap(z, y, smoothing=eps, convention=conv or "uniform")
    assert got == want
    gap = z[np.arange(400), y] - (z.sum(1) - z[np.arange(400), y]) / 9
    assert got["logit_gap"]["mean"] == pytest.approx(gap.astype(np.float64).mean(), rel=1e-6)
    assert got["logit_gap"]["median"] == pytest.approx(np.median(gap), rel=1e-5)


def test_float32_input_is_not_copied():
    """A 4000 x 500 float32 matrix (8 MB) and its float64 twin go to the
    library in place: the calls allocate far less than one copy (tracemalloc
    sees NumPy's allocations)."""
    z, _ = _informative(4000, 500, 7)
    y = np.random.default_rng(8).integers(0, 10, size=4000)  # K x K results stay small
    for arr, fn in [(z.astype(np.float32), lambda a: lsprobe.logit_gap(a, y)),
                    (z.astype(np.float32), lambda a: lsprobe.clusters(a, y)),
                    (z, lambda a: lsprobe.calibration(a, y)),
                    (z.astype(np.float32), lambda a: lsprobe.calibration(a, y))]:
        tracemalloc.start()
        fn(arr)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < arr.nbytes / 8, f"{arr.dtype}: {peak} bytes allocated"
    # a float64 array where float32 is read is converted (one copy), as documented
    tracemalloc.start()
    lsprobe.loss(z, y, 0.1)  # the float32 copy and the float32 gradient
    assert tracemalloc.get_traced_memory()[1] >= 0.9 * z.nbytes
    tracemalloc.stop()
    # the logit gap reads float64 as it is (no copy)
    tracemalloc.start()
    lsprobe.logit_gap(z, y)
    assert tracemalloc.get_traced_memory()[1] < z.nbytes / 8
    tracemalloc.stop()


def test_float64_logits_and_features_as_given():
    """Gaps of 4 and 10 on float64 logits of 1e8 and 3e8 (a float32 copy
    rounds them to multiples of 8 and 32), logits past float32's range, and
    a float64 feature row that is all zero in float32 refused by name."""
    z = np.array([[1e8, 1e8 + 4, 1e8], [3e8, 3e8 + 10, 3e8]])
    g = lsprobe.logit_gap(z, [1, 1])["logit_gap"]
    assert (g["min"], g["max"]) == (4.0, 10.0)
    # float64 in the other byte order (np.load of a '>f8' file) and long
    # double are float64 too: read in double, not rounded to float32
    for other in (z.astype(">f8"), z.astype(np.longdouble)):
        g = lsprobe.logit_gap(other, [1, 1])["logit_gap"]
        assert (g["min"], g["max"]) == (4.0, 10.0), other.dtype
    rng = np.random.default_rng(3)
    w, wy = rng.normal(size=(300, 4)) * 1e3, rng.integers(0, 4, 300)
    want = lsprobe.calibration(w, wy)
    assert lsprobe.calibration(w.astype(">f8"), wy) == want
    assert lsprobe.calibration(w.astype(np.longdouble), wy) == want
    if np.finfo(np.longdouble).max > np.finfo(np.float64).max:
        huge = np.zeros((2, 3), dtype=np.longdouble)
        huge[1, 0] = np.longdouble(1e300) * np.longdouble(1e300)
        with pytest.raises(lsprobe.DataError,
                           match=r"logits: value .* at row 1, column 0 does not fit float64"):
            lsprobe.logit_gap(huge, [0, 1])
    assert lsprobe.logit_gap([[1e300, 3e300, -1e300]], [1])["logit_gap"]["mean"] == \
        pytest.approx(3e300, rel=1e-15)
    h = np.array([[1, 0], [1, 0.2], [0, 1], [0.2e-50, 1e-50]])
    with pytest.raises(lsprobe.DataError, match=r"features: row 3 .largest \|value\| 1e-50. is all zero"):
        lsprobe.clusters(h, [0, 0, 1, 1])


def test_unaligned_arrays_reach_the_library_aligned():
    """float32/float64 logits and int32 labels that are views of a byte
    buffer at an odd offset (C-contiguous, but not aligned) are copied to
    aligned memory before C reads them, and give the results of the aligned
    arrays."""
    from lsprobe import _convert

    def unaligned(a):
        buf = bytearray(a.nbytes + 1)
        u = np.frombuffer(buf, dtype=a.dtype, offset=1, count=a.size).reshape(a.shape)
        u[...] = a
        assert u.flags.c_contiguous and not u.flags.aligned
        return u
    z, y = _informative(300, 5, 9)
    y32 = y.astype(np.int32)
    for dt in (np.float32, np.float64):
        zu, yu = unaligned(z.astype(dt)), unaligned(y32)
        a, m = _convert.matrix("logits", zu, keep_f64=True)
        assert m.data % a.dtype.itemsize == 0 and np.array_equal(a, zu)
        lab = _convert.labels("labels", yu, 300, "logits")
        assert lab.ctypes.data % 4 == 0 and np.array_equal(lab, y32)
        assert lsprobe.calibration(zu, yu) == lsprobe.calibration(z.astype(dt), y32)
        assert lsprobe.loss(zu, yu, 0.1)[0] == lsprobe.loss(z.astype(dt), y32, 0.1)[0]
