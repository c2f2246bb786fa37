"""Shared fixtures of the Python tests (run by tests/python.sh from ctest,
and so by scripts/test).

Environment: LSPROBE_LIBRARY (the liblsprobe.so under test; lsprobe/_lib.py)
and LSPROBE_CLI (the lsprobe command of the same build, whose --json output
each function is compared with). A skipped test makes the session exit 77,
which ctest reports as skipped, never as passed."""
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import lsprobe

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
# The comparisons with the command give it the same thread count (--threads
# THREADS); tests/python.sh runs OpenBLAS at one thread, as the command keeps
# it, so that matrix products round the same way in both.
THREADS = 2
lsprobe.set_threads(THREADS)


def pytest_sessionfinish(session, exitstatus):
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if exitstatus == 0 and tr is not None and tr.stats.get("skipped"):
        session.exitstatus = 77


@pytest.fixture(scope="session")
def cli():
    exe = os.environ.get("LSPROBE_CLI", str(ROOT / "build" / "release" / "lsprobe"))
    if not os.access(exe, os.X_OK):
        pytest.fail(f"LSPROBE_CLI={exe} is not an executable lsprobe")

    def run(*args, json_out=True):
        p = subprocess.run([exe, *map(str, args)], capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError(f"lsprobe {' '.join(map(str, args))}: exit {p.returncode}: "
                                 f"{p.stderr.strip()}")
        return json.loads(p.stdout) if json_out else p.stdout
    return run


@pytest.fixture(scope="session")
def tiny():
    """The PyTorch MLP export of tests/data/torch_mlp_tiny and its dumps."""
    d = DATA / "torch_mlp_tiny"
    return {"dir": d, **{k: np.load(d / f"{k}.npy")
                         for k in ("x", "labels", "logits", "features", "fgsm_eps0.1_x")}}


def without(d, *keys):
    """d without the members that name input files (the CLI prints them)."""
    return {k: v for k, v in d.items() if k not in keys}


def save(tmp, **arrays):
    """Write arrays as tmp/<name>.npy; return the paths by name."""
    out = {}
    for k, v in arrays.items():
        out[k] = tmp / f"{k}.npy"
        np.save(out[k], v)
    return out

