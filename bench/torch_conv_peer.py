#!/usr/bin/python3
"""PyTorch peer of bench/bench_conv: Conv2d forward and backward (dx unless
the layer is the first, dw, db) on the same LeNet-5 and ResNet-8 shapes,
shares of --n samples, one thread, the fastest of --reps timings.

  /usr/bin/python3 bench/torch_conv_peer.py [--n 64] [--reps 15]

Prints one JSON line per shape in bench_conv's format (impl "torch")."""
import argparse
import json
import time

import torch
import torch.nn.functional as F

# name: c_in, size, c_out, kernel, stride, padding, needs dx
SHAPES = [
    ("lenet.conv1", 1, 28, 6, 5, 1, 2, False),
    ("lenet.conv2", 6, 14, 16, 5, 1, 0, True),
    ("resnet8.stem", 1, 28, 16, 3, 1, 1, False),
    ("resnet8.b1", 16, 28, 16, 3, 1, 1, True),
    ("resnet8.b2a", 16, 28, 32, 3, 2, 1, True),
    ("resnet8.b2b", 32, 14, 32, 3, 1, 1, True),
    ("resnet8.b2sc", 16, 28, 32, 1, 2, 0, True),
    ("resnet8.b3a", 32, 14, 64, 3, 2, 1, True),
    ("resnet8.b3b", 64, 7, 64, 3, 1, 1, True),
]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--reps", type=int, default=15)
    a = p.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(7)
    for name, ci, hw, co, k, s, pad, need_dx in SHAPES:
        x = torch.rand(a.n, ci, hw, hw, generator=g) - 0.5
        w = (torch.rand(co, ci, k, k, generator=g) - 0.5).requires_grad_(True)
        b = (torch.rand(co, generator=g) - 0.5).requires_grad_(True)
        x.requires_grad_(need_dx)
        tf = tb = float("inf")
        for r in range(a.reps + 1):
            t0 = time.perf_counter()
            y = F.conv2d(x, w, b, s, pad)
            t1 = time.perf_counter()
            y.backward(torch.ones_like(y))
            t2 = time.perf_counter()
            w.grad = b.grad = x.grad = None
            if r > 0:
                tf, tb = min(tf, t1 - t0), min(tb, t2 - t1)
        print(json.dumps({"shape": name, "impl": "torch", "torch": torch.__version__,
                          "n": a.n, "fwd_s": round(tf, 6), "bwd_s": round(tb, 6),
                          "samples_per_s": round(a.n / (tf + tb))}), flush=True)


if __name__ == "__main__":
    main()
