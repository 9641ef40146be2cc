// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include <vintc/amd_defs.h>
#include <vintc/vlapic.h>

static uint32_t reg_read(void *regs, unsigned int off)
{
	return __atomic_load_n(apic_reg(regs, off), __ATOMIC_ACQUIRE);
}

static void reg_write(void *regs, unsigned int off, uint32_t val)
{
	__atomic_store_n(apic_reg(regs, off), val, __ATOMIC_RELEASE);
}

static const unsigned int lvt_regs[] = {
	APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, APIC_LVT1, APIC_LVTERR,
};

void vlapic_reset(void *regs, uint32_t apic_id)
{
	memset(regs, 0, HOST_PAGE_SIZE);
	reg_write(regs, APIC_ID, (uint32_t)FIELD_PREP(APIC_XAPIC_ID, apic_id));
	reg_write(regs, APIC_LVR, APIC_LVR_VALUE);
	reg_write(regs, APIC_DFR, APIC_DFR_FLAT);
	reg_write(regs, APIC_SPIV, 0xFF);	/* spurious vector 0xFF, software-disabled */
	for (unsigned int i = 0; i < ARRAY_SIZE(lvt_regs); i++)
		reg_write(regs, lvt_regs[i], (uint32_t)APIC_LVT_MASKED);
}

void vlapic_set_directed_eoi(void *regs, bool offered)
{
	uint32_t lvr = reg_read(regs, APIC_LVR) & ~(uint32_t)APIC_LVR_DIRECTED_EOI;

	reg_write(regs, APIC_LVR, lvr | (offered ? (uint32_t)APIC_LVR_DIRECTED_EOI : 0));
	if (!offered)
		reg_write(regs, APIC_SPIV,
			  reg_read(regs, APIC_SPIV) & ~(uint32_t)APIC_SPIV_DIRECTED_EOI);
}

int vlapic_find_highest(void *regs, unsigned int base)
{
	for (int w = 7; w >= 0; w--) {
		uint32_t v = reg_read(regs, base + (unsigned int)w * 0x10);

		if (v)
			return w * 32 + 31 - __builtin_clz(v);
	}
	return -1;
}

uint32_t vlapic_update_ppr(void *regs)
{
	uint32_t tpr = reg_read(regs, APIC_TASKPRI) & 0xFF;
	int isrv = vlapic_find_highest(regs, APIC_ISR);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xF0;
	uint32_t ppr = (tpr & 0xF0) >= isr_class ? tpr : isr_class;

	reg_write(regs, APIC_PROCPRI, ppr);
	return ppr;
}

static int highest_deliverable(void *regs)
{
	int v = vlapic_find_highest(regs, APIC_IRR);
	uint32_t ppr = reg_read(regs, APIC_PROCPRI);

	/* Vectors 0-15 are never delivered; an equal class waits (SDM 10.8.3.1). */
	if (v < 16 || ((unsigned int)v & 0xF0) <= (ppr & 0xF0))
		return -1;
	return v;
}

bool vlapic_has_deliverable(void *regs)
{
	return highest_deliverable(regs) >= 0;
}

int vlapic_accept(void *regs)
{
	int v = highest_deliverable(regs);

	if (v < 0)
		return -1;
	host_clear_bit32(apic_reg(regs, APIC_VECTOR_WORD(APIC_IRR, v)), APIC_VECTOR_BIT(v));
	host_set_bit32(apic_reg(regs, APIC_VECTOR_WORD(APIC_ISR, v)), APIC_VECTOR_BIT(v));
	vlapic_update_ppr(regs);
	return v;
}

int vlapic_eoi(void *regs)
{
	int v = vlapic_find_highest(regs, APIC_ISR);

	if (v < 0)
		return -1;
	host_clear_bit32(apic_reg(regs, APIC_VECTOR_WORD(APIC_ISR, v)), APIC_VECTOR_BIT(v));
	vlapic_update_ppr(regs);
	return v;
}

void vlapic_write_tpr(void *regs, uint32_t val)
{
	reg_write(regs, APIC_TASKPRI, val & 0xFF);
	vlapic_update_ppr(regs);
}

void vlapic_write_svr(void *regs, uint32_t val)
{
	bool was_enabled = reg_read(regs, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
	uint32_t mask = 0xFF | (uint32_t)(APIC_SPIV_APIC_ENABLED | APIC_SPIV_FOCUS_DISABLED);

	/* EOI-broadcast suppression only where LVR offers it (as KVM masks it). */
	if (reg_read(regs, APIC_LVR) & APIC_LVR_DIRECTED_EOI)
		mask |= (uint32_t)APIC_SPIV_DIRECTED_EOI;
	val &= mask;
	reg_write(regs, APIC_SPIV, val);
	/* Software-disabling masks every LVT entry (SDM 10.4.7.2). */
	if (was_enabled && !(val & APIC_SPIV_APIC_ENABLED))
		for (unsigned int i = 0; i < ARRAY_SIZE(lvt_regs); i++)
			reg_write(regs, lvt_regs[i],
				  reg_read(regs, lvt_regs[i]) | (uint32_t)APIC_LVT_MASKED);
}

void vlapic_write_esr(void *regs, uint32_t *pending)
{
	reg_write(regs, APIC_ESR, *pending);
	*pending = 0;
}

struct vlapic_icr vlapic_icr_decode(uint64_t icr, bool x2apic)
{
	struct vlapic_icr d = {
		.vector = (uint8_t)FIELD_GET(APIC_ICR_VECTOR, icr),
		.delivery_mode = (uint8_t)FIELD_GET(APIC_ICR_DELIVERY_MODE, icr),
		.dest_logical = icr & APIC_ICR_DEST_LOGICAL,
		.level_assert = icr & APIC_ICR_LEVEL_ASSERT,
		.trigger_level = icr & APIC_ICR_TRIGGER_LEVEL,
		.shorthand = (uint8_t)FIELD_GET(APIC_ICR_SHORTHAND, icr),
	};

	d.dest = x2apic ? (uint32_t)(icr >> 32)
			: (uint32_t)FIELD_GET(APIC_ICR2_XAPIC_DEST, icr >> 32);
	return d;
}

uint32_t vlapic_write_mask(unsigned int offset)
{
	switch (offset & 0xFF0) {
	case APIC_ID:
	case APIC_LDR:
		return APIC_XAPIC_ID;		/* bits 31:24 */
	case APIC_DFR:
		return 0xF0000000U;		/* the model; 27:0 read as ones */
	case APIC_LVTT:
		return 0xFFU | APIC_LVT_MASKED | (3U << 17);	/* vector, mask, timer mode */
	case APIC_LVTTHMR:
	case APIC_LVTPC:
		return 0xFFU | (7U << 8) | APIC_LVT_MASKED;	/* vector, delivery mode, mask */
	case APIC_LVT0:
	case APIC_LVT1:
		/* vector, delivery mode, polarity, trigger mode, mask */
		return 0xFFU | (7U << 8) | (1U << 13) | (1U << 15) | APIC_LVT_MASKED;
	case APIC_LVTERR:
		return 0xFFU | APIC_LVT_MASKED;
	case APIC_TDCR:
		return 0xBU;			/* bits 3, 1:0 */
	default:
		return ~0U;
	}
}

uint32_t vlapic_sanitize_write(void *regs, unsigned int offset, uint32_t val)
{
	unsigned int off = offset & 0xFF0;

	val &= vlapic_write_mask(off);
	if (off == APIC_DFR)
		val |= 0x0FFFFFFFU;
	/* A software-disabled APIC keeps every LVT masked. */
	if (off >= APIC_LVTT && off <= APIC_LVTERR &&
	    !(reg_read(regs, APIC_SPIV) & APIC_SPIV_APIC_ENABLED))
		val |= APIC_LVT_MASKED;
	return val;
}

bool vlapic_x2apic_readable(uint32_t off)
{
	switch (off) {
	case APIC_ID: case APIC_LVR: case APIC_TASKPRI: case APIC_PROCPRI: case APIC_LDR:
	case APIC_SPIV: case APIC_ESR: case APIC_ICR: case APIC_LVTT: case APIC_LVTTHMR:
	case APIC_LVTPC: case APIC_LVT0: case APIC_LVT1: case APIC_LVTERR: case APIC_TMICT:
	case APIC_TMCCT: case APIC_TDCR:
		return true;
	}
	/*
	 * ISR, TMR, IRR.  No ARBPRI, RRD, DFR or ICR2 (ICR is one 64-bit
	 * MSR), and EOI and SELF_IPI are write-only.
	 */
	return off >= APIC_ISR && off < APIC_ESR;
}

bool vlapic_x2apic_writable(uint32_t off)
{
	switch (off) {
	case APIC_TASKPRI: case APIC_EOI: case APIC_SPIV: case APIC_ESR: case APIC_ICR:
	case APIC_LVTT: case APIC_LVTTHMR: case APIC_LVTPC: case APIC_LVT0: case APIC_LVT1:
	case APIC_LVTERR: case APIC_TMICT: case APIC_TDCR: case APIC_SELF_IPI:
		return true;
	}
	return false;		/* ID and LDR are read-only in x2APIC mode */
}

int vlapic_x2apic_check_write(uint32_t off, uint64_t val)
{
	if (!vlapic_x2apic_writable(off))
		return -EINVAL;
	/* An xAPIC page could only ignore these; the MSR interface refuses them. */
	switch (off) {
	case APIC_ICR:
		return val & VLAPIC_X2APIC_ICR_RESERVED ? -EINVAL : 0;
	case APIC_EOI:
	case APIC_ESR:
		return val ? -EINVAL : 0;
	case APIC_SELF_IPI:
		return val & ~0xFFULL ? -EINVAL : 0;
	default:
		return val >> 32 ? -EINVAL : 0;
	}
}

uint32_t vlapic_x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << 16) | (1U << (id & 0xF));
}

void vlapic_x2apic_set_id(void *regs, uint32_t id)
{
	reg_write(regs, APIC_ID, id);
	reg_write(regs, APIC_LDR, vlapic_x2apic_ldr(id));
}

enum vlapic_mode vlapic_apic_base_mode(uint64_t apic_base)
{
	bool en = apic_base & MSR_IA32_APICBASE_ENABLE, extd = apic_base & MSR_IA32_APICBASE_EXTD;

	if (!en)
		return extd ? VLAPIC_MODE_INVALID : VLAPIC_MODE_DISABLED;
	return extd ? VLAPIC_MODE_X2APIC : VLAPIC_MODE_XAPIC;
}

uint64_t vlapic_apic_base_reserved(unsigned int maxphyaddr, bool x2apic_supported)
{
	uint64_t rsvd = 0xFFULL | BIT_ULL(9);

	if (maxphyaddr < 64)
		rsvd |= ~0ULL << maxphyaddr;
	if (!x2apic_supported)
		rsvd |= MSR_IA32_APICBASE_EXTD;
	return rsvd;
}

int vlapic_apic_base_check(uint64_t old, uint64_t val, bool x2apic_supported,
			   unsigned int maxphyaddr)
{
	enum vlapic_mode from = vlapic_apic_base_mode(old), to = vlapic_apic_base_mode(val);

	/* Rewriting the current value is no transition, whatever it holds. */
	if (val == old)
		return 0;
	if (val & vlapic_apic_base_reserved(maxphyaddr, x2apic_supported))
		return -EINVAL;
	if (to == VLAPIC_MODE_INVALID)
		return -EINVAL;
	/* SDM 10.12.5.1: x2APIC is left only through disabled, entered only from xAPIC. */
	if (from == VLAPIC_MODE_X2APIC && to == VLAPIC_MODE_XAPIC)
		return -EINVAL;
	if (from == VLAPIC_MODE_DISABLED && to == VLAPIC_MODE_X2APIC)
		return -EINVAL;
	return 0;
}

unsigned int vlapic_apic_base_change(uint64_t old, uint64_t val)
{
	enum vlapic_mode from = vlapic_apic_base_mode(old), to = vlapic_apic_base_mode(val);
	unsigned int what = 0;

	/*
	 * A disabled APIC has lost its state (SDM 10.4.3: "may return to the
	 * power-up state"; 10.12.5.1: x2APIC state is not preserved) and takes
	 * no interrupts, so it comes back on in its power-up state too: both
	 * edges of EN reset it.
	 */
	if ((old ^ val) & MSR_IA32_APICBASE_ENABLE)
		what |= VLAPIC_BASE_RESET;
	/*
	 * x2APIC -> xAPIC is no legal WRMSR: seen after the fact (a copy of
	 * the MSR read at the next exit), the APIC went through disabled.
	 */
	if (from == VLAPIC_MODE_X2APIC && to == VLAPIC_MODE_XAPIC)
		what |= VLAPIC_BASE_RESET;
	if (from != VLAPIC_MODE_X2APIC && to == VLAPIC_MODE_X2APIC)
		what |= VLAPIC_BASE_X2APIC_ON;
	if (from == VLAPIC_MODE_X2APIC && to != VLAPIC_MODE_X2APIC)
		what |= VLAPIC_BASE_X2APIC_OFF;
	if ((old ^ val) & VLAPIC_APIC_BASE_ADDR)
		what |= VLAPIC_BASE_MOVED;
	return what;
}
