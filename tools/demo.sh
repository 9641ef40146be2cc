#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A short tour of the vintc CLI (`make run`): AVIC, then GICv5.
# Usage: demo.sh PATH_TO_VINTC
set -e

cli=${1:?usage: demo.sh PATH_TO_VINTC}

step() {
	printf '\n=== %s\n\n' "$*"
}

step "8-vCPU x2AVIC VM: vCPUs 0-2 loaded on host CPUs 3, 5 and 7, vCPU 1 blocking"
"$cli" dump avic --vcpus 8 --x2avic --load 0:3,1:5,2:7 --block 1

step "300-vCPU xAVIC VM: IDs above 0xFE have no table entry, so AVIC is inhibited"
# Keep the summary; the per-vCPU table is 300 lines long.
out=$("$cli" dump avic --vcpus 300)
printf '%s\n' "$out" | sed -n '1,8p'
printf '  ...\n'
printf '%s\n' "$out" | tail -n 1

step "Fault campaign: every allocation of a 64-vCPU xAVIC VM fails once"
"$cli" faults avic --vcpus 64

step "GICv5 VM with 4 vCPUs on an IRS model: vCPU 0 resident on PE 1"
"$cli" dump gicv5 --vcpus 4 --load 0:1

step "GICv5 fault campaign: every allocation and IRS command (fault or hang) fails once"
"$cli" faults gicv5 --vcpus 4
