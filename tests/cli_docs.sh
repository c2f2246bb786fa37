#!/usr/bin/env bash
# README.md, --help and docs/DESIGN.md agree with the program: the command
# list and exit statuses of `lsprobe --help`, every command's synopsis against
# its --help options, the error examples (run here: the very messages), the
# example outputs (run here on small data: the same lines, numbers aside), and
# DESIGN's cluster definitions on its imbalanced toy (the numbers it states).
. "$(dirname "$0")/e2e_common.sh"
PY=/usr/bin/python3
README="$DATA/../../README.md"
T="$DATA/torch_mlp_tiny"
C="$DATA/lsce_n1024_k10_eps0.1"
SYN="synthetic:train=600,test=200,dim=16,classes=10"

# --- lsprobe --help: the commands of README's table, the exit statuses -------
expect_exit 0 "lsprobe --help" "$LSP" --help
cp "$SCR/out" "$SCR/help.txt"
grep -q '^130 interrupted' "$SCR/help.txt" && grep -q '1 bad or unreadable data, 2 bad usage' "$SCR/help.txt" &&
  ok "--help gives every exit status (0, 1, 2, 130)" || bad "--help exit statuses: $(tail -3 "$SCR/help.txt")"
"$PY" - "$README" "$SCR/help.txt" <<'PYEOF' && ok "README's command table = --help's commands" || bad "command lists differ"
import re, sys
readme = open(sys.argv[1]).read()
table = set(re.findall(r"^\| `(\w+)` \|", readme, re.M))
helped = set(re.findall(r"^  (\w+) ", open(sys.argv[2]).read(), re.M))
if table != helped:
    print("README only:", sorted(table - helped), "--help only:", sorted(helped - table))
    sys.exit(1)
PYEOF

# every option README gives lsprobe itself (`lsprobe --version`) is named in
# lsprobe --help and works
"$PY" - "$README" "$SCR/help.txt" "$LSP" <<'PYEOF' && ok "lsprobe --help names README's top-level options, which work" || bad "top-level options"
import re, subprocess, sys
readme, helped, lsp = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3]
opts = set(re.findall(r"`lsprobe (--[a-z][a-z-]*)", readme))
missing = [o for o in sorted(opts) if "'lsprobe %s'" % o not in helped and o != "--help"]
broken = [o for o in sorted(opts) if subprocess.run([lsp, o], capture_output=True).returncode != 0]
if missing or broken or "--version" not in opts:
    print("  README names %s; not in lsprobe --help: %s; failing: %s" % (sorted(opts), missing, broken))
    sys.exit(1)
PYEOF

# lsprobe help CMD: CMD's own --help; an unknown CMD refused as a command
"$LSP" calib --help >"$SCR/calib_help.txt"
expect_exit 0 "lsprobe help calib" "$LSP" help calib
cmp -s "$SCR/out" "$SCR/calib_help.txt" && ok "help calib prints calib --help" || bad "help calib: $(head -2 "$SCR/out")"
expect_exit 2 "lsprobe help calb" "$LSP" help calb
expect_err "unknown command 'calb'; did you mean calib?" "lsprobe help calb"
expect_exit 0 "lsprobe help help" "$LSP" help help
cmp -s "$SCR/out" "$SCR/help.txt" && ok "help help prints the command list" || bad "help help: $(head -2 "$SCR/out")"

# the summary line of train in --help names every network train --help offers
"$LSP" train --help | grep -- '--arch A' | grep -q 'lenet, resnet8, or a layer spec' &&
  grep '^  train ' "$SCR/help.txt" | grep -q 'MLP, LeNet-5, ResNet-8, layer spec' &&
  ok "--help's train line names the networks train --arch takes" || bad "--help train line: $(grep '^  train ' "$SCR/help.txt")"

# run --bootstrap: the default and the cap on a cell's example resamples DESIGN §9.2 states
"$PY" - "$DATA/../../docs/DESIGN.md" "$("$LSP" run --help | grep -- '--bootstrap')" <<'PYEOF' &&
import re, sys
m = re.search(r"B = `--bootstrap` \(default (\d+); at most (\d+)\)", open(sys.argv[1]).read())
sys.exit(not (m and "default %s" % m.group(1) in sys.argv[2] and "at most %s" % m.group(2) in sys.argv[2]))
PYEOF
  ok "run --help: --bootstrap's default and cap as DESIGN states them" || bad "run --bootstrap help: $("$LSP" run --help | grep -- '--bootstrap')"

# clusters --help: every option that gives the last layer is named where the
# description says what the last layer adds
"$LSP" clusters --help | sed -n '/^$/,/^options:/p' | tr '\n' ' ' | grep -q -- '--model, or --templates and --bias' &&
  ok "clusters --help: the last layer from --model or --templates/--bias" || bad "clusters --help description"

# the man page names every browser DESIGN says --format pdf looks for
MAN="$(dirname "$LSP")/lsprobe.1"
if [ -f "$MAN" ]; then
  "$PY" - "$DATA/../../docs/DESIGN.md" "$MAN" <<'PYEOF' && ok "the man page names the browsers DESIGN lists" || bad "man page browsers"
import re, sys
design, man = open(sys.argv[1]).read(), open(sys.argv[2]).read().replace("\\-", "-")
m = re.search(r"Chromium is `\$LSPROBE_CHROMIUM` or the first of\s+(.*?) on PATH", design, re.S)
names = re.findall(r"`([a-z-]+)`", m.group(1)) if m else []
env = man[man.index(".B LSPROBE_CHROMIUM"):]
env = env[:env.index(".TP", 5)]
missing = [n for n in names if n not in env]
if len(names) < 2 or missing:
    print("  DESIGN lists %s; the man page lacks %s" % (names, missing))
    sys.exit(1)
PYEOF
else
  skipped "no lsprobe.1 beside $LSP"
fi

# --- every synopsis in README = the command's --help options -------------------
"$PY" - "$README" "$LSP" <<'PYEOF' && ok "README synopses list exactly the --help options" || bad "synopses differ from --help"
import re, subprocess, sys
readme, lsp = open(sys.argv[1]).read(), sys.argv[2]
syn = {}
for block in re.findall(r"```[a-z]*\n(.*?)```", readme, re.S):
    cur = None
    for line in block.split("\n"):
        m = re.match(r"lsprobe ([\w-]+)\b", line)
        if m:
            cur = m.group(1)
            syn.setdefault(cur, set())
        elif not line.startswith(" "):
            cur = None
        if cur:
            syn[cur] |= set(re.findall(r"--([a-z][a-z0-9-]*)", line))
fails = 0
for cmd, opts in sorted(syn.items()):
    out = subprocess.run([lsp, cmd, "--help"], capture_output=True, text=True).stdout
    helped = set(re.findall(r"^  --([a-z][a-z0-9-]*)", out, re.M))
    if opts != helped:
        print("  %s: README only %s, --help only %s" % (cmd, sorted(opts - helped), sorted(helped - opts)))
        fails += 1
if len(syn) < 9:
    print("  only %d synopses found" % len(syn))
    fails += 1
sys.exit(fails > 0)
PYEOF

# --- and every --help option is described in README's text, not only listed
# in a synopsis (the code blocks left out; the Benchmarks are another program's)
"$PY" - "$README" "$LSP" <<'PYEOF' && ok "README's text names every --help option" || bad "--help options README only lists"
import re, subprocess, sys
readme, lsp = open(sys.argv[1]).read(), sys.argv[2]
text = re.sub(r"```.*?```", "", readme[:readme.index("## Benchmarks")], flags=re.S)
cmds = re.findall(r"^  ([a-z][a-z-]*) ", subprocess.run([lsp, "--help"], capture_output=True, text=True).stdout, re.M)
gaps = []
for c in cmds:
    out = subprocess.run([lsp, c, "--help"], capture_output=True, text=True).stdout
    gaps += ["%s %s" % (c, o) for o in re.findall(r"^  (--[a-z][a-z0-9-]*)", out, re.M)
             if not re.search(re.escape(o) + r"(?![a-z0-9-])", text)]
if gaps or len(cmds) < 13:
    print("  only in a synopsis: %s (%d commands)" % (", ".join(gaps), len(cmds)))
    sys.exit(1)
PYEOF

# --data says which folders work; --stream says float64 works too
for cmd in run train eval attack data; do
  "$LSP" $cmd --help | grep -- '--data D' | grep -q 'IDX, CSV or .npy' && ok "$cmd --help: --data folders (IDX, CSV, .npy)" ||
    bad "$cmd --help: $("$LSP" $cmd --help | grep -- '--data D')"
done
"$LSP" calib --help | grep -- '--stream' | grep -q 'float32/float64' && ok "calib --help: --stream takes float64" || bad "--stream help"
# and names what it refuses: intervals, ACE's mass bins, a temperature fit
for o in "--bootstrap 10:CIs" "--binning mass:ACE" "--fit-temperature $C/logits.npy $C/labels.npy:--fit-temperature"; do
  "$LSP" calib --stream --logits "$C/logits.npy" --labels "$C/labels.npy" ${o%%:*} >/dev/null 2>&1
  st=$?
  [ $st -eq 2 ] && "$LSP" calib --help | grep -- '--stream' | grep -q -- "${o##*:}" &&
    ok "calib --stream refuses ${o%% *} and --help says so" || bad "calib --stream ${o%% *}: exit $st; $("$LSP" calib --help | grep -- '--stream')"
done

# --- README's file references: every path into the source tree exists, and
# the Layout names everything in scripts/ and docs/
"$PY" - "$README" <<'PYEOF' && ok "README's paths exist; its Layout names every script and doc" || bad "README paths"
import fnmatch, glob, os, re, sys
readme = open(sys.argv[1]).read()
root = os.path.dirname(os.path.abspath(sys.argv[1]))
fails = 0
tops = "docs|scripts|bench|tests|python|cli|cmake|include|api|core|analysis|attacks|reports|mpi"
for m in re.finditer(r"(?<![\w/.$~-])((?:%s)/[\w./*{}<>,-]*[\w*}>/])" % tops, readme):
    p = m.group(1)
    if "<" in p:
        p = p[:p.index("<")]
    pats = [p]
    b = re.search(r"\{([^}]*)\}", p)
    if b:
        pats = [p[:b.start()] + alt + p[b.end():] for alt in b.group(1).split(",")]
    for q in pats:
        if not glob.glob(os.path.join(root, q)):
            print("  README names %s, which does not exist" % q)
            fails += 1
at = readme.index("## Layout")
layout = readme[readme.index("```", at) + 3:]
layout = layout[:layout.index("```")]
globs = re.findall(r"[\w-]*\*[\w.-]*", layout)
for d in ("scripts", "docs"):
    for f in sorted(os.listdir(os.path.join(root, d))):
        if os.path.splitext(f)[0] not in layout and not any(fnmatch.fnmatch(f, g) for g in globs):
            print("  Layout does not name %s/%s" % (d, f))
            fails += 1
sys.exit(fails > 0)
PYEOF

# --- the error examples of "Accepted inputs": these very messages ---------------
mkdir -p "$SCR/ex/bad"
"$PY" - "$SCR/ex" "$C/logits.npy" <<'PYEOF'
import sys
import numpy as np
d = sys.argv[1]
head = open(sys.argv[2], "rb").read()[:128]  # the header of a 1024 x 10 float32 array
open(d + "/bad/trunc.npy", "wb").write(head + b"\0" * 72)
np.save(d + "/y.npy", np.array([0, 1.5, 2]))
np.save(d + "/y3.npy", np.array([0, 1, 2]))
np.save(d + "/p.npy", np.full((3, 3), 1 / 3))
PYEOF
(
  cd "$SCR/ex" || exit 1
  "$LSP" train --data "$SYN" --hidden 8 --epochs 1 --smoothing 0 --quiet --out good.lspm >/dev/null 2>&1
  cp good.lspm crc.lspm
  size=$(stat -c %s crc.lspm)
  printf '\x5a' | dd of=crc.lspm bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
  {
    "$LSP" loss --logits bad/trunc.npy --labels y.npy
    "$LSP" calib --probs p.npy --labels y.npy
    "$LSP" calib --logits p.npy --labels y3.npy
    "$LSP" eval --model crc.lspm --data "$SYN"
    "$LSP" attack --model good.lspm --data "$SYN" --eps 0,-0.1
    "$LSP" calib --probs p.npy --labls y3.npy
  } >/dev/null 2>"$SCR/ex/messages.txt"
)
"$PY" - "$README" "$SCR/ex/messages.txt" <<'PYEOF' && ok "README's error examples are the program's messages" || bad "error examples differ"
import re, sys
readme = open(sys.argv[1]).read()
at = readme.index("Every error is one line on stderr")
block = readme[readme.index("```", at) + 3:]
block = block[:block.index("```")]
want = [l for l in block.strip().split("\n") if l.startswith("lsprobe: ")]
got = open(sys.argv[2]).read().strip().split("\n")
if want != got:
    for w, g in zip(want + [""] * len(got), got + [""] * len(want)):
        if w != g:
            print("  README:  %s\n  program: %s" % (w, g))
    sys.exit(1)
PYEOF

# --- the example outputs: the program prints these lines (numbers aside) -------
# check_example CMD OUTPUT: README's example block of `lsprobe CMD` (its lines
# after the command) must be OUTPUT line for line, with every number replaced
# by # and runs of blanks by one; a "..." line in README stands for any run of
# lines (files are named here as in README)
check_example() {
  "$PY" - "$README" "$1" "$2" <<'PYEOF'
import re, sys
readme, cmd, out = open(sys.argv[1]).read(), sys.argv[2], open(sys.argv[3]).read()
num = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
norm = lambda l: re.sub(r"\s+", " ", num.sub("#", l)).strip()
for block in re.findall(r"```[a-z]*\n(.*?)```", readme, re.S):
    if block.startswith("$ lsprobe %s " % cmd):
        break
else:
    print("  no example of lsprobe %s in README" % cmd)
    sys.exit(1)
want, cont = [], False
for l in block.rstrip("\n").split("\n"):
    if l.startswith("$ ") or cont:
        cont = l.endswith("\\")
        continue
    want.append(None if l.strip() == "..." else norm(l))
got = [norm(l) for l in out.rstrip("\n").split("\n")]
i, skip = 0, False
for w in want:
    if w is None:
        skip = True
        continue
    while skip and i < len(got) and got[i] != w:
        i += 1
    if i == len(got) or got[i] != w:
        print("  README:  %s\n  program: %s" % (w, got[i] if i < len(got) else "(no more lines)"))
        sys.exit(1)
    i, skip = i + 1, False
if i < len(got) and not skip:
    print("  the program prints more than README shows: %s" % got[i])
    sys.exit(1)
PYEOF
}
E="$SCR/ex"
"$LSP" train --data "$SYN" --hidden 16 --epochs 2 --smoothing 0 --quiet --out "$E/ls0.lspm" >/dev/null 2>&1
"$LSP" train --data "$SYN" --hidden 16 --epochs 2 --smoothing 0.1 --quiet --out "$E/ls0.1.lspm" >/dev/null 2>&1
(cd "$E" && "$LSP" attack --model ls0.1.lspm --data "$SYN" --attack pgd --eps 0,0.05,0.1,0.3 --limit 100 \
  --checks --transfer-from ls0.lspm --threads 2 >attack.txt 2>/dev/null)
check_example attack "$E/attack.txt" && ok "README's attack example has the program's lines" || bad "attack example"
mkdir -p "$E/ls0.1-test"
"$LSP" eval --model "$E/ls0.1.lspm" --data "$SYN" --dump "$E/ls0.1-test" >/dev/null 2>&1
(cd "$E" && "$LSP" clusters --features ls0.1-test/features.npy --labels ls0.1-test/labels.npy --model ls0.1.lspm >clusters.txt 2>&1)
check_example clusters "$E/clusters.txt" && ok "README's clusters example has the program's lines" || bad "clusters example"
"$PY" - "$E" <<'PYEOF'
import sys
import numpy as np
rng = np.random.default_rng(5)
for name, n in (("test", 400), ("val", 300)):
    y = rng.integers(0, 10, n)
    z = rng.normal(0, 1, (n, 10)) + 3.0 * np.eye(10)[y] * rng.uniform(0, 1.5, (n, 1))
    np.save("%s/%s_logits.npy" % (sys.argv[1], name), z.astype(np.float32))
    np.save("%s/%s_labels.npy" % (sys.argv[1], name), y)
PYEOF
(cd "$E" && "$LSP" calib --logits test_logits.npy --labels test_labels.npy --fit-temperature val_logits.npy val_labels.npy \
  --bootstrap 50 --bins 10 >calib.txt 2>&1)
check_example calib "$E/calib.txt" && ok "README's calib example has the program's lines" || bad "calib example"
(cd "$DATA/../.." && "$LSP" loss --logits tests/data/lsce_n1024_k10_eps0.1/logits.npy \
  --labels tests/data/lsce_n1024_k10_eps0.1/labels.npy --smoothing 0.1 >"$E/loss.txt" 2>&1)
check_example loss "$E/loss.txt" && grep -qF "$(cat "$E/loss.txt")" "$README" && ok "README's loss example is the program's output, exactly" ||
  bad "loss example: $(cat "$E/loss.txt")"

D4=tests/data/distill/distill_t4_a0.3_ls0.1
(cd "$DATA/../.." && "$LSP" loss --logits $D4/student.npy --teacher-logits $D4/teacher.npy --labels $D4/labels.npy \
  --temperature 4 --alpha 0.3 --smoothing 0.1 >"$E/loss_distill.txt" 2>&1)
grep -qxF "$(cat "$E/loss_distill.txt")" "$README" && ok "README's distillation-loss example is the program's output, exactly" ||
  bad "distillation-loss example: $(cat "$E/loss_distill.txt")"

# export: README's example line is the program's, exactly (layer and node
# counts, parameters and bytes do not depend on the weights)
"$PY" - "$E/img" <<'PYEOF'
import os, sys
import numpy as np
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
r = np.random.RandomState(3)
for s, n in (("train", 120), ("test", 40)):
    np.save("%s/x_%s.npy" % (d, s), r.randint(0, 256, (n, 28, 28)).astype(np.uint8))
    np.save("%s/y_%s.npy" % (d, s), np.arange(n) % 10)
PYEOF
(cd "$E" && "$LSP" train --data img --arch lenet --normalize 0.286,0.353 --smoothing 0 --epochs 1 --quiet \
  --out lenet.lspm >/dev/null 2>&1 && "$LSP" export --model lenet.lspm --out lenet.onnx >export.txt 2>&1)
check_example export "$E/export.txt" && grep -qxF "$(cat "$E/export.txt")" "$README" &&
  ok "README's export example is the program's output, exactly" || bad "export example: $(cat "$E/export.txt")"

# --- each command's --json: the members DESIGN §4 lists, no more, no fewer ------
J="$E/json"
mkdir -p "$J/flat"
"$PY" - "$E" "$J" <<'PYEOF'
import sys
import numpy as np
e, j = sys.argv[1:]
z = np.load(e + "/test_logits.npy").astype(np.float64)
p = np.exp(z - z.max(1, keepdims=True))
np.save(j + "/probs.npy", p / p.sum(1, keepdims=True))
for s in ("train", "test"):  # 8-bit pixels written as floats (a note)
    np.save("%s/img/x_%s.npy" % (e, s), np.load("%s/img/x_%s.npy" % (e, s)).astype(np.float64))
# a PyTorch export whose logits are all equal: no temperature can be fitted
np.save(j + "/flat/0.weight.npy", np.zeros((10, 16), np.float32))
np.save(j + "/flat/0.bias.npy", np.zeros(10, np.float32))
PYEOF
"$LSP" distill --teacher "$E/ls0.1.lspm" --data "$SYN" --arch mlp:8 --temperature 2 --alpha 0.5 --epochs 1 --quiet \
  --out "$J/student.lspm" >/dev/null 2>&1
(
  cd "$E" || exit 1
  T="test_logits.npy --labels test_labels.npy"
  "$LSP" calib --logits $T --json >"$J/calib1.json"
  "$LSP" calib --logits $T --bootstrap 20 --fit-temperature val_logits.npy val_labels.npy --json >"$J/calib2.json"
  "$LSP" calib --probs json/probs.npy --labels test_labels.npy --stream --json >"$J/calib3.json"
  "$LSP" eval --model ls0.1.lspm --data "$SYN" --mi --bootstrap 20 --dump json/dump --json >"$J/eval1.json"
  "$LSP" eval --model ls0.1.lspm --data "$SYN" --mi --mi-classes 1,2 --split val --json >"$J/eval2.json"
  "$LSP" eval --model json/student.lspm --data "$SYN" --json >"$J/eval3.json"
  "$LSP" eval --model json/flat --data "$SYN" --json >"$J/eval4.json"
  F="--features ls0.1-test/features.npy --labels ls0.1-test/labels.npy"
  "$LSP" clusters $F --json >"$J/clusters1.json"
  "$LSP" clusters $F --model ls0.1.lspm --projection-out json/p.csv --json >"$J/clusters2.json"
  "$LSP" logitgap --logits ls0.1-test/logits.npy --labels ls0.1-test/labels.npy --json >"$J/logitgap1.json"
  "$LSP" logitgap --logits ls0.1-test/logits.npy --labels ls0.1-test/labels.npy --smoothing 0 --json >"$J/logitgap2.json"
  A="--model ls0.1.lspm --data $SYN --limit 40 --eps 0,0.1"
  "$LSP" attack $A --attack pgd --checks --transfer-from ls0.lspm --json >"$J/attack1.json"
  "$LSP" attack $A --attack fgsm-targeted --loss smoothed --json >"$J/attack2.json"
  "$LSP" attack $A --attack autoattack --steps 5 --queries 20 --checks --json >"$J/attack3.json"
  "$LSP" attack --model ls0.1.lspm --x ls0.1-test/features.npy --labels ls0.1-test/labels.npy --attack bim --json \
    >"$J/attack4.json"
  "$LSP" data --data "$SYN" --json >"$J/data1.json"
  "$LSP" data --data img --json >"$J/data2.json"
) 2>/dev/null
(
  cd "$DATA" || exit 1
  "$LSP" loss --logits lsce_n1024_k10_eps0.1/logits.npy --labels lsce_n1024_k10_eps0.1/labels.npy --json >"$J/loss1.json"
  "$LSP" loss --logits distill/soft_k10/logits.npy --soft-targets distill/soft_k10/targets.npy --grad-out "$J/g.npy" \
    --json >"$J/loss2.json"
  D=distill/distill_t4_a0.3_ls0.1
  "$LSP" loss --logits $D/student.npy --teacher-logits $D/teacher.npy --labels $D/labels.npy --temperature 4 --alpha 0.3 \
    --json >"$J/loss3.json"
)
for c in calib eval clusters logitgap attack loss data; do
  design_members "$c" "$J/$c"[0-9].json && ok "$c --json: the members DESIGN §4 lists" || bad "$c --json members"
done

# eval --features: README's example layer name is a layer of the default MLP
# (--hidden 8,8 has the layers of the default 256,256)
name=$(sed -n 's/.*lsprobe layer name (`\([a-z0-9]*\)`: the default MLP.s.*/\1/p' "$README")
"$LSP" train --data "$SYN" --hidden 8,8 --epochs 1 --smoothing 0 --quiet --out "$E/h2.lspm" >/dev/null 2>&1
"$LSP" eval --model "$E/h2.lspm" --data "$SYN" --features "${name:-none}" --json >"$E/feat.json" 2>"$E/feat.err" &&
  grep -q "\"features\":\"$name\"" "$E/feat.json" && ok "README's --features example ($name) is a layer of the default MLP" ||
  bad "README's --features example '$name': $(cat "$E/feat.err")"

# docs/CALIBRATION_SIM.md's table is what scripts/calibsim_table makes of docs/calib-sim/
ROOT="$DATA/../.."
"$PY" "$ROOT/scripts/calibsim_table" "$ROOT"/docs/calib-sim/*.md >"$E/calibsim.md" 2>&1 &&
  "$PY" - "$E/calibsim.md" "$ROOT/docs/CALIBRATION_SIM.md" <<'PYEOF' && ok "CALIBRATION_SIM.md's table = scripts/calibsim_table docs/calib-sim/*.md" || bad "CALIBRATION_SIM table"
import sys
rows = [l for l in open(sys.argv[1]).read().split("\n") if l.startswith("| ")]
docs = open(sys.argv[2]).read().split("\n")
missing = [r for r in rows if r not in docs]
for r in missing[:3]:
    print("  not in the docs: " + r)
sys.exit(len(rows) < 80 or bool(missing))
PYEOF

# --- DESIGN §2: the cluster centre and exclusions, on DESIGN's own toy ----------
DESIGN="$DATA/../../docs/DESIGN.md"
"$PY" - "$SCR/ex" <<'PYEOF'
import sys
import numpy as np
f = np.array([[1, 0], [1, 0.2], [0.6, 0.4], [0, 0], [0, 1]], dtype=np.float64)
np.save(sys.argv[1] + "/toy_f.npy", f)
np.save(sys.argv[1] + "/toy_y.npy", np.array([0, 0, 0, 0, 1]))
PYEOF
expect_exit 0 "clusters on DESIGN's imbalanced toy" "$LSP" clusters --features "$SCR/ex/toy_f.npy" --labels "$SCR/ex/toy_y.npy" --json
"$PY" - "$DESIGN" "$SCR/out" <<'PYEOF' && ok "DESIGN's imbalanced toy: the program gives the numbers DESIGN states" || bad "DESIGN toy"
import json, re, sys
design, got = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
m = re.search(r"Imbalanced toy with a dead row:(.*?)NC1 = ([0-9]+\.[0-9]+)", design, re.S)
if not m:
    print("  DESIGN states no imbalanced toy")
    sys.exit(1)
text = m.group(1)
want = {"trace_within": float(re.search(r"tr Σ_W = ([0-9.]+)", text).group(1)),
        "trace_between": float(re.search(r"tr Σ_B = ([0-9.]+)", text).group(1)),
        "trace_ratio": float(re.search(r"trace ratio ([0-9.]+)", text).group(1)),
        "nc1": float(m.group(2))}
bad = [k for k, v in want.items() if abs(got[k] - v) > 5e-7]
if got["n_zero_rows"] != 1 or bad:
    print("  differ: %s (zero rows %d)" % (bad, got["n_zero_rows"]))
    sys.exit(1)
PYEOF


# README's contents list: one link per ## and ### heading, in order, each to
# the anchor a Markdown renderer gives it (lower case, punctuation dropped,
# spaces as hyphens)
"$PY" - "$README" <<'PYEOF' && ok "README's contents list = its headings, links resolve" || bad "README contents list"
import re, sys
text = open(sys.argv[1]).read()
heads = re.findall(r"^(##+) (.+)$", text, re.M)
slug = lambda t: re.sub(r"[^\w\- ]", "", t.lower()).replace(" ", "-")
want = ["%s- [%s](#%s)" % ("  " * (len(h) - 2), t, slug(t)) for h, t in heads if len(h) <= 3]
got = re.findall(r"^ *- \[.*\]\(#[^)]*\)$", text.split("## Quick start")[0], re.M)
if got != want:
    for g, w in zip(got + [""] * len(want), want + [""] * len(got)):
        if g != w: print("  contents: %r, heading gives %r" % (g, w)); break
    sys.exit(1)
PYEOF

# Code fences (CommonMark): a line that would close the open block must hold
# nothing after its backticks, else it is text inside the block and the block
# runs on (every heading after it rendered as code); an opening fence may
# carry an info string (```sh); no block may be left open at the end
for doc in "$README" "$DESIGN"; do
  "$PY" - "$doc" <<'PYEOF' && ok "$(basename "$doc"): every code block closes on a bare fence" || bad "$(basename "$doc") code fences"
import re, sys
fence = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")
opened, fails = None, 0
for no, line in enumerate(open(sys.argv[1]).read().split("\n"), 1):
    m = fence.match(line)
    if not m:
        continue
    mark, rest = m.group(1), m.group(2)
    if opened is None:
        opened = (mark, no)
    elif mark[0] == opened[0][0] and len(mark) >= len(opened[0]):
        if rest.strip():
            print("  line %d: text after the fence closing the block of line %d: %r" % (no, opened[1], line))
            fails += 1
        opened = None
if opened is not None:
    print("  the code block of line %d never closes" % opened[1])
    fails += 1
sys.exit(fails > 0)
PYEOF
done


# --- the scripts: --help prints the script's own header comment (the
# comment lines after #!, "# " dropped) and runs nothing: every tool they
# would start (packages, builds, tests) is a stub here that records its call
STUB="$SCR/stub"
mkdir -p "$STUB"
for c in cmake ctest apt-get sudo dpkg-query ninja make clang gcc mpirun; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/called"\nexit 1\n' "$c" "$STUB" >"$STUB/$c"
  chmod +x "$STUB/$c"
done
for s in setup build demo test fuzz; do
  rm -f "$STUB/called"
  timeout 30 env PATH="$STUB:/usr/bin:/bin" "$ROOT/scripts/$s" --help >"$SCR/out" 2>"$SCR/err"
  st=$?
  "$PY" - "$ROOT/scripts/$s" "$SCR/out" <<'PYEOF'
import sys
want = []
for l in open(sys.argv[1]).read().split("\n")[1:]:
    if not l.startswith("#"):
        break
    want.append(l[2:] if l.startswith("# ") else l[1:])
sys.exit(open(sys.argv[2]).read() != "\n".join(want) + "\n")
PYEOF
  hc=$?
  [ $st -eq 0 ] && [ $hc -eq 0 ] && [ ! -s "$SCR/err" ] && [ ! -e "$STUB/called" ] &&
    ok "scripts/$s --help: its header comment, nothing run" ||
    bad "scripts/$s --help: exit $st, text $([ $hc -eq 0 ] && echo same || echo differs), ran: $(cat "$STUB/called" 2>/dev/null | head -2) $(head -2 "$SCR/err")"
done
# arguments the scripts do not take are refused before anything runs
for a in "test extra" "fuzz abc" "fuzz 0" "fuzz 5 6" "setup --bogus" "build bogus"; do
  rm -f "$STUB/called"
  timeout 30 env PATH="$STUB:/usr/bin:/bin" "$ROOT/scripts/${a%% *}" ${a#* } >/dev/null 2>"$SCR/err"
  st=$?
  [ $st -eq 2 ] && [ "$(wc -l <"$SCR/err")" -eq 1 ] && [ ! -e "$STUB/called" ] &&
    ok "scripts/$a: refused (exit 2, one line), nothing run" || bad "scripts/$a: exit $st, $(head -2 "$SCR/err"), ran: $(head -2 "$STUB/called" 2>/dev/null)"
done
"$PY" "$ROOT/scripts/calibsim_table" --help >"$SCR/out" 2>"$SCR/err" && head -1 "$SCR/out" | grep -q '^scripts/calibsim_table FILE' &&
  [ ! -s "$SCR/err" ] && ok "scripts/calibsim_table --help" || bad "calibsim_table --help: $(head -3 "$SCR/err")"
"$PY" "$ROOT/scripts/calibsim_table" "$SCR/none.md" >/dev/null 2>"$SCR/err"
st=$?
[ $st -eq 1 ] && [ "$(cat "$SCR/err")" = "calibsim_table: $SCR/none.md: No such file or directory" ] &&
  ok "scripts/calibsim_table: a missing file, one line" || bad "calibsim_table, missing file: exit $st, $(head -3 "$SCR/err")"


# --- bench/compare's interface (README, Benchmarks): lsprobe's side is a stub
# benchmark here (LSP_BUILD) that prints its arguments, the peer the real
# PyTorch one on a tiny problem; --isa reaches lsprobe's side only, and the
# ratio line's figures are the printed lines' own
FB="$SCR/fakebuild"
mkdir -p "$FB/bench"
cat >"$FB/bench/bench_loss" <<'SH'
#!/bin/sh
echo "{\"impl\": \"lsprobe\", \"benchmark\": \"loss\", \"threads\": 1, \"argv\": \"$*\", \"median_s\": 0.000125, \"cpu_s\": 0.0001, \"gb_per_s\": 10.0, \"memcpy_gb_per_s\": 40.0, \"share_of_memcpy\": 0.3}"
SH
chmod +x "$FB/bench/bench_loss"
LSP_BUILD="$FB" timeout 60 "$ROOT/bench/compare" loss --isa x86-64 --n 64 --k 8 --reps 1 >"$SCR/out" 2>"$SCR/err"
st=$?
"$PY" - "$SCR/out" <<'PYEOF' && [ $st -eq 0 ] && ok "bench/compare loss --isa: lsprobe's side capped, the ratios from the printed lines" || bad "bench/compare loss --isa: exit $st, $(head -3 "$SCR/err")"
import json, sys
a, b, r = [json.loads(l) for l in open(sys.argv[1])]
ok = "--isa x86-64" in a["argv"] and b["impl"] == "torch" and b["n"] == 64 and b["k"] == 8
ok = ok and r["speedup_vs_torch"] == round(b["median_s"] / a["median_s"], 2)
ok = ok and r["cpu_speedup_vs_torch"] == round(b["cpu_s"] / a["cpu_s"], 2)
ok = ok and r["bandwidth_share_of_memcpy"] == a["share_of_memcpy"]
sys.exit(not ok)
PYEOF
for o in --threads --peer-threads --isa; do
  LSP_BUILD="$FB" "$ROOT/bench/compare" loss --n 64 $o >/dev/null 2>"$SCR/err"
  st=$?
  [ $st -eq 2 ] && [ "$(cat "$SCR/err")" = "bench/compare: $o needs a value" ] &&
    ok "bench/compare: $o without a value" || bad "bench/compare $o: exit $st, $(head -2 "$SCR/err")"
done
LSP_BUILD="$FB" timeout 60 "$ROOT/bench/compare" all --repeat 0 --force >/dev/null 2>"$SCR/err"
st=$?
[ $st -eq 2 ] && grep -q -- "--repeat 0: the runs of each case, 1 or more" "$SCR/err" &&
  ok "bench/compare all --repeat 0: refused" || bad "bench/compare all --repeat 0: exit $st, $(head -2 "$SCR/err")"
# The benchmarks (where the build has them: not the sanitizer or MPI builds)
# refuse what they do not take before running anything, in one line naming
# themselves and the option, exit 2 (ulimit: one that ran anyway stops within
# a CPU second); --help lists exactly the options the source looks up, and
# each is taken: "OPT --nn" says OPT needs a value, or (a flag) that --nn is
# unknown.
BD="$(dirname "$LSP")/bench"
if [ "$(sed -n 's/^LSP_BUILD_BENCH:BOOL=//p' "$(dirname "$LSP")/CMakeCache.txt" 2>/dev/null)" != OFF ] &&
  { [ -d "$BD" ] || [ -z "${LSP_TEST_SANITIZED:-}" ]; }; then
  bench_run() { (ulimit -t 1; exec timeout 20 "$BD/$@") >"$SCR/out" 2>"$SCR/err"; }
  for src in "$ROOT"/bench/bench_*.c; do
    b=$(basename "$src" .c)
    bench_run "$b" --nn 5
    st=$?
    [ $st -eq 2 ] && [ ! -s "$SCR/out" ] &&
      [ "$(cat "$SCR/err")" = "$b: --nn: unknown option ($b --help lists them)" ] &&
      ok "$b --nn 5: refused" || bad "$b --nn 5: exit $st, $(head -2 "$SCR/err")"
    bench_run "$b" stray
    st=$?
    [ $st -eq 2 ] && [ "$(cat "$SCR/err")" = "$b: 'stray': not an option" ] &&
      ok "$b stray: refused" || bad "$b stray: exit $st, $(head -2 "$SCR/err")"
    bench_run "$b" --help
    st=$?
    helped=$(grep -o -- '--[a-z][a-z-]*' "$SCR/out" | sort -u | tr '\n' ' ')
    looked=$( (tr '\n' ' ' <"$src" | grep -o 'bench_arg_[a-z]*( *argc, *argv, *"--[a-z-]*"' |
      grep -o -- '--[a-z-]*'; grep -q 'bench_isa_arg(argc' "$src" && echo --isa) | sort -u | tr '\n' ' ')
    [ $st -eq 0 ] && head -1 "$SCR/out" | grep -q "^usage: $b " && [ -n "$looked" ] &&
      [ "$helped" = "$looked" ] && ok "$b --help: the options it takes" ||
      bad "$b --help: exit $st, lists [$helped], looks up [$looked]"
    taken=0
    for o in $helped; do
      bench_run "$b" "$o" --nn
      st=$?
      e=$(cat "$SCR/err")
      [ $st -eq 2 ] && { [ "$e" = "$b: $o needs a value" ] ||
        [ "$e" = "$b: --nn: unknown option ($b --help lists them)" ]; } &&
        taken=$((taken + 1)) || bad "$b $o --nn: exit $st, $e"
    done
    [ -n "$helped" ] && [ $taken -eq $(echo $helped | wc -w) ] && ok "$b: the $taken options of --help taken"
  done
  for a in "--n:bench_loss: --n needs a value" "--n 5x:bench_loss: --n: '5x' is not an integer" \
    "--n -5:bench_loss: --n: -5 is negative" "--eps nan:bench_loss: --eps: 'nan' is not a number" \
    "--threads 4294967297:bench_loss: --threads: 4294967297 is too large" \
    "--n 8 --n:bench_loss: --n needs a value" "--k 1:bench_loss: --k: at least 2"; do
    bench_run bench_loss ${a%%:*}
    st=$?
    [ $st -eq 2 ] && [ "$(cat "$SCR/err")" = "${a#*:}" ] &&
      ok "bench_loss ${a%%:*}: refused" || bad "bench_loss ${a%%:*}: exit $st, $(head -2 "$SCR/err")"
  done
fi

finish
