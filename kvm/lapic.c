// SPDX-License-Identifier: MIT
/*
 * The guest's local APICs on the AVIC model: an adaptor that turns KVM's
 * MMIO and MSR exits into calls on the model and decides nothing itself.
 * The backing page holds the registers; the silicon model reads, stores and
 * classifies accesses (avic_apic_access) and resolves ICR writes through
 * the physical and logical tables (avic_icr_write), and its exits go to the
 * hypervisor's handlers exactly as sim/sim.c's do.  x2APIC legality is the
 * shared model's (vlapic_x2apic_*); the APIC timer is kvm/lapic_timer.c.
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
#include <vintc/vlapic.h>

#include "lapic_timer.h"

static void count(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static uint32_t reg_load(void *regs, uint32_t off)
{
	return __atomic_load_n(apic_reg(regs, off), __ATOMIC_ACQUIRE);
}

/*
 * The model's vcpu_kick() hook: something was posted to this vCPU alone
 * (INIT, SIPI, NMI).  The runner sets l->kick after vkvm_lapic_init,
 * before any vCPU thread starts.
 */
static void lapic_vm_kick(struct vcpu *vcpu, void *opaque)
{
	struct vkvm_lapic *l = opaque;

	if (l->kick)
		l->kick(l->opaque, vcpu->vcpu_idx);
}

/* The model's EOI hook: a level-triggered vector ended on this vCPU. */
static void lapic_vm_eoi(struct vcpu *vcpu, uint8_t vector, void *opaque)
{
	struct vkvm_lapic *l = opaque;

	if (l->eoi)
		l->eoi(l->opaque, vcpu->vcpu_idx, vector);
}

int vkvm_lapic_init(struct vkvm_lapic *l, uint32_t nr, char *why, size_t why_size)
{
	struct vm_config cfg = {
		.arch = VM_ARCH_AVIC,
		.max_vcpus = nr,
		.max_vcpu_ids = nr,
		/*
		 * x2AVIC: xAPIC guests run on it unchanged, and a vCPU may
		 * switch to x2APIC mode when the probe (kvm/probe.c) let the
		 * runner advertise it.
		 */
		.avic.model = AVIC_MODEL_X2AVIC,
	};
	int ret;

	memset(l, 0, sizeof(*l));
	vkvm_timer_init(l);
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
	vm_set_kick(l->vm, lapic_vm_kick, l);
	avic_set_eoi_hook(l->vm, lapic_vm_eoi, l);
	for (uint32_t i = 0; i < nr; i++) {
		ret = vcpu_create(l->vm, i, &l->vcpus[i]);
		if (ret) {
			snprintf(why, why_size, "cannot create AVIC vCPU %u: %s", i,
				 strerror(-ret));
			vkvm_lapic_fini(l);
			return ret;
		}
		/* APIC ID i, flat DFR, software-disabled, every LVT masked. */
		vlapic_reset(vkvm_lapic_regs(l, i), i);
		l->apic_base[i] = VKVM_APIC_BASE | MSR_IA32_APICBASE_ENABLE |
				  (i == 0 ? MSR_IA32_APICBASE_BSP : 0);
		l->nr = i + 1;
	}
	return 0;
}

void vkvm_lapic_fini(struct vkvm_lapic *l)
{
	vkvm_lapic_timer_stop(l);
	if (l->vm)
		vm_destroy(l->vm);
	l->vm = NULL;
	l->nr = 0;
	vkvm_timer_destroy(l);
}

/*
 * A guest ICR write (high << 32 | low), as the AVIC silicon and then the
 * hypervisor handle it: the model stores it, delivers Fixed edge IPIs
 * itself (IRR, then a doorbell for running targets) and exits for the rest.
 */
static void lapic_send(struct vkvm_lapic *l, uint32_t idx, uint64_t icr)
{
	struct avic_cpu_opts o = { .current_host_apic_id = idx };
	struct avic_cpu_ipi out;

	count(&l->st.ipis, 1);
	vkvm_trace_ev(l->trace, VKVM_EV_IPI, (uint32_t)icr);
	if (avic_icr_write(l->vcpus[idx], icr, &o, &out, NULL) == 1)
		return;		/* AVIC off for this vCPU: emulated as a plain APIC write */
	count(&l->st.doorbells, out.doorbells);
	if (!out.exit_code) {
		count(&l->st.ipi_accelerated, 1);
		return;
	}
	if (out.cause < ARRAY_SIZE(l->st.ipi_exits))
		count(&l->st.ipi_exits[out.cause], 1);
}

bool vkvm_lapic_access(struct vkvm_lapic *l, uint32_t idx, uint32_t off, bool write,
		       uint32_t *val)
{
	struct vcpu *vcpu = l->vcpus[idx];
	void *regs = vkvm_lapic_regs(l, idx);
	uint32_t old_lvtt;

	if ((off & 0xF) || off >= VKVM_APIC_REGS * 0x10) {
		/* Not a register: reads 0, writes ignored (no ESR bit on xAPIC MMIO). */
		count(&l->st.bad_accesses, 1);
		if (!write)
			*val = 0;
		return false;
	}
	count(write ? &l->st.writes[off >> 4] : &l->st.reads[off >> 4], 1);
	if (!write) {
		if (off == APIC_TMCCT)
			*val = vkvm_timer_current(l, idx);	/* the model has no timer */
		else
			avic_apic_access(vcpu, off, false, val);
		return false;
	}
	if (off == APIC_ICR) {
		lapic_send(l, idx, (uint64_t)reg_load(regs, APIC_ICR2) << 32 | *val);
		return false;
	}
	if (!vkvm_timer_reg(off)) {
		avic_apic_access(vcpu, off, true, val);
		return off == APIC_TASKPRI;
	}
	pthread_mutex_lock(&l->timer_lock);
	old_lvtt = reg_load(regs, APIC_LVTT);
	avic_apic_access(vcpu, off, true, val);
	vkvm_timer_written(l, idx, off, old_lvtt);
	pthread_mutex_unlock(&l->timer_lock);
	return false;
}

void vkvm_lapic_set_cr8(struct vkvm_lapic *l, uint32_t idx, uint64_t cr8)
{
	void *regs = vkvm_lapic_regs(l, idx);
	uint32_t tpr = (uint32_t)(cr8 & 0xF) << 4;

	/* TPR[3:0] is not in CR8: keep it while the class agrees. */
	if ((reg_load(regs, APIC_TASKPRI) & 0xF0) != tpr)
		vlapic_write_tpr(regs, tpr);
}

uint64_t vkvm_lapic_cr8(struct vkvm_lapic *l, uint32_t idx)
{
	return (reg_load(vkvm_lapic_regs(l, idx), APIC_TASKPRI) >> 4) & 0xF;
}

bool vkvm_lapic_deliverable(struct vkvm_lapic *l, uint32_t idx)
{
	/* A hardware-disabled APIC (APIC_BASE.EN = 0) takes no interrupts. */
	if (!(l->apic_base[idx] & MSR_IA32_APICBASE_ENABLE))
		return false;
	return vlapic_has_deliverable(vkvm_lapic_regs(l, idx));
}

int vkvm_lapic_accept(struct vkvm_lapic *l, uint32_t idx)
{
	int vec = vlapic_accept(vkvm_lapic_regs(l, idx));

	if (vec >= 0)
		count(&l->st.injected, 1);
	return vec;
}

void vkvm_lapic_set_directed_eoi(struct vkvm_lapic *l, bool offered)
{
	l->directed_eoi = offered;
	for (uint32_t i = 0; i < l->nr; i++)
		vlapic_set_directed_eoi(vkvm_lapic_regs(l, i), offered);
}

void vkvm_lapic_reset(struct vkvm_lapic *l, uint32_t idx)
{
	pthread_mutex_lock(&l->timer_lock);
	vlapic_reset(vkvm_lapic_regs(l, idx), idx);
	vlapic_set_directed_eoi(vkvm_lapic_regs(l, idx), l->directed_eoi);
	vkvm_timer_clear(l, idx);
	/* INIT leaves IA32_APIC_BASE alone: an x2APIC stays in x2APIC mode. */
	if (vkvm_lapic_x2apic(l, idx))
		vlapic_x2apic_set_id(vkvm_lapic_regs(l, idx), idx);
	pthread_mutex_unlock(&l->timer_lock);
	if (!vkvm_lapic_x2apic(l, idx))
		avic_handle_ldr_update(l->vcpus[idx]);
}

bool vkvm_lapic_x2apic(struct vkvm_lapic *l, uint32_t idx)
{
	return (l->apic_base[idx] & (MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD)) ==
	       (MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD);
}

bool vkvm_lapic_mmio_enabled(struct vkvm_lapic *l, uint32_t idx)
{
	return (l->apic_base[idx] & (MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD)) ==
	       MSR_IA32_APICBASE_ENABLE;
}

int vkvm_lapic_check_base(struct vkvm_lapic *l, uint32_t idx, uint64_t val,
			  bool x2apic_supported, unsigned int maxphyaddr)
{
	return vlapic_apic_base_check(l->apic_base[idx], val, x2apic_supported, maxphyaddr);
}

uint64_t vkvm_lapic_base(struct vkvm_lapic *l, uint32_t idx)
{
	return l->apic_base[idx];
}

/*
 * The transition is legal (vkvm_lapic_check_base, or KVM checked it); the
 * model follows what the shared model says it asks for.  A reset puts the
 * page back first, so that leaving x2AVIC mode then finds the xAPIC LDR
 * (0) for the logical table; entering x2APIC makes the ID 32 bits wide and
 * the LDR read-only and derived, and switches the AVIC vCPU to x2AVIC mode
 * (logical IDs no longer looked up).  The window moves before anything
 * else, so that the page is never reachable at a place it has left.
 */
bool vkvm_lapic_set_base(struct vkvm_lapic *l, uint32_t idx, uint64_t apic_base)
{
	uint64_t old = l->apic_base[idx];
	unsigned int what = vlapic_apic_base_change(old, apic_base);

	l->apic_base[idx] = apic_base;
	if ((what & VLAPIC_BASE_MOVED) && l->move)
		l->move(l->move_opaque, idx, old & VLAPIC_APIC_BASE_ADDR,
			apic_base & VLAPIC_APIC_BASE_ADDR);
	if (what & VLAPIC_BASE_RESET)
		vkvm_lapic_reset(l, idx);
	if (what & VLAPIC_BASE_X2APIC_OFF)
		(void)avic_set_x2apic_mode(l->vcpus[idx], false);
	if (what & VLAPIC_BASE_X2APIC_ON) {
		pthread_mutex_lock(&l->timer_lock);
		vlapic_x2apic_set_id(vkvm_lapic_regs(l, idx), idx);
		pthread_mutex_unlock(&l->timer_lock);
		(void)avic_set_x2apic_mode(l->vcpus[idx], true);
	}
	return what & VLAPIC_BASE_RESET;
}

int vkvm_lapic_msr(struct vkvm_lapic *l, uint32_t idx, uint32_t msr, bool write,
		   uint64_t *val)
{
	void *regs = vkvm_lapic_regs(l, idx);
	uint32_t off, v32;

	if (msr < X2APIC_MSR_FIRST || msr > X2APIC_MSR_LAST || !vkvm_lapic_x2apic(l, idx))
		return -EINVAL;
	off = (msr - X2APIC_MSR_FIRST) << 4;
	if (!write) {
		if (!vlapic_x2apic_readable(off))
			return -EINVAL;
		if (off == APIC_ICR) {
			/* One 64-bit register: the destination is ICR2's word. */
			count(&l->st.reads[off >> 4], 1);
			*val = ((uint64_t)reg_load(regs, APIC_ICR2) << 32) | reg_load(regs, APIC_ICR);
			return 0;
		}
		vkvm_lapic_access(l, idx, off, false, &v32);
		*val = v32;
		return 0;
	}
	if (vlapic_x2apic_check_write(off, *val))
		return -EINVAL;
	v32 = (uint32_t)*val;
	if (off == APIC_SELF_IPI) {
		count(&l->st.writes[off >> 4], 1);
		/* x2AVIC accelerates it: IRR set, nothing else to do for self. */
		if (v32 >= 16) {
			count(&l->st.ipis, 1);
			count(&l->st.ipi_accelerated, 1);
			avic_deliver(l->vcpus[idx], (uint8_t)v32);
			return 0;
		}
		/* An illegal vector goes the ICR way, to ESR. */
		count(&l->st.writes[APIC_ICR >> 4], 1);
		lapic_send(l, idx, (uint64_t)APIC_SH_SELF << 18 | v32);
		return 0;
	}
	if (off == APIC_ICR) {
		/* One 64-bit write: the silicon stores both halves. */
		count(&l->st.writes[APIC_ICR >> 4], 1);
		lapic_send(l, idx, *val);
		return 0;
	}
	return vkvm_lapic_access(l, idx, off, true, &v32) ? 1 : 0;
}

void vkvm_lapic_stats(struct vkvm_lapic *l, struct vkvm_apic_stats *out)
{
	*out = l->st;
	for (uint32_t i = 0; i < l->nr; i++)
		out->wakeups += __atomic_load_n(&l->vcpus[i]->wakeups, __ATOMIC_RELAXED);
}
