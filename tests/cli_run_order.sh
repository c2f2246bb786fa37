#!/usr/bin/env bash
# End-to-end: `lsprobe run` depends on the set of seeds and smoothing ε, not
# on the order they are listed in. --seeds 2,1 --smoothing 0.1,0 and --seeds
# 1,2 --smoothing 0,0.1 (with --distill, so the erasure probe, the students
# and the distillation finding are in) write the same results.json but for
# the run's own record (start, command, timings) and byte-identical CSVs;
# config records the lists ascending. The projection's classes are the three
# the reference model (ε = 0, the smallest seed) confuses most on the
# validation split: `clusters` on that model's validation dump picks them.
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
Q=(run --quick --quiet --data synthetic --distill --threads 2)
expect_exit 0 "run --seeds 2,1 --smoothing 0.1,0" "$LSP" "${Q[@]}" --seeds 2,1 --smoothing 0.1,0 --out "$SCR/a"
expect_exit 0 "run --seeds 1,2 --smoothing 0,0.1" "$LSP" "${Q[@]}" --seeds 1,2 --smoothing 0,0.1 --out "$SCR/b"
$PY - "$SCR/a" "$SCR/b" <<'PY' && ok "results.json and the CSVs do not depend on the order of --seeds and --smoothing" || bad "the order of --seeds / --smoothing changes the results"
import glob, json, os, sys
a, b = sys.argv[1:3]
from results_clean import clean
ra, rb = (clean(json.load(open(d + "/results.json")), d) for d in (a, b))
assert ra["config"]["seeds"] == [1, 2] and ra["config"]["smoothing"] == [0, 0.1], ra["config"]
assert ra["models"] and ra["information_erasure"] and ra["distillation"]
def diff(x, y, path=""):
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(set(x) | set(y)):
            if k not in x or k not in y:
                return path + "." + k
            d = diff(x[k], y[k], path + "." + k)
            if d:
                return d
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (p, q) in enumerate(zip(x, y)):
            d = diff(p, q, "%s[%d]" % (path, i))
            if d:
                return d
    elif x != y and x == x:
        return "%s: %r vs %r" % (path, x, y)
    return None
d = diff(ra, rb)
assert d is None, "results.json differs at " + d
csvs = sorted(os.path.basename(f) for f in glob.glob(a + "/*.csv"))
assert "models.csv" in csvs and "cells.csv" in csvs and "students.csv" in csvs, csvs
assert csvs == sorted(os.path.basename(f) for f in glob.glob(b + "/*.csv"))
for f in csvs:
    assert open(a + "/" + f, "rb").read() == open(b + "/" + f, "rb").read(), f + " differs"
PY
# the projection's classes: those `clusters` picks from the reference
# model's validation features (eval --split val --dump)
ref=$($PY -c "import json,sys; print([m['model_file'] for m in json.load(open(sys.argv[1]))['models'] if m['eps'] == 0 and m['seed'] == 1][0])" "$SCR/a/results.json")
expect_exit 0 "eval --split val --dump (reference model)" "$LSP" eval --model "$SCR/a/$ref" --data synthetic --split val --dump "$SCR/val"
expect_exit 0 "clusters on the validation dump" "$LSP" clusters --features "$SCR/val/features.npy" --labels "$SCR/val/labels.npy" --model "$SCR/a/$ref"
want=$(sed -n 's/^ *projection classes *\([0-9,]*\) .*/\1/p' "$SCR/out")
got=$($PY -c "import json,sys; r=json.load(open(sys.argv[1])); print(','.join(str(c) for c in r['models'][0]['projection']['classes']))" "$SCR/a/results.json")
[ -n "$want" ] && [ "$want" = "$got" ] && ok "projection classes $got: the reference model's most confused on validation" ||
  bad "projection classes $got, the reference model's most confused on validation: $want"
grep -q "the pair the ε = 0 model of the smallest seed, 1, confuses most on the validation split" "$SCR/a/report.md" &&
  ok "report: the erasure pair's model named" || bad "report: the erasure pair's model: $(grep -o 'the pair the [^(]*confuses' "$SCR/a/report.md")"
finish
