#!/bin/sh
# prepare.sh -- the devdax guest's kernel and initramfs, cached in DIR
#
# Usage: tests/devdax/prepare.sh DIR
#
# Downloads Debian's kernel package with apt-get download (never installs
# it on the host), unpacks it into DIR/kernel, builds its modules.dep and
# an initramfs of busybox-static, the modules the guest needs and
# tests/devdax/init.  A second run with everything in place does nothing.
set -eu

dir=${1:?usage: prepare.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# In load order (modprobe --show-depends of the leaves gives the same).
mods="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
9pnet 9pnet_virtio netfs fscache 9p overlay libnvdimm nfit nd_btt nd_pmem
device_dax dax_pmem"

for t in qemu-system-x86_64 busybox depmod modprobe cpio ndctl daxctl; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "prepare.sh: $t is missing (scripts/deps.sh --devdax installs it)" >&2
		exit 3
	}
done

resolve() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(resolve)
# A machine whose package lists were never fetched (or were cleaned).
if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(resolve)
fi
[ -n "$pkg" ] || { echo "prepare.sh: cannot resolve linux-image-amd64 (apt-get update?)" >&2; exit 3; }
ver=${pkg#linux-image-}

if [ ! -f "$dir/kernel/$ver.ok" ]; then
	rm -rf "$dir/kernel" "$dir/deb"
	mkdir -p "$dir/deb"
	(cd "$dir/deb" && apt-get download "$pkg" >/dev/null 2>&1) || {
		echo "prepare.sh: apt-get download $pkg failed" >&2
		exit 3
	}
	dpkg -x "$dir"/deb/*.deb "$dir/kernel"
	rm -rf "$dir/deb"
	depmod -b "$dir/kernel" "$ver"
	touch "$dir/kernel/$ver.ok"
fi
kdir=$dir/kernel/lib/modules/$ver

if [ ! -f "$dir/initramfs.cpio" ] || [ "$here/init" -nt "$dir/initramfs.cpio" ] ||
	[ "$dir/kernel/$ver.ok" -nt "$dir/initramfs.cpio" ]; then
	root=$dir/initramfs.d
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/lib/modules"
	cp "$(command -v busybox)" "$root/bin/busybox"
	cp "$here/init" "$root/init"
	chmod 755 "$root/init"
	: >"$root/modules.order"
	for m in $mods; do
		f=$(modprobe -C /dev/null -d "$dir/kernel" -S "$ver" \
			--show-depends "$m" | awk '$1 == "insmod" { p = $2 } END { print p }')
		[ -n "$f" ] || { echo "prepare.sh: no module $m" >&2; exit 3; }
		base=$(basename "$f")
		cp "$f" "$root/lib/modules/$base"
		echo "$base" >>"$root/modules.order"
	done
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$dir/initramfs.cpio.new"
	mv "$dir/initramfs.cpio.new" "$dir/initramfs.cpio"
	rm -rf "$root"
fi
ln -sf "kernel/boot/vmlinuz-$ver" "$dir/vmlinuz"

# The uncompressed ELF vmlinux boots through PVH, about 2.5 s faster under
# TCG than the bzImage decompressing itself.  Debian compresses it with
# xz: decompress from the stream's magic (xz complains of the bytes after
# the stream; the ELF magic says whether it worked).  run.sh falls back to
# the bzImage when there is none.
if [ ! -f "$dir/vmlinux" ] || [ "$dir/kernel/$ver.ok" -nt "$dir/vmlinux" ]; then
	rm -f "$dir/vmlinux"
	z=$dir/kernel/boot/vmlinuz-$ver
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$z" 2>/dev/null | head -n 1 | cut -d: -f1)
	if [ -n "$off" ] && command -v xz >/dev/null 2>&1; then
		tail -c +$((off + 1)) "$z" | xz -dc >"$dir/vmlinux.new" 2>/dev/null || true
		if [ "$(head -c 4 "$dir/vmlinux.new" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
			mv "$dir/vmlinux.new" "$dir/vmlinux"
		else
			echo "prepare.sh: no vmlinux in $z; booting the bzImage" >&2
		fi
	fi
	rm -f "$dir/vmlinux.new"
fi
echo "$ver" >"$dir/version"
