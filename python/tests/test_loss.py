"""lsprobe.loss against PyTorch (a stored dump, and live torch when
python3-torch is installed) and against `lsprobe loss --json --grad-out`."""
import json
import math
import warnings

import numpy as np
import pytest

import lsprobe
from conftest import DATA, save


def test_loss_against_the_pytorch_dump():
    d = DATA / "lsce_n1024_k10_eps0.1"
    z, y, g = (np.load(d / f) for f in ("logits.npy", "labels.npy", "grad.npy"))
    case = json.loads((d / "case.json").read_text())
    loss, grad = lsprobe.loss(z, y, 0.1)
    assert loss == pytest.approx(case["loss_f64_numpy"], rel=1e-6)
    np.testing.assert_allclose(grad, g, rtol=1e-4, atol=1e-8)
    assert grad.dtype == np.float32 and grad.shape == z.shape


@pytest.mark.parametrize("eps", [0.0, 0.05, 0.1, 0.3, 1.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_against_torch(eps, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(int(eps * 100) + (dtype == np.float64))
    z = (rng.normal(size=(257, 7)) * 3).astype(dtype)
    y = rng.integers(0, 7, size=257)
    loss, grad = lsprobe.loss(z, y, eps)
    t = torch.tensor(z.astype(np.float32), requires_grad=True)
    ref = torch.nn.functional.cross_entropy(t, torch.tensor(y), label_smoothing=eps)
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-5)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_t2t_and_normalize_by_formula():
    """t2t puts eps/(K-1) on each wrong class; normalize subtracts H(q)."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(50, 5)).astype(np.float64)
    y = rng.integers(0, 5, size=50)
    eps, k = 0.2, 5
    q = np.full((50, k), eps / (k - 1))
    q[np.arange(50), y] = 1 - eps
    lse = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
    want = np.mean(lse - (q * z).sum(1))
    h = -(q[0] * np.log(q[0])).sum()
    loss, grad = lsprobe.loss(z, y, eps, "t2t")
    assert loss == pytest.approx(want, rel=1e-6)
    p = np.exp(z - lse[:, None])
    np.testing.assert_allclose(grad, (p - q) / 50, rtol=1e-5, atol=1e-8)
    assert lsprobe.loss(z, y, eps, "t2t", normalize=True)[0] == pytest.approx(want - h, rel=1e-6)
    assert lsprobe.optimal_gap(0.1, 10) == pytest.approx(math.log(91))
    assert lsprobe.optimal_gap(0.0, 10) == math.inf
    assert lsprobe.optimal_gap(1.0, 10, "t2t") == -math.inf
    assert lsprobe.optimal_gap(0.1, 2, "t2t") == pytest.approx(math.log(9))


@pytest.mark.parametrize("eps,k,match", [(0.1, 1, "at least 2 classes"),
                                         (0.1, 0, "at least 2 classes"),
                                         (0.1, -3, "at least 2 classes"),
                                         (2.0, 10, r"eps = 2 is outside \[0, 1\]"),
                                         (-0.1, 10, r"outside \[0, 1\]"),
                                         (math.nan, 10, r"outside \[0, 1\]"),
                                         # not truncated to 2, not wrapped to 3 by size_t
                                         (0.1, 2.5, "not a whole number"),
                                         (0.1, 2**64 + 3, "too large"),
                                         (0.1, 10**400, "too large"),  # not OverflowError
                                         (0.1, "10", "not a whole number")])
def test_optimal_gap_refuses_what_loss_refuses(eps, k, match):
    with pytest.raises(lsprobe.UsageError, match=match):
        lsprobe.optimal_gap(eps, k)


@pytest.mark.parametrize("conv,norm", [("uniform", False), ("t2t", True)])
def test_loss_against_the_cli(cli, tmp_path, conv, norm):
    rng = np.random.default_rng(11)
    z = rng.normal(size=(300, 10)).astype(np.float32)
    y = rng.integers(0, 10, size=300)
    f = save(tmp_path, z=z, y=y)
    args = ["loss", "--logits", f["z"], "--labels", f["y"], "--smoothing", "0.1",
            "--convention", conv, "--grad-out", tmp_path / "g.npy", "--json"]
    want = cli(*args, *(["--normalize"] if norm else []))
    loss, grad = lsprobe.loss(z, y, 0.1, conv, normalize=norm)
    assert loss == want["loss"]
    assert np.array_equal(grad, np.load(tmp_path / "g.npy"))


def test_loss_refuses_bad_input():
    z = np.zeros((4, 3), dtype=np.float32)
    y = np.array([0, 1, 2, 1])
    bad = z.copy()
    bad[2, 1] = np.nan
    with pytest.raises(lsprobe.DataError, match="row 2, column 1"):
        lsprobe.loss(bad, y)
    with pytest.raises(lsprobe.DataError, match="label 3 at row 3"):
        lsprobe.loss(z, [0, 1, 2, 3])
    with pytest.raises(lsprobe.DataError, match="negative|out of range"):
        lsprobe.loss(z, [0, -1, 2, 1])
    with pytest.raises(lsprobe.UsageError, match=r"eps = 1.5 is outside \[0, 1\]"):
        lsprobe.loss(z, y, 1.5)
    with pytest.raises(ValueError, match="convention"):
        lsprobe.loss(z, y, 0.1, "label")
    # eps=True is not full smoothing: refused, as the options refuse booleans
    with pytest.raises(TypeError, match="eps = True: expected a number, not a boolean"):
        lsprobe.loss(z, y, True)
    with pytest.raises(TypeError, match="eps = True: expected a number, not a boolean"):
        lsprobe.optimal_gap(True, 10)
    with pytest.raises(TypeError, match="dtype complex"):
        lsprobe.loss(z.astype(np.complex64), y)
    with pytest.raises(TypeError, match="dtype <U"):
        lsprobe.loss(np.array([["a", "b"]]), [0])
    with pytest.raises(ValueError, match="2-D"):
        lsprobe.loss(z[0], y[:1])
    with pytest.raises(ValueError, match="5 labels but logits has 4 rows"):
        lsprobe.loss(z, [0, 1, 2, 1, 0])
    with pytest.raises(ValueError, match="one-hot"):
        lsprobe.loss(z, np.eye(3)[[0, 1, 2, 1]])
    with pytest.raises(lsprobe.DataError, match="not an integer"):
        lsprobe.loss(z, [0, 1.5, 2, 1])
    with pytest.raises(lsprobe.DataError, match="out of range"):
        lsprobe.loss(z, np.array([0, 1, 2, 2**32 + 1], dtype=np.int64))
    with pytest.raises(TypeError, match="integer class indices"):
        lsprobe.loss(z, np.array([True, False, True, False]))
    with pytest.raises(lsprobe.UsageError, match="at least 2 classes"):
        lsprobe.loss(np.zeros((4, 1), dtype=np.float32), [0, 0, 0, 0])
    # float64 beyond float32's range is named before the cast, without a
    # NumPy overflow warning; values that fit are read as float32
    big = np.zeros((4, 3))
    big[1, 2] = -1e39
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(lsprobe.DataError,
                           match=r"logits: value -1e\+39 at row 1, column 2 does not fit float32"):
            lsprobe.loss(big, y)
    big[1, 2] = np.finfo(np.float32).max
    assert np.isfinite(lsprobe.loss(big, y)[0])
