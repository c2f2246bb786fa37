#!/usr/bin/env bash
# Signals at the worst moment: an output's temporary complete, its final
# name not yet in place (tests/sigshim.c sends the signal from the output's
# fsync). Every command, interruptible or not, must end with the temporary
# removed and the earlier file at the final name untouched: SIGINT, SIGTERM
# and SIGHUP with exit 130 and "interrupted", SIGPIPE by the signal; without
# the signal the same command writes its output.
. "$(dirname "$0")/e2e_common.sh"
SHIM="$TOOLS/sigshim.so"
[ -f "$SHIM" ] || { bad "no $SHIM (build the sigshim target)"; finish; }
# the sanitizer build's runtime must come first among the libraries; the
# shim is preloaded ahead of it on purpose
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
W="$SCR/w"
mkdir -p "$W"
printf 'earlier' >"$SCR/earlier"
D=synthetic:train=600,test=200,dim=16,classes=3

# temporaries left in $W (lsp_out_open's "<final>.tmp.<token>.XXXXXX")
tmps() { find "$W" -name '*.tmp.*' | head -3; }
# shimmed NAME SIGNAL COUNT WANT_EXIT FILE CMD...: run CMD with the shim
# sending SIGNAL COUNT times ($GAP ms apart); FILE holds "earlier" beforehand
shimmed() {
  local name=$1 sig=$2 count=$3 want=$4 file=$5
  shift 5
  printf 'earlier' >"$file"
  LD_PRELOAD="$SHIM" LSP_SHIM_SIGNAL="$sig" LSP_SHIM_COUNT="$count" LSP_SHIM_GAP_MS="${GAP:-0}" \
    "$@" >"$SCR/out" 2>"$SCR/err"
  local got=$?
  [ "$got" -eq "$want" ] && ok "$name: exit $got" || { bad "$name: exit $got, want $want"; head -3 "$SCR/err"; }
  cmp -s "$file" "$SCR/earlier" && ok "$name: the earlier $(basename "$file") untouched" \
    || bad "$name: $(basename "$file") changed"
  local t
  t=$(tmps)
  [ -z "$t" ] && ok "$name: no temporary left" || bad "$name: left $t"
  rm -f "$W"/*.tmp.*
}

expect_exit 0 "train a small model" "$LSP" train --data "$D" --smoothing 0.1 --hidden 8,8 \
  --epochs 1 --quiet --out "$W/m.lspm"

# the shim without a signal passes fsync on: the outputs appear
LD_PRELOAD="$SHIM" "$LSP" export --model "$W/m.lspm" --out "$W/plain.onnx" >"$SCR/out" 2>"$SCR/err"
[ $? -eq 0 ] && [ -s "$W/plain.onnx" ] && [ -z "$(tmps)" ] && ok "shim, no signal: export writes" \
  || bad "shim, no signal: export failed: $(head -2 "$SCR/err")"

# said NAME CMD: the last line of stderr is "lsprobe: CMD: interrupted"
said() {
  [ "$(tail -1 "$SCR/err")" = "lsprobe: $2: interrupted" ] && ok "$1: says interrupted" \
    || bad "$1: stderr $(tail -2 "$SCR/err")"
}

# a command without interrupt handling (export): each signal ends it at
# once, exit 130 and "interrupted" as the long commands (SIGPIPE by the
# signal: the reader went away)
for s in INT:2 TERM:15 HUP:1; do
  shimmed "export, SIG${s%:*}" "${s#*:}" 1 130 "$W/x.onnx" "$LSP" export --model "$W/m.lspm" --out "$W/x.onnx"
  said "export, SIG${s%:*}" export
done
shimmed "export, SIGPIPE" 13 1 141 "$W/x.onnx" "$LSP" export --model "$W/m.lspm" --out "$W/x.onnx"

# one that computes for a while (calib-sim), stopped by timeout's SIGTERM
timeout --preserve-status -s TERM 1 "$LSP" calib-sim --reps 500 >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 130 ] && ok "calib-sim, SIGTERM: exit 130" || bad "calib-sim, SIGTERM: exit $rc, want 130"
said "calib-sim, SIGTERM" calib-sim

# a signal the parent ignores (nohup's SIGHUP) stays ignored: the output is written
printf 'earlier' >"$W/x.onnx"
(trap '' HUP; LD_PRELOAD="$SHIM" LSP_SHIM_SIGNAL=1 "$LSP" export --model "$W/m.lspm" --out "$W/x.onnx" >"$SCR/out" 2>"$SCR/err")
rc=$?
[ $rc -eq 0 ] && ! cmp -s "$W/x.onnx" "$SCR/earlier" && [ -z "$(tmps)" ] && ok "SIGHUP ignored by the parent: export completes" \
  || bad "SIGHUP ignored by the parent: exit $rc, $(head -2 "$SCR/err")"

# an interruptible command (train): the first SIGINT asks for a clean stop,
# the second, arriving while the model is being saved, ends it (a second
# copy of the same signal from the same sender counts only a second later)
for s in INT:2 TERM:15 HUP:1; do
  GAP=1100 shimmed "train, two SIG${s%:*}s" "${s#*:}" 2 130 "$W/m2.lspm" "$LSP" train --data "$D" \
    --smoothing 0.1 --hidden 8,8 --epochs 1 --quiet --out "$W/m2.lspm"
  said "train, two SIG${s%:*}s" train
done

# run: a SIGHUP (a closed terminal or ssh session) stops it as Ctrl-C does,
# and two copies of SIGTERM at once (GNU timeout signals the command, then
# its process group) are one request: exit 130, "interrupted", no new
# folder and no staging folder left
for s in HUP:1:1 TERM:15:2; do
  n=${s%%:*}
  rm -rf "$SCR/r"
  LD_PRELOAD="$SHIM" LSP_SHIM_SIGNAL="$(echo "$s" | cut -d: -f2)" LSP_SHIM_COUNT="${s##*:}" \
    "$LSP" run --quick --threads 1 --data synthetic --out "$SCR/r" --quiet >"$SCR/out" 2>"$SCR/err"
  rc=$?
  [ $rc -eq 130 ] && ok "run, SIG$n x${s##*:}: exit 130" || bad "run, SIG$n x${s##*:}: exit $rc, want 130"
  grep -q "^lsprobe: run: interrupted" "$SCR/err" && ok "run, SIG$n x${s##*:}: says interrupted" \
    || bad "run, SIG$n x${s##*:}: stderr $(tail -2 "$SCR/err")"
  left=$(ls -A "$SCR" | grep -E '^(r|\.lsp-.*)$')
  [ -z "$left" ] && ok "run, SIG$n x${s##*:}: nothing left" || bad "run, SIG$n x${s##*:}: left $left"
done
# an ignored SIGHUP (nohup) stays ignored by the long commands too
rm -rf "$SCR/r"
(trap '' HUP; LD_PRELOAD="$SHIM" LSP_SHIM_SIGNAL=1 "$LSP" run --quick --threads 1 --data synthetic \
  --out "$SCR/r" --quiet >"$SCR/out" 2>"$SCR/err")
rc=$?
[ $rc -eq 0 ] && [ -s "$SCR/r/report.html" ] && ok "SIGHUP ignored by the parent: run completes" \
  || bad "SIGHUP ignored by the parent: run exit $rc, $(tail -2 "$SCR/err")"
rm -rf "$SCR/r"

# Ctrl-C during the last epoch's validation (one batch of 32 examples, then
# 200000 validation rows through a wide MLP: seconds): the run stops at the
# next validation chunk with exit 130 and writes no model
rm -f "$W/val.lspm"
"$LSP" train --data synthetic:train=200032,test=10,dim=64,classes=3 --val 200000 \
  --hidden 1024,1024 --batch 32 --epochs 1 --threads 1 --smoothing 0.1 --quiet \
  --out "$W/val.lspm" >"$SCR/out" 2>"$SCR/err" &
pid=$!
sleep 1.5
kill -INT "$pid"
t0=$(date +%s%N)
wait "$pid"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" -eq 130 ] && ok "train, SIGINT in the validation: exit 130" \
  || { bad "train, SIGINT in the validation: exit $rc, want 130"; head -3 "$SCR/err"; }
[ ! -e "$W/val.lspm" ] && [ -z "$(tmps)" ] && ok "train, SIGINT in the validation: no model" \
  || bad "train, SIGINT in the validation: $W/val.lspm or a temporary written"
[ "$ms" -lt 3000 ] && ok "train, SIGINT in the validation: stopped ${ms} ms after it" \
  || bad "train, SIGINT in the validation: stopped ${ms} ms after it (3000 at most)"
grep -qxF "lsprobe: train: training interrupted (epoch 1, validation)" "$SCR/err" \
  && ok "train, SIGINT in the validation: message" || bad "train, SIGINT: $(cat "$SCR/err")"
finish
