#!/usr/bin/env bash
# test.sh -- the whole test suite: install what is missing, build, run CTest.
#
# Extra arguments go to ctest, e.g. -L unit or -R integration.  Under CI
# (CI=true), or with SANITIZE=1, the suite runs a second time on an
# ASan+UBSan build (./build-asan), where any finding fails its test; the
# devdax guests run once, on the plain build.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
# The devdax tests (tests/devdax) boot qemu guests with an emulated NVDIMM;
# DEVDAX=0 leaves them out of a quick local run (CI always runs them).
skip=()
if [ "${DEVDAX:-1}" = 0 ] && [ "${CI:-}" != true ]; then
    skip=(-LE devdax)
    "$top/scripts/deps.sh"
else
    "$top/scripts/deps.sh" --test
fi
"$top/scripts/build.sh"
(cd "$build" && ctest --output-on-failure --timeout 600 "${skip[@]}" "$@")

if [ "${CI:-}" = true ] || [ "${SANITIZE:-}" = 1 ]; then
    echo "== the same suite under AddressSanitizer + UndefinedBehaviorSanitizer"
    BUILD_DIR=$top/build-asan "$top/scripts/build.sh" \
        -DDAXALLOC_ASAN=ON -DDAXALLOC_UBSAN=ON
    cd "$top/build-asan"
    # Not the guests (they run the plain build) nor the install test (a
    # program linked against an instrumented library needs ASan's runtime).
    ctest --output-on-failure --timeout 600 -LE 'devdax|install' "$@"
fi
