// SPDX-License-Identifier: MIT
/* The lifecycle rules of ../shared/design.md, one test each. */
#include <string.h>

#include <vintc/avic.h>

#include "avic_util.h"
#include "campaign_util.h"

/* Rule: no unwinding in pre-create; destroy frees what a failure left. */
TEST(lifecycle_failed_precreate_then_destroy_frees_all)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct avic_vm *k = to_avic_vm(vm);
	struct vcpu *vcpu = NULL;

	host_fault_reset();
	host_fault_arm_site("avic.logical_table", 0);
	ASSERT_EQ(vcpu_create(vm, 0, &vcpu), -ENOMEM);
	host_fault_disarm();
	/* The physical table made before the failure stays in place. */
	ASSERT(k->physical_table != NULL);
	ASSERT(k->logical_table == NULL);
	ASSERT_EQ(k->vm_id, 0);
	ASSERT_EQ(vm_nr_vcpus(vm), 0);
	ASSERT_EQ(vm->created_vcpus, 0);
	ASSERT_EQ(pages_out(), 1);
	vm_destroy(vm);
	ASSERT_EQ(pages_out(), 0);
	ASSERT_EQ(host_mem_stats(HOST_TAG_VM).bytes, 0);
}

/* Rule: the next pre-create fills in the rest. */
TEST(lifecycle_retry_after_failed_precreate)
{
	static const char *const sites[] = {
		"avic.physical_table", "avic.logical_table", "ids.leaf",
		"vcpu.alloc", "avic.backing_page",
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(sites); i++) {
		struct id_space *ids;
		struct vm *vm;
		struct vcpu *vcpu = NULL;
		uint64_t *phys;

		ASSERT_OK(id_space_create(12, &ids));
		vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, ids);
		host_fault_reset();
		host_fault_arm_site(sites[i], 0);
		ASSERT_EQ(vcpu_create(vm, 1, &vcpu), -ENOMEM);
		host_fault_disarm();
		ASSERT_EQ(host_fault_injected(), 1);
		phys = to_avic_vm(vm)->physical_table;
		vcpu = avic_vcpu_new(vm, 1);
		ASSERT(phys == NULL || to_avic_vm(vm)->physical_table == phys);
		ASSERT_EQ(vm_nr_vcpus(vm), 1);
		ASSERT_EQ(vcpu->vcpu_idx, 0);
		ASSERT_EQ(id_space_used(ids), 1);
		ASSERT_OK(avic_ga_tag_resolve(ids, avic_vcpu_gatag(vcpu), NULL, NULL));
		ASSERT_EQ(avic_vcpu_table_entry(vcpu),
			  to_avic_vcpu(vcpu)->backing_pa | AVIC_PHYSICAL_ID_ENTRY_VALID);
		vm_destroy(vm);
		ASSERT_EQ(id_space_used(ids), 0);
		ASSERT_EQ(pages_out(), 0);
		id_space_destroy(ids);
	}
}

static void mark(struct vcpu *vcpu, void *arg)
{
	*(struct vcpu **)arg = vcpu;
}

/* Rule: a VM leaves every global lookup before its vCPUs are destroyed. */
TEST(lifecycle_pre_destroy_unhashes_before_vcpus_go)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC, 0, NULL);
	struct vcpu *vcpu;
	struct vcpu *found = NULL;
	uint32_t tag;

	avic_vcpu_new(vm, 0);
	vcpu = avic_vcpu_new(vm, 300);
	tag = avic_vcpu_gatag(vcpu);
	ASSERT_OK(avic_ga_tag_resolve(NULL, tag, mark, &found));
	ASSERT(found == vcpu);
	vm_pre_destroy(vm);
	ASSERT_EQ(avic_ga_tag_resolve(NULL, tag, mark, &found), -ENOENT);
	/* vCPUs still exist at this point. */
	ASSERT_EQ(vm_nr_vcpus(vm), 2);
	ASSERT(vm_get_vcpu(vm, 1) == vcpu);
	vm_pre_destroy(vm);	/* idempotent */
	vm_destroy(vm);
}

/* Rule: teardown works from any partial state and is safe to call twice. */
TEST(lifecycle_teardown_twice_from_partial_states)
{
	for (unsigned int fail = 0; fail < 6; fail++) {
		struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
		struct vcpu *vcpu = NULL;

		host_fault_reset();
		if (fail)
			host_fault_arm_nth(fail);
		vcpu_create(vm, 0, &vcpu);
		host_fault_disarm();
		avic_vm_teardown(vm);
		avic_vm_teardown(vm);
		ASSERT(to_avic_vm(vm)->physical_table == NULL);
		ASSERT_EQ(to_avic_vm(vm)->vm_id, 0);
		vm_destroy(vm);
		ASSERT_EQ(pages_out(), 0);
		ASSERT_EQ(bytes_out(), 0);
	}
}

/* Rule: running out of VM IDs is an answer, not a log message. */
TEST(lifecycle_vm_id_exhaustion_is_quiet_enospc)
{
	struct vm *vms[4];
	struct id_space *ids;
	struct vcpu *vcpu = NULL;
	uint64_t logs;

	host_log_set_level(HOST_LOG_DEBUG);
	ASSERT_OK(id_space_create(2, &ids));	/* IDs 1..3 */
	for (int i = 0; i < 3; i++) {
		vms[i] = avic_vm_new(AVIC_MODEL_XAVIC, 0, ids);
		avic_vcpu_new(vms[i], 0);
		ASSERT_EQ(to_avic_vm(vms[i])->vm_id, i + 1);
	}
	vms[3] = avic_vm_new(AVIC_MODEL_XAVIC, 0, ids);
	logs = host_log_count();
	ASSERT_EQ(vcpu_create(vms[3], 0, &vcpu), -ENOSPC);
	ASSERT_EQ(host_log_count(), logs);
	ASSERT_EQ(vm_nr_vcpus(vms[3]), 0);
	/* Recovery: free one, the waiting VM's retry gets its ID. */
	vm_destroy(vms[1]);
	vcpu = avic_vcpu_new(vms[3], 0);
	ASSERT_EQ(to_avic_vm(vms[3])->vm_id, 2);
	vm_destroy(vms[0]);
	vm_destroy(vms[2]);
	vm_destroy(vms[3]);
	ASSERT_EQ(id_space_used(ids), 0);
	id_space_destroy(ids);
}

/* Rule: the count of vCPUs is read from the VM, never kept twice. */
TEST(lifecycle_vcpu_count_lives_in_vm)
{
	struct vm_config cfg = { .arch = VM_ARCH_AVIC, .max_vcpus = 3 };
	struct vm *vm;
	struct vcpu *vcpu = NULL;

	ASSERT_OK(vm_create(&cfg, &vm));
	avic_vcpu_new(vm, 10);
	host_fault_reset();
	host_fault_arm_site("avic.backing_page", 0);
	ASSERT_EQ(vcpu_create(vm, 11, &vcpu), -ENOMEM);
	host_fault_disarm();
	ASSERT_EQ(vm_nr_vcpus(vm), 1);
	ASSERT_EQ(vm->created_vcpus, 1);
	avic_vcpu_new(vm, 11);
	avic_vcpu_new(vm, 12);
	ASSERT_EQ(vcpu_create(vm, 13, &vcpu), -EINVAL);	/* max_vcpus reached */
	ASSERT_EQ(vm_nr_vcpus(vm), 3);
	ASSERT_EQ(vm_get_vcpu(vm, 2)->vcpu_id, 12);
	ASSERT(vm_get_vcpu(vm, 3) == NULL);
	ASSERT(vm_get_vcpu_by_id(vm, 11) == vm_get_vcpu(vm, 1));
	vm_destroy(vm);
}

/* The backend is chosen once; a VM with no acceleration consumes nothing. */
TEST(lifecycle_arch_none)
{
	struct vm_config cfg = { .arch = VM_ARCH_NONE };
	struct vm *vm;
	struct vcpu *vcpu;

	ASSERT_OK(vm_create(&cfg, &vm));
	ASSERT_OK(vcpu_create(vm, 0, &vcpu));
	ASSERT_OK(vcpu_load(vcpu, 0));
	vcpu_put(vcpu);
	ASSERT_EQ(pages_out(), 0);
	ASSERT_EQ(vcpu_block(vcpu, 1000000), -ETIMEDOUT);
	vm_destroy(vm);
	cfg.arch = VM_ARCH_NR;
	ASSERT_EQ(vm_create(&cfg, &vm), -EINVAL);
	cfg.arch = VM_ARCH_AVIC;
	cfg.max_vcpus = VM_MAX_VCPUS + 1;
	ASSERT_EQ(vm_create(&cfg, &vm), -EINVAL);
}

static void campaign(uint32_t nvcpus, enum avic_model model, uint64_t min_sites)
{
	struct campaign_opts o = { .vcpus = nvcpus, .model = model };
	struct campaign_result r;

	ASSERT_OK(campaign_avic(&o, &r));
	campaign_check_clean(&r);
	ASSERT(r.sites >= min_sites);
	ASSERT_EQ(pages_out(), 0);
}

/* Exhaustive fault injection: every site fails once, then destroy. */
TEST(faults_avic_1_vcpu)
{
	/* vm.alloc, vm.vcpus, vm.vcpu_ids, 2 tables, ids.leaf, vcpu.alloc, backing. */
	campaign(1, AVIC_MODEL_XAVIC, 8);
}

TEST(faults_avic_2_vcpus)
{
	campaign(2, AVIC_MODEL_XAVIC, 10);
}

TEST(faults_avic_64_vcpus)
{
	campaign(64, AVIC_MODEL_X2AVIC, 6 + 2 * 64);
}

/* Sites are numbered the same way on every run, with their names. */
TEST(faults_site_enumeration_is_deterministic)
{
	uint64_t n1 = 0, n2 = 0;
	struct vm *vm;

	for (int pass = 0; pass < 2; pass++) {
		host_fault_reset();
		vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
		avic_vcpu_new(vm, 0);
		avic_vcpu_new(vm, 1);
		vm_destroy(vm);
		if (pass == 0)
			n1 = host_fault_count();
		else
			n2 = host_fault_count();
	}
	ASSERT_EQ(n1, n2);
	/* VM: 3 allocations; first vCPU: 2 tables + ID leaf; each vCPU: 2. */
	ASSERT_EQ(n1, 3 + 3 + 2 * 2);
	ASSERT(!strcmp(host_fault_site_name(1), "vm.alloc"));
	ASSERT(!strcmp(host_fault_site_name(4), "avic.physical_table"));
	ASSERT(!strcmp(host_fault_site_name(5), "avic.logical_table"));
	ASSERT(!strcmp(host_fault_site_name(6), "ids.leaf"));
	ASSERT(!strcmp(host_fault_site_name(8), "avic.backing_page"));
	ASSERT(host_fault_site_name(n1 + 1) == NULL);
}

static void kick_hook(struct vcpu *vcpu, void *opaque)
{
	uint32_t *calls = opaque;

	calls[vcpu->vcpu_idx]++;
}

/* vcpu_kick: a wake (for a blocked vCPU), then the engine's hook, one vCPU only. */
TEST(lifecycle_vcpu_kick_wakes_and_calls_the_hook)
{
	struct vm_config cfg = { .arch = VM_ARCH_NONE };
	struct vcpu *a = NULL, *b = NULL;
	uint32_t calls[2] = { 0 };
	struct vm *vm = NULL;
	uint32_t seq;

	ASSERT_OK(vm_create(&cfg, &vm));
	ASSERT_OK(vcpu_create(vm, 0, &a));
	ASSERT_OK(vcpu_create(vm, 1, &b));
	/* No hook: a kick is a wake. */
	seq = a->wake_seq;
	vcpu_kick(a);
	ASSERT_EQ(a->wake_seq, seq + 1);
	vm_set_kick(vm, kick_hook, calls);
	vcpu_kick(b);
	ASSERT_EQ(calls[0], 0);
	ASSERT_EQ(calls[1], 1);
	/* A blocked vCPU is woken (and counted as such) as well as kicked. */
	vcpu_blocking(a);
	vcpu_kick(a);
	ASSERT_EQ(a->wakeups, 1);
	ASSERT_EQ(calls[0], 1);
	vcpu_unblocking(a);
	vm_set_kick(vm, NULL, NULL);
	vcpu_kick(b);
	ASSERT_EQ(calls[1], 1);
	vm_destroy(vm);
}
