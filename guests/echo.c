// SPDX-License-Identifier: MIT
/*
 * echo: an interactive console, as a shell uses COM1.  It prints the
 * prompt "echo> " (no newline) and echoes every byte received, by
 * interrupt on I/O APIC pin 4: printable ones as they are, control
 * characters as ^X (Ctrl-C as "^C"), CR or LF as a newline and a new
 * prompt.  Ctrl-D (0x04) prints "^D", then "bye" on a line, and exits
 * with 0.  Nothing else ends it: vintc's --timeout or Ctrl-A x do.
 */
#include "guest.h"

#define IOAPIC		0xFEC00000U
#define REG_RTE(pin)	(0x10 + 2 * (pin))
#define COM1_PIN	4
#define V_COM1		0x44

#define RBR	(COM1 + 0)
#define IER	(COM1 + 1)
#define MCR	(COM1 + 4)
#define LSR	(COM1 + 5)
#define IER_ERBFI	0x01
#define MCR_DTR_RTS_OUT2 0x0b
#define LSR_DR		0x01

#define RING	256U

static volatile uint32_t rx_head;
static uint8_t ring[RING];

static void io_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(IOAPIC + 0x00) = reg;
	*(volatile uint32_t *)(IOAPIC + 0x10) = v;
}

/* Interrupts are on only while main() halts, so the ring never overruns. */
void irq_handler(uint32_t vector)
{
	if (vector != V_COM1)
		return;
	while (inb(LSR) & LSR_DR)
		ring[rx_head++ % RING] = inb(RBR);
	apic_eoi();
}

/* 1: Ctrl-D, the end. */
static int echo(uint8_t ch)
{
	if (ch == '\r' || ch == '\n') {
		puts("\necho> ");
	} else if (ch == 0x04) {
		puts("^D\nbye\n");
		return 1;
	} else if (ch < 0x20 || ch == 0x7f) {
		putc('^');
		putc((char)(ch ^ 0x40));
	} else {
		putc((char)ch);
	}
	return 0;
}

int main(uint32_t magic, uint32_t info)
{
	uint32_t tail = 0;

	(void)magic;
	(void)info;
	/* Both 8259s masked; pin 4 edge, active high, to this CPU. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	cpu_init();
	io_write(REG_RTE(COM1_PIN) + 1, apic_id() << 24);
	io_write(REG_RTE(COM1_PIN), V_COM1);
	outb(MCR, MCR_DTR_RTS_OUT2);
	outb(IER, IER_ERBFI);
	puts("echo> ");
	for (;;) {
		wait_halting(&rx_head, tail + 1);
		while (tail != rx_head)
			if (echo(ring[tail++ % RING]))
				return 0;
	}
}
