#!/usr/bin/python3
"""ONNX models with element-wise activations, and PyTorch's float64 results
for them. Run with Debian's PyTorch and python3-onnx from anywhere:

    /usr/bin/python3 tests/data/gen_onnx_act.py

It (re)writes tests/data/onnx_act/:
  cnn.onnx        a small CNN on 1x28x28 exported by torch.onnx.export at
                  opset 17: Tanh, LeakyReLU(0.1), ELU, ReLU6 (Clip),
                  Hardswish, Hardsigmoid, Hardtanh(-1, 1) (Clip), Sigmoid,
                  SELU, Softplus and erf
  x.npy, y.npy    8 inputs in [0, 1] (float32) and labels
  cnn_logits.npy  its logits in float64 on the float32 weights
  cnn_grad.npy    d sum(cross-entropy) / dx in float64
  cnn_fgsm.npy    FGSM at eps 0.1: clip(x + 0.1 sign(grad), 0, 1) as float32
  gelu20.onnx     Gemm, Gelu (none), Gemm, Gelu (tanh), Gemm at opset 20,
                  written with onnx.helper (torch 1.13 exports up to opset
                  17, where GELU is Div, Erf, Add, Mul, Mul)
  clip6.onnx      Gemm, Clip(min -0.5, max 0.25 as attributes: opset 6),
                  Gemm
  clip11.onnx     Gemm, Clip(x, "", max 0.25: opset 11), Gemm
  mlp_x.npy       16 inputs [16, 8] for the three, and <name>_logits.npy
  hswish13.onnx   HardSwish in an opset 13 model (it exists from 14)
  clip_computed.onnx   Clip whose min is computed from the input
  gelu_fast.onnx  Gelu with approximate "fast"
  composite.onnx  a CNN with SiLU, GELU and Mish exported at opset 17
                  (Sigmoid, Erf, Softplus, Tanh and Mul of two values), and
                  composite_logits.npy, its float64 logits on x.npy
"""
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx_act")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(11)
rng = np.random.default_rng(11)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.c3 = nn.Conv2d(6, 6, 3, padding=1)
        self.c4 = nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.c5 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 7 * 7, 32)
        self.fc2 = nn.Linear(32, 24)
        self.fc3 = nn.Linear(24, 10)

    def forward(self, x):
        x = torch.tanh(self.c1(x))
        x = F.leaky_relu(self.c2(x), 0.1)
        x = F.elu(self.c3(x))
        x = F.relu6(x)  # Relu and Clip(0, 6)
        x = F.hardswish(self.c4(x))
        x = F.hardsigmoid(self.c5(x))
        x = F.hardtanh(x, -1.0, 1.0)
        x = torch.sigmoid(x)
        x = torch.flatten(x, 1)
        x = F.selu(self.fc1(x))
        x = F.softplus(self.fc2(x))
        x = torch.erf(x)
        return self.fc3(x)


net = CNN().eval()
x = rng.uniform(0, 1, (8, 1, 28, 28)).astype(np.float32)
y = rng.integers(0, 10, 8).astype(np.int64)
np.save(os.path.join(OUT, "x.npy"), x)
np.save(os.path.join(OUT, "y.npy"), y.astype(np.int32))
torch.onnx.export(net, torch.tensor(x), os.path.join(OUT, "cnn.onnx"),
                  opset_version=17, input_names=["input"],
                  output_names=["logits"],
                  dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
net64 = CNN().double().eval()
net64.load_state_dict({k: v.double() for k, v in net.state_dict().items()})
xt = torch.tensor(x.astype(np.float64), requires_grad=True)
z = net64(xt)
F.cross_entropy(z, torch.tensor(y), reduction="sum").backward()
g = xt.grad.numpy()
np.save(os.path.join(OUT, "cnn_logits.npy"), z.detach().numpy())
np.save(os.path.join(OUT, "cnn_grad.npy"), g)
adv = np.clip(x.astype(np.float64) + 0.1 * np.sign(g), 0, 1).astype(np.float32)
np.save(os.path.join(OUT, "cnn_fgsm.npy"), adv)

# ---- small MLPs written by hand ---------------------------------------------
mx = rng.uniform(-2, 2, (16, 8)).astype(np.float32)
np.save(os.path.join(OUT, "mlp_x.npy"), mx)
W = [rng.uniform(-1, 1, s).astype(np.float32) for s in ((16, 8), (16, 16), (4, 16))]
B = [rng.uniform(-0.5, 0.5, s).astype(np.float32) for s in (16, 16, 4)]


def mlp(name, acts, opset, extra_inits=(), logits=None):
    """Gemm, acts[0], Gemm, acts[1] (optional), Gemm; acts are functions
    (input, output) -> node list"""
    inits = [numpy_helper.from_array(W[k], f"w{k}") for k in range(3)]
    inits += [numpy_helper.from_array(B[k], f"b{k}") for k in range(3)]
    inits += list(extra_inits)
    gk = {"transB": 1, "broadcast": 1} if opset <= 6 else {"transB": 1}
    nodes = [helper.make_node("Gemm", ["x", "w0", "b0"], ["h0"], **gk)]
    nodes += acts[0]("h0", "a0")
    if len(acts) > 1:
        nodes += [helper.make_node("Gemm", ["a0", "w1", "b1"], ["h1"], **gk)]
        nodes += acts[1]("h1", "a1")
        last = "a1"
    else:
        last = "a0"
    w2 = "w2" if len(acts) > 1 else "w2s"
    if len(acts) == 1:
        inits.append(numpy_helper.from_array(W[2][:, :16], "w2s"))
    nodes += [helper.make_node("Gemm", [last, w2, "b2"], ["logits"], **gk)]
    g = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 4])],
        inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="gen_onnx_act")
    m.ir_version = 8
    onnx.save(m, os.path.join(OUT, f"{name}.onnx"))
    if logits is not None:
        np.save(os.path.join(OUT, f"{name}_logits.npy"), logits)


def t(a):
    return torch.tensor(a.astype(np.float64))


def ref(act0, act1=None):
    h = act0(t(mx) @ t(W[0]).T + t(B[0]))
    if act1 is None:
        return (h @ t(W[2]).T + t(B[2])).numpy()
    h = act1(h @ t(W[1]).T + t(B[1]))
    return (h @ t(W[2]).T + t(B[2])).numpy()


one = lambda op, **kw: (lambda i, o: [helper.make_node(op, [i], [o], **kw)])
mlp("gelu20", [one("Gelu"), one("Gelu", approximate="tanh")], 20,
    logits=ref(F.gelu, lambda v: F.gelu(v, approximate="tanh")))
mlp("clip6", [one("Clip", min=-0.5, max=0.25)], 6,
    logits=ref(lambda v: torch.clamp(v, -0.5, 0.25)))
mlp("clip11", [lambda i, o: [helper.make_node("Clip", [i, "", "hi"], [o])]], 11,
    extra_inits=[numpy_helper.from_array(np.array(0.25, np.float32), "hi")],
    logits=ref(lambda v: torch.clamp(v, max=0.25)))
mlp("hswish13", [one("HardSwish")], 13)
mlp("clip_computed", [lambda i, o: [helper.make_node("Sigmoid", [i], ["m"]),
                                    helper.make_node("Clip", [i, "m"], [o])]], 13)
mlp("gelu_fast", [one("Gelu", approximate="fast")], 20)


# ---- composite activations: what torch 1.13 writes for SiLU, GELU, Mish at
# opset 17 (Sigmoid/Erf/Tanh/Softplus with Mul of two computed values)
class Composite(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(6 * 7 * 7, 24)
        self.fc2 = nn.Linear(24, 10)

    def forward(self, x):
        x = F.silu(self.c1(x))
        x = F.gelu(self.c2(x))
        x = F.mish(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


comp = Composite().eval()
torch.onnx.export(comp, torch.tensor(x), os.path.join(OUT, "composite.onnx"),
                  opset_version=17, input_names=["input"],
                  output_names=["logits"],
                  dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
comp64 = Composite().double().eval()
comp64.load_state_dict({k: v.double() for k, v in comp.state_dict().items()})
np.save(os.path.join(OUT, "composite_logits.npy"),
        comp64(torch.tensor(x.astype(np.float64))).detach().numpy())
