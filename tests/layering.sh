#!/usr/bin/env bash
# The architecture's arrows point down (DESIGN.md §1): no file includes a
# header from a layer above its own. cli -> [mpi ->] reports -> {analysis,
# attacks} -> core (mpi/, the optional MPI layer, is built only with
# -DLSP_MPI=ON); api -> {analysis, attacks} -> core; analysis and attacks do not
# include each other. Inside core the sub-folders have an order of their
# own (below). The public headers (include/lsprobe) sit below everything:
# they include only each other and the C library.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
fail=0
check() { # layer, then the layers it must not include
  local layer=$1; shift
  for bad in "$@"; do
    hits=$(grep -rn "#include \"$bad/" "$layer" --include='*.c' --include='*.h' || true)
    if [ -n "$hits" ]; then
      echo "layering: $layer/ includes $bad/ (an upward or sideways arrow):"
      echo "$hits"
      fail=1
    fi
  done
}
check core analysis attacks reports cli api mpi
check analysis attacks reports cli api mpi
check attacks analysis reports cli api mpi
check reports cli api mpi
check mpi cli api
check cli api
check api reports cli mpi
# only mpi/ includes <mpi.h>; the command names it only under #ifdef LSP_MPI
hits=$(grep -rln '#include <mpi.h>' --include='*.c' --include='*.h' core analysis attacks reports cli api include || true)
if [ -n "$hits" ]; then
  echo "layering: <mpi.h> outside mpi/: $hits"
  fail=1
fi
for f in $(grep -rl '#include "mpi/' cli || true); do
  if ! awk '/#ifdef LSP_MPI/ { d++ } /#endif/ { if (d) d-- } /#include "mpi\// && !d { bad = 1 } END { exit bad }' "$f"; then
    echo "layering: $f includes mpi/ outside #ifdef LSP_MPI"
    fail=1
  fi
done
# the public headers: only <...> system headers and "lsprobe/..." headers
hits=$(grep -n '#include' include/lsprobe/*.h include/lsprobe/*.h.in |
  grep -v -e '#include <[a-z0-9_/]*\.h>' -e '#include "lsprobe/[a-z]*\.h"' || true)
if [ -n "$hits" ]; then
  echo "layering: a public header includes something other than lsprobe/ or system headers:"
  echo "$hits"
  fail=1
fi
# inside core: base -> {formats, loss} -> {data, nn} -> {import, train}
check core/base core/formats core/loss core/data core/nn core/import core/train
check core/formats core/loss core/data core/nn core/import core/train
check core/loss core/formats core/data core/nn core/import core/train
check core/data core/loss core/nn core/import core/train
check core/nn core/data core/import core/train
check core/import core/data core/train
check core/train core/import
[ $fail -eq 0 ] && echo "layering: 1 passed, 0 failed" || echo "layering: 0 passed, 1 failed"
exit $fail
