#!/usr/bin/env bash
# End-to-end: `lsprobe distill` trains a student from an .lspm teacher and
# from a PyTorch export folder; bad teachers and settings give a clear error
# and no output file (an earlier file at --out is left as it was).
. "$(dirname "$0")/e2e_common.sh"
D="synthetic:train=2400,test=600,dim=16,classes=4,sep=4"
T="$DATA/torch_mlp_tiny"
expect_exit 0 "train a teacher" "$LSP" train --data "$D" --hidden 32 --epochs 4 --smoothing 0.1 --quiet --out "$SCR/t.lspm"
expect_exit 0 "distill from .lspm" "$LSP" distill --teacher "$SCR/t.lspm" --data "$D" --arch mlp:8 --temperature 4 --alpha 0.9 --epochs 4 --quiet --out "$SCR/s.lspm"
grep -q "^distilled 16-8-4 from $SCR/t.lspm on synthetic .*T = 4, alpha = 0.9" "$SCR/out" && ok "prints what it did" || bad "output: $(cat "$SCR/out")"
[ -s "$SCR/s.lspm" ] && ok "student written" || bad "no student"
! grep -q "records no training split" "$SCR/err" && ok "a teacher with its split recorded: no split warning" || bad "split warning for an lsprobe teacher: $(cat "$SCR/err")"
expect_exit 0 "eval the student" "$LSP" eval --model "$SCR/s.lspm" --data "$D" --json
acc=$(grep -o '"accuracy":[0-9.]*' "$SCR/out" | head -1 | cut -d: -f2)
awk -v a="$acc" 'BEGIN { exit !(a > 0.8) }' && ok "the student learned (test accuracy $acc)" || bad "student accuracy $acc"
expect_exit 0 "distill is reproducible" "$LSP" distill --teacher "$SCR/t.lspm" --data "$D" --arch mlp:8 --temperature 4 --alpha 0.9 --epochs 4 --quiet --out "$SCR/s2.lspm"
"$LSP" eval --model "$SCR/s.lspm" --data "$D" --dump "$SCR/d1" >/dev/null 2>&1
"$LSP" eval --model "$SCR/s2.lspm" --data "$D" --dump "$SCR/d2" >/dev/null 2>&1
"$TOOLS/npycmp" "$SCR/d1/logits.npy" "$SCR/d2/logits.npy" 0 && ok "same settings, same student (identical logits)" || bad "students differ"
# the student is validated on the teacher's held-out examples: the split the
# teacher's record names (here 300 examples, not the default), a conflicting
# --val refused, other data than the teacher's named in a warning
expect_exit 0 "train a teacher with 300 held out" "$LSP" train --data "$D" --hidden 16 --epochs 1 --val 300 --smoothing 0 --quiet --out "$SCR/t300.lspm"
expect_exit 0 "distill from it without --val" "$LSP" distill --teacher "$SCR/t300.lspm" --data "$D" --arch mlp:8 --temperature 2 --alpha 0.5 --epochs 1 --quiet --out "$SCR/s300.lspm"
expect_exit 0 "the student records the teacher's split" "$LSP" eval --model "$SCR/s300.lspm" --data "$D" --val 300
expect_exit 2 "distill --val other than the teacher's" "$LSP" distill --teacher "$SCR/t300.lspm" --data "$D" --arch mlp:8 --temperature 2 --alpha 0.5 --epochs 1 --val 100 --quiet --out "$SCR/sval.lspm"
expect_err "was trained with 300 validation examples held out" "distill --val other than the teacher's"
[ ! -e "$SCR/sval.lspm" ] && ok "no student from the refused --val" || bad "student written despite the refused --val"
expect_exit 0 "distill on other data than the teacher's" "$LSP" distill --teacher "$SCR/t300.lspm" --data "synthetic:train=2400,test=600,dim=16,classes=4,sep=3" --arch mlp:8 --temperature 2 --alpha 0.5 --epochs 1 --quiet --out "$SCR/sother.lspm"
grep -q "is not the data the teacher" "$SCR/err" && ok "other data than the teacher's: a warning" || bad "no warning for other data: $(cat "$SCR/err")"
# other data too small for the teacher's 300 held-out examples: its own
# split (default or --val), with the warning
SMALL="synthetic:train=240,test=120,dim=16,classes=4,sep=3"
expect_exit 0 "distill on other data smaller than the teacher's split" "$LSP" distill --teacher "$SCR/t300.lspm" --data "$SMALL" --arch mlp:8 --temperature 2 --alpha 0.5 --epochs 1 --quiet --out "$SCR/ssmall.lspm"
grep -q "is not the data the teacher" "$SCR/err" && ok "smaller other data: a warning" || bad "smaller other data: $(cat "$SCR/err")"
grep -q "on synthetic (220 examples" "$SCR/out" && ok "smaller other data: the default split (220 + 20)" || bad "smaller other data: $(cat "$SCR/out")"
expect_exit 0 "distill --val on other data" "$LSP" distill --teacher "$SCR/t300.lspm" --data "$SMALL" --val 40 --arch mlp:8 --temperature 2 --alpha 0.5 --epochs 1 --quiet --out "$SCR/ssmall2.lspm"
grep -q "on synthetic (200 examples" "$SCR/out" && ok "--val on other data: taken (200 + 40)" || bad "--val on other data: $(cat "$SCR/out")"
expect_exit 0 "distill from a PyTorch export folder" "$LSP" distill --teacher "$T" --data "synthetic:train=600,test=200,dim=8,classes=3" --arch mlp:4 --temperature 2 --alpha 1 --epochs 2 --quiet --out "$SCR/st.lspm"
[ -s "$SCR/st.lspm" ] && ok "student of the PyTorch teacher written" || bad "no student of the PyTorch teacher"
grep -qF "WARNING: the teacher $T records no training split (imported or untrained): the validation split is lsprobe's own (seed 1, 50 examples)" "$SCR/err" &&
  ok "a teacher without a recorded split: the warning eval gives" || bad "no split warning: $(cat "$SCR/err")"

# a convolutional teacher (LeNet-5 on Fashion-MNIST images), an MLP student
# and a LeNet-5 student; an image teacher does not fit flat data
FM=/usr/share/datasets/fashion-mnist
if [ -d "${LSPROBE_DATA:-$FM}" ]; then
  expect_exit 0 "train a LeNet-5 teacher" "$LSP" train --data fashion-mnist --arch lenet --max-train 600 --epochs 1 --smoothing 0.1 --quiet --out "$SCR/lenet.lspm"
  expect_exit 0 "distill LeNet-5 into an MLP" "$LSP" distill --teacher "$SCR/lenet.lspm" --data fashion-mnist --arch mlp:8 --max-train 600 --epochs 1 --temperature 2 --alpha 0.5 --quiet --out "$SCR/s_mlp.lspm"
  grep -q "^distilled 784-8-10 from $SCR/lenet.lspm" "$SCR/out" && ok "MLP student of a CNN teacher" || bad "$(cat "$SCR/out")"
  expect_exit 0 "distill LeNet-5 into LeNet-5" "$LSP" distill --teacher "$SCR/lenet.lspm" --data fashion-mnist --arch lenet --max-train 300 --epochs 1 --temperature 2 --alpha 0.5 --quiet --out "$SCR/s_lenet.lspm"
  expect_exit 1 "an image teacher on flat data" "$LSP" distill --teacher "$SCR/lenet.lspm" --data "$D" --arch mlp:8 --temperature 2 --alpha 0.5 --out "$SCR/keep.lspm"
  expect_err "takes inputs of 1×28×28 but the data (synthetic) has 16×1×1" "an image teacher on flat data"
else
  skipped "Fashion-MNIST is not installed (scripts/setup installs it): no CNN teacher"
fi

# bad input: exit 1 (data) or 2 (usage), one line naming the problem, no output
printf 'earlier' >"$SCR/keep.lspm"
expect_exit 1 "teacher with another class count" "$LSP" distill --teacher "$SCR/t.lspm" --data "synthetic:train=600,test=200,dim=16,classes=5" --arch mlp:8 --temperature 2 --alpha 0.5 --out "$SCR/keep.lspm"
expect_err "t.lspm: the teacher (16-32-4) has 4 classes but the data (synthetic) has 5" "teacher with another class count"
expect_exit 1 "teacher with another input shape" "$LSP" distill --teacher "$SCR/t.lspm" --data "synthetic:train=600,test=200,dim=12,classes=4" --arch mlp:8 --temperature 2 --alpha 0.5 --out "$SCR/keep.lspm"
expect_err "t.lspm: the teacher (16-32-4) takes inputs of 16×1×1 but the data (synthetic) has 12×1×1" "teacher with another input shape"
expect_exit 2 "alpha above 1" "$LSP" distill --teacher "$SCR/t.lspm" --data "$D" --arch mlp:8 --temperature 2 --alpha 1.5 --out "$SCR/keep.lspm"
expect_err "--alpha: 1.5 is outside [0, 1]" "alpha above 1"
expect_exit 2 "alpha below 0" "$LSP" distill --teacher "$SCR/t.lspm" --data "$D" --arch mlp:8 --temperature 2 --alpha -0.1 --out "$SCR/keep.lspm"
expect_err "--alpha" "alpha below 0"
expect_exit 2 "T = 0" "$LSP" distill --teacher "$SCR/t.lspm" --data "$D" --arch mlp:8 --temperature 0 --alpha 0.5 --out "$SCR/keep.lspm"
expect_err "--temperature: 0 must be positive" "T = 0"
expect_exit 2 "T < 0" "$LSP" distill --teacher "$SCR/t.lspm" --data "$D" --arch mlp:8 --temperature -1 --alpha 0.5 --out "$SCR/keep.lspm"
expect_err "--temperature" "T < 0"
expect_exit 2 "T = 1e-310" "$LSP" distill --teacher "$SCR/t.lspm" --data "$D" --arch mlp:8 --temperature 1e-310 --alpha 0.5 --out "$SCR/keep.lspm"
expect_err "--temperature: 1e-310 is too small: 1/T is not finite" "T = 1e-310"
# the smallest T taken trains: its KL overflows, T²·KL does not (a NaN
# training loss would stop the training as diverged)
expect_exit 0 "T = 1e-308" "$LSP" distill --teacher "$SCR/t.lspm" --data "$D" --arch mlp:8 --temperature 1e-308 --alpha 0.5 --epochs 1 --quiet --out "$SCR/tiny.lspm"
[ -s "$SCR/tiny.lspm" ] && ok "T = 1e-308: student written" || bad "T = 1e-308: no student"
expect_exit 2 "missing --temperature" "$LSP" distill --teacher "$SCR/t.lspm" --data "$D" --arch mlp:8 --alpha 0.5 --out "$SCR/keep.lspm"
expect_err "--temperature is required" "missing --temperature"
expect_exit 2 "unknown architecture" "$LSP" distill --teacher "$SCR/t.lspm" --data "$D" --arch transformer --temperature 2 --alpha 0.5 --out "$SCR/keep.lspm"
expect_err "--arch: " "unknown architecture"
expect_exit 1 "missing teacher" "$LSP" distill --teacher "$SCR/none.lspm" --data "$D" --arch mlp:8 --temperature 2 --alpha 0.5 --out "$SCR/keep.lspm"
expect_err "none.lspm" "missing teacher"
head -c 60 "$SCR/t.lspm" >"$SCR/trunc.lspm"
expect_exit 1 "truncated teacher" "$LSP" distill --teacher "$SCR/trunc.lspm" --data "$D" --arch mlp:8 --temperature 2 --alpha 0.5 --out "$SCR/keep.lspm"
expect_err "trunc.lspm" "truncated teacher"
[ "$(cat "$SCR/keep.lspm")" = "earlier" ] && ok "failed runs left the earlier --out file as it was" || bad "--out clobbered"
ls "$SCR" | grep -q '\.tmp\.' && bad "temporary file left behind" || ok "no temporary left behind"
expect_exit 0 "--help" "$LSP" distill --help
grep -q -- '--temperature' "$SCR/out" && ok "help lists options" || bad "help"
finish
