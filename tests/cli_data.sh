#!/usr/bin/env bash
# End-to-end: `lsprobe data` on the synthetic mixture, a crafted IDX folder
# (written here with Python's gzip module), the installed Fashion-MNIST when
# present, and the error paths.
. "$(dirname "$0")/e2e_common.sh"

# synthetic: sizes, balance (the mixture is balanced by construction)
expect_exit 0 "synthetic" "$LSP" data --data synthetic
grep -q '^train     5500 examples' "$SCR/out" && grep -q '^val        500 examples' "$SCR/out" &&
  grep -q '^test      2000 examples, values \[0, 1\], per class: 200 200 200 200 200 200 200 200 200 200$' "$SCR/out" &&
  ok "synthetic sizes and test balance" || bad "synthetic: $(cat "$SCR/out")"
expect_exit 0 "synthetic --json" "$LSP" data --data "synthetic:train=1200,test=300,dim=5,classes=3" --val 200 --seed 4 --json
python3 - "$SCR/out" <<'PY' && ok "JSON fields and counts" || bad "JSON: $(cat "$SCR/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["dim"] == 5 and d["classes"] == 3 and d["synthetic"] is True
assert d["train"]["n"] == 1000 and d["val"]["n"] == 200 and d["test"]["n"] == 300
tv = [a + b for a, b in zip(d["train"]["class_counts"], d["val"]["class_counts"])]
assert tv == [400, 400, 400], tv
assert d["test"]["class_counts"] == [100, 100, 100]
assert d["lo"] == 0 and d["hi"] == 1 and 0 <= d["train"]["min"] and d["train"]["max"] <= 1
assert len(d["hash"]) == 16 and d["image"] is None and d["channels"] is None
PY
h1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hash"])' "$SCR/out")
"$LSP" data --data "synthetic:train=1200,test=300,dim=5,classes=3" --val 200 --seed 5 --json >"$SCR/out2"
h2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hash"])' "$SCR/out2")
[ -n "$h1" ] && [ "$h1" != "$h2" ] && ok "another seed, another hash" || bad "hash $h1 vs $h2"

# a crafted IDX folder: 36 training images of 4x5 (3 classes), 9 test images, gzip
mkdir -p "$SCR/idx"
python3 - "$SCR/idx" <<'PY'
import gzip, struct, sys
d = sys.argv[1]
def idx(name, dims, data):
    with gzip.open(f"{d}/{name}.gz", "wb") as f:
        f.write(bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", x) for x in dims) + bytes(data))
idx("train-images-idx3-ubyte", [36, 4, 5], [(i * 7 + j * 13) % 256 for i in range(36) for j in range(20)])
idx("train-labels-idx1-ubyte", [36], [i % 3 for i in range(36)])
idx("t10k-images-idx3-ubyte", [9, 4, 5], [255 if j == 0 else 0 for i in range(9) for j in range(20)])
idx("t10k-labels-idx1-ubyte", [9], [i % 3 for i in range(9)])
PY
expect_exit 0 "IDX folder" "$LSP" data --data "$SCR/idx" --val 6
grep -q '^20 features (1x4x5 images), 3 classes' "$SCR/out" && grep -q '^train       30 examples' "$SCR/out" &&
  grep -q '^test         9 examples, values \[0, 1\], per class: 3 3 3$' "$SCR/out" &&
  ok "IDX folder summary" || bad "IDX folder: $(cat "$SCR/out")"
cp -r "$SCR/idx" "$SCR/mixed" # gains .npy files below
# a plain file beside its .gz (gunzip -k): the same bytes read alike; other
# bytes refused, naming both
sum_gz=$(grep '^hash' "$SCR/out" | cut -d' ' -f2)
gunzip -k "$SCR/idx/train-labels-idx1-ubyte.gz"
expect_exit 0 "IDX file beside its .gz, the same bytes" "$LSP" data --data "$SCR/idx" --val 6
[ "$(grep '^hash' "$SCR/out" | cut -d' ' -f2)" = "$sum_gz" ] && ok "beside its .gz: the same data" || bad "beside its .gz: $(grep '^hash' "$SCR/out") vs $sum_gz"
printf 'x' >>"$SCR/idx/train-labels-idx1-ubyte"
expect_exit 1 "IDX file beside a .gz of other bytes" "$LSP" data --data "$SCR/idx" --val 6
expect_err "train-labels-idx1-ubyte and train-labels-idx1-ubyte.gz differ" "IDX file beside a .gz of other bytes"
rm "$SCR/idx/train-labels-idx1-ubyte"
# truncate one file: exit 1, the message names it
python3 -c 'import gzip,sys; p=sys.argv[1]; b=gzip.open(p).read(); gzip.open(p,"wb").write(b[:-3])' "$SCR/idx/t10k-images-idx3-ubyte.gz"
expect_exit 1 "truncated IDX" "$LSP" data --data "$SCR/idx"
expect_err "t10k-images-idx3-ubyte.gz: truncated" "truncated IDX"
rm "$SCR/idx/t10k-labels-idx1-ubyte.gz"
expect_exit 1 "missing IDX file" "$LSP" data --data "$SCR/idx"
expect_err "missing t10k-labels-idx1-ubyte" "missing IDX file"

# a folder with train.csv + test.csv: float features, bounds = observed range
mkdir -p "$SCR/csv"
printf 'label,f1,f2\n0,0.5,-2\n1,1.5,2\n0,0,0\n1,1,8.5\n' >"$SCR/csv/train.csv"
printf '1,-3,0\n' >"$SCR/csv/test.csv"
expect_exit 0 "CSV folder" "$LSP" data --data "$SCR/csv" --val 1
grep -q '^2 features, 2 classes, input bounds \[-3, 8.5\]' "$SCR/out" && ok "CSV folder summary" || bad "CSV: $(cat "$SCR/out")"
printf '0,1,2\n1,x,3\n' >"$SCR/csv/test.csv"
expect_exit 1 "bad CSV field" "$LSP" data --data "$SCR/csv"
expect_err "test.csv:2: field 2 'x' is not a finite number" "bad CSV field"

# 8-bit pixels written as numbers (CSV 0-255, float .npy 0-255): read as the
# same pixels in uint8 (values [0, 1], the same hash), with a note; float
# images that are not such pixels are refused
mkdir -p "$SCR/px_csv" "$SCR/px_npy" "$SCR/px_u8" "$SCR/px_frac"
/usr/bin/python3 - "$SCR" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(3)
for name, n in (("train", 30), ("test", 9)):
    x = rng.integers(0, 256, (n, 4, 5)).astype(np.uint8)
    x[0, 0, :2] = (0, 255)
    y = np.arange(n) % 3
    with open("%s/px_csv/%s.csv" % (d, name), "w") as f:
        for xi, yi in zip(x.reshape(n, -1), y):
            f.write("%d,%s\n" % (yi, ",".join(map(str, xi))))
    np.save("%s/px_npy/x_%s.npy" % (d, name), x.astype(np.float32))
    np.save("%s/px_u8/x_%s.npy" % (d, name), x)
    np.save("%s/px_frac/x_%s.npy" % (d, name), x.astype(np.float32) * 0.5 + 0.25)
    for sub in ("px_npy", "px_u8", "px_frac"):
        np.save("%s/%s/y_%s.npy" % (d, sub, name), y)
PY
expect_exit 0 "uint8 .npy folder" "$LSP" data --data "$SCR/px_u8" --val 6
u8hash=$(grep -o '^hash [0-9a-f]*' "$SCR/out")
grep -q '^20 features (1x4x5 images), 3 classes' "$SCR/out" && ok "N×H×W images: one channel" || bad "1x4x5: $(cat "$SCR/out")"
# N×C×H×W images: the channels shown (--normalize needs 2·C values)
mkdir -p "$SCR/px_c3"
/usr/bin/python3 -c 'import sys, numpy as np
for n, k in (("train", 12), ("test", 6)):
    np.save("%s/x_%s.npy" % (sys.argv[1], n), np.full((k, 3, 4, 5), 0.5, np.float32))
    np.save("%s/y_%s.npy" % (sys.argv[1], n), np.arange(k) % 2)' "$SCR/px_c3"
expect_exit 0 "3-channel .npy folder" "$LSP" data --data "$SCR/px_c3" --val 2
grep -q '^60 features (3x4x5 images), 2 classes' "$SCR/out" && ok "3-channel images: shape C×H×W" || bad "3x4x5: $(cat "$SCR/out")"
expect_exit 0 "3-channel .npy folder, JSON" "$LSP" data --data "$SCR/px_c3" --val 2 --json
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["channels"] == 3 and d["image"] == [4, 5]))' "$SCR/out" &&
  ok "3-channel images: JSON channels and image" || bad "3-channel JSON: $(cat "$SCR/out")"
# one stray label makes K = largest + 1: refused when most classes would be
# empty, before any K-sized table (K = 10^9 took 8 GB and 23 s)
mkdir -p "$SCR/biglab" "$SCR/biglab_csv"
/usr/bin/python3 -c 'import sys, numpy as np
d = sys.argv[1]
for n, k in (("train", 40), ("test", 10)):
    y = np.arange(k) % 4
    if n == "train": y[7] = 10**9
    np.save("%s/x_%s.npy" % (d, n), np.full((k, 3), 0.5, np.float32))
    np.save("%s/y_%s.npy" % (d, n), y)
    with open("%s_csv/%s.csv" % (d, n), "w") as f:
        f.writelines("%d,0.5,0.5\n" % (5000 if (n == "train" and i == 3) else v) for i, v in enumerate(np.arange(k) % 4))' "$SCR/biglab"
expect_exit 1 "a stray label 10^9 in y_train.npy" "$LSP" data --data "$SCR/biglab"
expect_err "biglab/y_train.npy: label 1000000000 at index 7 makes K = 1000000001 classes but only 5 of them occur; a label out of range?" "stray .npy label named"
expect_exit 1 "a stray label 5000 in train.csv" "$LSP" data --data "$SCR/biglab_csv"
expect_err "biglab_csv/train.csv: label 5000 at index 3 makes K = 5001 classes but only 5 of them occur" "stray CSV label named"
expect_exit 0 "CSV folder of 0-255 pixels" "$LSP" data --data "$SCR/px_csv" --val 6
grep -q '^20 features, 3 classes, input bounds \[0, 1\]' "$SCR/out" && grep -q '^test         9 examples, values \[0, 1\]' "$SCR/out" &&
  ok "CSV 0-255 pixels scaled to [0, 1]" || bad "CSV pixels: $(cat "$SCR/out")"
grep -q 'train.csv and test.csv hold whole numbers in \[0, 255\] (largest 255): read as 8-bit pixels and scaled by 1/255' "$SCR/out" &&
  ok "CSV pixels: the note says so" || bad "CSV pixels note: $(head -1 "$SCR/out")"
[ "$(grep -o '^hash [0-9a-f]*' "$SCR/out")" = "$u8hash" ] && ok "CSV pixels: the hash of the same uint8 pixels" || bad "CSV pixels hash"
expect_exit 0 "float .npy folder of 0-255 pixels" "$LSP" data --data "$SCR/px_npy" --val 6 --json
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["lo"] == 0 and d["hi"] == 1 and d["train"]["max"] <= 1 and "1/255" in d["note"]))' "$SCR/out" &&
  ok "float .npy 0-255 pixels scaled, JSON note" || bad "float npy pixels: $(cat "$SCR/out")"
expect_exit 0 "float .npy pixels, train" "$LSP" train --data "$SCR/px_npy" --val 6 --hidden 8 --epochs 1 --smoothing 0 --out "$SCR/px.lspm"
grep -q 'lsprobe: train: note: x_train.npy and x_test.npy hold whole numbers' "$SCR/err" && ok "train shows the note" || bad "train note: $(cat "$SCR/err")"
expect_exit 1 "float images outside [0, 1], not 8-bit" "$LSP" data --data "$SCR/px_frac"
expect_err "px_frac/x_train.npy, $SCR/px_frac/x_test.npy: image values span [0.25, 127.75]; pixels must lie in [0, 1] or be whole numbers 0-255" "float images refused"
# a folder holding IDX and .npy files (or CSV and .npy) is refused, naming both sets
cp "$SCR"/px_npy/*.npy "$SCR/mixed/"
expect_exit 1 "IDX and .npy files in one folder" "$LSP" data --data "$SCR/mixed"
expect_err "mixed: holds IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) and .npy files (x_train.npy, y_train.npy, x_test.npy, y_test.npy): the folder must hold one dataset format" "IDX and .npy files in one folder"
cp "$SCR"/px_csv/*.csv "$SCR/px_u8/"
expect_exit 1 "CSV and .npy files in one folder" "$LSP" data --data "$SCR/px_u8"
expect_err "px_u8: holds CSV files (train.csv, test.csv) and .npy files (x_train.npy, y_train.npy, x_test.npy, y_test.npy)" "CSV and .npy files in one folder"
mkdir -p "$SCR/mixed_npy" && mv "$SCR"/mixed/*.npy "$SCR/mixed_npy/"
expect_exit 0 "the .npy files moved to a folder of their own" "$LSP" data --data "$SCR/mixed_npy" --val 6
expect_exit 0 "the IDX files left alone" "$LSP" data --data "$SCR/mixed" --val 6

# the installed Fashion-MNIST (skipped if absent)
if [ -d "${LSPROBE_DATA:-/usr/share/datasets/fashion-mnist}" ]; then
  expect_exit 0 "fashion-mnist" "$LSP" data --data fashion-mnist
  grep -q '^784 features (1x28x28 images), 10 classes' "$SCR/out" &&
    grep -q '^test     10000 examples, values \[0, 1\], per class: 1000 1000 1000 1000 1000 1000 1000 1000 1000 1000$' "$SCR/out" &&
    ok "fashion-mnist summary" || bad "fashion-mnist: $(cat "$SCR/out")"
else
  skipped "fashion-mnist not installed"
fi
LSPROBE_DATA="$SCR/none" expect_exit 1 "fashion-mnist missing" "$LSP" data --data fashion-mnist
expect_err "scripts/setup" "fashion-mnist missing"

# usage errors: exit 2
expect_exit 2 "missing --data" "$LSP" data
expect_err "--data is required" "missing --data"
expect_exit 2 "--val 0" "$LSP" data --data synthetic --val 0
expect_err "--val" "--val 0"
expect_exit 2 "--seed abc" "$LSP" data --data synthetic --seed abc
expect_err "--seed" "--seed abc"
expect_exit 2 "--val too large" "$LSP" data --data synthetic --val 6000
expect_err "validation split (6000)" "--val too large"
expect_exit 2 "unknown synthetic setting" "$LSP" data --data synthetic:colour=2
expect_err "unknown setting 'colour'" "unknown synthetic setting"
expect_exit 2 "synthetic size too large" "$LSP" data --data synthetic:train=99999999999
expect_err "train=99999999999 is too large (at most 1000000000)" "synthetic size too large"
expect_exit 2 "synthetic setting overflowing" "$LSP" data --data synthetic:sep=1e400
expect_err "synthetic:sep=1e400: sep=1e400 is out of range (overflows a double)" "synthetic setting overflowing"
expect_exit 2 "synthetic setting underflowing" "$LSP" data --data synthetic:sep=1e-400
expect_err "sep=1e-400 is out of range (underflows to 0 as a double)" "synthetic setting underflowing"
expect_exit 2 "synthetic size not whole" "$LSP" data --data synthetic:test=2.5
expect_err "test=2.5 must be a whole number" "synthetic size not whole"
# an npy folder whose test features have no rows, or no columns
mkdir -p "$SCR/empty0" "$SCR/emptyd"
/usr/bin/python3 - "$SCR" <<'PY'
import numpy as np, sys
for name, xt in (("empty0", np.zeros((0, 3), "f4")), ("emptyd", np.zeros((2, 0), "f4"))):
    d = sys.argv[1] + "/" + name
    np.save(d + "/x_train.npy", np.zeros((4, 3), "f4")); np.save(d + "/y_train.npy", np.array([0, 1, 0, 1]))
    np.save(d + "/x_test.npy", xt); np.save(d + "/y_test.npy", np.zeros(len(xt), "i8"))
PY
expect_exit 1 "test features with 0 rows" "$LSP" data --data "$SCR/empty0"
expect_err "x_test.npy: empty array (0 rows)" "test features with 0 rows"
expect_exit 1 "test features with 0 columns" "$LSP" data --data "$SCR/emptyd"
expect_err "x_test.npy: empty array (0 values per row)" "test features with 0 columns"
expect_exit 1 "no such folder" "$LSP" data --data "$SCR/nowhere"
expect_err "nowhere: No such file or directory" "no such folder"
expect_exit 0 "--help" "$LSP" data --help
grep -q -- '--val' "$SCR/out" && ok "help lists options" || bad "help"

# labels with gaps (0, 2, 5): K = 6, three classes without a training example, named in a note
mkdir -p "$SCR/gaps"
/usr/bin/python3 - "$SCR/gaps" <<'PY'
import numpy as np, sys
d = sys.argv[1]
y = np.array([0, 2, 5] * 8)
np.save(d + "/x_train.npy", np.random.default_rng(0).random((24, 3)).astype("f4")); np.save(d + "/y_train.npy", y)
np.save(d + "/x_test.npy", np.zeros((3, 3), "f4")); np.save(d + "/y_test.npy", np.array([0, 2, 5]))
PY
expect_exit 0 "labels with gaps" "$LSP" data --data "$SCR/gaps" --val 3
grep -q 'note: 3 of the 6 classes (labels 0..5) have no training example, the first label 1; the largest label, 5, has 8 examples' "$SCR/err" \
  && ok "classes without a training example named" || bad "gaps: $(cat "$SCR/err")"
# one class without an example: "has"
mkdir -p "$SCR/gap1"
/usr/bin/python3 - "$SCR/gap1" <<'PY'
import numpy as np, sys
d = sys.argv[1]
y = np.array([0, 2] * 8)
np.save(d + "/x_train.npy", np.random.default_rng(0).random((16, 3)).astype("f4")); np.save(d + "/y_train.npy", y)
np.save(d + "/x_test.npy", np.zeros((2, 3), "f4")); np.save(d + "/y_test.npy", np.array([0, 2]))
PY
expect_exit 0 "one label missing" "$LSP" data --data "$SCR/gap1" --val 2
grep -q 'note: 1 of the 3 classes (labels 0..2) has no training example, the first label 1' "$SCR/err" \
  && ok "one class without a training example: has" || bad "gap1: $(cat "$SCR/err")"
# one stray label (1000) among 0..2: the text gives a summary, not 1001
# counts a line; --json still has every count
mkdir -p "$SCR/stray"
/usr/bin/python3 - "$SCR/stray" <<'PY'
import numpy as np, sys
d = sys.argv[1]
y = np.array([0, 1, 2] * 10); y[4] = 1000
np.save(d + "/x_train.npy", np.random.default_rng(0).random((30, 3)).astype("f4")); np.save(d + "/y_train.npy", y)
np.save(d + "/x_test.npy", np.zeros((3, 3), "f4")); np.save(d + "/y_test.npy", np.array([0, 1, 2]))
PY
expect_exit 0 "a stray label" "$LSP" data --data "$SCR/stray" --val 3 --seed 1
[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$SCR/out")" -lt 200 ] \
  && ok "a stray label: short lines" || bad "a stray label: a line of $(wc -L <"$SCR/out") characters"
grep -Eq '^test +3 examples, values \[0, 0\], per class: 1001 classes, counts 0 \(class 3\) to 1 \(class 0\), 998 empty \(the first: 3\); --json lists every count$' "$SCR/out" \
  && ok "a stray label: the test split's summary" || bad "a stray label: $(grep '^test' "$SCR/out")"
grep -q 'the largest label, 1000, has 1 example: is a label out of place' "$SCR/err" \
  && ok "a stray label: the note names it" || bad "a stray label: note $(cat "$SCR/err")"
expect_exit 0 "synthetic with more classes than training examples" "$LSP" data --data synthetic:train=10,test=5,dim=20,classes=20
grep -q 'have no training example (the first, label .*): 9 training examples are too few for 20 classes' "$SCR/err" \
  && ok "synthetic, too few examples: the note says so" || bad "synthetic, too few examples: note $(cat "$SCR/err")"
expect_exit 0 "a stray label, JSON" "$LSP" data --data "$SCR/stray" --val 3 --seed 1 --json
/usr/bin/python3 - "$SCR/out" <<'PY' && ok "a stray label: JSON has 1001 counts a split" || bad "a stray label: JSON counts"
import json, sys
j = json.load(open(sys.argv[1]))
def find(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if isinstance(v, list) and len(v) == 1001: yield k
            yield from find(v)
assert len(list(find(j))) >= 3, list(find(j))
PY
expect_exit 0 "a folder without gaps" "$LSP" data --data "$SCR/px_npy"
grep -q 'no training example' "$SCR/err" && bad "a note for a folder without gaps" || ok "no note without gaps"

finish
