/* SPDX-License-Identifier: MIT */
/*
 * hyp/avic*.c internals: the backend's per-VM and per-vCPU state and what
 * its files share.  Nothing outside hyp/ includes this but the harnesses
 * (tests, fuzz), which look inside on purpose; engines and tools use the
 * accessors of <vintc/avic.h>.
 *
 * The files call one way only: avic_exit.c (exits) and avic_iommu.c
 * (posted interrupts, GA log) call avic.c (tables, load/put), never the
 * reverse.  Where avic.c must reach the IRTEs (load, put, vCPU
 * destruction) it calls the hooks avic_iommu.c installs on the vCPU with
 * its first IRTE.
 */
#ifndef VINTC_HYP_AVIC_PRIV_H
#define VINTC_HYP_AVIC_PRIV_H

#include <vintc/avic.h>

struct avic_irte;
struct avic_irte_ops;

struct avic_vm {
	struct vm vm;
	struct id_space *ids;
	uint32_t vm_id;			/* 0: none (not hashed) */
	uint64_t *physical_table;
	uint32_t physical_max_id;	/* highest index the table holds */
	uint32_t *logical_table;
	struct host_mutex logical_lock;
	uint64_t inhibits;		/* bit per enum avic_inhibit, atomic */
	/* Level-triggered EOIs to the engine's I/O APICs (avic_set_eoi_hook). */
	void (*eoi_hook)(struct vcpu *vcpu, uint8_t vector, void *opaque);
	void *eoi_opaque;
};

struct avic_vcpu {
	struct vcpu vcpu;
	void *backing;			/* the vAPIC page: APIC registers */
	uint64_t backing_pa;
	/* Shadow of the physical-table entry, with the software GA_LOG_INTR. */
	uint64_t physical_entry;
	uint64_t *physical_entry_ptr;	/* NULL: ID too big for the table */
	struct host_mutex ir_list_lock;
	/*
	 * IOMMU posted interrupts (hyp/avic_iommu.c), all under ir_list_lock:
	 * the IRTEs posting to this vCPU, the destination, IsRun and
	 * GALogIntr that load/put last gave them (what attach copies), and
	 * the hooks through which avic.c updates them.
	 */
	struct avic_irte *ir_list;
	const struct avic_irte_ops *ir_ops;	/* NULL until the first attach */
	uint32_t ir_dest;
	bool ir_is_run;
	bool ir_ga_log_intr;
	uint32_t ldr, dfr;		/* last values applied to the logical table */
	int logical_index;		/* -1: no logical-table entry */
	bool x2apic;
	uint32_t events;		/* AVIC_EVENT_*, atomic */
	uint32_t nmis;			/* NMIs posted and not yet taken, atomic */
	uint8_t sipi_vector;
	uint32_t esr_pending;		/* errors since the last ESR write */
	struct vmcb_avic_control vmcb;
};

static inline struct avic_vm *to_avic_vm(struct vm *vm)
{
	return container_of(vm, struct avic_vm, vm);
}

static inline struct avic_vcpu *to_avic_vcpu(struct vcpu *vcpu)
{
	return container_of(vcpu, struct avic_vcpu, vcpu);
}

/*
 * The IRTE side of a vCPU (hyp/avic_iommu.c), as hyp/avic.c calls it.
 *   sync_locked  ir_list_lock held: rewrite every IRTE from ir_dest,
 *                ir_is_run, ir_ga_log_intr and the GA tag
 *   detach_all   vCPU destruction: every IRTE out of guest mode and
 *                flushed (avic_irte_detach_all); sleeps, no lock held
 */
struct avic_irte_ops {
	void (*sync_locked)(struct avic_vcpu *v);
	void (*detach_all)(struct vcpu *vcpu);
};

/*
 * IRR is set and a full barrier done: doorbell a vCPU in guest mode,
 * vcpu_kick() any other (hyp/avic.c).
 */
void avic_kick(struct vcpu *vcpu);

#endif
