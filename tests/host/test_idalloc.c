// SPDX-License-Identifier: MIT
/* VM ID allocation and the GA-tag lookup. */
#include <stdlib.h>
#include <string.h>

#include <vintc/avic.h>

#include "avic_util.h"

static char owners[64];

TEST(ids_one_based_rotating_wraps_around_live_ids)
{
	struct id_space *s;
	uint32_t id;

	ASSERT_OK(id_space_create(4, &s));	/* IDs 1..15 */
	ASSERT_EQ(id_space_max(s), 15);
	for (uint32_t i = 1; i <= 15; i++) {
		ASSERT_OK(id_alloc(s, &owners[i], &id));
		ASSERT_EQ(id, i);
	}
	ASSERT_EQ(id_alloc(s, &owners[0], &id), -ENOSPC);
	id_free(s, 3);
	id_free(s, 7);
	id_free(s, 12);
	/* Wraps past the live 1, 2 to the first free. */
	ASSERT_OK(id_alloc(s, &owners[20], &id));
	ASSERT_EQ(id, 3);
	/* Rotation: the next search starts after 3. */
	id_free(s, 2);
	ASSERT_OK(id_alloc(s, &owners[21], &id));
	ASSERT_EQ(id, 7);
	ASSERT_OK(id_alloc(s, &owners[22], &id));
	ASSERT_EQ(id, 12);
	ASSERT_OK(id_alloc(s, &owners[23], &id));
	ASSERT_EQ(id, 2);
	ASSERT_EQ(id_alloc(s, &owners[0], &id), -ENOSPC);
	ASSERT_EQ(id_space_used(s), 15);
	id_space_read_lock(s);
	ASSERT(id_lookup_locked(s, 7) == &owners[21]);
	ASSERT(id_lookup_locked(s, 0) == NULL);
	ASSERT(id_lookup_locked(s, 16) == NULL);
	ASSERT(id_lookup_locked(s, 0xFFFFFFFF) == NULL);
	id_space_read_unlock(s);
	id_space_destroy(s);
}

TEST(ids_free_is_quiet_and_bounded)
{
	struct id_space *s;
	uint32_t id;

	ASSERT_OK(id_space_create(3, &s));
	ASSERT_OK(id_alloc(s, &owners[1], &id));
	id_free(s, 0);		/* never allocated: ignored */
	id_free(s, 99);
	id_free(s, 5);
	ASSERT_EQ(id_space_used(s), 1);
	id_free(s, id);
	id_free(s, id);		/* twice: ignored */
	ASSERT_EQ(id_space_used(s), 0);
	ASSERT_EQ(id_alloc(s, NULL, &id), -EINVAL);
	ASSERT_EQ(id_space_create(0, &s), -EINVAL);
	ASSERT_EQ(id_space_create(ID_SPACE_MAX_BITS + 1, &s), -EINVAL);
	id_space_destroy(NULL);
}

TEST(ids_retired_never_reused)
{
	struct id_space *s;
	uint32_t id, got;

	ASSERT_OK(id_space_create(2, &s));	/* 1..3 */
	ASSERT_OK(id_alloc(s, &owners[1], &id));
	id_retire(s, id);
	ASSERT_EQ(id_space_retired(s), 1);
	for (int round = 0; round < 5; round++) {
		uint32_t a, b;

		ASSERT_OK(id_alloc(s, &owners[2], &a));
		ASSERT_OK(id_alloc(s, &owners[3], &b));
		ASSERT_NE(a, id);
		ASSERT_NE(b, id);
		ASSERT_EQ(id_alloc(s, &owners[4], &got), -ENOSPC);
		id_free(s, a);
		id_free(s, b);
	}
	id_space_read_lock(s);
	ASSERT(id_lookup_locked(s, id) == NULL);
	id_space_read_unlock(s);
	id_free(s, id);		/* a retired ID cannot be freed */
	ASSERT_EQ(id_space_used(s), 1);
	id_space_destroy(s);
}

/* Full 20-bit space: exhaustion answers at once, leaves come and go. */
TEST(ids_full_space_exhaustion_and_recovery)
{
	struct id_space *s;
	uint64_t t0, t1;
	uint32_t id;

	ASSERT_OK(id_space_create(AVIC_VM_ID_BITS, &s));
	for (uint32_t i = 1; i <= AVIC_VM_ID_MAX; i++) {
		ASSERT_OK(id_alloc(s, &owners[1], &id));
		ASSERT_EQ(id, i);
	}
	t0 = host_now_ns();
	ASSERT_EQ(id_alloc(s, &owners[1], &id), -ENOSPC);
	t1 = host_now_ns();
	ASSERT((t1 - t0) < 100000000ULL);	/* not a loop over 2^20 IDs forever */
	id_free(s, 777777);
	ASSERT_OK(id_alloc(s, &owners[2], &id));
	ASSERT_EQ(id, 777777);
	for (uint32_t i = 1; i <= AVIC_VM_ID_MAX; i++)
		id_free(s, i);
	ASSERT_EQ(id_space_used(s), 0);
	ASSERT_EQ(host_mem_stats(HOST_TAG_IDS).bytes, 0);
	id_space_destroy(s);
}

/*
 * 10^6 VM create/destroy cycles over an 8-bit space (it wraps thousands of
 * times) with 100 VMs alive at any moment: a new VM never gets a live ID.
 */
TEST(ids_million_vm_cycles_never_reuse_live)
{
	enum { LIVE = 100, CYCLES = 1000000 };
	static struct vm *ring[LIVE];
	static uint8_t live[256];
	struct id_space *ids;
	uint64_t cycles = CYCLES;
	const char *env = getenv("VINTC_TEST_SCALE");

	if (env && atoi(env) > 0)
		cycles /= (uint64_t)atoi(env);
	ASSERT_OK(id_space_create(8, &ids));
	for (uint64_t c = 0; c < cycles; c++) {
		struct vm *vm = ring[c % LIVE];
		struct vcpu *vcpu;
		uint32_t id;

		if (vm) {
			live[to_avic_vm(vm)->vm_id] = 0;
			vm_destroy(vm);
		}
		vm = avic_vm_new(AVIC_MODEL_XAVIC, 1, ids);
		ASSERT_OK(vcpu_create(vm, 0, &vcpu));
		id = to_avic_vm(vm)->vm_id;
		ASSERT(id >= 1 && id <= 255);
		if (live[id])
			test_fail(__FILE__, __LINE__, "cycle %" PRIu64 ": ID %u handed out while live",
				  c, id);
		live[id] = 1;
		ring[c % LIVE] = vm;
	}
	for (int i = 0; i < LIVE; i++)
		vm_destroy(ring[i]);
	ASSERT_EQ(id_space_used(ids), 0);
	ASSERT_EQ(pages_out(), 0);
	id_space_destroy(ids);
}

struct found {
	struct vcpu *vcpu;
	int calls;
};

static void record(struct vcpu *vcpu, void *arg)
{
	struct found *f = arg;

	f->vcpu = vcpu;
	f->calls++;
}

TEST(ids_ga_tag_resolves_dense_index)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC_4K, 0, NULL);
	struct vcpu *vcpus[400];
	struct found f;

	/* Sparse IDs, dense indexes: the tag carries the index. */
	for (int i = 0; i < 400; i++)
		vcpus[i] = avic_vcpu_new(vm, (uint32_t)(i * 10));
	for (int i = 0; i < 400; i += 37) {
		memset(&f, 0, sizeof(f));
		ASSERT_OK(avic_ga_tag_resolve(NULL, avic_vcpu_gatag(vcpus[i]), record, &f));
		ASSERT(f.vcpu == vcpus[i]);
		ASSERT_EQ(f.calls, 1);
	}
	/* Index 300 must not resolve to index 44 (the 24/8 truncation). */
	memset(&f, 0, sizeof(f));
	ASSERT_OK(avic_ga_tag_resolve(NULL, avic_vcpu_gatag(vcpus[300]), record, &f));
	ASSERT_EQ(f.vcpu->vcpu_id, 3000);
	/* Out of range index, unknown VM ID, ID 0. */
	ASSERT_EQ(avic_ga_tag_resolve(NULL, avic_gatag(to_avic_vm(vm)->vm_id, 400), record, &f), -ENOENT);
	ASSERT_EQ(avic_ga_tag_resolve(NULL, avic_gatag(0xFFFFF, 0), record, &f), -ENOENT);
	ASSERT_EQ(avic_ga_tag_resolve(NULL, avic_gatag(0, 0), record, &f), -ENOENT);
	vm_destroy(vm);
}
