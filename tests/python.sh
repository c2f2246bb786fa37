#!/usr/bin/env bash
# The Python package's tests (python/tests, pytest) with Debian's python3,
# on the library and the command of this build.
#   $1 = liblsprobe.so, $2 = the lsprobe command, $3 = python/, $4 = scratch
# Exit 77 (skipped, never passed) when pytest or NumPy is missing (scripts/setup
# installs them) or when a test skipped.
set -u
PY=/usr/bin/python3
if ! "$PY" -c "import pytest, numpy" 2>/dev/null; then
  echo "skip - $PY lacks pytest or numpy (Debian python3-pytest, python3-numpy)"
  exit 77
fi
rm -rf "$4"
mkdir -p "$4"
cd "$3" || exit 1
# OpenBLAS at one thread, as the command keeps it: the comparisons with the
# command are bitwise, and a threaded GEMM rounds differently for each count
OPENBLAS_NUM_THREADS=1 LSPROBE_LIBRARY=$1 LSPROBE_CLI=$2 PYTHONDONTWRITEBYTECODE=1 \
  exec "$PY" -m pytest -p no:cacheprovider -q -rs --basetemp "$4/tmp" tests
