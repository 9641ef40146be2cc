// SPDX-License-Identifier: MIT
/*
 * COM1 at 0x3F8: a 16550A UART, interrupting on GSI 4 (the I/O APIC's
 * pin 4, as on a PC).
 *
 * Every register: RBR/THR, IER, IIR/FCR with 16-byte FIFOs and the
 * receive trigger levels, LCR (DLAB selects DLL/DLM), MCR with loopback,
 * LSR, MSR with its delta bits, SCR.  The line is infinitely fast: a byte
 * written to THR is on the wire at once, so THRE and TEMT read set and
 * the transmitter FIFO is never more than a moment full.  Received bytes
 * (loopback, or serial_rx from the host) wait in the receiver FIFO; in
 * FIFO mode data below the trigger level reports the character timeout
 * at once, since the host hands its bytes over in bursts and the line is
 * idle after each one.
 *
 * Outside loopback the modem inputs read "a terminal is attached" (DCD,
 * DSR, CTS), which never changes.  In loopback the transmitter feeds the
 * receiver and nothing reaches the output, and the four modem control
 * outputs drive the four modem status inputs: DTR -> DSR, RTS -> CTS,
 * OUT1 -> RI, OUT2 -> DCD.
 *
 * The interrupt: an enabled condition pending (receiver line status,
 * received data or timeout, THR empty, modem status), gated by OUT2, as
 * the PC wires the UART's output through it.  Loopback forces the modem
 * control outputs inactive, so no interrupt leaves the chip then.  THRE
 * as an interrupt: pending when THR empties (every THR write, since the
 * byte leaves at once) or when ETBEI is set with THR empty; cleared by an
 * IIR read that reports it, or by a THR write.  The pulse a THR write
 * makes (line down, byte out, line up) is one edge per byte for an
 * edge-triggered pin.
 *
 * Input (when the run has an input fd): a reader thread reads it and hands
 * the bytes to the receiver as it has room, so a guest that reads slowly
 * holds the host back instead of losing bytes to overrun.  It polls a
 * pipe too, which destroy writes to stop it.
 *
 * Output is buffered by line and by vCPU and written under one lock, so
 * two CPUs' lines never interleave and vintc's own output never splits a
 * guest line.  Each vCPU's partial line is flushed when its thread ends,
 * and, when the run has input, by the reader once it has not grown for
 * IDLE_FLUSH_MS: a prompt or the echo of a key must show before its line
 * ends, for whoever types.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "serial.h"
#include "irq.h"

#define COM1_BASE	0x3f8
#define COM1_LEN	8
#define COM1_GSI	4
#define LINE_MAX	4096
#define FIFO_LEN	16
#define RX_RETRY_MS	10	/* receiver full: look again this soon */
#define IDLE_FLUSH_MS	20	/* a partial line as still as this goes out */

/* Register offsets; DLL and DLM where RBR/THR and IER are when LCR.DLAB. */
#define UART_RBR	0	/* read */
#define UART_THR	0	/* write */
#define UART_IER	1
#define UART_IIR	2	/* read */
#define UART_FCR	2	/* write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_ERBFI	0x01	/* received data available */
#define IER_ETBEI	0x02	/* THR empty */
#define IER_ELSI	0x04	/* receiver line status */
#define IER_EDSSI	0x08	/* modem status */
#define IER_MASK	0x0f

#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_CTI		0x0c	/* character timeout */
#define IIR_FIFO	0xc0	/* FIFOs enabled */

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_CLEAR_TX	0x04
#define FCR_DMA		0x08
#define FCR_TRIGGER	0xc0

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define MCR_MASK	0x1f

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_PE		0x04
#define LSR_FE		0x08
#define LSR_BI		0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define LSR_ERRORS	(LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_TERI	0x04
#define MSR_DDCD	0x08
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80
#define MSR_DELTAS	0x0f
#define MSR_ATTACHED	(MSR_DCD | MSR_DSR | MSR_CTS)

static const uint8_t rx_trigger[4] = { 1, 4, 8, 14 };

struct serial_line {
	char buf[LINE_MAX];
	size_t len;
	size_t idle_len;	/* len at the reader's last look */
};

struct serial {
	struct vkvm *v;
	pthread_mutex_t lock;		/* the registers; taken before out_lock */
	pthread_mutex_t out_lock;	/* the output fd */
	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool thri;			/* THRE interrupt pending */
	bool irq;			/* the level last given to GSI 4 */
	uint8_t rx[FIFO_LEN];
	uint8_t rx_head, rx_count;
	/* The reader thread's; wake[1] written once to stop it. */
	bool reading;
	pthread_t reader;
	int wake[2];
	struct serial_line lines[];	/* one per vCPU, under lock */
};

static void serial_flush(struct serial *s, struct serial_line *l)
{
	size_t off = 0;

	pthread_mutex_lock(&s->out_lock);
	while (off < l->len) {
		ssize_t n = write(s->v->out_fd, l->buf + off, l->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* output lost; the guest runs on, as on a real UART */
		off += (size_t)n;
	}
	pthread_mutex_unlock(&s->out_lock);
	l->len = 0;
}

static void serial_putc(struct serial *s, struct serial_line *l, uint8_t ch)
{
	l->buf[l->len++] = (char)ch;
	if (ch == '\n' || l->len == sizeof(l->buf))
		serial_flush(s, l);
}

static bool serial_fifo_on(const struct serial *s)
{
	return s->fcr & FCR_ENABLE;
}

/* The highest-priority enabled interrupt, as IIR bits 3:0. */
static uint8_t serial_pending(const struct serial *s)
{
	if ((s->ier & IER_ELSI) && (s->lsr & LSR_ERRORS))
		return IIR_RLSI;
	if ((s->ier & IER_ERBFI) && s->rx_count) {
		if (serial_fifo_on(s) && s->rx_count < rx_trigger[s->fcr >> 6])
			return IIR_CTI;
		return IIR_RDI;
	}
	if ((s->ier & IER_ETBEI) && s->thri)
		return IIR_THRI;
	if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

/* GSI 4 follows the pending interrupt; called after every state change. */
static void serial_update_irq(struct serial *s)
{
	bool level = serial_pending(s) != IIR_NO_INT && (s->mcr & MCR_OUT2) &&
		     !(s->mcr & MCR_LOOP);

	if (level == s->irq)
		return;
	s->irq = level;
	vkvm_irq_line(s->v, COM1_GSI, level);
}

/* The modem status inputs now read `lines` (bits 7:4); deltas accumulate. */
static void serial_set_msr(struct serial *s, uint8_t lines)
{
	uint8_t changed = (s->msr ^ lines) & 0xf0;

	if (changed & MSR_CTS)
		s->msr |= MSR_DCTS;
	if (changed & MSR_DSR)
		s->msr |= MSR_DDSR;
	if ((changed & MSR_RI) && !(lines & MSR_RI))
		s->msr |= MSR_TERI;	/* trailing edge only */
	if (changed & MSR_DCD)
		s->msr |= MSR_DDCD;
	s->msr = (uint8_t)((s->msr & MSR_DELTAS) | lines);
}

/* The modem inputs as the MCR makes them: looped back, or the terminal. */
static uint8_t serial_modem_lines(uint8_t mcr)
{
	if (!(mcr & MCR_LOOP))
		return MSR_ATTACHED;
	return (uint8_t)(((mcr & MCR_DTR) ? MSR_DSR : 0) | ((mcr & MCR_RTS) ? MSR_CTS : 0) |
			 ((mcr & MCR_OUT1) ? MSR_RI : 0) | ((mcr & MCR_OUT2) ? MSR_DCD : 0));
}

static void serial_rx_clear(struct serial *s)
{
	s->rx_head = s->rx_count = 0;
	s->lsr &= (uint8_t)~LSR_DR;
}

/* A byte arrives at the receiver; the lock is held. */
static void serial_receive(struct serial *s, uint8_t ch)
{
	unsigned int cap = serial_fifo_on(s) ? FIFO_LEN : 1;

	if (s->rx_count == cap) {
		s->lsr |= LSR_OE;
		/* The 16450 holding register is overwritten; a full FIFO keeps its bytes. */
		if (!serial_fifo_on(s))
			s->rx[s->rx_head] = ch;
	} else {
		s->rx[(s->rx_head + s->rx_count) % FIFO_LEN] = ch;
		s->rx_count++;
	}
	s->lsr |= LSR_DR;
}

int serial_rx(void *state, const uint8_t *buf, size_t len)
{
	struct serial *s = state;
	size_t i;

	pthread_mutex_lock(&s->lock);
	/* In loopback the receiver hears only the transmitter. */
	if (s->mcr & MCR_LOOP) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	for (i = 0; i < len && s->rx_count < (serial_fifo_on(s) ? FIFO_LEN : 1); i++)
		serial_receive(s, buf[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return (int)i;
}

static uint8_t serial_read_rbr(struct serial *s)
{
	uint8_t ch;

	if (!s->rx_count)
		return 0;
	ch = s->rx[s->rx_head];
	s->rx_head = (uint8_t)((s->rx_head + 1) % FIFO_LEN);
	if (!--s->rx_count)
		s->lsr &= (uint8_t)~LSR_DR;
	return ch;
}

static uint8_t serial_read_iir(struct serial *s)
{
	uint8_t iir = serial_pending(s);

	if (iir == IIR_THRI)
		s->thri = false;
	return (uint8_t)(iir | (serial_fifo_on(s) ? IIR_FIFO : 0));
}

static void serial_write_ier(struct serial *s, uint8_t val)
{
	val &= IER_MASK;
	/* Enabling ETBEI with THR empty (always, here) raises THRE at once. */
	if ((val & IER_ETBEI) && !(s->ier & IER_ETBEI))
		s->thri = true;
	s->ier = val;
}

static void serial_write_fcr(struct serial *s, uint8_t val)
{
	/* Turning the FIFOs on or off empties them. */
	if ((val ^ s->fcr) & FCR_ENABLE)
		serial_rx_clear(s);
	if (val & FCR_ENABLE) {
		if (val & FCR_CLEAR_RX)
			serial_rx_clear(s);
		/* The transmitter FIFO is always empty: nothing to clear. */
		s->fcr = val & (FCR_ENABLE | FCR_DMA | FCR_TRIGGER);
	} else {
		s->fcr = 0;
	}
}

static void serial_write_mcr(struct serial *s, uint8_t val)
{
	s->mcr = val & MCR_MASK;
	serial_set_msr(s, serial_modem_lines(s->mcr));
}

/* THR: on the wire at once, or (loopback) into the receiver. */
static void serial_write_thr(struct serial *s, struct vkvm_cpu *c, uint8_t ch)
{
	struct vkvm_result *r = s->v->r;

	s->thri = false;
	serial_update_irq(s);
	if (s->mcr & MCR_LOOP) {
		serial_receive(s, ch);
		vkvm_count(&r->serial_other);
	} else if (c) {
		serial_putc(s, &s->lines[c->idx], ch);
		vkvm_count(&r->serial_bytes);
	}
	s->thri = true;
}

static void serial_write(struct serial *s, struct vkvm_cpu *c, uint64_t off, uint8_t val)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (off) {
	case UART_THR:
		if (dlab)
			s->dll = val;
		else
			serial_write_thr(s, c, val);
		break;
	case UART_IER:
		if (dlab)
			s->dlm = val;
		else
			serial_write_ier(s, val);
		break;
	case UART_FCR:
		serial_write_fcr(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		serial_write_mcr(s, val);
		break;
	case UART_SCR:
		s->scr = val;
		break;
	default:
		break;	/* LSR and MSR: factory test registers, writes ignored */
	}
}

static uint8_t serial_read(struct serial *s, uint64_t off)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t val;

	switch (off) {
	case UART_RBR:
		return dlab ? s->dll : serial_read_rbr(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		return serial_read_iir(s);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		val = (uint8_t)(s->lsr | LSR_THRE | LSR_TEMT);
		s->lsr &= (uint8_t)~LSR_ERRORS;
		return val;
	case UART_MSR:
		val = s->msr;
		s->msr &= (uint8_t)~MSR_DELTAS;
		return val;
	default:
		return s->scr;
	}
}

static enum vkvm_io_ret serial_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
				  uint8_t *data, unsigned int size)
{
	struct serial *s = opaque;
	struct vkvm_result *r = s->v->r;

	pthread_mutex_lock(&s->lock);
	if (!write)
		memset(data, 0, size);
	if (write && off == UART_THR && !(s->lcr & LCR_DLAB)) {
		serial_write_thr(s, c, data[0]);
	} else {
		vkvm_count(&r->serial_other);
		if (write)
			serial_write(s, c, off, data[0]);
		else
			data[0] = serial_read(s, off);
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return VKVM_IO_DONE;
}

static uint64_t serial_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The partial lines that did not grow since the last look go out. */
static void serial_flush_idle(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < s->v->nr; i++) {
		struct serial_line *l = &s->lines[i];

		if (l->len && l->len == l->idle_len)
			serial_flush(s, l);
		l->idle_len = l->len;
	}
	pthread_mutex_unlock(&s->lock);
}

static void *serial_reader(void *arg)
{
	struct serial *s = arg;
	uint8_t buf[256];
	size_t len = 0, off = 0;
	bool eof = false;
	uint64_t look = serial_now_ms() + IDLE_FLUSH_MS;
	sigset_t all;

	/* Signals are for the vCPU threads and the main one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = s->wake[0], .events = POLLIN },
			{ .fd = s->v->in_fd, .events = POLLIN },
		};
		bool held = off < len;
		ssize_t n;

		if (poll(p, held || eof ? 1 : 2, held ? RX_RETRY_MS : IDLE_FLUSH_MS) < 0 &&
		    errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (serial_now_ms() >= look) {
			serial_flush_idle(s);
			look = serial_now_ms() + IDLE_FLUSH_MS;
		}
		if (held) {
			off += (size_t)serial_rx(s, buf + off, len - off);
			continue;
		}
		if (eof || !p[1].revents)
			continue;
		n = read(s->v->in_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			eof = true;	/* no more input; the guest runs on */
			continue;
		}
		len = (size_t)n;
		off = (size_t)serial_rx(s, buf, len);
	}
	return NULL;
}

static int serial_input_start(struct serial *s)
{
	int ret;

	if (pipe2(s->wake, O_CLOEXEC))
		return -errno;
	ret = -pthread_create(&s->reader, NULL, serial_reader, s);
	if (ret) {
		close(s->wake[0]);
		close(s->wake[1]);
		return ret;
	}
	s->reading = true;
	return 0;
}

static void serial_input_stop(struct serial *s)
{
	ssize_t n;

	if (!s->reading)
		return;
	do
		n = write(s->wake[1], "", 1);
	while (n < 0 && errno == EINTR);
	pthread_join(s->reader, NULL);
	close(s->wake[0]);
	close(s->wake[1]);
	s->reading = false;
}

static void serial_reset(struct serial *s)
{
	s->ier = s->fcr = s->lcr = s->mcr = s->lsr = s->scr = 0;
	s->dll = s->dlm = 0;
	s->msr = MSR_ATTACHED;
	s->thri = false;
	s->irq = false;
	serial_rx_clear(s);
}

static int serial_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	struct serial *s = calloc(1, sizeof(*s) + v->nr * sizeof(s->lines[0]));
	int ret;

	if (!s)
		return vkvm_say(why, why_size, -ENOMEM, "out of memory for COM1");
	s->v = v;
	serial_reset(s);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->out_lock, NULL);
	ret = vkvm_bus_register(&v->bus, VKVM_PIO, COM1_BASE, COM1_LEN, VKVM_BUS_ALL_CPUS,
				serial_io, s, "COM1");
	if (ret) {
		ret = vkvm_say(why, why_size, ret, "cannot place COM1 at 0x%x", COM1_BASE);
		goto fail;
	}
	/* The bus dies with the failed machine: the range needs no undoing. */
	if (v->has_input) {
		ret = serial_input_start(s);
		if (ret) {
			ret = vkvm_say(why, why_size, ret, "cannot start COM1's input");
			goto fail;
		}
	}
	*state = s;
	return 0;
fail:
	pthread_mutex_destroy(&s->out_lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return ret;
}

static void serial_cpu_exit(void *state, struct vkvm_cpu *c)
{
	struct serial *s = state;

	pthread_mutex_lock(&s->lock);
	serial_flush(s, &s->lines[c->idx]);
	pthread_mutex_unlock(&s->lock);
}

static void serial_destroy(void *state)
{
	struct serial *s = state;

	/*
	 * The reader raises GSI 4 from its own thread: it stops here, before
	 * the I/O APIC goes (devices.h makes COM1 after it, so destroys it
	 * first).
	 */
	serial_input_stop(s);
	pthread_mutex_destroy(&s->out_lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const struct vkvm_device vkvm_dev_serial = {
	.name = "COM1",
	.irqchip = VKVM_NR_IRQCHIPS,
	.create = serial_create,
	.cpu_exit = serial_cpu_exit,
	.destroy = serial_destroy,
};
