#!/bin/sh
# SPDX-License-Identifier: MIT
# Fetches a Debian kernel and busybox and builds what `vintc run` boots:
#
#   OUT/vmlinuz      the Debian cloud kernel's bzImage, as shipped
#   OUT/vmlinux      its payload decompressed: the ELF with the PVH note
#   OUT/initrd.gz    busybox, guests/linux/init and the pingpong workload
#   OUT/cmdline      the kernel command line the tests use
#   OUT/version      which packages these came from
#
# Usage: tools/linux.sh OUT MKINITRAMFS PINGPONG   (the two built by make)
# The .debs are kept in $VINTC_CACHE (default ~/.cache/vintc/debs), outside
# the tree; VINTC_LINUX_PKG names another kernel package than the newest
# linux-image-*-cloud-amd64.  Needs apt-get, dpkg-deb, lz4 (or the
# decompressor of the payload) and a static libc: tools/deps.sh linux.
set -eu

out=$1
mkinitramfs=$2
pingpong=$3
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${VINTC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vintc/debs}

die() {
	echo "vintc: linux: $*" >&2
	exit 1
}

mkdir -p "$out" "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The kernel package the metapackage points at today, unless named.
pkg=${VINTC_LINUX_PKG:-}
if [ -z "$pkg" ]; then
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
	[ -n "$pkg" ] || die "apt knows no linux-image-cloud-amd64 (run apt-get update)"
fi

# apt-get download names the file after the version; keep one per package.
fetch() {
	name=$1
	deb=$(ls "$cache/${name}_"*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		(cd "$cache" && apt-get download -q "$name" >/dev/null 2>&1) ||
			die "apt-get download $name failed"
		deb=$(ls "$cache/${name}_"*.deb 2>/dev/null | head -n 1 || true)
		[ -n "$deb" ] || die "apt-get download $name left no .deb in $cache"
	fi
	echo "$deb"
}
kdeb=$(fetch "$pkg")
bdeb=$(fetch busybox-static)
dpkg-deb -x "$kdeb" "$work/k" || die "cannot unpack $kdeb"
dpkg-deb -x "$bdeb" "$work/b" || die "cannot unpack $bdeb"
bz=$(ls "$work"/k/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$bz" ] || die "$kdeb holds no /boot/vmlinuz-*"
[ -x "$work/b/bin/busybox" ] || die "$bdeb holds no /bin/busybox"

# Little-endian fields of the bzImage's setup header (boot protocol).
le() {
	od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '
}
[ "$(dd if="$bz" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] || die "$bz: no setup header"
[ "$(le "$bz" 518 2)" -ge 520 ] || die "$bz: boot protocol older than 2.08 (no payload fields)"
setup_sects=$(le "$bz" 497 1)
[ "$setup_sects" -eq 0 ] && setup_sects=4
payload_offset=$(le "$bz" 584 4)
payload_length=$(le "$bz" 588 4)
start=$(( (setup_sects + 1) * 512 + payload_offset ))

# The payload's own magic says how it is compressed.  The kernel's build
# appends the decompressed size (4 bytes) to the stream, which the stream
# tools would read as trailing garbage.
tail -c +"$((start + 1))" "$bz" | head -c "$payload_length" > "$work/payload"
magic=$(od -An -tx1 -N 6 "$work/payload" | tr -d ' \n')
head -c "$((payload_length - 4))" "$work/payload" > "$work/stream"
case "$magic" in
02214c18*)	dec="lz4 -dc" ;;
1f8b*)		dec="gzip -dc" ;;
fd377a585a00)	dec="xz -dc" ;;
28b52ffd*)	dec="zstd -dc" ;;
*)		die "$bz: unknown payload compression (magic $magic)" ;;
esac
# lz4's legacy frames end at the stream's end without a marker, so only the
# output is checked: an ELF with the PVH note.
$dec < "$work/stream" > "$work/vmlinux" 2>/dev/null || true
[ "$(od -An -c -j 1 -N 3 "$work/vmlinux" | tr -d ' ')" = ELF ] ||
	die "$bz: the payload did not decompress to an ELF ($dec)"

sed -e "s|@INIT@|$top/guests/linux/init|" -e "s|@BUSYBOX@|$work/b/bin/busybox|" \
	-e "s|@PINGPONG@|$pingpong|" "$top/guests/linux/initramfs.list" > "$work/list"
"$mkinitramfs" "$work/list" > "$work/initrd.cpio"
gzip -9n < "$work/initrd.cpio" > "$work/initrd.gz"

cp "$bz" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$work/vmlinux" "$out/vmlinux"
mv "$work/initrd.gz" "$out/initrd.gz"
cp "$top/guests/linux/cmdline" "$out/cmdline"
printf '%s\n%s\n' "$(basename "$kdeb")" "$(basename "$bdeb")" > "$out/version"
echo "vintc: linux: $(basename "$kdeb") and $(basename "$bdeb") in $out"
