"""The module as a guest in a Python host: lsprobe's own thread count
(never NumPy's or PyTorch's), Ctrl-C during a long call, versions."""
import _thread
import threading
import time

import numpy as np
import pytest

import lsprobe
from conftest import THREADS


def test_versions():
    assert lsprobe.library_version == lsprobe.__version__


def test_threads_are_lsprobes_own():
    assert lsprobe.get_threads() == THREADS
    try:
        assert lsprobe.set_threads(1) == THREADS
        assert lsprobe.get_threads() == 1
        rng = np.random.default_rng(12)
        y = rng.integers(0, 5, size=3000)
        z = rng.normal(size=(3000, 5)) + 2 * np.eye(5)[y]
        one = lsprobe.calibration(z, y, bootstrap=200)
        lsprobe.set_threads(2)
        assert lsprobe.calibration(z, y, bootstrap=200) == one  # thread-count independent
    finally:
        lsprobe.set_threads(THREADS)


def test_ctrl_c_stops_a_long_attack(tiny):
    """KeyboardInterrupt (here raised by a timer, as Ctrl-C would) reaches
    the library: the attack stops at its next batch, the exception is raised
    at once, and the next call runs normally."""
    m = lsprobe.load_model(tiny["dir"])
    x = np.repeat(tiny["x"], 200, axis=0)  # 6400 examples
    y = np.repeat(tiny["labels"], 200)
    threading.Timer(0.5, _thread.interrupt_main).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        lsprobe.pgd(m, x, y, [0.05, 0.1, 0.2], steps=100000, batch=64)
    assert time.monotonic() - t0 < 5.0  # a full run would take minutes
    _, info = lsprobe.fgsm(m, tiny["x"], tiny["labels"], 0.1)  # re-armed
    assert info["points"][0]["accuracy"] == 0.28125
