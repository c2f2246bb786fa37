#!/usr/bin/python3
"""Global pooling written the ways PyTorch classifiers write it, and
classifier heads made of a 1x1 convolution, exported by torch.onnx.export
(Debian's PyTorch 1.13, python3-onnx 1.12), with PyTorch's float64 numbers.
Run from anywhere:

    /usr/bin/python3 tests/data/gen_onnx_pool.py

It (re)writes tests/data/onnx_pool/:
  x.npy            images in [0, 1], float32 [8, 2, 8, 8]
  labels.npy       int64 [8] (classes 0..3)
  A CNN conv(2, 6, 3, p 1) relu conv(6, 6, 3, p 1) relu, a global pooling,
  Linear(6, 4); one set of weights per pooling:
  mean_op13.onnx, mean_op17.onnx   h.mean(3).mean(2) (two ReduceMean over
                   one axis each, keepdims 0)
  mean_op18.onnx   mean_op17.onnx in opset 18's form (the axes an input)
  meanneg_op13.onnx  h.mean(-1).mean(-1) (axes [-1] on rank 4, then rank 3)
  meankeep_op17.onnx h.mean(3, keepdim=True).mean(2, keepdim=True), Flatten
  max_op13.onnx    F.adaptive_max_pool2d(h, 1) (MaxPool, the whole image as
                   the window)
  maxmod_op17.onnx nn.AdaptiveMaxPool2d(1)
  amax_op13.onnx, amax_op17.onnx   h.amax((2, 3)) (ReduceMax, axes [2, 3])
  amax_op18.onnx   amax_op17.onnx in opset 18's form
  maxview_op13.onnx  torch.max(h.view(h.size(0), 6, -1), 2)[0] (Reshape to
                   N x 6 x 64, ReduceMax over axis 2)
  amax2_op13.onnx  h.amax(3).amax(2) (two ReduceMax over one axis each)
  global_op13.onnx max_op13.onnx with the MaxPool written as GlobalMaxPool
  {mean,max}_logits.npy   the float64 logits on the files' float32 weights
  {mean,max}_grad.npy     d(sum of cross-entropies)/dx in float64
  {mean,max}_fgsm.npy     the float64 predictions (int64) on
                   clip(x + 0.1 sign(grad), 0, 1)
  fgsm_x.npy, fgsm_labels_max.npy, fgsm_max.json
                   200 images, labelled by the max CNN's own float64
                   predictions, and its float64 FGSM accuracy per eps
  A 1x1-convolution head: the same trunk, conv(6, 4, 1), global average
  pooling as the logits (SqueezeNet without the ReLU, all-conv nets):
  head_op13.onnx   F.adaptive_avg_pool2d(conv1x1(h), 1) then Flatten
  head_mean_op17.onnx  conv1x1(h).mean((2, 3))
  head_avgpool_op17.onnx  F.avg_pool2d(conv1x1(h), 8) (AveragePool, the
                   whole image as the window) then Flatten
  head_logits.npy, head_grad.npy, head_fgsm.npy, head_feat.npy (the pooled
                   trunk, mean of h over the pixels: the features)
  SqueezeNet's and Network-in-Network's head, a ReLU between the 1x1
  convolution and the pooling (its own weights; the pooled class maps are
  the logits and lsprobe's features):
  head_relu_op13.onnx  F.adaptive_avg_pool2d(relu(conv1x1(h)), 1), Flatten
  head_relumean_op17.onnx  relu(conv1x1(h)).mean((2, 3))
  head_relu_logits.npy, head_relu_grad.npy, head_relu_fgsm.npy
  fgsm_labels_head_relu.npy, fgsm_head_relu.json  its float64 FGSM
                   accuracies on fgsm_x.npy labelled by its own predictions
  Heads no dense layer computes, each read as its layers then an identity
  classifier (the pooled class maps are the logits and the features):
  head_max_op13.onnx   the 1x1 head's weights, pooled by a global maximum
  head_max_logits.npy, head_max_grad.npy, head_max_fgsm.npy
  head_s2_op13.onnx    its own weights: conv(6, 4, 3, stride 2, padding 1)
                   to the classes, then a global average (all-conv nets
                   whose last convolution is not 1x1)
  head_s2_logits.npy, head_s2_grad.npy, head_s2_fgsm.npy
  Refused:
  bad_meanw_op13.onnx  h.mean(3, keepdim=True) kept as a feature map, then
                   a Conv (3, 1)
  bad_maxc_op13.onnx   h.amax(1) (over the channels)
  gmp_x.npy, gmp_dy.npy  [3, 4, 5, 6] float32 integer-valued images with
                   tied maxima, and an upstream gradient
  gmp_y.npy, gmp_dx.npy  F.adaptive_max_pool2d's float64 output and gradient
                   of sum(y * dy) (the first maximum in row-major order)
  gmp_dx_amax.npy  amax's gradient on the same (split evenly among ties)
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_torch_ref as tref  # noqa: E402

OUT = tref.out_dir(__file__, "onnx_pool")
torch.manual_seed(23)
SCALE = 2.5  # logits that vary over the inputs

POOLS = {
    "mean": lambda h: h.mean(3).mean(2),
    "meanneg": lambda h: h.mean(-1).mean(-1),
    "meankeep": lambda h: torch.flatten(
        h.mean(3, keepdim=True).mean(2, keepdim=True), 1),
    "max": lambda h: torch.flatten(F.adaptive_max_pool2d(h, 1), 1),
    "maxmod": lambda h: torch.flatten(nn.AdaptiveMaxPool2d(1)(h), 1),
    "amax": lambda h: h.amax((2, 3)),
    "maxview": lambda h: torch.max(h.view(h.size(0), 6, -1), 2)[0],
    "amax2": lambda h: h.amax(3).amax(2),
}


class Net(nn.Module):
    def __init__(self, pool):
        super().__init__()
        self.pool = pool
        self.c1 = nn.Conv2d(2, 6, 3, padding=1)
        self.c2 = nn.Conv2d(6, 6, 3, padding=1)
        self.fc = nn.Linear(6, 4)
        with torch.no_grad():  # logits that vary over the inputs
            for p in self.parameters():
                if p.dim() > 1:
                    p.mul_(SCALE)

    def trunk(self, x):
        return torch.relu(self.c2(torch.relu(self.c1(x))))

    def forward(self, x):
        return self.fc(POOLS[self.pool](self.trunk(x)))


class Head(nn.Module):
    """conv1x1 to the classes, pooled: kind 'avg', 'mean', 'avgpool',
    'relu', 'relumean', 'max'; 's2': cls3 (set by the caller) instead."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.c1 = nn.Conv2d(2, 6, 3, padding=1)
        self.c2 = nn.Conv2d(6, 6, 3, padding=1)
        self.cls = nn.Conv2d(6, 4, 1)
        with torch.no_grad():
            for p in self.parameters():
                if p.dim() > 1:
                    p.mul_(SCALE)

    def trunk(self, x):
        return torch.relu(self.c2(torch.relu(self.c1(x))))

    def forward(self, x):
        z = self.cls(self.trunk(x))
        if self.kind == "mean":
            return z.mean((2, 3))
        if self.kind == "avgpool":
            return torch.flatten(F.avg_pool2d(z, 8), 1)
        if self.kind == "relumean":
            return torch.relu(z).mean((2, 3))
        if self.kind == "relu":
            z = torch.relu(z)
        if self.kind == "s2":
            return torch.flatten(F.adaptive_avg_pool2d(self.cls3(self.trunk(x)), 1), 1)
        if self.kind == "max":
            return torch.flatten(F.adaptive_max_pool2d(z, 1), 1)
        return torch.flatten(F.adaptive_avg_pool2d(z, 1), 1)


class MeanW(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 6, 3, padding=1)
        self.c2 = nn.Conv2d(6, 6, (3, 1), padding=(1, 0))
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        h = torch.relu(self.c1(x)).mean(3, keepdim=True)
        return self.fc(torch.relu(self.c2(h)).mean((2, 3)))


class MaxC(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 6, 3, padding=1)
        self.fc = nn.Linear(64, 4)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.c1(x)).amax(1), 1))


def balance(m, x):
    """Each class map of m scaled to unit spread and shifted to median 0
    over the pixels of x, so that the pooled ReLU maps are alike in size
    and each class wins on some images."""
    with torch.no_grad():
        z = m.cls(m.trunk(x)).transpose(0, 1).reshape(m.cls.out_channels, -1)
        s = z.std(1)
        m.cls.weight.div_(s[:, None, None, None])
        m.cls.bias.div_(s)
        m.cls.bias.sub_((z / s[:, None]).median(1).values)


def path(name):
    return os.path.join(OUT, name)


def export(m, x, name, opset):
    tref.export(m, x, path(name + ".onnx"), opset, True)


def to_opset18(src, dst):
    """Each ReduceMean's and ReduceMax's axes attribute as the input opset
    18 has."""
    m = onnx.load(path(src))
    for n in m.graph.node:
        if n.op_type not in ("ReduceMean", "ReduceMax"):
            continue
        axes = [a for a in n.attribute if a.name == "axes"][0]
        name = "%s_axes" % n.name.strip("/").replace("/", "_")
        m.graph.initializer.append(
            numpy_helper.from_array(np.array(axes.ints, np.int64), name))
        n.attribute.remove(axes)
        n.attribute.append(helper.make_attribute("noop_with_empty_axes", 0))
        n.input.append(name)
    m.opset_import[0].version = 18
    onnx.save(m, path(dst))


def to_global(src, dst):
    """The MaxPool over the whole image written as GlobalMaxPool."""
    m = onnx.load(path(src))
    n = [n for n in m.graph.node if n.op_type == "MaxPool"][0]
    n.op_type = "GlobalMaxPool"
    del n.attribute[:]
    onnx.checker.check_model(m)
    onnx.save(m, path(dst))


def reference(m, x, y, name, feat=None):
    """feat: also the trunk's pooled features (name_feat.npy)."""
    tref.reference(m, x, y, path(name),
                  (lambda md, xd: md.trunk(xd).mean((2, 3))) if feat else None)


def fgsm(m, name, x=None):
    """PyTorch's float64 FGSM accuracies of m on images labelled by m (x:
    fgsm_x.npy's images, drawn when None); returns the images."""
    md = m.double()
    x = torch.rand(200, 2, 8, 8) if x is None else x
    xd = x.double()
    with torch.no_grad():
        y = md(xd).argmax(1)
    xg = xd.clone().requires_grad_(True)
    F.cross_entropy(md(xg), y, reduction="sum").backward()
    acc = {}
    for eps in (0.0, 0.005, 0.01, 0.02, 0.05):
        with torch.no_grad():
            xa = (xd + eps * xg.grad.sign()).clamp(0, 1)
            acc[str(eps)] = float((md(xa).argmax(1) == y).double().mean())
    np.save(path("fgsm_x.npy"), x.numpy().astype(np.float32))
    np.save(path("fgsm_labels_%s.npy" % name), y.numpy().astype(np.int64))
    with open(path("fgsm_%s.json" % name), "w") as f:
        json.dump({"accuracy": acc, "n": 200}, f, indent=1)
    m.float()
    return x


def gmp_layer():
    """Global max pooling alone on tied maxima, against PyTorch float64."""
    x = torch.randint(-3, 4, (3, 4, 5, 6)).float()
    dy = torch.rand(3, 4) * 2 - 1
    np.save(path("gmp_x.npy"), x.numpy())
    np.save(path("gmp_dy.npy"), dy.numpy())
    xd = x.double().requires_grad_(True)
    y = F.adaptive_max_pool2d(xd, 1).flatten(1)
    (y * dy.double()).sum().backward()
    np.save(path("gmp_y.npy"), y.detach().numpy())
    np.save(path("gmp_dx.npy"), xd.grad.numpy())
    xd.grad = None
    (xd.amax((2, 3)) * dy.double()).sum().backward()
    np.save(path("gmp_dx_amax.npy"), xd.grad.numpy())


def main():
    os.makedirs(OUT, exist_ok=True)
    x = torch.rand(8, 2, 8, 8)
    y = torch.randint(0, 4, (8,))
    np.save(path("x.npy"), x.numpy().astype(np.float32))
    np.save(path("labels.npy"), y.numpy().astype(np.int64))
    files = {"mean": [("mean", 13), ("mean", 17), ("meanneg", 13),
                      ("meankeep", 17)],
             "max": [("max", 13), ("maxmod", 17), ("amax", 13), ("amax", 17),
                     ("maxview", 13), ("amax2", 13)]}
    fx = None
    for ref, variants in files.items():
        net = Net(ref).eval()
        tref.centre(net, x, net.fc.bias)
        with torch.no_grad():
            for pool, op in variants:
                net.pool = pool
                export(net, x, "%s_op%d" % (pool, op), op)
        net.pool = ref
        reference(net, x, y, ref)
        if ref == "max":
            fx = fgsm(net, "max")
    to_opset18("mean_op17.onnx", "mean_op18.onnx")
    to_opset18("amax_op17.onnx", "amax_op18.onnx")
    to_global("max_op13.onnx", "global_op13.onnx")
    head = Head("avg").eval()
    tref.centre(head, x, head.cls.bias)
    with torch.no_grad():
        export(head, x, "head_op13", 13)
        head.kind = "mean"
        export(head, x, "head_mean_op17", 17)
        head.kind = "avgpool"
        export(head, x, "head_avgpool_op17", 17)
        head.kind = "max"
        export(head, x, "head_max_op13", 13)
        export(MeanW().eval(), x, "bad_meanw_op13", 13)
        export(MaxC().eval(), x, "bad_maxc_op13", 13)
    head.kind = "avg"
    reference(head, x, y, "head", feat=True)
    gmp_layer()
    relu = Head("relu").eval()
    balance(relu, fx)
    with torch.no_grad():
        export(relu, x, "head_relu_op13", 13)
        relu.kind = "relumean"
        export(relu, x, "head_relumean_op17", 17)
    relu.kind = "relu"
    reference(relu, x, y, "head_relu")
    fgsm(relu, "head_relu", fx)
    head.kind = "max"
    reference(head, x, y, "head_max")
    s2 = Head("s2").eval()  # drawn last: the files above keep their bytes
    s2.cls3 = nn.Conv2d(6, 4, 3, stride=2, padding=1)
    with torch.no_grad():
        s2.cls3.weight.mul_(SCALE)
        tref.centre(s2, x, s2.cls3.bias)
        export(s2, x, "head_s2_op13", 13)
    reference(s2, x, y, "head_s2")


if __name__ == "__main__":
    main()
