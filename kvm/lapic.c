// SPDX-License-Identifier: MIT
/*
 * The guest's local APICs on the AVIC model.  Every decision is the
 * model's: the backing page holds the registers, AVIC's access classes say
 * what an MMIO access does, the silicon model (avic_cpu_icr_write) resolves
 * ICR writes through the physical and logical tables, and its incomplete-IPI
 * exits go to the hypervisor (avic_handle_incomplete_ipi) exactly as
 * sim/sim.c sends them.
 *
 * Guest vCPU i is AVIC vCPU i with APIC ID i, loaded on model host CPU i
 * (host APIC ID i in the default topology), so a doorbell to host APIC ID i
 * means "guest vCPU i, if it is inside KVM_RUN".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vintc/amd_defs.h>
#include <vintc/avic.h>
#include <vintc/avic_cpu.h>

#include "../hyp/vlapic.h"
#include "lapic.h"

static void count(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static void *regs_of(struct vkvm_lapic *l, uint32_t idx)
{
	return to_avic_vcpu(l->vcpus[idx])->backing;
}

int vkvm_lapic_init(struct vkvm_lapic *l, uint32_t nr, char *why, size_t why_size)
{
	struct vm_config cfg = {
		.arch = VM_ARCH_AVIC,
		.max_vcpus = nr,
		.max_vcpu_ids = nr,
		.avic.model = AVIC_MODEL_XAVIC,
	};
	int ret;

	memset(l, 0, sizeof(*l));
	if (nr < 1 || nr > VKVM_MAX_CPUS) {
		snprintf(why, why_size, "%u vCPUs: the userspace APIC takes 1..%u", nr,
			 VKVM_MAX_CPUS);
		return -EINVAL;
	}
	ret = vm_create(&cfg, &l->vm);
	if (ret) {
		snprintf(why, why_size, "cannot create the AVIC model VM: %s", strerror(-ret));
		return ret;
	}
	for (uint32_t i = 0; i < nr; i++) {
		ret = vcpu_create(l->vm, i, &l->vcpus[i]);
		if (ret) {
			snprintf(why, why_size, "cannot create AVIC vCPU %u: %s", i,
				 strerror(-ret));
			vkvm_lapic_fini(l);
			return ret;
		}
		/* APIC ID i, flat DFR, software-disabled, every LVT masked. */
		vlapic_reset(regs_of(l, i), i);
		l->nr = i + 1;
	}
	return 0;
}

void vkvm_lapic_fini(struct vkvm_lapic *l)
{
	if (l->vm)
		vm_destroy(l->vm);
	l->vm = NULL;
	l->nr = 0;
}

/*
 * A guest ICR write, as the AVIC silicon and then the hypervisor handle
 * it: the model delivers Fixed edge IPIs itself (IRR, then a doorbell for
 * running targets) and exits for the rest.
 */
static void lapic_send(struct vkvm_lapic *l, uint32_t idx, uint32_t low)
{
	struct vcpu *vcpu = l->vcpus[idx];
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	struct avic_cpu_opts o = { .current_host_apic_id = idx };
	struct avic_cpu_ipi out;
	uint64_t icr;

	__atomic_store_n(apic_reg(v->backing, APIC_ICR), low & ~(uint32_t)APIC_ICR_BUSY,
			 __ATOMIC_RELEASE);
	icr = ((uint64_t)__atomic_load_n(apic_reg(v->backing, APIC_ICR2), __ATOMIC_ACQUIRE)
	       << 32) | low;
	count(&l->st.ipis, 1);
	if (avic_cpu_icr_write(&v->vmcb, icr, &o, &out)) {
		/* AVIC off for this vCPU: the normal trap path emulates it. */
		avic_handle_unaccelerated_access(vcpu, APIC_ICR | BIT_ULL(32), NULL);
		return;
	}
	count(&l->st.doorbells, out.doorbells);
	if (!out.exit_code) {
		count(&l->st.ipi_accelerated, 1);
		return;
	}
	if (out.cause < ARRAY_SIZE(l->st.ipi_exits))
		count(&l->st.ipi_exits[out.cause], 1);
	avic_handle_incomplete_ipi(vcpu, out.exitinfo1, out.exitinfo2, NULL);
	/*
	 * Emulated INIT, SIPI and NMI became events on their targets, which
	 * only wakes sleeping ones (vcpu_wake): a target inside KVM_RUN needs
	 * a kick to look at them.  These IPIs are rare; kick every vCPU.
	 */
	if (out.cause == AVIC_IPI_FAILURE_INVALID_INT_TYPE ||
	    out.cause == AVIC_IPI_FAILURE_INVALID_TARGET)
		for (uint32_t i = 0; i < l->nr; i++)
			if (i != idx)
				l->kick(l->opaque, i);
}

bool vkvm_lapic_access(struct vkvm_lapic *l, uint32_t idx, uint32_t off, bool write,
		       uint32_t *val)
{
	struct vcpu *vcpu = l->vcpus[idx];
	void *regs = regs_of(l, idx);
	uint64_t info1 = off | (write ? BIT_ULL(32) : 0);

	if ((off & 0xF) || off >= VKVM_APIC_REGS * 0x10) {
		/* Not a register: reads 0, writes ignored (no ESR bit on xAPIC MMIO). */
		count(&l->st.bad_accesses, 1);
		if (!write)
			*val = 0;
		return false;
	}
	count(write ? &l->st.writes[off >> 4] : &l->st.reads[off >> 4], 1);
	if (!write) {
		/* Reads are accelerated from the page, except the fault class. */
		if (vlapic_avic_access_class(off) == VLAPIC_AVIC_FAULT)
			avic_handle_unaccelerated_access(vcpu, info1, val);
		else
			*val = __atomic_load_n(apic_reg(regs, off), __ATOMIC_ACQUIRE);
		return false;
	}
	if (off == APIC_ICR) {
		lapic_send(l, idx, *val);
		return false;
	}
	if (vlapic_avic_access_class(off) == VLAPIC_AVIC_TRAP) {
		/* The silicon stored it and advanced RIP; then the trap exit. */
		__atomic_store_n(apic_reg(regs, off), *val, __ATOMIC_RELEASE);
		avic_handle_unaccelerated_access(vcpu, info1, NULL);
		return false;
	}
	avic_handle_unaccelerated_access(vcpu, info1, val);
	return off == APIC_TASKPRI;
}

void vkvm_lapic_set_cr8(struct vkvm_lapic *l, uint32_t idx, uint64_t cr8)
{
	void *regs = regs_of(l, idx);
	uint32_t tpr = (uint32_t)(cr8 & 0xF) << 4;

	/* TPR[3:0] is not in CR8: keep it while the class agrees. */
	if ((__atomic_load_n(apic_reg(regs, APIC_TASKPRI), __ATOMIC_ACQUIRE) & 0xF0) != tpr)
		vlapic_write_tpr(regs, tpr);
}

uint64_t vkvm_lapic_cr8(struct vkvm_lapic *l, uint32_t idx)
{
	return (__atomic_load_n(apic_reg(regs_of(l, idx), APIC_TASKPRI), __ATOMIC_ACQUIRE) >> 4) &
	       0xF;
}

bool vkvm_lapic_deliverable(struct vkvm_lapic *l, uint32_t idx)
{
	return vlapic_has_deliverable(regs_of(l, idx));
}

int vkvm_lapic_accept(struct vkvm_lapic *l, uint32_t idx)
{
	int vec = vlapic_accept(regs_of(l, idx));

	if (vec >= 0)
		count(&l->st.injected, 1);
	return vec;
}

void vkvm_lapic_reset(struct vkvm_lapic *l, uint32_t idx)
{
	vlapic_reset(regs_of(l, idx), idx);
	avic_handle_ldr_update(l->vcpus[idx]);
}

void vkvm_lapic_stats(struct vkvm_lapic *l, struct vkvm_apic_stats *out)
{
	*out = l->st;
	for (uint32_t i = 0; i < l->nr; i++)
		out->wakeups += __atomic_load_n(&l->vcpus[i]->wakeups, __ATOMIC_RELAXED);
}
