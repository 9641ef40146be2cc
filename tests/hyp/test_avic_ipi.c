// SPDX-License-Identifier: MIT
/* The hypervisor's software path for incomplete-IPI exits. */
#include <vintc/avic.h>
#include <vintc/avic_cpu.h>
#include <vintc/vlapic.h>

#include "avic_util.h"

static uint64_t exitinfo2(uint32_t cause, uint32_t index)
{
	return ((uint64_t)cause << 32) | index;
}

static bool irr(struct vcpu *vcpu, unsigned int v)
{
	return *apic_reg(to_avic_vcpu(vcpu)->backing, APIC_VECTOR_WORD(APIC_IRR, v)) &
	       (1U << APIC_VECTOR_BIT(v));
}

TEST(avic_ipi_match_dest_forms)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC, 0, NULL);
	struct vcpu *a = avic_vcpu_new(vm, 0x13);
	void *r = to_avic_vcpu(a)->backing;

	ASSERT(avic_vcpu_match_dest(a, 0x13, false, false));
	ASSERT(!avic_vcpu_match_dest(a, 0x14, false, false));
	ASSERT(avic_vcpu_match_dest(a, 0xFF, false, false));
	ASSERT(!avic_vcpu_match_dest(a, 0xFF, false, true));	/* x2APIC: ID 0xFF */
	ASSERT(avic_vcpu_match_dest(a, 0xFFFFFFFF, false, true));
	/* Flat logical. */
	*apic_reg(r, APIC_LDR) = 0x24000000;
	ASSERT(avic_vcpu_match_dest(a, 0x04, true, false));
	ASSERT(avic_vcpu_match_dest(a, 0x21, true, false));
	ASSERT(!avic_vcpu_match_dest(a, 0x08, true, false));
	/* Cluster logical: cluster 2, member bit 2. */
	*apic_reg(r, APIC_DFR) = APIC_DFR_CLUSTER;
	ASSERT(avic_vcpu_match_dest(a, 0x24, true, false));
	ASSERT(avic_vcpu_match_dest(a, 0x2F, true, false));
	ASSERT(!avic_vcpu_match_dest(a, 0x34, true, false));
	ASSERT(!avic_vcpu_match_dest(a, 0x28, true, false));
	/* x2APIC logical, derived from ID 0x13: cluster 1, bit 3. */
	ASSERT(avic_vcpu_match_dest(a, 0x00010008, true, true));
	ASSERT(!avic_vcpu_match_dest(a, 0x00010004, true, true));
	ASSERT(!avic_vcpu_match_dest(a, 0x00020008, true, true));
	vm_destroy(vm);
}

TEST(avic_ipi_not_running_wakes_only_unrun_targets)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *s = avic_vcpu_new(vm, 0), *run = avic_vcpu_new(vm, 1), *idle = avic_vcpu_new(vm, 2);
	struct avic_ipi_stats st = { 0 };
	uint32_t seq_run, seq_idle;

	ASSERT_OK(vcpu_load(s, 0));
	ASSERT_OK(vcpu_load(run, 1));
	seq_run = run->wake_seq;
	seq_idle = idle->wake_seq;
	/* All-excluding-self, fixed 0x40: the silicon set IRR, idle was not running. */
	ASSERT_OK(avic_handle_incomplete_ipi(s, 0xC0040,
					     exitinfo2(AVIC_IPI_FAILURE_TARGET_NOT_RUNNING, 0), &st));
	ASSERT_EQ(st.woken, 1);
	ASSERT_EQ(run->wake_seq, seq_run);
	ASSERT_EQ(idle->wake_seq, seq_idle + 1);
	/* Not re-delivered: the silicon's IRR is the only one. */
	ASSERT(!irr(idle, 0x40));
	ASSERT_EQ(st.by_cause[AVIC_IPI_FAILURE_TARGET_NOT_RUNNING], 1);
	vcpu_put(s);
	vcpu_put(run);
	vm_destroy(vm);
}

TEST(avic_ipi_invalid_type_becomes_events)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *bsp = avic_vcpu_new(vm, 0), *ap1 = avic_vcpu_new(vm, 1), *ap2 = avic_vcpu_new(vm, 2);
	struct avic_ipi_stats st = { 0 };
	uint8_t vec = 0;

	/* INIT to all but self, then SIPI vector 0x9A to vCPU 2 only. */
	ASSERT_OK(avic_handle_incomplete_ipi(bsp, 0xC4500,
					     exitinfo2(AVIC_IPI_FAILURE_INVALID_INT_TYPE, 0), &st));
	ASSERT_OK(avic_handle_incomplete_ipi(bsp, (2ULL << 56) | 0x469A,
					     exitinfo2(AVIC_IPI_FAILURE_INVALID_INT_TYPE, 0), &st));
	ASSERT_EQ(avic_vcpu_take_events(bsp, NULL), 0);
	ASSERT_EQ(avic_vcpu_take_events(ap1, NULL), AVIC_EVENT_INIT);
	ASSERT_EQ(avic_vcpu_take_events(ap2, &vec), AVIC_EVENT_INIT | AVIC_EVENT_SIPI);
	ASSERT_EQ(vec, 0x9A);
	ASSERT_EQ(avic_vcpu_take_events(ap2, NULL), 0);
	/* NMI by physical destination. */
	ASSERT_OK(avic_handle_incomplete_ipi(bsp, (1ULL << 56) | 0x400,
					     exitinfo2(AVIC_IPI_FAILURE_INVALID_INT_TYPE, 0), &st));
	ASSERT_EQ(avic_vcpu_take_events(ap1, NULL), AVIC_EVENT_NMI);
	ASSERT_EQ(st.emulated, 4);
	/* Fixed level-triggered: emulated as a fixed delivery. */
	ASSERT_OK(avic_handle_incomplete_ipi(bsp, (2ULL << 56) | 0xC051,
					     exitinfo2(AVIC_IPI_FAILURE_INVALID_INT_TYPE, 0), &st));
	ASSERT(irr(ap2, 0x51));
	ASSERT(!irr(ap1, 0x51));
	vm_destroy(vm);
}

TEST(avic_ipi_invalid_target_emulated_logical)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *s = avic_vcpu_new(vm, 0), *a = avic_vcpu_new(vm, 1), *b = avic_vcpu_new(vm, 2);

	*apic_reg(to_avic_vcpu(a)->backing, APIC_LDR) = 0x02000000;
	*apic_reg(to_avic_vcpu(b)->backing, APIC_LDR) = 0x04000000;
	/* Flat logical mask 0x06 (the table was never told): both targets. */
	ASSERT_OK(avic_handle_incomplete_ipi(s, (6ULL << 56) | 0x862,
					     exitinfo2(AVIC_IPI_FAILURE_INVALID_TARGET, 1), NULL));
	ASSERT(irr(a, 0x62));
	ASSERT(irr(b, 0x62));
	ASSERT(!irr(s, 0x62));
	vm_destroy(vm);
}

TEST(avic_ipi_illegal_vector_sets_esr)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *s = avic_vcpu_new(vm, 0);
	struct avic_vcpu *v = to_avic_vcpu(s);
	struct avic_ipi_stats st = { 0 };

	ASSERT_OK(avic_handle_incomplete_ipi(s, (1ULL << 56) | 0x0F,
					     exitinfo2(AVIC_IPI_FAILURE_INVALID_IPI_VECTOR, 0), &st));
	vlapic_write_esr(v->backing, &v->esr_pending);
	ASSERT_EQ(*apic_reg(v->backing, APIC_ESR), APIC_ESR_SEND_ILLEGAL_VECTOR);
	ASSERT_EQ(avic_handle_incomplete_ipi(s, 0x40,
					     exitinfo2(AVIC_IPI_FAILURE_INVALID_BACKING_PAGE, 1), &st),
		  -EFAULT);
	ASSERT_EQ(st.bad_backing_page, 1);
	ASSERT_EQ(avic_handle_incomplete_ipi(s, 0x40, exitinfo2(9, 0), &st), -EINVAL);
	ASSERT_EQ(st.bad_cause, 1);
	vm_destroy(vm);
}

TEST(avic_unaccelerated_trap_and_fault)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *s = avic_vcpu_new(vm, 0), *t = avic_vcpu_new(vm, 1);
	struct avic_vcpu *v = to_avic_vcpu(s);
	void *r = v->backing;
	uint32_t val;

	/* Trap: LDR already written; the logical table follows. */
	*apic_reg(r, APIC_LDR) = 0x08000000;
	ASSERT_OK(avic_handle_unaccelerated_access(s, BIT_ULL(32) | APIC_LDR, NULL));
	ASSERT_EQ(to_avic_vm(vm)->logical_table[3], 0x80000000);
	/* Trap on a read is a silicon bug. */
	ASSERT_EQ(avic_handle_unaccelerated_access(s, APIC_LDR, &val), -EINVAL);
	/* Trap: ICR written to the page; the hypervisor sends it. */
	*apic_reg(r, APIC_ICR2) = 1U << 24;
	*apic_reg(r, APIC_ICR) = 0x1077;	/* busy set, fixed, vector 0x77 */
	ASSERT_OK(avic_handle_unaccelerated_access(s, BIT_ULL(32) | APIC_ICR, NULL));
	ASSERT(*apic_reg(to_avic_vcpu(t)->backing, APIC_VECTOR_WORD(APIC_IRR, 0x77)) &
	       (1U << APIC_VECTOR_BIT(0x77)));
	ASSERT_EQ(*apic_reg(r, APIC_ICR) & APIC_ICR_BUSY, 0);
	/* Trap: APIC ID changed by the guest inhibits AVIC. */
	*apic_reg(r, APIC_ID) = 9U << 24;
	ASSERT_OK(avic_handle_unaccelerated_access(s, BIT_ULL(32) | APIC_ID, NULL));
	ASSERT(avic_inhibits(vm) & BIT_ULL(AVIC_INHIBIT_APIC_ID_MODIFIED));
	/* Fault: TPR write emulated with PPR; current count reads 0; IRR is read-only. */
	val = 0x52;
	ASSERT_OK(avic_handle_unaccelerated_access(s, BIT_ULL(32) | APIC_TASKPRI, &val));
	ASSERT_EQ(*apic_reg(r, APIC_PROCPRI), 0x52);
	*apic_reg(r, APIC_TMCCT) = 1234;
	ASSERT_OK(avic_handle_unaccelerated_access(s, APIC_TMCCT, &val));
	ASSERT_EQ(val, 0);
	val = 0xFFFFFFFF;
	ASSERT_OK(avic_handle_unaccelerated_access(s, BIT_ULL(32) | APIC_IRR, &val));
	ASSERT_EQ(*apic_reg(r, APIC_IRR), 0);
	ASSERT_OK(avic_handle_unaccelerated_access(s, APIC_LVR, &val));
	ASSERT_EQ(val, 0x00050014);
	/* Fault with no value to use: refused. */
	ASSERT_EQ(avic_handle_unaccelerated_access(s, APIC_TASKPRI, NULL), -EINVAL);
	vm_destroy(vm);
}

/* One dispatcher for both AVIC exits; anything else is refused. */
TEST(avic_handle_exit_dispatch)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *s = avic_vcpu_new(vm, 0), *t = avic_vcpu_new(vm, 1);
	struct avic_ipi_stats st = { 0 };
	uint32_t val = 0;

	/* Incomplete IPI, INVALID_TARGET: emulated, counted in st. */
	ASSERT_OK(avic_handle_exit(s, SVM_EXIT_AVIC_INCOMPLETE_IPI, (1ULL << 56) | 0x45,
				   exitinfo2(AVIC_IPI_FAILURE_INVALID_TARGET, 1), NULL, &st));
	ASSERT(irr(t, 0x45));
	ASSERT_EQ(st.by_cause[AVIC_IPI_FAILURE_INVALID_TARGET], 1);
	ASSERT_EQ(st.emulated, 1);
	/* Unaccelerated access, a fault-class read. */
	ASSERT_OK(avic_handle_exit(s, SVM_EXIT_AVIC_UNACCELERATED_ACCESS, APIC_LVR, 0, &val,
				   NULL));
	ASSERT_EQ(val, 0x00050014);
	/* Trap on a read, and exits that are not AVIC's. */
	ASSERT_EQ(avic_handle_exit(s, SVM_EXIT_AVIC_UNACCELERATED_ACCESS, APIC_LDR, 0, &val,
				   NULL), -EINVAL);
	ASSERT_EQ(avic_handle_exit(s, 0x400, 0, 0, &val, NULL), -EINVAL);
	ASSERT_EQ(avic_handle_exit(s, 0x403, 0, 0, &val, NULL), -EINVAL);
	vm_destroy(vm);
}

/* The engines' send path: the silicon stores ICR once, its exit is handled. */
TEST(avic_icr_write_send_path)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *s = avic_vcpu_new(vm, 0), *t = avic_vcpu_new(vm, 1);
	struct avic_cpu_ipi out;
	void *r = to_avic_vcpu(s)->backing;
	uint32_t seq;

	ASSERT_OK(vcpu_load(s, 0));
	ASSERT_OK(vcpu_load(t, 1));
	/* Accelerated: stored as written (Busy too), IRR set, no exit. */
	ASSERT_EQ(avic_icr_write(s, (1ULL << 56) | 0x1051, NULL, &out, NULL), 0);
	ASSERT_EQ(out.exit_code, 0);
	ASSERT_EQ(out.doorbells, 1);
	ASSERT(irr(t, 0x51));
	ASSERT_EQ(*apic_reg(r, APIC_ICR), 0x1051);
	ASSERT_EQ(*apic_reg(r, APIC_ICR2), 1U << 24);
	/* Not running: the exit wakes the target. */
	vcpu_put(t);
	seq = t->wake_seq;
	ASSERT_EQ(avic_icr_write(s, (1ULL << 56) | 0x52, NULL, &out, NULL), 0);
	ASSERT_EQ(out.exit_code, SVM_EXIT_AVIC_INCOMPLETE_IPI);
	ASSERT_EQ(out.cause, AVIC_IPI_FAILURE_TARGET_NOT_RUNNING);
	ASSERT(irr(t, 0x52));
	ASSERT(t->wake_seq != seq);
	/* AVIC inhibited: the hypervisor stores and emulates the write (Busy cleared). */
	avic_set_inhibit(vm, AVIC_INHIBIT_BLOCKIRQ);
	vcpu_put(s);
	ASSERT_OK(vcpu_load(s, 0));
	ASSERT_EQ(avic_icr_write(s, (1ULL << 56) | 0x1053, NULL, &out, NULL), 1);
	ASSERT_EQ(out.exit_code, 0);
	ASSERT_EQ(out.cause, AVIC_CPU_NO_CAUSE);
	ASSERT(irr(t, 0x53));
	ASSERT_EQ(*apic_reg(r, APIC_ICR), 0x53);
	ASSERT_EQ(*apic_reg(r, APIC_ICR2), 1U << 24);
	/* out may be NULL. */
	ASSERT_EQ(avic_icr_write(s, (1ULL << 56) | 0x54, NULL, NULL, NULL), 1);
	ASSERT(irr(t, 0x54));
	vm_destroy(vm);
}

struct kick_count {
	struct vm *vm;
	uint32_t n[4];
};

static void count_kick(struct vcpu *vcpu, void *opaque)
{
	struct kick_count *k = opaque;

	ASSERT(vcpu->vm == k->vm);
	ASSERT(vcpu->vcpu_idx < 4);
	k->n[vcpu->vcpu_idx]++;
}

/* INIT, SIPI and NMI become events on their target, and only it is kicked. */
TEST(avic_ipi_event_kicks_only_its_target)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct kick_count k = { .vm = vm };
	struct vcpu *v[4];
	uint32_t seq[4];
	uint8_t sipi = 0;

	for (uint32_t i = 0; i < 4; i++) {
		v[i] = avic_vcpu_new(vm, i);
		ASSERT_OK(vcpu_load(v[i], (int)i));
	}
	vm_set_kick(vm, count_kick, &k);
	for (uint32_t i = 0; i < 4; i++)
		seq[i] = v[i]->wake_seq;
	/* INIT (level assert) to physical ID 2: the silicon exits INVALID_INT_TYPE. */
	ASSERT_EQ(avic_icr_write(v[0], (2ULL << 56) | 0xC500, NULL, NULL, NULL), 0);
	ASSERT_EQ(avic_vcpu_take_events(v[2], NULL), AVIC_EVENT_INIT);
	ASSERT_EQ(k.n[2], 1);
	/* NMI, then SIPI vector 0x9A, the same way. */
	ASSERT_EQ(avic_icr_write(v[0], (2ULL << 56) | 0x400, NULL, NULL, NULL), 0);
	ASSERT_EQ(avic_icr_write(v[0], (2ULL << 56) | 0x69A, NULL, NULL, NULL), 0);
	ASSERT(avic_vcpu_has_events(v[2]));
	ASSERT_EQ(avic_vcpu_take_events(v[2], &sipi), AVIC_EVENT_NMI | AVIC_EVENT_SIPI);
	ASSERT_EQ(sipi, 0x9A);
	ASSERT_EQ(k.n[2], 3);
	/* Nobody else was kicked, woken or given an event. */
	for (uint32_t i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		ASSERT_EQ(k.n[i], 0);
		ASSERT_EQ(v[i]->wake_seq, seq[i]);
		ASSERT(!avic_vcpu_has_events(v[i]));
	}
	ASSERT(v[2]->wake_seq != seq[2]);
	/* All-excluding-self INIT: each of the three others kicked once. */
	ASSERT_EQ(avic_icr_write(v[0], (3ULL << 18) | 0x4500, NULL, NULL, NULL), 0);
	ASSERT_EQ(k.n[0], 0);
	ASSERT_EQ(k.n[1], 1);
	ASSERT_EQ(k.n[2], 4);
	ASSERT_EQ(k.n[3], 1);
	vm_destroy(vm);
}

/* The engines' register path, with AVIC on and off: the same results. */
TEST(avic_apic_access_on_and_off)
{
	for (int inhibit = 0; inhibit < 2; inhibit++) {
		struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
		struct vcpu *s = avic_vcpu_new(vm, 0);
		void *r = avic_vcpu_backing(s);
		uint32_t val;

		if (inhibit) {
			avic_set_inhibit(vm, AVIC_INHIBIT_BLOCKIRQ);
			ASSERT_OK(vcpu_load(s, 0));	/* AVIC_ENABLE follows at load */
		}
		/* Trap write: stored, then sanitized by the hypervisor. */
		val = 0xFFFFFFFF;
		ASSERT_OK(avic_apic_access(s, APIC_LVT0, true, &val));
		ASSERT_EQ(*apic_reg(r, APIC_LVT0), 0x1A7FF | (uint32_t)APIC_LVT_MASKED);
		/* Fault write: emulated (TPR with PPR). */
		val = 0x45;
		ASSERT_OK(avic_apic_access(s, APIC_TASKPRI, true, &val));
		ASSERT_EQ(*apic_reg(r, APIC_PROCPRI), 0x45);
		/* Reads, either class. */
		ASSERT_OK(avic_apic_access(s, APIC_LVR, false, &val));
		ASSERT_EQ(val, 0x00050014);
		ASSERT_OK(avic_apic_access(s, APIC_ID, false, &val));
		ASSERT_EQ(val, 0);
		/* Past the registers: reads 0, writes dropped. */
		val = 7;
		ASSERT_OK(avic_apic_access(s, 0x400, true, &val));
		ASSERT_EQ(*apic_reg(r, 0x400), 0);
		/* ICR writes go through avic_icr_write. */
		ASSERT_EQ(avic_apic_access(s, APIC_ICR, true, &val), -EINVAL);
		ASSERT_EQ(avic_apic_access(s, 0x88, false, &val), -EINVAL);
		vm_destroy(vm);
	}
}
