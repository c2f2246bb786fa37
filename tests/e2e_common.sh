# Shared by the end-to-end tests: sourced by tests/cli_*.sh with
#   $1 = the lsprobe binary, $2 = tests/data, $3 = a scratch folder,
#   $4 = the folder holding the npycmp test tool.
set -u
LSP=$1
DATA=$2
SCR=$3
TOOLS=$4
# tests/npy_write.py for the Python snippets
export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
rm -rf "$SCR"
mkdir -p "$SCR"
npass=0
nfail=0
nskip=0
ok() { npass=$((npass + 1)); echo "ok   - $1"; }
bad() { nfail=$((nfail + 1)); echo "FAIL - $1"; }
# skipped WHY: a check that could not run; the script then exits 77, which
# ctest reports as skipped (SKIP_RETURN_CODE), never as passed
skipped() { nskip=$((nskip + 1)); echo "skip - $1"; }
# need_fashion_mnist: exit as skipped (77) unless the Fashion-MNIST test
# images are installed (Debian dataset-fashion-mnist; LSPROBE_DATA: elsewhere)
need_fashion_mnist() {
  local fm=${LSPROBE_DATA:-/usr/share/datasets/fashion-mnist}
  if [ ! -e "$fm/t10k-images-idx3-ubyte.gz" ] && [ ! -e "$fm/t10k-images-idx3-ubyte" ]; then
    skipped "Fashion-MNIST not installed ($fm; Debian dataset-fashion-mnist)"
    finish
    exit $?
  fi
}
# free_mem: MemAvailable + SwapFree in bytes (what lsprobe's memory checks
# read), empty if /proc/meminfo cannot be read
free_mem() { awk '/^MemAvailable:/ { a = $2 } /^SwapFree:/ { s = $2 } END { if (a != "") printf "%.0f", (a + s) * 1024 }' /proc/meminfo 2>/dev/null; }
# big_image_side BYTES: the side of 12000 one-channel images whose ResNet-8
# batch of all of them needs more than BYTES (64 needs about 70 GiB, each
# doubling four times that), up to 960 GiB; 0 beyond or for no BYTES
big_image_side() {
  local s
  for s in 64 128 256; do
    if [ -n "$1" ] && [ "$1" -lt $(((60 << 30) * (s / 64) * (s / 64))) ]; then echo $s; return; fi
  done
  echo 0
}
# expect_exit CODE NAME CMD...: run CMD, check its exit status; stderr in $SCR/err
expect_exit() {
  local want=$1 name=$2
  shift 2
  "$@" >"$SCR/out" 2>"$SCR/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then ok "$name (exit $got)"; else
    bad "$name: exit $got, want $want"; sed 's/^/     /' "$SCR/err" | head -5; fi
}
# expect_err NEEDLE NAME: the last stderr is one line containing NEEDLE
expect_err() {
  if [ "$(wc -l <"$SCR/err")" -eq 1 ] && grep -qF -- "$1" "$SCR/err"; then ok "$2 message"; else
    bad "$2: stderr lacks '$1' or is not one line:"; sed 's/^/     /' "$SCR/err" | head -5; fi
}
finish() {
  if [ "$nskip" -gt 0 ]; then
    echo "$npass passed, $nfail failed, $nskip skipped"
  else
    echo "$npass passed, $nfail failed"
  fi
  [ "$nfail" -eq 0 ] || return 1
  [ "$nskip" -eq 0 ] || exit 77
}
# fail_gnuplot FILE PATTERN: writes FILE, a gnuplot that fails with "line 1:
# cannot plot" on a script containing PATTERN and hands any other script to
# the real gnuplot (for LSPROBE_GNUPLOT)
fail_gnuplot() {
  local gp
  gp=$(command -v gnuplot)
  cat >"$1" <<EOF
#!/bin/sh
script=\$(cat)
case "\$script" in
  *$2*) echo "line 1: cannot plot" >&2; exit 1 ;;
esac
printf '%s\n' "\$script" | "$gp"
EOF
  chmod +x "$1"
}
# design_members OUTPUT JSON...: the members of docs/DESIGN.md's row for
# OUTPUT (`calib`, ..., `compare.json`: "The other commands' --json") are
# those of the JSON files, over all of them: no member undocumented, none
# documented that no file has; `name{...}` and `name[{...}]` are checked
# one level down the same way; `<metric>_ci` admits NAME_ci and
# NAME_ci_percentile for each documented NAME
design_members() {
  /usr/bin/python3 - "$DATA/../../docs/DESIGN.md" "$@" <<'PYEOF'
import json, re, sys
design, what, files = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3:]
row = re.search(r"^\| `%s` \| (.*) \|$" % re.escape(what), design, re.M)
if not row:
    print("  DESIGN has no row for %s" % what)
    sys.exit(1)
text = " ".join(t for t in re.findall(r"`([^`]*)`", row.group(1)) if re.match(r"[a-z<]", t))
pat = "<metric>_ci" in text
text = text.replace("<metric>_ci_percentile", "").replace("<metric>_ci", "")

def parse(s, i=0):  # "a b{c d} e[{f}]" -> {"a": None, "b": {...}, "e": {...}}
    out = {}
    while i < len(s):
        if s[i] in " ,":
            i += 1
        elif s[i] == "}":
            return out, i + 1
        else:
            m = re.match(r"[a-z_][a-z0-9_]*", s[i:])
            if not m:
                print("  cannot read %r in the row of %s" % (s[i:i + 20], what))
                sys.exit(1)
            name, i = m.group(0), i + m.end()
            sub = None
            if s.startswith("{", i) or s.startswith("[{", i):
                sub, i = parse(s, i + (1 if s[i] == "{" else 2))
                if s.startswith("]", i):
                    i += 1
            out[name] = sub if name not in out or out[name] is None else out[name]
    return out, i

fails = []
def check(spec, objs, where):
    seen = set()
    for o in objs:
        seen |= set(o)
    extra = [k for k in sorted(seen) if k not in spec and not (
        pat and re.sub(r"_ci(_percentile)?$", "", k) in spec and k.endswith(("_ci", "_ci_percentile")))]
    never = [k for k in spec if k not in seen]
    if extra or never:
        fails.append("%s: undocumented %s; documented, never written %s" % (where, extra, never))
    for k, sub in spec.items():
        if sub:
            inner = []
            for o in objs:
                v = o.get(k)
                inner += [v] if isinstance(v, dict) else [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []
            check(sub, inner, where + "." + k)

check(parse(text)[0], [json.load(open(f)) for f in files], what)
for f in fails:
    print("  " + f)
sys.exit(bool(fails))
PYEOF
}
# design_csv NAME FILE: FILE's header is docs/DESIGN.md's column list for
# NAME (§4, "The columns, in order"; `x±` is x, x_lo, x_hi)
design_csv() {
  /usr/bin/python3 - "$DATA/../../docs/DESIGN.md" "$@" <<'PYEOF'
import csv, re, sys
design, name, path = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
row = re.search(r"^\| `%s` \| `([^`]*)`" % re.escape(name), design, re.M)
want = []
for c in (row.group(1).split() if row else []):
    want += [c[:-1], c[:-1] + "_lo", c[:-1] + "_hi"] if c.endswith("±") else [c]
got = next(csv.reader(open(path)))
if not want or got != want:
    print("  %s: DESIGN %s\n  %s: header %s" % (name, want, path, got))
    sys.exit(1)
PYEOF
}
