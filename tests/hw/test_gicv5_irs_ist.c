// SPDX-License-Identifier: MIT
/*
 * hw/gicv5_irs: virtual ISTs: VMAP_VISTR validation and layout, two-level
 * vISTs and VMAP_L2_VISTR, acknowledge and EOI, out-of-range interrupts,
 * and devices injecting while PEs change residency.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gicv5_irs_util.h"

/* ---- vIST mapping and layout ----------------------------------------------------- */

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
