#!/usr/bin/env bash
# End-to-end: a channels-last CNN as tf2onnx writes Keras models
# (tests/data/onnx_nhwc/fmnist, made by gen_onnx_nhwc.py: trained by
# PyTorch on Fashion-MNIST, its graph in tf2onnx's form with an N×28×28×1
# input, Transposes, MatMul and Add, a final Softmax):
# - `eval` on the 10000 test images predicts PyTorch's float64 class for
#   every image, and warns that it reads the logits under the Softmax;
#   `eval --max-test 2000` gives the first 2000 rows of its logits and
#   features, bit for bit;
# - `attack` FGSM accuracies are PyTorch's float64 ones within 0.005;
# - `export` writes it channels-first and the file reads back to the same
#   predictions; `clusters --model` and `distill --teacher` take it.
# Needs Fashion-MNIST (dataset-fashion-mnist) and /usr/bin/python3 with
# numpy; skipped (exit 77, not passed) without.
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
K="$DATA/onnx_nhwc/fmnist"
need_fashion_mnist
if ! "$PY" -c 'import numpy' 2>/dev/null; then
  skipped "/usr/bin/python3 lacks numpy"
  finish
  exit $?
fi

# --- test predictions ----------------------------------------------------------
expect_exit 0 "eval the Keras-style CNN (ONNX, channels last)" "$LSP" eval --model "$K/model.onnx" \
  --data fashion-mnist --json --dump "$SCR/dump"
cp "$SCR/out" "$SCR/eval.json"
grep -q "WARNING: .*model.onnx: the graph output 'dense_1' is the Softmax of the logits 'sequential/dense_1/BiasAdd:0'; lsprobe reads those logits" "$SCR/err" &&
  ok "warns that it reads the logits under the final Softmax" || bad "no Softmax warning: $(cat "$SCR/err")"
"$PY" "$(dirname "$0")/fmnist_case.py" preds "$SCR/eval.json" "$K/case.json" "$SCR/dump" "$K/preds.npy" 32 &&
  ok "every test prediction is PyTorch's float64 one" || bad "predictions differ from PyTorch's"

# --- FGSM against float64 PyTorch ----------------------------------------------
EPS=$("$PY" -c 'import json,sys; print(",".join(str(e) for e in json.load(open(sys.argv[1]))["fgsm_eps"]))' "$K/case.json")
expect_exit 0 "FGSM on the Keras-style CNN" "$LSP" attack --model "$K/model.onnx" --data fashion-mnist --attack fgsm --eps "$EPS" --json
cp "$SCR/out" "$SCR/fgsm.json"
"$PY" "$(dirname "$0")/fmnist_case.py" fgsm "$SCR/fgsm.json" "$K/case.json" &&
  ok "FGSM accuracies = PyTorch float64 within 0.005 at every eps" || bad "FGSM accuracies differ from PyTorch float64"

# --- export, clusters, a teacher ------------------------------------------------
expect_exit 0 "export the Keras-style CNN" "$LSP" export --model "$K/model.onnx" --out "$SCR/back.onnx"
expect_exit 0 "eval the exported file" "$LSP" eval --model "$SCR/back.onnx" --data fashion-mnist --dump "$SCR/dump2"
"$PY" - "$SCR/dump/logits.npy" "$SCR/dump2/logits.npy" <<'PY' && ok "the exported file gives the same logits" || bad "exported logits differ"
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert a.shape == b.shape and (a == b).all(), abs(a - b).max()
PY
# an example's logits do not depend on how many are evaluated with it (the
# 2000-image run's last batch is short; it is computed as a whole one)
expect_exit 0 "eval the first 2000 test images" "$LSP" eval --model "$K/model.onnx" --data fashion-mnist \
  --max-test 2000 --dump "$SCR/dump3"
"$PY" - "$SCR/dump" "$SCR/dump3" <<'PY' && ok "their logits and features are the first 2000 rows of the whole set's" ||
import sys
import numpy as np
for f in ("logits", "features"):
    a, b = np.load(sys.argv[1] + f"/{f}.npy"), np.load(sys.argv[2] + f"/{f}.npy")
    assert b.shape[0] == 2000 and (a[:2000] == b).all(), (f, np.nonzero((a[:2000] != b).any(1))[0])
PY
  bad "logits of the first 2000 differ from the whole set's"
expect_exit 0 "clusters --model the Keras-style CNN" "$LSP" clusters --features "$SCR/dump/features.npy" \
  --labels "$SCR/dump/labels.npy" --model "$K/model.onnx"
grep -q "template accuracy    0.808800" "$SCR/out" && ok "its last layer's templates give the model's accuracy" ||
  bad "clusters: $(grep template "$SCR/out")"
expect_exit 0 "distill a student from the Keras-style teacher" "$LSP" distill --teacher "$K/model.onnx" --data fashion-mnist \
  --arch mlp:32 --temperature 2 --alpha 0.5 --max-train 1000 --epochs 1 --quiet --threads 2 --out "$SCR/student.lspm"

finish
