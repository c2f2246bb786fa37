#!/usr/bin/env bash
# A skipped test is not a pass: a cmocka program with a skipped test exits
# 77, an end-to-end script with a skipped check exits 77 after its closing
# line, and ctest knows 77 as SKIP_RETURN_CODE for every cmocka and
# end-to-end test (so it lists them as skipped, not passed).
#   $1 = the skip_probe program, $2 = the ctest build folder, $3 = tests/
PROBE=$1
BUILD=$2
TESTS=$3
npass=0
nfail=0
check() { if eval "$2"; then npass=$((npass + 1)); echo "ok   - $1"; else nfail=$((nfail + 1)); echo "FAIL - $1"; fi; }

"$PROBE" pass >/dev/null 2>&1; rc=$?
check "cmocka: all passed exits 0 (got $rc)" '[ $rc -eq 0 ]'
"$PROBE" skip >/dev/null 2>&1; rc=$?
check "cmocka: a skipped test exits 77 (got $rc)" '[ $rc -eq 77 ]'
"$PROBE" fail >/dev/null 2>&1; rc=$?
check "cmocka: a failure outweighs a skip: exit 1 (got $rc)" '[ $rc -eq 1 ]'
"$PROBE" skip-then-pass >/dev/null 2>&1; rc=$?
check "cmocka: a skip in an earlier group still exits 77 (got $rc)" '[ $rc -eq 77 ]'
"$PROBE" fail-then-skip >/dev/null 2>&1; rc=$?
check "cmocka: a failure in an earlier group still exits 1 (got $rc)" '[ $rc -eq 1 ]'

scr=$(mktemp -d)
trap 'rm -rf "$scr"' EXIT
e2e() { # e2e BODY: an end-to-end script using e2e_common.sh
  printf '. "%s/e2e_common.sh"\n%s\nfinish\n' "$TESTS" "$1" >"$scr/t.sh"
  bash "$scr/t.sh" true "$TESTS/data" "$scr/s" "$scr" >"$scr/out" 2>&1
}
e2e 'ok one; skipped "no data"'; rc=$?
check "e2e: a skipped check exits 77 (got $rc)" '[ $rc -eq 77 ]'
check "e2e: the closing line counts the skip" 'grep -qx "1 passed, 0 failed, 1 skipped" "$scr/out"'
e2e 'ok one; skipped "no data"; bad two'; rc=$?
check "e2e: a failure outweighs a skip: exit 1 (got $rc)" '[ $rc -eq 1 ]'
e2e 'ok one'; rc=$?
check "e2e: all passed exits 0 (got $rc)" '[ $rc -eq 0 ]'

# ctest's own view: every cmocka (test_*) and end-to-end (cli_*) test maps 77 to skipped
(cd "$BUILD" && ctest --show-only=json-v1) >"$scr/tests.json" 2>/dev/null
check "ctest: SKIP_RETURN_CODE 77 on every test_* and cli_* test" '/usr/bin/python3 - "$scr/tests.json" <<'"'"'PY'"'"'
import json, sys
tests = json.load(open(sys.argv[1]))["tests"]
mine = [t for t in tests if t["name"].startswith(("test_", "cli_"))]
def code(t):
    for p in t.get("properties", []):
        if p["name"] == "SKIP_RETURN_CODE":
            return str(p["value"])
missing = [t["name"] for t in mine if code(t) != "77"]
if not mine or missing:
    print("without SKIP_RETURN_CODE 77:", missing or "no tests found")
    sys.exit(1)
PY'

echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
