#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A short tour of the vintc CLI (`make run`): when /dev/kvm is usable, a
# real SMP guest on 4 vCPUs exchanging IPIs through the userspace APIC on
# the AVIC model, and the same guest on KVM's in-kernel LAPIC; then interrupts delivered end to end on model vCPUs, a
# seeded run, AMD erratum #1235 losing a wake-up, and the AVIC and GICv5
# structures and fault campaigns.
# Usage: demo.sh PATH_TO_VINTC
set -e

cli=${1:?usage: demo.sh PATH_TO_VINTC}

step() {
	printf '\n=== %s\n\n' "$*"
}

# jnum KEY JSON: the number after "KEY": in one line of JSON.
jnum() {
	printf '%s\n' "$2" | sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p"
}

# The workloads, as `vintc sim --help` lists them.
workloads=$("$cli" sim --help |
	awk '/^workloads:/ { f = 1; next } f && /^$/ { exit } f && /^  [a-z]/ { print $1 }')

guest=$(dirname "$cli")/guests/smp.elf
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ -f "$guest" ]; then
	step "A real guest on /dev/kvm, 4 vCPUs, local APIC in userspace on the AVIC model"
	printf '$ vintc run -c 4 --timeout 60 --stats %s\n' "$guest"
	status=0
	"$cli" run -c 4 --timeout 60 --stats "$guest" || status=$?
	# isa-debug-exit: the guest wrote 0, so QEMU's convention gives (0 << 1) | 1.
	printf 'guest exit status %s (1 means the guest reported success)\n' "$status"

	step "The same guest on KVM's in-kernel LAPIC (--irqchip=kernel), for comparison"
	printf '$ vintc run -c 4 --timeout 60 --irqchip=kernel --stats %s\n' "$guest"
	status=0
	"$cli" run -c 4 --timeout 60 --irqchip=kernel --stats "$guest" || status=$?
	printf 'guest exit status %s; KVM'"'"'s LAPIC does not report an illegal vector\n' "$status"
	printf 'in ESR, hence the SKIP line; APIC accesses and HLT never leave the kernel\n'
else
	if [ ! -e /dev/kvm ]; then
		why="there is no /dev/kvm on this machine"
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		why="/dev/kvm is not readable and writable by $(id -un) (root or the kvm group)"
	else
		why="the guest $guest is missing (make guests builds it)"
	fi
	step "Skipping the real-guest run: $why (the model demonstration follows)"
fi

step "Every workload, free-running: one host thread per vCPU, 2000 messages per sender"
row() {
	printf '%-16s %7s %9s %6s %4s %9s %17s %8s %7s %7s\n' "$@"
}

row workload sent delivered merged lost doorbells "not-running exits" \
	wake-ups "p50 ns" "p99 ns"
for wl in $workloads; do
	# A VPE is resident on one PE at a time: a host CPU per GICv5 vCPU.
	case $wl in
	gicv5-*) set -- --host-cpus 4 ;;
	*) set -- ;;
	esac
	j=$("$cli" sim "$wl" --vcpus 4 --messages 2000 "$@" --json)
	row "$wl" "$(jnum sent "$j")" "$(jnum delivered "$j")" \
		"$(jnum merged "$j")" "$(jnum lost "$j")" "$(jnum doorbells "$j")" \
		"$(jnum target_not_running "$j")" "$(jnum wakeups "$j")" \
		"$(jnum p50 "$j")" "$(jnum p99 "$j")"
done
printf '\nsent = delivered + merged, and lost = 0, for every row: each interrupt\n'
printf 'was taken exactly once.  GICv5 rows: 4 vCPUs on 4 host CPUs (PEs).\n'

step "Deterministic mode: seed 42 twice, one thread, a seeded scheduler"
a=$("$cli" sim ipi-all-to-all --vcpus 4 --messages 500 --seed 42 --json)
b=$("$cli" sim ipi-all-to-all --vcpus 4 --messages 500 --seed 42 --json)
printf '%s\n' "$a"
if [ "$a" = "$b" ]; then
	printf '\nsecond run: identical, byte for byte (latencies are scheduler steps)\n'
else
	printf '%s\n' "$b"
	echo "demo: the same seed gave different results" >&2
	exit 1
fi

step "AMD erratum #1235: an IPI to a vCPU that is halting neither rings a doorbell nor exits"
show='^  (mode|sent|delivered|lost|wake-ups|result) |^vintc:'
rc=0
out=$("$cli" sim ipi-pingpong --vcpus 2 --seed 3 --erratum-1235 2>&1) || rc=$?
printf '$ vintc sim ipi-pingpong --vcpus 2 --seed 3 --erratum-1235\n'
printf '%s\n' "$out" | grep -E "$show"
printf 'exit status %s\n' "$rc"
if [ "$rc" != 1 ]; then
	echo "demo: expected the erratum to lose a wake-up (exit 1)" >&2
	exit 1
fi
printf '\nKVM'"'"'s workaround: IPI virtualisation off, every IPI exits to the hypervisor\n\n'
printf '$ vintc sim ipi-pingpong --vcpus 2 --seed 3 --erratum-1235 --no-ipiv\n'
"$cli" sim ipi-pingpong --vcpus 2 --seed 3 --erratum-1235 --no-ipiv | grep -E "$show"

step "x2AVIC VM: vCPUs 0 and 1 loaded on host CPUs 3 and 5, vCPU 1 blocking"
"$cli" dump avic --vcpus 4 --x2avic --load 0:3,1:5 --block 1

step "AVIC fault campaign: every allocation of a 64-vCPU VM fails once"
"$cli" faults avic --vcpus 64

step "GICv5 VM with 2 vCPUs on an IRS model: vCPU 0 resident on PE 1 (VMTE and VPET)"
"$cli" dump gicv5 --vcpus 2 --load 0:1 | awk '/^ICH_CONTEXTR/ { exit } /^VMTE/ { f = 1 } f' |
	sed '$d'

step "GICv5 fault campaign: every allocation and IRS command (fault or hang) fails once"
"$cli" faults gicv5 --vcpus 4
