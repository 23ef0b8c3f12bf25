#!/usr/bin/env bash
# test.sh -- the whole test suite: install what is missing, build, run CTest.
#
# Extra arguments go to ctest, e.g. -L unit or -R integration.  Under CI
# (CI=true), or with FULL=1, the robustness runs follow the suite:
#   - the same suite on an ASan+UBSan build (./build-asan), where any
#     finding fails its test (SANITIZE=1 runs this one alone);
#   - every unit test program under valgrind memcheck (scripts/valgrind.sh);
#   - each libFuzzer target for FUZZ_SECONDS (default 60, scripts/fuzz.sh);
#   - the coverage build and its gate (scripts/coverage.sh).
# The devdax guests run once, on the plain build; DEVDAX=0 leaves them out
# of a quick local run.  docs/robustness.md has the long forms.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
full=
if [ "${CI:-}" = true ] || [ "${FULL:-}" = 1 ]; then
    full=1
fi
skip=()
if [ "${DEVDAX:-1}" = 0 ] && [ -z "$full" ]; then
    skip=(-LE 'devdax|nightly')
    "$top/scripts/deps.sh"
else
    skip=(-LE nightly)
    "$top/scripts/deps.sh" --test
fi
"$top/scripts/build.sh"
(cd "$build" && ctest --output-on-failure --timeout 600 "${skip[@]}" "$@")

# stage NAME -- a heading with the time so far, for CI logs
t0=$(date +%s)
stage() {
    echo "== $* ($(($(date +%s) - t0)) s since the suite)"
}

if [ -n "$full" ] || [ "${SANITIZE:-}" = 1 ]; then
    stage "the same suite under AddressSanitizer + UndefinedBehaviorSanitizer"
    BUILD_DIR=$top/build-asan "$top/scripts/build.sh" \
        -DDAXALLOC_ASAN=ON -DDAXALLOC_UBSAN=ON
    # Not the guests (they run the plain build) nor the install test (a
    # program linked against an instrumented library needs ASan's runtime).
    (cd "$top/build-asan" &&
        ctest --output-on-failure --timeout 600 -LE 'devdax|install|nightly' "$@")
fi
if [ -n "$full" ]; then
    stage "unit tests under valgrind memcheck"
    "$top/scripts/valgrind.sh"
    stage "fuzzing, ${FUZZ_SECONDS:-60} s per target"
    "$top/scripts/fuzz.sh" --time "${FUZZ_SECONDS:-60}"
    stage "coverage"
    "$top/scripts/coverage.sh"
    stage "all done"
fi
