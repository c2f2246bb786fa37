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
# a wider model on 3000 test rows (three batches of at most 1024): logits,
# features and every reported number are the same bits at 1, 2 and 3 threads
D3="synthetic:train=1200,test=3000,dim=64,classes=10,sep=3"
expect_exit 0 "train a wider model" "$LSP" train --data "$D3" --hidden 256 --epochs 1 --smoothing 0.1 --quiet --out "$SCR/w.lspm"
for t in 1 2 3; do
  "$LSP" eval --model "$SCR/w.lspm" --data "$D3" --json --bootstrap 20 --mi --mi-examples 20 --mi-copies 4 --threads $t --dump "$SCR/t$t" 2>/dev/null |
    sed 's/"seconds":[^,]*,//g; s/"threads":[0-9]*,//; s/"dump":"[^"]*"//' >"$SCR/ev$t.json"
done
same=1
for t in 2 3; do
  cmp -s "$SCR/ev1.json" "$SCR/ev$t.json" || same=0
  for f in logits features; do cmp -s "$SCR/t1/$f.npy" "$SCR/t$t/$f.npy" || same=0; done
done
[ -s "$SCR/ev1.json" ] && [ $same -eq 1 ] && ok "eval: the same JSON and dumps at 1, 2 and 3 threads" || bad "eval depends on the thread count"
# the clusters block names the layer --features took, not "penultimate"
expect_exit 0 "eval --features dense1" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --features dense1
grep -qx "clusters (layer dense1, 16 features)" "$SCR/out" &&
  ok "the clusters block names the --features layer" || bad "clusters block: $(grep clusters "$SCR/out")"
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
# --mi: information erasure; the pair is the one the model confuses most on
# the validation split (recomputed here from the validation dump)
expect_exit 0 "eval --mi on val with --dump" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --split val --mi --mi-examples 30 --mi-copies 8 --json --dump "$SCR/v"
cp "$SCR/out" "$SCR/mi.json"
$PY - "$SCR" <<'PY' && ok "--mi: pair = most confused on val, bound log 2M, keys" || bad "--mi JSON"
import json, math, sys
import numpy as np
d = sys.argv[1]
e = json.load(open(d + "/mi.json"))
z, y = np.load(d + "/v/logits.npy"), np.load(d + "/v/labels.npy")
k = z.shape[1]
c = np.zeros((k, k), int)
for t, p in zip(y, z.argmax(1)):
    c[t, p] += 1
s = c + c.T
best = max((s[i, j], -i, -j) for i in range(k) for j in range(i + 1, k))
assert e["mi_classes"] == [-best[1], -best[2]], (e["mi_classes"], best)
assert e["mi"]["pair_confusions"] == best[0]
assert e["mi"]["examples_per_class"] == 30 and e["mi"]["copies"] == 8
assert abs(e["mi"]["bound"] - math.log(60)) < 1e-12
mi, vt, vw = e["mutual_information"], e["mi"]["var_total"], e["mi"]["var_within"]
assert mi > 0 and abs(mi - 0.5 * math.log(vt / vw)) < 1e-12
PY
expect_exit 0 "eval --mi --bootstrap" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --mi --mi-examples 30 --mi-copies 8 --bootstrap 200 --json
$PY -c "
import json, sys
e = json.load(open('$SCR/out'))
lo, hi = e['mutual_information_ci']
sys.exit(0 if lo < e['mutual_information'] < hi else 1)" && ok "--mi with --bootstrap: the interval holds the estimate" || bad "--mi interval: $(cat "$SCR/out" | head -c 300)"
expect_exit 0 "eval --mi, given pair, text" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --mi --mi-classes 1,3
grep -q "information erasure (Mueller et al. 2019): classes 1 and 3$" "$SCR/out" && grep -q "I(X; z_a - z_b) [0-9.]* nats" "$SCR/out" && ok "--mi text block" || bad "--mi text: $(tail -3 "$SCR/out")"
grep -q "^  the true I(X; z_a - z_b) is at most log 200 = 5.2983 nats$" "$SCR/out" && ok "--mi text: the bound is the true information's" || bad "--mi text bound: $(tail -3 "$SCR/out")"
# a tiny within-example spread: the Gaussian estimate exceeds log 2M, and
# the text says so rather than quoting a bound it breaks
expect_exit 0 "eval --mi, tiny noise" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --mi --mi-classes 1,3 --mi-examples 30 --mi-copies 8 --mi-noise 0.00001
awk '/I\(X; z_a - z_b\) [0-9.]* nats/ { exit !($5 > log(60)) }' "$SCR/out" &&
  grep -q "^  the true I(X; z_a - z_b) is at most log 60 = 4.0943 nats; the estimate is above it" "$SCR/out" &&
  ok "--mi text: an estimate above log 2M is named as such" || bad "--mi tiny noise: $(tail -3 "$SCR/out")"
expect_exit 2 "--mi-classes a class twice" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --mi --mi-classes 2,2
expect_err "two different classes" "--mi-classes a class twice"
expect_exit 2 "--mi-classes out of range" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --mi --mi-classes 0,9
expect_err "not two distinct classes" "--mi-classes out of range"
# copies that are all the same (no noise, no shift) carry no estimate: N×D
# data is never shifted
expect_exit 2 "--mi-noise 0 on N×D data" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --mi --mi-noise 0
expect_err "--mi-noise 0" "--mi-noise 0 on N×D data"
expect_exit 2 "--mi-noise 0 --mi-shift 0" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --mi --mi-noise 0 --mi-shift 0
expect_err "--mi-shift 0" "--mi-noise 0 --mi-shift 0"
expect_exit 2 "--mi-copies without --mi" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --mi-copies 5
expect_err "--mi-copies needs --mi" "--mi-copies without --mi"
# a block that fails after others succeeded prints no partial JSON object:
# stdout stays empty (class 3 of 10 has no training example among 11)
DS="synthetic:train=12,test=40,dim=16,classes=10,sep=3"
expect_exit 0 "train on 11 examples of 10 classes" "$LSP" train --data "$DS" --hidden 8 --epochs 1 --smoothing 0 --quiet --out "$SCR/tiny.lspm"
expect_exit 1 "eval --mi --json on a class without examples" "$LSP" eval --model "$SCR/tiny.lspm" --data "$DS" --mi --mi-classes 2,3 --json
expect_err "need 2 or more" "eval --mi --json on a class without examples"
[ ! -s "$SCR/out" ] && ok "a failed eval --json prints nothing on stdout" || bad "partial JSON: $(head -c 200 "$SCR/out")"
# a failed evaluation leaves an earlier dump as it was; a split whose
# features cannot give clusters (one example: one class) reports them as
# unavailable and keeps every other block
mkdir -p "$SCR/keep" && cp "$SCR/d"/*.npy "$SCR/keep/"
expect_exit 2 "--split val with --max-test" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --split val --max-test 5
expect_err "--max-test limits the test split" "--split val with --max-test"
expect_exit 2 "eval failing after the forward pass" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --max-test 1 --mi --mi-classes 0,9 --dump "$SCR/d"
same=1
for f in logits features labels; do cmp -s "$SCR/d/$f.npy" "$SCR/keep/$f.npy" || same=0; done
[ $same = 1 ] && [ -z "$(ls "$SCR/d" | grep -v '^[a-z]*\.npy$')" ] && ok "a failed eval leaves the earlier dump" || bad "dump changed: $(ls -l "$SCR/d")"
expect_exit 0 "eval, clusters unavailable" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --max-test 1 --dump "$SCR/d" --json
grep -q "WARNING: clusters unavailable" "$SCR/err" && ok "clusters unavailable: a warning" || bad "no warning: $(cat "$SCR/err")"
$PY - "$SCR" <<'PY' && ok "clusters null, the other blocks and the dump kept" || bad "eval without clusters: $(head -c 400 "$SCR/out")"
import json, sys
import numpy as np
d = sys.argv[1]
e = json.load(open(d + "/out"))
assert e["clusters"] is None and e["n"] == 1
assert "ece" in e["calibration"] and "logit_gap" in e and e["dump"] == d + "/d"
assert np.load(d + "/d/logits.npy").shape[0] == 1 and np.load(d + "/d/labels.npy").shape == (1,)
PY
# a validation split the model gets all right (every training row the same
# example of class 2): no temperature minimum, so no scaling — and why, in
# the text, on stderr and in the JSON
$PY - "$SCR/one" <<'PY'
import os, sys
import numpy as np
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(5)
x = rng.random(8).astype(np.float32)
np.save(d + "/x_train.npy", np.tile(x, (120, 1)))
np.save(d + "/y_train.npy", np.full(120, 2))
np.save(d + "/x_test.npy", rng.random((30, 8)).astype(np.float32))
np.save(d + "/y_test.npy", np.arange(30) % 3)
PY
expect_exit 0 "train on one repeated example" "$LSP" train --data "$SCR/one" --hidden 4 --epochs 3 --smoothing 0 --quiet --out "$SCR/one.lspm"
expect_exit 0 "eval, no temperature minimum" "$LSP" eval --model "$SCR/one.lspm" --data "$SCR/one"
grep -q "^  temperature        none (validation split: temperature: the validation NLL has no minimum" "$SCR/out" && ok "text says why there is no temperature" || bad "text: $(cat "$SCR/out")"
grep -q "WARNING: no temperature scaling: validation split: .*are the validation predictions all correct" "$SCR/err" && ok "stderr says why" || bad "stderr: $(cat "$SCR/err")"
expect_exit 0 "eval --json, no temperature minimum" "$LSP" eval --model "$SCR/one.lspm" --data "$SCR/one" --json
$PY - "$SCR/out" <<'PY' && ok "JSON: calibration_temperature_note, no scaled block" || bad "JSON: $(head -c 600 "$SCR/out")"
import json, sys
e = json.load(open(sys.argv[1]))
assert "calibration_temperature_scaled" not in e
assert e["calibration_temperature_note"].startswith("validation split: temperature: the validation NLL has no minimum")
PY
# a test split without class 2: the clusters text names the empty class,
# as the JSON (k_used 2, empty_classes [2]) and the clusters command do
mkdir -p "$SCR/k3miss"
$PY - "$SCR/k3miss" <<'PY'
import random, sys
r = random.Random(1)
def rows(n, classes):
    return "".join(",".join([str(c)] + ["%.3f" % (r.gauss(0, 1) + (2.0 if j == c else 0.0)) for j in range(4)]) + "\n"
                   for c in (classes[i % len(classes)] for i in range(n)))
open(sys.argv[1] + "/train.csv", "w").write(rows(300, [0, 1, 2]))
open(sys.argv[1] + "/test.csv", "w").write(rows(60, [0, 1]))
PY
expect_exit 0 "train on three classes" "$LSP" train --data "$SCR/k3miss" --hidden 8 --epochs 2 --smoothing 0.1 --quiet --out "$SCR/k3.lspm"
expect_exit 0 "eval, a class missing from the test split" "$LSP" eval --model "$SCR/k3.lspm" --data "$SCR/k3miss"
grep -q "^  empty classes      2 (1 of 3: no non-zero feature rows on the test split)$" "$SCR/out" &&
  ok "eval text names the empty class" || bad "eval text, empty class: $(grep -A7 '^clusters' "$SCR/out")"
expect_exit 0 "eval, every class on the test split" "$LSP" eval --model "$SCR/m.lspm" --data "$D"
! grep -q "empty classes" "$SCR/out" && ok "no empty-class line when every class has rows" || bad "empty-class line: $(grep 'empty' "$SCR/out")"
# --dump is checked before any work: a file, a folder under a file or one
# that cannot be created stops eval with one line naming --dump, nothing on
# stdout (text or JSON), and the folder is not left created
printf 'mine' >"$SCR/afile"
for json in "" --json; do
  expect_exit 1 "--dump an existing file $json" "$LSP" eval --model "$SCR/m.lspm" --data "$D" $json --dump "$SCR/afile"
  expect_err "--dump $SCR/afile: exists and is not a folder" "--dump an existing file $json"
  [ ! -s "$SCR/out" ] && [ "$(cat "$SCR/afile")" = mine ] && ok "--dump a file $json: nothing printed, the file kept" ||
    bad "--dump a file $json printed: $(head -3 "$SCR/out")"
done
expect_exit 1 "--dump under a file" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --dump "$SCR/afile/sub"
expect_err "--dump $SCR/afile/sub: $SCR/afile is not a folder" "--dump under a file"
[ ! -s "$SCR/out" ] && ok "--dump under a file: nothing printed" || bad "--dump under a file printed: $(head -3 "$SCR/out")"
expect_exit 1 "--dump /proc/nonexist/d" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --json --dump /proc/nonexist/d
expect_err "--dump /proc/nonexist/d: cannot create folders in /proc:" "--dump /proc/nonexist/d"
[ ! -s "$SCR/out" ] && ok "--dump /proc/nonexist/d: nothing printed" || bad "--dump /proc/nonexist/d printed: $(head -c 300 "$SCR/out")"
# a link to nothing is no folder, and a name longer than the system takes
# is a usage error: both before any work
ln -sfn "$SCR/nowhere" "$SCR/dangling"
expect_exit 1 "--dump a link to nothing" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --dump "$SCR/dangling/d"
expect_err "--dump $SCR/dangling/d: $SCR/dangling is a symbolic link to nothing" "--dump a link to nothing"
[ ! -s "$SCR/out" ] && [ ! -e "$SCR/nowhere" ] && ok "--dump a link to nothing: nothing printed or made" || bad "--dump a link to nothing printed: $(head -3 "$SCR/out")"
long=$(printf 'n%.0s' $(seq 300))
expect_exit 2 "--dump a 300-character name" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --dump "$SCR/$long/d"
expect_err "the name is too long for this system: choose a shorter --dump" "--dump a 300-character name"
[ ! -s "$SCR/out" ] && ok "--dump a 300-character name: nothing printed" || bad "--dump a long name printed: $(head -3 "$SCR/out")"
expect_exit 1 "--dump new/folders with a missing model" "$LSP" eval --model "$SCR/none.lspm" --data "$D" --dump "$SCR/new/a/b"
[ ! -e "$SCR/new" ] && ok "the check of --dump creates nothing" || bad "left behind: $(find "$SCR/new")"
expect_exit 0 "--dump new/a/b" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --dump "$SCR/new/a/b"
[ -s "$SCR/new/a/b/logits.npy" ] && ok "--dump creates the folders on its way" || bad "--dump new/a/b: $(ls -R "$SCR/new")"
finish
