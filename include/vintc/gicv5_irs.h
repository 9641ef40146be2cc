/* SPDX-License-Identifier: MIT */
/*
 * hw/gicv5_irs: the software IRS.  hyp/ drives it only through its MMIO
 * register frame and each PE's ICH_CONTEXTR_EL2, and the IRS reads the
 * tables hyp/ wrote through their host physical addresses, exactly as the
 * silicon does.  The rest of this API is what is not software on a real
 * system: model creation, devices and guests making interrupts pending or
 * taking them, and the test knobs for command completion.
 */
#ifndef VINTC_GICV5_IRS_H
#define VINTC_GICV5_IRS_H

#include <stdbool.h>
#include <stdint.h>

#include <vintc/gicv5_defs.h>

struct gicv5_irs;

struct gicv5_irs_config {
	unsigned int vm_id_bits;	/* IDR3.VM_ID_BITS, 1..16 */
	bool vmt_levels;		/* IDR3.VMT_LEVELS: two-level VMT supported */
	bool vmd;			/* IDR3.VMD: a VMD is required per VM */
	unsigned int vmd_sz;		/* IDR3.VMD_SZ: VMD is 2^vmd_sz bytes, 3..12 */
	unsigned int vped_sz;		/* IDR4.VPED_SZ: VPED is 2^vped_sz bytes, 4..12 */
	unsigned int vpe_id_bits;	/* IDR4.VPE_ID_BITS, 1..15 */
	unsigned int priority_bits;	/* 1..5, IDR1.PRIORITY_BITS = bits - 1 */
	unsigned int ist_id_bits;	/* IDR2.ID_BITS: largest vIST ID_BITS, <= 24 */
	unsigned int nr_pes;		/* PEs, each with an ICH_CONTEXTR_EL2, 1..1024 */
};

/* A default configuration: 16 VM ID bits, two-level capable, VMD 256 B,
 * VPED 64 B, 12 VPE ID bits, 5 priority bits, 16 IST ID bits, 64 PEs. */
void gicv5_irs_default_config(struct gicv5_irs_config *cfg);
int gicv5_irs_create(const struct gicv5_irs_config *cfg, struct gicv5_irs **out);
void gicv5_irs_destroy(struct gicv5_irs *irs);

/*
 * The configuration frame.  size is 4 or 8; reads of unknown offsets return
 * 0 and writes to them or to read-only registers are ignored (counted).
 * A write to a command register (VMT_BASER, VMAP_*, VPE_SELR, VPE_DBR,
 * VPE_CR0, VM_SELR, VM_DBR, SPI_VMR) starts a command: its STATUSR reads
 * IDLE = 0 until the command completes.
 */
uint64_t gicv5_irs_read(struct gicv5_irs *irs, uint32_t offset, unsigned int size);
void gicv5_irs_write(struct gicv5_irs *irs, uint32_t offset, uint64_t val, unsigned int size);

/* A PE's ICH_CONTEXTR_EL2 (the write is followed by an implicit isb). */
void gicv5_pe_write_contextr(struct gicv5_irs *irs, unsigned int pe, uint64_t val);
uint64_t gicv5_pe_read_contextr(struct gicv5_irs *irs, unsigned int pe);

/*
 * Command completion.  Each command takes `polls` STATUSR reads before IDLE
 * reads 1 (default 0: complete at once).  Two fault-injection sites per
 * command, named after the register ("irs.VMAP_VMR"):
 *   "irs.<REG>"       the command faults: it completes without effect and
 *                     records IRS_SWERR_SYNDROMER0;
 *   "irs.<REG>.hang"  the command never completes until gicv5_irs_unhang(),
 *                     which then carries it out.
 * While a command is outstanding, further command writes are ignored.
 */
void gicv5_irs_set_latency(struct gicv5_irs *irs, unsigned int polls);
bool gicv5_irs_hung(struct gicv5_irs *irs);
void gicv5_irs_unhang(struct gicv5_irs *irs);

/*
 * The guest's configuration of one of its virtual interrupts (what its
 * GIC CDxxx instructions would do): ENABLE, PRIORITY and IAFFID (the
 * target VPE ID) of the L2 ISTE.  type is GICV5_HWIRQ_TYPE_LPI or _SPI.
 * -ENOENT: VM or its vIST not valid; -ERANGE: id beyond the vIST's
 * ID_BITS or priority beyond the IRS's priority bits; -EINVAL: bad type.
 */
int gicv5_irs_vint_config(struct gicv5_irs *irs, uint16_t vm_id, unsigned int type,
			  uint32_t id, bool enable, uint8_t priority, uint16_t iaffid);
/* A device makes a virtual interrupt pending (errors as above). */
int gicv5_irs_inject(struct gicv5_irs *irs, uint16_t vm_id, unsigned int type, uint32_t id);
/* Read back a virtual interrupt's L2 ISTE (0 if it cannot be reached). */
uint32_t gicv5_irs_vint_state(struct gicv5_irs *irs, uint16_t vm_id, unsigned int type,
			      uint32_t id);

/*
 * The VPE resident on `pe` acknowledges its highest-priority pending,
 * enabled, inactive interrupt: it becomes active and not pending.
 * Returns the INTID (type in [31:29]) or -ENOENT if none / not resident.
 */
int gicv5_pe_ack(struct gicv5_irs *irs, unsigned int pe);
/* ...and ends it (clears ACTIVE).  -ENOENT if not active or not resident. */
int gicv5_pe_eoi(struct gicv5_irs *irs, unsigned int pe, uint32_t intid);

struct gicv5_irs_stats {
	uint64_t commands, faulted, ignored_writes;
	uint64_t doorbells;		/* host LPIs made pending */
	uint64_t context_faults;	/* ICH_CONTEXTR_EL2 writes that set F */
};
void gicv5_irs_get_stats(struct gicv5_irs *irs, struct gicv5_irs_stats *st);

#endif
