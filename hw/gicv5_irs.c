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
 *    DBPM (the rule comes from a secondary source; see irs_db_beats()).
 *    A VPE_DBR write replaces INTID, DBPM and DBV; REQ_DB = 1 requests a doorbell and REQ_DB = 0 leaves a request as it is.  A VPE
 *    starts (VMAP_VPER) non-resident with no doorbell configured or
 *    requested.  Doorbells are evaluated when an interrupt is injected or
 *    configured, when a VPE leaves a PE and when VPE_DBR is written, not
 *    when software writes ISTEs behind the IRS's back.
 *  - A doorbell is raised (host_lpi_raise) in the thread whose call made
 *    it fire - gicv5_irs_write() of VPE_DBR, gicv5_pe_write_contextr(),
 *    inject, vint_config or unhang - after the model lock is dropped, so a
 *    handler may call back into the model but must not take a lock that
 *    caller may hold.
 *  - ICH_CONTEXTR_EL2 with V = 1 faults (F = 1) for a VPE that is not
 *    valid or is resident on another PE.  It first evicts a different VPE resident on
 *    that PE (without a doorbell request); if the new VPE then faults the
 *    PE has none resident.  Writing the resident VPE again is a no-op.
 *  - Vintc priorities are the 5-bit ISTE field; with fewer IRS priority
 *    bits the low bits are unimplemented and a priority using them is
 *    rejected with -ERANGE.  HPPI ties go to the LPI, then the lower ID.
 */
#include <stdlib.h>

#include <vintc/gicv5_irs.h>

#include "gicv5_irs_priv.h"

#define IRS_PA_RANGE	0x5	/* IDR0.PA_RANGE 0b0101: 48 bits */
#define IRS_PA_BITS	48
#define IRS_FIRE_MAX	4
#define IRS_ACK_TRIES	16

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

#define VPED_RESIDENT	0x01
#define VPED_DBV	0x02
#define VPED_REQ_DB	0x04
#define VPED_DPS	0x08

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

/* ---- memory ---------------------------------------------------------------- */

/* Host memory behind [pa, pa + len), or NULL unless it is one live run. */
static void *irs_map(uint64_t pa, uint64_t len)
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

/* Tables are shared with hyp/ threads: every entry access is atomic. */
static uint64_t ld64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void set64(uint64_t *p, uint64_t bits)
{
	__atomic_fetch_or(p, bits, __ATOMIC_SEQ_CST);
}

static void clr64(uint64_t *p, uint64_t bits)
{
	__atomic_fetch_and(p, ~bits, __ATOMIC_SEQ_CST);
}

static uint32_t ld32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static bool cas32(uint32_t *p, uint32_t old, uint32_t val)
{
	return __atomic_compare_exchange_n(p, &old, val, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

/* ---- faults and doorbells ------------------------------------------------ */

/* Record a faulted command; returns -EIO so command handlers can end with it. */
static int irs_fault(struct gicv5_irs *irs, unsigned int type, uint32_t vm_id, uint32_t id)
{
	irs->stats.faulted++;
	irs->swerr = FIELD_PREP(GICV5_IRS_SWERR_VM_ID, vm_id) |
		     FIELD_PREP(GICV5_IRS_SWERR_ID, id) |
		     FIELD_PREP(GICV5_IRS_SWERR_TYPE, type) | GICV5_IRS_SWERR_VIRTUAL;
	return -EIO;
}

static void irs_fire_flush(const struct irs_fire *f)
{
	for (unsigned int i = 0; i < f->n; i++)
		host_lpi_raise(f->lpi[i]);
}

static bool irs_type_ok(unsigned int type)
{
	return type == GICV5_HWIRQ_TYPE_LPI || type == GICV5_HWIRQ_TYPE_SPI;
}

static unsigned int irs_ist_word(unsigned int type)
{
	return type == GICV5_HWIRQ_TYPE_LPI ? GICV5_VMTE_WORD_LPI_IST : GICV5_VMTE_WORD_SPI_IST;
}

static bool irs_iste_ready(uint32_t v)
{
	return (v & GICV5_ISTL2E_PENDING) && (v & GICV5_ISTL2E_ENABLE) &&
	       !(v & GICV5_ISTL2E_ACTIVE);
}

/*
 * "Its priority is higher than DBPM" (secondary source): a strictly
 * smaller priority value.  The one place to change if the spec says <=.
 */
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
	return (v->flags & (VPED_RESIDENT | VPED_DBV | VPED_REQ_DB)) == (VPED_DBV | VPED_REQ_DB);
}

/* REQ_DB self-clears: exactly one doorbell per request. */
static void irs_db_fire(struct gicv5_irs *irs, struct irs_vped *v, struct irs_fire *f)
{
	v->flags &= (uint8_t)~VPED_REQ_DB;
	irs->stats.doorbells++;
	if (f->n < IRS_FIRE_MAX)
		f->lpi[f->n++] = v->db_intid;
}

/* ---- VM table -------------------------------------------------------------- */

static uint64_t irs_vmt_bytes(unsigned int bits, bool two_level)
{
	uint64_t n = 1ULL << bits;

	if (!two_level)
		return n * GICV5_VMTE_SIZE;
	return (n + GICV5_VMTL2_ENTRIES - 1) / GICV5_VMTL2_ENTRIES * sizeof(uint64_t);
}

static uint64_t *irs_vmt_l1e(struct gicv5_irs *irs, uint32_t vm_id)
{
	return irs_map(irs->vmt_base + (uint64_t)(vm_id / GICV5_VMTL2_ENTRIES) * 8, 8);
}

/* The VMTE slot of vm_id, valid or not; NULL with the reason in *why. */
static uint64_t *irs_vmte_find(struct gicv5_irs *irs, uint32_t vm_id, unsigned int *why)
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
		return irs_map(irs->vmt_base + (uint64_t)vm_id * GICV5_VMTE_SIZE, GICV5_VMTE_SIZE);
	l1e = irs_vmt_l1e(irs, vm_id);
	if (!l1e)
		return NULL;
	e = ld64(l1e);
	if (!(e & GICV5_VMTEL1E_VALID)) {
		*why = IRS_SWERR_BAD_STATE;
		return NULL;
	}
	vmte = irs_map((e & GICV5_VMTEL1E_L2_ADDR) +
		       (uint64_t)(vm_id % GICV5_VMTL2_ENTRIES) * GICV5_VMTE_SIZE, GICV5_VMTE_SIZE);
	return vmte;
}

/* The VMTE of a mapped VM, or NULL. */
static uint64_t *irs_vm(struct gicv5_irs *irs, uint32_t vm_id, unsigned int *why)
{
	uint64_t *vmte = irs_vmte_find(irs, vm_id, why);

	if (vmte && !(ld64(&vmte[GICV5_VMTE_WORD_VMD]) & GICV5_VMTEL2E_VALID)) {
		*why = IRS_SWERR_BAD_STATE;
		return NULL;
	}
	return vmte;
}

static uint64_t irs_vped_bytes(const struct gicv5_irs *irs)
{
	return GICV5_DESC_BYTES(irs->cfg.vped_sz);
}

/*
 * The state of a valid VPE.  Its VPED must carry the signature VMAP_VPER
 * wrote for this very (VM, VPE), so a VPETE pointing at a foreign or
 * zeroed VPED makes the VPE unreachable rather than corrupting another.
 */
static struct irs_vped *irs_vpe(struct gicv5_irs *irs, uint32_t vm_id, uint32_t vpe_id,
				uint64_t **vmte_out, unsigned int *why)
{
	uint64_t *vmte = irs_vm(irs, vm_id, why), *vpete, w1, e;
	struct irs_vped *v;

	if (!vmte)
		return NULL;
	w1 = ld64(&vmte[GICV5_VMTE_WORD_VPET]);
	*why = IRS_SWERR_BAD_ID;
	if (vpe_id >> FIELD_GET(GICV5_VMTEL2E_VPE_ID_BITS, w1))
		return NULL;
	*why = IRS_SWERR_BAD_ADDR;
	vpete = irs_map((w1 & GICV5_VMTEL2E_VPET_ADDR) + (uint64_t)vpe_id * 8, 8);
	if (!vpete)
		return NULL;
	e = ld64(vpete);
	*why = IRS_SWERR_BAD_STATE;
	if (!(e & GICV5_VPETE_VALID))
		return NULL;
	v = irs_map(e & GICV5_VPETE_VPED_ADDR, irs_vped_bytes(irs));
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

static bool irs_resident_in(const struct gicv5_irs *irs, bool any_vm, uint32_t vm_id)
{
	for (unsigned int i = 0; i < irs->cfg.nr_pes; i++)
		if (irs->pes[i].resident && (any_vm || irs->pes[i].vm_id == vm_id))
			return true;
	return false;
}

/* ---- virtual ISTs ------------------------------------------------------------ */

static void irs_ist_decode(uint64_t w, struct irs_ist *ist)
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
		return irs_map(ist->base + (uint64_t)id * ist->slot, 4);
	l1e = irs_map(ist->base + (uint64_t)(id >> ist->l2_bits) * 8, 8);
	if (!l1e)
		return NULL;
	e = ld64(l1e);
	if (!(e & GICV5_ISTL1E_VALID))
		return NULL;
	return irs_map((e & GICV5_ISTL1E_L2_ADDR) +
		       (uint64_t)(id & ((1U << ist->l2_bits) - 1)) * ist->slot, 4);
}

/* 0 if vIST word w can be mapped, else the SWERR type. */
static unsigned int irs_ist_check(const struct gicv5_irs *irs, uint64_t w)
{
	struct irs_ist ist;
	uint64_t *l1;

	if (FIELD_GET(GICV5_VMTEL2E_IST_ID_BITS, w) > irs->cfg.ist_id_bits ||
	    FIELD_GET(GICV5_VMTEL2E_IST_ISTSZ, w) > GICV5_ISTSZ_16 ||
	    FIELD_GET(GICV5_VMTEL2E_IST_L2SZ, w) > GICV5_L2SZ_64K)
		return IRS_SWERR_BAD_CFG;
	irs_ist_decode(w, &ist);
	if (!ist.two_level)
		return irs_map(ist.base, (uint64_t)ist.nr_ids * ist.slot) ? 0 : IRS_SWERR_BAD_ADDR;
	l1 = irs_map(ist.base, (uint64_t)irs_ist_nr_l1(&ist) * 8);
	if (!l1)
		return IRS_SWERR_BAD_ADDR;
	for (uint32_t i = 0; i < irs_ist_nr_l1(&ist); i++) {
		uint64_t e = ld64(&l1[i]);

		if (e & GICV5_ISTL1E_VALID)
			return IRS_SWERR_BAD_STATE;
		if ((e & GICV5_ISTL1E_L2_ADDR) && !irs_map(e & GICV5_ISTL1E_L2_ADDR, ist.l2_bytes))
			return IRS_SWERR_BAD_ADDR;
	}
	return 0;
}

/* Set (map) or clear (unmap) VALID of every populated L1 ISTE. */
static void irs_ist_l1_valid(uint64_t w, bool valid)
{
	struct irs_ist ist;
	uint64_t *l1;

	irs_ist_decode(w, &ist);
	if (!ist.two_level)
		return;
	l1 = irs_map(ist.base, (uint64_t)irs_ist_nr_l1(&ist) * 8);
	for (uint32_t i = 0; l1 && i < irs_ist_nr_l1(&ist); i++) {
		if (!valid)
			clr64(&l1[i], GICV5_ISTL1E_VALID);
		else if (ld64(&l1[i]) & GICV5_ISTL1E_L2_ADDR)
			set64(&l1[i], GICV5_ISTL1E_VALID);
	}
}

static void irs_ist_unmap(uint64_t *w)
{
	uint64_t v = ld64(w);

	if (!(v & GICV5_VMTEL2E_IST_VALID))
		return;
	irs_ist_l1_valid(v, false);
	clr64(w, GICV5_VMTEL2E_IST_VALID);
}

static void irs_scan_block(char *va, const struct irs_ist *ist, uint32_t first, uint32_t count,
			   unsigned int type, uint32_t vpe_id, struct irs_hppi *h)
{
	for (uint32_t i = 0; i < count; i++) {
		uint32_t *p = (uint32_t *)(void *)(va + (size_t)i * ist->slot);
		uint32_t v = ld32(p);
		unsigned int prio;

		if (!irs_iste_ready(v) || FIELD_GET(GICV5_ISTL2E_IAFFID, v) != vpe_id)
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
	irs_ist_decode(w, &ist);
	if (!ist.two_level) {
		va = irs_map(ist.base, (uint64_t)ist.nr_ids * ist.slot);
		if (va)
			irs_scan_block(va, &ist, 0, ist.nr_ids, type, vpe_id, h);
		return;
	}
	l1 = irs_map(ist.base, (uint64_t)irs_ist_nr_l1(&ist) * 8);
	for (uint32_t i = 0; l1 && i < irs_ist_nr_l1(&ist); i++) {
		uint64_t e = ld64(&l1[i]);

		if (!(e & GICV5_ISTL1E_VALID))
			continue;
		va = irs_map(e & GICV5_ISTL1E_L2_ADDR, (uint64_t)irs_ist_per_l2(&ist) * ist.slot);
		if (va)
			irs_scan_block(va, &ist, i << ist.l2_bits, irs_ist_per_l2(&ist), type,
				       vpe_id, h);
	}
}

/* Highest-priority pending, enabled, inactive interrupt targeted at a VPE. */
static void irs_hppi_find(const uint64_t *vmte, uint32_t vpe_id, struct irs_hppi *h)
{
	*h = (struct irs_hppi){ 0 };
	irs_scan_ist(ld64(&vmte[GICV5_VMTE_WORD_LPI_IST]), GICV5_HWIRQ_TYPE_LPI, vpe_id, h);
	irs_scan_ist(ld64(&vmte[GICV5_VMTE_WORD_SPI_IST]), GICV5_HWIRQ_TYPE_SPI, vpe_id, h);
}

static int irs_vint_find(struct gicv5_irs *irs, uint32_t vm_id, unsigned int type, uint32_t id,
			 uint32_t **iste)
{
	unsigned int why;
	uint64_t *vmte = irs_vm(irs, vm_id, &why), w;
	struct irs_ist ist;

	if (!vmte)
		return -ENOENT;
	w = ld64(&vmte[irs_ist_word(type)]);
	if (!(w & GICV5_VMTEL2E_IST_VALID))
		return -ENOENT;
	irs_ist_decode(w, &ist);
	if (id >= ist.nr_ids)
		return -ERANGE;
	*iste = irs_iste(&ist, id);
	return *iste ? 0 : -ENOENT;
}

/* ---- doorbell evaluation ------------------------------------------------------ */

/* A VPE just became eligible (request, DBV, non-resident): scan its vISTs. */
static void irs_db_eval_vpe(struct gicv5_irs *irs, const uint64_t *vmte, struct irs_vped *v,
			    struct irs_fire *f)
{
	struct irs_hppi h;

	if (!irs_db_armed(v))
		return;
	irs_hppi_find(vmte, v->vpe_id, &h);
	if (h.valid && irs_db_beats(h.prio, v->dbpm))
		irs_db_fire(irs, v, f);
}

/*
 * One interrupt changed.  An armed VPE had no qualifying interrupt before
 * (it would have fired and disarmed), so this one alone decides.
 */
static void irs_db_eval_int(struct gicv5_irs *irs, uint32_t vm_id, uint32_t iste,
			    struct irs_fire *f)
{
	struct irs_vped *v;
	unsigned int why;

	if (!irs_iste_ready(iste))
		return;
	v = irs_vpe(irs, vm_id, (uint32_t)FIELD_GET(GICV5_ISTL2E_IAFFID, iste), NULL, &why);
	if (v && irs_db_armed(v) &&
	    irs_db_beats((unsigned int)FIELD_GET(GICV5_ISTL2E_PRIORITY, iste), v->dbpm))
		irs_db_fire(irs, v, f);
}

/* ---- commands: VM table --------------------------------------------------------- */

static int irs_cmd_vmt_baser(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	unsigned int bits = (unsigned int)FIELD_GET(GICV5_IRS_VMT_CFGR_VM_ID_BITS, irs->vmt_cfgr);
	bool two_level = irs->vmt_cfgr & GICV5_IRS_VMT_CFGR_STRUCTURE;
	uint64_t addr = val & GICV5_IRS_VMT_BASER_ADDR;

	(void)f;
	if (!(val & GICV5_IRS_VMT_BASER_VALID)) {
		if (irs_resident_in(irs, true, 0))
			return irs_fault(irs, IRS_SWERR_BAD_STATE, 0, 0);
		irs->vmt_valid = false;
		irs->vmt_baser = addr;
		return 0;
	}
	if (irs->vmt_valid)
		return irs_fault(irs, IRS_SWERR_BAD_STATE, 0, 0);
	if (!irs->vmt_cfgr_written || !bits || bits > irs->cfg.vm_id_bits ||
	    (two_level && !irs->cfg.vmt_levels))
		return irs_fault(irs, IRS_SWERR_BAD_CFG, 0, 0);
	if (!irs_map(addr, irs_vmt_bytes(bits, two_level)))
		return irs_fault(irs, IRS_SWERR_BAD_ADDR, 0, 0);
	/* The configuration is latched: VMT_CFGR is ignored while valid. */
	irs->vmt_bits = bits;
	irs->vmt_two_level = two_level;
	irs->vmt_base = addr;
	irs->vmt_baser = addr;
	irs->vmt_valid = true;
	return 0;
}

static int irs_cmd_vmap_l2_vmtr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	uint32_t vm_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_L2_VMTR_VM_ID, val);
	uint64_t *l1e, e;

	(void)f;
	if (!(val & GICV5_IRS_VMAP_L2_VMTR_M))
		return irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, 0);
	if (!irs->vmt_valid)
		return irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, 0);
	if (!irs->vmt_two_level)
		return irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, 0);
	if (vm_id >> irs->vmt_bits)
		return irs_fault(irs, IRS_SWERR_BAD_ID, vm_id, 0);
	l1e = irs_vmt_l1e(irs, vm_id);
	if (!l1e)
		return irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, 0);
	e = ld64(l1e);
	if (e & GICV5_VMTEL1E_VALID)
		return irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, 0);
	if (!irs_map(e & GICV5_VMTEL1E_L2_ADDR, HOST_PAGE_SIZE))
		return irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, 0);
	set64(l1e, GICV5_VMTEL1E_VALID);
	return 0;
}

/* 0 if VMTE words 0/1 describe a mappable VM, else the SWERR type. */
static unsigned int irs_vmte_check(const struct gicv5_irs *irs, const uint64_t *vmte)
{
	uint64_t w0 = ld64(&vmte[GICV5_VMTE_WORD_VMD]), w1 = ld64(&vmte[GICV5_VMTE_WORD_VPET]);
	unsigned int bits = (unsigned int)FIELD_GET(GICV5_VMTEL2E_VPE_ID_BITS, w1);

	if ((w0 & GICV5_VMTEL2E_VALID) ||
	    ((ld64(&vmte[GICV5_VMTE_WORD_LPI_IST]) | ld64(&vmte[GICV5_VMTE_WORD_SPI_IST])) &
	     GICV5_VMTEL2E_IST_VALID))
		return IRS_SWERR_BAD_STATE;
	if (!bits || bits > irs->cfg.vpe_id_bits)
		return IRS_SWERR_BAD_CFG;
	if (!irs_map(w1 & GICV5_VMTEL2E_VPET_ADDR, 8ULL << bits))
		return IRS_SWERR_BAD_ADDR;
	if (irs->cfg.vmd &&
	    !irs_map(w0 & GICV5_VMTEL2E_VMD_ADDR, GICV5_DESC_BYTES(irs->cfg.vmd_sz)))
		return IRS_SWERR_BAD_ADDR;
	return 0;
}

static int irs_vm_map(struct gicv5_irs *irs, uint32_t vm_id)
{
	unsigned int why;
	uint64_t *vmte = irs_vmte_find(irs, vm_id, &why), *vmd;

	if (!vmte)
		return irs_fault(irs, why, vm_id, 0);
	why = irs_vmte_check(irs, vmte);
	if (why)
		return irs_fault(irs, why, vm_id, 0);
	if (irs->cfg.vmd) {
		vmd = irs_map(ld64(&vmte[GICV5_VMTE_WORD_VMD]) & GICV5_VMTEL2E_VMD_ADDR, 8);
		if (vmd)
			__atomic_store_n(vmd, IRS_VMD_SIGNATURE | vm_id, __ATOMIC_RELAXED);
	}
	set64(&vmte[GICV5_VMTE_WORD_VMD], GICV5_VMTEL2E_VALID);
	return 0;
}

/* The vISTs die with the VMTE; resident VPEs would be left dangling. */
static int irs_vm_unmap(struct gicv5_irs *irs, uint32_t vm_id)
{
	unsigned int why;
	uint64_t *vmte = irs_vm(irs, vm_id, &why), *vmd;

	if (!vmte)
		return irs_fault(irs, why, vm_id, 0);
	if (irs_resident_in(irs, false, vm_id))
		return irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, 0);
	irs_ist_unmap(&vmte[GICV5_VMTE_WORD_LPI_IST]);
	irs_ist_unmap(&vmte[GICV5_VMTE_WORD_SPI_IST]);
	if (irs->cfg.vmd) {
		vmd = irs_map(ld64(&vmte[GICV5_VMTE_WORD_VMD]) & GICV5_VMTEL2E_VMD_ADDR, 8);
		if (vmd)
			__atomic_store_n(vmd, 0, __ATOMIC_RELAXED);
	}
	clr64(&vmte[GICV5_VMTE_WORD_VMD], GICV5_VMTEL2E_VALID);
	return 0;
}

static int irs_cmd_vmap_vmr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	uint32_t vm_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_VMR_VM_ID, val);

	(void)f;
	if (!(val & GICV5_IRS_VMAP_VMR_M))
		return irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, 0);
	if (val & GICV5_IRS_VMAP_VMR_U)
		return irs_vm_unmap(irs, vm_id);
	return irs_vm_map(irs, vm_id);
}

static int irs_cmd_vmap_vistr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	unsigned int type = (unsigned int)FIELD_GET(GICV5_IRS_VMAP_VISTR_TYPE, val), why;
	uint32_t vm_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_VISTR_VM_ID, val);
	uint64_t *vmte, *w, v;

	(void)f;
	if (!(val & GICV5_IRS_VMAP_VISTR_M) || !irs_type_ok(type))
		return irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, 0);
	vmte = irs_vm(irs, vm_id, &why);
	if (!vmte)
		return irs_fault(irs, why, vm_id, 0);
	w = &vmte[irs_ist_word(type)];
	v = ld64(w);
	if (val & GICV5_IRS_VMAP_VISTR_U) {
		if (!(v & GICV5_VMTEL2E_IST_VALID))
			return irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, 0);
		irs_ist_unmap(w);
		return 0;
	}
	if (v & GICV5_VMTEL2E_IST_VALID)
		return irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, 0);
	why = irs_ist_check(irs, v);
	if (why)
		return irs_fault(irs, why, vm_id, 0);
	/* L1 entries first: the vIST is never seen valid with them not yet. */
	irs_ist_l1_valid(v, true);
	set64(w, GICV5_VMTEL2E_IST_VALID);
	return 0;
}

static int irs_cmd_vmap_l2_vistr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	unsigned int type = (unsigned int)FIELD_GET(GICV5_IRS_VMAP_L2_VISTR_TYPE, val), why;
	uint32_t vm_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_L2_VISTR_VM_ID, val);
	uint32_t id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_L2_VISTR_ID, val);
	uint64_t *vmte, *l1e, w, e;
	struct irs_ist ist;

	(void)f;
	if (!(val & GICV5_IRS_VMAP_L2_VISTR_M) || !irs_type_ok(type))
		return irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, id);
	vmte = irs_vm(irs, vm_id, &why);
	if (!vmte)
		return irs_fault(irs, why, vm_id, id);
	w = ld64(&vmte[irs_ist_word(type)]);
	if (!(w & GICV5_VMTEL2E_IST_VALID))
		return irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, id);
	irs_ist_decode(w, &ist);
	if (!ist.two_level)
		return irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, id);
	if (id >= ist.nr_ids)
		return irs_fault(irs, IRS_SWERR_BAD_ID, vm_id, id);
	l1e = irs_map(ist.base + (uint64_t)(id >> ist.l2_bits) * 8, 8);
	if (!l1e)
		return irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, id);
	e = ld64(l1e);
	if (e & GICV5_ISTL1E_VALID)
		return irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, id);
	if (!irs_map(e & GICV5_ISTL1E_L2_ADDR, ist.l2_bytes))
		return irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, id);
	set64(l1e, GICV5_ISTL1E_VALID);
	return 0;
}

static int irs_cmd_vmap_vper(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	uint32_t vm_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_VPER_VM_ID, val);
	uint32_t vpe_id = (uint32_t)FIELD_GET(GICV5_IRS_VMAP_VPER_VPE_ID, val);
	uint64_t *vmte, *vpete, w1, e;
	struct irs_vped *v;
	unsigned int why;

	(void)f;
	if (!(val & GICV5_IRS_VMAP_VPER_M))
		return irs_fault(irs, IRS_SWERR_BAD_CMD, vm_id, vpe_id);
	vmte = irs_vm(irs, vm_id, &why);
	if (!vmte)
		return irs_fault(irs, why, vm_id, vpe_id);
	w1 = ld64(&vmte[GICV5_VMTE_WORD_VPET]);
	if (vpe_id >> FIELD_GET(GICV5_VMTEL2E_VPE_ID_BITS, w1))
		return irs_fault(irs, IRS_SWERR_BAD_ID, vm_id, vpe_id);
	vpete = irs_map((w1 & GICV5_VMTEL2E_VPET_ADDR) + (uint64_t)vpe_id * 8, 8);
	if (!vpete)
		return irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, vpe_id);
	e = ld64(vpete);
	if (e & GICV5_VPETE_VALID)
		return irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, vpe_id);
	v = irs_map(e & GICV5_VPETE_VPED_ADDR, irs_vped_bytes(irs));
	if (!v)
		return irs_fault(irs, IRS_SWERR_BAD_ADDR, vm_id, vpe_id);
	/* A VPED still in use by a resident VPE is not up for grabs. */
	if (v->magic == IRS_VPED_MAGIC && (v->flags & VPED_RESIDENT))
		return irs_fault(irs, IRS_SWERR_BAD_STATE, vm_id, vpe_id);
	*v = (struct irs_vped){
		.magic = IRS_VPED_MAGIC,
		.vm_id = (uint16_t)vm_id,
		.vpe_id = (uint16_t)vpe_id,
	};
	set64(vpete, GICV5_VPETE_VALID);
	return 0;
}

/* ---- commands: VPE and VM selection ---------------------------------------- */

static struct irs_vped *irs_vpe_selected(struct gicv5_irs *irs, uint64_t **vmte,
					 unsigned int *why)
{
	if (!(irs->vpe_selr & GICV5_IRS_VPE_SELR_S)) {
		*why = IRS_SWERR_BAD_STATE;
		return NULL;
	}
	return irs_vpe(irs, (uint32_t)FIELD_GET(GICV5_IRS_VPE_SELR_VM_ID, irs->vpe_selr),
		       (uint32_t)FIELD_GET(GICV5_IRS_VPE_SELR_VPE_ID, irs->vpe_selr), vmte, why);
}

static int irs_vpe_sel_fault(struct gicv5_irs *irs, unsigned int why)
{
	return irs_fault(irs, why, (uint32_t)FIELD_GET(GICV5_IRS_VPE_SELR_VM_ID, irs->vpe_selr),
		  (uint32_t)FIELD_GET(GICV5_IRS_VPE_SELR_VPE_ID, irs->vpe_selr));
}

static int irs_cmd_vpe_selr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	unsigned int why;

	(void)f;
	irs->vpe_selr = val;
	irs->dom[IRS_DOM_VPE].v = irs_vpe_selected(irs, NULL, &why) != NULL;
	return 0;
}

static int irs_cmd_vpe_dbr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	uint64_t *vmte = NULL;
	unsigned int why;
	struct irs_vped *v = irs_vpe_selected(irs, &vmte, &why);

	irs->dom[IRS_DOM_VPE].v = v != NULL;
	if (!v)
		return irs_vpe_sel_fault(irs, why);
	v->db_intid = (uint32_t)FIELD_GET(GICV5_IRS_VPE_DBR_INTID, val);
	v->dbpm = (uint8_t)FIELD_GET(GICV5_IRS_VPE_DBR_DBPM, val);
	v->flags &= (uint8_t)~VPED_DBV;
	if (val & GICV5_IRS_VPE_DBR_DBV)
		v->flags |= VPED_DBV;
	if (val & GICV5_IRS_VPE_DBR_REQ_DB)
		v->flags |= VPED_REQ_DB;
	irs_db_eval_vpe(irs, vmte, v, f);
	return 0;
}

static int irs_cmd_vpe_cr0(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	unsigned int why;
	struct irs_vped *v = irs_vpe_selected(irs, NULL, &why);

	(void)f;
	irs->dom[IRS_DOM_VPE].v = v != NULL;
	if (!v)
		return irs_vpe_sel_fault(irs, why);
	v->flags &= (uint8_t)~VPED_DPS;
	if (val & GICV5_IRS_VPE_CR0_DPS)
		v->flags |= VPED_DPS;
	return 0;
}

static bool irs_vm_selected(struct gicv5_irs *irs)
{
	unsigned int why;

	return irs_vm(irs, (uint32_t)FIELD_GET(GICV5_IRS_VM_SELR_VM_ID, irs->vm_selr), &why);
}

static int irs_cmd_vm_selr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	(void)f;
	irs->vm_selr = val;
	irs->dom[IRS_DOM_VM].v = irs_vm_selected(irs);
	return 0;
}

static int irs_cmd_vm_dbr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	(void)f;
	irs->vm_dbr = val;
	irs->dom[IRS_DOM_VM].v = irs_vm_selected(irs);
	return 0;
}

static int irs_cmd_spi_vmr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	(void)f;
	irs->spi_vmr = val;
	return 0;
}

static int irs_cmd_save_vmr(struct gicv5_irs *irs, uint64_t val, struct irs_fire *f)
{
	(void)f;
	irs->save_vmr = val;
	return 0;
}

/* ---- register frame ------------------------------------------------------------ */

#define REG(name, w) { GICV5_IRS_##name, w, IRS_DOM_NONE, NULL, NULL, NULL, 0 }
#define CMD(name, w, d, fn, mask) \
	{ GICV5_IRS_##name, w, d, "irs." #name, "irs." #name ".hang", fn, mask }

static const struct irs_reg irs_regs[] = {
	REG(IDR0, 4), REG(IDR1, 4), REG(IDR2, 4), REG(IDR3, 4), REG(IDR4, 4),
	CMD(SPI_VMR, 8, IRS_DOM_SPI, irs_cmd_spi_vmr, GICV5_IRS_SPI_VMR_VM_ID),
	CMD(VMT_BASER, 8, IRS_DOM_VMT, irs_cmd_vmt_baser, 0),
	REG(VMT_CFGR, 4), REG(VMT_STATUSR, 4),
	CMD(VPE_SELR, 8, IRS_DOM_VPE, irs_cmd_vpe_selr, GICV5_IRS_VPE_SELR_VM_ID),
	CMD(VPE_DBR, 8, IRS_DOM_VPE, irs_cmd_vpe_dbr, 0),
	REG(VPE_HPPIR, 8),
	CMD(VPE_CR0, 4, IRS_DOM_VPE, irs_cmd_vpe_cr0, 0),
	REG(VPE_STATUSR, 4),
	CMD(VM_DBR, 8, IRS_DOM_VM, irs_cmd_vm_dbr, 0),
	CMD(VM_SELR, 4, IRS_DOM_VM, irs_cmd_vm_selr, GICV5_IRS_VM_SELR_VM_ID),
	REG(VM_STATUSR, 4),
	CMD(VMAP_L2_VMTR, 8, IRS_DOM_VMT, irs_cmd_vmap_l2_vmtr, GICV5_IRS_VMAP_L2_VMTR_VM_ID),
	CMD(VMAP_VMR, 8, IRS_DOM_VMT, irs_cmd_vmap_vmr, GICV5_IRS_VMAP_VMR_VM_ID),
	CMD(VMAP_VISTR, 8, IRS_DOM_VMT, irs_cmd_vmap_vistr, GICV5_IRS_VMAP_VISTR_VM_ID),
	CMD(VMAP_L2_VISTR, 8, IRS_DOM_VMT, irs_cmd_vmap_l2_vistr,
	    GICV5_IRS_VMAP_L2_VISTR_VM_ID),
	CMD(VMAP_VPER, 8, IRS_DOM_VMT, irs_cmd_vmap_vper, GICV5_IRS_VMAP_VPER_VM_ID),
	/* SAVE_VMR.VM_ID is [15:0] like VM_SELR's; gicv5_defs.h names no field. */
	CMD(SAVE_VMR, 8, IRS_DOM_SAVE, irs_cmd_save_vmr, GICV5_IRS_VM_SELR_VM_ID),
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

static bool irs_dom_busy(const struct irs_cmd_dom *d)
{
	return d->hung || d->polls;
}

/* A STATUSR read: one poll of the domain's outstanding command. */
static uint64_t irs_status_read(struct irs_cmd_dom *d)
{
	if (d->hung)
		return 0;
	if (d->polls) {
		d->polls--;
		return 0;
	}
	return GICV5_IRS_STATUSR_IDLE | (d->v ? GICV5_IRS_STATUSR_V : 0);
}

static uint64_t irs_vpe_dbr_read(struct gicv5_irs *irs)
{
	unsigned int why;
	struct irs_vped *v = irs_vpe_selected(irs, NULL, &why);

	if (!v)
		return 0;
	return FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, v->db_intid) |
	       FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, v->dbpm) |
	       (v->flags & VPED_REQ_DB ? GICV5_IRS_VPE_DBR_REQ_DB : 0) |
	       (v->flags & VPED_DBV ? GICV5_IRS_VPE_DBR_DBV : 0);
}

static uint64_t irs_vpe_hppir_read(struct gicv5_irs *irs)
{
	uint64_t *vmte = NULL;
	unsigned int why;
	struct irs_vped *v = irs_vpe_selected(irs, &vmte, &why);
	struct irs_hppi h;

	if (!v)
		return 0;
	irs_hppi_find(vmte, v->vpe_id, &h);
	if (!h.valid)
		return 0;
	return FIELD_PREP(GICV5_IRS_VPE_HPPIR_ID, h.id) |
	       FIELD_PREP(GICV5_IRS_VPE_HPPIR_TYPE, h.type) | GICV5_IRS_VPE_HPPIR_HPPIV;
}

static uint64_t irs_vpe_cr0_read(struct gicv5_irs *irs)
{
	unsigned int why;
	struct irs_vped *v = irs_vpe_selected(irs, NULL, &why);

	return v && (v->flags & VPED_DPS) ? GICV5_IRS_VPE_CR0_DPS : 0;
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
		return irs_status_read(&irs->dom[IRS_DOM_VMT]);
	case GICV5_IRS_VPE_SELR:
		return irs->vpe_selr;
	case GICV5_IRS_VPE_DBR:
		return irs_vpe_dbr_read(irs);
	case GICV5_IRS_VPE_HPPIR:
		return irs_vpe_hppir_read(irs);
	case GICV5_IRS_VPE_CR0:
		return irs_vpe_cr0_read(irs);
	case GICV5_IRS_VPE_STATUSR:
		return irs_status_read(&irs->dom[IRS_DOM_VPE]);
	case GICV5_IRS_VM_DBR:
		return irs->vm_dbr;
	case GICV5_IRS_VM_SELR:
		return irs->vm_selr;
	case GICV5_IRS_VM_STATUSR:
		return irs_status_read(&irs->dom[IRS_DOM_VM]);
	case GICV5_IRS_SAVE_VMR:
		return irs->save_vmr;
	case GICV5_IRS_SAVE_VM_STATUSR:
		return irs_status_read(&irs->dom[IRS_DOM_SAVE]);
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
static void irs_cmd_start(struct gicv5_irs *irs, const struct irs_reg *r, uint64_t val,
			  struct irs_fire *f)
{
	struct irs_cmd_dom *d = &irs->dom[r->dom];

	if (irs_dom_busy(d)) {
		irs->stats.ignored_writes++;
		return;
	}
	irs->stats.commands++;
	/* SPI_VMR has no STATUSR to poll: it never shows latency. */
	d->polls = r->dom == IRS_DOM_SPI ? 0 : irs->latency;
	if (host_fault_hit(r->site)) {
		irs_fault(irs, IRS_SWERR_INJECTED, irs_cmd_vm_id(irs, r, val), 0);
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

static void irs_vmt_cfgr_write(struct gicv5_irs *irs, uint64_t val)
{
	if (irs->vmt_valid || irs_dom_busy(&irs->dom[IRS_DOM_VMT])) {
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
			irs_cmd_start(irs, r, val, &f);
	}
	host_mutex_unlock(&irs->lock);
	irs_fire_flush(&f);
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
	irs_fire_flush(&f);
}

/* ---- PEs: residency, acknowledge, end of interrupt ----------------------------- */

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
	v->flags &= (uint8_t)~VPED_RESIDENT;
	if (val & ICH_CONTEXTR_EL2_DB) {
		v->flags |= VPED_REQ_DB;
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
	if (!v || (v->flags & VPED_RESIDENT))
		return false;
	/* Resident: it sees its interrupts directly, so no doorbell is owed. */
	v->flags = (uint8_t)((v->flags | VPED_RESIDENT) & ~VPED_REQ_DB);
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
	irs_fire_flush(&f);
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
		irs_hppi_find(vmte, v->vpe_id, &h);
		if (!h.valid)
			break;
		if (cas32(h.iste, h.val, (h.val | GICV5_ISTL2E_ACTIVE) & ~GICV5_ISTL2E_PENDING)) {
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

	if (!irs_type_ok(type))
		return -EINVAL;
	host_mutex_lock(&irs->lock);
	v = irs_pe_vpe(irs, pe, NULL);
	if (v && !irs_vint_find(irs, v->vm_id, type, id, &iste)) {
		old = __atomic_fetch_and(iste, ~(uint32_t)GICV5_ISTL2E_ACTIVE, __ATOMIC_SEQ_CST);
		if (old & GICV5_ISTL2E_ACTIVE)
			r = 0;
	}
	host_mutex_unlock(&irs->lock);
	return r;
}

/* ---- devices and guests ------------------------------------------------------------- */

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

	if (!irs_type_ok(type))
		return -EINVAL;
	if (!irs_prio_ok(irs, priority))
		return -ERANGE;
	host_mutex_lock(&irs->lock);
	r = irs_vint_find(irs, vm_id, type, id, &iste);
	if (!r) {
		do {
			old = ld32(iste);
		} while (!cas32(iste, old, (old & ~mask) | set));
		irs_db_eval_int(irs, vm_id, (old & ~mask) | set, &f);
	}
	host_mutex_unlock(&irs->lock);
	irs_fire_flush(&f);
	return r;
}

int gicv5_irs_inject(struct gicv5_irs *irs, uint16_t vm_id, unsigned int type, uint32_t id)
{
	struct irs_fire f = { 0 };
	uint32_t *iste, v;
	int r;

	if (!irs_type_ok(type))
		return -EINVAL;
	host_mutex_lock(&irs->lock);
	r = irs_vint_find(irs, vm_id, type, id, &iste);
	if (!r) {
		v = __atomic_or_fetch(iste, (uint32_t)GICV5_ISTL2E_PENDING, __ATOMIC_SEQ_CST);
		irs_db_eval_int(irs, vm_id, v, &f);
	}
	host_mutex_unlock(&irs->lock);
	irs_fire_flush(&f);
	return r;
}

uint32_t gicv5_irs_vint_state(struct gicv5_irs *irs, uint16_t vm_id, unsigned int type,
			      uint32_t id)
{
	uint32_t *iste, v = 0;

	if (!irs_type_ok(type))
		return 0;
	host_mutex_lock(&irs->lock);
	if (!irs_vint_find(irs, vm_id, type, id, &iste))
		v = ld32(iste);
	host_mutex_unlock(&irs->lock);
	return v;
}

void gicv5_irs_get_stats(struct gicv5_irs *irs, struct gicv5_irs_stats *st)
{
	host_mutex_lock(&irs->lock);
	*st = irs->stats;
	host_mutex_unlock(&irs->lock);
}

/* ---- creation ------------------------------------------------------------------------- */

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
