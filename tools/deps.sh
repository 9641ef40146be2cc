#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages a make target needs, if any are missing.
# Quiet and quick when everything is already there.
# Usage: deps.sh [build|verify|linux]   (build: compilers and sanitizer
#   runtimes; verify: spin, for `make verify`, too; linux: what
#   tools/linux.sh needs to fetch and unpack a kernel and build an initramfs)
set -e

purpose=${1:-build}

need=""
command -v cc >/dev/null 2>&1 || need="$need gcc libc6-dev"
command -v ar >/dev/null 2>&1 || need="$need binutils"
# The x86 test guests (guests/) are built with gcc -m32 and ld -m elf_i386
# whatever CC is; neither needs the 32-bit multilib.
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v ld >/dev/null 2>&1 || need="$need binutils"
case "${CC:-cc}" in
*clang*) command -v "${CC}" >/dev/null 2>&1 || need="$need clang" ;;
esac
# The sanitizer runtimes ship with gcc's libasan/libtsan/libubsan.
if [ -n "$SAN" ] && ! ls /usr/lib/gcc/*/*/libtsan.so >/dev/null 2>&1; then
	need="$need libasan8 libtsan2 libubsan1"
fi
# make verify model-checks the delivery protocols (verify/) with spin.
if [ "$purpose" = verify ]; then
	command -v spin >/dev/null 2>&1 || need="$need spin"
fi
# make linux: .debs by apt-get download, unpacked by dpkg-deb (both in any
# Debian), the kernel's LZ4 payload, a static libc for the workload.
if [ "$purpose" = linux ]; then
	command -v lz4 >/dev/null 2>&1 || need="$need lz4"
	command -v gzip >/dev/null 2>&1 || need="$need gzip"
	ls /usr/lib/x86_64-linux-gnu/libc.a >/dev/null 2>&1 || need="$need libc6-dev"
fi
[ -z "$need" ] && exit 0

# One line, and a failure, when they cannot be installed here.
cannot() {
	echo "vintc: missing Debian packages:$need ($1; install them with: apt-get install$need)" >&2
	exit 1
}
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO="sudo -n"
	else
		cannot "not root and no password-less sudo"
	fi
fi
echo "vintc: installing Debian packages:$need" >&2
$SUDO apt-get update -qq >/dev/null 2>&1 || cannot "apt-get update failed"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null 2>&1 ||
	cannot "apt-get install failed"
