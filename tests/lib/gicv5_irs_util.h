/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the hw/gicv5_irs tests (tests/hw/test_gicv5_irs*.c):
 * the IRS driven the way a hypervisor drives it.  The tables are built by
 * hand in host pages, with every VALID bit left to the IRS, and the host
 * LPIs the doorbells ring are counted.
 */
#ifndef VINTC_TEST_GICV5_IRS_UTIL_H
#define VINTC_TEST_GICV5_IRS_UTIL_H

#include <string.h>

#include <vintc/gicv5_irs.h>

#include "hw/gicv5_irs_priv.h"
#include "test.h"

#define T_VM_BITS	4	/* linear test VMT: 16 VMTEs */
#define T_VPE_BITS	2	/* 4 VPEs per VM */
#define T_NR_VPES	(1U << T_VPE_BITS)
#define T_SPI_BITS	5	/* linear vISTs: 32 SPIs, 64 LPIs */
#define T_LPI_BITS	6
#define T_VPED_STRIDE	64	/* default VPED_SZ 6 */
#define T_NR_PES	4

#define SPI GICV5_HWIRQ_TYPE_SPI
#define LPI GICV5_HWIRQ_TYPE_LPI

struct tvm {
	uint16_t vm_id;
	uint64_t *vmte;
	uint64_t *vpet;
	char *vpeds;
	uint64_t *vmd;
	uint32_t *spi, *lpi;
	uint32_t db[T_NR_VPES];		/* doorbell host LPIs */
};

struct fx {
	struct gicv5_irs *irs;
	uint64_t *vmt;
	struct tvm vm;
};

/* Doorbells seen, per host LPI. */
static unsigned int db_hits[1U << HOST_LPI_ID_BITS];

static inline void db_handler(uint32_t lpi, void *arg)
{
	(void)arg;
	__atomic_add_fetch(&db_hits[lpi], 1, __ATOMIC_SEQ_CST);
}

static inline unsigned int hits(uint32_t lpi)
{
	return __atomic_load_n(&db_hits[lpi], __ATOMIC_SEQ_CST);
}

/* ---- helpers: what a hypervisor would do -------------------------------------- */

static inline void *page(void)
{
	void *p = host_pages_alloc(HOST_TAG_MISC, 0, "test.irs");

	ASSERT(p != NULL);
	return p;
}

/*
 * A page whose successor in PA will never be live (PAs are handed out in
 * order and never reused), so a range running off its end cannot translate.
 */
static inline void *lonely_page(void)
{
	void *p = page();

	host_pages_free(page());
	return p;
}

static inline uint64_t pa(const void *p)
{
	uint64_t a = host_pa(p);

	ASSERT(a != 0);
	return a;
}

static inline struct gicv5_irs *irs_new_cfg(struct gicv5_irs_config *cfg)
{
	struct gicv5_irs *irs = NULL;

	ASSERT_OK(gicv5_irs_create(cfg, &irs));
	return irs;
}

static inline struct gicv5_irs *irs_new(void)
{
	struct gicv5_irs_config cfg;

	gicv5_irs_default_config(&cfg);
	cfg.nr_pes = T_NR_PES;
	return irs_new_cfg(&cfg);
}

static inline uint32_t statusr_of(uint32_t reg)
{
	switch (reg) {
	case GICV5_IRS_VPE_SELR:
	case GICV5_IRS_VPE_DBR:
	case GICV5_IRS_VPE_CR0:
		return GICV5_IRS_VPE_STATUSR;
	case GICV5_IRS_VM_SELR:
	case GICV5_IRS_VM_DBR:
		return GICV5_IRS_VM_STATUSR;
	case GICV5_IRS_SAVE_VMR:
		return GICV5_IRS_SAVE_VM_STATUSR;
	default:
		return GICV5_IRS_VMT_STATUSR;
	}
}

static inline unsigned int reg_size(uint32_t reg)
{
	return reg == GICV5_IRS_VPE_CR0 || reg == GICV5_IRS_VM_SELR ? 4 : 8;
}

static inline bool irs_idle(struct gicv5_irs *irs, uint32_t statusr)
{
	for (int i = 0; i < 1000; i++)
		if (gicv5_irs_read(irs, statusr, 4) & GICV5_IRS_STATUSR_IDLE)
			return true;
	return false;
}

static inline uint64_t swerr(struct gicv5_irs *irs)
{
	return gicv5_irs_read(irs, GICV5_IRS_SWERR_SYNDROMER0, 8);
}

static inline struct gicv5_irs_stats stats(struct gicv5_irs *irs)
{
	struct gicv5_irs_stats st;

	gicv5_irs_get_stats(irs, &st);
	return st;
}

/*
 * The command protocol: idle, one write, idle.  Returns 0 if the command
 * took effect, else the SWERR TYPE it recorded.
 */
static inline unsigned int cmd(struct gicv5_irs *irs, uint32_t reg, uint64_t val)
{
	struct gicv5_irs_stats a = stats(irs), b;

	ASSERT(irs_idle(irs, statusr_of(reg)));
	gicv5_irs_write(irs, reg, val, reg_size(reg));
	ASSERT(irs_idle(irs, statusr_of(reg)));
	b = stats(irs);
	ASSERT_EQ(b.commands, a.commands + 1);
	if (b.faulted == a.faulted)
		return 0;
	ASSERT_EQ(b.faulted, a.faulted + 1);
	ASSERT(swerr(irs) & GICV5_IRS_SWERR_VIRTUAL);
	return (unsigned int)FIELD_GET(GICV5_IRS_SWERR_TYPE, swerr(irs));
}

static inline uint64_t vmr(uint16_t vm_id, bool unmap)
{
	return FIELD_PREP(GICV5_IRS_VMAP_VMR_VM_ID, vm_id) | GICV5_IRS_VMAP_VMR_M |
	       (unmap ? GICV5_IRS_VMAP_VMR_U : 0);
}

static inline uint64_t vistr(uint16_t vm_id, unsigned int type, bool unmap)
{
	return FIELD_PREP(GICV5_IRS_VMAP_VISTR_VM_ID, vm_id) |
	       FIELD_PREP(GICV5_IRS_VMAP_VISTR_TYPE, type) | GICV5_IRS_VMAP_VISTR_M |
	       (unmap ? GICV5_IRS_VMAP_VISTR_U : 0);
}

static inline uint64_t vper(uint16_t vm_id, uint16_t vpe_id)
{
	return FIELD_PREP(GICV5_IRS_VMAP_VPER_VM_ID, vm_id) |
	       FIELD_PREP(GICV5_IRS_VMAP_VPER_VPE_ID, vpe_id) | GICV5_IRS_VMAP_VPER_M;
}

static inline uint64_t selr(uint16_t vm_id, uint16_t vpe_id)
{
	return FIELD_PREP(GICV5_IRS_VPE_SELR_VM_ID, vm_id) |
	       FIELD_PREP(GICV5_IRS_VPE_SELR_VPE_ID, vpe_id) | GICV5_IRS_VPE_SELR_S;
}

static inline uint64_t ist_word(const void *ist, unsigned int id_bits)
{
	return (pa(ist) & GICV5_VMTEL2E_IST_ADDR) | FIELD_PREP(GICV5_VMTEL2E_IST_ID_BITS, id_bits);
}

static inline void vmt_install(struct fx *fx, unsigned int bits)
{
	fx->vmt = page();
	gicv5_irs_write(fx->irs, GICV5_IRS_VMT_CFGR,
			FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, bits), 4);
	ASSERT_EQ(cmd(fx->irs, GICV5_IRS_VMT_BASER, pa(fx->vmt) | GICV5_IRS_VMT_BASER_VALID), 0);
}

/* Words 0..3 of a VMTE and the VPET, all with VALID = 0. */
static inline void vm_build(struct fx *fx, uint16_t vm_id)
{
	struct tvm *vm = &fx->vm;

	vm->vm_id = vm_id;
	vm->vmte = &fx->vmt[vm_id * 4];
	vm->vpet = lonely_page();
	vm->vpeds = page();
	vm->vmd = page();
	vm->spi = lonely_page();
	vm->lpi = page();
	for (unsigned int i = 0; i < T_NR_VPES; i++)
		vm->vpet[i] = pa(vm->vpeds + i * T_VPED_STRIDE);
	vm->vmte[0] = pa(vm->vmd);
	vm->vmte[1] = pa(vm->vpet) | FIELD_PREP(GICV5_VMTEL2E_VPE_ID_BITS, T_VPE_BITS);
	vm->vmte[2] = ist_word(vm->lpi, T_LPI_BITS);
	vm->vmte[3] = ist_word(vm->spi, T_SPI_BITS);
}

/* The KVM sequence: VMTE, vISTs, then each VPE with its doorbell. */
static inline void vm_map(struct fx *fx)
{
	struct tvm *vm = &fx->vm;

	ASSERT_EQ(cmd(fx->irs, GICV5_IRS_VMAP_VMR, vmr(vm->vm_id, false)), 0);
	ASSERT_EQ(cmd(fx->irs, GICV5_IRS_VMAP_VISTR, vistr(vm->vm_id, SPI, false)), 0);
	ASSERT_EQ(cmd(fx->irs, GICV5_IRS_VMAP_VISTR, vistr(vm->vm_id, LPI, false)), 0);
	for (uint16_t i = 0; i < T_NR_VPES; i++) {
		ASSERT_OK(host_lpi_alloc(&vm->db[i]));
		ASSERT_OK(host_lpi_request(vm->db[i], db_handler, NULL));
		ASSERT_EQ(cmd(fx->irs, GICV5_IRS_VMAP_VPER, vper(vm->vm_id, i)), 0);
		ASSERT_EQ(cmd(fx->irs, GICV5_IRS_VPE_SELR, selr(vm->vm_id, i)), 0);
		ASSERT(gicv5_irs_read(fx->irs, GICV5_IRS_VPE_STATUSR, 4) & GICV5_IRS_STATUSR_V);
		ASSERT_EQ(cmd(fx->irs, GICV5_IRS_VPE_CR0, GICV5_IRS_VPE_CR0_DPS), 0);
		ASSERT_EQ(cmd(fx->irs, GICV5_IRS_VPE_DBR,
			      FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, vm->db[i]) |
			      GICV5_IRS_VPE_DBR_DBV), 0);
	}
}

static inline void fx_init(struct fx *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->irs = irs_new();
	vmt_install(fx, T_VM_BITS);
	vm_build(fx, 3);
	vm_map(fx);
}

static inline uint64_t ctx(uint16_t vm_id, uint16_t vpe_id)
{
	return FIELD_PREP(ICH_CONTEXTR_EL2_VM, vm_id) | FIELD_PREP(ICH_CONTEXTR_EL2_VPE, vpe_id) |
	       ICH_CONTEXTR_EL2_V;
}

static inline void make_resident(struct fx *fx, unsigned int pe, uint16_t vpe_id)
{
	gicv5_pe_write_contextr(fx->irs, pe, ctx(fx->vm.vm_id, vpe_id));
	ASSERT_EQ(gicv5_pe_read_contextr(fx->irs, pe), ctx(fx->vm.vm_id, vpe_id));
}

/* Leave the PE; db requests a doorbell with DBPM dbpm. */
static inline void make_nonresident(struct fx *fx, unsigned int pe, bool db, unsigned int dbpm)
{
	gicv5_pe_write_contextr(fx->irs, pe, (db ? ICH_CONTEXTR_EL2_DB : 0) |
				FIELD_PREP(ICH_CONTEXTR_EL2_DBPM, dbpm));
	ASSERT_EQ(gicv5_pe_read_contextr(fx->irs, pe) & ICH_CONTEXTR_EL2_F, 0);
}

/* A VPE that ran on PE 0 and went to sleep asking for a doorbell. */
static inline void vpe_sleep(struct fx *fx, uint16_t vpe_id, unsigned int dbpm)
{
	make_resident(fx, 0, vpe_id);
	make_nonresident(fx, 0, true, dbpm);
}

static inline void vint(struct fx *fx, unsigned int type, uint32_t id, uint8_t prio,
			uint16_t vpe_id)
{
	ASSERT_OK(gicv5_irs_vint_config(fx->irs, fx->vm.vm_id, type, id, true, prio, vpe_id));
}

static inline uint32_t state(struct fx *fx, unsigned int type, uint32_t id)
{
	return gicv5_irs_vint_state(fx->irs, fx->vm.vm_id, type, id);
}

#endif
