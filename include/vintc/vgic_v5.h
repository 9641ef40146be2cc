/* SPDX-License-Identifier: MIT */
/*
 * hyp/vgic_v5*.c: the hypervisor side of GICv5 virtualization.  The IRS is
 * probed once (VM table, VM ID space); each VM is initialised after its
 * vCPUs exist (VM ID, doorbells, VMTE with VMD, VPET, VPEDs and vISTs,
 * VPEs) and torn down by one idempotent teardown that works from any
 * partial state.  VPEs become resident on vCPU load; a vCPU put on the way
 * into WFI requests a doorbell.  The host, VM and vCPU structs are private
 * to hyp/ (hyp/vgic_v5_priv.h); the accessors at the end expose their state.
 */
#ifndef VINTC_VGIC_V5_H
#define VINTC_VGIC_V5_H

#include <vintc/gicv5_irs.h>
#include <vintc/idalloc.h>
#include <vintc/vm.h>

struct vgic_v5_host;

struct vgic_v5_host_opts {
	bool two_level;			/* two-level VM table (needs IDR3.VMT_LEVELS) */
	unsigned int vm_id_bits;	/* 0: IDR3.VM_ID_BITS */
	unsigned int poll_budget;	/* STATUSR reads before -ETIMEDOUT, 0: 10000 */
};

int vgic_v5_probe(struct gicv5_irs *irs, const struct vgic_v5_host_opts *opts,
		  struct vgic_v5_host **out);
/*
 * A probe whose VMT_BASER write never completed cannot free the VM table:
 * the IRS may still install it.  Such tables wait in quarantine; reclaim
 * frees those the IRS now confirms unused and returns how many remain.
 */
int vgic_v5_reclaim(void);
/* -EBUSY while a VM holds an ID; retired IDs do not count. */
int vgic_v5_remove(struct vgic_v5_host *host);

/*
 * Initialise the VM's GICv5 state once its vCPUs exist.  -ENODEV with no
 * vCPUs, -EBUSY if already initialised, -ENOSPC when VM IDs are exhausted
 * (silently), -E2BIG beyond the IRS's VPEs.  Any failure runs the teardown.
 */
int vgic_v5_init(struct vm *vm);
/*
 * Idempotent, callable after any partial init.  Returns 0 when everything
 * is released; on failure it keeps what the IRS may still reference and the
 * VM ID, and may be called again.  An ID whose teardown ever failed is
 * retired, never reused.
 */
int vgic_v5_teardown(struct vm *vm);

/* Virtual CPU interface state the doorbell priority mask derives from. */
void vgic_v5_set_vcpu_if(struct vcpu *vcpu, bool enabled, uint8_t vpmr, uint8_t active_prio);
/* DBPM requested on a WFI put, or -1 when no doorbell would be requested. */
int vgic_v5_doorbell_dbpm(struct vcpu *vcpu);
/* Address of the VM's VMTE (NULL without one) and of a VPETE. */
uint64_t *vgic_v5_vmte(struct vgic_v5_host *host, uint32_t vm_id);
uint64_t *vgic_v5_vpete(struct vm *vm, uint32_t vpe_id);
/* Consume db_fired (the pending check after a wake-up). */
bool vgic_v5_take_doorbell(struct vcpu *vcpu);

/*
 * State for engines, the CLI and checks; the structs behind it are
 * private to hyp/.
 */
/* The VM's ID in the VM table, 0 while it has none. */
uint32_t vgic_v5_vm_id(struct vm *vm);
/* ID bits of the VM's VPE table (2^bits VPETEs), 0 without one. */
unsigned int vgic_v5_vpe_id_bits(struct vm *vm);
/* The VM's VMTE, NULL while it has no VM ID. */
uint64_t *vgic_v5_vm_vmte(struct vm *vm);
/* Whether the vCPU's VPE is resident: a plain read, for the vCPU's own
 * thread or a stopped vCPU. */
bool vgic_v5_vcpu_resident(struct vcpu *vcpu);
/* Doorbells the vCPU's handler has taken since it was created. */
uint64_t vgic_v5_vcpu_doorbells(struct vcpu *vcpu);

struct vgic_v5_host_info {
	bool two_level;			/* two-level VM table */
	unsigned int vm_id_bits;	/* VM IDs 1..2^vm_id_bits-1 */
	unsigned int vpe_id_bits_max;	/* IDR4.VPE_ID_BITS */
	uint64_t vmt_pa;		/* the linear VM table, or the L1 table */
	uint32_t nr_l1;			/* two-level: entries of the L1 table */
};
void vgic_v5_host_info(struct vgic_v5_host *host, struct vgic_v5_host_info *info);
/* The VM ID space, for id_space_used() and id_space_retired(). */
struct id_space *vgic_v5_host_ids(struct vgic_v5_host *host);
/* Two-level: the L1 entry covering vm_id; NULL for a linear table. */
uint64_t *vgic_v5_vmt_l1e(struct vgic_v5_host *host, uint32_t vm_id);
/* An IRS register read under the host's IRS lock (a STATUSR read is a poll). */
uint64_t vgic_v5_irs_read(struct vgic_v5_host *host, uint32_t offset, unsigned int size);

#endif
