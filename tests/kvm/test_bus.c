// SPDX-License-Identifier: MIT
/*
 * The KVM engine's device bus (kvm/bus.c) and its devices
 * (kvm/devices/), without /dev/kvm: ranges are registered and looked up
 * directly, and each device is made on a bare machine struct and driven
 * through the bus as a vCPU's port exits would drive it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kvm/bus.h"
#include "kvm/devices/devices.h"
#include "test.h"

struct probe_dev {
	int calls;
	uint64_t last_off;
	bool last_write;
	unsigned int last_size;
};

static enum vkvm_io_ret probe_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
				 uint8_t *data, unsigned int size)
{
	struct probe_dev *p = opaque;

	(void)c;
	p->calls++;
	p->last_off = off;
	p->last_write = write;
	p->last_size = size;
	if (!write)
		memset(data, 0xA5, size);
	return VKVM_IO_DONE;
}

TEST(bus_register_refuses_overlaps_and_bad_ranges)
{
	static struct vkvm_bus bus;
	struct probe_dev a = { 0 }, b = { 0 };

	vkvm_bus_init(&bus);
	ASSERT_OK(vkvm_bus_register(&bus, VKVM_PIO, 0x3f8, 8, VKVM_BUS_ALL_CPUS, probe_io, &a, "a"));
	/* Any overlap, at either end or inside, is refused. */
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_PIO, 0x3ff, 1, VKVM_BUS_ALL_CPUS, probe_io, &b, "b"),
		  -EBUSY);
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_PIO, 0x3f0, 9, VKVM_BUS_ALL_CPUS, probe_io, &b, "b"),
		  -EBUSY);
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_PIO, 0x3f9, 2, 3, probe_io, &b, "b"), -EBUSY);
	/* Adjacent ranges are fine. */
	ASSERT_OK(vkvm_bus_register(&bus, VKVM_PIO, 0x3f0, 8, VKVM_BUS_ALL_CPUS, probe_io, &b, "b"));
	ASSERT_OK(vkvm_bus_register(&bus, VKVM_PIO, 0x400, 1, VKVM_BUS_ALL_CPUS, probe_io, &b, "b"));
	/* Length 0, past the 64 KiB port space, wrapping, no handler, bad space. */
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_PIO, 0x500, 0, VKVM_BUS_ALL_CPUS, probe_io, &b, "b"),
		  -EINVAL);
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_PIO, 0xffff, 2, VKVM_BUS_ALL_CPUS, probe_io, &b, "b"),
		  -EINVAL);
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_MMIO, UINT64_MAX - 1, 4, VKVM_BUS_ALL_CPUS, probe_io,
				    &b, "b"), -EINVAL);
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_MMIO, 0x1000, 4, VKVM_BUS_ALL_CPUS, NULL, &b, "b"),
		  -EINVAL);
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_NR_SPACES, 0x1000, 4, VKVM_BUS_ALL_CPUS, probe_io,
				    &b, "b"), -EINVAL);
	/* The same numbers in the other space do not collide. */
	ASSERT_OK(vkvm_bus_register(&bus, VKVM_MMIO, 0x3f8, 8, VKVM_BUS_ALL_CPUS, probe_io, &b, "b"));
	vkvm_bus_fini(&bus);
}

TEST(bus_runs_out_of_ranges_with_enospc)
{
	static struct vkvm_bus bus;
	struct probe_dev a = { 0 };
	uint32_t i;

	vkvm_bus_init(&bus);
	for (i = 0; i < VKVM_BUS_MAX_RANGES; i++)
		ASSERT_OK(vkvm_bus_register(&bus, VKVM_MMIO, 0x10000 + i * 0x10, 0x10,
					    VKVM_BUS_ALL_CPUS, probe_io, &a, "a"));
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_MMIO, 0x90000, 0x10, VKVM_BUS_ALL_CPUS, probe_io, &a,
				    "a"), -ENOSPC);
	vkvm_bus_fini(&bus);
}

TEST(bus_access_reaches_the_handler_with_the_offset)
{
	static struct vkvm_bus bus;
	struct probe_dev a = { 0 };
	enum vkvm_io_ret ret = VKVM_IO_END;
	uint8_t data[8] = { 0 };

	vkvm_bus_init(&bus);
	ASSERT_OK(vkvm_bus_register(&bus, VKVM_MMIO, 0xfed00000, 0x400, VKVM_BUS_ALL_CPUS, probe_io,
				    &a, "a"));
	ASSERT(vkvm_bus_access(&bus, VKVM_MMIO, 0xfed000f0, NULL, 0, false, data, 4, &ret));
	ASSERT_EQ(ret, VKVM_IO_DONE);
	ASSERT_EQ(a.calls, 1);
	ASSERT_EQ(a.last_off, 0xf0);
	ASSERT_EQ(a.last_size, 4);
	ASSERT_EQ(data[3], 0xA5);
	ASSERT_EQ(data[4], 0);
	/* The last byte is inside; an access running past the end is not. */
	ASSERT(vkvm_bus_access(&bus, VKVM_MMIO, 0xfed003ff, NULL, 0, true, data, 1, &ret));
	ASSERT(!vkvm_bus_access(&bus, VKVM_MMIO, 0xfed003fe, NULL, 0, true, data, 4, &ret));
	ASSERT(!vkvm_bus_access(&bus, VKVM_MMIO, 0xfed00400, NULL, 0, true, data, 1, &ret));
	ASSERT(!vkvm_bus_access(&bus, VKVM_MMIO, 0xfecffffc, NULL, 0, false, data, 4, &ret));
	ASSERT(!vkvm_bus_access(&bus, VKVM_MMIO, UINT64_MAX - 2, NULL, 0, false, data, 8, &ret));
	ASSERT_EQ(a.calls, 2);
	ASSERT(a.last_write);
	vkvm_bus_fini(&bus);
}

TEST(bus_per_cpu_ranges_overlap_and_move_alone)
{
	static struct vkvm_bus bus;
	struct probe_dev cpu0 = { 0 }, cpu1 = { 0 }, all = { 0 };
	struct vkvm_range r;
	enum vkvm_io_ret ret;
	uint8_t data[4];

	vkvm_bus_init(&bus);
	/* Each vCPU's APIC page at the same address: private ranges may overlap. */
	ASSERT_OK(vkvm_bus_register(&bus, VKVM_MMIO, 0xfee00000, 0x1000, 0, probe_io, &cpu0, "0"));
	ASSERT_OK(vkvm_bus_register(&bus, VKVM_MMIO, 0xfee00000, 0x1000, 1, probe_io, &cpu1, "1"));
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_MMIO, 0xfee00800, 0x10, 1, probe_io, &all, "x"),
		  -EBUSY);
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_MMIO, 0xfee00800, 0x10, VKVM_BUS_ALL_CPUS, probe_io,
				    &all, "x"), -EBUSY);
	ASSERT(vkvm_bus_lookup(&bus, VKVM_MMIO, 0xfee00020, 4, 1, &r));
	ASSERT(r.opaque == &cpu1);
	ASSERT(vkvm_bus_lookup(&bus, VKVM_MMIO, 0xfee00020, 4, 0, &r));
	ASSERT(r.opaque == &cpu0);
	/* vCPU 2 has no APIC page registered. */
	ASSERT(!vkvm_bus_lookup(&bus, VKVM_MMIO, 0xfee00020, 4, 2, &r));

	/* vCPU 1 relocates its APIC; vCPU 0's stays. */
	ASSERT_OK(vkvm_bus_move(&bus, VKVM_MMIO, 0xfee00000, 1, 0xfed40000));
	ASSERT(!vkvm_bus_lookup(&bus, VKVM_MMIO, 0xfee00020, 4, 1, &r));
	ASSERT(vkvm_bus_access(&bus, VKVM_MMIO, 0xfed40030, NULL, 1, false, data, 4, &ret));
	ASSERT_EQ(cpu1.calls, 1);
	ASSERT_EQ(cpu1.last_off, 0x30);
	ASSERT(vkvm_bus_lookup(&bus, VKVM_MMIO, 0xfee00020, 4, 0, &r));
	ASSERT(r.opaque == &cpu0);
	/* A range every vCPU sees still may not cover vCPU 0's page. */
	ASSERT_EQ(vkvm_bus_register(&bus, VKVM_MMIO, 0xfee00000, 0x10, VKVM_BUS_ALL_CPUS, probe_io,
				    &all, "x"), -EBUSY);
	/* A move onto another range is refused and leaves the range where it was. */
	ASSERT_OK(vkvm_bus_register(&bus, VKVM_MMIO, 0xfec00000, 0x1000, VKVM_BUS_ALL_CPUS,
				    probe_io, &all, "ioapic"));
	ASSERT_EQ(vkvm_bus_move(&bus, VKVM_MMIO, 0xfed40000, 1, 0xfec00800), -EBUSY);
	ASSERT(vkvm_bus_lookup(&bus, VKVM_MMIO, 0xfed40000, 4, 1, &r));
	ASSERT(r.opaque == &cpu1);
	/* Nothing registered there for that vCPU. */
	ASSERT_EQ(vkvm_bus_move(&bus, VKVM_MMIO, 0xfee00000, 1, 0xfed80000), -ENOENT);
	/* Moving back home works, and onto itself too. */
	ASSERT_OK(vkvm_bus_move(&bus, VKVM_MMIO, 0xfed40000, 1, 0xfee00000));
	ASSERT_OK(vkvm_bus_move(&bus, VKVM_MMIO, 0xfee00000, 1, 0xfee00000));
	vkvm_bus_fini(&bus);
}

/* A bare machine for one device: no VM, no vCPU threads. */
struct bare {
	struct vkvm v;
	struct vkvm_result r;
	struct vkvm_cpu cpu[2];
	int pipe[2];
};

static struct vkvm *bare_machine(struct bare *b, uint32_t nr)
{
	memset(b, 0, sizeof(*b));
	b->v.nr = nr;
	b->v.r = &b->r;
	b->v.ram_size = 64ULL << 20;
	b->v.kvm_fd = b->v.vm_fd = -1;
	b->v.out_fd = -1;
	pthread_mutex_init(&b->v.end_lock, NULL);
	vkvm_bus_init(&b->v.bus);
	for (uint32_t i = 0; i < 2; i++) {
		b->cpu[i].v = &b->v;
		b->cpu[i].idx = i;
	}
	return &b->v;
}

static void bare_make(struct vkvm *v, const struct vkvm_device *d, void **state)
{
	char why[128] = "";

	if (d->create(v, state, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "creating %s: %s", d->name, why);
}

static uint8_t port_in(struct vkvm *v, struct vkvm_cpu *c, uint16_t port)
{
	enum vkvm_io_ret ret;
	uint8_t data[4] = { 0 };

	if (!vkvm_bus_access(&v->bus, VKVM_PIO, port, c, c->idx, false, data, 1, &ret))
		test_fail(__FILE__, __LINE__, "nothing at port 0x%x", port);
	return data[0];
}

static enum vkvm_io_ret port_out(struct vkvm *v, struct vkvm_cpu *c, uint16_t port, uint32_t val,
				 unsigned int size)
{
	enum vkvm_io_ret ret;
	uint8_t data[4];

	memcpy(data, &val, sizeof(data));
	if (!vkvm_bus_access(&v->bus, VKVM_PIO, port, c, c->idx, true, data, size, &ret))
		test_fail(__FILE__, __LINE__, "nothing at port 0x%x", port);
	return ret;
}

TEST(device_serial_lines_by_vcpu_and_dlab)
{
	static struct bare b;
	struct vkvm *v = bare_machine(&b, 2);
	char out[64] = "";
	void *state;
	ssize_t n;

	ASSERT_OK(pipe(b.pipe));
	v->out_fd = b.pipe[1];
	bare_make(v, &vkvm_dev_serial, &state);
	ASSERT_EQ(port_in(v, &b.cpu[0], 0x3fd), 0x60);	/* LSR: THR empty, idle */
	/* Two vCPUs' characters interleave; their lines do not. */
	port_out(v, &b.cpu[0], 0x3f8, 'a', 1);
	port_out(v, &b.cpu[1], 0x3f8, 'x', 1);
	port_out(v, &b.cpu[0], 0x3f8, 'b', 1);
	port_out(v, &b.cpu[1], 0x3f8, '\n', 1);
	/* DLAB set: 0x3F8 is the divisor latch, not THR. */
	port_out(v, &b.cpu[0], 0x3fb, 0x83, 1);
	ASSERT_EQ(port_in(v, &b.cpu[0], 0x3fb), 0x83);
	port_out(v, &b.cpu[0], 0x3f8, 'Z', 1);
	port_out(v, &b.cpu[0], 0x3fb, 0x03, 1);
	port_out(v, &b.cpu[0], 0x3f8, '\n', 1);
	/* A vCPU's unfinished line comes out when its thread ends. */
	port_out(v, &b.cpu[1], 0x3f8, 'y', 1);
	vkvm_dev_serial.cpu_exit(state, &b.cpu[1]);
	n = read(b.pipe[0], out, sizeof(out) - 1);
	ASSERT_EQ(n, 6);
	ASSERT(!strcmp(out, "x\nab\ny"));
	ASSERT_EQ(b.r.serial_bytes, 6);
	ASSERT_EQ(b.r.serial_other, 5);	/* LSR, LCR x3, the divisor write */
	vkvm_dev_serial.destroy(state);
	close(b.pipe[0]);
	close(b.pipe[1]);
	vkvm_bus_fini(&v->bus);
}

TEST(device_fw_cfg_items)
{
	static struct bare b;
	struct vkvm *v = bare_machine(&b, 2);
	uint8_t sig[5] = { 0 };
	uint64_t ram = 0;
	void *state;

	bare_make(v, &vkvm_dev_fw_cfg, &state);
	port_out(v, &b.cpu[0], 0x510, 0x0000, 2);
	for (int i = 0; i < 4; i++)
		sig[i] = port_in(v, &b.cpu[0], 0x511);
	ASSERT(!memcmp(sig, "QEMU", 4));
	ASSERT_EQ(port_in(v, &b.cpu[0], 0x511), 0);	/* past the end */
	port_out(v, &b.cpu[0], 0x510, 0x0003, 2);
	for (int i = 0; i < 8; i++)
		ram |= (uint64_t)port_in(v, &b.cpu[0], 0x511) << (8 * i);
	ASSERT_EQ(ram, 64ULL << 20);
	port_out(v, &b.cpu[0], 0x510, 0x0005, 2);
	ASSERT_EQ(port_in(v, &b.cpu[0], 0x511), 2);
	ASSERT_EQ(port_in(v, &b.cpu[0], 0x511), 0);
	port_out(v, &b.cpu[0], 0x510, 0x7777, 2);	/* unknown item */
	ASSERT_EQ(port_in(v, &b.cpu[0], 0x511), 0);
	ASSERT_EQ(b.r.fw_cfg, 20);	/* 4 selector writes, 16 data reads */
	vkvm_dev_fw_cfg.destroy(state);
	vkvm_bus_fini(&v->bus);
}

TEST(device_debug_exit_ends_the_run_with_its_status)
{
	static struct bare b;
	struct vkvm *v = bare_machine(&b, 1);
	void *state;

	bare_make(v, &vkvm_dev_debug_exit, &state);
	ASSERT_EQ(port_in(v, &b.cpu[0], 0xf4), 0xff);
	/* 0xF5 is in the 4-port range but is not the exit port. */
	ASSERT_EQ(port_out(v, &b.cpu[0], 0xf5, 1, 1), VKVM_IO_DONE);
	ASSERT(!v->ended);
	ASSERT_EQ(port_out(v, &b.cpu[0], 0xf4, 0x1234, 2), VKVM_IO_END);
	ASSERT(v->ended);
	ASSERT_EQ(b.r.end, VKVM_END_DEBUG_EXIT);
	ASSERT_EQ(b.r.debug_exit_value, 0x1234);
	ASSERT_EQ(b.r.exit_status, (0x1234 << 1) | 1);
	/* The first end wins. */
	ASSERT_EQ(port_out(v, &b.cpu[0], 0xf4, 7, 1), VKVM_IO_END);
	ASSERT_EQ(b.r.debug_exit_value, 0x1234);
	ASSERT_EQ(b.r.port_reads, 1);
	ASSERT_EQ(b.r.port_writes, 1);
	vkvm_bus_fini(&v->bus);
}

TEST(device_pic_keeps_masks_through_the_icw_sequence)
{
	static struct bare b;
	struct vkvm *v = bare_machine(&b, 1);
	struct vkvm_cpu *c = &b.cpu[0];
	void *state;

	bare_make(v, &vkvm_dev_pic, &state);
	/* Before any ICW1 a data write is OCW1. */
	port_out(v, c, 0x21, 0x5a, 1);
	ASSERT_EQ(port_in(v, c, 0x21), 0x5a);
	/* ICW1 (cascade, ICW4 needed) clears the mask; ICW2..ICW4 do not set it. */
	port_out(v, c, 0x20, 0x11, 1);
	ASSERT_EQ(port_in(v, c, 0x21), 0);
	port_out(v, c, 0x21, 0x20, 1);	/* ICW2: vector base 0x20 */
	port_out(v, c, 0x21, 0x04, 1);	/* ICW3: slave on IR2 */
	port_out(v, c, 0x21, 0x01, 1);	/* ICW4: 8086 mode */
	ASSERT_EQ(port_in(v, c, 0x21), 0);
	port_out(v, c, 0x21, 0xfb, 1);	/* OCW1 */
	ASSERT_EQ(port_in(v, c, 0x21), 0xfb);
	/* Single mode without ICW4: ICW2 is the last one. */
	port_out(v, c, 0xa0, 0x12, 1);
	port_out(v, c, 0xa1, 0x28, 1);
	port_out(v, c, 0xa1, 0xff, 1);
	ASSERT_EQ(port_in(v, c, 0xa1), 0xff);
	ASSERT_EQ(port_in(v, c, 0x21), 0xfb);
	/* Nothing is ever requested or in service. */
	port_out(v, c, 0x20, 0x0b, 1);	/* OCW3: read ISR */
	ASSERT_EQ(port_in(v, c, 0x20), 0);
	vkvm_dev_pic.destroy(state);
	vkvm_bus_fini(&v->bus);
}
