// SPDX-License-Identifier: MIT
/*
 * hw/gicv5_irs: the VM-table commands: two-level VM tables and
 * VMAP_L2_VMTR, VMAP_VMR validation and unmap, VMAP_VPER, and the VPE
 * selection and configuration commands.
 */
#include <string.h>

#include "gicv5_irs_util.h"

/* ---- the two-level VM table ------------------------------------------------------ */

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

/* ---- VMTE and VPE validation ------------------------------------------------------ */

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
