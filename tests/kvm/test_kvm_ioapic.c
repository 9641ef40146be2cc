// SPDX-License-Identifier: MIT
/*
 * The I/O APIC guest (guests/ioapic.c) on 2 vCPUs under --irqchip=avic
 * (delivering through the AVIC model) and --irqchip=kernel (KVM's LAPICs
 * by KVM_SIGNAL_MSI, their level EOIs back as KVM_EXIT_IOAPIC_EOI): the
 * same I/O APIC, vintc's (kvm/devices/ioapic.c, version 0x20), and the
 * same PASS lines.  Under the kernel irqchip a "SKIP what: ..." line with
 * the reason below counts as "PASS what": the guest prints one for a
 * check that counts level-triggered deliveries when the local APIC sends
 * the EOI before the handler does, which this project's test host's KVM
 * (kvm-pvm) does with its own LAPIC.  vintc must PASS every line.  Needs a
 * usable /dev/kvm (a visible SKIP without one).
 */
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include <vintc/host.h>

#include "kvm_util.h"
#include "test.h"

#define IOAPIC_GUEST_CHECKS	34

static const char early_eoi[] =
	": the local APIC sends the EOI of a level-triggered vector before its handler does\n";

/* The PASS lines, sorted and joined; with skips_pass, SKIP lines as PASS. */
static char *ioapic_lines(const char *out, bool skips_pass, int *skips)
{
	char *copy = strdup(out), *save = NULL, *res;
	const char *lines[128];
	size_t n = 0;

	ASSERT(copy);
	*skips = 0;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(l, "SKIP ", 5)) {
			char *colon = strchr(l, ':');

			++*skips;
			/* Only the host's early EOI; strtok_r cut the newline. */
			if (!skips_pass || !colon ||
			    strncmp(colon, early_eoi, sizeof(early_eoi) - 2) ||
			    colon[sizeof(early_eoi) - 2])
				continue;
			*colon = '\0';
			memcpy(l, "PASS", 4);
		} else if (strncmp(l, "PASS ", 5)) {
			continue;
		}
		ASSERT(n < ARRAY_SIZE(lines));
		lines[n++] = l;
	}
	res = lines_sorted(lines, n);
	free(copy);
	return res;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

TEST(kvm_ioapic_irqchips)
{
	struct vkvm_result ra, rk;
	char *oa, *ok, *pa, *pk;
	int skips_a, skips_k;

	need_kvm();
	oa = lib_run_chip("ioapic", NULL, 30, 2, VKVM_IRQCHIP_AVIC, &ra);
	ok = lib_run_chip("ioapic", NULL, 30, 2, VKVM_IRQCHIP_KERNEL, &rk);
	pa = ioapic_lines(oa, false, &skips_a);
	pk = ioapic_lines(ok, true, &skips_k);
	if (ra.exit_status != 1 || rk.exit_status != 1 || skips_a || strstr(oa, "FAIL") ||
	    strcmp(pa, pk))
		test_fail(__FILE__, __LINE__, "avic (exit %d):\n%s\nkernel (exit %d, %s):\n%s",
			  ra.exit_status, oa, rk.exit_status, rk.message, ok);
	/* Every check is a PASS line under vintc's I/O APIC and LAPIC. */
	ASSERT_EQ(count_lines(pa), IOAPIC_GUEST_CHECKS);
	/* Ours under both (KVM's in-kernel one would be 0x00170011). */
	ASSERT(strstr(oa, "ioapic version 0x00170020\n"));
	ASSERT(strstr(ok, "ioapic version 0x00170020\n"));
	/* Checks that never SKIP: the level EOI path works under KVM's LAPIC. */
	ASSERT(strstr(ok, "PASS ioapic version 0x20 24 entries\n"));
	ASSERT(strstr(ok, "PASS ioapic level eoi reaches the ioapic\n"));
	ASSERT(strstr(ok, "PASS ioapic level tmr set\n"));
	/* Its registers exit to userspace under both; KVM reports level EOIs. */
	ASSERT(ra.exits[KVM_EXIT_MMIO] > 0);
	ASSERT(rk.exits[KVM_EXIT_MMIO] > 0);
	ASSERT(rk.exits[KVM_EXIT_IOAPIC_EOI] > 0);
	ASSERT_EQ(ra.exits[KVM_EXIT_IOAPIC_EOI], 0);
	/* By that name in --json and --stats. */
	ASSERT(!strcmp(vkvm_exit_name(KVM_EXIT_IOAPIC_EOI), "IOAPIC_EOI"));
	free(pa);
	free(pk);
	free(oa);
	free(ok);
}

TEST(kvm_ioapic_one_cpu_skips)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run_chip("ioapic", NULL, 30, 1, VKVM_IRQCHIP_AVIC, &r);
	ASSERT_EQ(r.exit_status, 1);
	ASSERT(strstr(out, "SKIP ioapic: needs 2 CPUs\n"));
	free(out);
}
