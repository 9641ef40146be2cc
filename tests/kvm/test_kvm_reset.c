// SPDX-License-Identifier: MIT
/*
 * Reset: the reset registers (port 0x92, port 0xCF9), the i8042 and the
 * fw_cfg items a rebooted guest reads, each on a bare machine driven
 * through the bus as a vCPU's port exits would drive it (no /dev/kvm);
 * then the reset guest (guests/reset.c), which reboots once through each
 * path, under both irqchips with the same PASS lines, under --no-reboot,
 * and resetting forever until the timeout.
 */
#include <stdlib.h>
#include <string.h>

#include "kvm/bus.h"
#include "kvm/devices/devices.h"
#include "kvm_util.h"
#include "test.h"

/* A bare machine for the devices: no VM, no vCPU threads. */
struct bare {
	struct vkvm v;
	struct vkvm_result r;
	struct vkvm_cpu cpu;
	void *state;
	const struct vkvm_device *dev;
};

static struct vkvm *bare_new(struct bare *b, const struct vkvm_device *d)
{
	char why[128] = "";

	memset(b, 0, sizeof(*b));
	b->v.nr = 1;
	b->v.r = &b->r;
	b->v.ram_size = 64ULL << 20;
	b->v.kvm_fd = b->v.vm_fd = -1;
	b->v.out_fd = -1;
	pthread_mutex_init(&b->v.end_lock, NULL);
	vkvm_bus_init(&b->v.bus);
	b->cpu.v = &b->v;
	b->dev = d;
	if (d->create(&b->v, &b->state, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "creating %s: %s", d->name, why);
	return &b->v;
}

static void bare_free(struct bare *b)
{
	if (b->dev->destroy)
		b->dev->destroy(b->state);
	vkvm_bus_fini(&b->v.bus);
	pthread_mutex_destroy(&b->v.end_lock);
}

static uint8_t in8(struct bare *b, uint16_t port)
{
	enum vkvm_io_ret ret;
	uint8_t data[4] = { 0 };

	if (!vkvm_bus_access(&b->v.bus, VKVM_PIO, port, &b->cpu, 0, false, data, 1, &ret))
		test_fail(__FILE__, __LINE__, "nothing at port 0x%x", port);
	ASSERT_EQ(ret, VKVM_IO_DONE);
	return data[0];
}

/* A byte write; true if it reset the machine. */
static bool out8(struct bare *b, uint16_t port, uint8_t val)
{
	enum vkvm_io_ret ret;
	uint8_t data[4] = { val };

	if (!vkvm_bus_access(&b->v.bus, VKVM_PIO, port, &b->cpu, 0, true, data, 1, &ret))
		test_fail(__FILE__, __LINE__, "nothing at port 0x%x", port);
	if (ret == VKVM_IO_DONE) {
		ASSERT(!b->v.ended);
		return false;
	}
	ASSERT(b->v.ended);
	ASSERT_EQ(b->r.end, VKVM_END_RESET);
	ASSERT_EQ(b->r.exit_status, VKVM_STATUS_RESET);
	return true;
}

/* Is anything at `port` for an access of `size` bytes? */
static bool claimed(struct bare *b, uint16_t port, unsigned int size)
{
	enum vkvm_io_ret ret;
	uint8_t data[4] = { 0 };

	return vkvm_bus_access(&b->v.bus, VKVM_PIO, port, &b->cpu, 0, false, data, size, &ret);
}

TEST(device_reset_port_a_resets_when_bit_0_rises)
{
	static struct bare b;

	bare_new(&b, &vkvm_dev_reset);
	ASSERT_EQ(in8(&b, 0x92), 0x02);		/* A20 on, as handed over */
	ASSERT(!out8(&b, 0x92, 0xc2));
	ASSERT_EQ(in8(&b, 0x92), 0xc2);		/* the rest kept as written */
	ASSERT(!claimed(&b, 0x92, 2));		/* one byte-wide port */
	ASSERT(!claimed(&b, 0x91, 2));
	ASSERT(out8(&b, 0x92, 0x03));
	ASSERT(strstr(b.r.message, "port 0x92 fast reset"));
	/* Bit 0 already set (only with --no-reboot can it be seen): no second reset. */
	b.v.ended = false;
	ASSERT(!out8(&b, 0x92, 0x01));
	ASSERT(!out8(&b, 0x92, 0x00));
	ASSERT(out8(&b, 0x92, 0x01));
	bare_free(&b);
}

TEST(device_reset_control_register_kinds)
{
	static const struct {
		uint8_t val;
		const char *kind;
	} resets[] = {
		{ 0x04, "port 0xcf9 soft reset" },
		{ 0x06, "port 0xcf9 hard reset" },
		{ 0x0e, "port 0xcf9 full reset" },
		{ 0xff, "port 0xcf9 full reset" },
		{ 0x0c, "port 0xcf9 soft reset" },
	};
	static struct bare b;

	bare_new(&b, &vkvm_dev_reset);
	ASSERT_EQ(in8(&b, 0xcf9), 0);
	/* SYS_RST and FULL_RST are kept; RST_CPU and the reserved bits read 0. */
	ASSERT(!out8(&b, 0xcf9, 0x02));
	ASSERT_EQ(in8(&b, 0xcf9), 0x02);
	ASSERT(!out8(&b, 0xcf9, 0xfb));
	ASSERT_EQ(in8(&b, 0xcf9), 0x0a);
	ASSERT(!out8(&b, 0xcf9, 0x00));
	ASSERT_EQ(in8(&b, 0xcf9), 0);
	/* CONFIG_ADDRESS (32-bit at 0xCF8) and wide accesses are not RST_CNT. */
	ASSERT(!claimed(&b, 0xcf8, 4));
	ASSERT(!claimed(&b, 0xcf9, 2));
	ASSERT(!claimed(&b, 0xcf8, 1));
	ASSERT(!claimed(&b, 0xcfa, 1));
	bare_free(&b);

	for (size_t i = 0; i < ARRAY_SIZE(resets); i++) {
		bare_new(&b, &vkvm_dev_reset);
		ASSERT(out8(&b, 0xcf9, resets[i].val));
		if (!strstr(b.r.message, resets[i].kind))
			test_fail(__FILE__, __LINE__, "0x%02x: \"%s\"", resets[i].val, b.r.message);
		bare_free(&b);
	}
}

/* The i8042's output buffer: OBF set, then the byte, then OBF clear. */
static uint8_t kbc_read(struct bare *b)
{
	uint8_t v;

	ASSERT(in8(b, 0x64) & 0x01);
	v = in8(b, 0x60);
	ASSERT(!(in8(b, 0x64) & 0x21));
	return v;
}

TEST(device_i8042_controller_without_a_keyboard)
{
	static struct bare b;

	bare_new(&b, &vkvm_dev_i8042);
	/* After POST: system flag, not inhibited, both buffers empty. */
	ASSERT_EQ(in8(&b, 0x64), 0x14);
	ASSERT(!out8(&b, 0x64, 0xaa));
	ASSERT_EQ(in8(&b, 0x64) & 0x08, 0x08);	/* A2: a command came last */
	ASSERT_EQ(kbc_read(&b), 0x55);
	ASSERT(!out8(&b, 0x64, 0xab));
	ASSERT_EQ(kbc_read(&b), 0x00);
	ASSERT(!out8(&b, 0x64, 0xa9));
	ASSERT_EQ(kbc_read(&b), 0x00);
	/* An empty buffer reads its last byte again. */
	ASSERT_EQ(in8(&b, 0x60), 0x00);

	/* The command byte is RAM byte 0; its SYS bit is the status register's. */
	ASSERT(!out8(&b, 0x64, 0x20));
	ASSERT_EQ(kbc_read(&b), 0x45);
	ASSERT(!out8(&b, 0x64, 0x60));
	ASSERT(!out8(&b, 0x60, 0x01));
	ASSERT_EQ(in8(&b, 0x64), 0x10);		/* no SYS, A2 clear: data came last */
	ASSERT(!out8(&b, 0x64, 0xad));		/* disable the keyboard: CCB bit 4 */
	ASSERT(!out8(&b, 0x64, 0xa7));		/* and the auxiliary port: bit 5 */
	ASSERT(!out8(&b, 0x64, 0x20));
	ASSERT_EQ(kbc_read(&b), 0x31);
	ASSERT(!out8(&b, 0x64, 0xae));
	ASSERT(!out8(&b, 0x64, 0xa8));
	ASSERT(!out8(&b, 0x64, 0x20));
	ASSERT_EQ(kbc_read(&b), 0x01);
	/* Other RAM bytes, at both ends. */
	ASSERT(!out8(&b, 0x64, 0x7f));
	ASSERT(!out8(&b, 0x60, 0x9c));
	ASSERT(!out8(&b, 0x64, 0x3f));
	ASSERT_EQ(kbc_read(&b), 0x9c);
	ASSERT(!out8(&b, 0x64, 0x21));
	ASSERT_EQ(kbc_read(&b), 0x00);

	/* Output buffer writes, as the keyboard's and as the mouse's. */
	ASSERT(!out8(&b, 0x64, 0xd2));
	ASSERT(!out8(&b, 0x60, 0x5a));
	ASSERT_EQ(in8(&b, 0x64) & 0x21, 0x01);
	ASSERT_EQ(kbc_read(&b), 0x5a);
	ASSERT(!out8(&b, 0x64, 0xd3));
	ASSERT(!out8(&b, 0x60, 0xa5));
	ASSERT_EQ(in8(&b, 0x64) & 0x21, 0x21);
	ASSERT_EQ(kbc_read(&b), 0xa5);
	/* Bytes for devices that are not there go nowhere. */
	ASSERT(!out8(&b, 0x64, 0xd4));
	ASSERT(!out8(&b, 0x60, 0xf4));
	ASSERT(!out8(&b, 0x60, 0xff));
	ASSERT_EQ(in8(&b, 0x64) & 0x01, 0);
	/* A command cancels one waiting for its data. */
	ASSERT(!out8(&b, 0x64, 0x60));
	ASSERT(!out8(&b, 0x64, 0xaa));
	ASSERT_EQ(kbc_read(&b), 0x55);
	ASSERT(!out8(&b, 0x60, 0x00));
	ASSERT(!out8(&b, 0x64, 0x20));
	ASSERT_EQ(kbc_read(&b), 0x01);

	/* The output port: read, written with the reset line high. */
	ASSERT(!out8(&b, 0x64, 0xd0));
	ASSERT_EQ(kbc_read(&b), 0x03);
	ASSERT(!out8(&b, 0x64, 0xd1));
	ASSERT(!out8(&b, 0x60, 0xf1));
	ASSERT(!out8(&b, 0x64, 0xd0));
	ASSERT_EQ(kbc_read(&b), 0xf1);
	/* Pulses that keep bit 0 high, and unknown commands, do nothing. */
	for (unsigned int cmd = 0xf1; cmd <= 0xff; cmd += 2)
		ASSERT(!out8(&b, 0x64, (uint8_t)cmd));
	ASSERT(!out8(&b, 0x64, 0xc0));
	ASSERT(!out8(&b, 0x64, 0x00));
	ASSERT(!claimed(&b, 0x60, 2));
	ASSERT(!claimed(&b, 0x61, 1));
	ASSERT(!claimed(&b, 0x64, 4));
	bare_free(&b);
}

TEST(device_i8042_resets)
{
	static struct bare b;

	/* 0xFE, and every pulse with bit 0 clear. */
	for (unsigned int cmd = 0xf0; cmd <= 0xfe; cmd += 2) {
		bare_new(&b, &vkvm_dev_i8042);
		ASSERT(out8(&b, 0x64, (uint8_t)cmd));
		ASSERT(strstr(b.r.message, "i8042 reset pulse"));
		bare_free(&b);
	}
	/* The output port written with bit 0 (the reset line, active low) clear. */
	bare_new(&b, &vkvm_dev_i8042);
	ASSERT(!out8(&b, 0x64, 0xd1));
	ASSERT(out8(&b, 0x60, 0x02));
	ASSERT(strstr(b.r.message, "i8042 output port"));
	bare_free(&b);
	/* A data byte that is not for 0xD1 never resets. */
	bare_new(&b, &vkvm_dev_i8042);
	ASSERT(!out8(&b, 0x60, 0x00));
	ASSERT(!out8(&b, 0x64, 0xd2));
	ASSERT(!out8(&b, 0x60, 0x00));
	bare_free(&b);
}

#define FW_NEXT	0xffff	/* fw_read: no selector write, read on */

/* n bytes of fw_cfg item `key` (or FW_NEXT), little- or big-endian. */
static uint32_t fw_read(struct bare *b, uint16_t key, unsigned int n, bool big)
{
	uint8_t sel[2] = { (uint8_t)key, (uint8_t)(key >> 8) };
	enum vkvm_io_ret ret;
	uint32_t v = 0;

	if (key != FW_NEXT)
		ASSERT(vkvm_bus_access(&b->v.bus, VKVM_PIO, 0x510, &b->cpu, 0, true, sel, 2, &ret));
	for (unsigned int i = 0; i < n; i++) {
		uint32_t byte = in8(b, 0x511);

		v = big ? v << 8 | byte : v | byte << (8 * i);
	}
	return v;
}

TEST(device_fw_cfg_id_file_directory_and_reboots)
{
	static struct bare b;
	char name[57] = "";

	bare_new(&b, &vkvm_dev_fw_cfg);
	ASSERT_EQ(fw_read(&b, 0x01, 4, false), 1);	/* ID: the port interface */
	/* The directory: one file, big-endian size and key, its name. */
	ASSERT_EQ(fw_read(&b, 0x19, 4, true), 1);
	ASSERT_EQ(fw_read(&b, FW_NEXT, 4, true), 4);
	ASSERT_EQ(fw_read(&b, FW_NEXT, 2, true), 0x20);
	ASSERT_EQ(fw_read(&b, FW_NEXT, 2, true), 0);
	for (int i = 0; i < 56; i++)
		name[i] = (char)in8(&b, 0x511);
	ASSERT(!strcmp(name, "opt/vintc/reboots"));
	ASSERT_EQ(fw_read(&b, FW_NEXT, 4, true), 0);	/* past the last entry */
	/* The file: the run's reboot count, little-endian. */
	ASSERT_EQ(fw_read(&b, 0x20, 4, false), 0);
	b.r.reboots = 0x01020304;
	ASSERT_EQ(fw_read(&b, 0x20, 4, false), 0x01020304);
	ASSERT_EQ(fw_read(&b, FW_NEXT, 4, false), 0);
	ASSERT_EQ(fw_read(&b, 0x21, 4, false), 0);	/* no second file */
	bare_free(&b);
}

/* As QEMU: no timeout unless asked for, and a reset reboots. */
TEST(kvm_run_defaults_no_timeout_reboot)
{
	struct vkvm_opts o;

	memset(&o, 0xa5, sizeof(o));
	vkvm_default_opts(&o);
	ASSERT_EQ(o.timeout_s, 0);
	ASSERT(!o.no_reboot);
	ASSERT(!o.boot.image_name);
}

/* Each of the four reset paths once, then exit 0: on n vCPUs, both irqchips. */
static void reset_guest(uint32_t cpus)
{
	static const char *const lines[] = {
		"PASS boot 0: reset through port 0x92\n",
		"PASS boot 1: reset through port 0xcf9\n",
		"PASS boot 2: reset through i8042 command 0xfe\n",
		"PASS boot 3: reset through the i8042 output port\n",
		"PASS boot 4: data and bss as loaded\n",
		"PASS boot 4: every reset path rebooted the machine\n",
	};
	struct vkvm_result r;
	char *out;

	both_irqchips("reset", NULL, cpus);
	out = lib_run_smp("reset", NULL, 30, cpus, &r);
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		if (!strstr(out, lines[i]))
			test_fail(__FILE__, __LINE__, "-c %u: no \"%s\" in:\n%s", cpus, lines[i],
				  out);
	if (strstr(out, "FAIL") || r.end != VKVM_END_DEBUG_EXIT || r.exit_status != 1)
		test_fail(__FILE__, __LINE__, "-c %u: %s\n%s", cpus, r.message, out);
	ASSERT_EQ(r.reboots, 4);
	/* The APs were started, and so parked again, at every boot. */
	ASSERT_EQ(r.apic.inits, 5 * (cpus - 1));
	free(out);
}

TEST(kvm_reset_every_path_reboots)
{
	reset_guest(1);
}

TEST(kvm_reset_every_path_reboots_smp)
{
	reset_guest(2);
}

TEST(kvm_reset_no_reboot_ends_the_run)
{
	static const enum vkvm_irqchip chips[] = { VKVM_IRQCHIP_AVIC, VKVM_IRQCHIP_KERNEL };
	struct vkvm_result r;
	struct vkvm_opts o;
	char *out;

	need_kvm();
	for (size_t i = 0; i < ARRAY_SIZE(chips); i++) {
		vkvm_default_opts(&o);
		o.timeout_s = 30;
		o.nr_cpus = 2;
		o.irqchip = chips[i];
		o.no_reboot = true;
		out = lib_run_opts("reset", &o, &r);
		if (!strstr(out, "PASS boot 0: reset through port 0x92\n") ||
		    strstr(out, "boot 1") ||
		    strstr(out, "FAIL") || r.end != VKVM_END_RESET ||
		    r.exit_status != VKVM_STATUS_RESET || r.reboots)
			test_fail(__FILE__, __LINE__, "irqchip %zu: end %d status %d: %s\n%s", i,
				  r.end, r.exit_status, r.message, out);
		ASSERT(strstr(r.message, "guest reset the machine (port 0x92 fast reset)"));
		ASSERT(!strcmp(vkvm_end_name(r.end), "reset"));
		free(out);
	}
}

/* A guest that resets at every boot runs until the timeout, counted from the first. */
TEST(kvm_reset_forever_ends_at_the_timeout)
{
	struct vkvm_result r;
	struct vkvm_opts o;
	char *out;

	need_kvm();
	vkvm_default_opts(&o);
	o.timeout_s = 1;
	o.boot.cmdline = "forever";
	out = lib_run_opts("reset", &o, &r);
	if (r.end != VKVM_END_TIMEOUT || r.exit_status != VKVM_STATUS_TIMEOUT || r.reboots < 2 ||
	    strstr(out, "FAIL"))
		test_fail(__FILE__, __LINE__, "end %d, %u reboots: %s\n%s", r.end, r.reboots,
			  r.message, out);
	free(out);
}
