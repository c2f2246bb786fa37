#!/usr/bin/env bash
# liblsprobe.so exports exactly the public API: every function the public
# headers (include/lsprobe/*.h) declare with LSP_API is in its dynamic symbol
# table, and nothing else is (no internal helper, no global variable). The
# SONAME carries the major version.
#   $1 = liblsprobe.so, $2 = include (the public headers' folder), $3 = the
#   build's include folder (version.h), $4 = the major version, $5 = a
#   scratch folder
. "$(dirname "$0")/e2e_common.sh" true /dev/null "$5" /dev/null
LIB=$1
INC=$2
GEN=$3
MAJOR=$4

# the names declared with LSP_API: preprocess the umbrella header with the
# mark turned into a token of its own (comments and macros are gone), then
# take the identifier before each marked declaration's '('
declared=$(printf '#include <lsprobe/lsprobe.h>\n' |
  ${CC:-cc} -E -P -DLSP_API=__lsp_api_mark__ -I"$INC" -I"$GEN" -x c - | tr '\n' ' ' |
  grep -o '__lsp_api_mark__[^(;]*(' | sed -E 's/.*[ *]([A-Za-z_][A-Za-z0-9_]*) *\($/\1/' | sort -u)
exported=$(nm -D --defined-only "$LIB" | awk '{print $NF}' | sort -u)
n_declared=$(printf '%s\n' "$declared" | grep -c . || true)
if [ "$n_declared" -ge 20 ]; then ok "the headers declare $n_declared LSP_API functions"; else
  bad "only $n_declared LSP_API declarations found in $INC (parsing broken?)"; fi

missing=$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$exported"))
extra=$(comm -13 <(printf '%s\n' "$declared") <(printf '%s\n' "$exported"))
if [ -z "$missing" ]; then ok "every public function is exported"; else
  bad "declared but not exported: $(echo $missing)"; fi
if [ -z "$extra" ]; then ok "nothing else is exported ($(printf '%s\n' "$exported" | wc -l) symbols)"; else
  bad "exported but not public: $(echo $extra)"; fi
nonlsp=$(printf '%s\n' "$exported" | grep -v '^lsp_' || true)
if [ -z "$nonlsp" ]; then ok "every exported name starts with lsp_"; else
  bad "exported names outside lsp_: $(echo $nonlsp)"; fi
# every exported symbol is a function (T), no data
data=$(nm -D --defined-only "$LIB" | awk '$2 != "T" {print $3 " (" $2 ")"}')
if [ -z "$data" ]; then ok "only functions are exported"; else
  bad "exported non-functions: $(echo $data)"; fi
# internal helpers really are in the library, hidden (the test could not
# fail if they were simply absent)
internal=$(nm "$LIB" | awk '$NF == "lsp_fail" || $NF == "lsp_calib_rows_score" {print $2}' | sort -u | tr '\n' ' ')
if [ "$internal" = "t " ]; then ok "internal helpers (lsp_fail, lsp_calib_rows_score) are in the library as local symbols"; else
  bad "internal helpers: nm types '$internal' (want local 't')"; fi

soname=$(readelf -d "$LIB" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$soname" = "liblsprobe.so.$MAJOR" ]; then ok "SONAME $soname"; else
  bad "SONAME '$soname', want liblsprobe.so.$MAJOR"; fi
undefined=$(nm -D --undefined-only "$LIB" | awk '{print $NF}' | grep '^lsp_' || true)
if [ -z "$undefined" ]; then ok "no lsp_ symbol is left undefined"; else
  bad "undefined lsp_ symbols: $(echo $undefined)"; fi
finish
