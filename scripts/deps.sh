#!/usr/bin/env bash
# deps.sh -- install the Debian 12 packages daxallocd needs to build and run.
#
# Idempotent and quick when everything is there: it asks dpkg first and only
# calls apt-get for what is missing.  Uses sudo when not run as root.
# groff-base lints the man pages and systemd's systemd-analyze checks the
# units.  --devdax adds what the devdax guests of tests/devdax/ need (qemu,
# ndctl, daxctl, busybox-static, kmod, cpio, xz-utils, bc, and udev for the
# guest that runs the service under systemd); the guest's kernel is
# downloaded by tests/devdax/prepare.sh, never installed.  --test adds to
# that the robustness tools (clang's libFuzzer, valgrind, gcovr): what
# scripts/test.sh needs for the whole suite.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    protobuf-c-compiler libprotobuf-c-dev
    libev-dev
    libpmem2-dev libndctl-dev libdaxctl-dev
    libsystemd-dev
    libjson-c-dev libinih-dev libbsd-dev uuid-dev zlib1g-dev
    libcunit1-dev
    groff-base systemd
)
case "${1:-}" in
--devdax | --test)
    packages+=(qemu-system-x86 ndctl daxctl busybox-static kmod cpio xz-utils bc udev)
    ;;&
--test)
    # Robustness tools: libFuzzer (clang), valgrind, branch coverage.
    packages+=(clang libclang-rt-14-dev llvm valgrind gcovr)
    ;;
esac

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#packages[@]} packages present"
    exit 0
fi

sudo=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
