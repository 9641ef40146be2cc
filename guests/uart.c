// SPDX-License-Identifier: MIT
/*
 * uart: COM1 as a 16550A, the way an OS driver finds and uses it.
 *
 * - The probe an 8250 driver makes: IER keeps its low nibble, SCR reads
 *   back, IIR reads 0x01 with nothing pending, loopback echoes MCR on
 *   MSR, LCR and the divisor latch (DLAB) read back, MCR keeps bits 4:0,
 *   FIFOs on give IIR bits 7:6 = 11 (a 16550A), LSR reads 0x60.
 * - Loopback: THR feeds RBR (a 16450 holding register, then a 16-byte
 *   FIFO), overrun, FIFO clear, the receive trigger levels in IIR, the
 *   modem status delta bits.
 * - Interrupt-driven transmit through I/O APIC pin 4: OUT2 and ETBEI,
 *   each THR-empty interrupt sends the next byte, so one line of output
 *   is written by the handler alone.
 * - With "rx=N" on the command line, only this: N bytes from the host
 *   (vintc's input fd) received by interrupt through the same pin, one
 *   data-available interrupt a byte (no FIFO: bytes the host sends before
 *   the guest is ready would be lost when the FIFOs are switched on), and
 *   printed back in one PASS line.
 *
 * While in loopback nothing is printed (it would loop back): results are
 * kept and reported after.
 */
#include "guest.h"

#define IOAPIC		0xFEC00000U
#define REG_RTE(pin)	(0x10 + 2 * (pin))
#define RTE_MASK	(1U << 16)
#define COM1_PIN	4
#define V_COM1		0x44

#define RBR	(COM1 + 0)
#define THR	(COM1 + 0)
#define DLL	(COM1 + 0)
#define IER	(COM1 + 1)
#define DLM	(COM1 + 1)
#define IIR	(COM1 + 2)
#define FCR	(COM1 + 2)
#define LCR	(COM1 + 3)
#define MCR	(COM1 + 4)
#define LSR	(COM1 + 5)
#define MSR	(COM1 + 6)
#define SCR	(COM1 + 7)

#define MAX_CHECKS	48

static struct {
	const char *what;
	uint32_t got, want;
} results[MAX_CHECKS];
static uint32_t nr_results, failures;

/* Kept now, reported once the UART is out of loopback. */
static void expect(const char *what, uint32_t got, uint32_t want)
{
	if (nr_results < MAX_CHECKS) {
		results[nr_results].what = what;
		results[nr_results].got = got;
		results[nr_results].want = want;
		nr_results++;
	}
}

static void report_all(void)
{
	for (uint32_t i = 0; i < nr_results; i++)
		failures += (uint32_t)report(results[i].got == results[i].want, results[i].what,
					     results[i].got);
	nr_results = 0;
}

static void io_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(IOAPIC + 0x00) = reg;
	*(volatile uint32_t *)(IOAPIC + 0x10) = v;
}

static void test_probe(void)
{
	uint32_t ok;

	outb(IER, 0);
	ok = inb(IER) == 0;
	outb(IER, 0xff);
	ok &= inb(IER) == 0x0f;
	outb(IER, 0);
	expect("uart ier keeps its low nibble", ok, 1);
	outb(SCR, 0xa5);
	ok = inb(SCR) == 0xa5;
	outb(SCR, 0x5a);
	ok &= inb(SCR) == 0x5a;
	expect("uart scratch register", ok, 1);
	expect("uart iir idle", inb(IIR), 0x01);
	outb(MCR, 0x10);
	inb(MSR);
	ok = (inb(MSR) & 0xf0) == 0;
	outb(MCR, 0x1a);
	ok &= (inb(MSR) & 0xf0) == 0x90;
	outb(MCR, 0);
	expect("uart loopback echoes mcr on msr", ok, 1);
	outb(LCR, 0xbf);
	ok = inb(LCR) == 0xbf;
	outb(DLL, 0x01);
	outb(DLM, 0x00);
	ok &= inb(DLL) == 0x01 && inb(DLM) == 0x00;
	outb(LCR, 0x03);
	ok &= inb(LCR) == 0x03 && inb(IER) == 0;
	expect("uart lcr and divisor latch", ok, 1);
	outb(MCR, 0xff);
	ok = inb(MCR) == 0x1f;
	outb(MCR, 0x0b);
	ok &= inb(MCR) == 0x0b;
	outb(MCR, 0);
	expect("uart mcr", ok, 1);
	outb(FCR, 0x07);
	expect("uart is a 16550a", inb(IIR) & 0xc0, 0xc0);
	outb(FCR, 0);
	expect("uart lsr idle", inb(LSR), 0x60);
	report_all();
}

static void test_loopback(void)
{
	uint32_t ok = 1;

	outb(MCR, 0x10);
	inb(MSR);
	/* 16450 mode: one holding register, overwritten on overrun. */
	outb(THR, 'a');
	expect("uart loopback data ready", inb(LSR), 0x61);
	expect("uart loopback byte", inb(RBR), 'a');
	outb(THR, 'b');
	outb(THR, 'c');
	expect("uart overrun", inb(LSR), 0x63);
	expect("uart overrun clears on lsr read", inb(LSR), 0x61);
	expect("uart holding register overwritten", inb(RBR), 'c');
	/* FIFO mode: 16 bytes in order, the 17th lost. */
	outb(FCR, 0x07);
	for (uint32_t i = 0; i < 17; i++)
		outb(THR, (uint8_t)('A' + i));
	expect("uart fifo overrun", inb(LSR), 0x63);
	for (uint32_t i = 0; i < 16; i++)
		ok &= inb(RBR) == 'A' + i;
	expect("uart fifo 16 bytes in order", ok, 1);
	expect("uart fifo empty", inb(LSR), 0x60);
	/* Trigger levels: IIR says timeout below, data available at. */
	outb(IER, 0x01);
	outb(FCR, 0x41);	/* trigger 4 */
	outb(THR, '1');
	outb(THR, '2');
	expect("uart fifo below trigger: timeout", inb(IIR), 0xcc);
	outb(THR, '3');
	outb(THR, '4');
	expect("uart fifo at trigger: data", inb(IIR), 0xc4);
	outb(FCR, 0x43);	/* clear RX */
	expect("uart fifo clear", inb(LSR) | (uint32_t)inb(IIR) << 8, 0xc160);
	outb(IER, 0);
	outb(FCR, 0);
	/* Modem status: the outputs echo with their delta bits. */
	inb(MSR);
	outb(MCR, 0x13);	/* DTR, RTS */
	expect("uart msr deltas", inb(MSR), 0x33);
	expect("uart msr deltas clear on read", inb(MSR), 0x30);
	outb(MCR, 0);
	expect("uart msr terminal after loopback", inb(MSR) & 0xf0, 0xb0);
	report_all();
}

static const char irq_line[] = "PASS uart interrupt-driven transmit\n";
static volatile uint32_t irq_sent, irq_count, irq_bad, rx_count;
static char rx_buf[64];

static void rx_drain(void)
{
	while (inb(LSR) & 0x01) {
		uint8_t ch = inb(RBR);

		if (rx_count < sizeof(rx_buf) - 1)
			rx_buf[rx_count] = (char)ch;
		rx_count++;
	}
}

void irq_handler(uint32_t vector)
{
	uint8_t iir;

	if (vector != V_COM1)
		return;
	irq_count++;
	iir = inb(IIR);
	if ((iir & 0x0f) == 0x04 || (iir & 0x0f) == 0x0c) {
		rx_drain();
	} else if ((iir & 0x0f) != 0x02) {
		irq_bad = iir;
	} else if (irq_line[irq_sent]) {
		outb(THR, (uint8_t)irq_line[irq_sent++]);
	} else {
		outb(IER, 0);	/* done: no more THRE interrupts */
	}
	apic_eoi();
}

static void pin4_setup(void)
{
	/* Both 8259s masked; pin 4 edge, active high, to this CPU. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	cpu_init();
	io_write(REG_RTE(COM1_PIN) + 1, apic_id() << 24);
	io_write(REG_RTE(COM1_PIN), V_COM1);
}

static void test_irq_receive(uint32_t want)
{
	uint32_t done;

	pin4_setup();
	outb(MCR, 0x0b);
	outb(IER, 0x01);	/* ERBFI; a byte already there interrupts at once */
	done = wait_halting(&rx_count, want);
	outb(IER, 0);
	outb(MCR, 0x03);
	io_write(REG_RTE(COM1_PIN), RTE_MASK);
	console_lock();
	puts(done && rx_count == want && !irq_bad ? "PASS" : "FAIL");
	puts(" uart received by interrupt: ");
	for (uint32_t i = 0; i < rx_count && i < sizeof(rx_buf) - 1; i++)
		putc(rx_buf[i] >= ' ' && rx_buf[i] < 0x7f ? rx_buf[i] : '.');
	putc('\n');
	console_unlock();
	failures += !(done && rx_count == want && !irq_bad);
}

/* N from " rx=N" on the command line, 0 without. */
static uint32_t rx_wanted(uint32_t info)
{
	const struct mb_info *mbi = (const struct mb_info *)info;
	const char *p;
	uint32_t n = 0;

	if (!(mbi->flags & MB_INFO_CMDLINE))
		return 0;
	for (p = (const char *)mbi->cmdline; *p; p++)
		if (p[0] == ' ' && p[1] == 'r' && p[2] == 'x' && p[3] == '=')
			break;
	if (!*p)
		return 0;
	for (p += 4; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (uint32_t)(*p - '0');
	return n;
}

static void test_irq_transmit(void)
{
	uint32_t n = sizeof(irq_line) - 1, done;

	pin4_setup();
	outb(FCR, 0x07);
	outb(MCR, 0x0b);	/* DTR, RTS, OUT2 (the PC's interrupt gate) */
	outb(IER, 0x02);	/* ETBEI: THR is empty, so at once */
	done = wait_halting(&irq_sent, n);
	/* One more for the last byte's THRE, which turns ETBEI off. */
	wait_halting(&irq_count, n + 1);
	outb(IER, 0);
	outb(MCR, 0x03);
	io_write(REG_RTE(COM1_PIN), RTE_MASK);
	failures += (uint32_t)report(done && irq_count == n + 1 && !irq_bad,
				     "uart one thre interrupt per byte",
				     irq_count | irq_bad << 16);
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t rx = rx_wanted(info);

	(void)magic;
	if (rx) {
		test_irq_receive(rx);
		return (int)failures;
	}
	test_probe();
	test_loopback();
	test_irq_transmit();
	return (int)failures;
}
