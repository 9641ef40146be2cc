// SPDX-License-Identifier: MIT
/*
 * fw_cfg at 0x510 (selector, 16 bits) and 0x511 (data, one byte per read),
 * QEMU's legacy port interface, with the items the test guests read:
 * the signature "QEMU", the interface ID (bit 0: this port interface), the
 * RAM size, the CPU count, and the file directory (key 0x19) with one
 * file of vintc's own, in the "opt/" names QEMU leaves to users:
 *
 *   opt/vintc/reboots   key 0x20, 4 bytes little-endian: how many times
 *                       the guest reset the machine before this boot (0
 *                       on the first).  RAM is reloaded at each reboot,
 *                       so this is how a guest learns it was reset.
 *
 * Numbers are little-endian, except in the directory, which is
 * big-endian as QEMU's (a count, then 64-byte entries: size, key, two
 * reserved bytes, a NUL-padded 56-byte name).  Items read 0 past their
 * end and unknown keys read 0; a selector write restarts at byte 0.
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
#define FW_CFG_ID		0x01
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NB_CPUS		0x05
#define FW_CFG_MAX_CPUS		0x0f
#define FW_CFG_FILE_DIR		0x19
#define FW_CFG_FILE_FIRST	0x20

#define FW_CFG_ID_TRADITIONAL	0x01	/* the port interface */
#define FW_CFG_DIR_ENTRY	64
#define FW_CFG_NAME_OFF		8
#define FW_CFG_NAME_SIZE	56

/* The files, in directory order, from key FW_CFG_FILE_FIRST on. */
enum fw_cfg_file {
	FW_CFG_FILE_REBOOTS,
	FW_CFG_NR_FILES
};

static const char *const fw_cfg_file_names[FW_CFG_NR_FILES] = {
	[FW_CFG_FILE_REBOOTS] = "opt/vintc/reboots",
};

static const uint32_t fw_cfg_file_sizes[FW_CFG_NR_FILES] = {
	[FW_CFG_FILE_REBOOTS] = 4,
};

struct fw_cfg {
	struct vkvm *v;
	pthread_mutex_t lock;
	uint16_t key;
	uint32_t off;
};

static uint8_t le_byte(uint64_t val, uint32_t size, uint32_t off)
{
	return off < size ? (uint8_t)(val >> (8 * off)) : 0;
}

static uint8_t be_byte(uint64_t val, uint32_t size, uint32_t off)
{
	return off < size ? (uint8_t)(val >> (8 * (size - 1 - off))) : 0;
}

/* Byte `off` of the directory: a big-endian count, then the entries. */
static uint8_t fw_cfg_dir_byte(uint32_t off)
{
	uint32_t i, at;

	if (off < 4)
		return be_byte(FW_CFG_NR_FILES, 4, off);
	i = (off - 4) / FW_CFG_DIR_ENTRY;
	at = (off - 4) % FW_CFG_DIR_ENTRY;
	if (i >= FW_CFG_NR_FILES)
		return 0;
	if (at < 4)
		return be_byte(fw_cfg_file_sizes[i], 4, at);
	if (at < 6)
		return be_byte(FW_CFG_FILE_FIRST + i, 2, at - 4);
	if (at < FW_CFG_NAME_OFF)
		return 0;
	at -= FW_CFG_NAME_OFF;
	/* Names are shorter than the field: NUL-padded, never cut. */
	return at < strlen(fw_cfg_file_names[i]) ? (uint8_t)fw_cfg_file_names[i][at] : 0;
}

static uint8_t fw_cfg_byte(const struct fw_cfg *f, uint16_t key, uint32_t off)
{
	switch (key) {
	case FW_CFG_SIGNATURE:
		return off < 4 ? (uint8_t)"QEMU"[off] : 0;
	case FW_CFG_ID:
		return le_byte(FW_CFG_ID_TRADITIONAL, 4, off);
	case FW_CFG_FILE_DIR:
		return fw_cfg_dir_byte(off);
	case FW_CFG_FILE_FIRST + FW_CFG_FILE_REBOOTS:
		return le_byte(f->v->r->reboots, 4, off);
	case FW_CFG_RAM_SIZE:
		return le_byte(f->v->ram_size, 8, off);
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS:
		return le_byte(f->v->nr, 2, off);
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
		/* The offset stops short of wrapping: past the end stays past it. */
		for (unsigned int i = 0; i < size; i++) {
			data[i] = fw_cfg_byte(f, f->key, f->off);
			if (f->off != UINT32_MAX)
				f->off++;
		}
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
