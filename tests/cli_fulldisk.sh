#!/usr/bin/env bash
# End-to-end: an output that cannot be written for want of space fails
# with the system's reason ("No space left on device"), leaves no
# temporary and keeps the earlier file; a link into a read-only folder is
# refused before any work. Needs a small tmpfs: as root, or for another
# user in a user and mount namespace of its own (unshare -rm: root there,
# the user's own files outside); skipped where neither may mount one.
if [ "$(id -u)" -ne 0 ] && [ -z "${LSP_FULLDISK_NS:-}" ] &&
   command -v unshare >/dev/null && unshare -rm true 2>/dev/null; then
  LSP_FULLDISK_NS=1 exec unshare -rm bash "$0" "$@"
fi
. "$(dirname "$0")/e2e_common.sh"
C="$DATA/lsce_n1024_k10_eps0.1"
D=synthetic:train=600,test=200,dim=16,classes=3
F="$SCR/full"
mkdir -p "$F"
if ! mount -t tmpfs -o size=64k tmpfs "$F" 2>/dev/null; then
  skipped "cannot mount a tmpfs here (not root, or not permitted)"
  finish
  exit $?
fi
trap 'umount "$F"' EXIT
"$LSP" train --data "$D" --smoothing 0.1 --arch mlp:8 --epochs 1 --threads 1 --quiet --out "$SCR/m.lspm" >/dev/null &&
  "$LSP" eval --model "$SCR/m.lspm" --data "$D" --threads 1 --dump "$SCR/d" >/dev/null || bad "setup"
mkdir -p "$F/d"
# fill FILE...: every earlier output holds "earlier", the rest of the disk is full
fill() {
  rm -rf "$F/fill"
  for f in "$@"; do printf 'earlier' >"$f"; done
  dd if=/dev/zero of="$F/fill" bs=4k 2>/dev/null
}
# nospace NAME FILE CMD...: CMD fails (exit 1) saying why, FILE untouched,
# no temporary left on the disk
nospace() {
  local name=$1 file=$2
  shift 2
  expect_exit 1 "$name on a full disk" "$@"
  expect_err "No space left on device" "$name on a full disk"
  [ "$(cat "$file")" = earlier ] && [ -z "$(find "$F" -name '*.tmp.*')" ] &&
    ok "$name on a full disk: the earlier file kept, no temporary" ||
    bad "$name on a full disk: $(ls -A "$F" "$F/d")"
}
fill "$F/g.npy"
nospace "loss --grad-out" "$F/g.npy" "$LSP" loss --logits "$C/logits.npy" --labels "$C/labels.npy" --grad-out "$F/g.npy"
fill "$F/p.csv"
nospace "clusters --projection-out" "$F/p.csv" "$LSP" clusters --features "$SCR/d/features.npy" \
  --labels "$SCR/d/labels.npy" --model "$SCR/m.lspm" --projection-out "$F/p.csv"
fill "$F/d/logits.npy" "$F/d/features.npy" "$F/d/labels.npy"
nospace "eval --dump" "$F/d/logits.npy" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --threads 1 --dump "$F/d"
[ "$(cat "$F/d/features.npy" "$F/d/labels.npy")" = earlierearlier ] && ok "eval --dump on a full disk: all three kept" ||
  bad "eval --dump on a full disk changed the earlier dump"
fill "$F/m.lspm"
nospace "train --out" "$F/m.lspm" "$LSP" train --data "$D" --smoothing 0.1 --arch mlp:8 --epochs 1 --threads 1 --quiet --out "$F/m.lspm"
# a link into a folder that cannot be written (the disk made read-only,
# which stops root too) is refused before any work, naming that folder
rm -f "$F/fill"
# (a user namespace may not remount the file system, only this mount of it)
if mount -o remount,ro "$F" 2>/dev/null || mount -o remount,bind,ro "$F" 2>/dev/null; then
  ln -sfn "$F/m.lspm" "$SCR/ro.lspm"
  expect_exit 1 "train --out a link into a read-only folder" "$LSP" train --data "$D" --smoothing 0.1 --arch mlp:8 --epochs 1 --threads 1 --quiet --out "$SCR/ro.lspm"
  expect_err "--out $SCR/ro.lspm: is a symbolic link into $F, which cannot be written: Read-only file system" "train --out a link into a read-only folder"
  mkdir -p "$SCR/rd" && ln -sfn "$F/d/labels.npy" "$SCR/rd/labels.npy"
  expect_exit 1 "eval --dump with a link into a read-only folder" "$LSP" eval --model "$SCR/m.lspm" --data "$D" --threads 1 --dump "$SCR/rd"
  expect_err "$SCR/rd/labels.npy: is a symbolic link into $F/d, which cannot be written" "eval --dump with a link into a read-only folder"
  [ ! -e "$SCR/rd/logits.npy" ] && ok "the refused dump wrote nothing" || bad "the refused dump wrote $(ls "$SCR/rd")"
else
  skipped "cannot remount the tmpfs read-only"
fi
finish
