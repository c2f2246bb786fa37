#!/usr/bin/env bash
# End-to-end: `lsprobe eval` reports calibration (with temperature scaling
# fitted on validation), clusters and the logit gap, consistently with the
# stand-alone commands run on its own dumps.
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
D="synthetic:train=1200,test=400,dim=16,classes=4,sep=3"
expect_exit 0 "train a small model" "$LSP" train --data "$D" --hidden 16 --epochs 3 --smoothing 0.1 --quiet --out "$SCR/m.lspm"
expect_exit 0 "eval --json with --dump" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --json --bootstrap 50 --dump "$SCR/d"
cp "$SCR/out" "$SCR/eval.json"
expect_exit 0 "calib on the dump" "$LSP" calib --logits "$SCR/d/logits.npy" --labels "$SCR/d/labels.npy" --json
cp "$SCR/out" "$SCR/calib.json"
expect_exit 0 "clusters on the dump" "$LSP" clusters --features "$SCR/d/features.npy" --labels "$SCR/d/labels.npy" --model "$SCR/m.lspm" --json
cp "$SCR/out" "$SCR/clusters.json"
$PY - "$SCR" <<'PY' && ok "eval's metrics equal calib's and clusters' on the same dump" || bad "eval disagrees"
import json, sys
d = sys.argv[1]
e = json.load(open(d + "/eval.json"))
c = json.load(open(d + "/calib.json"))
k = json.load(open(d + "/clusters.json"))
for key in ("accuracy", "ece", "mce", "brier", "ace", "classwise_ece"):
    assert e["calibration"][key] == c[key], key
assert abs(e["calibration"]["nll"] - e["nll"]) < 1e-6
assert e["calibration"]["accuracy"] == e["accuracy"]
assert "ece_ci" in e["calibration"]
t = e["calibration_temperature_scaled"]["temperature"]
assert t > 0 and t != 1
for key in ("r2_separation", "trace_ratio", "nc1"):
    assert e["clusters"][key] == k[key], key
g = e["logit_gap"]
import math
assert abs(g["optimal_gap"] - math.log(1 + 4 * 0.9 / 0.1)) < 1e-12  # DESIGN §2, K = 4
PY
expect_exit 0 "eval as text" "$LSP" eval --model "$SCR/m.lspm" --data "$D"
grep -q "temperature" "$SCR/out" && grep -q "r2_separation" "$SCR/out" && grep -q "optimal for smoothing 0.1" "$SCR/out" && ok "text output has every block" || bad "text output: $(cat "$SCR/out")"
expect_exit 2 "bins 0" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --bins 0
expect_err "--bins" "bins 0"
finish
