// SPDX-License-Identifier: MIT
/*
 * Interrupt messages from the system bus (avic_deliver_irq): destinations,
 * delivery modes, TMR as acceptance leaves it, lowest priority, refused
 * vectors; and the EOI of a level-triggered vector reaching the engine's
 * hook (avic_set_eoi_hook) through the EOI trap.
 */
#include <vintc/vlapic.h>

#include "avic_util.h"

#define NR	3

struct eoi_log {
	int calls;
	uint32_t idx;
	uint8_t vector;
};

static void log_eoi(struct vcpu *vcpu, uint8_t vector, void *opaque)
{
	struct eoi_log *log = opaque;

	log->calls++;
	log->idx = vcpu->vcpu_idx;
	log->vector = vector;
}

/* A VM of NR vCPUs (IDs 0..NR-1), every APIC reset and software-enabled. */
static struct vm *irq_vm(struct vcpu **v)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_X2AVIC, NR, NULL);

	for (uint32_t i = 0; i < NR; i++) {
		v[i] = avic_vcpu_new(vm, i);
		vlapic_reset(avic_vcpu_backing(v[i]), i);
		vlapic_write_svr(avic_vcpu_backing(v[i]), 0x1FF);
	}
	return vm;
}

static bool vec_bit(struct vcpu *v, unsigned int base, uint8_t vec)
{
	return *apic_reg(avic_vcpu_backing(v), APIC_VECTOR_WORD(base, vec)) &
	       (1U << APIC_VECTOR_BIT(vec));
}

static struct vlapic_icr msg(uint8_t mode, uint8_t vector, uint32_t dest, bool logical,
			     bool level)
{
	return (struct vlapic_icr){
		.vector = vector, .delivery_mode = mode, .dest = dest,
		.dest_logical = logical, .trigger_level = level, .level_assert = true,
	};
}

static int deliver(struct vm *vm, uint8_t mode, uint8_t vector, uint32_t dest, bool logical,
		   bool level)
{
	struct vlapic_icr m = msg(mode, vector, dest, logical, level);

	return avic_deliver_irq(vm, &m);
}

static void set_ldr(struct vcpu *v, uint32_t ldr, uint32_t dfr)
{
	*apic_reg(avic_vcpu_backing(v), APIC_DFR) = dfr;
	*apic_reg(avic_vcpu_backing(v), APIC_LDR) = ldr;
	avic_handle_ldr_update(v);
}

TEST(avic_irq_fixed_sets_tmr_by_trigger)
{
	struct vcpu *v[NR];
	struct vm *vm = irq_vm(v);

	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x41, 1, false, true), 1);
	ASSERT(vec_bit(v[1], APIC_IRR, 0x41) && vec_bit(v[1], APIC_TMR, 0x41));
	ASSERT(!vec_bit(v[0], APIC_IRR, 0x41) && !vec_bit(v[2], APIC_IRR, 0x41));
	/* Accepted again edge-triggered: TMR follows the latest acceptance. */
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x41, 1, false, false), 1);
	ASSERT(vec_bit(v[1], APIC_IRR, 0x41) && !vec_bit(v[1], APIC_TMR, 0x41));
	/* No such APIC: nobody. */
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x42, 7, false, false), 0);
	vm_destroy(vm);
}

TEST(avic_irq_destinations)
{
	struct vcpu *v[NR];
	struct vm *vm = irq_vm(v);

	/* Physical broadcast: all three. */
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x50, 0xFF, false, false), NR);
	for (uint32_t i = 0; i < NR; i++)
		ASSERT(vec_bit(v[i], APIC_IRR, 0x50));
	/* Logical flat: bits 0 and 2. */
	for (uint32_t i = 0; i < NR; i++)
		set_ldr(v[i], (1U << i) << 24, 0xFFFFFFFFU);
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x51, 0x05, true, false), 2);
	ASSERT(vec_bit(v[0], APIC_IRR, 0x51) && !vec_bit(v[1], APIC_IRR, 0x51) &&
	       vec_bit(v[2], APIC_IRR, 0x51));
	/* Logical cluster: cluster 1, member bit 1 names vCPU 1 only. */
	set_ldr(v[1], 0x12U << 24, 0x0FFFFFFFU);
	set_ldr(v[2], 0x22U << 24, 0x0FFFFFFFU);
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x52, 0x12, true, false), 1);
	ASSERT(vec_bit(v[1], APIC_IRR, 0x52) && !vec_bit(v[2], APIC_IRR, 0x52));
	vm_destroy(vm);
}

TEST(avic_irq_broadcast_reaches_x2apic)
{
	struct vcpu *v[NR];
	struct vm *vm = irq_vm(v);

	ASSERT_OK(avic_set_x2apic_mode(v[2], true));
	vlapic_x2apic_set_id(avic_vcpu_backing(v[2]), 2);
	/* A bus message's 0xFF is every APIC, x2APIC mode or not. */
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x60, 0xFF, false, false), NR);
	ASSERT(vec_bit(v[2], APIC_IRR, 0x60));
	/* Physical ID 2 still names it. */
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x61, 2, false, false), 1);
	ASSERT(vec_bit(v[2], APIC_IRR, 0x61));
	vm_destroy(vm);
}

TEST(avic_irq_software_disabled_drops_fixed)
{
	struct vcpu *v[NR];
	struct vm *vm = irq_vm(v);

	vlapic_write_svr(avic_vcpu_backing(v[1]), 0xFF);
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x44, 1, false, true), 0);
	ASSERT(!vec_bit(v[1], APIC_IRR, 0x44) && !vec_bit(v[1], APIC_TMR, 0x44));
	/* NMI still reaches it (SDM: a disabled APIC takes NMI, INIT, SMI). */
	ASSERT_EQ(deliver(vm, APIC_DM_NMI, 0, 1, false, false), 1);
	ASSERT(avic_vcpu_take_events(v[1], NULL) & AVIC_EVENT_NMI);
	vm_destroy(vm);
}

TEST(avic_irq_lowest_priority_one_target)
{
	struct vcpu *v[NR];
	struct vm *vm = irq_vm(v);

	for (uint32_t i = 0; i < NR; i++)
		set_ldr(v[i], (1U << i) << 24, 0xFFFFFFFFU);
	/* Three match: the (vector mod 3)-th, once per message. */
	for (uint8_t vec = 0x40; vec < 0x46; vec++) {
		uint32_t got = 0;

		ASSERT_EQ(deliver(vm, APIC_DM_LOWEST, vec, 0x07, true, false), 1);
		for (uint32_t i = 0; i < NR; i++)
			if (vec_bit(v[i], APIC_IRR, vec))
				got |= 1U << i;
		ASSERT_EQ(got, 1U << (vec % NR));
	}
	/* A software-disabled APIC takes no part: two left. */
	vlapic_write_svr(avic_vcpu_backing(v[0]), 0xFF);
	ASSERT_EQ(deliver(vm, APIC_DM_LOWEST, 0x49, 0x07, true, true), 1);
	ASSERT(vec_bit(v[2], APIC_IRR, 0x49) && vec_bit(v[2], APIC_TMR, 0x49));
	ASSERT(!vec_bit(v[0], APIC_IRR, 0x49) && !vec_bit(v[1], APIC_IRR, 0x49));
	/* To the physical broadcast it is Fixed to all enabled ones. */
	ASSERT_EQ(deliver(vm, APIC_DM_LOWEST, 0x4A, 0xFF, false, false), 2);
	vm_destroy(vm);
}

TEST(avic_irq_illegal_vector_refused)
{
	struct vcpu *v[NR];
	struct vm *vm = irq_vm(v);
	uint32_t esr;

	for (uint8_t mode = APIC_DM_FIXED; mode <= APIC_DM_LOWEST; mode++) {
		ASSERT_EQ(deliver(vm, mode, 0x0F, 0xFF, false, true), 0);
		for (uint32_t i = 0; i < NR; i++) {
			struct avic_vcpu *a = to_avic_vcpu(v[i]);

			ASSERT(!vec_bit(v[i], APIC_IRR, 0x0F) && !vec_bit(v[i], APIC_TMR, 0x0F));
			ASSERT(a->esr_pending & APIC_ESR_RECV_ILLEGAL_VECTOR);
			esr = a->esr_pending;
			vlapic_write_esr(a->backing, &a->esr_pending);
			ASSERT_EQ(*apic_reg(a->backing, APIC_ESR), esr);
		}
	}
	vm_destroy(vm);
}

TEST(avic_irq_event_modes)
{
	struct vcpu *v[NR];
	struct vm *vm = irq_vm(v);
	uint8_t sipi = 0;

	ASSERT_EQ(deliver(vm, APIC_DM_NMI, 0, 0xFF, false, false), NR);
	ASSERT_EQ(deliver(vm, APIC_DM_INIT, 0, 1, false, false), 1);
	ASSERT_EQ(deliver(vm, APIC_DM_SMI, 0, 2, false, false), 1);
	ASSERT_EQ(avic_vcpu_take_events(v[0], NULL), AVIC_EVENT_NMI);
	ASSERT_EQ(avic_vcpu_take_events(v[1], NULL), AVIC_EVENT_NMI | AVIC_EVENT_INIT);
	ASSERT_EQ(avic_vcpu_take_events(v[2], NULL), AVIC_EVENT_NMI | AVIC_EVENT_SMI);
	/* ExtINT (no 8259 gives a vector) and the reserved modes reach nobody. */
	for (uint8_t mode = 3; mode < 8; mode++) {
		if (mode == APIC_DM_NMI || mode == APIC_DM_INIT)
			continue;
		ASSERT_EQ(deliver(vm, mode, 0x40, 0xFF, false, false), 0);
		for (uint32_t i = 0; i < NR; i++) {
			ASSERT_EQ(avic_vcpu_take_events(v[i], &sipi), 0);
			ASSERT(!vec_bit(v[i], APIC_IRR, 0x40));
		}
	}
	vm_destroy(vm);
}

/* The guest's EOI, as either engine issues it: an APIC access through the model. */
static void guest_eoi(struct vcpu *v)
{
	uint32_t zero = 0;

	ASSERT_OK(avic_apic_access(v, APIC_EOI, true, &zero));
}

TEST(avic_irq_level_eoi_reaches_hook)
{
	struct vcpu *v[NR];
	struct vm *vm = irq_vm(v);
	struct eoi_log log = { 0 };
	void *regs = avic_vcpu_backing(v[1]);

	avic_set_eoi_hook(vm, log_eoi, &log);
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x70, 1, false, true), 1);
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x30, 1, false, false), 1);
	/* The level one first (higher), then the edge one. */
	ASSERT_EQ(vlapic_accept(regs), 0x70);
	guest_eoi(v[1]);
	ASSERT_EQ(log.calls, 1);
	ASSERT_EQ(log.idx, 1);
	ASSERT_EQ(log.vector, 0x70);
	ASSERT_EQ(vlapic_accept(regs), 0x30);
	guest_eoi(v[1]);
	ASSERT_EQ(log.calls, 1);
	/* Nothing in service: nothing ends, nothing is broadcast. */
	guest_eoi(v[1]);
	ASSERT_EQ(log.calls, 1);
	/* Without a hook a level EOI only ends the vector. */
	avic_set_eoi_hook(vm, NULL, NULL);
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x71, 1, false, true), 1);
	ASSERT_EQ(vlapic_accept(regs), 0x71);
	guest_eoi(v[1]);
	ASSERT_EQ(vlapic_find_highest(regs, APIC_ISR), -1);
	ASSERT_EQ(log.calls, 1);
	vm_destroy(vm);
}

TEST(avic_irq_level_eoi_in_x2apic_mode)
{
	struct vcpu *v[NR];
	struct vm *vm = irq_vm(v);
	struct eoi_log log = { 0 };

	avic_set_eoi_hook(vm, log_eoi, &log);
	ASSERT_OK(avic_set_x2apic_mode(v[0], true));
	vlapic_x2apic_set_id(avic_vcpu_backing(v[0]), 0);
	ASSERT_EQ(deliver(vm, APIC_DM_FIXED, 0x80, 0, false, true), 1);
	ASSERT_EQ(vlapic_accept(avic_vcpu_backing(v[0])), 0x80);
	guest_eoi(v[0]);
	ASSERT_EQ(log.calls, 1);
	ASSERT_EQ(log.vector, 0x80);
	vm_destroy(vm);
}
