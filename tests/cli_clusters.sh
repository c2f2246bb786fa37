#!/usr/bin/env bash
# End-to-end: `lsprobe clusters` and `lsprobe logitgap` on DESIGN's toy case
# and the PyTorch MLP dump, and their error paths.
. "$(dirname "$0")/e2e_common.sh"
T="$DATA/torch_mlp_tiny"

# mknpy FILE DESCR SHAPE BYTES: a .npy (format 1.0) whose data are the
# printf-escaped little-endian BYTES.
mknpy() {
  local hdr="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
  local total=$(((10 + ${#hdr} + 1 + 63) / 64 * 64))
  local len=$((total - 10))
  while [ $((${#hdr} + 1)) -lt "$len" ]; do hdr="$hdr "; done
  {
    printf '\x93NUMPY\x01\x00'
    printf "\\x$(printf %02x $((len & 255)))\\x$(printf %02x $((len >> 8)))"
    printf '%s\n' "$hdr"
    printf "$4"
  } >"$1"
}
F1='\x00\x00\x80\x3f' F0='\x00\x00\x00\x00' F02='\xcd\xcc\x4c\x3e' FNAN='\x00\x00\xc0\x7f'
I0='\x00\x00\x00\x00' I1='\x01\x00\x00\x00'
# DESIGN §2 toy: class 0 = {(1,0),(1,0.2)}, class 1 = {(0,1),(0.2,1)}
mknpy "$SCR/toy.npy" '<f4' '(4, 2)' "$F1$F0$F1$F02$F0$F1$F02$F1"
mknpy "$SCR/toy_y.npy" '<i4' '(4,)' "$I0$I0$I1$I1"
mknpy "$SCR/toy_y0.npy" '<i4' '(4,)' "$I0$I0$I0$I0"
mknpy "$SCR/toy_nan.npy" '<f4' '(4, 2)' "$F1$F0$F1$FNAN$F0$F1$F02$F1"
# the toy with an all-zero row of class 1 appended
mknpy "$SCR/toy_z.npy" '<f4' '(5, 2)' "$F1$F0$F1$F02$F0$F1$F02$F1$F0$F0"
mknpy "$SCR/toy_zy.npy" '<i4' '(5,)' "$I0$I0$I1$I1$I1"

expect_exit 0 "toy case" "$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/toy_y.npy"
grep -q 'class separation R2  0\.976187' "$SCR/out" && ok "toy R2 = 0.976187 (DESIGN)" || bad "toy R2: $(cat "$SCR/out")"
grep -q 'NC1  *0\.006173' "$SCR/out" && ok "toy NC1 = 0.006173 (DESIGN)" || bad "toy NC1: $(cat "$SCR/out")"
expect_exit 0 "toy --json" "$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/toy_y.npy" --json
grep -q '"r2_separation": 0\.97618' "$SCR/out" && grep -q '"nc1": 0\.0061728' "$SCR/out" &&
  grep -q '"trace_ratio": 0\.02469' "$SCR/out" && grep -q '"projection": null' "$SCR/out" &&
  ok "JSON r2_separation, nc1, trace_ratio (0.01/0.405)" || bad "JSON: $(head -20 "$SCR/out")"
# two classes: one class-mean distance, so no coefficient of variation
grep -q '"mean_distance_cv": null' "$SCR/out" &&
  ok "K = 2: mean_distance_cv is null (one pair)" || bad "K = 2 CV: $(grep cv "$SCR/out")"
"$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/toy_y.npy" >"$SCR/out" 2>&1
grep -q 'class-mean distance  cv n/a' "$SCR/out" &&
  ok "K = 2: text CV n/a" || bad "K = 2 text CV: $(grep cv "$SCR/out")"
expect_exit 0 "toy with an all-zero row" "$LSP" clusters --features "$SCR/toy_z.npy" --labels "$SCR/toy_zy.npy" --json
grep -q '"r2_separation": 0\.97618' "$SCR/out" && grep -q '"n_zero_rows": 1' "$SCR/out" &&
  ok "zero row counted and excluded" || bad "zero row: $(head -20 "$SCR/out")"

# 3000 rows of 100 features in 10 classes, one all-zero row: every number
# is the same bits at 1, 2 and 3 threads (the sums do not follow the split)
/usr/bin/python3 - "$SCR" <<'PY'
import sys
import numpy as np
r = np.random.default_rng(5)
y = r.integers(0, 10, 3000).astype(np.int32)
f = (r.normal(size=(3000, 100)) + 0.3 * r.normal(size=(10, 100))[y]).astype(np.float32)
f[7] = 0
np.save(sys.argv[1] + "/big.npy", f)
np.save(sys.argv[1] + "/big_y.npy", y)
PY
for t in 1 2 3; do
  "$LSP" clusters --features "$SCR/big.npy" --labels "$SCR/big_y.npy" --json --threads $t >"$SCR/cl$t.json" 2>&1
done
grep -q '"n_zero_rows": 1' "$SCR/cl1.json" && cmp -s "$SCR/cl1.json" "$SCR/cl2.json" && cmp -s "$SCR/cl1.json" "$SCR/cl3.json" &&
  ok "the same JSON at 1, 2 and 3 threads" || bad "clusters depend on the thread count: $(head -5 "$SCR/cl2.json")"
W="$T/4.weight.npy" B="$T/4.bias.npy"
expect_exit 0 "MLP dump with templates" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --templates "$W" --bias "$B" --projection-out "$SCR/p.csv" --json --threads 2
grep -q '"template_accuracy": 0\.53125' "$SCR/out" && ok "template accuracy = PyTorch's acc_clean" || bad "accuracy: $(grep accuracy "$SCR/out")"
grep -q '"chosen": "most_confused"' "$SCR/out" && ok "classes chosen by confusion" || bad "chosen"
[ "$(wc -l <"$SCR/p.csv")" -eq 36 ] && head -1 "$SCR/p.csv" | grep -q '^kind,index,label,x,y$' &&
  [ "$(grep -c '^template,-1,' "$SCR/p.csv")" -eq 3 ] && ok "projection CSV: header, 3 templates, 32 points" ||
  bad "projection CSV: $(head -3 "$SCR/p.csv")"
expect_exit 0 "--classes 2,0,1" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --templates "$W" --bias "$B" --classes 2,0,1 --projection-out "$SCR/p2.csv"
sed -n 2p "$SCR/p2.csv" | grep -q '^template,-1,2,0,0$' && ok "first given class at the origin" || bad "p2: $(sed -n 2p "$SCR/p2.csv")"
grep -q 'projection classes   2,0,1 (given)' "$SCR/out" && ok "text names the given classes" || bad "text: $(cat "$SCR/out")"
expect_exit 0 "--help" "$LSP" clusters --help
grep -q -- '--projection-out' "$SCR/out" && ok "help lists options" || bad "help"

# usage errors: exit 2, one line naming the option
rm -f "$SCR/no.csv"
A=(clusters --features "$T/features.npy" --labels "$T/labels.npy" --templates "$W" --bias "$B" --projection-out "$SCR/no.csv")
expect_exit 2 "--classes out of range" "$LSP" "${A[@]}" --classes 0,1,3
expect_err "--classes: class 3 is outside [0, 3)" "--classes out of range"
expect_exit 2 "--classes repeated" "$LSP" "${A[@]}" --classes 0,2,0
expect_err "--classes: class 0 is given twice" "--classes repeated"
expect_exit 2 "--classes two items" "$LSP" "${A[@]}" --classes 0,1
expect_err "expected 3 classes" "--classes two items"
expect_exit 2 "--classes negative" "$LSP" "${A[@]}" --classes 0,-1,2
expect_err "--classes" "--classes negative"
expect_exit 2 "--classes without templates" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --classes 0,1,2
expect_err "--classes needs --model or --templates" "--classes without templates"
expect_exit 2 "--templates without --bias" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --templates "$W"
expect_err "go together" "--templates without --bias"
expect_exit 2 "missing --labels" "$LSP" clusters --features "$T/features.npy"
expect_err "--labels is required" "missing --labels"
expect_exit 2 "bad --threads" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --threads x
expect_err "--threads" "bad --threads"

# data errors: exit 1, one line naming the file
expect_exit 1 "NaN feature" "$LSP" clusters --features "$SCR/toy_nan.npy" --labels "$SCR/toy_y.npy"
expect_err "toy_nan.npy" "NaN feature"
expect_exit 1 "label count mismatch" "$LSP" clusters --features "$SCR/toy.npy" --labels "$T/labels.npy"
expect_err "has 32 labels but" "label count mismatch"
expect_exit 1 "template width mismatch" "$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/toy_y.npy" --templates "$W" --bias "$B"
expect_err "4.weight.npy: templates have 16 columns but the features have 2" "template width mismatch"
expect_exit 1 "bias length mismatch" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --templates "$W" --bias "$T/2.bias.npy" --projection-out "$SCR/no.csv"
expect_err "2.bias.npy: expected a bias of 3 values" "bias length mismatch"
expect_exit 1 "one class only" "$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/toy_y0.npy"
expect_err "need at least 2 classes" "one class only"
expect_exit 1 "template width mismatch (0.weight)" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --templates "$T/0.weight.npy" --bias "$T/0.bias.npy"
expect_err "0.weight.npy: templates have 8 columns" "template width mismatch (0.weight)"
# three templates for the toy: labels must lie in [0, 3); collinear ones span no plane
mknpy "$SCR/tw.npy" '<f4' '(3, 2)' "$F1$F0$F0$F1$F02$F02"
mknpy "$SCR/tb.npy" '<f4' '(3,)' "$F0$F02$F1"
mknpy "$SCR/twc.npy" '<f4' '(3, 2)' "$F0$F0$F1$F1$F1$F1"
mknpy "$SCR/tbc.npy" '<f4' '(3,)' "$F0$F1$F1"
mknpy "$SCR/toy_y5.npy" '<i4' '(4,)' "$I0$I0$I1\x05\x00\x00\x00"
expect_exit 0 "toy with 3 templates" "$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/toy_y.npy" --templates "$SCR/tw.npy" --bias "$SCR/tb.npy" --projection-out "$SCR/tp.csv"
[ "$(wc -l <"$SCR/tp.csv")" -eq 8 ] && ok "toy projection: 3 templates + 4 points" || bad "toy projection: $(cat "$SCR/tp.csv")"
expect_exit 1 "label beyond the templates" "$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/toy_y5.npy" --templates "$SCR/tw.npy" --bias "$SCR/tb.npy"
expect_err "toy_y5.npy" "label beyond the templates"
expect_exit 1 "templates on one line" "$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/toy_y.npy" --templates "$SCR/twc.npy" --bias "$SCR/tbc.npy" --projection-out "$SCR/no.csv"
expect_err "twc.npy: the templates of classes 0, 1, 2 lie on one line" "templates on one line"
# finite features and templates whose product overflows float32 (row 0:
# 3e38·1 + 3e38 = 6e38): the error names the templates and says why
FBIG='\xe6\xb1\x61\x7f'
mknpy "$SCR/twbig.npy" '<f4' '(3, 2)' "$FBIG$FBIG$F0$F1$F02$F02"
mknpy "$SCR/tbbig.npy" '<f4' '(3,)' "$FBIG$F02$F1"
expect_exit 1 "logits overflow float32" "$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/toy_y.npy" --templates "$SCR/twbig.npy" --bias "$SCR/tbbig.npy" --projection-out "$SCR/no.csv"
expect_err "lsprobe: clusters: $SCR/twbig.npy: logit 0 of row 0 is not finite: the features times the last layer's weights overflow float32" "logits overflow float32"
expect_exit 1 "missing features" "$LSP" clusters --features "$SCR/none.npy" --labels "$SCR/toy_y.npy"
expect_err "none.npy" "missing features"
[ ! -e "$SCR/no.csv" ] && ok "no projection written on failure" || bad "projection written on failure"
ls "$SCR" | grep -q '\.tmp\.' && bad "temporary file left behind" || ok "no temporary left behind"

# a label past int32 is named as too large (not as negative)
/usr/bin/python3 - "$SCR/yhuge.npy" <<'PYEOF'
import sys
from npy_write import npy
npy(sys.argv[1], "<i8", "(4,)", "q", [0, 0, 1 << 40, 1])
PYEOF
expect_exit 1 "label above int32" "$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/yhuge.npy"
expect_err "yhuge.npy: label 1099511627776 at index 2 is above the largest class index" "label above int32"
# float64 features whose row is all zero in float32 are refused, not taken
# for a dead row; the same rows scaled up are measured
/usr/bin/python3 - "$SCR/f64tiny.npy" "$SCR/f64ok.npy" <<'PYEOF'
import sys
from npy_write import npy
v = [1, 0, 1, 0.2, 0, 1, 0.2, 1]
npy(sys.argv[1], "<f8", "(4, 2)", "d", v[:6] + [0.2e-50, 1e-50])
npy(sys.argv[2], "<f8", "(4, 2)", "d", v)
PYEOF
expect_exit 1 "float64 row below float32" "$LSP" clusters --features "$SCR/f64tiny.npy" --labels "$SCR/toy_y.npy"
expect_err "f64tiny.npy: row 3 (largest |value| 1e-50) is all zero in float32" "float64 row below float32"
expect_exit 0 "float64 toy" "$LSP" clusters --features "$SCR/f64ok.npy" --labels "$SCR/toy_y.npy"
grep -q 'class separation R2  0\.976187' "$SCR/out" && ok "float64 toy R2 = 0.976187" || bad "float64 toy: $(cat "$SCR/out")"
# without a last layer K = 1 + the largest label; past 1024 classes a K with
# more absent classes than present ones is refused as a label out of range
# (one stray label would otherwise cost K x K tables)
/usr/bin/python3 - "$SCR" <<'PYEOF'
import sys
from npy_write import npy
d = sys.argv[1]
x = [float(v) for i in range(1026) for v in ((i % 7) + 1, (i % 5) + 1)]
npy(d + "/kx.npy", "<f4", "(1026, 2)", "f", x)
# classes 0..511 twice each, one label 1024 (K = 1025): 513 of 1025 occur
y = [i % 512 for i in range(1024)] + [1024, 1024]
npy(d + "/k513.npy", "<i8", "(1026,)", "q", y)
y[1024] = y[1025] = 0  # then 512 occur and 5000 makes K = 5001
y[3] = 5000
npy(d + "/kstray.npy", "<i8", "(1026,)", "q", y)
PYEOF
expect_exit 0 "K = 1025 with 513 classes present" "$LSP" clusters --features "$SCR/kx.npy" --labels "$SCR/k513.npy"
grep -q 'K=1025 (512 empty)' "$SCR/out" && ok "K = 1025, 512 empty classes listed" || bad "K 1025: $(head -1 "$SCR/out")"
expect_exit 1 "one stray label" "$LSP" clusters --features "$SCR/kx.npy" --labels "$SCR/kstray.npy"
expect_err "kstray.npy: label 5000 at index 3 makes K = 5001 classes but only 513 of them occur" "one stray label"

# two templates give no plane: --projection-out says so, naming the file
mknpy "$SCR/tw2.npy" '<f4' '(2, 2)' "$F1$F0$F0$F1"
mknpy "$SCR/tb2.npy" '<f4' '(2,)' "$F0$F0"
expect_exit 2 "--projection-out with 2 templates" "$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/toy_y.npy" --templates "$SCR/tw2.npy" --bias "$SCR/tb2.npy" --projection-out "$SCR/no2.csv"
expect_err "--projection-out: the projection needs 3 classes, but $SCR/tw2.npy has 2 template rows" "--projection-out with 2 templates"
[ ! -e "$SCR/no2.csv" ] && ok "no projection file for 2 templates" || bad "projection file written for 2 templates"
expect_exit 0 "2 templates without --projection-out" "$LSP" clusters --features "$SCR/toy.npy" --labels "$SCR/toy_y.npy" --templates "$SCR/tw2.npy" --bias "$SCR/tb2.npy" --json
grep -q '"template_accuracy": 1' "$SCR/out" && grep -q '"projection": null' "$SCR/out" && ok "2 templates: accuracy, no projection" || bad "2 templates: $(cat "$SCR/out" | head -5)"

# an output that is a FIFO (or a device: /dev/stdout) is written in place,
# not replaced by a regular file
mkfifo "$SCR/fifo"
timeout 20 cat "$SCR/fifo" >"$SCR/fifo.csv" &
catpid=$!
expect_exit 0 "--projection-out into a FIFO" timeout 20 "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --templates "$W" --bias "$B" --projection-out "$SCR/fifo"
wait "$catpid"
[ -p "$SCR/fifo" ] && ok "the FIFO is still a FIFO" || bad "the FIFO was replaced"
[ "$(wc -l <"$SCR/fifo.csv")" -eq 36 ] && head -1 "$SCR/fifo.csv" | grep -q '^kind,index,label,x,y$' &&
  ok "the projection came through the FIFO" || bad "FIFO output: $(head -3 "$SCR/fifo.csv")"
# and so is /dev/stdout when standard output is a pipe (its link names
# "pipe:[N]", no file)
timeout 20 "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy" --templates "$W" --bias "$B" \
  --projection-out /dev/stdout 2>"$SCR/err" | cat >"$SCR/piped.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] && [ "$(grep -cFx -f "$SCR/fifo.csv" "$SCR/piped.txt")" -eq 36 ] &&
  ok "--projection-out /dev/stdout into a pipe: the projection came through" ||
  bad "--projection-out /dev/stdout into a pipe: $(cat "$SCR/err")"

# logitgap: K = 3, eps = 0.1 uniform: optimal gap log(1 + 3*0.9/0.1) = log 28
expect_exit 0 "logitgap" "$LSP" logitgap --logits "$T/logits.npy" --labels "$T/labels.npy" --smoothing 0.1 --json
grep -q '"optimal_gap": 3\.33220451' "$SCR/out" && grep -q '"logit_gap"' "$SCR/out" &&
  grep -q '"entropy_max": 1\.0986122' "$SCR/out" && ok "optimal gap log 28, entropy max log 3" || bad "logitgap: $(cat "$SCR/out")"
cp "$SCR/out" "$SCR/gap.json"
# through pipes (read once: a pipe cannot be read twice)
expect_exit 0 "logitgap, inputs through <(cat …)" "$LSP" logitgap --logits <(cat "$T/logits.npy") --labels <(cat "$T/labels.npy") --smoothing 0.1 --json
cmp -s <(grep -v '"logits"\|"labels"' "$SCR/out") <(grep -v '"logits"\|"labels"' "$SCR/gap.json") &&
  ok "logitgap through pipes: the file's output" || bad "logitgap through pipes differs"
expect_exit 0 "clusters, inputs from the files" "$LSP" clusters --features "$T/features.npy" --labels "$T/labels.npy"
cp "$SCR/out" "$SCR/cl.txt"
expect_exit 0 "clusters, inputs through <(cat …)" "$LSP" clusters --features <(cat "$T/features.npy") --labels <(cat "$T/labels.npy")
cmp -s "$SCR/out" "$SCR/cl.txt" && ok "clusters through pipes: the files' output" || bad "clusters through pipes differs"
expect_exit 0 "logitgap eps 0" "$LSP" logitgap --logits "$T/logits.npy" --labels "$T/labels.npy" --smoothing 0 --json
grep -q '"optimal_gap": null' "$SCR/out" && ok "eps 0: optimal gap null" || bad "eps 0: $(grep optimal "$SCR/out")"
expect_exit 0 "logitgap text t2t" "$LSP" logitgap --logits "$T/logits.npy" --labels "$T/labels.npy" --smoothing 0.1 --convention t2t
grep -q 'optimal   2\.8904 (eps 0.1, t2t)' "$SCR/out" && ok "t2t optimal log 18" || bad "t2t: $(cat "$SCR/out")"
# no finite optimum: eps = 0 (q one-hot: +inf) and t2t at eps = 1 (q_y = 0: -inf), each with its reason
expect_exit 0 "logitgap text eps 0" "$LSP" logitgap --logits "$T/logits.npy" --labels "$T/labels.npy" --smoothing 0
grep -q 'optimal   none (eps = 0: q is one-hot' "$SCR/out" && ok "eps 0: no optimum, the reason" || bad "eps 0 text: $(grep optimal "$SCR/out")"
expect_exit 0 "logitgap text t2t eps 1" "$LSP" logitgap --logits "$T/logits.npy" --labels "$T/labels.npy" --smoothing 1 --convention t2t
grep -q 'optimal   none (t2t at eps = 1: q_y = 0' "$SCR/out" && ! grep -q 'eps = 0' "$SCR/out" &&
  ok "t2t eps 1: the reason is q_y = 0" || bad "t2t eps 1: $(grep optimal "$SCR/out")"
expect_exit 0 "logitgap JSON t2t eps 1" "$LSP" logitgap --logits "$T/logits.npy" --labels "$T/labels.npy" --smoothing 1 --convention t2t --json
grep -q '"optimal_gap": null' "$SCR/out" && grep -q '"optimal_gap_note": "t2t at eps = 1: q_y = 0' "$SCR/out" &&
  ok "t2t eps 1 JSON: null with the reason" || bad "t2t eps 1 JSON: $(grep optimal "$SCR/out")"
# float64 logits kept in double: gaps of 4 and 10 on logits of 1e8 and 3e8
# (float32 would round them to 0), entropies of the rows in closed form
/usr/bin/python3 - "$SCR/lz.npy" "$SCR/ly.npy" <<'PYEOF'
import struct, sys
from npy_write import npy
npy(sys.argv[1], "<f8", "(2, 3)", "d", [1e8, 1e8 + 4, 1e8, 3e8, 3e8 + 10, 3e8])
npy(sys.argv[2], "<i8", "(2,)", "q", [1, 1])
PYEOF
expect_exit 0 "logitgap float64" "$LSP" logitgap --logits "$SCR/lz.npy" --labels "$SCR/ly.npy" --smoothing 0.1 --json
/usr/bin/python3 -c 'import json, math, sys
d = json.load(open(sys.argv[1]))
def h(g):  # entropy of softmax(0, g, 0)
    s = 2 + math.exp(g); p = [1 / s, math.exp(g) / s, 1 / s]
    return -sum(q * math.log(q) for q in p)
g, e = d["logit_gap"], d["entropy"]
ok = g["min"] == 4 and g["max"] == 10 and g["mean"] == 7
ok = ok and abs(e["min"] - h(10)) < 1e-12 and abs(e["max"] - h(4)) < 1e-12
sys.exit(not ok)' "$SCR/out" && ok "float64 logits: gaps 4 and 10, entropies in closed form" || bad "logitgap float64: $(cat "$SCR/out")"
# float64 logits beyond float32's range are used as stored: a sum that
# overflows the double range (row 2) and a spread past it (row 3: one
# exp(z - max) is exp(-inf) = 0) still give the gap and the entropy
/usr/bin/python3 - "$SCR/lhuge.npy" "$SCR/lhy.npy" <<'PYEOF'
import sys
from npy_write import npy
npy(sys.argv[1], "<f8", "(4, 3)", "d", [1e300, 3e300, -1e300, 1.5e308, 1e308, 1e308,
                                       1.5e308, -1.5e308, 0.0, 0.0, 0.0, 0.0])
npy(sys.argv[2], "<i8", "(4,)", "q", [1, 2, 2, 0])
PYEOF
expect_exit 0 "logitgap float64 past float32" "$LSP" logitgap --logits "$SCR/lhuge.npy" --labels "$SCR/lhy.npy" --json
/usr/bin/python3 -c 'import json, math, sys
d = json.load(open(sys.argv[1]))
g, e = d["logit_gap"], d["entropy"]
gaps = sorted([3e300, 1e308 - (1.5e308 + 1e308) / 2, 0.0, 0.0])
ok = all(abs(g[q] - v) <= 1e-12 * abs(v) for q, v in (("min", gaps[0]), ("max", gaps[3]), ("median", 0.0)))
ok = ok and abs(e["max"] - math.log(3)) < 1e-12 and e["min"] == 0 and e["median"] == 0
sys.exit(not ok)' "$SCR/out" && ok "float64 logits past float32: gaps and entropies in closed form" || bad "logitgap huge float64: $(cat "$SCR/out")"
# gaps whose sum overflows: their mean is still 1.5e308 (not null), and text
# prints huge values in %g form, not as 300-digit numbers; a row of logits
# of 1e15 keeps the units of its gap (exactly 3)
/usr/bin/python3 - "$SCR/lbig.npy" "$SCR/lby.npy" "$SCR/l15.npy" "$SCR/l15y.npy" <<'PYEOF'
import sys
from npy_write import npy
npy(sys.argv[1], "<f8", "(2, 3)", "d", [1.5e308, 0.0, 0.0, 1.5e308, 0.0, 0.0])
npy(sys.argv[2], "<i8", "(2,)", "q", [0, 0])
npy(sys.argv[3], "<f8", "(1, 10)", "d", [1e15 + 3] + [1e15] * 9)
npy(sys.argv[4], "<i8", "(1,)", "q", [0])
PYEOF
expect_exit 0 "logitgap, gaps summing past the double range" "$LSP" logitgap --logits "$SCR/lbig.npy" --labels "$SCR/lby.npy" --json
/usr/bin/python3 -c 'import json, sys
g = json.load(open(sys.argv[1]))["logit_gap"]
sys.exit(not (g["mean"] == 1.5e308 and g["median"] == 1.5e308))' "$SCR/out" &&
  ok "huge gaps: mean 1.5e308, not null" || bad "huge gaps: $(cat "$SCR/out")"
expect_exit 0 "logitgap text, huge gaps" "$LSP" logitgap --logits "$SCR/lbig.npy" --labels "$SCR/lby.npy"
grep -q "^  gap       mean 1.5e+308  median 1.5e+308 .* max 1.5e+308$" "$SCR/out" && [ "$(wc -L <"$SCR/out")" -lt 200 ] &&
  ok "huge gaps in text: %g form" || bad "huge gaps text: $(head -c 400 "$SCR/out")"
expect_exit 0 "logitgap, logits of 1e15" "$LSP" logitgap --logits "$SCR/l15.npy" --labels "$SCR/l15y.npy" --json
/usr/bin/python3 -c 'import json, sys
g = json.load(open(sys.argv[1]))["logit_gap"]
sys.exit(not (g["mean"] == 3 and g["min"] == 3))' "$SCR/out" &&
  ok "logits of 1e15: gap exactly 3" || bad "logits of 1e15: $(cat "$SCR/out")"
expect_exit 2 "--convention without --smoothing" "$LSP" logitgap --logits "$T/logits.npy" --labels "$T/labels.npy" --convention t2t
expect_err "--convention needs --smoothing" "--convention without --smoothing"
expect_exit 1 "NaN logit" "$LSP" logitgap --logits "$SCR/toy_nan.npy" --labels "$SCR/toy_y.npy"
expect_err "toy_nan.npy" "NaN logit"
expect_exit 1 "logit rows mismatch" "$LSP" logitgap --logits "$T/logits.npy" --labels "$SCR/toy_y.npy"
expect_err "rows" "logit rows mismatch"

# --model: the last layer of a model file gives the templates
TM="$DATA/torch_mlp_tiny"
expect_exit 0 "--model (PyTorch export)" "$LSP" clusters --features "$TM/features.npy" --labels "$TM/labels.npy" --model "$TM" --json
cp "$SCR/out" "$SCR/by_model.json"
expect_exit 0 "--templates/--bias" "$LSP" clusters --features "$TM/features.npy" --labels "$TM/labels.npy" --templates "$TM/4.weight.npy" --bias "$TM/4.bias.npy" --json
/usr/bin/python3 - "$SCR/by_model.json" "$SCR/out" <<'PY' && ok "--model equals --templates/--bias" || bad "--model differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("r2_separation", "nc1", "template_accuracy"):
    assert a[k] == b[k], k
assert a["projection"]["points"] == b["projection"]["points"]
PY
expect_exit 2 "--model with --templates" "$LSP" clusters --features "$TM/features.npy" --labels "$TM/labels.npy" --model "$TM" --templates "$TM/4.weight.npy" --bias "$TM/4.bias.npy"
expect_err "exclude" "--model with --templates"
expect_exit 1 "--model that does not fit the features" "$LSP" clusters --features "$TM/x.npy" --labels "$TM/labels.npy" --model "$TM"
expect_err "features" "--model that does not fit"

finish
