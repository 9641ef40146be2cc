/* SPDX-License-Identifier: MIT */
/*
 * hyp/vgic_v5: the hypervisor side of GICv5 virtualization, private to
 * hyp/.  vgic_v5_host.c holds the IRS access protocol, probe and remove
 * and the VM table; vgic_v5.c the per-VM state (doorbells, VMTE and its
 * descriptors, init and teardown), residency and the ops.  Everything
 * outside hyp/ goes through the accessors of <vintc/vgic_v5.h>.
 */
#ifndef VINTC_HYP_VGIC_V5_PRIV_H
#define VINTC_HYP_VGIC_V5_PRIV_H

#include <vintc/vgic_v5.h>

struct vgic_v5_host {
	struct gicv5_irs *irs;
	struct host_mutex irs_lock;	/* every IRS register access and table write */
	struct host_mutex l2_lock;	/* on-demand L2 VM tables */
	bool two_level;
	unsigned int vm_id_bits, vpe_id_bits_max, poll_budget;
	size_t vmd_size, vped_size;	/* vmd_size 0: the IRS wants no VMD */
	void *vmt;			/* linear table, or the L1 table */
	void **vmt_l2;			/* two-level: L2 tables by L1 index */
	uint32_t nr_l1;
	struct id_space *ids;		/* VM IDs: 1..2^vm_id_bits-1, 0 means none */
	struct vgic_v5_host *quarantine_next;
};

struct vgic_v5_db {
	uint32_t lpi;			/* 0: not allocated */
	bool requested;			/* handler attached */
};

struct vgic_v5_vm {
	struct vm vm;
	struct vgic_v5_host *host;
	uint32_t vm_id;			/* 0: none */
	bool vmte_allocated;
	bool teardown_failed;		/* a teardown step ever failed: retire the ID */
	bool dead;			/* a command timed out or residency faulted */
	struct vgic_v5_db *db;		/* doorbell domain: one host LPI per vCPU index */
	uint32_t nr_db;
	void *vmd, *vpet, *vpeds, *lpi_ist, *spi_ist;
	void **lpi_ist_l2;		/* two-level vLPI IST */
	uint32_t nr_lpi_l2;
	unsigned int vpe_id_bits;
};

struct vgic_v5_vcpu {
	struct vcpu vcpu;
	uint32_t db_fired;		/* set by the doorbell handler */
	uint32_t irq_pending_req;	/* "an IRQ is pending" request */
	bool resident;
	bool vcpu_if_enabled;		/* virtual CPU interface on */
	uint8_t vpmr;			/* virtual priority mask */
	uint8_t active_prio;		/* highest active priority, 32: none */
	uint64_t db_handled;
};

static inline struct vgic_v5_vm *to_vgic_v5_vm(struct vm *vm)
{
	return container_of(vm, struct vgic_v5_vm, vm);
}

static inline struct vgic_v5_vcpu *to_vgic_v5_vcpu(struct vcpu *vcpu)
{
	return container_of(vcpu, struct vgic_v5_vcpu, vcpu);
}

/* Table entries are shared with the IRS: every access is atomic. */
static inline uint64_t vgic_v5_entry_read(const uint64_t *e)
{
	return __atomic_load_n(e, __ATOMIC_ACQUIRE);
}

static inline void vgic_v5_entry_write(uint64_t *e, uint64_t v)
{
	__atomic_store_n(e, v, __ATOMIC_RELEASE);
}

/* vgic_v5_host.c; the IRS accessors are called with irs_lock held. */
uint32_t vgic_v5_irs_read32(struct vgic_v5_host *h, uint32_t off);
int vgic_v5_irs_wait_idle(struct vgic_v5_host *h, uint32_t statusr);
int vgic_v5_irs_command(struct vgic_v5_host *h, uint32_t reg, uint64_t val,
			unsigned int size, uint32_t statusr);
int vgic_v5_vmt_l2_map(struct vgic_v5_host *h, uint32_t vm_id);

#endif
