#!/bin/sh
# SPDX-License-Identifier: MIT
# The Linux boot benchmark's tables, from what `make check-linux` left in
# DIR/results/ (tests/linux/linux_boot.c): for each boot of the last run,
# the time to each milestone, the ratio of avic to kernel for the same
# image and vCPUs, then from vintc's --json result the exits by reason per
# second of guest run time, IPIs by path, EOIs, timer fires and injections.
# Usage: bench/linux_report.sh DIR
set -eu
dir=$1/results
[ -d "$dir" ] || { echo "vintc: linux_report: no $dir (run make check-linux)" >&2; exit 1; }

# The boots of the newest run: their names end in the runner's pid.
last=$(ls -t "$dir"/*.times 2>/dev/null | head -n 1)
[ -n "$last" ] || { echo "vintc: linux_report: no boot in $dir" >&2; exit 1; }
run=$(basename "$last" .times | sed 's/.*\.//')

# Field NAME of a --json line (the first occurrence; numbers only).
field() {
	printf '%s\n' "$1" | grep -o "\"$2\":[0-9.]*" | head -n 1 | cut -d: -f2
}
json_of() {
	grep '^{"end":' "$1" | tail -n 1
}

echo "Linux boots of run $run (seconds from vintc's start; - = not reached)"
printf '%-22s %8s %8s %9s %9s %9s\n' boot banner smp "Run /init" userspace poweroff
for t in "$dir"/*."$run".times; do
	name=$(basename "$t" ".$run.times")
	awk -v n="$name" 'NR == 2 { b = $1 } NR == 3 { s = $1 } NR == 4 { i = $1 }
		NR == 5 { u = $1 } NR == 8 { p = $1 }
		function f(x) { return x < 0 ? "-" : sprintf("%.1f", x) }
		END { printf "%-22s %8s %8s %9s %9s %9s\n", n, f(b), f(s), f(i), f(u), f(p) }' "$t"
done
echo
echo "avic / kernel, time to Run /init, same image and vCPUs:"
for t in "$dir"/*-avic."$run".times; do
	k=$(echo "$t" | sed "s/-avic\.$run\.times\$/-kernel.$run.times/")
	[ -f "$k" ] || continue
	a=$(sed -n 4p "$t" | cut -d' ' -f1)
	b=$(sed -n 4p "$k" | cut -d' ' -f1)
	awk -v n="$(basename "$t" "-avic.$run.times")" -v a="$a" -v b="$b" \
		'BEGIN { if (a > 0 && b > 0) printf "  %-18s %7.1f s / %7.1f s = %.2fx\n", n, a, b, a / b }'
done
echo
echo "Per boot, from --json (per second of vintc's run time where marked /s):"
printf '%-22s %7s %9s %9s %9s %9s %9s %9s %9s %9s\n' boot seconds "exits/s" "IPIs" accel doorbell \
	"not-run" "EOIs" "timer" "injected"
for o in "$dir"/*."$run".out; do
	name=$(basename "$o" ".$run.out")
	j=$(json_of "$o")
	[ -n "$j" ] || continue
	secs=$(field "$j" seconds)
	exits=$(printf '%s\n' "$j" | sed -n 's/.*"exits":{\([^}]*\)}.*/\1/p' | tr ',' '\n' |
		cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')
	eoi=$(printf '%s\n' "$j" | sed -n 's/.*"writes":{\([^}]*\)}.*/\1/p' | tr ',' '\n' |
		grep '"EOI"' | cut -d: -f2)
	printf '%-22s %7.1f %9.0f %9s %9s %9s %9s %9s %9s %9s\n' "$name" "$secs" \
		"$(awk -v e="$exits" -v s="$secs" 'BEGIN { print (s > 0 ? e / s : 0) }')" \
		"$(field "$j" sent)" "$(field "$j" accelerated)" "$(field "$j" doorbells)" \
		"$(field "$j" not_running)" "${eoi:--}" "$(field "$j" timer_fires)" \
		"$(field "$j" injected)"
done
echo
echo "Exits by reason per second:"
for o in "$dir"/*."$run".out; do
	name=$(basename "$o" ".$run.out")
	j=$(json_of "$o")
	[ -n "$j" ] || continue
	secs=$(field "$j" seconds)
	printf '  %-20s' "$name"
	printf '%s\n' "$j" | sed -n 's/.*"exits":{\([^}]*\)}.*/\1/p' | tr ',' '\n' | tr -d '"' |
		awk -F: -v s="$secs" '{ printf " %s %.0f", $1, (s > 0 ? $2 / s : 0) } END { print "" }'
done
