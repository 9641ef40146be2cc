// SPDX-License-Identifier: MIT
/*
 * KVM-style VM ID allocator (the baseline), written from the algorithm's
 * description, not from Linux source.
 */
#include <stdlib.h>
#include <string.h>

#include "kvm_vmid.h"

int kvm_vmid_init(struct kvm_vmid *k, unsigned int bits)
{
	if (bits < 1 || bits > 24)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->mask = (1U << bits) - 1;
	k->nodes = calloc((size_t)k->mask + 1, sizeof(*k->nodes));
	if (!k->nodes)
		return -ENOMEM;
	host_mutex_init(&k->lock);
	return 0;
}

void kvm_vmid_destroy(struct kvm_vmid *k)
{
	host_mutex_destroy(&k->lock);
	free(k->nodes);
	k->nodes = NULL;
}

static struct kvm_vmid_node **bucket(struct kvm_vmid *k, uint32_t id)
{
	return &k->hash[id % KVM_VMID_HASH_SIZE];
}

/* hlist_add_head(): the newest ID sits first in its chain. */
void kvm_vmid_insert(struct kvm_vmid *k, uint32_t id)
{
	struct kvm_vmid_node *n = &k->nodes[id], **head = bucket(k, id);

	n->id = id;
	n->next = *head;
	if (n->next)
		n->next->pprev = &n->next;
	*head = n;
	n->pprev = head;
}

/*
 * The collision check: a taken ID is found partway down its chain, a free
 * one only after walking all of it.  Counted in a local so the statistic
 * costs no memory traffic inside the walk.
 */
static bool kvm_vmid_taken(struct kvm_vmid *k, uint32_t id)
{
	struct kvm_vmid_node *n;
	uint64_t walked = 0;
	bool taken = false;

	for (n = *bucket(k, id); n; n = n->next) {
		walked++;
		if (n->id == id) {
			taken = true;
			break;
		}
	}
	k->walked += walked;
	return taken;
}

int kvm_vmid_alloc(struct kvm_vmid *k, uint32_t *out)
{
	uint32_t id, tries = 0;

	host_mutex_lock(&k->lock);
	k->allocs++;
	/* One try per nonzero ID: stepping over 0 does not count. */
	while (tries < k->mask) {
		id = k->next_id = (k->next_id + 1) & k->mask;
		if (!id) {
			/* IDs are 1-based; from now on any ID may be live. */
			k->wrapped = true;
			continue;
		}
		tries++;
		if (k->wrapped && kvm_vmid_taken(k, id))
			continue;
		kvm_vmid_insert(k, id);
		k->candidates += tries;
		host_mutex_unlock(&k->lock);
		*out = id;
		return 0;
	}
	k->candidates += tries;
	host_mutex_unlock(&k->lock);
	return -ENOSPC;
}

void kvm_vmid_free(struct kvm_vmid *k, uint32_t id)
{
	struct kvm_vmid_node *n;

	if (!id || id > k->mask)
		return;
	n = &k->nodes[id];
	host_mutex_lock(&k->lock);
	if (n->pprev) {
		*n->pprev = n->next;
		if (n->next)
			n->next->pprev = n->pprev;
		n->next = NULL;
		n->pprev = NULL;
	}
	host_mutex_unlock(&k->lock);
}
