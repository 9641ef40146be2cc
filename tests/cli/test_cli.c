// SPDX-License-Identifier: MIT
/*
 * The vintc CLI, run as a program (VINTC_BIN, see cli_util.h): the help
 * and the usage errors common to every command.  Each command's own
 * results are in test_cli_dump.c, test_cli_faults.c, test_cli_sim.c and
 * test_cli_run.c.
 */
#include <string.h>

#include <vintc/host.h>

#include "cli_util.h"
#include "test.h"

/* ---- help ------------------------------------------------------------- */

TEST(cli_help)
{
	static const char *const cases[][7] = {	/* NULL-terminated rows */
		{ "--help" }, { "-h" }, { "help" }, { "help", "dump" }, { "help", "faults" },
		{ "dump", "--help" }, { "dump", "avic", "--help" }, { "dump", "avic", "-h" },
		{ "faults", "--help" }, { "faults", "avic", "--help" },
		{ "dump", "gicv5", "--help" }, { "faults", "gicv5", "-h" },
		{ "help", "dump", "gicv5" }, { "help", "faults", "avic" },
		/* Help wins over anything else on the line. */
		{ "dump", "avic", "--bogus", "--help" },
		{ "dump", "gicv5", "--x2avic", "--vcpus", "0", "--help" },
		{ "faults", "gicv5", "--vcpus", "65", "--help" },
	};
	struct cli_run r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cli_run_to(&r, NULL, cases[i]);
		ASSERT_RAN_OK(&r);
		ASSERT(strstr(r.out, "usage: vintc"));
		cli_free(&r);
	}
	/* The top-level help describes every command and option. */
	RUN(&r, "--help");
	ASSERT_RAN_OK(&r);
	for (const char *const *w = (const char *const[]){ "dump avic", "faults avic",
			"dump gicv5", "faults gicv5", "--vcpus", "--x2avic", "--x2avic-4k",
			"--load", "--block", "--no-ipiv", "--two-level", "--json",
			"usage: vintc dump gicv5", "usage: vintc faults gicv5", "1..64",
			"VMT_BASER", "contextr", "retired_vm_ids", "Exit status", NULL }; *w; w++)
		if (!strstr(r.out, *w))
			test_fail(__FILE__, __LINE__, "--help does not mention %s", *w);
	cli_free(&r);

	/* A target's help is that target's alone. */
	RUN(&r, "dump", "gicv5", "--help");
	ASSERT_RAN_OK(&r);
	ASSERT(!strncmp(r.out, "usage: vintc dump gicv5", 23));
	ASSERT(strstr(r.out, "--two-level") && strstr(r.out, "--load"));
	ASSERT(!strstr(r.out, "--x2avic"));
	cli_free(&r);
	RUN(&r, "help", "faults", "gicv5");
	ASSERT_RAN_OK(&r);
	ASSERT(!strncmp(r.out, "usage: vintc faults gicv5", 25));
	ASSERT(strstr(r.out, "1..64"));
	cli_free(&r);
	/* The command's help covers every target. */
	RUN(&r, "dump", "--help");
	ASSERT_RAN_OK(&r);
	ASSERT(strstr(r.out, "usage: vintc dump avic") && strstr(r.out, "usage: vintc dump gicv5"));
	cli_free(&r);
}

/* ---- errors ------------------------------------------------------------ */

TEST(cli_usage_errors)
{
	static const char *const cases[][8] = {
		{ NULL },
		{ "frobnicate" }, { "--frobnicate" }, { "help", "nope" },
		{ "dump" }, { "dump", "gicv6" }, { "dump", "--json" },
		{ "dump", "avic", "--bogus" }, { "dump", "avic", "extra" },
		{ "dump", "avic", "--vcpus" }, { "dump", "avic", "--vcpus=" },
		{ "dump", "avic", "--vcpus", "--json" },
		{ "dump", "avic", "--vcpus", "0" }, { "dump", "avic", "--vcpus", "4097" },
		{ "dump", "avic", "--vcpus", "-1" }, { "dump", "avic", "--vcpus", "+4" },
		{ "dump", "avic", "--vcpus", " 4" }, { "dump", "avic", "--vcpus", "4x" },
		{ "dump", "avic", "--vcpus", "0x" }, { "dump", "avic", "--vcpus", "1e3" },
		{ "dump", "avic", "--vcpus", "18446744073709551617" },
		{ "dump", "avic", "--load", "0:64" }, { "dump", "avic", "--load", "4:0" },
		{ "dump", "avic", "--load", "0:1,0:2" },
		{ "dump", "avic", "--load", "0:1", "--load", "0:2" },
		{ "dump", "avic", "--load", "0" }, { "dump", "avic", "--load", "0:" },
		{ "dump", "avic", "--load", ":1" }, { "dump", "avic", "--load", "0:1:2" },
		{ "dump", "avic", "--load", "0:1," }, { "dump", "avic", "--load", "0:x" },
		{ "dump", "avic", "--vcpus", "2", "--load", "2:0" },
		{ "dump", "avic", "--block", "0" },
		{ "dump", "avic", "--load", "0:1", "--block", "1" },
		{ "dump", "avic", "--load", "0:1", "--block", "0,0" },
		{ "dump", "avic", "--load", "0:1", "--block", "4" },
		{ "dump", "avic", "--x2avic", "--x2avic-4k" },
		{ "dump", "avic", "--json=yes" },
		{ "faults" }, { "faults", "avic", "--load", "0:1" },
		{ "faults", "avic", "--vcpus", "0" },
		{ "faults", "avic", "--x2avic-4k", "--x2avic" },
		{ "faults", "avic", "--two-level" }, { "dump", "avic", "--two-level" },
		/* GICv5 */
		{ "dump", "gicv5", "--bogus" }, { "dump", "gicv5", "extra" },
		{ "dump", "gicv5", "--x2avic" }, { "dump", "gicv5", "--x2avic-4k" },
		{ "dump", "gicv5", "--no-ipiv" }, { "dump", "gicv5", "--block", "0" },
		{ "dump", "gicv5", "--two-level=1" }, { "dump", "gicv5", "--json=1" },
		{ "dump", "gicv5", "--vcpus", "0" }, { "dump", "gicv5", "--vcpus", "4097" },
		{ "dump", "gicv5", "--vcpus" }, { "dump", "gicv5", "--vcpus", "x" },
		{ "dump", "gicv5", "--load", "0:64" }, { "dump", "gicv5", "--load", "4:0" },
		{ "dump", "gicv5", "--load", "0:1,0:2" }, { "dump", "gicv5", "--load", "0" },
		{ "dump", "gicv5", "--load", "0:1,," },
		{ "dump", "gicv5", "--vcpus", "2", "--load", "2:0" },
		{ "faults", "gicv5", "--vcpus", "0" }, { "faults", "gicv5", "--vcpus", "65" },
		{ "faults", "gicv5", "--vcpus", "4096" }, { "faults", "gicv5", "--vcpus=" },
		{ "faults", "gicv5", "--x2avic" }, { "faults", "gicv5", "--x2avic-4k" },
		{ "faults", "gicv5", "--two-level=yes" }, { "faults", "gicv5", "--load", "0:1" },
		{ "faults", "gicv5", "extra" }, { "faults", "gicv6" },
		{ "help", "dump", "gicv6" }, { "help", "help", "dump" },
		{ "help", "dump", "gicv5", "extra" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		cli_assert_usage_error(cases[i], NULL, __FILE__, __LINE__);
	USAGE_ERROR("vintc: --vcpus: 5000 is out of range (1..4096)\n",
		    "dump", "avic", "--vcpus", "5000");
	USAGE_ERROR("vintc: --vcpus: 'abc' is not a number (decimal or 0x hex)\n",
		    "dump", "avic", "--vcpus", "abc");
	USAGE_ERROR("vintc: --load: CPU 64 is out of range (0..63)\n",
		    "dump", "avic", "--load", "0:64");
	USAGE_ERROR("vintc: --load: vCPU 4 is out of range (0..3)\n",
		    "dump", "avic", "--load", "4:0");
	USAGE_ERROR("vintc: dump: missing target (expected 'avic' or 'gicv5'; "
		    "try 'vintc dump --help')\n", "dump");
	USAGE_ERROR("vintc: faults: unknown target 'gicv6' (expected 'avic' or 'gicv5')\n",
		    "faults", "gicv6");
	USAGE_ERROR("vintc: dump: missing target before '--json' (expected 'avic' or 'gicv5')\n",
		    "dump", "--json");
	USAGE_ERROR("vintc: --vcpus: 65 is out of range (1..64)\n",
		    "faults", "gicv5", "--vcpus", "65");
	USAGE_ERROR("vintc: --vcpus: 4097 is out of range (1..4096)\n",
		    "dump", "gicv5", "--vcpus", "4097");
	USAGE_ERROR("vintc: faults gicv5: --x2avic applies to 'faults avic' only\n",
		    "faults", "gicv5", "--x2avic");
	USAGE_ERROR("vintc: faults avic: --two-level applies to 'faults gicv5' only\n",
		    "faults", "avic", "--two-level");
	USAGE_ERROR("vintc: dump gicv5: --block applies to 'dump avic' only\n",
		    "dump", "gicv5", "--block", "0");
	USAGE_ERROR("vintc: --load: CPU 64 is out of range (0..63)\n",
		    "dump", "gicv5", "--load", "0:64");
	USAGE_ERROR("vintc: --load: vCPU 1 is loaded twice\n",
		    "dump", "gicv5", "--load", "1:1", "--load", "1:2");
	USAGE_ERROR("vintc: dump gicv5: unknown option '--bogus' (try 'vintc dump gicv5 --help')\n",
		    "dump", "gicv5", "--bogus=3");
}

TEST(cli_stdout_write_error)
{
	struct cli_run r;

	/* Output that cannot be written is a failure, reported once. */
	cli_run_to(&r, "/dev/full", (const char *const[]){ "dump", "avic", "--json", NULL });
	ASSERT_EQ(r.status, 1);
	ASSERT(!strncmp(r.err, "vintc: ", 7));
	ASSERT(strchr(r.err, '\n') == r.err + strlen(r.err) - 1);
	cli_free(&r);
}
