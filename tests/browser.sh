#!/usr/bin/env bash
# The reports in a real browser (Debian's headless Chromium, driven by
# tests/browser_check.py): report.html of `lsprobe run --quick --format pdf`
# and compare.html of `lsprobe compare` at 1280×800 and 390×844 — no console
# error, nothing wider than the screen outside a scroll box (none at all at
# 1280), every figure drawn, A4 print with no figure split and no table cut
# off — and report.pdf, printed by lsprobe through Chromium, with the same
# A4 pages; without Chromium the run says so and writes no PDF. Then the
# test of the test: deliberately broken copies of the report (a table wider
# than the screen, a missing figure, a figure taller than a page) must each
# fail with its reason. Screenshots and PDFs stay in $3/artifacts.
#   $1 = lsprobe, $2 = tests/, $3 = scratch
. "$(dirname "$0")/e2e_common.sh" "$1" "$2/data" "$3" /dev/null
TESTS=$2
PY=/usr/bin/python3
CHECK=("$PY" "$TESTS/browser_check.py")
ART=$SCR/artifacts
mkdir -p "$ART"
chromium=${LSPROBE_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || ! command -v pdftotext >/dev/null || ! command -v pdfinfo >/dev/null; then
  skipped "needs Debian's chromium and poppler-utils (scripts/setup installs them)"
  finish
fi

# 1. the quick run, with report.pdf
run=$SCR/quick
if "$LSP" run --quick --format pdf --out "$run" >"$SCR/run.out" 2>&1; then ok "run --quick --format pdf"; else
  bad "run --quick --format pdf failed:"; tail -5 "$SCR/run.out"; finish; exit 1; fi
nfig=$(ls "$run"/plots/*.svg 2>/dev/null | wc -l)
if [ "$nfig" -ge 6 ]; then ok "$nfig figures drawn by gnuplot"; else bad "only $nfig plots/*.svg"; fi
if "${CHECK[@]}" --figures "$nfig" --out "$ART" --compare-pdf "$run/report.pdf" "$run/report.html" \
     >"$SCR/check.out" 2>&1; then
  ok "report.html in Chromium: $(grep -c '^desktop\|^phone' "$SCR/check.out") viewports, print, report.pdf"; else
  bad "report.html:"; sed 's/^/     /' "$SCR/check.out"; fi
grep -E '^(desktop|phone|PDF|/)' "$SCR/check.out" | sed 's/^/     /'
if pdftotext "$run/report.pdf" - 2>/dev/null | grep -q "Findings" &&
   grep -q "^pdf: $run/report.pdf" "$SCR/run.out"; then
  ok "report.pdf holds the report's text, and the run names it"; else bad "report.pdf text or the run's 'pdf:' line"; fi
[ "$(stat -c %a "$run/report.pdf")" = "$(stat -c %a "$run/report.html")" ] &&
  ok "report.pdf has the mode of the other outputs (the umask's)" ||
  bad "report.pdf mode $(stat -c %a "$run/report.pdf"), report.html $(stat -c %a "$run/report.html")"
ls -A "$run" | grep -q '\.tmp\.' && bad "a temporary left in $run" || ok "no temporary left beside report.pdf"

# 2. compare.html
if "$LSP" compare "$run" --out "$SCR/cmp" >/dev/null 2>&1 &&
   "${CHECK[@]}" --figures 2 --out "$ART" "$SCR/cmp/compare.html" >"$SCR/check_cmp.out" 2>&1; then
  ok "compare.html in Chromium"; else bad "compare.html:"; sed 's/^/     /' "$SCR/check_cmp.out"; fi

# 3. no Chromium: a note, the report without report.pdf, exit 0
if LSPROBE_CHROMIUM=$SCR/no-chromium "$LSP" run --quick --format pdf --out "$run" >"$SCR/run2.out" 2>&1 &&
   grep -q "WARNING: report.pdf is not written: LSPROBE_CHROMIUM=$SCR/no-chromium is not an executable file" \
     "$SCR/run2.out" && [ -f "$run/report.html" ] && [ ! -e "$run/report.pdf" ]; then
  ok "without Chromium: a clear note, report.html, no report.pdf"; else
  bad "without Chromium:"; tail -3 "$SCR/run2.out"; ls "$run"; fi

# 4. the test of the test: each deliberate defect is caught, for its reason
"$PY" - "$run/report.html" "$SCR" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
out = sys.argv[2]
wide = ("<table><tr><td style='white-space:nowrap'>" + " ".join(["0.123456"] * 40) +
        "</td></tr></table>\n</main>")
open(f"{out}/broken_table.html", "w").write(html.replace("</main>", wide, 1))
# the first figure's drawing replaced by a picture that is not there
first = re.search(r"<svg.*?</svg>", html, flags=re.S)
open(f"{out}/broken_figure.html", "w").write(
    html[:first.start()] + '<img alt="missing" src="plots/not-there.png">' + html[first.end():])
tall = ("<figure><svg viewBox='0 0 10 40' style='width:100%;height:auto;max-height:none'>"
        "<rect width='10' height='40' fill='#0072b2'/></svg><figcaption>taller than a page"
        "</figcaption></figure>\n</main>")
open(f"{out}/broken_print.html", "w").write(html.replace("</main>", tall, 1))
PY
check_broken() { # name, extra args: the checker must fail (exit 1)
  local name=$1
  shift
  "${CHECK[@]}" --out "$ART" "$@" "$SCR/$name.html" >"$SCR/$name.out" 2>&1
  local rc=$?
  if [ $rc -eq 1 ]; then ok "$name.html: the check fails (exit 1)"; else
    bad "$name.html: exit $rc, want 1:"; sed 's/^/     /' "$SCR/$name.out"; fi
}
expect_fail() { # name, pattern: a FAIL line of that run matches
  if grep -qE "^FAIL - .*$2" "$SCR/$1.out"; then
    ok "$1.html: $(grep -E "^FAIL - .*$2" "$SCR/$1.out" | head -1 | cut -c8-)"; else
    bad "$1.html: no FAIL matching '$2':"; sed 's/^/     /' "$SCR/$1.out"; fi
}
check_broken broken_table
expect_fail broken_table "table is [0-9]+px wide, reaching [0-9]+px in a 1265px viewport, outside any scroll container"
expect_fail broken_table "phone 390x844: table is [0-9]+px wide"
expect_fail broken_table "PDF: table [0-9]+ is cut off at the right edge of the paper"
check_broken broken_figure --figures "$nfig"
expect_fail broken_figure "figure 1 \(.*\) has an image that did not load"
expect_fail broken_figure "net::ERR_FILE_NOT_FOUND .*not-there.png"
check_broken broken_print
expect_fail broken_print "PDF: figure $((nfig + 1)) is split across pages"
# the real report passed all of these: each defect is what failed
for b in table figure print; do
  n=$(grep -c '^FAIL' "$SCR/broken_$b.out")
  other=$(grep '^FAIL' "$SCR/broken_$b.out" | grep -vcE "$(case $b in
    table) echo 'table|scrolls sideways' ;; figure) echo 'figure 1|not-there' ;;
    print) echo 'split' ;; esac)")
  if [ "$other" -eq 0 ]; then ok "broken_$b.html: its $n failures all come from the defect"; else
    bad "broken_$b.html: $other failures unrelated to the defect"; grep '^FAIL' "$SCR/broken_$b.out"; fi
done
echo "     screenshots and PDFs: $ART"
finish
