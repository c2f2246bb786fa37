#!/usr/bin/env bash
# End-to-end: `eval --dump` replaces its three files together or not at
# all: each is written to a temporary of its own, the final names are
# checked first, a rename that fails puts the earlier files back, and two
# dumps into one folder at once leave one of them whole.
. "$(dirname "$0")/e2e_common.sh"
D=synthetic:train=600,test=200,dim=16,classes=3
SHIM="$TOOLS/sigshim.so"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
for s in 1 2; do
  "$LSP" train --data "$D" --smoothing 0.1 --arch mlp:8 --epochs 1 --seed $s --threads 1 --quiet --out "$SCR/m$s.lspm" >/dev/null ||
    bad "train m$s"
  "$LSP" eval --model "$SCR/m$s.lspm" --data "$D" --threads 1 --dump "$SCR/ref$s" >/dev/null || bad "dump m$s"
done
# same_dump DIR REF: DIR holds exactly REF's three files, nothing else
same_dump() {
  [ "$(ls -A "$1" | tr '\n' ' ')" = "features.npy labels.npy logits.npy " ] || return 1
  for f in logits features labels; do cmp -s "$1/$f.npy" "$2/$f.npy" || return 1; done
}
cmp -s "$SCR/ref1/logits.npy" "$SCR/ref2/logits.npy" && bad "the two models' dumps do not differ"

# a folder where a dump file belongs: refused before any work (exit 2),
# the files already there untouched
mkdir -p "$SCR/u/features.npy"
echo OLD >"$SCR/u/logits.npy"
echo OLD >"$SCR/u/labels.npy"
expect_exit 2 "--dump with a folder features.npy" "$LSP" eval --model "$SCR/m1.lspm" --data "$D" --dump "$SCR/u"
expect_err "--dump $SCR/u: $SCR/u/features.npy: is a folder" "--dump with a folder features.npy"
cmp -s "$SCR/u/logits.npy" "$SCR/u/labels.npy" && [ "$(head -c 4 "$SCR/u/logits.npy")" = OLD ] && [ ! -s "$SCR/out" ] &&
  [ "$(ls -A "$SCR/u" | wc -l)" -eq 3 ] && ok "a folder features.npy: nothing replaced" ||
  bad "a folder features.npy: $(ls -A "$SCR/u")"

# a file of the user's named like a temporary is neither used nor changed
mkdir -p "$SCR/p"
echo MINE >"$SCR/p/logits.npy.part"
expect_exit 0 "--dump beside logits.npy.part" "$LSP" eval --model "$SCR/m1.lspm" --data "$D" --threads 1 --dump "$SCR/p"
[ "$(cat "$SCR/p/logits.npy.part")" = MINE ] && rm "$SCR/p/logits.npy.part" && same_dump "$SCR/p" "$SCR/ref1" &&
  ok "logits.npy.part kept, the dump whole, no temporaries" || bad "beside logits.npy.part: $(ls -A "$SCR/p")"

# the third rename fails (the shim): the two files already renamed go back
if [ -f "$SHIM" ]; then
  rm -rf "$SCR/r" && cp -r "$SCR/ref1" "$SCR/r"
  LD_PRELOAD="$SHIM" LSP_SHIM_RENAME_FAIL=/labels.npy \
    "$LSP" eval --model "$SCR/m2.lspm" --data "$D" --threads 1 --dump "$SCR/r" >"$SCR/out" 2>"$SCR/err"
  [ $? -eq 1 ] && ok "a failing last rename: exit 1" || bad "a failing last rename: exit not 1"
  expect_err "$SCR/r/labels.npy: cannot rename into place: Input/output error" "a failing last rename"
  same_dump "$SCR/r" "$SCR/ref1" && ok "a failing last rename: the earlier dump whole, no temporaries" ||
    bad "a failing last rename left a mixed dump: $(ls -A "$SCR/r"; cmp "$SCR/r/logits.npy" "$SCR/ref1/logits.npy")"
  # and into an empty folder: nothing at all
  mkdir -p "$SCR/e"
  LD_PRELOAD="$SHIM" LSP_SHIM_RENAME_FAIL=/labels.npy \
    "$LSP" eval --model "$SCR/m2.lspm" --data "$D" --threads 1 --dump "$SCR/e" >/dev/null 2>&1
  [ $? -eq 1 ] && [ -z "$(ls -A "$SCR/e")" ] && ok "a failing last rename into an empty folder leaves it empty" ||
    bad "a failing rename into an empty folder left: $(ls -A "$SCR/e")"
else
  bad "no $SHIM (build the sigshim target)"
fi

# two dumps of different models into one folder at once: each time the
# folder holds one of them whole
mixed=0
for t in $(seq 12); do
  rm -rf "$SCR/c"
  "$LSP" eval --model "$SCR/m1.lspm" --data "$D" --threads 1 --dump "$SCR/c" >/dev/null 2>"$SCR/err1" &
  p1=$!
  "$LSP" eval --model "$SCR/m2.lspm" --data "$D" --threads 1 --dump "$SCR/c" >/dev/null 2>"$SCR/err2"
  r2=$?
  wait $p1
  r1=$?
  if [ $r1 -ne 0 ] || [ $r2 -ne 0 ]; then
    mixed=$((mixed + 1))
    echo "     trial $t: exit $r1 and $r2: $(cat "$SCR/err1" "$SCR/err2")"
  elif ! same_dump "$SCR/c" "$SCR/ref1" && ! same_dump "$SCR/c" "$SCR/ref2"; then
    mixed=$((mixed + 1))
    echo "     trial $t: a mixed dump: $(ls -A "$SCR/c" | tr '\n' ' ')"
  fi
done
[ $mixed -eq 0 ] && ok "two dumps at once, 12 times: one of them whole each time" ||
  bad "two dumps at once: $mixed of 12 trials failed or mixed"
finish
