/* SPDX-License-Identifier: MIT */
/*
 * kvm/ioapic.c: an 82093AA-compatible I/O APIC, version 0x20 (the ICH
 * generation, with the EOI register), 24 input pins, as a pure model: no
 * lock, no KVM, no VM.  The machine's device (kvm/devices/ioapic.c) puts
 * it on the MMIO bus, serialises every call with its lock and hands the
 * interrupt messages it sends to the local APICs (kvm/irq.c).  Private to
 * kvm/.
 *
 * Registers, 82093AA datasheet section 3 (and the ICH's for 0x40):
 *   0x00 IOREGSEL   bits 7:0 select the indirect register IOWIN reaches
 *   0x10 IOWIN      the selected register, 32 bits
 *   0x40 EOIR       write: bits 7:0 a vector; every entry with that vector
 *                   has Remote IRR cleared (a "directed EOI")
 * Indirect registers: 0x00 ID (bits 27:24), 0x01 version 0x00170020
 * (maximum redirection entry 23 in 23:16, version in 7:0), 0x02
 * arbitration ID (bits 27:24, read-only: loaded from ID when ID is
 * written), 0x10 + 2n / 0x11 + 2n the low and high dword of redirection
 * table entry n.
 *
 * Where the datasheet leaves room, the model does what KVM's in-kernel
 * I/O APIC (version 0x11, which the machine no longer uses) does:
 *   - an access at any other offset of the window reads 0 and is dropped;
 *     accesses of 1, 2, 4 or 8 bytes all reach the 32-bit register (a
 *     read is zero-extended, a write takes the low 32 bits, zero-extended
 *     from a narrower one);
 *   - an indirect register that does not exist reads all-ones, writes to
 *     it are dropped;
 *   - the input lines carry "asserted", not the pin's voltage: polarity
 *     (bit 13) is kept for the guest to read back, as the board's
 *     inverters are implied (QEMU and KVM do the same);
 *   - Remote IRR is cleared when an entry is written as edge-triggered
 *     (Linux's way of ending a level interrupt on an I/O APIC without the
 *     EOI register, which real parts honour);
 *   - a level EOI while the line is still asserted delivers again at
 *     once, with no storm throttling.
 * Delivery Status (bit 12) always reads 0 (idle): a message is sent and
 * accepted, or not, within the call that raises it.
 */
#ifndef VINTC_KVM_IOAPIC_H
#define VINTC_KVM_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include <vintc/host.h>
#include <vintc/vlapic.h>

#define IOAPIC_NR_PINS		24
#define IOAPIC_VERSION		0x20
#define IOAPIC_BASE		0xFEC00000ULL
#define IOAPIC_MMIO_SIZE	0x100ULL	/* as KVM's in-kernel one decodes */

/* The memory-mapped registers. */
#define IOAPIC_IOREGSEL		0x00
#define IOAPIC_IOWIN		0x10
#define IOAPIC_EOIR		0x40

/* The indirect registers (IOREGSEL values). */
#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VER		0x01
#define IOAPIC_REG_ARB		0x02
#define IOAPIC_REG_REDTBL	0x10	/* entry n: 0x10 + 2n low, 0x11 + 2n high */

#define IOAPIC_ID_MASK		GENMASK_ULL(27, 24)
#define IOAPIC_VER_VALUE	((uint32_t)(IOAPIC_NR_PINS - 1) << 16 | IOAPIC_VERSION)

/* A redirection table entry, 82093AA section 3.2.4. */
#define IOAPIC_RTE_VECTOR	GENMASK_ULL(7, 0)
#define IOAPIC_RTE_DELMOD	GENMASK_ULL(10, 8)
#define IOAPIC_RTE_DESTMOD	BIT_ULL(11)	/* 1: logical */
#define IOAPIC_RTE_DELIVS	BIT_ULL(12)	/* RO: send pending */
#define IOAPIC_RTE_INTPOL	BIT_ULL(13)	/* 1: active low */
#define IOAPIC_RTE_REMOTE_IRR	BIT_ULL(14)	/* RO: level interrupt in service */
#define IOAPIC_RTE_TRIGGER	BIT_ULL(15)	/* 1: level */
#define IOAPIC_RTE_MASK		BIT_ULL(16)
#define IOAPIC_RTE_DEST		GENMASK_ULL(63, 56)
#define IOAPIC_RTE_WRITABLE	(IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELMOD | IOAPIC_RTE_DESTMOD | \
				 IOAPIC_RTE_INTPOL | IOAPIC_RTE_TRIGGER | IOAPIC_RTE_MASK | \
				 IOAPIC_RTE_DEST)
/* The fields that make the entry's message (ioapic_msg): not the mask. */
#define IOAPIC_RTE_MSG		(IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELMOD | IOAPIC_RTE_DESTMOD | \
				 IOAPIC_RTE_TRIGGER | IOAPIC_RTE_DEST)

/* Delivery modes (bits 10:8); the local APIC's encoding, plus ExtINT. */
#define IOAPIC_DM_FIXED		0
#define IOAPIC_DM_LOWEST	1
#define IOAPIC_DM_SMI		2
#define IOAPIC_DM_NMI		4
#define IOAPIC_DM_INIT		5
#define IOAPIC_DM_EXTINT	7

/*
 * Send the interrupt message of pin `pin` to the local APICs (no
 * shorthand, an 8-bit destination, level_assert set).  Returns how many
 * accepted it: a level-triggered Fixed or Lowest Priority message sets
 * Remote IRR only if one did.
 */
typedef int (*ioapic_send_fn)(void *opaque, uint32_t pin, const struct vlapic_icr *msg);

/*
 * Entry `pin` now makes another message (a field of IOAPIC_RTE_MSG
 * changed): called after the write, before the entry sends anything with
 * it, with the same opaque as send.
 */
typedef void (*ioapic_msg_changed_fn)(void *opaque, uint32_t pin);

struct ioapic_stats {
	uint64_t sent;		/* messages sent */
	uint64_t accepted;	/* local APICs that accepted them */
	uint64_t masked;	/* rising edges and asserted levels a mask held back */
	uint64_t held;		/* level assertions Remote IRR held back */
	uint64_t eois;		/* EOIs (broadcast or directed) that cleared Remote IRR */
};

struct ioapic {
	uint8_t regsel;
	uint8_t id;			/* bits 27:24 of ID and arbitration ID */
	uint32_t lines;			/* asserted inputs, a bit per pin */
	uint64_t rte[IOAPIC_NR_PINS];
	ioapic_send_fn send;
	ioapic_msg_changed_fn msg_changed;	/* NULL unless set after init */
	void *opaque;
	struct ioapic_stats st;
};

/*
 * The message pin `pin`'s entry describes (what it sends when it sends),
 * whether or not it is masked.
 */
struct vlapic_icr ioapic_msg(const struct ioapic *io, uint32_t pin);

/* Power-up state: ID 0, every entry masked (all else 0), no line asserted. */
void ioapic_init(struct ioapic *io, ioapic_send_fn send, void *opaque);

/*
 * An access of `size` bytes (1..8) at `off` in the register window.  A
 * read fills data[0..size); a write takes it.
 */
void ioapic_mmio(struct ioapic *io, uint64_t off, bool write, uint8_t *data, unsigned int size);

/* Indirect register `reg` (an IOREGSEL value) through IOWIN. */
uint32_t ioapic_read_reg(struct ioapic *io, uint8_t reg);
void ioapic_write_reg(struct ioapic *io, uint8_t reg, uint32_t val);

/*
 * Input `pin` is now asserted (level) or not.  An edge-triggered entry
 * sends on a rising edge only, and not while masked (the edge is lost); a
 * level-triggered one sends while asserted, unmasked and Remote IRR clear.
 * Pins past the last are ignored.
 */
void ioapic_set_line(struct ioapic *io, uint32_t pin, bool level);

/*
 * EOI for `vector`: a local APIC's broadcast for a level-triggered vector,
 * or a write to EOIR.  Every entry with this vector and Remote IRR set has
 * it cleared and, if its line is still asserted and it is unmasked, sends
 * again.
 */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

#endif
