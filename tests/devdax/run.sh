#!/bin/sh
# run.sh -- run a command inside a throw-away guest with a real devdax
# namespace's emulated NVDIMM
#
# Usage: tests/devdax/run.sh [-t SECONDS] [-i IMAGE] [-s SIZE] [-f] [-I|-S] DIR -- CMD...
#
# DIR is the cache prepare.sh fills (it is run first).  The guest's root
# is the host's, read-only over 9p; DIR's build folder (DIR/..) is shared
# read-write at the same path, the source tree read-only at its; IMAGE (default DIR/nvdimm.img, SIZE 1026M,
# created sparse if missing; -f empties it first) backs the NVDIMM and is
# flock'ed for the run.  CMD runs as root in the guest under /bin/sh, in
# DIR/NAME.result (NAME: IMAGE's base name without .img); its output comes
# out on our stdout, the kernel's in DIR/NAME.console.log.
#
# -S (systemd): systemd is PID 1, on a root that is a tmpfs overlay over
# the host's, and CMD runs as devdax-test.service (units/) once the journal
# and udev are up; the guest gets 3 GiB of memory.
#
# -I (interactive): CMD gets our terminal as its controlling terminal
# (e.g. `-- bash`); no timeout unless -t is given.  Leave with `exit`, or
# Ctrl-A x to stop qemu.
#
# Exit status: CMD's, or 124 timed out, 125 the guest gave no status,
# 126 qemu could not start (CTest: skip), 127 usage or preparation.
set -u

timeout=300
tgiven=
img=
size=1026M
fresh=
interactive=
systemd=
while getopts t:i:s:fIS o; do
	case $o in
	t) timeout=$OPTARG; tgiven=1 ;;
	i) img=$OPTARG ;;
	s) size=$OPTARG ;;
	f) fresh=1 ;;
	I) interactive=1 ;;
	S) systemd=1 ;;
	*) exit 127 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] && [ "$2" = "--" ] || {
	echo "usage: run.sh [-t S] [-i IMAGE] [-s SIZE] [-f] [-I|-S] DIR -- CMD..." >&2
	exit 127
}
dir=$1
shift 2
here=$(cd "$(dirname "$0")" && pwd)
"$here/prepare.sh" "$dir" || exit 127
dir=$(cd "$dir" && pwd)
build=$(cd "$dir/.." && pwd)
src=$(cd "$here/../.." && pwd)
[ -n "$img" ] || img=$dir/nvdimm.img
name=$(basename "$img" .img)
res=$dir/$name.result
console=$dir/$name.console.log
[ -n "$interactive" ] && [ -z "$tgiven" ] && timeout=0

# Real KVM only: kvm_pvm (nested, software) crawls or dies under a stock kernel.
accel=tcg
if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
	accel=kvm
fi
# The ELF vmlinux boots through PVH without decompressing itself.
kernel=$dir/vmlinux
[ -f "$kernel" ] || kernel=$dir/vmlinuz

[ -f "$img" ] || truncate -s "$size" "$img" || exit 127
# One run per image: qemu itself does not lock the backing file.  The
# result folder and console log are the image's, so they are ours too.
exec 9<"$img"
flock -n 9 || { echo "run.sh: $img is in use by another run" >&2; exit 127; }
if [ -n "$fresh" ]; then
	# The same inode, so the lock stays ours; its old blocks are freed.
	truncate -s 0 "$img" && truncate -s "$size" "$img" || exit 127
fi

rm -rf "$res"
mkdir -p "$res"
{
	echo 'set -e'
	printf 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n'
	printf 'export DEVDAX_BUILD=%s\n' "$build"
	[ -n "$interactive" ] && printf 'export TERM=%s\n' "${TERM:-vt100}"
	printf '%s ' "$@"
	echo
} >"$res/cmd.sh"

# Memory-device space for the NVDIMM: guest RAM plus the image, in GiB.
# systemd's guest keeps the installed files in RAM (the overlay's upper).
ram=2
[ -n "$systemd" ] && ram=3
imgsz=$(stat -c %s "$img")
maxmem=$((ram + (imgsz + (1 << 30) - 1) / (1 << 30)))G

# The source and build folders are shared at their own paths, so that
# they are there even where the guest has its own tmpfs (a clone in /tmp).
cmdline="console=ttyS0 quiet panic=-1 devdax.build=$build devdax.src=$src"
# Interactive: Ctrl-C goes to the guest, not to qemu.
serial="-serial stdio"
[ -n "$systemd" ] && cmdline="$cmdline devdax.systemd=1"
if [ -n "$interactive" ]; then
	cmdline="$cmdline devdax.interactive=1"
	serial="-chardev stdio,id=con,signal=off -serial chardev:con"
fi
# Not interactive: qemu must not read the caller's stdin (CTest's, a pipe).
[ -n "$interactive" ] || exec </dev/null
start=$(date +%s.%N)
# shellcheck disable=SC2086 # $serial is two options
timeout --foreground -k 5 "$timeout" qemu-system-x86_64 \
	-machine pc,accel=$accel,nvdimm=on -cpu max -smp 2 \
	-m ${ram}G,slots=4,maxmem=$maxmem -nographic -no-reboot \
	-kernel "$kernel" -initrd "$dir/initramfs.cpio" -append "$cmdline" \
	-fsdev local,id=fsroot,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=fsroot,mount_tag=hostroot \
	-fsdev local,id=fsres,path="$res",security_model=none,multidevs=remap \
	-device virtio-9p-pci,fsdev=fsres,mount_tag=result \
	-fsdev local,id=fsbuild,path="$build",security_model=none,multidevs=remap \
	-device virtio-9p-pci,fsdev=fsbuild,mount_tag=build \
	-fsdev local,id=fssrc,path="$src",security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=fssrc,mount_tag=src \
	-object memory-backend-file,id=mem1,share=on,mem-path="$img",size=$imgsz,align=2M \
	-device nvdimm,id=nvdimm1,memdev=mem1,label-size=128K \
	-serial file:"$console" $serial -monitor none
q=$?
end=$(date +%s.%N)
echo "run.sh: guest ran $(echo "$end - $start" | bc 2>/dev/null || echo '?') s ($accel)" >&2
[ $q -eq 124 ] || [ $q -eq 137 ] && { echo "run.sh: timed out after $timeout s" >&2; exit 124; }
if [ ! -s "$res/status" ]; then
	if [ $q -ne 0 ] && ! grep -q "Linux version" "$console" 2>/dev/null; then
		echo "run.sh: qemu could not start (exit $q)" >&2
		exit 126
	fi
	echo "run.sh: the guest gave no status (see $console)" >&2
	exit 125
fi
exit "$(cat "$res/status")"
