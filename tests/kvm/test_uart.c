// SPDX-License-Identifier: MIT
/*
 * COM1's 16550A (kvm/devices/serial.c) on a bare machine, without
 * /dev/kvm: the registers driven through the bus as a vCPU's port exits
 * drive them, GSI 4 watched through a recording interrupt controller.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvm/bus.h"
#include "kvm/devices/devices.h"
#include "kvm/devices/serial.h"
#include "kvm/irq.h"
#include "test.h"

#define COM1	0x3f8
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

struct uart {
	struct vkvm v;
	struct vkvm_result r;
	struct vkvm_cpu cpu;
	void *state;
	int pipe[2];
	bool line[24];
	int edges;	/* rising edges of GSI 4 */
};

static void rec_set_line(void *state, uint32_t line, bool level)
{
	struct uart *u = state;

	/* The input test's reader thread sets lines too. */
	if (line == 4 && level && !__atomic_load_n(&u->line[4], __ATOMIC_ACQUIRE))
		u->edges++;
	__atomic_store_n(&u->line[line], level, __ATOMIC_RELEASE);
}

static const struct vkvm_irqchip_ops rec_chip = {
	.name = "record",
	.nr_lines = 24,
	.set_line = rec_set_line,
};

static struct uart *uart_up_input(int in_fd)
{
	static struct uart u;
	char why[128] = "";

	memset(&u, 0, sizeof(u));
	u.v.nr = 1;
	u.v.r = &u.r;
	u.v.kvm_fd = u.v.vm_fd = -1;
	pthread_mutex_init(&u.v.end_lock, NULL);
	vkvm_bus_init(&u.v.bus);
	u.cpu.v = &u.v;
	if (pipe(u.pipe))
		test_fail(__FILE__, __LINE__, "pipe");
	u.v.out_fd = u.pipe[1];
	u.v.has_input = in_fd >= 0;
	u.v.in_fd = in_fd;
	if (vkvm_irq_set_chip(&u.v, &rec_chip, &u))
		test_fail(__FILE__, __LINE__, "irqchip");
	if (vkvm_dev_serial.create(&u.v, &u.state, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "COM1: %s", why);
	return &u;
}

static struct uart *uart_up(void)
{
	return uart_up_input(-1);
}

static void uart_down(struct uart *u)
{
	vkvm_dev_serial.destroy(u->state);
	vkvm_irq_clear_chip(&u->v, u);
	vkvm_bus_fini(&u->v.bus);
	close(u->pipe[0]);
	close(u->pipe[1]);
}

static uint8_t in(struct uart *u, uint16_t port)
{
	enum vkvm_io_ret ret;
	uint8_t data[4] = { 0 };

	if (!vkvm_bus_access(&u->v.bus, VKVM_PIO, port, &u->cpu, 0, false, data, 1, &ret))
		test_fail(__FILE__, __LINE__, "nothing at port 0x%x", port);
	return data[0];
}

static void out(struct uart *u, uint16_t port, uint8_t val)
{
	enum vkvm_io_ret ret;
	uint8_t data[4] = { val };

	if (!vkvm_bus_access(&u->v.bus, VKVM_PIO, port, &u->cpu, 0, true, data, 1, &ret))
		test_fail(__FILE__, __LINE__, "nothing at port 0x%x", port);
}

TEST(uart_reset_state_is_a_16550a)
{
	struct uart *u = uart_up();

	ASSERT_EQ(in(u, IER), 0);
	ASSERT_EQ(in(u, IIR), 0x01);
	ASSERT_EQ(in(u, LCR), 0);
	ASSERT_EQ(in(u, MCR), 0);
	ASSERT_EQ(in(u, LSR), 0x60);
	ASSERT_EQ(in(u, MSR), 0xb0);	/* DCD, DSR, CTS: a terminal, no deltas */
	ASSERT_EQ(in(u, SCR), 0);
	ASSERT_EQ(in(u, RBR), 0);
	ASSERT(!u->line[4]);
	uart_down(u);
}

/* What the Linux 8250 driver's autoconfig reads and writes, in its order. */
TEST(uart_answers_the_8250_probe)
{
	struct uart *u = uart_up();

	/* IER keeps its low nibble only. */
	out(u, IER, 0);
	ASSERT_EQ(in(u, IER), 0);
	out(u, IER, 0xff);
	ASSERT_EQ(in(u, IER), 0x0f);
	out(u, IER, 0);
	/* Scratch. */
	out(u, SCR, 0xa5);
	ASSERT_EQ(in(u, SCR), 0xa5);
	out(u, SCR, 0x5a);
	ASSERT_EQ(in(u, SCR), 0x5a);
	/* Loopback: MCR outputs echo on MSR. */
	out(u, MCR, 0x10);
	in(u, MSR);
	ASSERT_EQ(in(u, MSR) & 0xf0, 0);
	out(u, MCR, 0x1a);	/* LOOP | OUT2 | RTS */
	ASSERT_EQ(in(u, MSR) & 0xf0, 0x90);	/* DCD | CTS */
	out(u, MCR, 0x1f);
	ASSERT_EQ(in(u, MSR) & 0xf0, 0xf0);
	out(u, MCR, 0);
	/* LCR, the divisor latch behind DLAB, MCR. */
	out(u, LCR, 0xbf);
	ASSERT_EQ(in(u, LCR), 0xbf);
	out(u, DLL, 0x0c);
	out(u, DLM, 0x01);
	ASSERT_EQ(in(u, DLL), 0x0c);
	ASSERT_EQ(in(u, DLM), 0x01);
	out(u, LCR, 0x03);
	ASSERT_EQ(in(u, IER), 0);	/* the divisor never touched IER */
	out(u, MCR, 0x0b);
	ASSERT_EQ(in(u, MCR), 0x0b);
	out(u, MCR, 0xff);
	ASSERT_EQ(in(u, MCR), 0x1f);
	out(u, MCR, 0);
	/* FIFOs on: IIR bits 7:6 = 11, then off again. */
	out(u, FCR, 0x01);
	ASSERT_EQ(in(u, IIR), 0xc1);
	out(u, FCR, 0);
	ASSERT_EQ(in(u, IIR), 0x01);
	ASSERT_EQ(in(u, LSR), 0x60);
	ASSERT_EQ(u->r.serial_bytes, 0);
	uart_down(u);
}

TEST(uart_loopback_feeds_the_receiver_fifo)
{
	struct uart *u = uart_up();
	char buf[8];

	out(u, MCR, 0x10);
	/* No FIFO: one holding register, a second byte overruns it. */
	out(u, THR, 'a');
	ASSERT_EQ(in(u, LSR), 0x61);
	out(u, THR, 'b');
	ASSERT_EQ(in(u, LSR), 0x63);	/* DR | OE */
	ASSERT_EQ(in(u, LSR), 0x61);	/* OE clears on read */
	ASSERT_EQ(in(u, RBR), 'b');	/* the 16450 register was overwritten */
	ASSERT_EQ(in(u, LSR), 0x60);
	/* FIFO: 16 bytes in order, the 17th lost and OE set. */
	out(u, FCR, 0x07);
	for (int i = 0; i < 17; i++)
		out(u, THR, (uint8_t)('A' + i));
	ASSERT_EQ(in(u, LSR), 0x63);
	for (int i = 0; i < 16; i++)
		ASSERT_EQ(in(u, RBR), 'A' + i);
	ASSERT_EQ(in(u, LSR), 0x60);
	/* FCR clear-RX empties it; so does turning the FIFOs off. */
	out(u, THR, 'x');
	out(u, FCR, 0x03);
	ASSERT_EQ(in(u, LSR), 0x60);
	out(u, THR, 'y');
	out(u, FCR, 0x00);
	ASSERT_EQ(in(u, LSR), 0x60);
	/* Host input is refused in loopback. */
	ASSERT_EQ(serial_rx(u->state, (const uint8_t *)"z", 1), 0);
	/* Nothing reached the output. */
	out(u, MCR, 0);
	out(u, THR, '\n');
	ASSERT_EQ(read(u->pipe[0], buf, sizeof(buf)), 1);
	ASSERT_EQ(u->r.serial_bytes, 1);
	uart_down(u);
}

TEST(uart_fifo_trigger_levels_and_timeout_in_iir)
{
	static const uint8_t data[14] = "0123456789abcd";
	struct uart *u = uart_up();

	out(u, IER, 0x01);	/* ERBFI */
	out(u, FCR, 0x41);	/* FIFO, trigger 4 */
	ASSERT_EQ(serial_rx(u->state, data, 3), 3);
	ASSERT_EQ(in(u, IIR), 0xcc);	/* below the trigger: character timeout */
	ASSERT_EQ(serial_rx(u->state, data + 3, 1), 1);
	ASSERT_EQ(in(u, IIR), 0xc4);	/* at the trigger: data available */
	ASSERT_EQ(in(u, RBR), '0');
	ASSERT_EQ(in(u, IIR), 0xcc);
	out(u, FCR, 0xc3);	/* trigger 14, RX cleared */
	ASSERT_EQ(in(u, IIR), 0xc1);
	/* The FIFO takes 16; the host keeps the rest. */
	ASSERT_EQ(serial_rx(u->state, data, 14), 14);
	ASSERT_EQ(in(u, IIR), 0xc4);
	ASSERT_EQ(serial_rx(u->state, data, 14), 2);
	ASSERT_EQ(in(u, LSR), 0x61);	/* no overrun from the host */
	out(u, FCR, 0x81);	/* trigger 8 */
	ASSERT_EQ(in(u, IIR), 0xc4);
	/* Without FIFOs: one byte at a time. */
	out(u, FCR, 0);
	ASSERT_EQ(serial_rx(u->state, data, 5), 1);
	ASSERT_EQ(in(u, IIR), 0x04);
	ASSERT_EQ(in(u, RBR), '0');
	ASSERT_EQ(in(u, IIR), 0x01);
	/* Data is there but ERBFI is off: no interrupt. */
	ASSERT_EQ(serial_rx(u->state, data, 1), 1);
	out(u, IER, 0);
	ASSERT_EQ(in(u, IIR), 0x01);
	uart_down(u);
}

TEST(uart_thre_interrupt_on_gsi4_gated_by_out2)
{
	struct uart *u = uart_up();
	char buf[8];

	/* ETBEI with THR empty: THRE pending at once; no OUT2, no line. */
	out(u, IER, 0x02);
	ASSERT(!u->line[4]);
	out(u, MCR, 0x08);	/* OUT2 */
	ASSERT(u->line[4]);
	ASSERT_EQ(u->edges, 1);
	/* Reading IIR that reports THRE clears it. */
	ASSERT_EQ(in(u, IIR), 0x02);
	ASSERT(!u->line[4]);
	ASSERT_EQ(in(u, IIR), 0x01);
	/* Each THR write empties at once: one edge per byte. */
	out(u, THR, 'h');
	ASSERT(u->line[4]);
	ASSERT_EQ(u->edges, 2);
	out(u, THR, 'i');
	ASSERT_EQ(u->edges, 3);
	out(u, THR, '\n');
	ASSERT_EQ(u->edges, 4);
	ASSERT_EQ(read(u->pipe[0], buf, sizeof(buf)), 3);
	ASSERT(!memcmp(buf, "hi\n", 3));
	/* Turning ETBEI off drops the line; on again raises THRE anew. */
	out(u, IER, 0);
	ASSERT(!u->line[4]);
	out(u, IER, 0x02);
	ASSERT(u->line[4]);
	ASSERT_EQ(u->edges, 5);
	/* OUT2 off gates it. */
	out(u, MCR, 0);
	ASSERT(!u->line[4]);
	out(u, MCR, 0x08);
	ASSERT(u->line[4]);
	/* Loopback keeps the interrupt inside the chip. */
	out(u, MCR, 0x18);
	ASSERT(!u->line[4]);
	out(u, MCR, 0x08);
	/* Received data outranks THRE. */
	out(u, IER, 0x03);
	ASSERT_EQ(serial_rx(u->state, (const uint8_t *)"k", 1), 1);
	ASSERT_EQ(in(u, IIR), 0x04);
	ASSERT(u->line[4]);
	ASSERT_EQ(in(u, RBR), 'k');
	ASSERT_EQ(in(u, IIR), 0x02);
	ASSERT(!u->line[4]);
	uart_down(u);
}

TEST(uart_line_status_and_modem_status_interrupts)
{
	struct uart *u = uart_up();

	out(u, MCR, 0x10);
	ASSERT_EQ(in(u, MSR), 0x0b);	/* the terminal's DCD, DSR, CTS fell */
	out(u, IER, 0x0c);	/* ELSI | EDSSI */
	/* Loopback: MCR outputs become MSR inputs, with delta bits. */
	out(u, MCR, 0x13);	/* DTR | RTS */
	ASSERT_EQ(in(u, IIR), 0x00);	/* modem status */
	ASSERT_EQ(in(u, MSR), 0x33);	/* DSR | CTS, DDSR | DCTS */
	ASSERT_EQ(in(u, IIR), 0x01);	/* read MSR cleared it */
	out(u, MCR, 0x14);	/* OUT1 -> RI rises: no TERI; DSR and CTS fall */
	ASSERT_EQ(in(u, MSR), 0x43);
	out(u, MCR, 0x18);	/* RI falls (TERI), DCD rises */
	ASSERT_EQ(in(u, MSR), 0x8c);
	ASSERT_EQ(in(u, MSR), 0x80);
	/* An overrun is a line status interrupt, above everything else. */
	out(u, THR, 1);
	out(u, THR, 2);
	ASSERT_EQ(in(u, IIR), 0x06);
	ASSERT_EQ(in(u, LSR), 0x63);
	ASSERT_EQ(in(u, IIR), 0x01);
	/* Leaving loopback: the terminal's lines again. */
	out(u, MCR, 0);
	ASSERT_EQ(in(u, MSR), 0xb3);	/* DCD stays; DSR, CTS rise */
	ASSERT_EQ(in(u, RBR), 2);
	uart_down(u);
}

/* The LSR until DR is set, for at most about two seconds. */
static uint8_t wait_data(struct uart *u)
{
	struct timespec ms = { 0, 1000000 };
	uint8_t lsr = 0;

	for (int i = 0; i < 2000 && !((lsr = in(u, LSR)) & 0x01); i++)
		nanosleep(&ms, NULL);
	return lsr;
}

TEST(uart_input_fd_feeds_the_receiver_without_overrun)
{
	static const char msg[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	struct uart *u;
	char got[sizeof(msg)] = "";
	int fds[2];
	size_t n = 0;

	ASSERT_OK(pipe(fds));
	u = uart_up_input(fds[0]);
	out(u, FCR, 0x01);
	out(u, IER, 0x01);
	out(u, MCR, 0x08);
	ASSERT_EQ(write(fds[1], msg, sizeof(msg) - 1), (ssize_t)sizeof(msg) - 1);
	/* 36 bytes through a 16-byte FIFO: the host waits for room, loses none. */
	while (n < sizeof(msg) - 1) {
		uint8_t lsr = wait_data(u);

		ASSERT_EQ(lsr & 0x03, 0x01);	/* DR, never OE */
		ASSERT(__atomic_load_n(&u->line[4], __ATOMIC_ACQUIRE));
		while (in(u, LSR) & 0x01 && n < sizeof(got) - 1)
			got[n++] = (char)in(u, RBR);
	}
	ASSERT(!strcmp(got, msg));
	ASSERT(!__atomic_load_n(&u->line[4], __ATOMIC_ACQUIRE));
	/* The end of input leaves the UART as it was; destroy stops the reader. */
	close(fds[1]);
	ASSERT_EQ(in(u, IIR), 0xc1);
	uart_down(u);
	close(fds[0]);
}
