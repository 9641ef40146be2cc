// SPDX-License-Identifier: MIT
/*
 * AMD AVIC, hypervisor side: the exits.  What the silicon leaves to
 * software comes here, from either engine: incomplete IPIs (emulated or
 * woken up), unaccelerated APIC accesses (trap-class side effects,
 * fault-class emulation), and the non-Fixed IPIs that become events for
 * the engine to act on (INIT, SIPI, NMI, SMI).
 */
#include <vintc/avic.h>
#include <vintc/avic_cpu.h>
#include <vintc/vlapic.h>

#include "avic_priv.h"

/* ---- incomplete-IPI exits: the software path ---------------------------- */

bool avic_vcpu_match_dest(struct vcpu *vcpu, uint32_t dest, bool logical, bool x2apic)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	uint32_t ldr, id = vcpu->vcpu_id;

	if (!logical)
		return dest == (x2apic ? 0xFFFFFFFFU : 0xFFU) || dest == id;
	if (x2apic) {
		/* The x2APIC logical ID is derived: cluster in 31:16, one bit in 15:0. */
		if (dest == 0xFFFFFFFFU)
			return true;
		ldr = vlapic_x2apic_ldr(id);
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xFFFF);
	}
	ldr = (uint32_t)FIELD_GET(APIC_LDR_LOGICAL_ID, *apic_reg(v->backing, APIC_LDR));
	if (dest == 0xFF)
		return true;
	if ((*apic_reg(v->backing, APIC_DFR) >> 28) == 0xF)
		return ldr & dest;
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xF);
}

static void avic_post_event(struct vcpu *target, uint8_t mode, uint8_t vector)
{
	struct avic_vcpu *t = to_avic_vcpu(target);
	uint32_t ev;

	switch (mode) {
	case APIC_DM_NMI:
		/*
		 * Counted, not merged into the flag: two NMIs that arrive
		 * before the engine looks are two NMIs, as KVM's LAPIC queues
		 * each one.  Which of them the CPU merges (one in service, one
		 * latched) is for the CPU to decide, not the APIC.
		 */
		__atomic_add_fetch(&t->nmis, 1, __ATOMIC_RELAXED);
		ev = AVIC_EVENT_NMI;
		break;
	case APIC_DM_INIT:
		ev = AVIC_EVENT_INIT;
		break;
	case APIC_DM_STARTUP:
		WRITE_ONCE(t->sipi_vector, vector);
		ev = AVIC_EVENT_SIPI;
		break;
	case APIC_DM_SMI:
		ev = AVIC_EVENT_SMI;
		break;
	default:
		return;		/* reserved delivery modes are dropped */
	}
	__atomic_fetch_or(&t->events, ev, __ATOMIC_SEQ_CST);
	/* No doorbell carries events: the engine must look, this vCPU only. */
	vcpu_kick(target);
}

uint32_t avic_vcpu_take_events(struct vcpu *vcpu, uint8_t *sipi_vector)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	uint32_t ev = __atomic_exchange_n(&v->events, 0, __ATOMIC_ACQ_REL);

	if (sipi_vector)
		*sipi_vector = READ_ONCE(v->sipi_vector);
	return ev;
}

uint32_t avic_vcpu_take_nmis(struct vcpu *vcpu)
{
	return __atomic_exchange_n(&to_avic_vcpu(vcpu)->nmis, 0, __ATOMIC_ACQ_REL);
}

bool avic_vcpu_has_events(struct vcpu *vcpu)
{
	return __atomic_load_n(&to_avic_vcpu(vcpu)->events, __ATOMIC_ACQUIRE) != 0;
}

/* Every vCPU the ICR names, as the software APIC would resolve it. */
static bool avic_ipi_targets(struct vcpu *sender, struct vcpu *t, const struct vlapic_icr *d,
			     bool x2apic)
{
	switch (d->shorthand) {
	case APIC_SH_SELF:
		return t == sender;
	case APIC_SH_ALL:
		return true;
	case APIC_SH_OTHERS:
		return t != sender;
	default:
		return avic_vcpu_match_dest(t, d->dest, d->dest_logical, x2apic);
	}
}

static void avic_emulate_ipi(struct vcpu *sender, const struct vlapic_icr *d, bool x2apic,
			     struct avic_ipi_stats *st)
{
	struct vm *vm = sender->vm;

	/*
	 * Vectors 0-15 are illegal for Fixed and Lowest Priority: the sender
	 * sets ESR "send illegal vector" and no target gets it (SDM 10.5.3),
	 * as for the INVALID_IPI_VECTOR exit of an accelerated Fixed IPI.
	 */
	if ((d->delivery_mode == APIC_DM_FIXED || d->delivery_mode == APIC_DM_LOWEST) &&
	    d->vector < 16) {
		__atomic_fetch_or(&to_avic_vcpu(sender)->esr_pending, APIC_ESR_SEND_ILLEGAL_VECTOR,
				  __ATOMIC_RELAXED);
		return;
	}
	/*
	 * INIT level de-assert (level-triggered, Level = 0) only copies every
	 * APIC's ID into its arbitration ID: it resets nobody (SDM 10.6.1;
	 * KVM ignores it too).
	 */
	if (d->delivery_mode == APIC_DM_INIT && d->trigger_level && !d->level_assert)
		return;
	for (uint32_t i = 0; i < vm_nr_vcpus(vm); i++) {
		struct vcpu *t = vm_get_vcpu(vm, i);

		if (!avic_ipi_targets(sender, t, d, x2apic))
			continue;
		/* Lowest priority is delivered to every match, as KVM does without arbitration. */
		if (d->delivery_mode == APIC_DM_FIXED || d->delivery_mode == APIC_DM_LOWEST)
			avic_deliver(t, d->vector);
		else
			avic_post_event(t, d->delivery_mode, d->vector);
		if (st)
			st->emulated++;
	}
}

/* ---- interrupt messages from the system bus (I/O APICs) ------------------ */

static bool avic_sw_enabled(struct avic_vcpu *v)
{
	return __atomic_load_n(apic_reg(v->backing, APIC_SPIV), __ATOMIC_ACQUIRE) &
	       APIC_SPIV_APIC_ENABLED;
}

/* The bus message's 0xFF is a broadcast to an x2APIC-mode APIC as well. */
static bool avic_irq_match(struct vcpu *t, const struct vlapic_icr *irq)
{
	struct avic_vcpu *v = to_avic_vcpu(t);
	uint32_t dest = irq->dest;

	if (v->x2apic && dest == 0xFF)
		dest = 0xFFFFFFFFU;
	return avic_vcpu_match_dest(t, dest, irq->dest_logical, v->x2apic);
}

/*
 * Into IRR, with TMR first: the EOI that ends the vector must find TMR as
 * this acceptance left it, so the store is ordered before IRR's (and so
 * before the guest can take and EOI the vector).
 */
static void avic_accept_irq(struct vcpu *t, uint8_t vector, bool level)
{
	uint32_t *tmr = apic_reg(to_avic_vcpu(t)->backing, APIC_VECTOR_WORD(APIC_TMR, vector));

	if (level)
		host_set_bit32(tmr, APIC_VECTOR_BIT(vector));
	else
		host_clear_bit32(tmr, APIC_VECTOR_BIT(vector));
	avic_deliver(t, vector);
}

/*
 * Lowest priority among the matching software-enabled APICs.  The SDM
 * leaves the choice among them to the platform; KVM hashes the vector
 * over them (its vector hashing), which spreads vectors and needs no
 * snapshot of TPRs that move under us, so the model does the same.
 */
static int avic_deliver_lowest(struct vm *vm, const struct vlapic_icr *irq)
{
	uint32_t n = 0, pick;

	for (uint32_t i = 0; i < vm_nr_vcpus(vm); i++) {
		struct vcpu *t = vm_get_vcpu(vm, i);

		if (avic_irq_match(t, irq) && avic_sw_enabled(to_avic_vcpu(t)))
			n++;
	}
	if (!n)
		return 0;
	pick = irq->vector % n;
	for (uint32_t i = 0; i < vm_nr_vcpus(vm); i++) {
		struct vcpu *t = vm_get_vcpu(vm, i);

		if (!avic_irq_match(t, irq) || !avic_sw_enabled(to_avic_vcpu(t)))
			continue;
		if (!pick--) {
			avic_accept_irq(t, irq->vector, irq->trigger_level);
			return 1;
		}
	}
	return 0;		/* an APIC changed under us: the message is lost */
}

int avic_deliver_irq(struct vm *vm, const struct vlapic_icr *irq)
{
	uint8_t mode = irq->delivery_mode;
	int accepted = 0;

	if (mode == APIC_DM_LOWEST && !irq->dest_logical && irq->dest == 0xFF)
		mode = APIC_DM_FIXED;
	for (uint32_t i = 0; i < vm_nr_vcpus(vm); i++) {
		struct vcpu *t = vm_get_vcpu(vm, i);
		struct avic_vcpu *v = to_avic_vcpu(t);

		if (!avic_irq_match(t, irq))
			continue;
		switch (mode) {
		case APIC_DM_FIXED:
		case APIC_DM_LOWEST:
			if (irq->vector < 16) {
				__atomic_fetch_or(&v->esr_pending, APIC_ESR_RECV_ILLEGAL_VECTOR,
						  __ATOMIC_RELAXED);
				continue;
			}
			/* Software-disabled: KVM's LAPIC drops it, and so do we. */
			if (mode == APIC_DM_LOWEST || !avic_sw_enabled(v))
				continue;
			avic_accept_irq(t, irq->vector, irq->trigger_level);
			accepted++;
			break;
		case APIC_DM_NMI:
		case APIC_DM_INIT:
		case APIC_DM_SMI:
			avic_post_event(t, mode, irq->vector);
			accepted++;
			break;
		default:
			return 0;	/* ExtINT and the reserved modes reach nobody */
		}
	}
	if (mode == APIC_DM_LOWEST && irq->vector >= 16)
		return avic_deliver_lowest(vm, irq);
	return accepted;
}

void avic_set_eoi_hook(struct vm *vm, void (*fn)(struct vcpu *vcpu, uint8_t vector, void *opaque),
		       void *opaque)
{
	struct avic_vm *k = to_avic_vm(vm);

	k->eoi_hook = fn;
	k->eoi_opaque = opaque;
}

int avic_handle_incomplete_ipi(struct vcpu *vcpu, uint64_t exitinfo1, uint64_t exitinfo2,
			       struct avic_ipi_stats *st)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	uint32_t cause = (uint32_t)(exitinfo2 >> 32);
	struct vlapic_icr d = vlapic_icr_decode(exitinfo1, v->x2apic);
	struct vm *vm = vcpu->vm;

	if (st && cause < ARRAY_SIZE(st->by_cause))
		st->by_cause[cause]++;
	host_log(HOST_LOG_DEBUG, "AVIC: incomplete IPI from vCPU %u: ICR 0x%016llx, cause %u",
		 vcpu->vcpu_idx, (unsigned long long)exitinfo1, cause);
	switch (cause) {
	case AVIC_IPI_FAILURE_TARGET_NOT_RUNNING:
		/*
		 * The silicon already set IRR in every target: only the ones it
		 * could not doorbell need the hypervisor, and only a kick (with
		 * IPIv off that includes running targets: the table never says
		 * so).
		 */
		for (uint32_t i = 0; i < vm_nr_vcpus(vm); i++) {
			struct vcpu *t = vm_get_vcpu(vm, i);

			/* A target the table showed running got its doorbell already. */
			if (!avic_ipi_targets(vcpu, t, &d, v->x2apic) ||
			    (avic_vcpu_table_entry(t) & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING))
				continue;
			avic_kick(t);
			if (st)
				st->woken++;
		}
		return 0;
	case AVIC_IPI_FAILURE_INVALID_INT_TYPE:
	case AVIC_IPI_FAILURE_INVALID_TARGET:
		avic_emulate_ipi(vcpu, &d, v->x2apic, st);
		return 0;
	case AVIC_IPI_FAILURE_INVALID_IPI_VECTOR:
		/* A real APIC reports it; the guest sees it at its next ESR write. */
		__atomic_fetch_or(&v->esr_pending, APIC_ESR_SEND_ILLEGAL_VECTOR, __ATOMIC_RELAXED);
		return 0;
	case AVIC_IPI_FAILURE_INVALID_BACKING_PAGE:
		if (st)
			st->bad_backing_page++;
		host_log(HOST_LOG_ERR, "AVIC: invalid backing page in VM %u", to_avic_vm(vm)->vm_id);
		return -EFAULT;
	default:
		if (st)
			st->bad_cause++;
		return -EINVAL;
	}
}

/* ---- unaccelerated APIC accesses ------------------------------------------ */

/* One past the last APIC register slot (x2APIC SELF_IPI at 0x3F0). */
#define AVIC_APIC_REGS_END 0x400U

/* A trap-class write is in the page already: give it its side effects. */
static int avic_trap_write(struct vcpu *vcpu, unsigned int off)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	void *regs = v->backing;
	uint32_t val = *apic_reg(regs, off);

	/*
	 * The silicon stored the guest's value whole; reserved bits do not
	 * stick on a real APIC, so keep only what software can set (ICR,
	 * EOI, ESR and SVR have no mask here: their handlers below decide).
	 */
	val = vlapic_sanitize_write(regs, off, val);
	*apic_reg(regs, off) = val;
	switch (off) {
	case APIC_ID:
		/* AVIC indexes tables by the original ID: software APIC from now on. */
		if (FIELD_GET(APIC_XAPIC_ID, val) != (vcpu->vcpu_id & 0xFF))
			avic_set_inhibit(vcpu->vm, AVIC_INHIBIT_APIC_ID_MODIFIED);
		return 0;
	case APIC_LDR:
		avic_handle_ldr_update(vcpu);
		return 0;
	case APIC_DFR:
		avic_handle_dfr_update(vcpu);
		return 0;
	case APIC_EOI: {
		/*
		 * End the highest in service (the model traps every EOI; the
		 * silicon only those of level-triggered vectors).  A vector
		 * accepted level-triggered (TMR set) ends at the I/O APICs too.
		 */
		int vec = vlapic_eoi(regs);
		struct avic_vm *k = to_avic_vm(vcpu->vm);

		if (vec >= 0 && k->eoi_hook &&
		    (__atomic_load_n(apic_reg(regs, APIC_VECTOR_WORD(APIC_TMR, vec)),
				     __ATOMIC_ACQUIRE) & (1U << APIC_VECTOR_BIT(vec))))
			k->eoi_hook(vcpu, (uint8_t)vec, k->eoi_opaque);
		return 0;
	}
	case APIC_SPIV:
		vlapic_write_svr(regs, val);
		return 0;
	case APIC_ESR:
		vlapic_write_esr(regs, &v->esr_pending);
		return 0;
	case APIC_ICR: {
		uint64_t icr = ((uint64_t)*apic_reg(regs, APIC_ICR2) << 32) | val;
		struct vlapic_icr d = vlapic_icr_decode(icr, v->x2apic);

		*apic_reg(regs, APIC_ICR) = val & ~(uint32_t)APIC_ICR_BUSY;
		avic_emulate_ipi(vcpu, &d, v->x2apic, NULL);
		return 0;
	}
	case APIC_RRR:
		return 0;		/* read-only: the write is dropped */
	default:
		return 0;		/* LVTs, timer count and divide: stored as written */
	}
}

int avic_handle_unaccelerated_access(struct vcpu *vcpu, uint64_t exitinfo1, uint32_t *val)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	unsigned int off = (unsigned int)(exitinfo1 & 0xFF0);
	bool write = exitinfo1 & BIT_ULL(32);

	if (avic_cpu_access_class(off) == AVIC_ACCESS_TRAP)
		return write ? avic_trap_write(vcpu, off) : -EINVAL;
	if (!val)
		return -EINVAL;
	/*
	 * The offset comes from the guest's access.  Past the last register
	 * slot (0x3F0) the page holds no register: reads 0, writes are
	 * dropped, as the KVM runner's xAPIC MMIO does, rather than letting
	 * the guest scribble over the rest of the backing page.
	 */
	if (off >= AVIC_APIC_REGS_END) {
		if (!write)
			*val = 0;
		return 0;
	}
	if (!write) {
		/*
		 * No timer is modelled: the current count reads 0.  IRR may be
		 * changing under us (senders, devices, the timer thread).
		 */
		*val = off == APIC_TMCCT ? 0 :
		       __atomic_load_n(apic_reg(v->backing, off), __ATOMIC_ACQUIRE);
		return 0;
	}
	switch (off) {
	case APIC_TASKPRI:
		vlapic_write_tpr(v->backing, *val);
		return 0;
	case APIC_ICR2:
		/* The silicon accelerates it; the same store when it does not. */
		*apic_reg(v->backing, off) = v->x2apic ? *val : *val & APIC_ICR2_XAPIC_DEST;
		return 0;
	case APIC_LVR: case APIC_ARBPRI: case APIC_PROCPRI: case APIC_TMCCT:
		return 0;		/* read-only: writes are ignored */
	default:
		/*
		 * Every other fault-class offset is read-only (ISR, TMR, IRR)
		 * or holds no register at all (0x40-0x70, 0x3A0-0x3D0, 0x3F0,
		 * LVT CMCI, which AMD's xAPIC lacks): the write is dropped.
		 */
		return 0;
	}
}

/* ---- the exit dispatcher and the ICR send path ------------------------------ */

int avic_handle_exit(struct vcpu *vcpu, uint64_t exit_code, uint64_t exitinfo1,
		     uint64_t exitinfo2, uint32_t *val, struct avic_ipi_stats *st)
{
	switch (exit_code) {
	case SVM_EXIT_AVIC_INCOMPLETE_IPI:
		return avic_handle_incomplete_ipi(vcpu, exitinfo1, exitinfo2, st);
	case SVM_EXIT_AVIC_UNACCELERATED_ACCESS:
		return avic_handle_unaccelerated_access(vcpu, exitinfo1, val);
	default:
		return -EINVAL;
	}
}

int avic_icr_write(struct vcpu *vcpu, uint64_t icr, const struct avic_cpu_opts *opts,
		   struct avic_cpu_ipi *out, struct avic_ipi_stats *st)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	struct avic_cpu_ipi ignored;
	int r;

	if (!out)
		out = &ignored;
	r = avic_cpu_icr_write(&v->vmcb, icr, opts, out);
	if (r == -ENODEV) {
		/*
		 * Not an AVIC access: the APIC intercept stores the write (ICR
		 * high first, as the silicon does) and the trap path emulates it.
		 */
		*out = (struct avic_cpu_ipi){ .cause = AVIC_CPU_NO_CAUSE };
		__atomic_store_n(apic_reg(v->backing, APIC_ICR2), (uint32_t)(icr >> 32),
				 __ATOMIC_RELAXED);
		__atomic_store_n(apic_reg(v->backing, APIC_ICR), (uint32_t)icr, __ATOMIC_RELAXED);
		r = avic_handle_exit(vcpu, SVM_EXIT_AVIC_UNACCELERATED_ACCESS,
				     APIC_ICR | BIT_ULL(32), 0, NULL, st);
		return r ? r : 1;
	}
	if (r || !out->exit_code)
		return r;
	return avic_handle_exit(vcpu, out->exit_code, out->exitinfo1, out->exitinfo2, NULL, st);
}

int avic_apic_access(struct vcpu *vcpu, unsigned int offset, bool write, uint32_t *val)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	struct avic_cpu_access a;
	int r;

	r = avic_cpu_apic_access(&v->vmcb, offset, write, val, &a);
	if (r == -ENODEV) {
		/*
		 * Intercepted, not an AVIC access: do what the silicon would
		 * (read or store a trap-class register), then the same exits.
		 */
		if (avic_cpu_access_class(offset) == AVIC_ACCESS_TRAP) {
			if (!write) {
				*val = __atomic_load_n(apic_reg(v->backing, offset),
						       __ATOMIC_ACQUIRE);
				return 0;
			}
			__atomic_store_n(apic_reg(v->backing, offset), *val, __ATOMIC_RELEASE);
		}
		a = (struct avic_cpu_access){
			.exit_code = SVM_EXIT_AVIC_UNACCELERATED_ACCESS,
			.exitinfo1 = offset | (write ? BIT_ULL(32) : 0),
		};
		r = 0;
	}
	if (r || !a.exit_code)
		return r;
	return avic_handle_exit(vcpu, a.exit_code, a.exitinfo1, a.exitinfo2, val, NULL);
}
