#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages vintc needs, if any are missing.
# Quiet and quick when everything is already there.
set -e

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
command -v spin >/dev/null 2>&1 || need="$need spin"
[ -z "$need" ] && exit 0

echo "vintc: installing Debian packages:$need" >&2
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
