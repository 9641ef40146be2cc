// SPDX-License-Identifier: MIT
/*
 * A run whose every vCPU is halted with interrupts off or parked waiting
 * for INIT and STARTUP has nothing left to wake it: it ends at once as
 * "halt", on any number of vCPUs, and not at the timeout.
 */
#include <stdlib.h>

#include "kvm_util.h"
#include "test.h"

static void all_halted(uint32_t cpus)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run_smp("halt", NULL, 30, cpus, &r);
	if (r.end != VKVM_END_HALT)
		test_fail(__FILE__, __LINE__, "-c %u ended %s (%s) after %.1f s", cpus,
			  vkvm_end_name(r.end), r.message, r.seconds);
	ASSERT_EQ(r.exit_status, VKVM_STATUS_HALT);
	ASSERT(r.seconds < 10);
	free(out);
}

TEST(kvm_run_all_halted_2)
{
	all_halted(2);
}

TEST(kvm_run_all_halted_4)
{
	all_halted(4);
}

/* Some vCPUs stuck for good (nmi's AP 3 halts with IF = 0) is not the end. */
TEST(kvm_run_some_vcpus_stuck_is_not_the_end)
{
	struct vkvm_result r;
	char *out;

	need_kvm();
	out = lib_run_smp("nmi", NULL, 30, 4, &r);
	ASSERT_EQ(r.end, VKVM_END_DEBUG_EXIT);
	ASSERT_EQ(r.exit_status, 1);
	free(out);
}
