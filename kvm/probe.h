/* SPDX-License-Identifier: MIT */
/* kvm/probe.c: which APIC MSRs this kernel hands to userspace.  Private to kvm/. */
#ifndef VINTC_KVM_PROBE_H
#define VINTC_KVM_PROBE_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>

#define VKVM_MSR_TSC_DEADLINE	0x6E0U

struct vkvm_msr_probe {
	bool x2apic;		/* 0x800-0x8FF reads and writes exit to userspace */
	bool tsc_deadline;	/* 0x6E0 exits through the MSR filter */
	bool apic_base;		/* 0x1B reads and writes exit through the MSR filter */
	/*
	 * The guest's MAXPHYADDR (CPUID 0x80000008 EAX[7:0] as KVM supports
	 * it and the runner passes it on; 36 without the leaf): where
	 * IA32_APIC_BASE's reserved high bits start.
	 */
	uint32_t maxphyaddr;
};

/*
 * Ask KVM for userspace exits on MSRs it does not handle (INVAL, UNKNOWN)
 * and, through the MSR filter (FILTER), on IA32_TSC_DEADLINE and
 * IA32_APIC_BASE where `filter` says so.  0 or -errno.
 */
int vkvm_msr_exits_enable(int vm_fd, const struct vkvm_msr_probe *filter);

/*
 * The probe's answer, computed once per process.  0, or -errno when
 * /dev/kvm could not even run the probe (then *out says "neither").
 */
int vkvm_msr_probe(struct vkvm_msr_probe *out);

#endif
