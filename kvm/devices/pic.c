// SPDX-License-Identifier: MIT
/*
 * The 8259A pair (master 0x20/0x21, slave 0xA0/0xA1) as a mask stub: the
 * machine routes every interrupt through the local APICs, so the PICs
 * never raise one, but an OS initialises and masks them at boot and may
 * read the mask back.  Kept per chip: the ICW1..ICW4 sequence (ICW1 on the
 * command port starts it and clears the mask; ICW3 only when ICW1.SNGL is
 * clear, ICW4 only when ICW1.IC4 is set), then OCW1 (the mask, IMR) on the
 * data port.  Command-port reads give IRR or ISR (OCW3 selects), both 0.
 *
 * Under both irqchips: --irqchip=kernel splits the irqchip, so KVM has no
 * PIC of its own and these ports exit to us there too.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"

#define PIC_MASTER	0x20
#define PIC_SLAVE	0xa0
#define ICW1_INIT	0x10	/* command-port write with bit 4: ICW1 */
#define ICW1_IC4	0x01
#define ICW1_SNGL	0x02

struct pic_chip {
	uint8_t imr;
	uint8_t icw1;
	uint8_t init_step;	/* 0: initialised; 2, 3, 4: the ICW expected next */
};

struct pic {
	struct vkvm *v;
	pthread_mutex_t lock;
	struct pic_chip chip[2];
};

/* The ICW after `step`, given ICW1: 0 once the sequence is complete. */
static uint8_t pic_next_step(const struct pic_chip *p, uint8_t step)
{
	if (step == 2 && !(p->icw1 & ICW1_SNGL))
		return 3;
	if (step <= 3 && (p->icw1 & ICW1_IC4))
		return 4;
	return 0;
}

static void pic_write(struct pic_chip *p, uint64_t off, uint8_t val)
{
	if (off == 0) {
		if (val & ICW1_INIT) {
			p->icw1 = val;
			p->imr = 0;
			p->init_step = 2;
		}
		/* OCW2 (EOI) and OCW3 (read select): nothing is ever in service. */
		return;
	}
	if (p->init_step)
		p->init_step = pic_next_step(p, p->init_step);
	else
		p->imr = val;
}

static enum vkvm_io_ret pic_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
			       uint8_t *data, unsigned int size, struct pic_chip *p)
{
	struct pic *pic = opaque;

	(void)c;
	pthread_mutex_lock(&pic->lock);
	if (write)
		pic_write(p, off, data[0]);
	else {
		memset(data, 0, size);
		if (off == 1)
			data[0] = p->imr;
	}
	pthread_mutex_unlock(&pic->lock);
	return VKVM_IO_DONE;
}

static enum vkvm_io_ret pic_master_io(void *opaque, struct vkvm_cpu *c, uint64_t off,
				      bool write, uint8_t *data, unsigned int size)
{
	return pic_io(opaque, c, off, write, data, size, &((struct pic *)opaque)->chip[0]);
}

static enum vkvm_io_ret pic_slave_io(void *opaque, struct vkvm_cpu *c, uint64_t off,
				     bool write, uint8_t *data, unsigned int size)
{
	return pic_io(opaque, c, off, write, data, size, &((struct pic *)opaque)->chip[1]);
}

static int pic_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	struct pic *pic = calloc(1, sizeof(*pic));
	int ret;

	if (!pic)
		return vkvm_say(why, why_size, -ENOMEM, "out of memory for the PIC");
	pic->v = v;
	pthread_mutex_init(&pic->lock, NULL);
	ret = vkvm_bus_register(&v->bus, VKVM_PIO, PIC_MASTER, 2, VKVM_BUS_ALL_CPUS,
				pic_master_io, pic, "pic-master");
	if (!ret)
		ret = vkvm_bus_register(&v->bus, VKVM_PIO, PIC_SLAVE, 2, VKVM_BUS_ALL_CPUS,
					pic_slave_io, pic, "pic-slave");
	if (ret) {
		/* The bus is torn down with the machine; only the state is ours. */
		pthread_mutex_destroy(&pic->lock);
		free(pic);
		return vkvm_say(why, why_size, ret, "cannot place the PIC at 0x20/0xa0");
	}
	*state = pic;
	return 0;
}

static void pic_destroy(void *state)
{
	struct pic *pic = state;

	pthread_mutex_destroy(&pic->lock);
	free(pic);
}

const struct vkvm_device vkvm_dev_pic = {
	.name = "pic",
	.irqchip = VKVM_NR_IRQCHIPS,
	.create = pic_create,
	.destroy = pic_destroy,
};
