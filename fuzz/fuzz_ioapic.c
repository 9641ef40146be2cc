// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the I/O APIC (kvm/ioapic.c) against a reference model
 * written here from the datasheet, and its messages into the AVIC model.
 *
 * Input: byte 0 picks the bus: bit 7 clear, a fake bus that accepts each
 * message on as many APICs as the input says (0..3); bit 7 set, an AVIC VM
 * of 1..4 vCPUs (bits 1:0), software-enabled, with flat or cluster logical
 * IDs (bit 2), whose EOI hook ends at the I/O APIC (avic_deliver_irq and
 * avic_set_eoi_hook, as the machine wires them).  Then operations, each an
 * opcode byte and its operands (reads past the end give zeros):
 *   MMIO read or write at IOREGSEL, IOWIN, EOIR or any offset of the
 *   window, 1, 2, 4 or 8 bytes; an indirect register written or read
 *   through IOREGSEL and IOWIN (entries mostly, sometimes any register);
 *   an input line set or cleared (pins past the last too); an EOI
 *   broadcast for any vector; on the AVIC bus, a vCPU takes its highest
 *   deliverable vector or writes EOI through the model's access path.
 *
 * Invariants, after every operation:
 *   - every message the I/O APIC sends is the one the reference expects,
 *     in order: the same pin, with the vector, delivery mode, destination,
 *     destination mode and trigger of the entry as the reference holds it,
 *     no shorthand, level asserted; and it sends no message the reference
 *     does not;
 *   - every register reads what the reference says: IOREGSEL 8 bits, ID
 *     and arbitration ID bits 27:24 and equal, version 0x00170020, entries
 *     with only their writable bits and Remote IRR, which only a level
 *     Fixed or Lowest Priority message sets and only a level entry keeps;
 *     Delivery Status 0; a missing
 *     register all-ones; any other offset 0; no byte written past the
 *     access;
 *   - on the AVIC bus: a message is accepted by no more APICs than exist,
 *     Lowest Priority by at most one; no vCPU ever has an IRR or ISR bit
 *     below 16; an EOI reaches the hook only for a vector whose TMR bit is
 *     set.
 * After the input: no page or byte outstanding.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <vintc/amd_defs.h>
#include <vintc/avic.h>
#include <vintc/host.h>
#include <vintc/vlapic.h>
#include <vintc/vm.h>

#include "kvm/ioapic.h"

#define FUZZ_NAME "fuzz_ioapic"
#include "fuzz_util.h"

#define MAX_VCPUS	4
#define MAX_LOG		64

struct sent {
	uint32_t pin;
	struct vlapic_icr msg;
	int accepted;
};

/* The reference: what the datasheet says the chip holds. */
struct ref {
	uint8_t sel, id;
	uint32_t lines;
	uint64_t rte[IOAPIC_NR_PINS];
};

static struct fuzz {
	struct ioapic io;
	struct ref ref;
	struct sent log[MAX_LOG];
	uint32_t n_log, consumed;
	int accept;			/* the fake bus's answer */
	struct vm *vm;			/* the AVIC bus, or NULL */
	struct vcpu *vcpus[MAX_VCPUS];
	uint32_t nr;
} f;

static uint64_t baseline_pages, baseline_bytes;

#define RTE_RW	(GENMASK_ULL(11, 0) | BIT_ULL(13) | BIT_ULL(15) | BIT_ULL(16) | \
		 GENMASK_ULL(63, 56))
#define RTE_RIRR	BIT_ULL(14)
#define RTE_LEVEL	BIT_ULL(15)
#define RTE_MASKED	BIT_ULL(16)

static bool avic_vector_ok(void)
{
	for (uint32_t i = 0; i < f.nr; i++) {
		void *regs = avic_vcpu_backing(f.vcpus[i]);

		if ((*apic_reg(regs, APIC_IRR) & 0xFFFF) || (*apic_reg(regs, APIC_ISR) & 0xFFFF))
			return false;
	}
	return true;
}

static int bus_send(void *opaque, uint32_t pin, const struct vlapic_icr *msg)
{
	int n;

	(void)opaque;
	if (f.vm) {
		n = avic_deliver_irq(f.vm, msg);
		CHECK(n >= 0 && (uint32_t)n <= f.nr, "%d APICs accepted, %u exist", n, f.nr);
		if (msg->delivery_mode == APIC_DM_LOWEST && !(msg->dest == 0xFF && !msg->dest_logical))
			CHECK(n <= 1, "lowest priority accepted by %d", n);
		CHECK(avic_vector_ok(), "a vector below 16 reached IRR or ISR");
	} else {
		n = f.accept;
	}
	CHECK(f.n_log < MAX_LOG, "more than %d messages for one operation", MAX_LOG);
	f.log[f.n_log++] = (struct sent){ .pin = pin, .msg = *msg, .accepted = n };
	return n;
}

/* ---- the reference ------------------------------------------------------- */

static void ref_send(uint32_t pin)
{
	uint64_t e = f.ref.rte[pin];
	const struct sent *s;
	uint64_t dm = (e >> 8) & 7;

	CHECK(f.consumed < f.n_log, "pin %u should have sent (entry 0x%llx)", pin,
	      (unsigned long long)e);
	s = &f.log[f.consumed++];
	CHECK(s->pin == pin, "pin %u sent, pin %u expected", s->pin, pin);
	CHECK(s->msg.vector == (e & 0xFF) && s->msg.delivery_mode == dm &&
	      s->msg.dest == (e >> 56) && s->msg.dest_logical == !!(e & BIT_ULL(11)) &&
	      s->msg.trigger_level == !!(e & RTE_LEVEL) && s->msg.level_assert &&
	      s->msg.shorthand == 0, "pin %u's message does not match entry 0x%llx", pin,
	      (unsigned long long)e);
	if (s->accepted > 0 && (e & RTE_LEVEL) && dm <= 1)
		f.ref.rte[pin] |= RTE_RIRR;
}

static void ref_level_check(uint32_t pin)
{
	uint64_t e = f.ref.rte[pin];

	if ((e & RTE_LEVEL) && (f.ref.lines >> pin & 1) && !(e & RTE_MASKED) && !(e & RTE_RIRR))
		ref_send(pin);
}

static void ref_line(uint32_t pin, bool level)
{
	bool was;

	if (pin >= IOAPIC_NR_PINS)
		return;
	was = f.ref.lines >> pin & 1;
	f.ref.lines = level ? f.ref.lines | 1U << pin : f.ref.lines & ~(1U << pin);
	if (!level)
		return;
	if (f.ref.rte[pin] & RTE_LEVEL)
		ref_level_check(pin);
	else if (!was && !(f.ref.rte[pin] & RTE_MASKED))
		ref_send(pin);
}

static void ref_eoi(uint8_t vector)
{
	for (uint32_t pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		if ((f.ref.rte[pin] & 0xFF) != vector || !(f.ref.rte[pin] & RTE_RIRR))
			continue;
		f.ref.rte[pin] &= ~RTE_RIRR;
		ref_level_check(pin);
	}
}

static void ref_write_reg(uint8_t sel, uint32_t val)
{
	uint32_t pin;
	uint64_t e;

	if (sel == 0) {
		f.ref.id = (val >> 24) & 0xF;
		return;
	}
	if (sel < 0x10 || sel >= 0x10 + 2 * IOAPIC_NR_PINS)
		return;
	pin = (uint32_t)(sel - 0x10) / 2;
	e = f.ref.rte[pin];
	e = sel & 1 ? (e & 0xFFFFFFFFULL) | (uint64_t)val << 32 : (e & ~0xFFFFFFFFULL) | val;
	e = (e & RTE_RW) | (f.ref.rte[pin] & RTE_RIRR);
	if (!(e & RTE_LEVEL))
		e &= ~RTE_RIRR;
	f.ref.rte[pin] = e;
	ref_level_check(pin);
}

static uint32_t ref_read_reg(uint8_t sel)
{
	if (sel == 0 || sel == 2)
		return (uint32_t)f.ref.id << 24;
	if (sel == 1)
		return 0x00170020;
	if (sel < 0x10 || sel >= 0x10 + 2 * IOAPIC_NR_PINS)
		return 0xFFFFFFFFU;
	return sel & 1 ? (uint32_t)(f.ref.rte[(sel - 0x10) / 2] >> 32) :
			 (uint32_t)f.ref.rte[(sel - 0x10) / 2];
}

static void ref_mmio_write(uint64_t off, uint32_t val)
{
	if (off == IOAPIC_IOREGSEL)
		f.ref.sel = (uint8_t)val;
	else if (off == IOAPIC_IOWIN)
		ref_write_reg(f.ref.sel, val);
	else if (off == IOAPIC_EOIR)
		ref_eoi((uint8_t)val);
}

static uint32_t ref_mmio_read(uint64_t off)
{
	if (off == IOAPIC_IOREGSEL)
		return f.ref.sel;
	if (off == IOAPIC_IOWIN)
		return ref_read_reg(f.ref.sel);
	return 0;
}

/* ---- checks ---------------------------------------------------------------- */

static void begin_op(void)
{
	f.n_log = 0;
	f.consumed = 0;
}

static void end_op(const char *op)
{
	CHECK(f.consumed == f.n_log, "%s: %u messages sent, the reference expected %u", op,
	      f.n_log, f.consumed);
}

static void check_state(void)
{
	CHECK(f.io.regsel == f.ref.sel && f.io.id == f.ref.id && f.io.lines == f.ref.lines,
	      "IOREGSEL, ID or lines differ");
	for (uint32_t pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t e = f.io.rte[pin];

		CHECK(e == f.ref.rte[pin], "entry %u: 0x%llx, reference 0x%llx", pin,
		      (unsigned long long)e, (unsigned long long)f.ref.rte[pin]);
		CHECK(!(e & ~(RTE_RW | RTE_RIRR)), "entry %u has reserved or RO bits 0x%llx", pin,
		      (unsigned long long)e);
		/* Set only by a level Fixed or Lowest Priority send; kept while the
		 * entry stays level-triggered, whatever else is rewritten. */
		CHECK(!(e & RTE_RIRR) || (e & RTE_LEVEL), "edge entry %u holds Remote IRR: 0x%llx",
		      pin, (unsigned long long)e);
	}
}

static unsigned int pick_size(uint8_t b)
{
	static const unsigned int sizes[] = { 4, 1, 2, 8 };

	return sizes[b & 3];
}

static uint64_t pick_offset(uint8_t b, uint8_t any)
{
	static const uint64_t offs[] = { IOAPIC_IOREGSEL, IOAPIC_IOWIN, IOAPIC_EOIR };

	if ((b & 3) < 3)
		return offs[b & 3];
	return any % IOAPIC_MMIO_SIZE;
}

static void op_mmio(struct input *in, bool write)
{
	uint8_t b = u8(in);
	uint64_t off = pick_offset(b, u8(in));
	unsigned int size = pick_size(b >> 2);
	uint64_t val = u64(in);
	uint8_t data[16];
	uint32_t v32 = 0, want;

	memset(data, 0xA5, sizeof(data));
	memcpy(data, &val, 8);
	begin_op();
	want = ref_mmio_read(off);
	ioapic_mmio(&f.io, off, write, data, size);
	if (write) {
		memcpy(&v32, &val, size < 4 ? size : 4);
		ref_mmio_write(off, v32);
		end_op("mmio write");
		return;
	}
	end_op("mmio read");
	memcpy(&v32, data, size < 4 ? size : 4);
	if (size < 4)
		want &= (1U << (8 * size)) - 1;
	CHECK(v32 == want, "read 0x%llx (%u bytes): 0x%x, reference 0x%x",
	      (unsigned long long)off, size, v32, want);
	if (size == 8)
		CHECK(!data[4] && !data[5] && !data[6] && !data[7], "8-byte read not zero-extended");
	for (unsigned int i = size; i < sizeof(data); i++)
		CHECK(data[i] == (i < 8 ? (uint8_t)(val >> (8 * i)) : 0xA5),
		      "read wrote past its %u bytes", size);
}

/* An indirect register through the window, as a guest does. */
static void op_reg(struct input *in, bool write)
{
	uint8_t b = u8(in);
	uint8_t sel = b & 0x80 ? u8(in) : (uint8_t)(0x10 + (b % (2 * IOAPIC_NR_PINS + 2)));
	uint32_t val = u32(in), got;
	uint8_t data[8];

	begin_op();
	memcpy(data, &sel, 1);
	memset(data + 1, 0, 7);
	ioapic_mmio(&f.io, IOAPIC_IOREGSEL, true, data, 4);
	ref_mmio_write(IOAPIC_IOREGSEL, sel);
	memcpy(data, &val, 4);
	ioapic_mmio(&f.io, IOAPIC_IOWIN, write, data, 4);
	if (write) {
		ref_mmio_write(IOAPIC_IOWIN, val);
		end_op("register write");
		return;
	}
	end_op("register read");
	memcpy(&got, data, 4);
	CHECK(got == ref_read_reg(sel), "register 0x%x: 0x%x, reference 0x%x", sel, got,
	      ref_read_reg(sel));
}

static void op_line(struct input *in)
{
	uint8_t b = u8(in);
	uint32_t pin = b & 0x1F;

	if (b & 0x40)
		pin = u32(in);	/* anything, far past the last pin too */
	begin_op();
	ioapic_set_line(&f.io, pin, b & 0x20);
	ref_line(pin, b & 0x20);
	end_op("line");
}

static void op_eoi(struct input *in)
{
	uint8_t vector = u8(in);

	begin_op();
	ioapic_eoi(&f.io, vector);
	ref_eoi(vector);
	end_op("eoi");
}

/* The local APIC's EOI broadcast, as the machine routes it. */
static void hook_eoi(struct vcpu *vcpu, uint8_t vector, void *opaque)
{
	void *regs = avic_vcpu_backing(vcpu);

	(void)opaque;
	CHECK(*apic_reg(regs, APIC_VECTOR_WORD(APIC_TMR, vector)) & (1U << APIC_VECTOR_BIT(vector)),
	      "EOI of 0x%x broadcast without its TMR bit", vector);
	ioapic_eoi(&f.io, vector);
	ref_eoi(vector);
}

static void op_vcpu(struct input *in)
{
	uint8_t b = u8(in);
	struct vcpu *vcpu;
	uint32_t zero = 0;
	int vec;

	if (!f.vm)
		return;
	vcpu = f.vcpus[(b & 0x7F) % f.nr];
	begin_op();
	if (b & 0x80) {
		CHECK(avic_apic_access(vcpu, APIC_EOI, true, &zero) == 0, "EOI refused");
		end_op("local EOI");
	} else {
		vec = vlapic_accept(avic_vcpu_backing(vcpu));
		CHECK(vec < 0 || vec >= 16, "accepted vector %d", vec);
		end_op("accept");
	}
	CHECK(avic_vector_ok(), "a vector below 16 reached IRR or ISR");
}

static void setup(uint8_t mode)
{
	memset(&f, 0, sizeof(f));
	ioapic_init(&f.io, bus_send, NULL);
	for (uint32_t pin = 0; pin < IOAPIC_NR_PINS; pin++)
		f.ref.rte[pin] = RTE_MASKED;
	f.accept = 1;
	if (!(mode & 0x80))
		return;
	{
		struct vm_config cfg = {
			.arch = VM_ARCH_AVIC,
			.max_vcpus = MAX_VCPUS,
			.max_vcpu_ids = MAX_VCPUS,
			.avic.model = AVIC_MODEL_X2AVIC,
		};

		if (vm_create(&cfg, &f.vm))
			abort();
	}
	avic_set_eoi_hook(f.vm, hook_eoi, NULL);
	f.nr = (mode & 3) + 1;
	for (uint32_t i = 0; i < f.nr; i++) {
		void *regs;

		if (vcpu_create(f.vm, i, &f.vcpus[i]))
			abort();
		regs = avic_vcpu_backing(f.vcpus[i]);
		vlapic_reset(regs, i);
		vlapic_write_svr(regs, 0x1FF);
		if (mode & 4) {
			*apic_reg(regs, APIC_DFR) = 0x0FFFFFFFU;
			*apic_reg(regs, APIC_LDR) = ((i / 2) << 4 | 1U << (i % 2)) << 24;
		} else {
			*apic_reg(regs, APIC_LDR) = (1U << i) << 24;
		}
		avic_handle_ldr_update(f.vcpus[i]);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct host_mem_stats st;

	(void)argc;
	(void)argv;
	/* One VM first: process-wide state (the VM ID space) is made once. */
	setup(0x80);
	vm_destroy(f.vm);
	st = host_mem_stats(HOST_TAG_NR);
	baseline_pages = st.pages;
	baseline_bytes = st.bytes;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct host_mem_stats st;

	setup(u8(&in));
	while (in.n) {
		uint8_t op = u8(&in);

		switch (op % 8) {
		case 0: op_mmio(&in, false); break;
		case 1: op_mmio(&in, true); break;
		case 2: op_reg(&in, true); break;
		case 3: op_reg(&in, false); break;
		case 4: op_line(&in); break;
		case 5: op_eoi(&in); break;
		case 6: op_vcpu(&in); break;
		case 7: f.accept = u8(&in) % 4; break;
		}
		check_state();
	}
	if (f.vm)
		vm_destroy(f.vm);
	st = host_mem_stats(HOST_TAG_NR);
	CHECK(st.pages == baseline_pages && st.bytes == baseline_bytes,
	      "%llu pages, %llu bytes outstanding", (unsigned long long)(st.pages - baseline_pages),
	      (unsigned long long)(st.bytes - baseline_bytes));
	return 0;
}
