// SPDX-License-Identifier: MIT
/*
 * The same test guests on the AVIC model and on KVM's in-kernel LAPIC:
 * both must print the same PASS lines.  Need a usable /dev/kvm (a visible
 * SKIP without one).
 */
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include <vintc/host.h>
#include <vintc/kvm_run.h>

#include "kvm_util.h"
#include "test.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The PASS lines of a guest's output, sorted (APs' lines interleave) and
 * joined.  The known differences between the irqchips: KVM's LAPIC does
 * not latch Send Illegal Vector in ESR, so the smp guest prints a SKIP
 * line there, and it reads back no ISR bit (nor its class in PPR) inside a
 * handler, so the tpr guest prints a SKIP line for its PPR check; and it
 * takes a non-zero x2APIC EOI write without the SDM's #GP; those lines
 * count as their PASS lines.
 */
static char *pass_lines(const char *out)
{
	static const char skip_esr[] = "SKIP illegal vector esr:";
	static const char skip_ppr[] = "SKIP ppr:";
	static const char skip_eoi[] = "SKIP x2apic gp eoi nonzero:";
	const char *lines[256];
	size_t n = 0, len = 1;
	char *copy = strdup(out), *save = NULL, *res;

	ASSERT(copy);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(l, skip_esr, sizeof(skip_esr) - 1))
			l = "PASS illegal vector esr";
		else if (!strncmp(l, skip_ppr, sizeof(skip_ppr) - 1))
			l = "PASS ppr";
		else if (!strncmp(l, skip_eoi, sizeof(skip_eoi) - 1))
			l = "PASS x2apic gp eoi nonzero";
		else if (strncmp(l, "PASS ", 5))
			continue;
		ASSERT(n < ARRAY_SIZE(lines));
		lines[n++] = l;
		len += strlen(l) + 1;
	}
	qsort(lines, n, sizeof(lines[0]), cmp_str);
	res = malloc(len);
	ASSERT(res);
	res[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(res, lines[i]);
		strcat(res, "\n");
	}
	free(copy);
	return res;
}

static void both_irqchips(const char *name, const char *cmdline, uint32_t cpus)
{
	struct vkvm_result ra, rk;
	char *oa, *ok, *pa, *pk;

	need_kvm();
	oa = lib_run_chip(name, cmdline, 30, cpus, VKVM_IRQCHIP_AVIC, &ra);
	/* KVM's LAPIC always has them: compare only what both advertise. */
	if (!ra.x2apic && !strcmp(name, "x2apic"))
		test_skip("this kernel does not hand x2APIC MSRs to userspace (probe)");
	if (!ra.tsc_deadline && !strcmp(name, "timer"))
		test_skip("this kernel does not hand IA32_TSC_DEADLINE to userspace (probe)");
	ok = lib_run_chip(name, cmdline, 30, cpus, VKVM_IRQCHIP_KERNEL, &rk);
	pa = pass_lines(oa);
	pk = pass_lines(ok);
	if (!pa[0] || strcmp(pa, pk) || ra.exit_status != 1 || rk.exit_status != 1)
		test_fail(__FILE__, __LINE__,
			  "%s -c %u: avic (exit %d):\n%s\nkernel (exit %d, %s):\n%s", name, cpus,
			  ra.exit_status, oa, rk.exit_status, rk.message, ok);
	ASSERT_EQ(rk.irqchip, VKVM_IRQCHIP_KERNEL);
	ASSERT_EQ(rk.nr_cpus, cpus);
	/* The in-kernel LAPIC keeps the xAPIC page and HLT to itself. */
	ASSERT_EQ(rk.exits[KVM_EXIT_MMIO], 0);
	ASSERT_EQ(rk.exits[KVM_EXIT_HLT], 0);
	ASSERT_EQ(rk.apic.ipis, 0);
	free(pa);
	free(pk);
	free(oa);
	free(ok);
}

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
