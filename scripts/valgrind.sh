#!/usr/bin/env bash
# valgrind.sh -- every unit test program under valgrind memcheck; zero findings
#
#   scripts/valgrind.sh [BUILD_DIR]        (default ./build-vg)
#
# Configures and builds a plain Debug build (no sanitizer, no coverage:
# either would hide or garble what memcheck sees), takes the unit tests'
# command lines from CTest (label "unit": the programs of tests/unit and
# fuzz_regressions' replay; not man_lint, which runs cmake), and runs each
# under memcheck, $(nproc) at a time.  Fails when a test fails, when any
# process of it (forked children included) reports a memory error or a
# definite, indirect or possible leak, or when a program of tests/unit
# leaves a descriptor it opened open at exit.
# The logs stay in BUILD_DIR/valgrind/: NAME.PID.log per process, NAME.out
# with the test's own output.  docs/robustness.md says what is checked and
# why.
#
# VALGRIND_ONLY=REGEX runs the matching tests only.  Needs no network and
# installs nothing: valgrind comes from scripts/deps.sh --test.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$top/build-vg}")
out=$build/valgrind
jobs=$(nproc)
t0=$(date +%s)

command -v valgrind >/dev/null || {
	echo "valgrind.sh: valgrind is not installed (scripts/deps.sh --test)" >&2
	exit 2
}

# No -Werror, even under CI: at -O0 gcc knows no value ranges, and
# -Wformat-truncation warns about what the optimized CI builds prove safe
# (client/lib/session.c); those builds enforce the warnings.
args=(-DCMAKE_BUILD_TYPE=Debug -DDAXALLOC_ASAN=OFF -DDAXALLOC_UBSAN=OFF
	-DDAXALLOC_TSAN=OFF -DDAXALLOC_COVERAGE=OFF -DDAXALLOC_WERROR=OFF)
cmake -S "$top" -B "$build" "${args[@]}" >/dev/null
# Everything: CTest names a test's program only once it exists.
cmake --build "$build" -j "$jobs"

# One line per unit test whose program is built in this tree:
# name, working directory, environment (K=V...), argv; fields split by
# \x1f, lists inside a field by \x1e.
list=$(cd "$build" && ctest -L unit -N --show-only=json-v1 | python3 -c '
import json, os, re, sys
build = os.path.join(sys.argv[1], "")
only = re.compile(os.environ.get("VALGRIND_ONLY") or "")
for t in json.load(sys.stdin)["tests"]:
    cmd = t.get("command") or []
    if not cmd or not cmd[0].startswith(build) or not only.search(t["name"]):
        continue
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    print("\x1f".join([t["name"], props.get("WORKING_DIRECTORY", build),
                       "\x1e".join(props.get("ENVIRONMENT", [])),
                       "\x1e".join(cmd)]))
' "$build")
if [ -z "$list" ]; then
	echo "valgrind.sh: no unit test found in $build" >&2
	exit 2
fi

rm -rf "$out"
mkdir -p "$out"
printf '%s\n' "$list" | cut -d $'\x1f' -f1 >"$out/tests"
# Every leak kind but "still reachable" is an error.  --track-fds only
# lists the descriptors open at exit (valgrind 3.19 does not count them
# as errors): the analysis below does.  Forked children are checked too,
# each in its own log; exec'd ones (test_hold's clients) run natively.
# shellcheck disable=SC2054 # the commas are valgrind's lists
vg=(valgrind --tool=memcheck --error-exitcode=101 --leak-check=full
	--show-leak-kinds=definite,indirect,possible
	--errors-for-leak-kinds=definite,indirect,possible
	--track-fds=yes --num-callers=30 --trace-children=no)
supp=$top/tests/unit/valgrind.supp
if [ -f "$supp" ]; then
	vg+=(--suppressions="$supp")
fi

# run_one -- one test under memcheck, in the background; NAME.status at its end
run_one() {
	local name=$1 dir=$2 env=$3 cmd=$4 fdcheck=0
	local -a argv envv=()
	IFS=$'\x1e' read -r -a argv <<<"$cmd"
	# The programs of tests/unit close all they open (they count their
	# descriptors); fuzz_replay keeps its fuzzing daemon's for the life
	# of the process, as libFuzzer's LLVMFuzzerInitialize() has no end.
	if [[ ${argv[0]} == "$build/tests/unit/"* ]]; then
		fdcheck=1
	fi
	if [ -n "$env" ]; then
		IFS=$'\x1e' read -r -a envv <<<"$env"
	fi
	# Cut off at 600 s, the suite's own ctest --timeout.
	(
		cd "$dir"
		start=$SECONDS
		rc=0
		env "${envv[@]}" timeout -k 10 600 "${vg[@]}" \
			--log-file="$out/$name.%p.log" "${argv[@]}" \
			>"$out/$name.out" 2>&1 || rc=$?
		echo "$name $rc $((SECONDS - start)) $fdcheck" >"$out/$name.status"
	) &
}

# At most $jobs at a time; each writes NAME.status when it ends.
running=0
while IFS=$'\x1f' read -r name dir env cmd; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$name" "$dir" "$env" "$cmd"
	running=$((running + 1))
done <<<"$list"
wait || true

# The analysis: per test, its exit status, then every log of its
# processes.  The test program's own process is the one whose parent has
# no log of this test (its parent is timeout); the others are its forked
# children and theirs.
python3 - "$out" <<'EOF'
import glob, os, re, sys

out = sys.argv[1]
header = re.compile(r"^==\d+== (Memcheck, a memory error detector|Copyright |"
                    r"Using Valgrind-|Command: |Parent PID: |$)")
failed = False
print("%-18s %6s %5s  %s" % ("test", "status", "secs", "findings"))
for name in sorted(open(os.path.join(out, "tests")).read().split()):
    status = os.path.join(out, name + ".status")
    if not os.path.exists(status):
        failed = True
        print("%-18s %6s %5s  %s" % (name, "FAIL", "-", "did not finish"))
        continue
    _, rc, secs, fdcheck = open(status).read().split()
    problems = [] if rc == "0" else ["exit status %s%s" % (rc, " (valgrind found errors)" if rc == "101" else "")]
    logs = {}
    for log in glob.glob(os.path.join(out, name + ".*.log")):
        pid = int(log.rsplit(".", 2)[1])
        logs[pid] = open(log, errors="replace").read().splitlines()
    main = None
    for pid, lines in logs.items():
        ppid = next((int(l.split(":")[1]) for l in lines if "== Parent PID:" in l), 0)
        if ppid not in logs:
            main = pid
        summary = [l for l in lines if "ERROR SUMMARY:" in l]
        if summary:
            if " 0 errors from" not in summary[-1]:
                problems.append("errors: " + os.path.join(out, "%s.%d.log" % (name, pid)))
        else:
            # No summary: a child that exec'd (valgrind lets go) or was
            # killed; an error it met before is in the log all the same.
            if any(l.startswith("==") and not header.match(l) for l in lines):
                problems.append("errors (no summary): " + os.path.join(out, "%s.%d.log" % (name, pid)))
    if main is None:
        problems.append("no valgrind log")
    elif fdcheck == "1":
        # Descriptors that the program opened and left open: valgrind
        # shows the stack that opened them; inherited ones (the log file,
        # whatever CI passes down) have none.  Only the test program
        # itself: forked children _exit() with the parent's descriptors.
        lines = logs[main]
        fds = [l.split("descriptor")[1].strip(" :") for i, l in enumerate(lines[:-1])
               if "Open file descriptor" in l and "    at " in lines[i + 1]]
        if fds:
            problems.append("descriptors left open at exit (%s): %s" % (
                " ".join(fds), os.path.join(out, "%s.%d.log" % (name, main))))
    if problems:
        failed = True
        print("%-18s %6s %5s  %s" % (name, "FAIL", secs, problems[0]))
        for p in problems[1:]:
            print("%-18s %6s %5s  %s" % ("", "", "", p))
        print("%-18s %6s %5s  output: %s" % ("", "", "", os.path.join(out, name + ".out")))
    else:
        print("%-18s %6s %5s  none" % (name, "ok", secs))
open(os.path.join(out, "verdict"), "w").write("FAILED\n" if failed else "ok\n")
EOF

echo "valgrind.sh: logs in $out; wall time $(($(date +%s) - t0)) s"
if [ "$(cat "$out/verdict")" != ok ]; then
	echo "valgrind.sh: FAILED: memcheck findings or failing tests above" >&2
	exit 1
fi
echo "valgrind.sh: no findings"
