#!/usr/bin/env bash
# gnuplot that does not finish, or outlives lsprobe: a gnuplot still running
# after LSPROBE_GNUPLOT_TIMEOUT seconds is stopped (with whatever it
# started) and its figure left out with a warning, the report written
# without it; gnuplot's messages go to a temporary file that no way of
# ending lsprobe leaves behind, not even a kill -9, in /tmp when $TMPDIR is
# no folder (where Chromium, too, is pointed).
. "$(dirname "$0")/e2e_common.sh"
T="$SCR/tmp"
mkdir -p "$T"
expect_exit 0 "a run to compare" env LSPROBE_GNUPLOT=/nonexistent/gnuplot "$LSP" run --quick \
  --threads 1 --data synthetic --out "$SCR/base" --quiet

# a gnuplot that hangs without reading its script (its sleep a child of the
# shell, left behind unless the whole process group is stopped)
printf '#!/bin/sh\nsleep 37\n' >"$SCR/hung"
chmod +x "$SCR/hung"
t0=$(date +%s)
TMPDIR="$T" LSPROBE_GNUPLOT="$SCR/hung" LSPROBE_GNUPLOT_TIMEOUT=2 timeout 30 "$LSP" compare \
  "$SCR/base" --out "$SCR/cmp" >"$SCR/out" 2>"$SCR/err"
rc=$?
s=$(($(date +%s) - t0))
[ $rc -eq 0 ] && ok "hung gnuplot: compare exits 0 after ${s} s" \
  || bad "hung gnuplot: exit $rc after ${s} s, want 0 ($(tail -2 "$SCR/err"))"
grep -q "WARNING: plots/[a-z_]*\.svg could not be drawn .*gnuplot did not finish within 2 s and was stopped" \
  "$SCR/err" && ok "hung gnuplot: the figure named in a warning" || bad "hung gnuplot: stderr $(tail -2 "$SCR/err")"
[ -s "$SCR/cmp/compare.html" ] && ok "hung gnuplot: the report is written" || bad "hung gnuplot: no report"
pgrep -f "sleep 37" >/dev/null && bad "hung gnuplot: its sleep is left running" \
  || ok "hung gnuplot: nothing left running"
[ -z "$(ls -A "$T")" ] && ok "hung gnuplot: no temporary file left" || bad "hung gnuplot: left $(ls -A "$T")"

# a timeout that is no number of seconds fails the figures, saying so
LSPROBE_GNUPLOT_TIMEOUT=abc "$LSP" compare "$SCR/base" --out "$SCR/cmpbad" >"$SCR/out" 2>"$SCR/err"
grep -q "LSPROBE_GNUPLOT_TIMEOUT=abc is not a number of seconds in (0, 1e6\]" "$SCR/err" &&
  ok "a bad LSPROBE_GNUPLOT_TIMEOUT is named" || bad "bad timeout: $(head -c 300 "$SCR/err")"

# hung_compare NAME BODY: `compare` into $SCR/NAME under a `timeout 30`
# guard, its gnuplot a script running BODY (a sleep of a unique length) that
# never returns; once that sleep runs, $lp is the guard and $lsp lsprobe
hung_compare() {
  printf '#!/bin/sh\n%s\n' "$2" >"$SCR/$1.sh"
  chmod +x "$SCR/$1.sh"
  TMPDIR="$T" LSPROBE_GNUPLOT="$SCR/$1.sh" timeout 30 "$LSP" compare "$SCR/base" --out "$SCR/$1" \
    >"$SCR/out" 2>"$SCR/err" &
  lp=$!
  local pat=${2#exec }
  for _ in $(seq 100); do pgrep -f "$pat" >/dev/null && break; sleep 0.1; done
  lsp=$(pgrep -P "$lp")
  pgrep -f "$pat" >/dev/null && [ -n "$lsp" ] && ok "$1: gnuplot hangs" || bad "$1: gnuplot never started"
}

# a second signal ends lsprobe at once while a gnuplot hangs: the gnuplot
# and what it started end with it (they would go on writing otherwise)
hung_compare second "sleep 38"
kill -INT "$lsp"
kill -TERM "$lsp" # another signal: it ends lsprobe at once
wait $lp
rc=$?
sleep 0.3
[ $rc -eq 130 ] && ok "a second signal while gnuplot hangs: exit 130" || bad "a second signal: exit $rc, want 130"
pgrep -f "sleep 38" >/dev/null && { bad "a second signal: gnuplot's sleep left running"; pkill -f "sleep 38"; } \
  || ok "a second signal: gnuplot and its child stopped"
# (the staging folder a second signal leaves is the next run's to remove)

# kill -9 of lsprobe while gnuplot hangs: gnuplot ends too (on Linux)
hung_compare killed "exec sleep 39"
kill -9 "$lsp"
wait $lp
sleep 0.3
pgrep -f "sleep 39" >/dev/null && { bad "kill -9 while gnuplot hangs: gnuplot left running"; pkill -f "sleep 39"; } \
  || ok "kill -9 while gnuplot hangs: gnuplot ended with it"

# a gnuplot that kills lsprobe (kill -9, as a power cut would) while it draws
printf '#!/bin/sh\ncat >/dev/null\nkill -9 $PPID\n' >"$SCR/killer"
chmod +x "$SCR/killer"
TMPDIR="$T" LSPROBE_GNUPLOT="$SCR/killer" timeout 30 "$LSP" compare "$SCR/base" --out "$SCR/cmp9" \
  >"$SCR/out" 2>"$SCR/err"
rc=$?
[ $rc -eq 137 ] && ok "kill -9 while drawing: killed" || bad "kill -9 while drawing: exit $rc, want 137"
[ -z "$(ls -A "$T")" ] && ok "kill -9 while drawing: no gnuplot message file left" \
  || bad "kill -9 while drawing: left $(ls -A "$T")"
# $TMPDIR that is no folder (a cluster job's, gone): gnuplot's message file
# goes to /tmp instead, and a failing gnuplot is still heard (the figures
# were all left out with "/nonexistent: cannot create a temporary file")
printf '#!/bin/sh\ncat >/dev/null\necho "this gnuplot says no" >&2\nexit 1\n' >"$SCR/no"
chmod +x "$SCR/no"
TMPDIR="$SCR/none" LSPROBE_GNUPLOT="$SCR/no" "$LSP" compare "$SCR/base" --out "$SCR/cmptmp" >"$SCR/out" 2>"$SCR/err"
grep -q 'missing (gnuplot: this gnuplot says no)' "$SCR/err" && ! grep -q 'cannot create a temporary file' "$SCR/err" &&
  ok "\$TMPDIR no folder: gnuplot's messages read through /tmp" || bad "\$TMPDIR no folder: $(head -c 300 "$SCR/err")"
# and Chromium, which keeps scratch files in $TMPDIR and fails (exit 21)
# when it is no folder, gets /tmp as its TMPDIR: a stand-in that checks it
cat >"$SCR/chromium" <<'SH'
#!/bin/sh
[ -d "$TMPDIR" ] || exit 21
for a; do case $a in --print-to-pdf=*) printf '%%PDF-1.4 stand-in' >"${a#--print-to-pdf=}" ;; esac; done
SH
chmod +x "$SCR/chromium"
TMPDIR="$SCR/none" LSPROBE_GNUPLOT="$SCR/no" LSPROBE_CHROMIUM="$SCR/chromium" "$LSP" run --quick --threads 1 \
  --data synthetic:train=600,test=200,dim=16,classes=4 --bootstrap 20 --format pdf --out "$SCR/pdf" --quiet 2>"$SCR/err"
[ -s "$SCR/pdf/report.pdf" ] && ! grep -q 'report.pdf is not written' "$SCR/err" &&
  ok "\$TMPDIR no folder: report.pdf printed" || bad "\$TMPDIR no folder: no report.pdf ($(grep pdf "$SCR/err"))"
finish
