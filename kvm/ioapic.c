// SPDX-License-Identifier: MIT
/*
 * The I/O APIC model (kvm/ioapic.h): the register window, the redirection
 * table and each pin's edge or level logic.  Pure: the caller serialises
 * calls and supplies the bus that carries the messages to the local APICs.
 */
#include <string.h>

#include "ioapic.h"

void ioapic_init(struct ioapic *io, ioapic_send_fn send, void *opaque)
{
	memset(io, 0, sizeof(*io));
	for (uint32_t pin = 0; pin < IOAPIC_NR_PINS; pin++)
		io->rte[pin] = IOAPIC_RTE_MASK;
	io->send = send;
	io->opaque = opaque;
}

static bool rte_level(uint64_t e)
{
	return e & IOAPIC_RTE_TRIGGER;
}

/*
 * Fixed and Lowest Priority interrupts end with an EOI; NMI, SMI, INIT and
 * ExtINT never do (the datasheet has them programmed edge-triggered), so
 * only the first two may hold Remote IRR, or a level entry of another mode
 * would stay blocked for good.
 */
static bool rte_ends_with_eoi(uint64_t e)
{
	uint64_t dm = FIELD_GET(IOAPIC_RTE_DELMOD, e);

	return dm == IOAPIC_DM_FIXED || dm == IOAPIC_DM_LOWEST;
}

struct vlapic_icr ioapic_msg(const struct ioapic *io, uint32_t pin)
{
	uint64_t e = pin < IOAPIC_NR_PINS ? io->rte[pin] : IOAPIC_RTE_MASK;
	struct vlapic_icr msg = {
		.vector = (uint8_t)FIELD_GET(IOAPIC_RTE_VECTOR, e),
		.delivery_mode = (uint8_t)FIELD_GET(IOAPIC_RTE_DELMOD, e),
		.dest_logical = e & IOAPIC_RTE_DESTMOD,
		.level_assert = true,
		.trigger_level = rte_level(e),
		.dest = (uint32_t)FIELD_GET(IOAPIC_RTE_DEST, e),
	};

	return msg;
}

/* The pin's message on the bus; Remote IRR once a local APIC took a level one. */
static void ioapic_send(struct ioapic *io, uint32_t pin)
{
	uint64_t e = io->rte[pin];
	struct vlapic_icr msg = ioapic_msg(io, pin);
	int n;

	io->st.sent++;
	n = io->send ? io->send(io->opaque, pin, &msg) : 0;
	if (n <= 0)
		return;
	io->st.accepted += (uint64_t)n;
	if (msg.trigger_level && rte_ends_with_eoi(e))
		io->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
}

/* A level entry sends while its line is asserted, unless masked or in service. */
static void ioapic_service_level(struct ioapic *io, uint32_t pin)
{
	uint64_t e = io->rte[pin];

	if (!(io->lines & (1U << pin)))
		return;
	if (e & IOAPIC_RTE_MASK) {
		io->st.masked++;
		return;
	}
	if (e & IOAPIC_RTE_REMOTE_IRR) {
		io->st.held++;
		return;
	}
	ioapic_send(io, pin);
}

void ioapic_set_line(struct ioapic *io, uint32_t pin, bool level)
{
	uint32_t bit;
	bool was;

	if (pin >= IOAPIC_NR_PINS)
		return;
	bit = 1U << pin;
	was = io->lines & bit;
	if (!level) {
		/* A level entry's Remote IRR stays until the EOI. */
		io->lines &= ~bit;
		return;
	}
	io->lines |= bit;
	if (rte_level(io->rte[pin])) {
		ioapic_service_level(io, pin);
		return;
	}
	if (was)
		return;		/* still high: no new edge */
	/* 82093AA 3.2.4: an edge on a masked pin is neither delivered nor held. */
	if (io->rte[pin] & IOAPIC_RTE_MASK) {
		io->st.masked++;
		return;
	}
	ioapic_send(io, pin);
}

static void ioapic_write_rte(struct ioapic *io, uint32_t pin, bool high, uint32_t val)
{
	uint64_t e = io->rte[pin];
	uint64_t ro = e & (IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR);
	bool changed;

	if (high)
		e = (e & 0xFFFFFFFFULL) | (uint64_t)val << 32;
	else
		e = (e & ~0xFFFFFFFFULL) | val;
	e = (e & IOAPIC_RTE_WRITABLE) | ro;
	/* Edge-triggered entries hold no Remote IRR: rewriting one as edge ends it. */
	if (!rte_level(e))
		e &= ~IOAPIC_RTE_REMOTE_IRR;
	changed = (e ^ io->rte[pin]) & IOAPIC_RTE_MSG;
	io->rte[pin] = e;
	if (changed && io->msg_changed)
		io->msg_changed(io->opaque, pin);
	/*
	 * An unmasked level entry whose line is up sends now: a level
	 * asserted while masked is delivered on unmask.  A masked edge was
	 * lost when it happened, so an edge entry sends nothing here.
	 */
	if (rte_level(e))
		ioapic_service_level(io, pin);
}

static bool reg_is_rte(uint8_t reg)
{
	return reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_NR_PINS;
}

uint32_t ioapic_read_reg(struct ioapic *io, uint8_t reg)
{
	uint64_t e;

	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		/* The arbitration ID is loaded from the ID whenever ID is written. */
		return (uint32_t)FIELD_PREP(IOAPIC_ID_MASK, io->id);
	case IOAPIC_REG_VER:
		return IOAPIC_VER_VALUE;
	}
	if (!reg_is_rte(reg))
		return 0xFFFFFFFFU;
	e = io->rte[(reg - IOAPIC_REG_REDTBL) >> 1];
	return reg & 1 ? (uint32_t)(e >> 32) : (uint32_t)e;
}

void ioapic_write_reg(struct ioapic *io, uint8_t reg, uint32_t val)
{
	if (reg == IOAPIC_REG_ID)
		io->id = (uint8_t)FIELD_GET(IOAPIC_ID_MASK, val);
	else if (reg_is_rte(reg))
		ioapic_write_rte(io, (uint32_t)(reg - IOAPIC_REG_REDTBL) >> 1, reg & 1, val);
	/* Version and arbitration ID are read-only; other registers do not exist. */
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (uint32_t pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t e = io->rte[pin];

		if (FIELD_GET(IOAPIC_RTE_VECTOR, e) != vector || !(e & IOAPIC_RTE_REMOTE_IRR))
			continue;
		io->rte[pin] = e & ~IOAPIC_RTE_REMOTE_IRR;
		io->st.eois++;
		/* Still asserted: the device wants service again. */
		ioapic_service_level(io, pin);
	}
}

void ioapic_mmio(struct ioapic *io, uint64_t off, bool write, uint8_t *data, unsigned int size)
{
	uint32_t val = 0;
	unsigned int n = size < 4 ? size : 4;

	if (size > 8)
		size = 8;
	if (!write) {
		if (off == IOAPIC_IOREGSEL)
			val = io->regsel;
		else if (off == IOAPIC_IOWIN)
			val = ioapic_read_reg(io, io->regsel);
		memset(data, 0, size);
		memcpy(data, &val, n);
		return;
	}
	memcpy(&val, data, n);
	switch (off) {
	case IOAPIC_IOREGSEL:
		io->regsel = (uint8_t)val;	/* bits 31:8 are reserved */
		break;
	case IOAPIC_IOWIN:
		ioapic_write_reg(io, io->regsel, val);
		break;
	case IOAPIC_EOIR:
		ioapic_eoi(io, (uint8_t)val);
		break;
	}
}
