// SPDX-License-Identifier: MIT
/*
 * The port-I/O and MMIO bus.  A machine has a handful of ranges, so a
 * lookup is a linear scan; an exit to userspace costs microseconds, the
 * scan nanoseconds.
 */
#include <errno.h>
#include <string.h>

#include "bus.h"

#define PIO_SPACE_END	0x10000ULL

void vkvm_bus_init(struct vkvm_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	pthread_rwlock_init(&bus->lock, NULL);
}

void vkvm_bus_fini(struct vkvm_bus *bus)
{
	pthread_rwlock_destroy(&bus->lock);
}

/* Both ranges can be reached by one vCPU: every vCPU's, or the same one's. */
static bool same_view(uint32_t a, uint32_t b)
{
	return a == VKVM_BUS_ALL_CPUS || b == VKVM_BUS_ALL_CPUS || a == b;
}

static bool overlaps(const struct vkvm_range *r, uint64_t base, uint64_t len)
{
	return base < r->base + r->len && r->base < base + len;
}

static int check_place(struct vkvm_bus *bus, enum vkvm_space space, uint64_t base, uint64_t len,
		       uint32_t cpu, const struct vkvm_range *skip)
{
	if (!len || base + len < base)
		return -EINVAL;
	if (space == VKVM_PIO && base + len > PIO_SPACE_END)
		return -EINVAL;
	for (uint32_t i = 0; i < bus->nr[space]; i++) {
		const struct vkvm_range *r = &bus->ranges[space][i];

		if (r != skip && same_view(r->cpu, cpu) && overlaps(r, base, len))
			return -EBUSY;
	}
	return 0;
}

int vkvm_bus_register(struct vkvm_bus *bus, enum vkvm_space space, uint64_t base, uint64_t len,
		      uint32_t cpu, vkvm_io_fn fn, void *opaque, const char *name)
{
	int ret;

	if ((unsigned int)space >= VKVM_NR_SPACES || !fn)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	ret = check_place(bus, space, base, len, cpu, NULL);
	if (!ret && bus->nr[space] == VKVM_BUS_MAX_RANGES)
		ret = -ENOSPC;
	if (!ret)
		bus->ranges[space][bus->nr[space]++] = (struct vkvm_range){
			.base = base, .len = len, .cpu = cpu, .fn = fn, .opaque = opaque,
			.name = name,
		};
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int vkvm_bus_move(struct vkvm_bus *bus, enum vkvm_space space, uint64_t old_base, uint32_t cpu,
		  uint64_t new_base)
{
	struct vkvm_range *found = NULL;
	int ret;

	if ((unsigned int)space >= VKVM_NR_SPACES)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	for (uint32_t i = 0; i < bus->nr[space]; i++) {
		struct vkvm_range *r = &bus->ranges[space][i];

		if (r->base == old_base && r->cpu == cpu) {
			found = r;
			break;
		}
	}
	ret = found ? check_place(bus, space, new_base, found->len, cpu, found) : -ENOENT;
	if (!ret)
		found->base = new_base;
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool vkvm_bus_lookup(struct vkvm_bus *bus, enum vkvm_space space, uint64_t addr,
		     unsigned int size, uint32_t cpu, struct vkvm_range *out)
{
	bool hit = false;

	if ((unsigned int)space >= VKVM_NR_SPACES || !size || addr + size < addr)
		return false;
	pthread_rwlock_rdlock(&bus->lock);
	for (uint32_t i = 0; i < bus->nr[space]; i++) {
		const struct vkvm_range *r = &bus->ranges[space][i];

		/* The whole access inside one range: no device sees half of one. */
		if (same_view(r->cpu, cpu) && addr >= r->base && addr + size <= r->base + r->len) {
			*out = *r;
			hit = true;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return hit;
}

bool vkvm_bus_access(struct vkvm_bus *bus, enum vkvm_space space, uint64_t addr,
		     struct vkvm_cpu *cpu, uint32_t cpu_idx, bool write, uint8_t *data,
		     unsigned int size, enum vkvm_io_ret *ret)
{
	struct vkvm_range r;

	if (!vkvm_bus_lookup(bus, space, addr, size, cpu_idx, &r))
		return false;
	/* Unlocked: a range is never unregistered while vCPUs run. */
	*ret = r.fn(r.opaque, cpu, addr - r.base, write, data, size);
	return true;
}
