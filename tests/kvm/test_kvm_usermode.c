// SPDX-License-Identifier: MIT
/*
 * A 64-bit guest's user mode (guests/usermode.c): ring 3 by IRETQ, a #UD
 * from ring 3 into ring 0, the same under both irqchips; and the SYSCALL
 * and SYSRETQ probes, whose answers are the host's, so the same under
 * both (kvm-pvm: SYSCALL stays in ring 3).
 */
#include <stdlib.h>
#include <string.h>

#include "kvm_util.h"
#include "test.h"

TEST(kvm_run_irqchips_usermode)
{
	both_irqchips("usermode", NULL, 2);
}

/* The guest's "INFO usermode ..." probe lines, malloc'ed. */
static char *probe_lines(enum vkvm_irqchip chip)
{
	struct vkvm_result r;
	char *out = lib_run_chip("usermode", NULL, 30, 2, chip, &r), *p, *line;

	p = strstr(out, "INFO usermode syscall ");
	if (!p || r.exit_status != 1)
		test_fail(__FILE__, __LINE__, "exit %d: %s", r.exit_status, out);
	line = strdup(p);
	ASSERT(line);
	free(out);
	return line;
}

TEST(kvm_run_usermode_syscall_probe_is_the_hosts)
{
	char *a, *k;

	need_kvm();
	a = probe_lines(VKVM_IRQCHIP_AVIC);
	k = probe_lines(VKVM_IRQCHIP_KERNEL);
	if (strcmp(a, k))
		test_fail(__FILE__, __LINE__, "avic '%s', kernel '%s'", a, k);
	/* A CPU that follows the SDM; or this host's SYSCALL. */
	ASSERT(!strcmp(a, "INFO usermode syscall ok\nINFO usermode sysretq ok\n") ||
	       !strcmp(a, "INFO usermode syscall stays in ring 3: cs 0x00000033\n"));
	free(a);
	free(k);
}
