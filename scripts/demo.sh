#!/usr/bin/env bash
# demo.sh -- install what is missing, build, start daxallocd on the embedded
# default (a file pool in ./daxalloc-local, created on first use) and show a
# client and daxallocctl talking to it.  The daemon keeps running afterwards;
# `scripts/demo.sh stop` stops it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
dir=${DAXALLOC_LOCAL:-$top/daxalloc-local}
pidfile=$dir/daxallocd.pid

stop_daemon() {
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        kill -TERM "$(cat "$pidfile")"
        for _ in $(seq 50); do
            kill -0 "$(cat "$pidfile")" 2>/dev/null || break
            sleep 0.1
        done
        echo "demo: stopped daxallocd (pid $(cat "$pidfile"))"
    fi
    rm -f "$pidfile"
}

if [ "${1:-}" = stop ]; then
    stop_daemon
    exit 0
fi

"$top/scripts/deps.sh"
"$top/scripts/build.sh"

stop_daemon
mkdir -p "$dir"
"$build/daemon/daxallocd" --local="$dir" >>"$dir/daxallocd.log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 100); do
    [ -S "$dir/control.sock" ] && break
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { cat "$dir/daxallocd.log"; exit 1; }
    sleep 0.05
done

export DAXALLOC_SOCKET=$dir/daxalloc.sock
export DAXALLOC_CONTROL_SOCKET=$dir/control.sock
ctl=$build/client/ctl/daxallocctl

echo "== daxallocd $("$build/daemon/daxallocd" --version | cut -d' ' -f2) running as pid $(cat "$pidfile"), log in $dir/daxallocd.log"
echo
demo=$build/client/examples/daxalloc-demo
echo "== a libdaxalloc client connects and says Hello"
"$demo"
echo
echo "== process 1 allocates the named extent 'demo' and writes through its mapping"
"$demo" write demo
echo
echo "== process 2 opens 'demo' read-only and reads back what process 1 wrote"
"$demo" read demo
echo
echo "== daxallocctl list extents"
"$ctl" list extents
echo
echo "== daxallocctl status"
"$ctl" status
echo
echo "== daxallocctl status --json"
"$ctl" status --json
cat <<MSG

The daemon keeps running. Try:
  DAXALLOC_CONTROL_SOCKET=$dir/control.sock $ctl status --json
Stop it with:
  scripts/demo.sh stop
MSG
