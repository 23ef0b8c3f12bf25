#!/usr/bin/env bash
# build.sh -- configure and build into ./build (or $BUILD_DIR).
#
# Extra arguments go to cmake's configure step, e.g. -DDAXALLOC_ASAN=ON.
# Under CI (CI=true) warnings are errors.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
args=()
if [ "${CI:-}" = true ]; then
    args+=(-DDAXALLOC_WERROR=ON)
fi
cmake -S "$top" -B "$build" "${args[@]}" "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
