// SPDX-License-Identifier: MIT
/*
 * Model host CPUs.  Each has a host APIC ID, the value the physical APIC ID
 * table's host-ID field and the doorbell MSR carry; IDs above 255 exercise
 * the field's 12-bit width.
 */
#include <vintc/host.h>

static struct {
	struct host_rwlock lock;
	unsigned int nr;	/* 0: the default topology */
	uint32_t apic_id[HOST_MAX_CPUS];
	host_doorbell_fn fn;
	void *opaque;
	uint64_t rings;
} cpus = { .lock = { PTHREAD_RWLOCK_INITIALIZER } };

#define DEFAULT_CPUS 64

/* Called with the lock held. */
static unsigned int cpus_nr_locked(void)
{
	return cpus.nr ? cpus.nr : DEFAULT_CPUS;
}

static uint32_t apic_id_locked(unsigned int cpu)
{
	return cpus.nr ? cpus.apic_id[cpu] : cpu;
}

int host_cpus_set(unsigned int nr, const uint32_t *apic_ids)
{
	if (!nr || nr > HOST_MAX_CPUS)
		return -EINVAL;
	for (unsigned int i = 0; apic_ids && i < nr; i++) {
		if (apic_ids[i] > HOST_MAX_APIC_ID)
			return -EINVAL;
		for (unsigned int j = 0; j < i; j++)
			if (apic_ids[j] == apic_ids[i])
				return -EEXIST;
	}
	host_write_lock(&cpus.lock);
	cpus.nr = nr;
	for (unsigned int i = 0; i < nr; i++)
		cpus.apic_id[i] = apic_ids ? apic_ids[i] : i;
	host_write_unlock(&cpus.lock);
	return 0;
}

unsigned int host_cpus_nr(void)
{
	unsigned int nr;

	host_read_lock(&cpus.lock);
	nr = cpus_nr_locked();
	host_read_unlock(&cpus.lock);
	return nr;
}

int host_cpu_apic_id(int cpu)
{
	int id = -EINVAL;

	host_read_lock(&cpus.lock);
	if (cpu >= 0 && (unsigned int)cpu < cpus_nr_locked())
		id = (int)apic_id_locked((unsigned int)cpu);
	host_read_unlock(&cpus.lock);
	return id;
}

int host_cpu_from_apic_id(uint32_t apic_id)
{
	int cpu = -ENOENT;

	host_read_lock(&cpus.lock);
	for (unsigned int i = 0; i < cpus_nr_locked(); i++)
		if (apic_id_locked(i) == apic_id) {
			cpu = (int)i;
			break;
		}
	host_read_unlock(&cpus.lock);
	return cpu;
}

void host_doorbell_set_handler(host_doorbell_fn fn, void *opaque)
{
	host_write_lock(&cpus.lock);
	cpus.fn = fn;
	cpus.opaque = opaque;
	host_write_unlock(&cpus.lock);
}

void host_doorbell_ring(uint32_t host_apic_id)
{
	host_doorbell_fn fn;
	void *opaque;

	__atomic_add_fetch(&cpus.rings, 1, __ATOMIC_RELAXED);
	host_read_lock(&cpus.lock);
	fn = cpus.fn;
	opaque = cpus.opaque;
	host_read_unlock(&cpus.lock);
	if (fn)
		fn(host_apic_id, opaque);
}

uint64_t host_doorbell_count(void)
{
	return __atomic_load_n(&cpus.rings, __ATOMIC_RELAXED);
}
