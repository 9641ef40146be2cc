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
	ASSERT_EQ(*apic_reg(r, APIC_SPIV), 0x3FF);	/* bit 12 not offered */
	ASSERT_EQ(*apic_reg(r, APIC_LVTT), 0x20);
	vlapic_write_svr(r, 0xFF);
	ASSERT_EQ(*apic_reg(r, APIC_LVTT), 0x10020);
	host_pages_free(r);
}

/* SVR bit 12 is writable only while LVR bit 24 offers it, as on KVM. */
TEST(vlapic_svr_directed_eoi_only_where_offered)
{
	void *r = page();

	vlapic_set_directed_eoi(r, true);
	ASSERT_EQ(*apic_reg(r, APIC_LVR), 0x01050014);
	vlapic_write_svr(r, 0x11FF);
	ASSERT_EQ(*apic_reg(r, APIC_SPIV), 0x11FF);
	/* Withdrawn: LVR as at reset, and the bit goes with it. */
	vlapic_set_directed_eoi(r, false);
	ASSERT_EQ(*apic_reg(r, APIC_LVR), 0x00050014);
	ASSERT_EQ(*apic_reg(r, APIC_SPIV), 0x1FF);
	vlapic_write_svr(r, 0x11FF);
	ASSERT_EQ(*apic_reg(r, APIC_SPIV), 0x1FF);
	/* A reset withdraws it; the engine offers it again after each. */
	vlapic_set_directed_eoi(r, true);
	vlapic_reset(r, 3);
	ASSERT_EQ(*apic_reg(r, APIC_LVR), 0x00050014);
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

/* x2APIC MSRs: which registers RDMSR reaches (SDM 10.12.1.2, table 10-6). */
TEST(vlapic_x2apic_readable_registers)
{
	static const uint32_t yes[] = {
		APIC_ID, APIC_LVR, APIC_TASKPRI, APIC_PROCPRI, APIC_LDR, APIC_SPIV,
		APIC_ISR, APIC_ISR + 0x70, APIC_TMR, APIC_TMR + 0x30, APIC_IRR, APIC_IRR + 0x70,
		APIC_ESR, APIC_ICR, APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, APIC_LVT1,
		APIC_LVTERR, APIC_TMICT, APIC_TMCCT, APIC_TDCR,
	};
	static const uint32_t no[] = {
		0x000, 0x010, APIC_ARBPRI, APIC_EOI, APIC_RRR, APIC_DFR, APIC_ICR2,
		0x2F0, 0x3A0, 0x3D0, APIC_SELF_IPI, 0x400, 0xFF0,
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(yes); i++)
		ASSERT(vlapic_x2apic_readable(yes[i]));
	for (unsigned int i = 0; i < ARRAY_SIZE(no); i++)
		ASSERT(!vlapic_x2apic_readable(no[i]));
}

/* ...and which WRMSR reaches: ID and LDR are read-only, EOI and SELF_IPI write-only. */
TEST(vlapic_x2apic_writable_registers)
{
	static const uint32_t yes[] = {
		APIC_TASKPRI, APIC_EOI, APIC_SPIV, APIC_ESR, APIC_ICR, APIC_LVTT, APIC_LVTTHMR,
		APIC_LVTPC, APIC_LVT0, APIC_LVT1, APIC_LVTERR, APIC_TMICT, APIC_TDCR,
		APIC_SELF_IPI,
	};
	static const uint32_t no[] = {
		APIC_ID, APIC_LVR, APIC_ARBPRI, APIC_PROCPRI, APIC_RRR, APIC_LDR, APIC_DFR,
		APIC_ISR, APIC_TMR, APIC_IRR + 0x70, APIC_ICR2, APIC_TMCCT, 0x3A0, 0x400,
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(yes); i++) {
		ASSERT(vlapic_x2apic_writable(yes[i]));
		ASSERT_OK(vlapic_x2apic_check_write(yes[i], 0));
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(no); i++) {
		ASSERT(!vlapic_x2apic_writable(no[i]));
		ASSERT_EQ(vlapic_x2apic_check_write(no[i], 0), -EINVAL);
	}
}

/* Values that are #GP even on a writable register. */
TEST(vlapic_x2apic_write_values)
{
	/* Bits 63:32 exist only in ICR. */
	ASSERT_EQ(vlapic_x2apic_check_write(APIC_TASKPRI, 1ULL << 32), -EINVAL);
	ASSERT_EQ(vlapic_x2apic_check_write(APIC_LVTT, 0xFFFFFFFF00000000ULL), -EINVAL);
	ASSERT_OK(vlapic_x2apic_check_write(APIC_TMICT, 0xFFFFFFFFULL));
	ASSERT_OK(vlapic_x2apic_check_write(APIC_ICR, 0xFFFFFFFF000C4FFFULL));
	/* ICR reserved bits 13, 17:16, 31:20; Busy (12) is ignored, not #GP. */
	ASSERT_EQ(VLAPIC_X2APIC_ICR_RESERVED, test_bits(13, 13) | test_bits(17, 16) |
					      test_bits(31, 20));
	for (unsigned int b = 0; b < 32; b++) {
		bool rsvd = b == 13 || b == 16 || b == 17 || b >= 20;

		ASSERT_EQ(vlapic_x2apic_check_write(APIC_ICR, 1ULL << b), rsvd ? -EINVAL : 0);
	}
	/* EOI and ESR take only 0. */
	ASSERT_OK(vlapic_x2apic_check_write(APIC_EOI, 0));
	ASSERT_EQ(vlapic_x2apic_check_write(APIC_EOI, 1), -EINVAL);
	ASSERT_EQ(vlapic_x2apic_check_write(APIC_ESR, 0x80), -EINVAL);
	/* SELF_IPI takes a vector, any vector (an illegal one goes to ESR). */
	ASSERT_OK(vlapic_x2apic_check_write(APIC_SELF_IPI, 0xFF));
	ASSERT_OK(vlapic_x2apic_check_write(APIC_SELF_IPI, 0x05));
	ASSERT_EQ(vlapic_x2apic_check_write(APIC_SELF_IPI, 0x100), -EINVAL);
	ASSERT_EQ(vlapic_x2apic_check_write(APIC_SELF_IPI, 1ULL << 40), -EINVAL);
}

/* The derived logical ID: cluster ID[31:4] in 31:16, bit ID[3:0] in 15:0. */
TEST(vlapic_x2apic_ldr_derivation)
{
	void *r = page();

	ASSERT_EQ(vlapic_x2apic_ldr(0), 0x00000001);
	ASSERT_EQ(vlapic_x2apic_ldr(15), 0x00008000);
	ASSERT_EQ(vlapic_x2apic_ldr(16), 0x00010001);
	ASSERT_EQ(vlapic_x2apic_ldr(0x1FF), 0x001F8000);
	ASSERT_EQ(vlapic_x2apic_ldr(0x123), 0x00120008);
	vlapic_x2apic_set_id(r, 0x123);
	ASSERT_EQ(*apic_reg(r, APIC_ID), 0x123);	/* 32 bits, not in 31:24 */
	ASSERT_EQ(*apic_reg(r, APIC_LDR), 0x00120008);
	host_pages_free(r);
}

/* IA32_APIC_BASE: EN (bit 11) and EXTD (bit 10) make the state. */
#define BASE_EN		MSR_IA32_APICBASE_ENABLE
#define BASE_EXTD	MSR_IA32_APICBASE_EXTD
#define BASE_BSP	MSR_IA32_APICBASE_BSP
#define XAPIC		(VLAPIC_APIC_BASE_DEFAULT | BASE_EN)
#define X2APIC		(XAPIC | BASE_EXTD)
#define OFF		VLAPIC_APIC_BASE_DEFAULT

TEST(vlapic_apic_base_modes)
{
	ASSERT_EQ(vlapic_apic_base_mode(OFF), VLAPIC_MODE_DISABLED);
	ASSERT_EQ(vlapic_apic_base_mode(OFF | BASE_EXTD), VLAPIC_MODE_INVALID);
	ASSERT_EQ(vlapic_apic_base_mode(XAPIC | BASE_BSP), VLAPIC_MODE_XAPIC);
	ASSERT_EQ(vlapic_apic_base_mode(X2APIC), VLAPIC_MODE_X2APIC);
	ASSERT_EQ(vlapic_apic_base_mode(0), VLAPIC_MODE_DISABLED);
}

/* 7:0, 9 and MAXPHYADDR..63; EXTD only without x2APIC in CPUID; never BSP. */
TEST(vlapic_apic_base_reserved_bits)
{
	ASSERT_EQ(vlapic_apic_base_reserved(36, true), test_bits(63, 36) | test_bits(7, 0) | 1ULL << 9);
	ASSERT_EQ(vlapic_apic_base_reserved(52, false),
		  test_bits(63, 52) | test_bits(7, 0) | 1ULL << 9 | 1ULL << 10);
	ASSERT_EQ(vlapic_apic_base_reserved(64, true), test_bits(7, 0) | 1ULL << 9);
	ASSERT_EQ(vlapic_apic_base_reserved(200, true), test_bits(7, 0) | 1ULL << 9);
	ASSERT(!(vlapic_apic_base_reserved(32, false) & (BASE_BSP | BASE_EN)));
}

/* SDM vol. 3 10.12.5.1: every pair of states, both ways. */
TEST(vlapic_apic_base_transitions)
{
	static const struct {
		uint64_t from, to;
		int want;
	} t[] = {
		{ XAPIC, X2APIC, 0 },
		{ XAPIC, OFF, 0 },
		{ XAPIC, OFF | BASE_EXTD, -EINVAL },		/* EXTD without EN */
		{ X2APIC, XAPIC, -EINVAL },			/* only through disabled */
		{ X2APIC, OFF, 0 },
		{ X2APIC, OFF | BASE_EXTD, -EINVAL },
		{ OFF, XAPIC, 0 },
		{ OFF, X2APIC, -EINVAL },			/* only through xAPIC */
		{ OFF, OFF | BASE_EXTD, -EINVAL },
		/* Relocation and the BSP flag, in any enabled state. */
		{ XAPIC, 0xFED40000ULL | BASE_EN, 0 },
		{ X2APIC, 0xFED40000ULL | BASE_EN | BASE_EXTD, 0 },
		{ OFF, 0x12345000ULL, 0 },
		{ XAPIC, XAPIC | BASE_BSP, 0 },
		{ XAPIC | BASE_BSP, XAPIC, 0 },
		{ XAPIC, (1ULL << 35) | BASE_EN, 0 },		/* below MAXPHYADDR 36 */
		/* Reserved bits. */
		{ XAPIC, XAPIC | 1, -EINVAL },
		{ XAPIC, XAPIC | 0x80, -EINVAL },
		{ XAPIC, XAPIC | 0x200, -EINVAL },
		{ XAPIC, XAPIC | 1ULL << 36, -EINVAL },
		{ XAPIC, XAPIC | 1ULL << 63, -EINVAL },
		/* Writing what is there is no transition: legal even if odd. */
		{ XAPIC | 1, XAPIC | 1, 0 },
		{ X2APIC, X2APIC, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (vlapic_apic_base_check(t[i].from, t[i].to, true, 36) != t[i].want)
			test_fail(__FILE__, __LINE__, "0x%llx -> 0x%llx: %d, want %d",
				  (unsigned long long)t[i].from, (unsigned long long)t[i].to,
				  vlapic_apic_base_check(t[i].from, t[i].to, true, 36), t[i].want);
	/* No x2APIC in CPUID: EXTD is a reserved bit. */
	ASSERT_EQ(vlapic_apic_base_check(XAPIC, X2APIC, false, 36), -EINVAL);
	ASSERT_OK(vlapic_apic_base_check(XAPIC, OFF, false, 36));
	/* A wider MAXPHYADDR makes the same bit a base bit. */
	ASSERT_OK(vlapic_apic_base_check(XAPIC, XAPIC | 1ULL << 36, true, 48));
}

TEST(vlapic_apic_base_change_effects)
{
	const unsigned int reset = VLAPIC_BASE_RESET, on = VLAPIC_BASE_X2APIC_ON;
	const unsigned int off = VLAPIC_BASE_X2APIC_OFF, moved = VLAPIC_BASE_MOVED;

	ASSERT_EQ(vlapic_apic_base_change(XAPIC, XAPIC), 0);
	ASSERT_EQ(vlapic_apic_base_change(XAPIC, XAPIC | BASE_BSP), 0);
	ASSERT_EQ(vlapic_apic_base_change(XAPIC, OFF), reset);
	ASSERT_EQ(vlapic_apic_base_change(OFF, XAPIC), reset);
	ASSERT_EQ(vlapic_apic_base_change(XAPIC, X2APIC), on);
	ASSERT_EQ(vlapic_apic_base_change(X2APIC, OFF), reset | off);
	ASSERT_EQ(vlapic_apic_base_change(XAPIC, 0xFED40000ULL | BASE_EN), moved);
	ASSERT_EQ(vlapic_apic_base_change(XAPIC, 0xFED40000ULL), moved | reset);
	ASSERT_EQ(vlapic_apic_base_change(OFF, 0xFED40000ULL), moved);
	/* x2APIC -> xAPIC seen after the fact went through disabled. */
	ASSERT_EQ(vlapic_apic_base_change(X2APIC, XAPIC), reset | off);
	/* Not legal from a guest, but a host may set it: reset, then x2APIC. */
	ASSERT_EQ(vlapic_apic_base_change(OFF, X2APIC), reset | on);
}
