#!/usr/bin/env bash
# End-to-end: convolutional networks through the commands — `train --arch`
# with a layer spec (batch norm, a residual block) and --normalize on a small
# image set, `eval` with its features, `attack` on IDX data and on --x
# arrays of images or rows, the built-in architectures' checks, and the
# usage errors of --arch / --normalize / --input-shape.
. "$(dirname "$0")/e2e_common.sh"

# 8x8 grey images in an IDX folder: class c (of 3) has a bright 4x4 block at
# a corner of its own, on uniform noise.
python3 - "$SCR/img" <<'PY'
import gzip, os, random, struct, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
r = random.Random(5)
def make(n):
    xs, ys = bytearray(), bytearray()
    for i in range(n):
        c = i % 3
        img = [r.randrange(0, 90) for _ in range(64)]
        r0, c0 = [(0, 0), (0, 4), (4, 2)][c]
        for y in range(r0, r0 + 4):
            for x in range(c0, c0 + 4):
                img[y * 8 + x] = r.randrange(150, 256)
        xs += bytes(img)
        ys.append(c)
    return xs, ys
for name, n in (("train", 900), ("t10k", 300)):
    xs, ys = make(n)
    with gzip.open(f"{d}/{name}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 8, 8) + xs)
    with open(f"{d}/{name}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + ys)
PY
IMG="$SCR/img"
SPEC="conv(4,3,p=1) bn relu res(conv(4,3,p=1,bias=0) bn relu conv(4,3,p=1,bias=0) bn) relu maxpool(2) gap"
Q=(--epochs 4 --lr 0.05 --quiet)

expect_exit 0 "train a CNN spec" "$LSP" train --data "$IMG" --arch "$SPEC" --smoothing 0.1 \
  --normalize 0.3,0.3 "${Q[@]}" --batch 32 --threads 2 --out "$SCR/cnn.lspm"
grep -q "^trained $SPEC 1x8x8->3 on" "$SCR/out" 2>/dev/null ||
  grep -q "^trained spec 1x8x8->3 on" "$SCR/out" && ok "summary names the network" ||
  bad "summary: $(cat "$SCR/out")"
# batches of 160 rows: 3 shares, batch norm combined over them
for t in 1 2 3; do
  expect_exit 0 "batch 160, $t thread(s)" "$LSP" train --data "$IMG" --arch "$SPEC" --smoothing 0.1 \
    --normalize 0.3,0.3 "${Q[@]}" --batch 160 --threads $t --out "$SCR/cnn_t$t.lspm"
done
cmp -s "$SCR/cnn_t1.lspm" "$SCR/cnn_t2.lspm" && cmp -s "$SCR/cnn_t1.lspm" "$SCR/cnn_t3.lspm" &&
  ok "1, 2, 3 threads: byte-identical CNN files" || bad "the thread count changed the CNN"

expect_exit 0 "eval the CNN" "$LSP" eval --model "$SCR/cnn.lspm" --data "$IMG" --json --dump "$SCR/d"
acc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accuracy"])' "$SCR/out")
awk -v a="$acc" 'BEGIN { exit !(a > 0.9) }' && ok "CNN test accuracy $acc > 0.9" || bad "accuracy $acc"
python3 - "$SCR/d/features.npy" <<'PY' && ok "features are the 4 channels of gap" || bad "features.npy shape"
import sys
h = open(sys.argv[1], "rb").read(128).decode("latin1")
assert "'shape': (300, 4)" in h, h
PY
expect_exit 0 "clusters with the CNN's templates" "$LSP" clusters --features "$SCR/d/features.npy" \
  --labels "$SCR/d/labels.npy" --model "$SCR/cnn.lspm" --json

expect_exit 0 "FGSM and PGD on the CNN" "$LSP" attack --model "$SCR/cnn.lspm" --data "$IMG" \
  --attack pgd --eps 0,0.1,0.3 --steps 3 --json --adv-out "$SCR/adv.npy"
python3 - "$SCR/out" <<'PY' && ok "attack accuracy falls with eps" || bad "attack: $(head -c 300 "$SCR/out")"
import json, sys
p = json.load(open(sys.argv[1]))["points"]
a = [x["accuracy"] for x in p]
assert a[0] > 0.9 and a[2] < a[0], a
PY

# --x: the dumped images as N x C x H x W and as N x D rows
python3 - "$IMG" "$SCR" <<'PY'
import gzip, struct, sys
d, out = sys.argv[1], sys.argv[2]
raw = gzip.open(f"{d}/t10k-images-idx3-ubyte.gz").read()[16:16 + 50 * 64]
lab = open(f"{d}/t10k-labels-idx1-ubyte", "rb").read()[8:8 + 50]
def npy(path, descr, shape, data):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * (63 - (10 + len(h)) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data)
px = struct.pack("<%df" % len(raw), *[b / 255.0 for b in raw])
npy(f"{out}/x4.npy", "<f4", "(50, 1, 8, 8)", px)
npy(f"{out}/x2.npy", "<f4", "(50, 64)", px)
npy(f"{out}/x3.npy", "<f4", "(50, 2, 4, 8)", px)
npy(f"{out}/y.npy", "<i8", "(50,)", struct.pack("<50q", *lab))
PY
expect_exit 0 "attack --x N x C x H x W" "$LSP" attack --model "$SCR/cnn.lspm" --x "$SCR/x4.npy" \
  --labels "$SCR/y.npy" --eps 0,0.1 --json
cp "$SCR/out" "$SCR/a4.json"
expect_exit 0 "attack --x N x D --input-shape" "$LSP" attack --model "$SCR/cnn.lspm" --x "$SCR/x2.npy" \
  --labels "$SCR/y.npy" --eps 0,0.1 --input-shape 1,8,8 --json
python3 - "$SCR/a4.json" "$SCR/out" <<'PY' && ok "rows and images give the same attack" || bad "rows differ from images"
import json, sys
a, b = (json.load(open(p))["points"] for p in sys.argv[1:])
assert a == b, (a, b)
PY
expect_exit 1 "attack --x of another image shape" "$LSP" attack --model "$SCR/cnn.lspm" --x "$SCR/x3.npy" \
  --labels "$SCR/y.npy" --eps 0,0.1
expect_err "takes 1x8x8 inputs but $SCR/x3.npy holds 2x4x8" "attack --x of another image shape"
expect_exit 1 "--input-shape not the model's" "$LSP" attack --model "$SCR/cnn.lspm" --x "$SCR/x2.npy" \
  --labels "$SCR/y.npy" --input-shape 4,4,4
expect_err "takes 1x8x8 inputs, not --input-shape 4,4,4" "--input-shape not the model's"
expect_exit 1 "--input-shape not the rows" "$LSP" attack --model "$SCR/cnn.lspm" --x "$SCR/x2.npy" \
  --labels "$SCR/y.npy" --input-shape 1,8,7
expect_err "rows of 64 values are not --input-shape 1,8,7" "--input-shape not the rows"
expect_exit 2 "--input-shape with images" "$LSP" attack --model "$SCR/cnn.lspm" --x "$SCR/x4.npy" \
  --labels "$SCR/y.npy" --input-shape 1,8,8
expect_err "--input-shape goes with N x D rows" "--input-shape with images"

# lsprobe run with the CNN: the architecture in results.json and the report,
# the cache keyed by it, compare's check
R=(run --quick --quiet --data "$IMG" --epochs 3 --threads 2)
expect_exit 0 "run --arch SPEC" "$LSP" "${R[@]}" --arch "$SPEC" --normalize 0.3,0.3 --out "$SCR/runA"
python3 - "$SCR/runA/results.json" "$SPEC" <<'PY' && ok "results.json names the architecture" || bad "results.json config"
import json, sys
c = json.load(open(sys.argv[1]))["config"]
assert c["arch"] == sys.argv[2], c["arch"]
a = c["architecture"]
assert a.startswith("1x8x8 normalize(0.300000012,0.300000012) conv(units=4,kh=3,kw=3"), a
assert " add@" in a and a.endswith(" gap dense(units=3,bias=1)"), a
assert c["normalize"] == [0.30000001192092896, 0.30000001192092896] and "hidden" not in c, c
PY
grep -q "Models: spec 1x8x8.*>3 (--arch conv(4,3,p=1) bn relu res(" "$SCR/runA/report.md" && ok "the report names the network" ||
  bad "report: $(grep -m1 'Models:' "$SCR/runA/report.md")"
python3 - "$SCR/runA/dumps/eps0.1_seed1/features.npy" <<'PY' && ok "run dumps 4 features per example" || bad "run features"
import sys
assert "(300, 4)" in open(sys.argv[1], "rb").read(128).decode("latin1")
PY
expect_exit 0 "run again: cached" "$LSP" "${R[@]}" --arch "$SPEC" --normalize 0.3,0.3 --out "$SCR/runA"
grep -c '"cached": true' "$SCR/runA/results.json" | grep -q '^2$' && ok "both models reused" ||
  bad "cache not reused: $(grep -o '"cached": [a-z]*' "$SCR/runA/results.json")"
expect_exit 0 "run, other normalization" "$LSP" "${R[@]}" --arch "$SPEC" --normalize 0.5,0.3 --out "$SCR/runA"
grep -c '"cached": false' "$SCR/runA/results.json" | grep -q '^2$' && ok "another --normalize retrains" ||
  bad "a model of another normalization was reused"
expect_exit 0 "run the default MLP" "$LSP" "${R[@]}" --out "$SCR/runB"
expect_exit 0 "compare CNN and MLP" "$LSP" compare "$SCR/runA" "$SCR/runB" --out "$SCR/cmp"
python3 - "$SCR/cmp/compare.json" <<'PY' && ok "different architectures flagged" || bad "compare: architectures not flagged"
import json, sys
c = json.load(open(sys.argv[1]))
assert not c["comparable"] and any("different architectures" in w and "mlp:64" in w for w in c["warnings"]), c["warnings"]
PY
expect_exit 2 "run with a bad spec" "$LSP" "${R[@]}" --arch "conv(4)" --out "$SCR/runC"
expect_err "kernel size" "run with a bad spec"
[ ! -e "$SCR/runC" ] && ok "nothing created for a bad spec" || bad "run created $SCR/runC"

# usage errors: exit 2, one line, no model written
expect_exit 2 "unknown layer" "$LSP" train --data "$IMG" --arch "conv(4,3) relux" --smoothing 0 --out "$SCR/no.lspm"
expect_err "at 'relux'" "unknown layer"
expect_exit 2 "empty --arch" "$LSP" train --data "$IMG" --arch "" --smoothing 0 --out "$SCR/no.lspm"
expect_err "--arch '': no layers" "empty --arch"
expect_exit 2 "kernel larger than the image" "$LSP" train --data "$IMG" --arch "conv(4,9)" --smoothing 0 --out "$SCR/no.lspm"
expect_err "conv1 (conv on 1x8x8)" "kernel larger than the image"
expect_exit 2 "LeNet needs 28x28" "$LSP" train --data "$IMG" --arch lenet --smoothing 0 --out "$SCR/no.lspm"
expect_err "--arch" "LeNet needs 28x28"
expect_exit 2 "--arch and --hidden" "$LSP" train --data "$IMG" --arch lenet --hidden 8 --smoothing 0 --out "$SCR/no.lspm"
expect_err "give one of them" "--arch and --hidden"
expect_exit 2 "--normalize count" "$LSP" train --data "$IMG" --arch "$SPEC" --normalize 0.3 --smoothing 0 --out "$SCR/no.lspm"
expect_err "--normalize: 1 values for 1 input channel(s)" "--normalize count"
expect_exit 2 "--normalize zero std" "$LSP" train --data "$IMG" --arch "$SPEC" --normalize 0.3,0 --smoothing 0 --out "$SCR/no.lspm"
expect_err "positive std" "--normalize zero std"
expect_exit 2 "--normalize subnormal std" "$LSP" train --data "$IMG" --arch "$SPEC" --normalize 0.3,1e-39 --smoothing 0 --out "$SCR/no.lspm"
expect_err "--normalize: channel 0 needs a finite mean and a positive std (a normal float, at least 1.17549e-38; got 1e-39)" "--normalize subnormal std"
[ ! -e "$SCR/no.lspm" ] && ok "no model written on usage errors" || bad "a model was written"

finish
