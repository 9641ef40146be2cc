/* SPDX-License-Identifier: MIT */
/*
 * Baseline for the VM-ID benchmark: KVM's AVIC VM ID allocator, rewritten
 * from its description (../shared/reference/avic.md section 1.6).
 *
 * A rotating next_id, a wrapped flag, and a 256-bucket hash of the live
 * IDs.  Before the first wrap every ID is known free; after it, each
 * candidate is checked by walking its hash chain.  Unlike KVM, the loop
 * is bounded (one try per ID) and ends in -ENOSPC.
 */
#ifndef VINTC_BENCH_KVM_VMID_H
#define VINTC_BENCH_KVM_VMID_H

#include <stdbool.h>
#include <stdint.h>

#include <vintc/host.h>

#define KVM_VMID_HASH_BITS 8
#define KVM_VMID_HASH_SIZE (1U << KVM_VMID_HASH_BITS)

/* An hlist node: O(1) unlink through pprev, as KVM's hash_del(). */
struct kvm_vmid_node {
	struct kvm_vmid_node *next, **pprev;
	uint32_t id;
};

struct kvm_vmid {
	struct host_mutex lock;		/* KVM's svm_vm_data_hash_lock */
	uint32_t mask, next_id;
	bool wrapped;
	struct kvm_vmid_node *hash[KVM_VMID_HASH_SIZE];
	/*
	 * nodes[id] stands in for the struct kvm_svm that owns the ID and
	 * embeds the hash node.
	 */
	struct kvm_vmid_node *nodes;
	/* Statistics, to explain the timings. */
	uint64_t allocs, candidates, walked;
};

int kvm_vmid_init(struct kvm_vmid *k, unsigned int bits);
void kvm_vmid_destroy(struct kvm_vmid *k);
/* Hash an ID as live without the search: to build a starting state. */
void kvm_vmid_insert(struct kvm_vmid *k, uint32_t id);
int kvm_vmid_alloc(struct kvm_vmid *k, uint32_t *id);
void kvm_vmid_free(struct kvm_vmid *k, uint32_t id);

#endif
