// SPDX-License-Identifier: MIT
/*
 * COM1 at 0x3F8, as much of a UART as the test guests use: THR writes go
 * to the run's output, LSR reads "transmitter idle" (0x60), LCR is kept
 * (so DLAB hides THR), everything else reads 0 and ignores writes.
 *
 * Output is buffered by line and by vCPU and written under one lock, so
 * two CPUs' lines never interleave and vintc's own output never splits a
 * guest line.  Each vCPU's partial line is flushed when its thread ends.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices.h"

#define COM1_BASE	0x3f8
#define COM1_LEN	8
#define UART_THR	0
#define UART_LCR	3
#define UART_LSR	5
#define LCR_DLAB	0x80
#define LSR_IDLE	0x60	/* THRE | TEMT */
#define LINE_MAX	4096

struct serial_line {
	char buf[LINE_MAX];
	size_t len;
};

struct serial {
	struct vkvm *v;
	pthread_mutex_t lock;		/* LCR and the output fd */
	uint8_t lcr;
	struct serial_line lines[];	/* one per vCPU, touched by its thread only */
};

static void serial_flush(struct serial *s, struct serial_line *l)
{
	size_t off = 0;

	pthread_mutex_lock(&s->lock);
	while (off < l->len) {
		ssize_t n = write(s->v->out_fd, l->buf + off, l->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* output lost; the guest runs on, as on a real UART */
		off += (size_t)n;
	}
	pthread_mutex_unlock(&s->lock);
	l->len = 0;
}

static void serial_putc(struct serial *s, struct serial_line *l, uint8_t ch)
{
	l->buf[l->len++] = (char)ch;
	if (ch == '\n' || l->len == sizeof(l->buf))
		serial_flush(s, l);
}

static enum vkvm_io_ret serial_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
				  uint8_t *data, unsigned int size)
{
	struct serial *s = opaque;
	struct vkvm_result *r = s->v->r;

	pthread_mutex_lock(&s->lock);
	if (write && off == UART_THR && !(s->lcr & LCR_DLAB) && c) {
		pthread_mutex_unlock(&s->lock);
		serial_putc(s, &s->lines[c->idx], data[0]);
		vkvm_count(&r->serial_bytes);
		return VKVM_IO_DONE;
	}
	vkvm_count(&r->serial_other);
	if (write) {
		if (off == UART_LCR)
			s->lcr = data[0];
	} else {
		memset(data, 0, size);
		if (off == UART_LSR)
			data[0] = LSR_IDLE;
		else if (off == UART_LCR)
			data[0] = s->lcr;
	}
	pthread_mutex_unlock(&s->lock);
	return VKVM_IO_DONE;
}

static int serial_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	struct serial *s = calloc(1, sizeof(*s) + v->nr * sizeof(s->lines[0]));
	int ret;

	if (!s)
		return vkvm_say(why, why_size, -ENOMEM, "out of memory for COM1");
	s->v = v;
	pthread_mutex_init(&s->lock, NULL);
	ret = vkvm_bus_register(&v->bus, VKVM_PIO, COM1_BASE, COM1_LEN, VKVM_BUS_ALL_CPUS,
				serial_io, s, "COM1");
	if (ret) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return vkvm_say(why, why_size, ret, "cannot place COM1 at 0x%x", COM1_BASE);
	}
	*state = s;
	return 0;
}

static void serial_cpu_exit(void *state, struct vkvm_cpu *c)
{
	struct serial *s = state;

	serial_flush(s, &s->lines[c->idx]);
}

static void serial_destroy(void *state)
{
	struct serial *s = state;

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
