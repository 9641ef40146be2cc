// SPDX-License-Identifier: MIT
/*
 * The interrupt lines of QEMU's pc-testdev, with which test guests raise
 * and lower interrupt lines themselves: 24 one-byte ports at 0x2000 + n,
 * a write of v sets GSI n to asserted when v is not 0 and to deasserted
 * when it is (QEMU sets the line to !!v).  As in QEMU the ports are
 * write-only and take byte accesses only: reads answer all-ones and a
 * wider write is dropped, both counted as for an unclaimed port.  The
 * line goes through the machine (kvm/irq.c), so the same guest runs under
 * either irqchip.
 */
#include <string.h>

#include "devices.h"
#include "irq.h"

#define TESTDEV_IRQ_PORT	0x2000
#define TESTDEV_NR_LINES	VKVM_NR_GSIS

static enum vkvm_io_ret testdev_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
				   uint8_t *data, unsigned int size)
{
	struct vkvm *v = opaque;

	(void)c;
	if (!write || size != 1) {
		vkvm_count(write ? &v->r->port_writes : &v->r->port_reads);
		if (!write)
			memset(data, 0xff, size);
		return VKVM_IO_DONE;
	}
	vkvm_irq_line(v, (uint32_t)off, data[0] != 0);
	return VKVM_IO_DONE;
}

static int testdev_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	int ret = vkvm_bus_register(&v->bus, VKVM_PIO, TESTDEV_IRQ_PORT, TESTDEV_NR_LINES,
				    VKVM_BUS_ALL_CPUS, testdev_io, v, "pc-testdev-irq");

	*state = NULL;
	if (ret)
		return vkvm_say(why, why_size, ret, "cannot place the test device at 0x%x",
				TESTDEV_IRQ_PORT);
	return 0;
}

const struct vkvm_device vkvm_dev_testdev = {
	.name = "pc-testdev",
	.irqchip = VKVM_NR_IRQCHIPS,
	.create = testdev_create,
};
