// SPDX-License-Identifier: MIT
/*
 * The I/O APIC: the pure model (kvm/ioapic.c) with a recording bus, then
 * the machine's device, the test device and the routing (kvm/irq.c) on a
 * bare machine with the userspace APIC model and no /dev/kvm: a byte to
 * port 0x2000 + n reaches a vCPU's IRR, and its EOI reaches Remote IRR.
 */
#include <errno.h>
#include <string.h>

#include <vintc/avic.h>
#include <vintc/vlapic.h>

#include "kvm/devices/devices.h"
#include "kvm/ioapic.h"
#include "kvm/irq.h"
#include "test.h"

#define MAX_SENT	16

/* The bus: records each message; accepts `accept` of them (default 1). */
struct bus_log {
	int n;
	uint32_t pin[MAX_SENT];
	struct vlapic_icr msg[MAX_SENT];
	int accept;
};

static int log_send(void *opaque, uint32_t pin, const struct vlapic_icr *msg)
{
	struct bus_log *b = opaque;

	if (b->n < MAX_SENT) {
		b->pin[b->n] = pin;
		b->msg[b->n] = *msg;
	}
	b->n++;
	return b->accept;
}

static void io_init(struct ioapic *io, struct bus_log *b)
{
	memset(b, 0, sizeof(*b));
	b->accept = 1;
	ioapic_init(io, log_send, b);
}

static uint32_t mmio_read(struct ioapic *io, uint64_t off, unsigned int size)
{
	uint8_t data[8];
	uint32_t v = 0;

	memset(data, 0xEE, sizeof(data));
	ioapic_mmio(io, off, false, data, size);
	for (unsigned int i = size; i < 8; i++)
		ASSERT_EQ(data[i], 0xEE);	/* nothing past the access */
	memcpy(&v, data, size < 4 ? size : 4);
	if (size == 8)
		ASSERT_EQ(data[4] | data[5] | data[6] | data[7], 0);
	return v;
}

static void mmio_write(struct ioapic *io, uint64_t off, uint64_t val, unsigned int size)
{
	uint8_t data[8];

	memcpy(data, &val, sizeof(data));
	ioapic_mmio(io, off, true, data, size);
}

/* Through the window, as a guest does: IOREGSEL, then IOWIN. */
static uint32_t reg_read(struct ioapic *io, uint8_t reg)
{
	mmio_write(io, IOAPIC_IOREGSEL, reg, 4);
	return mmio_read(io, IOAPIC_IOWIN, 4);
}

static void reg_write(struct ioapic *io, uint8_t reg, uint32_t val)
{
	mmio_write(io, IOAPIC_IOREGSEL, reg, 4);
	mmio_write(io, IOAPIC_IOWIN, val, 4);
}

static void rte_write(struct ioapic *io, uint32_t pin, uint64_t e)
{
	reg_write(io, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin + 1), (uint32_t)(e >> 32));
	reg_write(io, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin), (uint32_t)e);
}

static uint64_t rte_read(struct ioapic *io, uint32_t pin)
{
	return (uint64_t)reg_read(io, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin + 1)) << 32 |
	       reg_read(io, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin));
}

#define LEVEL	IOAPIC_RTE_TRIGGER
#define RIRR	IOAPIC_RTE_REMOTE_IRR
#define MASKED	IOAPIC_RTE_MASK

TEST(ioapic_reset_and_identification)
{
	static struct ioapic io;
	struct bus_log b;

	io_init(&io, &b);
	ASSERT_EQ(reg_read(&io, IOAPIC_REG_VER), 0x00170020);
	ASSERT_EQ(reg_read(&io, IOAPIC_REG_ID), 0);
	ASSERT_EQ(reg_read(&io, IOAPIC_REG_ARB), 0);
	for (uint32_t pin = 0; pin < IOAPIC_NR_PINS; pin++)
		ASSERT_EQ(rte_read(&io, pin), MASKED);
	/* Registers that do not exist read all-ones (as KVM's), and take no write. */
	for (unsigned int reg = 0x03; reg < 0x100; reg++) {
		if (reg == IOAPIC_REG_REDTBL)
			reg = IOAPIC_REG_REDTBL + 2 * IOAPIC_NR_PINS;
		reg_write(&io, (uint8_t)reg, 0x12345678);
		ASSERT_EQ(reg_read(&io, (uint8_t)reg), 0xFFFFFFFFU);
	}
	/* ID: bits 27:24 only; the arbitration ID follows it and is read-only. */
	reg_write(&io, IOAPIC_REG_ID, 0xFFFFFFFFU);
	ASSERT_EQ(reg_read(&io, IOAPIC_REG_ID), 0x0F000000);
	reg_write(&io, IOAPIC_REG_ID, 0x05000000);
	reg_write(&io, IOAPIC_REG_ARB, 0x0A000000);
	ASSERT_EQ(reg_read(&io, IOAPIC_REG_ARB), 0x05000000);
	reg_write(&io, IOAPIC_REG_VER, 0);
	ASSERT_EQ(reg_read(&io, IOAPIC_REG_VER), IOAPIC_VER_VALUE);
	ASSERT_EQ(b.n, 0);
}

TEST(ioapic_window_decode_and_sizes)
{
	static struct ioapic io;
	struct bus_log b;

	io_init(&io, &b);
	/* IOREGSEL keeps 8 bits; any width reaches it. */
	mmio_write(&io, IOAPIC_IOREGSEL, 0x12301, 4);
	ASSERT_EQ(mmio_read(&io, IOAPIC_IOREGSEL, 4), 0x01);
	mmio_write(&io, IOAPIC_IOREGSEL, 0x10, 1);
	ASSERT_EQ(mmio_read(&io, IOAPIC_IOREGSEL, 1), 0x10);
	/* IOWIN: narrow reads are the low bytes, an 8-byte one zero-extends. */
	mmio_write(&io, IOAPIC_IOREGSEL, IOAPIC_REG_VER, 4);
	ASSERT_EQ(mmio_read(&io, IOAPIC_IOWIN, 1), 0x20);
	ASSERT_EQ(mmio_read(&io, IOAPIC_IOWIN, 2), 0x0020);
	ASSERT_EQ(mmio_read(&io, IOAPIC_IOWIN, 8), 0x00170020);
	/* A narrow write zero-extends; an 8-byte one takes the low dword. */
	mmio_write(&io, IOAPIC_IOREGSEL, IOAPIC_REG_REDTBL + 1, 4);
	mmio_write(&io, IOAPIC_IOWIN, 0xFFFFFFFFAB000000ULL, 8);
	ASSERT_EQ(rte_read(&io, 0) >> 32, 0xAB000000);
	mmio_write(&io, IOAPIC_IOREGSEL, IOAPIC_REG_REDTBL + 1, 4);
	mmio_write(&io, IOAPIC_IOWIN, 0xCD, 1);	/* reserved bits 39:32, destination 0 */
	ASSERT_EQ(rte_read(&io, 0) >> 32, 0);
	mmio_write(&io, IOAPIC_IOREGSEL, IOAPIC_REG_REDTBL + 1, 4);
	/* Any other offset: reads 0, writes dropped (EOIR is write-only). */
	for (uint64_t off = 0; off < IOAPIC_MMIO_SIZE; off += 4) {
		if (off == IOAPIC_IOREGSEL || off == IOAPIC_IOWIN)
			continue;
		mmio_write(&io, off, 0xFFFFFFFF, 4);
		ASSERT_EQ(mmio_read(&io, off, 4), 0);
	}
	ASSERT_EQ(mmio_read(&io, IOAPIC_IOREGSEL, 4), IOAPIC_REG_REDTBL + 1);
	/* An oversized access is cut to 8 bytes. */
	{
		uint8_t big[16];

		memset(big, 0xEE, sizeof(big));
		ioapic_mmio(&io, IOAPIC_IOREGSEL, false, big, 16);
		ASSERT_EQ(big[0], IOAPIC_REG_REDTBL + 1);
		ASSERT_EQ(big[8], 0xEE);
	}
}

TEST(ioapic_entry_fields_and_read_only_bits)
{
	static struct ioapic io;
	struct bus_log b;
	uint64_t rw = IOAPIC_RTE_WRITABLE;

	io_init(&io, &b);
	/* Every bit written: the writable ones read back, RO and reserved 0. */
	rte_write(&io, 3, ~0ULL);
	ASSERT_EQ(rte_read(&io, 3), rw);
	ASSERT_EQ(rw, 0xFF0000000001AFFFULL);
	rte_write(&io, 3, IOAPIC_RTE_DELIVS | RIRR | MASKED);
	ASSERT_EQ(rte_read(&io, 3), MASKED);
	/* Each field alone. */
	rte_write(&io, 4, 0xAB00000000000000ULL | LEVEL | IOAPIC_RTE_INTPOL |
			  IOAPIC_RTE_DESTMOD | (5ULL << 8) | 0x99 | MASKED);
	ASSERT_EQ(rte_read(&io, 4), 0xAB00000000000000ULL | LEVEL | IOAPIC_RTE_INTPOL |
				      IOAPIC_RTE_DESTMOD | (5ULL << 8) | 0x99 | MASKED);
	ASSERT_EQ(b.n, 0);
}

TEST(ioapic_edge_rising_only_masked_lost)
{
	static struct ioapic io;
	struct bus_log b;

	io_init(&io, &b);
	rte_write(&io, 7, 0x0200000000000000ULL | IOAPIC_RTE_DESTMOD | (1ULL << 8) | 0x41);
	ioapic_set_line(&io, 7, true);
	ASSERT_EQ(b.n, 1);
	ASSERT_EQ(b.pin[0], 7);
	ASSERT_EQ(b.msg[0].vector, 0x41);
	ASSERT_EQ(b.msg[0].delivery_mode, IOAPIC_DM_LOWEST);
	ASSERT_EQ(b.msg[0].dest, 0x02);
	ASSERT(b.msg[0].dest_logical && !b.msg[0].trigger_level && b.msg[0].level_assert);
	ASSERT_EQ(b.msg[0].shorthand, 0);
	/* Held high is no edge; lowering sends nothing; Remote IRR never set. */
	ioapic_set_line(&io, 7, true);
	ioapic_set_line(&io, 7, false);
	ASSERT_EQ(b.n, 1);
	ASSERT(!(rte_read(&io, 7) & RIRR));
	ioapic_set_line(&io, 7, true);
	ioapic_set_line(&io, 7, false);
	ASSERT_EQ(b.n, 2);
	/* Masked: lost, and not sent on unmask even with the line still up. */
	rte_write(&io, 7, MASKED | 0x41);
	ioapic_set_line(&io, 7, true);
	rte_write(&io, 7, 0x41);
	ASSERT_EQ(b.n, 2);
	ASSERT_EQ(io.st.masked, 1);
	ioapic_set_line(&io, 7, false);
	/* An edge no APIC accepted is gone too. */
	b.accept = 0;
	ioapic_set_line(&io, 7, true);
	ioapic_set_line(&io, 7, false);
	ASSERT_EQ(b.n, 3);
	ASSERT_EQ(io.st.sent, 3);
	ASSERT_EQ(io.st.accepted, 2);
	/* Pins past the last do nothing. */
	ioapic_set_line(&io, IOAPIC_NR_PINS, true);
	ioapic_set_line(&io, UINT32_MAX, true);
	ASSERT_EQ(b.n, 3);
}

TEST(ioapic_level_remote_irr_and_eoi)
{
	static struct ioapic io;
	struct bus_log b;

	io_init(&io, &b);
	rte_write(&io, 9, LEVEL | 0x52);
	ioapic_set_line(&io, 9, true);
	ASSERT_EQ(b.n, 1);
	ASSERT(b.msg[0].trigger_level);
	ASSERT(rte_read(&io, 9) & RIRR);
	/* Asserted again, or lowered and raised: Remote IRR holds it back. */
	ioapic_set_line(&io, 9, true);
	ioapic_set_line(&io, 9, false);
	ioapic_set_line(&io, 9, true);
	ASSERT_EQ(b.n, 1);
	ASSERT_EQ(io.st.held, 2);
	/* An EOI for another vector changes nothing. */
	ioapic_eoi(&io, 0x53);
	ASSERT(rte_read(&io, 9) & RIRR);
	/* EOI with the line still up: sent again at once. */
	ioapic_eoi(&io, 0x52);
	ASSERT_EQ(b.n, 2);
	ASSERT(rte_read(&io, 9) & RIRR);
	/* The device lets go, then the EOI: quiet. */
	ioapic_set_line(&io, 9, false);
	ioapic_eoi(&io, 0x52);
	ASSERT_EQ(b.n, 2);
	ASSERT(!(rte_read(&io, 9) & RIRR));
	ASSERT_EQ(io.st.eois, 2);
	/* Nobody accepted it: no Remote IRR, so the next assertion retries. */
	b.accept = 0;
	ioapic_set_line(&io, 9, true);
	ASSERT(!(rte_read(&io, 9) & RIRR));
	b.accept = 1;
	ioapic_set_line(&io, 9, true);
	ASSERT_EQ(b.n, 4);
	ASSERT(rte_read(&io, 9) & RIRR);
}

TEST(ioapic_level_masked_delivered_on_unmask)
{
	static struct ioapic io;
	struct bus_log b;

	io_init(&io, &b);
	rte_write(&io, 2, MASKED | LEVEL | 0x60);
	ioapic_set_line(&io, 2, true);
	ASSERT_EQ(b.n, 0);
	rte_write(&io, 2, LEVEL | 0x60);
	ASSERT_EQ(b.n, 1);
	ASSERT(rte_read(&io, 2) & RIRR);
	/* Rewriting the entry (any dword) keeps Remote IRR and sends nothing. */
	rte_write(&io, 2, LEVEL | 0x60);
	ASSERT_EQ(b.n, 1);
	ASSERT(rte_read(&io, 2) & RIRR);
	/* Masked while in service, EOI with the line up: held until unmask. */
	rte_write(&io, 2, MASKED | LEVEL | 0x60);
	ioapic_eoi(&io, 0x60);
	ASSERT_EQ(b.n, 1);
	rte_write(&io, 2, LEVEL | 0x60);
	ASSERT_EQ(b.n, 2);
	/* Lowered before the unmask: nothing. */
	ioapic_set_line(&io, 2, false);
	ioapic_eoi(&io, 0x60);
	rte_write(&io, 2, MASKED | LEVEL | 0x60);
	ioapic_set_line(&io, 2, true);
	ioapic_set_line(&io, 2, false);
	rte_write(&io, 2, LEVEL | 0x60);
	ASSERT_EQ(b.n, 2);
}

TEST(ioapic_edge_write_clears_remote_irr)
{
	static struct ioapic io;
	struct bus_log b;

	io_init(&io, &b);
	rte_write(&io, 11, LEVEL | 0x70);
	ioapic_set_line(&io, 11, true);
	ASSERT(rte_read(&io, 11) & RIRR);
	/* Linux's EOI without an EOI register: mask, edge, back to level. */
	rte_write(&io, 11, MASKED | LEVEL | 0x70);
	ASSERT(rte_read(&io, 11) & RIRR);
	rte_write(&io, 11, MASKED | 0x70);
	ASSERT(!(rte_read(&io, 11) & RIRR));
	rte_write(&io, 11, MASKED | LEVEL | 0x70);
	ASSERT_EQ(b.n, 1);
	/* Unmasked with the line still up: sent again. */
	rte_write(&io, 11, LEVEL | 0x70);
	ASSERT_EQ(b.n, 2);
}

TEST(ioapic_eoi_register_is_directed_eoi)
{
	static struct ioapic io;
	struct bus_log b;

	io_init(&io, &b);
	rte_write(&io, 5, LEVEL | 0x45);
	rte_write(&io, 6, LEVEL | 0x45);
	rte_write(&io, 8, LEVEL | 0x46);
	ioapic_set_line(&io, 5, true);
	ioapic_set_line(&io, 6, true);
	ioapic_set_line(&io, 8, true);
	ASSERT_EQ(b.n, 3);
	ioapic_set_line(&io, 5, false);
	/* Bits 7:0 name the vector: every entry with it. */
	mmio_write(&io, IOAPIC_EOIR, 0xFFFFFF45, 4);
	ASSERT(!(rte_read(&io, 5) & RIRR));
	ASSERT(rte_read(&io, 8) & RIRR);
	/* Pin 6 was still asserted: sent again, Remote IRR set again. */
	ASSERT_EQ(b.n, 4);
	ASSERT_EQ(b.pin[3], 6);
	ASSERT(rte_read(&io, 6) & RIRR);
}

TEST(ioapic_non_eoi_modes_hold_no_remote_irr)
{
	static struct ioapic io;
	struct bus_log b;
	static const uint8_t modes[] = {
		IOAPIC_DM_SMI, IOAPIC_DM_NMI, IOAPIC_DM_INIT, IOAPIC_DM_EXTINT,
	};

	io_init(&io, &b);
	for (uint32_t i = 0; i < ARRAY_SIZE(modes); i++) {
		rte_write(&io, i, LEVEL | (uint64_t)modes[i] << 8);
		ioapic_set_line(&io, i, true);
		ASSERT_EQ(b.msg[i].delivery_mode, modes[i]);
		ASSERT(!(rte_read(&io, i) & RIRR));
	}
	ASSERT_EQ(b.n, (int)ARRAY_SIZE(modes));
	/* No bus at all: nothing accepted, nothing held. */
	ioapic_init(&io, NULL, NULL);
	rte_write(&io, 0, LEVEL | 0x40);
	ioapic_set_line(&io, 0, true);
	ASSERT(!(rte_read(&io, 0) & RIRR));
	ASSERT_EQ(io.st.sent, 1);
}

/* msg_changed: how often, for which pin, and how many messages were out by then. */
struct change_log {
	struct bus_log *bus;
	int n, pin, sent_before;
};

static void log_changed(void *opaque, uint32_t pin)
{
	struct change_log *c = opaque;

	c->n++;
	c->pin = (int)pin;
	c->sent_before = c->bus->n;
}

static int log_send_via(void *opaque, uint32_t pin, const struct vlapic_icr *msg)
{
	return log_send(((struct change_log *)opaque)->bus, pin, msg);
}

/*
 * The hook that keeps KVM's EOI routes: on a change of the message only
 * (not the mask or polarity), and before a message the same write sends.
 */
TEST(ioapic_msg_changed_before_it_sends)
{
	static struct ioapic io;
	struct bus_log b;
	struct change_log c = { .bus = &b };

	io_init(&io, &b);
	ioapic_init(&io, log_send_via, &c);
	io.msg_changed = log_changed;
	ioapic_set_line(&io, 4, true);
	/* From masked to level 0x41 with the line up: the hook, then the send. */
	rte_write(&io, 4, LEVEL | 0x41);
	ASSERT_EQ(c.n, 1);
	ASSERT_EQ(c.pin, 4);
	ASSERT_EQ(c.sent_before, 0);
	ASSERT_EQ(b.n, 1);
	/* Mask and polarity are not the message. */
	rte_write(&io, 4, LEVEL | MASKED | IOAPIC_RTE_INTPOL | 0x41);
	ASSERT_EQ(c.n, 1);
	/* The destination is (the high dword alone). */
	reg_write(&io, IOAPIC_REG_REDTBL + 2 * 4 + 1, 0x02000000);
	ASSERT_EQ(c.n, 2);
	/* Rewritten as it is: nothing. */
	reg_write(&io, IOAPIC_REG_REDTBL + 2 * 4 + 1, 0x02000000);
	ASSERT_EQ(c.n, 2);
}

/* What KVM's routes mirror: the entry's message, masked or not. */
TEST(ioapic_msg_mirrors_entry_masked_or_not)
{
	static struct ioapic io;
	struct bus_log b;
	struct vlapic_icr m;

	io_init(&io, &b);
	rte_write(&io, 7, MASKED | LEVEL | IOAPIC_RTE_DESTMOD | IOAPIC_RTE_INTPOL |
		  (uint64_t)IOAPIC_DM_LOWEST << 8 | 0x61 | 0xA5ULL << 56);
	m = ioapic_msg(&io, 7);
	ASSERT_EQ(m.vector, 0x61);
	ASSERT_EQ(m.delivery_mode, IOAPIC_DM_LOWEST);
	ASSERT(m.dest_logical && m.trigger_level && m.level_assert);
	ASSERT_EQ(m.shorthand, 0);
	ASSERT_EQ(m.dest, 0xA5);
	ASSERT_EQ(b.n, 0);
	/* Past the last pin: the reset entry's message (vector 0, edge). */
	m = ioapic_msg(&io, IOAPIC_NR_PINS);
	ASSERT(!m.vector && !m.trigger_level && !m.dest);
}

/* The MSI of a message, as KVM_SIGNAL_MSI and the EOI routes take it. */
TEST(ioapic_msg_as_msi)
{
	struct vlapic_icr fixed = {
		.vector = 0x31, .level_assert = true, .trigger_level = true, .dest = 1,
	};
	struct vlapic_icr lowest = {
		.vector = 0x34, .delivery_mode = IOAPIC_DM_LOWEST, .dest_logical = true,
		.level_assert = true, .dest = 0x03,
	};
	struct vlapic_icr nmi = { .delivery_mode = IOAPIC_DM_NMI, .level_assert = true,
				  .dest = 0xFF };
	uint32_t addr, data;

	vkvm_irq_msi(&fixed, &addr, &data);
	ASSERT_EQ(addr, 0xFEE01000);
	ASSERT_EQ(data, 0xC031);	/* level (15), assert (14), Fixed, vector */
	vkvm_irq_msi(&lowest, &addr, &data);
	ASSERT_EQ(addr, 0xFEE0300C);	/* redirection hint (3), logical (2) */
	ASSERT_EQ(data, 0x4134);
	vkvm_irq_msi(&nmi, &addr, &data);
	ASSERT_EQ(addr, 0xFEEFF000);
	ASSERT_EQ(data, 0x4400);
}

/* ---- the machine: device, test device and routing, no /dev/kvm ---------- */

struct machine {
	struct vkvm v;
	struct vkvm_result r;
	void *ioapic, *testdev;
};

static struct vkvm *machine_make(struct machine *m, uint32_t nr)
{
	char why[128] = "";

	memset(m, 0, sizeof(*m));
	m->v.nr = nr;
	m->v.r = &m->r;
	m->v.kvm_fd = m->v.vm_fd = -1;
	pthread_mutex_init(&m->v.end_lock, NULL);
	vkvm_bus_init(&m->v.bus);
	for (uint32_t i = 0; i < nr; i++) {
		m->v.cpus[i].v = &m->v;
		m->v.cpus[i].idx = i;
	}
	if (vkvm_lapic_init(&m->v.lapic, nr, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "vkvm_lapic_init: %s", why);
	m->v.lapic_ready = true;
	m->v.lapic.opaque = &m->v;
	for (uint32_t i = 0; i < nr; i++) {
		uint32_t svr = 0x1FF;

		m->v.cpus[i].vcpu = m->v.lapic.vcpus[i];
		vkvm_lapic_access(&m->v.lapic, i, APIC_SPIV, true, &svr);
	}
	if (vkvm_dev_ioapic.create(&m->v, &m->ioapic, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "ioapic: %s", why);
	if (vkvm_dev_testdev.create(&m->v, &m->testdev, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "testdev: %s", why);
	return &m->v;
}

static void machine_free(struct machine *m)
{
	vkvm_dev_ioapic.destroy(m->ioapic);
	ASSERT(!m->v.irqchip && !m->v.lapic.eoi);
	vkvm_lapic_fini(&m->v.lapic);
	vkvm_bus_fini(&m->v.bus);
	pthread_mutex_destroy(&m->v.end_lock);
}

static void guest_mmio(struct vkvm *v, uint64_t addr, bool write, uint32_t *val)
{
	enum vkvm_io_ret ret;
	uint8_t data[4];

	memcpy(data, val, 4);
	if (!vkvm_bus_access(&v->bus, VKVM_MMIO, addr, &v->cpus[0], 0, write, data, 4, &ret))
		test_fail(__FILE__, __LINE__, "nothing at 0x%llx", (unsigned long long)addr);
	memcpy(val, data, 4);
}

static void guest_rte(struct vkvm *v, uint32_t pin, uint32_t lo, uint32_t dest)
{
	uint32_t sel = IOAPIC_REG_REDTBL + 2 * pin + 1, hi = dest << 24;

	guest_mmio(v, IOAPIC_BASE + IOAPIC_IOREGSEL, true, &sel);
	guest_mmio(v, IOAPIC_BASE + IOAPIC_IOWIN, true, &hi);
	sel--;
	guest_mmio(v, IOAPIC_BASE + IOAPIC_IOREGSEL, true, &sel);
	guest_mmio(v, IOAPIC_BASE + IOAPIC_IOWIN, true, &lo);
}

static uint32_t guest_rte_lo(struct vkvm *v, uint32_t pin)
{
	uint32_t sel = IOAPIC_REG_REDTBL + 2 * pin, lo = 0;

	guest_mmio(v, IOAPIC_BASE + IOAPIC_IOREGSEL, true, &sel);
	guest_mmio(v, IOAPIC_BASE + IOAPIC_IOWIN, false, &lo);
	return lo;
}

static void guest_out(struct vkvm *v, uint16_t port, uint32_t val, unsigned int size)
{
	enum vkvm_io_ret ret;
	uint8_t data[4];

	memcpy(data, &val, 4);
	if (!vkvm_bus_access(&v->bus, VKVM_PIO, port, &v->cpus[0], 0, true, data, size, &ret))
		test_fail(__FILE__, __LINE__, "nothing at port 0x%x", port);
	ASSERT_EQ(ret, VKVM_IO_DONE);
}

static void guest_eoi(struct vkvm *v, uint32_t idx)
{
	uint32_t zero = 0;

	vkvm_lapic_access(&v->lapic, idx, APIC_EOI, true, &zero);
}

TEST(ioapic_machine_testdev_to_irr_and_eoi_to_remote_irr)
{
	static struct machine m;
	struct vkvm *v = machine_make(&m, 2);

	/* Level, vector 0x55, physical to vCPU 1, raised by testdev line 20. */
	guest_rte(v, 20, (uint32_t)LEVEL | 0x55, 1);
	guest_out(v, 0x2000 + 20, 0x80, 1);	/* any non-zero byte asserts */
	ASSERT(vkvm_lapic_deliverable(&v->lapic, 1));
	ASSERT(!vkvm_lapic_deliverable(&v->lapic, 0));
	ASSERT(guest_rte_lo(v, 20) & RIRR);
	ASSERT_EQ(vkvm_lapic_accept(&v->lapic, 1), 0x55);
	/* The device lets go; the guest's EOI reaches the I/O APIC. */
	guest_out(v, 0x2000 + 20, 0, 1);
	guest_eoi(v, 1);
	ASSERT(!(guest_rte_lo(v, 20) & RIRR));
	ASSERT(!vkvm_lapic_deliverable(&v->lapic, 1));
	/* Held asserted over the EOI: delivered again. */
	guest_out(v, 0x2000 + 20, 1, 1);
	ASSERT_EQ(vkvm_lapic_accept(&v->lapic, 1), 0x55);
	guest_eoi(v, 1);
	ASSERT(guest_rte_lo(v, 20) & RIRR);
	ASSERT_EQ(vkvm_lapic_accept(&v->lapic, 1), 0x55);
	guest_out(v, 0x2000 + 20, 0, 1);
	guest_eoi(v, 1);
	ASSERT(!(guest_rte_lo(v, 20) & RIRR));
	machine_free(&m);
}

TEST(ioapic_machine_testdev_ports)
{
	static struct machine m;
	struct vkvm *v = machine_make(&m, 1);
	enum vkvm_io_ret ret;
	uint8_t data[4] = { 0 };

	guest_rte(v, 0, 0x40, 0);
	guest_rte(v, 23, 0x41, 0);
	/* Only byte writes count; a wider one is dropped like an unclaimed port. */
	guest_out(v, 0x2000, 1, 2);
	ASSERT(!vkvm_lapic_deliverable(&v->lapic, 0));
	ASSERT_EQ(m.r.port_writes, 1);
	guest_out(v, 0x2000 + 23, 1, 1);
	ASSERT_EQ(vkvm_lapic_accept(&v->lapic, 0), 0x41);
	/* Write-only: reads all-ones. */
	ASSERT(vkvm_bus_access(&v->bus, VKVM_PIO, 0x2000, &v->cpus[0], 0, false, data, 1, &ret));
	ASSERT_EQ(data[0], 0xFF);
	ASSERT_EQ(m.r.port_reads, 1);
	/* Past the 24th line: not the device's. */
	ASSERT(!vkvm_bus_access(&v->bus, VKVM_PIO, 0x2000 + 24, &v->cpus[0], 0, true, data, 1,
				&ret));
	/* A second controller for the lines is refused. */
	ASSERT_EQ(vkvm_irq_set_chip(v, v->irqchip, NULL), -EBUSY);
	/* Lines past the controller's, or with none, are dropped. */
	vkvm_irq_line(v, 24, true);
	machine_free(&m);
	vkvm_irq_line(v, 1, true);
}

TEST(ioapic_machine_window)
{
	static struct machine m;
	struct vkvm *v = machine_make(&m, 1);
	uint32_t val = IOAPIC_REG_VER;
	struct vkvm_range r;

	ASSERT(vkvm_bus_lookup(&v->bus, VKVM_MMIO, IOAPIC_BASE, 4, 0, &r));
	ASSERT_EQ(r.len, IOAPIC_MMIO_SIZE);
	guest_mmio(v, IOAPIC_BASE, true, &val);
	guest_mmio(v, IOAPIC_BASE + IOAPIC_IOWIN, false, &val);
	ASSERT_EQ(val, 0x00170020);
	/* The rest of the page is not the I/O APIC's. */
	ASSERT(!vkvm_bus_lookup(&v->bus, VKVM_MMIO, IOAPIC_BASE + IOAPIC_MMIO_SIZE, 4, 0, &r));
	machine_free(&m);
}
