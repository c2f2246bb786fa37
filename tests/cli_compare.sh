#!/usr/bin/env bash
# End-to-end: `lsprobe compare` over two quick runs writes every output, its
# JSON rows carry exactly the inputs' numbers, the HTML is self-contained,
# and bad inputs fail cleanly (exit 1/2, one line naming the file, no output).
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
A="$SCR/runA"
B="$SCR/runB"
OUT="$SCR/cmp"

expect_exit 0 "run A (--quick)" "$LSP" run --quick --quiet --out "$A" --threads 2
expect_exit 0 "run B (--quick, three ε)" "$LSP" run --quick --quiet --smoothing 0,0.05,0.2 --out "$B" --threads 2

expect_exit 0 "compare A B --format png" "$LSP" compare "$A/results.json" "$B/results.json" --out "$OUT" --format png
grep -q "report: $OUT/compare.html" "$SCR/out" && ok "prints where the report is" || bad "report path: $(cat "$SCR/out")"
for f in compare.html compare.md compare.json compare.csv plots/compare_metrics.svg \
         plots/compare_attacks.svg plots/compare_metrics.png plots/compare_attacks.png; do
  [ -s "$OUT/$f" ] && ok "$f written" || bad "$f missing or empty"
done
ls -a "$OUT" "$SCR" | grep -q -e staging -e '^\.lsp-' && bad "staging folder left behind" || ok "no staging folder left"
design_members compare.json "$OUT/compare.json" && ok "compare.json: the members DESIGN §4 lists" || bad "compare.json members"
design_csv compare.csv "$OUT/compare.csv" && ok "compare.csv: DESIGN §4's columns" || bad "compare.csv columns"

# every row's numbers equal the inputs' (same doubles, not re-rounded), and the CSV agrees
$PY - "$OUT" "$A/results.json" "$B/results.json" <<'PY' && ok "compare.json rows equal the inputs' numbers; CSV agrees" || bad "compare.json / CSV check"
import csv, json, math, sys
out, ins = sys.argv[1], sys.argv[2:]
c = json.load(open(out + "/compare.json"))
assert [i["path"] for i in c["inputs"]] == ins, "inputs listed in order"
assert c["comparable"] is True and c["warnings"] == [], c["warnings"]
ref = c["reference_attack_eps"]
assert ref == 0.1, ref
rows = c["rows"]
runs = [json.load(open(p)) for p in ins]
assert len(rows) == sum(len(r["models"]) for r in runs) == 5, len(rows)
def eq(a, b):
    return (a is None and b is None) or a == b
k = 0
for ri, r in enumerate(runs):
    for m in r["models"]:
        row = rows[k]; k += 1
        assert row["input"] == ri and row["model"] == m["tag"] and row["eps"] == m["eps"]
        assert row["seed"] == m["seed"] and row["convention"] == m["convention"]
        assert row["data"] == r["config"]["data"]
        cal, calt = m["calibration"], m["calibration_temperature_scaled"]
        for key, src, sk in (("accuracy", cal, "accuracy"), ("nll", cal, "nll"),
                             ("ece", cal, "ece"), ("ece_after_t", calt, "ece")):
            assert eq(row[key], src[sk]), (key, row[key], src[sk])
            assert row[key + "_ci"] == src[sk + "_ci"], key
        assert row["temperature"] == calt["temperature"]
        assert row["r2_separation"] == m["clusters"]["r2_separation"]
        assert row["nc1"] == m["clusters"]["nc1"]
        for a in ("fgsm", "pgd"):
            pt = [p for p in m["attacks"][a]["points"] if p["eps"] == ref]
            assert len(pt) == 1 and row[a + "_accuracy"] == pt[0]["accuracy"], a
with open(out + "/compare.csv") as f:
    table = list(csv.DictReader(f))
assert len(table) == len(rows)
# machine column names, as in a run's models.csv
assert list(table[0].keys()) == ["run", "model", "data", "eps", "convention", "seed",
    "accuracy", "accuracy_lo", "accuracy_hi", "nll", "nll_lo", "nll_hi", "ece", "ece_lo",
    "ece_hi", "ece_after_t", "ece_after_t_lo", "ece_after_t_hi", "temperature",
    "r2_separation", "nc1", "fgsm_accuracy", "pgd_accuracy"], list(table[0].keys())
for t, row in zip(table, rows):
    assert t["model"] == row["model"] and t["run"] == row["run"]
    assert float(t["eps"]) == row["eps"] and float(t["seed"]) == row["seed"]
    assert float(t["accuracy"]) == row["accuracy"]
    assert float(t["accuracy_lo"]) == row["accuracy_ci"][0]
    assert float(t["ece_after_t_hi"]) == row["ece_after_t_ci"][1]
    assert float(t["nc1"]) == row["nc1"]
    assert float(t["pgd_accuracy"]) == row["pgd_accuracy"]
PY
# the report still shows reader-facing headers
grep -q 'test accuracy' "$OUT/compare.md" && grep -q 'ECE after T' "$OUT/compare.md" \
  && ok "report keeps readable headers" || bad "report headers"

# run folders stand for their results.json
expect_exit 0 "compare A B given as run folders" "$LSP" compare "$A" "$B/" --out "$SCR/cmpdirs"
$PY - "$OUT/compare.json" "$SCR/cmpdirs/compare.json" "$A/results.json" "$B/results.json" <<'PY' \
  && ok "folders give the same rows as their results.json" || bad "run folders"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["rows"] == b["rows"], "rows differ"
assert [i["path"] for i in b["inputs"]] == sys.argv[3:], [i["path"] for i in b["inputs"]]
assert [i["run"] for i in b["inputs"]] == ["runA", "runB"], [i["run"] for i in b["inputs"]]
PY

H="$OUT/compare.html"
[ "$(grep -c '<svg' "$H")" -ge 2 ] && ok "HTML inlines both SVG figures" || bad "HTML lacks inline SVG"
grep -Eiq '(src|href)="(https?:|//|file:)|url\((https?:|//)|<link |<script' "$H" \
  && bad "HTML has an external reference" || ok "HTML has no external reference"
grep -q 'runA' "$H" && grep -q 'eps0.2_seed1' "$H" && ok "HTML names runs and models" || bad "HTML lacks runs/models"
grep -q '](<plots/compare_metrics.png>)' "$OUT/compare.md" && ok "Markdown links the --format plots" || bad "Markdown image links"

# runs that differ are flagged: a third run with another architecture
expect_exit 0 "run C (other hidden widths)" "$LSP" run --quick --quiet --hidden 32 --out "$SCR/runC" --threads 2
expect_exit 0 "compare A C" "$LSP" compare "$A/results.json" "$SCR/runC/results.json" --out "$SCR/cmpAC"
$PY -c "import json,sys; c=json.load(open(sys.argv[1])); assert not c['comparable'] and any('architectures' in w for w in c['warnings']), c['warnings']" \
  "$SCR/cmpAC/compare.json" && ok "different architectures flagged" || bad "architecture warning"
grep -q 'Not comparable: different architectures' "$SCR/cmpAC/compare.html" && ok "warning shown in HTML" || bad "no warning in HTML"

# the same --arch on inputs of another shape is another network: the warning
# names the networks compared, not the --arch text both share
mkdir -p "$SCR/runD"
$PY - "$A/results.json" "$SCR/runD/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["config"]
shape, rest = c["architecture"].split(" ", 1)
c["architecture"] = ("3x7x7 " if shape != "3x7x7" else "5x7x7 ") + rest
for m in r["models"]:
    m["model_file"] = m["model_file"].replace(".lspm", "d.lspm")
json.dump(r, open(sys.argv[2], "w"))
PY
expect_exit 0 "compare A D (same --arch, other input shape)" "$LSP" compare "$A/results.json" "$SCR/runD/results.json" --out "$SCR/cmpAD"
$PY - "$SCR/cmpAD/compare.json" "$A/results.json" <<'PY' && ok "architecture warning names the two networks" || bad "architecture warning: $(grep -o 'different architectures[^<]*' "$SCR/cmpAD/compare.html" | head -1)"
import json, sys
c = json.load(open(sys.argv[1]))
arch = json.load(open(sys.argv[2]))["config"]["architecture"]
w = [w for w in c["warnings"] if "architectures" in w]
other = ("3x7x7 " if not arch.startswith("3x7x7 ") else "5x7x7 ") + arch.split(" ", 1)[1]
assert len(w) == 1 and f"[{arch}]" in w[0] and f"[{other}]" in w[0], w
PY

# every recorded setting that changes the compared numbers is checked: a
# copy of A trained, attacked and binned otherwise is flagged setting by
# setting with every run's value, and "share" lists only what is shared
mkdir -p "$SCR/runE"
$PY - "$A/results.json" "$SCR/runE/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["started"] += " (edited)"
c = r["config"]
c["lr"], c["momentum"], c["pgd_steps"], c["n_attack"], c["bins"] = 0.02, 0, c["pgd_steps"] + 15, 100, 10
for m in r["models"]:
    m["model_file"] = m["model_file"].replace(".lspm", "e.lspm")
json.dump(r, open(sys.argv[2], "w"))
PY
expect_exit 0 "compare A E (other training, attack and bin settings)" "$LSP" compare "$A" "$SCR/runE" --out "$SCR/cmpAE"
$PY - "$SCR/cmpAE/compare.json" "$A/results.json" <<'PY' && ok "differing settings named with each run's value" || bad "settings warnings: $(grep -o 'Different[^<]*' "$SCR/cmpAE/compare.html")"
import json, sys
c = json.load(open(sys.argv[1]))
a = json.load(open(sys.argv[2]))["config"]
assert not c["comparable"]
w = c["warnings"]
assert w == [
    "Different training settings: lr (runA: %g, runE: 0.02); momentum (runA: %g, runE: 0)." % (a["lr"], a["momentum"]),
    "Different attack settings: pgd_steps (runA: %d, runE: %d); n_attack (runA: %d, runE: 100)." % (a["pgd_steps"], a["pgd_steps"] + 15, a["n_attack"]),
    "Different calibration settings: bins (runA: %d, runE: 10)." % a["bins"]], w
PY
grep -q 'The runs share: dataset, data hash, architecture, training budget (epochs), attack ε list, n_train, n_val, n_test, batch, normalize, pgd_restarts, bootstrap\.' "$SCR/cmpAE/compare.html" \
  && ok "the share sentence lists only what is shared" || bad "share sentence: $(grep -o 'The runs share[^<]*' "$SCR/cmpAE/compare.html")"
grep -q 'The runs share: dataset, data hash, architecture, training budget (epochs), attack ε list, n_train, n_val, n_test, batch, lr, momentum, normalize, pgd_steps, pgd_restarts, n_attack, bins, bootstrap\.' "$OUT/compare.html" \
  && ok "comparable runs: the share sentence lists every setting" || bad "share sentence (A B): $(grep -o 'The runs share[^<]*' "$OUT/compare.html")"

# no attack ε above 0 shared (only the clean ε = 0): the columns are said to
# be empty, never "nan" nor the clean accuracy again
mkdir -p "$SCR/runF"
$PY - "$A/results.json" "$SCR/runF/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["started"] += " (edited)"
r["config"]["attack_eps"] = [e + 0.001 if e > 0 else e for e in r["config"]["attack_eps"]]
for m in r["models"]:
    m["model_file"] = m["model_file"].replace(".lspm", "f.lspm")
for m in r["models"]:
    for a in ("fgsm", "pgd"):
        for p in m["attacks"][a]["points"]:
            p["eps"] += 0.001 if p["eps"] > 0 else 0
json.dump(r, open(sys.argv[2], "w"))
PY
expect_exit 0 "compare A F (no shared attack ε)" "$LSP" compare "$A" "$SCR/runF" --out "$SCR/cmpAF"
grep -qi 'nan' "$SCR/cmpAF/compare.md" "$SCR/cmpAF/compare.html" && bad "no shared ε: the report prints nan" \
  || ok "no shared ε: no nan in the report"
grep -q 'FGSM acc. (no shared ε)' "$SCR/cmpAF/compare.md" && grep -q 'the attack columns are empty: no attack ε above 0 is shared by every model' "$SCR/cmpAF/compare.md" \
  && ok "no shared ε: headers and caption say so" || bad "no shared ε: headers/caption"
# the attack ε's units are not asserted: a run of non-image data attacks in
# its own input units, which results.json does not record
grep -q "attack columns at ε = [0-9.]*, in the runs' input units" "$OUT/compare.md" && ! grep -q 'pixel scale)' "$OUT/compare.md" \
  && ok "attack ε in the runs' input units" || bad "attack ε units: $(grep -o 'attack columns at[^.]*' "$OUT/compare.md")"

# long lists are compared and shown whole: two runs whose 79 attack ε
# differ only in the last are flagged, and 40 seeds are listed to the end
for x in G H; do
  mkdir -p "$SCR/run$x"
  $PY - "$A/results.json" "$SCR/run$x/results.json" "$x" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["started"] += " " + sys.argv[3]
c = r["config"]
c["seeds"] = list(range(1000, 1040))
c["attack_eps"] = [round(0.001 * k, 3) for k in range(1, 79)] + [0.079 if sys.argv[3] == "G" else 0.5]
for m in r["models"]:
    m["model_file"] = m["model_file"].replace(".lspm", sys.argv[3] + ".lspm")
json.dump(r, open(sys.argv[2], "w"))
PY
done
expect_exit 0 "compare G H (long lists)" "$LSP" compare "$SCR/runG" "$SCR/runH" --out "$SCR/cmpGH"
$PY - "$SCR/cmpGH/compare.json" <<'PY' && ok "long lists: whole, and the last value compared" || bad "long lists"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["inputs"][0]["seeds"] == ",".join(str(k) for k in range(1000, 1040)), c["inputs"][0]["seeds"]
assert c["inputs"][1]["attack_eps"].endswith(",0.078,0.5"), c["inputs"][1]["attack_eps"]
w = [w for w in c["warnings"] if "attack ε lists" in w]
assert len(w) == 1 and w[0].endswith(",0.078,0.079]; runH: [" + c["inputs"][1]["attack_eps"] + "]."), c["warnings"]
PY

# every model of every run is drawn, each labelled with its seed: a run of
# 27 models (9 seeds) beside A gives 29 lines, and 9 lines against ε
mkdir -p "$SCR/runM"
$PY - "$B/results.json" "$SCR/runM/results.json" <<'PY'
import copy, json, sys
r = json.load(open(sys.argv[1]))
r["config"]["seeds"] = list(range(1, 10))
ms = []
for s in range(1, 10):
    for m in r["models"]:
        m = copy.deepcopy(m)
        m["seed"] = s
        m["tag"] = m["tag"].replace("seed1", "seed%d" % s)
        ms.append(m)
r["models"] = ms
json.dump(r, open(sys.argv[2], "w"))
PY
expect_exit 0 "compare A M (29 models)" "$LSP" compare "$A" "$SCR/runM" --out "$SCR/cmpAM"
S="$SCR/cmpAM/plots/compare_attacks.svg"
[ "$(grep -c 'runM: ε = 0.2 (uniform), seed [0-9]<' "$S")" = 9 ] && grep -q 'runM: ε = 0.2 (uniform), seed 9<' "$S" \
  && ok "attack figure: every model drawn, labelled with its seed" || bad "attack figure: $(grep -c 'runM: ε' "$S") runM lines"
grep -q '29 lines in each panel (each line its own colour and dash)' "$SCR/cmpAM/compare.md" \
  && ok "attack figure: the caption counts the lines" || bad "attack caption: $(grep -o 'Accuracy under FGSM[^]]*' "$SCR/cmpAM/compare.md")"
[ "$(grep -c '>runM (seed [0-9])<' "$SCR/cmpAM/plots/compare_metrics.svg")" = 9 ] \
  && ok "metrics figure: one line per run and seed" || bad "metrics figure lines"
grep -q 'one line per run and seed; bars are the recorded intervals' "$SCR/cmpAM/compare.md" \
  && ok "metrics caption: one line per run and seed" || bad "metrics caption"

# values outside their domain or of the wrong type (also in the members the
# attacks and analysis write), a tag twice and a copy of a run are refused
i=0
for spec in 'm["calibration"]["accuracy"] = 1.7|field models[0].calibration.accuracy: expected a number in [0, 1], found 1.7' \
            'm["calibration"]["accuracy_ci"] = [0.3, 0.1]|field models[0].calibration.accuracy_ci: expected [lo, hi] with lo <= hi, found [0.3, 0.1]' \
            'r["config"]["n_test"] = -5|field config.n_test: expected a number > 0, found -5' \
            'r["findings"][0]["verdict"] = "maybe"|field findings[0].verdict: expected "supported", "contradicted" or "inconclusive", found "maybe"' \
            'm["gradient_masking"]["checks"][0]["status"] = "maybe"|field models[0].gradient_masking.checks[0].status: expected "pass", "flag" or "skipped", found "maybe"' \
            'm["attacks"]["pgd"]["points"][1]["zero_grad_share"] = 1.5|field models[0].attacks.pgd.points[1].zero_grad_share: expected a number in [0, 1], found 1.5' \
            'm["attacks"]["autoattack"]["points"][0]["stages"] = "all"|field models[0].attacks.autoattack.points[0].stages: expected an object, found string' \
            'm["calibration"]["smooth_curve"]["t"] = 0.5|field models[0].calibration.smooth_curve.t: expected an array, found number' \
            'm["calibration"]["ece_ci_percentile"] = [0.3, 0.1]|field models[0].calibration.ece_ci_percentile: expected [lo, hi] with lo <= hi, found [0.3, 0.1]' \
            'm["logit_gap"]["entropy"]["q95"] = "high"|field models[0].logit_gap.entropy.q95: expected a number, found string' \
            'r["models"][1]["tag"] = m["tag"]|field models[1].tag: "eps0_seed1" is the tag of models[0] too (tags must be unique)'; do
  i=$((i + 1))
  $PY - "$A/results.json" "$SCR/dom$i.json" "${spec%%|*}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["models"][0]
exec(sys.argv[3])
json.dump(r, open(sys.argv[2], "w"), indent=1)
PY
  expect_exit 1 "domain $i" "$LSP" compare "$A" "$SCR/dom$i.json" --out "$SCR/never$i"
  expect_err "${spec#*|}" "domain $i: ${spec%%|*}"
  [ -e "$SCR/never$i" ] && bad "domain $i: output folder created" || ok "domain $i: no output folder"
done
mkdir -p "$SCR/runAcopy" && cp "$A/results.json" "$SCR/runAcopy/"
expect_exit 2 "a copy of a run" "$LSP" compare "$A" "$SCR/runAcopy" --out "$SCR/never"
expect_err "$SCR/runAcopy/results.json: a copy of $A/results.json (the same bytes): one run given twice" "a copy of a run"
# and so is another results.json of the same study: A rerun into another
# folder, every model reused from the cache (other bytes, the same models)
cp -a "$A" "$SCR/runArerun"
expect_exit 0 "A rerun from the cache" "$LSP" run --quick --quiet --out "$SCR/runArerun" --threads 2
m0=$($PY -c "import json,sys; m=json.load(open(sys.argv[1]))['models'][0]; print(m['tag'] + ': ' + m['model_file'])" "$A/results.json")
expect_exit 2 "a study and its rerun" "$LSP" compare "$A" "$SCR/runArerun" --out "$SCR/never"
expect_err "$A and $SCR/runArerun hold the same trained models ($m0 in both): one study given twice" "a study and its rerun"
grep -q "to pool seeds, run once with all of them" "$SCR/err" && ok "the refusal says how to pool seeds" || bad "the refusal: $(cat "$SCR/err")"
[ -e "$SCR/never" ] && bad "a study and its rerun: output folder created" || ok "a study and its rerun: no output folder"
grep -q "side by side and gives no verdicts" "$OUT/compare.md" && grep -q "To pool the seeds of several runs" "$OUT/compare.md" &&
  ok "compare.md: no verdicts; how to pool seeds" || bad "compare.md lacks the no-verdict note"

# runs with one smoothing ε: no figure against ε (a line needs two), the rest of the report
expect_exit 0 "run S (--quick, one ε)" "$LSP" run --quick --quiet --smoothing 0.1 --out "$SCR/runS" --threads 2
expect_exit 0 "compare S alone (one ε)" "$LSP" compare "$SCR/runS" --out "$SCR/cmpS"
[ -s "$SCR/cmpS/compare.html" ] && [ -s "$SCR/cmpS/plots/compare_attacks.svg" ] \
  && [ ! -e "$SCR/cmpS/plots/compare_metrics.svg" ] && ok "one ε: attacks drawn, no metrics figure" \
  || bad "one ε: figures"
grep -q 'Every model has the same smoothing ε (0.1): there is no figure against ε' "$SCR/cmpS/compare.md" \
  && ok "one ε: the report says why there is no figure" || bad "one ε: no explanation in the report"
expect_exit 0 "compare S with C (both one ε)" "$LSP" compare "$SCR/runS" "$SCR/runC" --out "$SCR/cmpSC"
expect_exit 0 "compare S with A (two ε)" "$LSP" compare "$SCR/runS" "$A" --out "$SCR/cmpSA"
[ -s "$SCR/cmpSA/plots/compare_metrics.svg" ] && ok "two ε between the runs: metrics figure drawn" \
  || bad "two ε: no metrics figure"

# gnuplot failing on one figure: the report is still written (every other
# file complete), the missing figure named with gnuplot's reason on screen and
# in the report, exit 0 as `lsprobe run` does
fail_gnuplot "$SCR/failgp" compare_attacks
LSPROBE_GNUPLOT="$SCR/failgp" expect_exit 0 "compare with gnuplot failing on one figure" \
  "$LSP" compare "$A" "$B" --out "$SCR/cmpfail" --format png
expect_err "WARNING: plots/compare_attacks.svg could not be drawn and is missing (gnuplot: line 1: cannot plot)" \
  "figure gnuplot failed on"
grep -q "report: $SCR/cmpfail/compare.html" "$SCR/out" && ok "failed figure: prints where the report is" \
  || bad "failed figure: report path: $(cat "$SCR/out")"
for f in compare.html compare.md compare.json compare.csv plots/compare_metrics.svg plots/compare_metrics.png; do
  [ -s "$SCR/cmpfail/$f" ] && ok "failed figure: $f written" || bad "failed figure: $f missing or empty"
done
[ "$(ls -A "$SCR/cmpfail/plots" | sort | tr '\n' ' ')" = "compare_metrics.png compare_metrics.svg " ] \
  && ok "failed figure: plots/ holds the drawn figures only" || bad "failed figure: plots/ holds $(ls -A "$SCR/cmpfail/plots")"
ls -A "$SCR" "$SCR/cmpfail" | grep -q -e staging -e '^\.lsp-' && bad "failed figure: staging left behind" \
  || ok "failed figure: no staging folder left"
for f in compare.html:compare_attacks compare.md:'compare\_attacks'; do
  grep -qF "plots/${f#*:}.svg could not be drawn and is missing (gnuplot: line 1: cannot plot)" \
    "$SCR/cmpfail/${f%%:*}" && ok "failed figure: named in ${f%%:*}" || bad "failed figure: not named in ${f%%:*}"
done
grep -q '](<plots/compare_attacks' "$SCR/cmpfail/compare.md" \
  && bad "failed figure: compare.md links the missing figure" || ok "failed figure: no link to the missing figure"
$PY - "$OUT/compare.json" "$SCR/cmpfail/compare.json" "$OUT/compare.csv" "$SCR/cmpfail/compare.csv" <<'PY' \
  && ok "failed figure: compare.json and compare.csv as with every figure" || bad "failed figure: JSON/CSV differ"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["rows"] == b["rows"] and a["warnings"] == b["warnings"], "rows differ"
assert open(sys.argv[3]).read() == open(sys.argv[4]).read(), "CSV differs"
PY

# a compare interrupted after its output folder was created leaves no folder
# behind; an existing report stays as it was (the fake gnuplot interrupts
# the lsprobe that runs it)
printf '#!/bin/sh\ncat >/dev/null\nkill -INT $PPID\nexit 1\n' >"$SCR/intgp"
chmod +x "$SCR/intgp"
LSPROBE_GNUPLOT="$SCR/intgp" expect_exit 130 "compare interrupted while drawing" "$LSP" compare "$A" --out "$SCR/cmpint"
expect_err "interrupted" "interrupted compare"
[ -e "$SCR/cmpint" ] && bad "interrupted compare left its new folder" || ok "interrupted compare: no folder left"
cp "$SCR/cmpS/compare.json" "$SCR/cmpS.before"
LSPROBE_GNUPLOT="$SCR/intgp" expect_exit 130 "interrupted compare into an existing report" "$LSP" compare "$A" --out "$SCR/cmpS"
cmp -s "$SCR/cmpS.before" "$SCR/cmpS/compare.json" && [ -s "$SCR/cmpS/plots/compare_attacks.svg" ] \
  && ok "interrupted compare: the existing report is intact" || bad "interrupted compare changed the existing report"
ls -a "$SCR" "$SCR/cmpS" | grep -q '^\.lsp-' && bad "interrupted compare left a staging folder" \
  || ok "interrupted compare: no staging folder"

# data errors: exit 1, one line naming the file, no output folder
printf '{"lsprobe_version": "0.1.0", "models": [1, 2,]}' >"$SCR/malformed.json"
printf '{"lsprobe_version": "0.1.0", "config": {}}' >"$SCR/nomodels.json"
$PY - "$A/results.json" "$SCR/badtype.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["models"][1]["calibration"]["ece"] = "low"
json.dump(r, open(sys.argv[2], "w"))
PY
i=0
for spec in "malformed.json|malformed.json:1:46: trailing comma" \
            "nomodels.json|nomodels.json: not an lsprobe results.json (field models is missing)" \
            "badtype.json|badtype.json:1:" \
            "missing.json|missing.json: No such file" \
            ".|.: a folder without results.json"; do
  f=${spec%%|*}
  want=${spec#*|}
  i=$((i + 1))
  expect_exit 1 "bad input $f" "$LSP" compare "$A/results.json" "$SCR/$f" --out "$SCR/never$i"
  expect_err "$want" "bad input $f"
  [ -e "$SCR/never$i" ] && bad "$f: output folder created" || ok "$f: no output folder"
done
grep -q 'models\[1\].calibration.ece: expected a number, found string' "$SCR/err" || true
"$LSP" compare "$SCR/badtype.json" --out "$SCR/never" 2>&1 | grep -q 'field models\[1\].calibration.ece: expected a number, found string' \
  && ok "wrong type names the field" || bad "wrong-type message lacks the field"

# PDF figures for papers; and without gnuplot the report is still written
expect_exit 0 "compare --format pdf" "$LSP" compare "$A/results.json" --out "$SCR/cmppdf" --format pdf
[ -s "$SCR/cmppdf/plots/compare_attacks.pdf" ] && head -c 4 "$SCR/cmppdf/plots/compare_attacks.pdf" | grep -q '%PDF' \
  && ok "PDF figure written" || bad "no PDF figure"
LSPROBE_GNUPLOT=/nonexistent/gnuplot "$LSP" compare "$A/results.json" --out "$SCR/cmpnogp" >"$SCR/out" 2>"$SCR/err"
[ $? -eq 0 ] && [ -s "$SCR/cmpnogp/compare.html" ] && [ ! -e "$SCR/cmpnogp/plots" ] && ok "no gnuplot: report without pictures" || bad "no-gnuplot report"
grep -q 'WARNING: gnuplot was not found' "$SCR/err" && grep -q 'no pictures' "$SCR/cmpnogp/compare.html" \
  && ok "no gnuplot: warned on screen and in the report" || bad "no-gnuplot warning"

# --ref-eps picks the attack columns; an ε some model was not attacked at is an error
expect_exit 0 "compare --ref-eps 0.05" "$LSP" compare "$A/results.json" --out "$SCR/cmp005" --ref-eps 0.05
$PY -c "import json,sys; c=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2])); assert c['reference_attack_eps']==0.05; assert c['rows'][0]['fgsm_accuracy']==[p['accuracy'] for p in r['models'][0]['attacks']['fgsm']['points'] if p['eps']==0.05][0]" \
  "$SCR/cmp005/compare.json" "$A/results.json" && ok "--ref-eps 0.05 columns" || bad "--ref-eps columns"
# an --ref-eps a rounding away from a recorded ε names the recorded one
expect_exit 0 "compare --ref-eps 1e-300" "$LSP" compare "$A/results.json" --out "$SCR/cmp0" --ref-eps 1e-300
$PY -c "import json,sys; c=json.load(open(sys.argv[1])); assert c['reference_attack_eps']==0, c['reference_attack_eps']" \
  "$SCR/cmp0/compare.json" && grep -q 'FGSM acc. (ε=0)' "$SCR/cmp0/compare.md" &&
  ok "--ref-eps 1e-300: the columns of the recorded ε = 0, named so" || bad "--ref-eps 1e-300: $(grep -o 'FGSM acc. ([^)]*)' "$SCR/cmp0/compare.md" | head -1)"
expect_exit 2 "compare --ref-eps 0.07 (not attacked at)" "$LSP" compare "$A/results.json" "$B" --out "$SCR/cmp007" --ref-eps 0.07
expect_err "--ref-eps 0.07: not an attack ε of every model (shared: 0, " "--ref-eps 0.07"
[ -e "$SCR/cmp007" ] && bad "--ref-eps 0.07: output folder created" || ok "--ref-eps 0.07: no output folder"

# usage errors: exit 2
expect_exit 2 "bad --ref-eps" "$LSP" compare "$A/results.json" --out "$SCR/never" --ref-eps abc
expect_err "--ref-eps" "bad --ref-eps"
expect_exit 2 "no inputs" "$LSP" compare --out "$SCR/never"
expect_err "no run folder or results.json given" "no inputs"
expect_exit 2 "--out missing" "$LSP" compare "$A/results.json"
expect_err "--out" "--out missing"
expect_exit 2 "bad --format" "$LSP" compare "$A/results.json" --out "$SCR/never" --format jpg
expect_err "--format: 'jpg' is not svg, png or pdf" "bad --format"
expect_exit 2 "--out is a run's folder" "$LSP" compare "$A/results.json" --out "$A"
expect_err "holds a run report" "--out is a run's folder"
# one run given twice (its folder and its file; a link to its folder) is
# refused: its models would be listed as two runs
expect_exit 2 "the same run twice" "$LSP" compare "$A" "$A/results.json" --out "$SCR/never"
expect_err "$A/results.json: the same results.json is given twice (as $A and $A/results.json)" "the same run twice"
ln -s "$A" "$SCR/runA_link"
expect_exit 2 "a run and a link to it" "$LSP" compare "$A" "$SCR/runA_link" --out "$SCR/never"
expect_err "the same results.json is given twice (as $A and $SCR/runA_link)" "a run and a link to it"
[ -e "$SCR/never" ] && bad "usage error created output" || ok "usage errors create nothing"
[ -e "$A/compare.html" ] && bad "wrote into a run's folder" || ok "run folder untouched"

# the command line is recorded as a shell would take it back: an --out
# with a space, parentheses and a quote comes back as the same words
QOUT="$SCR/cmp (quoted) it's"
expect_exit 0 "compare into a folder a shell must quote" "$LSP" compare "$A/results.json" --out "$QOUT"
$PY -c "
import json, shlex, sys
c = json.load(open(sys.argv[1]))
assert shlex.split(c['command']) == ['lsprobe', 'compare', sys.argv[2], '--out', sys.argv[3]], c['command']
" "$QOUT/compare.json" "$A/results.json" "$QOUT" && ok "compare.json command is shell-quoted" ||
  bad "compare.json command does not split back into the argv"

# a rerun replaces the report in place (atomic publish; other files kept)
touch "$OUT/keep.txt"
expect_exit 0 "compare again into the same folder" "$LSP" compare "$B/results.json" --out "$OUT"
$PY -c "import json,sys; c=json.load(open(sys.argv[1])); assert len(c['rows'])==3" "$OUT/compare.json" \
  && ok "report replaced" || bad "report not replaced"
[ -e "$OUT/keep.txt" ] && ok "other files kept" || bad "other files removed"
finish
