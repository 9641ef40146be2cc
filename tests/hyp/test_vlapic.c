// SPDX-License-Identifier: MIT
/* The APIC register model in the backing page. */
#include <vintc/amd_defs.h>
#include <vintc/vlapic.h>

#include "test.h"

static void *page(void)
{
	void *p = host_pages_alloc(HOST_TAG_MISC, 0, "test.apic");

	ASSERT(p != NULL);
	vlapic_reset(p, 3);
	return p;
}

static void set_irr(void *regs, unsigned int v)
{
	host_set_bit32(apic_reg(regs, APIC_VECTOR_WORD(APIC_IRR, v)), APIC_VECTOR_BIT(v));
}

TEST(vlapic_reset_values)
{
	void *r = page();

	ASSERT_EQ(*apic_reg(r, APIC_ID), 3U << 24);
	ASSERT_EQ(*apic_reg(r, APIC_LVR), 0x00050014);
	ASSERT_EQ(*apic_reg(r, APIC_DFR), 0xFFFFFFFF);
	ASSERT_EQ(*apic_reg(r, APIC_SPIV), 0xFF);
	ASSERT_EQ(*apic_reg(r, APIC_LVT1), 1U << 16);
	ASSERT_EQ(*apic_reg(r, APIC_TASKPRI), 0);
	host_pages_free(r);
}

TEST(vlapic_ppr_from_tpr_and_isr)
{
	void *r = page();

	vlapic_write_tpr(r, 0x35);
	ASSERT_EQ(*apic_reg(r, APIC_PROCPRI), 0x35);	/* TPR class wins: whole TPR */
	set_irr(r, 0x61);
	ASSERT_EQ(vlapic_accept(r), 0x61);
	ASSERT_EQ(*apic_reg(r, APIC_PROCPRI), 0x60);	/* ISR class wins: class only */
	vlapic_write_tpr(r, 0x70);
	ASSERT_EQ(*apic_reg(r, APIC_PROCPRI), 0x70);
	vlapic_write_tpr(r, 0x1FF);			/* only 8 bits exist */
	ASSERT_EQ(*apic_reg(r, APIC_TASKPRI), 0xFF);
	host_pages_free(r);
}

TEST(vlapic_delivery_respects_ppr_class)
{
	void *r = page();

	vlapic_write_tpr(r, 0x40);
	set_irr(r, 0x4F);			/* same class as TPR: waits */
	ASSERT(!vlapic_has_deliverable(r));
	ASSERT_EQ(vlapic_accept(r), -1);
	set_irr(r, 0x50);
	ASSERT_EQ(vlapic_accept(r), 0x50);
	/* 0x4F still waits behind 0x50 in service; vectors below 16 never go. */
	vlapic_write_tpr(r, 0);
	ASSERT_EQ(vlapic_accept(r), -1);
	ASSERT_EQ(vlapic_eoi(r), 0x50);
	ASSERT_EQ(vlapic_accept(r), 0x4F);
	ASSERT_EQ(vlapic_eoi(r), 0x4F);
	set_irr(r, 0x0E);
	ASSERT(!vlapic_has_deliverable(r));
	host_pages_free(r);
}

TEST(vlapic_nested_eoi_order)
{
	void *r = page();

	set_irr(r, 0x30);
	ASSERT_EQ(vlapic_accept(r), 0x30);
	set_irr(r, 0x90);			/* higher class preempts */
	ASSERT_EQ(vlapic_accept(r), 0x90);
	set_irr(r, 0x80);			/* lower than in-service: waits */
	ASSERT_EQ(vlapic_accept(r), -1);
	ASSERT_EQ(*apic_reg(r, APIC_PROCPRI), 0x90);
	ASSERT_EQ(vlapic_eoi(r), 0x90);		/* EOI ends the highest first */
	ASSERT_EQ(vlapic_accept(r), 0x80);
	ASSERT_EQ(vlapic_eoi(r), 0x80);
	ASSERT_EQ(vlapic_eoi(r), 0x30);
	ASSERT_EQ(vlapic_eoi(r), -1);
	ASSERT_EQ(*apic_reg(r, APIC_PROCPRI), 0);
	host_pages_free(r);
}

TEST(vlapic_svr_disable_masks_lvts)
{
	void *r = page();

	vlapic_write_svr(r, 0x1FF);
	*apic_reg(r, APIC_LVTT) = 0x20;		/* unmasked timer */
	vlapic_write_svr(r, 0xFFFFFFFF);	/* reserved bits ignored */
	ASSERT_EQ(*apic_reg(r, APIC_SPIV), 0x13FF);
	ASSERT_EQ(*apic_reg(r, APIC_LVTT), 0x20);
	vlapic_write_svr(r, 0xFF);
	ASSERT_EQ(*apic_reg(r, APIC_LVTT), 0x10020);
	host_pages_free(r);
}

TEST(vlapic_esr_latches_on_write)
{
	void *r = page();
	uint32_t pending = APIC_ESR_SEND_ILLEGAL_VECTOR;

	ASSERT_EQ(*apic_reg(r, APIC_ESR), 0);
	vlapic_write_esr(r, &pending);
	ASSERT_EQ(*apic_reg(r, APIC_ESR), APIC_ESR_SEND_ILLEGAL_VECTOR);
	ASSERT_EQ(pending, 0);
	vlapic_write_esr(r, &pending);
	ASSERT_EQ(*apic_reg(r, APIC_ESR), 0);
	host_pages_free(r);
}

TEST(vlapic_icr_decode_forms)
{
	struct vlapic_icr d = vlapic_icr_decode(0x07000000000C4CF1ULL, false);

	ASSERT_EQ(d.vector, 0xF1);
	ASSERT_EQ(d.delivery_mode, APIC_DM_NMI);
	ASSERT(d.dest_logical);
	ASSERT(d.level_assert);
	ASSERT(!d.trigger_level);
	ASSERT_EQ(d.shorthand, APIC_SH_OTHERS);
	ASSERT_EQ(d.dest, 0x07);
	d = vlapic_icr_decode(0x0001020300008530ULL, true);
	ASSERT_EQ(d.dest, 0x00010203);
	ASSERT(d.trigger_level);
	ASSERT_EQ(d.delivery_mode, APIC_DM_INIT);
	ASSERT_EQ(d.shorthand, APIC_SH_NONE);
}

/* Reserved bits never stick; a software-disabled APIC keeps LVTs masked. */
TEST(vlapic_sanitize_reserved_bits)
{
	static uint32_t page[1024] __attribute__((aligned(4096)));
	void *regs = page;

	vlapic_reset(regs, 3);
	vlapic_write_svr(regs, 0x1FF);	/* enabled */
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_LVT0, 0xFFFFFFFFU), 0x1A7FF);
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_LVT1, 0x00008700U), 0x8700);
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_LVTT, 0xFFFFFFFFU), 0x700FF);
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_LVTERR, 0xFFFFFFFFU), 0x100FF);
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_LVTPC, 0x000004FFU), 0x4FF);
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_TDCR, 0xFFFFFFFFU), 0xB);
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_LDR, 0x12345678U), 0x12000000);
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_DFR, 0x00000000U), 0x0FFFFFFF);
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_ID, 0xFFFFFFFFU), 0xFF000000);
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_TMICT, 0xFFFFFFFFU), 0xFFFFFFFF);
	vlapic_write_svr(regs, 0x0FF);	/* software-disabled */
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_LVTT, 0x30), 0x10030);
	ASSERT_EQ(vlapic_sanitize_write(regs, APIC_LDR, 0x01000000U), 0x01000000);
}
