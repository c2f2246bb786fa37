#!/usr/bin/python3
"""Classifiers in the form tf2onnx (opset 13) gives Keras models, with
PyTorch's float64 numbers: a channels-last (NHWC) input read by a Transpose
of perm [0, 3, 1, 2], convolutions and pooling in NCHW, a Transpose of perm
[0, 2, 3, 1] before Keras' Flatten (a Reshape to [-1, D]), Dense layers as
MatMul by an [in, out] kernel and Add of a bias, and a final Softmax. The
graphs are written with onnx.helper (python3-onnx 1.12) under the names
tf2onnx gives (input "input_1" [unk__12, H, W, C], output "dense_1"
[unk__13, K], nodes "sequential/conv2d/BiasAdd" (Conv, bias fused),
"sequential/conv2d/BiasAdd__6" (its Transpose), "sequential/flatten/Reshape"
of the int64 initializer "const_fold_opt__20", "sequential/dense/MatMul",
"sequential/dense/BiasAdd", "sequential/dense_1/Softmax"); weights float32,
convolutions OIHW, ir_version 7. Run from anywhere (about half a minute;
Fashion-MNIST from $LSPROBE_DATA, default /usr/share/datasets/fashion-mnist,
Debian dataset-fashion-mnist):

    /usr/bin/python3 tests/data/gen_onnx_nhwc.py

The rule the references follow: lsprobe's data are channels first
(N x C x H x W); a rank-4 graph input read only by a Transpose of perm
[0, 3, 1, 2] (directly, or through Mul or Add by a scalar constant, or
Keras' Normalization: Sub of a constant, then Mul or Div by one, of shape
[1, 1, 1, C] or [C]) is channels last and is given x.permute(0, 2, 3, 1).
So every reference is f(x.permute(0, 2, 3, 1)) for the channels-first x of
x.npy, f the file's graph evaluated op by op by PyTorch in float64 on the
initializers read back from the file, and gradients are with respect to
that channels-first x. When the graph's output is a Softmax (or
LogSoftmax) of the logits, the logits are the Softmax's input and the loss
is the cross-entropy of those. As a check, the C = 1 and C = 3 models also
run as the channels-first PyTorch networks their weights came from
(nn.Conv2d and so on on x, the first Dense kernel's rows in channels-first
flatten order, a Normalization's constants as [1, C, 1, 1]), in float64;
logits and gradients must agree to 1e-12.

It (re)writes tests/data/onnx_nhwc/:
  x.npy          images in [0, 1], float32 [8, 1, 10, 10] (channels first)
  labels.npy     int64 [8] (classes 0..3)
  One set of weights, `cnn` (input [unk__12, 10, 10, 1], output "dense_1"
  [unk__13, 4]):
  cnn_op13.onnx         Transpose [0, 3, 1, 2], Conv(4, 3x3, VALID: no pads
                 attribute, as tf2onnx writes it), Relu, MaxPool(2x2, stride
                 2), Conv(6, 3x3, auto_pad SAME_UPPER), Relu, Transpose
                 [0, 2, 3, 1], Reshape [-1, 96], MatMul [96, 8], Add, Relu,
                 MatMul [8, 4], Add, Softmax (no axis attribute: -1)
  cnn_logits_op13.onnx  the same without the Softmax (the last Add is the
                 output)
  cnn_logsm_op13.onnx   LogSoftmax (axis -1 written) instead of Softmax
  cnn_op11.onnx         opset 11: the Softmax with axis 1
  rescale_op13.onnx     Keras' Rescaling(scale 2, offset -1) in front: Mul
                 by the scalar initializer 2 (shape []), Add of the scalar -1,
                 then cnn's graph and weights without the Softmax (`rescale`)
  Its own weights, `gap`:
  gap_op13.onnx         Transpose [0, 3, 1, 2], Conv(4, 3x3, VALID), Relu,
                 ReduceMean(axes [2, 3], keepdims 0) (tf2onnx's optimized
                 GlobalAveragePooling2D), MatMul [4, 4], Add, Softmax
  gapt_op13.onnx        the same weights unoptimized: Relu, Transpose
                 [0, 2, 3, 1], ReduceMean(axes [1, 2], keepdims 0), MatMul,
                 Add, Softmax
  {cnn,rescale,gap}_logits.npy  the float64 logits [8, 4] (the Softmax's
                 input)
  {cnn,rescale,gap}_grad.npy    d(sum of cross-entropies)/dx in float64,
                 [8, 1, 10, 10], x channels first
  {cnn,rescale,gap}_fgsm.npy    the float64 predictions (int64) on
                 clip(x + 0.1 sign(grad), 0, 1)
  Refused (cnn's weights), and why:
  bad_batch_op13.onnx   the Transpose before the Reshape has perm
                 [3, 1, 2, 0]: it moves the batch axis, so the Reshape to
                 [-1, 96] mixes the images
  bad_mixed_op13.onnx   the input is read by the Transpose and also,
                 directly, by a Conv(4, 3x1 kernel over its 10 "channels") as
                 if it were NCHW, whose [N, 4, 8, 1] is added to the first
                 Conv's [N, 4, 8, 8]: not every reader of the input is a
                 Transpose to channels first, so lsprobe takes the input as
                 the file lays it out (N x C x H x W, C = 10) and refuses the
                 Add (it adds values of one shape; no broadcasting)
  bad_smaxis_op13.onnx  the output is a Softmax with axis 0 (across the
                 batch), not over the classes
tests/data/onnx_nhwc/rgb/:
  x.npy          images in [0, 1], float32 [8, 3, 8, 8] (channels first)
  labels.npy     int64 [8] (classes 0..3)
  rgb_op13.onnx  input [unk__12, 8, 8, 3], output "dense" [unk__13, 4]:
                 Transpose [0, 3, 1, 2], Conv(5, 3x3, SAME_UPPER),
                 BatchNormalization (inference; scale, B, mean, var [5],
                 epsilon 0.001 as Keras), Relu, Transpose [0, 2, 3, 1],
                 Reshape [-1, 320], MatMul [320, 4], Add
  rgb_logits.npy, rgb_grad.npy ([8, 3, 8, 8]), rgb_fgsm.npy  as above
  rgbnorm_op13.onnx   Keras' Normalization in front of rgb's graph and
                 weights: Sub of the mean [0.45, 0.5, 0.55] (float32, shape
                 [1, 1, 1, 3]), Mul by inv_std = 1/std, std [0.2, 0.25, 0.3]
                 (float32 1/float64(std), shape [1, 1, 1, 3]), then
                 Transpose [0, 3, 1, 2] and rgb's trunk
  rgbnorm3_op13.onnx  the same with mean and std of shape [3] and a Div by
                 std instead of the Mul (the same network up to float32
                 rounding of inv_std)
  rgbnorm{,3}_logits.npy, rgbnorm{,3}_grad.npy, rgbnorm{,3}_fgsm.npy  as
                 above, one set for each
tests/data/onnx_nhwc/fmnist/:
  model.onnx     a channels-last CNN trained by PyTorch on Fashion-MNIST
                 (uint8/255 in float32): Conv(8, 3x3), ReLU, MaxPool 2,
                 Conv(16, 3x3), ReLU, MaxPool 2, flattened in NHWC order (as
                 Keras does), Linear(400, 32), ReLU, Linear(32, 10); 1 epoch
                 of Adam (lr 0.001, batch 64, seed 1); written as above with
                 input [unk__12, 28, 28, 1] and a final Softmax
  preds.npy      uint8, the class PyTorch (float64) predicts for each of the
                 10000 test images (channels-first data permuted to NHWC)
  case.json      the recipe; test accuracy in float64 (and float32: the same
                 predictions); the smallest top-2 logit margin; FGSM accuracy
                 at eps 0, 0.05 and 0.1 over the 10000 test images from
                 float64 gradients (x' = clip(x + eps sign(grad_x sum CE), 0,
                 1), sign(0) = 0, as gen_torch_lenet.py), and from float32
                 ones for comparison

The script also checks that the FGSM predictions of the small cases are the
same when everything is done in float32, as lsprobe does.
"""
import gzip
import json
import os
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "onnx_nhwc")
DATA = os.environ.get("LSPROBE_DATA", "/usr/share/datasets/fashion-mnist")
PRODUCER = "lsprobe tests/data/gen_onnx_nhwc.py"
BN_EPS = 0.001
FM_EPS = [0.0, 0.05, 0.1]
FM_EPOCHS, FM_LR, FM_BATCH, FM_SEED = 1, 0.001, 64, 1


# --- the graphs, as tf2onnx writes them --------------------------------------

class Keras:
    """A Keras Sequential model's graph in tf2onnx's form, layer by layer.
    The current value starts channels last; conv-like layers put a Transpose
    [0, 3, 1, 2] in front when it is not yet NCHW, flatten and (unoptimized)
    pooling put one of [0, 2, 3, 1] back."""

    def __init__(self, h, w, c):
        self.hwc = (h, w, c)
        self.nodes, self.inits = [], []
        self.v = "input_1"
        self.nchw = False
        self.k = 6  # tf2onnx's running suffix of inserted nodes

    def const(self, name, a):
        self.inits.append(numpy_helper.from_array(np.asarray(a), name))
        return name

    def op(self, op, name, inputs, out=None, **kw):
        out = out or name + ":0"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **kw))
        self.v = out
        return out

    def transpose(self, at, perm):
        self.op("Transpose", "%s__%d" % (at, self.k), [self.v], perm=perm)
        self.k += 2
        self.nchw = perm == [0, 3, 1, 2]

    def to_nchw(self, at):
        if not self.nchw:
            self.transpose(at, [0, 3, 1, 2])

    def to_nhwc(self, at):
        if self.nchw:
            self.transpose(at, [0, 2, 3, 1])

    def rescaling(self, scale, offset, name="rescaling"):
        p = "sequential/%s/" % name
        s = self.const(p + "Cast/x:0", np.array(scale, np.float32))
        o = self.const(p + "Cast_1/x:0", np.array(offset, np.float32))
        self.op("Mul", p + "mul", [self.v, s])
        self.op("Add", p + "add", [self.v, o])

    def normalization(self, mean, scale, div, name="normalization"):
        """Keras' Normalization: Sub of the mean, then Div by the standard
        deviation (div) or Mul by its reciprocal; constants of shape
        [1, 1, 1, C] or [C], broadcast over the channels-last last axis."""
        p = "sequential/%s/" % name
        self.op("Sub", p + "sub", [self.v, self.const(p + "sub/y:0", mean)])
        if div:
            self.op("Div", p + "truediv",
                    [self.v, self.const(p + "Maximum:0", scale)])
        else:
            self.op("Mul", p + "truediv",
                    [self.v, self.const(p + "truediv/Reciprocal:0", scale)])

    def conv(self, name, w, b, same):
        p = "sequential/%s/" % name
        self.to_nchw(p + "BiasAdd")
        kw = dict(dilations=[1, 1], strides=[1, 1],
                  kernel_shape=list(w.shape[2:]))
        if same:
            kw["auto_pad"] = "SAME_UPPER"
        self.op("Conv", p + "BiasAdd",
                [self.v, self.const(p + "Conv2D/ReadVariableOp:0", w),
                 self.const(p + "BiasAdd/ReadVariableOp:0", b)], **kw)

    def batchnorm(self, name, gamma, beta, mean, var):
        p = "sequential/%s/" % name
        self.to_nchw(p + "FusedBatchNormV3")
        self.op("BatchNormalization", p + "FusedBatchNormV3",
                [self.v, self.const(p + "ReadVariableOp:0", gamma),
                 self.const(p + "ReadVariableOp_1:0", beta),
                 self.const(p + "FusedBatchNormV3/ReadVariableOp:0", mean),
                 self.const(p + "FusedBatchNormV3/ReadVariableOp_1:0", var)],
                epsilon=BN_EPS)

    def relu(self, name):
        self.op("Relu", "sequential/%s/Relu" % name, [self.v])

    def maxpool(self, name):
        self.op("MaxPool", "sequential/%s/MaxPool" % name, [self.v],
                kernel_shape=[2, 2], strides=[2, 2])

    def gap(self, name, transposed):
        """GlobalAveragePooling2D: ReduceMean over H and W of the NCHW value
        (optimized) or of the NHWC one behind a Transpose."""
        p = "sequential/%s/Mean" % name
        if transposed:
            self.to_nhwc(p)
            self.op("ReduceMean", p, [self.v], axes=[1, 2], keepdims=0)
        else:
            self.op("ReduceMean", p, [self.v], axes=[2, 3], keepdims=0)

    def flatten(self, d, perm=(0, 2, 3, 1)):
        if self.nchw:
            self.transpose("sequential/flatten/Reshape", list(perm))
        self.op("Reshape", "sequential/flatten/Reshape",
                [self.v, self.const("const_fold_opt__20",
                                    np.array([-1, d], np.int64))])

    def dense(self, name, kernel, bias, out=None):
        p = "sequential/%s/" % name
        self.op("MatMul", p + "MatMul",
                [self.v, self.const(p + "MatMul/ReadVariableOp:0", kernel)])
        self.op("Add", p + "BiasAdd",
                [self.v, self.const(p + "BiasAdd/ReadVariableOp:0", bias)],
                out=out)

    def softmax(self, name, out, op="Softmax", **kw):
        self.op(op, "sequential/%s/%s" % (name, op), [self.v], out=out, **kw)

    def model(self, k, opset=13):
        h, w, c = self.hwc
        x = helper.make_tensor_value_info(
            "input_1", TensorProto.FLOAT, ["unk__12", h, w, c])
        y = helper.make_tensor_value_info(
            self.v, TensorProto.FLOAT, ["unk__13", k])
        g = helper.make_graph(self.nodes, "sequential", [x], [y],
                              initializer=self.inits)
        return helper.make_model(
            g, opset_imports=[helper.make_opsetid("", opset)],
            producer_name=PRODUCER, ir_version=7)


def save(m, path):
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    return m


# --- the graph evaluated by PyTorch, op by op --------------------------------

def attrs(n):
    return {a.name: helper.get_attribute_value(a) for a in n.attribute}


def spatial_pads(x, kernel, a):
    """[top, left, bottom, right] of a Conv or MaxPool (pads or auto_pad)."""
    ap = a.get("auto_pad", b"NOTSET").decode()
    s = a.get("strides", [1, 1])
    d = a.get("dilations", [1, 1])
    if ap in ("SAME_UPPER", "SAME_LOWER"):
        p = [0] * 4
        for i in range(2):
            n = x.shape[2 + i]
            out = -(-n // s[i])
            tot = max((out - 1) * s[i] + (kernel[i] - 1) * d[i] + 1 - n, 0)
            lo = tot // 2 if ap == "SAME_UPPER" else tot - tot // 2
            p[i], p[i + 2] = lo, tot - lo
        return p
    if ap == "VALID":
        return [0] * 4
    assert ap == "NOTSET", ap
    return list(a.get("pads", [0] * 4))


def softmax_input(x, axis, opset, log):
    if opset < 13:  # the input coerced to 2-D at axis
        axis = axis % x.dim()
        y = x.reshape(int(np.prod(x.shape[:axis])), -1)
        f = torch.log_softmax if log else torch.softmax
        return f(y, 1).reshape(x.shape)
    return (torch.log_softmax if log else torch.softmax)(x, axis)


def run_node(n, i, a, opset):
    t = n.op_type
    if t == "Transpose":
        return i[0].permute(*a["perm"])
    if t == "Conv":
        w = i[1]
        p = spatial_pads(i[0], w.shape[2:], a)
        x = F.pad(i[0], (p[1], p[3], p[0], p[2]))
        return F.conv2d(x, w, i[2] if len(i) > 2 else None,
                        stride=a.get("strides", [1, 1]),
                        dilation=a.get("dilations", [1, 1]),
                        groups=a.get("group", 1))
    if t == "MaxPool":
        k = a["kernel_shape"]
        assert spatial_pads(i[0], k, a) == [0] * 4 and not a.get("ceil_mode")
        return F.max_pool2d(i[0], k, a.get("strides", [1, 1]))
    if t == "BatchNormalization":
        x, scale, b, mean, var = i
        r = (lambda v: v[None, :, None, None])
        return (x - r(mean)) / torch.sqrt(r(var) + a.get("epsilon", 1e-5)) \
            * r(scale) + r(b)
    if t == "Relu":
        return torch.relu(i[0])
    if t == "Reshape":
        shape = [i[0].shape[k] if s == 0 else s
                 for k, s in enumerate(i[1].tolist())]
        return i[0].reshape(shape)
    if t == "MatMul":
        return i[0] @ i[1]
    if t == "Add":
        return i[0] + i[1]
    if t == "Sub":
        return i[0] - i[1]
    if t == "Mul":
        return i[0] * i[1]
    if t == "Div":
        return i[0] / i[1]
    if t == "ReduceMean":
        return i[0].mean(a["axes"], keepdim=bool(a.get("keepdims", 1)))
    if t in ("Softmax", "LogSoftmax"):
        return softmax_input(i[0], a.get("axis", -1 if opset >= 13 else 1),
                             opset, t == "LogSoftmax")
    raise ValueError(t)


def graph_logits(m, x_nchw, dtype=torch.float64):
    """The logits of m (an ONNX model) on channels-first x, fed to the NHWC
    input as x.permute(0, 2, 3, 1): the graph's output, or the input of the
    Softmax / LogSoftmax that produces it."""
    g = m.graph
    opset = m.opset_import[0].version
    env = {}
    for t in g.initializer:
        v = torch.from_numpy(numpy_helper.to_array(t).copy())
        env[t.name] = v.to(dtype) if v.is_floating_point() else v
    env[g.input[0].name] = x_nchw.permute(0, 2, 3, 1)
    for n in g.node:
        env[n.output[0]] = run_node(n, [env[v] for v in n.input], attrs(n),
                                    opset)
    last = [n for n in g.node if n.output[0] == g.output[0].name][0]
    if last.op_type in ("Softmax", "LogSoftmax"):
        return env[last.input[0]]
    return env[last.output[0]]


def grad_and_fgsm(f, x, y, dtype):
    xs = x.to(dtype).clone().requires_grad_(True)
    z = f(xs, dtype)
    F.cross_entropy(z, y, reduction="sum").backward()
    with torch.no_grad():
        xa = (x.to(dtype) + 0.1 * xs.grad.sign()).clamp(0, 1)
        fg = f(xa, dtype)
    return z.detach(), xs.grad, fg


def margin(z):
    t = torch.topk(z, 2, 1).values
    return float((t[:, 0] - t[:, 1]).min())


def reference(m, x, y, prefix, net=None):
    """prefix_{logits,grad,fgsm}.npy from the file's graph in float64; the
    same from net (channels first), when given, must agree to 1e-12."""
    z, g, fz = grad_and_fgsm(lambda v, dt: graph_logits(m, v, dt), x, y,
                             torch.float64)
    np.save(prefix + "_logits.npy", z.numpy())
    np.save(prefix + "_grad.npy", g.numpy())
    np.save(prefix + "_fgsm.npy", fz.argmax(1).numpy())
    # lsprobe computes in float32: the FGSM predictions must not hinge on it
    _, _, fz32 = grad_and_fgsm(lambda v, dt: graph_logits(m, v, dt), x, y,
                               torch.float32)
    assert (fz32.argmax(1) == fz.argmax(1)).all(), prefix
    name = os.path.basename(prefix)
    print("%-8s preds %s -> fgsm %s labels %s; |z| <= %.2f, top-2 margin "
          "%.3g (clean) %.3g (fgsm)" % (
              name, z.argmax(1).tolist(), fz.argmax(1).tolist(), y.tolist(),
              float(z.abs().max()), margin(z), margin(fz)))
    if net is not None:
        nd = net.double()
        z2, g2, _ = grad_and_fgsm(lambda v, dt: nd(v), x, y, torch.float64)
        net.float()
        dz = float((z - z2).abs().max())
        dg = float((g - g2).abs().max())
        print("%-8s channels-first network: max |dlogits| %.3g, max |dgrad| "
              "%.3g" % (name, dz, dg))
        assert dz <= 1e-12 and dg <= 1e-12, (dz, dg)


def centre(net, x, bias):
    """Subtract the mean logits over x from the last bias: predictions that
    vary over the inputs."""
    with torch.no_grad():
        bias.sub_(net(x).mean(0))


def hwc_rows(w, c, h, wd):
    """A Linear's weight [out, c*h*w] (channels-first flatten order) as the
    [h*w*c, out] kernel of a MatMul after an NHWC flatten."""
    return w.detach().reshape(-1, c, h, wd).permute(2, 3, 1, 0) \
        .reshape(h * wd * c, -1).numpy().copy()


def a32(t):
    return t.detach().numpy().astype(np.float32).copy()


# --- the small models --------------------------------------------------------

class CNN(nn.Module):
    """cnn's network channels first; rescale: 2x - 1 in front."""

    def __init__(self):
        super().__init__()
        self.rescale = False
        self.c1 = nn.Conv2d(1, 4, 3)
        self.c2 = nn.Conv2d(4, 6, 3, padding=1)
        self.d1 = nn.Linear(96, 8)
        self.d2 = nn.Linear(8, 4)
        with torch.no_grad():
            for p in (self.c1.weight, self.c2.weight, self.d1.weight,
                      self.d2.weight):
                p.mul_(3.0)

    def forward(self, x):
        if self.rescale:
            x = x * 2.0 + (-1.0)
        h = F.max_pool2d(torch.relu(self.c1(x)), 2)
        h = torch.flatten(torch.relu(self.c2(h)), 1)
        return self.d2(torch.relu(self.d1(h)))


def cnn_graph(net, tail="softmax", opset=13, rescale=False, bad=None):
    k = Keras(10, 10, 1)
    if rescale:
        k.rescaling(2.0, -1.0)
    k.conv("conv2d", a32(net.c1.weight), a32(net.c1.bias), False)
    if bad == "mixed":  # the input read again, directly, as NCHW
        p = "sequential/conv2d_2/"
        w = np.random.default_rng(5).normal(0, 0.2, (4, 10, 3, 1))
        raw = k.op("Conv", p + "BiasAdd",
                   ["input_1", k.const(p + "Conv2D/ReadVariableOp:0",
                                       w.astype(np.float32))],
                   dilations=[1, 1], strides=[1, 1], kernel_shape=[3, 1])
        k.op("Add", "sequential/add/add",
             ["sequential/conv2d/BiasAdd:0", raw])
    k.relu("conv2d")
    k.maxpool("max_pooling2d")
    k.conv("conv2d_1", a32(net.c2.weight), a32(net.c2.bias), True)
    k.relu("conv2d_1")
    k.flatten(96, (3, 1, 2, 0) if bad == "batch" else (0, 2, 3, 1))
    k.dense("dense", hwc_rows(net.d1.weight, 6, 4, 4), a32(net.d1.bias))
    k.relu("dense")
    k.dense("dense_1", a32(net.d2.weight.t()), a32(net.d2.bias),
            out="dense_1" if tail == "none" else None)
    if tail == "softmax":
        k.softmax("dense_1", "dense_1",
                  **({"axis": 1} if opset < 13 else {}))
    elif tail == "logsoftmax":
        k.softmax("dense_1", "dense_1", op="LogSoftmax", axis=-1)
    elif tail == "axis0":
        k.softmax("dense_1", "dense_1", axis=0)
    return k.model(4, opset)


class GAP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3)
        self.d = nn.Linear(4, 4)
        with torch.no_grad():
            self.c1.weight.mul_(3.0)
            self.d.weight.mul_(40.0)

    def forward(self, x):
        return self.d(torch.relu(self.c1(x)).mean((2, 3)))


def gap_graph(net, transposed):
    k = Keras(10, 10, 1)
    k.conv("conv2d", a32(net.c1.weight), a32(net.c1.bias), False)
    k.relu("conv2d")
    k.gap("global_average_pooling2d", transposed)
    k.dense("dense", a32(net.d.weight.t()), a32(net.d.bias))
    k.softmax("dense", "dense")
    return k.model(4)


class RGB(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 5, 3, padding=1)
        # the file's epsilon is a float32 attribute
        self.bn = nn.BatchNorm2d(5, eps=float(np.float32(BN_EPS)))
        self.d = nn.Linear(320, 4)
        with torch.no_grad():
            self.bn.weight.uniform_(0.5, 1.5)
            self.bn.bias.uniform_(-0.3, 0.3)
            self.bn.running_mean.uniform_(-0.2, 0.2)
            self.bn.running_var.uniform_(0.05, 0.5)
            self.d.weight.mul_(3.0)

    def forward(self, x):
        h = torch.relu(self.bn(self.c1(x)))
        return self.d(torch.flatten(h, 1))


class RGBNorm(nn.Module):
    """rgb's network behind Keras' Normalization, channels first: (x - mean)
    / std or (x - mean) * inv_std, the file's float32 constants per
    channel."""

    def __init__(self, net, mean, scale, div):
        super().__init__()
        self.net, self.div = net, div
        self.register_buffer("mean", torch.from_numpy(
            mean.reshape(1, 3, 1, 1).copy()))
        self.register_buffer("scale", torch.from_numpy(
            scale.reshape(1, 3, 1, 1).copy()))

    def forward(self, x):
        h = x - self.mean
        return self.net(h / self.scale if self.div else h * self.scale)


def rgb_graph(net, norm=None):
    """norm: (mean, scale, div) for a Normalization in front."""
    k = Keras(8, 8, 3)
    if norm is not None:
        k.normalization(*norm)
    k.conv("conv2d", a32(net.c1.weight), a32(net.c1.bias), True)
    bn = net.bn
    k.batchnorm("batch_normalization", a32(bn.weight), a32(bn.bias),
                a32(bn.running_mean), a32(bn.running_var))
    k.relu("batch_normalization")
    k.flatten(320)
    k.dense("dense", hwc_rows(net.d.weight, 5, 8, 8), a32(net.d.bias),
            out="dense")
    return k.model(4)


def small_cases():
    os.makedirs(os.path.join(OUT, "rgb"), exist_ok=True)
    path = (lambda f: os.path.join(OUT, f))
    torch.manual_seed(20)
    x = torch.rand(8, 1, 10, 10)
    y = torch.randint(0, 4, (8,))
    np.save(path("x.npy"), x.numpy().astype(np.float32))
    np.save(path("labels.npy"), y.numpy().astype(np.int64))

    torch.manual_seed(21)
    cnn = CNN().eval()
    centre(cnn, x, cnn.d2.bias)
    files = {"cnn_op13.onnx": cnn_graph(cnn),
             "cnn_logits_op13.onnx": cnn_graph(cnn, "none"),
             "cnn_logsm_op13.onnx": cnn_graph(cnn, "logsoftmax"),
             "cnn_op11.onnx": cnn_graph(cnn, opset=11),
             "bad_batch_op13.onnx": cnn_graph(cnn, bad="batch"),
             "bad_mixed_op13.onnx": cnn_graph(cnn, bad="mixed"),
             "bad_smaxis_op13.onnx": cnn_graph(cnn, "axis0")}
    for f, m in files.items():
        save(m, path(f))
    reference(files["cnn_op13.onnx"], x, y, path("cnn"), cnn)
    for f in ("cnn_logits_op13.onnx", "cnn_logsm_op13.onnx",
              "cnn_op11.onnx"):  # one reference for the four
        z = graph_logits(files[f], x.double())
        want = torch.from_numpy(np.load(path("cnn_logits.npy")))
        assert torch.equal(z, want), f
    rs = save(cnn_graph(cnn, "none", rescale=True), path("rescale_op13.onnx"))
    cnn.rescale = True
    reference(rs, x, y, path("rescale"), cnn)

    torch.manual_seed(22)
    gap = GAP().eval()
    centre(gap, x, gap.d.bias)
    g1 = save(gap_graph(gap, False), path("gap_op13.onnx"))
    g2 = save(gap_graph(gap, True), path("gapt_op13.onnx"))
    reference(g1, x, y, path("gap"), gap)
    dt = float((graph_logits(g2, x.double()) - graph_logits(g1, x.double()))
               .abs().max())
    print("gapt     max |dlogits| against gap %.3g" % dt)
    assert dt <= 1e-12

    torch.manual_seed(23)
    x3 = torch.rand(8, 3, 8, 8)
    y3 = torch.randint(0, 4, (8,))
    np.save(path("rgb/x.npy"), x3.numpy().astype(np.float32))
    np.save(path("rgb/labels.npy"), y3.numpy().astype(np.int64))
    rgb = RGB().eval()
    centre(rgb, x3, rgb.d.bias)
    m = save(rgb_graph(rgb), path("rgb/rgb_op13.onnx"))
    reference(m, x3, y3, path("rgb/rgb"), rgb)
    # Keras' Normalization in front of the same trunk and weights
    mean = np.array([0.45, 0.5, 0.55], np.float32)
    std = np.array([0.2, 0.25, 0.3], np.float32)
    inv_std = (1.0 / std.astype(np.float64)).astype(np.float32)
    for f, norm in (("rgbnorm", (mean.reshape(1, 1, 1, 3),
                                 inv_std.reshape(1, 1, 1, 3), False)),
                    ("rgbnorm3", (mean, std, True))):
        m = save(rgb_graph(rgb, norm), path("rgb/%s_op13.onnx" % f))
        reference(m, x3, y3, path("rgb/" + f), RGBNorm(rgb, *norm).eval())


# --- Fashion-MNIST, end to end -----------------------------------------------

def idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big")
            for k in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


class FM(nn.Module):
    """Channels-first layers, flattened in NHWC order as Keras does."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3)
        self.c2 = nn.Conv2d(8, 16, 3)
        self.d1 = nn.Linear(400, 32)
        self.d2 = nn.Linear(32, 10)

    def forward(self, x):
        h = F.max_pool2d(torch.relu(self.c1(x)), 2)
        h = F.max_pool2d(torch.relu(self.c2(h)), 2)
        h = h.permute(0, 2, 3, 1).flatten(1)
        return self.d2(torch.relu(self.d1(h)))


def fm_graph(net):
    k = Keras(28, 28, 1)
    k.conv("conv2d", a32(net.c1.weight), a32(net.c1.bias), False)
    k.relu("conv2d")
    k.maxpool("max_pooling2d")
    k.conv("conv2d_1", a32(net.c2.weight), a32(net.c2.bias), False)
    k.relu("conv2d_1")
    k.maxpool("max_pooling2d_1")
    k.flatten(400)
    k.dense("dense", a32(net.d1.weight.t()), a32(net.d1.bias))
    k.relu("dense")
    k.dense("dense_1", a32(net.d2.weight.t()), a32(net.d2.bias))
    k.softmax("dense_1", "dense_1")
    return k.model(10)


def fm_fgsm(f, x, y, dtype, chunk=250):
    """FGSM accuracies at FM_EPS, the logits and the input gradients of f on
    x (in chunks: PyTorch's float64 convolutions are much faster on small
    batches; every row is its own)."""
    hits, zs, gs = [0] * len(FM_EPS), [], []
    for k in range(0, len(y), chunk):
        xs = x[k:k + chunk].to(dtype).clone().requires_grad_(True)
        yc = y[k:k + chunk]
        z = f(xs, dtype)
        F.cross_entropy(z, yc, reduction="sum").backward()
        s = torch.sign(xs.grad)
        with torch.no_grad():
            for j, e in enumerate(FM_EPS):
                xa = torch.clamp(xs + e * s, 0.0, 1.0)
                hits[j] += int((f(xa, dtype).argmax(1) == yc).sum())
        zs.append(z.detach())
        gs.append(xs.grad)
    return [h / len(y) for h in hits], torch.cat(zs), torch.cat(gs)


def fmnist():
    out = os.path.join(OUT, "fmnist")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(FM_SEED)
    xtr = torch.from_numpy(idx("train-images-idx3-ubyte.gz").copy())
    ytr = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    xte = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").copy())
    yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    xtr = (xtr.float() / 255.0).unsqueeze(1)
    xte = (xte.float() / 255.0).unsqueeze(1)
    net = FM()
    opt = torch.optim.Adam(net.parameters(), lr=FM_LR)
    gen = torch.Generator().manual_seed(FM_SEED)
    t0 = time.time()
    for _ in range(FM_EPOCHS):
        perm = torch.randperm(len(ytr), generator=gen)
        for k in range(0, len(ytr), FM_BATCH):
            b = perm[k:k + FM_BATCH]
            opt.zero_grad()
            F.cross_entropy(net(xtr[b]), ytr[b]).backward()
            opt.step()
    print("fmnist   trained in %.1f s" % (time.time() - t0))
    net.eval()
    m = save(fm_graph(net), os.path.join(out, "model.onnx"))
    f = (lambda v, dt: graph_logits(m, v, dt))
    acc64, z64, g64 = fm_fgsm(f, xte, yte, torch.float64)
    acc32, z32, _ = fm_fgsm(f, xte, yte, torch.float32)
    nd = net.double()
    _, z2, g2 = fm_fgsm(lambda v, dt: nd(v), xte, yte, torch.float64)
    dz = float((z64 - z2).abs().max())
    dg = float((g64 - g2).abs().max())
    print("fmnist   trained network against the file's graph: max |dlogits| "
          "%.3g, max |dgrad| %.3g" % (dz, dg))
    assert dz <= 1e-12 and dg <= 1e-12
    pred64, pred32 = z64.argmax(1), z32.argmax(1)
    np.save(os.path.join(out, "preds.npy"), pred64.numpy().astype(np.uint8))
    case = {
        "torch": torch.__version__,
        "recipe": {"layers": "conv(8, 3x3) relu maxpool2 conv(16, 3x3) relu "
                             "maxpool2 flatten(NHWC) linear(400, 32) relu "
                             "linear(32, 10)",
                   "epochs": FM_EPOCHS, "optimizer": "adam", "lr": FM_LR,
                   "batch": FM_BATCH, "seed": FM_SEED, "threads": 2,
                   "loss": "cross_entropy"},
        "n_test": len(yte),
        "correct_float64": int((pred64 == yte).sum()),
        "accuracy_float64": float((pred64 == yte).double().mean()),
        "correct_float32": int((pred32 == yte).sum()),
        "same_predictions_32_64": bool((pred64 == pred32).all()),
        "min_top2_margin": margin(z64),
        "fgsm_eps": FM_EPS,
        "fgsm_accuracy_float64": acc64,
        "fgsm_accuracy_float32": acc32,
    }
    with open(os.path.join(out, "case.json"), "w") as fp:
        json.dump(case, fp, indent=1)
    print(json.dumps(case, indent=1))
    assert case["same_predictions_32_64"], "float32 and float64 disagree"


def main():
    torch.set_num_threads(2)
    t0 = time.time()
    small_cases()
    fmnist()
    print("done in %.1f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
