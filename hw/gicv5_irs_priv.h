/* SPDX-License-Identifier: MIT */
/*
 * The software IRS's private half.  First the model's own encodings:
 * choices of the model, not of the architecture, kept here so that tests
 * can name them.  Then what the hw/gicv5_irs*.c files share:
 *   gicv5_irs.c      creation, the register frame (MMIO read and write
 *                    dispatch), memory and VM-table walks, faults, stats
 *   gicv5_irs_cmd.c  command completion (latency, fault and hang sites)
 *                    and the VM-table commands: VMT_BASER, VMAP_*
 *   gicv5_irs_vpe.c  VPEs: their commands, residency on PEs
 *                    (ICH_CONTEXTR_EL2), doorbells, acknowledge and EOI
 *   gicv5_irs_ist.c  virtual ISTs: layout, the highest-priority pending
 *                    interrupt, interrupt state set by devices and guests
 */
#ifndef VINTC_HW_GICV5_IRS_PRIV_H
#define VINTC_HW_GICV5_IRS_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <vintc/gicv5_defs.h>
#include <vintc/gicv5_irs.h>
#include <vintc/host.h>

/*
 * IRS_SWERR_SYNDROMER0.TYPE of a faulted command (VIRTUAL is always 1,
 * VM_ID is the command's VM ID, ID the VPE ID or INTID it named, if any).
 * The register holds the most recent fault; reading does not clear it.
 */
#define IRS_SWERR_INJECTED   1	/* the "irs.<REG>" fault site fired */
#define IRS_SWERR_BAD_CMD    2	/* M = 0, unknown TYPE, wrong VMT/vIST structure */
#define IRS_SWERR_BAD_ID     3	/* VM, VPE or interrupt ID beyond its table */
#define IRS_SWERR_BAD_ADDR   4	/* a table or descriptor address does not translate */
#define IRS_SWERR_BAD_CFG    5	/* a size or ID_BITS field out of range */
#define IRS_SWERR_BAD_STATE  6	/* VALID already set / not set, a VPE resident */

/* What VMAP_VMR writes at the start of the VMD of a VM it maps (ORed with
 * the VM ID) and clears again when it unmaps the VM. */
#define IRS_VMD_SIGNATURE    0x564d440000000000ULL	/* "VMD" */

/* First 32 bits of a VPED that VMAP_VPER initialised. */
#define IRS_VPED_MAGIC       0x56504544U		/* "VPED" */

/* ---- model internals, shared by hw/gicv5_irs*.c ------------------------- */

#define IRS_FIRE_MAX	4

/* Per-VPE state, kept by the IRS at the start of the VPE's VPED. */
struct irs_vped {
	uint32_t magic;
	uint16_t vm_id, vpe_id;
	uint32_t db_intid;
	uint8_t dbpm;
	uint8_t flags;
	uint16_t pe;
};

_Static_assert(sizeof(struct irs_vped) <= 16, "IDR4.VPED_SZ >= 4 must hold the VPE state");

#define IRS_VPED_RESIDENT    0x01
#define IRS_VPED_DBV         0x02
#define IRS_VPED_REQ_DB      0x04
#define IRS_VPED_DPS         0x08

/* Command domains: the commands one STATUSR reports on. */
enum irs_dom {
	IRS_DOM_VMT,
	IRS_DOM_VPE,
	IRS_DOM_VM,
	IRS_DOM_SAVE,
	IRS_DOM_SPI,
	IRS_DOM_NR,
	IRS_DOM_NONE = -1,
};

/* Doorbells decided under the lock, raised after it is dropped. */
struct irs_fire {
	unsigned int n;
	uint32_t lpi[IRS_FIRE_MAX];
};

typedef int irs_exec_fn(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f);

struct irs_reg {
	uint32_t off;
	unsigned int width;
	int dom;
	const char *site, *hang_site;
	irs_exec_fn *exec;
	uint64_t vm_id_mask;	/* the command's VM_ID field, for SWERR */
};

struct irs_cmd_dom {
	unsigned int polls;	/* STATUSR reads left that show IDLE = 0 */
	bool hung, v;
	const struct irs_reg *hung_reg;
	uint64_t hung_val;
};

struct irs_pe {
	uint64_t ctx;		/* ICH_CONTEXTR_EL2 as read back */
	bool resident;
	uint16_t vm_id, vpe_id;
};

struct irs_ist {
	uint64_t base, l2_bytes;
	uint32_t nr_ids;
	unsigned int slot, l2_bits;
	bool two_level;
};

struct irs_hppi {
	bool valid;
	unsigned int type, prio;
	uint32_t id, val;
	uint32_t *iste;
};

struct gicv5_irs {
	struct gicv5_irs_config cfg;
	struct host_mutex lock;
	uint32_t idr[5];
	unsigned int latency;
	struct irs_cmd_dom dom[IRS_DOM_NR];

	uint64_t vmt_cfgr, vmt_baser, vmt_base;
	bool vmt_cfgr_written, vmt_valid, vmt_two_level;
	unsigned int vmt_bits;

	uint64_t vpe_selr, vm_selr, vm_dbr, spi_vmr, save_vmr, swerr;
	struct irs_pe *pes;
	struct gicv5_irs_stats stats;
};

/* Tables are shared with hyp/ threads: every entry access is atomic. */
static inline uint64_t gicv5_irs_ld64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void gicv5_irs_set64(uint64_t *p, uint64_t bits)
{
	__atomic_fetch_or(p, bits, __ATOMIC_SEQ_CST);
}

static inline void gicv5_irs_clr64(uint64_t *p, uint64_t bits)
{
	__atomic_fetch_and(p, ~bits, __ATOMIC_SEQ_CST);
}

static inline uint32_t gicv5_irs_ld32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline bool gicv5_irs_cas32(uint32_t *p, uint32_t old, uint32_t val)
{
	return __atomic_compare_exchange_n(p, &old, val, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

static inline bool gicv5_irs_type_ok(unsigned int type)
{
	return type == GICV5_HWIRQ_TYPE_LPI || type == GICV5_HWIRQ_TYPE_SPI;
}

static inline unsigned int gicv5_irs_ist_word(unsigned int type)
{
	return type == GICV5_HWIRQ_TYPE_LPI ? GICV5_VMTE_WORD_LPI_IST : GICV5_VMTE_WORD_SPI_IST;
}

static inline bool gicv5_irs_iste_ready(uint32_t v)
{
	return (v & GICV5_ISTL2E_PENDING) && (v & GICV5_ISTL2E_ENABLE) &&
	       !(v & GICV5_ISTL2E_ACTIVE);
}

static inline uint64_t gicv5_irs_vped_bytes(const struct gicv5_irs *irs)
{
	return GICV5_DESC_BYTES(irs->cfg.vped_sz);
}

static inline bool gicv5_irs_dom_busy(const struct irs_cmd_dom *d)
{
	return d->hung || d->polls;
}

/* gicv5_irs.c */
void *gicv5_irs_map(uint64_t pa, uint64_t len);
int gicv5_irs_fault(struct gicv5_irs *irs, unsigned int type, uint32_t vm_id, uint32_t id);
void gicv5_irs_fire_flush(const struct irs_fire *f);
uint64_t *gicv5_irs_vmt_l1e(struct gicv5_irs *irs, uint32_t vm_id);
uint64_t *gicv5_irs_vmte_find(struct gicv5_irs *irs, uint32_t vm_id, unsigned int *why);
uint64_t *gicv5_irs_vm(struct gicv5_irs *irs, uint32_t vm_id, unsigned int *why);

/* gicv5_irs_cmd.c */
uint64_t gicv5_irs_status_read(struct irs_cmd_dom *d);
void gicv5_irs_cmd_start(struct gicv5_irs *irs, const struct irs_reg *r, uint64_t val,
			 struct irs_fire *f);
irs_exec_fn gicv5_irs_cmd_vmt_baser, gicv5_irs_cmd_vmap_l2_vmtr, gicv5_irs_cmd_vmap_vmr,
	    gicv5_irs_cmd_vmap_vistr, gicv5_irs_cmd_vmap_l2_vistr, gicv5_irs_cmd_vmap_vper,
	    gicv5_irs_cmd_vm_selr, gicv5_irs_cmd_vm_dbr, gicv5_irs_cmd_spi_vmr,
	    gicv5_irs_cmd_save_vmr;

/* gicv5_irs_vpe.c */
bool gicv5_irs_resident_in(const struct gicv5_irs *irs, bool any_vm, uint32_t vm_id);
struct irs_vped *gicv5_irs_vpe_selected(struct gicv5_irs *irs, uint64_t **vmte,
					unsigned int *why);
void gicv5_irs_db_eval_int(struct gicv5_irs *irs, uint32_t vm_id, uint32_t iste,
			   struct irs_fire *f);
irs_exec_fn gicv5_irs_cmd_vpe_selr, gicv5_irs_cmd_vpe_dbr, gicv5_irs_cmd_vpe_cr0;

/* gicv5_irs_ist.c */
void gicv5_irs_ist_decode(uint64_t w, struct irs_ist *ist);
unsigned int gicv5_irs_ist_check(const struct gicv5_irs *irs, uint64_t w);
void gicv5_irs_ist_l1_valid(uint64_t w, bool valid);
void gicv5_irs_ist_unmap(uint64_t *w);
void gicv5_irs_hppi_find(const uint64_t *vmte, uint32_t vpe_id, struct irs_hppi *h);
int gicv5_irs_vint_find(struct gicv5_irs *irs, uint32_t vm_id, unsigned int type, uint32_t id,
			uint32_t **iste);

#endif
