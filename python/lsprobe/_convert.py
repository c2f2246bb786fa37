"""Errors, NumPy arrays to lsp_matrix, options and JSON results."""
import ctypes
import json
import os
import threading

import numpy as np

from . import _lib
from ._lib import lib


class Error(Exception):
    """A failure reported by liblsprobe; the message is the library's."""

    status = None


class DataError(Error, ValueError):
    """Malformed, inconsistent or out-of-range data (LSP_EDATA)."""

    status = _lib.LSP_EDATA


class UsageError(Error, ValueError):
    """An invalid argument or setting (LSP_EINVAL)."""

    status = _lib.LSP_EINVAL


class FileError(Error, OSError):
    """A file could not be opened, read or written (LSP_EIO)."""

    status = _lib.LSP_EIO


class OutOfMemory(Error, MemoryError):
    """An allocation in the library failed (LSP_ENOMEM)."""

    status = _lib.LSP_ENOMEM


class Interrupted(Error):
    """The library was interrupted before completion (LSP_EINTR)."""

    status = _lib.LSP_EINTR


for _c in (Error, DataError, UsageError, FileError, OutOfMemory, Interrupted):
    _c.__module__ = "lsprobe"

_BY_STATUS = {c.status: c for c in (DataError, UsageError, FileError, OutOfMemory, Interrupted)}


def check(status, msg=None):
    """Raise the exception of a failed call with the library's message (read
    here unless given: the message belongs to the thread that made the
    call)."""
    if status != _lib.LSP_OK:
        if msg is None:
            msg = lib.lsp_errmsg().decode("utf-8", "replace")
        raise _BY_STATUS.get(status, Error)(msg)


_threads = 0  # lsprobe's thread count for every call (0: OpenMP's default)
_active = 0   # calls running in worker threads (tests/test_host.py)
_active_lock = threading.Lock()


def whole_number(x, what):
    """x as an int when it is a whole number (an int, or a float such as
    10.0); UsageError otherwise — for a string, a boolean or a fraction —
    naming `what`."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        return int(x)
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        return int(x)
    raise UsageError(f"{what}: {x!r} is not a whole number")


def set_threads(n):
    """Use n threads in lsprobe's parallel work (0: the default, OpenMP's —
    OMP_NUM_THREADS, else every core). Returns the previous setting. Results
    lsprobe promises to be thread-count independent (bootstrap intervals,
    binned calibration sums) are the same for every n; cluster sums are
    identical for the same n. At most 1024 (as the command's --threads)."""
    global _threads
    n = whole_number(n, "set_threads: the thread count")
    if n < 0:
        raise UsageError(f"set_threads: {n} threads is negative (0 is the default)")
    if n > _lib.LSP_THREADS_MAX:
        raise UsageError(f"set_threads: thread count {n} is above the limit of "
                         f"{_lib.LSP_THREADS_MAX}")
    old, _threads = _threads, n
    lib.lsp_threads_set(_threads)
    return old


def get_threads():
    """The setting of set_threads (0: the default)."""
    return _threads


def direct(call, *args):
    """A short call, in this thread."""
    lib.lsp_threads_set(_threads)
    check(call(*args))


def interruptible(call, *args, keep=(), release=None):
    """A long call, run in a worker thread while this one waits, so that
    Ctrl-C (KeyboardInterrupt) reaches the library: it stops with LSP_EINTR
    at its next check, and KeyboardInterrupt is raised here once it has.

    The worker holds references to `args` and `keep` (every array, model and
    option set whose memory the call reads), so that even if this thread
    gave up waiting, nothing the call reads could be freed under it. The
    wait is on an Event, not Thread.join: a KeyboardInterrupt inside join()
    can mark a running thread as finished (CPython 3.11).

    `release`, when given, is called once the call has ended, in whichever
    thread ends it (for a model's count of the calls running on it); a
    call that never started releases nothing, so what it holds is kept."""
    box = {}
    go, done = threading.Event(), threading.Event()

    def work(args=args, keep=keep):
        global _active
        go.wait()  # never set when the caller was interrupted before it waited
        try:
            with _active_lock:
                _active += 1
            lib.lsp_threads_set(_threads)
            try:
                st = call(*args)
            except BaseException as e:  # e.g. ctypes.ArgumentError: raised by the caller
                box["exc"] = e
                return
            finally:
                with _active_lock:
                    _active -= 1
                if release is not None:
                    release()
            box["st"] = st
            box["msg"] = lib.lsp_errmsg().decode("utf-8", "replace") if st else None
            if box.get("abandoned"):
                lib.lsp_interrupt_clear()
        finally:
            done.set()

    t = threading.Thread(target=work, name="lsprobe-call", daemon=True)
    # A KeyboardInterrupt can arrive between any two steps here. Until go is
    # set, the worker makes no call (an interrupted start leaves it parked);
    # from then on, the finally clause waits for the call to stop.
    t.start()
    stop = False
    try:
        go.set()
        while not done.is_set():
            try:
                done.wait(0.05)
            except KeyboardInterrupt:
                stop = True
                lib.lsp_interrupt_request()
    finally:
        if go.is_set() and not done.is_set():  # an exception got past the loop
            lib.lsp_interrupt_request()
            box["abandoned"] = True
            for _ in range(200):
                try:
                    if done.wait(0.05):
                        break
                except KeyboardInterrupt:
                    pass
    if stop or box.get("abandoned"):
        lib.lsp_interrupt_clear()
        raise KeyboardInterrupt
    if "exc" in box:
        exc = box.pop("exc")
        try:
            raise exc
        finally:
            del exc
    check(box["st"], box["msg"])


def _real(name, a):
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected an array of real numbers, got dtype {a.dtype}")
    return a


def c_array(a, dtype):
    """a as a C-contiguous, aligned array of `dtype` for C to read: no copy
    when it is one already. np.ascontiguousarray alone would pass a view of
    a byte buffer at an odd offset (np.frombuffer(..., offset=1)) as it is,
    and C may not read a float at an address that is not a multiple of 4."""
    return np.require(a, dtype=dtype, requirements=("C_CONTIGUOUS", "ALIGNED"))


def _fit(name, a, wide, dtype):
    """a as C-contiguous `dtype`; a finite value of a wider float type that
    becomes infinite in the cast is a DataError naming it (row and column),
    as the library does for the float64 it converts itself."""
    with np.errstate(over="ignore"):
        out = c_array(a, dtype)
    if wide and out.size and not np.isfinite(out).all():
        big = np.flatnonzero((np.isinf(out) & np.isfinite(a)).reshape(-1))
        if big.size:
            i, j = divmod(int(big[0]), a.shape[1])
            raise DataError(f"{name}: value {float(a[i, j]):g} at row {i}, column {j} "
                            f"does not fit {np.dtype(dtype).name}")
    return out


def matrix(name, a, keep_f64=False):
    """A 2-D array as (array kept alive, lsp_matrix). C-contiguous float32
    input is passed as it is (no copy); so is float64 when the library reads
    it in double (keep_f64), where every other dtype — float64 in the other
    byte order, long double, integers, float16 — is converted to float64, so
    that nothing is rounded to float32 on the way. Without keep_f64 anything
    else is converted to float32."""
    a = _real(name, a)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (rows x columns), got shape {a.shape}")
    if keep_f64 and a.dtype != np.float32:
        # np.float64 compares equal to native-order float64 only: '>f8' and
        # long double are converted here, not rounded to float32 below
        a = _fit(name, a, a.dtype.kind == "f" and a.dtype.itemsize > 8, np.float64)
        kind = _lib.LSP_MAT_F64
    else:
        a = _fit(name, a, a.dtype.kind == "f" and a.dtype.itemsize > 4, np.float32)
        kind = _lib.LSP_MAT_F32
    return a, _lib.Matrix(a.ctypes.data, kind, a.shape[0], a.shape[1])


def rows(name, a):
    """Examples of any shape (N, ...) as an N x (product of the rest) matrix
    of float32 (a view when already C-contiguous float32)."""
    a = _real(name, a)
    if a.ndim < 2:
        raise ValueError(f"{name}: expected examples along the first axis (N x ...), "
                         f"got shape {a.shape}")
    # the product of the other axes, not -1: NumPy cannot infer it for N = 0
    return matrix(name, a.reshape(a.shape[0], int(np.prod(a.shape[1:]))))


def labels(name, y, n, rows_name):
    """N class indices as C-contiguous int32 (no copy when already so)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim == 2 and y.shape[0] == n and y.shape[1] > 1:
        raise ValueError(f"{name}: a {y.shape[0]} x {y.shape[1]} matrix, not class indices "
                         "(one-hot labels? pass y.argmax(axis=1))")
    if y.ndim != 1:
        raise ValueError(f"{name}: expected a vector of N class indices, got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"{name}: {y.shape[0]} labels but {rows_name} has {n} rows")
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.floor(y)))
        if bad.size:
            raise DataError(f"{name}: label {y[bad[0]]} at index {bad[0]} is not an integer")
    elif y.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer class indices, got dtype {y.dtype}")
    if y.size and y.dtype != np.int32:
        i32 = np.iinfo(np.int32)
        big = np.flatnonzero((y > i32.max) | (y < i32.min))
        if big.size:
            raise DataError(f"{name}: label {y[big[0]]} at index {big[0]} is out of range")
    return c_array(y, np.int32)


def pair(name, v, what):
    """The two members of a validation pair, or a ValueError saying what
    belongs there (not Python's "too many values to unpack")."""
    if isinstance(v, np.ndarray) or not isinstance(v, (tuple, list)) or len(v) != 2:
        raise ValueError(f"{name}: expected a pair {what}, got {type(v).__name__}"
                         + (f" of length {len(v)}" if isinstance(v, (tuple, list)) else ""))
    return v


# the options that are switches: True/False for them, never for a count
_SWITCHES = {"full_steps"}


def _text(k, v):
    if isinstance(v, (bool, np.bool_)):
        if k not in _SWITCHES:  # bins=True would silently mean one bin
            raise TypeError(f"option {k} = {v!r}: expected a number, not a boolean")
        return "1" if v else "0"
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if v.is_integer() and abs(v) < 2**53:  # bins=10.0 is 10 bins; "10" reads as 10.0 too
            return str(int(v))
        return repr(v)  # round-trips exactly
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, str):
        return v
    raise TypeError(f"option value {v!r}: expected a number, a boolean or a string")


class Opts:
    """An lsp_opts holding every keyword whose value is not None; freed when
    the last reference goes (a call in progress holds one)."""

    def __init__(self, **kw):
        self.ptr = lib.lsp_opts_alloc()
        if not self.ptr:
            raise OutOfMemory("out of memory for options")
        for k, v in kw.items():
            if v is not None:
                check(lib.lsp_opts_set(self.ptr, k.encode(),
                                       _no_nul(f"option {k}:", _text(k, v).encode())))

    def __del__(self):
        if getattr(self, "ptr", None) and lib is not None:
            lib.lsp_opts_free(self.ptr)
            self.ptr = None


def result(call, *args, keep=(), release=None):
    """Call an lsp_*_measure-style function whose last argument receives an
    lsp_result (interruptibly, holding `keep`); return the result's JSON as
    a dict."""
    r = ctypes.c_void_p()
    interruptible(call, *args, ctypes.byref(r), keep=keep, release=release)
    try:
        return json.loads(lib.lsp_result_json(r).decode("utf-8"))
    finally:
        lib.lsp_result_free(r)


def pointer(a):
    return None if a is None else a.ctypes.data


def _no_nul(what, b):
    """C reads text up to its first NUL: a name with one inside would reach
    the library cut short (another file, another value) without a word."""
    if b"\0" in b:
        raise ValueError(f"{what} {b!r} contains a NUL character")
    return b


def path_bytes(path):
    return _no_nul("path", os.fsencode(os.fspath(path)))
