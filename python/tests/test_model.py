"""Models from Python: the PyTorch export of tests/data/torch_mlp_tiny
against PyTorch's own dumps (logits, features, the FGSM input, accuracies);
evaluate, fgsm and pgd against `lsprobe eval` and `lsprobe attack --json`
on the same arrays, for that export and for a .lspm trained by the
command; both ONNX exports of tests/data/torch_cnn_tiny against PyTorch;
bad input raises."""
import json
import re

import numpy as np
import pytest

import lsprobe
from conftest import THREADS, save, without


def test_model_against_the_pytorch_dumps(tiny):
    m = lsprobe.load_model(tiny["dir"])
    assert (m.input_size, m.feature_size, m.num_classes) == (8, 16, 3)
    z, f = m.logits(tiny["x"], features=True)
    np.testing.assert_allclose(z, tiny["logits"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f, tiny["features"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(m.logits(tiny["x"].astype(np.float64)), z)
    case = json.loads((tiny["dir"] / "case.json").read_text())
    x_adv, info = lsprobe.fgsm(m, tiny["x"], tiny["labels"], [0.0, 0.1])
    assert np.array_equal(x_adv, tiny["fgsm_eps0.1_x"])  # bitwise, as PyTorch
    assert info["clean_accuracy"] == case["acc_clean"]
    assert info["points"][1]["accuracy"] == case["acc_fgsm_eps0.1"]
    assert m.evaluate(tiny["x"], tiny["labels"])["accuracy"] == case["acc_clean"]
    # images: any (N, ...) shape with input_size values per example
    x4 = tiny["x"].reshape(32, 2, 2, 2)
    np.testing.assert_array_equal(m.logits(x4), z)
    x_adv4, _ = lsprobe.fgsm(m, x4, tiny["labels"], 0.1)
    assert x_adv4.shape == x4.shape and np.array_equal(x_adv4.reshape(32, 8), x_adv)
    # a copy would share the loaded model (freed twice, or used after the
    # other copy closed it: a crash): copies and pickling are refused
    import copy
    import pickle
    for f in (copy.copy, copy.deepcopy, pickle.dumps, lambda a: copy.deepcopy({"m": [a]})):
        with pytest.raises(TypeError, match="cannot be copied or pickled.*load_model"):
            f(m)
    np.testing.assert_array_equal(m.logits(tiny["x"]), z)
    m.close()
    with pytest.raises(ValueError, match="closed"):
        m.logits(tiny["x"])


@pytest.mark.parametrize("attack,args,kw", [
    ("fgsm", [], {}),
    ("fgsm", ["--loss", "margin", "--lo", "-0.5", "--hi", "1.5"],
     {"loss": "margin", "lo": -0.5, "hi": 1.5}),
    ("pgd", ["--steps", "5", "--restarts", "2", "--seed", "3"],
     {"steps": 5, "restarts": 2, "seed": 3}),
    ("pgd", ["--loss", "smoothed", "--smoothing", "0.2", "--full-steps", "--step-size", "0.01"],
     {"loss": "smoothed", "smoothing": 0.2, "full_steps": True, "step_size": 0.01}),
])
def test_attacks_against_the_cli(cli, tmp_path, tiny, attack, args, kw):
    f = save(tmp_path, x=tiny["x"], y=tiny["labels"])
    want = cli("attack", "--model", tiny["dir"], "--x", f["x"], "--labels", f["y"],
               "--attack", attack, "--eps", "0,0.05,0.1", "--adv-out", tmp_path / "adv.npy",
               "--json", *args)
    m = lsprobe.load_model(tiny["dir"])
    x_adv, got = getattr(lsprobe, attack)(m, tiny["x"], tiny["labels"], [0, 0.05, 0.1], **kw)
    # the command adds what it was given and its timing; the rest is equal
    for k in ("model", "transfer_from", "data", "threads", "seconds", "flops"):
        want.pop(k, None)
        got.pop(k, None)
    assert got == want
    assert np.array_equal(x_adv, np.load(tmp_path / "adv.npy"))


def _folder(tmp_path, x_train, y_train, x_test, y_test):
    d = tmp_path / "data"
    d.mkdir()
    save(d, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return d


def test_uint8_pixels_as_the_cli_reads_them(cli, tmp_path):
    """uint8 examples are 8-bit pixels: the command's data loader divides
    them by 255, and so do logits, evaluate and the attacks."""
    rng = np.random.default_rng(31)

    def images(n):
        y = rng.integers(0, 3, size=n)
        x = rng.integers(0, 128, size=(n, 1, 4, 4))
        for i, c in enumerate(y):  # class c: bright pixels in row c
            x[i, 0, c] += 120
        return x.astype(np.uint8), y

    x_train, y_train = images(240)
    x_test, y_test = images(90)
    d = _folder(tmp_path, x_train, y_train, x_test, y_test)
    model = tmp_path / "u8.lspm"
    cli("train", "--data", d, "--hidden", 8, "--epochs", 2, "--smoothing", 0.1, "--threads",
        THREADS, "--quiet", "--out", model, json_out=False)
    want = cli("eval", "--model", model, "--data", d, "--threads", THREADS, "--dump",
               tmp_path / "dump", "--json")
    m = lsprobe.load_model(model)
    z = m.logits(x_test)
    assert np.array_equal(z, np.load(tmp_path / "dump" / "logits.npy"))
    assert np.array_equal(z, m.logits(x_test.astype(np.float32) / np.float32(255)))
    got = m.evaluate(x_test, y_test)
    assert got == without(want, "model", "data", "split", "dump", "calibration_temperature_scaled",
                          "calibration_temperature_note")
    x_adv, info = lsprobe.fgsm(m, x_test, y_test, [0, 0.1])
    assert x_adv.dtype == np.float32 and x_adv.shape == x_test.shape and x_adv.max() <= 1
    assert info["clean_accuracy"] == want["accuracy"]


def test_evaluate_against_the_cli(cli, tmp_path, tiny):
    """The PyTorch export, and a .lspm trained by the command with smoothing
    0.1 (its logit gap is set against that optimum), scored on the same test
    arrays by `lsprobe eval --json` and Model.evaluate."""
    rng = np.random.default_rng(9)
    w = rng.normal(size=(8, 3))
    x_train = rng.random((400, 8), dtype=np.float32)
    x_test = rng.random((150, 8), dtype=np.float32)
    y_train, y_test = (x_train @ w).argmax(1), (x_test @ w).argmax(1)
    d = _folder(tmp_path, x_train, y_train, x_test, y_test)
    cli("train", "--data", d, "--smoothing", 0.1, "--hidden", 16, "--epochs", 3, "--quiet",
        "--out", tmp_path / "m.lspm", json_out=False)
    for model in (tiny["dir"], tmp_path / "m.lspm"):
        want = cli("eval", "--model", model, "--data", d, "--bins", 10, "--bootstrap", 50,
                   "--seed", 4, "--threads", THREADS, "--json")
        got = lsprobe.load_model(model).evaluate(x_test, y_test, bins=10, bootstrap=50, seed=4)
        assert got == without(want, "model", "data", "split", "calibration_temperature_scaled",
                          "calibration_temperature_note")
        assert {"accuracy", "nll", "calibration", "clusters", "logit_gap"} <= got.keys()
        assert "ece_ci" in got["calibration"]
    assert got["smoothing"] == 0.1 and got["logit_gap"]["optimal_gap"] > 0
    assert lsprobe.evaluate(lsprobe.load_model(tmp_path / "m.lspm"), x_test, y_test,
                            val=(x_train[:100], y_train[:100]))["calibration_temperature_scaled"]


def test_models_refuse_bad_input(tmp_path, tiny):
    m = lsprobe.Model(tiny["dir"])
    x, y = tiny["x"], tiny["labels"]
    with pytest.raises(lsprobe.FileError, match="nothere"):
        lsprobe.load_model(tmp_path / "nothere.lspm")
    # a NUL inside a path or an option would cut it short in C: refused
    with pytest.raises(ValueError, match="path .* contains a NUL character"):
        lsprobe.load_model(str(tiny["dir"]) + "\0.bak")
    with pytest.raises(ValueError, match="option loss: .* contains a NUL character"):
        lsprobe.fgsm(m, x, y, 0.1, loss="ce\0margin")
    (tmp_path / "bad.lspm").write_bytes(b"LSPM" + bytes(40))
    with pytest.raises(lsprobe.DataError, match="bad.lspm"):
        lsprobe.load_model(tmp_path / "bad.lspm")
    with pytest.raises(lsprobe.DataError, match="the model takes 8"):
        m.logits(np.zeros((4, 7), dtype=np.float32))
    # no examples: the library's own message, for any example shape
    with pytest.raises(lsprobe.DataError, match=r"empty array \(0 x 8\)"):
        m.logits(np.zeros((0, 2, 4), dtype=np.float32))
    with pytest.raises(lsprobe.DataError, match=r"empty array \(0 x 784\)"):
        m.logits(np.zeros((0, 1, 28, 28)))
    bad = x.copy()
    bad[5, 3] = np.nan
    with pytest.raises(lsprobe.DataError, match="row 5, column 3"):
        m.logits(bad)
    with pytest.raises(lsprobe.DataError, match="row 5, column 3"):
        m.evaluate(bad, y)
    # as `lsprobe attack`: where, the span of x and what to do
    j = int(np.argmax((x * 3 > 1).reshape(-1)))
    with pytest.raises(lsprobe.DataError,
                       match=rf"x: value {x.flat[j] * 3:g} at row {j // 8}, column {j % 8} is "
                       r"outside the bounds lo = 0, hi = 1; x spans "
                       rf"\[{(x * 3).min():g}, {(x * 3).max():g}\]: scale 8-bit pixels"):
        lsprobe.fgsm(m, x * 3, y, 0.1)
    with pytest.raises(lsprobe.DataError, match=r"x: value -0.5 at row 0, column 0 is outside the "
                       r"bounds lo = -0.25, hi = 0.25; x spans \[-0.5, 0.25\]: scale the inputs"):
        lsprobe.fgsm(m, np.r_[[[-0.5] + [0.25] * 7], x[1:] * 0], y, 0.1, lo=-0.25, hi=0.25)
    with pytest.raises(lsprobe.UsageError, match="eps -0.1"):
        lsprobe.fgsm(m, x, y, [0.1, -0.1])
    with pytest.raises(lsprobe.UsageError, match="option steps = '0'"):
        lsprobe.pgd(m, x, y, 0.1, steps=0)
    with pytest.raises(lsprobe.UsageError, match="loss"):
        lsprobe.fgsm(m, x, y, 0.1, loss="hinge")
    with pytest.raises(lsprobe.UsageError, match="needs the option smoothing"):
        lsprobe.fgsm(m, x, y, 0.1, loss="smoothed")
    with pytest.raises(lsprobe.DataError, match="label 3 at index 0"):
        m.evaluate(x, np.r_[3, y[1:]])
    with pytest.raises(ValueError, match="labels but x has 32 rows"):
        lsprobe.fgsm(m, x, y[:10], 0.1)
    with pytest.raises(ValueError, match="eps"):
        lsprobe.fgsm(m, x, y, [])
    # validation labels on which the NLL keeps falling with T (each is its
    # example's least likely class): no scaling, and the reason, where
    # calibration() refuses
    vy = m.logits(x).argmin(1)
    got = m.evaluate(x, y, val=(x, vy))
    assert "calibration_temperature_scaled" not in got
    assert re.match(r"validation x: temperature: the validation NLL has no minimum",
                    got["calibration_temperature_note"])
    assert {k: v for k, v in got.items() if k != "calibration_temperature_note"} == m.evaluate(x, y)
    with pytest.raises(lsprobe.DataError, match="has no minimum"):
        lsprobe.calibration(m.logits(x), y, fit_temperature=(m.logits(x), vy))
    for fn in (lsprobe.fgsm, lsprobe.pgd):
        with pytest.raises(TypeError, match=r"model: expected an lsprobe.Model .* got PosixPath"):
            fn(tiny["dir"], x, y, 0.1)  # a path, not a loaded model
    with pytest.raises(TypeError, match=r"model: expected an lsprobe.Model .* got str"):
        lsprobe.evaluate(str(tiny["dir"]), x, y)
    with pytest.raises(ValueError, match=r"val: expected a pair \(val_x, val_labels\), got "
                       "tuple of length 3"):
        m.evaluate(x, y, val=(x, y, y))


def test_a_cnn_against_the_cli(cli, tmp_path):
    """A small CNN (conv, batch norm, pooling) trained by the command on
    8×8 images: its input shape, logits as `eval --dump` writes them,
    evaluate and both attacks on N×C×H×W arrays, as the command computes
    them."""
    rng = np.random.default_rng(21)

    def images(n):
        x = rng.random((n, 1, 8, 8), dtype=np.float32) * 0.5
        y = rng.integers(0, 3, size=n)
        for i, c in enumerate(y):  # class c: a bright patch in band c
            x[i, 0, 2 * c:2 * c + 3, 2:6] += 0.5
        return x, y

    x_train, y_train = images(300)
    x_test, y_test = images(120)
    d = _folder(tmp_path, x_train, y_train, x_test, y_test)
    cnn = tmp_path / "cnn.lspm"
    cli("train", "--data", d, "--arch", "conv(4,3,p=1) bn relu maxpool(2)", "--smoothing", 0.1,
        "--epochs", 2, "--threads", THREADS, "--quiet", "--out", cnn, json_out=False)
    m = lsprobe.load_model(cnn)
    assert m.input_shape == (1, 8, 8) and m.input_size == 64 and m.num_classes == 3
    assert m.feature_size == 4 * 4 * 4
    want = cli("eval", "--model", cnn, "--data", d, "--threads", THREADS, "--dump",
               tmp_path / "dump", "--json")
    z, f = m.logits(x_test, features=True)
    assert np.array_equal(z, np.load(tmp_path / "dump" / "logits.npy"))
    assert np.array_equal(f, np.load(tmp_path / "dump" / "features.npy"))
    got = m.evaluate(x_test, y_test)
    assert got == without(want, "model", "data", "split", "dump", "calibration_temperature_scaled",
                          "calibration_temperature_note")
    assert got["arch"] == want["arch"] and got["smoothing"] == 0.1
    f = save(tmp_path, x=x_test, y=y_test)
    for attack, kw in (("fgsm", {}), ("pgd", {"steps": 4})):
        want = cli("attack", "--model", cnn, "--x", f["x"], "--labels", f["y"], "--attack", attack,
                   "--eps", "0,0.1", "--threads", THREADS, "--adv-out", tmp_path / "adv.npy",
                   "--json", *(["--steps", 4] if kw else []))
        x_adv, got = getattr(lsprobe, attack)(m, x_test, y_test, [0, 0.1], **kw)
        for k in ("model", "transfer_from", "data", "threads", "seconds", "flops"):
            want.pop(k, None)
            got.pop(k, None)
        assert got == want
        assert x_adv.shape == x_test.shape
        assert np.array_equal(x_adv, np.load(tmp_path / "adv.npy").reshape(x_test.shape))
    # rows, and channels last of one channel, are the same values in the same
    # order; images of another shape with as many values are refused
    assert np.array_equal(m.logits(x_test.reshape(120, 64)), z)
    assert np.array_equal(m.logits(x_test.transpose(0, 2, 3, 1)), z)
    other = x_test.reshape(120, 4, 16)
    for call in (lambda: m.logits(other), lambda: m.evaluate(other, y_test),
                 lambda: lsprobe.fgsm(m, other, y_test, 0.1)):
        with pytest.raises(ValueError, match="takes 1x8x8 inputs but the examples are 4x16"):
            call()


@pytest.mark.parametrize("name", ["model.onnx", "model_bn.onnx"])
def test_an_onnx_cnn_against_pytorch(name):
    """Both ONNX exports of tests/data/torch_cnn_tiny (BN folded, BN kept):
    logits and features against PyTorch's eval-mode dumps; FGSM at eps 0.1
    against PyTorch's FGSM input."""
    from conftest import DATA
    d = DATA / "torch_cnn_tiny"
    x, y = np.load(d / "x.npy"), np.load(d / "labels.npy")
    m = lsprobe.load_model(d / name)
    assert m.input_shape == tuple(x.shape[1:]) and m.num_classes == 4 and m.feature_size == 16
    z, f = m.logits(x, features=True)
    np.testing.assert_allclose(z, np.load(d / "logits_eval.npy"), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(f, np.load(d / "features.npy"), rtol=1e-5, atol=1e-5)
    x_adv, _ = lsprobe.fgsm(m, x, y, 0.1)
    want = np.load(d / "fgsm_eps0.1_x.npy")
    assert x_adv.shape == want.shape and np.array_equal(x_adv, want)  # bitwise, as PyTorch
