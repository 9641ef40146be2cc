#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Model-checks the delivery protocols with spin (see verify/README.md).
# Each correct model must be verified exhaustively with no error; each
# deliberately broken variant must be refuted with a counterexample trail
# that replays.  One line per check, a summary line last; the exit status
# is non-zero on any unexpected result.
#
#   sh verify/run.sh            all checks
#   sh verify/run.sh -k         keep the work directory (trails, pan.c)
set -u

here=$(cd "$(dirname "$0")" && pwd)
keep=0
[ "${1:-}" = "-k" ] && keep=1

for tool in spin gcc; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "verify: $tool not found (make deps installs it)" >&2
		exit 2
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vintc-verify.XXXXXX") || exit 2
if [ "$keep" = 1 ]; then
	echo "verify: work directory $work"
else
	trap 'rm -rf "$work"' EXIT
	trap 'rm -rf "$work"; exit 130' INT TERM
fi

# field NAME FILE: the number in pan's "N <name>" line
num_before() { sed -n "s/^ *\([0-9][0-9]*\) $1.*/\1/p" "$2" | head -n 1; }

# check MODEL NAME EXPECT [spin -D flags...]
#   EXPECT: pass    exhaustive search, errors: 0
#           refute  a counterexample (errors >= 1, a trail that replays)
#           known   like refute, for a model of the C code as it is that
#                   exposes a bug the README describes
check() {
	dir=$work/$2
	mkdir -p "$dir"
	run_check "$@" >"$dir/result" 2>&1
}

run_check() {
	model=$1 name=$2 expect=$3
	shift 3
	dir=$work/$name
	cp "$here/$model.pml" "$dir/"
	if ! (cd "$dir" && spin "$@" -a "$model.pml") >"$dir/spin.log" 2>&1; then
		echo "FAIL $name (spin -a failed)"
		sed 's/^/    /' "$dir/spin.log"
		return
	fi
	# Exhaustive runs: depth-first, a 4M-slot hash table (the biggest
	# model has under 2M states).  Refutations stop at the first error, so
	# compiling pan.c quickly matters more than running it fast.
	if [ "$expect" = pass ]; then
		cflags="-O1 -DSAFETY"
		pflags="-m100000 -w22"
	else
		cflags="-O0 -DSAFETY"
		pflags="-m100000"
	fi
	# shellcheck disable=SC2086
	if ! (cd "$dir" && gcc -w $cflags -o pan pan.c) >"$dir/cc.log" 2>&1; then
		echo "FAIL $name (compiling pan.c failed)"
		sed 's/^/    /' "$dir/cc.log"
		return
	fi
	# shellcheck disable=SC2086
	(cd "$dir" && ./pan $pflags) >"$dir/pan.log" 2>&1
	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$dir/pan.log" | head -n 1)
	states=$(num_before "states, stored" "$dir/pan.log")
	secs=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$dir/pan.log" | head -n 1)
	if [ -z "$errors" ] || [ -z "$states" ]; then
		echo "FAIL $name (no result from pan)"
		tail -n 20 "$dir/pan.log" | sed 's/^/    /'
		return
	fi
	if grep -q "max search depth too small\|out of memory\|hash table is full" "$dir/pan.log"; then
		echo "FAIL $name (search incomplete)"
		grep "max search depth too small\|out of memory\|hash table is full" "$dir/pan.log" |
			sed 's/^/    /'
		return
	fi
	case $expect in
	pass)
		if [ "$errors" -eq 0 ]; then
			echo "PASS $name ($states states, 0 errors, ${secs:-0} s)"
		else
			echo "FAIL $name ($errors errors)"
			grep "^pan:" "$dir/pan.log" | sed 's/^/    /'
			(cd "$dir" && spin "$@" -t -p "$model.pml") 2>&1 | tail -n 40 | sed 's/^/    /'
		fi
		;;
	refute | known)
		trail=$dir/$model.pml.trail
		steps=$(sed -n 's/.*(at depth \([0-9][0-9]*\)).*/\1/p' "$dir/pan.log" | head -n 1)
		why=$(sed -n 's/^pan:1: \(.*\) (at depth.*/\1/p' "$dir/pan.log" | head -n 1)
		if [ "$errors" -lt 1 ]; then
			echo "FAIL $name not refuted ($states states, 0 errors): the check cannot see this bug"
		elif [ ! -s "$trail" ] ||
		     ! (cd "$dir" && spin "$@" -t "$model.pml") 2>&1 | grep -q "assertion violated\|invalid end state"; then
			echo "FAIL $name refuted but its trail does not replay"
		elif [ "$expect" = known ]; then
			echo "KNOWN $name refuted (counterexample, ${steps:-?} steps: $why): C bug, see verify/README.md"
		else
			echo "PASS $name refuted (counterexample, ${steps:-?} steps: $why)"
		fi
		;;
	esac
}

checks="
avic_delivery avic_delivery pass
avic_delivery avic_delivery-broken-nobarrier refute -DBROKEN_NOBARRIER
avic_delivery avic_delivery-broken-norecheck refute -DBROKEN_NORECHECK
avic_delivery avic_delivery-broken-sender-nobarrier refute -DBROKEN_SENDER_NOBARRIER
avic_delivery avic_delivery-broken-nogalog refute -DBROKEN_NOGALOG
avic_delivery avic_delivery-broken-seq-late refute -DBROKEN_SEQ_LATE
avic_delivery avic_delivery-broken-erratum-1235 refute -DBROKEN_ERRATUM_1235
avic_delivery avic_delivery-no-ipiv pass -DNO_IPIV
gicv5_doorbell gicv5_doorbell pass
gicv5_doorbell gicv5_doorbell-broken-clear-late refute -DBROKEN_CLEAR_LATE
gicv5_doorbell gicv5_doorbell-broken-nomb refute -DBROKEN_NOMB
gicv5_doorbell gicv5_doorbell-broken-no-rearm refute -DBROKEN_NO_REARM
gicv5_doorbell gicv5_doorbell-broken-strict-dbpm refute -DBROKEN_STRICT_DBPM
gicv5_doorbell gicv5_doorbell-broken-no-selfclear refute -DBROKEN_NO_SELFCLEAR
gicv5_doorbell gicv5_doorbell-preempt-in-blocking pass -DPREEMPT_IN_BLOCKING
gicv5_doorbell gicv5_doorbell-broken-put-no-doorbell refute -DPREEMPT_IN_BLOCKING -DBROKEN_PUT_NO_DOORBELL
"
# The last two lines: hyp/vgic_v5.c preempted inside vcpu_blocking, as it
# is and as it was before the fix the README describes.

start=$(date +%s)
# Two lanes: the big exhaustive AVIC searches, and everything else.
big() { [ "$1" = avic_delivery ] && [ "$2" = pass ]; }
echo "$checks" | while read -r model name expect flags; do
	[ -n "$model" ] || continue
	big "$model" "$expect" || continue
	# shellcheck disable=SC2086
	check "$model" "$name" "$expect" $flags
done &
lane=$!
echo "$checks" | while read -r model name expect flags; do
	[ -n "$model" ] || continue
	if big "$model" "$expect"; then continue; fi
	# shellcheck disable=SC2086
	check "$model" "$name" "$expect" $flags
done
wait "$lane"
end=$(date +%s)

pass=0 fail=0 known=0
names=$(echo "$checks" | while read -r model name rest; do [ -n "$model" ] && echo "$name"; done)
for name in $names; do
	if [ -s "$work/$name/result" ]; then
		cat "$work/$name/result"
	else
		echo "FAIL $name (no result)"
	fi
	case $(head -n 1 "$work/$name/result" 2>/dev/null) in
	PASS*) pass=$((pass + 1)) ;;
	KNOWN*) known=$((known + 1)) ;;
	*) fail=$((fail + 1)) ;;
	esac
done
# Ends in "N failed", the form .ci/run picks out of a stage's log.
summary="verify ($((end - start)) s): $pass checks passed, $known known C bug shown, $fail failed"
if [ "$fail" -eq 0 ]; then
	echo "$summary"
	exit 0
fi
echo "$summary"
exit 1
