#!/bin/sh
# run.sh -- run a command inside a throw-away guest with a real devdax
# namespace's emulated NVDIMM
#
# Usage: tests/devdax/run.sh [-t SECONDS] [-i IMAGE] [-s SIZE] DIR -- CMD...
#
# DIR is the cache prepare.sh filled (it is run first).  The guest's root
# is the host's, read-only over 9p; DIR's build folder (DIR/..) is shared
# read-write at the same path; IMAGE (default DIR/nvdimm.img, SIZE 1026M,
# created sparse if missing) backs the NVDIMM and is flock'ed for the run.
# CMD runs as root in the guest under /bin/sh, in DIR/result; its output
# comes out on our stdout, the kernel's in DIR/console.log.
#
# Exit status: CMD's, or 124 timed out, 125 the guest gave no status,
# 126 qemu could not start (CTest: skip), 127 usage or preparation.
set -u

timeout=300
img=
size=1026M
while getopts t:i:s: o; do
	case $o in
	t) timeout=$OPTARG ;;
	i) img=$OPTARG ;;
	s) size=$OPTARG ;;
	*) exit 127 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] && [ "$2" = "--" ] || {
	echo "usage: run.sh [-t S] [-i IMAGE] [-s SIZE] DIR -- CMD..." >&2
	exit 127
}
dir=$1
shift 2
here=$(cd "$(dirname "$0")" && pwd)
"$here/prepare.sh" "$dir" || exit 127
dir=$(cd "$dir" && pwd)
build=$(cd "$dir/.." && pwd)
[ -n "$img" ] || img=$dir/nvdimm.img

# Real KVM only: kvm_pvm (nested, software) crawls or dies under a stock kernel.
accel=tcg
if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
	accel=kvm
fi

res=$dir/result
rm -rf "$res"
mkdir -p "$res"
{
	echo 'set -e'
	printf 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n'
	printf 'export DEVDAX_BUILD=%s\n' "$build"
	printf '%s ' "$@"
	echo
} >"$res/cmd.sh"

[ -f "$img" ] || truncate -s "$size" "$img" || exit 127

# One run per image: qemu itself does not lock the backing file.
exec 9<"$img"
flock -n 9 || { echo "run.sh: $img is in use by another run" >&2; exit 127; }

cmdline="console=ttyS0 quiet panic=-1 devdax.build=$build"
start=$(date +%s.%N)
timeout --foreground -k 5 "$timeout" qemu-system-x86_64 \
	-machine pc,accel=$accel,nvdimm=on -cpu max -smp 2 \
	-m 2G,slots=4,maxmem=4G -nographic -no-reboot \
	-kernel "$dir/vmlinuz" -initrd "$dir/initramfs.cpio" -append "$cmdline" \
	-fsdev local,id=fsroot,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=fsroot,mount_tag=hostroot \
	-fsdev local,id=fsres,path="$res",security_model=none,multidevs=remap \
	-device virtio-9p-pci,fsdev=fsres,mount_tag=result \
	-fsdev local,id=fsbuild,path="$build",security_model=none,multidevs=remap \
	-device virtio-9p-pci,fsdev=fsbuild,mount_tag=build \
	-object memory-backend-file,id=mem1,share=on,mem-path="$img",size=$(stat -c %s "$img"),align=2M \
	-device nvdimm,id=nvdimm1,memdev=mem1,label-size=128K \
	-serial file:"$dir/console.log" -serial stdio -monitor none \
	</dev/null
q=$?
end=$(date +%s.%N)
echo "run.sh: guest ran $(echo "$end - $start" | bc 2>/dev/null || echo '?') s ($accel)" >&2
[ $q -eq 124 ] || [ $q -eq 137 ] && { echo "run.sh: timed out after $timeout s" >&2; exit 124; }
if [ ! -s "$res/status" ]; then
	if [ $q -ne 0 ] && ! grep -q "Linux version" "$dir/console.log" 2>/dev/null; then
		echo "run.sh: qemu could not start (exit $q)" >&2
		exit 126
	fi
	echo "run.sh: the guest gave no status (see $dir/console.log)" >&2
	exit 125
fi
exit "$(cat "$res/status")"
