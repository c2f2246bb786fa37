#!/usr/bin/python3
"""A MobileNetV2 inverted-residual block at width 160 (expansion 6) for
1x28x28 inputs, exported to ONNX for bench/bench_model, and PyTorch's own
float32 times on one thread (the peer of bench_model's figures).

  /usr/bin/python3 bench/torch_mbv2_peer.py OUT.onnx [--n 200] [--reps 3]

The network: Conv(1->160, 3x3, stride 2, pad 1) BN ReLU6 (14x14), then the
block: Conv 1x1 160->960, BN, ReLU6, depthwise Conv 3x3 (groups 960), BN,
ReLU6, Conv 1x1 960->160, BN, plus the input; global average pooling,
Linear(160, 10). Exported in eval mode (PyTorch folds each BN into the conv
before it). Times, the fastest of --reps: the logits of n inputs uniform in
[0, 1] in batches of 64, and one FGSM step on them (summed cross-entropy
against labels i mod 10, the input gradient, x + 0.1 sign, clipped). Prints
one JSON line: wall-clock and CPU seconds of the fastest run."""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c=160, t=6):
        super().__init__()
        h = c * t
        self.conv = nn.Sequential(
            nn.Conv2d(c, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
            nn.Conv2d(h, h, 3, padding=1, groups=h, bias=False),
            nn.BatchNorm2d(h), nn.ReLU6(),
            nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.conv(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    net = nn.Sequential(nn.Conv2d(1, 160, 3, stride=2, padding=1, bias=False),
                        nn.BatchNorm2d(160), nn.ReLU6(), Block(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(160, 10))
    net.eval()
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), a.out, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    x = torch.rand(a.n, 1, 28, 28)
    y = torch.arange(a.n) % 10
    best_f = best_g = float("inf")
    cpu_f = cpu_g = 0.0
    for _ in range(a.reps):
        c0, t0 = time.process_time(), time.perf_counter()
        with torch.no_grad():
            for i in range(0, a.n, 64):
                net(x[i:i + 64])
        c1, t1 = time.process_time(), time.perf_counter()
        for i in range(0, a.n, 64):
            xb = x[i:i + 64].clone().requires_grad_(True)
            F.cross_entropy(net(xb), y[i:i + 64], reduction="sum").backward()
            (xb + 0.1 * xb.grad.sign()).clamp(0, 1)
        c2, t2 = time.process_time(), time.perf_counter()
        if t1 - t0 < best_f:
            best_f, cpu_f = t1 - t0, c1 - c0
        if t2 - t1 < best_g:
            best_g, cpu_g = t2 - t1, c2 - c1
    print(json.dumps({"model": "torch float32", "params": sum(
        p.numel() for p in net.parameters()), "n": a.n,
        "logits_s": round(best_f, 3), "fgsm_step_s": round(best_g, 3),
        "logits_cpu_s": round(cpu_f, 3), "fgsm_cpu_s": round(cpu_g, 3)}))


if __name__ == "__main__":
    main()
