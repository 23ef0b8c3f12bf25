#!/usr/bin/env bash
# fuzz.sh -- build the libFuzzer targets and run each for a while
#
#   scripts/fuzz.sh [--time SECONDS] [--jobs N] [TARGET...]
#
# Configures ./build-fuzz (or $BUILD_DIR) with clang and
# -DDAXALLOC_FUZZ=ON, builds the targets (default: all of them,
# fuzz_envelope fuzz_client fuzz_control fuzz_recovery), replays each
# target's regression inputs once, then fuzzes each for SECONDS (default
# 60), N targets at a time (default: the number of cores).  Each run starts
# from the checked-in seed corpus and from what earlier runs found, which
# it keeps in BUILD_DIR/fuzz-work/TARGET/corpus (never in the source
# tree); crashes, leaks and timeouts land in
# BUILD_DIR/fuzz-work/TARGET/artifacts/.  The log of each run is
# BUILD_DIR/fuzz-work/TARGET/fuzz.log.
#
# Prints a line per target (executions, executions per second, coverage
# from libFuzzer's final statistics) and exits non-zero when any target
# crashed, leaked, timed out or ran out of memory, naming the input.
# Installs nothing and needs no network (clang and libclang-rt-14-dev come
# from scripts/deps.sh --test).  tests/fuzz/README.md tells how to run
# longer campaigns.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${BUILD_DIR:-$top/build-fuzz}")
all=(fuzz_envelope fuzz_client fuzz_control fuzz_recovery)
seconds=60
jobs=$(nproc)
targets=()

usage() {
	echo "usage: scripts/fuzz.sh [--time SECONDS] [--jobs N] [TARGET...]" >&2
	echo "targets: ${all[*]}" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--time)
		[ $# -ge 2 ] || usage
		seconds=$2
		shift 2
		;;
	--jobs)
		[ $# -ge 2 ] || usage
		jobs=$2
		shift 2
		;;
	-h | --help)
		usage
		;;
	-*)
		usage
		;;
	*)
		[[ " ${all[*]} " == *" $1 "* ]] || {
			echo "fuzz.sh: no target '$1'" >&2
			usage
		}
		targets+=("$1")
		shift
		;;
	esac
done
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || usage
[[ "$jobs" =~ ^[0-9]+$ && "$jobs" -gt 0 ]] || usage
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

command -v clang >/dev/null || {
	echo "fuzz.sh: clang is not installed (scripts/deps.sh --test)" >&2
	exit 2
}

echo "fuzz: building ${targets[*]} in $build"
CC=clang cmake -S "$top" -B "$build" -DDAXALLOC_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1 || {
	tail -n 30 "$build/fuzz-build.log" >&2
	echo "fuzz.sh: the build failed (log: $build/fuzz-build.log)" >&2
	exit 1
}

# Per-input limits: a hang or a runaway allocation is a finding too.
common=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

# dict TARGET -- the dictionary of a target
dict() {
	case "$1" in
	fuzz_recovery) echo "$top/tests/fuzz/recovery.dict" ;;
	*) echo "$top/tests/fuzz/envelope.dict" ;;
	esac
}

# run TARGET -- replay its regressions, then fuzz it; status in work/status
run() {
	local t=$1 work=$build/fuzz-work/$1 bin=$build/tests/fuzz/$1
	local reg=$top/tests/fuzz/regressions/$1
	mkdir -p "$work/corpus" "$work/artifacts"
	rm -f "$work/status" "$work/fuzz.log" "$work/regressions.log"
	if [ -d "$reg" ] && ! "$bin" "${common[@]}" -runs=0 \
		-artifact_prefix="$work/artifacts/" "$reg" >"$work/regressions.log" 2>&1; then
		echo fail >"$work/status"
		return
	fi
	if "$bin" "${common[@]}" -max_total_time="$seconds" -dict="$(dict "$t")" \
		-artifact_prefix="$work/artifacts/" \
		"$work/corpus" "$top/tests/fuzz/corpus/$t" >"$work/fuzz.log" 2>&1; then
		echo ok >"$work/status"
	else
		echo fail >"$work/status"
	fi
}

echo "fuzz: ${seconds}s per target, $jobs at a time"
running=0
for t in "${targets[@]}"; do
	run "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait

# final_stat NAME LOG -- one of libFuzzer's final statistics
final_stat() {
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

failed=0
for t in "${targets[@]}"; do
	work=$build/fuzz-work/$t
	log=$work/fuzz.log
	[ -f "$log" ] || log=$work/regressions.log
	# The last status line: "#N DONE cov: C ft: F corp: K/S ...".
	line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$line")
	printf 'fuzz: %-14s %10s executions %7s exec/s  cov %s  ft %s  corpus %s  %s\n' \
		"$t" "$(final_stat number_of_executed_units "$log")" \
		"$(final_stat average_exec_per_sec "$log")" "${cov:-?}" "${ft:-?}" \
		"${corp:-?}" "$(cat "$work/status" 2>/dev/null || echo fail)"
	if [ "$(cat "$work/status" 2>/dev/null)" != ok ]; then
		failed=1
		grep -hE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|runtime error|invariant broken' \
			"$work/regressions.log" "$work/fuzz.log" 2>/dev/null | head -n 3 | sed "s/^/fuzz:   /" || true
		grep -hoE 'Test unit written to .*' "$work/regressions.log" "$work/fuzz.log" 2>/dev/null |
			sed "s/^Test unit written to /fuzz:   input: /" || true
		if grep -q 'run interrupted' "$log" 2>/dev/null; then
			echo "fuzz:   stopped by a signal before its time was up (not a finding)"
		fi
		echo "fuzz:   log: $log"
	fi
done
if [ "$failed" -ne 0 ]; then
	echo "fuzz: FAILED (replay an input: $build/tests/fuzz/TARGET INPUT; see tests/fuzz/README.md)"
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a finding"
