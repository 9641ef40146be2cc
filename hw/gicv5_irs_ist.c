// SPDX-License-Identifier: MIT
/*
 * The software IRS's virtual ISTs: decoding and validating a vIST word,
 * walking linear and two-level tables to an ISTE, the scan for a VPE's
 * highest-priority pending interrupt, and the interrupt state devices and
 * guests set (configuration, injection, read-back).
 */
#include "gicv5_irs_priv.h"

/* ---- layout ------------------------------------------------------------- */

void gicv5_irs_ist_decode(uint64_t w, struct irs_ist *ist)
{
	unsigned int istsz = (unsigned int)FIELD_GET(GICV5_VMTEL2E_IST_ISTSZ, w);
	unsigned int l2sz = (unsigned int)FIELD_GET(GICV5_VMTEL2E_IST_L2SZ, w);

	ist->base = w & GICV5_VMTEL2E_IST_ADDR;
	ist->nr_ids = 1U << FIELD_GET(GICV5_VMTEL2E_IST_ID_BITS, w);
	ist->slot = 4U << istsz;
	ist->two_level = w & GICV5_VMTEL2E_IST_STRUCTURE;
	ist->l2_bits = (10 - istsz) + 2 * l2sz;
	ist->l2_bytes = 1ULL << (12 + 2 * l2sz);
}

static uint32_t irs_ist_nr_l1(const struct irs_ist *ist)
{
	uint32_t n = ist->nr_ids >> ist->l2_bits;

	return n ? n : 1;
}

/* IDs one L2 covers, clipped to the vIST's ID space. */
static uint32_t irs_ist_per_l2(const struct irs_ist *ist)
{
	uint32_t n = 1U << ist->l2_bits;

	return n < ist->nr_ids ? n : ist->nr_ids;
}

static uint32_t *irs_iste(const struct irs_ist *ist, uint32_t id)
{
	uint64_t *l1e, e;

	if (!ist->two_level)
		return gicv5_irs_map(ist->base + (uint64_t)id * ist->slot, 4);
	l1e = gicv5_irs_map(ist->base + (uint64_t)(id >> ist->l2_bits) * 8, 8);
	if (!l1e)
		return NULL;
	e = gicv5_irs_ld64(l1e);
	if (!(e & GICV5_ISTL1E_VALID))
		return NULL;
	return gicv5_irs_map((e & GICV5_ISTL1E_L2_ADDR) +
			     (uint64_t)(id & ((1U << ist->l2_bits) - 1)) * ist->slot, 4);
}

/* 0 if vIST word w can be mapped, else the SWERR type. */
unsigned int gicv5_irs_ist_check(const struct gicv5_irs *irs, uint64_t w)
{
	struct irs_ist ist;
	uint64_t *l1;

	if (FIELD_GET(GICV5_VMTEL2E_IST_ID_BITS, w) > irs->cfg.ist_id_bits ||
	    FIELD_GET(GICV5_VMTEL2E_IST_ISTSZ, w) > GICV5_ISTSZ_16 ||
	    FIELD_GET(GICV5_VMTEL2E_IST_L2SZ, w) > GICV5_L2SZ_64K)
		return IRS_SWERR_BAD_CFG;
	gicv5_irs_ist_decode(w, &ist);
	if (!ist.two_level)
		return gicv5_irs_map(ist.base, (uint64_t)ist.nr_ids * ist.slot) ?
		       0 : IRS_SWERR_BAD_ADDR;
	l1 = gicv5_irs_map(ist.base, (uint64_t)irs_ist_nr_l1(&ist) * 8);
	if (!l1)
		return IRS_SWERR_BAD_ADDR;
	for (uint32_t i = 0; i < irs_ist_nr_l1(&ist); i++) {
		uint64_t e = gicv5_irs_ld64(&l1[i]);

		if (e & GICV5_ISTL1E_VALID)
			return IRS_SWERR_BAD_STATE;
		if ((e & GICV5_ISTL1E_L2_ADDR) &&
		    !gicv5_irs_map(e & GICV5_ISTL1E_L2_ADDR, ist.l2_bytes))
			return IRS_SWERR_BAD_ADDR;
	}
	return 0;
}

/* Set (map) or clear (unmap) VALID of every populated L1 ISTE. */
void gicv5_irs_ist_l1_valid(uint64_t w, bool valid)
{
	struct irs_ist ist;
	uint64_t *l1;

	gicv5_irs_ist_decode(w, &ist);
	if (!ist.two_level)
		return;
	l1 = gicv5_irs_map(ist.base, (uint64_t)irs_ist_nr_l1(&ist) * 8);
	for (uint32_t i = 0; l1 && i < irs_ist_nr_l1(&ist); i++) {
		if (!valid)
			gicv5_irs_clr64(&l1[i], GICV5_ISTL1E_VALID);
		else if (gicv5_irs_ld64(&l1[i]) & GICV5_ISTL1E_L2_ADDR)
			gicv5_irs_set64(&l1[i], GICV5_ISTL1E_VALID);
	}
}

void gicv5_irs_ist_unmap(uint64_t *w)
{
	uint64_t v = gicv5_irs_ld64(w);

	if (!(v & GICV5_VMTEL2E_IST_VALID))
		return;
	gicv5_irs_ist_l1_valid(v, false);
	gicv5_irs_clr64(w, GICV5_VMTEL2E_IST_VALID);
}

/* ---- highest-priority pending interrupt --------------------------------- */

static void irs_scan_block(char *va, const struct irs_ist *ist, uint32_t first, uint32_t count,
			   unsigned int type, uint32_t vpe_id, struct irs_hppi *h)
{
	for (uint32_t i = 0; i < count; i++) {
		uint32_t *p = (uint32_t *)(void *)(va + (size_t)i * ist->slot);
		uint32_t v = gicv5_irs_ld32(p);
		unsigned int prio;

		if (!gicv5_irs_iste_ready(v) || FIELD_GET(GICV5_ISTL2E_IAFFID, v) != vpe_id)
			continue;
		prio = (unsigned int)FIELD_GET(GICV5_ISTL2E_PRIORITY, v);
		if (h->valid && prio >= h->prio)
			continue;
		*h = (struct irs_hppi){ true, type, prio, first + i, v, p };
	}
}

static void irs_scan_ist(uint64_t w, unsigned int type, uint32_t vpe_id, struct irs_hppi *h)
{
	struct irs_ist ist;
	uint64_t *l1;
	char *va;

	if (!(w & GICV5_VMTEL2E_IST_VALID))
		return;
	gicv5_irs_ist_decode(w, &ist);
	if (!ist.two_level) {
		va = gicv5_irs_map(ist.base, (uint64_t)ist.nr_ids * ist.slot);
		if (va)
			irs_scan_block(va, &ist, 0, ist.nr_ids, type, vpe_id, h);
		return;
	}
	l1 = gicv5_irs_map(ist.base, (uint64_t)irs_ist_nr_l1(&ist) * 8);
	for (uint32_t i = 0; l1 && i < irs_ist_nr_l1(&ist); i++) {
		uint64_t e = gicv5_irs_ld64(&l1[i]);

		if (!(e & GICV5_ISTL1E_VALID))
			continue;
		va = gicv5_irs_map(e & GICV5_ISTL1E_L2_ADDR,
				   (uint64_t)irs_ist_per_l2(&ist) * ist.slot);
		if (va)
			irs_scan_block(va, &ist, i << ist.l2_bits, irs_ist_per_l2(&ist), type,
				       vpe_id, h);
	}
}

/* Highest-priority pending, enabled, inactive interrupt targeted at a VPE. */
void gicv5_irs_hppi_find(const uint64_t *vmte, uint32_t vpe_id, struct irs_hppi *h)
{
	*h = (struct irs_hppi){ 0 };
	irs_scan_ist(gicv5_irs_ld64(&vmte[GICV5_VMTE_WORD_LPI_IST]), GICV5_HWIRQ_TYPE_LPI,
		     vpe_id, h);
	irs_scan_ist(gicv5_irs_ld64(&vmte[GICV5_VMTE_WORD_SPI_IST]), GICV5_HWIRQ_TYPE_SPI,
		     vpe_id, h);
}

int gicv5_irs_vint_find(struct gicv5_irs *irs, uint32_t vm_id, unsigned int type, uint32_t id,
			uint32_t **iste)
{
	unsigned int why;
	uint64_t *vmte = gicv5_irs_vm(irs, vm_id, &why), w;
	struct irs_ist ist;

	if (!vmte)
		return -ENOENT;
	w = gicv5_irs_ld64(&vmte[gicv5_irs_ist_word(type)]);
	if (!(w & GICV5_VMTEL2E_IST_VALID))
		return -ENOENT;
	gicv5_irs_ist_decode(w, &ist);
	if (id >= ist.nr_ids)
		return -ERANGE;
	*iste = irs_iste(&ist, id);
	return *iste ? 0 : -ENOENT;
}

/* ---- devices and guests ------------------------------------------------- */

/* 5-bit priorities; the bits below the IRS's PRIORITY_BITS are not implemented. */
static bool irs_prio_ok(const struct gicv5_irs *irs, unsigned int prio)
{
	unsigned int unimpl = GICV5_PRIORITY_BITS - irs->cfg.priority_bits;

	return prio <= GICV5_PRIORITY_LOWEST && !(prio & ((1U << unimpl) - 1));
}

int gicv5_irs_vint_config(struct gicv5_irs *irs, uint16_t vm_id, unsigned int type,
			  uint32_t id, bool enable, uint8_t priority, uint16_t iaffid)
{
	const uint32_t mask = GICV5_ISTL2E_ENABLE | GICV5_ISTL2E_PRIORITY | GICV5_ISTL2E_IAFFID;
	uint32_t set = (uint32_t)(FIELD_PREP(GICV5_ISTL2E_PRIORITY, priority) |
				  FIELD_PREP(GICV5_ISTL2E_IAFFID, iaffid) |
				  (enable ? GICV5_ISTL2E_ENABLE : 0));
	struct irs_fire f = { 0 };
	uint32_t *iste, old;
	int r;

	if (!gicv5_irs_type_ok(type))
		return -EINVAL;
	if (!irs_prio_ok(irs, priority))
		return -ERANGE;
	host_mutex_lock(&irs->lock);
	r = gicv5_irs_vint_find(irs, vm_id, type, id, &iste);
	if (!r) {
		do {
			old = gicv5_irs_ld32(iste);
		} while (!gicv5_irs_cas32(iste, old, (old & ~mask) | set));
		gicv5_irs_db_eval_int(irs, vm_id, (old & ~mask) | set, &f);
	}
	host_mutex_unlock(&irs->lock);
	gicv5_irs_fire_flush(&f);
	return r;
}

int gicv5_irs_inject(struct gicv5_irs *irs, uint16_t vm_id, unsigned int type, uint32_t id)
{
	struct irs_fire f = { 0 };
	uint32_t *iste, v;
	int r;

	if (!gicv5_irs_type_ok(type))
		return -EINVAL;
	host_mutex_lock(&irs->lock);
	r = gicv5_irs_vint_find(irs, vm_id, type, id, &iste);
	if (!r) {
		v = __atomic_or_fetch(iste, (uint32_t)GICV5_ISTL2E_PENDING, __ATOMIC_SEQ_CST);
		gicv5_irs_db_eval_int(irs, vm_id, v, &f);
	}
	host_mutex_unlock(&irs->lock);
	gicv5_irs_fire_flush(&f);
	return r;
}

uint32_t gicv5_irs_vint_state(struct gicv5_irs *irs, uint16_t vm_id, unsigned int type,
			      uint32_t id)
{
	uint32_t *iste, v = 0;

	if (!gicv5_irs_type_ok(type))
		return 0;
	host_mutex_lock(&irs->lock);
	if (!gicv5_irs_vint_find(irs, vm_id, type, id, &iste))
		v = gicv5_irs_ld32(iste);
	host_mutex_unlock(&irs->lock);
	return v;
}
