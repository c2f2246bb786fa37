#!/usr/bin/python3
"""Checks of lsprobe's outputs on a Fashion-MNIST model against the case
PyTorch recorded (tests/data/*/case.json and preds.npy; cli_onnx.sh and
cli_onnx_keras.sh):

  fmnist_case.py preds EVAL.json CASE.json DUMP PREDS.npy FEATURE_DIM
      `eval --json --dump DUMP`: every test prediction is PyTorch's float64
      one, the accuracy is its accuracy, the features have FEATURE_DIM
  fmnist_case.py fgsm ATTACK.json CASE.json
      `attack --attack fgsm --json`: the accuracy at every eps within 0.005
      of PyTorch's float64 one
Exit status 0 when the check holds."""
import json
import sys

import numpy as np


def preds(ev, case, dump, want, dim):
    ev, case = json.load(open(ev)), json.load(open(case))
    z = np.load(dump + "/logits.npy")
    want = np.load(want)
    n = case["n_test"]
    print("lsprobe accuracy", ev["accuracy"], "PyTorch", case["correct_float64"] / n)
    assert z.shape == (n, 10) and ev["n"] == n
    got = z.argmax(1)
    assert (got == want).all(), np.flatnonzero(got != want)[:10]
    assert ev["accuracy"] == case["correct_float64"] / n
    assert ev["feature_dim"] == int(dim)


def fgsm(res, case):
    pts, case = json.load(open(res))["points"], json.load(open(case))
    assert [p["eps"] for p in pts] == case["fgsm_eps"]
    worst = 0
    for p, w64, w32 in zip(pts, case["fgsm_accuracy_float64"], case["fgsm_accuracy_float32"]):
        print("eps %.2f lsprobe %.4f  float64 %.4f  float32 %.4f"
              % (p["eps"], p["accuracy_raw"], w64, w32))
        worst = max(worst, abs(p["accuracy_raw"] - w64))
    assert worst <= 0.005, worst


if __name__ == "__main__":
    {"preds": preds, "fgsm": fgsm}[sys.argv[1]](*sys.argv[2:])
