#!/usr/bin/env bash
# The cell scheduler under mpirun with fake cells (tests/mpi/sched_check.c):
# results equal the serial ones on 1 to 4 ranks, prerequisites finish before
# the cells that need them start, a cycle of them fails; a failing cell fails the job
# naming the cell; a killed rank takes the job down and rank 0 names the
# cell in flight. $1 = sched_check, $2 = a scratch folder.
set -u
CHK=$1
SCR=$2
rm -rf "$SCR" && mkdir -p "$SCR"
MPIRUN=(mpirun --oversubscribe --allow-run-as-root)
npass=0
nfail=0
ok() { npass=$((npass + 1)); echo "ok   - $1"; }
bad() { nfail=$((nfail + 1)); echo "FAIL - $1"; sed 's/^/     /' "$SCR/err" | head -8; }
for np in 1 2 3 4; do
  "${MPIRUN[@]}" -n $np "$CHK" ok >"$SCR/out" 2>"$SCR/err" && grep -q "ok on $np ranks" "$SCR/out" &&
    ok "fake cells on $np ranks: results equal the serial ones, longest first" || bad "ok mode, $np ranks"
  "${MPIRUN[@]}" -n $np "$CHK" fail >"$SCR/out" 2>"$SCR/err" && grep -q "fail on $np ranks: ok" "$SCR/out" &&
    ok "a failing cell on $np ranks: every rank fails naming the cell" || bad "fail mode, $np ranks"
  "${MPIRUN[@]}" -n $np "$CHK" deps >"$SCR/out" 2>"$SCR/err" && grep -q "deps on $np ranks: ok" "$SCR/out" &&
    ok "prerequisites on $np ranks: none starts early, results equal" || bad "deps mode, $np ranks"
  "${MPIRUN[@]}" -n $np "$CHK" cycle >"$SCR/out" 2>"$SCR/err" && grep -q "cycle on $np ranks: ok" "$SCR/out" &&
    ok "a cycle of prerequisites on $np ranks: every rank fails naming it" || bad "cycle mode, $np ranks"
done
# the rank that died (mpirun's report) is the one the log saw start cell 5
for np in 2 3; do
  timeout 120 "${MPIRUN[@]}" -n $np "$CHK" kill >"$SCR/out" 2>"$SCR/err"
  rc=$?
  dead=$(sed -n 's/.*process rank \([0-9]*\) with PID.*exited on signal 9.*/\1/p' "$SCR/err" | head -1)
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ -n "$dead" ] &&
    grep -q "cell 5 (fake cell 5) started on rank $dead\$" "$SCR/err" &&
    ! grep -q "cell 5 (fake cell 5) finished" "$SCR/err"; then
    ok "a killed rank ($np ranks): the job fails (exit $rc); the log names cell 5 on the dead rank $dead"
  else
    bad "kill mode, $np ranks: exit $rc, dead rank '$dead'"
  fi
  # best effort (the launcher may SIGKILL rank 0 first): not a failure
  grep -q "cells in flight:.* cell 5 (fake cell 5) on rank $dead" "$SCR/err" &&
    echo "     (rank 0's SIGTERM handler also named the cell in flight)"
done
echo "$npass passed, $nfail failed"
[ $nfail -eq 0 ]
