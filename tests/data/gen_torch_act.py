#!/usr/bin/python3
"""Reference values of the element-wise activations from PyTorch (float64).

Writes tests/data/torch_act/: x.npy (float32 inputs: a uniform sample of
[-8, 8], the kinks of every kind, 0, tiny and huge values up to ±3.4e38),
dy.npy (a float32 upstream gradient) and per case <case>_y.npy and
<case>_dx.npy (float64: PyTorch's forward and autograd's dx of
sum(y * dy), computed in float64 on the float32 inputs) and
<case>_ymp.npy, <case>_dxmp.npy: the same from the closed forms of f and
f' evaluated by mpmath at 50 digits, with PyTorch's value at each kink.
PyTorch's float64 loses digits where its backward cancels (σ' = y(1 − y)
and tanh' = 1 − y² for large |x|, GELU's 1 + tanh u for x ≪ 0: about
1e-16·|x| absolute); the script
checks that the two agree to that, and to 1e-7 relative (PyTorch's
hardsigmoid takes 1/6 as a float32) elsewhere. cases.txt lists
"case kind alpha beta gamma lo hi approximate" per line, the attributes
that lsprobe's node of that kind gets. tests/test_act.c compares.

Run with Debian's PyTorch: /usr/bin/python3 tests/data/gen_torch_act.py
"""
import math
import os

import mpmath as mp

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_act")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20261203)

special = [0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 1.0, -1.0, 3.0, -3.0, 6.0,
           -6.0, 2.5, -2.5, 0.5, -0.5, 20.0, -20.0, 30.0, -30.0, 100.0,
           -100.0, 1e30, -1e30, 3.4e38, -3.4e38, 1e5, -1e5]
x = np.concatenate([np.array(special, np.float32),
                    rng.uniform(-8, 8, 200).astype(np.float32)])
dy = rng.uniform(-1, 1, x.size).astype(np.float32)
np.save(os.path.join(OUT, "x.npy"), x)
np.save(os.path.join(OUT, "dy.npy"), dy)

SELU_A = 1.67326319217681884765625  # ONNX's float defaults
SELU_G = 1.05070102214813232421875
INF = math.inf
cases = [  # case, kind, alpha, beta, gamma, lo, hi, approximate, function
    ("sigmoid", "sigmoid", 0, 0, 0, -INF, INF, 0, torch.sigmoid),
    ("tanh", "tanh", 0, 0, 0, -INF, INF, 0, torch.tanh),
    ("leaky01", "leakyrelu", 0.1, 0, 0, -INF, INF, 0,
     lambda t: F.leaky_relu(t, 0.1)),
    ("leaky_def", "leakyrelu", 0.01, 0, 0, -INF, INF, 0, F.leaky_relu),
    ("elu15", "elu", 1.5, 0, 0, -INF, INF, 0, lambda t: F.elu(t, 1.5)),
    ("selu", "selu", SELU_A, 0, SELU_G, -INF, INF, 0,
     lambda t: SELU_G * F.elu(t, SELU_A)),
    ("relu6", "clip", 0, 0, 0, 0.0, 6.0, 0, F.relu6),
    ("clip_pm1", "clip", 0, 0, 0, -1.0, 1.0, 0,
     lambda t: F.hardtanh(t, -1.0, 1.0)),
    ("clip_hi", "clip", 0, 0, 0, -INF, 0.5, 0,
     lambda t: F.hardtanh(t, -INF, 0.5)),
    ("clip_lo", "clip", 0, 0, 0, -3.0, INF, 0,
     lambda t: F.hardtanh(t, -3.0, INF)),
    ("hsig_torch", "hardsigmoid", 1 / 6, 0.5, 0, -INF, INF, 0, F.hardsigmoid),
    ("hsig_onnx", "hardsigmoid", 0.2, 0.5, 0, -INF, INF, 0,
     lambda t: F.hardtanh(0.2 * t + 0.5, 0.0, 1.0)),
    ("hswish", "hardswish", 0, 0, 0, -INF, INF, 0, F.hardswish),
    ("softplus", "softplus", 0, 0, 0, -INF, INF, 0,
     lambda t: torch.logaddexp(t, torch.zeros_like(t))),
    ("erf", "erf", 0, 0, 0, -INF, INF, 0, torch.erf),
    ("gelu", "gelu", 0, 0, 0, -INF, INF, 0, F.gelu),
    ("gelu_tanh", "gelu", 0, 0, 0, -INF, INF, 1,
     lambda t: F.gelu(t, approximate="tanh")),
]
mp.mp.dps = 50


def sig(v):
    return 1 / (1 + mp.exp(-v))


def dsig(v):
    return mp.exp(-v) / (1 + mp.exp(-v)) ** 2


K = mp.sqrt(2 / mp.pi)


def gelut(v):
    u = K * (v + mp.mpf(0.044715) * v ** 3)
    return v * sig(2 * u)


def dgelut(v):
    u = K * (v + mp.mpf(0.044715) * v ** 3)
    du = K * (1 + 3 * mp.mpf(0.044715) * v ** 2)
    return sig(2 * u) + v * dsig(2 * u) * 2 * du


def ref(kind, a, b, g, lo, hi, ap, v):
    """f(v), f'(v) in mpmath; at a kink the side PyTorch takes"""
    v = mp.mpf(v)
    a, b, g = mp.mpf(a), mp.mpf(b), mp.mpf(g)
    if kind == "sigmoid":
        return sig(v), dsig(v)
    if kind == "tanh":
        return mp.tanh(v), 4 * dsig(2 * v)
    if kind == "leakyrelu":
        return (v, 1) if v > 0 else (a * v, a)
    if kind in ("elu", "selu"):
        s = g if kind == "selu" else 1
        return (s * v, s) if v > 0 else (s * a * mp.expm1(v), s * a * mp.exp(v))
    if kind == "clip":
        y = min(max(v, lo), hi)
        return y, 1 if lo < v < hi else 0
    if kind == "hardsigmoid":  # the side decided by t in double, as lsprobe
        t, td = a * v + b, float(a) * float(v) + float(b)
        return (0, 0) if td <= 0 else (1, 0) if td >= 1 else (t, a)
    if kind == "hardswish":
        y = v * min(max(v + 3, 0), 6) / 6
        # the right-hand derivative at both kinks: PyTorch's vectorized
        # kernel (its scalar one, on a tensor's tail, takes 3/2 at x = 3)
        return y, 0 if v < -3 else (v / 3 + mp.mpf(0.5) if v < 3 else 1)
    if kind == "softplus":
        return mp.log1p(mp.exp(v)), sig(v)
    if kind == "erf":
        return mp.erf(v), 2 / mp.sqrt(mp.pi) * mp.exp(-v * v)
    if kind == "gelu" and ap:
        return gelut(v), dgelut(v)
    phi = mp.erfc(-v / mp.sqrt(2)) / 2
    return v * phi, phi + v * mp.exp(-v * v / 2) / mp.sqrt(2 * mp.pi)


with open(os.path.join(OUT, "cases.txt"), "w") as f:
    for name, kind, a, b, g, lo, hi, ap, fn in cases:
        t = torch.tensor(x.astype(np.float64), requires_grad=True)
        y = fn(t)
        (y * torch.tensor(dy.astype(np.float64))).sum().backward()
        yy, dx = y.detach().numpy(), t.grad.numpy()
        assert np.isfinite(yy).all() and np.isfinite(dx).all(), name
        np.save(os.path.join(OUT, f"{name}_y.npy"), yy)
        np.save(os.path.join(OUT, f"{name}_dx.npy"), dx)
        r = [ref(kind, a, b, g, lo, hi, ap, float(v)) for v in x]
        ymp = np.array([float(p[0]) for p in r])
        dxmp = np.array([float(p[1] * mp.mpf(float(d))) for p, d in zip(r, dy)])
        for want, got in ((ymp, yy), (dxmp, dx)):
            err = np.abs(got - want)
            floor = 1e-15 * np.clip(np.abs(x), 1, 100)
            assert (err <= 1e-7 * np.abs(want) + floor).all(), (
                name, x[np.argmax(err - 1e-7 * np.abs(want))],
                got[np.argmax(err - 1e-7 * np.abs(want))],
                want[np.argmax(err - 1e-7 * np.abs(want))])
        np.save(os.path.join(OUT, f"{name}_ymp.npy"), ymp)
        np.save(os.path.join(OUT, f"{name}_dxmp.npy"), dxmp)
        f.write(f"{name} {kind} {a!r} {b!r} {g!r} {lo!r} {hi!r} {ap}\n")
