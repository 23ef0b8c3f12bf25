#!/bin/sh
# systemd.sh -- in the systemd guest: daxallocd as an installed service
#
# Usage (from the host):
#     tests/devdax/run.sh -S build/devdax -- sh tests/devdax/systemd.sh BUILD
# Runs as devdax-test.service with systemd as PID 1.  Installs the build
# (cmake --install, then what a package's postinst does: sysusers,
# tmpfiles, udev), names the namespace in the installed daxallocd.conf by
# its ndctl name, and checks: systemd-analyze verify of the installed
# units; a socket-activated start (daxallocctl's connection starts the
# service); a client writing and reading an extent through the daemon
# running as user daxalloc; a refused connection from outside the group;
# systemctl restart keeping the extent and its data; systemctl reload
# with a changed file; SIGSTOP of the daemon leading to a watchdog restart
# by systemd; the daemon's lines in journalctl -u daxallocd with their
# priorities; and a clean stop.  Exits non-zero at the first failure.
set -eu
b=${1:?usage: systemd.sh BUILD}
here=$(cd "$(dirname "$0")" && pwd)
demo=$b/client/examples/daxalloc-demo
t0=$(date +%s.%N)

step() {
	printf '== %s (%.1f s)\n' "$*" "$(echo "$(date +%s.%N) - $t0" | bc)"
}
fail() {
	echo "systemd: FAILED: $*"
	systemctl status --no-pager daxallocd.service 2>&1 | tail -n 20 || true
	journalctl -u daxallocd --no-pager 2>&1 | tail -n 30 || true
	exit 1
}
# wait_for SECONDS CMD... -- until CMD succeeds, or fail
wait_for() {
	n=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}
mainpid() {
	systemctl show -p MainPID --value daxallocd.service
}

step "namespace"
sh "$here/mkns.sh" >/dev/null

step "install"
cmake --install "$b" >/tmp/install.log 2>&1 || { cat /tmp/install.log; fail "cmake --install"; }
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:[A-Z]*=//p' "$b/CMakeCache.txt")
etc=$prefix/etc
[ "$prefix" = /usr ] && etc=/etc
ctl=$prefix/bin/daxallocctl
systemd-sysusers
systemd-tmpfiles --create
udevadm control --reload
udevadm trigger --subsystem-match=dax --subsystem-match=nd --action=add
udevadm settle
systemctl daemon-reload
getent passwd daxalloc >/dev/null || fail "no user daxalloc after systemd-sysusers"
[ "$(stat -c %U /dev/dax0.0)" = daxalloc ] ||
	fail "/dev/dax0.0 is $(stat -c %U:%G /dev/dax0.0), not daxalloc's (udev rule)"

step "verify the installed units"
out=$(systemd-analyze verify daxallocd.service daxallocd.socket \
	daxallocd-control.socket 2>&1) || true
[ -z "$out" ] || fail "systemd-analyze verify: $out"
systemd-analyze security --no-pager daxallocd.service | tail -n 1

step "format, configure by namespace name"
$prefix/sbin/daxallocd --device /dev/dax0.0 --format --config /dev/null >/tmp/format.log 2>&1 ||
	{ cat /tmp/format.log; fail "format"; }
ns=$(ndctl list -N | sed -n 's/.*"dev":"\(namespace[0-9.]*\)".*/\1/p' | head -n 1)
[ -n "$ns" ] || fail "no namespace name from ndctl"
cat >"$etc/daxallocd.conf" <<CONF
[daemon]
device = $ns
[limits]
lease_break_time = 45
CONF
# Quicker than 30 s for the watchdog step; everything else as installed.
mkdir -p /run/systemd/system/daxallocd.service.d
printf '[Service]\nWatchdogSec=4s\nTimeoutStopSec=10s\n' \
	>/run/systemd/system/daxallocd.service.d/test.conf
systemctl daemon-reload

step "socket activation"
systemctl start daxallocd.socket daxallocd-control.socket
[ "$(systemctl is-active daxallocd.service)" = inactive ] ||
	fail "daxallocd started before anyone connected"
$ctl status >/tmp/status.txt 2>&1 || { cat /tmp/status.txt; fail "first daxallocctl status"; }
systemctl is-active --quiet daxallocd.service || fail "the connection did not start the service"
journalctl -u daxallocd --no-pager | grep -q "cannot read bad blocks" &&
	fail "the service cannot read the device's bad blocks"
journalctl -u daxallocd --no-pager | grep -q "control socket, from systemd" ||
	fail "the daemon did not take its sockets from systemd"
[ "$(ps -o user= -p "$(mainpid)")" = daxalloc ] || fail "the daemon does not run as daxalloc"
grep -q "^Cap.*" /proc/"$(mainpid)"/status
capeff=$(sed -n 's/^CapEff:\t//p' /proc/"$(mainpid)"/status)
[ "$capeff" = 0000000000000020 ] || fail "effective capabilities $capeff, not CAP_KILL alone"

step "a client writes and reads through the service"
$demo write sd
$demo read sd
# Outside group daxalloc: the socket file's mode refuses the connection.
if setpriv --reuid=nobody --regid=nogroup --clear-groups $demo read sd >/tmp/nobody.txt 2>&1; then
	fail "nobody could connect to the client socket"
fi
grep -qi "permission denied" /tmp/nobody.txt || { cat /tmp/nobody.txt; fail "nobody: not refused by permissions"; }
$ctl check

step "systemctl restart keeps the extent"
old=$(mainpid)
systemctl restart daxallocd.service
[ "$(mainpid)" != "$old" ] || fail "restart kept pid $old"
$demo read sd
$ctl check

step "systemctl reload"
printf '[daemon]\ndevice = %s\nsocket = /run/daxallocd/other.sock\n[limits]\nlease_break_time = 30\n' \
	"$ns" >"$etc/daxallocd.conf"
systemctl reload daxallocd.service
wait_for 10 sh -c "journalctl -u daxallocd --no-pager | grep -q 'change in force'" ||
	fail "no reload in the journal"
journalctl -u daxallocd --no-pager | grep -q "reload: 'lease_break_time' changed" ||
	fail "reload did not apply lease_break_time"
journalctl -u daxallocd --no-pager | grep -q "reload: 'socket' changed; it takes effect at the next start" ||
	fail "reload did not say that 'socket' waits for a restart"
printf '[daemon]\ndevice = %s\n[limits]\nlease_break_time = 0\n' "$ns" >"$etc/daxallocd.conf"
systemctl reload daxallocd.service
wait_for 10 sh -c "journalctl -u daxallocd --no-pager | grep -q 'the running configuration stays'" ||
	fail "a bad file was not rejected on reload"
systemctl is-active --quiet daxallocd.service || fail "a bad reload stopped the service"
printf '[daemon]\ndevice = %s\n' "$ns" >"$etc/daxallocd.conf"

step "watchdog: SIGSTOP the daemon"
old=$(mainpid)
kill -STOP "$old"
wait_for 60 sh -c "[ \"\$(systemctl show -p MainPID --value daxallocd.service)\" != $old ] &&
	systemctl is-active --quiet daxallocd.service" ||
	fail "systemd did not restart the stopped daemon"
journalctl -u daxallocd --no-pager | grep -q "Watchdog timeout" ||
	fail "the restart was not the watchdog's"
wait_for 10 $ctl status || fail "no daemon after the watchdog restart"
$demo read sd
$ctl check

step "journal"
journalctl -u daxallocd -o json --no-pager | grep -q '"PRIORITY":"5".*daxallocd ready\|daxallocd ready.*"PRIORITY":"5"' ||
	fail "no 'daxallocd ready' at priority notice in the journal"
journalctl -u daxallocd -p warning --no-pager | grep -q "it takes effect at the next start" ||
	fail "warnings are not logged at priority warning"
journalctl -u daxallocd --no-pager -n 12 -o short-monotonic
systemctl status --no-pager daxallocd.service | sed -n '1,6p'

step "status"
$ctl status

step "stop"
systemctl stop daxallocd.service
journalctl -u daxallocd --no-pager | grep -q "daxallocd stopped" || fail "no clean stop"
$prefix/sbin/daxallocd --device /dev/dax0.0 --check --config /dev/null >/tmp/check.log 2>&1 ||
	{ cat /tmp/check.log; fail "offline check after the stop"; }
step "systemd: ok"
