#!/usr/bin/env bash
# `pip install --no-build-isolation ./python` works offline with Debian's
# python3, setuptools and pip, in a throw-away venv that sees the system's
# NumPy (and PyTorch): never the system's own site-packages. Then the
# library is found in the documented order and an import without one says
# what it tried; the README's PyTorch example runs as written.
#   $1 = the build folder (liblsprobe.so), $2 = python/, $3 = scratch,
#   $4 = README.md
. "$(dirname "$0")/e2e_common.sh" true /dev/null "$3" /dev/null
BUILD=$1
SRC=$2
README=$4
PY=/usr/bin/python3
if ! "$PY" -c "import numpy, setuptools, pip, venv" 2>/dev/null; then
  skipped "$PY lacks numpy, setuptools, pip or venv (python3-numpy python3-setuptools python3-pip python3-venv)"
  finish
fi
# a copy of the sources: an in-tree build would leave build/ and egg-info in python/
cp -r "$SRC" "$SCR/src"
rm -rf "$SCR/src/build" "$SCR/src/"*.egg-info
find "$SCR/src" -name __pycache__ -prune -exec rm -rf {} +
"$PY" -m venv --system-site-packages "$SCR/venv" || { bad "python3 -m venv failed"; finish; }
VPY=$SCR/venv/bin/python
pipi() { "$VPY" -m pip install --no-build-isolation --no-index --no-cache-dir -q "$@" "$SCR/src" \
           >"$SCR/pip.log" 2>&1; }
unset LSPROBE_LIBRARY

# 1. without a library in the package: the loader path, or a clear failure
if pipi; then ok "pip install --no-build-isolation --no-index (offline)"; else
  bad "pip install failed:"; tail -5 "$SCR/pip.log"; finish; exit 1; fi
site=$("$VPY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
if [ -d "$site/lsprobe" ] && [ ! -e "$site/lsprobe/liblsprobe.so.0" ]; then
  ok "installed into the venv ($site/lsprobe), no library bundled"; else bad "not where expected: $site"; fi
if ldconfig -p | grep -q 'liblsprobe\.so\.0 '; then
  skipped "a system-wide liblsprobe.so.0 is installed: the not-found message cannot be provoked"
else
  (cd "$SCR" && "$VPY" -c "import lsprobe") >"$SCR/err" 2>&1
  if grep -q "Tried, in order" "$SCR/err" && grep -q "next to the package: .*liblsprobe.so.0: no such file" "$SCR/err" &&
     grep -q "the system loader path: liblsprobe.so.0:" "$SCR/err"; then
    ok "no library anywhere: ImportError lists what was tried"; else
    bad "the not-found message:"; sed 's/^/     /' "$SCR/err" | tail -6; fi
fi
out=$(cd "$SCR" && LD_LIBRARY_PATH=$BUILD "$VPY" -c \
  "import lsprobe; print(lsprobe.library_path); print(lsprobe.loss([[0., 0.]], [1])[0])" 2>&1)
if [ "$(printf '%s\n' "$out" | head -1)" = "liblsprobe.so.0" ] &&
   "$PY" -c "import math, sys; sys.exit(abs(float('$(printf '%s\n' "$out" | tail -1)') - math.log(2)) > 1e-6)"; then
  ok "found through the system loader path (LD_LIBRARY_PATH): loss of [0, 0] = log 2"; else
  bad "system loader path: $out"; fi
(cd "$SCR" && LSPROBE_LIBRARY=$SCR/nothere.so "$VPY" -c "import lsprobe") >"$SCR/err" 2>&1
if grep -q "LSPROBE_LIBRARY: $SCR/nothere.so: no such file" "$SCR/err" && ! grep -q "system loader" "$SCR/err"; then
  ok "a wrong LSPROBE_LIBRARY is an error naming it, nothing else is tried"; else
  bad "wrong LSPROBE_LIBRARY:"; sed 's/^/     /' "$SCR/err" | tail -4; fi

# 2. with LSPROBE_LIBRARY at install time the library goes into the package
if LSPROBE_LIBRARY=$BUILD/liblsprobe.so pipi --force-reinstall --no-deps; then
  ok "pip install with LSPROBE_LIBRARY bundles the library"; else bad "bundling install failed"; tail -5 "$SCR/pip.log"; fi
out=$(cd "$SCR" && "$VPY" -c "import lsprobe; print(lsprobe.library_path)" 2>&1)
if [ "$out" = "$site/lsprobe/liblsprobe.so.0" ]; then ok "found next to the package: $out"; else
  bad "next to the package: $out"; fi
if cmp -s "$site/lsprobe/liblsprobe.so.0" "$BUILD/liblsprobe.so"; then ok "the bundled file is the built library"; else
  bad "the bundled file differs from $BUILD/liblsprobe.so"; fi
ls "$SCR"/venv/lib/python3*/site-packages/lsprobe-*.dist-info/WHEEL >/dev/null 2>&1 &&
  if grep -q '^Tag: py3-none-any' "$SCR"/venv/lib/python3*/site-packages/lsprobe-*.dist-info/WHEEL; then
    bad "a wheel with a bundled library is tagged py3-none-any"; else ok "a wheel with a bundled library is tagged for this platform"; fi
# again without LSPROBE_LIBRARY, from the same sources (whose build folder
# still holds the library bundled above): nothing bundled
mkdir -p "$SCR/src/build/lib/lsprobe" && cp "$BUILD/liblsprobe.so" "$SCR/src/build/lib/lsprobe/liblsprobe.so.0"
if pipi --force-reinstall --no-deps && [ ! -e "$site/lsprobe/liblsprobe.so.0" ]; then
  ok "a later install without LSPROBE_LIBRARY bundles no library left by an earlier one"; else
  bad "a stale library bundled: $(ls "$site/lsprobe")"; fi
LSPROBE_LIBRARY=$BUILD/liblsprobe.so pipi --force-reinstall --no-deps || bad "bundling install failed again"

# 3. the README's example inside a PyTorch evaluation loop, as written
awk '/<!-- python-example -->/ {on = 1; next} on && /^```python/ {code = 1; next}
     code && /^```/ {exit} code {print}' "$README" >"$SCR/example.py"
if [ "$(wc -l <"$SCR/example.py")" -ge 5 ]; then ok "README example found ($(wc -l <"$SCR/example.py") lines)"; else
  bad "no README example after <!-- python-example -->"; fi
if "$VPY" -c "import torch" 2>/dev/null; then
  cat >"$SCR/run_example.py" <<'PYEOF'
# what the README's snippet assumes: a trained classifier and a data loader
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5))
xs = torch.randn(300, 20)
ys = (xs[:, :5] * 3).argmax(1)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xs, ys), batch_size=64)
exec(open(__file__.replace("run_example.py", "example.py")).read())
assert 0 <= cal["ece"] <= 1 and len(cal["ece_ci"]) == 2
PYEOF
  if (cd "$SCR" && "$VPY" run_example.py) >"$SCR/example.out" 2>&1; then
    ok "the README example runs: $(tail -1 "$SCR/example.out")"; else
    bad "the README example fails:"; sed 's/^/     /' "$SCR/example.out" | tail -6; fi
else
  skipped "no PyTorch (python3-torch) for the README example"
fi

# 4. README's section on the package names everything the package exports
(cd "$SCR" && "$VPY" - "$README" <<'PYEOF') >"$SCR/names.out" 2>&1 && ok "README names every public name of the package" ||
import re, sys
import lsprobe
text = open(sys.argv[1]).read()
text = text[text.index("**The Python module.**"):text.index("## Accepted inputs")]
missing = [n for n in lsprobe.__all__ if not re.search(r"`(lsprobe\.)?%s\b" % re.escape(n), text)]
print("not in README: %s" % missing if missing else "%d names" % len(lsprobe.__all__))
sys.exit(bool(missing) or len(lsprobe.__all__) < 10)
PYEOF
  { bad "README lacks public names:"; sed 's/^/     /' "$SCR/names.out" | tail -3; }
finish
