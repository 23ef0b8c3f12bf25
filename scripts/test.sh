#!/usr/bin/env bash
# test.sh -- the whole test suite: install what is missing, build, run CTest.
#
# Extra arguments go to ctest, e.g. -L unit or -R integration.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
cd "$build"
ctest --output-on-failure --timeout 600 "$@"
