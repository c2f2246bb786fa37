"""lsprobe — what label smoothing does to a classifier, from Python.

NumPy arrays in and out of liblsprobe (the C library of the lsprobe
command), through ctypes: no compiled extension.

    import lsprobe
    loss, grad = lsprobe.loss(logits, labels, eps=0.1)      # = F.cross_entropy(..., label_smoothing=0.1)
    cal = lsprobe.calibration(logits, labels, bins=15, bootstrap=1000)
    cal["ece"], cal["ece_ci"]
    lsprobe.clusters(features, labels)["nc1"]
    lsprobe.logit_gap(logits, labels, smoothing=0.1)["optimal_gap"]
    model = lsprobe.load_model("model.lspm")
    x_adv, info = lsprobe.fgsm(model, x, labels, eps=[0.05, 0.1])

Results are dicts with the names of ``lsprobe <command> --json`` and
results.json (docs/DESIGN.md §4). Bad input raises an exception carrying the
library's message: DataError (bad data), UsageError (a bad setting), both
ValueErrors; FileError (an OSError) for files that cannot be read; TypeError
or ValueError from Python for a wrong dtype or shape.

Long calls (evaluate, attacks, bootstrap intervals) run in a worker thread
so that Ctrl-C stops the library and raises KeyboardInterrupt.
set_threads(n) chooses lsprobe's thread count (it never changes NumPy's or
PyTorch's).

The library is found through LSPROBE_LIBRARY, then next to the package,
then the system loader path (lsprobe._lib says how).
"""
from ._convert import (DataError, Error, FileError, Interrupted, OutOfMemory, UsageError,
                       get_threads, set_threads)
from ._lib import path as library_path
from ._lib import version as library_version
from .analysis import calibration, clusters, logit_gap, loss, optimal_gap
from .model import Model, evaluate, fgsm, load_model, pgd

__version__ = "0.1.0"

__all__ = [
    "DataError", "Error", "FileError", "Interrupted", "Model", "OutOfMemory", "UsageError",
    "calibration", "clusters", "evaluate", "fgsm", "get_threads", "library_path",
    "library_version", "load_model", "logit_gap", "loss", "optimal_gap", "pgd", "set_threads",
]
