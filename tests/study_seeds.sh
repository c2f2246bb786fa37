#!/usr/bin/env bash
# End-to-end: the default study's verdicts do not flip with the seeds.
# `lsprobe run` on Fashion-MNIST with the default ε grid (0, 0.05, 0.1, 0.2),
# once with seeds {1,2,3} and once with {4,5,6} — fewer epochs and smaller
# attack subsets than the default (AutoAttack, as by default, on the ε = 0
# and ε = 0.1 models, on 100 examples instead of 200), to fit CI — and no verdict (the
# findings', and every per-ε comparison's) may move from supported to
# contradicted or back. Also: each finding quotes the study's aggregates
# (the means its Δ comes from), every smoothed ε is compared with ε = 0 for
# every summary, and `compare` reads both results.json.
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  skipped "Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)"
  finish
fi
small=(--epochs 2 --attack-limit 300 --aa-limit 100 --bootstrap 50 --mi-examples 20 --mi-copies 4 --threads 2)
expect_exit 0 "study seeds 1,2,3" "$LSP" run "${small[@]}" --seeds 1,2,3 --out "$SCR/a"
expect_exit 0 "study seeds 4,5,6" "$LSP" run "${small[@]}" --seeds 4,5,6 --out "$SCR/b"
$PY - "$SCR/a/results.json" "$SCR/b/results.json" <<'PY' && ok "no verdict flips between seeds {1,2,3} and {4,5,6}" || bad "a verdict flipped"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
opp = {("supported", "contradicted"), ("contradicted", "supported")}
fa = {f["topic"]: f["verdict"] for f in a["findings"]}
fb = {f["topic"]: f["verdict"] for f in b["findings"]}
assert set(fa) == set(fb) and len(fa) == 5, (fa, fb)
bad = [(t, fa[t], fb[t]) for t in fa if (fa[t], fb[t]) in opp]
ca = {(c["summary"], c["eps"]): c.get("verdict") for c in a["study"]["comparisons"]}
cb = {(c["summary"], c["eps"]): c.get("verdict") for c in b["study"]["comparisons"]}
assert set(ca) == set(cb)
bad += [(k, ca[k], cb[k]) for k in ca if (ca[k], cb[k]) in opp]
for t in fa:
    print("   %-12s %-13s %s" % (t, fa[t], fb[t]))
if bad:
    print("flipped:", bad)
    sys.exit(1)
PY
$PY - "$SCR/a/results.json" <<'PY' && ok "findings quote the study's aggregates; every smoothed ε vs 0 for every summary" || bad "study structure"
import json, sys
r = json.load(open(sys.argv[1]))
s = r["study"]
assert s["judged_eps"] == 0.1 and "resamples" not in s and s["example_resamples"] == 50
assert len(s["cells"]) == 12
# the robustness finding is judged with AutoAttack, run on the ε = 0 and 0.1 cells
rob = next(f for f in r["findings"] if f["topic"] == "pgd")
assert "Judged with AutoAttack" in rob["evidence"] and r["config"]["n_autoattack"] == 100, rob
aa = s["summaries"].index("auc_aa")
assert all((c["values"][aa] is not None) == (c["eps"] in (0, 0.1)) for c in s["cells"])
cmp = {(c["summary"], c["eps"]): c for c in s["comparisons"]}
for e in (0.05, 0.1, 0.2):
    for m in s["summaries"]:
        assert (m, e) in cmp, (m, e)
        c = cmp[(m, e)]
        if c["mean"] is not None:
            assert c["seeds"] == 3 and c["few_seeds"]  # fewer than 5 seeds: said
            assert abs(c["diff"] - (c["mean"] - c["mean_base"])) < 1e-12
            assert c["ci"][0] < c["ci"][1], "collapsed interval"
# the means a finding quotes are the study's, at the judged ε
acc = next(f for f in r["findings"] if f["topic"] == "accuracy")
c = cmp[("accuracy", 0.1)]
for v in (c["mean"], c["mean_base"], c["diff"]):
    assert ("%.4f" % abs(v)) in acc["evidence"], (v, acc["evidence"][:300])
assert acc["judged_eps"] == 0.1
# the few-seeds caveat once a finding, however many summaries it quotes
for f in r["findings"]:
    if f["topic"] in ("accuracy", "calibration", "clusters", "fgsm", "pgd"):
        assert f["evidence"].count("[only 3 seeds") == 1, (f["topic"], f["evidence"].count("[only 3 seeds"))
# the trends: every summary at every ε with the seeds' spread
t = [x for x in s["trends"] if x["summary"] == "accuracy"]
assert len(t) == 4 and all(x["n"] == 3 and x["sd"] is not None for x in t)
PY
expect_exit 0 "compare reads both" "$LSP" compare "$SCR/a" "$SCR/b" --out "$SCR/cmp"
grep -q "The study: the summaries the claims are judged on" "$SCR/a/report.html" &&
  grep -q "The NLL, the temperature and the mean logit gap are in the table below" "$SCR/a/report.html" &&
  grep -q "plots/study_trends.svg" "$SCR/a/report.md" && [ -s "$SCR/a/plots/study_trends.svg" ] &&
  ok "report has the study figure" || bad "no study figure in the report"
finish
