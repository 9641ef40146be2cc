// SPDX-License-Identifier: MIT
/* AVIC tables, load/put/blocking and the logical table. */
#include <vintc/avic.h>

#include "avic_util.h"

TEST(avic_vm_without_vcpus_consumes_nothing)
{
	struct host_mem_stats s0 = host_mem_stats(HOST_TAG_NR);
	struct id_space *ids;
	struct vm *vm;

	ASSERT_OK(id_space_create(8, &ids));
	vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, ids);
	ASSERT_EQ(host_mem_stats(HOST_TAG_NR).pages, s0.pages);
	ASSERT_EQ(to_avic_vm(vm)->vm_id, 0);
	ASSERT_EQ(id_space_used(ids), 0);
	vm_destroy(vm);
	ASSERT_EQ(bytes_out(), s0.bytes);
	id_space_destroy(ids);
}

TEST(avic_precreate_idempotent)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC_4K, 0, NULL);
	struct avic_vm *k = to_avic_vm(vm);
	uint64_t *phys;
	uint32_t *logical, vm_id;

	avic_vcpu_new(vm, 0);
	phys = k->physical_table;
	logical = k->logical_table;
	vm_id = k->vm_id;
	ASSERT(phys && logical && vm_id);
	for (uint32_t i = 1; i < 200; i++)
		avic_vcpu_new(vm, i * 3);
	ASSERT(k->physical_table == phys);
	ASSERT(k->logical_table == logical);
	ASSERT_EQ(k->vm_id, vm_id);
	/* One physical run (8 pages for 0xFFF), one logical page, 200 backing pages. */
	ASSERT_EQ(host_mem_stats(HOST_TAG_AVIC_PHYS).page_allocs, 1);
	ASSERT_EQ(host_mem_stats(HOST_TAG_AVIC_PHYS).pages, 8);
	ASSERT_EQ(host_mem_stats(HOST_TAG_AVIC_LOGICAL).pages, 1);
	ASSERT_EQ(host_mem_stats(HOST_TAG_AVIC_BACKING).pages, 200);
	ASSERT_EQ(vm_nr_vcpus(vm), 200);
	vm_destroy(vm);
	ASSERT_EQ(pages_out(), 0);
}

TEST(avic_physical_table_sized_from_max_vcpu_ids)
{
	static const struct {
		enum avic_model model;
		uint32_t max_ids, max_id, pages;
	} cases[] = {
		{ AVIC_MODEL_XAVIC, 0, 0xFE, 1 },
		{ AVIC_MODEL_XAVIC, 4, 3, 1 },
		{ AVIC_MODEL_X2AVIC, 0, 0x1FF, 1 },
		{ AVIC_MODEL_X2AVIC_4K, 0, 0xFFF, 8 },
		{ AVIC_MODEL_X2AVIC_4K, 600, 599, 2 },	/* 4800 bytes: 2 pages */
		{ AVIC_MODEL_X2AVIC_4K, 1500, 1499, 4 },/* 12000 bytes: power-of-two run */
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vm *vm = avic_vm_new(cases[i].model, cases[i].max_ids, NULL);

		avic_vcpu_new(vm, 0);
		ASSERT_EQ(to_avic_vm(vm)->physical_max_id, cases[i].max_id);
		ASSERT_EQ(host_mem_stats(HOST_TAG_AVIC_PHYS).pages, cases[i].pages);
		vm_destroy(vm);
	}
}

TEST(avic_vmcb_fields)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC, 0, NULL);
	struct avic_vm *k = to_avic_vm(vm);
	struct vcpu *vcpu = avic_vcpu_new(vm, 2);
	struct avic_vcpu *v = to_avic_vcpu(vcpu);

	ASSERT_EQ(v->vmcb.avic_backing_page, v->backing_pa);
	ASSERT_EQ(v->vmcb.avic_logical_id, host_pa(k->logical_table));
	/* xAPIC mode: max index capped at 0xFE even with x2AVIC. */
	ASSERT_EQ(v->vmcb.avic_physical_id, host_pa(k->physical_table) | 0xFE);
	ASSERT_EQ(v->vmcb.avic_apic_bar, 0xFEE00000);
	ASSERT(v->vmcb.int_ctl & VMCB_INT_CTL_AVIC_ENABLE);
	ASSERT_EQ(v->vmcb.int_ctl & VMCB_INT_CTL_X2APIC_MODE, 0);
	ASSERT_EQ(v->vmcb.clean & VMCB_CLEAN_AVIC, 0);
	ASSERT_OK(avic_set_x2apic_mode(vcpu, true));
	ASSERT(v->vmcb.int_ctl & VMCB_INT_CTL_X2APIC_MODE);
	ASSERT_EQ(v->vmcb.avic_physical_id & VMCB_AVIC_PHYSICAL_MAX_INDEX, 0x1FF);
	/* The backing page starts as an APIC at reset. */
	ASSERT_EQ(*apic_reg(v->backing, APIC_ID), 2U << 24);
	ASSERT_EQ(*apic_reg(v->backing, APIC_DFR), 0xFFFFFFFF);
	ASSERT_EQ(*apic_reg(v->backing, APIC_SPIV), 0xFF);
	ASSERT_EQ(*apic_reg(v->backing, APIC_LVTT), 1U << 16);
	vm_destroy(vm);
}

TEST(avic_x2apic_refused_on_xavic)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *vcpu = avic_vcpu_new(vm, 0);

	ASSERT_EQ(avic_set_x2apic_mode(vcpu, true), -EOPNOTSUPP);
	ASSERT_EQ(to_avic_vcpu(vcpu)->vmcb.int_ctl & VMCB_INT_CTL_X2APIC_MODE, 0);
	vm_destroy(vm);
}

TEST(avic_vcpu_entry_initialised_valid)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *vcpu = avic_vcpu_new(vm, 7);
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	uint64_t want = v->backing_pa | AVIC_PHYSICAL_ID_ENTRY_VALID;

	ASSERT_EQ(to_avic_vm(vm)->physical_table[7], want);
	ASSERT_EQ(v->physical_entry, want);
	/* Neighbours untouched. */
	ASSERT_EQ(to_avic_vm(vm)->physical_table[6], 0);
	ASSERT_EQ(to_avic_vm(vm)->physical_table[8], 0);
	vm_destroy(vm);
}

TEST(avic_duplicate_vcpu_id_keeps_first_entry)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *vcpu = avic_vcpu_new(vm, 3), *dup = NULL;
	uint64_t e = avic_vcpu_table_entry(vcpu);

	ASSERT_EQ(vcpu_create(vm, 3, &dup), -EEXIST);
	ASSERT(dup == NULL);
	ASSERT_EQ(avic_vcpu_table_entry(vcpu), e);
	ASSERT_EQ(vm_nr_vcpus(vm), 1);
	ASSERT_EQ(host_mem_stats(HOST_TAG_AVIC_BACKING).pages, 1);
	ASSERT_EQ(vcpu_create(vm, 4096, &dup), -EINVAL);
	vm_destroy(vm);
}

TEST(avic_too_big_id_inhibits_not_fails)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *big;

	/* 1..0xFE must not inhibit (a regression once inhibited every ID > 0). */
	for (uint32_t id = 0; id <= 0xFE; id += 0x11)
		avic_vcpu_new(vm, id);
	ASSERT_EQ(avic_inhibits(vm), 0);
	big = avic_vcpu_new(vm, 0xFF);
	ASSERT_EQ(avic_inhibits(vm), BIT_ULL(AVIC_INHIBIT_PHYSICAL_ID_TOO_BIG));
	ASSERT(to_avic_vcpu(big)->physical_entry_ptr == NULL);
	ASSERT_EQ(to_avic_vcpu(big)->vmcb.int_ctl & VMCB_INT_CTL_AVIC_ENABLE, 0);
	ASSERT(!avic_apicv_active(vm));
	/* Inhibited: loads leave IsRunning clear; the guest runs on a software APIC. */
	ASSERT_OK(vcpu_load(vm_get_vcpu(vm, 0), 1));
	ASSERT_EQ(avic_vcpu_table_entry(vm_get_vcpu(vm, 0)) & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING, 0);
	vcpu_put(vm_get_vcpu(vm, 0));
	vm_destroy(vm);

	vm = avic_vm_new(AVIC_MODEL_X2AVIC, 0, NULL);
	avic_vcpu_new(vm, 0x1FF);
	ASSERT_EQ(avic_inhibits(vm), 0);
	avic_vcpu_new(vm, 0x200);
	ASSERT(avic_inhibits(vm) & BIT_ULL(AVIC_INHIBIT_PHYSICAL_ID_TOO_BIG));
	vm_destroy(vm);
}

TEST(avic_load_put_entry)
{
	static const uint32_t ids[] = { 0x10, 0x1A5, 0x3FF, 0xFFF };
	struct vm *vm;
	struct vcpu *vcpu;
	struct avic_vcpu *v;
	uint64_t base;

	ASSERT_OK(host_cpus_set(4, ids));
	vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	vcpu = avic_vcpu_new(vm, 1);
	v = to_avic_vcpu(vcpu);
	base = v->backing_pa | AVIC_PHYSICAL_ID_ENTRY_VALID;

	ASSERT_OK(vcpu_load(vcpu, 1));
	ASSERT_EQ(avic_vcpu_table_entry(vcpu), base | AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING | 0x1A5);
	ASSERT_EQ(vcpu_load(vcpu, 2), -EBUSY);
	vcpu_put(vcpu);
	/* Put keeps the last host APIC ID. */
	ASSERT_EQ(avic_vcpu_table_entry(vcpu), base | 0x1A5);
	ASSERT_EQ(v->physical_entry, base | 0x1A5);
	ASSERT_OK(vcpu_load(vcpu, 3));
	ASSERT_EQ(avic_vcpu_table_entry(vcpu), base | AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING | 0xFFF);
	vcpu_put(vcpu);
	ASSERT_EQ(vcpu_load(vcpu, 4), -EINVAL);
	ASSERT_EQ(vcpu_load(vcpu, -1), -EINVAL);
	vm_destroy(vm);
}

TEST(avic_blocking_and_preemption)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *vcpu = avic_vcpu_new(vm, 0);
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	uint64_t base = v->backing_pa | AVIC_PHYSICAL_ID_ENTRY_VALID;

	ASSERT_OK(vcpu_load(vcpu, 5));
	vcpu_blocking(vcpu);
	ASSERT_EQ(avic_vcpu_table_entry(vcpu), base | 5);
	ASSERT_EQ(v->physical_entry, base | 5 | AVIC_PHYSICAL_ID_ENTRY_GA_LOG_INTR);

	/* Preempted while blocking: put and load change nothing. */
	vcpu_put(vcpu);
	ASSERT_EQ(v->physical_entry, base | 5 | AVIC_PHYSICAL_ID_ENTRY_GA_LOG_INTR);
	ASSERT_OK(vcpu_load(vcpu, 9));
	ASSERT_EQ(avic_vcpu_table_entry(vcpu), base | 5);
	ASSERT_EQ(v->physical_entry, base | 5 | AVIC_PHYSICAL_ID_ENTRY_GA_LOG_INTR);

	/* Unblocking is a load on the current CPU. */
	vcpu_unblocking(vcpu);
	ASSERT_EQ(avic_vcpu_table_entry(vcpu), base | 9 | AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING);
	ASSERT_EQ(v->physical_entry, base | 9 | AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING);

	/* A plain put (not blocking) never sets GA_LOG_INTR. */
	vcpu_put(vcpu);
	ASSERT_EQ(v->physical_entry, base | 9);
	vm_destroy(vm);
}

TEST(avic_no_ipiv_keeps_isrunning_in_shadow)
{
	struct vm_config cfg = {
		.arch = VM_ARCH_AVIC,
		.avic = { .model = AVIC_MODEL_XAVIC, .disable_ipiv = true },
	};
	struct vm *vm;
	struct vcpu *vcpu;
	struct avic_vcpu *v;

	ASSERT_OK(vm_create(&cfg, &vm));
	vcpu = avic_vcpu_new(vm, 0);
	v = to_avic_vcpu(vcpu);
	ASSERT_EQ(avic_vcpu_table_entry(vcpu), v->backing_pa | AVIC_PHYSICAL_ID_ENTRY_VALID);
	ASSERT_OK(vcpu_load(vcpu, 4));
	ASSERT(v->physical_entry & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING);
	ASSERT_EQ(avic_vcpu_table_entry(vcpu) & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING, 0);
	/* Still valid: broadcasts must skip it silently, not exit. */
	ASSERT(avic_vcpu_table_entry(vcpu) & AVIC_PHYSICAL_ID_ENTRY_VALID);
	vcpu_put(vcpu);
	ASSERT_EQ(v->physical_entry & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING, 0);
	vm_destroy(vm);
}

TEST(avic_logical_index)
{
	/* Flat: one-hot logical ID -> bit number. */
	ASSERT_EQ(avic_logical_index(0x01000000, APIC_DFR_FLAT), 0);
	ASSERT_EQ(avic_logical_index(0x80000000, APIC_DFR_FLAT), 7);
	ASSERT_EQ(avic_logical_index(0x00000000, APIC_DFR_FLAT), -EINVAL);
	ASSERT_EQ(avic_logical_index(0x03000000, APIC_DFR_FLAT), -EINVAL);
	/* Cluster: (cluster << 2) + bit, cluster < 0xF. */
	ASSERT_EQ(avic_logical_index(0x01000000, APIC_DFR_CLUSTER), 0);
	ASSERT_EQ(avic_logical_index(0x28000000, APIC_DFR_CLUSTER), (2 << 2) + 3);
	ASSERT_EQ(avic_logical_index(0xE8000000, APIC_DFR_CLUSTER), 59);
	ASSERT_EQ(avic_logical_index(0xF1000000, APIC_DFR_CLUSTER), -EINVAL);
	ASSERT_EQ(avic_logical_index(0x20000000, APIC_DFR_CLUSTER), -EINVAL);
	ASSERT_EQ(avic_logical_index(0x23000000, APIC_DFR_CLUSTER), -EINVAL);
}

TEST(avic_logical_table_follows_ldr_dfr)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct avic_vm *k = to_avic_vm(vm);
	struct vcpu *a = avic_vcpu_new(vm, 0x21), *b = avic_vcpu_new(vm, 0x22);
	void *ra = to_avic_vcpu(a)->backing, *rb = to_avic_vcpu(b)->backing;

	*apic_reg(ra, APIC_LDR) = 0x04000000;
	avic_handle_ldr_update(a);
	ASSERT_EQ(k->logical_table[2], 0x80000021);

	/* LDR moves: old entry loses Valid before the new one appears. */
	*apic_reg(ra, APIC_LDR) = 0x10000000;
	avic_handle_ldr_update(a);
	ASSERT_EQ(k->logical_table[2], 0x00000021);
	ASSERT_EQ(k->logical_table[4], 0x80000021);

	/* DFR to cluster: the same LDR now means cluster 1, bit 0 -> index 4. */
	*apic_reg(ra, APIC_DFR) = APIC_DFR_CLUSTER;
	*apic_reg(ra, APIC_LDR) = 0x12000000;
	avic_handle_dfr_update(a);
	ASSERT_EQ(k->logical_table[4], 0x00000021);
	ASSERT_EQ(k->logical_table[5], 0x80000021);

	/* An LDR with no index leaves no entry. */
	*apic_reg(ra, APIC_LDR) = 0xF1000000;
	avic_handle_ldr_update(a);
	ASSERT_EQ(k->logical_table[5], 0x00000021);
	ASSERT_EQ(avic_inhibits(vm), 0);

	/* Two vCPUs on one logical ID: aliasing inhibits AVIC. */
	*apic_reg(ra, APIC_DFR) = APIC_DFR_FLAT;
	*apic_reg(ra, APIC_LDR) = 0x01000000;
	avic_handle_ldr_update(a);
	*apic_reg(rb, APIC_LDR) = 0x01000000;
	avic_handle_ldr_update(b);
	ASSERT_EQ(avic_inhibits(vm), BIT_ULL(AVIC_INHIBIT_LOGICAL_ID_ALIASED));
	ASSERT_EQ(k->logical_table[0], 0x80000022);
	/* a moving away must not clear b's entry. */
	*apic_reg(ra, APIC_LDR) = 0x02000000;
	avic_handle_ldr_update(a);
	ASSERT_EQ(k->logical_table[0], 0x80000022);
	ASSERT_EQ(k->logical_table[1], 0x80000021);

	/* x2APIC does not use the table. */
	ASSERT_EQ(avic_set_x2apic_mode(a, true), -EOPNOTSUPP);
	vm_destroy(vm);
}

TEST(avic_x2apic_mode_drops_logical_entry)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC, 0, NULL);
	struct avic_vm *k = to_avic_vm(vm);
	struct vcpu *a = avic_vcpu_new(vm, 1);

	*apic_reg(to_avic_vcpu(a)->backing, APIC_LDR) = 0x08000000;
	avic_handle_ldr_update(a);
	ASSERT_EQ(k->logical_table[3], 0x80000001);
	ASSERT_OK(avic_set_x2apic_mode(a, true));
	ASSERT_EQ(k->logical_table[3], 0x00000001);
	avic_handle_ldr_update(a);
	ASSERT_EQ(k->logical_table[3], 0x00000001);
	ASSERT_OK(avic_set_x2apic_mode(a, false));
	ASSERT_EQ(k->logical_table[3], 0x80000001);
	vm_destroy(vm);
}

/* The accessors engines and tools use say what the private structs hold. */
TEST(avic_accessors_match_the_state)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 4, NULL);
	struct avic_vm *k = to_avic_vm(vm);
	struct avic_vm_info info;
	struct vcpu *a;

	avic_vm_info(vm, &info);
	ASSERT_EQ(info.vm_id, 0);
	ASSERT_EQ(info.physical_table_pa, 0);
	ASSERT_EQ(info.physical_entries, 0);
	ASSERT_EQ(info.logical_table_pa, 0);
	ASSERT_EQ(avic_vm_physical_entry(vm, 0), 0);
	ASSERT_EQ(avic_vm_logical_entry(vm, 0), 0);
	a = avic_vcpu_new(vm, 2);
	avic_vm_info(vm, &info);
	ASSERT_EQ(info.vm_id, k->vm_id);
	ASSERT(info.vm_id != 0);
	ASSERT(info.ids == k->ids);
	ASSERT_EQ(info.physical_table_pa, host_pa(k->physical_table));
	ASSERT_EQ(info.physical_max_id, 3);
	ASSERT_EQ(info.physical_entries, 4);
	ASSERT_EQ(info.logical_table_pa, host_pa(k->logical_table));
	ASSERT_EQ(avic_vm_physical_entry(vm, 2), k->physical_table[2]);
	ASSERT(avic_vm_physical_entry(vm, 2) & AVIC_PHYSICAL_ID_ENTRY_VALID);
	ASSERT_EQ(avic_vm_physical_entry(vm, 4), 0);	/* past the end */
	*apic_reg(avic_vcpu_backing(a), APIC_LDR) = 0x04000000;
	avic_handle_ldr_update(a);
	ASSERT_EQ(avic_vm_logical_entry(vm, 2), 0x80000002);
	ASSERT_EQ(avic_vm_logical_entry(vm, AVIC_LOGICAL_TABLE_ENTRIES), 0);
	ASSERT(avic_vcpu_backing(a) == to_avic_vcpu(a)->backing);
	ASSERT_EQ(avic_vcpu_backing_pa(a), to_avic_vcpu(a)->backing_pa);
	ASSERT(avic_vcpu_vmcb(a) == &to_avic_vcpu(a)->vmcb);
	ASSERT(avic_vcpu_has_table_entry(a));
	vm_destroy(vm);
}
