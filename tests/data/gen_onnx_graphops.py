#!/usr/bin/python3
"""Classifiers whose ONNX exports (torch.onnx.export) use Mul of two values,
Concat, ReduceMean and BatchNormalization on N × C, with PyTorch's float64
logits and input gradients. Run with Debian's PyTorch from anywhere:

    /usr/bin/python3 tests/data/gen_onnx_graphops.py

It (re)writes tests/data/onnx_graphops/:
  x.npy            images, float32 [8, 2, 8, 8]
  v.npy            vectors, float32 [8, 12]
  labels.npy       int64 [8] (classes 0..3), for both
  cnn_op13.onnx, cnn_op17.onnx
                   a CNN: stem Conv+ReLU; a gating h·relu(conv_g(h)) (Mul
                   of two values); a squeeze-and-excitation gate
                   relu(fc(relu(fc(h.mean((2, 3)))))).reshape(-1, 6, 1, 1)·h
                   (Mul of [N, 6, 1, 1] by [N, 6, 8, 8]); the square t·t of
                   a convolution (Mul with one input twice); a three-branch Concat of 1×1,
                   3×3 and 5×5 convolutions (Concat of 3 values, axis 1);
                   x.mean((2, 3)) (ReduceMean, keepdims 0); Linear(·, 4)
  cnn_op18.onnx    cnn_op17.onnx in opset 18's form (torch 1.13 exports
                   opsets up to 17): each ReduceMean's axes an int64
                   initializer input, noop_with_empty_axes 0 written out
  cnn_keep_op13.onnx
                   the same with x.mean((2, 3), keepdim=True) and a Flatten
  cnn_logits.npy   the CNN's logits in float64 on the file's float32
                   weights [8, 4]
  cnn_grad.npy     d(sum of cross-entropies)/dx in float64 [8, 2, 8, 8]
  fgsm_x.npy, fgsm_labels.npy
                   200 images in [0, 1], float32 [200, 2, 8, 8], labelled
                   with the CNN's own float64 predictions
  fgsm.json        the CNN's FGSM accuracy on them per eps (x + eps·sign of
                   the cross-entropy's input gradient, clipped to [0, 1]),
                   computed by PyTorch in float64
  mlp_op13.onnx, mlp_op17.onnx
                   an MLP: Linear(12, 16) -> BatchNorm1d(16) (eval, random
                   running statistics) -> ReLU; a second Linear(12, 6) ->
                   ReLU branch; Concat of the two (N × D, axis 1) ->
                   x·relu(x) (Mul) -> Linear(22, 4)
  mlp_logits.npy, mlp_grad.npy   likewise for the MLP on v.npy
  bad_cat_batch.onnx   torch.cat along the batch axis (refused)
  bad_cat_h.onnx       torch.cat along the height (refused)
  bad_mean_c.onnx      x.mean(1) after a Flatten (refused)
  bad_mean_attr18.onnx cnn_op17.onnx declared opset 18: the axes attribute
                       opset 18 no longer has (refused)
  bad_mean_input17.onnx  cnn_op18.onnx declared opset 17: an axes input
                       (refused)
  bad_mean_noop.onnx   cnn_op18.onnx with the first ReduceMean's axes
                       input removed and noop_with_empty_axes = 1 (refused:
                       it reduces nothing)
"""
import json
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper
import torch
from torch import nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx_graphops")
torch.manual_seed(11)


class CNN(nn.Module):
    def __init__(self, keep=False):
        super().__init__()
        self.keep = keep
        self.stem = nn.Conv2d(2, 6, 3, padding=1)
        self.gate = nn.Conv2d(6, 6, 1)
        self.se1 = nn.Linear(6, 3)
        self.se2 = nn.Linear(3, 6)
        self.sq = nn.Conv2d(6, 4, 3, padding=1)
        self.b1 = nn.Conv2d(4, 3, 1)
        self.b3 = nn.Conv2d(4, 5, 3, padding=1)
        self.b5 = nn.Conv2d(4, 2, 5, padding=2)
        self.fc = nn.Linear(10, 4)
        # the products of small activations would leave the logits almost
        # constant (std 1e-5 over inputs): larger weights make them vary
        with torch.no_grad():
            for p in self.parameters():
                if p.dim() > 1:
                    p.mul_(3.6)

    def forward(self, x):
        h = torch.relu(self.stem(x))
        h = h * torch.relu(self.gate(h))           # Mul of two values
        s = self.se2(torch.relu(self.se1(h.mean((2, 3)))))
        h = torch.relu(s).reshape(-1, 6, 1, 1) * h  # a gate per channel
        t = self.sq(h)
        t = t * t                                  # Mul(t, t)
        c = torch.cat([self.b1(t), torch.relu(self.b3(t)), self.b5(t)], 1)
        if self.keep:
            g = torch.flatten(c.mean((2, 3), keepdim=True), 1)
        else:
            g = c.mean((2, 3))
        return self.fc(g)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(12, 6)
        self.head = nn.Linear(22, 4)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.5, 0.5)
            self.bn.running_var.uniform_(0.2, 2.0)
            self.bn.weight.uniform_(0.5, 1.5)
            self.bn.bias.uniform_(-0.3, 0.3)

    def forward(self, v):
        a = torch.relu(self.bn(self.fc1(v)))
        b = torch.relu(self.fc2(v))
        c = torch.cat([a, b], 1)
        return self.head(c * torch.relu(c))


class CatBatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 4)

    def forward(self, v):
        return self.fc(torch.cat([v, v], 0))


class CatH(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2 * 16 * 8, 4)

    def forward(self, x):
        return self.fc(torch.flatten(torch.cat([x, x], 2), 1))


class MeanC(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 4)

    def forward(self, x):
        return self.fc(torch.flatten(x, 1).mean(1, keepdim=True))


def export(m, x, name, opset):
    torch.onnx.export(m, (x,), os.path.join(OUT, name + ".onnx"),
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}},
                      opset_version=opset, do_constant_folding=True)


def to_opset18(src, dst):
    """ReduceMean's axes attribute as the input opset 18 has."""
    m = onnx.load(os.path.join(OUT, src))
    for k, n in enumerate(m.graph.node):
        if n.op_type != "ReduceMean":
            continue
        axes = [a for a in n.attribute if a.name == "axes"][0]
        name = "%s_axes" % n.name.strip("/").replace("/", "_")
        m.graph.initializer.append(
            numpy_helper.from_array(np.array(axes.ints, np.int64), name))
        n.attribute.remove(axes)
        n.attribute.append(helper.make_attribute("noop_with_empty_axes", 0))
        n.input.append(name)
    m.opset_import[0].version = 18
    onnx.save(m, os.path.join(OUT, dst))


def variant(src, dst, opset, noop=False):
    m = onnx.load(os.path.join(OUT, src))
    m.opset_import[0].version = opset
    if noop:
        n = [n for n in m.graph.node if n.op_type == "ReduceMean"][0]
        del n.input[1]
        [a for a in n.attribute if a.name == "noop_with_empty_axes"][0].i = 1
    onnx.save(m, os.path.join(OUT, dst))


def reference(m, x, y, name):
    """float64 logits and the input gradient of the summed cross-entropy."""
    md = m.double()
    xd = x.double().clone().requires_grad_(True)
    z = md(xd)
    F.cross_entropy(z, y, reduction="sum").backward()
    np.save(os.path.join(OUT, name + "_logits.npy"), z.detach().numpy())
    np.save(os.path.join(OUT, name + "_grad.npy"), xd.grad.numpy())
    m.float()


def fgsm(m, out):
    """PyTorch's float64 FGSM accuracies of m on images labelled by m."""
    md = m.double()
    x = torch.rand(200, 2, 8, 8)
    xd = x.double()
    with torch.no_grad():
        y = md(xd).argmax(1)
    xg = xd.clone().requires_grad_(True)
    F.cross_entropy(md(xg), y, reduction="sum").backward()
    acc = {}
    for eps in (0.0, 0.05, 0.1, 0.2, 0.3):
        with torch.no_grad():
            xa = (xd + eps * xg.grad.sign()).clamp(0, 1)
            acc[str(eps)] = float((md(xa).argmax(1) == y).double().mean())
    np.save(os.path.join(OUT, "fgsm_x.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, "fgsm_labels.npy"), y.numpy().astype(np.int64))
    with open(os.path.join(OUT, "fgsm.json"), "w") as f:
        json.dump({"accuracy": acc, "n": 200}, f, indent=1)
    m.float()


def main():
    os.makedirs(OUT, exist_ok=True)
    x = torch.rand(8, 2, 8, 8) * 2 - 1
    v = torch.rand(8, 12) * 2 - 1
    y = torch.randint(0, 4, (8,))
    np.save(os.path.join(OUT, "x.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, "v.npy"), v.numpy().astype(np.float32))
    np.save(os.path.join(OUT, "labels.npy"), y.numpy().astype(np.int64))
    cnn = CNN().eval()
    with torch.no_grad():
        for op in (13, 17):
            export(cnn, x, "cnn_op%d" % op, op)
        to_opset18("cnn_op17.onnx", "cnn_op18.onnx")
        variant("cnn_op17.onnx", "bad_mean_attr18.onnx", 18)
        variant("cnn_op18.onnx", "bad_mean_input17.onnx", 17)
        variant("cnn_op18.onnx", "bad_mean_noop.onnx", 18, noop=True)
        keep = CNN(keep=True).eval()
        keep.load_state_dict(cnn.state_dict())
        export(keep, x, "cnn_keep_op13", 13)
    reference(cnn, x, y, "cnn")
    mlp = MLP().eval()
    with torch.no_grad():
        for op in (13, 17):
            export(mlp, v, "mlp_op%d" % op, op)
    reference(mlp, v, y, "mlp")
    with torch.no_grad():
        export(CatBatch().eval(), v, "bad_cat_batch", 13)
        export(CatH().eval(), x, "bad_cat_h", 13)
        export(MeanC().eval(), x, "bad_mean_c", 13)
    fgsm(cnn, OUT)


if __name__ == "__main__":
    main()
