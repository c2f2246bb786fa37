#!/usr/bin/python3
"""The flattening idioms PyTorch users write, exported by torch.onnx.export
(Debian's PyTorch 1.13, python3-onnx 1.12) at opsets 11, 13 and 17, with
(`_dyn`) and without dynamic_axes on the batch dimension, with PyTorch's
float64 numbers. Run from anywhere:

    /usr/bin/python3 tests/data/gen_onnx_flatten.py

It (re)writes tests/data/onnx_flatten/:
  x.npy            images in [0, 1], float32 [8, 2, 6, 6]
  labels.npy       int64 [8] (classes 0..3)
  A CNN conv(2, 3, 3, p 1) relu, flattened, Linear(108, 4) (one set of
  weights; `flat`):
  view_op{11,13,17}[_dyn].onnx     h.view(h.size(0), -1)
  reshape_op{11,13,17}[_dyn].onnx  h.reshape(h.shape[0], -1)
  flatten_op{11,13,17}[_dyn].onnx  torch.flatten(h, 1)
  The same trunk, a global pooling written by hand, Linear(3, 4) (`gmax`,
  `gmean`):
  tmax_op{11,13,17}[_dyn].onnx     torch.max(h.flatten(2), 2)[0] (Shape,
                   Slice of its first two entries, Concat with [-1],
                   Reshape, ReduceMax over axis 2)
  fmax_op13_dyn.onnx               h.flatten(2).max(2)[0]
  vmax_op{13,17}_dyn.onnx          h.view(h.size(0), h.size(1), -1).max(2)[0]
                   (Gather of entries 0 and 1)
  fmean_op{13,17}_dyn.onnx         h.flatten(2).mean(2) (`gmean`)
  {flat,gmax,gmean}_logits.npy  the float64 logits on the files' weights
  {flat,gmax,gmean}_grad.npy    d(sum of cross-entropies)/dx in float64
  {flat,gmax,gmean}_fgsm.npy    the float64 predictions (int64) on
                   clip(x + 0.1 sign(grad), 0, 1)
  transpose_op13_dyn.onnx     torch.flatten(h.transpose(2, 3), 1) (a
                   Transpose of a computed value; weights of its own)
  fgsm_x.npy, fgsm_labels_gmax.npy, fgsm_gmax.json  200 images labelled by
                   the gmax CNN's own float64 predictions, and its float64
                   FGSM accuracy per eps
  Refused (a computed size lsprobe cannot place):
  bad_viewsize_op13_dyn.onnx  h.view(h.size(0), h.size(1) * h.size(2) *
                   h.size(3)) (Mul of sizes)
  bad_viewhw_op13_dyn.onnx    h.view(h.size(0), h.size(2), -1) (the height
                   as entry 1)
  bad_viewlast_op13_dyn.onnx  h.view(h.size(0), -1, h.size(-1)) (Slice of
                   the last entry: the rank is not known while reading)
  bad_slice3_op13_dyn.onnx    tmax_op13_dyn.onnx with the Slice of the
                   Shape ending at 3 (the first three entries, h.view(
                   *h.shape[:3], -1) written with a Slice)
  bad_othersrc_op13_dyn.onnx  vmax_op13_dyn.onnx with the channels taken
                   from the Shape of the Conv's output, not of the ReLU's
                   that the Reshape reshapes (the same number, but not
                   provably)
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_torch_ref as tref  # noqa: E402

OUT = tref.out_dir(__file__, "onnx_flatten")
torch.manual_seed(31)

FLAT = {
    "view": lambda h: h.view(h.size(0), -1),
    "reshape": lambda h: h.reshape(h.shape[0], -1),
    "flatten": lambda h: torch.flatten(h, 1),
    "bad_viewsize": lambda h: h.view(h.size(0),
                                     h.size(1) * h.size(2) * h.size(3)),
    "transpose": lambda h: torch.flatten(h.transpose(2, 3), 1),
}
POOL = {
    "tmax": lambda h: torch.max(h.flatten(2), 2)[0],
    "fmax": lambda h: h.flatten(2).max(2)[0],
    "vmax": lambda h: h.view(h.size(0), h.size(1), -1).max(2)[0],
    "fmean": lambda h: h.flatten(2).mean(2),
    "bad_viewhw": lambda h: h.view(h.size(0), h.size(2), -1).max(2)[0],
    "bad_viewlast": lambda h: h.view(h.size(0), -1, h.size(-1)).max(2)[0],
}


class Net(nn.Module):
    def __init__(self, kind, feat):
        super().__init__()
        self.kind = kind
        self.c1 = nn.Conv2d(2, 3, 3, padding=1)
        self.fc = nn.Linear(feat, 4)
        with torch.no_grad():  # logits that vary over the inputs
            self.c1.weight.mul_(2.5)
            self.fc.weight.mul_(2.5)

    def forward(self, x):
        h = torch.relu(self.c1(x))
        f = FLAT[self.kind](h) if self.kind in FLAT else POOL[self.kind](h)
        return self.fc(f)


def centre(m, x):
    tref.centre(m, x, m.fc.bias)


def path(name):
    return os.path.join(OUT, name)


def export(m, x, name, opset, dyn):
    tref.export(m, x, path(tref.onnx_name(name, opset, dyn)), opset, dyn)


def reference(m, x, y, name):
    tref.reference(m, x, y, path(name))


def fgsm(m, name):
    """PyTorch's float64 FGSM accuracies of m on images labelled by m."""
    md = m.double()
    x = torch.rand(200, 2, 6, 6)
    xd = x.double()
    with torch.no_grad():
        y = md(xd).argmax(1)
    xg = xd.clone().requires_grad_(True)
    F.cross_entropy(md(xg), y, reduction="sum").backward()
    acc = {}
    for eps in (0.0, 0.01, 0.02, 0.05, 0.1):
        with torch.no_grad():
            xa = (xd + eps * xg.grad.sign()).clamp(0, 1)
            acc[str(eps)] = float((md(xa).argmax(1) == y).double().mean())
    np.save(path("fgsm_x.npy"), x.numpy().astype(np.float32))
    np.save(path("fgsm_labels_%s.npy" % name), y.numpy().astype(np.int64))
    with open(path("fgsm_%s.json" % name), "w") as f:
        json.dump({"accuracy": acc, "n": 200}, f, indent=1)
    m.float()


def main():
    os.makedirs(OUT, exist_ok=True)
    x = torch.rand(8, 2, 6, 6)
    y = torch.randint(0, 4, (8,))
    np.save(path("x.npy"), x.numpy().astype(np.float32))
    np.save(path("labels.npy"), y.numpy().astype(np.int64))
    sets = (("flat", 108, [(k, op, dyn) for k in ("view", "reshape", "flatten")
                           for op in (11, 13, 17) for dyn in (0, 1)]),
            ("gmax", 3, [("tmax", op, dyn) for op in (11, 13, 17)
                         for dyn in (0, 1)]
             + [("fmax", 13, 1), ("vmax", 13, 1), ("vmax", 17, 1)]),
            ("gmean", 3, [("fmean", 13, 1), ("fmean", 17, 1)]))
    for ref, feat, variants in sets:
        net = Net(variants[0][0], feat).eval()
        centre(net, x)
        with torch.no_grad():
            for kind, op, dyn in variants:
                net.kind = kind
                export(net, x, kind, op, dyn)
        net.kind = variants[0][0]
        reference(net, x, y, ref)
        if ref == "gmax":
            fgsm(net, "gmax")
    for kind, feat in (("bad_viewsize", 108), ("bad_viewhw", 6),
                       ("bad_viewlast", 18), ("transpose", 108)):
        with torch.no_grad():
            export(Net(kind, feat).eval(), x, kind, 13, 1)
    m = onnx.load(path("tmax_op13_dyn.onnx"))
    sl = [n for n in m.graph.node if n.op_type == "Slice"][0]
    end = [n for n in m.graph.node if n.output[0] == sl.input[2]][0]
    end.attribute[0].t.CopyFrom(numpy_helper.from_array(
        np.array([3], np.int64)))
    onnx.save(m, path("bad_slice3_op13_dyn.onnx"))
    m = onnx.load(path("vmax_op13_dyn.onnx"))
    shapes = [n for n in m.graph.node if n.op_type == "Shape"]
    shapes[1].input[0] = "/c1/Conv_output_0"
    onnx.checker.check_model(m)
    onnx.save(m, path("bad_othersrc_op13_dyn.onnx"))


if __name__ == "__main__":
    main()
