// SPDX-License-Identifier: MIT
/*
 * The same test guests on the AVIC model and on KVM's in-kernel LAPIC:
 * both must print the same PASS lines.  Need a usable /dev/kvm (a visible
 * SKIP without one).
 */
#include "kvm_util.h"
#include "test.h"

TEST(kvm_run_irqchips_hello)
{
	both_irqchips("hello", "console=ttyS0 answer=42", 1);
}

TEST(kvm_run_irqchips_timer)
{
	both_irqchips("timer", NULL, 1);
}

TEST(kvm_run_irqchips_tpr)
{
	both_irqchips("tpr", NULL, 1);
}

TEST(kvm_run_irqchips_smp_2)
{
	both_irqchips("smp", NULL, 2);
}

TEST(kvm_run_irqchips_smp_4)
{
	both_irqchips("smp", NULL, 4);
}

TEST(kvm_run_irqchips_x2apic_2)
{
	both_irqchips("x2apic", NULL, 2);
}

TEST(kvm_run_irqchips_x2apic_4)
{
	both_irqchips("x2apic", NULL, 4);
}

TEST(kvm_run_irqchips_badapic)
{
	both_irqchips("badapic", NULL, 1);
}

TEST(kvm_run_irqchips_ipi_2)
{
	both_irqchips("ipi", NULL, 2);
}

TEST(kvm_run_irqchips_ipi_5)
{
	both_irqchips("ipi", NULL, 5);
}
