#!/usr/bin/env bash
# The library (core, analysis, attacks, reports) changes no process-wide
# state behind its host's back (core/base/lsp_init.h, lsp_threads.h): no
# umask, no signal handlers, no OpenMP/OpenBLAS thread counts, no GSL error
# handler, no fork handler (but lsp_init's), no environment, locale or
# working directory. The exceptions are
# the documented, explicit entry points listed below; everything else is the
# command's (cli/) business. tests/test_host.c checks the same at run time.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
pattern='\b(umask|sigaction|signal|omp_set_num_threads|openblas_set_num_threads|gsl_set_error_handler(_off)?|pthread_atfork|lsp_threads_set_blas|setlocale|setenv|putenv|unsetenv|chdir)[[:space:]]*\('
# file:function that may: the explicit calls a host makes or opts into
allowed='^(core/base/lsp_threads\.[ch]:.*(openblas_set_num_threads|lsp_threads_set_blas)|core/base/lsp_init\.[ch]:.*(gsl_set_error_handler_off|pthread_atfork)|reports/lsp_run\.c:.*lsp_threads_set_blas)'
hits=$(grep -rnE "$pattern" core analysis attacks reports --include='*.c' --include='*.h' |
  grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' | # comment lines
  sed -E 's/^([^:]+):[0-9]+:/\1:/' | grep -vE "$allowed" || true)
if [ -n "$hits" ]; then
  echo "host_state: library code changes process-wide state:"
  echo "$hits"
  echo "host_state: 0 passed, 1 failed"
  exit 1
fi
echo "host_state: 1 passed, 0 failed"
