#!/usr/bin/python3
"""A LeNet-5 trained on Fashion-MNIST by PyTorch and exported to ONNX, with
PyTorch's own test predictions and FGSM accuracies, for tests/cli_onnx.sh.

Run with Debian's python3-torch, python3-onnx and dataset-fashion-mnist:

    /usr/bin/python3 tests/data/gen_torch_lenet.py

It writes tests/data/torch_lenet_fmnist/:
  model.onnx  the network (the input normalization (x - 0.2860)/0.3530 inside
              it, then LeNet-5 as lsprobe's --arch lenet), exported by
              torch.onnx.export with opset 13 and a dynamic batch axis
  preds.npy   uint8, the class PyTorch (float64) predicts for each of the
              10000 test images
  case.json   the training recipe; test accuracy (float32 and float64, the
              same predictions); FGSM accuracy per eps computed by PyTorch in
              float64 and in float32 (the float32 gradient loses its
              direction on saturated rows: p_y rounds to exactly 1); the
              number of such rows; the smallest top-2 logit margin.

Pixels are uint8/255 in float32, as lsprobe reads them; FGSM is
x' = clip(x + eps * sign(grad_x sum CE(f(x), y)), 0, 1) with sign(0) = 0,
each eps from the clean x. The script checks that float32 and float64
disagree on FGSM by more than 0.005 somewhere (else the test that lsprobe
follows float64 could not tell the two apart).
"""
import gzip
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "torch_lenet_fmnist")
DATA = os.environ.get("LSPROBE_DATA", "/usr/share/datasets/fashion-mnist")
EPS = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3]
EPOCHS, LR, MOMENTUM, BATCH, SEED = 3, 0.05, 0.9, 128, 1


def idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([[[[0.2860]]]]))
        self.register_buffer("std", torch.tensor([[[[0.3530]]]]))
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def fgsm(model, x, y, dtype):
    m = model.to(dtype)
    xs = x.to(dtype).clone().requires_grad_(True)
    z = m(xs)
    F.cross_entropy(z, y, reduction="sum").backward()
    s = torch.sign(xs.grad)
    accs = []
    with torch.no_grad():
        for e in EPS:
            xa = torch.clamp(xs + e * s, 0.0, 1.0)
            accs.append(float((m(xa).argmax(1) == y).double().mean()))
    return accs, z.detach()


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    xtr = torch.from_numpy(idx("train-images-idx3-ubyte.gz").copy())
    ytr = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    xte = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").copy())
    yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    xtr = (xtr.float() / 255.0).unsqueeze(1)
    xte = (xte.float() / 255.0).unsqueeze(1)
    model = LeNet()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    gen = torch.Generator().manual_seed(SEED)
    for _ in range(EPOCHS):
        perm = torch.randperm(len(ytr), generator=gen)
        for k in range(0, len(ytr), BATCH):
            b = perm[k:k + BATCH]
            opt.zero_grad()
            F.cross_entropy(model(xtr[b]), ytr[b]).backward()
            opt.step()
    model.eval()
    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28),
                      os.path.join(OUT, "model.onnx"), opset_version=13,
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}})
    acc64, z64 = fgsm(model, xte, yte, torch.float64)
    acc32, z32 = fgsm(model, xte, yte, torch.float32)
    p32 = torch.softmax(z32, 1)
    saturated = int((p32.gather(1, yte[:, None]) == 1.0).sum())
    pred64, pred32 = z64.argmax(1), z32.argmax(1)
    top2 = torch.topk(z64, 2, 1).values
    np.save(os.path.join(OUT, "preds.npy"), pred64.numpy().astype(np.uint8))
    case = {
        "torch": torch.__version__,
        "recipe": {"epochs": EPOCHS, "lr": LR, "momentum": MOMENTUM,
                   "batch": BATCH, "seed": SEED, "loss": "cross_entropy"},
        "n_test": len(yte),
        "correct_float64": int((pred64 == yte).sum()),
        "correct_float32": int((pred32 == yte).sum()),
        "same_predictions_32_64": bool((pred64 == pred32).all()),
        "min_top2_margin": float((top2[:, 0] - top2[:, 1]).min()),
        "saturated_rows_float32": saturated,
        "fgsm_eps": EPS,
        "fgsm_accuracy_float64": acc64,
        "fgsm_accuracy_float32": acc32,
    }
    with open(os.path.join(OUT, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
    print(json.dumps(case, indent=1))
    gap = max(abs(a - b) for a, b in zip(acc32, acc64))
    assert case["same_predictions_32_64"], "float32 and float64 disagree"
    assert saturated > 0 and gap > 0.005, (saturated, gap)


if __name__ == "__main__":
    main()
