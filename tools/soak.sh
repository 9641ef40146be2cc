#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Soak: `vintc sim churn` and `vintc sim device-storm` for SECONDS each
# (default 600) under ASan+UBSan and under TSan, one run at a time.
#
#   sh tools/soak.sh [SECONDS]
#
# churn: all-to-all IPI traffic on a long-lived VM while a device thread
# creates and destroys two-vCPU VMs whose vCPUs take device interrupts
# through GA-mode IRTEs, and a GA-log interrupt thread resolves the logged
# tags as those VMs leave the lookup.  device-storm: two devices post
# through GA-mode IRTEs with no flow control (doorbells, GA log, merges).
# Each run must end with lost = 0, leaked_pages = 0, leaked_bytes = 0, an
# empty failure, exit status 0 and no sanitizer report.  One PASS/FAIL
# line per run, then a summary; exit 1 if any run failed.
#
# Needs only a POSIX shell, make, a C compiler with the sanitizers, grep
# and sed.  Set CC to pick the compiler (as for make).
set -u

secs=${1:-600}
case $secs in
'' | *[!0-9]*)
	echo "usage: sh tools/soak.sh [SECONDS]" >&2
	exit 2
	;;
esac
if [ "$secs" -lt 1 ]; then
	echo "soak: SECONDS must be at least 1" >&2
	exit 2
fi

cd "$(dirname "$0")/.." || exit 2

# The Makefile puts a clang build in build-*-clang.
suffix=
case ${CC:-cc} in
cc) ;;
*clang*) suffix=-clang ;;
esac

# Sized so that one machine (one run inside --seconds) takes a few seconds
# even under TSan: the soak stops at the first run that ends after SECONDS.
churn_args="--vms 1 --vcpus 4 --host-cpus 4 --messages 20000"
storm_args="--vms 2 --vcpus 4 --host-cpus 4 --messages 200000"
# A descheduled thread on a loaded machine is not a lost wake-up: a longer
# watchdog still catches a real one.
common_args="--watchdog-ms 10000 --json"

# Any report stops the process with a distinctive status.
ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:exitcode=66:detect_leaks=1:allocator_may_return_null=1
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=67
TSAN_OPTIONS=halt_on_error=1:exitcode=68:second_deadlock_stack=1
export ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0
fail=0

# The value of a numeric field of the one-line JSON result, or empty.
field() {
	sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" "$2"
}

for san in address thread; do
	case $san in
	address) dir=build-asan$suffix name=asan ;;
	thread) dir=build-tsan$suffix name=tsan ;;
	esac
	echo "== building $dir/vintc (SAN=$san)"
	if ! make --no-print-directory -j2 SAN=$san "$dir/vintc" >"$tmp/build.log" 2>&1; then
		cat "$tmp/build.log"
		echo "FAIL $name build"
		fail=$((fail + 1))
		continue
	fi
	for wl in churn device-storm; do
		case $wl in
		churn) args=$churn_args ;;
		*) args=$storm_args ;;
		esac
		out=$tmp/$name-$wl.json
		err=$tmp/$name-$wl.err
		t0=$(date +%s)
		# shellcheck disable=SC2086 # word splitting of the argument lists is intended
		"$dir/vintc" sim "$wl" $args $common_args --seconds "$secs" >"$out" 2>"$err"
		status=$?
		t1=$(date +%s)
		lost=$(field lost "$out")
		pages=$(field leaked_pages "$out")
		bytes=$(field leaked_bytes "$out")
		why=
		if [ "$status" -ne 0 ]; then
			why="exit status $status"
		elif grep -q '"failure":""' "$out"; then
			:
		else
			why="failure reported"
		fi
		if grep -Eq 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer' "$err"; then
			why="${why:+$why, }sanitizer report"
		fi
		if [ -z "$lost" ] || [ -z "$pages" ] || [ -z "$bytes" ]; then
			why="${why:+$why, }no result"
		elif [ "$lost" != 0 ] || [ "$pages" != 0 ] || [ "$bytes" != 0 ]; then
			why="${why:+$why, }lost $lost, leaked $pages page(s) $bytes byte(s)"
		fi
		summary="$(($t1 - $t0)) s, runs $(field runs "$out"), sent $(field sent "$out"), delivered $(field delivered "$out"), merged $(field merged "$out"), lost ${lost:-?}, VMs $(field vms_created "$out") created / $(field vms_destroyed "$out") destroyed, GA log $(field ga_log_entries "$out") entries ($(field ga_log_unknown "$out") VM gone), leaked ${pages:-?} page(s) ${bytes:-?} byte(s)"
		if [ -z "$why" ]; then
			echo "PASS $name $wl: $summary"
			pass=$((pass + 1))
		else
			echo "FAIL $name $wl: $why: $summary"
			sed -n '1,60p' "$err"
			fail=$((fail + 1))
		fi
	done
done

echo "soak ($secs s per workload and sanitizer): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
