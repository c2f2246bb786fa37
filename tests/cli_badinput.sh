#!/usr/bin/env bash
# The bad-input suite: malformed files and invalid options across every
# command and format. Each case asserts the exit status (1 bad data, 2 bad
# usage), a single line on stderr naming the file or option and the reason,
# and that no output file was created.
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
T="$DATA/torch_mlp_tiny"
C="$DATA/lsce_n1024_k10_eps0.1"
B="$SCR/bad"
mkdir -p "$B"
NO="$SCR/should_not_exist"

# bad CODE NAME NEEDLE CMD... : exit CODE, one stderr line containing NEEDLE,
# and no file at $NO (every case that can write points its output there)
bad_case() {
  local code=$1 name=$2 needle=$3
  shift 3
  rm -rf "$NO"
  expect_exit "$code" "$name" "$@"
  expect_err "$needle" "$name"
  [ ! -e "$NO" ] && ok "$name: no output created" || bad "$name: output created"
}

# --- crafted malformed files -------------------------------------------------
$PY - "$B" "$C" <<'PY'
import struct, sys
b, c = sys.argv[1], sys.argv[2]
def npy(path, descr, shape, data, fortran=False):
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    pad = (64 - (10 + len(h) + 1) % 64) % 64
    h = h + " " * pad + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data)
z = open(c + "/logits.npy", "rb").read()
open(b + "/trunc.npy", "wb").write(z[:200])
open(b + "/magic.npy", "wb").write(b"NOTNUMPY" + z[8:])
npy(b + "/bigend.npy", ">f4", "(2, 3)", b"\0" * 24)
npy(b + "/fortran.npy", "<f4", "(2, 3)", b"\0" * 24, True)
npy(b + "/complex.npy", "<c8", "(2, 3)", b"\0" * 48)
npy(b + "/negshape.npy", "<f4", "(-2, 3)", b"\0" * 24)
npy(b + "/absurd.npy", "<f4", "(4000000000, 4000000000)", b"\0" * 24)
npy(b + "/empty.npy", "<f4", "(0, 10)", b"")
npy(b + "/nan.npy", "<f4", "(2, 3)", struct.pack("<6f", 1, 2, float("nan"), 4, 5, 6))
npy(b + "/inf.npy", "<f4", "(2, 3)", struct.pack("<6f", 1, 2, 3, float("inf"), 5, 6))
npy(b + "/y_frac.npy", "<f8", "(2,)", struct.pack("<2d", 0, 1.5))
npy(b + "/y_range.npy", "<i8", "(2,)", struct.pack("<2q", 0, 7))
npy(b + "/y_neg.npy", "<i8", "(2,)", struct.pack("<2q", 0, -1))
npy(b + "/y2.npy", "<i8", "(2,)", struct.pack("<2q", 0, 1))
npy(b + "/p_neg.npy", "<f4", "(2, 3)", struct.pack("<6f", 1.2, -0.2, 0, 0.5, 0.5, 0))
npy(b + "/p_sum.npy", "<f4", "(2, 3)", struct.pack("<6f", 0.5, 0.2, 0.1, 0.5, 0.5, 0))
npy(b + "/k1.npy", "<f4", "(2, 1)", struct.pack("<2f", 1, 2))
npy(b + "/onedim.npy", "<f4", "(6,)", b"\0" * 24)
npy(b + "/z23.npy", "<f4", "(2, 3)", struct.pack("<6f", 1, 2, 3, -1, 0.5, 2))
import os
# .npy image folders (N x 1 x 2 x 3) with one bad value in row 1 at [0, 1, 2]
for name, descr, fmt, bad in (("npy4_nan", "<f4", "<6f", float("nan")),
                              ("npy4_big", "<f8", "<6d", 1e300)):
    d = b + "/" + name
    os.makedirs(d, exist_ok=True)
    vals = [0.5] * 12
    vals[11] = bad
    npy(d + "/x_train.npy", descr, "(2, 1, 2, 3)", struct.pack("<12" + fmt[2], *vals))
    npy(d + "/x_test.npy", descr, "(1, 1, 2, 3)", struct.pack(fmt, *[0.5] * 6))
    npy(d + "/y_train.npy", "<i8", "(2,)", struct.pack("<2q", 0, 1))
    npy(d + "/y_test.npy", "<i8", "(1,)", struct.pack("<q", 0))
# IDX folders: truncated, wrong magic, count mismatch
import os
def idxdir(name, imgs, labs):
    d = b + "/" + name
    os.makedirs(d, exist_ok=True)
    for fn, content in (("train-images-idx3-ubyte", imgs), ("train-labels-idx1-ubyte", labs),
                        ("t10k-images-idx3-ubyte", imgs), ("t10k-labels-idx1-ubyte", labs)):
        open(d + "/" + fn, "wb").write(content)
img = struct.pack(">IIII", 0x803, 24, 2, 2) + bytes(range(96))
lab = struct.pack(">II", 0x801, 24) + bytes([i % 3 for i in range(24)])
idxdir("idx_trunc", img[:60], lab)
idxdir("idx_magic", struct.pack(">I", 0x1234) + img[4:], lab)
idxdir("idx_count", img, struct.pack(">II", 0x801, 23) + bytes([i % 3 for i in range(23)]))
# CSV folders
os.makedirs(b + "/csv_bad", exist_ok=True)
open(b + "/csv_bad/train.csv", "w").write("0,1,2\n1,x,3\n")
open(b + "/csv_bad/test.csv", "w").write("0,1,2\n")
# .lspm: corrupted byte (CRC), wrong magic
PY
# the common mix-ups: one-hot labels, probabilities as logits, a transposed
# last layer, 0-255 inputs against [0, 1] bounds
$PY - "$B" "$T" <<'PY'
import sys
import numpy as np
b, t = sys.argv[1], sys.argv[2]
np.save(b + "/onehot.npy", np.eye(3, dtype=np.int64)[[0, 1]])
np.save(b + "/p_ok.npy", np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], dtype=np.float32))
np.save(b + "/w_t.npy", np.load(t + "/4.weight.npy").T.copy())
np.save(b + "/x255.npy", np.round(np.load(t + "/x.npy") * 255).astype(np.float32))
PY
[ -s "$B/trunc.npy" ] && [ -s "$B/x255.npy" ] || { echo "could not craft the files"; exit 1; }
"$LSP" train --data "synthetic:train=300,test=100,dim=8,classes=3" --hidden 8 --epochs 1 --smoothing 0 --quiet --out "$B/good.lspm" >/dev/null 2>&1
cp "$B/good.lspm" "$B/crc.lspm"
printf '\xff\xfe' | dd of="$B/crc.lspm" bs=1 seek=60 conv=notrunc 2>/dev/null
{ printf 'XXXX'; tail -c +5 "$B/good.lspm"; } >"$B/magic.lspm"
head -c 40 "$B/good.lspm" >"$B/trunc.lspm"
mkdir -p "$B/export_missing" "$B/export_shape"
cp "$T"/0.weight.npy "$T"/0.bias.npy "$T"/2.weight.npy "$B/export_missing/"
cp "$T"/0.weight.npy "$T"/0.bias.npy "$B/export_shape/"
cp "$T"/0.weight.npy "$B/export_shape/2.weight.npy"
cp "$T"/2.bias.npy "$B/export_shape/2.bias.npy"

# --- .npy inputs (lsprobe loss / calib / clusters / logitgap) ------------------
bad_case 1 "npy: truncated data" "trunc.npy: truncated" "$LSP" loss --logits "$B/trunc.npy" --labels "$C/labels.npy" --grad-out "$NO"
bad_case 1 "npy: wrong magic" "magic.npy: not a .npy file" "$LSP" loss --logits "$B/magic.npy" --labels "$C/labels.npy" --grad-out "$NO"
bad_case 1 "npy: big-endian" "big-endian" "$LSP" calib --logits "$B/bigend.npy" --labels "$B/y2.npy"
bad_case 1 "npy: Fortran order" "Fortran" "$LSP" calib --logits "$B/fortran.npy" --labels "$B/y2.npy"
bad_case 1 "npy: unsupported dtype" "unsupported dtype '<c8'" "$LSP" clusters --features "$B/complex.npy" --labels "$B/y2.npy"
bad_case 1 "npy: negative shape" "negative dimension" "$LSP" logitgap --logits "$B/negshape.npy" --labels "$B/y2.npy"
bad_case 1 "npy: absurd shape" "absurd.npy" "$LSP" loss --logits "$B/absurd.npy" --labels "$B/y2.npy" --grad-out "$NO"
bad_case 1 "npy: empty array" "empty.npy: empty array" "$LSP" loss --logits "$B/empty.npy" --labels "$B/y2.npy" --grad-out "$NO"
bad_case 1 "npy: 1-D where a matrix belongs" "2-D" "$LSP" calib --probs "$B/onedim.npy" --labels "$B/y2.npy"
bad_case 1 "NaN logits" "nan.npy: non-finite value" "$LSP" loss --logits "$B/nan.npy" --labels "$B/y2.npy" --grad-out "$NO"
bad_case 1 "Inf logits" "inf.npy: non-finite" "$LSP" logitgap --logits "$B/inf.npy" --labels "$B/y2.npy"
bad_case 1 "NaN features" "nan.npy" "$LSP" clusters --features "$B/nan.npy" --labels "$B/y2.npy"
bad_case 1 "labels out of range" "y_range.npy: label 7" "$LSP" loss --logits "$B/p_sum.npy" --labels "$B/y_range.npy" --grad-out "$NO"
bad_case 1 "labels non-integral" "y_frac.npy: label 1.5" "$LSP" calib --logits "$B/p_sum.npy" --labels "$B/y_frac.npy"
bad_case 1 "labels negative" "y_neg.npy" "$LSP" logitgap --logits "$B/p_sum.npy" --labels "$B/y_neg.npy"
bad_case 1 "probabilities negative" "p_neg.npy" "$LSP" calib --probs "$B/p_neg.npy" --labels "$B/y2.npy"
bad_case 1 "probabilities not summing to 1" "p_sum.npy" "$LSP" calib --probs "$B/p_sum.npy" --labels "$B/y2.npy"
bad_case 1 "mismatched row counts" "rows" "$LSP" calib --logits "$C/logits.npy" --labels "$B/y2.npy"
bad_case 1 "one class only (K = 1)" "K = 1" "$LSP" loss --logits "$B/k1.npy" --labels "$B/y2.npy" --grad-out "$NO"
bad_case 1 "one-hot labels (calib)" "onehot.npy: one-hot labels (2 x 3" "$LSP" calib --probs "$B/p_ok.npy" --labels "$B/onehot.npy"
bad_case 1 "one-hot labels (loss)" "y.argmax(axis=1)" "$LSP" loss --logits "$B/p_sum.npy" --labels "$B/onehot.npy" --grad-out "$NO"
bad_case 1 "one-hot labels (calib --stream)" "onehot.npy: one-hot labels" "$LSP" calib --probs "$B/p_ok.npy" --labels "$B/onehot.npy" --stream
bad_case 1 "probabilities as --logits (calib)" "p_ok.npy: every row lies in [0, 1] and sums to 1: these look like probabilities, not logits; pass them with --probs" "$LSP" calib --logits "$B/p_ok.npy" --labels "$B/y2.npy"
bad_case 1 "probabilities as --logits (loss)" "p_ok.npy: every row lies in [0, 1] and sums to 1" "$LSP" loss --logits "$B/p_ok.npy" --labels "$B/y2.npy" --grad-out "$NO"
bad_case 1 "probabilities as --logits (logitgap)" "np.log(P)" "$LSP" logitgap --logits "$B/p_ok.npy" --labels "$B/y2.npy"
bad_case 1 "probabilities as validation logits" "temperature scaling needs the validation logits" "$LSP" calib --logits "$C/logits.npy" --labels "$C/labels.npy" --fit-temperature "$B/p_ok.npy" "$B/y2.npy"
bad_case 1 "soft targets not summing to 1" "p_sum.npy: row 0 sums to 0.8000000" "$LSP" loss --logits "$B/z23.npy" --soft-targets "$B/p_sum.npy" --grad-out "$NO"
bad_case 1 "soft targets negative" "p_neg.npy: negative probability (-0.2" "$LSP" loss --logits "$B/z23.npy" --soft-targets "$B/p_neg.npy" --grad-out "$NO"
bad_case 1 "soft targets NaN" "nan.npy: non-finite value" "$LSP" loss --logits "$B/z23.npy" --soft-targets "$B/nan.npy" --grad-out "$NO"
bad_case 1 "soft targets of another shape" "p_ok.npy is 2×3 but" "$LSP" loss --logits "$C/logits.npy" --soft-targets "$B/p_ok.npy" --grad-out "$NO"
bad_case 1 "teacher logits of another shape" "logits.npy is 1024×10 but" "$LSP" loss --logits "$B/z23.npy" --labels "$B/y2.npy" --teacher-logits "$C/logits.npy" --temperature 2 --alpha 0.5 --grad-out "$NO"
bad_case 1 "teacher logits NaN" "nan.npy: non-finite value" "$LSP" loss --logits "$B/z23.npy" --labels "$B/y2.npy" --teacher-logits "$B/nan.npy" --temperature 2 --alpha 0.5 --grad-out "$NO"
bad_case 1 "teacher probabilities as logits" "pass the teacher's logits" "$LSP" loss --logits "$B/z23.npy" --labels "$B/y2.npy" --teacher-logits "$B/p_ok.npy" --temperature 2 --alpha 0.5 --grad-out "$NO"
bad_case 2 "distillation alpha outside [0, 1]" "--alpha: -0.5 is outside [0, 1]" "$LSP" loss --logits "$B/z23.npy" --labels "$B/y2.npy" --teacher-logits "$B/z23.npy" --temperature 2 --alpha -0.5 --grad-out "$NO"
bad_case 2 "distillation temperature 0" "--temperature: 0 must be positive" "$LSP" loss --logits "$B/z23.npy" --labels "$B/y2.npy" --teacher-logits "$B/z23.npy" --temperature 0 --alpha 0.5 --grad-out "$NO"
bad_case 1 "missing file" "missing.npy" "$LSP" loss --logits "$B/missing.npy" --labels "$C/labels.npy" --grad-out "$NO"
bad_case 1 "a directory where a file belongs" "is a directory" "$LSP" calib --logits "$B" --labels "$C/labels.npy"

# --- datasets: IDX and CSV folders ---------------------------------------------
bad_case 1 "IDX: truncated images" "train-images-idx3-ubyte" "$LSP" data --data "$B/idx_trunc"
bad_case 1 "IDX: wrong magic" "magic" "$LSP" train --data "$B/idx_magic" --smoothing 0 --out "$NO"
bad_case 1 "IDX: image/label count mismatch" "24" "$LSP" eval --model "$B/good.lspm" --data "$B/idx_count"
bad_case 1 "CSV: bad field" "train.csv:2" "$LSP" data --data "$B/csv_bad"
# the message names the example (row) and the place inside it, not a row of
# the flattened last axis
bad_case 1 "npy images: NaN" "x_train.npy: non-finite value (nan) at row 1, element [0, 1, 2]" "$LSP" data --data "$B/npy4_nan"
bad_case 1 "npy images: beyond float32" "x_train.npy: value 1e+300 at row 1, element [0, 1, 2] does not fit float32" "$LSP" data --data "$B/npy4_big"
bad_case 1 "dataset folder missing" "nonexistent" "$LSP" train --data "$B/nonexistent" --smoothing 0 --out "$NO"

# --- model files: .lspm and PyTorch exports -------------------------------------
bad_case 1 ".lspm: corrupted (CRC)" "crc.lspm" "$LSP" eval --model "$B/crc.lspm" --data "synthetic:train=300,test=100,dim=8,classes=3"
bad_case 1 ".lspm: wrong magic" "magic.lspm" "$LSP" eval --model "$B/magic.lspm" --data "synthetic:train=300,test=100,dim=8,classes=3"
bad_case 1 ".lspm: truncated" "trunc.lspm" "$LSP" attack --model "$B/trunc.lspm" --x "$T/x.npy" --labels "$T/labels.npy"
bad_case 1 "export: missing tensor" "2.bias.npy" "$LSP" eval --model "$B/export_missing" --data "synthetic:train=300,test=100,dim=8,classes=3"
bad_case 1 "export: mis-shaped tensor" "2.weight.npy" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --model "$B/export_shape"
bad_case 1 "model does not fit the data" "inputs" "$LSP" eval --model "$T" --data "synthetic:train=300,test=100,dim=9,classes=3"
# ONNX files: refused with the file, the node and the op named
O="$DATA/onnx_cases"
S84="synthetic:train=300,test=100,dim=8,classes=4"
head -c 150 "$O/mlp_gemm.onnx" >"$B/trunc.onnx"
cp "$O/mlp_gemm.onnx" "$B/mlp.bin"
printf 'not a model at all' >"$B/garbage.bin"
bad_case 1 "ONNX: unsupported op" "unsupported_op.onnx: node 'act' (Softsign): op not supported by lsprobe" "$LSP" eval --model "$O/unsupported_op.onnx" --data "$S84" --dump "$NO"
bad_case 1 "ONNX: unsupported attribute" "conv_group.onnx: node 'conv' (Conv): group = 3" "$LSP" attack --model "$O/conv_group.onnx" --x "$T/x.npy" --labels "$T/labels.npy" --adv-out "$NO"
bad_case 1 "ONNX: no classifier" "conv_flat.onnx: node 'flat' (Flatten): the graph output 'scores' comes from this Flatten; lsprobe needs a classifier whose output is the logits of a Gemm or MatMul (with its bias), or a global pooling of a convolution's class maps" "$LSP" eval --model "$O/conv_flat.onnx" --data "$S84" --dump "$NO"
bad_case 1 "ONNX: a no-op Flatten as the output (fuzz finding)" "node '#0' (Flatten): the graph output 'b' comes from this Flatten" "$LSP" export --model "$DATA/../fuzz/regressions/onnx/flatten_noop_output" --out "$NO"
bad_case 1 "ONNX: opset 21" "opset21.onnx: opset 21 is not supported" "$LSP" export --model "$O/opset21.onnx" --out "$NO"
bad_case 1 "ONNX: truncated" "trunc.onnx: not an ONNX model (malformed protobuf)" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --model "$B/trunc.onnx" --projection-out "$NO"
: >"$B/empty.lspm"
: >"$B/empty.onnx"
bad_case 1 "model: an empty .lspm" "empty.lspm: empty file (neither an lsprobe model nor ONNX)" "$LSP" eval --model "$B/empty.lspm" --data "$S84" --dump "$NO"
bad_case 1 "model: an empty .onnx" "empty.onnx: empty file" "$LSP" export --model "$B/empty.onnx" --out "$NO"
bad_case 1 "model: a device, not read until memory runs out" "/dev/zero: is a character device, expected a file or a pipe" timeout 20 "$LSP" eval --model /dev/zero --data "$S84" --dump "$NO"
bad_case 2 "an option's value left out (the next option is not taken as a file name)" "--out needs a value (F.onnx) before --quiet" "$LSP" export --model "$O/mlp_gemm.onnx" --out --quiet
[ ! -e ./--quiet ] && ok "no file named --quiet" || bad "a file named --quiet was written"
rm -f "$SCR/err"
"$LSP" data --data "$S84" >/dev/full 2>"$SCR/err"
[ $? -eq 1 ] && grep -q 'data: writing to standard output failed: No space left on device' "$SCR/err" &&
  ok "a result that cannot be written to standard output fails" || bad "stdout to a full disk: $(cat "$SCR/err")"
bad_case 2 "a number option's value left out" "--smoothing needs a value (E) before --threads" "$LSP" loss --logits "$T/x.npy" --labels "$T/labels.npy" --smoothing --threads 1
bad_case 1 "ONNX: neither format" "garbage.bin: not an lsprobe model (bad magic) and, read as ONNX: not an ONNX model" "$LSP" eval --model "$B/garbage.bin" --data "$S84"
bad_case 1 "ONNX: model does not fit the data" "takes 8 inputs but the data" "$LSP" eval --model "$B/mlp.bin" --data "synthetic:train=300,test=100,dim=9,classes=4"
bad_case 2 "attack: --input-shape with --data" "--input-shape goes with --x; a dataset has its own shape" "$LSP" attack --model "$O/mlp_gemm.onnx" --data "$S84" --input-shape 8,1,1 --adv-out "$NO"
bad_case 1 "ONNX: transfer source refused" "unsupported_op.onnx: node 'act' (Softsign)" "$LSP" attack --model "$O/mlp_gemm.onnx" --data "$S84" --transfer-from "$O/unsupported_op.onnx" --adv-out "$NO"
bad_case 2 "ONNX: --features names nothing" "--features 'fc9': no value, node or layer of that name (the layers before the classifier: fc1, relu)" "$LSP" eval --model "$O/mlp_gemm.onnx" --data "$S84" --features fc9 --dump "$NO"
bad_case 2 "eval: --features names no layer of a .lspm" "--features 'relu3': no layer of that name (its layers: dense1, relu2)" "$LSP" eval --model "$B/good.lspm" --data "synthetic:train=300,test=100,dim=8,classes=3" --features relu3 --dump "$NO"
bad_case 2 "ONNX: --features the logits" "--features 'logits': the logits are not features" "$LSP" eval --model "$O/mlp_gemm.onnx" --data "$S84" --features logits --dump "$NO"
bad_case 2 "export: no --out" "--out is required" "$LSP" export --model "$O/mlp_gemm.onnx"
bad_case 1 "export: into a missing folder" "$NO/m.onnx" "$LSP" export --model "$O/mlp_gemm.onnx" --out "$NO/m.onnx"
bad_case 1 "attack: model does not fit the inputs" "$T" "$LSP" attack --model "$T" --x "$C/logits.npy" --labels "$C/labels.npy"
bad_case 1 "attack: 0-255 inputs against [0, 1]" "x255.npy: value 38 at row 0, column 0 is outside the bounds [0, 1] (the default --lo 0 --hi 1); the file spans [2, 253]: scale 8-bit pixels by 1/255" "$LSP" attack --model "$T" --x "$B/x255.npy" --labels "$T/labels.npy" --adv-out "$NO"
bad_case 1 "attack: inputs outside --lo/--hi" "(--lo/--hi)" "$LSP" attack --model "$T" --x "$B/x255.npy" --labels "$T/labels.npy" --hi 100 --adv-out "$NO"
bad_case 1 "templates: a hidden layer" "2.weight.npy is 16 x 16 but the labels have 3 classes: its rows must be the classes" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --templates "$T/2.weight.npy" --bias "$T/2.bias.npy" --projection-out "$NO"
bad_case 1 "templates: transposed (H x K)" "w_t.npy is 16 x 3: its rows must be the classes" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --templates "$B/w_t.npy" --bias "$T/4.bias.npy" --projection-out "$NO"
expect_err "save W.T" "templates: transposed, what to do"

# --- output files: checked before any work ------------------------------------------
# an output that is one of the inputs (same file, or a link to it) is refused
# and the input is left as it was
same_case() {
  local name=$1 needle=$2 file=$3
  shift 3
  cp "$file" "$SCR/before"
  bad_case 2 "$name" "$needle" "$@"
  cmp -s "$SCR/before" "$file" && ok "$name: input untouched" || bad "$name: input overwritten"
}
cp "$B/good.lspm" "$B/m2.lspm"
cp "$T/x.npy" "$B/xa.npy"
cp "$B/z23.npy" "$B/za.npy"
ln -sf za.npy "$B/za_link.npy"
mkdir -p "$B/dd"
cp "$B/good.lspm" "$B/dd/logits.npy"
S83="synthetic:train=300,test=100,dim=8,classes=3"
same_case "export --out is --model" "--out $B/m2.lspm is the same file as the input --model $B/m2.lspm" "$B/m2.lspm" \
  "$LSP" export --model "$B/m2.lspm" --out "$B/m2.lspm"
same_case "attack --adv-out is --x" "--adv-out $B/xa.npy is the same file as the input --x" "$B/xa.npy" \
  "$LSP" attack --model "$T" --x "$B/xa.npy" --labels "$T/labels.npy" --eps 0.3 --adv-out "$B/xa.npy"
same_case "loss --grad-out is --logits" "--grad-out $B/za.npy is the same file as the input --logits" "$B/za.npy" \
  "$LSP" loss --logits "$B/za.npy" --labels "$B/y2.npy" --grad-out "$B/za.npy"
same_case "loss --grad-out links to --logits" "is the same file as the input --logits $B/za.npy" "$B/za.npy" \
  "$LSP" loss --logits "$B/za.npy" --labels "$B/y2.npy" --grad-out "$B/za_link.npy"
same_case "distill --out is --teacher" "--out $B/m2.lspm is the same file as the input --teacher" "$B/m2.lspm" \
  "$LSP" distill --teacher "$B/m2.lspm" --data "$S83" --arch mlp:8 --temperature 2 --alpha 0.5 --epochs 1 --out "$B/m2.lspm"
same_case "clusters --projection-out is --features" "--projection-out $T/features.npy is the same file as the input --features" "$T/features.npy" \
  "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --model "$T" --projection-out "$T/features.npy"
same_case "eval --dump over --model" "--dump $B/dd: $B/dd/logits.npy is the same file as the input --model" "$B/dd/logits.npy" \
  "$LSP" eval --model "$B/dd/logits.npy" --data "$S83" --dump "$B/dd"
# an output named as a file of an input data folder would destroy the data
# (or, for a file the folder lacks, change how it reads): refused
mkdir -p "$B/npyd"
$PY -c "
import numpy as np, sys
d = sys.argv[1]; r = np.random.RandomState(0)
for s, n in (('train', 60), ('test', 20)):
    np.save(d + '/x_' + s + '.npy', r.rand(n, 4).astype(np.float32)); np.save(d + '/y_' + s + '.npy', np.arange(n) % 3)
" "$B/npyd"
same_case "train --out is a file of the --data folder" "--out $B/npyd/x_train.npy is a data file of the input folder --data $B/npyd" "$B/npyd/x_train.npy" \
  "$LSP" train --data "$B/npyd" --smoothing 0 --epochs 1 --out "$B/npyd/x_train.npy"
(cd "$B" && "$LSP" train --data npyd/ --smoothing 0 --epochs 1 --out npyd/train-labels-idx1-ubyte.gz >"$SCR/out" 2>"$SCR/err")
[ $? -eq 2 ] && [ ! -e "$B/npyd/train-labels-idx1-ubyte.gz" ] && grep -q "is a data file of the input folder --data npyd/" "$SCR/err" &&
  ok "train --out adds an IDX file to the --data folder: refused" || bad "train --out into the data folder: $(cat "$SCR/err")"
same_case "distill --out is a file of the --data folder" "is a data file of the input folder --data $B/npyd" "$B/npyd/y_test.npy" \
  "$LSP" distill --teacher "$B/good.lspm" --data "$B/npyd" --arch mlp:8 --temperature 2 --alpha 0.5 --epochs 1 --out "$B/npyd/y_test.npy"
# the named dataset too: fashion-mnist reads $LSPROBE_DATA (here the same folder)
same_case "train --out is a file of the fashion-mnist folder" "--out $B/npyd/x_train.npy is a data file of the input folder --data fashion-mnist ($B/npyd)" "$B/npyd/x_train.npy" \
  env LSPROBE_DATA="$B/npyd" "$LSP" train --data fashion-mnist --smoothing 0 --epochs 1 --out "$B/npyd/x_train.npy"
same_case "distill --out is a file of the fashion-mnist folder" "is a data file of the input folder --data fashion-mnist" "$B/npyd/y_train.npy" \
  env LSPROBE_DATA="$B/npyd" "$LSP" distill --teacher "$B/good.lspm" --data fashion-mnist --arch mlp:8 --temperature 2 --alpha 0.5 --epochs 1 --out "$B/npyd/y_train.npy"
# a state_dict tensor of a PyTorch export folder given as the model is an
# input too: writing one (or a new one, which the folder would then read)
# destroys or changes the model (each case on a fresh copy of the folder)
tm() { rm -rf "$B/tm" && cp -r "$T" "$B/tm"; }
tm
same_case "export --out is a tensor of the --model folder" "--out $B/tm/2.weight.npy is a tensor file of the input model folder --model $B/tm" "$B/tm/2.weight.npy" \
  "$LSP" export --model "$B/tm" --out "$B/tm/2.weight.npy"
tm
same_case "attack --adv-out is a tensor of the --model folder" "--adv-out $B/tm/4.bias.npy is a tensor file of the input model folder --model $B/tm" "$B/tm/4.bias.npy" \
  "$LSP" attack --model "$B/tm" --x "$T/x.npy" --labels "$T/labels.npy" --eps 0.1 --adv-out "$B/tm/4.bias.npy"
tm
same_case "attack --adv-out is a tensor of the --transfer-from folder" "is a tensor file of the input model folder --transfer-from $B/tm" "$B/tm/0.bias.npy" \
  "$LSP" attack --model "$T" --transfer-from "$B/tm" --x "$T/x.npy" --labels "$T/labels.npy" --eps 0.1 --adv-out "$B/tm/0.bias.npy"
tm
(cd "$B" && "$LSP" export --model tm/ --out tm/6.weight.npy >"$SCR/out" 2>"$SCR/err")
[ $? -eq 2 ] && [ ! -e "$B/tm/6.weight.npy" ] && grep -q "is a tensor file of the input model folder --model tm/" "$SCR/err" &&
  ok "export --out adds a tensor to the --model folder: refused" || bad "export --out into the model folder: $(cat "$SCR/err")"
expect_exit 0 "export --out beside the tensors" "$LSP" export --model "$B/tm" --out "$B/tm/m.onnx"
expect_exit 0 "train --out beside the data files" "$LSP" train --data "$B/npyd" --smoothing 0 --epochs 1 --quiet --out "$B/npyd/m.lspm"
# train and distill refuse an --out they cannot write before reading the data
# (the data folder here does not exist: the --out message must come first)
bad_case 1 "train: --out in a missing folder" "--out $NO/m.lspm: cannot write into $NO: No such file" "$LSP" train --data "$B/nonexistent" --smoothing 0 --out "$NO/m.lspm"
bad_case 2 "train: empty --out" "--out: the file name is empty" "$LSP" train --data "$B/nonexistent" --smoothing 0 --out ""
bad_case 2 "train: --out is a folder" "--out $B: is a folder; name the file to write" "$LSP" train --data "$B/nonexistent" --smoothing 0 --out "$B"
bad_case 1 "distill: --out in a missing folder" "--out $NO/s.lspm: cannot write into $NO" "$LSP" distill --teacher "$B/good.lspm" --data "$B/nonexistent" --arch mlp:8 --temperature 2 --alpha 0.5 --out "$NO/s.lspm"
bad_case 2 "distill: empty --out" "--out: the file name is empty" "$LSP" distill --teacher "$B/good.lspm" --data "$B/nonexistent" --arch mlp:8 --temperature 2 --alpha 0.5 --out ""
bad_case 2 "distill: --out is a folder" "--out $B/: is a folder" "$LSP" distill --teacher "$B/good.lspm" --data "$B/nonexistent" --arch mlp:8 --temperature 2 --alpha 0.5 --out "$B/"

# --- invalid option values -------------------------------------------------------
bad_case 2 "smoothing above 1" "--smoothing" "$LSP" train --data synthetic --smoothing 1.5 --out "$NO"
bad_case 2 "smoothing not a number" "--smoothing" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing abc --grad-out "$NO"
bad_case 2 "negative attack eps" "--eps" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$T/labels.npy" --eps 0,-0.1
bad_case 2 "attack eps listed twice" "--eps: 0.1 is listed twice" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$T/labels.npy" --eps 0,0.1,0.1 --adv-out "$NO"
bad_case 2 "--lr underflowing to 0" "--lr: 1e-400 is out of range (underflows to 0 as a double); the allowed range is [1e-12, 1e+06]" "$LSP" train --data synthetic --smoothing 0 --lr 1e-400 --out "$NO"
bad_case 2 "--lr overflowing" "--lr: 1e400 is out of range (overflows a double); the allowed range is [1e-12, 1e+06]" "$LSP" train --data synthetic --smoothing 0 --lr 1e400 --out "$NO"
bad_case 2 "--lr -1e400 overflowing" "--lr: -1e400 is out of range (overflows a double)" "$LSP" train --data synthetic --smoothing 0 --lr -1e400 --out "$NO"
bad_case 2 "--lr in hexadecimal" "--lr: '0x10' is hexadecimal; write the number in decimal" "$LSP" train --data synthetic --smoothing 0 --lr 0x10 --out "$NO"
bad_case 2 "--lr inf" "--lr: 'inf' is not a finite number; the allowed range is [1e-12, 1e+06]" "$LSP" train --data synthetic --smoothing 0 --lr inf --out "$NO"
bad_case 2 "attack eps list underflowing" "--eps: 1e-999 is out of range (underflows to 0 as a double)" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$T/labels.npy" --eps 0,1e-999
bad_case 2 "non-numeric attack eps" "--eps" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$T/labels.npy" --eps 0,abc
bad_case 2 "unknown attack" "--attack" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$T/labels.npy" --attack cw
bad_case 2 "unknown attack loss" "--loss" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$T/labels.npy" --loss hinge
for o in "--steps 3" "--step-size 0.01" "--restarts 2" "--full-steps"; do
  # shellcheck disable=SC2086
  bad_case 2 "fgsm with $o" "${o%% *} does not go with --attack fgsm" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$T/labels.npy" --eps 0.1 $o --adv-out "$NO"
done
bad_case 2 "fgsm-targeted with --steps" "--steps does not go with --attack fgsm-targeted" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$T/labels.npy" --attack fgsm-targeted --steps 3 --adv-out "$NO"
bad_case 2 "attack --split with --x" "--split goes with --data" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$T/labels.npy" --split val --adv-out "$NO"
bad_case 2 "run: --attack-eps listed twice" "--attack-eps: 0.1 is listed twice" "$LSP" run --quick --attack-eps 0,0.1,0.1 --out "$NO"
bad_case 2 "PGD steps 0" "--steps" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$T/labels.npy" --attack pgd --steps 0
bad_case 2 "bins 0" "--bins" "$LSP" calib --logits "$C/logits.npy" --labels "$C/labels.npy" --bins 0
bad_case 2 "--classes repeated" "--classes" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --model "$T" --classes 0,1,1
bad_case 2 "--classes out of range" "class" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --model "$T" --classes 0,1,7
bad_case 2 "unknown convention" "--convention" "$LSP" run --quick --convention foo --out "$NO"
bad_case 2 "hidden size 0" "--hidden" "$LSP" run --quick --hidden 64,0 --out "$NO"
bad_case 2 "unknown plot format" "--format" "$LSP" run --quick --format gif --out "$NO"
bad_case 2 "unknown option" "--frobnicate" "$LSP" eval --frobnicate
bad_case 2 "mistyped option" "unknown option '--labls'; did you mean --labels?" "$LSP" calib --probs "$B/p_ok.npy" --labls "$B/y2.npy"
bad_case 2 "mistyped option (one letter short)" "did you mean --threads?" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --thread 2 --grad-out "$NO"
bad_case 2 "mistyped option with a value" "unknown option '--epoch'; did you mean --epochs?" "$LSP" train --data synthetic --smoothing 0 --epoch=3 --out "$NO"
bad_case 2 "far from every option: no guess" "unknown option '--frobnicate' (see lsprobe eval --help)" "$LSP" eval --frobnicate
bad_case 2 "mistyped command" "unknown command 'calb'; did you mean calib?" "$LSP" calb --probs "$B/p_ok.npy"
# abbreviations and names run on: suggested when one name fits, never taken
bad_case 2 "command run on" "unknown command 'calibrate'; did you mean calib? (see lsprobe --help)" "$LSP" calibrate --probs "$B/p_ok.npy"
bad_case 2 "abbreviated option" "unknown option '--smooth'; did you mean --smoothing? (see lsprobe run --help)" "$LSP" run --quick --smooth 0.1 --out "$NO"
bad_case 2 "option run on" "unknown option '--epsilon'; did you mean --eps? (see lsprobe attack --help)" "$LSP" attack --model "$NO" --epsilon 0.1
bad_case 2 "an abbreviation before a near name" "unknown option '--norma'; did you mean --normalize?" "$LSP" run --quick --norma 0.1 --out "$NO"
bad_case 2 "an abbreviation ending in a dash" "unknown option '--step-'; did you mean --step-size?" "$LSP" attack --model "$NO" --step- 0.1
bad_case 2 "an abbreviation that runs on from another name" "unknown option '--distill-al'; did you mean --distill-alpha?" "$LSP" run --quick --distill-al 0.5 --out "$NO"
bad_case 2 "abbreviation of two options: no guess" "unknown option '--attack' (see lsprobe run --help)" "$LSP" run --quick --attack 0.1 --out "$NO"
bad_case 2 "missing required option" "--model is required" "$LSP" eval --data synthetic
bad_case 2 "option given twice" "twice" "$LSP" loss --logits "$C/logits.npy" --logits "$C/logits.npy" --labels "$C/labels.npy"
# --- images in another layout than the model's ---------------------------------
# A grouped convolutional model of 2x6x5 images; the same images saved
# channels last (N x H x W x C) or as one channel of 12x5 hold as many values
# but are other images: refused, never read in the model's layout.
$PY - "$B" <<'PY'
import sys, os, numpy as np
b = sys.argv[1]
r = np.random.default_rng(3)
x = r.random((60, 2, 6, 5)).astype(np.float32)
y = np.arange(60) % 3
for name, v in (("nchw", x), ("nhwc", x.transpose(0, 2, 3, 1)), ("grey", x.reshape(60, 12, 5))):
    os.makedirs(f"{b}/{name}", exist_ok=True)
    for sp in ("train", "test"):
        np.save(f"{b}/{name}/x_{sp}.npy", np.ascontiguousarray(v))
        np.save(f"{b}/{name}/y_{sp}.npy", y)
PY
"$LSP" train --data "$B/nchw" --arch "conv(4,3,p=1,g=2) relu gmp" --epochs 1 --batch 20 --val 10 --smoothing 0 --quiet --out "$B/img.lspm" >/dev/null 2>&1
expect_exit 0 "eval on images of the model's layout" "$LSP" eval --model "$B/img.lspm" --data "$B/nchw"
bad_case 1 "eval on channels-last images" "img.lspm: model conv(4,3,p=1,g=2) relu gmp 2x6x5->3 takes 2x6x5 inputs but the data ($B/nhwc) holds 6x5x2 images (channels first: N x C x H x W)" "$LSP" eval --model "$B/img.lspm" --data "$B/nhwc" --dump "$NO"
bad_case 1 "eval on grey images of as many values" "takes 2x6x5 inputs but the data ($B/grey) holds 1x12x5 images" "$LSP" eval --model "$B/img.lspm" --data "$B/grey" --dump "$NO"
bad_case 1 "attack on channels-last images" "img.lspm takes 2x6x5 inputs but $B/nhwc holds 6x5x2 images (channels first: N x C x H x W)" "$LSP" attack --model "$B/img.lspm" --data "$B/nhwc" --adv-out "$NO"
finish
