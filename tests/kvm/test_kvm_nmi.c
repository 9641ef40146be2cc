// SPDX-License-Identifier: MIT
/*
 * NMIs counted as the CPU takes them, on the AVIC model and on KVM's
 * in-kernel LAPIC (guests/nmi.c): the same PASS lines under both.
 */
#include "kvm_util.h"
#include "test.h"

TEST(kvm_run_irqchips_nmi_2)
{
	both_irqchips("nmi", NULL, 2);
}

TEST(kvm_run_irqchips_nmi_3)
{
	both_irqchips("nmi", NULL, 3);
}
