#!/usr/bin/env bash
# End-to-end: the output folder (DESIGN §4 "Outputs"). Files the user put in
# --out survive `run` and `compare` (at the top, inside plots/, dumps/ and
# models/); a non-empty folder lsprobe did not create is refused without
# --force and its files are kept with it; a failure midway leaves the folder
# exactly as it was; two Ctrl-C and a SIGKILL mid-publication leave nothing
# a later run does not clean up; a 4000-character --out works, cache key and
# all, and an over-long one is refused with a message before anything is
# touched. LSPROBE_TEST_FAULT (lsp_outdir.c) injects the failures and kills.
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
Q=(--quick --quiet --threads 2 --bootstrap 20 --data synthetic:train=600,test=200,dim=16,classes=4)
OUT="$SCR/r"

# every regular file under $1 except the model cache, with its checksum
snap() { (cd "$1" && find . -path ./models -prune -o \( -type f -o -type l \) -print0 | sort -z |
          xargs -0 sha256sum 2>/dev/null; find . -type d | sort); }
# staging folders or temporaries anywhere under the scratch folder
leftovers() { find "$SCR" \( -name '.lsp-*' -o -name '.staging*' -o -name '.old-*' -o -name '*.tmp.*' \) -print; }
no_leftovers() {
  local l
  l=$(leftovers)
  [ -z "$l" ] && ok "$1: nothing left behind" || bad "$1: left behind: $(echo "$l" | head -3)"
}
# user files: name|content
USER_FILES=("thesis.pdf|my thesis" "plots/thesis.pdf|a figure of mine" "dumps/mine/notes.txt|notes"
            "models/README.txt|what these models are")
add_user() { for uf in "${USER_FILES[@]}"; do mkdir -p "$(dirname "$1/${uf%%|*}")"; printf '%s' "${uf#*|}" >"$1/${uf%%|*}"; done; }
check_user() {
  local miss=""
  for uf in "${USER_FILES[@]}"; do
    [ "$(cat "$1/${uf%%|*}" 2>/dev/null)" = "${uf#*|}" ] || miss="$miss ${uf%%|*}"
  done
  [ -z "$miss" ] && ok "$2: the user's files survive" || bad "$2: user files lost:$miss"
}
report_whole() { # results.json parses, report.html is complete, every listed file exists
  $PY - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
json.load(open(d + "/results.json"))
assert open(d + "/report.html").read().rstrip().endswith("</html>")
lines = open(d + "/.lsprobe-manifest").read().splitlines()
for l in lines[3:]:
    t, p = l.split(" ", 1)
    if t in "fd":
        assert os.path.lexists(os.path.join(d, p)), p
PY
}

# ---- run: the user's files survive, at the top and inside lsprobe's folders
expect_exit 0 "run" "$LSP" run "${Q[@]}" --out "$OUT"
[ -s "$OUT/.lsprobe-manifest" ] && head -1 "$OUT/.lsprobe-manifest" | grep -q '^lsprobe-manifest 1$' \
  && ok "manifest written" || bad "no manifest"
add_user "$OUT"
expect_exit 0 "rerun with other models" "$LSP" run "${Q[@]}" --out "$OUT" --smoothing 0,0.2 --format png
check_user "$OUT" "run"
[ -e "$OUT/dumps/eps0.2_seed1/logits.npy" ] && [ ! -e "$OUT/dumps/eps0.1_seed1" ] && [ -s "$OUT/plots/attacks.png" ] \
  && ok "lsprobe's own stale files replaced" || bad "stale dumps kept or new ones missing"
no_leftovers "run"

# ---- compare: the same
C="$SCR/cmp"
expect_exit 0 "compare" "$LSP" compare "$OUT/results.json" --out "$C"
printf 'mine' >"$C/thesis.pdf"
printf 'my figure' >"$C/plots/thesis.pdf"
expect_exit 0 "compare again" "$LSP" compare "$OUT/results.json" --out "$C" --format pdf
[ "$(cat "$C/thesis.pdf")" = mine ] && [ "$(cat "$C/plots/thesis.pdf")" = "my figure" ] \
  && ok "compare: the user's files survive" || bad "compare: user files lost"
[ -s "$C/plots/compare_attacks.pdf" ] && ok "compare: new report in place" || bad "compare: no pdf"
expect_exit 2 "compare into a run's folder" "$LSP" compare "$OUT/results.json" --out "$OUT"
expect_err "holds a run report" "compare into a run's folder"
expect_exit 2 "run into a compare folder" "$LSP" run "${Q[@]}" --out "$C"
expect_err "holds a compare report" "run into a compare folder"
no_leftovers "compare"

# ---- a folder lsprobe did not create: refused, unless --force; files kept
F="$SCR/foreign"
mkdir -p "$F"
printf 'mine' >"$F/thesis.pdf"
printf 'my own page' >"$F/report.html"
before=$(snap "$F")
expect_exit 2 "run into a foreign folder" "$LSP" run "${Q[@]}" --out "$F"
expect_err "pass --force" "run into a foreign folder"
expect_exit 2 "compare into a foreign folder" "$LSP" compare "$OUT/results.json" --out "$F"
expect_err "pass --force" "compare into a foreign folder"
[ "$(snap "$F")" = "$before" ] && ok "refused: folder untouched" || bad "refused run changed the folder"
expect_exit 0 "run --force" "$LSP" run "${Q[@]}" --out "$F" --force
[ "$(cat "$F/thesis.pdf")" = mine ] && [ "$(cat "$F/report.html.kept")" = "my own page" ] \
  && grep -q '</html>' "$F/report.html" && ok "--force: the user's files kept (report.html as report.html.kept)" \
  || bad "--force lost or overwrote a user file"
grep -q '^k report.html report.html.kept$' "$F/.lsprobe-manifest" && ok "kept name recorded" || bad "kept name not recorded"
expect_exit 0 "rerun without --force (now lsprobe's)" "$LSP" run "${Q[@]}" --out "$F"
"$LSP" run --help 2>&1 | grep -q -- '--force' && "$LSP" compare --help 2>&1 | grep -q -- '--force' \
  && ok "--help lists --force" || bad "--help lacks --force"

# ---- two jobs started together into a new folder: the one that did not
# create it finds in it only the manifest the other (a live process) is
# writing, and waits for it (up to 5 s) rather than call the folder the
# user's; a manifest never written is refused as such, not as a foreign folder
sleep 60 &
held=$!
tmp=".lsprobe-manifest.tmp.$held-$(awk '{print $22}' /proc/$held/stat)-$(head -c 8 /proc/sys/kernel/random/boot_id).abc123"
T="$SCR/together"
mkdir -p "$T"
printf 'lsprobe-manifest 1\nkind run\nstage -\n' >"$T/$tmp"
(sleep 1 && mv "$T/$tmp" "$T/.lsprobe-manifest") &
expect_exit 0 "run into a folder another job is creating" "$LSP" run "${Q[@]}" --out "$T"
wait $!
report_whole "$T" && ok "the folder another job created: the report written" || bad "together: no whole report"
rm -rf "$T" && mkdir -p "$T" && printf 'lsprobe-manifest 1\n' >"$T/$tmp"
expect_exit 2 "run into a folder whose creator never writes its manifest" "$LSP" run "${Q[@]}" --out "$T"
expect_err "another lsprobe job has just created this folder" "a folder whose creator never writes its manifest"
kill $held
rm -rf "$T"

# ---- a failure midway: everything as it was
before=$(snap "$OUT")
for n in 1 4 12; do
  LSPROBE_TEST_FAULT=fail:$n "$LSP" run "${Q[@]}" --out "$OUT" --smoothing 0,0.05 >"$SCR/out" 2>"$SCR/err"
  code=$?
  [ $code -eq 1 ] && grep -q 'injected failure' "$SCR/err" && ok "failure at step $n: exit 1 with the reason" \
    || bad "failure at step $n: exit $code ($(head -2 "$SCR/err"))"
  [ "$(snap "$OUT")" = "$before" ] && ok "failure at step $n: folder exactly as before" \
    || bad "failure at step $n: folder changed"
  no_leftovers "failure at step $n"
done
check_user "$OUT" "failures"
LSPROBE_TEST_FAULT=fail:2 "$LSP" compare "$OUT/results.json" --out "$C" >"$SCR/out" 2>"$SCR/err"
[ $? -eq 1 ] && [ "$(cat "$C/thesis.pdf")" = mine ] && ok "compare failure midway: exit 1, files kept" || bad "compare failure midway"
no_leftovers "compare failure"

# ---- SIGKILL mid-publication (before, at and after the switch), then a rerun
for n in 6 30 60; do
  before=$(snap "$OUT")
  LSPROBE_TEST_FAULT=kill:$n "$LSP" run "${Q[@]}" --out "$OUT" --smoothing 0,0.05 >"$SCR/out" 2>"$SCR/err"
  code=$?
  [ $code -eq 137 ] && ok "killed at step $n (exit 137)" || bad "kill at step $n: exit $code"
  report_whole "$OUT" && ok "killed at step $n: a whole report in place" || bad "killed at step $n: report broken"
  check_user "$OUT" "killed at step $n"
  expect_exit 0 "rerun after the kill at step $n" "$LSP" run "${Q[@]}" --out "$OUT"
  check_user "$OUT" "rerun after the kill at step $n"
  no_leftovers "rerun after the kill at step $n"
done

# ---- two Ctrl-C: the second kills; a rerun cleans up. One mini-batch of
# this job takes about a second, and training looks at the first Ctrl-C
# between batches: the second arrives while the job is still running.
before=$(snap "$OUT")
"$LSP" run --quick --quiet --threads 2 --epochs 50 --batch 8000 --hidden 2048 \
  --data synthetic:train=8000,test=200,dim=256,classes=4 --out "$OUT" >"$SCR/out" 2>"$SCR/err" &
pid=$!
# wait for the job's staging folder (beside OUT; inside it before lsprobe
# 0.2), then SIGINT; the second SIGINT goes as soon as the first is no
# longer pending (a thread has taken it: the handler has run or is running),
# from another process: the same signal from the same sender within a
# second would count as a copy of the first (GNU timeout's), not a second
$PY - "$pid" "$SCR" "$OUT" <<'PY'
import os, signal, sys, time
pid, scr, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def staged():
    return any(n.startswith(".lsp-") for n in os.listdir(scr)) or \
           any(n.startswith(".staging") for n in os.listdir(out))
def pending():
    for line in open("/proc/%d/status" % pid):
        if line.startswith(("ShdPnd:", "SigPnd:")) and \
           int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)):
            return True
    return False
t0 = time.time()
while not staged() and time.time() - t0 < 30:
    time.sleep(0.01)
time.sleep(0.3)
os.kill(pid, signal.SIGINT)
try:
    while pending():
        pass
    if os.fork() == 0:
        try:
            os.kill(pid, signal.SIGINT)
        finally:
            os._exit(0)
    os.wait()
except (FileNotFoundError, ProcessLookupError):
    pass
PY
wait "$pid"
code=$?
[ $code -eq 130 ] && ok "two SIGINTs: exit 130" || bad "two SIGINTs: exit $code"
grep -q 'interrupted;' "$SCR/err" && bad "two SIGINTs: the first one's clean stop came first (test setup)" \
  || ok "two SIGINTs: the second one killed the job"
[ "$(snap "$OUT")" = "$before" ] && ok "two SIGINTs: report untouched" || bad "two SIGINTs: report changed"
expect_exit 0 "rerun after two SIGINTs" "$LSP" run "${Q[@]}" --out "$OUT"
check_user "$OUT" "rerun after two SIGINTs"
no_leftovers "rerun after two SIGINTs"

# ---- long paths: 4000 characters work (cache key and all), longer ones are refused
long_path() { # $1 base, $2 total length; parts < 255 characters, the last two long
  $PY -c '
import sys
p, n = sys.argv[1], int(sys.argv[2])
while n - len(p) > 400:
    p += "/" + "d" * 200
r = n - len(p)
a = r // 2 - 1
p += "/" + "e" * a
p += "/" + "f" * (n - len(p) - 1)
print(p)' "$1" "$2"
}
L=$(long_path "$SCR/long" 4000)
[ ${#L} -eq 4000 ] || bad "test setup: path of ${#L} characters"
expect_exit 0 "run --out <4000 characters>" "$LSP" run "${Q[@]}" --out "$L"
grep -qF "report: $L/report.html" "$SCR/out" && report_whole "$L" && ok "4000 characters: the report is at --out" \
  || bad "4000 characters: report missing"
[ "$(find "$SCR/long" -type f -name '*.lspm' | wc -l)" -eq 2 ] && [ "$(ls "$L/models/"*.lspm | wc -l)" -eq 2 ] \
  && ok "4000 characters: models cached at --out/models, nowhere else" || bad "4000 characters: models elsewhere"
"$LSP" run "${Q[@]}" --out "$L" >"$SCR/out" 2>"$SCR/err"
code=$?
"$LSP" run --quick --threads 2 --bootstrap 20 --data synthetic:train=600,test=200,dim=16,classes=4 \
  --out "$L" >"$SCR/out" 2>"$SCR/err"
[ $? -eq 0 ] && [ $code -eq 0 ] && [ "$(grep -c 'reusing the cached model' "$SCR/err")" -eq 2 ] \
  && ok "4000 characters: reruns reuse the cached models" || bad "4000 characters: cache not reused ($(tail -1 "$SCR/err"))"
no_leftovers "4000 characters"
# 4093 characters: too long for what goes under it; a user's file there
# (reachable only relative to the folder) survives
L=$(long_path "$SCR/longer" 4093)
mkdir -p "$L" && (cd "$L" && printf 'mine' >keep.txt)
expect_exit 2 "compare --out <4093 characters>" "$LSP" compare "$OUT/results.json" --out "$L"
expect_err "too long" "compare --out <4093 characters>"
expect_err "choose a shorter --out" "compare --out <4093 characters> (message ends whole)"
[ "$(cd "$L" && cat keep.txt)" = mine ] && [ "$(cd "$L" && ls -A)" = keep.txt ] \
  && ok "4093 characters: folder untouched" || bad "4093 characters: the user's folder was changed"
L=$(long_path "$SCR/longest" 4090)
expect_exit 2 "run --out <4090 characters, new>" "$LSP" run "${Q[@]}" --out "$L"
expect_err "too long" "run --out <4090 characters>"
[ -e "$SCR/longest" ] && bad "over-long --out: something was created" || ok "over-long --out: nothing created"
no_leftovers "long paths"
# --out is checked before any work: a file there stops run and compare
# with one line naming --out, before the data are read
printf 'mine' >"$SCR/afile"
expect_exit 1 "run --out a file" "$LSP" run --quick --threads 2 --data synthetic:train=600,test=200,dim=16,classes=4 --out "$SCR/afile"
expect_err "lsprobe: run: --out $SCR/afile: exists and is not a folder" "run --out a file"
expect_exit 1 "run --out under a file" "$LSP" run --quick --threads 2 --data synthetic:train=600,test=200,dim=16,classes=4 --out "$SCR/afile/r"
expect_err "lsprobe: run: --out $SCR/afile/r: $SCR/afile is not a folder" "run --out under a file"
expect_exit 1 "compare --out a file" "$LSP" compare "$OUT/results.json" --out "$SCR/afile"
expect_err "lsprobe: compare: --out $SCR/afile: exists and is not a folder" "compare --out a file"
[ "$(cat "$SCR/afile")" = mine ] && ok "--out a file: the file kept" || bad "--out a file: the file changed"

# a cache lsprobe may read but not write (a shared folder on a read-only
# mount: as root, a read-only bind mount in a mount namespace of the run's
# own; otherwise the folder's write permission taken away): with every
# model cached the run publishes its report, the same numbers, and says the
# cells' results were not saved there
RO="$SCR/ro"
rm -rf "$RO"
expect_exit 0 "a cache to share" "$LSP" run "${Q[@]}" --out "$RO/a"
expect_exit 0 "a report to share it" "$LSP" run "${Q[@]}" --out "$RO/b"
rm -rf "$RO/b/models" && ln -s "$RO/a/models" "$RO/b/models"
if [ "$(id -u)" = 0 ]; then
  ro_run() {
    unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' \
      sh "$RO/a/models" "$@"
  }
else
  chmod a-w "$RO/a/models"
  ro_run() { "$@"; }
fi
expect_exit 0 "run with a read-only cache" ro_run "$LSP" run "${Q[@]}" --out "$RO/b"
grep -qF "lsprobe: run: WARNING: $RO/b/models cannot be written (" "$SCR/err" &&
  ok "read-only cache: the run says so" || bad "read-only cache: no warning: $(head -2 "$SCR/err")"
"$PY" - "$RO/a/results.json" "$RO/b/results.json" <<'PYEOF' && ok "read-only cache: every model cached, the same numbers" || bad "read-only cache: results differ"
import json, sys
def timeless(v):  # an attack's "seconds" are the clock's, not a result
    if isinstance(v, dict):
        return {k: timeless(x) for k, x in v.items() if k != "seconds"}
    return [timeless(x) for x in v] if isinstance(v, list) else v
a, b = (json.load(open(f))["models"] for f in sys.argv[1:])
keys = ("calibration", "clusters", "logit_gap", "attacks")
sys.exit(not (len(a) == len(b) > 0 and all(m["cached"] for m in b) and
              all(timeless(x[k]) == timeless(y[k]) for x, y in zip(a, b) for k in keys)))
PYEOF
chmod -R u+w "$RO"
finish
