#!/bin/sh
# SPDX-License-Identifier: MIT
# Run every libFuzzer target in DIR (build-fuzz/fuzz by default) for SECONDS
# each, one at a time, on a scratch copy of its seed corpus
# fuzz/corpus/NAME/ (the committed corpus never grows).  Prints one line
# per target: executions, coverage, features, crashes.  A crashing input
# is kept in build-fuzz/artifacts/NAME/; the exit status is 1 if any
# target crashed (or failed to start).
#
#   sh fuzz/run.sh [SECONDS] [DIR] [NAME...]
set -u

seconds=${1:-60}
dir=${2:-build-fuzz/fuzz}
[ $# -ge 2 ] && shift 2 || shift $#
here=$(cd "$(dirname "$0")" && pwd)
artifacts=$(cd "$dir/.." && pwd)/artifacts
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

if [ $# -eq 0 ]; then
	set --
	for bin in "$dir"/fuzz_*; do
		[ -x "$bin" ] && set -- "$@" "$(basename "$bin" | sed 's/^fuzz_//')"
	done
fi
[ $# -gt 0 ] || { echo "fuzz: no targets in $dir" >&2; exit 1; }

printf '%-8s %8s %12s %10s %8s %8s %8s\n' target seconds executions exec/s cov ft crashes
failed=0
total=0
for name in "$@"; do
	bin=$dir/fuzz_$name
	corpus=$work/$name
	log=$work/$name.log
	mkdir -p "$corpus" "$artifacts/$name"
	[ -d "$here/corpus/$name" ] && cp "$here/corpus/$name"/* "$corpus"/ 2>/dev/null
	"$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts/$name/" \
		"$corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | sed 's/ft: //')
	crashes=0
	if [ "$rc" -ne 0 ]; then
		crashes=1
		failed=1
	fi
	printf '%-8s %8s %12s %10s %8s %8s %8s\n' "$name" "$seconds" "${execs:-?}" \
		"${rate:-?}" "${cov:-?}" "${ft:-?}" "$crashes"
	total=$((total + ${execs:-0}))
	if [ "$rc" -ne 0 ]; then
		echo "--- fuzz_$name exited $rc; the end of its log:"
		tail -n 60 "$log"
		echo "--- input kept in $artifacts/$name/:"
		ls "$artifacts/$name"
	fi
done
echo "fuzz: $total executions in total"
if [ "$failed" -ne 0 ]; then
	echo "fuzz: FAIL (a target crashed)"
	exit 1
fi
echo "fuzz: no crashes"
