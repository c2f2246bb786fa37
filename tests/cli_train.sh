#!/usr/bin/env bash
# End-to-end: `lsprobe train` and `lsprobe eval` on the synthetic mixture and
# the PyTorch export, their outputs, determinism and error paths.
. "$(dirname "$0")/e2e_common.sh"
SYN="synthetic:train=1200,test=600,dim=16,classes=4,sep=4"
Q=(--hidden 24 --epochs 4 --batch 32 --threads 1)

expect_exit 0 "train on synthetic" "$LSP" train --data "$SYN" --smoothing 0.1 "${Q[@]}" --out "$SCR/a.lspm"
grep -q '^trained 16-24-4 on synthetic' "$SCR/out" && ok "prints the summary" || bad "summary: $(cat "$SCR/out")"
[ "$(grep -c '^epoch [1-4]/4  loss .* val_acc ' "$SCR/err")" -eq 4 ] && ok "one progress line per epoch off a terminal" || bad "progress: $(cat "$SCR/err")"
[ -s "$SCR/a.lspm" ] && ok "model written" || bad "no model"
# the epoch line's val_nll is the plain NLL eval reports on the same split;
# val_loss the smoothed loss, above it
vn=$(sed -n 's|^epoch 4/4 .* val_loss \([0-9.]*\)  val_nll \([0-9.]*\)  val_acc .*|\1 \2|p' "$SCR/err")
"$LSP" eval --model "$SCR/a.lspm" --data "$SYN" --split val --json 2>/dev/null >"$SCR/ev.json"
/usr/bin/python3 - "$SCR/ev.json" $vn <<'PY' && ok "val_nll is eval's NLL, val_loss the smoothed loss" || bad "val_nll/val_loss: $vn"
import json, sys
nll = json.load(open(sys.argv[1]))["nll"]
vl, vn = float(sys.argv[2]), float(sys.argv[3])
assert "%.4f" % nll == "%.4f" % vn and vl > vn + 0.01, (nll, vl, vn)
PY
# a run away whose losses stay finite: exit 1 naming the epoch and the loss, no model
expect_exit 1 "train at --lr 1000" "$LSP" train --data "$SYN" --smoothing 0.1 "${Q[@]}" --lr 1000 --out "$SCR/away.lspm"
expect_err "epoch 1 (training diverged? lower --lr): the mean training loss " "train at --lr 1000"
grep -qE "training loss [0-9.]+e\+0[5-9] is more than 1000 times the 1.38629 of the uniform prediction$" "$SCR/err" \
  && ok "the loss (millions) and log 4 named" || bad "run away: $(cat "$SCR/err")"
[ ! -e "$SCR/away.lspm" ] && ok "no model of a run away" || bad "a run away wrote a model"
# t2t past (K-1)/K: the label weighs less than each other class; said, not refused
expect_exit 0 "t2t smoothing 0.8 on 4 classes" "$LSP" train --data "$SYN" --smoothing 0.8 --convention t2t "${Q[@]}" --out "$SCR/t2t_hi.lspm"
grep -q "WARNING: --smoothing 0.8 with --convention t2t on 4 classes puts 0.2 on the label and 0.266667 on each other class" "$SCR/err" && ok "warns that t2t past (K-1)/K prefers the wrong classes" || bad "no t2t warning: $(cat "$SCR/err")"
expect_exit 0 "t2t smoothing 0.75 on 4 classes" "$LSP" train --data "$SYN" --smoothing 0.75 --convention t2t "${Q[@]}" --out "$SCR/t2t_edge.lspm"
! grep -q "WARNING" "$SCR/err" && ok "no warning at (K-1)/K, where every class weighs the same" || bad "t2t 0.75 warned: $(cat "$SCR/err")"

expect_exit 0 "train again, same seed, --quiet" "$LSP" train --data "$SYN" --smoothing 0.1 "${Q[@]}" --quiet --out "$SCR/b.lspm"
[ ! -s "$SCR/err" ] && ok "--quiet prints no progress" || bad "--quiet: $(cat "$SCR/err")"
# the record holds no timings, and the thread count does not change the model
cmp -s "$SCR/a.lspm" "$SCR/b.lspm" && ok "two trainings: byte-identical model files" || bad "two trainings with the same settings differ (cmp)"
# batches of 128 rows are 2 shares: 2 threads train them side by side
B=(--data "$SYN" --smoothing 0.1 --hidden 24 --epochs 3 --batch 128 --quiet)
expect_exit 0 "train, batch 128, 1 thread" "$LSP" train "${B[@]}" --threads 1 --out "$SCR/t1.lspm"
expect_exit 0 "train, batch 128, 2 threads" "$LSP" train "${B[@]}" --threads 2 --out "$SCR/t2.lspm"
cmp -s "$SCR/t1.lspm" "$SCR/t2.lspm" && ok "--threads 2: byte-identical to --threads 1" || bad "--threads 2 trained another model than --threads 1"
expect_exit 0 "train, other seed" "$LSP" train --data "$SYN" --smoothing 0.1 "${Q[@]}" --quiet --seed 2 --out "$SCR/c.lspm"
expect_exit 0 "train with Adam, cosine, t2t" "$LSP" train --data "$SYN" --smoothing 0.2 --convention t2t --adam --lr 0.01 --cosine --weight-decay 1e-4 "${Q[@]}" --quiet --out "$SCR/d.lspm"

for m in a b c; do
  expect_exit 0 "eval $m with --dump" "$LSP" eval --model "$SCR/$m.lspm" --data "$SYN" --dump "$SCR/dump_$m" --threads 1
done
cmp -s "$SCR/dump_a/logits.npy" "$SCR/dump_b/logits.npy" && ok "same seed: bit-identical logits" || bad "same seed gives different logits"
cmp -s "$SCR/dump_a/logits.npy" "$SCR/dump_c/logits.npy" && bad "another seed gives the same logits" || ok "another seed: different logits"

expect_exit 0 "eval --json" "$LSP" eval --model "$SCR/a.lspm" --data "$SYN" --json
acc=$(/usr/bin/python3 -c 'import json,sys; print(repr(json.load(open(sys.argv[1]))["accuracy"]))' "$SCR/out")
nll=$(/usr/bin/python3 -c 'import json,sys; print(repr(json.load(open(sys.argv[1]))["nll"]))' "$SCR/out")
grep -q '"smoothing":0.1' "$SCR/out" && grep -q '"split":"test"' "$SCR/out" && grep -q '"n":600' "$SCR/out" && ok "JSON names the setting" || bad "JSON: $(cat "$SCR/out")"
awk -v a="$acc" 'BEGIN { exit !(a > 0.9) }' && ok "synthetic test accuracy $acc > 0.9" || bad "accuracy $acc"
# The dumped logits and labels give the same NLL through `lsprobe loss`.
expect_exit 0 "loss of the dumped logits" "$LSP" loss --logits "$SCR/dump_a/logits.npy" --labels "$SCR/dump_a/labels.npy" --json
lnll=$(sed -n 's/.*"loss": \([0-9.e-]*\).*/\1/p' "$SCR/out")
awk -v a="$nll" -v b="$lnll" 'BEGIN { d = a - b; exit !(d < 1e-9 && d > -1e-9) }' && ok "dump reproduces the NLL ($nll)" || bad "nll $nll vs loss $lnll"
[ -s "$SCR/dump_a/features.npy" ] && ok "features dumped" || bad "no features.npy"
expect_exit 0 "eval --split val, text" "$LSP" eval --model "$SCR/a.lspm" --data "$SYN" --split val
grep -q '^accuracy ' "$SCR/out" && grep -q 'val split, 100 examples' "$SCR/out" && ok "text output" || bad "text: $(cat "$SCR/out")"

# --split val scores the examples the model was trained without: the split
# its record names (here 300 held out, not the default 100), checked by hash
expect_exit 0 "train with --val 300" "$LSP" train --data "$SYN" --smoothing 0.1 "${Q[@]}" --val 300 --quiet --out "$SCR/v300.lspm"
expect_exit 0 "eval --split val, recorded split" "$LSP" eval --model "$SCR/v300.lspm" --data "$SYN" --split val
grep -q 'val split, 300 examples' "$SCR/out" && ok "eval uses the recorded 300 validation examples" || bad "eval split: $(grep split "$SCR/out")"
[ ! -s "$SCR/err" ] && ok "no warning for a recorded split" || bad "warning: $(cat "$SCR/err")"
expect_exit 2 "eval --val other than recorded" "$LSP" eval --model "$SCR/v300.lspm" --data "$SYN" --split val --val 100
expect_err "--val 100: $SCR/v300.lspm was trained with 300 validation examples held out" "eval --val other than recorded"
expect_exit 1 "eval on other data" "$LSP" eval --model "$SCR/v300.lspm" --data "synthetic:train=1200,test=600,dim=16,classes=4,sep=3" --split val
expect_err "is not the one $SCR/v300.lspm was trained without" "eval on other data"
expect_exit 0 "eval the test split of other data" "$LSP" eval --model "$SCR/v300.lspm" --data "synthetic:train=1200,test=600,dim=16,classes=4,sep=3"
grep -q "WARNING: synthetic is not the data $SCR/v300.lspm was trained on" "$SCR/err" && ok "warns where the temperature comes from" || bad "other data, test split: $(cat "$SCR/err")"
# other data whose training file cannot hold the recorded 300: the record
# does not bind it, so the default split (or --val) is used, with the warning
SMALL="synthetic:train=240,test=120,dim=16,classes=4,sep=4"
expect_exit 0 "eval on other data smaller than the recorded split" "$LSP" eval --model "$SCR/v300.lspm" --data "$SMALL" --json
grep -q "WARNING: synthetic is not the data $SCR/v300.lspm was trained on" "$SCR/err" && ok "smaller other data: the warning" || bad "smaller other data: $(cat "$SCR/err")"
grep -q '"n":120' "$SCR/out" && ok "smaller other data: its 120 test examples scored" || bad "smaller other data: $(head -c 300 "$SCR/out")"
expect_exit 0 "eval --val on other data" "$LSP" eval --model "$SCR/v300.lspm" --data "$SMALL" --val 40
grep -q "WARNING: synthetic is not the data $SCR/v300.lspm was trained on" "$SCR/err" && ok "--val on other data: taken, with the warning" || bad "--val on other data: $(cat "$SCR/err")"
expect_exit 0 "eval --val on other data the recorded split fits" "$LSP" eval --model "$SCR/v300.lspm" --data "synthetic:train=1200,test=600,dim=16,classes=4,sep=3" --val 100

# A PyTorch export folder works as --model.
expect_exit 0 "eval a PyTorch export" "$LSP" eval --model "$DATA/torch_mlp_tiny" --data "synthetic:dim=8,classes=3,train=600,test=300" --json
grep -q '"arch":"8-16-16-3"' "$SCR/out" && ok "export loads as 8-16-16-3" || bad "export: $(cat "$SCR/out")"
grep -q "WARNING: .*torch_mlp_tiny records no training split" "$SCR/err" && ok "warns that an export records no split" || bad "no split warning: $(cat "$SCR/err")"
grep -q "lsprobe: eval: WARNING: .*torch_mlp_tiny: a state_dict export records no activations: ReLU is assumed between its 3 Linear layers" "$SCR/err" && ok "says loudly that ReLU is assumed" || bad "no ReLU warning: $(cat "$SCR/err")"

# bad usage: exit 2, one line, nothing written
expect_exit 2 "missing --smoothing" "$LSP" train --data "$SYN" --out "$SCR/no.lspm"
expect_err "--smoothing is required" "missing --smoothing"
expect_exit 2 "smoothing above 1" "$LSP" train --data "$SYN" --smoothing 1.5 --out "$SCR/no.lspm"
expect_err "--smoothing" "smoothing above 1"
expect_exit 2 "zero hidden width" "$LSP" train --data "$SYN" --smoothing 0 --hidden 256,0 --out "$SCR/no.lspm"
expect_err "--hidden" "zero hidden width"
expect_exit 2 "bad convention" "$LSP" train --data "$SYN" --smoothing 0 --convention foo --out "$SCR/no.lspm"
expect_err "--convention" "bad convention"
expect_exit 2 "zero epochs" "$LSP" train --data "$SYN" --smoothing 0 --epochs 0 --out "$SCR/no.lspm"
expect_err "--epochs" "zero epochs"
expect_exit 2 "momentum 1" "$LSP" train --data "$SYN" --smoothing 0 --momentum 1 --out "$SCR/no.lspm"
expect_err "--momentum" "momentum 1"
# batch norm after a dense layer cannot train on a batch of one example:
# refused before the first epoch (129 = 128 + 1 training examples)
BN1="synthetic:train=141,test=50,dim=16,classes=3"
expect_exit 2 "batch norm, last batch of 1" "$LSP" train --data "$BN1" --smoothing 0 --arch "dense(8) bn relu" --epochs 1 --out "$SCR/no.lspm"
expect_err "bn2 (batch norm on 8x1x1) needs two or more values per channel of a training batch, but the last batch of every epoch holds 1 example (129 training examples, batch size 128)" "batch norm, last batch of 1"
grep -q '^epoch' "$SCR/err" && bad "batch norm, last batch of 1: trained before failing" || ok "batch norm, last batch of 1: refused before training"
expect_exit 2 "batch norm, batch 1" "$LSP" train --data "$BN1" --smoothing 0 --arch "dense(8) bn relu" --batch 1 --epochs 1 --out "$SCR/no.lspm"
expect_err "but the batch size is 1" "batch norm, batch 1"
# a batch whose training buffers exceed the machine's free memory is refused
# before any is allocated (64x64 images: ResNet-8 needs a few MB an example,
# about 70 GiB for all 11900 in one batch); under a 6 GiB address-space limit,
# so that trying to allocate them would fail instead of swapping
avail=$(free_mem)
side=$(big_image_side "$avail")
if [ "$side" -gt 0 ]; then
  mkdir -p "$SCR/big"
  /usr/bin/python3 - "$SCR/big" "$side" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
side = int(sys.argv[2])
np.save(d + "/x_train.npy", np.zeros((12000, 1, side, side), np.uint8)); np.save(d + "/y_train.npy", np.arange(12000) % 10)
np.save(d + "/x_test.npy", np.zeros((10, 1, side, side), np.uint8)); np.save(d + "/y_test.npy", np.arange(10))
PY
  # an address-space cap keeps a broken check from swapping; AddressSanitizer
  # reserves terabytes of shadow at start and cannot run under one (without
  # the check its allocator would refuse the buffers with a non-2 exit)
  cap="ulimit -v $((6 << 20))"
  grep -qa __asan_init "$LSP" && cap=:
  ($cap; expect_exit 2 "batch beyond the free memory" "$LSP" train --data "$SCR/big" --val 100 --arch resnet8 --smoothing 0 --batch 200000 --epochs 1 --out "$SCR/no.lspm"
   expect_err "batch size 200000 (all 11900 training examples) needs about " "batch beyond the free memory"
   echo "$npass $nfail" >"$SCR/counts")
  read -r npass nfail <"$SCR/counts"
  avail2=$(free_mem)
  [ ! -e "$SCR/no.lspm" ] && ok "batch beyond the free memory: no model written" || bad "batch beyond the free memory: model written"
  # the numbers: more needed than available, the available memory as
  # /proc/meminfo said before and after (other processes move it a little),
  # and the largest batch that fits about avail/need of the batch (the
  # buffers grow in proportion to the batch)
  /usr/bin/python3 - "$SCR/err" "$avail" "$avail2" <<'PY' && ok "batch beyond the free memory: bytes needed, available, largest batch" || bad "memory numbers: $(cat "$SCR/err")"
import re, sys
m = re.search(r"needs about (\d+) bytes \([0-9.]+ GiB\) of training buffers but (\d+) bytes \([0-9.]+ GiB\) are available "
              r"\(MemAvailable \+ SwapFree\): the largest batch size that fits is (\d+)$", open(sys.argv[1]).read().strip())
need, have, fit = (int(g) for g in m.groups())
assert need > have, (need, have)
before, after = int(sys.argv[2]), int(sys.argv[3])
assert 0.9 * min(before, after) <= have <= 1.1 * max(before, after), (have, before, after)
want = have / need * 11900
assert 1 <= fit < 11900 and abs(fit - want) <= 0.01 * want + 1, (fit, want)
PY
else
  skipped "batch beyond the free memory: MemAvailable + SwapFree unreadable or above 960 GiB"
fi
# Adam has no momentum: an explicit --momentum would be ignored
expect_exit 2 "--adam with --momentum" "$LSP" train --data "$SYN" --smoothing 0 --adam --momentum 0.5 --out "$SCR/no.lspm"
expect_err "--momentum is SGD's: Adam (--adam) takes none" "--adam with --momentum"
expect_exit 2 "eval bad split" "$LSP" eval --model "$SCR/a.lspm" --data "$SYN" --split train
expect_err "--split" "eval bad split"
expect_exit 2 "eval without --model" "$LSP" eval --data "$SYN"
expect_err "--model is required" "eval without --model"

# bad data: exit 1, one line naming the file
# a divergence names what to lower: the weight decay too when there is one
expect_exit 1 "diverges with --weight-decay 1000" "$LSP" train --data "$SYN" --smoothing 0.1 --epochs 2 --quiet \
  --weight-decay 1000 --out "$SCR/wd.lspm"
grep -q "(training diverged? lower --lr or --weight-decay)" "$SCR/err" && [ ! -e "$SCR/wd.lspm" ] &&
  ok "divergence under weight decay names --weight-decay" || bad "weight-decay divergence: $(cat "$SCR/err")"
expect_exit 1 "diverges with --lr 1e5" "$LSP" train --data "$SYN" --smoothing 0.1 --epochs 2 --quiet --lr 1e5 --out "$SCR/wd.lspm"
grep -q "(training diverged? lower --lr)" "$SCR/err" && ok "divergence without weight decay names --lr alone" ||
  bad "lr divergence: $(cat "$SCR/err")"
expect_exit 1 "missing data folder" "$LSP" train --data "$SCR/nodata" --smoothing 0 --out "$SCR/no.lspm"
expect_err "nodata" "missing data folder"
expect_exit 1 "model does not fit the data" "$LSP" eval --model "$DATA/torch_mlp_tiny" --data "$SYN"
expect_err "torch_mlp_tiny: model 8-16-16-3 takes 8 inputs but the data (synthetic) has 16 features" "misfit"
expect_exit 1 "wrong class count" "$LSP" eval --model "$SCR/a.lspm" --data "synthetic:dim=16,classes=5,train=600,test=300"
expect_err "has 4 outputs but the data (synthetic) has 5 classes" "wrong class count"
cp "$SCR/a.lspm" "$SCR/flip.lspm"
printf '\x55' | dd of="$SCR/flip.lspm" bs=1 seek=200 conv=notrunc status=none
expect_exit 1 "corrupted model" "$LSP" eval --model "$SCR/flip.lspm" --data "$SYN"
expect_err "flip.lspm: checksum mismatch" "corrupted model"
head -c 300 "$SCR/a.lspm" >"$SCR/trunc.lspm"
expect_exit 1 "truncated model" "$LSP" eval --model "$SCR/trunc.lspm" --data "$SYN"
expect_err "trunc.lspm: truncated" "truncated model"
expect_exit 1 "not a model" "$LSP" eval --model "$DATA/torch_mlp_tiny/x.npy" --data "$SYN"
expect_err "x.npy: not an lsprobe model" "not a model"
mkdir -p "$SCR/export"
cp "$DATA"/torch_mlp_tiny/[024].*.npy "$SCR/export/"
rm "$SCR/export/4.bias.npy"
expect_exit 1 "export missing a tensor" "$LSP" eval --model "$SCR/export" --data "synthetic:dim=8,classes=3"
expect_err "4.bias.npy: missing" "export missing a tensor"
cp "$DATA/torch_mlp_tiny/0.bias.npy" "$SCR/export/4.bias.npy"
expect_exit 1 "export mis-shaped tensor" "$LSP" eval --model "$SCR/export" --data "synthetic:dim=8,classes=3"
expect_err "4.bias.npy: shape [16], expected [3]" "export mis-shaped tensor"
# an unwritable output: the training runs, the save fails, nothing is left
expect_exit 1 "unwritable output" "$LSP" train --data "$SYN" --smoothing 0 "${Q[@]}" --quiet --out "$SCR/nodir/m.lspm"
expect_err "nodir/m.lspm" "unwritable output"
# SIGINT: training stops, exit 130, no model (signalled once epoch 1 is done,
# so that the handler is surely installed)
"$LSP" train --data "synthetic:train=6000,dim=32" --smoothing 0 --hidden 16 --epochs 100000 --threads 1 --out "$SCR/int.lspm" >"$SCR/out" 2>"$SCR/err" &
pid=$!
for _ in $(seq 300); do grep -q '^epoch 1/' "$SCR/err" && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 130 ] && tail -1 "$SCR/err" | grep -q "^lsprobe: train: training interrupted" && ok "SIGINT stops training (exit 130)" || bad "SIGINT: exit $rc, $(tail -2 "$SCR/err")"
[ ! -e "$SCR/no.lspm" ] && [ ! -e "$SCR/int.lspm" ] && ok "no output written on failure" || bad "output written on failure"
ls "$SCR" | grep -q '\.tmp\.' && bad "temporary file left behind" || ok "no temporary left behind"

finish
