"""What the ONNX fixture generators (gen_onnx_flatten.py, gen_onnx_pool.py,
gen_onnx_squeeze.py) share: a model's export by torch.onnx.export and its
PyTorch float64 reference numbers. Imported by them, not run."""
import os

import numpy as np
import torch
import torch.nn.functional as F


def centre(m, x, bias):
    """Subtract the mean logits over x from the classifier's bias, so that
    the predictions vary over the inputs."""
    with torch.no_grad():
        bias.sub_(m(x).mean(0))


def onnx_name(kind, opset, dyn):
    return "%s_op%d%s.onnx" % (kind, opset, "_dyn" if dyn else "")


def export(m, x, file, opset, dyn):
    """m on inputs like x into file: input 'x', output 'logits', the batch
    dimension dynamic when dyn."""
    torch.onnx.export(m, (x,), file,
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}}
                      if dyn else None,
                      opset_version=opset, do_constant_folding=True)


def reference(m, x, y, prefix, feat=None):
    """prefix_logits.npy, prefix_grad.npy, prefix_fgsm.npy: m's float64
    logits on x, the input gradient of the summed cross-entropy against y
    and the predictions after an FGSM step of 0.1; prefix_feat.npy: feat(md,
    x) in float64 when feat is given. m is left in float32."""
    md = m.double()
    xd = x.double().clone().requires_grad_(True)
    z = md(xd)
    F.cross_entropy(z, y, reduction="sum").backward()
    np.save(prefix + "_logits.npy", z.detach().numpy())
    np.save(prefix + "_grad.npy", xd.grad.numpy())
    with torch.no_grad():
        xa = (x.double() + 0.1 * xd.grad.sign()).clamp(0, 1)
        np.save(prefix + "_fgsm.npy", md(xa).argmax(1).numpy())
        if feat is not None:
            np.save(prefix + "_feat.npy", feat(md, x.double()).numpy())
    m.float()


def out_dir(script, name):
    """tests/data/<name> beside the generator script."""
    return os.path.join(os.path.dirname(os.path.abspath(script)), name)
