#!/bin/sh
# smoke.sh -- in the guest: daxallocd on /dev/dax0.0, end to end
#
# Usage (from the host): tests/devdax/run.sh build/devdax -- \
#     sh tests/devdax/smoke.sh BUILD
# Formats the namespace, starts the daemon on it, has one process write a
# named extent through its mapping and another read it back, kills the
# daemon with SIGKILL, restarts it, reads again, touches every byte of a
# 512 MiB extent counting page faults (devdax_faults), and runs daxallocctl
# check after each step.  Exits non-zero at the first failure.
set -eu
b=${1:?usage: smoke.sh BUILD}
here=$(cd "$(dirname "$0")" && pwd)
d=/tmp/daxalloc
mkdir -p $d
export DAXALLOC_SOCKET=$d/daxalloc.sock DAXALLOC_CONTROL_SOCKET=$d/control.sock
ctl=$b/client/ctl/daxallocctl
demo=$b/client/examples/daxalloc-demo

sh "$here/mkns.sh" >/dev/null
$b/daemon/daxallocd --device /dev/dax0.0 --config /dev/null --format >$d/format.log 2>&1

start() {
	$b/daemon/daxallocd --device /dev/dax0.0 --config /dev/null \
		--socket $DAXALLOC_SOCKET --control-socket $DAXALLOC_CONTROL_SOCKET \
		>>$d/daxallocd.log 2>&1 &
	pid=$!
	i=0
	until $ctl status >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "smoke: daemon did not start"; cat $d/daxallocd.log; exit 1; }
		sleep 0.1
	done
}

start
$ctl status | grep -q 'device *\/dev\/dax0.0'
$demo write smoke
$demo read smoke
$ctl check
kill -9 $pid
wait $pid 2>/dev/null || true
start
$demo read smoke
$ctl check
# Huge mappings: a fully touched 512 MiB extent, about one fault per 2 MiB.
$b/tests/devdax/devdax_faults 512
$ctl check
$ctl status
kill $pid
wait $pid 2>/dev/null || true
echo "smoke: ok"
