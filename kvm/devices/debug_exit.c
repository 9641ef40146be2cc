// SPDX-License-Identifier: MIT
/*
 * isa-debug-exit at port 0xF4 (QEMU's convention): a write of v ends the
 * run with exit status (v << 1) | 1, which no other end can produce.
 * Reads answer all-ones, as an unclaimed port; the range is 4 ports wide
 * so that a 16- or 32-bit OUT to 0xF4 reaches it.
 */
#include <string.h>

#include "devices.h"

#define DEBUG_EXIT_PORT	0xf4

static enum vkvm_io_ret debug_exit_io(void *opaque, struct vkvm_cpu *c, uint64_t off,
				      bool write, uint8_t *data, unsigned int size)
{
	struct vkvm *v = opaque;
	uint32_t val = 0;

	(void)c;
	/* A wide access is taken at 0xF4 only; 0xF5..0xF7 stay unclaimed. */
	if (!write || off) {
		vkvm_count(write ? &v->r->port_writes : &v->r->port_reads);
		if (!write)
			memset(data, 0xff, size);
		return VKVM_IO_DONE;
	}
	for (unsigned int i = 0; i < size && i < 4; i++)
		val |= (uint32_t)data[i] << (8 * i);
	pthread_mutex_lock(&v->end_lock);
	if (!v->ended)
		v->r->debug_exit_value = val;
	pthread_mutex_unlock(&v->end_lock);
	vkvm_end(v, VKVM_END_DEBUG_EXIT, (int)((val << 1) | 1),
		 "guest wrote 0x%x to isa-debug-exit (0xf4): exit status %u", val, (val << 1) | 1);
	return VKVM_IO_END;
}

static int debug_exit_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	int ret = vkvm_bus_register(&v->bus, VKVM_PIO, DEBUG_EXIT_PORT, 4, VKVM_BUS_ALL_CPUS,
				    debug_exit_io, v, "isa-debug-exit");

	*state = NULL;
	if (ret)
		return vkvm_say(why, why_size, ret, "cannot place isa-debug-exit at 0x%x",
				DEBUG_EXIT_PORT);
	return 0;
}

const struct vkvm_device vkvm_dev_debug_exit = {
	.name = "isa-debug-exit",
	.irqchip = VKVM_NR_IRQCHIPS,
	.create = debug_exit_create,
};
