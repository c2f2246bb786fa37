#!/usr/bin/env bash
# End-to-end: `lsprobe calib` on the shared calibration vectors and PyTorch
# logits, its determinism, and its error paths.
. "$(dirname "$0")/e2e_common.sh"
T="$DATA/torch_mlp_tiny"
PY=/usr/bin/python3

# npy NAME DTYPE(f4|i8) SHAPE VALUES...: write a .npy with the stdlib only
npy() {
  "$PY" - "$@" <<'PYEOF'
import struct, sys
path, dt, shape = sys.argv[1], sys.argv[2], tuple(int(s) for s in sys.argv[3].split(",") if s != "")
vals = [float(v) for v in sys.argv[4:]]
hdr = "{'descr': '<%s', 'fortran_order': False, 'shape': (%s), }" % (
    dt, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
with open(path, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
    f.write(struct.pack("<%d%s" % (len(vals), "f" if dt == "f4" else "q"),
                        *[v if dt == "f4" else int(v) for v in vals]))
PYEOF
}
# jget FILE KEY [SUBKEY]: a number from the JSON output
jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); [d:=d[int(k) if isinstance(d, list) else k] for k in sys.argv[2:]]; print(d)' "$@"; }
close() { "$PY" -c 'import sys; sys.exit(abs(float(sys.argv[1])-float(sys.argv[2])) > float(sys.argv[3]))' "$@"; }

# torchmetrics' multiclass docstring case (calibration.txt): ECE .2, RMS .2081666, MCE .2333333
npy "$SCR/p.npy" f4 4,3 0.25 0.20 0.55 0.55 0.05 0.40 0.10 0.30 0.60 0.90 0.05 0.05
npy "$SCR/y.npy" i8 4 0 1 2 0
expect_exit 0 "probs, 3 bins, JSON" "$LSP" calib --probs "$SCR/p.npy" --labels "$SCR/y.npy" --bins 3 --json
cp "$SCR/out" "$SCR/tm.json"
close "$(jget "$SCR/tm.json" ece)" 0.2 1e-6 && close "$(jget "$SCR/tm.json" rmsce)" 0.2081666 1e-6 &&
  close "$(jget "$SCR/tm.json" mce)" 0.2333333 1e-6 && ok "ECE/RMSCE/MCE match torchmetrics" || bad "JSON: $(cat "$SCR/tm.json")"
close "$(jget "$SCR/tm.json" classwise_ece)" 0.19166667 1e-6 && ok "classwise ECE matches the hand value" || bad "classwise"
for key in accuracy nll brier ece mce rmsce ace classwise_ece over_confidence under_confidence temperature bins; do
  grep -q "\"$key\":" "$SCR/tm.json" || bad "JSON lacks $key"
done
[ "$(jget "$SCR/tm.json" bins 1 count)" = 3 ] && [ "$(jget "$SCR/tm.json" bins 2 count)" = 1 ] && ok "per-bin counts" || bad "bins: $(jget "$SCR/tm.json" bins)"

# the two edge rules: conf .5 (wrong, tie goes to class 0) and .9 (right)
npy "$SCR/pe.npy" f4 2,2 0.5 0.5 0.9 0.1
npy "$SCR/ye.npy" i8 2 1 0
expect_exit 0 "edges right" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --bins 2 --json
close "$(jget "$SCR/out" ece)" 0.3 1e-6 && ok "right edges: ECE 0.3" || bad "right: $(jget "$SCR/out" ece)"
expect_exit 0 "edges left" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --bins 2 --edges left --json
close "$(jget "$SCR/out" ece)" 0.2 1e-6 && ok "left edges: ECE 0.2" || bad "left: $(jget "$SCR/out" ece)"

# table output, bootstrap determinism across runs and thread counts
expect_exit 0 "table with bootstrap" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --bootstrap 300 --seed 5 --threads 1
cp "$SCR/out" "$SCR/b1.txt"
grep -q '^ece ' "$SCR/b1.txt" && grep -q '95% CI' "$SCR/b1.txt" && grep -q 'reliability' "$SCR/b1.txt" && ok "table lists metrics, CIs and bins" || bad "table: $(cat "$SCR/b1.txt")"
grep -q '^accuracy *0\.531250' "$SCR/b1.txt" && ok "accuracy 17/32" || bad "accuracy"
expect_exit 0 "same seed, 2 threads" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --bootstrap 300 --seed 5 --threads 2
cmp -s "$SCR/out" "$SCR/b1.txt" && ok "bootstrap identical for a seed (1 vs 2 threads)" || bad "bootstrap differs"
! grep -q "WARNING" "$SCR/err" && ok "--bootstrap 300 does not warn" || bad "--bootstrap 300 warned: $(cat "$SCR/err")"
# fewer resamples than a 95% interval's tails need: said, not refused
expect_exit 0 "--bootstrap 5" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --bootstrap 5
grep -q "WARNING: --bootstrap 5: a 95% interval rests on the 2.5% tails" "$SCR/err" && ok "--bootstrap 5 warns" || bad "no warning for --bootstrap 5: $(cat "$SCR/err")"
expect_exit 0 "another seed" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --bootstrap 300 --seed 6
cmp -s "$SCR/out" "$SCR/b1.txt" && bad "seed ignored" || ok "another seed, other intervals"

# streaming gives the same binned metrics
expect_exit 0 "json" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --json
cp "$SCR/out" "$SCR/full.json"
expect_exit 0 "--stream" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --stream --json
[ "$(jget "$SCR/out" ece)" = "$(jget "$SCR/full.json" ece)" ] && [ "$(jget "$SCR/out" nll)" = "$(jget "$SCR/full.json" nll)" ] &&
  ok "--stream equals the in-memory pass" || bad "--stream differs"
grep -q '"ace"' "$SCR/out" && bad "--stream printed an ACE" || ok "--stream omits ACE"

# --stream over more rows than one chunk (about 8 MB: 52428 rows of 40): the
# same numbers, exactly
"$PY" - "$SCR/big.npy" "$SCR/ybig.npy" <<'PYEOF'
import random, struct, sys
random.seed(7)
n, k = 70001, 40
vals, labs = [], []
for i in range(n):
    row = [random.random() ** 3 for _ in range(k)]
    s = sum(row)
    vals += [v / s for v in row]
    labs.append(random.randrange(k))
for path, dt, shape, data, fmt in ((sys.argv[1], "f4", "(%d, %d)" % (n, k), vals, "f"),
                                   (sys.argv[2], "i8", "(%d,)" % n, labs, "q")):
    hdr = "{'descr': '<%s', 'fortran_order': False, 'shape': %s, }" % (dt, shape)
    hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        f.write(struct.pack("<%d%s" % (len(data), fmt), *data))
PYEOF
expect_exit 0 "big, in memory" "$LSP" calib --probs "$SCR/big.npy" --labels "$SCR/ybig.npy" --json
cp "$SCR/out" "$SCR/big.json"
expect_exit 0 "big, --stream, 2 threads" "$LSP" calib --probs "$SCR/big.npy" --labels "$SCR/ybig.npy" --json --stream --threads 2
same=1
for key in accuracy nll brier ece mce rmsce classwise_ece over_confidence under_confidence; do
  [ "$(jget "$SCR/out" $key)" = "$(jget "$SCR/big.json" $key)" ] || { same=0; echo "     $key differs"; }
done
[ $same = 1 ] && cmp -s <(jget "$SCR/out" bins) <(jget "$SCR/big.json" bins) && ok "--stream over 2 chunks equals one pass exactly" || bad "--stream differs"
# the default reads in chunks too: the same numbers as the whole matrix
# through the per-row table (what --bootstrap scores), ACE and ECE-sweep
# included; a non-finite value in the second chunk is reported with its row
# in the file
expect_exit 0 "big, whole matrix (--bootstrap 1)" "$LSP" calib --probs "$SCR/big.npy" --labels "$SCR/ybig.npy" --json --bootstrap 1
same=1
for key in accuracy nll brier ece mce rmsce classwise_ece over_confidence under_confidence ace ece_sweep smece; do
  [ "$(jget "$SCR/out" $key)" = "$(jget "$SCR/big.json" $key)" ] || { same=0; echo "     $key differs"; }
done
[ $same = 1 ] && ok "chunked default equals the whole matrix's table exactly" || bad "chunked default differs"
"$PY" - "$SCR/big.npy" "$SCR/bignan.npy" <<'PYEOF'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
off = 10 + struct.unpack("<H", b[8:10])[0] + (60000 * 40 + 5) * 4
b[off:off + 4] = struct.pack("<f", float("nan"))
open(sys.argv[2], "wb").write(b)
PYEOF
expect_exit 1 "NaN in the second chunk" "$LSP" calib --probs "$SCR/bignan.npy" --labels "$SCR/ybig.npy"
expect_err "bignan.npy: non-finite value (nan) at row 60000, column 5" "NaN in the second chunk"
expect_exit 1 "NaN in the second chunk, --stream" "$LSP" calib --probs "$SCR/bignan.npy" --labels "$SCR/ybig.npy" --stream
expect_err "bignan.npy: non-finite value (nan) at row 60000, column 5" "NaN in the second chunk, --stream"
# pipes (a shell's <(…), /dev/stdin, -) cannot be read by offset: read
# front to back, chunk by chunk as a file is, to the same bytes
jnopath() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); [d.pop(k, None) for k in ("probs", "logits", "labels")]; print(json.dumps(d, sort_keys=True))' "$1"; }
jnopath "$SCR/big.json" >"$SCR/big.nopath"
expect_exit 0 "predictions and labels through <(cat …)" "$LSP" calib --probs <(cat "$SCR/big.npy") --labels <(cat "$SCR/ybig.npy") --json
cmp -s <(jnopath "$SCR/out") "$SCR/big.nopath" && ok "<(…) gives the file's numbers exactly" || bad "<(…) differs"
expect_exit 0 "predictions on stdin, --stream" sh -c '"$1" calib --probs /dev/stdin --labels "$2" --json --stream <"$3"' - "$LSP" "$SCR/ybig.npy" "$SCR/big.npy"
[ "$(jget "$SCR/out" ece)" = "$(jget "$SCR/big.json" ece)" ] && ok "stdin, --stream: the file's ECE" || bad "stdin --stream differs"
expect_exit 0 "predictions as -, piped" sh -c 'cat "$3" | "$1" calib --probs - --labels "$2" --json' - "$LSP" "$SCR/ybig.npy" "$SCR/big.npy"
cmp -s <(jnopath "$SCR/out") "$SCR/big.nopath" && ok "- (piped): the file's numbers exactly" || bad "- piped differs"
expect_exit 0 "predictions as -, redirected from the file" sh -c '"$1" calib --probs - --labels "$2" --json <"$3"' - "$LSP" "$SCR/ybig.npy" "$SCR/big.npy"
cmp -s <(jnopath "$SCR/out") "$SCR/big.nopath" && ok "- (redirected): the file's numbers exactly" || bad "- redirected differs"
expect_exit 2 "predictions and labels both from standard input" sh -c 'cat "$2" | "$1" calib --probs - --labels - --json' - "$LSP" "$SCR/big.npy"
expect_err "--probs and --labels both read standard input (-), which can be read once" "two inputs from standard input"
expect_exit 1 "a truncated pipe" "$LSP" calib --probs <(head -c 1000000 "$SCR/big.npy") --labels "$SCR/ybig.npy"
expect_err "truncated data (header says 11200160 bytes, the stream ended after " "a truncated pipe"
expect_exit 1 "bytes after the data in a pipe" "$LSP" calib --probs <(cat "$SCR/big.npy"; printf 'xyz') --labels "$SCR/ybig.npy"
expect_err "3 unexpected bytes after the data" "bytes after the data in a pipe"
expect_exit 1 "an empty pipe" "$LSP" calib --probs <(:) --labels "$SCR/ybig.npy"
expect_err "not a .npy file (empty)" "an empty pipe"
expect_exit 1 "NaN in the second chunk, through a pipe" "$LSP" calib --probs <(cat "$SCR/bignan.npy") --labels "$SCR/ybig.npy"
expect_err "non-finite value (nan) at row 60000, column 5" "NaN in the second chunk, through a pipe"
npy "$SCR/yoh.npy" f4 4,3 1 0 0 0 1 0 0 0 1 1 0 0
expect_exit 1 "one-hot labels through a pipe" "$LSP" calib --probs "$SCR/p.npy" --labels <(cat "$SCR/yoh.npy")
expect_err "one-hot labels (4 x 3" "one-hot labels through a pipe"
# logits through a pipe whose first rows look like probabilities: the check
# for probabilities passed as logits reads no further into a pipe than the
# first chunk (a pipe keeps only the last range read; the pass finishes the
# check), so the numbers are the file's, and accuracy and NLL those the
# stdlib computes; a pipe of rows that all look like probabilities is
# refused as the file is, before a bad label after the first chunk
"$PY" - "$SCR" <<'PYEOF'
import math, random, struct, sys
d = sys.argv[1]
random.seed(3)
n, k = 300, 3
vals, labs = [], []
for i in range(n):
    r = [random.random() for _ in range(k)]
    r = [v / sum(r) for v in r] if i < 100 else [4 * v - 2 for v in r]
    vals += struct.unpack("<%df" % k, struct.pack("<%df" % k, *r))  # as float32
    labs.append(random.randrange(k))
acc = nll = 0.0
for i in range(n):
    z = vals[i * k:(i + 1) * k]
    m = max(z)
    acc += z.index(m) == labs[i]
    nll += m + math.log(sum(math.exp(v - m) for v in z)) - z[labs[i]]
open(d + "/lp_ref.txt", "w").write("%r %r\n" % (acc / n, nll / n))
for path, dt, shape, data, fmt in ((d + "/lp.npy", "f4", "(%d, %d)" % (n, k), vals, "f"),
                                   (d + "/ylp.npy", "i8", "(%d,)" % n, labs, "q")):
    hdr = "{'descr': '<%s', 'fortran_order': False, 'shape': %s, }" % (dt, shape)
    hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        f.write(struct.pack("<%d%s" % (len(data), fmt), *data))
# big.npy's distributions with the last row made logits, and ybig.npy with
# a bad label in the sixth chunk (9830 rows of 40 float32 a chunk)
b = bytearray(open(d + "/big.npy", "rb").read())
b[-160:] = struct.pack("<40f", *([3.0] + [0.0] * 39))
open(d + "/biglast.npy", "wb").write(b)
y = bytearray(open(d + "/ybig.npy", "rb").read())
y[len(y) - 8 * 20001:len(y) - 8 * 20000] = struct.pack("<q", 40)  # label 50000
open(d + "/ybigbad.npy", "wb").write(y)
PYEOF
read -r lp_acc lp_nll <"$SCR/lp_ref.txt"
for s in "" --stream; do
  expect_exit 0 "logits whose first 100 rows look like probabilities, piped ${s:-(default)}" \
    "$LSP" calib --logits <(cat "$SCR/lp.npy") --labels "$SCR/ylp.npy" --json $s
  close "$(jget "$SCR/out" accuracy)" "$lp_acc" 1e-12 && close "$(jget "$SCR/out" nll)" "$lp_nll" 1e-6 &&
    ok "... the stdlib's accuracy and NLL" || bad "... accuracy $(jget "$SCR/out" accuracy) nll $(jget "$SCR/out" nll), want $lp_acc $lp_nll"
  jnopath "$SCR/out" >"$SCR/pipe.nopath"
  expect_exit 0 "the same logits from the file ${s:-(default)}" "$LSP" calib --logits "$SCR/lp.npy" --labels "$SCR/ylp.npy" --json $s
  cmp -s <(jnopath "$SCR/out") "$SCR/pipe.nopath" && ok "... equal the pipe's numbers exactly" || bad "... the pipe's numbers differ"
  expect_exit 0 "logits whose rows but the last look like probabilities, piped ${s:-(default)}" \
    "$LSP" calib --logits <(cat "$SCR/biglast.npy") --labels "$SCR/ybig.npy" --json $s
  jnopath "$SCR/out" >"$SCR/pipe.nopath"
  expect_exit 0 "the same logits from the file ${s:-(default)}" "$LSP" calib --logits "$SCR/biglast.npy" --labels "$SCR/ybig.npy" --json $s
  cmp -s <(jnopath "$SCR/out") "$SCR/pipe.nopath" && ok "... equal the pipe's numbers exactly" || bad "... the pipe's numbers differ"
  for f in big.npy biglast.npy; do
    expect_exit 1 "$f piped as logits, a bad label in the sixth chunk ${s:-(default)}" \
      "$LSP" calib --logits <(cat "$SCR/$f") --labels "$SCR/ybigbad.npy" --json $s
    [ -s "$SCR/out" ] && bad "... printed a result" || ok "... prints nothing"
    if [ $f = big.npy ]; then
      expect_err "these look like probabilities, not logits; pass them with --probs" "... every row a distribution: refused as such"
    else
      expect_err "ybigbad.npy: label 40 at index 50000 is out of range [0, 40)" "... the last row is not: the label's error"
    fi
  done
done
npy "$SCR/ybig3.npy" i8 3 0 1 7
expect_exit 1 "--stream bad label" "$LSP" calib --probs "$SCR/p.npy" --labels "$SCR/ybig3.npy" --stream
expect_err "ybig3.npy" "--stream row mismatch"
npy "$SCR/y4bad.npy" i8 4 0 1 3 0
expect_exit 1 "--stream label out of range" "$LSP" calib --probs "$SCR/p.npy" --labels "$SCR/y4bad.npy" --stream
expect_err "label 3 at index 2" "--stream label out of range"

# float64 inputs keep double precision through binning (tests/data/calib_f64,
# expected values from exact arithmetic in tests/data/gen_calib_f64.py)
F="$DATA/calib_f64"
want() { awk -v c="$1" -v m="$2" -v b="$3" -v e="$4" '$1 == c && $2 == m && $3 == b && $4 == e { print $5 }' "$F/expected.txt"; }
# f64_case NAME CASE BINS EDGES INPUT-OPTION FILE LABELS [extra options]
f64_case() {
  local name=$1 case=$2 bins=$3 edges=$4 opt=$5 file=$6 labels=$7
  shift 7
  expect_exit 0 "$name" "$LSP" calib "$opt" "$F/$file" --labels "$F/$labels" --bins "$bins" --edges "$edges" --json "$@"
  local fails=""
  for key in accuracy brier ece mce rmsce classwise_ece over_confidence under_confidence; do
    close "$(jget "$SCR/out" $key)" "$(want "$case" $key "$bins" "$edges")" 1e-12 || fails="$fails $key"
  done
  [ -z "$fails" ] && ok "$name: metrics equal the exact ones" || bad "$name:$fails differ"
}
f64_case "float64 forest probabilities, 10 bins" forest 10 right --probs forest_probs.npy forest_labels.npy
close "$(jget "$SCR/out" ace)" "$(want forest ace 10 right)" 1e-12 && ok "forest ACE" || bad "forest ACE"
f64_case "float64 forest probabilities, 10 bins, --stream" forest 10 right --probs forest_probs.npy forest_labels.npy --stream
f64_case "float64 forest probabilities, left edges" forest 10 left --probs forest_probs.npy forest_labels.npy
f64_case "float64 forest probabilities, 15 bins" forest 15 right --probs forest_probs.npy forest_labels.npy
f64_case "float64 logits beside bin edges" edge 15 right --logits edge_logits.npy edge_labels.npy
close "$(jget "$SCR/out" nll)" "$(want edge nll 15 right)" 1e-12 && ok "edge logits NLL" || bad "edge NLL"
f64_case "float64 logits beside bin edges, --stream" edge 15 right --logits edge_logits.npy edge_labels.npy --stream
f64_case "ties at 1/K, 8 bins" tie 8 right --logits tie_logits.npy tie_labels.npy
f64_case "ties at 1/K, 16 bins, --stream" tie 16 right --logits tie_logits.npy tie_labels.npy --stream

# temperature scaling (validation = the same logits: NLL at T <= NLL at 1)
expect_exit 0 "--fit-temperature" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --fit-temperature "$T/logits.npy" "$T/labels.npy" --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); a=d["temperature_scaled"]; sys.exit(not (a["temperature"]>0 and a["nll"]<=d["nll"] and a["accuracy"]==d["accuracy"]))' "$SCR/out" &&
  ok "fitted T lowers the NLL, keeps accuracy" || bad "temperature: $(cat "$SCR/out")"

# bad data: exit 1, one line naming the file
npy "$SCR/nan.npy" f4 2,2 0.5 0.5 nan 0.1
expect_exit 1 "NaN probability" "$LSP" calib --probs "$SCR/nan.npy" --labels "$SCR/ye.npy"
expect_err "nan.npy" "NaN probability"
npy "$SCR/neg.npy" f4 2,2 0.5 0.5 -0.2 1.2
expect_exit 1 "negative probability" "$LSP" calib --probs "$SCR/neg.npy" --labels "$SCR/ye.npy"
expect_err "neg.npy: row 1: probability -0.2" "negative probability"
npy "$SCR/sum.npy" f4 2,2 0.5 0.5 0.9 0.2
expect_exit 1 "rows not summing to 1" "$LSP" calib --probs "$SCR/sum.npy" --labels "$SCR/ye.npy"
expect_err "sum.npy: row 1: probabilities sum to 1.09999" "row sum"
npy "$SCR/inf.npy" f4 2,2 0.5 inf 0.9 0.2
expect_exit 1 "Inf logit" "$LSP" calib --logits "$SCR/inf.npy" --labels "$SCR/ye.npy"
expect_err "inf.npy: non-finite value (inf) at row 0" "Inf logit"
grep -q "masked" "$SCR/err" && bad "+Inf logit: the masked-class hint belongs to -inf only" || ok "+Inf logit: no masked-class hint"
# -inf, a masked class: refused with the way to pass it, which works
npy "$SCR/ninf.npy" f4 2,2 0.5 -inf 0.9 0.2
expect_exit 1 "-Inf logit" "$LSP" calib --logits "$SCR/ninf.npy" --labels "$SCR/ye.npy"
expect_err "ninf.npy: non-finite value (-inf) at row 0, column 1 (lsprobe takes finite values only; if these are logits with a masked class, give it a large negative finite logit such as -1e4" "-Inf logit"
npy "$SCR/nbig.npy" f4 2,2 0.5 -1e4 0.9 0.2
expect_exit 0 "-1e4 for the masked class" "$LSP" calib --logits "$SCR/nbig.npy" --labels "$SCR/ye.npy"
# -inf among probabilities: refused; the advice is said of logits only
expect_exit 1 "-Inf probability" "$LSP" calib --probs "$SCR/ninf.npy" --labels "$SCR/ye.npy"
expect_err "ninf.npy: non-finite value (-inf) at row 0, column 1 (lsprobe takes finite values only; if these are logits" "-Inf probability"
npy "$SCR/ybad.npy" i8 2 1 2
expect_exit 1 "label out of range" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ybad.npy"
expect_err "ybad.npy" "label out of range"
expect_exit 1 "row mismatch" "$LSP" calib --probs "$SCR/p.npy" --labels "$SCR/ye.npy"
expect_err "rows" "row mismatch"
npy "$SCR/empty.npy" f4 0,3
npy "$SCR/yempty.npy" i8 0
expect_exit 1 "zero rows" "$LSP" calib --probs "$SCR/empty.npy" --labels "$SCR/yempty.npy"
expect_err "empty.npy: empty array" "zero rows"
# a 0-d label array is no vector of labels, read in chunks or whole
npy "$SCR/p1.npy" f4 1,2 0.3 0.7
npy "$SCR/y0d.npy" i8 "" 1
for s in "" --stream "--bootstrap 2"; do
  expect_exit 1 "0-d labels ${s:-(default)}" "$LSP" calib --probs "$SCR/p1.npy" --labels "$SCR/y0d.npy" $s
  expect_err "y0d.npy: labels must be a 1-D array of class indices (got 0 dimensions)" "0-d labels ${s:-(default)}"
done
# headers claiming 2^48 rows (more than any address space holds at 9
# bytes a row): the file named and the way round it
hdr48() { "$PY" -c 'import sys; h = "{\x27descr\x27: \x27<%s\x27, \x27fortran_order\x27: False, \x27shape\x27: (281474976710656,%s), }" % (sys.argv[1], sys.argv[2]); h += " " * (63 - (10 + len(h)) % 64) + "\n"; sys.stdout.buffer.write(b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h.encode() + bytes(64))' "$@"; }
# (under AddressSanitizer a refused allocation returns NULL, as malloc's
# does, and the sanitizer's own warning about it is not lsprobe's output)
expect_exit 1 "2^48 rows in a pipe" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1" \
  "$LSP" calib --probs <(hdr48 f4 " 2") --labels <(hdr48 i8 "")
sed -i '/^==[0-9]*==WARNING: AddressSanitizer failed to allocate/d' "$SCR/err"
expect_err "/dev/fd/" "2^48 rows in a pipe"
grep -q "out of memory for 281474976710656 rows (ACE and ECE-sweep keep 9 bytes a row; --stream keeps none)" "$SCR/err" &&
  ok "... names the pipe and --stream" || bad "... $(cat "$SCR/err")"
expect_exit 1 "2^48 rows in a pipe, --stream" "$LSP" calib --probs <(hdr48 f4 " 2") --labels <(hdr48 i8 "") --stream
expect_err "truncated data (header says 2251799813685248 bytes, the stream ended after 64)" "2^48 rows in a pipe, --stream"
expect_exit 1 "missing file" "$LSP" calib --probs "$SCR/none.npy" --labels "$SCR/ye.npy"
expect_err "none.npy" "missing file"
expect_exit 1 "bad validation logits" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --fit-temperature "$SCR/inf.npy" "$SCR/ye.npy"
expect_err "inf.npy" "bad validation logits"
# validation logits of another class count: said so, not blamed on the labels
npy "$SCR/v2.npy" f4 2,2 1.5 -0.5 0.2 2.0
expect_exit 1 "validation logits with 2 classes against 3" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --fit-temperature "$SCR/v2.npy" "$T/labels.npy"
expect_err "v2.npy has 2 classes but $T/logits.npy has 3" "validation class count"
# bad usage: exit 2, one line naming the option
expect_exit 2 "bins 0" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --bins 0
expect_err "--bins" "bins 0"
expect_exit 2 "bins -3" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --bins=-3
expect_err "--bins" "bins -3"
expect_exit 2 "unknown edges" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --edges middle
expect_err "--edges" "unknown edges"
expect_exit 2 "unknown binning" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --binning quantile
expect_err "--binning" "unknown binning"
expect_exit 2 "both inputs" "$LSP" calib --probs "$SCR/pe.npy" --logits "$SCR/pe.npy" --labels "$SCR/ye.npy"
expect_err "exactly one of --logits and --probs" "both inputs"
expect_exit 2 "no input" "$LSP" calib --labels "$SCR/ye.npy"
expect_exit 2 "temperature from probabilities" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --fit-temperature "$SCR/pe.npy" "$SCR/ye.npy"
expect_err "--fit-temperature" "temperature from probabilities"
expect_exit 2 "--fit-temperature with one file" "$LSP" calib --logits "$SCR/pe.npy" --labels "$SCR/ye.npy" --fit-temperature "$SCR/pe.npy"
expect_exit 2 "bootstrap 0" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --bootstrap 0
expect_err "--bootstrap" "bootstrap 0"
expect_exit 2 "--stream with --bootstrap" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --stream --bootstrap 10
expect_err "--stream" "--stream with --bootstrap"
expect_exit 0 "--help" "$LSP" calib --help
grep -q -- '--fit-temperature' "$SCR/out" && grep -q -- '--smece-sigma' "$SCR/out" && grep -q -- '--ci' "$SCR/out" &&
  ok "help lists options" || bad "help"

# the estimators with less bias (DESIGN §2): JSON names, relplot's SmoothECE,
# the same numbers when streaming, the interval kinds
R="$DATA/smece_relplot"
expect_exit 0 "relplot logits, JSON" "$LSP" calib --logits "$R/logits.npy" --labels "$R/labels.npy" --json
cp "$SCR/out" "$SCR/rel.json"
for key in ece_debiased ece_l2_debiased ece_sweep ece_sweep_bins smece smece_sigma smooth_curve; do
  grep -q "\"$key\":" "$SCR/rel.json" || bad "JSON lacks $key"
done
close "$(jget "$SCR/rel.json" smece)" "$(jget "$R/case.json" logits_case smece)" 1e-3 &&
  close "$(jget "$SCR/rel.json" smece_sigma)" "$(jget "$R/case.json" logits_case sigma_star)" 1e-3 &&
  ok "SmoothECE and sigma* within 1e-3 of relplot" || bad "smece $(jget "$SCR/rel.json" smece)"
expect_exit 0 "--smece-sigma 0.05" "$LSP" calib --logits "$R/logits.npy" --labels "$R/labels.npy" --smece-sigma 0.05 --json
close "$(jget "$SCR/out" smece)" "$(jget "$R/case.json" logits_case smece_at_sigma_0.05)" 1e-3 &&
  [ "$(jget "$SCR/out" smece_sigma)" = 0.05 ] && ok "smECE at sigma 0.05 matches relplot" || bad "smece at 0.05"
expect_exit 0 "relplot --stream" "$LSP" calib --logits "$R/logits.npy" --labels "$R/labels.npy" --stream --json
same=1
for key in ece_debiased ece_l2_debiased smece smece_sigma; do
  [ "$(jget "$SCR/out" $key)" = "$(jget "$SCR/rel.json" $key)" ] || { same=0; echo "     $key differs"; }
done
[ $same = 1 ] && ok "--stream gives the same debiased ECEs and SmoothECE" || bad "--stream estimators differ"
grep -q '"ece_sweep"' "$SCR/out" && bad "--stream printed ECE-sweep" || ok "--stream omits ECE-sweep"
expect_exit 0 "intervals, inversion" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --bootstrap 50 --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
ok = d["ci_method"] == "inversion" and "ece_ci_percentile" in d and "accuracy_ci_percentile" not in d
ok = ok and d["accuracy_ci"][0] <= d["accuracy"] <= d["accuracy_ci"][1] and len(d["smooth_curve"]["lo"]) == 101
ok = ok and "classwise_ece_ci_percentile" in d and d["classwise_ece_ci"] != d["classwise_ece_ci_percentile"]
sys.exit(not ok)' "$SCR/out" && ok "inverted intervals, percentile kept beside them" || bad "intervals: $(head -c 600 "$SCR/out")"
expect_exit 0 "--ci percentile" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --bootstrap 50 --ci percentile --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["ci_method"] == "percentile" and "ece_ci_percentile" not in d))' "$SCR/out" &&
  ok "--ci percentile" || bad "--ci percentile"
expect_exit 0 "table marks inverted intervals" "$LSP" calib --logits "$T/logits.npy" --labels "$T/labels.npy" --bootstrap 50
grep -q '^ece \*' "$SCR/out" && grep -q 'test inversion' "$SCR/out" && ok "table names the interval kinds" || bad "table: $(head -5 "$SCR/out")"
grep -q '^classwise_ece \*' "$SCR/out" && ok "table marks classwise_ece's interval" || bad "classwise_ece not marked"
# labels drawn from the reported probabilities: classwise_ece's true value is
# 0, the lower end of its inverted interval; the percentile one excludes 0
"$PY" -c 'import sys, numpy as np
r = np.random.default_rng(4); z = r.normal(0, 2, (3000, 10)); p = np.exp(z - z.max(1, keepdims=True))
p /= p.sum(1, keepdims=True); y = (r.random(3000)[:, None] > np.cumsum(p, 1)).sum(1).clip(0, 9)
np.save(sys.argv[1] + "/zc.npy", z.astype(np.float32)); np.save(sys.argv[1] + "/yc.npy", y)' "$SCR"
expect_exit 0 "classwise interval, calibrated" "$LSP" calib --logits "$SCR/zc.npy" --labels "$SCR/yc.npy" --bootstrap 200 --threads 2 --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); lo, hi = d["classwise_ece_ci"]; pl = d["classwise_ece_ci_percentile"][0]
sys.exit(not (lo == 0.0 and 0.0 < hi < pl))' "$SCR/out" && ok "classwise_ece: a calibrated model's interval starts at 0" ||
  bad "classwise_ece interval: $(grep -o '"classwise_ece[^]]*]' "$SCR/out" | head -3)"
# an underconfident model (a softmax regression's logits scaled by 0.4; 5
# classes, 600 rows) whose classwise worlds gain error up to λ = 4 and lose
# it after (rows clipped at 0 and 1, rescaled): no world rejects the
# estimate from below, and the interval must still be one, lo <= hi (it
# was [0.0881, 0.0473], which compare refuses in a run's results.json)
"$PY" -c 'import sys, numpy as np
r = np.random.default_rng(3); mu = r.normal(0, 1, (5, 20))
def mk(n):
    y = r.integers(0, 5, n); return mu[y] + r.normal(0, 1.2, (n, 20)), y
x, y = mk(3000); xt, yt = mk(600); W = np.zeros((20, 5)); b = np.zeros(5)
for t in range(60):
    z = x @ W + b; p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1; W -= 0.5 * x.T @ p / len(y); b -= 0.5 * p.mean(0)
np.save(sys.argv[1] + "/zu.npy", ((xt @ W + b) * 0.4).astype(np.float32)); np.save(sys.argv[1] + "/yu.npy", yt.astype(np.int32))' "$SCR"
expect_exit 0 "classwise interval, underconfident" "$LSP" calib --logits "$SCR/zu.npy" --labels "$SCR/yu.npy" --bootstrap 200 --seed 7 --threads 2 --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
bad = [k for k, v in d.items() if k.endswith("_ci") and v[0] is not None and v[1] is not None and v[0] > v[1]]
sys.exit(bool(bad) and (print(bad, d["classwise_ece"], d["classwise_ece_ci"]) or 1))' "$SCR/out" &&
  ok "classwise_ece: an interval with lo <= hi where the worlds' error falls again at large λ" ||
  bad "classwise_ece: an interval with lo > hi"
# --smece-sigma changes the SmoothECE reported, never the worlds the other
# intervals are inverted over (the kernel curve at the fitted sigma*)
"$PY" -c 'import numpy as np; r=np.random.default_rng(11); z=r.normal(size=(30,4))*2; y=r.integers(0,4,30)
m=r.random(30)<0.6; y[m]=z[m].argmax(1); np.save("'"$SCR"'/zs.npy",z); np.save("'"$SCR"'/ys.npy",y)'
expect_exit 0 "intervals at sigma*" "$LSP" calib --logits "$SCR/zs.npy" --labels "$SCR/ys.npy" --bootstrap 200 --json
cp "$SCR/out" "$SCR/sfit.json"
expect_exit 0 "intervals with --smece-sigma" "$LSP" calib --logits "$SCR/zs.npy" --labels "$SCR/ys.npy" --bootstrap 200 --smece-sigma 0.001 --json
"$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
keys = ["ece", "rmsce", "ace", "ece_debiased", "ece_l2_debiased", "ece_sweep"]
diff = [k for k in keys if a[k + "_ci"] != b[k + "_ci"]]
lo, hi = b["smece_ci"]; v = b["smece"]
ok = not diff and a["smece_sigma"] != b["smece_sigma"] == 0.001 and lo <= v and (hi is None or v <= hi)
sys.exit(not ok and (print(diff, a["smece_ci"], b["smece_ci"], v) or 1))' "$SCR/sfit.json" "$SCR/out" &&
  ok "--smece-sigma leaves the other intervals as they are" || bad "--smece-sigma moved intervals"
expect_exit 2 "--ci bca" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --bootstrap 50 --ci bca
expect_err "--ci" "--ci bca"
expect_exit 2 "--ci without --bootstrap" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --ci percentile
expect_err "--ci goes with --bootstrap R" "--ci without --bootstrap"
expect_exit 2 "--seed without --bootstrap" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --seed 5
expect_err "--seed goes with --bootstrap R" "--seed without --bootstrap"
expect_exit 2 "--smece-sigma 0" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --smece-sigma 0
expect_err "--smece-sigma" "--smece-sigma 0"
expect_exit 2 "--smece-sigma 2" "$LSP" calib --probs "$SCR/pe.npy" --labels "$SCR/ye.npy" --smece-sigma 2
expect_err "--smece-sigma" "--smece-sigma 2"

# NLL terms beyond the fixed-point range (logits of 1e20 times Gaussian
# noise): finite, equal to the double-precision mean of (max − z_y) +
# log Σ e^(z − max) over the float32 values, the same with --stream and 2 threads
"$PY" - "$SCR" <<'PYEOF'
import sys
from npy_write import huge_noise_logits
ref = huge_noise_logits(sys.argv[1] + "/zh.npy", sys.argv[1] + "/yh.npy")
open(sys.argv[1] + "/zh.ref", "w").write(repr(ref))
PYEOF
for mode in "" "--stream" "--threads 2"; do
  # shellcheck disable=SC2086
  expect_exit 0 "NLL of logits of 1e20 $mode" "$LSP" calib --logits "$SCR/zh.npy" --labels "$SCR/yh.npy" $mode --json
  nll=$(jget "$SCR/out" nll)
  "$PY" -c 'import sys; l, r = float(sys.argv[1]), float(open(sys.argv[2]).read()); sys.exit(not abs(l - r) <= 1e-12 * r)' "$nll" "$SCR/zh.ref" &&
    ok "NLL of logits of 1e20 $mode: the double-precision mean" || bad "NLL $mode: $nll vs $(cat "$SCR/zh.ref")"
done

# calib-sim: a tiny run, and its usage errors
expect_exit 0 "calib-sim tiny" "$LSP" calib-sim --n 300 --reps 3 --bootstrap 20 --scenarios over
[ "$(grep -c '^| over | 300 |' "$SCR/out")" = 7 ] && ok "calib-sim prints one row per estimator" || bad "calib-sim: $(cat "$SCR/out")"
grep -q "lsprobe: calib-sim: WARNING: --bootstrap 20: a 95% interval rests on the 2.5% tails of the resamples, which fewer than 40 leave empty" "$SCR/err" &&
  ok "calib-sim --bootstrap 20: the warning eval gives" || bad "calib-sim: no warning for 20 resamples: $(cat "$SCR/err")"
# numbers that do not apply (a binned bias of an unbinned estimator, the sd
# of one replicate) print as "–", never nan
expect_exit 0 "calib-sim one replicate" "$LSP" calib-sim --n 100 --reps 1 --bootstrap 20 --scenarios near
"$PY" -c 'import sys
rows = [l.split("|")[1:-1] for l in open(sys.argv[1]) if l.startswith("| near | 100 |")]
ok = len(rows) == 7 and all(c.strip() != "" and "nan" not in c for r in rows for c in r)
ok = ok and all(r[8].strip() == "\u2013" for r in rows)                  # sd of one replicate
binned = {r[2].strip(): r[7].strip() for r in rows}
ok = ok and binned["ace"] == binned["ece_sweep"] == binned["smece"] == "\u2013"
ok = ok and binned["ece"] != "\u2013"
sys.exit(not ok)' "$SCR/out" && ok "calib-sim prints – for numbers that do not apply" || bad "calib-sim: $(cat "$SCR/out")"
expect_exit 2 "calib-sim unknown scenario" "$LSP" calib-sim --scenarios wobbly
expect_err "--scenarios" "calib-sim unknown scenario"
# a list without a name would print the table's head and nothing else
for s in "" ",,"; do
  expect_exit 2 "calib-sim --scenarios '$s'" "$LSP" calib-sim --n 50 --reps 2 --bootstrap 5 --scenarios "$s"
  expect_err "--scenarios: no scenario given" "calib-sim --scenarios '$s'"
  [ ! -s "$SCR/out" ] && ok "calib-sim --scenarios '$s': nothing on stdout" || bad "calib-sim --scenarios '$s': $(cat "$SCR/out")"
done
expect_exit 2 "calib-sim --n 1" "$LSP" calib-sim --n 1
expect_err "--n" "calib-sim --n 1"
expect_exit 2 "calib-sim --n 50,20,50" "$LSP" calib-sim --n 50,20,50 --reps 2 --bootstrap 5
expect_err "lsprobe: calib-sim: --n: 50 is listed twice" "calib-sim --n 50,20,50"
expect_exit 2 "calib-sim --bootstrap 1" "$LSP" calib-sim --bootstrap 1
expect_err "--bootstrap" "calib-sim --bootstrap 1"

finish
