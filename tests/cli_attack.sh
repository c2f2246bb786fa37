#!/usr/bin/env bash
# End-to-end: `lsprobe attack` on the PyTorch MLP case and its error paths.
. "$(dirname "$0")/e2e_common.sh"
T="$DATA/torch_mlp_tiny"
IN=(--model "$T" --x "$T/x.npy" --labels "$T/labels.npy")

# FGSM against PyTorch's numbers (case.json: acc_clean 0.53125, acc_fgsm_eps0.1 0.28125)
expect_exit 0 "fgsm on the PyTorch MLP" "$LSP" attack "${IN[@]}" --eps 0,0.1 --adv-out "$SCR/adv.npy"
grep -q '^clean accuracy 0\.5312' "$SCR/out" && ok "clean accuracy 0.5312" || bad "clean: $(cat "$SCR/out")"
grep -Eq '^ +0\.1000 +0\.2812 ' "$SCR/out" && ok "eps 0.1 accuracy 0.2812" || bad "fgsm: $(cat "$SCR/out")"
"$TOOLS/npycmp" "$SCR/adv.npy" "$T/fgsm_eps0.1_x.npy" 0 0 && ok "adversarial inputs equal PyTorch's bitwise" || bad "adversarial inputs differ from PyTorch's"

# BIM/PGD's default step is 2.5·ε/S: the same inputs, bit for bit, as the
# step given explicitly (ε = 0.1: 0.05 for 5 steps, 0.025 = ε/4 for 10)
for sc in "5 0.05" "10 0.025"; do
  set -- $sc
  expect_exit 0 "bim, $1 steps, default step" "$LSP" attack "${IN[@]}" --attack bim --eps 0.1 --steps $1 --adv-out "$SCR/bd.npy"
  grep -q "^attack bim, loss ce, $1 steps of 2.5\*eps/$1, " "$SCR/out" && ok "$1 steps: the header names the step 2.5*eps/$1" || bad "header: $(head -1 "$SCR/out")"
  expect_exit 0 "bim, $1 steps of $2" "$LSP" attack "${IN[@]}" --attack bim --eps 0.1 --steps $1 --step-size $2 --adv-out "$SCR/bs.npy"
  cmp -s "$SCR/bd.npy" "$SCR/bs.npy" && ok "$1 steps: default step = --step-size $2, bit for bit" || bad "$1 steps: default step differs from $2"
done

# uint8 inputs are 8-bit pixels: divided by 255, as a data folder's are —
# the same attack, bit for bit, as on the float32 pixels/255
/usr/bin/python3 - "$SCR" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
u = (np.random.default_rng(3).random((32, 8)) * 255).astype(np.uint8)
np.save(d + "/xu8.npy", u)
np.save(d + "/xf32.npy", u.astype(np.float32) / np.float32(255))
PY
expect_exit 0 "fgsm on uint8 pixels" "$LSP" attack --model "$T" --x "$SCR/xu8.npy" --labels "$T/labels.npy" --eps 0,0.1 --json --adv-out "$SCR/adv_u8.npy"
sed 's/"data":"[^"]*",//; s/"seconds":[^,]*,//g' "$SCR/out" >"$SCR/u8.json"
expect_exit 0 "fgsm on the same pixels as float32" "$LSP" attack --model "$T" --x "$SCR/xf32.npy" --labels "$T/labels.npy" --eps 0,0.1 --json --adv-out "$SCR/adv_f32.npy"
sed 's/"data":"[^"]*",//; s/"seconds":[^,]*,//g' "$SCR/out" >"$SCR/f32.json"
cmp -s "$SCR/u8.json" "$SCR/f32.json" && "$TOOLS/npycmp" "$SCR/adv_u8.npy" "$SCR/adv_f32.npy" 0 0 &&
  ok "uint8 pixels: the attack of pixels/255" || bad "uint8 pixels: $(cat "$SCR/u8.json") vs $(cat "$SCR/f32.json")"

# an eps below the table's four decimals, and a huge one, stay readable
expect_exit 0 "tiny and huge eps" "$LSP" attack "${IN[@]}" --eps 0,0.00002,0.1,1e20
grep -Eq '^ +0\.0000 ' "$SCR/out" && grep -Eq '^2\.00e-05 ' "$SCR/out" && grep -Eq '^1\.00e\+20 ' "$SCR/out" &&
  [ "$(grep -Ec '^ +0\.0000 ' "$SCR/out")" = 1 ] && ok "eps 2e-05 and 1e20 printed as such" || bad "eps column: $(cat "$SCR/out")"

# labels the model never predicts: no clean-correct example, so no success rate
/usr/bin/python3 -c "import numpy as np; np.save('$SCR/ybad.npy', np.load('$T/logits.npy').argmin(1).astype(np.int64))"
expect_exit 0 "no clean-correct example" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$SCR/ybad.npy" --attack bim --eps 0,0.1
grep -q 'nan' "$SCR/out" && bad "nan in the table: $(cat "$SCR/out")" || ok "rates without examples print as -"
expect_exit 0 "checks with no clean-correct example" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$SCR/ybad.npy" --attack pgd --eps 0,0.1,0.5 --checks --json
/usr/bin/python3 - "$SCR/out" <<'PY' && ok "checks skipped when nothing is correct on the clean input" || bad "checks: $(cat "$SCR/out")"
import json, sys
c = {x["name"]: x for x in json.load(open(sys.argv[1]))["masking"]["checks"]}
for n in ("pgd_le_fgsm", "accuracy_falls", "near_zero_at_large_eps", "transfer_not_stronger"):
    assert c[n]["status"] == "skipped", c[n]
assert "nothing for an attack to break" in c["accuracy_falls"]["detail"], c
PY
# BIM starts at the inputs, all misclassified: no gradient at a correct
# input, so no zero-gradient share to judge (not a pass at value -1)
expect_exit 0 "bim checks with no clean-correct example" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$SCR/ybad.npy" --attack bim --eps 0,0.1,0.5 --checks --json
/usr/bin/python3 - "$SCR/out" <<'PY' && ok "zero_grad_share skipped when no gradient is counted" || bad "zero_grad_share check: $(cat "$SCR/out")"
import json, sys
r = json.load(open(sys.argv[1]))
assert all(p["zero_grad_share"] is None for p in r["points"]), r["points"]
c = {x["name"]: x for x in r["masking"]["checks"]}["zero_grad_share"]
assert c["status"] == "skipped" and c["value"] is None and c["eps"] is None, c
PY

expect_exit 0 "fgsm --json" "$LSP" attack "${IN[@]}" --eps=0.1,0 --json
grep -q '"attack":"fgsm"' "$SCR/out" && grep -q '"loss":"ce"' "$SCR/out" &&
  grep -q '"points":\[{"eps":0.10*1*,"accuracy":0.28125,' "$SCR/out" &&
  grep -q '"clean_accuracy":0.53125' "$SCR/out" && ok "JSON has attack, loss and the points" || bad "JSON: $(cat "$SCR/out")"

# transfer from the same model = white-box; PGD with the checklist
expect_exit 0 "transfer from itself" "$LSP" attack "${IN[@]}" --eps 0.1 --transfer-from "$T" --json
grep -q '"transfer":true' "$SCR/out" && grep -q '"accuracy":0.28125' "$SCR/out" && ok "transfer from an identical model equals white-box" || bad "transfer: $(cat "$SCR/out")"
expect_exit 0 "pgd --checks" "$LSP" attack "${IN[@]}" --attack pgd --eps 0,0.1,0.3 --restarts 2 --steps 5 --checks --json
grep -q '"masking":{"flags":' "$SCR/out" && grep -q '"name":"pgd_le_fgsm"' "$SCR/out" && ok "checklist in JSON" || bad "checks: $(cat "$SCR/out")"
cp "$SCR/out" "$SCR/pgd1.json"
expect_exit 0 "pgd again, same seed" "$LSP" attack "${IN[@]}" --attack pgd --eps 0,0.1,0.3 --restarts 2 --steps 5 --checks --json
sed 's/"seconds":[^,]*,//g' "$SCR/out" >"$SCR/a" && sed 's/"seconds":[^,]*,//g' "$SCR/pgd1.json" >"$SCR/b" &&
  cmp -s "$SCR/a" "$SCR/b" && ok "same seed, same numbers" || bad "same seed gave other numbers"
# the paired evidence of the checks that compare two attacks: which examples
# each breaks, from the adversarial inputs of each attack scored in float64
# by NumPy, against b, c and p of the JSON (p: the binomial tail by math.comb)
mkdir -p "$SCR/m0" && cp "$T"/*.npy "$T/case.json" "$SCR/m0/"
/usr/bin/python3 -c "
import numpy as np
rng = np.random.default_rng(3)
for f in ['0.weight', '2.weight', '4.weight']:
    a = np.load('$SCR/m0/' + f + '.npy'); np.save('$SCR/m0/' + f + '.npy', (a + rng.normal(0, 0.3, a.shape)).astype(np.float32))"
PG=("${IN[@]}" --attack pgd --eps 0,0.1 --steps 5)
expect_exit 0 "pgd --checks with transfer" "$LSP" attack "${PG[@]}" --transfer-from "$SCR/m0" --checks --json --adv-out "$SCR/tr_adv.npy"
cp "$SCR/out" "$SCR/paired.json"
expect_exit 0 "white-box pgd inputs" "$LSP" attack "${PG[@]}" --adv-out "$SCR/pgd_adv.npy"
expect_exit 0 "white-box fgsm inputs" "$LSP" attack "${IN[@]}" --eps 0,0.1 --adv-out "$SCR/fgsm_adv.npy"
/usr/bin/python3 - "$SCR" "$T" <<'PY' && ok "checks carry b, c and p of the examples each attack breaks" || bad "paired counts: $(head -c 1500 "$SCR/paired.json")"
import json, math, sys
import numpy as np
scr, t = sys.argv[1], sys.argv[2]
r = json.load(open(f"{scr}/paired.json"))
y = np.load(f"{t}/labels.npy")
W = [np.load(f"{t}/{i}.weight.npy").astype(np.float64) for i in (0, 2, 4)]
B = [np.load(f"{t}/{i}.bias.npy").astype(np.float64) for i in (0, 2, 4)]
def correct(name):
    h = np.load(f"{scr}/{name}_adv.npy").astype(np.float64)
    for i in range(3):
        h = h @ W[i].T + B[i]
        h = np.maximum(h, 0) if i < 2 else h
    return h.argmax(1) == y
fg, pg, tr = correct("fgsm"), correct("pgd"), correct("tr")
n = r["n"]
checks = {c["name"]: c for c in r["masking"]["checks"]}
def tail(b, c):
    return sum(math.comb(b + c, k) for k in range(b, b + c + 1)) / 2 ** (b + c)
for name, sus, ref, sign in (("pgd_le_fgsm", fg, pg, 1), ("transfer_not_stronger", tr, pg, -1)):
    c = checks[name]
    assert c["eps"] == 0.1, c
    b_want, c_want = int((ref & ~sus).sum()), int((sus & ~ref).sum())
    assert (c["b"], c["c"]) == (b_want, c_want), (name, c, b_want, c_want)
    # b - c over n is exactly the accuracy difference the check judges
    assert c["b"] - c["c"] == round(sign * n * (c["value"] - c["reference"])), c
    assert abs(sign * n * (c["value"] - c["reference"]) - (c["b"] - c["c"])) < 1e-9, c
    assert abs(c["p_value"] - tail(c["b"], c["c"])) <= 1e-12, c
    assert f"McNemar p = " in c["detail"], c
for name in ("accuracy_falls", "near_zero_at_large_eps", "zero_grad_share"):
    assert checks[name]["b"] is None and checks[name]["p_value"] is None, checks[name]
# not a trivial case: both attacks break different examples somewhere
assert checks["pgd_le_fgsm"]["b"] + checks["transfer_not_stronger"]["c"] > 0, checks
PY
expect_exit 0 "bim, margin loss, targeted class 2" "$LSP" attack "${IN[@]}" --attack bim --loss margin --target 2 --eps 0.2
grep -q 'to_target' "$SCR/out" && ok "targeted output has the target rate" || bad "targeted: $(cat "$SCR/out")"
expect_exit 0 "fgsm-targeted least-likely, smoothed loss" "$LSP" attack "${IN[@]}" --attack fgsm-targeted --loss smoothed --smoothing 0.1 --eps 0.2
# a trained .lspm records its smoothing: --loss smoothed uses it, --data works
expect_exit 0 "train a small model" "$LSP" train --data synthetic --smoothing 0.2 --hidden 16 --epochs 2 --out "$SCR/syn.lspm" --quiet --threads 1
expect_exit 0 "smoothed loss from the model file" "$LSP" attack --model "$SCR/syn.lspm" --data synthetic --split val --limit 200 --loss smoothed --eps 0,0.3 --json
grep -q '"loss":"smoothed","loss_smoothing":0.2' "$SCR/out" && grep -q '"split":"val","threads":[0-9]*,"attack":"fgsm"' "$SCR/out" &&
  grep -q '"n":200,' "$SCR/out" && ok "the model's smoothing, the val split and the limit are used" || bad "lspm: $(cat "$SCR/out")"
# a model whose finite weights give non-finite logits: refused by every
# attack, naming the file — also where it only scores (transfer) or where
# only its clean logits overflow (Square)
cp -r "$T" "$SCR/nanmlp"
/usr/bin/python3 -c "
import numpy as np
for n in ('0', '4'):
    np.save('$SCR/nanmlp/%s.weight.npy' % n, np.load('$T/%s.weight.npy' % n) * np.float32(1e30))"
for a in "fgsm" "square --queries 20" "apgd-ce" "pgd --steps 2 --transfer-from $T" "fgsm --transfer-from $T"; do
  expect_exit 1 "non-finite logits: $a" "$LSP" attack --model "$SCR/nanmlp" --x "$T/x.npy" --labels "$T/labels.npy" --eps 0,0.1 --attack $a
  grep -q "nanmlp: \(scoring\|crafting\): non-finite logit" "$SCR/err" && ok "$a: the model named" || bad "$a: $(cat "$SCR/err")"
done
expect_exit 1 "crafting on non-finite logits" "$LSP" attack --model "$T" --transfer-from "$SCR/nanmlp" --x "$T/x.npy" --labels "$T/labels.npy" --eps 0,0.1
grep -q "nanmlp: crafting: non-finite logit" "$SCR/err" && ok "the crafting model named" || bad "crafting: $(cat "$SCR/err")"

# --split val is the split the model was trained without (its record), as in eval
expect_exit 0 "train with 300 held out" "$LSP" train --data synthetic --smoothing 0 --val 300 --hidden 16 --epochs 1 --out "$SCR/v300.lspm" --quiet --threads 1
expect_exit 0 "attack its validation split" "$LSP" attack --model "$SCR/v300.lspm" --data synthetic --split val --eps 0 --json
grep -q '"split":"val",.*"n":300,' "$SCR/out" && ok "--split val: the model's 300 held-out examples" || bad "val split: $(cat "$SCR/out")"
expect_exit 1 "the validation split of other data" "$LSP" attack --model "$SCR/v300.lspm" --data synthetic:sep=4 --split val --eps 0
grep -q "its validation split is not the one .*v300.lspm was trained without" "$SCR/err" && ok "other data's validation split refused" || bad "other data: $(cat "$SCR/err")"
expect_exit 0 "the test split of other data" "$LSP" attack --model "$SCR/v300.lspm" --data synthetic:sep=4 --eps 0
# --smoothing alone keeps the model's convention; --convention alone its eps
expect_exit 0 "train a t2t model" "$LSP" train --data synthetic --smoothing 0.2 --convention t2t --hidden 16 --epochs 2 --out "$SCR/t2t.lspm" --quiet --threads 1
TT=(--model "$SCR/t2t.lspm" --data synthetic --limit 100 --loss smoothed --eps 0.1)
expect_exit 0 "the model's smoothing" "$LSP" attack "${TT[@]}" --adv-out "$SCR/own.npy"
grep -q '^attack fgsm, loss smoothed (eps 0.2, t2t)' "$SCR/out" && ok "the smoothing is printed" || bad "header: $(head -1 "$SCR/out")"
expect_exit 0 "--smoothing 0.2 on a t2t model" "$LSP" attack "${TT[@]}" --smoothing 0.2 --json --adv-out "$SCR/given.npy"
grep -q '"loss_smoothing":0.2,"loss_convention":"t2t"' "$SCR/out" && "$TOOLS/npycmp" "$SCR/given.npy" "$SCR/own.npy" 0 0 &&
  ok "--smoothing keeps the model's t2t convention" || bad "--smoothing on t2t: $(head -c 300 "$SCR/out")"
expect_exit 0 "--convention uniform on a t2t model" "$LSP" attack "${TT[@]}" --convention uniform --json
grep -q '"loss_smoothing":0.2,"loss_convention":"uniform"' "$SCR/out" && ok "--convention alone takes the model's eps" || bad "--convention: $(head -c 300 "$SCR/out")"
expect_exit 2 "--queries with fgsm" "$LSP" attack --model "$SCR/t2t.lspm" --data synthetic --queries 20
expect_err "--queries goes with --attack square or autoattack" "--queries with fgsm"
expect_exit 2 "--targets with pgd" "$LSP" attack --model "$SCR/t2t.lspm" --data synthetic --attack pgd --targets 3
expect_err "--targets goes with --attack apgd-t or autoattack" "--targets with pgd"
expect_exit 2 "--convention without --loss smoothed" "$LSP" attack --model "$SCR/t2t.lspm" --data synthetic --convention t2t
expect_err "--convention goes with --loss smoothed" "--convention without --loss smoothed"
expect_exit 2 "--convention on an export without smoothing" "$LSP" attack "${IN[@]}" --loss smoothed --convention t2t
expect_err "--smoothing too" "--convention on an export without smoothing"
# a target's DLR, −(z_t − max_{j≠t} z_j)/(z_π1 − z_π3), is identically 1
# when the target ranks third (z_π3 = z_t): on 3 classes the least-likely
# target never moves an input; a targeted attack refuses it
expect_exit 2 "targeted fgsm with the dlr loss" "$LSP" attack "${IN[@]}" --attack fgsm-targeted --loss dlr --eps 0.1
grep -q "apgd-t" "$SCR/err" && ok "the refusal names apgd-t" || bad "message: $(cat "$SCR/err")"
expect_exit 2 "bim --target with the dlr loss" "$LSP" attack "${IN[@]}" --attack bim --loss dlr --target 1 --eps 0.1
# the AutoAttack family on the trained model (10 classes), small budgets
S=(--model "$SCR/syn.lspm" --data synthetic --limit 60 --eps 0,0.1,0.3 --steps 10 --queries 100)
expect_exit 0 "autoattack --checks --json" "$LSP" attack "${S[@]}" --attack autoattack --checks --json --adv-out "$SCR/aa.npy"
/usr/bin/python3 - "$SCR/out" "$SCR/aa.npy" <<'PY' && ok "autoattack: stages, queries, checks, inputs" || bad "autoattack JSON: $(head -c 600 "$SCR/out")"
import json, sys
import numpy as np
r = json.load(open(sys.argv[1]))
assert r["attack"] == "autoattack" and r["steps"] == 10 and r["queries"] == 100 and r["targets"] == 9
assert r["shape"] == [1, 8, 8], r["shape"]
for p in r["points"]:
    st = p["stages"]
    assert st["apgd-ce"] >= st["apgd-t"] >= st["square"] == p["accuracy_raw"]
    assert "queries_mean" in p and "queries" in p
names = [c["name"] for c in r["masking"]["checks"]]
assert names[-2:] == ["black_box_not_stronger", "apgd_ce_not_weaker"], names
# each later stage attacks only what the earlier left: b = the drop in
# examples at the check's eps, c = 0, p = 2^-b
for c, hi, lo in ((r["masking"]["checks"][-2], "apgd-t", "square"),
                  (r["masking"]["checks"][-1], "apgd-ce", "apgd-t")):
    st = next(p["stages"] for p in r["points"] if p["eps"] == c["eps"])
    assert c["b"] == round(r["n"] * (st[hi] - st[lo])) and c["c"] == 0, c
    assert abs(c["p_value"] - 0.5 ** c["b"]) <= 1e-15, c
assert r["white_box_pgd"]["attack"] == "pgd"
adv = np.load(sys.argv[2])
assert adv.shape == (60, 64) and adv.min() >= 0 and adv.max() <= 1
PY
cp "$SCR/out" "$SCR/aa1.json"
expect_exit 0 "autoattack again, 1 thread" "$LSP" attack "${S[@]}" --attack autoattack --checks --json --threads 1
sed 's/"seconds":[^,]*,//g; s/"threads":[0-9]*,//' "$SCR/out" >"$SCR/a" && sed 's/"seconds":[^,]*,//g; s/"threads":[0-9]*,//' "$SCR/aa1.json" >"$SCR/b" &&
  cmp -s "$SCR/a" "$SCR/b" && ok "same seed, any thread count: same numbers" || bad "autoattack numbers depend on the run"
# every attack's numbers are the same bits at 1, 2 and 3 threads (a model
# wide enough for OpenBLAS to split its GEMMs among threads when allowed;
# batches of 64 rows, so that every attack's passes have several batches to
# share among the threads; the transfer crafts on another model)
expect_exit 0 "train a wider model" "$LSP" train --data synthetic --smoothing 0.1 --hidden 64 --epochs 2 --out "$SCR/wide.lspm" --quiet --threads 1
for a in fgsm bim pgd apgd-ce apgd-t autoattack square transfer-fgsm transfer-pgd; do
  case $a in
    transfer-fgsm) A=(--attack fgsm --transfer-from "$SCR/syn.lspm" --limit 600) ;;
    transfer-pgd) A=(--attack pgd --transfer-from "$SCR/syn.lspm" --limit 300 --checks) ;;
    fgsm) A=(--attack fgsm --limit 200) ;;
    pgd | bim) A=(--attack "$a" --limit 200 --restarts 2) ;;
    *) A=(--attack "$a" --limit 200 --steps 10 --queries 100) ;;
  esac
  for t in 1 2 3; do
    "$LSP" attack --model "$SCR/wide.lspm" --data synthetic --eps 0,0.05,0.1,0.3 "${A[@]}" --batch 64 --json --threads $t 2>/dev/null |
      sed 's/"seconds":[^,]*,//g; s/"threads":[0-9]*,//' >"$SCR/thr$t.json"
  done
  [ -s "$SCR/thr1.json" ] && cmp -s "$SCR/thr1.json" "$SCR/thr2.json" && cmp -s "$SCR/thr1.json" "$SCR/thr3.json" &&
    ok "$a: the same JSON at 1, 2 and 3 threads" || bad "$a: the JSON depends on the thread count"
done
for a in apgd-ce apgd-dlr apgd-t square; do
  expect_exit 0 "$a" "$LSP" attack "${S[@]}" --attack "$a"
  grep -q "^attack $a, loss" "$SCR/out" && ok "$a prints its settings" || bad "$a: $(head -3 "$SCR/out")"
done
grep -q 'queries(mean median)' "$SCR/out" && ok "square reports its queries" || bad "square: $(cat "$SCR/out")"
# a stage's foreign options are accepted and named as ignored (S has --steps and --queries)
grep -q '^lsprobe: attack: WARNING: --steps does not apply to --attack square: ignored$' "$SCR/err" &&
  ok "square names --steps as ignored" || bad "square: $(cat "$SCR/err")"
expect_exit 0 "apgd-ce with square's and apgd-t's options" "$LSP" attack "${S[@]}" --attack apgd-ce --targets 3 --p-init 0.5
grep -q '^lsprobe: attack: WARNING: --targets, --queries, --p-init do not apply to --attack apgd-ce: ignored$' "$SCR/err" &&
  ok "apgd-ce names the options it ignores" || bad "apgd-ce: $(cat "$SCR/err")"
# BIM starts at the input itself: --restarts would repeat the same attack,
# so it is named as ignored and the attack runs once, with the numbers of
# a run without it
expect_exit 0 "bim without --restarts" "$LSP" attack "${IN[@]}" --attack bim --eps 0,0.1 --json
sed 's/"seconds":[^,]*,//g; s/"gflop":[^,}]*//' "$SCR/out" >"$SCR/bim1.json"
expect_exit 0 "bim --restarts 3" "$LSP" attack "${IN[@]}" --attack bim --eps 0,0.1 --restarts 3 --json
sed 's/"seconds":[^,]*,//g; s/"gflop":[^,}]*//' "$SCR/out" >"$SCR/bim3.json"
grep -q '^lsprobe: attack: WARNING: --restarts does not apply to --attack bim (no random start: every restart would repeat the first): ignored' "$SCR/err" &&
  grep -q '"restarts":1,' "$SCR/bim3.json" && cmp -s "$SCR/bim1.json" "$SCR/bim3.json" &&
  ok "bim names --restarts as ignored and attacks once" || bad "bim --restarts: $(cat "$SCR/err") $(cat "$SCR/bim3.json")"
expect_exit 0 "bim --restarts 3 as text" "$LSP" attack "${IN[@]}" --attack bim --eps 0.1 --restarts 3
grep -q '^attack bim, loss ce, 10 steps of 2.5\*eps/10, 1 restart,' "$SCR/out" && ok "bim's header: 1 restart" || bad "bim header: $(head -1 "$SCR/out")"
# an ε above the width of the input range lets the attack move an input
# anywhere (--eps 8 meant as 8/255): a warning naming it and ε/255, not a
# refusal; none for an ε within the range
expect_exit 0 "fgsm --eps 0,0.1,8" "$LSP" attack "${IN[@]}" --eps 0,0.1,8
grep -qx 'lsprobe: attack: WARNING: --eps 8: reaches or exceeds the width 1 of the input range \[0, 1\], so the attack may move an input anywhere in the range and its accuracy measures nothing; ε is in the inputs'"'"' units (the \[0, 1\] pixel scale): if 0-255 pixel steps were meant, give ε/255 (8/255 = 0.0313725)' "$SCR/err" &&
  grep -Eq '^ +8\.0000 ' "$SCR/out" && ok "--eps 8 on [0, 1] warns, suggesting 8/255, and runs" || bad "--eps 8: $(cat "$SCR/err")"
expect_exit 0 "fgsm --eps 0,0.5" "$LSP" attack "${IN[@]}" --eps 0,0.5
grep -q 'WARNING: --eps' "$SCR/err" && bad "--eps 0.5 on [0, 1] warned: $(cat "$SCR/err")" || ok "an ε below the range's width: no warning"
# ε = the width already lets the ball hold the whole range; values as given
expect_exit 0 "fgsm --eps 0,1,1.0000001" "$LSP" attack "${IN[@]}" --eps 0,1,1.0000001
grep -q "WARNING: --eps 1,1.0000001: reach or exceed the width 1 .*(1/255 = 0.00392157, 1.0000001/255 = 0.00392157)" "$SCR/err" &&
  ok "--eps 1 on [0, 1] warns; 1.0000001 named as given" || bad "--eps 1: $(cat "$SCR/err")"
expect_exit 0 "fgsm --lo -1 --hi 1 --eps 1.5,3,4" "$LSP" attack "${IN[@]}" --lo -1 --hi 1 --eps 1.5,3,4
grep -q 'WARNING: --eps 3,4: reach or exceed the width 2 of the input range \[-1, 1\], .*inputs'"'"' units$' "$SCR/err" &&
  ok "--eps above --hi - --lo: named, without the pixel hint" || bad "--lo/--hi eps warning: $(cat "$SCR/err")"
expect_exit 0 "apgd-t with --targets" "$LSP" attack "${S[@]}" --attack apgd-t --targets 3
grep -q 'targets' "$SCR/err" && bad "apgd-t: --targets named as ignored: $(cat "$SCR/err")" || ok "apgd-t takes --targets"
expect_exit 0 "autoattack with every stage's options" "$LSP" attack "${S[@]}" --attack autoattack --targets 3 --p-init 0.5
grep -q 'ignored' "$SCR/err" && bad "autoattack: $(cat "$SCR/err")" || ok "autoattack ignores none of its stages' options"
expect_exit 0 "pgd with the dlr loss" "$LSP" attack --model "$SCR/syn.lspm" --data synthetic --limit 60 --eps 0,0.1 --attack pgd --loss dlr --json
grep -q '"loss":"dlr"' "$SCR/out" && ok "dlr loss for PGD" || bad "pgd dlr: $(cat "$SCR/out")"
# a network that starts with a convolution (Square through the model's own
# forward pass, APGD through the convolution's gradient)
expect_exit 0 "train a small CNN" "$LSP" train --arch "conv(4,1) relu dense(16) relu" --data synthetic --epochs 2 --smoothing 0 --out "$SCR/cnn.lspm" --quiet --threads 1
expect_exit 0 "autoattack on a CNN" "$LSP" attack --model "$SCR/cnn.lspm" --data synthetic --limit 60 --eps 0,0.1,0.3 --attack autoattack --steps 10 --queries 100 --json
/usr/bin/python3 - "$SCR/out" <<'PY' && ok "autoattack on a CNN: stages in order" || bad "CNN autoattack: $(head -c 400 "$SCR/out")"
import json, sys
r = json.load(open(sys.argv[1]))
for p in r["points"]:
    st = p["stages"]
    assert st["apgd-ce"] >= st["apgd-t"] >= st["square"] == p["accuracy_raw"]
assert r["points"][-1]["accuracy"] < r["clean_accuracy"]
PY
# a network whose stride-2 3x3 convolution without padding never reads row
# and column 27 of a 28x28 image: those 55 = 784 - 27*27 gradient components
# are zero by construction and stay out of zero_grad_share, which must equal
# PyTorch's float64 count of exactly-zero components among the read pixels
# of the clean-correct rows; with padding 1 every pixel is read and the
# share is over all 784
if /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null; then
  for pad in 0 1; do
    /usr/bin/python3 - "$SCR" "$pad" <<'PY' || bad "PyTorch model with padding $pad"
import sys, numpy as np, torch
scr, pad = sys.argv[1], int(sys.argv[2])
torch.manual_seed(7 + pad)
m = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3, stride=2, padding=pad), torch.nn.ReLU(),
                        torch.nn.Flatten(), torch.nn.Linear(169 if pad == 0 else 196, 10))
rng = np.random.default_rng(11)
x = rng.uniform(0, 1, (64, 1, 28, 28)).astype(np.float32)
y = rng.integers(0, 10, 64)
np.save(f"{scr}/sx.npy", x.reshape(64, 784))
np.save(f"{scr}/sy.npy", y.astype(np.int64))
torch.onnx.export(m, torch.from_numpy(x[:1]), f"{scr}/s{pad}.onnx", input_names=["x"],
                  output_names=["logits"], dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
m = m.double()
xt = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
z = m(xt)
torch.nn.functional.cross_entropy(z, torch.from_numpy(y), reduction="sum").backward()
g = xt.grad.numpy()[:, 0]
read = np.zeros((28, 28), bool)
for r in range(0, 28 - 3 + 2 * pad + 1, 2):  # window rows r-pad .. r-pad+2 inside the image
    for c in range(0, 28 - 3 + 2 * pad + 1, 2):
        read[max(r - pad, 0):min(r - pad + 3, 28), max(c - pad, 0):min(c - pad + 3, 28)] = True
ok = z.detach().numpy().argmax(1) == y  # the share counts the clean-correct rows only
zeros = int((g[ok][:, read] == 0).sum())
assert 0 < ok.sum() < 64 and 0 < zeros < ok.sum() * read.sum(), (ok.sum(), zeros)
with open(f"{scr}/s{pad}.want", "w") as f:
    f.write(f"{784 - read.sum()} {zeros} {ok.sum() * read.sum()}\n")
PY
    expect_exit 0 "fgsm on the stride-2 convolution, padding $pad" "$LSP" attack --model "$SCR/s$pad.onnx" --x "$SCR/sx.npy" --labels "$SCR/sy.npy" --eps 0,0.1 --json
    /usr/bin/python3 - "$SCR/out" "$SCR/s$pad.want" "$pad" <<'PY' && ok "padding $pad: unread inputs and zero_grad_share as PyTorch's float64 count" || bad "padding $pad: $(head -c 500 "$SCR/out"); want $(cat "$SCR/s$pad.want")"
import json, sys
r = json.load(open(sys.argv[1]))
unread, zeros, total = map(int, open(sys.argv[2]).read().split())
assert unread == (55 if sys.argv[3] == "0" else 0), unread
assert r["unread_inputs"] == unread, r["unread_inputs"]
for p in r["points"]:
    assert p["zero_grad_share"] == zeros / total, (p["zero_grad_share"], zeros, total)
PY
  done
  expect_exit 0 "the text output names the unread inputs" "$LSP" attack --model "$SCR/s0.onnx" --x "$SCR/sx.npy" --labels "$SCR/sy.npy" --eps 0.1
  grep -q '^55 of 784 input components are never read by the model: zero_grad counts the other 729$' "$SCR/out" &&
    ok "text output: 55 of 784 never read" || bad "text: $(cat "$SCR/out")"
  expect_exit 0 "a model reading every pixel" "$LSP" attack --model "$SCR/s1.onnx" --x "$SCR/sx.npy" --labels "$SCR/sy.npy" --eps 0.1
  grep -q 'never read' "$SCR/out" && bad "unread line for a model reading all: $(cat "$SCR/out")" || ok "no unread line when every input is read"
  # N x C x L inputs of a 1-D network (a grouped Conv1d, max over the
  # length) taken by --x as they are: FGSM as PyTorch's float64 one; an
  # N x H x W file of as many values but another shape refused
  /usr/bin/python3 - "$SCR" <<'PY' || bad "PyTorch 1-D model"
import sys, numpy as np, torch
scr = sys.argv[1]
torch.manual_seed(5)
class Net(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.c = torch.nn.Conv1d(3, 6, 5, stride=2, padding=3, groups=3)
        s.fc = torch.nn.Linear(6, 4)
    def forward(s, x):
        return s.fc(torch.relu(s.c(x)).amax(2))
m = Net().eval()
rng = np.random.default_rng(12)
x = rng.uniform(0.1, 0.9, (32, 3, 15)).astype(np.float32)
y = rng.integers(0, 4, 32)
np.save(f"{scr}/x1d.npy", x)
np.save(f"{scr}/x1d_t.npy", np.ascontiguousarray(x.transpose(0, 2, 1)))
np.save(f"{scr}/y1d.npy", y.astype(np.int64))
torch.onnx.export(m, torch.from_numpy(x[:1]), f"{scr}/c1d.onnx", input_names=["x"], opset_version=13,
                  output_names=["logits"], dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
m = m.double()
xt = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
torch.nn.functional.cross_entropy(m(xt), torch.from_numpy(y), reduction="sum").backward()
np.save(f"{scr}/x1d_fgsm.npy", np.clip(x + 0.05 * np.sign(xt.grad.numpy()), 0, 1))
PY
  expect_exit 0 "fgsm with --x of N x C x L on a 1-D network" "$LSP" attack --model "$SCR/c1d.onnx" --x "$SCR/x1d.npy" --labels "$SCR/y1d.npy" --eps 0.05 --adv-out "$SCR/x1d_adv.npy"
  /usr/bin/python3 -c 'import sys, numpy as np; a, b = np.load(sys.argv[1]), np.load(sys.argv[2]); assert np.abs(a.reshape(b.shape) - b).max() < 1e-6' "$SCR/x1d_adv.npy" "$SCR/x1d_fgsm.npy" &&
    ok "1-D network: FGSM inputs as PyTorch's float64" || bad "1-D network: FGSM inputs differ from PyTorch's"
  # --adv-out has the shape of --x (N x C x L here), not N x D
  /usr/bin/python3 -c 'import sys, numpy as np; a, x = np.load(sys.argv[1]), np.load(sys.argv[2]); assert a.shape == x.shape and x.ndim == 3, (a.shape, x.shape)' "$SCR/x1d_adv.npy" "$SCR/x1d.npy" &&
    ok "--adv-out keeps the N x C x L shape of --x" || bad "--adv-out shape differs from --x's"
  expect_exit 1 "--x of N x L x C on a 1-D network" "$LSP" attack --model "$SCR/c1d.onnx" --x "$SCR/x1d_t.npy" --labels "$SCR/y1d.npy" --eps 0.05
  expect_err "c1d.onnx takes 3x15x1 inputs but $SCR/x1d_t.npy holds 15x3 arrays" "--x of the wrong 3-D shape"
else
  skipped "zero_grad_share against PyTorch: /usr/bin/python3 lacks torch or onnx"
fi
# a PyTorch export of Fashion-MNIST when the data set is installed
if [ -d "${LSPROBE_DATA:-/usr/share/datasets/fashion-mnist}" ]; then
  expect_exit 0 "autoattack on a PyTorch export" "$LSP" attack --model "$DATA/aa_fmnist/mlp_ls0" --data fashion-mnist --limit 40 --eps 0.1 --attack autoattack --steps 10 --queries 50
  grep -q 'inputs as 1x28x28' "$SCR/out" && grep -Eq '^ +0\.1000 ' "$SCR/out" && ok "PyTorch export: 28x28 squares, a result" || bad "export: $(cat "$SCR/out")"
else
  skipped "autoattack on the PyTorch export: Fashion-MNIST is not installed"
fi

expect_exit 1 "model does not fit the dataset" "$LSP" attack --model "$T" --data synthetic
expect_err "takes 8 inputs but synthetic has 64" "model does not fit the dataset"
expect_exit 0 "--help" "$LSP" attack --help
grep -q -- '--transfer-from' "$SCR/out" && ok "help lists options" || bad "help"

# usage errors: exit 2, one line naming the option
A=("$LSP" attack "${IN[@]}" --adv-out "$SCR/no.npy")
expect_exit 2 "negative eps" "${A[@]}" --eps 0,-0.1
expect_err "--eps" "negative eps"
expect_exit 2 "eps not a number" "${A[@]}" --eps 0,abc
expect_err "not a number" "eps not a number"
expect_exit 2 "unknown attack" "${A[@]}" --attack cw
expect_err "--attack" "unknown attack"
expect_exit 2 "unknown loss" "${A[@]}" --loss hinge
expect_err "--loss" "unknown loss"
expect_exit 2 "steps 0" "${A[@]}" --attack pgd --steps 0
expect_err "--steps" "steps 0"
expect_exit 2 "step size 0" "${A[@]}" --attack pgd --step-size 0
expect_err "--step-size" "step size 0"
expect_exit 2 "restarts -1" "${A[@]}" --attack pgd --restarts -1
expect_err "--restarts" "restarts -1"
expect_exit 2 "target out of range" "${A[@]}" --attack fgsm-targeted --target 7
expect_err "--target" "target out of range"
expect_exit 2 "bad target" "${A[@]}" --target most-likely
expect_err "--target" "bad target"
expect_exit 2 "--smoothing without --loss smoothed" "${A[@]}" --smoothing 0.1
expect_err "--smoothing" "--smoothing without --loss smoothed"
expect_exit 2 "smoothed loss, model without smoothing" "${A[@]}" --loss smoothed
expect_err "smoothing" "smoothed loss, model without smoothing"
expect_exit 2 "--checks with fgsm" "${A[@]}" --checks
expect_err "--checks" "--checks with fgsm"
expect_exit 2 "--checks with apgd-ce" "${A[@]}" --attack apgd-ce --checks
expect_err "--checks" "--checks with apgd-ce"
expect_exit 2 "--loss with apgd-ce" "${A[@]}" --attack apgd-ce --loss margin
expect_err "--loss does not go with --attack apgd-ce" "--loss with apgd-ce"
expect_exit 2 "--transfer-from with autoattack" "${A[@]}" --attack autoattack --transfer-from "$T"
expect_err "--transfer-from" "--transfer-from with autoattack"
expect_exit 2 "--queries with pgd" "${A[@]}" --attack pgd --queries 10
expect_err "--queries goes with" "--queries with pgd"
expect_exit 2 "--queries 0" "${A[@]}" --attack square --queries 0
expect_err "--queries" "--queries 0"
expect_exit 2 "--p-init 0" "${A[@]}" --attack square --p-init 0
expect_err "--p-init" "--p-init 0"
expect_exit 2 "--p-init above 1" "${A[@]}" --attack square --p-init 1.5
expect_err "--p-init" "--p-init above 1"
expect_exit 2 "--targets 0" "${A[@]}" --attack apgd-t --targets 0
expect_err "--targets" "--targets 0"
# 3 classes: too few for the targeted DLR loss (a data error of the model)
expect_exit 1 "autoattack on 3 classes" "${A[@]}" --attack autoattack
expect_err "at least 4 classes" "autoattack on 3 classes"
expect_exit 2 "no data" "$LSP" attack --model "$T"
expect_err "--data" "no data"
expect_exit 2 "both --data and --x" "${A[@]}" --data synthetic
expect_err "either --data" "both --data and --x"
expect_exit 2 "missing --model" "$LSP" attack --x "$T/x.npy" --labels "$T/labels.npy"
expect_err "--model is required" "missing --model"
# data errors: exit 1, one line naming the file
C="$DATA/lsce_n1024_k10_eps0.1"
expect_exit 1 "model does not fit the data" "$LSP" attack --model "$T" --x "$C/logits.npy" --labels "$C/labels.npy" --adv-out "$SCR/no.npy"
expect_err "takes 8 inputs" "model does not fit the data"
/usr/bin/python3 -c "from npy_write import npy; npy('$SCR/x0.npy', '<f4', '(0, 8)', 'f', []); npy('$SCR/y0.npy', '<i8', '(0,)', 'q', [])"
expect_exit 1 "no rows" "$LSP" attack --model "$T" --x "$SCR/x0.npy" --labels "$SCR/y0.npy"
expect_err "x0.npy: no examples" "no rows"
expect_exit 1 "labels beyond the model's classes" "$LSP" attack --model "$T" --x "$T/x.npy" --labels "$C/labels.npy"
expect_err "labels.npy" "labels beyond the model's classes"
expect_exit 1 "inputs outside the bounds" "${A[@]}" --hi 0.5
expect_err "outside the bounds" "inputs outside the bounds"
expect_exit 1 "missing model" "$LSP" attack --model "$SCR/none" --x "$T/x.npy" --labels "$T/labels.npy"
expect_err "none" "missing model"
expect_exit 1 "missing transfer model" "${A[@]}" --transfer-from "$SCR/none0"
expect_err "none0" "missing transfer model"
[ ! -e "$SCR/no.npy" ] && ok "no output written on failure" || bad "output written on failure"
ls "$SCR" | grep -q '\.tmp\.' && bad "temporary file left behind" || ok "no temporary left behind"

finish
