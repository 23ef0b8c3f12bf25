#!/bin/sh
# huge.sh -- in the guest: daxallocd on a 1 GiB-aligned devdax namespace
#
# Usage (from the host, on an image of 3 GiB or more):
#     tests/devdax/run.sh -i IMAGE -s 3074M build/devdax -- \
#         sh tests/devdax/huge.sh BUILD
# Creates the namespace with 1 GiB alignment, formats it, checks that the
# daemon took the namespace's alignment as its unit, touches every byte of
# a 1 GiB extent (one 1 GiB page: about one fault, where 2 MiB pages need
# 512), and runs daxallocctl check.  Exits non-zero at the first failure.
set -eu
b=${1:?usage: huge.sh BUILD}
here=$(cd "$(dirname "$0")" && pwd)
d=/tmp/daxalloc
mkdir -p $d
export DAXALLOC_SOCKET=$d/daxalloc.sock DAXALLOC_CONTROL_SOCKET=$d/control.sock
ctl=$b/client/ctl/daxallocctl

sh "$here/mkns.sh" 1G >/dev/null
[ "$(cat /sys/bus/dax/devices/dax0.0/align)" = 1073741824 ] ||
	{ echo "huge: dax0.0 is not 1 GiB-aligned"; exit 1; }
$b/daemon/daxallocd --device /dev/dax0.0 --config /dev/null --format >$d/format.log 2>&1
$b/daemon/daxallocd --device /dev/dax0.0 --config /dev/null \
	--socket $DAXALLOC_SOCKET --control-socket $DAXALLOC_CONTROL_SOCKET \
	>$d/daxallocd.log 2>&1 &
pid=$!
i=0
until $ctl status >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "huge: daemon did not start"; cat $d/daxallocd.log; exit 1; }
	sleep 0.1
done
$ctl status
$ctl status --json | grep -q '"unit":1073741824' ||
	{ echo "huge: the pool's unit is not 1 GiB"; exit 1; }
$b/tests/devdax/devdax_faults 1024 1024
$ctl check
kill $pid
wait $pid 2>/dev/null || true
echo "huge: ok"
