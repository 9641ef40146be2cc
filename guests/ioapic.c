// SPDX-License-Identifier: MIT
/*
 * ioapic: the I/O APIC at 0xFEC00000, driven through its registers and the
 * pc-testdev interrupt lines (a byte to port 0x2000 + n sets GSI n).
 *
 * The same I/O APIC under both irqchips (vintc's, kvm/devices/ioapic.c).
 *
 * Registers: version 0x20 (24 entries, the EOI register), ID (bits 27:24
 * writable), arbitration ID (follows ID, read-only), IOREGSEL, the reset
 * state of every redirection entry (masked) and each writable field read
 * back, Delivery Status and Remote IRR staying read-only.
 *
 * Pins, each counted by the CPU whose handler runs:
 * - edge: a rising edge is one interrupt, a line held high is no second
 *   edge, edges while the vector is pending in IRR merge into one, an edge
 *   while masked is lost, TMR is clear in the handler;
 * - level: Remote IRR set from delivery to EOI, TMR set in the handler, a
 *   line still asserted at EOI is delivered again, assertions while Remote
 *   IRR is set wait for it, a level asserted while masked is delivered on
 *   unmask (and not if lowered first), rewriting the entry as edge clears
 *   Remote IRR;
 * - EOI without the local APIC: through the EOI register, Remote IRR
 *   cleared, and a line still asserted delivered again;
 * - the local APIC's EOI reaches the I/O APIC whatever else the local
 *   APIC does: Remote IRR clear once the handler is done, the pin serves
 *   again;
 * - destinations: physical and logical (flat) to AP 1, a level interrupt
 *   ended by AP 1, lowest priority to both CPUs (each edge taken by
 *   exactly one), an ISA line (GSI 10);
 * - delivery modes: NMI to AP 1, INIT to AP 1 (restarted by a STARTUP).
 * Needs 2 CPUs; with one it prints one SKIP line.
 */
#include "guest.h"

#define TRAMPOLINE	0x8000U
#define SPIN_LIMIT	50000000U
#define WAIT_CYCLES	4000000000ULL	/* about a second or two */
#define SETTLE_CYCLES	4000000ULL	/* a millisecond or two */

#define IOAPIC		0xFEC00000U
#define IOREGSEL	0x00
#define IOWIN		0x10
#define IOEOI		0x40
#define REG_ID		0x00
#define REG_VER		0x01
#define REG_ARB		0x02
#define REG_RTE(pin)	(0x10 + 2 * (pin))

#define RTE_DM_LOWEST	(1U << 8)
#define RTE_DM_NMI	(4U << 8)
#define RTE_DM_INIT	(5U << 8)
#define RTE_LOGICAL	(1U << 11)
#define RTE_DELIVS	(1U << 12)
#define RTE_POLARITY	(1U << 13)
#define RTE_RIRR	(1U << 14)
#define RTE_LEVEL	(1U << 15)
#define RTE_MASK	(1U << 16)

#define TESTDEV_IRQ	0x2000
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_DFR	0x0E0

/* Pins (GSIs) and their vectors (the stubs cover 0x20..0x4F). */
#define PIN_EDGE	16
#define PIN_LEVEL	17
#define PIN_DEOI	18
#define PIN_AP		19
#define PIN_LOWEST	20
#define PIN_NMI		21
#define PIN_INIT	22
#define PIN_AP_LEVEL	23
#define PIN_ISA		10
#define PIN_SPARE	5
#define V_EDGE		0x30
#define V_LEVEL		0x31
#define V_DEOI		0x32
#define V_AP		0x33
#define V_LOWEST	0x34
#define V_ISA		0x35
#define V_AP_LEVEL	0x36

static volatile uint32_t online, hits[2][0x50], nmis[2];
static volatile uint32_t tmr_seen[0x50], rirr_seen[0x50], rirr_after_eoi;
static volatile uint32_t level_lower_at = 1, deoi_mode;
static volatile uint32_t early_eoi;
static uint32_t version, failures;

static void check(int ok, const char *what, uint32_t v)
{
	failures += (uint32_t)report(ok, what, v);
}

/*
 * A check that counts level-triggered deliveries.  Remote IRR holds a
 * level entry from delivery to the EOI, so a vector of a line still
 * asserted cannot be in IRR again inside its own handler, which has not
 * EOIed yet, unless the local APIC sent the EOI to the I/O APIC when it
 * delivered the vector.  This project's test host's KVM (kvm-pvm) does,
 * with its own LAPIC (KVM_EXIT_IOAPIC_EOI before the handler writes EOI),
 * and counts mean nothing there: a SKIP line, which the host test accepts
 * from --irqchip=kernel only.
 */
static void check_level(int ok, const char *what, uint32_t v)
{
	if (!early_eoi) {
		check(ok, what, v);
		return;
	}
	console_lock();
	puts("SKIP ");
	puts(what);
	puts(": the local APIC sends the EOI of a level-triggered vector before its handler does\n");
	console_unlock();
}

static uint32_t irq_save(void)
{
	uint32_t flags;

	__asm__ volatile("pushfl; popl %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static void irq_restore(uint32_t flags)
{
	__asm__ volatile("pushl %0; popfl" : : "r"(flags) : "memory", "cc");
}

/* IOREGSEL then IOWIN: never with an interrupt in between on this CPU. */
static uint32_t io_read(uint32_t reg)
{
	uint32_t f = irq_save(), v;

	*(volatile uint32_t *)(IOAPIC + IOREGSEL) = reg;
	v = *(volatile uint32_t *)(IOAPIC + IOWIN);
	irq_restore(f);
	return v;
}

static void io_write(uint32_t reg, uint32_t v)
{
	uint32_t f = irq_save();

	*(volatile uint32_t *)(IOAPIC + IOREGSEL) = reg;
	*(volatile uint32_t *)(IOAPIC + IOWIN) = v;
	irq_restore(f);
}

static uint32_t rte_lo(uint32_t pin)
{
	return io_read(REG_RTE(pin));
}

/* The destination first: the entry is never live with a stale one. */
static void rte_set(uint32_t pin, uint32_t lo, uint32_t dest)
{
	io_write(REG_RTE(pin) + 1, dest << 24);
	io_write(REG_RTE(pin), lo);
}

static void line(uint32_t pin, int level)
{
	outb(TESTDEV_IRQ + pin, (uint8_t)level);
}

static void pulse(uint32_t pin)
{
	line(pin, 1);
	line(pin, 0);
}

static uint32_t cpu(void)
{
	return apic_id() & 1;
}

static int vector_bit(uint32_t base, uint32_t v)
{
	return (apic_read(base + (v / 32) * 0x10) >> (v % 32)) & 1;
}

/* The other way to end a level interrupt at the I/O APIC: its EOI register. */
static void ioapic_directed_eoi(uint32_t vector)
{
	*(volatile uint32_t *)(IOAPIC + IOEOI) = vector;
}

void irq_handler(uint32_t vector)
{
	uint32_t c = cpu(), n;

	if (vector == 2) {
		nmis[c]++;
		return;
	}
	if (vector >= 0x50)
		return;
	n = ++hits[c][vector];
	tmr_seen[vector] = vector_bit(APIC_TMR, vector);
	switch (vector) {
	case V_LEVEL:
		rirr_seen[vector] = rte_lo(PIN_LEVEL) & RTE_RIRR;
		if (rirr_seen[vector] && vector_bit(APIC_IRR, vector))
			early_eoi = 1;
		if (n >= level_lower_at)
			line(PIN_LEVEL, 0);
		break;
	case V_DEOI:
		rirr_seen[vector] = rte_lo(PIN_DEOI) & RTE_RIRR;
		/* Mode 0: the device is done, then the EOI; mode 1: EOI first. */
		if (deoi_mode == 0 || n > 1)
			line(PIN_DEOI, 0);
		if (n == 1) {
			ioapic_directed_eoi(V_DEOI);
			rirr_after_eoi = rte_lo(PIN_DEOI) & RTE_RIRR;
		}
		break;
	case V_AP_LEVEL:
		if (vector_bit(APIC_IRR, vector))
			early_eoi = 1;
		line(PIN_AP_LEVEL, 0);	/* AP 1 touches no I/O APIC register */
		break;
	}
	apic_write(APIC_EOI, 0);
}

static void ap_main(uint32_t id)
{
	cpu_init();
	apic_write(APIC_DFR, 0xFFFFFFFFU);
	apic_write(APIC_LDR, (1U << id) << 24);
	__atomic_add_fetch(&online, 1, __ATOMIC_RELEASE);
	for (;;)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
}

/*
 * With interrupts on until *c reaches want (at most WAIT_CYCLES), then
 * SETTLE_CYCLES more for a late or extra interrupt to show; the count.
 * Time by the TSC: PAUSE loops exit to the host under nesting.
 */
static uint32_t wait_count(volatile uint32_t *c, uint32_t want)
{
	uint64_t t0 = rdtsc();

	__asm__ volatile("sti");
	while (*c < want && rdtsc() - t0 < WAIT_CYCLES)
		;
	t0 = rdtsc();
	while (rdtsc() - t0 < SETTLE_CYCLES)
		;
	__asm__ volatile("cli");
	return *c;
}

/*
 * Remote IRR of `pin` once it clears (with interrupts on, at most
 * WAIT_CYCLES): an EOI on another vCPU's thread may come late.
 */
static uint32_t wait_rirr_clear(uint32_t pin)
{
	uint64_t t0 = rdtsc();
	uint32_t rirr;

	__asm__ volatile("sti");
	while ((rirr = rte_lo(pin) & RTE_RIRR) && rdtsc() - t0 < WAIT_CYCLES)
		;
	__asm__ volatile("cli");
	return rirr;
}

static void test_registers(void)
{
	uint32_t ok = 1, lo, hi;

	version = io_read(REG_VER);
	puts("ioapic version ");
	put_hex(version);
	puts("\n");
	check(version == 0x00170020, "ioapic version 0x20 24 entries", version);
	io_write(REG_VER, 0);
	check(io_read(REG_VER) == version, "ioapic version read-only", io_read(REG_VER));

	io_write(REG_ID, 0x0A000000);
	check(io_read(REG_ID) == 0x0A000000, "ioapic id", io_read(REG_ID));
	check(io_read(REG_ARB) == 0x0A000000, "ioapic arbitration id follows id", io_read(REG_ARB));
	io_write(REG_ARB, 0x03000000);
	check(io_read(REG_ARB) == 0x0A000000, "ioapic arbitration id read-only", io_read(REG_ARB));
	io_write(REG_ID, 0xFFFFFFFF);
	check(io_read(REG_ID) == 0x0F000000, "ioapic id bits 27:24", io_read(REG_ID));
	io_write(REG_ID, 0);

	*(volatile uint32_t *)(IOAPIC + IOREGSEL) = 0x13;
	check(*(volatile uint32_t *)(IOAPIC + IOREGSEL) == 0x13, "ioapic ioregsel",
	       *(volatile uint32_t *)(IOAPIC + IOREGSEL));

	for (uint32_t pin = 0; pin < 24; pin++)
		if (rte_lo(pin) != RTE_MASK || io_read(REG_RTE(pin) + 1) != 0)
			ok = 0;
	check(ok, "ioapic entries reset masked", rte_lo(0));

	/* Every writable field, and the two read-only bits, which stay 0. */
	lo = 0x45 | RTE_DM_LOWEST | RTE_LOGICAL | RTE_POLARITY | RTE_LEVEL | RTE_MASK;
	rte_set(PIN_SPARE, lo | RTE_DELIVS | RTE_RIRR, 0xAB);
	hi = io_read(REG_RTE(PIN_SPARE) + 1);
	check(rte_lo(PIN_SPARE) == lo && hi == 0xAB000000, "ioapic entry fields read back",
	       rte_lo(PIN_SPARE));
	rte_set(PIN_SPARE, RTE_MASK, 0);
}

static void test_edge(void)
{
	volatile uint32_t *n = &hits[0][V_EDGE];
	uint32_t got;

	rte_set(PIN_EDGE, V_EDGE, 0);
	pulse(PIN_EDGE);
	got = wait_count(n, 1);
	check(got == 1, "ioapic edge", got);
	check(!tmr_seen[V_EDGE], "ioapic edge tmr clear", tmr_seen[V_EDGE]);

	/* Held high: no second edge. */
	*n = 0;
	line(PIN_EDGE, 1);
	wait_count(n, 1);
	line(PIN_EDGE, 1);
	got = wait_count(n, 1);
	check(got == 1, "ioapic edge needs a rising edge", got);
	line(PIN_EDGE, 0);

	/* Pending in IRR (interrupts off): three edges, one interrupt. */
	*n = 0;
	pulse(PIN_EDGE);
	pulse(PIN_EDGE);
	pulse(PIN_EDGE);
	got = vector_bit(APIC_IRR, V_EDGE);
	got |= wait_count(n, 1) << 4;
	check(got == 0x11, "ioapic edge coalesced while pending", got);

	/* Masked: the edge is gone, unmasking brings nothing. */
	*n = 0;
	rte_set(PIN_EDGE, V_EDGE | RTE_MASK, 0);
	pulse(PIN_EDGE);
	rte_set(PIN_EDGE, V_EDGE, 0);
	got = wait_count(n, 0);
	check(got == 0, "ioapic masked edge lost", got);
	rte_set(PIN_EDGE, RTE_MASK, 0);

	rte_set(PIN_ISA, V_ISA, 0);
	pulse(PIN_ISA);
	got = wait_count(&hits[0][V_ISA], 1);
	check(got == 1, "ioapic isa line", got);
	rte_set(PIN_ISA, RTE_MASK, 0);
}

static void test_level(void)
{
	volatile uint32_t *n = &hits[0][V_LEVEL];
	uint32_t got, rirr;

	rte_set(PIN_LEVEL, V_LEVEL | RTE_LEVEL, 0);
	line(PIN_LEVEL, 1);
	got = wait_count(n, 1);
	rirr = rte_lo(PIN_LEVEL) & RTE_RIRR;
	check_level(got == 1 && rirr_seen[V_LEVEL] && !rirr, "ioapic level remote irr until eoi",
		    got | rirr_seen[V_LEVEL] | rirr << 1);
	check(tmr_seen[V_LEVEL], "ioapic level tmr set", tmr_seen[V_LEVEL]);

	/* Still asserted at EOI: delivered again, until the device lets go. */
	*n = 0;
	level_lower_at = 3;
	line(PIN_LEVEL, 1);
	got = wait_count(n, 3);
	check_level(got == 3, "ioapic level redelivered while asserted", got);
	level_lower_at = 1;

	/* Pending (interrupts off): later assertions wait for Remote IRR. */
	*n = 0;
	line(PIN_LEVEL, 1);
	line(PIN_LEVEL, 0);
	line(PIN_LEVEL, 1);
	rirr = rte_lo(PIN_LEVEL) & RTE_RIRR;
	got = wait_count(n, 1);
	rirr |= (rte_lo(PIN_LEVEL) & RTE_RIRR) >> 1;
	check_level(got == 1 && rirr == RTE_RIRR, "ioapic level held by remote irr", got | rirr);

	/* Masked: an asserted level is delivered on unmask, a lowered one not. */
	*n = 0;
	rte_set(PIN_LEVEL, V_LEVEL | RTE_LEVEL | RTE_MASK, 0);
	line(PIN_LEVEL, 1);
	got = wait_count(n, 0);
	check(got == 0, "ioapic masked level held", got);
	rte_set(PIN_LEVEL, V_LEVEL | RTE_LEVEL, 0);
	got = wait_count(n, 1);
	check_level(got == 1, "ioapic masked level delivered on unmask", got);
	*n = 0;
	rte_set(PIN_LEVEL, V_LEVEL | RTE_LEVEL | RTE_MASK, 0);
	line(PIN_LEVEL, 1);
	line(PIN_LEVEL, 0);
	rte_set(PIN_LEVEL, V_LEVEL | RTE_LEVEL, 0);
	got = wait_count(n, 0);
	check(got == 0, "ioapic masked level lowered before unmask", got);

	/* Pending with Remote IRR, rewritten as edge: Remote IRR goes. */
	*n = 0;
	line(PIN_LEVEL, 1);
	rirr = rte_lo(PIN_LEVEL);
	check(rirr & RTE_RIRR, "ioapic level pending remote irr", rirr);
	rte_set(PIN_LEVEL, V_LEVEL | RTE_MASK, 0);
	rirr = rte_lo(PIN_LEVEL);
	check(!(rirr & RTE_RIRR), "ioapic edge write clears remote irr", rirr);
	rte_set(PIN_LEVEL, V_LEVEL | RTE_LEVEL | RTE_MASK, 0);
	got = wait_count(n, 1);
	check_level(got == 1, "ioapic level pending taken", got);
	rte_set(PIN_LEVEL, RTE_MASK, 0);
	line(PIN_LEVEL, 0);
}

static void test_directed_eoi(void)
{
	volatile uint32_t *n = &hits[0][V_DEOI];
	uint32_t got, rirr;

	rte_set(PIN_DEOI, V_DEOI | RTE_LEVEL, 0);
	deoi_mode = 0;
	line(PIN_DEOI, 1);
	got = wait_count(n, 1);
	check_level(got == 1 && rirr_seen[V_DEOI] && !rirr_after_eoi,
		    "ioapic directed eoi clears remote irr", got | rirr_seen[V_DEOI] | rirr_after_eoi << 1);

	/* The line still asserted: the EOI delivers again. */
	deoi_mode = 1;
	*n = 0;
	line(PIN_DEOI, 1);
	got = wait_count(n, 2);
	rirr = rte_lo(PIN_DEOI) & RTE_RIRR;
	check_level(got == 2 && !rirr, "ioapic directed eoi redelivers while asserted", got | rirr);
	rte_set(PIN_DEOI, RTE_MASK, 0);
	line(PIN_DEOI, 0);
}

/*
 * However many times the local APIC delivers, its EOIs must reach the
 * I/O APIC: once the device let go and the handler is done, Remote IRR is
 * clear and the pin serves the next assertion.  Twice, so a first EOI
 * that did not arrive shows as a pin held for good.
 */
static void test_level_eoi(void)
{
	volatile uint32_t *n = &hits[0][V_LEVEL];
	uint32_t got = 0, rirr = 0;

	rte_set(PIN_LEVEL, V_LEVEL | RTE_LEVEL, 0);
	for (uint32_t i = 0; i < 2; i++) {
		*n = 0;
		line(PIN_LEVEL, 1);
		got |= (wait_count(n, 1) ? 1U : 0U) << i;
		rirr |= wait_rirr_clear(PIN_LEVEL);
	}
	check(got == 3 && !rirr, "ioapic level eoi reaches the ioapic", got | rirr);
	rte_set(PIN_LEVEL, RTE_MASK, 0);
	line(PIN_LEVEL, 0);
}

static void test_destinations(void)
{
	uint32_t got, rirr;

	rte_set(PIN_AP, V_AP, 1);
	pulse(PIN_AP);
	got = wait_count(&hits[1][V_AP], 1);
	check(got == 1 && !hits[0][V_AP], "ioapic physical destination", got);
	rte_set(PIN_AP, V_AP | RTE_LOGICAL, 0x02);
	pulse(PIN_AP);
	got = wait_count(&hits[1][V_AP], 2);
	check(got == 2 && !hits[0][V_AP], "ioapic logical destination", got);
	rte_set(PIN_AP, RTE_MASK, 0);

	rte_set(PIN_AP_LEVEL, V_AP_LEVEL | RTE_LEVEL | RTE_LOGICAL, 0x02);
	line(PIN_AP_LEVEL, 1);
	got = wait_count(&hits[1][V_AP_LEVEL], 1);
	rirr = wait_rirr_clear(PIN_AP_LEVEL);
	check_level(got == 1 && !rirr, "ioapic level ended by another cpu", got | rirr);
	rte_set(PIN_AP_LEVEL, RTE_MASK, 0);

	/* Lowest priority to both: every edge is taken by exactly one CPU. */
	rte_set(PIN_LOWEST, V_LOWEST | RTE_DM_LOWEST | RTE_LOGICAL, 0x03);
	for (uint32_t i = 1; i <= 4; i++) {
		pulse(PIN_LOWEST);
		__asm__ volatile("sti");
		for (uint64_t t0 = rdtsc();
		     hits[0][V_LOWEST] + hits[1][V_LOWEST] < i && rdtsc() - t0 < WAIT_CYCLES;)
			;
		__asm__ volatile("cli");
	}
	got = wait_count(&hits[0][V_LOWEST], 0) + hits[1][V_LOWEST];
	check(got == 4, "ioapic lowest priority one cpu each", got);
	rte_set(PIN_LOWEST, RTE_MASK, 0);
}

static void test_modes(void)
{
	uint32_t got;

	rte_set(PIN_NMI, RTE_DM_NMI, 1);
	pulse(PIN_NMI);
	got = wait_count(&nmis[1], 1);
	check(got == 1 && !nmis[0], "ioapic nmi delivery", got);
	rte_set(PIN_NMI, RTE_MASK, 0);

	/* INIT parks AP 1 until a STARTUP, which runs ap_main again. */
	rte_set(PIN_INIT, RTE_DM_INIT, 1);
	pulse(PIN_INIT);
	wait_count(&online, 1);
	apic_send(1, ICR_DM_STARTUP | (TRAMPOLINE >> 12));
	got = wait_count(&online, 2);
	check(got == 2, "ioapic init delivery", got);
	rte_set(PIN_INIT, RTE_MASK, 0);
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t n = fw_cfg_u32(FW_CFG_NB_CPUS) & 0xffff;

	(void)magic;
	(void)info;
	if (n != 2) {
		puts("SKIP ioapic: needs 2 CPUs\n");
		return 0;
	}
	/* Both 8259s masked, as an OS does that uses the I/O APIC. */
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);
	cpu_init();
	apic_write(APIC_DFR, 0xFFFFFFFFU);
	apic_write(APIC_LDR, 1U << 24);
	smp_start_aps(TRAMPOLINE, ap_main);
	for (uint32_t s = 0; online < 1; s++)
		if (s > SPIN_LIMIT) {
			check(0, "ioapic ap online", online);
			return 1;
		}
	test_registers();
	test_edge();
	test_level();
	test_directed_eoi();
	test_level_eoi();
	test_destinations();
	test_modes();
	return (int)failures;
}
