// SPDX-License-Identifier: MIT
/*
 * Each vCPU's xAPIC register page, a 4 KiB MMIO range private to that
 * vCPU (its IA32_APIC_BASE), with no memslot behind it so that every
 * access exits.  The range turns an access into a call on the userspace
 * APIC (kvm/lapic.c); only aligned 32-bit accesses reach a register.  A
 * disabled or x2APIC-mode APIC leaves the page unbacked: reads all-ones,
 * writes dropped, both counted as for any unbacked address.
 */
#include <string.h>

#include "devices.h"

static enum vkvm_io_ret lapic_window_io(void *opaque, struct vkvm_cpu *c, uint64_t off,
					bool write, uint8_t *data, unsigned int size)
{
	struct vkvm *v = opaque;
	uint32_t reg = (uint32_t)off, val = 0;

	if (!c || !vkvm_lapic_mmio_enabled(&v->lapic, c->idx)) {
		vkvm_count(write ? &v->r->mmio_writes : &v->r->mmio_reads);
		if (!write)
			memset(data, 0xff, size);
		return VKVM_IO_DONE;
	}
	/* Not a 4-byte access: never a register (the APIC counts it). */
	if (size != 4)
		reg |= 1;
	if (write)
		memcpy(&val, data, size < 4 ? size : 4);
	if (vkvm_lapic_access(&v->lapic, c->idx, reg, write, &val))
		vkvm_cpu_tpr_changed(c);
	if (!write) {
		memset(data, 0, size);
		memcpy(data, &val, size < 4 ? size : 4);
	}
	return VKVM_IO_DONE;
}

static int lapic_window_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	*state = NULL;
	for (uint32_t i = 0; i < v->nr; i++) {
		int ret = vkvm_bus_register(&v->bus, VKVM_MMIO, VKVM_APIC_BASE, VKVM_APIC_SIZE, i,
					    lapic_window_io, v, "lapic");

		if (ret)
			return vkvm_say(why, why_size, ret,
					"cannot place vCPU %u's APIC page at 0x%llx", i,
					(unsigned long long)VKVM_APIC_BASE);
	}
	return 0;
}

const struct vkvm_device vkvm_dev_lapic_window = {
	.name = "lapic",
	.irqchip = VKVM_IRQCHIP_AVIC,
	.create = lapic_window_create,
};
