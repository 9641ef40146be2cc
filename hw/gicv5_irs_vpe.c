// SPDX-License-Identifier: MIT
/*
 * The software IRS's VPEs: finding a VPE through the VMTE, VPET and its
 * VPED, the VPE commands (VPE_SELR, VPE_DBR, VPE_CR0), residency on a PE
 * through ICH_CONTEXTR_EL2, doorbell generation for VPEs that are not
 * resident, and the resident VPE's acknowledge and end of interrupt.
 */
#include "gicv5_irs_priv.h"

#define IRS_ACK_TRIES	16

/* ---- VPEs --------------------------------------------------------------- */

/*
 * The state of a valid VPE.  Its VPED must carry the signature VMAP_VPER
 * wrote for this very (VM, VPE), so a VPETE pointing at a foreign or
 * zeroed VPED makes the VPE unreachable rather than corrupting another.
 */
static struct irs_vped *irs_vpe(struct gicv5_irs *irs, uint32_t vm_id, uint32_t vpe_id,
				uint64_t **vmte_out, unsigned int *why)
{
	uint64_t *vmte = gicv5_irs_vm(irs, vm_id, why), *vpete, w1, e;
	struct irs_vped *v;

	if (!vmte)
		return NULL;
	w1 = gicv5_irs_ld64(&vmte[GICV5_VMTE_WORD_VPET]);
	*why = IRS_SWERR_BAD_ID;
	if (vpe_id >> FIELD_GET(GICV5_VMTEL2E_VPE_ID_BITS, w1))
		return NULL;
	*why = IRS_SWERR_BAD_ADDR;
	vpete = gicv5_irs_map((w1 & GICV5_VMTEL2E_VPET_ADDR) + (uint64_t)vpe_id * 8, 8);
	if (!vpete)
		return NULL;
	e = gicv5_irs_ld64(vpete);
	*why = IRS_SWERR_BAD_STATE;
	if (!(e & GICV5_VPETE_VALID))
		return NULL;
	v = gicv5_irs_map(e & GICV5_VPETE_VPED_ADDR, gicv5_irs_vped_bytes(irs));
	if (!v) {
		*why = IRS_SWERR_BAD_ADDR;
		return NULL;
	}
	if (v->magic != IRS_VPED_MAGIC || v->vm_id != vm_id || v->vpe_id != vpe_id)
		return NULL;
	if (vmte_out)
		*vmte_out = vmte;
	return v;
}

bool gicv5_irs_resident_in(const struct gicv5_irs *irs, bool any_vm, uint32_t vm_id)
{
	for (unsigned int i = 0; i < irs->cfg.nr_pes; i++)
		if (irs->pes[i].resident && (any_vm || irs->pes[i].vm_id == vm_id))
			return true;
	return false;
}

struct irs_vped *gicv5_irs_vpe_selected(struct gicv5_irs *irs, uint64_t **vmte,
					unsigned int *why)
{
	if (!(irs->vpe_selr & GICV5_IRS_VPE_SELR_S)) {
		*why = IRS_SWERR_BAD_STATE;
		return NULL;
	}
	return irs_vpe(irs, (uint32_t)FIELD_GET(GICV5_IRS_VPE_SELR_VM_ID, irs->vpe_selr),
		       (uint32_t)FIELD_GET(GICV5_IRS_VPE_SELR_VPE_ID, irs->vpe_selr), vmte, why);
}

/* ---- doorbells ---------------------------------------------------------- */

/*
 * Inclusive: a priority value up to DBPM rings.  The hypervisor programs
 * DBPM = mask - 1 (mask = the running priority or VPMR + 1), which
 * only makes sense if DBPM itself qualifies: with a strict compare an
 * interrupt at priority mask - 1, which would preempt, could never wake
 * a halted vCPU.
 */
static bool irs_db_beats(unsigned int prio, unsigned int dbpm)
{
	return prio <= dbpm;
}

static bool irs_db_armed(const struct irs_vped *v)
{
	const uint8_t armed = IRS_VPED_DBV | IRS_VPED_REQ_DB;

	return (v->flags & (IRS_VPED_RESIDENT | armed)) == armed;
}

/* REQ_DB self-clears: exactly one doorbell per request. */
static void irs_db_fire(struct gicv5_irs *irs, struct irs_vped *v, struct irs_fire *f)
{
	v->flags &= (uint8_t)~IRS_VPED_REQ_DB;
	irs->stats.doorbells++;
	if (f->n < IRS_FIRE_MAX)
		f->lpi[f->n++] = v->db_intid;
}

/* A VPE just became eligible (request, DBV, non-resident): scan its vISTs. */
static void irs_db_eval_vpe(struct gicv5_irs *irs, const uint64_t *vmte, struct irs_vped *v,
			    struct irs_fire *f)
{
	struct irs_hppi h;

	if (!irs_db_armed(v))
		return;
	gicv5_irs_hppi_find(vmte, v->vpe_id, &h);
	if (h.valid && irs_db_beats(h.prio, v->dbpm))
		irs_db_fire(irs, v, f);
}

/*
 * One interrupt changed.  An armed VPE had no qualifying interrupt before
 * (it would have fired and disarmed), so this one alone decides.
 */
void gicv5_irs_db_eval_int(struct gicv5_irs *irs, uint32_t vm_id, uint32_t iste,
			   struct irs_fire *f)
{
	struct irs_vped *v;
	unsigned int why;

	if (!gicv5_irs_iste_ready(iste))
		return;
	v = irs_vpe(irs, vm_id, (uint32_t)FIELD_GET(GICV5_ISTL2E_IAFFID, iste), NULL, &why);
	if (v && irs_db_armed(v) &&
	    irs_db_beats((unsigned int)FIELD_GET(GICV5_ISTL2E_PRIORITY, iste), v->dbpm))
		irs_db_fire(irs, v, f);
}

/* ---- commands: VPE selection and configuration -------------------------- */

static int irs_vpe_sel_fault(struct gicv5_irs *irs, unsigned int why)
{
	return gicv5_irs_fault(irs, why,
			       (uint32_t)FIELD_GET(GICV5_IRS_VPE_SELR_VM_ID, irs->vpe_selr),
			       (uint32_t)FIELD_GET(GICV5_IRS_VPE_SELR_VPE_ID, irs->vpe_selr));
}

int gicv5_irs_cmd_vpe_selr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	unsigned int why;

	(void)f;
	irs->vpe_selr = val;
	irs->dom[IRS_DOM_VPE].v = gicv5_irs_vpe_selected(irs, NULL, &why) != NULL;
	return 0;
}

int gicv5_irs_cmd_vpe_dbr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	uint64_t *vmte = NULL;
	unsigned int why;
	struct irs_vped *v = gicv5_irs_vpe_selected(irs, &vmte, &why);

	irs->dom[IRS_DOM_VPE].v = v != NULL;
	if (!v)
		return irs_vpe_sel_fault(irs, why);
	v->db_intid = (uint32_t)FIELD_GET(GICV5_IRS_VPE_DBR_INTID, val);
	v->dbpm = (uint8_t)FIELD_GET(GICV5_IRS_VPE_DBR_DBPM, val);
	v->flags &= (uint8_t)~IRS_VPED_DBV;
	if (val & GICV5_IRS_VPE_DBR_DBV)
		v->flags |= IRS_VPED_DBV;
	if (val & GICV5_IRS_VPE_DBR_REQ_DB)
		v->flags |= IRS_VPED_REQ_DB;
	irs_db_eval_vpe(irs, vmte, v, f);
	return 0;
}

int gicv5_irs_cmd_vpe_cr0(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	unsigned int why;
	struct irs_vped *v = gicv5_irs_vpe_selected(irs, NULL, &why);

	(void)f;
	irs->dom[IRS_DOM_VPE].v = v != NULL;
	if (!v)
		return irs_vpe_sel_fault(irs, why);
	v->flags &= (uint8_t)~IRS_VPED_DPS;
	if (val & GICV5_IRS_VPE_CR0_DPS)
		v->flags |= IRS_VPED_DPS;
	return 0;
}

/* ---- PEs: residency, acknowledge, end of interrupt ---------------------- */

/* The PE's VPE leaves it; a doorbell request rides on a V = 0 write. */
static void irs_pe_evict(struct gicv5_irs *irs, struct irs_pe *p, uint64_t val,
			 struct irs_fire *f)
{
	uint64_t *vmte = NULL;
	struct irs_vped *v;
	unsigned int why;

	if (!p->resident)
		return;
	p->resident = false;
	v = irs_vpe(irs, p->vm_id, p->vpe_id, &vmte, &why);
	if (!v)
		return;
	v->flags &= (uint8_t)~IRS_VPED_RESIDENT;
	if (val & ICH_CONTEXTR_EL2_DB) {
		v->flags |= IRS_VPED_REQ_DB;
		v->dbpm = (uint8_t)FIELD_GET(ICH_CONTEXTR_EL2_DBPM, val);
	}
	irs_db_eval_vpe(irs, vmte, v, f);
}

static bool irs_pe_load(struct gicv5_irs *irs, unsigned int pe, uint64_t val, struct irs_fire *f)
{
	uint32_t vm_id = (uint32_t)FIELD_GET(ICH_CONTEXTR_EL2_VM, val);
	uint32_t vpe_id = (uint32_t)FIELD_GET(ICH_CONTEXTR_EL2_VPE, val);
	struct irs_pe *p = &irs->pes[pe];
	struct irs_vped *v;
	unsigned int why;

	if (p->resident && p->vm_id == vm_id && p->vpe_id == vpe_id)
		return true;
	irs_pe_evict(irs, p, 0, f);
	v = irs_vpe(irs, vm_id, vpe_id, NULL, &why);
	if (!v || (v->flags & IRS_VPED_RESIDENT))
		return false;
	/* Resident: it sees its interrupts directly, so no doorbell is owed. */
	v->flags = (uint8_t)((v->flags | IRS_VPED_RESIDENT) & ~IRS_VPED_REQ_DB);
	v->pe = (uint16_t)pe;
	*p = (struct irs_pe){ .resident = true, .vm_id = (uint16_t)vm_id,
			      .vpe_id = (uint16_t)vpe_id };
	return true;
}

void gicv5_pe_write_contextr(struct gicv5_irs *irs, unsigned int pe, uint64_t val)
{
	struct irs_fire f = { 0 };
	bool ok = true;

	if (pe >= irs->cfg.nr_pes)
		return;
	val &= ~ICH_CONTEXTR_EL2_F;
	host_mutex_lock(&irs->lock);
	if (val & ICH_CONTEXTR_EL2_V)
		ok = irs_pe_load(irs, pe, val, &f);
	else
		irs_pe_evict(irs, &irs->pes[pe], val, &f);
	if (!ok) {
		val |= ICH_CONTEXTR_EL2_F;
		irs->stats.context_faults++;
	}
	irs->pes[pe].ctx = val;
	host_mutex_unlock(&irs->lock);
	gicv5_irs_fire_flush(&f);
}

uint64_t gicv5_pe_read_contextr(struct gicv5_irs *irs, unsigned int pe)
{
	uint64_t v;

	if (pe >= irs->cfg.nr_pes)
		return 0;
	host_mutex_lock(&irs->lock);
	v = irs->pes[pe].ctx;
	host_mutex_unlock(&irs->lock);
	return v;
}

static struct irs_vped *irs_pe_vpe(struct gicv5_irs *irs, unsigned int pe, uint64_t **vmte)
{
	struct irs_pe *p;
	unsigned int why;

	if (pe >= irs->cfg.nr_pes)
		return NULL;
	p = &irs->pes[pe];
	if (!p->resident)
		return NULL;
	return irs_vpe(irs, p->vm_id, p->vpe_id, vmte, &why);
}

int gicv5_pe_ack(struct gicv5_irs *irs, unsigned int pe)
{
	uint64_t *vmte = NULL;
	struct irs_vped *v;
	struct irs_hppi h;
	int r = -ENOENT;

	host_mutex_lock(&irs->lock);
	v = irs_pe_vpe(irs, pe, &vmte);
	/* Retry if software rewrote the ISTE between the scan and the update. */
	for (int i = 0; v && i < IRS_ACK_TRIES; i++) {
		gicv5_irs_hppi_find(vmte, v->vpe_id, &h);
		if (!h.valid)
			break;
		if (gicv5_irs_cas32(h.iste, h.val,
				    (h.val | GICV5_ISTL2E_ACTIVE) & ~GICV5_ISTL2E_PENDING)) {
			r = (int)(FIELD_PREP(GICV5_INTID_TYPE, h.type) | h.id);
			break;
		}
	}
	host_mutex_unlock(&irs->lock);
	return r;
}

int gicv5_pe_eoi(struct gicv5_irs *irs, unsigned int pe, uint32_t intid)
{
	unsigned int type = (unsigned int)FIELD_GET(GICV5_INTID_TYPE, intid);
	uint32_t id = (uint32_t)FIELD_GET(GICV5_INTID_ID, intid), *iste, old;
	struct irs_vped *v;
	int r = -ENOENT;

	if (!gicv5_irs_type_ok(type))
		return -EINVAL;
	host_mutex_lock(&irs->lock);
	v = irs_pe_vpe(irs, pe, NULL);
	if (v && !gicv5_irs_vint_find(irs, v->vm_id, type, id, &iste)) {
		old = __atomic_fetch_and(iste, ~(uint32_t)GICV5_ISTL2E_ACTIVE, __ATOMIC_SEQ_CST);
		if (old & GICV5_ISTL2E_ACTIVE)
			r = 0;
	}
	host_mutex_unlock(&irs->lock);
	return r;
}
