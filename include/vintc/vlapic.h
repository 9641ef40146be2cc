/* SPDX-License-Identifier: MIT */
/*
 * APIC register semantics kept in the vAPIC backing page: the one
 * architectural model the AVIC backend and the engines share.  The page
 * holds the registers at their xAPIC offsets; everything here is a pure
 * function of the page (plus the caller's pending-ESR word), so hardware
 * assists and software emulation agree by construction.
 */
#ifndef VINTC_VLAPIC_H
#define VINTC_VLAPIC_H

#include <stdbool.h>
#include <stdint.h>

/* ESR bits (the error status register). */
#define APIC_ESR_SEND_ILLEGAL_VECTOR    (1U << 5)
#define APIC_ESR_RECV_ILLEGAL_VECTOR    (1U << 6)
#define APIC_ESR_ILLEGAL_REGISTER       (1U << 7)

void vlapic_reset(void *regs, uint32_t apic_id);
/*
 * Offer EOI-broadcast suppression (LVR bit 24) or not (the reset state).
 * KVM's LAPIC offers it when CPUID has x2APIC and the I/O APIC is not
 * KVM's, which is this machine's case under both irqchips.  SVR bit 12 is
 * writable only while it is offered.  The broadcast itself is not
 * suppressed: KVM's LAPIC on a split irqchip reports every level EOI to
 * userspace whatever SVR says, and so does this model.
 */
void vlapic_set_directed_eoi(void *regs, bool offered);
/* Highest vector set in a 256-bit register (IRR/ISR/TMR), or -1. */
int vlapic_find_highest(void *regs, unsigned int base);
/* PPR from TPR and the highest in-service vector; stored and returned. */
uint32_t vlapic_update_ppr(void *regs);
/* True if the highest IRR vector's priority class beats the PPR's. */
bool vlapic_has_deliverable(void *regs);
/*
 * What the CPU does when it takes an interrupt: the highest deliverable
 * IRR vector moves to ISR and PPR follows.  Returns it, or -1.
 */
int vlapic_accept(void *regs);
/*
 * EOI: the highest in-service vector leaves ISR and PPR follows.  Returns
 * it (its TMR bit tells a level EOI that must be broadcast), or -1 when
 * nothing was in service.
 */
int vlapic_eoi(void *regs);

/* Writes with architectural side effects. */
void vlapic_write_tpr(void *regs, uint32_t val);
void vlapic_write_svr(void *regs, uint32_t val);
/* A write to ESR latches the errors collected since the last one. */
void vlapic_write_esr(void *regs, uint32_t *pending);

/*
 * The bits of a trap-class register software can set; AVIC stores the
 * guest's whole value in the page, so the trap handler puts back only
 * these (with a software-disabled APIC an LVT also stays masked).
 * ~0 for registers without reserved bits.
 */
uint32_t vlapic_write_mask(unsigned int offset);
/* The value the register holds after a guest writes val (trap class). */
uint32_t vlapic_sanitize_write(void *regs, unsigned int offset, uint32_t val);

struct vlapic_icr {
	uint8_t vector;
	uint8_t delivery_mode;
	bool dest_logical, level_assert, trigger_level;
	uint8_t shorthand;
	uint32_t dest;			/* 8 bits in xAPIC mode, 32 in x2APIC */
};

struct vlapic_icr vlapic_icr_decode(uint64_t icr, bool x2apic);

/*
 * x2APIC mode (SDM 10.12): registers become MSRs 0x800 + (offset >> 4).
 * These say which exist for RDMSR and for WRMSR, by xAPIC offset, and
 * which written values are #GP; the register semantics stay the page's.
 */

/*
 * ICR bits with no meaning in x2APIC mode (13, 17:16 and 31:20 of the low
 * word: x2APIC dropped delivery status and remote read); writing one is #GP.
 */
#define VLAPIC_X2APIC_ICR_RESERVED	((1ULL << 13) | (3ULL << 16) | (0xFFFULL << 20))

bool vlapic_x2apic_readable(uint32_t off);
bool vlapic_x2apic_writable(uint32_t off);
/*
 * A WRMSR of val to the register at `off`: 0 if legal, -EINVAL if the
 * architecture raises #GP (no such register or a read-only one; bits
 * 63:32 set outside ICR; reserved ICR bits; EOI or ESR not written with
 * 0; SELF_IPI with more than a vector).
 */
int vlapic_x2apic_check_write(uint32_t off, uint64_t val);
/* The x2APIC LDR, derived from the ID: cluster ID >> 4 in 31:16, bit ID & 0xF. */
uint32_t vlapic_x2apic_ldr(uint32_t id);
/* Entering x2APIC mode: the 32-bit ID and the read-only LDR derived from it. */
void vlapic_x2apic_set_id(void *regs, uint32_t id);

/*
 * IA32_APIC_BASE (MSR 0x1B; SDM vol. 3 10.4.4 and 10.12.5, vol. 4 table
 * 2-2): EN and EXTD make one of three states, and EXTD without EN is no
 * state at all.  Bits 51:12 (up to MAXPHYADDR) place the xAPIC page; the
 * BSP flag (bit 8) is R/W, as the SDM's MSR table has it and KVM keeps it.
 */
#define VLAPIC_APIC_BASE_DEFAULT	0xFEE00000ULL
#define VLAPIC_APIC_BASE_ADDR		(~0xFFFULL)

enum vlapic_mode {
	VLAPIC_MODE_DISABLED,		/* EN = 0, EXTD = 0 */
	VLAPIC_MODE_INVALID,		/* EN = 0, EXTD = 1 */
	VLAPIC_MODE_XAPIC,		/* EN = 1, EXTD = 0 */
	VLAPIC_MODE_X2APIC,		/* EN = 1, EXTD = 1 */
};

enum vlapic_mode vlapic_apic_base_mode(uint64_t apic_base);
/*
 * The bits no WRMSR may set: 7:0, 9, MAXPHYADDR..63, and EXTD unless
 * CPUID.1:ECX[21] advertises x2APIC.  maxphyaddr >= 64 reserves no high bit.
 */
uint64_t vlapic_apic_base_reserved(unsigned int maxphyaddr, bool x2apic_supported);
/*
 * A guest WRMSR of val over old: 0 if legal, -EINVAL if the architecture
 * raises #GP (a reserved bit; EXTD without EN; x2APIC -> xAPIC and
 * disabled -> x2APIC, which must go through disabled and xAPIC).  A write
 * of the value already there is always legal (no transition).
 */
int vlapic_apic_base_check(uint64_t old, uint64_t val, bool x2apic_supported,
			   unsigned int maxphyaddr);

/*
 * What a change of IA32_APIC_BASE from old to val asks of the APIC: a
 * legal WRMSR, or two seen as one (x2APIC -> xAPIC went through disabled).
 */
#define VLAPIC_BASE_RESET	(1U << 0)	/* through disabled: the power-up state */
#define VLAPIC_BASE_X2APIC_ON	(1U << 1)	/* entered x2APIC: 32-bit ID, derived LDR */
#define VLAPIC_BASE_X2APIC_OFF	(1U << 2)	/* left x2APIC (to disabled) */
#define VLAPIC_BASE_MOVED	(1U << 3)	/* the xAPIC page's address changed */
unsigned int vlapic_apic_base_change(uint64_t old, uint64_t val);

#endif
