#!/bin/sh
# persist.sh -- data on the NVDIMM survives a power-off (host side)
#
# Usage: tests/devdax/persist.sh DIR BUILD
# Boot 1, on a fresh image: create the namespace, format, start the
# daemon, write a named extent, and power the guest off with the daemon
# still running (poweroff -f: no clean shutdown).  Boot 2, a new guest on
# the same image: start the daemon (recovery), read the extent back
# through a mapping, daxallocctl check.  Exit as run.sh.
set -u
dir=${1:?usage: persist.sh DIR BUILD}
b=${2:?usage: persist.sh DIR BUILD}
here=$(cd "$(dirname "$0")" && pwd)
img=$dir/persist.img

guest='set -e
d=/tmp/daxalloc; mkdir -p $d
export DAXALLOC_SOCKET=$d/s DAXALLOC_CONTROL_SOCKET=$d/c
sh '$here'/mkns.sh >/dev/null
[ "$1" = write ] && '$b'/daemon/daxallocd --device /dev/dax0.0 --config /dev/null --format >/dev/null 2>&1
'$b'/daemon/daxallocd --device /dev/dax0.0 --config /dev/null --socket $d/s --control-socket $d/c >$d/log 2>&1 &
i=0; until '$b'/client/ctl/daxallocctl status >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 100 ]; sleep 0.1; done
'$b'/client/examples/daxalloc-demo $1 persist
'$b'/client/ctl/daxallocctl check
grep -E "recover|replay|clean" $d/log || true'

mkdir -p "$dir"
rm -f "$img"
printf '%s\n' "$guest" >"$dir/persist-guest.sh"
"$here/run.sh" -t 240 -i "$img" "$dir" -- sh "$dir/persist-guest.sh" write || exit $?
echo "persist.sh: guest powered off with the daemon running; booting a new one"
"$here/run.sh" -t 240 -i "$img" "$dir" -- sh "$dir/persist-guest.sh" read
r=$?
rm -f "$img" "$dir/persist-guest.sh"
exit $r
