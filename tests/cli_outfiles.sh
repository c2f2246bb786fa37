#!/usr/bin/env bash
# End-to-end: what an output name may be, and what replacing an existing
# output keeps.
. "$(dirname "$0")/e2e_common.sh"
C="$(cd "$DATA" && pwd)/lsce_n1024_k10_eps0.1"
D=synthetic:train=600,test=200,dim=16,classes=3
"$LSP" train --data "$D" --smoothing 0.1 --arch mlp:8 --epochs 1 --threads 1 --quiet --out "$SCR/m.lspm" >/dev/null ||
  bad "train"
LOSS=("$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --smoothing 0.1)

# "-" is standard input for the inputs; as an output it is refused (exit 2)
# rather than written as a file named "-"
cd "$SCR" || exit 1
minus() {
  local name=$1
  shift
  expect_exit 2 "$name -" "$@"
  expect_err "$name -: writing to standard output is not supported for this option" "$name -"
  [ ! -e "$SCR/-" ] && [ ! -s "$SCR/out" ] && ok "$name -: no file named -, nothing printed" ||
    bad "$name - wrote $(ls -ld "$SCR/-" 2>&1)"
  rm -rf "$SCR/-"
}
minus "--out" "$LSP" train --data "$D" --smoothing 0.1 --arch mlp:8 --epochs 1 --threads 1 --quiet --out -
minus "--grad-out" "${LOSS[@]}" --grad-out -
minus "--dump" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --threads 1 --dump -
minus "--out" "$LSP" export --model "$SCR/m.lspm" --out -
expect_exit 0 "--grad-out ./- names a file" "${LOSS[@]}" --grad-out ./-
[ -s "$SCR/-" ] && ok "--grad-out ./-: the file written" || bad "--grad-out ./- wrote nothing"
rm -f "$SCR/-"
cd - >/dev/null || exit 1

finish
