"""Models: load an lsprobe ``.lspm`` file, an ONNX file or a PyTorch export folder, run it,
evaluate it, attack it (FGSM, PGD) on NumPy inputs."""
import ctypes
import threading

import numpy as np

from . import _convert as cv
from ._lib import lib


# 8-bit pixel v as lsprobe reads it: float32(v) / 255 in float32 (core/data)
_PIXELS = np.arange(256, dtype=np.float32) / np.float32(255)


class Model:
    """A classifier loaded by liblsprobe.

    ``Model(path)`` reads a ``.lspm`` file, an ONNX file or a PyTorch export
    folder (one .npy per state_dict tensor). Inputs are N examples of ``input_size``
    floats each — (N, D) or images (N, C, H, W) in C order — on the scale
    the model was trained on (lsprobe's datasets: pixels in [0, 1]); a
    uint8 array holds 8-bit pixels and is divided by 255, as lsprobe's
    data loader divides them (docs/DESIGN.md §3).
    A model is not to be attacked from two threads at once.
    """

    def __init__(self, path):
        self._m = ctypes.c_void_p()
        self._lock = threading.Lock()
        self._calls = 0       # calls running on the model (in worker threads)
        self._closing = False
        self.path = path
        cv.check(lib.lsp_model_load(cv.path_bytes(path), ctypes.byref(self._m)))

    def close(self):
        """Free the model now (also done when it is garbage-collected). A
        call still running on it in another thread keeps it until it ends;
        new calls raise ValueError."""
        lock = getattr(self, "_lock", None)
        if lock is None:
            return
        with lock:
            self._closing = True
            if self._calls == 0:
                self._free()

    def _free(self):
        if self._m and lib is not None:
            lib.lsp_model_free(self._m)
        self._m = None

    def _hold(self):
        """The model for one long call, kept from close() until _release."""
        with self._lock:
            if self._closing or not self._m:
                raise ValueError("model: already closed")
            self._calls += 1
            return self._m

    def _release(self):
        with self._lock:
            self._calls -= 1
            if self._calls == 0 and self._closing:
                self._free()

    def __del__(self):
        self.close()

    def _no_copy(self, *args):
        # a copy would share the C model: freed twice, or used after the
        # other copy freed it
        raise TypeError(f"lsprobe.Model cannot be copied or pickled (it owns the loaded "
                        f"model): load the file again, lsprobe.load_model({self.path!r})")

    __copy__ = __deepcopy__ = __reduce__ = __reduce_ex__ = _no_copy

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _ptr(self):
        if self._closing or not self._m:
            raise ValueError("model: already closed")
        return self._m

    @property
    def input_size(self):
        """Floats per input example."""
        return lib.lsp_model_input_size(self._ptr())

    @property
    def input_shape(self):
        """One example's shape (C, H, W); a feature vector of D values is
        (D, 1, 1)."""
        shape = (ctypes.c_size_t * 3)()
        lib.lsp_model_input_shape(self._ptr(), shape)
        return tuple(shape)

    @property
    def num_classes(self):
        """Classes K (logits per example)."""
        return lib.lsp_model_class_count(self._ptr())

    @property
    def feature_size(self):
        """Width of the penultimate features (the last layer's input)."""
        return lib.lsp_model_feature_size(self._ptr())

    def __repr__(self):
        if not self._m:
            return f"<lsprobe.Model {self.path!r} (closed)>"
        c, h, w = self.input_shape
        shape = f"{c}x{h}x{w}" if h * w > 1 else f"{c}"
        return (f"<lsprobe.Model {self.path!r}: {shape} inputs, "
                f"{self.feature_size} features, {self.num_classes} classes>")

    def _rows(self, name, x):
        """x as rows, after checking that arrays of images (N x C x H x W,
        N x C x L) have the model's input shape once axes of size 1 are left
        out; rows (N x D) and models of flat inputs take any shape of their
        size."""
        shape = tuple(np.shape(x))[1:]
        have = [d for d in shape if d != 1]
        want = [d for d in self.input_shape if d != 1]
        if len(have) > 1 and len(want) > 1 and have != want:
            c, h, w = self.input_shape
            raise ValueError(f"{name}: the model takes {c}x{h}x{w} inputs but the examples are "
                             f"{'x'.join(map(str, shape))} (images are channels first: "
                             f"N x C x H x W)")
        if isinstance(x, np.ndarray) and x.dtype == np.uint8:
            x = _PIXELS[x]  # 8-bit pixels to [0, 1], as the command reads them
        return cv.rows(name, x)

    def logits(self, x, features=False):
        """Logits (N x K float32) of the examples x; with ``features=True``
        also the penultimate features: ``(logits, features)``."""
        xa, m = self._rows("x", x)
        z = np.empty((m.rows, self.num_classes), dtype=np.float32)
        f = np.empty((m.rows, self.feature_size), dtype=np.float32) if features else None
        cv.interruptible(lib.lsp_model_logits, self._hold(), ctypes.byref(m), z.ctypes.data,
                         cv.pointer(f), keep=(self, xa, z, f), release=self._release)
        return (z, f) if features else z

    def evaluate(self, x, labels, *, val=None, bins=15, bootstrap=0, seed=1):
        """Score the model on examples x with labels, as ``lsprobe eval
        --json``: accuracy, nll, calibration, clusters (penultimate layer;
        None with ``clusters_note`` saying why when the examples hold fewer
        than two classes with a non-zero feature row), logit_gap (against the model's own training smoothing). With
        ``val=(val_x, val_labels)`` the temperature is fitted on them and
        ``calibration_temperature_scaled`` added (or, when their NLL has no
        minimum in T, ``calibration_temperature_note`` saying so)."""
        xa, m = self._rows("x", x)
        y = cv.labels("labels", labels, m.rows, "x")
        vx, vm, vy = None, None, None
        if val is not None:
            vx, vlab = cv.pair("val", val, "(val_x, val_labels)")
            vx, vm = self._rows("validation x", vx)
            vy = cv.labels("validation labels", vlab, vm.rows, "validation x")
        o = cv.Opts(bins=bins, bootstrap=bootstrap, seed=seed)
        return cv.result(lib.lsp_model_evaluate, self._hold(), ctypes.byref(m), y.ctypes.data,
                         None if vm is None else ctypes.byref(vm), cv.pointer(vy), o.ptr,
                         keep=(self, xa, y, vx, vy, o), release=self._release)

    def _attack(self, fn, x, labels, eps, opts):
        shape = np.shape(x)
        xa, m = self._rows("x", x)
        y = cv.labels("labels", labels, m.rows, "x")
        e = cv.c_array(np.atleast_1d(np.asarray(eps, dtype=np.float64)), np.float64)
        if e.ndim != 1 or e.size == 0:
            raise ValueError(f"eps: expected a number or a list of numbers, got {eps!r}")
        adv = np.empty((m.rows, m.cols), dtype=np.float32)
        o = cv.Opts(**opts)
        info = cv.result(fn, self._hold(), ctypes.byref(m), y.ctypes.data, e.ctypes.data,
                         e.size, o.ptr, adv.ctypes.data, keep=(self, xa, y, e, o, adv),
                         release=self._release)
        return adv.reshape(shape), info


def load_model(path):
    """Load a ``.lspm`` file, an ONNX file or a PyTorch export folder (see
    Model)."""
    return Model(path)


def _model(model):
    if not isinstance(model, Model):
        raise TypeError(f"model: expected an lsprobe.Model (lsprobe.load_model(path)), "
                        f"got {type(model).__name__}")
    return model


def evaluate(model, x, labels, **kw):
    """``model.evaluate(x, labels, **kw)`` (see Model.evaluate)."""
    return _model(model).evaluate(x, labels, **kw)


def fgsm(model, x, labels, eps, *, loss="ce", smoothing=None, convention=None, lo=0.0,
         hi=1.0, batch=256):
    """FGSM: x' = clip(x + eps·sign(∇ₓL), lo, hi) for each eps of a number
    or a list (computed in float32 exactly as PyTorch does).

    Returns ``(x_adv, info)``: the adversarial inputs at the last eps (the
    shape of x, float32) and the sweep as ``lsprobe attack --json``
    (``clean_accuracy``, ``points`` [{eps, accuracy, success_rate,
    mean_confidence, zero_grad_share, ...}], ``unread_inputs``: the input
    components the model never reads, left out of ``zero_grad_share``).
    ``loss`` is "ce", "smoothed"
    (with ``smoothing``/``convention``, else the model's own), "margin" or
    "dlr" (as ``lsprobe attack --loss``).
    """
    return _model(model)._attack(lib.lsp_attack_fgsm, x, labels, eps,
                         dict(loss=loss, smoothing=smoothing, convention=convention, lo=lo,
                              hi=hi, batch=batch))


def pgd(model, x, labels, eps, *, steps=10, step_size=None, restarts=1, seed=1,
        full_steps=False, loss="ce", smoothing=None, convention=None, lo=0.0, hi=1.0,
        batch=256):
    """PGD: ``steps`` steps of ``step_size`` (default 2.5*eps/steps) from a uniform
    random start in the eps-ball, projected on the ball and [lo, hi], best of
    ``restarts``; an example counts as robust only if it survives every
    restart (and every smaller eps of the list). Returns ``(x_adv, info)``
    as fgsm."""
    return _model(model)._attack(lib.lsp_attack_pgd, x, labels, eps,
                         dict(loss=loss, smoothing=smoothing, convention=convention, lo=lo,
                              hi=hi, batch=batch, steps=steps, step_size=step_size,
                              restarts=restarts, seed=seed, full_steps=full_steps))
