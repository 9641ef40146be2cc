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

#endif
