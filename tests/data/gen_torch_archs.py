#!/usr/bin/python3
"""Reference data for lsprobe's built-in architectures (tests/test_graph.c).

Builds LeNet-5 and ResNet-8 as DESIGN §7.4 describes them, in PyTorch (Debian
python3-torch 1.13; run as /usr/bin/python3), with PyTorch's default
initialization, and writes into tests/data/torch_archs/:
  <arch>_params.npy    every trainable tensor, flattened, in state_dict order
  <arch>_buffers.npy   the BatchNorm running statistics (mean, var), in order
  <arch>_x.npy         4 inputs 1x28x28 in [0, 1]
  <arch>_logits_eval.npy, <arch>_features_eval.npy   eval mode
  <arch>_logits_train.npy                             training mode (batch statistics)
  <arch>_buffers_after.npy                            running statistics after it
  case.json            parameter counts (sum of numel over parameters)
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_archs")
os.makedirs(out, exist_ok=True)


class LeNet(nn.Module):
    def __init__(self, k=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, k)

    def features(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return torch.relu(self.fc2(torch.relu(self.fc1(x))))

    def forward(self, x):
        return self.fc3(self.features(x))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                       nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + (x if self.short is None else self.short(x)))


class ResNet8(nn.Module):
    def __init__(self, k=10):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.layer1 = Block(16, 16, 1)
        self.layer2 = Block(16, 32, 2)
        self.layer3 = Block(32, 64, 2)
        self.fc = nn.Linear(64, k)

    def features(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)

    def forward(self, x):
        return self.fc(self.features(x))


def buffers(net):
    return np.concatenate([b.detach().numpy().ravel() for n, b in net.named_buffers()
                           if n.endswith("running_mean") or n.endswith("running_var")]
                          or [np.zeros(0, np.float32)]).astype(np.float32)


def save(name, a):
    np.save(os.path.join(out, name + ".npy"), np.ascontiguousarray(a, dtype=np.float32))


torch.manual_seed(1)
counts = {}
for name, net in (("lenet", LeNet()), ("resnet8", ResNet8())):
    counts[name] = sum(p.numel() for p in net.parameters())
    with torch.no_grad():  # trained-looking BN statistics, so eval != train
        for n, b in net.named_buffers():
            if n.endswith("running_mean"):
                b.uniform_(-0.2, 0.2)
            elif n.endswith("running_var"):
                b.uniform_(0.5, 2.0)
    params = np.concatenate([p.detach().numpy().ravel() for p in net.parameters()])
    save(name + "_params", params)
    save(name + "_buffers", buffers(net))
    x = torch.rand(4, 1, 28, 28)
    save(name + "_x", x.numpy())
    net.eval()
    with torch.no_grad():
        save(name + "_logits_eval", net(x).numpy())
        save(name + "_features_eval", net.features(x).numpy())
    net.train()
    with torch.no_grad():
        save(name + "_logits_train", net(x).numpy())
    save(name + "_buffers_after", buffers(net))

with open(os.path.join(out, "case.json"), "w") as f:
    json.dump({"param_counts": counts, "torch": torch.__version__}, f, indent=1)
print(counts)
