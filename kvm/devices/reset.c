// SPDX-License-Identifier: MIT
/*
 * The chipset's two reset registers.  KVM's in-kernel irqchip has
 * neither, so they are served here under both irqchips.
 *
 *   0x92   System Control Port A (the PS/2 "fast reset" port; INIT_NOW
 *          on Intel PCHs): bit 0 ALT_RST, bit 1 ALT_A20_GATE, the rest
 *          kept as written.  A write that takes bit 0 from 0 to 1
 *          resets the machine.  Reads give the last value written.  Bit 1
 *          starts set, since the machine hands the guest over with A20
 *          enabled (Multiboot requires it); it is kept, never enforced:
 *          A20 is never masked here.
 *
 *   0xCF9  Reset Control Register (RST_CNT, Intel ICH/PCH; the same bits
 *          on AMD's FCH): bit 1 SYS_RST (a hard reset rather than a soft
 *          one), bit 2 RST_CPU (writing 1 starts the reset of the kind
 *          bits 1 and 3 choose), bit 3 FULL_RST (a power cycle).  SYS_RST
 *          and FULL_RST are kept and read back; RST_CPU reads 0, as the
 *          reset it starts leaves it clear; bits 0 and 7:4 are reserved
 *          and read 0.  The usual sequence is 0x02, then 0x06 (or 0x0E).
 *          A byte register: a 16- or 32-bit access at 0xCF8..0xCFB is PCI
 *          configuration (CONFIG_ADDRESS) and stays unclaimed.
 *
 * Every kind of reset, a soft one (INIT# on hardware) too, boots the
 * machine again from its entry: there is no firmware that would tell the
 * kinds apart, and QEMU does the same.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"

#define PORT_A			0x92
#define PORT_A_ALT_RST		0x01
#define PORT_A_ALT_A20		0x02

#define RST_CNT			0xcf9
#define RST_CNT_SYS_RST		0x02
#define RST_CNT_RST_CPU		0x04
#define RST_CNT_FULL_RST	0x08

struct reset {
	struct vkvm *v;
	pthread_mutex_t lock;
	uint8_t port_a;
	uint8_t rst_cnt;	/* SYS_RST and FULL_RST only */
};

static const char *rst_cnt_kind(uint8_t val)
{
	if (!(val & RST_CNT_SYS_RST))
		return "port 0xcf9 soft reset";
	return val & RST_CNT_FULL_RST ? "port 0xcf9 full reset" : "port 0xcf9 hard reset";
}

/* A write to the register at `port`; returns the reset it starts, or NULL. */
static const char *reset_write(struct reset *r, uint16_t port, uint8_t val)
{
	uint8_t old;

	if (port == PORT_A) {
		old = r->port_a;
		r->port_a = val;
		if ((val & PORT_A_ALT_RST) && !(old & PORT_A_ALT_RST))
			return "port 0x92 fast reset";
		return NULL;
	}
	r->rst_cnt = val & (RST_CNT_SYS_RST | RST_CNT_FULL_RST);
	return val & RST_CNT_RST_CPU ? rst_cnt_kind(val) : NULL;
}

static enum vkvm_io_ret reset_io(struct reset *r, uint16_t port, bool write, uint8_t *data)
{
	const char *how = NULL;

	pthread_mutex_lock(&r->lock);
	if (write)
		how = reset_write(r, port, data[0]);
	else
		data[0] = port == PORT_A ? r->port_a : r->rst_cnt;
	pthread_mutex_unlock(&r->lock);
	if (!how)
		return VKVM_IO_DONE;
	vkvm_reset(r->v, how);
	return VKVM_IO_END;
}

static enum vkvm_io_ret port_a_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
				  uint8_t *data, unsigned int size)
{
	(void)c;
	(void)off;
	(void)size;	/* the range is one port: every access is one byte */
	return reset_io(opaque, PORT_A, write, data);
}

static enum vkvm_io_ret rst_cnt_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
				   uint8_t *data, unsigned int size)
{
	(void)c;
	(void)off;
	(void)size;
	return reset_io(opaque, RST_CNT, write, data);
}

static int reset_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	struct reset *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return vkvm_say(why, why_size, -ENOMEM, "out of memory for the reset ports");
	r->v = v;
	r->port_a = PORT_A_ALT_A20;
	pthread_mutex_init(&r->lock, NULL);
	ret = vkvm_bus_register(&v->bus, VKVM_PIO, PORT_A, 1, VKVM_BUS_ALL_CPUS, port_a_io, r,
				"port-a");
	if (!ret)
		ret = vkvm_bus_register(&v->bus, VKVM_PIO, RST_CNT, 1, VKVM_BUS_ALL_CPUS,
					rst_cnt_io, r, "rst-cnt");
	if (ret) {
		/* The bus is torn down with the machine; only the state is ours. */
		pthread_mutex_destroy(&r->lock);
		free(r);
		return vkvm_say(why, why_size, ret, "cannot place the reset ports at 0x92/0xcf9");
	}
	*state = r;
	return 0;
}

static void reset_destroy(void *state)
{
	struct reset *r = state;

	pthread_mutex_destroy(&r->lock);
	free(r);
}

const struct vkvm_device vkvm_dev_reset = {
	.name = "reset",
	.irqchip = VKVM_NR_IRQCHIPS,
	.create = reset_create,
	.destroy = reset_destroy,
};
