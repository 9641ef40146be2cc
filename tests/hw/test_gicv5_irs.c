// SPDX-License-Identifier: MIT
/*
 * hw/gicv5_irs: configuration, the ID registers, bad accesses, VMT_BASER and
 * how commands complete: latency, the fault and the hang sites.
 */
#include <string.h>

#include "gicv5_irs_util.h"

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

/* ---- VMT_BASER and command completion ------------------------------------------ */

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
