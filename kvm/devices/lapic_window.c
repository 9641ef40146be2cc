// SPDX-License-Identifier: MIT
/*
 * Each vCPU's xAPIC register page, a 4 KiB MMIO range private to that
 * vCPU, with no memslot behind it so that every access exits.  The range
 * turns an access into a call on the userspace APIC (kvm/lapic.c); only
 * aligned 32-bit accesses reach a register.  A disabled or x2APIC-mode
 * APIC leaves the page unbacked: reads all-ones, writes dropped, both
 * counted as for any unbacked address.
 *
 * The range follows the vCPU's IA32_APIC_BASE (the APIC's move hook): a
 * relocated page answers at its new address and its old one is unbacked.
 * Where the new address is guest RAM, KVM's memslot takes every access
 * before it could exit, so RAM answers there, as it does for KVM's own
 * LAPIC.  Where another device's range is, the bus refuses the move: the
 * range stays where it was, unbacked, and the device answers (KVM's LAPIC
 * would take the page first; no guest of ours puts its APIC on a device).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vintc/vlapic.h>

#include "devices.h"

struct lapic_window {
	struct vkvm *v;
	/* Where each vCPU's range is on the bus; written by that vCPU's thread. */
	uint64_t at[VKVM_MAX_CPUS];
};

static bool window_backed(struct lapic_window *w, struct vkvm_cpu *c)
{
	struct vkvm_lapic *l = &w->v->lapic;

	return vkvm_lapic_mmio_enabled(l, c->idx) &&
	       (vkvm_lapic_base(l, c->idx) & VLAPIC_APIC_BASE_ADDR) == w->at[c->idx];
}

static enum vkvm_io_ret lapic_window_io(void *opaque, struct vkvm_cpu *c, uint64_t off,
					bool write, uint8_t *data, unsigned int size)
{
	struct lapic_window *w = opaque;
	struct vkvm *v = w->v;
	uint32_t reg = (uint32_t)off, val = 0;

	if (!c || !window_backed(w, c)) {
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

/* The APIC's move hook: on vCPU idx's own thread, the only one using the range. */
static void lapic_window_move(void *opaque, uint32_t idx, uint64_t old_page, uint64_t new_page)
{
	struct lapic_window *w = opaque;

	(void)old_page;
	if (!vkvm_bus_move(&w->v->bus, VKVM_MMIO, w->at[idx], idx, new_page))
		w->at[idx] = new_page;
}

static int lapic_window_create(struct vkvm *v, void **state, char *why, size_t why_size)
{
	struct lapic_window *w = calloc(1, sizeof(*w));

	*state = w;
	if (!w)
		return vkvm_say(why, why_size, -ENOMEM, "out of memory");
	w->v = v;
	for (uint32_t i = 0; i < v->nr; i++) {
		uint64_t page = vkvm_lapic_base(&v->lapic, i) & VLAPIC_APIC_BASE_ADDR;
		int ret = vkvm_bus_register(&v->bus, VKVM_MMIO, page, VKVM_APIC_SIZE, i,
					    lapic_window_io, w, "lapic");

		if (ret) {
			/* Not recorded as a device: nothing else frees it. */
			free(w);
			*state = NULL;
			return vkvm_say(why, why_size, ret,
					"cannot place vCPU %u's APIC page at 0x%llx", i,
					(unsigned long long)page);
		}
		w->at[i] = page;
	}
	/* Before any vCPU thread starts: from now on the page follows the base. */
	v->lapic.move = lapic_window_move;
	v->lapic.move_opaque = w;
	return 0;
}

static void lapic_window_destroy(void *state)
{
	struct lapic_window *w = state;

	w->v->lapic.move = NULL;
	free(w);
}

const struct vkvm_device vkvm_dev_lapic_window = {
	.name = "lapic",
	.irqchip = VKVM_IRQCHIP_AVIC,
	.create = lapic_window_create,
	.destroy = lapic_window_destroy,
};
