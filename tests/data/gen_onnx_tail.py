#!/usr/bin/python3
"""ONNX classifiers whose logits pass through constant affine maps after the
last Linear, as torch.onnx.export writes them, and PyTorch's float64 logits
for them. Run with Debian's PyTorch from anywhere:

    /usr/bin/python3 tests/data/gen_onnx_tail.py

It (re)writes tests/data/onnx_tail/:
  x.npy                   inputs, float32 [16, 8]
  temp.onnx, temp_logits.npy      MLP(x) / T, T a Parameter (1.7): Gemm, Div
  affine.onnx, affine_logits.npy  MLP(x) * s - c, s and c per-class
                                  Parameters [4]: Gemm, Mul, Sub
  chain.onnx, chain_logits.npy    (2 - MLP(x) / T + b) * 0.5, scalar and
                                  per-class constants: Gemm, Div, Sub with
                                  the constant first, Add, Mul
  norm.onnx               MLP(x) / ||MLP(x)|| (refused: the divisor is
                          computed from the logits)
The logits are computed in float64 on the float32 weights the files hold.
"""
import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx_tail")
torch.manual_seed(7)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class Temp(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net
        self.temperature = nn.Parameter(torch.tensor(1.7))

    def forward(self, x):
        return self.net(x) / self.temperature


class Affine(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net
        self.s = nn.Parameter(torch.tensor([0.5, 2.0, -1.25, 3.0]))
        self.c = nn.Parameter(torch.tensor([0.1, -0.3, 0.7, 0.0]))

    def forward(self, x):
        return self.net(x) * self.s - self.c


class Chain(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net
        self.temperature = nn.Parameter(torch.tensor(0.8))
        self.b = nn.Parameter(torch.tensor([1.0, -2.0, 0.25, 0.5]))

    def forward(self, x):
        return (2.0 - self.net(x) / self.temperature + self.b) * 0.5


class Norm(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        z = self.net(x)
        return z / z.norm()


def export(m, x, name):
    torch.onnx.export(m, (x,), os.path.join(OUT, name + ".onnx"),
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}},
                      opset_version=13, do_constant_folding=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    x = torch.rand(16, 8) * 2 - 1
    np.save(os.path.join(OUT, "x.npy"), x.numpy().astype(np.float32))
    for cls, name in ((Temp, "temp"), (Affine, "affine"), (Chain, "chain"),
                      (Norm, "norm")):
        m = cls(MLP()).eval()
        with torch.no_grad():
            export(m, x, name)
            if name != "norm":
                z = m.double()(x.double())
                np.save(os.path.join(OUT, name + "_logits.npy"), z.numpy())


if __name__ == "__main__":
    main()
