#!/usr/bin/python3
"""Reference values of grouped and depthwise Conv2d from PyTorch.

Origin: written for lsprobe's tests (tests/test_conv_group.c); run with
Debian's PyTorch 1.13: /usr/bin/python3 tests/data/gen_torch_groupconv.py

Writes tests/data/torch_groupconv/:
  cases.json          every layer case's geometry (groups included)
  <case>_<t>.npy      x, w, b (float32 values), dy (float32), and y, dx, dw,
                      db computed by PyTorch in float64 on them (dx, dw, db:
                      gradients of sum(y * dy))
  net_*.npy           a small network with depthwise and grouped layers
                      (the spec NET_SPEC below, in lsprobe's --arch
                      grammar): its parameters flattened in state_dict
                      order (net_params), BatchNorm buffers (net_buffers),
                      inputs and labels, eval and training-mode logits, the
                      gradient of the mean cross-entropy in training mode
                      (net_grads) and the parameters after one step of SGD
                      (lr 0.1, momentum 0.9, weight decay 5e-4) on it
                      (net_params_after), all in float64 on float32 values.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_groupconv")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(31)
torch.manual_seed(31)


def f32(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def save(name, a):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a))


# ---- layers -----------------------------------------------------------------
CONV = [  # name, n, c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, groups, bias
    ("g2_s2", 2, 4, 9, 8, 6, 3, 3, 2, 2, 1, 1, 2, 1),
    ("g4_s2", 3, 8, 7, 10, 12, 3, 2, 2, 1, 1, 1, 4, 0),
    ("g4_1x1", 2, 8, 5, 6, 8, 1, 1, 1, 1, 0, 0, 4, 1),   # ShuffleNet's 1x1
    ("dw_m1_k3_s1", 2, 5, 9, 11, 5, 3, 3, 1, 1, 1, 1, 5, 1),
    ("dw_m1_k3_s2", 2, 6, 12, 13, 6, 3, 3, 2, 2, 1, 1, 6, 0),
    ("dw_m2_k3_s1", 2, 3, 8, 7, 6, 3, 3, 1, 1, 1, 1, 3, 1),
    ("dw_m2_k3_s2", 3, 4, 11, 9, 8, 3, 3, 2, 2, 1, 1, 4, 1),
    ("dw_m1_k5_s1", 2, 4, 10, 9, 4, 5, 5, 1, 1, 2, 2, 4, 1),
    ("dw_m1_k5_s2", 2, 3, 13, 14, 3, 5, 5, 2, 2, 2, 2, 3, 0),
    ("dw_m2_k5_s2", 2, 2, 9, 12, 4, 5, 5, 2, 2, 2, 2, 2, 1),
    ("dw_wide", 1, 3, 5, 40, 3, 3, 3, 1, 1, 1, 1, 3, 1),  # 3 vectors a row
    ("dw_pad3", 2, 2, 6, 7, 4, 3, 3, 2, 1, 3, 3, 2, 1),   # padding > k - 1
    ("dw_rect", 2, 3, 7, 9, 9, 2, 4, 1, 3, 0, 2, 3, 1),   # 2x4, strides 1, 3
]
cases = []
for (name, n, ci, h, w, co, kh, kw, sh, sw, ph, pw, g, bias) in CONV:
    x = f32(n, ci, h, w)
    wt = f32(co, ci // g, kh, kw, lo=-0.5, hi=0.5)
    b = f32(co) if bias else None
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    tw = torch.tensor(wt.astype(np.float64), requires_grad=True)
    tb = torch.tensor(b.astype(np.float64), requires_grad=True) if bias else None
    y = F.conv2d(tx, tw, tb, (sh, sw), (ph, pw), 1, g)
    dy = f32(*y.shape)
    (y * torch.tensor(dy.astype(np.float64))).sum().backward()
    save(f"{name}_x", x)
    save(f"{name}_w", wt)
    save(f"{name}_dy", dy)
    save(f"{name}_y", y.detach().numpy())
    save(f"{name}_dx", tx.grad.numpy())
    save(f"{name}_dw", tw.grad.numpy())
    if bias:
        save(f"{name}_b", b)
        save(f"{name}_db", tb.grad.numpy())
    cases.append(dict(name=name, n=n, c_in=ci, h_in=h, w_in=w, c_out=co, kh=kh,
                      kw=kw, sh=sh, sw=sw, ph=ph, pw=pw, groups=g, bias=bias))

# ---- a network, one training step ------------------------------------------
NET_SPEC = ("conv(12,1,bias=0) bn relu conv(12,3,p=1,g=12,bias=0) bn relu "
            "conv(24,5,s=2,p=2,g=12) relu conv(16,3,p=1,g=4) relu gap flatten")
N, K, C, H, W = 6, 5, 3, 10, 11
net = nn.Sequential(
    nn.Conv2d(C, 12, 1, bias=False), nn.BatchNorm2d(12), nn.ReLU(),
    nn.Conv2d(12, 12, 3, padding=1, groups=12, bias=False), nn.BatchNorm2d(12),
    nn.ReLU(),
    nn.Conv2d(12, 24, 5, stride=2, padding=2, groups=12), nn.ReLU(),
    nn.Conv2d(24, 16, 3, padding=1, groups=4), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, K))
with torch.no_grad():  # float32 values, float64 arithmetic
    for p in net.parameters():
        p.copy_(p.float())
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.copy_(torch.tensor(f32(m.num_features, lo=0.5, hi=1.5)))
            m.bias.copy_(torch.tensor(f32(m.num_features, lo=-0.2, hi=0.2)))
            m.running_mean.copy_(torch.tensor(f32(m.num_features, lo=-0.1, hi=0.1)))
            m.running_var.copy_(torch.tensor(f32(m.num_features, lo=0.5, hi=1.5)))
net = net.double()
x = rng.uniform(0, 1, size=(N, C, H, W)).astype(np.float32)
labels = rng.integers(0, K, size=N).astype(np.int32)
save("net_x", x)
save("net_labels", labels)
save("net_params", np.concatenate(
    [p.detach().numpy().ravel() for p in net.parameters()]).astype(np.float32))
save("net_buffers", np.concatenate(
    [np.concatenate([m.running_mean.numpy(), m.running_var.numpy()])
     for m in net.modules() if isinstance(m, nn.BatchNorm2d)]).astype(np.float32))
tx = torch.tensor(x.astype(np.float64))
net.eval()
with torch.no_grad():
    save("net_logits_eval", net(tx).numpy())
net.train()
z = net(tx)
save("net_logits_train", z.detach().numpy())
loss = F.cross_entropy(z, torch.tensor(labels, dtype=torch.long))
loss.backward()
save("net_grads", np.concatenate(
    [p.grad.numpy().ravel() for p in net.parameters()]))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
opt.step()
save("net_params_after", np.concatenate(
    [p.detach().numpy().ravel() for p in net.parameters()]))

with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump({"conv": cases, "net": dict(spec=NET_SPEC, n=N, classes=K, c=C,
                                          h=H, w=W, loss=loss.item(),
                                          nparams=sum(p.numel() for p in net.parameters()))},
              f, indent=1)
print("wrote", OUT)
