// SPDX-License-Identifier: MIT
/*
 * The xAPIC window (kvm/devices/lapic_window.c) on a bare machine with a
 * userspace APIC but no /dev/kvm: each vCPU's page follows its
 * IA32_APIC_BASE on the bus, answers only while the APIC is in xAPIC mode
 * at that place, and parks (unbacked) where another device is.
 */
#include <string.h>

#include <vintc/amd_defs.h>
#include <vintc/vlapic.h>

#include "kvm/devices/devices.h"
#include "test.h"

#define EN		MSR_IA32_APICBASE_ENABLE
#define RELOC		0xFED40000ULL
#define IOAPIC_PAGE	0xFEC00000ULL

struct bare {
	struct vkvm v;
	struct vkvm_result r;
	struct vkvm_cpu cpu[2];
};

static enum vkvm_io_ret other_io(void *opaque, struct vkvm_cpu *c, uint64_t off, bool write,
				 uint8_t *data, unsigned int size)
{
	(void)opaque;
	(void)c;
	(void)off;
	if (!write)
		memset(data, 0x5A, size);
	return VKVM_IO_DONE;
}

static struct vkvm *bare_machine(struct bare *b)
{
	char why[128] = "";

	memset(b, 0, sizeof(*b));
	b->v.nr = 2;
	b->v.r = &b->r;
	b->v.kvm_fd = b->v.vm_fd = -1;
	vkvm_bus_init(&b->v.bus);
	if (vkvm_lapic_init(&b->v.lapic, 2, why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "vkvm_lapic_init: %s", why);
	b->v.lapic_ready = true;
	for (uint32_t i = 0; i < 2; i++) {
		b->cpu[i].v = &b->v;
		b->cpu[i].idx = i;
	}
	return &b->v;
}

/* A 4-byte MMIO read by vCPU c; all-ones where nothing answers, as the runner. */
static uint32_t mmio_rd(struct vkvm *v, struct vkvm_cpu *c, uint64_t gpa)
{
	enum vkvm_io_ret ret;
	uint32_t val = 0xFFFFFFFF;

	(void)vkvm_bus_access(&v->bus, VKVM_MMIO, gpa, c, c->idx, false, (uint8_t *)&val, 4,
			      &ret);
	return val;
}

TEST(device_lapic_window_follows_the_base)
{
	static struct bare b;
	struct vkvm *v = bare_machine(&b);
	struct vkvm_lapic *l = &v->lapic;
	char why[128] = "";
	void *state;

	ASSERT_OK(vkvm_bus_register(&v->bus, VKVM_MMIO, IOAPIC_PAGE, 0x1000, VKVM_BUS_ALL_CPUS,
				    other_io, NULL, "other"));
	ASSERT_OK(vkvm_dev_lapic_window.create(v, &state, why, sizeof(why)));
	ASSERT(l->move != NULL);
	ASSERT_EQ(mmio_rd(v, &b.cpu[0], 0xFEE00030), 0x00050014);
	ASSERT_EQ(mmio_rd(v, &b.cpu[1], 0xFEE00020), 1U << 24);

	/* vCPU 0 moves: its page answers there, the old place for it is gone. */
	vkvm_lapic_set_base(l, 0, RELOC | EN | MSR_IA32_APICBASE_BSP);
	ASSERT_EQ(mmio_rd(v, &b.cpu[0], RELOC + 0x30), 0x00050014);
	ASSERT_EQ(mmio_rd(v, &b.cpu[0], 0xFEE00030), 0xFFFFFFFF);
	ASSERT_EQ(mmio_rd(v, &b.cpu[1], 0xFEE00020), 1U << 24);
	ASSERT_EQ(mmio_rd(v, &b.cpu[1], RELOC + 0x20), 0xFFFFFFFF);

	/* Disabled: the range is there, unbacked, counted. */
	vkvm_lapic_set_base(l, 1, VKVM_APIC_BASE);
	ASSERT_EQ(mmio_rd(v, &b.cpu[1], 0xFEE00030), 0xFFFFFFFF);
	ASSERT_EQ(b.r.mmio_reads, 1);
	vkvm_lapic_set_base(l, 1, VKVM_APIC_BASE | EN);
	ASSERT_EQ(mmio_rd(v, &b.cpu[1], 0xFEE00030), 0x00050014);

	/* Onto another device: the bus refuses, the device answers, the page parks. */
	vkvm_lapic_set_base(l, 0, IOAPIC_PAGE | EN);
	ASSERT_EQ(mmio_rd(v, &b.cpu[0], IOAPIC_PAGE + 0x30), 0x5A5A5A5A);
	ASSERT_EQ(mmio_rd(v, &b.cpu[0], RELOC + 0x30), 0xFFFFFFFF);
	/* And from there back home. */
	vkvm_lapic_set_base(l, 0, VKVM_APIC_BASE | EN);
	ASSERT_EQ(mmio_rd(v, &b.cpu[0], 0xFEE00030), 0x00050014);
	ASSERT_EQ(mmio_rd(v, &b.cpu[0], RELOC + 0x30), 0xFFFFFFFF);

	vkvm_dev_lapic_window.destroy(state);
	ASSERT(l->move == NULL);
	vkvm_lapic_fini(l);
	vkvm_bus_fini(&v->bus);
}
