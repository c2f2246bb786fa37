#!/usr/bin/env bash
# End-to-end: `lsprobe loss` on the PyTorch case and its error paths.
. "$(dirname "$0")/e2e_common.sh"
C="$DATA/lsce_n1024_k10_eps0.1"

expect_exit 0 "loss on the PyTorch case" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing 0.1 --grad-out "$SCR/g.npy"
grep -q '^loss 2\.73414' "$SCR/out" && ok "prints 2.73414" || bad "prints $(cat "$SCR/out")"
"$TOOLS/npycmp" "$SCR/g.npy" "$C/grad.npy" 1e-7 && ok "gradient equals PyTorch's to 1e-7" || bad "gradient differs from PyTorch's"

expect_exit 0 "--json" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing=0.1 --json
grep -q '"loss": 2\.73414' "$SCR/out" && grep -q '"convention": "uniform"' "$SCR/out" && ok "JSON has loss and settings" || bad "JSON: $(cat "$SCR/out")"
# numbers in the shortest form that reads back (Python's repr): 0.1, not 0.10000000000000001
/usr/bin/python3 -c 'import re, sys; t = open(sys.argv[1]).read(); sys.exit(not all(repr(float(x)) == x for x in re.findall(r": (-?[0-9][-+.0-9e]*)[,}\n]", t) if "." in x or "e" in x))' "$SCR/out" &&
  grep -q '"smoothing": 0.1,' "$SCR/out" && ok "JSON numbers in their shortest form" || bad "JSON numbers: $(cat "$SCR/out")"

expect_exit 0 "--help" "$LSP" loss --help
grep -q -- '--smoothing' "$SCR/out" && ok "help lists options" || bad "help"

# logits far larger than log K: equal logits of 1e20 (loss log 4 for any
# smoothing), and 1e20 times Gaussian noise against a double-precision
# log-sum-exp of the float32 values
/usr/bin/python3 - "$SCR" <<'PYEOF'
import sys
from npy_write import npy, huge_noise_logits
ref = huge_noise_logits(sys.argv[1] + "/zb.npy", sys.argv[1] + "/yb.npy")
npy(sys.argv[1] + "/ze.npy", "<f4", "(50, 4)", "f", [1e20] * 200)
open(sys.argv[1] + "/zb.ref", "w").write(repr(ref))
PYEOF
for eps in 0 0.1; do
  expect_exit 0 "equal logits of 1e20, eps $eps" "$LSP" loss --logits "$SCR/ze.npy" --labels "$SCR/yb.npy" --smoothing $eps --json
  /usr/bin/python3 -c 'import json, math, sys; sys.exit(abs(json.load(open(sys.argv[1]))["loss"] - math.log(4)) > 1e-7)' "$SCR/out" &&
    ok "equal logits of 1e20, eps $eps: loss log 4" || bad "equal logits, eps $eps: $(cat "$SCR/out")"
done
expect_exit 0 "logits of 1e20 x noise" "$LSP" loss --logits "$SCR/zb.npy" --labels "$SCR/yb.npy" --json
/usr/bin/python3 -c 'import json, sys; l = json.load(open(sys.argv[1]))["loss"]; r = float(open(sys.argv[2]).read()); sys.exit(not abs(l - r) <= 1e-12 * r)' "$SCR/out" "$SCR/zb.ref" &&
  ok "logits of 1e20 x noise: the double-precision loss" || bad "1e20 x noise: $(cat "$SCR/out") vs $(cat "$SCR/zb.ref")"

# float64 logits are rounded to float32: a warning when the rounding moves
# the differences within a row by more than 1e-5 (row 1 of w64: 1e8 + {0, 1,
# 2} round to one float32, so its differences move by 2), none for logits
# whose rounding stays below it; the loss itself is the float32 one
/usr/bin/python3 - "$SCR" <<'PYEOF'
import sys
from npy_write import npy
npy(sys.argv[1] + "/w64.npy", "<f8", "(2, 3)", "d", [3, 0, 0, 1e8, 1e8 + 1, 1e8 + 2])
npy(sys.argv[1] + "/w64ok.npy", "<f8", "(2, 3)", "d", [10.5, 1, 2, 3, 0, -20])
npy(sys.argv[1] + "/w64y.npy", "<i8", "(2,)", "q", [0, 1])
PYEOF
expect_exit 0 "float64 logits near 1e8" "$LSP" loss --logits "$SCR/w64.npy" --labels "$SCR/w64y.npy" --smoothing 0.1
expect_err "row 1's values by up to 2," "float64 logits near 1e8"
expect_exit 0 "float64 logits of moderate size" "$LSP" loss --logits "$SCR/w64ok.npy" --labels "$SCR/w64y.npy" --smoothing 0.1
grep -q "rounded to float32" "$SCR/err" && bad "moderate float64 logits warned: $(cat "$SCR/err")" || ok "moderate float64 logits: no rounding warning"

# bad usage: exit 2, nothing written
expect_exit 2 "eps above 1" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing 1.5 --grad-out "$SCR/no.npy"
expect_err "--smoothing" "eps above 1"
expect_exit 2 "eps not a number" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing abc
expect_err "not a number" "eps not a number"
# blanks around a number (a value pasted from a table or a script) are the
# number, whichever blank it is; anything else after it is not
for sp in ' 0.1 ' $'\t0.1\t' $'0.1\n'; do
  expect_exit 0 "eps with blanks around it" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing "$sp" --json
done
expect_exit 2 "eps followed by text" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing "0.1 x"
expect_err "not a number" "eps followed by text"
expect_exit 2 "unknown convention" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --convention foo
expect_err "--convention" "unknown convention"
expect_exit 2 "missing --labels" "$LSP" loss --logits "$C/logits.npy"
expect_err "--labels is required" "missing --labels"
expect_exit 2 "unknown option" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --frobnicate
expect_exit 2 "unknown command" "$LSP" frobnicate
# bad data: exit 1, message names the file
expect_exit 1 "missing file" "$LSP" loss --logits "$SCR/none.npy" --labels "$C/labels.npy" --grad-out "$SCR/no.npy"
expect_err "none.npy" "missing file"
head -c 100 "$C/logits.npy" >"$SCR/trunc.npy"
expect_exit 1 "truncated logits" "$LSP" loss --logits "$SCR/trunc.npy" --labels "$C/labels.npy" --grad-out "$SCR/no.npy"
expect_err "trunc.npy: truncated" "truncated logits"
expect_exit 1 "row mismatch" "$LSP" loss --logits "$C/logits.npy" --labels "$DATA/torch_mlp_tiny/labels.npy"
expect_err "rows" "row mismatch"
expect_exit 1 "directory as logits" "$LSP" loss --logits "$DATA" --labels "$C/labels.npy"
expect_err "is a directory" "directory as logits"
[ ! -e "$SCR/no.npy" ] && ok "no output written on failure" || bad "output written on failure"
ls "$SCR" | grep -q '\.tmp\.' && bad "temporary file left behind" || ok "no temporary left behind"

# soft targets and distillation against PyTorch (tests/data/distill, gen_distill.py)
S="$DATA/distill/soft_k10"
expect_exit 0 "soft targets" "$LSP" loss --logits "$S/logits.npy" --soft-targets "$S/targets.npy" --grad-out "$SCR/gs.npy"
grep -q '^loss 5\.16001' "$SCR/out" && ok "soft-target loss 5.16001 (PyTorch 5.1600106)" || bad "soft: $(cat "$SCR/out")"
"$TOOLS/npycmp" "$SCR/gs.npy" "$S/grad.npy" 1e-9 1e-6 && ok "soft gradient equals PyTorch's" || bad "soft gradient differs"
expect_exit 0 "soft targets --json" "$LSP" loss --logits "$S/logits.npy" --soft-targets "$S/targets.npy" --json
grep -q '"loss": 5\.16001061' "$SCR/out" && grep -q '"mode": "soft_targets"' "$SCR/out" && ok "soft JSON" || bad "soft JSON: $(cat "$SCR/out")"
# file names in the JSON are JSON strings: a quote, a backslash or a tab in
# a path is escaped, and Python's json module reads the names back as given
QP="$SCR/q\"uo\\te"$'\t'"d"
mkdir -p "$QP" && cp "$S/targets.npy" "$QP/t.npy"
expect_exit 0 "soft targets --json, a path with a quote" "$LSP" loss --logits "$S/logits.npy" --soft-targets "$QP/t.npy" \
  --grad-out "$QP/g.npy" --json
/usr/bin/python3 - "$SCR/out" "$QP" <<'PYEOF' && ok "loss --json: paths with quotes are valid JSON strings" || bad "loss --json path: $(cat "$SCR/out")"
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not (d["soft_targets"] == sys.argv[2] + "/t.npy" and d["grad_out"] == sys.argv[2] + "/g.npy"))
PYEOF
D="$DATA/distill/distill_t4_a0.3_ls0.1"
expect_exit 0 "distillation" "$LSP" loss --logits "$D/student.npy" --teacher-logits "$D/teacher.npy" --labels "$D/labels.npy" --temperature 4 --alpha 0.3 --smoothing 0.1 --grad-out "$SCR/gd.npy"
grep -q '^loss 5\.69299' "$SCR/out" && ok "distillation loss 5.69299 (PyTorch 5.6929923)" || bad "distill: $(cat "$SCR/out")"
"$TOOLS/npycmp" "$SCR/gd.npy" "$D/grad.npy" 1e-9 1e-6 && ok "distillation gradient equals PyTorch's" || bad "distillation gradient differs"
expect_exit 0 "distillation --json" "$LSP" loss --logits "$D/student.npy" --teacher-logits "$D/teacher.npy" --labels "$D/labels.npy" --temperature 4 --alpha 0.3 --smoothing 0.1 --json
grep -q '"loss": 5\.6929923' "$SCR/out" && grep -q '"temperature": 4,' "$SCR/out" && grep -q '"kl": ' "$SCR/out" && ok "distillation JSON" || bad "distill JSON: $(cat "$SCR/out")"
D8="$DATA/distill/distill_t8_a1"
expect_exit 0 "distillation T=8 alpha=1" "$LSP" loss --logits "$D8/student.npy" --teacher-logits "$D8/teacher.npy" --labels "$D8/labels.npy" --temperature 8 --alpha 1 --json
grep -q '"loss": 13\.9752613' "$SCR/out" && ok "T=8 loss 13.9752613" || bad "T=8: $(cat "$SCR/out")"
# teacher = student: zero loss at alpha 1
expect_exit 0 "teacher = student" "$LSP" loss --logits "$D/student.npy" --teacher-logits "$D/student.npy" --labels "$D/labels.npy" --temperature 2 --alpha 1 --json
grep -q '"loss": 0,' "$SCR/out" && ok "teacher = student: loss 0" || bad "teacher = student: $(cat "$SCR/out")"

# bad usage and data of the new modes: exit 2 / 1, nothing written
expect_exit 2 "T = 0" "$LSP" loss --logits "$D/student.npy" --teacher-logits "$D/teacher.npy" --labels "$D/labels.npy" --temperature 0 --alpha 0.5 --grad-out "$SCR/no.npy"
expect_err "--temperature: 0 must be positive" "T = 0"
expect_exit 2 "T < 0" "$LSP" loss --logits "$D/student.npy" --teacher-logits "$D/teacher.npy" --labels "$D/labels.npy" --temperature -2 --alpha 0.5
expect_err "--temperature" "T < 0"
# 1/T overflows below about 5.6e-309: refused, no gradient written; a tiny
# T whose reciprocal is finite is taken
expect_exit 2 "T = 1e-310" "$LSP" loss --logits "$D/student.npy" --teacher-logits "$D/teacher.npy" --labels "$D/labels.npy" --temperature 1e-310 --alpha 0.5 --grad-out "$SCR/tiny.npy"
expect_err "--temperature: 1e-310 is too small: 1/T is not finite" "T = 1e-310"
[ ! -e "$SCR/tiny.npy" ] && ok "T = 1e-310: no gradient written" || bad "T = 1e-310 wrote a gradient"
expect_exit 0 "T = 1e-300" "$LSP" loss --logits "$D/student.npy" --teacher-logits "$D/teacher.npy" --labels "$D/labels.npy" --temperature 1e-300 --alpha 0.5 --json
grep -q '"loss": [0-9]' "$SCR/out" && ok "T = 1e-300: a finite loss" || bad "T = 1e-300: $(cat "$SCR/out")"
# its KL, about 3.8e300, is printed in six significant digits, not 301
expect_exit 0 "T = 1e-300, text" "$LSP" loss --logits "$D/student.npy" --teacher-logits "$D/teacher.npy" --labels "$D/labels.npy" --temperature 1e-300 --alpha 0.5
grep -q '^loss 2\.112458 .* T^2 x KL 3\.77323e+300; ' "$SCR/out" && [ "$(wc -c <"$SCR/out")" -lt 200 ] &&
  ok "T = 1e-300: the KL in short form" || bad "T = 1e-300 text: $(head -c 300 "$SCR/out")"
expect_exit 2 "alpha above 1" "$LSP" loss --logits "$D/student.npy" --teacher-logits "$D/teacher.npy" --labels "$D/labels.npy" --temperature 2 --alpha 1.5 --grad-out "$SCR/no.npy"
expect_err "--alpha" "alpha above 1"
expect_exit 2 "missing --alpha" "$LSP" loss --logits "$D/student.npy" --teacher-logits "$D/teacher.npy" --labels "$D/labels.npy" --temperature 2
expect_err "--alpha is required" "missing --alpha"
expect_exit 2 "--temperature without a teacher" "$LSP" loss --logits "$D/student.npy" --labels "$D/labels.npy" --temperature 2
expect_err "--temperature needs --teacher-logits" "--temperature without a teacher"
expect_exit 2 "both soft modes" "$LSP" loss --logits "$S/logits.npy" --soft-targets "$S/targets.npy" --teacher-logits "$S/logits.npy"
expect_err "exclude each other" "both soft modes"
expect_exit 2 "--smoothing with soft targets" "$LSP" loss --logits "$S/logits.npy" --soft-targets "$S/targets.npy" --smoothing 0.1
expect_err "--smoothing does not apply to --soft-targets" "--smoothing with soft targets"
expect_exit 1 "soft targets of another shape" "$LSP" loss --logits "$D/student.npy" --soft-targets "$S/targets.npy" --grad-out "$SCR/no.npy"
expect_err "targets.npy is 300×10 but" "soft targets of another shape"
expect_exit 1 "logits as soft targets" "$LSP" loss --logits "$S/logits.npy" --soft-targets "$S/logits.npy" --grad-out "$SCR/no.npy"
expect_err "negative probability (-1.53092) at row 0, column 3; soft targets are probabilities" "logits as soft targets"
expect_exit 1 "teacher of another class count" "$LSP" loss --logits "$D/student.npy" --teacher-logits "$DATA/distill/distill_k37_t3_a0.6/teacher.npy" --labels "$D/labels.npy" --temperature 2 --alpha 0.5 --grad-out "$SCR/no.npy"
expect_err "is 65×37 but" "teacher of another class count"
[ ! -e "$SCR/no.npy" ] && ok "no output written on failure (soft modes)" || bad "output written on failure"

finish
