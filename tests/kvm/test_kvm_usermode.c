// SPDX-License-Identifier: MIT
/*
 * A 64-bit guest's user mode (guests/usermode.c): ring 3 by IRETQ,
 * SYSCALL, #UD from ring 3 on the TSS stack, the same under both
 * irqchips; and the SYSRETQ probe, whose answer is the host's, so the same
 * under both (kvm-pvm: #GP).
 */
#include <stdlib.h>
#include <string.h>

#include "kvm_util.h"
#include "test.h"

TEST(kvm_run_irqchips_usermode)
{
	both_irqchips("usermode", NULL, 2);
}

/* The guest's "INFO usermode sysretq ..." line, malloc'ed. */
static char *sysretq_line(enum vkvm_irqchip chip)
{
	struct vkvm_result r;
	char *out = lib_run_chip("usermode", NULL, 30, 2, chip, &r), *p, *line;

	p = strstr(out, "INFO usermode sysretq ");
	if (!p || r.exit_status != 1)
		test_fail(__FILE__, __LINE__, "exit %d: %s", r.exit_status, out);
	line = strndup(p, strcspn(p, "\n"));
	ASSERT(line);
	free(out);
	return line;
}

TEST(kvm_run_usermode_sysretq_is_the_hosts)
{
	char *a, *k;

	need_kvm();
	a = sysretq_line(VKVM_IRQCHIP_AVIC);
	k = sysretq_line(VKVM_IRQCHIP_KERNEL);
	if (strcmp(a, k))
		test_fail(__FILE__, __LINE__, "avic '%s', kernel '%s'", a, k);
	ASSERT(!strcmp(a, "INFO usermode sysretq ok") ||
	       !strcmp(a, "INFO usermode sysretq #gp error 0x00000000"));
	free(a);
	free(k);
}
