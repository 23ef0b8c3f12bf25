#!/bin/sh
# install.sh -- `cmake --install` into a DESTDIR: the tree, and a program
# built against the installed library through pkg-config
#
# Usage: tests/install/install.sh BUILD
# Installs BUILD into a temporary DESTDIR, checks that every file of the
# layout (GNU folders under the configured prefix, systemd's folders from
# its pkg-config file) is there, builds a tiny client with `pkg-config
# --cflags --libs daxalloc` and runs it against the installed library,
# checks the units with systemd-analyze (verify, and an exposure of at most
# 2.0 from `security`), and installs twice to see that an operator's
# daxallocd.conf is kept.  Exits non-zero at the first failure.
set -eu
b=$(cd "${1:?usage: install.sh BUILD}" && pwd)
dest=$(mktemp -d "${TMPDIR:-/tmp}/daxalloc-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT

fail() {
	echo "install: $*" >&2
	exit 1
}

# DESTDIR comes from the environment of cmake --install.
rm -rf "$dest" && mkdir -p "$dest"
DESTDIR=$dest cmake --install "$b" >"$dest.log" 2>&1 || {
	cat "$dest.log"
	fail "cmake --install failed"
}
rm -f "$dest.log"

# What the build was configured with.
cache() {
	sed -n "s/^$1:[A-Z]*=//p" "$b/CMakeCache.txt"
}
prefix=$(cache CMAKE_INSTALL_PREFIX)
unitdir=$(cache DAXALLOC_SYSTEMD_UNITDIR)
sysusersdir=$(cache DAXALLOC_SYSUSERSDIR)
tmpfilesdir=$(cache DAXALLOC_TMPFILESDIR)
udevdir=$(cache DAXALLOC_UDEVRULESDIR)
libdir=$(cache CMAKE_INSTALL_LIBDIR)
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
etc=$prefix/etc
[ "$prefix" = /usr ] && etc=/etc

for f in \
	"$prefix/sbin/daxallocd" \
	"$prefix/bin/daxallocctl" \
	"$libdir/libdaxalloc.so" \
	"$libdir/libdaxalloc.so.1" \
	"$libdir/pkgconfig/daxalloc.pc" \
	"$prefix/include/daxalloc.h" \
	"$unitdir/daxallocd.service" \
	"$unitdir/daxallocd.socket" \
	"$unitdir/daxallocd-control.socket" \
	"$sysusersdir/daxallocd.conf" \
	"$tmpfilesdir/daxallocd.conf" \
	"$udevdir/60-daxallocd.rules" \
	"$etc/daxallocd.conf" \
	"$prefix/share/man/man8/daxallocd.8" \
	"$prefix/share/man/man8/daxallocctl.8" \
	"$prefix/share/man/man5/daxallocd.conf.5" \
	"$prefix/share/man/man3/libdaxalloc.3" \
	"$prefix/share/bash-completion/completions/daxallocctl" \
	"$prefix/share/doc/daxallocd/README.md"; do
	[ -e "$dest$f" ] || fail "missing $f"
done
[ -x "$dest$prefix/sbin/daxallocd" ] || fail "daxallocd is not executable"
# The shared library's real file, its soname link and its dev link.
real=$(readlink -f "$dest$libdir/libdaxalloc.so")
[ -f "$real" ] || fail "libdaxalloc.so points nowhere"
soname=$(objdump -p "$real" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libdaxalloc.so.1 ] || fail "soname is '$soname'"
# Nothing of the build's own folders leaks into what is installed: no
# RPATH/RUNPATH into it, no text file naming it (debug information may).
for f in "$dest$prefix/sbin/daxallocd" "$dest$prefix/bin/daxallocctl" "$real"; do
	if objdump -p "$f" | grep -E 'R(UN)?PATH' | grep -q "$b"; then
		fail "$f has a run path into the build folder"
	fi
done
if grep -rlI "$b" "$dest" >/dev/null 2>&1; then
	fail "installed text files mention the build folder: $(grep -rlI "$b" "$dest" | head -3)"
fi
echo "install: layout ok under $prefix ($(find "$dest" -type f | wc -l) files)"

# A client program built the way a database would, against the install.
cat >"$dest/prog.c" <<'PROG'
#include <errno.h>
#include <stdio.h>
#include <daxalloc.h>

int main(int argc, char **argv)
{
	struct daxalloc *dx;
	int r = daxalloc_connect(argv[1], &dx);

	/* Nobody listens there: the library must say so, not crash. */
	printf("install: the installed library says: %s\n", daxalloc_strerror(r));
	return r == -ENOENT || r == -ECONNREFUSED ? 0 : 1;
}
PROG
export PKG_CONFIG_SYSROOT_DIR=$dest
# First the install, then the system (for Requires.private: libprotobuf-c).
export PKG_CONFIG_PATH=$dest$libdir/pkgconfig
flags=$(pkg-config --cflags --libs daxalloc) || fail "pkg-config daxalloc failed"
# shellcheck disable=SC2086 # word splitting of the flags is wanted
cc -Wall -Werror -o "$dest/prog" "$dest/prog.c" $flags ||
	fail "cannot build against the installed library ($flags)"
LD_LIBRARY_PATH=$dest$libdir "$dest/prog" "$dest/none.sock" ||
	fail "the program built against the install failed"
ldd_lib=$(LD_LIBRARY_PATH=$dest$libdir ldd "$dest/prog" | awk '/libdaxalloc/ { print $3 }')
case $ldd_lib in "$dest"*) ;; *) fail "the program loads $ldd_lib, not the install's" ;; esac
echo "install: a program builds with 'pkg-config --cflags --libs daxalloc' and runs"

# The units: systemd-analyze verify on copies whose programs point into
# DESTDIR (the real paths exist only once installed; the devdax guest
# verifies them there, man pages included), and the exposure figure.
if command -v systemd-analyze >/dev/null 2>&1; then
	u=$dest/units
	mkdir -p "$u"
	for f in daxallocd.service daxallocd.socket daxallocd-control.socket; do
		sed "s|^ExecStart=$prefix|ExecStart=$dest$prefix|" "$dest$unitdir/$f" >"$u/$f"
	done
	out=$(cd "$u" && systemd-analyze verify --man=no daxallocd.service \
		daxallocd.socket daxallocd-control.socket 2>&1) || true
	# Messages about this machine's units (no systemd as PID 1) are not ours.
	ours=$(printf '%s\n' "$out" | grep -E '^daxallocd' || true)
	[ -z "$ours" ] || fail "systemd-analyze verify: $ours"
	exp=$(systemd-analyze security --offline=true --no-pager \
		"$u/daxallocd.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for daxallocd.service: \([0-9.]*\).*/\1/p')
	[ -n "$exp" ] || fail "no exposure figure from systemd-analyze security"
	awk -v e="$exp" 'BEGIN { exit !(e <= 2.0) }' ||
		fail "exposure $exp is above 2.0"
	echo "install: systemd-analyze verify clean; security exposure $exp"
else
	echo "install: no systemd-analyze here: units not verified"
fi

# An operator's configuration survives a reinstall.
echo "# mine" >>"$dest$etc/daxallocd.conf"
DESTDIR=$dest cmake --install "$b" >/dev/null 2>&1 || fail "second install failed"
tail -n 1 "$dest$etc/daxallocd.conf" | grep -q '^# mine$' ||
	fail "a reinstall overwrote $etc/daxallocd.conf"
echo "install: a reinstall keeps $etc/daxallocd.conf"
