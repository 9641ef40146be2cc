// SPDX-License-Identifier: MIT
/*
 * NMIs posted by the hypervisor path are counted, not merged: the engine
 * delivers each one and the CPU (KVM's NMI queue) decides which merge.
 */
#include <vintc/avic.h>

#include "avic_util.h"
#include "test.h"

TEST(avic_nmis_are_counted_not_merged)
{
	struct vm *vm = avic_vm_new(AVIC_MODEL_XAVIC, 0, NULL);
	struct vcpu *v[3];

	for (uint32_t i = 0; i < 3; i++) {
		v[i] = avic_vcpu_new(vm, i);
		ASSERT_OK(vcpu_load(v[i], (int)i));
	}
	/* Nothing posted: nothing to take. */
	ASSERT_EQ(avic_vcpu_take_nmis(v[1]), 0);
	/* Three NMIs to physical ID 1 before it looks: three, and one flag. */
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(avic_icr_write(v[0], (1ULL << 56) | 0x400, NULL, NULL, NULL), 0);
	ASSERT_EQ(avic_vcpu_take_events(v[1], NULL), AVIC_EVENT_NMI);
	ASSERT_EQ(avic_vcpu_take_nmis(v[1]), 3);
	ASSERT_EQ(avic_vcpu_take_nmis(v[1]), 0);
	ASSERT(!avic_vcpu_has_events(v[1]));
	/* A self-NMI by own APIC ID and a remote one arriving together: two. */
	ASSERT_EQ(avic_icr_write(v[2], (2ULL << 56) | 0x400, NULL, NULL, NULL), 0);
	ASSERT_EQ(avic_icr_write(v[0], (2ULL << 56) | 0x400, NULL, NULL, NULL), 0);
	ASSERT_EQ(avic_vcpu_take_events(v[2], NULL), AVIC_EVENT_NMI);
	ASSERT_EQ(avic_vcpu_take_nmis(v[2]), 2);
	/* All-excluding-self: one each for the others, none for the sender. */
	ASSERT_EQ(avic_icr_write(v[0], (3ULL << 18) | 0x400, NULL, NULL, NULL), 0);
	ASSERT_EQ(avic_vcpu_take_nmis(v[0]), 0);
	ASSERT_EQ(avic_vcpu_take_nmis(v[1]), 1);
	ASSERT_EQ(avic_vcpu_take_nmis(v[2]), 1);
	/* Other events do not count as NMIs. */
	ASSERT_EQ(avic_icr_write(v[0], (1ULL << 56) | 0xC500, NULL, NULL, NULL), 0);
	ASSERT_EQ(avic_vcpu_take_nmis(v[1]), 0);
	vm_destroy(vm);
}
