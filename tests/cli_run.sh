#!/usr/bin/env bash
# End-to-end: `lsprobe run --quick` writes every output, the outputs agree
# with each other, a rerun reuses the cached models, and failed or
# interrupted runs leave the earlier report untouched.
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
OUT="$SCR/report"
# Fashion-MNIST when installed (CI installs it), else the run falls back to
# synthetic data by itself; either way the outputs must be complete.

expect_exit 0 "run --quick --distill" "$LSP" run --quick --distill --out "$OUT" --threads 2
# run --help: every setting --quick states is the one the quick run used
"$PY" - "$OUT/results.json" "$("$LSP" run --help | sed -n '/^  --quick/,/^  --[a-z]/p' | sed '$d' | tr -s ' \n' ' ')" <<'PY' &&
import json, re, sys
r, text = json.load(open(sys.argv[1])), sys.argv[2]
c, m0 = r["config"], r["models"][0]
def nums(v):
    return [float(x) for x in v.split(",")]
used = {"seeds": lambda v: c["seeds"] == nums(v), "smoothing": lambda v: c["smoothing"] == nums(v),
        "arch": lambda v: c["arch"] == v, "epochs": lambda v: c["epochs"] == int(v),
        "attack-eps": lambda v: c["attack_eps"] == nums(v), "attack-limit": lambda v: c["n_attack"] == int(v),
        "pgd-steps": lambda v: c["pgd_steps"] == int(v), "aa-limit": lambda v: c["n_autoattack"] == int(v),
        "bootstrap": lambda v: c["bootstrap"] == int(v),
        "mi-examples": lambda v: r["information_erasure"]["examples_per_class"] == int(v),
        "mi-copies": lambda v: r["information_erasure"]["copies"] == int(v),
        "student-arch": lambda v: r["distillation"]["student_arch"] == "%d-%s-%d" % (c["dim"], v.split(":")[1], c["classes"])}
stated = dict(re.findall(r"--([a-z-]+) ([^ ,][^ ]*?)(?=,? )", text))
bad = [k for k in used if k not in stated or not used[k](stated[k])]
m = re.search(r"(\d+) training and (\d+) test examples, AutoAttack with (\d+) APGD iterations and (\d+) Square queries", text)
aa = m0["attacks"]["autoattack"]
if not m or [c["n_train"], c["n_test"], aa["steps"], aa["queries"]] != [int(g) for g in m.groups()]:
    bad.append("sizes")
if bad:
    print("  --quick help and the quick run differ in", bad, "; help:", text)
sys.exit(bool(bad))
PY
  ok "run --help: --quick's settings are the quick run's" || bad "--quick help"
grep -q "report: $OUT/report.html" "$SCR/out" && ok "prints where the report is" || bad "report path: $(cat "$SCR/out")"
for f in report.html report.md results.json models.csv calibration_bins.csv calibration_smooth.csv \
         attacks.csv comparisons.csv training.csv cells.csv students.csv; do
  [ -s "$OUT/$f" ] && ok "$f written" || bad "$f missing or empty"
done
ls "$OUT"/models/*.lspm >/dev/null 2>&1 && ok "models cached" || bad "no cached models"
for f in models calibration_bins calibration_smooth attacks comparisons training cells students; do
  design_csv $f.csv "$OUT/$f.csv" && ok "$f.csv: DESIGN §4's columns" || bad "$f.csv columns"
done
c=$(ls "$OUT"/models/*.lspm.curves.csv 2>/dev/null | head -1)
design_csv curves.csv "${c:-none}" && ok "models/*.curves.csv: DESIGN §4's columns" || bad "curves.csv columns"
for m in eps0_seed1 eps0.1_seed1; do
  for a in logits features labels; do
    [ -s "$OUT/dumps/$m/$a.npy" ] && ok "dump $m/$a.npy" || bad "dump $m/$a.npy missing"
  done
done

# results.json: valid, with the DESIGN §4 fields, and the CSVs carry the same numbers
$PY - "$OUT" <<'PY' && ok "results.json has the DESIGN fields; CSV numbers equal the JSON's" || bad "results.json / CSV check"
import csv, json, math, os, sys
out = sys.argv[1]
r = json.load(open(out + "/results.json"))
need_cal = ("accuracy nll brier ece mce rmsce ace classwise_ece over_confidence under_confidence "
            "ece_debiased ece_l2_debiased ece_sweep smece smece_sigma ece_sweep_bins smooth_curve "
            "temperature bins").split()
assert len(r["models"]) == 2, "two models"
for m in r["models"]:
    c = m["calibration"]
    for k in need_cal:
        assert k in c, "calibration lacks " + k
    for b in c["bins"]:
        assert set(["count", "confidence", "accuracy"]) <= set(b)
    assert "ece_ci" in c and len(c["ece_ci"]) == 2
    # the calibration errors' intervals by test inversion, the percentile ones beside them
    assert c["ci_method"] == "inversion" and len(c["ece_ci_percentile"]) == 2
    assert c["ece_ci"][0] <= c["ece_ci"][1] and c["smece_ci"][0] <= c["smece_ci"][1]
    sm = c["smooth_curve"]
    assert len(sm["t"]) == len(sm["accuracy"]) == len(sm["lo"]) == 101 and sm["sigma"] == c["smece_sigma"]
    for k in ("r2_separation", "trace_ratio", "nc1"):
        assert k in m["clusters"], "clusters lack " + k
    for a in ("fgsm", "pgd"):
        at = m["attacks"][a]
        assert at["attack"] == a and at["points"], a
        for p in at["points"]:
            assert "eps" in p and "accuracy" in p
    assert 0 <= c["accuracy"] <= 1
assert "transfer" in r["models"][1]["attacks"], "transfer for the smoothed model"
# AutoAttack: the strong attack on the first n_autoattack examples, per model,
# with its stages; paired differences; the robustness finding judged with it
naa = r["config"]["n_autoattack"]
assert 0 < naa <= r["config"]["n_attack"], naa
for m in r["models"]:
    aa = m["attacks"]["autoattack"]
    assert aa["attack"] == "autoattack" and aa["n"] == naa, aa["n"]
    for p, q in zip(aa["points"], m["attacks"]["pgd"]["points"]):
        st = p["stages"]
        assert st["apgd-ce"] >= st["apgd-t"] >= st["square"] == p["accuracy_raw"], st
        assert p["accuracy"] <= p["accuracy_raw"]
    names = [c["name"] for c in m["gradient_masking"]["checks"]]
    assert "black_box_not_stronger" in names and "apgd_ce_not_weaker" in names, names
    # the paired counts of the checks that compare two attacks: b - c over n
    # is the accuracy gap the check judges, p the binomial tail of b of b + c
    for c in m["gradient_masking"]["checks"]:
        two = c["name"] in ("pgd_le_fgsm", "transfer_not_stronger",
                            "black_box_not_stronger", "apgd_ce_not_weaker")
        if not two or c["status"] == "skipped":
            assert c["b"] is None and c["c"] is None and c["p_value"] is None, c
            continue
        nn = naa if c["name"] in ("black_box_not_stronger", "apgd_ce_not_weaker") else r["config"]["n_attack"]
        gap = c["value"] - c["reference"]
        sign = 1 if c["name"] in ("pgd_le_fgsm", "apgd_ce_not_weaker") else -1
        assert abs(sign * nn * gap - (c["b"] - c["c"])) < 1e-6, c
        bb, cc = c["b"], c["c"]
        tail = sum(math.comb(bb + cc, k) for k in range(bb, bb + cc + 1)) / 2 ** (bb + cc)
        assert abs(c["p_value"] - tail) <= 1e-12 * max(tail, 1e-300) + 1e-300, c
        # a flag is quoted with its counts in the robustness finding
        if c["status"] == "flag":
            quoted = "seed %d %s: b = %d, c = %d" % (m["seed"], c["name"], bb, cc)
            assert quoted in next(f for f in r["findings"] if f["topic"] == "pgd")["evidence"], (quoted, c)
assert len(r["comparisons"][0]["autoattack_accuracy_diff"]) == len(r["config"]["attack_eps"])
rob = next(f for f in r["findings"] if f["topic"] == "pgd")
assert "AutoAttack" in rob["claim"], rob
assert ("Judged with AutoAttack" in rob["evidence"] and
        "the first %d attacked test examples of the models with ε_LS ∈ {0, 0.1}" % naa in rob["evidence"]), rob
assert len(r["findings"]) == 5
for f in r["findings"]:
    assert f["verdict"] in ("supported", "contradicted", "inconclusive"), f["verdict"]
    assert any(ch.isdigit() for ch in f["evidence"]), "evidence carries numbers"
for k in ("total_s", "train_s"):
    assert r["timings"][k] >= 0
# CSVs equal the JSON
def same(a, b):
    if a == "" and b is None: return True
    return float(a) == float(b)
rows = {row["model"]: row for row in csv.DictReader(open(out + "/models.csv"))}
for m in r["models"]:
    row = rows[m["tag"]]
    for k in ("accuracy", "nll", "ece", "ace", "brier", "ece_debiased", "ece_sweep", "smece"):
        assert same(row[k], m["calibration"][k]), (k, row[k], m["calibration"][k])
    assert same(row["smece_lo"], m["calibration"]["smece_ci"][0])
    assert same(row["ece_lo"], m["calibration"]["ece_ci"][0])
    assert same(row["ece_hi"], m["calibration"]["ece_ci"][1])
    for k in ("r2_separation", "trace_ratio", "nc1"):
        assert same(row[k], m["clusters"][k]), k
    assert same(row["temperature"], m["calibration_temperature_scaled"]["temperature"])
    # each model names its file, the one results.json names, relative to the
    # report folder, and it exists
    assert row["model_file"] == m["model_file"] and row["model_file"].startswith("models/") \
        and os.path.isfile(os.path.join(out, row["model_file"])), row["model_file"]
# every CSV header is machine names (as pandas/R users index them)
import re
for name in ("models", "calibration_bins", "calibration_smooth", "attacks", "comparisons", "training", "cells"):
    with open(out + "/" + name + ".csv") as f:
        hdr = next(csv.reader(f))
    bad = [h for h in hdr if not re.fullmatch(r"[a-z][a-z0-9_]*", h)]
    assert not bad, (name, bad)
n = 0
for row in csv.DictReader(open(out + "/attacks.csv")):
    m = next(x for x in r["models"] if x["tag"] == row["model"])
    a = {"fgsm": "fgsm", "pgd": "pgd", "transfer_pgd": "transfer",
         "autoattack": "autoattack"}[row["attack"]]
    p = next(p for p in m["attacks"][a]["points"] if same(row["eps"], p["eps"]))
    assert same(row["accuracy"], p["accuracy"])
    n += 1
assert n > 0
# every cell's summaries with the intervals the summary table quotes
# (percentile; the calibration errors' test inversion): study.cells[].lo/hi
# and cells.csv, the same numbers
names = r["study"]["summaries"]
cells = {(c["eps"], c["seed"]): c for c in r["study"]["cells"]}
n = 0
for row in csv.DictReader(open(out + "/cells.csv")):
    c = cells[(float(row["eps"]), int(row["seed"]))]
    i = names.index(row["summary"])
    assert same(row["value"], c["values"][i]), row
    assert same(row["value_lo"], c["lo"][i]) and same(row["value_hi"], c["hi"][i]), row
    n += 1
assert n == len(names) * len(cells), n
md = open(out + "/report.md").read()
i = names.index("auc_fgsm")
for c in cells.values():
    s = "%.4f [%.4f, %.4f]" % (c["values"][i], c["lo"][i], c["hi"][i])
    assert s in md, ("FGSM AUC interval not in report.md", s)
for row in csv.DictReader(open(out + "/calibration_bins.csv")):
    m = next(x for x in r["models"] if x["tag"] == row["model"])
    b = m["calibration"]["bins"][int(row["bin"]) - 1]
    assert int(row["count"]) == b["count"]
    assert same(row["accuracy"], b["accuracy"])
n = 0
for row in csv.DictReader(open(out + "/calibration_smooth.csv")):
    m = next(x for x in r["models"] if x["tag"] == row["model"])
    c = m["calibration" if row["stage"] == "as_trained" else "calibration_temperature_scaled"]
    q = round(float(row["t"]) * 100)
    assert same(row["accuracy"], c["smooth_curve"]["accuracy"][q]) and same(row["hi"], c["smooth_curve"]["hi"][q])
    n += 1
assert n >= 2 * 101
PY

# the HTML: self-contained, figures inline
H="$OUT/report.html"
n_svg=$(grep -o '<svg' "$H" | wc -l)
[ "$n_svg" -ge 7 ] && ok "HTML inlines $n_svg SVG figures" || bad "HTML has $n_svg inline SVGs"
if grep -Eq 'https?://|<link|<script|src="[^d]|@import' "$H"; then bad "HTML has external references"; else ok "HTML has no external references"; fi
for p in reliability reliability_smooth metrics_vs_smoothing attacks projection logit_gap training; do
  [ -s "$OUT/plots/$p.svg" ] && grep -q '</svg>' "$OUT/plots/$p.svg" && ok "plot $p.svg" || bad "plot $p.svg"
done

# information erasure and distillation: every model has its estimate, the
# section has students (2 baselines + 2 teachers x 4 T), the verdict, and
# students.csv carries the JSON's numbers
$PY - "$OUT" <<'PY' && ok "results.json: information_erasure, mutual_information, distillation; students.csv = JSON" || bad "distillation outputs"
import csv, json, math, sys
out = sys.argv[1]
r = json.load(open(out + "/results.json"))
e = r["information_erasure"]
assert len(e["classes"]) == 2 and e["classes"][0] != e["classes"][1]
assert abs(e["bound"] - math.log(2 * e["examples_per_class"])) < 1e-12
for m in r["models"]:
    assert m["mutual_information"] > 0, m["tag"]
d = r["distillation"]
assert d["temperatures"] == [1, 2, 4, 8]
assert len(d["students"]) == 10 and len(d["teachers"]) == 2
assert sum(s["kind"] == "distilled" for s in d["students"]) == 8
assert d["finding"]["verdict"] in ("supported", "contradicted", "inconclusive")
assert d["finding"]["judged_eps"] == r["study"]["judged_eps"], (d["finding"], r["study"]["judged_eps"])
for t in d["teachers"]:
    va = t["val_accuracy"]
    assert t["temperature"] == d["temperatures"][va.index(max(va))], "best T = first best on validation"
assert "student_diff" in d["teachers"][1] and "student_diff" not in d["teachers"][0]
rows = {row["model_file"]: row for row in csv.DictReader(open(out + "/students.csv"))}
for s in d["students"]:
    row = rows[s["model_file"]]
    assert float(row["test_accuracy"]) == s["test_accuracy"]
    assert float(row["test_accuracy_lo"]) == s["accuracy_ci"][0]
PY
for p in information_erasure distillation; do
  [ -s "$OUT/plots/$p.svg" ] && grep -q '</svg>' "$OUT/plots/$p.svg" && ok "plot $p.svg" || bad "plot $p.svg"
done
grep -q '<h2[^>]*>Information erasure and distillation</h2>' "$OUT/report.html" && ok "report has the distillation section" || bad "no distillation section"

# a rerun reuses the cached models, on another thread count too (training
# gives the same model for any thread count, so it is not part of the key);
# results.json reports the rerun's own threads and the CPU path
expect_exit 0 "rerun" "$LSP" run --quick --out "$OUT/" --threads 1
grep -qx "report: $OUT/report.html" "$SCR/out" && ok "--out with a trailing slash: the report path has one" || bad "report path: $(grep report: "$SCR/out")"
[ "$(grep -c 'reusing the cached model' "$SCR/err")" -eq 2 ] && ok "rerun on 1 thread reuses both models trained on 2" || bad "rerun retrained: $(head -3 "$SCR/err")"
$PY -c "import json,sys; r=json.load(open('$OUT/results.json')); sys.exit(0 if all(m['cached'] for m in r['models']) and r['threads'] == 1 and r['cpu']['path'] and r['cpu']['kernels'] in ('x86-64-v4', 'x86-64-v3', 'x86-64', 'portable') and r['cpu']['blas_core'] else 1)" && ok "results.json says cached, threads 1, cpu path" || bad "cached flag / threads / cpu: $(grep -A3 '"cpu"' "$OUT/results.json")"

# the training log's val_nll is the plain NLL of the validation split after
# each epoch: the last one is what eval reports for the model on that split
for m in "$OUT"/models/*.lspm; do
  "$LSP" eval --model "$m" --data fashion-mnist --split val --json >"$SCR/ev_$(basename "$m").json" 2>/dev/null
done
$PY - "$OUT" "$SCR" <<'PY' && ok "training.val_nll: the last epoch's is eval's validation NLL; training.csv has it" || bad "val_nll in the run's outputs"
import csv, json, os, sys
out, scr = sys.argv[1:]
r = json.load(open(out + "/results.json"))
rows = list(csv.DictReader(open(out + "/training.csv")))
for m in r["models"]:
    t = m["training"]
    nll = json.load(open(os.path.join(scr, "ev_" + os.path.basename(m["model_file"]) + ".json")))["nll"]
    assert len(t["val_nll"]) == t["epochs"] and abs(t["val_nll"][-1] - nll) <= 1e-6 * nll, (t["val_nll"], nll)
    if m["eps"] == 0:
        assert t["val_nll"] == t["val_loss"], m["tag"]
    mine = [float(x["val_nll"]) for x in rows if x["model"] == m["tag"]]
    assert mine == t["val_nll"], (mine, t["val_nll"])
PY
# curves cached before val_nll was kept (seven columns) still make a
# finished entry: the models are reused, their val_nll is null
for c in "$OUT"/models/*.lspm.curves.csv; do
  cut -d, -f1-7 "$c" >"$SCR/c7.csv" && mv "$SCR/c7.csv" "$c"
done
expect_exit 0 "rerun over seven-column curves" "$LSP" run --quick --out "$OUT" --threads 1
[ "$(grep -c 'reusing the cached model' "$SCR/err")" -eq 2 ] &&
  $PY -c "import json,sys; r=json.load(open('$OUT/results.json')); sys.exit(0 if all(m['training']['val_nll'] == [None] * m['training']['epochs'] for m in r['models']) else 1)" &&
  ok "seven-column curves reused, val_nll null" || bad "seven-column curves: $(grep -m2 'cached model' "$SCR/err")"

# a cached model whose training curves are missing or cut short (a run
# killed between writing the two files) is not a finished entry: the rerun
# trains it again, says why, and results.json has its whole curves
cp "$OUT/results.json" "$SCR/results_cached.json"
set -- "$OUT"/models/*.lspm.curves.csv
rm "$1"
head -2 "$2" >"$SCR/cut.csv" && mv "$SCR/cut.csv" "$2"
expect_exit 0 "rerun without whole curves" "$LSP" run --quick --out "$OUT" --threads 1
[ "$(grep -c 'without its training curves' "$SCR/err")" -eq 2 ] && [ "$(grep -c 'reusing the cached model' "$SCR/err")" -eq 0 ] &&
  [ "$(wc -l <"$1")" -eq "$(wc -l <"$2")" ] && [ "$(wc -l <"$2")" -gt 2 ] &&
  ok "models without whole curves are trained again" || bad "curves: $(grep -m2 'cached model' "$SCR/err")"
$PY - "$SCR/results_cached.json" "$OUT/results.json" <<'PY' && ok "results.json: the retrained models' curves equal the cached run's" || bad "curves differ after retraining"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
keys = ("epochs", "train_loss", "train_accuracy", "val_loss", "val_accuracy")
sys.exit(0 if all(ma["training"][k] == mb["training"][k] and mb["training"]["epochs"] > 0
                  for ma, mb in zip(a["models"], b["models"]) for k in keys) else 1)
PY

# a cache entry overwritten by a model of other settings (here smoothing
# and epochs) is retrained, and the warning names every differing setting
# in plain decimals; an --attack-eps above the inputs' range [0, 1] is
# named with its ε/255, and the run goes on
SY=(--quick --threads 2 --bootstrap 40 --aa-limit 0 --data synthetic:train=600,test=200,dim=16,classes=4)
expect_exit 0 "small run" "$LSP" run "${SY[@]}" --out "$SCR/cache"
m0=$($PY -c "import json,sys; r=json.load(open(sys.argv[1])); print([m['model_file'] for m in r['models'] if m['eps'] == 0][0])" "$SCR/cache/results.json")
expect_exit 0 "train over a cache entry" "$LSP" train --data synthetic:train=600,test=200,dim=16,classes=4 --arch mlp:64 \
  --smoothing 0.1 --epochs 5 --quiet --out "$SCR/cache/$m0"
expect_exit 0 "rerun over the changed entry, --attack-eps 0,0.1,8" "$LSP" run "${SY[@]}" --attack-eps 0,0.1,8 --out "$SCR/cache"
grep -qx "lsprobe: run: WARNING: ε = 0 (uniform): cached model $SCR/cache/$m0 is recorded with other settings (cached vs this run): smoothing (0.1 vs 0), epochs (5 vs 2); retraining" "$SCR/err" &&
  ok "the cache warning names smoothing and epochs, in plain decimals" || bad "cache warning: $(grep -i cached "$SCR/err")"
grep -qx "lsprobe: run: WARNING: --attack-eps 8: reaches or exceeds the width 1 of the input range \[0, 1\], .*give ε/255 (8/255 = 0.0313725)" "$SCR/err" &&
  [ "$(grep -c 'WARNING: --attack-eps' "$SCR/err")" -eq 1 ] && ok "run warns once for --attack-eps 8 on [0, 1]" ||
  bad "--attack-eps warning: $(grep WARNING "$SCR/err")"

# t2t past (K-1)/K in the grid: said once for that value, not refused
expect_exit 0 "run t2t 0,0.9,0.95" "$LSP" run --quick --quiet --data synthetic --convention t2t --smoothing 0,0.9,0.95 \
  --epochs 1 --bootstrap 20 --mi-examples 10 --mi-copies 2 --out "$SCR/t2t"
[ "$(grep -c 'WARNING: smoothing' "$SCR/err")" -eq 1 ] &&
  grep -q "WARNING: smoothing 0.95 with convention t2t on 10 classes puts 0.05 on the label and 0.105556 on each other class" "$SCR/err" &&
  ok "run warns for t2t 0.95 on 10 classes only" || bad "t2t warning: $(grep WARNING "$SCR/err")"
# --bootstrap 20: too few resamples for a 95% interval's tails, said on
# stderr and at the top of both reports (the verdicts rest on the intervals)
grep -q "WARNING: --bootstrap 20: a 95% interval rests on the 2.5% tails" "$SCR/err" &&
  grep -q "Warning:\*\* --bootstrap 20: .*the verdicts that rest on them are not to be trusted" "$SCR/t2t/report.md" &&
  grep -q -- "--bootstrap 20: a 95% interval rests" "$SCR/t2t/report.html" &&
  ok "run --bootstrap 20 warns, in the reports too" || bad "no --bootstrap warning: $(grep WARNING "$SCR/err")"
# the information-erasure table gives ε as given, as every other table does
grep -q "^| ε = 0.9 (t2t) | 0.9 | 1 | " "$SCR/t2t/report.md" && grep -q "^| ε = 0 (t2t) | 0 | 1 | " "$SCR/t2t/report.md" &&
  ok "Î table: ε as given" || bad "Î table ε: $(grep '(t2t) | 0' "$SCR/t2t/report.md" | tail -3)"
# cluster summaries: each model's R² and NC1 interval holds its estimate (the
# resamples are centred; uncentred, ε = 0.95's missed it)
$PY - "$SCR/t2t/cells.csv" <<'PY' && ok "R² and NC1 intervals hold their estimates" || bad "cluster interval misses its estimate"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["summary"] in ("r2_separation", "nc1")]
assert len(rows) == 6, rows
for r in rows:
    v, lo, hi = float(r["value"]), float(r["value_lo"]), float(r["value_hi"])
    assert lo <= v <= hi, r
PY

# every number of results.json is the same at 1 and 2 threads, whether the
# second thread runs another cell or a cell's own analyses (--jobs 1):
# only the run's record (start, command, threads, jobs, timings, the
# output folder) differs
for tj in 1:1 2:1 2:2; do
  expect_exit 0 "run --threads ${tj%:*} --jobs ${tj#*:}" "$LSP" run --quick --quiet --smoothing 0,0.1 --epochs 1 --bootstrap 20 \
    --mi-examples 10 --mi-copies 2 --threads "${tj%:*}" --jobs "${tj#*:}" --out "$SCR/tj_${tj%:*}${tj#*:}"
done
grep -q "trained 1 epoch with SGD" "$SCR/tj_11/report.md" && ok "report: trained 1 epoch" || bad "report: $(grep -o 'trained [0-9]* epochs*' "$SCR/tj_11/report.md")"
$PY - "$SCR" <<'PY' && ok "results.json: the same numbers at 1 and 2 threads, 1 and 2 jobs" || bad "results.json depends on the threads"
import json, sys
from results_clean import clean
runs = [clean(json.load(open(f"{sys.argv[1]}/tj_{t}/results.json")), f"{sys.argv[1]}/tj_{t}") for t in ("11", "21", "22")]
assert runs[0]["models"] and runs[0] == runs[1] == runs[2]
PY
# --jobs J: the J trainings that run at once must fit together in the free
# memory (MemAvailable + SwapFree, here given through the test hook
# LSPROBE_TEST_MEM_AVAILABLE): one training's estimate X from the refusal
# when not even one fits (exit 2, before any cell runs), then 1.5 X runs one
# cell at a time and says so, 2.5 X both; cached models train nothing
MJ=(run --quick --quiet --smoothing 0,0.1 --epochs 1 --bootstrap 20 --mi-examples 10 --mi-copies 2 --threads 2 --jobs 2)
LSPROBE_TEST_MEM_AVAILABLE=1000 expect_exit 2 "run --jobs 2, no training fits" "$LSP" "${MJ[@]}" --out "$SCR/mj0"
expect_err "ε = 0 (uniform): batch size 128 needs about " "run --jobs 2, no training fits"
ls "$SCR/mj0/models/"*.lspm >/dev/null 2>&1 && bad "run --jobs 2, no training fits: a model was trained" || ok "run --jobs 2, no training fits: nothing trained"
X=$(sed -n 's/.*needs about \([0-9]*\) bytes.*/\1/p' "$SCR/err")
for f in 15 25; do
  LSPROBE_TEST_MEM_AVAILABLE=$((X * f / 10)) expect_exit 0 "run --jobs 2 with $f/10 of a training free" "$LSP" "${MJ[@]}" --out "$SCR/mj$f"
  cp "$SCR/err" "$SCR/mj$f.err"
done
want="WARNING: running 1 cell at a time instead of 2 (--jobs): 2 cells at once would need about $((2 * X)) bytes"
grep -qF "$want" "$SCR/mj15.err" && ! grep -q "cell at a time\|cells at a time" "$SCR/mj25.err" &&
  $PY -c "import json,sys; sys.exit(0 if [json.load(open(f'$SCR/mj{f}/results.json'))['timings']['jobs'] for f in (15, 25)] == [1, 2] else 1)" &&
  ok "run --jobs 2: one cell at a time when two trainings do not fit (stderr, results.json), two when they do" ||
  bad "run --jobs 2 and the free memory: $(cat "$SCR/mj15.err" "$SCR/mj25.err" | head -5)"
LSPROBE_TEST_MEM_AVAILABLE=1000 expect_exit 0 "run --jobs 2 on cached models, no memory free" "$LSP" "${MJ[@]}" --out "$SCR/mj15"
$PY -c "import json,sys; sys.exit(0 if json.load(open('$SCR/mj15/results.json'))['timings']['jobs'] == 2 else 1)" &&
  ok "cached models train nothing: two cells at a time" || bad "cached run: $(head -3 "$SCR/err")"
# and with the machine's own numbers: two ResNet-8 trainings of all 12000
# 64x64 examples in one batch (about 70 GiB each) are refused before any
# cell runs
avail=$(free_mem)
side=$(big_image_side "$avail")
if [ "$side" -gt 0 ]; then
  mkdir -p "$SCR/bigdata"
  $PY - "$SCR/bigdata" "$side" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
side = int(sys.argv[2])
np.save(d + "/x_train.npy", np.zeros((12000, 1, side, side), np.uint8)); np.save(d + "/y_train.npy", np.arange(12000) % 10)
np.save(d + "/x_test.npy", np.zeros((10, 1, side, side), np.uint8)); np.save(d + "/y_test.npy", np.arange(10))
PY
  expect_exit 2 "run --jobs 2, ResNet-8 beyond the free memory" "$LSP" run --quiet --data "$SCR/bigdata" --arch resnet8 --seeds 1 \
    --smoothing 0,0.1 --batch 200000 --epochs 1 --jobs 2 --threads 2 --out "$SCR/mjbig"
  grep -q "^lsprobe: run: ε = 0 (uniform): batch size 200000 (all [0-9]* training examples) needs about [0-9]* bytes .* are available (MemAvailable + SwapFree): the largest batch size that fits is [0-9]*$" "$SCR/err" &&
    ok "run --jobs 2 beyond the free memory: the training's refusal" || bad "run beyond the free memory: $(cat "$SCR/err")"
else
  skipped "run beyond the free memory: MemAvailable + SwapFree unreadable or above 960 GiB"
fi
# gnuplot failing on one figure: the report is written without it, and the
# figure is named as the published folder holds it (not by the staging
# path) in the report and on stderr
fail_gnuplot "$SCR/failgp" logit_gap
LSPROBE_GNUPLOT="$SCR/failgp" expect_exit 0 "rerun with gnuplot failing on one figure" \
  "$LSP" run --quick --out "$OUT" --threads 2
grep -qF "missing from the report: plots/logit_gap.svg: gnuplot: line 1: cannot plot" "$SCR/err" \
  && ok "failed figure: named on stderr" || bad "failed figure: not named on stderr: $(tail -3 "$SCR/err")"
grep -q '\.lsp-' "$SCR/err" && bad "failed figure: stderr quotes the staging folder" \
  || ok "failed figure: no staging path on stderr"
for f in report.html:logit_gap report.md:'logit\_gap'; do
  grep -qF "plots/${f#*:}.svg: gnuplot: line 1: cannot plot" "$OUT/${f%%:*}" \
    && ok "failed figure: named in ${f%%:*}" || bad "failed figure: not named in ${f%%:*}"
done
[ -e "$OUT/plots/logit_gap.svg" ] && bad "failed figure: a stale logit_gap.svg is left" \
  || ok "failed figure: no logit_gap.svg"
[ -s "$OUT/plots/reliability.svg" ] && ok "failed figure: the other figures drawn" \
  || bad "failed figure: reliability.svg missing"

# a hit means the same model: another --lr is another key; and a cached file
# under that key that was trained with lr 0.1 (a key collision, a renamed
# file) is refused by its own record and retrained
files() { $PY -c "import json,sys; print(' '.join(sys.argv[2] + '/' + m['model_file'] for m in json.load(open(sys.argv[1]))['models']))" "$OUT/results.json" "$OUT"; }
read -r m01_a m01_b <<<"$(files)"
expect_exit 0 "run --lr 0.3" "$LSP" run --quick --out "$OUT" --threads 2 --lr 0.3
[ "$(grep -c ': training [0-9]' "$SCR/err")" -eq 2 ] && ok "--lr 0.3 trains its own models" || bad "--lr 0.3 reused: $(grep -i 'cach' "$SCR/err" | head -2)"
read -r m03_a m03_b <<<"$(files)"
[ "$m01_a" != "$m03_a" ] && [ "$m01_b" != "$m03_b" ] && ok "lr is part of the cache key" || bad "lr 0.1 and 0.3 share a cache file"
cp "$m01_a" "$m03_a" && cp "$m01_b" "$m03_b"
expect_exit 0 "run --lr 0.3 over lr 0.1 files" "$LSP" run --quick --out "$OUT" --threads 2 --lr 0.3
[ "$(grep -c 'recorded with other settings (cached vs this run): lr (0.1 vs 0.3); retraining' "$SCR/err")" -eq 2 ] && ok "lr 0.1 files under the lr 0.3 keys are retrained" || bad "lr 0.1 model reused for lr 0.3: $(grep -i 'cach' "$SCR/err" | head -2)"
expect_exit 0 "back to lr 0.1" "$LSP" run --quick --out "$OUT" --threads 2

# a distillation rerun reuses the teachers and the 10 students (on 1 thread:
# the students too are the same for any thread count)
expect_exit 0 "rerun --distill" "$LSP" run --quick --distill --out "$OUT" --threads 1
[ "$(grep -c '^ε = .*reusing the cached model' "$SCR/err")" -eq 2 ] && ok "rerun --distill reuses both teachers" || bad "teachers retrained: $(head -3 "$SCR/err")"
[ "$(grep -c '^student.*reusing the cached model' "$SCR/err")" -eq 10 ] && ok "rerun --distill reuses the 10 cached students" || bad "students retrained: $(grep -c '^student.*reusing' "$SCR/err")"

# without --distill: no section, no students; the estimate is still there
expect_exit 0 "run without --distill" "$LSP" run --quick --out "$SCR/nd" --threads 2
[ ! -e "$SCR/nd/students.csv" ] && ! grep -q '"distillation"' "$SCR/nd/results.json" && grep -q '"information_erasure"' "$SCR/nd/results.json" && ok "no --distill: no students, estimate kept" || bad "no --distill outputs"
grep -q 'lsprobe run --distill adds it' "$SCR/nd/report.md" && ok "the report says how to add the section" || bad "no hint"
expect_exit 2 "--distill-temps not increasing" "$LSP" run --quick --distill --distill-temps 4,2 --out "$SCR/nd2"
expect_err "increasing" "--distill-temps not increasing"
expect_exit 2 "--distill-alpha above 1" "$LSP" run --quick --distill --distill-alpha 1.5 --out "$SCR/nd2"
expect_err "--distill-alpha" "--distill-alpha above 1"
expect_exit 2 "--distill-temps without --distill" "$LSP" run --quick --distill-temps 1,2 --out "$SCR/nd2"
expect_err "--distill-temps needs --distill" "--distill-temps without --distill"
# momentum 1 is refused when the options are read, before any folder exists
expect_exit 2 "--momentum 1" "$LSP" run --quick --momentum 1 --out "$SCR/nd3"
expect_err "--momentum: 1 is outside [0, 0.999999]" "--momentum 1"
[ ! -e "$SCR/nd3" ] && ok "--momentum 1: no run folder" || bad "--momentum 1 left $SCR/nd3"

# AutoAttack runs on the cells the robustness finding compares (ε_LS = 0 and
# the judged 0.1), not on 0.05 (its per-ε verdict falls back to PGD);
# --aa-all runs it on every cell, --aa-limit 0 on none (the finding then
# uses PGD)
for v in judged all off budget; do
  extra=(); [ $v = all ] && extra=(--aa-all); [ $v = off ] && extra=(--aa-limit 0)
  [ $v = budget ] && extra=(--aa-budget 0.001)
  expect_exit 0 "run --smoothing 0,0.05,0.1 ($v)" "$LSP" run --quick --data synthetic --smoothing 0,0.05,0.1 \
    --epochs 1 --bootstrap 20 --mi-examples 10 --mi-copies 2 --out "$SCR/aa_$v" --threads 2 "${extra[@]}"
done
$PY - "$SCR" <<'PY' && ok "AutoAttack on ε_LS 0 and 0.1 by default, every model with --aa-all, none with --aa-limit 0" || bad "AutoAttack's cells"
import json, sys
def load(v):
    r = json.load(open(sys.argv[1] + "/aa_%s/results.json" % v))
    has = {m["eps"]: "autoattack" in m["attacks"] for m in r["models"]}
    rob = next(f for f in r["findings"] if f["topic"] == "pgd")
    auc = {c["eps"]: c["values"][r["study"]["summaries"].index("auc_aa")] for c in r["study"]["cells"]}
    return r, has, rob, auc
r, has, rob, auc = load("judged")
assert has == {0: True, 0.05: False, 0.1: True}, has
assert auc[0.05] is None and auc[0] is not None and auc[0.1] is not None, auc
assert "ε_LS ∈ {0, 0.1}" in rob["evidence"] and "ε = 0.05: " in rob["evidence"], rob["evidence"]
assert "(PGD Δ" in rob["evidence"].split("ε = 0.05: ")[-1].split(";")[0], rob["evidence"]
assert "(AutoAttack Δ" in rob["evidence"].split("ε = 0.1: ")[-1].split(";")[0], rob["evidence"]
r, has, rob, auc = load("all")
assert all(has.values()) and "ε_LS ∈ {0, 0.05, 0.1}" in rob["evidence"], (has, rob["evidence"][:400])
r, has, rob, auc = load("off")
assert not any(has.values()) and r["config"]["n_autoattack"] == 0, has
assert "AutoAttack" not in rob["claim"] and "PGD AUC" in rob["evidence"], rob
assert r["config"]["autoattack_predicted_gflop_per_example"] is None, r["config"]
# a budget below one example's cost: none run, and results.json keeps the
# predicted cost per example the report's sentence quotes
r, has, rob, auc = load("budget")
pred = r["config"]["autoattack_predicted_gflop_per_example"]
assert not any(has.values()) and r["config"]["n_autoattack"] == 0 and pred > 0.001, (has, pred)
md = open(sys.argv[1] + "/aa_budget/report.md").read()
assert ("its budget of 0.001 GFLOP per model (--aa-budget) is below the %.3g GFLOP predicted" % pred) in md, md[:300]
PY
# the report says what AutoAttack did: which models and why (the judged
# run), or that it did not run and PGD judges (--aa-limit 0: no column,
# no sentence about "the first 0 examples")
$PY - "$SCR" <<'PY' && ok "the report's AutoAttack sentences match what ran" || bad "the report's AutoAttack sentences"
import sys
# Markdown escapes the underscore of ε_LS
md = {v: open(sys.argv[1] + "/aa_%s/report.md" % v).read().replace("\\_", "_")
      for v in ("judged", "all", "off")}
j = md["judged"]
assert ("of the models with ε_LS ∈ {0, 0.1}, those the finding compares (ε_LS = 0 and the "
        "judged ε; --aa-all runs it on every model), and the robustness finding is judged with it") in j, j
assert "Those are the models" not in j and "AutoAttack AUC (first" in j
assert "those the finding compares" not in md["all"] and "AutoAttack AUC (first" in md["all"]
o = md["off"]
assert "AutoAttack was not run (--aa-limit 0). The robustness finding is judged with PGD." in o, o
assert "first 0" not in o and "AutoAttack AUC" not in o and "judged with it" not in o, o
PY
# the summary table's accuracy and NLL intervals are the cells' (cells.csv),
# as every other column's are
$PY - "$SCR/aa_judged" <<'PY' && ok "summary table: accuracy and NLL intervals are cells.csv's" || bad "summary table intervals differ from cells.csv"
import csv, re, sys
d = sys.argv[1]
cells = {(float(r["eps"]), r["summary"]): r for r in csv.DictReader(open(d + "/cells.csv"))}
md = open(d + "/report.md").read().split("## Summary", 1)[1].split("\n## ", 1)[0]
rows = [l for l in md.splitlines() if l.startswith("| ε = ")]
assert len(rows) == 3, rows
for l in rows:
    f = [c.strip() for c in l.strip("|").split("|")]
    eps = float(re.match(r"ε = ([0-9.]+)", f[0]).group(1))
    for col, name in ((1, "accuracy"), (2, "nll")):
        v, lo, hi = map(float, re.match(r"(\S+) \[(\S+), (\S+)\]", f[col]).groups())
        c = cells[(eps, name)]
        for a, b in ((v, c["value"]), (lo, c["value_lo"]), (hi, c["value_hi"])):
            assert abs(a - float(b)) <= 6e-4 * max(1.0, abs(float(b))), (eps, name, a, b)
PY
# study.comparisons: a verdict for every comparison that exists, null for
# one that does not (auc_aa without AutoAttack; auc_aa at ε = 0.05 by
# default); the finding's gain ratio only when the FGSM Δ interval
# excludes 0, and then the ratio of the two Δ
$PY - "$SCR" <<'PY' && ok "comparisons' verdicts null where nothing was compared; the gain ratio only when defined" || bad "comparisons' verdicts or the gain ratio"
import json, re, sys
for v in ("judged", "all", "off"):
    r = json.load(open(sys.argv[1] + "/aa_%s/results.json" % v))
    s = r["study"]
    cmp = {(c["summary"], c["eps"]): c for c in s["comparisons"]}
    for c in s["comparisons"]:
        if c["diff"] is None:
            assert c.get("verdict", None) is None and c["ci"] == [None, None], (v, c)
        elif c["summary"] in ("accuracy", "ece", "auc_fgsm", "auc_pgd", "auc_aa"):
            assert c["verdict"] in ("supported", "contradicted", "inconclusive"), (v, c)
    aa = {e: cmp[("auc_aa", e)]["verdict"] for e in (0.05, 0.1)}
    want = {"judged": (None, True), "all": (True, True), "off": (None, None)}[v]
    for e, w in zip((0.05, 0.1), want):
        assert (aa[e] is None) == (w is None), (v, e, aa[e])
    rob = next(f for f in r["findings"] if f["topic"] == "pgd")
    J = s["judged_eps"]
    fg = cmp[("auc_fgsm", J)]
    strong = cmp[("auc_aa" if "Judged with AutoAttack" in rob["evidence"] else "auc_pgd", J)]
    m = re.search(r"gain to the FGSM gain: (undefined \(the FGSM Δ has no interval excluding 0\)|"
                  r"(-?[0-9.]+) \[(-?[0-9.]+), (-?[0-9.]+)\])", rob["evidence"])
    assert m, (v, rob["evidence"])
    spans = fg["ci"][0] is None or fg["ci"][0] <= 0 <= fg["ci"][1]
    assert spans == m.group(1).startswith("undefined"), (v, fg["ci"], m.group(1))
    if not spans:
        assert abs(float(m.group(2)) - strong["diff"] / fg["diff"]) <= 0.005 + 1e-12, (v, m.group(0))
PY
grep -q 'of the models with ε_LS ∈ {0, 0.1}' "$SCR/aa_judged/report.html" && ok "the report says which models AutoAttack ran on" || bad "report lacks AutoAttack's models"

# other plot formats (on a copy of the run without --distill: its models
# come from the cache, the plots are drawn anew; fewer resamples than
# --quick's 100, as only the plots' files are checked)
for fmt in png pdf; do
  rm -rf "$SCR/f_$fmt" && cp -a "$SCR/nd" "$SCR/f_$fmt"
  expect_exit 0 "run --format $fmt" "$LSP" run --quick --bootstrap 40 --out "$SCR/f_$fmt" --format "$fmt" --threads 2
  for p in reliability attacks projection; do
    f="$SCR/f_$fmt/plots/$p.$fmt"
    if [ "$fmt" = png ]; then sig=$(head -c 4 "$f" | tail -c 3); want=PNG; else sig=$(head -c 4 "$f"); want=%PDF; fi
    [ "$sig" = "$want" ] && ok "$p.$fmt is a $fmt file" || bad "$p.$fmt signature '$sig'"
  done
done

# failures leave the earlier report untouched
sum_before=$(cd "$OUT" && sha256sum report.html report.md results.json models.csv | sha256sum)
expect_exit 2 "bad option" "$LSP" run --quick --out "$OUT" --smoothing 0,2
expect_err "--smoothing" "bad option"
expect_exit 1 "missing data folder" "$LSP" run --quick --out "$OUT" --data "$SCR/nonexistent"
expect_err "nonexistent" "missing data folder"
sum_after=$(cd "$OUT" && sha256sum report.html report.md results.json models.csv | sha256sum)
[ "$sum_before" = "$sum_after" ] && ok "failed runs left the report untouched" || bad "report changed by a failed run"

# SIGINT mid-run: exit 130, earlier report and cached models intact, no staging left
model_files=$(cd "$OUT/models" && ls *.lspm)
models_before=$(cd "$OUT/models" && sha256sum $model_files)
# interrupt_run DIR EPOCHS SECONDS: a run into DIR, Ctrl-C after SECONDS; its status in $code
interrupt_run() {
  "$LSP" run --quick --epochs "$2" --smoothing 0,0.05 --out "$1" --threads 2 >"$SCR/out" 2>"$SCR/err" &
  local pid=$!
  sleep "$3"
  kill -INT "$pid"
  wait "$pid"
  code=$?
}
interrupt_run "$OUT" 40 1.5
[ "$code" -eq 130 ] && ok "SIGINT: exit 130" || bad "SIGINT: exit $code ($(tail -2 "$SCR/err"))"
sum_after=$(cd "$OUT" && sha256sum report.html report.md results.json models.csv | sha256sum)
[ "$sum_before" = "$sum_after" ] && ok "SIGINT left the report untouched" || bad "report changed by an interrupted run"
[ "$(cd "$OUT/models" && sha256sum $model_files)" = "$models_before" ] && ok "SIGINT left the cached models intact" || bad "cached models changed"
ls -a "$OUT" "$SCR" | grep -q -e 'staging' -e '^\.lsp-' && bad "staging folder left behind" || ok "no staging folder left"
ls "$OUT/models" | grep -q '\.tmp\.' && bad "temporary model file left" || ok "no temporary model file"

# SIGINT into a new folder before any model is cached (400 epochs do not end
# in a second): the folder goes again
rm -rf "$SCR/fresh"
interrupt_run "$SCR/fresh" 400 1
[ "$code" -eq 130 ] && [ ! -e "$SCR/fresh" ] && ok "SIGINT into a new folder: exit 130, no folder left" ||
  bad "SIGINT into a new folder: exit $code, left: $(ls -A "$SCR/fresh" 2>&1 | tr '\n' ' ')"

# a network whose units all die in training: the run fails naming its cell
# and why (its cached model stays for the cache's sake; no report)
expect_exit 1 "run whose network dies" "$LSP" run --data synthetic:train=600,test=200,dim=16,classes=4,sep=3 \
  --quick --arch mlp:16 --epochs 2 --lr 10 --attack-limit 50 --aa-limit 0 --threads 1 --jobs 1 --quiet --out "$SCR/dead"
expect_err "ε = 0 (uniform): the trained network's penultimate features are zero on every test example" "run whose network dies"
[ ! -e "$SCR/dead/report.html" ] && ok "no report from a dead network" || bad "a report from a dead network"
# one whose units die on all but a few examples (one class left): the same cause named
expect_exit 1 "run whose network nearly dies" "$LSP" run --data synthetic:train=600,test=200,dim=16,classes=4 \
  --quick --batch 1 --epochs 1 --aa-limit 0 --threads 1 --jobs 1 --quiet --out "$SCR/neardead"
expect_err "of 200 test examples (units that died in training: a learning rate too high?)" \
  "run whose network nearly dies"

# one smoothing ε: no figure against ε (a line needs two), and no failure note
expect_exit 0 "run with one ε" "$LSP" run --quick --quiet --smoothing 0.1 --out "$SCR/one" --threads 2
[ -s "$SCR/one/plots/attacks.svg" ] && [ ! -e "$SCR/one/plots/metrics_vs_smoothing.svg" ] \
  && ok "one ε: no metrics figure, the others drawn" || bad "one ε: figures"
grep -q 'could not be drawn' "$SCR/one/report.md" && bad "one ε: a figure failed: $(grep 'could not be drawn' "$SCR/one/report.md")" \
  || ok "one ε: no figure failed"
grep -q 'One smoothing ε: there is no figure against ε' "$SCR/one/report.md" \
  && ok "one ε: the report says why" || bad "one ε: no explanation"

# an attack grid given out of order is taken in ascending order: the AUC is
# the normalized trapezoid area under the accuracy curve, in [0, 1]
expect_exit 0 "run with --attack-eps out of order" "$LSP" run --quick --quiet --data synthetic --smoothing 0 \
  --epochs 1 --bootstrap 20 --mi-examples 10 --mi-copies 2 --attack-eps 0.3,0,0.1 --out "$SCR/unsorted" --threads 2
$PY - "$SCR/unsorted" <<'PY' && ok "unsorted --attack-eps: ascending grid, AUC = trapezoid area" || bad "unsorted --attack-eps"
import csv, json, sys
d = sys.argv[1]
r = json.load(open(d + "/results.json"))
assert r["config"]["attack_eps"] == [0, 0.1, 0.3], r["config"]["attack_eps"]
acc = {}
for row in csv.DictReader(open(d + "/attacks.csv")):
    acc.setdefault(row["attack"], {})[float(row["eps"])] = float(row["accuracy"])
auc = {row["summary"]: float(row["value"]) for row in csv.DictReader(open(d + "/cells.csv"))}
for a in ("fgsm", "pgd"):
    c = acc[a]
    want = (0.1 * (c[0] + c[0.1]) / 2 + 0.2 * (c[0.1] + c[0.3]) / 2) / 0.3
    assert 0 <= auc["auc_" + a] <= 1 and abs(auc["auc_" + a] - want) < 1e-12, (a, auc["auc_" + a], want)
PY
# that run has the ε = 0 model alone: the report says what is missing for a
# comparison, a smoothed model, not an ε = 0 one
grep -q 'No comparison: the run has ε = 0 models only, no smoothed model to compare them with' "$SCR/unsorted/report.md" &&
  ! grep -q 'no ε = 0 model' "$SCR/unsorted/report.md" && ok "--smoothing 0 alone: the report names the missing smoothed model" ||
  bad "--smoothing 0 alone: $(grep 'No comparison' "$SCR/unsorted/report.md")"

# a corrupted cached model is detected and retrained
m="$OUT/models/$(echo "$model_files" | head -1)"
printf 'garbage' | dd of="$m" bs=1 seek=100 conv=notrunc 2>/dev/null
expect_exit 0 "run with a corrupted cache entry" "$LSP" run --quick --distill --out "$OUT" --threads 2
grep -q 'retraining' "$SCR/err" && ok "corrupted cached model retrained" || bad "corruption not detected: $(grep -i cach "$SCR/err" | head -2)"
# a cell that fails: the cells waiting for it (its transfer source) never start.
# LSPROBE_TEST_CELL_FAIL=0 fails the ε = 0 cell after its training, while the
# ε = 0.05 cell, taken by the second job at once, waits for it
F="$SCR/cellfail"
LSPROBE_TEST_CELL_FAIL=0 "$LSP" run --quick --threads 2 --jobs 2 --bootstrap 20 --smoothing 0,0.05 \
  --data synthetic:train=600,test=200,dim=16,classes=4 --out "$F" >"$SCR/out" 2>"$SCR/err"
code=$?
[ $code -eq 1 ] && grep -q 'injected failure' "$SCR/err" && ok "a failed cell: exit 1 with the reason" \
  || bad "a failed cell: exit $code ($(tail -1 "$SCR/err"))"
grep -q '^ε = 0 (uniform): training' "$SCR/err" && ! grep -q '^ε = 0.05 (uniform): training' "$SCR/err" \
  && ok "the cell waiting for the failed one did not start" || bad "a cell started after its transfer source failed"
[ ! -e "$F/report.html" ] && ok "no report from the failed run" || bad "the failed run wrote a report"

# every validation prediction right (sep=40): no temperature can be fitted;
# the report says so instead of quoting the unscaled ECE as scaled
expect_exit 0 "run where no temperature fits" "$LSP" run --quick --data synthetic:sep=40 --smoothing 0,0.1 \
  --epochs 1 --bootstrap 40 --bins 7 --mi-examples 10 --mi-copies 2 --out "$SCR/nofit" --threads 1 --quiet
grep -q 'Binned ECE (15 equal-width bins) ' "$SCR/nofit/report.md" && grep -q -- '--bins 7 sets the per-model tables. bins only' "$SCR/nofit/report.md" &&
  ok "--bins 7: the finding keeps the pre-declared 15 bins and says so" || bad "--bins 7 not said in the finding"
# the cells' ECE is the 15-bin one whatever --bins: the same run at --bins 15
# gives the same cells.csv ECE columns (and at --bins 7 the tables differ)
for b in 7 15; do
  expect_exit 0 "a run at --bins $b" "$LSP" run --quick --data synthetic --smoothing 0,0.1 \
    --epochs 4 --bootstrap 40 --bins $b --mi-examples 10 --mi-copies 2 --out "$SCR/bins$b" --threads 1 --quiet
done
$PY - "$SCR" <<'PY' && ok "the study's ECE does not follow --bins" || bad "the study's ECE follows --bins"
import csv, json, sys
def cells(d):
    r = json.load(open(sys.argv[1] + "/%s/results.json" % d))
    s = r["study"]
    i = [s["summaries"].index(k) for k in ("ece", "ece_l2_debiased", "ece_t")]
    return [[c[key][j] for key in ("values", "lo", "hi") for j in i] for c in s["cells"]], r
a, ra = cells("bins7")
b, rb = cells("bins15")
assert a == b, (a, b)
ea = [m["calibration"]["ece"] for m in ra["models"]]
eb = [m["calibration"]["ece"] for m in rb["models"]]
assert any(abs(x - y) > 1e-6 for x, y in zip(ea, eb)), (ea, eb)  # the tables follow --bins
PY
grep -q 'the temperature could not be fitted for 2 of 2 models — first ε = 0 (uniform): temperature: the validation NLL has no minimum' "$SCR/nofit/report.md" &&
  [ "$(grep -c '| – (no T) | – (not fitted) |' "$SCR/nofit/report.md")" = 2 ] &&
  ok "no temperature fitted: said in the finding, no scaled ECE in the table" || bad "no fit: $(grep -o 'After temperature scaling.\{0,200\}' "$SCR/nofit/report.md")"
finish
