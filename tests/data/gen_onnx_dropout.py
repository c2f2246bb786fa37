#!/usr/bin/python3
"""An MLP with Dropout as torch.onnx.export writes it when the model is in
training mode and training=TrainingMode.PRESERVE (a model in eval mode is
exported without its Dropout), with PyTorch's float64 logits in eval mode,
where Dropout is the identity. Run with Debian's PyTorch from anywhere:

    /usr/bin/python3 tests/data/gen_onnx_dropout.py

It (re)writes tests/data/onnx_dropout/:
  x.npy             inputs, float32 [8, 12]
  logits.npy        the eval-mode logits in float64 on the file's float32
                    weights [8, 4]
  drop_op11.onnx    Linear(12, 16) -> ReLU -> Dropout(0.3) -> Linear(16, 4)
                    at opset 11: Dropout with its ratio attribute and both
                    outputs, the mask read by nothing (opsets 7-11 leave
                    the mode to the runtime: inference)
  drop_op13.onnx    the same at opset 13 with its training_mode Constant
                    (true, as exported) set to false
  bad_train_op13.onnx  the opset-13 export as written: training_mode true
                    (refused)
"""
import io
import os

import numpy as np
import onnx
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx_dropout")


def export(m, x, opset):
    b = io.BytesIO()
    torch.onnx.export(m, (x,), b, opset_version=opset,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}})
    return onnx.load_from_string(b.getvalue())


def training_mode(m, value):
    """Set the bool Constant that feeds Dropout's training_mode."""
    drop = [n for n in m.graph.node if n.op_type == "Dropout"][0]
    for n in m.graph.node:
        if n.op_type == "Constant" and n.output[0] == drop.input[2]:
            n.attribute[0].t.raw_data = bytes([value])
            return m
    raise SystemExit("no training_mode Constant")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(5)
    m = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.3),
                      nn.Linear(16, 4))
    x = torch.randn(8, 12)
    np.save(os.path.join(OUT, "x.npy"), x.numpy())
    with torch.no_grad():
        z = m.double().eval()(x.double())
    np.save(os.path.join(OUT, "logits.npy"), z.numpy())
    m = m.float().train()
    onnx.save(export(m, x, 11), os.path.join(OUT, "drop_op11.onnx"))
    t = export(m, x, 13)
    onnx.save(t, os.path.join(OUT, "bad_train_op13.onnx"))
    t = training_mode(t, 0)
    onnx.checker.check_model(t, full_check=True)
    onnx.save(t, os.path.join(OUT, "drop_op13.onnx"))


if __name__ == "__main__":
    main()
