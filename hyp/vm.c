// SPDX-License-Identifier: MIT
#include <string.h>

#include <vintc/vm.h>

#include "arch.h"

static const struct vm_ops none_vm_ops = {
	.name = "none",
	.vm_size = sizeof(struct vm),
	.vcpu_size = sizeof(struct vcpu),
};

static const struct vm_ops *const vm_ops_table[VM_ARCH_NR] = {
	[VM_ARCH_NONE] = &none_vm_ops,
	[VM_ARCH_AVIC] = &avic_vm_ops,
	[VM_ARCH_GICV5] = &vgic_v5_vm_ops,
};

static bool id_taken(const struct vm *vm, uint32_t id)
{
	return vm->vcpu_id_taken[id / 64] & (1ULL << (id % 64));
}

static void id_mark(struct vm *vm, uint32_t id, bool taken)
{
	if (taken)
		vm->vcpu_id_taken[id / 64] |= 1ULL << (id % 64);
	else
		vm->vcpu_id_taken[id / 64] &= ~(1ULL << (id % 64));
}

static void vm_free(struct vm *vm)
{
	host_free(vm->vcpus);
	host_free(vm->vcpu_id_taken);
	host_mutex_destroy(&vm->lock);
	host_free(vm);
}

int vm_create(const struct vm_config *cfg, struct vm **out)
{
	const struct vm_ops *ops;
	struct vm *vm;
	int r;

	if (!cfg || !out || cfg->arch >= VM_ARCH_NR ||
	    cfg->max_vcpus > VM_MAX_VCPUS || cfg->max_vcpu_ids > VM_MAX_VCPU_IDS)
		return -EINVAL;
	ops = vm_ops_table[cfg->arch];

	vm = host_zalloc(HOST_TAG_VM, ops->vm_size, "vm.alloc");
	if (!vm)
		return -ENOMEM;
	host_mutex_init(&vm->lock);
	vm->ops = ops;
	vm->cfg = *cfg;
	if (!vm->cfg.max_vcpus)
		vm->cfg.max_vcpus = VM_MAX_VCPUS;
	if (!vm->cfg.max_vcpu_ids)
		vm->cfg.max_vcpu_ids = VM_MAX_VCPU_IDS;
	vm->vcpus = host_zalloc(HOST_TAG_VM, vm->cfg.max_vcpus * sizeof(vm->vcpus[0]),
				"vm.vcpus");
	vm->vcpu_id_taken = host_zalloc(HOST_TAG_VM, (vm->cfg.max_vcpu_ids + 63) / 64 * 8,
					"vm.vcpu_ids");
	if (!vm->vcpus || !vm->vcpu_id_taken) {
		vm_free(vm);
		return -ENOMEM;
	}
	if (ops->vm_init) {
		r = ops->vm_init(vm);
		if (r) {
			vm_free(vm);
			return r;
		}
	}
	host_log(HOST_LOG_DEBUG, "vm: created (arch %d, up to %u vCPUs, vCPU IDs below %u)",
		 (int)cfg->arch, vm->cfg.max_vcpus, vm->cfg.max_vcpu_ids);
	*out = vm;
	return 0;
}

void vm_pre_destroy(struct vm *vm)
{
	if (!vm || vm->pre_destroyed)
		return;
	/*
	 * Global lookups (the AVIC GA-log lookup) must forget the VM while its
	 * vCPUs still exist: a notifier that found the VM may still be waking
	 * one of them.
	 */
	if (vm->ops->vm_pre_destroy)
		vm->ops->vm_pre_destroy(vm);
	vm->pre_destroyed = true;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	host_log(HOST_LOG_DEBUG, "vm: destroying (%u vCPUs)", vm->online_vcpus);
	vm_pre_destroy(vm);
	for (uint32_t i = 0; i < vm->online_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (vm->ops->vcpu_destroy)
			vm->ops->vcpu_destroy(vcpu);
		host_free(vcpu);
		vm->vcpus[i] = NULL;
	}
	vm->online_vcpus = 0;
	if (vm->ops->vm_destroy)
		vm->ops->vm_destroy(vm);
	vm_free(vm);
}

static void vcpu_unreserve(struct vm *vm, uint32_t vcpu_id)
{
	host_mutex_lock(&vm->lock);
	id_mark(vm, vcpu_id, false);
	vm->created_vcpus--;
	host_mutex_unlock(&vm->lock);
}

int vcpu_create(struct vm *vm, uint32_t vcpu_id, struct vcpu **out)
{
	struct vcpu *vcpu;
	uint32_t idx;
	int r = 0;

	if (!vm || vcpu_id >= vm->cfg.max_vcpu_ids)
		return -EINVAL;

	/*
	 * Reserve the ID before the backend sees it: the backend writes
	 * per-ID architectural state (the physical APIC ID entry) that a
	 * duplicate must never overwrite.
	 */
	host_mutex_lock(&vm->lock);
	if (vm->pre_destroyed || vm->created_vcpus >= vm->cfg.max_vcpus)
		r = -EINVAL;
	else if (id_taken(vm, vcpu_id))
		r = -EEXIST;
	if (r) {
		host_mutex_unlock(&vm->lock);
		return r;
	}
	id_mark(vm, vcpu_id, true);
	vm->created_vcpus++;
	/* Per-VM state appears here, idempotently, under the VM lock. */
	if (vm->ops->vcpu_precreate)
		r = vm->ops->vcpu_precreate(vm);
	host_mutex_unlock(&vm->lock);
	if (r) {
		vcpu_unreserve(vm, vcpu_id);
		return r;
	}

	vcpu = host_zalloc(HOST_TAG_VM, vm->ops->vcpu_size, "vcpu.alloc");
	if (!vcpu) {
		vcpu_unreserve(vm, vcpu_id);
		return -ENOMEM;
	}
	vcpu->vm = vm;
	vcpu->vcpu_id = vcpu_id;
	vcpu->cpu = -1;
	if (vm->ops->vcpu_create) {
		r = vm->ops->vcpu_create(vcpu);
		if (r) {
			host_free(vcpu);
			vcpu_unreserve(vm, vcpu_id);
			return r;
		}
	}

	host_mutex_lock(&vm->lock);
	idx = vm->online_vcpus;
	vcpu->vcpu_idx = idx;
	/* Lock-free readers (GA tag lookups) see the pointer before the count. */
	store_release(&vm->vcpus[idx], vcpu);
	store_release(&vm->online_vcpus, idx + 1);
	host_mutex_unlock(&vm->lock);
	if (out)
		*out = vcpu;
	return 0;
}

struct vcpu *vm_get_vcpu_by_id(struct vm *vm, uint32_t vcpu_id)
{
	uint32_t n = vm_nr_vcpus(vm);

	for (uint32_t i = 0; i < n; i++) {
		struct vcpu *vcpu = vm_get_vcpu(vm, i);

		if (vcpu && vcpu->vcpu_id == vcpu_id)
			return vcpu;
	}
	return NULL;
}

int vcpu_load(struct vcpu *vcpu, int cpu)
{
	if (host_cpu_apic_id(cpu) < 0)
		return -EINVAL;
	if (vcpu->loaded)
		return -EBUSY;
	vcpu->cpu = cpu;
	vcpu->loaded = true;
	if (vcpu->vm->ops->vcpu_load)
		vcpu->vm->ops->vcpu_load(vcpu, cpu);
	return 0;
}

void vcpu_put(struct vcpu *vcpu)
{
	if (!vcpu->loaded)
		return;
	if (vcpu->vm->ops->vcpu_put)
		vcpu->vm->ops->vcpu_put(vcpu);
	vcpu->loaded = false;
}

void vcpu_blocking(struct vcpu *vcpu)
{
	/*
	 * The backend sees blocking == 1 from here on: a preemption while
	 * blocked (put + load) must leave the blocking state alone.
	 */
	store_release(&vcpu->blocking, 1);
	/* Pairs with the barrier in vcpu_wake(): one side sees the other. */
	host_mb();
	if (vcpu->vm->ops->vcpu_blocking)
		vcpu->vm->ops->vcpu_blocking(vcpu);
}

void vcpu_unblocking(struct vcpu *vcpu)
{
	/* Cleared first: the unblocking hook is a load that must not skip. */
	store_release(&vcpu->blocking, 0);
	if (vcpu->vm->ops->vcpu_unblocking)
		vcpu->vm->ops->vcpu_unblocking(vcpu);
}

int vcpu_block(struct vcpu *vcpu, uint64_t timeout_ns)
{
	uint64_t deadline = host_now_ns() + timeout_ns;
	int r;

	vcpu_blocking(vcpu);
	for (;;) {
		/*
		 * Snapshot the wake sequence before looking at the IRR: a sender
		 * that sets IRR after our look also bumps the sequence, and the
		 * futex refuses to sleep on a stale value.
		 */
		uint32_t seq = load_acquire(&vcpu->wake_seq);
		uint64_t now;

		if (vcpu->vm->ops->vcpu_has_interrupt &&
		    vcpu->vm->ops->vcpu_has_interrupt(vcpu)) {
			r = 0;
			break;
		}
		now = host_now_ns();
		/*
		 * Ending by the deadline is reported as such even if an
		 * interrupt is pending by then: nobody woke us for it, which is
		 * what a lost-wake-up watchdog wants to know.
		 */
		if (now >= deadline ||
		    host_futex_wait(&vcpu->wake_seq, seq, deadline - now) == -ETIMEDOUT) {
			r = -ETIMEDOUT;
			break;
		}
	}
	vcpu_unblocking(vcpu);
	return r;
}

void vcpu_wake(struct vcpu *vcpu)
{
	__atomic_add_fetch(&vcpu->wake_seq, 1, __ATOMIC_SEQ_CST);
	/*
	 * Either the sleeper's wake_seq snapshot already includes this bump
	 * (it will not sleep), or its blocking store is visible here.
	 */
	host_mb();
	if (load_acquire(&vcpu->blocking)) {
		__atomic_add_fetch(&vcpu->wakeups, 1, __ATOMIC_RELAXED);
		host_futex_wake(&vcpu->wake_seq, 1);
	}
}

void vcpu_kick(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	vcpu_wake(vcpu);
	if (vm->kick)
		vm->kick(vcpu, vm->kick_opaque);
}

void vm_set_kick(struct vm *vm, void (*kick)(struct vcpu *vcpu, void *opaque), void *opaque)
{
	vm->kick = kick;
	vm->kick_opaque = opaque;
}

void vcpu_set_mode(struct vcpu *vcpu, enum vcpu_mode mode)
{
	store_release(&vcpu->mode, (uint32_t)mode);
	if (mode == VCPU_IN_GUEST_MODE)
		host_mb();
}
