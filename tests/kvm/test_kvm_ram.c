// SPDX-License-Identifier: MIT
/*
 * Guest RAM past 3 GiB lives from 4 GiB, as on a PC, so that the hole
 * below 4 GiB holds the devices: with -m 4096 a Multiboot guest sees
 * mem_upper stop at 3 GiB, and the I/O APIC at 0xFEC00000 answers instead
 * of RAM (which covered it when RAM ran on up to the APIC page).  The
 * 64-bit side (RAM at 4 GiB written and read back) is in
 * test_kvm_bzimage64.c.  Needs /dev/kvm.
 */
#include <stdlib.h>
#include <string.h>

#include <vintc/kvm_run.h>

#include "kvm_util.h"
#include "test.h"

static char *run_4g(const char *name, uint32_t cpus, enum vkvm_irqchip chip,
		    struct vkvm_result *r)
{
	struct vkvm_opts o;

	vkvm_default_opts(&o);
	o.ram_mib = 4096;
	o.timeout_s = 30;
	o.nr_cpus = cpus;
	o.irqchip = chip;
	o.halt_poll_us = 0;
	return lib_run_opts(name, &o, r);
}

TEST(kvm_ram_4g_mem_upper_stops_at_3g)
{
	for (int chip = VKVM_IRQCHIP_AVIC; chip <= VKVM_IRQCHIP_KERNEL; chip++) {
		struct vkvm_result r;
		char *out;

		need_kvm();
		out = run_4g("hello", 1, chip, &r);
		/* (3 GiB - 1 MiB) / 1 KiB */
		if (r.exit_status != 1 || !strstr(out, "PASS mbi mem_upper=3144704\n") ||
		    strstr(out, "FAIL"))
			test_fail(__FILE__, __LINE__, "irqchip %d (exit %d):\n%s", chip,
				  r.exit_status, out);
		ASSERT_EQ(r.layout.nr_mmap, 5);
		free(out);
	}
}

TEST(kvm_ram_4g_leaves_the_ioapic_alone)
{
	for (int chip = VKVM_IRQCHIP_AVIC; chip <= VKVM_IRQCHIP_KERNEL; chip++) {
		struct vkvm_result r;
		char *out;

		need_kvm();
		out = run_4g("ioapic", 2, chip, &r);
		if (r.exit_status != 1 || !strstr(out, "ioapic version 0x00170020\n") ||
		    strstr(out, "FAIL"))
			test_fail(__FILE__, __LINE__, "irqchip %d (exit %d):\n%s", chip,
				  r.exit_status, out);
		free(out);
	}
}
