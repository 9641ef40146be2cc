// SPDX-License-Identifier: MIT
/*
 * vintc faults avic and faults gicv5, run as a program: every campaign
 * leaves nothing behind, in JSON and in the summary.
 */
#include <string.h>

#include <vintc/host.h>

#include "cli_util.h"
#include "json.h"
#include "test.h"

/* The number of key, or the test fails at a line of this file. */
static int64_t num(const char *json, const char *key, int line)
{
	return json_must_num(json, key, __FILE__, line);
}

/* ---- faults avic ------------------------------------------------------- */

TEST(cli_faults_json)
{
	static const char *const models[] = { NULL, "--x2avic", "--x2avic-4k" };
	struct cli_run r;

	for (size_t i = 0; i < ARRAY_SIZE(models); i++) {
		if (models[i])
			RUN(&r, "faults", "avic", "--vcpus", "2", models[i], "--json");
		else
			RUN(&r, "faults", "avic", "--vcpus", "2", "--json");
		ASSERT_RAN_OK(&r);
		ASSERT(!strncmp(r.out, "{\"sites\":", 9));
		ASSERT(NUM(r.out, "sites") > 0);
		ASSERT_EQ(NUM(r.out, "cases"), NUM(r.out, "sites"));
		ASSERT_EQ(NUM(r.out, "failures"), 0);
		ASSERT_EQ(NUM(r.out, "leaked_pages"), 0);
		ASSERT_EQ(NUM(r.out, "leaked_bytes"), 0);
		ASSERT_EQ(NUM(r.out, "stale_ids"), 0);
		cli_free(&r);
	}
}

TEST(cli_faults_human)
{
	struct cli_run r;

	RUN(&r, "faults", "avic", "--vcpus", "3");
	ASSERT_RAN_OK(&r);
	ASSERT(r.out[0] != '{');
	ASSERT(strstr(r.out, "fault sites"));
	ASSERT(strstr(r.out, "PASS"));
	cli_free(&r);
}

/* ---- faults gicv5 ------------------------------------------------------ */

static void check_gicv5_faults(const char *out, bool two_level, int line)
{
	if (strncmp(out, "{\"sites\":", 9))
		test_fail(__FILE__, line, "not the campaign's JSON: %.200s", out);
	if (num(out, "sites", line) <= 20 || num(out, "cases", line) != num(out, "sites", line) ||
	    num(out, "failures", line) != 0 || num(out, "leaked_pages", line) != 0 ||
	    num(out, "leaked_bytes", line) != 0 || num(out, "stale_ids", line) != 0 ||
	    num(out, "valid_left", line) != 0 || num(out, "retired_vm_ids", line) < 0 ||
	    num(out, "vcpus", line) != 2)
		test_fail(__FILE__, line, "campaign: %s", out);
	/* Some sites are IRS commands that never complete. */
	if (num(out, "hangs", line) <= 0)
		test_fail(__FILE__, line, "no hung-command case: %s", out);
	if (!strstr(out, two_level ? "\"two_level\":true" : "\"two_level\":false"))
		test_fail(__FILE__, line, "two_level: %s", out);
}

TEST(cli_faults_gicv5_json)
{
	struct cli_run r;

	RUN(&r, "faults", "gicv5", "--vcpus", "2", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_faults(r.out, false, __LINE__);
	cli_free(&r);
}

TEST(cli_faults_gicv5_two_level)
{
	struct cli_run r, linear;

	RUN(&r, "faults", "gicv5", "--vcpus", "2", "--two-level", "--json");
	ASSERT_RAN_OK(&r);
	check_gicv5_faults(r.out, true, __LINE__);
	/* The L2 VM table adds its allocation and its VMAP_L2_VMTR command. */
	RUN(&linear, "faults", "gicv5", "--vcpus", "2", "--json");
	ASSERT_RAN_OK(&linear);
	ASSERT(NUM(r.out, "sites") > NUM(linear.out, "sites"));
	cli_free(&r);
	cli_free(&linear);
}

TEST(cli_faults_gicv5_human)
{
	struct cli_run r;

	RUN(&r, "faults", "gicv5", "--vcpus", "1");
	ASSERT_RAN_OK(&r);
	ASSERT(r.out[0] != '{');
	ASSERT(strstr(r.out, "GICv5 fault campaign"));
	ASSERT(strstr(r.out, "fault sites"));
	ASSERT(strstr(r.out, "PASS"));
	cli_free(&r);
}
