// SPDX-License-Identifier: MIT
/*
 * The software IRS's commands: how a command register write starts, hangs
 * or faults and how its STATUSR reports completion, then the commands that
 * build the VM table (VMT_BASER, VMAP_L2_VMTR, VMAP_VMR, VMAP_VISTR,
 * VMAP_L2_VISTR, VMAP_VPER) and the VM-level registers (VM_SELR, VM_DBR,
 * SPI_VMR, SAVE_VMR).  Every check comes before the first change, so a
 * faulted command leaves the tables as they were.
 */
#include "gicv5_irs_priv.h"

/* ---- command completion ------------------------------------------------- */

/* A STATUSR read: one poll of the domain's outstanding command. */
uint64_t gicv5_irs_status_read(struct irs_cmd_dom *d)
{
	if (d->hung)
		return 0;
	if (d->polls) {
		d->polls--;
		return 0;
	}
	return GICV5_IRS_STATUSR_IDLE | (d->v ? GICV5_IRS_STATUSR_V : 0);
}

/* The VM a command names: its own VM_ID field, else the selected VPE's. */
static uint32_t irs_cmd_vm_id(const struct gicv5_irs *irs, const struct irs_reg *r, uint64_t val)
{
	if (r->vm_id_mask)
		return (uint32_t)FIELD_GET(r->vm_id_mask, val);
	if (r->dom == IRS_DOM_VPE)
		return (uint32_t)FIELD_GET(GICV5_IRS_VPE_SELR_VM_ID, irs->vpe_selr);
	return 0;
}

/*
 * Start a command: the fault site first (no effect, completes), then the
 * hang site (no effect until unhang), then the command itself.
 */
void gicv5_irs_cmd_start(struct gicv5_irs *irs, const struct irs_reg *r, uint64_t val,
			 struct irs_fire *f)
{
	struct irs_cmd_dom *d = &irs->dom[r->dom];

	if (gicv5_irs_dom_busy(d)) {
		irs->stats.ignored_writes++;
		return;
	}
	irs->stats.commands++;
	/* SPI_VMR has no STATUSR to poll: it never shows latency. */
	d->polls = r->dom == IRS_DOM_SPI ? 0 : irs->latency;
	if (host_fault_hit(r->site)) {
		gicv5_irs_fault(irs, IRS_SWERR_INJECTED, irs_cmd_vm_id(irs, r, val), 0);
		return;
	}
	if (host_fault_hit(r->hang_site)) {
		d->hung = true;
		d->hung_reg = r;
		d->hung_val = val;
		return;
	}
	r->exec(irs, val, f);
}

void gicv5_irs_set_latency(struct gicv5_irs *irs, unsigned int polls)
{
	host_mutex_lock(&irs->lock);
	irs->latency = polls;
	host_mutex_unlock(&irs->lock);
}

bool gicv5_irs_hung(struct gicv5_irs *irs)
{
	bool hung = false;

	host_mutex_lock(&irs->lock);
	for (int i = 0; i < IRS_DOM_NR; i++)
		hung |= irs->dom[i].hung;
	host_mutex_unlock(&irs->lock);
	return hung;
}

void gicv5_irs_unhang(struct gicv5_irs *irs)
{
	struct irs_fire f = { 0 };

	host_mutex_lock(&irs->lock);
	for (int i = 0; i < IRS_DOM_NR; i++) {
		struct irs_cmd_dom *d = &irs->dom[i];

		if (!d->hung)
			continue;
		d->hung = false;
		d->polls = 0;
		d->hung_reg->exec(irs, d->hung_val, &f);
	}
	host_mutex_unlock(&irs->lock);
	gicv5_irs_fire_flush(&f);
}

/* ---- commands: VM table ------------------------------------------------- */

static uint64_t irs_vmt_bytes(unsigned int bits, bool two_level)
{
	uint64_t n = 1ULL << bits;

	if (!two_level)
		return n * GICV5_VMTE_SIZE;
	return (n + GICV5_VMTL2_ENTRIES - 1) / GICV5_VMTL2_ENTRIES * sizeof(uint64_t);
}

int gicv5_irs_cmd_vmt_baser(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	unsigned int bits = (unsigned int)FIELD_GET(GICV5_IRS_VMT_CFGR_VM_ID_BITS, irs->vmt_cfgr);
	bool two_level = irs->vmt_cfgr & GICV5_IRS_VMT_CFGR_STRUCTURE;
	uint64_t addr = val & GICV5_IRS_VMT_BASER_ADDR;

	(void)f;
	if (!(val & GICV5_IRS_VMT_BASER_VALID)) {
		if (gicv5_irs_resident_in(irs, true, 0))
			return gicv5_irs_fault(irs, IRS_SWERR_BAD_STATE, 0, 0);
		irs->vmt_valid = false;
		irs->vmt_baser = addr;
		return 0;
	}
	if (irs->vmt_valid)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_STATE, 0, 0);
	if (!irs->vmt_cfgr_written || !bits || bits > irs->cfg.vm_id_bits ||
	    (two_level && !irs->cfg.vmt_levels))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_CFG, 0, 0);
	if (!gicv5_irs_map(addr, irs_vmt_bytes(bits, two_level)))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_ADDR, 0, 0);
	/* The configuration is latched: VMT_CFGR is ignored while valid. */
	irs->vmt_bits = bits;
	irs->vmt_two_level = two_level;
	irs->vmt_base = addr;
	irs->vmt_baser = addr;
	irs->vmt_valid = true;
	return 0;
}

int gicv5_irs_cmd_vmap_l2_vmtr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	uint32_t vm_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_L2_VMTR_VM_ID, val);
	uint64_t *l1e, e;

	(void)f;
	if (!(val & GICV5_IRS_VMAP_L2_VMTR_M))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, 0);
	if (!irs->vmt_valid)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, 0);
	if (!irs->vmt_two_level)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, 0);
	if (vm_id >> irs->vmt_bits)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_ID, vm_id, 0);
	l1e = gicv5_irs_vmt_l1e(irs, vm_id);
	if (!l1e)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, 0);
	e = gicv5_irs_ld64(l1e);
	if (e & GICV5_VMTEL1E_VALID)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, 0);
	if (!gicv5_irs_map(e & GICV5_VMTEL1E_L2_ADDR, HOST_PAGE_SIZE))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, 0);
	gicv5_irs_set64(l1e, GICV5_VMTEL1E_VALID);
	return 0;
}

/* 0 if VMTE words 0/1 describe a mappable VM, else the SWERR type. */
static unsigned int irs_vmte_check(const struct gicv5_irs *irs, const uint64_t *vmte)
{
	uint64_t w0 = gicv5_irs_ld64(&vmte[GICV5_VMTE_WORD_VMD]);
	uint64_t w1 = gicv5_irs_ld64(&vmte[GICV5_VMTE_WORD_VPET]);
	uint64_t ists = gicv5_irs_ld64(&vmte[GICV5_VMTE_WORD_LPI_IST]) |
			gicv5_irs_ld64(&vmte[GICV5_VMTE_WORD_SPI_IST]);
	unsigned int bits = (unsigned int)FIELD_GET(GICV5_VMTEL2E_VPE_ID_BITS, w1);

	if ((w0 & GICV5_VMTEL2E_VALID) || (ists & GICV5_VMTEL2E_IST_VALID))
		return IRS_SWERR_BAD_STATE;
	if (!bits || bits > irs->cfg.vpe_id_bits)
		return IRS_SWERR_BAD_CFG;
	if (!gicv5_irs_map(w1 & GICV5_VMTEL2E_VPET_ADDR, 8ULL << bits))
		return IRS_SWERR_BAD_ADDR;
	if (irs->cfg.vmd &&
	    !gicv5_irs_map(w0 & GICV5_VMTEL2E_VMD_ADDR, GICV5_DESC_BYTES(irs->cfg.vmd_sz)))
		return IRS_SWERR_BAD_ADDR;
	return 0;
}

static int irs_vm_map(struct gicv5_irs *irs, uint32_t vm_id)
{
	unsigned int why;
	uint64_t *vmte = gicv5_irs_vmte_find(irs, vm_id, &why), *vmd;

	if (!vmte)
		return gicv5_irs_fault(irs, why, vm_id, 0);
	why = irs_vmte_check(irs, vmte);
	if (why)
		return gicv5_irs_fault(irs, why, vm_id, 0);
	if (irs->cfg.vmd) {
		vmd = gicv5_irs_map(gicv5_irs_ld64(&vmte[GICV5_VMTE_WORD_VMD]) &
				    GICV5_VMTEL2E_VMD_ADDR, 8);
		if (vmd)
			__atomic_store_n(vmd, IRS_VMD_SIGNATURE | vm_id, __ATOMIC_RELAXED);
	}
	gicv5_irs_set64(&vmte[GICV5_VMTE_WORD_VMD], GICV5_VMTEL2E_VALID);
	return 0;
}

/* The vISTs die with the VMTE; resident VPEs would be left dangling. */
static int irs_vm_unmap(struct gicv5_irs *irs, uint32_t vm_id)
{
	unsigned int why;
	uint64_t *vmte = gicv5_irs_vm(irs, vm_id, &why), *vmd;

	if (!vmte)
		return gicv5_irs_fault(irs, why, vm_id, 0);
	if (gicv5_irs_resident_in(irs, false, vm_id))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, 0);
	gicv5_irs_ist_unmap(&vmte[GICV5_VMTE_WORD_LPI_IST]);
	gicv5_irs_ist_unmap(&vmte[GICV5_VMTE_WORD_SPI_IST]);
	if (irs->cfg.vmd) {
		vmd = gicv5_irs_map(gicv5_irs_ld64(&vmte[GICV5_VMTE_WORD_VMD]) &
				    GICV5_VMTEL2E_VMD_ADDR, 8);
		if (vmd)
			__atomic_store_n(vmd, 0, __ATOMIC_RELAXED);
	}
	gicv5_irs_clr64(&vmte[GICV5_VMTE_WORD_VMD], GICV5_VMTEL2E_VALID);
	return 0;
}

int gicv5_irs_cmd_vmap_vmr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	uint32_t vm_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_VMR_VM_ID, val);

	(void)f;
	if (!(val & GICV5_IRS_VMAP_VMR_M))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, 0);
	if (val & GICV5_IRS_VMAP_VMR_U)
		return irs_vm_unmap(irs, vm_id);
	return irs_vm_map(irs, vm_id);
}

int gicv5_irs_cmd_vmap_vistr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	unsigned int type = (unsigned int)FIELD_GET(GICV5_IRS_VMAP_VISTR_TYPE, val), why;
	uint32_t vm_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_VISTR_VM_ID, val);
	uint64_t *vmte, *w, v;

	(void)f;
	if (!(val & GICV5_IRS_VMAP_VISTR_M) || !gicv5_irs_type_ok(type))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, 0);
	vmte = gicv5_irs_vm(irs, vm_id, &why);
	if (!vmte)
		return gicv5_irs_fault(irs, why, vm_id, 0);
	w = &vmte[gicv5_irs_ist_word(type)];
	v = gicv5_irs_ld64(w);
	if (val & GICV5_IRS_VMAP_VISTR_U) {
		if (!(v & GICV5_VMTEL2E_IST_VALID))
			return gicv5_irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, 0);
		gicv5_irs_ist_unmap(w);
		return 0;
	}
	if (v & GICV5_VMTEL2E_IST_VALID)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, 0);
	why = gicv5_irs_ist_check(irs, v);
	if (why)
		return gicv5_irs_fault(irs, why, vm_id, 0);
	/* L1 entries first: the vIST is never seen valid with them not yet. */
	gicv5_irs_ist_l1_valid(v, true);
	gicv5_irs_set64(w, GICV5_VMTEL2E_IST_VALID);
	return 0;
}

int gicv5_irs_cmd_vmap_l2_vistr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	unsigned int type = (unsigned int)FIELD_GET(GICV5_IRS_VMAP_L2_VISTR_TYPE, val), why;
	uint32_t vm_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_L2_VISTR_VM_ID, val);
	uint32_t id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_L2_VISTR_ID, val);
	uint64_t *vmte, *l1e, w, e;
	struct irs_ist ist;

	(void)f;
	if (!(val & GICV5_IRS_VMAP_L2_VISTR_M) || !gicv5_irs_type_ok(type))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, id);
	vmte = gicv5_irs_vm(irs, vm_id, &why);
	if (!vmte)
		return gicv5_irs_fault(irs, why, vm_id, id);
	w = gicv5_irs_ld64(&vmte[gicv5_irs_ist_word(type)]);
	if (!(w & GICV5_VMTEL2E_IST_VALID))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, id);
	gicv5_irs_ist_decode(w, &ist);
	if (!ist.two_level)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, id);
	if (id >= ist.nr_ids)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_ID, vm_id, id);
	l1e = gicv5_irs_map(ist.base + (uint64_t)(id >> ist.l2_bits) * 8, 8);
	if (!l1e)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, id);
	e = gicv5_irs_ld64(l1e);
	if (e & GICV5_ISTL1E_VALID)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, id);
	if (!gicv5_irs_map(e & GICV5_ISTL1E_L2_ADDR, ist.l2_bytes))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, id);
	gicv5_irs_set64(l1e, GICV5_ISTL1E_VALID);
	return 0;
}

int gicv5_irs_cmd_vmap_vper(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	uint32_t vm_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_VPER_VM_ID, val);
	uint32_t vpe_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_VPER_VPE_ID, val);
	uint64_t *vmte, *vpete, w1, e;
	struct irs_vped *v;
	unsigned int why;

	(void)f;
	if (!(val & GICV5_IRS_VMAP_VPER_M))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, vpe_id);
	vmte = gicv5_irs_vm(irs, vm_id, &why);
	if (!vmte)
		return gicv5_irs_fault(irs, why, vm_id, vpe_id);
	w1 = gicv5_irs_ld64(&vmte[GICV5_VMTE_WORD_VPET]);
	if (vpe_id >> FIELD_GET(GICV5_VMTEL2E_VPE_ID_BITS, w1))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_ID, vm_id, vpe_id);
	vpete = gicv5_irs_map((w1 & GICV5_VMTEL2E_VPET_ADDR) + (uint64_t)vpe_id * 8, 8);
	if (!vpete)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, vpe_id);
	e = gicv5_irs_ld64(vpete);
	if (e & GICV5_VPETE_VALID)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, vpe_id);
	v = gicv5_irs_map(e & GICV5_VPETE_VPED_ADDR, gicv5_irs_vped_bytes(irs));
	if (!v)
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, vpe_id);
	/* A VPED still in use by a resident VPE is not up for grabs. */
	if (v->magic == IRS_VPED_MAGIC && (v->flags & IRS_VPED_RESIDENT))
		return gicv5_irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, vpe_id);
	*v = (struct irs_vped){
		.magic = IRS_VPED_MAGIC,
		.vm_id = (uint16_t)vm_id,
		.vpe_id = (uint16_t)vpe_id,
	};
	gicv5_irs_set64(vpete, GICV5_VPETE_VALID);
	return 0;
}

/* ---- commands: VM selection, SPI_VMR, SAVE_VMR -------------------------- */

static bool irs_vm_selected(struct gicv5_irs *irs)
{
	unsigned int why;

	return gicv5_irs_vm(irs, (uint32_t)FIELD_GET(GICV5_IRS_VM_SELR_VM_ID, irs->vm_selr), &why);
}

int gicv5_irs_cmd_vm_selr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	(void)f;
	irs->vm_selr = val;
	irs->dom[IRS_DOM_VM].v = irs_vm_selected(irs);
	return 0;
}

int gicv5_irs_cmd_vm_dbr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	(void)f;
	irs->vm_dbr = val;
	irs->dom[IRS_DOM_VM].v = irs_vm_selected(irs);
	return 0;
}

int gicv5_irs_cmd_spi_vmr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	(void)f;
	irs->spi_vmr = val;
	return 0;
}

int gicv5_irs_cmd_save_vmr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	(void)f;
	irs->save_vmr = val;
	return 0;
}
