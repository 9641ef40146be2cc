#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The layering rule, checked on the built objects and on the sources:
#
#   host (0) < hw (1) < hyp (2) < sim, kvm (3) < tools/vintc (4)
#
# A folder may reference symbols of a lower layer only: hw never calls hyp
# (they meet through memory structures), sim and kvm never reach each other.
# Subfolders (kvm/devices/) belong to their top folder's layer.  Library
# and CLI sources include no "../" path at all and no other folder's private
# header; <vintc/...> (include/vintc/) is public.  tests/, fuzz/ and bench/
# are harnesses and not checked.
#
# usage: check_layers.sh [-C SRCDIR] [OBJDIR]
#   SRCDIR  the source tree (default: this script's repository)
#   OBJDIR  the build's object folder, $(BUILD)/obj (default: SRCDIR/build/obj)
#
# One "layering: ..." line per violation, then a summary; exit 1 on any
# violation, 0 otherwise, 2 on a usage error.
set -eu

LAYERS="host hw hyp sim kvm tools/vintc"

src=$(cd "$(dirname "$0")/.." && pwd)
while getopts C: opt; do
	case $opt in
	C) src=$OPTARG ;;
	*) echo "usage: $0 [-C SRCDIR] [OBJDIR]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -gt 1 ]; then
	echo "usage: $0 [-C SRCDIR] [OBJDIR]" >&2
	exit 2
fi
# OBJDIR is taken relative to where we were started, then we work from SRCDIR.
obj=${1:-$src/build/obj}
case $obj in /*) ;; *) obj=$(pwd)/$obj ;; esac
cd "$src" || exit 2
if [ ! -d "$obj" ]; then
	echo "layering: no object folder $obj (build first, e.g. 'make layers')" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_layers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# The objects of the layers whose source still exists: a stale object left
# in the build folder by a removed or renamed source says nothing about the
# tree.  Paths are relative to OBJDIR, e.g. kvm/devices/com1.o.
: >"$tmp/objs"
for l in $LAYERS; do
	[ -d "$obj/$l" ] || continue
	(cd "$obj" && find "$l" -name '*.o' -type f) | sort | while read -r o; do
		s=${o%.o}
		if [ -f "$s.c" ] || [ -f "$s.S" ] || [ -f "$s.s" ]; then
			echo "$o"
		fi
	done >>"$tmp/objs"
done

# The layer of a path: its top folder, tools/vintc for the CLI.
layer_awk='
function layer(p) {
	if (p ~ /^tools\/vintc\//)
		return "tools/vintc"
	sub(/\/.*/, "", p)
	return p
}
function rank(l) {
	if (l == "host") return 0
	if (l == "hw") return 1
	if (l == "hyp") return 2
	if (l == "sim" || l == "kvm") return 3
	if (l == "tools/vintc") return 4
	return -1
}
# An edge from layer a to layer b is allowed only downwards: sim and kvm
# share a rank and so may not reach each other.
function allowed(a, b) {
	return a == b || rank(b) < rank(a)
}
'

# ---- symbols: who defines what, who references it ------------------------
#
# nm -P -A: "path.o: name TYPE [value size]".  Defined globals are any
# upper-case type but U (weak W/V and unique u included); U, w and v are
# undefined.  A symbol defined in the referencing object's own folder is
# not an edge (a weak default overridden elsewhere stays inside).
nsyms=0
if [ -s "$tmp/objs" ]; then
	(cd "$obj" && xargs nm -A -P -g <"$tmp/objs") >"$tmp/nm"
	awk "$layer_awk"'
	{
		o = $1; sub(/:$/, "", o); name = $2; t = $3
		if (t == "U" || t == "w" || t == "v") {
			nref++; ref_obj[nref] = o; ref_sym[nref] = name
		} else if (t ~ /^[A-Z]$/ || t == "u") {
			def[name] = (name in def) ? def[name] SUBSEP o : o
		}
	}
	END {
		for (i = 1; i <= nref; i++) {
			o = ref_obj[i]; name = ref_sym[i]
			if (!(name in def))
				continue
			la = layer(o)
			n = split(def[name], d, SUBSEP)
			local = 0
			for (k = 1; k <= n; k++)
				if (layer(d[k]) == la)
					local = 1
			if (local)
				continue
			edges++
			for (k = 1; k <= n; k++) {
				lb = layer(d[k])
				if (!allowed(la, lb))
					printf "layering: %s (%s) references %s defined in %s (%s)\n",
					       o, la, name, d[k], lb
			}
		}
		print edges + 0 >"/dev/stderr"
	}' "$tmp/nm" >"$tmp/sym_bad" 2>"$tmp/edges"
	nsyms=$(cat "$tmp/edges")
fi

# ---- includes: no "../", no other folder's private header ----------------
#
# A quoted include resolves against the including file's folder first,
# then against include/ (the library's only -I); what it resolves to there
# decides whose header it is.
: >"$tmp/srcs"
for l in $LAYERS; do
	if [ -d "$l" ]; then
		find "$l" -type f \( -name '*.c' -o -name '*.h' \) | sort >>"$tmp/srcs"
	fi
done
: >"$tmp/inc"
if [ -s "$tmp/srcs" ]; then
	xargs grep -nH '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' <"$tmp/srcs" \
		>"$tmp/inc" || true
fi
awk "$layer_awk"'
# a/b/../c -> a/c; a path that climbs out of the tree keeps its leading "..".
function normalize(p,    n, i, parts, out, k) {
	n = split(p, parts, "/")
	k = 0
	for (i = 1; i <= n; i++) {
		if (parts[i] == "" || parts[i] == ".")
			continue
		if (parts[i] == ".." && k > 0 && out[k] != "..")
			k--
		else
			out[++k] = parts[i]
	}
	p = ""
	for (i = 1; i <= k; i++)
		p = p (i > 1 ? "/" : "") out[i]
	return p
}
function exists(p) {
	return system("test -f \"" p "\"") == 0
}
{
	# file:line:#include "path"
	file = $0; sub(/:.*/, "", file)
	rest = substr($0, length(file) + 2)
	line = rest; sub(/:.*/, "", line)
	inc = rest; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
	dir = file; sub(/\/[^\/]*$/, "", dir)
	la = layer(file)
	why = ""
	if (inc ~ /^\.\.\// || inc ~ /\/\.\.\//)
		why = "a relative include"
	r = normalize(dir "/" inc)
	if (!exists(r)) {
		r = normalize("include/" inc)
		if (!exists(r))
			r = ""
	}
	if (r != "" && r !~ /^include\// && layer(r) != la)
		why = (why == "" ? "" : why ", ") "a private header of " layer(r) " (" r ")"
	if (why != "")
		printf "layering: %s:%s (%s) includes \"%s\": %s\n", file, line, la, inc, why
	n++
}
END { print n + 0 >"/dev/stderr" }' "$tmp/inc" >"$tmp/inc_bad" 2>"$tmp/incs"
nincs=$(cat "$tmp/incs")

cat "$tmp/sym_bad" "$tmp/inc_bad" 2>/dev/null || true
nobjs=$(($(wc -l <"$tmp/objs") + 0))
nsrcs=$(($(wc -l <"$tmp/srcs") + 0))
nbad=$(($(cat "$tmp/sym_bad" "$tmp/inc_bad" 2>/dev/null | wc -l) + 0))
what="$nobjs objects, $nsyms cross-folder references; $nsrcs sources, $nincs quoted includes"
if [ "$nbad" -gt 0 ]; then
	echo "layering: $nbad violation(s) ($what)"
	exit 1
fi
echo "layering: OK ($what)"
