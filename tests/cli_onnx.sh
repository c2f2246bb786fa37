#!/usr/bin/env bash
# End-to-end: ONNX models in every command that takes a model, and lsprobe
# models out (`lsprobe export`).
# - A LeNet-5 trained by PyTorch and exported by torch.onnx.export
#   (tests/data/torch_lenet_fmnist, made by gen_torch_lenet.py): `eval` on
#   the 10000 Fashion-MNIST test images predicts PyTorch's class for every
#   image; `attack` FGSM accuracies are PyTorch's float64 ones within 0.005
#   at every eps — the data set has rows where float32 PyTorch saturates
#   (p_y rounds to 1) and its FGSM accuracy drifts by more than that, so this
#   can tell lsprobe's gradient from PyTorch's float32 one;
# - `--features` on an ONNX node, the transfer source, `clusters --model`,
#   a distillation teacher, autoattack on an exported model;
# - `export`: an lsprobe LeNet-5 (with input normalization) and the PyTorch
#   model written as ONNX pass onnx.checker (full check) and read back give
#   byte-identical logits; a failed export leaves an earlier file alone, and
#   one ONNX cannot state names the model and the layer; PyTorch models with
#   Mul of two values, Concat, ReduceMean and BatchNorm1d export again;
# - global max pooling as PyTorch exports it (adaptive max pooling, amax,
#   GlobalMaxPool) and a 1×1 convolution head with a ReLU before its
#   average pooling: PyTorch's float64 FGSM accuracies; they export again
#   (the ReLU head with an identity Gemm); a 1×1 head pooled by a maximum
#   is refused saying what to export; global max pooling written by hand
#   (torch.max(h.flatten(2), 2)[0], a view to N × C × HW): PyTorch's
#   float64 FGSM accuracies;
# - small MobileNetV2, EfficientNet (MBConv), DenseNet and VGG exports
#   (tests/data/onnx_zoo): PyTorch's float64 logits and features, FGSM and
#   BIM accuracies (BIM on the MobileNetV2 alone in the sanitizer build); a
#   final Sigmoid, Tanh or Clip is refused naming the logits.
# Needs Fashion-MNIST (dataset-fashion-mnist) and /usr/bin/python3 with
# numpy and onnx (python3-onnx); skipped (exit 77, not passed) without.
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
L="$DATA/torch_lenet_fmnist"
need_fashion_mnist
if ! "$PY" -c 'import numpy, onnx' 2>/dev/null; then
  skipped "/usr/bin/python3 lacks numpy or onnx (Debian python3-onnx)"
  finish
  exit $?
fi

# --- PyTorch's LeNet-5: test predictions ---------------------------------------
expect_exit 0 "eval the PyTorch LeNet-5 (ONNX)" "$LSP" eval --model "$L/model.onnx" --data fashion-mnist --json --dump "$SCR/dump"
cp "$SCR/out" "$SCR/eval.json"
"$PY" "$(dirname "$0")/fmnist_case.py" preds "$SCR/eval.json" "$L/case.json" "$SCR/dump" "$L/preds.npy" 84 &&
  "$PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["correct_float32"] == c["correct_float64"]' "$L/case.json" &&
  ok "every test prediction is PyTorch's (accuracy to the example)" || bad "predictions differ from PyTorch's"

# --- PyTorch's LeNet-5: FGSM against float64 PyTorch ---------------------------
EPS=$("$PY" -c 'import json,sys; print(",".join(str(e) for e in json.load(open(sys.argv[1]))["fgsm_eps"]))' "$L/case.json")
expect_exit 0 "FGSM on the PyTorch LeNet-5" "$LSP" attack --model "$L/model.onnx" --data fashion-mnist --attack fgsm --eps "$EPS" --json
cp "$SCR/out" "$SCR/fgsm.json"
"$PY" "$(dirname "$0")/fmnist_case.py" fgsm "$SCR/fgsm.json" "$L/case.json" &&
  "$PY" - "$L/case.json" <<'PY' && ok "FGSM accuracies = PyTorch float64 within 0.005 at every eps" || bad "FGSM accuracies differ from PyTorch float64"
import json, sys
case = json.load(open(sys.argv[1]))
a64, a32 = case["fgsm_accuracy_float64"], case["fgsm_accuracy_float32"]
# the data can tell the two: saturated rows, float32 off by more than 0.005
assert case["saturated_rows_float32"] > 0
assert max(abs(x - y) for x, y in zip(a32, a64)) > 0.005
PY

# --- --features, clusters --model, the transfer source -------------------------
expect_exit 0 "eval --features on an ONNX node" "$LSP" eval --model "$L/model.onnx" --data fashion-mnist --max-test 500 --features /Relu_2 --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["features"]=="/Relu_2" and d["feature_dim"]==120, d' "$SCR/out" &&
  ok "--features /Relu_2: fc1's 120 outputs" || bad "--features: $(head -c 300 "$SCR/out")"
expect_exit 0 "clusters --model an ONNX file" "$LSP" clusters --features "$SCR/dump/features.npy" --labels "$SCR/dump/labels.npy" --model "$L/model.onnx"
grep -q "template accuracy    0.871200" "$SCR/out" && ok "its last layer's templates give the model's accuracy" ||
  bad "clusters: $(grep template "$SCR/out")"
expect_exit 0 "train a LeNet-5 with input normalization" "$LSP" train --data fashion-mnist --arch lenet --normalize 0.286,0.353 \
  --max-train 1500 --epochs 1 --lr 0.05 --smoothing 0.1 --quiet --threads 2 --out "$SCR/lenet.lspm"
expect_exit 0 "eval --features on an lsprobe layer" "$LSP" eval --model "$SCR/lenet.lspm" --data fashion-mnist --max-test 300 --features relu9 --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["features"]=="relu9" and d["feature_dim"]==120, d' "$SCR/out" &&
  ok "--features relu9: the first dense layer's 120 outputs" || bad "--features relu9: $(head -c 300 "$SCR/out")"
expect_exit 0 "attack --transfer-from an ONNX model" "$LSP" attack --model "$SCR/lenet.lspm" --data fashion-mnist --limit 200 \
  --attack pgd --steps 3 --eps 0,0.1 --transfer-from "$L/model.onnx"

expect_exit 0 "distill a student from an ONNX teacher" "$LSP" distill --teacher "$L/model.onnx" --data fashion-mnist \
  --arch mlp:32 --temperature 2 --alpha 0.5 --max-train 1000 --epochs 1 --quiet --threads 2 --out "$SCR/student.lspm"

# --- export ------------------------------------------------------------------------
expect_exit 0 "export an lsprobe LeNet-5" "$LSP" export --model "$SCR/lenet.lspm" --out "$SCR/lenet.onnx"
grep -q "^exported .*lenet.lspm (lenet 1x28x28->10, 13 layers, 61706 parameters) to .*lenet.onnx" "$SCR/out" &&
  ok "export says what it wrote" || bad "export: $(cat "$SCR/out")"
expect_exit 0 "export PyTorch's model again" "$LSP" export --model "$L/model.onnx" --out "$SCR/torch_again.onnx"
"$PY" - "$SCR/lenet.onnx" "$SCR/torch_again.onnx" <<'PY' && ok "onnx.checker (full check) accepts both files" || bad "onnx.checker refused an export"
import sys, onnx
for p in sys.argv[1:]:
    m = onnx.load(p)
    onnx.checker.check_model(m, full_check=True)
    assert m.opset_import[0].version == 13 and m.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
PY
for pair in "lenet.lspm lenet.onnx" "$L/model.onnx torch_again.onnx"; do
  set -- $pair
  a=$1; [ -e "$a" ] || a="$SCR/$a"
  b="$SCR/$2"
  "$LSP" eval --model "$a" --data fashion-mnist --max-test 2000 --dump "$SCR/da" >/dev/null 2>&1 &&
    "$LSP" eval --model "$b" --data fashion-mnist --max-test 2000 --dump "$SCR/db" >/dev/null 2>&1 &&
    cmp -s "$SCR/da/logits.npy" "$SCR/db/logits.npy" && cmp -s "$SCR/da/features.npy" "$SCR/db/features.npy" &&
    ok "$(basename "$a") and its export: byte-identical logits and features" || bad "$(basename "$a"): the export computes other numbers"
done
# autoattack (APGD-CE, APGD-T, Square) through an ONNX file: the same numbers as
# on the .lspm it was exported from (same seed), and no more robust than FGSM
AA=(--data fashion-mnist --attack autoattack --limit 60 --eps 0,0.05 --steps 10 --targets 2 --queries 100 --threads 1 --json)
expect_exit 0 "autoattack on an lsprobe LeNet-5" "$LSP" attack --model "$SCR/lenet.lspm" "${AA[@]}"
cp "$SCR/out" "$SCR/aa_lspm.json"
expect_exit 0 "autoattack on its ONNX export" "$LSP" attack --model "$SCR/lenet.onnx" "${AA[@]}"
cp "$SCR/out" "$SCR/aa_onnx.json"
expect_exit 0 "FGSM on the ONNX export" "$LSP" attack --model "$SCR/lenet.onnx" --data fashion-mnist --limit 60 --eps 0,0.05 --threads 1 --json
"$PY" - "$SCR/aa_lspm.json" "$SCR/aa_onnx.json" "$SCR/out" <<'PY' && ok "autoattack on the ONNX export = on the .lspm, <= FGSM" || bad "autoattack through ONNX differs"
import json, sys
a, b, f = (json.load(open(p)) for p in sys.argv[1:])
print([(p["eps"], p["accuracy"], p["stages"]) for p in b["points"]])
assert a["points"] == b["points"] and a["clean_accuracy"] == b["clean_accuracy"] > 0.1
assert b["points"][1]["accuracy"] <= f["points"][1]["accuracy"]
PY
# a pooling ONNX cannot state (ceil_mode keeps the last row of windows but
# drops the last column): the message names the model and the layer
expect_exit 0 "train a pooling ONNX cannot state" "$LSP" train --data fashion-mnist --max-train 300 --epochs 1 --quiet \
  --smoothing 0.1 --arch "pad(pt=1,pl=1,pb=1,pr=1) pool(k=2,s=2,avg=1,count_pad=0,ceil_mode=1,pt=1,pl=0,pb=0,pr=1) gap" \
  --out "$SCR/ceilpool.lspm"
expect_exit 1 "export it" "$LSP" export --model "$SCR/ceilpool.lspm" --out "$SCR/ceilpool.onnx"
expect_err "ceilpool.lspm: its ONNX form: node 'pool2' (AveragePool): ceil_mode = 1" "export of a pooling ONNX cannot state"
# an N × C × L input (Conv1d) is written N × C × L × 1: the warning names both
"$PY" - "$SCR/c1d.onnx" <<'PY'
import sys, numpy as np, onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T
n = [h.make_node("Conv", ["x", "w"], ["c"], name="conv"),
     h.make_node("Flatten", ["c"], ["f"], name="flat"),
     h.make_node("Gemm", ["f", "fw"], ["logits"], name="fc", transB=1)]
g = h.make_graph(n, "g", [h.make_tensor_value_info("x", T.FLOAT, ["N", 2, 10])],
                 [h.make_tensor_value_info("logits", T.FLOAT, ["N", 3])],
                 [nh.from_array(np.ones((4, 2, 3), np.float32), "w"),
                  nh.from_array(np.ones((3, 32), np.float32), "fw")])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), sys.argv[1])
PY
expect_exit 0 "export a Conv1d model" "$LSP" export --model "$SCR/c1d.onnx" --out "$SCR/c1d_again.onnx"
grep -qF "WARNING: the written model's input is N × 2 × 10 × 1; $SCR/c1d.onnx declares N × 2 × 10" "$SCR/err" &&
  ok "export warns that the input's rank changed" || bad "export of N × C × L: $(cat "$SCR/err")"
expect_exit 0 "export PyTorch's LeNet-5 once more" "$LSP" export --model "$L/model.onnx" --out "$SCR/torch_again2.onnx"
[ -s "$SCR/err" ] && bad "export of a same-shape model warned: $(cat "$SCR/err")" || ok "no warning when the input keeps its shape"
printf 'earlier' >"$SCR/keep.onnx"
expect_exit 2 "export to a .lspm name" "$LSP" export --model "$SCR/lenet.lspm" --out "$SCR/lenet2.lspm"
expect_err "export writes ONNX" "export to a .lspm name"
[ -e "$SCR/lenet2.lspm" ] && bad "export to a .lspm name wrote a file" || ok "export to a .lspm name: nothing written"
expect_exit 2 "export to a .LSPM name" "$LSP" export --model "$SCR/lenet.lspm" --out "$SCR/lenet2.LSPM"
expect_err "export writes ONNX" "export to a .LSPM name"
expect_exit 1 "export a model that does not load" "$LSP" export --model "$DATA/onnx_cases/conv_flat.onnx" --out "$SCR/keep.onnx"
[ "$(cat "$SCR/keep.onnx")" = earlier ] && ok "a failed export leaves the earlier file" || bad "the earlier file changed"
# PyTorch exports with Mul of two values, a three-input Concat, ReduceMean
# and BatchNorm1d. FGSM on the CNN (opsets 13 and 18) gives PyTorch's
# float64 accuracy at every eps (within one of the 200 examples: a gradient
# component float32 rounds to the other sign may flip one); exported again (export itself checks bit-identical logits
# on its read-back), as Mul and Concat nodes onnx.checker accepts
G="$DATA/onnx_graphops"
for op in 13 18; do
  expect_exit 0 "FGSM on the gated CNN (opset $op)" "$LSP" attack --model "$G/cnn_op$op.onnx" --x "$G/fgsm_x.npy" --labels "$G/fgsm_labels.npy" --eps 0,0.05,0.1,0.2,0.3 --threads 1 --json
  "$PY" - "$SCR/out" "$G/fgsm.json" <<'PY' && ok "opset $op: FGSM accuracies are PyTorch's float64 ones" || bad "opset $op: FGSM differs from PyTorch: $(cat "$SCR/out")"
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))["accuracy"]
assert len(got["points"]) == len(want) == 5
assert want["0.3"] < 0.9  # the attack moves the model
for p in got["points"]:
    assert abs(p["accuracy"] - want[str(float(p["eps"]))]) <= 1 / 200 + 1e-12, p
PY
done
expect_exit 0 "export the CNN with gating, concat and mean" "$LSP" export --model "$G/cnn_op17.onnx" --out "$SCR/cnn_again.onnx"
expect_exit 0 "export the MLP with BatchNorm1d and concat" "$LSP" export --model "$G/mlp_op13.onnx" --out "$SCR/mlp_again.onnx"
"$PY" - "$SCR/cnn_again.onnx" "$SCR/mlp_again.onnx" <<'PY' && ok "the exports keep Mul and Concat (axis 1); onnx.checker accepts them" || bad "the graph-op exports differ"
import sys, onnx
for p, muls, cats in zip(sys.argv[1:], (3, 1), (2, 1)):
    m = onnx.load(p)
    onnx.checker.check_model(m, full_check=True)
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("Mul") == muls and ops.count("Concat") == cats, (p, ops)
    for n in m.graph.node:
        if n.op_type == "Concat":
            assert [a.i for a in n.attribute if a.name == "axis"] == [1]
PY

# Global max pooling as PyTorch writes it (tests/data/onnx_pool): FGSM on
# F.adaptive_max_pool2d (MaxPool over the image), h.amax((2, 3)) at opset
# 18 (ReduceMax's axes an input) and GlobalMaxPool gives PyTorch's float64
# accuracy at every eps (within one of the 200 examples); exported as
# GlobalMaxPool, which onnx.checker accepts. A 1×1-convolution head pooled
# by a global average exports as GlobalAveragePool and a Gemm. With a ReLU
# before the pooling (SqueezeNet, NiN) the head stays convolutional and an
# identity classifier follows the pooling: FGSM gives PyTorch's float64
# accuracies, and it exports with that Gemm (weights I, bias 0), as do a
# 1×1 head pooled by a maximum and a 3×3 head of stride 2.
P="$DATA/onnx_pool"
for f in max_op13 amax_op18 global_op13 head_relu_op13 head_relumean_op17; do
  ref=max
  case $f in head_relu*) ref=head_relu ;; esac
  expect_exit 0 "FGSM on the pooled CNN ($f)" "$LSP" attack --model "$P/$f.onnx" --x "$P/fgsm_x.npy" --labels "$P/fgsm_labels_$ref.npy" --eps 0,0.005,0.01,0.02,0.05 --threads 1 --json
  "$PY" - "$SCR/out" "$P/fgsm_$ref.json" <<'PY' && ok "$f: FGSM accuracies are PyTorch's float64 ones" || bad "$f: FGSM differs from PyTorch: $(cat "$SCR/out")"
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))["accuracy"]
assert len(got["points"]) == len(want) == 5
assert want["0.05"] < 0.5  # the attack moves the model
for p in got["points"]:
    assert abs(p["accuracy"] - want[str(float(p["eps"]))]) <= 1 / 200 + 1e-12, p
PY
done
expect_exit 0 "export the max-pooled CNN" "$LSP" export --model "$P/amax_op13.onnx" --out "$SCR/gmp_again.onnx"
expect_exit 0 "export the 1x1-convolution head" "$LSP" export --model "$P/head_op13.onnx" --out "$SCR/head_again.onnx"
expect_exit 0 "export the 1x1 head with a ReLU" "$LSP" export --model "$P/head_relu_op13.onnx" --out "$SCR/head_relu_again.onnx"
"$PY" - "$SCR/gmp_again.onnx" "$SCR/head_again.onnx" "$SCR/head_relu_again.onnx" <<'PY' && ok "gmp exports as GlobalMaxPool, the heads as GlobalAveragePool and Gemm (the identity after a ReLU head); onnx.checker accepts them" || bad "the pooling exports differ"
import sys, onnx
import numpy as np
from onnx import numpy_helper
want = (["Conv", "Relu", "Conv", "Relu", "GlobalMaxPool", "Flatten", "Gemm"],
        ["Conv", "Relu", "Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm"],
        ["Conv", "Relu", "Conv", "Relu", "Conv", "Relu", "GlobalAveragePool",
         "Flatten", "Gemm"])
for p, ops in zip(sys.argv[1:], want):
    m = onnx.load(p)
    onnx.checker.check_model(m, full_check=True)
    assert [n.op_type for n in m.graph.node] == ops, (p, [n.op_type for n in m.graph.node])
m = onnx.load(sys.argv[3])
init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
gemm = m.graph.node[-1]
w, b = init[gemm.input[1]], init[gemm.input[2]]
assert (w == np.eye(4, dtype=np.float32)).all() and (b == 0).all(), (w, b)
PY
expect_exit 0 "export a 1x1 head pooled by a maximum" "$LSP" export --model "$P/head_max_op13.onnx" --out "$SCR/head_max.onnx"
expect_exit 0 "export a 3x3 head of stride 2" "$LSP" export --model "$P/head_s2_op13.onnx" --out "$SCR/head_s2.onnx"
"$PY" - "$SCR/head_max.onnx" "$SCR/head_s2.onnx" <<'PY' && ok "heads no dense layer computes export as their convolution, the pooling and an identity Gemm" || bad "max / strided head exports"
import sys, onnx
import numpy as np
from onnx import numpy_helper
for p, pool in zip(sys.argv[1:], ("GlobalMaxPool", "GlobalAveragePool")):
    m = onnx.load(p)
    onnx.checker.check_model(m, full_check=True)
    ops = [n.op_type for n in m.graph.node]
    assert ops == ["Conv", "Relu", "Conv", "Relu", "Conv", pool, "Flatten", "Gemm"], (p, ops)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    g = m.graph.node[-1]
    assert (init[g.input[1]] == np.eye(4, dtype=np.float32)).all() and (init[g.input[2]] == 0).all()
PY

# Global max pooling written by hand (tests/data/onnx_flatten):
# torch.max(h.flatten(2), 2)[0] (Shape, Slice of its first two entries,
# Concat, Reshape) at opset 11 with a fixed batch and at 13 with a dynamic
# one, and h.view(h.size(0), h.size(1), -1).max(2)[0] (Gather of entries 0
# and 1): FGSM gives PyTorch's float64 accuracy at every eps (within one of
# the 200 examples); a product of sizes is refused saying what to export.
FL="$DATA/onnx_flatten"
for f in tmax_op11 tmax_op13_dyn vmax_op17_dyn; do
  expect_exit 0 "FGSM on the hand-pooled CNN ($f)" "$LSP" attack --model "$FL/$f.onnx" --x "$FL/fgsm_x.npy" --labels "$FL/fgsm_labels_gmax.npy" --eps 0,0.01,0.02,0.05,0.1 --threads 1 --json
  "$PY" - "$SCR/out" "$FL/fgsm_gmax.json" <<'PY' && ok "$f: FGSM accuracies are PyTorch's float64 ones" || bad "$f: FGSM differs from PyTorch: $(cat "$SCR/out")"
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))["accuracy"]
assert len(got["points"]) == len(want) == 5
assert want["0.1"] < 0.5  # the attack moves the model
for p in got["points"]:
    assert abs(p["accuracy"] - want[str(float(p["eps"]))]) <= 1 / 200 + 1e-12, p
PY
done
expect_exit 1 "a product of computed sizes" "$LSP" export --model "$FL/bad_viewsize_op13_dyn.onnx" --out "$SCR/viewsize.onnx"
expect_err "node '/Mul' (Mul): computes with the size of a computed value" "a product of sizes is refused, named"

# --- activations: trained, exported (the opset Gelu needs), read back -------------
expect_exit 0 "train a CNN with activations" "$LSP" train --data fashion-mnist --max-train 300 --epochs 1 --quiet \
  --smoothing 0 --arch "conv(4,3) gelu maxpool(2) conv(4,3) hardswish leakyrelu(alpha=0.25) clip(lo=-1,hi=6) flatten dense(16) selu" \
  --out "$SCR/act.lspm"
expect_exit 0 "export it" "$LSP" export --model "$SCR/act.lspm" --out "$SCR/act.onnx"
grep -q "to .*act.onnx: 11 ONNX nodes, .* bytes, opset 20$" "$SCR/out" &&
  ok "export of Gelu says opset 20" || bad "export: $(cat "$SCR/out")"
for m in act.lspm act.onnx; do
  expect_exit 0 "eval $m" "$LSP" eval --model "$SCR/$m" --data fashion-mnist --dump "$SCR/dump_$m"
done
cmp -s "$SCR/dump_act.lspm/logits.npy" "$SCR/dump_act.onnx/logits.npy" &&
  ok "activations: the export gives byte-identical logits" || bad "activations: the export computes other logits"
expect_exit 0 "train leakyrelu(alpha=0.1)" "$LSP" train --data fashion-mnist --max-train 300 --epochs 1 --quiet \
  --smoothing 0 --arch "dense(16) leakyrelu(alpha=0.1)" --out "$SCR/leaky.lspm"
expect_exit 1 "export it" "$LSP" export --model "$SCR/leaky.lspm" --out "$SCR/leaky.onnx"
expect_err "leaky.lspm: layer 'leakyrelu2' (leakyrelu): alpha = 0.10000000000000001 is not a float32 value" "export of an attribute ONNX cannot state"
expect_err "a network trained with alpha=0.10000000149011612 (the nearest float32) exports" "the refusal names the value that exports"
expect_exit 0 "train with that value" "$LSP" train --data fashion-mnist --max-train 300 --epochs 1 --quiet \
  --smoothing 0 --arch "dense(16) leakyrelu(alpha=0.10000000149011612)" --out "$SCR/leaky32.lspm"
expect_exit 0 "and it exports" "$LSP" export --model "$SCR/leaky32.lspm" --out "$SCR/leaky32.onnx"
# --- standard architectures exported by PyTorch (tests/data/onnx_zoo, made
# by gen_onnx_zoo.py): MobileNetV2 (depthwise convolutions, ReLU6, residual
# Add), EfficientNet MBConv (SiLU, squeeze-excitation x * gate), DenseNet
# (torch.cat, AvgPool2d transition), VGG (MaxPool, BatchNorm1d, GELU,
# Dropout), trained a little on Fashion-MNIST. On its first 200 test images:
# logits and penultimate features are PyTorch's float64 ones to 1e-5
# (relative to the largest), FGSM and BIM (no random start, last iterate)
# accuracies PyTorch's float64 ones at every eps (within one of the 200
# examples: a gradient component float32 rounds to the other sign may flip one)
Z="$DATA/onnx_zoo"
ZEPS=0,0.01,0.02,0.05,0.1,0.2
for mo in mobilenetv2_13 mbconv_17 densenet_13 vgg_17; do
  m=${mo%_*}
  expect_exit 0 "eval the $m export" "$LSP" eval --model "$Z/$mo.onnx" --data fashion-mnist --max-test 200 --json --dump "$SCR/zoo_$m"
  "$PY" - "$SCR/out" "$SCR/zoo_$m" "$Z/${m}_logits.npy" "$Z/${m}_feat20.npy" <<'PY' && ok "$m: logits and features are PyTorch's float64 ones to 1e-5" || bad "$m: logits or features differ from PyTorch's"
import json, sys
import numpy as np
ev = json.load(open(sys.argv[1]))
z, f = np.load(sys.argv[2] + "/logits.npy"), np.load(sys.argv[2] + "/features.npy")
zr, fr = np.load(sys.argv[3]), np.load(sys.argv[4])
assert z.shape == zr.shape == (200, 10), z.shape
assert f.shape[1] == fr.shape[1] == ev["feature_dim"], (f.shape, fr.shape)
rz = np.abs(z - zr).max() / np.abs(zr).max()
rf = np.abs(f[:20] - fr).max() / np.abs(fr).max()
print("relative difference: logits", rz, "features", rf)
assert rz <= 1e-5 and rf <= 1e-5
PY
  for a in fgsm bim; do
    # under the sanitizers BIM, FGSM's steps repeated, runs on one model, the
    # cheapest (DenseNet: 9 s there, MobileNetV2 24 s): the backward pass of
    # every model's operators runs in FGSM already
    [ "$a" = bim ] && [ -n "${LSP_TEST_SANITIZED:-}" ] && [ "$m" != densenet ] && continue
    extra=()
    [ "$a" = bim ] && extra=(--full-steps)
    expect_exit 0 "$a on the $m export" "$LSP" attack --model "$Z/$mo.onnx" --data fashion-mnist --limit 200 --attack "$a" "${extra[@]}" --eps "$ZEPS" --threads 1 --json
    "$PY" - "$SCR/out" "$Z/${m}_attacks.json" "$a" <<'PY' && ok "$m: $a accuracies are PyTorch's float64 ones" || bad "$m: $a differs from PyTorch: $(cat "$SCR/out")"
import json, sys
got, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
acc = want[sys.argv[3]]
assert [p["eps"] for p in got["points"]] == want["eps"]
assert acc[-1] < acc[0] - 0.3  # the attack moves the model
for p, w in zip(got["points"], acc):
    assert abs(p["accuracy_raw"] - w) <= 1 / 200 + 1e-12, (p, w)
PY
  done
done
expect_exit 0 "export the MobileNetV2 again" "$LSP" export --model "$Z/mobilenetv2_13.onnx" --out "$SCR/mnv2_again.onnx"
cp "$SCR/out" "$SCR/mnv2_export.txt"
expect_exit 0 "eval the re-export" "$LSP" eval --model "$SCR/mnv2_again.onnx" --data fashion-mnist --max-test 200 --dump "$SCR/zoo_again"
cmp -s "$SCR/zoo_again/logits.npy" "$SCR/zoo_mobilenetv2/logits.npy" &&
  ok "MobileNetV2: the re-export gives byte-identical logits" || bad "MobileNetV2: the re-export computes other logits"
# grouped convolutions stay grouped: the parameter count is the ONNX file's
# own (no zeros of a dense expansion), the re-export writes the same groups
# and passes onnx.checker, and exporting it once more gives the same bytes
"$PY" - "$Z/mobilenetv2_13.onnx" "$SCR/mnv2_again.onnx" "$SCR/mnv2_export.txt" <<'PY' && ok "MobileNetV2: the file's parameter count and groups, kept" || bad "MobileNetV2: groups or parameters changed: $(cat "$SCR/mnv2_export.txt")"
import re, sys, onnx
from onnx import numpy_helper
def count_groups(p):
    g = onnx.load(p).graph
    init = {i.name: numpy_helper.to_array(i).size for i in g.initializer}
    n = sum(init.get(i, 0) for nd in g.node if nd.op_type in ("Conv", "Gemm")
            for i in nd.input[1:])
    n += sum(init[i] for nd in g.node if nd.op_type == "BatchNormalization"
             for i in nd.input[1:3])
    grp = [a.i for nd in g.node if nd.op_type == "Conv" for a in nd.attribute
           if a.name == "group"]
    return n, grp
(n0, g0), (n1, g1) = count_groups(sys.argv[1]), count_groups(sys.argv[2])
said = int(re.search(r"(\d+) parameters", open(sys.argv[3]).read()).group(1))
print("parameters", n0, n1, said, "groups", g0)
assert max(g0) > 1 and [x for x in g0 if x > 1] == [x for x in g1 if x > 1]
assert n0 == n1 == said
onnx.checker.check_model(onnx.load(sys.argv[2]), full_check=True)
PY
expect_exit 0 "export the re-export" "$LSP" export --model "$SCR/mnv2_again.onnx" --out "$SCR/mnv2_again2.onnx"
cmp -s "$SCR/mnv2_again.onnx" "$SCR/mnv2_again2.onnx" &&
  ok "MobileNetV2: exporting the re-export gives the same bytes" || bad "MobileNetV2: the second export differs"
# a depthwise --arch trained in lsprobe, exported: the same logits
expect_exit 0 "train a depthwise --arch" "$LSP" train --data fashion-mnist --max-train 300 --epochs 1 --quiet --smoothing 0 \
  --arch "conv(8,3,p=1) relu conv(16,3,s=2,p=1,g=8) relu conv(8,1,g=4) relu gap" --out "$SCR/dw.lspm"
expect_exit 0 "export it" "$LSP" export --model "$SCR/dw.lspm" --out "$SCR/dw.onnx"
grep -q " 8 layers, 370 parameters) to " "$SCR/out" &&
  ok "depthwise --arch: PyTorch's parameter count" || bad "depthwise --arch: $(cat "$SCR/out")"
"$LSP" eval --model "$SCR/dw.lspm" --data fashion-mnist --max-test 500 --dump "$SCR/dwa" >/dev/null 2>&1 &&
  "$LSP" eval --model "$SCR/dw.onnx" --data fashion-mnist --max-test 500 --dump "$SCR/dwb" >/dev/null 2>&1 &&
  cmp -s "$SCR/dwa/logits.npy" "$SCR/dwb/logits.npy" &&
  ok "depthwise --arch and its export: byte-identical logits" || bad "depthwise --arch: the export computes other logits"
# --features: the clusters block says which layer; a name that is none is
# refused with the layers nearest the classifier
expect_exit 0 "eval --features on a residual Add" "$LSP" eval --model "$Z/mobilenetv2_13.onnx" --data fashion-mnist --max-test 200 --features /features/features.7/Add
grep -qx "clusters (layer /features/features.7/Add, 784 features)" "$SCR/out" &&
  ok "clusters name the --features layer" || bad "clusters: $(grep clusters "$SCR/out")"
expect_exit 2 "eval --features with no such layer" "$LSP" eval --model "$Z/mobilenetv2_13.onnx" --data fashion-mnist --max-test 10 --features /features/features.7/Relu
expect_err "--features '/features/features.7/Relu': no value, node or layer of that name (the layers before the classifier: ..., /features/features.7/conv/conv.5/Clip, /features/features.7/conv/conv.6/Conv, /features/features.7/Add, /features/features.8/Conv, /features/features.10/Clip, /GlobalAveragePool)" "--features names nothing"
# a graph output squashed by a final Sigmoid, Tanh or Clip is not the logits;
# the message names the value that is
for t in sigmoid:Sigmoid tanh:Tanh clip:Clip; do
  expect_exit 1 "eval a model ending in ${t#*:}" "$LSP" eval --model "$Z/${t%:*}_out.onnx" --data fashion-mnist --max-test 10
  expect_err "node '/5/${t#*:}' (${t#*:}): the graph output 'logits' is the ${t#*:} of the logits, not the logits; lsprobe needs the logits: export the model without the final ${t#*:} (its input '/4/Gemm_output_0' holds the logits)" "final ${t#*:}"
done
expect_exit 1 "eval a model ending in Sigmoid(logits / T)" "$LSP" eval --model "$Z/sigmoid_t_out.onnx" --data fashion-mnist --max-test 10
expect_err "node '/Sigmoid' (Sigmoid): the graph output 'logits' is the Sigmoid of the logits, not the logits; lsprobe needs the logits: export the model without the final Sigmoid (its input '/Div_output_0' holds the logits)" "final Sigmoid after temperature scaling"
finish
