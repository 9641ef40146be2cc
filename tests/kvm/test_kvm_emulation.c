// SPDX-License-Identifier: MIT
/*
 * Instructions KVM cannot emulate on some hosts: an INT3 becomes the #BP
 * it is under both irqchips (guests/int3.c); any other failure ends the
 * run with the instruction's bytes, RIP and mode, the same way under both
 * (guests/emufail.c, POPCNT: a host that runs it passes).  An FWAIT is
 * run as the SDM says (guests/fwait.c): #NM, #MF or nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "kvm_util.h"
#include "test.h"
#include "vkvm.h"

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
			ASSERT(strstr(out, "PASS emufail popcnt ran"));
		} else {
			ASSERT_EQ(r[i].end, VKVM_END_FAILURE);
			ASSERT_EQ(r[i].exit_status, VKVM_STATUS_FAILURE);
			if (!strstr(r[i].message, "KVM could not emulate the instruction at RIP 0x") ||
			    !strstr(r[i].message, "on vCPU 0 (32-bit protected mode, paging off): bytes f3 0f b8 "))
				test_fail(__FILE__, __LINE__, "message: %s", r[i].message);
		}
		free(out);
	}
	/* A host limit looks the same under both irqchips. */
	ASSERT_EQ(r[0].end, r[1].end);
}

/*
 * An INT3 another vCPU overwrites between KVM's fetch and vintc's look is
 * still a #BP (guests/int3race.c; before vintc decided by the byte KVM
 * fetched, 4 runs in 6 here ended with "bytes 90 c3").
 */
TEST(kvm_run_irqchips_int3_patched_under_a_running_cpu)
{
	both_irqchips("int3race", NULL, 2);
}

TEST(kvm_run_irqchips_fwait_runs_as_the_sdm_says)
{
	both_irqchips("fwait", NULL, 1);
}

/*
 * What vintc completed is counted: 0 where KVM itself ran the
 * instructions, else the 3 INT3s, and the 3 FWAITs that reached the check
 * (the #NM one included: it is completed as an exception).
 */
TEST(kvm_run_completed_instructions_counted)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run("int3", NULL, 30, &r);
	ASSERT_EQ(r.exit_status, 1);
	ASSERT(r.int3_delivered == 0 || r.int3_delivered == 3);
	ASSERT_EQ(r.fwait_completed, 0);
	free(out);
	out = lib_run("fwait", NULL, 30, &r);
	ASSERT_EQ(r.exit_status, 1);
	ASSERT(r.fwait_completed == 0 || r.fwait_completed == 3);
	ASSERT_EQ(r.int3_delivered, 0);
	free(out);
}

/* The SDM's order: #NM before a pending exception; #MF only with CR0.NE. */
TEST(kvm_fwait_action_follows_the_sdm)
{
	const uint64_t mp = 1u << 1, ts = 1u << 3, ne = 1u << 5, pe = 1;
	const uint16_t es = 1u << 7, ze = 1u << 2;

	ASSERT_EQ(vkvm_fwait_action(pe, 0), VKVM_FWAIT_RUN);
	ASSERT_EQ(vkvm_fwait_action(pe | ts, 0), VKVM_FWAIT_RUN);	/* TS without MP */
	ASSERT_EQ(vkvm_fwait_action(pe | mp, 0), VKVM_FWAIT_RUN);
	ASSERT_EQ(vkvm_fwait_action(pe | mp | ts, 0), VKVM_FWAIT_NM);
	ASSERT_EQ(vkvm_fwait_action(pe | mp | ts | ne, es | ze), VKVM_FWAIT_NM);
	ASSERT_EQ(vkvm_fwait_action(pe | ne, es | ze), VKVM_FWAIT_MF);
	ASSERT_EQ(vkvm_fwait_action(pe | ts | ne, es | ze), VKVM_FWAIT_MF);
	ASSERT_EQ(vkvm_fwait_action(pe, es | ze), VKVM_FWAIT_FERR);
	/* A masked exception's flag alone (no ES) is not pending. */
	ASSERT_EQ(vkvm_fwait_action(pe | ne, ze), VKVM_FWAIT_RUN);
}
