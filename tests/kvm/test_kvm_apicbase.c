// SPDX-License-Identifier: MIT
/*
 * IA32_APIC_BASE transitions and APIC relocation (guests/apicbase.c) on
 * the AVIC model and on KVM's in-kernel LAPIC: the same PASS lines.
 *
 * Where the SDM lets an implementation choose (a disabled APIC "may" lose
 * its state, 10.4.3; x2APIC state is "not preserved", 10.12.5.1), vintc
 * resets the APIC and KVM's LAPIC keeps SVR, TPR, LDR and LVT0: the guest
 * prints "SKIP ...: kept" there, which counts as PASS for KVM's LAPIC
 * only; the model must print PASS.  Need a usable /dev/kvm.
 */
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include <vintc/host.h>
#include <vintc/kvm_run.h>

#include "kvm_util.h"
#include "test.h"

/* The output with every "SKIP apicbase WHAT: kept ..." line made "PASS apicbase WHAT". */
static char *kept_as_pass(const char *out)
{
	static const char skip[] = "SKIP apicbase ";
	char *res = strdup(out), *line = res;

	ASSERT(res);
	while (*line) {
		char *end = strchr(line, '\n'), *colon;

		if (!end)
			end = line + strlen(line);
		colon = memchr(line, ':', (size_t)(end - line));
		if (!strncmp(line, skip, sizeof(skip) - 1) && colon && !strncmp(colon, ": kept", 6)) {
			memcpy(line, "PASS", 4);
			/* Cut the reason: the line ends at the colon. */
			memmove(colon, end, strlen(end) + 1);
			end = colon;
		}
		line = *end ? end + 1 : end;
	}
	return res;
}

static void apicbase_both(uint32_t cpus)
{
	static const char *const must[] = {
		"PASS apicbase bsp reenable state reset\n",
		"PASS apicbase bsp cpuid apic bit follows en\n",
		"PASS apicbase bsp gp x2apic to xapic\n",
		"PASS apicbase bsp gp reserved maxphyaddr\n",
		"PASS apicbase bsp bsp flag writable\n",
		"PASS apicbase bsp relocated registers readable\n",
		"PASS apicbase bsp old base reads all-ones\n",
		"PASS apicbase bsp relocated self ipi\n",
		"PASS apicbase bsp ram answers over ram\n",
	};
	struct vkvm_result ra, rk;
	char *oa, *ok, *kk, *pa, *pk;

	need_kvm();
	oa = lib_run_chip("apicbase", NULL, 30, cpus, VKVM_IRQCHIP_AVIC, &ra);
	if (!ra.apic_base_msr)
		test_skip("this kernel does not hand IA32_APIC_BASE to userspace (probe)");
	if (!ra.x2apic)
		test_skip("this kernel does not hand x2APIC MSRs to userspace (probe)");
	if (strstr(oa, "FAIL") || strstr(oa, "SKIP") || ra.exit_status != 1)
		test_fail(__FILE__, __LINE__, "apicbase -c %u on avic (exit %d, %s):\n%s", cpus,
			  ra.exit_status, ra.message, oa);
	for (size_t i = 0; i < ARRAY_SIZE(must); i++)
		if (!strstr(oa, must[i]))
			test_fail(__FILE__, __LINE__, "no \"%.*s\" in:\n%s",
				  (int)strlen(must[i]) - 1, must[i], oa);
	if (cpus > 1) {
		ASSERT(strstr(oa, "PASS apicbase ap xapic id after x2apic\n"));
		ASSERT(strstr(oa, "PASS apicbase ap ipi to a disabled apic not taken\n"));
		ASSERT(strstr(oa, "PASS apicbase bsp relocated ipi round trip\n"));
	}
	/* The filter routed IA32_APIC_BASE: every access exited. */
	ASSERT(ra.exits[KVM_EXIT_X86_WRMSR] > 0);
	ASSERT(ra.exits[KVM_EXIT_X86_RDMSR] > 0);

	ok = lib_run_chip("apicbase", NULL, 30, cpus, VKVM_IRQCHIP_KERNEL, &rk);
	kk = kept_as_pass(ok);
	pa = pass_lines(oa);
	pk = pass_lines(kk);
	if (strcmp(pa, pk) || rk.exit_status != 1)
		test_fail(__FILE__, __LINE__, "apicbase -c %u: avic:\n%s\nkernel (exit %d, %s):\n%s",
			  cpus, oa, rk.exit_status, rk.message, ok);
	ASSERT(rk.apic_base_msr);
	free(pa);
	free(pk);
	free(kk);
	free(oa);
	free(ok);
}

TEST(kvm_apicbase_kept_as_pass)
{
	char *s = kept_as_pass("PASS apicbase a\nSKIP apicbase b c: kept, svr 0x1ff\n"
			       "SKIP apicbase d: other\nFAIL x: kept\nSKIP apicbase e: kept");

	static const char want[] = "PASS apicbase a\nPASS apicbase b c\nSKIP apicbase d: other\n"
				   "FAIL x: kept\nPASS apicbase e";

	if (strcmp(s, want))
		test_fail(__FILE__, __LINE__, "got:\n%s\nwant:\n%s", s, want);
	free(s);
}

TEST(kvm_apicbase_irqchips_1)
{
	apicbase_both(1);
}

TEST(kvm_apicbase_irqchips_2)
{
	apicbase_both(2);
}

TEST(kvm_apicbase_irqchips_3)
{
	apicbase_both(3);
}
