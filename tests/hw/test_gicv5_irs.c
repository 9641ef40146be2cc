// SPDX-License-Identifier: MIT
/*
 * hw/gicv5_irs: the software IRS, driven the way a hypervisor drives it.
 * The tables are built by hand in host pages, with every VALID bit left
 * to the IRS, and the host LPIs the doorbells ring are counted.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vintc/gicv5_irs.h>

#include "../hw/gicv5_irs_priv.h"
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

static void db_handler(uint32_t lpi, void *arg)
{
	(void)arg;
	__atomic_add_fetch(&db_hits[lpi], 1, __ATOMIC_SEQ_CST);
}

static unsigned int hits(uint32_t lpi)
{
	return __atomic_load_n(&db_hits[lpi], __ATOMIC_SEQ_CST);
}

/* ---- helpers: what a hypervisor would do -------------------------------------- */

static void *page(void)
{
	void *p = host_pages_alloc(HOST_TAG_MISC, 0, "test.irs");

	ASSERT(p != NULL);
	return p;
}

/*
 * A page whose successor in PA will never be live (PAs are handed out in
 * order and never reused), so a range running off its end cannot translate.
 */
static void *lonely_page(void)
{
	void *p = page();

	host_pages_free(page());
	return p;
}

static uint64_t pa(const void *p)
{
	uint64_t a = host_pa(p);

	ASSERT(a != 0);
	return a;
}

static struct gicv5_irs *irs_new_cfg(struct gicv5_irs_config *cfg)
{
	struct gicv5_irs *irs = NULL;

	ASSERT_OK(gicv5_irs_create(cfg, &irs));
	return irs;
}

static struct gicv5_irs *irs_new(void)
{
	struct gicv5_irs_config cfg;

	gicv5_irs_default_config(&cfg);
	cfg.nr_pes = T_NR_PES;
	return irs_new_cfg(&cfg);
}

static uint32_t statusr_of(uint32_t reg)
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

static unsigned int reg_size(uint32_t reg)
{
	return reg == GICV5_IRS_VPE_CR0 || reg == GICV5_IRS_VM_SELR ? 4 : 8;
}

static bool irs_idle(struct gicv5_irs *irs, uint32_t statusr)
{
	for (int i = 0; i < 1000; i++)
		if (gicv5_irs_read(irs, statusr, 4) & GICV5_IRS_STATUSR_IDLE)
			return true;
	return false;
}

static uint64_t swerr(struct gicv5_irs *irs)
{
	return gicv5_irs_read(irs, GICV5_IRS_SWERR_SYNDROMER0, 8);
}

static struct gicv5_irs_stats stats(struct gicv5_irs *irs)
{
	struct gicv5_irs_stats st;

	gicv5_irs_get_stats(irs, &st);
	return st;
}

/*
 * The command protocol: idle, one write, idle.  Returns 0 if the command
 * took effect, else the SWERR TYPE it recorded.
 */
static unsigned int cmd(struct gicv5_irs *irs, uint32_t reg, uint64_t val)
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

static uint64_t vmr(uint16_t vm_id, bool unmap)
{
	return FIELD_PREP(GICV5_IRS_VMAP_VMR_VM_ID, vm_id) | GICV5_IRS_VMAP_VMR_M |
	       (unmap ? GICV5_IRS_VMAP_VMR_U : 0);
}

static uint64_t vistr(uint16_t vm_id, unsigned int type, bool unmap)
{
	return FIELD_PREP(GICV5_IRS_VMAP_VISTR_VM_ID, vm_id) |
	       FIELD_PREP(GICV5_IRS_VMAP_VISTR_TYPE, type) | GICV5_IRS_VMAP_VISTR_M |
	       (unmap ? GICV5_IRS_VMAP_VISTR_U : 0);
}

static uint64_t vper(uint16_t vm_id, uint16_t vpe_id)
{
	return FIELD_PREP(GICV5_IRS_VMAP_VPER_VM_ID, vm_id) |
	       FIELD_PREP(GICV5_IRS_VMAP_VPER_VPE_ID, vpe_id) | GICV5_IRS_VMAP_VPER_M;
}

static uint64_t selr(uint16_t vm_id, uint16_t vpe_id)
{
	return FIELD_PREP(GICV5_IRS_VPE_SELR_VM_ID, vm_id) |
	       FIELD_PREP(GICV5_IRS_VPE_SELR_VPE_ID, vpe_id) | GICV5_IRS_VPE_SELR_S;
}

static uint64_t ist_word(const void *ist, unsigned int id_bits)
{
	return (pa(ist) & GICV5_VMTEL2E_IST_ADDR) | FIELD_PREP(GICV5_VMTEL2E_IST_ID_BITS, id_bits);
}

static void vmt_install(struct fx *fx, unsigned int bits)
{
	fx->vmt = page();
	gicv5_irs_write(fx->irs, GICV5_IRS_VMT_CFGR,
			FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, bits), 4);
	ASSERT_EQ(cmd(fx->irs, GICV5_IRS_VMT_BASER, pa(fx->vmt) | GICV5_IRS_VMT_BASER_VALID), 0);
}

/* Words 0..3 of a VMTE and the VPET, all with VALID = 0. */
static void vm_build(struct fx *fx, uint16_t vm_id)
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
static void vm_map(struct fx *fx)
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

static void fx_init(struct fx *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->irs = irs_new();
	vmt_install(fx, T_VM_BITS);
	vm_build(fx, 3);
	vm_map(fx);
}

static uint64_t ctx(uint16_t vm_id, uint16_t vpe_id)
{
	return FIELD_PREP(ICH_CONTEXTR_EL2_VM, vm_id) | FIELD_PREP(ICH_CONTEXTR_EL2_VPE, vpe_id) |
	       ICH_CONTEXTR_EL2_V;
}

static void make_resident(struct fx *fx, unsigned int pe, uint16_t vpe_id)
{
	gicv5_pe_write_contextr(fx->irs, pe, ctx(fx->vm.vm_id, vpe_id));
	ASSERT_EQ(gicv5_pe_read_contextr(fx->irs, pe), ctx(fx->vm.vm_id, vpe_id));
}

/* Leave the PE; db requests a doorbell with DBPM dbpm. */
static void make_nonresident(struct fx *fx, unsigned int pe, bool db, unsigned int dbpm)
{
	gicv5_pe_write_contextr(fx->irs, pe, (db ? ICH_CONTEXTR_EL2_DB : 0) |
				FIELD_PREP(ICH_CONTEXTR_EL2_DBPM, dbpm));
	ASSERT_EQ(gicv5_pe_read_contextr(fx->irs, pe) & ICH_CONTEXTR_EL2_F, 0);
}

/* A VPE that ran on PE 0 and went to sleep asking for a doorbell. */
static void vpe_sleep(struct fx *fx, uint16_t vpe_id, unsigned int dbpm)
{
	make_resident(fx, 0, vpe_id);
	make_nonresident(fx, 0, true, dbpm);
}

static void vint(struct fx *fx, unsigned int type, uint32_t id, uint8_t prio, uint16_t vpe_id)
{
	ASSERT_OK(gicv5_irs_vint_config(fx->irs, fx->vm.vm_id, type, id, true, prio, vpe_id));
}

static uint32_t state(struct fx *fx, unsigned int type, uint32_t id)
{
	return gicv5_irs_vint_state(fx->irs, fx->vm.vm_id, type, id);
}

/* ---- configuration and ID registers --------------------------------------------- */

TEST(gicv5_irs_create_validates_config)
{
	struct gicv5_irs_config def, c;
	struct gicv5_irs *irs = NULL;
	struct {
		unsigned int *field;
		unsigned int bad;
	} cases[] = {
		{ &c.vm_id_bits, 0 }, { &c.vm_id_bits, 17 },
		{ &c.vmd_sz, 2 }, { &c.vmd_sz, 13 },
		{ &c.vped_sz, 3 }, { &c.vped_sz, 13 },
		{ &c.vpe_id_bits, 0 }, { &c.vpe_id_bits, 16 },
		{ &c.priority_bits, 0 }, { &c.priority_bits, 6 },
		{ &c.ist_id_bits, 0 }, { &c.ist_id_bits, 25 },
		{ &c.nr_pes, 0 }, { &c.nr_pes, 1025 },
	};

	gicv5_irs_default_config(&def);
	ASSERT_EQ(def.vm_id_bits, 16);
	ASSERT(def.vmt_levels && def.vmd);
	ASSERT_EQ(def.vmd_sz, 8);
	ASSERT_EQ(def.vped_sz, 6);
	ASSERT_EQ(def.vpe_id_bits, 12);
	ASSERT_EQ(def.priority_bits, 5);
	ASSERT_EQ(def.ist_id_bits, 16);
	ASSERT_EQ(def.nr_pes, 64);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		c = def;
		*cases[i].field = cases[i].bad;
		ASSERT_EQ(gicv5_irs_create(&c, &irs), -EINVAL);
	}
	c = def;
	c.vmd = false;
	c.vmd_sz = 0;		/* meaningless without a VMD */
	ASSERT_OK(gicv5_irs_create(&c, &irs));
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_IDR3, 4) & GICV5_IRS_IDR3_VMD, 0);
	gicv5_irs_destroy(irs);
	ASSERT_EQ(gicv5_irs_create(NULL, &irs), -EINVAL);
	gicv5_irs_destroy(NULL);
}

TEST(gicv5_irs_idr_fields)
{
	struct gicv5_irs_config c;
	struct gicv5_irs *irs;
	uint64_t idr0, idr1, idr2, idr3, idr4;

	gicv5_irs_default_config(&c);
	c.vm_id_bits = 9;
	c.vmt_levels = false;
	c.vmd_sz = 5;
	c.vped_sz = 7;
	c.vpe_id_bits = 10;
	c.priority_bits = 3;
	c.ist_id_bits = 14;
	irs = irs_new_cfg(&c);
	idr0 = gicv5_irs_read(irs, GICV5_IRS_IDR0, 4);
	idr1 = gicv5_irs_read(irs, GICV5_IRS_IDR1, 4);
	idr2 = gicv5_irs_read(irs, GICV5_IRS_IDR2, 4);
	idr3 = gicv5_irs_read(irs, GICV5_IRS_IDR3, 4);
	idr4 = gicv5_irs_read(irs, GICV5_IRS_IDR4, 4);
	ASSERT(idr0 & GICV5_IRS_IDR0_VIRT);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_IDR0_PA_RANGE, idr0), 5);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_IDR0_INT_DOM, idr0), 1);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_IDR1_PRIORITY_BITS, idr1), 2);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_IDR2_ID_BITS, idr2), 14);
	ASSERT(idr2 & GICV5_IRS_IDR2_LPI);
	ASSERT(idr2 & GICV5_IRS_IDR2_IST_LEVELS);
	ASSERT(idr3 & GICV5_IRS_IDR3_VMD);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_IDR3_VMD_SZ, idr3), 5);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_IDR3_VM_ID_BITS, idr3), 9);
	ASSERT_EQ(idr3 & GICV5_IRS_IDR3_VMT_LEVELS, 0);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_IDR4_VPED_SZ, idr4), 7);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_IDR4_VPE_ID_BITS, idr4), 10);
	/* Read-only: writes are ignored and counted. */
	gicv5_irs_write(irs, GICV5_IRS_IDR3, 0, 4);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_IDR3, 4), idr3);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_IDR3, 8), idr3);
	ASSERT_EQ(stats(irs).ignored_writes, 1);
	ASSERT_EQ(stats(irs).commands, 0);
	gicv5_irs_destroy(irs);
}

TEST(gicv5_irs_bad_accesses_never_crash)
{
	struct gicv5_irs *irs = irs_new();
	uint64_t *vmt = page();

	/* Unknown offsets and odd sizes read 0 and ignore writes. */
	ASSERT_EQ(gicv5_irs_read(irs, 0x3F0, 4), 0);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_FRAME_SIZE + 8, 8), 0);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_IDR0, 2), 0);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_IDR0 + 1, 4), 0);
	gicv5_irs_write(irs, 0x3F0, ~0ULL, 8);
	gicv5_irs_write(irs, 0xFFFFFFF0, ~0ULL, 8);
	gicv5_irs_write(irs, GICV5_IRS_VMAP_VMR, vmr(1, false), 1);
	gicv5_irs_write(irs, GICV5_IRS_VMAP_VMR, vmr(1, false), 16);
	/* A command is one 64-bit write: half of one is ignored. */
	gicv5_irs_write(irs, GICV5_IRS_VMT_CFGR, FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, 4), 4);
	gicv5_irs_write(irs, GICV5_IRS_VMT_BASER, pa(vmt) | GICV5_IRS_VMT_BASER_VALID, 4);
	ASSERT_EQ(stats(irs).ignored_writes, 5);
	ASSERT_EQ(stats(irs).commands, 0);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_BASER, 8) & GICV5_IRS_VMT_BASER_VALID, 0);
	/* VMAP_* are write-only; the upper half of a 64-bit register reads at +4. */
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMT_BASER, pa(vmt) | GICV5_IRS_VMT_BASER_VALID), 0);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMAP_VMR, 8), 0);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_BASER + 4, 4), pa(vmt) >> 32);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_BASER, 4),
		  (uint32_t)(pa(vmt) | GICV5_IRS_VMT_BASER_VALID));
	/* ICH_CONTEXTR_EL2 of a PE that does not exist. */
	gicv5_pe_write_contextr(irs, T_NR_PES, ctx(1, 0));
	ASSERT_EQ(gicv5_pe_read_contextr(irs, T_NR_PES), 0);
	ASSERT_EQ(gicv5_pe_ack(irs, T_NR_PES), -ENOENT);
	ASSERT_EQ(gicv5_pe_eoi(irs, 1000, FIELD_PREP(GICV5_INTID_TYPE, SPI) | 1), -ENOENT);
	gicv5_irs_destroy(irs);
}

/* ---- the VM table and command completion ------------------------------------- */

TEST(gicv5_irs_vmt_baser_programming)
{
	struct gicv5_irs_config c;
	struct gicv5_irs *irs;
	uint64_t *vmt = page(), base = pa(vmt) | GICV5_IRS_VMT_BASER_VALID;
	int not_a_page;

	gicv5_irs_default_config(&c);
	c.vm_id_bits = 8;
	c.vmt_levels = false;
	irs = irs_new_cfg(&c);
	ASSERT(gicv5_irs_read(irs, GICV5_IRS_VMT_STATUSR, 4) & GICV5_IRS_STATUSR_IDLE);
	/* VMT_CFGR must come first. */
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMT_BASER, base), IRS_SWERR_BAD_CFG);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_BASER, 8) & GICV5_IRS_VMT_BASER_VALID, 0);
	gicv5_irs_write(irs, GICV5_IRS_VMT_CFGR, FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, 9), 4);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMT_BASER, base), IRS_SWERR_BAD_CFG);
	gicv5_irs_write(irs, GICV5_IRS_VMT_CFGR, FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, 1) |
			GICV5_IRS_VMT_CFGR_STRUCTURE, 4);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMT_BASER, base), IRS_SWERR_BAD_CFG);
	/* 2^8 VMTEs are 8 KiB: more than the one page behind the address. */
	gicv5_irs_write(irs, GICV5_IRS_VMT_CFGR, FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, 8), 4);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMT_BASER, base), IRS_SWERR_BAD_ADDR);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMT_BASER,
		      ((uint64_t)(uintptr_t)&not_a_page & GICV5_IRS_VMT_BASER_ADDR) |
		      GICV5_IRS_VMT_BASER_VALID), IRS_SWERR_BAD_ADDR);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_BASER, 8) & GICV5_IRS_VMT_BASER_VALID, 0);
	/* 2^7 VMTEs fill the page exactly. */
	gicv5_irs_write(irs, GICV5_IRS_VMT_CFGR, FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, 7), 4);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_CFGR, 4),
		  FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, 7));
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMT_BASER, base), 0);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_BASER, 8), base);
	/* Latched while valid: CFGR ignored, a second VALID = 1 faults. */
	gicv5_irs_write(irs, GICV5_IRS_VMT_CFGR, FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, 2), 4);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_CFGR, 4),
		  FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, 7));
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMT_BASER, base), IRS_SWERR_BAD_STATE);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMT_BASER, 0), 0);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_BASER, 8) & GICV5_IRS_VMT_BASER_VALID, 0);
	ASSERT_EQ(stats(irs).faulted, 6);
	gicv5_irs_destroy(irs);
}

TEST(gicv5_irs_latency_idle_reads_zero_for_n_polls)
{
	struct gicv5_irs *irs = irs_new();
	uint64_t *vmt = page(), base = pa(vmt) | GICV5_IRS_VMT_BASER_VALID;

	gicv5_irs_set_latency(irs, 3);
	gicv5_irs_write(irs, GICV5_IRS_VMT_CFGR, FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, 4), 4);
	gicv5_irs_write(irs, GICV5_IRS_VMT_BASER, base, 8);
	/* The effect is already there; completion takes three polls. */
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_BASER, 8), base);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_STATUSR, 4), 0);
	/* Other domains are not busy. */
	ASSERT(gicv5_irs_read(irs, GICV5_IRS_VPE_STATUSR, 4) & GICV5_IRS_STATUSR_IDLE);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_STATUSR, 4), GICV5_IRS_STATUSR_IDLE);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_STATUSR, 4), GICV5_IRS_STATUSR_IDLE);

	/* A write while busy is ignored: the VMT stays invalid. */
	gicv5_irs_write(irs, GICV5_IRS_VMT_BASER, 0, 8);
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_BASER, 8), 0);
	gicv5_irs_write(irs, GICV5_IRS_VMT_BASER, base, 8);
	ASSERT_EQ(stats(irs).ignored_writes, 1);
	ASSERT_EQ(stats(irs).commands, 2);
	ASSERT(irs_idle(irs, GICV5_IRS_VMT_STATUSR));
	ASSERT_EQ(gicv5_irs_read(irs, GICV5_IRS_VMT_BASER, 8), 0);
	gicv5_irs_destroy(irs);
}

TEST(gicv5_irs_fault_site_makes_command_ineffective)
{
	struct fx fx;
	bool saw_site = false, saw_hang = false;

	memset(&fx, 0, sizeof(fx));
	fx.irs = irs_new();
	vmt_install(&fx, T_VM_BITS);
	vm_build(&fx, 5);
	host_fault_reset();
	host_fault_arm_site("irs.VMAP_VMR", 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(5, false)), IRS_SWERR_INJECTED);
	host_fault_disarm();
	ASSERT_EQ(FIELD_GET(GICV5_IRS_SWERR_VM_ID, swerr(fx.irs)), 5);
	ASSERT_EQ(fx.vm.vmte[0] & GICV5_VMTEL2E_VALID, 0);
	ASSERT_EQ(*fx.vm.vmd, 0);
	/* The fault site is checked first and the hang site then skipped. */
	for (uint64_t n = 1; n <= host_fault_count(); n++) {
		const char *s = host_fault_site_name(n);

		saw_site |= s && !strcmp(s, "irs.VMAP_VMR");
		saw_hang |= s && !strcmp(s, "irs.VMAP_VMR.hang");
	}
	ASSERT(saw_site);
	ASSERT(!saw_hang);
	host_fault_reset();
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(5, false)), 0);
	ASSERT_EQ(host_fault_count(), 2);
	ASSERT(!strcmp(host_fault_site_name(1), "irs.VMAP_VMR"));
	ASSERT(!strcmp(host_fault_site_name(2), "irs.VMAP_VMR.hang"));
	ASSERT(fx.vm.vmte[0] & GICV5_VMTEL2E_VALID);
	ASSERT_EQ(*fx.vm.vmd, IRS_VMD_SIGNATURE | 5);

	/* A faulted VPE_DBR names the selected VPE's VM. */
	host_fault_arm_site("irs.VPE_DBR", 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(5, 0)), 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_DBR, GICV5_IRS_VPE_DBR_DBV), IRS_SWERR_INJECTED);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_SWERR_VM_ID, swerr(fx.irs)), 5);
	host_fault_disarm();
}

TEST(gicv5_irs_hang_site_holds_until_unhang)
{
	struct fx fx;

	memset(&fx, 0, sizeof(fx));
	fx.irs = irs_new();
	vmt_install(&fx, T_VM_BITS);
	vm_build(&fx, 2);
	host_fault_arm_site("irs.VMAP_VMR.hang", 0);
	gicv5_irs_write(fx.irs, GICV5_IRS_VMAP_VMR, vmr(2, false), 8);
	host_fault_disarm();
	ASSERT(gicv5_irs_hung(fx.irs));
	ASSERT(!irs_idle(fx.irs, GICV5_IRS_VMT_STATUSR));
	ASSERT_EQ(fx.vm.vmte[0] & GICV5_VMTEL2E_VALID, 0);
	/* Its domain ignores further commands; the VPE domain does not. */
	gicv5_irs_write(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(2, SPI, false), 8);
	ASSERT_EQ(stats(fx.irs).ignored_writes, 1);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(2, 0)), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_STATUSR, 4), GICV5_IRS_STATUSR_IDLE);
	gicv5_irs_unhang(fx.irs);
	ASSERT(!gicv5_irs_hung(fx.irs));
	ASSERT(irs_idle(fx.irs, GICV5_IRS_VMT_STATUSR));
	ASSERT(fx.vm.vmte[0] & GICV5_VMTEL2E_VALID);
	/* The ignored VISTR never happened. */
	ASSERT_EQ(fx.vm.vmte[3] & GICV5_VMTEL2E_IST_VALID, 0);
	ASSERT_EQ(stats(fx.irs).faulted, 0);

	/* A hung SPI_VMR (no STATUSR) shows in gicv5_irs_hung() only. */
	host_fault_arm_site("irs.SPI_VMR.hang", 0);
	gicv5_irs_write(fx.irs, GICV5_IRS_SPI_VMR, GICV5_IRS_SPI_VMR_VIRT | 2, 8);
	host_fault_disarm();
	ASSERT(gicv5_irs_hung(fx.irs));
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_SPI_VMR, 8), 0);
	gicv5_irs_unhang(fx.irs);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_SPI_VMR, 8), GICV5_IRS_SPI_VMR_VIRT | 2);
}

TEST(gicv5_irs_two_level_vmt)
{
	struct gicv5_irs *irs = irs_new();
	uint64_t *l1 = page(), *l2a = page(), *l2b = page(), *vpet = page();
	char *vped = page();
	uint64_t *vmte;

	gicv5_irs_write(irs, GICV5_IRS_VMT_CFGR, FIELD_PREP(GICV5_IRS_VMT_CFGR_VM_ID_BITS, 8) |
			GICV5_IRS_VMT_CFGR_STRUCTURE, 4);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMT_BASER, pa(l1) | GICV5_IRS_VMT_BASER_VALID), 0);
	/* VM 200 lives in L2 #1 at index 72. */
	vmte = &l2b[(200 % 128) * 4];
	vmte[0] = pa(page());
	vmte[1] = pa(vpet) | FIELD_PREP(GICV5_VMTEL2E_VPE_ID_BITS, 1);
	vpet[1] = pa(vped);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMAP_VMR, vmr(200, false)), IRS_SWERR_BAD_STATE);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMAP_L2_VMTR,
		      FIELD_PREP(GICV5_IRS_VMAP_L2_VMTR_VM_ID, 200) | GICV5_IRS_VMAP_L2_VMTR_M),
		  IRS_SWERR_BAD_ADDR);		/* L2_ADDR still 0 */
	l1[1] = pa(l2b);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMAP_L2_VMTR, FIELD_PREP(GICV5_IRS_VMAP_L2_VMTR_VM_ID, 200)),
		  IRS_SWERR_BAD_CMD);		/* M = 0 */
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMAP_L2_VMTR,
		      FIELD_PREP(GICV5_IRS_VMAP_L2_VMTR_VM_ID, 256) | GICV5_IRS_VMAP_L2_VMTR_M),
		  IRS_SWERR_BAD_ID);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMAP_L2_VMTR,
		      FIELD_PREP(GICV5_IRS_VMAP_L2_VMTR_VM_ID, 200) | GICV5_IRS_VMAP_L2_VMTR_M), 0);
	ASSERT_EQ(l1[1], pa(l2b) | GICV5_VMTEL1E_VALID);
	ASSERT_EQ(l1[0], 0);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMAP_L2_VMTR,
		      FIELD_PREP(GICV5_IRS_VMAP_L2_VMTR_VM_ID, 130) | GICV5_IRS_VMAP_L2_VMTR_M),
		  IRS_SWERR_BAD_STATE);		/* same L1 entry, already valid */
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMAP_VMR, vmr(200, false)), 0);
	ASSERT(vmte[0] & GICV5_VMTEL2E_VALID);
	ASSERT_EQ(l2b[0], 0);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMAP_VPER, vper(200, 1)), 0);
	ASSERT_EQ(vpet[1], pa(vped) | GICV5_VPETE_VALID);
	gicv5_pe_write_contextr(irs, 2, ctx(200, 1));
	ASSERT_EQ(gicv5_pe_read_contextr(irs, 2), ctx(200, 1));
	/* VM 5 in L2 #0. */
	l1[0] = pa(l2a);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMAP_VMR, vmr(5, false)), IRS_SWERR_BAD_STATE);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMAP_L2_VMTR,
		      FIELD_PREP(GICV5_IRS_VMAP_L2_VMTR_VM_ID, 5) | GICV5_IRS_VMAP_L2_VMTR_M), 0);
	ASSERT_EQ(cmd(irs, GICV5_IRS_VMAP_VMR, vmr(5, false)), IRS_SWERR_BAD_CFG);
	gicv5_irs_destroy(irs);
}

TEST(gicv5_irs_vmap_l2_vmtr_needs_two_level)
{
	struct fx fx;

	memset(&fx, 0, sizeof(fx));
	fx.irs = irs_new();
	vmt_install(&fx, T_VM_BITS);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_L2_VMTR,
		      FIELD_PREP(GICV5_IRS_VMAP_L2_VMTR_VM_ID, 1) | GICV5_IRS_VMAP_L2_VMTR_M),
		  IRS_SWERR_BAD_CMD);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMT_BASER, 0), 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_L2_VMTR,
		      FIELD_PREP(GICV5_IRS_VMAP_L2_VMTR_VM_ID, 1) | GICV5_IRS_VMAP_L2_VMTR_M),
		  IRS_SWERR_BAD_STATE);
}

/* ---- VMTE, vIST and VPE validation ------------------------------------------------ */

TEST(gicv5_irs_vmte_map_validation)
{
	struct fx fx;
	uint64_t w0, w1, *vmte, *big;

	memset(&fx, 0, sizeof(fx));
	fx.irs = irs_new();
	vmt_install(&fx, T_VM_BITS);
	vm_build(&fx, 7);
	vmte = fx.vm.vmte;
	w0 = vmte[0];
	w1 = vmte[1];

	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, false) & ~GICV5_IRS_VMAP_VMR_M),
		  IRS_SWERR_BAD_CMD);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(1U << T_VM_BITS, false)), IRS_SWERR_BAD_ID);
	vmte[1] = w1 & ~GICV5_VMTEL2E_VPE_ID_BITS;
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, false)), IRS_SWERR_BAD_CFG);
	vmte[1] = (w1 & ~GICV5_VMTEL2E_VPE_ID_BITS) | FIELD_PREP(GICV5_VMTEL2E_VPE_ID_BITS, 13);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, false)), IRS_SWERR_BAD_CFG);
	/* 2^10 VPETEs need 8 KiB behind VPET_ADDR. */
	vmte[1] = (w1 & ~GICV5_VMTEL2E_VPE_ID_BITS) | FIELD_PREP(GICV5_VMTEL2E_VPE_ID_BITS, 10);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, false)), IRS_SWERR_BAD_ADDR);
	big = host_pages_alloc(HOST_TAG_MISC, 1, "test.irs");
	ASSERT(big != NULL);
	vmte[1] = pa(big) | FIELD_PREP(GICV5_VMTEL2E_VPE_ID_BITS, 10);
	vmte[0] = 0;
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, false)), IRS_SWERR_BAD_ADDR);
	vmte[0] = w0 | GICV5_VMTEL2E_VALID;	/* software may not set VALID */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, false)), IRS_SWERR_BAD_STATE);
	vmte[0] = w0;
	vmte[3] |= GICV5_VMTEL2E_IST_VALID;
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, false)), IRS_SWERR_BAD_STATE);
	vmte[3] &= ~GICV5_VMTEL2E_IST_VALID;
	vmte[1] = (w1 & ~GICV5_VMTEL2E_VPET_ADDR) | 0x1000;	/* not a live page */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, false)), IRS_SWERR_BAD_ADDR);
	vmte[1] = w1;
	ASSERT_EQ(FIELD_GET(GICV5_IRS_SWERR_VM_ID, swerr(fx.irs)), 7);
	ASSERT_EQ(vmte[0], w0);

	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, false)), 0);
	ASSERT_EQ(vmte[0], w0 | GICV5_VMTEL2E_VALID);
	ASSERT_EQ(*fx.vm.vmd, IRS_VMD_SIGNATURE | 7);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, false)), IRS_SWERR_BAD_STATE);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(7, SPI, false)), 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(7, LPI, false)), 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(7, 0)), 0);

	/* Unmap: VALID and both IST_VALIDs go, the VMD signature too. */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, true)), 0);
	ASSERT_EQ(vmte[0], w0);
	ASSERT_EQ(vmte[2] & GICV5_VMTEL2E_IST_VALID, 0);
	ASSERT_EQ(vmte[3] & GICV5_VMTEL2E_IST_VALID, 0);
	ASSERT_EQ(*fx.vm.vmd, 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(7, true)), IRS_SWERR_BAD_STATE);
	/* Its VPEs are out of reach. */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(7, 0)), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_STATUSR, 4) & GICV5_IRS_STATUSR_V, 0);
	gicv5_pe_write_contextr(fx.irs, 0, ctx(7, 0));
	ASSERT(gicv5_pe_read_contextr(fx.irs, 0) & ICH_CONTEXTR_EL2_F);
	ASSERT_EQ(gicv5_irs_inject(fx.irs, 7, SPI, 1), -ENOENT);
}

TEST(gicv5_irs_vmte_without_vmd)
{
	struct gicv5_irs_config c;
	struct fx fx;

	gicv5_irs_default_config(&c);
	c.vmd = false;
	memset(&fx, 0, sizeof(fx));
	fx.irs = irs_new_cfg(&c);
	vmt_install(&fx, T_VM_BITS);
	vm_build(&fx, 1);
	fx.vm.vmte[0] = 0;	/* no VMD: its address does not matter */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(1, false)), 0);
	ASSERT_EQ(fx.vm.vmte[0], GICV5_VMTEL2E_VALID);
	ASSERT_EQ(*fx.vm.vmd, 0);
}

TEST(gicv5_irs_unmap_refused_while_vpe_resident)
{
	struct fx fx;

	fx_init(&fx);
	make_resident(&fx, 1, 2);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(3, true)), IRS_SWERR_BAD_STATE);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMT_BASER, 0), IRS_SWERR_BAD_STATE);
	ASSERT(fx.vm.vmte[0] & GICV5_VMTEL2E_VALID);
	make_nonresident(&fx, 1, false, 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(3, true)), 0);
	ASSERT_EQ(fx.vm.vmte[0] & GICV5_VMTEL2E_VALID, 0);
	/* VPETEs are left for software to zero; re-validating faults. */
	ASSERT(fx.vm.vpet[2] & GICV5_VPETE_VALID);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMT_BASER, 0), 0);
}

TEST(gicv5_irs_vistr_validation_and_layout)
{
	struct fx fx;
	uint64_t *vmte;
	uint32_t *spi8;

	memset(&fx, 0, sizeof(fx));
	fx.irs = irs_new();
	vmt_install(&fx, T_VM_BITS);
	vm_build(&fx, 4);
	vmte = fx.vm.vmte;
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(4, SPI, false)), IRS_SWERR_BAD_STATE);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(4, false)), 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(4, GICV5_HWIRQ_TYPE_PPI, false)),
		  IRS_SWERR_BAD_CMD);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(4, SPI, false) & ~GICV5_IRS_VMAP_VISTR_M),
		  IRS_SWERR_BAD_CMD);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(4, SPI, true)), IRS_SWERR_BAD_STATE);
	/* ID_BITS beyond IDR2.ID_BITS (16), ISTSZ 3. */
	vmte[3] = ist_word(fx.vm.spi, 17);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(4, SPI, false)), IRS_SWERR_BAD_CFG);
	vmte[3] = ist_word(fx.vm.spi, 4) | FIELD_PREP(GICV5_VMTEL2E_IST_ISTSZ, 3);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(4, SPI, false)), IRS_SWERR_BAD_CFG);
	/* 2^11 4-byte ISTEs need 8 KiB; address 0 never translates. */
	vmte[3] = ist_word(fx.vm.spi, 11);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(4, SPI, false)), IRS_SWERR_BAD_ADDR);
	vmte[3] = FIELD_PREP(GICV5_VMTEL2E_IST_ID_BITS, 4);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(4, SPI, false)), IRS_SWERR_BAD_ADDR);
	ASSERT_EQ(vmte[3] & GICV5_VMTEL2E_IST_VALID, 0);

	/* 8-byte slots: the ISTE for ID n is at IST_ADDR + 8n. */
	spi8 = page();
	vmte[3] = ist_word(spi8, 5) | FIELD_PREP(GICV5_VMTEL2E_IST_ISTSZ, GICV5_ISTSZ_8);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(4, SPI, false)), 0);
	ASSERT(vmte[3] & GICV5_VMTEL2E_IST_VALID);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(4, SPI, false)), IRS_SWERR_BAD_STATE);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 4, SPI, 9));
	ASSERT_EQ(spi8[18], GICV5_ISTL2E_PENDING);
	ASSERT_EQ(spi8[9], 0);
	ASSERT_EQ(gicv5_irs_inject(fx.irs, 4, SPI, 32), -ERANGE);
	ASSERT_EQ(gicv5_irs_inject(fx.irs, 4, LPI, 1), -ENOENT);	/* LPI vIST unmapped */

	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(4, SPI, true)), 0);
	ASSERT_EQ(vmte[3] & GICV5_VMTEL2E_IST_VALID, 0);
	ASSERT_EQ(gicv5_irs_inject(fx.irs, 4, SPI, 9), -ENOENT);
	ASSERT_EQ(gicv5_irs_vint_state(fx.irs, 4, SPI, 9), 0);
}

TEST(gicv5_irs_two_level_vist)
{
	struct fx fx;
	uint64_t *vmte, *l1 = page();
	uint32_t *l2a = page(), *l2b = page(), *l2c = page();
	/* 4-byte ISTEs in 4 KiB L2s: 10 ID bits per L2; 12 ID bits = 4 L1 entries. */
	uint64_t w = ist_word(l1, 12) | GICV5_VMTEL2E_IST_STRUCTURE;
	uint64_t l2_cmd = FIELD_PREP(GICV5_IRS_VMAP_L2_VISTR_VM_ID, 6) |
			  FIELD_PREP(GICV5_IRS_VMAP_L2_VISTR_TYPE, LPI) | GICV5_IRS_VMAP_L2_VISTR_M;

	memset(&fx, 0, sizeof(fx));
	fx.irs = irs_new();
	vmt_install(&fx, T_VM_BITS);
	vm_build(&fx, 6);
	vmte = fx.vm.vmte;
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(6, false)), 0);
	vmte[2] = w | FIELD_PREP(GICV5_VMTEL2E_IST_L2SZ, 3);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(6, LPI, false)), IRS_SWERR_BAD_CFG);
	vmte[2] = w;
	l1[0] = pa(l2a);
	l1[2] = pa(l2b) | GICV5_ISTL1E_VALID;	/* software may not set VALID */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(6, LPI, false)), IRS_SWERR_BAD_STATE);
	l1[2] = 0x7000;				/* not a live page */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(6, LPI, false)), IRS_SWERR_BAD_ADDR);
	l1[2] = pa(l2b);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(6, LPI, false)), 0);
	/* Populated L1 entries were made valid, the empty ones were not. */
	ASSERT_EQ(l1[0], pa(l2a) | GICV5_ISTL1E_VALID);
	ASSERT_EQ(l1[1], 0);
	ASSERT_EQ(l1[2], pa(l2b) | GICV5_ISTL1E_VALID);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 6, LPI, 2048 + 5));
	ASSERT_EQ(l2b[5], GICV5_ISTL2E_PENDING);
	ASSERT_EQ(gicv5_irs_inject(fx.irs, 6, LPI, 1024 + 5), -ENOENT);
	ASSERT_EQ(gicv5_irs_inject(fx.irs, 6, LPI, 4096), -ERANGE);

	/* VMAP_L2_VISTR maps L1 entry #1 on demand. */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_L2_VISTR,
		      l2_cmd | FIELD_PREP(GICV5_IRS_VMAP_L2_VISTR_ID, 1024)), IRS_SWERR_BAD_ADDR);
	l1[1] = pa(l2c);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_L2_VISTR,
		      l2_cmd | FIELD_PREP(GICV5_IRS_VMAP_L2_VISTR_ID, 4096)), IRS_SWERR_BAD_ID);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_SWERR_ID, swerr(fx.irs)), 4096);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_L2_VISTR,
		      (l2_cmd & ~GICV5_IRS_VMAP_L2_VISTR_M) |
		      FIELD_PREP(GICV5_IRS_VMAP_L2_VISTR_ID, 1030)), IRS_SWERR_BAD_CMD);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_L2_VISTR,
		      l2_cmd | FIELD_PREP(GICV5_IRS_VMAP_L2_VISTR_ID, 1030)), 0);
	ASSERT_EQ(l1[1], pa(l2c) | GICV5_ISTL1E_VALID);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_L2_VISTR,
		      l2_cmd | FIELD_PREP(GICV5_IRS_VMAP_L2_VISTR_ID, 1030)), IRS_SWERR_BAD_STATE);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 6, LPI, 1024 + 5));
	ASSERT_EQ(l2c[5], GICV5_ISTL2E_PENDING);
	/* The linear SPI vIST has no L2s to map. */
	vmte[3] = ist_word(fx.vm.spi, T_SPI_BITS);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(6, SPI, false)), 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_L2_VISTR,
		      (l2_cmd & ~GICV5_IRS_VMAP_L2_VISTR_TYPE) |
		      FIELD_PREP(GICV5_IRS_VMAP_L2_VISTR_TYPE, SPI)), IRS_SWERR_BAD_CMD);

	/* Unmapping the VM takes the vIST and its L1 VALID bits with it. */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(6, true)), 0);
	ASSERT_EQ(vmte[2], w);
	ASSERT_EQ(l1[0], pa(l2a));
	ASSERT_EQ(l1[1], pa(l2c));
	ASSERT_EQ(l1[2], pa(l2b));
}

TEST(gicv5_irs_two_level_vist_wide_slots)
{
	struct fx fx;
	uint64_t *l1 = page();
	uint32_t *l2[4];
	/* 8-byte slots in 16 KiB L2s: (10 - 1) + 2 = 11 ID bits per L2. */
	uint64_t w = ist_word(l1, 13) | GICV5_VMTEL2E_IST_STRUCTURE |
		     FIELD_PREP(GICV5_VMTEL2E_IST_ISTSZ, GICV5_ISTSZ_8) |
		     FIELD_PREP(GICV5_VMTEL2E_IST_L2SZ, GICV5_L2SZ_16K);

	memset(&fx, 0, sizeof(fx));
	fx.irs = irs_new();
	vmt_install(&fx, T_VM_BITS);
	vm_build(&fx, 8);
	for (int i = 0; i < 4; i++) {
		l2[i] = host_pages_alloc(HOST_TAG_MISC, 2, "test.irs");
		ASSERT(l2[i] != NULL);
		l1[i] = pa(l2[i]);
	}
	fx.vm.vmte[2] = w;
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(8, false)), 0);
	/* Each L2 must be all 16 KiB. */
	l1[2] = pa(lonely_page());
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(8, LPI, false)), IRS_SWERR_BAD_ADDR);
	l1[2] = pa(l2[2]);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(8, LPI, false)), 0);
	for (int i = 0; i < 4; i++)
		ASSERT(l1[i] & GICV5_ISTL1E_VALID);
	ASSERT_OK(gicv5_irs_vint_config(fx.irs, 8, LPI, 2048 + 3, true, 1, 2));
	ASSERT_OK(gicv5_irs_inject(fx.irs, 8, LPI, 2048 + 3));
	ASSERT_EQ(l2[1][6], GICV5_ISTL2E_PENDING | GICV5_ISTL2E_ENABLE |
		  FIELD_PREP(GICV5_ISTL2E_PRIORITY, 1) | FIELD_PREP(GICV5_ISTL2E_IAFFID, 2));
	ASSERT_OK(gicv5_irs_inject(fx.irs, 8, LPI, 8191));
	ASSERT_EQ(l2[3][2047 * 2], GICV5_ISTL2E_PENDING);
	ASSERT_EQ(gicv5_irs_inject(fx.irs, 8, LPI, 8192), -ERANGE);
	/* HPPIR finds it through the L1 walk. */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(8, 2)), 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(8, 2)), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_HPPIR, 8),
		  GICV5_IRS_VPE_HPPIR_HPPIV | FIELD_PREP(GICV5_IRS_VPE_HPPIR_TYPE, LPI) | 2051);
}

TEST(gicv5_irs_vper_validation)
{
	struct fx fx;
	char *vped;

	memset(&fx, 0, sizeof(fx));
	fx.irs = irs_new();
	vmt_install(&fx, T_VM_BITS);
	vm_build(&fx, 9);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(9, 0)), IRS_SWERR_BAD_STATE);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VMR, vmr(9, false)), 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(9, T_NR_VPES)), IRS_SWERR_BAD_ID);
	ASSERT_EQ(FIELD_GET(GICV5_IRS_SWERR_ID, swerr(fx.irs)), T_NR_VPES);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(9, 0) & ~GICV5_IRS_VMAP_VPER_M),
		  IRS_SWERR_BAD_CMD);
	fx.vm.vpet[1] = 0;
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(9, 1)), IRS_SWERR_BAD_ADDR);
	/* A VPED of 64 bytes must not run off its page. */
	fx.vm.vpet[1] = pa(lonely_page()) + HOST_PAGE_SIZE - 32;
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(9, 1)), IRS_SWERR_BAD_ADDR);
	fx.vm.vpet[1] = pa(fx.vm.vpeds + T_VPED_STRIDE) | GICV5_VPETE_VALID;
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(9, 1)), IRS_SWERR_BAD_STATE);
	fx.vm.vpet[1] &= ~GICV5_VPETE_VALID;
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(9, 1)), 0);
	ASSERT_EQ(fx.vm.vpet[1], pa(fx.vm.vpeds + T_VPED_STRIDE) | GICV5_VPETE_VALID);
	vped = fx.vm.vpeds + T_VPED_STRIDE;
	ASSERT_EQ(*(uint32_t *)(void *)vped, IRS_VPED_MAGIC);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(9, 1)), IRS_SWERR_BAD_STATE);
	/* The VPE is valid and starts with no doorbell. */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(9, 1)), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_STATUSR, 4),
		  GICV5_IRS_STATUSR_IDLE | GICV5_IRS_STATUSR_V);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_CR0, 4), 0);
	/* Zeroing a valid VPE's VPED behind the IRS's back unlinks it. */
	memset(vped, 0, T_VPED_STRIDE);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(9, 1)), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_STATUSR, 4), GICV5_IRS_STATUSR_IDLE);
}

TEST(gicv5_irs_vpe_select_and_configure)
{
	struct fx fx;
	uint64_t dbr;

	fx_init(&fx);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 1)), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_SELR, 8), selr(3, 1));
	ASSERT(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_STATUSR, 4) & GICV5_IRS_STATUSR_V);
	dbr = FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, fx.vm.db[1]) | GICV5_IRS_VPE_DBR_DBV;
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8), dbr);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_CR0, 4), GICV5_IRS_VPE_CR0_DPS);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_CR0, 0), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_CR0, 4), 0);
	dbr = FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, 77) | FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, 9);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_DBR, dbr), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8), dbr);
	/* Settings are per VPE. */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 0)), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8),
		  FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, fx.vm.db[0]) | GICV5_IRS_VPE_DBR_DBV);

	/* Invalid selections: V = 0 and commands on them fault. */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, T_NR_VPES)), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_STATUSR, 4), GICV5_IRS_STATUSR_IDLE);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_DBR, GICV5_IRS_VPE_DBR_DBV), IRS_SWERR_BAD_ID);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_STATUSR, 4), GICV5_IRS_STATUSR_IDLE);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(4, 0)), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_STATUSR, 4), GICV5_IRS_STATUSR_IDLE);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_CR0, 1), IRS_SWERR_BAD_STATE);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(0xFFFF, 0xFFFF)), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_STATUSR, 4), GICV5_IRS_STATUSR_IDLE);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_HPPIR, 8), 0);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 0) & ~GICV5_IRS_VPE_SELR_S), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_STATUSR, 4), GICV5_IRS_STATUSR_IDLE);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VPE_DBR, 0), IRS_SWERR_BAD_STATE);

	/* VM selection: V follows the VMTE. */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VM_SELR, 3), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VM_STATUSR, 4),
		  GICV5_IRS_STATUSR_IDLE | GICV5_IRS_STATUSR_V);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VM_DBR, GICV5_IRS_VM_DBR_EN | 2), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VM_DBR, 8), GICV5_IRS_VM_DBR_EN | 2);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VM_SELR, 8), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VM_STATUSR, 4), GICV5_IRS_STATUSR_IDLE);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_SAVE_VMR, 3), 0);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_SAVE_VMR, 8), 3);
}

/* ---- residency ---------------------------------------------------------------------- */

TEST(gicv5_irs_residency_faults)
{
	struct fx fx;
	struct gicv5_irs_stats st;

	fx_init(&fx);
	/* Not a valid VM / VPE. */
	gicv5_pe_write_contextr(fx.irs, 0, ctx(4, 0));
	ASSERT_EQ(gicv5_pe_read_contextr(fx.irs, 0), ctx(4, 0) | ICH_CONTEXTR_EL2_F);
	gicv5_pe_write_contextr(fx.irs, 0, ctx(3, T_NR_VPES));
	ASSERT_EQ(gicv5_pe_read_contextr(fx.irs, 0), ctx(3, T_NR_VPES) | ICH_CONTEXTR_EL2_F);
	gicv5_pe_write_contextr(fx.irs, 0, ctx(0xFFFF, 0xFFFF));
	ASSERT(gicv5_pe_read_contextr(fx.irs, 0) & ICH_CONTEXTR_EL2_F);
	ASSERT_EQ(stats(fx.irs).context_faults, 3);
	/* F written by software is not sticky. */
	gicv5_pe_write_contextr(fx.irs, 0, ctx(3, 0) | ICH_CONTEXTR_EL2_F);
	ASSERT_EQ(gicv5_pe_read_contextr(fx.irs, 0), ctx(3, 0));
	/* Resident elsewhere. */
	gicv5_pe_write_contextr(fx.irs, 1, ctx(3, 0));
	ASSERT(gicv5_pe_read_contextr(fx.irs, 1) & ICH_CONTEXTR_EL2_F);
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 1), -ENOENT);
	/* The same write again on its own PE is fine. */
	make_resident(&fx, 0, 0);
	make_nonresident(&fx, 0, false, 0);
	ASSERT_EQ(gicv5_pe_read_contextr(fx.irs, 0), 0);
	make_resident(&fx, 1, 0);
	/* A new VPE on a PE evicts the old one. */
	make_resident(&fx, 1, 1);
	make_resident(&fx, 0, 0);
	st = stats(fx.irs);
	ASSERT_EQ(st.context_faults, 4);
	ASSERT_EQ(st.doorbells, 0);
}

/* ---- doorbells ------------------------------------------------------------------------ */

TEST(gicv5_irs_doorbell_spi_once_per_period)
{
	struct fx fx;
	uint32_t db;

	fx_init(&fx);
	db = fx.vm.db[1];
	vint(&fx, SPI, 3, 4, 1);
	vint(&fx, SPI, 4, 4, 1);
	vpe_sleep(&fx, 1, 8);
	ASSERT_EQ(hits(db), 0);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 3));
	ASSERT_EQ(hits(db), 1);
	ASSERT_EQ(state(&fx, SPI, 3) & GICV5_ISTL2E_PENDING, GICV5_ISTL2E_PENDING);
	/* REQ_DB self-cleared: nothing more this period. */
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 4));
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 3));
	ASSERT_EQ(hits(db), 1);
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 1)));
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8) & GICV5_IRS_VPE_DBR_REQ_DB, 0);
	/* Another period: still pending, so going to sleep fires at once. */
	make_resident(&fx, 2, 1);
	ASSERT_EQ(hits(db), 1);
	make_nonresident(&fx, 2, true, 8);
	ASSERT_EQ(hits(db), 2);
	ASSERT_EQ(stats(fx.irs).doorbells, 2);
	ASSERT_EQ(hits(fx.vm.db[0]) + hits(fx.vm.db[2]) + hits(fx.vm.db[3]), 0);
}

TEST(gicv5_irs_doorbell_lpi_and_targeting)
{
	struct fx fx;

	fx_init(&fx);
	vpe_sleep(&fx, 2, 31);
	vpe_sleep(&fx, 3, 31);
	vint(&fx, LPI, 40, 0, 3);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 40));
	ASSERT_EQ(hits(fx.vm.db[3]), 1);
	ASSERT_EQ(hits(fx.vm.db[2]), 0);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 40));
	ASSERT_EQ(hits(fx.vm.db[3]), 1);
	/* Retargeting a pending interrupt at the other sleeping VPE rings it. */
	vint(&fx, LPI, 40, 0, 2);
	ASSERT_EQ(hits(fx.vm.db[2]), 1);
	ASSERT_EQ(hits(fx.vm.db[3]), 1);
}

TEST(gicv5_irs_doorbell_priority_must_reach_dbpm)
{
	struct fx fx;
	uint32_t db;

	fx_init(&fx);
	db = fx.vm.db[0];
	vint(&fx, SPI, 1, 11, 0);
	vint(&fx, SPI, 2, 10, 0);
	vpe_sleep(&fx, 0, 10);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 1));	/* DBPM + 1 */
	ASSERT_EQ(hits(db), 0);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 2));	/* priority == DBPM */
	ASSERT_EQ(hits(db), 1);
	/* A later period with a mask that lets the first through, too. */
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 0), -ENOENT);	/* not resident */
	make_resident(&fx, 0, 0);
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 0), (int)(FIELD_PREP(GICV5_INTID_TYPE, SPI) | 2));
	ASSERT_OK(gicv5_pe_eoi(fx.irs, 0, (uint32_t)(FIELD_PREP(GICV5_INTID_TYPE, SPI) | 2)));
	make_nonresident(&fx, 0, true, 10);
	ASSERT_EQ(hits(db), 1);
	make_resident(&fx, 0, 0);
	make_nonresident(&fx, 0, true, 11);
	ASSERT_EQ(hits(db), 2);
	/* DBPM 0 lets only priority 0 through. */
	make_resident(&fx, 0, 0);
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 0), (int)(FIELD_PREP(GICV5_INTID_TYPE, SPI) | 1));
	vint(&fx, SPI, 5, 1, 0);
	make_nonresident(&fx, 0, true, 0);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 5));
	ASSERT_EQ(hits(db), 2);
}

TEST(gicv5_irs_doorbell_not_when_disabled_then_enable_fires)
{
	struct fx fx;
	uint32_t db;

	fx_init(&fx);
	db = fx.vm.db[1];
	ASSERT_OK(gicv5_irs_vint_config(fx.irs, 3, SPI, 7, false, 2, 1));
	vpe_sleep(&fx, 1, 16);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 7));
	ASSERT_EQ(hits(db), 0);
	ASSERT_EQ(state(&fx, SPI, 7), GICV5_ISTL2E_PENDING | FIELD_PREP(GICV5_ISTL2E_PRIORITY, 2) |
		  FIELD_PREP(GICV5_ISTL2E_IAFFID, 1));
	/* Lowering the priority below the mask does not ring, raising it does. */
	ASSERT_OK(gicv5_irs_vint_config(fx.irs, 3, SPI, 7, true, 20, 1));
	ASSERT_EQ(hits(db), 0);
	ASSERT_OK(gicv5_irs_vint_config(fx.irs, 3, SPI, 7, true, 2, 1));
	ASSERT_EQ(hits(db), 1);
}

TEST(gicv5_irs_doorbell_not_when_active)
{
	struct fx fx;
	uint32_t db, intid = (uint32_t)(FIELD_PREP(GICV5_INTID_TYPE, LPI) | 12);

	fx_init(&fx);
	db = fx.vm.db[2];
	vint(&fx, LPI, 12, 3, 2);
	make_resident(&fx, 3, 2);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 12));
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 3), (int)intid);
	/* Active and pending again: still not deliverable. */
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 12));
	make_nonresident(&fx, 3, true, 31);
	ASSERT_EQ(hits(db), 0);
	ASSERT_EQ(state(&fx, LPI, 12) & (GICV5_ISTL2E_ACTIVE | GICV5_ISTL2E_PENDING),
		  GICV5_ISTL2E_ACTIVE | GICV5_ISTL2E_PENDING);
	/* Still armed: a different interrupt rings it. */
	vint(&fx, LPI, 13, 3, 2);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 13));
	ASSERT_EQ(hits(db), 1);
}

TEST(gicv5_irs_doorbell_needs_dbv_and_request)
{
	struct fx fx;
	uint32_t db;

	fx_init(&fx);
	db = fx.vm.db[0];
	vint(&fx, SPI, 1, 1, 0);
	vint(&fx, SPI, 2, 1, 0);
	/* No request: DB = 0 on the way out. */
	make_resident(&fx, 0, 0);
	make_nonresident(&fx, 0, false, 31);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 1));
	ASSERT_EQ(hits(db), 0);
	/* No DBV: the request waits. */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 0)));
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, db) |
		      FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, 31) | GICV5_IRS_VPE_DBR_REQ_DB));
	ASSERT_EQ(hits(db), 0);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 2));
	ASSERT_EQ(hits(db), 0);
	ASSERT(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8) & GICV5_IRS_VPE_DBR_REQ_DB);
	/* DBV = 1 with REQ_DB = 0 keeps the request and evaluates it. */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, db) |
		      FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, 31) | GICV5_IRS_VPE_DBR_DBV));
	ASSERT_EQ(hits(db), 1);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8) & GICV5_IRS_VPE_DBR_REQ_DB, 0);
}

TEST(gicv5_irs_doorbell_req_db_via_vpe_dbr)
{
	struct fx fx;
	uint32_t db;
	uint64_t dbr;

	fx_init(&fx);
	db = fx.vm.db[3];
	dbr = FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, db) | FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, 5) |
	      GICV5_IRS_VPE_DBR_DBV | GICV5_IRS_VPE_DBR_REQ_DB;
	vint(&fx, LPI, 60, 4, 3);
	/* A never-run VPE: the request alone is enough. */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 3)));
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, dbr));
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8), dbr);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, 60));
	ASSERT_EQ(hits(db), 1);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8), dbr & ~GICV5_IRS_VPE_DBR_REQ_DB);
	/* Already pending: a new request fires on the DBR write itself. */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, dbr));
	ASSERT_EQ(hits(db), 2);
	/* A request pending when the VPE becomes resident is dropped... */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, dbr & ~GICV5_IRS_VPE_DBR_DBV));
	ASSERT(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8) & GICV5_IRS_VPE_DBR_REQ_DB);
	make_resident(&fx, 1, 3);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_DBR, 8), dbr & ~(GICV5_IRS_VPE_DBR_DBV |
		  GICV5_IRS_VPE_DBR_REQ_DB));
	/* ...one made while resident waits, and fires when it leaves. */
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, dbr));
	ASSERT_EQ(hits(db), 2);
	make_nonresident(&fx, 1, false, 0);
	ASSERT_EQ(hits(db), 3);
}

TEST(gicv5_irs_doorbell_never_for_resident_vpe)
{
	struct fx fx;
	uint32_t db;

	fx_init(&fx);
	db = fx.vm.db[1];
	vint(&fx, SPI, 10, 0, 1);
	vpe_sleep(&fx, 1, 31);
	make_resident(&fx, 2, 1);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 10));
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 1)));
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_DBR, FIELD_PREP(GICV5_IRS_VPE_DBR_INTID, db) |
		      FIELD_PREP(GICV5_IRS_VPE_DBR_DBPM, 31) | GICV5_IRS_VPE_DBR_DBV |
		      GICV5_IRS_VPE_DBR_REQ_DB));
	ASSERT_EQ(hits(db), 0);
	ASSERT_EQ(stats(fx.irs).doorbells, 0);
	/* It sees the interrupt directly instead. */
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 2), (int)(FIELD_PREP(GICV5_INTID_TYPE, SPI) | 10));
}

/* A handler that calls back into the model must not deadlock it. */
static struct gicv5_irs *reentrant_irs;

static void db_reentrant(uint32_t lpi, void *arg)
{
	(void)arg;
	__atomic_add_fetch(&db_hits[lpi], 1, __ATOMIC_SEQ_CST);
	gicv5_pe_write_contextr(reentrant_irs, 3, ctx(3, 0));
}

TEST(gicv5_irs_doorbell_handler_may_reenter)
{
	struct fx fx;

	fx_init(&fx);
	reentrant_irs = fx.irs;
	ASSERT_OK(host_lpi_request(fx.vm.db[0], db_reentrant, NULL));
	vint(&fx, SPI, 1, 1, 0);
	vpe_sleep(&fx, 0, 31);
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 1));
	ASSERT_EQ(hits(fx.vm.db[0]), 1);
	ASSERT_EQ(gicv5_pe_read_contextr(fx.irs, 3), ctx(3, 0));
}

/* ---- acknowledge and end of interrupt ------------------------------------------- */

TEST(gicv5_irs_ack_eoi_resident_vpe)
{
	struct fx fx;
	uint32_t spi9 = (uint32_t)(FIELD_PREP(GICV5_INTID_TYPE, SPI) | 9);
	uint32_t lpi33 = (uint32_t)(FIELD_PREP(GICV5_INTID_TYPE, LPI) | 33);
	uint32_t lpi34 = (uint32_t)(FIELD_PREP(GICV5_INTID_TYPE, LPI) | 34);

	fx_init(&fx);
	vint(&fx, SPI, 9, 2, 1);
	vint(&fx, LPI, 33, 6, 1);
	vint(&fx, LPI, 34, 2, 1);	/* ties with SPI 9: the LPI goes first */
	vint(&fx, LPI, 35, 0, 2);	/* another VPE's */
	make_resident(&fx, 1, 1);
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 1), -ENOENT);
	for (uint32_t id = 33; id <= 35; id++)
		ASSERT_OK(gicv5_irs_inject(fx.irs, 3, LPI, id));
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 9));
	ASSERT_OK(cmd(fx.irs, GICV5_IRS_VPE_SELR, selr(3, 1)));
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_HPPIR, 8),
		  GICV5_IRS_VPE_HPPIR_HPPIV | lpi34);
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 1), (int)lpi34);
	ASSERT_EQ(state(&fx, LPI, 34) & (GICV5_ISTL2E_ACTIVE | GICV5_ISTL2E_PENDING),
		  GICV5_ISTL2E_ACTIVE);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_HPPIR, 8),
		  GICV5_IRS_VPE_HPPIR_HPPIV | spi9);
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 1), (int)spi9);
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 1), (int)lpi33);
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 1), -ENOENT);
	ASSERT_EQ(gicv5_irs_read(fx.irs, GICV5_IRS_VPE_HPPIR, 8), 0);
	ASSERT(state(&fx, LPI, 35) & GICV5_ISTL2E_PENDING);
	ASSERT_OK(gicv5_pe_eoi(fx.irs, 1, spi9));
	ASSERT_EQ(state(&fx, SPI, 9) & GICV5_ISTL2E_ACTIVE, 0);
	ASSERT_EQ(gicv5_pe_eoi(fx.irs, 1, spi9), -ENOENT);
	ASSERT_EQ(gicv5_pe_eoi(fx.irs, 1, (uint32_t)(FIELD_PREP(GICV5_INTID_TYPE, LPI) | 4000)),
		  -ENOENT);
	ASSERT_EQ(gicv5_pe_eoi(fx.irs, 1, (uint32_t)FIELD_PREP(GICV5_INTID_TYPE, 1)), -EINVAL);
	ASSERT_EQ(gicv5_pe_eoi(fx.irs, 0, lpi33), -ENOENT);	/* nothing resident */
	/* A disabled interrupt is not acknowledged. */
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 9));
	ASSERT_OK(gicv5_irs_vint_config(fx.irs, 3, SPI, 9, false, 2, 1));
	ASSERT_EQ(gicv5_pe_ack(fx.irs, 1), -ENOENT);
	make_nonresident(&fx, 1, false, 0);
	ASSERT_EQ(gicv5_pe_eoi(fx.irs, 1, lpi33), -ENOENT);
	make_resident(&fx, 1, 1);
	ASSERT_OK(gicv5_pe_eoi(fx.irs, 1, lpi33));
}

/* ---- out-of-range input ----------------------------------------------------------- */

TEST(gicv5_irs_vint_out_of_range)
{
	struct gicv5_irs_config c;
	struct fx fx;

	memset(&fx, 0, sizeof(fx));
	gicv5_irs_default_config(&c);
	c.priority_bits = 3;		/* priorities 0, 4, 8, ... 28 */
	fx.irs = irs_new_cfg(&c);
	vmt_install(&fx, T_VM_BITS);
	vm_build(&fx, 3);
	vm_map(&fx);
	ASSERT_EQ(gicv5_irs_vint_config(fx.irs, 3, SPI, 1, true, 32, 0), -ERANGE);
	ASSERT_EQ(gicv5_irs_vint_config(fx.irs, 3, SPI, 1, true, 2, 0), -ERANGE);
	ASSERT_OK(gicv5_irs_vint_config(fx.irs, 3, SPI, 1, true, 28, 0));
	ASSERT_EQ(state(&fx, SPI, 1), GICV5_ISTL2E_ENABLE | FIELD_PREP(GICV5_ISTL2E_PRIORITY, 28));
	ASSERT_EQ(gicv5_irs_vint_config(fx.irs, 3, SPI, 1U << T_SPI_BITS, true, 0, 0), -ERANGE);
	ASSERT_EQ(gicv5_irs_vint_config(fx.irs, 3, GICV5_HWIRQ_TYPE_PPI, 1, true, 0, 0), -EINVAL);
	ASSERT_EQ(gicv5_irs_vint_config(fx.irs, 4, SPI, 1, true, 0, 0), -ENOENT);
	ASSERT_EQ(gicv5_irs_vint_config(fx.irs, 0xFFFF, SPI, 1, true, 0, 0), -ENOENT);
	ASSERT_EQ(gicv5_irs_inject(fx.irs, 3, LPI, 1U << T_LPI_BITS), -ERANGE);
	ASSERT_EQ(gicv5_irs_inject(fx.irs, 3, LPI, 0xFFFFFFFF), -ERANGE);
	ASSERT_EQ(gicv5_irs_inject(fx.irs, 3, 0, 1), -EINVAL);
	ASSERT_EQ(gicv5_irs_inject(fx.irs, 0xFFFF, SPI, 1), -ENOENT);
	ASSERT_EQ(gicv5_irs_vint_state(fx.irs, 3, SPI, 1U << T_SPI_BITS), 0);
	ASSERT_EQ(gicv5_irs_vint_state(fx.irs, 3, 7, 1), 0);
	/* An interrupt aimed at a VPE that does not exist just stays pending. */
	ASSERT_OK(gicv5_irs_vint_config(fx.irs, 3, SPI, 2, true, 0, 0xFFFF));
	ASSERT_OK(gicv5_irs_inject(fx.irs, 3, SPI, 2));
	ASSERT(state(&fx, SPI, 2) & GICV5_ISTL2E_PENDING);
	ASSERT_EQ(stats(fx.irs).doorbells, 0);
	/* Commands naming IDs beyond the tables fault without touching memory. */
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(0xFFFF, 0xFFFF)), IRS_SWERR_BAD_ID);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VISTR, vistr(0xFFFF, SPI, false)), IRS_SWERR_BAD_ID);
	ASSERT_EQ(cmd(fx.irs, GICV5_IRS_VMAP_VPER, vper(3, 0xFFFF)), IRS_SWERR_BAD_ID);
}

/* ---- concurrency: devices inject while PEs change residency ------------------------- */

struct stress {
	struct fx *fx;
	unsigned int id;
	bool stop;
	uint64_t injected;
};

static void *stress_inject(void *arg)
{
	struct stress *s = arg;

	for (unsigned int n = 0; !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); n++) {
		uint32_t id = s->id * 8 + n % 8;

		if (gicv5_irs_inject(s->fx->irs, 3, SPI, id))
			abort();
		__atomic_store_n(&s->injected, n + 1, __ATOMIC_RELEASE);
		if (n % 64 == 0)
			usleep(10);
	}
	return NULL;
}

TEST(gicv5_irs_concurrent_inject_and_residency)
{
	struct fx fx;
	struct stress s[2];
	pthread_t t[2];
	unsigned int periods = 0;
	uint64_t deadline = host_now_ns() + 5000000000ULL;

	fx_init(&fx);
	for (uint32_t id = 0; id < 16; id++)
		vint(&fx, SPI, id, 1, 0);
	for (int i = 0; i < 2; i++) {
		s[i] = (struct stress){ &fx, (unsigned int)i, false, 0 };
		ASSERT_OK(pthread_create(&t[i], NULL, stress_inject, &s[i]));
	}
	for (int i = 0; i < 2; i++)
		while (!__atomic_load_n(&s[i].injected, __ATOMIC_ACQUIRE))
			usleep(100);
	/* Enough rounds to interleave, and until doorbells have really rung. */
	for (int round = 0; round < 2000 || (hits(fx.vm.db[0]) < 20 &&
					     host_now_ns() < deadline); round++) {
		unsigned int pe = (unsigned int)round % T_NR_PES;

		int intid;

		gicv5_pe_write_contextr(fx.irs, pe, ctx(3, 0));
		ASSERT_EQ(gicv5_pe_read_contextr(fx.irs, pe) & ICH_CONTEXTR_EL2_F, 0);
		while ((intid = gicv5_pe_ack(fx.irs, pe)) > 0)
			ASSERT_OK(gicv5_pe_eoi(fx.irs, pe, (uint32_t)intid));
		gicv5_pe_write_contextr(fx.irs, pe, ICH_CONTEXTR_EL2_DB |
					FIELD_PREP(ICH_CONTEXTR_EL2_DBPM, 31));
		periods++;
	}
	for (int i = 0; i < 2; i++) {
		__atomic_store_n(&s[i].stop, true, __ATOMIC_RELEASE);
		pthread_join(t[i], NULL);
	}
	/* At most one doorbell per non-resident period, and some did ring. */
	ASSERT(hits(fx.vm.db[0]) <= periods);
	ASSERT(hits(fx.vm.db[0]) >= 20);
	ASSERT_EQ(stats(fx.irs).doorbells, hits(fx.vm.db[0]));
	ASSERT_EQ(stats(fx.irs).context_faults, 0);
}

/* ---- host LPIs ------------------------------------------------------------------------- */

static void lpi_count(uint32_t lpi, void *arg)
{
	(void)lpi;
	__atomic_add_fetch((unsigned int *)arg, 1, __ATOMIC_SEQ_CST);
}

TEST(gicv5_irs_host_lpi_alloc_request_raise)
{
	uint32_t a, b, c;
	unsigned int na = 0, nb = 0;
	uint32_t base = host_lpi_outstanding();

	ASSERT_OK(host_lpi_alloc(&a));
	ASSERT_OK(host_lpi_alloc(&b));
	ASSERT(a != 0 && b != 0 && a != b);
	ASSERT(a < (1U << HOST_LPI_ID_BITS) && b < (1U << HOST_LPI_ID_BITS));
	ASSERT_EQ(host_lpi_outstanding(), base + 2);
	ASSERT_EQ(host_lpi_raise(a), -ENOENT);		/* no handler yet */
	ASSERT_OK(host_lpi_request(a, lpi_count, &na));
	ASSERT_OK(host_lpi_request(b, lpi_count, &nb));
	ASSERT_OK(host_lpi_raise(a));
	ASSERT_OK(host_lpi_raise(a));
	ASSERT_OK(host_lpi_raise(b));
	ASSERT_EQ(na, 2);
	ASSERT_EQ(nb, 1);
	ASSERT_OK(host_lpi_request(a, NULL, NULL));	/* detach */
	ASSERT_EQ(host_lpi_raise(a), -ENOENT);
	ASSERT_EQ(na, 2);
	host_lpi_free(b);
	ASSERT_EQ(host_lpi_raise(b), -ENOENT);
	ASSERT_EQ(host_lpi_request(b, lpi_count, &nb), -ENOENT);
	ASSERT_EQ(host_lpi_outstanding(), base + 1);
	host_lpi_free(b);			/* twice: ignored */
	host_lpi_free(0);
	host_lpi_free(1U << HOST_LPI_ID_BITS);
	ASSERT_EQ(host_lpi_raise(0), -ENOENT);
	ASSERT_EQ(host_lpi_raise(0xFFFFFFFF), -ENOENT);
	ASSERT_EQ(host_lpi_request(0x10000, lpi_count, &nb), -ENOENT);
	ASSERT_EQ(host_lpi_outstanding(), base + 1);
	/* The fault site. */
	host_fault_arm_site("host.lpi", 0);
	ASSERT_EQ(host_lpi_alloc(&c), -ENOMEM);
	host_fault_disarm();
	ASSERT_EQ(host_lpi_outstanding(), base + 1);
	host_lpi_free(a);
	ASSERT_EQ(host_lpi_outstanding(), base);
}

TEST(gicv5_irs_host_lpi_exhaustion)
{
	uint32_t lpi, first = 0, n = 0;

	while (!host_lpi_alloc(&lpi)) {
		if (!first)
			first = lpi;
		n++;
	}
	ASSERT_EQ(n, (1U << HOST_LPI_ID_BITS) - 1);
	ASSERT_EQ(host_lpi_alloc(&lpi), -ENOSPC);
	host_lpi_free(first);
	ASSERT_OK(host_lpi_alloc(&lpi));
	ASSERT_EQ(lpi, first);
}

static struct {
	unsigned int entered, left;
} slow;

static void lpi_slow(uint32_t lpi, void *arg)
{
	(void)lpi;
	(void)arg;
	__atomic_store_n(&slow.entered, 1, __ATOMIC_SEQ_CST);
	usleep(100 * 1000);
	__atomic_store_n(&slow.left, 1, __ATOMIC_SEQ_CST);
}

static void *raise_thread(void *arg)
{
	host_lpi_raise(*(uint32_t *)arg);
	return NULL;
}

TEST(gicv5_irs_host_lpi_free_waits_for_running_handler)
{
	uint32_t lpi;
	pthread_t t;

	ASSERT_OK(host_lpi_alloc(&lpi));
	ASSERT_OK(host_lpi_request(lpi, lpi_slow, NULL));
	ASSERT_OK(pthread_create(&t, NULL, raise_thread, &lpi));
	while (!__atomic_load_n(&slow.entered, __ATOMIC_SEQ_CST))
		usleep(100);
	host_lpi_free(lpi);
	/* Free returned: the handler has finished. */
	ASSERT_EQ(__atomic_load_n(&slow.left, __ATOMIC_SEQ_CST), 1);
	pthread_join(t, NULL);
	ASSERT_EQ(host_lpi_raise(lpi), -ENOENT);
}
