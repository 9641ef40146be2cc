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
};

/*
 * Ask KVM for userspace exits on MSRs it does not handle (INVAL, UNKNOWN)
 * and on IA32_TSC_DEADLINE (FILTER).  0 or -errno.
 */
int vkvm_msr_exits_enable(int vm_fd);

/*
 * The probe's answer, computed once per process.  0, or -errno when
 * /dev/kvm could not even run the probe (then *out says "neither").
 */
int vkvm_msr_probe(struct vkvm_msr_probe *out);

#endif
