// SPDX-License-Identifier: MIT
/*
 * The software IRS: the virtualization half of a GICv5 Interrupt Routing
 * Service, as ../shared/reference/gicv5.md describes it.
 *
 * The model follows the tables hyp/ built through their host physical
 * addresses and nothing else.  Table and descriptor contents are read live
 * on every use (an address that no longer translates simply makes the
 * entry unreachable); the only state kept here is what the silicon keeps
 * in registers: the VMT base and configuration, the VPE/VM selections,
 * command progress and each PE's ICH_CONTEXTR_EL2.  Per-VPE state lives in
 * the VPED, which is IRS-private memory hyp/ allocated for exactly that.
 *
 * This file holds creation, the register frame (MMIO read and write
 * dispatch), memory and VM-table walks, fault recording and statistics;
 * gicv5_irs_cmd.c command completion and the VM-table commands,
 * gicv5_irs_vpe.c VPEs, residency, doorbells and acknowledge, and
 * gicv5_irs_ist.c the virtual ISTs and interrupt state (the map is in
 * gicv5_irs_priv.h).
 *
 * Choices where the reference is silent (the hypervisor side may rely on
 * them):
 *  - Every command is one write of the register's width (8 bytes for the
 *    64-bit ones); other widths and registers that take no write are
 *    ignored and counted in ignored_writes.  Reads of 4 bytes at +4 give
 *    the upper half of a 64-bit register.  VMAP_* read as 0.
 *  - A command's effect happens at write time; IDLE then reads 0 for the
 *    configured number of STATUSR reads.  A faulted command also takes
 *    that long.  A hung command has no effect until gicv5_irs_unhang().
 *    STATUSR.V reads 0 while IDLE is 0.
 *  - SPI_VMR has no STATUSR in this register map: it never shows latency,
 *    but its fault and hang sites work (a hung SPI_VMR shows only in
 *    gicv5_irs_hung()).
 *  - Any failed validation faults the command: nothing changes and
 *    SWERR_SYNDROMER0 records the reason (hw/gicv5_irs_priv.h).  M = 0
 *    faults.  Making valid an entry already valid, or invalid an entry not
 *    valid, faults.  So does an IRS-owned VALID bit that software set in
 *    an entry handed to a map command.
 *  - VMAP_VMR unmap faults while any VPE of the VM is resident on a PE:
 *    software makes its VPEs non-resident first.  Unmap clears IST_VALID
 *    of both vISTs (and the L1 VALID bits of two-level vISTs) with the
 *    VMTE VALID bit; VPETEs are left as they are for software to zero.
 *    VMT_BASER.VALID = 0 likewise faults while any VPE is resident.
 *  - A two-level vIST is mapped with every L1 ISTE that holds a non-zero
 *    L2_ADDR validated and made VALID (KVM preallocates every L2); L1
 *    ISTEs with L2_ADDR = 0 stay invalid for VMAP_L2_VISTR to map later.
 *    The model accepts ISTSZ 1 and 2 (8/16 B slots) although IDR2.ISTMD
 *    is 0; the extra bytes are not used.
 *  - Interrupts are edge-like (HM is ignored) and targeted: IAFFID is the
 *    VPE ID.  1-of-N (IRM, VPE_CR0.DPS, VM_DBR) is stored, not modelled.
 *    SAVE_VMR completes with no effect.
 *  - Doorbells: "priority higher than DBPM" is taken as priority value <=
 *    DBPM (the rule comes from a secondary source; see irs_db_beats() in
 *    gicv5_irs_vpe.c).  A VPE_DBR write replaces INTID, DBPM and DBV;
 *    REQ_DB = 1 requests a doorbell and REQ_DB = 0 leaves a request as it
 *    is.  A VPE starts (VMAP_VPER) non-resident with no doorbell
 *    configured or requested.  Doorbells are evaluated when an interrupt
 *    is injected or configured, when a VPE leaves a PE and when VPE_DBR is
 *    written, not when software writes ISTEs behind the IRS's back.
 *  - A doorbell is raised (host_lpi_raise) in the thread whose call made
 *    it fire - gicv5_irs_write() of VPE_DBR, gicv5_pe_write_contextr(),
 *    inject, vint_config or unhang - after the model lock is dropped, so a
 *    handler may call back into the model but must not take a lock that
 *    caller may hold.
 *  - ICH_CONTEXTR_EL2 with V = 1 faults (F = 1) for a VPE that is not
 *    valid or is resident on another PE.  It first evicts a different VPE
 *    resident on that PE (without a doorbell request); if the new VPE then
 *    faults the PE has none resident.  Writing the resident VPE again is a
 *    no-op.
 *  - Vintc priorities are the 5-bit ISTE field; with fewer IRS priority
 *    bits the low bits are unimplemented and a priority using them is
 *    rejected with -ERANGE.  HPPI ties go to the LPI, then the lower ID.
 */
#include <stdlib.h>

#include "gicv5_irs_priv.h"

#define IRS_PA_RANGE	0x5	/* IDR0.PA_RANGE 0b0101: 48 bits */
#define IRS_PA_BITS	48

/* ---- memory ------------------------------------------------------------- */

/* Host memory behind [pa, pa + len), or NULL unless it is one live run. */
void *gicv5_irs_map(uint64_t pa, uint64_t len)
{
	const uint64_t limit = 1ULL << IRS_PA_BITS;
	char *va;

	if (!pa || !len || len > limit || pa > limit - len)
		return NULL;
	va = host_va(pa);
	if (!va || (len > 1 && (char *)host_va(pa + len - 1) != va + len - 1))
		return NULL;
	return va;
}

/* ---- faults ------------------------------------------------------------- */

/* Record a faulted command; returns -EIO so command handlers can end with it. */
int gicv5_irs_fault(struct gicv5_irs *irs, unsigned int type, uint32_t vm_id, uint32_t id)
{
	irs->stats.faulted++;
	irs->swerr = FIELD_PREP(GICV5_IRS_SWERR_VM_ID, vm_id) |
		     FIELD_PREP(GICV5_IRS_SWERR_ID, id) |
		     FIELD_PREP(GICV5_IRS_SWERR_TYPE, type) | GICV5_IRS_SWERR_VIRTUAL;
	return -EIO;
}

void gicv5_irs_fire_flush(const struct irs_fire *f)
{
	for (unsigned int i = 0; i < f->n; i++)
		host_lpi_raise(f->lpi[i]);
}

/* ---- VM table walks ----------------------------------------------------- */

uint64_t *gicv5_irs_vmt_l1e(struct gicv5_irs *irs, uint32_t vm_id)
{
	return gicv5_irs_map(irs->vmt_base + (uint64_t)(vm_id / GICV5_VMTL2_ENTRIES) * 8, 8);
}

/* The VMTE slot of vm_id, valid or not; NULL with the reason in *why. */
uint64_t *gicv5_irs_vmte_find(struct gicv5_irs *irs, uint32_t vm_id, unsigned int *why)
{
	uint64_t *l1e, *vmte, e;

	*why = IRS_SWERR_BAD_STATE;
	if (!irs->vmt_valid)
		return NULL;
	*why = IRS_SWERR_BAD_ID;
	if (vm_id >> irs->vmt_bits)
		return NULL;
	*why = IRS_SWERR_BAD_ADDR;
	if (!irs->vmt_two_level)
		return gicv5_irs_map(irs->vmt_base + (uint64_t)vm_id * GICV5_VMTE_SIZE,
				     GICV5_VMTE_SIZE);
	l1e = gicv5_irs_vmt_l1e(irs, vm_id);
	if (!l1e)
		return NULL;
	e = gicv5_irs_ld64(l1e);
	if (!(e & GICV5_VMTEL1E_VALID)) {
		*why = IRS_SWERR_BAD_STATE;
		return NULL;
	}
	vmte = gicv5_irs_map((e & GICV5_VMTEL1E_L2_ADDR) +
			     (uint64_t)(vm_id % GICV5_VMTL2_ENTRIES) * GICV5_VMTE_SIZE,
			     GICV5_VMTE_SIZE);
	return vmte;
}

/* The VMTE of a mapped VM, or NULL. */
uint64_t *gicv5_irs_vm(struct gicv5_irs *irs, uint32_t vm_id, unsigned int *why)
{
	uint64_t *vmte = gicv5_irs_vmte_find(irs, vm_id, why);

	if (vmte && !(gicv5_irs_ld64(&vmte[GICV5_VMTE_WORD_VMD]) & GICV5_VMTEL2E_VALID)) {
		*why = IRS_SWERR_BAD_STATE;
		return NULL;
	}
	return vmte;
}

/* ---- register frame ----------------------------------------------------- */

#define REG(name, w) { GICV5_IRS_##name, w, IRS_DOM_NONE, NULL, NULL, NULL, 0 }
#define CMD(name, w, d, fn, mask) \
	{ GICV5_IRS_##name, w, d, "irs." #name, "irs." #name ".hang", fn, mask }

static const struct irs_reg irs_regs[] = {
	REG(IDR0, 4), REG(IDR1, 4), REG(IDR2, 4), REG(IDR3, 4), REG(IDR4, 4),
	CMD(SPI_VMR, 8, IRS_DOM_SPI, gicv5_irs_cmd_spi_vmr, GICV5_IRS_SPI_VMR_VM_ID),
	CMD(VMT_BASER, 8, IRS_DOM_VMT, gicv5_irs_cmd_vmt_baser, 0),
	REG(VMT_CFGR, 4), REG(VMT_STATUSR, 4),
	CMD(VPE_SELR, 8, IRS_DOM_VPE, gicv5_irs_cmd_vpe_selr, GICV5_IRS_VPE_SELR_VM_ID),
	CMD(VPE_DBR, 8, IRS_DOM_VPE, gicv5_irs_cmd_vpe_dbr, 0),
	REG(VPE_HPPIR, 8),
	CMD(VPE_CR0, 4, IRS_DOM_VPE, gicv5_irs_cmd_vpe_cr0, 0),
	REG(VPE_STATUSR, 4),
	CMD(VM_DBR, 8, IRS_DOM_VM, gicv5_irs_cmd_vm_dbr, 0),
	CMD(VM_SELR, 4, IRS_DOM_VM, gicv5_irs_cmd_vm_selr, GICV5_IRS_VM_SELR_VM_ID),
	REG(VM_STATUSR, 4),
	CMD(VMAP_L2_VMTR, 8, IRS_DOM_VMT, gicv5_irs_cmd_vmap_l2_vmtr, GICV5_IRS_VMAP_L2_VMTR_VM_ID),
	CMD(VMAP_VMR, 8, IRS_DOM_VMT, gicv5_irs_cmd_vmap_vmr, GICV5_IRS_VMAP_VMR_VM_ID),
	CMD(VMAP_VISTR, 8, IRS_DOM_VMT, gicv5_irs_cmd_vmap_vistr, GICV5_IRS_VMAP_VISTR_VM_ID),
	CMD(VMAP_L2_VISTR, 8, IRS_DOM_VMT, gicv5_irs_cmd_vmap_l2_vistr,
	    GICV5_IRS_VMAP_L2_VISTR_VM_ID),
	CMD(VMAP_VPER, 8, IRS_DOM_VMT, gicv5_irs_cmd_vmap_vper, GICV5_IRS_VMAP_VPER_VM_ID),
	/* SAVE_VMR.VM_ID is [15:0] like VM_SELR's; gicv5_defs.h names no field. */
	CMD(SAVE_VMR, 8, IRS_DOM_SAVE, gicv5_irs_cmd_save_vmr, GICV5_IRS_VM_SELR_VM_ID),
	REG(SAVE_VM_STATUSR, 4),
	REG(SWERR_SYNDROMER0, 8),
};

static const struct irs_reg *irs_reg_find(uint32_t off)
{
	for (size_t i = 0; i < ARRAY_SIZE(irs_regs); i++)
		if (irs_regs[i].off == off)
			return &irs_regs[i];
	return NULL;
}

static uint64_t irs_vpe_dbr_read(struct gicv5_irs *irs)
{
	unsigned int why;
	struct irs_vped *v = gicv5_irs_vpe_selected(irs, NULL, &why);

	if (!v)
		return 0;
	return FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, v->db_intid) |
	       FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, v->dbpm) |
	       (v->flags & IRS_VPED_REQ_DB ? GICV5_IRS_VPE_DBR_REQ_DB : 0) |
	       (v->flags & IRS_VPED_DBV ? GICV5_IRS_VPE_DBR_DBV : 0);
}

static uint64_t irs_vpe_hppir_read(struct gicv5_irs *irs)
{
	uint64_t *vmte = NULL;
	unsigned int why;
	struct irs_vped *v = gicv5_irs_vpe_selected(irs, &vmte, &why);
	struct irs_hppi h;

	if (!v)
		return 0;
	gicv5_irs_hppi_find(vmte, v->vpe_id, &h);
	if (!h.valid)
		return 0;
	return FIELD_PREP(GICV5_IRS_VPE_HPPIR_ID, h.id) |
	       FIELD_PREP(GICV5_IRS_VPE_HPPIR_TYPE, h.type) | GICV5_IRS_VPE_HPPIR_HPPIV;
}

static uint64_t irs_vpe_cr0_read(struct gicv5_irs *irs)
{
	unsigned int why;
	struct irs_vped *v = gicv5_irs_vpe_selected(irs, NULL, &why);

	return v && (v->flags & IRS_VPED_DPS) ? GICV5_IRS_VPE_CR0_DPS : 0;
}

static uint64_t irs_reg_read(struct gicv5_irs *irs, const struct irs_reg *r)
{
	switch (r->off) {
	case GICV5_IRS_IDR0:
	case GICV5_IRS_IDR1:
	case GICV5_IRS_IDR2:
	case GICV5_IRS_IDR3:
	case GICV5_IRS_IDR4:
		return irs->idr[r->off / 4];
	case GICV5_IRS_SPI_VMR:
		return irs->spi_vmr;
	case GICV5_IRS_VMT_BASER:
		return irs->vmt_baser | (irs->vmt_valid ? GICV5_IRS_VMT_BASER_VALID : 0);
	case GICV5_IRS_VMT_CFGR:
		return irs->vmt_cfgr;
	case GICV5_IRS_VMT_STATUSR:
		return gicv5_irs_status_read(&irs->dom[IRS_DOM_VMT]);
	case GICV5_IRS_VPE_SELR:
		return irs->vpe_selr;
	case GICV5_IRS_VPE_DBR:
		return irs_vpe_dbr_read(irs);
	case GICV5_IRS_VPE_HPPIR:
		return irs_vpe_hppir_read(irs);
	case GICV5_IRS_VPE_CR0:
		return irs_vpe_cr0_read(irs);
	case GICV5_IRS_VPE_STATUSR:
		return gicv5_irs_status_read(&irs->dom[IRS_DOM_VPE]);
	case GICV5_IRS_VM_DBR:
		return irs->vm_dbr;
	case GICV5_IRS_VM_SELR:
		return irs->vm_selr;
	case GICV5_IRS_VM_STATUSR:
		return gicv5_irs_status_read(&irs->dom[IRS_DOM_VM]);
	case GICV5_IRS_SAVE_VMR:
		return irs->save_vmr;
	case GICV5_IRS_SAVE_VM_STATUSR:
		return gicv5_irs_status_read(&irs->dom[IRS_DOM_SAVE]);
	case GICV5_IRS_SWERR_SYNDROMER0:
		return irs->swerr;
	default:
		return 0;	/* VMAP_* are write-only */
	}
}

uint64_t gicv5_irs_read(struct gicv5_irs *irs, uint32_t offset, unsigned int size)
{
	const struct irs_reg *r;
	bool upper = false;
	uint64_t v;

	if (size != 4 && size != 8)
		return 0;
	r = irs_reg_find(offset);
	if (!r && size == 4 && offset >= 4) {
		r = irs_reg_find(offset - 4);
		if (!r || r->width != 8)
			return 0;
		upper = true;
	}
	if (!r)
		return 0;
	host_mutex_lock(&irs->lock);
	v = irs_reg_read(irs, r);
	host_mutex_unlock(&irs->lock);
	if (upper)
		return v >> 32;
	return size == 4 ? (uint32_t)v : v;
}

static void irs_vmt_cfgr_write(struct gicv5_irs *irs, uint64_t val)
{
	if (irs->vmt_valid || gicv5_irs_dom_busy(&irs->dom[IRS_DOM_VMT])) {
		irs->stats.ignored_writes++;
		return;
	}
	irs->vmt_cfgr = val & (GICV5_IRS_VMT_CFGR_VM_ID_BITS | GICV5_IRS_VMT_CFGR_STRUCTURE);
	irs->vmt_cfgr_written = true;
}

void gicv5_irs_write(struct gicv5_irs *irs, uint32_t offset, uint64_t val, unsigned int size)
{
	const struct irs_reg *r = irs_reg_find(offset);
	struct irs_fire f = { 0 };

	host_mutex_lock(&irs->lock);
	if (!r || (size != 4 && size != 8) || size < r->width) {
		irs->stats.ignored_writes++;
	} else {
		if (r->width == 4)
			val = (uint32_t)val;
		if (r->off == GICV5_IRS_VMT_CFGR)
			irs_vmt_cfgr_write(irs, val);
		else if (!r->exec)
			irs->stats.ignored_writes++;
		else
			gicv5_irs_cmd_start(irs, r, val, &f);
	}
	host_mutex_unlock(&irs->lock);
	gicv5_irs_fire_flush(&f);
}

void gicv5_irs_get_stats(struct gicv5_irs *irs, struct gicv5_irs_stats *st)
{
	host_mutex_lock(&irs->lock);
	*st = irs->stats;
	host_mutex_unlock(&irs->lock);
}

/* ---- creation ----------------------------------------------------------- */

void gicv5_irs_default_config(struct gicv5_irs_config *cfg)
{
	*cfg = (struct gicv5_irs_config){
		.vm_id_bits = 16,
		.vmt_levels = true,
		.vmd = true,
		.vmd_sz = 8,
		.vped_sz = 6,
		.vpe_id_bits = 12,
		.priority_bits = 5,
		.ist_id_bits = 16,
		.nr_pes = 64,
	};
}

static bool irs_config_ok(const struct gicv5_irs_config *c)
{
	return c->vm_id_bits >= 1 && c->vm_id_bits <= 16 &&
	       (!c->vmd || (c->vmd_sz >= 3 && c->vmd_sz <= 12)) &&
	       c->vped_sz >= 4 && c->vped_sz <= 12 &&
	       c->vpe_id_bits >= 1 && c->vpe_id_bits <= 15 &&
	       c->priority_bits >= 1 && c->priority_bits <= GICV5_PRIORITY_BITS &&
	       c->ist_id_bits >= 1 && c->ist_id_bits <= 24 &&
	       c->nr_pes >= 1 && c->nr_pes <= HOST_MAX_CPUS;
}

static void irs_idr_init(struct gicv5_irs *irs)
{
	const struct gicv5_irs_config *c = &irs->cfg;

	irs->idr[0] = (uint32_t)(FIELD_PREP(GICV5_IRS_IDR0_INT_DOM, 1) |
				 FIELD_PREP(GICV5_IRS_IDR0_PA_RANGE, IRS_PA_RANGE) |
				 GICV5_IRS_IDR0_VIRT);
	irs->idr[1] = (uint32_t)FIELD_PREP(GICV5_IRS_IDR1_PRIORITY_BITS, c->priority_bits - 1);
	irs->idr[2] = (uint32_t)(FIELD_PREP(GICV5_IRS_IDR2_ID_BITS, c->ist_id_bits) |
				 GICV5_IRS_IDR2_LPI | GICV5_IRS_IDR2_IST_LEVELS |
				 FIELD_PREP(GICV5_IRS_IDR2_IST_L2SZ, 0x7));
	irs->idr[3] = (uint32_t)((c->vmd ? GICV5_IRS_IDR3_VMD : 0) |
				 FIELD_PREP(GICV5_IRS_IDR3_VMD_SZ, c->vmd ? c->vmd_sz : 0) |
				 FIELD_PREP(GICV5_IRS_IDR3_VM_ID_BITS, c->vm_id_bits) |
				 (c->vmt_levels ? GICV5_IRS_IDR3_VMT_LEVELS : 0));
	irs->idr[4] = (uint32_t)(FIELD_PREP(GICV5_IRS_IDR4_VPED_SZ, c->vped_sz) |
				 FIELD_PREP(GICV5_IRS_IDR4_VPE_ID_BITS, c->vpe_id_bits));
}

int gicv5_irs_create(const struct gicv5_irs_config *cfg, struct gicv5_irs **out)
{
	struct gicv5_irs *irs;

	if (!cfg || !out || !irs_config_ok(cfg))
		return -EINVAL;
	irs = calloc(1, sizeof(*irs));
	if (!irs)
		return -ENOMEM;
	irs->pes = calloc(cfg->nr_pes, sizeof(*irs->pes));
	if (!irs->pes) {
		free(irs);
		return -ENOMEM;
	}
	irs->cfg = *cfg;
	host_mutex_init(&irs->lock);
	irs_idr_init(irs);
	*out = irs;
	return 0;
}

void gicv5_irs_destroy(struct gicv5_irs *irs)
{
	if (!irs)
		return;
	host_mutex_destroy(&irs->lock);
	free(irs->pes);
	free(irs);
}
