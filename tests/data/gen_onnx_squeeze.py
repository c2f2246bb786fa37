#!/usr/bin/python3
"""The ways PyTorch classifiers drop the 1 x 1 left by a global pooling
(Squeeze, Gather by an index, Slice), exported by torch.onnx.export
(Debian's PyTorch 1.13, python3-onnx 1.12) at opsets 11, 13 and 17, with
(`_dyn`) and without dynamic_axes on the batch dimension, with PyTorch's
float64 numbers. Run from anywhere:

    /usr/bin/python3 tests/data/gen_onnx_squeeze.py

It (re)writes tests/data/onnx_squeeze/:
  x.npy            images in [0, 1], float32 [8, 2, 6, 6]
  labels.npy       int64 [8] (classes 0..3)
  A CNN conv(2, 3, 3, p 1) relu, global average pooling, Linear(3, 4) (one
  set of weights, `gap`), p = F.adaptive_avg_pool2d(h, 1):
  flat_op13_dyn.onnx            torch.flatten(p, 1) (the form lsprobe read
                   before: GlobalAveragePool, Flatten)
  sq_op{11,13,17}[_dyn].onnx    p.squeeze(-1).squeeze(-1) (two Squeeze, axes
                   [3] then [2]: an attribute at opset 11, an input from 13)
  sq32_op13_dyn.onnx            p.squeeze(3).squeeze(2)
  sqpair_op{11,13}_dyn.onnx     sq's file with one Squeeze of axes [2, 3]
                   (torch.squeeze(p, (2, 3)) of later PyTorch; 1.13 has no
                   tuple form), edited with python3-onnx
  sqall_op13.onnx               p.squeeze(), no axes, the batch fixed at 8
  idx_op{11,13,17}[_dyn].onnx   p[:, :, 0, 0] (two Gather of index 0 on
                   axis 2)
  neg_op13_dyn.onnx             p[:, :, -1, -1]
  sel_op17_dyn.onnx             p.select(3, 0).select(2, 0) (Gather on axis
                   3, then 2)
  nar_op{11,13}_dyn.onnx        p.narrow(3, 0, 1).squeeze(3).squeeze(2)
                   (Slice of axis 3, then two Squeeze)
  sl_op13_dyn.onnx              p[:, :, 0:1, 0:1].flatten(1) (two Slice,
                   then Flatten)
  mean_op{11,13,17}.onnx        h.mean((2, 3)) (ReduceMean, keepdims 0)
  The same trunk, global max pooling (`gmp`), q = F.adaptive_max_pool2d(h, 1)
  (a MaxPool over the whole image):
  flatm_op13_dyn.onnx           torch.flatten(q, 1)
  sqm_op{11,13,17}_dyn.onnx     q.squeeze(-1).squeeze(-1)
  idxm_op{13,17}_dyn.onnx       q[:, :, 0, 0]
  amax_op11.onnx                h.amax((2, 3)) (ReduceMax, keepdims 0)
  A 1x1-convolution head, conv(3, 4, 1) pooled by a global average as the
  logits (`head`, its own weights):
  head_op13_dyn.onnx            torch.flatten(F.adaptive_avg_pool2d(z, 1), 1)
  head_sq_op13_dyn.onnx         F.adaptive_avg_pool2d(z, 1).squeeze(-1)
                   .squeeze(-1)
  {gap,gmp,head}_logits.npy  the float64 logits on the files' weights
  {gap,gmp,head}_grad.npy    d(sum of cross-entropies)/dx in float64
  {gap,gmp,head}_fgsm.npy    the float64 predictions (int64) on
                   clip(x + 0.1 sign(grad), 0, 1)
  Refused (the gap weights; `dyn`):
  bad_sqall_op13_dyn.onnx  p.squeeze() with a symbolic batch (a batch of 1
                   would go too)
  bad_sqall1_op13.onnx     p.squeeze() with the batch fixed at 1
  bad_sq6_op13_dyn.onnx    sq_op13_dyn.onnx with its first Squeeze reading
                   the ReLU's 6 x 6 maps (an axis of size 6)
  bad_idxhw_op13_dyn.onnx  h[:, :, 0, 0] (one pixel, no pooling)
  bad_idxc_op13_dyn.onnx   p[:, 0] (one channel of 3)
  bad_idxn_op13_dyn.onnx   idx_op13_dyn.onnx with the first Gather on axis 0
                   (the batch)
  bad_idx1_op13_dyn.onnx   idx_op13_dyn.onnx with the index 1 (outside an
                   axis of size 1)
  bad_crop_op13_dyn.onnx   h[:, :, 1:3, 1:3].flatten(1) (a crop)
  bad_sqattr_op13_dyn.onnx sq_op13_dyn.onnx with the axes of its first
                   Squeeze as an attribute (opset 11's form, which
                   onnx.checker refuses at opset 13 too)
"""
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

OUT = tref.out_dir(__file__, "onnx_squeeze")
torch.manual_seed(41)


def gap(h):
    return F.adaptive_avg_pool2d(h, 1)


def gmp(h):
    return F.adaptive_max_pool2d(h, 1)


KINDS = {
    "flat": lambda h: torch.flatten(gap(h), 1),
    "sq": lambda h: gap(h).squeeze(-1).squeeze(-1),
    "sq32": lambda h: gap(h).squeeze(3).squeeze(2),
    "sqall": lambda h: gap(h).squeeze(),
    "idx": lambda h: gap(h)[:, :, 0, 0],
    "neg": lambda h: gap(h)[:, :, -1, -1],
    "sel": lambda h: gap(h).select(3, 0).select(2, 0),
    "nar": lambda h: gap(h).narrow(3, 0, 1).squeeze(3).squeeze(2),
    "sl": lambda h: gap(h)[:, :, 0:1, 0:1].flatten(1),
    "mean": lambda h: h.mean((2, 3)),
    "flatm": lambda h: torch.flatten(gmp(h), 1),
    "sqm": lambda h: gmp(h).squeeze(-1).squeeze(-1),
    "idxm": lambda h: gmp(h)[:, :, 0, 0],
    "amax": lambda h: h.amax((2, 3)),
    "bad_idxhw": lambda h: h[:, :, 0, 0],
    "bad_idxc": lambda h: gap(h)[:, 0],
    "bad_crop": lambda h: h[:, :, 1:3, 1:3].flatten(1),
}


class Net(nn.Module):
    def __init__(self, kind, feat=3, scale=2.5):
        super().__init__()
        self.kind = kind
        self.c1 = nn.Conv2d(2, 3, 3, padding=1)
        self.fc = nn.Linear(feat, 4)
        with torch.no_grad():  # logits that vary over the inputs
            self.c1.weight.mul_(2.5)
            self.fc.weight.mul_(scale)

    def forward(self, x):
        return self.fc(KINDS[self.kind](torch.relu(self.c1(x))))


class Head(nn.Module):
    """conv(3, 4, 1) to the classes, averaged over the pixels; `sq`: the
    pooled maps squeezed instead of flattened."""

    def __init__(self):
        super().__init__()
        self.sq = False
        self.c1 = nn.Conv2d(2, 3, 3, padding=1)
        self.cls = nn.Conv2d(3, 4, 1)
        with torch.no_grad():
            self.c1.weight.mul_(2.5)
            self.cls.weight.mul_(25.0)

    def forward(self, x):
        p = gap(self.cls(torch.relu(self.c1(x))))
        return p.squeeze(-1).squeeze(-1) if self.sq else torch.flatten(p, 1)


def path(name):
    return os.path.join(OUT, name)


def export(m, x, kind, opset, dyn):
    tref.export(m, x, path(tref.onnx_name(kind, opset, dyn)), opset, dyn)


def reference(m, x, y, name):
    tref.reference(m, x, y, path(name))


def edit(src, dst, change, check=True):
    """dst: the model of src changed by change(model), checked unless it is
    invalid on purpose."""
    m = onnx.load(path(src))
    change(m)
    if check:
        onnx.checker.check_model(m)
    onnx.save(m, path(dst))


def nodes(m, op):
    return [n for n in m.graph.node if n.op_type == op]


def squeeze_pair(m, opset):
    """The two Squeeze of axes [3] and [2] as one of axes [2, 3]."""
    a, b = nodes(m, "Squeeze")
    b.input[0] = a.input[0]
    if opset <= 12:
        b.attribute[0].ints[:] = [2, 3]
    else:
        axes = [n for n in m.graph.node if n.output[0] == b.input[1]][0]
        axes.attribute[0].t.CopyFrom(numpy_helper.from_array(
            np.array([2, 3], np.int64)))
        m.graph.node.remove([n for n in m.graph.node
                             if n.output[0] == a.input[1]][0])
    m.graph.node.remove(a)


def main():
    os.makedirs(OUT, exist_ok=True)
    x = torch.rand(8, 2, 6, 6)
    y = torch.randint(0, 4, (8,))
    np.save(path("x.npy"), x.numpy().astype(np.float32))
    np.save(path("labels.npy"), y.numpy().astype(np.int64))
    every = [(op, dyn) for op in (11, 13, 17) for dyn in (0, 1)]
    sets = (("gap", [("flat", 13, 1)] + [("sq", o, d) for o, d in every]
             + [("sq32", 13, 1), ("sqall", 13, 0)]
             + [("idx", o, d) for o, d in every]
             + [("neg", 13, 1), ("sel", 17, 1), ("nar", 11, 1),
                ("nar", 13, 1), ("sl", 13, 1), ("mean", 11, 0),
                ("mean", 13, 0), ("mean", 17, 0)]),
            ("gmp", [("flatm", 13, 1), ("sqm", 11, 1), ("sqm", 13, 1),
                     ("sqm", 17, 1), ("idxm", 13, 1), ("idxm", 17, 1),
                     ("amax", 11, 0)]))
    for ref, variants in sets:
        # the means of the pixels vary less over the images than their maxima
        net = Net(variants[0][0], scale=25.0 if ref == "gap" else 2.5).eval()
        tref.centre(net, x, net.fc.bias)
        with torch.no_grad():
            for kind, op, dyn in variants:
                net.kind = kind
                export(net, x, kind, op, dyn)
        net.kind = variants[0][0]
        reference(net, x, y, ref)
        if ref == "gap":
            with torch.no_grad():
                net.kind = "sqall"
                export(net, x, "bad_sqall", 13, 1)
                export(net, x[:1], "bad_sqall1", 13, 0)
                for kind, feat in (("bad_idxhw", 3), ("bad_idxc", 1),
                                   ("bad_crop", 12)):
                    export(Net(kind, feat).eval(), x, kind, 13, 1)
    head = Head().eval()
    tref.centre(head, x, head.cls.bias)
    with torch.no_grad():
        export(head, x, "head", 13, 1)
        head.sq = True
        export(head, x, "head_sq", 13, 1)
    reference(head, x, y, "head")
    for op in (11, 13):
        edit(tref.onnx_name("sq", op, 1), tref.onnx_name("sqpair", op, 1),
             lambda m, op=op: squeeze_pair(m, op))

    def sq6(m):
        nodes(m, "Squeeze")[0].input[0] = "/Relu_output_0"
    edit("sq_op13_dyn.onnx", "bad_sq6_op13_dyn.onnx", sq6)

    def axes_attr(m):
        sq = nodes(m, "Squeeze")[0]
        sq.attribute.append(helper.make_attribute("axes", [3]))
        del sq.input[1:]
    edit("sq_op13_dyn.onnx", "bad_sqattr_op13_dyn.onnx", axes_attr, False)

    def on_batch(m):
        nodes(m, "Gather")[0].attribute[0].CopyFrom(
            helper.make_attribute("axis", 0))
    edit("idx_op13_dyn.onnx", "bad_idxn_op13_dyn.onnx", on_batch)

    def index1(m):
        c = [n for n in m.graph.node
             if n.output[0] == nodes(m, "Gather")[0].input[1]][0]
        c.attribute[0].t.CopyFrom(numpy_helper.from_array(
            np.array(1, np.int64)))
    edit("idx_op13_dyn.onnx", "bad_idx1_op13_dyn.onnx", index1)


if __name__ == "__main__":
    main()
