// SPDX-License-Identifier: MIT
/*
 * The KVM paravirtual features the machine advertises all work, and none
 * that needs KVM's in-kernel LAPIC is advertised (guests/pvmsr.c), under
 * both irqchips.
 */
#include "kvm_util.h"
#include "test.h"

TEST(kvm_run_irqchips_pvmsr)
{
	both_irqchips("pvmsr", NULL, 1);
}
