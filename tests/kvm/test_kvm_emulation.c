// SPDX-License-Identifier: MIT
/*
 * Instructions KVM cannot emulate on some hosts: an INT3 becomes the #BP
 * it is under both irqchips (guests/int3.c); any other failure ends the
 * run with the instruction's bytes, RIP and mode, the same way under both
 * (guests/emufail.c, FWAIT: a host that runs it passes).
 */
#include <stdlib.h>
#include <string.h>

#include "kvm_util.h"
#include "test.h"

TEST(kvm_run_irqchips_int3_is_a_bp)
{
	both_irqchips("int3", NULL, 1);
}

TEST(kvm_run_emulation_failure_says_what_and_where)
{
	enum vkvm_irqchip chips[2] = { VKVM_IRQCHIP_AVIC, VKVM_IRQCHIP_KERNEL };
	struct vkvm_result r[2];

	need_kvm();
	for (int i = 0; i < 2; i++) {
		char *out = lib_run_chip("emufail", NULL, 30, 1, chips[i], &r[i]);

		if (r[i].end == VKVM_END_DEBUG_EXIT) {
			ASSERT_EQ(r[i].exit_status, 1);
			ASSERT(strstr(out, "PASS emufail fwait ran"));
		} else {
			ASSERT_EQ(r[i].end, VKVM_END_FAILURE);
			ASSERT_EQ(r[i].exit_status, VKVM_STATUS_FAILURE);
			if (!strstr(r[i].message, "KVM could not emulate the instruction at RIP 0x") ||
			    !strstr(r[i].message, "on vCPU 0 (32-bit protected mode, paging off): bytes 9b "))
				test_fail(__FILE__, __LINE__, "message: %s", r[i].message);
		}
		free(out);
	}
	/* A host limit looks the same under both irqchips. */
	ASSERT_EQ(r[0].end, r[1].end);
}

/* The #BPs vintc delivered are counted (0 where KVM itself ran the INT3s). */
TEST(kvm_run_int3_counted)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run("int3", NULL, 30, &r);
	ASSERT_EQ(r.exit_status, 1);
	ASSERT(r.int3_delivered == 0 || r.int3_delivered == 3);
	free(out);
}
