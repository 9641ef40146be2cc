// SPDX-License-Identifier: MIT
/*
 * AMD AVIC, hypervisor side.
 *
 * Per-VM state (physical table, logical table, VM ID) appears at vCPU
 * pre-creation under the VM lock, one idempotent step at a time and with
 * no unwinding: whatever a failed pre-create made stays for the next
 * pre-create to build on or for VM destruction to free.
 */
#include <string.h>

#include <vintc/avic.h>
#include <vintc/vlapic.h>

#include "arch.h"
#include "avic_priv.h"

static const char *const inhibit_names[AVIC_INHIBIT_NR] = {
	[AVIC_INHIBIT_DISABLED] = "DISABLED",
	[AVIC_INHIBIT_ABSENT] = "ABSENT",
	[AVIC_INHIBIT_HYPERV] = "HYPERV",
	[AVIC_INHIBIT_NESTED] = "NESTED",
	[AVIC_INHIBIT_IRQWIN] = "IRQWIN",
	[AVIC_INHIBIT_PIT_REINJ] = "PIT_REINJ",
	[AVIC_INHIBIT_BLOCKIRQ] = "BLOCKIRQ",
	[AVIC_INHIBIT_SEV] = "SEV",
	[AVIC_INHIBIT_PHYSICAL_ID_ALIASED] = "PHYSICAL_ID_ALIASED",
	[AVIC_INHIBIT_APIC_ID_MODIFIED] = "APIC_ID_MODIFIED",
	[AVIC_INHIBIT_APIC_BASE_MODIFIED] = "APIC_BASE_MODIFIED",
	[AVIC_INHIBIT_LOGICAL_ID_ALIASED] = "LOGICAL_ID_ALIASED",
	[AVIC_INHIBIT_PHYSICAL_ID_TOO_BIG] = "PHYSICAL_ID_TOO_BIG",
};

const char *avic_inhibit_name(enum avic_inhibit reason)
{
	return reason < AVIC_INHIBIT_NR ? inhibit_names[reason] : "?";
}

static struct id_space *global_ids;
static pthread_once_t global_ids_once = PTHREAD_ONCE_INIT;

static void global_ids_init(void)
{
	if (id_space_create(AVIC_VM_ID_BITS, &global_ids))
		global_ids = NULL;
}

struct id_space *avic_global_ids(void)
{
	pthread_once(&global_ids_once, global_ids_init);
	return global_ids;
}

uint32_t avic_model_max_id(enum avic_model model)
{
	switch (model) {
	case AVIC_MODEL_X2AVIC:
		return X2AVIC_MAX_PHYSICAL_ID;
	case AVIC_MODEL_X2AVIC_4K:
		return X2AVIC_4K_MAX_PHYSICAL_ID;
	default:
		return AVIC_MAX_PHYSICAL_ID;
	}
}

void avic_set_inhibit(struct vm *vm, enum avic_inhibit reason)
{
	uint64_t old = __atomic_fetch_or(&to_avic_vm(vm)->inhibits, BIT_ULL(reason),
					 __ATOMIC_SEQ_CST);

	if (!(old & BIT_ULL(reason)))
		host_log(HOST_LOG_INFO, "AVIC: VM %u inhibited: %s", to_avic_vm(vm)->vm_id,
			 avic_inhibit_name(reason));
}

void avic_clear_inhibit(struct vm *vm, enum avic_inhibit reason)
{
	__atomic_fetch_and(&to_avic_vm(vm)->inhibits, ~BIT_ULL(reason), __ATOMIC_SEQ_CST);
}

uint64_t avic_inhibits(struct vm *vm)
{
	return __atomic_load_n(&to_avic_vm(vm)->inhibits, __ATOMIC_ACQUIRE);
}

bool avic_apicv_active(struct vm *vm)
{
	return !avic_inhibits(vm);
}

void *avic_vcpu_backing(struct vcpu *vcpu)
{
	return to_avic_vcpu(vcpu)->backing;
}

uint64_t avic_vcpu_backing_pa(struct vcpu *vcpu)
{
	return to_avic_vcpu(vcpu)->backing_pa;
}

const struct vmcb_avic_control *avic_vcpu_vmcb(struct vcpu *vcpu)
{
	return &to_avic_vcpu(vcpu)->vmcb;
}

bool avic_vcpu_has_table_entry(struct vcpu *vcpu)
{
	return to_avic_vcpu(vcpu)->physical_entry_ptr != NULL;
}

void avic_vm_info(struct vm *vm, struct avic_vm_info *info)
{
	struct avic_vm *k = to_avic_vm(vm);

	*info = (struct avic_vm_info){
		.vm_id = k->vm_id,
		.ids = k->ids,
		.physical_table_pa = host_pa(k->physical_table),
		.physical_entries = k->physical_table ? k->physical_max_id + 1 : 0,
		.physical_max_id = k->physical_max_id,
		.logical_table_pa = host_pa(k->logical_table),
	};
}

uint64_t avic_vm_physical_entry(struct vm *vm, uint32_t index)
{
	struct avic_vm *k = to_avic_vm(vm);

	if (!k->physical_table || index > k->physical_max_id)
		return 0;
	return __atomic_load_n(&k->physical_table[index], __ATOMIC_ACQUIRE);
}

uint32_t avic_vm_logical_entry(struct vm *vm, uint32_t index)
{
	struct avic_vm *k = to_avic_vm(vm);

	if (!k->logical_table || index >= AVIC_LOGICAL_TABLE_ENTRIES)
		return 0;
	return __atomic_load_n(&k->logical_table[index], __ATOMIC_ACQUIRE);
}

uint32_t avic_vcpu_gatag(struct vcpu *vcpu)
{
	return avic_gatag(to_avic_vm(vcpu->vm)->vm_id, vcpu->vcpu_idx);
}

uint64_t avic_vcpu_table_entry(struct vcpu *vcpu)
{
	uint64_t *p = to_avic_vcpu(vcpu)->physical_entry_ptr;

	return p ? __atomic_load_n(p, __ATOMIC_ACQUIRE) : 0;
}

/* ---- per-VM state ----------------------------------------------------- */

static int avic_vm_init(struct vm *vm)
{
	struct avic_vm *k = to_avic_vm(vm);

	k->ids = vm->cfg.avic.ids ? vm->cfg.avic.ids : avic_global_ids();
	if (!k->ids)
		return -ENOMEM;
	host_mutex_init(&k->logical_lock);
	return 0;
}

/*
 * Sized from the VM's maximum vCPU ID, which is final once the first vCPU
 * is being created, and capped by what the CPU model can index.
 */
static int avic_alloc_physical_table(struct avic_vm *k)
{
	uint32_t max_id;

	if (k->physical_table)
		return 0;
	max_id = k->vm.cfg.max_vcpu_ids - 1;
	if (max_id > avic_model_max_id(k->vm.cfg.avic.model))
		max_id = avic_model_max_id(k->vm.cfg.avic.model);
	k->physical_table = host_pages_alloc(HOST_TAG_AVIC_PHYS,
					     host_order_for_bytes((max_id + 1) * sizeof(uint64_t)),
					     "avic.physical_table");
	if (!k->physical_table)
		return -ENOMEM;
	k->physical_max_id = max_id;
	return 0;
}

static int avic_alloc_logical_table(struct avic_vm *k)
{
	if (k->logical_table)
		return 0;
	k->logical_table = host_pages_alloc(HOST_TAG_AVIC_LOGICAL, 0, "avic.logical_table");
	return k->logical_table ? 0 : -ENOMEM;
}

/* Allocating the ID and entering the GA-tag lookup is one step. */
static int avic_alloc_vm_id(struct avic_vm *k)
{
	if (k->vm_id)
		return 0;
	return id_alloc(k->ids, &k->vm, &k->vm_id);
}

static int avic_vcpu_precreate(struct vm *vm)
{
	struct avic_vm *k = to_avic_vm(vm);
	int r;

	r = avic_alloc_physical_table(k);
	if (!r)
		r = avic_alloc_logical_table(k);
	if (!r)
		r = avic_alloc_vm_id(k);
	return r;
}

static void avic_vm_pre_destroy(struct vm *vm)
{
	struct avic_vm *k = to_avic_vm(vm);

	/*
	 * Out of the lookup before any vCPU goes: the write lock waits for
	 * notifiers already inside one of this VM's vCPUs.
	 */
	if (k->vm_id) {
		id_free(k->ids, k->vm_id);
		k->vm_id = 0;
	}
}

static void avic_vm_destroy(struct vm *vm)
{
	struct avic_vm *k = to_avic_vm(vm);

	avic_vm_pre_destroy(vm);
	/*
	 * Normally the vCPUs are gone by now; if teardown runs first, detach
	 * them so nothing writes through a pointer into a freed table.
	 */
	for (uint32_t i = 0; i < vm_nr_vcpus(vm); i++) {
		struct avic_vcpu *v = to_avic_vcpu(vm_get_vcpu(vm, i));

		v->physical_entry_ptr = NULL;
		v->logical_index = -1;
	}
	host_pages_free(k->physical_table);
	k->physical_table = NULL;
	host_pages_free(k->logical_table);
	k->logical_table = NULL;
}

void avic_vm_teardown(struct vm *vm)
{
	avic_vm_destroy(vm);
}

/* ---- per-vCPU state --------------------------------------------------- */

static uint32_t vmcb_max_index(struct avic_vcpu *v)
{
	struct avic_vm *k = to_avic_vm(v->vcpu.vm);
	uint32_t arch_max = v->x2apic ? avic_model_max_id(k->vm.cfg.avic.model)
				      : AVIC_MAX_PHYSICAL_ID;

	return k->physical_max_id < arch_max ? k->physical_max_id : arch_max;
}

/* AVIC_ENABLE follows the inhibits, X2APIC_MODE the guest's mode. */
static void avic_update_int_ctl(struct avic_vcpu *v)
{
	struct vmcb_avic_control *c = &v->vmcb;
	uint32_t int_ctl = c->int_ctl & ~(uint32_t)(VMCB_INT_CTL_AVIC_ENABLE |
						  VMCB_INT_CTL_X2APIC_MODE);

	if (avic_apicv_active(v->vcpu.vm)) {
		int_ctl |= (uint32_t)VMCB_INT_CTL_AVIC_ENABLE;
		if (v->x2apic)
			int_ctl |= (uint32_t)VMCB_INT_CTL_X2APIC_MODE;
	}
	c->int_ctl = int_ctl;
}

/* The table addresses are fixed once the vCPU exists; the max index is not. */
static void avic_refresh_vmcb(struct avic_vcpu *v)
{
	struct avic_vm *k = to_avic_vm(v->vcpu.vm);
	struct vmcb_avic_control *c = &v->vmcb;

	avic_update_int_ctl(v);
	c->avic_apic_bar = AVIC_APIC_BAR_DEFAULT;
	c->avic_backing_page = v->backing_pa & VMCB_AVIC_ADDR_MASK;
	c->avic_logical_id = host_pa(k->logical_table) & VMCB_AVIC_ADDR_MASK;
	c->avic_physical_id = (host_pa(k->physical_table) & VMCB_AVIC_ADDR_MASK) |
			      vmcb_max_index(v);
	c->clean &= ~(uint32_t)VMCB_CLEAN_AVIC;
}

static int avic_vcpu_create(struct vcpu *vcpu)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	struct avic_vm *k = to_avic_vm(vcpu->vm);

	v->backing = host_pages_alloc(HOST_TAG_AVIC_BACKING, 0, "avic.backing_page");
	if (!v->backing)
		return -ENOMEM;
	v->backing_pa = host_pa(v->backing);
	host_mutex_init(&v->ir_list_lock);
	vlapic_reset(v->backing, vcpu->vcpu_id);
	v->dfr = APIC_DFR_FLAT;
	v->logical_index = -1;

	/*
	 * An ID the model cannot index turns AVIC off for the whole VM rather
	 * than failing creation: the vCPU runs with a software APIC.
	 */
	if (vcpu->vcpu_id > avic_model_max_id(vcpu->vm->cfg.avic.model) ||
	    vcpu->vcpu_id > k->physical_max_id) {
		avic_set_inhibit(vcpu->vm, AVIC_INHIBIT_PHYSICAL_ID_TOO_BIG);
	} else {
		/*
		 * Valid even with IPI virtualisation off: broadcasts skip
		 * invalid entries silently instead of exiting.
		 */
		v->physical_entry = (v->backing_pa & AVIC_PHYSICAL_ID_ENTRY_BACKING_PAGE) |
				    AVIC_PHYSICAL_ID_ENTRY_VALID;
		v->physical_entry_ptr = &k->physical_table[vcpu->vcpu_id];
		__atomic_store_n(v->physical_entry_ptr, v->physical_entry, __ATOMIC_RELEASE);
	}
	avic_refresh_vmcb(v);
	return 0;
}

static void avic_vcpu_destroy(struct vcpu *vcpu)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	struct avic_vm *k = to_avic_vm(vcpu->vm);
	const struct avic_irte_ops *ops;

	/* No IRTE may keep posting into the backing page freed below. */
	host_mutex_lock(&v->ir_list_lock);
	ops = v->ir_ops;
	host_mutex_unlock(&v->ir_list_lock);
	if (ops)
		ops->detach_all(vcpu);
	host_mutex_lock(&k->logical_lock);
	if (v->logical_index >= 0)
		k->logical_table[v->logical_index] = 0;
	host_mutex_unlock(&k->logical_lock);
	/* The silicon must not follow the entry to a freed page. */
	if (v->physical_entry_ptr)
		__atomic_store_n(v->physical_entry_ptr, 0, __ATOMIC_RELEASE);
	host_pages_free(v->backing);
	host_mutex_destroy(&v->ir_list_lock);
}

/* ---- load / put / blocking --------------------------------------------- */

/*
 * ir_list_lock held: the destination, IsRun and GALogIntr the vCPU's
 * posting IRTEs carry from now on (and attach copies), written through to
 * them by avic_iommu.c's hook once there are any.
 */
static void avic_irte_state_locked(struct avic_vcpu *v, uint32_t dest, bool is_run,
				   bool ga_log_intr)
{
	v->ir_dest = dest;
	v->ir_is_run = is_run;
	v->ir_ga_log_intr = ga_log_intr;
	if (v->ir_ops)
		v->ir_ops->sync_locked(v);
}

/* Shadow first, then the one 64-bit store the silicon sees. */
static void avic_write_entry(struct avic_vcpu *v, uint64_t entry)
{
	uint64_t table = entry & ~AVIC_PHYSICAL_ID_ENTRY_GA_LOG_INTR;

	v->physical_entry = entry;
	if (!v->physical_entry_ptr)
		return;
	/*
	 * With IPI virtualisation off IsRunning lives only in the shadow, so
	 * every non-self IPI exits (the erratum #1235 workaround).
	 */
	if (v->vcpu.vm->cfg.avic.disable_ipiv)
		table &= ~AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING;
	/*
	 * A release store publishes the entry; the orderings that matter
	 * against later loads are explicit host_mb() calls at their sites.
	 */
	__atomic_store_n(v->physical_entry_ptr, table, __ATOMIC_RELEASE);
}

static void __avic_vcpu_load(struct avic_vcpu *v, int cpu)
{
	int h = host_cpu_apic_id(cpu);
	uint64_t entry;

	if (h < 0)
		return;
	host_mutex_lock(&v->ir_list_lock);
	entry = v->physical_entry;
	entry &= ~(AVIC_PHYSICAL_ID_ENTRY_HOST_PHYSICAL_ID | AVIC_PHYSICAL_ID_ENTRY_GA_LOG_INTR);
	entry |= FIELD_PREP(AVIC_PHYSICAL_ID_ENTRY_HOST_PHYSICAL_ID, h) |
		 AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING;
	avic_write_entry(v, entry);
	/* Posting IRTEs follow under the same lock: doorbells to this CPU. */
	avic_irte_state_locked(v, (uint32_t)h, true, false);
	host_mutex_unlock(&v->ir_list_lock);
}

static void __avic_vcpu_put(struct avic_vcpu *v, bool start_blocking)
{
	uint64_t entry;

	host_mutex_lock(&v->ir_list_lock);
	/*
	 * Keep the last host APIC ID: a late doorbell then still lands on a
	 * CPU this vCPU ran on, which VMRUN makes harmless.
	 */
	entry = v->physical_entry & ~AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING;
	if (start_blocking)
		entry |= AVIC_PHYSICAL_ID_ENTRY_GA_LOG_INTR;
	avic_write_entry(v, entry);
	/*
	 * IRTEs: IsRun = 0, keep the destination; a GA log wake-up only for a
	 * vCPU about to sleep (a preempted one runs again anyway).
	 */
	avic_irte_state_locked(v, v->ir_dest, false, start_blocking);
	host_mutex_unlock(&v->ir_list_lock);
}

static void avic_vcpu_load(struct vcpu *vcpu, int cpu)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);

	/* Only an inhibit can have changed since create: no table look-ups here. */
	avic_update_int_ctl(v);
	/*
	 * Scheduled in while blocking (preempted in the halt loop): the
	 * silicon only reads the host ID while IsRunning is set, and unblock
	 * writes the current CPU.
	 */
	if (load_acquire(&vcpu->blocking) || !avic_apicv_active(vcpu->vm))
		return;
	__avic_vcpu_load(v, cpu);
}

static void avic_vcpu_put(struct vcpu *vcpu)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);

	/*
	 * Already not running: put by vcpu_blocking and now preempted while
	 * blocked.  Leave GA_LOG_INTR as blocking set it.
	 */
	if (!(v->physical_entry & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING))
		return;
	__avic_vcpu_put(v, load_acquire(&vcpu->blocking));
}

/*
 * Fault injection only: IsRunning = 0 as a plain store, outside the lock
 * (whose atomic unlock would be a full barrier on x86) and with no fence,
 * so the caller's IRR re-check can be satisfied from before the store is
 * visible.  IRTEs are left alone.
 */
static void avic_blocking_unfenced(struct avic_vcpu *v)
{
	uint64_t entry = v->physical_entry;

	if (!(entry & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING))
		return;
	entry = (entry & ~AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING) | AVIC_PHYSICAL_ID_ENTRY_GA_LOG_INTR;
	v->physical_entry = entry;
	if (v->physical_entry_ptr)
		__atomic_store_n(v->physical_entry_ptr, entry & ~AVIC_PHYSICAL_ID_ENTRY_GA_LOG_INTR,
				 __ATOMIC_RELAXED);
}

static void avic_vcpu_blocking(struct vcpu *vcpu)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);

	if (vcpu->vm->cfg.avic.omit_blocking_barrier) {
		avic_blocking_unfenced(v);
		return;
	}
	if (v->physical_entry & AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING)
		__avic_vcpu_put(v, true);
	/*
	 * IsRunning = 0 must be visible before the caller re-reads the IRR:
	 * a sender does "set IRR, barrier, read IsRunning", so either it sees
	 * 0 and takes the wake-up path, or we see its IRR bit.
	 */
	host_mb();
}

static void avic_vcpu_unblocking(struct vcpu *vcpu)
{
	if (vcpu->loaded)
		avic_vcpu_load(vcpu, vcpu->cpu);
}

bool avic_vcpu_has_interrupt(struct vcpu *vcpu)
{
	return vlapic_has_deliverable(to_avic_vcpu(vcpu)->backing);
}

/* IRR is set and a full barrier done: make the vCPU look at it. */
void avic_kick(struct vcpu *vcpu)
{
	int h;

	/*
	 * A doorbell only helps a vCPU inside the guest; one that is not
	 * (halted, or about to enter) needs a wake-up and checks IRR itself.
	 * With AVIC inhibited no doorbell is heeded, so a vCPU inside the
	 * guest needs the engine's kick: vcpu_kick() does both.
	 */
	if (avic_apicv_active(vcpu->vm) &&
	    load_acquire(&vcpu->mode) == VCPU_IN_GUEST_MODE &&
	    (h = host_cpu_apic_id(vcpu->cpu)) >= 0)
		host_doorbell_ring((uint32_t)h);
	else
		vcpu_kick(vcpu);
}

void avic_deliver(struct vcpu *vcpu, uint8_t vector)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);

	host_set_bit32(apic_reg(v->backing, APIC_VECTOR_WORD(APIC_IRR, vector)),
		       APIC_VECTOR_BIT(vector));
	/* Pairs with the barrier on guest entry and in avic_vcpu_blocking(). */
	host_mb();
	avic_kick(vcpu);
}

/* ---- logical table ------------------------------------------------------ */

int avic_logical_index(uint32_t ldr, uint32_t dfr)
{
	uint32_t l = (uint32_t)FIELD_GET(APIC_LDR_LOGICAL_ID, ldr);
	uint32_t cluster, bits;

	if ((dfr >> 28) == 0xF) {
		if (!l || (l & (l - 1)))
			return -EINVAL;
		return __builtin_ctz(l);
	}
	cluster = l >> 4;
	bits = l & 0xF;
	if (cluster >= 0xF || !bits || (bits & (bits - 1)))
		return -EINVAL;
	return (int)(cluster << 2) + __builtin_ctz(bits);
}

/* Called with logical_lock held. */
static void avic_invalidate_logical_entry(struct avic_vm *k, struct avic_vcpu *v)
{
	uint32_t *e;

	if (v->logical_index < 0)
		return;
	e = &k->logical_table[v->logical_index];
	/* Only if still ours: an aliasing vCPU may have taken the slot. */
	if (FIELD_GET(AVIC_LOGICAL_ID_ENTRY_GUEST_PHYSICAL_ID, *e) == (v->vcpu.vcpu_id & 0xFF))
		__atomic_store_n(e, *e & ~(uint32_t)AVIC_LOGICAL_ID_ENTRY_VALID, __ATOMIC_RELEASE);
	v->logical_index = -1;
}

static void avic_update_logical(struct avic_vcpu *v)
{
	struct avic_vm *k = to_avic_vm(v->vcpu.vm);
	uint32_t ldr = *apic_reg(v->backing, APIC_LDR);
	uint32_t dfr = *apic_reg(v->backing, APIC_DFR);
	uint32_t *e, entry;
	int idx;

	if (v->x2apic || !k->logical_table)
		return;
	host_mutex_lock(&k->logical_lock);
	if (ldr == v->ldr && dfr == v->dfr && v->logical_index >= 0) {
		host_mutex_unlock(&k->logical_lock);
		return;
	}
	/* Old entry's Valid cleared before the new entry is written. */
	avic_invalidate_logical_entry(k, v);
	v->ldr = ldr;
	v->dfr = dfr;
	idx = avic_logical_index(ldr, dfr);
	if (idx >= 0) {
		e = &k->logical_table[idx];
		if ((*e & AVIC_LOGICAL_ID_ENTRY_VALID) &&
		    FIELD_GET(AVIC_LOGICAL_ID_ENTRY_GUEST_PHYSICAL_ID, *e) != (v->vcpu.vcpu_id & 0xFF))
			avic_set_inhibit(v->vcpu.vm, AVIC_INHIBIT_LOGICAL_ID_ALIASED);
		entry = (uint32_t)(FIELD_PREP(AVIC_LOGICAL_ID_ENTRY_GUEST_PHYSICAL_ID, v->vcpu.vcpu_id) |
				   AVIC_LOGICAL_ID_ENTRY_VALID);
		__atomic_store_n(e, entry, __ATOMIC_RELEASE);
		v->logical_index = idx;
	}
	host_mutex_unlock(&k->logical_lock);
}

void avic_handle_ldr_update(struct vcpu *vcpu)
{
	avic_update_logical(to_avic_vcpu(vcpu));
}

void avic_handle_dfr_update(struct vcpu *vcpu)
{
	avic_update_logical(to_avic_vcpu(vcpu));
}

int avic_set_x2apic_mode(struct vcpu *vcpu, bool x2apic)
{
	struct avic_vcpu *v = to_avic_vcpu(vcpu);
	struct avic_vm *k = to_avic_vm(vcpu->vm);

	if (x2apic && vcpu->vm->cfg.avic.model == AVIC_MODEL_XAVIC)
		return -EOPNOTSUPP;
	if (x2apic && !v->x2apic) {
		/* x2APIC logical IDs are derived, never looked up. */
		host_mutex_lock(&k->logical_lock);
		avic_invalidate_logical_entry(k, v);
		host_mutex_unlock(&k->logical_lock);
	}
	v->x2apic = x2apic;
	if (!x2apic)
		avic_update_logical(v);
	avic_refresh_vmcb(v);
	return 0;
}

/* ---- GA-tag lookup ------------------------------------------------------ */

int avic_ga_tag_resolve(struct id_space *ids, uint32_t tag,
			void (*fn)(struct vcpu *vcpu, void *arg), void *arg)
{
	struct vcpu *vcpu = NULL;
	struct vm *vm;

	if (!ids)
		ids = avic_global_ids();
	if (!ids)
		return -ENOENT;
	id_space_read_lock(ids);
	vm = id_lookup_locked(ids, (uint32_t)FIELD_GET(AVIC_GATAG_VM_ID, tag));
	if (vm)
		vcpu = vm_get_vcpu(vm, (uint32_t)FIELD_GET(AVIC_GATAG_VCPU_IDX, tag));
	if (vcpu && fn)
		fn(vcpu, arg);
	id_space_read_unlock(ids);
	return vcpu ? 0 : -ENOENT;
}

const struct vm_ops avic_vm_ops = {
	.name = "avic",
	.vm_size = sizeof(struct avic_vm),
	.vcpu_size = sizeof(struct avic_vcpu),
	.vm_init = avic_vm_init,
	.vcpu_precreate = avic_vcpu_precreate,
	.vcpu_create = avic_vcpu_create,
	.vcpu_load = avic_vcpu_load,
	.vcpu_put = avic_vcpu_put,
	.vcpu_blocking = avic_vcpu_blocking,
	.vcpu_unblocking = avic_vcpu_unblocking,
	.vcpu_has_interrupt = avic_vcpu_has_interrupt,
	.vm_pre_destroy = avic_vm_pre_destroy,
	.vcpu_destroy = avic_vcpu_destroy,
	.vm_destroy = avic_vm_destroy,
};
