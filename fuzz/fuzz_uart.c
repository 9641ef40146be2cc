// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: COM1's 16550A (kvm/devices/serial.c) as port I/O on a
 * bare machine (no /dev/kvm), with GSI 4 recorded by a stand-in interrupt
 * controller, and bytes from the host (serial_rx) between accesses.
 *
 * Input: operations of two bytes each (zeros past the end): an opcode and
 * a value.  Opcode bits 2:0 pick the register (0x3F8 + n), bit 3 a write;
 * with bit 4 set the operation is instead value & 31 host bytes (the
 * value itself, then +1 ...) offered to the receiver.
 *
 * A small model of the chip kept here, independently of the device, is
 * the oracle.  Invariants (abort on violation):
 *   - every register reads what the model says: RBR the oldest received
 *     byte (0 when empty), IER its low nibble, IIR the highest-priority
 *     enabled interrupt (line status, received data or character timeout
 *     by the trigger level, THR empty, modem status) with bits 7:6 = 11
 *     exactly when the FIFOs are on, LCR, MCR bits 4:0, LSR (DR, OE,
 *     THRE | TEMT always), MSR with its delta bits, SCR, DLL/DLM behind
 *     DLAB;
 *   - the receiver holds at most 16 bytes with FIFOs on and 1 without;
 *     the host is never refused room that is there, nor given room that
 *     is not (and none in loopback);
 *   - GSI 4 is high exactly when an enabled interrupt is pending, OUT2 is
 *     set and loopback is not;
 *   - bytes sent outside loopback are counted in serial_bytes.
 * After the input: the device is destroyed, leaking nothing (LSan).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kvm/bus.h"
#include "kvm/devices/devices.h"
#include "kvm/devices/serial.h"
#include "kvm/irq.h"

#define FUZZ_NAME "fuzz_uart"
#include "fuzz_util.h"

struct model {
	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool thri;
	uint8_t rx[16], head, count;
	uint64_t sent;
};

static struct vkvm v;
static struct vkvm_result r;
static struct vkvm_cpu cpu;
static bool line4;

static void rec_set_line(void *state, uint32_t line, bool level)
{
	(void)state;
	CHECK(line == 4, "line %u", line);
	CHECK(level != line4, "line 4 set to %d twice", level);
	line4 = level;
}

static const struct vkvm_irqchip_ops rec_chip = {
	.name = "record",
	.nr_lines = 24,
	.set_line = rec_set_line,
};

static uint8_t model_lines(uint8_t mcr)
{
	if (!(mcr & 0x10))
		return 0xb0;
	return (uint8_t)((mcr & 1 ? 0x20 : 0) | (mcr & 2 ? 0x10 : 0) | (mcr & 4 ? 0x40 : 0) |
			 (mcr & 8 ? 0x80 : 0));
}

static void model_msr(struct model *m, uint8_t lines)
{
	uint8_t d = (m->msr ^ lines) & 0xf0, deltas = m->msr & 0x0f;

	deltas |= (uint8_t)((d & 0x10 ? 1 : 0) | (d & 0x20 ? 2 : 0) |
			    ((d & 0x40) && !(lines & 0x40) ? 4 : 0) | (d & 0x80 ? 8 : 0));
	m->msr = (uint8_t)(lines | deltas);
}

static unsigned int model_cap(const struct model *m)
{
	return (m->fcr & 1) ? 16 : 1;
}

static void model_receive(struct model *m, uint8_t ch)
{
	if (m->count == model_cap(m)) {
		m->lsr |= 0x02;
		if (!(m->fcr & 1))
			m->rx[m->head] = ch;
		return;
	}
	m->rx[(m->head + m->count) % 16] = ch;
	m->count++;
}

static uint8_t model_iir(const struct model *m)
{
	static const uint8_t trig[4] = { 1, 4, 8, 14 };

	if ((m->ier & 4) && (m->lsr & 0x1e))
		return 0x06;
	if ((m->ier & 1) && m->count)
		return (m->fcr & 1) && m->count < trig[m->fcr >> 6] ? 0x0c : 0x04;
	if ((m->ier & 2) && m->thri)
		return 0x02;
	if ((m->ier & 8) && (m->msr & 0x0f))
		return 0x00;
	return 0x01;
}

static void model_write(struct model *m, unsigned int reg, uint8_t val)
{
	bool dlab = m->lcr & 0x80;

	switch (reg) {
	case 0:
		if (dlab) {
			m->dll = val;
			break;
		}
		if (m->mcr & 0x10)
			model_receive(m, val);
		else
			m->sent++;
		m->thri = true;
		break;
	case 1:
		if (dlab) {
			m->dlm = val;
			break;
		}
		if ((val & 2) && !(m->ier & 2))
			m->thri = true;
		m->ier = val & 0x0f;
		break;
	case 2:
		if ((val ^ m->fcr) & 1 || ((val & 1) && (val & 2)))
			m->head = m->count = 0;
		m->fcr = (val & 1) ? val & 0xc9 : 0;
		break;
	case 3:
		m->lcr = val;
		break;
	case 4:
		m->mcr = val & 0x1f;
		model_msr(m, model_lines(m->mcr));
		break;
	case 7:
		m->scr = val;
		break;
	}
}

static uint8_t model_read(struct model *m, unsigned int reg)
{
	bool dlab = m->lcr & 0x80;
	uint8_t val;

	switch (reg) {
	case 0:
		if (dlab)
			return m->dll;
		if (!m->count)
			return 0;
		val = m->rx[m->head];
		m->head = (uint8_t)((m->head + 1) % 16);
		m->count--;
		return val;
	case 1:
		return dlab ? m->dlm : m->ier;
	case 2:
		val = model_iir(m);
		if (val == 0x02)
			m->thri = false;
		return (uint8_t)(val | ((m->fcr & 1) ? 0xc0 : 0));
	case 3:
		return m->lcr;
	case 4:
		return m->mcr;
	case 5:
		val = (uint8_t)(m->lsr | 0x60 | (m->count ? 1 : 0));
		m->lsr = 0;
		return val;
	case 6:
		val = m->msr;
		m->msr &= 0xf0;
		return val;
	default:
		return m->scr;
	}
}

static void host_input(void *state, struct model *m, uint8_t val)
{
	uint8_t buf[31];
	unsigned int n = val & 31, room, want;
	int got;

	for (unsigned int i = 0; i < n; i++)
		buf[i] = (uint8_t)(val + i);
	room = (m->mcr & 0x10) ? 0 : model_cap(m) - m->count;
	want = n < room ? n : room;
	got = serial_rx(state, buf, n);
	CHECK(got >= 0 && (unsigned int)got == want, "host gave %u, took %d, model %u", n, got,
	      want);
	for (unsigned int i = 0; i < want; i++)
		model_receive(m, buf[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct model m = { .msr = 0xb0 };
	void *state;
	char why[128];

	memset(&v, 0, sizeof(v));
	memset(&r, 0, sizeof(r));
	memset(&cpu, 0, sizeof(cpu));
	v.nr = 1;
	v.r = &r;
	v.kvm_fd = v.vm_fd = v.out_fd = -1;
	cpu.v = &v;
	line4 = false;
	vkvm_bus_init(&v.bus);
	CHECK(!vkvm_irq_set_chip(&v, &rec_chip, NULL), "irqchip");
	CHECK(!vkvm_dev_serial.create(&v, &state, why, sizeof(why)), "COM1: %s", why);
	while (in.n) {
		uint8_t op = u8(&in), val = u8(&in);
		unsigned int reg = op & 7;
		enum vkvm_io_ret ret;
		uint8_t buf[4] = { val, 0, 0, 0 };
		bool want;

		if (op & 0x10) {
			host_input(state, &m, val);
		} else if (op & 8) {
			CHECK(vkvm_bus_access(&v.bus, VKVM_PIO, 0x3f8 + reg, &cpu, 0, true, buf, 1,
					      &ret), "write 0x%x", 0x3f8 + reg);
			model_write(&m, reg, val);
		} else {
			uint8_t expect = model_read(&m, reg);

			CHECK(vkvm_bus_access(&v.bus, VKVM_PIO, 0x3f8 + reg, &cpu, 0, false, buf, 1,
					      &ret), "read 0x%x", 0x3f8 + reg);
			CHECK(buf[0] == expect, "reg %u (lcr 0x%02x mcr 0x%02x fcr 0x%02x): 0x%02x, "
			      "model 0x%02x", reg, m.lcr, m.mcr, m.fcr, buf[0], expect);
		}
		CHECK(m.count <= model_cap(&m), "model count %u", m.count);
		want = model_iir(&m) != 0x01 && (m.mcr & 0x08) && !(m.mcr & 0x10);
		CHECK(line4 == want, "gsi 4 %d, model %d (iir 0x%02x mcr 0x%02x)", line4, want,
		      model_iir(&m), m.mcr);
		CHECK(r.serial_bytes == m.sent, "sent %llu, model %llu",
		      (unsigned long long)r.serial_bytes, (unsigned long long)m.sent);
	}
	vkvm_dev_serial.destroy(state);
	vkvm_irq_clear_chip(&v, NULL);
	vkvm_bus_fini(&v.bus);
	return 0;
}
