#!/bin/sh
# mkns.sh -- in the guest: a devdax namespace on the emulated NVDIMM
#
# Usage: mkns.sh [ALIGN]   (default 2M)
# A fresh image has no labels: initialise them, then create one devdax
# namespace over the whole region; an image that already has one keeps it
# (its data is what a persistence test looks for).  Waits for /dev/dax0.0
# (devtmpfs, no udev).
set -eu
align=${1:-2M}
if ! ndctl list -N 2>/dev/null | grep -q '"mode":"devdax"'; then
	ndctl disable-region all >/dev/null
	ndctl init-labels -f all >/dev/null
	ndctl enable-region all >/dev/null
	ndctl create-namespace -r region0 -m devdax -a "$align" >/dev/null
fi
i=0
while [ ! -c /dev/dax0.0 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -c /dev/dax0.0 ] || { echo "mkns.sh: no /dev/dax0.0" >&2; exit 1; }
daxctl list
