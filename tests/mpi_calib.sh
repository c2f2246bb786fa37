#!/usr/bin/env bash
# End-to-end, MPI build only: `mpirun -n P lsprobe calib --stream` prints
# byte for byte what the single process prints, for P = 1, 2, 3 and for
# float32/float64 logits and probabilities over several chunks (every
# metric of the JSON, SmoothECE too); float64
# inputs also equal the exact values of tests/data/calib_f64; a bad row on
# any rank fails the job with a message naming the rank, file and row.
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
MPIRUN=(mpirun --oversubscribe --allow-run-as-root)
jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); [d:=d[int(k) if isinstance(d, list) else k] for k in sys.argv[2:]]; print(d)' "$@"; }
close() { "$PY" -c 'import sys; sys.exit(abs(float(sys.argv[1])-float(sys.argv[2])) > float(sys.argv[3]))' "$@"; }

# 150001 rows (3 chunks of 65536 for one process, other cuts per rank)
"$PY" - "$SCR" <<'PYEOF'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(16)
n, k = 150001, 10
z = (rng.standard_normal((n, k)) * 3).astype(np.float32)
y = rng.integers(0, k, n)
np.save(d + "/z32.npy", z)
np.save(d + "/z64.npy", z.astype(np.float64) * 1.0000001)
p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
np.save(d + "/p32.npy", p.astype(np.float32))
np.save(d + "/y64.npy", y.astype(np.int64))
np.save(d + "/yu8.npy", y.astype(np.uint8))
zn = z.copy(); zn[140000, 3] = np.nan        # in the last third: rank 2 of 3
np.save(d + "/znan.npy", zn)
yb = y.copy(); yb[60000] = 10                 # rank 1 of 3
np.save(d + "/ybad.npy", yb)
np.save(d + "/pasz.npy", p[:1000].astype(np.float32))
np.save(d + "/ysmall.npy", y[:1000])
PYEOF
[ -s "$SCR/z32.npy" ] || { bad "could not write the test inputs"; finish; exit 1; }

# same NAME ARGS...: single process vs mpirun -n 1, 2, 3, byte for byte
same() {
  local name=$1
  shift
  expect_exit 0 "$name, one process" "$LSP" calib --stream --json "$@"
  cp "$SCR/out" "$SCR/single.json"
  for np in 1 2 3; do
    expect_exit 0 "$name, mpirun -n $np" "${MPIRUN[@]}" -n $np "$LSP" calib --stream --json "$@"
    cmp -s "$SCR/out" "$SCR/single.json" && ok "$name: -n $np equals the single process byte for byte" ||
      { bad "$name: -n $np differs"; diff "$SCR/out" "$SCR/single.json" | head -5; }
  done
}
same "float32 logits" --logits "$SCR/z32.npy" --labels "$SCR/y64.npy"
[ "$(jget "$SCR/single.json" n)" = 150001 ] && ok "n = 150001" || bad "n: $(jget "$SCR/single.json" n)"
same "float64 logits, uint8 labels, 2 threads" --logits "$SCR/z64.npy" --labels "$SCR/yu8.npy" --threads 2
same "float32 probabilities, 7 bins, left edges, SmoothECE at 0.05" --probs "$SCR/p32.npy" --labels "$SCR/y64.npy" --bins 7 --edges left --smece-sigma 0.05
same "table output" --probs "$SCR/p32.npy" --labels "$SCR/y64.npy"

# float64 forest probabilities: the exact values (tests/data/gen_calib_f64.py)
F="$DATA/calib_f64"
want() { awk -v c="$1" -v m="$2" -v b="$3" -v e="$4" '$1 == c && $2 == m && $3 == b && $4 == e { print $5 }' "$F/expected.txt"; }
expect_exit 0 "forest, mpirun -n 3" "${MPIRUN[@]}" -n 3 "$LSP" calib --stream --json --probs "$F/forest_probs.npy" --labels "$F/forest_labels.npy" --bins 10
fails=""
for key in accuracy brier ece mce rmsce classwise_ece over_confidence under_confidence; do
  close "$(jget "$SCR/out" $key)" "$(want forest $key 10 right)" 1e-12 || fails="$fails $key"
done
[ -z "$fails" ] && ok "forest over 3 ranks: the exact metrics" || bad "forest over 3 ranks:$fails differ"

# failures: every rank stops, rank 0 prints the first failing rank's reason
"${MPIRUN[@]}" -n 3 "$LSP" calib --stream --logits "$SCR/znan.npy" --labels "$SCR/y64.npy" >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 1 ] && ok "NaN on rank 2: exit 1" || bad "NaN on rank 2: exit $rc"
grep -q "rank 2: .*znan.npy: row 140000" "$SCR/err" && ok "NaN: message names rank, file and row" ||
  { bad "NaN message"; head -3 "$SCR/err"; }
[ "$(grep -c 'lsprobe: calib' "$SCR/err")" = 1 ] && ok "one message, from rank 0" || bad "messages: $(cat "$SCR/err")"
[ -s "$SCR/out" ] && bad "failed job printed a result" || ok "failed job prints no result"
"${MPIRUN[@]}" -n 3 "$LSP" calib --stream --logits "$SCR/z32.npy" --labels "$SCR/ybad.npy" >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 1 ] && grep -q "rank 1: .*ybad.npy: label 10 at index 60000" "$SCR/err" &&
  ok "bad label on rank 1: exit 1 naming rank, file and index" || { bad "bad label: exit $rc"; head -3 "$SCR/err"; }
"${MPIRUN[@]}" -n 2 "$LSP" calib --stream --logits "$SCR/pasz.npy" --labels "$SCR/ysmall.npy" >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 1 ] && grep -q "look like probabilities" "$SCR/err" && ok "probabilities given as logits: refused" ||
  { bad "probabilities as logits: exit $rc"; head -3 "$SCR/err"; }
"${MPIRUN[@]}" -n 2 "$LSP" calib --stream --logits "$SCR/missing.npy" --labels "$SCR/y64.npy" >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 1 ] && grep -q "missing.npy" "$SCR/err" && ok "missing file: exit 1 naming it" || { bad "missing file: exit $rc"; head -3 "$SCR/err"; }
"${MPIRUN[@]}" -n 2 "$LSP" calib --logits "$SCR/z32.npy" --labels "$SCR/y64.npy" >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 2 ] && grep -q "add --stream" "$SCR/err" && ok "calib without --stream on 2 ranks: usage error" || { bad "no --stream: exit $rc"; head -3 "$SCR/err"; }
"${MPIRUN[@]}" -n 2 "$LSP" data --data synthetic >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 2 ] && grep -q "does not run on several MPI ranks" "$SCR/err" && ok "other commands refuse several ranks" || { bad "data on 2 ranks: exit $rc"; head -3 "$SCR/err"; }
finish
