"""The module as a guest in a Python host: lsprobe's own thread count
(never NumPy's or PyTorch's), Ctrl-C during a long call, versions."""
import _thread
import ctypes
import threading
import time

import numpy as np
import pytest

import lsprobe
from lsprobe import _convert
from lsprobe._lib import lib
from conftest import THREADS, without


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


def test_thread_count_limit():
    """Above 1024 threads (the command's --threads limit) the setting is
    refused and kept, in the module and in the library."""
    with pytest.raises(lsprobe.UsageError, match="2000 is above the limit of 1024"):
        lsprobe.set_threads(2000)
    with pytest.raises(lsprobe.UsageError, match="2.5 is not a whole number"):
        lsprobe.set_threads(2.5)  # not 2
    with pytest.raises(lsprobe.UsageError, match="'2' is not a whole number"):
        lsprobe.set_threads("2")  # a string is no count
    with pytest.raises(lsprobe.UsageError, match="-5 threads is negative"):
        lsprobe.set_threads(-5)  # not the default
    assert lsprobe.get_threads() == THREADS
    prev = lib.lsp_threads_set(3)
    try:
        assert lib.lsp_threads_set(1025) == -lsprobe.UsageError.status
        assert b"above the limit" in lib.lsp_errmsg()
        assert lib.lsp_threads_get() == 3
    finally:
        lib.lsp_threads_set(prev)


def test_a_forked_child_computes_on_one_thread():
    """After the parent ran a parallel loss (OpenMP's pool started), a child
    made by fork() (multiprocessing's default on Linux) computes the same
    loss on one thread instead of waiting forever for the parent's pool;
    the parent keeps its thread count."""
    import os
    rng = np.random.default_rng(21)
    z = rng.normal(size=(20000, 10)).astype(np.float32)  # n·k >= 65536: parallel
    y = rng.integers(0, 10, size=20000)
    want = lsprobe.loss(z, y, 0.1)[0]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the loss and the thread count, then leave
        code = 1
        try:
            os.close(r)
            got = lsprobe.loss(z, y, 0.1)[0]
            os.write(w, f"{got!r} {lib.lsp_threads_get()}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(r)
        pytest.fail("the forked child's loss did not finish in 60 s")
    out = os.read(r, 200).decode().split()
    os.close(r)
    assert os.waitstatus_to_exitcode(status) == 0
    assert float(out[0]) == pytest.approx(want, rel=1e-12)
    assert int(out[1]) == 1
    assert lib.lsp_threads_get() == THREADS


def test_an_exception_raised_by_the_call_reaches_the_caller():
    """An exception of the call itself in the worker thread (here ctypes
    refusing a text where lsp_threads_set takes an int) is raised again in
    the calling thread, the call's `release` has run, and no call is left
    counted as running."""
    released = []
    with pytest.raises(ctypes.ArgumentError):
        _convert.interruptible(lib.lsp_threads_set, "two",
                               release=lambda: released.append(1))
    assert released == [1]
    assert _convert._active == 0
    assert lib.lsp_threads_get() == THREADS


def test_ctrl_c_stops_a_bootstrap():
    """KeyboardInterrupt reaches the bootstrap: it stops at its next
    resample, the exception is raised at once, and the next call runs."""
    rng = np.random.default_rng(5)
    y = rng.integers(0, 10, size=200000)
    z = (rng.normal(size=(200000, 10)) + 2 * np.eye(10)[y]).astype(np.float32)
    threading.Timer(0.5, _thread.interrupt_main).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):  # uninterrupted: 30 s and more on 2 threads
        lsprobe.calibration(z, y, bootstrap=200)
    assert time.monotonic() - t0 < 3.0
    assert _convert._active == 0
    small = lsprobe.calibration(z[:500], y[:500], bootstrap=20)  # re-armed
    assert small["bootstrap_resamples"] == 20


def test_ctrl_c_stops_a_long_attack(tiny):
    """KeyboardInterrupt (here raised by a timer, as Ctrl-C would) reaches
    the library: the attack stops at its next batch, the exception is raised
    at once, and the next call runs normally."""
    m = lsprobe.load_model(tiny["dir"])
    x = np.repeat(tiny["x"], 100, axis=0)  # 3200 examples
    y = np.repeat(tiny["labels"], 100)
    threading.Timer(0.5, _thread.interrupt_main).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):  # uninterrupted: about 9 s (3 × 2.9 s)
        lsprobe.pgd(m, x, y, [0.05, 0.1, 0.2], steps=3000, batch=8, full_steps=True)
    assert time.monotonic() - t0 < 2.5  # the library checks after every batch
    _, info = lsprobe.fgsm(m, tiny["x"], tiny["labels"], 0.1)  # re-armed
    assert info["points"][0]["accuracy"] == 0.28125


def test_ctrl_c_at_any_moment_leaves_no_call_running(tiny):
    """Ctrl-C landing anywhere — while the arguments are converted, while
    the worker thread starts, while the library runs — never leaves a call
    running behind the caller's back (it would read freed arrays, and crash
    the interpreter at exit)."""
    m = lsprobe.load_model(tiny["dir"])
    x = np.repeat(tiny["x"], 100, axis=0)
    y = np.repeat(tiny["labels"], 100)
    for delay in np.linspace(0.0, 0.004, 41):
        try:  # uninterrupted, a call takes about 3 s
            threading.Timer(delay, _thread.interrupt_main).start()
            lsprobe.pgd(m, x, y, 0.1, steps=3000, batch=8, full_steps=True)
        except KeyboardInterrupt:
            pass
        assert _convert._active == 0, f"a call still runs after an interrupt at {delay} s"
    _, info = lsprobe.fgsm(m, tiny["x"], tiny["labels"], 0.1)
    assert info["points"][0]["accuracy"] == 0.28125


def test_closing_a_model_under_a_running_call(tiny):
    """close() while another thread attacks the model: the attack finishes
    on the model it started with (the same result as alone), the model is
    freed when it ends, and calls made after close() raise."""
    m = lsprobe.load_model(tiny["dir"])
    x = np.repeat(tiny["x"], 50, axis=0)
    y = np.repeat(tiny["labels"], 50)
    kw = dict(steps=1000, batch=8, full_steps=True)  # about 0.5 s
    want = lsprobe.pgd(m, x, y, 0.1, **kw)
    out = {}
    t = threading.Thread(target=lambda: out.update(got=lsprobe.pgd(m, x, y, 0.1, **kw)))
    t.start()
    deadline = time.monotonic() + 10
    while _convert._active == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert _convert._active == 1, "the attack did not start"
    m.close()
    assert m._m, "freed under a running call"
    with pytest.raises(ValueError, match="already closed"):
        m.logits(tiny["x"])
    t.join()
    assert np.array_equal(out["got"][0], want[0])
    assert without(out["got"][1], "seconds") == without(want[1], "seconds")
    assert not m._m  # freed by the call's end
