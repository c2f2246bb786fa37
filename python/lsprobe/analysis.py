"""The loss and the analyses of arrays from any framework (docs/DESIGN.md §2).

Each analysis returns a dict with the names of ``lsprobe <command> --json``
(the names of results.json, docs/DESIGN.md §4).
"""
import ctypes
import math

import numpy as np

from . import _convert as cv
from ._lib import LS, lib

_CONVENTIONS = {"uniform": 0, "t2t": 1}


def _convention(c):
    try:
        return _CONVENTIONS[c]
    except (KeyError, TypeError):
        raise ValueError(f"convention {c!r}: expected 'uniform' (PyTorch) or 't2t'") from None


def _eps(eps):
    """The smoothing eps as a float; a boolean is refused (eps=True would
    silently mean full smoothing), as the options refuse it."""
    if isinstance(eps, (bool, np.bool_)):
        raise TypeError(f"eps = {eps!r}: expected a number, not a boolean")
    return float(eps)


def loss(logits, labels, eps=0.0, convention="uniform", *, normalize=False):
    """Label-smoothed cross-entropy of N x K logits and its gradient.

    Returns ``(loss, grad)``: the mean loss over the rows (a float) and its
    gradient with respect to the logits, (p - q)/N, an N x K float32 array —
    PyTorch's ``F.cross_entropy(logits, labels, label_smoothing=eps)`` and
    its ``.grad`` for the uniform convention. ``convention="t2t"`` spreads
    eps over the K - 1 wrong classes (tensor2tensor); ``normalize=True``
    subtracts the target's entropy so the minimum is 0. float32 C-ordered
    logits are read in place; other dtypes are converted to float32.
    """
    z, m = cv.matrix("logits", logits)
    y = cv.labels("labels", labels, m.rows, "logits")
    ls = LS(_eps(eps), _convention(convention), int(bool(normalize)))
    grad = np.empty((m.rows, m.cols), dtype=np.float32)
    mean = ctypes.c_double()
    cv.direct(lib.lsp_loss_xent, z.ctypes.data, y.ctypes.data, m.rows, m.cols, ctypes.byref(ls),
              grad.ctypes.data, 1.0 / max(m.rows, 1), None, ctypes.byref(mean))
    return mean.value, grad


def optimal_gap(eps, k, convention="uniform"):
    """The logit gap z_y - z_j at which the smoothed loss is minimal
    (inf for eps = 0; -inf for t2t at eps = 1). UsageError, as loss(), for
    eps outside [0, 1] or fewer than 2 classes."""
    ls = LS(_eps(eps), _convention(convention), 0)
    k = cv.whole_number(k, "K, the number of classes")
    if k < 2:
        raise cv.UsageError(f"need at least 2 classes (K = {k})")
    if k > np.iinfo(np.int64).max:  # a size_t would wrap it silently
        raise cv.UsageError(f"K = {k} classes is too large")
    gap = lib.lsp_ls_optimal_gap(ctypes.byref(ls), k)
    if math.isnan(gap):  # settings the library refuses; the reason is its message
        raise cv.UsageError(lib.lsp_errmsg().decode("utf-8", "replace"))
    return gap


def calibration(logits=None, labels=None, bins=15, *, probs=None, edges="right",
                binning="width", bootstrap=0, seed=1, fit_temperature=None):
    """Calibration of N x K logits (or ``probs=P``, probabilities) with labels.

    Returns a dict with accuracy, nll, brier, ece, mce, rmsce, ace,
    classwise_ece, over_confidence, under_confidence, temperature, the
    per-bin table ``bins`` [{count, confidence, accuracy}] (None for an
    empty bin), and with ``bootstrap=B`` the 95% intervals ``<metric>_ci``.
    ``fit_temperature=(val_logits, val_labels)`` fits T on validation logits
    and adds ``temperature_scaled``: every metric at T. float64 input is
    kept in double; float32 C-ordered input is read in place.
    """
    if (logits is None) == (probs is None):
        raise ValueError("calibration: give exactly one of logits and probs=")
    if labels is None:
        raise ValueError("calibration: labels are required")
    name = "logits" if probs is None else "probs"
    x, m = cv.matrix(name, logits if probs is None else probs, keep_f64=True)
    y = cv.labels("labels", labels, m.rows, name)
    vz, vm, vy = None, None, None
    if fit_temperature is not None:
        vz, vlab = cv.pair("fit_temperature", fit_temperature, "(val_logits, val_labels)")
        vz, vm = cv.matrix("validation logits", vz, keep_f64=True)
        vy = cv.labels("validation labels", vlab, vm.rows, "validation logits")
    o = cv.Opts(input=None if probs is None else "probs", bins=bins, edges=edges,
                binning=binning, bootstrap=bootstrap, seed=seed)
    return cv.result(lib.lsp_calib_measure, ctypes.byref(m), y.ctypes.data,
                     None if vm is None else ctypes.byref(vm), cv.pointer(vy), o.ptr,
                     keep=(x, y, vz, vy, o))


def clusters(features, labels):
    """Penultimate-layer cluster geometry of N x H features with labels:
    r2_separation, trace_ratio, nc1, per-class counts and tightness,
    class-mean distances (``lsprobe clusters --json``): the ten closest
    class pairs (``closest_pairs``) and, up to 100 classes, the K x K
    tables (``mean_distances``, ``mean_cosine_distances``; None beyond)."""
    x, m = cv.matrix("features", features, keep_f64=True)
    y = cv.labels("labels", labels, m.rows, "features")
    return cv.result(lib.lsp_clusters_measure, ctypes.byref(m), y.ctypes.data, None,
                     keep=(x, y))


def logit_gap(logits, labels, smoothing=None, convention="uniform"):
    """The logit gap z_y - mean of the other logits and the predictive
    entropy (summaries ``logit_gap`` and ``entropy``), against the optimal
    gap of ``smoothing`` (eps) when given."""
    z, m = cv.matrix("logits", logits, keep_f64=True)
    y = cv.labels("labels", labels, m.rows, "logits")
    _convention(convention)  # checked even when unused (no smoothing: no optimum)
    conv = None if smoothing is None else convention
    o = cv.Opts(smoothing=smoothing, convention=conv)
    return cv.result(lib.lsp_logitgap_measure, ctypes.byref(m), y.ctypes.data, o.ptr,
                     keep=(z, y, o))
