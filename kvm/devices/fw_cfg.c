// SPDX-License-Identifier: MIT
/*
 * fw_cfg at 0x510 (selector, 16 bits) and 0x511 (data, one byte per read),
 * QEMU's legacy port interface, with the items the test guests read:
 * the signature "QEMU", the RAM size and the CPU count.  Items are
 * little-endian and read 0 past their end; a selector write restarts.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"

#define FW_CFG_PORT		0x510
#define FW_CFG_SEL		0
#define FW_CFG_DATA		1

/* Item keys (QEMU's numbering). */
#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NB_CPUS		0x05
#define FW_CFG_MAX_CPUS		0x0f

struct fw_cfg {
	struct vkvm *v;
	pthread_mutex_t lock;
	uint16_t key;
	uint32_t off;
};

static uint8_t fw_cfg_byte(const struct fw_cfg *f, uint16_t key, uint32_t off)
{
	uint64_t val;

	switch (key) {
	case FW_CFG_SIGNATURE:
		return off < 4 ? (uint8_t)"QEMU"[off] : 0;
	case FW_CFG_RAM_SIZE:
		val = f->v->ram_size;
		return off < 8 ? (uint8_t)(val >> (8 * off)) : 0;
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS:
		val = f->v->nr;
		return off < 2 ? (uint8_t)(val >> (8 * off)) : 0;
	default:
		return 0;
	}
}

static enum vkvm_io_ret fw_cfg_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
				  uint8_t *data, unsigned int size)
{
	struct fw_cfg *f = opaque;

	(void)c;
	vkvm_count(&f->v->r->fw_cfg);
	pthread_mutex_lock(&f->lock);
	if (off == FW_CFG_SEL && write) {
		f->key = (uint16_t)(data[0] | (size > 1 ? data[1] << 8 : 0));
		f->off = 0;
	} else if (off == FW_CFG_DATA && !write) {
		for (unsigned int i = 0; i < size; i++)
			data[i] = fw_cfg_byte(f, f->key, f->off++);
	} else if (!write) {
		memset(data, 0, size);
	}
	pthread_mutex_unlock(&f->lock);
	return VKVM_IO_DONE;
}

static int fw_cfg_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	struct fw_cfg *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return vkvm_say(why, why_size, -ENOMEM, "out of memory for fw_cfg");
	f->v = v;
	pthread_mutex_init(&f->lock, NULL);
	ret = vkvm_bus_register(&v->bus, VKVM_PIO, FW_CFG_PORT, 2, VKVM_BUS_ALL_CPUS, fw_cfg_io, f,
				"fw_cfg");
	if (ret) {
		pthread_mutex_destroy(&f->lock);
		free(f);
		return vkvm_say(why, why_size, ret, "cannot place fw_cfg at 0x%x", FW_CFG_PORT);
	}
	*state = f;
	return 0;
}

static void fw_cfg_destroy(void *state)
{
	struct fw_cfg *f = state;

	pthread_mutex_destroy(&f->lock);
	free(f);
}

const struct vkvm_device vkvm_dev_fw_cfg = {
	.name = "fw_cfg",
	.irqchip = VKVM_NR_IRQCHIPS,
	.create = fw_cfg_create,
	.destroy = fw_cfg_destroy,
};
