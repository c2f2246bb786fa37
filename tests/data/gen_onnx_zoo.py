#!/usr/bin/python3
"""Small versions of standard image-classification architectures exported
by torch.onnx.export, and PyTorch's float64 results for them. Run with
Debian's PyTorch 1.13 and dataset-fashion-mnist from anywhere (a few
minutes):

    /usr/bin/python3 tests/data/gen_onnx_zoo.py [--all OUT]

Architectures (ARCHS): mobilenetv2 (inverted residuals: 1x1 expansion,
depthwise 3x3 with ReLU6, 1x1 projection, residual Add), mbconv (an
EfficientNet stem and MBConv blocks with SiLU and squeeze-excitation:
AdaptiveAvgPool2d(1), Conv 1x1, SiLU, Conv 1x1, Sigmoid, x * gate), densenet
(BN-ReLU-Conv dense layers joined by torch.cat, a transition with
AvgPool2d(2)), resnet18 (BasicBlocks with a 1x1 stride-2 downsampling conv and
BatchNorm, AdaptiveAvgPool2d((1, 1)), torch.flatten), vgg (Conv-BN-ReLU
stacks, MaxPool, a classifier with BatchNorm1d, GELU and Dropout) and lenet5
(Tanh and AvgPool2d, x.view(x.size(0), -1)). Each is trained for STEPS Adam
steps (batch 64) on the Fashion-MNIST training set, so the BatchNorm running
statistics are the data's, then exported with a dynamic batch axis. The
inputs are the first 200 Fashion-MNIST test images.

Without arguments it (re)writes tests/data/onnx_zoo/ with the files the
tests read (KEEP: four architectures, one opset each):
  <arch>_<opset>.onnx  the model
  <arch>_logits.npy    PyTorch's float64 logits of the float32 weights on the
                       200 images
  <arch>_feat20.npy    float64 penultimate features (the classifier's input)
                       of the first 20 images
  <arch>_attacks.json  FGSM and BIM accuracies over the 200 images with their
                       labels, from the float64 gradient of the summed
                       cross-entropy at every eps of EPS (BIM: 10 steps of
                       eps/4, no random start, projected to the eps ball and
                       [0, 1], the last iterate judged)
  sigmoid_out.onnx, tanh_out.onnx, clip_out.onnx  a small MLP whose output
                       passes through a final Sigmoid, Tanh or Clip
                       (Hardtanh): the graph output is not the logits;
  sigmoid_t_out.onnx   the same with a Sigmoid of logits / T
With --all OUT: every architecture at opsets 13 and 17 into OUT, with x.npy
and y.npy (the images and labels) and <arch>_feat.npy for all 200 images.
"""
import gzip
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ALL = len(sys.argv) > 2 and sys.argv[1] == "--all"
OUT = sys.argv[2] if ALL else os.path.join(HERE, "onnx_zoo")
KEEP = {"mobilenetv2": 13, "mbconv": 17, "densenet": 13, "vgg": 17}
EPS = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2]
OPSETS = (13, 17)
STEPS = 150
DATA = os.environ.get("LSPROBE_DATA", "/usr/share/datasets/fashion-mnist")


# ---- MobileNetV2: inverted residuals, ReLU6, depthwise 3x3 ----------------
class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hid = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(inplace=True),
            nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False),
            nn.BatchNorm2d(hid), nn.ReLU6(inplace=True),
            nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6(inplace=True),
            InvertedResidual(8, 8, 1, 2), InvertedResidual(8, 12, 2, 4),
            InvertedResidual(12, 12, 1, 4), InvertedResidual(12, 16, 2, 4),
            InvertedResidual(16, 16, 1, 4),
            nn.Conv2d(16, 48, 1, bias=False), nn.BatchNorm2d(48), nn.ReLU6(inplace=True))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(48, 10))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


# ---- EfficientNet: MBConv with SiLU and squeeze-excitation ----------------
class SqueezeExcitation(nn.Module):
    def __init__(self, c, s):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, s, 1)
        self.fc2 = nn.Conv2d(s, c, 1)
        self.act = nn.SiLU()
        self.scale = nn.Sigmoid()

    def forward(self, x):
        g = self.scale(self.fc2(self.act(self.fc1(self.avgpool(x)))))
        return x * g


class MBConv(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hid = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.SiLU(),
            nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False),
            nn.BatchNorm2d(hid), nn.SiLU(),
            SqueezeExcitation(hid, max(1, cin // 4)),
            nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.block(x) if self.use_res else self.block(x)


class EfficientNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.SiLU(),
            MBConv(8, 8, 1, 1), MBConv(8, 12, 2, 4), MBConv(12, 12, 1, 4),
            nn.Conv2d(12, 48, 1, bias=False), nn.BatchNorm2d(48), nn.SiLU())
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(48, 10))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


# ---- DenseNet: BN-ReLU-Conv, concatenation, transitions --------------------
class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, 2 * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(2 * growth)
        self.conv2 = nn.Conv2d(2 * growth, growth, 3, 1, 1, bias=False)

    def forward(self, feats):
        x = torch.cat(feats, 1)
        x = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(x)))


class DenseBlock(nn.Module):
    def __init__(self, n, cin, growth):
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(cin + k * growth, growth) for k in range(n))

    def forward(self, x):
        feats = [x]
        for layer in self.layers:
            feats.append(layer(feats))
        return torch.cat(feats, 1)


class Transition(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.BatchNorm2d(cin), nn.ReLU(inplace=True),
                         nn.Conv2d(cin, cout, 1, bias=False), nn.AvgPool2d(2, 2))


class DenseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2),
            DenseBlock(3, 8, 4), Transition(20, 10), DenseBlock(3, 10, 4),
            nn.BatchNorm2d(22))
        self.classifier = nn.Linear(22, 10)

    def forward(self, x):
        x = F.relu(self.features(x))
        x = F.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


# ---- ResNet-18: BasicBlocks with 1x1 stride-2 downsampling ----------------
class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + idt)


class ResNet18(nn.Module):
    def __init__(self, w=(4, 8, 16, 32)):
        super().__init__()
        self.conv1 = nn.Conv2d(1, w[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], w[0]
        for k, c in enumerate(w):
            s = 1 if k == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, c, s), BasicBlock(c, c, 1)))
            cin = c
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(w[3], 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---- VGG: conv stacks, MaxPool, a classifier with BatchNorm1d, GELU, Dropout
class VGG(nn.Module):
    def __init__(self):
        super().__init__()

        def cbr(i, o):
            return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(*cbr(1, 8), *cbr(8, 8), nn.MaxPool2d(2, 2),
                                      *cbr(8, 16), *cbr(16, 16), nn.MaxPool2d(2, 2),
                                      *cbr(16, 16), nn.MaxPool2d(2, 2))
        self.classifier = nn.Sequential(
            nn.Linear(16 * 3 * 3, 64), nn.BatchNorm1d(64), nn.GELU(), nn.Dropout(0.5),
            nn.Linear(64, 32), nn.GELU(), nn.Dropout(0.5), nn.Linear(32, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


# ---- LeNet-5 as LeCun et al. (1998) drew it: Tanh and average pooling -----
class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.s2 = nn.AvgPool2d(2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.s4 = nn.AvgPool2d(2)
        self.f5 = nn.Linear(400, 120)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, 10)

    def forward(self, x):
        x = self.s2(torch.tanh(self.c1(x)))
        x = self.s4(torch.tanh(self.c3(x)))
        x = x.view(x.size(0), -1)
        x = torch.tanh(self.f6(torch.tanh(self.f5(x))))
        return self.out(x)


ARCHS = {"mobilenetv2": MobileNetV2, "mbconv": EfficientNet, "densenet": DenseNet,
         "resnet18": ResNet18, "vgg": VGG, "lenet5": LeNet5}
# the module whose input is the penultimate feature vector
HEAD = {"mobilenetv2": "classifier.1", "mbconv": "classifier.1", "densenet": "classifier",
        "resnet18": "fc", "vgg": "classifier.7", "lenet5": "out"}


def idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        b = f.read()
    if b[2] == 8 and b[3] == 3:
        return np.frombuffer(b, np.uint8, offset=16).reshape(-1, 1, 28, 28) / 255.0
    return np.frombuffer(b, np.uint8, offset=8).astype(np.int64)


def trained(name, seed, xtr, ytr):
    """STEPS Adam steps of batch 64 on Fashion-MNIST (train mode: the
    BatchNorm running statistics are the data's)"""
    torch.manual_seed(seed)
    net = ARCHS[name]()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    xtr = torch.tensor(xtr, dtype=torch.float32)
    ytr = torch.tensor(ytr)
    for _ in range(STEPS):
        i = torch.randint(0, len(ytr), (64,))
        opt.zero_grad()
        F.cross_entropy(net(xtr[i]), ytr[i]).backward()
        opt.step()
    return net.eval()


def export(net, path, opset):
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), path, opset_version=opset,
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}})


def as64(name, net):
    n64 = ARCHS[name]().double().eval()
    n64.load_state_dict({k: v.double() for k, v in net.state_dict().items()})
    return n64


def grad(n64, x, y):
    xt = x.clone().requires_grad_()
    F.cross_entropy(n64(xt), y, reduction="sum").backward()
    return xt.grad


def attacks(n64, x, y):
    """FGSM and BIM (10 steps of eps/4, no random start) accuracies"""
    x = torch.tensor(x.astype(np.float64))
    y = torch.tensor(y)
    g = grad(n64, x, y)
    res = {"eps": EPS, "fgsm": [], "bim": []}
    with torch.no_grad():
        for e in EPS:
            adv = torch.clamp(x + e * torch.sign(g), 0, 1)
            res["fgsm"].append(float((n64(adv).argmax(1) == y).double().mean()))
    for e in EPS:
        adv = x.clone()
        for _ in range(10 if e > 0 else 0):
            adv = adv + (e / 4) * torch.sign(grad(n64, adv, y))
            adv = torch.min(torch.max(adv, x - e), x + e).clamp(0, 1)
        with torch.no_grad():
            res["bim"].append(float((n64(adv).argmax(1) == y).double().mean()))
    return res


def main():
    os.makedirs(OUT, exist_ok=True)
    xtr, ytr = idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz")
    x = idx("t10k-images-idx3-ubyte.gz")[:200].astype(np.float32)
    y = idx("t10k-labels-idx1-ubyte.gz")[:200]
    if ALL:
        np.save(os.path.join(OUT, "x.npy"), x)
        np.save(os.path.join(OUT, "y.npy"), y)
    for seed, name in enumerate(ARCHS, start=1):
        if not ALL and name not in KEEP:
            continue
        net = trained(name, seed, xtr, ytr)
        for op in OPSETS if ALL else (KEEP[name],):
            export(net, os.path.join(OUT, f"{name}_{op}.onnx"), op)
        n64 = as64(name, net)
        feats = {}
        head = dict(n64.named_modules())[HEAD[name]]
        h = head.register_forward_hook(lambda m, i, o: feats.__setitem__("f", i[0]))
        with torch.no_grad():
            z = n64(torch.tensor(x.astype(np.float64)))
        h.remove()
        np.save(os.path.join(OUT, f"{name}_logits.npy"), z.numpy())
        f = feats["f"].numpy()
        if ALL:
            np.save(os.path.join(OUT, f"{name}_feat.npy"), f)
        np.save(os.path.join(OUT, f"{name}_feat20.npy"), f[:20])
        res = attacks(n64, x, y)
        with open(os.path.join(OUT, f"{name}_attacks.json"), "w") as fp:
            json.dump(res, fp, indent=1)
        print(name, json.dumps(res))

    squashed()


class Scaled(nn.Module):
    """logits / T (temperature scaling), then a Sigmoid"""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(49, 10)
        self.t = nn.Parameter(torch.tensor(1.5))

    def forward(self, x):
        return torch.sigmoid(self.fc(torch.flatten(F.avg_pool2d(x, 4), 1)) / self.t)


def squashed():
    """a graph output squashed by a final op: the logits are its input"""
    os.makedirs(OUT, exist_ok=True)
    for tag, act in (("sigmoid", nn.Sigmoid()), ("tanh", nn.Tanh()),
                     ("clip", nn.Hardtanh(-1.0, 1.0))):
        torch.manual_seed(7)
        net = nn.Sequential(nn.AvgPool2d(4), nn.Flatten(), nn.Linear(49, 16),
                            nn.ReLU(), nn.Linear(16, 10), act).eval()
        export(net, os.path.join(OUT, f"{tag}_out.onnx"), 13)
    torch.manual_seed(7)
    export(Scaled().eval(), os.path.join(OUT, "sigmoid_t_out.onnx"), 13)

if __name__ == "__main__":
    main()
