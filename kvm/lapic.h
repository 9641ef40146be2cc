/* SPDX-License-Identifier: MIT */
/*
 * kvm/lapic.c: the guest's local APICs for kvm/run.c, one vintc AVIC vCPU
 * per guest vCPU (APIC ID = index) in one VM_ARCH_AVIC VM.  The backing
 * page is the APIC register page; xAPIC MMIO exits are classified the way
 * AVIC classifies guest accesses and go through the hypervisor paths
 * (hyp/avic.c), ICR writes through the silicon model (hw/avic_cpu.c).
 * Private to kvm/.
 */
#ifndef VINTC_KVM_LAPIC_H
#define VINTC_KVM_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include <vintc/kvm_run.h>
#include <vintc/vm.h>

#define VKVM_APIC_BASE	0xFEE00000ULL
#define VKVM_APIC_SIZE	0x1000ULL

struct vkvm_lapic {
	struct vm *vm;
	uint32_t nr;
	struct vcpu *vcpus[VKVM_MAX_CPUS];
	/*
	 * Make vCPU idx look at its events (INIT, SIPI, NMI) now: the runner
	 * signals it if it is inside KVM_RUN.  Called from any vCPU thread.
	 */
	void (*kick)(void *opaque, uint32_t idx);
	void *opaque;
	struct vkvm_apic_stats st;	/* counters updated atomically */
};

/* The VM and nr vCPUs, each with a reset APIC; -errno and why on failure. */
int vkvm_lapic_init(struct vkvm_lapic *l, uint32_t nr, char *why, size_t why_size);
void vkvm_lapic_fini(struct vkvm_lapic *l);

/*
 * A 4-byte access by vCPU idx to APIC register offset `off`.  A read fills
 * *val; a write takes it.  Returns true when the write changed TPR (the
 * caller then mirrors it into CR8).
 */
bool vkvm_lapic_access(struct vkvm_lapic *l, uint32_t idx, uint32_t off, bool write,
		       uint32_t *val);

/* CR8 as KVM last stored it becomes TPR[7:4]; PPR follows. */
void vkvm_lapic_set_cr8(struct vkvm_lapic *l, uint32_t idx, uint64_t cr8);
uint64_t vkvm_lapic_cr8(struct vkvm_lapic *l, uint32_t idx);
bool vkvm_lapic_deliverable(struct vkvm_lapic *l, uint32_t idx);
/* IRR -> ISR for the highest deliverable vector: the one to inject, or -1. */
int vkvm_lapic_accept(struct vkvm_lapic *l, uint32_t idx);
/* INIT: the register page back to its reset state. */
void vkvm_lapic_reset(struct vkvm_lapic *l, uint32_t idx);
/* Add the model's own counters (wake-ups) to the result's. */
void vkvm_lapic_stats(struct vkvm_lapic *l, struct vkvm_apic_stats *out);

#endif
