"""Finding and loading liblsprobe, and the C signatures (include/lsprobe/*.h).

The library is looked for, in this order:

1. ``LSPROBE_LIBRARY``: a path to the shared library. When it is set, it is
   the only place tried (a library the user named must not be silently
   replaced by another one).
2. Next to the package: ``liblsprobe.so.<major>`` inside this folder (put
   there by ``pip install`` when ``LSPROBE_LIBRARY`` was set; see setup.py).
3. The system loader path: ``liblsprobe.so.<major>`` through dlopen
   (LD_LIBRARY_PATH, the ld.so cache, /usr/lib, /usr/local/lib after
   ``cmake --install``).

When none works, the ImportError lists every place tried and why it failed.
"""
import ctypes
import os

MAJOR = 0
SONAME = f"liblsprobe.so.{MAJOR}"

# status codes (lsprobe/base.h)
LSP_OK, LSP_EDATA, LSP_EINVAL, LSP_EIO, LSP_ENOMEM, LSP_EINTR = range(6)
LSP_THREADS_MAX = 1024  # lsprobe/base.h
# element types of an lsp_matrix (lsprobe/result.h)
LSP_MAT_F32, LSP_MAT_F64 = 1, 2


class Matrix(ctypes.Structure):
    """lsp_matrix: rows x cols values of `type`, C order, contiguous."""

    _fields_ = [("data", ctypes.c_void_p), ("type", ctypes.c_int),
                ("rows", ctypes.c_size_t), ("cols", ctypes.c_size_t)]


class LS(ctypes.Structure):
    """lsp_ls: the smoothing of the loss."""

    _fields_ = [("eps", ctypes.c_double), ("convention", ctypes.c_int),
                ("normalize", ctypes.c_int)]


def _candidates():
    env = os.environ.get("LSPROBE_LIBRARY")
    if env:
        return [("LSPROBE_LIBRARY", env)]
    here = os.path.dirname(os.path.abspath(__file__))
    return [("next to the package", os.path.join(here, SONAME)),
            ("the system loader path", SONAME)]


def _load():
    tried = []
    for where, path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"{where}: {path}: no such file")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{where}: {path}: {e}")
            continue
        return lib, path
    raise ImportError(
        "lsprobe: liblsprobe could not be loaded. Tried, in order:\n  - "
        + "\n  - ".join(tried)
        + "\nBuild it (scripts/build release) and set LSPROBE_LIBRARY to the "
        f"built liblsprobe.so, or install it (cmake --install) where the "
        f"loader finds {SONAME}.")


_P = ctypes.c_void_p
_SIZE = ctypes.c_size_t
_INT = ctypes.c_int
_DBL = ctypes.c_double
_STR = ctypes.c_char_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_MAT = ctypes.POINTER(Matrix)

# name: (restype, argtypes), as declared in include/lsprobe/*.h
SIGNATURES = {
    "lsp_init": (_INT, []),
    "lsp_errmsg": (_STR, []),
    "lsp_clear_error": (None, []),
    "lsp_version": (_STR, []),
    "lsp_threads_set": (_INT, [_INT]),
    "lsp_threads_get": (_INT, []),
    "lsp_interrupt_request": (None, []),
    "lsp_interrupt_clear": (None, []),
    "lsp_loss_xent": (_INT, [_P, _P, _SIZE, _SIZE, ctypes.POINTER(LS), _P, _DBL, _P, _P]),
    "lsp_ls_optimal_gap": (_DBL, [ctypes.POINTER(LS), _SIZE]),
    "lsp_ls_entropy": (_DBL, [ctypes.POINTER(LS), _SIZE]),
    "lsp_opts_alloc": (_P, []),
    "lsp_opts_free": (None, [_P]),
    "lsp_opts_set": (_INT, [_P, _STR, _STR]),
    "lsp_result_json": (_STR, [_P]),
    "lsp_result_number": (_INT, [_P, _STR, ctypes.POINTER(_DBL)]),
    "lsp_result_free": (None, [_P]),
    "lsp_calib_measure": (_INT, [_MAT, _P, _MAT, _P, _P, _PP]),
    "lsp_clusters_measure": (_INT, [_MAT, _P, _P, _PP]),
    "lsp_logitgap_measure": (_INT, [_MAT, _P, _P, _PP]),
    "lsp_model_load": (_INT, [_STR, _PP]),
    "lsp_model_free": (None, [_P]),
    "lsp_model_input_size": (_SIZE, [_P]),
    "lsp_model_class_count": (_SIZE, [_P]),
    "lsp_model_feature_size": (_SIZE, [_P]),
    "lsp_model_input_shape": (None, [_P, ctypes.POINTER(ctypes.c_size_t)]),
    "lsp_model_logits": (_INT, [_P, _MAT, _P, _P]),
    "lsp_model_evaluate": (_INT, [_P, _MAT, _P, _MAT, _P, _P, _PP]),
    "lsp_attack_fgsm": (_INT, [_P, _MAT, _P, _P, _SIZE, _P, _P, _PP]),
    "lsp_attack_pgd": (_INT, [_P, _MAT, _P, _P, _SIZE, _P, _P, _PP]),
}

lib, path = _load()
for _name, (_res, _args) in SIGNATURES.items():
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        raise ImportError(f"lsprobe: {path} has no function {_name}: an older or "
                          "another library?") from None
    _f.restype = _res
    _f.argtypes = _args

version = lib.lsp_version().decode()
if int(version.split(".")[0]) != MAJOR:
    raise ImportError(f"lsprobe: {path} is version {version}; this package needs "
                      f"major version {MAJOR}")
if lib.lsp_init() != LSP_OK:
    raise ImportError(f"lsprobe: library initialization failed: {lib.lsp_errmsg().decode()}")
