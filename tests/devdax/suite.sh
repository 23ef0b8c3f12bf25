#!/bin/sh
# suite.sh -- in the guest: integration programs against /dev/dax0.0
#
# Usage: suite.sh BUILD PROGRAM...   (e.g. test_rule)
# Each program of build/tests/integration runs with DAXALLOC_TEST_DEVICE
# set, so its harness formats the namespace once and starts daxallocd on
# it instead of on a file pool.  Stops at the first failure.
set -eu
b=${1:?usage: suite.sh BUILD PROGRAM...}
shift
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/mkns.sh" >/dev/null 2>&1
export DAXALLOC_TEST_DEVICE=/dev/dax0.0
# Scenarios are slower under TCG: lease breaks must not expire mid-step.
export DAXALLOC_TEST_BREAK_S=15
export DAXALLOCD=$b/daemon/daxallocd DAXALLOCCTL=$b/client/ctl/daxallocctl
for t in "$@"; do
	echo "suite: $t on $DAXALLOC_TEST_DEVICE"
	"$b/tests/integration/$t"
done
