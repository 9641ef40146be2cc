// SPDX-License-Identifier: MIT
/*
 * The i8042 keyboard controller at 0x60 (data) and 0x64 (status on read,
 * command on write), with no keyboard and no mouse behind it: enough of
 * the controller for a guest to find it, read and write its command byte
 * and output port, and reset the machine through it.  KVM's in-kernel
 * irqchip has no i8042, so it is served here under both irqchips.
 *
 * Status register (0x64 reads):
 *   bit 0 OBF    the output buffer holds a byte for 0x60
 *   bit 1 IBF    always 0: each write is taken at once
 *   bit 2 SYS    the command byte's system flag
 *   bit 3 A2     the last write went to 0x64 (a command), not 0x60
 *   bit 4 INH    1: the keyboard is not inhibited
 *   bit 5 AUXB   the output buffer's byte is the auxiliary device's
 *   bits 7:6     timeout, parity error: never
 *
 * Commands (0x64 writes); those marked + take the next 0x60 write as data:
 *   0x20-0x3F    internal RAM byte N to the output buffer (0: command byte)
 *   0x60-0x7F +  internal RAM byte N (0: the command byte)
 *   0xA7, 0xA8   disable, enable the auxiliary port (command byte bit 5)
 *   0xA9, 0xAB   auxiliary, keyboard interface test: 0x00 (no error)
 *   0xAA         self-test: 0x55
 *   0xAD, 0xAE   disable, enable the keyboard port (command byte bit 4)
 *   0xD0         the output port to the output buffer
 *   0xD1 +       the output port; bit 0 is the CPU reset line, active low,
 *                so a value with bit 0 clear resets the machine; bit 1 (A20)
 *                is kept, never enforced
 *   0xD2, 0xD3 + the byte to the output buffer as the keyboard's, the
 *                auxiliary device's
 *   0xD4 +       the byte to the auxiliary device: there is none, dropped
 *   0xF0-0xFF    pulse output-port bits 3:0 low where the command's bit is
 *                0: bit 0 (0xFE, and every even command here) resets
 * Other commands are ignored; a command cancels one still waiting for
 * data.  A 0x60 write with no command waiting goes to the keyboard: there
 * is none, so it is dropped.  Reading 0x60 takes the output buffer's byte
 * (OBF and AUXB clear); with the buffer empty it reads the last byte again.
 *
 * The state is what a PC BIOS leaves after POST: command byte 0x45
 * (keyboard interrupt enabled, system flag, scan-code translation), output
 * port 0x03 (reset line high, A20 on).  The controller never interrupts:
 * nothing is ever typed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"

#define I8042_DATA		0x60
#define I8042_CMD		0x64	/* status on read */

#define STS_OBF			0x01
#define STS_SYS			0x04
#define STS_A2			0x08
#define STS_INH			0x10
#define STS_AUXB		0x20

#define CCB_KBD_INT		0x01
#define CCB_SYS			0x04
#define CCB_KBD_DISABLE		0x10
#define CCB_AUX_DISABLE		0x20
#define CCB_XLAT		0x40
#define CCB_POST		(CCB_KBD_INT | CCB_SYS | CCB_XLAT)

#define OUT_RESET_N		0x01	/* CPU reset line, active low */
#define OUT_A20			0x02
#define OUT_POST		(OUT_RESET_N | OUT_A20)

#define CMD_READ_RAM		0x20	/* 0x20-0x3F */
#define CMD_WRITE_RAM		0x60	/* 0x60-0x7F */
#define CMD_AUX_DISABLE		0xa7
#define CMD_AUX_ENABLE		0xa8
#define CMD_AUX_TEST		0xa9
#define CMD_SELF_TEST		0xaa
#define CMD_KBD_TEST		0xab
#define CMD_KBD_DISABLE		0xad
#define CMD_KBD_ENABLE		0xae
#define CMD_READ_OUT		0xd0
#define CMD_WRITE_OUT		0xd1
#define CMD_WRITE_KBD_OBUF	0xd2
#define CMD_WRITE_AUX_OBUF	0xd3
#define CMD_WRITE_AUX		0xd4
#define CMD_PULSE		0xf0	/* 0xF0-0xFF */

#define SELF_TEST_OK		0x55
#define RAM_SIZE		32

struct i8042 {
	struct vkvm *v;
	pthread_mutex_t lock;
	uint8_t ram[RAM_SIZE];	/* ram[0]: the command byte */
	uint8_t obuf;
	uint8_t status;		/* OBF, A2, AUXB; SYS and INH are derived */
	uint8_t outport;
	uint8_t pending;	/* a command waiting for its data byte, or 0 */
};

static void i8042_output(struct i8042 *k, uint8_t byte, bool aux)
{
	k->obuf = byte;
	k->status = (uint8_t)((k->status & ~STS_AUXB) | STS_OBF | (aux ? STS_AUXB : 0));
}

static uint8_t i8042_status(const struct i8042 *k)
{
	return (uint8_t)(k->status | STS_INH | ((k->ram[0] & CCB_SYS) ? STS_SYS : 0));
}

/* A command; returns what reset the machine, or NULL. */
static const char *i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->pending = 0;
	if (cmd >= CMD_READ_RAM && cmd < CMD_READ_RAM + RAM_SIZE) {
		i8042_output(k, k->ram[cmd - CMD_READ_RAM], false);
		return NULL;
	}
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + RAM_SIZE) {
		k->pending = cmd;
		return NULL;
	}
	if (cmd >= CMD_PULSE)
		return (cmd & OUT_RESET_N) ? NULL : "i8042 reset pulse";
	switch (cmd) {
	case CMD_AUX_DISABLE:
		k->ram[0] |= CCB_AUX_DISABLE;
		break;
	case CMD_AUX_ENABLE:
		k->ram[0] &= (uint8_t)~CCB_AUX_DISABLE;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		i8042_output(k, 0x00, false);
		break;
	case CMD_SELF_TEST:
		i8042_output(k, SELF_TEST_OK, false);
		break;
	case CMD_KBD_DISABLE:
		k->ram[0] |= CCB_KBD_DISABLE;
		break;
	case CMD_KBD_ENABLE:
		k->ram[0] &= (uint8_t)~CCB_KBD_DISABLE;
		break;
	case CMD_READ_OUT:
		i8042_output(k, k->outport, false);
		break;
	case CMD_WRITE_OUT:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		k->pending = cmd;
		break;
	}
	return NULL;
}

/* A data byte: for the command waiting for one, else for the keyboard. */
static const char *i8042_data(struct i8042 *k, uint8_t val)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + RAM_SIZE) {
		k->ram[cmd - CMD_WRITE_RAM] = val;
		return NULL;
	}
	switch (cmd) {
	case CMD_WRITE_OUT:
		k->outport = val;
		return (val & OUT_RESET_N) ? NULL : "i8042 output port reset line";
	case CMD_WRITE_KBD_OBUF:
		i8042_output(k, val, false);
		break;
	case CMD_WRITE_AUX_OBUF:
		i8042_output(k, val, true);
		break;
	}
	/* CMD_WRITE_AUX and no command: no device to take the byte. */
	return NULL;
}

static enum vkvm_io_ret i8042_io(struct i8042 *k, bool cmd_port, bool write, uint8_t *data)
{
	const char *how = NULL;

	pthread_mutex_lock(&k->lock);
	if (write && cmd_port) {
		k->status |= STS_A2;
		how = i8042_command(k, data[0]);
	} else if (write) {
		k->status &= (uint8_t)~STS_A2;
		how = i8042_data(k, data[0]);
	} else if (cmd_port) {
		data[0] = i8042_status(k);
	} else {
		data[0] = k->obuf;
		k->status &= (uint8_t)~(STS_OBF | STS_AUXB);
	}
	pthread_mutex_unlock(&k->lock);
	if (!how)
		return VKVM_IO_DONE;
	vkvm_reset(k->v, how);
	return VKVM_IO_END;
}

static enum vkvm_io_ret i8042_data_io(void *opaque, struct vkvm_cpu *c, uint64_t off,
				      bool write, uint8_t *data, unsigned int size)
{
	(void)c;
	(void)off;
	(void)size;	/* one-port ranges: every access is one byte */
	return i8042_io(opaque, false, write, data);
}

static enum vkvm_io_ret i8042_cmd_io(void *opaque, struct vkvm_cpu *c, uint64_t off,
				     bool write, uint8_t *data, unsigned int size)
{
	(void)c;
	(void)off;
	(void)size;
	return i8042_io(opaque, true, write, data);
}

static int i8042_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return vkvm_say(why, why_size, -ENOMEM, "out of memory for the i8042");
	k->v = v;
	k->ram[0] = CCB_POST;
	k->outport = OUT_POST;
	pthread_mutex_init(&k->lock, NULL);
	ret = vkvm_bus_register(&v->bus, VKVM_PIO, I8042_DATA, 1, VKVM_BUS_ALL_CPUS,
				i8042_data_io, k, "i8042-data");
	if (!ret)
		ret = vkvm_bus_register(&v->bus, VKVM_PIO, I8042_CMD, 1, VKVM_BUS_ALL_CPUS,
					i8042_cmd_io, k, "i8042-cmd");
	if (ret) {
		/* The bus is torn down with the machine; only the state is ours. */
		pthread_mutex_destroy(&k->lock);
		free(k);
		return vkvm_say(why, why_size, ret, "cannot place the i8042 at 0x60/0x64");
	}
	*state = k;
	return 0;
}

static void i8042_destroy(void *state)
{
	struct i8042 *k = state;

	pthread_mutex_destroy(&k->lock);
	free(k);
}

const struct vkvm_device vkvm_dev_i8042 = {
	.name = "i8042",
	.irqchip = VKVM_NR_IRQCHIPS,
	.create = i8042_create,
	.destroy = i8042_destroy,
};
