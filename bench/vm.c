// SPDX-License-Identifier: MIT
/*
 * Cost of an AVIC VM's lifetime: create the VM and N vCPUs, load each on a
 * host CPU and put it (what a first VMRUN would need), destroy.  Reports
 * time, peak pages against the architectural minimum, and the small
 * allocations the VM holds, and checks that destruction returns every
 * page.
 */
#include <stdio.h>

#include <vintc/avic.h>
#include <vintc/vm.h>

#include "bench.h"

#define VM_MIN_NS	(NSEC_PER_SEC / 4)
#define VM_MIN_REPS	5

struct vm_sample {
	uint64_t create_ns, destroy_ns;
	uint64_t peak_pages;
	uint64_t bytes, id_bytes;	/* small allocations while it exists */
};

/* The smallest CPU model whose physical table indexes IDs 0..n-1. */
static enum avic_model smallest_model(uint32_t n)
{
	static const enum avic_model models[] = {
		AVIC_MODEL_XAVIC, AVIC_MODEL_X2AVIC, AVIC_MODEL_X2AVIC_4K,
	};

	for (size_t i = 0; i < ARRAY_SIZE(models); i++)
		if (n - 1 <= avic_model_max_id(models[i]))
			return models[i];
	bench_die("%u vCPUs: no AVIC model holds their IDs", n);
}

static const char *model_name(enum avic_model m)
{
	switch (m) {
	case AVIC_MODEL_XAVIC:
		return "xAVIC";
	case AVIC_MODEL_X2AVIC:
		return "x2AVIC";
	case AVIC_MODEL_X2AVIC_4K:
		return "x2AVIC_4K";
	}
	return "?";
}

/*
 * What the hardware needs and nothing more: a physical table covering
 * the highest index in use, the one logical table page, a backing page
 * per vCPU.
 */
static uint64_t min_pages(uint32_t n, enum avic_model m)
{
	uint32_t max_index = n - 1 < avic_model_max_id(m) ? n - 1 : avic_model_max_id(m);
	uint64_t phys = ((uint64_t)max_index + 1) * sizeof(uint64_t);

	return (phys + HOST_PAGE_SIZE - 1) / HOST_PAGE_SIZE + 1 + n;
}

static void create_vcpus(struct vm *vm, uint32_t n)
{
	unsigned int ncpus = host_cpus_nr();
	struct vcpu *vcpu;
	int err;

	for (uint32_t i = 0; i < n; i++) {
		err = vcpu_create(vm, i, &vcpu);
		if (err)
			bench_die("vcpu_create(%u) failed: %d", i, err);
		err = vcpu_load(vcpu, (int)(i % ncpus));
		if (err)
			bench_die("vcpu_load(%u) failed: %d", i, err);
		vcpu_put(vcpu);
	}
}

/* Accounting reads sit between the two timed halves, outside both. */
static void vm_cycle(uint32_t n, enum avic_model m, struct vm_sample *s)
{
	struct vm_config cfg = {
		.arch = VM_ARCH_AVIC,
		.max_vcpus = n,
		.max_vcpu_ids = n,
		.avic = { .model = m },
	};
	uint64_t t0, t1;
	struct vm *vm;
	int err;

	host_mem_reset_peak();
	t0 = bench_now_ns();
	err = vm_create(&cfg, &vm);
	if (err)
		bench_die("vm_create(%u vCPUs) failed: %d", n, err);
	create_vcpus(vm, n);
	t1 = bench_now_ns();
	s->create_ns = t1 - t0;

	s->peak_pages = host_mem_peak_pages();
	s->bytes = host_mem_stats(HOST_TAG_NR).bytes;
	s->id_bytes = host_mem_stats(HOST_TAG_IDS).bytes;

	t0 = bench_now_ns();
	vm_destroy(vm);
	t1 = bench_now_ns();
	s->destroy_ns = t1 - t0;

	if (host_mem_stats(HOST_TAG_NR).pages)
		bench_die("%u vCPUs: %llu pages still allocated after vm_destroy",
			  n, (unsigned long long)host_mem_stats(HOST_TAG_NR).pages);
}

static void bench_vm_size(uint32_t n)
{
	enum avic_model m = smallest_model(n);
	uint64_t create = 0, destroy = 0, reps = 0, minp = min_pages(n, m);
	struct vm_sample s, first;

	/*
	 * Everything below is measured from zero: the ID benchmark has freed
	 * its allocators, and nothing else holds pages.
	 */
	if (host_mem_stats(HOST_TAG_NR).pages || host_mem_stats(HOST_TAG_NR).bytes)
		bench_die("pages or bytes outstanding before the VM benchmark");
	do {
		vm_cycle(n, m, &s);
		if (!reps)
			first = s;
		else if (s.peak_pages != first.peak_pages || s.bytes != first.bytes)
			bench_die("%u vCPUs: footprint changed between repetitions", n);
		create += s.create_ns;
		destroy += s.destroy_ns;
		reps++;
	} while (create + destroy < VM_MIN_NS || reps < VM_MIN_REPS);

	printf("%6u %-10s %6llu %11.1f %9.1f %9.2f %8llu %7llu %7.3f %9llu %7llu %7.0f\n",
	       n, model_name(m), (unsigned long long)reps,
	       (double)(create + destroy) / (double)reps / 1e3,
	       (double)destroy / (double)reps / 1e3,
	       (double)(create + destroy) / (double)reps / 1e3 / n,
	       (unsigned long long)first.peak_pages, (unsigned long long)minp,
	       (double)first.peak_pages / (double)minp,
	       (unsigned long long)first.bytes, (unsigned long long)first.id_bytes,
	       (double)first.bytes / n);
	fflush(stdout);
}

void bench_vm(void)
{
	static const uint32_t sizes[] = { 1, 64, 512, 4096 };

	printf("== AVIC VM create + destroy: N vCPUs (IDs 0..N-1), each loaded on "
	       "host CPU i %% %u and put ==\n", host_cpus_nr());
	printf("mean over >= %d reps and >= %.2f s; pages checked to return to 0 "
	       "after every destroy\n", VM_MIN_REPS, (double)VM_MIN_NS / 1e9);
	printf("%6s %-10s %6s %11s %9s %9s %8s %7s %7s %9s %7s %7s\n",
	       "vCPUs", "model", "reps", "us/cycle", "destroy", "us/vCPU",
	       "peak pg", "min pg", "pk/min", "small B", "ID B", "B/vCPU");
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		bench_vm_size(sizes[i]);
	printf("us/cycle: create + destroy; destroy: its share.  min pg: physical "
	       "table + 1 logical + N backing pages.\n");
	printf("small B: host_zalloc bytes while the VM exists (ID B: the VM-ID "
	       "allocator leaf among them).\n");
}
