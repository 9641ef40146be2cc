/* SPDX-License-Identifier: MIT */
/*
 * Generic VM/vCPU lifecycle.  The sequence and the hook points are KVM's:
 *
 *   vm_create          -> ops->vm_init
 *   vcpu_create        -> ops->vcpu_precreate (VM lock held), ops->vcpu_create
 *   vcpu_load/put      -> ops->vcpu_load / ops->vcpu_put
 *   vcpu_block         -> ops->vcpu_blocking, sleep unless an interrupt is
 *                         pending, ops->vcpu_unblocking
 *   vm_destroy         -> ops->vm_pre_destroy, ops->vcpu_destroy for each
 *                         vCPU, ops->vm_destroy
 *
 * The architecture is an ops table chosen once at vm_create.  The generic
 * code knows no architecture, and the number of vCPUs lives here only.
 */
#ifndef VINTC_VM_H
#define VINTC_VM_H

#include <stdbool.h>
#include <stdint.h>

#include <vintc/host.h>

#define VM_MAX_VCPUS      4096U
#define VM_MAX_VCPU_IDS   4096U

enum vm_arch {
	VM_ARCH_NONE,	/* no interrupt acceleration: consumes nothing */
	VM_ARCH_AVIC,
	VM_ARCH_GICV5,
	VM_ARCH_NR
};

enum avic_model {
	AVIC_MODEL_XAVIC,	/* guest APIC IDs up to 0xFE */
	AVIC_MODEL_X2AVIC,	/* up to 0x1FF */
	AVIC_MODEL_X2AVIC_4K,	/* up to 0xFFF (CPUID 0x8000000A ECX[6]) */
};

struct id_space;

struct avic_config {
	enum avic_model model;
	bool disable_ipiv;		/* KVM's enable_ipiv=0: IsRunning only in the shadow */
	struct id_space *ids;		/* NULL: the process-wide 20-bit VM ID space */
	/*
	 * Fault injection: the blocking path clears IsRunning with a plain
	 * store and no full barrier before the IRR re-check, so the store can
	 * pass the load (x86 store buffering) and a wake-up can be lost.
	 */
	bool omit_blocking_barrier;
};

struct vgic_v5_host;

struct gicv5_config {
	struct vgic_v5_host *host;	/* the probed IRS this VM uses (required) */
	uint8_t spi_id_bits;		/* vSPI IST ID bits, 0: 8 (linear) */
	uint8_t lpi_id_bits;		/* vLPI IST ID bits, 0: 12 */
	bool lpi_two_level;		/* two-level vLPI IST, every L2 pre-allocated */
};

struct vm_config {
	enum vm_arch arch;
	uint32_t max_vcpus;		/* 0: VM_MAX_VCPUS */
	uint32_t max_vcpu_ids;		/* 0: VM_MAX_VCPU_IDS */
	struct avic_config avic;
	struct gicv5_config gicv5;
};

enum vcpu_mode {
	VCPU_OUTSIDE_GUEST_MODE,
	VCPU_IN_GUEST_MODE,
};

struct vm;
struct vcpu;

struct vm_ops {
	const char *name;
	size_t vm_size, vcpu_size;	/* struct vm / struct vcpu come first */
	int (*vm_init)(struct vm *vm);
	int (*vcpu_precreate)(struct vm *vm);
	int (*vcpu_create)(struct vcpu *vcpu);
	void (*vcpu_load)(struct vcpu *vcpu, int cpu);
	void (*vcpu_put)(struct vcpu *vcpu);
	void (*vcpu_blocking)(struct vcpu *vcpu);
	void (*vcpu_unblocking)(struct vcpu *vcpu);
	bool (*vcpu_has_interrupt)(struct vcpu *vcpu);
	void (*vm_pre_destroy)(struct vm *vm);
	void (*vcpu_destroy)(struct vcpu *vcpu);
	void (*vm_destroy)(struct vm *vm);
};

struct vm {
	const struct vm_ops *ops;
	struct vm_config cfg;
	struct host_mutex lock;		/* KVM's kvm->lock */
	uint32_t created_vcpus;		/* under lock: reserved slots */
	uint32_t online_vcpus;		/* release-published after vcpus[] */
	struct vcpu **vcpus;		/* dense, by index */
	uint64_t *vcpu_id_taken;	/* bitmap of max_vcpu_ids, under lock */
	bool pre_destroyed;
	/* The engine's half of vcpu_kick(); set before any vCPU runs. */
	void (*kick)(struct vcpu *vcpu, void *opaque);
	void *kick_opaque;
};

struct vcpu {
	struct vm *vm;
	uint32_t vcpu_id;		/* the guest's APIC ID, sparse */
	uint32_t vcpu_idx;		/* dense creation index */
	int cpu;			/* host CPU of the last load; -1 never loaded */
	bool loaded;
	uint32_t mode;			/* enum vcpu_mode, acquire/release */
	uint32_t blocking;		/* inside vcpu_block() */
	uint32_t wake_seq;		/* futex word: bumped by every wake */
	uint64_t wakeups;
};

int vm_create(const struct vm_config *cfg, struct vm **out);
/* Unhash from global lookups; idempotent.  vm_destroy calls it. */
void vm_pre_destroy(struct vm *vm);
void vm_destroy(struct vm *vm);

int vcpu_create(struct vm *vm, uint32_t vcpu_id, struct vcpu **out);
int vcpu_load(struct vcpu *vcpu, int cpu);
void vcpu_put(struct vcpu *vcpu);
void vcpu_blocking(struct vcpu *vcpu);
void vcpu_unblocking(struct vcpu *vcpu);

/*
 * Halt: blocking hook, then sleep until an interrupt is pending, a wake
 * arrives or timeout_ns passes, then the unblocking hook.  Returns 0 when
 * an interrupt was found pending before the deadline, -ETIMEDOUT when the
 * deadline ended the sleep (even if an interrupt is pending by then).
 */
int vcpu_block(struct vcpu *vcpu, uint64_t timeout_ns);
/*
 * Guest entry/exit.  Entering is a full barrier: paired with a sender's
 * "set IRR, barrier, read mode", one side always sees the other.
 */
void vcpu_set_mode(struct vcpu *vcpu, enum vcpu_mode mode);
/* Wake a vCPU sleeping in vcpu_block (no-op if it is not). */
void vcpu_wake(struct vcpu *vcpu);
/*
 * Something was posted to this vCPU alone (an event, or an interrupt with
 * no doorbell to ring): make it look now.  Wakes it if it is blocked, then
 * calls the engine's kick hook, which reaches a vCPU running guest code
 * (e.g. signals it out of KVM_RUN).  Never touches any other vCPU.
 * Callable from any thread, the vCPU's own included.
 */
void vcpu_kick(struct vcpu *vcpu);
/*
 * The engine's kick hook for vcpu_kick(), NULL for none (a wake is then
 * all a kick does).  Set it before any vCPU of the VM runs.
 */
void vm_set_kick(struct vm *vm, void (*kick)(struct vcpu *vcpu, void *opaque), void *opaque);

static inline uint32_t vm_nr_vcpus(struct vm *vm)
{
	return load_acquire(&vm->online_vcpus);
}

/* NULL for an index not (yet) online. */
static inline struct vcpu *vm_get_vcpu(struct vm *vm, uint32_t idx)
{
	if (idx >= vm_nr_vcpus(vm))
		return NULL;
	return load_acquire(&vm->vcpus[idx]);
}

struct vcpu *vm_get_vcpu_by_id(struct vm *vm, uint32_t vcpu_id);

#endif
