#!/usr/bin/env bash
# `cmake --install` into a temporary prefix gives a usable library: the
# files are where they belong (shared library with its SONAME links, static
# library, only the public headers, lsprobe.pc, the CMake package, the
# command and its man page), and a program outside the tree
# (tests/consumer/consumer.c) builds against it two ways — pkg-config with
# plain cc, and CMake's find_package (shared and static) — and computes a
# loss and a calibration that it checks itself. The prefix can be moved.
#   $1 = the build folder, $2 = tests/, $3 = a scratch folder, $4 = version
. "$(dirname "$0")/e2e_common.sh" true /dev/null "$3" /dev/null
BUILD=$1
TESTS=$2
VERSION=$4
MAJOR=${VERSION%%.*}
P=$SCR/prefix
CC=${CC:-cc}
CXX=${CXX:-g++}

if cmake --install "$BUILD" --prefix "$P" >"$SCR/install.log" 2>&1; then ok "cmake --install --prefix"; else
  bad "cmake --install failed:"; sed 's/^/     /' "$SCR/install.log" | tail -5; finish; exit 1; fi

for f in "lib/liblsprobe.so.$VERSION" lib/liblsprobe.a include/lsprobe/lsprobe.h \
         include/lsprobe/version.h lib/pkgconfig/lsprobe.pc lib/cmake/lsprobe/lsprobeConfig.cmake \
         lib/cmake/lsprobe/lsprobeConfigVersion.cmake bin/lsprobe share/man/man1/lsprobe.1; do
  if [ -f "$P/$f" ]; then ok "installed $f"; else bad "missing $f"; fi
done
for l in "liblsprobe.so.$MAJOR:liblsprobe.so.$VERSION" "liblsprobe.so:liblsprobe.so.$MAJOR"; do
  if [ "$(readlink "$P/lib/${l%%:*}")" = "${l#*:}" ]; then ok "lib/${l%%:*} -> ${l#*:}"; else
    bad "lib/${l%%:*} does not point to ${l#*:}"; fi
done
# only the public headers: include/lsprobe/*.h and nothing else under include/
others=$(cd "$P/include" && find . -type f ! -path './lsprobe/*.h')
public=$(ls "$TESTS/../include/lsprobe/"*.h | wc -l)
if [ -z "$others" ] && [ "$(ls "$P/include/lsprobe" | wc -l)" -eq $((public + 1)) ]; then
  ok "include/ holds the $public public headers and version.h only"; else
  bad "include/ holds other files: $others $(ls "$P/include/lsprobe")"; fi
# every installed header compiles on its own, with strict warnings
hdr_ok=1
for h in "$P"/include/lsprobe/*.h; do
  printf '#include <lsprobe/%s>\nint main(void) { return 0; }\n' "$(basename "$h")" >"$SCR/h.c"
  $CC -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$P/include" -c "$SCR/h.c" -o "$SCR/h.o" \
    2>"$SCR/h.err" || { hdr_ok=0; bad "$(basename "$h") does not compile alone:"; head -3 "$SCR/h.err"; }
done
[ $hdr_ok -eq 1 ] && ok "each public header compiles alone (-std=c11 -Wall -Wextra -Wpedantic -Werror)"
# ... and as C++, every declaration with C linkage (extern "C")
hdr_ok=1
for h in "$P"/include/lsprobe/*.h; do
  printf '#include <lsprobe/%s>\nint main() { return 0; }\n' "$(basename "$h")" >"$SCR/h.cpp"
  $CXX -std=c++11 -Wall -Wextra -Wpedantic -Werror -I"$P/include" -c "$SCR/h.cpp" -o "$SCR/h.o" \
    2>"$SCR/h.err" || { hdr_ok=0; bad "$(basename "$h") does not compile alone as C++:"; head -3 "$SCR/h.err"; }
done
[ $hdr_ok -eq 1 ] && ok "each public header compiles alone as C++ (-std=c++11 -Wpedantic -Werror)"

# 1. pkg-config and plain cc
export PKG_CONFIG_PATH=$P/lib/pkgconfig
v=$(pkg-config --modversion lsprobe 2>&1)
if [ "$v" = "$VERSION" ]; then ok "pkg-config --modversion lsprobe: $v"; else bad "pkg-config --modversion: '$v'"; fi
libdir=$(pkg-config --variable=libdir lsprobe)
# shellcheck disable=SC2046
if $CC -std=c11 -Wall -Wextra -Werror "$TESTS/consumer/consumer.c" -o "$SCR/consumer_pc" \
     $(pkg-config --cflags --libs lsprobe) -lm -Wl,-rpath,"$libdir" 2>"$SCR/cc.err"; then
  ok "cc consumer.c \$(pkg-config --cflags --libs lsprobe)"; else
  bad "the pkg-config build failed:"; sed 's/^/     /' "$SCR/cc.err" | head -5; fi
if "$SCR/consumer_pc" >"$SCR/run.out" 2>&1; then ok "the pkg-config consumer's checks pass"; else
  bad "the pkg-config consumer failed:"; sed 's/^/     /' "$SCR/run.out"; fi
# shellcheck disable=SC2046
if $CXX -std=c++11 -Wall -Wextra -Werror "$TESTS/consumer/consumer.cpp" -o "$SCR/consumer_cxx" \
     $(pkg-config --cflags --libs lsprobe) -Wl,-rpath,"$libdir" 2>"$SCR/cxx.err"; then
  ok "g++ consumer.cpp \$(pkg-config --cflags --libs lsprobe)"; else
  bad "the C++ pkg-config build failed:"; sed 's/^/     /' "$SCR/cxx.err" | head -5; fi
if "$SCR/consumer_cxx" >"$SCR/run_pc_cxx.out" 2>&1; then ok "the C++ consumer's checks pass"; else
  bad "the C++ consumer failed:"; sed 's/^/     /' "$SCR/run_pc_cxx.out"; fi
if ldd "$SCR/consumer_pc" | grep -q "liblsprobe.so.$MAJOR => $libdir"; then
  ok "it runs on the installed liblsprobe.so.$MAJOR"; else bad "it does not load $libdir/liblsprobe.so.$MAJOR"; fi

# 2. CMake find_package, shared and static
if cmake -S "$TESTS/consumer" -B "$SCR/cmake" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release \
     >"$SCR/cmake.log" 2>&1 && cmake --build "$SCR/cmake" >>"$SCR/cmake.log" 2>&1; then
  ok "find_package(lsprobe) project configures and builds"; else
  bad "the find_package build failed:"; sed 's/^/     /' "$SCR/cmake.log" | tail -8; fi
for kind in shared static cxx; do
  if "$SCR/cmake/consumer_$kind" >"$SCR/run_$kind.out" 2>&1; then
    ok "lsprobe::lsprobe$([ $kind = static ] && echo _static) consumer's checks pass ($kind)"; else
    bad "the $kind find_package consumer failed:"; sed 's/^/     /' "$SCR/run_$kind.out"; fi
done
if readelf -d "$SCR/cmake/consumer_static" | grep -q liblsprobe; then
  bad "the static consumer still needs liblsprobe.so"; else ok "the static consumer needs no liblsprobe.so"; fi
if readelf -d "$SCR/cmake/consumer_shared" | grep -q "NEEDED.*liblsprobe.so.$MAJOR"; then
  ok "the shared consumer records liblsprobe.so.$MAJOR (the SONAME)"; else bad "the shared consumer lacks NEEDED liblsprobe.so.$MAJOR"; fi

# 3. the command and its man page
if [ "$("$P/bin/lsprobe" --version | head -n 1)" = "lsprobe $VERSION" ]; then ok "bin/lsprobe --version"; else
  bad "bin/lsprobe --version: $("$P/bin/lsprobe" --version 2>&1)"; fi
MAN=$P/share/man/man1/lsprobe.1
if groff -man -k -Tutf8 -ww -z "$MAN" 2>"$SCR/groff.err" && [ ! -s "$SCR/groff.err" ]; then
  ok "lsprobe.1 renders without groff warnings"; else bad "groff warns:"; head -5 "$SCR/groff.err"; fi
MANPAGER=cat man -l "$MAN" 2>/dev/null | col -b >"$SCR/man.txt"
missing=""
for c in $("$P/bin/lsprobe" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'); do
  grep -q "^   $c\$" "$SCR/man.txt" || missing="$missing $c"
  opt=$("$P/bin/lsprobe" "$c" --help | awk '/^  --/ {print $1; exit}')
  grep -q -- "$opt" "$SCR/man.txt" || missing="$missing $c:$opt"
done
if [ -z "$missing" ]; then ok "the man page has a section and the options of every command"; else
  bad "the man page lacks:$missing"; fi

# 4. the installed tree can be moved: pkg-config and CMake find it at its new place
mv "$P" "$SCR/moved"
export PKG_CONFIG_PATH=$SCR/moved/lib/pkgconfig
# shellcheck disable=SC2046
if $CC -std=c11 "$TESTS/consumer/consumer.c" -o "$SCR/consumer_moved" $(pkg-config --cflags --libs lsprobe) \
     -lm -Wl,-rpath,"$(pkg-config --variable=libdir lsprobe)" 2>"$SCR/cc2.err" &&
   "$SCR/consumer_moved" >/dev/null 2>&1; then ok "a moved prefix still works through pkg-config"; else
  bad "the moved prefix does not work:"; head -5 "$SCR/cc2.err"; fi
finish
