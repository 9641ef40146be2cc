/* SPDX-License-Identifier: MIT */
/*
 * kvm/bus.c: the machine's two address spaces, port I/O and MMIO, as
 * ranges that devices register (base, length, handler, opaque) and that
 * every KVM_EXIT_IO and KVM_EXIT_MMIO is looked up in.  Private to kvm/.
 *
 * A range is either seen by every vCPU or private to one (a local APIC's
 * window: each vCPU reaches its own APIC at its own IA32_APIC_BASE).  Two
 * ranges that one vCPU could both see may not overlap; registering one is
 * refused with -EBUSY.  MMIO ranges can move while vCPUs run (the APIC
 * base is relocatable): lookups take the bus lock for reading, a move
 * takes it for writing, and the handler runs with no lock held.
 */
#ifndef VINTC_KVM_BUS_H
#define VINTC_KVM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum vkvm_space {
	VKVM_PIO,
	VKVM_MMIO,
	VKVM_NR_SPACES
};

#define VKVM_BUS_ALL_CPUS	UINT32_MAX	/* a range every vCPU sees */
#define VKVM_BUS_MAX_RANGES	128

struct vkvm_cpu;

/*
 * One access of `size` bytes (1..8) at `off` bytes into the range, by
 * vCPU `cpu` (NULL when the caller is not a vCPU, e.g. a unit test).  A
 * read fills data[0..size), a write takes it.  Returns VKVM_IO_DONE, or
 * VKVM_IO_END when the access ended the run (this vCPU then stops).
 */
enum vkvm_io_ret {
	VKVM_IO_DONE,
	VKVM_IO_END,
};

typedef enum vkvm_io_ret (*vkvm_io_fn)(void *opaque, struct vkvm_cpu *cpu, uint64_t off,
				       bool write, uint8_t *data, unsigned int size);

struct vkvm_range {
	uint64_t base, len;
	uint32_t cpu;			/* VKVM_BUS_ALL_CPUS or one vCPU index */
	vkvm_io_fn fn;
	void *opaque;
	const char *name;
};

struct vkvm_bus {
	pthread_rwlock_t lock;
	uint32_t nr[VKVM_NR_SPACES];
	struct vkvm_range ranges[VKVM_NR_SPACES][VKVM_BUS_MAX_RANGES];
};

void vkvm_bus_init(struct vkvm_bus *bus);
void vkvm_bus_fini(struct vkvm_bus *bus);

/*
 * 0, or -EINVAL (len 0, base + len past 2^64 or past 64 KiB of ports,
 * no handler), -EBUSY (overlaps a range the same vCPU sees), -ENOSPC.
 */
int vkvm_bus_register(struct vkvm_bus *bus, enum vkvm_space space, uint64_t base, uint64_t len,
		      uint32_t cpu, vkvm_io_fn fn, void *opaque, const char *name);
/*
 * Move the range registered at `old_base` for `cpu` to `new_base`: 0,
 * -ENOENT (no such range), or the register errors for the new place (the
 * range then stays where it was).
 */
int vkvm_bus_move(struct vkvm_bus *bus, enum vkvm_space space, uint64_t old_base, uint32_t cpu,
		  uint64_t new_base);

/*
 * The range vCPU `cpu` reaches at `addr` for an access of `size` bytes,
 * copied into *out; false when no range holds the whole access.
 */
bool vkvm_bus_lookup(struct vkvm_bus *bus, enum vkvm_space space, uint64_t addr,
		     unsigned int size, uint32_t cpu, struct vkvm_range *out);

/*
 * Look up and call the handler.  false: nothing is there (the caller
 * answers as an unclaimed address); true: handled, with *ret its answer.
 */
bool vkvm_bus_access(struct vkvm_bus *bus, enum vkvm_space space, uint64_t addr,
		     struct vkvm_cpu *cpu, uint32_t cpu_idx, bool write, uint8_t *data,
		     unsigned int size, enum vkvm_io_ret *ret);

#endif
