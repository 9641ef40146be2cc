// SPDX-License-Identifier: MIT
/*
 * Model host CPUs.  Each has a host APIC ID, the value the physical APIC ID
 * table's host-ID field and the doorbell MSR carry; IDs above 255 exercise
 * the field's 12-bit width.
 *
 * The topology and the doorbell handler are set while nothing runs (at
 * setup and teardown); readers are on every IPI's path, so they read
 * without the lock, with relaxed atomics that keep them race-free.
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

static unsigned int cpus_nr(void)
{
	unsigned int nr = __atomic_load_n(&cpus.nr, __ATOMIC_ACQUIRE);

	return nr ? nr : DEFAULT_CPUS;
}

static uint32_t apic_id_of(unsigned int cpu)
{
	return __atomic_load_n(&cpus.nr, __ATOMIC_ACQUIRE) ?
	       __atomic_load_n(&cpus.apic_id[cpu], __ATOMIC_RELAXED) : cpu;
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
	for (unsigned int i = 0; i < nr; i++)
		__atomic_store_n(&cpus.apic_id[i], apic_ids ? apic_ids[i] : i, __ATOMIC_RELAXED);
	__atomic_store_n(&cpus.nr, nr, __ATOMIC_RELEASE);
	host_write_unlock(&cpus.lock);
	return 0;
}

unsigned int host_cpus_nr(void)
{
	unsigned int nr;

	nr = cpus_nr();
	return nr;
}

int host_cpu_apic_id(int cpu)
{
	int id = -EINVAL;

	if (cpu >= 0 && (unsigned int)cpu < cpus_nr())
		id = (int)apic_id_of((unsigned int)cpu);
	return id;
}

int host_cpu_from_apic_id(uint32_t apic_id)
{
	int cpu = -ENOENT;

	for (unsigned int i = 0; i < cpus_nr(); i++)
		if (apic_id_of(i) == apic_id) {
			cpu = (int)i;
			break;
		}
	return cpu;
}

void host_doorbell_set_handler(host_doorbell_fn fn, void *opaque)
{
	host_write_lock(&cpus.lock);
	__atomic_store_n(&cpus.opaque, opaque, __ATOMIC_RELAXED);
	__atomic_store_n(&cpus.fn, fn, __ATOMIC_RELEASE);
	host_write_unlock(&cpus.lock);
}

void host_doorbell_ring(uint32_t host_apic_id)
{
	host_doorbell_fn fn;
	void *opaque;

	__atomic_add_fetch(&cpus.rings, 1, __ATOMIC_RELAXED);
	fn = __atomic_load_n(&cpus.fn, __ATOMIC_ACQUIRE);
	opaque = __atomic_load_n(&cpus.opaque, __ATOMIC_RELAXED);
	if (fn)
		fn(host_apic_id, opaque);
}

uint64_t host_doorbell_count(void)
{
	return __atomic_load_n(&cpus.rings, __ATOMIC_RELAXED);
}
