#!/usr/bin/env bash
# The release build on CPUs this host is not: QEMU's user-mode emulator
# (Debian's qemu-user) runs it as a CPU without AVX (Nehalem), one with AVX
# but not AVX2 (Sandy Bridge), one with AVX2 (Haswell; QEMU 7.2 emulates no
# AVX-512) and AVX2 CPUs lacking one other x86-64-v3 feature, as virtual
# machines that mask features are. Checks that lsprobe's own dispatch and
# the loader's clones pick the same level, the level GCC defines (DESIGN §5),
# and that the kernels' tests and a small train/eval/attack pass there: an
# instruction the CPU lacks would stop them with SIGILL.
#   $1 = lsprobe, $2 = tests/data, $3 = scratch, $4 = the test programs' folder
. "$(dirname "$0")/e2e_common.sh"
if ! command -v qemu-x86_64 >/dev/null; then
  skipped "qemu-x86_64 not installed (Debian qemu-user; scripts/setup installs it)"
  finish
  exit $?
fi
# OpenBLAS must see the emulated CPU too: a core type forced from outside
# (OPENBLAS_CORETYPE=Haswell, as some machines set) would run AVX2 kernels
# on the Sandy Bridge and stop with SIGILL.
Q() { local m=$1; shift; env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 qemu-x86_64 -cpu "$m" "$@"; }

# model : the level both dispatchers must name
for row in "Nehalem:x86-64" "SandyBridge:x86-64" "Haswell:x86-64-v3" \
           "Haswell,-movbe:x86-64" "Haswell,-f16c:x86-64" "Haswell,-abm:x86-64"; do
  m=${row%%:*} want=${row#*:}
  line=$(Q "$m" "$LSP" --version 2>"$SCR/err" | sed -n 2p)
  if [[ "$line" =~ ^kernels:\ ([^ ]+)\ \(dispatched\ clones:\ ([^\)]+)\),\ OpenBLAS\ .+$ ]] &&
     [ "${BASH_REMATCH[1]}" = "$want" ] && [ "${BASH_REMATCH[2]}" = "$want" ]; then
    ok "-cpu $m: kernels and clones both $want"
  else
    bad "-cpu $m: want $want for both, got '$line' $(head -c 300 "$SCR/err")"
  fi
done

# the kernels' own tests (every level up to the CPU's against double
# references) on CPUs without AVX2, and with it
for m in Nehalem SandyBridge Haswell; do
  for t in test_loss test_xent_exp test_calib_row test_soft; do
    if Q "$m" "$TOOLS/$t" >"$SCR/out" 2>&1; then ok "-cpu $m: $t"; else
      bad "-cpu $m: $t exit $?"; tail -n 5 "$SCR/out" | sed 's/^/     /'; fi
  done
done

# a small study's steps on the CPU with AVX but not AVX2: the MLP's clones,
# OpenBLAS's Sandy Bridge kernels, the loss, calibration and attack paths
SYN="synthetic:train=600,test=300,dim=16,classes=4,sep=4"
expect_exit 0 "-cpu SandyBridge: train" Q SandyBridge "$LSP" train --data "$SYN" \
  --smoothing 0.1 --hidden 16 --epochs 2 --threads 1 --out "$SCR/m.lspm"
expect_exit 0 "-cpu SandyBridge: eval --dump" Q SandyBridge "$LSP" eval --model "$SCR/m.lspm" \
  --data "$SYN" --dump "$SCR/d" --threads 1 --json
expect_exit 0 "-cpu SandyBridge: calib" Q SandyBridge "$LSP" calib --logits "$SCR/d/logits.npy" \
  --labels "$SCR/d/labels.npy" --bootstrap 50 --json
expect_exit 0 "-cpu SandyBridge: attack" Q SandyBridge "$LSP" attack --model "$SCR/m.lspm" \
  --data "$SYN" --attack pgd --eps 0,0.1 --steps 3 --limit 100 --threads 1 --json
# the training record (a string is its 4-byte little-endian length, then
# its bytes: DESIGN's .lspm format) names the baseline clone
/usr/bin/python3 - "$SCR/m.lspm" <<'PY' && ok "the model's record names the baseline clone" || bad "the record names another clone"
import sys
data = open(sys.argv[1], "rb").read()
sys.exit(0 if b"cpu_path\x06\x00\x00\x00x86-64" in data else 1)
PY
finish
