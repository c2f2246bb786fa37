#!/usr/bin/python3
"""Reference forward/backward values of single CNN layers from PyTorch.

Writes tests/data/torch_layers/: cases.json (every case's geometry) and, per
case, <name>_<tensor>.npy. Inputs and parameters are float32 values; PyTorch
computes in float64 on them, so the references are the exact layer maths to
double precision. The upstream gradient dy is a fixed random array; dx, dw,
db are the gradients of sum(y * dy). Shapes are chosen to be awkward:
non-square kernels and strides, padding 0-2, odd sizes, ceil_mode, padding
excluded from averages, integer-valued inputs with ties for max pooling (and
NaNs, which PyTorch's max pooling lets win).

Run with Debian's PyTorch: /usr/bin/python3 tests/data/gen_torch_layers.py
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_layers")
rng = np.random.default_rng(12)


def f32(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def save(name, key, a):
    np.save(os.path.join(OUT, f"{name}_{key}.npy"), np.ascontiguousarray(a))


def t64(a):
    return torch.tensor(a.astype(np.float64), requires_grad=True)


def run(name, fn, inputs, out_dtype=np.float64):
    ts = {k: t64(v) for k, v in inputs.items()}
    y = fn(**ts)
    dy = f32(*y.shape)
    (y * torch.tensor(dy.astype(np.float64))).sum().backward()
    for k, v in inputs.items():
        save(name, k, v)
        save(name, "d" + k, ts[k].grad.numpy().astype(out_dtype))
    save(name, "dy", dy)
    save(name, "y", y.detach().numpy().astype(out_dtype))


cases = {"conv": [], "maxpool": [], "avgpool": [], "gap": [], "bn": []}

# ---- Conv2d ----------------------------------------------------------------
CONV = [  # n, c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, bias
    ("conv_a", 3, 2, 7, 9, 3, 3, 2, 2, 1, 1, 0, 1),
    ("conv_b", 2, 3, 8, 5, 4, 1, 3, 1, 2, 0, 2, 0),
    ("conv_c", 2, 1, 5, 5, 2, 5, 5, 2, 2, 2, 2, 1),
    ("conv_d", 2, 1, 11, 10, 6, 5, 5, 1, 1, 2, 2, 1),  # LeNet conv1, smaller
    ("conv_e", 3, 6, 9, 9, 5, 5, 5, 1, 1, 0, 0, 1),    # LeNet conv2, smaller
    ("conv_f", 2, 4, 7, 6, 8, 1, 1, 2, 2, 0, 0, 0),    # ResNet 1x1 projection
    ("conv_g", 2, 3, 6, 7, 4, 4, 3, 3, 2, 1, 2, 1),    # stride > kernel rows
]
for (name, n, ci, h, w, co, kh, kw, sh, sw, ph, pw, bias) in CONV:
    inp = {"x": f32(n, ci, h, w), "w": f32(co, ci, kh, kw, lo=-0.5, hi=0.5)}
    if bias:
        inp["b"] = f32(co)
    run(name, lambda x, w, b=None: F.conv2d(x, w, b, (sh, sw), (ph, pw)), inp)
    cases["conv"].append(dict(name=name, n=n, c_in=ci, h_in=h, w_in=w, c_out=co,
                              kh=kh, kw=kw, sh=sh, sw=sw, ph=ph, pw=pw, bias=bias))

# ---- MaxPool2d ---------------------------------------------------------------
MAXP = [  # n, c, h, w, kh, kw, sh, sw, ph, pw, ceil, ties
    ("max_a", 2, 3, 12, 12, 2, 2, 2, 2, 0, 0, 0, 0),
    ("max_b", 2, 2, 7, 8, 3, 3, 2, 2, 1, 1, 1, 1),
    ("max_c", 1, 3, 9, 7, 2, 3, 2, 1, 1, 1, 0, 1),
    ("max_d", 2, 2, 6, 5, 3, 2, 3, 2, 0, 1, 1, 1),
    ("max_e", 1, 2, 5, 5, 3, 3, 1, 1, 1, 1, 0, 1),   # overlapping windows
    ("max_f", 2, 3, 8, 6, 2, 2, 2, 2, 0, 0, 0, 1),   # 2x2 tiles, ties
    ("max_g", 1, 2, 7, 10, 3, 3, 3, 3, 0, 0, 0, 1),  # 3x3 tiles, leftovers
    ("max_h", 2, 2, 6, 8, 2, 2, 2, 2, 0, 0, 0, 2),   # 2x2 tiles, NaNs
    ("max_i", 1, 2, 7, 7, 3, 3, 2, 2, 1, 1, 1, 2),   # padded windows, NaNs
    ("max_j", 1, 2, 7, 10, 3, 3, 3, 3, 0, 0, 0, 2),  # 3x3 tiles, NaNs
]
for (name, n, c, h, w, kh, kw, sh, sw, ph, pw, ceil, ties) in MAXP:
    x = f32(n, c, h, w)
    if ties:  # few distinct values: many windows have tied maxima
        x = np.floor(x * 3).astype(np.float32)
    if ties == 2:  # and some NaNs: PyTorch lets a NaN win (the last one)
        x.flat[rng.choice(x.size, size=max(2, x.size // 12), replace=False)] = np.nan
    run(name, lambda x: F.max_pool2d(x, (kh, kw), (sh, sw), (ph, pw),
                                     ceil_mode=bool(ceil)), {"x": x})
    cases["maxpool"].append(dict(name=name, n=n, c=c, h_in=h, w_in=w, kh=kh,
                                 kw=kw, sh=sh, sw=sw, ph=ph, pw=pw, ceil_mode=ceil,
                                 count_include_pad=1))

# ---- AvgPool2d ---------------------------------------------------------------
AVGP = [  # n, c, h, w, kh, kw, sh, sw, ph, pw, ceil, count_include_pad
    ("avg_a", 2, 3, 7, 8, 3, 3, 2, 2, 1, 1, 1, 0),
    ("avg_b", 2, 2, 7, 8, 3, 3, 2, 2, 1, 1, 1, 1),
    ("avg_c", 1, 3, 6, 9, 2, 3, 1, 2, 1, 1, 0, 1),
    ("avg_d", 2, 2, 5, 7, 2, 2, 2, 2, 1, 0, 1, 0),
    ("avg_e", 2, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0, 1),   # AvgPool2d(1)
]
for (name, n, c, h, w, kh, kw, sh, sw, ph, pw, ceil, cip) in AVGP:
    run(name, lambda x: F.avg_pool2d(x, (kh, kw), (sh, sw), (ph, pw),
                                     ceil_mode=bool(ceil),
                                     count_include_pad=bool(cip)),
        {"x": f32(n, c, h, w)})
    cases["avgpool"].append(dict(name=name, n=n, c=c, h_in=h, w_in=w, kh=kh,
                                 kw=kw, sh=sh, sw=sw, ph=ph, pw=pw, ceil_mode=ceil,
                                 count_include_pad=cip))

# ---- global average pooling --------------------------------------------------
for (name, n, c, h, w) in [("gap_a", 3, 5, 7, 6), ("gap_b", 2, 3, 1, 1)]:
    run(name, lambda x: F.adaptive_avg_pool2d(x, 1).flatten(1),
        {"x": f32(n, c, h, w)})
    cases["gap"].append(dict(name=name, n=n, c=c, hw=h * w))

# ---- BatchNorm2d (training and eval) -----------------------------------------
BN = [("bn_a", 5, 3, 4, 3), ("bn_b", 7, 4, 1, 1), ("bn_c", 2, 2, 5, 5)]
for (name, n, c, h, w) in BN:
    x = f32(n, c, h, w, lo=-2.0, hi=3.0)
    gamma, beta = f32(c, lo=0.5, hi=1.5), f32(c)
    rm, rv = f32(c), f32(c, lo=0.5, hi=2.0)
    for mode in ("train", "eval"):
        rmt = torch.tensor(rm.astype(np.float64))
        rvt = torch.tensor(rv.astype(np.float64))
        tag = f"{name}_{mode}"
        run(tag, lambda x, gamma, beta: F.batch_norm(
            x, rmt, rvt, gamma, beta, training=(mode == "train"),
            momentum=0.1, eps=1e-5), {"x": x, "gamma": gamma, "beta": beta})
        save(tag, "rmean0", rm)
        save(tag, "rvar0", rv)
        save(tag, "rmean", rmt.numpy())
        save(tag, "rvar", rvt.numpy())
    cases["bn"].append(dict(name=name, n=n, c=c, hw=h * w, eps=1e-5,
                            momentum=0.1))

with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
