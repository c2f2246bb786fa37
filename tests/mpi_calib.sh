#!/usr/bin/env bash
# End-to-end, MPI build only: `mpirun -n P lsprobe calib --stream` prints
# byte for byte what the single process prints, for P = 1, 2, 3 and for
# float32/float64 logits and probabilities over several chunks (every
# metric of the JSON, SmoothECE too); float64
# inputs also equal the exact values of tests/data/calib_f64; a bad row on
# any rank fails the job with a message naming the rank, file and row.
# Ranks that disagree stop together (DESIGN §10), every job under a timeout
# so that a rank left waiting fails the test instead of hanging it: a bad
# option, a missing --stream or --help on one rank (exit 2, rank 0 naming
# that rank and its reason); other result-changing options on one rank (exit
# 2) or other input files (fewer rows, another dtype, other rows: exit 1).
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
zn[140000, 3] = -np.inf
np.save(d + "/zninf.npy", zn)
yb = y.copy(); yb[60000] = 10                 # rank 1 of 3
np.save(d + "/ybad.npy", yb)
yb[60000] = -3
np.save(d + "/yneg.npy", yb)
np.save(d + "/pasz.npy", p[:1000].astype(np.float32))
np.save(d + "/ysmall.npy", y[:1000])
np.save(d + "/z1.npy", z[:1])
np.save(d + "/y0d.npy", y[0])                  # a 0-d array
np.save(d + "/zshort.npy", z[:100000])         # a shorter copy
np.save(d + "/yshort.npy", y[:100000].astype(np.int64))
zo = z.copy(); zo[0] += 1; zo[-1] -= 1         # the same shape, other rows
np.save(d + "/zother.npy", zo)
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
grep -q "rank 2: .*znan.npy: non-finite value (nan) at row 140000, column 3$" "$SCR/err" &&
  ok "NaN: message names rank, file, row and column, as one process does" ||
  { bad "NaN message"; head -3 "$SCR/err"; }
[ "$(grep -c 'lsprobe: calib' "$SCR/err")" = 1 ] && ok "one message, from rank 0" || bad "messages: $(cat "$SCR/err")"
[ -s "$SCR/out" ] && bad "failed job printed a result" || ok "failed job prints no result"
"${MPIRUN[@]}" -n 3 "$LSP" calib --stream --logits "$SCR/z32.npy" --labels "$SCR/ybad.npy" >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 1 ] && grep -q "rank 1: .*ybad.npy: label 10 at index 60000" "$SCR/err" &&
  ok "bad label on rank 1: exit 1 naming rank, file and index" || { bad "bad label: exit $rc"; head -3 "$SCR/err"; }
"${MPIRUN[@]}" -n 3 "$LSP" calib --stream --logits "$SCR/zninf.npy" --labels "$SCR/y64.npy" >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 1 ] && grep -q "rank 2: .*zninf.npy: non-finite value (-inf) at row 140000, column 3 (lsprobe takes finite values only; if these are logits with a masked class" "$SCR/err" &&
  ok "-inf on rank 2: exit 1, the masked-class advice of one process" || { bad "-inf: exit $rc"; head -3 "$SCR/err"; }
"${MPIRUN[@]}" -n 3 "$LSP" calib --stream --logits "$SCR/z32.npy" --labels "$SCR/yneg.npy" >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 1 ] && grep -q "rank 1: .*yneg.npy: label -3 at index 60000 is out of range \[0, 10)$" "$SCR/err" &&
  ok "label -3 on rank 1: out of range, as one process says" || { bad "label -3: exit $rc"; head -3 "$SCR/err"; }
"${MPIRUN[@]}" -n 2 "$LSP" calib --stream --logits "$SCR/z1.npy" --labels "$SCR/y0d.npy" >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 1 ] && grep -q "y0d.npy: labels must be a 1-D array of class indices (got 0 dimensions)" "$SCR/err" &&
  ok "0-d labels: refused as one process refuses them" || { bad "0-d labels: exit $rc"; head -3 "$SCR/err"; }
# standard input and a shell's <(…) reach one rank at most: refused by name
# on several ranks (exit 2, nothing printed); on one rank, read as a file is
for how in stdin subst; do
  if [ $how = stdin ]; then
    timeout 60 "${MPIRUN[@]}" -n 2 "$LSP" calib --stream --json --logits - --labels "$SCR/y64.npy" <"$SCR/z32.npy" >"$SCR/out" 2>"$SCR/err"
  else
    timeout 60 "${MPIRUN[@]}" -n 2 "$LSP" calib --stream --json --logits "$SCR/z32.npy" --labels <(cat "$SCR/y64.npy") >"$SCR/out" 2>"$SCR/err"
  fi
  rc=$?
  [ $rc -eq 2 ] && [ ! -s "$SCR/out" ] && [ "$(grep -c '^lsprobe' "$SCR/err")" = 1 ] &&
    grep -q "standard input or a pipe cannot be split over MPI ranks" "$SCR/err" &&
    ok "$how on 2 ranks: exit 2, one message, no result" || { bad "$how on 2 ranks: exit $rc"; head -3 "$SCR/err"; }
done
"$LSP" calib --stream --json --logits "$SCR/z32.npy" --labels "$SCR/y64.npy" | grep -v '"logits"' >"$SCR/single.json"
cat "$SCR/z32.npy" | timeout 60 "${MPIRUN[@]}" -n 1 "$LSP" calib --stream --json --logits - --labels "$SCR/y64.npy" >"$SCR/out" 2>"$SCR/err"
grep -v '"logits"' "$SCR/out" | cmp -s - "$SCR/single.json" && ok "standard input on 1 rank: the file's result" ||
  { bad "standard input on 1 rank differs"; head -3 "$SCR/err"; }
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

# ranks that disagree: split NAME WANT NEEDLE [at1] RANK0ARGS -- OTHERARGS, the
# other arguments given to the last rank of 3 (at1: to rank 1 of 3): every rank
# stops within the timeout (124: a rank left waiting), exit WANT, one lsprobe
# line (rank 0's) containing NEEDLE, no result printed
C=(calib --stream --json --logits "$SCR/z32.npy" --labels "$SCR/y64.npy")
split() {
  local name=$1 want=$2 needle=$3 mid=0 a=() b=()
  shift 3
  [ "$1" = at1 ] && { mid=1; shift; }
  while [ "$1" != -- ]; do a+=("$1"); shift; done
  shift
  b=("$@")
  if [ $mid = 1 ]; then
    timeout 60 "${MPIRUN[@]}" -n 1 "$LSP" "${a[@]}" : -n 1 "$LSP" "${b[@]}" : -n 1 "$LSP" "${a[@]}" >"$SCR/out" 2>"$SCR/err"
  else
    timeout 60 "${MPIRUN[@]}" -n 2 "$LSP" "${a[@]}" : -n 1 "$LSP" "${b[@]}" >"$SCR/out" 2>"$SCR/err"
  fi
  local rc=$?
  if [ $rc -eq "$want" ] && [ "$(grep -c '^lsprobe' "$SCR/err")" = 1 ] && grep -qF -- "$needle" "$SCR/err" &&
    [ ! -s "$SCR/out" ]; then
    ok "$name: every rank stops, exit $rc: $(grep '^lsprobe' "$SCR/err")"
  else
    bad "$name: exit $rc, want $want and one line with '$needle'"
    grep -v '^ *$' "$SCR/err" | head -4 | sed 's/^/     /'
  fi
}
split "--bins 0 on rank 2" 2 "calib: rank 2: --bins: 0 is outside" "${C[@]}" -- "${C[@]}" --bins 0
split "unknown option on rank 1" 2 "rank 1: unknown option '--bogus'" at1 "${C[@]}" -- "${C[@]}" --bogus
split "no --stream on rank 2" 2 "rank 2: under mpirun only --stream" "${C[@]}" -- calib --logits "$SCR/z32.npy" --labels "$SCR/y64.npy"
split "--bootstrap with --stream on rank 2" 2 "rank 2: --stream computes no ACE" "${C[@]}" -- "${C[@]}" --bootstrap 100
split "--help on rank 2 only" 2 "rank 2: --help here but not on every rank" "${C[@]}" -- calib --help
split "another command on rank 2" 2 "rank 2: does not run on several MPI ranks" "${C[@]}" -- data --data synthetic
timeout 60 "${MPIRUN[@]}" -n 3 "$LSP" calib --help >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c '^usage: lsprobe calib' "$SCR/out")" = 1 ] && ok "--help on every rank: the usage once, exit 0" ||
  { bad "--help on every rank: exit $rc"; head -3 "$SCR/err"; }
split "--bins 7 on rank 2" 2 "rank 2: the options differ from rank 0's: --bins 7 (rank 0: --bins 15)" "${C[@]}" -- "${C[@]}" --bins 7
split "--edges left on rank 1" 2 "rank 1: the options differ from rank 0's: --edges left (rank 0: --edges right)" at1 "${C[@]}" -- "${C[@]}" --edges left
split "--smece-sigma on rank 2" 2 "rank 2: the options differ from rank 0's: --smece-sigma 0.05" "${C[@]}" -- "${C[@]}" --smece-sigma 0.05
split "--probs on rank 2" 2 "rank 2: the options differ from rank 0's: input --probs (rank 0: input --logits)" "${C[@]}" -- calib --stream --json --probs "$SCR/p32.npy" --labels "$SCR/y64.npy"
split "a shorter copy on rank 2" 1 "rank 2: the input files differ from rank 0's: 100000 rows (rank 0: 150001 rows)" "${C[@]}" -- calib --stream --json --logits "$SCR/zshort.npy" --labels "$SCR/yshort.npy"
split "float64 on rank 1" 1 "rank 1: the input files differ from rank 0's: float64 predictions (rank 0: float32 predictions)" at1 "${C[@]}" -- calib --stream --json --logits "$SCR/z64.npy" --labels "$SCR/y64.npy"
split "uint8 labels on rank 2" 1 "rank 2: the input files differ from rank 0's: uint8 labels (rank 0: int64 labels)" "${C[@]}" -- calib --stream --json --logits "$SCR/z32.npy" --labels "$SCR/yu8.npy"
split "other rows of the same shape on rank 2" 1 "rank 2: the input files differ from rank 0's: first and last rows (hash)" "${C[@]}" -- calib --stream --json --logits "$SCR/zother.npy" --labels "$SCR/y64.npy"
# what may differ: the threads and the output's form (rank 0's is printed)
"$LSP" "${C[@]}" >"$SCR/single.json"
expect_exit 0 "--threads 2 and no --json on rank 2" timeout 60 "${MPIRUN[@]}" -n 2 "$LSP" "${C[@]}" : -n 1 "$LSP" calib --stream --logits "$SCR/z32.npy" --labels "$SCR/y64.npy" --threads 2
cmp -s "$SCR/out" "$SCR/single.json" && ok "... and prints the single process's result" || bad "threads on rank 2: the result differs"
finish

