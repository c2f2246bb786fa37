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

# an existing file replaced keeps its permission bits; a new one is 0666
# less the umask
printf 'earlier' >"$SCR/priv.npy"
chmod 600 "$SCR/priv.npy"
expect_exit 0 "--grad-out over a 0600 file" "${LOSS[@]}" --grad-out "$SCR/priv.npy"
[ "$(stat -c %a "$SCR/priv.npy")" = 600 ] && [ "$(head -c 6 "$SCR/priv.npy" | tail -c 5)" = NUMPY ] &&
  ok "a 0600 file replaced stays 0600" || bad "a 0600 file replaced: $(ls -l "$SCR/priv.npy")"
chmod 640 "$SCR/m.lspm"
expect_exit 0 "train --out over a 0640 model" "$LSP" train --data "$D" --smoothing 0.1 --arch mlp:8 --epochs 1 \
  --threads 1 --quiet --out "$SCR/m.lspm"
[ "$(stat -c %a "$SCR/m.lspm")" = 640 ] && ok "a 0640 model replaced stays 0640" || bad "model: $(ls -l "$SCR/m.lspm")"
(umask 027 && "${LOSS[@]}" --grad-out "$SCR/new.npy" >/dev/null)
[ "$(stat -c %a "$SCR/new.npy")" = 640 ] && ok "a new file under umask 027 is 0640" || bad "new: $(ls -l "$SCR/new.npy")"

# a symbolic link stays a link, and the file it names gets the contents
mkdir -p "$SCR/sub"
printf 'earlier' >"$SCR/sub/real.npy"
chmod 604 "$SCR/sub/real.npy"
ln -sfn sub/real.npy "$SCR/link.npy"
expect_exit 0 "--grad-out through a link" "${LOSS[@]}" --grad-out "$SCR/link.npy"
[ -L "$SCR/link.npy" ] && [ "$(readlink "$SCR/link.npy")" = sub/real.npy ] &&
  "$TOOLS/npycmp" "$SCR/sub/real.npy" "$SCR/priv.npy" 0 >/dev/null && [ "$(stat -c %a "$SCR/sub/real.npy")" = 604 ] &&
  [ -z "$(find "$SCR" -name '*.tmp.*')" ] && ok "through a link: the link kept, its file written, its mode kept" ||
  bad "through a link: $(ls -l "$SCR/link.npy" "$SCR/sub")"
# a link to nothing is refused before any work, and nothing is created
ln -sfn sub/none.npy "$SCR/dangling.npy"
expect_exit 1 "--grad-out a link to nothing" "${LOSS[@]}" --grad-out "$SCR/dangling.npy"
expect_err "--grad-out $SCR/dangling.npy: is a symbolic link to nothing" "--grad-out a link to nothing"
[ -L "$SCR/dangling.npy" ] && [ ! -e "$SCR/sub/none.npy" ] && ok "a link to nothing: nothing created" ||
  bad "a link to nothing: $(ls -l "$SCR/sub")"
# a link that cannot be followed (a loop) is refused too, and stays
ln -sfn loop.npy "$SCR/loop.npy"
expect_exit 1 "--grad-out a looping link" "${LOSS[@]}" --grad-out "$SCR/loop.npy"
expect_err "--grad-out $SCR/loop.npy: is a symbolic link that cannot be followed: Too many levels of symbolic links" "--grad-out a looping link"
[ -L "$SCR/loop.npy" ] && ok "a looping link: kept" || bad "a looping link was replaced"
# the same in an eval dump
"$LSP" eval --model "$SCR/m.lspm" --data "$D" --threads 1 --dump "$SCR/ref" >/dev/null || bad "dump ref"
mkdir -p "$SCR/dd"
printf 'earlier' >"$SCR/sub/logits.npy"
chmod 600 "$SCR/sub/logits.npy"
ln -sfn ../sub/logits.npy "$SCR/dd/logits.npy"
expect_exit 0 "--dump with logits.npy a link" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --threads 1 --dump "$SCR/dd"
[ -L "$SCR/dd/logits.npy" ] && cmp -s "$SCR/sub/logits.npy" "$SCR/ref/logits.npy" &&
  [ "$(stat -c %a "$SCR/sub/logits.npy")" = 600 ] && [ -z "$(find "$SCR" -name '*.tmp.*')" ] &&
  ok "--dump through a link: the link kept, its file written, its mode kept" ||
  bad "--dump through a link: $(ls -l "$SCR/dd" "$SCR/sub")"
ln -sfn ../sub/none.npy "$SCR/dd/labels.npy"
expect_exit 1 "--dump with labels.npy a link to nothing" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --dump "$SCR/dd"
expect_err "$SCR/dd/labels.npy: is a symbolic link to nothing" "--dump with labels.npy a link to nothing"

# a file name as long as the file system takes (255 bytes), and a path up
# to PATH_MAX: written, the temporary beside it cutting its copy of the
# name short (it was the name plus about 40 characters, refused as "File
# name too long")
long=$(printf 'n%.0s' $(seq 250)).npy
expect_exit 0 "--grad-out a 254-byte name" "${LOSS[@]}" --grad-out "$SCR/$long"
expect_exit 0 "train --out a 255-byte name" "$LSP" train --data "$D" --smoothing 0.1 --arch mlp:8 --epochs 1 \
  --threads 1 --quiet --out "$SCR/${long%.npy}.lspm"
deep=$SCR
while [ ${#deep} -lt 3850 ]; do deep=$deep/$(printf 'd%.0s' $(seq 100)); done
mkdir -p "$deep" || bad "mkdir a deep folder"
far=$deep/$(printf 'f%.0s' $(seq $((4090 - ${#deep} - 5)))).npy
expect_exit 0 "--grad-out a ${#far}-character path" "${LOSS[@]}" --grad-out "$far"
[ -s "$SCR/$long" ] && [ -s "$SCR/${long%.npy}.lspm" ] && [ -s "$far" ] && [ -z "$(find "$SCR" -name '*.tmp.*')" ] &&
  ok "names of 254 and 255 bytes and a ${#far}-character path: written, no temporary left" ||
  bad "long names: $(ls "$SCR" | cut -c1-40)"
rm -rf "$SCR/$long" "$SCR/${long%.npy}.lspm" "$SCR/$(printf 'd%.0s' $(seq 100))"

finish
